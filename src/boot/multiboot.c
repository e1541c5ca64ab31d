/* Multiboot v1 loader: header search, ELF32/ELF64 and a.out-kludge loading, the info block, and the 32-bit entry state. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot/multiboot.h"
#include "common/le.h"

/* Header flags (spec 3.1.2). Bits 0-15 are requirements: a loader that cannot meet one must refuse. */
#define MBH_PAGE_ALIGN   (1u << 0)
#define MBH_MEMORY_INFO  (1u << 1)
#define MBH_VIDEO_MODE   (1u << 2)
#define MBH_AOUT_KLUDGE  (1u << 16)
#define MBH_REQUIRED     0xffffu

/* Info flags (spec 3.3). */
#define MBI_MEMORY       (1u << 0)
#define MBI_BOOTDEV      (1u << 1)
#define MBI_CMDLINE      (1u << 2)
#define MBI_MODS         (1u << 3)
#define MBI_MMAP         (1u << 6)
#define MBI_LOADER_NAME  (1u << 9)

/* Offsets in the info structure (spec 3.3). */
#define MBI_FLAGS        0
#define MBI_MEM_LOWER    4
#define MBI_MEM_UPPER    8
#define MBI_BOOT_DEVICE  12
#define MBI_CMDLINE_PTR  16
#define MBI_MODS_COUNT   20
#define MBI_MODS_ADDR    24
#define MBI_MMAP_LENGTH  44
#define MBI_MMAP_ADDR    48
#define MBI_LOADER_NAME_PTR 64
#define MBI_SIZE         128	/* the structure is 116 bytes up to the framebuffer fields */

#define MB_MOD_SIZE      16	/* mod_start, mod_end, string, reserved */
#define MB_MMAP_ENTRY    24	/* size (= 20), base_addr, length, type */

#define PAGE_SIZE        4096ull
#define FOUR_GIB         0x100000000ull

/* ELF constants (System V ABI, ELF-64 Object File Format). */
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define EM_386 3
#define EM_X86_64 62
#define PT_LOAD 1

static const char loader_name[] = "ringvm";

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Offset of a valid header, -1 if none; *bad_sum tells whether a magic with a wrong checksum was seen. */
static long mb_find_header(const uint8_t *image, size_t size, bool *bad_sum)
{
	size_t limit = size < MULTIBOOT_SEARCH ? size : MULTIBOOT_SEARCH;
	size_t off;

	*bad_sum = false;
	for (off = 0; off + 12 <= limit; off += 4) {
		uint32_t magic = get32(image + off);

		if (magic != MULTIBOOT_HEADER_MAGIC)
			continue;
		if ((uint32_t)(magic + get32(image + off + 4) + get32(image + off + 8)) == 0)
			return (long)off;
		*bad_sum = true;
	}
	return -1;
}

bool multiboot_probe(const uint8_t *image, size_t size)
{
	bool bad_sum;

	return mb_find_header(image, size, &bad_sum) >= 0;
}

/* Where the kernel ended up: the first byte past it and the entry point. */
struct mb_image {
	uint64_t end;
	uint32_t entry;
};

/* Copy [file_off, file_off+filesz) to gpa and zero up to memsz, all checked. */
static int mb_place(const struct multiboot_args *args, const struct guestmem *mem,
		    uint64_t gpa, uint64_t file_off, uint64_t filesz, uint64_t memsz,
		    struct mb_image *img, char *err, size_t errlen)
{
	uint8_t *dst;

	if (filesz > memsz)
		return fail(err, errlen, -ENOEXEC, "segment's file size exceeds its memory size");
	if (file_off > args->kernel_size || filesz > args->kernel_size - file_off)
		return fail(err, errlen, -ENOEXEC, "segment lies beyond the end of the file");
	if (memsz == 0)
		return 0;
	if (gpa >= FOUR_GIB || memsz > FOUR_GIB - gpa)
		return fail(err, errlen, -ENOEXEC,
			    "segment at 0x%llx (size 0x%llx) is not below 4 GiB",
			    (unsigned long long)gpa, (unsigned long long)memsz);
	dst = guestmem_ptr(mem, gpa, memsz);
	if (!dst)
		return fail(err, errlen, -ENOMEM,
			    "segment at 0x%llx-0x%llx does not lie in guest RAM",
			    (unsigned long long)gpa, (unsigned long long)(gpa + memsz - 1));
	memcpy(dst, args->kernel + file_off, filesz);
	memset(dst + filesz, 0, memsz - filesz);
	if (gpa + memsz > img->end)
		img->end = gpa + memsz;
	return 0;
}

/* Spec 3.1.3: the address fields of the header say where the file goes. */
static int mb_load_aout(const struct multiboot_args *args, const struct guestmem *mem,
			size_t hdr_off, struct mb_image *img, char *err, size_t errlen)
{
	const uint8_t *h = args->kernel + hdr_off;
	uint32_t header_addr, load_addr, load_end, bss_end;
	uint64_t file_off, load_size, mem_size;

	if (hdr_off + 32 > args->kernel_size)
		return fail(err, errlen, -ENOEXEC, "multiboot header is cut short by the end of the file");
	header_addr = get32(h + 12);
	load_addr = get32(h + 16);
	load_end = get32(h + 20);
	bss_end = get32(h + 24);
	img->entry = get32(h + 28);

	if (load_addr > header_addr || header_addr - load_addr > hdr_off)
		return fail(err, errlen, -ENOEXEC,
			    "multiboot load_addr 0x%x does not match header_addr 0x%x",
			    load_addr, header_addr);
	file_off = hdr_off - (header_addr - load_addr);
	if (load_end == 0) {
		load_size = args->kernel_size - file_off;
	} else {
		if (load_end < load_addr)
			return fail(err, errlen, -ENOEXEC,
				    "multiboot load_end_addr 0x%x is below load_addr 0x%x",
				    load_end, load_addr);
		load_size = load_end - load_addr;
		if (load_size > args->kernel_size - file_off)
			return fail(err, errlen, -ENOEXEC,
				    "multiboot load_end_addr 0x%x lies beyond the end of the file",
				    load_end);
	}
	mem_size = load_size;
	if (bss_end) {
		if (bss_end < load_addr + load_size)
			return fail(err, errlen, -ENOEXEC,
				    "multiboot bss_end_addr 0x%x is below the loaded image", bss_end);
		mem_size = bss_end - load_addr;
	}
	if (mem_size == 0)
		return fail(err, errlen, -ENOEXEC, "multiboot kernel image is empty");
	return mb_place(args, mem, load_addr, file_off, load_size, mem_size, img, err, errlen);
}

/* PT_LOAD segments at their physical addresses, as GRUB loads a multiboot ELF. */
static int mb_load_elf(const struct multiboot_args *args, const struct guestmem *mem,
		       struct mb_image *img, char *err, size_t errlen)
{
	const uint8_t *f = args->kernel;
	size_t size = args->kernel_size;
	bool is64;
	uint64_t entry, phoff, phsz;
	unsigned phentsize, phnum, i, loaded = 0;
	bool entry_mapped = false;

	if (size < 52 || memcmp(f, "\x7f" "ELF", 4) != 0)
		return fail(err, errlen, -ENOEXEC,
			    "multiboot kernel is not ELF and does not set the address fields (flag bit 16)");
	if (f[4] != ELFCLASS32 && f[4] != ELFCLASS64)
		return fail(err, errlen, -ENOEXEC, "ELF kernel has an unknown class %u", f[4]);
	is64 = f[4] == ELFCLASS64;
	if (f[5] != ELFDATA2LSB)
		return fail(err, errlen, -ENOEXEC, "ELF kernel is not little-endian");
	if (is64 && size < 64)
		return fail(err, errlen, -ENOEXEC, "ELF header is cut short by the end of the file");
	if (get16(f + 16) != ET_EXEC)
		return fail(err, errlen, -ENOEXEC, "ELF kernel is not an executable (e_type %u)", get16(f + 16));
	if (get16(f + 18) != (is64 ? EM_X86_64 : EM_386))
		return fail(err, errlen, -ENOEXEC, "ELF kernel is for another machine (e_machine %u)",
			    get16(f + 18));
	if (is64) {
		entry = get64(f + 24);
		phoff = get64(f + 32);
		phentsize = get16(f + 54);
		phnum = get16(f + 56);
	} else {
		entry = get32(f + 24);
		phoff = get32(f + 28);
		phentsize = get16(f + 42);
		phnum = get16(f + 44);
	}
	if (phentsize < (is64 ? 56u : 32u))
		return fail(err, errlen, -ENOEXEC, "ELF program header entries are too small (%u)", phentsize);
	phsz = (uint64_t)phentsize * phnum;
	if (phoff > size || phsz > size - phoff)
		return fail(err, errlen, -ENOEXEC, "ELF program headers lie beyond the end of the file");

	for (i = 0; i < phnum; i++) {
		const uint8_t *ph = f + phoff + (uint64_t)i * phentsize;
		uint64_t off, vaddr, paddr, filesz, memsz;
		int ret;

		if (get32(ph) != PT_LOAD)
			continue;
		if (is64) {
			off = get64(ph + 8);
			vaddr = get64(ph + 16);
			paddr = get64(ph + 24);
			filesz = get64(ph + 32);
			memsz = get64(ph + 40);
		} else {
			off = get32(ph + 4);
			vaddr = get32(ph + 8);
			paddr = get32(ph + 12);
			filesz = get32(ph + 16);
			memsz = get32(ph + 20);
		}
		ret = mb_place(args, mem, paddr, off, filesz, memsz, img, err, errlen);
		if (ret)
			return ret;
		loaded++;
		/* A kernel linked at a virtual address enters at the physical copy of its entry. */
		if (!entry_mapped && entry >= vaddr && entry - vaddr < memsz) {
			entry = entry - vaddr + paddr;
			entry_mapped = true;
		}
	}
	if (!loaded)
		return fail(err, errlen, -ENOEXEC, "ELF kernel has no loadable segment");
	if (entry >= FOUR_GIB)
		return fail(err, errlen, -ENOEXEC, "ELF entry point 0x%llx is not below 4 GiB",
			    (unsigned long long)entry);
	img->entry = (uint32_t)entry;
	return 0;
}

/* The memory map the guest sees (spec 3.3, mmap_*): every region of the layout. */
static unsigned mb_mmap_count(const struct guestmem *mem)
{
	return mem->count;
}

static void mb_fill_mmap(uint8_t *p, const struct guestmem *mem)
{
	unsigned i;

	for (i = 0; i < mem->count; i++, p += MB_MMAP_ENTRY) {
		put32(p, MB_MMAP_ENTRY - 4);
		put64(p + 4, mem->region[i].gpa);
		put64(p + 12, mem->region[i].size);
		put32(p + 20, mem->region[i].type);
	}
}

int multiboot_load(const struct multiboot_args *args, const struct guestmem *mem,
		   struct rv_regs *regs, struct rv_sregs *sregs,
		   char *err, size_t errlen)
{
	struct mb_image img = { .end = 0 };
	bool bad_sum;
	long hdr;
	uint32_t flags;
	uint64_t mod_addr = 0, info_addr, next, total;
	size_t cmd_len, path_len, append_len, mod_str_len, name_len;
	uint64_t mods_off, mmap_off, cmd_off, mod_str_off, name_off;
	unsigned nmods = args->initrd ? 1 : 0;
	uint8_t *info;
	int ret;

	hdr = mb_find_header(args->kernel, args->kernel_size, &bad_sum);
	if (hdr < 0)
		return fail(err, errlen, -ENOEXEC, bad_sum ?
			    "multiboot header has a wrong checksum" :
			    "no multiboot header in the first 8192 bytes: not a kernel format ringvm knows");
	flags = get32(args->kernel + hdr + 4);
	if (flags & MBH_REQUIRED & ~(MBH_PAGE_ALIGN | MBH_MEMORY_INFO | MBH_VIDEO_MODE))
		return fail(err, errlen, -ENOTSUP,
			    "multiboot header requires features ringvm lacks (flags 0x%x)", flags);

	if (flags & MBH_AOUT_KLUDGE)
		ret = mb_load_aout(args, mem, (size_t)hdr, &img, err, errlen);
	else
		ret = mb_load_elf(args, mem, &img, err, errlen);
	if (ret)
		return ret;

	/* Module and info follow the kernel, page-aligned (flag bit 0 asks for it; we always do). */
	next = align_up(img.end, PAGE_SIZE);
	if (args->initrd) {
		uint8_t *dst;

		mod_addr = next;
		dst = guestmem_ptr(mem, mod_addr, args->initrd_size ? args->initrd_size : 1);
		if (!dst || mod_addr + args->initrd_size >= FOUR_GIB)
			return fail(err, errlen, -ENOMEM,
				    "initrd (%zu bytes) does not fit in guest RAM after the kernel",
				    args->initrd_size);
		memcpy(dst, args->initrd, args->initrd_size);
		next = align_up(mod_addr + args->initrd_size, PAGE_SIZE);
	}

	path_len = strlen(args->kernel_path);
	append_len = args->append ? strlen(args->append) : 0;
	cmd_len = path_len + 1 + append_len + 1;	/* "PATH APPEND\0", as QEMU and GRUB pass it */
	mod_str_len = args->initrd ? strlen(args->initrd_path) + 1 : 0;
	name_len = sizeof(loader_name);

	mods_off = MBI_SIZE;
	mmap_off = mods_off + (uint64_t)nmods * MB_MOD_SIZE;
	cmd_off = mmap_off + (uint64_t)mb_mmap_count(mem) * MB_MMAP_ENTRY;
	mod_str_off = cmd_off + cmd_len;
	name_off = mod_str_off + mod_str_len;
	total = name_off + name_len;

	info_addr = next;
	info = guestmem_ptr(mem, info_addr, total);
	if (!info || info_addr + total >= FOUR_GIB)
		return fail(err, errlen, -ENOMEM, "no room in guest RAM for the multiboot information");
	memset(info, 0, total);

	put32(info + MBI_FLAGS, MBI_MEMORY | MBI_BOOTDEV | MBI_CMDLINE | MBI_MODS |
	      MBI_MMAP | MBI_LOADER_NAME);
	/* KiB of RAM from 0 and from 1 MiB up to the first hole (spec 3.3, mem_lower/mem_upper). */
	put32(info + MBI_MEM_LOWER, (uint32_t)(mem->low_ram_top >> 10));
	put32(info + MBI_MEM_UPPER, mem->high_ram_top > 0x100000 ?
	      (uint32_t)((mem->high_ram_top - 0x100000) >> 10) : 0);
	/* BIOS drive 0x80 with no partition, the value QEMU passes. */
	put32(info + MBI_BOOT_DEVICE, 0x8000ffffu);

	memcpy(info + cmd_off, args->kernel_path, path_len);
	info[cmd_off + path_len] = ' ';
	if (append_len)
		memcpy(info + cmd_off + path_len + 1, args->append, append_len);
	put32(info + MBI_CMDLINE_PTR, (uint32_t)(info_addr + cmd_off));

	put32(info + MBI_MODS_COUNT, nmods);
	put32(info + MBI_MODS_ADDR, (uint32_t)(info_addr + mods_off));
	if (nmods) {
		uint8_t *m = info + mods_off;

		memcpy(info + mod_str_off, args->initrd_path, mod_str_len);
		put32(m, (uint32_t)mod_addr);
		put32(m + 4, (uint32_t)(mod_addr + args->initrd_size));
		put32(m + 8, (uint32_t)(info_addr + mod_str_off));
	}

	mb_fill_mmap(info + mmap_off, mem);
	put32(info + MBI_MMAP_LENGTH, mb_mmap_count(mem) * MB_MMAP_ENTRY);
	put32(info + MBI_MMAP_ADDR, (uint32_t)(info_addr + mmap_off));

	memcpy(info + name_off, loader_name, name_len);
	put32(info + MBI_LOADER_NAME_PTR, (uint32_t)(info_addr + name_off));

	/*
	 * Machine state (spec 3.2): EAX magic, EBX info, flat 4 GiB 32-bit
	 * segments, CR0.PE=1 and PG=0, EFLAGS.VM=0 and IF=0. A20 is always on.
	 */
	memset(regs, 0, sizeof(*regs));
	regs->gpr[RV_RAX] = MULTIBOOT_BOOTLOADER_MAGIC;
	regs->gpr[RV_RBX] = info_addr;
	regs->rip = img.entry;
	regs->rflags = RV_FLAG_FIXED1;

	for (int s = RV_ES; s <= RV_GS; s++) {
		struct rv_segment *seg = &sregs->seg[s];

		seg->base = 0;
		seg->limit = 0xffffffffu;
		if (s == RV_CS) {
			seg->selector = 0x08;
			/* type 0xB: execute/read, accessed */
			seg->attrib = 0xb | RV_SEG_S | RV_SEG_P | RV_SEG_DB | RV_SEG_G;
		} else {
			seg->selector = 0x10;
			/* type 0x3: read/write, accessed */
			seg->attrib = 0x3 | RV_SEG_S | RV_SEG_P | RV_SEG_DB | RV_SEG_G;
		}
	}
	sregs->cr0 = (sregs->cr0 | RV_CR0_PE | RV_CR0_ET) & ~(RV_CR0_PG | RV_CR0_CD | RV_CR0_NW);
	sregs->cr4 = 0;
	sregs->efer = 0;
	return 0;
}
