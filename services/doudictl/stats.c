/*
 * stats.c: `doudictl stats`, fetching /metrics with libcurl and printing each
 * family with its series: counters and gauges as values, histograms as
 * count, sum and estimated p50 / p99.
 */
#include "stats.h"

#include <curl/curl.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "ctl.h"
#include "error.h"
#include "promtext.h"

static const char stats_help[] =
    "NAME\n"
    "    doudictl stats - show a doudi daemon's metrics\n"
    "\n"
    "SYNOPSIS\n"
    "    doudictl stats [-u URL] [--raw] [--prefix PREFIX] [-t MS]\n"
    "\n"
    "DESCRIPTION\n"
    "    Fetches the daemon's Prometheus endpoint and prints every metric family\n"
    "    whose name starts with PREFIX: its name, type and help, then one line\n"
    "    per series (label set). A counter or gauge series shows its value; a\n"
    "    histogram series shows its count, its sum, and the 50th and 99th\n"
    "    percentiles estimated from its buckets the way Prometheus's\n"
    "    histogram_quantile() does (linear within the bucket; an estimate in the\n"
    "    +Inf bucket is shown as \">\" the highest bound); a summary series shows\n"
    "    its count, sum and quantiles. A value that is a whole number is shown\n"
    "    without decimals.\n"
    "\n"
    "    Each daemon serves its own endpoint; doudi-intake's is the default.\n"
    "\n"
    "OPTIONS\n"
    "    -u, --url URL\n"
    "        The metrics endpoint. Default: http://127.0.0.1:9101/metrics.\n"
    "\n"
    "    --raw\n"
    "        Print the exposition text exactly as served.\n"
    "\n"
    "    --prefix PREFIX\n"
    "        Show the families whose names start with PREFIX; \"\" shows all.\n"
    "        Default: doudi_.\n"
    "\n"
    "    -t, --timeout-ms MS\n"
    "        Give up on the request after MS milliseconds. Default: 5000.\n"
    "\n"
    "    -h, --help\n"
    "        Print this manual and exit.\n"
    "\n"
    "EXIT STATUS\n"
    "    0   the metrics were printed\n"
    "    2   usage error; the endpoint could not be reached, answered with an\n"
    "        HTTP status other than 200, or served text that does not parse\n"
    "    3   no answer within the timeout\n"
    "\n"
    "EXAMPLES\n"
    "    Intake's metrics:\n"
    "        doudictl stats\n"
    "\n"
    "    The rejections by reason, from the raw text:\n"
    "        doudictl stats --raw | grep '^doudi_intake_events_rejected_total'\n"
    "\n"
    "    Another daemon's:\n"
    "        doudictl stats --url http://127.0.0.1:9102/metrics\n";

/* A daemon's /metrics is kilobytes; a body past this is not one. */
#define MAX_BODY (64u * 1024 * 1024)

struct body {
    char *data;
    size_t len, cap;
    bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct body *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n > MAX_BODY) {
        b->too_big = true;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = dd_realloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* GETs url into b. Returns an exit status, the failure already reported. */
static int http_get(const char *url, long timeout_ms, struct body *b)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ctl_warn("cannot initialise libcurl");
        return CTL_EXIT_USAGE;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        ctl_warn("cannot initialise libcurl");
        curl_global_cleanup();
        return CTL_EXIT_USAGE;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "doudictl");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

    int st = CTL_EXIT_OK;
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        ctl_warn("%s: no answer within %ld ms", url, timeout_ms);
        st = CTL_EXIT_GAVE_UP;
    } else if (b->too_big) {
        ctl_warn("%s: the answer is larger than %u bytes; is this a metrics endpoint?", url,
                 MAX_BODY);
        st = CTL_EXIT_USAGE;
    } else if (rc != CURLE_OK) {
        ctl_warn("%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        st = CTL_EXIT_USAGE;
    } else if (code != 200) {
        ctl_warn("%s: HTTP status %ld", url, code);
        st = CTL_EXIT_USAGE;
    }
    curl_easy_cleanup(h);
    curl_global_cleanup();
    return st;
}

static void format_value(double v, char *out, size_t len)
{
    if (isnan(v))
        snprintf(out, len, "-");
    else if (isinf(v))
        snprintf(out, len, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, len, "%.0f", v);
    else
        snprintf(out, len, "%.6g", v);
}

/* {a="x",b="y"} without the label `skip`; "" when no label is left. */
static char *label_set(const ctl_prom_sample *s, const char *skip)
{
    size_t cap = 3, n = 0;
    for (size_t i = 0; i < s->nlabels; i++)
        cap += strlen(s->labels[i].name) + strlen(s->labels[i].value) * 2 + 4;
    char *out = dd_malloc(cap);
    for (size_t i = 0; i < s->nlabels; i++) {
        if (skip && strcmp(s->labels[i].name, skip) == 0)
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s%s=\"", n ? "," : "{", s->labels[i].name);
        for (const char *v = s->labels[i].value; *v; v++) {
            if (*v == '"' || *v == '\\')
                out[n++] = '\\';
            out[n++] = *v == '\n' ? 'n' : *v;
        }
        out[n++] = '"';
    }
    if (n)
        out[n++] = '}';
    out[n] = '\0';
    return out;
}

/* One series of a histogram or summary: its label set and what was seen of it. */
struct series {
    char *labels;
    double count, sum;
    bool has_count, has_sum;
    double *le, *cum; /* histogram buckets, as read */
    size_t nb;
    char *quantiles; /* summary: " q0.5=..." pieces */
};

static struct series *series_for(struct series **all, size_t *n, char *labels)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*all)[i].labels, labels) == 0) {
            free(labels);
            return &(*all)[i];
        }
    }
    *all = dd_realloc(*all, (*n + 1) * sizeof(**all));
    struct series *s = &(*all)[(*n)++];
    memset(s, 0, sizeof(*s));
    s->labels = labels;
    s->quantiles = dd_strdup("");
    return s;
}

static void sort_buckets(struct series *s)
{
    /* Few buckets, nearly always already in order: insertion sort. */
    for (size_t i = 1; i < s->nb; i++) {
        double le = s->le[i], cum = s->cum[i];
        size_t j = i;
        for (; j > 0 && s->le[j - 1] > le; j--) {
            s->le[j] = s->le[j - 1];
            s->cum[j] = s->cum[j - 1];
        }
        s->le[j] = le;
        s->cum[j] = cum;
    }
}

static void print_grouped(const ctl_prom_family *f, bool histogram)
{
    struct series *all = NULL;
    size_t n = 0;
    char v[64];
    for (size_t i = 0; i < f->nsamples; i++) {
        const ctl_prom_sample *smp = &f->samples[i];
        size_t flen = strlen(f->name);
        const char *suffix = strncmp(smp->name, f->name, flen) == 0 ? smp->name + flen : "";
        const char *skip = histogram ? "le" : "quantile";
        struct series *s = series_for(&all, &n, label_set(smp, skip));
        if (strcmp(suffix, "_count") == 0) {
            s->count = smp->value;
            s->has_count = true;
        } else if (strcmp(suffix, "_sum") == 0) {
            s->sum = smp->value;
            s->has_sum = true;
        } else if (histogram && strcmp(suffix, "_bucket") == 0) {
            const char *le = ctl_prom_label_value(smp, "le");
            if (!le)
                continue;
            s->le = dd_realloc(s->le, (s->nb + 1) * sizeof(double));
            s->cum = dd_realloc(s->cum, (s->nb + 1) * sizeof(double));
            s->le[s->nb] = strtod(le, NULL);
            s->cum[s->nb++] = smp->value;
        } else if (!histogram && ctl_prom_label_value(smp, "quantile")) {
            format_value(smp->value, v, sizeof(v));
            char *q = dd_asprintf("%s  q%s=%s", s->quantiles,
                                  ctl_prom_label_value(smp, "quantile"), v);
            free(s->quantiles);
            s->quantiles = q;
        }
    }
    int width = 0;
    for (size_t i = 0; i < n; i++)
        width = (int)strlen(all[i].labels) > width ? (int)strlen(all[i].labels) : width;
    for (size_t i = 0; i < n; i++) {
        struct series *s = &all[i];
        char c[64], sum[64];
        if (!s->has_count && s->nb > 0) {
            s->count = s->cum[s->nb - 1];
            s->has_count = true;
        }
        format_value(s->has_count ? s->count : NAN, c, sizeof(c));
        format_value(s->has_sum ? s->sum : NAN, sum, sizeof(sum));
        printf("    %-*s%scount=%s  sum=%s", width, s->labels, width ? "  " : "", c, sum);
        if (histogram) {
            sort_buckets(s);
            static const double qs[] = { 0.5, 0.99 };
            for (size_t k = 0; k < 2; k++) {
                double e = ctl_prom_bucket_quantile(qs[k], s->le, s->cum, s->nb);
                /* Landing in +Inf gives the highest bound: say it is a floor. */
                double rank = qs[k] * (s->nb ? s->cum[s->nb - 1] : 0);
                bool beyond = s->nb > 1 && isinf(s->le[s->nb - 1]) && s->cum[s->nb - 2] < rank;
                format_value(e, v, sizeof(v));
                printf("  p%s=%s%s", k == 0 ? "50" : "99", beyond ? ">" : "", v);
            }
        } else {
            fputs(s->quantiles, stdout);
        }
        putchar('\n');
        free(s->labels);
        free(s->le);
        free(s->cum);
        free(s->quantiles);
    }
    free(all);
}

static void print_plain(const ctl_prom_family *f)
{
    int width = 0;
    char **sets = dd_calloc(f->nsamples ? f->nsamples : 1, sizeof(*sets));
    for (size_t i = 0; i < f->nsamples; i++) {
        const ctl_prom_sample *s = &f->samples[i];
        /* A sample not named exactly like the family (name_total) says so. */
        char *labels = label_set(s, NULL);
        sets[i] = strcmp(s->name, f->name) == 0
                      ? labels
                      : dd_asprintf("%s%s", s->name + strlen(f->name), labels);
        if (sets[i] != labels)
            free(labels);
        width = (int)strlen(sets[i]) > width ? (int)strlen(sets[i]) : width;
    }
    for (size_t i = 0; i < f->nsamples; i++) {
        char v[64];
        format_value(f->samples[i].value, v, sizeof(v));
        printf("    %-*s%s%s\n", width, sets[i], width ? "  " : "", v);
        free(sets[i]);
    }
    free(sets);
}

static int summarise(const char *text, size_t len, const char *prefix)
{
    char err[128];
    ctl_prom *p;
    if (ctl_prom_parse(text, len, &p, err, sizeof(err)) != 0) {
        ctl_warn("the metrics do not parse: %s", err);
        return CTL_EXIT_USAGE;
    }
    size_t shown = 0;
    for (size_t i = 0; i < p->nfamilies; i++) {
        const ctl_prom_family *f = &p->families[i];
        if (strncmp(f->name, prefix, strlen(prefix)) != 0)
            continue;
        shown++;
        printf("%s (%s)%s%s\n", f->name, f->type, f->help[0] ? ": " : "", f->help);
        if (f->nsamples == 0)
            printf("    (no series yet)\n");
        else if (strcmp(f->type, "histogram") == 0)
            print_grouped(f, true);
        else if (strcmp(f->type, "summary") == 0)
            print_grouped(f, false);
        else
            print_plain(f);
    }
    if (shown == 0)
        printf("no metric family starts with '%s'\n", prefix);
    ctl_prom_destroy(&p);
    return CTL_EXIT_OK;
}

int ctl_stats_main(int argc, char **argv)
{
    enum { OPT_RAW = 256, OPT_PREFIX };
    static const struct option longopts[] = {
        { "url", required_argument, NULL, 'u' },
        { "raw", no_argument, NULL, OPT_RAW },
        { "prefix", required_argument, NULL, OPT_PREFIX },
        { "timeout-ms", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *url = "http://127.0.0.1:9101/metrics";
    const char *prefix = "doudi_";
    bool raw = false;
    uint64_t timeout_ms = 5000;
    ctl_set_command("doudictl stats");
    opterr = 0;
    optind = 0;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":u:t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'u': url = optarg; break;
        case OPT_RAW: raw = true; break;
        case OPT_PREFIX: prefix = optarg; break;
        case 't': rc = ctl_option_u64("--timeout-ms", optarg, 1, 3600000, &timeout_ms); break;
        case 'h': fputs(stats_help, stdout); return CTL_EXIT_OK;
        default: return ctl_getopt_error(c, argv);
        }
    }
    if (rc != 0)
        return rc;
    if (optind < argc)
        return ctl_usage("unexpected argument '%s'", argv[optind]);

    struct body b = { 0 };
    int st = http_get(url, (long)timeout_ms, &b);
    if (st == CTL_EXIT_OK) {
        if (raw)
            fwrite(b.data ? b.data : "", 1, b.len, stdout);
        else
            st = summarise(b.data ? b.data : "", b.len, prefix);
    }
    free(b.data);
    return st;
}
