/* Linux x86 boot protocol loader (Documentation/x86/boot.rst): bzImage, initrd, boot_params, entry state. */
#ifndef RV_BOOT_LINUX_H
#define RV_BOOT_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/guestmem.h"
#include "ringvm/regs.h"

/* How the kernel is entered (boot.rst, "64-bit Boot Protocol" / "32-bit Boot Protocol"). */
enum linux_entry {
	LINUX_ENTRY_64,		/* startup_64: long mode, identity page tables built by ringvm */
	LINUX_ENTRY_32,		/* code32_start: flat protected mode, paging off */
};

/* Where the loader puts its things in guest RAM (all below 640 KiB, and the kernel at 1 MiB). */
#define LINUX_GDT_ADDR        0x1000ull	/* boot GDT: __BOOT_CS 0x10, __BOOT_DS 0x18 */
#define LINUX_STACK_TOP       0x7000ull	/* initial RSP (the kernel sets its own at once) */
#define LINUX_ZERO_PAGE_ADDR  0x7000ull	/* struct boot_params, 4 KiB */
#define LINUX_PML4_ADDR       0x9000ull	/* identity page tables: PML4, PDPT, 4 PDs */
#define LINUX_CMDLINE_ADDR    0x20000ull
#define LINUX_CMDLINE_MAX     0x10000ull	/* room reserved for the command line */
#define LINUX_KERNEL_ADDR     0x100000ull	/* protected-mode kernel (code32_start) */

/* Who decompresses a bzImage's payload. */
enum linux_decompress {
	LINUX_DECOMPRESS_HOST,	/* ringvm, with the format's library; enter the vmlinux at its 64-bit entry */
	LINUX_DECOMPRESS_GUEST,	/* the kernel's own decompressor, in the guest */
};

#define LINUX_MIN_VERSION     0x0202	/* cmd_line_ptr appeared in 2.02 */
#define LINUX_MIN_VERSION_PAYLOAD 0x0208	/* payload_offset/payload_length appeared in 2.08 */
#define LINUX_VMLINUX_CMDLINE_MAX 2047	/* x86's COMMAND_LINE_SIZE is 2048 with the NUL */
#define LINUX_MIN_VERSION_64  0x020c	/* xloadflags (XLF_KERNEL_64) appeared in 2.12 */

struct linux_args {
	const uint8_t *kernel;
	size_t kernel_size;
	const char *cmdline;		/* the whole kernel command line, or NULL */
	const uint8_t *initrd;		/* or NULL */
	size_t initrd_size;
	enum linux_entry entry;
	enum linux_decompress decompress;	/* bzImage only; the 32-bit entry always decompresses in the guest */
	uint64_t acpi_rsdp_addr;	/* boot_params.acpi_rsdp_addr (zero-page.rst 0x070), or 0 */
	/*
	 * Out, may be NULL: one line saying how the kernel was loaded (host
	 * decompression with format and sizes, or the guest's decompressor
	 * and why), for --verbose.
	 */
	char *note;
	size_t note_len;
};

/* Whether the image is a Linux boot-protocol image: boot_flag 0xAA55 and "HdrS" at 0x202. */
bool linux_probe(const uint8_t *image, size_t size);

/*
 * Check the setup header, load the protected-mode kernel and the initrd,
 * build boot_params (e820 map, command line, initrd) and set the entry
 * state into *regs and *sregs (which the caller fills with the vCPU's reset
 * state first). Every header field is untrusted. Returns 0, -ENOEXEC when
 * the image is not a kernel ringvm can boot, -ENOMEM when something does not
 * fit in guest RAM, or another -errno, with a one-line reason in err.
 */
int linux_load(const struct linux_args *args, const struct guestmem *mem,
	       struct rv_regs *regs, struct rv_sregs *sregs,
	       char *err, size_t errlen);

/*
 * The same for an uncompressed vmlinux (ELF, see boot/vmlinux.h): its
 * segments at their physical addresses, then boot_params as for a
 * bzImage, with a setup header made by ringvm (protocol 2.15), and the
 * 64-bit entry. args->entry must be LINUX_ENTRY_64 and decompress is
 * ignored. Errors as linux_load().
 */
int linux_load_vmlinux(const struct linux_args *args, const struct guestmem *mem,
		       struct rv_regs *regs, struct rv_sregs *sregs,
		       char *err, size_t errlen);

/*
 * Entry state (linux_entry.c): build the GDT (and for the 64-bit entry the
 * identity page tables for the first 4 GiB) in guest RAM and set the
 * registers. entry_ip is the physical address to start at; boot_params the
 * zero page's address.
 */
int linux_set_entry(enum linux_entry entry, const struct guestmem *mem,
		    uint64_t entry_ip, uint64_t boot_params,
		    struct rv_regs *regs, struct rv_sregs *sregs,
		    char *err, size_t errlen);

#endif
