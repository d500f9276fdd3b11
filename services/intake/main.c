/*
 * main.c: doudi-intake's entry point: options, -t, set-up, the loop,
 * tear-down. Everything else lives in intake.c and the modules it uses.
 */
#include "config.h"
#include "diag.h"
#include "error.h"
#include "intake.h"
#include "settings.h"

#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRAM "doudi-intake"

static void usage(FILE *out)
{
    fprintf(out,
"NAME\n"
"    doudi-intake - take in the events upstream portals publish, durably and once\n"
"\n"
"SYNOPSIS\n"
"    doudi-intake [-c FILE] [-t] [-h] [-V]\n"
"\n"
"DESCRIPTION\n"
"    Portals connect a ZeroMQ DEALER (or REQ) socket to the publish endpoint and\n"
"    send doudi.PublishRequest messages (proto/doudi/publish.proto) of up to\n"
"    max_events_per_request encoded doudi.Envelope events. Each event is decoded\n"
"    and validated on its own; accepted events are appended to intake's log and\n"
"    committed with fsync before the reply leaves, so an acknowledged event is\n"
"    never lost. Requests that arrive in the same loop pass share one commit.\n"
"    The reply has one status per event: ACCEPTED with its log sequence,\n"
"    DUPLICATE with the original sequence (same source and event_id within\n"
"    dedup_retention), or REJECTED with a reason code and text; refused events\n"
"    are kept in a dead-letter store (doudictl deadletter list|replay).\n"
"\n"
"    Downstream daemons pull the log from the log endpoint (log.proto). Metrics\n"
"    are served in the Prometheus text format at http://METRICS_LISTEN/metrics.\n"
"\n"
"    With no configuration file every key has its default (below), so\n"
"    `doudi-intake` alone runs a working intake in ./doudi-data/intake.\n"
"\n"
"OPTIONS\n"
"    -c, --config FILE   read the INI configuration FILE\n"
"    -t, --test-config   check the configuration, print the effective values and\n"
"                        exit (0 when valid, 1 otherwise)\n"
"    -h, --help          print this help and exit\n"
"    -V, --version       print the version and exit\n"
"\n"
"SIGNALS\n"
"    SIGTERM, SIGINT  answer the requests already received, commit, exit 0\n"
"    SIGHUP           reload the configuration file; keys marked reloadable\n"
"                     take effect at once (the others need a restart)\n"
"\n"
"EXIT STATUS\n"
"    0 after a clean stop; 1 for a configuration error; 2 for a usage error;\n"
"    3 when start-up fails (data directory, LMDB, an endpoint in use).\n"
"\n"
"CONFIGURATION KEYS\n");
    dd_config_print_reference(intake_settings, INTAKE_SETTING_COUNT, out);
}

typedef struct signals {
    ev_signal term, intr, hup;
    intake *in;
    const char *config_path;
} signals;

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    signals *s = w->data;
    dd_info("signal %d: finishing the current batch and stopping", w->signum);
    intake_stop(s->in);
}

static void on_reload(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    signals *s = w->data;
    dd_config *config = NULL;
    char *err = NULL;
    int rc = dd_config_load(intake_settings, INTAKE_SETTING_COUNT, s->config_path, &config, &err);
    if (rc) {
        dd_error("SIGHUP: configuration not reloaded: %s", err ? err : dd_strerror(rc));
        free(err);
        return;
    }
    if (intake_reload(s->in, config) != 0)
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
    int rc = dd_config_load(intake_settings, INTAKE_SETTING_COUNT, config_path, &config, &err);
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

    /* A portal that vanishes mid-send must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    intake *in = NULL;
    if (intake_new(loop, config, &in) != 0)
        return 3;

    signals s = {.in = in, .config_path = config_path};
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
    intake_destroy(&in);
    dd_info("stopped");
    return 0;
}
