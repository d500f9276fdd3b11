/* sched_settings.c: doudi-scheduler's configuration keys (see sched_settings.h). */
#include "sched_settings.h"
#include "stage.h"

#define K(id, sec, name, type, def, lo, hi, choices, reload, help) \
    [id] = {sec, name, type, def, lo, hi, choices, reload, help}
#define DAY 86400000LL

const dd_conf_key sched_settings[SCHED_SETTING_COUNT] = {
    K(S_DATA_DIR, "scheduler", "data_dir", DD_CONF_STRING, "doudi-data/scheduler", 0, 0, NULL,
      false, "Directory of the scheduler's LMDB environment (plans, workers, rates, its log)."),
    K(S_UPSTREAM_ENDPOINT, "scheduler", "upstream_endpoint", DD_CONF_STRING,
      "tcp://127.0.0.1:7202", 0, 0, NULL, false, "eligibility's log endpoint, consumed in order."),
    K(S_CONSUMER_NAME, "scheduler", "consumer_name", DD_CONF_STRING, "scheduler", 0, 0, NULL,
      false, "The name this daemon's cursor has at eligibility (eligibility's [log] consumers)."),
    K(S_FETCH_RECORDS, "scheduler", "fetch_max_records", DD_CONF_INT, "10000", 1, 100000, NULL,
      false, "Records asked for per fetch: one fetch is one write transaction."),
    K(S_FETCH_WAIT, "scheduler", "fetch_wait", DD_CONF_DURATION, "1s", 0, 60000, NULL, false,
      "How long a fetch may wait at eligibility for new records (long poll)."),
    K(S_LOG_ENDPOINT, "scheduler", "log_endpoint", DD_CONF_STRING, "tcp://127.0.0.1:7302", 0, 0,
      NULL, false, "ROUTER endpoint serving the scheduler's log to doudi-alerts."),
    K(S_QUERY_ENDPOINT, "scheduler", "query_endpoint", DD_CONF_STRING, "tcp://127.0.0.1:7303", 0,
      0, NULL, false,
      "ROUTER endpoint answering plan, worker and rate queries (doudictl visits, plan, worker)."),
    K(S_METRICS_LISTEN, "scheduler", "metrics_listen", DD_CONF_STRING, "127.0.0.1:9103", 0, 0,
      NULL, false, "host:port of the Prometheus /metrics endpoint; empty disables it."),
    K(S_LOG_LEVEL, "scheduler", "log_level", DD_CONF_ENUM, "info", 0, 0, "debug|info|warn|error",
      true, "Least severe diagnostic written to stderr."),
    K(S_CLOCK, "scheduler", "clock", DD_CONF_ENUM, "event", 0, 0, "event|wall", false,
      "event: time is the newest event time consumed, so a replay gives the same plans, "
      "alerts and rates; wall: also sweep on the wall clock while nothing arrives (production)."),
    K(S_WALL_SWEEP_INTERVAL, "scheduler", "wall_sweep_interval", DD_CONF_DURATION, "60s", 1000,
      DAY, NULL, false, "With clock = wall: how often the wall clock advances the sweep."),

    K(S_HIGH_RISK_CADENCE, "visits", "high_risk_cadence", DD_CONF_DURATION, "7d", 3600000,
      366 * DAY, NULL, false, "High-risk people are visited at least this often (weekly)."),
    K(S_KEY_CADENCE_MONTHS, "visits", "key_cadence_months", DD_CONF_INT, "1", 1, 12, NULL, false,
      "Key people (and children in difficulty, left-behind children) at least once in this many "
      "calendar months."),
    K(S_GENERAL_CADENCE_MONTHS, "visits", "general_cadence_months", DD_CONF_INT, "3", 1, 24,
      NULL, false, "Other registered elderly at least once in this many calendar months."),
    K(S_URGENT_WITHIN, "visits", "urgent_within", DD_CONF_DURATION, "24h", 60000, 30 * DAY, NULL,
      false,
      "After a major change (hospital discharge, death of a spouse or co-resident, disaster) a "
      "visit is due within this time."),
    K(S_PHONE_COUNTS_UP_TO, "visits", "phone_counts_up_to", DD_CONF_ENUM, "key", 0, 0,
      "none|general|key|high_risk", false,
      "A visit by phone or video counts as a visit for tiers up to this one."),
    K(S_REFUSED_COUNTS, "visits", "refused_counts", DD_CONF_BOOL, "false", 0, 0, NULL, false,
      "Whether a visit the person refused counts as a visit (else it is an attempt)."),
    K(S_FORECAST_FROM_DAY, "visits", "forecast_from_day", DD_CONF_INT, "1", 1, 31, NULL, false,
      "From this day of the month, each midnight compares the visits still due in each township "
      "with what its workers can make in the days left."),

    K(S_OVERDUE_HANDLE, "alerts", "overdue_handle_within", DD_CONF_DURATION, "3d", 60000,
      365 * DAY, NULL, false, "A township has this long to act on an overdue visit."),
    K(S_DANGER_HANDLE, "alerts", "danger_handle_within", DD_CONF_DURATION, "24h", 60000,
      365 * DAY, NULL, false, "... a village on a danger found at a visit."),
    K(S_UNDERSTAFFED_HANDLE, "alerts", "understaffed_handle_within", DD_CONF_DURATION, "7d",
      60000, 365 * DAY, NULL, false, "... a township on too little worker capacity."),
    K(S_FORECAST_HANDLE, "alerts", "forecast_handle_within", DD_CONF_DURATION, "3d", 60000,
      365 * DAY, NULL, false, "... a township on a month's visits that will not all be made."),
    K(S_UNMATCHED_HANDLE, "alerts", "unmatched_handle_within", DD_CONF_DURATION, "7d", 60000,
      365 * DAY, NULL, false, "... a village on a visit report matching no plan or worker."),

    K(S_MAP_SIZE, "store", "map_size", DD_CONF_SIZE, "1G", 64 * 1024, 0, NULL, false,
      "Initial LMDB map size; the map doubles whenever it fills."),
    K(S_MAX_MAP_SIZE, "store", "max_map_size", DD_CONF_SIZE, "0", 0, 0, NULL, false,
      "The map never grows beyond this; 0 means no limit but the disk."),
    K(S_READER_CHECK_INTERVAL, "store", "reader_check_interval", DD_CONF_DURATION, "60s", 1000,
      DAY, NULL, false, "How often stale LMDB reader slots of killed processes are cleared."),
    K(S_PLAN_JOURNAL_MAX, "store", "plan_journal_max", DD_CONF_INT, "1000000", 1, 100000000,
      NULL, false,
      "Plan changes appended to the plan journal before it is folded into the plans database "
      "in key order (one batch every so many changes). More: fewer page writes per visit "
      "report, more memory (a copy of the plan and about 80 bytes each) and a longer fold; replays with the same value "
      "store the same databases."),
    K(S_PLAN_FOLD_PACE, "store", "plan_fold_pace", DD_CONF_INT, "0", 0, 1000000, NULL, false,
      "A full journal is folded a little after every record: this many plans plus two for "
      "every journal write of the record, in key order, while records go on being applied (a "
      "whole fold of a million plans would stop the scheduler for seconds). 0: the whole "
      "journal at once. Replays with the same value store the same databases."),
    K(S_LOG_RETENTION, "log", "retention", DD_CONF_DURATION, "7d", 0, 3650 * DAY, NULL, true,
      "Output records are trimmed only when this old AND consumed by every known consumer."),
    K(S_LOG_CONSUMERS, "log", "consumers", DD_CONF_STRING, "alerts", 0, 0, NULL, false,
      "Comma-separated consumers whose cursors hold back trimming before they first connect."),
    K(S_LOG_TRIM_INTERVAL, "log", "trim_interval", DD_CONF_DURATION, "10s", 100, DAY, NULL, true,
      "How often trimming runs."),
    K(S_LOG_FETCH_MAX_RECORDS, "log", "fetch_max_records", DD_CONF_INT, "10000", 1, 1000000,
      NULL, false, "Most records in one fetch reply."),
    K(S_LOG_FETCH_MAX_BYTES, "log", "fetch_max_bytes", DD_CONF_SIZE, "16M", 4096, 1LL << 30,
      NULL, false, "Most payload bytes in one fetch reply."),
    K(S_LOG_FETCH_MAX_WAIT, "log", "fetch_max_wait", DD_CONF_DURATION, "30s", 0, 3600000, NULL,
      false, "Longest a fetch may wait for new records (long poll)."),
    DD_STAGE_AUTH_SETTINGS(S_AUTH_KEY_FILE, S_AUTH_CLIENTS_FILE,
                           S_AUTH_UPSTREAM_KEY_FILE),
};
