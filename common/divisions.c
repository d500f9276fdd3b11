/*
 * divisions.c: the division table as a sorted array of integers, and a
 * hash set of the same integers.
 *
 * Every event names a region, so intake asks "does this code exist?" about
 * 250,000 times a second. A 12-digit code fits in 40 bits. The sorted,
 * duplicate-free array of uint64_t answers questions about ranges (an
 * area's code is the prefix of its villages); the exact question goes to
 * an open-addressed set twice the size, where it costs one or two reads.
 * A binary search over 26,000 codes took 15 dependent reads from the
 * second-level cache, 8 % of intake's CPU in a province-month. The table
 * never changes after it is built, so readers need no lock.
 */
#include "divisions.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

struct dd_divisions {
    uint64_t *codes; /* ascending, no duplicates */
    size_t count;
    uint64_t *set;   /* the codes hashed, 0 empty (no code is 0); set_mask + 1 slots */
    size_t set_mask;
    bool has_zero;   /* 000000000000 listed (0 marks an empty slot of set) */
};

static size_t set_home(uint64_t code, size_t mask)
{
    return (size_t)((code * 0x9E3779B97F4A7C15ULL) >> 29) & mask;
}

/* Builds the set of d->codes: at most half full. */
static void build_set(dd_divisions *d)
{
    size_t cap = 64;
    while (cap < 2 * d->count)
        cap *= 2;
    d->set = dd_calloc(cap, sizeof(*d->set));
    d->set_mask = cap - 1;
    for (size_t i = 0; i < d->count; i++) {
        if (d->codes[i] == 0) {
            d->has_zero = true;
            continue;
        }
        size_t h = set_home(d->codes[i], d->set_mask);
        while (d->set[h])
            h = (h + 1) & d->set_mask;
        d->set[h] = d->codes[i];
    }
}

static bool set_contains(const dd_divisions *d, uint64_t code)
{
    for (size_t h = set_home(code, d->set_mask);; h = (h + 1) & d->set_mask) {
        if (d->set[h] == code)
            return true;
        if (!d->set[h])
            return false;
    }
}

/* How much of a malformed code an error message quotes. */
#define SHOWN_FIELD_MAX 24

bool dd_region_code_well_formed(const char *s, size_t len)
{
    if (len != 12)
        return false;
    for (size_t i = 0; i < 12; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static uint64_t code_value(const char *s)
{
    uint64_t v = 0;
    for (int i = 0; i < 12; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    return v;
}

/* Reads 12 digits at s if they are exactly that (s may be shorter). */
static bool parse_code12(const char *s, uint64_t *value)
{
    for (int i = 0; i < 12; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    if (s[12] != '\0')
        return false;
    *value = code_value(s);
    return true;
}

/* Index of the first code >= key. */
/* The first index whose code is not below key (count if none). Without a
 * branch to mispredict: intake asks this for every event, and the steps of
 * a binary search over 26,000 villages go either way at random. */
static size_t lower_bound(const dd_divisions *d, uint64_t key)
{
    if (d->count == 0)
        return 0;
    const uint64_t *base = d->codes;
    size_t n = d->count;
    while (n > 1) {
        size_t half = n / 2;
        base = base[half] < key ? base + half : base;
        n -= half;
    }
    return (size_t)(base - d->codes) + (*base < key);
}

bool dd_divisions_contains(const dd_divisions *divisions, const char *code12)
{
    uint64_t key;
    if (!divisions || !parse_code12(code12, &key))
        return false;
    return key ? set_contains(divisions, key) : divisions->has_zero;
}

void dd_divisions_prefetch(const dd_divisions *divisions, const char *code12)
{
    uint64_t key;
    if (divisions && code12 && parse_code12(code12, &key))
        __builtin_prefetch(&divisions->set[set_home(key, divisions->set_mask)]);
}

bool dd_divisions_contains_area(const dd_divisions *divisions, const char *code12)
{
    uint64_t key;
    if (!divisions || !parse_code12(code12, &key))
        return false;
    size_t i = lower_bound(divisions, key);
    if (i < divisions->count && divisions->codes[i] == key)
        return true;
    /* A level code is the prefix of its area padded with zeros: 44 0000000000
     * for the province, 4401 00000000 for a prefecture, and so on. The area
     * exists when some listed code starts with the prefix, i.e. lies in
     * [key, key + span). */
    static const uint64_t spans[] = {1000, 1000000, 100000000, 10000000000, 1000000000000};
    for (size_t s = 0; s < sizeof(spans) / sizeof(spans[0]); s++) {
        if (key % spans[s] != 0)
            break;
        if (key / spans[s] == 0)
            break; /* 000000000000 names nothing */
        if (i < divisions->count && divisions->codes[i] < key + spans[s])
            return true;
    }
    return false;
}

size_t dd_divisions_count(const dd_divisions *divisions)
{
    return divisions ? divisions->count : 0;
}

void dd_divisions_code_at(const dd_divisions *divisions, size_t i, char out[13])
{
    uint64_t v = divisions->codes[i];
    for (int k = 11; k >= 0; k--) {
        out[k] = (char)('0' + v % 10);
        v /= 10;
    }
    out[12] = '\0';
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts and removes duplicates; takes ownership of codes. */
static dd_divisions *table_from(uint64_t *codes, size_t n)
{
    qsort(codes, n, sizeof(*codes), cmp_u64);
    size_t w = 0;
    for (size_t r = 0; r < n; r++)
        if (w == 0 || codes[w - 1] != codes[r])
            codes[w++] = codes[r];
    dd_divisions *d = dd_calloc(1, sizeof(*d));
    d->codes = w ? dd_realloc(codes, w * sizeof(*codes)) : codes;
    d->count = w;
    build_set(d);
    return d;
}

dd_divisions *dd_divisions_demo(void)
{
    static const int townships[] = {1, 2, 3, 4, 101, 102, 103, 104};
    const size_t n = 21 * 6 * 8 * 26;
    uint64_t *codes = dd_malloc(n * sizeof(*codes));
    size_t k = 0;
    /* The loops run in code order, so the array is born sorted. */
    for (uint64_t pp = 1; pp <= 21; pp++)
        for (uint64_t cc = 1; cc <= 6; cc++)
            for (size_t t = 0; t < 8; t++)
                for (uint64_t vvv = 1; vvv <= 26; vvv++)
                    codes[k++] = 44 * 10000000000ULL + pp * 100000000ULL + cc * 1000000ULL +
                                 (uint64_t)townships[t] * 1000ULL + vvv;
    dd_divisions *d = dd_calloc(1, sizeof(*d));
    d->codes = codes;
    d->count = k;
    build_set(d);
    return d;
}

void dd_divisions_destroy(dd_divisions **divisions)
{
    if (!divisions || !*divisions)
        return;
    free((*divisions)->codes);
    free((*divisions)->set);
    free(*divisions);
    *divisions = NULL;
}

/* Copies at most SHOWN_FIELD_MAX bytes of s[0..len-1] for an error message,
 * escaping anything that is not printable ASCII. */
static void show(char *out, size_t cap, const char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len && i < SHOWN_FIELD_MAX && w + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\'')
            out[w++] = (char)c;
        else
            w += (size_t)snprintf(out + w, cap - w, "\\x%02x", c);
    }
    if (len > SHOWN_FIELD_MAX && w + 4 < cap) {
        memcpy(out + w, "...", 3);
        w += 3;
    }
    out[w] = '\0';
}

/*
 * Parses one line (without its newline). Returns 1 and sets *value for a
 * code, 0 for a blank or comment line, -1 with why[] filled for a malformed
 * line.
 */
static int parse_line(char *line, size_t len, uint64_t *value, char *why, size_t why_cap)
{
    /* A comment runs to the end of the line; names are ignored anyway. */
    char *hash = memchr(line, '#', len);
    if (hash)
        len = (size_t)(hash - line);
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
        len--;
    size_t start = 0;
    while (start < len && (line[start] == ' ' || line[start] == '\t'))
        start++;
    if (start == len)
        return 0;
    const char *s = line + start;
    size_t n = len - start;
    size_t code_len = 0;
    while (code_len < n && s[code_len] != '\t' && s[code_len] != ',')
        code_len++;
    /* Spaces before the tab or comma are tolerated in hand-edited files. */
    size_t trimmed = code_len;
    while (trimmed > 0 && s[trimmed - 1] == ' ')
        trimmed--;
    char shown[SHOWN_FIELD_MAX * 4 + 8];
    size_t digits = 0;
    while (digits < trimmed && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    if (digits < trimmed && digits < 12) {
        show(shown, sizeof(shown), s, trimmed);
        unsigned char c = (unsigned char)s[digits];
        if (c >= 0x20 && c < 0x7f)
            snprintf(why, why_cap, "'%c' at column %zu of '%s' is not a digit (a code is 12 digits)",
                     c, start + digits + 1, shown);
        else
            snprintf(why, why_cap, "byte 0x%02x at column %zu of '%s' is not a digit (a code is 12 digits)",
                     c, start + digits + 1, shown);
        return -1;
    }
    if (digits != 12) {
        show(shown, sizeof(shown), s, trimmed);
        if (digits == trimmed)
            snprintf(why, why_cap, "code '%s' has %zu digits, expected 12", shown, digits);
        else
            snprintf(why, why_cap, "'%s' is not a 12-digit code followed by a tab or comma and a name", shown);
        return -1;
    }
    if (trimmed != 12) {
        show(shown, sizeof(shown), s, trimmed);
        snprintf(why, why_cap, "'%s' is not a 12-digit code followed by a tab or comma and a name", shown);
        return -1;
    }
    *value = code_value(s);
    return 1;
}

int dd_divisions_load_file(const char *path, dd_divisions **out, char **error_text)
{
    *out = NULL;
    if (error_text)
        *error_text = NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        int rc = -errno;
        if (error_text)
            *error_text = dd_asprintf("%s: %s", path, strerror(-rc));
        return rc;
    }
    size_t cap = 32 * 1024, n = 0;
    uint64_t *codes = dd_malloc(cap * sizeof(*codes));
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    size_t lineno = 0;
    int rc = 0;
    char why[256];
    errno = 0;
    while ((got = getline(&line, &line_cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        char *text = line;
        /* Spreadsheet exports often start with a UTF-8 byte order mark. */
        if (lineno == 1 && len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
            text += 3;
            len -= 3;
        }
        if (memchr(text, '\0', len)) {
            snprintf(why, sizeof(why), "line contains a NUL byte (not a text file?)");
            rc = DD_ECONFIG;
            break;
        }
        uint64_t v;
        int r = parse_line(text, len, &v, why, sizeof(why));
        if (r < 0) {
            rc = DD_ECONFIG;
            break;
        }
        if (r == 0)
            continue;
        if (n == cap) {
            cap *= 2;
            codes = dd_realloc(codes, cap * sizeof(*codes));
        }
        codes[n++] = v;
        errno = 0;
    }
    if (rc == 0 && ferror(f)) {
        rc = errno ? -errno : -EIO;
        if (error_text)
            *error_text = dd_asprintf("%s:%zu: read error: %s", path, lineno + 1, strerror(-rc));
    } else if (rc == DD_ECONFIG) {
        if (error_text)
            *error_text = dd_asprintf("%s:%zu: %s", path, lineno, why);
    } else if (n == 0) {
        /* Every event would be refused as an unknown region: a wrong file. */
        rc = DD_ECONFIG;
        if (error_text)
            *error_text = dd_asprintf("%s:%zu: the file lists no division codes", path, lineno);
    }
    free(line);
    fclose(f);
    if (rc != 0) {
        free(codes);
        return rc;
    }
    *out = table_from(codes, n);
    return 0;
}

int dd_divisions_write(const dd_divisions *divisions, FILE *out)
{
    char code[13];
    if (fprintf(out, "# doudi division table: %zu codes, one per line\n", divisions->count) < 0)
        return errno ? -errno : -EIO;
    for (size_t i = 0; i < divisions->count; i++) {
        dd_divisions_code_at(divisions, i, code);
        code[12] = '\n';
        if (fwrite(code, 1, 13, out) != 13)
            return errno ? -errno : -EIO;
    }
    if (fflush(out) != 0 || ferror(out))
        return errno ? -errno : -EIO;
    return 0;
}
