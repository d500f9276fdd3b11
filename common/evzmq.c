/*
 * evzmq.c: ZeroMQ sockets in the libev loop (see evzmq.h for the scheme).
 */
#include "evzmq.h"

#include "diag.h"
#include "error.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <zmq.h>

static int pending_events(dd_evzmq *w)
{
    int zevents = 0;
    size_t size = sizeof(zevents);
    if (zmq_getsockopt(w->socket, ZMQ_EVENTS, &zevents, &size) != 0)
        return EV_READ; /* let the callback see the error on its next call */
    int ev = 0;
    if (zevents & ZMQ_POLLIN)
        ev |= EV_READ;
    if (zevents & ZMQ_POLLOUT)
        ev |= EV_WRITE;
    return ev & w->events;
}

static void prepare_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
    (void)revents;
    dd_evzmq *w = (dd_evzmq *)((char *)p - offsetof(dd_evzmq, prepare));
    if (pending_events(w))
        ev_idle_start(loop, &w->idle);
    else
        ev_io_start(loop, &w->io);
}

static void check_cb(struct ev_loop *loop, ev_check *c, int revents)
{
    (void)revents;
    dd_evzmq *w = (dd_evzmq *)((char *)c - offsetof(dd_evzmq, check));
    ev_io_stop(loop, &w->io);
    ev_idle_stop(loop, &w->idle);
    int ev = pending_events(w);
    if (ev)
        w->cb(loop, w, ev);
}

static void noop_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)io;
    (void)revents;
}

static void noop_idle_cb(struct ev_loop *loop, ev_idle *idle, int revents)
{
    (void)loop;
    (void)idle;
    (void)revents;
}

int dd_evzmq_init(dd_evzmq *w, void *socket, int events, dd_evzmq_cb cb, void *data)
{
    int fd;
    size_t size = sizeof(fd);
    if (zmq_getsockopt(socket, ZMQ_FD, &fd, &size) != 0)
        return -errno;
    w->socket = socket;
    w->events = events;
    w->cb = cb;
    w->data = data;
    ev_prepare_init(&w->prepare, prepare_cb);
    ev_check_init(&w->check, check_cb);
    ev_idle_init(&w->idle, noop_idle_cb);
    ev_io_init(&w->io, noop_io_cb, fd, EV_READ);
    return 0;
}

void dd_evzmq_start(struct ev_loop *loop, dd_evzmq *w)
{
    ev_prepare_start(loop, &w->prepare);
    ev_check_start(loop, &w->check);
}

void dd_evzmq_stop(struct ev_loop *loop, dd_evzmq *w)
{
    ev_prepare_stop(loop, &w->prepare);
    ev_check_stop(loop, &w->check);
    ev_io_stop(loop, &w->io);
    ev_idle_stop(loop, &w->idle);
}

void dd_evzmq_set_events(dd_evzmq *w, int events)
{
    w->events = events;
}

void *dd_zsock_new(void *zctx, int type, int64_t max_message_bytes, int hwm)
{
    void *s = zmq_socket(zctx, type);
    if (!s) {
        dd_error("zmq_socket: %s", zmq_strerror(errno));
        return NULL;
    }
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    if (max_message_bytes > 0)
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_message_bytes, sizeof(max_message_bytes));
    if (hwm > 0) {
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
        zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    }
    if (type == ZMQ_ROUTER) {
        int on = 1;
        zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &on, sizeof(on));
    }
    return s;
}

int dd_zsock_bind(void *socket, const char *endpoint)
{
    if (zmq_bind(socket, endpoint) != 0) {
        int err = errno;
        dd_error("cannot bind %s: %s", endpoint, zmq_strerror(err));
        return -err;
    }
    return 0;
}

int dd_zsock_connect(void *socket, const char *endpoint)
{
    if (zmq_connect(socket, endpoint) != 0) {
        int err = errno;
        dd_error("cannot connect to %s: %s", endpoint, zmq_strerror(err));
        return -err;
    }
    return 0;
}

int dd_zmsg_recv(void *socket, dd_zmsg *msg)
{
    msg->nframes = 0;
    msg->nheld = 0;
    for (;;) {
        zmq_msg_t *frame;
        zmq_msg_t overflow;
        frame = msg->nheld < DD_ZMSG_MAX_FRAMES ? &msg->frames[msg->nheld] : &overflow;
        zmq_msg_init(frame);
        /* Only the first frame may be absent: the rest of a multipart
         * message is delivered atomically with it. */
        int flags = msg->nframes == 0 ? ZMQ_DONTWAIT : 0;
        if (zmq_msg_recv(frame, socket, flags) < 0) {
            int err = errno;
            zmq_msg_close(frame);
            dd_zmsg_close(msg);
            return err == EAGAIN ? DD_AGAIN : -err;
        }
        msg->nframes++;
        int more = zmq_msg_more(frame);
        if (frame == &overflow)
            zmq_msg_close(&overflow);
        else
            msg->nheld++;
        if (!more)
            return 0;
    }
}

void dd_zmsg_close(dd_zmsg *msg)
{
    for (size_t i = 0; i < msg->nheld; i++)
        zmq_msg_close(&msg->frames[i]);
    msg->nheld = 0;
}

int dd_zsend_frames(void *socket, const void *const *data, const size_t *sizes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_send(socket, data[i], sizes[i], flags) < 0) {
            int err = errno;
            /* A ROUTER refuses the whole message at its first frame, so a
             * failure here never leaves a half-sent message behind. */
            return err == EAGAIN ? DD_AGAIN : -err;
        }
    }
    return 0;
}

void *dd_zsock_monitor(void *zctx, void *socket, int events, const char *endpoint)
{
    if (zmq_socket_monitor(socket, endpoint, events) != 0)
        return NULL;
    void *pair = zmq_socket(zctx, ZMQ_PAIR);
    int linger = 0;
    if (pair && (zmq_setsockopt(pair, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
                 zmq_connect(pair, endpoint) != 0)) {
        int err = errno;
        zmq_close(pair);
        errno = err;
        return NULL;
    }
    return pair;
}

int dd_zsock_monitor_event(void *pair, uint16_t *event, uint32_t *value)
{
    /* [6 bytes: event u16, value u32][the endpoint] */
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, pair, ZMQ_DONTWAIT) < 0) {
        int err = zmq_errno();
        zmq_msg_close(&m);
        return err == EAGAIN ? DD_AGAIN : -err;
    }
    *event = 0;
    *value = 0;
    if (zmq_msg_size(&m) == 6) {
        memcpy(event, zmq_msg_data(&m), sizeof(*event));
        memcpy(value, (const uint8_t *)zmq_msg_data(&m) + 2, sizeof(*value));
    }
    bool more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    while (more) {
        zmq_msg_init(&m);
        more = zmq_msg_recv(&m, pair, 0) >= 0 && zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    return 0;
}
