/*
 * config.c: INI configuration with embedded defaults (see config.h).
 *
 * inih does the tokenising; everything that decides whether a file is
 * acceptable lives here, because inih is lenient where we want to be strict:
 * it accepts unknown sections, repeated keys, values continued on indented
 * lines and over-long lines cut in two. We read the file through our own line
 * reader so we can see each raw line before inih does, and stop at the first
 * problem with a message that names the file, the line and the key.
 *
 * Every value is kept twice: the text (a default or exactly what inih handed
 * us, already trimmed and without its comment, so printing it gives a file
 * that reads back the same) and the parsed number, so reads are cheap.
 */
#include "config.h"

#include "alloc.h"
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * Debian's libinih is built to pass the line number to the handler; the
 * prototype must say so too.
 */
#define INI_HANDLER_LINENO 1
#include <ini.h>

typedef struct {
    char *text;    /* owned; the default or the file's text */
    int64_t num;   /* INT, DURATION (ms), SIZE (bytes), BOOL (0/1), ENUM (index) */
    int line;      /* line in the file that set it; 0 when defaulted */
} conf_value;

struct dd_config {
    const dd_conf_key *keys;
    size_t n;
    char *path;
    conf_value *values;
};

/* ---- values ------------------------------------------------------------------ */

static const struct unit {
    const char *name;
    int64_t factor;
} duration_units[] = {
    {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1},
}, size_units[] = {
    {"T", INT64_C(1) << 40}, {"G", INT64_C(1) << 30}, {"M", INT64_C(1) << 20},
    {"K", INT64_C(1) << 10}, {"", 1},
};
#define NUNITS 5

static bool bounded(const dd_conf_key *key)
{
    return key->min != 0 || key->max != 0;
}

/* max 0 above a positive min leaves the top open ("at least 64K"). */
static int64_t upper_limit(const dd_conf_key *key)
{
    return key->max == 0 && key->min > 0 ? INT64_MAX : key->max;
}

/* An amount in the largest unit that divides it exactly ("90s", "64M"). */
static void format_amount(char *buf, size_t size, int64_t amount, const struct unit *units)
{
    if (amount == 0) {
        snprintf(buf, size, "0");
        return;
    }
    for (int i = 0; i < NUNITS; i++) {
        if (amount % units[i].factor == 0) {
            snprintf(buf, size, "%" PRId64 "%s", amount / units[i].factor, units[i].name);
            return;
        }
    }
    snprintf(buf, size, "%" PRId64, amount);
}

static void format_limit(char *buf, size_t size, const dd_conf_key *key, int64_t limit)
{
    if (key->type == DD_CONF_DURATION)
        format_amount(buf, size, limit, duration_units);
    else if (key->type == DD_CONF_SIZE)
        format_amount(buf, size, limit, size_units);
    else
        snprintf(buf, size, "%" PRId64, limit);
}

/* A decimal integer that is the whole of [text, end) — no sign when !sign_ok. */
static bool parse_decimal(const char *text, const char *end, bool sign_ok, int64_t *out)
{
    const char *p = text;
    if (p < end && (*p == '-' || *p == '+')) {
        if (!sign_ok)
            return false;
        p++;
    }
    if (p == end)
        return false;
    for (const char *q = p; q < end; q++)
        if (!isdigit((unsigned char)*q))
            return false;
    char *stop;
    errno = 0;
    char *copy = dd_strndup(text, (size_t)(end - text));
    long long v = strtoll(copy, &stop, 10);
    bool ok = errno == 0 && *stop == '\0';
    free(copy);
    if (ok)
        *out = v;
    return ok;
}

/*
 * Number then unit, e.g. "35d" or "64M". A bare number is allowed when the
 * units include "" (sizes) or when it is 0. Case matters for durations
 * ("m" is minutes) but not for sizes.
 */
static int parse_with_unit(const char *text, const struct unit *units, bool fold_case,
                           int64_t *out)
{
    const char *unit = text;
    while (isdigit((unsigned char)*unit))
        unit++;
    int64_t amount;
    if (!parse_decimal(text, unit, false, &amount))
        return -EINVAL;
    for (int i = 0; i < NUNITS; i++) {
        bool same = fold_case ? strcasecmp(unit, units[i].name) == 0
                              : strcmp(unit, units[i].name) == 0;
        if (same || (*unit == '\0' && amount == 0)) {
            if (__builtin_mul_overflow(amount, units[i].factor, out))
                return -ERANGE;
            return 0;
        }
    }
    return -EINVAL;
}

/* Position of word in a '|'-separated list, or -1. */
static int64_t choice_index(const char *choices, const char *word)
{
    size_t wlen = strlen(word);
    int64_t index = 0;
    for (const char *p = choices;; index++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == wlen && strncmp(p, word, len) == 0)
            return index;
        if (!bar)
            return -1;
        p = bar + 1;
    }
}

/*
 * Parses text for key into *num. Returns NULL or a malloc'ed reason, worded
 * to follow "[section] key: ".
 */
static char *parse_value(const dd_conf_key *key, const char *text, int64_t *num)
{
    static const char *const true_words[] = {"true", "yes", "on", "1"};
    static const char *const false_words[] = {"false", "no", "off", "0"};
    int rc;
    *num = 0;
    switch (key->type) {
    case DD_CONF_STRING:
        return NULL;
    case DD_CONF_INT:
        if (!parse_decimal(text, text + strlen(text), true, num)) {
            /* Only digits yet unreadable: it overflowed int64. */
            const char *digits = text + (*text == '-' || *text == '+');
            if (*digits && strspn(digits, "0123456789") == strlen(digits))
                return dd_asprintf("%s is out of range", text);
            return dd_asprintf("'%s' is not an integer", text);
        }
        break;
    case DD_CONF_BOOL:
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(text, true_words[i]) == 0) {
                *num = 1;
                return NULL;
            }
            if (strcasecmp(text, false_words[i]) == 0)
                return NULL;
        }
        return dd_asprintf("'%s' is not a boolean (true/false, yes/no, on/off, 1/0)", text);
    case DD_CONF_DURATION:
        rc = parse_with_unit(text, duration_units, false, num);
        if (rc == -ERANGE)
            return dd_asprintf("%s is out of range", text);
        if (rc)
            return dd_asprintf("'%s' is not a duration (a whole number with ms, s, m, h or d)",
                               text);
        break;
    case DD_CONF_SIZE:
        rc = parse_with_unit(text, size_units, true, num);
        if (rc == -ERANGE)
            return dd_asprintf("%s is out of range", text);
        if (rc)
            return dd_asprintf("'%s' is not a size (a whole number of bytes, or with K, M, G or T)",
                               text);
        break;
    case DD_CONF_ENUM:
        *num = choice_index(key->choices, text);
        if (*num < 0)
            return dd_asprintf("'%s' is not one of %s", text, key->choices);
        return NULL;
    }
    if (bounded(key) && (*num < key->min || *num > upper_limit(key))) {
        char limit[32];
        bool below = *num < key->min;
        format_limit(limit, sizeof(limit), key, below ? key->min : upper_limit(key));
        return dd_asprintf("%s is %s the %s %s", text, below ? "below" : "above",
                           below ? "minimum" : "maximum", limit);
    }
    return NULL;
}

/* ---- the key table --------------------------------------------------------------- */

static void table_error(const dd_conf_key *key, const char *what)
    __attribute__((noreturn));
static void table_error(const dd_conf_key *key, const char *what)
{
    fprintf(stderr, "doudi: configuration table, [%s] %s: %s; aborting\n",
            key->section ? key->section : "(null)", key->name ? key->name : "(null)", what);
    abort();
}

/* Whether text would come back unchanged through inih: no surrounding space,
 * no line break, no " ;" that would start a comment. */
static bool survives_ini(const char *text)
{
    size_t len = strlen(text);
    if (len && (isspace((unsigned char)text[0]) || isspace((unsigned char)text[len - 1])))
        return false;
    for (const char *p = text; *p; p++) {
        if (*p == '\n' || *p == '\r')
            return false;
        if (*p == ';' && p > text && isspace((unsigned char)p[-1]))
            return false;
    }
    return true;
}

/* The table is code: any mistake in it aborts at the first load. */
static void check_table(const dd_conf_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const dd_conf_key *k = &keys[i];
        if (!k->section || !*k->section || !k->name || !*k->name || !k->help)
            table_error(k, "section, name and help are required");
        if (strpbrk(k->section, "[]\n") || strpbrk(k->name, "=:;#[] \t\n"))
            table_error(k, "section or name cannot be written in an INI file");
        if ((unsigned)k->type > DD_CONF_ENUM)
            table_error(k, "unknown type");
        if (k->type == DD_CONF_ENUM && (!k->choices || !*k->choices))
            table_error(k, "an enum needs choices");
        if (bounded(k) && k->min > upper_limit(k))
            table_error(k, "min is above max");
        if (!k->default_value || !survives_ini(k->default_value))
            table_error(k, "the default cannot be written in an INI file");
        for (size_t j = 0; j < i; j++)
            if (strcmp(keys[j].section, k->section) == 0 && strcmp(keys[j].name, k->name) == 0)
                table_error(k, "declared twice");
    }
}

/* ---- loading ----------------------------------------------------------------------- */

typedef struct {
    dd_config *config;
    FILE *file;
    int lines_read;
    bool raw_indented;  /* the line inih is processing started with blank space */
    int read_errno;
    char *error;        /* first problem, complete message */
    int error_line;
} load_ctx;

static void fail(load_ctx *ctx, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(load_ctx *ctx, int line, const char *fmt, ...)
{
    if (ctx->error)
        return;
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *reason = dd_malloc((size_t)len + 1);
    va_start(ap, fmt);
    vsnprintf(reason, (size_t)len + 1, fmt, ap);
    va_end(ap);
    ctx->error = dd_asprintf("%s:%d: %s", ctx->config->path, line, reason);
    ctx->error_line = line;
    free(reason);
}

static bool section_known(const dd_config *config, const char *section)
{
    for (size_t i = 0; i < config->n; i++)
        if (strcmp(config->keys[i].section, section) == 0)
            return true;
    return false;
}

/*
 * Hands inih one line at a time, looking at it first: a section header must
 * name a known section (checked here so an empty unknown section is caught
 * too), and a line that does not fit inih's buffer is refused rather than
 * split. Returning NULL ends the parse, which is how the first error stops it.
 */
static char *read_line(char *str, int num, void *stream)
{
    load_ctx *ctx = stream;
    if (ctx->error)
        return NULL;
    if (!fgets(str, num, ctx->file)) {
        if (ferror(ctx->file))
            ctx->read_errno = errno ? errno : EIO;
        return NULL;
    }
    int line = ++ctx->lines_read;
    size_t len = strlen(str);
    if ((len == 0 || str[len - 1] != '\n') && !feof(ctx->file)) {
        fail(ctx, line, "line is longer than %d characters", num - 2);
        return NULL;
    }
    ctx->raw_indented = str[0] == ' ' || str[0] == '\t';
    const char *p = str;
    if (line == 1 && strncmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3; /* a UTF-8 byte order mark, which inih skips too */
    while (isspace((unsigned char)*p))
        p++;
    const char *close = *p == '[' ? strchr(p, ']') : NULL;
    if (close) {
        char *section = dd_strndup(p + 1, (size_t)(close - p - 1));
        if (!section_known(ctx->config, section))
            fail(ctx, line, "[%s]: unknown section", section);
        free(section);
        if (ctx->error)
            return NULL;
    }
    return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value,
                  int lineno)
{
    load_ctx *ctx = user;
    dd_config *config = ctx->config;
    if (ctx->error)
        return 0;
    if (!*section) {
        fail(ctx, lineno, "%s: set before any [section]", name);
        return 0;
    }
    size_t i = 0;
    while (i < config->n && !(strcmp(config->keys[i].section, section) == 0 &&
                              strcmp(config->keys[i].name, name) == 0))
        i++;
    if (i == config->n) {
        if (section_known(config, section))
            fail(ctx, lineno, "[%s] %s: unknown key", section, name);
        else
            fail(ctx, lineno, "[%s]: unknown section", section);
        return 0;
    }
    conf_value *v = &config->values[i];
    /* inih reads an indented line after a key as more of that key's value. */
    if (v->line && ctx->raw_indented && lineno != v->line) {
        fail(ctx, lineno, "[%s] %s: indented line continues the value of line %d; "
                          "values are one line and keys are not indented",
             section, name, v->line);
        return 0;
    }
    if (v->line) {
        fail(ctx, lineno, "[%s] %s: set twice (first on line %d)", section, name, v->line);
        return 0;
    }
    int64_t num;
    char *reason = parse_value(&config->keys[i], value, &num);
    if (reason) {
        fail(ctx, lineno, "[%s] %s: %s", section, name, reason);
        free(reason);
        return 0;
    }
    free(v->text);
    v->text = dd_strdup(value);
    v->num = num;
    v->line = lineno;
    return 1;
}

static int load_file(dd_config *config, char **error)
{
    FILE *f = fopen(config->path, "r");
    if (!f) {
        int rc = -errno;
        *error = dd_asprintf("%s: cannot open: %s", config->path, strerror(-rc));
        return rc;
    }
    load_ctx ctx = {.config = config, .file = f};
    int rc = ini_parse_stream(read_line, &ctx, on_key, &ctx);
    fclose(f);
    /*
     * inih reports the first line it disliked (a syntax error or a key we
     * refused) but reads on, so a syntax error can come before ours.
     */
    if (rc > 0 && (!ctx.error || rc < ctx.error_line)) {
        free(ctx.error);
        *error = dd_asprintf("%s:%d: not a [section], a key = value or a comment", config->path,
                             rc);
        return DD_ECONFIG;
    }
    if (ctx.error) {
        *error = ctx.error;
        return DD_ECONFIG;
    }
    if (ctx.read_errno) {
        *error = dd_asprintf("%s: cannot read: %s", config->path, strerror(ctx.read_errno));
        return -ctx.read_errno;
    }
    if (rc < 0) {
        *error = dd_asprintf("%s: the INI parser failed (%d)", config->path, rc);
        return DD_ECONFIG;
    }
    return 0;
}

int dd_config_load(const dd_conf_key *keys, size_t n, const char *path, dd_config **out,
                   char **error_text)
{
    check_table(keys, n);
    dd_config *config = dd_calloc(1, sizeof(*config));
    config->keys = keys;
    config->n = n;
    config->values = dd_calloc(n ? n : 1, sizeof(conf_value));
    for (size_t i = 0; i < n; i++) {
        char *reason = parse_value(&keys[i], keys[i].default_value, &config->values[i].num);
        if (reason)
            table_error(&keys[i], reason);
        config->values[i].text = dd_strdup(keys[i].default_value);
    }
    if (path) {
        config->path = dd_strdup(path);
        char *error = NULL;
        int rc = load_file(config, &error);
        if (rc) {
            if (error_text)
                *error_text = error;
            else
                free(error);
            dd_config_destroy(&config);
            return rc;
        }
    }
    *out = config;
    return 0;
}

void dd_config_destroy(dd_config **config)
{
    if (!config || !*config)
        return;
    dd_config *c = *config;
    for (size_t i = 0; i < c->n; i++)
        free(c->values[i].text);
    free(c->values);
    free(c->path);
    free(c);
    *config = NULL;
}

/* ---- reading ------------------------------------------------------------------------ */

/* A read with the wrong index or type is a bug in the daemon, not bad input. */
static const conf_value *value_of(const dd_config *config, size_t key, dd_conf_type t1,
                                  dd_conf_type t2)
{
    if (key >= config->n) {
        fprintf(stderr, "doudi: configuration key %zu read, only %zu declared; aborting\n", key,
                config->n);
        abort();
    }
    if (config->keys[key].type != t1 && config->keys[key].type != t2)
        table_error(&config->keys[key], "read as the wrong type");
    return &config->values[key];
}

const char *dd_config_string(const dd_config *config, size_t key)
{
    return value_of(config, key, DD_CONF_STRING, DD_CONF_ENUM)->text;
}

int64_t dd_config_int(const dd_config *config, size_t key)
{
    return value_of(config, key, DD_CONF_INT, DD_CONF_INT)->num;
}

bool dd_config_bool(const dd_config *config, size_t key)
{
    return value_of(config, key, DD_CONF_BOOL, DD_CONF_BOOL)->num != 0;
}

int64_t dd_config_duration_ms(const dd_config *config, size_t key)
{
    return value_of(config, key, DD_CONF_DURATION, DD_CONF_DURATION)->num;
}

uint64_t dd_config_size(const dd_config *config, size_t key)
{
    return (uint64_t)value_of(config, key, DD_CONF_SIZE, DD_CONF_SIZE)->num;
}

size_t dd_config_enum(const dd_config *config, size_t key)
{
    return (size_t)value_of(config, key, DD_CONF_ENUM, DD_CONF_ENUM)->num;
}

const char *dd_config_path(const dd_config *config)
{
    return config->path;
}

bool dd_config_is_set(const dd_config *config, size_t key)
{
    if (key >= config->n)
        return false;
    return config->values[key].line != 0;
}

bool dd_config_same(const dd_config *a, const dd_config *b, size_t key)
{
    const dd_conf_key *k = &a->keys[key];
    value_of(a, key, k->type, k->type);
    value_of(b, key, k->type, k->type);
    if (k->type == DD_CONF_STRING)
        return strcmp(a->values[key].text, b->values[key].text) == 0;
    return a->values[key].num == b->values[key].num;
}

/* ---- printing ----------------------------------------------------------------------- */

/* Type and limits in a few words: "duration, 1s .. 1d". */
static void describe_type(const dd_conf_key *key, FILE *out)
{
    static const char *const names[] = {
        [DD_CONF_STRING] = "string",
        [DD_CONF_INT] = "integer",
        [DD_CONF_BOOL] = "boolean (true/false, yes/no, on/off, 1/0)",
        [DD_CONF_DURATION] = "duration (ms, s, m, h, d)",
        [DD_CONF_SIZE] = "size (bytes, K, M, G, T)",
        [DD_CONF_ENUM] = "one of",
    };
    fputs(names[key->type], out);
    if (key->type == DD_CONF_ENUM)
        fprintf(out, " %s", key->choices);
    if (bounded(key) && (key->type == DD_CONF_INT || key->type == DD_CONF_DURATION ||
                         key->type == DD_CONF_SIZE)) {
        char lo[32], hi[32];
        format_limit(lo, sizeof(lo), key, key->min);
        format_limit(hi, sizeof(hi), key, upper_limit(key));
        if (upper_limit(key) == INT64_MAX)
            fprintf(out, ", at least %s", lo);
        else if (key->min == INT64_MIN)
            fprintf(out, ", at most %s", hi);
        else
            fprintf(out, ", %s .. %s", lo, hi);
    }
    fputs(key->reloadable ? "; reloadable" : "; needs a restart", out);
}

/* Words of text filled into lines of at most width columns after prefix. */
static void write_wrapped(FILE *out, const char *prefix, const char *text, size_t width)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        size_t used = 0;
        const char *line = p, *end = p;
        /* Take whole words while they fit; a single long word goes alone. */
        while (*end) {
            const char *word_end = end;
            while (*word_end == ' ')
                word_end++;
            while (*word_end && *word_end != ' ')
                word_end++;
            size_t len = (size_t)(word_end - line);
            if (used && len > width)
                break;
            used = len;
            end = word_end;
        }
        fprintf(out, "%s%.*s\n", prefix, (int)(end - line), line);
        p = end;
    }
}

static void write_section_header(FILE *out, const dd_conf_key *keys, size_t i, bool *first)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(keys[j].section, keys[i].section) == 0)
            return;
    fprintf(out, "%s[%s]\n", *first ? "" : "\n", keys[i].section);
    *first = false;
}

/* Keys in table order, grouped by section in order of first appearance. */
static void for_each_key_by_section(const dd_conf_key *keys, size_t n,
                                    void (*fn)(size_t i, void *arg), void *arg)
{
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(keys[j].section, keys[i].section) == 0;
        if (seen)
            continue;
        for (size_t k = i; k < n; k++)
            if (strcmp(keys[k].section, keys[i].section) == 0)
                fn(k, arg);
    }
}

typedef struct {
    const dd_config *config;
    const dd_conf_key *keys;
    FILE *out;
    bool first;
} print_ctx;

static void print_key(size_t i, void *arg)
{
    print_ctx *pc = arg;
    const dd_conf_key *key = &pc->keys[i];
    write_section_header(pc->out, pc->keys, i, &pc->first);
    fputc('\n', pc->out);
    write_wrapped(pc->out, "# ", key->help, 76);
    fputs("# ", pc->out);
    describe_type(key, pc->out);
    const conf_value *v = &pc->config->values[i];
    if (v->line)
        fprintf(pc->out, "; default %s\n", *key->default_value ? key->default_value : "empty");
    else
        fputs("; (default)\n", pc->out);
    fprintf(pc->out, "%s =%s%s\n", key->name, *v->text ? " " : "", v->text);
}

void dd_config_print(const dd_config *config, FILE *out)
{
    if (config->path)
        fprintf(out, "# Effective configuration, read from %s.\n", config->path);
    else
        fputs("# Effective configuration: built-in defaults, no file.\n", out);
    fputs("# Keys marked (default) are not set in the file.\n\n", out);
    print_ctx pc = {.config = config, .keys = config->keys, .out = out, .first = true};
    for_each_key_by_section(config->keys, config->n, print_key, &pc);
}

static void reference_key(size_t i, void *arg)
{
    print_ctx *pc = arg;
    const dd_conf_key *key = &pc->keys[i];
    write_section_header(pc->out, pc->keys, i, &pc->first);
    fprintf(pc->out, "  %s = %s\n      ", key->name, key->default_value);
    describe_type(key, pc->out);
    fputc('\n', pc->out);
    write_wrapped(pc->out, "      ", key->help, 72);
}

void dd_config_print_reference(const dd_conf_key *keys, size_t n, FILE *out)
{
    print_ctx pc = {.keys = keys, .out = out, .first = true};
    for_each_key_by_section(keys, n, reference_key, &pc);
}

const char **dd_config_split_list(const char *text, size_t *n)
{
    /* Room for the most names the text can hold, then a copy of the text. */
    size_t len = strlen(text);
    size_t slots = len / 2 + 1;
    char **names = dd_malloc(slots * sizeof(char *) + len + 1);
    char *copy = (char *)(names + slots);
    memcpy(copy, text, len + 1);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ", \t", &save); tok;
         tok = strtok_r(NULL, ", \t", &save))
        names[(*n)++] = tok;
    return (const char **)names;
}
