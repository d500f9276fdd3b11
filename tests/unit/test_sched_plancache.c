/*
 * test_sched_plancache.c: the plans tree's values in memory
 * (sched_plancache.h) against a model (an array indexed by key number):
 * puts of growing, shrinking and equal sizes, deletions, gets of keys with
 * and without a copy, clears; the byte cap, past which a key keeps no copy
 * at all; and the garbage replaced copies leave.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sched_plancache.h"

#define KEYS 5000

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t key_of(unsigned k, char *out)
{
    return (size_t)snprintf(out, 32, "4401061950%08u", k);
}

static void test_against_model(void **state)
{
    (void)state;
    static uint8_t values[KEYS][300];
    static size_t lens[KEYS];
    static bool held[KEYS];
    sched_plancache *c = sched_plancache_new((size_t)1 << 30);
    for (int round = 0; round < 300000; round++) {
        unsigned k = (unsigned)(rnd() % KEYS);
        char key[32];
        size_t klen = key_of(k, key);
        uint64_t r = rnd() % 100;
        if (r < 45) {
            size_t len = (size_t)(rnd() % 300);
            for (size_t i = 0; i < len; i++)
                values[k][i] = (uint8_t)rnd();
            assert_true(sched_plancache_put(c, key, klen, values[k], len));
            lens[k] = len;
            held[k] = true;
        } else if (r < 55) {
            sched_plancache_del(c, key, klen);
            held[k] = false;
        } else if (r < 99) {
            MDB_val v;
            bool found = sched_plancache_get(c, key, klen, &v);
            assert_int_equal(found, held[k]);
            if (found) {
                assert_int_equal(v.mv_size, lens[k]);
                assert_memory_equal(v.mv_data, values[k], lens[k]);
            }
        } else if (rnd() % 50 == 0) {
            sched_plancache_clear(c);
            memset(held, 0, sizeof(held));
            assert_int_equal(sched_plancache_garbage(c), 0);
        }
        if (round % 1000 == 0) {
            size_t n = 0;
            for (unsigned i = 0; i < KEYS; i++)
                n += held[i];
            assert_int_equal(sched_plancache_count(c), n);
        }
    }
    assert_true(sched_plancache_garbage(c) < sched_plancache_bytes(c));
    sched_plancache_destroy(&c);
    assert_null(c);
    sched_plancache_destroy(&c);
}

/* Full: a new key is not copied, a key whose copy must grow loses it, one
 * whose copy keeps its size is still replaced in place. */
static void test_full(void **state)
{
    (void)state;
    sched_plancache *c = sched_plancache_new(1000);
    char key[32];
    uint8_t value[400];
    memset(value, 7, sizeof(value));
    unsigned stored = 0;
    while (sched_plancache_put(c, key, key_of(stored, key), value, 200))
        stored++;
    assert_true(stored >= 3 && stored <= 5);
    assert_int_equal(sched_plancache_count(c), stored);
    MDB_val v;
    assert_false(sched_plancache_get(c, key, key_of(stored, key), &v));
    value[0] = 9;
    assert_true(sched_plancache_put(c, key, key_of(0, key), value, 200));
    assert_true(sched_plancache_get(c, key, key_of(0, key), &v));
    assert_int_equal(((const uint8_t *)v.mv_data)[0], 9);
    assert_int_equal(sched_plancache_garbage(c), 0);
    assert_false(sched_plancache_put(c, key, key_of(1, key), value, 400));
    assert_false(sched_plancache_get(c, key, key_of(1, key), &v));
    assert_int_equal(sched_plancache_count(c), stored - 1);
    assert_true(sched_plancache_garbage(c) > 200);
    sched_plancache_destroy(&c);
}

/* A value a little longer than the copy it replaces is written over it:
 * no garbage, and the cache's bytes do not grow. */
static void test_grows_in_place(void **state)
{
    (void)state;
    sched_plancache *c = sched_plancache_new((size_t)1 << 20);
    char key[32];
    size_t klen = key_of(1, key);
    uint8_t value[300];
    for (size_t i = 0; i < sizeof(value); i++)
        value[i] = (uint8_t)i;
    assert_true(sched_plancache_put(c, key, klen, value, 200));
    size_t bytes = sched_plancache_bytes(c);
    for (size_t len = 190; len <= 220; len += 3) {
        value[0] = (uint8_t)len;
        assert_true(sched_plancache_put(c, key, klen, value, len));
        MDB_val v;
        assert_true(sched_plancache_get(c, key, klen, &v));
        assert_int_equal(v.mv_size, len);
        assert_memory_equal(v.mv_data, value, len);
    }
    assert_int_equal(sched_plancache_garbage(c), 0);
    assert_int_equal(sched_plancache_bytes(c), bytes);
    /* Past its room: copied anew, the old copy garbage. */
    assert_true(sched_plancache_put(c, key, klen, value, 300));
    assert_true(sched_plancache_garbage(c) >= 200);
    assert_int_equal(sched_plancache_count(c), 1);
    sched_plancache_destroy(&c);
}

/* Complete only as the filler declares it, until a clear or a refused put. */
static void test_complete(void **state)
{
    (void)state;
    sched_plancache *c = sched_plancache_new(1000);
    char key[32];
    uint8_t value[400] = {0};
    assert_false(sched_plancache_complete(c));
    assert_true(sched_plancache_put(c, key, key_of(0, key), value, 100));
    assert_false(sched_plancache_complete(c));
    sched_plancache_set_complete(c);
    assert_true(sched_plancache_complete(c));
    /* replaced, deleted, added while there is room: still every key */
    assert_true(sched_plancache_put(c, key, key_of(0, key), value, 120));
    sched_plancache_del(c, key, key_of(0, key));
    assert_true(sched_plancache_put(c, key, key_of(1, key), value, 100));
    assert_true(sched_plancache_complete(c));
    unsigned n = 2;
    while (sched_plancache_put(c, key, key_of(n, key), value, 200))
        n++;
    assert_false(sched_plancache_complete(c));
    sched_plancache_set_complete(c);
    sched_plancache_clear(c);
    assert_false(sched_plancache_complete(c));
    sched_plancache_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_model),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_grows_in_place),
        cmocka_unit_test(test_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
