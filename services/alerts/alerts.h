/*
 * alerts.h: doudi-alerts as a whole: its store, the consumer of the
 * upstream log, the engine, the stream with its live XPUB and the request
 * endpoint, metrics and maintenance. The parts every consuming daemon
 * shares are common/stage.h's; main.c hands it to common/daemon.c.
 */
#ifndef ALERTS_ALERTS_H
#define ALERTS_ALERTS_H

#include <ev.h>

#include "config.h"

typedef struct alerts_daemon alerts_daemon;

/* Builds and starts the daemon (takes ownership of config). 0 or an error. */
int alerts_daemon_new(struct ev_loop *loop, dd_config *config, alerts_daemon **out);
/* Applies a reloaded configuration (log level, retention, trim interval). */
int alerts_daemon_reload(alerts_daemon *d, dd_config *config);
/* Stops consuming and breaks the loop (the batch in progress was committed). */
void alerts_daemon_stop(alerts_daemon *d);
void alerts_daemon_destroy(alerts_daemon **d);

#endif
