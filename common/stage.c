/*
 * stage.c: the shared skeleton of the consuming daemons: store, log,
 * consumer, queries, metrics, maintenance, reload and tear-down (see
 * stage.h).
 */
#include "stage.h"

#include "clock.h"
#include "diag.h"
#include "error.h"
#include "evzmq.h"
#include "store_metrics.h"
#include "zauth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct dd_stage {
    const dd_stage_spec *spec;
    void *arg;
    struct ev_loop *loop;
    dd_config *config;
    dd_metrics *metrics;
    dd_metrics_http *http;
    dd_store *store;
    dd_store_metrics *store_metrics;
    dd_log *log;
    const char **consumer_names;
    size_t nconsumer_names;
    void *zctx;
    dd_zauth *auth;
    dd_consumer *consumer;
    void *query_sock;
    dd_evzmq query_w;
    dd_arena *query_arena;
    dd_metric *queries;
    dd_metric *unsent; /* query replies that could not be sent, by reason */
    ev_timer maintenance;
    int64_t last_trim_ns, last_reader_check_ns;
    int64_t trim_ns, reader_check_ns;
};

static void apply_log_level(const dd_stage *st, const dd_config *config)
{
    dd_diag_level level;
    if (dd_diag_level_parse(dd_config_string(config, st->spec->keys.log_level), &level) == 0)
        dd_diag_set_level(level);
}

dd_stage *dd_stage_new(struct ev_loop *loop, dd_config *config, const dd_stage_spec *spec,
                       void *arg)
{
    dd_stage *st = dd_calloc(1, sizeof(*st));
    st->spec = spec;
    st->arg = arg;
    st->loop = loop;
    st->config = config;
    st->metrics = dd_metrics_new();
    apply_log_level(st, config);
    return st;
}

int dd_stage_register_metrics(dd_stage *st, const dd_metric_def *defs, size_t n,
                              dd_metric **families, dd_series **series)
{
    int rc = dd_metrics_register(st->metrics, defs, n, families);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        series[i] = defs[i].label ? NULL : dd_metric_series(families[i], NULL);
    return 0;
}

int dd_stage_open_store(dd_stage *st)
{
    const dd_stage_keys *k = &st->spec->keys;
    const dd_config *c = st->config;
    dd_store_options so = {
        .map_bytes = dd_config_size(c, k->map_size),
        .max_map_bytes = dd_config_size(c, k->max_map_size),
        .max_dbs = st->spec->max_dbs,
        .random_reads = st->spec->random_reads,
    };
    int rc = dd_store_open(dd_config_string(c, k->data_dir), &so, &st->store);
    if (rc)
        return rc;
    st->store_metrics = dd_store_metrics_new(st->store, st->metrics);
    st->consumer_names =
        dd_config_split_list(dd_config_string(c, k->log_consumers), &st->nconsumer_names);
    dd_log_options lo = {
        .max_records = (uint32_t)dd_config_int(c, k->log_fetch_max_records),
        .retention_ms = dd_config_duration_ms(c, k->log_retention),
        .required_consumers = st->consumer_names,
        .nrequired = st->nconsumer_names,
    };
    if (k->log_fetch_max_bytes != DD_STAGE_NO_KEY)
        lo.max_bytes = (uint32_t)dd_config_size(c, k->log_fetch_max_bytes);
    if (k->log_fetch_max_wait != DD_STAGE_NO_KEY)
        lo.max_wait_ms = (uint32_t)dd_config_duration_ms(c, k->log_fetch_max_wait);
    if ((rc = dd_log_open(st->store, &lo, st->metrics, &st->log)) != 0)
        return rc;
    st->zctx = zmq_ctx_new();
    /* The handler is bound before any socket of the context: zauth.h. */
    const char *key_file = k->auth_key_file != DD_STAGE_NO_KEY
                               ? dd_config_string(c, k->auth_key_file) : "";
    if (key_file[0]) {
        if ((rc = dd_zauth_new(st->loop, st->zctx, key_file,
                               dd_config_string(c, k->auth_clients_file), st->metrics,
                               &st->auth)) != 0)
            return rc;
        dd_log_set_auth(st->log, st->auth);
    }
    return 0;
}

/* ---- queries: one request frame in, one reply frame out ------------------- */

static void query_cb(struct ev_loop *loop, dd_evzmq *w, int revents)
{
    (void)loop;
    (void)revents;
    dd_stage *st = w->data;
    for (int i = 0; i < 64; i++) {
        dd_zmsg msg;
        if (dd_zmsg_recv(st->query_sock, &msg) != 0)
            break;
        /* [identity, request] from a DEALER, [identity, "", request] from a REQ. */
        bool delimiter = msg.nframes == 3 && dd_zmsg_size(&msg, 1) == 0;
        /* With CURVE, a sender a reload removed or demoted gets silence. */
        bool admitted =
            !st->auth || dd_zauth_admit(st->auth, &msg.frames[msg.nheld - 1], DD_ZAUTH_READ);
        if (admitted && (msg.nframes == 2 || delimiter) && dd_zmsg_size(&msg, 0) <= 256) {
            size_t last = msg.nframes - 1;
            uint8_t *buf = NULL;
            size_t len = 0;
            bool error = st->spec->answer(st->arg, st->query_arena, dd_zmsg_data(&msg, last),
                                          dd_zmsg_size(&msg, last), &buf, &len);
            dd_series_inc(dd_metric_series(st->queries, error ? "error" : "ok"), 1);
            const void *data[3] = {dd_zmsg_data(&msg, 0), "", buf};
            size_t sizes[3] = {dd_zmsg_size(&msg, 0), 0, len};
            if (!delimiter) {
                data[1] = buf;
                sizes[1] = len;
            }
            int rc = dd_zsend_frames(st->query_sock, data, sizes, delimiter ? 3 : 2);
            if (rc)
                dd_series_inc(dd_metric_series(st->unsent, rc == DD_AGAIN ? "again"
                                                           : rc == -EHOSTUNREACH ? "unreachable"
                                                                                 : "other"),
                              1);
        }
        dd_zmsg_close(&msg);
        dd_arena_reset(st->query_arena);
    }
}

static int serve_queries(dd_stage *st)
{
    const char *endpoint = dd_config_string(st->config, st->spec->keys.query_endpoint);
    st->queries = dd_metrics_find(st->metrics, st->spec->query_metric);
    if (!st->queries || !st->spec->answer) {
        dd_error("queries on %s: no answer or no metric %s (a bug)", endpoint,
                 st->spec->query_metric ? st->spec->query_metric : "(none)");
        return DD_ECONFIG;
    }
    static const dd_metric_def unsent_def[] = {
        {"doudi_query_replies_unsent_total", DD_METRIC_COUNTER,
         "Query replies that could not be sent, by reason (again: the asker's queue is at its "
         "high-water mark; unreachable: the asker is gone); the asker asks again.",
         "reason", NULL, 0},
    };
    int mrc = dd_metrics_register(st->metrics, unsent_def, 1, &st->unsent);
    if (mrc)
        return mrc;
    dd_metric_series(st->unsent, "again");
    dd_metric_series(st->unsent, "unreachable");
    st->query_arena = dd_arena_new(1 << 20);
    st->query_sock = dd_zsock_new(st->zctx, ZMQ_ROUTER, 1 << 20, 0);
    if (!st->query_sock)
        return -EINVAL;
    int rc = st->auth ? dd_zauth_secure_server(st->auth, st->query_sock, DD_ZAUTH_READ) : 0;
    if (rc)
        dd_error("cannot make %s a CURVE server: %s", endpoint, zmq_strerror(-rc));
    if (rc || (rc = dd_zsock_bind(st->query_sock, endpoint)) != 0)
        return rc;
    dd_evzmq_init(&st->query_w, st->query_sock, EV_READ, query_cb, st);
    dd_evzmq_start(st->loop, &st->query_w);
    return 0;
}

/* ---- maintenance ------------------------------------------------------------- */

void dd_stage_update_gauges(dd_stage *st)
{
    if (st->spec->update_gauges)
        st->spec->update_gauges(st->arg);
    dd_store_metrics_update(st->store_metrics);
    dd_log_update_metrics(st->log);
}

static void maintenance_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    dd_stage *st = t->data;
    int64_t now_ns = dd_monotonic_ns();
    if (now_ns - st->last_trim_ns >= st->trim_ns - st->trim_ns / 10) {
        st->last_trim_ns = now_ns;
        /* Output records carry event time: trim on the same clock. */
        int rc = st->spec->before_trim ? st->spec->before_trim(st->arg) : 0;
        if (rc == 0)
            rc = dd_log_trim(st->log, st->spec->event_clock_ms(st->arg), NULL);
        if (rc)
            dd_warn("%s trim failed: %s", st->spec->log_noun, dd_strerror(rc));
        else if (st->spec->after_trim)
            st->spec->after_trim(st->arg);
    }
    if (now_ns - st->last_reader_check_ns >= st->reader_check_ns) {
        st->last_reader_check_ns = now_ns;
        int cleared = 0;
        dd_store_reader_check(st->store, &cleared);
        if (cleared)
            dd_warn("cleared %d stale LMDB reader slot(s)", cleared);
    }
    dd_stage_update_gauges(st);
}

/* ---- running ----------------------------------------------------------------- */

int dd_stage_start(dd_stage *st)
{
    const dd_stage_keys *k = &st->spec->keys;
    const dd_config *c = st->config;
    int rc;
    const char *log_ep = dd_config_string(c, k->log_endpoint);
    if ((log_ep[0] || !st->spec->log_endpoint_optional) &&
        (rc = dd_log_serve(st->log, st->loop, st->zctx, log_ep)) != 0)
        return rc;
    if (k->query_endpoint != DD_STAGE_NO_KEY && (rc = serve_queries(st)) != 0)
        return rc;

    dd_consumer_options co = {
        .name = dd_config_string(c, k->consumer_name),
        .upstream = k->upstream_name != DD_STAGE_NO_KEY ? dd_config_string(c, k->upstream_name)
                                                         : st->spec->upstream,
        .endpoint = dd_config_string(c, k->upstream_endpoint),
        .max_records = (uint32_t)dd_config_int(c, k->fetch_records),
        .wait_ms = (uint32_t)dd_config_duration_ms(c, k->fetch_wait),
        .kinds = st->spec->kinds,
        .nkinds = st->spec->nkinds,
    };
    dd_zauth_keys own, upstream;
    const char *upstream_key = k->auth_upstream_key_file != DD_STAGE_NO_KEY
                                   ? dd_config_string(c, k->auth_upstream_key_file) : "";
    if (upstream_key[0]) {
        const char *key_file = dd_config_string(c, k->auth_key_file);
        if (!key_file[0]) {
            dd_error("[auth] upstream_key_file is set but key_file is not: fetching over CURVE "
                     "needs this daemon's own key pair");
            return DD_ECONFIG;
        }
        char *error = NULL;
        if ((rc = dd_zauth_read_keys(key_file, true, &own, &error)) != 0 ||
            (rc = dd_zauth_read_keys(upstream_key, false, &upstream, &error)) != 0) {
            dd_error("%s", error ? error : dd_strerror(rc));
            free(error);
            return rc;
        }
        co.curve_keys = &own;
        co.curve_server_public = upstream.public_z85;
    }
    if ((rc = dd_consumer_new(st->store, st->loop, st->zctx, &co, st->spec->apply, st->arg,
                              st->metrics, &st->consumer)) != 0)
        return rc;
    if (st->spec->idle)
        dd_consumer_set_idle(st->consumer, st->spec->idle, st->arg);

    const char *listen = dd_config_string(c, k->metrics_listen);
    if (listen[0] && (rc = dd_metrics_http_start(st->metrics, listen, &st->http)) != 0) {
        dd_error("cannot serve metrics on %s: %s", listen, dd_strerror(rc));
        return rc;
    }
    st->trim_ns = dd_config_duration_ms(c, k->log_trim_interval) * 1000000;
    st->reader_check_ns = dd_config_duration_ms(c, k->reader_check_interval) * 1000000;
    ev_init(&st->maintenance, maintenance_cb);
    st->maintenance.repeat = (double)st->trim_ns / 1e9 < 1.0 ? (double)st->trim_ns / 1e9 : 1.0;
    st->maintenance.data = st;
    ev_timer_again(st->loop, &st->maintenance);
    st->last_trim_ns = st->last_reader_check_ns = dd_monotonic_ns();
    return dd_consumer_start(st->consumer);
}

void dd_stage_reload(dd_stage *st, dd_config *config)
{
    const dd_stage_spec *spec = st->spec;
    for (size_t key = 0; key < spec->nsettings; key++)
        if (!spec->settings[key].reloadable && !dd_config_same(st->config, config, key))
            dd_warn("SIGHUP: [%s] %s changed, but it takes effect only after a restart; the "
                    "running value is kept",
                    spec->settings[key].section, spec->settings[key].name);
    apply_log_level(st, config);
    if (st->auth)
        dd_zauth_reload(st->auth, dd_config_string(config, spec->keys.auth_clients_file));
    dd_log_set_retention(st->log, dd_config_duration_ms(config, spec->keys.log_retention));
    st->trim_ns = dd_config_duration_ms(config, spec->keys.log_trim_interval) * 1000000;
    dd_config_destroy(&st->config);
    st->config = config;
}

void dd_stage_stop(dd_stage *st)
{
    dd_consumer_stop(st->consumer);
    dd_log_release_parked(st->log);
    ev_break(st->loop, EVBREAK_ALL);
}

void dd_stage_destroy(dd_stage **sp)
{
    if (!sp || !*sp)
        return;
    dd_stage *st = *sp;
    dd_metrics_http_stop(&st->http);
    if (st->loop)
        ev_timer_stop(st->loop, &st->maintenance);
    dd_consumer_destroy(&st->consumer);
    if (st->query_sock) {
        dd_evzmq_stop(st->loop, &st->query_w);
        zmq_close(st->query_sock);
    }
    if (st->spec->close_sockets)
        st->spec->close_sockets(st->arg);
    dd_log_close(&st->log);
    dd_zauth_destroy(&st->auth);
    /* zmq_ctx_term waits for every socket of the context to be closed. */
    if (st->zctx)
        zmq_ctx_term(st->zctx);
    if (st->spec->close_state)
        st->spec->close_state(st->arg);
    dd_store_metrics_destroy(&st->store_metrics);
    dd_store_close(&st->store);
    dd_metrics_destroy(&st->metrics);
    dd_arena_destroy(&st->query_arena);
    dd_config_destroy(&st->config);
    free(st->consumer_names);
    free(st);
    *sp = NULL;
}

dd_config *dd_stage_config(dd_stage *st)
{
    return st->config;
}

dd_metrics *dd_stage_metrics(dd_stage *st)
{
    return st->metrics;
}

dd_store *dd_stage_store(dd_stage *st)
{
    return st->store;
}

dd_log *dd_stage_log(dd_stage *st)
{
    return st->log;
}

void *dd_stage_zctx(dd_stage *st)
{
    return st->zctx;
}

dd_consumer *dd_stage_consumer(dd_stage *st)
{
    return st->consumer;
}

const char *dd_stage_enum_label(const ProtobufCEnumDescriptor *descriptor, int value,
                                const char *prefix, char *buf, size_t len)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(descriptor, value);
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

dd_zauth *dd_stage_auth(dd_stage *st)
{
    return st->auth;
}
