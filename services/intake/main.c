/*
 * main.c: doudi-intake's entry point. Options, configuration, the loop and
 * signals are common/daemon.c's; the work lives in intake.c and the modules
 * it uses.
 */
#include "daemon.h"
#include "intake.h"
#include "settings.h"

static const char help[] =
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
"    With [auth] key_file set, every endpoint is a CURVE server: encrypted, and\n"
"    a client is let in only with a public key listed in [auth] clients_file\n"
"    under a grant that covers the endpoint: publishers (a list of sources) at\n"
"    the publish endpoint, readers (-) at the log endpoint, operators (*)\n"
"    anywhere and alone at the admin endpoint. An event whose source its\n"
"    sender may not use is REJECTED source_not_allowed. SIGHUP reads the\n"
"    clients file again. Make keys with `doudictl keygen`.\n"
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
"CONFIGURATION KEYS\n";

static int start(struct ev_loop *loop, dd_config *config, void **daemon)
{
    return intake_new(loop, config, (intake **)daemon);
}

static int reload(void *daemon, dd_config *config)
{
    return intake_reload(daemon, config);
}

static void stop(void *daemon)
{
    intake_stop(daemon);
}

static void destroy(void **daemon)
{
    intake_destroy((intake **)daemon);
}

int main(int argc, char **argv)
{
    static const dd_daemon_spec spec = {
        .program = "doudi-intake",
        .help = help,
        .settings = intake_settings,
        .nsettings = INTAKE_SETTING_COUNT,
        .start = start,
        .reload = reload,
        .stop = stop,
        .destroy = destroy,
        .check = intake_check_config,
    };
    return dd_daemon_main(&spec, argc, argv);
}
