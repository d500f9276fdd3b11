/*
 * registry.h: persons, households and their latest decisions, stored in
 * eligibility's LMDB environment.
 *
 *   "households"  key: household id (1-64 bytes)      -> StoredHousehold
 *                 key: household id, 0x1F, identity number -> StoredPerson,
 *                 under the household the person's own report names ("" for
 *                 none): a member sorts right after its household, so a
 *                 fold rewrites a household and its members in one page
 *   "households_journal" the writes to "households", appended instead of
 *                 rewritten in place (common/journal.h): a batch's changed
 *                 households, spread over a province's registry, fill pages
 *                 one after the other instead of dirtying a random page (and
 *                 its branch) each. After the record that brings the journal
 *                 to journal_max entries it is folded into "households" in
 *                 key order; reads look in the journal first
 *   "person_index" key: identity number -> household id its record is under
 *                 (written only when a person is new or moves)
 *   "decisions"   key: household id, 0x1F, identity number, program byte
 *                 -> Decision, for decisions that cannot be derived again
 *                 from the registry: temporary assistance (it depends on
 *                 the emergency). Every other decision is summarised in the
 *                 household record (MemberSummaries) and its trace derived
 *                 again when asked for (engine.h, elig_engine_explain), so a
 *                 re-decided household writes one record, not seven
 *                 decisions per member.
 *   "due"         key: due_at_ms (big-endian) + type + id -> empty: things
 *                 that must be looked at again at an event time (a
 *                 placeholder waiting too long: 'P' person, 'H' household;
 *                 a quick aid to be decided: 'Q' person), soonest first
 *   "caseload"    key: county (6 digits) + program byte -> persons eligible,
 *                 households with anybody eligible, persons enrolled,
 *                 monthly amount (caseload.h), changed with every household
 *                 written
 *   "meta"        "clock" -> int64 newest event time applied;
 *                 "households" -> uint64 households held (households are
 *                 never deleted; counted when first stored, since the tree
 *                 alone misses those still in the journal)
 *
 * Records are encoded protobuf (registry.proto, eligibility.proto).
 * Reads decode into the caller's arena (valid until it is reset); every
 * function works inside the caller's transaction, so a batch sees its own
 * writes and commits them together with its cursor.
 *
 * Writes happen only when something changed (the caller compares): most
 * department records change nothing, and a random-key write costs a page.
 *
 * A data directory of the first layout (persons in a tree of their own) is
 * refused at open with a message saying to rebuild it from intake's log.
 */
#ifndef ELIG_REGISTRY_H
#define ELIG_REGISTRY_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "alloc.h"
#include "caseload.h"
#include "store.h"
#include "doudi/eligibility.pb-c.h"
#include "doudi/registry.pb-c.h"

typedef struct elig_registry elig_registry;

/*
 * Opens the registry's databases and builds the journal's index by scanning
 * it; journal_max: entries after which elig_registry_fold_if_full folds.
 * 0, DD_ECORRUPT (a data directory of the first layout) or an LMDB code.
 */
int elig_registry_open(dd_store *store, uint64_t journal_max, elig_registry **out);
void elig_registry_close(elig_registry **registry);
void elig_registry_set_journal_max(elig_registry *r, uint64_t journal_max);
/* Folds the journal a little after every record (journal.h,
 * dd_journal_set_pace); 0: whole folds. */
void elig_registry_set_fold_pace(elig_registry *r, uint64_t keys_per_record);
/* The journal's fold in progress (dd_journal_round). */
int elig_registry_journal_round(const elig_registry *r);

/* Memory for person_index in memory (homecache.h); 0 disables it. Before
 * the first read. */
#define ELIG_REGISTRY_HOME_CACHE_DEFAULT ((size_t)512 << 20)
void elig_registry_set_home_cache(elig_registry *r, size_t max_bytes);
size_t elig_registry_home_cache_bytes(const elig_registry *r);
/* A write transaction aborted: what it taught the registry's caches goes. */
void elig_registry_batch_aborted(elig_registry *r);

/* Call at the start of every write transaction, before anything else. */
int elig_registry_begin(elig_registry *r, MDB_txn *txn);
/* Call at the end of every write transaction that may have written
 * households: stores what they changed in the caseload. */
int elig_registry_flush(elig_registry *r, MDB_txn *txn);

/*
 * The caseload rows of counties starting with prefix (0 to 6 digits; -EINVAL
 * for more), in county and program order (caseload.h, elig_caseload_each).
 */
int elig_registry_caseload(elig_registry *r, MDB_txn *txn, const char *prefix,
                           int (*fn)(void *arg, const elig_caseload_row *row), void *arg);
/* Counts the caseload again from every household stored, in a write
 * transaction of its own (elig_registry_open does when it was never
 * counted). */
int elig_registry_recount_caseload(elig_registry *r);
/* Call after each record: folds the journal when it is full (or always,
 * with force), so where folds fall depends on the records alone. */
int elig_registry_fold_if_full(elig_registry *r, MDB_txn *txn, bool force);
/* Entries in the journal as the last write transaction left it. */
uint64_t elig_registry_journal_entries(const elig_registry *r);
/* Memory the journal's index takes (journal.h: a copy of each newest entry). */
size_t elig_registry_journal_memory_bytes(const elig_registry *r);

/* 0 with *out set, DD_NOTFOUND, DD_ECORRUPT or an LMDB code. */
int elig_registry_get_person(elig_registry *r, MDB_txn *txn, const char *person_id,
                             dd_arena *arena, Doudi__StoredPerson **out);
/*
 * The same for a person listed as a member of household_id: read from the
 * household's group in one look-up (the page its household is on), or
 * through the index when the person's own report names another household.
 */
int elig_registry_get_member(elig_registry *r, MDB_txn *txn, const char *household_id,
                             const char *person_id, dd_arena *arena, Doudi__StoredPerson **out);
/* Starts fetching what elig_registry_get_member of each of the n persons
 * of household_id will look up first, so that their cache misses overlap;
 * changes nothing. */
void elig_registry_prefetch_members(elig_registry *r, const char *household_id,
                                    char *const *person_ids, size_t n);
/* Stores p under the household its report names, moving it when that changed. */
int elig_registry_put_person(elig_registry *r, MDB_txn *txn, const Doudi__StoredPerson *p);
int elig_registry_get_household(elig_registry *r, MDB_txn *txn, const char *household_id,
                                dd_arena *arena, Doudi__StoredHousehold **out);
int elig_registry_put_household(elig_registry *r, MDB_txn *txn, const Doudi__StoredHousehold *h);
int elig_registry_get_decision(elig_registry *r, MDB_txn *txn, const char *household_id,
                               const char *person_id, Doudi__Program program, dd_arena *arena,
                               Doudi__Decision **out);
/* Stores d under its household_id and person_id. */
int elig_registry_put_decision(elig_registry *r, MDB_txn *txn, const Doudi__Decision *d);
/* Removes every decision of person_id under household_id (the person left). */
int elig_registry_delete_decisions(elig_registry *r, MDB_txn *txn, const char *household_id,
                                   const char *person_id);

/*
 * Calls fn for every person record as txn holds it (the tree's, or the
 * journal's where it has a newer one), decoded into arena, which is reset
 * now and then (a person is valid during its call only). fn returns 0 to
 * go on. For warming caches at start-up: it reads the whole registry (and
 * fills the registry's own cache of person_index).
 */
int elig_registry_each_person(elig_registry *r, MDB_txn *txn, dd_arena *arena,
                              int (*fn)(void *arg, const Doudi__StoredPerson *p), void *arg);

/* Schedules a look at (type, id) at event time due_ms. */
int elig_registry_add_due(elig_registry *r, MDB_txn *txn, int64_t due_ms, char type,
                          const char *id);
/* Cancels what add_due scheduled with the same arguments (none: no-op). */
int elig_registry_cancel_due(elig_registry *r, MDB_txn *txn, int64_t due_ms, char type,
                             const char *id);
/*
 * Calls fn for each entry due before cutoff_ms, soonest first, removing it
 * from the index first. fn returns 0 to go on.
 */
int elig_registry_take_due(elig_registry *r, MDB_txn *txn, int64_t cutoff_ms,
                           int (*fn)(void *arg, MDB_txn *txn, char type, const char *id),
                           void *arg);
/* The earliest due time held (INT64_MAX when nothing is due), in txn. */
int64_t elig_registry_first_due(elig_registry *r, MDB_txn *txn);

/* The newest event time applied (0 before the first), in txn. */
int64_t elig_registry_clock(elig_registry *r, MDB_txn *txn);
int elig_registry_set_clock(elig_registry *r, MDB_txn *txn, int64_t ms);

/* Record counts (committed state, for gauges). */
int elig_registry_counts(elig_registry *r, uint64_t *persons, uint64_t *households,
                         uint64_t *decisions);

#endif
