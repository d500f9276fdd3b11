/* store_metrics.c: doudi_lmdb_* for one store (see store_metrics.h). */
#include "store_metrics.h"

#include "alloc.h"

#include <stdlib.h>

#define STORE_METRICS(X)                                                                   \
    X(M_MAP_USED, "doudi_lmdb_map_used_bytes", DD_METRIC_GAUGE,                            \
      "Bytes of the LMDB map in use.", NULL, NULL, 0)                                      \
    X(M_MAP_SIZE, "doudi_lmdb_map_size_bytes", DD_METRIC_GAUGE,                            \
      "Current LMDB map size.", NULL, NULL, 0)                                             \
    X(M_MAP_GROWS, "doudi_lmdb_map_grows_total", DD_METRIC_COUNTER,                        \
      "Times the LMDB map was full and grew.", NULL, NULL, 0)                              \
    X(M_MAP_RETRIES, "doudi_lmdb_write_retries_total", DD_METRIC_COUNTER,                  \
      "Write transactions run again after MDB_MAP_FULL.", NULL, NULL, 0)                   \
    X(M_STALE_READERS, "doudi_lmdb_stale_readers_cleared_total", DD_METRIC_COUNTER,        \
      "LMDB reader slots of dead processes cleared.", NULL, NULL, 0)                       \
    X(M_COMMITS, "doudi_lmdb_commits_total", DD_METRIC_COUNTER,                            \
      "Write transactions committed with fsync.", NULL, NULL, 0)                           \
    X(M_COMMIT_SECONDS, "doudi_lmdb_commit_seconds", DD_METRIC_HISTOGRAM,                  \
      "Time a commit takes: writing its dirty pages and waiting for fsync.", NULL,          \
      dd_buckets_seconds, DD_BUCKETS_SECONDS_N)                                            \
    X(M_COMMIT_BYTES, "doudi_lmdb_commit_written_bytes_total", DD_METRIC_COUNTER,          \
      "Bytes written to the data file by commits (dirty pages and meta pages).", NULL,     \
      NULL, 0)

enum { STORE_METRICS(DD_METRIC_ENUM) STORE_METRIC_COUNT };

struct dd_store_metrics {
    dd_store *store;
    dd_series *s[STORE_METRIC_COUNT];
    dd_store_usage last;
};

static void observe_commit(void *arg, double seconds, uint64_t bytes)
{
    (void)bytes; /* summed from the usage counters at each update */
    dd_series_observe(arg, seconds);
}

dd_store_metrics *dd_store_metrics_new(dd_store *store, dd_metrics *metrics)
{
    static const dd_metric_def defs[] = {STORE_METRICS(DD_METRIC_DEF)};
    dd_metric *m[STORE_METRIC_COUNT];
    if (dd_metrics_register(metrics, defs, STORE_METRIC_COUNT, m) != 0)
        return NULL;
    dd_store_metrics *sm = dd_calloc(1, sizeof(*sm));
    sm->store = store;
    for (int i = 0; i < STORE_METRIC_COUNT; i++)
        sm->s[i] = dd_metric_series(m[i], NULL);
    dd_store_observe_commits(store, observe_commit, sm->s[M_COMMIT_SECONDS]);
    dd_store_metrics_update(sm);
    return sm;
}

void dd_store_metrics_update(dd_store_metrics *sm)
{
    dd_store_usage u;
    dd_store_usage_get(sm->store, &u);
    dd_series_set(sm->s[M_MAP_USED], (double)u.used_bytes);
    dd_series_set(sm->s[M_MAP_SIZE], (double)u.map_bytes);
    dd_series_inc(sm->s[M_MAP_GROWS], u.grows - sm->last.grows);
    dd_series_inc(sm->s[M_MAP_RETRIES], u.retries - sm->last.retries);
    dd_series_inc(sm->s[M_STALE_READERS], u.stale_readers_cleared - sm->last.stale_readers_cleared);
    dd_series_inc(sm->s[M_COMMITS], u.commits - sm->last.commits);
    dd_series_inc(sm->s[M_COMMIT_BYTES], u.commit_written_bytes - sm->last.commit_written_bytes);
    sm->last = u;
}

void dd_store_metrics_destroy(dd_store_metrics **sm)
{
    if (!sm || !*sm)
        return;
    dd_store_observe_commits((*sm)->store, NULL, NULL);
    free(*sm);
    *sm = NULL;
}
