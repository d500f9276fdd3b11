/*
 * stage.h: the skeleton every daemon in the middle of the chain shares
 * (doudi-eligibility, doudi-scheduler, doudi-alerts): a daemon that consumes
 * an upstream log and serves a log of its own.
 *
 * A stage owns: the configuration in force, the metrics registry with its
 * HTTP endpoint, the LMDB store with its doudi_lmdb_* metrics, the output
 * log (retention, required consumers, fetch server, trimming), the ZeroMQ
 * context, the consumer of the upstream log, an optional query ROUTER
 * answered by the daemon (one request frame in, one reply frame out), and
 * the maintenance timer: every min(trim_interval, 1 s) it trims the log on
 * the daemon's event clock (every trim_interval), clears stale LMDB reader
 * slots (every reader_check_interval) and refreshes the gauges. On SIGHUP it
 * applies the keys every stage reloads (log level, log retention, trim
 * interval, the CURVE clients file) and warns about changed keys that need a
 * restart.
 *
 * CURVE: with [auth] key_file set, the log and query endpoints are CURVE
 * servers that let in the readers and operators of [auth] clients_file
 * (dd_stage_auth gives the daemon the same handler for its own sockets);
 * with [auth] upstream_key_file set, the upstream's log is fetched over
 * CURVE with this daemon's key pair, which the upstream's clients file must
 * list as a reader.
 *
 * The daemon keeps what is its own: its databases and engine, its apply
 * function and store participant, its extra sockets and timers, its metric
 * table and updates, its settings table. It describes itself once in a
 * static dd_stage_spec (which keys of its table hold the common settings,
 * and hooks the stage calls back with the daemon as arg).
 *
 *   dd_stage_new ----------> NEW      registry; log level; owns config
 *     | dd_stage_register_metrics     the daemon's families (first, so they
 *     |                               render first)
 *     | dd_stage_open_store
 *     v
 *   OPEN      store, doudi_lmdb_*, log (not served), ZeroMQ context;
 *     |       the daemon now opens its databases, engine and sockets
 *     | dd_stage_start
 *     v
 *   RUNNING   log served, queries served, consumer fetching, metrics on
 *     |       HTTP, maintenance timer; dd_stage_reload on SIGHUP
 *     | dd_stage_stop
 *     v
 *   STOPPED   consumer stopped, parked fetches answered, loop broken
 *     | dd_stage_destroy (from any state, also after a failed set-up)
 *     v
 *   freed:    HTTP, maintenance, consumer, query socket, then hook
 *             close_sockets, log, ZeroMQ context, then hook close_state,
 *             store metrics, store, registry, configuration
 *
 * Contract: the hooks run in the loop thread; close_sockets and close_state
 * run on every dd_stage_destroy, whatever the set-up reached, so they must
 * accept the daemon's fields still NULL. The daemon stops its own watchers
 * before dd_stage_destroy. The daemon's dd_metric / dd_series handles live
 * until dd_stage_destroy.
 */
#ifndef DD_STAGE_H
#define DD_STAGE_H

#include <ev.h>
#include <lmdb.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "config.h"
#include "consumer.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

typedef struct dd_stage dd_stage;

/* A key a daemon does not have (only where dd_stage_keys says so). */
#define DD_STAGE_NO_KEY ((size_t)-1)

/*
 * The [auth] keys of a stage, for the daemon's settings table: the indexes
 * of its key_file, clients_file and upstream_key_file entries.
 */
#define DD_STAGE_AUTH_SETTINGS(key_file, clients_file, upstream_key_file)                       \
    [key_file] = {"auth", "key_file", DD_CONF_STRING, "", 0, 0, NULL, false,                    \
                  "This daemon's CURVE key pair (doudictl keygen). Empty: its log and query "    \
                  "endpoints speak plain ZeroMQ (loopback, or a network only trusted parties "  \
                  "reach). Set: they take only CURVE clients listed in clients_file as readers " \
                  "(-) or operators (*)."},                                                      \
    [clients_file] = {"auth", "clients_file", DD_CONF_STRING, "", 0, 0, NULL, true,             \
                      "The clients let in when key_file is set: a line per client, NAME "       \
                      "PUBLIC-KEY GRANT (- for a reader, * for an operator; a list of sources " \
                      "grants nothing here). Read again on SIGHUP."},                           \
    [upstream_key_file] = {"auth", "upstream_key_file", DD_CONF_STRING, "", 0, 0, NULL, false,  \
                           "The upstream daemon's CURVE public key (the .pub beside its "       \
                           "key_file). Set: its log is fetched over CURVE with this daemon's "  \
                           "key_file, whose public key the upstream's clients_file must list "  \
                           "as a reader (-)."}

/* Where the common settings are in the daemon's key table (config.h). */
typedef struct dd_stage_keys {
    size_t data_dir, map_size, max_map_size, reader_check_interval;
    size_t log_level, metrics_listen;
    size_t log_endpoint, log_retention, log_consumers, log_trim_interval;
    size_t log_fetch_max_records;
    size_t log_fetch_max_bytes, log_fetch_max_wait; /* or DD_STAGE_NO_KEY: log.h's caps */
    size_t consumer_name, upstream_endpoint, fetch_records, fetch_wait;
    size_t upstream_name;  /* or DD_STAGE_NO_KEY: dd_stage_spec.upstream */
    size_t query_endpoint; /* or DD_STAGE_NO_KEY: no query ROUTER */
    /* CURVE (zauth.h): this daemon's key pair, the clients its log and
     * query endpoints let in, the upstream's public key. */
    size_t auth_key_file, auth_clients_file, auth_upstream_key_file;
} dd_stage_keys;

/*
 * Answers one query: request is the last frame received (at most the ZeroMQ
 * message cap). Sets *reply to the encoded reply (memory from arena, which
 * is reset after the reply is sent) and returns true when that reply carries
 * an error (counted as result="error", else "ok").
 */
typedef bool (*dd_stage_answer_fn)(void *arg, dd_arena *arena, const uint8_t *request,
                                   size_t len, uint8_t **reply, size_t *reply_len);

typedef struct dd_stage_spec {
    const dd_conf_key *settings; /* the daemon's whole table, for SIGHUP */
    size_t nsettings;
    dd_stage_keys keys;
    const char *upstream;        /* the cursor's name when keys.upstream_name is none */
    const uint32_t *kinds;       /* upstream kinds wanted; NULL: all */
    size_t nkinds;
    unsigned max_dbs;            /* named LMDB databases; 0: store.h's default */
    bool random_reads;           /* dd_store_options.random_reads */
    bool log_endpoint_optional;  /* an empty log endpoint serves no log */
    const char *log_noun;        /* "log" in "log trim failed: ..." */
    /* Queries (keys.query_endpoint): answer, counted in the labelled
     * counter family named query_metric (result = ok | error). */
    dd_stage_answer_fn answer;
    const char *query_metric;

    /* Hooks; arg is the one given to dd_stage_new. */
    dd_consumer_apply_fn apply;           /* required: see consumer.h */
    int64_t (*event_clock_ms)(void *arg); /* required: the clock trimming runs on */
    /* optional: before each trim pass; a failure skips the pass (what it
     * keeps depends on the records the trim would take) */
    int (*before_trim)(void *arg);
    void (*after_trim)(void *arg);        /* optional: after a trim pass that succeeded */
    void (*idle)(void *arg);              /* optional: caught up (dd_consumer_set_idle) */
    void (*update_gauges)(void *arg);     /* optional: the daemon's gauges */
    void (*close_sockets)(void *arg);     /* optional: before the ZeroMQ context ends */
    void (*close_state)(void *arg);       /* optional: before the store closes */
} dd_stage_spec;

/*
 * Creates a stage in state NEW: takes ownership of config (also when a
 * later step fails: dd_stage_destroy frees it), sets the log level from it.
 * spec must outlive the stage. Never fails.
 */
dd_stage *dd_stage_new(struct ev_loop *loop, dd_config *config, const dd_stage_spec *spec,
                       void *arg);

/*
 * Registers the daemon's metric families (metrics.h) and fills series[i]
 * with the one series of every family without a label (NULL otherwise).
 * Returns 0 or DD_ECONFIG (as dd_metrics_register).
 */
int dd_stage_register_metrics(dd_stage *stage, const dd_metric_def *defs, size_t n,
                              dd_metric **families, dd_series **series);

/*
 * NEW -> OPEN: opens the store (data_dir, map sizes, max_dbs), its metrics,
 * the log (retention, fetch caps, required consumers) and the ZeroMQ
 * context. Returns 0, -errno or an LMDB code.
 */
int dd_stage_open_store(dd_stage *stage);

/*
 * OPEN -> RUNNING: serves the log, binds the query ROUTER (when the spec
 * has one), creates the consumer, serves the metrics over HTTP (unless
 * metrics_listen is empty; a failure is logged), starts the maintenance
 * timer and the consumer. Returns 0 or an error; dd_stage_destroy cleans up.
 */
int dd_stage_start(dd_stage *stage);

/*
 * SIGHUP: warns about every changed key that is not reloadable, applies the
 * log level, log retention and trim interval, reads the CURVE clients file
 * again (a file that does not read keeps the old list: zauth.h), and takes
 * ownership of config in place of the running one. Logs nothing else: the
 * daemon says what it reloaded.
 */
void dd_stage_reload(dd_stage *stage, dd_config *config);

/* RUNNING -> STOPPED: stops consuming, answers parked fetches, breaks the loop. */
void dd_stage_stop(dd_stage *stage);

/* Runs hook update_gauges and refreshes the store and log gauges (what the
 * maintenance timer does on every tick). */
void dd_stage_update_gauges(dd_stage *stage);

/* Frees everything in the order of the picture above; accepts NULL, nulls *stage. */
void dd_stage_destroy(dd_stage **stage);

/* Borrowed handles, valid until dd_stage_destroy (NULL before the state
 * that makes them). */
dd_config *dd_stage_config(dd_stage *stage);
dd_metrics *dd_stage_metrics(dd_stage *stage);
dd_store *dd_stage_store(dd_stage *stage);
dd_log *dd_stage_log(dd_stage *stage);
void *dd_stage_zctx(dd_stage *stage);
dd_consumer *dd_stage_consumer(dd_stage *stage);
/* The CURVE handler (after dd_stage_open_store), or NULL when [auth]
 * key_file is empty. */
struct dd_zauth *dd_stage_auth(dd_stage *stage);

/*
 * A metric label from a protobuf enum value: its name without prefix, in
 * lower case ("ALERT_KIND_RISK" -> "risk"; "unknown" for a value not in
 * the enum). Writes at most len bytes into buf; returns buf.
 */
const char *dd_stage_enum_label(const ProtobufCEnumDescriptor *descriptor, int value,
                                const char *prefix, char *buf, size_t len);

#endif
