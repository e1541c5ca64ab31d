/*
 * Intel 8259A PIC pair as wired in a PC (8259A data sheet, Intel order
 * 231468; ELCR per the PIIX3/ICH data sheets): ICW1-4, OCW1-3, edge and
 * level triggering, the cascade on IRQ 2, rotating and fixed priority,
 * specific / non-specific / automatic EOI, poll mode, special mask mode,
 * special fully nested mode and the spurious IRQ 7 / 15 vectors.
 */
#include <string.h>

#include "devices/i8259.h"

#define CASCADE_IRQ 2

static void pic_chip_reset(struct pic8259 *c, uint8_t elcr_mask)
{
	memset(c, 0, sizeof(*c));
	/* Power-on state is undefined; keep every input masked until the guest initialises it. */
	c->imr = 0xff;
	c->lowest = 7;
	c->elcr_mask = elcr_mask;
}

void i8259_init(struct i8259 *pic, const struct irq_line *intr)
{
	memset(pic, 0, sizeof(*pic));
	/* IRQ 0, 1, 2 (master) and 8, 13 (slave) are always edge-triggered on a PC. */
	pic_chip_reset(&pic->chip[0], 0xf8);
	pic_chip_reset(&pic->chip[1], 0xde);
	if (intr)
		pic->intr = *intr;
}

/* Priority of input `irq`: 0 is the highest. Rotation moves `lowest`. */
static unsigned pic_priority(const struct pic8259 *c, unsigned irq)
{
	return (irq - c->lowest - 1) & 7;
}

/* The highest-priority input among `bits`, or -1. */
static int pic_highest(const struct pic8259 *c, uint8_t bits)
{
	unsigned p;

	for (p = 0; p < 8; p++) {
		unsigned irq = (c->lowest + 1 + p) & 7;

		if (bits & (1u << irq))
			return (int)irq;
	}
	return -1;
}

static bool pic_level_mode(const struct pic8259 *c, unsigned irq)
{
	return c->ltim || (c->elcr & (1u << irq));
}

/*
 * The input the chip would signal on INT now, or -1: the highest unmasked
 * request, if it outranks every interrupt in service. In special mask mode
 * masked in-service levels do not block others (data sheet, OCW3 ESMM/SMM);
 * in special fully nested mode the master lets the slave interrupt again
 * while the cascade input is in service (data sheet, "Special Fully Nest Mode").
 */
static int pic_output(const struct pic8259 *c, bool is_master)
{
	uint8_t req = c->irr & ~c->imr, in_service = c->isr;
	int irq, cur;

	if (!c->initialized || !req)
		return -1;
	irq = pic_highest(c, req);
	if (c->special_mask)
		in_service &= ~c->imr;
	if (is_master && c->sfnm)
		in_service &= ~(1u << CASCADE_IRQ);
	cur = pic_highest(c, in_service);
	if (cur >= 0 && pic_priority(c, (unsigned)cur) <= pic_priority(c, (unsigned)irq))
		return -1;
	return irq;
}

static bool pic_cascaded(const struct i8259 *pic)
{
	return !pic->chip[0].single;
}

/* Propagate: the slave's INT is the master's IR2; the master's INT goes to the CPU. */
static void pic_update(struct i8259 *pic)
{
	struct pic8259 *m = &pic->chip[0];
	bool slave_int = pic_cascaded(pic) && pic_output(&pic->chip[1], false) >= 0;
	bool level;

	/* The cascade input follows the slave's INT as a level (the slave holds it until INTA). */
	if (slave_int)
		m->irr |= 1u << CASCADE_IRQ;
	else
		m->irr &= ~(1u << CASCADE_IRQ);
	level = pic_output(m, true) >= 0;
	if (level != pic->intr_level) {
		pic->intr_level = level;
		irq_set_level(&pic->intr, level);
	}
}

static void pic_input(struct pic8259 *c, unsigned irq, bool level)
{
	uint8_t mask = 1u << irq;

	if (pic_level_mode(c, irq)) {
		if (level)
			c->irr |= mask;
		else
			c->irr &= ~mask;
	} else if (level && !(c->lines & mask)) {
		/*
		 * Edge mode latches the rising edge in IRR. The data sheet wants the
		 * input held high until INTA; devices here pulse it, so the latched
		 * request stays until acknowledged, as on QEMU's model.
		 */
		c->irr |= mask;
	}
	if (level)
		c->lines |= mask;
	else
		c->lines &= ~mask;
}

void i8259_set_irq(void *opaque, int irq, bool level)
{
	struct i8259 *pic = opaque;

	if (irq < 0 || irq > 15 || (pic_cascaded(pic) && irq == CASCADE_IRQ))
		return;
	pic_input(&pic->chip[irq >> 3], (unsigned)irq & 7, level);
	pic_update(pic);
}

bool i8259_pending(const struct i8259 *pic)
{
	return pic->intr_level;
}

bool i8259_all_masked(const struct i8259 *pic)
{
	const struct pic8259 *m = &pic->chip[0], *s = &pic->chip[1];
	uint8_t open;

	if (!m->initialized)
		return true;
	open = (uint8_t)~m->imr;
	if (pic_cascaded(pic) && (!s->initialized || s->imr == 0xff))
		open &= ~(1u << CASCADE_IRQ);
	return open == 0;
}

/* INTA on one chip: the input it answers with (7 if nothing is left: spurious, no ISR bit). */
static unsigned pic_ack_chip(struct pic8259 *c, bool is_master)
{
	int irq = pic_output(c, is_master);
	uint8_t mask;

	if (irq < 0)
		return 7;
	mask = 1u << irq;
	if (!pic_level_mode(c, (unsigned)irq))
		c->irr &= ~mask;
	if (c->auto_eoi) {
		/* AEOI: the EOI happens at the end of the second INTA pulse. */
		if (c->rotate_aeoi)
			c->lowest = (uint8_t)irq;
	} else {
		c->isr |= mask;
	}
	return (unsigned)irq;
}

uint8_t i8259_acknowledge(struct i8259 *pic)
{
	struct pic8259 *m = &pic->chip[0], *s = &pic->chip[1];
	unsigned irq = pic_ack_chip(m, true);
	uint8_t vector;

	if (irq == CASCADE_IRQ && pic_cascaded(pic)) {
		/* The master put the slave's ID on the cascade lines; the slave sends the vector. */
		vector = (uint8_t)(s->vector_base + pic_ack_chip(s, false));
	} else {
		vector = (uint8_t)(m->vector_base + irq);
	}
	pic_update(pic);
	return vector;
}

static void pic_eoi(struct pic8259 *c, int irq, bool rotate)
{
	if (irq < 0) {
		/* Non-specific: the highest-priority level in service (not a masked one in SMM). */
		irq = pic_highest(c, c->special_mask ? c->isr & ~c->imr : c->isr);
		if (irq < 0)
			return;
	}
	c->isr &= ~(1u << irq);
	if (rotate)
		c->lowest = (uint8_t)irq;
}

/* OCW2 (data sheet, "Operation Command Word 2"): bits 7-5 are R, SL, EOI. */
static void pic_ocw2(struct pic8259 *c, uint8_t v)
{
	int level = v & 7;

	switch (v >> 5) {
	case 0:			/* clear rotate in automatic EOI mode */
		c->rotate_aeoi = false;
		break;
	case 1:			/* non-specific EOI */
		pic_eoi(c, -1, false);
		break;
	case 3:			/* specific EOI */
		pic_eoi(c, level, false);
		break;
	case 4:			/* set rotate in automatic EOI mode */
		c->rotate_aeoi = true;
		break;
	case 5:			/* rotate on non-specific EOI */
		pic_eoi(c, -1, true);
		break;
	case 6:			/* set priority: IR `level` becomes the lowest */
		c->lowest = (uint8_t)level;
		break;
	case 7:			/* rotate on specific EOI */
		pic_eoi(c, level, true);
		break;
	default:		/* 2: no operation */
		break;
	}
}

/* OCW3: read register select, poll, special mask mode. */
static void pic_ocw3(struct pic8259 *c, uint8_t v)
{
	if (v & 0x02)
		c->read_isr = v & 0x01;
	c->poll = v & 0x04;
	if (v & 0x40)
		c->special_mask = v & 0x20;
}

/* ICW1 (data sheet, "Initialization Command Words"): starts the sequence and resets the chip's state. */
static void pic_icw1(struct pic8259 *c, uint8_t v)
{
	uint8_t level_bits;

	c->icw4_needed = v & 0x01;
	c->single = v & 0x02;
	c->ltim = v & 0x08;
	/* The edge-sense circuit resets: an edge input must see a new low-to-high transition. */
	level_bits = c->ltim ? 0xff : c->elcr;
	c->irr &= level_bits & c->lines;
	c->imr = 0;
	c->isr = 0;
	c->lowest = 7;
	c->special_mask = false;
	c->read_isr = false;
	c->poll = false;
	/* Without ICW4 its functions are all zero. */
	c->auto_eoi = c->sfnm = c->rotate_aeoi = false;
	c->init_step = 2;
}

static void pic_write(struct i8259 *pic, struct pic8259 *c, unsigned port, uint8_t v)
{
	if (port == 0) {
		if (v & 0x10)
			pic_icw1(c, v);
		else if (v & 0x08)
			pic_ocw3(c, v);
		else
			pic_ocw2(c, v);
	} else {
		switch (c->init_step) {
		case 2:
			/* ICW2: vector bits 7-3 (8086 mode: T7-T3 with the IR number in 2-0). */
			c->vector_base = v & 0xf8;
			c->init_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
			break;
		case 3:
			c->icw3 = v;
			c->init_step = c->icw4_needed ? 4 : 0;
			break;
		case 4:
			c->auto_eoi = v & 0x02;
			c->sfnm = v & 0x10;
			c->init_step = 0;
			break;
		default:
			c->imr = v;	/* OCW1 */
			break;
		}
		if (c->init_step == 0)
			c->initialized = true;
	}
	pic_update(pic);
}

static uint8_t pic_read(struct i8259 *pic, struct pic8259 *c, unsigned port, bool is_master)
{
	int irq;

	if (port == 1)
		return c->imr;
	if (c->poll) {
		/* Poll mode: the read acts as INTA and returns 1000 0www (or 0 with nothing pending). */
		c->poll = false;
		irq = pic_output(c, is_master);
		if (irq < 0)
			return 0;
		pic_ack_chip(c, is_master);
		pic_update(pic);
		return (uint8_t)(0x80 | irq);
	}
	return c->read_isr ? c->isr : c->irr;
}

static void pic_access(struct i8259 *pic, unsigned chip, uint64_t offset, bool is_write, uint64_t *data)
{
	struct pic8259 *c = &pic->chip[chip];
	unsigned port = offset & 1;

	if (is_write)
		pic_write(pic, c, port, (uint8_t)*data);
	else
		*data = pic_read(pic, c, port, chip == 0);
}

void i8259_master_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	pic_access(opaque, 0, offset, is_write, data);
}

void i8259_slave_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	pic_access(opaque, 1, offset, is_write, data);
}

void i8259_elcr_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	struct i8259 *pic = opaque;
	unsigned i, n = size < 2 ? size : 2;

	/* A 16-bit access at 0x4D0 covers both registers. */
	if (!is_write)
		*data = 0;
	for (i = 0; i < n && offset + i < 2; i++) {
		struct pic8259 *c = &pic->chip[offset + i];

		if (is_write)
			c->elcr = (uint8_t)(*data >> (8 * i)) & c->elcr_mask;
		else
			*data |= (uint64_t)c->elcr << (8 * i);
	}
	if (is_write)
		pic_update(pic);
}
