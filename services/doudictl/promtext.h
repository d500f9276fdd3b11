/*
 * promtext.h: reading the Prometheus text exposition format (version
 * 0.0.4, what every doudi /metrics endpoint serves) into families of
 * samples, and estimating quantiles from histogram buckets.
 *
 * A family is what a "# TYPE" line declares; its samples are those named
 * like it, plus name_bucket, name_sum and name_count for a histogram or a
 * summary (and name_total for a counter declared without the suffix, as
 * OpenMetrics writes it). A sample with no declared family gets one of its
 * own, typed "untyped". Families keep the order in which they first appear.
 * Timestamps after a value are read and ignored.
 */
#ifndef CTL_PROMTEXT_H
#define CTL_PROMTEXT_H

#include <stddef.h>

typedef struct ctl_prom_label {
    char *name;
    char *value; /* unescaped */
} ctl_prom_label;

typedef struct ctl_prom_sample {
    char *name; /* the full sample name, e.g. doudi_x_seconds_bucket */
    ctl_prom_label *labels;
    size_t nlabels;
    double value; /* +Inf, -Inf and NaN are read as such */
} ctl_prom_sample;

typedef struct ctl_prom_family {
    char *name;
    char *type; /* counter, gauge, histogram, summary or untyped */
    char *help; /* unescaped; "" when none */
    ctl_prom_sample *samples;
    size_t nsamples, cap;
} ctl_prom_family;

typedef struct ctl_prom {
    ctl_prom_family *families;
    size_t nfamilies, cap;
} ctl_prom;

/*
 * Parses text[0..len-1]. Returns 0 with *out set (free it with
 * ctl_prom_destroy), or DD_EPROTO with "line N: reason" in err.
 */
int ctl_prom_parse(const char *text, size_t len, ctl_prom **out, char *err, size_t errlen);

/* Frees everything; accepts NULL and nulls *p. */
void ctl_prom_destroy(ctl_prom **p);

/* The value of a sample's label, or NULL. Borrowed from the sample. */
const char *ctl_prom_label_value(const ctl_prom_sample *s, const char *name);

/*
 * Estimates quantile q (0 to 1) from n cumulative buckets sorted by upper
 * bound le[] (the last one may be +Inf) with counts cum[], as Prometheus's
 * histogram_quantile() does: find the bucket holding the q-th observation
 * and interpolate linearly inside it, taking the lowest bucket to start at
 * 0; an observation in the +Inf bucket is reported as the highest finite
 * bound. Returns NaN when there are no observations.
 */
double ctl_prom_bucket_quantile(double q, const double *le, const double *cum, size_t n);

#endif
