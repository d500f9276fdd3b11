/*
 * caseload.h: how many persons each program counts, by county, kept as the
 * registry's households change.
 *
 * A household record summarises its members' decisions (registry.proto,
 * MemberSummaries); the caseload is the sum of those summaries over every
 * household, by county (the first six digits of the household's region,
 * "000000" for a household without one) and program: persons the summary
 * says eligible, households with at least one of them, persons enrolled,
 * and the monthly amounts decided (a
 * household's 低保, decided once for the household and repeated in each
 * member's summary, counted once: DecisionSummary.amount_per_household).
 * An office reads it as "how many people does 低保 reach here, and for how
 * much a month"; it is exact, not sampled.
 *
 * Summing a province's registry on demand would read gigabytes, so the sums
 * are stored ("caseload": key county digits and a program byte, value four
 * 64-bit counts) and changed with every household written: the registry
 * tallies the household as stored before the write and as written, and the
 * difference goes into the write transaction's pending changes, flushed
 * into the database in the same transaction (so they commit, or vanish,
 * with the households they count). Temporary assistance is decided per
 * emergency and kept apart from the summaries: its caseload stays 0.
 *
 * The registry also remembers the tally of the households it read or wrote
 * last in the write transaction (a household is read, changed, then
 * written), so a write rarely needs to decode the stored record again.
 */
#ifndef ELIG_CASELOAD_H
#define ELIG_CASELOAD_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "doudi/registry.pb-c.h"

/* What one household counts. */
typedef struct elig_tally {
    char county[7];                    /* six digits, NUL-terminated */
    uint32_t eligible[ELIG_PROGRAMS];  /* indexed by Doudi__Program */
    uint32_t households[ELIG_PROGRAMS]; /* 1 when anybody is eligible */
    uint32_t enrolled[ELIG_PROGRAMS];
    int64_t amount_fen[ELIG_PROGRAMS];
} elig_tally;

/* One stored row: a county's count for a program. */
typedef struct elig_caseload_row {
    char county[7];
    Doudi__Program program;
    uint64_t eligible, households, enrolled;
    int64_t amount_fen;
} elig_caseload_row;

typedef struct elig_caseload elig_caseload;

/* Pending changes and remembered tallies for the database dbi. Never fails. */
elig_caseload *elig_caseload_new(MDB_dbi dbi);
void elig_caseload_destroy(elig_caseload **c);

/* The tally of h (NULL: an absent household, which counts nothing). */
void elig_caseload_tally(const Doudi__StoredHousehold *h, elig_tally *out);

/* Adds after - before to the pending changes. */
void elig_caseload_change(elig_caseload *c, const elig_tally *before, const elig_tally *after);

/* Remembers the tally of household_id as stored now in the write
 * transaction; recall finds it (false: not remembered). */
void elig_caseload_remember(elig_caseload *c, const char *household_id, const elig_tally *t);
bool elig_caseload_recall(const elig_caseload *c, const char *household_id, elig_tally *out);

/* Writes the pending changes into txn and empties them; 0 or an LMDB code. */
int elig_caseload_flush(elig_caseload *c, MDB_txn *txn);
/* Whether changes are pending. */
bool elig_caseload_pending(const elig_caseload *c);
/* The write transaction was aborted: pending changes and remembered tallies go. */
void elig_caseload_forget(elig_caseload *c);
/* Empties the database in txn (before counting everything again). */
int elig_caseload_clear(elig_caseload *c, MDB_txn *txn);

/*
 * Calls fn for every stored row whose county starts with prefix (0 to 6
 * digits), in county and program order. fn returns 0 to go on; anything
 * else stops the walk and is returned.
 */
int elig_caseload_each(const elig_caseload *c, MDB_txn *txn, const char *prefix,
                       int (*fn)(void *arg, const elig_caseload_row *row), void *arg);

#endif
