/*
 * test_alloc.c: what an arena keeps for reuse.
 *
 * A reset keeps up to 256 MiB of blocks by default and everything after
 * dd_arena_keep(SIZE_MAX); dd_arena_take_blocks hands one arena's blocks to
 * another. Each piece allocated is a block of its own (a 2 MiB mapping) and
 * gets a mark; a block kept and handed out again still has it, while a
 * block given back and mapped anew (even at the same address) comes back
 * zeroed. 150 blocks: 300 MiB, past the default 256.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "alloc.h"

enum { BLOCK = 1 << 20, BLOCKS = 150 };

static const uint64_t MARK = 0x6b65707420626c6bULL;

/* Allocates BLOCKS block-sized pieces and marks each. */
static void fill_and_mark(dd_arena *a)
{
    for (size_t i = 0; i < BLOCKS; i++)
        *(uint64_t *)dd_arena_alloc(a, BLOCK) = MARK;
}

/* Allocates BLOCKS pieces again; how many came with their mark. */
static size_t reused(dd_arena *a)
{
    size_t n = 0;
    for (size_t i = 0; i < BLOCKS; i++)
        n += *(const uint64_t *)dd_arena_alloc(a, BLOCK) == MARK;
    return n;
}

static void test_a_reset_keeps_256_mib_by_default(void **state)
{
    (void)state;
    dd_arena *a = dd_arena_new(BLOCK);
    fill_and_mark(a);
    dd_arena_reset(a);
    size_t n = reused(a);
    /* 127 spares of 2 MiB (less their headers) and the current block. */
    assert_true(n >= 120 && n <= 130);
    dd_arena_destroy(&a);
}

static void test_an_arena_told_to_keep_all_reuses_every_block(void **state)
{
    (void)state;
    dd_arena *a = dd_arena_new(BLOCK);
    dd_arena_keep(a, SIZE_MAX);
    fill_and_mark(a);
    dd_arena_reset(a);
    assert_int_equal(reused(a), BLOCKS);
    dd_arena_destroy(&a);
}

static void test_blocks_taken_over_are_reused(void **state)
{
    (void)state;
    dd_arena *old = dd_arena_new(BLOCK);
    fill_and_mark(old);
    dd_arena *next = dd_arena_new(BLOCK);
    dd_arena_take_blocks(next, &old);
    assert_null(old);
    assert_int_equal(reused(next), BLOCKS);
    dd_arena_destroy(&next);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_reset_keeps_256_mib_by_default),
        cmocka_unit_test(test_an_arena_told_to_keep_all_reuses_every_block),
        cmocka_unit_test(test_blocks_taken_over_are_reused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
