/*
 * idnum.c: resident identity numbers (GB 11643-1999) and the Asia/Shanghai
 * calendar arithmetic that their birth dates and people's ages need.
 *
 * Everything here is pure computation on a few bytes: intake calls it for
 * every person named by every event, so it neither allocates nor consults
 * the C library's time-zone machinery (Asia/Shanghai has had no daylight
 * saving since 1991 and is a fixed UTC+8 for every date we judge).
 */
#include "idnum.h"

#include <string.h>

static const int check_weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
static const char check_chars[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};

/* Births before this are taken to be typing errors, not centenarians. */
#define EARLIEST_BIRTH 18000101

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

static int digits_value(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static bool is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

bool dd_date_is_valid(int year, int month, int day)
{
    static const int days_in_month[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1)
        return false;
    int last = days_in_month[month - 1] + (month == 2 && is_leap(year));
    return day <= last;
}

char dd_idnum_check_char(const char *first17)
{
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        /* Stops at the first non-digit, so a short NUL-terminated string is
         * never read past its end. */
        if (!is_digit(first17[i]))
            return '?';
        sum += (first17[i] - '0') * check_weights[i];
    }
    return check_chars[sum % 11];
}

/* Judges a birth date YYYYMMDD; fills info's date when it is good. */
static dd_idnum_status check_birth(int year, int month, int day, int32_t today_yyyymmdd,
                                   dd_idnum_info *info)
{
    if (!dd_date_is_valid(year, month, day))
        return DD_IDNUM_BAD_DATE;
    int32_t ymd = year * 10000 + month * 100 + day;
    if (ymd < EARLIEST_BIRTH || ymd > today_yyyymmdd)
        return DD_IDNUM_BAD_DATE;
    if (info) {
        info->birth_year = year;
        info->birth_month = month;
        info->birth_day = day;
    }
    return DD_IDNUM_OK;
}

dd_idnum_status dd_idnum_check(const char *id, size_t len, int32_t today_yyyymmdd,
                               dd_idnum_info *info)
{
    dd_idnum_status st;
    if (len == 18) {
        if (!all_digits(id, 17) || !(is_digit(id[17]) || id[17] == 'X'))
            return DD_IDNUM_BAD_CHARACTER;
        st = check_birth(digits_value(id + 6, 4), digits_value(id + 10, 2),
                         digits_value(id + 12, 2), today_yyyymmdd, info);
        if (st != DD_IDNUM_OK)
            return st;
        if (dd_idnum_check_char(id) != id[17])
            return DD_IDNUM_BAD_CHECK;
        if (info)
            info->male = (id[16] - '0') % 2 == 1;
        return DD_IDNUM_OK;
    }
    if (len == 15) {
        if (!all_digits(id, 15))
            return DD_IDNUM_BAD_CHARACTER;
        /* The old form carries YYMMDD; every such number was issued to
         * someone born in the 1900s. */
        st = check_birth(1900 + digits_value(id + 6, 2), digits_value(id + 8, 2),
                         digits_value(id + 10, 2), today_yyyymmdd, info);
        if (st != DD_IDNUM_OK)
            return st;
        if (info)
            info->male = (id[14] - '0') % 2 == 1;
        return DD_IDNUM_FIFTEEN_DIGITS;
    }
    return DD_IDNUM_BAD_LENGTH;
}

dd_idnum_status dd_idnum_upgrade15(const char *id15, int32_t today_yyyymmdd, char out[19])
{
    size_t len = strnlen(id15, 16);
    /* len is at most 16 here, so only the 15-digit form can pass. */
    dd_idnum_status st = dd_idnum_check(id15, len, today_yyyymmdd, NULL);
    if (st != DD_IDNUM_FIFTEEN_DIGITS)
        return st;
    memcpy(out, id15, 6);
    out[6] = '1';
    out[7] = '9';
    memcpy(out + 8, id15 + 6, 9);
    out[17] = dd_idnum_check_char(out);
    out[18] = '\0';
    return DD_IDNUM_OK;
}

const char *dd_idnum_status_text(dd_idnum_status status)
{
    switch (status) {
    case DD_IDNUM_OK:
        return "valid identity number";
    case DD_IDNUM_BAD_LENGTH:
        return "identity number is not 18 characters long";
    case DD_IDNUM_BAD_CHARACTER:
        return "identity number has a character other than a digit (or a final upper-case X)";
    case DD_IDNUM_BAD_DATE:
        return "identity number's birth date is not a real date between 1800-01-01 and today";
    case DD_IDNUM_BAD_CHECK:
        return "identity number's check character does not match its first 17 digits";
    case DD_IDNUM_FIFTEEN_DIGITS:
        return "identity number is in the old 15-digit form; send its 18-character form";
    }
    return "unknown identity number status";
}

/*
 * Days since 1970-01-01 to a proleptic Gregorian date. Works in 400-year eras
 * (146097 days each) with years starting on 1 March, so that the leap day is
 * the last day of its year and month lengths follow the 153-day pattern.
 */
static void civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    days += 719468; /* 0000-03-01 to 1970-01-01 */
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;                                 /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                  /* March = 0 */
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2);
}

int32_t dd_date_yyyymmdd_shanghai(int64_t unix_ms)
{
    /* Intake asks twice an event, and events come in time order: the day
     * asked last (per thread) is answered without the divisions. */
    static _Thread_local int64_t last_from = 1, last_until = 0;
    static _Thread_local int32_t last_date;
    if (unix_ms >= last_from && unix_ms < last_until)
        return last_date;
    const int64_t day_ms = 86400000;
    /* Split before shifting by eight hours so that no value near the int64
     * limits overflows. */
    int64_t days = unix_ms / day_ms;
    int64_t rem = unix_ms % day_ms;
    if (rem < 0) {
        rem += day_ms;
        days--;
    }
    if (rem + 8 * 3600000 >= day_ms)
        days++;
    int64_t year;
    int month, day;
    civil_from_days(days, &year, &month, &day);
    if (year < 0)
        return 101; /* 0000-01-01 */
    if (year > 9999)
        return 99991231;
    /* The Shanghai day [from, until) in Unix ms; within the years above
     * neither end overflows. */
    last_from = days * day_ms - 8 * 3600000;
    last_until = last_from + day_ms;
    last_date = (int32_t)(year * 10000 + month * 100 + day);
    return last_date;
}

int dd_age_years(int birth_year, int birth_month, int birth_day, int32_t on_yyyymmdd)
{
    int on_year = on_yyyymmdd / 10000;
    int on_md = on_yyyymmdd % 10000;
    int age = on_year - birth_year;
    /* Someone born on 29 February has a birthday on 1 March in common years:
     * comparing month and day as a number gives exactly that. */
    if (on_md < birth_month * 100 + birth_day)
        age--;
    return age;
}
