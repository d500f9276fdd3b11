/*
 * test_screen.c: the screening thread never changes what the engine decides.
 *
 * The engine, its registry and LMDB are real (a store in a temporary
 * directory); the chunks are tiny (8 records) so every batch is screened,
 * and `screen_ahead` makes the thread screen each chunk before the engine
 * applies the chunk before it, the order in which a verdict is most often
 * stale: chunk c changes persons' incomes from A to B and chunk c + 1 says
 * A again, which the thread, looking before chunk c was applied, finds
 * "unchanged". Those records must be asked again and applied, so every
 * income ends as the last record said, and the same stream applied on one
 * thread and with the thread running freely must end the same way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "alloc.h"
#include "diag.h"
#include "engine.h"
#include "idnum.h"
#include "log.h"
#include "registry.h"
#include "standards.h"
#include "store.h"

#include "doudi/event.pb-c.h"
#include "doudi/log.pb-c.h"
#include "doudi/registry.pb-c.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { HOUSEHOLDS = 40, PERSONS = HOUSEHOLDS * 3, CHUNK = 8, MAX_RECORDS = 4096 };

static const int64_t BASE_MS = 1781452800000LL; /* 2026-06-15 */

typedef struct world {
    char dir[64];
    dd_store *store;
    dd_log *log;
    elig_registry *registry;
    elig_standards *standards;
    elig_engine *engine;
    /* The batch being built: */
    Doudi__LogRecord recs[MAX_RECORDS];
    Doudi__LogRecord *ptrs[MAX_RECORDS];
    uint8_t *buf;
    size_t n, used;
    uint64_t seq;
    /* Summed over the batches applied: */
    uint64_t changed, rechecked, screened;
} world;

static void person_id(unsigned n, char out[19])
{
    snprintf(out, 19, "44010619%02u0101%03u", 40 + n % 60, n);
    out[17] = dd_idnum_check_char(out);
    out[18] = '\0';
}

static void add(world *w, Doudi__Envelope *env)
{
    assert_true(w->n < MAX_RECORDS);
    env->source = "test";
    env->event_id = "x";
    env->region_code = "440106001001";
    env->occurred_at_ms = BASE_MS + (int64_t)w->seq;
    size_t len = doudi__envelope__get_packed_size(env);
    assert_true(w->used + len <= (size_t)MAX_RECORDS * 512);
    doudi__envelope__pack(env, w->buf + w->used);
    Doudi__LogRecord *r = &w->recs[w->n];
    doudi__log_record__init(r);
    r->sequence = ++w->seq;
    r->kind = (uint32_t)env->body_case;
    r->payload.data = w->buf + w->used;
    r->payload.len = len;
    w->ptrs[w->n++] = r;
    w->used += len;
}

static void add_income(world *w, unsigned person, int64_t income_fen)
{
    char id[19];
    person_id(person, id);
    Doudi__ComparisonRecord__IncomeFinding inc = DOUDI__COMPARISON_RECORD__INCOME_FINDING__INIT;
    inc.monthly_income_fen = income_fen;
    Doudi__ComparisonRecord c = DOUDI__COMPARISON_RECORD__INIT;
    c.subject_person_id = id;
    c.department = DOUDI__DEPARTMENT__DEPARTMENT_TAX;
    c.period_yyyymm = 202606;
    c.income = &inc;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.body_case = DOUDI__ENVELOPE__BODY_COMPARISON_RECORD;
    env.comparison_record = &c;
    add(w, &env);
}

static int apply_fn(MDB_txn *txn, void *arg)
{
    world *w = arg;
    return elig_engine_apply(w->engine, txn, w->ptrs, w->n);
}

static void apply(world *w)
{
    assert_int_equal(dd_store_write(w->store, apply_fn, w), 0);
    elig_engine_batch_committed(w->engine);
    const elig_batch_stats *st = elig_engine_last_batch(w->engine);
    w->changed += st->records_changed;
    w->rechecked += st->screen_rechecked;
    w->screened += st->screened_unchanged;
    w->n = w->used = 0;
}

static world *world_new(size_t screen_chunk, bool ahead)
{
    world *w = dd_calloc(1, sizeof(*w));
    snprintf(w->dir, sizeof(w->dir), "/tmp/doudi-test-screen.XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    dd_store_options so = {.map_bytes = (size_t)64 << 20};
    assert_int_equal(dd_store_open(w->dir, &so, &w->store), 0);
    dd_log_options lo = {0};
    assert_int_equal(dd_log_open(w->store, &lo, NULL, &w->log), 0);
    assert_int_equal(elig_registry_open(w->store, 4000000, &w->registry), 0);
    w->standards = elig_standards_demo();
    elig_engine_options eo = {
        .params = {.dibao_asset_months = 24, .dibao_max_dwellings = 1, .dibao_min_fen = 1000,
                   .tekun_multiplier_permille = 1300, .dibian_multiplier_permille = 1500,
                   .rigid_share_permille = 500, .rigid_months = 12,
                   .temp_quick_aid_permille = 1000, .temp_decide_days = 3,
                   .medical_alert_monitored_fen = 600000, .medical_alert_other_fen = 1000000,
                   .income_drop_permille = 300, .elderly_age = 60, .advanced_age = 80,
                   .high_risk_age = 80, .child_age_limit = 16, .full_care_dependent = 3,
                   .half_care_impaired = 1},
        .dangling_wait_ms = 7 * 86400000LL,
        .discovery_handle_ms = 86400000, .review_handle_ms = 86400000,
        .risk_handle_ms = 86400000, .urgent_handle_ms = 86400000,
        .missing_info_handle_ms = 86400000, .quick_aid_handle_ms = 86400000,
        .dangling_handle_ms = 86400000,
        .fact_cache_bytes = 1 << 20,
        .screen_chunk = screen_chunk,
        .screen_ahead = ahead};
    w->engine = elig_engine_new(w->registry, w->log, w->standards, &eo);
    w->buf = dd_malloc((size_t)MAX_RECORDS * 512);

    /* The registry: households of three, each person's income verified. */
    char ids[3][19], hh[32];
    char *members[3] = {ids[0], ids[1], ids[2]};
    for (unsigned h = 0; h < HOUSEHOLDS; h++) {
        snprintf(hh, sizeof(hh), "hh-%u", h);
        Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
        for (unsigned m = 0; m < 3; m++) {
            person_id(h * 3 + m, ids[m]);
            Doudi__PersonReported p = DOUDI__PERSON_REPORTED__INIT;
            p.person_id = ids[m];
            p.household_id = hh;
            p.living_arrangement = DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_WITH_FAMILY;
            p.legal_supporter = DOUDI__LEGAL_SUPPORTER__LEGAL_SUPPORTER_PRESENT;
            p.work_ability = DOUDI__WORK_ABILITY__WORK_ABILITY_ABLE;
            env.body_case = DOUDI__ENVELOPE__BODY_PERSON_REPORTED;
            env.person_reported = &p;
            add(w, &env);
        }
        Doudi__HouseholdReported hr = DOUDI__HOUSEHOLD_REPORTED__INIT;
        hr.household_id = hh;
        hr.urban_rural = DOUDI__URBAN_RURAL__URBAN_RURAL_URBAN;
        hr.n_member_person_ids = 3;
        hr.member_person_ids = members;
        hr.dwellings = 1;
        env.body_case = DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED;
        env.household_reported = &hr;
        add(w, &env);
    }
    apply(w);
    for (unsigned p = 0; p < PERSONS; p++)
        add_income(w, p, 100000 + p);
    apply(w);
    w->changed = w->rechecked = w->screened = 0;
    return w;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void world_destroy(world *w)
{
    elig_engine_destroy(&w->engine);
    elig_registry_close(&w->registry);
    dd_log_close(&w->log);
    dd_store_close(&w->store);
    elig_standards_destroy(&w->standards);
    nftw(w->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(w->buf);
    free(w);
}

/* Each chunk: four persons' incomes change from A to B, and the four whose
 * income changed in the chunk before say A again. Three rounds. */
static void flip_flop(world *w)
{
    for (int round = 0; round < 3; round++) {
        for (unsigned first = 0; first <= PERSONS; first += 4) {
            for (unsigned p = first; p < first + 4 && p < PERSONS; p++)
                add_income(w, p, 200000 + p);
            for (unsigned p = first >= 4 ? first - 4 : PERSONS; p < first; p++)
                add_income(w, p, 100000 + p);
        }
        apply(w);
    }
}

static void assert_incomes_are_a(world *w)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(w->store), NULL, MDB_RDONLY, &txn), 0);
    dd_arena *arena = dd_arena_new(0);
    for (unsigned p = 0; p < PERSONS; p++) {
        char id[19];
        person_id(p, id);
        Doudi__StoredPerson *sp;
        assert_int_equal(elig_registry_get_person(w->registry, txn, id, arena, &sp), 0);
        if (sp->verified_income_fen != 100000 + (int64_t)p)
            fail_msg("person %u: income %lld, the last record said %lld", p,
                     (long long)sp->verified_income_fen, (long long)(100000 + p));
    }
    dd_arena_destroy(&arena);
    mdb_txn_abort(txn);
}

static void test_stale_verdicts_are_asked_again(void **state)
{
    (void)state;
    world *w = world_new(CHUNK, true);
    flip_flop(w);
    assert_incomes_are_a(w);
    /* Every record changed something: 2 per person a round. */
    assert_int_equal(w->changed, 3 * 2 * PERSONS);
    assert_true(w->rechecked > 0);
    world_destroy(w);
}

static void test_repeats_are_answered_by_the_thread(void **state)
{
    (void)state;
    world *w = world_new(CHUNK, true);
    for (int round = 0; round < 2; round++)
        for (unsigned p = 0; p < PERSONS; p++)
            add_income(w, p, 100000 + p);
    apply(w);
    assert_int_equal(w->changed, 0);
    /* All but the batch's lead, which the engine applies itself. */
    assert_int_equal(w->screened, 2 * PERSONS - elig_screen_lead(CHUNK));
    world_destroy(w);
}

static void test_the_same_with_one_thread_or_two(void **state)
{
    (void)state;
    world *one = world_new(0, false), *two = world_new(CHUNK, false);
    flip_flop(one);
    flip_flop(two);
    assert_incomes_are_a(one);
    assert_incomes_are_a(two);
    assert_int_equal(one->changed, two->changed);
    assert_int_equal(one->screened, 0);
    world_destroy(one);
    world_destroy(two);
}

int main(void)
{
    dd_diag_init("test_screen", DD_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_verdicts_are_asked_again),
        cmocka_unit_test(test_repeats_are_answered_by_the_thread),
        cmocka_unit_test(test_the_same_with_one_thread_or_two),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
