/*
 * consumer.c: the fetch loop and the apply-with-cursor transaction (see
 * consumer.h for the state picture).
 */
#include "consumer.h"

#include "alloc.h"
#include "clock.h"
#include "diag.h"
#include "error.h"
#include "evzmq.h"
#include "fetchwire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define CONSUMER_METRICS(X)                                                            \
    X(C_BATCHES, "doudi_consumer_batches_total", DD_METRIC_COUNTER,                    \
      "Fetched batches applied and committed, by upstream.", "upstream", NULL, 0)      \
    X(C_RECORDS, "doudi_consumer_records_total", DD_METRIC_COUNTER,                    \
      "Upstream records applied, by upstream.", "upstream", NULL, 0)                   \
    X(C_LAG, "doudi_consumer_lag_records", DD_METRIC_GAUGE,                            \
      "Upstream head minus this daemon's committed cursor, by upstream.", "upstream",  \
      NULL, 0)                                                                         \
    X(C_CURSOR, "doudi_consumer_cursor_sequence", DD_METRIC_GAUGE,                     \
      "The last upstream sequence this daemon applied and committed, by upstream. The "\
      "upstream learns it only with the next fetch "                                   \
      "(doudi_log_consumer_cursor there).", "upstream", NULL, 0)                        \
    X(C_LAST_COMMIT, "doudi_consumer_last_commit_timestamp_seconds", DD_METRIC_GAUGE,  \
      "Unix time of the last commit that moved the cursor, by upstream (0: none since "\
      "start). With lag above zero, how long consumption has not moved.", "upstream", \
      NULL, 0)                                                                         \
    X(C_RESENDS, "doudi_consumer_fetch_resends_total", DD_METRIC_COUNTER,              \
      "Fetches sent again after no reply came in time, by upstream.", "upstream",      \
      NULL, 0)                                                                         \
    X(C_STALLS, "doudi_consumer_stalls_total", DD_METRIC_COUNTER,                      \
      "Times consumption stopped on an error that needs an operator, by upstream.",   \
      "upstream", NULL, 0)                                                             \
    X(C_APPLY_FAILURES, "doudi_consumer_apply_failures_total", DD_METRIC_COUNTER,      \
      "Batches whose apply or commit failed, by upstream; each is fetched and applied "\
      "again from the committed cursor after a pause that doubles up to 60 s.",       \
      "upstream", NULL, 0)                                                             \
    X(C_APPLY, "doudi_consumer_apply_seconds", DD_METRIC_HISTOGRAM,                    \
      "Time to apply and commit one fetched batch, by upstream.", "upstream",          \
      dd_buckets_seconds, DD_BUCKETS_SECONDS_N)

enum { CONSUMER_METRICS(DD_METRIC_ENUM) CONSUMER_METRIC_COUNT };

struct dd_consumer {
    dd_store *store;
    struct ev_loop *loop;
    void *zctx;
    void *socket;
    dd_evzmq watcher;
    ev_timer timeout;
    ev_timer retry;             /* after a failed batch */
    unsigned failures_in_a_row; /* failed batches since the last one applied */
    dd_consumer_options opt;
    char *name, *upstream, *endpoint;
    bool curve;
    dd_zauth_keys curve_keys;
    char curve_server[DD_ZAUTH_Z85_LEN + 1];
    uint32_t *kinds;
    MDB_dbi cursors;
    uint64_t cursor;
    uint64_t upstream_head;
    uint64_t request_id;
    uint64_t batches;
    dd_consumer_state state;
    dd_consumer_apply_fn apply;
    void *arg;
    void (*idle)(void *arg);
    void *idle_arg;
    dd_series *s[CONSUMER_METRIC_COUNT];
    dd_metric *lag_family;
    dd_arena *reply_arena; /* the fetch reply being applied */
};

static void inc(dd_consumer *c, int m, uint64_t by)
{
    if (c->s[m])
        dd_series_inc(c->s[m], by);
}

static int read_cursor(dd_consumer *c)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(dd_store_env(c->store), NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    MDB_val k = {strlen(c->upstream), c->upstream}, v;
    rc = mdb_get(txn, c->cursors, &k, &v);
    if (rc == 0 && v.mv_size == sizeof(uint64_t))
        memcpy(&c->cursor, v.mv_data, sizeof(uint64_t));
    else if (rc == 0)
        rc = DD_ECORRUPT;
    else if (rc == MDB_NOTFOUND)
        rc = 0;
    mdb_txn_abort(txn);
    return rc;
}

int dd_consumer_new(dd_store *store, struct ev_loop *loop, void *zctx,
                    const dd_consumer_options *options, dd_consumer_apply_fn apply,
                    void *arg, dd_metrics *metrics, dd_consumer **out)
{
    dd_consumer *c = dd_calloc(1, sizeof(*c));
    c->store = store;
    c->loop = loop;
    c->zctx = zctx;
    c->opt = *options;
    c->name = dd_strdup(options->name);
    c->upstream = dd_strdup(options->upstream);
    c->endpoint = dd_strdup(options->endpoint);
    if (options->curve_keys && options->curve_server_public) {
        c->curve = true;
        c->curve_keys = *options->curve_keys;
        snprintf(c->curve_server, sizeof(c->curve_server), "%s", options->curve_server_public);
    }
    c->opt.curve_keys = NULL; /* the copies above are the ones used */
    c->opt.curve_server_public = NULL;
    if (options->nkinds) {
        c->kinds = dd_malloc(options->nkinds * sizeof(uint32_t));
        memcpy(c->kinds, options->kinds, options->nkinds * sizeof(uint32_t));
    }
    if (!c->opt.max_records)
        c->opt.max_records = 1000;
    if (!c->opt.wait_ms)
        c->opt.wait_ms = 1000;
    if (!c->opt.reply_timeout_ms)
        c->opt.reply_timeout_ms = 5000;
    if (!c->opt.max_message_bytes)
        c->opt.max_message_bytes = 64LL << 20;
    c->apply = apply;
    c->arg = arg;
    c->reply_arena = dd_arena_new(1 << 20);
    if (metrics) {
        static const dd_metric_def defs[] = {CONSUMER_METRICS(DD_METRIC_DEF)};
        dd_metric *families[CONSUMER_METRIC_COUNT];
        /* Families are per registry; the consumers of one daemon share them. */
        if (!dd_metrics_find(metrics, defs[0].name))
            dd_metrics_register(metrics, defs, CONSUMER_METRIC_COUNT, families);
        for (int i = 0; i < CONSUMER_METRIC_COUNT; i++) {
            families[i] = dd_metrics_find(metrics, defs[i].name);
            /* The lag is unknown until the upstream first answers: its series
             * appears then, so a daemon that never reached its upstream does
             * not look caught up. */
            if (families[i] && i != C_LAG)
                c->s[i] = dd_metric_series(families[i], c->upstream);
        }
        c->lag_family = families[C_LAG];
    }
    int rc = dd_store_dbi(store, "cursors", 0, &c->cursors);
    if (!rc)
        rc = read_cursor(c);
    if (!rc && c->s[C_CURSOR])
        dd_series_set(c->s[C_CURSOR], (double)c->cursor);
    if (rc) {
        dd_error("consumer of %s: cannot read the cursor: %s", c->upstream, dd_strerror(rc));
        c->socket = NULL;
        dd_consumer_destroy(&c);
        return rc;
    }
    *out = c;
    return 0;
}

static void send_fetch_after(dd_consumer *c, uint64_t after);
static void restart_timeout(dd_consumer *c);

static void stall(dd_consumer *c, const char *why)
{
    dd_error("consumer of %s stalled at cursor %llu: %s", c->upstream,
             (unsigned long long)c->cursor, why);
    c->state = DD_CONSUMER_STALLED;
    inc(c, C_STALLS, 1);
    ev_timer_stop(c->loop, &c->timeout);
}

static bool open_socket_again(dd_consumer *c);

/*
 * A batch that failed to apply or commit (a full disk, an I/O error, a
 * bug the next attempt may not meet) left nothing behind: the transaction
 * was aborted and the cursor stands. It is tried again, from the committed
 * cursor, after a pause that doubles from apply_retry_ms up to 60 s, so a
 * daemon whose disk filled up carries on by itself once there is room,
 * and one that keeps failing says so in its log and its metrics without
 * spinning.
 */
static void apply_failed(dd_consumer *c, int rc)
{
    int64_t first_ms = c->opt.apply_retry_ms > 0 ? c->opt.apply_retry_ms : 1000;
    unsigned doublings = c->failures_in_a_row < 16 ? c->failures_in_a_row : 16;
    int64_t pause_ms = first_ms << doublings;
    if (pause_ms > 60000)
        pause_ms = 60000;
    c->failures_in_a_row++;
    dd_error("consumer of %s: applying the batch after %llu failed: %s; trying again in "
             "%.1f s (%u failed in a row)", c->upstream, (unsigned long long)c->cursor,
             dd_strerror(rc), (double)pause_ms / 1000.0, c->failures_in_a_row);
    inc(c, C_APPLY_FAILURES, 1);
    c->state = DD_CONSUMER_STALLED;
    ev_timer_stop(c->loop, &c->timeout);
    ev_timer_set(&c->retry, (double)pause_ms / 1000.0, 0);
    ev_timer_start(c->loop, &c->retry);
}

static void retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    dd_consumer *c = t->data;
    if (c->state != DD_CONSUMER_STALLED)
        return;
    /* A fresh socket drops the reply to the fetch pipelined behind the
     * failed batch, which may still be queued. */
    if (!open_socket_again(c))
        return;
    c->state = DD_CONSUMER_IDLE;
    send_fetch_after(c, c->cursor);
}

typedef struct apply_job {
    dd_consumer *c;
    Doudi__FetchReply *reply;
    uint64_t new_cursor;
    int apply_rc;
} apply_job;

static int apply_fn(MDB_txn *txn, void *arg)
{
    apply_job *job = arg;
    dd_consumer *c = job->c;
    job->apply_rc = c->apply(c->arg, txn, job->reply->records, job->reply->n_records);
    if (job->apply_rc)
        return job->apply_rc;
    MDB_val k = {strlen(c->upstream), c->upstream};
    MDB_val v = {sizeof(job->new_cursor), &job->new_cursor};
    return mdb_put(txn, c->cursors, &k, &v, 0);
}

static void handle_reply(dd_consumer *c, Doudi__FetchReply *reply)
{
    c->upstream_head = reply->head_sequence;
    switch (reply->status) {
    case DOUDI__FETCH_STATUS__FETCH_STATUS_OK:
        break;
    case DOUDI__FETCH_STATUS__FETCH_STATUS_TRIMMED:
        stall(c, "the upstream trimmed records this consumer has not applied; rebuild it");
        return;
    case DOUDI__FETCH_STATUS__FETCH_STATUS_AHEAD_OF_LOG:
        stall(c, "the cursor is beyond the upstream's head: the upstream log was reset");
        return;
    default:
        stall(c, reply->error_text[0] ? reply->error_text : "the upstream refused the fetch");
        return;
    }
    /* Records must continue exactly where the cursor stands. */
    uint64_t expect_after = c->cursor;
    for (size_t i = 0; i < reply->n_records; i++) {
        if (reply->records[i]->sequence <= expect_after) {
            stall(c, "the upstream sent records out of order");
            return;
        }
        expect_after = reply->records[i]->sequence;
    }
    uint64_t new_cursor = reply->scanned_through_sequence;
    if (new_cursor < expect_after)
        new_cursor = expect_after;
    bool nothing_new = new_cursor <= c->cursor;
    if (!nothing_new) {
        /* The next batch is asked for now, so the upstream reads and sends
         * it while this one is applied and committed. Its reply waits in
         * the socket; should this batch fail, it is ignored (stalled). */
        send_fetch_after(c, new_cursor);
        int64_t t0 = dd_monotonic_ns();
        apply_job job = {c, reply, new_cursor, 0};
        int rc = dd_store_write(c->store, apply_fn, &job);
        if (rc) {
            apply_failed(c, rc);
            return;
        }
        c->failures_in_a_row = 0;
        c->cursor = new_cursor;
        if (c->s[C_CURSOR])
            dd_series_set(c->s[C_CURSOR], (double)c->cursor);
        if (c->s[C_LAST_COMMIT])
            dd_series_set(c->s[C_LAST_COMMIT], (double)dd_wall_ms() / 1e3);
        c->batches++;
        inc(c, C_BATCHES, 1);
        inc(c, C_RECORDS, reply->n_records);
        if (c->s[C_APPLY])
            dd_series_observe(c->s[C_APPLY], (double)(dd_monotonic_ns() - t0) / 1e9);
    }
    if (!c->s[C_LAG] && c->lag_family)
        c->s[C_LAG] = dd_metric_series(c->lag_family, c->upstream);
    if (c->s[C_LAG])
        dd_series_set(c->s[C_LAG],
                      c->upstream_head > c->cursor ? (double)(c->upstream_head - c->cursor) : 0);
    if (c->state == DD_CONSUMER_WAITING)
        restart_timeout(c); /* the next reply's wait counts from the end of this batch */
    else
        send_fetch_after(c, c->cursor);
    if (c->idle && nothing_new && c->upstream_head <= c->cursor)
        c->idle(c->idle_arg);
}

static void socket_cb(struct ev_loop *loop, dd_evzmq *w, int revents)
{
    (void)loop;
    (void)revents;
    dd_consumer *c = w->data;
    for (;;) {
        dd_zmsg msg;
        int rc = dd_zmsg_recv(c->socket, &msg);
        if (rc == DD_AGAIN)
            return;
        if (rc) {
            dd_warn("consumer of %s: receive: %s", c->upstream, dd_strerror(rc));
            return;
        }
        Doudi__FetchReply *reply = NULL;
        /* A batch lives in one arena, its payloads in the message itself
         * (fetchwire.h), which is closed once the batch is applied; what
         * the fast path declines goes to protobuf-c. */
        if (msg.nframes == 1) {
            reply = dd_fetch_reply_decode(dd_zmsg_data(&msg, 0), dd_zmsg_size(&msg, 0),
                                          c->reply_arena);
            if (!reply) {
                ProtobufCAllocator arena = dd_arena_protobuf_allocator(c->reply_arena);
                reply = doudi__fetch_reply__unpack(&arena, dd_zmsg_size(&msg, 0),
                                                   dd_zmsg_data(&msg, 0));
            }
        }
        if (!reply) {
            dd_zmsg_close(&msg);
            dd_arena_reset(c->reply_arena);
            dd_warn("consumer of %s: a reply that is not a FetchReply was ignored", c->upstream);
            continue;
        }
        /* A reply to a request we already gave up on is stale. */
        if (c->state == DD_CONSUMER_WAITING && reply->request_id == c->request_id) {
            ev_timer_stop(c->loop, &c->timeout);
            c->state = DD_CONSUMER_IDLE;
            handle_reply(c, reply);
            dd_zmsg_close(&msg);
            dd_arena_reset(c->reply_arena);
            /* One batch a turn of the loop: the next reply is often already
             * here (pipelined), and the daemon's other sockets and timers
             * (its own log's readers, queries, metrics) must get theirs.
             * What is left is seen at the next prepare (evzmq.h). */
            return;
        }
        dd_zmsg_close(&msg);
        dd_arena_reset(c->reply_arena);
    }
}

static int open_socket(dd_consumer *c)
{
    c->socket = dd_zsock_new(c->zctx, ZMQ_DEALER, c->opt.max_message_bytes, 0);
    if (!c->socket)
        return -EINVAL;
    int rc = c->curve ? dd_zauth_secure_client(c->socket, &c->curve_keys, c->curve_server) : 0;
    if (rc)
        dd_error("consumer of %s: cannot set CURVE keys: %s", c->upstream, zmq_strerror(-rc));
    else
        rc = dd_zsock_connect(c->socket, c->endpoint);
    if (rc) {
        zmq_close(c->socket);
        c->socket = NULL;
        return rc;
    }
    dd_evzmq_init(&c->watcher, c->socket, EV_READ, socket_cb, c);
    dd_evzmq_start(c->loop, &c->watcher);
    return 0;
}

static void close_socket(dd_consumer *c)
{
    if (!c->socket)
        return;
    dd_evzmq_stop(c->loop, &c->watcher);
    zmq_close(c->socket);
    c->socket = NULL;
}

/* Closes the socket and opens a new one; false (stalled) when it cannot. */
static bool open_socket_again(dd_consumer *c)
{
    close_socket(c);
    if (open_socket(c) == 0)
        return true;
    stall(c, "cannot reconnect to the upstream");
    return false;
}

static void timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    dd_consumer *c = t->data;
    if (c->state != DD_CONSUMER_WAITING)
        return;
    dd_warn("consumer of %s: no reply from %s in time; reconnecting and asking again",
            c->upstream, c->endpoint);
    inc(c, C_RESENDS, 1);
    /* A fresh socket drops whatever the old connection still queued. */
    if (!open_socket_again(c))
        return;
    c->state = DD_CONSUMER_IDLE;
    send_fetch_after(c, c->cursor);
}

static void restart_timeout(dd_consumer *c)
{
    /* ev_now() is the time the loop woke: stale by however long the batch
     * just applied took, which would make the next reply look late. */
    ev_now_update(c->loop);
    ev_timer_stop(c->loop, &c->timeout);
    ev_timer_set(&c->timeout, (double)(c->opt.wait_ms + c->opt.reply_timeout_ms) / 1000.0, 0);
    ev_timer_start(c->loop, &c->timeout);
}

/* Asks for the records after `after`: the committed cursor, or the end of
 * the batch about to be applied (a pipelined fetch). */
static void send_fetch_after(dd_consumer *c, uint64_t after)
{
    Doudi__FetchRequest req = DOUDI__FETCH_REQUEST__INIT;
    req.request_id = ++c->request_id;
    req.consumer = c->name;
    req.after_sequence = after;
    req.pipelined = after != c->cursor;
    req.committed_sequence = c->cursor;
    req.max_records = c->opt.max_records;
    req.wait_ms = c->opt.wait_ms;
    req.kinds = c->kinds;
    req.n_kinds = c->opt.nkinds;
    uint8_t stackbuf[1024];
    size_t len = doudi__fetch_request__get_packed_size(&req);
    uint8_t *buf = len <= sizeof(stackbuf) ? stackbuf : dd_malloc(len);
    doudi__fetch_request__pack(&req, buf);
    const void *data[1] = {buf};
    size_t sizes[1] = {len};
    int rc = dd_zsend_frames(c->socket, data, sizes, 1);
    if (buf != stackbuf)
        free(buf);
    if (rc && rc != DD_AGAIN)
        dd_warn("consumer of %s: send: %s", c->upstream, dd_strerror(rc));
    /* Sent or not, the timer brings a retry: the transport is at-least-once. */
    c->state = DD_CONSUMER_WAITING;
    restart_timeout(c);
}

int dd_consumer_start(dd_consumer *c)
{
    ev_init(&c->timeout, timeout_cb);
    c->timeout.data = c;
    ev_init(&c->retry, retry_cb);
    c->retry.data = c;
    int rc = open_socket(c);
    if (rc)
        return rc;
    dd_info("consuming %s from %s after sequence %llu", c->upstream, c->endpoint,
            (unsigned long long)c->cursor);
    send_fetch_after(c, c->cursor);
    return 0;
}

void dd_consumer_stop(dd_consumer *c)
{
    if (c->socket)
        ev_timer_stop(c->loop, &c->timeout);
    ev_timer_stop(c->loop, &c->retry); /* inactive unless a failed batch waits */
    close_socket(c);
    if (c->state == DD_CONSUMER_WAITING)
        c->state = DD_CONSUMER_IDLE;
}

void dd_consumer_destroy(dd_consumer **cp)
{
    if (!cp || !*cp)
        return;
    dd_consumer *c = *cp;
    dd_consumer_stop(c);
    free(c->name);
    free(c->upstream);
    free(c->endpoint);
    free(c->kinds);
    dd_arena_destroy(&c->reply_arena);
    free(c);
    *cp = NULL;
}

uint64_t dd_consumer_cursor(const dd_consumer *c) { return c->cursor; }
uint64_t dd_consumer_upstream_head(const dd_consumer *c) { return c->upstream_head; }

void dd_consumer_set_idle(dd_consumer *c, void (*fn)(void *arg), void *arg)
{
    c->idle = fn;
    c->idle_arg = arg;
}
dd_consumer_state dd_consumer_get_state(const dd_consumer *c) { return c->state; }
uint64_t dd_consumer_batches(const dd_consumer *c) { return c->batches; }
