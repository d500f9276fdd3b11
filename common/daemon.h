/*
 * daemon.h: the main() every doudi daemon shares.
 *
 * Options (-c FILE, -t, -h, -V), loading the INI configuration with its
 * embedded defaults, `-t` (print the effective configuration and exit),
 * the libev default loop, and the signals: SIGTERM and SIGINT call stop
 * (finish the batch in progress, commit, break the loop, exit 0), SIGHUP
 * loads the file again and calls reload. A daemon supplies its help text,
 * its key table and four functions; its main() is one call, or one
 * DD_DAEMON_MAIN line.
 *
 * Exit status: 0 after a clean stop, 1 configuration error, 2 usage error,
 * 3 start-up failed (the reason was logged).
 */
#ifndef DD_DAEMON_H
#define DD_DAEMON_H

#include <ev.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

typedef struct dd_daemon_spec {
    const char *program;                 /* "doudi-intake" */
    const char *help;                    /* NAME .. EXIT STATUS; the keys follow */
    const dd_conf_key *settings;
    size_t nsettings;
    /* Builds the daemon (taking ownership of config); 0 or an error. */
    int (*start)(struct ev_loop *loop, dd_config *config, void **daemon);
    /* Applies a reloaded config; 0 takes ownership, an error keeps the old. */
    int (*reload)(void *daemon, dd_config *config);
    /* Begins a clean stop: the loop must end soon after. */
    void (*stop)(void *daemon);
    void (*destroy)(void **daemon);
    /* Optional, for -t: reads the files the config names (a division or
     * standards table) as start-up would; 0, or an error already logged. */
    int (*check)(const dd_config *config);
} dd_daemon_spec;

/* Runs the daemon; returns the process exit status. */
int dd_daemon_main(const dd_daemon_spec *spec, int argc, char **argv);

/*
 * The main() of a daemon whose module has the usual four functions on its
 * own type T:
 *
 *   int  new_fn(struct ev_loop *loop, dd_config *config, T **out);
 *   int  reload_fn(T *daemon, dd_config *config);
 *   void stop_fn(T *daemon);
 *   void destroy_fn(T **daemon);
 *
 * It defines the four dd_daemon_spec adapters and main(), which calls
 * dd_daemon_main with program, help, the key table settings[nsettings] and
 * check_fn (dd_daemon_spec.check, or NULL).
 */
#define DD_DAEMON_MAIN(program_, help_, settings_, nsettings_, T, new_fn, reload_fn, stop_fn, \
                       destroy_fn, check_fn)                                                  \
    static int dd__daemon_start(struct ev_loop *loop, dd_config *config, void **daemon)      \
    {                                                                                         \
        T *made = NULL;                                                                       \
        int rc = new_fn(loop, config, &made);                                                 \
        *daemon = made;                                                                       \
        return rc;                                                                            \
    }                                                                                         \
    static int dd__daemon_reload(void *daemon, dd_config *config)                             \
    {                                                                                         \
        return reload_fn(daemon, config);                                                     \
    }                                                                                         \
    static void dd__daemon_stop(void *daemon)                                                 \
    {                                                                                         \
        stop_fn(daemon);                                                                      \
    }                                                                                         \
    static void dd__daemon_destroy(void **daemon)                                             \
    {                                                                                         \
        T *d = *daemon;                                                                       \
        destroy_fn(&d);                                                                       \
        *daemon = d;                                                                          \
    }                                                                                         \
    int main(int argc, char **argv)                                                           \
    {                                                                                         \
        static const dd_daemon_spec spec = {                                                  \
            .program = program_,                                                              \
            .help = help_,                                                                    \
            .settings = settings_,                                                            \
            .nsettings = nsettings_,                                                          \
            .start = dd__daemon_start,                                                        \
            .reload = dd__daemon_reload,                                                      \
            .stop = dd__daemon_stop,                                                          \
            .destroy = dd__daemon_destroy,                                                    \
            .check = check_fn,                                                                \
        };                                                                                    \
        return dd_daemon_main(&spec, argc, argv);                                             \
    }

#endif
