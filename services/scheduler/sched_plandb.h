/*
 * sched_plandb.h: the scheduler's LMDB databases and their key layouts.
 *
 * Every database lives in the scheduler's one environment (store.h) and is
 * written only inside the consumer's apply transaction (or the wall-clock
 * sweep's own), so plans, indexes, counters, the output log and the cursor
 * always commit together.
 *
 *   database        key                                  value
 *   plans           person id                            VisitPlan (as of the last fold)
 *   plan_journal    counter (MDB_INTEGERKEY)             id length (1), person id, VisitPlan
 *   due             due ms (8, big endian) + sequence (8) region (12) + tier (1)
 *                   + person id
 *   sparse_due      the same, for plans of tiers not due every month
 *   township_plans  township (9) + plan start ms (8) + id  -
 *   workers         worker id                            RosterWorker
 *   worker_regions  region (12) + worker id              -
 *   unassigned      region (12) + person id              -
 *   rates           month (4, big endian) + region prefix  due, visited, overdue (3 x int64)
 *   tiers           region prefix                        active plans by tier (5 x int64),
 *                                                        demand in millivisits (int64)
 *   townships       township (9 digits)                  sched_township (capacity, alert marks)
 *   unmatched       upstream sequence (MDB_INTEGERKEY)   UnmatchedVisitReport
 *   stale_due       counter (MDB_INTEGERKEY)             a key of "due" to delete
 *   meta            name                                 int64
 *
 * The due index holds every active plan by its next due time; the sweep
 * walks it from its watermark (meta "swept") to the clock, so finding what
 * became overdue costs only what became overdue. Region prefixes are the
 * levels of the ladder: province (2), city (4), county (6), township (9),
 * village (12); rates and tiers are kept for each level, so a region's rate
 * is one read.
 *
 * Keys are laid out so that the writes of a batch land on few pages: at
 * this size every random insert into a large tree dirties a page of its own
 * and costs a page write at the commit (limits.md). A due entry's key holds
 * the upstream sequence that wrote it (VisitPlan.due_indexed_sequence), so
 * the entries written for one due time are appended at the end of its
 * range. An entry of "due" that no longer matches its plan (the due time
 * changed before the sweep reached it) is left in place for the sweep to
 * drop as it passes (sched_engine.c), which saves a random delete per
 * visit; whoever reads "due" checks the entry against the plan. An entry
 * the sweep has already passed (a plan overdue, then visited) is not
 * deleted at once either: its key is appended to stale_due, and once many
 * have gathered they are deleted together in key order, a page of "due"
 * written once for all its stale entries instead of once each.
 * township_plans (every active plan, by township and start time)
 * grows at the end of each township's range. It is the one index of plans
 * by place: a worker's plans are those of the worker's township that name
 * the worker (assignment never leaves the township), and a region's due
 * list is read from it.
 *
 * A plan is written to the end of plan_journal, not in place: the plans
 * a batch changes are spread over the whole tree, and the journal turns a
 * random page per plan into a share of an appended page. An index in
 * memory finds a person's newest journal entry; every max_entries entries
 * the journal is folded into plans in key order (common/journal.h).
 *
 * Counters (rates and tiers), townships and workers are cached in memory
 * by the write transactions: loaded on first use, changed in memory and
 * written once each, in key order, by sched_db_counters_flush(), which the
 * engine calls before it scans them and before its transaction commits.
 * The cache outlives a committed transaction (so a counter is read from
 * LMDB once, not once per batch) and is dropped by sched_db_begin() when
 * the transaction that changed it was aborted (a write transaction gets
 * the id of the one aborted before it). Only the write transaction begun
 * last reads through the caches; any other transaction (queries) reads
 * what is committed.
 *
 * Values returned through MDB_val are owned by LMDB and valid until the
 * transaction ends or the next write to the same database; decoded
 * messages live in the caller's arena. Functions return 0, DD_NOTFOUND,
 * DD_ECORRUPT (a value of the wrong size) or an LMDB code.
 */
#ifndef SCHED_PLANDB_H
#define SCHED_PLANDB_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "store.h"

#include "doudi/scheduler.pb-c.h"

typedef enum {
    SCHED_DB_PLANS,
    SCHED_DB_DUE,
    SCHED_DB_SPARSE_DUE,
    SCHED_DB_TOWNSHIP_PLANS,
    SCHED_DB_WORKERS,
    SCHED_DB_WORKER_REGIONS,
    SCHED_DB_UNASSIGNED,
    SCHED_DB_RATES,
    SCHED_DB_TIERS,
    SCHED_DB_TOWNSHIPS,
    SCHED_DB_UNMATCHED,
    SCHED_DB_META,
    SCHED_DB_PLAN_JOURNAL,
    SCHED_DB_STALE_DUE,
    SCHED_DB_COUNT
} sched_dbi;

#define SCHED_LEVELS 5
/* Lengths of the region prefixes of the five levels, province first. */
extern const int sched_level_len[SCHED_LEVELS];

/* Slots of a tiers value: counts by VisitTier (0..4), then the demand. */
#define SCHED_TIER_SLOTS 5
#define SCHED_TIERS_DEMAND 5
#define SCHED_TIERS_VALUES 6

/* Slots of a rates value. */
enum { SCHED_RATE_DUE = 0, SCHED_RATE_VISITED = 1, SCHED_RATE_OVERDUE = 2, SCHED_RATE_VALUES = 3 };

typedef struct sched_db sched_db;

/*
 * Opens (creating) every database in store. DD_ECORRUPT (and an error on
 * stderr) when store holds the first layout of these databases, whose keys
 * differ: such a directory is rebuilt by consuming eligibility's log again.
 */
int sched_db_open(dd_store *store, sched_db **out);
void sched_db_close(sched_db **db);

/*
 * Starts a write transaction that may change anything here (every one the
 * engine runs): forgets cached state of an aborted transaction, reads the
 * journal's counters. Returns 0 or an LMDB code.
 */

int sched_db_begin(sched_db *db, MDB_txn *txn);

/*
 * The plan journal (common/journal.h): plans are written to its end and
 * folded into "plans" every max_entries entries (default
 * SCHED_JOURNAL_MAX_DEFAULT); the engine calls sched_db_journal_fold after
 * each record (force: fold now, when anything is in the journal).
 */
#define SCHED_JOURNAL_MAX_DEFAULT 1000000
void sched_db_set_journal_max(sched_db *db, uint64_t max_entries);
/* Folds a little after every record (journal.h, dd_journal_set_pace); 0: whole folds. */
void sched_db_set_fold_pace(sched_db *db, uint64_t keys_per_record);
int sched_db_journal_fold(sched_db *db, MDB_txn *txn, bool force);
uint64_t sched_db_journal_entries(const sched_db *db);
/* The plans tree's copy in memory (sched_plancache.h): plans copied and
 * the memory they take. Reads in the write transaction take plans from it
 * (after the journal); other transactions read the tree. */
void sched_db_plan_cache_stats(const sched_db *db, size_t *plans, size_t *bytes);
MDB_dbi sched_db_dbi(const sched_db *db, sched_dbi which);

/* Raw access to one database. */
int sched_db_get(sched_db *db, MDB_txn *txn, sched_dbi which, const void *key, size_t klen,
                 MDB_val *value);
int sched_db_put(sched_db *db, MDB_txn *txn, sched_dbi which, const void *key, size_t klen,
                 const void *value, size_t vlen);
/* Deleting a key that is not there is not an error. */
int sched_db_del(sched_db *db, MDB_txn *txn, sched_dbi which, const void *key, size_t klen);

/*
 * Calls fn for every key starting with prefix[0..plen-1], in key order,
 * until fn returns non-zero (1 stops the scan with 0; an error is
 * returned). fn must not write to the database scanned.
 */
typedef int (*sched_db_scan_fn)(void *arg, const MDB_val *key, const MDB_val *value);
int sched_db_scan_prefix(sched_db *db, MDB_txn *txn, sched_dbi which, const void *prefix,
                         size_t plen, sched_db_scan_fn fn, void *arg);

/*
 * Plans and workers, decoded into arena (DD_NOTFOUND when absent); the
 * decoded copy is the caller's. A plan is read from the journal when it is
 * there, else from plans; it is written to the journal. A worker is put
 * into the cache (written by the flush); only the write transaction after
 * sched_db_begin may put.
 */
int sched_db_get_plan(sched_db *db, MDB_txn *txn, const char *person_id, dd_arena *arena,
                      Doudi__VisitPlan **out);
int sched_db_put_plan(sched_db *db, MDB_txn *txn, const Doudi__VisitPlan *plan);
int sched_db_get_worker(sched_db *db, MDB_txn *txn, const char *worker_id, dd_arena *arena,
                        Doudi__RosterWorker **out);
int sched_db_put_worker(sched_db *db, MDB_txn *txn, const Doudi__RosterWorker *w,
                        dd_arena *arena);

/*
 * Start fetching what sched_db_get_plan and sched_db_get_worker of these
 * ids in the write transaction will look up first (the journal's and the
 * caches' slots), so that the misses of several records overlap; they
 * change nothing.
 */
void sched_db_prefetch_plan(const sched_db *db, const char *person_id);
void sched_db_prefetch_worker(const sched_db *db, const char *worker_id);

/*
 * The due indexes (sparse: the index of plans not due every month). An
 * entry is found again by its due time, the sequence it was written with
 * and the person.
 */
int sched_db_due_put(sched_db *db, MDB_txn *txn, bool sparse, int64_t due_ms, uint64_t sequence,
                     const char *person_id, const char *region, Doudi__VisitTier tier);
int sched_db_due_del(sched_db *db, MDB_txn *txn, bool sparse, int64_t due_ms, uint64_t sequence,
                     const char *person_id);

/*
 * Marks the entry of "due" (not sparse) for deletion: its key goes to the
 * end of stale_due, and *pending gets how many keys wait there.
 */
int sched_db_due_forget(sched_db *db, MDB_txn *txn, int64_t due_ms, uint64_t sequence,
                        const char *person_id, uint64_t *pending);

/*
 * Deletes every entry of "due" stale_due names, in key order, and empties
 * stale_due; *deleted gets how many were still there. A key no longer in
 * "due" is passed over.
 */
int sched_db_due_drop_forgotten(sched_db *db, MDB_txn *txn, uint64_t *deleted);

/* One entry of a due index, as a scan sees it (copies valid during the call). */
typedef struct sched_due_entry {
    int64_t due_ms;
    uint64_t sequence;
    const char *person_id;
    const char *region;
    Doudi__VisitTier tier;
} sched_due_entry;

/* What a due scan's fn may return besides 0, 1 and errors: drop this entry. */
#define SCHED_DUE_DELETE 2

/*
 * Calls fn for every entry with from_ms <= due < until_ms, earliest first
 * (stops like sched_db_scan_prefix; SCHED_DUE_DELETE deletes the entry and
 * goes on).
 */
typedef int (*sched_db_due_fn)(void *arg, const sched_due_entry *entry);
int sched_db_due_scan(sched_db *db, MDB_txn *txn, bool sparse, int64_t from_ms,
                      int64_t until_ms, sched_db_due_fn fn, void *arg);

/* The township_plans entry of an active plan (region12: its village). */
int sched_db_township_plan_put(sched_db *db, MDB_txn *txn, const char *region12,
                               int64_t started_ms, const char *person_id);
int sched_db_township_plan_del(sched_db *db, MDB_txn *txn, const char *region12,
                               int64_t started_ms, const char *person_id);
/*
 * Calls fn with the person id (a NUL-terminated copy) of every active plan
 * whose region starts with prefix[0..plen-1] — for plen > 9, of every
 * plan of the township: the caller filters by village — in township and
 * start order, stopping like sched_db_scan_prefix.
 */
typedef int (*sched_db_person_fn)(void *arg, const char *person_id);
int sched_db_township_plans_scan(sched_db *db, MDB_txn *txn, const char *prefix, size_t plen,
                                 sched_db_person_fn fn, void *arg);

/* Adds deltas to the rates of month at every level of region12 (pending). */
int sched_db_rates_add(sched_db *db, MDB_txn *txn, int32_t month, const char *region12,
                       const int64_t delta[SCHED_RATE_VALUES]);
/* Adds deltas to the rates of month of one region prefix only (pending). */
int sched_db_rates_add_prefix(sched_db *db, MDB_txn *txn, int32_t month, const char *prefix,
                              size_t plen, const int64_t delta[SCHED_RATE_VALUES]);
/* The rates of one region prefix (zeros when none), pending additions included. */
int sched_db_rates_get(sched_db *db, MDB_txn *txn, int32_t month, const char *prefix,
                       int64_t out[SCHED_RATE_VALUES]);
/* Adds to the tiers counters at every level of region12 (pending). */
int sched_db_tiers_add(sched_db *db, MDB_txn *txn, const char *region12, Doudi__VisitTier tier,
                       int64_t count_delta, int64_t demand_delta);
int sched_db_tiers_get(sched_db *db, MDB_txn *txn, const char *prefix,
                       int64_t out[SCHED_TIERS_VALUES]);
/*
 * Writes every counter changed since the last flush into txn, once each
 * (a counter back at zero is deleted so scans stay short). Returns 0 or an
 * LMDB code; after an error the transaction must be aborted (and the
 * counters dropped).
 */
int sched_db_counters_flush(sched_db *db, MDB_txn *txn);
/* Forgets every cached counter and township (kept only while unchanged on disk). */
void sched_db_counters_drop(sched_db *db);

/* A township's workers and alert marks (database townships). */
typedef struct sched_township {
    int32_t understaffed_month; /* month of the last UNDERSTAFFED alert */
    int32_t forecast_month;     /* month of the last FORECAST_MISS alert */
    int32_t visits_month;       /* the month visits_done counts */
    int32_t reserved;
    int64_t capacity;           /* monthly visits of its active workers */
    int64_t workers;            /* active workers */
    int64_t visits_done;        /* counted visits its workers made in visits_month */
} sched_township;

/*
 * township9: the first 9 digits of a region (zeros when absent). Cached
 * like the counters: a put (write transaction only) is written by the
 * flush, and a township back at all zeros is deleted.
 */
int sched_db_township_get(sched_db *db, MDB_txn *txn, const char *region12, sched_township *out);
int sched_db_township_put(sched_db *db, MDB_txn *txn, const char *region12,
                          const sched_township *t);

/* A named int64 in meta (*value = dflt when absent). */
int sched_db_meta_get(sched_db *db, MDB_txn *txn, const char *name, int64_t dflt,
                      int64_t *value);
int sched_db_meta_put(sched_db *db, MDB_txn *txn, const char *name, int64_t value);

/* Whether s is exactly 12 ASCII digits. */
bool sched_region_valid(const char *s);
/* The prefix of region12 of a level (0 province .. 4 village) into out. */
void sched_region_prefix(const char *region12, int level, char out[13]);
/* The region code of a township as an office: 9 digits + "000". */
void sched_township_code(const char *region12, char out[13]);

#endif
