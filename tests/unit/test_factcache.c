/*
 * test_factcache.c: the in-memory cache of department findings that lets
 * eligibility skip the registry for records that repeat what it knows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "factcache.h"

/* Findings with only kind k known, as v. */
static const uint64_t *only(unsigned k, uint64_t v)
{
    static uint64_t values[ELIG_FACT_KINDS];
    for (unsigned i = 0; i < ELIG_FACT_KINDS; i++)
        values[i] = i == k ? v : 0;
    return values;
}

static void test_same_only_after_put(void **state)
{
    (void)state;
    elig_factcache *c = elig_factcache_new(1 << 20);
    uint64_t p = elig_factcache_key("440106194001010012");
    uint64_t q = elig_factcache_key("440106194001010020");
    assert_int_not_equal(p, q);
    assert_false(elig_factcache_same(c, p, 1, 42));
    uint64_t values[ELIG_FACT_KINDS] = {99, 42, 0, 0, 0, 7, 0, 3};
    elig_factcache_put(c, p, values);
    assert_true(elig_factcache_same(c, p, 1, 42));
    assert_true(elig_factcache_same(c, p, 5, 7));
    assert_true(elig_factcache_same(c, p, 7, 3));
    assert_false(elig_factcache_same(c, p, 1, 43));
    assert_false(elig_factcache_same(c, p, 2, 0)); /* unknown kinds never match */
    assert_false(elig_factcache_same(c, p, 0, 99)); /* value[0] is not a kind */
    assert_false(elig_factcache_same(c, p, ELIG_FACT_KINDS, 3));
    assert_false(elig_factcache_same(c, q, 1, 42));
    /* A put replaces every kind: what the registry holds now. */
    elig_factcache_put(c, p, only(1, 43));
    assert_false(elig_factcache_same(c, p, 1, 42));
    assert_true(elig_factcache_same(c, p, 1, 43));
    assert_false(elig_factcache_same(c, p, 5, 7));
    elig_factcache_stats st;
    elig_factcache_stats_get(c, &st);
    assert_int_equal(st.entries, 1);
    /* Forgotten (a batch aborted): no value matches until put again. */
    elig_factcache_forget(c, p);
    assert_false(elig_factcache_same(c, p, 1, 43));
    assert_false(elig_factcache_same(c, p, 1, 0));
    elig_factcache_put(c, p, only(1, 43));
    assert_true(elig_factcache_same(c, p, 1, 43));
    elig_factcache_forget(c, q); /* never put: nothing happens */
    elig_factcache_clear(c);
    assert_false(elig_factcache_same(c, p, 1, 43));
    elig_factcache_destroy(&c);
    assert_null(c);
}

static void test_grows_and_keeps_everything(void **state)
{
    (void)state;
    elig_factcache *c = elig_factcache_new(64u << 20);
    char id[32];
    for (int i = 0; i < 300000; i++) {
        snprintf(id, sizeof(id), "p%d", i);
        elig_factcache_put(c, elig_factcache_key(id), only(1 + i % 7, (uint64_t)i * 7 + 1));
    }
    for (int i = 0; i < 300000; i++) {
        snprintf(id, sizeof(id), "p%d", i);
        unsigned k = 1 + i % 7;
        assert_true(elig_factcache_same(c, elig_factcache_key(id), k, (uint64_t)i * 7 + 1));
        assert_false(elig_factcache_same(c, elig_factcache_key(id), 1 + k % 7, (uint64_t)i * 7 + 1));
    }
    elig_factcache_stats st;
    elig_factcache_stats_get(c, &st);
    assert_int_equal(st.entries, 300000);
    assert_true(st.capacity * 3 > st.entries * 4); /* below 3/4 full */
    assert_int_equal(st.resets, 0);
    assert_int_equal(st.bytes, st.capacity * 64);
    elig_factcache_destroy(&c);
}

static void test_starts_over_at_its_limit(void **state)
{
    (void)state;
    /* Room for 16384 slots: filling past 3/4 drops the table. */
    elig_factcache *c = elig_factcache_new(16384 * 64);
    char id[32];
    for (int i = 0; i < 15000; i++) {
        snprintf(id, sizeof(id), "p%d", i);
        elig_factcache_put(c, elig_factcache_key(id), only(1, 9));
    }
    elig_factcache_stats st;
    elig_factcache_stats_get(c, &st);
    assert_int_equal(st.resets, 1);
    assert_int_equal(st.capacity, 16384);
    assert_true(st.entries < 15000);
    /* The last one put is always there. */
    assert_true(elig_factcache_same(c, elig_factcache_key("p14999"), 1, 9));
    assert_false(elig_factcache_same(c, elig_factcache_key("p0"), 1, 9));
    elig_factcache_destroy(&c);
}

static void test_disabled_cache_never_answers(void **state)
{
    (void)state;
    elig_factcache *c = elig_factcache_new(0);
    uint64_t k = elig_factcache_key("x");
    elig_factcache_put(c, k, only(1, 5));
    assert_false(elig_factcache_same(c, k, 1, 5));
    elig_factcache_destroy(&c);
}

static void test_known_needs_every_finding_the_record_has(void **state)
{
    (void)state;
    elig_factcache *c = elig_factcache_new(1 << 20);
    uint64_t p = elig_factcache_key("440106194001010012");
    uint64_t held[ELIG_FACT_KINDS] = {0, 42, 0, 0, 0, 7, 0, 3};
    uint64_t record[ELIG_FACT_KINDS] = {0};
    assert_false(elig_factcache_known(c, p, only(1, 42))); /* nobody cached */
    elig_factcache_put(c, p, held);
    assert_true(elig_factcache_known(c, p, only(1, 42)));
    assert_true(elig_factcache_known(c, p, held));
    assert_false(elig_factcache_known(c, p, only(1, 41)));
    assert_false(elig_factcache_known(c, p, only(2, 5)));  /* a kind not held */
    assert_false(elig_factcache_known(c, p, record));      /* a record finding nothing */
    record[1] = 42;
    record[7] = 4;
    assert_false(elig_factcache_known(c, p, record));      /* one of two differs */
    record[7] = 3;
    assert_true(elig_factcache_known(c, p, record));
    elig_factcache_forget(c, p);
    assert_false(elig_factcache_known(c, p, record));
    elig_factcache_destroy(&c);
}

static void test_full_says_when_a_put_moves_the_table(void **state)
{
    (void)state;
    elig_factcache *c = elig_factcache_new(64 << 20);
    elig_factcache_stats st;
    elig_factcache_stats_get(c, &st);
    size_t capacity = st.capacity;
    char id[32];
    size_t n = 0;
    while (!elig_factcache_full(c)) {
        snprintf(id, sizeof(id), "p%zu", n++);
        elig_factcache_put(c, elig_factcache_key(id), only(1, 9));
    }
    elig_factcache_stats_get(c, &st);
    assert_int_equal(st.capacity, capacity); /* no put moved it so far */
    assert_int_equal(n, capacity * 3 / 4 - 1);
    snprintf(id, sizeof(id), "p%zu", n);
    elig_factcache_put(c, elig_factcache_key(id), only(1, 9));
    elig_factcache_stats_get(c, &st);
    assert_int_equal(st.capacity, 2 * capacity); /* this one did */
    assert_false(elig_factcache_full(c));
    elig_factcache_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_only_after_put),
        cmocka_unit_test(test_known_needs_every_finding_the_record_has),
        cmocka_unit_test(test_full_says_when_a_put_moves_the_table),
        cmocka_unit_test(test_grows_and_keeps_everything),
        cmocka_unit_test(test_starts_over_at_its_limit),
        cmocka_unit_test(test_disabled_cache_never_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
