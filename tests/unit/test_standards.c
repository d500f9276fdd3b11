/*
 * test_standards.c: the standards table: longest prefix, effective dates,
 * inheritance across rows that change on different dates, regions with no
 * row, every load error, the write/parse round trip, and the demo table
 * (every demo village has a standard; deploy/standards-demo.csv is its
 * text).
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
#include "standards.h"

/* The embedded demo text, internal to standards.c. */
extern const char elig__standards_demo_csv[];

#define HEADER_NAMES                                                                    \
    "prefix,effective,dibao_urban_fen,dibao_rural_fen,disposable_income_monthly_fen,"  \
    "age_band_start,age_70_fen,age_80_fen,age_90_fen,age_100_fen,"                      \
    "dis_living_fen,dis_care_fen,care_full_fen,care_half_fen,care_self_fen"
#define HEADER HEADER_NAMES "\n"

#define COLUMN_LIST                                                                     \
    "prefix, effective, dibao_urban_fen, dibao_rural_fen, disposable_income_monthly_fen, " \
    "age_band_start, age_70_fen, age_80_fen, age_90_fen, age_100_fen, dis_living_fen, "    \
    "dis_care_fen, care_full_fen, care_half_fen, care_self_fen"

/* A complete province row. */
#define ROOT44 "44,2025-01-01,110000,90000,440000,80,0,5000,10000,30000,17000,20000,114000,57000,19000\n"

/* The first row a version names: the most specific row in force. */
static void assert_primary_version(const char *version, const char *expected)
{
    size_t n = strcspn(version, "+");
    char primary[96];
    memcpy(primary, version, n);
    primary[n] = '\0';
    assert_string_equal(primary, expected);
}

static elig_standards *parse_ok(const char *text)
{
    elig_standards *t = NULL;
    char *err = NULL;
    int rc = elig_standards_parse(text, strlen(text), "t.csv", &t, &err);
    if (rc != 0)
        fail_msg("parse failed (%d): %s", rc, err ? err : "(no text)");
    assert_null(err);
    assert_non_null(t);
    return t;
}

static elig_standard lookup_ok(const elig_standards *t, const char *region, int32_t date)
{
    elig_standard s;
    memset(&s, 0, sizeof(s));
    int rc = elig_standards_lookup(t, region, date, &s);
    if (rc != 0)
        fail_msg("lookup %s on %d: %d (%s)", region, (int)date, rc, dd_strerror(rc));
    return s;
}

static void assert_standard_equal(const elig_standard *a, const elig_standard *b)
{
    assert_string_equal(a->version, b->version);
    assert_int_equal(a->dibao_urban_fen, b->dibao_urban_fen);
    assert_int_equal(a->dibao_rural_fen, b->dibao_rural_fen);
    assert_int_equal(a->disposable_income_monthly_fen, b->disposable_income_monthly_fen);
    assert_int_equal(a->age_band_start, b->age_band_start);
    assert_int_equal(a->age_70_fen, b->age_70_fen);
    assert_int_equal(a->age_80_fen, b->age_80_fen);
    assert_int_equal(a->age_90_fen, b->age_90_fen);
    assert_int_equal(a->age_100_fen, b->age_100_fen);
    assert_int_equal(a->dis_living_fen, b->dis_living_fen);
    assert_int_equal(a->dis_care_fen, b->dis_care_fen);
    assert_int_equal(a->care_full_fen, b->care_full_fen);
    assert_int_equal(a->care_half_fen, b->care_half_fen);
    assert_int_equal(a->care_self_fen, b->care_self_fen);
}

/* What elig_standards_write produces, as a malloc'ed string. */
static char *written(const elig_standards *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(elig_standards_write(t, f), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* ---- lookup ------------------------------------------------------------ */

static void test_longest_prefix_wins(void **state)
{
    (void)state;
    /* Each level sets its own urban standard; rural comes from 44. */
    elig_standards *t = parse_ok(HEADER ROOT44
                                 "4401,2025-01-01,120000,,,,,,,,,,,,\n"
                                 "440106,2025-01-01,130000,,,,,,,,,,,,\n"
                                 "440106001,2025-01-01,131000,,,,,,,,,,,,\n"
                                 "440106001002,2025-01-01,132000,,,,,,,,,,,,\n"
                                 "440107,2026-01-01,125000,,,,,,,,,,,,\n");
    assert_int_equal(elig_standards_rows(t), 6);
    static const struct {
        const char *region;
        int32_t date;
        int64_t urban;
        const char *version;
    } cases[] = {
        {"440106001002", 20250601, 132000, "440106001002@20250101"}, /* the village itself */
        {"440106001001", 20250601, 131000, "440106001@20250101"},    /* its township */
        {"440106002001", 20250601, 130000, "440106@20250101"},       /* its district */
        {"440105001001", 20250601, 120000, "4401@20250101"},         /* its city */
        {"440201001001", 20250601, 110000, "44@20250101"},           /* another city */
        {"440106001002", 20250101, 132000, "440106001002@20250101"}, /* the day of */
        /* A longer prefix whose only row is not yet in force does not count. */
        {"440107001001", 20251231, 120000, "4401@20250101"},
        {"440107001001", 20260101, 125000, "440107@20260101"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        elig_standard s = lookup_ok(t, cases[i].region, cases[i].date);
        assert_int_equal(s.dibao_urban_fen, cases[i].urban);
        assert_primary_version(s.version, cases[i].version);
        assert_int_equal(s.dibao_rural_fen, 90000);
        assert_int_equal(s.age_band_start, 80);
        assert_int_equal(s.care_self_fen, 19000);
    }
    elig_standards_destroy(&t);
}

static void test_effective_date_change(void **state)
{
    (void)state;
    /* The demo's 4401 raises its standard on 2026-07-01. */
    elig_standards *t = elig_standards_demo();
    elig_standard before = lookup_ok(t, "440101001001", 20260630);
    elig_standard on = lookup_ok(t, "440101001001", 20260701);
    elig_standard after = lookup_ok(t, "440101001001", 20260702);
    assert_int_equal(before.dibao_urban_fen, 136800);
    assert_int_equal(before.dibao_rural_fen, 136800);
    assert_primary_version(before.version, "4401@20250101");
    assert_int_equal(on.dibao_urban_fen, 140000);
    assert_int_equal(on.dibao_rural_fen, 140000);
    assert_primary_version(on.version, "4401@20260701");
    assert_standard_equal(&on, &after);
    assert_int_equal(lookup_ok(t, "440101001001", 20991231).dibao_urban_fen, 140000);
    assert_int_equal(on.age_band_start, 70);
    assert_int_equal(on.age_70_fen, 3000);
    assert_int_equal(on.age_80_fen, 10000);
    assert_int_equal(on.age_90_fen, 20000);
    assert_int_equal(on.age_100_fen, 30000);

    /* Another city does not move on that date. */
    elig_standard other_before = lookup_ok(t, "440201001001", 20260630);
    elig_standard other_on = lookup_ok(t, "440201001001", 20260701);
    assert_standard_equal(&other_before, &other_on);
    assert_int_equal(other_on.dibao_urban_fen, 110000);
    assert_int_equal(other_on.dibao_rural_fen, 90000);
    assert_primary_version(other_on.version, "44@20260101");
    assert_int_equal(other_on.age_band_start, 80);
    assert_int_equal(other_on.age_70_fen, 0);

    /* The province's own change on 2026-01-01. */
    assert_int_equal(lookup_ok(t, "440201001001", 20251231).disposable_income_monthly_fen, 440000);
    assert_primary_version(lookup_ok(t, "440201001001", 20251231).version, "44@20250101");
    assert_int_equal(lookup_ok(t, "440201001001", 20260101).disposable_income_monthly_fen, 458300);
    elig_standards_destroy(&t);
}

static void test_inheritance_across_dates(void **state)
{
    (void)state;
    /* 44 raises disposable income on 2026-01-01; 4401 raised its 低保 on
     * 2025-07-01 and leaves disposable income to the province. */
    elig_standards *t = parse_ok(
        HEADER ROOT44
        "44,2026-01-01,110000,90000,458300,80,0,5000,10000,30000,17000,20000,114000,57000,19000\n"
        "4401,2025-07-01,136800,136800,,70,3000,,,,,,,,\n"
        "4401,2026-03-01,,,,,,,,,,22000,,,\n");

    elig_standard s = lookup_ok(t, "440101001001", 20250630);
    assert_primary_version(s.version, "44@20250101");
    assert_int_equal(s.dibao_urban_fen, 110000);
    assert_int_equal(s.age_band_start, 80);

    s = lookup_ok(t, "440101001001", 20250701);
    assert_primary_version(s.version, "4401@20250701");
    /* Every row a value came from is named, so a change of any is seen. */
    assert_string_equal(s.version, "4401@20250701+44@20250101");
    assert_int_equal(s.dibao_urban_fen, 136800);
    assert_int_equal(s.dibao_rural_fen, 136800);
    assert_int_equal(s.disposable_income_monthly_fen, 440000);
    assert_int_equal(s.age_band_start, 70);
    assert_int_equal(s.age_70_fen, 3000);
    assert_int_equal(s.age_80_fen, 5000); /* from 44 */

    /* The brief's case: 4401's 低保, 44's new disposable income. */
    s = lookup_ok(t, "440101001001", 20260201);
    assert_string_equal(s.version, "4401@20250701+44@20260101");
    assert_int_equal(s.dibao_urban_fen, 136800);
    assert_int_equal(s.disposable_income_monthly_fen, 458300);
    assert_int_equal(s.care_full_fen, 114000);

    /* A newer 4401 row replaces the older one whole: its empty cells come
     * from 44, not from 4401's row of 2025-07-01. */
    s = lookup_ok(t, "440101001001", 20260301);
    assert_primary_version(s.version, "4401@20260301");
    assert_int_equal(s.dis_care_fen, 22000);
    assert_int_equal(s.dibao_urban_fen, 110000);
    assert_int_equal(s.age_band_start, 80);
    assert_int_equal(s.disposable_income_monthly_fen, 458300);
    elig_standards_destroy(&t);

    /* In the demo: district 440106 (2025-01-01) inherits 4401's raise of
     * 2026-07-01 and keeps its own care allowance. */
    t = elig_standards_demo();
    s = lookup_ok(t, "440106001001", 20260630);
    assert_primary_version(s.version, "440106@20250101");
    assert_int_equal(s.dibao_urban_fen, 136800);
    assert_int_equal(s.dis_care_fen, 25000);
    assert_int_equal(s.dis_living_fen, 21000);
    s = lookup_ok(t, "440106001001", 20260701);
    assert_primary_version(s.version, "440106@20250101");
    assert_int_equal(s.dibao_urban_fen, 140000);
    assert_int_equal(s.dis_care_fen, 25000);
    assert_int_equal(s.age_band_start, 70);
    /* Its neighbour district has 4401's allowance. */
    assert_int_equal(lookup_ok(t, "440105001001", 20260701).dis_care_fen, 22000);
    /* 4414 takes the province's disposable income, which changes on
     * 2026-01-01 while 4414's own row does not. */
    s = lookup_ok(t, "441401001001", 20251231);
    assert_primary_version(s.version, "4414@20250101");
    assert_int_equal(s.disposable_income_monthly_fen, 440000);
    assert_int_equal(s.dibao_rural_fen, 82000);
    s = lookup_ok(t, "441401001001", 20260101);
    assert_primary_version(s.version, "4414@20250101");
    assert_int_equal(s.disposable_income_monthly_fen, 458300);
    assert_int_equal(s.dibao_urban_fen, 100000);
    elig_standards_destroy(&t);
}

static void test_not_found_and_invalid(void **state)
{
    (void)state;
    elig_standards *t = elig_standards_demo();
    elig_standard s, untouched;
    memset(&s, 0x5a, sizeof(s));
    memcpy(&untouched, &s, sizeof(s));
    /* Another province, and a date before the first row. */
    assert_int_equal(elig_standards_lookup(t, "450101001001", 20260701, &s), DD_NOTFOUND);
    assert_int_equal(elig_standards_lookup(t, "440101001001", 20241231, &s), DD_NOTFOUND);
    assert_int_equal(elig_standards_lookup(t, "000000000000", 20260701, &s), DD_NOTFOUND);
    /* Malformed codes. */
    assert_int_equal(elig_standards_lookup(t, "44010100100", 20260701, &s), -EINVAL);
    assert_int_equal(elig_standards_lookup(t, "4401010010011", 20260701, &s), -EINVAL);
    assert_int_equal(elig_standards_lookup(t, "44010100100a", 20260701, &s), -EINVAL);
    assert_int_equal(elig_standards_lookup(t, "4401 1001001", 20260701, &s), -EINVAL);
    assert_int_equal(elig_standards_lookup(t, "", 20260701, &s), -EINVAL);
    assert_int_equal(elig_standards_lookup(t, NULL, 20260701, &s), -EINVAL);
    assert_int_equal(elig_standards_lookup(NULL, "440101001001", 20260701, &s), -EINVAL);
    assert_memory_equal(&s, &untouched, sizeof(s));
    /* A region that exists nowhere in the division table still gets its
     * province's standard: the table knows prefixes, not villages. */
    assert_primary_version(lookup_ok(t, "449999999999", 20260701).version, "44@20260101");
    elig_standards_destroy(&t);
}

/* ---- errors ------------------------------------------------------------ */

static void expect_error_n(const char *text, size_t len, const char *want)
{
    elig_standards *t = (elig_standards *)&t; /* must be reset to NULL */
    char *err = NULL;
    assert_int_equal(elig_standards_parse(text, len, "t.csv", &t, &err), DD_ECONFIG);
    assert_null(t);
    assert_non_null(err);
    if (strcmp(err, want) != 0)
        fail_msg("error\n  '%s'\nexpected\n  '%s'", err, want);
    free(err);
    /* error_text is optional. */
    assert_int_equal(elig_standards_parse(text, len, "t.csv", &t, NULL), DD_ECONFIG);
    assert_null(t);
}

#define expect_error(literal, want) expect_error_n(literal, sizeof(literal) - 1, want)

/* A 4401 row with one cell replaced, for the cell errors. */
#define ROW4401(urban, rural, start, effective, prefix) \
    prefix "," effective "," urban "," rural ",,"   start ",,,,,,,,,\n"

static void test_header_errors(void **state)
{
    (void)state;
    expect_error("prefix,effective,dibao_urbn_fen\n",
                 "t.csv:1: unknown column 'dibao_urbn_fen' (columns are " COLUMN_LIST ")");
    expect_error("# comment\nprefix,effective,dibao_urban_fen,Dibao_rural_fen\n",
                 "t.csv:2: unknown column 'Dibao_rural_fen' (columns are " COLUMN_LIST ")");
    expect_error("prefix,,effective\n",
                 "t.csv:1: the header's column 2 has no name (columns are " COLUMN_LIST ")");
    expect_error("prefix,effective,dis_care_fen,dibao_urban_fen,dis_care_fen\n",
                 "t.csv:1: column 'dis_care_fen' appears twice in the header");
    expect_error("prefix,effective,prefix\n", "t.csv:1: column 'prefix' appears twice in the header");
    expect_error("effective,prefix,effective\n",
                 "t.csv:1: column 'effective' appears twice in the header");
    expect_error("prefix,effective,dibao_urban_fen,dibao_rural_fen,disposable_income_monthly_fen,"
                 "age_band_start,age_70_fen,age_80_fen,age_90_fen,age_100_fen,"
                 "dis_living_fen,dis_care_fen,care_full_fen,care_half_fen\n" ROOT44,
                 "t.csv:1: the header lacks column 'care_self_fen' (every column is named; "
                 "leave a cell empty to inherit)");
    expect_error("effective,dibao_urban_fen\n", "t.csv:1: the header lacks column 'prefix'");
    expect_error("prefix,dibao_urban_fen\n", "t.csv:1: the header lacks column 'effective'");
    expect_error("", "t.csv:1: no header line naming the columns (prefix,effective,...)");
    expect_error("# only\n\n# comments\n",
                 "t.csv:3: no header line naming the columns (prefix,effective,...)");
    expect_error(HEADER, "t.csv:1: the table has no rows");
    expect_error(HEADER "# nothing yet\n", "t.csv:2: the table has no rows");
}

static void test_cell_errors(void **state)
{
    (void)state;
    expect_error(HEADER "44,2025-01-01,110000,90000,440000,80,0,5000,10000,30000,17000,20000,114000,57000\n",
                 "t.csv:2: the row has 14 cells, the header names 15");
    expect_error(HEADER ROOT44 "4401,2025-01-01,,,,,,,,,,,,,,\n",
                 "t.csv:3: the row has 16 cells, the header names 15");
    /* Amounts. */
    expect_error(HEADER "44,2025-01-01,abc,90000,440000,80,0,5000,10000,30000,17000,20000,114000,57000,19000\n",
                 "t.csv:2: column dibao_urban_fen: 'abc' is not an amount in fen");
    expect_error(HEADER ROOT44 ROW4401("-100", "", "", "2025-01-01", "4401"),
                 "t.csv:3: column dibao_urban_fen: '-100' is not an amount in fen");
    expect_error(HEADER ROOT44 ROW4401("1368.00", "", "", "2025-01-01", "4401"),
                 "t.csv:3: column dibao_urban_fen: '1368.00' is not an amount in fen");
    expect_error(HEADER ROOT44 ROW4401("", "+900", "", "2025-01-01", "4401"),
                 "t.csv:3: column dibao_rural_fen: '+900' is not an amount in fen");
    expect_error(HEADER ROOT44 ROW4401("", "9 00", "", "2025-01-01", "4401"),
                 "t.csv:3: column dibao_rural_fen: '9 00' is not an amount in fen");
    expect_error(HEADER ROOT44 ROW4401("a\xff", "", "", "2025-01-01", "4401"),
                 "t.csv:3: column dibao_urban_fen: 'a\\xff' is not an amount in fen");
    expect_error(HEADER ROOT44 ROW4401("12345678901", "", "", "2025-01-01", "4401"),
                 "t.csv:3: column dibao_urban_fen: '12345678901' is too large for an amount "
                 "in fen (at most 9999999999)");
    expect_error(HEADER ROOT44 ROW4401("abcdefghijklmnopqrstuvwxyz0123", "", "", "2025-01-01", "4401"),
                 "t.csv:3: column dibao_urban_fen: 'abcdefghijklmnopqrstuvwx...' is not an amount in fen");
    /* The age band start. */
    expect_error(HEADER ROOT44 ROW4401("", "", "65", "2025-01-01", "4401"),
                 "t.csv:3: column age_band_start: '65' is not an age band start (70, 80, 90 or 100)");
    expect_error(HEADER ROOT44 ROW4401("", "", "eighty", "2025-01-01", "4401"),
                 "t.csv:3: column age_band_start: 'eighty' is not an age band start (70, 80, 90 or 100)");
    /* Prefixes. */
    expect_error(HEADER ROOT44 ROW4401("", "", "", "2025-01-01", "440"),
                 "t.csv:3: column prefix: '440' has 3 digits; a prefix has 2, 4, 6, 9 or 12 "
                 "(province, prefecture, county, township, village)");
    expect_error(HEADER ROOT44 ROW4401("", "", "", "2025-01-01", "4401060010011"),
                 "t.csv:3: column prefix: '4401060010011' has 13 digits; a prefix has 2, 4, 6, 9 or 12 "
                 "(province, prefecture, county, township, village)");
    expect_error(HEADER ROOT44 ROW4401("", "", "", "2025-01-01", "44O1"),
                 "t.csv:3: column prefix: '44O1' is not a region prefix (2, 4, 6, 9 or 12 digits)");
    expect_error(HEADER ROOT44 ROW4401("", "", "", "2025-01-01", ""),
                 "t.csv:3: column prefix: empty (every row names a region prefix)");
    /* Dates. */
    expect_error(HEADER ROOT44 ROW4401("", "", "", "2026-02-29", "4401"),
                 "t.csv:3: column effective: '2026-02-29' is not a date (YYYY-MM-DD)");
    expect_error(HEADER ROOT44 ROW4401("", "", "", "2026-13-01", "4401"),
                 "t.csv:3: column effective: '2026-13-01' is not a date (YYYY-MM-DD)");
    expect_error(HEADER ROOT44 ROW4401("", "", "", "2026-04-31", "4401"),
                 "t.csv:3: column effective: '2026-04-31' is not a date (YYYY-MM-DD)");
    expect_error(HEADER ROOT44 ROW4401("", "", "", "2026-00-10", "4401"),
                 "t.csv:3: column effective: '2026-00-10' is not a date (YYYY-MM-DD)");
    expect_error(HEADER ROOT44 ROW4401("", "", "", "2026/07/01", "4401"),
                 "t.csv:3: column effective: '2026/07/01' is not a date (YYYY-MM-DD)");
    expect_error(HEADER ROOT44 ROW4401("", "", "", "20260230", "4401"),
                 "t.csv:3: column effective: '20260230' is not a date (YYYY-MM-DD)");
    expect_error(HEADER ROOT44 ROW4401("", "", "", "2026-7-1", "4401"),
                 "t.csv:3: column effective: '2026-7-1' is not a date (YYYY-MM-DD)");
    expect_error(HEADER ROOT44 ROW4401("", "", "", "", "4401"),
                 "t.csv:3: column effective: empty (every row has an effective date)");
    /* A NUL byte. */
    expect_error(HEADER ROOT44 "44\0" "01,2025-01-01,,,,,,,,,,,,,\n",
                 "t.csv:3: the line contains a NUL byte (not a text file?)");
    /* A leap day is a date. */
    elig_standards *t = parse_ok(HEADER ROOT44 ROW4401("", "", "", "2028-02-29", "4401"));
    assert_primary_version(lookup_ok(t, "440101001001", 20280229).version, "4401@20280229");
    elig_standards_destroy(&t);
}

static void test_table_errors(void **state)
{
    (void)state;
    expect_error(HEADER "44,2025-01-01,110000,,440000,80,0,5000,10000,30000,17000,20000,114000,57000,19000\n",
                 "t.csv:2: province row 44 effective 2025-01-01 leaves column dibao_rural_fen "
                 "empty; a province row (2 digits) must define every column");
    expect_error(HEADER ROOT44 "44,2026-01-01,110000,90000,440000,80,0,5000,10000,30000,17000,20000,114000,57000,\n",
                 "t.csv:3: province row 44 effective 2026-01-01 leaves column care_self_fen "
                 "empty; a province row (2 digits) must define every column");
    expect_error(HEADER ROOT44 "4401,2025-01-01,120000,,,,,,,,,,,,\n" ROOT44,
                 "t.csv:4: duplicate row for prefix 44 effective 2025-01-01 (first at line 2)");
    /* The same date written either way is the same date; the report names
     * the earliest second occurrence and the first. */
    expect_error(HEADER ROOT44 "4401,2026-07-01,120000,,,,,,,,,,,,\n"
                        "4401,20260701,120000,,,,,,,,,,,,\n"
                        "4401, 2026-07-01 ,120000,,,,,,,,,,,,\n",
                 "t.csv:4: duplicate row for prefix 4401 effective 2026-07-01 (first at line 3)");
    expect_error(HEADER ROOT44 "4501,2025-01-01,120000,,,,,,,,,,,,\n",
                 "t.csv:3: row 4501 effective 2025-01-01 has no province row 45 to inherit from");
    expect_error(HEADER ROOT44 "4401,2024-06-01,120000,,,,,,,,,,,,\n",
                 "t.csv:3: row 4401 effective 2024-06-01 takes effect before its province 44 "
                 "has a row (the first is effective 2025-01-01)");
    /* Even a complete row needs its province. */
    expect_error(HEADER "4401,2025-01-01,110000,90000,440000,80,0,5000,10000,30000,17000,20000,114000,57000,19000\n",
                 "t.csv:2: row 4401 effective 2025-01-01 has no province row 44 to inherit from");
}

static char *temp_file(const char *text)
{
    char *path = strdup("/tmp/doudi-test-standards-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static void test_load_file(void **state)
{
    (void)state;
    elig_standards *t = (elig_standards *)&t;
    char *err = NULL;
    assert_int_equal(elig_standards_load_file("/nonexistent/doudi/standards.csv", &t, &err), -ENOENT);
    assert_null(t);
    assert_string_equal(err, "/nonexistent/doudi/standards.csv: No such file or directory");
    free(err);
    assert_int_equal(elig_standards_load_file("/nonexistent/doudi/standards.csv", &t, NULL), -ENOENT);

    /* Errors name the path. */
    char *path = temp_file(HEADER ROOT44 "4401,2025-01-01,abc,,,,,,,,,,,,\n");
    assert_int_equal(elig_standards_load_file(path, &t, &err), DD_ECONFIG);
    char *want = NULL;
    assert_true(asprintf(&want, "%s:3: column dibao_urban_fen: 'abc' is not an amount in fen", path) > 0);
    assert_string_equal(err, want);
    free(want);
    free(err);
    unlink(path);
    free(path);

    path = temp_file(HEADER ROOT44);
    assert_int_equal(elig_standards_load_file(path, &t, &err), 0);
    assert_null(err);
    assert_int_equal(elig_standards_rows(t), 1);
    assert_primary_version(lookup_ok(t, "442106104026", 20250101).version, "44@20250101");
    elig_standards_destroy(&t);
    unlink(path);
    free(path);
}

/* ---- writing ----------------------------------------------------------- */

static void test_write_parse_round_trip(void **state)
{
    (void)state;
    /* Columns in another order, CRLF, a byte order mark, spaces, compact
     * dates, comments before the header, between rows, after a row and at
     * the end. */
    static const char input[] =
        "\xef\xbb\xbf# standards of a test province\r\n"
        "\r\n"
        "care_self_fen,care_half_fen,care_full_fen,dis_care_fen,dis_living_fen,age_100_fen,"
        "age_90_fen,age_80_fen,age_70_fen,age_band_start,disposable_income_monthly_fen,"
        "dibao_rural_fen,dibao_urban_fen, effective , prefix  # reversed\r\n"
        "# the province\r\n"
        "19000,57000,114000,20000,17000,30000,10000,5000,0,80,440000,90000,110000,20250101, 44 \r\n"
        "# a city, its district\r\n"
        "  # and an indented comment\r\n"
        ",,,,,,,,,70,,136800,136800,2025-07-01,4401   # the capital\r\n"
        ",,,22000,,,,,,,,,,2025-01-01,440106\r\n"
        "000,,,,,,,,,,,,,2026-01-01,440106001026\r\n"
        "# the end\r\n";
    static const char canonical[] =
        "# standards of a test province\n"
        "\n"
        HEADER_NAMES "  # reversed\n"
        "# the province\n"
        "44,2025-01-01,110000,90000,440000,80,0,5000,10000,30000,17000,20000,114000,57000,19000\n"
        "# a city, its district\n"
        "  # and an indented comment\n"
        "4401,2025-07-01,136800,136800,,70,,,,,,,,,  # the capital\n"
        "440106,2025-01-01,,,,,,,,,,22000,,,\n"
        "440106001026,2026-01-01,,,,,,,,,,,,,0\n"
        "# the end\n";
    elig_standards *t = NULL;
    char *err = NULL;
    assert_int_equal(elig_standards_parse(input, sizeof(input) - 1, "t.csv", &t, &err), 0);
    assert_null(err);
    assert_int_equal(elig_standards_rows(t), 4);
    char *out = written(t);
    assert_string_equal(out, canonical);

    /* Parsing the output gives the same table: same text again, same
     * answers. */
    elig_standards *again = parse_ok(out);
    char *out2 = written(again);
    assert_string_equal(out2, out);
    static const char *regions[] = {"440101001001", "440106001001", "440106001026", "440201001001"};
    static const int32_t dates[] = {20250101, 20250701, 20260101, 20270101};
    for (size_t r = 0; r < 4; r++)
        for (size_t d = 0; d < 4; d++) {
            elig_standard a = lookup_ok(t, regions[r], dates[d]);
            elig_standard b = lookup_ok(again, regions[r], dates[d]);
            assert_standard_equal(&a, &b);
        }
    elig_standard v = lookup_ok(t, "440106001026", 20260101);
    assert_primary_version(v.version, "440106001026@20260101");
    assert_int_equal(v.care_self_fen, 0);
    assert_int_equal(v.dis_care_fen, 22000);
    assert_int_equal(v.dibao_urban_fen, 136800);
    assert_int_equal(v.age_band_start, 70);
    free(out);
    free(out2);
    elig_standards_destroy(&t);
    elig_standards_destroy(&again);

    /* The demo writes back as its own text. */
    t = elig_standards_demo();
    out = written(t);
    assert_string_equal(out, elig__standards_demo_csv);
    free(out);
    elig_standards_destroy(&t);
}

static void test_write_error(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    elig_standards *t = elig_standards_demo();
    assert_int_equal(elig_standards_write(t, f), -ENOSPC);
    fclose(f);
    elig_standards_destroy(&t);
}

/* ---- the demo table ---------------------------------------------------- */

static void test_demo_every_village(void **state)
{
    (void)state;
    elig_standards *t = elig_standards_demo();
    assert_int_equal(elig_standards_rows(t), 8);
    dd_divisions *d = dd_divisions_demo();
    static const int32_t dates[] = {20250101, 20251231, 20260101, 20260630, 20260701, 20301231};
    char code[13];
    for (size_t i = 0; i < dd_divisions_count(d); i++) {
        dd_divisions_code_at(d, i, code);
        for (size_t k = 0; k < sizeof(dates) / sizeof(dates[0]); k++) {
            elig_standard s = lookup_ok(t, code, dates[k]);
            const char *at = strchr(s.version, '@');
            assert_non_null(at);
            /* The version's prefix is a prefix of the code, dated on or
             * before the date. */
            assert_int_equal(strncmp(s.version, code, (size_t)(at - s.version)), 0);
            assert_true(atoi(at + 1) <= dates[k]);
            assert_true(s.dibao_urban_fen >= 100000 && s.dibao_urban_fen <= 140000);
            assert_true(s.dibao_rural_fen >= 80000 && s.dibao_rural_fen <= s.dibao_urban_fen);
            assert_true(s.disposable_income_monthly_fen > 3 * s.dibao_urban_fen);
            assert_true(s.age_band_start == (memcmp(code, "4401", 4) == 0 ? 70 : 80));
            assert_true(s.age_80_fen > 0 && s.age_90_fen >= s.age_80_fen &&
                        s.age_100_fen >= s.age_90_fen);
            assert_true(s.dis_living_fen >= 15000 && s.dis_living_fen <= 25000);
            assert_true(s.dis_care_fen >= 15000 && s.dis_care_fen <= 25000);
            assert_true(s.care_full_fen > s.care_half_fen && s.care_half_fen > s.care_self_fen &&
                        s.care_self_fen > 0);
        }
    }
    dd_divisions_destroy(&d);
    elig_standards_destroy(&t);
}

static void test_deploy_file_is_the_demo(void **state)
{
    (void)state;
    const char *path = DOUDI_SOURCE_DIR "/deploy/standards-demo.csv";
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
        assert_int_equal(fwrite(buf, 1, got, mem), got);
    fclose(f);
    assert_int_equal(fclose(mem), 0);
    assert_int_equal(len, strlen(elig__standards_demo_csv));
    assert_string_equal(text, elig__standards_demo_csv);
    free(text);

    elig_standards *t = NULL;
    char *err = NULL;
    assert_int_equal(elig_standards_load_file(path, &t, &err), 0);
    assert_null(err);
    elig_standards *demo = elig_standards_demo();
    assert_int_equal(elig_standards_rows(t), elig_standards_rows(demo));
    elig_standard a = lookup_ok(t, "440106001001", 20260701);
    elig_standard b = lookup_ok(demo, "440106001001", 20260701);
    assert_standard_equal(&a, &b);
    elig_standards_destroy(&t);
    elig_standards_destroy(&demo);
}

static void test_destroy_null(void **state)
{
    (void)state;
    elig_standards *t = NULL;
    elig_standards_destroy(&t);
    elig_standards_destroy(NULL);
    assert_int_equal(elig_standards_rows(NULL), 0);
    t = elig_standards_demo();
    elig_standards_destroy(&t);
    assert_null(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_longest_prefix_wins),
        cmocka_unit_test(test_effective_date_change),
        cmocka_unit_test(test_inheritance_across_dates),
        cmocka_unit_test(test_not_found_and_invalid),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_cell_errors),
        cmocka_unit_test(test_table_errors),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_write_parse_round_trip),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_demo_every_village),
        cmocka_unit_test(test_deploy_file_is_the_demo),
        cmocka_unit_test(test_destroy_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
