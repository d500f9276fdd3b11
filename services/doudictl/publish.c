/*
 * publish.c: `doudictl publish`, JSON Lines into doudi-intake.
 *
 * Reading, sending and answering overlap: lines are parsed into a batch
 * while up to `window` sealed requests await their replies. Each request
 * lives in a slot of the window until answered:
 *
 *   seal_batch()          send_due()           handle_reply()
 *   ──────────▶ QUEUED ───────────────▶ SENT ─────────────────▶ (slot freed)
 *                 ▲                       │
 *                 └───────────────────────┘ check_timeouts(): the socket is
 *                   (every slot, after a     replaced, so every slot in it
 *                    backoff pause)          goes back to QUEUED
 *
 * A slot's deadline runs from the moment it may be sent, so time spent
 * unable to connect counts as silence too. Giving up (--max-wait-s) is
 * judged from a request's first queueing.
 */
#include "publish.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "alloc.h"
#include "clock.h"
#include "ctl.h"
#include "error.h"
#include "lines.h"
#include "names.h"
#include "pbjson.h"
#include "report.h"
#include "zreq.h"
#include "doudi/event.pb-c.h"
#include "doudi/publish.pb-c.h"

static const char publish_help[] =
    "NAME\n"
    "    doudictl publish - send events to doudi-intake and report the fate of each\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl publish [-e ENDPOINT] [-b N] [-w W] [-t MS] [--max-wait-s S]\n"
    "                     [--max-message-bytes BYTES] [-r FILE] [--show-rejections N]\n"
    "                     [FILE...]\n"
    "\n"
    "DESCRIPTION\n"
    "    Reads events from each FILE in turn (standard input when no FILE is given,\n"
    "    or for a FILE of \"-\"), one per line: a doudi.Envelope (event.proto) as a\n"
    "    JSON object in the canonical proto3 JSON mapping, for example\n"
    "\n"
    "      {\"eventId\":\"r-1\",\"source\":\"hotline\",\"occurredAtMs\":\"1767225600000\",\n"
    "       \"regionCode\":\"440101001001\",\"riskSignal\":{\"subjectPersonId\":\"...\",\n"
    "       \"kind\":\"RISK_KIND_FIRE\"}}\n"
    "\n"
    "    Field names may also be written in snake_case, 64-bit numbers as strings\n"
    "    or numbers, enum values by name or number.\n"
    "\n"
    "    Blank lines are skipped. A line that is not such an object is reported on\n"
    "    standard error as FILE:LINE: reason, counted as invalid and not sent.\n"
    "    Every other line is encoded and sent as it is: judging events is intake's\n"
    "    job, and its answer says why it refused one.\n"
    "\n"
    "    Events travel in PublishRequests of up to N events, with up to W requests\n"
    "    awaiting an answer at once. Intake answers a request only when its\n"
    "    accepted events are on disk. A request not answered within --timeout-ms\n"
    "    is sent again, with the same events, on a new connection: the old\n"
    "    connection is dropped with everything still queued on it, and the other\n"
    "    requests that were awaiting an answer on it are sent again too. The\n"
    "    resend waits 100 ms after the first timeout, doubling with each further\n"
    "    one up to 2 s. Resending is harmless: intake answers an event it has\n"
    "    already accepted as a duplicate and never appends it twice (so a resent\n"
    "    event whose first copy got in is reported as a duplicate). With\n"
    "    --max-wait-s, doudictl gives up on a request still unanswered that long\n"
    "    after it was first sent.\n"
    "\n"
    "    Events are sent in input order, and requests sent again go out in that\n"
    "    order too, never a later one before an earlier: intake appends in the\n"
    "    order it receives, so its log keeps the order of the input (a later\n"
    "    report about a person never overtakes an earlier one).\n"
    "\n"
    "    A request is also sent before it is full when the input has nothing more\n"
    "    to read for the moment, so events written slowly into a pipe go out as\n"
    "    they come.\n"
    "\n"
    "    At the end, standard output gets a summary: events accepted, duplicate,\n"
    "    rejected (with a count per reason, named as the reason label of the\n"
    "    doudi_intake_events_rejected_total metric), invalid lines, unanswered\n"
    "    events (after giving up), requests, resends, elapsed time and events per\n"
    "    second. Standard error gets each rejection with its line, event id,\n"
    "    reason and intake's explanation, up to --show-rejections of them, then a\n"
    "    count. A request refused as a whole (request_error in the reply) is\n"
    "    printed once and its events counted as rejected, except one refused\n"
    "    because intake is shutting down, which is sent again like an unanswered\n"
    "    one.\n"
    "\n"
    "OPTIONS\n"
    "    -e, --endpoint ENDPOINT\n"
    "        Intake's publish endpoint (ZeroMQ). Default: tcp://127.0.0.1:7101.\n"
    "\n"
    "    -b, --batch N\n"
    "        At most N events per request, 1 to 100000. Intake refuses a request\n"
    "        with more than its max_events_per_request (1000 unless configured).\n"
    "        Default: 1000.\n"
    "\n"
    "    -w, --window W\n"
    "        At most W requests awaiting an answer, 1 to 1024. Default: 4.\n"
    "\n"
    "    -t, --timeout-ms MS\n"
    "        Resend a request not answered within MS milliseconds. Default: 5000.\n"
    "\n"
    "    --max-wait-s S\n"
    "        Give up (exit status 3) on a request still unanswered S seconds after\n"
    "        it was first sent; 0 waits for ever. Default: 0.\n"
    "\n"
    "    --max-message-bytes BYTES\n"
    "        The largest reply accepted (ZMQ_MAXMSGSIZE) and the largest request\n"
    "        sent: a request is sent with fewer than N events rather than exceed\n"
    "        it, and a single event too large for it is counted invalid. Suffixes\n"
    "        K, M and G multiply by 1024, 1024^2 and 1024^3. Default: 64M.\n"
    "\n"
    "    -r, --results FILE\n"
    "        Write one JSON object per event sent to FILE, in the order the\n"
    "        answers came:\n"
    "          {\"file\":\"a.jsonl\",\"line\":7,\"eventId\":\"e-7\",\"outcome\":\"ACCEPTED\",\n"
    "           \"sequence\":\"42\"}\n"
    "          {\"file\":\"a.jsonl\",\"line\":9,\"eventId\":\"e-9\",\"outcome\":\"REJECTED\",\n"
    "           \"reason\":\"id_bad_check\",\"reasonText\":\"...\",\"deadLetterId\":\"3\"}\n"
    "        outcome is ACCEPTED or DUPLICATE with the log sequence of the event\n"
    "        (of its first copy for a duplicate); REJECTED with reason, reasonText,\n"
    "        and deadLetterId when intake kept the event; or UNANSWERED after\n"
    "        giving up. Standard input is named \"<stdin>\". A FILE of \"-\" is\n"
    "        standard output, and the summary then goes to standard error.\n"
    "\n"
    "    --show-rejections N\n"
    "        Print at most N rejections on standard error. Default: 20.\n"
    "\n"
    "    -h, --help\n"
    "        Print this manual and exit.\n"
    "\n"
    "EXIT STATUS\n"
    "    0   every event sent was accepted or a duplicate (or nothing was sent)\n"
    "    1   an event was rejected or a line was invalid\n"
    "    2   usage error; a FILE that cannot be read; a results file that cannot\n"
    "        be written; or a reply that breaks the protocol\n"
    "    3   gave up waiting for an answer (--max-wait-s)\n"
    "\n"
    "EXAMPLES\n"
    "    Publish the demo events:\n"
    "        doudictl publish deploy/sample-events.jsonl\n"
    "\n"
    "    Publish what a producer writes, keeping every outcome:\n"
    "        producer | doudictl publish --results outcomes.jsonl\n"
    "\n"
    "    Give up after a minute, and keep only the refused events' lines:\n"
    "        doudictl publish --max-wait-s 60 -r - day1.jsonl day2.jsonl \\\n"
    "            | jq -c 'select(.outcome == \"REJECTED\")'\n";

struct options {
    const char *endpoint;
    uint64_t batch;
    uint64_t window;
    uint64_t timeout_ms;
    uint64_t max_wait_s;
    uint64_t max_message_bytes;
    const char *results;
    uint64_t show_rejections;
    char **files;
    size_t nfiles;
};

/* A sealed request, from seal_batch() until its answer. */
struct request {
    bool used;
    bool sent;          /* on the current socket */
    uint64_t id;
    uint8_t *packed;    /* the encoded PublishRequest, resent as is */
    size_t packed_len;
    ctl_event_ref *refs;
    size_t n;
    int64_t first_ms;   /* first queued, for --max-wait-s */
    int64_t send_at_ms; /* not before (backoff) */
    int64_t deadline_ms;
};

/* The batch being filled. */
struct batch {
    ProtobufCBinaryData *events;
    ctl_event_ref *refs;
    size_t n, cap;
    size_t bytes; /* encoded size of a request holding them */
};

struct publisher {
    struct options opt;
    ctl_zreq *z;
    ctl_report *report;
    struct request *slots;
    unsigned active;
    struct batch batch;
    unsigned failures; /* timeouts since the last answer, for the backoff */
    /* input */
    size_t next_file;
    ctl_lines *in;
    const char *in_name;
    bool input_done;
    bool input_idle; /* the last read would have blocked */
    /* outcome */
    bool io_error;
    bool protocol_error;
    bool gave_up;
    int fatal; /* -errno from the socket, ends the run */
};

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Encoded size of one element of PublishRequest.events (field 2). */
static size_t event_field_size(size_t len)
{
    return 1 + varint_size(len) + len;
}

/* request_id (field 1) at its largest. */
#define REQUEST_OVERHEAD 11

static void free_refs(ctl_event_ref *refs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(refs[i].event_id);
    free(refs);
}

static struct request *free_slot(struct publisher *p)
{
    for (uint64_t i = 0; i < p->opt.window; i++)
        if (!p->slots[i].used)
            return &p->slots[i];
    return NULL;
}

static void release_slot(struct publisher *p, struct request *rq)
{
    free(rq->packed);
    free_refs(rq->refs, rq->n);
    memset(rq, 0, sizeof(*rq));
    p->active--;
}

/* Turns the batch into a queued request. The caller made sure a slot is free. */
static void seal_batch(struct publisher *p)
{
    struct batch *b = &p->batch;
    struct request *rq = free_slot(p);
    if (b->n == 0 || !rq)
        return;

    Doudi__PublishRequest req = DOUDI__PUBLISH_REQUEST__INIT;
    req.request_id = ctl_zreq_next_id();
    req.n_events = b->n;
    req.events = b->events;
    rq->packed_len = doudi__publish_request__get_packed_size(&req);
    rq->packed = dd_malloc(rq->packed_len);
    doudi__publish_request__pack(&req, rq->packed);

    int64_t now = ctl_now_ms();
    rq->used = true;
    rq->sent = false;
    rq->id = req.request_id;
    rq->refs = b->refs;
    rq->n = b->n;
    rq->first_ms = now;
    rq->send_at_ms = now;
    rq->deadline_ms = now + (int64_t)p->opt.timeout_ms;
    p->active++;
    ctl_report_count_request(p->report);

    for (size_t i = 0; i < b->n; i++)
        free(b->events[i].data);
    b->refs = dd_malloc(b->cap * sizeof(*b->refs));
    b->n = 0;
    b->bytes = REQUEST_OVERHEAD;
}

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\f' && s[i] != '\v')
            return false;
    return true;
}

/* Parses and packs one line into the batch, or reports it invalid. */
static void take_line(struct publisher *p, const char *line, size_t len, uint64_t lineno)
{
    if (blank(line, len))
        return;
    char err[256];
    ProtobufCMessage *msg = NULL;
    if (dd_pbjson_parse(&doudi__envelope__descriptor, line, len, &msg, err, sizeof(err)) != 0) {
        ctl_report_invalid(p->report, p->in_name, lineno, err);
        return;
    }
    Doudi__Envelope *env = (Doudi__Envelope *)msg;
    size_t size = protobuf_c_message_get_packed_size(msg);
    size_t field = event_field_size(size);
    if (REQUEST_OVERHEAD + field > p->opt.max_message_bytes) {
        snprintf(err, sizeof(err),
                 "the event encodes to %zu bytes, too large for a request of at most "
                 "%" PRIu64 " bytes (--max-message-bytes)",
                 size, p->opt.max_message_bytes);
        ctl_report_invalid(p->report, p->in_name, lineno, err);
        protobuf_c_message_free_unpacked(msg, NULL);
        return;
    }
    uint8_t *bytes = dd_malloc(size);
    size_t packed = protobuf_c_message_pack(msg, bytes);
    char *event_id = dd_strdup(env->event_id);
    protobuf_c_message_free_unpacked(msg, NULL);
    if (packed != size) {
        ctl_report_invalid(p->report, p->in_name, lineno, "the event could not be encoded");
        free(bytes);
        free(event_id);
        return;
    }

    struct batch *b = &p->batch;
    /* Keep requests within the size the other side accepts. The caller only
     * reads while a slot is free, so this seal always finds one. */
    if (b->n > 0 && b->bytes + field > p->opt.max_message_bytes)
        seal_batch(p);
    b->events[b->n].data = bytes;
    b->events[b->n].len = size;
    b->refs[b->n].file = p->in_name;
    b->refs[b->n].line = lineno;
    b->refs[b->n].event_id = event_id;
    b->n++;
    b->bytes += field;
}

/* Opens the next input. Returns false when there is none left. */
static bool open_next_input(struct publisher *p)
{
    ctl_lines_close(&p->in);
    while (p->next_file < p->opt.nfiles) {
        const char *path = p->opt.files[p->next_file++];
        int rc = ctl_lines_open(path, &p->in);
        if (rc == 0) {
            p->in_name = strcmp(path, "-") == 0 ? "<stdin>" : path;
            return true;
        }
        ctl_warn("cannot open %s: %s", path, dd_strerror(rc));
        p->io_error = true;
    }
    return false;
}

/* Reads lines while the window has room, sealing full batches. */
static void pump_input(struct publisher *p)
{
    p->input_idle = false;
    for (;;) {
        if (p->batch.n >= p->opt.batch) {
            if (p->active >= p->opt.window)
                return;
            seal_batch(p);
        }
        if (p->active >= p->opt.window || p->input_done)
            break;
        if (!p->in && !open_next_input(p)) {
            p->input_done = true;
            break;
        }
        const char *line;
        size_t len;
        int rc = ctl_lines_next(p->in, false, &line, &len);
        if (rc == DD_AGAIN) {
            p->input_idle = true;
            break;
        }
        if (rc < 0) {
            ctl_warn("cannot read %s: %s", p->in_name, dd_strerror(rc));
            p->io_error = true;
            ctl_lines_close(&p->in);
            continue;
        }
        if (rc == 0) {
            ctl_lines_close(&p->in);
            continue;
        }
        take_line(p, line, len, ctl_lines_number(p->in));
    }
    /* A partial batch goes out when nothing more is coming for now. */
    if (p->batch.n > 0 && p->active < p->opt.window && (p->input_done || p->input_idle))
        seal_batch(p);
}

/* The oldest request not on the current socket, or NULL. */
static struct request *oldest_unsent(struct publisher *p)
{
    struct request *oldest = NULL;
    for (uint64_t i = 0; i < p->opt.window; i++) {
        struct request *rq = &p->slots[i];
        if (rq->used && !rq->sent && (!oldest || rq->id < oldest->id))
            oldest = rq;
    }
    return oldest;
}

/*
 * Sends the queued requests whose time has come, oldest first, and never a
 * younger one before an older: intake appends in the order requests arrive
 * on a connection, and a later report about a person must not overtake an
 * earlier one. Returns true when one is due but the socket cannot take it.
 */
static bool send_due(struct publisher *p)
{
    int64_t now = ctl_now_ms();
    struct request *rq;
    while ((rq = oldest_unsent(p)) && rq->send_at_ms <= now) {
        int rc = ctl_zreq_send(p->z, rq->packed, rq->packed_len);
        if (rc == DD_AGAIN)
            return true;
        if (rc != 0) {
            ctl_warn("cannot send to %s: %s", p->opt.endpoint, zmq_strerror(-rc));
            p->fatal = rc;
            return false;
        }
        rq->sent = true;
    }
    return false;
}

static struct request *find_request(struct publisher *p, uint64_t id)
{
    for (uint64_t i = 0; i < p->opt.window; i++)
        if (p->slots[i].used && p->slots[i].id == id)
            return &p->slots[i];
    return NULL;
}

/* Puts a request back in the queue after a backoff pause. */
static void requeue(struct publisher *p, struct request *rq, int64_t send_at)
{
    rq->sent = false;
    rq->send_at_ms = send_at;
    rq->deadline_ms = send_at + (int64_t)p->opt.timeout_ms;
    ctl_report_count_resends(p->report, 1);
}

static void handle_reply(struct publisher *p, const uint8_t *data, size_t len)
{
    Doudi__PublishReply *reply = doudi__publish_reply__unpack(NULL, len, data);
    if (!reply) {
        ctl_warn("ignoring a reply from %s that is not a PublishReply (%zu bytes)",
                 p->opt.endpoint, len);
        return;
    }
    struct request *rq = find_request(p, reply->request_id);
    if (!rq) {
        /* An answer to a request already answered, or to another run. */
        doudi__publish_reply__free_unpacked(reply, NULL);
        return;
    }
    p->failures = 0;
    if (reply->request_error == DOUDI__REJECT_REASON__REJECT_REASON_REQUEST_SHUTTING_DOWN) {
        int64_t pause = ctl_backoff_ms(++p->failures);
        ctl_warn("intake is shutting down; sending request %" PRIu64 " again in %lld ms",
                 rq->id, (long long)pause);
        requeue(p, rq, ctl_now_ms() + pause);
    } else if (reply->request_error != DOUDI__REJECT_REASON__REJECT_REASON_UNSPECIFIED) {
        ctl_report_request_refused(p->report, rq->id, rq->refs, rq->n, reply->request_error,
                                   reply->request_error_text);
        release_slot(p, rq);
    } else if (reply->n_statuses != rq->n) {
        ctl_warn("intake answered request %" PRIu64 " with %zu statuses for %zu events; "
                 "counting its events as unanswered",
                 rq->id, reply->n_statuses, rq->n);
        p->protocol_error = true;
        ctl_report_unanswered(p->report, rq->refs, rq->n);
        release_slot(p, rq);
    } else {
        for (size_t i = 0; i < rq->n; i++)
            ctl_report_status(p->report, &rq->refs[i], reply->statuses[i]);
        release_slot(p, rq);
    }
    doudi__publish_reply__free_unpacked(reply, NULL);
    ctl_report_flush(p->report);
}

static void drain_replies(struct publisher *p)
{
    for (;;) {
        uint8_t *data;
        size_t len;
        int rc = ctl_zreq_recv(p->z, &data, &len);
        if (rc == DD_AGAIN)
            return;
        if (rc == DD_EPROTO) {
            ctl_warn("ignoring a reply from %s that is not one frame", p->opt.endpoint);
            continue;
        }
        if (rc != 0) {
            ctl_warn("cannot receive from %s: %s", p->opt.endpoint, zmq_strerror(-rc));
            p->fatal = rc;
            return;
        }
        handle_reply(p, data, len);
        free(data);
    }
}

/* When the request must be answered by, under --max-wait-s (0: never). */
static int64_t give_up_at(const struct publisher *p, const struct request *rq)
{
    return p->opt.max_wait_s ? rq->first_ms + (int64_t)p->opt.max_wait_s * 1000 : 0;
}

/* Gives up when a request has waited too long; after a deadline passes,
 * replaces the socket and queues every request again. */
static void check_timeouts(struct publisher *p)
{
    int64_t now = ctl_now_ms();
    bool expired = false, any_sent = false;
    unsigned n = 0;
    for (uint64_t i = 0; i < p->opt.window; i++) {
        struct request *rq = &p->slots[i];
        if (!rq->used)
            continue;
        n++;
        any_sent |= rq->sent;
        if (now >= rq->deadline_ms)
            expired = true;
        if (give_up_at(p, rq) && now >= give_up_at(p, rq))
            p->gave_up = true;
    }
    const char *why = any_sent ? "no answer from" : "could not connect to";
    if (p->gave_up) {
        ctl_warn("%s %s; giving up after %" PRIu64 " s (--max-wait-s)", why, p->opt.endpoint,
                 p->opt.max_wait_s);
        return;
    }
    if (!expired)
        return;
    int64_t pause = ctl_backoff_ms(++p->failures);
    ctl_warn("%s %s within %" PRIu64 " ms; resending %u request%s on a new connection "
             "in %lld ms",
             why, p->opt.endpoint, p->opt.timeout_ms, n, n == 1 ? "" : "s", (long long)pause);
    int rc = ctl_zreq_reconnect(p->z);
    if (rc != 0) {
        ctl_warn("cannot reconnect to %s: %s", p->opt.endpoint, zmq_strerror(-rc));
        p->fatal = rc;
        return;
    }
    for (uint64_t i = 0; i < p->opt.window; i++)
        if (p->slots[i].used)
            requeue(p, &p->slots[i], now + pause);
}

/* Waits for a reply, room to send, more input or the next deadline. */
static void wait_for_something(struct publisher *p, bool want_out)
{
    zmq_pollitem_t items[2];
    int n = 0;
    int64_t now = ctl_now_ms();
    int64_t wake = -1;

    if (p->active > 0) {
        items[n++] = (zmq_pollitem_t){ .socket = ctl_zreq_socket(p->z),
                                       .events = (short)(ZMQ_POLLIN |
                                                         (want_out ? ZMQ_POLLOUT : 0)) };
        for (uint64_t i = 0; i < p->opt.window; i++) {
            struct request *rq = &p->slots[i];
            if (!rq->used)
                continue;
            int64_t t = rq->deadline_ms;
            if (!rq->sent && rq->send_at_ms > now && rq->send_at_ms < t)
                t = rq->send_at_ms;
            if (give_up_at(p, rq) && give_up_at(p, rq) < t)
                t = give_up_at(p, rq);
            if (wake < 0 || t < wake)
                wake = t;
        }
    }
    if (p->input_idle && p->in)
        items[n++] = (zmq_pollitem_t){ .fd = ctl_lines_fd(p->in), .events = ZMQ_POLLIN };
    long timeout = wake < 0 ? -1 : (wake > now ? (long)(wake - now) : 0);
    if (n == 0 && timeout < 0)
        return; /* nothing to wait for; the caller's loop ends */
    if (zmq_poll(items, n, timeout) < 0 && zmq_errno() != EINTR)
        p->fatal = -zmq_errno();
}

static int run(struct publisher *p)
{
    int64_t start_ns = dd_monotonic_ns();
    for (;;) {
        pump_input(p);
        if (p->input_done && p->active == 0 && p->batch.n == 0)
            break;
        bool want_out = send_due(p);
        if (p->fatal)
            break;
        wait_for_something(p, want_out);
        if (p->fatal)
            break;
        if (p->active > 0)
            drain_replies(p);
        if (p->fatal)
            break;
        check_timeouts(p);
        if (p->gave_up || p->fatal)
            break;
    }
    double elapsed = (double)(dd_monotonic_ns() - start_ns) / 1e9;

    /* Whatever is still in the window, or was waiting for room in it, was
     * never answered. */
    for (uint64_t i = 0; i < p->opt.window; i++) {
        struct request *rq = &p->slots[i];
        if (rq->used) {
            ctl_report_unanswered(p->report, rq->refs, rq->n);
            release_slot(p, rq);
        }
    }
    ctl_report_unanswered(p->report, p->batch.refs, p->batch.n);
    if (!p->input_done)
        ctl_warn("stopped after %s:%" PRIu64 "; the rest of the input was not read",
                 p->in_name ? p->in_name : "-", p->in ? ctl_lines_number(p->in) : 0);
    FILE *out = p->opt.results && strcmp(p->opt.results, "-") == 0 ? stderr : stdout;
    ctl_report_summary(p->report, out, elapsed);
    if (p->io_error || p->protocol_error || p->fatal)
        return CTL_EXIT_USAGE;
    if (p->gave_up)
        return CTL_EXIT_GAVE_UP;
    return ctl_report_exit_status(p->report);
}

static int parse_options(int argc, char **argv, struct options *o)
{
    enum { OPT_MAX_WAIT = 256, OPT_MAX_MSG, OPT_SHOW };
    static const struct option longopts[] = {
        { "endpoint", required_argument, NULL, 'e' },
        { "batch", required_argument, NULL, 'b' },
        { "window", required_argument, NULL, 'w' },
        { "timeout-ms", required_argument, NULL, 't' },
        { "max-wait-s", required_argument, NULL, OPT_MAX_WAIT },
        { "max-message-bytes", required_argument, NULL, OPT_MAX_MSG },
        { "results", required_argument, NULL, 'r' },
        { "show-rejections", required_argument, NULL, OPT_SHOW },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    *o = (struct options){
        .endpoint = "tcp://127.0.0.1:7101",
        .batch = 1000,
        .window = 4,
        .timeout_ms = 5000,
        .max_wait_s = 0,
        .max_message_bytes = 64 * 1024 * 1024,
        .show_rejections = 20,
    };
    opterr = 0;
    optind = 0;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":e:b:w:t:r:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'e': o->endpoint = optarg; break;
        case 'b': rc = ctl_option_u64("--batch", optarg, 1, 100000, &o->batch); break;
        case 'w': rc = ctl_option_u64("--window", optarg, 1, 1024, &o->window); break;
        case 't': rc = ctl_option_u64("--timeout-ms", optarg, 1, 86400000, &o->timeout_ms); break;
        case OPT_MAX_WAIT:
            rc = ctl_option_u64("--max-wait-s", optarg, 0, 31536000, &o->max_wait_s);
            break;
        case OPT_MAX_MSG:
            rc = ctl_option_bytes("--max-message-bytes", optarg, 1024, INT64_MAX,
                                  &o->max_message_bytes);
            break;
        case 'r': o->results = optarg; break;
        case OPT_SHOW:
            rc = ctl_option_u64("--show-rejections", optarg, 0, UINT32_MAX, &o->show_rejections);
            break;
        case 'h': fputs(publish_help, stdout); return -1;
        default: return ctl_getopt_error(c, argv);
        }
    }
    if (rc != 0)
        return rc;
    static char *stdin_only[] = { "-" };
    if (optind < argc) {
        o->files = argv + optind;
        o->nfiles = (size_t)(argc - optind);
    } else {
        o->files = stdin_only;
        o->nfiles = 1;
    }
    return 0;
}

int ctl_publish_main(int argc, char **argv)
{
    struct publisher p = { 0 };
    ctl_set_command("doudictl publish");
    int rc = parse_options(argc, argv, &p.opt);
    if (rc != 0)
        return rc < 0 ? CTL_EXIT_OK : rc;

    /* Find an unreadable file before sending anything. */
    size_t stdin_uses = 0;
    for (size_t i = 0; i < p.opt.nfiles; i++) {
        if (strcmp(p.opt.files[i], "-") == 0)
            stdin_uses++;
        else if (access(p.opt.files[i], R_OK) != 0) {
            ctl_warn("cannot read %s: %s", p.opt.files[i], strerror(errno));
            return CTL_EXIT_USAGE;
        }
    }
    if (stdin_uses > 1)
        return ctl_usage("standard input (\"-\") can be named only once");

    rc = ctl_zreq_new(p.opt.endpoint, (int64_t)p.opt.max_message_bytes, &p.z);
    if (rc != 0)
        return ctl_usage("cannot use endpoint '%s': %s", p.opt.endpoint, zmq_strerror(-rc));
    rc = ctl_report_new(p.opt.results, (unsigned)p.opt.show_rejections, &p.report);
    if (rc != 0) {
        ctl_warn("cannot write %s: %s", p.opt.results, dd_strerror(rc));
        ctl_zreq_destroy(&p.z);
        return CTL_EXIT_USAGE;
    }
    p.slots = dd_calloc(p.opt.window, sizeof(*p.slots));
    p.batch.cap = p.opt.batch;
    p.batch.events = dd_malloc(p.batch.cap * sizeof(*p.batch.events));
    p.batch.refs = dd_malloc(p.batch.cap * sizeof(*p.batch.refs));
    p.batch.bytes = REQUEST_OVERHEAD;

    int status = run(&p);

    rc = ctl_report_destroy(&p.report);
    if (rc != 0) {
        ctl_warn("writing %s failed: %s", p.opt.results, dd_strerror(rc));
        status = CTL_EXIT_USAGE;
    }
    for (size_t i = 0; i < p.batch.n; i++)
        free(p.batch.events[i].data);
    free_refs(p.batch.refs, p.batch.n);
    free(p.batch.events);
    free(p.slots);
    ctl_lines_close(&p.in);
    ctl_zreq_destroy(&p.z);
    return status;
}
