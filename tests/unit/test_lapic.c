/* Unit tests of src/devices/lapic.c with a fake clock: reset state, priorities, EOI, IPIs, timer modes, x2APIC MSRs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/lapic.h"

static uint64_t fake_ns;
static struct clock clk;
static struct apic_bus bus;
static struct lapic lap[3];
static unsigned notified[3], nmis[3], inits[3], sipis[3];
static uint8_t sipi_vec[3];
static int eoi_vec;

static uint64_t fake_source(void *opaque) { return fake_ns; }
static void on_notify(void *o, unsigned cpu) { notified[cpu]++; }
static void on_nmi(void *o, unsigned cpu) { nmis[cpu]++; }
static void on_init(void *o, unsigned cpu) { inits[cpu]++; }
static void on_sipi(void *o, unsigned cpu, uint8_t v) { sipis[cpu]++; sipi_vec[cpu] = v; }
static void on_eoi(void *o, uint8_t v) { eoi_vec = v; }
static uint64_t tsc_to_ns(void *o, unsigned cpu, uint64_t tsc) { return tsc; }

static int setup(void **state)
{
	const struct apic_ops ops = {
		.notify = on_notify, .nmi = on_nmi, .init = on_init, .sipi = on_sipi,
		.eoi = on_eoi, .tsc_to_ns = tsc_to_ns,
	};

	fake_ns = 1000;
	clock_init(&clk, fake_source, NULL, 0);
	apic_bus_init(&bus, &clk, &ops);
	for (unsigned i = 0; i < 3; i++) {
		lapic_init(&lap[i], &bus, i);
		notified[i] = nmis[i] = inits[i] = sipis[i] = 0;
	}
	eoi_vec = -1;
	return 0;
}

static uint32_t rd(struct lapic *l, unsigned off)
{
	uint64_t d = 0;

	lapic_mmio(l, off, 4, false, &d);
	return (uint32_t)d;
}

static void wr(struct lapic *l, unsigned off, uint32_t v)
{
	uint64_t d = v;

	lapic_mmio(l, off, 4, true, &d);
}

static void enable(struct lapic *l)
{
	wr(l, 0xf0, 0x1ff);
}

static void advance(uint64_t ns)
{
	fake_ns += ns;
	clock_run_due(&clk);
}

static void test_reset_state(void **state)
{
	assert_int_equal(rd(&lap[0], 0x30), 0x00050014);
	assert_int_equal(rd(&lap[0], 0x20), 0);
	assert_int_equal(rd(&lap[2], 0x20), 2u << 24);
	assert_int_equal(rd(&lap[0], 0xf0), 0xff);
	assert_int_equal(rd(&lap[0], 0xe0), 0xffffffffu);
	assert_int_equal(rd(&lap[0], 0x320), 0x10000);
	assert_int_equal(rd(&lap[0], 0x350), 0x700);		/* BSP: LINT0 ExtINT (virtual wire) */
	assert_int_equal(rd(&lap[1], 0x350), 0x10000);
	assert_true(lapic_accepts_pic(&lap[0]));
	assert_false(lapic_accepts_pic(&lap[1]));
	assert_int_equal(lap[0].apic_base, 0xfee00900);
	assert_int_equal(lap[1].apic_base, 0xfee00800);
}

static void test_priority_and_eoi(void **state)
{
	enable(&lap[0]);
	wr(&lap[0], 0x300, 0x40035);		/* self, fixed, 0x35 */
	wr(&lap[0], 0x300, 0x40052);
	assert_true(lapic_pending(&lap[0]));
	assert_true(notified[0] >= 1);
	assert_int_equal(rd(&lap[0], 0x200 + 0x10 * (0x52 / 32)) & (1u << (0x52 & 31)), 1u << (0x52 & 31));
	assert_int_equal(lapic_ack(&lap[0]), 0x52);
	assert_int_equal(rd(&lap[0], 0xa0), 0x50);		/* PPR from ISR */
	assert_false(lapic_pending(&lap[0]));			/* 0x35: class 3 below 5 */
	wr(&lap[0], 0xb0, 0);
	assert_int_equal(eoi_vec, -1);				/* edge: no EOI broadcast */
	assert_int_equal(rd(&lap[0], 0xa0), 0);
	wr(&lap[0], 0x80, 0x40);				/* TPR class 4 blocks 0x35 */
	assert_false(lapic_pending(&lap[0]));
	assert_int_equal(lapic_cr8(&lap[0]), 4);
	lapic_set_cr8(&lap[0], 2);
	assert_int_equal(rd(&lap[0], 0x80), 0x20);
	assert_true(lapic_pending(&lap[0]));
	assert_int_equal(lapic_ack(&lap[0]), 0x35);
	assert_int_equal(lapic_ack(&lap[0]), -1);
}

static void test_level_eoi_broadcast(void **state)
{
	enable(&lap[1]);
	apic_bus_deliver(&bus, 1, false, APIC_DM_FIXED, 0x60, true);
	assert_int_equal(lapic_ack(&lap[1]), 0x60);
	assert_int_not_equal(rd(&lap[1], 0x180 + 0x10 * 3) & 1, 0);	/* TMR bit of 0x60 */
	wr(&lap[1], 0xb0, 0);
	assert_int_equal(eoi_vec, 0x60);
}

static void test_disabled_holds_delivery(void **state)
{
	apic_bus_deliver(&bus, 0, false, APIC_DM_FIXED, 0x70, false);
	assert_false(lapic_pending(&lap[0]));		/* software-disabled: held in IRR */
	enable(&lap[0]);
	assert_true(lapic_pending(&lap[0]));
	wr(&lap[0], 0xf0, 0xff);			/* disabling masks every LVT */
	wr(&lap[0], 0x320, 0x40);
	assert_int_equal(rd(&lap[0], 0x320), 0x10040);
}

static void test_illegal_vector_esr(void **state)
{
	enable(&lap[0]);
	wr(&lap[0], 0x300, 0x40005);			/* fixed, vector 5 */
	wr(&lap[0], 0x280, 0);
	assert_int_equal(rd(&lap[0], 0x280), 1u << 5);	/* send illegal vector */
	wr(&lap[0], 0x280, 0);
	assert_int_equal(rd(&lap[0], 0x280), 0);
}

static void test_timer_oneshot(void **state)
{
	enable(&lap[0]);
	wr(&lap[0], 0x3e0, 0x0);			/* divide by 2 */
	wr(&lap[0], 0x320, 0x41);
	wr(&lap[0], 0x380, 1000);			/* 2000 ns */
	assert_true(lapic_timer_armed(&lap[0]));
	advance(1000);
	assert_int_equal(rd(&lap[0], 0x390), 500);
	assert_false(lapic_pending(&lap[0]));
	advance(1000);
	assert_int_equal(rd(&lap[0], 0x390), 0);
	assert_int_equal(lapic_ack(&lap[0]), 0x41);
	advance(10000);
	assert_false(lapic_pending(&lap[0]));		/* once only */
}

static void test_timer_periodic_and_dcr(void **state)
{
	unsigned n = 0;

	enable(&lap[0]);
	wr(&lap[0], 0x3e0, 0xb);			/* divide by 1 */
	wr(&lap[0], 0x320, (1u << 17) | 0x42);
	wr(&lap[0], 0x380, 100);
	for (int i = 0; i < 5; i++) {
		advance(100);
		if (lapic_ack(&lap[0]) == 0x42) {
			n++;
			wr(&lap[0], 0xb0, 0);
		}
	}
	assert_int_equal(n, 5);
	advance(30);
	assert_int_equal(rd(&lap[0], 0x390), 70);
	wr(&lap[0], 0x3e0, 0x3);			/* divide by 16: the count stays, the rate drops */
	assert_int_equal(rd(&lap[0], 0x390), 70);
	advance(160);
	assert_int_equal(rd(&lap[0], 0x390), 60);
	wr(&lap[0], 0x320, 0x10000 | (1u << 17) | 0x42);	/* masked: counts, no interrupt */
	advance(100000);
	assert_false(lapic_pending(&lap[0]));
	assert_false(lapic_timer_armed(&lap[0]));
}

static void test_timer_tsc_deadline(void **state)
{
	uint64_t v;

	enable(&lap[0]);
	wr(&lap[0], 0x320, (2u << 17) | 0x43);
	/* the fake tsc_to_ns maps TSC = guest ns */
	assert_true(lapic_msr_write(&lap[0], 0x6e0, clock_now(&clk) + 500));
	assert_true(lapic_msr_read(&lap[0], 0x6e0, &v));
	assert_int_equal(v, clock_now(&clk) + 500);
	advance(499);
	assert_false(lapic_pending(&lap[0]));
	advance(1);
	assert_int_equal(lapic_ack(&lap[0]), 0x43);
	assert_true(lapic_msr_read(&lap[0], 0x6e0, &v));
	assert_int_equal(v, 0);
}

static void test_ipis(void **state)
{
	enable(&lap[1]);
	enable(&lap[2]);
	wr(&lap[0], 0x310, 1u << 24);
	wr(&lap[0], 0x300, 0x4500);			/* INIT, assert, physical 1 */
	assert_int_equal(inits[1], 1);
	assert_int_equal(inits[2], 0);
	wr(&lap[0], 0x300, 0x8500);			/* INIT de-assert: nothing */
	assert_int_equal(inits[1], 1);
	wr(&lap[0], 0x300, 0x4608);			/* SIPI vector 8 */
	assert_int_equal(sipis[1], 1);
	assert_int_equal(sipi_vec[1], 8);
	wr(&lap[0], 0x300, 0xc0000 | 0x400);		/* NMI to all but self */
	assert_int_equal(nmis[0], 0);
	assert_int_equal(nmis[1], 1);
	assert_int_equal(nmis[2], 1);
	enable(&lap[1]);			/* the INIT above software-disabled it */
	/* logical flat: LDR bit 1 on cpu 2 */
	wr(&lap[2], 0xd0, 2u << 24);
	wr(&lap[0], 0x310, 2u << 24);
	wr(&lap[0], 0x300, 0x800 | 0x66);		/* fixed, logical, 0x66 */
	assert_int_equal(lapic_ack(&lap[2]), 0x66);
	assert_int_equal(lapic_ack(&lap[1]), -1);
	/* cluster model: cluster 1, member bit 0 */
	wr(&lap[1], 0xe0, 0x0fffffff);
	wr(&lap[1], 0xd0, 0x11u << 24);
	wr(&lap[0], 0x310, 0x13u << 24);
	wr(&lap[0], 0x300, 0x800 | 0x67);
	assert_int_equal(lapic_ack(&lap[1]), 0x67);
	/* broadcast 0xFF, lowest priority: the first match only */
	wr(&lap[0], 0x310, 0xffu << 24);
	wr(&lap[0], 0x300, 0x100 | 0x68);
	assert_int_not_equal(lap[0].irr[0x68 / 32] & (1u << (0x68 & 31)), 0);
	assert_int_equal(lap[1].irr[0x68 / 32] & (1u << (0x68 & 31)), 0);
	assert_int_equal(lap[2].irr[0x68 / 32] & (1u << (0x68 & 31)), 0);
	/* INIT resets the target's APIC state but keeps its ID */
	wr(&lap[0], 0x310, 2u << 24);
	wr(&lap[0], 0x300, 0x4500);
	assert_int_equal(rd(&lap[2], 0xf0), 0xff);
	assert_int_equal(rd(&lap[2], 0x20), 2u << 24);
}

static void test_x2apic(void **state)
{
	uint64_t v;

	assert_false(lapic_msr_read(&lap[1], 0x802, &v));	/* xAPIC mode: no MSRs */
	assert_false(lapic_set_base(&lap[1], 0xfee00400));	/* x2APIC without enable */
	assert_false(lapic_set_base(&lap[1], 0xfed00800));	/* relocation refused */
	assert_true(lapic_set_base(&lap[1], 0xfee00c00));
	assert_true(lapic_set_base(&lap[0], 0xfee00c00));
	assert_true(lapic_msr_read(&lap[1], 0x802, &v));
	assert_int_equal(v, 1);
	assert_true(lapic_msr_read(&lap[1], 0x80d, &v));
	assert_int_equal(v, (0u << 16) | (1u << 1));
	assert_false(lapic_msr_read(&lap[1], 0x80e, &v));	/* no DFR */
	assert_false(lapic_msr_write(&lap[1], 0x802, 5));	/* ID read-only */
	assert_true(lapic_msr_write(&lap[1], 0x80f, 0x1ff));
	assert_true(lapic_msr_write(&lap[0], 0x80f, 0x1ff));
	assert_true(lapic_msr_write(&lap[0], 0x830, (1ull << 32) | 0x71));	/* one 64-bit ICR write */
	assert_int_equal(lapic_ack(&lap[1]), 0x71);
	assert_true(lapic_msr_write(&lap[1], 0x80b, 0));	/* EOI */
	assert_true(lapic_msr_write(&lap[1], 0x83f, 0x72));	/* SELF IPI */
	assert_int_equal(lapic_ack(&lap[1]), 0x72);
	assert_false(lapic_msr_write(&lap[1], 0x80b, 1));	/* EOI takes only 0 */
	assert_true(lapic_msr_write(&lap[1], 0x80b, 0));
	v = 0;
	lapic_mmio(&lap[1], 0x20, 4, false, &v);
	assert_int_equal(v, 0xffffffffu);			/* MMIO off in x2APIC mode */
	assert_false(lapic_set_base(&lap[1], 0xfee00800));	/* x2APIC -> xAPIC directly */
	assert_true(lapic_set_base(&lap[1], 0xfee00000));
	assert_true(lapic_set_base(&lap[1], 0xfee00800));
	assert_int_equal(rd(&lap[1], 0x20), 1u << 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reset_state, setup),
		cmocka_unit_test_setup(test_priority_and_eoi, setup),
		cmocka_unit_test_setup(test_level_eoi_broadcast, setup),
		cmocka_unit_test_setup(test_disabled_holds_delivery, setup),
		cmocka_unit_test_setup(test_illegal_vector_esr, setup),
		cmocka_unit_test_setup(test_timer_oneshot, setup),
		cmocka_unit_test_setup(test_timer_periodic_and_dcr, setup),
		cmocka_unit_test_setup(test_timer_tsc_deadline, setup),
		cmocka_unit_test_setup(test_ipis, setup),
		cmocka_unit_test_setup(test_x2apic, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
