/*
 * main.c: doudi-scheduler's entry point. Options, configuration, the loop
 * and signals are common/daemon.c's; the work lives in sched_daemon.c,
 * sched_engine.c and the modules it uses.
 */
#include "daemon.h"
#include "sched_daemon.h"
#include "sched_settings.h"

static const char help[] =
"NAME\n"
"    doudi-scheduler - keep every care-visit plan and make the monthly visit rate\n"
"    reach 100%\n"
"\n"
"SYNOPSIS\n"
"    doudi-scheduler [-c FILE] [-t] [-h] [-V]\n"
"\n"
"DESCRIPTION\n"
"    Consumes doudi-eligibility's log in order (care-category and tier changes,\n"
"    alerts, and the visit reports, roster changes and acknowledgements it passes\n"
"    on). For each fetched batch, one LMDB write transaction updates the visit\n"
"    plans, the worker roster and loads, the index of visits by due time and the\n"
"    monthly visit counters, appends what changed to its own log and stores its\n"
"    cursor: exactly once across kill -9.\n"
"\n"
"    A plan per person: high-risk weekly, key monthly (children in difficulty and\n"
"    left-behind children too, with the village children's director), general\n"
"    quarterly, a visit within 24 hours of a major change (hospital discharge,\n"
"    death of a spouse or co-resident, disaster); death or leaving every category\n"
"    ends it. Each plan gets the least-loaded worker of its village with capacity\n"
"    left, else of its township; plans are re-assigned when a worker leaves or\n"
"    moves. Visit reports: visited and (where the tier allows) phone or video\n"
"    count as visits; not at home and refused are attempts; a danger raises the\n"
"    tier and an alert; a report matching no plan or no worker is kept and\n"
"    flagged.\n"
"\n"
"    Time is the newest event time consumed (clock = event): before each record\n"
"    the visits that passed their due time are alerted (once), and at each\n"
"    Asia/Shanghai midnight townships short of capacity, or whose month's visits\n"
"    will not all be made in the days left, are warned. A replay of the same log\n"
"    gives the same plans, assignments, alerts and rates. The monthly visit rate\n"
"    (people visited at least once in the month / people due in the month) is\n"
"    kept per village, township, county, city and province.\n"
"\n"
"    Its log (for doudi-alerts): kind 200 VisitAssignment, 201 PlanChange, 102\n"
"    Alert (its own: overdue, danger found, understaffed, forecast miss,\n"
"    unmatched report; and eligibility's, passed on with the assigned worker and\n"
"    any urgent visit), 18 acknowledgements passed on. Queries: doudictl visits,\n"
"    plan, worker.\n"
"\n"
"OPTIONS\n"
"    -c, --config FILE   read the INI configuration FILE\n"
"    -t, --test-config   check the configuration, print the effective values, exit\n"
"    -h, --help          print this help and exit\n"
"    -V, --version       print the version and exit\n"
"\n"
"SIGNALS\n"
"    SIGTERM, SIGINT  finish the batch in progress, exit 0\n"
"    SIGHUP           reload the configuration (log level, log retention and trimming)\n"
"\n"
"EXIT STATUS\n"
"    0 after a clean stop; 1 configuration error; 2 usage error; 3 start-up failed.\n"
"\n"
"CONFIGURATION KEYS\n";

static int start(struct ev_loop *loop, dd_config *config, void **daemon)
{
    return sched_daemon_new(loop, config, (sched_daemon **)daemon);
}

static int reload(void *daemon, dd_config *config)
{
    return sched_daemon_reload(daemon, config);
}

static void stop(void *daemon)
{
    sched_daemon_stop(daemon);
}

static void destroy(void **daemon)
{
    sched_daemon_destroy((sched_daemon **)daemon);
}

int main(int argc, char **argv)
{
    static const dd_daemon_spec spec = {
        .program = "doudi-scheduler",
        .help = help,
        .settings = sched_settings,
        .nsettings = SCHED_SETTING_COUNT,
        .start = start,
        .reload = reload,
        .stop = stop,
        .destroy = destroy,
    };
    return dd_daemon_main(&spec, argc, argv);
}
