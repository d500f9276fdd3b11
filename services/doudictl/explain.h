/*
 * explain.h: `doudictl explain`, the rule trace and parameters behind
 * doudi-eligibility's decision about one person in one program
 * (query.proto). Its --help text (explain.c) is the manual.
 */
#ifndef CTL_EXPLAIN_H
#define CTL_EXPLAIN_H

/* Runs the subcommand; argv[0] is "explain". Returns the exit status. */
int ctl_explain_main(int argc, char **argv);

#endif
