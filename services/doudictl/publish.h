/*
 * publish.h: `doudictl publish`, events from JSON Lines files into
 * doudi-intake. Its --help text (publish.c) is the manual.
 */
#ifndef CTL_PUBLISH_H
#define CTL_PUBLISH_H

/* Runs the subcommand; argv[0] is "publish". Returns the exit status. */
int ctl_publish_main(int argc, char **argv);

#endif
