/* The PC platform's legacy half: 8259 pair, 8254 + port 0x61, RTC/CMOS, 8042, port 0x92, the UART's IRQ, the clock and its thread, serial input. */
#ifndef RV_VMM_PC_H
#define RV_VMM_PC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "devices/acpi_pm.h"
#include "devices/pci.h"
#include "devices/i8042.h"
#include "devices/i8254.h"
#include "devices/i8259.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/rtc.h"
#include "vmm/clock.h"
#include "vmm/irq.h"

/*
 * Locking: `lock` (the platform lock) guards the clock, every timer and
 * every device on the port bus. vCPU threads take it around port I/O, the
 * timer thread around due timers, the input thread around the UART. It
 * is taken before the machine's own lock, never after.
 */
struct pc_platform {
	pthread_mutex_t lock;
	pthread_cond_t timer_cond;	/* wakes the timer thread for an earlier deadline or to quit */
	struct clock clock;
	struct i8259 pic;
	struct i8254 pit;
	struct rtc rtc;
	struct i8042 kbc;
	struct port92 port92;
	struct acpi_pm acpi_pm;		/* PM1a, PM timer, SCI, reset register: vmm/pc_acpi.c */
	struct pci_host pci;		/* bus 0 behind 0xCF8/0xCFC: vmm/pc_pci.c */
	struct irq_line isa_irq[16];	/* ISA IRQ n -> the PIC pair and the IOAPIC (pc_apic.c) */
	struct apic_bus apics;		/* the local APICs, one per vCPU, and their messages */
	struct lapic lapic[LAPIC_MAX];
	struct ioapic ioapic;
	atomic_bool intr;		/* the PIC's INT pin, read lock-free by the run loop */
	bool quit;
	atomic_bool input_quit;
	int input_fd;			/* host fd feeding COM1's receiver, or -1 */
	pthread_t timer_thread, input_thread;
	bool timer_started, input_started;
	bool created;			/* pc_create() initialised the lock */
};

#endif
