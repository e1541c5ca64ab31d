/* Unit tests of src/boot/multiboot.c: a.out kludge, ELF32, ELF64, the info block, entry state, and mutated (hostile) images. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/multiboot.h"

#define RAM_SIZE (8u << 20)

static uint8_t *ram;
static struct guestmem mem;

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static int setup(void **state)
{
	ram = calloc(1, RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(guestmem_add(&mem, 0, 0xa0000, GUESTMEM_RAM, ram), 0);
	assert_int_equal(guestmem_add(&mem, 0x100000, RAM_SIZE - 0x100000, GUESTMEM_RAM, ram + 0x100000), 0);
	assert_int_equal(guestmem_add(&mem, 0xa0000, 0x60000, GUESTMEM_RESERVED, NULL), 0);
	mem.low_ram_top = 0xa0000;
	mem.high_ram_top = RAM_SIZE;
	return 0;
}

static int teardown(void **state)
{
	free(ram);
	return 0;
}

/* An a.out-kludge image loaded at 1 MiB, `size` bytes, with a bss. */
static size_t make_aout(uint8_t *img, size_t size, uint32_t bss)
{
	memset(img, 0x90, size);
	put32(img + 0, MULTIBOOT_HEADER_MAGIC);
	put32(img + 4, 0x10003);
	put32(img + 8, (uint32_t)-(MULTIBOOT_HEADER_MAGIC + 0x10003));
	put32(img + 12, 0x100000);
	put32(img + 16, 0x100000);
	put32(img + 20, 0x100000 + (uint32_t)size);
	put32(img + 24, bss ? 0x100000 + (uint32_t)size + bss : 0);
	put32(img + 28, 0x100040);
	return size;
}

/* ELF32 (or ELF64) with one PT_LOAD at vaddr 0xC0100000 / paddr 0x200000 and a bss. */
static size_t make_elf(uint8_t *f, bool is64)
{
	size_t ph = is64 ? 64 : 52, phsz = is64 ? 56 : 32, data = 0x1000;

	memset(f, 0, 0x2000);
	memcpy(f, "\x7f" "ELF", 4);
	f[4] = is64 ? 2 : 1;
	f[5] = 1;
	f[6] = 1;
	put16(f + 16, 2);
	put16(f + 18, is64 ? 62 : 3);
	if (is64) {
		put64(f + 24, 0xc0100010);
		put64(f + 32, ph);
		put16(f + 54, (uint16_t)phsz);
		put16(f + 56, 1);
		put32(f + ph, 1);
		put64(f + ph + 8, data);
		put64(f + ph + 16, 0xc0100000);
		put64(f + ph + 24, 0x200000);
		put64(f + ph + 32, 0x800);
		put64(f + ph + 40, 0x3000);
	} else {
		put32(f + 24, 0xc0100010);
		put32(f + 28, (uint32_t)ph);
		put16(f + 42, (uint16_t)phsz);
		put16(f + 44, 1);
		put32(f + ph, 1);
		put32(f + ph + 4, (uint32_t)data);
		put32(f + ph + 8, 0xc0100000);
		put32(f + ph + 12, 0x200000);
		put32(f + ph + 16, 0x800);
		put32(f + ph + 20, 0x3000);
	}
	/* the multiboot header, 4-aligned, in the first 8 KiB: inside the segment */
	put32(f + data + 0x100, MULTIBOOT_HEADER_MAGIC);
	put32(f + data + 0x104, 0x2);
	put32(f + data + 0x108, (uint32_t)-(MULTIBOOT_HEADER_MAGIC + 2));
	memset(f + data + 0x200, 0xab, 0x600);
	return 0x2000;
}

static void test_aout(void **state)
{
	static uint8_t img[0x3000];
	static const uint8_t initrd[] = "initrd-bytes";
	struct multiboot_args a = {
		.kernel = img, .kernel_size = make_aout(img, sizeof(img), 0x2000),
		.kernel_path = "/k.bin", .append = "console=ttyS0 x=1",
		.initrd = initrd, .initrd_size = sizeof(initrd), .initrd_path = "/i.img",
	};
	struct rv_regs regs;
	struct rv_sregs sregs = { .cr0 = 0x60000010 };
	char err[200] = "";
	uint8_t *info, *mod;
	uint32_t info_addr;

	memset(ram + 0x103000, 0xee, 0x2000);	/* bss must come out zero */
	assert_int_equal(multiboot_load(&a, &mem, &regs, &sregs, err, sizeof(err)), 0);
	assert_memory_equal(ram + 0x100000, img, sizeof(img));
	for (unsigned i = 0; i < 0x2000; i++)
		assert_int_equal(ram[0x103000 + i], 0);
	assert_int_equal(regs.rip, 0x100040);
	assert_int_equal(regs.gpr[RV_RAX], MULTIBOOT_BOOTLOADER_MAGIC);
	assert_int_equal(regs.rflags & (RV_FLAG_IF | RV_FLAG_VM), 0);
	assert_int_equal(sregs.cr0 & (RV_CR0_PE | RV_CR0_PG), RV_CR0_PE);
	assert_int_equal(sregs.seg[RV_CS].attrib & (RV_SEG_DB | RV_SEG_P | RV_SEG_S), RV_SEG_DB | RV_SEG_P | RV_SEG_S);
	assert_true(RV_SEG_TYPE(sregs.seg[RV_CS].attrib) & 8);
	assert_int_equal(sregs.seg[RV_SS].limit, 0xffffffffu);
	assert_false(RV_SEG_TYPE(sregs.seg[RV_DS].attrib) & 8);

	info_addr = (uint32_t)regs.gpr[RV_RBX];
	assert_true(info_addr >= 0x105000 && info_addr % 4096 == 0);
	info = ram + info_addr;
	assert_int_equal(get32(info) & 0x4f, 0x4f);
	assert_int_equal(get32(info + 4), 640);
	assert_int_equal(get32(info + 8), (RAM_SIZE >> 10) - 1024);
	assert_string_equal((char *)ram + get32(info + 16), "/k.bin console=ttyS0 x=1");
	assert_int_equal(get32(info + 20), 1);
	mod = ram + get32(info + 24);
	assert_int_equal(get32(mod) % 4096, 0);
	assert_true(get32(mod) >= 0x105000);
	assert_int_equal(get32(mod + 4) - get32(mod), sizeof(initrd));
	assert_memory_equal(ram + get32(mod), initrd, sizeof(initrd));
	assert_string_equal((char *)ram + get32(mod + 8), "/i.img");
	/* memory map: 3 regions, sorted, the RAM ones of type 1 */
	assert_int_equal(get32(info + 44), 3 * 24);
	{
		uint8_t *e = ram + get32(info + 48);

		assert_int_equal(get32(e), 20);
		assert_int_equal(get64(e + 4), 0);
		assert_int_equal(get64(e + 12), 0xa0000);
		assert_int_equal(get32(e + 20), 1);
		assert_int_equal(get64(e + 24 + 4), 0xa0000);
		assert_int_equal(get32(e + 24 + 20), 2);
		assert_int_equal(get64(e + 48 + 4), 0x100000);
		assert_int_equal(get32(e + 48 + 20), 1);
	}
	assert_string_equal((char *)ram + get32(info + 64), "ringvm");
}

static void test_elf(void **state)
{
	static uint8_t f[0x2000];

	for (int is64 = 0; is64 < 2; is64++) {
		struct multiboot_args a = { .kernel = f, .kernel_path = "k" };
		struct rv_regs regs;
		struct rv_sregs sregs = { 0 };
		char err[200] = "";

		a.kernel_size = make_elf(f, is64);
		memset(ram + 0x200000, 0xee, 0x3000);
		assert_int_equal(multiboot_load(&a, &mem, &regs, &sregs, err, sizeof(err)), 0);
		/* loaded at the physical address, entry translated from virtual */
		assert_int_equal(regs.rip, 0x200010);
		assert_memory_equal(ram + 0x200000, f + 0x1000, 0x800);
		assert_int_equal(ram[0x200800], 0);
		assert_int_equal(ram[0x202fff], 0);
		assert_string_equal((char *)ram + get32(ram + regs.gpr[RV_RBX] + 16), "k ");
		assert_int_equal(get32(ram + regs.gpr[RV_RBX] + 20), 0);
	}
}

static void test_rejects(void **state)
{
	static uint8_t img[0x3000];
	struct multiboot_args a = { .kernel = img, .kernel_path = "k" };
	struct rv_regs regs;
	struct rv_sregs sregs = { 0 };
	char err[200];

	memset(img, 0, sizeof(img));
	a.kernel_size = sizeof(img);
	assert_int_equal(multiboot_load(&a, &mem, &regs, &sregs, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "not a kernel format"));

	/* header past the first 8 KiB is not found */
	make_aout(img, sizeof(img), 0);
	memmove(img + 8192, img, 32);
	memset(img, 0, 32);
	assert_int_equal(multiboot_load(&a, &mem, &regs, &sregs, err, sizeof(err)), -ENOEXEC);

	/* kernel bigger than RAM */
	make_aout(img, sizeof(img), 0);
	put32(img + 24, 0x100000 + RAM_SIZE);
	assert_int_equal(multiboot_load(&a, &mem, &regs, &sregs, err, sizeof(err)), -ENOMEM);

	/* tiny files */
	for (size_t n = 0; n < 40; n++) {
		a.kernel_size = n;
		make_aout(img, sizeof(img), 0);
		assert_true(multiboot_load(&a, &mem, &regs, &sregs, err, sizeof(err)) < 0 || n >= 32);
	}
}

/* Hostile input: random mutations of valid images must never crash (run under ASan via `make asan`). */
static void test_mutations(void **state)
{
	static uint8_t base[3][0x3000], img[0x3000];
	size_t sizes[3];
	unsigned seed = 12345, ok = 0;

	sizes[0] = make_aout(base[0], sizeof(base[0]), 0x100);
	sizes[1] = make_elf(base[1], false);
	sizes[2] = make_elf(base[2], true);
	for (unsigned iter = 0; iter < 30000; iter++) {
		unsigned k = iter % 3, flips = 1 + rand_r(&seed) % 8;
		struct multiboot_args a = { .kernel = img, .kernel_path = "k", .append = "a" };
		struct rv_regs regs;
		struct rv_sregs sregs = { 0 };
		char err[200];

		memcpy(img, base[k], sizes[k]);
		for (unsigned i = 0; i < flips; i++) {
			/* mostly hit the headers, where the parsing happens */
			unsigned pos = rand_r(&seed) % 4 ? rand_r(&seed) % 0x140 : rand_r(&seed) % 0x1200;
			unsigned r = rand_r(&seed);

			img[pos % sizes[k]] = r % 4 == 0 ? 0xff : r % 4 == 1 ? 0 : (uint8_t)(r >> 8);
		}
		a.kernel_size = rand_r(&seed) % 8 ? sizes[k] : rand_r(&seed) % sizes[k];
		if (multiboot_load(&a, &mem, &regs, &sregs, err, sizeof(err)) == 0) {
			ok++;
			assert_true(regs.gpr[RV_RBX] < RAM_SIZE);
		}
	}
	assert_true(ok > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aout),
		cmocka_unit_test(test_elf),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests_name("multiboot", tests, setup, teardown);
}
