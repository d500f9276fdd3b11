/*
 * sched_settings.h: every configuration key of doudi-scheduler, with its default.
 * The table is the single source of truth: --help prints it, -t prints the
 * effective values, and the daemon reads values by these names.
 */
#ifndef SCHED_SETTINGS_H
#define SCHED_SETTINGS_H

#include "config.h"

enum sched_setting {
    S_DATA_DIR,
    S_UPSTREAM_ENDPOINT,
    S_CONSUMER_NAME,
    S_FETCH_RECORDS,
    S_FETCH_WAIT,
    S_LOG_ENDPOINT,
    S_QUERY_ENDPOINT,
    S_METRICS_LISTEN,
    S_LOG_LEVEL,
    S_CLOCK,
    S_WALL_SWEEP_INTERVAL,
    /* [visits] */
    S_HIGH_RISK_CADENCE,
    S_KEY_CADENCE_MONTHS,
    S_GENERAL_CADENCE_MONTHS,
    S_URGENT_WITHIN,
    S_PHONE_COUNTS_UP_TO,
    S_REFUSED_COUNTS,
    S_FORECAST_FROM_DAY,
    /* [alerts] */
    S_OVERDUE_HANDLE,
    S_DANGER_HANDLE,
    S_UNDERSTAFFED_HANDLE,
    S_FORECAST_HANDLE,
    S_UNMATCHED_HANDLE,
    /* [store], [log] */
    S_MAP_SIZE,
    S_MAX_MAP_SIZE,
    S_READER_CHECK_INTERVAL,
    S_PLAN_JOURNAL_MAX,
    S_PLAN_FOLD_PACE,
    S_LOG_RETENTION,
    S_LOG_CONSUMERS,
    S_LOG_TRIM_INTERVAL,
    S_LOG_FETCH_MAX_RECORDS,
    S_LOG_FETCH_MAX_BYTES,
    S_LOG_FETCH_MAX_WAIT,
    S_AUTH_KEY_FILE,
    S_AUTH_CLIENTS_FILE,
    S_AUTH_UPSTREAM_KEY_FILE,
    SCHED_SETTING_COUNT
};

extern const dd_conf_key sched_settings[SCHED_SETTING_COUNT];

#endif
