/* Multiboot v1 loader (Multiboot Specification 0.6.96): ELF or a.out-kludge kernels, modules, info block, entry state. */
#ifndef RV_BOOT_MULTIBOOT_H
#define RV_BOOT_MULTIBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/guestmem.h"
#include "ringvm/regs.h"

#define MULTIBOOT_HEADER_MAGIC     0x1badb002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2badb002u
#define MULTIBOOT_SEARCH           8192	/* the header lies in the first 8 KiB */

struct multiboot_args {
	const uint8_t *kernel;
	size_t kernel_size;
	const char *kernel_path;	/* shown to the guest as the command line's first word */
	const char *append;		/* rest of the command line, or NULL */
	const uint8_t *initrd;		/* module 0, or NULL */
	size_t initrd_size;
	const char *initrd_path;	/* module 0's string */
};

/* Whether the image carries a multiboot v1 header (magic and checksum) where the spec says. */
bool multiboot_probe(const uint8_t *image, size_t size);

/*
 * Load the kernel (and module) into guest RAM described by `mem`, build the
 * multiboot information structure, and set the entry state into *regs and
 * *sregs (which the caller fills with the vCPU's reset state first).
 * Returns 0, -ENOEXEC if there is no valid multiboot header, or another
 * -errno with a one-line reason in err[errlen].
 */
int multiboot_load(const struct multiboot_args *args, const struct guestmem *mem,
		   struct rv_regs *regs, struct rv_sregs *sregs,
		   char *err, size_t errlen);

#endif
