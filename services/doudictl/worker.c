/* worker.c: `doudictl worker ID`, a worker's list for today from doudi-scheduler. */
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "ctl.h"
#include "schedquery.h"

static const char worker_help[] =
    "NAME\n"
    "    doudictl worker - a community worker's visits for today, in order\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl worker [OPTIONS] [--all] ID\n"
    "\n"
    "DESCRIPTION\n"
    "    Asks doudi-scheduler for the worker ID (an employee code from the\n"
    "    roster) and prints their region, role, monthly capacity and load, then\n"
    "    today's list: the plans assigned to them whose visit is due by the end\n"
    "    of today (the scheduler's today) or overdue, earliest due first, so the\n"
    "    first line is the visit to make first. With --all every plan assigned\n"
    "    is listed.\n"
    "\n"
    "    --all\n"
    "        List every plan assigned, not only today's.\n"
    CTL_SCHEDQUERY_OPTIONS_HELP
    "\n"
    "EXAMPLES\n"
    "    doudictl worker w-440106001001-va\n";

static const char *role_text(int role)
{
    switch (role) {
    case DOUDI__WORKER_ROLE__WORKER_ROLE_TOWNSHIP_SOCIAL_WORKER: return "township social worker";
    case DOUDI__WORKER_ROLE__WORKER_ROLE_VILLAGE_ASSISTANT: return "village assistant";
    case DOUDI__WORKER_ROLE__WORKER_ROLE_CHILDREN_DIRECTOR: return "children's director";
    default: return "unknown role";
    }
}

int ctl_worker_main(int argc, char **argv)
{
    ctl_set_command("doudictl worker");
    bool all = false;
    /* --all is this command's own; the shared parser sees the rest. */
    char *rest[64];
    int n = 0;
    for (int i = 0; i < argc && n < 63; i++) {
        if (i > 0 && strcmp(argv[i], "--all") == 0)
            all = true;
        else
            rest[n++] = argv[i];
    }
    rest[n] = NULL;
    ctl_schedquery_options o;
    int first;
    bool done;
    int rc = ctl_schedquery_parse(n, rest, worker_help, &o, &first, &done);
    if (rc != CTL_EXIT_OK || done)
        return rc;
    if (n - first != 1)
        return ctl_usage("worker takes one worker ID");
    Doudi__SchedulerQueryRequest req = DOUDI__SCHEDULER_QUERY_REQUEST__INIT;
    req.query_case = DOUDI__SCHEDULER_QUERY_REQUEST__QUERY_WORKER_ID;
    req.worker_id = rest[first];
    req.limit = 100000;
    Doudi__SchedulerQueryReply *r;
    rc = ctl_schedquery_call(&o, &req, &r);
    if (rc != CTL_EXIT_OK || o.json) {
        if (rc == CTL_EXIT_OK)
            doudi__scheduler_query_reply__free_unpacked(r, NULL);
        return rc;
    }
    const Doudi__RosterWorker *w = r->worker;
    if (!w) {
        ctl_warn("doudi-scheduler answered without the worker");
        doudi__scheduler_query_reply__free_unpacked(r, NULL);
        return CTL_EXIT_USAGE;
    }
    printf("worker %s: %s of %s, %s; capacity %d visits a month, load %.1f (%d plans)\n",
           w->worker_id, role_text(w->role), w->region_code, w->active ? "active" : "left",
           w->monthly_visit_capacity, (double)w->load_millivisits / 1000.0, w->plans);
    /* Today ends at the next Shanghai midnight after the scheduler's clock. */
    const int64_t day = 86400000, offset = 8 * 3600000;
    int64_t end_of_today = ((r->now_ms + offset) / day + 1) * day - offset - 1;
    Doudi__VisitPlan **list = dd_calloc(r->n_plans + 1, sizeof(*list));
    size_t shown = 0;
    for (size_t i = 0; i < r->n_plans; i++)
        if (all || r->plans[i]->next_due_ms <= end_of_today)
            list[shown++] = r->plans[i];
    char now[32];
    if (all)
        printf("every plan: %zu\n", shown);
    else
        printf("today's list as of %s: %zu visit%s\n", ctl_format_time_ms(r->now_ms, now), shown,
               shown == 1 ? "" : "s");
    ctl_print_plan_rows(stdout, list, shown, r->now_ms);
    free(list);
    doudi__scheduler_query_reply__free_unpacked(r, NULL);
    return CTL_EXIT_OK;
}
