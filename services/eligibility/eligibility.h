/*
 * eligibility.h: doudi-eligibility, the daemon that keeps the registry and
 * decides every program (see engine.h for what happens to each record).
 *
 * One libev loop drives: the consumer of intake's log (common/consumer.h:
 * fetch, apply in one transaction with the cursor), the fetch server of its
 * own log (common/log.h) for the scheduler, the query ROUTER (query.proto,
 * for doudictl person / household / explain) and a maintenance timer
 * (trimming, stale readers, gauges). Metrics are served by libmicrohttpd's
 * thread, which never touches LMDB.
 */
#ifndef ELIG_ELIGIBILITY_H
#define ELIG_ELIGIBILITY_H

#include <ev.h>

#include "config.h"

typedef struct elig_daemon elig_daemon;

/* Opens everything and starts consuming. Takes ownership of config. */
int elig_daemon_new(struct ev_loop *loop, dd_config *config, elig_daemon **out);
void elig_daemon_destroy(elig_daemon **daemon);
/* Applies the reloadable keys of a new config (takes ownership on success). */
int elig_daemon_reload(elig_daemon *daemon, dd_config *config);
/* Stops consuming (the batch in progress is committed or aborted already),
 * releases long polls and breaks the loop. */
void elig_daemon_stop(elig_daemon *daemon);
/* For -t: reads the standards table the config names; 0 or an error (logged). */
int elig_daemon_check_config(const dd_config *config);

#endif
