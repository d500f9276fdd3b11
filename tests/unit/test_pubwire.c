/*
 * test_pubwire.c: the PublishRequest fast path gives protobuf-c's result
 * or none at all.
 *
 * For requests as portals send them (up to a thousand events of every
 * size, empty events, no events) and for a deterministic stream of
 * mutations of them, whenever intake_publish_request_decode accepts,
 * protobuf-c must accept too and agree on the request id and on every
 * event's bytes. The unchanged requests must all be accepted, and the
 * mutations must leave a good share of inputs to each side, or the test
 * would prove nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "mutate.h"
#include "pubwire.h"

#define MAX_EVENTS 1000

/* A request of n events of 0..max_event bytes, packed. */
static uint8_t *make_request(size_t n, size_t max_event, size_t *len)
{
    Doudi__PublishRequest r = DOUDI__PUBLISH_REQUEST__INIT;
    r.request_id = rnd() % 3 == 0 ? 0 : rnd();
    ProtobufCBinaryData *events = calloc(n + 1, sizeof(*events));
    uint8_t *data = malloc(n * max_event + 1);
    for (size_t i = 0; i < n; i++) {
        events[i].len = max_event ? rnd() % (max_event + 1) : 0;
        events[i].data = data + i * max_event;
        for (size_t k = 0; k < events[i].len; k++)
            events[i].data[k] = (uint8_t)rnd();
    }
    r.events = events;
    r.n_events = n;
    *len = doudi__publish_request__get_packed_size(&r);
    uint8_t *out = malloc(*len + 64);
    doudi__publish_request__pack(&r, out);
    free(events);
    free(data);
    return out;
}

/* Decodes both ways; fails when the fast path accepts what protobuf-c
 * decodes differently or not at all. Returns whether it accepted. */
static bool compare(const uint8_t *bytes, size_t len, size_t max_events, dd_arena *arena)
{
    dd_arena_reset(arena);
    Doudi__PublishRequest *fast = intake_publish_request_decode(bytes, len, max_events, arena);
    if (!fast)
        return false;
    static const uint8_t nothing[1];
    Doudi__PublishRequest *slow = doudi__publish_request__unpack(NULL, len, len ? bytes : nothing);
    if (!slow)
        fail_msg("the fast path accepts %zu bytes protobuf-c refuses", len);
    assert_int_equal(slow->base.n_unknown_fields, 0);
    assert_int_equal(fast->request_id, slow->request_id);
    assert_int_equal(fast->n_events, slow->n_events);
    for (size_t i = 0; i < fast->n_events; i++) {
        assert_int_equal(fast->events[i].len, slow->events[i].len);
        assert_true((fast->events[i].data == NULL) == (slow->events[i].data == NULL));
        if (fast->events[i].len)
            assert_memory_equal(fast->events[i].data, slow->events[i].data, fast->events[i].len);
    }
    doudi__publish_request__free_unpacked(slow, NULL);
    return true;
}

static void test_requests_as_portals_send_them(void **state)
{
    (void)state;
    dd_arena *arena = dd_arena_new(0);
    static const size_t counts[] = {0, 1, 2, 17, 999, 1000};
    static const size_t sizes[] = {0, 1, 90, 127, 128, 300, 20000};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            if (counts[c] * sizes[s] > 2000000)
                continue;
            size_t len;
            uint8_t *req = make_request(counts[c], sizes[s], &len);
            if (!compare(req, len, MAX_EVENTS, arena))
                fail_msg("a request of %zu events of up to %zu bytes was declined", counts[c],
                         sizes[s]);
            free(req);
        }
    dd_arena_destroy(&arena);
}

/* Two encodings one after the other are one message to protobuf-c: the
 * later request_id wins and the events of both are kept, in order. */
static void test_concatenated_requests_merge_as_in_protobuf_c(void **state)
{
    (void)state;
    dd_arena *arena = dd_arena_new(0);
    for (int round = 0; round < 100; round++) {
        size_t la, lb;
        uint8_t *a = make_request(rnd() % 4, 50, &la);
        uint8_t *b = make_request(rnd() % 4, 50, &lb);
        uint8_t *both = malloc(la + lb + 1);
        memcpy(both, a, la);
        memcpy(both + la, b, lb);
        assert_true(compare(both, la + lb, MAX_EVENTS, arena));
        free(a);
        free(b);
        free(both);
    }
    dd_arena_destroy(&arena);
}

static void test_more_events_than_allowed_are_left_to_protobuf_c(void **state)
{
    (void)state;
    dd_arena *arena = dd_arena_new(0);
    size_t len;
    uint8_t *req = make_request(11, 20, &len);
    assert_non_null(intake_publish_request_decode(req, len, 11, arena));
    assert_null(intake_publish_request_decode(req, len, 10, arena));
    free(req);
    dd_arena_destroy(&arena);
}

static void test_mutations_agree_with_protobuf_c(void **state)
{
    (void)state;
    dd_arena *arena = dd_arena_new(0);
    size_t accepted = 0, declined = 0;
    for (int round = 0; round < 20000; round++) {
        size_t len;
        uint8_t *req = make_request(rnd() % 6, 1 + rnd() % 200, &len);
        size_t cap = len + 64;
        uint8_t *buf = malloc(cap);
        memcpy(buf, req, len);
        int mutations = 1 + (int)(rnd() % 3);
        for (int m = 0; m < mutations; m++)
            len = mutate(buf, len, cap);
        if (compare(buf, len, MAX_EVENTS, arena))
            accepted++;
        else
            declined++;
        free(req);
        free(buf);
    }
    /* Both sides must be exercised for the comparison to mean anything. */
    assert_true(accepted > 2000);
    assert_true(declined > 2000);
    dd_arena_destroy(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_as_portals_send_them),
        cmocka_unit_test(test_concatenated_requests_merge_as_in_protobuf_c),
        cmocka_unit_test(test_more_events_than_allowed_are_left_to_protobuf_c),
        cmocka_unit_test(test_mutations_agree_with_protobuf_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
