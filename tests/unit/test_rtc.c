/* Unit tests of src/devices/rtc.c with a fake clock: BCD/binary, 12/24 h, SET, UIP, periodic/update/alarm interrupts, CMOS bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "devices/rtc.h"

#define MS 1000000ull

static uint64_t fake_ns;
static struct clock clk;
static struct rtc rtc;
static bool irq_level;
static unsigned irq_rises;

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

/* Thursday 2024-02-29 13:45:30.250 UTC: a leap day, after noon. */
static int setup(void **state)
{
	struct irq_line line = { irq_probe, NULL, 8 };
	struct tm tm = { .tm_year = 124, .tm_mon = 1, .tm_mday = 29,
			 .tm_hour = 13, .tm_min = 45, .tm_sec = 30 };

	fake_ns = 0;
	clock_init(&clk, fake_source, NULL, (int64_t)timegm(&tm) * 1000000000ll + 250 * (int64_t)MS);
	irq_level = false;
	irq_rises = 0;
	rtc_init(&rtc, &clk, &line, 256ull << 20, 0);
	return 0;
}

static uint8_t cmos_read(uint8_t reg)
{
	uint64_t d = reg;

	rtc_access(&rtc, 0, 1, true, &d);
	rtc_access(&rtc, 1, 1, false, &d);
	return (uint8_t)d;
}

static void cmos_write(uint8_t reg, uint8_t v)
{
	uint64_t d = reg;

	rtc_access(&rtc, 0, 1, true, &d);
	d = v;
	rtc_access(&rtc, 1, 1, true, &d);
}

static void advance(uint64_t ns)
{
	fake_ns += ns;
	clock_run_due(&clk);
}

static void test_bcd_24h(void **state)
{
	assert_int_equal(cmos_read(0x00), 0x30);
	assert_int_equal(cmos_read(0x02), 0x45);
	assert_int_equal(cmos_read(0x04), 0x13);
	assert_int_equal(cmos_read(0x06), 0x05);	/* Thursday, 1 = Sunday */
	assert_int_equal(cmos_read(0x07), 0x29);
	assert_int_equal(cmos_read(0x08), 0x02);
	assert_int_equal(cmos_read(0x09), 0x24);
	assert_int_equal(cmos_read(0x32), 0x20);
	assert_int_equal(cmos_read(0x0d), 0x80);
	assert_int_equal(cmos_read(0x0a) & 0x7f, 0x26);
	advance(1000 * MS);
	assert_int_equal(cmos_read(0x00), 0x31);	/* time runs with the clock */
}

static void test_binary_12h(void **state)
{
	cmos_write(0x0b, 0x04);			/* binary, 12-hour */
	assert_int_equal(cmos_read(0x00), 30);
	assert_int_equal(cmos_read(0x04), 0x81);	/* 1 PM */
	assert_int_equal(cmos_read(0x09), 24);
	cmos_write(0x0b, 0x00);			/* BCD, 12-hour */
	assert_int_equal(cmos_read(0x04), 0x81);
	cmos_write(0x0b, 0x02);
	assert_int_equal(cmos_read(0x04), 0x13);
}

static void test_set_time(void **state)
{
	cmos_write(0x0b, 0x82);			/* SET: updates stop */
	cmos_write(0x09, 0x99);
	cmos_write(0x08, 0x12);
	cmos_write(0x07, 0x31);
	cmos_write(0x04, 0x23);
	cmos_write(0x02, 0x59);
	cmos_write(0x00, 0x58);
	advance(5000 * MS);
	assert_int_equal(cmos_read(0x00), 0x58);	/* frozen while SET */
	cmos_write(0x0b, 0x02);
	advance(2000 * MS);
	assert_int_equal(cmos_read(0x00), 0x00);
	assert_int_equal(cmos_read(0x09), 0x00);	/* 2099 -> 2100 */
	assert_int_equal(cmos_read(0x32), 0x21);
	assert_int_equal(cmos_read(0x08), 0x01);
	/* A single field written while running moves the clock by that much. */
	cmos_write(0x02, 0x10);
	assert_int_equal(cmos_read(0x02), 0x10);
	assert_int_equal(cmos_read(0x04), 0x00);
}

static void test_uip(void **state)
{
	/* 250 ms into the second: no update close. */
	assert_false(cmos_read(0x0a) & 0x80);
	advance(750 * MS - 100000);		/* 100 us before the update */
	assert_true(cmos_read(0x0a) & 0x80);
	advance(200000);
	assert_false(cmos_read(0x0a) & 0x80);
	cmos_write(0x0a, 0xa6);			/* UIP is read-only */
	assert_int_equal(cmos_read(0x0a) & 0x7f, 0x26);
}

static void test_periodic_interrupt(void **state)
{
	cmos_write(0x0a, 0x2f);			/* RS 15: 2 Hz */
	cmos_write(0x0b, 0x42);			/* PIE */
	assert_false(irq_level);
	advance(500 * MS);
	assert_true(irq_level);
	assert_int_equal(cmos_read(0x0c) & 0xc0, 0xc0);	/* IRQF, PF */
	assert_false(irq_level);		/* reading C releases the line */
	assert_int_equal(cmos_read(0x0c), 0);
	advance(500 * MS);
	assert_int_equal(irq_rises, 2);
	cmos_read(0x0c);
	cmos_write(0x0b, 0x02);
	advance(2000 * MS);
	assert_int_equal(irq_rises, 2);
	/* With the interrupt off the flag is still there to poll; IRQF is not. */
	assert_int_equal(cmos_read(0x0c) & 0xc0, 0x40);
}

static void test_update_and_alarm(void **state)
{
	cmos_write(0x0b, 0x12);			/* UIE */
	advance(700 * MS);
	assert_false(irq_level);
	advance(100 * MS);			/* the second boundary at 750 ms */
	assert_true(irq_level);
	assert_int_equal(cmos_read(0x0c) & 0x90, 0x90);
	/* Alarm at 13:45:33 (any hour via a don't-care byte). */
	cmos_write(0x01, 0x33);
	cmos_write(0x03, 0x45);
	cmos_write(0x05, 0xc0);
	cmos_write(0x0b, 0x22);			/* AIE only */
	advance(1000 * MS);			/* 13:45:32 */
	assert_false(irq_level);
	assert_int_equal(cmos_read(0x0c) & 0x20, 0);
	advance(1000 * MS);			/* 13:45:33 */
	assert_true(irq_level);
	assert_int_equal(cmos_read(0x0c) & 0xa0, 0xa0);
	/* SET clears UIE. */
	cmos_write(0x0b, 0x92);
	assert_int_equal(cmos_read(0x0b), 0x82);
}

static void test_cmos_bytes(void **state)
{
	uint8_t v;

	cmos_write(0x40, 0x5a);
	assert_int_equal(cmos_read(0x40), 0x5a);
	assert_int_equal(cmos_read(0x15) | cmos_read(0x16) << 8, 640);
	assert_int_equal(cmos_read(0x17) | cmos_read(0x18) << 8, 0xffff);	/* capped */
	assert_int_equal(cmos_read(0x30) | cmos_read(0x31) << 8, 0xffff);
	assert_int_equal(cmos_read(0x34) | cmos_read(0x35) << 8, (256 - 16) * 16);
	assert_int_equal(cmos_read(0x5b) | cmos_read(0x5c) << 8 | cmos_read(0x5d) << 16, 0);
	/* The NMI-disable bit of the index port is not part of the index. */
	{
		uint64_t d = 0x80 | 0x40;

		rtc_access(&rtc, 0, 1, true, &d);
		rtc_access(&rtc, 1, 1, false, &d);
		v = (uint8_t)d;
	}
	assert_int_equal(v, 0x5a);
	assert_true(rtc.nmi_disabled);
}

static void test_memory_above_4g(void **state)
{
	struct irq_line line = { irq_probe, NULL, 8 };

	rtc_init(&rtc, &clk, &line, 3ull << 30, 5ull << 30);
	assert_int_equal(cmos_read(0x5b) | cmos_read(0x5c) << 8 | cmos_read(0x5d) << 16,
			 (5ull << 30) >> 16);
	assert_int_equal(cmos_read(0x34) | cmos_read(0x35) << 8, ((3u << 30) - (16u << 20)) >> 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_bcd_24h, setup),
		cmocka_unit_test_setup(test_binary_12h, setup),
		cmocka_unit_test_setup(test_set_time, setup),
		cmocka_unit_test_setup(test_uip, setup),
		cmocka_unit_test_setup(test_periodic_interrupt, setup),
		cmocka_unit_test_setup(test_update_and_alarm, setup),
		cmocka_unit_test_setup(test_cmos_bytes, setup),
		cmocka_unit_test_setup(test_memory_above_4g, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
