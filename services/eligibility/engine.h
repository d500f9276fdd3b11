/*
 * engine.h: what doudi-eligibility does with each record of intake's log.
 *
 * elig_engine_apply() is the consumer's apply function: it runs inside the
 * one write transaction that also stores the cursor, so everything below is
 * exactly-once across kill -9. It is a deterministic function of the input
 * sequence: time is the newest event time applied (kept in the registry),
 * never the wall clock, so a replay produces the same registry, decisions
 * and output records.
 *
 *   person / household reported ---> registry update ---> re-evaluate the
 *   comparison record (changed?) --'                      household: every
 *   enrolment change -------------'                       member, every
 *                                                         program, care
 *   application ---> assessed decision (智能审核)          categories, tier
 *   risk signal ---> RISK alert; emergency: TEMP quick aid where it happened
 *   visit report / roster change / acknowledgement ---> passed on unchanged
 *                                                       (a danger finding
 *                                                       raises the tier)
 *
 * Output records (eligibility.proto) are appended to eligibility's log in
 * the same transaction: decisions whose outcome or amount changed, care
 * changes, alerts (discovery, review, risk, quick aid overdue, missing
 * information, dangling reference).
 *
 * A reference to a household or person that does not exist yet creates a
 * placeholder that the real report fills in later; a placeholder still
 * unfilled after dangling_wait raises a DANGLING_REFERENCE alert. Nothing
 * stalls the stream: a record that cannot be decoded (it passed intake, so
 * that means a newer producer) is counted and skipped with a log line.
 */
#ifndef ELIG_ENGINE_H
#define ELIG_ENGINE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "model.h"
#include "registry.h"
#include "standards.h"
#include "store.h"

#include "doudi/log.pb-c.h"

/* Records a screened chunk holds in the daemon: large enough that handing
 * one over costs nothing next to it. A batch's first chunks are shorter
 * (elig_screen_lead), so that the engine starts on few records. */
#define ELIG_SCREEN_CHUNK 4096

typedef struct elig_engine_options {
    elig_params params;
    int64_t dangling_wait_ms;        /* placeholder unfilled this long: alert */
    int64_t discovery_handle_ms;     /* deadlines the village gets, by alert kind */
    int64_t review_handle_ms;
    int64_t risk_handle_ms;
    int64_t urgent_handle_ms;
    int64_t missing_info_handle_ms;
    int64_t quick_aid_handle_ms;
    int64_t dangling_handle_ms;
    /* Memory for the department facts already known (factcache.h); 0: none. */
    size_t fact_cache_bytes;
    /* Records a chunk decoded and screened on a second thread while the
     * chunk before is applied (screen.h); 0: one thread does everything.
     * The first elig_screen_lead(screen_chunk) records of a batch are
     * applied unscreened, the whole batch when it is no longer. */
    size_t screen_chunk;
    /* For tests: the thread screens each chunk before the engine applies
     * the chunk before it (the order most exposed to stale verdicts). */
    bool screen_ahead;
} elig_engine_options;

/* What one batch did; published to metrics after its commit. */
typedef struct elig_batch_stats {
    uint64_t records[20];            /* by intake record kind (10..18) */
    uint64_t records_unchanged;      /* applied and changed nothing */
    uint64_t records_unchanged_cached; /* ...known so without a registry read */
    uint64_t records_changed;
    uint64_t records_undecodable;
    uint64_t evaluations;            /* household evaluations */
    uint64_t decisions_changed[ELIG_PROGRAMS];
    uint64_t alerts[8];              /* by AlertKind */
    uint64_t care_changes;
    int64_t evaluation_ns;
    uint64_t screened_unchanged;     /* answered by the screening thread's verdict */
    uint64_t screen_rechecked;       /* its verdict was stale: asked again */
    uint64_t screen_wait_ns;         /* time the engine waited for the thread */
} elig_batch_stats;

typedef struct elig_engine elig_engine;

/* Records at the start of a batch that the engine applies unscreened (the
 * thread screens the records after them meanwhile): a sixteenth of the
 * chunk, at least one. */
size_t elig_screen_lead(size_t chunk);

/* The engine borrows every argument; they must outlive it. */
elig_engine *elig_engine_new(elig_registry *registry, dd_log *out,
                             const elig_standards *standards,
                             const elig_engine_options *options);
void elig_engine_destroy(elig_engine **engine);
/* Swaps the standards table (SIGHUP); takes effect for the next batch. */
void elig_engine_set_standards(elig_engine *engine, const elig_standards *standards);

/*
 * The batch last applied was committed, or aborted: the engine keeps or
 * forgets the in-memory state it left (what it put in the fact cache). Call
 * them from the store's participant hooks (store.h), after every apply.
 */
void elig_engine_batch_committed(elig_engine *engine);
void elig_engine_batch_aborted(elig_engine *engine);

/* The consumer apply function (see consumer.h); arg is the engine. */
int elig_engine_apply(void *engine, MDB_txn *txn, Doudi__LogRecord *const *records, size_t n);

/*
 * The decisions held for person_id (every program, or only `program`), with
 * their traces: derived again from the registry as committed in txn, on the
 * date each was last decided (temporary assistance, which depends on the
 * emergency, is read as stored). The messages live in arena. Returns 0
 * (*n may be 0: nothing decided, or no such person) or an LMDB error.
 * Only between batches (the daemon's loop thread).
 */
int elig_engine_explain(elig_engine *engine, MDB_txn *txn, dd_arena *arena,
                        const char *person_id, Doudi__Program program,
                        Doudi__Decision ***out, size_t *n);

struct elig_factcache_stats;
/*
 * Fills the fact cache with the findings of every person txn (a read
 * transaction of committed state) holds, so a restarted daemon answers
 * repeated department records from memory from its first batch on.
 * *persons (may be NULL) gets the number of persons read.
 */
int elig_engine_warm_fact_cache(elig_engine *engine, MDB_txn *txn, uint64_t *persons);

void elig_engine_fact_cache_stats(const elig_engine *engine, struct elig_factcache_stats *out);

/* The stats of the last batch applied (valid after its commit). */
const elig_batch_stats *elig_engine_last_batch(const elig_engine *engine);

#endif
