/* settings.c: doudi-eligibility's configuration keys (see settings.h). */
#include "settings.h"
#include "stage.h"

#define K(id, sec, name, type, def, lo, hi, choices, reload, help) \
    [id] = {sec, name, type, def, lo, hi, choices, reload, help}
#define DAY 86400000LL

const dd_conf_key elig_settings[ELIG_SETTING_COUNT] = {
    K(E_DATA_DIR, "eligibility", "data_dir", DD_CONF_STRING, "doudi-data/eligibility", 0, 0,
      NULL, false, "Directory of eligibility's LMDB environment (registry, decisions, its log)."),
    K(E_UPSTREAM_ENDPOINT, "eligibility", "upstream_endpoint", DD_CONF_STRING,
      "tcp://127.0.0.1:7102", 0, 0, NULL, false, "intake's log endpoint, consumed in order."),
    K(E_CONSUMER_NAME, "eligibility", "consumer_name", DD_CONF_STRING, "eligibility", 0, 0,
      NULL, false, "The name this daemon's cursor has at intake (intake's [log] consumers)."),
    K(E_FETCH_RECORDS, "eligibility", "fetch_max_records", DD_CONF_INT, "50000", 1, 200000,
      NULL, false,
      "Records asked for per fetch: one fetch is one write transaction, and larger ones "
      "spread its fsync over more records (intake caps a reply at its fetch_max_records)."),
    K(E_FETCH_WAIT, "eligibility", "fetch_wait", DD_CONF_DURATION, "1s", 0, 60000, NULL, false,
      "How long a fetch may wait at intake for new records (long poll)."),
    K(E_LOG_ENDPOINT, "eligibility", "log_endpoint", DD_CONF_STRING, "tcp://127.0.0.1:7202", 0,
      0, NULL, false, "ROUTER endpoint serving eligibility's log to the scheduler."),
    K(E_QUERY_ENDPOINT, "eligibility", "query_endpoint", DD_CONF_STRING, "tcp://127.0.0.1:7203",
      0, 0, NULL, false,
      "ROUTER endpoint answering registry queries (doudictl person, household, explain)."),
    K(E_METRICS_LISTEN, "eligibility", "metrics_listen", DD_CONF_STRING, "127.0.0.1:9102", 0, 0,
      NULL, false, "host:port of the Prometheus /metrics endpoint; empty disables it."),
    K(E_LOG_LEVEL, "eligibility", "log_level", DD_CONF_ENUM, "info", 0, 0,
      "debug|info|warn|error", true, "Least severe diagnostic written to stderr."),
    K(E_STANDARDS_FILE, "eligibility", "standards_file", DD_CONF_STRING, "", 0, 0, NULL, true,
      "CSV of local standards per region prefix and effective date (format in "
      "deploy/standards-demo.csv); empty uses the embedded demo table."),
    K(E_DANGLING_WAIT, "eligibility", "dangling_wait", DD_CONF_DURATION, "7d", 60000,
      365 * DAY, NULL, false,
      "A person or household referenced but not reported within this event time raises a "
      "dangling-reference alert."),
    K(E_FACT_CACHE_SIZE, "eligibility", "fact_cache_size", DD_CONF_SIZE, "1G", 0, 0, NULL, false,
      "Memory for the department findings already in the registry, so a comparison record "
      "that repeats one needs no registry read (64 bytes a person; it grows as needed "
      "and starts over at this size). 0 disables it."),
    K(E_FACT_CACHE_WARMUP, "eligibility", "fact_cache_warmup", DD_CONF_BOOL, "true", 0, 0, NULL,
      false,
      "Fill the fact cache from the whole registry at start-up, before the first batch "
      "(about 2 s a million persons read from disk), instead of learning each person from "
      "the first department record about them, one registry read each."),
    K(E_SCREEN_THREAD, "eligibility", "screen_thread", DD_CONF_BOOL, "true", 0, 0, NULL, false,
      "Decode each batch's records and check the comparison records against the fact cache "
      "on a second thread, 4096 records ahead of the one applying them, so the records that "
      "repeat what is known cost the main thread almost nothing. The results are the same "
      "either way; false keeps eligibility on one thread (one core)."),
    K(E_HOME_CACHE_SIZE, "eligibility", "home_cache_size", DD_CONF_SIZE, "512M", 0, 0, NULL,
      false,
      "Memory for which household each person is in (person_index), so reading a person "
      "costs one registry descent instead of two (32 bytes a person, 256 MiB for a "
      "province's 6 million; it grows as needed and starts over at this size). Filled "
      "at start-up with the fact cache. 0 disables it."),

    K(E_DIBAO_ASSET_MONTHS, "rules", "dibao_asset_months", DD_CONF_INT, "24", 0, 240, NULL,
      false, "低保: financial assets per member at most this many months of the standard."),
    K(E_VEHICLE_LIMIT, "rules", "vehicle_limit_fen", DD_CONF_INT, "0", 0, 100000000000LL, NULL,
      false, "低保: no vehicle worth more than this (fen); 0 means any vehicle disqualifies."),
    K(E_DIBAO_MAX_DWELLINGS, "rules", "dibao_max_dwellings", DD_CONF_INT, "1", 0, 100, NULL,
      false, "低保: at most this many dwellings."),
    K(E_DIBAO_MIN, "rules", "dibao_min_fen", DD_CONF_INT, "1000", 0, 10000000, NULL, false,
      "低保: the least monthly amount per member (fen)."),
    K(E_TEKUN_MULTIPLIER, "rules", "tekun_multiplier_permille", DD_CONF_INT, "1300", 1000,
      5000, NULL, false, "特困: basic living is at least this x the standard (permille)."),
    K(E_DIBIAN_MULTIPLIER, "rules", "dibian_multiplier_permille", DD_CONF_INT, "1500", 1000,
      5000, NULL, false,
      "低保边缘: per-capita income below this x the standard (permille; Hangzhou 2000)."),
    K(E_RIGID_SHARE, "rules", "rigid_share_permille", DD_CONF_INT, "500", 1, 10000, NULL,
      false, "刚性支出困难: rigid spending over 12 months above this share of income."),
    K(E_RIGID_MONTHS, "rules", "rigid_months", DD_CONF_INT, "12", 1, 120, NULL, false,
      "刚性支出困难: recognition lasts at most this many months."),
    K(E_TEMP_QUICK_AID, "rules", "temp_quick_aid_permille", DD_CONF_INT, "1000", 0, 10000,
      NULL, false, "临时救助 quick aid: at most this x the standard (permille)."),
    K(E_TEMP_DECIDE_DAYS, "rules", "temp_decide_days", DD_CONF_INT, "3", 1, 60, NULL, false,
      "临时救助 quick aid must be decided within this many days, else an alert."),
    K(E_DIS_LIVING_INCLUDES_DIBIAN, "rules", "dis_living_includes_dibian", DD_CONF_BOOL,
      "false", 0, 0, NULL, false,
      "困难残疾人生活补贴 also for disabled people in 低保边缘 households."),
    K(E_MEDICAL_ALERT_MONITORED, "rules", "medical_alert_monitored_fen", DD_CONF_INT, "600000",
      0, 100000000000LL, NULL, false,
      "Risk: one stay's self-payment above this (fen) for monitored (enrolled) people."),
    K(E_MEDICAL_ALERT_OTHER, "rules", "medical_alert_other_fen", DD_CONF_INT, "1000000", 0,
      100000000000LL, NULL, false, "Risk: the same threshold for everyone else (fen)."),
    K(E_INCOME_DROP, "rules", "income_drop_permille", DD_CONF_INT, "300", 1, 1000, NULL, false,
      "Risk: per-capita income falls by more than this share (permille)."),
    K(E_ELDERLY_AGE, "rules", "elderly_age", DD_CONF_INT, "60", 40, 100, NULL, false,
      "Registered elderly from this age."),
    K(E_ADVANCED_AGE, "rules", "advanced_age", DD_CONF_INT, "80", 60, 120, NULL, false,
      "高龄 care category from this age."),
    K(E_HIGH_RISK_AGE, "rules", "high_risk_age", DD_CONF_INT, "80", 60, 120, NULL, false,
      "High-risk visit tier from this age when living alone, empty nest or left behind."),
    K(E_CHILD_AGE_LIMIT, "rules", "child_age_limit", DD_CONF_INT, "16", 1, 18, NULL, false,
      "Children under this age (困境儿童, left-behind children)."),
    K(E_FULL_CARE_DEPENDENT, "rules", "full_care_dependent", DD_CONF_INT, "3", 1, 6, NULL,
      false, "Full care when at least this many of the six daily activities are dependent."),
    K(E_HALF_CARE_IMPAIRED, "rules", "half_care_impaired", DD_CONF_INT, "1", 1, 6, NULL, false,
      "Half care when at least this many need help or are dependent."),

    K(E_DISCOVERY_HANDLE, "alerts", "discovery_handle_within", DD_CONF_DURATION, "7d", 60000,
      365 * DAY, NULL, false, "A village has this long to act on a discovery alert."),
    K(E_REVIEW_HANDLE, "alerts", "review_handle_within", DD_CONF_DURATION, "15d", 60000,
      365 * DAY, NULL, false, "... on a review alert."),
    K(E_RISK_HANDLE, "alerts", "risk_handle_within", DD_CONF_DURATION, "3d", 60000, 365 * DAY,
      NULL, false, "... on a monitoring risk."),
    K(E_URGENT_HANDLE, "alerts", "urgent_handle_within", DD_CONF_DURATION, "24h", 60000,
      365 * DAY, NULL, false, "... on an emergency (accident, illness, disaster, fire)."),
    K(E_MISSING_INFO_HANDLE, "alerts", "missing_information_handle_within", DD_CONF_DURATION,
      "7d", 60000, 365 * DAY, NULL, false, "... on missing information."),
    K(E_QUICK_AID_HANDLE, "alerts", "quick_aid_overdue_handle_within", DD_CONF_DURATION, "24h",
      60000, 365 * DAY, NULL, false, "... on a quick aid not decided in time."),
    K(E_DANGLING_HANDLE, "alerts", "dangling_handle_within", DD_CONF_DURATION, "3d", 60000,
      365 * DAY, NULL, false, "... on a dangling reference."),

    K(E_MAP_SIZE, "store", "map_size", DD_CONF_SIZE, "1G", 64 * 1024, 0, NULL, false,
      "Initial LMDB map size; the map doubles whenever it fills."),
    K(E_MAX_MAP_SIZE, "store", "max_map_size", DD_CONF_SIZE, "0", 0, 0, NULL, false,
      "The map never grows beyond this; 0 means no limit but the disk."),
    K(E_READER_CHECK_INTERVAL, "store", "reader_check_interval", DD_CONF_DURATION, "60s", 1000,
      DAY, NULL, false, "How often stale LMDB reader slots of killed processes are cleared."),
    K(E_REGISTRY_JOURNAL_MAX, "store", "registry_journal_max", DD_CONF_INT, "4000000", 1,
      100000000, NULL, false,
      "Registry writes (a changed person or household) appended to the households journal "
      "before it is folded into the households database in key order. More: fewer random page "
      "writes per changed household, more memory (a copy of the record and about 100 bytes each) and a longer fold; "
      "replays with the same value store the same databases."),
    K(E_REGISTRY_FOLD_PACE, "store", "registry_fold_pace", DD_CONF_INT, "0", 0, 1000000, NULL,
      false,
      "A full journal is folded a little after every record: this many households plus two "
      "for every journal write of the record, in key order, while records go on being applied "
      "(a whole fold of millions of records would stop eligibility for seconds). 0: the whole "
      "journal at once. Replays with the same value store the same databases."),
    K(E_REGISTRY_IDLE_FOLD_ENTRIES, "store", "registry_idle_fold_entries", DD_CONF_INT, "500000",
      0, 100000000, NULL, true,
      "When intake has had nothing new for a whole fetch_wait, every known consumer of the log "
      "has read it to its head and the households journal holds "
      "at least this many entries, the journal is folded then, so the next burst of records "
      "(a department's monthly batch) starts with an empty journal instead of stopping for a "
      "fold midway. 0: fold only when full. Replays then store the same registry, split "
      "differently between the journal and the households database."),
    K(E_CASELOAD_RECOUNT, "store", "caseload_recount", DD_CONF_BOOL, "false", 0, 0, NULL, false,
      "Count the caseload (persons eligible and enrolled, and the monthly amounts, by county "
      "and program; doudictl caseload) again from every household at start-up, before the "
      "first batch (a province's registry: a few seconds). It is kept as households change "
      "and counted once by itself for a data directory that never had it; this is for an "
      "operator who wants it counted afresh."),
    K(E_LOG_RETENTION, "log", "retention", DD_CONF_DURATION, "7d", 0, 3650 * DAY, NULL, true,
      "Output records are trimmed only when this old AND consumed by every known consumer."),
    K(E_LOG_CONSUMERS, "log", "consumers", DD_CONF_STRING, "scheduler", 0, 0, NULL, false,
      "Comma-separated consumers whose cursors hold back trimming before they first connect."),
    K(E_LOG_TRIM_INTERVAL, "log", "trim_interval", DD_CONF_DURATION, "10s", 100, DAY, NULL, true,
      "How often trimming runs."),
    K(E_LOG_FETCH_MAX_RECORDS, "log", "fetch_max_records", DD_CONF_INT, "50000", 1, 1000000,
      NULL, false, "Most records in one fetch reply."),
    K(E_LOG_FETCH_MAX_BYTES, "log", "fetch_max_bytes", DD_CONF_SIZE, "16M", 4096, 1LL << 30,
      NULL, false, "Most payload bytes in one fetch reply."),
    K(E_LOG_FETCH_MAX_WAIT, "log", "fetch_max_wait", DD_CONF_DURATION, "30s", 0, 3600000, NULL,
      false, "Longest a fetch may wait for new records (long poll)."),
    DD_STAGE_AUTH_SETTINGS(E_AUTH_KEY_FILE, E_AUTH_CLIENTS_FILE,
                           E_AUTH_UPSTREAM_KEY_FILE),
};
