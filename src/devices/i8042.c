/*
 * 8042 keyboard controller (IBM PC AT Technical Reference; the commands
 * Linux's drivers/input/serio/i8042.c issues): controller commands, the
 * command byte, self tests, AUX loopback, a PS/2 keyboard and mouse that
 * answer their probes but never type or move, and the reset line.
 */
#include <string.h>

#include "devices/i8042.h"

#define ST_OBF   0x01		/* output buffer full */
#define ST_SYS   0x04		/* system flag: POST passed */
#define ST_CMD   0x08		/* last write was to 0x64 */
#define ST_UNLOCKED 0x10	/* keyboard not inhibited */
#define ST_AUXB  0x20		/* output buffer holds mouse data */

#define CTR_KBD_INT  0x01
#define CTR_AUX_INT  0x02
#define CTR_SYS      0x04
#define CTR_KBD_DIS  0x10
#define CTR_AUX_DIS  0x20
#define CTR_XLATE    0x40

#define OUT_RESET_N  0x01	/* output port bit 0: low resets the CPU */
#define OUT_A20      0x02

#define ACK 0xfa

void i8042_init(struct i8042 *kbc, const struct irq_line *irq_kbd, const struct irq_line *irq_aux,
		void (*reset)(void *opaque), void *reset_opaque)
{
	memset(kbc, 0, sizeof(*kbc));
	if (irq_kbd)
		kbc->irq_kbd = *irq_kbd;
	if (irq_aux)
		kbc->irq_aux = *irq_aux;
	kbc->reset = reset;
	kbc->reset_opaque = reset_opaque;
	/* As firmware leaves it: both interrupts on, translation on, POST passed. */
	kbc->ctr = CTR_KBD_INT | CTR_AUX_INT | CTR_SYS | CTR_XLATE;
	kbc->outport = OUT_RESET_N | OUT_A20;
	kbc->status = ST_SYS | ST_UNLOCKED;
}

static void kbc_update_irq(struct i8042 *kbc)
{
	bool have = kbc->q_len > 0, aux = have && kbc->q_aux[kbc->q_head];

	kbc->status &= ~(ST_OBF | ST_AUXB);
	if (have)
		kbc->status |= ST_OBF | (aux ? ST_AUXB : 0);
	irq_set_level(&kbc->irq_kbd, have && !aux && (kbc->ctr & CTR_KBD_INT));
	irq_set_level(&kbc->irq_aux, have && aux && (kbc->ctr & CTR_AUX_INT));
}

static void kbc_queue(struct i8042 *kbc, uint8_t byte, bool aux)
{
	unsigned i;

	if (kbc->q_len == I8042_QUEUE)
		return;		/* overrun: the byte is lost, as a real buffer would lose it */
	i = (kbc->q_head + kbc->q_len) % I8042_QUEUE;
	kbc->q[i] = byte;
	kbc->q_aux[i] = aux;
	kbc->q_len++;
	kbc_update_irq(kbc);
}

static void kbc_reset_cpu(struct i8042 *kbc)
{
	if (kbc->reset)
		kbc->reset(kbc->reset_opaque);
}

/* A byte for the keyboard: PS/2 keyboard commands (IBM PS/2 Hardware Interface Technical Reference). */
static void kbd_write(struct i8042 *kbc, uint8_t v)
{
	uint8_t cmd = kbc->kbd_cmd;

	if (cmd) {
		kbc->kbd_cmd = 0;
		kbc_queue(kbc, ACK, false);
		if (cmd == 0xf0 && v == 0)
			kbc_queue(kbc, 2, false);	/* current scan code set */
		return;
	}
	switch (v) {
	case 0xff:		/* reset: ACK, then self-test passed */
		kbc_queue(kbc, ACK, false);
		kbc_queue(kbc, 0xaa, false);
		break;
	case 0xf2:		/* identify: an MF2 keyboard */
		kbc_queue(kbc, ACK, false);
		kbc_queue(kbc, 0xab, false);
		kbc_queue(kbc, 0x83, false);
		break;
	case 0xee:		/* echo */
		kbc_queue(kbc, 0xee, false);
		break;
	case 0xed: case 0xf0: case 0xf3:	/* LEDs, scan code set, typematic: a parameter follows */
		kbc->kbd_cmd = v;
		kbc_queue(kbc, ACK, false);
		break;
	default:		/* enable, disable, defaults, ...: acknowledged */
		kbc_queue(kbc, ACK, false);
		break;
	}
}

/* A byte for the mouse (after 0xD4): a plain PS/2 mouse. */
static void aux_write(struct i8042 *kbc, uint8_t v)
{
	if (kbc->aux_cmd) {
		kbc->aux_cmd = 0;
		kbc_queue(kbc, ACK, true);
		return;
	}
	switch (v) {
	case 0xff:		/* reset: ACK, self-test passed, device ID 0 */
		kbc_queue(kbc, ACK, true);
		kbc_queue(kbc, 0xaa, true);
		kbc_queue(kbc, 0x00, true);
		break;
	case 0xf2:		/* get device ID: standard mouse */
		kbc_queue(kbc, ACK, true);
		kbc_queue(kbc, 0x00, true);
		break;
	case 0xe9:		/* status request: 3 bytes (stream mode, 4 counts/mm, 100/s) */
		kbc_queue(kbc, ACK, true);
		kbc_queue(kbc, 0x00, true);
		kbc_queue(kbc, 0x02, true);
		kbc_queue(kbc, 0x64, true);
		break;
	case 0xe8: case 0xf3:	/* resolution, sample rate: a parameter follows */
		kbc->aux_cmd = v;
		kbc_queue(kbc, ACK, true);
		break;
	default:
		kbc_queue(kbc, ACK, true);
		break;
	}
}

static void kbc_command(struct i8042 *kbc, uint8_t cmd)
{
	switch (cmd) {
	case 0x20:		/* read command byte */
		kbc_queue(kbc, kbc->ctr, false);
		break;
	case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4:
		kbc->pending_cmd = cmd;	/* the data byte follows at 0x60 */
		break;
	case 0xa7:
		kbc->ctr |= CTR_AUX_DIS;
		break;
	case 0xa8:
		kbc->ctr &= ~CTR_AUX_DIS;
		break;
	case 0xa9:		/* AUX interface test: 0 = no error */
	case 0xab:		/* keyboard interface test */
		kbc_queue(kbc, 0x00, false);
		break;
	case 0xaa:		/* controller self test */
		kbc_queue(kbc, 0x55, false);
		break;
	case 0xad:
		kbc->ctr |= CTR_KBD_DIS;
		break;
	case 0xae:
		kbc->ctr &= ~CTR_KBD_DIS;
		break;
	case 0xc0:		/* read input port */
		kbc_queue(kbc, 0x00, false);
		break;
	case 0xd0:		/* read output port */
		kbc_queue(kbc, kbc->outport, false);
		break;
	default:
		/* 0xF0-0xFF pulse output port bits 3-0 low where the command bit is 0; bit 0 is reset. */
		if (cmd >= 0xf0 && !(cmd & 1))
			kbc_reset_cpu(kbc);
		break;
	}
	kbc_update_irq(kbc);
}

static void kbc_data(struct i8042 *kbc, uint8_t v)
{
	uint8_t cmd = kbc->pending_cmd;

	kbc->pending_cmd = 0;
	switch (cmd) {
	case 0x60:
		kbc->ctr = v;
		kbc->status = (kbc->status & ~ST_SYS) | (v & CTR_SYS ? ST_SYS : 0);
		break;
	case 0xd1:
		kbc->outport = v;
		if (!(v & OUT_RESET_N))
			kbc_reset_cpu(kbc);
		break;
	case 0xd2:
		kbc_queue(kbc, v, false);
		break;
	case 0xd3:		/* AUX loopback: the byte comes back as if from the mouse */
		kbc_queue(kbc, v, true);
		break;
	case 0xd4:
		aux_write(kbc, v);
		break;
	default:
		kbd_write(kbc, v);
		break;
	}
	kbc_update_irq(kbc);
}

void i8042_data_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	struct i8042 *kbc = opaque;

	if (is_write) {
		kbc->status &= ~ST_CMD;
		kbc_data(kbc, (uint8_t)*data);
		return;
	}
	if (!kbc->q_len) {
		*data = kbc->q[kbc->q_head];	/* an empty buffer reads its last byte again */
		return;
	}
	*data = kbc->q[kbc->q_head];
	kbc->q_head = (kbc->q_head + 1) % I8042_QUEUE;
	kbc->q_len--;
	/* Drop the lines so that a next byte makes a fresh edge. */
	irq_set_level(&kbc->irq_kbd, false);
	irq_set_level(&kbc->irq_aux, false);
	kbc_update_irq(kbc);
}

void i8042_status_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	struct i8042 *kbc = opaque;

	if (is_write) {
		kbc->status |= ST_CMD;
		kbc_command(kbc, (uint8_t)*data);
	} else {
		*data = kbc->status;
	}
}

void port92_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	struct port92 *p = opaque;
	uint8_t v;

	if (!is_write) {
		*data = p->value;
		return;
	}
	v = (uint8_t)*data & 0x03;
	/* A rising edge of bit 0 resets the CPU; A20 (bit 1) is always on in ringvm. */
	if ((v & 1) && !(p->value & 1) && p->reset)
		p->reset(p->reset_opaque);
	p->value = v;
}
