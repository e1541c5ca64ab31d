/* Unit tests of src/boot/vmlinux.c and the host-decompression path of src/boot/linux.c, with ELF and bzImage files made here. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <zlib.h>

#include "boot/linux.h"
#include "boot/vmlinux.h"

#define RAM_SIZE  (64u << 20)
#define KADDR     0x1000000u	/* LOAD_PHYSICAL_ADDR */
#define ELF_CAP   0x10000u

static uint8_t *ram;
static struct guestmem mem;

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static int setup(void **state)
{
	ram = calloc(1, RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(guestmem_add(&mem, 0, 0xa0000, GUESTMEM_RAM, ram), 0);
	assert_int_equal(guestmem_add(&mem, 0xa0000, 0x60000, GUESTMEM_RESERVED, NULL), 0);
	assert_int_equal(guestmem_add(&mem, 0x100000, RAM_SIZE - 0x100000, GUESTMEM_RAM, ram + 0x100000), 0);
	mem.low_ram_top = 0xa0000;
	mem.high_ram_top = RAM_SIZE;
	return 0;
}

static int teardown(void **state)
{
	free(ram);
	return 0;
}

/* Program header i of an ELF made by make_elf. */
static uint8_t *phdr(uint8_t *f, unsigned i)
{
	return f + 64 + i * 56;
}

/*
 * A vmlinux-like ELF: text (R+X, 0x100 bytes of 0xAA, 0x1000 in memory) at
 * KADDR, linked at 0xffffffff81000000; data (RW, 0x80 bytes of 0xBB and a
 * bss to 0x3000) at KADDR + 0x200000; a PT_NOTE with an owner "Linux" note;
 * e_entry = KADDR, physical, as vmlinux links it.
 */
static size_t make_elf(uint8_t *f)
{
	uint8_t *ph;

	memset(f, 0, ELF_CAP);
	memcpy(f, "\x7f" "ELF\x02\x01\x01", 7);
	put16(f + 16, 2);
	put16(f + 18, 62);
	put32(f + 20, 1);
	put64(f + 24, KADDR);
	put64(f + 32, 64);
	put16(f + 52, 64);
	put16(f + 54, 56);
	put16(f + 56, 3);
	ph = phdr(f, 0);
	put32(ph, 1);
	put32(ph + 4, 5);
	put64(ph + 8, 0x1000);
	put64(ph + 16, 0xffffffff81000000ull);
	put64(ph + 24, KADDR);
	put64(ph + 32, 0x100);
	put64(ph + 40, 0x1000);
	memset(f + 0x1000, 0xaa, 0x100);
	ph = phdr(f, 1);
	put32(ph, 1);
	put32(ph + 4, 6);
	put64(ph + 8, 0x2000);
	put64(ph + 16, 0xffffffff81200000ull);
	put64(ph + 24, KADDR + 0x200000);
	put64(ph + 32, 0x80);
	put64(ph + 40, 0x3000);
	memset(f + 0x2000, 0xbb, 0x80);
	ph = phdr(f, 2);
	put32(ph, 4);
	put64(ph + 8, 0x800);
	put64(ph + 32, 24);
	put32(f + 0x800, 6);		/* namesz "Linux\0" */
	put32(f + 0x804, 4);
	put32(f + 0x808, 0x100);	/* LINUX_ELFNOTE_BUILD_SALT */
	memcpy(f + 0x80c, "Linux", 6);
	return 0x2080;
}

static void test_probe(void **state)
{
	uint8_t *f = malloc(ELF_CAP);
	size_t n = make_elf(f);

	assert_true(vmlinux_probe(f, n));
	/* Xen's GUEST_OS note says "linux" too. */
	put32(f + 0x800, 4);
	put32(f + 0x804, 6);
	put32(f + 0x808, 6);
	memcpy(f + 0x80c, "Xen\0linux\0\0\0", 12);
	put64(phdr(f, 2) + 32, 24);
	assert_true(vmlinux_probe(f, n));
	/* Any other Xen note, a GNU note, a broken note: not Linux. */
	put32(f + 0x808, 5);
	assert_false(vmlinux_probe(f, n));
	make_elf(f);
	memcpy(f + 0x80c, "GNU\0\0", 6);
	put32(f + 0x800, 4);
	assert_false(vmlinux_probe(f, n));
	make_elf(f);
	put32(f + 0x800, 0xfffffff0);	/* namesz past the segment */
	assert_false(vmlinux_probe(f, n));
	make_elf(f);
	put64(phdr(f, 2) + 8, n - 8);	/* note segment past the file */
	assert_false(vmlinux_probe(f, n));
	/* Not an x86-64 executable. */
	make_elf(f);
	put16(f + 18, 3);
	assert_false(vmlinux_probe(f, n));
	make_elf(f);
	f[4] = 1;
	assert_false(vmlinux_probe(f, n));
	assert_false(vmlinux_probe(f, 40));
	free(f);
}

static void test_parse(void **state)
{
	uint8_t *f = malloc(ELF_CAP);
	size_t n = make_elf(f);
	struct vmlinux vm;
	char err[256];

	assert_int_equal(vmlinux_parse(f, n, &vm, err, sizeof(err)), 0);
	assert_int_equal(vm.nr_segments, 2);
	assert_int_equal(vm.entry, KADDR);
	assert_int_equal(vm.start, KADDR);
	assert_int_equal(vm.end, KADDR + 0x203000);
	assert_int_equal(vm.seg[1].offset, 0x2000);
	assert_int_equal(vm.seg[1].filesz, 0x80);

	/* A virtual entry translates through its segment. */
	put64(f + 24, 0xffffffff81000040ull);
	assert_int_equal(vmlinux_parse(f, n, &vm, err, sizeof(err)), 0);
	assert_int_equal(vm.entry, KADDR + 0x40);
	/* An entry in the data segment (not executable) or nowhere is refused. */
	put64(f + 24, KADDR + 0x200000);
	assert_int_equal(vmlinux_parse(f, n, &vm, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "not in an executable loadable segment"));

	make_elf(f);
	put64(phdr(f, 1) + 32, 0x4000);	/* filesz > memsz */
	assert_int_equal(vmlinux_parse(f, n, &vm, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "file size exceeds"));
	make_elf(f);
	assert_int_equal(vmlinux_parse(f, 0x2040, &vm, err, sizeof(err)), -ENOEXEC);	/* cut in segment 1 */
	assert_non_null(strstr(err, "beyond the end of the file"));
	make_elf(f);
	put64(phdr(f, 1) + 24, KADDR + 0x800);	/* overlaps the text */
	assert_int_equal(vmlinux_parse(f, n, &vm, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "overlap"));
	make_elf(f);
	put64(phdr(f, 1) + 24, UINT64_MAX - 0x100);	/* wraps */
	assert_int_equal(vmlinux_parse(f, n, &vm, err, sizeof(err)), -ENOEXEC);
	make_elf(f);
	put16(f + 56, 0xffff);		/* program headers beyond the file */
	assert_int_equal(vmlinux_parse(f, n, &vm, err, sizeof(err)), -ENOEXEC);
	make_elf(f);
	put16(f + 54, 32);		/* entries too small */
	assert_int_equal(vmlinux_parse(f, n, &vm, err, sizeof(err)), -ENOEXEC);
	make_elf(f);
	put32(phdr(f, 0), 0);
	put32(phdr(f, 1), 0);
	assert_int_equal(vmlinux_parse(f, n, &vm, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "no loadable segment"));
	assert_int_equal(vmlinux_parse((const uint8_t *)"MZ", 2, &vm, err, sizeof(err)), -ENOEXEC);
	free(f);
}

static void test_load(void **state)
{
	uint8_t *f = malloc(ELF_CAP);
	size_t n = make_elf(f);
	struct vmlinux vm;
	char err[256];

	assert_int_equal(vmlinux_parse(f, n, &vm, err, sizeof(err)), 0);
	memset(ram + KADDR, 0x55, 0x300000);
	assert_int_equal(vmlinux_load(&vm, &mem, KADDR, KADDR + 0x400000, "the area", err, sizeof(err)), 0);
	assert_int_equal(ram[KADDR], 0xaa);
	assert_int_equal(ram[KADDR + 0xff], 0xaa);
	assert_int_equal(ram[KADDR + 0x100], 0);	/* memsz beyond filesz is zeroed */
	assert_int_equal(ram[KADDR + 0xfff], 0);
	assert_int_equal(ram[KADDR + 0x1000], 0x55);	/* between segments: untouched */
	assert_int_equal(ram[KADDR + 0x20007f], 0xbb);
	assert_int_equal(ram[KADDR + 0x202fff], 0);
	assert_int_equal(ram[KADDR + 0x203000], 0x55);

	/* Outside the window: refused before anything is written. */
	memset(ram + KADDR, 0x55, 0x300000);
	assert_int_equal(vmlinux_load(&vm, &mem, KADDR, KADDR + 0x202fff, "the area", err, sizeof(err)),
			 -ENOMEM);
	assert_string_equal(err, "ELF segment at 0x1200000-0x1202fff lies outside the area (0x1000000-0x1202ffe)");
	assert_int_equal(ram[KADDR], 0x55);
	assert_int_equal(vmlinux_load(&vm, &mem, KADDR + 1, UINT64_MAX, "the area", err, sizeof(err)), -ENOMEM);
	/* Beyond guest RAM. */
	vm.seg[1].paddr = RAM_SIZE - 0x1000;
	assert_int_equal(vmlinux_load(&vm, &mem, KADDR, UINT64_MAX, "the area", err, sizeof(err)), -ENOMEM);
	assert_non_null(strstr(err, "not in guest RAM; give more --mem"));
	assert_int_equal(ram[KADDR], 0x55);
	free(f);
}

/* A bzImage (protocol 2.15) whose gzip payload is the ELF, with 0x20000 of trailing "relocations". */
static size_t make_bzimage(uint8_t *bz, size_t cap, const uint8_t *payload_data, size_t raw_size,
			   uint32_t init_size)
{
	size_t setup = 5 * 512, pm_off = 0x200;
	z_stream z;
	size_t c;

	memset(bz, 0, cap);
	bz[0x1f1] = 4;
	bz[0x1fe] = 0x55;
	bz[0x1ff] = 0xaa;
	bz[0x200] = 0xeb;
	bz[0x201] = 0x6a;
	memcpy(bz + 0x202, "HdrS", 4);
	put16(bz + 0x206, 0x020f);
	bz[0x211] = 0x01 | 0x02;	/* LOADED_HIGH, and a stale KASLR_FLAG */
	put32(bz + 0x22c, 0x7fffffff);
	put32(bz + 0x230, 0x200000);
	put16(bz + 0x236, 3);
	put32(bz + 0x238, 2047);
	put64(bz + 0x258, KADDR);
	put32(bz + 0x260, init_size);
	memset(bz + setup, 0xcc, pm_off);	/* "the decompressor" */

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)payload_data;
	z.avail_in = (uInt)raw_size;
	z.next_out = bz + setup + pm_off;
	z.avail_out = (uInt)(cap - setup - pm_off);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	c = z.total_out;
	deflateEnd(&z);
	put32(bz + 0x1f4, (uint32_t)((pm_off + c + 15) / 16));
	put32(bz + 0x248, (uint32_t)pm_off);
	put32(bz + 0x24c, (uint32_t)c);
	return setup + pm_off + ((c + 15) & ~(size_t)15);
}

static void test_bzimage_host(void **state)
{
	uint8_t *f = calloc(1, 0x40000), *bz = malloc(0x40000);
	struct rv_regs regs;
	struct rv_sregs sregs;
	struct linux_args args = { 0 };
	char err[256], note[256];
	size_t n;

	make_elf(f);
	n = make_bzimage(bz, 0x40000, f, 0x2080 + 0x20000, 0x400000);
	args.kernel = bz;
	args.kernel_size = n;
	args.cmdline = "console=ttyS0";
	args.entry = LINUX_ENTRY_64;
	args.note = note;
	args.note_len = sizeof(note);
	memset(ram, 0, RAM_SIZE);
	memset(&sregs, 0, sizeof(sregs));
	assert_int_equal(linux_load(&args, &mem, &regs, &sregs, err, sizeof(err)), 0);
	assert_non_null(strstr(note, "host-decompressed the gzip payload"));
	assert_non_null(strstr(note, "2 segments at 0x1000000-0x1202fff, 64-bit entry at 0x1000000"));
	assert_int_equal(regs.rip, KADDR);
	assert_int_equal(regs.gpr[RV_RSI], LINUX_ZERO_PAGE_ADDR);
	assert_true(sregs.efer & RV_EFER_LMA);
	assert_int_equal(ram[KADDR], 0xaa);
	assert_int_equal(ram[KADDR + 0x200000], 0xbb);
	assert_int_equal(ram[LINUX_KERNEL_ADDR], 0);	/* the compressed kernel is not copied */
	/* boot_params: the image's header, KASLR_FLAG cleared, the loader's fields. */
	assert_memory_equal(ram + LINUX_ZERO_PAGE_ADDR + 0x202, "HdrS", 4);
	assert_int_equal(ram[LINUX_ZERO_PAGE_ADDR + 0x211], 0x01 | 0x80);
	assert_int_equal(ram[LINUX_ZERO_PAGE_ADDR + 0x210], 0xff);
	assert_int_equal(get64(ram + LINUX_ZERO_PAGE_ADDR + 0x258), KADDR);
	assert_string_equal((char *)ram + get32(ram + LINUX_ZERO_PAGE_ADDR + 0x228), "console=ttyS0");

	/* --decompress guest: the compressed kernel at 1 MiB, startup_64 of the decompressor. */
	args.decompress = LINUX_DECOMPRESS_GUEST;
	memset(ram, 0, RAM_SIZE);
	assert_int_equal(linux_load(&args, &mem, &regs, &sregs, err, sizeof(err)), 0);
	assert_string_equal(note, "the kernel's own decompressor runs in the guest: --decompress guest");
	assert_int_equal(regs.rip, LINUX_KERNEL_ADDR + 0x200);
	assert_int_equal(ram[LINUX_KERNEL_ADDR], 0xcc);
	assert_int_equal(ram[KADDR], 0);

	/* The 32-bit entry always goes through the guest's decompressor. */
	args.decompress = LINUX_DECOMPRESS_HOST;
	args.entry = LINUX_ENTRY_32;
	assert_int_equal(linux_load(&args, &mem, &regs, &sregs, err, sizeof(err)), 0);
	assert_non_null(strstr(note, "the 32-bit entry"));
	assert_int_equal(regs.rip, LINUX_KERNEL_ADDR);

	/* Output beyond init_size: a bomb, so the guest's decompressor gets it. */
	args.entry = LINUX_ENTRY_64;
	n = make_bzimage(bz, 0x40000, f, 0x2080 + 0x20000, 0x10000);
	args.kernel_size = n;
	assert_int_equal(linux_load(&args, &mem, &regs, &sregs, err, sizeof(err)), 0);
	assert_non_null(strstr(note, "guest: gzip payload decompresses to more than 65536 bytes"));
	assert_int_equal(regs.rip, LINUX_KERNEL_ADDR + 0x200);

	/* A well-formed ELF that does not fit init_size is an error, not a fallback. */
	n = make_bzimage(bz, 0x40000, f, 0x2080 + 0x20000, 0x100000);
	args.kernel_size = n;
	assert_int_equal(linux_load(&args, &mem, &regs, &sregs, err, sizeof(err)), -ENOMEM);
	assert_non_null(strstr(err, "lies outside the kernel's init_size area"));

	/* A payload that is not an ELF: the guest's decompressor (which will say so itself). */
	f[0] = 'X';
	n = make_bzimage(bz, 0x40000, f, 0x2080, 0x400000);
	args.kernel_size = n;
	assert_int_equal(linux_load(&args, &mem, &regs, &sregs, err, sizeof(err)), 0);
	assert_non_null(strstr(note, "decompresses to 8320 bytes, but not an ELF file"));
	free(f);
	free(bz);
}

static void test_vmlinux_boot(void **state)
{
	uint8_t *f = malloc(ELF_CAP), *bp = ram + LINUX_ZERO_PAGE_ADDR;
	static const uint8_t rd[] = "initrd!";
	struct rv_regs regs;
	struct rv_sregs sregs;
	struct linux_args args = { 0 };
	char err[256], note[256];
	uint32_t rd_addr;

	args.kernel = f;
	args.kernel_size = make_elf(f);
	args.cmdline = "root=/dev/vda";
	args.initrd = rd;
	args.initrd_size = sizeof(rd);
	args.entry = LINUX_ENTRY_64;
	args.acpi_rsdp_addr = 0xe0000;
	args.note = note;
	args.note_len = sizeof(note);
	memset(ram, 0, RAM_SIZE);
	memset(&sregs, 0, sizeof(sregs));
	assert_int_equal(linux_load_vmlinux(&args, &mem, &regs, &sregs, err, sizeof(err)), 0);
	assert_string_equal(note, "uncompressed vmlinux: 2 segments at 0x1000000-0x1202fff, 64-bit entry at 0x1000000");
	assert_int_equal(regs.rip, KADDR);
	assert_int_equal(regs.gpr[RV_RSI], LINUX_ZERO_PAGE_ADDR);
	assert_int_equal(sregs.cr3, LINUX_PML4_ADDR);
	assert_int_equal(ram[KADDR + 0x50], 0xaa);
	/* The setup header ringvm writes (boot.rst field offsets). */
	assert_int_equal(get16(bp + 0x1fe), 0xaa55);
	assert_int_equal(bp[0x200], 0xeb);
	assert_int_equal(0x202 + bp[0x201], 0x26c);
	assert_memory_equal(bp + 0x202, "HdrS", 4);
	assert_int_equal(get16(bp + 0x206), 0x020f);
	assert_int_equal(bp[0x210], 0xff);
	assert_int_equal(bp[0x211], 0x81);
	assert_int_equal(get32(bp + 0x230), 0x200000);
	assert_int_equal(bp[0x234], 0);
	assert_int_equal(get16(bp + 0x236), 3);
	assert_int_equal(get32(bp + 0x238), 2047);
	assert_int_equal(get64(bp + 0x258), KADDR);
	assert_int_equal(get32(bp + 0x260), 0x203000);
	assert_int_equal(get64(bp + 0x70), 0xe0000);
	assert_true(bp[0x1e8] >= 3);
	assert_string_equal((char *)ram + get32(bp + 0x228), "root=/dev/vda");
	/* The initrd: above the kernel's end, page-aligned, at the top of RAM. */
	rd_addr = get32(bp + 0x218);
	assert_true(rd_addr >= KADDR + 0x203000);
	assert_int_equal(rd_addr % 4096, 0);
	assert_int_equal(get32(bp + 0x21c), sizeof(rd));
	assert_memory_equal(ram + rd_addr, rd, sizeof(rd));

	/* A vmlinux has no 32-bit entry; a bad one gets the parser's reason. */
	args.entry = LINUX_ENTRY_32;
	assert_int_equal(linux_load_vmlinux(&args, &mem, &regs, &sregs, err, sizeof(err)), -EINVAL);
	args.entry = LINUX_ENTRY_64;
	put64(phdr(f, 0) + 24, 0x80000);	/* below 1 MiB, where boot_params live */
	put64(f + 24, 0x80000);
	assert_int_equal(linux_load_vmlinux(&args, &mem, &regs, &sregs, err, sizeof(err)), -ENOMEM);
	assert_non_null(strstr(err, "lies outside the range ringvm loads kernels in"));
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_bzimage_host),
		cmocka_unit_test(test_vmlinux_boot),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
