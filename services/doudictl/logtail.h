/*
 * logtail.h: `doudictl log tail`, a daemon's durable log as JSON lines,
 * read as an anonymous consumer (log.proto). Its --help text (logtail.c) is
 * the manual.
 */
#ifndef CTL_LOGTAIL_H
#define CTL_LOGTAIL_H

/* Runs the subcommand; argv[0] is "log". Returns the exit status. */
int ctl_log_main(int argc, char **argv);

#endif
