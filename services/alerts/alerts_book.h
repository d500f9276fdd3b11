/*
 * alerts_book.h: where doudi-alerts keeps its state, in its own LMDB environment.
 *
 * Every function takes the caller's transaction: the engine writes inside
 * the consumer's one write transaction per fetched batch (state, stream
 * records and cursor commit together), queries read in a read transaction.
 *
 *   alerts     number (MDB_INTEGERKEY) -> alerts_schedule header . StoredAlert;
 *              the id is "A<number>". Written when the alert is raised (an
 *              append) and when an acknowledgement, a resolution or an
 *              inhibition changes it, never by an escalation: while it is
 *              OPEN or ESCALATED its level, state, deadline and escalations
 *              are a function of its schedule and the clock, which
 *              alerts_book_get applies (alerts_book_view). What the header
 *              holds (kind, severity, region, first deadline) and what
 *              follows from the number and the level (id, office) is not
 *              repeated in the message
 *   repeats    number (MDB_INTEGERKEY) -> alerts_repeat: what repeats merged
 *              into an alert changed (count, last seen, last cause), kept
 *              apart so a merge writes 24 bytes into a small tree instead
 *              of the alert into the big one; alerts_book_get applies it
 *   open       number (MDB_INTEGERKEY) -> alerts_open_entry: every unresolved
 *              alert (open, escalated, acknowledged, silenced); appended at
 *              the raise, deleted when it is resolved or inhibited. What the
 *              engine's in-memory dedup and person lookups are rebuilt from,
 *              and what lists of unresolved alerts scan
 *   (schedule) no database of its own: the alerts' headers are the
 *              schedule. An alert whose header is `scheduled` is OPEN or
 *              ESCALATED with deadlines to pass; within an escalation class
 *              (its window, level window and top level) numbers and first
 *              deadlines rise together, so one position per class and step
 *              in the alerts, by number, is the whole sweep state
 *   classes    class (MDB_INTEGERKEY) -> alerts_class
 *   gone       person -> int64 ms  (dead or moved out: inhibits new
 *              visit-overdue alerts)
 *   rates      digits(1) . prefix . '@' . YYYYMM -> {due, in_time}
 *   silences   id (MDB_INTEGERKEY) -> Silence
 *   meta       "clock", "next_alert", "next_silence", "counts", "layout"
 *
 * alerts_book_open refuses (DD_ECORRUPT, with a message on stderr) a data
 * directory of an earlier layout (the first, or the second with its
 * `schedule` database), whose values this code would misread.
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

/* The layout of these databases this code reads and writes (meta "layout"). */
#define ALERTS_BOOK_LAYOUT 3

/*
 * The header stored in front of an alert: how it climbs (the level window
 * and top level it was raised with, so a changed configuration applies to
 * alerts raised after the change and never rewrites the past of the
 * stream) and what the sweep needs of it without decoding the message.
 * top_level 1 (village) means no escalation: the deadline passes once.
 * alerts_book_put takes kind, severity, region and first deadline from the
 * alert; the caller sets the rest.
 */
typedef struct alerts_schedule {
    uint8_t layout;     /* ALERTS_BOOK_LAYOUT */
    uint8_t top_level;  /* Doudi__AlertLevel */
    uint8_t kind;
    uint8_t severity;
    uint32_t class_id;  /* 0: not scheduled (never was active) */
    int64_t level_window_ms;
    int64_t first_deadline_ms;
    char region[12];
    uint8_t scheduled;  /* OPEN or ESCALATED in class_id: the sweep reaches it */
    uint8_t reserved[3];
} alerts_schedule;

/* What repeats merged into an alert changed. */
typedef struct alerts_repeat {
    int64_t last_seen_at_ms;
    uint64_t last_caused_by_sequence;
    uint32_t count;
    uint32_t reserved;
} alerts_repeat;

/* An unresolved alert, as the `open` database holds it. */
typedef struct alerts_open_entry {
    uint64_t dedup_hash;   /* of the dedup key */
    uint64_t person_hash;  /* visit-overdue alerts: of the subject; else 0 */
    char region[12];
    uint8_t kind;
    uint8_t in_dedup;      /* repeats merge into it (the newest of its key) */
    uint8_t reserved[2];
} alerts_open_entry;

/* An alert waiting for deadlines, as its header tells the sweep. */
typedef struct alerts_schedule_entry {
    int64_t first_deadline_ms;
    char region[12];
    uint8_t kind;
    uint8_t severity;
    uint8_t reserved[2];
} alerts_schedule_entry;

/* An escalation class and the sweep's position in it. */
#define ALERTS_STEPS 5
typedef struct alerts_class {
    int64_t window_ms;
    int64_t level_window_ms;
    uint32_t top_level;
    uint32_t reserved;
    /* The last number whose step k+1 (deadline first + k * level window)
     * has passed, for k < top_level. */
    uint64_t passed[ALERTS_STEPS];
} alerts_class;

/* Opens (creating) the databases in store. Returns 0, DD_ECORRUPT for a
 * directory of another layout (logged), or an LMDB code. */
int alerts_book_open(dd_store *store, alerts_book **out);
void alerts_book_close(alerts_book **book);

/* "A<number>" into out (24 bytes). */
void alerts_id_format(uint64_t number, char out[24]);
/* The number of an id "A<number>", or 0 when it is not one. */
uint64_t alerts_id_parse(const char *id);
/* The hash the in-memory lookups use (of a dedup key, of a person). */
uint64_t alerts_book_hash(const char *text);

/*
 * Reads alert `number` as it is at clock_ms (its escalations applied, see
 * alerts_book_view); *schedule (may be NULL) gets its schedule.
 * DD_NOTFOUND, DD_ECORRUPT (does not decode), LMDB code.
 */
int alerts_book_get(alerts_book *b, MDB_txn *txn, uint64_t number, int64_t clock_ms,
                    dd_arena *arena, Doudi__StoredAlert **out, alerts_schedule *schedule);
/* Writes alert `number` (MDB_APPEND when append is true: a new, highest number). */
int alerts_book_put(alerts_book *b, MDB_txn *txn, uint64_t number, const alerts_schedule *s,
                    const Doudi__StoredAlert *a, bool append);
/* Records a repeat merged into alert `number`: its count, last_seen_at_ms
 * and last_caused_by_sequence as they now are. */
int alerts_book_repeat_put(alerts_book *b, MDB_txn *txn, uint64_t number,
                           const Doudi__StoredAlert *a);
/*
 * Brings an OPEN or ESCALATED alert up to clock_ms: every deadline before
 * clock_ms has passed (the engine's sweep does exactly this, in order), so
 * its level, state, escalations, deadline, office and updated_at follow
 * from first_deadline_ms and the schedule. Strings it sets live in arena.
 */
void alerts_book_view(Doudi__StoredAlert *a, const alerts_schedule *s, int64_t clock_ms,
                      dd_arena *arena);

int alerts_book_open_put(alerts_book *b, MDB_txn *txn, uint64_t number,
                         const alerts_open_entry *o);
int alerts_book_open_del(alerts_book *b, MDB_txn *txn, uint64_t number);
/* Calls fn for each unresolved alert numbered after after_number, in order,
 * until fn returns non-zero (that value is returned) or they run out (0). */
int alerts_book_open_each(alerts_book *b, MDB_txn *txn, uint64_t after_number,
                          int (*fn)(void *arg, uint64_t number, const alerts_open_entry *o),
                          void *arg);

/* Calls fn for every scheduled alert (alerts_schedule.scheduled with a
 * class), in number order; fn returns 0 to go on. 0, what fn returned,
 * DD_ECORRUPT or an LMDB code. */
int alerts_book_schedule_each(alerts_book *b, MDB_txn *txn,
                              int (*fn)(void *arg, uint32_t class_id, uint64_t number,
                                        const alerts_schedule_entry *s),
                              void *arg);

/* Every class, by id (ids are 1..*n); the array is malloc'ed (caller frees). */
int alerts_book_classes(alerts_book *b, MDB_txn *txn, alerts_class **classes, size_t *n);
int alerts_book_class_put(alerts_book *b, MDB_txn *txn, uint32_t class_id, const alerts_class *c);

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

/* Iterates alerts numbered after after_number in order, each as at clock_ms;
 * fn returns non-zero to stop. */
int alerts_book_each(alerts_book *b, MDB_txn *txn, uint64_t after_number, int64_t clock_ms,
                     dd_arena *arena,
                     int (*fn)(void *arg, uint64_t number, Doudi__StoredAlert *a), void *arg);

#endif
