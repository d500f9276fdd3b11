/*
 * alerts.c: `doudictl alerts` (see alerts.h). tail is a client of the Clone
 * pattern: SUB on the live stream for the prefix, and every gap it sees
 * (an entry whose previous_in_area is not the last one printed, or a
 * heartbeat ahead of what it holds) is filled from the replay first, so
 * what it prints is the prefix's stream in order, each entry once.
 */
#include "alerts.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "alloc.h"
#include "clock.h"
#include "ctl.h"
#include "error.h"
#include "pbjson.h"
#include "zreq.h"

#include "doudi/alerts.pb-c.h"
#include "doudi/publish.pb-c.h"

static const char alerts_help[] =
    "NAME\n"
    "    doudictl alerts - follow, list, acknowledge and silence doudi-alerts' alerts\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl alerts tail [--region PREFIX] [--from SEQ] [--no-follow]\n"
    "                         [--silence-timeout MS]\n"
    "    doudictl alerts list [--open | --all] [--region PREFIX]\n"
    "    doudictl alerts ack ID --by WORKER [--resolve] [--office CODE] [--note TEXT]\n"
    "    doudictl alerts silence --region PREFIX [--kind N] --start MS --end MS --by NAME\n"
    "                            [--comment TEXT]\n"
    "    doudictl alerts silences\n"
    "    doudictl alerts rate REGION [--month YYYYMM]\n"
    "\n"
    "DESCRIPTION\n"
    "    tail prints the alert stream of a region prefix (\"\" everything, 44 a\n"
    "    province, 4401 a city, 440106 a county, 440106001 a township, or a\n"
    "    12-digit village) as JSON lines (alerts.proto StreamEntry): from --from\n"
    "    (default: the stream's head, i.e. only what comes next; 0: everything\n"
    "    kept) by replay, then live. A live entry whose previous entry of the\n"
    "    area was not printed, or a heartbeat ahead of what was printed, means\n"
    "    the live socket dropped something: the gap is filled from the replay\n"
    "    first, so every entry is printed once, in order. The daemon sends a\n"
    "    heartbeat every second; when nothing at all (heartbeats included)\n"
    "    arrives for --silence-timeout MS (default 3000: three heartbeats), the\n"
    "    live connection is taken for dead: tail says so on stderr, connects\n"
    "    again and fills what it missed from the replay. A daemon that restarts\n"
    "    is followed the same way. Once the daemon has answered a replay, one it\n"
    "    does not answer (four --timeout) is said on stderr and asked for again\n"
    "    at the next message; a daemon that answers none ends tail with status\n"
    "    3.\n"
    "\n"
    "    list prints alerts (StoredAlert JSON lines): --open (default) those not\n"
    "    resolved, from the region index; --all every alert held.\n"
    "\n"
    "    ack publishes an alert acknowledgement (or, with --resolve, a\n"
    "    resolution) to doudi-intake as an event, so it is durable and reaches\n"
    "    doudi-alerts through the chain. The office is the alert's current\n"
    "    responsible office (asked from doudi-alerts) unless --office says.\n"
    "\n"
    "    silence holds back alerts of a region prefix (and --kind, an AlertKind\n"
    "    number; default every kind) raised inside [--start, --end) (Unix ms,\n"
    "    event time): they are stored, not delivered, not escalated.\n"
    "\n"
    "    rate prints handling timeliness: alerts handled before their village\n"
    "    deadline / alerts due, for a region prefix and a month (default: all).\n"
    "\n"
    "OPTIONS\n"
    "    -l, --live ENDPOINT       live stream (default tcp://127.0.0.1:7401)\n"
    "    -r, --requests ENDPOINT   requests (default tcp://127.0.0.1:7402)\n"
    "    -p, --publish ENDPOINT    intake's publish endpoint, for ack\n"
    "                              (default tcp://127.0.0.1:7101)\n"
    "    -t, --timeout MS          wait for an answer (default 5000)\n"
    "        --silence-timeout MS  tail: no message at all for this long means the\n"
    "                              live connection is dead (default 3000)\n"
    "    -h, --help                print this manual and exit\n"
    "\n"
    "EXIT STATUS\n"
    "    0 done; 1 refused (an unknown alert, a rejected acknowledgement, a bad\n"
    "    silence); 2 usage or protocol error; 3 no answer in time.\n"
    "\n"
    "EXAMPLES\n"
    "    doudictl alerts tail --region 4401\n"
    "    doudictl alerts list --region 440106001\n"
    "    doudictl alerts ack A17 --by w-0042\n"
    "    doudictl alerts silence --region 440106 --kind 20 --start 1782835200000 \\\n"
    "        --end 1783094400000 --by ops-li --comment \"holiday\"\n"
    "    doudictl alerts rate 4401 --month 202607\n";

typedef struct opts {
    const char *live, *requests, *publish;
    int64_t timeout_ms, silence_ms;
    const char *region, *by, *office, *note, *comment;
    uint64_t from, kind, start, end, month;
    bool from_set, follow, all, resolve;
} opts;

/* ---- requests ----------------------------------------------------------- */

typedef struct match_ctx {
    uint64_t id;
    Doudi__AlertsReply *reply;
} match_ctx;

static bool match_reply(void *arg, const uint8_t *data, size_t len)
{
    match_ctx *m = arg;
    Doudi__AlertsReply *r = doudi__alerts_reply__unpack(NULL, len, data);
    if (!r)
        return false;
    if (r->request_id != m->id) {
        doudi__alerts_reply__free_unpacked(r, NULL);
        return false;
    }
    m->reply = r;
    return true;
}

/* Sends q; *out gets the reply (free it). Returns an exit status. */
static int call(ctl_zreq *z, const opts *o, Doudi__AlertsRequest *q, Doudi__AlertsReply **out)
{
    q->request_id = ctl_zreq_next_id();
    size_t len = doudi__alerts_request__get_packed_size(q);
    uint8_t *buf = dd_malloc(len ? len : 1);
    doudi__alerts_request__pack(q, buf);
    match_ctx m = {q->request_id, NULL};
    ctl_zreq_policy p = {.timeout_ms = o->timeout_ms, .resend = true,
                         .max_wait_ms = o->timeout_ms * 4};
    int rc = ctl_zreq_call(z, buf, len, &p, match_reply, &m);
    free(buf);
    if (rc) {
        ctl_warn("no answer from %s", ctl_zreq_endpoint(z));
        return CTL_EXIT_GAVE_UP;
    }
    *out = m.reply;
    if (m.reply->error_text[0]) {
        ctl_warn("%s", m.reply->error_text);
        return CTL_EXIT_FAILED;
    }
    return CTL_EXIT_OK;
}

static void print_json(const ProtobufCMessage *m)
{
    char *line = dd_pbjson_format(m);
    puts(line);
    free(line);
}

/* ---- tail ---------------------------------------------------------------- */

typedef struct tail {
    ctl_zreq *z;
    const opts *o;
    int index; /* previous_in_area slot; -1: the whole stream */
    uint64_t last, covered;
    bool answered; /* a replay was answered: the daemon was there */
} tail;

/* Prints what the replay has after t->last up to `until`. */
static int fill(tail *t, uint64_t until)
{
    while (t->covered < until) {
        Doudi__ReplayRequest rq = DOUDI__REPLAY_REQUEST__INIT;
        rq.region_prefix = (char *)t->o->region;
        rq.after_sequence = t->last;
        Doudi__AlertsRequest q = DOUDI__ALERTS_REQUEST__INIT;
        q.request_case = DOUDI__ALERTS_REQUEST__REQUEST_REPLAY;
        q.replay = &rq;
        Doudi__AlertsReply *r = NULL;
        int rc = call(t->z, t->o, &q, &r);
        if (rc) {
            if (r)
                doudi__alerts_reply__free_unpacked(r, NULL);
            return rc;
        }
        if (r->reply_case != DOUDI__ALERTS_REPLY__REPLY_REPLAY) {
            doudi__alerts_reply__free_unpacked(r, NULL);
            return CTL_EXIT_USAGE;
        }
        t->answered = true;
        Doudi__ReplayReply *rp = r->replay;
        if (rp->trimmed)
            ctl_warn("entries after %" PRIu64 " were trimmed; continuing from %" PRIu64, t->last,
                     rp->first_sequence);
        for (size_t i = 0; i < rp->n_entries; i++)
            if (rp->entries[i]->sequence > t->last) {
                print_json(&rp->entries[i]->base);
                t->last = rp->entries[i]->sequence;
            }
        fflush(stdout);
        uint64_t scanned = rp->scanned_through_sequence > t->last ? rp->scanned_through_sequence
                                                                   : t->last;
        bool progress = scanned > t->covered;
        t->covered = scanned > t->covered ? scanned : t->covered;
        doudi__alerts_reply__free_unpacked(r, NULL);
        if (!progress)
            break;
    }
    return CTL_EXIT_OK;
}

/*
 * fill() while following: a daemon that is stopped or restarting does not
 * end the tail once it has answered a replay. What it did not answer stays
 * a gap (covered is where it was), asked for again at the next live
 * message or silence.
 */
static int fill_following(tail *t, uint64_t until)
{
    int rc = fill(t, until);
    if (rc != CTL_EXIT_GAVE_UP || !t->answered || !t->o->follow)
        return rc;
    ctl_warn("%s did not answer a replay; following on, and asking again at the next message",
             t->o->requests);
    return CTL_EXIT_OK;
}

/*
 * The live socket. libzmq's own reconnection covers a daemon that restarts
 * (the connection breaks, the SUB connects again and resubscribes); ZMTP
 * heartbeats (PING every heartbeat_ms, answered by the daemon's I/O thread
 * whatever its loop is doing) cover a connection that died without a
 * reset. What neither covers is a connection that is up but delivers
 * nothing, heartbeats included: that is what the silence timeout is for.
 */
static void *live_socket(void *ctx, const opts *o)
{
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    if (!sub)
        return NULL;
    int zero = 0, one = 1;
    int ivl = (int)(o->silence_ms / 3 > 100 ? o->silence_ms / 3 : 100);
    int timeout = (int)o->silence_ms;
    zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(sub, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl));
    zmq_setsockopt(sub, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof(timeout));
    zmq_setsockopt(sub, ZMQ_TCP_KEEPALIVE, &one, sizeof(one));
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, o->region, strlen(o->region));
    if (o->region[0])
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, ".", 1);
    if (ctl_curve_secure(sub) != 0 || zmq_connect(sub, o->live) != 0) {
        zmq_close(sub);
        return NULL;
    }
    return sub;
}

/* One live message: prints what follows what was printed, fills a gap. */
static int on_live(tail *t, zmq_msg_t *topic, zmq_msg_t *body)
{
    Doudi__StreamEntry *e =
        doudi__stream_entry__unpack(NULL, zmq_msg_size(body), zmq_msg_data(body));
    bool heartbeat = zmq_msg_size(topic) == 1 && *(char *)zmq_msg_data(topic) == '.';
    int rc = CTL_EXIT_OK;
    if (!e)
        return rc;
    if (heartbeat) {
        if (e->sequence > t->covered)
            rc = fill_following(t, e->sequence);
    } else if (e->sequence > t->last && e->update) {
        uint64_t prev = t->index < 0 ? e->sequence - 1
                        : (size_t)t->index < e->update->n_previous_in_area
                            ? e->update->previous_in_area[t->index] : 0;
        if (prev == t->last) {
            print_json(&e->base);
            fflush(stdout);
            t->last = t->covered = e->sequence;
        } else {
            rc = fill_following(t, e->sequence);
        }
    }
    doudi__stream_entry__free_unpacked(e, NULL);
    return rc;
}

static int run_tail(const opts *o)
{
    ctl_zreq *z;
    if (ctl_zreq_new(o->requests, 64 << 20, &z) != 0)
        return ctl_usage("bad endpoint %s", o->requests);
    size_t plen = strlen(o->region);
    tail t = {z, o, plen == 2 ? 0 : plen == 4 ? 1 : plen == 6 ? 2 : plen == 9 ? 3 : plen == 12 ? 4 : -1,
              0, 0};
    int rc = CTL_EXIT_OK;
    if (o->from_set) {
        t.last = t.covered = o->from;
    } else {
        /* From the head: ask where it is with a replay after "infinity". */
        Doudi__ReplayRequest rq = DOUDI__REPLAY_REQUEST__INIT;
        rq.region_prefix = (char *)o->region;
        rq.after_sequence = UINT64_MAX / 2;
        Doudi__AlertsRequest q = DOUDI__ALERTS_REQUEST__INIT;
        q.request_case = DOUDI__ALERTS_REQUEST__REQUEST_REPLAY;
        q.replay = &rq;
        Doudi__AlertsReply *r = NULL;
        rc = call(z, o, &q, &r);
        if (rc == 0 && r->reply_case == DOUDI__ALERTS_REPLY__REPLY_REPLAY)
            t.last = t.covered = r->replay->head_sequence;
        if (r)
            doudi__alerts_reply__free_unpacked(r, NULL);
        if (rc) {
            ctl_zreq_destroy(&z);
            return rc;
        }
    }
    void *ctx = zmq_ctx_new();
    /* Connected before the first fill, so nothing falls between the two. */
    void *sub = live_socket(ctx, o);
    if (!sub) {
        rc = ctl_usage("bad endpoint %s", o->live);
        goto done;
    }
    /* The first replays may be answered and the next not (the daemon
     * stopped meanwhile): that is followed like any later gap. */
    if ((rc = fill_following(&t, UINT64_MAX)) != 0 || !o->follow)
        goto done;
    int64_t heard_ns = dd_monotonic_ns();
    for (;;) {
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, 100);
        if (n < 0) {
            if (errno == EINTR)
                break; /* interrupted: a clean end */
            ctl_warn("polling the live stream: %s", zmq_strerror(errno));
            rc = CTL_EXIT_USAGE;
            break;
        }
        if (n == 0) {
            int64_t silent_ms = (dd_monotonic_ns() - heard_ns) / 1000000;
            if (silent_ms < o->silence_ms)
                continue;
            /* Nothing at all, heartbeats included: the connection is taken
             * for dead, made again, and what it missed comes by replay. */
            ctl_warn("nothing from %s for %" PRId64 " ms: connecting again", o->live, silent_ms);
            zmq_close(sub);
            if (!(sub = live_socket(ctx, o))) {
                rc = ctl_usage("bad endpoint %s", o->live);
                break;
            }
            heard_ns = dd_monotonic_ns();
            if ((rc = fill_following(&t, UINT64_MAX)) != 0)
                break;
            continue;
        }
        heard_ns = dd_monotonic_ns();
        for (int i = 0; i < 1000 && rc == 0; i++) {
            zmq_msg_t topic, body;
            zmq_msg_init(&topic);
            zmq_msg_init(&body);
            if (zmq_msg_recv(&topic, sub, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&topic);
                zmq_msg_close(&body);
                break;
            }
            if (zmq_msg_more(&topic) && zmq_msg_recv(&body, sub, ZMQ_DONTWAIT) >= 0)
                rc = on_live(&t, &topic, &body);
            zmq_msg_close(&topic);
            zmq_msg_close(&body);
        }
        if (rc)
            break;
    }
done:
    if (sub)
        zmq_close(sub);
    zmq_ctx_term(ctx);
    ctl_zreq_destroy(&z);
    return rc;
}

/* ---- list, silences, rate, silence ------------------------------------------ */

static int simple(const opts *o, Doudi__AlertsRequest *q, Doudi__AlertsReply **out)
{
    ctl_zreq *z;
    if (ctl_zreq_new(o->requests, 64 << 20, &z) != 0)
        return ctl_usage("bad endpoint %s", o->requests);
    int rc = call(z, o, q, out);
    ctl_zreq_destroy(&z);
    return rc;
}

static int run_list(const opts *o)
{
    uint64_t after = 0;
    for (;;) {
        Doudi__ListRequest lr = DOUDI__LIST_REQUEST__INIT;
        lr.region_prefix = (char *)o->region;
        lr.unresolved_only = !o->all;
        lr.after_number = after;
        lr.limit = 1000;
        Doudi__AlertState every[6] = {1, 2, 3, 4, 5, 6};
        if (o->all) {
            lr.states = every;
            lr.n_states = 6;
        }
        Doudi__AlertsRequest q = DOUDI__ALERTS_REQUEST__INIT;
        q.request_case = DOUDI__ALERTS_REQUEST__REQUEST_LIST;
        q.list = &lr;
        Doudi__AlertsReply *r = NULL;
        int rc = simple(o, &q, &r);
        if (rc == 0 && r->reply_case == DOUDI__ALERTS_REPLY__REPLY_LIST) {
            for (size_t i = 0; i < r->list->n_alerts; i++)
                print_json(&r->list->alerts[i]->base);
            after = r->list->next_after_number;
        }
        if (r)
            doudi__alerts_reply__free_unpacked(r, NULL);
        if (rc || !after)
            return rc;
    }
}

static int run_rate(const opts *o, const char *region)
{
    Doudi__RateRequest rr = DOUDI__RATE_REQUEST__INIT;
    rr.region_prefix = (char *)region;
    rr.month_yyyymm = (int32_t)o->month;
    Doudi__AlertsRequest q = DOUDI__ALERTS_REQUEST__INIT;
    q.request_case = DOUDI__ALERTS_REQUEST__REQUEST_RATE;
    q.rate = &rr;
    Doudi__AlertsReply *r = NULL;
    int rc = simple(o, &q, &r);
    if (rc == 0 && r->reply_case == DOUDI__ALERTS_REPLY__REPLY_RATE) {
        Doudi__RateReply *p = r->rate;
        printf("{\"regionPrefix\":\"%s\",\"monthYyyymm\":%d,\"due\":%" PRIu64
               ",\"handledInTime\":%" PRIu64 ",\"rate\":%s%.4f}\n",
               p->region_prefix, p->month_yyyymm, p->due, p->handled_in_time, "",
               p->due ? (double)p->handled_in_time / (double)p->due : 0.0);
    }
    if (r)
        doudi__alerts_reply__free_unpacked(r, NULL);
    return rc;
}

static int run_silences(const opts *o)
{
    Doudi__SilenceListRequest sl = DOUDI__SILENCE_LIST_REQUEST__INIT;
    Doudi__AlertsRequest q = DOUDI__ALERTS_REQUEST__INIT;
    q.request_case = DOUDI__ALERTS_REQUEST__REQUEST_SILENCES;
    q.silences = &sl;
    Doudi__AlertsReply *r = NULL;
    int rc = simple(o, &q, &r);
    if (rc == 0 && r->reply_case == DOUDI__ALERTS_REPLY__REPLY_SILENCES)
        for (size_t i = 0; i < r->silences->n_silences; i++)
            print_json(&r->silences->silences[i]->base);
    if (r)
        doudi__alerts_reply__free_unpacked(r, NULL);
    return rc;
}

static int run_silence(const opts *o)
{
    if (!o->by || !o->start || !o->end)
        return ctl_usage("silence needs --start, --end and --by");
    Doudi__Silence s = DOUDI__SILENCE__INIT;
    s.region_prefix = (char *)o->region;
    s.kind = (Doudi__AlertKind)o->kind;
    s.starts_at_ms = (int64_t)o->start;
    s.ends_at_ms = (int64_t)o->end;
    s.created_by = (char *)o->by;
    s.comment = (char *)(o->comment ? o->comment : "");
    Doudi__SilenceRequest sr = DOUDI__SILENCE_REQUEST__INIT;
    sr.silence = &s;
    Doudi__AlertsRequest q = DOUDI__ALERTS_REQUEST__INIT;
    q.request_case = DOUDI__ALERTS_REQUEST__REQUEST_SILENCE;
    q.silence = &sr;
    Doudi__AlertsReply *r = NULL;
    int rc = simple(o, &q, &r);
    if (rc == 0 && r->reply_case == DOUDI__ALERTS_REPLY__REPLY_SILENCE && r->silence->silence)
        print_json(&r->silence->silence->base);
    if (r)
        doudi__alerts_reply__free_unpacked(r, NULL);
    return rc;
}

/* ---- ack: through intake ------------------------------------------------------- */

typedef struct pub_ctx {
    uint64_t id;
    Doudi__PublishReply *reply;
} pub_ctx;

static bool match_publish(void *arg, const uint8_t *data, size_t len)
{
    pub_ctx *m = arg;
    Doudi__PublishReply *r = doudi__publish_reply__unpack(NULL, len, data);
    if (!r || r->request_id != m->id) {
        if (r)
            doudi__publish_reply__free_unpacked(r, NULL);
        return false;
    }
    m->reply = r;
    return true;
}

static int run_ack(const opts *o, const char *alert_id)
{
    if (!o->by)
        return ctl_usage("ack needs --by WORKER");
    char office[16] = "";
    if (o->office) {
        snprintf(office, sizeof(office), "%s", o->office);
    } else {
        Doudi__GetRequest g = DOUDI__GET_REQUEST__INIT;
        g.alert_id = (char *)alert_id;
        Doudi__AlertsRequest q = DOUDI__ALERTS_REQUEST__INIT;
        q.request_case = DOUDI__ALERTS_REQUEST__REQUEST_GET;
        q.get = &g;
        Doudi__AlertsReply *r = NULL;
        int rc = simple(o, &q, &r);
        if (rc == 0 && r->reply_case == DOUDI__ALERTS_REPLY__REPLY_GET && r->get->alert)
            snprintf(office, sizeof(office), "%s", r->get->alert->office_code);
        if (r)
            doudi__alerts_reply__free_unpacked(r, NULL);
        if (rc)
            return rc;
    }
    Doudi__AlertAcknowledgement ack = DOUDI__ALERT_ACKNOWLEDGEMENT__INIT;
    ack.alert_id = (char *)alert_id;
    ack.action = o->resolve ? DOUDI__ACKNOWLEDGEMENT_ACTION__ACKNOWLEDGEMENT_ACTION_RESOLVED
                            : DOUDI__ACKNOWLEDGEMENT_ACTION__ACKNOWLEDGEMENT_ACTION_ACKNOWLEDGED;
    ack.by_worker_id = (char *)o->by;
    ack.note = (char *)(o->note ? o->note : "");
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    char event_id[64];
    uint64_t nonce = ctl_zreq_next_id();
    snprintf(event_id, sizeof(event_id), "ack-%s-%" PRIu64, alert_id, nonce);
    env.event_id = event_id;
    env.source = "doudictl";
    env.occurred_at_ms = dd_wall_ms();
    env.region_code = office;
    env.body_case = DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT;
    env.alert_acknowledgement = &ack;
    size_t elen = doudi__envelope__get_packed_size(&env);
    uint8_t *ebuf = dd_malloc(elen);
    doudi__envelope__pack(&env, ebuf);
    ProtobufCBinaryData ev = {elen, ebuf};
    Doudi__PublishRequest pr = DOUDI__PUBLISH_REQUEST__INIT;
    pr.request_id = ctl_zreq_next_id();
    pr.events = &ev;
    pr.n_events = 1;
    size_t len = doudi__publish_request__get_packed_size(&pr);
    uint8_t *buf = dd_malloc(len);
    doudi__publish_request__pack(&pr, buf);
    ctl_zreq *z;
    int rc = ctl_zreq_new(o->publish, 1 << 20, &z);
    if (rc) {
        free(buf);
        free(ebuf);
        return ctl_usage("bad endpoint %s", o->publish);
    }
    pub_ctx m = {pr.request_id, NULL};
    ctl_zreq_policy p = {.timeout_ms = o->timeout_ms, .resend = true,
                         .max_wait_ms = o->timeout_ms * 4};
    rc = ctl_zreq_call(z, buf, len, &p, match_publish, &m);
    free(buf);
    free(ebuf);
    ctl_zreq_destroy(&z);
    if (rc) {
        ctl_warn("no answer from intake at %s", o->publish);
        return CTL_EXIT_GAVE_UP;
    }
    int status = CTL_EXIT_OK;
    if (m.reply->n_statuses != 1 ||
        m.reply->statuses[0]->outcome == DOUDI__OUTCOME__OUTCOME_REJECTED) {
        ctl_warn("intake refused the acknowledgement: %s",
                 m.reply->n_statuses ? m.reply->statuses[0]->reason_text : "whole request");
        status = CTL_EXIT_FAILED;
    } else {
        printf("{\"alertId\":\"%s\",\"action\":\"%s\",\"office\":\"%s\",\"eventId\":\"%s\","
               "\"intakeSequence\":%" PRIu64 "}\n",
               alert_id, o->resolve ? "resolved" : "acknowledged", office, event_id,
               m.reply->statuses[0]->sequence);
    }
    doudi__publish_reply__free_unpacked(m.reply, NULL);
    return status;
}

/* ---- dispatch --------------------------------------------------------------------- */

int ctl_alerts_main(int argc, char **argv)
{
    ctl_set_command("doudictl alerts");
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(alerts_help, stdout);
        return argc < 2 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
    }
    const char *sub = argv[1];
    opts o = {.live = "tcp://127.0.0.1:7401", .requests = "tcp://127.0.0.1:7402",
              .publish = "tcp://127.0.0.1:7101", .timeout_ms = 5000, .silence_ms = 3000,
              .region = "",
              .follow = true};
    static const struct option longs[] = {
        {"live", 1, 0, 'l'}, {"requests", 1, 0, 'r'}, {"publish", 1, 0, 'p'},
        {"timeout", 1, 0, 't'}, {"region", 1, 0, 'R'}, {"from", 1, 0, 'f'},
        {"no-follow", 0, 0, 'n'}, {"open", 0, 0, 'o'}, {"all", 0, 0, 'a'},
        {"by", 1, 0, 'b'}, {"resolve", 0, 0, 'x'}, {"office", 1, 0, 'O'},
        {"note", 1, 0, 'N'}, {"kind", 1, 0, 'k'}, {"start", 1, 0, 's'},
        {"end", 1, 0, 'e'}, {"comment", 1, 0, 'c'}, {"month", 1, 0, 'm'},
        {"silence-timeout", 1, 0, 'S'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    opterr = 0;
    optind = 2;
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, ":l:r:p:t:h", longs, NULL)) != -1) {
        switch (c) {
        case 'l': o.live = optarg; break;
        case 'r': o.requests = optarg; break;
        case 'p': o.publish = optarg; break;
        case 't':
            if (ctl_option_u64("--timeout", optarg, 1, 3600000, &v))
                return CTL_EXIT_USAGE;
            o.timeout_ms = (int64_t)v;
            break;
        case 'S':
            if (ctl_option_u64("--silence-timeout", optarg, 100, 3600000, &v))
                return CTL_EXIT_USAGE;
            o.silence_ms = (int64_t)v;
            break;
        case 'R': o.region = optarg; break;
        case 'f':
            if (ctl_option_u64("--from", optarg, 0, UINT64_MAX / 4, &o.from))
                return CTL_EXIT_USAGE;
            o.from_set = true;
            break;
        case 'n': o.follow = false; break;
        case 'o': o.all = false; break;
        case 'a': o.all = true; break;
        case 'b': o.by = optarg; break;
        case 'x': o.resolve = true; break;
        case 'O': o.office = optarg; break;
        case 'N': o.note = optarg; break;
        case 'c': o.comment = optarg; break;
        case 'k':
            if (ctl_option_u64("--kind", optarg, 0, 31, &o.kind))
                return CTL_EXIT_USAGE;
            break;
        case 's':
            if (ctl_option_u64("--start", optarg, 1, UINT64_MAX / 4, &o.start))
                return CTL_EXIT_USAGE;
            break;
        case 'e':
            if (ctl_option_u64("--end", optarg, 1, UINT64_MAX / 4, &o.end))
                return CTL_EXIT_USAGE;
            break;
        case 'm':
            if (ctl_option_u64("--month", optarg, 190001, 999912, &o.month))
                return CTL_EXIT_USAGE;
            break;
        case 'h': fputs(alerts_help, stdout); return CTL_EXIT_OK;
        default: return ctl_getopt_error(c, argv);
        }
    }
    int rest = argc - optind;
    if (strcmp(sub, "tail") == 0 && rest == 0)
        return run_tail(&o);
    if (strcmp(sub, "list") == 0 && rest == 0)
        return run_list(&o);
    if (strcmp(sub, "ack") == 0 && rest == 1)
        return run_ack(&o, argv[optind]);
    if (strcmp(sub, "silence") == 0 && rest == 0)
        return run_silence(&o);
    if (strcmp(sub, "silences") == 0 && rest == 0)
        return run_silences(&o);
    if (strcmp(sub, "rate") == 0 && rest == 1)
        return run_rate(&o, argv[optind]);
    return ctl_usage("usage: alerts tail|list|ack ID|silence|silences|rate REGION (see --help)");
}
