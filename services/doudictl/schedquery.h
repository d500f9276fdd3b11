/*
 * schedquery.h: what `doudictl visits`, `plan` and `worker` share: their
 * options and the query to doudi-scheduler (SchedulerQueryRequest,
 * scheduler.proto).
 *
 * A query only reads committed state, so one not answered within the
 * timeout is sent again on a new connection (zreq.h) until --max-wait-s.
 */
#ifndef CTL_SCHEDQUERY_H
#define CTL_SCHEDQUERY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "doudi/scheduler.pb-c.h"

/* doudi-scheduler's query endpoint when started without a configuration file. */
#define CTL_SCHEDQUERY_ENDPOINT "tcp://127.0.0.1:7303"

/* The options text every scheduler command's manual includes. */
#define CTL_SCHEDQUERY_OPTIONS_HELP                                                       \
    "OPTIONS\n"                                                                          \
    "    -e, --endpoint ENDPOINT\n"                                                       \
    "        doudi-scheduler's query endpoint (default " CTL_SCHEDQUERY_ENDPOINT ").\n"   \
    "    --json\n"                                                                        \
    "        Print the reply as one line of canonical proto3 JSON\n"                      \
    "        (SchedulerQueryReply) instead of the table.\n"                               \
    "    -t, --timeout-ms MS\n"                                                           \
    "        Wait this long for an answer before asking again on a new\n"                 \
    "        connection (default 5000).\n"                                                \
    "    --max-wait-s S\n"                                                                \
    "        Give up after this many seconds without an answer (default 30).\n"           \
    "    -h, --help\n"                                                                    \
    "        Print this manual and exit.\n"                                               \
    "\n"                                                                                  \
    "EXIT STATUS\n"                                                                       \
    "    0 answered; 1 the scheduler does not hold what was asked for (its\n"             \
    "    reason on stderr); 2 usage error or a reply that breaks the protocol;\n"         \
    "    3 no answer within --max-wait-s.\n"

typedef struct ctl_schedquery_options {
    const char *endpoint;
    uint64_t timeout_ms;
    uint64_t max_wait_s;
    bool json;
} ctl_schedquery_options;

/*
 * Parses -e, --json, -t, --max-wait-s and -h from argv (argv[0] is the
 * command's name), leaving the operands in argv[*first..argc-1]. With -h,
 * prints help and sets *done. Returns CTL_EXIT_OK or a usage status.
 */
int ctl_schedquery_parse(int argc, char **argv, const char *help, ctl_schedquery_options *o,
                         int *first, bool *done);

/*
 * Sends req (its request_id is set here) and waits for the reply with the
 * same id; with o->json prints it as JSON. Returns CTL_EXIT_OK with *out
 * set (free with doudi__scheduler_query_reply__free_unpacked),
 * CTL_EXIT_FAILED when the reply carries an error_text (printed),
 * CTL_EXIT_USAGE or CTL_EXIT_GAVE_UP.
 */
int ctl_schedquery_call(const ctl_schedquery_options *o, Doudi__SchedulerQueryRequest *req,
                        Doudi__SchedulerQueryReply **out);

/* "high-risk", "key", "general" or "none". */
const char *ctl_tier_text(int tier);

/* A rate as "97.5%" (or "-" when nobody is due) into out (16 bytes). */
const char *ctl_rate_text(int64_t visited, int64_t due, char out[16]);

/*
 * One line per plan: due time, person, tier, region, worker, state
 * (overdue, urgent). Prints a header first.
 */
void ctl_print_plan_rows(FILE *out, Doudi__VisitPlan *const *plans, size_t n, int64_t now_ms);

#endif
