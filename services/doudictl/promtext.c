/* promtext.c: a reader for the Prometheus text format, and bucket quantiles (see promtext.h). */
#include "promtext.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

struct cursor {
    const char *p, *end;
};

static bool name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

static void skip_blanks(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

/* A metric or label name; NULL if none starts here. */
static char *take_name(struct cursor *c)
{
    const char *s = c->p;
    if (s >= c->end || !name_start(*s))
        return NULL;
    while (c->p < c->end && name_char(*c->p))
        c->p++;
    return dd_strndup(s, (size_t)(c->p - s));
}

/* The rest of the line, with \\ and \n unescaped (and \" for label values). */
static char *unescape(const char *s, size_t len)
{
    char *out = dd_malloc(len + 1), *o = out;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len) {
            char n = s[++i];
            *o++ = n == 'n' ? '\n' : n;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static ctl_prom_family *find_family(ctl_prom *p, const char *name, size_t len)
{
    for (size_t i = 0; i < p->nfamilies; i++)
        if (strlen(p->families[i].name) == len && strncmp(p->families[i].name, name, len) == 0)
            return &p->families[i];
    return NULL;
}

static ctl_prom_family *add_family(ctl_prom *p, const char *name)
{
    if (p->nfamilies == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 32;
        p->families = dd_realloc(p->families, p->cap * sizeof(*p->families));
    }
    ctl_prom_family *f = &p->families[p->nfamilies++];
    memset(f, 0, sizeof(*f));
    f->name = dd_strdup(name);
    f->type = dd_strdup("untyped");
    f->help = dd_strdup("");
    return f;
}

static bool ends_with(const char *s, const char *suffix, size_t *stem)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (n <= m || strcmp(s + n - m, suffix) != 0)
        return false;
    *stem = n - m;
    return true;
}

/* The family a sample belongs to, created if none was declared. */
static ctl_prom_family *family_of(ctl_prom *p, const char *sample)
{
    static const char *const grouped[] = { "_bucket", "_sum", "_count" };
    size_t stem;
    for (size_t i = 0; i < 3; i++) {
        if (!ends_with(sample, grouped[i], &stem))
            continue;
        ctl_prom_family *f = find_family(p, sample, stem);
        if (f && (strcmp(f->type, "histogram") == 0 || strcmp(f->type, "summary") == 0))
            return f;
    }
    if (ends_with(sample, "_total", &stem)) {
        ctl_prom_family *f = find_family(p, sample, stem);
        if (f && strcmp(f->type, "counter") == 0)
            return f;
    }
    ctl_prom_family *f = find_family(p, sample, strlen(sample));
    return f ? f : add_family(p, sample);
}

static void free_sample(ctl_prom_sample *s)
{
    for (size_t i = 0; i < s->nlabels; i++) {
        free(s->labels[i].name);
        free(s->labels[i].value);
    }
    free(s->labels);
    free(s->name);
}

/* "# HELP name text" or "# TYPE name type"; other comments are ignored. */
static void parse_comment(ctl_prom *p, struct cursor *c)
{
    c->p++; /* '#' */
    skip_blanks(c);
    bool help = (size_t)(c->end - c->p) > 4 && strncmp(c->p, "HELP", 4) == 0;
    bool type = (size_t)(c->end - c->p) > 4 && strncmp(c->p, "TYPE", 4) == 0;
    if (!help && !type)
        return;
    c->p += 4;
    skip_blanks(c);
    char *name = take_name(c);
    if (!name)
        return;
    skip_blanks(c);
    ctl_prom_family *f = find_family(p, name, strlen(name));
    if (!f)
        f = add_family(p, name);
    free(name);
    if (help) {
        free(f->help);
        f->help = unescape(c->p, (size_t)(c->end - c->p));
    } else {
        const char *t = c->p;
        while (c->p < c->end && *c->p != ' ' && *c->p != '\t')
            c->p++;
        free(f->type);
        f->type = dd_strndup(t, (size_t)(c->p - t));
    }
}

/* A sample line into s. Returns NULL, or a static reason. */
static const char *parse_sample(struct cursor *c, ctl_prom_sample *s)
{
    memset(s, 0, sizeof(*s));
    s->name = take_name(c);
    if (!s->name)
        return "expected a metric name";
    if (c->p < c->end && *c->p == '{') {
        c->p++;
        size_t cap = 0;
        for (;;) {
            skip_blanks(c);
            if (c->p < c->end && *c->p == '}') {
                c->p++;
                break;
            }
            char *lname = take_name(c);
            if (!lname)
                return "expected a label name";
            skip_blanks(c);
            if (c->p + 1 >= c->end || c->p[0] != '=' || c->p[1] != '"') {
                free(lname);
                return "expected =\" after a label name";
            }
            c->p += 2;
            const char *v = c->p;
            while (c->p < c->end && *c->p != '"')
                c->p += (*c->p == '\\' && c->p + 1 < c->end) ? 2 : 1;
            if (c->p >= c->end) {
                free(lname);
                return "unterminated label value";
            }
            if (s->nlabels == cap) {
                cap = cap ? cap * 2 : 4;
                s->labels = dd_realloc(s->labels, cap * sizeof(*s->labels));
            }
            s->labels[s->nlabels].name = lname;
            s->labels[s->nlabels].value = unescape(v, (size_t)(c->p - v));
            s->nlabels++;
            c->p++; /* closing quote */
            skip_blanks(c);
            if (c->p < c->end && *c->p == ',')
                c->p++;
            else if (c->p < c->end && *c->p != '}')
                return "expected , or } after a label";
        }
    }
    skip_blanks(c);
    char num[64];
    const char *v = c->p;
    while (c->p < c->end && *c->p != ' ' && *c->p != '\t')
        c->p++;
    size_t n = (size_t)(c->p - v);
    if (n == 0 || n >= sizeof(num))
        return "expected a value";
    memcpy(num, v, n);
    num[n] = '\0';
    char *end;
    s->value = strtod(num, &end);
    if (*end != '\0')
        return "the value is not a number";
    return NULL; /* a timestamp may follow; it is not needed */
}

int ctl_prom_parse(const char *text, size_t len, ctl_prom **out, char *err, size_t errlen)
{
    ctl_prom *p = dd_calloc(1, sizeof(*p));
    const char *end = text + len;
    unsigned lineno = 0;
    for (const char *line = text; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *lend = nl ? nl : end;
        struct cursor c = { line, lend };
        lineno++;
        if (c.end > c.p && c.end[-1] == '\r')
            c.end--;
        skip_blanks(&c);
        if (c.p < c.end && *c.p == '#') {
            parse_comment(p, &c);
        } else if (c.p < c.end) {
            ctl_prom_sample s;
            const char *why = parse_sample(&c, &s);
            if (why) {
                snprintf(err, errlen, "line %u: %s", lineno, why);
                free_sample(&s);
                ctl_prom_destroy(&p);
                return DD_EPROTO;
            }
            ctl_prom_family *f = family_of(p, s.name);
            if (f->nsamples == f->cap) {
                f->cap = f->cap ? f->cap * 2 : 8;
                f->samples = dd_realloc(f->samples, f->cap * sizeof(*f->samples));
            }
            f->samples[f->nsamples++] = s;
        }
        line = nl ? nl + 1 : end;
    }
    *out = p;
    return 0;
}

void ctl_prom_destroy(ctl_prom **pp)
{
    if (!pp || !*pp)
        return;
    ctl_prom *p = *pp;
    for (size_t i = 0; i < p->nfamilies; i++) {
        ctl_prom_family *f = &p->families[i];
        for (size_t j = 0; j < f->nsamples; j++)
            free_sample(&f->samples[j]);
        free(f->samples);
        free(f->name);
        free(f->type);
        free(f->help);
    }
    free(p->families);
    free(p);
    *pp = NULL;
}

const char *ctl_prom_label_value(const ctl_prom_sample *s, const char *name)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (strcmp(s->labels[i].name, name) == 0)
            return s->labels[i].value;
    return NULL;
}

double ctl_prom_bucket_quantile(double q, const double *le, const double *cum, size_t n)
{
    if (n == 0 || !(cum[n - 1] > 0))
        return NAN;
    double rank = q * cum[n - 1];
    size_t i = 0;
    while (i < n - 1 && cum[i] < rank)
        i++;
    if (isinf(le[i])) {
        /* Beyond every finite bound: the best that can be said. */
        return i > 0 ? le[i - 1] : NAN;
    }
    double lower = i > 0 ? le[i - 1] : 0.0;
    double below = i > 0 ? cum[i - 1] : 0.0;
    if (i == 0 && le[0] <= 0)
        return le[0];
    double in_bucket = cum[i] - below;
    if (in_bucket <= 0)
        return lower;
    return lower + (le[i] - lower) * (rank - below) / in_bucket;
}
