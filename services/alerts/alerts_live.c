/* alerts_live.c: the live stream on XPUB (see alerts_live.h). */
#include "alerts_live.h"

#include "alloc.h"
#include "diag.h"
#include "evzmq.h"
#include "zauth.h"
#include "alerts_ladder.h"
#include "alerts_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct alerts_live {
    struct ev_loop *loop;
    void *sock;
    dd_evzmq w;
    ev_timer heartbeat;
    alerts_live_options opt;
    dd_series *deliveries;
    dd_metric *subscriptions;
    int64_t held;
};

static const char *label_of(const uint8_t *topic, size_t len)
{
    if (len == 1 && topic[0] == '.')
        return "heartbeat";
    if (len == 0)
        return "all";
    Doudi__AlertLevel l = alerts_level_of_digits(len);
    return l ? alerts_level_name(l) : "other";
}

/* Reads up to 256 subscribe and unsubscribe messages waiting on the socket
 * (XPUB learns a subscription as it is read, so this is also when ZeroMQ's
 * own routing learns it). */
static void read_subscriptions(alerts_live *live)
{
    for (int i = 0; i < 256; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, live->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        const uint8_t *d = zmq_msg_data(&m);
        size_t n = zmq_msg_size(&m);
        if (n >= 1 && (d[0] == 0 || d[0] == 1)) {
            int delta = d[0] == 1 ? 1 : -1;
            live->held += delta;
            dd_series_add(dd_metric_series(live->subscriptions, label_of(d + 1, n - 1)), delta);
        }
        zmq_msg_close(&m);
    }
}

static void sub_cb(struct ev_loop *loop, dd_evzmq *w, int revents)
{
    (void)loop;
    (void)revents;
    read_subscriptions(w->data);
}

static void heartbeat_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    alerts_live *live = t->data;
    alerts_buf b = {0};
    alerts_wire_entry(&b, live->opt.head(live->opt.head_arg), NULL, 0);
    const void *data[2] = {".", b.data};
    size_t sizes[2] = {1, b.len};
    dd_zsend_frames(live->sock, data, sizes, 2);
    alerts_buf_free(&b);
}

int alerts_live_new(struct ev_loop *loop, void *zctx, const alerts_live_options *o,
                    dd_series *deliveries, dd_metric *subscriptions, alerts_live **out)
{
    alerts_live *live = dd_calloc(1, sizeof(*live));
    live->loop = loop;
    live->opt = *o;
    live->deliveries = deliveries;
    live->subscriptions = subscriptions;
    live->sock = dd_zsock_new(zctx, ZMQ_XPUB, 4096, o->send_hwm);
    int one = 1;
    int rc = live->sock ? 0 : -EINVAL;
    if (rc == 0 && zmq_setsockopt(live->sock, ZMQ_XPUB_VERBOSER, &one, sizeof(one)) != 0)
        rc = -errno;
    if (rc == 0 && o->auth)
        rc = dd_zauth_secure_server(o->auth, live->sock, DD_ZAUTH_READ);
    if (rc == 0)
        rc = dd_zsock_bind(live->sock, o->endpoint);
    if (rc) {
        if (live->sock)
            zmq_close(live->sock);
        free(live);
        return rc;
    }
    dd_evzmq_init(&live->w, live->sock, EV_READ, sub_cb, live);
    dd_evzmq_start(loop, &live->w);
    ev_timer_init(&live->heartbeat, heartbeat_cb, o->heartbeat_s, o->heartbeat_s);
    live->heartbeat.data = live;
    ev_timer_start(loop, &live->heartbeat);
    *out = live;
    return 0;
}

void alerts_live_destroy(alerts_live **lp)
{
    if (!lp || !*lp)
        return;
    alerts_live *live = *lp;
    ev_timer_stop(live->loop, &live->heartbeat);
    dd_evzmq_stop(live->loop, &live->w);
    zmq_close(live->sock);
    free(live);
    *lp = NULL;
}

void alerts_live_publish(void *arg, const char *topic, const uint8_t *entry, size_t len)
{
    alerts_live *live = arg;
    const void *data[2] = {topic, entry};
    size_t sizes[2] = {strlen(topic), len};
    if (dd_zsend_frames(live->sock, data, sizes, 2) == 0)
        dd_series_inc(live->deliveries, 1);
}

bool alerts_live_listening(void *arg)
{
    alerts_live *live = arg;
    read_subscriptions(live);
    return live->held > 0;
}

int64_t alerts_live_subscriptions(const alerts_live *live)
{
    return live->held;
}
