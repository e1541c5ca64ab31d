/* Firmware ROM placement: the image ends at 4 GiB, its last 128 KiB also sit below 1 MiB. */
#ifndef RV_BOOT_BIOS_H
#define RV_BOOT_BIOS_H

#include <stddef.h>
#include <stdint.h>

#define BIOS_MIN_SIZE (64u << 10)
#define BIOS_MAX_SIZE (16u << 20)

struct bios_layout {
	uint64_t high_gpa;	/* the whole image at [high_gpa, 4 GiB) */
	uint64_t size;
	uint64_t low_gpa;	/* the alias below 1 MiB: [low_gpa, 1 MiB) */
	uint64_t low_offset;	/* ...showing the image from this offset */
	uint64_t low_size;
};

/*
 * Check a ROM image's size (a multiple of 64 KiB, 64 KiB to 16 MiB) and
 * compute where it appears. Returns 0 or -EINVAL with a reason in err.
 */
int bios_layout(size_t size, struct bios_layout *layout, char *err, size_t errlen);

#endif
