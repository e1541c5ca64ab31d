/* Firmware ROM placement as on a PC: the reset vector at 0xFFFFFFF0 and the legacy BIOS alias at 0xE0000-0xFFFFF. */
#include <errno.h>
#include <stdio.h>

#include "boot/bios.h"

#define LOW_ALIAS_MAX (128u << 10)	/* 0xE0000-0xFFFFF */
#define ONE_MIB       0x100000ull
#define FOUR_GIB      0x100000000ull

int bios_layout(size_t size, struct bios_layout *layout, char *err, size_t errlen)
{
	if (size < BIOS_MIN_SIZE || size > BIOS_MAX_SIZE || size % BIOS_MIN_SIZE) {
		snprintf(err, errlen,
			 "firmware image is %zu bytes: it must be a multiple of 64 KiB from 64 KiB to 16 MiB",
			 size);
		return -EINVAL;
	}
	layout->size = size;
	layout->high_gpa = FOUR_GIB - size;
	/*
	 * After reset the CPU fetches from 0xFFFFFFF0 (SDM vol. 3A, 9.1.4);
	 * the first far jump lands in the F segment, where chipsets alias the
	 * top of the flash: so the image's tail is visible below 1 MiB too.
	 */
	layout->low_size = size < LOW_ALIAS_MAX ? size : LOW_ALIAS_MAX;
	layout->low_offset = size - layout->low_size;
	layout->low_gpa = ONE_MIB - layout->low_size;
	return 0;
}
