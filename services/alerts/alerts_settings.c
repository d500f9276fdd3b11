/* alerts_settings.c: doudi-alerts' configuration keys (see alerts_settings.h). */
#include "alerts_settings.h"
#include "stage.h"

#include <string.h>

#define K(id, sec, name, type, def, lo, hi, choices, reload, help) \
    [id] = {sec, name, type, def, lo, hi, choices, reload, help}
#define DAY 86400000LL
#define WINDOW(id, name, def, what)                                                    \
    K(id, "deadlines", name, DD_CONF_DURATION, def, 60000, 365 * DAY, NULL, false,     \
      "The village's handling window for " what " (the raising daemon's own, when it " \
      "sets one and use_upstream is on, comes first).")

const dd_conf_key alerts_settings[ALERTS_SETTING_COUNT] = {
    K(A_DATA_DIR, "alerts", "data_dir", DD_CONF_STRING, "doudi-data/alerts", 0, 0, NULL, false,
      "Directory of alerts' LMDB environment (alerts, deadlines, timeliness, the stream)."),
    K(A_LIVE_ENDPOINT, "alerts", "live_endpoint", DD_CONF_STRING, "tcp://127.0.0.1:7401", 0, 0,
      NULL, false,
      "PUB endpoint of the live stream: topic = the alert's village code, so a SUB's prefix "
      "subscription routes; heartbeats on topic '.'."),
    K(A_REQUEST_ENDPOINT, "alerts", "request_endpoint", DD_CONF_STRING, "tcp://127.0.0.1:7402",
      0, 0, NULL, false,
      "ROUTER endpoint for replay by region prefix, alert lists and lookups, silences and "
      "timeliness (alerts.proto AlertsRequest)."),
    K(A_LOG_ENDPOINT, "alerts", "log_endpoint", DD_CONF_STRING, "tcp://127.0.0.1:7403", 0, 0,
      NULL, false,
      "ROUTER endpoint serving the whole stream as a log (log.proto FetchRequest); empty "
      "disables it."),
    K(A_METRICS_LISTEN, "alerts", "metrics_listen", DD_CONF_STRING, "127.0.0.1:9104", 0, 0,
      NULL, false, "host:port of the Prometheus /metrics endpoint; empty disables it."),
    K(A_LOG_LEVEL, "alerts", "log_level", DD_CONF_ENUM, "info", 0, 0, "debug|info|warn|error",
      true, "Least severe diagnostic written to stderr."),
    K(A_CONSUMER_NAME, "alerts", "consumer_name", DD_CONF_STRING, "alerts", 0, 0, NULL, false,
      "The name this daemon's cursor has at the upstream (its [log] consumers)."),

    K(A_UPSTREAM_ENDPOINT, "upstream", "endpoint", DD_CONF_STRING, "tcp://127.0.0.1:7302", 0, 0,
      NULL, false,
      "The log consumed in order: doudi-scheduler's; doudi-eligibility's "
      "(tcp://127.0.0.1:7202) carries the same alert and acknowledgement records."),
    K(A_UPSTREAM_NAME, "upstream", "name", DD_CONF_STRING, "scheduler", 0, 0, NULL, false,
      "The upstream's name: the key of the stored cursor and the metrics' upstream label."),
    K(A_FETCH_RECORDS, "upstream", "fetch_max_records", DD_CONF_INT, "10000", 1, 100000, NULL,
      false, "Records asked for per fetch: one fetch is one write transaction."),
    K(A_FETCH_WAIT, "upstream", "fetch_wait", DD_CONF_DURATION, "1s", 0, 60000, NULL, false,
      "How long a fetch may wait at the upstream for new records (long poll)."),

    K(A_CLOCK_SOURCE, "clock", "source", DD_CONF_ENUM, "event", 0, 0, "event|wall", false,
      "event: deadlines pass only as the event times of consumed records pass them (replays "
      "and tests are deterministic); wall: also swept by the wall clock every sweep_interval."),
    K(A_SWEEP_INTERVAL, "clock", "sweep_interval", DD_CONF_DURATION, "1s", 100, DAY, NULL, false,
      "With source = wall: how often passed deadlines are looked for."),

    WINDOW(A_DL_DISCOVERY, "discovery", "7d", "a discovery alert"),
    WINDOW(A_DL_REVIEW, "review", "15d", "a review alert"),
    WINDOW(A_DL_RISK, "risk", "3d", "a monitoring risk"),
    WINDOW(A_DL_QUICK_AID, "quick_aid_overdue", "24h", "a quick aid not decided in time"),
    WINDOW(A_DL_MISSING_INFO, "missing_information", "7d", "missing information"),
    WINDOW(A_DL_DANGLING, "dangling_reference", "3d", "a dangling reference"),
    WINDOW(A_DL_VISIT_OVERDUE, "visit_overdue", "3d", "an overdue visit"),
    WINDOW(A_DL_DANGER, "danger_found", "24h", "a danger found on a visit"),
    WINDOW(A_DL_UNDERSTAFFED, "understaffed", "7d", "an understaffed township"),
    WINDOW(A_DL_FORECAST, "forecast_miss", "7d", "a forecast visit-rate miss"),
    WINDOW(A_DL_UNMATCHED, "unmatched_visit_report", "7d", "an unmatched visit report"),
    K(A_DL_URGENT_AT_MOST, "deadlines", "urgent_at_most", DD_CONF_DURATION, "24h", 60000,
      365 * DAY, NULL, false, "An URGENT alert's window is never longer than this."),
    K(A_DL_INFO_AT_LEAST, "deadlines", "info_at_least", DD_CONF_DURATION, "7d", 60000,
      365 * DAY, NULL, false, "An INFO alert's window is never shorter than this."),
    K(A_DL_USE_UPSTREAM, "deadlines", "use_upstream", DD_CONF_BOOL, "true", 0, 0, NULL, false,
      "Use the handling window the raising daemon put in the alert (handle_within_ms) when it "
      "has one; the severity bounds still apply."),

    K(A_ESC_ENABLED, "escalation", "enabled", DD_CONF_BOOL, "true", 0, 0, NULL, false,
      "Alerts not acknowledged by their deadline climb the ladder."),
    K(A_ESC_TOP_LEVEL, "escalation", "top_level", DD_CONF_ENUM, "province", 0, 0,
      "township|county|city|province", false,
      "The highest level an alert climbs to; there it stays, overdue, until handled."),
    K(A_ESC_WINDOW_PERMILLE, "escalation", "level_window_permille", DD_CONF_INT, "1000", 1,
      100000, NULL, false,
      "Each level above the village gets the alert's window times this (permille)."),

    K(A_LIVE_HWM, "live", "send_hwm", DD_CONF_INT, "10000", 1, 10000000, NULL, false,
      "PUB high-water mark per subscriber (messages): beyond it a slow subscriber loses live "
      "messages (never blocking the daemon) and fills the gap by replay."),
    K(A_HEARTBEAT, "live", "heartbeat_interval", DD_CONF_DURATION, "1s", 10, 60000, NULL, false,
      "How often the stream's head goes out on topic '.', so subscribers notice lost tails."),
    K(A_REPLAY_MAX, "replay", "max_entries", DD_CONF_INT, "5000", 1, 100000, NULL, false,
      "Most entries in one replay reply."),

    K(A_MAP_SIZE, "store", "map_size", DD_CONF_SIZE, "1G", 64 * 1024, 0, NULL, false,
      "Initial LMDB map size; the map doubles whenever it fills."),
    K(A_MAX_MAP_SIZE, "store", "max_map_size", DD_CONF_SIZE, "0", 0, 0, NULL, false,
      "The map never grows beyond this; 0 means no limit but the disk."),
    K(A_READER_CHECK_INTERVAL, "store", "reader_check_interval", DD_CONF_DURATION, "60s", 1000,
      DAY, NULL, false, "How often stale LMDB reader slots of killed processes are cleared."),
    K(A_LOG_RETENTION, "log", "retention", DD_CONF_DURATION, "35d", 0, 3650 * DAY, NULL, true,
      "Stream records are trimmed only when this old (event time) AND fetched by every known "
      "log consumer; a subscriber offline longer cannot replay what was trimmed."),
    K(A_LOG_CONSUMERS, "log", "consumers", DD_CONF_STRING, "", 0, 0, NULL, false,
      "Comma-separated consumers of log_endpoint whose cursors hold back trimming."),
    K(A_LOG_TRIM_INTERVAL, "log", "trim_interval", DD_CONF_DURATION, "10s", 100, DAY, NULL, true,
      "How often trimming runs."),
    K(A_LOG_FETCH_MAX_RECORDS, "log", "fetch_max_records", DD_CONF_INT, "10000", 1, 1000000,
      NULL, false, "Most records in one fetch reply on log_endpoint."),
    DD_STAGE_AUTH_SETTINGS(A_AUTH_KEY_FILE, A_AUTH_CLIENTS_FILE,
                           A_AUTH_UPSTREAM_KEY_FILE),
};

void alerts_settings_engine_options(const dd_config *c, alerts_engine_options *o)
{
    memset(o, 0, sizeof(*o));
    static const struct {
        int kind;
        int key;
    } windows[] = {
        {DOUDI__ALERT_KIND__ALERT_KIND_DISCOVERY, A_DL_DISCOVERY},
        {DOUDI__ALERT_KIND__ALERT_KIND_REVIEW, A_DL_REVIEW},
        {DOUDI__ALERT_KIND__ALERT_KIND_RISK, A_DL_RISK},
        {DOUDI__ALERT_KIND__ALERT_KIND_QUICK_AID_OVERDUE, A_DL_QUICK_AID},
        {DOUDI__ALERT_KIND__ALERT_KIND_MISSING_INFORMATION, A_DL_MISSING_INFO},
        {DOUDI__ALERT_KIND__ALERT_KIND_DANGLING_REFERENCE, A_DL_DANGLING},
        {DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE, A_DL_VISIT_OVERDUE},
        {DOUDI__ALERT_KIND__ALERT_KIND_DANGER_FOUND, A_DL_DANGER},
        {DOUDI__ALERT_KIND__ALERT_KIND_UNDERSTAFFED, A_DL_UNDERSTAFFED},
        {DOUDI__ALERT_KIND__ALERT_KIND_FORECAST_MISS, A_DL_FORECAST},
        {DOUDI__ALERT_KIND__ALERT_KIND_UNMATCHED_VISIT_REPORT, A_DL_UNMATCHED},
    };
    for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
        o->window_ms[windows[i].kind] = dd_config_duration_ms(c, (size_t)windows[i].key);
    o->urgent_at_most_ms = dd_config_duration_ms(c, A_DL_URGENT_AT_MOST);
    o->info_at_least_ms = dd_config_duration_ms(c, A_DL_INFO_AT_LEAST);
    o->use_upstream = dd_config_bool(c, A_DL_USE_UPSTREAM);
    o->escalation = dd_config_bool(c, A_ESC_ENABLED);
    o->top_level = (Doudi__AlertLevel)(dd_config_enum(c, A_ESC_TOP_LEVEL) + 2);
    o->level_window_permille = dd_config_int(c, A_ESC_WINDOW_PERMILLE);
}
