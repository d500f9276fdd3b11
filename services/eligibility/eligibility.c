/*
 * eligibility.c: wiring doudi-eligibility together: store, registry, engine,
 * consumer, output log, queries, metrics, maintenance (see eligibility.h).
 */
#include "eligibility.h"

#include "alloc.h"
#include "clock.h"
#include "consumer.h"
#include "diag.h"
#include "engine.h"
#include "factcache.h"
#include "error.h"
#include "evzmq.h"
#include "log.h"
#include "metrics.h"
#include "registry.h"
#include "settings.h"
#include "standards.h"
#include "store.h"
#include "store_metrics.h"

#include "doudi/query.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define ELIG_METRICS(X)                                                                    \
    X(M_RECORDS, "doudi_eligibility_records_total", DD_METRIC_COUNTER,                     \
      "Intake records applied, by kind.", "kind", NULL, 0)                                 \
    X(M_CHANGED, "doudi_eligibility_records_changed_total", DD_METRIC_COUNTER,             \
      "Records that changed the registry.", NULL, NULL, 0)                                 \
    X(M_UNCHANGED, "doudi_eligibility_records_unchanged_total", DD_METRIC_COUNTER,         \
      "Records that changed nothing (no write).", NULL, NULL, 0)                           \
    X(M_UNCHANGED_CACHED, "doudi_eligibility_records_known_from_cache_total",              \
      DD_METRIC_COUNTER,                                                                   \
      "Comparison records found to change nothing from the fact cache alone (no read).",  \
      NULL, NULL, 0)                                                                       \
    X(M_FACT_CACHE_ENTRIES, "doudi_eligibility_fact_cache_entries", DD_METRIC_GAUGE,       \
      "Department findings held in the fact cache.", NULL, NULL, 0)                        \
    X(M_FACT_CACHE_BYTES, "doudi_eligibility_fact_cache_bytes", DD_METRIC_GAUGE,           \
      "Memory of the fact cache.", NULL, NULL, 0)                                          \
    X(M_FACT_CACHE_RESETS, "doudi_eligibility_fact_cache_resets_total", DD_METRIC_COUNTER, \
      "Times the fact cache reached fact_cache_size and started over.", NULL, NULL, 0)     \
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
    X(M_QUERIES, "doudi_eligibility_queries_total", DD_METRIC_COUNTER,                     \
      "Registry queries answered, by result.", "result", NULL, 0)

enum { ELIG_METRICS(DD_METRIC_ENUM) ELIG_METRIC_COUNT };

struct elig_daemon {
    struct ev_loop *loop;
    dd_config *config;
    void *zctx;
    dd_store *store;
    dd_store_metrics *store_metrics;
    dd_log *log;
    elig_registry *registry;
    elig_standards *standards;
    elig_engine *engine;
    dd_consumer *consumer;
    void *query_sock;
    dd_evzmq query_w;
    ev_timer maintenance;
    int64_t last_trim_ns, last_reader_check_ns;
    int64_t trim_ns, reader_check_ns;
    dd_arena *arena;
    bool batch_pending;
    uint64_t fact_cache_resets_seen;
    const char **consumer_names;
    size_t nconsumer_names;

    dd_metrics *metrics;
    dd_metrics_http *http;
    dd_metric *m[ELIG_METRIC_COUNT];
    dd_series *s[ELIG_METRIC_COUNT];
};

static const dd_metric_def elig_metric_defs[] = {ELIG_METRICS(DD_METRIC_DEF)};

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
            dd_series_inc(dd_metric_series(d->m[M_RECORDS],
                                           enum_label(&doudi__record_kind__descriptor, (int)k,
                                                      "RECORD_KIND_", label, sizeof(label))),
                          st->records[k]);
    dd_series_inc(d->s[M_CHANGED], st->records_changed);
    dd_series_inc(d->s[M_UNCHANGED], st->records_unchanged);
    dd_series_inc(d->s[M_UNCHANGED_CACHED], st->records_unchanged_cached);
    dd_series_inc(d->s[M_UNDECODABLE], st->records_undecodable);
    dd_series_inc(d->s[M_EVALUATIONS], st->evaluations);
    dd_series_observe(d->s[M_EVAL_SECONDS], (double)st->evaluation_ns / 1e9);
    dd_series_inc(d->s[M_CARE], st->care_changes);
    for (int p = 1; p < ELIG_PROGRAMS; p++)
        if (st->decisions_changed[p])
            dd_series_inc(dd_metric_series(d->m[M_DECISIONS],
                                           enum_label(&doudi__program__descriptor, p, "PROGRAM_",
                                                      label, sizeof(label))),
                          st->decisions_changed[p]);
    for (size_t k = 1; k < sizeof(st->alerts) / sizeof(st->alerts[0]); k++)
        if (st->alerts[k])
            dd_series_inc(dd_metric_series(d->m[M_ALERTS],
                                           enum_label(&doudi__alert_kind__descriptor, (int)k,
                                                      "ALERT_KIND_", label, sizeof(label))),
                          st->alerts[k]);
}

static void batch_aborted(void *arg)
{
    elig_daemon *d = arg;
    d->batch_pending = false;
    elig_engine_batch_aborted(d->engine);
}

/* ---- queries -------------------------------------------------------------- */

/* Appends the decisions held for a person, with their traces (engine.h). */
static void add_decisions(elig_daemon *d, MDB_txn *txn, const char *household_id,
                          const char *person_id, Doudi__Program only, Doudi__Decision ***list,
                          size_t *n)
{
    (void)household_id;
    Doudi__Decision **found;
    size_t nfound;
    if (elig_engine_explain(d->engine, txn, d->arena, person_id, only, &found, &nfound) != 0 ||
        nfound == 0)
        return;
    Doudi__Decision **grown = dd_arena_alloc(d->arena, (*n + nfound) * sizeof(void *));
    if (*n)
        memcpy(grown, *list, *n * sizeof(void *));
    memcpy(grown + *n, found, nfound * sizeof(void *));
    *n += nfound;
    *list = grown;
}

/* Fills r from txn; r points into txn's pages, so pack before it ends. */
static void answer_query(elig_daemon *d, MDB_txn *txn, const Doudi__QueryRequest *q,
                         Doudi__QueryReply *r)
{
    char *err = NULL;
    Doudi__StoredPerson **persons = NULL;
    size_t npersons = 0;
    Doudi__Decision **decisions = NULL;
    size_t ndecisions = 0;
    const char *household_id = NULL;
    if (q->query_case == DOUDI__QUERY_REQUEST__QUERY_PERSON_ID) {
        Doudi__StoredPerson *p;
        int rc = elig_registry_get_person(d->registry, txn, q->person_id, d->arena, &p);
        if (rc != 0) {
            /* The id in full (up to 64 bytes, then "..."): cutting it at 18
             * would name another person when a longer id was sent. */
            err = dd_arena_alloc(d->arena, 160);
            if (rc == DD_NOTFOUND)
                snprintf(err, 160, "person %.64s%s is not in the registry", q->person_id,
                         strlen(q->person_id) > 64 ? "..." : "");
            else
                snprintf(err, 160, "person %.64s%s cannot be read: %s", q->person_id,
                         strlen(q->person_id) > 64 ? "..." : "", dd_strerror(rc));
        } else {
            persons = dd_arena_alloc(d->arena, sizeof(void *));
            persons[npersons++] = p;
            household_id = p->report->household_id;
            add_decisions(d, txn, p->report->household_id, q->person_id, q->program, &decisions,
                          &ndecisions);
        }
    } else if (q->query_case == DOUDI__QUERY_REQUEST__QUERY_HOUSEHOLD_ID) {
        household_id = q->household_id;
        /* An empty id would skip the lookup below and answer with nothing. */
        if (!household_id[0])
            err = "a household_id is 1 to 64 bytes, not empty";
    } else {
        err = "a query names a person_id or a household_id";
    }
    if (!err && household_id && household_id[0]) {
        Doudi__StoredHousehold *h;
        if (elig_registry_get_household(d->registry, txn, household_id, d->arena, &h) == 0) {
            r->household = h;
            if (q->query_case == DOUDI__QUERY_REQUEST__QUERY_HOUSEHOLD_ID) {
                size_t nm = h->report->n_member_person_ids;
                persons = dd_arena_alloc(d->arena, (nm + 1) * sizeof(void *));
                for (size_t i = 0; i < nm; i++) {
                    Doudi__StoredPerson *p;
                    const char *id = h->report->member_person_ids[i];
                    if (elig_registry_get_person(d->registry, txn, id, d->arena, &p) == 0) {
                        persons[npersons++] = p;
                        add_decisions(d, txn, household_id, id, 0, &decisions, &ndecisions);
                    }
                }
            }
        } else if (q->query_case == DOUDI__QUERY_REQUEST__QUERY_HOUSEHOLD_ID) {
            err = dd_arena_alloc(d->arena, 160);
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

static void query_cb(struct ev_loop *loop, dd_evzmq *w, int revents)
{
    (void)loop;
    (void)revents;
    elig_daemon *d = w->data;
    for (int i = 0; i < 64; i++) {
        dd_zmsg msg;
        if (dd_zmsg_recv(d->query_sock, &msg) != 0)
            break;
        bool delimiter = msg.nframes == 3 && dd_zmsg_size(&msg, 1) == 0;
        if ((msg.nframes == 2 || delimiter) && dd_zmsg_size(&msg, 0) <= 256) {
            size_t last = msg.nframes - 1;
            ProtobufCAllocator a = dd_arena_protobuf_allocator(d->arena);
            Doudi__QueryRequest *q =
                doudi__query_request__unpack(&a, dd_zmsg_size(&msg, last), dd_zmsg_data(&msg, last));
            Doudi__QueryReply reply = DOUDI__QUERY_REPLY__INIT;
            MDB_txn *txn = NULL;
            if (q && mdb_txn_begin(dd_store_env(d->store), NULL, MDB_RDONLY, &txn) != 0) {
                txn = NULL;
                reply.request_id = q->request_id;
                reply.error_text = "the registry cannot be read right now";
            } else if (q) {
                reply.request_id = q->request_id;
                answer_query(d, txn, q, &reply);
            } else {
                reply.error_text = "the message is not an encoded doudi.QueryRequest (query.proto)";
            }
            dd_series_inc(dd_metric_series(d->m[M_QUERIES], reply.error_text[0] ? "error" : "ok"), 1);
            size_t len = doudi__query_reply__get_packed_size(&reply);
            uint8_t *buf = dd_arena_alloc(d->arena, len ? len : 1);
            doudi__query_reply__pack(&reply, buf);
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

/* ---- maintenance ----------------------------------------------------------- */

static void update_gauges(elig_daemon *d)
{
    uint64_t persons, households, decisions;
    if (elig_registry_counts(d->registry, &persons, &households, &decisions) == 0) {
        dd_series_set(d->s[M_PERSONS], (double)persons);
        dd_series_set(d->s[M_HOUSEHOLDS], (double)households);
        dd_series_set(d->s[M_DECISIONS_HELD], (double)decisions);
    }
    elig_factcache_stats fc;
    elig_engine_fact_cache_stats(d->engine, &fc);
    dd_series_set(d->s[M_FACT_CACHE_ENTRIES], (double)fc.entries);
    dd_series_set(d->s[M_FACT_CACHE_BYTES], (double)fc.bytes);
    if (fc.resets > d->fact_cache_resets_seen) {
        dd_series_inc(d->s[M_FACT_CACHE_RESETS], fc.resets - d->fact_cache_resets_seen);
        d->fact_cache_resets_seen = fc.resets;
    }
    dd_store_metrics_update(d->store_metrics);
    dd_log_update_metrics(d->log);
}

static void maintenance_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    elig_daemon *d = t->data;
    int64_t now_ns = dd_monotonic_ns();
    if (now_ns - d->last_trim_ns >= d->trim_ns - d->trim_ns / 10) {
        d->last_trim_ns = now_ns;
        /* Output records carry event time: trim on the same clock. */
        MDB_txn *txn;
        int64_t now_ms = 0;
        if (mdb_txn_begin(dd_store_env(d->store), NULL, MDB_RDONLY, &txn) == 0) {
            now_ms = elig_registry_clock(d->registry, txn);
            mdb_txn_abort(txn);
        }
        uint64_t trimmed = 0;
        int rc = dd_log_trim(d->log, now_ms, &trimmed);
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

/* ---- set-up ----------------------------------------------------------------- */

static int load_standards(dd_config *config, elig_standards **out)
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
    o->discovery_handle_ms = dd_config_duration_ms(c, E_DISCOVERY_HANDLE);
    o->review_handle_ms = dd_config_duration_ms(c, E_REVIEW_HANDLE);
    o->risk_handle_ms = dd_config_duration_ms(c, E_RISK_HANDLE);
    o->urgent_handle_ms = dd_config_duration_ms(c, E_URGENT_HANDLE);
    o->missing_info_handle_ms = dd_config_duration_ms(c, E_MISSING_INFO_HANDLE);
    o->quick_aid_handle_ms = dd_config_duration_ms(c, E_QUICK_AID_HANDLE);
    o->dangling_handle_ms = dd_config_duration_ms(c, E_DANGLING_HANDLE);
}


int elig_daemon_new(struct ev_loop *loop, dd_config *config, elig_daemon **out)
{
    elig_daemon *d = dd_calloc(1, sizeof(*d));
    d->loop = loop;
    d->config = config;
    d->arena = dd_arena_new(1 << 20);
    d->metrics = dd_metrics_new();
    int rc = dd_metrics_register(d->metrics, elig_metric_defs, ELIG_METRIC_COUNT, d->m);
    if (rc)
        goto fail;
    for (int i = 0; i < ELIG_METRIC_COUNT; i++)
        if (!elig_metric_defs[i].label)
            d->s[i] = dd_metric_series(d->m[i], NULL);
    dd_diag_level level;
    if (dd_diag_level_parse(dd_config_string(config, E_LOG_LEVEL), &level) == 0)
        dd_diag_set_level(level);
    if ((rc = load_standards(config, &d->standards)) != 0)
        goto fail;

    dd_store_options so = {
        .map_bytes = dd_config_size(config, E_MAP_SIZE),
        .max_map_bytes = dd_config_size(config, E_MAX_MAP_SIZE),
    };
    if ((rc = dd_store_open(dd_config_string(config, E_DATA_DIR), &so, &d->store)) != 0)
        goto fail;
    d->store_metrics = dd_store_metrics_new(d->store, d->metrics);
    d->consumer_names = dd_config_split_list(dd_config_string(config, E_LOG_CONSUMERS), &d->nconsumer_names);
    dd_log_options lo = {
        .max_records = (uint32_t)dd_config_int(config, E_LOG_FETCH_MAX_RECORDS),
        .max_bytes = (uint32_t)dd_config_size(config, E_LOG_FETCH_MAX_BYTES),
        .max_wait_ms = (uint32_t)dd_config_duration_ms(config, E_LOG_FETCH_MAX_WAIT),
        .retention_ms = dd_config_duration_ms(config, E_LOG_RETENTION),
        .required_consumers = d->consumer_names,
        .nrequired = d->nconsumer_names,
    };
    if ((rc = dd_log_open(d->store, &lo, d->metrics, &d->log)) != 0)
        goto fail;
    if ((rc = elig_registry_open(d->store, &d->registry)) != 0)
        goto fail;
    elig_engine_options eo;
    read_options(config, &eo);
    d->engine = elig_engine_new(d->registry, d->log, d->standards, &eo);
    dd_store_participant part = {batch_committed, batch_aborted, d};
    dd_store_add_participant(d->store, &part);

    d->zctx = zmq_ctx_new();
    if ((rc = dd_log_serve(d->log, loop, d->zctx, dd_config_string(config, E_LOG_ENDPOINT))) != 0)
        goto fail;
    d->query_sock = dd_zsock_new(d->zctx, ZMQ_ROUTER, 1 << 20, 0);
    if (!d->query_sock || (rc = dd_zsock_bind(d->query_sock, dd_config_string(config, E_QUERY_ENDPOINT))) != 0) {
        rc = rc ? rc : -EINVAL;
        goto fail;
    }
    dd_evzmq_init(&d->query_w, d->query_sock, EV_READ, query_cb, d);
    dd_evzmq_start(loop, &d->query_w);

    dd_consumer_options co = {
        .name = dd_config_string(config, E_CONSUMER_NAME),
        .upstream = "intake",
        .endpoint = dd_config_string(config, E_UPSTREAM_ENDPOINT),
        .max_records = (uint32_t)dd_config_int(config, E_FETCH_RECORDS),
        .wait_ms = (uint32_t)dd_config_duration_ms(config, E_FETCH_WAIT),
    };
    if ((rc = dd_consumer_new(d->store, loop, d->zctx, &co, apply, d, d->metrics, &d->consumer)) != 0)
        goto fail;

    const char *listen = dd_config_string(config, E_METRICS_LISTEN);
    if (listen[0] && (rc = dd_metrics_http_start(d->metrics, listen, &d->http)) != 0) {
        dd_error("cannot serve metrics on %s: %s", listen, dd_strerror(rc));
        goto fail;
    }
    d->trim_ns = dd_config_duration_ms(config, E_LOG_TRIM_INTERVAL) * 1000000;
    d->reader_check_ns = dd_config_duration_ms(config, E_READER_CHECK_INTERVAL) * 1000000;
    ev_init(&d->maintenance, maintenance_cb);
    d->maintenance.repeat = (double)d->trim_ns / 1e9 < 1.0 ? (double)d->trim_ns / 1e9 : 1.0;
    d->maintenance.data = d;
    ev_timer_again(loop, &d->maintenance);
    d->last_trim_ns = d->last_reader_check_ns = dd_monotonic_ns();
    update_gauges(d);
    if ((rc = dd_consumer_start(d->consumer)) != 0)
        goto fail;
    dd_info("eligibility ready: %zu standards rows; consuming %s; log %s, queries %s, metrics %s",
            elig_standards_rows(d->standards), co.endpoint, dd_config_string(config, E_LOG_ENDPOINT),
            dd_config_string(config, E_QUERY_ENDPOINT), listen[0] ? listen : "(off)");
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
    for (size_t key = 0; key < ELIG_SETTING_COUNT; key++)
        if (!elig_settings[key].reloadable && !dd_config_same(d->config, config, key))
            dd_warn("SIGHUP: [%s] %s changed, but it takes effect only after a restart; the "
                    "running value is kept",
                    elig_settings[key].section, elig_settings[key].name);
    dd_diag_level level;
    if (dd_diag_level_parse(dd_config_string(config, E_LOG_LEVEL), &level) == 0)
        dd_diag_set_level(level);
    elig_engine_set_standards(d->engine, standards);
    elig_standards_destroy(&d->standards);
    d->standards = standards;
    dd_log_set_retention(d->log, dd_config_duration_ms(config, E_LOG_RETENTION));
    d->trim_ns = dd_config_duration_ms(config, E_LOG_TRIM_INTERVAL) * 1000000;
    dd_config_destroy(&d->config);
    d->config = config;
    dd_info("configuration reloaded (%zu standards rows)", elig_standards_rows(standards));
    return 0;
}

void elig_daemon_stop(elig_daemon *d)
{
    dd_consumer_stop(d->consumer);
    dd_log_release_parked(d->log);
    ev_break(d->loop, EVBREAK_ALL);
}

void elig_daemon_destroy(elig_daemon **dp)
{
    if (!dp || !*dp)
        return;
    elig_daemon *d = *dp;
    dd_metrics_http_stop(&d->http);
    if (d->loop)
        ev_timer_stop(d->loop, &d->maintenance);
    dd_consumer_destroy(&d->consumer);
    if (d->query_sock) {
        dd_evzmq_stop(d->loop, &d->query_w);
        zmq_close(d->query_sock);
    }
    dd_log_close(&d->log);
    if (d->zctx)
        zmq_ctx_term(d->zctx);
    elig_engine_destroy(&d->engine);
    elig_registry_close(&d->registry);
    dd_store_metrics_destroy(&d->store_metrics);
    dd_store_close(&d->store);
    elig_standards_destroy(&d->standards);
    dd_metrics_destroy(&d->metrics);
    dd_arena_destroy(&d->arena);
    dd_config_destroy(&d->config);
    free(d->consumer_names);
    free(d);
    *dp = NULL;
}
