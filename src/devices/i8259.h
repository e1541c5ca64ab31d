/* The PC's pair of Intel 8259A programmable interrupt controllers (master 0x20, slave 0xA0 on IRQ 2) and the ELCR. */
#ifndef RV_DEVICES_I8259_H
#define RV_DEVICES_I8259_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/irq.h"

#define I8259_MASTER_BASE 0x20
#define I8259_SLAVE_BASE  0xa0
#define I8259_NR_PORTS    2
#define I8259_ELCR_BASE   0x4d0		/* edge/level control, PIIX/ICH (one byte per chip) */
#define I8259_ELCR_NR_PORTS 2

/* One 8259A. */
struct pic8259 {
	uint8_t irr, isr, imr;
	uint8_t lines;			/* current input levels */
	uint8_t elcr;			/* 1 = level-triggered input */
	uint8_t elcr_mask;		/* inputs whose trigger mode the ELCR may change */
	uint8_t vector_base;		/* ICW2 & 0xf8 */
	uint8_t lowest;			/* input with the lowest priority (IR7 after ICW1) */
	uint8_t icw3;
	uint8_t init_step;		/* 0 = operating; 2, 3, 4 = ICW expected next */
	bool icw4_needed, single, ltim;
	bool auto_eoi, rotate_aeoi, sfnm;
	bool read_isr, poll, special_mask;
	bool initialized;		/* an ICW1..ICW2 sequence completed once */
};

struct i8259 {
	struct pic8259 chip[2];		/* [0] master, [1] slave */
	struct irq_line intr;		/* the master's INT pin: to the vCPU */
	bool intr_level;
};

void i8259_init(struct i8259 *pic, const struct irq_line *intr);

/* The 16 ISA IRQ inputs; an irq_line `set` callback (opaque = the i8259, n = IRQ 0-15). */
void i8259_set_irq(void *opaque, int irq, bool level);

/* Whether INT is asserted: an unmasked request outranks everything in service. */
bool i8259_pending(const struct i8259 *pic);

/*
 * The INTA cycle: the vector the CPU receives. With nothing left to deliver
 * (the request went away) it is the spurious IRQ 7 (or 15) vector with no
 * ISR bit set, as the 8259A data sheet describes.
 */
uint8_t i8259_acknowledge(struct i8259 *pic);

/* No unmasked input can reach INT (never initialised, or all masked): HLT with IF=1 is final. */
bool i8259_all_masked(const struct i8259 *pic);

/* Bus callbacks: opaque = the i8259; offsets 0-1 from 0x20 / 0xA0, 0-1 from 0x4D0. */
void i8259_master_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data);
void i8259_slave_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data);
void i8259_elcr_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data);

#endif
