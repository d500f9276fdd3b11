/*
 * sched_calendar.c: Asia/Shanghai months and days (see sched_calendar.h). Dates are
 * converted through a count of days since 1970-01-01 on the proleptic
 * Gregorian calendar, so month and year ends and leap days need no tables.
 */
#include "sched_calendar.h"

#define SHANGHAI_OFFSET_MS (8 * SCHED_HOUR_MS)

/* Days since 1970-01-01 of y-m-d (m 1..12, d 1..31). */
static int64_t days_from_date(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (m + 9) % 12; /* March is 0: the leap day ends the year */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void date_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t local_days(int64_t unix_ms)
{
    return floor_div(unix_ms + SHANGHAI_OFFSET_MS, SCHED_DAY_MS);
}

int32_t sched_month_of(int64_t unix_ms)
{
    int64_t y;
    int m, d;
    date_from_days(local_days(unix_ms), &y, &m, &d);
    return (int32_t)(y * 100 + m);
}

int64_t sched_month_start_ms(int32_t yyyymm)
{
    return days_from_date(yyyymm / 100, yyyymm % 100, 1) * SCHED_DAY_MS - SHANGHAI_OFFSET_MS;
}

int32_t sched_month_add(int32_t yyyymm, int k)
{
    int64_t index = (int64_t)(yyyymm / 100) * 12 + (yyyymm % 100 - 1) + k;
    return (int32_t)(floor_div(index, 12) * 100 + (index - floor_div(index, 12) * 12) + 1);
}

int64_t sched_month_end_ms(int32_t yyyymm)
{
    return sched_month_start_ms(sched_month_add(yyyymm, 1)) - 1;
}

int sched_days_in_month(int32_t yyyymm)
{
    return (int)((sched_month_start_ms(sched_month_add(yyyymm, 1)) - sched_month_start_ms(yyyymm)) /
                 SCHED_DAY_MS);
}

int64_t sched_day_start_ms(int64_t unix_ms)
{
    return local_days(unix_ms) * SCHED_DAY_MS - SHANGHAI_OFFSET_MS;
}

int sched_day_of_month(int64_t unix_ms)
{
    int64_t y;
    int m, d;
    date_from_days(local_days(unix_ms), &y, &m, &d);
    return d;
}

int sched_month_valid(int32_t yyyymm)
{
    int y = yyyymm / 100, m = yyyymm % 100;
    return y >= 1 && y <= 9999 && m >= 1 && m <= 12;
}
