/*
 * test_log.c: the durable log, its fetch server and the consumer cursor:
 * append, fetch, long poll, kind filter, trim, map growth, exactly-once
 * apply, and state that survives a reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "alloc.h"
#include "clock.h"
#include "consumer.h"
#include "diag.h"
#include "error.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

#include "doudi/log.pb-c.h"

typedef struct fixture {
    char dir[64];
    dd_store *store;
    dd_log *log;
    struct ev_loop *loop;
    void *zctx;
    void *client;
    char endpoint[64];
    dd_metrics *metrics;
    bool log_opened;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *const required[] = {"slow"};

static void open_log(fixture *f, size_t map_bytes, int64_t retention_ms)
{
    dd_store_options so = {.map_bytes = map_bytes};
    assert_int_equal(dd_store_open(f->dir, &so, &f->store), 0);
    dd_log_options lo = {.retention_ms = retention_ms,
                         .required_consumers = required,
                         .nrequired = 1};
    /* Families register once per registry: only the first open exports. */
    dd_metrics *m = f->log_opened ? NULL : f->metrics;
    f->log_opened = true;
    assert_int_equal(dd_log_open(f->store, &lo, m, &f->log), 0);
}

static int setup(void **state)
{
    static int counter;
    fixture *f = dd_calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/doudi-test-log-%d-%d", (int)getpid(), counter++);
    rm_tree(f->dir);
    f->metrics = dd_metrics_new();
    open_log(f, 0, 1);
    f->loop = ev_loop_new(EVFLAG_AUTO);
    f->zctx = zmq_ctx_new();
    snprintf(f->endpoint, sizeof(f->endpoint), "inproc://log-%d", counter);
    assert_int_equal(dd_log_serve(f->log, f->loop, f->zctx, f->endpoint), 0);
    f->client = zmq_socket(f->zctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(f->client, ZMQ_LINGER, &linger, sizeof(linger));
    assert_int_equal(zmq_connect(f->client, f->endpoint), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    zmq_close(f->client);
    dd_log_close(&f->log);
    dd_store_close(&f->store);
    zmq_ctx_term(f->zctx);
    ev_loop_destroy(f->loop);
    dd_metrics_destroy(&f->metrics);
    rm_tree(f->dir);
    free(f);
    return 0;
}

typedef struct append_job {
    dd_log *log;
    int n;
    uint32_t kind_a, kind_b; /* alternate kinds */
    int64_t at_ms;
    size_t payload_len;
    int fail_with; /* return this after appending, to test aborts */
} append_job;

static int append_fn(MDB_txn *txn, void *arg)
{
    append_job *job = arg;
    char payload[4096];
    for (int i = 0; i < job->n; i++) {
        size_t len = job->payload_len ? job->payload_len : 16;
        memset(payload, 'a' + i % 26, len);
        snprintf(payload, len, "rec-%d", i);
        uint32_t kind = i % 2 ? job->kind_b : job->kind_a;
        int rc = dd_log_append(job->log, txn, kind, job->at_ms, payload, len, NULL);
        if (rc)
            return rc;
    }
    return job->fail_with;
}

static void append(fixture *f, int n, int64_t at_ms)
{
    append_job job = {f->log, n, 10, 11, at_ms, 0, 0};
    assert_int_equal(dd_store_write(f->store, append_fn, &job), 0);
}

static void send_fetch(fixture *f, const char *consumer, uint64_t after, uint32_t wait_ms,
                       const uint32_t *kinds, size_t nkinds, uint64_t request_id)
{
    Doudi__FetchRequest req = DOUDI__FETCH_REQUEST__INIT;
    req.request_id = request_id;
    req.consumer = (char *)consumer;
    req.after_sequence = after;
    req.wait_ms = wait_ms;
    req.kinds = (uint32_t *)kinds;
    req.n_kinds = nkinds;
    uint8_t buf[512];
    size_t len = doudi__fetch_request__pack(&req, buf);
    assert_int_equal(zmq_send(f->client, buf, len, 0), (int)len);
}

/* Runs the loop until a reply arrives or deadline_ms passes. */
static Doudi__FetchReply *await_reply(fixture *f, int deadline_ms)
{
    int64_t end = dd_monotonic_ns() + (int64_t)deadline_ms * 1000000;
    while (dd_monotonic_ns() < end) {
        ev_run(f->loop, EVRUN_NOWAIT);
        zmq_pollitem_t item = {f->client, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 1) > 0) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            assert_true(zmq_msg_recv(&m, f->client, 0) >= 0);
            Doudi__FetchReply *r =
                doudi__fetch_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
            zmq_msg_close(&m);
            assert_non_null(r);
            return r;
        }
    }
    return NULL;
}

static void test_append_and_abort(void **state)
{
    fixture *f = *state;
    append(f, 10, 1000);
    assert_int_equal(dd_log_head(f->log), 10);
    assert_int_equal(dd_log_first(f->log), 1);

    append_job job = {f->log, 5, 10, 10, 1000, 0, DD_EPROTO};
    assert_int_equal(dd_store_write(f->store, append_fn, &job), DD_EPROTO);
    assert_int_equal(dd_log_head(f->log), 10);
    assert_int_equal(dd_log_next(f->log), 11); /* aborted sequences are handed out again */

    append(f, 1, 1000);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    dd_log_header h;
    const void *p;
    size_t len;
    assert_int_equal(dd_log_get(f->log, txn, 11, &h, &p, &len), 0);
    assert_int_equal(h.kind, 10);
    assert_int_equal(h.appended_at_ms, 1000);
    assert_memory_equal(p, "rec-0", 5);
    assert_int_equal(dd_log_get(f->log, txn, 12, &h, &p, &len), DD_NOTFOUND);
    mdb_txn_abort(txn);
}

static void test_fetch_batches(void **state)
{
    fixture *f = *state;
    append(f, 25, 1000);
    send_fetch(f, "", 0, 0, NULL, 0, 7);
    Doudi__FetchReply *r = await_reply(f, 2000);
    assert_non_null(r);
    assert_int_equal(r->request_id, 7);
    assert_int_equal(r->status, DOUDI__FETCH_STATUS__FETCH_STATUS_OK);
    assert_int_equal(r->n_records, 25);
    for (size_t i = 0; i < r->n_records; i++)
        assert_int_equal(r->records[i]->sequence, i + 1);
    assert_int_equal(r->scanned_through_sequence, 25);
    assert_int_equal(r->head_sequence, 25);
    doudi__fetch_reply__free_unpacked(r, NULL);

    /* max_records caps the batch; the next fetch continues exactly after it. */
    Doudi__FetchRequest req = DOUDI__FETCH_REQUEST__INIT;
    req.after_sequence = 20;
    req.max_records = 3;
    uint8_t buf[64];
    size_t len = doudi__fetch_request__pack(&req, buf);
    zmq_send(f->client, buf, len, 0);
    r = await_reply(f, 2000);
    assert_non_null(r);
    assert_int_equal(r->n_records, 3);
    assert_int_equal(r->records[0]->sequence, 21);
    assert_int_equal(r->scanned_through_sequence, 23);
    doudi__fetch_reply__free_unpacked(r, NULL);

    /* Beyond the head: the consumer's state is not from this log. */
    send_fetch(f, "", 99, 0, NULL, 0, 8);
    r = await_reply(f, 2000);
    assert_int_equal(r->status, DOUDI__FETCH_STATUS__FETCH_STATUS_AHEAD_OF_LOG);
    doudi__fetch_reply__free_unpacked(r, NULL);
}

static void test_long_poll(void **state)
{
    fixture *f = *state;
    append(f, 2, 1000);
    send_fetch(f, "", 2, 10000, NULL, 0, 1);
    /* Nothing new: the request is parked, no reply for a while. */
    assert_null(await_reply(f, 100));
    append(f, 3, 1000);
    Doudi__FetchReply *r = await_reply(f, 2000);
    assert_non_null(r);
    assert_int_equal(r->n_records, 3);
    assert_int_equal(r->records[0]->sequence, 3);
    doudi__fetch_reply__free_unpacked(r, NULL);

    /* A parked request whose wait expires gets an empty OK. */
    int64_t t0 = dd_monotonic_ns();
    send_fetch(f, "", 5, 150, NULL, 0, 2);
    r = await_reply(f, 3000);
    assert_non_null(r);
    assert_int_equal(r->status, DOUDI__FETCH_STATUS__FETCH_STATUS_OK);
    assert_int_equal(r->n_records, 0);
    assert_true(dd_monotonic_ns() - t0 >= 140 * 1000000LL);
    doudi__fetch_reply__free_unpacked(r, NULL);
}

static void test_kind_filter(void **state)
{
    fixture *f = *state;
    append(f, 10, 1000); /* kinds 10, 11, 10, 11, ... */
    uint32_t kinds[] = {11};
    send_fetch(f, "", 0, 0, kinds, 1, 3);
    Doudi__FetchReply *r = await_reply(f, 2000);
    assert_non_null(r);
    assert_int_equal(r->n_records, 5);
    for (size_t i = 0; i < r->n_records; i++) {
        assert_int_equal(r->records[i]->kind, 11);
        assert_int_equal(r->records[i]->sequence, 2 * i + 2);
    }
    assert_int_equal(r->scanned_through_sequence, 10);
    doudi__fetch_reply__free_unpacked(r, NULL);

    /* Only unwanted kinds after the cursor and a long poll: it waits, then
     * answers once a wanted record comes, never before. */
    uint32_t only12[] = {12};
    send_fetch(f, "", 0, 5000, only12, 1, 4);
    assert_null(await_reply(f, 100));
    append_job job = {f->log, 1, 12, 12, 1000, 0, 0};
    assert_int_equal(dd_store_write(f->store, append_fn, &job), 0);
    r = await_reply(f, 2000);
    assert_non_null(r);
    assert_int_equal(r->n_records, 1);
    assert_int_equal(r->records[0]->sequence, 11);
    doudi__fetch_reply__free_unpacked(r, NULL);
}

static void test_trim(void **state)
{
    fixture *f = *state;
    int64_t now = 10 * 86400000LL;
    append(f, 100, now - 5000);   /* old enough for the 1 ms retention */
    uint64_t trimmed = 99;
    /* The required consumer "slow" has never fetched: nothing may go. */
    assert_int_equal(dd_log_trim(f->log, now, &trimmed), 0);
    assert_int_equal(trimmed, 0);

    send_fetch(f, "slow", 50, 0, NULL, 0, 1);
    Doudi__FetchReply *r = await_reply(f, 2000);
    doudi__fetch_reply__free_unpacked(r, NULL);
    assert_int_equal(dd_log_slowest_consumer(f->log), 50);
    assert_int_equal(dd_log_trim(f->log, now, &trimmed), 0);
    assert_int_equal(trimmed, 50);
    assert_int_equal(dd_log_first(f->log), 51);

    /* Asking for trimmed records is an error, never a silent gap. */
    send_fetch(f, "", 10, 0, NULL, 0, 2);
    r = await_reply(f, 2000);
    assert_int_equal(r->status, DOUDI__FETCH_STATUS__FETCH_STATUS_TRIMMED);
    doudi__fetch_reply__free_unpacked(r, NULL);

    /* Consumed but too young: the retention keeps them. */
    send_fetch(f, "slow", 100, 0, NULL, 0, 3);
    r = await_reply(f, 2000);
    doudi__fetch_reply__free_unpacked(r, NULL);
    assert_int_equal(dd_log_trim(f->log, now - 6000, &trimmed), 0);
    assert_int_equal(trimmed, 0);
    /* Old and consumed: they go, except the head, which keeps the sequence. */
    assert_int_equal(dd_log_trim(f->log, now, &trimmed), 0);
    assert_int_equal(trimmed, 49);
    assert_int_equal(dd_log_first(f->log), 100);

    /* Reopen: head, first and the consumer's cursor are all still known. */
    dd_log_close(&f->log);
    dd_store_close(&f->store);
    open_log(f, 0, 1);
    assert_int_equal(dd_log_head(f->log), 100);
    assert_int_equal(dd_log_first(f->log), 100);
    assert_int_equal(dd_log_slowest_consumer(f->log), 100);
    append(f, 1, now);
    assert_int_equal(dd_log_head(f->log), 101);
    assert_int_equal(dd_log_serve(f->log, f->loop, f->zctx, "inproc://reopened"), 0);
}

/* A consumer that asks past its commit (the next batch while it applies
 * this one) keeps the committed cursor: trimming and lag follow it. */
static void test_pipelined_fetch_keeps_the_committed_cursor(void **state)
{
    fixture *f = *state;
    int64_t now = 10 * 86400000LL;
    append(f, 100, now - 5000);
    Doudi__FetchRequest req = DOUDI__FETCH_REQUEST__INIT;
    req.request_id = 7;
    req.consumer = "slow";
    req.after_sequence = 80;
    req.pipelined = true;
    req.committed_sequence = 30;
    uint8_t buf[512];
    size_t len = doudi__fetch_request__pack(&req, buf);
    assert_int_equal(zmq_send(f->client, buf, len, 0), (int)len);
    Doudi__FetchReply *r = await_reply(f, 2000);
    assert_non_null(r);
    assert_int_equal(r->n_records, 20);
    assert_int_equal(r->records[0]->sequence, 81);
    doudi__fetch_reply__free_unpacked(r, NULL);
    assert_int_equal(dd_log_slowest_consumer(f->log), 30);
    uint64_t trimmed = 0;
    assert_int_equal(dd_log_trim(f->log, now, &trimmed), 0);
    assert_int_equal(trimmed, 30);
    /* A committed cursor past what is asked for is not believed. */
    req.request_id = 8;
    req.after_sequence = 40;
    req.committed_sequence = 90;
    len = doudi__fetch_request__pack(&req, buf);
    assert_int_equal(zmq_send(f->client, buf, len, 0), (int)len);
    r = await_reply(f, 2000);
    doudi__fetch_reply__free_unpacked(r, NULL);
    assert_int_equal(dd_log_slowest_consumer(f->log), 40);
}

static void test_map_growth(void **state)
{
    fixture *f = *state;
    dd_log_close(&f->log);
    dd_store_close(&f->store);
    rm_tree(f->dir);
    open_log(f, 64 * 1024, 1); /* a tiny map: the batch cannot fit */
    append_job job = {f->log, 3000, 10, 11, 1000, 300, 0};
    assert_int_equal(dd_store_write(f->store, append_fn, &job), 0);
    dd_store_usage u;
    dd_store_usage_get(f->store, &u);
    assert_true(u.grows >= 3);
    assert_true(u.retries >= 3);
    assert_int_equal(dd_log_head(f->log), 3000);
    /* Every record of the retried batch is there exactly once. */
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    for (uint64_t s = 1; s <= 3000; s++) {
        const void *p;
        size_t len;
        assert_int_equal(dd_log_get(f->log, txn, s, NULL, &p, &len), 0);
        assert_int_equal(len, 300);
    }
    mdb_txn_abort(txn);

    /* A limit on growth turns into MDB_MAP_FULL, and nothing is half-written. */
    dd_log_close(&f->log);
    dd_store_close(&f->store);
    rm_tree(f->dir);
    dd_store_options so = {.map_bytes = 64 * 1024, .max_map_bytes = 128 * 1024};
    assert_int_equal(dd_store_open(f->dir, &so, &f->store), 0);
    assert_int_equal(dd_log_open(f->store, NULL, NULL, &f->log), 0);
    job.log = f->log;
    assert_int_equal(dd_store_write(f->store, append_fn, &job), MDB_MAP_FULL);
    assert_int_equal(dd_log_head(f->log), 0);
    assert_int_equal(dd_log_next(f->log), 1);
}

/* A store for random reads asks LMDB for no readahead (MDB_NORDAHEAD), also
 * once its map has grown; a store by default keeps the kernel's readahead. */
static void test_random_reads_store(void **state)
{
    fixture *f = *state;
    unsigned flags;
    assert_int_equal(mdb_env_get_flags(dd_store_env(f->store), &flags), 0);
    assert_false(flags & MDB_NORDAHEAD);
    dd_log_close(&f->log);
    dd_store_close(&f->store);
    rm_tree(f->dir);
    dd_store_options so = {.map_bytes = 64 * 1024, .random_reads = true};
    assert_int_equal(dd_store_open(f->dir, &so, &f->store), 0);
    assert_int_equal(mdb_env_get_flags(dd_store_env(f->store), &flags), 0);
    assert_true(flags & MDB_NORDAHEAD);
    assert_int_equal(dd_log_open(f->store, NULL, NULL, &f->log), 0);
    append_job job = {f->log, 3000, 10, 11, 1000, 300, 0};
    assert_int_equal(dd_store_write(f->store, append_fn, &job), 0);
    dd_store_usage u;
    dd_store_usage_get(f->store, &u);
    assert_true(u.grows >= 3);
    assert_int_equal(dd_log_head(f->log), 3000);
    assert_int_equal(mdb_env_get_flags(dd_store_env(f->store), &flags), 0);
    assert_true(flags & MDB_NORDAHEAD);
}

/* ---- consumer ----------------------------------------------------------- */

typedef struct applier {
    MDB_dbi applied;
    uint64_t calls;
    int fail_once_at_call; /* return MDB_MAP_FULL once, to exercise the retry */
    int io_errors;         /* then fail this many calls with -EIO (a disk error) */
} applier;

static int apply_records(void *arg, MDB_txn *txn, Doudi__LogRecord *const *records, size_t n)
{
    applier *a = arg;
    a->calls++;
    if (a->fail_once_at_call && (int)a->calls == a->fail_once_at_call)
        return MDB_MAP_FULL;
    if (a->io_errors > 0 && a->calls > 1) {
        a->io_errors--;
        return -EIO;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t seq = records[i]->sequence;
        MDB_val k = dd_store_u64_key(&seq);
        MDB_val v = {records[i]->payload.len, records[i]->payload.data};
        /* NOOVERWRITE: applying a record twice fails the test. */
        int rc = mdb_put(txn, a->applied, &k, &v, MDB_NOOVERWRITE);
        if (rc)
            return rc;
    }
    return 0;
}

static void test_consumer_exactly_once(void **state)
{
    fixture *f = *state;
    append(f, 2500, 1000);

    char dir[80];
    snprintf(dir, sizeof(dir), "%s-consumer", f->dir);
    rm_tree(dir);
    dd_store *cstore;
    assert_int_equal(dd_store_open(dir, NULL, &cstore), 0);
    applier a = {.fail_once_at_call = 2};
    assert_int_equal(dd_store_dbi(cstore, "applied", MDB_INTEGERKEY, &a.applied), 0);
    dd_consumer_options co = {
        .name = "slow", .upstream = "test", .endpoint = f->endpoint, .max_records = 1000,
        .wait_ms = 200};
    dd_consumer *c;
    assert_int_equal(dd_consumer_new(cstore, f->loop, f->zctx, &co, apply_records, &a, f->metrics, &c), 0);
    assert_int_equal(dd_consumer_start(c), 0);
    int64_t end = dd_monotonic_ns() + 5000000000LL;
    while (dd_consumer_cursor(c) < 2500 && dd_monotonic_ns() < end)
        ev_run(f->loop, EVRUN_ONCE);
    assert_int_equal(dd_consumer_cursor(c), 2500);
    assert_int_equal(dd_consumer_get_state(c), DD_CONSUMER_WAITING);

    /* More records reach the waiting consumer through the long poll. */
    append(f, 10, 1000);
    end = dd_monotonic_ns() + 5000000000LL;
    while (dd_consumer_cursor(c) < 2510 && dd_monotonic_ns() < end)
        ev_run(f->loop, EVRUN_ONCE);
    assert_int_equal(dd_consumer_cursor(c), 2510);
    dd_consumer_destroy(&c);

    /* A new consumer on the same store resumes from the committed cursor. */
    assert_int_equal(dd_consumer_new(cstore, f->loop, f->zctx, &co, apply_records, &a, NULL, &c), 0);
    assert_int_equal(dd_consumer_cursor(c), 2510);
    dd_consumer_destroy(&c);

    MDB_txn *txn;
    MDB_stat st;
    assert_int_equal(mdb_txn_begin(dd_store_env(cstore), NULL, MDB_RDONLY, &txn), 0);
    mdb_stat(txn, a.applied, &st);
    assert_int_equal(st.ms_entries, 2510);
    mdb_txn_abort(txn);
    /* The producer knows how far the consumer got. */
    assert_true(dd_log_slowest_consumer(f->log) >= 2500);
    dd_store_close(&cstore);
    rm_tree(dir);
}

/* A batch that fails (here -EIO, three times in a row) is fetched and
 * applied again after a pause, without a restart, and applied once. */
static void test_consumer_retries_a_failed_batch(void **state)
{
    fixture *f = *state;
    append(f, 3000, 1000);
    char dir[80];
    snprintf(dir, sizeof(dir), "%s-retry", f->dir);
    rm_tree(dir);
    dd_store *cstore;
    assert_int_equal(dd_store_open(dir, NULL, &cstore), 0);
    applier a = {.io_errors = 3};
    assert_int_equal(dd_store_dbi(cstore, "applied", MDB_INTEGERKEY, &a.applied), 0);
    dd_consumer_options co = {.name = "slow", .upstream = "test", .endpoint = f->endpoint,
                              .max_records = 1000, .wait_ms = 200, .apply_retry_ms = 20};
    dd_consumer *c;
    assert_int_equal(dd_consumer_new(cstore, f->loop, f->zctx, &co, apply_records, &a, f->metrics,
                                     &c), 0);
    assert_int_equal(dd_consumer_start(c), 0);
    int64_t end = dd_monotonic_ns() + 10000000000LL;
    while (dd_consumer_cursor(c) < 3000 && dd_monotonic_ns() < end)
        ev_run(f->loop, EVRUN_ONCE);
    assert_int_equal(dd_consumer_cursor(c), 3000);
    assert_int_equal(a.io_errors, 0);
    dd_metric *failures = dd_metrics_find(f->metrics, "doudi_consumer_apply_failures_total");
    assert_non_null(failures);
    assert_true(dd_series_value(dd_metric_series(failures, "test")) == 3);
    dd_metric *stalls = dd_metrics_find(f->metrics, "doudi_consumer_stalls_total");
    assert_true(!stalls || dd_series_value(dd_metric_series(stalls, "test")) == 0);
    dd_consumer_destroy(&c);
    MDB_txn *txn;
    MDB_stat st;
    assert_int_equal(mdb_txn_begin(dd_store_env(cstore), NULL, MDB_RDONLY, &txn), 0);
    mdb_stat(txn, a.applied, &st);
    assert_int_equal(st.ms_entries, 3000); /* NOOVERWRITE: none twice */
    mdb_txn_abort(txn);
    dd_store_close(&cstore);
    rm_tree(dir);
}

int main(void)
{
    dd_diag_init("test_log", DD_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_and_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_poll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kind_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_fetch_keeps_the_committed_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_reads_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consumer_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consumer_retries_a_failed_batch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
