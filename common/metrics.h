/*
 * metrics.h: a registry of counters, gauges and histograms, rendered in the
 * Prometheus text exposition format 0.0.4 and served on /metrics.
 *
 * A daemon declares its metrics once, in an X-macro table:
 *
 *   #define INTAKE_METRICS(X)                                              \
 *     X(ACCEPTED, "doudi_intake_events_accepted_total", DD_METRIC_COUNTER, \
 *       "Events committed to the intake log.", NULL, NULL, 0)              \
 *     X(REJECTED, "doudi_intake_events_rejected_total", DD_METRIC_COUNTER, \
 *       "Events refused, by reason.", "reason", NULL, 0)
 *   enum { INTAKE_METRICS(DD_METRIC_ENUM) INTAKE_METRIC_COUNT };
 *   static const dd_metric_def defs[] = { INTAKE_METRICS(DD_METRIC_DEF) };
 *   dd_metric *m[INTAKE_METRIC_COUNT];
 *   dd_metrics_register(registry, defs, INTAKE_METRIC_COUNT, m);
 *
 * and updates through series handles: dd_metric_series(m[REJECTED],
 * "undecodable") returns the series for one label value (created on first
 * use; keep the pointer, it lives as long as the registry).
 *
 * A family without a label has exactly one series, rendered from the moment
 * it is registered (a counter shows 0 before its first event). A labelled
 * family renders nothing until its first series is created.
 *
 * Threads: the daemon's loop updates values while the HTTP thread renders.
 * Updates are lock-free (relaxed atomics); creating a series and rendering
 * take the registry's mutex. A rendering may see a histogram's _sum a few
 * observations apart from its buckets; its _count always equals its +Inf
 * bucket. Prometheus tolerates that.
 *
 * Names follow Prometheus practice, which dd_metrics_register enforces in
 * part: [a-zA-Z_:][a-zA-Z0-9_:]* for metrics, counters end in _total, units
 * are base units named in a suffix (_seconds, _bytes).
 */
#ifndef DD_METRICS_H
#define DD_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DD_METRIC_COUNTER,   /* only goes up; name ends in _total */
    DD_METRIC_GAUGE,     /* set to any value */
    DD_METRIC_HISTOGRAM, /* observations counted into cumulative buckets */
    DD_METRIC_COUNTER_FRACTIONAL, /* a counter of fractions (seconds): dd_series_add */
} dd_metric_kind;

typedef struct dd_metric_def {
    const char *name;      /* e.g. "doudi_intake_commit_seconds" */
    dd_metric_kind kind;
    const char *help;      /* one sentence, no newline */
    const char *label;     /* the one label's name, or NULL for none */
    const double *buckets; /* histogram upper bounds, ascending; +Inf implied */
    size_t nbuckets;
} dd_metric_def;

#define DD_METRIC_ENUM(id, name, kind, help, label, buckets, nbuckets) id,
#define DD_METRIC_DEF(id, name, kind, help, label, buckets, nbuckets) \
    {name, kind, help, label, buckets, nbuckets},

typedef struct dd_metrics dd_metrics;
typedef struct dd_metric dd_metric;
typedef struct dd_series dd_series;

dd_metrics *dd_metrics_new(void);
/* Frees the registry and every series; accepts NULL, nulls *metrics. Stop
 * the HTTP endpoint first. */
void dd_metrics_destroy(dd_metrics **metrics);

/*
 * Registers n families; out[i] receives the family of defs[i]. The defs
 * (and the strings and buckets they point to) must outlive the registry.
 * Returns 0, or DD_ECONFIG for a duplicate or invalid name (a programming
 * error, logged). Also refused: a counter whose name does not end in _total,
 * a help text with a newline, a label named "le" on a histogram or starting
 * with "__", histogram buckets that are missing, not finite or not strictly
 * ascending, and a name that collides with a histogram's _bucket, _sum or
 * _count. On failure nothing of the batch is registered and out is untouched.
 */
int dd_metrics_register(dd_metrics *metrics, const dd_metric_def *defs, size_t n,
                        dd_metric **out);

/* The family registered under name, or NULL. */
dd_metric *dd_metrics_find(dd_metrics *metrics, const char *name);

/*
 * The series of a family for one label value (NULL or "" for a family
 * without a label). Creates it at zero on first use; the value is copied.
 * The same pointer is returned for the same value. Never NULL.
 * A family without a label ignores label_value and returns its one series.
 * In a labelled family NULL means "", and a value that is not valid UTF-8
 * (which Prometheus would refuse) is stored with U+FFFD for each bad byte.
 * Takes the registry's mutex and searches the family's series, so call it
 * once and keep the pointer.
 */
dd_series *dd_metric_series(dd_metric *metric, const char *label_value);

void dd_series_inc(dd_series *series, uint64_t by);   /* counter */
void dd_series_set(dd_series *series, double value);  /* gauge */
/* gauge: delta may be < 0; fractional counter: delta >= 0 (others are
 * ignored); an integer counter: delta rounded to a whole count. */
void dd_series_add(dd_series *series, double delta);
void dd_series_observe(dd_series *series, double value); /* histogram */
/*
 * Current value of a counter or gauge (tests, doudictl-style summaries); for
 * a histogram, the sum of its observations.
 */
double dd_series_value(const dd_series *series);
/* Observation count of a histogram series (a counter's value; 0 for a gauge). */
uint64_t dd_series_count(const dd_series *series);

/*
 * Common bucket sets. The counts are also macros so a static dd_metric_def
 * table can use them as initialisers.
 */
#define DD_BUCKETS_SECONDS_N 17
#define DD_BUCKETS_BATCH_N 16
extern const double dd_buckets_seconds[];      /* 50us .. 10s, 1-2.5-5 steps */
extern const size_t dd_buckets_seconds_n;
extern const double dd_buckets_batch[];        /* 1, 2, 5, 10, 25, 50 .. 100000 */
extern const size_t dd_buckets_batch_n;

/*
 * The whole registry in text format 0.0.4 (families in registration order,
 * series in creation order), NUL-terminated, malloc'ed; *len gets strlen.
 */
char *dd_metrics_render(dd_metrics *metrics, size_t *len);

typedef struct dd_metrics_http dd_metrics_http;

/*
 * Serves GET /metrics (Content-Type text/plain; version=0.0.4) on
 * listen_address "host:port" ("127.0.0.1:9101"; port 0 picks a free port)
 * from libmicrohttpd's own thread. Other paths answer 404, methods other
 * than GET and HEAD 405. The host is an IPv4 address, an IPv6 address in
 * brackets ("[::1]:9101"), a name that resolves (its first address), or
 * empty or "*" for every IPv4 interface. Returns 0, -errno when the address
 * cannot be bound (-EADDRNOTAVAIL when the reason is unknown), DD_ECONFIG
 * when it is malformed or does not resolve; both are logged. The registry
 * must outlive the endpoint.
 */
int dd_metrics_http_start(dd_metrics *metrics, const char *listen_address,
                          dd_metrics_http **out);
/* The port actually bound (useful with port 0). */
int dd_metrics_http_port(const dd_metrics_http *http);
/* Stops the thread and frees; accepts NULL, nulls *http. */
void dd_metrics_http_stop(dd_metrics_http **http);

#endif
