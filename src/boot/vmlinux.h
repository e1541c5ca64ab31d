/* An uncompressed x86-64 Linux kernel as an ELF file (vmlinux): recognising it, its segments and entry, loading them. */
#ifndef RV_BOOT_VMLINUX_H
#define RV_BOOT_VMLINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/guestmem.h"

#define VMLINUX_MAX_SEGMENTS 16	/* x86-64 vmlinux has 4 PT_LOADs (text, data, percpu, init+bss) */

struct vmlinux_segment {
	uint64_t offset;	/* in the file */
	uint64_t paddr;		/* where it goes: the link-time physical address */
	uint64_t filesz, memsz;	/* memsz > filesz: zeros follow (bss) */
};

/* What vmlinux_parse() learns, every field checked against the file. */
struct vmlinux {
	const uint8_t *image;
	size_t size;
	uint64_t entry;		/* physical address of the 64-bit entry (startup_64) */
	uint64_t start, end;	/* lowest segment address, end of the highest segment */
	unsigned nr_segments;
	struct vmlinux_segment seg[VMLINUX_MAX_SEGMENTS];
};

/*
 * Whether the image is a Linux vmlinux: an ELF64 little-endian x86-64
 * executable with a PT_NOTE segment holding a note of owner "Linux", or
 * Xen's GUEST_OS note saying "linux" (every x86-64 kernel has one of
 * them). A multiboot header is not looked for here: the caller, which
 * knows both formats, decides which wins.
 */
bool vmlinux_probe(const uint8_t *image, size_t size);

/*
 * Check the ELF header and program headers of a vmlinux and collect its
 * PT_LOAD segments (non-empty, inside the file, not overlapping one another,
 * at most VMLINUX_MAX_SEGMENTS) and its entry: e_entry, a physical address
 * (the kernel links it as phys_startup_64), or a virtual one inside a
 * segment, translated. The entry must lie in a loaded segment. Trailing
 * bytes (the relocation table a bzImage's payload carries) are ignored.
 * Returns 0, or -ENOEXEC with a one-line reason in err.
 */
int vmlinux_parse(const uint8_t *image, size_t size, struct vmlinux *vm,
		  char *err, size_t errlen);

/*
 * Copy the segments to their physical addresses, zeroing each one's bss.
 * Every segment must lie in [lo, hi) (area names that range in the
 * message) and in guest RAM: -ENOMEM with a one-line reason otherwise,
 * before anything is written.
 */
int vmlinux_load(const struct vmlinux *vm, const struct guestmem *mem,
		 uint64_t lo, uint64_t hi, const char *area,
		 char *err, size_t errlen);

#endif
