/* I/O APIC (Intel 82093AA data sheet; SDM vol. 3A 11.6 for the messages): registers, edge and level pins, remote IRR. */
#include <string.h>

#include "devices/ioapic.h"

#define IOAPIC_VERSION   0x11u		/* 82093AA */
#define RTE_MASKED       (1ull << 16)
#define RTE_LEVEL        (1ull << 15)
#define RTE_REMOTE_IRR   (1ull << 14)
#define RTE_POLARITY_LOW (1ull << 13)
#define RTE_STATUS       (1ull << 12)
#define RTE_LOGICAL      (1ull << 11)
/* Writable: vector, delivery mode, dest mode, polarity, trigger, mask, destination (63:56). */
#define RTE_WRITABLE     (0xff00000000000000ull | 0xfffull | RTE_POLARITY_LOW | RTE_LEVEL | RTE_MASKED)

void ioapic_reset(struct ioapic *io)
{
	io->id = 0;
	io->sel = 0;
	for (int i = 0; i < IOAPIC_PINS; i++)
		io->redir[i] = RTE_MASKED;
}

void ioapic_init(struct ioapic *io, struct apic_bus *bus)
{
	memset(io, 0, sizeof(*io));
	io->bus = bus;
	ioapic_reset(io);
}

/* Send pin's message if it is asserted, unmasked and (for level) not already in service. */
static void ioapic_service(struct ioapic *io, int pin)
{
	uint64_t e = io->redir[pin];
	enum apic_dm dm = (e >> 8) & 7;

	if ((e & RTE_MASKED) || !(io->lines & (1u << pin)))
		return;
	if (e & RTE_LEVEL) {
		if (e & RTE_REMOTE_IRR)
			return;
		/* remote IRR is set when a LAPIC accepts a level interrupt; ExtINT/NMI have no EOI */
		if (dm == APIC_DM_FIXED || dm == APIC_DM_LOWEST)
			io->redir[pin] |= RTE_REMOTE_IRR;
	}
	apic_bus_deliver(io->bus, (uint32_t)(e >> 56), e & RTE_LOGICAL, dm, (uint8_t)e,
			 (e & RTE_LEVEL) != 0);
}

void ioapic_set_irq(void *opaque, int pin, bool level)
{
	struct ioapic *io = opaque;
	uint32_t bit = 1u << pin;
	bool was;

	if (pin < 0 || pin >= IOAPIC_PINS)
		return;
	was = io->lines & bit;
	if (level)
		io->lines |= bit;
	else
		io->lines &= ~bit;
	/* edge: a rising edge is one interrupt; level: while asserted (remote IRR gates repeats) */
	if (level && (!was || (io->redir[pin] & RTE_LEVEL)))
		ioapic_service(io, pin);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (int i = 0; i < IOAPIC_PINS; i++) {
		uint64_t e = io->redir[i];

		if ((e & RTE_LEVEL) && (e & RTE_REMOTE_IRR) && (uint8_t)e == vector) {
			io->redir[i] &= ~RTE_REMOTE_IRR;
			ioapic_service(io, i);
		}
	}
}

bool ioapic_any_unmasked(const struct ioapic *io)
{
	for (int i = 0; i < IOAPIC_PINS; i++)
		if (!(io->redir[i] & RTE_MASKED))
			return true;
	return false;
}

static uint32_t ioapic_read_reg(const struct ioapic *io)
{
	unsigned sel = io->sel;

	switch (sel) {
	case 0x00: return io->id << 24;
	case 0x01: return IOAPIC_VERSION | ((IOAPIC_PINS - 1u) << 16);
	case 0x02: return io->id << 24;		/* arbitration ID */
	default:
		if (sel >= 0x10 && sel < 0x10 + 2 * IOAPIC_PINS) {
			uint64_t e = io->redir[(sel - 0x10) >> 1];

			return (sel & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
		}
		return 0;
	}
}

static void ioapic_write_reg(struct ioapic *io, uint32_t v)
{
	unsigned sel = io->sel;
	int pin;
	uint64_t e;

	if (sel == 0x00) {
		io->id = (v >> 24) & 0xf;
		return;
	}
	if (sel < 0x10 || sel >= 0x10 + 2 * IOAPIC_PINS)
		return;
	pin = (int)(sel - 0x10) >> 1;
	e = io->redir[pin];
	if (sel & 1)
		e = (e & 0xffffffffull) | ((uint64_t)v << 32);
	else
		e = (e & ~0xffffffffull) | v;
	io->redir[pin] = (e & RTE_WRITABLE) | (io->redir[pin] & RTE_REMOTE_IRR);
	/* switching to edge drops a stale remote IRR */
	if (!(io->redir[pin] & RTE_LEVEL))
		io->redir[pin] &= ~RTE_REMOTE_IRR;
	/* an unmasked level input that is still asserted interrupts now */
	if (io->redir[pin] & RTE_LEVEL)
		ioapic_service(io, pin);
}

void ioapic_mmio(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	struct ioapic *io = opaque;

	switch (offset) {
	case 0x00:
		if (is_write)
			io->sel = (uint8_t)*data;
		else
			*data = io->sel;
		break;
	case 0x10:
		if (is_write)
			ioapic_write_reg(io, (uint32_t)*data);
		else
			*data = ioapic_read_reg(io);
		break;
	default:
		if (!is_write)
			*data = 0;
		break;
	}
}
