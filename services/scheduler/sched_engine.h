/*
 * sched_engine.h: what doudi-scheduler does with each record of eligibility's log.
 *
 * sched_engine_apply() is the consumer's apply function: it runs inside the
 * one write transaction that also stores the cursor, so plans, indexes,
 * counters and the records appended to the scheduler's log are exactly-once
 * across kill -9. It is a deterministic function of the record sequence:
 * before a record is applied, the clock advances to the record's stamp
 * (eligibility stamps records with event time) and everything due before
 * that instant happens first, in time order — overdue visits (the sweep),
 * Shanghai midnights (understaffing and forecast checks), month ends (the
 * new month's people due). Batch boundaries therefore change nothing.
 *
 * A plan's life (one per person):
 *
 *            CareChange tier GENERAL/KEY/HIGH_RISK
 *   (none) -----------------------------------------> ACTIVE --+ tier, region,
 *      ^                                               |  ^    | 24-hour visit,
 *      |   CareChange tier NONE / deceased             |  +----+ visit, danger
 *      +------------- ENDED <--------------------------+        (plan_change,
 *                       |   CareChange tier again               count_visit)
 *                       +---------------------------> ACTIVE
 *
 * Records and what they do:
 *   CareChange (101)    start, change or end the plan (PlanChange 201);
 *                       assign a worker on start or move (VisitAssignment 200)
 *   VisitReport (16)    visited / by phone or video (where the tier allows)
 *                       count as a visit: next due time, the month's rate;
 *                       not at home and refused are attempts; a danger
 *                       raises the tier and an alert; no plan or an unknown
 *                       worker: kept in "unmatched" and flagged by an alert
 *   RosterChange (17)   workers join, change capacity or region, leave;
 *                       their plans are re-assigned
 *   Alert (102)         passed on with the assigned worker and any urgent
 *                       visit it caused (a major change: hospital discharge,
 *                       death of a spouse or household member, disaster)
 *   Acknowledgement (18) passed on unchanged
 *
 * Alerts raised here (Alert, kind 102 of the scheduler's log): VISIT_OVERDUE
 * (to the township, once per due visit), DANGER_FOUND (to the village),
 * UNDERSTAFFED and FORECAST_MISS (to the township, once a month each),
 * UNMATCHED_VISIT_REPORT (to the report's village).
 *
 * Monthly rate: a person counts as due in month M when their plan is active
 * during M and a visit is owed by its end (sched_cadence.h), and as visited when
 * a counted visit falls in M. A plan that ends in M before being visited is
 * taken out of M's due count. Counts are kept per village, township,
 * county, city and province (sched_plandb.h), incrementally: at a month's start
 * the people due are added from the counters by tier, without touching
 * every plan; a plan brings its own month flags up to date the next time it
 * changes.
 */
#ifndef SCHED_ENGINE_H
#define SCHED_ENGINE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched_cadence.h"
#include "log.h"
#include "sched_plandb.h"

#include "doudi/log.pb-c.h"

typedef struct sched_options {
    sched_cadence cadence;
    /* Phone or video visits count for tiers up to this one (VisitTier
     * value; 0: never). */
    int phone_counts_up_to;
    bool refused_counts;            /* a refused visit counts as a visit */
    int forecast_from_day;          /* forecast checks from this day of the month */
    int64_t overdue_handle_ms;      /* how long the township has, by alert kind */
    int64_t danger_handle_ms;
    int64_t understaffed_handle_ms;
    int64_t forecast_handle_ms;
    int64_t unmatched_handle_ms;
    /* Due entries the sweep had passed (plans overdue, then visited) that
     * gather before they are deleted together (sched_plandb.h); 0: 131072. */
    uint64_t stale_due_drop_at;
} sched_options;

/* Kinds of input record counted in sched_batch_stats.records. */
enum {
    SCHED_IN_CARE_CHANGE,
    SCHED_IN_ALERT,
    SCHED_IN_VISIT_REPORT,
    SCHED_IN_ROSTER_CHANGE,
    SCHED_IN_ACKNOWLEDGEMENT,
    SCHED_IN_OTHER,
    SCHED_IN_KINDS
};

/* What one batch did; published to metrics after its commit. */
typedef struct sched_batch_stats {
    uint64_t records[SCHED_IN_KINDS];
    uint64_t undecodable;          /* records that do not decode */
    uint64_t rejected;             /* records refused for bad content */
    uint64_t alerts_raised[32];    /* by AlertKind, raised here */
    uint64_t alerts_passed;        /* eligibility's alerts passed on */
    uint64_t plans_started, plans_ended, tier_changes, moves, urgent_visits;
    uint64_t assignments, unassigned;
    uint64_t visits_counted, attempts, unmatched_reports, late_visits;
    uint64_t sweeps;
    int64_t sweep_ns;
    uint64_t stale_due_dropped; /* passed-over due entries deleted together */
} sched_batch_stats;

typedef struct sched_engine sched_engine;

/* The engine borrows db and out; they must outlive it. */
sched_engine *sched_engine_new(sched_db *db, dd_log *out, const sched_options *options);
void sched_engine_destroy(sched_engine **engine);

/* The consumer apply function (consumer.h); arg is the engine. */
int sched_engine_apply(void *engine, MDB_txn *txn, Doudi__LogRecord *const *records, size_t n);

/*
 * Moves the clock to now_ms in txn (nothing happens if it is not ahead):
 * overdue sweep, midnights and month ends up to now_ms. The wall-clock
 * timer of production mode calls it in a write transaction of its own.
 */
int sched_engine_advance(sched_engine *engine, MDB_txn *txn, int64_t now_ms);

/* The clock as committed in txn (0 before the first record). */
int64_t sched_engine_clock(sched_engine *engine, MDB_txn *txn);
/* The current accounting month as committed in txn (0 before the first record). */
int32_t sched_engine_month(sched_engine *engine, MDB_txn *txn);

/* The stats of the last batch (or advance) applied; valid after its commit. */
const sched_batch_stats *sched_engine_last_batch(const sched_engine *engine);

#endif
