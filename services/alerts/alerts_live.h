/*
 * alerts_live.h: the live alert stream on an XPUB socket.
 *
 * Two frames a message: the topic (the alert's 12-digit village code, so a
 * SUB's prefix subscription does the routing inside ZeroMQ) and an encoded
 * StreamEntry. The socket drops at its high-water mark and never blocks:
 * a slow subscriber loses live messages, never the daemon's time, and
 * fills the gap by replay (alerts_stream.h). Heartbeats on topic "." carry the
 * stream's head so a subscriber notices a lost tail.
 *
 * XPUB (with ZMQ_XPUB_VERBOSER) shows every subscribe and unsubscribe,
 * which is how the subscriptions gauge, by the level of the prefix, is
 * kept; a subscriber that disconnects unsubscribes implicitly.
 */
#ifndef ALERTS_LIVE_H
#define ALERTS_LIVE_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

typedef struct alerts_live alerts_live;

typedef struct alerts_live_options {
    const char *endpoint;
    int send_hwm;
    double heartbeat_s;
    uint64_t (*head)(void *arg); /* the stream's committed head, for heartbeats */
    void *head_arg;
    /* CURVE (zauth.h): readers and operators only; NULL: plain ZeroMQ. A
     * subscriber whose key a reload removes keeps its connection until it
     * reconnects: a PUB socket cannot tell which peer a message goes to. */
    struct dd_zauth *auth;
} alerts_live_options;

/*
 * Binds the XPUB socket and starts the heartbeat. deliveries counts
 * messages handed to the socket (none while nobody subscribes);
 * subscriptions is a gauge family labelled by level ("all", "province",
 * ..., "heartbeat"). Returns 0 or -errno.
 */
int alerts_live_new(struct ev_loop *loop, void *zctx, const alerts_live_options *o,
                    dd_series *deliveries, dd_metric *subscriptions, alerts_live **out);
void alerts_live_destroy(alerts_live **live);

/* Publishes one entry (alerts_publish_fn shape). */
void alerts_live_publish(void *live, const char *topic, const uint8_t *entry, size_t len);
/*
 * Reads the subscriptions that have arrived and says whether any is held
 * (alerts_listening_fn shape). With none, XPUB would copy each entry only
 * to drop it; not handing them over saved about 5 % of the daemon's CPU in
 * a province-month nobody subscribed to. A subscriber that subscribes
 * after this answer misses the batch, as one that subscribes a moment
 * later than it does always could (the slow joiner): the heartbeat's head
 * and each entry's previous_in_area show the gap, and replay fills it.
 */
bool alerts_live_listening(void *live);

/* Subscriptions currently held (every level). */
int64_t alerts_live_subscriptions(const alerts_live *live);

#endif
