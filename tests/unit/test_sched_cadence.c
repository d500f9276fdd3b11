/*
 * test_sched_cadence.c: Asia/Shanghai months and the due times of visit
 * plans across month and year ends, leap days and the time zone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sched_cadence.h"
#include "sched_calendar.h"

/* Unix ms of a Shanghai wall-clock time. */
static int64_t sh(int y, int mo, int d, int h, int mi)
{
    /* Days from 1970-01-01 by the civil-date formula, independent of calendar.c. */
    int yy = y - (mo <= 2);
    int era = (yy >= 0 ? yy : yy - 399) / 400;
    int yoe = yy - era * 400;
    int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    return days * 86400000LL + (int64_t)(h - 8) * 3600000LL + (int64_t)mi * 60000LL;
}

static const sched_cadence cadence = {
    .high_risk_ms = 7 * SCHED_DAY_MS, .key_months = 1, .general_months = 3,
    .urgent_ms = 24 * SCHED_HOUR_MS};

static void months_in_shanghai(void **state)
{
    (void)state;
    /* 23:30 on the last day of March in Shanghai is 15:30 UTC the same day. */
    assert_int_equal(sched_month_of(sh(2026, 3, 31, 23, 30)), 202603);
    /* 00:30 on 1 April in Shanghai is still 31 March in UTC: April here. */
    assert_int_equal(sched_month_of(sh(2026, 4, 1, 0, 30)), 202604);
    assert_int_equal(sched_month_start_ms(202604), sh(2026, 4, 1, 0, 0));
    assert_int_equal(sched_month_end_ms(202603), sh(2026, 4, 1, 0, 0) - 1);
    assert_int_equal(sched_month_of(sched_month_end_ms(202603)), 202603);
    assert_int_equal(sched_month_of(sched_month_end_ms(202603) + 1), 202604);
    assert_int_equal(sched_day_start_ms(sh(2026, 3, 31, 23, 30)), sh(2026, 3, 31, 0, 0));
    assert_int_equal(sched_day_of_month(sh(2026, 3, 31, 23, 59)), 31);
    assert_int_equal(sched_day_of_month(sh(2026, 4, 1, 0, 0)), 1);
}

static void month_arithmetic(void **state)
{
    (void)state;
    assert_int_equal(sched_month_add(202612, 1), 202701);
    assert_int_equal(sched_month_add(202601, -1), 202512);
    assert_int_equal(sched_month_add(202611, 3), 202702);
    assert_int_equal(sched_month_add(202603, -15), 202412);
    assert_int_equal(sched_days_in_month(202402), 29);
    assert_int_equal(sched_days_in_month(202302), 28);
    assert_int_equal(sched_days_in_month(200002), 29);
    assert_int_equal(sched_days_in_month(210002), 28);
    assert_int_equal(sched_days_in_month(202612), 31);
    assert_int_equal(sched_month_end_ms(202402), sh(2024, 3, 1, 0, 0) - 1);
    assert_true(sched_month_valid(202612));
    assert_false(sched_month_valid(202613));
    assert_false(sched_month_valid(202600));
}

static void key_is_every_calendar_month(void **state)
{
    (void)state;
    Doudi__VisitTier key = DOUDI__VISIT_TIER__VISIT_TIER_KEY;
    /* A plan started mid-month is due by that month's end. */
    assert_int_equal(sched_cadence_first_due(&cadence, key, sh(2026, 6, 15, 9, 0)),
                     sched_month_end_ms(202606));
    /* A visit in December: the next by the end of January (year end). */
    assert_int_equal(sched_cadence_after_visit(&cadence, key, sh(2026, 12, 15, 10, 0)),
                     sched_month_end_ms(202701));
    /* A visit at 23:30 on 31 January (Shanghai) belongs to January. */
    assert_int_equal(sched_cadence_after_visit(&cadence, key, sh(2027, 1, 31, 23, 30)),
                     sched_month_end_ms(202702));
    /* In a leap year, the February due time is 29 February 23:59:59.999. */
    assert_int_equal(sched_cadence_after_visit(&cadence, key, sh(2028, 1, 3, 10, 0)),
                     sh(2028, 3, 1, 0, 0) - 1);
    assert_true(sched_cadence_every_month(&cadence, key));
    assert_true(sched_cadence_due_in_month(&cadence, key, sched_month_end_ms(202701), 202612));
}

static void general_is_quarterly(void **state)
{
    (void)state;
    Doudi__VisitTier general = DOUDI__VISIT_TIER__VISIT_TIER_GENERAL;
    assert_int_equal(sched_cadence_first_due(&cadence, general, sh(2027, 12, 5, 8, 0)),
                     sh(2028, 3, 1, 0, 0) - 1); /* end of February 2028, a leap day */
    assert_int_equal(sched_cadence_after_visit(&cadence, general, sh(2026, 11, 20, 8, 0)),
                     sched_month_end_ms(202702));
    assert_false(sched_cadence_every_month(&cadence, general));
    int64_t due = sched_month_end_ms(202702);
    assert_false(sched_cadence_due_in_month(&cadence, general, due, 202612));
    assert_false(sched_cadence_due_in_month(&cadence, general, due, 202701));
    assert_true(sched_cadence_due_in_month(&cadence, general, due, 202702));
    /* Still owed later (overdue) is still due. */
    assert_true(sched_cadence_due_in_month(&cadence, general, due, 202703));
    assert_false(sched_cadence_due_in_month(&cadence, DOUDI__VISIT_TIER__VISIT_TIER_NONE, due,
                                            202702));
}

static void high_risk_is_weekly(void **state)
{
    (void)state;
    Doudi__VisitTier high = DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK;
    /* Seven days across the leap day. */
    assert_int_equal(sched_cadence_after_visit(&cadence, high, sh(2028, 2, 25, 12, 0)),
                     sh(2028, 3, 3, 12, 0));
    /* Across a year end. */
    assert_int_equal(sched_cadence_after_visit(&cadence, high, sh(2026, 12, 28, 9, 0)),
                     sh(2027, 1, 4, 9, 0));
    assert_int_equal(sched_cadence_first_due(&cadence, high, sh(2026, 6, 1, 0, 0)),
                     sh(2026, 6, 8, 0, 0));
    assert_true(sched_cadence_every_month(&cadence, high));
    sched_cadence slow = cadence;
    slow.high_risk_ms = 40 * SCHED_DAY_MS;
    assert_false(sched_cadence_every_month(&slow, high));
}

static void change_of_tier(void **state)
{
    (void)state;
    Doudi__VisitTier high = DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK;
    Doudi__VisitTier key = DOUDI__VISIT_TIER__VISIT_TIER_KEY;
    int64_t now = sh(2026, 5, 20, 12, 0);
    /* Last visit recent enough: the new cadence counts from it. */
    assert_int_equal(sched_cadence_after_change(&cadence, high, sh(2026, 5, 18, 12, 0), now),
                     sh(2026, 5, 25, 12, 0));
    /* Too long ago: as a new plan, from now. */
    assert_int_equal(sched_cadence_after_change(&cadence, high, sh(2026, 5, 1, 12, 0), now),
                     sh(2026, 5, 27, 12, 0));
    assert_int_equal(sched_cadence_after_change(&cadence, high, 0, now), sh(2026, 5, 27, 12, 0));
    assert_int_equal(sched_cadence_after_change(&cadence, key, sh(2026, 5, 2, 12, 0), now),
                     sched_month_end_ms(202606));
}

static void demand(void **state)
{
    (void)state;
    assert_int_equal(sched_cadence_demand(&cadence, DOUDI__VISIT_TIER__VISIT_TIER_KEY), 1000);
    assert_int_equal(sched_cadence_demand(&cadence, DOUDI__VISIT_TIER__VISIT_TIER_GENERAL), 334);
    int64_t weekly = sched_cadence_demand(&cadence, DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK);
    assert_true(weekly > 4300 && weekly < 4400);
    assert_int_equal(sched_cadence_demand(&cadence, DOUDI__VISIT_TIER__VISIT_TIER_NONE), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(months_in_shanghai),
        cmocka_unit_test(month_arithmetic),
        cmocka_unit_test(key_is_every_calendar_month),
        cmocka_unit_test(general_is_quarterly),
        cmocka_unit_test(high_risk_is_weekly),
        cmocka_unit_test(change_of_tier),
        cmocka_unit_test(demand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
