/*
 * worker.h: `doudictl worker`, a community worker's visits for today, in
 * order, from doudi-scheduler. Its --help text (worker.c) is the manual.
 */
#ifndef CTL_WORKER_H
#define CTL_WORKER_H

/* Runs the subcommand; argv[0] is "worker". Returns the exit status. */
int ctl_worker_main(int argc, char **argv);

#endif
