/*
 * daemon.c: options, configuration, loop and signals shared by every doudi
 * daemon (see daemon.h).
 */
#include "daemon.h"
#include "zauth.h"

#include "alloc.h"
#include "diag.h"
#include "error.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>

typedef struct running {
    const dd_daemon_spec *spec;
    void *daemon;
    const char *config_path;
    ev_signal term, intr, hup;
} running;

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    running *r = w->data;
    dd_info("signal %d: finishing the batch in progress and stopping", w->signum);
    r->spec->stop(r->daemon);
}

static void on_reload(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    running *r = w->data;
    dd_config *config = NULL;
    char *err = NULL;
    int rc = dd_config_load(r->spec->settings, r->spec->nsettings, r->config_path, &config, &err);
    if (rc) {
        dd_error("SIGHUP: configuration not reloaded: %s", err ? err : dd_strerror(rc));
        free(err);
        return;
    }
    if (r->spec->reload(r->daemon, config) != 0)
        dd_config_destroy(&config);
}

int dd_daemon_main(const dd_daemon_spec *spec, int argc, char **argv)
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
        case 'h':
            fputs(spec->help, stdout);
            dd_config_print_reference(spec->settings, spec->nsettings, stdout);
            return 0;
        case 'V': printf("%s %s\n", spec->program, DOUDI_VERSION); return 0;
        default:
            fprintf(stderr, "Try '%s --help'.\n", spec->program);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\nTry '%s --help'.\n", spec->program,
                argv[optind], spec->program);
        return 2;
    }

    dd_diag_init(spec->program, DD_INFO);
    dd_keep_freed_memory();
    dd_config *config = NULL;
    char *err = NULL;
    int rc = dd_config_load(spec->settings, spec->nsettings, config_path, &config, &err);
    if (rc) {
        fprintf(stderr, "%s: %s\n", spec->program, err ? err : dd_strerror(rc));
        free(err);
        return 1;
    }
    if (test_only) {
        /* The files the configuration names must read too, as at start-up. */
        if ((rc = dd_zauth_check_config(config, spec->settings, spec->nsettings, &err)) != 0) {
            fprintf(stderr, "%s: %s\n", spec->program, err ? err : dd_strerror(rc));
            free(err);
            dd_config_destroy(&config);
            return 1;
        }
        if (spec->check && spec->check(config) != 0) {
            dd_config_destroy(&config);
            return 1;
        }
        dd_config_print(config, stdout);
        fprintf(stderr, "%s: configuration %s is valid\n", spec->program,
                config_path ? config_path : "(embedded defaults)");
        dd_config_destroy(&config);
        return 0;
    }

    /* A peer that vanishes mid-send must not kill the daemon. */
    signal(SIGPIPE, SIG_IGN);
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    running r = {.spec = spec, .config_path = config_path};
    if (spec->start(loop, config, &r.daemon) != 0)
        return 3;
    ev_signal_init(&r.term, on_stop, SIGTERM);
    ev_signal_init(&r.intr, on_stop, SIGINT);
    ev_signal_init(&r.hup, on_reload, SIGHUP);
    r.term.data = r.intr.data = r.hup.data = &r;
    ev_signal_start(loop, &r.term);
    ev_signal_start(loop, &r.intr);
    ev_signal_start(loop, &r.hup);

    ev_run(loop, 0);

    ev_signal_stop(loop, &r.term);
    ev_signal_stop(loop, &r.intr);
    ev_signal_stop(loop, &r.hup);
    spec->destroy(&r.daemon);
    dd_info("stopped");
    return 0;
}
