/*
 * sched_daemon.c: what doudi-scheduler adds to the common stage
 * (common/stage.h): its databases and engine, the apply function and its
 * metrics, the plan queries, the gauges and the wall-clock sweep (see
 * sched_daemon.h).
 */
#include "sched_daemon.h"

#include "alloc.h"
#include "sched_calendar.h"
#include "clock.h"
#include "diag.h"
#include "sched_engine.h"
#include "error.h"
#include "sched_plandb.h"
#include "sched_query.h"
#include "sched_settings.h"
#include "store.h"
#include "stage.h"

#include "doudi/scheduler.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SCHED_METRICS(X)                                                                       \
    X(M_RECORDS, "doudi_scheduler_records_total", DD_METRIC_COUNTER,                           \
      "Eligibility records applied, by kind.", "kind", NULL, 0)                                \
    X(M_UNDECODABLE, "doudi_scheduler_records_undecodable_total", DD_METRIC_COUNTER,           \
      "Records that do not decode (skipped, or passed on as they came).", NULL, NULL, 0)       \
    X(M_REJECTED, "doudi_scheduler_records_rejected_total", DD_METRIC_COUNTER,                 \
      "Records refused for bad content (a missing id, a malformed region).", NULL, NULL, 0)    \
    X(M_ALERTS, "doudi_scheduler_alerts_raised_total", DD_METRIC_COUNTER,                      \
      "Alerts the scheduler raised, by kind.", "kind", NULL, 0)                                \
    X(M_PASSED, "doudi_scheduler_alerts_passed_total", DD_METRIC_COUNTER,                      \
      "Eligibility's alerts passed on to doudi-alerts.", NULL, NULL, 0)                        \
    X(M_PLAN_EVENTS, "doudi_scheduler_plan_events_total", DD_METRIC_COUNTER,                   \
      "Plans started, ended, re-tiered, moved, or given a visit within 24 hours.", "event",    \
      NULL, 0)                                                                                 \
    X(M_ASSIGNMENTS, "doudi_scheduler_assignments_total", DD_METRIC_COUNTER,                   \
      "Assignments made, by result (assigned, or none: nobody had capacity).", "result",       \
      NULL, 0)                                                                                 \
    X(M_VISITS, "doudi_scheduler_visit_reports_total", DD_METRIC_COUNTER,                      \
      "Visit reports, by result (counted, attempt, unmatched, late).", "result", NULL, 0)      \
    X(M_PLANS, "doudi_scheduler_plans", DD_METRIC_GAUGE, "Active visit plans, by tier.",      \
      "tier", NULL, 0)                                                                         \
    X(M_DUE, "doudi_scheduler_visits_due", DD_METRIC_GAUGE,                                    \
      "People due a visit in the current month.", NULL, NULL, 0)                               \
    X(M_DONE, "doudi_scheduler_visits_done", DD_METRIC_GAUGE,                                  \
      "People due this month who were visited.", NULL, NULL, 0)                                \
    X(M_OVERDUE, "doudi_scheduler_visits_overdue", DD_METRIC_GAUGE,                            \
      "Overdue visits alerted in the current month.", NULL, NULL, 0)                           \
    X(M_RATE, "doudi_scheduler_visit_rate", DD_METRIC_GAUGE,                                   \
      "This month's visit rate (visited / due) by prefecture city.", "city", NULL, 0)          \
    X(M_SWEEP, "doudi_scheduler_sweep_seconds", DD_METRIC_HISTOGRAM,                           \
      "Time spent sweeping for overdue visits, per batch.", NULL, dd_buckets_seconds,          \
      DD_BUCKETS_SECONDS_N)                                                                    \
    X(M_CLOCK, "doudi_scheduler_clock_seconds", DD_METRIC_GAUGE,                               \
      "The scheduler's clock (event time, Unix seconds).", NULL, NULL, 0)                      \
    X(M_WALL_SWEEP_ERRORS, "doudi_scheduler_wall_sweep_errors_total", DD_METRIC_COUNTER,       \
      "Wall-clock sweeps that failed (clock = wall).", NULL, NULL, 0)                          \
    X(M_PLAN_CACHE_PLANS, "doudi_scheduler_plan_cache_plans", DD_METRIC_GAUGE,                \
      "Plans of the plans tree copied in memory (fewer than the plans once the cache is "     \
      "full: the rest is read from the tree).", NULL, NULL, 0)                               \
    X(M_PLAN_CACHE_BYTES, "doudi_scheduler_plan_cache_bytes", DD_METRIC_GAUGE,                \
      "Memory of the plans copied in memory.", NULL, NULL, 0)                                 \
    X(M_QUERIES, "doudi_scheduler_queries_total", DD_METRIC_COUNTER,                           \
      "Queries answered, by result.", "result", NULL, 0)                                       \
    X(M_STALE_DUE, "doudi_scheduler_stale_due_entries_deleted_total", DD_METRIC_COUNTER,       \
      "Due entries the sweep had passed, of plans visited since, deleted together in key "     \
      "order.", NULL, NULL, 0)

enum { SCHED_METRICS(DD_METRIC_ENUM) SCHED_METRIC_COUNT };

static const dd_metric_def sched_metric_defs[] = {SCHED_METRICS(DD_METRIC_DEF)};

struct sched_daemon {
    struct ev_loop *loop;
    dd_stage *stage;
    sched_db *db;
    sched_engine *engine;
    ev_timer wall_sweep;
    bool batch_pending;

    dd_metric *m[SCHED_METRIC_COUNT];
    dd_series *s[SCHED_METRIC_COUNT];
};

static void inc_label(sched_daemon *d, int m, const char *label, uint64_t by)
{
    if (by)
        dd_series_inc(dd_metric_series(d->m[m], label), by);
}

/* ---- batches: the engine runs in the consumer's transaction; stats after commit -- */

static int apply(void *arg, MDB_txn *txn, Doudi__LogRecord *const *records, size_t n)
{
    sched_daemon *d = arg;
    d->batch_pending = true;
    return sched_engine_apply(d->engine, txn, records, n);
}

static void batch_committed(void *arg)
{
    sched_daemon *d = arg;
    if (!d->batch_pending)
        return;
    d->batch_pending = false;
    const sched_batch_stats *st = sched_engine_last_batch(d->engine);
    static const char *const kinds[SCHED_IN_KINDS] = {"care_change", "alert", "visit_report",
                                                      "roster_change", "acknowledgement", "other"};
    for (int k = 0; k < SCHED_IN_KINDS; k++)
        inc_label(d, M_RECORDS, kinds[k], st->records[k]);
    dd_series_inc(d->s[M_UNDECODABLE], st->undecodable);
    dd_series_inc(d->s[M_REJECTED], st->rejected);
    dd_series_inc(d->s[M_PASSED], st->alerts_passed);
    char label[64];
    for (size_t k = 1; k < sizeof(st->alerts_raised) / sizeof(st->alerts_raised[0]); k++)
        if (st->alerts_raised[k])
            inc_label(d, M_ALERTS,
                      dd_stage_enum_label(&doudi__alert_kind__descriptor, (int)k, "ALERT_KIND_",
                                          label, sizeof(label)),
                      st->alerts_raised[k]);
    inc_label(d, M_PLAN_EVENTS, "started", st->plans_started);
    inc_label(d, M_PLAN_EVENTS, "ended", st->plans_ended);
    inc_label(d, M_PLAN_EVENTS, "tier_changed", st->tier_changes);
    inc_label(d, M_PLAN_EVENTS, "moved", st->moves);
    inc_label(d, M_PLAN_EVENTS, "urgent_visit", st->urgent_visits);
    inc_label(d, M_ASSIGNMENTS, "assigned", st->assignments);
    inc_label(d, M_ASSIGNMENTS, "none", st->unassigned);
    inc_label(d, M_VISITS, "counted", st->visits_counted);
    inc_label(d, M_VISITS, "attempt", st->attempts);
    inc_label(d, M_VISITS, "unmatched", st->unmatched_reports);
    inc_label(d, M_VISITS, "late", st->late_visits);
    if (st->sweeps)
        dd_series_observe(d->s[M_SWEEP], (double)st->sweep_ns / 1e9);
    dd_series_inc(d->s[M_STALE_DUE], st->stale_due_dropped);
}

static void batch_aborted(void *arg)
{
    sched_daemon *d = arg;
    d->batch_pending = false;
}

/* ---- the wall clock (clock = wall) ------------------------------------------------ */

typedef struct wall_job {
    sched_daemon *d;
    int64_t now_ms;
} wall_job;

static int wall_fn(MDB_txn *txn, void *arg)
{
    wall_job *j = arg;
    j->d->batch_pending = true;
    return sched_engine_advance(j->d->engine, txn, j->now_ms);
}

static void wall_sweep_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    sched_daemon *d = t->data;
    wall_job j = {d, dd_wall_ms()};
    int rc = dd_store_write(dd_stage_store(d->stage), wall_fn, &j);
    if (rc) {
        dd_series_inc(d->s[M_WALL_SWEEP_ERRORS], 1);
        dd_warn("wall-clock sweep failed: %s", dd_strerror(rc));
    }
}

/* ---- queries ---------------------------------------------------------------------- */

static bool answer(void *arg, dd_arena *arena, const uint8_t *request, size_t len,
                   uint8_t **out, size_t *out_len)
{
    sched_daemon *d = arg;
    ProtobufCAllocator a = dd_arena_protobuf_allocator(arena);
    Doudi__SchedulerQueryRequest *q = doudi__scheduler_query_request__unpack(&a, len, request);
    Doudi__SchedulerQueryReply reply = DOUDI__SCHEDULER_QUERY_REPLY__INIT;
    MDB_txn *txn = NULL;
    if (q && mdb_txn_begin(dd_store_env(dd_stage_store(d->stage)), NULL, MDB_RDONLY, &txn) != 0) {
        txn = NULL;
        reply.request_id = q->request_id;
        reply.error_text = "the scheduler's state cannot be read right now";
    } else if (q) {
        sched_query_answer(d->db, txn, arena, sched_engine_clock(d->engine, txn),
                           sched_engine_month(d->engine, txn), q, &reply);
    } else {
        reply.error_text =
            "the message is not an encoded doudi.SchedulerQueryRequest (scheduler.proto)";
    }
    *out_len = doudi__scheduler_query_reply__get_packed_size(&reply);
    *out = dd_arena_alloc(arena, *out_len ? *out_len : 1);
    doudi__scheduler_query_reply__pack(&reply, *out);
    if (txn)
        mdb_txn_abort(txn);
    return reply.error_text[0] != '\0';
}

/* ---- maintenance ------------------------------------------------------------------ */

typedef struct gauge_job {
    sched_daemon *d;
    int64_t tiers[SCHED_TIERS_VALUES];
    int64_t rates[SCHED_RATE_VALUES];
} gauge_job;

static int gauge_tiers_cb(void *arg, const MDB_val *key, const MDB_val *value)
{
    (void)key;
    gauge_job *j = arg;
    if (value->mv_size == sizeof(j->tiers)) {
        int64_t v[SCHED_TIERS_VALUES];
        memcpy(v, value->mv_data, sizeof(v));
        for (int i = 0; i < SCHED_TIERS_VALUES; i++)
            j->tiers[i] += v[i];
    }
    return 0;
}

static int gauge_rates_cb(void *arg, const MDB_val *key, const MDB_val *value)
{
    gauge_job *j = arg;
    int64_t v[SCHED_RATE_VALUES] = {0};
    if (value->mv_size == sizeof(v))
        memcpy(v, value->mv_data, sizeof(v));
    if (key->mv_size == 4 + 2) {
        for (int i = 0; i < SCHED_RATE_VALUES; i++)
            j->rates[i] += v[i];
    } else if (key->mv_size == 4 + 4) {
        /* Cities are a bounded label set: 21 in a province like Guangdong. */
        char city[5];
        memcpy(city, (const char *)key->mv_data + 4, 4);
        city[4] = '\0';
        dd_series_set(dd_metric_series(j->d->m[M_RATE], city),
                      v[SCHED_RATE_DUE] ? (double)v[SCHED_RATE_VISITED] / (double)v[SCHED_RATE_DUE]
                                        : 1.0);
    }
    return 0;
}

static void update_gauges(void *arg)
{
    sched_daemon *d = arg;
    MDB_txn *txn;
    if (mdb_txn_begin(dd_store_env(dd_stage_store(d->stage)), NULL, MDB_RDONLY, &txn) == 0) {
        gauge_job j = {.d = d};
        sched_query_levels(d->db, txn, SCHED_DB_TIERS, "", 0, 2, gauge_tiers_cb, &j);
        char label[32];
        for (int t = DOUDI__VISIT_TIER__VISIT_TIER_GENERAL;
             t <= DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK; t++)
            dd_series_set(dd_metric_series(d->m[M_PLANS], dd_stage_enum_label(
                                                              &doudi__visit_tier__descriptor, t,
                                                              "VISIT_TIER_", label, sizeof(label))),
                          (double)j.tiers[t]);
        int32_t month = sched_engine_month(d->engine, txn);
        if (month) {
            uint8_t head[4] = {(uint8_t)((uint32_t)month >> 24), (uint8_t)((uint32_t)month >> 16),
                               (uint8_t)((uint32_t)month >> 8), (uint8_t)month};
            sched_query_levels(d->db, txn, SCHED_DB_RATES, head, 4, 2, gauge_rates_cb, &j);
            sched_query_levels(d->db, txn, SCHED_DB_RATES, head, 4, 4, gauge_rates_cb, &j);
        }
        dd_series_set(d->s[M_DUE], (double)j.rates[SCHED_RATE_DUE]);
        dd_series_set(d->s[M_DONE], (double)j.rates[SCHED_RATE_VISITED]);
        dd_series_set(d->s[M_OVERDUE], (double)j.rates[SCHED_RATE_OVERDUE]);
        dd_series_set(d->s[M_CLOCK], (double)sched_engine_clock(d->engine, txn) / 1000.0);
        mdb_txn_abort(txn);
    }
    size_t plans, bytes;
    sched_db_plan_cache_stats(d->db, &plans, &bytes);
    dd_series_set(d->s[M_PLAN_CACHE_PLANS], (double)plans);
    dd_series_set(d->s[M_PLAN_CACHE_BYTES], (double)bytes);
}

/* The engine's clock: output records carry event time. */
static int64_t event_clock_ms(void *arg)
{
    sched_daemon *d = arg;
    MDB_txn *txn;
    int64_t now_ms = 0;
    if (mdb_txn_begin(dd_store_env(dd_stage_store(d->stage)), NULL, MDB_RDONLY, &txn) == 0) {
        now_ms = sched_engine_clock(d->engine, txn);
        mdb_txn_abort(txn);
    }
    return now_ms;
}

/* ---- set-up ----------------------------------------------------------------------- */

static void read_options(dd_config *c, sched_options *o)
{
    memset(o, 0, sizeof(*o));
    o->cadence.high_risk_ms = dd_config_duration_ms(c, S_HIGH_RISK_CADENCE);
    o->cadence.key_months = (int)dd_config_int(c, S_KEY_CADENCE_MONTHS);
    o->cadence.general_months = (int)dd_config_int(c, S_GENERAL_CADENCE_MONTHS);
    o->cadence.urgent_ms = dd_config_duration_ms(c, S_URGENT_WITHIN);
    /* none|general|key|high_risk -> 0, VISIT_TIER_GENERAL, _KEY, _HIGH_RISK */
    size_t phone = dd_config_enum(c, S_PHONE_COUNTS_UP_TO);
    o->phone_counts_up_to = phone ? (int)DOUDI__VISIT_TIER__VISIT_TIER_GENERAL + (int)phone - 1 : 0;
    o->refused_counts = dd_config_bool(c, S_REFUSED_COUNTS);
    o->forecast_from_day = (int)dd_config_int(c, S_FORECAST_FROM_DAY);
    o->overdue_handle_ms = dd_config_duration_ms(c, S_OVERDUE_HANDLE);
    o->danger_handle_ms = dd_config_duration_ms(c, S_DANGER_HANDLE);
    o->understaffed_handle_ms = dd_config_duration_ms(c, S_UNDERSTAFFED_HANDLE);
    o->forecast_handle_ms = dd_config_duration_ms(c, S_FORECAST_HANDLE);
    o->unmatched_handle_ms = dd_config_duration_ms(c, S_UNMATCHED_HANDLE);
}

static void close_state(void *arg)
{
    sched_daemon *d = arg;
    sched_engine_destroy(&d->engine);
    sched_db_close(&d->db);
}

/* Only the kinds the scheduler uses; decisions (100) are skipped at the source. */
static const uint32_t upstream_kinds[] = {16, 17, 18, 101, 102};

static const dd_stage_spec sched_stage = {
    .settings = sched_settings,
    .nsettings = SCHED_SETTING_COUNT,
    .keys =
        {
            .data_dir = S_DATA_DIR,
            .map_size = S_MAP_SIZE,
            .max_map_size = S_MAX_MAP_SIZE,
            .reader_check_interval = S_READER_CHECK_INTERVAL,
            .log_level = S_LOG_LEVEL,
            .metrics_listen = S_METRICS_LISTEN,
            .log_endpoint = S_LOG_ENDPOINT,
            .log_retention = S_LOG_RETENTION,
            .log_consumers = S_LOG_CONSUMERS,
            .log_trim_interval = S_LOG_TRIM_INTERVAL,
            .log_fetch_max_records = S_LOG_FETCH_MAX_RECORDS,
            .log_fetch_max_bytes = S_LOG_FETCH_MAX_BYTES,
            .log_fetch_max_wait = S_LOG_FETCH_MAX_WAIT,
            .consumer_name = S_CONSUMER_NAME,
            .upstream_endpoint = S_UPSTREAM_ENDPOINT,
            .fetch_records = S_FETCH_RECORDS,
            .fetch_wait = S_FETCH_WAIT,
            .upstream_name = DD_STAGE_NO_KEY,
            .query_endpoint = S_QUERY_ENDPOINT,
            .auth_key_file = S_AUTH_KEY_FILE,
            .auth_clients_file = S_AUTH_CLIENTS_FILE,
            .auth_upstream_key_file = S_AUTH_UPSTREAM_KEY_FILE,
        },
    .upstream = "eligibility",
    .kinds = upstream_kinds,
    .nkinds = sizeof(upstream_kinds) / sizeof(upstream_kinds[0]),
    .max_dbs = 32,
    .random_reads = true, /* plans, due entries, counters: store.h */
    .log_noun = "log",
    .answer = answer,
    .query_metric = "doudi_scheduler_queries_total",
    .apply = apply,
    .event_clock_ms = event_clock_ms,
    .update_gauges = update_gauges,
    .close_state = close_state,
};

int sched_daemon_new(struct ev_loop *loop, dd_config *config, sched_daemon **out)
{
    sched_daemon *d = dd_calloc(1, sizeof(*d));
    d->loop = loop;
    d->stage = dd_stage_new(loop, config, &sched_stage, d);
    int rc = dd_stage_register_metrics(d->stage, sched_metric_defs, SCHED_METRIC_COUNT, d->m,
                                       d->s);
    if (rc)
        goto fail;
    if ((rc = dd_stage_open_store(d->stage)) != 0)
        goto fail;
    dd_store *store = dd_stage_store(d->stage);
    if ((rc = sched_db_open(store, &d->db)) != 0)
        goto fail;
    sched_db_set_journal_max(d->db, (uint64_t)dd_config_int(config, S_PLAN_JOURNAL_MAX));
    sched_db_set_fold_pace(d->db, (uint64_t)dd_config_int(config, S_PLAN_FOLD_PACE));
    sched_options opt;
    read_options(config, &opt);
    d->engine = sched_engine_new(d->db, dd_stage_log(d->stage), &opt);
    dd_store_participant part = {batch_committed, batch_aborted, d};
    dd_store_add_participant(store, &part);
    if ((rc = dd_stage_start(d->stage)) != 0)
        goto fail;
    ev_init(&d->wall_sweep, wall_sweep_cb);
    d->wall_sweep.data = d;
    bool wall = strcmp(dd_config_string(config, S_CLOCK), "wall") == 0;
    if (wall) {
        d->wall_sweep.repeat = (double)dd_config_duration_ms(config, S_WALL_SWEEP_INTERVAL) / 1e3;
        ev_timer_again(loop, &d->wall_sweep);
    }
    dd_stage_update_gauges(d->stage);
    const char *listen = dd_config_string(config, S_METRICS_LISTEN);
    dd_info("scheduler ready (%s clock): consuming %s; log %s, queries %s, metrics %s",
            wall ? "wall" : "event", dd_config_string(config, S_UPSTREAM_ENDPOINT),
            dd_config_string(config, S_LOG_ENDPOINT), dd_config_string(config, S_QUERY_ENDPOINT),
            listen[0] ? listen : "(off)");
    *out = d;
    return 0;
fail:
    sched_daemon_destroy(&d);
    return rc ? rc : -EINVAL;
}

int sched_daemon_reload(sched_daemon *d, dd_config *config)
{
    dd_stage_reload(d->stage, config);
    dd_info("configuration reloaded");
    return 0;
}

void sched_daemon_stop(sched_daemon *d)
{
    dd_stage_stop(d->stage);
}

void sched_daemon_destroy(sched_daemon **dp)
{
    if (!dp || !*dp)
        return;
    sched_daemon *d = *dp;
    if (d->loop)
        ev_timer_stop(d->loop, &d->wall_sweep);
    dd_stage_destroy(&d->stage);
    free(d);
    *dp = NULL;
}
