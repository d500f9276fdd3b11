/*
 * sched_query.h: answering doudictl's questions from the scheduler's committed
 * state (scheduler.proto, SchedulerQueryRequest): a person's plan, a
 * worker's list, the visit rates of a region's children, the visits due in
 * a region. Read-only; runs in a read transaction between batches.
 */
#ifndef SCHED_QUERY_H
#define SCHED_QUERY_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "sched_plandb.h"

#include "doudi/scheduler.pb-c.h"

/*
 * Fills r (request_id, now_ms, month and the answer or error_text) for q.
 * now_ms and month are the scheduler's clock and accounting month. Every
 * message and string lives in arena or in txn's pages: pack r before txn
 * ends. Returns 0, or an LMDB error (r->error_text says so too).
 */
int sched_query_answer(sched_db *db, MDB_txn *txn, dd_arena *arena, int64_t now_ms,
                       int32_t month, const Doudi__SchedulerQueryRequest *q,
                       Doudi__SchedulerQueryReply *r);

/*
 * The region prefix a query names: 2, 4, 6, 9 or 12 digits, or a 12-digit
 * code of an area (a county 440106000000, a township 440106001000) read as
 * its prefix. Returns the prefix length, or 0 when text is not one.
 */
size_t sched_query_region_prefix(const char *text, char out[13]);

/*
 * Calls fn once per distinct key prefix of exactly hlen + len bytes among
 * the keys of `which` starting with head[0..hlen-1], in order, with the
 * value stored under that exact prefix (or an empty value when only longer
 * keys exist). Jumps over the longer keys, so the cost is one seek per
 * prefix found. fn returns non-zero to stop (1: stop with 0).
 */
int sched_query_levels(sched_db *db, MDB_txn *txn, sched_dbi which, const void *head,
                       size_t hlen, size_t len, sched_db_scan_fn fn, void *arg);

#endif
