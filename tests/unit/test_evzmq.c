/*
 * test_evzmq.c: the libev watcher for ZeroMQ sockets never strands a
 * message. ZMQ_FD is edge-triggered: a callback that leaves messages in the
 * socket gets no new edge for them, so a naive ev_io watcher would wait
 * forever. Here the callback takes one message per call on purpose, and
 * every message must still arrive without any further traffic. Also: the
 * standard socket options, multipart receive, and a send to a vanished
 * ROUTER peer reported as unreachable instead of silently dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "diag.h"
#include "error.h"
#include "evzmq.h"

typedef struct counter {
    int received;
    int calls;
    size_t last_nframes;
} counter;

static void one_per_call(struct ev_loop *loop, dd_evzmq *w, int revents)
{
    (void)loop;
    assert_true(revents & EV_READ);
    counter *c = w->data;
    c->calls++;
    dd_zmsg msg;
    int rc = dd_zmsg_recv(w->socket, &msg);
    if (rc == DD_AGAIN)
        return;
    assert_int_equal(rc, 0);
    c->received++;
    c->last_nframes = msg.nframes;
    dd_zmsg_close(&msg);
}

static void run_until(struct ev_loop *loop, const int *value, int target, int deadline_ms)
{
    int64_t end = dd_monotonic_ns() + (int64_t)deadline_ms * 1000000;
    while (*value < target && dd_monotonic_ns() < end)
        ev_run(loop, EVRUN_ONCE);
}

static void test_nothing_stranded(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *pull = dd_zsock_new(ctx, ZMQ_PULL, 1 << 20, 0);
    void *push = dd_zsock_new(ctx, ZMQ_PUSH, 1 << 20, 0);
    assert_non_null(pull);
    assert_int_equal(dd_zsock_bind(pull, "tcp://127.0.0.1:*"), 0);
    char endpoint[128];
    size_t len = sizeof(endpoint);
    zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, endpoint, &len);
    assert_int_equal(dd_zsock_connect(push, endpoint), 0);

    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    counter c = {0};
    dd_evzmq w;
    assert_int_equal(dd_evzmq_init(&w, pull, EV_READ, one_per_call, &c), 0);
    dd_evzmq_start(loop, &w);

    /* A burst, all queued before the loop runs: one edge for 500 messages. */
    for (int i = 0; i < 500; i++)
        assert_int_equal(zmq_send(push, "x", 1, 0), 1);
    run_until(loop, &c.received, 500, 5000);
    assert_int_equal(c.received, 500);

    /* Multipart messages arrive whole. */
    zmq_send(push, "a", 1, ZMQ_SNDMORE);
    zmq_send(push, "b", 1, ZMQ_SNDMORE);
    zmq_send(push, "c", 1, 0);
    run_until(loop, &c.received, 501, 5000);
    assert_int_equal(c.received, 501);
    assert_int_equal(c.last_nframes, 3);

    /* More frames than are held: drained and counted, never left behind. */
    for (int i = 0; i < 9; i++)
        zmq_send(push, "f", 1, ZMQ_SNDMORE);
    zmq_send(push, "f", 1, 0);
    run_until(loop, &c.received, 502, 5000);
    assert_int_equal(c.last_nframes, 10);

    dd_evzmq_stop(loop, &w);
    ev_loop_destroy(loop);
    zmq_close(push);
    zmq_close(pull);
    zmq_ctx_term(ctx);
}

static void test_router_unreachable_and_options(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *router = dd_zsock_new(ctx, ZMQ_ROUTER, 4096, 100);
    assert_non_null(router);
    int mandatory = 0, linger = -1;
    int64_t maxmsg = 0;
    size_t len = sizeof(linger);
    zmq_getsockopt(router, ZMQ_LINGER, &linger, &len);
    assert_int_equal(linger, 0);
    len = sizeof(maxmsg);
    zmq_getsockopt(router, ZMQ_MAXMSGSIZE, &maxmsg, &len);
    assert_int_equal(maxmsg, 4096);
    (void)mandatory;

    /* A reply to a peer that is not connected is an error we can count. */
    const void *data[2] = {"nobody", "reply"};
    size_t sizes[2] = {6, 5};
    assert_int_equal(dd_zsend_frames(router, data, sizes, 2), -EHOSTUNREACH);

    /* Nothing to receive: DD_AGAIN, not a block. */
    dd_zmsg msg;
    assert_int_equal(dd_zmsg_recv(router, &msg), DD_AGAIN);
    zmq_close(router);
    zmq_ctx_term(ctx);
}

static void test_clock(void **state)
{
    (void)state;
    dd_clock c;
    dd_clock_init(&c, DD_CLOCK_EVENT);
    assert_int_equal(dd_clock_now_ms(&c), 0);
    dd_clock_observe(&c, 5000);
    dd_clock_observe(&c, 4000); /* an older event does not rewind time */
    assert_int_equal(dd_clock_now_ms(&c), 5000);
    dd_clock_mode m;
    assert_int_equal(dd_clock_mode_parse("wall", &m), 0);
    assert_int_equal(m, DD_CLOCK_WALL);
    assert_int_equal(dd_clock_mode_parse("sundial", &m), DD_ECONFIG);
    dd_clock_init(&c, DD_CLOCK_WALL);
    int64_t now = dd_wall_ms();
    assert_true(dd_clock_now_ms(&c) >= now);
}

int main(void)
{
    dd_diag_init("test_evzmq", DD_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_stranded),
        cmocka_unit_test(test_router_unreachable_and_options),
        cmocka_unit_test(test_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
