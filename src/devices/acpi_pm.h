/* ACPI fixed-feature hardware (ACPI 6.4, 4.8): PM1a event and control blocks, PM timer, reset register. */
#ifndef RV_DEVICES_ACPI_PM_H
#define RV_DEVICES_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/clock.h"
#include "vmm/irq.h"

/* The I/O block, at the same ports as QEMU's PIIX4 PM: PM1a_EVT +0, PM1a_CNT +4, PM_TMR +8. */
#define ACPI_PM_BASE      0x600
#define ACPI_PM_NR_PORTS  12
#define ACPI_PM_SCI_IRQ   9
#define ACPI_PM_S5_TYP    5		/* SLP_TYP of S5 in PM1a_CNT, as the DSDT's \_S5_ says */
#define ACPI_PM_TIMER_HZ  3579545ull	/* 4.8.3.3: the PM timer's fixed rate */
/* Reset control register (the PIIX/ICH "RCR"): 0x06 = hard reset, the FADT's RESET_VALUE. */
#define ACPI_RESET_PORT   0xcf9
#define ACPI_RESET_VALUE  0x06

/* PM1 status / enable bits (Tables 4.16, 4.18). */
#define ACPI_PM1_TMR      (1u << 0)
#define ACPI_PM1_GBL      (1u << 5)
#define ACPI_PM1_PWRBTN   (1u << 8)
#define ACPI_PM1_RTC      (1u << 10)	/* RTC alarm (ACPI 6.4, 4.8.3.1): enable kept, status never set */
#define ACPI_PM1_WAK      (1u << 15)	/* status only */
/* PM1 control bits (Table 4.20). */
#define ACPI_PM1_SCI_EN   (1u << 0)
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP  (7u << 10)
#define ACPI_PM1_SLP_EN   (1u << 13)	/* write-only */

struct acpi_pm {
	struct clock *clock;
	struct irq_line *sci;
	struct clock_timer tmr_timer;	/* armed while TMR_EN: the next bit-23 flip of the timer */
	uint16_t sts, en, cnt;
	uint64_t tmr_epoch;		/* timer count >> 23 when TMR_STS was last cleared */
	bool sci_level;
	/* SLP_EN with the S5 type: switch the machine off. */
	void (*poweroff)(void *opaque);
	/* RESET_VALUE written to the reset register. */
	void (*reset)(void *opaque);
	void *opaque;
};

/* sci: the SCI wire (ISA IRQ 9, level). Callers hold the platform lock for every call below. */
void acpi_pm_init(struct acpi_pm *pm, struct clock *clock, struct irq_line *sci,
		  void (*poweroff)(void *opaque), void (*reset)(void *opaque), void *opaque);

/* Back to the power-on state (a machine reset); opaque is the acpi_pm. */
void acpi_pm_reset(void *opaque);

/* Ports ACPI_PM_BASE .. +ACPI_PM_NR_PORTS. */
void acpi_pm_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data);
/* Port ACPI_RESET_PORT, one byte. */
void acpi_reset_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data);

/* The 24-bit PM timer now. */
uint32_t acpi_pm_timer(const struct acpi_pm *pm);
/* A press of the fixed-feature power button (e.g. the host asks the guest to shut down). */
void acpi_pm_power_button(struct acpi_pm *pm);

#endif
