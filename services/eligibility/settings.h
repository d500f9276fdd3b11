/*
 * settings.h: every configuration key of doudi-eligibility, with its
 * default. The table is the single source of truth: --help prints it, -t
 * prints the effective values, and the daemon reads values by these names.
 */
#ifndef ELIG_SETTINGS_H
#define ELIG_SETTINGS_H

#include "config.h"

enum elig_setting {
    E_DATA_DIR,
    E_UPSTREAM_ENDPOINT,
    E_CONSUMER_NAME,
    E_FETCH_RECORDS,
    E_FETCH_WAIT,
    E_LOG_ENDPOINT,
    E_QUERY_ENDPOINT,
    E_METRICS_LISTEN,
    E_LOG_LEVEL,
    E_STANDARDS_FILE,
    E_DANGLING_WAIT,
    E_FACT_CACHE_SIZE,
    E_FACT_CACHE_WARMUP,
    E_SCREEN_THREAD,
    E_HOME_CACHE_SIZE,
    /* [rules] */
    E_DIBAO_ASSET_MONTHS,
    E_VEHICLE_LIMIT,
    E_DIBAO_MAX_DWELLINGS,
    E_DIBAO_MIN,
    E_TEKUN_MULTIPLIER,
    E_DIBIAN_MULTIPLIER,
    E_RIGID_SHARE,
    E_RIGID_MONTHS,
    E_TEMP_QUICK_AID,
    E_TEMP_DECIDE_DAYS,
    E_DIS_LIVING_INCLUDES_DIBIAN,
    E_MEDICAL_ALERT_MONITORED,
    E_MEDICAL_ALERT_OTHER,
    E_INCOME_DROP,
    E_ELDERLY_AGE,
    E_ADVANCED_AGE,
    E_HIGH_RISK_AGE,
    E_CHILD_AGE_LIMIT,
    E_FULL_CARE_DEPENDENT,
    E_HALF_CARE_IMPAIRED,
    /* [alerts] */
    E_DISCOVERY_HANDLE,
    E_REVIEW_HANDLE,
    E_RISK_HANDLE,
    E_URGENT_HANDLE,
    E_MISSING_INFO_HANDLE,
    E_QUICK_AID_HANDLE,
    E_DANGLING_HANDLE,
    /* [store], [log] */
    E_MAP_SIZE,
    E_MAX_MAP_SIZE,
    E_READER_CHECK_INTERVAL,
    E_REGISTRY_JOURNAL_MAX,
    E_REGISTRY_FOLD_PACE,
    E_REGISTRY_IDLE_FOLD_ENTRIES,
    E_CASELOAD_RECOUNT,
    E_LOG_RETENTION,
    E_LOG_CONSUMERS,
    E_LOG_TRIM_INTERVAL,
    E_LOG_FETCH_MAX_RECORDS,
    E_LOG_FETCH_MAX_BYTES,
    E_LOG_FETCH_MAX_WAIT,
    E_AUTH_KEY_FILE,
    E_AUTH_CLIENTS_FILE,
    E_AUTH_UPSTREAM_KEY_FILE,
    ELIG_SETTING_COUNT
};

extern const dd_conf_key elig_settings[ELIG_SETTING_COUNT];

#endif
