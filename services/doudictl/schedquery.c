/* schedquery.c: the scheduler query and the output its commands share (see schedquery.h). */
#include "schedquery.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "ctl.h"
#include "error.h"
#include "query.h"

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

int ctl_schedquery_call(const ctl_schedquery_options *o, Doudi__SchedulerQueryRequest *req,
                        Doudi__SchedulerQueryReply **out)
{
    ctl_query_target t = { .daemon = "doudi-scheduler",
                           .endpoint = o->endpoint,
                           .max_message_bytes = 64LL << 20,
                           .timeout_ms = (int64_t)o->timeout_ms,
                           .max_wait_ms = (int64_t)o->max_wait_s * 1000,
                           .json = o->json };
    ProtobufCMessage *reply;
    int rc = ctl_query_ask(&t, &req->base, &doudi__scheduler_query_reply__descriptor, &reply);
    if (rc == CTL_EXIT_OK)
        *out = (Doudi__SchedulerQueryReply *)reply;
    return rc;
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
