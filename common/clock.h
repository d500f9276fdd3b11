/*
 * clock.h: what "now" means to a daemon.
 *
 * Rules and schedules run on event time so that a replay of a month of
 * events reproduces the month's decisions in seconds. A dd_clock is either
 * the wall clock (production intake, timers that must fire while nothing
 * arrives) or the newest event time observed so far (replay, tests,
 * benchmarks). Event time never goes backwards: an older event does not
 * rewind it.
 */
#ifndef DD_CLOCK_H
#define DD_CLOCK_H

#include <stdint.h>

typedef enum { DD_CLOCK_WALL = 0, DD_CLOCK_EVENT = 1 } dd_clock_mode;

typedef struct dd_clock {
    dd_clock_mode mode;
    int64_t newest_event_ms; /* 0 until the first observation */
} dd_clock;

void dd_clock_init(dd_clock *clock, dd_clock_mode mode);
/* "wall" or "event"; DD_ECONFIG for anything else. */
int dd_clock_mode_parse(const char *text, dd_clock_mode *mode);
/* Unix ms: the wall clock, or the newest event time observed (0 if none). */
int64_t dd_clock_now_ms(const dd_clock *clock);
/* Records an event's time; only moves event time forward. */
void dd_clock_observe(dd_clock *clock, int64_t event_ms);

/* The wall clock, Unix ms (CLOCK_REALTIME). */
int64_t dd_wall_ms(void);
/* A monotonic clock in ns, for latencies and deadlines only. */
int64_t dd_monotonic_ns(void);

#endif
