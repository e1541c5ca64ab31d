/* Linux boot protocol: setup header checks, kernel and initrd placement, boot_params (the zero page). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/e820.h"
#include "boot/linux.h"
#include "boot/payload.h"
#include "boot/vmlinux.h"
#include "common/le.h"

/*
 * Offsets in the bzImage file, which are also the offsets in struct
 * boot_params, since the setup header sits at 0x1f1 in both
 * (Documentation/x86/boot.rst, "The real-mode kernel header";
 * Documentation/x86/zero-page.rst).
 */
#define HDR_SETUP_SECTS     0x1f1	/* u8: 512-byte sectors of setup code, 0 means 4 */
#define HDR_SYSSIZE         0x1f4	/* u32: protected-mode size in 16-byte units (2.04+) */
#define HDR_VID_MODE        0x1fa	/* u16 */
#define HDR_BOOT_FLAG       0x1fe	/* u16: 0xAA55 */
#define HDR_JUMP            0x200	/* 0xEB, then the byte giving the header's end */
#define HDR_HEADER          0x202	/* "HdrS" */
#define HDR_VERSION         0x206	/* u16 */
#define HDR_TYPE_OF_LOADER  0x210	/* u8 */
#define HDR_LOADFLAGS       0x211	/* u8 */
#define HDR_CODE32_START    0x214	/* u32 */
#define HDR_RAMDISK_IMAGE   0x218	/* u32 */
#define HDR_RAMDISK_SIZE    0x21c	/* u32 */
#define HDR_HEAP_END_PTR    0x224	/* u16 */
#define HDR_CMD_LINE_PTR    0x228	/* u32 (2.02+) */
#define HDR_INITRD_ADDR_MAX 0x22c	/* u32 (2.03+) */
#define HDR_KERNEL_ALIGNMENT 0x230	/* u32 (2.05+) */
#define HDR_RELOCATABLE     0x234	/* u8 (2.05+) */
#define HDR_MIN_ALIGNMENT   0x235	/* u8 (2.10+): log2 */
#define HDR_XLOADFLAGS      0x236	/* u16 (2.12+) */
#define HDR_CMDLINE_SIZE    0x238	/* u32 (2.06+) */
#define HDR_HARDWARE_SUBARCH 0x23c	/* u32 (2.07+) */
#define HDR_PAYLOAD_OFFSET  0x248	/* u32 (2.08+) */
#define HDR_PAYLOAD_LENGTH  0x24c	/* u32 (2.08+) */
#define HDR_SETUP_DATA      0x250	/* u64 (2.09+) */
#define HDR_PREF_ADDRESS    0x258	/* u64 (2.10+): LOAD_PHYSICAL_ADDR, where it runs */
#define HDR_INIT_SIZE       0x260	/* u32 (2.10+) */

/* boot_params fields outside the setup header (zero-page.rst). */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_ACPI_RSDP_ADDR    0x070	/* u64 */
#define BP_E820_ENTRIES      0x1e8
#define BP_SENTINEL          0x1ef
#define BP_HDR_END           0x290	/* the header's room ends where edd_mbr_sig_buffer starts */
#define BP_E820_TABLE        0x2d0
#define BP_E820_MAX          128
#define BP_SIZE              0x1000

#define LOADED_HIGH          (1u << 0)	/* protected-mode code at 0x100000 (bzImage) */
#define KASLR_FLAG           (1u << 1)	/* set by the decompressor when it randomized: never by a loader */
#define CAN_USE_HEAP         (1u << 7)
#define XLF_KERNEL_64        (1u << 0)	/* startup_64 at load address + 0x200 */
#define XLF_CAN_BE_LOADED_ABOVE_4G (1u << 1)	/* initrd (and the rest) may live above 4 GiB */

#define BOOT_FLAG_MAGIC      0xaa55u
#define HDRS_MAGIC           0x53726448u	/* "HdrS" */
#define LOADER_UNDEFINED     0xff	/* type_of_loader: a loader with no assigned ID */
#define SETUP_MAX_SECTS      63		/* the real-mode part is at most 32 KiB with its boot sector */
#define PAGE_SIZE            0x1000ull
#define FOUR_GIB             0x100000000ull

/* The setup header ringvm writes for a bare vmlinux: protocol 2.15, which ends at 0x26c. */
#define VMLINUX_HDR_VERSION  0x020f
#define VMLINUX_HDR_END      0x26c
#define VMLINUX_ALIGN        0x200000u	/* kernel_alignment: CONFIG_PHYSICAL_ALIGN's x86-64 default */
#define VMLINUX_INITRD_MAX   0x7fffffffu

/* Defaults the protocol gives for fields older versions lack. */
#define DEFAULT_INITRD_ADDR_MAX 0x37ffffffu
#define DEFAULT_CMDLINE_SIZE    255u

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

bool linux_probe(const uint8_t *image, size_t size)
{
	if (size < HDR_HEADER + 4)
		return false;
	return get16(image + HDR_BOOT_FLAG) == BOOT_FLAG_MAGIC &&
	       get32(image + HDR_HEADER) == HDRS_MAGIC;
}

/* What the loader learns from the header, all checked against the file. */
struct linux_hdr {
	const uint8_t *hdr_src;		/* the setup header, at its boot_params offsets (0x1f1 to hdr_end) */
	unsigned version;
	size_t setup_size;		/* boot sector + setup code: where the kernel starts in the file */
	size_t hdr_end;			/* end of the setup header (0x202 + jump byte) */
	const uint8_t *pm;		/* protected-mode kernel */
	size_t pm_size;
	uint64_t init_size;		/* memory the kernel needs from where it runs */
	uint64_t run_addr;		/* where it decompresses to: max(load address, pref_address) */
	uint64_t initrd_max;		/* highest byte address the initrd may touch */
	uint32_t cmdline_size;		/* longest command line, without the NUL */
	uint16_t xloadflags;
	uint64_t payload_off, payload_len;	/* compressed payload in pm (2.08+), else 0 */
};

/* Where the setup header of a protocol version ends at the least: the fields it defines. */
static size_t linux_hdr_min_end(unsigned version)
{
	if (version >= 0x020a)
		return HDR_INIT_SIZE + 4;
	if (version >= 0x0208)
		return HDR_PAYLOAD_LENGTH + 4;
	if (version >= 0x0206)
		return HDR_CMDLINE_SIZE + 4;
	if (version >= 0x0203)
		return HDR_INITRD_ADDR_MAX + 4;
	return HDR_CMD_LINE_PTR + 4;
}

static int linux_check_header(const struct linux_args *args, struct linux_hdr *h,
			      char *err, size_t errlen)
{
	const uint8_t *k = args->kernel;
	size_t size = args->kernel_size;
	unsigned sects;

	if (!linux_probe(k, size))
		return fail(err, errlen, -ENOEXEC, "not a Linux bzImage (no boot_flag 0xAA55 and \"HdrS\" header)");
	h->version = get16(k + HDR_VERSION);
	if (h->version < LINUX_MIN_VERSION)
		return fail(err, errlen, -ENOEXEC,
			    "Linux boot protocol %u.%02u is too old: ringvm needs 2.02 or later",
			    h->version >> 8, h->version & 0xff);
	if (!(k[HDR_LOADFLAGS] & LOADED_HIGH))
		return fail(err, errlen, -ENOEXEC,
			    "a zImage (loaded low) is not supported: ringvm boots bzImages only");
	if (args->entry == LINUX_ENTRY_64 && h->version < LINUX_MIN_VERSION_64)
		return fail(err, errlen, -ENOEXEC,
			    "Linux boot protocol %u.%02u has no 64-bit entry (2.12 needed); try --boot-entry 32",
			    h->version >> 8, h->version & 0xff);

	sects = k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4;
	if (sects > SETUP_MAX_SECTS)
		return fail(err, errlen, -ENOEXEC,
			    "bzImage setup_sects %u is out of range (at most %u)", sects, SETUP_MAX_SECTS);
	h->setup_size = (size_t)(sects + 1) * 512;
	if (h->setup_size >= size)
		return fail(err, errlen, -ENOEXEC,
			    "bzImage is truncated: %zu bytes, but its setup code alone is %zu",
			    size, h->setup_size);
	h->hdr_end = HDR_HEADER + k[HDR_JUMP + 1];
	if (k[HDR_JUMP] != 0xeb || h->hdr_end > BP_HDR_END)
		return fail(err, errlen, -ENOEXEC,
			    "bzImage setup header has a bad length (jump 0x%02x 0x%02x)",
			    k[HDR_JUMP], k[HDR_JUMP + 1]);
	/* Every field we read must lie inside the header the kernel declares. */
	if (h->hdr_end < linux_hdr_min_end(h->version))
		return fail(err, errlen, -ENOEXEC,
			    "bzImage setup header ends at 0x%zx, before the fields of protocol %u.%02u",
			    h->hdr_end, h->version >> 8, h->version & 0xff);
	h->hdr_src = k;
	h->pm = k + h->setup_size;
	h->pm_size = size - h->setup_size;

	if (h->version >= 0x0204 && (uint64_t)get32(k + HDR_SYSSIZE) * 16 > h->pm_size)
		return fail(err, errlen, -ENOEXEC,
			    "bzImage is truncated: the header says %llu bytes of kernel, the file has %zu",
			    (unsigned long long)get32(k + HDR_SYSSIZE) * 16, h->pm_size);
	if (h->version >= 0x0208) {
		uint64_t off = get32(k + HDR_PAYLOAD_OFFSET), len = get32(k + HDR_PAYLOAD_LENGTH);

		if (off + len > h->pm_size)
			return fail(err, errlen, -ENOEXEC,
				    "bzImage is truncated: its compressed payload (0x%llx + 0x%llx) ends beyond the file",
				    (unsigned long long)off, (unsigned long long)len);
		h->payload_off = off;
		h->payload_len = len;
	}
	h->xloadflags = h->version >= 0x020c ? get16(k + HDR_XLOADFLAGS) : 0;
	if (args->entry == LINUX_ENTRY_64 && !(h->xloadflags & XLF_KERNEL_64))
		return fail(err, errlen, -ENOEXEC,
			    "this kernel has no 64-bit entry point (xloadflags 0x%x); try --boot-entry 32",
			    h->xloadflags);
	/* init_size (2.10+) is what the decompressor needs from the load address; older: a guess. */
	h->init_size = h->version >= 0x020a ? get32(k + HDR_INIT_SIZE) : (uint64_t)h->pm_size * 4;
	if (h->init_size < h->pm_size)
		h->init_size = h->pm_size;
	/*
	 * A relocatable kernel loaded below LOAD_PHYSICAL_ADDR (pref_address)
	 * still decompresses to it (arch/x86/boot/compressed/head_64.S), so
	 * that is where init_size bytes of RAM are needed.
	 */
	h->run_addr = LINUX_KERNEL_ADDR;
	if (h->version >= 0x020a) {
		uint64_t pref = get32(k + HDR_PREF_ADDRESS) | (uint64_t)get32(k + HDR_PREF_ADDRESS + 4) << 32;

		if (pref > h->run_addr)
			h->run_addr = pref;
	}
	h->initrd_max = h->version >= 0x0203 ? get32(k + HDR_INITRD_ADDR_MAX) : DEFAULT_INITRD_ADDR_MAX;
	h->cmdline_size = h->version >= 0x0206 ? get32(k + HDR_CMDLINE_SIZE) : DEFAULT_CMDLINE_SIZE;
	return 0;
}

/*
 * The initrd goes as high as allowed (boot.rst: "as high as possible"),
 * page-aligned, above the kernel's init_size area, and below
 * initrd_addr_max; above 4 GiB only if it fits nowhere lower and the
 * kernel says it can take that (XLF_CAN_BE_LOADED_ABOVE_4G).
 */
static int linux_place_initrd(const struct guestmem *mem, const struct linux_hdr *h,
			      uint64_t low, uint64_t size, bool above_4g, uint64_t *addr)
{
	unsigned i;

	for (i = mem->count; i-- > 0;) {
		const struct guestmem_region *r = &mem->region[i];
		uint64_t start = r->gpa > low ? r->gpa : low;
		uint64_t end = r->gpa + r->size, a;

		if (r->type != GUESTMEM_RAM || !r->host)
			continue;
		if (!above_4g) {
			if (end > h->initrd_max + 1)
				end = h->initrd_max + 1;
			if (end > FOUR_GIB)
				end = FOUR_GIB;
		}
		if (end <= start || end - start < size)
			continue;
		a = (end - size) & ~(PAGE_SIZE - 1);
		if (a < start)
			continue;
		*addr = a;
		return 0;
	}
	return -ENOMEM;
}

static int linux_load_initrd(const struct linux_args *args, const struct guestmem *mem,
			     const struct linux_hdr *h, uint8_t *bp, char *err, size_t errlen)
{
	uint64_t low = h->run_addr + h->init_size, addr = 0, size = args->initrd_size;
	uint8_t *dst;
	int ret;

	if (!args->initrd)
		return 0;
	ret = linux_place_initrd(mem, h, low, size ? size : 1, false, &addr);
	if (ret && (h->xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G))
		ret = linux_place_initrd(mem, h, low, size ? size : 1, true, &addr);
	if (ret)
		return fail(err, errlen, -ENOMEM,
			    "initrd of %llu bytes does not fit in guest RAM above the kernel "
			    "(below 0x%llx): give more --mem",
			    (unsigned long long)size, (unsigned long long)h->initrd_max + 1);
	dst = guestmem_ptr(mem, addr, size ? size : 1);
	if (!dst)
		return fail(err, errlen, -ENOMEM, "initrd does not fit in guest RAM");
	memcpy(dst, args->initrd, size);
	put32(bp + HDR_RAMDISK_IMAGE, (uint32_t)addr);
	put32(bp + HDR_RAMDISK_SIZE, (uint32_t)size);
	put32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(addr >> 32));
	put32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(size >> 32));
	return 0;
}

static int linux_build_cmdline(const struct linux_args *args, const struct guestmem *mem,
			       const struct linux_hdr *h, uint8_t *bp, char *err, size_t errlen)
{
	const char *cmd = args->cmdline ? args->cmdline : "";
	size_t len = strlen(cmd);
	uint8_t *dst;

	if (len > h->cmdline_size)
		return fail(err, errlen, -E2BIG,
			    "kernel command line is %zu bytes; this kernel accepts at most %u",
			    len, h->cmdline_size);
	if (len + 1 > LINUX_CMDLINE_MAX)
		return fail(err, errlen, -E2BIG,
			    "kernel command line is %zu bytes; ringvm passes at most %llu",
			    len, (unsigned long long)LINUX_CMDLINE_MAX - 1);
	dst = guestmem_ptr(mem, LINUX_CMDLINE_ADDR, len + 1);
	if (!dst)
		return fail(err, errlen, -ENOMEM, "no guest RAM for the command line");
	memcpy(dst, cmd, len + 1);
	put32(bp + HDR_CMD_LINE_PTR, (uint32_t)LINUX_CMDLINE_ADDR);
	put32(bp + BP_EXT_CMD_LINE_PTR, 0);
	return 0;
}

static int linux_build_e820(const struct guestmem *mem, uint8_t *bp, char *err, size_t errlen)
{
	struct e820_entry map[BP_E820_MAX];
	int n = e820_from_guestmem(mem, map, BP_E820_MAX);

	if (n < 0)
		return fail(err, errlen, n, "the memory map has more than %d entries", BP_E820_MAX);
	for (int i = 0; i < n; i++)
		e820_pack(bp + BP_E820_TABLE + i * E820_ENTRY_SIZE, &map[i]);
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	return 0;
}

/* The kernel needs init_size bytes of RAM from run_addr (where it decompresses to, or is loaded at). */
static int linux_check_room(const struct guestmem *mem, const struct linux_hdr *h,
			    char *err, size_t errlen)
{
	if (h->run_addr >= mem->high_ram_top || h->init_size > mem->high_ram_top - h->run_addr ||
	    !guestmem_ptr(mem, LINUX_KERNEL_ADDR, h->run_addr + h->init_size - LINUX_KERNEL_ADDR))
		return fail(err, errlen, -ENOMEM,
			    "the kernel needs %llu MiB of guest RAM (it runs at 0x%llx with init_size 0x%llx); give more --mem",
			    (unsigned long long)((h->run_addr + h->init_size + (1 << 20) - 1) >> 20),
			    (unsigned long long)h->run_addr, (unsigned long long)h->init_size);
	return 0;
}

static void linux_note(const struct linux_args *args, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void linux_note(const struct linux_args *args, const char *fmt, ...)
{
	va_list ap;

	if (!args->note || !args->note_len)
		return;
	va_start(ap, fmt);
	vsnprintf(args->note, args->note_len, fmt, ap);
	va_end(ap);
}

/*
 * Whether ringvm decompresses the payload itself: on success *elf holds
 * the vmlinux (the caller frees it) and vm describes it. Anything short of
 * a well-formed x86-64 ELF (no payload fields, a format without a library,
 * corrupt or truncated data, more than init_size bytes of output) leaves
 * the job to the kernel's own decompressor in the guest, which is what a
 * bzImage was made for; the note says why.
 */
static bool linux_unpack(const struct linux_args *args, const struct linux_hdr *h,
			 struct vmlinux *vm, uint8_t **elf)
{
	const char *guest = "the kernel's own decompressor runs in the guest";
	enum payload_format fmt;
	const uint8_t *payload;
	size_t size;
	char why[160];

	*elf = NULL;
	if (args->entry == LINUX_ENTRY_32) {
		linux_note(args, "%s: the 32-bit entry is the compressed kernel's (the vmlinux has none)", guest);
		return false;
	}
	if (args->decompress == LINUX_DECOMPRESS_GUEST) {
		linux_note(args, "%s: --decompress guest", guest);
		return false;
	}
	if (h->version < LINUX_MIN_VERSION_PAYLOAD || !h->payload_len) {
		linux_note(args, "%s: the setup header (protocol %u.%02u) does not locate the payload",
			   guest, h->version >> 8, h->version & 0xff);
		return false;
	}
	payload = h->pm + h->payload_off;
	fmt = payload_detect(payload, (size_t)h->payload_len);
	/* The decompressed kernel never exceeds init_size: the in-guest decompressor's buffer is that large. */
	if (payload_decompress(fmt, payload, (size_t)h->payload_len, (size_t)h->init_size,
			       elf, &size, why, sizeof(why))) {
		linux_note(args, "%s: %s", guest, why);
		return false;
	}
	if (vmlinux_parse(*elf, size, vm, why, sizeof(why))) {
		linux_note(args, "%s: the %s payload decompresses to %zu bytes, but %s",
			   guest, payload_format_name(fmt), size, why);
		free(*elf);
		*elf = NULL;
		return false;
	}
	linux_note(args, "host-decompressed the %s payload (%llu bytes) to a %zu-byte vmlinux: "
		   "%u segments at 0x%llx-0x%llx, 64-bit entry at 0x%llx",
		   payload_format_name(fmt), (unsigned long long)h->payload_len, size,
		   vm->nr_segments, (unsigned long long)vm->start, (unsigned long long)vm->end - 1,
		   (unsigned long long)vm->entry);
	return true;
}

/* boot_params, command line, e820 map, initrd, and the entry state: the same for every kind of kernel. */
static int linux_finish(const struct linux_args *args, const struct guestmem *mem,
			const struct linux_hdr *h, uint64_t entry_ip,
			struct rv_regs *regs, struct rv_sregs *sregs, char *err, size_t errlen)
{
	uint8_t *bp = guestmem_ptr(mem, LINUX_ZERO_PAGE_ADDR, BP_SIZE);
	int ret;

	if (!bp)
		return fail(err, errlen, -ENOMEM, "no guest RAM for boot_params");
	/*
	 * boot_params: zero, then the setup header as the kernel has it
	 * (boot.rst, 64-bit protocol: "read struct setup_header from the
	 * kernel image from offset 0x01f1 ... 0x0202 + byte at 0x0201"),
	 * then the fields a boot loader writes.
	 */
	memset(bp, 0, BP_SIZE);
	memcpy(bp + HDR_SETUP_SECTS, h->hdr_src + HDR_SETUP_SECTS, h->hdr_end - HDR_SETUP_SECTS);
	bp[BP_SENTINEL] = 0;
	bp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	/* No real-mode setup runs, but a heap end keeps kernels that look at it content. */
	bp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	/* Only a decompressor that randomized the kernel's place may say so (misc.c clears it too). */
	bp[HDR_LOADFLAGS] &= (uint8_t)~KASLR_FLAG;
	put16(bp + HDR_HEAP_END_PTR, 0xfe00);
	put16(bp + HDR_VID_MODE, 0xffff);	/* "normal" */
	put32(bp + HDR_CODE32_START, (uint32_t)LINUX_KERNEL_ADDR);
	put32(bp + HDR_RAMDISK_IMAGE, 0);
	put32(bp + HDR_RAMDISK_SIZE, 0);
	put32(bp + BP_ACPI_RSDP_ADDR, (uint32_t)args->acpi_rsdp_addr);
	put32(bp + BP_ACPI_RSDP_ADDR + 4, (uint32_t)(args->acpi_rsdp_addr >> 32));
	if (h->version >= 0x0207)
		put32(bp + HDR_HARDWARE_SUBARCH, 0);	/* a PC */
	if (h->version >= 0x0209)
		memset(bp + HDR_SETUP_DATA, 0, 8);	/* no setup_data list */

	ret = linux_build_cmdline(args, mem, h, bp, err, errlen);
	if (!ret)
		ret = linux_build_e820(mem, bp, err, errlen);
	if (!ret)
		ret = linux_load_initrd(args, mem, h, bp, err, errlen);
	if (ret)
		return ret;
	return linux_set_entry(args->entry, mem, entry_ip, LINUX_ZERO_PAGE_ADDR,
			       regs, sregs, err, errlen);
}

int linux_load(const struct linux_args *args, const struct guestmem *mem,
	       struct rv_regs *regs, struct rv_sregs *sregs,
	       char *err, size_t errlen)
{
	struct linux_hdr h = { .version = 0 };
	struct vmlinux vm;
	uint8_t *elf, *dst;
	uint64_t entry_ip;
	int ret;

	if (args->entry != LINUX_ENTRY_64 && args->entry != LINUX_ENTRY_32)
		return fail(err, errlen, -EINVAL, "unknown Linux entry kind %d", (int)args->entry);
	ret = linux_check_header(args, &h, err, errlen);
	if (!ret)
		ret = linux_check_room(mem, &h, err, errlen);
	if (ret)
		return ret;

	if (linux_unpack(args, &h, &vm, &elf)) {
		/*
		 * The segments go where the in-guest decompressor would put them
		 * when it does not randomize: output = LOAD_PHYSICAL_ADDR
		 * (pref_address) plus p_paddr - LOAD_PHYSICAL_ADDR, that is
		 * p_paddr. The kernel then runs at its link-time address, so
		 * no relocation applies (misc.c, handle_relocations(): on
		 * x86-64 only a virtual offset needs them), and it is entered
		 * at e_entry, as extract_kernel() returns it.
		 */
		ret = vmlinux_load(&vm, mem, h.run_addr, h.run_addr + h.init_size,
				   "the kernel's init_size area", err, errlen);
		free(elf);
		if (ret)
			return ret;
		entry_ip = vm.entry;
	} else {
		dst = guestmem_ptr(mem, LINUX_KERNEL_ADDR, h.pm_size);
		if (!dst)
			return fail(err, errlen, -ENOMEM, "no guest RAM for the kernel");
		memcpy(dst, h.pm, h.pm_size);
		/* 64-bit: startup_64 is 0x200 past the load address (boot.rst, "64-bit Boot Protocol"). */
		entry_ip = args->entry == LINUX_ENTRY_64 ? LINUX_KERNEL_ADDR + 0x200 : LINUX_KERNEL_ADDR;
	}
	return linux_finish(args, mem, &h, entry_ip, regs, sregs, err, errlen);
}

/*
 * A vmlinux has no setup header: ringvm writes the one a bzImage of
 * protocol 2.15 would carry, so that the kernel reads the usual values
 * (boot.rst: boot_flag, "HdrS", version, loadflags, kernel_alignment,
 * xloadflags, cmdline_size, pref_address and init_size of the image).
 */
static void linux_vmlinux_header(uint8_t *hdr, const struct vmlinux *vm, struct linux_hdr *h)
{
	memset(hdr, 0, BP_HDR_END);
	put16(hdr + HDR_BOOT_FLAG, BOOT_FLAG_MAGIC);
	hdr[HDR_JUMP] = 0xeb;
	hdr[HDR_JUMP + 1] = VMLINUX_HDR_END - HDR_HEADER;
	put32(hdr + HDR_HEADER, HDRS_MAGIC);
	put16(hdr + HDR_VERSION, VMLINUX_HDR_VERSION);
	hdr[HDR_LOADFLAGS] = LOADED_HIGH;
	put32(hdr + HDR_INITRD_ADDR_MAX, VMLINUX_INITRD_MAX);
	put32(hdr + HDR_KERNEL_ALIGNMENT, VMLINUX_ALIGN);
	hdr[HDR_MIN_ALIGNMENT] = 21;		/* 2 MiB; relocatable_kernel stays 0: ringvm loads it where it is linked */
	put16(hdr + HDR_XLOADFLAGS, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	put32(hdr + HDR_CMDLINE_SIZE, LINUX_VMLINUX_CMDLINE_MAX);
	put64(hdr + HDR_PREF_ADDRESS, vm->start);
	put32(hdr + HDR_INIT_SIZE, (uint32_t)(vm->end - vm->start));

	memset(h, 0, sizeof(*h));
	h->hdr_src = hdr;
	h->version = VMLINUX_HDR_VERSION;
	h->hdr_end = VMLINUX_HDR_END;
	h->run_addr = vm->start;
	h->init_size = vm->end - vm->start;
	h->initrd_max = VMLINUX_INITRD_MAX;
	h->cmdline_size = LINUX_VMLINUX_CMDLINE_MAX;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
}

int linux_load_vmlinux(const struct linux_args *args, const struct guestmem *mem,
		       struct rv_regs *regs, struct rv_sregs *sregs,
		       char *err, size_t errlen)
{
	uint8_t hdr[BP_HDR_END];
	struct linux_hdr h;
	struct vmlinux vm;
	int ret;

	if (args->entry != LINUX_ENTRY_64)
		return fail(err, errlen, -EINVAL,
			    "an uncompressed vmlinux has no 32-bit entry (only a bzImage has one)");
	ret = vmlinux_parse(args->kernel, args->kernel_size, &vm, err, errlen);
	if (ret)
		return ret;
	/* The boot GDT, page tables, boot_params and command line live below 1 MiB; the identity map ends at 4 GiB. */
	ret = vmlinux_load(&vm, mem, LINUX_KERNEL_ADDR, FOUR_GIB, "the range ringvm loads kernels in",
			   err, errlen);
	if (ret)
		return ret;
	linux_vmlinux_header(hdr, &vm, &h);
	linux_note(args, "uncompressed vmlinux: %u segments at 0x%llx-0x%llx, 64-bit entry at 0x%llx",
		   vm.nr_segments, (unsigned long long)vm.start, (unsigned long long)vm.end - 1,
		   (unsigned long long)vm.entry);
	return linux_finish(args, mem, &h, vm.entry, regs, sregs, err, errlen);
}
