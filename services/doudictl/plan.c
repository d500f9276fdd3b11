/* plan.c: `doudictl plan ID`, one person's visit plan from doudi-scheduler. */
#include "plan.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "schedquery.h"

static const char plan_help[] =
    "NAME\n"
    "    doudictl plan - show a person's care-visit plan\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl plan [OPTIONS] ID\n"
    "\n"
    "DESCRIPTION\n"
    "    Asks doudi-scheduler for the visit plan of the person whose resident\n"
    "    identity number is ID and prints: the tier (high-risk: weekly; key:\n"
    "    every calendar month; general: quarterly) and the care categories\n"
    "    behind it, the village, the worker assigned, when the next visit is\n"
    "    due (and whether it is urgent, after a major change or a danger, or\n"
    "    overdue), the last visit and the last report with its outcome, and\n"
    "    whether the person counts as due and as visited this month and last.\n"
    "    An ended plan says why it ended (death, no longer in any category).\n"
    "    Times are Asia/Shanghai.\n"
    "\n"
    CTL_SCHEDQUERY_OPTIONS_HELP
    "\n"
    "EXAMPLES\n"
    "    doudictl plan 440106195005050011\n";

static const char *end_text(int end)
{
    switch (end) {
    case DOUDI__PLAN_END__PLAN_END_NONE: return "active";
    case DOUDI__PLAN_END__PLAN_END_DECEASED: return "ended: the person died";
    case DOUDI__PLAN_END__PLAN_END_LEFT_CATEGORIES: return "ended: no longer in any care category";
    case DOUDI__PLAN_END__PLAN_END_MOVED_OUT: return "ended: moved out of the region";
    default: return "unknown";
    }
}

static const char *outcome_text(int o)
{
    switch (o) {
    case DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_VISITED: return "visited";
    case DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_NOT_AT_HOME: return "not at home";
    case DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_REFUSED: return "refused";
    case DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_BY_PHONE_OR_VIDEO: return "by phone or video";
    default: return "-";
    }
}

int ctl_plan_main(int argc, char **argv)
{
    ctl_set_command("doudictl plan");
    ctl_schedquery_options o;
    int first;
    bool done;
    int rc = ctl_schedquery_parse(argc, argv, plan_help, &o, &first, &done);
    if (rc != CTL_EXIT_OK || done)
        return rc;
    if (argc - first != 1)
        return ctl_usage("plan takes one person ID");
    Doudi__SchedulerQueryRequest req = DOUDI__SCHEDULER_QUERY_REQUEST__INIT;
    req.query_case = DOUDI__SCHEDULER_QUERY_REQUEST__QUERY_PLAN_PERSON_ID;
    req.plan_person_id = argv[first];
    Doudi__SchedulerQueryReply *r;
    rc = ctl_schedquery_call(&o, &req, &r);
    if (rc != CTL_EXIT_OK || o.json) {
        if (rc == CTL_EXIT_OK)
            doudi__scheduler_query_reply__free_unpacked(r, NULL);
        return rc;
    }
    const Doudi__VisitPlan *p = r->plan;
    if (!p) {
        ctl_warn("doudi-scheduler answered without the plan");
        doudi__scheduler_query_reply__free_unpacked(r, NULL);
        return CTL_EXIT_USAGE;
    }
    char t1[32], t2[32];
    bool active = p->end == DOUDI__PLAN_END__PLAN_END_NONE;
    printf("plan of %s (%s)\n", p->person_id, end_text(p->end));
    printf("  tier                %s (%zu care categor%s)\n", ctl_tier_text(p->tier),
           p->n_categories, p->n_categories == 1 ? "y" : "ies");
    printf("  village             %s\n", p->region_code);
    printf("  worker              %s\n", p->worker_id[0] ? p->worker_id : "(none: no capacity)");
    if (active)
        printf("  next visit due      %s%s\n", ctl_format_time_ms(p->next_due_ms, t1),
               p->next_due_ms < r->now_ms ? " (overdue)" : p->urgent ? " (urgent)" : "");
    printf("  last visit          %s\n", ctl_format_time_ms(p->last_visit_ms, t1));
    printf("  last report         %s, %s%s\n", ctl_format_time_ms(p->last_report_ms, t2),
           outcome_text(p->last_outcome), p->danger_found ? "; found a danger" : "");
    printf("  started             %s\n", ctl_format_time_ms(p->started_at_ms, t1));
    if (!active)
        printf("  ended               %s\n", ctl_format_time_ms(p->ended_at_ms, t1));
    printf("  this month %04d-%02d   %s, %s\n", p->month_yyyymm / 100, p->month_yyyymm % 100,
           p->month_due ? "due" : "not due", p->month_visited ? "visited" : "not visited");
    printf("  last month %04d-%02d   %s, %s\n", p->previous_month_yyyymm / 100,
           p->previous_month_yyyymm % 100, p->previous_month_due ? "due" : "not due",
           p->previous_month_visited ? "visited" : "not visited");
    doudi__scheduler_query_reply__free_unpacked(r, NULL);
    return CTL_EXIT_OK;
}
