/*
 * logtail.c: `doudictl log tail`, reading a log as an anonymous consumer.
 *
 * The consumer name is empty, so the producer neither keeps records for this
 * reader nor counts it in its lag metrics: a forgotten `tail --follow` can
 * never hold back trimming. Fetches only read, so an unanswered one is sent
 * again (zreq.h) from the same cursor.
 */
#include "logtail.h"

#include "doudi/eligibility.pb-c.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "alloc.h"
#include "ctl.h"
#include "error.h"
#include "names.h"
#include "pbjson.h"
#include "zreq.h"
#include "doudi/event.pb-c.h"
#include "doudi/log.pb-c.h"

static const char log_help[] =
    "NAME\n"
    "    doudictl log - read a doudi daemon's durable log\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl log tail [options]\n"
    "\n"
    "DESCRIPTION\n"
    "    Every producing daemon serves its durable log on a ZeroMQ endpoint\n"
    "    (log.proto). `tail` prints its records; see `doudictl log tail --help`.\n"
    "\n"
    "OPTIONS\n"
    "    Those of the subcommand; -h, --help prints this page.\n"
    "\n"
    "EXIT STATUS\n"
    "    As `log tail` says; 2 for a missing or unknown subcommand.\n"
    "\n"
    "EXAMPLES\n"
    "    doudictl log tail --from -20\n";

static const char tail_help[] =
    "NAME\n"
    "    doudictl log tail - print a daemon's log records as JSON lines\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl log tail [-e ENDPOINT] [--from SEQ|-N|end] [-n N] [-f]\n"
    "                      [--kinds NAME,...] [--raw] [-t MS] [--max-wait-s S]\n"
    "                      [--wait-ms MS] [--max-message-bytes BYTES]\n"
    "\n"
    "DESCRIPTION\n"
    "    Fetches records from a log endpoint (log.proto) as an anonymous reader:\n"
    "    it does not hold back the log's trimming and is not counted as a\n"
    "    consumer. Prints one JSON object per record, in sequence order:\n"
    "\n"
    "      {\"sequence\":\"41\",\"kind\":\"PERSON_REPORTED\",\"appendedAtMs\":\"1790000000000\",\n"
    "       \"event\":{\"eventId\":\"p-1\",\"source\":\"assistance-portal\",...}}\n"
    "\n"
    "    sequence and appendedAtMs are decimal strings, as proto3 JSON writes\n"
    "    64-bit numbers. kind is the RecordKind name without its prefix, or the\n"
    "    number for a kind this build does not know. For the Envelope kinds\n"
    "    (PERSON_REPORTED to ALERT_ACKNOWLEDGEMENT, 10-18) the payload is shown\n"
    "    decoded as \"event\", an Envelope in the canonical proto3 JSON mapping;\n"
    "    any other payload, one that does not decode, or every payload with\n"
    "    --raw, is shown as \"payload\" in base64.\n"
    "\n"
    "    Without --follow, stops at the log's head as it was at the first answer.\n"
    "    With --follow, keeps waiting for new records (each fetch waits up to\n"
    "    --wait-ms at the producer) until interrupted.\n"
    "\n"
    "    A fetch not answered within its timeout is sent again on a new\n"
    "    connection, after a pause from 100 ms doubling up to 2 s.\n"
    "\n"
    "OPTIONS\n"
    "    -e, --endpoint ENDPOINT\n"
    "        The log endpoint (ZeroMQ). Default: tcp://127.0.0.1:7102, intake's.\n"
    "\n"
    "    --from SEQ | -N | end\n"
    "        Start at sequence SEQ; or N sequences before the head (-N); or after\n"
    "        the head (end: only records appended from now on, with --follow).\n"
    "        Default: 1, the start of the log.\n"
    "\n"
    "    -n, --limit N\n"
    "        Stop after N records; 0 for no limit. Default: 0.\n"
    "\n"
    "    -f, --follow\n"
    "        Do not stop at the head; wait for new records for ever.\n"
    "\n"
    "    --kinds NAME,...\n"
    "        Only records of these kinds (the producer skips the others): names\n"
    "        such as PERSON_REPORTED or risk_signal, or numbers. Default: all.\n"
    "\n"
    "    --raw\n"
    "        Show every payload as base64, undecoded.\n"
    "\n"
    "    -t, --timeout-ms MS\n"
    "        Send a fetch again when unanswered for MS milliseconds beyond its\n"
    "        --wait-ms. Default: 5000.\n"
    "\n"
    "    --max-wait-s S\n"
    "        Give up (exit status 3) when a fetch is still unanswered after S\n"
    "        seconds; 0 waits for ever. Default: 30, or 0 with --follow.\n"
    "\n"
    "    --wait-ms MS\n"
    "        With --follow, how long the producer may hold a fetch while there is\n"
    "        nothing new (FetchRequest.wait_ms). Default: 10000.\n"
    "\n"
    "    --max-message-bytes BYTES\n"
    "        The largest reply accepted (suffixes K, M, G). Default: 64M.\n"
    "\n"
    "    -h, --help\n"
    "        Print this manual and exit.\n"
    "\n"
    "EXIT STATUS\n"
    "    0   the records up to the head (or the limit) were printed\n"
    "    1   the log cannot be read from there: records were trimmed\n"
    "        (TRIMMED), the start is beyond the head (AHEAD_OF_LOG), or the\n"
    "        producer refused the fetch (BAD_REQUEST)\n"
    "    2   usage error, or a reply that breaks the protocol\n"
    "    3   gave up waiting for an answer\n"
    "\n"
    "EXAMPLES\n"
    "    The whole of intake's log:\n"
    "        doudictl log tail\n"
    "\n"
    "    The last 20 records, then everything new as it comes:\n"
    "        doudictl log tail --from -20 --follow\n"
    "\n"
    "    The risk signals, as events only:\n"
    "        doudictl log tail --kinds RISK_SIGNAL | jq -c .event\n";

struct options {
    const char *endpoint;
    enum { FROM_SEQ, FROM_BACK, FROM_END } from_mode;
    uint64_t from;
    uint64_t limit;
    bool follow;
    uint32_t *kinds;
    size_t nkinds;
    bool raw;
    uint64_t timeout_ms;
    uint64_t max_wait_s;
    bool max_wait_set;
    uint64_t wait_ms;
    uint64_t max_message_bytes;
};

#define PAGE_RECORDS 1000
#define FOLLOW_MIN_INTERVAL_MS 200

struct fetch_wait {
    uint64_t id;
    Doudi__FetchReply *reply;
};

static bool match_fetch_reply(void *ctx, const uint8_t *data, size_t len)
{
    struct fetch_wait *w = ctx;
    Doudi__FetchReply *reply = doudi__fetch_reply__unpack(NULL, len, data);
    if (!reply) {
        ctl_warn("ignoring a reply that is not a FetchReply (%zu bytes)", len);
        return false;
    }
    if (reply->request_id != w->id) {
        doudi__fetch_reply__free_unpacked(reply, NULL);
        return false;
    }
    w->reply = reply;
    return true;
}

/* One fetch. Returns CTL_EXIT_OK with *out set (caller frees), or an exit status. */
static int fetch(ctl_zreq *z, const struct options *o, uint64_t after, uint32_t max_records,
                 uint32_t wait_ms, Doudi__FetchReply **out)
{
    Doudi__FetchRequest req = DOUDI__FETCH_REQUEST__INIT;
    req.request_id = ctl_zreq_next_id();
    req.after_sequence = after;
    req.max_records = max_records;
    req.wait_ms = wait_ms;
    req.n_kinds = o->nkinds;
    req.kinds = o->kinds;
    size_t len = doudi__fetch_request__get_packed_size(&req);
    uint8_t *buf = dd_malloc(len);
    doudi__fetch_request__pack(&req, buf);

    ctl_zreq_policy policy = { .timeout_ms = (int64_t)(o->timeout_ms + wait_ms),
                               .resend = true,
                               .max_wait_ms = (int64_t)o->max_wait_s * 1000 };
    struct fetch_wait w = { .id = req.request_id };
    int rc = ctl_zreq_call(z, buf, len, &policy, match_fetch_reply, &w);
    free(buf);
    if (rc == DD_AGAIN || rc == -ENOTCONN)
        return CTL_EXIT_GAVE_UP;
    if (rc != 0) {
        ctl_warn("%s: %s", ctl_zreq_endpoint(z), zmq_strerror(-rc));
        return CTL_EXIT_USAGE;
    }
    *out = w.reply;
    return CTL_EXIT_OK;
}

/* Explains a status other than OK. Returns the exit status. */
static int report_status(const Doudi__FetchReply *r, uint64_t after)
{
    char name[CTL_NAME_MAX];
    switch (r->status) {
    case DOUDI__FETCH_STATUS__FETCH_STATUS_TRIMMED:
        ctl_warn("the records after sequence %" PRIu64 " were trimmed from the log, which now "
                 "starts at %" PRIu64 "; start there with --from %" PRIu64 "%s%s%s",
                 after, r->first_sequence, r->first_sequence, r->error_text[0] ? " (" : "",
                 r->error_text, r->error_text[0] ? ")" : "");
        return CTL_EXIT_FAILED;
    case DOUDI__FETCH_STATUS__FETCH_STATUS_AHEAD_OF_LOG:
        ctl_warn("sequence %" PRIu64 " is beyond the log's head (%" PRIu64 "); was the log "
                 "reset?%s%s%s",
                 after, r->head_sequence, r->error_text[0] ? " (" : "", r->error_text,
                 r->error_text[0] ? ")" : "");
        return CTL_EXIT_FAILED;
    case DOUDI__FETCH_STATUS__FETCH_STATUS_BAD_REQUEST:
        ctl_warn("the producer refused the fetch: %s",
                 r->error_text[0] ? r->error_text : "(no reason given)");
        return CTL_EXIT_FAILED;
    default:
        ctl_warn("the producer answered with status %s, which is not an answer to a fetch",
                 ctl_fetch_status_name(r->status, name));
        return CTL_EXIT_USAGE;
    }
}

static bool is_envelope_kind(uint32_t kind)
{
    return kind >= 10 && kind <= 99 &&
           protobuf_c_enum_descriptor_get_value(&doudi__record_kind__descriptor, (int)kind);
}

static void print_record(const Doudi__LogRecord *rec, bool raw)
{
    char buf[CTL_NAME_MAX];
    json_t *o = json_object();
    snprintf(buf, sizeof(buf), "%" PRIu64, rec->sequence);
    json_object_set_new(o, "sequence", json_string(buf));
    json_object_set_new(o, "kind", json_string(ctl_record_kind_name(rec->kind, buf)));
    snprintf(buf, sizeof(buf), "%" PRId64, rec->appended_at_ms);
    json_object_set_new(o, "appendedAtMs", json_string(buf));

    json_t *event = NULL;
    if (!raw && is_envelope_kind(rec->kind)) {
        Doudi__Envelope *env =
            doudi__envelope__unpack(NULL, rec->payload.len, rec->payload.data);
        if (env) {
            event = dd_pbjson_to_json(&env->base);
            doudi__envelope__free_unpacked(env, NULL);
        }
    }
    json_t *output = NULL;
    if (!raw && !event) {
        /* eligibility's own records (eligibility.proto). */
        const ProtobufCMessageDescriptor *desc =
            rec->kind == DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_DECISION ? &doudi__decision__descriptor
            : rec->kind == DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_CARE_CHANGE ? &doudi__care_change__descriptor
            : rec->kind == DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_ALERT ? &doudi__alert__descriptor
            : NULL;
        ProtobufCMessage *m =
            desc ? protobuf_c_message_unpack(desc, NULL, rec->payload.len, rec->payload.data) : NULL;
        if (m) {
            output = dd_pbjson_to_json(m);
            protobuf_c_message_free_unpacked(m, NULL);
        }
    }
    if (event) {
        json_object_set_new(o, "event", event);
    } else if (output) {
        json_object_set_new(o, "record", output);
    } else {
        /* The record's own JSON form carries the payload in base64. */
        json_t *whole = dd_pbjson_to_json(&rec->base);
        json_t *payload = whole ? json_object_get(whole, "payload") : NULL;
        json_object_set_new(o, "payload", payload ? json_incref(payload) : json_string(""));
        json_decref(whole);
    }
    char *text = json_dumps(o, JSON_COMPACT);
    puts(text ? text : "{}");
    free(text);
    json_decref(o);
}

/* Where to start: the sequence to fetch after, resolving -N and end. */
static int resolve_start(ctl_zreq *z, const struct options *o, uint64_t *after)
{
    if (o->from_mode == FROM_SEQ) {
        *after = o->from > 0 ? o->from - 1 : 0;
        return CTL_EXIT_OK;
    }
    /* Any answer carries the head; ask for as little as possible. */
    Doudi__FetchReply *r;
    int st = fetch(z, o, 0, 1, 0, &r);
    if (st != CTL_EXIT_OK)
        return st;
    if (r->status == DOUDI__FETCH_STATUS__FETCH_STATUS_BAD_REQUEST) {
        st = report_status(r, 0);
        doudi__fetch_reply__free_unpacked(r, NULL);
        return st;
    }
    uint64_t head = r->head_sequence;
    doudi__fetch_reply__free_unpacked(r, NULL);
    if (o->from_mode == FROM_END)
        *after = head;
    else
        *after = head > o->from ? head - o->from : 0;
    return CTL_EXIT_OK;
}

static int tail(ctl_zreq *z, const struct options *o)
{
    uint64_t after = 0;
    int st = resolve_start(z, o, &after);
    if (st != CTL_EXIT_OK)
        return st;
    uint64_t printed = 0;
    bool have_stop = false;
    uint64_t stop_at = 0;
    for (;;) {
        uint32_t max = PAGE_RECORDS;
        if (o->limit && o->limit - printed < max)
            max = (uint32_t)(o->limit - printed);
        Doudi__FetchReply *r;
        int64_t asked = ctl_now_ms();
        st = fetch(z, o, after, max, o->follow ? (uint32_t)o->wait_ms : 0, &r);
        if (st != CTL_EXIT_OK)
            return st;
        if (r->status != DOUDI__FETCH_STATUS__FETCH_STATUS_OK) {
            st = report_status(r, after);
            doudi__fetch_reply__free_unpacked(r, NULL);
            return st;
        }
        if (!have_stop) {
            have_stop = true;
            stop_at = r->head_sequence;
        }
        uint64_t next = after;
        bool stopped = false; /* a record past the limit or the head was left */
        for (size_t i = 0; i < r->n_records; i++) {
            const Doudi__LogRecord *rec = r->records[i];
            if (rec->sequence <= next) {
                ctl_warn("the producer sent sequence %" PRIu64 " after %" PRIu64
                         "; records out of order",
                         rec->sequence, next);
                doudi__fetch_reply__free_unpacked(r, NULL);
                return CTL_EXIT_USAGE;
            }
            if ((o->limit && printed >= o->limit) || (!o->follow && rec->sequence > stop_at)) {
                stopped = true;
                break;
            }
            print_record(rec, o->raw);
            printed++;
            next = rec->sequence;
        }
        /* Records of other kinds were skipped up to scanned_through. */
        if (!stopped && r->scanned_through_sequence > next)
            next = r->scanned_through_sequence;
        bool progress = next > after;
        after = next;
        doudi__fetch_reply__free_unpacked(r, NULL);
        fflush(stdout);
        if (o->limit && printed >= o->limit)
            return CTL_EXIT_OK;
        if (!o->follow && (stopped || after >= stop_at || !progress))
            return CTL_EXIT_OK;
        /* A producer that answers an empty fetch at once (--wait-ms 0, or no
         * long poll) must not be asked again in a tight loop. */
        if (!progress)
            ctl_sleep_ms(FOLLOW_MIN_INTERVAL_MS - (ctl_now_ms() - asked));
    }
}

static int parse_from(const char *text, struct options *o)
{
    if (strcmp(text, "end") == 0) {
        o->from_mode = FROM_END;
        return 0;
    }
    if (text[0] == '-') {
        o->from_mode = FROM_BACK;
        if (ctl_parse_u64(text + 1, 1, UINT64_MAX, &o->from) == 0)
            return 0;
    } else {
        o->from_mode = FROM_SEQ;
        if (ctl_parse_u64(text, 0, UINT64_MAX, &o->from) == 0)
            return 0;
    }
    return ctl_usage("--from wants a sequence, -N or end, not '%s'", text);
}

static int parse_kinds(const char *text, struct options *o)
{
    char *copy = dd_strdup(text), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        uint32_t kind;
        if (ctl_record_kind_parse(tok, &kind) != 0) {
            rc = ctl_usage("--kinds: no record kind is called '%s'", tok);
            break;
        }
        o->kinds = dd_realloc(o->kinds, (o->nkinds + 1) * sizeof(*o->kinds));
        o->kinds[o->nkinds++] = kind;
    }
    if (rc == 0 && o->nkinds == 0)
        rc = ctl_usage("--kinds wants at least one kind");
    free(copy);
    return rc;
}

static int tail_main(int argc, char **argv)
{
    enum { OPT_FROM = 256, OPT_KINDS, OPT_RAW, OPT_MAX_WAIT, OPT_WAIT, OPT_MAX_MSG };
    static const struct option longopts[] = {
        { "endpoint", required_argument, NULL, 'e' },
        { "from", required_argument, NULL, OPT_FROM },
        { "limit", required_argument, NULL, 'n' },
        { "follow", no_argument, NULL, 'f' },
        { "kinds", required_argument, NULL, OPT_KINDS },
        { "raw", no_argument, NULL, OPT_RAW },
        { "timeout-ms", required_argument, NULL, 't' },
        { "max-wait-s", required_argument, NULL, OPT_MAX_WAIT },
        { "wait-ms", required_argument, NULL, OPT_WAIT },
        { "max-message-bytes", required_argument, NULL, OPT_MAX_MSG },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct options o = {
        .endpoint = "tcp://127.0.0.1:7102",
        .from_mode = FROM_SEQ,
        .from = 1,
        .timeout_ms = 5000,
        .max_wait_s = 30,
        .wait_ms = 10000,
        .max_message_bytes = 64 * 1024 * 1024,
    };
    ctl_set_command("doudictl log tail");
    opterr = 0;
    optind = 0;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":e:n:ft:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'e': o.endpoint = optarg; break;
        case OPT_FROM: rc = parse_from(optarg, &o); break;
        case 'n': rc = ctl_option_u64("--limit", optarg, 0, UINT64_MAX, &o.limit); break;
        case 'f': o.follow = true; break;
        case OPT_KINDS: rc = parse_kinds(optarg, &o); break;
        case OPT_RAW: o.raw = true; break;
        case 't': rc = ctl_option_u64("--timeout-ms", optarg, 1, 86400000, &o.timeout_ms); break;
        case OPT_MAX_WAIT:
            rc = ctl_option_u64("--max-wait-s", optarg, 0, 31536000, &o.max_wait_s);
            o.max_wait_set = true;
            break;
        case OPT_WAIT: rc = ctl_option_u64("--wait-ms", optarg, 0, 3600000, &o.wait_ms); break;
        case OPT_MAX_MSG:
            rc = ctl_option_bytes("--max-message-bytes", optarg, 1024, INT64_MAX,
                                  &o.max_message_bytes);
            break;
        case 'h': fputs(tail_help, stdout); free(o.kinds); return CTL_EXIT_OK;
        default: rc = ctl_getopt_error(c, argv); break;
        }
    }
    if (rc == 0 && optind < argc)
        rc = ctl_usage("unexpected argument '%s'", argv[optind]);
    if (rc != 0) {
        free(o.kinds);
        return rc;
    }
    if (o.follow && !o.max_wait_set)
        o.max_wait_s = 0;

    ctl_zreq *z;
    rc = ctl_zreq_new(o.endpoint, (int64_t)o.max_message_bytes, &z);
    if (rc != 0) {
        free(o.kinds);
        return ctl_usage("cannot use endpoint '%s': %s", o.endpoint, zmq_strerror(-rc));
    }
    int st = tail(z, &o);
    ctl_zreq_destroy(&z);
    free(o.kinds);
    return st;
}

int ctl_log_main(int argc, char **argv)
{
    ctl_set_command("doudictl log");
    if (argc < 2)
        return ctl_usage("which one? (tail)");
    if (strcmp(argv[1], "tail") == 0)
        return tail_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(log_help, stdout);
        return CTL_EXIT_OK;
    }
    return ctl_usage("unknown subcommand '%s' (tail)", argv[1]);
}
