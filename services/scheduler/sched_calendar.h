/*
 * sched_calendar.h: Asia/Shanghai calendar months and days for visit plans.
 *
 * The visit rate is kept per calendar month in Asia/Shanghai (UTC+8, no
 * daylight saving), so a visit at 23:30 on the last day of a month belongs
 * to that month although it is 15:30 UTC. Months are int32 YYYYMM, instants
 * Unix milliseconds. Pure functions, defined for years 1..9999.
 */
#ifndef SCHED_CALENDAR_H
#define SCHED_CALENDAR_H

#include <stdint.h>

/* The month an instant falls in, YYYYMM. */
int32_t sched_month_of(int64_t unix_ms);
/* The first millisecond of a month (its 00:00 in Shanghai). */
int64_t sched_month_start_ms(int32_t yyyymm);
/* The last millisecond of a month (23:59:59.999 of its last day). */
int64_t sched_month_end_ms(int32_t yyyymm);
/* The month k months after yyyymm (k may be negative). */
int32_t sched_month_add(int32_t yyyymm, int k);
/* Days in a month (28..31; February of leap years has 29). */
int sched_days_in_month(int32_t yyyymm);
/* 00:00 in Shanghai of the day an instant falls in. */
int64_t sched_day_start_ms(int64_t unix_ms);
/* The day of the month (1..31) an instant falls in. */
int sched_day_of_month(int64_t unix_ms);
/* Whether a YYYYMM names a month of years 1..9999. */
int sched_month_valid(int32_t yyyymm);

#define SCHED_DAY_MS 86400000LL
#define SCHED_HOUR_MS 3600000LL

#endif
