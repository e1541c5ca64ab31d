/* Local APIC (Intel SDM vol. 3A ch. 11): registers, priorities, EOI, IPIs, timer; xAPIC MMIO and x2APIC MSRs. */
#include <string.h>

#include "devices/lapic.h"

/* Register offsets in the xAPIC page (the x2APIC MSR is 0x800 + offset / 16). */
enum {
	REG_ID = 0x20, REG_VERSION = 0x30, REG_TPR = 0x80, REG_APR = 0x90, REG_PPR = 0xa0,
	REG_EOI = 0xb0, REG_RRD = 0xc0, REG_LDR = 0xd0, REG_DFR = 0xe0, REG_SVR = 0xf0,
	REG_ISR = 0x100, REG_TMR = 0x180, REG_IRR = 0x200, REG_ESR = 0x280,
	REG_ICR_LO = 0x300, REG_ICR_HI = 0x310, REG_LVT_TIMER = 0x320,
	REG_LVT_ERROR = 0x370, REG_TIMER_ICR = 0x380, REG_TIMER_CCR = 0x390,
	REG_TIMER_DCR = 0x3e0, REG_SELF_IPI = 0x3f0,
};

#define LVT_MASKED      (1u << 16)
#define LVT_LEVEL       (1u << 15)
#define LVT_REMOTE_IRR  (1u << 14)
#define SVR_ENABLE      (1u << 8)
#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)
#define ESR_ILLEGAL_REG (1u << 7)
/* Version 0x14 (integrated APIC), max LVT entry 5: six LVTs, no CMCI. */
#define LAPIC_VERSION   (0x14u | (5u << 16))

enum { TIMER_ONESHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2 };

/* Writable bits of each LVT (timer, thermal, perf, LINT0, LINT1, error). */
static const uint32_t lvt_mask[LVT_NR] = {
	0x000600ffu | LVT_MASKED,		/* timer: vector, mode (17-18) */
	0x000007ffu | LVT_MASKED,		/* thermal: vector, delivery mode */
	0x000007ffu | LVT_MASKED,		/* perf */
	0x0000a7ffu | LVT_MASKED,		/* LINT0: + polarity (13), trigger (15) */
	0x0000a7ffu | LVT_MASKED,		/* LINT1 */
	0x000000ffu | LVT_MASKED,		/* error */
};

static bool lapic_x2(const struct lapic *l)
{
	return (l->apic_base & (APIC_BASE_EN | APIC_BASE_EXTD)) == (APIC_BASE_EN | APIC_BASE_EXTD);
}

static bool lapic_hw_enabled(const struct lapic *l)
{
	return l->apic_base & APIC_BASE_EN;
}

static bool lapic_sw_enabled(const struct lapic *l)
{
	return lapic_hw_enabled(l) && (l->svr & SVR_ENABLE);
}

/* Highest set bit of a 256-bit register, or -1. */
static int vec_highest(const uint32_t r[8])
{
	for (int i = 7; i >= 0; i--)
		if (r[i])
			return i * 32 + 31 - __builtin_clz(r[i]);
	return -1;
}

static void vec_set(uint32_t r[8], unsigned v)
{
	r[v >> 5] |= 1u << (v & 31);
}

static void vec_clear(uint32_t r[8], unsigned v)
{
	r[v >> 5] &= ~(1u << (v & 31));
}

static bool vec_test(const uint32_t r[8], unsigned v)
{
	return r[v >> 5] & (1u << (v & 31));
}

/* PPR (SDM 11.8.3.1): TPR if its class is at least that of the highest in-service vector. */
static uint32_t lapic_ppr(const struct lapic *l)
{
	int isrv = vec_highest(l->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	return (l->tpr & 0xf0) >= isr_class ? l->tpr & 0xff : isr_class;
}

bool lapic_pending(const struct lapic *l)
{
	int irrv = vec_highest(l->irr);

	return lapic_sw_enabled(l) && irrv >= 0 && ((uint32_t)irrv & 0xf0) > (lapic_ppr(l) & 0xf0);
}

/* Recompute the output; a rise tells the VMM to wake the vCPU. */
static void lapic_update(struct lapic *l)
{
	bool now = lapic_pending(l);
	bool was = atomic_exchange(&l->intr, now);

	if (now && !was && l->bus->ops.notify)
		l->bus->ops.notify(l->bus->ops.opaque, l->index);
}

static void lapic_error(struct lapic *l, uint32_t bits);

/* A fixed interrupt arrives (from an IPI, the IOAPIC or a local source). */
static void lapic_accept(struct lapic *l, uint8_t vector, bool level_trig)
{
	if (vector < 16) {
		/* vectors 0-15 are illegal for fixed delivery (SDM 11.5.2) */
		lapic_error(l, ESR_RECV_ILLEGAL);
		return;
	}
	vec_set(l->irr, vector);
	if (level_trig)
		vec_set(l->tmr, vector);
	else
		vec_clear(l->tmr, vector);
	lapic_update(l);
}

static void lapic_error(struct lapic *l, uint32_t bits)
{
	uint32_t lvt = l->lvt[LVT_ERROR];

	l->esr_pending |= bits;
	/* the error LVT's own illegal vector must not recurse */
	if (!(lvt & LVT_MASKED) && (lvt & 0xff) >= 16)
		lapic_accept(l, (uint8_t)lvt, false);
}

/* A local interrupt source (LVT entry) fires. */
static void lapic_local(struct lapic *l, enum lapic_lvt which)
{
	uint32_t lvt = l->lvt[which];
	unsigned dm = (lvt >> 8) & 7;

	if (lvt & LVT_MASKED)
		return;
	if (which == LVT_TIMER || which == LVT_ERROR || dm == APIC_DM_FIXED)
		lapic_accept(l, (uint8_t)lvt, which == LVT_LINT0 || which == LVT_LINT1 ?
			     (lvt & LVT_LEVEL) != 0 : false);
	else if (dm == APIC_DM_NMI && l->bus->ops.nmi)
		l->bus->ops.nmi(l->bus->ops.opaque, l->index);
	else if (dm == APIC_DM_EXTINT && l->bus->ops.notify)
		l->bus->ops.notify(l->bus->ops.opaque, l->index);	/* the VMM runs the PIC's INTA */
}

void lapic_lint(struct lapic *l, int pin, bool level)
{
	if (level)
		lapic_local(l, pin ? LVT_LINT1 : LVT_LINT0);
}

/* ------------------------------------------------------------------ */
/* Timer (SDM 11.5.4): one-shot, periodic, TSC-deadline.               */

static unsigned timer_divisor(const struct lapic *l)
{
	unsigned v = (l->timer_dcr & 3) | ((l->timer_dcr >> 1) & 4);

	return v == 7 ? 1 : 2u << v;
}

static unsigned timer_mode(const struct lapic *l)
{
	return (l->lvt[LVT_TIMER] >> 17) & 3;
}

static uint64_t timer_period_ns(const struct lapic *l)
{
	return clock_ticks_to_ns((uint64_t)l->timer_icr * timer_divisor(l), LAPIC_BUS_HZ);
}

static uint32_t timer_ccr(const struct lapic *l)
{
	uint64_t now, ticks;

	if (!l->timer_icr || timer_mode(l) == TIMER_TSC_DEADLINE)
		return 0;
	now = clock_now(l->bus->clock);
	ticks = clock_ns_to_ticks(now - l->timer_start, LAPIC_BUS_HZ) / timer_divisor(l);
	if (timer_mode(l) == TIMER_PERIODIC)
		return l->timer_icr - (uint32_t)(ticks % l->timer_icr);
	return ticks >= l->timer_icr ? 0 : l->timer_icr - (uint32_t)ticks;
}

static void timer_expired(void *opaque, uint64_t now)
{
	struct lapic *l = opaque;
	uint64_t period;

	lapic_local(l, LVT_TIMER);
	switch (timer_mode(l)) {
	case TIMER_PERIODIC:
		period = timer_period_ns(l);
		if (!period)
			break;
		l->timer_start += period;
		/* a host that stalled: skip the lost periods rather than fire a burst */
		if (l->timer_start + period <= now)
			l->timer_start = now - (now - l->timer_start) % period;
		clock_timer_arm(&l->timer, l->timer_start + period);
		break;
	case TIMER_TSC_DEADLINE:
		l->tsc_deadline = 0;
		break;
	default:
		break;
	}
}

/* (Re)start counting from the initial count now. */
static void timer_start(struct lapic *l)
{
	clock_timer_cancel(&l->timer);
	l->timer_start = clock_now(l->bus->clock);
	if (l->timer_icr && timer_mode(l) != TIMER_TSC_DEADLINE)
		clock_timer_arm(&l->timer, l->timer_start + timer_period_ns(l));
}

static void timer_set_deadline(struct lapic *l, uint64_t tsc)
{
	l->tsc_deadline = tsc;
	clock_timer_cancel(&l->timer);
	if (tsc && timer_mode(l) == TIMER_TSC_DEADLINE && l->bus->ops.tsc_to_ns)
		clock_timer_arm(&l->timer, l->bus->ops.tsc_to_ns(l->bus->ops.opaque, l->index, tsc));
}

/* A new divisor: keep the current count, continue at the new rate. */
static void timer_set_dcr(struct lapic *l, uint32_t v)
{
	uint32_t ccr = timer_ccr(l);
	uint64_t now = clock_now(l->bus->clock);

	l->timer_dcr = v & 0xb;
	if (!l->timer_icr || timer_mode(l) == TIMER_TSC_DEADLINE)
		return;
	l->timer_start = now - clock_ticks_to_ns((uint64_t)(l->timer_icr - ccr) * timer_divisor(l),
						 LAPIC_BUS_HZ);
	clock_timer_cancel(&l->timer);
	if (ccr || timer_mode(l) == TIMER_PERIODIC)
		clock_timer_arm(&l->timer, l->timer_start + timer_period_ns(l));
}

bool lapic_timer_armed(const struct lapic *l)
{
	return l->timer.armed && !(l->lvt[LVT_TIMER] & LVT_MASKED);
}

/* ------------------------------------------------------------------ */
/* The APIC bus: destinations, IPIs.                                   */

void apic_bus_init(struct apic_bus *bus, struct clock *clock, const struct apic_ops *ops)
{
	memset(bus, 0, sizeof(*bus));
	bus->clock = clock;
	bus->ops = *ops;
}

static bool lapic_match(const struct lapic *l, uint32_t dest, bool logical)
{
	if (lapic_x2(l)) {
		if (dest == 0xffffffffu)
			return true;
		if (!logical)
			return dest == l->id;
		/* x2APIC logical: cluster in 31:16, one bit per member in 15:0 (SDM 11.12.10.2) */
		return (dest >> 16) == (l->ldr >> 16) && (dest & l->ldr & 0xffff);
	}
	dest &= 0xff;
	if (dest == 0xff)
		return true;
	if (!logical)
		return dest == l->id >> 24;
	if ((l->dfr >> 28) == 0xf)		/* flat model */
		return dest & (l->ldr >> 24);
	/* cluster model: cluster in 7:4, members in 3:0 */
	return (dest >> 4) == (l->ldr >> 28) && (dest & (l->ldr >> 24) & 0xf);
}

static void lapic_receive(struct lapic *l, enum apic_dm dm, uint8_t vector, bool level_trig)
{
	const struct apic_ops *ops = &l->bus->ops;

	switch (dm) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		lapic_accept(l, vector, level_trig);
		break;
	case APIC_DM_NMI:
		if (ops->nmi)
			ops->nmi(ops->opaque, l->index);
		break;
	case APIC_DM_INIT:
		lapic_reset(l, false);
		if (ops->init)
			ops->init(ops->opaque, l->index);
		break;
	case APIC_DM_SIPI:
		if (ops->sipi)
			ops->sipi(ops->opaque, l->index, vector);
		break;
	case APIC_DM_EXTINT:
		if (ops->notify)
			ops->notify(ops->opaque, l->index);
		break;
	default:
		break;		/* SMI: no SMM */
	}
}

void apic_bus_deliver(struct apic_bus *bus, uint32_t dest, bool logical, enum apic_dm dm,
		      uint8_t vector, bool level_trig)
{
	for (unsigned i = 0; i < bus->count; i++) {
		struct lapic *l = bus->cpu[i];

		if (!l || !lapic_match(l, dest, logical))
			continue;
		lapic_receive(l, dm, vector, level_trig);
		/* lowest priority: the first match takes it (no arbitration among equals) */
		if (dm == APIC_DM_LOWEST)
			break;
	}
}

/* A write to ICR (low half; in x2APIC mode the whole 64-bit value) sends the IPI (SDM 11.6.1). */
static void lapic_send_ipi(struct lapic *l)
{
	struct apic_bus *bus = l->bus;
	uint32_t lo = l->icr_lo;
	enum apic_dm dm = (lo >> 8) & 7;
	uint8_t vector = (uint8_t)lo;
	bool logical = lo & (1u << 11);
	bool level_trig = lo & (1u << 15);
	unsigned shorthand = (lo >> 18) & 3;
	uint32_t dest = lapic_x2(l) ? l->icr_hi : l->icr_hi >> 24;

	/* INIT level de-assert only synchronises arbitration IDs */
	if (dm == APIC_DM_INIT && level_trig && !(lo & (1u << 14)))
		return;
	if ((dm == APIC_DM_FIXED || dm == APIC_DM_LOWEST) && vector < 16) {
		lapic_error(l, ESR_SEND_ILLEGAL);
		return;
	}
	switch (shorthand) {
	case 1:		/* self */
		lapic_receive(l, dm, vector, level_trig);
		break;
	case 2:		/* all including self */
	case 3:		/* all excluding self */
		for (unsigned i = 0; i < bus->count; i++) {
			struct lapic *t = bus->cpu[i];

			if (t && (shorthand == 2 || t != l))
				lapic_receive(t, dm, vector, level_trig);
		}
		break;
	default:
		apic_bus_deliver(bus, dest, logical, dm, vector, level_trig);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Life cycle.                                                         */

void lapic_init(struct lapic *l, struct apic_bus *bus, unsigned index)
{
	memset(l, 0, sizeof(*l));
	l->bus = bus;
	l->index = index;
	atomic_init(&l->intr, false);
	clock_timer_init(&l->timer, bus->clock, timer_expired, l);
	if (index < LAPIC_MAX) {
		bus->cpu[index] = l;
		if (index >= bus->count)
			bus->count = index + 1;
	}
	lapic_reset(l, true);
}

void lapic_reset(struct lapic *l, bool power_on)
{
	if (power_on) {
		l->apic_base = LAPIC_BASE | APIC_BASE_EN | (l->index == 0 ? APIC_BASE_BSP : 0);
		l->id = l->index << 24;
	}
	l->tpr = l->ldr = 0;
	l->dfr = 0xffffffffu;
	l->svr = 0xff;
	l->esr = l->esr_pending = 0;
	l->icr_lo = l->icr_hi = 0;
	for (int i = 0; i < LVT_NR; i++)
		l->lvt[i] = LVT_MASKED;
	/*
	 * The BSP's LINT0 starts unmasked in ExtINT mode (virtual wire), as the
	 * BIOS leaves it and QEMU resets it, so the 8259's INTR reaches the CPU
	 * whether or not the guest knows about the APIC.
	 */
	if (l->index == 0)
		l->lvt[LVT_LINT0] = APIC_DM_EXTINT << 8;
	memset(l->irr, 0, sizeof(l->irr));
	memset(l->isr, 0, sizeof(l->isr));
	memset(l->tmr, 0, sizeof(l->tmr));
	l->timer_icr = l->timer_dcr = 0;
	l->tsc_deadline = 0;
	clock_timer_cancel(&l->timer);
	atomic_store(&l->intr, false);
}

/* ------------------------------------------------------------------ */
/* Interrupt acknowledge, EOI, TPR.                                    */

int lapic_ack(struct lapic *l)
{
	int v;

	if (!lapic_pending(l))
		return -1;
	v = vec_highest(l->irr);
	vec_clear(l->irr, (unsigned)v);
	vec_set(l->isr, (unsigned)v);
	lapic_update(l);
	return v;
}

static void lapic_eoi(struct lapic *l)
{
	int v = vec_highest(l->isr);

	if (v < 0)
		return;
	vec_clear(l->isr, (unsigned)v);
	/* level-triggered: the EOI message goes to every IOAPIC (SDM 11.8.5) */
	if (vec_test(l->tmr, (unsigned)v) && l->bus->ops.eoi)
		l->bus->ops.eoi(l->bus->ops.opaque, (uint8_t)v);
	lapic_update(l);
}

bool lapic_accepts_pic(const struct lapic *l)
{
	uint32_t lint0 = l->lvt[LVT_LINT0];

	if (!lapic_hw_enabled(l))
		return true;
	return !(lint0 & LVT_MASKED) && ((lint0 >> 8) & 7) == APIC_DM_EXTINT;
}

void lapic_set_cr8(struct lapic *l, uint8_t cr8)
{
	l->tpr = (uint32_t)(cr8 & 0xf) << 4;
	lapic_update(l);
}

uint8_t lapic_cr8(const struct lapic *l)
{
	return (uint8_t)((l->tpr >> 4) & 0xf);
}

/* ------------------------------------------------------------------ */
/* Registers, shared by MMIO and MSR access.                           */

/* Read register `off` (16-byte aligned); false if there is none. */
static bool lapic_reg_read(struct lapic *l, unsigned off, uint32_t *v)
{
	if (off >= REG_ISR && off < REG_ISR + 0x80) {
		*v = l->isr[(off - REG_ISR) >> 4];
		return true;
	}
	if (off >= REG_TMR && off < REG_TMR + 0x80) {
		*v = l->tmr[(off - REG_TMR) >> 4];
		return true;
	}
	if (off >= REG_IRR && off < REG_IRR + 0x80) {
		*v = l->irr[(off - REG_IRR) >> 4];
		return true;
	}
	if (off >= REG_LVT_TIMER && off <= REG_LVT_ERROR) {
		*v = l->lvt[(off - REG_LVT_TIMER) >> 4];
		return true;
	}
	switch (off) {
	case REG_ID: *v = l->id; return true;
	case REG_VERSION: *v = LAPIC_VERSION; return true;
	case REG_TPR: *v = l->tpr; return true;
	case REG_APR: *v = 0; return true;
	case REG_PPR: *v = lapic_ppr(l); return true;
	case REG_LDR: *v = l->ldr; return true;
	case REG_DFR: *v = l->dfr; return true;
	case REG_SVR: *v = l->svr; return true;
	case REG_ESR: *v = l->esr; return true;
	case REG_ICR_LO: *v = l->icr_lo & ~(1u << 12); return true;	/* delivery is instant: idle */
	case REG_ICR_HI: *v = l->icr_hi; return true;
	case REG_TIMER_ICR: *v = l->timer_icr; return true;
	case REG_TIMER_CCR: *v = timer_ccr(l); return true;
	case REG_TIMER_DCR: *v = l->timer_dcr; return true;
	case REG_EOI:
	case REG_RRD:
		*v = 0;
		return true;
	default:
		return false;
	}
}

static void lapic_write_svr(struct lapic *l, uint32_t v)
{
	l->svr = v & 0x3ff;
	/* software disable masks every LVT entry (SDM 11.4.7.2) */
	if (!(l->svr & SVR_ENABLE))
		for (int i = 0; i < LVT_NR; i++)
			l->lvt[i] |= LVT_MASKED;
	lapic_update(l);
}

static void lapic_write_lvt(struct lapic *l, enum lapic_lvt which, uint32_t v)
{
	uint32_t old = l->lvt[which];

	v &= lvt_mask[which];
	if (which == LVT_LINT0 || which == LVT_LINT1)
		v |= old & LVT_REMOTE_IRR;
	if (!(l->svr & SVR_ENABLE))
		v |= LVT_MASKED;
	if (which == LVT_TIMER && ((v >> 17) & 3) == 3)
		v &= ~(3u << 17);		/* reserved mode: treat as one-shot */
	l->lvt[which] = v;
	if (which == LVT_TIMER && ((old ^ v) & (3u << 17))) {
		/* a mode change disarms the timer (SDM 11.5.4.1) */
		clock_timer_cancel(&l->timer);
		l->timer_icr = 0;
		l->tsc_deadline = 0;
	}
	if (which == LVT_LINT0 && !(v & LVT_MASKED) && ((v >> 8) & 7) == APIC_DM_EXTINT &&
	    l->bus->ops.notify)
		l->bus->ops.notify(l->bus->ops.opaque, l->index);	/* the PIC may already be waiting */
}

/* Write register `off`; false if it is not writable (x2APIC: #GP). */
static bool lapic_reg_write(struct lapic *l, unsigned off, uint32_t v)
{
	if (off >= REG_LVT_TIMER && off <= REG_LVT_ERROR) {
		lapic_write_lvt(l, (enum lapic_lvt)((off - REG_LVT_TIMER) >> 4), v);
		return true;
	}
	switch (off) {
	case REG_ID:
		if (lapic_x2(l))
			return false;
		l->id = v & 0xff000000u;
		return true;
	case REG_TPR:
		l->tpr = v & 0xff;
		lapic_update(l);
		return true;
	case REG_EOI:
		lapic_eoi(l);
		return true;
	case REG_LDR:
		if (lapic_x2(l))
			return false;
		l->ldr = v & 0xff000000u;
		return true;
	case REG_DFR:
		if (lapic_x2(l))
			return false;
		l->dfr = v | 0x0fffffffu;
		return true;
	case REG_SVR:
		lapic_write_svr(l, v);
		return true;
	case REG_ESR:
		/* a write loads the errors gathered since the last one (SDM 11.5.3) */
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		return true;
	case REG_ICR_LO:
		l->icr_lo = v & 0x000ccfffu;
		lapic_send_ipi(l);
		return true;
	case REG_ICR_HI:
		if (lapic_x2(l))
			return false;
		l->icr_hi = v & 0xff000000u;
		return true;
	case REG_TIMER_ICR:
		if (timer_mode(l) == TIMER_TSC_DEADLINE)
			return true;	/* ignored in TSC-deadline mode */
		l->timer_icr = v;
		timer_start(l);
		return true;
	case REG_TIMER_DCR:
		timer_set_dcr(l, v);
		return true;
	case REG_SELF_IPI:
		if (!lapic_x2(l))
			return false;
		lapic_accept(l, (uint8_t)v, false);
		return true;
	default:
		return false;	/* read-only or absent */
	}
}

void lapic_mmio(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	struct lapic *l = opaque;
	unsigned reg = (unsigned)offset & 0xff0;
	unsigned shift = ((unsigned)offset & 0xf) * 8;
	uint32_t v;

	/* in x2APIC mode or globally disabled the page is not decoded (SDM 11.12.1) */
	if (!lapic_hw_enabled(l) || lapic_x2(l) || (offset & 0xf) + size > 4) {
		if (!is_write)
			*data = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
		return;
	}
	if (is_write) {
		if (!lapic_reg_write(l, reg, (uint32_t)(*data << shift)) && reg != REG_ID)
			lapic_error(l, ESR_ILLEGAL_REG);
		return;
	}
	if (!lapic_reg_read(l, reg, &v)) {
		lapic_error(l, ESR_ILLEGAL_REG);
		v = 0;
	}
	*data = (v >> shift) & (size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1);
}

bool lapic_msr_read(struct lapic *l, uint32_t index, uint64_t *value)
{
	unsigned reg = (index - LAPIC_MSR_FIRST) << 4;
	uint32_t v;

	if (index == LAPIC_MSR_TSC_DEADLINE) {
		if (!l->bus->ops.tsc_to_ns)
			return false;
		*value = timer_mode(l) == TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
		return true;
	}
	if (!lapic_x2(l) || index < LAPIC_MSR_FIRST || index > LAPIC_MSR_LAST)
		return false;
	/* write-only or absent in x2APIC mode */
	if (reg == REG_EOI || reg == REG_SELF_IPI || reg == REG_DFR || reg == REG_ICR_HI ||
	    reg == REG_RRD || reg == REG_APR)
		return false;
	if (reg == REG_ICR_LO) {
		*value = (uint64_t)l->icr_hi << 32 | (l->icr_lo & ~(1u << 12));
		return true;
	}
	if (!lapic_reg_read(l, reg, &v))
		return false;
	*value = v;
	return true;
}

bool lapic_msr_write(struct lapic *l, uint32_t index, uint64_t value)
{
	unsigned reg = (index - LAPIC_MSR_FIRST) << 4;

	if (index == LAPIC_MSR_TSC_DEADLINE) {
		if (!l->bus->ops.tsc_to_ns)
			return false;
		if (timer_mode(l) == TIMER_TSC_DEADLINE)
			timer_set_deadline(l, value);
		return true;
	}
	if (!lapic_x2(l) || index < LAPIC_MSR_FIRST || index > LAPIC_MSR_LAST)
		return false;
	if (reg == REG_ICR_LO) {
		/* one 64-bit write: destination in 63:32 (SDM 11.12.9) */
		l->icr_hi = (uint32_t)(value >> 32);
		l->icr_lo = (uint32_t)value & 0x000ccfffu;
		lapic_send_ipi(l);
		return true;
	}
	if (value >> 32)
		return false;
	/* x2APIC: EOI and ESR take only 0 */
	if ((reg == REG_EOI || reg == REG_ESR) && value)
		return false;
	if (reg == REG_TIMER_CCR || reg == REG_PPR || reg == REG_VERSION || reg == REG_LDR)
		return false;
	return lapic_reg_write(l, reg, (uint32_t)value);
}

bool lapic_set_base(struct lapic *l, uint64_t value)
{
	uint64_t old = l->apic_base;
	bool en = value & APIC_BASE_EN, x2 = value & APIC_BASE_EXTD;

	if ((value & ~0xfffull) != LAPIC_BASE)
		return false;		/* relocation is refused */
	if (x2 && !en)
		return false;		/* invalid state (SDM 11.12.5) */
	if ((old & APIC_BASE_EXTD) && en && !x2)
		return false;		/* x2APIC -> xAPIC needs a pass through disabled */
	l->apic_base = (value & (APIC_BASE_EN | APIC_BASE_EXTD)) | LAPIC_BASE | (old & APIC_BASE_BSP);
	if (!en) {
		/* global disable: reset state, software disabled */
		lapic_reset(l, false);
		l->id = l->index << 24;
	} else if (x2 && !(old & APIC_BASE_EXTD)) {
		/* entering x2APIC mode: 32-bit ID, derived logical ID (SDM 11.12.10.2) */
		l->id = l->index;
		l->ldr = ((l->index >> 4) << 16) | (1u << (l->index & 15));
	} else if (!x2 && (old & APIC_BASE_EXTD)) {
		l->id = l->index << 24;
	}
	lapic_update(l);
	return true;
}
