/*
 * sched_journal.h: the plan journal, where plan writes are appended instead
 * of rewritten in place.
 *
 * A visit report rewrites one plan, and the plans of a batch are spread
 * over the whole province: written in place, every report dirties a page
 * of its own in the large plans tree and costs a page write at the commit
 * (limits.md: <= 49 k random puts/s). So a plan write goes to the end of
 * the journal instead (database plan_journal, key: a counter, value: the
 * person id and the encoded plan), where a batch's writes fill pages one
 * after the other. An index in memory says, for every person with a plan
 * in the journal, which entry is the newest; a plan not in the index is
 * read from the plans database.
 *
 * When the journal holds `max_entries` entries after a record, the engine
 * folds it (sched_journal_fold_if_full): the newest entry of each person
 * is written into plans in key order, so the fold rewrites each page of
 * plans at most once, and the journal is emptied. The fold happens at a
 * point of the record sequence, never at a batch boundary, so a replay
 * with other batch boundaries stores the same keys and values.
 *
 *   plan write --append--> plan_journal --fold (every max_entries)--> plans
 *        index (memory): person -> newest journal entry
 *
 * The index is derived from the journal alone: sched_journal_open builds
 * it by scanning the journal, and it is built again whenever a write
 * transaction that changed it did not commit (detected by the transaction
 * ids: the next write transaction gets the id of the one that was aborted,
 * and a read snapshot older than the change cannot have committed it).
 * Counters (the next key, the entries) are read from each write
 * transaction at sched_journal_begin, so nothing survives an abort.
 *
 * Keys of the journal count from 1 after every fold, so they too depend
 * only on the record sequence.
 *
 * Functions return 0, DD_NOTFOUND, DD_ECORRUPT or an LMDB code.
 */
#ifndef SCHED_JOURNAL_H
#define SCHED_JOURNAL_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sched_journal sched_journal;

/*
 * journal: the plan_journal database (MDB_INTEGERKEY); plans: the plans
 * database it folds into. Builds the index from txn (any transaction).
 */
int sched_journal_open(MDB_txn *txn, MDB_dbi journal, MDB_dbi plans, uint64_t max_entries,
                       sched_journal **out);
/* Frees the index; accepts NULL, nulls *j. */
void sched_journal_close(sched_journal **j);

/* Entries after which the engine folds (at least 1). */
void sched_journal_set_max(sched_journal *j, uint64_t max_entries);

/*
 * Called at the start of every write transaction that may write plans,
 * before any other call with it: rebuilds the index if the last
 * transaction that changed it was aborted, and reads the counters.
 */
int sched_journal_begin(sched_journal *j, MDB_txn *txn);

/*
 * The newest journal entry of person (the encoded plan, owned by LMDB,
 * valid like any value of txn), or DD_NOTFOUND when the person's plan is
 * only in plans (or nowhere). txn may be a read transaction.
 */
int sched_journal_get(sched_journal *j, MDB_txn *txn, const char *person_id, MDB_val *plan);

/* Appends the person's encoded plan (write transaction after _begin). */
int sched_journal_put(sched_journal *j, MDB_txn *txn, const char *person_id, const void *plan,
                      size_t len);

/* Entries in the journal as txn sees it (after _begin: counted exactly). */
uint64_t sched_journal_entries(const sched_journal *j);

/*
 * Folds the journal into plans when it holds at least max_entries entries
 * (or always, with force): the newest plan of every person, in key order;
 * then the journal is emptied and its keys start again at 1.
 */
int sched_journal_fold_if_full(sched_journal *j, MDB_txn *txn, int force);

#endif
