/*
 * store.h: a daemon's LMDB environment, and the one way it writes.
 *
 * Each daemon owns exactly one environment (one directory). Every write goes
 * through dd_store_write(), which runs the caller's function inside a fully
 * synced write transaction and takes care of the LMDB failure that loses
 * data in other systems (known pitfalls 7-9 in the README):
 *
 *   - MDB_MAP_FULL, from a put *or* from mdb_txn_commit: the transaction is
 *     aborted, every participant is told to undo its in-memory changes, the
 *     map is doubled (up to max_map_bytes) and the whole function runs again.
 *     A batch is never dropped for lack of space. To make that rare, the map
 *     is also doubled at open and before a transaction whenever less than a
 *     quarter of it is free.
 *   - any other error: abort, undo, return the error. The caller decides.
 *
 * Modules that keep in-memory state mirroring what a transaction wrote (the
 * log's head, the dedup table) register as *participants*: after a commit
 * they publish their pending changes, after an abort they throw them away.
 *
 *        dd_store_write(fn)
 *              |
 *        begin txn --> fn(txn) --error--> abort --> participants.aborted()
 *              |ok                          |MAP_FULL: grow, run fn again
 *        mdb_txn_commit --error-------------+
 *              |ok
 *        participants.committed()
 *
 * Stale reader slots of killed processes are cleared at open and on every
 * dd_store_reader_check() (call it from a periodic timer).
 *
 * Threads: one thread writes. mdb_env_set_mapsize requires that no
 * transaction is open anywhere in the process, so no other thread of the
 * daemon may use the environment.
 */
#ifndef DD_STORE_H
#define DD_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dd_store dd_store;

typedef struct dd_store_options {
    size_t map_bytes;     /* initial map size; 0: 1 GiB */
    size_t max_map_bytes; /* growth stops here; 0: no limit */
    unsigned max_dbs;     /* named databases; 0: 16 */
    /* Reads land at random (trees, not a log read in order): a page read
     * back from disk brings no neighbours with it (MDB_NORDAHEAD). In a
     * province-month, with memory full, readahead had the scheduler read
     * 57-369 MB back from disk and alerts 0.6-1.5 GB, without it 31-109 MB
     * and 14-15 MB; eligibility read more without it (955-988 MB against
     * 0-132), so it keeps readahead. A log is read by its consumers while still
     * cached, so a daemon's own log does not decide. */
    bool random_reads;
} dd_store_options;

/*
 * Opens (creating) the environment in directory dir, which is created if
 * missing. Returns 0, -errno, or an LMDB code.
 */
int dd_store_open(const char *dir, const dd_store_options *options, dd_store **out);
/* Closes the environment; accepts NULL, nulls *store. No txn may be open. */
void dd_store_close(dd_store **store);

MDB_env *dd_store_env(dd_store *store);

/* Opens or creates a named database (flags: MDB_INTEGERKEY etc.). */
int dd_store_dbi(dd_store *store, const char *name, unsigned flags, MDB_dbi *dbi);

typedef int (*dd_store_write_fn)(MDB_txn *txn, void *arg);

/*
 * Runs fn(txn, arg) in a write transaction and commits it with fsync.
 * fn returns 0 to commit, or an error to abort (its error is returned).
 * fn may run more than once (after the map grew): it must derive
 * everything it writes from arg and the transaction, not from side effects
 * of an earlier run, unless it undoes them in a participant's abort hook.
 * Returns 0, fn's error, an LMDB code, or MDB_MAP_FULL when the map cannot
 * grow past max_map_bytes.
 */
int dd_store_write(dd_store *store, dd_store_write_fn fn, void *arg);

typedef struct dd_store_participant {
    void (*committed)(void *arg);
    void (*aborted)(void *arg);
    void *arg;
} dd_store_participant;

/* Registers a participant (at most 8); they are told in registration order. */
void dd_store_add_participant(dd_store *store, const dd_store_participant *p);

/* Told after each commit of dd_store_write: its duration and bytes written. */
typedef void (*dd_store_commit_observer)(void *arg, double seconds, uint64_t bytes);
/* Sets the one observer (NULL: none); it runs in the writing thread. */
void dd_store_observe_commits(dd_store *store, dd_store_commit_observer observe, void *arg);

/* Doubles the map size. Returns 0, MDB_MAP_FULL at the limit, or an error. */
int dd_store_grow(dd_store *store);

/* Clears reader slots of dead processes; *cleared (may be NULL) gets how many. */
int dd_store_reader_check(dd_store *store, int *cleared);

typedef struct dd_store_usage {
    uint64_t used_bytes;  /* pages in use up to the last page written */
    uint64_t map_bytes;   /* current map size */
    uint64_t grows;       /* map growths since open */
    uint64_t commits;     /* committed write transactions since open */
    uint64_t retries;     /* write functions run again after MAP_FULL */
    uint64_t stale_readers_cleared;
    uint64_t commit_ns;            /* time spent in mdb_txn_commit (page writes, fsync) */
    uint64_t commit_written_bytes; /* bytes written by those commits (the process's
                                      write/pwrite bytes around each, /proc/self/io) */
} dd_store_usage;

void dd_store_usage_get(dd_store *store, dd_store_usage *usage);

/* Encodes a sequence number as an MDB_INTEGERKEY key (native uint64). */
static inline MDB_val dd_store_u64_key(const uint64_t *seq)
{
    MDB_val v = {sizeof(*seq), (void *)seq};
    return v;
}

#endif
