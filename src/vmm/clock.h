/* One clock per VM: guest time in ns (from a replaceable source) and timers with deadlines and callbacks. */
#ifndef RV_VMM_CLOCK_H
#define RV_VMM_CLOCK_H

#include <stdint.h>
#include <time.h>

#define CLOCK_NEVER UINT64_MAX

/*
 * The source of guest time, in ns. The default reads the host's
 * CLOCK_MONOTONIC; a deterministic mode (time from retired instructions) or
 * a unit test supplies its own. Devices read time only through the clock,
 * so replacing the source changes no device.
 */
typedef uint64_t clock_source_fn(void *opaque);

struct clock;

struct clock_timer {
	struct clock *clock;
	uint64_t deadline;		/* guest ns; valid while armed */
	int armed;
	/* Runs in clock_run_due() with `now`, the clock reading that found it due. */
	void (*cb)(void *opaque, uint64_t now);
	void *opaque;
	struct clock_timer *next;	/* armed timers, sorted by deadline */
};

struct clock {
	clock_source_fn *source;
	void *source_opaque;
	uint64_t base;			/* source reading at clock_init: guest time starts at 0 */
	int64_t wall_epoch_ns;		/* host UTC (CLOCK_REALTIME) at guest time 0 */
	struct clock_timer *head;
	/* Called when the earliest deadline moved earlier (wake whoever sleeps until it). */
	void (*on_reschedule)(void *opaque);
	void *reschedule_opaque;
};

/* source NULL: host CLOCK_MONOTONIC. wall_epoch_ns < 0: take the host's UTC now. */
void clock_init(struct clock *c, clock_source_fn *source, void *opaque, int64_t wall_epoch_ns);

/* Guest time in ns since clock_init. Not decreasing. */
uint64_t clock_now(const struct clock *c);
/* Guest wall-clock time (UTC) in ns since 1970: what a battery-backed RTC shows. */
int64_t clock_wall_ns(const struct clock *c);

/*
 * Timers. Not thread-safe by themselves: the platform lock guards the
 * clock, its timers and the devices that own them.
 */
void clock_timer_init(struct clock_timer *t, struct clock *c,
		      void (*cb)(void *opaque, uint64_t now), void *opaque);
void clock_timer_arm(struct clock_timer *t, uint64_t deadline);
void clock_timer_cancel(struct clock_timer *t);

/* Earliest armed deadline, CLOCK_NEVER if none. */
uint64_t clock_next_deadline(const struct clock *c);
/* Run (and disarm first) every timer due at the current time; returns how many ran. */
unsigned clock_run_due(struct clock *c);

/* The host CLOCK_MONOTONIC time at which guest time `t` arrives (default source only). */
struct timespec clock_host_deadline(const struct clock *c, uint64_t t);

/* Helpers: ns <-> counts of a clock ticking at `hz`, exact to the ns, without overflow. */
uint64_t clock_ns_to_ticks(uint64_t ns, uint64_t hz);
uint64_t clock_ticks_to_ns(uint64_t ticks, uint64_t hz);	/* rounded up */

#endif
