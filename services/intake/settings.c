/* settings.c: doudi-intake's configuration keys (see settings.h). */
#include "settings.h"

#define K(id, sec, name, type, def, lo, hi, choices, reload, help) \
    [id] = {sec, name, type, def, lo, hi, choices, reload, help}

const dd_conf_key intake_settings[INTAKE_SETTING_COUNT] = {
    K(S_DATA_DIR, "intake", "data_dir", DD_CONF_STRING, "doudi-data/intake", 0, 0, NULL, false,
      "Directory of intake's LMDB environment (log, dedup journal, dead letters); "
      "created if missing."),
    K(S_PUBLISH_ENDPOINT, "intake", "publish_endpoint", DD_CONF_STRING, "tcp://127.0.0.1:7101",
      0, 0, NULL, false, "ROUTER endpoint where portals send PublishRequests."),
    K(S_LOG_ENDPOINT, "intake", "log_endpoint", DD_CONF_STRING, "tcp://127.0.0.1:7102", 0, 0,
      NULL, false, "ROUTER endpoint serving intake's log to downstream daemons (log.proto)."),
    K(S_ADMIN_ENDPOINT, "intake", "admin_endpoint", DD_CONF_STRING, "tcp://127.0.0.1:7103", 0,
      0, NULL, false, "ROUTER endpoint for operator commands (doudictl deadletter)."),
    K(S_METRICS_LISTEN, "intake", "metrics_listen", DD_CONF_STRING, "127.0.0.1:9101", 0, 0,
      NULL, false, "host:port of the Prometheus /metrics endpoint; empty disables it."),
    K(S_LOG_LEVEL, "intake", "log_level", DD_CONF_ENUM, "info", 0, 0, "debug|info|warn|error",
      true, "Least severe diagnostic written to stderr."),
    K(S_CLOCK, "intake", "clock", DD_CONF_ENUM, "wall", 0, 0, "wall|event", false,
      "Time used to judge occurred_at_ms and to stamp records: the wall clock, or the "
      "newest event time accepted (replays and tests; then no event is in the future and "
      "max_event_age counts back from the newest event)."),
    K(S_MAX_EVENTS_PER_REQUEST, "intake", "max_events_per_request", DD_CONF_INT, "1000", 1,
      100000, NULL, false, "A PublishRequest with more events is refused whole."),
    K(S_MAX_REQUEST_BYTES, "intake", "max_request_bytes", DD_CONF_SIZE, "64M", 1024,
      1LL << 31, NULL, false,
      "ZMQ_MAXMSGSIZE of the publish socket: a larger message is dropped by ZeroMQ and its "
      "connection closed."),
    K(S_MAX_EVENT_BYTES, "intake", "max_event_bytes", DD_CONF_SIZE, "64K", 64, 16LL << 20,
      NULL, true, "An encoded event larger than this is rejected (event_too_large)."),
    K(S_MAX_REQUESTS_PER_COMMIT, "intake", "max_requests_per_commit", DD_CONF_INT, "64", 1,
      4096, NULL, false,
      "Publish requests that may share one fsynced commit (group commit)."),
    K(S_DEDUP_RETENTION, "intake", "dedup_retention", DD_CONF_DURATION, "35d", 60000,
      3650LL * 86400000, NULL, true,
      "How long an accepted event id is remembered. Must exceed the longest retry horizon "
      "of any portal: after it, the same id is accepted again."),
    K(S_DEDUP_EXPECTED_IDS, "intake", "dedup_expected_ids", DD_CONF_INT, "0", 0,
      1LL << 32, NULL, false,
      "Event ids the dedup window holds at its fullest (about the events of dedup_retention; "
      "a province: 45000000). The in-memory table is made that large at start-up (8 bytes "
      "a slot, 12 to 23 bytes an id) instead of doubling while it fills (each doubling "
      "copies every id while events arrive). 0: start small and double."),
    K(S_MAX_FUTURE_SKEW, "intake", "max_future_skew", DD_CONF_DURATION, "5m", 0,
      86400000, NULL, true, "occurred_at_ms may be at most this far after now."),
    K(S_MAX_EVENT_AGE, "intake", "max_event_age", DD_CONF_DURATION, "3650d", 60000,
      36500LL * 86400000, NULL, true, "occurred_at_ms may be at most this far before now."),
    K(S_ID15, "intake", "fifteen_digit_ids", DD_CONF_ENUM, "upgrade", 0, 0, "upgrade|reject",
      true,
      "Old 15-digit identity numbers: upgrade to 18 characters (insert 19, compute the "
      "check character) or reject them (id_fifteen_digits)."),
    K(S_DIVISIONS_FILE, "intake", "divisions_file", DD_CONF_STRING, "", 0, 0, NULL, true,
      "File of valid 12-digit division codes, one per line; empty uses the embedded demo "
      "province (44, 26,208 villages)."),
    K(S_MAP_SIZE, "store", "map_size", DD_CONF_SIZE, "1G", 64 * 1024, 0, NULL, false,
      "Initial LMDB map size; the map doubles whenever it fills."),
    K(S_MAX_MAP_SIZE, "store", "max_map_size", DD_CONF_SIZE, "0", 0, 0, NULL, false,
      "The map never grows beyond this; 0 means no limit but the disk."),
    K(S_READER_CHECK_INTERVAL, "store", "reader_check_interval", DD_CONF_DURATION, "60s", 1000,
      86400000, NULL, false,
      "How often stale LMDB reader slots of killed processes are cleared."),
    K(S_LOG_RETENTION, "log", "retention", DD_CONF_DURATION, "7d", 0, 3650LL * 86400000, NULL,
      true, "Records are trimmed only when this old AND consumed by every known consumer."),
    K(S_LOG_CONSUMERS, "log", "consumers", DD_CONF_STRING, "eligibility", 0, 0, NULL, false,
      "Comma-separated consumers whose cursors hold back trimming even before they first "
      "connect."),
    K(S_LOG_TRIM_INTERVAL, "log", "trim_interval", DD_CONF_DURATION, "10s", 100, 86400000,
      NULL, true, "How often trimming and dedup expiry run."),
    K(S_FETCH_MAX_RECORDS, "log", "fetch_max_records", DD_CONF_INT, "50000", 1, 1000000, NULL,
      false, "Most records in one fetch reply."),
    K(S_FETCH_MAX_BYTES, "log", "fetch_max_bytes", DD_CONF_SIZE, "16M", 4096, 1LL << 30, NULL,
      false, "Most payload bytes in one fetch reply."),
    K(S_FETCH_MAX_WAIT, "log", "fetch_max_wait", DD_CONF_DURATION, "30s", 0, 3600000, NULL,
      false, "Longest a fetch may wait for new records (long poll)."),
    K(S_SOCKET_HWM, "intake", "socket_hwm", DD_CONF_INT, "10000", 0, 10000000, NULL, false,
      "ZeroMQ high-water mark (messages) of intake's sockets; a reply that would exceed it "
      "is counted and dropped, and the portal resends."),
    K(S_AUTH_KEY_FILE, "auth", "key_file", DD_CONF_STRING, "", 0, 0, NULL, false,
      "intake's CURVE key pair (doudictl keygen). Empty: every endpoint speaks plain "
      "ZeroMQ, for loopback or a network only trusted parties reach. Set: every endpoint "
      "takes only CURVE clients listed in clients_file under a grant that covers it."),
    K(S_AUTH_CLIENTS_FILE, "auth", "clients_file", DD_CONF_STRING, "", 0, 0, NULL, true,
      "The clients let in when key_file is set: a line per client, NAME PUBLIC-KEY GRANT; "
      "GRANT is a publisher's sources (comma-separated; the publish endpoint), - for a "
      "reader (the log endpoint) or * for an operator (any endpoint, and the only grant "
      "the admin endpoint takes). Read again on SIGHUP."),
};
