/*
 * test_metrics.c: the metrics registry, its text rendering and /metrics.
 *
 * The rendering is compared byte for byte, because Prometheus parses it and
 * an extra space or a wrong escape silently loses a scrape. When promtool is
 * installed, its linter reads a rendered registry too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "error.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const double small_buckets[] = {0.1, 0.5, 1};

#define SMALL_METRICS(X)                                                                 \
    X(EVENTS, "t_events_total", DD_METRIC_COUNTER, "Events seen.", NULL, NULL, 0)        \
    X(REJECTS, "t_rejects_total", DD_METRIC_COUNTER, "Events refused, by reason.",       \
      "reason", NULL, 0)                                                                 \
    X(LAG, "t_lag_records", DD_METRIC_GAUGE, "Records behind the upstream.", NULL, NULL, \
      0)                                                                                 \
    X(COMMIT, "t_commit_seconds", DD_METRIC_HISTOGRAM, "Commit latency.", NULL,          \
      small_buckets, 3)                                                                  \
    X(FETCH, "t_fetch_seconds", DD_METRIC_HISTOGRAM, "Fetch latency, by upstream.",      \
      "upstream", small_buckets, 3)

enum { SMALL_METRICS(DD_METRIC_ENUM) SMALL_COUNT };
static const dd_metric_def small_defs[] = {SMALL_METRICS(DD_METRIC_DEF)};

static dd_metrics *small_registry(dd_metric **m)
{
    dd_metrics *metrics = dd_metrics_new();
    assert_int_equal(dd_metrics_register(metrics, small_defs, SMALL_COUNT, m), 0);
    return metrics;
}

static void assert_render(dd_metrics *metrics, const char *expected)
{
    size_t len = 12345;
    char *text = dd_metrics_render(metrics, &len);
    assert_string_equal(text, expected);
    assert_int_equal(len, strlen(expected));
    free(text);
}

/* ---- rendering ------------------------------------------------------------ */

static void test_render_fresh(void **state)
{
    (void)state;
    dd_metric *m[SMALL_COUNT];
    dd_metrics *metrics = small_registry(m);
    /* Unlabelled families show at zero; labelled ones not at all. */
    assert_render(metrics, "# HELP t_events_total Events seen.\n"
                           "# TYPE t_events_total counter\n"
                           "t_events_total 0\n"
                           "# HELP t_lag_records Records behind the upstream.\n"
                           "# TYPE t_lag_records gauge\n"
                           "t_lag_records 0\n"
                           "# HELP t_commit_seconds Commit latency.\n"
                           "# TYPE t_commit_seconds histogram\n"
                           "t_commit_seconds_bucket{le=\"0.1\"} 0\n"
                           "t_commit_seconds_bucket{le=\"0.5\"} 0\n"
                           "t_commit_seconds_bucket{le=\"1\"} 0\n"
                           "t_commit_seconds_bucket{le=\"+Inf\"} 0\n"
                           "t_commit_seconds_sum 0\n"
                           "t_commit_seconds_count 0\n");
    dd_metrics_destroy(&metrics);
    assert_null(metrics);
    dd_metrics_destroy(&metrics);
    dd_metrics_destroy(NULL);
}

static void test_render_exact(void **state)
{
    (void)state;
    dd_metric *m[SMALL_COUNT];
    dd_metrics *metrics = small_registry(m);
    dd_series_inc(dd_metric_series(m[EVENTS], NULL), 41);
    dd_series_inc(dd_metric_series(m[EVENTS], NULL), 1);
    dd_series_inc(dd_metric_series(m[REJECTS], "undecodable"), 2);
    dd_series_inc(dd_metric_series(m[REJECTS], "bad_region"), 1);
    dd_series_inc(dd_metric_series(m[REJECTS], "undecodable"), 1);
    dd_series_set(dd_metric_series(m[LAG], NULL), 0.25);
    dd_series_add(dd_metric_series(m[LAG], NULL), -1.5);
    dd_series *commit = dd_metric_series(m[COMMIT], NULL);
    dd_series_observe(commit, 0.05);
    dd_series_observe(commit, 0.5);
    dd_series_observe(commit, 3);
    dd_series_observe(dd_metric_series(m[FETCH], "intake"), 0.25);
    dd_metric_series(m[FETCH], "eligibility"); /* created, never observed */

    assert_render(metrics, "# HELP t_events_total Events seen.\n"
                           "# TYPE t_events_total counter\n"
                           "t_events_total 42\n"
                           "# HELP t_rejects_total Events refused, by reason.\n"
                           "# TYPE t_rejects_total counter\n"
                           "t_rejects_total{reason=\"undecodable\"} 3\n"
                           "t_rejects_total{reason=\"bad_region\"} 1\n"
                           "# HELP t_lag_records Records behind the upstream.\n"
                           "# TYPE t_lag_records gauge\n"
                           "t_lag_records -1.25\n"
                           "# HELP t_commit_seconds Commit latency.\n"
                           "# TYPE t_commit_seconds histogram\n"
                           "t_commit_seconds_bucket{le=\"0.1\"} 1\n"
                           "t_commit_seconds_bucket{le=\"0.5\"} 2\n"
                           "t_commit_seconds_bucket{le=\"1\"} 2\n"
                           "t_commit_seconds_bucket{le=\"+Inf\"} 3\n"
                           "t_commit_seconds_sum 3.55\n"
                           "t_commit_seconds_count 3\n"
                           "# HELP t_fetch_seconds Fetch latency, by upstream.\n"
                           "# TYPE t_fetch_seconds histogram\n"
                           "t_fetch_seconds_bucket{upstream=\"intake\",le=\"0.1\"} 0\n"
                           "t_fetch_seconds_bucket{upstream=\"intake\",le=\"0.5\"} 1\n"
                           "t_fetch_seconds_bucket{upstream=\"intake\",le=\"1\"} 1\n"
                           "t_fetch_seconds_bucket{upstream=\"intake\",le=\"+Inf\"} 1\n"
                           "t_fetch_seconds_sum{upstream=\"intake\"} 0.25\n"
                           "t_fetch_seconds_count{upstream=\"intake\"} 1\n"
                           "t_fetch_seconds_bucket{upstream=\"eligibility\",le=\"0.1\"} 0\n"
                           "t_fetch_seconds_bucket{upstream=\"eligibility\",le=\"0.5\"} 0\n"
                           "t_fetch_seconds_bucket{upstream=\"eligibility\",le=\"1\"} 0\n"
                           "t_fetch_seconds_bucket{upstream=\"eligibility\",le=\"+Inf\"} 0\n"
                           "t_fetch_seconds_sum{upstream=\"eligibility\"} 0\n"
                           "t_fetch_seconds_count{upstream=\"eligibility\"} 0\n");
    dd_metrics_destroy(&metrics);
}

static void test_render_values(void **state)
{
    (void)state;
    static const dd_metric_def defs[] = {
        {"t_value", DD_METRIC_GAUGE, "Values.", "case", NULL, 0},
    };
    dd_metric *m;
    dd_metrics *metrics = dd_metrics_new();
    assert_int_equal(dd_metrics_register(metrics, defs, 1, &m), 0);
    dd_series_set(dd_metric_series(m, "tenth"), 0.1);
    dd_series_set(dd_metric_series(m, "third"), 1.0 / 3);
    dd_series_set(dd_metric_series(m, "big"), 1e21);
    dd_series_set(dd_metric_series(m, "int"), 123456789012.0);
    dd_series_set(dd_metric_series(m, "pinf"), INFINITY);
    dd_series_set(dd_metric_series(m, "minf"), -INFINITY);
    dd_series_set(dd_metric_series(m, "nan"), NAN);
    assert_render(metrics, "# HELP t_value Values.\n"
                           "# TYPE t_value gauge\n"
                           "t_value{case=\"tenth\"} 0.1\n"
                           "t_value{case=\"third\"} 0.33333333333333331\n"
                           "t_value{case=\"big\"} 1e+21\n"
                           "t_value{case=\"int\"} 123456789012\n"
                           "t_value{case=\"pinf\"} +Inf\n"
                           "t_value{case=\"minf\"} -Inf\n"
                           "t_value{case=\"nan\"} NaN\n");
    assert_true(dd_series_value(dd_metric_series(m, "third")) == 1.0 / 3);
    dd_metrics_destroy(&metrics);
}

/* Seconds counted in fractions render as such; adding to a whole-count
 * counter rounds instead of mixing a double's bits into the count. */
static void test_fractional_counter(void **state)
{
    (void)state;
    static const dd_metric_def defs[] = {
        {"t_wait_seconds_total", DD_METRIC_COUNTER_FRACTIONAL, "Waited.", NULL, NULL, 0},
        {"t_things_total", DD_METRIC_COUNTER, "Things.", NULL, NULL, 0},
    };
    dd_metric *m[2];
    dd_metrics *metrics = dd_metrics_new();
    assert_int_equal(dd_metrics_register(metrics, defs, 2, m), 0);
    dd_series *wait = dd_metric_series(m[0], NULL), *things = dd_metric_series(m[1], NULL);
    dd_series_add(wait, 1.25);
    dd_series_add(wait, 0.5);
    dd_series_add(wait, -3); /* a counter never goes down */
    dd_series_inc(wait, 2);
    dd_series_inc(things, 3);
    dd_series_add(things, 2.4);
    dd_series_add(things, 0.2);
    assert_render(metrics, "# HELP t_wait_seconds_total Waited.\n"
                           "# TYPE t_wait_seconds_total counter\n"
                           "t_wait_seconds_total 3.75\n"
                           "# HELP t_things_total Things.\n"
                           "# TYPE t_things_total counter\n"
                           "t_things_total 5\n");
    assert_true(dd_series_value(wait) == 3.75);
    dd_metrics_destroy(&metrics);
}

static void test_escaping(void **state)
{
    (void)state;
    static const dd_metric_def defs[] = {
        {"t_escaped_total", DD_METRIC_COUNTER, "Help with a \\ backslash and \"quotes\".",
         "path", NULL, 0},
    };
    dd_metric *m;
    dd_metrics *metrics = dd_metrics_new();
    assert_int_equal(dd_metrics_register(metrics, defs, 1, &m), 0);
    dd_series_inc(dd_metric_series(m, "C:\\dir \"quoted\"\nnext line"), 1);
    dd_series_inc(dd_metric_series(m, ""), 2);
    dd_series_inc(dd_metric_series(m, "汉字"), 3);
    /* Bytes that are not UTF-8 (a stray byte, an overlong '/', a surrogate). */
    dd_series *bad = dd_metric_series(m, "a\xff\xc0\xafz\xed\xa0\x80");
    assert_ptr_equal(dd_metric_series(m, "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd"
                                         "\xef\xbf\xbd\xef\xbf\xbd"),
                     bad);
    dd_series_inc(bad, 4);
    /* HELP escapes backslash and newline only; label values also the quote. */
    assert_render(metrics,
                  "# HELP t_escaped_total Help with a \\\\ backslash and \"quotes\".\n"
                  "# TYPE t_escaped_total counter\n"
                  "t_escaped_total{path=\"C:\\\\dir \\\"quoted\\\"\\nnext line\"} 1\n"
                  "t_escaped_total{path=\"\"} 2\n"
                  "t_escaped_total{path=\"汉字\"} 3\n"
                  "t_escaped_total{path=\"a\uFFFD\uFFFD\uFFFDz\uFFFD\uFFFD\uFFFD\"} 4\n");
    dd_metrics_destroy(&metrics);
}

/* ---- values and series ------------------------------------------------------- */

static void test_histogram_cumulative(void **state)
{
    (void)state;
    static const double bounds[] = {1, 2, 4, 8};
    static const dd_metric_def defs[] = {
        {"t_size_bytes", DD_METRIC_HISTOGRAM, "Sizes.", NULL, bounds, 4},
    };
    dd_metric *m;
    dd_metrics *metrics = dd_metrics_new();
    assert_int_equal(dd_metrics_register(metrics, defs, 1, &m), 0);
    dd_series *s = dd_metric_series(m, NULL);
    /* A bound is inclusive: 2 counts in le="2". */
    const double values[] = {0, 1, 1.5, 2, 3, 8, 9, 100, -5};
    double sum = 0;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        dd_series_observe(s, values[i]);
        sum += values[i];
    }
    assert_int_equal(dd_series_count(s), 9);
    assert_true(dd_series_value(s) == sum);
    assert_render(metrics, "# HELP t_size_bytes Sizes.\n"
                           "# TYPE t_size_bytes histogram\n"
                           "t_size_bytes_bucket{le=\"1\"} 3\n"
                           "t_size_bytes_bucket{le=\"2\"} 5\n"
                           "t_size_bytes_bucket{le=\"4\"} 6\n"
                           "t_size_bytes_bucket{le=\"8\"} 7\n"
                           "t_size_bytes_bucket{le=\"+Inf\"} 9\n"
                           "t_size_bytes_sum 119.5\n"
                           "t_size_bytes_count 9\n");
    dd_metrics_destroy(&metrics);
}

static void test_series_identity(void **state)
{
    (void)state;
    dd_metric *m[SMALL_COUNT];
    dd_metrics *metrics = small_registry(m);
    /* The one series of an unlabelled family, whatever is asked for. */
    dd_series *events = dd_metric_series(m[EVENTS], NULL);
    assert_non_null(events);
    assert_ptr_equal(dd_metric_series(m[EVENTS], ""), events);
    assert_ptr_equal(dd_metric_series(m[EVENTS], "ignored"), events);

    char label[32];
    strcpy(label, "undecodable");
    dd_series *a = dd_metric_series(m[REJECTS], label);
    strcpy(label, "overwritten"); /* the value was copied */
    assert_ptr_equal(dd_metric_series(m[REJECTS], "undecodable"), a);
    dd_series *b = dd_metric_series(m[REJECTS], "bad_region");
    assert_ptr_not_equal(a, b);
    assert_ptr_equal(dd_metric_series(m[REJECTS], NULL), dd_metric_series(m[REJECTS], ""));
    /* Different families never share a series, even for the same value. */
    assert_ptr_not_equal(dd_metric_series(m[FETCH], "undecodable"), a);

    dd_series_inc(a, 5);
    assert_true(dd_series_value(a) == 5);
    assert_int_equal(dd_series_count(a), 5);
    assert_true(dd_series_value(b) == 0);
    dd_series_set(dd_metric_series(m[LAG], NULL), 7);
    assert_true(dd_series_value(dd_metric_series(m[LAG], NULL)) == 7);

    /* Families can be found again by name. */
    assert_ptr_equal(dd_metrics_find(metrics, "t_rejects_total"), m[REJECTS]);
    assert_ptr_equal(dd_metrics_find(metrics, "t_fetch_seconds"), m[FETCH]);
    assert_null(dd_metrics_find(metrics, "t_fetch_seconds_count"));
    assert_null(dd_metrics_find(metrics, "t_missing"));
    dd_metrics_destroy(&metrics);
}

static void test_buckets_defined(void **state)
{
    (void)state;
    assert_int_equal(dd_buckets_seconds_n, DD_BUCKETS_SECONDS_N);
    assert_int_equal(dd_buckets_batch_n, DD_BUCKETS_BATCH_N);
    assert_true(dd_buckets_seconds[0] == 0.00005);
    assert_true(dd_buckets_seconds[dd_buckets_seconds_n - 1] == 10);
    assert_true(dd_buckets_batch[0] == 1);
    assert_true(dd_buckets_batch[dd_buckets_batch_n - 1] == 100000);
    /* Both sets pass registration's checks (ascending, finite). */
    static const dd_metric_def defs[] = {
        {"t_a_seconds", DD_METRIC_HISTOGRAM, "A.", NULL, dd_buckets_seconds,
         DD_BUCKETS_SECONDS_N},
        {"t_b_records", DD_METRIC_HISTOGRAM, "B.", "upstream", dd_buckets_batch,
         DD_BUCKETS_BATCH_N},
    };
    dd_metric *m[2];
    dd_metrics *metrics = dd_metrics_new();
    assert_int_equal(dd_metrics_register(metrics, defs, 2, m), 0);
    dd_metrics_destroy(&metrics);
}

static void test_register_rejects(void **state)
{
    (void)state;
    static const double down[] = {2, 1};
    static const double inf[] = {1, INFINITY};
    static const dd_metric_def good = {"t_ok_total", DD_METRIC_COUNTER, "Ok.", NULL, NULL, 0};
    static const dd_metric_def bad[] = {
        {"t_events", DD_METRIC_COUNTER, "No _total.", NULL, NULL, 0},
        {"1t_bad", DD_METRIC_GAUGE, "Starts with a digit.", NULL, NULL, 0},
        {"t-bad", DD_METRIC_GAUGE, "Dash.", NULL, NULL, 0},
        {"", DD_METRIC_GAUGE, "Empty.", NULL, NULL, 0},
        {"t_gauge", DD_METRIC_GAUGE, "Two\nlines.", NULL, NULL, 0},
        {"t_gauge", DD_METRIC_GAUGE, "Bad label.", "a:b", NULL, 0},
        {"t_gauge", DD_METRIC_GAUGE, "Reserved label.", "__x", NULL, 0},
        {"t_h_seconds", DD_METRIC_HISTOGRAM, "le label.", "le", down + 1, 1},
        {"t_h_seconds", DD_METRIC_HISTOGRAM, "No buckets.", NULL, NULL, 0},
        {"t_h_seconds", DD_METRIC_HISTOGRAM, "Descending.", NULL, down, 2},
        {"t_h_seconds", DD_METRIC_HISTOGRAM, "Infinite.", NULL, inf, 2},
        {"t_ok_total", DD_METRIC_COUNTER, "Duplicate.", NULL, NULL, 0},
        {"t_gauge", (dd_metric_kind)42, "Unknown kind.", NULL, NULL, 0},
    };
    dd_metrics *metrics = dd_metrics_new();
    dd_metric *ok;
    assert_int_equal(dd_metrics_register(metrics, &good, 1, &ok), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dd_metric *out = (dd_metric *)&out;
        assert_int_equal(dd_metrics_register(metrics, &bad[i], 1, &out), DD_ECONFIG);
        assert_ptr_equal(out, (dd_metric *)&out);
    }

    /* A histogram's sample names are taken too, in both orders. */
    static const double one[] = {1};
    static const dd_metric_def hist = {"t_lat_seconds", DD_METRIC_HISTOGRAM, "H.", NULL, one, 1};
    static const dd_metric_def clash = {"t_lat_seconds_count", DD_METRIC_GAUGE, "C.", NULL,
                                        NULL, 0};
    dd_metric *h, *c;
    assert_int_equal(dd_metrics_register(metrics, &hist, 1, &h), 0);
    assert_int_equal(dd_metrics_register(metrics, &clash, 1, &c), DD_ECONFIG);
    static const dd_metric_def pair[] = {
        {"t_x_bucket", DD_METRIC_GAUGE, "G.", NULL, NULL, 0},
        {"t_x", DD_METRIC_HISTOGRAM, "H.", NULL, one, 1},
    };
    dd_metric *p[2];
    assert_int_equal(dd_metrics_register(metrics, pair, 2, p), DD_ECONFIG);

    /* A batch with one bad entry registers nothing. */
    static const dd_metric_def batch[] = {
        {"t_first_total", DD_METRIC_COUNTER, "First.", NULL, NULL, 0},
        {"t_second", DD_METRIC_COUNTER, "No _total.", NULL, NULL, 0},
    };
    dd_metric *bm[2];
    assert_int_equal(dd_metrics_register(metrics, batch, 2, bm), DD_ECONFIG);
    char *text = dd_metrics_render(metrics, NULL);
    assert_null(strstr(text, "t_first_total"));
    assert_non_null(strstr(text, "t_ok_total 0\n"));
    free(text);
    dd_metrics_destroy(&metrics);
}

/* ---- threads ------------------------------------------------------------------------ */

#define UPDATES 200000
#define LABELS 64

struct updater {
    dd_metric **m;
    atomic_bool done;
};

static void *update_thread(void *arg)
{
    struct updater *u = arg;
    dd_series *events = dd_metric_series(u->m[EVENTS], NULL);
    dd_series *lag = dd_metric_series(u->m[LAG], NULL);
    dd_series *commit = dd_metric_series(u->m[COMMIT], NULL);
    for (int i = 0; i < UPDATES; i++) {
        dd_series_inc(events, 1);
        dd_series_add(lag, 1);
        dd_series_observe(commit, (i % 4) * 0.25);
        if (i % (UPDATES / LABELS) == 0) {
            /* New series appear while the renderer walks the lists. */
            char label[16];
            snprintf(label, sizeof(label), "r%d", i / (UPDATES / LABELS));
            dd_series_inc(dd_metric_series(u->m[REJECTS], label), 1);
            dd_series_observe(dd_metric_series(u->m[FETCH], label), 0.01);
        }
    }
    atomic_store(&u->done, true);
    return NULL;
}

static uint64_t sample_value(const char *text, const char *name)
{
    const char *p = strstr(text, name);
    assert_non_null(p);
    return strtoull(p + strlen(name), NULL, 10);
}

static void test_concurrent_update_and_render(void **state)
{
    (void)state;
    dd_metric *m[SMALL_COUNT];
    dd_metrics *metrics = small_registry(m);
    struct updater u = {.m = m};
    atomic_init(&u.done, false);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, update_thread, &u), 0);
    uint64_t last_events = 0, last_count = 0;
    int renders = 0;
    while (!atomic_load(&u.done) || renders < 10) {
        char *text = dd_metrics_render(metrics, NULL);
        /* Counters never go backwards between scrapes; _count matches +Inf. */
        uint64_t events = sample_value(text, "\nt_events_total ");
        uint64_t inf = sample_value(text, "t_commit_seconds_bucket{le=\"+Inf\"} ");
        uint64_t count = sample_value(text, "\nt_commit_seconds_count ");
        assert_true(events >= last_events);
        assert_true(count >= last_count);
        assert_int_equal(inf, count);
        last_events = events;
        last_count = count;
        free(text);
        renders++;
    }
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_true(dd_series_value(dd_metric_series(m[EVENTS], NULL)) == UPDATES);
    assert_true(dd_series_value(dd_metric_series(m[LAG], NULL)) == UPDATES);
    assert_int_equal(dd_series_count(dd_metric_series(m[COMMIT], NULL)), UPDATES);
    /* 0, 0.25, 0.5, 0.75 repeated: exact in binary. */
    assert_true(dd_series_value(dd_metric_series(m[COMMIT], NULL)) == UPDATES / 4 * 1.5);
    char *text = dd_metrics_render(metrics, NULL);
    assert_non_null(strstr(text, "t_rejects_total{reason=\"r0\"} 1\n"));
    assert_non_null(strstr(text, "t_rejects_total{reason=\"r63\"} 1\n"));
    assert_non_null(strstr(text, "t_commit_seconds_bucket{le=\"0.5\"} 150000\n"));
    free(text);
    dd_metrics_destroy(&metrics);
}

/* ---- HTTP ----------------------------------------------------------------------------- */

/* One HTTP/1.0 request over a plain socket; returns the whole response. */
static char *http_request(int port, const char *method, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char request[256];
    int n = snprintf(request, sizeof(request), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
                     method, path);
    assert_int_equal(write(fd, request, (size_t)n), n);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (cap - len < 1024)
            buf = realloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + len, cap - len - 1);
        assert_true(r >= 0);
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

static void test_http(void **state)
{
    (void)state;
    dd_metric *m[SMALL_COUNT];
    dd_metrics *metrics = small_registry(m);
    dd_series_inc(dd_metric_series(m[REJECTS], "undecodable"), 3);
    dd_metrics_http *http = NULL;
    assert_int_equal(dd_metrics_http_start(metrics, "127.0.0.1:0", &http), 0);
    assert_non_null(http);
    int port = dd_metrics_http_port(http);
    assert_true(port > 0 && port < 65536);

    char *expected = dd_metrics_render(metrics, NULL);
    char *resp = http_request(port, "GET", "/metrics");
    assert_true(strncmp(resp, "HTTP/1.0 200", 12) == 0 || strncmp(resp, "HTTP/1.1 200", 12) == 0);
    assert_non_null(strstr(resp, "Content-Type: text/plain; version=0.0.4"));
    char *body = strstr(resp, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, expected);
    free(resp);
    free(expected);

    /* Values move between scrapes. */
    dd_series_inc(dd_metric_series(m[EVENTS], NULL), 7);
    resp = http_request(port, "GET", "/metrics");
    assert_non_null(strstr(resp, "\nt_events_total 7\n"));
    free(resp);

    resp = http_request(port, "GET", "/");
    assert_non_null(strstr(resp, " 404 "));
    free(resp);
    resp = http_request(port, "GET", "/metrics/extra");
    assert_non_null(strstr(resp, " 404 "));
    free(resp);
    resp = http_request(port, "POST", "/metrics");
    assert_non_null(strstr(resp, " 405 "));
    free(resp);
    resp = http_request(port, "HEAD", "/metrics");
    assert_non_null(strstr(resp, " 200 "));
    assert_null(strstr(resp, "t_events_total"));
    free(resp);

    /* The port is taken now. */
    char address[32];
    snprintf(address, sizeof(address), "127.0.0.1:%d", port);
    dd_metrics_http *second = NULL;
    assert_int_equal(dd_metrics_http_start(metrics, address, &second), -EADDRINUSE);
    assert_null(second);

    dd_metrics_http_stop(&http);
    assert_null(http);
    dd_metrics_http_stop(&http);
    dd_metrics_http_stop(NULL);
    dd_metrics_destroy(&metrics);
}

static void test_http_addresses(void **state)
{
    (void)state;
    dd_metrics *metrics = dd_metrics_new();
    static const char *const malformed[] = {
        "", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:65536", "127.0.0.1:-1",
        "::1:9101", "[::1", "no.such.host.invalid:9101",
    };
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        dd_metrics_http *http = NULL;
        assert_int_equal(dd_metrics_http_start(metrics, malformed[i], &http), DD_ECONFIG);
        assert_null(http);
    }
    /* An empty registry is an empty page, not an error. */
    dd_metrics_http *http = NULL;
    assert_int_equal(dd_metrics_http_start(metrics, "127.0.0.1:0", &http), 0);
    char *resp = http_request(dd_metrics_http_port(http), "GET", "/metrics");
    assert_non_null(strstr(resp, " 200 "));
    assert_string_equal(strstr(resp, "\r\n\r\n"), "\r\n\r\n");
    free(resp);
    dd_metrics_http_stop(&http);

    /* An IPv6 loopback when the host has one. */
    int rc = dd_metrics_http_start(metrics, "[::1]:0", &http);
    if (rc == 0) {
        assert_true(dd_metrics_http_port(http) > 0);
        dd_metrics_http_stop(&http);
    } else {
        assert_true(rc < 0 && rc > -4096);
    }
    dd_metrics_destroy(&metrics);
}

/* ---- promtool ---------------------------------------------------------------------------- */

static void test_promtool_lint(void **state)
{
    (void)state;
    if (access("/usr/bin/promtool", X_OK) != 0) {
        skip();
        return;
    }
    dd_metric *m[SMALL_COUNT];
    dd_metrics *metrics = small_registry(m);
    dd_series_inc(dd_metric_series(m[EVENTS], NULL), 3);
    dd_series_inc(dd_metric_series(m[REJECTS], "say \"hi\"\\\n"), 1);
    dd_series_set(dd_metric_series(m[LAG], NULL), 12.5);
    dd_series_observe(dd_metric_series(m[COMMIT], NULL), 0.3);
    dd_series_observe(dd_metric_series(m[FETCH], "intake"), 2);
    static const dd_metric_def more[] = {
        {"t_batch_records", DD_METRIC_HISTOGRAM, "Records per batch.", "upstream",
         dd_buckets_batch, DD_BUCKETS_BATCH_N},
        {"t_op_seconds", DD_METRIC_HISTOGRAM, "Operation latency.", NULL, dd_buckets_seconds,
         DD_BUCKETS_SECONDS_N},
        {"t_map_used_bytes", DD_METRIC_GAUGE, "LMDB map in use.", NULL, NULL, 0},
    };
    dd_metric *mm[3];
    assert_int_equal(dd_metrics_register(metrics, more, 3, mm), 0);
    dd_series_observe(dd_metric_series(mm[0], "intake"), 300);
    dd_series_observe(dd_metric_series(mm[1], NULL), 0.002);
    dd_series_set(dd_metric_series(mm[2], NULL), 1 << 20);

    size_t len;
    char *text = dd_metrics_render(metrics, &len);
    FILE *p = popen("/usr/bin/promtool check metrics", "w");
    assert_non_null(p);
    assert_int_equal(fwrite(text, 1, len, p), len);
    int status = pclose(p);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "promtool rejected:\n%s", text);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    free(text);
    dd_metrics_destroy(&metrics);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_fresh),
        cmocka_unit_test(test_render_exact),
        cmocka_unit_test(test_render_values),
        cmocka_unit_test(test_fractional_counter),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_series_identity),
        cmocka_unit_test(test_buckets_defined),
        cmocka_unit_test(test_register_rejects),
        cmocka_unit_test(test_concurrent_update_and_render),
        cmocka_unit_test(test_http),
        cmocka_unit_test(test_http_addresses),
        cmocka_unit_test(test_promtool_lint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
