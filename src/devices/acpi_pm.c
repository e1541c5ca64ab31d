/* ACPI PM1a event/control registers, the 3.579545 MHz PM timer from the VM clock, the SCI, S5 and the reset register. */
#include "devices/acpi_pm.h"

#define PM1_STS_OFF 0
#define PM1_EN_OFF  2
#define PM1_CNT_OFF 4
#define PM_TMR_OFF  8
#define TMR_BITS    24
#define TMR_MSB     (TMR_BITS - 1)
/* Status bits this device can set; the rest read 0. */
#define STS_MASK    (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_WAK)
/*
 * RTC_EN is writable so the OS can arm the RTC wake event (Linux's rtc-cmos
 * does, and reports an error when the bit does not stick); ringvm has no
 * sleep states to wake from, so RTC_STS is never set: alarms still arrive as
 * IRQ 8.
 */
#define EN_MASK     (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_RTC)
#define CNT_MASK    (ACPI_PM1_SCI_EN | ACPI_PM1_SLP_TYP | (1u << 1))	/* SCI_EN, SLP_TYP, BM_RLD */

static uint64_t acpi_pm_ticks(const struct acpi_pm *pm)
{
	return clock_ns_to_ticks(clock_now(pm->clock), ACPI_PM_TIMER_HZ);
}

uint32_t acpi_pm_timer(const struct acpi_pm *pm)
{
	return (uint32_t)(acpi_pm_ticks(pm) & ((1u << TMR_BITS) - 1));
}

/* TMR_STS is set each time bit 23 of the counter flips (4.8.3.3); computed from the clock. */
static uint16_t acpi_pm_sts(const struct acpi_pm *pm)
{
	uint16_t sts = pm->sts;

	if ((acpi_pm_ticks(pm) >> TMR_MSB) != pm->tmr_epoch)
		sts |= ACPI_PM1_TMR;
	return sts;
}

/* The SCI is a level: up while SCI_EN and any enabled status bit is set. */
static void acpi_pm_update_sci(struct acpi_pm *pm)
{
	bool level = (pm->cnt & ACPI_PM1_SCI_EN) && (acpi_pm_sts(pm) & pm->en & EN_MASK);

	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_set_level(pm->sci, level);
	}
}

/* While TMR_EN is set, wake at the next bit-23 flip so the SCI rises on time. */
static void acpi_pm_arm_timer(struct acpi_pm *pm)
{
	uint64_t next;

	if (!(pm->en & ACPI_PM1_TMR) || (acpi_pm_sts(pm) & ACPI_PM1_TMR)) {
		clock_timer_cancel(&pm->tmr_timer);
		return;
	}
	next = (pm->tmr_epoch + 1) << TMR_MSB;
	clock_timer_arm(&pm->tmr_timer, clock_ticks_to_ns(next, ACPI_PM_TIMER_HZ));
}

static void acpi_pm_timer_fired(void *opaque, uint64_t now)
{
	struct acpi_pm *pm = opaque;

	acpi_pm_update_sci(pm);
	acpi_pm_arm_timer(pm);
}

void acpi_pm_init(struct acpi_pm *pm, struct clock *clock, struct irq_line *sci,
		  void (*poweroff)(void *opaque), void (*reset)(void *opaque), void *opaque)
{
	*pm = (struct acpi_pm){
		.clock = clock, .sci = sci, .poweroff = poweroff, .reset = reset, .opaque = opaque,
		/* SMI_CMD is 0 in the FADT: the machine is always in ACPI mode, SCI_EN reads 1. */
		.cnt = ACPI_PM1_SCI_EN,
	};
	clock_timer_init(&pm->tmr_timer, clock, acpi_pm_timer_fired, pm);
	pm->tmr_epoch = acpi_pm_ticks(pm) >> TMR_MSB;
}

void acpi_pm_reset(void *opaque)
{
	struct acpi_pm *pm = opaque;

	clock_timer_cancel(&pm->tmr_timer);
	pm->sts = 0;
	pm->en = 0;
	pm->cnt = ACPI_PM1_SCI_EN;
	pm->tmr_epoch = acpi_pm_ticks(pm) >> TMR_MSB;
	acpi_pm_update_sci(pm);
}

static uint32_t acpi_pm_read_reg(struct acpi_pm *pm, unsigned reg)
{
	switch (reg) {
	case PM1_STS_OFF:
		return acpi_pm_sts(pm) & STS_MASK;
	case PM1_EN_OFF:
		return pm->en;
	case PM1_CNT_OFF:
		return pm->cnt;
	case PM_TMR_OFF:
		return acpi_pm_timer(pm);
	}
	return 0;
}

/* A write of `val` to the bytes of register `reg` selected by `mask`. */
static void acpi_pm_write_reg(struct acpi_pm *pm, unsigned reg, uint32_t val, uint32_t mask)
{
	uint32_t clr;

	switch (reg) {
	case PM1_STS_OFF:
		/* Write 1 to clear (4.8.3.1). */
		clr = val & mask;
		if (clr & ACPI_PM1_TMR)
			pm->tmr_epoch = acpi_pm_ticks(pm) >> TMR_MSB;
		pm->sts &= (uint16_t)~clr;
		break;
	case PM1_EN_OFF:
		pm->en = (uint16_t)(((pm->en & ~mask) | (val & mask)) & EN_MASK);
		break;
	case PM1_CNT_OFF:
		pm->cnt = (uint16_t)(((pm->cnt & ~mask) | (val & mask)) & CNT_MASK);
		/* SCI_EN stays set: there is no legacy mode to go back to. */
		pm->cnt |= ACPI_PM1_SCI_EN;
		if ((val & mask & ACPI_PM1_SLP_EN) &&
		    ((pm->cnt & ACPI_PM1_SLP_TYP) >> ACPI_PM1_SLP_TYP_SHIFT) == ACPI_PM_S5_TYP &&
		    pm->poweroff)
			pm->poweroff(pm->opaque);
		/* Other sleep types are not in the DSDT, so an OS does not ask: ignored. */
		break;
	default:
		return;		/* the timer is read-only */
	}
	acpi_pm_update_sci(pm);
	acpi_pm_arm_timer(pm);
}

/*
 * Accesses of any width at any offset: each byte goes to the register it
 * belongs to (a 32-bit access at +0 reads PM1_STS and PM1_EN together).
 */
void acpi_pm_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	static const unsigned reg_of[ACPI_PM_NR_PORTS] = { 0, 0, 2, 2, 4, 4, 6, 6, 8, 8, 8, 8 };
	struct acpi_pm *pm = opaque;
	uint64_t out = 0;

	if (!is_write) {
		for (unsigned i = 0; i < size; i++) {
			unsigned off = (unsigned)offset + i, reg;

			if (off >= ACPI_PM_NR_PORTS)
				break;
			reg = reg_of[off];
			out |= (uint64_t)((acpi_pm_read_reg(pm, reg) >> (8 * (off - reg))) & 0xff) << (8 * i);
		}
		*data = out;
		return;
	}
	for (unsigned i = 0; i < size;) {
		unsigned off = (unsigned)offset + i, reg, n = 0;
		uint32_t val = 0, mask = 0;

		if (off >= ACPI_PM_NR_PORTS)
			break;
		reg = reg_of[off];
		/* Gather the bytes of this access that fall in the same register. */
		while (i + n < size && off + n < ACPI_PM_NR_PORTS && reg_of[off + n] == reg) {
			unsigned sh = 8 * (off + n - reg);

			val |= (uint32_t)((*data >> (8 * (i + n))) & 0xff) << sh;
			mask |= 0xffu << sh;
			n++;
		}
		acpi_pm_write_reg(pm, reg, val, mask);
		i += n;
	}
}

void acpi_reset_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	struct acpi_pm *pm = opaque;

	if (!is_write) {
		*data = 0;
		return;
	}
	/* RCR bit 2 (RST_CPU) starts the reset; 0x06 also asks for a hard (full) reset. */
	if ((*data & 0x04) && pm->reset)
		pm->reset(pm->opaque);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pm->sts |= ACPI_PM1_PWRBTN;
	acpi_pm_update_sci(pm);
}
