/*
 * caseload.c: `doudictl caseload`, the programs' caseload of a region for
 * an office: persons eligible and enrolled, and the monthly amounts.
 */
#include "caseload.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "format.h"
#include "regquery.h"
#include "doudi/query.pb-c.h"

static const char caseload_help[] =
    "NAME\n"
    "    doudictl caseload - how many persons each program counts in a region\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl caseload [-e ENDPOINT] [--by-county] [--json] [-t MS]\n"
    "                      [--max-wait-s S] [--max-message-bytes BYTES] [REGION]\n"
    "\n"
    "DESCRIPTION\n"
    "    Asks doudi-eligibility's query endpoint for the caseload of the\n"
    "    counties whose code starts with REGION (0 to 6 digits: none or \"\" the\n"
    "    whole registry, 44 a province, 4401 a city, 440106 a county;\n"
    "    QueryRequest.caseload_region in query.proto) and prints, program by\n"
    "    program, as it stands after the last event eligibility applied:\n"
    "\n"
    "    - ELIGIBLE: persons whose latest decision says eligible;\n"
    "    - HOUSEHOLDS: households with at least one of them (for DIBAO, the\n"
    "      低保户);\n"
    "    - ENROLLED: persons enrolled in the program (the case system's word:\n"
    "      an eligible person not enrolled is a discovery alert's subject, an\n"
    "      enrolled person no longer eligible a review alert's);\n"
    "    - MONTHLY (YUAN): the monthly amounts decided for the eligible, in\n"
    "      yuan: a household's 低保 once per household (it is decided for the\n"
    "      household), every other amount per person;\n"
    "\n"
    "    and a total row. A person or household counts once in each program\n"
    "    that decides them, so the total row adds them across programs.\n"
    "    Eligibility keeps these sums by county as it changes households, so\n"
    "    the answer is exact and immediate for a whole province. Temporary\n"
    "    assistance (TEMP) is decided per emergency, a one-off, and has no\n"
    "    caseload.\n"
    "\n"
    "OPTIONS\n"
    "    -e, --endpoint ENDPOINT\n"
    "        doudi-eligibility's query endpoint (ZeroMQ).\n"
    "        Default: tcp://127.0.0.1:7203.\n"
    "\n"
    "    --by-county\n"
    "        One table for each county instead of their sum.\n"
    "\n"
    "    --json\n"
    "        Print the reply instead, as one line: the QueryReply message of\n"
    "        query.proto (its caseload rows, county by county and program by\n"
    "        program) in the canonical proto3 JSON mapping.\n"
    "\n"
    CTL_REGQUERY_WAIT_OPTIONS_HELP
    "EXIT STATUS\n"
    "    0   the caseload was shown (an empty one too)\n"
    "    1   eligibility refused the query (its reason is printed)\n"
    "    2   usage error (REGION not 0 to 6 digits), or a reply that breaks\n"
    "        the protocol\n"
    "    3   gave up waiting for an answer\n"
    "\n"
    "EXAMPLES\n"
    "    A county:\n"
    "        doudictl caseload 440106\n"
    "\n"
    "    Every county of a city, each on its own:\n"
    "        doudictl caseload 4401 --by-county\n";

typedef struct sums {
    uint64_t eligible, households, enrolled;
    int64_t amount_fen;
} sums;

static void print_row(const char *name, const char *chinese, const sums *s)
{
    char yuan[CTL_YUAN_MAX];
    printf("  %-12s", name);
    ctl_put_padded(stdout, chinese, 20);
    printf("%10" PRIu64 "%12" PRIu64 "%10" PRIu64 "%18s\n", s->eligible, s->households,
           s->enrolled, ctl_fen_yuan(s->amount_fen, yuan));
}

/* One table of rows[0..n-1] (all of them summed by program). */
static void print_table(const char *title, Doudi__CaseloadRow *const *rows, size_t n)
{
    size_t np;
    const ctl_program *programs = ctl_programs(&np);
    printf("%s\n", title);
    printf("  %-12s", "PROGRAM");
    ctl_put_padded(stdout, "NAME", 20);
    printf("%10s%12s%10s%18s\n", "ELIGIBLE", "HOUSEHOLDS", "ENROLLED", "MONTHLY (YUAN)");
    sums total = {0, 0, 0, 0};
    for (size_t i = 0; i < np; i++) {
        sums s = {0, 0, 0, 0};
        for (size_t j = 0; j < n; j++)
            if ((int)rows[j]->program == programs[i].value) {
                s.eligible += rows[j]->eligible_persons;
                s.households += rows[j]->eligible_households;
                s.enrolled += rows[j]->enrolled_persons;
                s.amount_fen = ctl_fen_add(s.amount_fen, rows[j]->monthly_amount_fen);
            }
        print_row(programs[i].name, programs[i].chinese, &s);
        total.eligible += s.eligible;
        total.households += s.households;
        total.enrolled += s.enrolled;
        total.amount_fen = ctl_fen_add(total.amount_fen, s.amount_fen);
    }
    /* Programs a newer daemon counts that this build does not know. */
    for (size_t j = 0; j < n; j++)
        if (!ctl_program_find((int)rows[j]->program)) {
            char number[16];
            snprintf(number, sizeof(number), "%d", (int)rows[j]->program);
            sums s = {rows[j]->eligible_persons, rows[j]->eligible_households,
                      rows[j]->enrolled_persons, rows[j]->monthly_amount_fen};
            print_row(number, "", &s);
            total.eligible += s.eligible;
            total.enrolled += s.enrolled;
            total.amount_fen = ctl_fen_add(total.amount_fen, s.amount_fen);
        }
    print_row("TOTAL", "", &total);
}

int ctl_caseload_main(int argc, char **argv)
{
    ctl_set_command("doudictl caseload");
    bool by_county = false;
    /* --by-county is this command's own; the rest are the registry queries'. */
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--by-county") == 0)
            by_county = true;
        else
            argv[kept++] = argv[i];
    }
    argc = kept;
    ctl_regquery_options o;
    int first;
    bool done;
    int rc = ctl_regquery_parse(argc, argv, caseload_help, &o, &first, &done);
    if (rc != CTL_EXIT_OK || done)
        return rc;
    if (argc - first > 1)
        return ctl_usage("unexpected argument '%s'", argv[first + 1]);
    const char *region = first < argc ? argv[first] : "";
    size_t len = strlen(region);
    if (len > 6 || strspn(region, "0123456789") != len)
        return ctl_usage("REGION is 0 to 6 digits (the caseload is kept by county), not '%s'",
                         region);

    Doudi__QueryRequest req = DOUDI__QUERY_REQUEST__INIT;
    req.query_case = DOUDI__QUERY_REQUEST__QUERY_CASELOAD_REGION;
    req.caseload_region = (char *)region;
    Doudi__QueryReply *reply;
    if ((rc = ctl_regquery_call(&o, &req, &reply)) != CTL_EXIT_OK)
        return rc;
    for (size_t i = 0; i < reply->n_caseload; i++)
        if (strncmp(reply->caseload[i]->county_code, region, len) != 0) {
            ctl_warn("doudi-eligibility answered the caseload of '%s' with county %s", region,
                     reply->caseload[i]->county_code);
            doudi__query_reply__free_unpacked(reply, NULL);
            return CTL_EXIT_USAGE;
        }
    if (!o.json) {
        char title[96];
        if (!by_county) {
            snprintf(title, sizeof(title), "caseload of %s", len ? region : "the whole registry");
            print_table(title, reply->caseload, reply->n_caseload);
        }
        for (size_t i = 0; by_county && i < reply->n_caseload;) {
            size_t j = i;
            while (j < reply->n_caseload &&
                   strcmp(reply->caseload[j]->county_code, reply->caseload[i]->county_code) == 0)
                j++;
            snprintf(title, sizeof(title), "%scaseload of county %s", i ? "\n" : "",
                     reply->caseload[i]->county_code);
            print_table(title, reply->caseload + i, j - i);
            i = j;
        }
        if (by_county && reply->n_caseload == 0)
            printf("no county starting with '%s' counts anybody\n", region);
    }
    doudi__query_reply__free_unpacked(reply, NULL);
    return CTL_EXIT_OK;
}
