/* Motorola MC146818 real-time clock and CMOS memory at ports 0x70/0x71, with its interrupt on IRQ 8. */
#ifndef RV_DEVICES_RTC_H
#define RV_DEVICES_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/clock.h"
#include "vmm/irq.h"

#define RTC_BASE      0x70
#define RTC_NR_PORTS  2
#define RTC_CMOS_SIZE 128

struct rtc {
	struct clock *clock;
	struct irq_line irq;
	uint8_t index;			/* last index written to 0x70 (bits 6-0) */
	bool nmi_disabled;		/* bit 7 of 0x70 */
	uint8_t cmos[RTC_CMOS_SIZE];	/* registers A-D and the battery-backed bytes */
	int64_t offset_s;		/* guest RTC time - host UTC, set when the guest writes the time */
	bool frozen;			/* register B SET: the time registers hold `held` */
	int64_t held;			/* seconds since 1970 while frozen */
	uint64_t last_c_read_ns;	/* for flags raised while their interrupt was off */
	bool irq_level;
	struct clock_timer periodic, update;
};

/*
 * ram_below_4g / ram_above_4g: guest RAM in bytes, for the memory-size bytes
 * the firmware convention puts in CMOS (0x15-0x18, 0x30-0x31, 0x34-0x35, 0x5B-0x5D).
 */
void rtc_init(struct rtc *rtc, struct clock *clock, const struct irq_line *irq,
	      uint64_t ram_below_4g, uint64_t ram_above_4g);

/* Bus callback: opaque = the rtc; offset 0 = index (0x70), 1 = data (0x71). */
void rtc_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data);

#endif
