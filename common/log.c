/*
 * log.c: the durable log and its fetch server (see log.h for the contract,
 * the on-disk layout and the pending/committed head picture).
 */
#include "log.h"

#include "alloc.h"
#include "clock.h"
#include "diag.h"
#include "error.h"
#include "evzmq.h"
#include "zauth.h"
#include "wire.h"

#include "doudi/log.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define CONSUMER_NAME_MAX 64
#define ROUTING_ID_MAX 256

#define LOG_METRICS(X)                                                                   \
    X(M_HEAD, "doudi_log_head_sequence", DD_METRIC_GAUGE,                                \
      "Last committed sequence of this daemon's output log.", NULL, NULL, 0)            \
    X(M_FIRST, "doudi_log_first_sequence", DD_METRIC_GAUGE,                              \
      "First sequence still held in the log (0 when empty).", NULL, NULL, 0)            \
    X(M_LENGTH, "doudi_log_records", DD_METRIC_GAUGE,                                    \
      "Records held in the log.", NULL, NULL, 0)                                         \
    X(M_APPENDED, "doudi_log_appended_total", DD_METRIC_COUNTER,                         \
      "Records appended and committed.", NULL, NULL, 0)                                  \
    X(M_TRIMMED, "doudi_log_trimmed_total", DD_METRIC_COUNTER,                           \
      "Records trimmed after every consumer passed them and the retention ended.",      \
      NULL, NULL, 0)                                                                     \
    X(M_FETCHES, "doudi_log_fetch_requests_total", DD_METRIC_COUNTER,                    \
      "Fetch requests answered, by status.", "status", NULL, 0)                          \
    X(M_SENT, "doudi_log_fetch_records_sent_total", DD_METRIC_COUNTER,                   \
      "Records sent to consumers.", NULL, NULL, 0)                                       \
    X(M_BATCH, "doudi_log_fetch_batch_records", DD_METRIC_HISTOGRAM,                     \
      "Records per fetch reply.", NULL, dd_buckets_batch, DD_BUCKETS_BATCH_N)                             \
    X(M_PARKED, "doudi_log_parked_fetches", DD_METRIC_GAUGE,                             \
      "Fetch requests waiting for new records (long poll).", NULL, NULL, 0)             \
    X(M_LAG, "doudi_log_consumer_lag_records", DD_METRIC_GAUGE,                          \
      "Records committed that a consumer has not yet reported consumed.", "consumer",   \
      NULL, 0)                                                                           \
    X(M_CURSOR, "doudi_log_consumer_cursor", DD_METRIC_GAUGE,                            \
      "Last sequence a consumer reported consumed.", "consumer", NULL, 0)               \
    X(M_SEND_FAIL, "doudi_log_send_failures_total", DD_METRIC_COUNTER,                   \
      "Fetch replies that could not be sent, by reason (again: peer at its high-water " \
      "mark; unreachable: peer gone).", "reason", NULL, 0)                               \
    X(M_BAD, "doudi_log_bad_requests_total", DD_METRIC_COUNTER,                          \
      "Fetch messages refused, by reason.", "reason", NULL, 0)

enum { LOG_METRICS(DD_METRIC_ENUM) LOG_METRIC_COUNT };

typedef struct consumer {
    char name[CONSUMER_NAME_MAX + 1];
    uint64_t cursor;
    bool dirty; /* reported since the last trim pass wrote it */
    dd_series *lag, *cursor_gauge;
} consumer;

typedef struct parked_fetch {
    struct parked_fetch *next;
    uint8_t routing_id[ROUTING_ID_MAX];
    size_t routing_id_len;
    bool delimiter; /* the request came from a REQ socket */
    uint64_t request_id;
    uint64_t after;
    uint32_t max_records, max_bytes;
    uint32_t *kinds;
    size_t nkinds;
    int64_t deadline_ns;
} parked_fetch;

struct dd_log {
    dd_store *store;
    struct dd_zauth *auth; /* NULL: plain ZeroMQ */
    MDB_dbi records, consumers_db;
    uint64_t head;  /* committed */
    uint64_t next;  /* next sequence to hand out in the open transaction */
    uint64_t first; /* first held; 0 when empty */
    uint64_t appended_pending;
    /* Appends of one transaction share a cursor left at the log's end, so
     * MDB_APPEND does not descend the tree again for every record. LMDB
     * frees it with its transaction; the id tells a later transaction at
     * the same address apart. */
    MDB_cursor *append_cursor;
    MDB_txn *append_txn;
    size_t append_txn_id;
    dd_log_options opt;

    consumer *consumers;
    size_t nconsumers, consumers_cap;

    void *router;
    struct ev_loop *loop;
    dd_evzmq watcher;
    ev_timer park_timer;
    parked_fetch *parked;
    size_t nparked;

    dd_metrics *metrics;
    dd_metric *m[LOG_METRIC_COUNT];
    dd_series *s_head, *s_first, *s_length, *s_appended, *s_trimmed, *s_sent, *s_batch,
        *s_parked;
};

/* ---- consumers ---------------------------------------------------------- */

static consumer *find_consumer(dd_log *log, const char *name, size_t len, bool create)
{
    for (size_t i = 0; i < log->nconsumers; i++)
        if (strlen(log->consumers[i].name) == len && memcmp(log->consumers[i].name, name, len) == 0)
            return &log->consumers[i];
    if (!create)
        return NULL;
    if (log->nconsumers == log->consumers_cap) {
        log->consumers_cap = log->consumers_cap ? log->consumers_cap * 2 : 8;
        log->consumers = dd_realloc(log->consumers, log->consumers_cap * sizeof(consumer));
    }
    consumer *c = &log->consumers[log->nconsumers++];
    memset(c, 0, sizeof(*c));
    memcpy(c->name, name, len);
    c->name[len] = '\0';
    if (log->metrics) {
        c->lag = dd_metric_series(log->m[M_LAG], c->name);
        c->cursor_gauge = dd_metric_series(log->m[M_CURSOR], c->name);
    }
    return c;
}

static bool consumer_name_ok(const char *s, size_t len)
{
    if (len > CONSUMER_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '-'))
            return false;
    }
    return true;
}

uint64_t dd_log_slowest_consumer(const dd_log *log)
{
    uint64_t slowest = UINT64_MAX;
    for (size_t i = 0; i < log->nconsumers; i++)
        if (log->consumers[i].cursor < slowest)
            slowest = log->consumers[i].cursor;
    return slowest;
}

void dd_log_update_metrics(dd_log *log)
{
    if (!log->metrics)
        return;
    dd_series_set(log->s_head, (double)log->head);
    dd_series_set(log->s_first, (double)log->first);
    dd_series_set(log->s_length, log->first ? (double)(log->head - log->first + 1) : 0);
    dd_series_set(log->s_parked, (double)log->nparked);
    for (size_t i = 0; i < log->nconsumers; i++) {
        consumer *c = &log->consumers[i];
        dd_series_set(c->cursor_gauge, (double)c->cursor);
        dd_series_set(c->lag, c->cursor < log->head ? (double)(log->head - c->cursor) : 0);
    }
}

/* ---- open / append ------------------------------------------------------ */

static void log_committed(void *arg);
static void log_aborted(void *arg);

static int load_state(dd_log *log)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_txn_begin(dd_store_env(log->store), NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    if ((rc = mdb_cursor_open(txn, log->records, &cur)) != 0)
        goto out;
    if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0) {
        memcpy(&log->first, k.mv_data, sizeof(uint64_t));
        mdb_cursor_get(cur, &k, &v, MDB_LAST);
        memcpy(&log->head, k.mv_data, sizeof(uint64_t));
    }
    mdb_cursor_close(cur);
    if ((rc = mdb_cursor_open(txn, log->consumers_db, &cur)) != 0)
        goto out;
    while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
        if (v.mv_size != sizeof(uint64_t) || k.mv_size > CONSUMER_NAME_MAX) {
            rc = DD_ECORRUPT;
            break;
        }
        consumer *c = find_consumer(log, k.mv_data, k.mv_size, true);
        memcpy(&c->cursor, v.mv_data, sizeof(uint64_t));
    }
    mdb_cursor_close(cur);
out:
    mdb_txn_abort(txn);
    return rc;
}

int dd_log_open(dd_store *store, const dd_log_options *options, dd_metrics *metrics,
                dd_log **out)
{
    dd_log *log = dd_calloc(1, sizeof(*log));
    log->store = store;
    if (options)
        log->opt = *options;
    if (!log->opt.default_max_records)
        log->opt.default_max_records = 1000;
    if (!log->opt.max_records)
        log->opt.max_records = 10000;
    if (!log->opt.max_bytes)
        log->opt.max_bytes = 8u << 20;
    if (!log->opt.max_wait_ms)
        log->opt.max_wait_ms = 30000;
    if (!log->opt.trim_batch)
        log->opt.trim_batch = 100000;
    if (!log->opt.max_message_bytes)
        log->opt.max_message_bytes = 1 << 20;

    if (metrics) {
        static const dd_metric_def defs[] = {LOG_METRICS(DD_METRIC_DEF)};
        if (dd_metrics_register(metrics, defs, LOG_METRIC_COUNT, log->m) != 0) {
            free(log);
            return DD_ECONFIG;
        }
        log->metrics = metrics;
        log->s_head = dd_metric_series(log->m[M_HEAD], NULL);
        log->s_first = dd_metric_series(log->m[M_FIRST], NULL);
        log->s_length = dd_metric_series(log->m[M_LENGTH], NULL);
        log->s_appended = dd_metric_series(log->m[M_APPENDED], NULL);
        log->s_trimmed = dd_metric_series(log->m[M_TRIMMED], NULL);
        log->s_sent = dd_metric_series(log->m[M_SENT], NULL);
        log->s_batch = dd_metric_series(log->m[M_BATCH], NULL);
        log->s_parked = dd_metric_series(log->m[M_PARKED], NULL);
    }

    int rc = dd_store_dbi(store, "log", MDB_INTEGERKEY, &log->records);
    if (!rc)
        rc = dd_store_dbi(store, "log_consumers", 0, &log->consumers_db);
    if (!rc)
        rc = load_state(log);
    if (rc) {
        dd_error("cannot open the log: %s", dd_strerror(rc));
        free(log->consumers);
        free(log);
        return rc;
    }
    for (size_t i = 0; i < log->opt.nrequired; i++) {
        const char *name = log->opt.required_consumers[i];
        find_consumer(log, name, strlen(name), true); /* cursor 0 unless stored */
    }
    log->next = log->head + 1;
    dd_store_participant p = {log_committed, log_aborted, log};
    dd_store_add_participant(store, &p);
    dd_log_update_metrics(log);
    *out = log;
    return 0;
}

int dd_log_append(dd_log *log, MDB_txn *txn, uint32_t kind, int64_t appended_at_ms,
                  const void *payload, size_t len, uint64_t *seq)
{
    uint64_t s = log->next;
    MDB_val k = dd_store_u64_key(&s);
    MDB_val v = {sizeof(dd_log_header) + len, NULL};
    size_t txn_id = mdb_txn_id(txn);
    if (log->append_txn != txn || log->append_txn_id != txn_id || !log->append_cursor) {
        log->append_cursor = NULL;
        int rc = mdb_cursor_open(txn, log->records, &log->append_cursor);
        if (rc) {
            log->append_cursor = NULL;
            return rc;
        }
        log->append_txn = txn;
        log->append_txn_id = txn_id;
    }
    int rc = mdb_cursor_put(log->append_cursor, &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc)
        return rc;
    dd_log_header h = {appended_at_ms, kind, 0};
    memcpy(v.mv_data, &h, sizeof(h));
    memcpy((char *)v.mv_data + sizeof(h), payload, len);
    log->next++;
    log->appended_pending++;
    if (seq)
        *seq = s;
    return 0;
}

uint64_t dd_log_head(const dd_log *log) { return log->head; }
uint64_t dd_log_next(const dd_log *log) { return log->next; }
uint64_t dd_log_first(const dd_log *log) { return log->first; }

int dd_log_get(dd_log *log, MDB_txn *txn, uint64_t seq, dd_log_header *header,
               const void **payload, size_t *len)
{
    MDB_val k = dd_store_u64_key(&seq), v;
    int rc = mdb_get(txn, log->records, &k, &v);
    if (rc == MDB_NOTFOUND)
        return DD_NOTFOUND;
    if (rc)
        return rc;
    if (v.mv_size < sizeof(dd_log_header))
        return DD_ECORRUPT;
    if (header)
        memcpy(header, v.mv_data, sizeof(*header));
    *payload = (const char *)v.mv_data + sizeof(dd_log_header);
    *len = v.mv_size - sizeof(dd_log_header);
    return 0;
}

/* ---- fetch server ------------------------------------------------------- */

static void count_fetch(dd_log *log, const char *status)
{
    if (log->metrics)
        dd_series_inc(dd_metric_series(log->m[M_FETCHES], status), 1);
}

static void count(dd_log *log, int metric, const char *label)
{
    if (log->metrics)
        dd_series_inc(dd_metric_series(log->m[metric], label), 1);
}

static void free_reply_buffer(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/*
 * Sends buf[0..len-1] (from dd_malloc) as the reply to rid and frees it.
 * A reply can be megabytes of records: ZeroMQ takes the buffer itself
 * instead of a copy, and frees it once its I/O thread has written it.
 */
static void send_buffer(dd_log *log, const uint8_t *rid, size_t rid_len, bool delimiter,
                        uint8_t *buf, size_t len)
{
    int rc = 0;
    zmq_msg_t body;
    zmq_msg_init_data(&body, buf, len, free_reply_buffer, NULL);
    /* A ROUTER refuses a whole message at its first frame, so a failure
     * never leaves half a message behind. */
    if (zmq_send(log->router, rid, rid_len, ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0 ||
        (delimiter && zmq_send(log->router, "", 0, ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0) ||
        zmq_msg_send(&body, log->router, ZMQ_DONTWAIT) < 0)
        rc = errno == EAGAIN ? DD_AGAIN : -errno;
    zmq_msg_close(&body); /* after a send: a no-op; otherwise frees buf */
    if (rc == DD_AGAIN)
        count(log, M_SEND_FAIL, "again");
    else if (rc == -EHOSTUNREACH)
        count(log, M_SEND_FAIL, "unreachable");
    else if (rc)
        count(log, M_SEND_FAIL, "other");
}

static void send_reply(dd_log *log, const uint8_t *rid, size_t rid_len, bool delimiter,
                       const Doudi__FetchReply *reply)
{
    size_t len = doudi__fetch_reply__get_packed_size(reply);
    uint8_t *buf = dd_malloc(len ? len : 1);
    doudi__fetch_reply__pack(reply, buf);
    send_buffer(log, rid, rid_len, delimiter, buf, len);
}

/* ---- the FetchReply of records, encoded by hand ------------------------- */

/*
 * A reply of 50,000 records packed by protobuf-c costs a LogRecord struct
 * per record, two passes over them (sizes, then bytes) and a copy into
 * ZeroMQ. The layout is fixed by log.proto, so the reply is written
 * directly from the LMDB values in one copy, in protobuf-c's field order
 * with proto3's zero fields left out: the same bytes it would produce.
 */
enum {
    REPLY_REQUEST_ID = 1,
    REPLY_STATUS = 2,
    REPLY_RECORDS = 4,
    REPLY_SCANNED = 5,
    REPLY_HEAD = 6,
    REPLY_FIRST = 7,
    RECORD_SEQUENCE = 1,
    RECORD_KIND = 2,
    RECORD_APPENDED_AT = 3,
    RECORD_PAYLOAD = 4,
};

typedef struct reply_record {
    uint64_t sequence;
    int64_t appended_at_ms;
    const uint8_t *payload;
    size_t len;
    uint32_t kind;
    uint32_t body; /* encoded size of the LogRecord */
} reply_record;

/* A varint field, left out when 0 as proto3 wants. */
static inline size_t uint_field_size(uint64_t v)
{
    return v ? 1 + dd_wire_varint_size(v) : 0;
}

static inline uint8_t *put_uint_field(uint8_t *p, unsigned number, uint64_t v)
{
    if (!v)
        return p;
    *p++ = (uint8_t)(number << 3 | DD_WIRE_VARINT);
    return p + dd_wire_put_varint(p, v);
}

static uint32_t record_body_size(const reply_record *r)
{
    size_t n = uint_field_size(r->sequence) + uint_field_size(r->kind) +
               uint_field_size((uint64_t)r->appended_at_ms);
    if (r->len)
        n += 1 + dd_wire_varint_size(r->len) + r->len;
    return (uint32_t)n;
}

/* Encodes an OK FetchReply of recs[0..n-1]; returns the buffer (dd_malloc). */
static uint8_t *encode_records_reply(const dd_log *log, uint64_t request_id, uint64_t scanned,
                                     const reply_record *recs, size_t n, size_t *len_out)
{
    size_t len = uint_field_size(request_id) + uint_field_size(DOUDI__FETCH_STATUS__FETCH_STATUS_OK) +
                 uint_field_size(scanned) + uint_field_size(log->head) +
                 uint_field_size(log->first);
    for (size_t i = 0; i < n; i++)
        len += 1 + dd_wire_varint_size(recs[i].body) + recs[i].body;
    uint8_t *buf = dd_malloc(len ? len : 1);
    uint8_t *p = buf;
    p = put_uint_field(p, REPLY_REQUEST_ID, request_id);
    p = put_uint_field(p, REPLY_STATUS, DOUDI__FETCH_STATUS__FETCH_STATUS_OK);
    for (size_t i = 0; i < n; i++) {
        const reply_record *r = &recs[i];
        *p++ = REPLY_RECORDS << 3 | DD_WIRE_LENGTH;
        p += dd_wire_put_varint(p, r->body);
        p = put_uint_field(p, RECORD_SEQUENCE, r->sequence);
        p = put_uint_field(p, RECORD_KIND, r->kind);
        p = put_uint_field(p, RECORD_APPENDED_AT, (uint64_t)r->appended_at_ms);
        if (r->len) {
            *p++ = RECORD_PAYLOAD << 3 | DD_WIRE_LENGTH;
            p += dd_wire_put_varint(p, r->len);
            memcpy(p, r->payload, r->len);
            p += r->len;
        }
    }
    p = put_uint_field(p, REPLY_SCANNED, scanned);
    p = put_uint_field(p, REPLY_HEAD, log->head);
    p = put_uint_field(p, REPLY_FIRST, log->first);
    *len_out = (size_t)(p - buf);
    return buf;
}

static void send_status(dd_log *log, const uint8_t *rid, size_t rid_len, bool delimiter,
                        uint64_t request_id, Doudi__FetchStatus status, const char *text)
{
    Doudi__FetchReply reply = DOUDI__FETCH_REPLY__INIT;
    reply.request_id = request_id;
    reply.status = status;
    reply.error_text = (char *)text;
    reply.head_sequence = log->head;
    reply.first_sequence = log->first;
    send_reply(log, rid, rid_len, delimiter, &reply);
}

static bool kind_wanted(const uint32_t *kinds, size_t nkinds, uint32_t kind)
{
    if (nkinds == 0)
        return true;
    for (size_t i = 0; i < nkinds; i++)
        if (kinds[i] == kind)
            return true;
    return false;
}

/*
 * Scans records after `after` into a reply and sends it. Returns false
 * (sending nothing) when nothing at all is left to scan, so the caller can
 * park the request; *scanned gets how far the scan went.
 */
static bool answer_from_log(dd_log *log, const parked_fetch *f, bool send_empty,
                            uint64_t *scanned_out)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t after = f->after;
    *scanned_out = after;
    if (after >= log->head && !send_empty)
        return false;

    uint32_t max_records = f->max_records ? f->max_records : log->opt.default_max_records;
    if (max_records > log->opt.max_records)
        max_records = log->opt.max_records;
    uint32_t max_bytes = f->max_bytes && f->max_bytes < log->opt.max_bytes ? f->max_bytes
                                                                             : log->opt.max_bytes;
    /* Filtering by kind may skip many records: bound the scan too. */
    uint64_t max_scan = (uint64_t)max_records * 16 + 100000;

    reply_record *recs = dd_malloc(max_records * sizeof(*recs));
    size_t n = 0, bytes = 0;
    uint64_t scanned = after;

    int rc = mdb_txn_begin(dd_store_env(log->store), NULL, MDB_RDONLY, &txn);
    if (rc == 0) {
        rc = mdb_cursor_open(txn, log->records, &cur);
        if (rc == 0) {
            uint64_t start = after + 1;
            k = dd_store_u64_key(&start);
            int op = MDB_SET_RANGE;
            uint64_t nscanned = 0;
            while (n < max_records && nscanned < max_scan &&
                   mdb_cursor_get(cur, &k, &v, op) == 0) {
                op = MDB_NEXT;
                uint64_t seq;
                memcpy(&seq, k.mv_data, sizeof(seq));
                if (seq > log->head) /* appended in a transaction not yet committed */
                    break;
                if (v.mv_size < sizeof(dd_log_header))
                    break;
                dd_log_header h;
                memcpy(&h, v.mv_data, sizeof(h));
                size_t plen = v.mv_size - sizeof(h);
                if (n > 0 && bytes + plen > max_bytes)
                    break;
                nscanned++;
                scanned = seq;
                if (!kind_wanted(f->kinds, f->nkinds, h.kind))
                    continue;
                reply_record *r = &recs[n++];
                r->sequence = seq;
                r->kind = h.kind;
                r->appended_at_ms = h.appended_at_ms;
                r->payload = (const uint8_t *)v.mv_data + sizeof(h);
                r->len = plen;
                r->body = record_body_size(r);
                bytes += plen;
            }
            mdb_cursor_close(cur);
        }
    }
    *scanned_out = scanned;
    bool sent = false;
    /* Nothing wanted up to the head: better to park than to answer empty. */
    bool worth_sending = n > 0 || send_empty || (scanned > after && scanned < log->head);
    if (rc == 0 && worth_sending) {
        /* Payloads point into the map: encode before the transaction ends. */
        size_t len;
        uint8_t *buf = encode_records_reply(log, f->request_id, scanned, recs, n, &len);
        send_buffer(log, f->routing_id, f->routing_id_len, f->delimiter, buf, len);
        count_fetch(log, "ok");
        if (log->metrics) {
            dd_series_inc(log->s_sent, n);
            dd_series_observe(log->s_batch, (double)n);
        }
        sent = true;
    } else if (rc) {
        dd_error("log fetch: %s", dd_strerror(rc));
        send_status(log, f->routing_id, f->routing_id_len, f->delimiter, f->request_id,
                    DOUDI__FETCH_STATUS__FETCH_STATUS_BAD_REQUEST, "the producer could not read its log");
        sent = true;
    }
    if (txn)
        mdb_txn_abort(txn);
    free(recs);
    return sent;
}

static void free_parked(parked_fetch *f)
{
    free(f->kinds);
    free(f);
}

static void park_timer_cb(struct ev_loop *loop, ev_timer *t, int revents);

static void park(dd_log *log, parked_fetch *f)
{
    f->next = log->parked;
    log->parked = f;
    log->nparked++;
    if (!ev_is_active(&log->park_timer))
        ev_timer_again(log->loop, &log->park_timer);
    if (log->metrics)
        dd_series_set(log->s_parked, (double)log->nparked);
}

/* Answers parked requests that have records now, or whose wait expired. */
static void serve_parked(dd_log *log, bool release_all)
{
    int64_t now = dd_monotonic_ns();
    parked_fetch **pp = &log->parked;
    while (*pp) {
        parked_fetch *f = *pp;
        bool expired = release_all || now >= f->deadline_ns;
        uint64_t scanned;
        if (f->after < log->head || expired) {
            if (answer_from_log(log, f, expired, &scanned)) {
                *pp = f->next;
                log->nparked--;
                free_parked(f);
                continue;
            }
            f->after = scanned; /* everything so far was filtered out */
        }
        pp = &f->next;
    }
    if (!log->parked && log->loop)
        ev_timer_stop(log->loop, &log->park_timer);
    if (log->metrics)
        dd_series_set(log->s_parked, (double)log->nparked);
}

static void park_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    dd_log *log = t->data;
    serve_parked(log, false);
}

void dd_log_release_parked(dd_log *log)
{
    serve_parked(log, true);
}

static void handle_fetch(dd_log *log, dd_zmsg *msg)
{
    /* [routing id][payload] from a DEALER, [routing id][""][payload] from a REQ. */
    bool delimiter = msg->nframes == 3 && dd_zmsg_size(msg, 1) == 0;
    if (!(msg->nframes == 2 || delimiter) || dd_zmsg_size(msg, 0) > ROUTING_ID_MAX) {
        count(log, M_BAD, "bad_frames");
        return;
    }
    const uint8_t *rid = dd_zmsg_data(msg, 0);
    size_t rid_len = dd_zmsg_size(msg, 0);
    size_t last = msg->nframes - 1;
    Doudi__FetchRequest *req =
        doudi__fetch_request__unpack(NULL, dd_zmsg_size(msg, last), dd_zmsg_data(msg, last));
    if (!req) {
        count(log, M_BAD, "undecodable");
        count_fetch(log, "bad_request");
        send_status(log, rid, rid_len, delimiter, 0, DOUDI__FETCH_STATUS__FETCH_STATUS_BAD_REQUEST,
                    "the message is not a FetchRequest (log.proto)");
        return;
    }
    size_t name_len = strlen(req->consumer);
    if (!consumer_name_ok(req->consumer, name_len) || req->n_kinds > 256) {
        count(log, M_BAD, "bad_field");
        count_fetch(log, "bad_request");
        send_status(log, rid, rid_len, delimiter, req->request_id,
                    DOUDI__FETCH_STATUS__FETCH_STATUS_BAD_REQUEST,
                    req->n_kinds > 256 ? "at most 256 kinds may be named"
                                       : "consumer must be 0-64 bytes of [a-z0-9._-]");
        doudi__fetch_request__free_unpacked(req, NULL);
        return;
    }
    if (name_len) {
        consumer *c = find_consumer(log, req->consumer, name_len, true);
        /* A pipelined fetch asks past what the consumer has committed. */
        uint64_t committed = req->pipelined ? req->committed_sequence : req->after_sequence;
        if (committed > req->after_sequence)
            committed = req->after_sequence;
        if (c->cursor != committed && committed <= log->head) {
            c->cursor = committed;
            c->dirty = true;
        }
        if (log->metrics) {
            dd_series_set(c->cursor_gauge, (double)c->cursor);
            dd_series_set(c->lag, c->cursor < log->head ? (double)(log->head - c->cursor) : 0);
        }
    }
    if (req->after_sequence > log->head) {
        count_fetch(log, "ahead_of_log");
        send_status(log, rid, rid_len, delimiter, req->request_id,
                    DOUDI__FETCH_STATUS__FETCH_STATUS_AHEAD_OF_LOG,
                    "after_sequence is beyond this log's head: the consumer's state was not "
                    "produced by this log");
    } else if (log->first && req->after_sequence + 1 < log->first) {
        count_fetch(log, "trimmed");
        send_status(log, rid, rid_len, delimiter, req->request_id,
                    DOUDI__FETCH_STATUS__FETCH_STATUS_TRIMMED,
                    "the records after after_sequence were trimmed; the consumer must be rebuilt");
    } else {
        parked_fetch *f = dd_calloc(1, sizeof(*f));
        memcpy(f->routing_id, rid, rid_len);
        f->routing_id_len = rid_len;
        f->delimiter = delimiter;
        f->request_id = req->request_id;
        f->after = req->after_sequence;
        f->max_records = req->max_records;
        f->max_bytes = req->max_bytes;
        if (req->n_kinds) {
            f->kinds = dd_malloc(req->n_kinds * sizeof(uint32_t));
            memcpy(f->kinds, req->kinds, req->n_kinds * sizeof(uint32_t));
            f->nkinds = req->n_kinds;
        }
        uint32_t wait = req->wait_ms < log->opt.max_wait_ms ? req->wait_ms : log->opt.max_wait_ms;
        f->deadline_ns = dd_monotonic_ns() + (int64_t)wait * 1000000;
        uint64_t scanned;
        if (answer_from_log(log, f, wait == 0, &scanned)) {
            free_parked(f);
        } else {
            f->after = scanned;
            park(log, f);
        }
    }
    doudi__fetch_request__free_unpacked(req, NULL);
}

static void router_cb(struct ev_loop *loop, dd_evzmq *w, int revents)
{
    (void)loop;
    (void)revents;
    dd_log *log = w->data;
    for (int i = 0; i < 256; i++) {
        dd_zmsg msg;
        int rc = dd_zmsg_recv(log->router, &msg);
        if (rc == DD_AGAIN)
            break;
        if (rc) {
            dd_warn("log fetch socket: %s", dd_strerror(rc));
            break;
        }
        /* The routing id a ROUTER prepends has no User-Id: ask the peer's frame. */
        if (!log->auth ||
            dd_zauth_admit(log->auth, &msg.frames[msg.nheld - 1], DD_ZAUTH_READ) != NULL)
            handle_fetch(log, &msg);
        dd_zmsg_close(&msg);
    }
}

int dd_log_serve(dd_log *log, struct ev_loop *loop, void *zctx, const char *endpoint)
{
    log->router = dd_zsock_new(zctx, ZMQ_ROUTER, log->opt.max_message_bytes, 0);
    if (!log->router)
        return -EINVAL;
    int rc = log->auth ? dd_zauth_secure_server(log->auth, log->router, DD_ZAUTH_READ) : 0;
    if (rc)
        dd_error("cannot make %s a CURVE server: %s", endpoint, zmq_strerror(-rc));
    else
        rc = dd_zsock_bind(log->router, endpoint);
    if (rc) {
        zmq_close(log->router);
        log->router = NULL;
        return rc;
    }
    log->loop = loop;
    ev_init(&log->park_timer, park_timer_cb);
    log->park_timer.repeat = 0.02;
    log->park_timer.data = log;
    dd_evzmq_init(&log->watcher, log->router, EV_READ, router_cb, log);
    dd_evzmq_start(loop, &log->watcher);
    return 0;
}

void dd_log_set_auth(dd_log *log, struct dd_zauth *auth)
{
    log->auth = auth;
}

void dd_log_close(dd_log **logp)
{
    if (!logp || !*logp)
        return;
    dd_log *log = *logp;
    if (log->router) {
        dd_log_release_parked(log);
        dd_evzmq_stop(log->loop, &log->watcher);
        ev_timer_stop(log->loop, &log->park_timer);
        zmq_close(log->router);
    }
    while (log->parked) {
        parked_fetch *f = log->parked;
        log->parked = f->next;
        free_parked(f);
    }
    free(log->consumers);
    free(log);
    *logp = NULL;
}

/* ---- store participant -------------------------------------------------- */

static void log_committed(void *arg)
{
    dd_log *log = arg;
    log->append_cursor = NULL; /* LMDB freed it with the transaction */
    log->append_txn = NULL;
    if (log->next - 1 == log->head)
        return;
    if (log->first == 0)
        log->first = log->head + 1;
    log->head = log->next - 1;
    if (log->metrics)
        dd_series_inc(log->s_appended, log->appended_pending);
    log->appended_pending = 0;
    dd_log_update_metrics(log);
    if (log->parked)
        serve_parked(log, false);
}

static void log_aborted(void *arg)
{
    dd_log *log = arg;
    log->append_cursor = NULL;
    log->append_txn = NULL;
    log->next = log->head + 1;
    log->appended_pending = 0;
}

/* ---- trimming ----------------------------------------------------------- */

typedef struct trim_job {
    dd_log *log;
    int64_t cutoff_ms;
    uint64_t limit;   /* highest sequence that may go */
    uint64_t trimmed;
    uint64_t new_first;
} trim_job;

static int trim_fn(MDB_txn *txn, void *arg)
{
    trim_job *job = arg;
    dd_log *log = job->log;
    job->trimmed = 0;
    job->new_first = log->first;
    for (size_t i = 0; i < log->nconsumers; i++) {
        consumer *c = &log->consumers[i];
        if (!c->dirty)
            continue;
        MDB_val k = {strlen(c->name), c->name}, v = {sizeof(c->cursor), &c->cursor};
        int rc = mdb_put(txn, log->consumers_db, &k, &v, 0);
        if (rc)
            return rc;
    }
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, log->records, &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    while (job->trimmed < log->opt.trim_batch && mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0) {
        uint64_t seq;
        dd_log_header h;
        memcpy(&seq, k.mv_data, sizeof(seq));
        if (seq > job->limit || v.mv_size < sizeof(h))
            break;
        memcpy(&h, v.mv_data, sizeof(h));
        if (h.appended_at_ms >= job->cutoff_ms)
            break;
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        job->trimmed++;
        job->new_first = seq + 1;
    }
    mdb_cursor_close(cur);
    return rc;
}

void dd_log_set_retention(dd_log *log, int64_t retention_ms)
{
    log->opt.retention_ms = retention_ms;
}

int dd_log_trim(dd_log *log, int64_t now_ms, uint64_t *trimmed)
{
    trim_job job = {.log = log, .cutoff_ms = now_ms - log->opt.retention_ms};
    uint64_t slowest = dd_log_slowest_consumer(log);
    job.limit = slowest < log->head ? slowest : log->head;
    /* Keep the head record: it remembers the sequence across restarts. */
    if (job.limit >= log->head)
        job.limit = log->head ? log->head - 1 : 0;
    int rc = dd_store_write(log->store, trim_fn, &job);
    if (rc == 0) {
        for (size_t i = 0; i < log->nconsumers; i++)
            log->consumers[i].dirty = false;
        if (job.trimmed) {
            log->first = job.new_first;
            if (log->metrics)
                dd_series_inc(log->s_trimmed, job.trimmed);
        }
        dd_log_update_metrics(log);
    }
    if (trimmed)
        *trimmed = rc == 0 ? job.trimmed : 0;
    return rc;
}
