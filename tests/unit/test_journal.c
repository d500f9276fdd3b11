/*
 * test_journal.c: the journal (common/journal.h) on a real LMDB store: the
 * newest entry of a key wins, a deletion hides the tree's value and a fold
 * deletes it, a fold moves the newest values into the tree in key order and
 * empties the journal, an aborted transaction (also one that folded) leaves
 * the index as the disk has it, a reopened journal rebuilds its index, and
 * a walk visits the newest entry of each key once. Folded a little at a
 * time (a pace), the journal and the tree read like a model throughout,
 * across aborted transactions and restarts in either phase of a round,
 * and a restart leaves the same databases as a run without one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "error.h"
#include "journal.h"
#include "store.h"

typedef struct fixture {
    char dir[64];
    dd_store *store;
    MDB_dbi journal, plans;
    dd_journal *j;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void open_journal(fixture *f, uint64_t max)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(dd_journal_open(txn, f->journal, f->plans, max, &f->j), 0);
    mdb_txn_abort(txn);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_journal.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    dd_store_options so = {.map_bytes = 1 << 20, .max_dbs = 8};
    assert_int_equal(dd_store_open(f->dir, &so, &f->store), 0);
    assert_int_equal(dd_store_dbi(f->store, "plan_journal", MDB_INTEGERKEY, &f->journal), 0);
    assert_int_equal(dd_store_dbi(f->store, "plans", 0, &f->plans), 0);
    open_journal(f, 1000);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    dd_journal_close(&f->j);
    dd_store_close(&f->store);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* One write transaction: puts of "person=value" items, then maybe a fold, then rc. */
typedef struct job {
    fixture *f;
    const char *const *puts;
    int fold; /* 0: none, 1: if full, 2: forced */
    int result;
} job;

static int write_fn(MDB_txn *txn, void *arg)
{
    job *w = arg;
    int rc = dd_journal_begin(w->f->j, txn);
    for (size_t i = 0; rc == 0 && w->puts && w->puts[i]; i++) {
        char person[DD_JOURNAL_KEY_MAX + 8];
        const char *eq = strchr(w->puts[i], '=');
        memcpy(person, w->puts[i], (size_t)(eq - w->puts[i]));
        person[eq - w->puts[i]] = '\0';
        /* "key=" deletes the key */
        if (eq[1])
            rc = dd_journal_put(w->f->j, txn, person, strlen(person), eq + 1, strlen(eq + 1));
        else
            rc = dd_journal_del(w->f->j, txn, person, strlen(person));
    }
    if (rc == 0 && w->fold)
        rc = dd_journal_fold_if_full(w->f->j, txn, w->fold == 2);
    return rc ? rc : w->result;
}

static int write_txn(fixture *f, const char *const *puts, int fold, int result)
{
    job w = {f, puts, fold, result};
    return dd_store_write(f->store, write_fn, &w);
}

/* What a read transaction finds for person: the journal's value, the plans' value, or "-". */
static void expect(fixture *f, const char *person, const char *in_journal, const char *in_plans)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    MDB_val v;
    int rc = dd_journal_get(f->j, txn, person, strlen(person), &v);
    if (in_journal && !in_journal[0]) {
        assert_int_equal(rc, 0); /* deleted */
        assert_null(v.mv_data);
    } else if (in_journal) {
        assert_int_equal(rc, 0);
        assert_non_null(v.mv_data);
        assert_int_equal(v.mv_size, strlen(in_journal));
        assert_memory_equal(v.mv_data, in_journal, v.mv_size);
    } else {
        assert_int_equal(rc, DD_NOTFOUND);
    }
    MDB_val k = {strlen(person), (void *)person};
    rc = mdb_get(txn, f->plans, &k, &v);
    if (in_plans) {
        assert_int_equal(rc, 0);
        assert_int_equal(v.mv_size, strlen(in_plans));
        assert_memory_equal(v.mv_data, in_plans, v.mv_size);
    } else {
        assert_int_equal(rc, MDB_NOTFOUND);
    }
    mdb_txn_abort(txn);
}

static void newest_entry_wins_and_fold_moves_it(void **state)
{
    fixture *f = *state;
    const char *const first[] = {"b=1", "a=1", "b=2", NULL};
    assert_int_equal(write_txn(f, first, 0, 0), 0);
    expect(f, "a", "1", NULL);
    expect(f, "b", "2", NULL);
    expect(f, "c", NULL, NULL);
    assert_int_equal(dd_journal_entries(f->j), 3);
    const char *const second[] = {"a=22", "c=3", NULL};
    assert_int_equal(write_txn(f, second, 2, 0), 0);
    expect(f, "a", NULL, "22");
    expect(f, "b", NULL, "2");
    expect(f, "c", NULL, "3");
    /* After a fold the journal starts again, and wins over plans. */
    const char *const third[] = {"b=333", NULL};
    assert_int_equal(write_txn(f, third, 1, 0), 0);
    expect(f, "b", "333", "2");
    assert_int_equal(dd_journal_entries(f->j), 1);
}

static void full_journal_folds(void **state)
{
    fixture *f = *state;
    dd_journal_set_max(f->j, 3);
    const char *const two[] = {"x=1", "y=1", NULL};
    assert_int_equal(write_txn(f, two, 1, 0), 0);
    expect(f, "x", "1", NULL);
    const char *const one[] = {"x=2", NULL};
    assert_int_equal(write_txn(f, one, 1, 0), 0);
    expect(f, "x", NULL, "2");
    expect(f, "y", NULL, "1");
    assert_int_equal(dd_journal_entries(f->j), 0);
}

static void aborted_transactions_leave_nothing(void **state)
{
    fixture *f = *state;
    const char *const kept[] = {"a=1", "b=1", NULL};
    assert_int_equal(write_txn(f, kept, 0, 0), 0);
    /* A put that is aborted: a read and the next write see the disk. */
    const char *const lost[] = {"a=9", "z=9", NULL};
    assert_int_equal(write_txn(f, lost, 0, DD_ECORRUPT), DD_ECORRUPT);
    expect(f, "a", "1", NULL);
    expect(f, "z", NULL, NULL);
    assert_int_equal(write_txn(f, lost, 0, DD_ECORRUPT), DD_ECORRUPT);
    const char *const more[] = {"c=1", NULL};
    assert_int_equal(write_txn(f, more, 0, 0), 0);
    expect(f, "a", "1", NULL);
    expect(f, "z", NULL, NULL);
    assert_int_equal(dd_journal_entries(f->j), 3);
    /* A fold that is aborted: the journal is still there. */
    assert_int_equal(write_txn(f, NULL, 2, DD_ECORRUPT), DD_ECORRUPT);
    expect(f, "b", "1", NULL);
    const char *const after[] = {"d=1", NULL};
    assert_int_equal(write_txn(f, after, 0, 0), 0);
    expect(f, "a", "1", NULL);
    expect(f, "d", "1", NULL);
    assert_int_equal(dd_journal_entries(f->j), 4);
}

static void reopened_journal_rebuilds_its_index(void **state)
{
    fixture *f = *state;
    const char *const puts[] = {"p=1", "q=1", "p=2", NULL};
    assert_int_equal(write_txn(f, puts, 0, 0), 0);
    dd_journal_close(&f->j);
    open_journal(f, 1000);
    expect(f, "p", "2", NULL);
    expect(f, "q", "1", NULL);
    assert_int_equal(write_txn(f, NULL, 2, 0), 0);
    dd_journal_close(&f->j);
    open_journal(f, 1000);
    expect(f, "p", NULL, "2");
}

static void deletion_hides_the_tree_and_fold_deletes(void **state)
{
    fixture *f = *state;
    const char *const puts[] = {"k=1", "gone=1", NULL};
    assert_int_equal(write_txn(f, puts, 2, 0), 0);
    expect(f, "k", NULL, "1");
    /* Deleted in the journal: the tree still holds it, a read must not. */
    const char *const dels[] = {"k=", "never=", NULL};
    assert_int_equal(write_txn(f, dels, 0, 0), 0);
    expect(f, "k", "", "1");
    expect(f, "never", "", NULL);
    dd_journal_close(&f->j);
    open_journal(f, 1000);
    expect(f, "k", "", "1");
    /* Deleted, then written again: the newest entry wins. */
    const char *const again[] = {"never=2", NULL};
    assert_int_equal(write_txn(f, again, 0, 0), 0);
    expect(f, "never", "2", NULL);
    assert_int_equal(dd_journal_keys(f->j), 2);
    assert_int_equal(write_txn(f, NULL, 2, 0), 0);
    expect(f, "k", NULL, NULL);
    expect(f, "never", NULL, "2");
    expect(f, "gone", NULL, "1");
}

static void long_keys_up_to_the_limit(void **state)
{
    fixture *f = *state;
    char key[DD_JOURNAL_KEY_MAX + 2];
    memset(key, 'x', sizeof(key));
    key[DD_JOURNAL_KEY_MAX] = '\0';
    char put[DD_JOURNAL_KEY_MAX + 8];
    snprintf(put, sizeof(put), "%s=v", key);
    const char *const puts[] = {put, NULL};
    assert_int_equal(write_txn(f, puts, 0, 0), 0);
    expect(f, key, "v", NULL);
    key[DD_JOURNAL_KEY_MAX] = 'x';
    key[DD_JOURNAL_KEY_MAX + 1] = '\0';
    snprintf(put, sizeof(put), "%s=v", key);
    assert_int_equal(write_txn(f, puts, 0, 0), DD_ETOOBIG);
}

/* Collects what dd_journal_each visits as "key=value" ("key=" a deletion). */
static int collect(void *arg, const void *key, size_t klen, const MDB_val *value)
{
    char *out = arg;
    size_t at = strlen(out);
    snprintf(out + at, 256 - at, "%.*s=%.*s;", (int)klen, (const char *)key,
             value->mv_data ? (int)value->mv_size : 0,
             value->mv_data ? (const char *)value->mv_data : "");
    return 0;
}

static int stop_at_b(void *arg, const void *key, size_t klen, const MDB_val *value)
{
    (void)value;
    ++*(int *)arg;
    return klen == 1 && *(const char *)key == 'b' ? DD_ECORRUPT : 0;
}

static void each_visits_the_newest_entry_of_every_key(void **state)
{
    fixture *f = *state;
    const char *const puts[] = {"a=1", "b=1", "a=2", "c=1", "b=", "d=1", "c=3", NULL};
    assert_int_equal(write_txn(f, puts, 0, 0), 0);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    char seen[256] = "";
    assert_int_equal(dd_journal_each(f->j, txn, collect, seen), 0);
    /* In the order the newest entries were written. */
    assert_string_equal(seen, "a=2;b=;d=1;c=3;");
    int calls = 0;
    assert_int_equal(dd_journal_each(f->j, txn, stop_at_b, &calls), DD_ECORRUPT);
    assert_int_equal(calls, 2);
    mdb_txn_abort(txn);
    /* After a fold there is nothing left to visit. */
    assert_int_equal(write_txn(f, NULL, 2, 0), 0);
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    seen[0] = '\0';
    assert_int_equal(dd_journal_each(f->j, txn, collect, seen), 0);
    assert_string_equal(seen, "");
    mdb_txn_abort(txn);
}

/* The fold hook sees the keys in the order the fold writes them: each must
 * come after the one before in LMDB's order (bytes, then the shorter first). */
typedef struct fold_order_check {
    char last[96];
    size_t last_len, keys;
} fold_order_check;

static void expect_rising_keys(void *arg, const void *key, size_t klen, const MDB_val *value)
{
    (void)value;
    fold_order_check *c = arg;
    assert_true(klen < sizeof(c->last));
    if (c->keys) {
        int cmp = memcmp(c->last, key, c->last_len < klen ? c->last_len : klen);
        assert_true(cmp < 0 || (cmp == 0 && c->last_len < klen));
    }
    memcpy(c->last, key, klen);
    c->last_len = klen;
    c->keys++;
}

/* Keys sharing long prefixes (longer than the 24 bytes a fold sorts on
 * first), of different lengths, put and deleted over three folds: the tree
 * must hold exactly the model's keys and values, and each fold writes its
 * keys in rising order. */
static void many_keys_fold_like_a_model(void **state)
{
    fixture *f = *state;
    fold_order_check order;
    enum { KEYS = 3000 };
    static char items[KEYS][96];
    static const char *puts[KEYS + 1];
    static char model[KEYS][32]; /* "" : absent */
    char key[64];
    for (int round = 0; round < 3; round++) {
        size_t n = 0;
        for (int i = 0; i < KEYS; i++) {
            int k = (i * 7919 + round * 13) % KEYS;
            /* village-like prefixes, and a tail that is sometimes absent */
            snprintf(key, sizeof(key), "hh-440106%03d001-%05d%s", k % 9, k / 9,
                     k % 4 == 0 ? "" : "\x1f" "4401061950");
            if ((k + round) % 5 == 0) {
                snprintf(items[n], sizeof(items[n]), "%s=", key);
                model[k][0] = '\0';
            } else {
                snprintf(model[k], sizeof(model[k]), "v%d.%d", round, k);
                snprintf(items[n], sizeof(items[n]), "%s=%s", key, model[k]);
            }
            puts[n] = items[n];
            n++;
        }
        puts[n] = NULL;
        memset(&order, 0, sizeof(order));
        dd_journal_set_fold_hook(f->j, expect_rising_keys, &order);
        assert_int_equal(write_txn(f, puts, 2, 0), 0);
        dd_journal_set_fold_hook(f->j, NULL, NULL);
        assert_int_equal(order.keys, KEYS);
    }
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    size_t present = 0;
    for (int k = 0; k < KEYS; k++) {
        snprintf(key, sizeof(key), "hh-440106%03d001-%05d%s", k % 9, k / 9,
                 k % 4 == 0 ? "" : "\x1f" "4401061950");
        MDB_val kv = {strlen(key), key}, v;
        int rc = mdb_get(txn, f->plans, &kv, &v);
        if (!model[k][0]) {
            assert_int_equal(rc, MDB_NOTFOUND);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(v.mv_size, strlen(model[k]));
        assert_memory_equal(v.mv_data, model[k], v.mv_size);
        present++;
    }
    MDB_stat st;
    assert_int_equal(mdb_stat(txn, f->plans, &st), 0);
    assert_int_equal(st.ms_entries, present);
    mdb_txn_abort(txn);
}

/* ---- folding a little at a time --------------------------------------------------- */

/* What a read transaction finds for key, the journal first: into out ("" absent). */
static void read_value(fixture *f, const char *key, char *out, size_t cap)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    MDB_val v;
    int rc = dd_journal_get(f->j, txn, key, strlen(key), &v);
    if (rc == DD_NOTFOUND) {
        MDB_val k = {strlen(key), (void *)key};
        rc = mdb_get(txn, f->plans, &k, &v);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            v.mv_data = NULL;
        }
    }
    assert_int_equal(rc, 0);
    out[0] = '\0';
    if (v.mv_data) {
        assert_true(v.mv_size < cap);
        memcpy(out, v.mv_data, v.mv_size);
        out[v.mv_size] = '\0';
    }
    mdb_txn_abort(txn);
}

enum { PACE_KEYS = 150, PACE_MAX = 100 };

/* The key a record writes: scattered, and written again within a round. */
static unsigned record_slot(unsigned step) { return ((step * 2654435761u) >> 9) % PACE_KEYS; }

/* A "record" is one write (a put, or a deletion every seventh), followed
 * by the fold call, as the daemons do. */
typedef struct paced {
    fixture *f;
    unsigned step, records;
    char (*model)[24];
    int result;
} paced;

static void record_key(unsigned step, char *key, size_t cap, bool *deletion)
{
    unsigned k = record_slot(step);
    snprintf(key, cap, "hh-%05u%s", k, k % 3 ? "\x1f" "p" : "");
    *deletion = step % 7 == 3;
}

static int paced_fn(MDB_txn *txn, void *arg)
{
    paced *w = arg;
    int rc = dd_journal_begin(w->f->j, txn);
    for (unsigned i = 0; rc == 0 && i < w->records; i++) {
        unsigned step = w->step + i;
        char key[32], value[24];
        bool deletion;
        record_key(step, key, sizeof(key), &deletion);
        snprintf(value, sizeof(value), "v%u", step);
        rc = deletion ? dd_journal_del(w->f->j, txn, key, strlen(key))
                      : dd_journal_put(w->f->j, txn, key, strlen(key), value, strlen(value));
        if (rc == 0)
            rc = dd_journal_fold_if_full(w->f->j, txn, 0);
    }
    return rc ? rc : w->result;
}

static void apply_model(char (*model)[24], unsigned step, unsigned records)
{
    for (unsigned i = 0; i < records; i++) {
        char key[32];
        bool deletion;
        record_key(step + i, key, sizeof(key), &deletion);
        unsigned k = record_slot(step + i);
        if (deletion)
            model[k][0] = '\0';
        else
            snprintf(model[k], sizeof(model[k]), "v%u", step + i);
    }
}

static void expect_model(fixture *f, char (*model)[24])
{
    for (unsigned k = 0; k < PACE_KEYS; k++) {
        char key[32], got[64];
        snprintf(key, sizeof(key), "hh-%05u%s", k, k % 3 ? "\x1f" "p" : "");
        read_value(f, key, got, sizeof(got));
        assert_string_equal(got, model[k]);
    }
}

static void reopen(fixture *f)
{
    dd_journal_close(&f->j);
    open_journal(f, PACE_MAX);
    dd_journal_set_pace(f->j, 1);
}

/* Every key and value of a database, in order, as one string. */
static char *dump(fixture *f, MDB_dbi dbi)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    MDB_cursor *cur;
    assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        while (len + k.mv_size + v.mv_size + 64 > cap)
            out = realloc(out, cap *= 2);
        len += (size_t)snprintf(out + len, cap - len, "%zu:", k.mv_size);
        memcpy(out + len, k.mv_data, k.mv_size);
        len += k.mv_size;
        len += (size_t)snprintf(out + len, cap - len, "=%zu:", v.mv_size);
        memcpy(out + len, v.mv_data, v.mv_size);
        len += v.mv_size;
    }
    out[len] = '\0';
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return out;
}

static void expect_same_databases(fixture *f, fixture *g)
{
    MDB_dbi dbis[2][2] = {{f->plans, f->journal}, {g->plans, g->journal}};
    for (int i = 0; i < 2; i++) {
        char *a = dump(f, dbis[0][i]), *b = dump(g, dbis[1][i]);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
}

/*
 * Runs `batches` transactions of `per` records each on f, and on twin (if
 * any) alike. With restarts, f has a transaction aborted and then its
 * journal reopened once in each phase of a round; twin has neither, and
 * after every batch both hold the same databases. Ends with a reopen, and
 * returns the phases seen.
 */
static unsigned run_paced(fixture *f, fixture *twin, unsigned batches, unsigned per,
                          int restarts, char (*model)[24])
{
    fixture *both[2] = {f, twin};
    for (int i = 0; i < 2 && both[i]; i++) {
        dd_journal_set_max(both[i]->j, PACE_MAX);
        dd_journal_set_pace(both[i]->j, 1);
    }
    unsigned seen = 0, restarted = 0;
    unsigned step = 0;
    for (unsigned b = 0; b < batches; b++) {
        int phase = dd_journal_round(f->j);
        seen |= 1u << phase;
        if ((restarts == 1 && phase && !(restarted & (1u << phase))) || restarts == 2) {
            restarted |= 1u << phase;
            paced lost = {f, step, per, model, DD_ECORRUPT};
            assert_int_equal(dd_store_write(f->store, paced_fn, &lost), DD_ECORRUPT);
            expect_model(f, model);
            reopen(f);
            assert_int_equal(dd_journal_round(f->j), phase);
            expect_model(f, model);
        }
        for (int i = 0; i < 2 && both[i]; i++) {
            paced w = {both[i], step, per, model, 0};
            assert_int_equal(dd_store_write(both[i]->store, paced_fn, &w), 0);
        }
        apply_model(model, step, per);
        step += per;
        expect_model(f, model);
        if (twin)
            expect_same_databases(f, twin);
        /* a round keeps the journal within reach of its maximum */
        assert_true(dd_journal_entries(f->j) <= 3 * PACE_MAX);
    }
    if (restarts)
        assert_int_equal(restarted & 6u, 2u | 4u);
    reopen(f);
    expect_model(f, model);
    return seen;
}

static void rounds_fold_a_little_at_a_time_like_a_model(void **state)
{
    fixture *f = *state;
    static char model[PACE_KEYS][24];
    memset(model, 0, sizeof(model));
    unsigned seen = run_paced(f, NULL, 120, 17, 0, model);
    assert_int_equal(seen, 1u | 2u | 4u); /* no round, folding, deleting */
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    MDB_stat st;
    assert_int_equal(mdb_stat(txn, f->plans, &st), 0);
    assert_true(st.ms_entries > 0); /* rounds reached the tree */
    mdb_txn_abort(txn);
    /* A forced fold finishes the round and empties the journal. */
    assert_int_equal(write_txn(f, NULL, 2, 0), 0);
    assert_int_equal(dd_journal_entries(f->j), 0);
    assert_int_equal(dd_journal_round(f->j), 0);
    expect_model(f, model);
}

/* run_paced() on f with restarts, against a twin run without; the phases seen. */
static unsigned run_against_twin(fixture *f, unsigned batches, unsigned per, int restarts)
{
    static char model[PACE_KEYS][24];
    memset(model, 0, sizeof(model));
    fixture *twin = NULL;
    assert_int_equal(setup((void **)&twin), 0);
    unsigned seen = run_paced(f, twin, batches, per, restarts, model);
    teardown((void **)&twin);
    return seen;
}

static void a_restart_in_a_round_goes_on_where_it_stood(void **state)
{
    assert_int_equal(run_against_twin(*state, 120, 17, 1), 1u | 2u | 4u);
}

static void restarts_after_every_batch_change_nothing(void **state)
{
    run_against_twin(*state, 60, 5, 2);
}

/* One fold call and nothing written: a record that changed nothing. */
static int idle_fn(MDB_txn *txn, void *arg)
{
    fixture *f = arg;
    int rc = dd_journal_begin(f->j, txn);
    return rc ? rc : dd_journal_fold_if_full(f->j, txn, 0);
}

/* A round whose entries have all been deleted, though it has not yet
 * noticed, must not hand out their keys again. */
static void keys_after_a_round_are_never_reused(void **state)
{
    fixture *f = *state;
    dd_journal_set_max(f->j, 10);
    dd_journal_set_pace(f->j, 1);
    const char *const nine[] = {"a=1", "b=1", "c=1", "d=1", "e=1", "f=1", "g=1", "h=1", "i=1",
                                NULL};
    const char *const tenth[] = {"j=1", NULL};
    assert_int_equal(write_txn(f, nine, 0, 0), 0);
    assert_int_equal(write_txn(f, tenth, 1, 0), 0); /* starts a round: 3 keys folded */
    assert_int_equal(dd_journal_round(f->j), 1);
    for (int i = 0; i < 100 && !(dd_journal_round(f->j) == 2 && dd_journal_entries(f->j) == 0); i++)
        assert_int_equal(dd_store_write(f->store, idle_fn, f), 0);
    assert_int_equal(dd_journal_round(f->j), 2);
    assert_int_equal(dd_journal_entries(f->j), 0);
    const char *const late[] = {"k=2", NULL};
    assert_int_equal(write_txn(f, late, 1, 0), 0);
    reopen(f);
    expect(f, "k", "2", NULL);
    expect(f, "a", NULL, "1");
    assert_int_equal(dd_journal_round(f->j), 0);
}

int main(void)
{
    dd_diag_init("test_journal", DD_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(newest_entry_wins_and_fold_moves_it, setup, teardown),
        cmocka_unit_test_setup_teardown(full_journal_folds, setup, teardown),
        cmocka_unit_test_setup_teardown(aborted_transactions_leave_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(reopened_journal_rebuilds_its_index, setup, teardown),
        cmocka_unit_test_setup_teardown(deletion_hides_the_tree_and_fold_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown(many_keys_fold_like_a_model, setup, teardown),
        cmocka_unit_test_setup_teardown(long_keys_up_to_the_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(each_visits_the_newest_entry_of_every_key, setup, teardown),
        cmocka_unit_test_setup_teardown(rounds_fold_a_little_at_a_time_like_a_model, setup, teardown),
        cmocka_unit_test_setup_teardown(a_restart_in_a_round_goes_on_where_it_stood, setup, teardown),
        cmocka_unit_test_setup_teardown(restarts_after_every_batch_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(keys_after_a_round_are_never_reused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
