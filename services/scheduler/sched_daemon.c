/*
 * sched_daemon.c: wiring doudi-scheduler together: store, databases, engine,
 * consumer, output log, queries, metrics, maintenance (see sched_daemon.h).
 */
#include "sched_daemon.h"

#include "alloc.h"
#include "sched_calendar.h"
#include "clock.h"
#include "consumer.h"
#include "diag.h"
#include "sched_engine.h"
#include "error.h"
#include "evzmq.h"
#include "log.h"
#include "metrics.h"
#include "sched_plandb.h"
#include "sched_query.h"
#include "sched_settings.h"
#include "store.h"
#include "store_metrics.h"

#include "doudi/scheduler.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

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
    X(M_QUERIES, "doudi_scheduler_queries_total", DD_METRIC_COUNTER,                           \
      "Queries answered, by result.", "result", NULL, 0)

enum { SCHED_METRICS(DD_METRIC_ENUM) SCHED_METRIC_COUNT };

static const dd_metric_def sched_metric_defs[] = {SCHED_METRICS(DD_METRIC_DEF)};

struct sched_daemon {
    struct ev_loop *loop;
    dd_config *config;
    void *zctx;
    dd_store *store;
    dd_store_metrics *store_metrics;
    dd_log *log;
    sched_db *db;
    sched_engine *engine;
    dd_consumer *consumer;
    void *query_sock;
    dd_evzmq query_w;
    ev_timer maintenance;
    ev_timer wall_sweep;
    int64_t last_trim_ns, last_reader_check_ns;
    int64_t trim_ns, reader_check_ns;
    dd_arena *arena;
    bool batch_pending;
    const char **consumer_names;
    size_t nconsumer_names;

    dd_metrics *metrics;
    dd_metrics_http *http;
    dd_metric *m[SCHED_METRIC_COUNT];
    dd_series *s[SCHED_METRIC_COUNT];
};

static const char *enum_label(const ProtobufCEnumDescriptor *d, int value, const char *prefix,
                              char *buf, size_t len)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    const char *name = v ? v->name : "unknown";
    size_t plen = strlen(prefix);
    if (strncmp(name, prefix, plen) == 0)
        name += plen;
    size_t i = 0;
    for (; name[i] && i + 1 < len; i++)
        buf[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
    buf[i] = '\0';
    return buf;
}

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
                      enum_label(&doudi__alert_kind__descriptor, (int)k, "ALERT_KIND_", label,
                                 sizeof(label)),
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
    int rc = dd_store_write(d->store, wall_fn, &j);
    if (rc) {
        dd_series_inc(d->s[M_WALL_SWEEP_ERRORS], 1);
        dd_warn("wall-clock sweep failed: %s", dd_strerror(rc));
    }
}

/* ---- queries ---------------------------------------------------------------------- */

static void query_cb(struct ev_loop *loop, dd_evzmq *w, int revents)
{
    (void)loop;
    (void)revents;
    sched_daemon *d = w->data;
    for (int i = 0; i < 64; i++) {
        dd_zmsg msg;
        if (dd_zmsg_recv(d->query_sock, &msg) != 0)
            break;
        bool delimiter = msg.nframes == 3 && dd_zmsg_size(&msg, 1) == 0;
        if ((msg.nframes == 2 || delimiter) && dd_zmsg_size(&msg, 0) <= 256) {
            size_t last = msg.nframes - 1;
            ProtobufCAllocator a = dd_arena_protobuf_allocator(d->arena);
            Doudi__SchedulerQueryRequest *q = doudi__scheduler_query_request__unpack(
                &a, dd_zmsg_size(&msg, last), dd_zmsg_data(&msg, last));
            Doudi__SchedulerQueryReply reply = DOUDI__SCHEDULER_QUERY_REPLY__INIT;
            MDB_txn *txn = NULL;
            if (q && mdb_txn_begin(dd_store_env(d->store), NULL, MDB_RDONLY, &txn) != 0) {
                txn = NULL;
                reply.request_id = q->request_id;
                reply.error_text = "the scheduler's state cannot be read right now";
            } else if (q) {
                sched_query_answer(d->db, txn, d->arena, sched_engine_clock(d->engine, txn),
                                   sched_engine_month(d->engine, txn), q, &reply);
            } else {
                reply.error_text =
                    "the message is not an encoded doudi.SchedulerQueryRequest (scheduler.proto)";
            }
            dd_series_inc(dd_metric_series(d->m[M_QUERIES], reply.error_text[0] ? "error" : "ok"),
                          1);
            size_t len = doudi__scheduler_query_reply__get_packed_size(&reply);
            uint8_t *buf = dd_arena_alloc(d->arena, len ? len : 1);
            doudi__scheduler_query_reply__pack(&reply, buf);
            if (txn)
                mdb_txn_abort(txn);
            const void *data[3] = {dd_zmsg_data(&msg, 0), "", buf};
            size_t sizes[3] = {dd_zmsg_size(&msg, 0), 0, len};
            if (!delimiter) {
                data[1] = buf;
                sizes[1] = len;
            }
            dd_zsend_frames(d->query_sock, data, sizes, delimiter ? 3 : 2);
        }
        dd_zmsg_close(&msg);
        dd_arena_reset(d->arena);
    }
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

static void update_gauges(sched_daemon *d)
{
    MDB_txn *txn;
    if (mdb_txn_begin(dd_store_env(d->store), NULL, MDB_RDONLY, &txn) == 0) {
        gauge_job j = {.d = d};
        sched_query_levels(d->db, txn, SCHED_DB_TIERS, "", 0, 2, gauge_tiers_cb, &j);
        char label[32];
        for (int t = DOUDI__VISIT_TIER__VISIT_TIER_GENERAL; t <= DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK; t++)
            dd_series_set(dd_metric_series(d->m[M_PLANS],
                                           enum_label(&doudi__visit_tier__descriptor, t,
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
    dd_store_metrics_update(d->store_metrics);
    dd_log_update_metrics(d->log);
}

static void maintenance_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    sched_daemon *d = t->data;
    int64_t now_ns = dd_monotonic_ns();
    if (now_ns - d->last_trim_ns >= d->trim_ns - d->trim_ns / 10) {
        d->last_trim_ns = now_ns;
        /* Output records carry event time: trim on the same clock. */
        MDB_txn *txn;
        int64_t now_ms = 0;
        if (mdb_txn_begin(dd_store_env(d->store), NULL, MDB_RDONLY, &txn) == 0) {
            now_ms = sched_engine_clock(d->engine, txn);
            mdb_txn_abort(txn);
        }
        int rc = dd_log_trim(d->log, now_ms, NULL);
        if (rc)
            dd_warn("log trim failed: %s", dd_strerror(rc));
    }
    if (now_ns - d->last_reader_check_ns >= d->reader_check_ns) {
        d->last_reader_check_ns = now_ns;
        int cleared = 0;
        dd_store_reader_check(d->store, &cleared);
        if (cleared)
            dd_warn("cleared %d stale LMDB reader slot(s)", cleared);
    }
    update_gauges(d);
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

int sched_daemon_new(struct ev_loop *loop, dd_config *config, sched_daemon **out)
{
    sched_daemon *d = dd_calloc(1, sizeof(*d));
    d->loop = loop;
    d->config = config;
    d->arena = dd_arena_new(1 << 20);
    d->metrics = dd_metrics_new();
    int rc = dd_metrics_register(d->metrics, sched_metric_defs, SCHED_METRIC_COUNT, d->m);
    if (rc)
        goto fail;
    for (int i = 0; i < SCHED_METRIC_COUNT; i++)
        if (!sched_metric_defs[i].label)
            d->s[i] = dd_metric_series(d->m[i], NULL);
    dd_diag_level level;
    if (dd_diag_level_parse(dd_config_string(config, S_LOG_LEVEL), &level) == 0)
        dd_diag_set_level(level);

    dd_store_options so = {
        .map_bytes = dd_config_size(config, S_MAP_SIZE),
        .max_map_bytes = dd_config_size(config, S_MAX_MAP_SIZE),
        .max_dbs = 32,
    };
    if ((rc = dd_store_open(dd_config_string(config, S_DATA_DIR), &so, &d->store)) != 0)
        goto fail;
    d->store_metrics = dd_store_metrics_new(d->store, d->metrics);
    d->consumer_names =
        dd_config_split_list(dd_config_string(config, S_LOG_CONSUMERS), &d->nconsumer_names);
    dd_log_options lo = {
        .max_records = (uint32_t)dd_config_int(config, S_LOG_FETCH_MAX_RECORDS),
        .max_bytes = (uint32_t)dd_config_size(config, S_LOG_FETCH_MAX_BYTES),
        .max_wait_ms = (uint32_t)dd_config_duration_ms(config, S_LOG_FETCH_MAX_WAIT),
        .retention_ms = dd_config_duration_ms(config, S_LOG_RETENTION),
        .required_consumers = d->consumer_names,
        .nrequired = d->nconsumer_names,
    };
    if ((rc = dd_log_open(d->store, &lo, d->metrics, &d->log)) != 0)
        goto fail;
    if ((rc = sched_db_open(d->store, &d->db)) != 0)
        goto fail;
    sched_options opt;
    read_options(config, &opt);
    d->engine = sched_engine_new(d->db, d->log, &opt);
    dd_store_participant part = {batch_committed, batch_aborted, d};
    dd_store_add_participant(d->store, &part);

    d->zctx = zmq_ctx_new();
    if ((rc = dd_log_serve(d->log, loop, d->zctx, dd_config_string(config, S_LOG_ENDPOINT))) != 0)
        goto fail;
    d->query_sock = dd_zsock_new(d->zctx, ZMQ_ROUTER, 1 << 20, 0);
    if (!d->query_sock ||
        (rc = dd_zsock_bind(d->query_sock, dd_config_string(config, S_QUERY_ENDPOINT))) != 0) {
        rc = rc ? rc : -EINVAL;
        goto fail;
    }
    dd_evzmq_init(&d->query_w, d->query_sock, EV_READ, query_cb, d);
    dd_evzmq_start(loop, &d->query_w);

    /* Only the kinds the scheduler uses; decisions (100) are skipped at the source. */
    static const uint32_t kinds[] = {16, 17, 18, 101, 102};
    dd_consumer_options co = {
        .name = dd_config_string(config, S_CONSUMER_NAME),
        .upstream = "eligibility",
        .endpoint = dd_config_string(config, S_UPSTREAM_ENDPOINT),
        .max_records = (uint32_t)dd_config_int(config, S_FETCH_RECORDS),
        .wait_ms = (uint32_t)dd_config_duration_ms(config, S_FETCH_WAIT),
        .kinds = kinds,
        .nkinds = sizeof(kinds) / sizeof(kinds[0]),
    };
    if ((rc = dd_consumer_new(d->store, loop, d->zctx, &co, apply, d, d->metrics, &d->consumer)) != 0)
        goto fail;

    const char *listen = dd_config_string(config, S_METRICS_LISTEN);
    if (listen[0] && (rc = dd_metrics_http_start(d->metrics, listen, &d->http)) != 0) {
        dd_error("cannot serve metrics on %s: %s", listen, dd_strerror(rc));
        goto fail;
    }
    d->trim_ns = dd_config_duration_ms(config, S_LOG_TRIM_INTERVAL) * 1000000;
    d->reader_check_ns = dd_config_duration_ms(config, S_READER_CHECK_INTERVAL) * 1000000;
    ev_init(&d->maintenance, maintenance_cb);
    d->maintenance.repeat = (double)d->trim_ns / 1e9 < 1.0 ? (double)d->trim_ns / 1e9 : 1.0;
    d->maintenance.data = d;
    ev_timer_again(loop, &d->maintenance);
    ev_init(&d->wall_sweep, wall_sweep_cb);
    d->wall_sweep.data = d;
    bool wall = strcmp(dd_config_string(config, S_CLOCK), "wall") == 0;
    if (wall) {
        d->wall_sweep.repeat = (double)dd_config_duration_ms(config, S_WALL_SWEEP_INTERVAL) / 1e3;
        ev_timer_again(loop, &d->wall_sweep);
    }
    d->last_trim_ns = d->last_reader_check_ns = dd_monotonic_ns();
    update_gauges(d);
    if ((rc = dd_consumer_start(d->consumer)) != 0)
        goto fail;
    dd_info("scheduler ready (%s clock): consuming %s; log %s, queries %s, metrics %s",
            wall ? "wall" : "event", co.endpoint, dd_config_string(config, S_LOG_ENDPOINT),
            dd_config_string(config, S_QUERY_ENDPOINT), listen[0] ? listen : "(off)");
    *out = d;
    return 0;
fail:
    sched_daemon_destroy(&d);
    return rc ? rc : -EINVAL;
}

int sched_daemon_reload(sched_daemon *d, dd_config *config)
{
    for (size_t key = 0; key < SCHED_SETTING_COUNT; key++)
        if (!sched_settings[key].reloadable && !dd_config_same(d->config, config, key))
            dd_warn("SIGHUP: [%s] %s changed, but it takes effect only after a restart; the "
                    "running value is kept",
                    sched_settings[key].section, sched_settings[key].name);
    dd_diag_level level;
    if (dd_diag_level_parse(dd_config_string(config, S_LOG_LEVEL), &level) == 0)
        dd_diag_set_level(level);
    dd_log_set_retention(d->log, dd_config_duration_ms(config, S_LOG_RETENTION));
    d->trim_ns = dd_config_duration_ms(config, S_LOG_TRIM_INTERVAL) * 1000000;
    dd_config_destroy(&d->config);
    d->config = config;
    dd_info("configuration reloaded");
    return 0;
}

void sched_daemon_stop(sched_daemon *d)
{
    dd_consumer_stop(d->consumer);
    dd_log_release_parked(d->log);
    ev_break(d->loop, EVBREAK_ALL);
}

void sched_daemon_destroy(sched_daemon **dp)
{
    if (!dp || !*dp)
        return;
    sched_daemon *d = *dp;
    dd_metrics_http_stop(&d->http);
    if (d->loop) {
        ev_timer_stop(d->loop, &d->maintenance);
        ev_timer_stop(d->loop, &d->wall_sweep);
    }
    dd_consumer_destroy(&d->consumer);
    if (d->query_sock) {
        dd_evzmq_stop(d->loop, &d->query_w);
        zmq_close(d->query_sock);
    }
    dd_log_close(&d->log);
    if (d->zctx)
        zmq_ctx_term(d->zctx);
    sched_engine_destroy(&d->engine);
    sched_db_close(&d->db);
    dd_store_metrics_destroy(&d->store_metrics);
    dd_store_close(&d->store);
    dd_metrics_destroy(&d->metrics);
    dd_arena_destroy(&d->arena);
    dd_config_destroy(&d->config);
    free(d->consumer_names);
    free(d);
    *dp = NULL;
}
