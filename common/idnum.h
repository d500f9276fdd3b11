/*
 * idnum.h: resident identity numbers (GB 11643-1999).
 *
 * An 18-character number is a 6-digit address code, an 8-digit birth date
 * YYYYMMDD, a 3-digit sequence (odd: male, even: female) and a check
 * character computed by ISO 7064 MOD 11-2 over the first 17 digits with
 * weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2: Y = sum mod 11, check =
 * "10X98765432"[Y]. The check character is an upper-case X; a lower-case x
 * is a bad character (the portal must normalise it). The old 15-digit form
 * has a 6-digit birth date YYMMDD (1900s) and no check character; it can be
 * upgraded by inserting "19" and computing the check.
 */
#ifndef DD_IDNUM_H
#define DD_IDNUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    DD_IDNUM_OK = 0,
    DD_IDNUM_BAD_LENGTH,     /* not 18 (nor 15) characters */
    DD_IDNUM_BAD_CHARACTER,  /* a non-digit in the digit places, or a last
                                character that is neither digit nor 'X' */
    DD_IDNUM_BAD_DATE,       /* birth date not a calendar date, before
                                1800-01-01, or after `today` */
    DD_IDNUM_BAD_CHECK,      /* check character does not match */
    DD_IDNUM_FIFTEEN_DIGITS, /* a well-formed 15-digit number (see upgrade) */
} dd_idnum_status;

typedef struct dd_idnum_info {
    int birth_year, birth_month, birth_day;
    bool male;
} dd_idnum_info;

/*
 * Checks id[0..len-1] (not NUL-terminated necessarily). today_yyyymmdd is
 * the date births may not be after (e.g. 20261122). A valid 15-digit number
 * returns DD_IDNUM_FIFTEEN_DIGITS (its info is filled); an invalid one returns
 * the reason it is invalid. info may be NULL.
 */
dd_idnum_status dd_idnum_check(const char *id, size_t len, int32_t today_yyyymmdd,
                               dd_idnum_info *info);

/* The check character for 17 digits; '?' if any is not a digit. */
char dd_idnum_check_char(const char *first17);

/*
 * Upgrades a valid 15-digit number to 18 characters, NUL-terminated, in
 * out. Returns DD_IDNUM_OK, or the reason the 15-digit number is invalid.
 */
dd_idnum_status dd_idnum_upgrade15(const char *id15, int32_t today_yyyymmdd,
                                   char out[19]);

/* A short English sentence for a status, e.g. for a reject reason text. */
const char *dd_idnum_status_text(dd_idnum_status status);

/*
 * The Asia/Shanghai (UTC+8, no DST) calendar date of a Unix ms, YYYYMMDD.
 * Defined for every int64: dates before year 0 give 101 (0000-01-01), after
 * year 9999 give 99991231.
 */
int32_t dd_date_yyyymmdd_shanghai(int64_t unix_ms);
/*
 * Age in whole years on date yyyymmdd for someone born on the given day.
 * Someone born on 29 February turns a year older on 1 March in common
 * years. Negative when the birth is after on_yyyymmdd.
 */
int dd_age_years(int birth_year, int birth_month, int birth_day, int32_t on_yyyymmdd);
/* Whether year-month-day is a Gregorian calendar date with year 1..9999. */
bool dd_date_is_valid(int year, int month, int day);

#endif
