/*
 * zreq.h: request and reply with a doudi daemon over one ZeroMQ DEALER, with
 * timeouts, and a way to start over on a fresh socket.
 *
 * Every doudi service endpoint is a ROUTER that takes one frame (an encoded
 * request) and answers with one frame (the encoded reply). ZeroMQ never says
 * whether a message arrived, so the only failure a client sees is silence;
 * the remedy is to resend. Resending on the same socket would let the stale
 * copy still queued in it go out too, and a late answer to the first copy
 * arrive after the second, so a resend always goes out on a new socket: the
 * old one is closed with ZMQ_LINGER 0, which discards its queue, and the
 * daemon's answers to it are dropped by the daemon's ROUTER (unknown peer).
 *
 * Every socket gets ZMQ_LINGER 0 (closing never hangs), ZMQ_IMMEDIATE 1 (a
 * request is not queued to a connection that is not up, so time spent
 * unconnected counts against the timeout instead of vanishing into a queue)
 * and ZMQ_MAXMSGSIZE (a reply larger than that is refused by libzmq, which
 * drops the connection). It also gets ZMQ_RECONNECT_IVL -1: a socket makes
 * one connection attempt and, once that connection breaks, never another.
 * With libzmq's own reconnection, requests lost with a broken connection
 * would be followed by later ones on the new connection, and the resends of
 * the lost ones would then land after them: the daemon would see requests
 * out of order. With one connection per socket, what a socket delivered is
 * always a prefix of what was sent on it, and the resend on a new socket
 * (oldest first) restores the order. The price is that a broken connection
 * is noticed only by the timeout.
 *
 * CURVE: when the environment names DOUDI_CURVE_KEY (this client's key
 * pair) and DOUDI_CURVE_SERVER_KEY (the daemon's public key), every socket
 * is a CURVE client, and a daemon that refuses the key at the handshake is
 * named on stderr when the wait for its answer ends, instead of leaving
 * only silence.
 *
 * Two ways to use it: ctl_zreq_call() for one request at a time, and the
 * socket with ctl_zreq_send() / ctl_zreq_recv() for a caller that keeps a
 * window of requests in flight and polls the socket itself.
 */
#ifndef CTL_ZREQ_H
#define CTL_ZREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zauth.h"

typedef struct ctl_zreq ctl_zreq;

/*
 * Creates a ZeroMQ context and a DEALER connected to endpoint (copied).
 * Returns 0, or -errno: -EINVAL for a malformed endpoint, -EPROTONOSUPPORT
 * for an unknown transport, -ENOMEM. Connecting does not wait for the peer.
 */
int ctl_zreq_new(const char *endpoint, int64_t max_message_bytes, ctl_zreq **out);

/* Closes the socket and the context; accepts NULL and nulls *z. */
void ctl_zreq_destroy(ctl_zreq **z);

/*
 * Closes the socket, dropping whatever is queued on it in either direction,
 * and connects a new one. Returns 0 or -errno (the object is then without a
 * socket and only ctl_zreq_destroy may be called).
 */
int ctl_zreq_reconnect(ctl_zreq *z);

/* The current socket, for zmq_poll (it changes on reconnect). Borrowed. */
void *ctl_zreq_socket(ctl_zreq *z);
const char *ctl_zreq_endpoint(const ctl_zreq *z);

/*
 * Sends data[0..len-1] as one frame without waiting. Returns 0, DD_AGAIN
 * when it cannot go now (no connection up, or the queue is full), or -errno.
 */
int ctl_zreq_send(ctl_zreq *z, const void *data, size_t len);

/*
 * Receives one reply without waiting into a new buffer the caller frees
 * (free()). A reply is one frame; ["", payload], as a REQ peer's envelope
 * would look, is accepted too. Returns 0, DD_AGAIN when nothing is waiting,
 * DD_EPROTO for a message of another shape (already consumed), or -errno.
 */
int ctl_zreq_recv(ctl_zreq *z, uint8_t **data, size_t *len);

/*
 * Decides whether a received frame is the answer awaited (it usually
 * unpacks it, checks the request id and keeps the message in ctx). Returns
 * true to end the call; false to ignore the frame (stale or undecodable).
 */
typedef bool (*ctl_zreq_match_fn)(void *ctx, const uint8_t *data, size_t len);

typedef struct ctl_zreq_policy {
    int64_t timeout_ms;   /* one attempt's wait for the answer */
    bool resend;          /* resend on a fresh socket after a timeout */
    int64_t max_wait_ms;  /* with resend: give up after this long (0: never) */
} ctl_zreq_policy;

/*
 * Sends request[0..len-1] and waits for a frame `match` accepts. Without
 * policy->resend there is one attempt; with it, an attempt that times out is
 * followed by a reconnect, a backoff pause (ctl_backoff_ms) and a resend of
 * the same bytes, each announced on stderr, until an answer comes or
 * max_wait_ms has passed since the first send. Returns 0 when matched;
 * DD_AGAIN when it gave up after the request went out at least once (the
 * peer may have carried it out); -ENOTCONN when it gave up without the
 * request ever leaving (no connection could be made); or another -errno.
 */
int ctl_zreq_call(ctl_zreq *z, const void *request, size_t len, const ctl_zreq_policy *policy,
                  ctl_zreq_match_fn match, void *ctx);

/*
 * A request id for a new request: random-based, so that a reply meant for
 * another run of doudictl (a daemon answering late to a reused port) is not
 * taken for ours. Successive calls return successive ids.
 */
uint64_t ctl_zreq_next_id(void);

/*
 * Reads the CURVE keys the environment names (above). Returns 0 with
 * *curve false when neither variable is set, 0 with the keys read, or
 * -EINVAL after saying on stderr what is wrong (one variable without the
 * other, a file that does not read).
 */
int ctl_curve_keys_from_env(bool *curve, dd_zauth_keys *client, dd_zauth_keys *server);

/* Makes socket a CURVE client with the environment's keys, if it names
 * any; call before connecting. Returns 0 or -errno. */
int ctl_curve_secure(void *socket);

#endif
