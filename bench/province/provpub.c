/*
 * provpub.c: publishes provgen's event files into doudi-intake at full
 * speed, one portal thread per file, and says what intake answered. See
 * --help.
 *
 * Each portal is a DEALER with up to --window PublishRequests awaiting
 * their reply (a request is answered only once its accepted events are
 * fsynced). Its events go out in file order (prov_file.h), so a
 * household's events reach intake's log in the order they were generated;
 * a request unanswered within --timeout-ms is sent again, with every later
 * one, in order, on a fresh socket (intake answers repeats as DUPLICATE, so
 * resending loses and doubles nothing).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "alloc.h"
#include "prov_file.h"
#include "wire.h"
#include "zauth.h"

#include "doudi/publish.pb-c.h"

#define MAX_PORTALS 64
#define REASONS 32

static const char help[] =
    "NAME\n"
    "    provpub - publish provgen's events into doudi-intake with N concurrent portals\n"
    "\n"
    "SYNOPSIS\n"
    "    provpub --dir DIR --phase preload|month [-e ENDPOINT] [--portals N] [--batch B]\n"
    "            [--window W] [--timeout-ms MS] [--requests FILE] [--json FILE]\n"
    "            [--start-on-stdin]\n"
    "\n"
    "DESCRIPTION\n"
    "    Reads DIR/PHASE-0.evt .. DIR/PHASE-(N-1).evt (written by provgen) and\n"
    "    publishes each from its own thread, a portal with its own DEALER socket,\n"
    "    in PublishRequests of B events with W awaiting their reply. Every reply\n"
    "    is checked: its request must be one outstanding, with one status per\n"
    "    event. Prints a JSON summary on standard output: events accepted,\n"
    "    duplicate (answers to resent requests) and rejected by reason (the label\n"
    "    of doudi_intake_events_rejected_total), requests, resends, elapsed seconds,\n"
    "    events per second, and the highest sequence intake gave.\n"
    "\n"
    "OPTIONS\n"
    "    --dir DIR          provgen's output directory.\n"
    "    --phase P          preload or month.\n"
    "    -e, --endpoint E   intake's publish endpoint. Default: tcp://127.0.0.1:7101.\n"
    "    --portals N        Files to publish, one thread each. Default: every\n"
    "                       PHASE-K.evt found from 0 on.\n"
    "    --batch B          Events per request, 1 to 100000 (intake refuses more\n"
    "                       than its max_events_per_request, 1000 by default).\n"
    "                       Default: 1000.\n"
    "    --window W         Requests awaiting a reply per portal, 1 to 256. Default: 4.\n"
    "    --timeout-ms MS    Resend what is unanswered this long. Default: 60000.\n"
    "    --requests FILE    Writes one line per request: portal, first send and\n"
    "                       reply (CLOCK_REALTIME nanoseconds), events, the highest\n"
    "                       sequence of its events in intake's log.\n"
    "    --json FILE        Writes the summary there too.\n"
    "    --start-on-stdin   Opens and checks every file, writes \"provpub: ready\" on\n"
    "                       standard error, and publishes only once a line (or the\n"
    "                       end of input) comes on standard input: a caller timing\n"
    "                       the publishing leaves out the reading of the files.\n"
    "    -h, --help         This text.\n"
    "\n"
    "ENVIRONMENT\n"
    "    DOUDI_CURVE_KEY, DOUDI_CURVE_SERVER_KEY: when both are set, every portal\n"
    "    publishes over CURVE with the first file's key pair to the intake whose\n"
    "    public key the second holds (files of doudictl keygen), as doudictl does.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 when every event was answered (rejections are in the summary: the\n"
    "    generator makes some on purpose); 1 when a reply was malformed, a request\n"
    "    refused as a whole or an event left unanswered; 2 on bad usage or\n"
    "    unreadable files.\n";

typedef struct request_log {
    int64_t sent_ns, reply_ns;
    uint32_t events;
    uint64_t max_seq;
} request_log;

typedef struct slot {
    bool busy;
    uint64_t request_id;
    size_t n;
    ProtobufCBinaryData *events;
    uint8_t *packed;
    size_t packed_len, packed_cap;
    int64_t first_sent_ns, sent_ns;
} slot;

/* With DOUDI_CURVE_KEY and DOUDI_CURVE_SERVER_KEY set: the keys every portal uses. */
static bool curve;
static dd_zauth_keys curve_own, curve_server;

typedef struct portal {
    unsigned index;
    char path[4096];
    prov_reader *reader;
    void *ctx;
    const char *endpoint;
    size_t batch, window;
    int64_t timeout_ns;
    /* results */
    uint64_t accepted, duplicate, rejected[REASONS], answered, requests, resends, malformed;
    uint64_t max_seq;
    request_log *log;
    size_t nlog, caplog;
    /* Replies are decoded into it: a reply holds a status per event, and
     * protobuf-c's default allocator would make each one a malloc. */
    dd_arena *replies;
    char error[256];
} portal;

static int64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *fresh_socket(portal *p)
{
    void *s = zmq_socket(p->ctx, ZMQ_DEALER);
    int zero = 0, hwm = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    if (curve && dd_zauth_secure_client(s, &curve_own, curve_server.public_z85) != 0) {
        snprintf(p->error, sizeof(p->error), "cannot set CURVE keys: %s", zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if (zmq_connect(s, p->endpoint) != 0) {
        snprintf(p->error, sizeof(p->error), "cannot connect to %s: %s", p->endpoint, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int send_slot(portal *p, void *sock, slot *s)
{
    s->sent_ns = realtime_ns();
    if (!s->first_sent_ns)
        s->first_sent_ns = s->sent_ns;
    if (zmq_send(sock, s->packed, s->packed_len, 0) < 0) {
        snprintf(p->error, sizeof(p->error), "send: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

/* Fills a free slot with the next events; false at the end of the file. */
static bool fill_slot(portal *p, slot *s, uint64_t request_id)
{
    size_t n = 0;
    const uint8_t *data;
    size_t len;
    int64_t t;
    while (n < p->batch && prov_reader_next(p->reader, &data, &len, &t)) {
        s->events[n].data = (uint8_t *)data;
        s->events[n].len = len;
        n++;
    }
    if (n == 0)
        return false;
    Doudi__PublishRequest req = DOUDI__PUBLISH_REQUEST__INIT;
    req.request_id = request_id;
    req.n_events = n;
    req.events = s->events;
    size_t need = doudi__publish_request__get_packed_size(&req);
    if (need > s->packed_cap) {
        s->packed_cap = need;
        s->packed = dd_realloc(s->packed, need);
    }
    s->packed_len = doudi__publish_request__pack(&req, s->packed);
    /* Packed: resends use the copy, so the file's pages can go. */
    prov_reader_release_read(p->reader);
    s->busy = true;
    s->request_id = request_id;
    s->n = n;
    s->first_sent_ns = 0;
    return true;
}

static void record(portal *p, const slot *s, int64_t reply_ns, uint64_t max_seq)
{
    if (p->nlog == p->caplog) {
        p->caplog = p->caplog ? p->caplog * 2 : 1024;
        p->log = dd_realloc(p->log, p->caplog * sizeof(request_log));
    }
    p->log[p->nlog++] = (request_log){s->first_sent_ns, reply_ns, (uint32_t)s->n, max_seq};
}

/* What a reply says, counted. */
typedef struct reply_summary {
    uint64_t request_id;
    int request_error;
    const char *request_error_text;
    size_t statuses;
    uint64_t accepted, duplicate, rejected[REASONS], max_seq;
} reply_summary;

static void count_status(reply_summary *r, int outcome, uint64_t sequence, int reason)
{
    r->statuses++;
    if (outcome == DOUDI__OUTCOME__OUTCOME_ACCEPTED)
        r->accepted++;
    else if (outcome == DOUDI__OUTCOME__OUTCOME_DUPLICATE)
        r->duplicate++;
    else
        r->rejected[reason >= 0 && reason < REASONS ? reason : 0]++;
    if (outcome != DOUDI__OUTCOME__OUTCOME_REJECTED && sequence > r->max_seq)
        r->max_seq = sequence;
}

/*
 * Counts a reply straight from its bytes: a reply holds a status per event
 * (a thousand), and protobuf-c's unpack allocated each one, which took CPU
 * from the daemons being measured. Declines (false) on anything but the
 * plain shape intake writes: the caller then unpacks with protobuf-c.
 */
static bool count_reply_bytes(const uint8_t *p, size_t len, reply_summary *r)
{
    const uint8_t *end = p + len;
    while (p < end) {
        uint32_t number;
        unsigned wire;
        uint64_t v;
        size_t n;
        if (!dd_wire_key(&p, end, &number, &wire))
            return false;
        if (number == 1 && wire == DD_WIRE_VARINT) {
            if (!dd_wire_u64(&p, end, &r->request_id))
                return false;
            continue;
        }
        if (number != 4 || wire != DD_WIRE_LENGTH || !dd_wire_length(&p, end, &n))
            return false; /* a request error, or a shape left to protobuf-c */
        const uint8_t *st = p, *st_end = p + n;
        uint64_t outcome = 0, sequence = 0, reason = 0;
        while (st < st_end) {
            if (!dd_wire_key(&st, st_end, &number, &wire))
                return false;
            if (wire == DD_WIRE_VARINT && (number == 1 || number == 2 || number == 3 || number == 6)) {
                if (!dd_wire_u64(&st, st_end, &v))
                    return false;
                if (number == 1)
                    outcome = v;
                else if (number == 2)
                    sequence = v;
                else if (number == 3)
                    reason = v;
            } else if (wire == DD_WIRE_LENGTH && (number == 4 || number == 5)) {
                if (!dd_wire_length(&st, st_end, &n))
                    return false;
                st += n;
            } else {
                return false;
            }
        }
        count_status(r, (int32_t)outcome, sequence, (int32_t)reason);
        p = st_end;
    }
    return true;
}

static bool count_reply(portal *p, const uint8_t *data, size_t len, reply_summary *r)
{
    memset(r, 0, sizeof(*r));
    if (count_reply_bytes(data, len, r))
        return true;
    memset(r, 0, sizeof(*r));
    dd_arena_reset(p->replies);
    ProtobufCAllocator alloc = dd_arena_protobuf_allocator(p->replies);
    Doudi__PublishReply *rep = doudi__publish_reply__unpack(&alloc, len, data);
    if (!rep)
        return false;
    r->request_id = rep->request_id;
    r->request_error = rep->request_error;
    r->request_error_text = rep->request_error_text;
    for (size_t i = 0; i < rep->n_statuses; i++)
        count_status(r, rep->statuses[i]->outcome, rep->statuses[i]->sequence,
                     rep->statuses[i]->reason);
    return true;
}

static int handle_reply(portal *p, slot *slots, const uint8_t *data, size_t len)
{
    reply_summary rep;
    if (!count_reply(p, data, len, &rep)) {
        p->malformed++;
        snprintf(p->error, sizeof(p->error), "a reply that does not decode");
        return -1;
    }
    slot *s = NULL;
    for (size_t i = 0; i < p->window; i++)
        if (slots[i].busy && slots[i].request_id == rep.request_id)
            s = &slots[i];
    if (!s) { /* the answer to a request already answered before a resend */
        return 0;
    }
    if (rep.request_error == DOUDI__REJECT_REASON__REJECT_REASON_REQUEST_SHUTTING_DOWN) {
        s->sent_ns = 0; /* resent at the next timeout check */
        return 0;
    }
    if (rep.request_error || rep.statuses != s->n) {
        p->malformed++;
        snprintf(p->error, sizeof(p->error), "request %" PRIu64 " refused (reason %d: %s) or answered with %zu "
                 "statuses for %zu events", rep.request_id, rep.request_error,
                 rep.request_error_text ? rep.request_error_text : "", rep.statuses, s->n);
        return -1;
    }
    p->accepted += rep.accepted;
    p->duplicate += rep.duplicate;
    for (size_t i = 0; i < REASONS; i++)
        p->rejected[i] += rep.rejected[i];
    p->answered += s->n;
    if (rep.max_seq > p->max_seq)
        p->max_seq = rep.max_seq;
    record(p, s, realtime_ns(), rep.max_seq);
    s->busy = false;
    return 0;
}

static void *portal_main(void *arg)
{
    portal *p = arg;
    p->replies = dd_arena_new(0);
    slot *slots = dd_calloc(p->window, sizeof(slot));
    for (size_t i = 0; i < p->window; i++)
        slots[i].events = dd_calloc(p->batch, sizeof(ProtobufCBinaryData));
    void *sock = fresh_socket(p);
    uint64_t next_id = ((uint64_t)p->index << 40) + 1;
    bool more = true;
    while (sock) {
        /* fill and send every free slot, oldest first */
        for (size_t i = 0; i < p->window && more; i++) {
            if (slots[i].busy)
                continue;
            if (!fill_slot(p, &slots[i], next_id)) {
                more = false;
                break;
            }
            next_id++;
            p->requests++;
            if (send_slot(p, sock, &slots[i]) != 0)
                goto out;
        }
        bool busy = false;
        for (size_t i = 0; i < p->window; i++)
            busy |= slots[i].busy;
        if (!busy && !more)
            break;
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, 200);
        if (rc < 0 && errno != EINTR) {
            snprintf(p->error, sizeof(p->error), "poll: %s", zmq_strerror(errno));
            goto out;
        }
        while (rc > 0) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&msg);
                break;
            }
            /* the payload is the last frame */
            if (!zmq_msg_more(&msg) && handle_reply(p, slots, zmq_msg_data(&msg), zmq_msg_size(&msg)) != 0) {
                zmq_msg_close(&msg);
                goto out;
            }
            zmq_msg_close(&msg);
        }
        /* anything unanswered too long: every outstanding request again, in order, on a new socket */
        int64_t now = realtime_ns();
        bool late = false;
        for (size_t i = 0; i < p->window; i++)
            late |= slots[i].busy && now - slots[i].sent_ns > p->timeout_ns;
        if (late) {
            zmq_close(sock);
            if (!(sock = fresh_socket(p)))
                goto out;
            for (;;) {
                slot *first = NULL;
                for (size_t i = 0; i < p->window; i++)
                    if (slots[i].busy && slots[i].sent_ns <= now && (!first || slots[i].request_id < first->request_id))
                        first = &slots[i];
                if (!first)
                    break;
                p->resends++;
                if (send_slot(p, sock, first) != 0)
                    goto out;
            }
        }
    }
out:
    if (sock)
        zmq_close(sock);
    for (size_t i = 0; i < p->window; i++) {
        free(slots[i].events);
        free(slots[i].packed);
    }
    free(slots);
    dd_arena_destroy(&p->replies);
    return NULL;
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "provpub: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nprovpub: see provpub --help\n");
    exit(2);
}

static long parse_long(const char *s, long lo, long hi, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        usage_error("%s %s: an integer from %ld to %ld", what, s, lo, hi);
    return v;
}

static void reason_label(int reason, char *out, size_t size)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&doudi__reject_reason__descriptor, reason);
    const char *name = v ? v->name : "REJECT_REASON_UNSPECIFIED";
    name += strlen("REJECT_REASON_");
    size_t i = 0;
    for (; name[i] && i + 1 < size; i++)
        out[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
    out[i] = '\0';
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *phase = NULL, *endpoint = "tcp://127.0.0.1:7101", *requests_path = NULL,
               *json_path = NULL;
    long portals = 0, batch = 1000, window = 4, timeout_ms = 60000;
    bool start_on_stdin = false;
    /* ZeroMQ's I/O thread gave its arena's freed top back to the kernel
     * and faulted it in again, zeroed, for the next reply: 60 % of that
     * thread's samples in a province-month, CPU taken from the daemons
     * being measured. */
    dd_keep_freed_memory();
    static const struct option longs[] = {
        {"dir", required_argument, NULL, 'd'},        {"phase", required_argument, NULL, 'P'},
        {"endpoint", required_argument, NULL, 'e'},   {"portals", required_argument, NULL, 'n'},
        {"batch", required_argument, NULL, 'b'},      {"window", required_argument, NULL, 'w'},
        {"timeout-ms", required_argument, NULL, 't'}, {"requests", required_argument, NULL, 'r'},
        {"json", required_argument, NULL, 'j'},       {"help", no_argument, NULL, 'h'},
        {"start-on-stdin", no_argument, NULL, 'S'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "e:h", longs, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'P': phase = optarg; break;
        case 'e': endpoint = optarg; break;
        case 'n': portals = parse_long(optarg, 1, MAX_PORTALS, "--portals"); break;
        case 'b': batch = parse_long(optarg, 1, 100000, "--batch"); break;
        case 'w': window = parse_long(optarg, 1, 256, "--window"); break;
        case 't': timeout_ms = parse_long(optarg, 1, 3600000, "--timeout-ms"); break;
        case 'r': requests_path = optarg; break;
        case 'j': json_path = optarg; break;
        case 'S': start_on_stdin = true; break;
        case 'h': fputs(help, stdout); return 0;
        default: usage_error("bad option");
        }
    }
    if (optind < argc)
        usage_error("unexpected argument %s", argv[optind]);
    if (!dir || !phase)
        usage_error("--dir and --phase are required");
    if (strcmp(phase, "preload") != 0 && strcmp(phase, "month") != 0)
        usage_error("--phase %s: preload or month", phase);

    char *key_error = NULL;
    if (dd_zauth_keys_from_env(&curve, &curve_own, &curve_server, &key_error) != 0) {
        fprintf(stderr, "provpub: %s\n", key_error ? key_error : "cannot read the CURVE keys");
        free(key_error);
        return 2;
    }
    portal *ps = dd_calloc(MAX_PORTALS, sizeof(portal));
    long n = 0;
    uint64_t events = 0;
    for (long k = 0; k < MAX_PORTALS && (portals == 0 || k < portals); k++) {
        portal *p = &ps[k];
        snprintf(p->path, sizeof(p->path), "%s/%s-%ld.evt", dir, phase, k);
        char *why = NULL;
        int rc = prov_reader_open(p->path, &p->reader, &why);
        if (rc == -ENOENT && portals == 0 && k > 0)
            break;
        if (rc != 0) {
            fprintf(stderr, "provpub: %s\n", why ? why : strerror(-rc));
            free(why);
            return 2;
        }
        events += prov_reader_events(p->reader);
        n++;
    }
    if (start_on_stdin) {
        fputs("provpub: ready\n", stderr);
        fflush(stderr);
        int ch;
        while ((ch = getchar()) != EOF && ch != '\n')
            ;
    }
    void *ctx = zmq_ctx_new();
    int64_t started = mono_ns();
    pthread_t threads[MAX_PORTALS];
    for (long k = 0; k < n; k++) {
        portal *p = &ps[k];
        p->index = (unsigned)k;
        p->ctx = ctx;
        p->endpoint = endpoint;
        p->batch = (size_t)batch;
        p->window = (size_t)window;
        p->timeout_ns = (int64_t)timeout_ms * 1000000;
        pthread_create(&threads[k], NULL, portal_main, p);
    }
    for (long k = 0; k < n; k++)
        pthread_join(threads[k], NULL);
    double elapsed = (double)(mono_ns() - started) / 1e9;
    zmq_ctx_term(ctx);

    uint64_t accepted = 0, duplicate = 0, answered = 0, requests = 0, resends = 0, malformed = 0, max_seq = 0;
    uint64_t rejected[REASONS] = {0};
    int failed = 0;
    for (long k = 0; k < n; k++) {
        portal *p = &ps[k];
        accepted += p->accepted;
        duplicate += p->duplicate;
        answered += p->answered;
        requests += p->requests;
        resends += p->resends;
        malformed += p->malformed;
        if (p->max_seq > max_seq)
            max_seq = p->max_seq;
        for (int r = 0; r < REASONS; r++) {
            rejected[r] += p->rejected[r];
        }
        if (p->error[0]) {
            fprintf(stderr, "provpub: portal %ld: %s\n", k, p->error);
            failed = 1;
        }
    }
    json_t *rej = json_object();
    for (int r = 0; r < REASONS; r++)
        if (rejected[r]) {
            char label[64];
            reason_label(r, label, sizeof(label));
            json_object_set_new(rej, label, json_integer((json_int_t)rejected[r]));
        }
    json_t *root = json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:f, s:f}", "phase", phase,
                             "portals", (int)n, "events", (json_int_t)events, "answered", (json_int_t)answered,
                             "accepted", (json_int_t)accepted, "duplicate", (json_int_t)duplicate, "rejected",
                             rej, "requests", (json_int_t)requests, "resends", (json_int_t)resends,
                             "malformed_replies", (json_int_t)malformed, "max_sequence", (json_int_t)max_seq,
                             "elapsed_s", elapsed, "events_per_s", elapsed > 0 ? (double)answered / elapsed : 0.0);
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    fputc('\n', stdout);
    if (json_path && json_dump_file(root, json_path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
        fprintf(stderr, "provpub: cannot write %s\n", json_path);
        failed = 1;
    }
    json_decref(root);
    if (requests_path) {
        FILE *f = fopen(requests_path, "w");
        if (!f) {
            perror(requests_path);
            failed = 1;
        } else {
            fprintf(f, "portal,sent_ns,reply_ns,events,max_sequence\n");
            for (long k = 0; k < n; k++)
                for (size_t i = 0; i < ps[k].nlog; i++)
                    fprintf(f, "%ld,%" PRId64 ",%" PRId64 ",%u,%" PRIu64 "\n", k, ps[k].log[i].sent_ns,
                            ps[k].log[i].reply_ns, ps[k].log[i].events, ps[k].log[i].max_seq);
            if (fclose(f) != 0) {
                perror(requests_path);
                failed = 1;
            }
        }
    }
    for (long k = 0; k < n; k++) {
        prov_reader_close(&ps[k].reader);
        free(ps[k].log);
    }
    free(ps);
    if (answered != events && !failed) {
        fprintf(stderr, "provpub: %" PRIu64 " of %" PRIu64 " events answered\n", answered, events);
        failed = 1;
    }
    return failed;
}
