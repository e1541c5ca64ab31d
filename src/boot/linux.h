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

#define LINUX_MIN_VERSION     0x0202	/* cmd_line_ptr appeared in 2.02 */
#define LINUX_MIN_VERSION_64  0x020c	/* xloadflags (XLF_KERNEL_64) appeared in 2.12 */

struct linux_args {
	const uint8_t *kernel;
	size_t kernel_size;
	const char *cmdline;		/* the whole kernel command line, or NULL */
	const uint8_t *initrd;		/* or NULL */
	size_t initrd_size;
	enum linux_entry entry;
	uint64_t acpi_rsdp_addr;	/* boot_params.acpi_rsdp_addr (zero-page.rst 0x070), or 0 */
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
