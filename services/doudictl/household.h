/*
 * household.h: `doudictl household`, a household from doudi-eligibility's
 * registry with every member's program decisions (query.proto). Its --help
 * text (household.c) is the manual.
 */
#ifndef CTL_HOUSEHOLD_H
#define CTL_HOUSEHOLD_H

/* Runs the subcommand; argv[0] is "household". Returns the exit status. */
int ctl_household_main(int argc, char **argv);

#endif
