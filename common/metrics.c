/*
 * metrics.c: the metrics registry, its text rendering and the /metrics
 * endpoint (see metrics.h for the contract).
 *
 * Two threads meet here. The daemon's loop thread updates series on its hot
 * path, so an update is one relaxed atomic operation on memory it already
 * holds a pointer to, never a lock. The HTTP thread renders; it and series
 * creation take the registry's mutex, because both walk or extend the
 * per-family series lists. Series are never freed before the registry, so a
 * pointer handed to the loop stays valid while the HTTP thread walks past it.
 *
 * Doubles (gauge values, histogram sums) are stored as the bit pattern of the
 * double in an atomic 64-bit word: a store is a plain atomic store, an add is
 * a compare-and-swap loop.
 */
#include "metrics.h"

#include "alloc.h"
#include "diag.h"
#include "error.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

const double dd_buckets_seconds[] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10,
};
_Static_assert(sizeof(dd_buckets_seconds) / sizeof(double) == DD_BUCKETS_SECONDS_N,
               "DD_BUCKETS_SECONDS_N does not match the table");
const size_t dd_buckets_seconds_n = DD_BUCKETS_SECONDS_N;

const double dd_buckets_batch[] = {
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
};
_Static_assert(sizeof(dd_buckets_batch) / sizeof(double) == DD_BUCKETS_BATCH_N,
               "DD_BUCKETS_BATCH_N does not match the table");
const size_t dd_buckets_batch_n = DD_BUCKETS_BATCH_N;

struct dd_series {
    dd_series *next;          /* creation order within the family */
    const dd_metric *family;
    char *label_value;        /* NULL in a family without a label */
    /* counter: the count; gauge: the value's bits; histogram: the sum's bits */
    _Atomic uint64_t value;
    /*
     * Histogram only: observations per bucket, not cumulative, so an
     * observation touches one word; the last slot is +Inf. Rendering adds
     * them up, which also makes _count agree with the +Inf bucket.
     */
    _Atomic uint64_t buckets[];
};

struct dd_metric {
    dd_metrics *registry;
    const dd_metric_def *def;
    dd_series *first, *last;
};

struct dd_metrics {
    pthread_mutex_t lock;
    dd_metric **families; /* registration order */
    size_t nfamilies, cap;
};

/* ---- doubles in atomic words ---------------------------------------------- */

static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static double double_of(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

static void atomic_add_double(_Atomic uint64_t *word, double delta)
{
    uint64_t old = atomic_load_explicit(word, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(word, &old, bits_of(double_of(old) + delta),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

/* ---- registry ---------------------------------------------------------------- */

dd_metrics *dd_metrics_new(void)
{
    dd_metrics *metrics = dd_calloc(1, sizeof(*metrics));
    pthread_mutex_init(&metrics->lock, NULL);
    return metrics;
}

void dd_metrics_destroy(dd_metrics **metrics)
{
    if (!metrics || !*metrics)
        return;
    dd_metrics *m = *metrics;
    for (size_t i = 0; i < m->nfamilies; i++) {
        dd_series *s = m->families[i]->first;
        while (s) {
            dd_series *next = s->next;
            free(s->label_value);
            free(s);
            s = next;
        }
        free(m->families[i]);
    }
    free(m->families);
    pthread_mutex_destroy(&m->lock);
    free(m);
    *metrics = NULL;
}

static bool is_name_char(char c, bool first, bool colon_ok)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return true;
    if (c == ':')
        return colon_ok;
    return !first && c >= '0' && c <= '9';
}

/* Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names the same without ':'. */
static bool valid_name(const char *name, bool colon_ok)
{
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++)
        if (!is_name_char(*p, p == name, colon_ok))
            return false;
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Why def cannot be registered, or NULL when it can. */
static const char *def_problem(const dd_metric_def *def)
{
    if (!valid_name(def->name, true))
        return "invalid metric name";
    if (!def->help || strchr(def->help, '\n'))
        return "help must be one line";
    if (def->label && (!valid_name(def->label, false) || strncmp(def->label, "__", 2) == 0))
        return "invalid label name";
    switch (def->kind) {
    case DD_METRIC_COUNTER:
    case DD_METRIC_COUNTER_FRACTIONAL:
        if (!ends_with(def->name, "_total"))
            return "a counter's name must end in _total";
        break;
    case DD_METRIC_GAUGE:
        break;
    case DD_METRIC_HISTOGRAM:
        if (def->label && strcmp(def->label, "le") == 0)
            return "a histogram cannot have a label named le";
        if (!def->buckets || def->nbuckets == 0)
            return "a histogram needs buckets";
        for (size_t i = 0; i < def->nbuckets; i++) {
            if (!isfinite(def->buckets[i]))
                return "bucket bounds must be finite (+Inf is implied)";
            if (i > 0 && !(def->buckets[i] > def->buckets[i - 1]))
                return "bucket bounds must be strictly ascending";
        }
        break;
    default:
        return "unknown metric kind";
    }
    return NULL;
}

/*
 * Whether the sample names of two families overlap: the same name, or one is
 * a histogram whose name_bucket/_sum/_count is the other's name.
 */
static bool names_clash(const dd_metric_def *a, const dd_metric_def *b)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    if (strcmp(a->name, b->name) == 0)
        return true;
    for (int pass = 0; pass < 2; pass++) {
        const dd_metric_def *h = pass ? b : a, *o = pass ? a : b;
        if (h->kind != DD_METRIC_HISTOGRAM)
            continue;
        size_t hl = strlen(h->name);
        if (strncmp(o->name, h->name, hl) != 0)
            continue;
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
            if (strcmp(o->name + hl, suffixes[i]) == 0)
                return true;
    }
    return false;
}

static dd_series *series_new(const dd_metric *family, const char *label_value)
{
    size_t nslots = family->def->kind == DD_METRIC_HISTOGRAM ? family->def->nbuckets + 1 : 0;
    dd_series *s = dd_malloc(sizeof(*s) + nslots * sizeof(s->buckets[0]));
    s->next = NULL;
    s->family = family;
    s->label_value = label_value ? dd_strdup(label_value) : NULL;
    atomic_init(&s->value, family->def->kind == DD_METRIC_COUNTER ? 0 : bits_of(0.0));
    for (size_t i = 0; i < nslots; i++)
        atomic_init(&s->buckets[i], 0);
    return s;
}

/* Called with the lock held. */
static void series_append(dd_metric *family, dd_series *s)
{
    if (family->last)
        family->last->next = s;
    else
        family->first = s;
    family->last = s;
}

int dd_metrics_register(dd_metrics *metrics, const dd_metric_def *defs, size_t n,
                        dd_metric **out)
{
    int rc = 0;
    pthread_mutex_lock(&metrics->lock);
    /* Check the whole batch first so a failure registers nothing. */
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *problem = def_problem(&defs[i]);
        for (size_t j = 0; !problem && j < metrics->nfamilies; j++)
            if (names_clash(&defs[i], metrics->families[j]->def))
                problem = "clashes with a metric already registered";
        for (size_t j = 0; !problem && j < i; j++)
            if (names_clash(&defs[i], &defs[j]))
                problem = "clashes with another metric in the same table";
        if (problem) {
            dd_error("metrics: cannot register %s: %s", defs[i].name ? defs[i].name : "(null)",
                     problem);
            rc = DD_ECONFIG;
        }
    }
    if (rc == 0) {
        if (metrics->nfamilies + n > metrics->cap) {
            metrics->cap = (metrics->nfamilies + n) * 2;
            metrics->families =
                dd_realloc(metrics->families, metrics->cap * sizeof(metrics->families[0]));
        }
        for (size_t i = 0; i < n; i++) {
            dd_metric *family = dd_calloc(1, sizeof(*family));
            family->registry = metrics;
            family->def = &defs[i];
            /* A family without a label has exactly one series, shown from the start. */
            if (!defs[i].label)
                series_append(family, series_new(family, NULL));
            metrics->families[metrics->nfamilies++] = family;
            out[i] = family;
        }
    }
    pthread_mutex_unlock(&metrics->lock);
    return rc;
}

dd_metric *dd_metrics_find(dd_metrics *metrics, const char *name)
{
    dd_metric *found = NULL;
    pthread_mutex_lock(&metrics->lock);
    for (size_t i = 0; i < metrics->nfamilies && !found; i++)
        if (strcmp(metrics->families[i]->def->name, name) == 0)
            found = metrics->families[i];
    pthread_mutex_unlock(&metrics->lock);
    return found;
}

/* Length of the valid UTF-8 sequence at p, or 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t len;
    unsigned int cp;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
        cp = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    /* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/*
 * Prometheus refuses a whole scrape over one label value that is not UTF-8,
 * and label values may come from the network (a portal's name, say). Such a
 * value is stored with U+FFFD for each bad byte, before the lookup, so every
 * spelling that renders the same is the same series. NULL when s is valid.
 */
static char *utf8_repaired(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n;
    while (*p && (n = utf8_sequence(p)) != 0)
        p += n;
    if (!*p)
        return NULL;
    char *out = dd_malloc(strlen(s) * 3 + 1), *o = out;
    for (p = (const unsigned char *)s; *p;) {
        n = utf8_sequence(p);
        if (n) {
            memcpy(o, p, n);
            o += n;
            p += n;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            p++;
        }
    }
    *o = '\0';
    return out;
}

dd_series *dd_metric_series(dd_metric *metric, const char *label_value)
{
    /* Unlabelled families never gain a second series; the value is ignored. */
    if (!metric->def->label)
        return metric->first;
    if (!label_value)
        label_value = "";
    char *repaired = utf8_repaired(label_value);
    if (repaired)
        label_value = repaired;
    pthread_mutex_lock(&metric->registry->lock);
    dd_series *s = metric->first;
    while (s && strcmp(s->label_value, label_value) != 0)
        s = s->next;
    if (!s) {
        s = series_new(metric, label_value);
        series_append(metric, s);
    }
    pthread_mutex_unlock(&metric->registry->lock);
    free(repaired);
    return s;
}

/* ---- updates (loop thread, lock-free) ---------------------------------------- */

void dd_series_inc(dd_series *series, uint64_t by)
{
    if (series->family->def->kind == DD_METRIC_COUNTER_FRACTIONAL)
        atomic_add_double(&series->value, (double)by);
    else
        atomic_fetch_add_explicit(&series->value, by, memory_order_relaxed);
}

void dd_series_set(dd_series *series, double value)
{
    atomic_store_explicit(&series->value, bits_of(value), memory_order_relaxed);
}

void dd_series_add(dd_series *series, double delta)
{
    switch (series->family->def->kind) {
    case DD_METRIC_COUNTER:
        /* The count is an integer: adding a double's bits to it made nonsense. */
        if (delta >= 0.5)
            atomic_fetch_add_explicit(&series->value, (uint64_t)llround(delta),
                                      memory_order_relaxed);
        break;
    case DD_METRIC_COUNTER_FRACTIONAL:
        if (delta > 0)
            atomic_add_double(&series->value, delta);
        break;
    default:
        atomic_add_double(&series->value, delta);
        break;
    }
}

void dd_series_observe(dd_series *series, double value)
{
    const dd_metric_def *def = series->family->def;
    size_t i = 0;
    /* NaN compares false everywhere and lands in +Inf, as it should. */
    while (i < def->nbuckets && !(value <= def->buckets[i]))
        i++;
    atomic_fetch_add_explicit(&series->buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&series->value, value);
}

double dd_series_value(const dd_series *series)
{
    uint64_t v = atomic_load_explicit(&series->value, memory_order_relaxed);
    return series->family->def->kind == DD_METRIC_COUNTER ? (double)v : double_of(v);
}

uint64_t dd_series_count(const dd_series *series)
{
    const dd_metric_def *def = series->family->def;
    if (def->kind == DD_METRIC_COUNTER)
        return atomic_load_explicit(&series->value, memory_order_relaxed);
    if (def->kind != DD_METRIC_HISTOGRAM)
        return 0;
    uint64_t total = 0;
    for (size_t i = 0; i <= def->nbuckets; i++)
        total += atomic_load_explicit(&series->buckets[i], memory_order_relaxed);
    return total;
}

/* ---- rendering ------------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
} textbuf;

static void tb_reserve(textbuf *tb, size_t more)
{
    if (tb->len + more + 1 <= tb->cap)
        return;
    while (tb->len + more + 1 > tb->cap)
        tb->cap = tb->cap ? tb->cap * 2 : 4096;
    tb->p = dd_realloc(tb->p, tb->cap);
}

static void tb_put(textbuf *tb, const char *s, size_t n)
{
    tb_reserve(tb, n);
    memcpy(tb->p + tb->len, s, n);
    tb->len += n;
    tb->p[tb->len] = '\0';
}

static void tb_puts(textbuf *tb, const char *s)
{
    tb_put(tb, s, strlen(s));
}

static void tb_printf(textbuf *tb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(textbuf *tb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    tb_reserve(tb, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(tb->p + tb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    tb->len += (size_t)n;
}

/*
 * Escapes for the text format: HELP text escapes backslash and newline, a
 * label value also the double quote.
 */
static void tb_put_escaped(textbuf *tb, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            tb_puts(tb, "\\\\");
        else if (*s == '\n')
            tb_puts(tb, "\\n");
        else if (*s == '"' && quote)
            tb_puts(tb, "\\\"");
        else
            tb_put(tb, s, 1);
    }
}

/*
 * The shortest of %.15g and %.17g that reads back as the same double, so
 * 0.1 prints as "0.1", and the spellings Prometheus expects for the rest.
 */
static void format_double(char buf[32], double v)
{
    if (isnan(v)) {
        strcpy(buf, "NaN");
    } else if (isinf(v)) {
        strcpy(buf, v > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(buf, 32, "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, 32, "%.17g", v);
    }
}

/* "{label="value"" without the closing brace, so le can follow. */
static void put_labels_open(textbuf *tb, const dd_series *s)
{
    tb_printf(tb, "{%s=\"", s->family->def->label);
    tb_put_escaped(tb, s->label_value, true);
    tb_puts(tb, "\"");
}

static void put_sample(textbuf *tb, const dd_series *s, const char *suffix, const char *value)
{
    tb_puts(tb, s->family->def->name);
    tb_puts(tb, suffix);
    if (s->label_value) {
        put_labels_open(tb, s);
        tb_puts(tb, "}");
    }
    tb_printf(tb, " %s\n", value);
}

static void render_histogram(textbuf *tb, const dd_series *s)
{
    const dd_metric_def *def = s->family->def;
    char num[32];
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= def->nbuckets; i++) {
        cumulative += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        if (i < def->nbuckets)
            format_double(num, def->buckets[i]);
        else
            strcpy(num, "+Inf");
        tb_printf(tb, "%s_bucket", def->name);
        if (s->label_value) {
            put_labels_open(tb, s);
            tb_printf(tb, ",le=\"%s\"}", num);
        } else {
            tb_printf(tb, "{le=\"%s\"}", num);
        }
        tb_printf(tb, " %llu\n", (unsigned long long)cumulative);
    }
    format_double(num, double_of(atomic_load_explicit(&s->value, memory_order_relaxed)));
    put_sample(tb, s, "_sum", num);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)cumulative);
    put_sample(tb, s, "_count", num);
}

static void render_family(textbuf *tb, const dd_metric *family)
{
    static const char *const type_names[] = {
        [DD_METRIC_COUNTER] = "counter",
        [DD_METRIC_GAUGE] = "gauge",
        [DD_METRIC_HISTOGRAM] = "histogram",
        [DD_METRIC_COUNTER_FRACTIONAL] = "counter",
    };
    const dd_metric_def *def = family->def;
    if (!family->first)
        return; /* a labelled family with no series yet */
    tb_printf(tb, "# HELP %s ", def->name);
    tb_put_escaped(tb, def->help, false);
    tb_printf(tb, "\n# TYPE %s %s\n", def->name, type_names[def->kind]);
    for (const dd_series *s = family->first; s; s = s->next) {
        char num[32];
        switch (def->kind) {
        case DD_METRIC_COUNTER:
            snprintf(num, sizeof(num), "%llu",
                     (unsigned long long)atomic_load_explicit(&s->value, memory_order_relaxed));
            put_sample(tb, s, "", num);
            break;
        case DD_METRIC_GAUGE:
        case DD_METRIC_COUNTER_FRACTIONAL:
            format_double(num, dd_series_value(s));
            put_sample(tb, s, "", num);
            break;
        case DD_METRIC_HISTOGRAM:
            render_histogram(tb, s);
            break;
        }
    }
}

char *dd_metrics_render(dd_metrics *metrics, size_t *len)
{
    textbuf tb = {0};
    tb_reserve(&tb, 0);
    tb.p[0] = '\0';
    pthread_mutex_lock(&metrics->lock);
    for (size_t i = 0; i < metrics->nfamilies; i++)
        render_family(&tb, metrics->families[i]);
    pthread_mutex_unlock(&metrics->lock);
    if (len)
        *len = tb.len;
    return tb.p;
}

/* ---- HTTP endpoint ------------------------------------------------------------------ */

struct dd_metrics_http {
    struct MHD_Daemon *daemon;
    dd_metrics *metrics;
    int port;
    int last_errno; /* errno when libmicrohttpd last logged, for the start error */
};

static void http_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void http_log(void *cls, const char *fmt, va_list ap)
{
    dd_metrics_http *http = cls;
    /* The failing call's errno is still set when its message is logged. */
    http->last_errno = errno;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    dd_warn("metrics http: %s", line);
}

static enum MHD_Result http_reply(struct MHD_Connection *connection, unsigned int status,
                                  char *body, size_t len, enum MHD_ResponseMemoryMode mode,
                                  const char *content_type)
{
    struct MHD_Response *response = MHD_create_response_from_buffer(len, body, mode);
    if (!response) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return rc;
}

static enum MHD_Result http_handle(void *cls, struct MHD_Connection *connection, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **req_cls)
{
    static int seen_headers;
    dd_metrics_http *http = cls;
    (void)version;
    (void)upload_data;
    /*
     * The first call only announces the request; answering from the second
     * keeps a client that sends "Expect: 100-continue" with a body in step.
     * A body is drained and ignored.
     */
    if (!*req_cls) {
        *req_cls = &seen_headers;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        static char text[] = "method not allowed\n";
        return http_reply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, text, sizeof(text) - 1,
                          MHD_RESPMEM_PERSISTENT, "text/plain; charset=utf-8");
    }
    if (strcmp(url, "/metrics") != 0) {
        static char text[] = "not found; metrics are at /metrics\n";
        return http_reply(connection, MHD_HTTP_NOT_FOUND, text, sizeof(text) - 1,
                          MHD_RESPMEM_PERSISTENT, "text/plain; charset=utf-8");
    }
    size_t len;
    char *body = dd_metrics_render(http->metrics, &len);
    return http_reply(connection, MHD_HTTP_OK, body, len, MHD_RESPMEM_MUST_FREE,
                      "text/plain; version=0.0.4; charset=utf-8");
}

/*
 * Splits "host:port" or "[v6host]:port" into an address. An empty host or
 * "*" means every IPv4 interface. Returns 0 or DD_ECONFIG (logged).
 */
static int parse_listen_address(const char *text, struct sockaddr_storage *addr)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon[1] == '\0') {
        dd_error("metrics: listen address '%s' is not host:port", text);
        return DD_ECONFIG;
    }
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || errno || port > 65535 || colon[1] < '0' || colon[1] > '9') {
        dd_error("metrics: listen address '%s' has an invalid port", text);
        return DD_ECONFIG;
    }
    char *host = dd_strndup(text, (size_t)(colon - text));
    size_t hlen = strlen(host);
    bool bracketed = hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']';
    if (bracketed) {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    } else if (strchr(host, ':')) {
        dd_error("metrics: listen address '%s': write an IPv6 host in brackets", text);
        free(host);
        return DD_ECONFIG;
    }
    if (!bracketed && (host[0] == '\0' || strcmp(host, "*") == 0)) {
        free(host);
        host = dd_strdup("0.0.0.0");
    }
    char service[8];
    snprintf(service, sizeof(service), "%lu", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0 || !res) {
        dd_error("metrics: listen address '%s': %s", text, gai_strerror(gai));
        free(host);
        return DD_ECONFIG;
    }
    memset(addr, 0, sizeof(*addr));
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    free(host);
    return 0;
}

int dd_metrics_http_start(dd_metrics *metrics, const char *listen_address,
                          dd_metrics_http **out)
{
    struct sockaddr_storage addr;
    int rc = parse_listen_address(listen_address, &addr);
    if (rc)
        return rc;
    dd_metrics_http *http = dd_calloc(1, sizeof(*http));
    http->metrics = metrics;
    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    uint16_t port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                                     : ((struct sockaddr_in *)&addr)->sin_port);
    errno = 0;
    /* A scrape is small and quick; a stalled client must not hold a slot long. */
    http->daemon = MHD_start_daemon(flags, port, NULL, NULL, http_handle, http,
                                    MHD_OPTION_EXTERNAL_LOGGER, http_log, http,
                                    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                    MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                                    MHD_OPTION_CONNECTION_LIMIT, 64u,
                                    MHD_OPTION_END);
    if (!http->daemon) {
        int err = http->last_errno ? http->last_errno : errno;
        rc = err > 0 ? -err : -EADDRNOTAVAIL;
        dd_error("metrics: cannot serve on %s: %s", listen_address, dd_strerror(rc));
        free(http);
        return rc;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(http->daemon, MHD_DAEMON_INFO_BIND_PORT);
    http->port = info ? info->port : port;
    *out = http;
    return 0;
}

int dd_metrics_http_port(const dd_metrics_http *http)
{
    return http->port;
}

void dd_metrics_http_stop(dd_metrics_http **http)
{
    if (!http || !*http)
        return;
    MHD_stop_daemon((*http)->daemon);
    free(*http);
    *http = NULL;
}
