/* Interrupt lines: a device drives a wire, the irqchip at the other end receives its level. */
#ifndef RV_VMM_IRQ_H
#define RV_VMM_IRQ_H

#include <stdbool.h>

/*
 * One wire from a device to an interrupt controller input (TinyEMU's
 * IRQSignal). The device knows only the line; whoever built the machine
 * decided what `set` is: the 8259, later the IOAPIC, or a test probe.
 * Callers hold the platform lock (see vmm/pc.h).
 */
struct irq_line {
	void (*set)(void *opaque, int n, bool level);
	void *opaque;
	int n;				/* input number at the receiver, e.g. the ISA IRQ */
};

void irq_line_init(struct irq_line *line, void (*set)(void *opaque, int n, bool level),
		   void *opaque, int n);
void irq_set_level(const struct irq_line *line, bool level);
/* A rising then a falling edge: what an edge-triggered input latches as one request. */
void irq_pulse(const struct irq_line *line);

#endif
