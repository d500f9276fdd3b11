/* test_lmdb_touch.c: bench/lmdbtouch counts a write that dirties a clean page once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lmdb_touch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
    char dir[64];
    MDB_env *env;
    MDB_dbi dbi;
} fixture;

static MDB_val key_of(uint64_t *buf, uint64_t n)
{
    *buf = __builtin_bswap64(n); /* big endian: keys sort as numbers */
    MDB_val k = {sizeof(*buf), buf};
    return k;
}

static void put(MDB_txn *txn, MDB_dbi dbi, uint64_t n, unsigned flags)
{
    uint64_t kb;
    char value[100];
    memset(value, (int)(n & 0x7f), sizeof(value));
    MDB_val k = key_of(&kb, n), v = {sizeof(value), value};
    assert_int_equal(mdb_put(txn, dbi, &k, &v, flags), 0);
}

static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_lmdb_touch.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    setenv("DOUDI_LMDB_TOUCH_DIR", f->dir, 1);
    assert_int_equal(mdb_env_create(&f->env), 0);
    assert_int_equal(mdb_env_set_maxdbs(f->env, 4), 0);
    assert_int_equal(mdb_env_set_mapsize(f->env, 64 << 20), 0);
    assert_int_equal(mdb_env_open(f->env, f->dir, MDB_NOSYNC, 0600), 0);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "numbers", MDB_CREATE, &f->dbi), 0);
    /* 2,000 entries of about 116 bytes, even keys (room between them): some
     * 60 leaf pages. */
    for (uint64_t n = 0; n < 2000; n++)
        put(txn, f->dbi, 2 * n, MDB_APPEND);
    assert_int_equal(mdb_txn_commit(txn), 0);
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    mdb_env_close(f->env);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void counts(const fixture *f, unsigned long long *writes, unsigned long long *fresh)
{
    dd_touch_counts(f->dbi, writes, fresh);
}

static void test_first_write_to_a_clean_page_is_fresh(void **state)
{
    fixture *f = *state;
    unsigned long long w0, f0, w, fr;
    counts(f, &w0, &f0);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &txn), 0);
    put(txn, f->dbi, 0, 0);    /* first page */
    put(txn, f->dbi, 2, 0);    /* the same page, already dirty */
    put(txn, f->dbi, 2000, 0); /* a page in the middle */
    put(txn, f->dbi, 3998, 0); /* the last page */
    assert_int_equal(mdb_txn_commit(txn), 0);
    counts(f, &w, &fr);
    assert_int_equal(w - w0, 4);
    assert_int_equal(fr - f0, 3);

    /* The next transaction starts from clean pages again. */
    assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &txn), 0);
    put(txn, f->dbi, 2, 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    counts(f, &w, &fr);
    assert_int_equal(fr - f0, 4);
}

static void test_deletes_and_appends(void **state)
{
    fixture *f = *state;
    unsigned long long w0, f0, w, fr;
    counts(f, &w0, &f0);
    MDB_txn *txn;
    MDB_cursor *c;
    uint64_t kb;
    assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &txn), 0);
    /* Clean pages are read in the map, so a value's address tells its page. */
    MDB_val k = key_of(&kb, 1000), v, v1002;
    assert_int_equal(mdb_get(txn, f->dbi, &k, &v), 0);
    k = key_of(&kb, 1002);
    assert_int_equal(mdb_get(txn, f->dbi, &k, &v1002), 0);
    bool same_page = (uintptr_t)v.mv_data >> 12 == (uintptr_t)v1002.mv_data >> 12;
    k = key_of(&kb, 1000);
    assert_int_equal(mdb_del(txn, f->dbi, &k, NULL), 0);       /* fresh */
    assert_int_equal(mdb_cursor_open(txn, f->dbi, &c), 0);
    k = key_of(&kb, 1002);
    assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_SET), 0);
    assert_int_equal(mdb_cursor_del(c, 0), 0);                 /* fresh if on another page */
    mdb_cursor_close(c);
    put(txn, f->dbi, 10000, MDB_APPEND);                       /* the clean last page */
    put(txn, f->dbi, 10002, MDB_APPEND);                       /* now dirty */
    assert_int_equal(mdb_txn_commit(txn), 0);
    counts(f, &w, &fr);
    assert_int_equal(w - w0, 4);
    assert_int_equal(fr - f0, same_page ? 2 : 3);
}

/* A key that sorts after the last entry of a page and before the first of
 * the next goes into the first page (LMDB's branch key of the second is its
 * first key): dirtied already, it is no fresh page, though the entry after
 * the key lies on a clean one. */
static void test_an_insert_between_pages_lands_on_the_page_before(void **state)
{
    fixture *f = *state;
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &txn), 0);
    /* The first even key whose entry starts a page (clean pages are read in
     * the map, so an address tells its page). */
    uint64_t first = 0;
    uintptr_t page_before = 0;
    for (uint64_t n = 0; n < 4000 && !first; n += 2) {
        uint64_t kb;
        MDB_val k = key_of(&kb, n), v;
        assert_int_equal(mdb_get(txn, f->dbi, &k, &v), 0);
        uintptr_t page = (uintptr_t)v.mv_data >> 12;
        if (n && page != page_before)
            first = n;
        page_before = page;
    }
    assert_true(first > 0);
    unsigned long long w0, f0, w, fr;
    counts(f, &w0, &f0);
    put(txn, f->dbi, first - 2, 0); /* dirties the page before: fresh */
    put(txn, f->dbi, first - 1, 0); /* between the pages: on that page, not fresh */
    assert_int_equal(mdb_txn_commit(txn), 0);
    counts(f, &w, &fr);
    assert_int_equal(w - w0, 2);
    assert_int_equal(fr - f0, 1);
}

static void test_a_line_every_fifty_transactions(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 50; i++) {
        MDB_txn *txn;
        assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &txn), 0);
        put(txn, f->dbi, 14, 0);
        assert_int_equal(mdb_txn_commit(txn), 0);
    }
    char path[128], line[512];
    snprintf(path, sizeof(path), "%s/%s.%d.touch", f->dir, program_invocation_short_name,
             (int)getpid());
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    assert_non_null(fgets(line, sizeof(line), in));
    fclose(in);
    assert_non_null(strstr(line, " numbers:put "));
    assert_non_null(strstr(line, " numbers:del "));
}

int main(void)
{
    /* One environment for all: the counts and the output file are the
     * process's, as in a daemon. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_write_to_a_clean_page_is_fresh),
        cmocka_unit_test(test_deletes_and_appends),
        cmocka_unit_test(test_an_insert_between_pages_lands_on_the_page_before),
        cmocka_unit_test(test_a_line_every_fifty_transactions),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
