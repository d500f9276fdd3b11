/* sched_cadence.c: due times by tier (see sched_cadence.h for the table). */
#include "sched_cadence.h"

#include "sched_calendar.h"

bool sched_tier_active(Doudi__VisitTier tier)
{
    return tier == DOUDI__VISIT_TIER__VISIT_TIER_GENERAL ||
           tier == DOUDI__VISIT_TIER__VISIT_TIER_KEY ||
           tier == DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK;
}

static int months_of(const sched_cadence *c, Doudi__VisitTier tier)
{
    return tier == DOUDI__VISIT_TIER__VISIT_TIER_KEY ? c->key_months : c->general_months;
}

int64_t sched_cadence_first_due(const sched_cadence *c, Doudi__VisitTier tier, int64_t now_ms)
{
    if (tier == DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK)
        return now_ms + c->high_risk_ms;
    return sched_month_end_ms(sched_month_add(sched_month_of(now_ms), months_of(c, tier) - 1));
}

int64_t sched_cadence_after_visit(const sched_cadence *c, Doudi__VisitTier tier,
                                  int64_t visit_ms)
{
    if (tier == DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK)
        return visit_ms + c->high_risk_ms;
    return sched_month_end_ms(sched_month_add(sched_month_of(visit_ms), months_of(c, tier)));
}

int64_t sched_cadence_after_change(const sched_cadence *c, Doudi__VisitTier tier,
                                   int64_t last_visit_ms, int64_t now_ms)
{
    if (last_visit_ms > 0) {
        int64_t due = sched_cadence_after_visit(c, tier, last_visit_ms);
        if (due > now_ms)
            return due;
    }
    return sched_cadence_first_due(c, tier, now_ms);
}

bool sched_cadence_every_month(const sched_cadence *c, Doudi__VisitTier tier)
{
    if (tier == DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK)
        return c->high_risk_ms <= 28 * SCHED_DAY_MS;
    return tier == DOUDI__VISIT_TIER__VISIT_TIER_KEY && c->key_months == 1;
}

bool sched_cadence_due_in_month(const sched_cadence *c, Doudi__VisitTier tier,
                                int64_t next_due_ms, int32_t yyyymm)
{
    if (!sched_tier_active(tier))
        return false;
    return sched_cadence_every_month(c, tier) || next_due_ms <= sched_month_end_ms(yyyymm);
}

int64_t sched_cadence_demand(const sched_cadence *c, Doudi__VisitTier tier)
{
    /* An average month: 365.25 / 12 days. */
    const int64_t month_ms = 2629800000LL;
    switch (tier) {
    case DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK:
        return (month_ms * 1000 + c->high_risk_ms - 1) / c->high_risk_ms;
    case DOUDI__VISIT_TIER__VISIT_TIER_KEY:
    case DOUDI__VISIT_TIER__VISIT_TIER_GENERAL: {
        int m = months_of(c, tier);
        return (1000 + m - 1) / m;
    }
    default:
        return 0;
    }
}
