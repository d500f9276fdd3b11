/*
 * main.c: doudi-eligibility's entry point. Options, configuration, the loop
 * and signals are common/daemon.c's; the work lives in eligibility.c,
 * engine.c and the rules.
 */
#include "daemon.h"
#include "eligibility.h"
#include "settings.h"

static const char help[] =
"NAME\n"
"    doudi-eligibility - keep the registry and decide every program of the safety net\n"
"\n"
"SYNOPSIS\n"
"    doudi-eligibility [-c FILE] [-t] [-h] [-V]\n"
"\n"
"DESCRIPTION\n"
"    Consumes doudi-intake's log in order. For each fetched batch, one LMDB write\n"
"    transaction applies the registry changes (persons, households, department\n"
"    findings, applications, enrolments), re-decides every program for every\n"
"    member of each household that changed (低保, 特困, 低保边缘, 刚性支出困难,\n"
"    高龄津贴, the two disability subsidies; 临时救助 where an emergency happened),\n"
"    appends what changed to its own log, and stores its cursor: exactly once\n"
"    across kill -9. Its log carries decisions, care-category and visit-tier\n"
"    changes, alerts (discovery, review, risk, quick aid overdue, missing\n"
"    information, dangling references) and, passed on unchanged, visit reports,\n"
"    roster changes and alert acknowledgements for the scheduler.\n"
"\n"
"    Time is event time: a replay of the same intake log produces the same\n"
"    registry, decisions and output. Queries: doudictl person, household, explain.\n"
"\n"
"    With [auth] key_file set, the daemon's endpoints are CURVE servers that let\n"
"    in the readers (-) and operators (*) of [auth] clients_file (read again on\n"
"    SIGHUP); with [auth] upstream_key_file set, the upstream's log is fetched\n"
"    over CURVE with this daemon's key pair. Make keys with `doudictl keygen`.\n"
"\n"
"OPTIONS\n"
"    -c, --config FILE   read the INI configuration FILE\n"
"    -t, --test-config   check the configuration, print the effective values, exit\n"
"    -h, --help          print this help and exit\n"
"    -V, --version       print the version and exit\n"
"\n"
"SIGNALS\n"
"    SIGTERM, SIGINT  finish the batch in progress, exit 0\n"
"    SIGHUP           reload the configuration (standards table, log level, retention)\n"
"\n"
"EXIT STATUS\n"
"    0 after a clean stop; 1 configuration error; 2 usage error; 3 start-up failed.\n"
"\n"
"CONFIGURATION KEYS\n";

DD_DAEMON_MAIN("doudi-eligibility", help, elig_settings, ELIG_SETTING_COUNT, elig_daemon,
               elig_daemon_new, elig_daemon_reload,
               elig_daemon_stop, elig_daemon_destroy, elig_daemon_check_config)
