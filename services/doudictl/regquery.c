/* regquery.c: the registry query and the output its three commands share (see regquery.h). */
#include "regquery.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "clock.h"
#include "ctl.h"
#include "error.h"
#include "format.h"
#include "idnum.h"
#include "query.h"

/* Where values start in "  Label   value" lines. */
#define FIELD_COLUMN 22

int ctl_regquery_parse(int argc, char **argv, const char *help, ctl_regquery_options *o,
                       int *first, bool *done)
{
    enum { OPT_JSON = 256, OPT_MAX_WAIT, OPT_MAX_MSG };
    static const struct option longopts[] = {
        { "endpoint", required_argument, NULL, 'e' },
        { "json", no_argument, NULL, OPT_JSON },
        { "timeout-ms", required_argument, NULL, 't' },
        { "max-wait-s", required_argument, NULL, OPT_MAX_WAIT },
        { "max-message-bytes", required_argument, NULL, OPT_MAX_MSG },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    *o = (ctl_regquery_options){
        .endpoint = CTL_REGQUERY_ENDPOINT,
        .timeout_ms = 5000,
        .max_wait_s = 30,
        .max_message_bytes = 64 * 1024 * 1024,
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
        case OPT_MAX_MSG:
            rc = ctl_option_bytes("--max-message-bytes", optarg, 1024, INT64_MAX,
                                  &o->max_message_bytes);
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

int ctl_regquery_person_operand(const char *text, char out[19])
{
    bool upgraded;
    const char *why;
    if (ctl_person_id_read(text, ctl_regquery_today(), out, &upgraded, &why) != 0)
        return ctl_usage("'%s' is not a resident identity number: %s", text, why);
    if (upgraded)
        ctl_warn("%s is the old 15-digit form of %s", text, out);
    return CTL_EXIT_OK;
}

/* Whether every record the reply holds has the parts the commands print. */
static bool reply_well_formed(const Doudi__QueryReply *r)
{
    if (r->household && !r->household->report) {
        ctl_warn("doudi-eligibility sent a household without its report");
        return false;
    }
    for (size_t i = 0; i < r->n_persons; i++) {
        if (!r->persons[i]->report) {
            ctl_warn("doudi-eligibility sent a person without their report");
            return false;
        }
    }
    return true;
}

int ctl_regquery_call(const ctl_regquery_options *o, Doudi__QueryRequest *req,
                      Doudi__QueryReply **out)
{
    ctl_query_target t = { .daemon = "doudi-eligibility",
                           .endpoint = o->endpoint,
                           .max_message_bytes = (int64_t)o->max_message_bytes,
                           .timeout_ms = (int64_t)o->timeout_ms,
                           .max_wait_ms = (int64_t)o->max_wait_s * 1000,
                           .json = o->json };
    ProtobufCMessage *reply;
    int rc = ctl_query_ask(&t, &req->base, &doudi__query_reply__descriptor, &reply);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (!reply_well_formed((Doudi__QueryReply *)reply)) {
        protobuf_c_message_free_unpacked(reply, NULL);
        return CTL_EXIT_USAGE;
    }
    *out = (Doudi__QueryReply *)reply;
    return CTL_EXIT_OK;
}

int32_t ctl_regquery_today(void)
{
    return dd_date_yyyymmdd_shanghai(dd_wall_ms());
}

const char *ctl_regquery_birth_text(const char *person_id, int64_t died_at_ms, int32_t today,
                                    char *out, size_t outlen)
{
    dd_idnum_info info;
    dd_idnum_status st = dd_idnum_check(person_id, strlen(person_id), today, &info);
    if (st != DD_IDNUM_OK) {
        snprintf(out, outlen, "sex and birth date unknown (%s)", dd_idnum_status_text(st));
        return out;
    }
    char born[16], died[16];
    int32_t birth = info.birth_year * 10000 + info.birth_month * 100 + info.birth_day;
    ctl_format_date(birth, born);
    const char *sex = info.male ? "male" : "female";
    if (died_at_ms) {
        int32_t day = dd_date_yyyymmdd_shanghai(died_at_ms);
        int age = dd_age_years(info.birth_year, info.birth_month, info.birth_day, day);
        snprintf(out, outlen, "%s, born %s, died %s aged %d", sex, born,
                 ctl_format_date(day, died), age);
    } else {
        int age = dd_age_years(info.birth_year, info.birth_month, info.birth_day, today);
        snprintf(out, outlen, "%s, born %s, %d year%s old", sex, born, age,
                 age == 1 ? "" : "s");
    }
    return out;
}

const Doudi__Decision *ctl_regquery_decision(Doudi__Decision *const *decisions, size_t n,
                                             const char *person_id, int program)
{
    for (size_t i = 0; i < n; i++)
        if ((int)decisions[i]->program == program &&
            strcmp(decisions[i]->person_id, person_id) == 0)
            return decisions[i];
    return NULL;
}

bool ctl_regquery_decided_before(Doudi__Decision *const *decisions, size_t n,
                                 const char *person_id, int64_t unix_ms)
{
    for (size_t i = 0; i < n; i++)
        if (decisions[i]->decided_at_ms < unix_ms &&
            strcmp(decisions[i]->person_id, person_id) == 0)
            return true;
    return false;
}

const Doudi__StoredEnrolment *ctl_regquery_enrolment(const Doudi__StoredPerson *p, int program)
{
    for (size_t i = 0; i < p->n_enrolments; i++)
        if ((int)p->enrolments[i]->program == program)
            return p->enrolments[i];
    return NULL;
}

static void program_row(FILE *out, const char *indent, const char *name, const char *chinese,
                        const Doudi__StoredPerson *p, const Doudi__Decision *d, int program)
{
    char yuan[CTL_YUAN_MAX];
    const char *enrolled = "-";
    if (p) {
        const Doudi__StoredEnrolment *en = ctl_regquery_enrolment(p, program);
        enrolled = en && en->enrolled ? "yes" : "no";
    } else if (d) {
        enrolled = d->enrolled ? "yes" : "no";
    }
    fputs(indent, out);
    ctl_put_padded(out, name, 12);
    ctl_put_padded(out, chinese, 20);
    ctl_put_padded(out, d ? (d->eligible ? "yes" : "no") : "-", 10);
    ctl_put_padded(out, enrolled, 10);
    fprintf(out, "%13s  %s\n", d ? ctl_fen_yuan(d->amount_fen, yuan) : "-",
            d && d->rule[0] ? d->rule : "-");
}

void ctl_regquery_print_programs(FILE *out, const char *indent, const Doudi__StoredPerson *p,
                                 const char *person_id, Doudi__Decision *const *decisions,
                                 size_t n)
{
    size_t np;
    const ctl_program *programs = ctl_programs(&np);
    fprintf(out, "%s%-12s", indent, "PROGRAM");
    ctl_put_padded(out, "NAME", 20);
    fprintf(out, "%-10s%-10s%13s  %s\n", "ELIGIBLE", "ENROLLED", "AMOUNT (YUAN)", "RULE");
    for (size_t i = 0; i < np; i++)
        program_row(out, indent, programs[i].name, programs[i].chinese, p,
                    ctl_regquery_decision(decisions, n, person_id, programs[i].value),
                    programs[i].value);
    /* Programs a newer daemon decides that this build does not know, by number. */
    for (size_t i = 0; i < n; i++) {
        const Doudi__Decision *d = decisions[i];
        if (strcmp(d->person_id, person_id) != 0 || ctl_program_find((int)d->program))
            continue;
        char number[16];
        snprintf(number, sizeof(number), "%d", (int)d->program);
        program_row(out, indent, number, "", p, d, (int)d->program);
    }
}

void ctl_regquery_field(FILE *out, const char *label, const char *fmt, ...)
{
    va_list ap;
    char value[1024];
    fputs("  ", out);
    ctl_put_padded(out, label, FIELD_COLUMN - 2);
    size_t column = FIELD_COLUMN;
    if (ctl_display_width(label) >= FIELD_COLUMN - 2) {
        fputc(' ', out);
        column = 2 + ctl_display_width(label) + 1;
    }
    va_start(ap, fmt);
    vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    ctl_put_wrapped(out, value, column, FIELD_COLUMN, CTL_REGQUERY_WIDTH);
    fputc('\n', out);
}
