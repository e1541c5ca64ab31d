/* A 16550A UART (COM1 at 0x3F8 on a PC): transmit to a host file descriptor. */
#ifndef RV_DEVICES_UART16550_H
#define RV_DEVICES_UART16550_H

#include <stdbool.h>
#include <stdint.h>

#define UART16550_COM1_BASE 0x3f8
#define UART16550_NR_PORTS  8

struct uart16550 {
	int out_fd;		/* transmitted bytes go here, one write(2) each */
	uint8_t rbr;		/* receive buffer (only loopback fills it yet) */
	uint8_t ier, fcr, lcr, mcr, lsr, scr, dll, dlm;
	bool thre_pending;	/* THR-empty interrupt waiting to be seen in IIR */
	bool irq_level;
	/* Interrupt line (the next issue wires it to the i8259, IRQ 4 for COM1). */
	void (*irq)(void *opaque, bool level);
	void *irq_opaque;
};

void uart16550_init(struct uart16550 *uart, int out_fd);

/* Bus callback: offset 0-7 from the base port. */
void uart16550_access(void *opaque, uint64_t offset, unsigned size,
		      bool is_write, uint64_t *data);

#endif
