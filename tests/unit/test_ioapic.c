/* Unit tests of src/devices/ioapic.c: registers, edge and level pins, masking, remote IRR and the EOI broadcast. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/ioapic.h"

static uint64_t fake_ns;
static struct clock clk;
static struct apic_bus bus;
static struct lapic lap[2];
static struct ioapic io;
static unsigned nmis, notified;

static uint64_t fake_source(void *opaque) { return fake_ns; }
static void on_nmi(void *o, unsigned cpu) { nmis++; }
static void on_notify(void *o, unsigned cpu) { notified++; }
static void on_eoi(void *o, uint8_t v) { ioapic_eoi(&io, v); }

static int setup(void **state)
{
	const struct apic_ops ops = { .notify = on_notify, .nmi = on_nmi, .eoi = on_eoi };
	uint64_t svr = 0x1ff;

	fake_ns = 0;
	clock_init(&clk, fake_source, NULL, 0);
	apic_bus_init(&bus, &clk, &ops);
	for (unsigned i = 0; i < 2; i++) {
		lapic_init(&lap[i], &bus, i);
		lapic_mmio(&lap[i], 0xf0, 4, true, &svr);
	}
	ioapic_init(&io, &bus);
	nmis = notified = 0;
	return 0;
}

static uint32_t reg_read(unsigned sel)
{
	uint64_t d = sel;

	ioapic_mmio(&io, 0x00, 4, true, &d);
	ioapic_mmio(&io, 0x10, 4, false, &d);
	return (uint32_t)d;
}

static void reg_write(unsigned sel, uint32_t v)
{
	uint64_t d = sel;

	ioapic_mmio(&io, 0x00, 4, true, &d);
	d = v;
	ioapic_mmio(&io, 0x10, 4, true, &d);
}

static void route(int pin, uint32_t lo, uint8_t dest)
{
	reg_write(0x10 + 2 * pin + 1, (uint32_t)dest << 24);
	reg_write(0x10 + 2 * pin, lo);
}

static void eoi(struct lapic *l)
{
	uint64_t d = 0;

	lapic_mmio(l, 0xb0, 4, true, &d);
}

static void test_registers(void **state)
{
	assert_int_equal(reg_read(1), 0x170011);		/* 24 pins, version 0x11 */
	reg_write(0, 0x05000000);
	assert_int_equal(reg_read(0), 0x05000000);
	assert_int_equal(reg_read(0x10), 0x10000);		/* masked after reset */
	route(3, 0x1a000 | 0x35, 0xff);				/* level, low, masked: read-back */
	assert_int_equal(reg_read(0x10 + 6), 0x1a035);
	assert_int_equal(reg_read(0x10 + 7), 0xff000000);
	assert_false(ioapic_any_unmasked(&io));
	route(3, 0x35, 0);
	assert_true(ioapic_any_unmasked(&io));
}

static void test_edge(void **state)
{
	route(2, 0x41, 1);					/* edge, fixed, physical 1 */
	ioapic_set_irq(&io, 2, true);
	assert_int_equal(lapic_ack(&lap[1]), 0x41);
	ioapic_set_irq(&io, 2, true);				/* no new edge */
	eoi(&lap[1]);
	assert_int_equal(lapic_ack(&lap[1]), -1);
	ioapic_set_irq(&io, 2, false);
	ioapic_set_irq(&io, 2, true);
	assert_int_equal(lapic_ack(&lap[1]), 0x41);
	eoi(&lap[1]);
	/* masked: nothing */
	route(2, 0x10000 | 0x41, 1);
	ioapic_set_irq(&io, 2, false);
	ioapic_set_irq(&io, 2, true);
	assert_int_equal(lapic_ack(&lap[1]), -1);
	/* logical destination, NMI delivery */
	route(4, 0x800 | 0x400, 0xff);
	ioapic_set_irq(&io, 4, true);
	assert_int_equal(nmis, 2);
}

static void test_level_remote_irr(void **state)
{
	route(9, 0x8000 | 0x59, 0);				/* level, fixed, to 0 */
	ioapic_set_irq(&io, 9, true);
	assert_int_not_equal(reg_read(0x10 + 18) & 0x4000, 0);	/* remote IRR */
	assert_int_equal(lapic_ack(&lap[0]), 0x59);
	eoi(&lap[0]);						/* still asserted: delivered again */
	assert_int_equal(lapic_ack(&lap[0]), 0x59);
	ioapic_set_irq(&io, 9, false);
	eoi(&lap[0]);
	assert_int_equal(reg_read(0x10 + 18) & 0x4000, 0);
	assert_int_equal(lapic_ack(&lap[0]), -1);
	/* unmasking an asserted level pin delivers at once */
	route(10, 0x10000 | 0x8000 | 0x5a, 0);
	ioapic_set_irq(&io, 10, true);
	assert_int_equal(lapic_ack(&lap[0]), -1);
	route(10, 0x8000 | 0x5a, 0);
	assert_int_equal(lapic_ack(&lap[0]), 0x5a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_registers, setup),
		cmocka_unit_test_setup(test_edge, setup),
		cmocka_unit_test_setup(test_level_remote_irr, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
