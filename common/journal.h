/*
 * journal.h: writes to a large keyed tree appended to a journal instead of
 * rewritten in place, and folded into the tree in key order.
 *
 * A batch's writes to a large tree (the scheduler's plans, eligibility's
 * households) are spread over the whole tree: written in place, each one
 * dirties a page of its own and costs a random page write at the commit
 * (limits.md: <= 49 k random puts/s, and the disk's random writes are what
 * every daemon shares). So a write goes to the end of the journal instead
 * (an MDB_INTEGERKEY database; key: a counter, value: the tree's key and
 * the value, or a deletion), where a batch's writes fill pages one after
 * the other. An index in memory says, for every key with an entry in the
 * journal, which entry is the newest; a key not in the index is read from
 * the tree.
 *
 * When the journal holds `max_entries` entries the owner folds it
 * (dd_journal_fold_if_full): the newest entry of each key is written into
 * the tree (or its key deleted) in key order, so the fold rewrites each
 * page of the tree at most once, and the journal is emptied. The owner
 * folds at a point of its record sequence, never at a batch boundary, so a
 * replay with other batch boundaries stores the same keys and values.
 *
 *   put / del --append--> journal --fold (every max_entries)--> tree
 *        index (memory): key -> newest journal entry
 *
 * Folding a little at a time (dd_journal_set_pace): a whole fold stops
 * its owner for as long as it takes to rewrite the tree (seconds, with
 * millions of keys). With a pace, a full journal starts a round instead:
 * the entries written so far (up to the boundary, the last key of the
 * journal then) are folded over the calls that follow, `pace` keys plus
 * two for every entry appended since the last call, while writes go on:
 *   phase 1: the newest entry of each key, if no newer than the boundary,
 *            goes into the tree, in key order (a key written again since
 *            the round began keeps its newer entry in the journal);
 *   phase 2: the entries up to the boundary leave the journal, oldest
 *            first; then the round is over.
 * Where the round stands is kept in the journal under key 0 (entries count
 * from 1), so a restart goes on from there, and how far each call gets
 * depends on the record sequence alone. A forced fold finishes the round
 * and folds the rest at once.
 *
 * The index is derived from the journal alone: dd_journal_open builds it by
 * scanning the journal, and it is built again whenever a write transaction
 * that changed it did not commit (detected by the transaction ids: the
 * next write transaction gets the id of the one that was aborted, and a
 * read snapshot older than the change cannot have committed it). Counters
 * (the next key, the entries) are read from each write transaction at
 * dd_journal_begin, so nothing survives an abort.
 *
 * Keys of the journal count from 1 after every whole fold, so they too
 * depend only on the record sequence. Tree keys are 1 to DD_JOURNAL_KEY_MAX bytes
 * in LMDB's default order.
 *
 * Functions return 0, DD_NOTFOUND, DD_ETOOBIG, DD_ECORRUPT or an LMDB code.
 */
#ifndef DD_JOURNAL_H
#define DD_JOURNAL_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

/* The longest tree key a journal holds. */
#define DD_JOURNAL_KEY_MAX 127

typedef struct dd_journal dd_journal;

/*
 * journal: the journal's database (MDB_INTEGERKEY); tree: the database it
 * folds into. Builds the index from txn (any transaction).
 */
int dd_journal_open(MDB_txn *txn, MDB_dbi journal, MDB_dbi tree, uint64_t max_entries,
                    dd_journal **out);
/* Frees the index; accepts NULL, nulls *j. */
void dd_journal_close(dd_journal **j);

/* Entries after which dd_journal_fold_if_full folds (at least 1). */
void dd_journal_set_max(dd_journal *j, uint64_t max_entries);

/* Folds a little at a time (see above) with this many keys per call at
 * least; 0 (the default): whole folds. */
void dd_journal_set_pace(dd_journal *j, uint64_t keys_per_call);

/*
 * fn(arg, key, klen, value) is called for every key a fold writes into the
 * tree, after the write: value is what the tree now holds, NULL when the
 * key was deleted (valid during the call only). For an owner that mirrors
 * the tree in memory; the write transaction may still be aborted. NULL: none.
 */
void dd_journal_set_fold_hook(dd_journal *j,
                              void (*fn)(void *arg, const void *key, size_t klen,
                                         const MDB_val *value),
                              void *arg);

/* Whether the write transaction in progress has written to the tree (a
 * fold): values read from the tree earlier in it may point into its dirty
 * pages, which a later write can spill and free. */
int dd_journal_wrote_tree(const dd_journal *j);

/* The round in progress: 0 none, 1 folding keys, 2 deleting entries. */
int dd_journal_round(const dd_journal *j);

/*
 * Called at the start of every write transaction that may write through
 * the journal, before any other call with it: rebuilds the index if the
 * last transaction that changed it was aborted, and reads the counters.
 */
int dd_journal_begin(dd_journal *j, MDB_txn *txn);

/*
 * The newest journal entry of key: 0 with *value set (the index's copy,
 * valid until the next write or fold through the journal), or 0 with value->mv_data NULL when the newest
 * entry deletes the key (whatever the tree holds is gone); DD_NOTFOUND when
 * the journal has nothing for key, so the tree's value stands. txn may be a
 * read transaction.
 */
int dd_journal_get(dd_journal *j, MDB_txn *txn, const void *key, size_t klen, MDB_val *value);

/*
 * Starts fetching the index's slot for key into the CPU's caches, so that a
 * dd_journal_get of it soon after waits less; changes nothing. A caller
 * that knows several keys it will get (a household's members) prefetches
 * them all first, and their cache misses overlap.
 */
void dd_journal_prefetch(const dd_journal *j, const void *key, size_t klen);

/*
 * Whether the journal holds a value for key, without reading it: 0 when
 * its newest entry is a value, DD_NOTFOUND when there is none or it is a
 * deletion, or an error of rebuilding the index for txn.
 */
int dd_journal_holds(dd_journal *j, MDB_txn *txn, const void *key, size_t klen);

/*
 * Calls fn for the newest entry of every key the journal holds, in the
 * order they were written: value->mv_data is NULL for a deletion, and the
 * value is valid during the call only. fn returns 0 to go on; anything
 * else stops the walk and is returned. txn may be a read transaction.
 */
int dd_journal_each(dd_journal *j, MDB_txn *txn,
                    int (*fn)(void *arg, const void *key, size_t klen, const MDB_val *value),
                    void *arg);

/* Appends key's new value (write transaction after _begin). */
int dd_journal_put(dd_journal *j, MDB_txn *txn, const void *key, size_t klen, const void *value,
                   size_t len);
/* Appends key's deletion. */
int dd_journal_del(dd_journal *j, MDB_txn *txn, const void *key, size_t klen);

/* Entries in the journal as txn sees it (after _begin: counted exactly). */
uint64_t dd_journal_entries(const dd_journal *j);
/* Keys in the index (each key's newest entry). */
uint64_t dd_journal_keys(const dd_journal *j);
/* Memory of the index and its copies of the entries. */
size_t dd_journal_memory_bytes(const dd_journal *j);

/*
 * Folds the journal into the tree when it holds at least max_entries
 * entries (or always, with force): the newest value of every key, in key
 * order; then the journal is emptied and its keys start again at 1. With a
 * pace, starts or goes on with a round instead (force: finishes the round
 * and folds the rest whole). Called after every record of the owner's
 * sequence, never at a batch boundary.
 */
int dd_journal_fold_if_full(dd_journal *j, MDB_txn *txn, int force);

#endif
