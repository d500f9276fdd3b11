/*
 * household.c: `doudictl household`, a household as doudi-eligibility holds
 * it, with every member's program decisions, for a caseworker.
 */
#include "household.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "format.h"
#include "names.h"
#include "regquery.h"
#include "doudi/query.pb-c.h"

static const char household_help[] =
    "NAME\n"
    "    doudictl household - show a household and its members' decisions\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl household [-e ENDPOINT] [--json] [-t MS] [--max-wait-s S]\n"
    "                       [--max-message-bytes BYTES] ID\n"
    "\n"
    "DESCRIPTION\n"
    "    Asks doudi-eligibility's query endpoint for the household ID (the\n"
    "    household_id portals report, QueryRequest.household_id in query.proto)\n"
    "    and prints it as it stands after the last event eligibility applied:\n"
    "\n"
    "    - its region, whether it is urban or rural, its members (how many, and\n"
    "      how many are living), each declared income by kind and their total,\n"
    "      the per-capita income, financial assets, dwellings, vehicles, rigid\n"
    "      spending over the last 12 months, and when and by which intake\n"
    "      sequence it last changed;\n"
    "    - for each member, in the order of the household's member list, their\n"
    "      sex and age (read from the identity number) and a table of the eight\n"
    "      programs as `doudictl person` prints it: eligible, enrolled, amount\n"
    "      in yuan (a month; for TEMP the one-off quick aid), rule.\n"
    "\n"
    "    The per-capita income shown is the total declared income divided by\n"
    "    the living members, in whole fen. The rules use the same division but\n"
    "    take a department's verified income instead of the declared one when\n"
    "    it is higher; when the per-capita income of eligibility's last\n"
    "    evaluation differs from the declared one, it is shown too.\n"
    "\n"
    "    Money is shown in yuan with two decimals, times in Asia/Shanghai time\n"
    "    (UTC+8). `doudictl person ID` shows one member in full, `doudictl\n"
    "    explain ID PROGRAM` why a decision came out as it did.\n"
    "\n"
    "    A query not answered within the timeout is sent again on a new\n"
    "    connection, after a pause from 100 ms doubling up to 2 s.\n"
    "\n"
    "OPTIONS\n"
    "    -e, --endpoint ENDPOINT\n"
    "        doudi-eligibility's query endpoint (ZeroMQ).\n"
    "        Default: tcp://127.0.0.1:7203.\n"
    "\n"
    "    --json\n"
    "        Print the reply instead, as one line: the QueryReply message of\n"
    "        query.proto (the StoredHousehold, its members' StoredPersons and\n"
    "        their Decisions) in the canonical proto3 JSON mapping. A reply that\n"
    "        says the household is unknown is printed too, with its errorText.\n"
    "\n"
    CTL_REGQUERY_WAIT_OPTIONS_HELP
    "EXIT STATUS\n"
    "    0   the household was shown\n"
    "    1   the household is not in the registry, or eligibility refused the\n"
    "        query (its reason is printed)\n"
    "    2   usage error (ID empty or longer than 64 bytes), or a reply that\n"
    "        breaks the protocol\n"
    "    3   gave up waiting for an answer\n"
    "\n"
    "EXAMPLES\n"
    "    A household:\n"
    "        doudictl household hh-440203101005-0002\n"
    "\n"
    "    Its members' identity numbers, from the JSON:\n"
    "        doudictl household hh-440203101005-0002 --json |\n"
    "            jq -r '.household.report.memberPersonIds[]'\n";

static const Doudi__StoredPerson *find_person(const Doudi__QueryReply *r, const char *id)
{
    for (size_t i = 0; i < r->n_persons; i++)
        if (strcmp(r->persons[i]->report->person_id, id) == 0)
            return r->persons[i];
    return NULL;
}

static void print_household(const Doudi__QueryReply *reply)
{
    const Doudi__StoredHousehold *h = reply->household;
    const Doudi__HouseholdReported *r = h->report;
    char w[CTL_NAME_MAX], yuan[CTL_YUAN_MAX], yuan2[CTL_YUAN_MAX], when[32];

    printf("Household %s\n", r->household_id);
    if (h->placeholder)
        printf("  Not reported yet: a member's report has named it since\n"
               "  %s; only its members are known.\n",
               ctl_format_time_ms(h->first_referenced_at_ms, when));
    if (r->merged_into_household_id[0])
        ctl_regquery_field(stdout, "Merged into", "%s", r->merged_into_household_id);
    if (r->dissolved)
        ctl_regquery_field(stdout, "Dissolved", "yes");
    ctl_regquery_field(stdout, "Region", "%s", h->region_code[0] ? h->region_code : "-");
    ctl_regquery_field(stdout, "Urban or rural", "%s",
                       r->urban_rural ? ctl_enum_words(&doudi__urban_rural__descriptor,
                                                       "URBAN_RURAL_", r->urban_rural, w)
                                      : "not reported");

    /* Living members: those eligibility holds and who have not died, as
     * its evaluation counts them. */
    size_t living = 0, known = 0;
    for (size_t i = 0; i < r->n_member_person_ids; i++) {
        const Doudi__StoredPerson *p = find_person(reply, r->member_person_ids[i]);
        if (!p)
            continue;
        known++;
        if (!p->report->died_at_ms)
            living++;
    }
    if (known == r->n_member_person_ids)
        ctl_regquery_field(stdout, "Members", "%zu, %zu living", r->n_member_person_ids, living);
    else
        ctl_regquery_field(stdout, "Members", "%zu, %zu living, %zu not in the registry",
                           r->n_member_person_ids, living, r->n_member_person_ids - known);

    int64_t total = 0;
    for (size_t i = 0; i < r->n_incomes; i++) {
        const Doudi__Income *in = r->incomes[i];
        total = ctl_fen_add(total, in->monthly_fen);
        ctl_regquery_field(stdout, i == 0 ? "Declared incomes" : "", "%-10s %13s yuan a month",
                           in->kind ? ctl_enum_words(&doudi__income_kind__descriptor,
                                                     "INCOME_KIND_", in->kind, w)
                                    : "unspecified",
                           ctl_fen_yuan(in->monthly_fen, yuan));
    }
    if (r->n_incomes == 0)
        ctl_regquery_field(stdout, "Declared incomes", "none");
    else
        ctl_regquery_field(stdout, "", "%-10s %13s yuan a month", "total",
                           ctl_fen_yuan(total, yuan));
    int64_t per_capita = living ? total / (int64_t)living : 0;
    if (living)
        ctl_regquery_field(stdout, "Per-capita income", "%s yuan a month (%s / %zu living)",
                           ctl_fen_yuan(per_capita, yuan), ctl_fen_yuan(total, yuan2), living);
    else
        ctl_regquery_field(stdout, "Per-capita income", "- (no living member)");
    if (h->evaluated && (!living || h->last_per_capita_income_fen != per_capita))
        ctl_regquery_field(stdout, "", "%s yuan a month at eligibility's last evaluation",
                           ctl_fen_yuan(h->last_per_capita_income_fen, yuan));

    ctl_regquery_field(stdout, "Financial assets", "%s yuan",
                       ctl_fen_yuan(r->financial_assets_fen, yuan));
    ctl_regquery_field(stdout, "Dwellings", "%d", (int)r->dwellings);
    if (r->n_vehicle_values_fen == 0) {
        ctl_regquery_field(stdout, "Vehicles", "none");
    } else {
        char list[512] = "";
        for (size_t i = 0; i < r->n_vehicle_values_fen; i++) {
            size_t used = strlen(list);
            if (used + 1 < sizeof(list))
                snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
                         ctl_fen_yuan(r->vehicle_values_fen[i], yuan));
        }
        ctl_regquery_field(stdout, "Vehicles", "%zu, worth %s yuan", r->n_vehicle_values_fen,
                           list);
    }
    const Doudi__RigidSpending *rs = r->rigid_spending_12_months;
    if (!rs) {
        ctl_regquery_field(stdout, "Rigid spending", "not reported");
    } else {
        ctl_regquery_field(stdout, "Rigid spending", "%-26s %13s yuan", "medical",
                           ctl_fen_yuan(rs->medical_fen, yuan));
        ctl_regquery_field(stdout, "", "%-26s %13s yuan", "education",
                           ctl_fen_yuan(rs->education_fen, yuan));
        ctl_regquery_field(stdout, "", "%-26s %13s yuan", "disability rehabilitation",
                           ctl_fen_yuan(rs->disability_rehabilitation_fen, yuan));
        ctl_regquery_field(stdout, "", "%-26s %13s yuan", "total over 12 months",
                           ctl_fen_yuan(ctl_fen_add(ctl_fen_add(rs->medical_fen, rs->education_fen),
                                                rs->disability_rehabilitation_fen),
                                        yuan));
    }
    if (h->reported_at_ms)
        ctl_regquery_field(stdout, "Reported", "%s", ctl_format_time_ms(h->reported_at_ms, when));
    ctl_regquery_field(stdout, "Last changed by", "intake sequence %" PRIu64, h->sequence);
}

static void print_members(const Doudi__QueryReply *reply, int32_t today)
{
    const Doudi__HouseholdReported *r = reply->household->report;
    char birth[160];
    for (size_t i = 0; i < r->n_member_person_ids; i++) {
        const char *id = r->member_person_ids[i];
        const Doudi__StoredPerson *p = find_person(reply, id);
        printf("\nMember %s  ", id);
        if (!p) {
            printf("(not in the registry)\n");
            continue;
        }
        fputs(ctl_regquery_birth_text(id, p->report->died_at_ms, today, birth, sizeof(birth)),
              stdout);
        if (p->report->disability_grade)
            printf(", disability grade %d", (int)p->report->disability_grade);
        if (p->placeholder)
            fputs(", not reported yet", stdout);
        putchar('\n');
        if (p->report->died_at_ms &&
            ctl_regquery_decided_before(reply->decisions, reply->n_decisions, id,
                                        p->report->died_at_ms))
            printf("  (decisions made before the death are shown as they were made)\n");
        ctl_regquery_print_programs(stdout, "  ", p, id, reply->decisions, reply->n_decisions);
    }
}

int ctl_household_main(int argc, char **argv)
{
    ctl_set_command("doudictl household");
    ctl_regquery_options o;
    int first;
    bool done;
    int rc = ctl_regquery_parse(argc, argv, household_help, &o, &first, &done);
    if (rc != CTL_EXIT_OK || done)
        return rc;
    if (first == argc)
        return ctl_usage("which household? give its id");
    if (argc - first > 1)
        return ctl_usage("unexpected argument '%s'", argv[first + 1]);
    const char *id = argv[first];
    size_t len = strlen(id);
    if (len == 0 || len > 64)
        return ctl_usage("a household id is 1 to 64 bytes, not %zu", len);

    Doudi__QueryRequest req = DOUDI__QUERY_REQUEST__INIT;
    req.query_case = DOUDI__QUERY_REQUEST__QUERY_HOUSEHOLD_ID;
    req.household_id = (char *)id;
    Doudi__QueryReply *reply;
    if ((rc = ctl_regquery_call(&o, &req, &reply)) != CTL_EXIT_OK)
        return rc;
    if (!reply->household || strcmp(reply->household->report->household_id, id) != 0) {
        ctl_warn("doudi-eligibility answered the query for household %s with %s", id,
                 reply->household ? reply->household->report->household_id : "none");
        doudi__query_reply__free_unpacked(reply, NULL);
        return CTL_EXIT_USAGE;
    }
    if (!o.json) {
        print_household(reply);
        print_members(reply, ctl_regquery_today());
    }
    doudi__query_reply__free_unpacked(reply, NULL);
    return CTL_EXIT_OK;
}
