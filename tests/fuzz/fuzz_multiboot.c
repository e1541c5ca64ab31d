/*
 * Fuzz target for the multiboot loader: the input is the kernel image (the
 * loader's untrusted input). Whatever the header and ELF fields claim, the
 * loader must only write inside guest RAM and either load or refuse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/multiboot.h"

#define LOW_RAM  (640u << 10)
#define HIGH_RAM (8u << 20)	/* RAM from 1 MiB to 9 MiB */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *low, *high;
	static const uint8_t initrd[] = "module contents";
	struct guestmem mem = { 0 };
	struct rv_regs regs = { 0 };
	struct rv_sregs sregs = { 0 };
	char err[256];

	if (!low) {
		low = malloc(LOW_RAM);
		high = malloc(HIGH_RAM);
		if (!low || !high)
			abort();
	}
	if (guestmem_add(&mem, 0, LOW_RAM, GUESTMEM_RAM, low) ||
	    guestmem_add(&mem, LOW_RAM, (1u << 20) - LOW_RAM, GUESTMEM_RESERVED, NULL) ||
	    guestmem_add(&mem, 1u << 20, HIGH_RAM, GUESTMEM_RAM, high))
		abort();
	mem.low_ram_top = LOW_RAM;
	mem.high_ram_top = (1u << 20) + HIGH_RAM;

	struct multiboot_args args = {
		.kernel = data, .kernel_size = size, .kernel_path = "/boot/kernel",
		.append = "console=ttyS0", .initrd = initrd, .initrd_size = sizeof(initrd),
		.initrd_path = "/boot/initrd",
	};
	multiboot_probe(data, size);
	multiboot_load(&args, &mem, &regs, &sregs, err, sizeof(err));
	return 0;
}
