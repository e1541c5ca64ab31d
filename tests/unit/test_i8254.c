/* Unit tests of src/devices/i8254.c with a fake clock: modes, latches, read-back, BCD, gates, port 0x61, IRQ 0 timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/i8254.h"

static uint64_t fake_ns;
static struct clock clk;
static struct i8254 pit;
static unsigned irq_rises;
static bool irq_level;

static uint64_t fake_source(void *opaque)
{
	return fake_ns;
}

static void irq_probe(void *opaque, int n, bool level)
{
	if (level && !irq_level)
		irq_rises++;
	irq_level = level;
}

static int setup(void **state)
{
	struct irq_line line = { irq_probe, NULL, 0 };

	fake_ns = 1000;
	clock_init(&clk, fake_source, NULL, 0);
	irq_rises = 0;
	irq_level = false;
	i8254_init(&pit, &clk, &line);
	return 0;
}

static void out(unsigned port, uint8_t v)
{
	uint64_t d = v;

	if (port == I8254_PORT61)
		i8254_port61_access(&pit, 0, 1, true, &d);
	else
		i8254_access(&pit, port - I8254_BASE, 1, true, &d);
}

static uint8_t in(unsigned port)
{
	uint64_t d = 0;

	if (port == I8254_PORT61)
		i8254_port61_access(&pit, 0, 1, false, &d);
	else
		i8254_access(&pit, port - I8254_BASE, 1, false, &d);
	return (uint8_t)d;
}

/* Advance guest time by `ticks` PIT clocks and run what fell due. */
static void advance_ticks(uint64_t ticks)
{
	fake_ns = clock_ticks_to_ns(clock_ns_to_ticks(fake_ns - 1000, I8254_HZ) + ticks, I8254_HZ) + 1000;
	clock_run_due(&clk);
}

static uint16_t latch_read(unsigned ch)
{
	uint16_t lo, hi;

	out(0x43, (uint8_t)(ch << 6));		/* counter latch */
	lo = in(0x40 + ch);
	hi = in(0x40 + ch);
	return (uint16_t)(lo | (hi << 8));
}

static void test_mode2_rate_generator(void **state)
{
	out(0x43, 0x34);			/* ch0, LSB/MSB, mode 2 */
	out(0x40, 1000 & 0xff);
	out(0x40, 1000 >> 8);
	assert_int_equal(latch_read(0), 1000);
	advance_ticks(10);
	assert_int_equal(latch_read(0), 990);
	assert_int_equal(irq_rises, 0);
	advance_ticks(990);			/* one full period */
	assert_int_equal(irq_rises, 1);
	assert_false(irq_level);		/* a pulse: low again */
	advance_ticks(5000);
	assert_int_equal(irq_rises, 2);		/* late timers coalesce, as edges would in IRR */
	advance_ticks(1000);
	assert_int_equal(irq_rises, 3);
	/* The deadline is exact in ns: 7000 ticks have passed, the next edge is at 8000. */
	assert_int_equal(clock_next_deadline(&clk), clock_ticks_to_ns(8000, I8254_HZ));
}

static void test_mode0_terminal_count_level(void **state)
{
	out(0x43, 0x30);			/* mode 0 */
	assert_false(irq_level);
	out(0x40, 100);
	out(0x40, 0);
	advance_ticks(99);
	assert_false(irq_level);
	advance_ticks(1);
	assert_true(irq_level);			/* OUT stays high until a new count */
	assert_int_equal(irq_rises, 1);
	assert_int_equal(clock_next_deadline(&clk), CLOCK_NEVER);
	assert_int_equal(latch_read(0), 0);
	advance_ticks(1);
	assert_int_equal(latch_read(0), 0xffff);	/* keeps counting, wrapped */
	out(0x43, 0x30);
	assert_false(irq_level);
}

static void test_mode4_strobe(void **state)
{
	out(0x43, 0x38);			/* mode 4, as Linux's one-shot clockevent */
	out(0x40, 50);
	out(0x40, 0);
	advance_ticks(50);
	assert_int_equal(irq_rises, 1);
	assert_false(irq_level);
	advance_ticks(100000);
	assert_int_equal(irq_rises, 1);		/* once per count written */
}

static void test_latch_holds_and_byte_modes(void **state)
{
	out(0x43, 0x74);			/* ch1, LSB/MSB, mode 2 */
	out(0x41, 0x34);
	out(0x41, 0x12);
	out(0x43, 0x40);			/* latch ch1 */
	advance_ticks(0x100);
	assert_int_equal(in(0x41), 0x34);	/* latched value, not the live one */
	assert_int_equal(in(0x41), 0x12);
	assert_int_equal(latch_read(1), 0x1234 - 0x100);
	/* MSB only: the count is v << 8. */
	out(0x43, 0x64);
	out(0x41, 0x02);
	assert_int_equal(in(0x41), 0x02);
	/* LSB only. */
	out(0x43, 0x54);
	out(0x41, 0x80);
	assert_int_equal(in(0x41), 0x80);
}

static void test_readback(void **state)
{
	out(0x43, 0xb0);			/* ch2, LSB/MSB, mode 0 */
	out(0x43, 0xe8);			/* read-back status of ch2 */
	assert_int_equal(in(0x42), 0x70);	/* OUT low, null count, rw 3, mode 0 */
	out(0x42, 10);
	out(0x42, 0);
	out(0x43, 0xc8);			/* read-back count and status of ch2 */
	assert_int_equal(in(0x42), 0x30);	/* status first: count loaded */
	assert_int_equal(in(0x42), 10);
	assert_int_equal(in(0x42), 0);
}

static void test_bcd(void **state)
{
	out(0x43, 0x35);			/* ch0, mode 2, BCD */
	out(0x40, 0x00);
	out(0x40, 0x10);			/* 1000 decimal */
	advance_ticks(1);
	assert_int_equal(latch_read(0), 0x0999);
	advance_ticks(999);
	assert_int_equal(irq_rises, 1);
}

static void test_mode3_square_wave(void **state)
{
	out(0x43, 0xb6);			/* ch2, mode 3 */
	out(0x61, 0x01);			/* gate on */
	out(0x42, 100);
	out(0x42, 0);
	assert_true(in(0x61) & 0x20);
	advance_ticks(49);
	assert_true(in(0x61) & 0x20);
	advance_ticks(1);
	assert_false(in(0x61) & 0x20);
	advance_ticks(50);
	assert_true(in(0x61) & 0x20);
}

static void test_channel2_gate_and_port61(void **state)
{
	out(0x61, 0x00);
	out(0x43, 0xb0);			/* ch2, mode 0 */
	out(0x42, 0x00);
	out(0x42, 0x10);			/* 4096 */
	assert_false(in(0x61) & 0x20);
	advance_ticks(1000);
	/* GATE low holds a mode 0 count (8254 data sheet, mode 0). */
	assert_int_equal(latch_read(2), 4096);
	out(0x61, 0x01);
	assert_int_equal(in(0x61) & 0x0f, 0x01);
	advance_ticks(4094);
	assert_false(in(0x61) & 0x20);
	out(0x61, 0x00);			/* pause just short of terminal count */
	advance_ticks(10000);
	assert_false(in(0x61) & 0x20);
	out(0x61, 0x01);
	advance_ticks(3);			/* (the gate edges fall between clocks: one of slack) */
	assert_true(in(0x61) & 0x20);
	/* Bit 4 toggles with the refresh clock. */
	fake_ns += 15085;
	{
		uint8_t a = in(0x61) & 0x10;

		fake_ns += 15085;
		assert_int_not_equal(a, in(0x61) & 0x10);
	}
}

static void test_mode1_gate_trigger(void **state)
{
	out(0x61, 0x00);
	out(0x43, 0xb2);			/* ch2, mode 1 */
	out(0x42, 20);
	out(0x42, 0);
	assert_true(in(0x61) & 0x20);		/* high until triggered */
	out(0x61, 0x01);			/* rising gate edge triggers */
	assert_false(in(0x61) & 0x20);
	advance_ticks(20);
	assert_true(in(0x61) & 0x20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_mode2_rate_generator, setup),
		cmocka_unit_test_setup(test_mode0_terminal_count_level, setup),
		cmocka_unit_test_setup(test_mode4_strobe, setup),
		cmocka_unit_test_setup(test_latch_holds_and_byte_modes, setup),
		cmocka_unit_test_setup(test_readback, setup),
		cmocka_unit_test_setup(test_bcd, setup),
		cmocka_unit_test_setup(test_mode3_square_wave, setup),
		cmocka_unit_test_setup(test_channel2_gate_and_port61, setup),
		cmocka_unit_test_setup(test_mode1_gate_trigger, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
