/*
 * caseload.h: `doudictl caseload`, how many persons each program counts in a
 * region and for how much a month, from doudi-eligibility's registry
 * (query.proto, caseload_region). Its --help text (caseload.c) is the manual.
 */
#ifndef CTL_CASELOAD_H
#define CTL_CASELOAD_H

/* Runs the subcommand; argv[0] is "caseload". Returns the exit status. */
int ctl_caseload_main(int argc, char **argv);

#endif
