/* Unit tests of src/devices/i8259.c through its port callbacks: init, priorities, EOIs, cascade, ELCR, spurious, poll, AEOI, SMM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/i8259.h"

struct intr_probe {
	bool level;
	unsigned rises;
};

static void probe_set(void *opaque, int n, bool level)
{
	struct intr_probe *p = opaque;

	if (level && !p->level)
		p->rises++;
	p->level = level;
}

static struct i8259 pic;
static struct intr_probe probe;

static void out(unsigned port, uint8_t v)
{
	uint64_t d = v;

	if (port >= I8259_ELCR_BASE)
		i8259_elcr_access(&pic, port - I8259_ELCR_BASE, 1, true, &d);
	else if (port >= I8259_SLAVE_BASE)
		i8259_slave_access(&pic, port - I8259_SLAVE_BASE, 1, true, &d);
	else
		i8259_master_access(&pic, port - I8259_MASTER_BASE, 1, true, &d);
}

static uint8_t in(unsigned port)
{
	uint64_t d = 0;

	if (port >= I8259_ELCR_BASE)
		i8259_elcr_access(&pic, port - I8259_ELCR_BASE, 1, false, &d);
	else if (port >= I8259_SLAVE_BASE)
		i8259_slave_access(&pic, port - I8259_SLAVE_BASE, 1, false, &d);
	else
		i8259_master_access(&pic, port - I8259_MASTER_BASE, 1, false, &d);
	return (uint8_t)d;
}

/* The usual PC programming: vectors 0x20 / 0x28, cascade on IR2, ICW4 as given. */
static void setup_icw4(uint8_t icw4)
{
	struct irq_line intr = { probe_set, &probe, 0 };

	probe = (struct intr_probe){ 0 };
	i8259_init(&pic, &intr);
	out(0x20, 0x11);
	out(0x21, 0x20);
	out(0x21, 0x04);
	out(0x21, icw4);
	out(0xa0, 0x11);
	out(0xa1, 0x28);
	out(0xa1, 0x02);
	out(0xa1, icw4);
}

static int setup(void **state)
{
	setup_icw4(0x01);
	return 0;
}

static void edge(int irq)
{
	i8259_set_irq(&pic, irq, true);
	i8259_set_irq(&pic, irq, false);
}

static void test_uninitialised_masks_all(void **state)
{
	struct irq_line intr = { probe_set, &probe, 0 };

	probe = (struct intr_probe){ 0 };
	i8259_init(&pic, &intr);
	assert_true(i8259_all_masked(&pic));
	edge(0);
	assert_false(i8259_pending(&pic));
}

static void test_init_and_imr(void **state)
{
	assert_int_equal(in(0x21), 0);		/* ICW1 clears the IMR */
	assert_false(i8259_all_masked(&pic));
	out(0x21, 0xa5);
	out(0xa1, 0x5a);
	assert_int_equal(in(0x21), 0xa5);
	assert_int_equal(in(0xa1), 0x5a);
	out(0x21, 0xff);
	assert_true(i8259_all_masked(&pic));
}

static void test_edge_ack_eoi(void **state)
{
	edge(0);
	assert_true(i8259_pending(&pic));
	assert_int_equal(probe.rises, 1);
	out(0x20, 0x0a);
	assert_int_equal(in(0x20), 0x01);	/* IRR */
	assert_int_equal(i8259_acknowledge(&pic), 0x20);
	assert_false(i8259_pending(&pic));
	out(0x20, 0x0b);
	assert_int_equal(in(0x20), 0x01);	/* ISR */
	out(0x20, 0x0a);
	assert_int_equal(in(0x20), 0x00);	/* edge: IRR cleared by INTA */
	/* A second edge while IR0 is in service waits for the EOI. */
	edge(0);
	assert_false(i8259_pending(&pic));
	out(0x20, 0x20);			/* non-specific EOI */
	assert_true(i8259_pending(&pic));
	assert_int_equal(i8259_acknowledge(&pic), 0x20);
	out(0x20, 0x20);
	out(0x20, 0x0b);
	assert_int_equal(in(0x20), 0);
}

static void test_masked_request_waits(void **state)
{
	out(0x21, 0x01);
	edge(0);
	assert_false(i8259_pending(&pic));
	out(0x21, 0x00);
	assert_true(i8259_pending(&pic));
	assert_int_equal(i8259_acknowledge(&pic), 0x20);
}

static void test_fixed_priority_and_nesting(void **state)
{
	edge(3);
	edge(1);
	assert_int_equal(i8259_acknowledge(&pic), 0x21);
	assert_false(i8259_pending(&pic));	/* IR3 is lower than IR1 in service */
	edge(0);
	assert_true(i8259_pending(&pic));	/* IR0 is higher: nests */
	assert_int_equal(i8259_acknowledge(&pic), 0x20);
	out(0x20, 0x20);			/* EOI clears IR0 (highest in service) */
	out(0x20, 0x0b);
	assert_int_equal(in(0x20), 0x02);
	out(0x20, 0x20);
	assert_int_equal(i8259_acknowledge(&pic), 0x23);
}

static void test_specific_eoi_and_rotation(void **state)
{
	edge(5);
	assert_int_equal(i8259_acknowledge(&pic), 0x25);
	out(0x20, 0x63);			/* specific EOI for IR3: IR5 stays */
	out(0x20, 0x0b);
	assert_int_equal(in(0x20), 0x20);
	out(0x20, 0x65);
	assert_int_equal(in(0x20), 0x00);
	/* Set priority: IR3 lowest, so IR4 is the highest. */
	out(0x20, 0xc3);
	edge(1);
	edge(4);
	assert_int_equal(i8259_acknowledge(&pic), 0x24);
	/* Rotate on non-specific EOI: IR4 becomes the lowest, IR5 the highest. */
	out(0x20, 0xa0);
	assert_int_equal(i8259_acknowledge(&pic), 0x21);
	out(0x20, 0x20);
	edge(6);
	edge(5);
	assert_int_equal(i8259_acknowledge(&pic), 0x25);
}

static void test_cascade(void **state)
{
	edge(10);
	assert_true(i8259_pending(&pic));
	assert_int_equal(i8259_acknowledge(&pic), 0x2a);
	out(0x20, 0x0b);
	out(0xa0, 0x0b);
	assert_int_equal(in(0x20), 0x04);	/* cascade in service on the master */
	assert_int_equal(in(0xa0), 0x04);	/* IR2 of the slave = IRQ 10 */
	/* Masking the slave input hides it; the master's IR2 needs both EOIs. */
	out(0xa0, 0x20);
	out(0x20, 0x20);
	out(0xa1, 0x01);
	edge(8);
	assert_false(i8259_pending(&pic));
	out(0xa1, 0x00);
	assert_int_equal(i8259_acknowledge(&pic), 0x28);
}

static void test_level_via_elcr(void **state)
{
	out(0x4d0, 0xff);
	assert_int_equal(in(0x4d0), 0xf8);	/* IRQ 0-2 cannot be level */
	out(0x4d1, 0xff);
	assert_int_equal(in(0x4d1), 0xde);	/* nor IRQ 8 and 13 */
	i8259_set_irq(&pic, 5, true);
	assert_int_equal(i8259_acknowledge(&pic), 0x25);
	out(0x20, 0x20);
	assert_true(i8259_pending(&pic));	/* still high after EOI: again */
	i8259_set_irq(&pic, 5, false);
	assert_false(i8259_pending(&pic));
	/* Level request gone before INTA: the spurious IR7 vector, no ISR bit. */
	i8259_set_irq(&pic, 5, true);
	i8259_set_irq(&pic, 5, false);
	assert_int_equal(i8259_acknowledge(&pic), 0x27);
	out(0x20, 0x0b);
	assert_int_equal(in(0x20), 0x00);
	i8259_set_irq(&pic, 11, true);
	i8259_set_irq(&pic, 11, false);
	assert_false(i8259_pending(&pic));
	/* Spurious on the slave: IR15's vector. */
	i8259_set_irq(&pic, 11, true);
	assert_true(i8259_pending(&pic));
	out(0xa1, 0x08);			/* masked between INT and INTA */
	out(0xa1, 0x00);
	i8259_set_irq(&pic, 11, false);
	assert_false(i8259_pending(&pic));
}

static void test_auto_eoi(void **state)
{
	setup_icw4(0x03);
	edge(1);
	assert_int_equal(i8259_acknowledge(&pic), 0x21);
	out(0x20, 0x0b);
	assert_int_equal(in(0x20), 0);
	edge(1);
	assert_true(i8259_pending(&pic));
}

static void test_poll(void **state)
{
	out(0x20, 0x0c);
	assert_int_equal(in(0x20), 0x00);	/* nothing pending */
	edge(6);
	out(0x20, 0x0c);
	assert_int_equal(in(0x20), 0x86);
	out(0x20, 0x0b);
	assert_int_equal(in(0x20), 0x40);
	out(0x20, 0x66);
	assert_int_equal(in(0x20), 0x00);
}

static void test_special_mask_mode(void **state)
{
	edge(1);
	assert_int_equal(i8259_acknowledge(&pic), 0x21);
	edge(4);
	assert_false(i8259_pending(&pic));
	out(0x21, 0x02);			/* mask IR1 (in service) */
	out(0x20, 0x68);			/* OCW3: set special mask mode */
	assert_true(i8259_pending(&pic));
	assert_int_equal(i8259_acknowledge(&pic), 0x24);
	out(0x20, 0x20);			/* non-specific EOI skips the masked IR1 */
	out(0x20, 0x0b);
	assert_int_equal(in(0x20), 0x02);
	out(0x20, 0x48);			/* reset special mask mode */
	out(0x20, 0x61);
	assert_int_equal(in(0x20), 0x00);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uninitialised_masks_all),
		cmocka_unit_test_setup(test_init_and_imr, setup),
		cmocka_unit_test_setup(test_edge_ack_eoi, setup),
		cmocka_unit_test_setup(test_masked_request_waits, setup),
		cmocka_unit_test_setup(test_fixed_priority_and_nesting, setup),
		cmocka_unit_test_setup(test_specific_eoi_and_rotation, setup),
		cmocka_unit_test_setup(test_cascade, setup),
		cmocka_unit_test_setup(test_level_via_elcr, setup),
		cmocka_unit_test(test_auto_eoi),
		cmocka_unit_test_setup(test_poll, setup),
		cmocka_unit_test_setup(test_special_mask_mode, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
