/*
 * visits.h: `doudictl visits rate` and `doudictl visits due`, the monthly
 * visit rate of a region's children and the visits due in a region, from
 * doudi-scheduler. Its --help text (visits.c) is the manual.
 */
#ifndef CTL_VISITS_H
#define CTL_VISITS_H

/* Runs the subcommand; argv[0] is "visits". Returns the exit status. */
int ctl_visits_main(int argc, char **argv);

#endif
