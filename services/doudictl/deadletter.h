/*
 * deadletter.h: `doudictl deadletter list` and `doudictl deadletter replay`,
 * the operator's view of the events intake refused, over intake's admin
 * endpoint (admin.proto). Their --help texts (deadletter.c) are the manual.
 */
#ifndef CTL_DEADLETTER_H
#define CTL_DEADLETTER_H

/* Runs the subcommand; argv[0] is "deadletter". Returns the exit status. */
int ctl_deadletter_main(int argc, char **argv);

#endif
