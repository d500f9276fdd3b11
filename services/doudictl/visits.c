/*
 * visits.c: `doudictl visits rate REGION [MONTH]` and `doudictl visits due
 * REGION`, from doudi-scheduler's query endpoint.
 */
#include "visits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "schedquery.h"

static const char visits_help[] =
    "NAME\n"
    "    doudictl visits - the monthly care-visit rate of a region, and the visits\n"
    "    due in it, from doudi-scheduler\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl visits rate [OPTIONS] [--townships] REGION [MONTH]\n"
    "    doudictl visits due [OPTIONS] REGION\n"
    "\n"
    "DESCRIPTION\n"
    "    rate prints a table of REGION and each of its children (the cities of a\n"
    "    province, the counties of a city, the townships of a county, the\n"
    "    villages of a township) for MONTH (YYYYMM, Asia/Shanghai calendar; by\n"
    "    default the scheduler's current month): the people due a visit in the\n"
    "    month, those of them visited at least once, the rate (visited / due),\n"
    "    and the overdue alerts raised in the month. The monthly visit rate must\n"
    "    reach 100%. With --townships the table has one row for each township\n"
    "    (and subdistrict) under REGION instead, however many levels down.\n"
    "\n"
    "    due lists the plans of REGION whose visit is due by the end of today (the\n"
    "    scheduler's today: event time in a replay) or already overdue, earliest\n"
    "    first, with the worker assigned.\n"
    "\n"
    "    REGION is a division code prefix of 2 (province), 4 (city), 6 (county),\n"
    "    9 (township) or 12 (village) digits, or the 12-digit code of an area\n"
    "    (440106001000 for a township).\n"
    "\n"
    CTL_SCHEDQUERY_OPTIONS_HELP
    "\n"
    "EXAMPLES\n"
    "    doudictl visits rate 440106\n"
    "    doudictl visits rate 4401 202607\n"
    "    doudictl visits rate --townships 44\n"
    "    doudictl visits due 440106001\n";

static int ask_rates(const ctl_schedquery_options *o, const char *region, int32_t month,
                     Doudi__SchedulerQueryReply **out)
{
    Doudi__SchedulerQueryRequest req = DOUDI__SCHEDULER_QUERY_REQUEST__INIT;
    req.query_case = DOUDI__SCHEDULER_QUERY_REQUEST__QUERY_RATE_REGION_CODE;
    req.rate_region_code = (char *)region;
    req.month_yyyymm = month;
    ctl_schedquery_options quiet = *o;
    quiet.json = false;
    return ctl_schedquery_call(&quiet, &req, out);
}

static void print_rate_row(const Doudi__RegionRate *x)
{
    char rate[16];
    printf("%-14s %9lld %9lld %8s %8lld\n", x->region_code, (long long)x->due,
           (long long)x->visited, ctl_rate_text(x->visited, x->due, rate), (long long)x->overdue);
}

/* Prints the township rows under region, descending level by level. */
static int township_rows(const ctl_schedquery_options *o, const char *region, int32_t month,
                         int depth)
{
    Doudi__SchedulerQueryReply *r;
    int rc = ask_rates(o, region, month, &r);
    if (rc != 0)
        return rc;
    for (size_t i = 1; i < r->n_rates && rc == 0; i++) {
        const Doudi__RegionRate *x = r->rates[i];
        if (strlen(x->region_code) >= 9)
            print_rate_row(x);
        else if (depth < 4)
            rc = township_rows(o, x->region_code, month, depth + 1);
    }
    doudi__scheduler_query_reply__free_unpacked(r, NULL);
    return rc;
}

static int run_rate(const ctl_schedquery_options *o, int argc, char **argv, int first,
                    bool townships)
{
    if (argc - first < 1 || argc - first > 2)
        return ctl_usage("visits rate takes REGION [MONTH]");
    Doudi__SchedulerQueryRequest req = DOUDI__SCHEDULER_QUERY_REQUEST__INIT;
    req.query_case = DOUDI__SCHEDULER_QUERY_REQUEST__QUERY_RATE_REGION_CODE;
    req.rate_region_code = argv[first];
    if (argc - first == 2) {
        uint64_t m;
        if (ctl_parse_u64(argv[first + 1], 100001, 999912, &m) != 0 || m % 100 < 1 || m % 100 > 12)
            return ctl_usage("'%s' is not a month (YYYYMM)", argv[first + 1]);
        req.month_yyyymm = (int32_t)m;
    }
    Doudi__SchedulerQueryReply *r;
    int rc = ctl_schedquery_call(o, &req, &r);
    if (rc != CTL_EXIT_OK || o->json) {
        if (rc == CTL_EXIT_OK)
            doudi__scheduler_query_reply__free_unpacked(r, NULL);
        return rc;
    }
    printf("visit rate of %s in %04d-%02d%s\n", argv[first], r->month_yyyymm / 100,
           r->month_yyyymm % 100, townships ? ", by township" : "");
    printf("%-14s %9s %9s %8s %8s\n", "region", "due", "visited", "rate", "overdue");
    if (r->n_rates > 0)
        print_rate_row(r->rates[0]);
    if (r->n_rates > 1 || townships)
        printf("%s\n", "--");
    if (townships && strlen(r->rates[0]->region_code) < 9)
        rc = township_rows(o, r->rates[0]->region_code, r->month_yyyymm, 0);
    else
        for (size_t i = 1; i < r->n_rates; i++)
            print_rate_row(r->rates[i]);
    doudi__scheduler_query_reply__free_unpacked(r, NULL);
    return rc;
}

static int run_due(const ctl_schedquery_options *o, int argc, char **argv, int first)
{
    if (argc - first != 1)
        return ctl_usage("visits due takes one REGION");
    Doudi__SchedulerQueryRequest req = DOUDI__SCHEDULER_QUERY_REQUEST__INIT;
    req.query_case = DOUDI__SCHEDULER_QUERY_REQUEST__QUERY_DUE_REGION_CODE;
    req.due_region_code = argv[first];
    Doudi__SchedulerQueryReply *r;
    int rc = ctl_schedquery_call(o, &req, &r);
    if (rc != CTL_EXIT_OK || o->json) {
        if (rc == CTL_EXIT_OK)
            doudi__scheduler_query_reply__free_unpacked(r, NULL);
        return rc;
    }
    char now[32];
    printf("visits of %s due by the end of %.10s: %llu%s\n", argv[first],
           ctl_format_time_ms(r->now_ms, now), (unsigned long long)r->total,
           r->total > r->n_plans ? " (the earliest shown)" : "");
    ctl_print_plan_rows(stdout, r->plans, r->n_plans, r->now_ms);
    doudi__scheduler_query_reply__free_unpacked(r, NULL);
    return CTL_EXIT_OK;
}

int ctl_visits_main(int argc, char **argv)
{
    ctl_set_command("doudictl visits");
    if (argc < 2)
        return ctl_usage("which subcommand? (rate, due)");
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(visits_help, stdout);
        return CTL_EXIT_OK;
    }
    bool rate = strcmp(argv[1], "rate") == 0;
    if (!rate && strcmp(argv[1], "due") != 0)
        return ctl_usage("unknown subcommand '%s' (rate, due)", argv[1]);
    ctl_set_command(rate ? "doudictl visits rate" : "doudictl visits due");
    /* --townships is rate's own; the shared parser sees the rest. */
    bool townships = false;
    char *rest[64];
    int n = 0;
    for (int i = 1; i < argc && n < 63; i++) {
        if (rate && i > 1 && strcmp(argv[i], "--townships") == 0)
            townships = true;
        else
            rest[n++] = argv[i];
    }
    rest[n] = NULL;
    ctl_schedquery_options o;
    int first;
    bool done;
    int rc = ctl_schedquery_parse(n, rest, visits_help, &o, &first, &done);
    if (rc != CTL_EXIT_OK || done)
        return rc;
    return rate ? run_rate(&o, n, rest, first, townships) : run_due(&o, n, rest, first);
}
