/*
 * store_metrics.h: the LMDB gauges and counters every daemon exports
 * (doudi_lmdb_*): map used and size, growths, retried write transactions,
 * commits, stale readers cleared. Call dd_store_metrics_update() from the
 * daemon's periodic timer, in the loop thread.
 */
#ifndef DD_STORE_METRICS_H
#define DD_STORE_METRICS_H

#include "metrics.h"
#include "store.h"

typedef struct dd_store_metrics dd_store_metrics;

/* Registers the families in metrics; both must outlive the result. */
dd_store_metrics *dd_store_metrics_new(dd_store *store, dd_metrics *metrics);
void dd_store_metrics_update(dd_store_metrics *sm);
void dd_store_metrics_destroy(dd_store_metrics **sm);

#endif
