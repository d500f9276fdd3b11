/*
 * test_doudictl_format.c: how doudictl writes money, dates, programs and
 * rule parameters, and reads programs and identity numbers
 * (services/doudictl/format.c, compiled into this test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "format.h"
#include "doudi/event.pb-c.h"

#define TODAY 20261122

static void test_fen_yuan(void **state)
{
    (void)state;
    char buf[CTL_YUAN_MAX];
    assert_string_equal(ctl_fen_yuan(0, buf), "0.00");
    assert_string_equal(ctl_fen_yuan(5, buf), "0.05");
    assert_string_equal(ctl_fen_yuan(50, buf), "0.50");
    assert_string_equal(ctl_fen_yuan(100, buf), "1.00");
    assert_string_equal(ctl_fen_yuan(123456, buf), "1234.56");
    assert_string_equal(ctl_fen_yuan(-5, buf), "-0.05");
    assert_string_equal(ctl_fen_yuan(-123456, buf), "-1234.56");
    assert_string_equal(ctl_fen_yuan(INT64_MAX, buf), "92233720368547758.07");
    assert_string_equal(ctl_fen_yuan(INT64_MIN, buf), "-92233720368547758.08");
}

/* The table and the .proto agree: every program of the enum has an entry
 * named like it, in enum order, and no entry is missing from the enum. */
static void test_programs_match_proto(void **state)
{
    (void)state;
    size_t n;
    const ctl_program *p = ctl_programs(&n);
    const ProtobufCEnumDescriptor *d = &doudi__program__descriptor;
    size_t defined = 0;
    for (unsigned i = 0; i < d->n_values; i++) {
        int v = d->values[i].value;
        if (v == 0)
            continue;
        defined++;
        const ctl_program *found = ctl_program_find(v);
        assert_non_null(found);
        assert_string_equal(found->name, d->values[i].name + strlen("PROGRAM_"));
        assert_true(found->chinese[0] != '\0');
        assert_true(found->english[0] != '\0');
    }
    assert_int_equal(n, defined);
    for (size_t i = 1; i < n; i++)
        assert_true(p[i - 1].value < p[i].value);
    assert_null(ctl_program_find(0));
    assert_null(ctl_program_find(99));
}

static void test_program_parse(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int value; /* 0: not a program */
    } cases[] = {
        { "dibao", 1 },
        { "DIBAO", 1 },
        { "Dibao", 1 },
        { "PROGRAM_DIBAO", 1 },
        { "program_tekun", 2 },
        { "dibian", 3 },
        { "rigid", 4 },
        { "temp", 5 },
        { "age", 6 },
        { "dis_living", 7 },
        { "dis-living", 7 },
        { "DIS_CARE", 8 },
        { "低保", 1 },
        { "特困", 2 },
        { "低保边缘", 3 },
        { "刚性支出困难", 4 },
        { "临时救助", 5 },
        { "高龄津贴", 6 },
        { "困难残疾人生活补贴", 7 },
        { "重度残疾人护理补贴", 8 },
        { "", 0 },
        { "dib", 0 },
        { "dibaox", 0 },
        { "PROGRAM_", 0 },
        { "UNSPECIFIED", 0 },
        { "dis living", 0 },
        { "低", 0 },
        { "1", 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const ctl_program *p = ctl_program_parse(cases[i].text);
        if (cases[i].value == 0) {
            if (p)
                fail_msg("'%s' was read as %s", cases[i].text, p->name);
        } else {
            if (!p)
                fail_msg("'%s' was not read", cases[i].text);
            assert_int_equal(p->value, cases[i].value);
        }
    }
    assert_null(ctl_program_parse(NULL));
}

static void test_program_label(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(ctl_program_label(1, buf), "DIBAO 低保");
    assert_string_equal(ctl_program_label(8, buf), "DIS_CARE 重度残疾人护理补贴");
    assert_string_equal(ctl_program_label(42, buf), "42");
}

static void test_display_width(void **state)
{
    (void)state;
    assert_int_equal(ctl_display_width(""), 0);
    assert_int_equal(ctl_display_width("abc"), 3);
    assert_int_equal(ctl_display_width("低保"), 4);
    assert_int_equal(ctl_display_width("DIBAO 低保"), 10);
    assert_int_equal(ctl_display_width("困难残疾人生活补贴"), 18);
    assert_int_equal(ctl_display_width("é"), 1);         /* two bytes, one column */
    assert_int_equal(ctl_display_width("≥"), 1);         /* U+2265, narrow */
    assert_int_equal(ctl_display_width("ＡＢ"), 4);      /* full-width forms */
    assert_int_equal(ctl_display_width("\xff" "a"), 2);  /* an invalid byte is one */
    assert_int_equal(ctl_display_width("\xe4\xbd"), 2);  /* a cut sequence: each byte */
}

static void test_put_padded(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    ctl_put_padded(f, "低保", 8);
    fputc('|', f);
    ctl_put_padded(f, "TEMP", 6);
    fputc('|', f);
    ctl_put_padded(f, "too wide", 3);
    fputc('|', f);
    fclose(f);
    assert_string_equal(text, "低保    |TEMP  |too wide|");
    free(text);
}

/* What ctl_put_wrapped writes for text starting at column, as a string. */
static char *wrapped(const char *text, size_t column, size_t indent, size_t width)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    ctl_put_wrapped(f, text, column, indent, width);
    fclose(f);
    return out;
}

static void test_put_wrapped(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t column, indent, width;
        const char *expect;
    } cases[] = {
        { "short enough", 0, 0, 80, "short enough" },
        { "", 5, 0, 10, "" },
        { "a b c", 0, 2, 3, "a b\n  c" },
        { "one two three four", 4, 4, 14, "one two\n    three four" },
        /* A word wider than the room left moves down; wider than any line,
         * it stays whole. */
        { "abcdef gh", 0, 0, 4, "abcdef\ngh" },
        { "xxxxxxxxxx", 10, 0, 12, "xxxxxxxxxx" },
        { "ab xxxxxxxxxx", 0, 1, 5, "ab\n xxxxxxxxxx" },
        /* Widths are display columns: each of these characters takes two. */
        { "低保 低保", 0, 0, 6, "低保\n低保" },
        { "低保 低保", 0, 0, 9, "低保 低保" },
        /* Spaces inside a line are kept; the one at a break is not. */
        { "a  b", 0, 0, 10, "a  b" },
        { "aa  bb", 0, 0, 4, "aa\nbb" },
        { "exact fit", 0, 0, 9, "exact fit" },
        { "exact fit", 1, 0, 9, "exact\nfit" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = wrapped(cases[i].text, cases[i].column, cases[i].indent, cases[i].width);
        if (strcmp(got, cases[i].expect) != 0)
            fail_msg("case %zu: '%s' wrapped as '%s', not '%s'", i, cases[i].text, got,
                     cases[i].expect);
        free(got);
    }
}

static void test_format_date(void **state)
{
    (void)state;
    char buf[16];
    assert_string_equal(ctl_format_date(20260105, buf), "2026-01-05");
    assert_string_equal(ctl_format_date(19380312, buf), "1938-03-12");
    assert_string_equal(ctl_format_date(0, buf), "-");
    assert_string_equal(ctl_format_date(20260231, buf), "20260231");
    assert_string_equal(ctl_format_date(-5, buf), "-5");
}

static void test_parameter_text(void **state)
{
    (void)state;
    char buf[96];
    assert_string_equal(ctl_parameter_text("standard_fen", 90000, buf), "90000 (900.00 yuan)");
    assert_string_equal(ctl_parameter_text("own_income_fen", 0, buf), "0 (0.00 yuan)");
    assert_string_equal(ctl_parameter_text("loss_fen", -150, buf), "-150 (-1.50 yuan)");
    assert_string_equal(ctl_parameter_text("tekun_multiplier_permille", 1300, buf),
                        "1300 (130%)");
    assert_string_equal(ctl_parameter_text("x_permille", 1255, buf), "1255 (125.5%)");
    assert_string_equal(ctl_parameter_text("x_permille", 5, buf), "5 (0.5%)");
    assert_string_equal(ctl_parameter_text("x_permille", -15, buf), "-15 (-1.5%)");
    assert_string_equal(ctl_parameter_text("members", 3, buf), "3");
    /* Only the suffix counts. */
    assert_string_equal(ctl_parameter_text("fen", 7, buf), "7");
    assert_string_equal(ctl_parameter_text("fen_count", 7, buf), "7");
    assert_string_equal(ctl_parameter_text("standard_fen", INT64_MIN, buf),
                        "-9223372036854775808 (-92233720368547758.08 yuan)");
}

static void test_person_id_read(void **state)
{
    (void)state;
    char out[19];
    bool upgraded;
    const char *why = NULL;

    assert_int_equal(ctl_person_id_read("440101193803120223", TODAY, out, &upgraded, &why), 0);
    assert_string_equal(out, "440101193803120223");
    assert_false(upgraded);

    assert_int_equal(ctl_person_id_read("  440101193803120223\t", TODAY, out, &upgraded, &why),
                     0);
    assert_string_equal(out, "440101193803120223");

    /* A lower-case check character is read as X. */
    assert_int_equal(ctl_person_id_read("11010519491231002x", TODAY, out, &upgraded, &why), 0);
    assert_string_equal(out, "11010519491231002X");
    assert_int_equal(ctl_person_id_read("11010519491231002X", TODAY, out, &upgraded, &why), 0);
    assert_string_equal(out, "11010519491231002X");

    /* The old 15-digit form is upgraded. */
    assert_int_equal(ctl_person_id_read("110105491231002", TODAY, out, &upgraded, &why), 0);
    assert_string_equal(out, "11010519491231002X");
    assert_true(upgraded);

    /* Refusals, each with a reason. */
    static const char *bad[] = {
        "",
        "4401011938031202",     /* 16 */
        "440101193803120224",   /* check */
        "440101193802300223",   /* 30 February */
        "440101203803120223",   /* born after today */
        "44010119380312022a",   /* character */
        "x40101193803120223",
        "110105491331002",      /* 15 digits, month 13 */
        "440101193803120223 9", /* trailing text */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (ctl_person_id_read(bad[i], TODAY, out, &upgraded, &why) != DD_EPROTO)
            fail_msg("'%s' was read", bad[i]);
        assert_non_null(why);
        assert_false(upgraded);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fen_yuan),
        cmocka_unit_test(test_programs_match_proto),
        cmocka_unit_test(test_program_parse),
        cmocka_unit_test(test_program_label),
        cmocka_unit_test(test_display_width),
        cmocka_unit_test(test_put_padded),
        cmocka_unit_test(test_put_wrapped),
        cmocka_unit_test(test_format_date),
        cmocka_unit_test(test_parameter_text),
        cmocka_unit_test(test_person_id_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
