/*
 * alerts.h: `doudictl alerts`, doudi-alerts from the command line: tail the
 * stream of a region (live, gaps filled by replay), list alerts, acknowledge
 * or resolve one (through intake, so it is durable and in the log), silence
 * a region and kind for a window, show handling timeliness. Its --help text
 * (alerts.c) is the manual.
 */
#ifndef CTL_ALERTS_H
#define CTL_ALERTS_H

/* Runs the subcommand; argv[0] is "alerts". Returns the exit status. */
int ctl_alerts_main(int argc, char **argv);

#endif
