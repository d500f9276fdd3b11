/*
 * alerts.c: what doudi-alerts adds to the common stage (common/stage.h):
 * book, stream, engine, live XPUB, request ROUTER, their metrics, the
 * replay index trim and the wall-clock sweep (see alerts.h).
 */
#include "alerts.h"

#include "alloc.h"
#include "alerts_book.h"
#include "clock.h"
#include "diag.h"
#include "alerts_engine.h"
#include "error.h"
#include "evzmq.h"
#include "idnum.h"
#include "alerts_ladder.h"
#include "alerts_live.h"
#include "alerts_service.h"
#include "alerts_settings.h"
#include "store.h"
#include "stage.h"
#include "zauth.h"
#include "alerts_stream.h"

#include "doudi/event.pb-c.h"
#include "doudi/scheduler.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define ALERTS_METRICS(X)                                                                   \
    X(M_RECORDS, "doudi_alerts_upstream_records_total", DD_METRIC_COUNTER,                  \
      "Upstream records applied (alerts, acknowledgements, plan changes).", NULL, NULL, 0)  \
    X(M_RAISED, "doudi_alerts_raised_total", DD_METRIC_COUNTER,                             \
      "Alerts raised and delivered, by kind.", "kind", NULL, 0)                             \
    X(M_MERGED, "doudi_alerts_merged_total", DD_METRIC_COUNTER,                             \
      "Repeats merged into an unresolved alert with the same key (not delivered).", NULL,   \
      NULL, 0)                                                                              \
    X(M_ESCALATIONS, "doudi_alerts_escalations_total", DD_METRIC_COUNTER,                   \
      "Alerts that climbed a level, by the level reached.", "level", NULL, 0)               \
    X(M_HANDLED, "doudi_alerts_handled_total", DD_METRIC_COUNTER,                           \
      "Acknowledgements applied, by action.", "action", NULL, 0)                            \
    X(M_INHIBITED, "doudi_alerts_inhibited_total", DD_METRIC_COUNTER,                       \
      "Visit-overdue alerts closed or held back because the person died or moved out.",     \
      NULL, NULL, 0)                                                                        \
    X(M_SILENCED, "doudi_alerts_silenced_total", DD_METRIC_COUNTER,                         \
      "Alerts raised inside a silence: stored, not delivered.", NULL, NULL, 0)              \
    X(M_REJECTED, "doudi_alerts_rejected_total", DD_METRIC_COUNTER,                         \
      "Upstream records and acknowledgements not applied, by reason.", "reason", NULL, 0)   \
    X(M_STREAM, "doudi_alerts_stream_records_total", DD_METRIC_COUNTER,                     \
      "Records appended to the alert stream.", NULL, NULL, 0)                               \
    X(M_DELIVERIES, "doudi_alerts_deliveries_total", DD_METRIC_COUNTER,                     \
      "Live messages handed to the PUB socket (none while nobody subscribes; it drops "    \
      "for subscribers at their high-water mark; they replay).", NULL, NULL, 0)             \
    X(M_SUBSCRIPTIONS, "doudi_alerts_subscriptions", DD_METRIC_GAUGE,                       \
      "Live subscriptions held, by the level of their prefix.", "level", NULL, 0)           \
    X(M_REQUESTS, "doudi_alerts_requests_total", DD_METRIC_COUNTER,                         \
      "Requests answered, by type (replay requests included).", "type", NULL, 0)            \
    X(M_REFUSED, "doudi_alerts_requests_refused_total", DD_METRIC_COUNTER,                  \
      "Requests refused, by type.", "type", NULL, 0)                                        \
    X(M_UNSENT, "doudi_alerts_replies_unsent_total", DD_METRIC_COUNTER,                     \
      "Replies the request socket could not send (peer gone or at its high-water mark).",   \
      NULL, NULL, 0)                                                                        \
    X(M_REPLAY_ENTRIES, "doudi_alerts_replay_entries_total", DD_METRIC_COUNTER,             \
      "Stream entries sent in replies to replay requests.", NULL, NULL, 0)                  \
    X(M_HELD, "doudi_alerts_held", DD_METRIC_GAUGE, "Alerts held, by state.", "state",      \
      NULL, 0)                                                                              \
    X(M_ACTIVE_KIND, "doudi_alerts_active_by_kind", DD_METRIC_GAUGE,                        \
      "Open or escalated alerts, by kind.", "kind", NULL, 0)                                \
    X(M_ACTIVE_SEVERITY, "doudi_alerts_active_by_severity", DD_METRIC_GAUGE,                \
      "Open or escalated alerts, by severity.", "severity", NULL, 0)                        \
    X(M_ACTIVE_LEVEL, "doudi_alerts_active_by_level", DD_METRIC_GAUGE,                      \
      "Open or escalated alerts, by the level now responsible.", "level", NULL, 0)          \
    X(M_TIMELINESS, "doudi_alerts_timeliness_ratio", DD_METRIC_GAUGE,                       \
      "Handling timeliness this month (event clock) per city: handled in time / due.",      \
      "city", NULL, 0)                                                                      \
    X(M_CLOCK, "doudi_alerts_clock_seconds", DD_METRIC_GAUGE,                               \
      "The event clock deadlines run on (Unix seconds).", NULL, NULL, 0)                    \
    X(M_SWEEP_ERRORS, "doudi_alerts_sweep_errors_total", DD_METRIC_COUNTER,                 \
      "Wall-clock deadline sweeps that failed (logged; retried at the next tick).", NULL,   \
      NULL, 0)                                                                              \
    X(M_CHECKPOINT, "doudi_alerts_replay_checkpoint_sequence", DD_METRIC_GAUGE,             \
      "The stream sequence the replay index's stored open blocks are complete through "     \
      "(a restart reads the stream records after it again).", NULL, NULL, 0)                \
    X(M_CHECKPOINT_ERRORS, "doudi_alerts_replay_checkpoint_errors_total",                   \
      DD_METRIC_COUNTER,                                                                    \
      "Checkpoints of the replay index that failed before a trim or at a stop (logged; "    \
      "the trim waits for the next one).", NULL, NULL, 0)

enum { ALERTS_METRICS(DD_METRIC_ENUM) ALERTS_METRIC_COUNT };
static const dd_metric_def alerts_metric_defs[] = {ALERTS_METRICS(DD_METRIC_DEF)};

struct alerts_daemon {
    struct ev_loop *loop;
    dd_stage *stage;
    alerts_book *book;
    alerts_stream *stream;
    alerts_engine *engine;
    alerts_live *live;
    alerts_service service;
    void *request_sock;
    dd_evzmq request_w;
    ev_timer sweep;
    bool wall_clock;

    dd_metric *m[ALERTS_METRIC_COUNT];
    dd_series *s[ALERTS_METRIC_COUNT];
};

/* ---- metrics after each commit ----------------------------------------------- */

static void update_counts(alerts_daemon *d)
{
    const alerts_counts *c = alerts_engine_counts(d->engine);
    char label[64];
    for (int st = 1; st < 8; st++)
        if (protobuf_c_enum_descriptor_get_value(&doudi__alert_state__descriptor, st))
            dd_series_set(dd_metric_series(d->m[M_HELD], dd_stage_enum_label(
                                                             &doudi__alert_state__descriptor, st,
                                                             "ALERT_STATE_", label, sizeof(label))),
                          (double)c->by_state[st]);
    for (int k = 1; k < ALERTS_KINDS; k++)
        if (protobuf_c_enum_descriptor_get_value(&doudi__alert_kind__descriptor, k))
            dd_series_set(
                dd_metric_series(d->m[M_ACTIVE_KIND],
                                 dd_stage_enum_label(&doudi__alert_kind__descriptor, k,
                                                     "ALERT_KIND_", label, sizeof(label))),
                (double)c->active_by_kind[k]);
    for (int sv = 1; sv < 4; sv++)
        dd_series_set(
            dd_metric_series(d->m[M_ACTIVE_SEVERITY],
                             dd_stage_enum_label(&doudi__alert_severity__descriptor, sv,
                                                 "ALERT_SEVERITY_", label, sizeof(label))),
            (double)c->active_by_severity[sv]);
    for (int l = 1; l <= ALERTS_LEVELS; l++)
        dd_series_set(dd_metric_series(d->m[M_ACTIVE_LEVEL], alerts_level_name(l)),
                      (double)c->active_by_level[l]);
    dd_series_set(d->s[M_CLOCK], (double)alerts_engine_clock(d->engine) / 1000.0);
    dd_series_set(d->s[M_CHECKPOINT], (double)alerts_stream_checkpointed(d->stream));
}

static void committed(void *arg)
{
    alerts_daemon *d = arg;
    alerts_batch_stats st;
    if (!alerts_engine_take_stats(d->engine, &st))
        return;
    char label[64];
    dd_series_inc(d->s[M_RECORDS], st.records);
    for (int k = 1; k < ALERTS_KINDS; k++)
        if (st.raised[k])
            dd_series_inc(
                dd_metric_series(d->m[M_RAISED],
                                 dd_stage_enum_label(&doudi__alert_kind__descriptor, k,
                                                     "ALERT_KIND_", label, sizeof(label))),
                st.raised[k]);
    dd_series_inc(d->s[M_MERGED], st.merged);
    for (int l = 2; l <= ALERTS_LEVELS; l++)
        if (st.escalations[l])
            dd_series_inc(dd_metric_series(d->m[M_ESCALATIONS], alerts_level_name(l)),
                          st.escalations[l]);
    if (st.acknowledged)
        dd_series_inc(dd_metric_series(d->m[M_HANDLED], "acknowledged"), st.acknowledged);
    if (st.resolved)
        dd_series_inc(dd_metric_series(d->m[M_HANDLED], "resolved"), st.resolved);
    dd_series_inc(d->s[M_INHIBITED], st.inhibited);
    dd_series_inc(d->s[M_SILENCED], st.silenced);
    for (int r = 0; r < ALERTS_REJECT_COUNT; r++)
        if (st.rejected[r])
            dd_series_inc(dd_metric_series(d->m[M_REJECTED], alerts_reject_name(r)),
                          st.rejected[r]);
    dd_series_inc(d->s[M_STREAM], st.stream_records);
    update_counts(d);
}

static void aborted(void *arg)
{
    (void)arg;
}

/* ---- requests ---------------------------------------------------------------- */

static void request_cb(struct ev_loop *loop, dd_evzmq *w, int revents)
{
    (void)loop;
    (void)revents;
    alerts_daemon *d = w->data;
    for (int i = 0; i < 64; i++) {
        dd_zmsg msg;
        if (dd_zmsg_recv(d->request_sock, &msg) != 0)
            break;
        bool delimiter = msg.nframes == 3 && dd_zmsg_size(&msg, 1) == 0;
        alerts_buf reply = {0};
        alerts_req_type type = ALERTS_REQ_BAD;
        int refused = 1;
        dd_zauth *auth = dd_stage_auth(d->stage);
        const dd_zauth_client *client =
            auth ? dd_zauth_admit(auth, &msg.frames[msg.nheld - 1], DD_ZAUTH_READ) : NULL;
        if (auth && !client) {
            /* A key a reload removed or demoted: silence, counted by auth. */
            dd_zmsg_close(&msg);
            continue;
        }
        d->service.caller_operates = !auth || dd_zauth_client_may(client, DD_ZAUTH_OPERATE);
        if ((msg.nframes == 2 || delimiter) && dd_zmsg_size(&msg, msg.nframes - 1) <= 65536) {
            size_t last = msg.nframes - 1;
            uint64_t served = d->service.replay_entries_served;
            alerts_service_handle(&d->service, dd_zmsg_data(&msg, last), dd_zmsg_size(&msg, last),
                                  &reply, &type, &refused);
            dd_series_inc(d->s[M_REPLAY_ENTRIES], d->service.replay_entries_served - served);
        } else if (msg.nframes >= 2 && msg.nframes <= DD_ZMSG_MAX_FRAMES) {
            Doudi__AlertsReply r = DOUDI__ALERTS_REPLY__INIT;
            r.error_text = "a request is one frame (an encoded doudi.AlertsRequest) of at most "
                           "64 KiB";
            size_t len = doudi__alerts_reply__get_packed_size(&r);
            uint8_t *buf = dd_malloc(len);
            doudi__alerts_reply__pack(&r, buf);
            alerts_buf_put(&reply, buf, len);
            free(buf);
        }
        dd_series_inc(dd_metric_series(d->m[M_REQUESTS], alerts_req_name(type)), 1);
        if (refused)
            dd_series_inc(dd_metric_series(d->m[M_REFUSED], alerts_req_name(type)), 1);
        if (reply.len || msg.nframes >= 2) {
            const void *data[3] = {dd_zmsg_data(&msg, 0), "", reply.data ? reply.data : (void *)""};
            size_t sizes[3] = {dd_zmsg_size(&msg, 0), 0, reply.len};
            if (!delimiter) {
                data[1] = data[2];
                sizes[1] = sizes[2];
            }
            if (dd_zsend_frames(d->request_sock, data, sizes, delimiter ? 3 : 2) != 0)
                dd_series_inc(d->s[M_UNSENT], 1);
        }
        alerts_buf_free(&reply);
        dd_zmsg_close(&msg);
        dd_arena_reset(d->service.arena);
    }
}

/* ---- maintenance ----------------------------------------------------------------- */

static void timeliness_of(void *arg, const char *prefix, uint64_t due, uint64_t in_time)
{
    alerts_daemon *d = arg;
    if (due)
        dd_series_set(dd_metric_series(d->m[M_TIMELINESS], prefix), (double)in_time / (double)due);
}

static void update_gauges(void *arg)
{
    alerts_daemon *d = arg;
    int64_t clock_ms = alerts_engine_clock(d->engine);
    if (clock_ms > 0) {
        MDB_txn *txn;
        if (mdb_txn_begin(dd_store_env(dd_stage_store(d->stage)), NULL, MDB_RDONLY, &txn) == 0) {
            alerts_book_rate_each(d->book, txn, 4, dd_date_yyyymmdd_shanghai(clock_ms) / 100,
                                  timeliness_of, d);
            mdb_txn_abort(txn);
        }
    }
}

static int64_t event_clock_ms(void *arg)
{
    alerts_daemon *d = arg;
    return alerts_engine_clock(d->engine);
}

static int checkpoint_fn(MDB_txn *txn, void *arg)
{
    alerts_daemon *d = arg;
    return alerts_stream_checkpoint(d->stream, txn);
}

/*
 * Writes a checkpoint of the replay index unless the last one is at the
 * stream's head. The stage's hook before each trim (the open blocks are
 * rebuilt from the records after their checkpoint, so a trim must never
 * take those) and the stop's last write.
 */
static int checkpoint_stream(void *arg)
{
    alerts_daemon *d = arg;
    if (alerts_stream_checkpointed(d->stream) == dd_log_head(dd_stage_log(d->stage)))
        return 0;
    int rc = dd_store_write(dd_stage_store(d->stage), checkpoint_fn, d);
    if (rc) {
        dd_series_inc(d->s[M_CHECKPOINT_ERRORS], 1);
        dd_warn("replay index checkpoint failed: %s", dd_strerror(rc));
    }
    return rc;
}

/* The stream's replay index follows the stream it indexes. */
static void after_trim(void *arg)
{
    alerts_daemon *d = arg;
    size_t deleted = 0;
    int rc = alerts_stream_trim_index(d->stream, 50000, &deleted);
    if (rc)
        dd_warn("replay index trim failed: %s", dd_strerror(rc));
}

typedef struct sweep_ctx {
    alerts_daemon *d;
    int64_t now_ms;
} sweep_ctx;

static int sweep_fn(MDB_txn *txn, void *arg)
{
    sweep_ctx *c = arg;
    return alerts_engine_sweep(c->d->engine, txn, c->now_ms);
}

/* Production: deadlines also pass while nothing arrives. */
static void sweep_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    alerts_daemon *d = t->data;
    sweep_ctx c = {d, dd_wall_ms()};
    if (c.now_ms <= alerts_engine_clock(d->engine))
        return;
    int rc = dd_store_write(dd_stage_store(d->stage), sweep_fn, &c);
    if (rc) {
        dd_series_inc(d->s[M_SWEEP_ERRORS], 1);
        dd_warn("deadline sweep failed: %s", dd_strerror(rc));
    }
}

static uint64_t stream_head(void *arg)
{
    return dd_log_head(arg);
}

/* ---- set-up ------------------------------------------------------------------------- */

static int load_engine(alerts_daemon *d)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(dd_store_env(dd_stage_store(d->stage)), NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    rc = alerts_engine_load(d->engine, txn);
    mdb_txn_abort(txn);
    return rc;
}

static int apply(void *arg, MDB_txn *txn, Doudi__LogRecord *const *records, size_t n)
{
    alerts_daemon *d = arg;
    return alerts_engine_apply(d->engine, txn, records, n);
}

static void close_sockets(void *arg)
{
    alerts_daemon *d = arg;
    if (d->request_sock) {
        dd_evzmq_stop(d->loop, &d->request_w);
        zmq_close(d->request_sock);
    }
    alerts_live_destroy(&d->live);
}

static void close_state(void *arg)
{
    alerts_daemon *d = arg;
    alerts_engine_destroy(&d->engine);
    alerts_stream_close(&d->stream);
    alerts_book_close(&d->book);
}

static const uint32_t upstream_kinds[] = {
    DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_ALERT,
    DOUDI__RECORD_KIND__RECORD_KIND_ALERT_ACKNOWLEDGEMENT,
    DOUDI__SCHEDULER_RECORD_KIND__SCHEDULER_RECORD_KIND_PLAN_CHANGE,
};

static const dd_stage_spec alerts_stage = {
    .settings = alerts_settings,
    .nsettings = ALERTS_SETTING_COUNT,
    .keys =
        {
            .data_dir = A_DATA_DIR,
            .map_size = A_MAP_SIZE,
            .max_map_size = A_MAX_MAP_SIZE,
            .reader_check_interval = A_READER_CHECK_INTERVAL,
            .log_level = A_LOG_LEVEL,
            .metrics_listen = A_METRICS_LISTEN,
            .log_endpoint = A_LOG_ENDPOINT,
            .log_retention = A_LOG_RETENTION,
            .log_consumers = A_LOG_CONSUMERS,
            .log_trim_interval = A_LOG_TRIM_INTERVAL,
            .log_fetch_max_records = A_LOG_FETCH_MAX_RECORDS,
            .log_fetch_max_bytes = DD_STAGE_NO_KEY,
            .log_fetch_max_wait = DD_STAGE_NO_KEY,
            .consumer_name = A_CONSUMER_NAME,
            .upstream_endpoint = A_UPSTREAM_ENDPOINT,
            .fetch_records = A_FETCH_RECORDS,
            .fetch_wait = A_FETCH_WAIT,
            .upstream_name = A_UPSTREAM_NAME,
            .query_endpoint = DD_STAGE_NO_KEY,
            .auth_key_file = A_AUTH_KEY_FILE,
            .auth_clients_file = A_AUTH_CLIENTS_FILE,
            .auth_upstream_key_file = A_AUTH_UPSTREAM_KEY_FILE,
        },
    .kinds = upstream_kinds,
    .nkinds = sizeof(upstream_kinds) / sizeof(upstream_kinds[0]),
    .max_dbs = 24,
    .random_reads = true, /* the book and the replay index: store.h */
    .log_endpoint_optional = true,
    .log_noun = "stream",
    .apply = apply,
    .event_clock_ms = event_clock_ms,
    .before_trim = checkpoint_stream,
    .after_trim = after_trim,
    .update_gauges = update_gauges,
    .close_sockets = close_sockets,
    .close_state = close_state,
};

int alerts_daemon_new(struct ev_loop *loop, dd_config *config, alerts_daemon **out)
{
    alerts_daemon *d = dd_calloc(1, sizeof(*d));
    d->loop = loop;
    d->stage = dd_stage_new(loop, config, &alerts_stage, d);
    int rc = dd_stage_register_metrics(d->stage, alerts_metric_defs, ALERTS_METRIC_COUNT, d->m,
                                       d->s);
    if (rc)
        goto fail;
    d->wall_clock = dd_config_enum(config, A_CLOCK_SOURCE) == 1;
    if ((rc = dd_stage_open_store(d->stage)) != 0)
        goto fail;
    dd_store *store = dd_stage_store(d->stage);
    dd_log *log = dd_stage_log(d->stage);
    /* The book first: it refuses a directory of an earlier layout before
     * anything is created in it. */
    if ((rc = alerts_book_open(store, &d->book)) != 0 ||
        (rc = alerts_stream_open(store, log, &d->stream)) != 0)
        goto fail;
    alerts_engine_options eo;
    alerts_settings_engine_options(config, &eo);
    d->engine = alerts_engine_new(store, d->book, d->stream, &eo);
    dd_store_participant part = {committed, aborted, d};
    dd_store_add_participant(store, &part);
    if ((rc = load_engine(d)) != 0)
        goto fail;
    update_counts(d);

    void *zctx = dd_stage_zctx(d->stage);
    alerts_live_options lvo = {
        .endpoint = dd_config_string(config, A_LIVE_ENDPOINT),
        .send_hwm = (int)dd_config_int(config, A_LIVE_HWM),
        .heartbeat_s = (double)dd_config_duration_ms(config, A_HEARTBEAT) / 1000.0,
        .head = stream_head,
        .head_arg = log,
        .auth = dd_stage_auth(d->stage),
    };
    if ((rc = alerts_live_new(loop, zctx, &lvo, d->s[M_DELIVERIES], d->m[M_SUBSCRIPTIONS],
                              &d->live)) != 0)
        goto fail;
    alerts_stream_set_publisher(d->stream, alerts_live_publish, alerts_live_listening, d->live);

    d->service = (alerts_service){
        .store = store,
        .book = d->book,
        .stream = d->stream,
        .engine = d->engine,
        .arena = dd_arena_new(1 << 20),
        .replay_max_entries = (uint32_t)dd_config_int(config, A_REPLAY_MAX),
        .replay_max_bytes = 8u << 20,
    };
    d->request_sock = dd_zsock_new(zctx, ZMQ_ROUTER, 1 << 20, 0);
    dd_zauth *auth = dd_stage_auth(d->stage);
    if (!d->request_sock ||
        (auth && (rc = dd_zauth_secure_server(auth, d->request_sock, DD_ZAUTH_READ)) != 0) ||
        (rc = dd_zsock_bind(d->request_sock, dd_config_string(config, A_REQUEST_ENDPOINT))) != 0) {
        rc = rc ? rc : -EINVAL;
        goto fail;
    }
    dd_evzmq_init(&d->request_w, d->request_sock, EV_READ, request_cb, d);
    dd_evzmq_start(loop, &d->request_w);

    if ((rc = dd_stage_start(d->stage)) != 0)
        goto fail;
    if (d->wall_clock) {
        double every = (double)dd_config_duration_ms(config, A_SWEEP_INTERVAL) / 1000.0;
        ev_timer_init(&d->sweep, sweep_cb, every, every);
        d->sweep.data = d;
        ev_timer_start(loop, &d->sweep);
    }
    const char *log_ep = dd_config_string(config, A_LOG_ENDPOINT);
    const char *listen = dd_config_string(config, A_METRICS_LISTEN);
    dd_info("alerts ready: consuming %s (%s) from sequence %llu; live %s, requests %s, log %s, "
            "metrics %s; clock %s",
            dd_config_string(config, A_UPSTREAM_ENDPOINT),
            dd_config_string(config, A_UPSTREAM_NAME),
            (unsigned long long)dd_consumer_cursor(dd_stage_consumer(d->stage)), lvo.endpoint,
            dd_config_string(config, A_REQUEST_ENDPOINT), log_ep[0] ? log_ep : "(off)",
            listen[0] ? listen : "(off)", d->wall_clock ? "wall" : "event");
    *out = d;
    return 0;
fail:
    alerts_daemon_destroy(&d);
    return rc ? rc : -EINVAL;
}

int alerts_daemon_reload(alerts_daemon *d, dd_config *config)
{
    dd_stage_reload(d->stage, config);
    dd_info("configuration reloaded");
    return 0;
}

void alerts_daemon_stop(alerts_daemon *d)
{
    /* A checkpoint, so that the next start reads nothing again. */
    if (d->stream && checkpoint_stream(d) == 0)
        dd_info("replay index checkpoint at %llu",
                (unsigned long long)alerts_stream_checkpointed(d->stream));
    dd_stage_stop(d->stage);
}

void alerts_daemon_destroy(alerts_daemon **dp)
{
    if (!dp || !*dp)
        return;
    alerts_daemon *d = *dp;
    if (d->loop)
        ev_timer_stop(d->loop, &d->sweep);
    dd_stage_destroy(&d->stage);
    dd_arena_destroy(&d->service.arena);
    free(d);
    *dp = NULL;
}
