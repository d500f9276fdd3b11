/*
 * person.h: `doudictl person`, a person's registry entry, care
 * classification and program decisions from doudi-eligibility
 * (query.proto). Its --help text (person.c) is the manual.
 */
#ifndef CTL_PERSON_H
#define CTL_PERSON_H

/* Runs the subcommand; argv[0] is "person". Returns the exit status. */
int ctl_person_main(int argc, char **argv);

#endif
