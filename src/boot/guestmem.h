/* The guest-physical memory layout as loaders see it: RAM, ROM and reserved ranges (the future e820 map). */
#ifndef RV_BOOT_GUESTMEM_H
#define RV_BOOT_GUESTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Region types, numbered as the e820 / multiboot mmap types (ACPI 6.4, 15.1). */
enum guestmem_type {
	GUESTMEM_RAM = 1,	/* usable RAM */
	GUESTMEM_RESERVED = 2,	/* not RAM: ROM, MMIO, the legacy VGA/BIOS hole */
};

struct guestmem_region {
	uint64_t gpa, size;
	enum guestmem_type type;
	uint8_t *host;		/* host memory behind it (RAM only), else NULL */
};

#define GUESTMEM_MAX_REGIONS 16

/* The layout of one VM, sorted by address, regions disjoint. */
struct guestmem {
	unsigned count;
	struct guestmem_region region[GUESTMEM_MAX_REGIONS];
	uint64_t low_ram_top;	/* end of RAM below 1 MiB (640 KiB on a PC) */
	uint64_t high_ram_top;	/* end of the RAM that starts at 1 MiB, below the 4 GiB hole */
};

/* Append a region (keeps the table sorted); -EINVAL if it overlaps, -ENOSPC if full. */
int guestmem_add(struct guestmem *mem, uint64_t gpa, uint64_t size,
		 enum guestmem_type type, uint8_t *host);

/*
 * Host pointer for guest RAM [gpa, gpa + len) when the whole range lies in
 * one RAM region, else NULL. Overflow-safe: loaders pass untrusted values.
 */
uint8_t *guestmem_ptr(const struct guestmem *mem, uint64_t gpa, uint64_t len);

/* The guest-physical address of a host pointer into guest RAM; false if it is not in RAM. */
bool guestmem_gpa(const struct guestmem *mem, const void *host, uint64_t *gpa);

#endif
