/* The BIOS e820 memory map (ACPI 6.4, 15.1) built from the guest memory layout, for boot_params. */
#ifndef RV_BOOT_E820_H
#define RV_BOOT_E820_H

#include <stddef.h>
#include <stdint.h>

#include "boot/guestmem.h"

#define E820_RAM      1
#define E820_RESERVED 2

/* One entry as the BIOS returns it and boot_params.e820_table holds it: packed, 20 bytes. */
#define E820_ENTRY_SIZE 20

/*
 * Where a PC's extended BIOS data area starts: the last KiB below 640 KiB.
 * A stock kernel reserves it anyway; the map says so, as SeaBIOS's does.
 */
#define E820_EBDA_START 0x9fc00ull

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

/*
 * Fill out[0..max) from the layout: its regions in order, with the EBDA
 * carved out of the RAM below 1 MiB. Returns the number of entries, or
 * -ENOSPC if max is too small.
 */
int e820_from_guestmem(const struct guestmem *mem, struct e820_entry *out, unsigned max);

/* Store one entry in the packed BIOS layout at p (E820_ENTRY_SIZE bytes). */
void e820_pack(uint8_t *p, const struct e820_entry *e);

#endif
