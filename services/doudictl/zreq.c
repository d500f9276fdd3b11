/* zreq.c: one DEALER, request/reply with timeouts and fresh-socket resends (see zreq.h). */
#include "zreq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <zmq.h>

#include "alloc.h"
#include "ctl.h"
#include "error.h"
#include "evzmq.h"
#include "zauth.h"

struct ctl_zreq {
    void *ctx;
    void *sock;
    char *endpoint;
    int64_t max_message_bytes;
    bool curve;                  /* DOUDI_CURVE_KEY and DOUDI_CURVE_SERVER_KEY are set */
    dd_zauth_keys client, server;
    void *monitor;               /* the socket's handshake failures */
    unsigned sockets;            /* sockets opened, for the monitor endpoints */
    bool refusal_reported;
};

int ctl_curve_keys_from_env(bool *curve, dd_zauth_keys *client, dd_zauth_keys *server)
{
    char *error = NULL;
    int rc = dd_zauth_keys_from_env(curve, client, server, &error);
    if (rc) {
        ctl_warn("%s", error ? error : dd_strerror(rc));
        free(error);
        return -EINVAL;
    }
    return 0;
}

int ctl_curve_secure(void *socket)
{
    bool curve;
    dd_zauth_keys client, server;
    int rc = ctl_curve_keys_from_env(&curve, &client, &server);
    if (rc == 0 && curve)
        rc = dd_zauth_secure_client(socket, &client, server.public_z85);
    return rc;
}

/*
 * Says once why a daemon does not answer when the reason is that it refused
 * the handshake: with CURVE the only other sign is silence.
 */
static void report_refusals(ctl_zreq *z)
{
    if (!z->monitor || z->refusal_reported)
        return;
    uint16_t what;
    uint32_t value;
    while (dd_zsock_monitor_event(z->monitor, &what, &value) == 0) {
        if (what == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            ctl_warn("%s refused this client's CURVE key (status %u): its public key %s is not "
                     "in the daemon's clients file, or its grant there does not cover this "
                     "endpoint", z->endpoint, (unsigned)value, z->client.public_z85);
            z->refusal_reported = true;
            return;
        }
        if (what == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
            what == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            ctl_warn("%s: the CURVE handshake failed (is DOUDI_CURVE_SERVER_KEY that daemon's "
                     "public key, and does it speak CURVE?)", z->endpoint);
            z->refusal_reported = true;
            return;
        }
    }
}

static int secure_socket(ctl_zreq *z)
{
    int rc = dd_zauth_secure_client(z->sock, &z->client, z->server.public_z85);
    if (rc)
        return rc;
    if (z->monitor) {
        zmq_close(z->monitor);
        z->monitor = NULL;
    }
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "inproc://doudictl-monitor-%u", z->sockets);
    /* NULL: authenticated all the same; only the explanation is lost. */
    z->monitor = dd_zsock_monitor(z->ctx, z->sock,
                                  ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                      ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                      ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                                  endpoint);
    return 0;
}

static int open_socket(ctl_zreq *z)
{
    /* dd_zsock_new sets ZMQ_LINGER 0 and ZMQ_MAXMSGSIZE. */
    z->sock = dd_zsock_new(z->ctx, ZMQ_DEALER, z->max_message_bytes, 0);
    if (!z->sock)
        return -zmq_errno();
    z->sockets++;
    int one = 1, never = -1;
    int rc = z->curve ? secure_socket(z) : 0;
    if (rc) {
        zmq_close(z->sock);
        z->sock = NULL;
        return rc;
    }
    if (zmq_setsockopt(z->sock, ZMQ_IMMEDIATE, &one, sizeof(one)) != 0 ||
        zmq_setsockopt(z->sock, ZMQ_RECONNECT_IVL, &never, sizeof(never)) != 0 ||
        zmq_connect(z->sock, z->endpoint) != 0) {
        int err = zmq_errno();
        zmq_close(z->sock);
        z->sock = NULL;
        return -err;
    }
    return 0;
}

int ctl_zreq_new(const char *endpoint, int64_t max_message_bytes, ctl_zreq **out)
{
    ctl_zreq *z = dd_calloc(1, sizeof(*z));
    z->endpoint = dd_strdup(endpoint);
    z->max_message_bytes = max_message_bytes;
    z->ctx = zmq_ctx_new();
    if (!z->ctx) {
        int err = zmq_errno();
        ctl_zreq_destroy(&z);
        return -err;
    }
    int rc = ctl_curve_keys_from_env(&z->curve, &z->client, &z->server);
    if (rc == 0)
        rc = open_socket(z);
    if (rc != 0) {
        ctl_zreq_destroy(&z);
        return rc;
    }
    *out = z;
    return 0;
}

void ctl_zreq_destroy(ctl_zreq **zp)
{
    if (!zp || !*zp)
        return;
    ctl_zreq *z = *zp;
    if (z->sock)
        zmq_close(z->sock);
    if (z->monitor)
        zmq_close(z->monitor);
    if (z->ctx)
        zmq_ctx_term(z->ctx);
    free(z->endpoint);
    free(z);
    *zp = NULL;
}

int ctl_zreq_reconnect(ctl_zreq *z)
{
    report_refusals(z);
    if (z->sock) {
        zmq_close(z->sock);
        z->sock = NULL;
    }
    return open_socket(z);
}

void *ctl_zreq_socket(ctl_zreq *z)
{
    return z->sock;
}

const char *ctl_zreq_endpoint(const ctl_zreq *z)
{
    return z->endpoint;
}

int ctl_zreq_send(ctl_zreq *z, const void *data, size_t len)
{
    if (zmq_send(z->sock, data, len, ZMQ_DONTWAIT) >= 0)
        return 0;
    int err = zmq_errno();
    if (err == EAGAIN || err == EINTR)
        return DD_AGAIN;
    return -err;
}

int ctl_zreq_recv(ctl_zreq *z, uint8_t **data, size_t *len)
{
    dd_zmsg msg;
    int rc = dd_zmsg_recv(z->sock, &msg);
    if (rc != 0)
        return rc == -EINTR ? DD_AGAIN : rc;
    size_t payload;
    if (msg.nframes == 1)
        payload = 0;
    else if (msg.nframes == 2 && dd_zmsg_size(&msg, 0) == 0)
        payload = 1;
    else {
        dd_zmsg_close(&msg);
        return DD_EPROTO;
    }
    *len = dd_zmsg_size(&msg, payload);
    *data = dd_malloc(*len);
    memcpy(*data, dd_zmsg_data(&msg, payload), *len);
    dd_zmsg_close(&msg);
    return 0;
}

/*
 * One attempt: send when the socket can take it, then wait for a matching
 * frame until deadline_ms. Returns 0 matched, DD_AGAIN timed out, -errno.
 * *sent says whether the request left (for the message on a timeout).
 */
static int attempt(ctl_zreq *z, const void *request, size_t len, int64_t deadline_ms,
                   ctl_zreq_match_fn match, void *ctx, bool *sent)
{
    *sent = false;
    for (;;) {
        int64_t now = ctl_now_ms();
        if (now >= deadline_ms)
            return DD_AGAIN;
        zmq_pollitem_t item = { .socket = z->sock, .events = ZMQ_POLLIN };
        if (!*sent)
            item.events |= ZMQ_POLLOUT;
        if (zmq_poll(&item, 1, (long)(deadline_ms - now)) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            return -zmq_errno();
        }
        if (!*sent && (item.revents & ZMQ_POLLOUT)) {
            int rc = ctl_zreq_send(z, request, len);
            if (rc == 0)
                *sent = true;
            else if (rc != DD_AGAIN)
                return rc;
        }
        if (!(item.revents & ZMQ_POLLIN))
            continue;
        for (;;) {
            uint8_t *data;
            size_t dlen;
            int rc = ctl_zreq_recv(z, &data, &dlen);
            if (rc == DD_AGAIN)
                break;
            if (rc == DD_EPROTO) {
                ctl_warn("ignoring a reply from %s that is not one frame", z->endpoint);
                continue;
            }
            if (rc != 0)
                return rc;
            bool done = match(ctx, data, dlen);
            free(data);
            if (done)
                return 0;
        }
    }
}

int ctl_zreq_call(ctl_zreq *z, const void *request, size_t len, const ctl_zreq_policy *policy,
                  ctl_zreq_match_fn match, void *ctx)
{
    int64_t start = ctl_now_ms();
    bool ever_sent = false;
    for (unsigned tries = 1;; tries++) {
        bool sent;
        int rc = attempt(z, request, len, ctl_now_ms() + policy->timeout_ms, match, ctx, &sent);
        ever_sent |= sent;
        if (rc != DD_AGAIN)
            return rc;
        report_refusals(z);
        const char *what = sent ? "no answer" : "could not connect";
        int gave_up = ever_sent ? DD_AGAIN : -ENOTCONN;
        if (!policy->resend) {
            ctl_warn("%s: %s within %lld ms", z->endpoint, what, (long long)policy->timeout_ms);
            return gave_up;
        }
        int64_t pause = ctl_backoff_ms(tries);
        int64_t waited = ctl_now_ms() - start;
        if (policy->max_wait_ms > 0 && waited + pause >= policy->max_wait_ms) {
            ctl_warn("%s: %s; giving up after %.1f s", z->endpoint, what, waited / 1000.0);
            return gave_up;
        }
        ctl_warn("%s: %s within %lld ms; resending on a new connection", z->endpoint, what,
                 (long long)policy->timeout_ms);
        rc = ctl_zreq_reconnect(z);
        if (rc != 0)
            return rc;
        ctl_sleep_ms(pause);
    }
}

uint64_t ctl_zreq_next_id(void)
{
    static uint64_t next;
    if (next == 0) {
        uint32_t r = 0;
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
            r = (uint32_t)ctl_now_ms();
        /* High bits random, low bits counting: ids stay readable in logs. */
        next = ((uint64_t)(r | 1u) << 24);
    }
    return next++;
}
