/*
 * intake.c: the publish path with group commit, the admin commands, and the
 * maintenance timer of doudi-intake (see intake.h for the picture).
 */
#include "intake.h"

#include "alloc.h"
#include "clock.h"
#include "deadletter.h"
#include "dedup.h"
#include "diag.h"
#include "divisions.h"
#include "error.h"
#include "evzmq.h"
#include "log.h"
#include "pubwire.h"
#include "metrics.h"
#include "settings.h"
#include "store.h"
#include "store_metrics.h"
#include "validate.h"
#include "wireencode.h"
#include "zauth.h"

#include "doudi/admin.pb-c.h"
#include "doudi/publish.pb-c.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define ROUTING_ID_MAX 256

#define INTAKE_METRICS(X)                                                                  \
    X(M_ACCEPTED, "doudi_intake_events_accepted_total", DD_METRIC_COUNTER,                 \
      "Events committed to the intake log.", NULL, NULL, 0)                                \
    X(M_DUPLICATE, "doudi_intake_events_duplicate_total", DD_METRIC_COUNTER,               \
      "Events answered as duplicates of an event accepted before.", NULL, NULL, 0)         \
    X(M_REJECTED, "doudi_intake_events_rejected_total", DD_METRIC_COUNTER,                 \
      "Events refused and stored as dead letters, by reason.", "reason", NULL, 0)          \
    X(M_REQUESTS, "doudi_intake_publish_requests_total", DD_METRIC_COUNTER,                \
      "Publish requests received (well-formed or not).", NULL, NULL, 0)                    \
    X(M_REQUESTS_REFUSED, "doudi_intake_publish_requests_refused_total", DD_METRIC_COUNTER, \
      "Publish requests refused whole, by reason.", "reason", NULL, 0)                     \
    X(M_COMMIT_EVENTS, "doudi_intake_commit_events", DD_METRIC_HISTOGRAM,                  \
      "Events judged per group commit.", NULL, dd_buckets_batch, DD_BUCKETS_BATCH_N)                        \
    X(M_COMMIT_REQUESTS, "doudi_intake_commit_requests", DD_METRIC_HISTOGRAM,              \
      "Publish requests sharing one group commit.", NULL, dd_buckets_batch, DD_BUCKETS_BATCH_N)             \
    X(M_COMMIT_SECONDS, "doudi_intake_commit_seconds", DD_METRIC_HISTOGRAM,                \
      "Time to judge, append and fsync one group commit.", NULL, dd_buckets_seconds,        \
      DD_BUCKETS_SECONDS_N)    \
    X(M_COMMIT_FAILURES, "doudi_intake_commit_failures_total", DD_METRIC_COUNTER,          \
      "Group commits that failed (nothing acknowledged; portals resend).", NULL, NULL, 0)  \
    X(M_REPLY_FAILURES, "doudi_intake_reply_send_failures_total", DD_METRIC_COUNTER,       \
      "Replies that could not be sent, by reason (again: ZeroMQ EAGAIN at the high-water " \
      "mark; unreachable: the peer is gone).", "reason", NULL, 0)                          \
    X(M_DEAD_LETTERS, "doudi_intake_dead_letters", DD_METRIC_GAUGE,                        \
      "Refused events held in the dead-letter store.", NULL, NULL, 0)                      \
    X(M_DEDUP_IDS, "doudi_intake_dedup_ids", DD_METRIC_GAUGE,                              \
      "Event ids remembered for deduplication.", NULL, NULL, 0)                            \
    X(M_DEDUP_BYTES, "doudi_intake_dedup_memory_bytes", DD_METRIC_GAUGE,                   \
      "Memory of the in-memory dedup index (tables and keys).", NULL, NULL, 0)             \
    X(M_DEDUP_EXPIRED, "doudi_intake_dedup_expired_total", DD_METRIC_COUNTER,              \
      "Event ids forgotten after the dedup retention.", NULL, NULL, 0)                     \
    X(M_ADMIN, "doudi_intake_admin_requests_total", DD_METRIC_COUNTER,                     \
      "Operator commands, by command.", "command", NULL, 0)                                \
    X(M_RELOADS, "doudi_intake_config_reloads_total", DD_METRIC_COUNTER,                   \
      "Configuration reloads on SIGHUP, by result.", "result", NULL, 0)
enum { INTAKE_METRICS(DD_METRIC_ENUM) INTAKE_METRIC_COUNT };

/* One publish request waiting for the group commit. */
typedef struct pending_request {
    uint8_t routing_id[ROUTING_ID_MAX];
    size_t routing_id_len;
    bool delimiter;
    const dd_zauth_client *client;  /* who sent it, with CURVE on; else NULL */
    Doudi__PublishRequest *request; /* arena */
    Doudi__EventStatus *statuses;   /* arena, one per event */
} pending_request;

/*
 * Events are decoded a group of DECODE_AHEAD at a time, one group ahead of
 * the group being judged, and the dedup slots of a group are fetched
 * together, back to back: each lookup is a miss in a table of gigabytes,
 * and on this kind of machine a prefetch holds up the instructions after it
 * until its page walk is done, so prefetches spread one per decoded event
 * paid a miss each (12-13 % of intake's samples sat on the prefetch) where
 * the prefetches of a group overlap their misses. Decoded no further ahead
 * than that, an event is still in the cache when it is judged (decoding a
 * whole batch of ~10,000 first left every decoded event to be read back
 * from memory).
 */
enum { DECODE_AHEAD = 16, DECODED_RING = 32 };
_Static_assert(DECODED_RING >= 2 * DECODE_AHEAD && (DECODED_RING & (DECODED_RING - 1)) == 0,
               "the ring holds the group judged and the group decoded ahead of it");

/* One event of the batch, decoded ahead of its judging (see publish_batch_fn). */
typedef struct decoded_event {
    Doudi__Envelope *env; /* NULL: refused by the decoder, see verdict */
    intake_verdict verdict;
    intake_dedup_key key;
} decoded_event;

/* Counts of one batch, published to metrics only after its commit. */
typedef struct batch_counts {
    uint64_t accepted, duplicate;
    uint64_t rejected[DOUDI__REJECT_REASON__REJECT_REASON_REQUEST_CLIENT_UNKNOWN + 1];
} batch_counts;

struct intake {
    struct ev_loop *loop;
    dd_config *config;
    void *zctx;
    dd_zauth *auth; /* NULL: CURVE off */
    dd_store *store;
    dd_log *log;
    intake_dedup *dedup;
    intake_deadletter *deadletters;
    dd_divisions *divisions;
    intake_rules rules;
    dd_clock clock;
    dd_arena *arena;
    dd_wire_writer reply_packed; /* a publish reply, encoded */

    void *publish_sock, *admin_sock;
    dd_evzmq publish_w, admin_w;
    ev_timer maintenance;
    int64_t last_trim_ns, last_reader_check_ns;

    pending_request *batch;
    size_t nbatch, batch_cap;
    decoded_event decoded[DECODED_RING]; /* the events decoded ahead (publish_batch_fn) */
    batch_counts counts;
    bool stopping;

    dd_metrics *metrics;
    dd_metrics_http *http;
    dd_metric *m[INTAKE_METRIC_COUNT];
    dd_series *s[INTAKE_METRIC_COUNT]; /* unlabelled series */
    dd_series *rejected_by_reason[DOUDI__REJECT_REASON__REJECT_REASON_REQUEST_CLIENT_UNKNOWN + 1];
    dd_store_metrics *store_metrics;
    /* Keys that need a restart, read once at start-up. */
    int64_t max_events_per_request;
    size_t max_requests_per_commit;
    int64_t reader_check_ns;
    int64_t trim_ns; /* reloadable */
    const char **consumer_names; /* one allocation (dd_config_split_list) */
    size_t nconsumer_names;
};

static const dd_metric_def intake_metric_defs[] = {INTAKE_METRICS(DD_METRIC_DEF)};

static void inc(intake *in, int metric, const char *label)
{
    dd_series_inc(label ? dd_metric_series(in->m[metric], label) : in->s[metric], 1);
}

/* ---- judging one event -------------------------------------------------- */

static char *arena_strdup(dd_arena *arena, const char *s)
{
    size_t len = strlen(s);
    char *p = dd_arena_alloc(arena, len + 1);
    memcpy(p, s, len + 1);
    return p;
}

static void set_rejected(intake *in, Doudi__EventStatus *st, const intake_verdict *v)
{
    st->outcome = DOUDI__OUTCOME__OUTCOME_REJECTED;
    st->reason = v->reason;
    st->reason_text = arena_strdup(in->arena, v->text);
}

/*
 * s itself when it is valid UTF-8, else "". protobuf-c does not check that
 * a string field it unpacks is UTF-8, but Google's runtimes refuse to parse
 * a message holding one that is not: an id echoed as it came (an event id
 * of raw bytes, refused as bad_characters) would make the whole reply, or a
 * dead-letter listing, unreadable to the portal or operator.
 */
static const char *utf8_or_empty(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    /* Ids are printable ASCII almost always: skip whole words of it. */
    size_t len = strlen(s);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, sizeof(w));
        if (w & UINT64_C(0x8080808080808080))
            break;
        p += 8;
        len -= 8;
    }
    while (*p) {
        unsigned char b = *p;
        size_t need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2
                    : b >= 0xf0 && b <= 0xf4 ? 3 : 4;
        if (need == 4)
            return "";
        unsigned char lo = 0x80, hi = 0xbf;
        if (b == 0xe0)
            lo = 0xa0; /* overlong */
        else if (b == 0xed)
            hi = 0x9f; /* surrogates */
        else if (b == 0xf0)
            lo = 0x90; /* overlong */
        else if (b == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
        for (size_t k = 1; k <= need; k++) {
            unsigned char c = p[k];
            if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xbf))
                return ""; /* also stops at the terminating NUL */
        }
        p += need + 1;
    }
    return s;
}

/* Decodes one encoded event and derives its dedup key (judge_event's first half). */
static void decode_event(intake *in, const uint8_t *bytes, size_t len, decoded_event *d)
{
    memset(&d->verdict, 0, sizeof(d->verdict));
    d->env = NULL;
    if (!intake_decode(bytes, len, &in->rules, in->arena, &d->env, &d->verdict)) {
        d->env = NULL;
        return;
    }
    d->key = intake_dedup_key_of(d->env->source, strlen(d->env->source), d->env->event_id,
                                 strlen(d->env->event_id));
}

/* Refuses an event whose source the authenticated client may not use. */
static bool source_allowed(const dd_zauth_client *client, Doudi__Envelope *env,
                           intake_verdict *verdict)
{
    if (!client || dd_zauth_client_may_publish_as(client, env->source))
        return true;
    verdict->reason = DOUDI__REJECT_REASON__REJECT_REASON_SOURCE_NOT_ALLOWED;
    snprintf(verdict->text, sizeof(verdict->text),
             "source '%.64s' is not among those the clients file allows client '%s' "
             "([auth] clients_file)", utf8_or_empty(env->source), client->name);
    return false;
}

/*
 * Judges one decoded event inside txn and fills *st: may its sender use its
 * source?, duplicate?, validate, append. client: the sender with CURVE on
 * (NULL: no check, as for an operator's replay). *refused tells the caller
 * to keep the bytes as a dead letter (a publish) or to keep the dead letter
 * it replayed. Returns 0 or an LMDB error (which aborts the whole batch).
 */
static int judge_event(intake *in, MDB_txn *txn, const uint8_t *bytes, size_t len,
                       decoded_event *d, const dd_zauth_client *client, int64_t now_ms,
                       Doudi__EventStatus *st, bool *refused)
{
    Doudi__Envelope *env = d->env;
    intake_verdict *verdict = &d->verdict;
    *refused = false;
    doudi__event_status__init(st);
    /* The source check comes before the dedup lookup: a duplicate answer
     * would tell a client which ids another source has used. */
    if (!env || !source_allowed(client, env, verdict)) {
        set_rejected(in, st, verdict);
        *refused = true;
        return 0;
    }
    st->event_id = (char *)utf8_or_empty(env->event_id);
    uint64_t seq;
    if (intake_dedup_lookup(in->dedup, d->key, &seq)) {
        st->outcome = DOUDI__OUTCOME__OUTCOME_DUPLICATE;
        st->sequence = seq;
        in->counts.duplicate++;
        return 0;
    }
    bool rewritten = false;
    /* Under the event clock "now" is the newest event time, so an event is
     * never in its own future; only its age against the newest counts. */
    int64_t judge_now = now_ms;
    if (in->clock.mode == DD_CLOCK_EVENT && env->occurred_at_ms > judge_now)
        judge_now = env->occurred_at_ms;
    if (!intake_validate(env, &in->rules, judge_now, in->arena, &rewritten, verdict)) {
        set_rejected(in, st, verdict);
        *refused = true;
        return 0;
    }
    const uint8_t *payload = bytes;
    size_t payload_len = len;
    if (rewritten) {
        payload_len = doudi__envelope__get_packed_size(env);
        uint8_t *buf = dd_arena_alloc(in->arena, payload_len);
        doudi__envelope__pack(env, buf);
        payload = buf;
    }
    int rc = dd_log_append(in->log, txn, (uint32_t)env->body_case, now_ms, payload, payload_len,
                           &seq);
    if (rc)
        return rc;
    intake_dedup_add(in->dedup, d->key, seq);
    if (in->clock.mode == DD_CLOCK_EVENT)
        dd_clock_observe(&in->clock, env->occurred_at_ms);
    st->outcome = DOUDI__OUTCOME__OUTCOME_ACCEPTED;
    st->sequence = seq;
    in->counts.accepted++;
    return 0;
}

/* Best effort: source and event id of bytes that failed validation. */
static void peek_ids(intake *in, const uint8_t *bytes, size_t len, const char **source,
                     const char **event_id)
{
    *source = "";
    *event_id = "";
    if (len > in->rules.max_event_bytes)
        return;
    ProtobufCAllocator a = dd_arena_protobuf_allocator(in->arena);
    Doudi__Envelope *env = doudi__envelope__unpack(&a, len, bytes);
    if (env) {
        *source = utf8_or_empty(env->source);
        *event_id = utf8_or_empty(env->event_id);
    }
}

/* ---- the group commit --------------------------------------------------- */

/* Starts fetching the dedup slot and the division-table slot judging a
 * decoded event will read. */
static void prefetch_event(const intake *in, const decoded_event *d)
{
    if (!d->env)
        return;
    intake_dedup_prefetch(in->dedup, d->key);
    dd_divisions_prefetch(in->rules.divisions, d->env->region_code);
}

/* Where publish_batch_fn is in the batch's requests. */
typedef struct event_cursor {
    size_t request, event;
} event_cursor;

/* The next event of the batch after c (advancing c), or NULL at its end. */
static const ProtobufCBinaryData *next_event(const intake *in, event_cursor *c)
{
    while (c->request < in->nbatch) {
        const Doudi__PublishRequest *req = in->batch[c->request].request;
        if (c->event < req->n_events)
            return &req->events[c->event++];
        c->request++;
        c->event = 0;
    }
    return NULL;
}

/* Decodes the next DECODE_AHEAD events of the batch (fewer at its end)
 * into their ring slots, then starts fetching what judging them will read. */
static void decode_group(intake *in, event_cursor *c, size_t *decoded)
{
    size_t first = *decoded;
    const ProtobufCBinaryData *ev;
    while (*decoded - first < DECODE_AHEAD && (ev = next_event(in, c)) != NULL) {
        decode_event(in, ev->data, ev->len, &in->decoded[*decoded % DECODED_RING]);
        (*decoded)++;
    }
    for (size_t i = first; i < *decoded; i++)
        prefetch_event(in, &in->decoded[i % DECODED_RING]);
}

static int publish_batch_fn(MDB_txn *txn, void *arg)
{
    intake *in = arg;
    int64_t now_ms = dd_clock_now_ms(&in->clock);
    memset(&in->counts, 0, sizeof(in->counts));
    event_cursor ahead = {0, 0};
    size_t decoded = 0, j = 0;
    decode_group(in, &ahead, &decoded);
    for (size_t r = 0; r < in->nbatch; r++) {
        pending_request *p = &in->batch[r];
        for (size_t i = 0; i < p->request->n_events; i++, j++) {
            if (j % DECODE_AHEAD == 0)
                decode_group(in, &ahead, &decoded); /* the group after j's */
            ProtobufCBinaryData *ev = &p->request->events[i];
            Doudi__EventStatus *st = &p->statuses[i];
            bool refused;
            int rc = judge_event(in, txn, ev->data, ev->len, &in->decoded[j % DECODED_RING],
                                 p->client, now_ms, st, &refused);
            if (rc)
                return rc;
            if (!refused)
                continue;
            const char *source, *event_id;
            peek_ids(in, ev->data, ev->len, &source, &event_id);
            rc = intake_deadletter_add(in->deadletters, txn, now_ms, st->reason, st->reason_text,
                                       source, event_id, ev->data, ev->len, &st->dead_letter_id);
            if (rc)
                return rc;
            if ((size_t)st->reason < sizeof(in->counts.rejected) / sizeof(uint64_t))
                in->counts.rejected[st->reason]++;
        }
    }
    return intake_dedup_flush(in->dedup, txn, now_ms);
}

static void send_reply(intake *in, void *sock, const uint8_t *rid, size_t rid_len,
                       bool delimiter, const void *buf, size_t len)
{
    const void *data[3] = {rid, "", buf};
    size_t sizes[3] = {rid_len, 0, len};
    if (!delimiter) {
        data[1] = buf;
        sizes[1] = len;
    }
    int rc = dd_zsend_frames(sock, data, sizes, delimiter ? 3 : 2);
    if (rc == DD_AGAIN)
        inc(in, M_REPLY_FAILURES, "again");
    else if (rc == -EHOSTUNREACH)
        inc(in, M_REPLY_FAILURES, "unreachable");
    else if (rc)
        inc(in, M_REPLY_FAILURES, "other");
}

static void send_publish_reply(intake *in, const uint8_t *rid, size_t rid_len, bool delimiter,
                               const Doudi__PublishReply *reply)
{
    size_t len;
    const uint8_t *buf = dd_wire_encode(&in->reply_packed, &reply->base, &len);
    send_reply(in, in->publish_sock, rid, rid_len, delimiter, buf, len);
}

static void refuse_request(intake *in, const uint8_t *rid, size_t rid_len, bool delimiter,
                           uint64_t request_id, Doudi__RejectReason reason, const char *text)
{
    Doudi__PublishReply reply = DOUDI__PUBLISH_REPLY__INIT;
    reply.request_id = request_id;
    reply.request_error = reason;
    reply.request_error_text = (char *)text;
    inc(in, M_REQUESTS_REFUSED, intake_reason_label(reason));
    send_publish_reply(in, rid, rid_len, delimiter, &reply);
}

static void commit_batch(intake *in)
{
    if (in->nbatch == 0)
        return;
    int64_t t0 = dd_monotonic_ns();
    size_t nevents = 0;
    for (size_t r = 0; r < in->nbatch; r++)
        nevents += in->batch[r].request->n_events;
    int rc = dd_store_write(in->store, publish_batch_fn, in);
    if (rc) {
        /* Nothing was acknowledged: every portal of this batch resends. */
        dd_error("group commit of %zu requests failed: %s; no reply sent", in->nbatch,
                 dd_strerror(rc));
        inc(in, M_COMMIT_FAILURES, NULL);
        in->nbatch = 0;
        return;
    }
    dd_series_observe(in->s[M_COMMIT_SECONDS], (double)(dd_monotonic_ns() - t0) / 1e9);
    dd_series_observe(in->s[M_COMMIT_EVENTS], (double)nevents);
    dd_series_observe(in->s[M_COMMIT_REQUESTS], (double)in->nbatch);
    dd_series_inc(in->s[M_ACCEPTED], in->counts.accepted);
    dd_series_inc(in->s[M_DUPLICATE], in->counts.duplicate);
    for (size_t i = 0; i < sizeof(in->counts.rejected) / sizeof(uint64_t); i++)
        if (in->counts.rejected[i])
            dd_series_inc(in->rejected_by_reason[i], in->counts.rejected[i]);

    /* Durable now: answer. */
    for (size_t r = 0; r < in->nbatch; r++) {
        pending_request *p = &in->batch[r];
        Doudi__PublishReply reply = DOUDI__PUBLISH_REPLY__INIT;
        reply.request_id = p->request->request_id;
        reply.n_statuses = p->request->n_events;
        reply.statuses = dd_arena_alloc(in->arena, (reply.n_statuses + 1) * sizeof(void *));
        for (size_t i = 0; i < reply.n_statuses; i++) {
            reply.statuses[i] = &p->statuses[i];
            /* Each event id lies in the arena beside its decoded event, out
             * of the cache since the judging and the commit: start all the
             * fetches now rather than take one miss at a time while packing. */
            __builtin_prefetch(p->statuses[i].event_id);
        }
        send_publish_reply(in, p->routing_id, p->routing_id_len, p->delimiter, &reply);
    }
    in->nbatch = 0;
}

/* Reads one publish message; queues it for the commit or answers it now. */
static void take_publish_message(intake *in, dd_zmsg *msg)
{
    inc(in, M_REQUESTS, NULL);
    if (msg->nframes < 1 || dd_zmsg_size(msg, 0) > ROUTING_ID_MAX)
        return;
    const uint8_t *rid = dd_zmsg_data(msg, 0);
    size_t rid_len = dd_zmsg_size(msg, 0);
    bool delimiter = msg->nframes == 3 && dd_zmsg_size(msg, 1) == 0;
    if (!(msg->nframes == 2 || delimiter)) {
        refuse_request(in, rid, rid_len, false, 0,
                       DOUDI__REJECT_REASON__REJECT_REASON_REQUEST_BAD_FRAMES,
                       "a publish message is one frame (the PublishRequest) from a DEALER, or an "
                       "empty delimiter frame and the PublishRequest from a REQ socket");
        return;
    }
    size_t last = msg->nframes - 1;
    /* A request of more events than allowed is left to protobuf-c: refused
     * below all the same. */
    Doudi__PublishRequest *req =
        intake_publish_request_decode(dd_zmsg_data(msg, last), dd_zmsg_size(msg, last),
                                      (size_t)in->max_events_per_request, in->arena);
    if (!req) {
        ProtobufCAllocator a = dd_arena_protobuf_allocator(in->arena);
        req = doudi__publish_request__unpack(&a, dd_zmsg_size(msg, last), dd_zmsg_data(msg, last));
    }
    if (!req) {
        refuse_request(in, rid, rid_len, delimiter, 0,
                       DOUDI__REJECT_REASON__REJECT_REASON_REQUEST_UNDECODABLE,
                       "the message is not an encoded doudi.PublishRequest (publish.proto)");
        return;
    }
    int64_t max_events = in->max_events_per_request;
    if ((int64_t)req->n_events > max_events) {
        char text[160];
        snprintf(text, sizeof(text),
                 "the request carries %zu events; at most %lld are allowed per request: split it",
                 req->n_events, (long long)max_events);
        refuse_request(in, rid, rid_len, delimiter, req->request_id,
                       DOUDI__REJECT_REASON__REJECT_REASON_REQUEST_TOO_MANY_EVENTS, text);
        return;
    }
    if (in->stopping) {
        refuse_request(in, rid, rid_len, delimiter, req->request_id,
                       DOUDI__REJECT_REASON__REJECT_REASON_REQUEST_SHUTTING_DOWN,
                       "intake is shutting down; send the request again in a moment");
        return;
    }
    const dd_zauth_client *client = NULL;
    if (in->auth &&
        (client = dd_zauth_admit(in->auth, &msg->frames[last], DD_ZAUTH_PUBLISH)) == NULL) {
        refuse_request(in, rid, rid_len, delimiter, req->request_id,
                       DOUDI__REJECT_REASON__REJECT_REASON_REQUEST_CLIENT_UNKNOWN,
                       "the key this connection authenticated with is no longer granted "
                       "publishing in intake's clients file; connect again with a key it lists");
        return;
    }
    if (in->nbatch == in->batch_cap) {
        in->batch_cap = in->batch_cap ? in->batch_cap * 2 : 16;
        in->batch = dd_realloc(in->batch, in->batch_cap * sizeof(*in->batch));
    }
    pending_request *p = &in->batch[in->nbatch++];
    memcpy(p->routing_id, rid, rid_len);
    p->routing_id_len = rid_len;
    p->delimiter = delimiter;
    p->client = client;
    p->request = req;
    p->statuses = dd_arena_alloc(in->arena, (req->n_events + 1) * sizeof(Doudi__EventStatus));
}

static void publish_cb(struct ev_loop *loop, dd_evzmq *w, int revents)
{
    (void)loop;
    (void)revents;
    intake *in = w->data;
    size_t max_requests = in->max_requests_per_commit;
    size_t received = 0;
    /* Everything that arrived by now shares one commit. */
    while (in->nbatch < max_requests && received < max_requests * 4) {
        dd_zmsg msg;
        int rc = dd_zmsg_recv(in->publish_sock, &msg);
        if (rc == DD_AGAIN)
            break;
        if (rc) {
            dd_warn("publish socket: %s", dd_strerror(rc));
            break;
        }
        received++;
        take_publish_message(in, &msg);
        dd_zmsg_close(&msg);
    }
    commit_batch(in);
    dd_arena_reset(in->arena);
}

/* ---- admin -------------------------------------------------------------- */

typedef struct replay_job {
    intake *in;
    Doudi__DeadLetterReplayRequest *req;
    Doudi__EventStatus *statuses;
} replay_job;

static int replay_fn(MDB_txn *txn, void *arg)
{
    replay_job *job = arg;
    intake *in = job->in;
    int64_t now_ms = dd_clock_now_ms(&in->clock);
    memset(&in->counts, 0, sizeof(in->counts));
    for (size_t i = 0; i < job->req->n_ids; i++) {
        Doudi__EventStatus *st = &job->statuses[i];
        Doudi__DeadLetter *d;
        int rc = intake_deadletter_get(in->deadletters, txn, job->req->ids[i], in->arena, &d);
        if (rc == DD_NOTFOUND) {
            doudi__event_status__init(st);
            st->outcome = DOUDI__OUTCOME__OUTCOME_REJECTED;
            st->reason_text = dd_arena_alloc(in->arena, 96);
            snprintf(st->reason_text, 96, "dead letter %llu is not held (never existed or already replayed)",
                     (unsigned long long)job->req->ids[i]);
            continue;
        }
        if (rc)
            return rc;
        bool refused;
        decoded_event decoded;
        decode_event(in, d->raw_event.data, d->raw_event.len, &decoded);
        rc = judge_event(in, txn, d->raw_event.data, d->raw_event.len, &decoded, NULL, now_ms, st,
                         &refused);
        if (rc)
            return rc;
        st->dead_letter_id = d->id;
        if (refused) {
            d->replay_attempts++;
            d->reason = st->reason;
            d->reason_text = st->reason_text;
            rc = intake_deadletter_put(in->deadletters, txn, d);
        } else {
            rc = intake_deadletter_remove(in->deadletters, txn, d->id);
        }
        if (rc)
            return rc;
    }
    return intake_dedup_flush(in->dedup, txn, now_ms);
}

static void admin_command(intake *in, const Doudi__AdminRequest *req, Doudi__AdminReply *reply)
{
    static Doudi__DeadLetterListReply list_reply;
    static Doudi__DeadLetterReplayReply replay_reply;
    switch (req->command_case) {
    case DOUDI__ADMIN_REQUEST__COMMAND_DEAD_LETTER_LIST: {
        inc(in, M_ADMIN, "deadletter_list");
        const Doudi__DeadLetterListRequest *l = req->dead_letter_list;
        uint32_t limit = l->limit ? l->limit : 100;
        if (limit > 1000)
            limit = 1000;
        doudi__dead_letter_list_reply__init(&list_reply);
        int rc = intake_deadletter_list(in->deadletters, l->after_id, limit, l->reason, in->arena,
                                        &list_reply);
        if (rc) {
            reply->error_text = arena_strdup(in->arena, dd_strerror(rc));
            return;
        }
        reply->result_case = DOUDI__ADMIN_REPLY__RESULT_DEAD_LETTER_LIST;
        reply->dead_letter_list = &list_reply;
        return;
    }
    case DOUDI__ADMIN_REQUEST__COMMAND_DEAD_LETTER_REPLAY: {
        inc(in, M_ADMIN, "deadletter_replay");
        Doudi__DeadLetterReplayRequest *r = req->dead_letter_replay;
        if (r->n_ids > 10000) {
            reply->error_text = "at most 10000 ids per replay";
            return;
        }
        replay_job job = {in, r, dd_arena_alloc(in->arena, (r->n_ids + 1) * sizeof(Doudi__EventStatus))};
        int rc = dd_store_write(in->store, replay_fn, &job);
        if (rc) {
            reply->error_text = arena_strdup(in->arena, dd_strerror(rc));
            return;
        }
        dd_series_inc(in->s[M_ACCEPTED], in->counts.accepted);
        dd_series_inc(in->s[M_DUPLICATE], in->counts.duplicate);
        doudi__dead_letter_replay_reply__init(&replay_reply);
        replay_reply.n_statuses = r->n_ids;
        replay_reply.statuses = dd_arena_alloc(in->arena, (r->n_ids + 1) * sizeof(void *));
        for (size_t i = 0; i < r->n_ids; i++)
            replay_reply.statuses[i] = &job.statuses[i];
        reply->result_case = DOUDI__ADMIN_REPLY__RESULT_DEAD_LETTER_REPLAY;
        reply->dead_letter_replay = &replay_reply;
        return;
    }
    default:
        inc(in, M_ADMIN, "unknown");
        reply->error_text = "unknown command: this intake knows dead_letter_list and "
                            "dead_letter_replay";
        return;
    }
}

static void admin_cb(struct ev_loop *loop, dd_evzmq *w, int revents)
{
    (void)loop;
    (void)revents;
    intake *in = w->data;
    for (int n = 0; n < 64; n++) {
        dd_zmsg msg;
        int rc = dd_zmsg_recv(in->admin_sock, &msg);
        if (rc == DD_AGAIN)
            break;
        if (rc)
            break;
        bool delimiter = msg.nframes == 3 && dd_zmsg_size(&msg, 1) == 0;
        if ((msg.nframes == 2 || delimiter) && dd_zmsg_size(&msg, 0) <= ROUTING_ID_MAX) {
            size_t last = msg.nframes - 1;
            ProtobufCAllocator a = dd_arena_protobuf_allocator(in->arena);
            Doudi__AdminRequest *req = doudi__admin_request__unpack(&a, dd_zmsg_size(&msg, last),
                                                                    dd_zmsg_data(&msg, last));
            Doudi__AdminReply reply = DOUDI__ADMIN_REPLY__INIT;
            if (req && in->auth &&
                !dd_zauth_admit(in->auth, &msg.frames[last], DD_ZAUTH_OPERATE)) {
                reply.request_id = req->request_id;
                inc(in, M_ADMIN, "not_operator");
                reply.error_text = "the key this connection authenticated with is no longer an "
                                   "operator's (grant *) in intake's clients file";
            } else if (req) {
                reply.request_id = req->request_id;
                admin_command(in, req, &reply);
            } else {
                inc(in, M_ADMIN, "undecodable");
                reply.error_text = "the message is not an encoded doudi.AdminRequest (admin.proto)";
            }
            size_t len = doudi__admin_reply__get_packed_size(&reply);
            uint8_t *buf = dd_arena_alloc(in->arena, len ? len : 1);
            doudi__admin_reply__pack(&reply, buf);
            send_reply(in, in->admin_sock, dd_zmsg_data(&msg, 0), dd_zmsg_size(&msg, 0), delimiter,
                       buf, len);
        } else {
            inc(in, M_ADMIN, "bad_frames");
        }
        dd_zmsg_close(&msg);
        dd_arena_reset(in->arena);
    }
}

/* ---- maintenance -------------------------------------------------------- */

static void update_gauges(intake *in)
{
    dd_store_metrics_update(in->store_metrics);
    dd_series_set(in->s[M_DEAD_LETTERS], (double)intake_deadletter_count(in->deadletters));
    dd_series_set(in->s[M_DEDUP_IDS], (double)intake_dedup_count(in->dedup));
    dd_series_set(in->s[M_DEDUP_BYTES], (double)intake_dedup_memory_bytes(in->dedup));
    dd_log_update_metrics(in->log);
}

static void maintenance_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    intake *in = t->data;
    int64_t now_ns = dd_monotonic_ns();
    /* A tick may come a little early; a tenth of the interval is close enough. */
    if (now_ns - in->last_trim_ns >= in->trim_ns - in->trim_ns / 10) {
        in->last_trim_ns = now_ns;
        int64_t now_ms = dd_clock_now_ms(&in->clock);
        uint64_t trimmed = 0, forgotten = 0;
        int rc = dd_log_trim(in->log, now_ms, &trimmed);
        if (rc)
            dd_warn("log trim failed: %s", dd_strerror(rc));
        else if (trimmed)
            dd_info("trimmed %llu log records", (unsigned long long)trimmed);
        rc = intake_dedup_expire(in->dedup, now_ms, 1000, &forgotten);
        if (rc)
            dd_warn("dedup expiry failed: %s", dd_strerror(rc));
        dd_series_inc(in->s[M_DEDUP_EXPIRED], forgotten);
    }
    if (now_ns - in->last_reader_check_ns >= in->reader_check_ns) {
        in->last_reader_check_ns = now_ns;
        int cleared = 0;
        dd_store_reader_check(in->store, &cleared);
        if (cleared)
            dd_warn("cleared %d stale LMDB reader slot(s)", cleared);
    }
    update_gauges(in);
}

/* ---- set-up and tear-down ----------------------------------------------- */

static int load_divisions(const dd_config *config, dd_divisions **out)
{
    const char *path = dd_config_string(config, S_DIVISIONS_FILE);
    if (!path[0]) {
        *out = dd_divisions_demo();
        return 0;
    }
    char *err = NULL;
    int rc = dd_divisions_load_file(path, out, &err);
    if (rc) {
        dd_error("division table: %s", err ? err : dd_strerror(rc));
        free(err);
    }
    return rc;
}

int intake_check_config(const dd_config *config)
{
    dd_divisions *divisions = NULL;
    int rc = load_divisions(config, &divisions);
    dd_divisions_destroy(&divisions);
    return rc;
}

static int apply_settings(intake *in, dd_config *config, dd_divisions *divisions)
{
    dd_diag_level level;
    if (dd_diag_level_parse(dd_config_string(config, S_LOG_LEVEL), &level) == 0)
        dd_diag_set_level(level);
    in->rules.max_event_bytes = dd_config_size(config, S_MAX_EVENT_BYTES);
    in->trim_ns = dd_config_duration_ms(config, S_LOG_TRIM_INTERVAL) * 1000000;
    /* The timer ticks at least as often as trimming is due. */
    double tick = (double)in->trim_ns / 1e9 < 1.0 ? (double)in->trim_ns / 1e9 : 1.0;
    if (in->loop && in->maintenance.repeat != tick) {
        in->maintenance.repeat = tick;
        if (ev_is_active(&in->maintenance))
            ev_timer_again(in->loop, &in->maintenance);
    }
    in->rules.max_future_skew_ms = dd_config_duration_ms(config, S_MAX_FUTURE_SKEW);
    in->rules.max_age_ms = dd_config_duration_ms(config, S_MAX_EVENT_AGE);
    in->rules.id15 = strcmp(dd_config_string(config, S_ID15), "reject") == 0 ? INTAKE_ID15_REJECT
                                                                            : INTAKE_ID15_UPGRADE;
    in->rules.divisions = divisions;
    if (in->dedup)
        intake_dedup_set_retention(in->dedup, dd_config_duration_ms(config, S_DEDUP_RETENTION));
    if (in->log)
        dd_log_set_retention(in->log, dd_config_duration_ms(config, S_LOG_RETENTION));
    return 0;
}

static void *bind_router(intake *in, const char *endpoint, int64_t max_bytes, dd_zauth_role role)
{
    int hwm = (int)dd_config_int(in->config, S_SOCKET_HWM);
    void *s = dd_zsock_new(in->zctx, ZMQ_ROUTER, max_bytes, hwm);
    int rc;
    if (s && in->auth && (rc = dd_zauth_secure_server(in->auth, s, role)) != 0) {
        dd_error("cannot make %s a CURVE server: %s", endpoint, zmq_strerror(-rc));
        zmq_close(s);
        return NULL;
    }
    if (s && dd_zsock_bind(s, endpoint) != 0) {
        zmq_close(s);
        s = NULL;
    }
    return s;
}


int intake_new(struct ev_loop *loop, dd_config *config, intake **out)
{
    intake *in = dd_calloc(1, sizeof(*in));
    in->loop = loop;
    in->config = config;
    in->arena = dd_arena_new(1 << 20);
    in->max_events_per_request = dd_config_int(config, S_MAX_EVENTS_PER_REQUEST);
    in->max_requests_per_commit = (size_t)dd_config_int(config, S_MAX_REQUESTS_PER_COMMIT);
    in->reader_check_ns = dd_config_duration_ms(config, S_READER_CHECK_INTERVAL) * 1000000;
    ev_init(&in->maintenance, maintenance_cb);
    in->maintenance.repeat = 1.0;
    dd_clock_mode mode = DD_CLOCK_WALL;
    dd_clock_mode_parse(dd_config_string(config, S_CLOCK), &mode);
    dd_clock_init(&in->clock, mode);
    in->metrics = dd_metrics_new();
    int rc = dd_metrics_register(in->metrics, intake_metric_defs, INTAKE_METRIC_COUNT, in->m);
    if (rc)
        goto fail;
    for (int i = 0; i < INTAKE_METRIC_COUNT; i++)
        if (!intake_metric_defs[i].label)
            in->s[i] = dd_metric_series(in->m[i], NULL);
    /* Every reason is a series from the start, so a scrape shows them all. */
    for (int r = DOUDI__REJECT_REASON__REJECT_REASON_UNDECODABLE;
         r <= DOUDI__REJECT_REASON__REJECT_REASON_EVENT_TOO_LARGE; r++)
        in->rejected_by_reason[r] = dd_metric_series(in->m[M_REJECTED], intake_reason_label(r));
    in->rejected_by_reason[DOUDI__REJECT_REASON__REJECT_REASON_SOURCE_NOT_ALLOWED] =
        dd_metric_series(in->m[M_REJECTED],
                         intake_reason_label(DOUDI__REJECT_REASON__REJECT_REASON_SOURCE_NOT_ALLOWED));

    if ((rc = load_divisions(config, &in->divisions)) != 0)
        goto fail;
    apply_settings(in, config, in->divisions);

    dd_store_options so = {
        .map_bytes = dd_config_size(config, S_MAP_SIZE),
        .max_map_bytes = dd_config_size(config, S_MAX_MAP_SIZE),
    };
    if ((rc = dd_store_open(dd_config_string(config, S_DATA_DIR), &so, &in->store)) != 0)
        goto fail;
    in->store_metrics = dd_store_metrics_new(in->store, in->metrics);
    in->consumer_names = dd_config_split_list(dd_config_string(config, S_LOG_CONSUMERS),
                                         &in->nconsumer_names);
    dd_log_options lo = {
        .max_records = (uint32_t)dd_config_int(config, S_FETCH_MAX_RECORDS),
        .max_bytes = (uint32_t)dd_config_size(config, S_FETCH_MAX_BYTES),
        .max_wait_ms = (uint32_t)dd_config_duration_ms(config, S_FETCH_MAX_WAIT),
        .retention_ms = dd_config_duration_ms(config, S_LOG_RETENTION),
        .required_consumers = in->consumer_names,
        .nrequired = in->nconsumer_names,
        .max_message_bytes = 1 << 20,
    };
    if ((rc = dd_log_open(in->store, &lo, in->metrics, &in->log)) != 0)
        goto fail;
    int64_t t0 = dd_monotonic_ns();
    if ((rc = intake_dedup_open(in->store, dd_config_duration_ms(config, S_DEDUP_RETENTION),
                                dd_clock_now_ms(&in->clock), &in->dedup)) != 0)
        goto fail;
    intake_dedup_reserve(in->dedup, (size_t)dd_config_int(config, S_DEDUP_EXPECTED_IDS));
    dd_info("dedup: %zu event ids loaded in %.1f ms; index of %zu MiB",
            intake_dedup_count(in->dedup), (double)(dd_monotonic_ns() - t0) / 1e6,
            intake_dedup_memory_bytes(in->dedup) >> 20);
    if ((rc = intake_deadletter_open(in->store, &in->deadletters)) != 0)
        goto fail;

    in->zctx = zmq_ctx_new();
    const char *key_file = dd_config_string(config, S_AUTH_KEY_FILE);
    if (key_file[0] &&
        (rc = dd_zauth_new(loop, in->zctx, key_file, dd_config_string(config, S_AUTH_CLIENTS_FILE),
                           in->metrics, &in->auth)) != 0)
        goto fail;
    in->publish_sock = bind_router(in, dd_config_string(config, S_PUBLISH_ENDPOINT),
                                   (int64_t)dd_config_size(config, S_MAX_REQUEST_BYTES),
                                   DD_ZAUTH_PUBLISH);
    in->admin_sock = bind_router(in, dd_config_string(config, S_ADMIN_ENDPOINT), 1 << 20,
                                 DD_ZAUTH_OPERATE);
    if (!in->publish_sock || !in->admin_sock) {
        rc = -EADDRINUSE;
        goto fail;
    }
    dd_log_set_auth(in->log, in->auth);
    if ((rc = dd_log_serve(in->log, loop, in->zctx, dd_config_string(config, S_LOG_ENDPOINT))) != 0)
        goto fail;
    dd_evzmq_init(&in->publish_w, in->publish_sock, EV_READ, publish_cb, in);
    dd_evzmq_start(loop, &in->publish_w);
    dd_evzmq_init(&in->admin_w, in->admin_sock, EV_READ, admin_cb, in);
    dd_evzmq_start(loop, &in->admin_w);

    const char *listen = dd_config_string(config, S_METRICS_LISTEN);
    if (listen[0] && (rc = dd_metrics_http_start(in->metrics, listen, &in->http)) != 0) {
        dd_error("cannot serve metrics on %s: %s", listen, dd_strerror(rc));
        goto fail;
    }
    in->maintenance.data = in;
    ev_timer_again(loop, &in->maintenance);
    in->last_trim_ns = in->last_reader_check_ns = dd_monotonic_ns();
    update_gauges(in);

    dd_info("intake ready: log head %llu, %llu dead letters; publish %s, log %s, admin %s, "
            "metrics %s",
            (unsigned long long)dd_log_head(in->log),
            (unsigned long long)intake_deadletter_count(in->deadletters),
            dd_config_string(config, S_PUBLISH_ENDPOINT), dd_config_string(config, S_LOG_ENDPOINT),
            dd_config_string(config, S_ADMIN_ENDPOINT), listen[0] ? listen : "(off)");
    *out = in;
    return 0;

fail:
    intake_destroy(&in);
    return rc ? rc : -EINVAL;
}

void intake_stop(intake *in)
{
    if (in->stopping)
        return;
    /* Requests already queued are judged and answered; later ones are told
     * to come back. Nothing unacknowledged is lost: portals resend. */
    publish_cb(in->loop, &in->publish_w, EV_READ);
    in->stopping = true;
    dd_log_release_parked(in->log);
    ev_break(in->loop, EVBREAK_ALL);
}

int intake_reload(intake *in, dd_config *config)
{
    dd_divisions *divisions = NULL;
    int rc = load_divisions(config, &divisions);
    if (rc) {
        inc(in, M_RELOADS, "failed");
        return rc;
    }
    for (size_t key = 0; key < INTAKE_SETTING_COUNT; key++) {
        if (intake_settings[key].reloadable || dd_config_same(in->config, config, key))
            continue;
        dd_warn("SIGHUP: [%s] %s changed, but it takes effect only after a restart; the "
                "running value is kept",
                intake_settings[key].section, intake_settings[key].name);
    }
    if (in->auth)
        rc = dd_zauth_reload(in->auth, dd_config_string(config, S_AUTH_CLIENTS_FILE));
    if (rc) {
        dd_divisions_destroy(&divisions);
        inc(in, M_RELOADS, "failed");
        return rc;
    }
    apply_settings(in, config, divisions);
    dd_divisions_destroy(&in->divisions);
    in->divisions = divisions;
    dd_config_destroy(&in->config);
    in->config = config;
    inc(in, M_RELOADS, "ok");
    dd_info("configuration reloaded (%zu division codes)", dd_divisions_count(divisions));
    return 0;
}

int intake_metrics_port(const intake *in)
{
    return in->http ? dd_metrics_http_port(in->http) : 0;
}

void intake_destroy(intake **inp)
{
    if (!inp || !*inp)
        return;
    intake *in = *inp;
    dd_metrics_http_stop(&in->http);
    if (in->loop)
        ev_timer_stop(in->loop, &in->maintenance);
    if (in->publish_sock) {
        dd_evzmq_stop(in->loop, &in->publish_w);
        zmq_close(in->publish_sock);
    }
    if (in->admin_sock) {
        dd_evzmq_stop(in->loop, &in->admin_w);
        zmq_close(in->admin_sock);
    }
    dd_log_close(&in->log);
    dd_zauth_destroy(&in->auth);
    if (in->zctx)
        zmq_ctx_term(in->zctx);
    intake_deadletter_close(&in->deadletters);
    intake_dedup_close(&in->dedup);
    dd_store_metrics_destroy(&in->store_metrics);
    dd_store_close(&in->store);
    dd_divisions_destroy(&in->divisions);
    dd_metrics_destroy(&in->metrics);
    dd_arena_destroy(&in->arena);
    dd_wire_writer_free(&in->reply_packed);
    dd_config_destroy(&in->config);
    free(in->batch);
    free(in->consumer_names);
    free(in);
    *inp = NULL;
}
