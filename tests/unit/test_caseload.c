/*
 * test_caseload.c: the caseload's sums (services/eligibility/caseload.h) on a
 * real LMDB store: a household's tally (its members' summaries by program, a
 * household amount counted once, a household without a region under
 * "000000"), changes that move counts between counties and cancel out, a
 * flush of more counties and programs than the pending table first holds,
 * a walk by prefix, the remembered tallies, and an aborted write that leaves
 * nothing behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caseload.h"
#include "store.h"

typedef struct fixture {
    char dir[64];
    dd_store *store;
    MDB_dbi dbi;
    elig_caseload *c;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_caseload.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    dd_store_options so = {.map_bytes = 1 << 20, .max_dbs = 4};
    assert_int_equal(dd_store_open(f->dir, &so, &f->store), 0);
    assert_int_equal(dd_store_dbi(f->store, "caseload", 0, &f->dbi), 0);
    f->c = elig_caseload_new(f->dbi);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    elig_caseload_destroy(&f->c);
    dd_store_close(&f->store);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* A household of n members, each with the summaries given as
 * {program, eligible, enrolled, amount, per_household}. */
typedef struct summary_spec {
    int program, eligible, enrolled;
    int64_t amount;
    int per_household;
} summary_spec;

typedef struct built {
    Doudi__StoredHousehold h;
    Doudi__MemberSummaries m[4], *mp[4];
    Doudi__DecisionSummary s[4][4], *sp[4][4];
} built;

static void build(built *b, const char *region, size_t n, const summary_spec spec[][4],
                  const size_t counts[])
{
    doudi__stored_household__init(&b->h);
    b->h.region_code = (char *)region;
    for (size_t i = 0; i < n; i++) {
        doudi__member_summaries__init(&b->m[i]);
        for (size_t j = 0; j < counts[i]; j++) {
            Doudi__DecisionSummary *s = &b->s[i][j];
            doudi__decision_summary__init(s);
            s->program = (Doudi__Program)spec[i][j].program;
            s->eligible = spec[i][j].eligible;
            s->enrolled = spec[i][j].enrolled;
            s->amount_fen = spec[i][j].amount;
            s->amount_per_household = spec[i][j].per_household;
            b->sp[i][j] = s;
        }
        b->m[i].decisions = b->sp[i];
        b->m[i].n_decisions = counts[i];
        b->mp[i] = &b->m[i];
    }
    b->h.members = b->mp;
    b->h.n_members = n;
}

static void tally_counts_each_member_and_a_household_amount_once(void **state)
{
    (void)state;
    /* Three members eligible for DIBAO with the household's 900 yuan each
     * summary repeats, one of them also AGE (100 yuan, per person) and
     * enrolled in both; TEMP and an unknown program are ignored. */
    const summary_spec spec[3][4] = {
        {{DOUDI__PROGRAM__PROGRAM_DIBAO, 1, 1, 90000, 1}, {DOUDI__PROGRAM__PROGRAM_AGE, 1, 1, 10000, 0}},
        {{DOUDI__PROGRAM__PROGRAM_DIBAO, 1, 0, 90000, 1}, {DOUDI__PROGRAM__PROGRAM_TEKUN, 0, 1, 0, 0}},
        {{DOUDI__PROGRAM__PROGRAM_DIBAO, 1, 0, 90000, 1}, {DOUDI__PROGRAM__PROGRAM_AGE, 0, 0, 0, 0},
         {42, 1, 1, 5, 0}},
    };
    const size_t counts[3] = {2, 2, 3};
    built b;
    build(&b, "440106001001", 3, spec, counts);
    elig_tally t;
    elig_caseload_tally(&b.h, &t);
    assert_string_equal(t.county, "440106");
    assert_int_equal(t.eligible[DOUDI__PROGRAM__PROGRAM_DIBAO], 3);
    assert_int_equal(t.households[DOUDI__PROGRAM__PROGRAM_DIBAO], 1);
    assert_int_equal(t.enrolled[DOUDI__PROGRAM__PROGRAM_DIBAO], 1);
    assert_int_equal(t.amount_fen[DOUDI__PROGRAM__PROGRAM_DIBAO], 90000);
    assert_int_equal(t.eligible[DOUDI__PROGRAM__PROGRAM_AGE], 1);
    assert_int_equal(t.amount_fen[DOUDI__PROGRAM__PROGRAM_AGE], 10000);
    assert_int_equal(t.eligible[DOUDI__PROGRAM__PROGRAM_TEKUN], 0);
    assert_int_equal(t.households[DOUDI__PROGRAM__PROGRAM_TEKUN], 0);
    assert_int_equal(t.enrolled[DOUDI__PROGRAM__PROGRAM_TEKUN], 1);

    /* Two persons eligible alone (per person) add up. */
    const summary_spec alone[2][4] = {{{DOUDI__PROGRAM__PROGRAM_DIBAO, 1, 1, 136800, 0}},
                                      {{DOUDI__PROGRAM__PROGRAM_DIBAO, 1, 1, 136800, 0}}};
    const size_t one[2] = {1, 1};
    build(&b, "", 2, alone, one);
    elig_caseload_tally(&b.h, &t);
    assert_string_equal(t.county, "000000");
    assert_int_equal(t.amount_fen[DOUDI__PROGRAM__PROGRAM_DIBAO], 2 * 136800);
    assert_int_equal(t.households[DOUDI__PROGRAM__PROGRAM_DIBAO], 1);

    elig_caseload_tally(NULL, &t);
    assert_string_equal(t.county, "000000");
    assert_int_equal(t.eligible[DOUDI__PROGRAM__PROGRAM_DIBAO], 0);
}

/* Collected rows of a walk. */
typedef struct rows {
    elig_caseload_row r[128];
    size_t n;
} rows;

static int collect(void *arg, const elig_caseload_row *row)
{
    rows *out = arg;
    if (out->n < sizeof(out->r) / sizeof(out->r[0]))
        out->r[out->n++] = *row;
    return 0;
}

typedef struct change_job {
    fixture *f;
    const elig_tally *before, *after;
    size_t n;
    bool abort_after;
} change_job;

static int change_fn(MDB_txn *txn, void *arg)
{
    change_job *j = arg;
    for (size_t i = 0; i < j->n; i++)
        elig_caseload_change(j->f->c, &j->before[i], &j->after[i]);
    int rc = elig_caseload_flush(j->f->c, txn);
    return rc ? rc : (j->abort_after ? -1 : 0);
}

static rows walk(fixture *f, const char *prefix)
{
    rows out = {.n = 0};
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(elig_caseload_each(f->c, txn, prefix, collect, &out), 0);
    mdb_txn_abort(txn);
    return out;
}

static elig_tally tally_of(const char *county, int program, uint32_t eligible, int64_t amount)
{
    elig_tally t;
    memset(&t, 0, sizeof(t));
    memcpy(t.county, county, 7);
    t.eligible[program] = eligible;
    t.households[program] = eligible ? 1 : 0;
    t.amount_fen[program] = amount;
    return t;
}

static void changes_move_counts_and_cancel_out(void **state)
{
    fixture *f = *state;
    elig_tally none = tally_of("440106", 1, 0, 0);
    elig_tally a = tally_of("440106", DOUDI__PROGRAM__PROGRAM_DIBAO, 2, 50000);
    elig_tally b = tally_of("440203", DOUDI__PROGRAM__PROGRAM_DIBAO, 1, 20000);
    elig_tally before[2] = {none, none}, after[2] = {a, b};
    change_job j = {f, before, after, 2, false};
    assert_int_equal(dd_store_write(f->store, change_fn, &j), 0);
    rows r = walk(f, "");
    assert_int_equal(r.n, 2);
    assert_string_equal(r.r[0].county, "440106");
    assert_int_equal(r.r[0].eligible, 2);
    assert_int_equal(r.r[0].amount_fen, 50000);
    assert_string_equal(r.r[1].county, "440203");

    /* The first household moves to 440203: its counts go with it. */
    elig_tally moved = a;
    memcpy(moved.county, "440203", 7);
    elig_tally before2[1] = {a}, after2[1] = {moved};
    change_job j2 = {f, before2, after2, 1, false};
    assert_int_equal(dd_store_write(f->store, change_fn, &j2), 0);
    r = walk(f, "4401");
    assert_int_equal(r.n, 0); /* a row counting nobody is deleted */
    r = walk(f, "440203");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.r[0].program, DOUDI__PROGRAM__PROGRAM_DIBAO);
    assert_int_equal(r.r[0].eligible, 3);
    assert_int_equal(r.r[0].households, 2);
    assert_int_equal(r.r[0].amount_fen, 70000);

    /* An aborted write leaves the stored sums as they were. */
    elig_tally gone = tally_of("440203", 1, 0, 0);
    elig_tally before3[1] = {b}, after3[1] = {gone};
    change_job j3 = {f, before3, after3, 1, true};
    assert_int_not_equal(dd_store_write(f->store, change_fn, &j3), 0);
    elig_caseload_forget(f->c);
    assert_false(elig_caseload_pending(f->c));
    r = walk(f, "440203");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.r[0].eligible, 3);
}

static void many_counties_flush_and_walk_by_prefix(void **state)
{
    fixture *f = *state;
    /* 122 counties x 8 programs: more than the pending table starts with. */
    static elig_tally before[122], after[122];
    for (int i = 0; i < 122; i++) {
        char county[7];
        snprintf(county, sizeof(county), "44%02d%02d", i / 10, i % 10);
        before[i] = tally_of(county, 1, 0, 0);
        memset(&after[i], 0, sizeof(after[i]));
        memcpy(after[i].county, county, 7);
        for (int p = 1; p < ELIG_PROGRAMS; p++) {
            after[i].eligible[p] = (uint32_t)(i + p);
            after[i].enrolled[p] = 1;
            after[i].amount_fen[p] = 100 * p;
        }
    }
    change_job j = {f, before, after, 122, false};
    assert_int_equal(dd_store_write(f->store, change_fn, &j), 0);
    rows r = walk(f, "4405");
    /* counties 440500..440509, each with programs 1..8 */
    assert_int_equal(r.n, 10 * (ELIG_PROGRAMS - 1));
    assert_string_equal(r.r[0].county, "440500");
    assert_int_equal(r.r[0].program, 1);
    assert_int_equal(r.r[0].eligible, 51);
    r = walk(f, "441201");
    assert_int_equal(r.n, ELIG_PROGRAMS - 1);
    assert_int_equal(r.r[2].eligible, 121 + 3);
    assert_int_equal(r.r[2].amount_fen, 300);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    rows ignored = {.n = 0};
    assert_int_equal(elig_caseload_each(f->c, txn, "4401061", collect, &ignored), -EINVAL);
    mdb_txn_abort(txn);
}

static void remembered_tallies(void **state)
{
    fixture *f = *state;
    elig_tally t = tally_of("440106", 1, 5, 5), got;
    assert_false(elig_caseload_recall(f->c, "hh-1", &got));
    elig_caseload_remember(f->c, "hh-1", &t);
    assert_true(elig_caseload_recall(f->c, "hh-1", &got));
    assert_int_equal(got.eligible[1], 5);
    /* The oldest is forgotten after eight others; a newer tally replaces. */
    for (int i = 2; i <= 9; i++) {
        char id[16];
        snprintf(id, sizeof(id), "hh-%d", i);
        elig_caseload_remember(f->c, id, &t);
    }
    assert_false(elig_caseload_recall(f->c, "hh-1", &got));
    elig_tally t2 = tally_of("440106", 1, 7, 7);
    elig_caseload_remember(f->c, "hh-9", &t2);
    assert_true(elig_caseload_recall(f->c, "hh-9", &got));
    assert_int_equal(got.eligible[1], 7);
    elig_caseload_forget(f->c);
    assert_false(elig_caseload_recall(f->c, "hh-9", &got));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tally_counts_each_member_and_a_household_amount_once),
        cmocka_unit_test_setup_teardown(changes_move_counts_and_cancel_out, setup, teardown),
        cmocka_unit_test_setup_teardown(many_counties_flush_and_walk_by_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(remembered_tallies, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
