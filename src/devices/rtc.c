/*
 * MC146818A RTC (Motorola data sheet; the PC AT CMOS layout): time and
 * date in BCD or binary, 12- or 24-hour, registers A-D, update-in-progress,
 * periodic / alarm / update-ended interrupts on IRQ 8, and CMOS bytes.
 * Time is the host's UTC from the VM clock plus whatever offset the guest
 * set by writing the clock; nothing ticks: registers are computed on read.
 */
#include <string.h>
#include <time.h>

#include "devices/rtc.h"

enum {
	RTC_SEC = 0x00, RTC_SEC_ALARM = 0x01, RTC_MIN = 0x02, RTC_MIN_ALARM = 0x03,
	RTC_HOUR = 0x04, RTC_HOUR_ALARM = 0x05, RTC_DOW = 0x06, RTC_DOM = 0x07,
	RTC_MONTH = 0x08, RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a, RTC_REG_B = 0x0b, RTC_REG_C = 0x0c, RTC_REG_D = 0x0d,
	CMOS_CENTURY = 0x32,		/* the century byte PC firmware keeps (ACPI FADT CENTURY) */
};

#define REG_A_UIP   0x80
#define REG_A_DV    0x70
#define REG_A_DV_32K 0x20		/* divider 010: 32.768 kHz time base, running */
#define REG_A_RS    0x0f
#define REG_B_SET   0x80
#define REG_B_PIE   0x40
#define REG_B_AIE   0x20
#define REG_B_UIE   0x10
#define REG_B_DM    0x04		/* 1 = binary, 0 = BCD */
#define REG_B_24H   0x02
#define REG_C_IRQF  0x80
#define REG_C_PF    0x40
#define REG_C_AF    0x20
#define REG_C_UF    0x10
#define REG_D_VRT   0x80		/* valid RAM and time: the battery is good */

#define NS 1000000000ll
/* UIP rises 244 us before each update (data sheet, "Update Cycle"). */
#define UIP_NS 244000ll

static int64_t rtc_now_s(const struct rtc *rtc)
{
	if (rtc->frozen)
		return rtc->held;
	return clock_wall_ns(rtc->clock) / NS + rtc->offset_s;
}

static bool rtc_binary(const struct rtc *rtc)
{
	return rtc->cmos[RTC_REG_B] & REG_B_DM;
}

static uint8_t rtc_encode(const struct rtc *rtc, unsigned v)
{
	return rtc_binary(rtc) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

static unsigned rtc_decode(const struct rtc *rtc, uint8_t v)
{
	return rtc_binary(rtc) ? v : (unsigned)((v >> 4) * 10 + (v & 0xf));
}

static uint8_t rtc_encode_hour(const struct rtc *rtc, unsigned h)
{
	unsigned h12;

	if (rtc->cmos[RTC_REG_B] & REG_B_24H)
		return rtc_encode(rtc, h);
	/* 12-hour mode: 12, 1 ... 11, with bit 7 for PM. */
	h12 = h % 12 ? h % 12 : 12;
	return (uint8_t)(rtc_encode(rtc, h12) | (h >= 12 ? 0x80 : 0));
}

static unsigned rtc_decode_hour(const struct rtc *rtc, uint8_t v)
{
	unsigned h;

	if (rtc->cmos[RTC_REG_B] & REG_B_24H)
		return rtc_decode(rtc, v);
	h = rtc_decode(rtc, v & 0x7f) % 12;
	return v & 0x80 ? h + 12 : h;
}

static void rtc_tm(const struct rtc *rtc, struct tm *tm)
{
	time_t t = (time_t)rtc_now_s(rtc);

	gmtime_r(&t, tm);
}

static void rtc_set_irq(struct rtc *rtc)
{
	uint8_t *c = &rtc->cmos[RTC_REG_C];
	bool level;

	/* IRQF = (PF & PIE) | (AF & AIE) | (UF & UIE). */
	if (*c & rtc->cmos[RTC_REG_B] & (REG_C_PF | REG_C_AF | REG_C_UF))
		*c |= REG_C_IRQF;
	level = *c & REG_C_IRQF;
	if (level != rtc->irq_level) {
		rtc->irq_level = level;
		irq_set_level(&rtc->irq, level);
	}
}

/* Period of the periodic interrupt in ns for rate select RS, 0 if off (data sheet table 3). */
static uint64_t rtc_period_ns(const struct rtc *rtc)
{
	unsigned rs = rtc->cmos[RTC_REG_A] & REG_A_RS;

	if (rs == 0 || (rtc->cmos[RTC_REG_A] & REG_A_DV) != REG_A_DV_32K)
		return 0;
	if (rs <= 2)
		rs += 7;	/* 256 Hz and 128 Hz, as RS 8 and 9 */
	return (uint64_t)NS / (32768u >> (rs - 1));
}

static void rtc_schedule(struct rtc *rtc)
{
	uint64_t now = clock_now(rtc->clock), period = rtc_period_ns(rtc);
	int64_t wall;

	clock_timer_cancel(&rtc->periodic);
	clock_timer_cancel(&rtc->update);
	if (period && (rtc->cmos[RTC_REG_B] & REG_B_PIE))
		clock_timer_arm(&rtc->periodic, (now / period + 1) * period);
	if ((rtc->cmos[RTC_REG_B] & (REG_B_UIE | REG_B_AIE)) && !rtc->frozen) {
		wall = clock_wall_ns(rtc->clock);
		clock_timer_arm(&rtc->update, now + (uint64_t)(NS - wall % NS));
	}
}

static void rtc_periodic_fire(void *opaque, uint64_t now)
{
	struct rtc *rtc = opaque;

	rtc->cmos[RTC_REG_C] |= REG_C_PF;
	rtc_set_irq(rtc);
	rtc_schedule(rtc);
}

/* An alarm byte of 0xC0-0xFF matches any value (data sheet, "Alarm"). */
static bool rtc_alarm_match(const struct rtc *rtc, uint8_t alarm, uint8_t now)
{
	return (alarm & 0xc0) == 0xc0 || alarm == now;
}

static void rtc_update_fire(void *opaque, uint64_t now)
{
	struct rtc *rtc = opaque;
	struct tm tm;

	rtc->cmos[RTC_REG_C] |= REG_C_UF;
	rtc_tm(rtc, &tm);
	if (rtc_alarm_match(rtc, rtc->cmos[RTC_SEC_ALARM], rtc_encode(rtc, (unsigned)tm.tm_sec)) &&
	    rtc_alarm_match(rtc, rtc->cmos[RTC_MIN_ALARM], rtc_encode(rtc, (unsigned)tm.tm_min)) &&
	    rtc_alarm_match(rtc, rtc->cmos[RTC_HOUR_ALARM], rtc_encode_hour(rtc, (unsigned)tm.tm_hour)))
		rtc->cmos[RTC_REG_C] |= REG_C_AF;
	rtc_set_irq(rtc);
	rtc_schedule(rtc);
}

static void rtc_cmos_checksum(struct rtc *rtc)
{
	unsigned i, sum = 0;

	/* The AT BIOS checksum covers 0x10-0x2D, stored big-endian at 0x2E. */
	for (i = 0x10; i <= 0x2d; i++)
		sum += rtc->cmos[i];
	rtc->cmos[0x2e] = (uint8_t)(sum >> 8);
	rtc->cmos[0x2f] = (uint8_t)sum;
}

void rtc_init(struct rtc *rtc, struct clock *clock, const struct irq_line *irq,
	      uint64_t ram_below_4g, uint64_t ram_above_4g)
{
	uint64_t ext, high;

	memset(rtc, 0, sizeof(*rtc));
	rtc->clock = clock;
	if (irq)
		rtc->irq = *irq;
	clock_timer_init(&rtc->periodic, clock, rtc_periodic_fire, rtc);
	clock_timer_init(&rtc->update, clock, rtc_update_fire, rtc);
	rtc->cmos[RTC_REG_A] = REG_A_DV_32K | 0x06;	/* running, 1024 Hz periodic rate */
	rtc->cmos[RTC_REG_B] = REG_B_24H;		/* BCD, 24-hour, interrupts off */
	rtc->cmos[RTC_REG_D] = REG_D_VRT;
	rtc->last_c_read_ns = clock_now(clock);

	rtc->cmos[0x14] = 0x02;			/* equipment: x87 present, EGA/VGA, no floppy */
	rtc->cmos[0x15] = 0x80;			/* base memory: 640 KiB */
	rtc->cmos[0x16] = 0x02;
	/* Extended memory above 1 MiB in KiB, at most 0xFFFF. */
	ext = ram_below_4g > (1u << 20) ? (ram_below_4g - (1u << 20)) >> 10 : 0;
	if (ext > 0xffff)
		ext = 0xffff;
	rtc->cmos[0x17] = rtc->cmos[0x30] = (uint8_t)ext;
	rtc->cmos[0x18] = rtc->cmos[0x31] = (uint8_t)(ext >> 8);
	/* Memory between 16 MiB and 4 GiB in 64 KiB units. */
	high = ram_below_4g > (16u << 20) ? (ram_below_4g - (16u << 20)) >> 16 : 0;
	if (high > 0xffff)
		high = 0xffff;
	rtc->cmos[0x34] = (uint8_t)high;
	rtc->cmos[0x35] = (uint8_t)(high >> 8);
	/* Memory above 4 GiB in 64 KiB units (three bytes, as SeaBIOS reads them). */
	high = ram_above_4g >> 16;
	rtc->cmos[0x5b] = (uint8_t)high;
	rtc->cmos[0x5c] = (uint8_t)(high >> 8);
	rtc->cmos[0x5d] = (uint8_t)(high >> 16);
	rtc_cmos_checksum(rtc);
}

static uint8_t rtc_read_reg(struct rtc *rtc, unsigned r)
{
	uint64_t now, period;
	struct tm tm;
	uint8_t v;

	switch (r) {
	case RTC_SEC: case RTC_MIN: case RTC_HOUR: case RTC_DOW:
	case RTC_DOM: case RTC_MONTH: case RTC_YEAR: case CMOS_CENTURY:
		rtc_tm(rtc, &tm);
		switch (r) {
		case RTC_SEC:	return rtc_encode(rtc, (unsigned)tm.tm_sec);
		case RTC_MIN:	return rtc_encode(rtc, (unsigned)tm.tm_min);
		case RTC_HOUR:	return rtc_encode_hour(rtc, (unsigned)tm.tm_hour);
		case RTC_DOW:	return rtc_encode(rtc, (unsigned)tm.tm_wday + 1);	/* 1 = Sunday */
		case RTC_DOM:	return rtc_encode(rtc, (unsigned)tm.tm_mday);
		case RTC_MONTH:	return rtc_encode(rtc, (unsigned)tm.tm_mon + 1);
		case RTC_YEAR:	return rtc_encode(rtc, (unsigned)(tm.tm_year + 1900) % 100);
		default:	return rtc_encode(rtc, (unsigned)(tm.tm_year + 1900) / 100);
		}
	case RTC_REG_A:
		v = rtc->cmos[RTC_REG_A] & ~REG_A_UIP;
		if (!rtc->frozen && (v & REG_A_DV) == REG_A_DV_32K &&
		    clock_wall_ns(rtc->clock) % NS >= NS - UIP_NS)
			v |= REG_A_UIP;
		return v;
	case RTC_REG_C:
		/* Flags are set whether or not their interrupt is enabled: catch up on any missed. */
		now = clock_now(rtc->clock);
		period = rtc_period_ns(rtc);
		if (period && now / period != rtc->last_c_read_ns / period)
			rtc->cmos[RTC_REG_C] |= REG_C_PF;
		if (!rtc->frozen && (clock_wall_ns(rtc->clock) / NS) !=
		    (clock_wall_ns(rtc->clock) - (int64_t)(now - rtc->last_c_read_ns)) / NS)
			rtc->cmos[RTC_REG_C] |= REG_C_UF;
		rtc->last_c_read_ns = now;
		v = rtc->cmos[RTC_REG_C];
		if (v & rtc->cmos[RTC_REG_B] & (REG_C_PF | REG_C_AF | REG_C_UF))
			v |= REG_C_IRQF;
		/* Reading C clears it and releases IRQ 8. */
		rtc->cmos[RTC_REG_C] = 0;
		rtc_set_irq(rtc);
		return v;
	case RTC_REG_D:
		return REG_D_VRT;
	default:
		return rtc->cmos[r];
	}
}

/* Change one field of the RTC's time: the new time becomes an offset from the host's. */
static void rtc_write_time(struct rtc *rtc, unsigned r, uint8_t v)
{
	struct tm tm;
	int64_t t, century;

	rtc_tm(rtc, &tm);
	switch (r) {
	case RTC_SEC:	tm.tm_sec = (int)rtc_decode(rtc, v); break;
	case RTC_MIN:	tm.tm_min = (int)rtc_decode(rtc, v); break;
	case RTC_HOUR:	tm.tm_hour = (int)rtc_decode_hour(rtc, v); break;
	case RTC_DOW:	return;		/* derived from the date here */
	case RTC_DOM:	tm.tm_mday = (int)rtc_decode(rtc, v); break;
	case RTC_MONTH:	tm.tm_mon = (int)rtc_decode(rtc, v) - 1; break;
	case RTC_YEAR:
		century = (tm.tm_year + 1900) / 100;
		tm.tm_year = (int)(century * 100 + rtc_decode(rtc, v)) - 1900;
		break;
	default:	/* century */
		tm.tm_year = (int)(rtc_decode(rtc, v) * 100 + (unsigned)(tm.tm_year + 1900) % 100) - 1900;
		break;
	}
	t = (int64_t)timegm(&tm);
	if (rtc->frozen)
		rtc->held = t;
	else
		rtc->offset_s += t - rtc_now_s(rtc);
}

static void rtc_write_reg(struct rtc *rtc, unsigned r, uint8_t v)
{
	uint8_t old;

	switch (r) {
	case RTC_SEC: case RTC_MIN: case RTC_HOUR: case RTC_DOW:
	case RTC_DOM: case RTC_MONTH: case RTC_YEAR: case CMOS_CENTURY:
		rtc_write_time(rtc, r, v);
		break;
	case RTC_REG_A:
		rtc->cmos[RTC_REG_A] = v & ~REG_A_UIP;	/* UIP is read-only */
		rtc_schedule(rtc);
		break;
	case RTC_REG_B:
		old = rtc->cmos[RTC_REG_B];
		/* SET stops updates so the guest can write a consistent time; it clears UIE. */
		if (v & REG_B_SET) {
			v &= ~REG_B_UIE;
			if (!(old & REG_B_SET)) {
				rtc->held = rtc_now_s(rtc);
				rtc->frozen = true;
			}
		} else if (old & REG_B_SET) {
			rtc->frozen = false;
			rtc->offset_s = rtc->held - clock_wall_ns(rtc->clock) / NS;
		}
		rtc->cmos[RTC_REG_B] = v;
		rtc_set_irq(rtc);
		rtc_schedule(rtc);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break;		/* read-only */
	default:
		rtc->cmos[r] = v;
		break;
	}
}

void rtc_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	struct rtc *rtc = opaque;

	if (offset == 0) {
		if (is_write) {
			rtc->index = (uint8_t)*data & 0x7f;
			rtc->nmi_disabled = *data & 0x80;
		} else {
			*data = 0xff;	/* the index register is write-only */
		}
		return;
	}
	if (is_write)
		rtc_write_reg(rtc, rtc->index, (uint8_t)*data);
	else
		*data = rtc_read_reg(rtc, rtc->index);
}
