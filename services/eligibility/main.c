/*
 * main.c: doudi-eligibility's entry point: options, -t, set-up, the loop,
 * tear-down. The work lives in eligibility.c, engine.c and the rules.
 */
#include "config.h"
#include "diag.h"
#include "eligibility.h"
#include "error.h"
#include "settings.h"

#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#define PROGRAM "doudi-eligibility"

static void usage(FILE *out)
{
    fprintf(out,
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
"CONFIGURATION KEYS\n");
    dd_config_print_reference(elig_settings, ELIG_SETTING_COUNT, out);
}

typedef struct signals {
    ev_signal term, intr, hup;
    elig_daemon *daemon;
    const char *config_path;
} signals;

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    signals *s = w->data;
    dd_info("signal %d: stopping", w->signum);
    elig_daemon_stop(s->daemon);
}

static void on_reload(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    signals *s = w->data;
    dd_config *config = NULL;
    char *err = NULL;
    int rc = dd_config_load(elig_settings, ELIG_SETTING_COUNT, s->config_path, &config, &err);
    if (rc) {
        dd_error("SIGHUP: configuration not reloaded: %s", err ? err : dd_strerror(rc));
        free(err);
        return;
    }
    if (elig_daemon_reload(s->daemon, config) != 0)
        dd_config_destroy(&config);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"test-config", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL;
    int test_only = 0, opt;
    while ((opt = getopt_long(argc, argv, "c:thV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 't': test_only = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("%s %s\n", PROGRAM, DOUDI_VERSION); return 0;
        default:
            fprintf(stderr, "Try '%s --help'.\n", PROGRAM);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\nTry '%s --help'.\n", PROGRAM, argv[optind],
                PROGRAM);
        return 2;
    }
    dd_diag_init(PROGRAM, DD_INFO);
    dd_config *config = NULL;
    char *err = NULL;
    int rc = dd_config_load(elig_settings, ELIG_SETTING_COUNT, config_path, &config, &err);
    if (rc) {
        fprintf(stderr, "%s: %s\n", PROGRAM, err ? err : dd_strerror(rc));
        free(err);
        return 1;
    }
    if (test_only) {
        dd_config_print(config, stdout);
        fprintf(stderr, "%s: configuration %s is valid\n", PROGRAM,
                config_path ? config_path : "(embedded defaults)");
        dd_config_destroy(&config);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    elig_daemon *d = NULL;
    if (elig_daemon_new(loop, config, &d) != 0)
        return 3;
    signals s = {.daemon = d, .config_path = config_path};
    ev_signal_init(&s.term, on_stop, SIGTERM);
    ev_signal_init(&s.intr, on_stop, SIGINT);
    ev_signal_init(&s.hup, on_reload, SIGHUP);
    s.term.data = s.intr.data = s.hup.data = &s;
    ev_signal_start(loop, &s.term);
    ev_signal_start(loop, &s.intr);
    ev_signal_start(loop, &s.hup);
    ev_run(loop, 0);
    ev_signal_stop(loop, &s.term);
    ev_signal_stop(loop, &s.intr);
    ev_signal_stop(loop, &s.hup);
    elig_daemon_destroy(&d);
    dd_info("stopped");
    return 0;
}
