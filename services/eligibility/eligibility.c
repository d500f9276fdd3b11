/*
 * eligibility.c: what doudi-eligibility adds to the common stage
 * (common/stage.h): the registry and engine, the apply function and its
 * metrics, the registry queries and the standards table (see eligibility.h).
 */
#include "eligibility.h"

#include "alloc.h"
#include "clock.h"
#include "diag.h"
#include "engine.h"
#include "factcache.h"
#include "error.h"
#include "registry.h"
#include "settings.h"
#include "standards.h"
#include "store.h"
#include "stage.h"

#include "doudi/query.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ELIG_METRICS(X)                                                                    \
    X(M_RECORDS, "doudi_eligibility_records_total", DD_METRIC_COUNTER,                     \
      "Intake records applied, by kind.", "kind", NULL, 0)                                 \
    X(M_CHANGED, "doudi_eligibility_records_changed_total", DD_METRIC_COUNTER,             \
      "Records that changed the registry.", NULL, NULL, 0)                                 \
    X(M_UNCHANGED, "doudi_eligibility_records_unchanged_total", DD_METRIC_COUNTER,         \
      "Records that changed nothing (no write).", NULL, NULL, 0)                           \
    X(M_UNCHANGED_CACHED, "doudi_eligibility_records_known_from_cache_total",              \
      DD_METRIC_COUNTER,                                                                   \
      "Comparison records found to change nothing without a registry read (fact cache, no finding).",\
      NULL, NULL, 0)                                                                       \
    X(M_FACT_CACHE_ENTRIES, "doudi_eligibility_fact_cache_entries", DD_METRIC_GAUGE,       \
      "Department findings held in the fact cache.", NULL, NULL, 0)                        \
    X(M_FACT_CACHE_BYTES, "doudi_eligibility_fact_cache_bytes", DD_METRIC_GAUGE,           \
      "Memory of the fact cache.", NULL, NULL, 0)                                          \
    X(M_HOME_CACHE_BYTES, "doudi_eligibility_home_cache_bytes", DD_METRIC_GAUGE,           \
      "Memory of the cache of which household each person is in.", NULL, NULL, 0)         \
    X(M_FACT_CACHE_RESETS, "doudi_eligibility_fact_cache_resets_total", DD_METRIC_COUNTER, \
      "Times the fact cache reached fact_cache_size and started over.", NULL, NULL, 0)     \
    X(M_SCREENED, "doudi_eligibility_screened_unchanged_total", DD_METRIC_COUNTER,         \
      "Comparison records the screening thread found to change nothing.", NULL, NULL, 0)  \
    X(M_SCREEN_RECHECKED, "doudi_eligibility_screen_rechecked_total", DD_METRIC_COUNTER,   \
      "Screening verdicts asked again because the person was written since.", NULL, NULL,  \
      0)                                                                                   \
    X(M_SCREEN_WAIT, "doudi_eligibility_screen_wait_seconds_total",                        \
      DD_METRIC_COUNTER_FRACTIONAL,                                                        \
      "Time the main thread waited for the screening thread.", NULL, NULL, 0)             \
    X(M_UNDECODABLE, "doudi_eligibility_records_undecodable_total", DD_METRIC_COUNTER,     \
      "Records skipped because they do not decode.", NULL, NULL, 0)                        \
    X(M_EVALUATIONS, "doudi_eligibility_evaluations_total", DD_METRIC_COUNTER,             \
      "Household re-evaluations (every member, every program).", NULL, NULL, 0)            \
    X(M_EVAL_SECONDS, "doudi_eligibility_evaluation_seconds", DD_METRIC_HISTOGRAM,         \
      "Time spent re-evaluating households, per batch.", NULL, dd_buckets_seconds,         \
      DD_BUCKETS_SECONDS_N)                                                                \
    X(M_DECISIONS, "doudi_eligibility_decisions_changed_total", DD_METRIC_COUNTER,         \
      "Decisions whose outcome or amount changed, by program.", "program", NULL, 0)        \
    X(M_ALERTS, "doudi_eligibility_alerts_total", DD_METRIC_COUNTER,                       \
      "Alerts raised, by kind.", "kind", NULL, 0)                                          \
    X(M_CARE, "doudi_eligibility_care_changes_total", DD_METRIC_COUNTER,                   \
      "Care category or visit tier changes.", NULL, NULL, 0)                               \
    X(M_PERSONS, "doudi_eligibility_registry_persons", DD_METRIC_GAUGE,                    \
      "Persons in the registry (placeholders included).", NULL, NULL, 0)                   \
    X(M_HOUSEHOLDS, "doudi_eligibility_registry_households", DD_METRIC_GAUGE,              \
      "Households in the registry (placeholders included).", NULL, NULL, 0)                \
    X(M_DECISIONS_HELD, "doudi_eligibility_registry_decisions", DD_METRIC_GAUGE,           \
      "Decisions held (one per person and program).", NULL, NULL, 0)                       \
    X(M_CASELOAD_ELIGIBLE, "doudi_eligibility_caseload_eligible_persons", DD_METRIC_GAUGE, \
      "Persons whose latest decision says eligible, by program (doudictl caseload).",      \
      "program", NULL, 0)                                                                  \
    X(M_CASELOAD_HOUSEHOLDS, "doudi_eligibility_caseload_eligible_households",             \
      DD_METRIC_GAUGE, "Households with anybody eligible, by program.", "program", NULL, 0)  \
    X(M_CASELOAD_ENROLLED, "doudi_eligibility_caseload_enrolled_persons", DD_METRIC_GAUGE, \
      "Persons enrolled, by program.", "program", NULL, 0)                                 \
    X(M_CASELOAD_AMOUNT, "doudi_eligibility_caseload_monthly_amount_fen", DD_METRIC_GAUGE, \
      "Monthly amounts decided for the eligible (a household's dibao once), by program.",  \
      "program", NULL, 0)                                                                  \
    X(M_JOURNAL_ENTRIES, "doudi_eligibility_registry_journal_entries", DD_METRIC_GAUGE,      \
      "Registry writes in the households journal, not yet folded into the households tree.", \
      NULL, NULL, 0)                                                                       \
    X(M_JOURNAL_BYTES, "doudi_eligibility_registry_journal_memory_bytes", DD_METRIC_GAUGE, \
      "Memory of the households journal's index and its copies of the newest entries.",    \
      NULL, NULL, 0)                                                                       \
    X(M_JOURNAL_ROUND, "doudi_eligibility_registry_journal_fold_phase", DD_METRIC_GAUGE,   \
      "The journal's fold in progress: 0 none, 1 folding households into the tree, 2 "     \
      "deleting the folded entries from the journal.", NULL, NULL, 0)                      \
    X(M_IDLE_FOLDS, "doudi_eligibility_registry_idle_folds_total", DD_METRIC_COUNTER,      \
      "Folds of the households journal made while caught up with intake "                  \
      "(registry_idle_fold_entries).", NULL, NULL, 0)                                      \
    X(M_IDLE_FOLD_FAILURES, "doudi_eligibility_registry_idle_fold_failures_total",         \
      DD_METRIC_COUNTER, "Folds while caught up that failed (rolled back; tried again "    \
      "at the next quiet moment).", NULL, NULL, 0)                                         \
    X(M_IDLE_FOLD_SECONDS, "doudi_eligibility_registry_idle_fold_seconds_total",           \
      DD_METRIC_COUNTER_FRACTIONAL,                                                        \
      "Time spent in folds made while caught up, commits included.",                       \
      NULL, NULL, 0)                                                                       \
    X(M_QUERIES, "doudi_eligibility_queries_total", DD_METRIC_COUNTER,                     \
      "Registry queries answered, by result.", "result", NULL, 0)

enum { ELIG_METRICS(DD_METRIC_ENUM) ELIG_METRIC_COUNT };

struct elig_daemon {
    dd_stage *stage;
    elig_registry *registry;
    elig_standards *standards;
    elig_engine *engine;
    bool batch_pending;
    uint64_t fact_cache_resets_seen;
    uint64_t idle_fold_entries; /* fold when caught up with at least this many; 0: never */

    dd_metric *m[ELIG_METRIC_COUNT];
    dd_series *s[ELIG_METRIC_COUNT];
};

static const dd_metric_def elig_metric_defs[] = {ELIG_METRICS(DD_METRIC_DEF)};

/* ---- applying batches: the consumer calls the engine; stats after commit - */

static int apply(void *arg, MDB_txn *txn, Doudi__LogRecord *const *records, size_t n)
{
    elig_daemon *d = arg;
    d->batch_pending = true;
    return elig_engine_apply(d->engine, txn, records, n);
}

static void batch_committed(void *arg)
{
    elig_daemon *d = arg;
    if (!d->batch_pending)
        return;
    d->batch_pending = false;
    elig_engine_batch_committed(d->engine);
    const elig_batch_stats *st = elig_engine_last_batch(d->engine);
    char label[64];
    for (size_t k = 0; k < sizeof(st->records) / sizeof(st->records[0]); k++)
        if (st->records[k])
            dd_series_inc(
                dd_metric_series(d->m[M_RECORDS],
                                 dd_stage_enum_label(&doudi__record_kind__descriptor, (int)k,
                                                     "RECORD_KIND_", label, sizeof(label))),
                st->records[k]);
    dd_series_inc(d->s[M_CHANGED], st->records_changed);
    dd_series_inc(d->s[M_UNCHANGED], st->records_unchanged);
    dd_series_inc(d->s[M_UNCHANGED_CACHED], st->records_unchanged_cached);
    dd_series_inc(d->s[M_UNDECODABLE], st->records_undecodable);
    dd_series_inc(d->s[M_SCREENED], st->screened_unchanged);
    dd_series_inc(d->s[M_SCREEN_RECHECKED], st->screen_rechecked);
    dd_series_add(d->s[M_SCREEN_WAIT], (double)st->screen_wait_ns / 1e9);
    dd_series_inc(d->s[M_EVALUATIONS], st->evaluations);
    dd_series_observe(d->s[M_EVAL_SECONDS], (double)st->evaluation_ns / 1e9);
    dd_series_inc(d->s[M_CARE], st->care_changes);
    for (int p = 1; p < ELIG_PROGRAMS; p++)
        if (st->decisions_changed[p])
            dd_series_inc(dd_metric_series(d->m[M_DECISIONS],
                                           dd_stage_enum_label(&doudi__program__descriptor, p,
                                                               "PROGRAM_", label, sizeof(label))),
                          st->decisions_changed[p]);
    for (size_t k = 1; k < sizeof(st->alerts) / sizeof(st->alerts[0]); k++)
        if (st->alerts[k])
            dd_series_inc(
                dd_metric_series(d->m[M_ALERTS],
                                 dd_stage_enum_label(&doudi__alert_kind__descriptor, (int)k,
                                                     "ALERT_KIND_", label, sizeof(label))),
                st->alerts[k]);
}

static void batch_aborted(void *arg)
{
    elig_daemon *d = arg;
    d->batch_pending = false;
    elig_engine_batch_aborted(d->engine);
}

/* ---- quiet moments: the journal is folded when nothing waits ---------------- */

static int idle_fold_fn(MDB_txn *txn, void *arg)
{
    elig_daemon *d = arg;
    int rc = elig_registry_begin(d->registry, txn);
    return rc ? rc : elig_registry_fold_if_full(d->registry, txn, true);
}

/*
 * The consumer found intake with nothing new for a whole fetch wait. A fold
 * made now spares the records of the next burst a fold in their midst (the
 * journal fills with a province's monthly batch; a whole fold of millions
 * of entries stops eligibility for tens of seconds). Not while a consumer
 * of eligibility's log is still behind its head: the fold stops the loop
 * that answers its fetches too. Where the fold falls depends on timing,
 * not on the records alone: the households tree and the journal hold the
 * same registry either way.
 */
static void caught_up(void *arg)
{
    elig_daemon *d = arg;
    uint64_t entries = elig_registry_journal_entries(d->registry);
    if (!d->idle_fold_entries || entries < d->idle_fold_entries)
        return;
    dd_log *log = dd_stage_log(d->stage);
    if (log && dd_log_slowest_consumer(log) < dd_log_head(log))
        return;
    int64_t t0 = dd_monotonic_ns();
    int rc = dd_store_write(dd_stage_store(d->stage), idle_fold_fn, d);
    double seconds = (double)(dd_monotonic_ns() - t0) / 1e9;
    dd_series_add(d->s[M_IDLE_FOLD_SECONDS], seconds);
    if (rc) {
        dd_series_inc(d->s[M_IDLE_FOLD_FAILURES], 1);
        dd_error("folding the households journal (%llu entries) while caught up failed: %s",
                 (unsigned long long)entries, dd_strerror(rc));
        return;
    }
    dd_series_inc(d->s[M_IDLE_FOLDS], 1);
    dd_series_set(d->s[M_JOURNAL_ENTRIES], (double)elig_registry_journal_entries(d->registry));
    dd_info("caught up with intake: folded the households journal (%llu entries) in %.1f s",
            (unsigned long long)entries, seconds);
}

/* ---- queries -------------------------------------------------------------- */

/* Appends the decisions held for a person, with their traces (engine.h). */
static void add_decisions(elig_daemon *d, MDB_txn *txn, dd_arena *arena,
                          const char *household_id, const char *person_id, Doudi__Program only,
                          Doudi__Decision ***list, size_t *n)
{
    (void)household_id;
    Doudi__Decision **found;
    size_t nfound;
    if (elig_engine_explain(d->engine, txn, arena, person_id, only, &found, &nfound) != 0 ||
        nfound == 0)
        return;
    Doudi__Decision **grown = dd_arena_alloc(arena, (*n + nfound) * sizeof(void *));
    if (*n)
        memcpy(grown, *list, *n * sizeof(void *));
    memcpy(grown + *n, found, nfound * sizeof(void *));
    *n += nfound;
    *list = grown;
}

typedef struct caseload_rows {
    dd_arena *arena;
    Doudi__CaseloadRow **rows;
    size_t n, cap;
} caseload_rows;

static int add_caseload_row(void *arg, const elig_caseload_row *row)
{
    caseload_rows *c = arg;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        Doudi__CaseloadRow **grown = dd_arena_alloc(c->arena, cap * sizeof(void *));
        if (c->n)
            memcpy(grown, c->rows, c->n * sizeof(void *));
        c->rows = grown;
        c->cap = cap;
    }
    Doudi__CaseloadRow *r = dd_arena_alloc(c->arena, sizeof(*r));
    doudi__caseload_row__init(r);
    r->county_code = dd_arena_alloc(c->arena, sizeof(row->county));
    memcpy(r->county_code, row->county, sizeof(row->county));
    r->program = row->program;
    r->eligible_persons = row->eligible;
    r->eligible_households = row->households;
    r->enrolled_persons = row->enrolled;
    r->monthly_amount_fen = row->amount_fen;
    c->rows[c->n++] = r;
    return 0;
}

/* The caseload rows of a region prefix into r, or why not. */
static const char *answer_caseload(elig_daemon *d, MDB_txn *txn, dd_arena *arena,
                                   const char *prefix, Doudi__QueryReply *r)
{
    size_t pl = strlen(prefix);
    if (pl > 6 || strspn(prefix, "0123456789") != pl)
        return "caseload_region is 0 to 6 digits (the caseload is kept by county)";
    caseload_rows c = {arena, NULL, 0, 0};
    int rc = elig_registry_caseload(d->registry, txn, prefix, add_caseload_row, &c);
    if (rc) {
        char *err = dd_arena_alloc(arena, 120);
        snprintf(err, 120, "the caseload cannot be read: %s", dd_strerror(rc));
        return err;
    }
    r->caseload = c.rows;
    r->n_caseload = c.n;
    return NULL;
}

/* Fills r from txn; r points into txn's pages, so pack before it ends. */
static void answer_query(elig_daemon *d, MDB_txn *txn, dd_arena *arena,
                         const Doudi__QueryRequest *q, Doudi__QueryReply *r)
{
    char *err = NULL;
    Doudi__StoredPerson **persons = NULL;
    size_t npersons = 0;
    Doudi__Decision **decisions = NULL;
    size_t ndecisions = 0;
    const char *household_id = NULL;
    if (q->query_case == DOUDI__QUERY_REQUEST__QUERY_PERSON_ID) {
        Doudi__StoredPerson *p;
        int rc = elig_registry_get_person(d->registry, txn, q->person_id, arena, &p);
        if (rc != 0) {
            /* The id in full (up to 64 bytes, then "..."): cutting it at 18
             * would name another person when a longer id was sent. */
            err = dd_arena_alloc(arena, 160);
            if (rc == DD_NOTFOUND)
                snprintf(err, 160, "person %.64s%s is not in the registry", q->person_id,
                         strlen(q->person_id) > 64 ? "..." : "");
            else
                snprintf(err, 160, "person %.64s%s cannot be read: %s", q->person_id,
                         strlen(q->person_id) > 64 ? "..." : "", dd_strerror(rc));
        } else {
            persons = dd_arena_alloc(arena, sizeof(void *));
            persons[npersons++] = p;
            household_id = p->report->household_id;
            add_decisions(d, txn, arena, p->report->household_id, q->person_id, q->program,
                          &decisions, &ndecisions);
        }
    } else if (q->query_case == DOUDI__QUERY_REQUEST__QUERY_HOUSEHOLD_ID) {
        household_id = q->household_id;
        /* An empty id would skip the lookup below and answer with nothing. */
        if (!household_id[0])
            err = "a household_id is 1 to 64 bytes, not empty";
    } else if (q->query_case == DOUDI__QUERY_REQUEST__QUERY_CASELOAD_REGION) {
        const char *why = answer_caseload(d, txn, arena, q->caseload_region, r);
        r->error_text = why ? (char *)why : "";
        return;
    } else {
        err = "a query names a person_id, a household_id or a caseload_region";
    }
    if (!err && household_id && household_id[0]) {
        Doudi__StoredHousehold *h;
        if (elig_registry_get_household(d->registry, txn, household_id, arena, &h) == 0) {
            r->household = h;
            if (q->query_case == DOUDI__QUERY_REQUEST__QUERY_HOUSEHOLD_ID) {
                size_t nm = h->report->n_member_person_ids;
                persons = dd_arena_alloc(arena, (nm + 1) * sizeof(void *));
                for (size_t i = 0; i < nm; i++) {
                    Doudi__StoredPerson *p;
                    const char *id = h->report->member_person_ids[i];
                    if (elig_registry_get_person(d->registry, txn, id, arena, &p) == 0) {
                        persons[npersons++] = p;
                        add_decisions(d, txn, arena, household_id, id, 0, &decisions, &ndecisions);
                    }
                }
            }
        } else if (q->query_case == DOUDI__QUERY_REQUEST__QUERY_HOUSEHOLD_ID) {
            err = dd_arena_alloc(arena, 160);
            snprintf(err, 160, "household %.64s%s is not in the registry", household_id,
                     strlen(household_id) > 64 ? "..." : "");
        }
    }
    if (!err) {
        r->persons = persons;
        r->n_persons = npersons;
        r->decisions = decisions;
        r->n_decisions = ndecisions;
    }
    r->error_text = err ? err : "";
}

static bool answer(void *arg, dd_arena *arena, const uint8_t *request, size_t len,
                   uint8_t **out, size_t *out_len)
{
    elig_daemon *d = arg;
    ProtobufCAllocator a = dd_arena_protobuf_allocator(arena);
    Doudi__QueryRequest *q = doudi__query_request__unpack(&a, len, request);
    Doudi__QueryReply reply = DOUDI__QUERY_REPLY__INIT;
    MDB_txn *txn = NULL;
    if (q && mdb_txn_begin(dd_store_env(dd_stage_store(d->stage)), NULL, MDB_RDONLY, &txn) != 0) {
        txn = NULL;
        reply.request_id = q->request_id;
        reply.error_text = "the registry cannot be read right now";
    } else if (q) {
        reply.request_id = q->request_id;
        answer_query(d, txn, arena, q, &reply);
    } else {
        reply.error_text = "the message is not an encoded doudi.QueryRequest (query.proto)";
    }
    *out_len = doudi__query_reply__get_packed_size(&reply);
    *out = dd_arena_alloc(arena, *out_len ? *out_len : 1);
    doudi__query_reply__pack(&reply, *out);
    if (txn)
        mdb_txn_abort(txn);
    return reply.error_text[0] != '\0';
}

/* ---- maintenance ----------------------------------------------------------- */

typedef struct caseload_sums {
    uint64_t eligible[ELIG_PROGRAMS], households[ELIG_PROGRAMS], enrolled[ELIG_PROGRAMS];
    int64_t amount_fen[ELIG_PROGRAMS];
} caseload_sums;

static int add_to_sums(void *arg, const elig_caseload_row *row)
{
    caseload_sums *s = arg;
    unsigned p = (unsigned)row->program;
    if (p > 0 && p < ELIG_PROGRAMS) {
        s->eligible[p] += row->eligible;
        s->households[p] += row->households;
        s->enrolled[p] += row->enrolled;
        s->amount_fen[p] += row->amount_fen;
    }
    return 0;
}

/* The caseload of the whole registry, by program (a few hundred rows). */
static void update_caseload_gauges(elig_daemon *d)
{
    caseload_sums s;
    memset(&s, 0, sizeof(s));
    MDB_txn *txn;
    if (mdb_txn_begin(dd_store_env(dd_stage_store(d->stage)), NULL, MDB_RDONLY, &txn) != 0)
        return;
    int rc = elig_registry_caseload(d->registry, txn, "", add_to_sums, &s);
    mdb_txn_abort(txn);
    if (rc)
        return;
    char label[64];
    for (int p = 1; p < ELIG_PROGRAMS; p++) {
        if (p == DOUDI__PROGRAM__PROGRAM_TEMP)
            continue; /* decided per emergency: no caseload */
        dd_stage_enum_label(&doudi__program__descriptor, p, "PROGRAM_", label, sizeof(label));
        dd_series_set(dd_metric_series(d->m[M_CASELOAD_ELIGIBLE], label), (double)s.eligible[p]);
        dd_series_set(dd_metric_series(d->m[M_CASELOAD_HOUSEHOLDS], label),
                      (double)s.households[p]);
        dd_series_set(dd_metric_series(d->m[M_CASELOAD_ENROLLED], label), (double)s.enrolled[p]);
        dd_series_set(dd_metric_series(d->m[M_CASELOAD_AMOUNT], label), (double)s.amount_fen[p]);
    }
}

static void update_gauges(void *arg)
{
    elig_daemon *d = arg;
    uint64_t persons, households, decisions;
    if (elig_registry_counts(d->registry, &persons, &households, &decisions) == 0) {
        dd_series_set(d->s[M_PERSONS], (double)persons);
        dd_series_set(d->s[M_HOUSEHOLDS], (double)households);
        dd_series_set(d->s[M_DECISIONS_HELD], (double)decisions);
    }
    update_caseload_gauges(d);
    dd_series_set(d->s[M_JOURNAL_ENTRIES], (double)elig_registry_journal_entries(d->registry));
    dd_series_set(d->s[M_JOURNAL_BYTES], (double)elig_registry_journal_memory_bytes(d->registry));
    dd_series_set(d->s[M_JOURNAL_ROUND], (double)elig_registry_journal_round(d->registry));
    elig_factcache_stats fc;
    elig_engine_fact_cache_stats(d->engine, &fc);
    dd_series_set(d->s[M_FACT_CACHE_ENTRIES], (double)fc.entries);
    dd_series_set(d->s[M_FACT_CACHE_BYTES], (double)fc.bytes);
    dd_series_set(d->s[M_HOME_CACHE_BYTES], (double)elig_registry_home_cache_bytes(d->registry));
    if (fc.resets > d->fact_cache_resets_seen) {
        dd_series_inc(d->s[M_FACT_CACHE_RESETS], fc.resets - d->fact_cache_resets_seen);
        d->fact_cache_resets_seen = fc.resets;
    }
}

/* The registry's clock: output records carry event time. */
static int64_t event_clock_ms(void *arg)
{
    elig_daemon *d = arg;
    MDB_txn *txn;
    int64_t now_ms = 0;
    if (mdb_txn_begin(dd_store_env(dd_stage_store(d->stage)), NULL, MDB_RDONLY, &txn) == 0) {
        now_ms = elig_registry_clock(d->registry, txn);
        mdb_txn_abort(txn);
    }
    return now_ms;
}

/* ---- set-up ----------------------------------------------------------------- */

static int load_standards(const dd_config *config, elig_standards **out)
{
    const char *path = dd_config_string(config, E_STANDARDS_FILE);
    if (!path[0]) {
        *out = elig_standards_demo();
        return 0;
    }
    char *err = NULL;
    int rc = elig_standards_load_file(path, out, &err);
    if (rc) {
        dd_error("standards table: %s", err ? err : dd_strerror(rc));
        free(err);
    }
    return rc;
}

int elig_daemon_check_config(const dd_config *config)
{
    elig_standards *standards = NULL;
    int rc = load_standards(config, &standards);
    elig_standards_destroy(&standards);
    return rc;
}

static void read_options(dd_config *c, elig_engine_options *o)
{
    memset(o, 0, sizeof(*o));
    elig_params *p = &o->params;
    p->dibao_asset_months = dd_config_int(c, E_DIBAO_ASSET_MONTHS);
    p->vehicle_limit_fen = dd_config_int(c, E_VEHICLE_LIMIT);
    p->dibao_max_dwellings = dd_config_int(c, E_DIBAO_MAX_DWELLINGS);
    p->dibao_min_fen = dd_config_int(c, E_DIBAO_MIN);
    p->tekun_multiplier_permille = (int32_t)dd_config_int(c, E_TEKUN_MULTIPLIER);
    p->dibian_multiplier_permille = (int32_t)dd_config_int(c, E_DIBIAN_MULTIPLIER);
    p->rigid_share_permille = (int32_t)dd_config_int(c, E_RIGID_SHARE);
    p->rigid_months = (int32_t)dd_config_int(c, E_RIGID_MONTHS);
    p->temp_quick_aid_permille = (int32_t)dd_config_int(c, E_TEMP_QUICK_AID);
    p->temp_decide_days = (int32_t)dd_config_int(c, E_TEMP_DECIDE_DAYS);
    p->dis_living_includes_dibian = dd_config_bool(c, E_DIS_LIVING_INCLUDES_DIBIAN);
    p->medical_alert_monitored_fen = dd_config_int(c, E_MEDICAL_ALERT_MONITORED);
    p->medical_alert_other_fen = dd_config_int(c, E_MEDICAL_ALERT_OTHER);
    p->income_drop_permille = (int32_t)dd_config_int(c, E_INCOME_DROP);
    p->elderly_age = (int32_t)dd_config_int(c, E_ELDERLY_AGE);
    p->advanced_age = (int32_t)dd_config_int(c, E_ADVANCED_AGE);
    p->high_risk_age = (int32_t)dd_config_int(c, E_HIGH_RISK_AGE);
    p->child_age_limit = (int32_t)dd_config_int(c, E_CHILD_AGE_LIMIT);
    p->full_care_dependent = (int32_t)dd_config_int(c, E_FULL_CARE_DEPENDENT);
    p->half_care_impaired = (int32_t)dd_config_int(c, E_HALF_CARE_IMPAIRED);
    o->dangling_wait_ms = dd_config_duration_ms(c, E_DANGLING_WAIT);
    o->fact_cache_bytes = (size_t)dd_config_size(c, E_FACT_CACHE_SIZE);
    o->screen_chunk = dd_config_bool(c, E_SCREEN_THREAD) ? ELIG_SCREEN_CHUNK : 0;
    o->discovery_handle_ms = dd_config_duration_ms(c, E_DISCOVERY_HANDLE);
    o->review_handle_ms = dd_config_duration_ms(c, E_REVIEW_HANDLE);
    o->risk_handle_ms = dd_config_duration_ms(c, E_RISK_HANDLE);
    o->urgent_handle_ms = dd_config_duration_ms(c, E_URGENT_HANDLE);
    o->missing_info_handle_ms = dd_config_duration_ms(c, E_MISSING_INFO_HANDLE);
    o->quick_aid_handle_ms = dd_config_duration_ms(c, E_QUICK_AID_HANDLE);
    o->dangling_handle_ms = dd_config_duration_ms(c, E_DANGLING_HANDLE);
}

static void close_state(void *arg)
{
    elig_daemon *d = arg;
    elig_engine_destroy(&d->engine);
    elig_registry_close(&d->registry);
    elig_standards_destroy(&d->standards);
}

static const dd_stage_spec elig_stage = {
    .settings = elig_settings,
    .nsettings = ELIG_SETTING_COUNT,
    .keys =
        {
            .data_dir = E_DATA_DIR,
            .map_size = E_MAP_SIZE,
            .max_map_size = E_MAX_MAP_SIZE,
            .reader_check_interval = E_READER_CHECK_INTERVAL,
            .log_level = E_LOG_LEVEL,
            .metrics_listen = E_METRICS_LISTEN,
            .log_endpoint = E_LOG_ENDPOINT,
            .log_retention = E_LOG_RETENTION,
            .log_consumers = E_LOG_CONSUMERS,
            .log_trim_interval = E_LOG_TRIM_INTERVAL,
            .log_fetch_max_records = E_LOG_FETCH_MAX_RECORDS,
            .log_fetch_max_bytes = E_LOG_FETCH_MAX_BYTES,
            .log_fetch_max_wait = E_LOG_FETCH_MAX_WAIT,
            .consumer_name = E_CONSUMER_NAME,
            .upstream_endpoint = E_UPSTREAM_ENDPOINT,
            .fetch_records = E_FETCH_RECORDS,
            .fetch_wait = E_FETCH_WAIT,
            .upstream_name = DD_STAGE_NO_KEY,
            .query_endpoint = E_QUERY_ENDPOINT,
            .auth_key_file = E_AUTH_KEY_FILE,
            .auth_clients_file = E_AUTH_CLIENTS_FILE,
            .auth_upstream_key_file = E_AUTH_UPSTREAM_KEY_FILE,
        },
    .upstream = "intake",
    .log_noun = "log",
    .answer = answer,
    .query_metric = "doudi_eligibility_queries_total",
    .apply = apply,
    .event_clock_ms = event_clock_ms,
    .update_gauges = update_gauges,
    .close_state = close_state,
    .idle = caught_up,
};

/* Before the first batch, so the cache describes committed state only. */
static int warm_fact_cache(elig_daemon *d, dd_store *store)
{
    int64_t t0 = dd_monotonic_ns();
    MDB_txn *txn;
    int rc = mdb_txn_begin(dd_store_env(store), NULL, MDB_RDONLY, &txn);
    uint64_t persons = 0;
    if (rc == 0) {
        rc = elig_engine_warm_fact_cache(d->engine, txn, &persons);
        mdb_txn_abort(txn);
    }
    if (rc) {
        dd_error("cannot read the registry to fill the fact cache: %s", dd_strerror(rc));
        return rc;
    }
    elig_factcache_stats st;
    elig_engine_fact_cache_stats(d->engine, &st);
    dd_info("fact cache filled from %llu persons in %.1f s (%llu MiB)", (unsigned long long)persons,
            (double)(dd_monotonic_ns() - t0) / 1e9, (unsigned long long)(st.bytes >> 20));
    return 0;
}

int elig_daemon_new(struct ev_loop *loop, dd_config *config, elig_daemon **out)
{
    elig_daemon *d = dd_calloc(1, sizeof(*d));
    d->stage = dd_stage_new(loop, config, &elig_stage, d);
    int rc = dd_stage_register_metrics(d->stage, elig_metric_defs, ELIG_METRIC_COUNT, d->m, d->s);
    if (rc)
        goto fail;
    if ((rc = load_standards(config, &d->standards)) != 0)
        goto fail;
    if ((rc = dd_stage_open_store(d->stage)) != 0)
        goto fail;
    dd_store *store = dd_stage_store(d->stage);
    if ((rc = elig_registry_open(store, (uint64_t)dd_config_int(config, E_REGISTRY_JOURNAL_MAX),
                                 &d->registry)) != 0)
        goto fail;
    if (dd_config_bool(config, E_CASELOAD_RECOUNT)) {
        int64_t t0 = dd_monotonic_ns();
        if ((rc = elig_registry_recount_caseload(d->registry)) != 0) {
            dd_error("counting the caseload again failed: %s", dd_strerror(rc));
            goto fail;
        }
        dd_info("caseload counted again from the registry in %.1f s",
                (double)(dd_monotonic_ns() - t0) / 1e9);
    }
    elig_registry_set_home_cache(d->registry, (size_t)dd_config_size(config, E_HOME_CACHE_SIZE));
    elig_registry_set_fold_pace(d->registry, (uint64_t)dd_config_int(config, E_REGISTRY_FOLD_PACE));
    d->idle_fold_entries = (uint64_t)dd_config_int(config, E_REGISTRY_IDLE_FOLD_ENTRIES);
    elig_engine_options eo;
    read_options(config, &eo);
    d->engine = elig_engine_new(d->registry, dd_stage_log(d->stage), d->standards, &eo);
    dd_store_participant part = {batch_committed, batch_aborted, d};
    dd_store_add_participant(store, &part);
    if (eo.fact_cache_bytes && dd_config_bool(config, E_FACT_CACHE_WARMUP) &&
        (rc = warm_fact_cache(d, store)) != 0)
        goto fail;
    if ((rc = dd_stage_start(d->stage)) != 0)
        goto fail;
    dd_stage_update_gauges(d->stage);
    const char *listen = dd_config_string(config, E_METRICS_LISTEN);
    dd_info("eligibility ready: %zu standards rows; consuming %s; log %s, queries %s, metrics %s",
            elig_standards_rows(d->standards), dd_config_string(config, E_UPSTREAM_ENDPOINT),
            dd_config_string(config, E_LOG_ENDPOINT), dd_config_string(config, E_QUERY_ENDPOINT),
            listen[0] ? listen : "(off)");
    *out = d;
    return 0;
fail:
    elig_daemon_destroy(&d);
    return rc ? rc : -EINVAL;
}

int elig_daemon_reload(elig_daemon *d, dd_config *config)
{
    elig_standards *standards = NULL;
    int rc = load_standards(config, &standards);
    if (rc)
        return rc;
    dd_stage_reload(d->stage, config);
    d->idle_fold_entries = (uint64_t)dd_config_int(config, E_REGISTRY_IDLE_FOLD_ENTRIES);
    elig_engine_set_standards(d->engine, standards);
    elig_standards_destroy(&d->standards);
    d->standards = standards;
    dd_info("configuration reloaded (%zu standards rows)", elig_standards_rows(standards));
    return 0;
}

void elig_daemon_stop(elig_daemon *d)
{
    dd_stage_stop(d->stage);
}

void elig_daemon_destroy(elig_daemon **dp)
{
    if (!dp || !*dp)
        return;
    elig_daemon *d = *dp;
    dd_stage_destroy(&d->stage);
    free(d);
    *dp = NULL;
}
