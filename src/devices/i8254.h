/* Intel 8254 programmable interval timer (ports 0x40-0x43) and PC system control port B (0x61). */
#ifndef RV_DEVICES_I8254_H
#define RV_DEVICES_I8254_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/clock.h"
#include "vmm/irq.h"

#define I8254_BASE        0x40
#define I8254_NR_PORTS    4
#define I8254_PORT61      0x61
#define I8254_HZ          1193182u	/* the PC's 14.31818 MHz crystal / 12 */

struct pit_channel {
	uint8_t mode;			/* 0-5 (6 and 7 are stored as 2 and 3) */
	uint8_t rw;			/* 1 = LSB, 2 = MSB, 3 = LSB then MSB */
	bool bcd;
	bool gate;
	uint32_t reload;		/* binary count, 1..65536 (1..10000 in BCD) */
	bool has_count;			/* a count was written since the control word */
	bool counting;			/* counting from start_ns (modes 1/5: after the gate trigger) */
	bool frozen;			/* gate low: modes 0/4 hold the count, 2/3 wait for a reload */
	uint64_t frozen_ns;		/* time counted before the gate went low */
	uint64_t start_ns;
	bool null_count;
	/* Read and write sequencing */
	bool count_latched, status_latched;
	uint16_t latch;
	uint8_t status;
	bool read_msb, latch_read_msb, write_msb;
	uint8_t write_lsb;
};

struct i8254 {
	struct clock *clock;
	struct pit_channel ch[3];
	struct clock_timer timer;	/* channel 0's next output event */
	struct irq_line irq0;
	uint8_t port61;			/* bits 0-3 of port B as last written */
};

void i8254_init(struct i8254 *pit, struct clock *clock, const struct irq_line *irq0);

/* The gate inputs: channel 0 and 1 are tied high on a PC; port 0x61 bit 0 drives channel 2. */
void i8254_set_gate(struct i8254 *pit, unsigned channel, bool level);
/* Output pin of a channel now (channel 2 shows in port 0x61 bit 5). */
bool i8254_output(struct i8254 *pit, unsigned channel);

/* Bus callbacks: opaque = the i8254; 0x40-0x43 and port 0x61. */
void i8254_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data);
void i8254_port61_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data);

#endif
