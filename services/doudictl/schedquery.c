/* schedquery.c: the scheduler query and the output its commands share (see schedquery.h). */
#include "schedquery.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "alloc.h"
#include "ctl.h"
#include "error.h"
#include "pbjson.h"
#include "zreq.h"

int ctl_schedquery_parse(int argc, char **argv, const char *help, ctl_schedquery_options *o,
                         int *first, bool *done)
{
    enum { OPT_JSON = 256, OPT_MAX_WAIT };
    static const struct option longopts[] = {
        { "endpoint", required_argument, NULL, 'e' },
        { "json", no_argument, NULL, OPT_JSON },
        { "timeout-ms", required_argument, NULL, 't' },
        { "max-wait-s", required_argument, NULL, OPT_MAX_WAIT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    *o = (ctl_schedquery_options){
        .endpoint = CTL_SCHEDQUERY_ENDPOINT,
        .timeout_ms = 5000,
        .max_wait_s = 30,
    };
    *done = false;
    opterr = 0;
    optind = 0;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":e:t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'e': o->endpoint = optarg; break;
        case OPT_JSON: o->json = true; break;
        case 't': rc = ctl_option_u64("--timeout-ms", optarg, 1, 86400000, &o->timeout_ms); break;
        case OPT_MAX_WAIT:
            rc = ctl_option_u64("--max-wait-s", optarg, 0, 31536000, &o->max_wait_s);
            break;
        case 'h':
            fputs(help, stdout);
            *done = true;
            return CTL_EXIT_OK;
        default: return ctl_getopt_error(c, argv);
        }
    }
    *first = optind;
    return rc;
}

struct sched_wait {
    uint64_t id;
    Doudi__SchedulerQueryReply *reply;
};

static bool match_reply(void *ctx, const uint8_t *data, size_t len)
{
    struct sched_wait *w = ctx;
    Doudi__SchedulerQueryReply *reply = doudi__scheduler_query_reply__unpack(NULL, len, data);
    if (!reply) {
        ctl_warn("ignoring a reply that is not a SchedulerQueryReply (%zu bytes)", len);
        return false;
    }
    /* Undecodable requests are answered with id 0 and a reason: ours (one per socket). */
    if (reply->request_id != w->id && (reply->request_id != 0 || !reply->error_text[0])) {
        doudi__scheduler_query_reply__free_unpacked(reply, NULL);
        return false;
    }
    w->reply = reply;
    return true;
}

int ctl_schedquery_call(const ctl_schedquery_options *o, Doudi__SchedulerQueryRequest *req,
                        Doudi__SchedulerQueryReply **out)
{
    ctl_zreq *z;
    int rc = ctl_zreq_new(o->endpoint, 64LL << 20, &z);
    if (rc != 0)
        return ctl_usage("cannot use endpoint '%s': %s", o->endpoint, zmq_strerror(-rc));
    req->request_id = ctl_zreq_next_id();
    size_t len = doudi__scheduler_query_request__get_packed_size(req);
    uint8_t *buf = dd_malloc(len ? len : 1);
    doudi__scheduler_query_request__pack(req, buf);
    ctl_zreq_policy policy = { .timeout_ms = (int64_t)o->timeout_ms,
                               .resend = true,
                               .max_wait_ms = (int64_t)o->max_wait_s * 1000 };
    struct sched_wait w = { .id = req->request_id };
    rc = ctl_zreq_call(z, buf, len, &policy, match_reply, &w);
    free(buf);
    if (rc == DD_AGAIN || rc == -ENOTCONN) {
        ctl_zreq_destroy(&z);
        return CTL_EXIT_GAVE_UP;
    }
    if (rc != 0) {
        ctl_warn("%s: %s", ctl_zreq_endpoint(z), zmq_strerror(-rc));
        ctl_zreq_destroy(&z);
        return CTL_EXIT_USAGE;
    }
    ctl_zreq_destroy(&z);
    Doudi__SchedulerQueryReply *reply = w.reply;
    if (o->json) {
        char *text = dd_pbjson_format(&reply->base);
        puts(text);
        free(text);
    }
    if (reply->request_id != req->request_id) {
        ctl_warn("doudi-scheduler could not read the query: %s", reply->error_text);
        doudi__scheduler_query_reply__free_unpacked(reply, NULL);
        return CTL_EXIT_USAGE;
    }
    if (reply->error_text[0]) {
        ctl_warn("%s", reply->error_text);
        doudi__scheduler_query_reply__free_unpacked(reply, NULL);
        return CTL_EXIT_FAILED;
    }
    *out = reply;
    return CTL_EXIT_OK;
}

const char *ctl_tier_text(int tier)
{
    switch (tier) {
    case DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK: return "high-risk";
    case DOUDI__VISIT_TIER__VISIT_TIER_KEY: return "key";
    case DOUDI__VISIT_TIER__VISIT_TIER_GENERAL: return "general";
    default: return "none";
    }
}

const char *ctl_rate_text(int64_t visited, int64_t due, char out[16])
{
    if (due <= 0)
        snprintf(out, 16, "-");
    else
        snprintf(out, 16, "%.1f%%", 100.0 * (double)visited / (double)due);
    return out;
}

void ctl_print_plan_rows(FILE *out, Doudi__VisitPlan *const *plans, size_t n, int64_t now_ms)
{
    fprintf(out, "%-19s %-18s %-9s %-12s %-24s %s\n", "due", "person", "tier", "region",
            "worker", "state");
    for (size_t i = 0; i < n; i++) {
        const Doudi__VisitPlan *p = plans[i];
        char when[32];
        const char *state = p->end != DOUDI__PLAN_END__PLAN_END_NONE ? "ended"
                            : p->next_due_ms < now_ms                ? "overdue"
                            : p->urgent                               ? "urgent"
                                                                      : "";
        fprintf(out, "%-19s %-18s %-9s %-12s %-24s %s\n", ctl_format_time_ms(p->next_due_ms, when),
                p->person_id, ctl_tier_text(p->tier), p->region_code,
                p->worker_id[0] ? p->worker_id : "(none)", state);
    }
}
