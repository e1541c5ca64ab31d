/* The VM clock: host monotonic time as guest ns, wall time for the RTC, a sorted list of timers. */
#include <stddef.h>

#include "vmm/clock.h"

static uint64_t clock_host_monotonic(void *opaque)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void clock_init(struct clock *c, clock_source_fn *source, void *opaque, int64_t wall_epoch_ns)
{
	struct timespec ts;

	c->source = source ? source : clock_host_monotonic;
	c->source_opaque = opaque;
	c->base = c->source(opaque);
	if (wall_epoch_ns < 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		wall_epoch_ns = (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
	}
	c->wall_epoch_ns = wall_epoch_ns;
	c->head = NULL;
	c->on_reschedule = NULL;
	c->reschedule_opaque = NULL;
}

uint64_t clock_now(const struct clock *c)
{
	return c->source(c->source_opaque) - c->base;
}

int64_t clock_wall_ns(const struct clock *c)
{
	return c->wall_epoch_ns + (int64_t)clock_now(c);
}

void clock_timer_init(struct clock_timer *t, struct clock *c,
		      void (*cb)(void *opaque, uint64_t now), void *opaque)
{
	t->clock = c;
	t->deadline = CLOCK_NEVER;
	t->armed = 0;
	t->cb = cb;
	t->opaque = opaque;
	t->next = NULL;
}

void clock_timer_cancel(struct clock_timer *t)
{
	struct clock_timer **pp;

	if (!t->armed)
		return;
	for (pp = &t->clock->head; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->armed = 0;
	t->next = NULL;
}

void clock_timer_arm(struct clock_timer *t, uint64_t deadline)
{
	struct clock *c = t->clock;
	struct clock_timer **pp;

	clock_timer_cancel(t);
	t->deadline = deadline;
	t->armed = 1;
	/* A handful of timers per VM: a sorted list is the simplest thing that works. */
	for (pp = &c->head; *pp && (*pp)->deadline <= deadline; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	if (c->head == t && c->on_reschedule)
		c->on_reschedule(c->reschedule_opaque);
}

uint64_t clock_next_deadline(const struct clock *c)
{
	return c->head ? c->head->deadline : CLOCK_NEVER;
}

unsigned clock_run_due(struct clock *c)
{
	uint64_t now = clock_now(c);
	unsigned n = 0;

	/* A callback may re-arm its own timer (or others); take them one at a time. */
	while (c->head && c->head->deadline <= now) {
		struct clock_timer *t = c->head;

		c->head = t->next;
		t->next = NULL;
		t->armed = 0;
		t->cb(t->opaque, now);
		n++;
	}
	return n;
}

struct timespec clock_host_deadline(const struct clock *c, uint64_t t)
{
	uint64_t host = c->base + t;
	struct timespec ts = {
		.tv_sec = (time_t)(host / 1000000000ull),
		.tv_nsec = (long)(host % 1000000000ull),
	};

	return ts;
}

uint64_t clock_ns_to_ticks(uint64_t ns, uint64_t hz)
{
	return (uint64_t)((unsigned __int128)ns * hz / 1000000000u);
}

uint64_t clock_ticks_to_ns(uint64_t ticks, uint64_t hz)
{
	return (uint64_t)(((unsigned __int128)ticks * 1000000000u + hz - 1) / hz);
}
