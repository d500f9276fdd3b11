/*
 * ctl.h: what every doudictl subcommand shares: its exit statuses, the name
 * it puts in front of its messages, and the parsing of option values.
 *
 * doudictl is driven by scripts as much as by people, so the exit status is
 * part of its interface: every subcommand uses the four values below and
 * documents which situations lead to which. Messages for people go to
 * stderr prefixed with the command ("doudictl publish: ..."); stdout carries
 * only the command's result, so it can be piped.
 */
#ifndef CTL_H
#define CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ctl_exit {
    CTL_EXIT_OK = 0,       /* everything asked for was done */
    CTL_EXIT_FAILED = 1,   /* done, but the system refused part of it */
    CTL_EXIT_USAGE = 2,    /* bad arguments, or an I/O or protocol error */
    CTL_EXIT_GAVE_UP = 3,  /* no answer within the allowed wait */
};

/* The name messages start with, e.g. "doudictl publish" (copied). */
void ctl_set_command(const char *name);
const char *ctl_command(void);

/* "<command>: <message>\n" on stderr. */
void ctl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Reports a usage error ("<command>: <message>" and a pointer to --help) on
 * stderr and returns CTL_EXIT_USAGE, so callers can `return ctl_usage(...)`.
 */
int ctl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Turns getopt_long's ':' (missing argument) or '?' (unknown option) into
 * a usage error; call it with opterr = 0 and an optstring starting with ':'.
 * Returns CTL_EXIT_USAGE.
 */
int ctl_getopt_error(int c, char *const argv[]);

/*
 * Parses a decimal unsigned integer in [min, max]. Returns 0, or DD_EPROTO
 * for anything else (signs, spaces, trailing text, out of range).
 */
int ctl_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/*
 * ctl_parse_u64 for an option's value, reporting a usage error that names
 * the option and the range. Returns 0 or CTL_EXIT_USAGE.
 */
int ctl_option_u64(const char *option, const char *text, uint64_t min, uint64_t max,
                   uint64_t *out);

/*
 * A byte count: digits with an optional binary suffix K, M or G (KiB, MiB,
 * GiB; upper or lower case, an optional trailing "iB" or "B"), in [min, max].
 * Reports a usage error naming the option. Returns 0 or CTL_EXIT_USAGE.
 */
int ctl_option_bytes(const char *option, const char *text, uint64_t min, uint64_t max,
                     uint64_t *out);

/* Milliseconds on a monotonic clock, for timeouts and rates only. */
int64_t ctl_now_ms(void);

/* Sleeps ms milliseconds (an interrupting signal cuts it short). */
void ctl_sleep_ms(int64_t ms);

/*
 * Formats a Unix-milliseconds instant as "YYYY-MM-DD hh:mm:ss" in
 * Asia/Shanghai time (UTC+8, no daylight saving), the time zone doudi's
 * calendar rules use; 0 is written as "-". out must hold 32 bytes.
 */
const char *ctl_format_time_ms(int64_t unix_ms, char out[32]);

/*
 * The delay before resending after `attempt` consecutive unanswered tries
 * (attempt >= 1): 100 ms doubling each time, never more than 2 s, so a
 * restarting daemon is not flooded and a brief outage costs little.
 */
int64_t ctl_backoff_ms(unsigned attempt);

#endif
