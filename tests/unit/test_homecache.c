/*
 * test_homecache.c: the in-memory copy of person_index answers what was put
 * last, never an id it could not hold, and keeps everything as it grows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "homecache.h"

static void expect_home(const elig_homecache *c, const char *person, const char *household)
{
    const char *h;
    size_t hl;
    if (!household) {
        assert_false(elig_homecache_get(c, person, strlen(person), &h, &hl));
        return;
    }
    assert_true(elig_homecache_get(c, person, strlen(person), &h, &hl));
    assert_int_equal(hl, strlen(household));
    assert_memory_equal(h, household, hl);
}

static void put(elig_homecache *c, const char *person, const char *household)
{
    elig_homecache_put(c, person, strlen(person), household, strlen(household));
}

static void test_the_last_put_wins(void **state)
{
    (void)state;
    elig_homecache *c = elig_homecache_new(1 << 20);
    expect_home(c, "440106194001010012", NULL);
    put(c, "440106194001010012", "hh-440106001001-00042");
    put(c, "440106194001010020", "hh-440106001001-00042");
    expect_home(c, "440106194001010012", "hh-440106001001-00042");
    put(c, "440106194001010012", "hh-1");            /* moved */
    expect_home(c, "440106194001010012", "hh-1");
    expect_home(c, "440106194001010020", "hh-440106001001-00042");
    assert_int_equal(elig_homecache_entries(c), 2);
    /* An id longer than a slot holds: the person is no longer answered. */
    put(c, "440106194001010012", "hh-a-household-id-of-thirty-bytes");
    expect_home(c, "440106194001010012", NULL);
    put(c, "440106194001010012", "hh-2");
    expect_home(c, "440106194001010012", "hh-2");
    elig_homecache_clear(c);
    expect_home(c, "440106194001010020", NULL);
    assert_int_equal(elig_homecache_entries(c), 0);
    elig_homecache_destroy(&c);
    assert_null(c);
}

static void test_grows_and_keeps_everything(void **state)
{
    (void)state;
    elig_homecache *c = elig_homecache_new(64 << 20);
    size_t first = elig_homecache_bytes(c);
    char person[32], household[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(person, sizeof(person), "p%d", i);
        snprintf(household, sizeof(household), "hh-%d", i / 3);
        put(c, person, household);
    }
    assert_true(elig_homecache_bytes(c) > first);
    assert_int_equal(elig_homecache_entries(c), 100000);
    for (int i = 0; i < 100000; i += 7) {
        snprintf(person, sizeof(person), "p%d", i);
        snprintf(household, sizeof(household), "hh-%d", i / 3);
        expect_home(c, person, household);
    }
    elig_homecache_destroy(&c);
}

static void test_starts_over_at_its_limit(void **state)
{
    (void)state;
    elig_homecache *c = elig_homecache_new(1 << 20); /* 32,768 slots */
    char person[32];
    for (int i = 0; i < 30000; i++) {
        snprintf(person, sizeof(person), "p%d", i);
        put(c, person, "hh");
    }
    assert_true(elig_homecache_bytes(c) <= (1 << 20));
    assert_true(elig_homecache_entries(c) < 30000);
    expect_home(c, "p29999", "hh"); /* the newest survives a new start */
    elig_homecache_destroy(&c);
}

static void test_disabled_cache_never_answers(void **state)
{
    (void)state;
    elig_homecache *c = elig_homecache_new(0);
    put(c, "p", "hh");
    expect_home(c, "p", NULL);
    assert_int_equal(elig_homecache_bytes(c), 0);
    elig_homecache_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_last_put_wins),
        cmocka_unit_test(test_grows_and_keeps_everything),
        cmocka_unit_test(test_starts_over_at_its_limit),
        cmocka_unit_test(test_disabled_cache_never_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
