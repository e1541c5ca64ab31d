/* The I/O APIC at 0xFEC00000 (82093AA): 24 pins, redirection table, messages to the local APICs. */
#ifndef RV_DEVICES_IOAPIC_H
#define RV_DEVICES_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/lapic.h"

#define IOAPIC_BASE 0xfec00000ull
#define IOAPIC_SIZE 0x1000
#define IOAPIC_PINS 24

struct ioapic {
	struct apic_bus *bus;
	uint32_t id;			/* bits 27:24 of the ID register */
	uint8_t sel;			/* IOREGSEL */
	uint32_t lines;			/* input levels (asserted = 1, whatever the polarity) */
	uint64_t redir[IOAPIC_PINS];
};

void ioapic_init(struct ioapic *io, struct apic_bus *bus);
void ioapic_reset(struct ioapic *io);
/* An input pin (GSI 0-23); an irq_line `set` callback with opaque = the ioapic. */
void ioapic_set_irq(void *opaque, int pin, bool level);
/* EOI broadcast for `vector`: clear remote IRR, re-deliver a still-asserted level input. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);
/* MMIO: IOREGSEL at 0x00, IOWIN at 0x10; a bus callback with opaque = the ioapic. */
void ioapic_mmio(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data);
/* Whether some pin is unmasked (so a device could still interrupt through it). */
bool ioapic_any_unmasked(const struct ioapic *io);

#endif
