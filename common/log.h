/*
 * log.h: a daemon's durable, append-only output log, and the server that
 * lets downstream daemons pull it (architecture.md, "one pattern
 * everywhere").
 *
 * Records live in the daemon's own LMDB environment, database "log": key the
 * 64-bit sequence number (MDB_INTEGERKEY, appended with MDB_APPEND so every
 * put is append-like), value a 16-byte header (appended_at_ms, kind) followed
 * by the encoded protobuf message. Sequences start at 1 and are contiguous.
 *
 * Appending happens inside the caller's write transaction (dd_store_write),
 * so a record becomes visible exactly when the state change that produced it
 * commits. The log is a store participant: on commit its pending head
 * becomes the committed head and parked fetches are answered; on abort the
 * pending sequences are handed out again.
 *
 *   pending head --dd_log_append--> pending head + 1
 *        |  commit: committed head = pending head; wake long polls
 *        |  abort:  pending head = committed head
 *
 * Fetch (log.proto): a ROUTER endpoint answers FetchRequests. A request that
 * finds nothing new waits ("parks") until a commit brings records or its
 * wait_ms expires, then gets an empty OK. A named consumer's after_sequence
 * is its committed cursor: the log remembers the highest one reported per
 * name (database "log_consumers", written on each trim pass) and never trims
 * a record some known consumer has not passed. Required consumers (from
 * configuration) count as known at cursor 0 before they ever connect.
 *
 * Trimming removes records that every known consumer has passed AND that
 * are older than the retention window, oldest first, at most trim_batch per
 * pass. A consumer that asks for trimmed records gets FETCH_STATUS_TRIMMED,
 * never a silent gap.
 */
#ifndef DD_LOG_H
#define DD_LOG_H

#include <ev.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "store.h"

typedef struct dd_log dd_log;

typedef struct dd_log_options {
    uint32_t default_max_records; /* per fetch when the request says 0; 0: 1000 */
    uint32_t max_records;         /* cap per fetch; 0: 10000 */
    uint32_t max_bytes;           /* cap of payload bytes per reply; 0: 8 MiB */
    uint32_t max_wait_ms;         /* cap of a long poll; 0: 30000 */
    int64_t retention_ms;         /* keep records at least this long; 0: no window */
    uint32_t trim_batch;          /* records deleted per trim pass; 0: 100000 */
    const char *const *required_consumers; /* known before they connect */
    size_t nrequired;
    int64_t max_message_bytes;    /* ZMQ_MAXMSGSIZE of the server socket; 0: 1 MiB */
} dd_log_options;

/* Header stored in front of every payload. */
typedef struct dd_log_header {
    int64_t appended_at_ms;
    uint32_t kind;
    uint32_t reserved;
} dd_log_header;

/*
 * Opens the log in store (creating its databases), reads its head and the
 * known consumers, and registers as a store participant. metrics may be
 * NULL; otherwise the log registers its families (doudi_log_*). Returns 0
 * or an LMDB/errno code.
 */
int dd_log_open(dd_store *store, const dd_log_options *options, dd_metrics *metrics,
                dd_log **out);
/* Stops serving and frees; accepts NULL, nulls *log. */
void dd_log_close(dd_log **log);

/*
 * Appends a record in txn (a write transaction of the same store), giving
 * it the next sequence (*seq, may be NULL). Returns 0 or an LMDB code
 * (MDB_MAP_FULL included: return it from your write function and
 * dd_store_write grows the map and runs it again).
 */
int dd_log_append(dd_log *log, MDB_txn *txn, uint32_t kind, int64_t appended_at_ms,
                  const void *payload, size_t len, uint64_t *seq);

/* The last committed sequence (0 for an empty log). */
uint64_t dd_log_head(const dd_log *log);
/* The sequence the next append will get in the current transaction. */
uint64_t dd_log_next(const dd_log *log);
/* The first sequence held (0 when empty). */
uint64_t dd_log_first(const dd_log *log);

/*
 * Reads one record in a read (or write) transaction. *payload is owned by
 * LMDB and valid until the transaction ends. Returns 0, DD_NOTFOUND or an
 * LMDB code.
 */
int dd_log_get(dd_log *log, MDB_txn *txn, uint64_t seq, dd_log_header *header,
               const void **payload, size_t *len);

/*
 * Binds a ROUTER on endpoint and serves FetchRequests from loop. zctx is
 * the daemon's ZeroMQ context. Returns 0 or -errno.
 */
int dd_log_serve(dd_log *log, struct ev_loop *loop, void *zctx, const char *endpoint);

/*
 * Serves the log over CURVE (zauth.h) from the next dd_log_serve on: the
 * endpoint lets in readers and operators only, and a fetch from a key that
 * a reload removed or demoted is dropped unanswered (counted by auth).
 * auth must outlive the log's serving.
 */
struct dd_zauth;
void dd_log_set_auth(dd_log *log, struct dd_zauth *auth);

/*
 * Answers every parked fetch at once (with what it has, possibly nothing);
 * used when the daemon stops so consumers do not wait for a dead peer.
 */
void dd_log_release_parked(dd_log *log);

/*
 * One trim pass in its own write transaction: stores the consumers'
 * reported cursors, deletes at most trim_batch records below the slowest
 * known consumer and older than now_ms - retention. *trimmed (may be NULL)
 * gets the count. Returns 0 or an LMDB code.
 */
int dd_log_trim(dd_log *log, int64_t now_ms, uint64_t *trimmed);

/* Changes the retention window (as dd_log_options.retention_ms; 0: 7 days)
 * for the next trim passes: a reloaded configuration. */
void dd_log_set_retention(dd_log *log, int64_t retention_ms);

/* The lowest cursor among known consumers (UINT64_MAX when none known). */
uint64_t dd_log_slowest_consumer(const dd_log *log);

/* Refreshes the gauges (length, head, lag per consumer). */
void dd_log_update_metrics(dd_log *log);

#endif
