/*
 * Intel 8254 PIT (data sheet, Intel order 231164): three 16-bit down
 * counters clocked at 1.193182 MHz, modes 0-5, binary or BCD, LSB/MSB
 * access, counter latch and read-back commands. Counters are not stepped:
 * the count and output are computed from the clock when read, and channel
 * 0's next output edge is a clock timer that drives IRQ 0.
 * Port 0x61 (PC/AT system control port B) gates channel 2 (bit 0) and
 * shows its output (bit 5), which is how kernels calibrate the TSC.
 */
#include <string.h>

#include "devices/i8254.h"

/* Do not let a tiny count flood the host with timer events (about 50 kHz at most). */
#define PIT_MIN_EVENT_NS 20000u
/* Port 0x61 bit 4 toggles with every DRAM refresh request, every 15.085 us. */
#define REFRESH_NS 15085u

static uint32_t pit_modulus(const struct pit_channel *c)
{
	return c->bcd ? 10000u : 65536u;
}

static unsigned bcd_to_bin16(uint16_t v)
{
	return (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 + ((v >> 12) & 0xf) * 1000;
}

static uint16_t bin_to_bcd16(unsigned v)
{
	return (uint16_t)((v % 10) | ((v / 10 % 10) << 4) | ((v / 100 % 10) << 8) | ((v / 1000 % 10) << 12));
}

static uint64_t pit_elapsed(const struct i8254 *pit, const struct pit_channel *c, uint64_t now)
{
	if (!c->counting)
		return 0;
	if (c->frozen)
		return clock_ns_to_ticks(c->frozen_ns, I8254_HZ);
	return now > c->start_ns ? clock_ns_to_ticks(now - c->start_ns, I8254_HZ) : 0;
}

/* The counting element and OUT pin at `now` (data sheet, "Modes of Operation"). */
static void pit_state(const struct i8254 *pit, const struct pit_channel *c, uint64_t now,
		      uint32_t *count, bool *out)
{
	uint32_t n = c->reload, mod = pit_modulus(c);
	uint64_t e = pit_elapsed(pit, c, now), p;

	if (!c->counting) {
		/* After a control word OUT is low in mode 0, high in the others. */
		*count = c->has_count ? n % mod : 0;
		*out = c->mode != 0;
		return;
	}
	switch (c->mode) {
	case 0:			/* interrupt on terminal count: low until it */
	case 1:			/* hardware one-shot: low from the trigger to terminal count */
		*count = (uint32_t)((n + mod - e % mod) % mod);
		*out = e >= n;
		break;
	case 4:			/* software strobe: one low clock at terminal count */
	case 5:			/* hardware strobe */
		*count = (uint32_t)((n + mod - e % mod) % mod);
		*out = e != n;
		break;
	case 2:			/* rate generator: OUT low for the clock where the count is 1 */
		if (c->frozen) {
			*count = n % mod;
			*out = true;
			break;
		}
		p = e % n;
		*count = (uint32_t)(n - p);
		*out = *count != 1;
		break;
	default:		/* 3: square wave, high for ceil(N/2) clocks, then low; counts by 2 */
		if (c->frozen) {
			*count = n % mod;
			*out = true;
			break;
		}
		p = e % n;
		if (p < (n + 1) / 2) {
			*count = (uint32_t)(n - 2 * p);
			*out = true;
		} else {
			*count = (uint32_t)(n - 2 * (p - (n + 1) / 2));
			*out = false;
		}
		*count &= 0xffff;
		break;
	}
}

static uint16_t pit_count_reg(const struct i8254 *pit, const struct pit_channel *c, uint64_t now)
{
	uint32_t count;
	bool out;

	pit_state(pit, c, now, &count, &out);
	return c->bcd ? bin_to_bcd16(count % 10000) : (uint16_t)count;
}

bool i8254_output(struct i8254 *pit, unsigned channel)
{
	uint32_t count;
	bool out;

	pit_state(pit, &pit->ch[channel], clock_now(pit->clock), &count, &out);
	return out;
}

/* Channel 0: the OUT pin drives IRQ 0; arm the timer for its next rising edge. */
static void pit_schedule(struct i8254 *pit, uint64_t now)
{
	struct pit_channel *c = &pit->ch[0];
	uint64_t e, k, t;
	uint32_t count;
	bool out;

	clock_timer_cancel(&pit->timer);
	pit_state(pit, c, now, &count, &out);
	/* Modes 0 and 1 hold OUT high after terminal count: a level the PIC latches as one edge. */
	irq_set_level(&pit->irq0, (c->mode == 0 || c->mode == 1) && c->counting && out);
	if (!c->counting || c->frozen)
		return;
	e = pit_elapsed(pit, c, now);
	switch (c->mode) {
	case 0: case 1: case 4: case 5:
		if (e >= c->reload)
			return;		/* terminal count has passed: nothing until a new count */
		t = c->start_ns + clock_ticks_to_ns(c->reload, I8254_HZ);
		break;
	default:		/* 2, 3: a rising edge at the start of every period */
		k = e / c->reload + 1;
		t = c->start_ns + clock_ticks_to_ns(k * c->reload, I8254_HZ);
		break;
	}
	if (t < now + PIT_MIN_EVENT_NS && (c->mode == 2 || c->mode == 3))
		t = now + PIT_MIN_EVENT_NS;
	clock_timer_arm(&pit->timer, t);
}

static void pit_timer_fire(void *opaque, uint64_t now)
{
	struct i8254 *pit = opaque;
	struct pit_channel *c = &pit->ch[0];

	if (c->mode == 0 || c->mode == 1) {
		pit_schedule(pit, now);	/* OUT went high: the level is set there */
		return;
	}
	/* Periodic modes and strobes: a short pulse, one edge for an edge-triggered IRQ 0. */
	irq_pulse(&pit->irq0);
	pit_schedule(pit, now);
}

void i8254_init(struct i8254 *pit, struct clock *clock, const struct irq_line *irq0)
{
	unsigned i;

	memset(pit, 0, sizeof(*pit));
	pit->clock = clock;
	if (irq0)
		pit->irq0 = *irq0;
	clock_timer_init(&pit->timer, clock, pit_timer_fire, pit);
	for (i = 0; i < 3; i++) {
		pit->ch[i].rw = 3;
		pit->ch[i].gate = i != 2;
		pit->ch[i].reload = 65536;
	}
}

void i8254_set_gate(struct i8254 *pit, unsigned channel, bool level)
{
	struct pit_channel *c = &pit->ch[channel];
	uint64_t now = clock_now(pit->clock);

	if (level == c->gate)
		return;
	switch (c->mode) {
	case 0: case 4:
		/* GATE low suspends counting; high resumes it. */
		if (!level && c->counting) {
			c->frozen_ns = now > c->start_ns ? now - c->start_ns : 0;
			c->frozen = true;
		} else if (level && c->frozen) {
			c->start_ns = now - c->frozen_ns;
			c->frozen = false;
		}
		break;
	case 2: case 3:
		/* GATE low forces OUT high and stops; the rising edge reloads the count. */
		if (!level) {
			c->frozen = true;
		} else if (c->has_count) {
			c->start_ns = now;
			c->frozen = false;
			c->counting = true;
		}
		break;
	default:		/* 1, 5: the rising edge (re)triggers */
		if (level && c->has_count) {
			c->start_ns = now;
			c->counting = true;
			c->frozen = false;
		}
		break;
	}
	c->gate = level;
	if (channel == 0)
		pit_schedule(pit, now);
}

static void pit_load(struct i8254 *pit, unsigned idx, uint16_t raw, uint64_t now)
{
	struct pit_channel *c = &pit->ch[idx];
	uint32_t n = c->bcd ? bcd_to_bin16(raw) : raw;

	/* A count of 0 is the largest: 2^16 in binary, 10^4 in BCD. */
	if (n == 0)
		n = pit_modulus(c);
	/* Mode 2 and 3 count at least 2 (1 is illegal in the data sheet). */
	if ((c->mode == 2 || c->mode == 3) && n < 2)
		n = 2;
	c->reload = n;
	c->has_count = true;
	c->null_count = false;
	c->start_ns = now;
	c->frozen_ns = 0;
	if (c->mode == 1 || c->mode == 5) {
		/* Waits for a gate trigger; a new count does not restart a running one-shot. */
	} else {
		c->counting = true;
		c->frozen = !c->gate;
	}
	if (idx == 0)
		pit_schedule(pit, now);
}

static void pit_latch_count(struct i8254 *pit, struct pit_channel *c, uint64_t now)
{
	if (c->count_latched)
		return;		/* a second latch before the read is ignored */
	c->latch = pit_count_reg(pit, c, now);
	c->count_latched = true;
	c->latch_read_msb = false;
}

static void pit_latch_status(struct i8254 *pit, struct pit_channel *c, uint64_t now)
{
	uint32_t count;
	bool out;

	if (c->status_latched)
		return;
	pit_state(pit, c, now, &count, &out);
	c->status = (uint8_t)((out ? 0x80 : 0) | (c->null_count ? 0x40 : 0) | (c->rw << 4) |
			      (c->mode << 1) | (c->bcd ? 1 : 0));
	c->status_latched = true;
}

static void pit_control(struct i8254 *pit, uint8_t v, uint64_t now)
{
	unsigned sc = v >> 6, rw = (v >> 4) & 3, i;
	struct pit_channel *c;

	if (sc == 3) {
		/* Read-back: bit 5 = 0 latches counts, bit 4 = 0 latches status, bits 3-1 select. */
		for (i = 0; i < 3; i++) {
			if (!(v & (2u << i)))
				continue;
			if (!(v & 0x10))
				pit_latch_status(pit, &pit->ch[i], now);
			if (!(v & 0x20))
				pit_latch_count(pit, &pit->ch[i], now);
		}
		return;
	}
	c = &pit->ch[sc];
	if (rw == 0) {
		pit_latch_count(pit, c, now);
		return;
	}
	c->rw = (uint8_t)rw;
	c->mode = (v >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;	/* 6 and 7 are 2 and 3 */
	c->bcd = v & 1;
	c->has_count = false;
	c->counting = false;
	c->frozen = false;
	c->null_count = true;
	c->count_latched = c->status_latched = false;
	c->read_msb = c->write_msb = false;
	if (sc == 0)
		pit_schedule(pit, now);
}

static uint8_t pit_read(struct i8254 *pit, unsigned idx, uint64_t now)
{
	struct pit_channel *c = &pit->ch[idx];
	uint16_t v;
	bool msb;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->count_latched) {
		v = c->latch;
		if (c->rw == 3) {
			msb = c->latch_read_msb;
			c->latch_read_msb = !msb;
			if (msb)
				c->count_latched = false;
		} else {
			msb = c->rw == 2;
			c->count_latched = false;
		}
		return msb ? (uint8_t)(v >> 8) : (uint8_t)v;
	}
	v = pit_count_reg(pit, c, now);
	if (c->rw == 3) {
		msb = c->read_msb;
		c->read_msb = !msb;
	} else {
		msb = c->rw == 2;
	}
	return msb ? (uint8_t)(v >> 8) : (uint8_t)v;
}

static void pit_write(struct i8254 *pit, unsigned idx, uint8_t v, uint64_t now)
{
	struct pit_channel *c = &pit->ch[idx];

	switch (c->rw) {
	case 1:
		pit_load(pit, idx, v, now);
		break;
	case 2:
		pit_load(pit, idx, (uint16_t)(v << 8), now);
		break;
	default:
		if (!c->write_msb) {
			c->write_lsb = v;
			c->write_msb = true;
			/* Mode 0: writing the first byte stops the count (data sheet, mode 0). */
			if (c->mode == 0 && c->counting) {
				c->counting = false;
				if (idx == 0)
					pit_schedule(pit, now);
			}
		} else {
			c->write_msb = false;
			pit_load(pit, idx, (uint16_t)(c->write_lsb | (v << 8)), now);
		}
		break;
	}
}

void i8254_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	struct i8254 *pit = opaque;
	uint64_t now = clock_now(pit->clock);
	unsigned port = offset & 3;

	if (is_write) {
		if (port == 3)
			pit_control(pit, (uint8_t)*data, now);
		else
			pit_write(pit, port, (uint8_t)*data, now);
	} else {
		/* The control register cannot be read (reads float). */
		*data = port == 3 ? 0xff : pit_read(pit, port, now);
	}
}

void i8254_port61_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	struct i8254 *pit = opaque;
	uint64_t now;

	if (is_write) {
		/* Bit 0: channel 2 gate; 1: speaker data; 2, 3: parity / channel-check enables. */
		pit->port61 = (uint8_t)*data & 0x0f;
		i8254_set_gate(pit, 2, pit->port61 & 1);
		return;
	}
	now = clock_now(pit->clock);
	*data = pit->port61 | ((now / REFRESH_NS) & 1 ? 0x10 : 0) |
		(i8254_output(pit, 2) ? 0x20 : 0);
}
