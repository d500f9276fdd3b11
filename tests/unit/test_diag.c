/*
 * test_diag.c: identity-number masking, level parsing, and the lines
 * actually written to stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "diag.h"
#include "error.h"

/* Masks a copy of in and compares with want and the count. */
static void expect_mask(const char *in, const char *want, size_t count)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", in);
    size_t n = dd_diag_mask_identity_numbers(buf);
    if (strcmp(buf, want) != 0 || n != count)
        fail_msg("mask('%s') = '%s' (%zu), expected '%s' (%zu)", in, buf, n, want, count);
}

static void test_mask_eighteen(void **state)
{
    (void)state;
    expect_mask("11010519491231002X", "110105********002X", 1);
    expect_mask("440524188001010014", "440524********0014", 1);
    expect_mask("id 440524188001010014 bad", "id 440524********0014 bad", 1);
    /* Masking does not judge validity: a wrong check digit is still a number. */
    expect_mask("id=110105194912310020;", "id=110105********0020;", 1);
    /* A lower-case x is not valid, but the number is still somebody's. */
    expect_mask("11010519491231002x", "110105********002x", 1);
    /* Letters or punctuation around it are boundaries. */
    expect_mask("(11010519491231002X)", "(110105********002X)", 1);
    expect_mask("a11010519491231002Xb", "a110105********002Xb", 1);
}

static void test_mask_fifteen(void **state)
{
    (void)state;
    expect_mask("110105491231002", "110105*****1002", 1);
    expect_mask("old 110105491231002.", "old 110105*****1002.", 1);
}

static void test_mask_leaves_other_numbers(void **state)
{
    (void)state;
    /* Longer digit runs are not identity numbers: a 19-digit sequence, a
     * 20-digit account, an int64. */
    expect_mask("1101051949123100231", "1101051949123100231", 0);
    expect_mask("seq 12345678901234567890", "seq 12345678901234567890", 0);
    expect_mask("9223372036854775807", "9223372036854775807", 0);
    /* Shorter ones neither: region codes, timestamps, 16 and 17 digits. */
    expect_mask("region 440106001001 at 1795311000000", "region 440106001001 at 1795311000000", 0);
    expect_mask("1234567890123456", "1234567890123456", 0);
    expect_mask("12345678901234567", "12345678901234567", 0);
    expect_mask("12345678901234", "12345678901234", 0);
    /* An X after 16 digits does not make an 18-character number. */
    expect_mask("1234567890123456X", "1234567890123456X", 0);
    expect_mask("", "", 0);
    expect_mask("no digits at all", "no digits at all", 0);
}

static void test_mask_several_and_edges(void **state)
{
    (void)state;
    /* At the very start and the very end of the string. */
    expect_mask("440524188001010014 and 11010519491231002X",
                "440524********0014 and 110105********002X", 2);
    /* Several kinds in one line. */
    expect_mask("a=11010519491231002X b=110105491231002 c=440106001001 d=440524188001010014",
                "a=110105********002X b=110105*****1002 c=440106001001 d=440524********0014", 3);
    /* Back to back: the X ends the first number. */
    expect_mask("11010519491231002X440524188001010014", "110105********002X440524********0014", 2);
    /* Separated by one non-digit. */
    expect_mask("110105491231002,110105491231002", "110105*****1002,110105*****1002", 2);
    /* Masking twice changes nothing more. */
    expect_mask("110105********002X", "110105********002X", 0);
}

static void test_level_parse(void **state)
{
    (void)state;
    dd_diag_level level = DD_ERROR;
    assert_int_equal(dd_diag_level_parse("debug", &level), 0);
    assert_int_equal(level, DD_DEBUG);
    assert_int_equal(dd_diag_level_parse("info", &level), 0);
    assert_int_equal(level, DD_INFO);
    assert_int_equal(dd_diag_level_parse("warn", &level), 0);
    assert_int_equal(level, DD_WARN);
    assert_int_equal(dd_diag_level_parse("error", &level), 0);
    assert_int_equal(level, DD_ERROR);
    assert_int_equal(dd_diag_level_parse("WARN", &level), 0);
    assert_int_equal(level, DD_WARN);
    level = DD_INFO;
    assert_int_equal(dd_diag_level_parse("warning", &level), DD_ECONFIG);
    assert_int_equal(dd_diag_level_parse("", &level), DD_ECONFIG);
    assert_int_equal(dd_diag_level_parse("trace", &level), DD_ECONFIG);
    assert_int_equal(dd_diag_level_parse("info ", &level), DD_ECONFIG);
    assert_int_equal(dd_diag_level_parse(NULL, &level), DD_ECONFIG);
    assert_int_equal(level, DD_INFO); /* untouched on failure */

    dd_diag_set_level(DD_WARN);
    assert_int_equal(dd_diag_get_level(), DD_WARN);
    dd_diag_set_level(DD_DEBUG);
    assert_int_equal(dd_diag_get_level(), DD_DEBUG);
}

/* Runs fn with stderr redirected to a file and returns what it wrote. */
static char *capture_stderr(void (*fn)(void))
{
    char path[] = "/tmp/doudi-test-diag-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    assert_true(size >= 0);
    char *text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(pread(fd, text, (size_t)size, 0), size);
    close(fd);
    return text;
}

static void write_some_lines(void)
{
    dd_diag_init("/usr/local/sbin/doudi-intake", DD_INFO);
    dd_debug("not shown %d", 1);
    dd_info("accepted person %s in %s", "11010519491231002X", "440106001001");
    dd_warn("two lines\nbecome one; old id %s", "110105491231002");
    dd_error("%s", "error line");
    dd_diag_set_level(DD_ERROR);
    dd_warn("not shown either");
}

static void test_output_lines(void **state)
{
    (void)state;
    char *out = capture_stderr(write_some_lines);
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}\\+08:00 "
                             "doudi-intake\\[[0-9]+\\] (info|warn|error): [^\n]*$",
                             REG_EXTENDED | REG_NEWLINE | REG_NOSUB),
                     0);
    int lines = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lines++;
        if (regexec(&re, line, 0, NULL, 0) != 0)
            fail_msg("line does not have the format: '%s'", line);
        if (lines == 1)
            assert_non_null(strstr(line, " info: accepted person 110105********002X in 440106001001"));
        if (lines == 2)
            assert_non_null(strstr(line, " warn: two lines become one; old id 110105*****1002"));
        if (lines == 3)
            assert_non_null(strstr(line, " error: error line"));
    }
    assert_int_equal(lines, 3);
    assert_null(strstr(out, "not shown"));
    assert_null(strstr(out, "19491231"));
    regfree(&re);
    free(out);
}

static void write_long_line(void)
{
    dd_diag_init("doudi-test", DD_DEBUG);
    /* An identity number far beyond the length a line keeps must be masked
     * before the line is cut, and one that straddles the cut too. */
    char *big = malloc(10000);
    assert_non_null(big);
    memset(big, 'a', 9999);
    big[9999] = '\0';
    memcpy(big + 4090, " 11010519491231002X ", 20);
    memcpy(big + 200, " 440524188001010014 ", 20);
    dd_info("%s", big);
    free(big);
}

static void test_long_line(void **state)
{
    (void)state;
    char *out = capture_stderr(write_long_line);
    assert_int_equal(strchr(out, '\n') - out + 1, (ptrdiff_t)strlen(out)); /* one line */
    assert_true(strlen(out) < 4096 + 200);
    assert_non_null(strstr(out, " [...]\n"));
    assert_non_null(strstr(out, "440524********0014"));
    assert_null(strstr(out, "1949123"));
    assert_null(strstr(out, "18800101"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_eighteen),
        cmocka_unit_test(test_mask_fifteen),
        cmocka_unit_test(test_mask_leaves_other_numbers),
        cmocka_unit_test(test_mask_several_and_edges),
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_output_lines),
        cmocka_unit_test(test_long_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
