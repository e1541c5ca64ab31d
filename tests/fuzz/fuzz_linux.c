/*
 * Fuzz target for the Linux boot protocol loader: the input is the bzImage
 * (the loader's untrusted input). Whatever the setup header claims, the
 * loader must only write inside guest RAM and either load or refuse.
 * Input byte 0 picks the entry (bit 0), whether the rest is laid over a
 * valid header so the fuzzer reaches the deep paths at once (bit 1), and the
 * initrd size (bits 2-7).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/linux.h"

#define LOW_RAM    (640u << 10)
#define HIGH_RAM   (8u << 20)	/* RAM from 1 MiB to 9 MiB */
#define INITRD_MAX (16u << 20)	/* bigger than the RAM: the "does not fit" path */
#define TEMPLATE   0x1400u	/* boot sector + 4 setup sectors + a small kernel */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* A small, valid protocol 2.15 header: setup_sects 4, both entries, 64 KiB init_size. */
static size_t fuzz_template(uint8_t *buf, size_t cap, const uint8_t *data, size_t size)
{
	size_t over = size < 0x9f ? size : 0x9f, n;

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
	memcpy(buf + 0x1f1, data, over);	/* the input rewrites the header... */
	n = size - over;
	if (n > cap - TEMPLATE)
		n = cap - TEMPLATE;
	memcpy(buf + TEMPLATE, data + over, n);	/* ...and extends the kernel */
	return TEMPLATE + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *low, *high, *initrd, *image;
	static const size_t image_cap = 1u << 20;
	struct guestmem mem = { 0 };
	struct rv_regs regs = { 0 };
	struct rv_sregs sregs = { 0 };
	struct linux_args args = { 0 };
	char err[256];
	uint8_t mode;

	if (!low) {
		low = malloc(LOW_RAM);
		high = malloc(HIGH_RAM);
		initrd = calloc(1, INITRD_MAX);
		image = malloc(image_cap);
		if (!low || !high || !initrd || !image)
			abort();
	}
	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	if (guestmem_add(&mem, 0, LOW_RAM, GUESTMEM_RAM, low) ||
	    guestmem_add(&mem, LOW_RAM, (1u << 20) - LOW_RAM, GUESTMEM_RESERVED, NULL) ||
	    guestmem_add(&mem, 1u << 20, HIGH_RAM, GUESTMEM_RAM, high) ||
	    guestmem_add(&mem, 0xfec00000u, 0x1400000u, GUESTMEM_RESERVED, NULL))
		abort();
	mem.low_ram_top = LOW_RAM;
	mem.high_ram_top = (1u << 20) + HIGH_RAM;

	args.kernel = data;
	args.kernel_size = size;
	if (mode & 2) {
		args.kernel = image;
		args.kernel_size = fuzz_template(image, image_cap, data, size);
	}
	args.entry = (mode & 1) ? LINUX_ENTRY_32 : LINUX_ENTRY_64;
	args.cmdline = (mode & 4) ? "console=ttyS0 earlycon=uart8250,io,0x3f8" : NULL;
	args.initrd = (mode & 8) ? initrd : NULL;
	/* 0, 4 KiB steps, or more than guest RAM */
	args.initrd_size = (mode >> 4) == 15 ? INITRD_MAX : (size_t)(mode >> 4) * 4096 + (mode & 0x40 ? 7 : 0);
	linux_probe(args.kernel, args.kernel_size);
	linux_load(&args, &mem, &regs, &sregs, err, sizeof(err));
	return 0;
}
