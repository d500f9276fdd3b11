/*
 * lines.h: reading an input file or stdin line by line, with a way to ask
 * "is a line there now?" instead of blocking.
 *
 * `doudictl publish` sends a batch when it is full or when the input has
 * nothing more for the moment, so that events written slowly into a pipe are
 * sent as they come rather than when a thousand have gathered. stdio cannot
 * say whether a read would block, so this reader keeps its own buffer over
 * the file descriptor and polls it before reading. It never changes the
 * descriptor's flags (stdin may be shared with other processes).
 *
 * Lines may be of any length. The newline is removed, and a carriage return
 * before it, and a UTF-8 byte order mark at the start of the input.
 */
#ifndef CTL_LINES_H
#define CTL_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ctl_lines ctl_lines;

/*
 * Opens path for reading; "-" is stdin (left open on close). Returns 0 or
 * -errno from open(2).
 */
int ctl_lines_open(const char *path, ctl_lines **out);

/* Closes the file (not stdin) and frees the reader; accepts NULL, nulls *r. */
void ctl_lines_close(ctl_lines **r);

/*
 * The next line, NUL-terminated, without its line end, in *line (borrowed:
 * valid until the next call) and its length in *len (the line may hold NUL
 * bytes). With wait false, returns DD_AGAIN instead of blocking when no
 * whole line is buffered and the descriptor has nothing to read. Returns 1
 * with a line, 0 at the end of the input (a last line without newline is
 * returned first), DD_AGAIN, or -errno from read(2).
 */
int ctl_lines_next(ctl_lines *r, bool wait, const char **line, size_t *len);

/* The number (from 1) of the line last returned. */
uint64_t ctl_lines_number(const ctl_lines *r);

/* The descriptor, to poll for more input alongside other sources. */
int ctl_lines_fd(const ctl_lines *r);

#endif
