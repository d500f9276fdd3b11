/*
 * dedup.h: intake's memory of which events it has accepted.
 *
 * The design constraint (measured, limits.md): random-key inserts into an
 * LMDB tree run at 30-50k/s even in large batches, far below the 250k
 * events/s intake must absorb; sequential appends run at 0.6-1.3M/s. So the
 * dedup index is NOT an LMDB tree keyed by event id. Instead:
 *
 *   - on disk, a journal (database "dedup", MDB_INTEGERKEY): one record per
 *     committed batch, key = the batch's first log sequence (always
 *     increasing, so the put is an MDB_APPEND), value = the batch's commit
 *     time and a 128-bit XXH3 hash of (source, event id) per accepted event,
 *     in sequence order. One append per group commit: amortized to ~16 bytes
 *     and a fraction of a put per event.
 *   - in memory, the 128-bit hashes in sequence order and a table of
 *     8-byte fingerprint-and-sequence entries over them (dedup.c), rebuilt
 *     from the journal at start-up (about 16 bytes read and one table
 *     insert per event held): one cache line read per new event.
 *
 * Retention: journal records older than the retention (default 35 days,
 * longer than any portal's retry horizon) are deleted from the front of the
 * journal (sequential deletes) and their hashes leave the table. An event id
 * seen again after that is accepted again: the retention is the promise.
 *
 * A 128-bit hash makes a false "duplicate" (two different ids colliding)
 * about as likely as a disk returning the wrong sector silently: with 10^8
 * ids held, ~10^-23.
 *
 * The table is a store participant: hashes inserted while a transaction is
 * open are pending; an abort removes them, a commit keeps them.
 */
#ifndef INTAKE_DEDUP_H
#define INTAKE_DEDUP_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct intake_dedup intake_dedup;

typedef struct intake_dedup_key {
    uint64_t lo, hi;
} intake_dedup_key;

/* The key of an event: XXH3-128 of source, a 0 byte, and the event id. */
intake_dedup_key intake_dedup_key_of(const char *source, size_t source_len,
                                     const char *event_id, size_t event_id_len);

/*
 * Opens the journal in store, loads every batch younger than now_ms -
 * retention_ms into memory, and registers as a store participant.
 */
int intake_dedup_open(dd_store *store, int64_t retention_ms, int64_t now_ms,
                      intake_dedup **out);
void intake_dedup_close(intake_dedup **dedup);

/*
 * Makes the table large enough to hold expected_ids (the ids the retention
 * window will hold at its fullest) without being renewed, now, before events
 * arrive: a renewal copies every id while new ones are added, a random
 * write each. Never shrinks the table; 0 or a number already room for: a
 * no-op. The table costs 8 bytes a slot, about 11.5 bytes an expected id.
 */
void intake_dedup_reserve(intake_dedup *dedup, size_t expected_ids);

/* The sequence an event with this key was accepted at, if held. Pending
 * (uncommitted) entries count: a batch never accepts the same id twice. */
bool intake_dedup_lookup(const intake_dedup *dedup, intake_dedup_key key, uint64_t *seq);

/* Starts fetching the table slot of key, to be looked up a little later. */
void intake_dedup_prefetch(const intake_dedup *dedup, intake_dedup_key key);

/*
 * Records key as accepted at seq in the open transaction. Sequences of one
 * transaction must be contiguous and increasing.
 */
void intake_dedup_add(intake_dedup *dedup, intake_dedup_key key, uint64_t seq);

/* Writes the pending batch's journal record into txn (no-op if empty). */
int intake_dedup_flush(intake_dedup *dedup, MDB_txn *txn, int64_t now_ms);

/*
 * Deletes journal batches older than now_ms - retention (at most max_batches
 * per call) and forgets their hashes after the commit. Runs its own write
 * transaction. *forgotten (may be NULL) gets the number of ids dropped.
 */
int intake_dedup_expire(intake_dedup *dedup, int64_t now_ms, size_t max_batches,
                        uint64_t *forgotten);

void intake_dedup_set_retention(intake_dedup *dedup, int64_t retention_ms);
/* Ids held in memory (committed and pending). */
size_t intake_dedup_count(const intake_dedup *dedup);
/* Bytes of the in-memory index (tables and keys). */
size_t intake_dedup_memory_bytes(const intake_dedup *dedup);

typedef struct intake_dedup_stats {
    size_t ids;              /* held, as intake_dedup_count */
    size_t table_slots;      /* of the table taking inserts */
    size_t old_table_slots;  /* of the table still being copied from (0: none) */
    uint64_t ring_sequences; /* sequences the key ring spans */
} intake_dedup_stats;

void intake_dedup_stats_get(const intake_dedup *dedup, intake_dedup_stats *out);

#endif
