/*
 * intake.h: doudi-intake, the daemon portals publish into.
 *
 * One libev loop drives four things: the publish ROUTER (portals), the log
 * fetch ROUTER (downstream daemons, common/log.h), the admin ROUTER
 * (doudictl deadletter) and a maintenance timer (trimming, dedup expiry,
 * stale readers, gauges). The metrics HTTP endpoint runs in
 * libmicrohttpd's thread and never touches LMDB.
 *
 * Publishing, per loop pass (group commit):
 *
 *   drain up to max_requests_per_commit requests from the publish socket
 *        |  (malformed frames, undecodable or oversized requests are
 *        |   answered at once with a request_error)
 *   one write transaction: for every event of every request
 *        decode -> duplicate? -> validate -> append to log + dedup journal
 *                     |              '-> refused: dead-letter store
 *                     '-> answered DUPLICATE with the original sequence
 *   commit with fsync (MAP_FULL: grow and redo the whole batch)
 *        |
 *   only now send every reply (ZMQ_DONTWAIT; EAGAIN/unroutable counted)
 *
 * A reply that is lost (portal gone, HWM) costs nothing: the portal resends
 * and the dedup journal answers DUPLICATE with the same sequences.
 */
#ifndef INTAKE_INTAKE_H
#define INTAKE_INTAKE_H

#include <ev.h>
#include <stdbool.h>

#include "config.h"

typedef struct intake intake;

/*
 * Builds the daemon from a loaded config: opens the store, log, dedup
 * journal and dead letters, binds every endpoint, starts metrics. Returns
 * 0 or an error (already logged).
 */
int intake_new(struct ev_loop *loop, dd_config *config, intake **out);
/* Frees everything; accepts NULL, nulls *in. Takes ownership of the config. */
void intake_destroy(intake **in);

/*
 * Applies the reloadable keys of a newly loaded config (divisions file,
 * validation limits, log level, retentions). On failure keeps the old
 * config and returns an error; on success takes ownership of config.
 */
int intake_reload(intake *in, dd_config *config);

/* For -t: reads the division table the config names; 0 or an error (logged). */
int intake_check_config(const dd_config *config);

/* Stops taking requests: answers what is queued, releases long polls, and
 * breaks the loop. */
void intake_stop(intake *in);

/* The metrics port actually bound (0 if disabled). */
int intake_metrics_port(const intake *in);

#endif
