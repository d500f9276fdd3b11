/*
 * person.c: `doudictl person`, a person's registry entry and decisions as
 * doudi-eligibility holds them, for a caseworker.
 */
#include "person.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "format.h"
#include "names.h"
#include "regquery.h"
#include "doudi/query.pb-c.h"

static const char person_help[] =
    "NAME\n"
    "    doudictl person - show what doudi-eligibility knows about a person\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl person [-e ENDPOINT] [--json] [-t MS] [--max-wait-s S]\n"
    "                    [--max-message-bytes BYTES] ID\n"
    "\n"
    "DESCRIPTION\n"
    "    Asks doudi-eligibility's query endpoint for the person whose resident\n"
    "    identity number is ID (QueryRequest.person_id, query.proto) and prints\n"
    "    their registry entry as it stands after the last event eligibility\n"
    "    applied:\n"
    "\n"
    "    - the household (with its urban or rural status and size), the region\n"
    "      (village or community), sex, birth date and age, all three read from\n"
    "      the identity number (the age as of today in Asia/Shanghai, or at\n"
    "      death), disability, ability in daily living and the care level\n"
    "      eligibility derived from it, living arrangement, family-planning\n"
    "      status, ability to work, legal supporter, own monthly income, and\n"
    "      when and by which intake sequence the record last changed;\n"
    "    - the care categories and the visit tier that follows from them;\n"
    "    - enrolments, as the assistance system reported them;\n"
    "    - applications not yet decided;\n"
    "    - what departments verified: income, unemployment, pension, financial\n"
    "      assets, dwellings, vehicles, the last hospital stay's self-payment;\n"
    "    - a table of the eight programs, DIBAO 低保, TEKUN 特困, DIBIAN\n"
    "      低保边缘, RIGID 刚性支出困难, TEMP 临时救助, AGE 高龄津贴,\n"
    "      DIS_LIVING 困难残疾人生活补贴 and DIS_CARE 重度残疾人护理补贴: whether\n"
    "      the person is eligible, whether enrolled, the amount in yuan (a\n"
    "      month; for TEMP the one-off quick aid) and the rule that decided. A\n"
    "      \"-\" means eligibility holds no decision: TEMP without an\n"
    "      emergency, every program for a person not reported yet or whose\n"
    "      region has no standard. Enrolled is the assistance system's word\n"
    "      (the enrolments above), whatever the decision says.\n"
    "\n"
    "    Money is shown in yuan with two decimals, times in Asia/Shanghai time\n"
    "    (UTC+8). `doudictl explain ID PROGRAM` shows why a decision came out as\n"
    "    it did; `doudictl household` shows the person's whole household.\n"
    "\n"
    "    ID is 18 characters; a final lower-case x is read as X, and an old\n"
    "    15-digit number is looked up in its 18-character form. A number whose\n"
    "    check character or birth date is wrong is refused before anything is\n"
    "    sent.\n"
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
    "        query.proto (the StoredPerson, their StoredHousehold and their\n"
    "        Decisions) in the canonical proto3 JSON mapping. A reply that says\n"
    "        the person is unknown is printed too, with its errorText.\n"
    "\n"
    CTL_REGQUERY_WAIT_OPTIONS_HELP
    "EXIT STATUS\n"
    "    0   the person was shown\n"
    "    1   the person is not in the registry, or eligibility refused the\n"
    "        query (its reason is printed)\n"
    "    2   usage error (ID is not a valid identity number), or a reply that\n"
    "        breaks the protocol\n"
    "    3   gave up waiting for an answer\n"
    "\n"
    "EXAMPLES\n"
    "    A person:\n"
    "        doudictl person 440101193803120223\n"
    "\n"
    "    The programs a person is eligible for, from the JSON:\n"
    "        doudictl person 440101193803120223 --json |\n"
    "            jq -r '.decisions[] | select(.eligible) | .program'\n"
    "\n"
    "    Against an eligibility daemon on another host:\n"
    "        doudictl person -e tcp://10.1.2.3:7203 440101193803120223\n";

/* Columns for "DIS_LIVING 困难残疾人生活补贴" and a space. */
#define PROGRAM_LABEL_WIDTH 31

/* An enum value as words, or `none` for UNSPECIFIED (not reported). */
static const char *words(const ProtobufCEnumDescriptor *desc, const char *prefix, int value,
                         const char *none, char buf[CTL_NAME_MAX])
{
    if (value == 0)
        return none;
    return ctl_enum_words(desc, prefix, value, buf);
}

static const char *tier_text(int tier, char *out, size_t len)
{
    char w[CTL_NAME_MAX];
    const char *how = NULL;
    switch (tier) {
    case DOUDI__VISIT_TIER__VISIT_TIER_NONE: how = "no visits due"; break;
    case DOUDI__VISIT_TIER__VISIT_TIER_GENERAL: how = "a visit every quarter"; break;
    case DOUDI__VISIT_TIER__VISIT_TIER_KEY: how = "a visit every month"; break;
    case DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK: how = "a visit every week"; break;
    }
    const char *name = words(&doudi__visit_tier__descriptor, "VISIT_TIER_", tier,
                             "not classified", w);
    if (how)
        snprintf(out, len, "%s (%s)", name, how);
    else
        snprintf(out, len, "%s", name);
    return out;
}

/* Appends to buf (of len bytes, NUL-terminated) as printf would, cutting at its end. */
static void appendf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

static void print_daily_living(const Doudi__DailyLiving *dl)
{
    if (!dl) {
        ctl_regquery_field(stdout, "Daily living", "not reported");
        return;
    }
    const struct {
        const char *what;
        int ability;
    } acts[] = {
        { "eating", dl->eating },
        { "dressing", dl->dressing },
        { "getting in and out of bed", dl->getting_in_out_of_bed },
        { "toileting", dl->toileting },
        { "walking indoors", dl->walking_indoors },
        { "bathing", dl->bathing },
    };
    /* Grouped by ability, the most help first: "dependent: bathing; ...";
     * -1 gathers the activities not reported (or with a value unknown here). */
    static const int groups[] = {
        DOUDI__ADL_ABILITY__ADL_ABILITY_DEPENDENT,
        DOUDI__ADL_ABILITY__ADL_ABILITY_NEEDS_HELP,
        DOUDI__ADL_ABILITY__ADL_ABILITY_INDEPENDENT,
        -1,
    };
    char line[512] = "";
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        bool first = true;
        for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
            int a = acts[i].ability;
            bool in_group = groups[g] >= 0 ? a == groups[g]
                                           : a != DOUDI__ADL_ABILITY__ADL_ABILITY_DEPENDENT &&
                                                 a != DOUDI__ADL_ABILITY__ADL_ABILITY_NEEDS_HELP &&
                                                 a != DOUDI__ADL_ABILITY__ADL_ABILITY_INDEPENDENT;
            if (!in_group)
                continue;
            char w[CTL_NAME_MAX];
            if (first)
                appendf(line, sizeof(line), "%s%s: ", line[0] ? "; " : "",
                        groups[g] >= 0 ? ctl_enum_words(&doudi__adl_ability__descriptor,
                                                        "ADL_ABILITY_", a, w)
                                       : "not reported");
            else
                appendf(line, sizeof(line), ", ");
            appendf(line, sizeof(line), "%s", acts[i].what);
            first = false;
        }
    }
    ctl_regquery_field(stdout, "Daily living", "%s", line);
}

static void print_entry(const Doudi__StoredPerson *p, const Doudi__StoredHousehold *h,
                        int32_t today)
{
    const Doudi__PersonReported *r = p->report;
    char buf[256], w[CTL_NAME_MAX], when[32], yuan[CTL_YUAN_MAX];

    printf("Person %s\n", r->person_id);
    if (p->placeholder)
        printf("  Not reported yet: other records have named this person since\n"
               "  %s; only what those records said is known.\n",
               ctl_format_time_ms(p->first_referenced_at_ms, when));
    if (!r->household_id[0]) {
        ctl_regquery_field(stdout, "Household", "none");
    } else if (h) {
        size_t nm = h->report->n_member_person_ids;
        ctl_regquery_field(stdout, "Household", "%s (%s, %zu member%s)", r->household_id,
                           words(&doudi__urban_rural__descriptor, "URBAN_RURAL_",
                                 h->report->urban_rural, "urban or rural not reported", w),
                           nm, nm == 1 ? "" : "s");
    } else {
        ctl_regquery_field(stdout, "Household", "%s (not in the registry)", r->household_id);
    }
    ctl_regquery_field(stdout, "Region", "%s", p->region_code[0] ? p->region_code : "-");
    ctl_regquery_field(stdout, "Sex, birth",
                       "%s", ctl_regquery_birth_text(r->person_id, r->died_at_ms, today, buf,
                                                     sizeof(buf)));
    if (r->died_at_ms)
        ctl_regquery_field(stdout, "Died", "%s", ctl_format_time_ms(r->died_at_ms, when));
    if (r->disability_grade == 0)
        ctl_regquery_field(stdout, "Disability", "none");
    else
        ctl_regquery_field(stdout, "Disability", "grade %d, %s", (int)r->disability_grade,
                           words(&doudi__disability_type__descriptor, "DISABILITY_TYPE_",
                                 r->disability_type, "type not reported", w));
    print_daily_living(r->daily_living);
    if (p->care_level)
        ctl_regquery_field(stdout, "Care level", "%s care",
                           ctl_enum_words(&doudi__care_level__descriptor, "CARE_LEVEL_",
                                          p->care_level, w));
    else
        ctl_regquery_field(stdout, "Care level", "not assessed");
    ctl_regquery_field(stdout, "Living arrangement", "%s",
                       words(&doudi__living_arrangement__descriptor, "LIVING_ARRANGEMENT_",
                             r->living_arrangement, "not reported", w));
    ctl_regquery_field(stdout, "Family planning", "%s",
                       words(&doudi__family_planning_special__descriptor,
                             "FAMILY_PLANNING_SPECIAL_", r->family_planning_special,
                             "not reported", w));
    ctl_regquery_field(stdout, "Able to work", "%s",
                       words(&doudi__work_ability__descriptor, "WORK_ABILITY_",
                             r->work_ability, "not reported", w));
    ctl_regquery_field(stdout, "Legal supporter", "%s",
                       words(&doudi__legal_supporter__descriptor, "LEGAL_SUPPORTER_",
                             r->legal_supporter, "not reported", w));
    ctl_regquery_field(stdout, "Own income", "%s yuan a month",
                       ctl_fen_yuan(r->own_monthly_income_fen, yuan));
    buf[0] = '\0';
    if (r->main_earner)
        appendf(buf, sizeof(buf), "; the household's main earner");
    if (r->child_in_difficulty)
        appendf(buf, sizeof(buf), "; child in difficulty (困境儿童)");
    if (r->life_threatening_condition)
        appendf(buf, sizeof(buf), "; life-threatening condition");
    if (buf[0])
        ctl_regquery_field(stdout, "Also", "%s", buf + 2);

    /* Care categories and visit tier. */
    buf[0] = '\0';
    for (size_t i = 0; i < p->n_categories; i++)
        appendf(buf, sizeof(buf), "%s%s", i ? ", " : "",
                ctl_enum_words(&doudi__care_category__descriptor, "CARE_CATEGORY_",
                               p->categories[i], w));
    ctl_regquery_field(stdout, "Care categories", "%s", buf[0] ? buf : "none");
    ctl_regquery_field(stdout, "Visit tier", "%s", tier_text(p->tier, buf, sizeof(buf)));
    if (p->danger_found_last_visit)
        ctl_regquery_field(stdout, "", "a danger was found at the last visit");
    if (p->rigid_recognized_since_yyyymmdd) {
        char day[16];
        ctl_regquery_field(stdout, "Rigid hardship", "recognised since %s",
                           ctl_format_date(p->rigid_recognized_since_yyyymmdd, day));
    }
    if (p->reported_at_ms)
        ctl_regquery_field(stdout, "Reported", "%s", ctl_format_time_ms(p->reported_at_ms, when));
    ctl_regquery_field(stdout, "Last changed by", "intake sequence %" PRIu64, p->sequence);
}

/* "  DIBAO 低保   text", the text wrapped under itself. */
static void program_line(int program, const char *text)
{
    char label[64];
    fputs("  ", stdout);
    ctl_put_padded(stdout, ctl_program_label(program, label), PROGRAM_LABEL_WIDTH);
    ctl_put_wrapped(stdout, text, 2 + PROGRAM_LABEL_WIDTH, 2 + PROGRAM_LABEL_WIDTH,
                    CTL_REGQUERY_WIDTH);
    putchar('\n');
}

static void print_enrolments(const Doudi__StoredPerson *p)
{
    char text[256], yuan[CTL_YUAN_MAX], when[32];
    printf("\nEnrolments\n");
    if (p->n_enrolments == 0)
        printf("  none\n");
    for (size_t i = 0; i < p->n_enrolments; i++) {
        const Doudi__StoredEnrolment *en = p->enrolments[i];
        if (en->enrolled)
            snprintf(text, sizeof(text), "enrolled, %s yuan a month, since %s",
                     ctl_fen_yuan(en->amount_fen, yuan), ctl_format_time_ms(en->since_ms, when));
        else
            snprintf(text, sizeof(text), "not enrolled since %s",
                     ctl_format_time_ms(en->since_ms, when));
        program_line(en->program, text);
    }
}

static void print_applications(const Doudi__StoredPerson *p)
{
    char text[512], when[32];
    printf("\nApplications not yet decided\n");
    if (p->n_applications == 0)
        printf("  none\n");
    for (size_t i = 0; i < p->n_applications; i++) {
        const Doudi__StoredApplication *a = p->applications[i];
        text[0] = '\0';
        /* Without an id: the quick aid a reported emergency called for. */
        if (a->application_id[0])
            appendf(text, sizeof(text), "%s, applied %s", a->application_id,
                    ctl_format_time_ms(a->applied_at_ms, when));
        else
            appendf(text, sizeof(text), "quick aid after an emergency on %s",
                    ctl_format_time_ms(a->applied_at_ms, when));
        if (a->program == DOUDI__PROGRAM__PROGRAM_TEMP && a->region_code[0])
            appendf(text, sizeof(text), ", emergency in %s", a->region_code);
        if (a->decide_by_ms)
            appendf(text, sizeof(text), ", to be decided by %s",
                    ctl_format_time_ms(a->decide_by_ms, when));
        program_line(a->program, text);
    }
}

static void print_verified(const Doudi__StoredPerson *p)
{
    char yuan[CTL_YUAN_MAX], list[512];
    bool any = false;
    printf("\nVerified by departments\n");
    if (p->income_known) {
        ctl_regquery_field(stdout, "Income", "%s yuan a month",
                           ctl_fen_yuan(p->verified_income_fen, yuan));
        any = true;
    }
    if (p->registered_unemployed) {
        ctl_regquery_field(stdout, "Employment", "registered unemployed");
        any = true;
    }
    if (p->receiving_pension) {
        ctl_regquery_field(stdout, "Pension", "%s yuan a month",
                           ctl_fen_yuan(p->monthly_pension_fen, yuan));
        any = true;
    }
    if (p->assets_known) {
        ctl_regquery_field(stdout, "Financial assets", "%s yuan",
                           ctl_fen_yuan(p->verified_assets_fen, yuan));
        any = true;
    }
    if (p->dwellings_known) {
        ctl_regquery_field(stdout, "Dwellings", "%d", (int)p->verified_dwellings);
        any = true;
    }
    if (p->vehicles_known) {
        list[0] = '\0';
        for (size_t i = 0; i < p->n_verified_vehicle_values_fen; i++)
            appendf(list, sizeof(list), "%s%s", i ? ", " : "",
                    ctl_fen_yuan(p->verified_vehicle_values_fen[i], yuan));
        if (list[0])
            ctl_regquery_field(stdout, "Vehicles", "worth %s yuan", list);
        else
            ctl_regquery_field(stdout, "Vehicles", "none");
        any = true;
    }
    if (p->last_medical_self_pay_fen) {
        ctl_regquery_field(stdout, "Hospital self-pay", "%s yuan (the last stay)",
                           ctl_fen_yuan(p->last_medical_self_pay_fen, yuan));
        any = true;
    }
    if (!any)
        printf("  nothing yet\n");
}

int ctl_person_main(int argc, char **argv)
{
    ctl_set_command("doudictl person");
    ctl_regquery_options o;
    int first;
    bool done;
    int rc = ctl_regquery_parse(argc, argv, person_help, &o, &first, &done);
    if (rc != CTL_EXIT_OK || done)
        return rc;
    if (first == argc)
        return ctl_usage("whose? give a resident identity number");
    if (argc - first > 1)
        return ctl_usage("unexpected argument '%s'", argv[first + 1]);
    char id[19];
    if ((rc = ctl_regquery_person_operand(argv[first], id)) != CTL_EXIT_OK)
        return rc;

    Doudi__QueryRequest req = DOUDI__QUERY_REQUEST__INIT;
    req.query_case = DOUDI__QUERY_REQUEST__QUERY_PERSON_ID;
    req.person_id = id;
    Doudi__QueryReply *reply;
    if ((rc = ctl_regquery_call(&o, &req, &reply)) != CTL_EXIT_OK)
        return rc;
    if (reply->n_persons != 1 || strcmp(reply->persons[0]->report->person_id, id) != 0) {
        if (reply->n_persons == 1)
            ctl_warn("doudi-eligibility answered the query for %s with %s", id,
                     reply->persons[0]->report->person_id);
        else
            ctl_warn("doudi-eligibility answered the query for %s with %zu persons", id,
                     reply->n_persons);
        doudi__query_reply__free_unpacked(reply, NULL);
        return CTL_EXIT_USAGE;
    }
    if (!o.json) {
        const Doudi__StoredPerson *p = reply->persons[0];
        print_entry(p, reply->household, ctl_regquery_today());
        print_enrolments(p);
        print_applications(p);
        print_verified(p);
        printf("\nPrograms\n");
        if (p->report->died_at_ms &&
            ctl_regquery_decided_before(reply->decisions, reply->n_decisions, id,
                                        p->report->died_at_ms)) {
            char when[32];
            printf("  The person died on %s; decisions made before then are shown\n"
                   "  as they were made.\n",
                   ctl_format_time_ms(p->report->died_at_ms, when));
        }
        ctl_regquery_print_programs(stdout, "  ", p, id, reply->decisions, reply->n_decisions);
    }
    doudi__query_reply__free_unpacked(reply, NULL);
    return CTL_EXIT_OK;
}
