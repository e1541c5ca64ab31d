/* The local APIC of each vCPU (xAPIC MMIO and x2APIC MSRs) and the APIC bus that carries IPIs and IOAPIC messages between them. */
#ifndef RV_DEVICES_LAPIC_H
#define RV_DEVICES_LAPIC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/clock.h"

#define LAPIC_BASE        0xfee00000ull
#define LAPIC_SIZE        0x1000
#define LAPIC_MSR_FIRST   0x800u	/* x2APIC: MSR 0x800 + (xAPIC offset >> 4) */
#define LAPIC_MSR_LAST    0x8ffu
#define LAPIC_MSR_TSC_DEADLINE 0x6e0u
#define LAPIC_BUS_HZ      1000000000ull	/* the advertised bus/timer clock: one tick per ns */
#define LAPIC_MAX         32

/* IA32_APIC_BASE bits (SDM vol. 3A, 11.4.4) */
#define APIC_BASE_BSP     (1ull << 8)
#define APIC_BASE_EXTD    (1ull << 10)	/* x2APIC mode */
#define APIC_BASE_EN      (1ull << 11)

/* Delivery modes (ICR, LVT, IOAPIC redirection entries) */
enum apic_dm {
	APIC_DM_FIXED = 0, APIC_DM_LOWEST = 1, APIC_DM_SMI = 2, APIC_DM_NMI = 4,
	APIC_DM_INIT = 5, APIC_DM_SIPI = 6, APIC_DM_EXTINT = 7,
};

/*
 * What the VMM does with events that leave the APIC system. Called with
 * the platform lock held, from any thread; they must not take it again.
 */
struct apic_ops {
	/* vCPU `cpu` has something new to take (a vector above PPR, or ExtINT): kick and wake it. */
	void (*notify)(void *opaque, unsigned cpu);
	void (*nmi)(void *opaque, unsigned cpu);
	void (*init)(void *opaque, unsigned cpu);
	void (*sipi)(void *opaque, unsigned cpu, uint8_t vector);
	/* EOI of a level-triggered vector: the IOAPICs clear their remote IRR. */
	void (*eoi)(void *opaque, uint8_t vector);
	/* Guest clock ns at which the vCPU's TSC reaches `tsc` (NULL: no TSC-deadline mode). */
	uint64_t (*tsc_to_ns)(void *opaque, unsigned cpu, uint64_t tsc);
	void *opaque;
};

struct apic_bus;

struct lapic {
	struct apic_bus *bus;
	unsigned index;			/* vCPU index; also the initial APIC ID */
	uint64_t apic_base;		/* IA32_APIC_BASE as the vCPU last wrote it */
	uint32_t id;			/* xAPIC: ID in bits 31:24; x2APIC: the whole ID */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr, esr_pending;	/* readable ESR; errors gathered since the last write */
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[6];		/* timer, thermal, perf, LINT0, LINT1, error (enum lapic_lvt) */
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t timer_icr, timer_dcr;
	uint64_t timer_start;		/* guest ns when the current count was timer_icr */
	uint64_t tsc_deadline;
	struct clock_timer timer;
	atomic_bool intr;		/* a vector above PPR waits (read lock-free by the run loop) */
};

enum lapic_lvt { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_NR };

/* Every local APIC of the VM: the medium for IPIs and IOAPIC messages. */
struct apic_bus {
	struct lapic *cpu[LAPIC_MAX];
	unsigned count;
	struct clock *clock;
	struct apic_ops ops;
};

void apic_bus_init(struct apic_bus *bus, struct clock *clock, const struct apic_ops *ops);
/* The LAPIC of vCPU `index` (the BSP is index 0); in the reset state. */
void lapic_init(struct lapic *l, struct apic_bus *bus, unsigned index);
/* RESET (power-on) or INIT (keeps the APIC ID and IA32_APIC_BASE: SDM vol. 3A, 11.4.7.3). */
void lapic_reset(struct lapic *l, bool power_on);

/*
 * A message on the APIC bus (IPI or IOAPIC redirection): dest is an APIC ID
 * (physical) or a logical destination; lowest priority goes to the first
 * match. `self` is the sender for shorthands (or NULL).
 */
void apic_bus_deliver(struct apic_bus *bus, uint32_t dest, bool logical, enum apic_dm dm,
		      uint8_t vector, bool level_trig);

/* xAPIC MMIO (offset in the 4 KiB page); a bus callback with opaque = the lapic. */
void lapic_mmio(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data);
/* MSR access to 0x800-0x8ff (x2APIC mode only), 0x6e0 (TSC deadline). Returns false to #GP. */
bool lapic_msr_read(struct lapic *l, uint32_t index, uint64_t *value);
bool lapic_msr_write(struct lapic *l, uint32_t index, uint64_t value);
/* WRMSR IA32_APIC_BASE: false (#GP) for a refused value (relocation, illegal mode change). */
bool lapic_set_base(struct lapic *l, uint64_t value);

/* Interrupt acknowledge: the highest IRR vector above PPR moves to ISR; -1 if none. */
int lapic_ack(struct lapic *l);
/* Whether a vector above PPR is pending. */
bool lapic_pending(const struct lapic *l);
/* The PIC's INTR reaches the CPU: APIC globally off, or LINT0 unmasked in ExtINT mode (virtual wire). */
bool lapic_accepts_pic(const struct lapic *l);
/* Whether the LAPIC can raise something on its own (timer armed, unmasked). */
bool lapic_timer_armed(const struct lapic *l);
/* CR8 <-> TPR: CR8 is TPR[7:4] (SDM vol. 3A, 11.8.6). */
void lapic_set_cr8(struct lapic *l, uint8_t cr8);
uint8_t lapic_cr8(const struct lapic *l);
/* LINT1 (NMI on PCs) and LINT0 levels from outside, as wired. */
void lapic_lint(struct lapic *l, int pin, bool level);

#endif
