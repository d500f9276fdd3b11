/*
 * stats.h: `doudictl stats`, a daemon's /metrics endpoint made readable.
 * Its --help text (stats.c) is the manual.
 */
#ifndef CTL_STATS_H
#define CTL_STATS_H

/* Runs the subcommand; argv[0] is "stats". Returns the exit status. */
int ctl_stats_main(int argc, char **argv);

#endif
