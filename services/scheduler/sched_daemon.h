/*
 * sched_daemon.h: doudi-scheduler, the daemon that keeps the care-visit plans
 * (see sched_engine.h for what happens to each record).
 *
 * One libev loop drives: the consumer of eligibility's log
 * (common/consumer.h: fetch, apply in one transaction with the cursor), the
 * fetch server of its own log (common/log.h) for doudi-alerts, the query
 * ROUTER (scheduler.proto, for doudictl visits / plan / worker), a
 * maintenance timer (trimming, stale readers, gauges) and, with clock =
 * wall, a timer that sweeps on the wall clock in a transaction of its own.
 * Metrics are served by libmicrohttpd's thread, which never touches LMDB.
 * The parts every consuming daemon shares are common/stage.h's.
 */
#ifndef SCHED_SCHEDULER_H
#define SCHED_SCHEDULER_H

#include <ev.h>

#include "config.h"

typedef struct sched_daemon sched_daemon;

/* Opens everything and starts consuming. Takes ownership of config. */
int sched_daemon_new(struct ev_loop *loop, dd_config *config, sched_daemon **out);
void sched_daemon_destroy(sched_daemon **daemon);
/* Applies the reloadable keys of a new config (takes ownership on success). */
int sched_daemon_reload(sched_daemon *daemon, dd_config *config);
/* Stops consuming, releases long polls and breaks the loop. */
void sched_daemon_stop(sched_daemon *daemon);

#endif
