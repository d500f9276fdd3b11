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
 * The index is derived from the journal alone: dd_journal_open builds it by
 * scanning the journal, and it is built again whenever a write transaction
 * that changed it did not commit (detected by the transaction ids: the
 * next write transaction gets the id of the one that was aborted, and a
 * read snapshot older than the change cannot have committed it). Counters
 * (the next key, the entries) are read from each write transaction at
 * dd_journal_begin, so nothing survives an abort.
 *
 * Keys of the journal count from 1 after every fold, so they too depend
 * only on the record sequence. Tree keys are 1 to DD_JOURNAL_KEY_MAX bytes
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
 * order; then the journal is emptied and its keys start again at 1.
 */
int dd_journal_fold_if_full(dd_journal *j, MDB_txn *txn, int force);

#endif
