/*
 * explain.c: `doudictl explain`, why doudi-eligibility decided as it did
 * about one person and one program: the rule trace a caseworker can read to
 * the person, with the numbers the rule used.
 */
#include "explain.h"

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

static const char explain_help[] =
    "NAME\n"
    "    doudictl explain - say why a person is or is not eligible for a program\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl explain [-e ENDPOINT] [--json] [-t MS] [--max-wait-s S]\n"
    "                     [--max-message-bytes BYTES] ID PROGRAM\n"
    "\n"
    "DESCRIPTION\n"
    "    Asks doudi-eligibility's query endpoint for its latest decision about\n"
    "    the person whose resident identity number is ID in PROGRAM\n"
    "    (QueryRequest.person_id with QueryRequest.program, query.proto) and\n"
    "    prints it for a caseworker to read to the person:\n"
    "\n"
    "    - the decision: eligible or not, and the amount in yuan (a month; for\n"
    "      TEMP the one-off quick aid), whether the person is enrolled (by the\n"
    "      assistance system's enrolments), and what the outcome was before\n"
    "      when this decision changed it;\n"
    "    - the rule that decided (a stable id such as\n"
    "      dibao.income_below_standard) and the application it assessed, if\n"
    "      any;\n"
    "    - the rule's trace, one numbered sentence a step, in the order the\n"
    "      rule ran;\n"
    "    - the parameters the rule used, name = value; an amount (a name ending\n"
    "      in _fen) is also shown in yuan, a ratio (ending in _permille) as a\n"
    "      percentage, and legal_supporter, care_level, risk_kind and the\n"
    "      rigid_recognized_* dates with their meaning;\n"
    "    - the standard that applied (the row of the standards table,\n"
    "      PREFIX@YYYYMMDD, and the region it applied for), the intake sequence\n"
    "      of the event that caused the decision, and that event's time in\n"
    "      Asia/Shanghai time (UTC+8).\n"
    "\n"
    "    PROGRAM is one of, in any case (a '-' may stand for the '_'), or its\n"
    "    Chinese name, or the enum name such as PROGRAM_DIBAO:\n"
    "      dibao       低保                 minimum living guarantee\n"
    "      tekun       特困                 extreme poverty support\n"
    "      dibian      低保边缘             marginal low-income household\n"
    "      rigid       刚性支出困难         rigid-expenditure hardship\n"
    "      temp        临时救助             temporary assistance\n"
    "      age         高龄津贴             longevity allowance\n"
    "      dis_living  困难残疾人生活补贴   living allowance, disabled in difficulty\n"
    "      dis_care    重度残疾人护理补贴   nursing allowance, severely disabled\n"
    "\n"
    "    ID is read as `doudictl person` reads it. There may be no decision to\n"
    "    explain: eligibility decides no program for a person not reported yet\n"
    "    or whose region has no standard, and TEMP only for an emergency.\n"
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
    "        query.proto (the StoredPerson, their StoredHousehold, and the one\n"
    "        Decision) in the canonical proto3 JSON mapping. A reply that says\n"
    "        the person is unknown is printed too, with its errorText.\n"
    "\n"
    CTL_REGQUERY_WAIT_OPTIONS_HELP
    "EXIT STATUS\n"
    "    0   the decision was explained\n"
    "    1   the person is not in the registry, eligibility has made no\n"
    "        decision about them in PROGRAM, or it refused the query (the\n"
    "        reason is printed)\n"
    "    2   usage error (ID is not a valid identity number, PROGRAM no\n"
    "        program), or a reply that breaks the protocol\n"
    "    3   gave up waiting for an answer\n"
    "\n"
    "EXAMPLES\n"
    "    Why a person does or does not get 低保:\n"
    "        doudictl explain 440101193803120223 dibao\n"
    "\n"
    "    The same, naming the program in Chinese:\n"
    "        doudictl explain 440101193803120223 特困\n"
    "\n"
    "    Just the trace, from the JSON:\n"
    "        doudictl explain 440101193803120223 dis_care --json |\n"
    "            jq -r '.decisions[0].trace[]'\n";

/*
 * The parameters the rules write whose numbers are enum values or dates,
 * shown with their meaning too; any other parameter as ctl_parameter_text
 * writes it (amounts in yuan, ratios as percentages).
 */
static const char *parameter_text(const char *name, int64_t value, char out[96])
{
    static const struct {
        const char *name;
        const ProtobufCEnumDescriptor *desc;
        const char *prefix;
        const char *suffix;
        const char *zero;
    } enums[] = {
        { "legal_supporter", &doudi__legal_supporter__descriptor, "LEGAL_SUPPORTER_", "",
          "not reported" },
        { "care_level", &doudi__care_level__descriptor, "CARE_LEVEL_", " care",
          "not assessed" },
        { "risk_kind", &doudi__risk_kind__descriptor, "RISK_KIND_", "", "not reported" },
    };
    char w[CTL_NAME_MAX];
    for (size_t i = 0; i < sizeof(enums) / sizeof(enums[0]); i++)
        if (strcmp(name, enums[i].name) == 0 && value >= 0 && value <= INT32_MAX) {
            if (value == 0)
                snprintf(out, 96, "%" PRId64 " (%s)", value, enums[i].zero);
            else
                snprintf(out, 96, "%" PRId64 " (%s%s)", value,
                         ctl_enum_words(enums[i].desc, enums[i].prefix, (int)value, w),
                         enums[i].suffix);
            return out;
        }
    if ((strcmp(name, "rigid_recognized_since") == 0 ||
         strcmp(name, "rigid_recognized_until") == 0) &&
        value > 0 && value <= INT32_MAX) {
        char day[16];
        snprintf(out, 96, "%" PRId64 " (%s)", value, ctl_format_date((int32_t)value, day));
        return out;
    }
    return ctl_parameter_text(name, value, out);
}

static void print_decision(const Doudi__Decision *d, const Doudi__StoredPerson *p)
{
    const ctl_program *prog = ctl_program_find((int)d->program);
    const char *per = d->program == DOUDI__PROGRAM__PROGRAM_TEMP ? "one-off" : "a month";
    char yuan[CTL_YUAN_MAX], when[32], value[96];

    printf("Person %s", d->person_id);
    if (d->household_id[0])
        printf(", household %s", d->household_id);
    putchar('\n');
    if (prog)
        ctl_regquery_field(stdout, "Program", "%s %s (%s)", prog->name, prog->chinese,
                           prog->english);
    else
        ctl_regquery_field(stdout, "Program", "%d", (int)d->program);
    if (d->eligible && d->amount_fen == 0)
        ctl_regquery_field(stdout, "Decision", "eligible (no amount is paid)");
    else if (d->eligible)
        ctl_regquery_field(stdout, "Decision", "eligible, %s yuan %s",
                           ctl_fen_yuan(d->amount_fen, yuan), per);
    else if (d->amount_fen)
        ctl_regquery_field(stdout, "Decision", "not eligible (amount %s yuan %s)",
                           ctl_fen_yuan(d->amount_fen, yuan), per);
    else
        ctl_regquery_field(stdout, "Decision", "not eligible");
    const Doudi__StoredEnrolment *en = p ? ctl_regquery_enrolment(p, (int)d->program) : NULL;
    bool enrolled = p ? en && en->enrolled : d->enrolled;
    if (enrolled && en)
        ctl_regquery_field(stdout, "Enrolled", "yes, %s yuan a month since %s",
                           ctl_fen_yuan(en->amount_fen, yuan),
                           ctl_format_time_ms(en->since_ms, when));
    else
        ctl_regquery_field(stdout, "Enrolled", "%s", enrolled ? "yes" : "no");
    /* The previous outcome says what this decision changed; a decision
     * recorded for another reason (a change of enrolment) changed neither. */
    if (d->previous_eligible != d->eligible || d->previous_amount_fen != d->amount_fen) {
        if (d->previous_eligible)
            ctl_regquery_field(stdout, "Changed from", "eligible, %s yuan %s",
                               ctl_fen_yuan(d->previous_amount_fen, yuan), per);
        else
            ctl_regquery_field(stdout, "Changed from", "not eligible");
    }
    ctl_regquery_field(stdout, "Rule", "%s", d->rule[0] ? d->rule : "-");
    if (p && p->report->died_at_ms)
        ctl_regquery_field(stdout, "Note", "the person died on %s%s",
                           ctl_format_time_ms(p->report->died_at_ms, when),
                           d->decided_at_ms < p->report->died_at_ms
                               ? "; this decision was made before"
                               : "");
    if (d->application_id[0])
        ctl_regquery_field(stdout, "Application", "%s", d->application_id);

    printf("\nWhy\n");
    if (d->n_trace == 0)
        printf("  (the rule left no trace)\n");
    int digits = d->n_trace >= 100 ? 3 : d->n_trace >= 10 ? 2 : 1;
    for (size_t i = 0; i < d->n_trace; i++) {
        /* "  12. " then the sentence, continuation lines under its start. */
        size_t column = 2 + (size_t)digits + 2;
        printf("  %*zu. ", digits, i + 1);
        ctl_put_wrapped(stdout, d->trace[i], column, column, CTL_REGQUERY_WIDTH);
        putchar('\n');
    }

    printf("\nParameters\n");
    if (d->n_parameters == 0)
        printf("  none\n");
    size_t width = 0;
    for (size_t i = 0; i < d->n_parameters; i++) {
        size_t l = ctl_display_width(d->parameters[i]->name);
        width = l > width ? l : width;
    }
    for (size_t i = 0; i < d->n_parameters; i++) {
        const Doudi__ParameterValue *pv = d->parameters[i];
        fputs("  ", stdout);
        ctl_put_padded(stdout, pv->name, width);
        printf(" = %s\n", parameter_text(pv->name, pv->value, value));
    }

    putchar('\n');
    if (d->standard_version[0])
        ctl_regquery_field(stdout, "Standard", "%s (for region %s)", d->standard_version,
                           d->region_code[0] ? d->region_code : "-");
    else
        ctl_regquery_field(stdout, "Standard", "none applied (region %s)",
                           d->region_code[0] ? d->region_code : "-");
    ctl_regquery_field(stdout, "Caused by", "intake sequence %" PRIu64, d->caused_by_sequence);
    ctl_regquery_field(stdout, "Decided at", "%s (Asia/Shanghai)",
                       ctl_format_time_ms(d->decided_at_ms, when));
}

int ctl_explain_main(int argc, char **argv)
{
    ctl_set_command("doudictl explain");
    ctl_regquery_options o;
    int first;
    bool done;
    int rc = ctl_regquery_parse(argc, argv, explain_help, &o, &first, &done);
    if (rc != CTL_EXIT_OK || done)
        return rc;
    if (argc - first < 2)
        return ctl_usage(first == argc ? "whose decision? give an identity number and a program"
                                       : "which program? (dibao, tekun, dibian, rigid, temp, "
                                         "age, dis_living, dis_care)");
    if (argc - first > 2)
        return ctl_usage("unexpected argument '%s'", argv[first + 2]);
    char id[19];
    if ((rc = ctl_regquery_person_operand(argv[first], id)) != CTL_EXIT_OK)
        return rc;
    const ctl_program *prog = ctl_program_parse(argv[first + 1]);
    if (!prog)
        return ctl_usage("no program is called '%s' (dibao, tekun, dibian, rigid, temp, age, "
                         "dis_living, dis_care, or the Chinese name)",
                         argv[first + 1]);

    Doudi__QueryRequest req = DOUDI__QUERY_REQUEST__INIT;
    req.query_case = DOUDI__QUERY_REQUEST__QUERY_PERSON_ID;
    req.person_id = id;
    req.program = (Doudi__Program)prog->value;
    Doudi__QueryReply *reply;
    if ((rc = ctl_regquery_call(&o, &req, &reply)) != CTL_EXIT_OK)
        return rc;
    const Doudi__StoredPerson *p = NULL;
    for (size_t i = 0; i < reply->n_persons; i++)
        if (strcmp(reply->persons[i]->report->person_id, id) == 0)
            p = reply->persons[i];
    /* The daemon sends only the program asked for; a daemon that sent more
     * would still be read right. */
    const Doudi__Decision *d =
        ctl_regquery_decision(reply->decisions, reply->n_decisions, id, prog->value);
    int st = CTL_EXIT_OK;
    if (!p) {
        ctl_warn("doudi-eligibility answered the query for %s without the person", id);
        st = CTL_EXIT_USAGE;
    } else if (!d) {
        ctl_warn("doudi-eligibility holds no %s %s decision about %s%s", prog->name,
                 prog->chinese, id,
                 p->placeholder ? " (the person has not been reported yet)" : "");
        st = CTL_EXIT_FAILED;
    } else if (!o.json) {
        print_decision(d, p);
    }
    doudi__query_reply__free_unpacked(reply, NULL);
    return st;
}
