/*
 * diag.h: diagnostics to stderr, one line per event, identity numbers masked.
 *
 * Every line looks like
 *   2026-11-22T09:30:01.123+08:00 doudi-intake[4242] warn: message
 * Before a line is written, anything that looks like a resident identity
 * number (18 characters: 17 digits and a digit or X; or 15 digits) is masked
 * to its first 6 and last 4 characters, so a person's number never reaches
 * a log file, whatever the caller formatted into the message.
 */
#ifndef DD_DIAG_H
#define DD_DIAG_H

#include <stddef.h>

typedef enum { DD_DEBUG = 0, DD_INFO = 1, DD_WARN = 2, DD_ERROR = 3 } dd_diag_level;

/* program: the name printed on each line (copied). */
void dd_diag_init(const char *program, dd_diag_level level);
void dd_diag_set_level(dd_diag_level level);
dd_diag_level dd_diag_get_level(void);
/* "debug", "info", "warn", "error"; DD_ECONFIG otherwise. */
int dd_diag_level_parse(const char *text, dd_diag_level *level);

void dd_diag_printf(dd_diag_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define dd_debug(...) dd_diag_printf(DD_DEBUG, __VA_ARGS__)
#define dd_info(...) dd_diag_printf(DD_INFO, __VA_ARGS__)
#define dd_warn(...) dd_diag_printf(DD_WARN, __VA_ARGS__)
#define dd_error(...) dd_diag_printf(DD_ERROR, __VA_ARGS__)

/*
 * Masks identity numbers in a NUL-terminated string in place: characters 7
 * to 14 of an 18-character number (7 to 11 of a 15-digit one) become '*'.
 * A run of digits longer than 18 is not a number and is left alone. Returns
 * how many numbers were masked.
 */
size_t dd_diag_mask_identity_numbers(char *text);

#endif
