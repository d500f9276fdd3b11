/*
 * deadletter.c: listing and replaying intake's dead letters.
 *
 * Listing only reads, so an unanswered list request is simply sent again.
 * A replay changes state (an accepted event leaves the store and enters the
 * log), and its answer cannot be asked for twice: a second replay of an id
 * that got in the first time is answered "not held". So a replay is sent
 * once, and a lost answer is reported as such (exit status 3), with a
 * pointer to `deadletter list` to see what happened.
 */
#include "deadletter.h"

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
#include "doudi/admin.pb-c.h"
#include "doudi/event.pb-c.h"

static const char deadletter_help[] =
    "NAME\n"
    "    doudictl deadletter - list and replay the events doudi-intake refused\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl deadletter list [options]\n"
    "    doudictl deadletter replay [options] (ID... | --all [--reason NAME])\n"
    "\n"
    "DESCRIPTION\n"
    "    Intake keeps every event it rejects, with its raw bytes and the reason,\n"
    "    in its dead-letter store. `list` shows them; `replay` has intake judge\n"
    "    stored events again (after a fix to the division table, say). See\n"
    "    `doudictl deadletter list --help` and `doudictl deadletter replay --help`.\n"
    "\n"
    "OPTIONS\n"
    "    Those of each subcommand; -h, --help prints this page.\n"
    "\n"
    "EXIT STATUS\n"
    "    As each subcommand says; 2 for a missing or unknown subcommand.\n"
    "\n"
    "EXAMPLES\n"
    "    doudictl deadletter list --reason region_unknown\n"
    "    doudictl deadletter replay 12 13\n";

static const char list_help[] =
    "NAME\n"
    "    doudictl deadletter list - show the events doudi-intake refused and kept\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl deadletter list [-e ENDPOINT] [--after ID] [--limit N]\n"
    "                             [--reason NAME] [--json] [-t MS] [--max-wait-s S]\n"
    "                             [--max-message-bytes BYTES]\n"
    "\n"
    "DESCRIPTION\n"
    "    Asks intake's admin endpoint for dead letters in id order\n"
    "    (AdminRequest.dead_letter_list), as many pages of up to 1000 as it takes\n"
    "    to show N of them or all there are.\n"
    "\n"
    "    Without --json, prints a table: the dead letter's id, when it was\n"
    "    rejected (Asia/Shanghai time, UTC+8), the reason (the reason label of\n"
    "    doudi_intake_events_rejected_total), the source and event id as far as\n"
    "    they could be read, and intake's explanation; then how many were shown\n"
    "    and how many intake holds. Control characters are shown as '?'.\n"
    "\n"
    "    With --json, prints one JSON object per dead letter, the DeadLetter\n"
    "    message of admin.proto in the canonical proto3 JSON mapping, except\n"
    "    that rawEvent is replaced by \"event\", the raw bytes decoded as an\n"
    "    Envelope, when they decode:\n"
    "      {\"id\":\"3\",\"rejectedAtMs\":\"1790000000000\",\"reason\":\n"
    "       \"REJECT_REASON_ID_BAD_CHECK\",\"reasonText\":\"...\",\"source\":\"tax-feed\",\n"
    "       \"eventId\":\"t-9\",\"event\":{\"eventId\":\"t-9\",...}}\n"
    "\n"
    "    A request not answered within the timeout is sent again on a new\n"
    "    connection, after a pause from 100 ms doubling up to 2 s.\n"
    "\n"
    "OPTIONS\n"
    "    -e, --endpoint ENDPOINT\n"
    "        Intake's admin endpoint (ZeroMQ). Default: tcp://127.0.0.1:7103.\n"
    "\n"
    "    --after ID\n"
    "        Only dead letters with an id greater than ID. Default: 0 (from the\n"
    "        first).\n"
    "\n"
    "    -n, --limit N\n"
    "        Show at most N dead letters; 0 shows all. Default: 100.\n"
    "\n"
    "    --reason NAME\n"
    "        Only those refused for this reason: a label such as region_unknown,\n"
    "        the enum name REJECT_REASON_REGION_UNKNOWN, or its number.\n"
    "        Default: every reason.\n"
    "\n"
    "    --json\n"
    "        One JSON object per line instead of the table.\n"
    "\n"
    "    -t, --timeout-ms MS\n"
    "        Send a request again when unanswered for MS milliseconds.\n"
    "        Default: 5000.\n"
    "\n"
    "    --max-wait-s S\n"
    "        Give up (exit status 3) when a request is still unanswered after S\n"
    "        seconds; 0 waits for ever. Default: 30.\n"
    "\n"
    "    --max-message-bytes BYTES\n"
    "        The largest reply accepted (suffixes K, M, G). Default: 64M.\n"
    "\n"
    "    -h, --help\n"
    "        Print this manual and exit.\n"
    "\n"
    "EXIT STATUS\n"
    "    0   the dead letters were listed (there may be none)\n"
    "    1   intake refused the request (its reason is printed)\n"
    "    2   usage error, or a reply that breaks the protocol\n"
    "    3   gave up waiting for an answer\n"
    "\n"
    "EXAMPLES\n"
    "    The first hundred:\n"
    "        doudictl deadletter list\n"
    "\n"
    "    Every dead letter with an unknown region, as JSON:\n"
    "        doudictl deadletter list --limit 0 --reason region_unknown --json\n"
    "\n"
    "    The next page after the dead letter 500:\n"
    "        doudictl deadletter list --after 500 --limit 50\n";

static const char replay_help[] =
    "NAME\n"
    "    doudictl deadletter replay - have doudi-intake judge dead letters again\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl deadletter replay [-e ENDPOINT] [--json] [-t MS]\n"
    "                               [--max-message-bytes BYTES] ID...\n"
    "    doudictl deadletter replay [-e ENDPOINT] [--json] [-t MS]\n"
    "                               [--max-message-bytes BYTES] --all [--reason NAME]\n"
    "\n"
    "DESCRIPTION\n"
    "    Sends the dead letters' ids to intake's admin endpoint\n"
    "    (AdminRequest.dead_letter_replay), up to 100 per request. Intake judges\n"
    "    each stored event again as if it had just been published: one accepted\n"
    "    now is appended to the log and leaves the dead-letter store in the same\n"
    "    commit; one that is refused again stays, with its replay count raised.\n"
    "    With --all, the ids are first listed (all of them, or those of one\n"
    "    reason) and then replayed.\n"
    "\n"
    "    Prints one line per id: the id, ACCEPTED with the event's log sequence,\n"
    "    DUPLICATE with the sequence of the copy already in the log, or REJECTED\n"
    "    with the reason and intake's explanation (an id intake does not hold is\n"
    "    REJECTED with reason unspecified); then a count of each.\n"
    "    With --json, one JSON object per id instead: \"deadLetterId\" followed by\n"
    "    the EventStatus message of publish.proto in the canonical proto3 JSON\n"
    "    mapping, e.g.\n"
    "      {\"deadLetterId\":\"3\",\"outcome\":\"OUTCOME_ACCEPTED\",\"sequence\":\"57\",...}\n"
    "\n"
    "    A replay request is sent once: an answer that does not come within the\n"
    "    timeout is reported (exit status 3), as the replay may have been carried\n"
    "    out; `doudictl deadletter list` then shows which ids are still held.\n"
    "\n"
    "OPTIONS\n"
    "    -e, --endpoint ENDPOINT\n"
    "        Intake's admin endpoint (ZeroMQ). Default: tcp://127.0.0.1:7103.\n"
    "\n"
    "    --all\n"
    "        Replay every dead letter held (or every one of --reason).\n"
    "\n"
    "    --reason NAME\n"
    "        With --all, only those refused for this reason: a label such as\n"
    "        region_unknown, the enum name, or its number. Default: every reason.\n"
    "\n"
    "    --json\n"
    "        One JSON object per line instead of text.\n"
    "\n"
    "    -t, --timeout-ms MS\n"
    "        How long to wait for each answer. Default: 5000.\n"
    "\n"
    "    --max-message-bytes BYTES\n"
    "        The largest reply accepted (suffixes K, M, G). Default: 64M.\n"
    "\n"
    "    -h, --help\n"
    "        Print this manual and exit.\n"
    "\n"
    "EXIT STATUS\n"
    "    0   every id was accepted or found to be a duplicate (or there was none)\n"
    "    1   some id was rejected again or is not held, or intake refused the\n"
    "        request\n"
    "    2   usage error, or a reply that breaks the protocol\n"
    "    3   no answer within the timeout (the replay may have happened)\n"
    "\n"
    "EXAMPLES\n"
    "    Replay two dead letters:\n"
    "        doudictl deadletter replay 12 13\n"
    "\n"
    "    After loading a corrected division table, replay what it had refused:\n"
    "        doudictl deadletter replay --all --reason region_unknown\n";

/* What list and replay have in common. */
struct common {
    const char *endpoint;
    uint64_t timeout_ms;
    uint64_t max_wait_s;
    uint64_t max_message_bytes;
    bool json;
    bool has_reason;
    int reason;
};

#define REPLAY_CHUNK 100
#define LIST_PAGE 1000

struct admin_wait {
    uint64_t id;
    Doudi__AdminReply *reply;
};

static bool match_admin_reply(void *ctx, const uint8_t *data, size_t len)
{
    struct admin_wait *w = ctx;
    Doudi__AdminReply *reply = doudi__admin_reply__unpack(NULL, len, data);
    if (!reply) {
        ctl_warn("ignoring a reply that is not an AdminReply (%zu bytes)", len);
        return false;
    }
    if (reply->request_id != w->id) {
        doudi__admin_reply__free_unpacked(reply, NULL);
        return false;
    }
    w->reply = reply;
    return true;
}

/*
 * Sends req and waits for its reply of the expected result case. Returns
 * CTL_EXIT_OK with *out set (the caller frees it), or the exit status that
 * fits what went wrong, already reported. *left (may be NULL) says whether
 * the request went out, which matters when no answer came.
 */
static int admin_call(ctl_zreq *z, Doudi__AdminRequest *req, const ctl_zreq_policy *policy,
                      Doudi__AdminReply__ResultCase expect, Doudi__AdminReply **out, bool *left)
{
    req->request_id = ctl_zreq_next_id();
    size_t len = doudi__admin_request__get_packed_size(req);
    uint8_t *buf = dd_malloc(len);
    doudi__admin_request__pack(req, buf);
    struct admin_wait w = { .id = req->request_id };
    int rc = ctl_zreq_call(z, buf, len, policy, match_admin_reply, &w);
    free(buf);
    if (left)
        *left = rc != -ENOTCONN;
    if (rc == DD_AGAIN || rc == -ENOTCONN)
        return CTL_EXIT_GAVE_UP;
    if (rc != 0) {
        ctl_warn("%s: %s", ctl_zreq_endpoint(z), zmq_strerror(-rc));
        return CTL_EXIT_USAGE;
    }
    if (w.reply->error_text[0]) {
        ctl_warn("intake refused the request: %s", w.reply->error_text);
        doudi__admin_reply__free_unpacked(w.reply, NULL);
        return CTL_EXIT_FAILED;
    }
    if (w.reply->result_case != expect) {
        ctl_warn("intake answered with result %d where %d was expected", (int)w.reply->result_case,
                 (int)expect);
        doudi__admin_reply__free_unpacked(w.reply, NULL);
        return CTL_EXIT_USAGE;
    }
    *out = w.reply;
    return CTL_EXIT_OK;
}

/* Copies s into out (of outlen bytes) with control characters made visible as '?'. */
static const char *printable(const char *s, char *out, size_t outlen)
{
    size_t i = 0;
    for (; s[i] && i < outlen - 1; i++)
        out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    out[i] = '\0';
    return out;
}

/* The dead letter as one JSON line, its raw event decoded when it decodes. */
static void print_dead_letter_json(const Doudi__DeadLetter *dl)
{
    json_t *o = dd_pbjson_to_json(&dl->base);
    Doudi__Envelope *env =
        doudi__envelope__unpack(NULL, dl->raw_event.len, dl->raw_event.data);
    if (env) {
        json_t *ev = dd_pbjson_to_json(&env->base);
        if (ev) {
            json_object_del(o, "rawEvent");
            json_object_set_new(o, "event", ev);
        }
        doudi__envelope__free_unpacked(env, NULL);
    }
    char *text = json_dumps(o, JSON_COMPACT);
    puts(text ? text : "{}");
    free(text);
    json_decref(o);
}

/* The dead letters gathered for the table or for a replay of --all. */
struct gathered {
    Doudi__AdminReply **replies; /* each owns its page of dead letters */
    size_t nreplies;
    const Doudi__DeadLetter **items;
    size_t n, cap;
    uint64_t total;
};

static void gathered_free(struct gathered *g)
{
    for (size_t i = 0; i < g->nreplies; i++)
        doudi__admin_reply__free_unpacked(g->replies[i], NULL);
    free(g->replies);
    free(g->items);
}

/*
 * Pages through the dead letters after `after`, up to limit (0: all).
 * With print_json, prints each page as it comes instead of keeping it.
 * Returns an exit status.
 */
static int gather(ctl_zreq *z, const struct common *c, uint64_t after, uint64_t limit,
                  bool print_json, struct gathered *g)
{
    ctl_zreq_policy policy = { .timeout_ms = (int64_t)c->timeout_ms, .resend = true,
                               .max_wait_ms = (int64_t)c->max_wait_s * 1000 };
    uint64_t shown = 0;
    for (;;) {
        uint64_t page = LIST_PAGE;
        if (limit && limit - shown < page)
            page = limit - shown;
        if (page == 0)
            return CTL_EXIT_OK;
        Doudi__DeadLetterListRequest list = DOUDI__DEAD_LETTER_LIST_REQUEST__INIT;
        list.after_id = after;
        list.limit = (uint32_t)page;
        list.reason = c->has_reason ? (Doudi__RejectReason)c->reason : 0;
        Doudi__AdminRequest req = DOUDI__ADMIN_REQUEST__INIT;
        req.command_case = DOUDI__ADMIN_REQUEST__COMMAND_DEAD_LETTER_LIST;
        req.dead_letter_list = &list;
        Doudi__AdminReply *reply;
        int st = admin_call(z, &req, &policy, DOUDI__ADMIN_REPLY__RESULT_DEAD_LETTER_LIST, &reply,
                            NULL);
        if (st != CTL_EXIT_OK)
            return st;
        const Doudi__DeadLetterListReply *r = reply->dead_letter_list;
        g->total = r->total;
        size_t n = r->n_dead_letters;
        if (n > page) {
            ctl_warn("intake sent %zu dead letters where at most %" PRIu64 " were asked for", n,
                     page);
            doudi__admin_reply__free_unpacked(reply, NULL);
            return CTL_EXIT_USAGE;
        }
        for (size_t i = 0; i < n; i++) {
            /* Ids must rise, or paging would never end. */
            if (r->dead_letters[i]->id <= after) {
                ctl_warn("intake listed dead letter %" PRIu64 " after %" PRIu64
                         "; ids out of order",
                         r->dead_letters[i]->id, after);
                doudi__admin_reply__free_unpacked(reply, NULL);
                return CTL_EXIT_USAGE;
            }
            after = r->dead_letters[i]->id;
        }
        shown += n;
        if (print_json) {
            for (size_t i = 0; i < n; i++)
                print_dead_letter_json(r->dead_letters[i]);
            fflush(stdout);
            doudi__admin_reply__free_unpacked(reply, NULL);
        } else {
            g->replies = dd_realloc(g->replies, (g->nreplies + 1) * sizeof(*g->replies));
            g->replies[g->nreplies++] = reply;
            if (g->n + n > g->cap) {
                g->cap = (g->n + n) * 2;
                g->items = dd_realloc(g->items, g->cap * sizeof(*g->items));
            }
            for (size_t i = 0; i < n; i++)
                g->items[g->n++] = r->dead_letters[i];
        }
        if (n == 0)
            return CTL_EXIT_OK;
    }
}

static void print_table(const struct gathered *g)
{
    /* Column widths fit the longest value, within reason. */
    int wid = 2, wreason = 6, wsource = 6, wevent = 8;
    char label[CTL_NAME_MAX], buf[1024], buf2[1024], buf3[1024], when[32];
    for (size_t i = 0; i < g->n; i++) {
        const Doudi__DeadLetter *dl = g->items[i];
        int l = snprintf(buf, sizeof(buf), "%" PRIu64, dl->id);
        wid = l > wid ? l : wid;
        l = (int)strlen(ctl_reject_reason_label(dl->reason, label));
        wreason = l > wreason ? l : wreason;
        l = (int)strlen(dl->source);
        wsource = l > wsource ? (l < 40 ? l : 40) : wsource;
        l = (int)strlen(dl->event_id);
        wevent = l > wevent ? (l < 64 ? l : 64) : wevent;
    }
    if (g->n > 0) {
        printf("%-*s  %-19s  %-*s  %-*s  %-*s  %s\n", wid, "ID", "REJECTED AT (UTC+8)", wreason,
               "REASON", wsource, "SOURCE", wevent, "EVENT ID", "TEXT");
        for (size_t i = 0; i < g->n; i++) {
            const Doudi__DeadLetter *dl = g->items[i];
            printf("%-*" PRIu64 "  %-19s  %-*s  ", wid, dl->id,
                   ctl_format_time_ms(dl->rejected_at_ms, when), wreason,
                   ctl_reject_reason_label(dl->reason, label));
            printf("%-*s  %-*s  %s", wsource,
                   dl->source[0] ? printable(dl->source, buf, sizeof(buf)) : "-", wevent,
                   dl->event_id[0] ? printable(dl->event_id, buf2, sizeof(buf2)) : "-",
                   printable(dl->reason_text, buf3, sizeof(buf3)));
            if (dl->replay_attempts)
                printf(" (replayed %u time%s)", dl->replay_attempts,
                       dl->replay_attempts == 1 ? "" : "s");
            putchar('\n');
        }
    }
    printf("%zu dead letter%s shown; intake holds %" PRIu64 "\n", g->n, g->n == 1 ? "" : "s",
           g->total);
}

/* Options both subcommands take; returns 1 if c was one of them, else 0; *rc a usage status. */
static int common_option(int c, struct common *o, int *rc)
{
    switch (c) {
    case 'e': o->endpoint = optarg; return 1;
    case 't': *rc = ctl_option_u64("--timeout-ms", optarg, 1, 86400000, &o->timeout_ms); return 1;
    case 'M':
        *rc = ctl_option_bytes("--max-message-bytes", optarg, 1024, INT64_MAX,
                               &o->max_message_bytes);
        return 1;
    case 'j': o->json = true; return 1;
    case 'R':
        if (ctl_reject_reason_parse(optarg, &o->reason) != 0)
            *rc = ctl_usage("--reason: no reject reason is called '%s'", optarg);
        o->has_reason = true;
        return 1;
    default: return 0;
    }
}

static void common_defaults(struct common *o)
{
    *o = (struct common){
        .endpoint = "tcp://127.0.0.1:7103",
        .timeout_ms = 5000,
        .max_wait_s = 30,
        .max_message_bytes = 64 * 1024 * 1024,
    };
}

static int connect_or_report(const struct common *c, ctl_zreq **z)
{
    int rc = ctl_zreq_new(c->endpoint, (int64_t)c->max_message_bytes, z);
    if (rc != 0)
        return ctl_usage("cannot use endpoint '%s': %s", c->endpoint, zmq_strerror(-rc));
    return 0;
}

static int list_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "endpoint", required_argument, NULL, 'e' },
        { "after", required_argument, NULL, 'a' },
        { "limit", required_argument, NULL, 'n' },
        { "reason", required_argument, NULL, 'R' },
        { "json", no_argument, NULL, 'j' },
        { "timeout-ms", required_argument, NULL, 't' },
        { "max-wait-s", required_argument, NULL, 'W' },
        { "max-message-bytes", required_argument, NULL, 'M' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct common c;
    uint64_t after = 0, limit = 100;
    common_defaults(&c);
    ctl_set_command("doudictl deadletter list");
    opterr = 0;
    optind = 0;
    int ch, rc = 0;
    while (rc == 0 && (ch = getopt_long(argc, argv, ":e:n:t:h", longopts, NULL)) != -1) {
        if (common_option(ch, &c, &rc))
            continue;
        switch (ch) {
        case 'a': rc = ctl_option_u64("--after", optarg, 0, UINT64_MAX, &after); break;
        case 'n': rc = ctl_option_u64("--limit", optarg, 0, UINT64_MAX, &limit); break;
        case 'W': rc = ctl_option_u64("--max-wait-s", optarg, 0, 31536000, &c.max_wait_s); break;
        case 'h': fputs(list_help, stdout); return CTL_EXIT_OK;
        default: return ctl_getopt_error(ch, argv);
        }
    }
    if (rc != 0)
        return rc;
    if (optind < argc)
        return ctl_usage("unexpected argument '%s'", argv[optind]);

    ctl_zreq *z;
    if ((rc = connect_or_report(&c, &z)) != 0)
        return rc;
    struct gathered g = { 0 };
    int st = gather(z, &c, after, limit, c.json, &g);
    if (st == CTL_EXIT_OK && !c.json)
        print_table(&g);
    gathered_free(&g);
    ctl_zreq_destroy(&z);
    return st;
}

static void print_status(uint64_t id, const Doudi__EventStatus *s, bool json)
{
    char name[CTL_NAME_MAX], label[CTL_NAME_MAX];
    if (json) {
        json_t *o = json_object();
        char idtext[24];
        snprintf(idtext, sizeof(idtext), "%" PRIu64, id);
        json_object_set_new(o, "deadLetterId", json_string(idtext));
        json_t *st = dd_pbjson_to_json(&s->base);
        if (st)
            json_object_update(o, st);
        json_decref(st);
        char *text = json_dumps(o, JSON_COMPACT);
        puts(text ? text : "{}");
        free(text);
        json_decref(o);
        return;
    }
    printf("%-8" PRIu64 "  %-9s  ", id, ctl_outcome_name(s->outcome, name));
    if (s->outcome == DOUDI__OUTCOME__OUTCOME_ACCEPTED ||
        s->outcome == DOUDI__OUTCOME__OUTCOME_DUPLICATE)
        printf("sequence %" PRIu64 "\n", s->sequence);
    else
        printf("%s: %s\n", ctl_reject_reason_label(s->reason, label), s->reason_text);
}

static int replay_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "endpoint", required_argument, NULL, 'e' },
        { "all", no_argument, NULL, 'A' },
        { "reason", required_argument, NULL, 'R' },
        { "json", no_argument, NULL, 'j' },
        { "timeout-ms", required_argument, NULL, 't' },
        { "max-message-bytes", required_argument, NULL, 'M' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct common c;
    bool all = false;
    common_defaults(&c);
    ctl_set_command("doudictl deadletter replay");
    opterr = 0;
    optind = 0;
    int ch, rc = 0;
    while (rc == 0 && (ch = getopt_long(argc, argv, ":e:t:h", longopts, NULL)) != -1) {
        if (common_option(ch, &c, &rc))
            continue;
        switch (ch) {
        case 'A': all = true; break;
        case 'h': fputs(replay_help, stdout); return CTL_EXIT_OK;
        default: return ctl_getopt_error(ch, argv);
        }
    }
    if (rc != 0)
        return rc;
    if (all && optind < argc)
        return ctl_usage("give either ids or --all, not both");
    if (!all && optind == argc)
        return ctl_usage("which dead letters? give their ids, or --all");
    if (!all && c.has_reason)
        return ctl_usage("--reason goes with --all");

    size_t n = all ? 0 : (size_t)(argc - optind);
    uint64_t *ids = dd_calloc(n ? n : 1, sizeof(*ids));
    for (size_t i = 0; i < n; i++) {
        if (ctl_parse_u64(argv[optind + (int)i], 1, UINT64_MAX, &ids[i]) != 0) {
            free(ids);
            return ctl_usage("'%s' is not a dead letter id (a whole number from 1)",
                             argv[optind + (int)i]);
        }
    }

    ctl_zreq *z;
    if ((rc = connect_or_report(&c, &z)) != 0) {
        free(ids);
        return rc;
    }
    int st = CTL_EXIT_OK;
    if (all) {
        struct gathered g = { 0 };
        st = gather(z, &c, 0, 0, false, &g);
        n = g.n;
        ids = dd_realloc(ids, (n ? n : 1) * sizeof(*ids));
        for (size_t i = 0; i < n; i++)
            ids[i] = g.items[i]->id;
        gathered_free(&g);
        if (st == CTL_EXIT_OK && n == 0 && !c.json)
            printf("no dead letters to replay\n");
    }

    ctl_zreq_policy once = { .timeout_ms = (int64_t)c.timeout_ms, .resend = false };
    uint64_t accepted = 0, duplicate = 0, rejected = 0;
    for (size_t done = 0; st == CTL_EXIT_OK && done < n;) {
        size_t chunk = n - done < REPLAY_CHUNK ? n - done : REPLAY_CHUNK;
        Doudi__DeadLetterReplayRequest replay = DOUDI__DEAD_LETTER_REPLAY_REQUEST__INIT;
        replay.n_ids = chunk;
        replay.ids = ids + done;
        Doudi__AdminRequest req = DOUDI__ADMIN_REQUEST__INIT;
        req.command_case = DOUDI__ADMIN_REQUEST__COMMAND_DEAD_LETTER_REPLAY;
        req.dead_letter_replay = &replay;
        Doudi__AdminReply *reply;
        bool left;
        st = admin_call(z, &req, &once, DOUDI__ADMIN_REPLY__RESULT_DEAD_LETTER_REPLAY, &reply,
                        &left);
        if (st == CTL_EXIT_GAVE_UP && left)
            ctl_warn("the replay of dead letters %" PRIu64 "..%" PRIu64 " may have been carried "
                     "out; 'doudictl deadletter list' shows which are still held",
                     ids[done], ids[done + chunk - 1]);
        if (st != CTL_EXIT_OK)
            break;
        const Doudi__DeadLetterReplayReply *r = reply->dead_letter_replay;
        if (r->n_statuses != chunk) {
            ctl_warn("intake answered %zu statuses for %zu ids", r->n_statuses, chunk);
            doudi__admin_reply__free_unpacked(reply, NULL);
            st = CTL_EXIT_USAGE;
            break;
        }
        for (size_t i = 0; i < chunk; i++) {
            const Doudi__EventStatus *s = r->statuses[i];
            print_status(ids[done + i], s, c.json);
            if (s->outcome == DOUDI__OUTCOME__OUTCOME_ACCEPTED)
                accepted++;
            else if (s->outcome == DOUDI__OUTCOME__OUTCOME_DUPLICATE)
                duplicate++;
            else
                rejected++;
        }
        fflush(stdout);
        doudi__admin_reply__free_unpacked(reply, NULL);
        done += chunk;
    }
    if (!c.json && accepted + duplicate + rejected > 0)
        printf("replayed %" PRIu64 ": %" PRIu64 " accepted, %" PRIu64 " duplicate, %" PRIu64
               " still rejected\n",
               accepted + duplicate + rejected, accepted, duplicate, rejected);
    free(ids);
    ctl_zreq_destroy(&z);
    if (st == CTL_EXIT_OK && rejected)
        st = CTL_EXIT_FAILED;
    return st;
}

int ctl_deadletter_main(int argc, char **argv)
{
    ctl_set_command("doudictl deadletter");
    if (argc < 2)
        return ctl_usage("which one: list or replay?");
    if (strcmp(argv[1], "list") == 0)
        return list_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "replay") == 0)
        return replay_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(deadletter_help, stdout);
        return CTL_EXIT_OK;
    }
    return ctl_usage("unknown subcommand '%s' (list or replay)", argv[1]);
}
