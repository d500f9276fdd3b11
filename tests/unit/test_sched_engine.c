/*
 * test_sched_engine.c: the scheduler's engine on a real LMDB store, driven
 * with eligibility-log records as the consumer would apply them:
 * capacity-limited assignment and re-assignment, children's directors, the
 * 24-hour rule, overdue alerts (once), month starts and the rates, a leap
 * day, and the same state whatever the batch boundaries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "sched_calendar.h"
#include "diag.h"
#include "sched_engine.h"
#include "error.h"
#include "log.h"
#include "sched_plandb.h"
#include "store.h"

#include "doudi/event.pb-c.h"
#include "doudi/scheduler.pb-c.h"

#define V1 "440106001001"
#define V2 "440106001002"
#define V3 "440106101001"

typedef struct fixture {
    char dir[64];
    dd_store *store;
    dd_log *log;
    sched_db *db;
    sched_engine *engine;
    sched_options opt;
    dd_arena *arena;
    uint64_t seq;
    Doudi__LogRecord records[64];
    Doudi__LogRecord *batch[64];
    uint8_t *payloads[64];
    size_t n;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int64_t sh(int y, int mo, int d, int h, int mi)
{
    return sched_month_start_ms(y * 100 + mo) + (int64_t)(d - 1) * SCHED_DAY_MS +
           (int64_t)h * SCHED_HOUR_MS + (int64_t)mi * 60000;
}

static int setup(void **state)
{
    fixture *f = dd_calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_sched_engine.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    dd_store_options so = {.map_bytes = 1 << 20, .max_dbs = 32};
    assert_int_equal(dd_store_open(f->dir, &so, &f->store), 0);
    dd_log_options lo = {0};
    assert_int_equal(dd_log_open(f->store, &lo, NULL, &f->log), 0);
    assert_int_equal(sched_db_open(f->store, &f->db), 0);
    sched_options o = {
        .cadence = {.high_risk_ms = 7 * SCHED_DAY_MS, .key_months = 1, .general_months = 3,
                    .urgent_ms = 24 * SCHED_HOUR_MS},
        .phone_counts_up_to = DOUDI__VISIT_TIER__VISIT_TIER_KEY,
        .forecast_from_day = 1,
        .overdue_handle_ms = 3 * SCHED_DAY_MS,
        /* Every passed-over due entry goes after its record: the tests
         * below count entries as if deleted at once, unless they say. */
        .stale_due_drop_at = 1,
    };
    f->opt = o;
    f->engine = sched_engine_new(f->db, f->log, &o);
    f->arena = dd_arena_new(0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sched_engine_destroy(&f->engine);
    sched_db_close(&f->db);
    dd_log_close(&f->log);
    dd_store_close(&f->store);
    dd_arena_destroy(&f->arena);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- building records ------------------------------------------------------------- */

static void add(fixture *f, uint32_t kind, int64_t t, const ProtobufCMessage *msg)
{
    assert_true(f->n < 64);
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = dd_malloc(len + 1);
    protobuf_c_message_pack(msg, buf);
    Doudi__LogRecord *r = &f->records[f->n];
    doudi__log_record__init(r);
    r->sequence = ++f->seq;
    r->kind = kind;
    r->appended_at_ms = t;
    r->payload.data = buf;
    r->payload.len = len;
    f->payloads[f->n] = buf;
    f->batch[f->n] = r;
    f->n++;
}

static void roster(fixture *f, int64_t t, const char *worker, const char *region,
                   Doudi__RosterAction action, Doudi__WorkerRole role, int cap)
{
    Doudi__RosterChange rc = DOUDI__ROSTER_CHANGE__INIT;
    rc.worker_id = (char *)worker;
    rc.action = action;
    rc.role = role;
    rc.monthly_visit_capacity = cap;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.event_id = "e";
    env.source = "s";
    env.occurred_at_ms = t;
    env.region_code = (char *)region;
    env.body_case = DOUDI__ENVELOPE__BODY_ROSTER_CHANGE;
    env.roster_change = &rc;
    add(f, 17, t, &env.base);
}

static void care(fixture *f, int64_t t, const char *person, const char *region,
                 Doudi__VisitTier tier, Doudi__CareCategory category, bool within_24h,
                 bool deceased)
{
    Doudi__CareChange cc = DOUDI__CARE_CHANGE__INIT;
    cc.person_id = (char *)person;
    cc.household_id = "h";
    cc.region_code = (char *)region;
    cc.tier = tier;
    if (category) {
        cc.n_categories = 1;
        cc.categories = &category;
    }
    cc.visit_within_24h = within_24h;
    cc.deceased = deceased;
    cc.reason = "test";
    cc.occurred_at_ms = t;
    add(f, 101, t, &cc.base);
}

static void visit(fixture *f, int64_t t, const char *person, const char *worker,
                  Doudi__VisitOutcome outcome, bool danger)
{
    Doudi__VisitReport v = DOUDI__VISIT_REPORT__INIT;
    v.visit_id = "v";
    v.subject_person_id = (char *)person;
    v.worker_id = (char *)worker;
    v.visited_at_ms = t;
    v.outcome = outcome;
    Doudi__VisitFinding finding = DOUDI__VISIT_FINDING__INIT, *fp = &finding;
    finding.area = DOUDI__FINDING_AREA__FINDING_AREA_HOME_GAS;
    finding.severity = danger ? DOUDI__FINDING_SEVERITY__FINDING_SEVERITY_DANGER
                              : DOUDI__FINDING_SEVERITY__FINDING_SEVERITY_OK;
    finding.note = "gas";
    v.n_findings = 1;
    v.findings = &fp;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.event_id = "e";
    env.source = "s";
    env.occurred_at_ms = t;
    env.region_code = V1;
    env.body_case = DOUDI__ENVELOPE__BODY_VISIT_REPORT;
    env.visit_report = &v;
    add(f, 16, t, &env.base);
}

/* A record that only moves the clock (an acknowledgement, passed on). */
static void tick(fixture *f, int64_t t)
{
    Doudi__AlertAcknowledgement a = DOUDI__ALERT_ACKNOWLEDGEMENT__INIT;
    a.alert_id = "a";
    a.action = DOUDI__ACKNOWLEDGEMENT_ACTION__ACKNOWLEDGEMENT_ACTION_ACKNOWLEDGED;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.event_id = "e";
    env.source = "s";
    env.occurred_at_ms = t;
    env.region_code = V1;
    env.body_case = DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT;
    env.alert_acknowledgement = &a;
    add(f, 18, t, &env.base);
}

typedef struct apply_job {
    fixture *f;
    size_t from, to;
} apply_job;

static int apply_fn(MDB_txn *txn, void *arg)
{
    apply_job *j = arg;
    return sched_engine_apply(j->f->engine, txn, j->f->batch + j->from, j->to - j->from);
}

/* Applies, then fails: the write is taken back. */
static int apply_then_fail(MDB_txn *txn, void *arg)
{
    int rc = apply_fn(txn, arg);
    return rc ? rc : DD_EPROTO;
}

/* Applies the records added so far in one write that fails; they are gone. */
static void flush_failing(fixture *f)
{
    apply_job j = {f, 0, f->n};
    assert_int_equal(dd_store_write(f->store, apply_then_fail, &j), DD_EPROTO);
    for (size_t i = 0; i < f->n; i++)
        free(f->payloads[i]);
    f->n = 0;
}

/* Applies the records added so far in batches of `per` (0: one batch). */
static void flush(fixture *f, size_t per)
{
    if (!per)
        per = f->n ? f->n : 1;
    for (size_t i = 0; i < f->n; i += per) {
        apply_job j = {f, i, i + per < f->n ? i + per : f->n};
        assert_int_equal(dd_store_write(f->store, apply_fn, &j), 0);
    }
    for (size_t i = 0; i < f->n; i++)
        free(f->payloads[i]);
    f->n = 0;
}

/* ---- reading back ------------------------------------------------------------------ */

static Doudi__VisitPlan *plan(fixture *f, const char *person)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    Doudi__VisitPlan *p = NULL;
    assert_int_equal(sched_db_get_plan(f->db, txn, person, f->arena, &p), 0);
    mdb_txn_abort(txn);
    return p;
}

static Doudi__RosterWorker *worker(fixture *f, const char *id)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    Doudi__RosterWorker *w = NULL;
    assert_int_equal(sched_db_get_worker(f->db, txn, id, f->arena, &w), 0);
    mdb_txn_abort(txn);
    return w;
}

static void rate(fixture *f, int32_t month, const char *prefix, int64_t due, int64_t visited)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    int64_t v[SCHED_RATE_VALUES];
    assert_int_equal(sched_db_rates_get(f->db, txn, month, prefix, v), 0);
    mdb_txn_abort(txn);
    if (v[SCHED_RATE_DUE] != due || v[SCHED_RATE_VISITED] != visited)
        fail_msg("rate of %s in %d: due %lld visited %lld, want %lld %lld", prefix, month,
                 (long long)v[0], (long long)v[1], (long long)due, (long long)visited);
}

/* Entries in one of the scheduler's databases. */
static size_t entries(fixture *f, sched_dbi which)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    MDB_stat st;
    assert_int_equal(mdb_stat(txn, sched_db_dbi(f->db, which), &st), 0);
    mdb_txn_abort(txn);
    return st.ms_entries;
}

/* Counts the log's records of kind (and, for alerts, of alert kind). */
static int count_log(fixture *f, uint32_t kind, int alert_kind, const char *reason)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    int n = 0;
    for (uint64_t s = 1; s <= dd_log_head(f->log); s++) {
        dd_log_header h;
        const void *p;
        size_t len;
        assert_int_equal(dd_log_get(f->log, txn, s, &h, &p, &len), 0);
        if (h.kind != kind)
            continue;
        if (kind == 102) {
            Doudi__Alert *a = doudi__alert__unpack(NULL, len, p);
            assert_non_null(a);
            n += (int)a->kind == alert_kind;
            doudi__alert__free_unpacked(a, NULL);
        } else if (kind == 200 && reason) {
            Doudi__VisitAssignment *a = doudi__visit_assignment__unpack(NULL, len, p);
            assert_non_null(a);
            n += strcmp(a->reason, reason) == 0;
            doudi__visit_assignment__free_unpacked(a, NULL);
        } else {
            n++;
        }
    }
    mdb_txn_abort(txn);
    return n;
}

#define KEY DOUDI__VISIT_TIER__VISIT_TIER_KEY
#define GENERAL DOUDI__VISIT_TIER__VISIT_TIER_GENERAL
#define HIGH DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK
#define NONE DOUDI__VISIT_TIER__VISIT_TIER_NONE
#define ALONE DOUDI__CARE_CATEGORY__CARE_CATEGORY_ELDERLY_LIVING_ALONE
#define CHILD DOUDI__CARE_CATEGORY__CARE_CATEGORY_CHILD_IN_DIFFICULTY
#define ASSISTANT DOUDI__WORKER_ROLE__WORKER_ROLE_VILLAGE_ASSISTANT
#define DIRECTOR DOUDI__WORKER_ROLE__WORKER_ROLE_CHILDREN_DIRECTOR
#define JOINED DOUDI__ROSTER_ACTION__ROSTER_ACTION_JOINED
#define LEFT DOUDI__ROSTER_ACTION__ROSTER_ACTION_LEFT
#define VISITED DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_VISITED

/* ---- the tests ---------------------------------------------------------------------- */

static void capacity_limited_assignment(void **state)
{
    fixture *f = *state;
    int64_t t = sh(2026, 3, 2, 9, 0);
    roster(f, t, "a", V1, JOINED, ASSISTANT, 2);   /* room for two monthly plans */
    roster(f, t + 1, "t", V2, JOINED, ASSISTANT, 10); /* same township, other village */
    roster(f, t + 2, "far", V3, JOINED, ASSISTANT, 100); /* another township */
    care(f, t + 10, "p1", V1, KEY, ALONE, false, false);
    care(f, t + 11, "p2", V1, KEY, ALONE, false, false);
    care(f, t + 12, "p3", V1, KEY, ALONE, false, false);
    flush(f, 0);
    assert_string_equal(plan(f, "p1")->worker_id, "a");
    assert_string_equal(plan(f, "p2")->worker_id, "a");
    assert_string_equal(plan(f, "p3")->worker_id, "t"); /* village full: the township */
    assert_int_equal(worker(f, "a")->load_millivisits, 2000);
    assert_int_equal(worker(f, "t")->plans, 1);
    assert_int_equal(count_log(f, 200, 0, "new plan"), 3);

    /* The village assistant leaves: both plans go to the township's worker. */
    roster(f, t + 100, "a", V1, LEFT, ASSISTANT, 0);
    flush(f, 0);
    assert_string_equal(plan(f, "p1")->worker_id, "t");
    assert_string_equal(plan(f, "p2")->worker_id, "t");
    assert_int_equal(worker(f, "t")->plans, 3);
    assert_int_equal(worker(f, "t")->load_millivisits, 3000);
    assert_int_equal(worker(f, "a")->plans, 0);
    assert_false(worker(f, "a")->active);
    assert_int_equal(count_log(f, 200, 0, "worker left"), 2);

    /* A child needs the children's director: nobody yet, then one joins. */
    care(f, t + 200, "c1", V1, KEY, CHILD, false, false);
    flush(f, 0);
    assert_string_equal(plan(f, "c1")->worker_id, "");
    roster(f, t + 300, "d", V1, JOINED, DIRECTOR, 30);
    flush(f, 0);
    assert_string_equal(plan(f, "c1")->worker_id, "d");
    assert_int_equal(count_log(f, 200, 0, "capacity"), 1);

    /* The person moves to another township's village: re-assigned there. */
    care(f, t + 400, "p3", V3, KEY, ALONE, false, false);
    flush(f, 0);
    assert_string_equal(plan(f, "p3")->worker_id, "far");
    assert_int_equal(worker(f, "t")->plans, 2);
    rate(f, 202603, "440106001", 3, 0);
    rate(f, 202603, "440106101", 1, 0);
    rate(f, 202603, "4401", 4, 0);
}

static void within_24_hours_and_overdue_once(void **state)
{
    fixture *f = *state;
    int64_t t = sh(2026, 3, 10, 9, 0);
    roster(f, t, "a", V1, JOINED, ASSISTANT, 60);
    care(f, t + 1, "p", V1, KEY, ALONE, false, false);
    flush(f, 0);
    assert_int_equal(plan(f, "p")->next_due_ms, sched_month_end_ms(202603));
    /* A hospital discharge: a visit within 24 hours. */
    int64_t major = sh(2026, 3, 12, 10, 0);
    care(f, major, "p", V1, KEY, ALONE, true, false);
    flush(f, 0);
    assert_int_equal(plan(f, "p")->next_due_ms, major + 24 * SCHED_HOUR_MS);
    assert_true(plan(f, "p")->urgent);
    /* Nobody went: overdue once, however often the clock moves. */
    tick(f, sh(2026, 3, 13, 9, 0));
    tick(f, sh(2026, 3, 13, 11, 0));
    tick(f, sh(2026, 3, 20, 11, 0));
    flush(f, 1);
    tick(f, sh(2026, 3, 21, 11, 0));
    flush(f, 0);
    assert_int_equal(count_log(f, 102, DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE, NULL), 1);
    assert_true(plan(f, "p")->overdue_alerted);
    /* The visit: the next one is due by the end of April; March is done. */
    visit(f, sh(2026, 3, 22, 10, 0), "p", "a", VISITED, false);
    flush(f, 0);
    assert_int_equal(plan(f, "p")->next_due_ms, sched_month_end_ms(202604));
    assert_false(plan(f, "p")->urgent);
    rate(f, 202603, V1, 1, 1);
    rate(f, 202603, "44", 1, 1);
    /* A danger at the next visit: high risk, weekly, and an alert. */
    visit(f, sh(2026, 4, 3, 10, 0), "p", "a", VISITED, true);
    flush(f, 0);
    assert_int_equal(plan(f, "p")->tier, HIGH);
    assert_int_equal(plan(f, "p")->next_due_ms, sh(2026, 4, 10, 10, 0));
    assert_int_equal(count_log(f, 102, DOUDI__ALERT_KIND__ALERT_KIND_DANGER_FOUND, NULL), 1);
    rate(f, 202604, V1, 1, 1);
    /* The entry of the end of April is left for the sweep (an overdue
     * entry behind it was deleted at once): two entries, one plan. */
    assert_int_equal(entries(f, SCHED_DB_DUE), 2);
    assert_int_equal(entries(f, SCHED_DB_TOWNSHIP_PLANS), 1);
    /* Visited weekly into May: the sweep drops what it passes, alerts nothing. */
    visit(f, sh(2026, 4, 9, 10, 0), "p", "a", VISITED, false);
    visit(f, sh(2026, 4, 15, 10, 0), "p", "a", VISITED, false);
    visit(f, sh(2026, 4, 21, 10, 0), "p", "a", VISITED, false);
    visit(f, sh(2026, 4, 27, 10, 0), "p", "a", VISITED, false);
    tick(f, sh(2026, 5, 2, 9, 0));
    flush(f, 2);
    assert_int_equal(entries(f, SCHED_DB_DUE), 1);
    assert_int_equal(count_log(f, 102, DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE, NULL), 1);
    /* Death: no entry matches any more, and the sweep drops the last one. */
    care(f, sh(2026, 5, 3, 9, 0), "p", V1, NONE, 0, false, true);
    tick(f, sh(2026, 5, 20, 9, 0));
    flush(f, 0);
    assert_int_equal(entries(f, SCHED_DB_DUE), 0);
    assert_int_equal(entries(f, SCHED_DB_TOWNSHIP_PLANS), 0);
    assert_int_equal(count_log(f, 102, DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE, NULL), 1);
}

/*
 * Entries of "due" the sweep passed, of plans visited since, wait in
 * stale_due and are deleted together once enough have gathered, after the
 * record that made one too many; until then queries and the sweep pass
 * over them.
 */
static void passed_over_due_entries_deleted_together(void **state)
{
    fixture *f = *state;
    sched_options o = f->opt;
    o.stale_due_drop_at = 3;
    sched_engine_destroy(&f->engine);
    f->engine = sched_engine_new(f->db, f->log, &o);
    int64_t t = sh(2026, 3, 10, 9, 0);
    roster(f, t, "a", V1, JOINED, ASSISTANT, 60);
    const char *people[] = {"p1", "p2", "p3", "p4"};
    for (int i = 0; i < 4; i++)
        care(f, t + 1 + i, people[i], V1, KEY, ALONE, false, false);
    /* Nobody visited in March: four overdue plans behind the sweep. */
    tick(f, sh(2026, 4, 2, 9, 0));
    flush(f, 0);
    assert_int_equal(count_log(f, 102, DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE, NULL), 4);
    assert_int_equal(entries(f, SCHED_DB_DUE), 4);
    /* Two visits: their old entries stay, named in stale_due. */
    visit(f, sh(2026, 4, 3, 9, 0), "p1", "a", VISITED, false);
    visit(f, sh(2026, 4, 3, 10, 0), "p2", "a", VISITED, false);
    flush(f, 1);
    assert_int_equal(entries(f, SCHED_DB_STALE_DUE), 2);
    assert_int_equal(entries(f, SCHED_DB_DUE), 6);
    assert_int_equal(plan(f, "p1")->next_due_ms, sched_month_end_ms(202605));
    /* The third: all three go together, in the same transaction. */
    visit(f, sh(2026, 4, 3, 11, 0), "p3", "a", VISITED, false);
    flush(f, 0);
    assert_int_equal(entries(f, SCHED_DB_STALE_DUE), 0);
    assert_int_equal(entries(f, SCHED_DB_DUE), 4); /* p4 overdue, three due by May's end */
    /* The stale entries were never alerted again; past May's end, the
     * three visited plans are overdue once more (p4 was, once). */
    tick(f, sh(2026, 6, 2, 9, 0));
    flush(f, 0);
    assert_int_equal(count_log(f, 102, DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE, NULL), 7);
}

static void months_leap_day_and_endings(void **state)
{
    fixture *f = *state;
    int64_t t = sh(2028, 2, 10, 9, 0);
    roster(f, t, "a", V1, JOINED, ASSISTANT, 60);
    care(f, t + 1, "k", V1, KEY, ALONE, false, false);
    care(f, t + 2, "g", V1, GENERAL, DOUDI__CARE_CATEGORY__CARE_CATEGORY_REGISTERED_ELDERLY,
         false, false);
    care(f, t + 3, "d", V1, KEY, ALONE, false, false);
    /* 23:30 on the leap day in Shanghai (15:30 UTC): February's visit. */
    visit(f, sh(2028, 2, 29, 23, 30), "k", "a", VISITED, false);
    flush(f, 2);
    assert_int_equal(plan(f, "g")->next_due_ms, sched_month_end_ms(202804));
    rate(f, 202802, V1, 2, 1); /* k and d; g is not due before April */
    /* March: the month start counts every key plan without touching it. */
    tick(f, sh(2028, 3, 1, 8, 0));
    flush(f, 0);
    rate(f, 202803, V1, 2, 0);
    assert_int_equal(count_log(f, 102, DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE, NULL), 1);
    /* April: the general plan is due too (sparse index); d dies unvisited. */
    tick(f, sh(2028, 4, 2, 8, 0));
    flush(f, 0);
    rate(f, 202804, V1, 3, 0);
    care(f, sh(2028, 4, 3, 8, 0), "d", V1, NONE, 0, false, true);
    visit(f, sh(2028, 4, 4, 8, 0), "g", "a", DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_BY_PHONE_OR_VIDEO,
          false);
    visit(f, sh(2028, 4, 5, 8, 0), "k", "a", DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_NOT_AT_HOME,
          false);
    flush(f, 0);
    rate(f, 202804, V1, 2, 1); /* d withdrawn; g by phone counts; k only attempted */
    assert_int_equal(plan(f, "d")->end, DOUDI__PLAN_END__PLAN_END_DECEASED);
    assert_int_equal(worker(f, "a")->plans, 2);
    /* A report for the dead person is kept, flagged. */
    visit(f, sh(2028, 4, 6, 8, 0), "d", "a", VISITED, false);
    visit(f, sh(2028, 4, 6, 9, 0), "k", "stranger", VISITED, false);
    flush(f, 0);
    assert_int_equal(count_log(f, 102, DOUDI__ALERT_KIND__ALERT_KIND_UNMATCHED_VISIT_REPORT, NULL), 2);
    rate(f, 202804, V1, 2, 2); /* the unknown worker's visit still counts */
}

static void understaffed_and_forecast_once_a_month(void **state)
{
    fixture *f = *state;
    int64_t t = sh(2026, 5, 10, 9, 0);
    roster(f, t, "a", V1, JOINED, ASSISTANT, 2);
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof(id), "p%d", i);
        care(f, t + 1 + i, id, V1, KEY, ALONE, false, false);
    }
    flush(f, 0);
    assert_string_equal(plan(f, "p2")->worker_id, ""); /* no room left */
    assert_int_equal(count_log(f, 102, DOUDI__ALERT_KIND__ALERT_KIND_UNDERSTAFFED, NULL), 0);
    /* The next midnight: 3 visits a month due, capacity 2; and 3 people still
     * to visit with 2 * 22/31 visits left in the month. */
    tick(f, sh(2026, 5, 11, 1, 0));
    tick(f, sh(2026, 5, 20, 1, 0));
    flush(f, 0);
    assert_int_equal(count_log(f, 102, DOUDI__ALERT_KIND__ALERT_KIND_UNDERSTAFFED, NULL), 1);
    assert_int_equal(count_log(f, 102, DOUDI__ALERT_KIND__ALERT_KIND_FORECAST_MISS, NULL), 1);
    /* A new month warns again. */
    tick(f, sh(2026, 6, 2, 1, 0));
    flush(f, 0);
    assert_int_equal(count_log(f, 102, DOUDI__ALERT_KIND__ALERT_KIND_UNDERSTAFFED, NULL), 2);
    /* Capacity arrives: the waiting plan is assigned. */
    roster(f, sh(2026, 6, 3, 9, 0), "b", V2, JOINED, ASSISTANT, 10);
    flush(f, 0);
    assert_string_equal(plan(f, "p2")->worker_id, "b");
}

/*
 * A worker who moves to another township hands every plan on at once (a
 * worker's plans are found in the old township's list), and the plans
 * themselves never leave their township.
 */
static void worker_moving_away_hands_plans_on(void **state)
{
    fixture *f = *state;
    int64_t t = sh(2026, 4, 2, 9, 0);
    roster(f, t, "a", V1, JOINED, ASSISTANT, 10);
    roster(f, t + 1, "t", V2, JOINED, ASSISTANT, 1);
    care(f, t + 10, "p1", V1, KEY, ALONE, false, false);
    care(f, t + 11, "p2", V1, HIGH, ALONE, false, false);
    care(f, t + 12, "p3", V1, KEY, ALONE, false, false);
    flush(f, 0);
    assert_string_equal(plan(f, "p3")->worker_id, "a");
    assert_int_equal(worker(f, "a")->plans, 3);
    /* a moves to another township: t (room for one monthly plan) takes
     * what fits, the rest waits. */
    roster(f, t + 100, "a", V3, DOUDI__ROSTER_ACTION__ROSTER_ACTION_UPDATED, ASSISTANT, 10);
    flush(f, 0);
    assert_int_equal(worker(f, "a")->plans, 0);
    assert_int_equal(worker(f, "a")->load_millivisits, 0);
    int with_t = 0, waiting = 0;
    const char *ids[] = {"p1", "p2", "p3"};
    for (int i = 0; i < 3; i++) {
        const char *w = plan(f, ids[i])->worker_id;
        with_t += strcmp(w, "t") == 0;
        waiting += w[0] == '\0';
    }
    assert_int_equal(with_t, 1);
    assert_int_equal(waiting, 2);
    assert_int_equal(worker(f, "t")->plans, 1);
    assert_int_equal(count_log(f, 200, 0, "worker moved"), 3);
    /* Capacity in the township again: the waiting plans are assigned. */
    roster(f, t + 200, "b", V1, JOINED, ASSISTANT, 20);
    flush(f, 0);
    assert_int_equal(worker(f, "b")->plans, 2);
    assert_int_equal(count_log(f, 200, 0, "capacity"), 2);
}

/* A data directory of the first layout (other keys) is refused, not misread. */
static void first_layout_refused(void **state)
{
    fixture *f = *state;
    MDB_dbi old;
    assert_int_equal(dd_store_dbi(f->store, "worker_plans", 0, &old), 0);
    sched_db *db = NULL;
    assert_int_equal(sched_db_open(f->store, &db), DD_ECORRUPT);
    assert_null(db);
}

/* The same log and counters from two fixtures (read after their last flush). */
static void same_log_and_rates(fixture *f, fixture *g)
{
    assert_int_equal(dd_log_head(f->log), dd_log_head(g->log));
    MDB_txn *ta, *tb;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &ta), 0);
    assert_int_equal(mdb_txn_begin(dd_store_env(g->store), NULL, MDB_RDONLY, &tb), 0);
    for (uint64_t s = 1; s <= dd_log_head(f->log); s++) {
        dd_log_header ha, hb;
        const void *pa, *pb;
        size_t la, lb;
        assert_int_equal(dd_log_get(f->log, ta, s, &ha, &pa, &la), 0);
        assert_int_equal(dd_log_get(g->log, tb, s, &hb, &pb, &lb), 0);
        assert_int_equal(ha.kind, hb.kind);
        assert_int_equal(ha.appended_at_ms, hb.appended_at_ms);
        assert_int_equal(la, lb);
        assert_memory_equal(pa, pb, la);
    }
    for (int l = 0; l < SCHED_LEVELS; l++)
        for (int32_t m = 202601; m <= 202603; m++) {
            char prefix[13];
            sched_region_prefix(V1, l, prefix);
            int64_t a[3], b[3];
            assert_int_equal(sched_db_rates_get(f->db, ta, m, prefix, a), 0);
            assert_int_equal(sched_db_rates_get(g->db, tb, m, prefix, b), 0);
            assert_memory_equal(a, b, sizeof(a));
        }
    mdb_txn_abort(ta);
    mdb_txn_abort(tb);
}

/*
 * The same records in batches of 1 and in one batch: the same log and
 * plans. Both fold the plan journal often, at the same records; a third,
 * in one batch too, never folds it (its plans are read from the journal,
 * theirs mostly from the plans tree and its copy in memory).
 */
static void batch_boundaries_change_nothing(void **state)
{
    fixture *f = *state;
    fixture *g, *h;
    setup((void **)&g);
    setup((void **)&h);
    sched_db_set_journal_max(f->db, 4);
    sched_db_set_journal_max(g->db, 4);
    sched_db_set_journal_max(h->db, 1000000);
    for (int round = 0; round < 3; round++) {
        fixture *x = round == 2 ? h : round ? g : f;
        int64_t t = sh(2026, 1, 20, 9, 0);
        roster(x, t, "a", V1, JOINED, ASSISTANT, 3);
        for (int i = 0; i < 6; i++) {
            char id[8];
            snprintf(id, sizeof(id), "p%d", i);
            care(x, t + 60000 * i, id, V1, i % 3 == 0 ? HIGH : KEY, ALONE, i == 2, false);
        }
        visit(x, sh(2026, 1, 25, 9, 0), "p1", "a", VISITED, false);
        tick(x, sh(2026, 2, 9, 9, 0));
        visit(x, sh(2026, 2, 10, 9, 0), "p0", "a", VISITED, true);
        tick(x, sh(2026, 3, 2, 9, 0));
        flush(x, round ? 0 : 1);
    }
    same_log_and_rates(f, g);
    same_log_and_rates(f, h);
    assert_true(count_log(f, 102, DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE, NULL) > 0);
    teardown((void **)&g);
    teardown((void **)&h);
}

/*
 * A write that folded the plan journal is taken back: the plans it folded
 * into the tree (and into the tree's copy in memory) are as they were
 * before it. After it, the same records give what they give to a fixture
 * that never saw the failed write.
 */
/*
 * Counters changed in one transaction are all written by its flush, those
 * changed before the counter table grew (which moves them) as much as those
 * changed after; the next transaction adds to what the first left.
 */
static void counters_changed_across_a_growth_are_all_written(void **state)
{
    fixture *f = *state;
    enum { VILLAGES = 3000 }; /* past the table's first size, several levels each */
    const int32_t month = 202610;
    for (int round = 0; round < 2; round++) {
        MDB_txn *txn;
        assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, 0, &txn), 0);
        assert_int_equal(sched_db_begin(f->db, txn), 0);
        for (int v = 0; v < VILLAGES; v++) {
            char region[13];
            snprintf(region, sizeof(region), "3301%02d%06d", v % 7, v);
            int64_t delta[SCHED_RATE_VALUES] = {0};
            delta[SCHED_RATE_DUE] = 1;
            delta[SCHED_RATE_VISITED] = round;
            assert_int_equal(sched_db_rates_add(f->db, txn, month, region, delta), 0);
        }
        assert_int_equal(sched_db_counters_flush(f->db, txn), 0);
        assert_int_equal(mdb_txn_commit(txn), 0);
    }
    for (int v = 0; v < VILLAGES; v++) {
        char region[13];
        snprintf(region, sizeof(region), "3301%02d%06d", v % 7, v);
        rate(f, month, region, 2, 1);
    }
    rate(f, month, "3301", 2 * VILLAGES, VILLAGES);
}

/*
 * Workers put in one transaction are all written by its flush, those put
 * before the worker cache grew (which moves them) as much as those put
 * after; a worker put again in the next transaction is written again.
 */
static void workers_put_across_a_growth_are_all_written(void **state)
{
    fixture *f = *state;
    enum { WORKERS = 1500 }; /* the cache starts at 1,024 slots and grows past half */
    for (int round = 0; round < 2; round++) {
        MDB_txn *txn;
        assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, 0, &txn), 0);
        assert_int_equal(sched_db_begin(f->db, txn), 0);
        for (int i = round ? WORKERS - 10 : 0; i < WORKERS; i++) {
            char id[32];
            snprintf(id, sizeof(id), "W%05d", i);
            Doudi__RosterWorker w = DOUDI__ROSTER_WORKER__INIT;
            w.worker_id = id;
            w.region_code = "440106001001";
            w.active = true;
            w.plans = i + round * 100000;
            assert_int_equal(sched_db_put_worker(f->db, txn, &w, f->arena), 0);
        }
        assert_int_equal(sched_db_counters_flush(f->db, txn), 0);
        assert_int_equal(mdb_txn_commit(txn), 0);
    }
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    for (int i = 0; i < WORKERS; i++) {
        char id[32];
        snprintf(id, sizeof(id), "W%05d", i);
        Doudi__RosterWorker *w;
        assert_int_equal(sched_db_get_worker(f->db, txn, id, f->arena, &w), 0);
        assert_int_equal(w->plans, i + (i >= WORKERS - 10 ? 100000 : 0));
    }
    mdb_txn_abort(txn);
}

static void aborted_fold_leaves_no_trace(void **state)
{
    fixture *f = *state;
    fixture *g;
    setup((void **)&g);
    int64_t t = sh(2026, 1, 20, 9, 0);
    for (int round = 0; round < 2; round++) {
        fixture *x = round ? g : f;
        sched_db_set_journal_max(x->db, 1); /* a fold after every record */
        roster(x, t, "a", V1, JOINED, ASSISTANT, 3);
        care(x, t + 1000, "p1", V1, KEY, ALONE, false, false);
        flush(x, 1);
        if (x == f) {
            /* Visited, in a write that fails after folding the plan. */
            visit(x, t + 2000, "p1", "a", VISITED, false);
            flush_failing(x);
            x->seq--; /* the next record comes under the same sequence */
        }
        tick(x, sh(2026, 1, 31, 9, 0));
        visit(x, sh(2026, 2, 3, 9, 0), "p1", "a", VISITED, false);
        tick(x, sh(2026, 3, 2, 9, 0));
        flush(x, 1);
    }
    same_log_and_rates(f, g);
    /* January's visit never happened: p1 is January's one overdue visit. */
    assert_int_equal(count_log(f, 102, DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE, NULL), 1);
    teardown((void **)&g);
}

int main(void)
{
    dd_diag_init("test_sched_engine", DD_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(capacity_limited_assignment, setup, teardown),
        cmocka_unit_test_setup_teardown(within_24_hours_and_overdue_once, setup, teardown),
        cmocka_unit_test_setup_teardown(passed_over_due_entries_deleted_together, setup, teardown),
        cmocka_unit_test_setup_teardown(months_leap_day_and_endings, setup, teardown),
        cmocka_unit_test_setup_teardown(understaffed_and_forecast_once_a_month, setup, teardown),
        cmocka_unit_test_setup_teardown(worker_moving_away_hands_plans_on, setup, teardown),
        cmocka_unit_test_setup_teardown(first_layout_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_boundaries_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(aborted_fold_leaves_no_trace, setup, teardown),
        cmocka_unit_test_setup_teardown(counters_changed_across_a_growth_are_all_written, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(workers_put_across_a_growth_are_all_written, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
