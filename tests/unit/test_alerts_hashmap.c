/*
 * test_alerts_hashmap.c: the multimap holds exactly what was added and not
 * removed, through the rehashes that removals force at the same size (into
 * the table the last one left behind) and the doublings that additions
 * force, checked against a plain array after every step of a long random
 * workload.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "alerts_hashmap.h"
#include "mutate.h"

#define NUMBERS 20000

/* held[n]: whether number n (1..NUMBERS) is in the map; its hash is n's
 * hash below, so several numbers share each hash. */
static bool held[NUMBERS + 1];

static uint64_t hash_of(uint64_t number)
{
    return number % 997 + 1;
}

typedef struct seen {
    size_t count;
    bool wrong;
    uint64_t hash;
} seen;

static int note(void *arg, uint64_t number)
{
    seen *s = arg;
    s->count++;
    if (number == 0 || number > NUMBERS || !held[number] || hash_of(number) != s->hash)
        s->wrong = true;
    return 0;
}

static void check_hash(const alerts_hashmap *m, uint64_t hash)
{
    size_t want = 0;
    for (uint64_t n = 1; n <= NUMBERS; n++)
        want += held[n] && hash_of(n) == hash;
    seen s = {0, false, hash};
    alerts_hashmap_each(m, hash, note, &s);
    assert_false(s.wrong);
    assert_int_equal(s.count, want);
}

static void test_random_adds_and_removes_match_a_plain_array(void **state)
{
    (void)state;
    alerts_hashmap *m = alerts_hashmap_new();
    size_t count = 0;
    for (int step = 0; step < 400000; step++) {
        uint64_t n = 1 + rnd() % NUMBERS;
        /* Phases that grow and phases that shrink the map, so that both
         * kinds of rehash happen many times. */
        bool growing = (step / 50000) % 2 == 0;
        if (!held[n] && (growing || rnd() % 4 == 0)) {
            alerts_hashmap_add(m, hash_of(n), n);
            held[n] = true;
            count++;
        } else if (held[n]) {
            assert_true(alerts_hashmap_remove(m, hash_of(n), n));
            held[n] = false;
            count--;
        } else {
            assert_false(alerts_hashmap_remove(m, hash_of(n), n));
        }
        assert_int_equal(alerts_hashmap_count(m), count);
        if (step % 5000 == 0)
            for (uint64_t h = 1; h <= 997; h += 37)
                check_hash(m, h);
    }
    for (uint64_t h = 1; h <= 997; h++)
        check_hash(m, h);
    alerts_hashmap_clear(m);
    assert_int_equal(alerts_hashmap_count(m), 0);
    for (uint64_t n = 1; n <= NUMBERS; n++)
        held[n] = false;
    for (uint64_t h = 1; h <= 997; h += 97)
        check_hash(m, h);
    alerts_hashmap_destroy(&m);
    assert_null(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_adds_and_removes_match_a_plain_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
