/*
 * main.c: doudi-alerts' entry point. Options, configuration, the loop and
 * signals are common/daemon.c's; the work lives in alerts.c, alerts_engine.c,
 * alerts_stream.c, alerts_live.c and alerts_service.c.
 */
#include "alerts.h"
#include "daemon.h"
#include "alerts_settings.h"

static const char help[] =
"NAME\n"
"    doudi-alerts - keep every alert, fan it out by region, escalate what nobody handles\n"
"\n"
"SYNOPSIS\n"
"    doudi-alerts [-c FILE] [-t] [-h] [-V]\n"
"\n"
"DESCRIPTION\n"
"    Consumes the scheduler's log in order ([upstream] endpoint; eligibility's log\n"
"    carries the same records): alerts (kind 102), alert acknowledgements that came\n"
"    in through intake (kind 18) and visit-plan changes (kind 201). For each fetched\n"
"    batch, one LMDB write transaction applies them, appends what subscribers must\n"
"    see to the alert stream and stores the cursor: exactly once across kill -9.\n"
"\n"
"    Lifecycle: an alert is OPEN at its village with a handling deadline by kind and\n"
"    severity ([deadlines]); an acknowledgement makes it ACKNOWLEDGED, a resolution\n"
"    RESOLVED. A deadline that passes unacknowledged ESCALATES it one level, village\n"
"    -> township -> county -> city -> province, with a new deadline ([escalation]).\n"
"    A repeat (same subject and kind, or the raiser's dedup key) of an unresolved\n"
"    alert is merged into it (count, last seen) and not sent again. A person's death\n"
"    or move-out inhibits their overdue-visit alerts. Silences (doudictl alerts\n"
"    silence) hold back alerts of a region prefix and kind raised inside a window:\n"
"    they are stored, not delivered, not escalated. Ids are \"A\" and a number given\n"
"    in consumption order, so a replay gives the same ids.\n"
"\n"
"    Time is event time ([clock] source = event, the default): deadlines pass as the\n"
"    event times of consumed records pass them, swept before each record is applied,\n"
"    so a replay gives the same escalations. With source = wall they also pass with\n"
"    the wall clock, swept every sweep_interval in a write transaction of its own.\n"
"\n"
"    Fan-out: every stream record has a sequence. The live stream is a PUB socket\n"
"    (live_endpoint): topic = the alert's 12-digit village code, so a subscriber's\n"
"    prefix (44 a province, 4401 a city, 440106001 a township) is routed by ZeroMQ;\n"
"    heartbeats with the head sequence go to topic '.'. PUB drops at send_hwm rather\n"
"    than block, so each entry names the previous sequence of its area at every\n"
"    level: a subscriber sees a gap and fetches it from the durable replay by prefix\n"
"    (request_endpoint), and after any outage holds everything, in order, once.\n"
"    Handling timeliness (handled before the village deadline / due) is kept per\n"
"    region prefix and month.\n"
"\n"
"    doudictl alerts tail | list | ack | silence | rate talk to it.\n"
"\n"
"OPTIONS\n"
"    -c, --config FILE   read the INI configuration FILE\n"
"    -t, --test-config   check the configuration, print the effective values, exit\n"
"    -h, --help          print this help and exit\n"
"    -V, --version       print the version and exit\n"
"\n"
"ENDPOINTS (defaults)\n"
"    live      tcp://127.0.0.1:7401  PUB: [topic, StreamEntry] (alerts.proto)\n"
"    requests  tcp://127.0.0.1:7402  ROUTER: AlertsRequest -> AlertsReply\n"
"    log       tcp://127.0.0.1:7403  ROUTER: FetchRequest -> FetchReply (the stream)\n"
"    metrics   127.0.0.1:9104        HTTP GET /metrics\n"
"\n"
"SIGNALS\n"
"    SIGTERM, SIGINT  finish the batch in progress, exit 0\n"
"    SIGHUP           reload the configuration (log level, retention, trim interval)\n"
"\n"
"EXIT STATUS\n"
"    0 after a clean stop; 1 configuration error; 2 usage error; 3 start-up failed.\n"
"\n"
"CONFIGURATION KEYS\n";

static int start(struct ev_loop *loop, dd_config *config, void **daemon)
{
    return alerts_daemon_new(loop, config, (alerts_daemon **)daemon);
}

static int reload(void *daemon, dd_config *config)
{
    return alerts_daemon_reload(daemon, config);
}

static void stop(void *daemon)
{
    alerts_daemon_stop(daemon);
}

static void destroy(void **daemon)
{
    alerts_daemon_destroy((alerts_daemon **)daemon);
}

int main(int argc, char **argv)
{
    static const dd_daemon_spec spec = {
        .program = "doudi-alerts",
        .help = help,
        .settings = alerts_settings,
        .nsettings = ALERTS_SETTING_COUNT,
        .start = start,
        .reload = reload,
        .stop = stop,
        .destroy = destroy,
    };
    return dd_daemon_main(&spec, argc, argv);
}
