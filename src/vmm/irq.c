/* Interrupt lines: driving a wire is a call to whatever receives it (or nothing, if unconnected). */
#include <stddef.h>

#include "vmm/irq.h"

void irq_line_init(struct irq_line *line, void (*set)(void *opaque, int n, bool level),
		   void *opaque, int n)
{
	line->set = set;
	line->opaque = opaque;
	line->n = n;
}

void irq_set_level(const struct irq_line *line, bool level)
{
	if (line && line->set)
		line->set(line->opaque, line->n, level);
}

void irq_pulse(const struct irq_line *line)
{
	irq_set_level(line, true);
	irq_set_level(line, false);
}
