/*
 * alerts_settings.h: every configuration key of doudi-alerts, with its default.
 * The table is the single source of truth: --help prints it, -t prints the
 * effective values, and the daemon reads values by these names.
 */
#ifndef ALERTS_SETTINGS_H
#define ALERTS_SETTINGS_H

#include "config.h"
#include "alerts_engine.h"

enum alerts_setting {
    A_DATA_DIR,
    A_LIVE_ENDPOINT,
    A_REQUEST_ENDPOINT,
    A_LOG_ENDPOINT,
    A_METRICS_LISTEN,
    A_LOG_LEVEL,
    A_CONSUMER_NAME,
    /* [upstream] */
    A_UPSTREAM_ENDPOINT,
    A_UPSTREAM_NAME,
    A_FETCH_RECORDS,
    A_FETCH_WAIT,
    /* [clock] */
    A_CLOCK_SOURCE,
    A_SWEEP_INTERVAL,
    /* [deadlines]: by kind, then by severity */
    A_DL_DISCOVERY,
    A_DL_REVIEW,
    A_DL_RISK,
    A_DL_QUICK_AID,
    A_DL_MISSING_INFO,
    A_DL_DANGLING,
    A_DL_VISIT_OVERDUE,
    A_DL_DANGER,
    A_DL_UNDERSTAFFED,
    A_DL_FORECAST,
    A_DL_UNMATCHED,
    A_DL_URGENT_AT_MOST,
    A_DL_INFO_AT_LEAST,
    A_DL_USE_UPSTREAM,
    /* [escalation] */
    A_ESC_ENABLED,
    A_ESC_TOP_LEVEL,
    A_ESC_WINDOW_PERMILLE,
    /* [live], [replay] */
    A_LIVE_HWM,
    A_HEARTBEAT,
    A_REPLAY_MAX,
    /* [store], [log] */
    A_MAP_SIZE,
    A_MAX_MAP_SIZE,
    A_READER_CHECK_INTERVAL,
    A_LOG_RETENTION,
    A_LOG_CONSUMERS,
    A_LOG_TRIM_INTERVAL,
    A_LOG_FETCH_MAX_RECORDS,
    A_AUTH_KEY_FILE,
    A_AUTH_CLIENTS_FILE,
    A_AUTH_UPSTREAM_KEY_FILE,
    ALERTS_SETTING_COUNT
};

extern const dd_conf_key alerts_settings[ALERTS_SETTING_COUNT];

/* The engine's options ([deadlines], [escalation]) from a configuration. */
void alerts_settings_engine_options(const dd_config *c, alerts_engine_options *o);

#endif
