/*
 * test_divisions.c: the division table: the demo province, lookups, file
 * loading with its errors, and the write/load round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "divisions.h"
#include "error.h"

/* A temporary file holding text[0..len-1]; the caller unlinks and frees
 * the path. */
static char *temp_file_n(const char *text, size_t len)
{
    char *path = strdup("/tmp/doudi-test-divisions-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static void test_demo_shape(void **state)
{
    (void)state;
    dd_divisions *d = dd_divisions_demo();
    assert_int_equal(dd_divisions_count(d), 21 * 6 * 8 * 26);
    assert_int_equal(dd_divisions_count(d), 26208);
    char code[13];
    dd_divisions_code_at(d, 0, code);
    assert_string_equal(code, "440101001001");
    dd_divisions_code_at(d, 25, code);
    assert_string_equal(code, "440101001026");
    dd_divisions_code_at(d, 26, code);
    assert_string_equal(code, "440101002001");
    dd_divisions_code_at(d, 4 * 26, code);
    assert_string_equal(code, "440101101001");
    dd_divisions_code_at(d, dd_divisions_count(d) - 1, code);
    assert_string_equal(code, "442106104026");

    /* Every code has the documented shape, and the array is ascending. */
    char prev[13] = "";
    for (size_t i = 0; i < dd_divisions_count(d); i++) {
        dd_divisions_code_at(d, i, code);
        assert_true(strcmp(prev, code) < 0);
        memcpy(prev, code, 13);
        assert_memory_equal(code, "44", 2);
        int pp = (code[2] - '0') * 10 + (code[3] - '0');
        int cc = (code[4] - '0') * 10 + (code[5] - '0');
        int ttt = atoi((char[4]){code[6], code[7], code[8], 0});
        int vvv = atoi(code + 9);
        assert_true(pp >= 1 && pp <= 21);
        assert_true(cc >= 1 && cc <= 6);
        assert_true((ttt >= 1 && ttt <= 4) || (ttt >= 101 && ttt <= 104));
        assert_true(vvv >= 1 && vvv <= 26);
        assert_true(dd_divisions_contains(d, code));
    }
    dd_divisions_destroy(&d);
    assert_null(d);
    dd_divisions_destroy(&d); /* NULL is fine */
    dd_divisions_destroy(NULL);
}

static void test_contains(void **state)
{
    (void)state;
    dd_divisions *d = dd_divisions_demo();
    assert_true(dd_divisions_contains(d, "440106001001"));
    assert_true(dd_divisions_contains(d, "442106104026"));
    assert_true(dd_divisions_contains(d, "440101001001"));
    assert_false(dd_divisions_contains(d, "440106001027")); /* village 27 */
    assert_false(dd_divisions_contains(d, "440106005001")); /* township 005 */
    assert_false(dd_divisions_contains(d, "440106105001")); /* town 105 */
    assert_false(dd_divisions_contains(d, "440107001001")); /* county 07 */
    assert_false(dd_divisions_contains(d, "442201001001")); /* prefecture 22 */
    assert_false(dd_divisions_contains(d, "450106001001")); /* another province */
    assert_false(dd_divisions_contains(d, "440106001000")); /* a township, not a village */
    assert_false(dd_divisions_contains(d, "000000000000"));
    assert_false(dd_divisions_contains(d, "999999999999"));
    /* Not well-formed: never contained. */
    assert_false(dd_divisions_contains(d, "44010600100"));
    assert_false(dd_divisions_contains(d, "4401060010011"));
    assert_false(dd_divisions_contains(d, "44010600100a"));
    assert_false(dd_divisions_contains(d, ""));
    assert_false(dd_divisions_contains(NULL, "440106001001"));
    dd_divisions_destroy(&d);
}

static void test_contains_area(void **state)
{
    (void)state;
    dd_divisions *d = dd_divisions_demo();
    assert_true(dd_divisions_contains_area(d, "440106001001")); /* a village */
    assert_true(dd_divisions_contains_area(d, "440106001000")); /* its township */
    assert_true(dd_divisions_contains_area(d, "440106104000")); /* a town */
    assert_true(dd_divisions_contains_area(d, "440106000000")); /* its county */
    assert_true(dd_divisions_contains_area(d, "440100000000")); /* its prefecture */
    assert_true(dd_divisions_contains_area(d, "442100000000"));
    assert_true(dd_divisions_contains_area(d, "440000000000")); /* the province */
    assert_false(dd_divisions_contains_area(d, "440106005000")); /* no township 005 */
    assert_false(dd_divisions_contains_area(d, "440107000000"));
    assert_false(dd_divisions_contains_area(d, "442200000000"));
    assert_false(dd_divisions_contains_area(d, "450000000000"));
    assert_false(dd_divisions_contains_area(d, "000000000000"));
    assert_false(dd_divisions_contains_area(d, "440106001027"));
    assert_true(dd_divisions_contains_area(d, "440106001010"));  /* village 010 itself */
    assert_false(dd_divisions_contains_area(d, "440106001100")); /* no village 100 */
    assert_false(dd_divisions_contains_area(d, "44000000000"));
    dd_divisions_destroy(&d);
}

static void test_well_formed(void **state)
{
    (void)state;
    assert_true(dd_region_code_well_formed("440106001001", 12));
    assert_true(dd_region_code_well_formed("440106001001xyz", 12)); /* length given */
    assert_false(dd_region_code_well_formed("440106001001", 11));
    assert_false(dd_region_code_well_formed("4401060010012", 13));
    assert_false(dd_region_code_well_formed("44010600100a", 12));
    assert_false(dd_region_code_well_formed("44010600100 ", 12));
    assert_false(dd_region_code_well_formed("4401060\0" "1001", 12));
    assert_false(dd_region_code_well_formed("", 0));
}

/* Membership answered by the hash set agrees with a search of the listed
 * codes, for listed codes, their neighbours and random ones, also when the
 * table lists 000000000000 (the set's empty mark) and when it does not. */
static void test_contains_agrees_with_listing(void **state)
{
    (void)state;
    for (int with_zero = 0; with_zero < 2; with_zero++) {
        enum { LISTED = 3000 };
        static uint64_t codes[LISTED];
        uint64_t x = 88172645463325252ULL + (uint64_t)with_zero;
        size_t text_cap = LISTED * 14 + 16, len = 0;
        char *text = malloc(text_cap);
        assert_non_null(text);
        for (size_t i = 0; i < LISTED; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* Clustered like real codes: a few provinces and counties. */
            codes[i] = 440000000000ULL + (x % 4) * 10000000000ULL + (x >> 8) % 3000000;
            if (with_zero && i == 7)
                codes[i] = 0;
            len += (size_t)snprintf(text + len, text_cap - len, "%012llu\n",
                                    (unsigned long long)codes[i]);
        }
        char *path = temp_file_n(text, len);
        dd_divisions *d = NULL;
        assert_int_equal(dd_divisions_load_file(path, &d, NULL), 0);
        for (size_t i = 0; i < 4 * LISTED; i++) {
            uint64_t probe;
            if (i < LISTED)
                probe = codes[i];
            else if (i < 3 * LISTED)
                probe = codes[i % LISTED] + (i < 2 * LISTED ? 1 : (uint64_t)-1);
            else {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                probe = x % 1000000000000ULL;
            }
            if (probe >= 1000000000000ULL)
                continue;
            bool listed = false;
            for (size_t k = 0; k < LISTED && !listed; k++)
                listed = codes[k] == probe;
            char code[13];
            snprintf(code, sizeof(code), "%012llu", (unsigned long long)probe);
            if (dd_divisions_contains(d, code) != listed)
                fail_msg("%s: contains says %d, the listing %d", code, !listed, listed);
        }
        assert_int_equal(dd_divisions_contains(d, "000000000000"), with_zero);
        dd_divisions_destroy(&d);
        unlink(path);
        free(path);
        free(text);
    }
}

static void test_load_file(void **state)
{
    (void)state;
    static const char text[] = "\xef\xbb\xbf# a test table\n"
                           "\n"
                           "440106001002\tSome village\n"
                           "440106001001,Another village\r\n"
                           "  440106001003  \n"
                           "440106001001  ,duplicate, counted once\n"
                           "440106001004 # trailing comment\n"
                           "   # indented comment\n"
                           "110105001001";
    char *path = temp_file_n(text, sizeof(text) - 1);
    dd_divisions *d = NULL;
    char *err = NULL;
    assert_int_equal(dd_divisions_load_file(path, &d, &err), 0);
    assert_null(err);
    assert_non_null(d);
    assert_int_equal(dd_divisions_count(d), 5);
    char code[13];
    dd_divisions_code_at(d, 0, code);
    assert_string_equal(code, "110105001001");
    dd_divisions_code_at(d, 4, code);
    assert_string_equal(code, "440106001004");
    assert_true(dd_divisions_contains(d, "440106001002"));
    assert_true(dd_divisions_contains(d, "440106001003"));
    assert_false(dd_divisions_contains(d, "440106001005"));
    dd_divisions_destroy(&d);
    unlink(path);
    free(path);
}

/* Loads text and expects DD_ECONFIG with an error containing want. */
static void expect_error_n(const char *text, size_t len, const char *want)
{
    char *path = temp_file_n(text, len);
    dd_divisions *d = (dd_divisions *)&d; /* must be reset to NULL */
    char *err = NULL;
    assert_int_equal(dd_divisions_load_file(path, &d, &err), DD_ECONFIG);
    assert_null(d);
    assert_non_null(err);
    /* "path:line: reason" */
    assert_int_equal(strncmp(err, path, strlen(path)), 0);
    if (!strstr(err, want))
        fail_msg("error '%s' does not contain '%s'", err, want);
    free(err);
    unlink(path);
    free(path);
}

#define expect_error(literal, want) expect_error_n(literal, sizeof(literal) - 1, want)

static void test_load_errors(void **state)
{
    (void)state;
    expect_error("440106001001\n44010600100\n", ":2: code '44010600100' has 11 digits, expected 12");
    expect_error("4401060010011\n", ":1: code '4401060010011' has 13 digits, expected 12");
    expect_error("# x\n\n44010600a001\tname\n", ":3: 'a' at column 9 of '44010600a001' is not a digit");
    expect_error("440106001001 village\n", ":1: '440106001001 village' is not a 12-digit code followed by a tab or comma");
    expect_error("village,440106001001\n", ":1: 'v' at column 1");
    expect_error(",name\n", ":1: code '' has 0 digits");
    expect_error("\x01\x02\n", ":1: byte 0x01 at column 1");
    expect_error("44010600100\xff\n", ":1: byte 0xff at column 12 of '44010600100\\xff'");
    expect_error("", ":0: the file lists no division codes");
    expect_error("# only comments\n\n", ":2: the file lists no division codes");
    expect_error("440106001001\n4401\0" "06001001\n", ":2: line contains a NUL byte");
    /* A long bad field is quoted shortened. */
    expect_error("1234567890123456789012345678901234567890\n", "has 40 digits");
    expect_error("1234567890abcdefghijklmnopqrstuvwxyz\n", "column 11 of '1234567890abcdefghijklmn...'");
}

static void test_load_missing_file(void **state)
{
    (void)state;
    dd_divisions *d = NULL;
    char *err = NULL;
    assert_int_equal(dd_divisions_load_file("/nonexistent/doudi/divisions.txt", &d, &err), -ENOENT);
    assert_null(d);
    assert_non_null(err);
    assert_non_null(strstr(err, "/nonexistent/doudi/divisions.txt: "));
    free(err);
    /* error_text is optional. */
    assert_int_equal(dd_divisions_load_file("/nonexistent/doudi/divisions.txt", &d, NULL), -ENOENT);
    /* A directory is not a file of codes. */
    int rc = dd_divisions_load_file("/tmp", &d, &err);
    assert_true(rc == -EISDIR || rc < 0);
    assert_null(d);
    free(err);
}

static void test_round_trip(void **state)
{
    (void)state;
    dd_divisions *demo = dd_divisions_demo();
    char *path = strdup("/tmp/doudi-test-divisions-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(dd_divisions_write(demo, f), 0);
    assert_int_equal(fclose(f), 0);

    dd_divisions *back = NULL;
    char *err = NULL;
    assert_int_equal(dd_divisions_load_file(path, &back, &err), 0);
    assert_null(err);
    assert_int_equal(dd_divisions_count(back), dd_divisions_count(demo));
    char a[13], b[13];
    for (size_t i = 0; i < dd_divisions_count(demo); i++) {
        dd_divisions_code_at(demo, i, a);
        dd_divisions_code_at(back, i, b);
        assert_string_equal(a, b);
    }
    dd_divisions_destroy(&back);
    dd_divisions_destroy(&demo);
    unlink(path);
    free(path);
}

static void test_write_error(void **state)
{
    (void)state;
    dd_divisions *demo = dd_divisions_demo();
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        assert_true(dd_divisions_write(demo, full) < 0);
        fclose(full);
    }
    dd_divisions_destroy(&demo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_shape),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_contains_area),
        cmocka_unit_test(test_contains_agrees_with_listing),
        cmocka_unit_test(test_well_formed),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
