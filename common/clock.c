/* clock.c: wall and event time (see clock.h). */
#include "clock.h"
#include "error.h"

#include <string.h>
#include <time.h>

void dd_clock_init(dd_clock *clock, dd_clock_mode mode)
{
    clock->mode = mode;
    clock->newest_event_ms = 0;
}

int dd_clock_mode_parse(const char *text, dd_clock_mode *mode)
{
    if (strcmp(text, "wall") == 0)
        *mode = DD_CLOCK_WALL;
    else if (strcmp(text, "event") == 0)
        *mode = DD_CLOCK_EVENT;
    else
        return DD_ECONFIG;
    return 0;
}

int64_t dd_clock_now_ms(const dd_clock *clock)
{
    return clock->mode == DD_CLOCK_WALL ? dd_wall_ms() : clock->newest_event_ms;
}

void dd_clock_observe(dd_clock *clock, int64_t event_ms)
{
    if (event_ms > clock->newest_event_ms)
        clock->newest_event_ms = event_ms;
}

int64_t dd_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t dd_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
