/*
 * plan.h: `doudictl plan`, a person's care-visit plan as doudi-scheduler
 * holds it. Its --help text (plan.c) is the manual.
 */
#ifndef CTL_PLAN_H
#define CTL_PLAN_H

/* Runs the subcommand; argv[0] is "plan". Returns the exit status. */
int ctl_plan_main(int argc, char **argv);

#endif
