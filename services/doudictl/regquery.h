/*
 * regquery.h: what `doudictl person`, `household` and `explain` share: their
 * options, the registry query to doudi-eligibility (query.proto), and the
 * pieces of output they print alike.
 *
 * A query only reads committed state, so one not answered within the
 * timeout is sent again on a new connection (zreq.h) until --max-wait-s.
 * The reply is checked before anything is printed: a person without its
 * report, a person query answered with another person, or a household query
 * answered without the household break the protocol (exit status 2).
 */
#ifndef CTL_REGQUERY_H
#define CTL_REGQUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "doudi/query.pb-c.h"

/* doudi-eligibility's query endpoint when started without a configuration file. */
#define CTL_REGQUERY_ENDPOINT "tcp://127.0.0.1:7203"

/* The options text of person, household and explain that follows their
 * own: the waiting options and -h, with the blank line after them. */
#define CTL_REGQUERY_WAIT_OPTIONS_HELP                                                    \
    "    -t, --timeout-ms MS\n"                                                           \
    "        Send the query again when unanswered for MS milliseconds.\n"                 \
    "        Default: 5000.\n"                                                            \
    "\n"                                                                                  \
    "    --max-wait-s S\n"                                                                \
    "        Give up (exit status 3) when still unanswered after S seconds; 0\n"          \
    "        waits for ever. Default: 30.\n"                                              \
    "\n"                                                                                  \
    "    --max-message-bytes BYTES\n"                                                     \
    "        The largest reply accepted (suffixes K, M, G). Default: 64M.\n"              \
    "\n"                                                                                  \
    "    -h, --help\n"                                                                    \
    "        Print this manual and exit.\n"                                               \
    "\n"

typedef struct ctl_regquery_options {
    const char *endpoint;
    uint64_t timeout_ms;
    uint64_t max_wait_s;
    uint64_t max_message_bytes;
    bool json;
} ctl_regquery_options;

/*
 * Parses the options the three commands take alike (-e, --json, -t,
 * --max-wait-s, --max-message-bytes, -h) from argv (argv[0] is the
 * command's name), leaving the operands in argv[*first..argc-1]. With -h,
 * prints help and sets *done. Returns CTL_EXIT_OK or a usage status
 * (already reported).
 */
int ctl_regquery_parse(int argc, char **argv, const char *help, ctl_regquery_options *o,
                       int *first, bool *done);

/*
 * Reads a person's identity number operand (see ctl_person_id_read),
 * reporting a usage error. Returns CTL_EXIT_OK or CTL_EXIT_USAGE.
 */
int ctl_regquery_person_operand(const char *text, char out[19]);

/*
 * Sends req (its request_id is set here) and waits for the QueryReply with
 * the same id. With o->json the reply is printed as one line of canonical
 * proto3 JSON, whatever it says. Returns CTL_EXIT_OK with *out set (free it
 * with doudi__query_reply__free_unpacked); CTL_EXIT_FAILED when the reply
 * carries an error_text (printed on stderr; nothing is returned);
 * CTL_EXIT_USAGE for an endpoint that cannot be used, a reply that breaks
 * the protocol or an I/O error; CTL_EXIT_GAVE_UP when no answer came.
 */
int ctl_regquery_call(const ctl_regquery_options *o, Doudi__QueryRequest *req,
                      Doudi__QueryReply **out);

/* Today's date in Asia/Shanghai, YYYYMMDD, from the wall clock. */
int32_t ctl_regquery_today(void);

/*
 * The person's sex and birth as read from their identity number, e.g.
 * "female, born 1938-03-12, 87 years old", or for someone who died
 * "male, born 1944-01-15, died 2026-02-01 aged 82"; "sex and birth date
 * unknown" when the number does not read. Returns out.
 */
const char *ctl_regquery_birth_text(const char *person_id, int64_t died_at_ms, int32_t today,
                                    char *out, size_t outlen);

/* The decision about person_id and program among decisions[0..n-1], or NULL. */
const Doudi__Decision *ctl_regquery_decision(Doudi__Decision *const *decisions, size_t n,
                                             const char *person_id, int program);

/* Whether a decision about person_id among decisions[0..n-1] was made before unix_ms. */
bool ctl_regquery_decided_before(Doudi__Decision *const *decisions, size_t n,
                                 const char *person_id, int64_t unix_ms);

/* The person's stored enrolment in program, or NULL. */
const Doudi__StoredEnrolment *ctl_regquery_enrolment(const Doudi__StoredPerson *p, int program);

/*
 * The table of programs for one person: a header, then one row per program
 * in enum order with its Chinese name, eligible yes/no, enrolled yes/no, the
 * amount in yuan and the rule; "-" where there is no decision. Enrolment is
 * the person's stored enrolment (the assistance system's word), or the
 * decision's when the person's record is not at hand (p NULL). Each line
 * starts with indent.
 */
void ctl_regquery_print_programs(FILE *out, const char *indent, const Doudi__StoredPerson *p,
                                 const char *person_id, Doudi__Decision *const *decisions,
                                 size_t n);

/* The width text is wrapped to (ctl_put_wrapped). */
#define CTL_REGQUERY_WIDTH 80

/*
 * Prints "  label" padded to the value column, then the value as printf
 * would (up to 1023 bytes), wrapped to CTL_REGQUERY_WIDTH with continuation
 * lines starting at the value column, then a newline. The column is the
 * same for every caller so that all three commands line up alike.
 */
void ctl_regquery_field(FILE *out, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
