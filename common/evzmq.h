/*
 * evzmq.h: a ZeroMQ socket as a libev watcher, and the socket options every
 * doudi socket gets.
 *
 * ZMQ_FD is edge-triggered and reading ZMQ_EVENTS has side effects
 * (known pitfall 4 in the README): a plain ev_io on ZMQ_FD misses messages that arrived
 * while the callback was running. The watcher therefore asks ZMQ_EVENTS
 * itself, every loop iteration:
 *
 *   ev_prepare (before the loop blocks):
 *       ZMQ_EVENTS has what we wait for?  yes -> start ev_idle (loop must
 *                                                not block)
 *                                         no  -> start ev_io on ZMQ_FD
 *   ev_check (after the loop wakes):
 *       stop ev_idle and ev_io; ZMQ_EVENTS has it? -> call the callback
 *
 * The callback receives EV_READ and/or EV_WRITE. It should drain the socket
 * with ZMQ_DONTWAIT until EAGAIN, or until a batch limit of its own; what it
 * leaves is seen by the next prepare, so nothing is ever stranded.
 */
#ifndef DD_EVZMQ_H
#define DD_EVZMQ_H

#include <ev.h>
#include <zmq.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dd_evzmq dd_evzmq;
typedef void (*dd_evzmq_cb)(struct ev_loop *loop, dd_evzmq *watcher, int revents);

struct dd_evzmq {
    ev_prepare prepare;
    ev_check check;
    ev_idle idle;
    ev_io io;
    void *socket;
    int events; /* EV_READ and/or EV_WRITE */
    dd_evzmq_cb cb;
    void *data; /* the owner's */
};

/* Prepares the watcher for a socket; returns 0 or -errno (ZMQ_FD failed). */
int dd_evzmq_init(dd_evzmq *w, void *socket, int events, dd_evzmq_cb cb, void *data);
void dd_evzmq_start(struct ev_loop *loop, dd_evzmq *w);
void dd_evzmq_stop(struct ev_loop *loop, dd_evzmq *w);
/* Changes the events waited for (EV_WRITE only while output is queued). */
void dd_evzmq_set_events(dd_evzmq *w, int events);

/*
 * Creates a socket with doudi's standard options: ZMQ_LINGER 0 (durability
 * never rests on linger; known pitfall 5 in the README), ZMQ_MAXMSGSIZE max_message_bytes
 * (-1 is refused: every socket has a cap), ZMQ_ROUTER_MANDATORY for ROUTER
 * sockets (an unroutable reply is an error we count, not a silent drop), and
 * high-water marks of hwm messages (0: libzmq default). Returns NULL with a
 * logged reason on failure.
 */
void *dd_zsock_new(void *zctx, int type, int64_t max_message_bytes, int hwm);

/* Binds or connects; logs the endpoint and zmq_strerror on failure.
 * Returns 0 or -errno. */
int dd_zsock_bind(void *socket, const char *endpoint);
int dd_zsock_connect(void *socket, const char *endpoint);

/*
 * A received multipart message: up to DD_ZMSG_MAX_FRAMES frames. Messages
 * with more frames are drained and reported with nframes beyond the max
 * (the caller answers or counts them; they are never left in the socket).
 */
#define DD_ZMSG_MAX_FRAMES 4
typedef struct dd_zmsg {
    zmq_msg_t frames[DD_ZMSG_MAX_FRAMES];
    size_t nframes;      /* frames received, may exceed DD_ZMSG_MAX_FRAMES */
    size_t nheld;        /* frames held in frames[] (<= DD_ZMSG_MAX_FRAMES) */
} dd_zmsg;

/*
 * Receives one whole multipart message without blocking. Returns 0,
 * DD_AGAIN when nothing is waiting, or -errno. On 0 the caller must call
 * dd_zmsg_close().
 */
int dd_zmsg_recv(void *socket, dd_zmsg *msg);
void dd_zmsg_close(dd_zmsg *msg);
static inline const uint8_t *dd_zmsg_data(dd_zmsg *m, size_t i)
{
    return (const uint8_t *)zmq_msg_data(&m->frames[i]);
}
static inline size_t dd_zmsg_size(dd_zmsg *m, size_t i)
{
    return zmq_msg_size(&m->frames[i]);
}

/*
 * Sends frames[0..n-1] as one message with ZMQ_DONTWAIT. Returns 0,
 * DD_AGAIN (peer at its high-water mark: count it, the reply is lost and
 * the peer will resend), -EHOSTUNREACH (ROUTER: the peer is gone), or
 * -errno.
 */
int dd_zsend_frames(void *socket, const void *const *data, const size_t *sizes, size_t n);

/*
 * Watches socket's events (ZMQ_EVENT_* bits) through a PAIR connected to
 * the inproc endpoint given (unique in zctx). Returns the PAIR (linger 0;
 * the caller closes it) or NULL with errno set.
 */
void *dd_zsock_monitor(void *zctx, void *socket, int events, const char *endpoint);

/*
 * Receives one monitor event from such a PAIR without waiting: its event
 * bit and value (for a failed authentication, the ZAP status code).
 * Returns 0, DD_AGAIN when none is waiting, or -errno.
 */
int dd_zsock_monitor_event(void *pair, uint16_t *event, uint32_t *value);

#endif
