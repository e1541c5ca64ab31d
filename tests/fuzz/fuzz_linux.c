/*
 * Fuzz target for the Linux loaders: the input is the kernel image (the
 * loaders' untrusted input). Whatever the setup header, the payload or the
 * ELF headers claim, the loaders must only write inside guest RAM and either
 * load or refuse, and decompression must stay within its bound.
 *
 * Input byte 0 picks the entry (bit 0), whether the rest is laid over a
 * valid header so the fuzzer reaches the deep paths at once (bit 1), and the
 * initrd size (bits 2-7). Byte 1 picks what is fuzzed (bits 0-1):
 *   0  a bzImage, ringvm decompressing its payload; with bit 2 and bit 1 of
 *      byte 0, the rest is an ELF (laid over a valid vmlinux header) that
 *      the harness compresses (bits 3-4: gzip, xz, zstd, lz4) into the
 *      payload of a valid bzImage, so the ELF checks run behind the
 *      decompressors
 *   1  a bzImage, decompressed by the guest (the setup header alone)
 *   2  a bare vmlinux (ELF), laid over a valid one with bit 1 of byte 0
 *   3  the decompressors alone: format bits 2-4, output bound bits 5-7
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "boot/linux.h"
#include "boot/payload.h"
#include "boot/vmlinux.h"

#define LOW_RAM    (640u << 10)
#define HIGH_RAM   (8u << 20)	/* RAM from 1 MiB to 9 MiB */
#define INITRD_MAX (16u << 20)	/* bigger than the RAM: the "does not fit" path */
#define TEMPLATE   0x1400u	/* boot sector + 4 setup sectors + a small kernel */
#define IMAGE_CAP  (1u << 20)
#define ELF_HDRS   0x100u	/* ELF header, program headers and a note */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* A small, valid protocol 2.15 header: setup_sects 4, both entries, 64 KiB init_size. */
static void fuzz_header(uint8_t *buf)
{
	memset(buf, 0, TEMPLATE);
	buf[0x1f1] = 4;
	put32(buf + 0x1f4, 0x20);		/* syssize: 512 bytes */
	buf[0x1fe] = 0x55;
	buf[0x1ff] = 0xaa;
	buf[0x200] = 0xeb;
	buf[0x201] = 0x6a;
	memcpy(buf + 0x202, "HdrS", 4);
	buf[0x206] = 0x0f;
	buf[0x207] = 0x02;
	buf[0x211] = 0x01;			/* LOADED_HIGH */
	put32(buf + 0x214, 0x100000);
	put32(buf + 0x22c, 0x7fffffff);
	put32(buf + 0x230, 0x200000);
	buf[0x234] = 1;
	buf[0x236] = 0x03;			/* XLF_KERNEL_64 | above 4G */
	put32(buf + 0x238, 2047);
	put32(buf + 0x260, 0x10000);		/* init_size */
}

static size_t fuzz_template(uint8_t *buf, size_t cap, const uint8_t *data, size_t size)
{
	size_t over = size < 0x9f ? size : 0x9f, n;

	fuzz_header(buf);
	memcpy(buf + 0x1f1, data, over);	/* the input rewrites the header... */
	n = size - over;
	if (n > cap - TEMPLATE)
		n = cap - TEMPLATE;
	memcpy(buf + TEMPLATE, data + over, n);	/* ...and extends the kernel */
	return TEMPLATE + n;
}

/*
 * A valid vmlinux: one PT_LOAD (R+X, 256 bytes of file, 4 KiB of memory)
 * at 1 MiB, entered there, and a "Linux" note. The input overwrites it from
 * e_type on (the identification stays) and extends the segment's bytes.
 */
static size_t fuzz_elf(uint8_t *buf, size_t cap, const uint8_t *data, size_t size)
{
	size_t over = size < ELF_HDRS - 16 ? size : ELF_HDRS - 16, n;
	uint8_t *ph = buf + 64;

	memset(buf, 0, ELF_HDRS);
	memcpy(buf, "\x7f" "ELF\x02\x01\x01", 7);
	put16(buf + 16, 2);			/* ET_EXEC */
	put16(buf + 18, 62);			/* EM_X86_64 */
	put32(buf + 20, 1);
	put64(buf + 24, 0x100000);		/* e_entry */
	put64(buf + 32, 64);			/* e_phoff */
	put16(buf + 52, 64);
	put16(buf + 54, 56);
	put16(buf + 56, 2);
	put32(ph, 1);				/* PT_LOAD */
	put32(ph + 4, 5);			/* R+X */
	put64(ph + 8, ELF_HDRS);
	put64(ph + 16, 0xffffffff80100000ull);
	put64(ph + 24, 0x100000);
	put64(ph + 32, 0x100);
	put64(ph + 40, 0x1000);
	ph += 56;
	put32(ph, 4);				/* PT_NOTE */
	put64(ph + 8, 0xe0);
	put64(ph + 32, 0x18);
	put32(buf + 0xe0, 6);			/* "Linux", type 0x100, 4 bytes */
	put32(buf + 0xe4, 4);
	put32(buf + 0xe8, 0x100);
	memcpy(buf + 0xec, "Linux", 6);
	memcpy(buf + 16, data, over);
	n = size - over;
	if (n > cap - ELF_HDRS)
		n = cap - ELF_HDRS;
	memset(buf + ELF_HDRS, 0xf4, 0x100);	/* hlt */
	memcpy(buf + ELF_HDRS, data + over, n);
	return ELF_HDRS + (n > 0x100 ? n : 0x100);
}

/* The harness's own compressors, so that valid payloads carry fuzzed ELFs. */
static size_t fuzz_compress(unsigned fmt, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t got = 0;

	switch (fmt & 3) {
	case 0: {
		z_stream z;

		memset(&z, 0, sizeof(z));
		if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			abort();
		z.next_in = (Bytef *)in;
		z.avail_in = (uInt)n;
		z.next_out = out;
		z.avail_out = (uInt)cap;
		if (deflate(&z, Z_FINISH) == Z_STREAM_END)
			got = z.total_out;
		deflateEnd(&z);
		return got;
	}
	case 1:
		if (lzma_easy_buffer_encode(0, LZMA_CHECK_CRC32, NULL, in, n, out, &got, cap) != LZMA_OK)
			return 0;
		return got;
	case 2:
		got = ZSTD_compress(out, cap, in, n, 1);
		return ZSTD_isError(got) ? 0 : got;
	default: {
		int c;

		if (cap < 8)
			return 0;
		put32(out, 0x184c2102);		/* legacy frame: magic, one block */
		c = LZ4_compress_default((const char *)in, (char *)out + 8, (int)n, (int)(cap - 8));
		if (c <= 0)
			return 0;
		put32(out + 4, (uint32_t)c);
		return 8 + (size_t)c;
	}
	}
}

/* A valid bzImage whose payload is the ELF made from the input, compressed. */
static size_t fuzz_packed(uint8_t *buf, uint8_t *elf, unsigned fmt, const uint8_t *data, size_t size)
{
	size_t elf_size = fuzz_elf(elf, IMAGE_CAP / 2, data, size), c;

	fuzz_header(buf);
	c = fuzz_compress(fmt, elf, elf_size, buf + TEMPLATE + 0x200, IMAGE_CAP - TEMPLATE - 0x200 - 16);
	put32(buf + 0x1f4, (uint32_t)((0x200 + c + 15) / 16));	/* syssize */
	put32(buf + 0x248, 0x200);				/* payload_offset */
	put32(buf + 0x24c, (uint32_t)c);			/* payload_length */
	memset(buf + TEMPLATE + 0x200 + c, 0, 15);
	return TEMPLATE + 0x200 + ((c + 15) & ~(size_t)15);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *low, *high, *initrd, *image, *elf;
	struct guestmem mem = { 0 };
	struct rv_regs regs = { 0 };
	struct rv_sregs sregs = { 0 };
	struct linux_args args = { 0 };
	char err[256], note[256];
	uint8_t mode, kind;

	if (!low) {
		low = malloc(LOW_RAM);
		high = malloc(HIGH_RAM);
		initrd = calloc(1, INITRD_MAX);
		image = malloc(IMAGE_CAP);
		elf = malloc(IMAGE_CAP / 2);
		if (!low || !high || !initrd || !image || !elf)
			abort();
	}
	if (size < 2)
		return 0;
	mode = data[0];
	kind = data[1];
	data += 2;
	size -= 2;

	if ((kind & 3) == 3) {
		enum payload_format fmt = (enum payload_format)((kind >> 2) & 7);
		uint8_t *out = NULL;
		size_t out_size = 0, limit = ((size_t)(kind >> 5) + 1) * 4096;

		payload_detect(data, size);
		if (!payload_decompress(fmt, data, size, limit, &out, &out_size, err, sizeof(err)) &&
		    out_size > limit)
			abort();
		free(out);
		return 0;
	}

	if (guestmem_add(&mem, 0, LOW_RAM, GUESTMEM_RAM, low) ||
	    guestmem_add(&mem, LOW_RAM, (1u << 20) - LOW_RAM, GUESTMEM_RESERVED, NULL) ||
	    guestmem_add(&mem, 1u << 20, HIGH_RAM, GUESTMEM_RAM, high) ||
	    guestmem_add(&mem, 0xfec00000u, 0x1400000u, GUESTMEM_RESERVED, NULL))
		abort();
	mem.low_ram_top = LOW_RAM;
	mem.high_ram_top = (1u << 20) + HIGH_RAM;

	args.kernel = data;
	args.kernel_size = size;
	args.entry = (mode & 1) ? LINUX_ENTRY_32 : LINUX_ENTRY_64;
	args.decompress = (kind & 3) == 1 ? LINUX_DECOMPRESS_GUEST : LINUX_DECOMPRESS_HOST;
	args.cmdline = (mode & 4) ? "console=ttyS0 earlycon=uart8250,io,0x3f8" : NULL;
	args.initrd = (mode & 8) ? initrd : NULL;
	/* 0, 4 KiB steps, or more than guest RAM */
	args.initrd_size = (mode >> 4) == 15 ? INITRD_MAX : (size_t)(mode >> 4) * 4096 + (mode & 0x40 ? 7 : 0);
	args.note = note;
	args.note_len = sizeof(note);

	if ((kind & 3) == 2) {
		if (mode & 2) {
			args.kernel = image;
			args.kernel_size = fuzz_elf(image, IMAGE_CAP, data, size);
		}
		vmlinux_probe(args.kernel, args.kernel_size);
		linux_load_vmlinux(&args, &mem, &regs, &sregs, err, sizeof(err));
		return 0;
	}
	if (mode & 2) {
		args.kernel = image;
		if ((kind & 3) == 0 && (kind & 4))
			args.kernel_size = fuzz_packed(image, elf, kind >> 3, data, size);
		else
			args.kernel_size = fuzz_template(image, IMAGE_CAP, data, size);
	}
	linux_probe(args.kernel, args.kernel_size);
	linux_load(&args, &mem, &regs, &sregs, err, sizeof(err));
	return 0;
}
