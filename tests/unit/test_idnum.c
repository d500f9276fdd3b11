/*
 * test_idnum.c: identity numbers (GB 11643-1999) and the Asia/Shanghai date
 * helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "idnum.h"

#define TODAY 20261122

static dd_idnum_status check(const char *id)
{
    return dd_idnum_check(id, strlen(id), TODAY, NULL);
}

/* An 18-character number with the given first 17 characters and the check
 * character they call for. */
static void with_check(char out[19], const char *first17)
{
    memcpy(out, first17, 17);
    out[17] = dd_idnum_check_char(first17);
    out[18] = '\0';
}

static void test_standard_examples(void **state)
{
    (void)state;
    dd_idnum_info info;
    assert_int_equal(dd_idnum_check("11010519491231002X", 18, TODAY, &info), DD_IDNUM_OK);
    assert_int_equal(info.birth_year, 1949);
    assert_int_equal(info.birth_month, 12);
    assert_int_equal(info.birth_day, 31);
    assert_false(info.male); /* sequence 002 */

    assert_int_equal(dd_idnum_check("440524188001010014", 18, TODAY, &info), DD_IDNUM_OK);
    assert_int_equal(info.birth_year, 1880);
    assert_int_equal(info.birth_month, 1);
    assert_int_equal(info.birth_day, 1);
    assert_true(info.male); /* sequence 001 */

    assert_int_equal(dd_idnum_check_char("11010519491231002"), 'X');
    assert_int_equal(dd_idnum_check_char("44052418800101001"), '4');
}

static void test_check_char_by_hand(void **state)
{
    (void)state;
    /*
     * 44052419800101001: digits 4 4 0 5 2 4 1 9 8 0 0 1 0 1 0 0 1
     * times weights          7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
     * = 28+36+0+25+16+16+2+9+48+0+0+9+0+5+0+0+2 = 196; 196 mod 11 = 9;
     * "10X98765432"[9] = '3'.
     */
    assert_int_equal(dd_idnum_check_char("44052419800101001"), '3');
    assert_int_equal(check("440524198001010013"), DD_IDNUM_OK);
    /* A non-digit anywhere in the 17 gives '?', also a short string. */
    assert_int_equal(dd_idnum_check_char("4405241980010100a"), '?');
    assert_int_equal(dd_idnum_check_char("4405"), '?');
}

static void test_bad_length(void **state)
{
    (void)state;
    assert_int_equal(check(""), DD_IDNUM_BAD_LENGTH);
    assert_int_equal(check("11010519491231002"), DD_IDNUM_BAD_LENGTH);   /* 17 */
    assert_int_equal(check("11010519491231002X0"), DD_IDNUM_BAD_LENGTH); /* 19 */
    assert_int_equal(check("1101054912310020"), DD_IDNUM_BAD_LENGTH);    /* 16 */
    assert_int_equal(check("11010549123100"), DD_IDNUM_BAD_LENGTH);      /* 14 */
    /* The length given is what counts, not the NUL. */
    assert_int_equal(dd_idnum_check("11010519491231002X", 17, TODAY, NULL), DD_IDNUM_BAD_LENGTH);
}

static void test_bad_character(void **state)
{
    (void)state;
    /* The portal must normalise a lower-case x. */
    assert_int_equal(check("11010519491231002x"), DD_IDNUM_BAD_CHARACTER);
    assert_int_equal(check("1101051949123100XX"), DD_IDNUM_BAD_CHARACTER);
    assert_int_equal(check("X10105194912310023"), DD_IDNUM_BAD_CHARACTER);
    assert_int_equal(check("11010519491231002Y"), DD_IDNUM_BAD_CHARACTER);
    assert_int_equal(check("110105 19491231002"), DD_IDNUM_BAD_CHARACTER);
    assert_int_equal(check("11010519491231002\x01"), DD_IDNUM_BAD_CHARACTER);
    assert_int_equal(check("1101054912310a2"), DD_IDNUM_BAD_CHARACTER); /* 15 long */
    assert_int_equal(check("11010549123100X"), DD_IDNUM_BAD_CHARACTER); /* no X in 15 */
    /* Embedded NUL within the given length. */
    assert_int_equal(dd_idnum_check("110105\0" "9491231002X1234", 18, TODAY, NULL),
                     DD_IDNUM_BAD_CHARACTER);
}

static void test_bad_date(void **state)
{
    (void)state;
    char id[19];
    /* Not calendar dates. */
    with_check(id, "11010519491331002"); /* month 13 */
    assert_int_equal(check(id), DD_IDNUM_BAD_DATE);
    with_check(id, "11010519490001002"); /* month 00 */
    assert_int_equal(check(id), DD_IDNUM_BAD_DATE);
    with_check(id, "11010519490100002"); /* day 00 */
    assert_int_equal(check(id), DD_IDNUM_BAD_DATE);
    with_check(id, "11010519490431002"); /* 31 April */
    assert_int_equal(check(id), DD_IDNUM_BAD_DATE);
    /* 29 February of common years, including a century. */
    with_check(id, "11010520230229002");
    assert_int_equal(check(id), DD_IDNUM_BAD_DATE);
    with_check(id, "11010519000229002");
    assert_int_equal(check(id), DD_IDNUM_BAD_DATE);
    with_check(id, "11010520250229002");
    assert_int_equal(check(id), DD_IDNUM_BAD_DATE);
    /* ...and of leap years, 2000 included. */
    with_check(id, "11010520000229002");
    assert_int_equal(check(id), DD_IDNUM_OK);
    with_check(id, "11010520240229002");
    assert_int_equal(check(id), DD_IDNUM_OK);
    /* Before 1800. */
    with_check(id, "11010517991231002");
    assert_int_equal(check(id), DD_IDNUM_BAD_DATE);
    with_check(id, "11010518000101002");
    assert_int_equal(check(id), DD_IDNUM_OK);
    /* After today; today itself is fine. */
    with_check(id, "11010520261123002");
    assert_int_equal(check(id), DD_IDNUM_BAD_DATE);
    with_check(id, "11010520261122002");
    assert_int_equal(check(id), DD_IDNUM_OK);
    with_check(id, "11010530000101002");
    assert_int_equal(check(id), DD_IDNUM_BAD_DATE);
    /* A date problem is reported before a check problem. */
    assert_int_equal(check("110105194913310021"), DD_IDNUM_BAD_DATE);
}

static void test_bad_check(void **state)
{
    (void)state;
    assert_int_equal(check("110105194912310020"), DD_IDNUM_BAD_CHECK);
    assert_int_equal(check("440524188001010015"), DD_IDNUM_BAD_CHECK);
    assert_int_equal(check("44052418800101001X"), DD_IDNUM_BAD_CHECK);
    /* Swapping two digits changes the check. */
    assert_int_equal(check("110105194912310203"), DD_IDNUM_BAD_CHECK);
}

static void test_fifteen_digits(void **state)
{
    (void)state;
    dd_idnum_info info;
    assert_int_equal(dd_idnum_check("110105491231002", 15, TODAY, &info), DD_IDNUM_FIFTEEN_DIGITS);
    assert_int_equal(info.birth_year, 1949);
    assert_int_equal(info.birth_month, 12);
    assert_int_equal(info.birth_day, 31);
    assert_false(info.male);
    /* A 15-digit date is a 1900s date: 000229 is 29 February 1900. */
    assert_int_equal(check("110105000229002"), DD_IDNUM_BAD_DATE);
    assert_int_equal(check("110105961301002"), DD_IDNUM_BAD_DATE);
    assert_int_equal(check("110105960229002"), DD_IDNUM_FIFTEEN_DIGITS);
}

static void test_upgrade(void **state)
{
    (void)state;
    char out[19];
    /*
     * 110105 491231 002 -> 110105 19491231 002 + check. Over the 17 digits
     * 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2 with the weights
     * 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 the sum is
     * 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167; 167 mod 11 = 2;
     * "10X98765432"[2] = 'X': the standard's own example.
     */
    assert_int_equal(dd_idnum_upgrade15("110105491231002", TODAY, out), DD_IDNUM_OK);
    assert_string_equal(out, "11010519491231002X");
    /* 440524 800101 001 -> 44052419800101001 + '3' (sum 196, see above). */
    assert_int_equal(dd_idnum_upgrade15("440524800101001", TODAY, out), DD_IDNUM_OK);
    assert_string_equal(out, "440524198001010013");
    assert_int_equal(check(out), DD_IDNUM_OK);

    assert_int_equal(dd_idnum_upgrade15("11010549123100", TODAY, out), DD_IDNUM_BAD_LENGTH);
    assert_int_equal(dd_idnum_upgrade15("11010519491231002X", TODAY, out), DD_IDNUM_BAD_LENGTH);
    assert_int_equal(dd_idnum_upgrade15("1101054912310a2", TODAY, out), DD_IDNUM_BAD_CHARACTER);
    assert_int_equal(dd_idnum_upgrade15("110105491331002", TODAY, out), DD_IDNUM_BAD_DATE);
}

static void test_sex_from_sequence(void **state)
{
    (void)state;
    dd_idnum_info info;
    char id[19];
    for (int seq = 0; seq < 10; seq++) {
        char first17[18];
        memcpy(first17, "4401061950010100", 16);
        first17[16] = (char)('0' + seq);
        first17[17] = '\0';
        with_check(id, first17);
        assert_int_equal(dd_idnum_check(id, 18, TODAY, &info), DD_IDNUM_OK);
        assert_int_equal(info.male, seq % 2 == 1);
    }
    assert_int_equal(dd_idnum_check("440106500101003", 15, TODAY, &info), DD_IDNUM_FIFTEEN_DIGITS);
    assert_true(info.male);
    assert_int_equal(dd_idnum_check("440106500101004", 15, TODAY, &info), DD_IDNUM_FIFTEEN_DIGITS);
    assert_false(info.male);
}

static void test_status_text(void **state)
{
    (void)state;
    for (int s = DD_IDNUM_OK; s <= DD_IDNUM_FIFTEEN_DIGITS; s++) {
        const char *t = dd_idnum_status_text((dd_idnum_status)s);
        assert_non_null(t);
        assert_true(strlen(t) > 10);
    }
    assert_non_null(strstr(dd_idnum_status_text(DD_IDNUM_FIFTEEN_DIGITS), "18"));
}

static void test_shanghai_date(void **state)
{
    (void)state;
    assert_int_equal(dd_date_yyyymmdd_shanghai(0), 19700101);
    /* 1970-01-01T16:00Z is already the 2nd in Shanghai. */
    assert_int_equal(dd_date_yyyymmdd_shanghai(16 * 3600000LL - 1), 19700101);
    assert_int_equal(dd_date_yyyymmdd_shanghai(16 * 3600000LL), 19700102);
    /* 2026-11-22T01:30Z = 09:30 in Shanghai. */
    assert_int_equal(dd_date_yyyymmdd_shanghai(1795311000000LL), 20261122);
    /* 2024-02-28T16:00Z = 29 February 00:00 in Shanghai. */
    assert_int_equal(dd_date_yyyymmdd_shanghai(1709136000000LL), 20240229);
    assert_int_equal(dd_date_yyyymmdd_shanghai(1709136000000LL - 1), 20240228);
    /* 1999-12-31T16:00Z: the new millennium begins at 00:00 Shanghai. */
    assert_int_equal(dd_date_yyyymmdd_shanghai(946656000000LL), 20000101);
    /* Before 1970: 1969-12-31T15:59:59.999Z is 23:59:59.999 Shanghai. */
    assert_int_equal(dd_date_yyyymmdd_shanghai(-8 * 3600000LL - 1), 19691231);
    assert_int_equal(dd_date_yyyymmdd_shanghai(-8 * 3600000LL), 19700101);
    /* 1900-03-01T00:00+08:00 (1900 had no 29 February). */
    assert_int_equal(dd_date_yyyymmdd_shanghai(-2203891200000LL - 8 * 3600000LL), 19000301);
    /* The day asked last is remembered: both of its ends, and the days
     * next to it, asked again in any order, give their own dates. */
    const int64_t feb29 = 1709136000000LL, day = 86400000LL;
    assert_int_equal(dd_date_yyyymmdd_shanghai(feb29 + 1000), 20240229);
    assert_int_equal(dd_date_yyyymmdd_shanghai(feb29 + day - 1), 20240229);
    assert_int_equal(dd_date_yyyymmdd_shanghai(feb29 + day), 20240301);
    assert_int_equal(dd_date_yyyymmdd_shanghai(feb29), 20240229);
    assert_int_equal(dd_date_yyyymmdd_shanghai(feb29 - 1), 20240228);
    assert_int_equal(dd_date_yyyymmdd_shanghai(feb29 + day + 5), 20240301);
    assert_int_equal(dd_date_yyyymmdd_shanghai(feb29 - day), 20240228);
    /* Extremes do not overflow. */
    assert_int_equal(dd_date_yyyymmdd_shanghai(INT64_MAX), 99991231);
    assert_int_equal(dd_date_yyyymmdd_shanghai(INT64_MIN), 101);
    assert_int_equal(dd_date_yyyymmdd_shanghai(253402300799999LL - 8 * 3600000LL), 99991231);
}

/* The C library's gmtime_r, shifted by eight hours, is an independent
 * opinion on the same calendar. */
static void test_shanghai_date_against_gmtime(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* 1800 to 2200, at millisecond resolution. */
        int64_t ms = -5364662400000LL + (int64_t)(x % 12623040000000ULL);
        int64_t sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
        time_t local = (time_t)(sec + 8 * 3600);
        struct tm tm;
        assert_non_null(gmtime_r(&local, &tm));
        int32_t want = (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
        assert_int_equal(dd_date_yyyymmdd_shanghai(ms), want);
    }
}

static void test_age(void **state)
{
    (void)state;
    assert_int_equal(dd_age_years(1949, 12, 31, 20261122), 76);
    assert_int_equal(dd_age_years(1949, 12, 31, 20261231), 77);
    assert_int_equal(dd_age_years(1949, 12, 31, 20261230), 76);
    assert_int_equal(dd_age_years(1946, 11, 22, 20261122), 80); /* the birthday itself */
    assert_int_equal(dd_age_years(1946, 11, 23, 20261122), 79);
    /* Born 29 February: a year older on 1 March of a common year. */
    assert_int_equal(dd_age_years(2000, 2, 29, 20250228), 24);
    assert_int_equal(dd_age_years(2000, 2, 29, 20250301), 25);
    assert_int_equal(dd_age_years(2000, 2, 29, 20240229), 24);
    assert_int_equal(dd_age_years(2026, 11, 22, 20261122), 0);
    assert_int_equal(dd_age_years(2026, 11, 23, 20261122), -1);
    /* From an identity number. */
    dd_idnum_info info;
    assert_int_equal(dd_idnum_check("440524188001010014", 18, TODAY, &info), DD_IDNUM_OK);
    assert_int_equal(dd_age_years(info.birth_year, info.birth_month, info.birth_day, TODAY), 146);
}

static void test_date_is_valid(void **state)
{
    (void)state;
    assert_true(dd_date_is_valid(2024, 2, 29));
    assert_false(dd_date_is_valid(2100, 2, 29));
    assert_true(dd_date_is_valid(2400, 2, 29));
    assert_false(dd_date_is_valid(2026, 6, 31));
    assert_true(dd_date_is_valid(2026, 12, 31));
    assert_false(dd_date_is_valid(2026, 0, 1));
    assert_false(dd_date_is_valid(0, 1, 1));
    assert_false(dd_date_is_valid(10000, 1, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standard_examples),
        cmocka_unit_test(test_check_char_by_hand),
        cmocka_unit_test(test_bad_length),
        cmocka_unit_test(test_bad_character),
        cmocka_unit_test(test_bad_date),
        cmocka_unit_test(test_bad_check),
        cmocka_unit_test(test_fifteen_digits),
        cmocka_unit_test(test_upgrade),
        cmocka_unit_test(test_sex_from_sequence),
        cmocka_unit_test(test_status_text),
        cmocka_unit_test(test_shanghai_date),
        cmocka_unit_test(test_shanghai_date_against_gmtime),
        cmocka_unit_test(test_age),
        cmocka_unit_test(test_date_is_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
