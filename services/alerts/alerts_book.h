/*
 * alerts_book.h: where doudi-alerts keeps its state, in its own LMDB environment.
 *
 * Every function takes the caller's transaction: the engine writes inside
 * the consumer's one write transaction per fetched batch (state, stream
 * records and cursor commit together), queries read in a read transaction.
 *
 *   alerts        number (MDB_INTEGERKEY) -> StoredAlert; the id is "A<number>"
 *   dedup         dedup key -> number of the unresolved alert it merges into
 *   deadlines     BE deadline_ms . BE number -> ""  (time-ordered: the sweep
 *                 reads from the front, and inserts are nearly appends)
 *   unresolved    region(12) . BE number -> ""  (lists by region prefix)
 *   visit_overdue person . NUL . BE number -> ""  (what a death inhibits)
 *   gone          person -> int64 ms  (dead or moved out: inhibits new
 *                 visit-overdue alerts)
 *   rates         digits(1) . prefix . '@' . YYYYMM -> {due, in_time}
 *   silences      id (MDB_INTEGERKEY) -> Silence
 *   meta          "clock", "next_alert", "next_silence", "counts"
 *
 * Values returned through pointers into LMDB are valid until the
 * transaction ends; decoded messages live in the arena passed in.
 */
#ifndef ALERTS_BOOK_H
#define ALERTS_BOOK_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "store.h"

#include "doudi/alerts.pb-c.h"

typedef struct alerts_book alerts_book;

/* Gauges kept with the state (so a restart shows the same numbers). */
#define ALERTS_KINDS 32
typedef struct alerts_counts {
    uint64_t by_state[8];                 /* every alert held, by AlertState */
    uint64_t active_by_kind[ALERTS_KINDS]; /* OPEN or ESCALATED, by AlertKind */
    uint64_t active_by_severity[4];
    uint64_t active_by_level[6];
} alerts_counts;

/* Opens (creating) the databases in store. Returns 0 or an LMDB code. */
int alerts_book_open(dd_store *store, alerts_book **out);
void alerts_book_close(alerts_book **book);

/* "A<number>" into out (24 bytes). */
void alerts_id_format(uint64_t number, char out[24]);
/* The number of an id "A<number>", or 0 when it is not one. */
uint64_t alerts_id_parse(const char *id);

/* Reads alert `number`; DD_NOTFOUND, DD_ECORRUPT (does not decode), LMDB code. */
int alerts_book_get(alerts_book *b, MDB_txn *txn, uint64_t number, dd_arena *arena,
                    Doudi__StoredAlert **out);
int alerts_book_put(alerts_book *b, MDB_txn *txn, uint64_t number, const Doudi__StoredAlert *a);

/* The dedup index: 0 and *number on a hit, DD_NOTFOUND otherwise. */
int alerts_book_dedup_get(alerts_book *b, MDB_txn *txn, const char *key, uint64_t *number);
int alerts_book_dedup_put(alerts_book *b, MDB_txn *txn, const char *key, uint64_t number);
int alerts_book_dedup_del(alerts_book *b, MDB_txn *txn, const char *key);

int alerts_book_deadline_put(alerts_book *b, MDB_txn *txn, int64_t deadline_ms, uint64_t number);
int alerts_book_deadline_del(alerts_book *b, MDB_txn *txn, int64_t deadline_ms, uint64_t number);
/* The earliest deadline entry: 0, or DD_NOTFOUND when there is none. */
int alerts_book_deadline_first(alerts_book *b, MDB_txn *txn, int64_t *deadline_ms,
                               uint64_t *number);

int alerts_book_unresolved_put(alerts_book *b, MDB_txn *txn, const char *region, uint64_t number);
int alerts_book_unresolved_del(alerts_book *b, MDB_txn *txn, const char *region, uint64_t number);
/*
 * Calls fn for each unresolved alert whose region starts with prefix, in
 * (region, number) order, until fn returns non-zero (that value is
 * returned) or they run out (0).
 */
int alerts_book_unresolved_each(alerts_book *b, MDB_txn *txn, const char *prefix,
                                int (*fn)(void *arg, uint64_t number), void *arg);

int alerts_book_overdue_put(alerts_book *b, MDB_txn *txn, const char *person, uint64_t number);
int alerts_book_overdue_del(alerts_book *b, MDB_txn *txn, const char *person, uint64_t number);
/* The numbers of a person's unresolved visit-overdue alerts, in the arena. */
int alerts_book_overdue_of(alerts_book *b, MDB_txn *txn, const char *person, dd_arena *arena,
                           uint64_t **numbers, size_t *n);

int alerts_book_gone_put(alerts_book *b, MDB_txn *txn, const char *person, int64_t at_ms);
int alerts_book_gone_del(alerts_book *b, MDB_txn *txn, const char *person);
bool alerts_book_is_gone(alerts_book *b, MDB_txn *txn, const char *person);

/* Adds to the timeliness counters of one prefix (digits 2..12) and month. */
int alerts_book_rate_add(alerts_book *b, MDB_txn *txn, const char *prefix, size_t digits,
                         int32_t yyyymm, uint64_t due, uint64_t in_time);
/* The counters of a prefix in a month (0: summed over every month). */
int alerts_book_rate_get(alerts_book *b, MDB_txn *txn, const char *prefix, int32_t yyyymm,
                         uint64_t *due, uint64_t *in_time);
/* Calls fn for every prefix of `digits` digits counted in month yyyymm. */
int alerts_book_rate_each(alerts_book *b, MDB_txn *txn, size_t digits, int32_t yyyymm,
                          void (*fn)(void *arg, const char *prefix, uint64_t due,
                                     uint64_t in_time),
                          void *arg);

int alerts_book_silence_put(alerts_book *b, MDB_txn *txn, const Doudi__Silence *s);
/* Every silence held, in the arena, by id. */
int alerts_book_silences(alerts_book *b, MDB_txn *txn, dd_arena *arena, Doudi__Silence ***out,
                         size_t *n);
/* Deletes silences that ended before now_ms; *deleted may be NULL. */
int alerts_book_silences_expire(alerts_book *b, MDB_txn *txn, int64_t before_ms, size_t *deleted);

/* meta: 64-bit values (0 when never set), and the counts. */
int64_t alerts_book_meta_get(alerts_book *b, MDB_txn *txn, const char *name);
int alerts_book_meta_put(alerts_book *b, MDB_txn *txn, const char *name, int64_t value);
int alerts_book_counts_get(alerts_book *b, MDB_txn *txn, alerts_counts *c);
int alerts_book_counts_put(alerts_book *b, MDB_txn *txn, const alerts_counts *c);

/* Alerts held (entries of the alerts database). */
int alerts_book_count(alerts_book *b, MDB_txn *txn, uint64_t *n);

/* Iterates alerts numbered after after_number in order; fn returns non-zero to stop. */
int alerts_book_each(alerts_book *b, MDB_txn *txn, uint64_t after_number, dd_arena *arena,
                     int (*fn)(void *arg, uint64_t number, Doudi__StoredAlert *a), void *arg);

#endif
