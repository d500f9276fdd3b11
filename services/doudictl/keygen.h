/*
 * keygen.h: `doudictl keygen`, a new CURVE key pair for a daemon or a client
 * (common/zauth.h has the file format). Its --help text (keygen.c) is the
 * manual.
 */
#ifndef CTL_KEYGEN_H
#define CTL_KEYGEN_H

/* Runs the subcommand; argv[0] is "keygen". Returns the exit status. */
int ctl_keygen_main(int argc, char **argv);

#endif
