/*
 * sched_cadence.h: when a person's next visit is due (domain.md §4).
 *
 *   tier        first visit of a plan            after a counted visit at t
 *   HIGH_RISK   now + high_risk_ms (7 days)      t + high_risk_ms
 *   KEY         end of this month + key_months-1  end of month(t) + key_months
 *   GENERAL     end of this month + general-1     end of month(t) + general_months
 *
 * "At least once every calendar month" is a due time at the end of a
 * Shanghai calendar month, not a fixed number of days: a visit on 3 June
 * and one on 31 July both satisfy a monthly plan (the next visit is due by
 * 31 July 23:59:59.999 and 31 August respectively). A major change or a
 * danger puts a visit due within urgent_ms (24 hours) of the event, unless
 * the plan already has one due sooner.
 *
 * A person is due a visit in month M when their plan is active during M
 * and a visit is owed by the end of M. Tiers visited at least monthly
 * (HIGH_RISK with high_risk_ms of at most 28 days, KEY with key_months 1)
 * are due every month ("every month" tiers); the others (GENERAL) when the
 * next due time is within M or before.
 *
 * The demand of a plan, what it takes of a worker's monthly capacity, is
 * counted in thousandths of a visit a month ("millivisits"): a weekly plan
 * asks about 4.3 visits a month, a monthly one 1, a quarterly one 1/3.
 */
#ifndef SCHED_CADENCE_H
#define SCHED_CADENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "doudi/eligibility.pb-c.h"

typedef struct sched_cadence {
    int64_t high_risk_ms;  /* weekly: 7 days */
    int key_months;        /* 1 */
    int general_months;    /* 3 */
    int64_t urgent_ms;     /* a major change: 24 hours */
} sched_cadence;

/* Whether a tier asks for visits at all (GENERAL, KEY, HIGH_RISK). */
bool sched_tier_active(Doudi__VisitTier tier);

/* The due time of the first visit of a plan of tier started at now_ms. */
int64_t sched_cadence_first_due(const sched_cadence *c, Doudi__VisitTier tier, int64_t now_ms);

/* The due time of the visit after a counted visit at visit_ms. */
int64_t sched_cadence_after_visit(const sched_cadence *c, Doudi__VisitTier tier,
                                  int64_t visit_ms);

/*
 * The due time after a change of tier at now_ms: the cadence of the new
 * tier counted from the last visit (last_visit_ms, 0 for none) when that is
 * still ahead, else the first due time of a new plan.
 */
int64_t sched_cadence_after_change(const sched_cadence *c, Doudi__VisitTier tier,
                                   int64_t last_visit_ms, int64_t now_ms);

/* Whether a tier is due every calendar month whatever its due time. */
bool sched_cadence_every_month(const sched_cadence *c, Doudi__VisitTier tier);

/* Whether a plan of tier with a visit due at next_due_ms is due in yyyymm. */
bool sched_cadence_due_in_month(const sched_cadence *c, Doudi__VisitTier tier,
                                int64_t next_due_ms, int32_t yyyymm);

/* What a plan of tier asks of a worker, in millivisits a month. */
int64_t sched_cadence_demand(const sched_cadence *c, Doudi__VisitTier tier);

#endif
