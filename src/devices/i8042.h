/* Intel 8042 keyboard controller at 0x60/0x64: enough for Linux's probe, a quiet keyboard and mouse, and reset. */
#ifndef RV_DEVICES_I8042_H
#define RV_DEVICES_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/irq.h"

#define I8042_DATA_PORT   0x60
#define I8042_STATUS_PORT 0x64
#define I8042_QUEUE       16

struct i8042 {
	uint8_t status;
	uint8_t ctr;			/* controller command byte ("CTR") */
	uint8_t outport;		/* output port: bit 0 = not reset, bit 1 = A20 */
	uint8_t pending_cmd;		/* controller command waiting for its data byte, or 0 */
	uint8_t kbd_cmd, aux_cmd;	/* device command waiting for its parameter, or 0 */
	bool write_aux;			/* 0xD4: the next data byte goes to the mouse */
	/* Output queue: bytes the guest reads at 0x60, each from the keyboard or the mouse. */
	uint8_t q[I8042_QUEUE];
	bool q_aux[I8042_QUEUE];
	unsigned q_head, q_len;
	struct irq_line irq_kbd, irq_aux;	/* IRQ 1, IRQ 12 */
	/* The guest asked for a reset (command 0xFE, or output port bit 0 cleared). */
	void (*reset)(void *opaque);
	void *reset_opaque;
};

void i8042_init(struct i8042 *kbc, const struct irq_line *irq_kbd, const struct irq_line *irq_aux,
		void (*reset)(void *opaque), void *reset_opaque);

/* Bus callbacks: opaque = the i8042; one byte at 0x60, one at 0x64. */
void i8042_data_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data);
void i8042_status_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data);

/* Port 0x92 (PS/2 system control port A): bit 0 fast reset, bit 1 A20. */
struct port92 {
	uint8_t value;
	void (*reset)(void *opaque);
	void *reset_opaque;
};
void port92_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data);

#endif
