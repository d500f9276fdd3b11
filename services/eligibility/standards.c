/*
 * standards.c: the standards table as prefix groups of dated rows.
 *
 * Every evaluation of a household asks for the standard of its village on a
 * date, so a lookup must cost little and allocate nothing. Rows are grouped
 * by prefix; each group holds its rows' effective dates in one ascending
 * array (a binary search finds the row in force), and the groups are found
 * through a small open-addressing hash keyed by (prefix length, prefix
 * value). A lookup walks the code's five prefixes from the longest and takes
 * each column from the first row in force that has it.
 *
 * Inheritance is resolved at lookup, not at load: a parent and a child
 * change on different dates (the province publishes a new disposable income
 * on 1 January, a city raises its 低保 on 1 July), and resolving at load
 * would split every row at every ancestor's dates. The walk costs at most
 * five probes and five binary searches over a handful of dates, and stops
 * as soon as every column has a value. Load guarantees that it always does:
 * a province row defines every column, and no row takes effect before its
 * province has one.
 *
 * The rows are also kept in file order with the comment lines above them,
 * so elig_standards_write() gives back the file an operator wrote, with the
 * columns and dates in canonical form. The table never changes after it is
 * built, so lookups from several threads need no lock.
 */
#include "standards.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

/* The value columns, in the canonical order elig_standards_write() uses. */
enum column_kind { COL_AMOUNT, COL_AGE_START };

#define STANDARD_COLUMNS(X)                   \
    X(dibao_urban_fen, COL_AMOUNT)            \
    X(dibao_rural_fen, COL_AMOUNT)            \
    X(disposable_income_monthly_fen, COL_AMOUNT) \
    X(age_band_start, COL_AGE_START)          \
    X(age_70_fen, COL_AMOUNT)                 \
    X(age_80_fen, COL_AMOUNT)                 \
    X(age_90_fen, COL_AMOUNT)                 \
    X(age_100_fen, COL_AMOUNT)                \
    X(dis_living_fen, COL_AMOUNT)             \
    X(dis_care_fen, COL_AMOUNT)               \
    X(care_full_fen, COL_AMOUNT)              \
    X(care_half_fen, COL_AMOUNT)              \
    X(care_self_fen, COL_AMOUNT)

static const struct column {
    const char *name;
    size_t offset; /* in elig_standard */
    enum column_kind kind;
} columns[] = {
#define COLUMN_ENTRY(name, kind) {#name, offsetof(elig_standard, name), kind},
    STANDARD_COLUMNS(COLUMN_ENTRY)
#undef COLUMN_ENTRY
};

enum {
#define COLUMN_COUNT_ONE(name, kind) +1
    NCOLUMNS = 0 STANDARD_COLUMNS(COLUMN_COUNT_ONE)
#undef COLUMN_COUNT_ONE
};

/* A row says which columns it fills in a 32-bit mask. */
_Static_assert(NCOLUMNS < 32, "the column mask is a uint32_t");
#define ALL_COLUMNS ((uint32_t)((1u << NCOLUMNS) - 1))

/* Where the header puts prefix and effective in a row's cells. */
#define CELL_PREFIX (-2)
#define CELL_EFFECTIVE (-1)
#define CELL_UNKNOWN (-3)
#define MAX_CELLS (2 + NCOLUMNS)

/* No monthly amount comes near this; keeping it to 10 digits means no rule
 * multiplying it by months, members or a permille can overflow int64. */
#define AMOUNT_MAX 9999999999LL
#define AMOUNT_MAX_DIGITS 10

/* How much of a malformed cell an error message quotes. */
#define SHOWN_CELL_MAX 24

/* The prefix lengths, shortest first; index k is bit k of table->lengths. */
static const size_t prefix_lengths[] = {2, 4, 6, 9, 12};
#define NLENGTHS 5
_Static_assert(sizeof(prefix_lengths) / sizeof(prefix_lengths[0]) == NLENGTHS, "NLENGTHS");

typedef struct row {
    uint64_t key;              /* prefix_key() of the prefix */
    int32_t effective;         /* YYYYMMDD */
    uint32_t present;          /* bit c: column c has a value */
    int64_t value[NCOLUMNS];   /* meaningful where present */
    size_t line;               /* in the source, for later errors */
    char prefix[13];
    char version[24];          /* "PREFIX@YYYYMMDD", made once at load */
    char *before;              /* comment and blank lines above, or NULL */
    char *note;                /* a trailing "# ..." comment, or NULL */
} row;

typedef struct group {
    uint64_t key;
    size_t first, count;       /* a run of dates[] / by_date[] */
} group;

typedef struct slot {
    uint64_t key;              /* 0: empty (a key always has its length bits) */
    size_t group;
} slot;

struct elig_standards {
    row *rows;                 /* file order */
    size_t nrows;
    /* Row indexes sorted by (prefix, effective); dates[i] is the date of
     * rows[by_date[i]], kept apart so a binary search touches one array. */
    size_t *by_date;
    int32_t *dates;
    group *groups;
    size_t ngroups;
    slot *slots;
    size_t slot_mask;          /* capacity - 1; the capacity is a power of two */
    unsigned lengths;          /* bit k: some prefix has prefix_lengths[k] digits */
    char *preamble;            /* lines above the header, or NULL */
    char *header_note;         /* the header's trailing comment, or NULL */
    char *trailer;             /* comment lines after the last row, or NULL */
};

/* The embedded demo table; also deploy/standards-demo.csv, byte for byte
 * (tests/unit/test_standards.c checks both that and that writing the demo
 * table reproduces it). Not static so the test can compare. */
const char elig__standards_demo_csv[] =
    "# doudi local standards: the demo province 44. Illustrative figures in fen\n"
    "# (100 fen = 1 yuan), per person per month.\n"
    "#\n"
    "# A row applies to every region code that starts with its prefix (2, 4, 6, 9\n"
    "# or 12 digits) from its effective date on; the longest prefix with a row in\n"
    "# force wins. An empty cell takes the value of the next shorter prefix in\n"
    "# force on the same date, never of an earlier row of the same prefix, so a\n"
    "# new row repeats what it keeps. A province row (2 digits) fills every cell.\n"
    "prefix,effective,dibao_urban_fen,dibao_rural_fen,disposable_income_monthly_fen,"
    "age_band_start,age_70_fen,age_80_fen,age_90_fen,age_100_fen,"
    "dis_living_fen,dis_care_fen,care_full_fen,care_half_fen,care_self_fen\n"
    "# The province: 低保 1,100 yuan urban and 900 rural; longevity allowance\n"
    "# from 80; 特困 care allowances at 60/30/10 % of a 1,900-yuan minimum wage.\n"
    "44,2025-01-01,110000,90000,440000,80,0,5000,10000,30000,17000,20000,114000,57000,19000\n"
    "# 1 January 2026: last year's disposable income per capita (55,000 yuan).\n"
    "44,2026-01-01,110000,90000,458300,80,0,5000,10000,30000,17000,20000,114000,57000,19000\n"
    "# 4401, a Guangzhou-like capital: one standard for town and country, its own\n"
    "# disposable income, longevity allowance from 70, higher allowances.\n"
    "4401,2025-01-01,136800,136800,670800,70,3000,10000,20000,30000,21000,22000,138000,69000,23000\n"
    "# ... which raises its 低保 standard to 1,400 yuan on 1 July 2026.\n"
    "4401,2026-07-01,140000,140000,670800,70,3000,10000,20000,30000,21000,22000,138000,69000,23000\n"
    "# A district of 4401 tops up the severe-disability care allowance; all else\n"
    "# comes from 4401, including the raise of 1 July 2026.\n"
    "440106,2025-01-01,,,,,,,,,,25000,,,\n"
    "# 4403, a Shenzhen-like city: its own standard, income, allowances from 80.\n"
    "4403,2025-01-01,135000,135000,633300,,,15000,25000,50000,,25000,151200,75600,25200\n"
    "# 4406: a higher standard, one for town and country; the rest provincial.\n"
    "4406,2025-01-01,120000,120000,560000,,,,,,,,,,\n"
    "# 4414, a mountain city: lower standards; its disposable income is the\n"
    "# province's, so it follows the province's update of 1 January 2026.\n"
    "4414,2025-01-01,100000,82000,,,,,,,,,,,\n";

/* ---- small helpers ----------------------------------------------------- */

static uint64_t prefix_key(uint64_t value, size_t len)
{
    return value << 4 | (uint64_t)len;
}

static size_t hash_slot(uint64_t key, size_t mask)
{
    /* Fibonacci hashing: the keys differ mostly in their high digits. */
    return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & mask;
}

static bool is_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static uint64_t digits_value(const char *s, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    return v;
}

static bool valid_prefix_length(size_t n)
{
    for (size_t k = 0; k < NLENGTHS; k++)
        if (prefix_lengths[k] == n)
            return true;
    return false;
}

static size_t length_index(size_t n)
{
    for (size_t k = 0; k < NLENGTHS; k++)
        if (prefix_lengths[k] == n)
            return k;
    assert(!"not a prefix length");
    return 0;
}

static bool leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* YYYY-MM-DD, or YYYYMMDD as in version strings; a real calendar day. */
static bool parse_date(const char *s, size_t n, int32_t *out)
{
    char d[8];
    if (n == 10 && s[4] == '-' && s[7] == '-') {
        memcpy(d, s, 4);
        memcpy(d + 4, s + 5, 2);
        memcpy(d + 6, s + 8, 2);
    } else if (n == 8) {
        memcpy(d, s, 8);
    } else {
        return false;
    }
    if (!is_digits(d, 8))
        return false;
    int year = (int)digits_value(d, 4), month = (int)digits_value(d + 4, 2),
        day = (int)digits_value(d + 6, 2);
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1900 || month < 1 || month > 12 || day < 1)
        return false;
    int last = days[month - 1] + (month == 2 && leap_year(year));
    if (day > last)
        return false;
    *out = year * 10000 + month * 100 + day;
    return true;
}

/* A parsed date (never negative) as YYYY-MM-DD. */
static void format_date(char out[11], int32_t d)
{
    uint32_t u = (uint32_t)d;
    static const char shape[] = "yyyy-mm-dd";
    for (size_t i = sizeof(shape) - 1; i-- > 0;) {
        if (shape[i] == '-') {
            out[i] = '-';
            continue;
        }
        out[i] = (char)('0' + u % 10);
        u /= 10;
    }
    out[10] = '\0';
}

/* Copies at most SHOWN_CELL_MAX bytes of s[0..n-1] for an error message,
 * escaping what is not printable ASCII (and the quote around it). */
static void show(char *out, size_t cap, const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n && i < SHOWN_CELL_MAX && w + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\'')
            out[w++] = (char)c;
        else
            w += (size_t)snprintf(out + w, cap - w, "\\x%02x", c);
    }
    if (n > SHOWN_CELL_MAX && w + 4 < cap) {
        memcpy(out + w, "...", 3);
        w += 3;
    }
    out[w] = '\0';
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* ---- parsing ----------------------------------------------------------- */

typedef struct parser {
    const char *name;
    size_t line;               /* the line an error names */
    char why[512];
    bool have_header;
    int cell_column[MAX_CELLS]; /* CELL_PREFIX, CELL_EFFECTIVE or a column */
    size_t ncells;
    char *pending;             /* comment lines since the last row or header */
    size_t pending_len, pending_cap;
    row *rows;
    size_t nrows, rows_cap;
    char *preamble, *header_note;
} parser;

static int fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->why, sizeof(p->why), fmt, ap);
    va_end(ap);
    return DD_ECONFIG;
}

static void keep_comment_line(parser *p, const char *s, size_t n)
{
    if (p->pending_len + n + 2 > p->pending_cap) {
        p->pending_cap = (p->pending_len + n + 2) * 2;
        p->pending = dd_realloc(p->pending, p->pending_cap);
    }
    memcpy(p->pending + p->pending_len, s, n);
    p->pending_len += n;
    p->pending[p->pending_len++] = '\n';
    p->pending[p->pending_len] = '\0';
}

/* The comment lines gathered so far, handed over (NULL when none). */
static char *take_pending(parser *p)
{
    char *s = p->pending;
    p->pending = NULL;
    p->pending_len = p->pending_cap = 0;
    return s;
}

static char *note_copy(const char *note, size_t n)
{
    return note ? dd_strndup(note, n) : NULL;
}

static void list_columns(char *out, size_t cap)
{
    int w = snprintf(out, cap, "prefix, effective");
    for (size_t c = 0; c < NCOLUMNS && w >= 0 && (size_t)w < cap; c++)
        w += snprintf(out + w, cap - (size_t)w, ", %s", columns[c].name);
}

static int parse_header(parser *p, const char *s, size_t n)
{
    uint32_t seen = 0;
    bool seen_prefix = false, seen_effective = false;
    size_t ncells = 0;
    char shown[SHOWN_CELL_MAX * 4 + 8];
    for (size_t start = 0;;) {
        const char *end = memchr(s + start, ',', n - start);
        size_t stop = end ? (size_t)(end - s) : n;
        const char *name = s + start;
        size_t len = stop - start;
        trim(&name, &len);
        int which;
        if (len == 6 && memcmp(name, "prefix", 6) == 0) {
            which = CELL_PREFIX;
            if (seen_prefix)
                return fail(p, "column 'prefix' appears twice in the header");
            seen_prefix = true;
        } else if (len == 9 && memcmp(name, "effective", 9) == 0) {
            which = CELL_EFFECTIVE;
            if (seen_effective)
                return fail(p, "column 'effective' appears twice in the header");
            seen_effective = true;
        } else {
            which = CELL_UNKNOWN;
            for (size_t c = 0; c < NCOLUMNS; c++)
                if (strlen(columns[c].name) == len && memcmp(columns[c].name, name, len) == 0)
                    which = (int)c;
            if (which == CELL_UNKNOWN) {
                char known[600];
                list_columns(known, sizeof(known));
                if (len == 0)
                    return fail(p, "the header's column %zu has no name (columns are %s)",
                                ncells + 1, known);
                show(shown, sizeof(shown), name, len);
                return fail(p, "unknown column '%s' (columns are %s)", shown, known);
            }
            if (seen & (1u << which))
                return fail(p, "column '%s' appears twice in the header", columns[which].name);
            seen |= 1u << which;
        }
        /* Every name is known and none repeats, so this cannot overflow. */
        assert(ncells < MAX_CELLS);
        p->cell_column[ncells++] = which;
        if (!end)
            break;
        start = stop + 1;
    }
    if (!seen_prefix)
        return fail(p, "the header lacks column 'prefix'");
    if (!seen_effective)
        return fail(p, "the header lacks column 'effective'");
    for (size_t c = 0; c < NCOLUMNS; c++)
        if (!(seen & (1u << c)))
            return fail(p, "the header lacks column '%s' (every column is named; "
                           "leave a cell empty to inherit)", columns[c].name);
    p->ncells = ncells;
    p->have_header = true;
    return 0;
}

static int parse_cell_value(parser *p, size_t c, const char *s, size_t n, int64_t *out)
{
    char shown[SHOWN_CELL_MAX * 4 + 8];
    if (columns[c].kind == COL_AGE_START) {
        int64_t v = n > 0 && n <= 3 && is_digits(s, n) ? (int64_t)digits_value(s, n) : -1;
        if (v != 70 && v != 80 && v != 90 && v != 100) {
            show(shown, sizeof(shown), s, n);
            return fail(p, "column %s: '%s' is not an age band start (70, 80, 90 or 100)",
                        columns[c].name, shown);
        }
        *out = v;
        return 0;
    }
    if (!is_digits(s, n)) {
        show(shown, sizeof(shown), s, n);
        return fail(p, "column %s: '%s' is not an amount in fen", columns[c].name, shown);
    }
    size_t lead = 0;
    while (lead + 1 < n && s[lead] == '0')
        lead++;
    if (n - lead > AMOUNT_MAX_DIGITS) {
        show(shown, sizeof(shown), s, n);
        return fail(p, "column %s: '%s' is too large for an amount in fen (at most %lld)",
                    columns[c].name, shown, AMOUNT_MAX);
    }
    *out = (int64_t)digits_value(s + lead, n - lead);
    return 0;
}

static int parse_row(parser *p, const char *s, size_t n, const char *note, size_t note_len)
{
    const char *cell[MAX_CELLS];
    size_t cell_len[MAX_CELLS];
    size_t ncells = 1;
    for (size_t i = 0; i < n; i++)
        ncells += s[i] == ',';
    if (ncells != p->ncells)
        return fail(p, "the row has %zu cells, the header names %zu", ncells, p->ncells);
    for (size_t i = 0, start = 0; i < ncells; i++) {
        const char *end = memchr(s + start, ',', n - start);
        size_t stop = end ? (size_t)(end - s) : n;
        cell[i] = s + start;
        cell_len[i] = stop - start;
        trim(&cell[i], &cell_len[i]);
        start = stop + 1;
    }

    row r;
    memset(&r, 0, sizeof(r));
    r.line = p->line;
    char shown[SHOWN_CELL_MAX * 4 + 8];
    for (size_t i = 0; i < ncells; i++) {
        const char *v = cell[i];
        size_t len = cell_len[i];
        int which = p->cell_column[i];
        if (which == CELL_PREFIX) {
            if (len == 0)
                return fail(p, "column prefix: empty (every row names a region prefix)");
            show(shown, sizeof(shown), v, len);
            if (!is_digits(v, len))
                return fail(p, "column prefix: '%s' is not a region prefix "
                               "(2, 4, 6, 9 or 12 digits)", shown);
            if (!valid_prefix_length(len))
                return fail(p, "column prefix: '%s' has %zu digits; a prefix has 2, 4, 6, 9 "
                               "or 12 (province, prefecture, county, township, village)",
                            shown, len);
            memcpy(r.prefix, v, len);
            r.prefix[len] = '\0';
            r.key = prefix_key(digits_value(v, len), len);
        } else if (which == CELL_EFFECTIVE) {
            if (len == 0)
                return fail(p, "column effective: empty (every row has an effective date)");
            if (!parse_date(v, len, &r.effective)) {
                show(shown, sizeof(shown), v, len);
                return fail(p, "column effective: '%s' is not a date (YYYY-MM-DD)", shown);
            }
        } else if (len > 0) {
            int rc = parse_cell_value(p, (size_t)which, v, len, &r.value[which]);
            if (rc != 0)
                return rc;
            r.present |= 1u << which;
        }
    }
    snprintf(r.version, sizeof(r.version), "%s@%08d", r.prefix, (int)r.effective);

    /* The root is where inheritance ends: an empty cell there would leave
     * every region of the province without that value. */
    if (strlen(r.prefix) == 2 && r.present != ALL_COLUMNS) {
        size_t c = 0;
        while (r.present & (1u << c))
            c++;
        char date[11];
        format_date(date, r.effective);
        return fail(p, "province row %s effective %s leaves column %s empty; "
                       "a province row (2 digits) must define every column",
                    r.prefix, date, columns[c].name);
    }

    if (p->nrows == p->rows_cap) {
        p->rows_cap = p->rows_cap ? p->rows_cap * 2 : 32;
        p->rows = dd_realloc(p->rows, p->rows_cap * sizeof(*p->rows));
    }
    r.before = take_pending(p);
    r.note = note_copy(note, note_len);
    p->rows[p->nrows++] = r;
    return 0;
}

/* One line without its newline (a CR before it already removed). */
static int parse_line(parser *p, const char *s, size_t n)
{
    if (memchr(s, '\0', n))
        return fail(p, "the line contains a NUL byte (not a text file?)");
    const char *hash = memchr(s, '#', n);
    size_t content_len = hash ? (size_t)(hash - s) : n;
    const char *content = s;
    trim(&content, &content_len);
    if (content_len == 0) {
        keep_comment_line(p, s, n);
        return 0;
    }
    const char *note = NULL;
    size_t note_len = 0;
    if (hash) {
        note = hash;
        note_len = n - (size_t)(hash - s);
        while (note_len > 0 && (note[note_len - 1] == ' ' || note[note_len - 1] == '\t'))
            note_len--;
    }
    if (!p->have_header) {
        int rc = parse_header(p, content, content_len);
        if (rc != 0)
            return rc;
        p->preamble = take_pending(p);
        p->header_note = note_copy(note, note_len);
        return 0;
    }
    return parse_row(p, content, content_len, note, note_len);
}

static void free_rows(row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].before);
        free(rows[i].note);
    }
    free(rows);
}

/* Orders row indexes by (prefix, effective, line); arg is the rows. */
static int cmp_by_prefix_date(const void *a, const void *b, void *arg)
{
    const row *rows = arg;
    const row *x = &rows[*(const size_t *)a], *y = &rows[*(const size_t *)b];
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->effective != y->effective)
        return x->effective < y->effective ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

/* The checks that need every row: duplicates, and a province row in force
 * on each row's date. On failure p->line names the offending row. */
static int check_table(parser *p, const size_t *by_date)
{
    char date[11], first[11];
    /* The duplicate seen second in the file is the one to report. */
    const row *dup = NULL, *dup_first = NULL;
    for (size_t i = 1; i < p->nrows; i++) {
        const row *a = &p->rows[by_date[i - 1]], *b = &p->rows[by_date[i]];
        if (a->key == b->key && a->effective == b->effective && (!dup || b->line < dup->line)) {
            dup = b;
            /* Sorted by line within equal rows: the group's first is before. */
            size_t j = i - 1;
            while (j > 0 && p->rows[by_date[j - 1]].key == b->key &&
                   p->rows[by_date[j - 1]].effective == b->effective)
                j--;
            dup_first = &p->rows[by_date[j]];
        }
    }
    if (dup) {
        p->line = dup->line;
        format_date(date, dup->effective);
        return fail(p, "duplicate row for prefix %s effective %s (first at line %zu)",
                    dup->prefix, date, dup_first->line);
    }

    int32_t province_first[100];
    for (size_t i = 0; i < 100; i++)
        province_first[i] = INT32_MAX;
    for (size_t i = 0; i < p->nrows; i++) {
        const row *r = &p->rows[i];
        if (strlen(r->prefix) == 2) {
            size_t pp = (size_t)digits_value(r->prefix, 2);
            if (r->effective < province_first[pp])
                province_first[pp] = r->effective;
        }
    }
    for (size_t i = 0; i < p->nrows; i++) {
        const row *r = &p->rows[i];
        if (strlen(r->prefix) == 2)
            continue;
        int32_t root = province_first[digits_value(r->prefix, 2)];
        p->line = r->line;
        format_date(date, r->effective);
        if (root == INT32_MAX)
            return fail(p, "row %s effective %s has no province row %.2s to inherit from",
                        r->prefix, date, r->prefix);
        if (r->effective < root) {
            format_date(first, root);
            return fail(p, "row %s effective %s takes effect before its province %.2s has a "
                           "row (the first is effective %s)",
                        r->prefix, date, r->prefix, first);
        }
    }
    return 0;
}

/* Builds the lookup structures over the parsed rows (which it takes). */
static elig_standards *build(parser *p, size_t *by_date)
{
    elig_standards *t = dd_calloc(1, sizeof(*t));
    t->rows = p->rows;
    t->nrows = p->nrows;
    p->rows = NULL;
    p->nrows = 0;
    t->by_date = by_date;
    t->dates = dd_malloc(t->nrows * sizeof(*t->dates));
    for (size_t i = 0; i < t->nrows; i++)
        t->dates[i] = t->rows[by_date[i]].effective;

    t->groups = dd_malloc(t->nrows * sizeof(*t->groups));
    for (size_t i = 0; i < t->nrows; i++) {
        const row *r = &t->rows[by_date[i]];
        if (t->ngroups == 0 || t->groups[t->ngroups - 1].key != r->key) {
            t->groups[t->ngroups++] = (group){.key = r->key, .first = i, .count = 0};
            t->lengths |= 1u << length_index(strlen(r->prefix));
        }
        t->groups[t->ngroups - 1].count++;
    }
    t->groups = dd_realloc(t->groups, t->ngroups * sizeof(*t->groups));

    /* At most half full, so a probe sequence is short. */
    size_t cap = 8;
    while (cap < t->ngroups * 2)
        cap *= 2;
    t->slots = dd_calloc(cap, sizeof(*t->slots));
    t->slot_mask = cap - 1;
    for (size_t g = 0; g < t->ngroups; g++) {
        size_t s = hash_slot(t->groups[g].key, t->slot_mask);
        while (t->slots[s].key != 0)
            s = (s + 1) & t->slot_mask;
        t->slots[s] = (slot){.key = t->groups[g].key, .group = g};
    }

    t->preamble = p->preamble;
    t->header_note = p->header_note;
    p->preamble = p->header_note = NULL;
    t->trailer = take_pending(p);
    return t;
}

int elig_standards_parse(const char *text, size_t len, const char *name, elig_standards **out,
                         char **error_text)
{
    *out = NULL;
    if (error_text)
        *error_text = NULL;
    parser p;
    memset(&p, 0, sizeof(p));
    p.name = name;
    /* Spreadsheet exports often start with a UTF-8 byte order mark. */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        text += 3;
        len -= 3;
    }
    int rc = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - pos;
        if (n > 0 && text[pos + n - 1] == '\r')
            n--;
        p.line++;
        rc = parse_line(&p, text + pos, n);
        if (rc != 0)
            break;
        pos = end + 1;
    }
    size_t *by_date = NULL;
    if (rc == 0 && !p.have_header) {
        if (p.line == 0)
            p.line = 1;
        rc = fail(&p, "no header line naming the columns (prefix,effective,...)");
    } else if (rc == 0 && p.nrows == 0) {
        rc = fail(&p, "the table has no rows");
    } else if (rc == 0) {
        by_date = dd_malloc(p.nrows * sizeof(*by_date));
        for (size_t i = 0; i < p.nrows; i++)
            by_date[i] = i;
        qsort_r(by_date, p.nrows, sizeof(*by_date), cmp_by_prefix_date, p.rows);
        rc = check_table(&p, by_date);
    }
    if (rc != 0) {
        if (error_text)
            *error_text = dd_asprintf("%s:%zu: %s", name, p.line, p.why);
        free(by_date);
        free_rows(p.rows, p.nrows);
        free(p.pending);
        free(p.preamble);
        free(p.header_note);
        return rc;
    }
    *out = build(&p, by_date);
    return 0;
}

int elig_standards_load_file(const char *path, elig_standards **out, char **error_text)
{
    *out = NULL;
    if (error_text)
        *error_text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int rc = -errno;
        if (error_text)
            *error_text = dd_asprintf("%s: %s", path, strerror(-rc));
        return rc;
    }
    size_t cap = 16 * 1024, n = 0;
    char *text = dd_malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            text = dd_realloc(text, cap);
        }
        size_t got = fread(text + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int rc = 0;
    if (ferror(f)) {
        rc = errno ? -errno : -EIO;
        if (error_text)
            *error_text = dd_asprintf("%s: read error: %s", path, strerror(-rc));
    }
    fclose(f);
    if (rc == 0)
        rc = elig_standards_parse(text, n, path, out, error_text);
    free(text);
    return rc;
}

elig_standards *elig_standards_demo(void)
{
    elig_standards *t = NULL;
    char *err = NULL;
    if (elig_standards_parse(elig__standards_demo_csv, sizeof(elig__standards_demo_csv) - 1,
                             "embedded demo standards", &t, &err) != 0) {
        /* The text is part of the build and tested: this is a build defect. */
        fprintf(stderr, "doudi: %s\n", err);
        abort();
    }
    return t;
}

void elig_standards_destroy(elig_standards **standards)
{
    if (!standards || !*standards)
        return;
    elig_standards *t = *standards;
    free_rows(t->rows, t->nrows);
    free(t->by_date);
    free(t->dates);
    free(t->groups);
    free(t->slots);
    free(t->preamble);
    free(t->header_note);
    free(t->trailer);
    free(t);
    *standards = NULL;
}

size_t elig_standards_rows(const elig_standards *standards)
{
    return standards ? standards->nrows : 0;
}

/* ---- lookup ------------------------------------------------------------ */

static const group *find_group(const elig_standards *t, uint64_t key)
{
    size_t s = hash_slot(key, t->slot_mask);
    while (t->slots[s].key != 0) {
        if (t->slots[s].key == key)
            return &t->groups[t->slots[s].group];
        s = (s + 1) & t->slot_mask;
    }
    return NULL;
}

/* The group's row with the latest effective date not after date, or NULL. */
static const row *in_force(const elig_standards *t, const group *g, int32_t date)
{
    const int32_t *dates = t->dates + g->first;
    size_t lo = 0, hi = g->count; /* first index with dates[i] > date */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dates[mid] <= date)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? NULL : &t->rows[t->by_date[g->first + lo - 1]];
}

static void store(elig_standard *s, size_t c, int64_t v)
{
    char *field = (char *)s + columns[c].offset;
    if (columns[c].kind == COL_AGE_START) {
        int32_t narrow = (int32_t)v;
        memcpy(field, &narrow, sizeof(narrow));
    } else {
        memcpy(field, &v, sizeof(v));
    }
}

int elig_standards_lookup(const elig_standards *standards, const char *region_code,
                          int32_t yyyymmdd, elig_standard *out)
{
    if (!standards || !region_code)
        return -EINVAL;
    uint64_t keys[NLENGTHS];
    uint64_t v = 0;
    for (size_t i = 0, k = 0; i < 12; i++) {
        unsigned d = (unsigned)(unsigned char)region_code[i] - '0';
        if (d > 9)
            return -EINVAL; /* also stops at a NUL before 12 digits */
        v = v * 10 + d;
        if (i + 1 == prefix_lengths[k]) {
            keys[k] = prefix_key(v, i + 1);
            k++;
        }
    }
    if (region_code[12] != '\0')
        return -EINVAL;

    elig_standard s = {0};
    const row *most_specific = NULL;
    uint32_t filled = 0;
    size_t vlen = 0;
    for (size_t k = NLENGTHS; k-- > 0 && filled != ALL_COLUMNS;) {
        if (!(standards->lengths & (1u << k)))
            continue;
        const group *g = find_group(standards, keys[k]);
        if (!g)
            continue;
        const row *r = in_force(standards, g, yyyymmdd);
        if (!r)
            continue;
        if (!most_specific)
            most_specific = r;
        uint32_t take = r->present & ~filled;
        filled |= take;
        /* The version names every row a value came from, most specific
         * first: a change of any of them is a change of the standard. */
        if (take || r == most_specific) {
            size_t len = strlen(r->version);
            if (vlen + len + 2 <= sizeof(s.version)) {
                if (vlen)
                    s.version[vlen++] = '+';
                memcpy(s.version + vlen, r->version, len);
                vlen += len;
                s.version[vlen] = '\0';
            }
        }
        while (take) {
            size_t c = (size_t)__builtin_ctz(take);
            take &= take - 1;
            store(&s, c, r->value[c]);
        }
    }
    if (!most_specific)
        return DD_NOTFOUND;
    /* Load rejects any row in force before its complete province row. */
    assert(filled == ALL_COLUMNS);
    if (filled != ALL_COLUMNS)
        return DD_NOTFOUND;
    *out = s;
    return 0;
}

/* ---- writing ----------------------------------------------------------- */

int elig_standards_write(const elig_standards *standards, FILE *out)
{
    const elig_standards *t = standards;
    errno = 0;
    if (t->preamble)
        fputs(t->preamble, out);
    fputs("prefix,effective", out);
    for (size_t c = 0; c < NCOLUMNS; c++)
        fprintf(out, ",%s", columns[c].name);
    if (t->header_note)
        fprintf(out, "  %s", t->header_note);
    fputc('\n', out);
    for (size_t i = 0; i < t->nrows; i++) {
        const row *r = &t->rows[i];
        char date[11];
        format_date(date, r->effective);
        if (r->before)
            fputs(r->before, out);
        fprintf(out, "%s,%s", r->prefix, date);
        for (size_t c = 0; c < NCOLUMNS; c++) {
            if (r->present & (1u << c))
                fprintf(out, ",%lld", (long long)r->value[c]);
            else
                fputc(',', out);
        }
        if (r->note)
            fprintf(out, "  %s", r->note);
        fputc('\n', out);
    }
    if (t->trailer)
        fputs(t->trailer, out);
    if (fflush(out) != 0 || ferror(out))
        return errno ? -errno : -EIO;
    return 0;
}
