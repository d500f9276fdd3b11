/*
 * alerts_engine.h: what doudi-alerts does with each record of its upstream's log,
 * and with time.
 *
 * An alert's life (alerts.proto has the same picture):
 *
 *   raise() ──▶ OPEN ──ack()──▶ ACKNOWLEDGED ──ack(RESOLVED)──▶ RESOLVED
 *                 │                  ▲
 *       sweep():  │ deadline passed  │ ack()
 *                 ▼                  │
 *              ESCALATED ────────────┘  (each sweep past its deadline:
 *                 │                      one level up, a new deadline,
 *                 │                      until escalation.top_level)
 *   OPEN/ESCALATED ──plan_change(): death, move-out──▶ INHIBITED
 *                                  (visit-overdue alerts only)
 *   raise() inside a silence ──▶ SILENCED (stored; not delivered, not escalated)
 *   raise() of a repeat (same dedup key as an unresolved alert): merged into
 *   it (count, last seen), nothing delivered.
 *
 * alerts_engine_apply() is the consumer's apply function: it runs inside
 * the one write transaction that also stores the cursor, so every effect
 * is exactly-once across kill -9. It is a deterministic function of the
 * upstream log: time is the newest event time applied (kept in the store),
 * and before each record is applied every deadline that its event time
 * has passed is swept first, in (deadline, number) order, so the result
 * does not depend on how the log was cut into batches. Escalations, like
 * raises, acknowledgements, resolutions and inhibitions of delivered
 * alerts, become records of the stream (alerts_stream.h), in that order.
 *
 * What a record costs (most of a province-month's records are raises, and
 * each raise escalates up to four times): an escalation writes its stream
 * record and nothing else. An alert's deadlines are first_deadline + k x
 * its level window (k = 0 .. top - 1), so its level, state and deadline
 * at any clock follow from what was stored when it was raised
 * (alerts_book_view), and the sweep needs no index of deadlines: alerts of
 * one escalation class (window, level window, top level) reach each step
 * in the order they were raised, so a position per class and step, kept
 * in `classes` and written once per batch, walks the alerts themselves
 * (their headers say class and whether they are still scheduled; a walk
 * keeps its cursor between steps). A repeat merged into an alert writes
 * only its count, last seen and last cause (the book's `repeats`); an
 * acknowledgement, a resolution or an inhibition rewrites the alert. The
 * dedup and person lookups are in memory (alerts_hashmap.h, rebuilt from
 * the book's `open` after an abort), timeliness is added up in memory by
 * village and written once per batch for every prefix, counts likewise,
 * and the replay index appends its full blocks and rewrites its open
 * ones, which sit together (alerts_stream.h). Settings that shape a climb
 * (windows, level window, top level, escalation on/off) apply to alerts
 * raised after they change.
 *
 * Handling timeliness (处置及时率): an alert counts as due once, in the
 * month of its village deadline, when it is handled (acknowledged or
 * resolved) while still at the village, counting as in time, or when that
 * deadline passes unhandled. Silenced and inhibited alerts are never due.
 */
#ifndef ALERTS_ENGINE_H
#define ALERTS_ENGINE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerts_book.h"
#include "alerts_stream.h"

#include "doudi/alerts.pb-c.h"
#include "doudi/log.pb-c.h"

typedef struct alerts_engine_options {
    int64_t window_ms[ALERTS_KINDS]; /* village window by AlertKind; 0: kind unknown */
    int64_t urgent_at_most_ms;
    int64_t info_at_least_ms;
    bool use_upstream;               /* Alert.handle_within_ms first, when set */
    bool escalation;
    Doudi__AlertLevel top_level;
    int64_t level_window_permille;
} alerts_engine_options;

/* Why an upstream record or acknowledgement was not applied. */
typedef enum {
    ALERTS_REJECT_UNDECODABLE,
    ALERTS_REJECT_UNKNOWN_KIND,
    ALERTS_REJECT_BAD_SEVERITY,
    ALERTS_REJECT_BAD_REGION,
    ALERTS_REJECT_ACK_UNKNOWN_ALERT,
    ALERTS_REJECT_ACK_FOREIGN_OFFICE,
    ALERTS_REJECT_ACK_ALREADY_CLOSED,
    ALERTS_REJECT_ACK_BAD_ACTION,
    ALERTS_REJECT_COUNT
} alerts_reject;

/* Metric label of a rejection reason. Static. */
const char *alerts_reject_name(alerts_reject r);

/* What one batch (or one sweep) did; published to metrics after its commit. */
typedef struct alerts_batch_stats {
    uint64_t records;
    uint64_t raised[ALERTS_KINDS];
    uint64_t merged;
    uint64_t escalations[6];         /* by the level reached */
    uint64_t acknowledged, resolved;
    uint64_t inhibited, silenced;
    uint64_t rejected[ALERTS_REJECT_COUNT];
    uint64_t stream_records;
} alerts_batch_stats;

typedef struct alerts_engine alerts_engine;

/* Borrows every argument; registers as a participant of store. */
alerts_engine *alerts_engine_new(dd_store *store, alerts_book *book, alerts_stream *stream,
                                 const alerts_engine_options *options);
void alerts_engine_destroy(alerts_engine **engine);

/* The consumer apply function (see consumer.h); arg is the engine. */
int alerts_engine_apply(void *engine, MDB_txn *txn, Doudi__LogRecord *const *records, size_t n);

/*
 * Moves the clock to now_ms (if later) and sweeps the deadlines it passed,
 * in txn: the wall-clock sweep of production ([clock] source = wall).
 */
int alerts_engine_sweep(alerts_engine *e, MDB_txn *txn, int64_t now_ms);

/*
 * Stores a new silence in txn, giving it the next id (s->id is set). The
 * caller validated it. It applies to alerts raised from the next batch on.
 */
int alerts_engine_add_silence(alerts_engine *e, MDB_txn *txn, Doudi__Silence *s);

/* The event clock as last committed (0 before the first record). */
int64_t alerts_engine_clock(const alerts_engine *e);
/* Counts as last committed. */
const alerts_counts *alerts_engine_counts(const alerts_engine *e);
/* Loads the committed counts and clock from the store (at start-up). */
int alerts_engine_load(alerts_engine *e, MDB_txn *txn);
/*
 * Copies the stats of the engine's writes committed since the last call
 * into *out and clears them; false when there were none.
 */
bool alerts_engine_take_stats(alerts_engine *e, alerts_batch_stats *out);

/* The window an alert of this kind and severity gets (0: unknown kind). */
int64_t alerts_engine_window(const alerts_engine_options *o, int kind, int severity,
                             int64_t upstream_ms);

#endif
