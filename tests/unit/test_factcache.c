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

static void test_same_only_after_put(void **state)
{
    (void)state;
    elig_factcache *c = elig_factcache_new(1 << 20);
    uint64_t income = elig_factcache_key("440106194001010012", 1);
    uint64_t assets = elig_factcache_key("440106194001010012", 5);
    assert_int_not_equal(income, assets);
    assert_false(elig_factcache_same(c, income, 42));
    elig_factcache_put(c, income, 42);
    assert_true(elig_factcache_same(c, income, 42));
    assert_false(elig_factcache_same(c, income, 43));
    assert_false(elig_factcache_same(c, assets, 42));
    /* A new value replaces the old one. */
    elig_factcache_put(c, income, 43);
    assert_false(elig_factcache_same(c, income, 42));
    assert_true(elig_factcache_same(c, income, 43));
    elig_factcache_stats st;
    elig_factcache_stats_get(c, &st);
    assert_int_equal(st.entries, 1);
    /* Forgotten (a batch aborted): no value matches until put again. */
    elig_factcache_forget(c, income);
    assert_false(elig_factcache_same(c, income, 43));
    assert_false(elig_factcache_same(c, income, 0));
    elig_factcache_put(c, income, 43);
    assert_true(elig_factcache_same(c, income, 43));
    elig_factcache_forget(c, assets); /* never put: nothing happens */
    elig_factcache_clear(c);
    assert_false(elig_factcache_same(c, income, 43));
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
        elig_factcache_put(c, elig_factcache_key(id, 1), (uint64_t)i * 7 + 1);
    }
    for (int i = 0; i < 300000; i++) {
        snprintf(id, sizeof(id), "p%d", i);
        assert_true(elig_factcache_same(c, elig_factcache_key(id, 1), (uint64_t)i * 7 + 1));
        assert_false(elig_factcache_same(c, elig_factcache_key(id, 2), (uint64_t)i * 7 + 1));
    }
    elig_factcache_stats st;
    elig_factcache_stats_get(c, &st);
    assert_int_equal(st.entries, 300000);
    assert_true(st.capacity * 3 > st.entries * 4); /* below 3/4 full */
    assert_int_equal(st.resets, 0);
    elig_factcache_destroy(&c);
}

static void test_starts_over_at_its_limit(void **state)
{
    (void)state;
    /* Room for 65536 slots: filling past 3/4 drops the table. */
    elig_factcache *c = elig_factcache_new(65536 * 16);
    char id[32];
    for (int i = 0; i < 60000; i++) {
        snprintf(id, sizeof(id), "p%d", i);
        elig_factcache_put(c, elig_factcache_key(id, 1), 9);
    }
    elig_factcache_stats st;
    elig_factcache_stats_get(c, &st);
    assert_int_equal(st.resets, 1);
    assert_int_equal(st.capacity, 65536);
    assert_true(st.entries < 60000);
    /* The last one put is always there. */
    assert_true(elig_factcache_same(c, elig_factcache_key("p59999", 1), 9));
    assert_false(elig_factcache_same(c, elig_factcache_key("p0", 1), 9));
    elig_factcache_destroy(&c);
}

static void test_disabled_cache_never_answers(void **state)
{
    (void)state;
    elig_factcache *c = elig_factcache_new(0);
    uint64_t k = elig_factcache_key("x", 1);
    elig_factcache_put(c, k, 5);
    assert_false(elig_factcache_same(c, k, 5));
    elig_factcache_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_only_after_put),
        cmocka_unit_test(test_grows_and_keeps_everything),
        cmocka_unit_test(test_starts_over_at_its_limit),
        cmocka_unit_test(test_disabled_cache_never_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
