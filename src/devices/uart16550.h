/* A 16550A UART (COM1 at 0x3F8 on a PC): transmit to a host file descriptor, receive what the host feeds it. */
#ifndef RV_DEVICES_UART16550_H
#define RV_DEVICES_UART16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UART16550_COM1_BASE 0x3f8
#define UART16550_NR_PORTS  8
#define UART16550_FIFO      16

struct uart16550 {
	int out_fd;		/* transmitted bytes go here, one write(2) each */
	uint8_t rx[UART16550_FIFO];	/* receive FIFO (one byte deep with FIFOs off) */
	unsigned rx_head, rx_len;
	uint8_t ier, fcr, lcr, mcr, lsr, scr, dll, dlm;
	bool thre_pending;	/* THR-empty interrupt waiting to be seen in IIR */
	bool irq_level;
	/* Interrupt line (the machine wires it to the i8259, IRQ 4 for COM1). */
	void (*irq)(void *opaque, bool level);
	void *irq_opaque;
};

void uart16550_init(struct uart16550 *uart, int out_fd);

/*
 * Bytes arriving on the serial line: as many as the receive FIFO has room
 * for are taken (the count is returned); the caller retries the rest later.
 */
size_t uart16550_receive(struct uart16550 *uart, const uint8_t *buf, size_t len);

/* Bus callback: offset 0-7 from the base port. */
void uart16550_access(void *opaque, uint64_t offset, unsigned size,
		      bool is_write, uint64_t *data);

#endif
