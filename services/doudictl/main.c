/*
 * main.c: doudictl, how people and scripts talk to a running doudi.
 *
 * Only dispatch lives here; each subcommand is a file of its own with its
 * manual as its --help text, and the pieces they share (zreq.c for ZeroMQ
 * request/reply, ctl.c for exit statuses and option values, names.c for
 * enum names) are modules of their own.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "deadletter.h"
#include "alerts.h"
#include "explain.h"
#include "caseload.h"
#include "household.h"
#include "keygen.h"
#include "logtail.h"
#include "person.h"
#include "publish.h"
#include "stats.h"
#include "plan.h"
#include "visits.h"
#include "worker.h"

static const char main_help[] =
    "NAME\n"
    "    doudictl - talk to a running doudi: publish events, read logs, handle\n"
    "    dead letters, show metrics, look up people and households and explain\n"
    "    their eligibility\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl COMMAND [OPTIONS] [ARGUMENTS]\n"
    "    doudictl help COMMAND [SUBCOMMAND]\n"
    "    doudictl --help\n"
    "\n"
    "DESCRIPTION\n"
    "    doudictl speaks the wire contract of proto/doudi/*.proto over ZeroMQ\n"
    "    (a DEALER to each daemon's ROUTER endpoint, one frame each way) and\n"
    "    reads metrics over HTTP. Results go to standard output, as JSON lines\n"
    "    wherever a script may want them; messages for people go to standard\n"
    "    error. The default endpoints are those of a doudi-intake started without\n"
    "    a configuration file: publish tcp://127.0.0.1:7101, log\n"
    "    tcp://127.0.0.1:7102, admin tcp://127.0.0.1:7103, metrics\n"
    "    http://127.0.0.1:9101/metrics; person, household and explain ask\n"
    "    doudi-eligibility's query endpoint, tcp://127.0.0.1:7203 by default.\n"
    "\n"
    "COMMANDS\n"
    "    publish [FILE...]     Send JSON Lines events to doudi-intake and report\n"
    "                          what became of each.\n"
    "    deadletter list       Show the events intake refused and kept.\n"
    "    deadletter replay     Have intake judge dead letters again.\n"
    "    log tail              Print a daemon's log records as JSON lines.\n"
    "    stats                 Show a daemon's metrics.\n"
    "    person ID             Show a person's registry entry, care classification\n"
    "                          and program decisions.\n"
    "    household ID          Show a household and each member's decisions.\n"
    "    explain ID PROGRAM    Say why a person is or is not eligible for a\n"
    "                          program: the rule, its trace and its numbers.\n"
    "    caseload [REGION]     Persons each program counts in a region, and\n"
    "                          the monthly amounts (doudi-eligibility).\n"
    "    alerts tail|list|ack|silence|rate  Follow a region's alerts live (gaps\n"
    "                          filled by replay), list them, acknowledge one\n"
    "                          through intake, silence a region, show handling\n"
    "                          timeliness (doudi-alerts, tcp://127.0.0.1:7402).\n"
    "    visits rate REGION [MONTH]  The monthly visit rate of a region's\n"
    "                          children (doudi-scheduler, tcp://127.0.0.1:7303).\n"
    "    visits due REGION     The visits due in a region today, or overdue.\n"
    "    plan ID               A person's care-visit plan.\n"
    "    worker ID             A community worker's visits for today, in order.\n"
    "    keygen FILE           Make a CURVE key pair for a daemon or a client.\n"
    "\n"
    "    `doudictl COMMAND --help` (or `doudictl help COMMAND`) prints the\n"
    "    manual of a command, with its options and their defaults.\n"
    "\n"
    "OPTIONS\n"
    "    -h, --help\n"
    "        Print this manual and exit.\n"
    "\n"
    "ENVIRONMENT\n"
    "    DOUDI_CURVE_KEY, DOUDI_CURVE_SERVER_KEY\n"
    "        When both are set, every request goes out over CURVE: the first\n"
    "        names this client's key pair, the second the daemon's public key\n"
    "        (files of doudictl keygen). A daemon that refuses the key is named\n"
    "        on standard error (see doudictl keygen --help).\n"
    "\n"
    "EXIT STATUS\n"
    "    Every command uses the same four values:\n"
    "    0   done\n"
    "    1   done, but the system refused part of it (a rejected event, a dead\n"
    "        letter rejected again, a log that cannot be read from there), or\n"
    "        what was asked for is not there (a person, household or decision\n"
    "        eligibility does not hold)\n"
    "    2   usage error, I/O error, or a reply that breaks the protocol\n"
    "    3   gave up waiting for an answer\n"
    "\n"
    "EXAMPLES\n"
    "    doudictl publish deploy/sample-events.jsonl\n"
    "    doudictl deadletter list\n"
    "    doudictl log tail --from -10 --follow\n"
    "    doudictl stats\n"
    "    doudictl person 440101193803120223\n"
    "    doudictl explain 440101193803120223 dibao\n"
    "    doudictl help deadletter replay\n";

#define COMMAND_LIST "publish, deadletter, log, stats, person, household, explain, caseload, alerts, visits, plan, worker, keygen"

typedef int (*command_fn)(int argc, char **argv);

static const struct command {
    const char *name;
    command_fn run;
} commands[] = {
    { "publish", ctl_publish_main },
    { "deadletter", ctl_deadletter_main },
    { "log", ctl_log_main },
    { "stats", ctl_stats_main },
    { "person", ctl_person_main },
    { "household", ctl_household_main },
    { "explain", ctl_explain_main },
    { "caseload", ctl_caseload_main },
    { "alerts", ctl_alerts_main },
    { "visits", ctl_visits_main },
    { "plan", ctl_plan_main },
    { "worker", ctl_worker_main },
    { "keygen", ctl_keygen_main },
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return ctl_usage("which command? (" COMMAND_LIST ")");
    const char *word = argv[1];
    if (strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0) {
        fputs(main_help, stdout);
        return CTL_EXIT_OK;
    }
    if (strcmp(word, "help") == 0) {
        if (argc < 3) {
            fputs(main_help, stdout);
            return CTL_EXIT_OK;
        }
        /* "help deadletter list" -> "deadletter list --help" */
        const struct command *c = find_command(argv[2]);
        if (!c)
            return ctl_usage("unknown command '%s'", argv[2]);
        char *args[4] = { argv[2], argc > 3 ? argv[3] : "--help", "--help", NULL };
        return c->run(argc > 3 ? 3 : 2, args);
    }
    const struct command *c = find_command(word);
    if (!c)
        return ctl_usage("unknown command '%s' (" COMMAND_LIST ")", word);
    return c->run(argc - 1, argv + 1);
}
