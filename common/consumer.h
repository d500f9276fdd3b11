/*
 * consumer.h: pulling an upstream daemon's log with exactly-once effect.
 *
 * A consumer keeps one FetchRequest outstanding on a DEALER connected to the
 * upstream's log endpoint. For each reply it first asks for the next batch
 * (a pipelined fetch: the upstream reads and sends it while this one is
 * applied; the request carries the committed cursor, which is what the
 * upstream remembers and trims below), then runs the daemon's apply
 * function inside ONE write transaction of the daemon's store, which also
 * stores the new cursor (database "cursors", key = upstream name). The
 * commit makes the state change, the daemon's own appended output and the
 * cursor true together, so a kill -9 at any instant loses nothing and
 * applies nothing twice: the restarted consumer asks again from the
 * committed cursor (at-least-once transport, exactly-once effect).
 *
 *   IDLE --start--> WAITING (fetch sent) --reply--> next fetch sent,
 *     ^                 |  timeout: resend, new request id     APPLYING (write txn)
 *     |                 |  stale reply: ignored                | commit
 *     +-----------------+<--- WAITING (its wait from now) -----+
 *                       |  TRIMMED / AHEAD_OF_LOG:     | apply or commit failed:
 *                       v                               v
 *                    STALLED (logged, counted;       STALLED until a pause
 *                    never skips records)            (1 s doubling to 60 s),
 *                                                    then the same batch is
 *                                                    fetched and applied again
 *
 * The apply function may run more than once for the same batch (the store
 * grows its map and retries; a failed batch is tried again): it must write
 * only through txn, or undo its
 * in-memory effects from a store participant's abort hook.
 */
#ifndef DD_CONSUMER_H
#define DD_CONSUMER_H

#include <ev.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doudi/log.pb-c.h"
#include "metrics.h"
#include "store.h"
#include "zauth.h"

typedef struct dd_consumer dd_consumer;

/*
 * Applies records[0..n-1] (n may be 0 when only filtered records were
 * passed) in txn. Return 0 to commit with the new cursor; an error aborts
 * the batch and stalls the consumer until, after a pause, the same batch is
 * fetched and applied again (the error is logged and counted).
 */
typedef int (*dd_consumer_apply_fn)(void *arg, MDB_txn *txn,
                                    Doudi__LogRecord *const *records, size_t n);

typedef struct dd_consumer_options {
    const char *name;          /* this daemon's consumer name ("eligibility") */
    const char *upstream;      /* the upstream's name, key of the cursor ("intake") */
    const char *endpoint;      /* the upstream's log endpoint */
    uint32_t max_records;      /* per fetch; 0: 1000 */
    uint32_t wait_ms;          /* long-poll wait; 0: 1000 */
    int64_t reply_timeout_ms;  /* beyond wait_ms before a resend; 0: 5000 */
    const uint32_t *kinds;     /* wanted kinds; NULL: all */
    size_t nkinds;
    int64_t max_message_bytes; /* ZMQ_MAXMSGSIZE; 0: 64 MiB */
    /* After a batch fails to apply or commit, the first pause before it is
     * tried again; each failure in a row doubles it, up to 60 s. 0: 1 s. */
    int64_t apply_retry_ms;
    /* CURVE (zauth.h): this daemon's key pair and the upstream's public
     * key; NULL: plain ZeroMQ. Copied. */
    const dd_zauth_keys *curve_keys;
    const char *curve_server_public;
} dd_consumer_options;

typedef enum {
    DD_CONSUMER_IDLE,
    DD_CONSUMER_WAITING,
    DD_CONSUMER_STALLED,
} dd_consumer_state;

/*
 * Creates a consumer (reading its committed cursor from store) and
 * registers its metrics (doudi_consumer_*{upstream=...}) when metrics is not
 * NULL. Returns 0 or an error.
 */
int dd_consumer_new(dd_store *store, struct ev_loop *loop, void *zctx,
                    const dd_consumer_options *options, dd_consumer_apply_fn apply,
                    void *arg, dd_metrics *metrics, dd_consumer **out);
/* Connects and sends the first fetch. */
int dd_consumer_start(dd_consumer *consumer);
/* Stops fetching (a batch in progress was already committed or aborted). */
void dd_consumer_stop(dd_consumer *consumer);
void dd_consumer_destroy(dd_consumer **consumer);

uint64_t dd_consumer_cursor(const dd_consumer *consumer);
/* The upstream head seen in the last reply. */
uint64_t dd_consumer_upstream_head(const dd_consumer *consumer);
dd_consumer_state dd_consumer_get_state(const dd_consumer *consumer);
/* Batches committed since creation. */
uint64_t dd_consumer_batches(const dd_consumer *consumer);

/*
 * fn(arg) runs (in the loop thread, outside any transaction) whenever a
 * reply brings nothing to apply and the cursor stands at the upstream's
 * head: the upstream had nothing new for a whole long-poll wait. Work
 * deferred for a quiet moment (a journal's fold) goes there; the next
 * fetch is already on its way. NULL: nothing.
 */
void dd_consumer_set_idle(dd_consumer *consumer, void (*fn)(void *arg), void *arg);

#endif
