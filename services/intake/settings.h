/*
 * settings.h: every configuration key of doudi-intake, with its default.
 *
 * The table is the single source of truth: --help prints it, -t prints the
 * effective values, and the daemon reads values by the index names below.
 */
#ifndef INTAKE_SETTINGS_H
#define INTAKE_SETTINGS_H

#include "config.h"

enum intake_setting {
    S_DATA_DIR,
    S_PUBLISH_ENDPOINT,
    S_LOG_ENDPOINT,
    S_ADMIN_ENDPOINT,
    S_METRICS_LISTEN,
    S_LOG_LEVEL,
    S_CLOCK,
    S_MAX_EVENTS_PER_REQUEST,
    S_MAX_REQUEST_BYTES,
    S_MAX_EVENT_BYTES,
    S_MAX_REQUESTS_PER_COMMIT,
    S_DEDUP_RETENTION,
    S_DEDUP_EXPECTED_IDS,
    S_MAX_FUTURE_SKEW,
    S_MAX_EVENT_AGE,
    S_ID15,
    S_DIVISIONS_FILE,
    S_MAP_SIZE,
    S_MAX_MAP_SIZE,
    S_READER_CHECK_INTERVAL,
    S_LOG_RETENTION,
    S_LOG_CONSUMERS,
    S_LOG_TRIM_INTERVAL,
    S_FETCH_MAX_RECORDS,
    S_FETCH_MAX_BYTES,
    S_FETCH_MAX_WAIT,
    S_SOCKET_HWM,
    S_AUTH_KEY_FILE,
    S_AUTH_CLIENTS_FILE,
    INTAKE_SETTING_COUNT
};

extern const dd_conf_key intake_settings[INTAKE_SETTING_COUNT];

#endif
