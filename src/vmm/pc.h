/* The PC platform's legacy half: 8259 pair, 8254 + port 0x61, RTC/CMOS, 8042, port 0x92, the UART's IRQ, the clock and its thread, serial input. */
#ifndef RV_VMM_PC_H
#define RV_VMM_PC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "boot/acpi.h"
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
 * PCI INTx lines: every function's pin level as its device drives it, and
 * whether it pulls its GSI now (level high, COMMAND.INTX_DISABLE clear).
 * A GSI is asserted while any function pulls it (PCI's wired-OR).
 */
struct pc_pci_intx {
	bool level[PCI_NR_DEVFN];
	bool driving[PCI_NR_DEVFN];
	uint8_t users[ACPI_PCI_NR_GSIS];
};

/*
 * Locking: `lock` (the platform lock) guards the clock, every timer and
 * every device on the port bus, PCI config space and interrupt delivery
 * (IOAPIC, MSI). vCPU threads take it around port I/O, the timer thread
 * around due timers, the input thread around the UART. It is taken
 * before the machine's own lock, never after; a virtio device's own lock
 * may be held when it is taken, never the other way round.
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
	struct pc_pci_intx intx;	/* PCI INTx wired-OR onto IOAPIC inputs 16-23 (pc_pci.c) */
	bool pci_irq_sources;		/* PCI devices that may interrupt (MSI or INTx) are present */
	bool msi_bad_logged;		/* an MSI outside 0xFEExxxxx was logged once */
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
