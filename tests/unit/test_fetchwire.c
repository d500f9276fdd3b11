/*
 * test_fetchwire.c: the FetchReply fast path gives protobuf-c's result or
 * none at all.
 *
 * For replies as a producer sends them (records of every size, an error
 * text, empty payloads, no records) and for a deterministic stream of
 * mutations of them (bytes changed, cut, inserted), whenever
 * dd_fetch_reply_decode accepts, protobuf-c must accept too and both
 * structures must encode to the same bytes. The unchanged replies must all
 * be accepted, and the mutations must leave a good share of inputs to each
 * side, or the test would prove nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fetchwire.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A reply of n records with payloads of 0..max_payload bytes, packed. */
static uint8_t *make_reply(size_t n, size_t max_payload, const char *error_text, size_t *len)
{
    Doudi__FetchReply r = DOUDI__FETCH_REPLY__INIT;
    r.request_id = rnd();
    r.status = DOUDI__FETCH_STATUS__FETCH_STATUS_OK;
    r.error_text = (char *)error_text;
    r.scanned_through_sequence = 1000 + n;
    r.head_sequence = UINT64_MAX - 3;
    r.first_sequence = 1;
    Doudi__LogRecord *recs = calloc(n + 1, sizeof(*recs));
    Doudi__LogRecord **ptrs = calloc(n + 1, sizeof(*ptrs));
    uint8_t *payloads = malloc(n * max_payload + 1);
    for (size_t i = 0; i < n; i++) {
        doudi__log_record__init(&recs[i]);
        recs[i].sequence = 1000 + i;
        recs[i].kind = (uint32_t)(10 + rnd() % 9);
        recs[i].appended_at_ms = (int64_t)(rnd() >> 20) * (rnd() & 1 ? 1 : -1);
        size_t plen = max_payload ? rnd() % (max_payload + 1) : 0;
        for (size_t k = 0; k < plen; k++)
            payloads[i * max_payload + k] = (uint8_t)rnd();
        recs[i].payload.data = plen ? payloads + i * max_payload : NULL;
        recs[i].payload.len = plen;
        ptrs[i] = &recs[i];
    }
    r.records = ptrs;
    r.n_records = n;
    *len = doudi__fetch_reply__get_packed_size(&r);
    uint8_t *buf = malloc(*len + 1);
    doudi__fetch_reply__pack(&r, buf);
    free(recs);
    free(ptrs);
    free(payloads);
    return buf;
}

static uint8_t *pack(const Doudi__FetchReply *r, size_t *len)
{
    *len = doudi__fetch_reply__get_packed_size(r);
    uint8_t *buf = malloc(*len + 1);
    doudi__fetch_reply__pack(r, buf);
    return buf;
}

/* 1: fast accepted (and matched), 0: declined. */
static int compare(const uint8_t *bytes, size_t len, dd_arena *arena)
{
    Doudi__FetchReply *fast = dd_fetch_reply_decode(bytes, len, arena);
    Doudi__FetchReply *slow = doudi__fetch_reply__unpack(NULL, len, bytes);
    int accepted = fast != NULL;
    if (fast) {
        if (!slow)
            fail_msg("the fast path accepted %zu bytes protobuf-c refuses", len);
        size_t lf, ls;
        uint8_t *bf = pack(fast, &lf), *bs = pack(slow, &ls);
        if (lf != ls || memcmp(bf, bs, lf) != 0)
            fail_msg("the fast path decoded %zu bytes differently from protobuf-c", len);
        free(bf);
        free(bs);
    }
    if (slow)
        doudi__fetch_reply__free_unpacked(slow, NULL);
    dd_arena_reset(arena);
    return accepted;
}

static void test_replies_as_sent(void **state)
{
    (void)state;
    dd_arena *arena = dd_arena_new(0);
    const size_t sizes[] = {0, 1, 7, 300, 5000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t len;
        uint8_t *buf = make_reply(sizes[i], 200, i == 2 ? "the records were trimmed" : "", &len);
        assert_int_equal(compare(buf, len, arena), 1);
        /* The payloads point into the received bytes. */
        Doudi__FetchReply *r = dd_fetch_reply_decode(buf, len, arena);
        assert_non_null(r);
        assert_int_equal(r->n_records, sizes[i]);
        for (size_t k = 0; k < r->n_records; k++)
            if (r->records[k]->payload.len)
                assert_true(r->records[k]->payload.data >= buf &&
                            r->records[k]->payload.data + r->records[k]->payload.len <= buf + len);
        dd_arena_reset(arena);
        free(buf);
    }
    /* Nothing at all is an empty reply. */
    assert_int_equal(compare((const uint8_t *)"", 0, arena), 1);
    dd_arena_destroy(&arena);
}

static void test_mutations(void **state)
{
    (void)state;
    dd_arena *arena = dd_arena_new(0);
    size_t accepted = 0, declined = 0;
    for (int round = 0; round < 20000; round++) {
        size_t len;
        uint8_t *buf = make_reply(1 + rnd() % 6, 40, rnd() % 4 ? "" : "bad", &len);
        uint8_t *m = malloc(len + 16);
        memcpy(m, buf, len);
        size_t mlen = len;
        int edits = 1 + (int)(rnd() % 3);
        for (int e = 0; e < edits; e++) {
            switch (rnd() % 4) {
            case 0: /* a byte changed */
                if (mlen)
                    m[rnd() % mlen] = (uint8_t)rnd();
                break;
            case 1: /* cut */
                if (mlen)
                    mlen = rnd() % mlen;
                break;
            case 2: /* a byte inserted */
                if (mlen < len + 15) {
                    size_t at = mlen ? rnd() % mlen : 0;
                    memmove(m + at + 1, m + at, mlen - at);
                    m[at] = (uint8_t)rnd();
                    mlen++;
                }
                break;
            default: /* a high bit set: longer varints, other wire types */
                if (mlen)
                    m[rnd() % mlen] |= 0x80;
                break;
            }
        }
        if (compare(m, mlen, arena))
            accepted++;
        else
            declined++;
        free(m);
        free(buf);
    }
    print_message("mutations: %zu accepted by the fast path, %zu left to protobuf-c\n", accepted,
                  declined);
    assert_true(accepted > 1000);
    assert_true(declined > 1000);
    dd_arena_destroy(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replies_as_sent),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
