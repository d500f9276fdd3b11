/* alerts_engine.c: alert lifecycle, escalation, dedup, inhibition, silences,
 * timeliness (see alerts_engine.h). */
#include "alerts_engine.h"

#include "alloc.h"
#include "diag.h"
#include "error.h"
#include "idnum.h"
#include "alerts_hashmap.h"
#include "alerts_ladder.h"
#include "wiredecode.h"

#include "doudi/event.pb-c.h"
#include "doudi/scheduler.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts_queue.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

/* The sweep's view of a class: its stored position and, per step, the next
 * alert that step reaches (read from the class's queue when not known). */
typedef struct esc_next {
    bool known, none;
    uint64_t number;
    /* When the next alert left the schedule: every alert between the
     * step's position and it was passed already, so look after it. */
    uint64_t look_after;
    alerts_schedule_entry entry;
    size_t hint; /* where in the class's queue the last look found one */
} esc_next;

typedef struct esc_class {
    alerts_class c;
    bool dirty;
    esc_next next[ALERTS_STEPS];
} esc_class;

/* Timeliness added during a write, by prefix and month (written at its end). */
typedef struct rate_delta {
    char prefix[13];
    uint8_t digits;
    int32_t month;
    uint64_t due, in_time;
} rate_delta;

struct alerts_engine {
    alerts_book *book;
    alerts_stream *stream;
    alerts_engine_options opt;
    dd_arena *batch_arena;  /* silences of the batch */
    dd_arena *arena;        /* one record */
    MDB_txn *txn;
    bool running;
    int64_t now_ms;
    uint64_t upstream_seq;
    uint64_t last_number;   /* the last alert number given */
    Doudi__Silence **silences;
    size_t nsilences;
    alerts_counts work, committed;
    int64_t committed_clock;
    alerts_batch_stats stats, pending_stats;
    bool stats_fresh;
    /* dedup hash -> unresolved alert; person hash -> unresolved overdue
     * alerts: what `open` holds, current unless a write was aborted */
    alerts_hashmap *dedup, *overdue;
    bool lookups_current;
    /* The classes' next alerts (esc_next) are those of the committed state:
     * kept from batch to batch, found again after an abort. */
    bool nexts_current;
    esc_class *classes;
    size_t nclasses, classes_cap;
    /* Each class's scheduled alerts (alerts_queue.h), as the write in
     * progress sees them; filled again from the book after an abort. */
    alerts_queue **queues;
    size_t nqueues;
    bool queues_current;
    rate_delta *rates;
    alerts_hashmap *rate_of;
    size_t nrates, rates_cap;
};

static const char *const reject_names[ALERTS_REJECT_COUNT] = {
    "undecodable",        "unknown_kind",         "bad_severity",
    "bad_region",         "ack_unknown_alert",    "ack_foreign_office",
    "ack_already_closed", "ack_bad_action",
};

const char *alerts_reject_name(alerts_reject r)
{
    return r < ALERTS_REJECT_COUNT ? reject_names[r] : "unknown";
}

/* ---- transactions and what they publish ------------------------------------- */

/* The queue of class id (1-based), made when the class is new. */
static alerts_queue *queue_of(alerts_engine *e, uint32_t class_id)
{
    if (class_id > e->nqueues) {
        e->queues = dd_realloc(e->queues, class_id * sizeof(*e->queues));
        for (size_t i = e->nqueues; i < class_id; i++)
            e->queues[i] = alerts_queue_new();
        e->nqueues = class_id;
    }
    return e->queues[class_id - 1];
}

/* What every step of a class has passed leaves its queue. */
static void drop_passed(alerts_engine *e)
{
    for (size_t i = 0; i < e->nclasses && i < e->nqueues; i++) {
        const alerts_class *c = &e->classes[i].c;
        uint64_t passed = UINT64_MAX;
        for (uint32_t k = 0; k < c->top_level && k < ALERTS_STEPS; k++)
            if (c->passed[k] < passed)
                passed = c->passed[k];
        if (passed != UINT64_MAX)
            alerts_queue_drop_through(e->queues[i], passed);
    }
}

static void committed(void *arg)
{
    alerts_engine *e = arg;
    if (!e->running)
        return;
    e->running = false;
    e->nexts_current = true;
    drop_passed(e);
    e->committed = e->work;
    e->committed_clock = e->now_ms;
    alerts_batch_stats *p = &e->pending_stats;
    p->records += e->stats.records;
    for (size_t i = 0; i < ALERTS_KINDS; i++)
        p->raised[i] += e->stats.raised[i];
    p->merged += e->stats.merged;
    for (size_t i = 0; i < 6; i++)
        p->escalations[i] += e->stats.escalations[i];
    p->acknowledged += e->stats.acknowledged;
    p->resolved += e->stats.resolved;
    p->inhibited += e->stats.inhibited;
    p->silenced += e->stats.silenced;
    for (size_t i = 0; i < ALERTS_REJECT_COUNT; i++)
        p->rejected[i] += e->stats.rejected[i];
    p->stream_records += e->stats.stream_records;
    e->stats_fresh = true;
}

static void aborted(void *arg)
{
    alerts_engine *e = arg;
    e->running = false;
    e->lookups_current = false; /* they may hold what the abort took back */
    e->nexts_current = false;
    e->queues_current = false;
    e->work = e->committed;
    e->now_ms = e->committed_clock;
}

bool alerts_engine_take_stats(alerts_engine *e, alerts_batch_stats *out)
{
    if (!e->stats_fresh)
        return false;
    *out = e->pending_stats;
    memset(&e->pending_stats, 0, sizeof(e->pending_stats));
    e->stats_fresh = false;
    return true;
}

alerts_engine *alerts_engine_new(dd_store *store, alerts_book *book, alerts_stream *stream,
                                 const alerts_engine_options *options)
{
    alerts_engine *e = dd_calloc(1, sizeof(*e));
    e->book = book;
    e->stream = stream;
    e->opt = *options;
    e->batch_arena = dd_arena_new(0);
    e->arena = dd_arena_new(0);
    e->dedup = alerts_hashmap_new();
    e->overdue = alerts_hashmap_new();
    e->rate_of = alerts_hashmap_new();
    dd_store_participant p = {committed, aborted, e};
    dd_store_add_participant(store, &p);
    return e;
}

void alerts_engine_destroy(alerts_engine **ep)
{
    if (!ep || !*ep)
        return;
    dd_arena_destroy(&(*ep)->batch_arena);
    dd_arena_destroy(&(*ep)->arena);
    alerts_hashmap_destroy(&(*ep)->dedup);
    alerts_hashmap_destroy(&(*ep)->overdue);
    alerts_hashmap_destroy(&(*ep)->rate_of);
    free((*ep)->classes);
    for (size_t i = 0; i < (*ep)->nqueues; i++)
        alerts_queue_destroy(&(*ep)->queues[i]);
    free((*ep)->queues);
    free((*ep)->rates);
    free(*ep);
    *ep = NULL;
}

int alerts_engine_load(alerts_engine *e, MDB_txn *txn)
{
    int rc = alerts_book_counts_get(e->book, txn, &e->committed);
    e->work = e->committed;
    e->committed_clock = e->now_ms = alerts_book_meta_get(e->book, txn, "clock");
    e->lookups_current = false;
    e->nexts_current = false;
    e->queues_current = false;
    return rc;
}

int64_t alerts_engine_clock(const alerts_engine *e)
{
    return e->committed_clock;
}

const alerts_counts *alerts_engine_counts(const alerts_engine *e)
{
    return &e->committed;
}

static int remember_open(void *arg, uint64_t number, const alerts_open_entry *o)
{
    alerts_engine *e = arg;
    if (o->in_dedup)
        alerts_hashmap_add(e->dedup, o->dedup_hash, number);
    if (o->person_hash)
        alerts_hashmap_add(e->overdue, o->person_hash, number);
    return 0;
}

static int queue_scheduled(void *arg, uint32_t class_id, uint64_t number,
                           const alerts_schedule_entry *s)
{
    alerts_engine *e = arg;
    if (class_id > e->nclasses)
        return DD_ECORRUPT;
    /* The book is walked in number order: appends never refuse. */
    return alerts_queue_append(queue_of(e, class_id), number, s) ? 0 : DD_ECORRUPT;
}

/* Every class's queue from the alerts as txn holds them. */
static int fill_queues(alerts_engine *e)
{
    for (size_t i = 0; i < e->nqueues; i++)
        alerts_queue_clear(e->queues[i]);
    int rc = alerts_book_schedule_each(e->book, e->txn, queue_scheduled, e);
    if (rc)
        return rc;
    drop_passed(e);
    e->queues_current = true;
    return 0;
}

static int load_classes(alerts_engine *e)
{
    alerts_class *stored;
    size_t n;
    int rc = alerts_book_classes(e->book, e->txn, &stored, &n);
    if (rc)
        return rc;
    if (n > e->classes_cap) {
        e->classes_cap = n * 2;
        e->classes = dd_realloc(e->classes, e->classes_cap * sizeof(esc_class));
    }
    for (size_t i = 0; i < n; i++) {
        /* What the last committed batch knew of the next alerts stands. */
        if (e->nexts_current && i < e->nclasses) {
            e->classes[i].dirty = false;
        } else {
            memset(&e->classes[i], 0, sizeof(esc_class));
        }
        e->classes[i].c = stored[i];
        if (stored[i].top_level < 1 || stored[i].top_level > ALERTS_STEPS ||
            stored[i].level_window_ms <= 0)
            rc = DD_ECORRUPT;
    }
    e->nclasses = n;
    free(stored);
    if (rc == 0 && !e->queues_current)
        rc = fill_queues(e);
    return rc;
}

/* Starts a write of the engine: state is read again from txn, so a run
 * after MAP_FULL starts from the same point as the first. */
static int begin(alerts_engine *e, MDB_txn *txn)
{
    e->running = true;
    e->txn = txn;
    memset(&e->stats, 0, sizeof(e->stats));
    dd_arena_reset(e->batch_arena);
    dd_arena_reset(e->arena);
    e->nrates = 0;
    alerts_hashmap_clear(e->rate_of);
    int rc = alerts_book_counts_get(e->book, txn, &e->work);
    if (rc)
        return rc;
    e->now_ms = alerts_book_meta_get(e->book, txn, "clock");
    e->last_number = (uint64_t)alerts_book_meta_get(e->book, txn, "next_alert");
    if (!e->lookups_current) {
        alerts_hashmap_clear(e->dedup);
        alerts_hashmap_clear(e->overdue);
        if ((rc = alerts_book_open_each(e->book, txn, 0, remember_open, e)) != 0)
            return rc;
        e->lookups_current = true;
    }
    if ((rc = load_classes(e)) != 0)
        return rc;
    return alerts_book_silences(e->book, txn, e->batch_arena, &e->silences, &e->nsilences);
}

static void rates_up(alerts_engine *e);

static int finish(alerts_engine *e, int rc)
{
    for (size_t i = 0; i < e->nclasses && rc == 0; i++)
        if (e->classes[i].dirty)
            rc = alerts_book_class_put(e->book, e->txn, (uint32_t)(i + 1), &e->classes[i].c);
    if (rc == 0)
        rates_up(e);
    for (size_t i = 0; i < e->nrates && rc == 0; i++) {
        const rate_delta *r = &e->rates[i];
        rc = alerts_book_rate_add(e->book, e->txn, r->prefix, r->digits, r->month, r->due,
                                  r->in_time);
    }
    if (rc == 0)
        rc = alerts_stream_flush(e->stream, e->txn);
    if (rc == 0)
        rc = alerts_book_counts_put(e->book, e->txn, &e->work);
    if (rc == 0)
        rc = alerts_book_meta_put(e->book, e->txn, "clock", e->now_ms);
    if (rc == 0)
        rc = alerts_book_meta_put(e->book, e->txn, "next_alert", (int64_t)e->last_number);
    e->txn = NULL;
    return rc;
}

/* ---- counts ------------------------------------------------------------------ */

static bool active(Doudi__AlertState s)
{
    return s == DOUDI__ALERT_STATE__ALERT_STATE_OPEN || s == DOUDI__ALERT_STATE__ALERT_STATE_ESCALATED;
}

static bool unresolved(Doudi__AlertState s)
{
    return active(s) || s == DOUDI__ALERT_STATE__ALERT_STATE_ACKNOWLEDGED ||
           s == DOUDI__ALERT_STATE__ALERT_STATE_SILENCED;
}

static void count(alerts_engine *e, const Doudi__StoredAlert *a, int sign)
{
    alerts_counts *c = &e->work;
#define ADJ(field, idx, n)                                         \
    do {                                                           \
        size_t i_ = (size_t)(idx);                                 \
        if (i_ < (n))                                              \
            c->field[i_] = sign > 0 ? c->field[i_] + 1 : c->field[i_] - (c->field[i_] > 0); \
    } while (0)
    ADJ(by_state, a->state, 8);
    if (active(a->state)) {
        ADJ(active_by_kind, a->kind, ALERTS_KINDS);
        ADJ(active_by_severity, a->severity, 4);
        ADJ(active_by_level, a->level, 6);
    }
#undef ADJ
}

/* ---- helpers ------------------------------------------------------------------ */

int64_t alerts_engine_window(const alerts_engine_options *o, int kind, int severity,
                             int64_t upstream_ms)
{
    if (kind <= 0 || kind >= ALERTS_KINDS || o->window_ms[kind] <= 0)
        return 0;
    int64_t w = o->use_upstream && upstream_ms > 0 ? upstream_ms : o->window_ms[kind];
    if (severity == DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_URGENT && w > o->urgent_at_most_ms)
        w = o->urgent_at_most_ms;
    if (severity == DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_INFO && w < o->info_at_least_ms)
        w = o->info_at_least_ms;
    return w;
}

static int64_t level_window(const alerts_engine *e, int64_t window_ms)
{
    int64_t w = window_ms / 1000 * e->opt.level_window_permille +
                window_ms % 1000 * e->opt.level_window_permille / 1000;
    return w > 0 ? w : 1;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int emit(alerts_engine *e, Doudi__AlertChange change, int64_t at_ms, Doudi__StoredAlert *a)
{
    Doudi__AlertUpdate u = DOUDI__ALERT_UPDATE__INIT;
    u.change = change;
    u.at_ms = at_ms;
    u.alert = a;
    uint64_t seq;
    int rc = alerts_stream_append(e->stream, e->txn, &u, &seq);
    if (rc == 0) {
        a->last_stream_sequence = seq;
        e->stats.stream_records++;
    }
    return rc;
}

typedef struct rate_find {
    alerts_engine *e;
    const char *prefix;
    size_t digits;
    int32_t month;
    size_t found;
} rate_find;

static int match_rate(void *arg, uint64_t number)
{
    rate_find *f = arg;
    const rate_delta *r = &f->e->rates[number - 1];
    if (r->digits == f->digits && r->month == f->month &&
        memcmp(r->prefix, f->prefix, f->digits) == 0) {
        f->found = (size_t)number;
        return 1;
    }
    return 0;
}

/* The timeliness sums of one prefix and month in this write, created empty. */
static size_t rate_slot(alerts_engine *e, const char *prefix, size_t digits, int32_t month)
{
    uint64_t h = XXH3_64bits_withSeed(prefix, digits, (uint64_t)month * 16 + digits);
    rate_find f = {e, prefix, digits, month, 0};
    alerts_hashmap_each(e->rate_of, h, match_rate, &f);
    if (f.found)
        return f.found - 1;
    if (e->nrates == e->rates_cap) {
        e->rates_cap = e->rates_cap ? e->rates_cap * 2 : 1024;
        e->rates = dd_realloc(e->rates, e->rates_cap * sizeof(rate_delta));
    }
    rate_delta *r = &e->rates[e->nrates++];
    memset(r, 0, sizeof(*r));
    memcpy(r->prefix, prefix, digits);
    r->digits = (uint8_t)digits;
    r->month = month;
    alerts_hashmap_add(e->rate_of, h, e->nrates);
    return e->nrates - 1;
}

/* Counts an alert due in the timeliness of its village (in memory; finish()
 * adds the villages' sums to their other four prefixes and writes them
 * once per write). */
static void count_due(alerts_engine *e, const char *region, int64_t first_deadline_ms,
                      bool in_time)
{
    int32_t month = dd_date_yyyymmdd_shanghai(first_deadline_ms) / 100;
    size_t slot = rate_slot(e, region, 12, month);
    rate_delta *r = &e->rates[slot];
    r->due++;
    r->in_time += in_time ? 1 : 0;
}

/* Adds each village's sums of this write to its province, city, county and
 * township. */
static void rates_up(alerts_engine *e)
{
    static const size_t digits[ALERTS_LEVELS - 1] = {2, 4, 6, 9};
    size_t villages = e->nrates;
    for (size_t i = 0; i < villages; i++) {
        rate_delta v = e->rates[i]; /* rate_slot may move the array */
        if (v.digits != 12)
            continue;
        for (int l = 0; l < ALERTS_LEVELS - 1; l++) {
            size_t slot = rate_slot(e, v.prefix, digits[l], v.month);
            rate_delta *r = &e->rates[slot];
            r->due += v.due;
            r->in_time += v.in_time;
        }
    }
}

/* The steps of its class whose next alert is `number` (taken out of the
 * schedule) look again. A step that had none still has none. */
static void forget_next(alerts_engine *e, uint32_t class_id, uint64_t number)
{
    if (class_id == 0 || class_id > e->nclasses)
        return;
    esc_class *c = &e->classes[class_id - 1];
    for (int k = 0; k < ALERTS_STEPS; k++)
        if (c->next[k].known && !c->next[k].none && c->next[k].number == number) {
            c->next[k].known = false;
            c->next[k].look_after = number;
        }
}

/*
 * A new alert of its class (numbered above every other) joins the class's
 * queue and is the next of each step that had none: what a look from the
 * step's position would find, without looking.
 */
static void raised_next(alerts_engine *e, uint32_t class_id, uint64_t number,
                        const Doudi__StoredAlert *a)
{
    if (class_id == 0 || class_id > e->nclasses)
        return;
    alerts_schedule_entry entry = {0};
    entry.first_deadline_ms = a->first_deadline_ms;
    memcpy(entry.region, a->region_code, strnlen(a->region_code, sizeof(entry.region)));
    entry.kind = (uint8_t)a->kind;
    entry.severity = (uint8_t)a->severity;
    /* Numbers only rise: an append (a refusal would mean a corrupt book,
     * which begin() reports when it fills the queue again). */
    if (!alerts_queue_append(queue_of(e, class_id), number, &entry))
        e->queues_current = false;
    esc_class *c = &e->classes[class_id - 1];
    for (int k = 0; k < (int)c->c.top_level && k < ALERTS_STEPS; k++) {
        esc_next *n = &c->next[k];
        if (!n->known || !n->none || number <= c->c.passed[k])
            continue;
        n->none = false;
        n->number = number;
        n->entry = entry;
    }
}

static uint64_t person_hash_of(const Doudi__StoredAlert *a)
{
    return a->kind == DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE && a->subject_person_id[0]
               ? alerts_book_hash(a->subject_person_id)
               : 0;
}

/* Takes an alert out of the schedule (its header, written by the caller). */
static void unschedule(alerts_engine *e, uint64_t number, alerts_schedule *sched)
{
    if (sched->class_id && sched->scheduled) {
        sched->scheduled = 0;
        if (sched->class_id <= e->nqueues)
            alerts_queue_remove(e->queues[sched->class_id - 1], number);
        forget_next(e, sched->class_id, number);
    }
}

/* Takes an alert out of every index of the unresolved. */
static int unindex(alerts_engine *e, uint64_t number, const Doudi__StoredAlert *a,
                   alerts_schedule *sched)
{
    int rc = 0;
    unschedule(e, number, sched);
    if (a->dedup_key[0])
        alerts_hashmap_remove(e->dedup, alerts_book_hash(a->dedup_key), number);
    uint64_t ph = person_hash_of(a);
    if (ph)
        alerts_hashmap_remove(e->overdue, ph, number);
    if (rc == 0)
        rc = alerts_book_open_del(e->book, e->txn, number);
    return rc;
}

/* ---- time ----------------------------------------------------------------------- */

static int peek(alerts_engine *e, size_t ci, int k)
{
    esc_class *c = &e->classes[ci];
    esc_next *n = &c->next[k];
    uint64_t after = n->look_after > c->c.passed[k] ? n->look_after : c->c.passed[k];
    n->look_after = 0;
    n->none = !alerts_queue_next_from(queue_of(e, (uint32_t)(ci + 1)), after, &n->hint,
                                      &n->number, &n->entry);
    n->known = true;
    return 0;
}

/*
 * Step k (0-based) of an alert of class ci: its deadline k+1 passed. Below
 * the class's top it climbs one level (a stream record); at the top it stays,
 * overdue, and leaves the schedule. The first deadline is the village's:
 * due for timeliness, not handled in time.
 */
static int step(alerts_engine *e, size_t ci, int k, int64_t deadline)
{
    esc_class *c = &e->classes[ci];
    esc_next *n = &c->next[k];
    uint64_t number = n->number;
    alerts_schedule_entry en = n->entry;
    c->c.passed[k] = number;
    c->dirty = true;
    n->known = false;
    if (k == 0)
        count_due(e, en.region, en.first_deadline_ms, false);
    int top = (int)c->c.top_level;
    if (k + 1 >= top)
        return 0; /* overdue at the top: the positions have passed it */

    int level = k + 2;
    alerts_counts *cnt = &e->work;
    if (k == 0) {
        cnt->by_state[DOUDI__ALERT_STATE__ALERT_STATE_OPEN] -=
            cnt->by_state[DOUDI__ALERT_STATE__ALERT_STATE_OPEN] > 0;
        cnt->by_state[DOUDI__ALERT_STATE__ALERT_STATE_ESCALATED]++;
    }
    cnt->active_by_level[level - 1] -= cnt->active_by_level[level - 1] > 0;
    cnt->active_by_level[level]++;
    e->stats.escalations[level]++;

    /* The record names the alert and what the escalation changed; its
     * RAISED record, which every subscriber of the area also gets, and
     * GetRequest have the rest. */
    char id[24], region[13], office[13];
    alerts_id_format(number, id);
    memcpy(region, en.region, 12);
    region[12] = '\0';
    alerts_office_code(region, (Doudi__AlertLevel)level, office);
    Doudi__StoredAlert a = DOUDI__STORED_ALERT__INIT;
    a.id = id;
    a.kind = (Doudi__AlertKind)en.kind;
    a.severity = (Doudi__AlertSeverity)en.severity;
    a.region_code = region;
    a.state = DOUDI__ALERT_STATE__ALERT_STATE_ESCALATED;
    a.level = (Doudi__AlertLevel)level;
    a.office_code = office;
    a.escalations = (uint32_t)(k + 1);
    a.deadline_ms = deadline + c->c.level_window_ms;
    a.first_deadline_ms = en.first_deadline_ms;
    a.updated_at_ms = deadline;
    dd_debug("alert %s escalated to %s %s", id, alerts_level_name(a.level), office);
    Doudi__AlertUpdate u = DOUDI__ALERT_UPDATE__INIT;
    u.change = DOUDI__ALERT_CHANGE__ALERT_CHANGE_ESCALATED;
    u.at_ms = deadline;
    u.alert = &a;
    int rc = alerts_stream_append(e->stream, e->txn, &u, NULL);
    if (rc == 0)
        e->stats.stream_records++;
    return rc;
}

/* Every deadline before the clock passes, in (deadline, number) order. */
static int sweep(alerts_engine *e)
{
    for (;;) {
        size_t best_ci = SIZE_MAX;
        int best_k = 0;
        int64_t best_d = 0;
        uint64_t best_n = 0;
        for (size_t ci = 0; ci < e->nclasses; ci++) {
            esc_class *c = &e->classes[ci];
            for (int k = 0; k < (int)c->c.top_level; k++) {
                esc_next *n = &c->next[k];
                int rc;
                if (!n->known && (rc = peek(e, ci, k)) != 0)
                    return rc;
                if (n->none)
                    continue;
                int64_t d = n->entry.first_deadline_ms + (int64_t)k * c->c.level_window_ms;
                if (best_ci == SIZE_MAX || d < best_d || (d == best_d && n->number < best_n)) {
                    best_ci = ci;
                    best_k = k;
                    best_d = d;
                    best_n = n->number;
                }
            }
        }
        if (best_ci == SIZE_MAX || best_d >= e->now_ms)
            return 0;
        int rc = step(e, best_ci, best_k, best_d);
        if (rc)
            return rc;
    }
}

static int advance(alerts_engine *e, int64_t t)
{
    if (t <= e->now_ms)
        return 0;
    e->now_ms = t;
    return sweep(e);
}

/* The class of a window as configured now, created when new. */
static uint32_t class_for(alerts_engine *e, int64_t window_ms)
{
    int64_t lw = level_window(e, window_ms);
    uint32_t top = e->opt.escalation ? (uint32_t)e->opt.top_level : 1;
    if (top < 1 || top > ALERTS_STEPS)
        top = 1;
    for (size_t i = 0; i < e->nclasses; i++) {
        const alerts_class *c = &e->classes[i].c;
        if (c->window_ms == window_ms && c->level_window_ms == lw && c->top_level == top)
            return (uint32_t)(i + 1);
    }
    if (e->nclasses == e->classes_cap) {
        e->classes_cap = e->classes_cap ? e->classes_cap * 2 : 8;
        e->classes = dd_realloc(e->classes, e->classes_cap * sizeof(esc_class));
    }
    esc_class *c = &e->classes[e->nclasses++];
    memset(c, 0, sizeof(*c));
    c->c.window_ms = window_ms;
    c->c.level_window_ms = lw;
    c->c.top_level = top;
    c->dirty = true;
    return (uint32_t)e->nclasses;
}

/* ---- raising ----------------------------------------------------------------------- */

static const Doudi__Silence *silence_for(alerts_engine *e, const Doudi__Alert *a, int64_t t)
{
    for (size_t i = 0; i < e->nsilences; i++) {
        const Doudi__Silence *s = e->silences[i];
        if ((s->kind == 0 || s->kind == a->kind) && t >= s->starts_at_ms && t < s->ends_at_ms &&
            strncmp(a->region_code, s->region_prefix, strlen(s->region_prefix)) == 0)
            return s;
    }
    return NULL;
}

static void reject(alerts_engine *e, alerts_reject why, const char *detail)
{
    e->stats.rejected[why]++;
    dd_warn("%s record %llu not applied (%s): %s", "upstream",
            (unsigned long long)e->upstream_seq, alerts_reject_name(why), detail);
}

typedef struct held_find {
    alerts_engine *e;
    const char *key;
    uint64_t number;
    Doudi__StoredAlert *alert;
    alerts_schedule sched;
    int rc;
} held_find;

/* The unresolved alert a dedup key merges into (the map holds one per key). */
static int match_held(void *arg, uint64_t number)
{
    held_find *f = arg;
    Doudi__StoredAlert *a;
    alerts_schedule s;
    int rc = alerts_book_get(f->e->book, f->e->txn, number, f->e->now_ms, f->e->arena, &a, &s);
    if (rc == DD_NOTFOUND || rc == DD_ECORRUPT)
        return 0;
    if (rc) {
        f->rc = rc;
        return 1;
    }
    if (strcmp(a->dedup_key, f->key) != 0)
        return 0;
    f->number = number;
    f->alert = a;
    f->sched = s;
    return 1;
}

static alerts_open_entry open_entry(const Doudi__StoredAlert *a, uint64_t dedup_hash,
                                    bool in_dedup)
{
    alerts_open_entry o;
    memset(&o, 0, sizeof(o));
    o.dedup_hash = dedup_hash;
    o.person_hash = person_hash_of(a);
    memcpy(o.region, a->region_code, 12);
    o.kind = (uint8_t)a->kind;
    o.in_dedup = in_dedup;
    return o;
}

static int raise_alert(alerts_engine *e, const Doudi__Alert *in, int64_t t)
{
    int kind = (int)in->kind, severity = (int)in->severity;
    int64_t window = alerts_engine_window(&e->opt, kind, severity, in->handle_within_ms);
    if (window <= 0) {
        char d[64];
        snprintf(d, sizeof(d), "alert kind %d is not one this daemon knows", kind);
        reject(e, ALERTS_REJECT_UNKNOWN_KIND, d);
        return 0;
    }
    if (severity < 1 || severity > 3) {
        char d[64];
        snprintf(d, sizeof(d), "alert severity %d is not INFO, WARNING or URGENT", severity);
        reject(e, ALERTS_REJECT_BAD_SEVERITY, d);
        return 0;
    }
    if (strlen(in->region_code) != 12 || !all_digits(in->region_code, 12)) {
        char d[128];
        snprintf(d, sizeof(d), "region_code '%.20s' is not 12 digits", in->region_code);
        reject(e, ALERTS_REJECT_BAD_REGION, d);
        return 0;
    }
    const char *subject = in->subject_person_id[0] ? in->subject_person_id : in->household_id;
    char keybuf[200];
    const char *key = in->dedup_key;
    if (!key[0]) {
        snprintf(keybuf, sizeof(keybuf), "%d:%.150s", kind, subject);
        key = keybuf;
    }
    uint64_t hash = alerts_book_hash(key);
    const Doudi__Silence *silence = silence_for(e, in, t);
    bool gone = kind == DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE &&
                alerts_book_is_gone(e->book, e->txn, in->subject_person_id);

    held_find held = {e, key, 0, NULL, {0}, 0};
    alerts_hashmap_each(e->dedup, hash, match_held, &held);
    if (held.rc)
        return held.rc;
    if (held.number && !gone) {
        Doudi__StoredAlert *a = held.alert;
        bool silenced = a->state == DOUDI__ALERT_STATE__ALERT_STATE_SILENCED;
        if (unresolved(a->state) && (!silenced || silence)) {
            a->count++;
            if (t > a->last_seen_at_ms)
                a->last_seen_at_ms = t;
            a->last_caused_by_sequence = e->upstream_seq;
            e->stats.merged++;
            return alerts_book_repeat_put(e->book, e->txn, held.number, a);
        }
    }

    uint64_t number = ++e->last_number;
    char id[24];
    alerts_id_format(number, id);
    Doudi__StoredAlert a = DOUDI__STORED_ALERT__INIT;
    a.id = id;
    a.kind = in->kind;
    a.severity = in->severity;
    a.subject_person_id = in->subject_person_id;
    a.household_id = in->household_id;
    a.region_code = in->region_code;
    a.program = in->program;
    a.risk_kind = in->risk_kind;
    a.reason = in->reason;
    a.dedup_key = (char *)key;
    a.level = DOUDI__ALERT_LEVEL__ALERT_LEVEL_VILLAGE;
    a.office_code = in->region_code;
    a.raised_at_ms = a.last_seen_at_ms = a.updated_at_ms = t;
    a.count = 1;
    a.handle_within_ms = window;
    a.caused_by_sequence = a.last_caused_by_sequence = e->upstream_seq;
    a.origin_sequence = in->origin_sequence;
    a.assigned_worker_id = in->assigned_worker_id;
    a.urgent_visit_due_ms = in->urgent_visit_due_ms;
    alerts_schedule sched = {0};
    int rc;
    if (gone) {
        a.state = DOUDI__ALERT_STATE__ALERT_STATE_INHIBITED;
        a.closed_reason = "the person died or moved out";
        e->stats.inhibited++;
        count(e, &a, +1);
        return alerts_book_put(e->book, e->txn, number, &sched, &a, true);
    }
    if (held.number) {
        /* A silenced alert of the same key that this one does not merge
         * into: repeats merge into the newer from now on. */
        alerts_hashmap_remove(e->dedup, hash, held.number);
        alerts_open_entry o = open_entry(held.alert, hash, false);
        if ((rc = alerts_book_open_put(e->book, e->txn, held.number, &o)) != 0)
            return rc;
    }
    alerts_open_entry o = open_entry(&a, hash, true);
    if ((rc = alerts_book_open_put(e->book, e->txn, number, &o)) != 0)
        return rc;
    alerts_hashmap_add(e->dedup, hash, number);
    if (o.person_hash)
        alerts_hashmap_add(e->overdue, o.person_hash, number);
    if (silence) {
        a.state = DOUDI__ALERT_STATE__ALERT_STATE_SILENCED;
        a.silence_id = silence->id;
        e->stats.silenced++;
        count(e, &a, +1);
        return alerts_book_put(e->book, e->txn, number, &sched, &a, true);
    }
    a.state = DOUDI__ALERT_STATE__ALERT_STATE_OPEN;
    a.deadline_ms = a.first_deadline_ms = t + window;
    sched.class_id = class_for(e, window);
    const alerts_class *cl = &e->classes[sched.class_id - 1].c;
    sched.top_level = (uint8_t)cl->top_level;
    sched.level_window_ms = cl->level_window_ms;
    sched.scheduled = 1;
    raised_next(e, sched.class_id, number, &a);
    e->stats.raised[kind]++;
    count(e, &a, +1);
    if ((rc = emit(e, DOUDI__ALERT_CHANGE__ALERT_CHANGE_RAISED, t, &a)) != 0)
        return rc;
    return alerts_book_put(e->book, e->txn, number, &sched, &a, true);
}

/* ---- acknowledgements ---------------------------------------------------------------- */

static int acknowledge(alerts_engine *e, const Doudi__Envelope *env)
{
    const Doudi__AlertAcknowledgement *ack = env->alert_acknowledgement;
    char detail[200];
    uint64_t number = alerts_id_parse(ack->alert_id);
    Doudi__StoredAlert *a = NULL;
    alerts_schedule sched;
    int rc = number ? alerts_book_get(e->book, e->txn, number, e->now_ms, e->arena, &a, &sched)
                    : DD_NOTFOUND;
    if (rc == DD_NOTFOUND || rc == DD_ECORRUPT) {
        snprintf(detail, sizeof(detail), "acknowledgement by %.40s names alert '%.64s', which is "
                 "not held", ack->by_worker_id, ack->alert_id);
        reject(e, ALERTS_REJECT_ACK_UNKNOWN_ALERT, detail);
        return 0;
    }
    if (rc)
        return rc;
    if (!alerts_office_covers(env->region_code, a->region_code)) {
        snprintf(detail, sizeof(detail), "office %.12s acknowledging alert %s is not on the ladder "
                 "of its region %s", env->region_code, a->id, a->region_code);
        reject(e, ALERTS_REJECT_ACK_FOREIGN_OFFICE, detail);
        return 0;
    }
    bool resolve = ack->action == DOUDI__ACKNOWLEDGEMENT_ACTION__ACKNOWLEDGEMENT_ACTION_RESOLVED;
    if (!resolve && ack->action != DOUDI__ACKNOWLEDGEMENT_ACTION__ACKNOWLEDGEMENT_ACTION_ACKNOWLEDGED) {
        snprintf(detail, sizeof(detail), "acknowledgement of %s has action %d", a->id,
                 (int)ack->action);
        reject(e, ALERTS_REJECT_ACK_BAD_ACTION, detail);
        return 0;
    }
    if (!unresolved(a->state) ||
        (!resolve && a->state == DOUDI__ALERT_STATE__ALERT_STATE_ACKNOWLEDGED)) {
        snprintf(detail, sizeof(detail), "alert %s is already %s", a->id,
                 a->state == DOUDI__ALERT_STATE__ALERT_STATE_ACKNOWLEDGED ? "acknowledged" : "closed");
        reject(e, ALERTS_REJECT_ACK_ALREADY_CLOSED, detail);
        return 0;
    }
    count(e, a, -1);
    if (active(a->state)) {
        /* Still at the village: its deadline has not passed (the sweep
         * before this record would have moved it), so it is handled in time. */
        bool in_time = a->level == DOUDI__ALERT_LEVEL__ALERT_LEVEL_VILLAGE;
        a->handled_in_time = in_time;
        if (in_time)
            count_due(e, a->region_code, a->first_deadline_ms, true);
        unschedule(e, number, &sched);
        a->deadline_ms = 0;
    }
    a->note = ack->note;
    a->updated_at_ms = e->now_ms;
    a->last_caused_by_sequence = e->upstream_seq;
    if (!a->acknowledged_at_ms) {
        a->acknowledged_at_ms = e->now_ms;
        a->acknowledged_by = ack->by_worker_id;
    }
    if (resolve) {
        if ((rc = unindex(e, number, a, &sched)) != 0)
            return rc;
        a->resolved_at_ms = e->now_ms;
        a->resolved_by = ack->by_worker_id;
        a->state = DOUDI__ALERT_STATE__ALERT_STATE_RESOLVED;
        e->stats.resolved++;
    } else {
        a->state = DOUDI__ALERT_STATE__ALERT_STATE_ACKNOWLEDGED;
        e->stats.acknowledged++;
    }
    count(e, a, +1);
    if (a->last_stream_sequence &&
        (rc = emit(e, resolve ? DOUDI__ALERT_CHANGE__ALERT_CHANGE_RESOLVED
                              : DOUDI__ALERT_CHANGE__ALERT_CHANGE_ACKNOWLEDGED,
                   e->now_ms, a)) != 0)
        return rc;
    return alerts_book_put(e->book, e->txn, number, &sched, a, false);
}

/* ---- plan changes: death and move-out inhibit overdue-visit alerts ------------------- */

typedef struct numbers_ctx {
    uint64_t *v;
    size_t n, cap;
    dd_arena *arena;
} numbers_ctx;

static int collect(void *arg, uint64_t number)
{
    numbers_ctx *c = arg;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        uint64_t *grown = dd_arena_alloc(c->arena, c->cap * sizeof(uint64_t));
        if (c->n)
            memcpy(grown, c->v, c->n * sizeof(uint64_t));
        c->v = grown;
    }
    c->v[c->n++] = number;
    return 0;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int plan_change(alerts_engine *e, const Doudi__PlanChange *pc)
{
    if (!pc->person_id[0])
        return 0;
    if (pc->end == DOUDI__PLAN_END__PLAN_END_NONE)
        return alerts_book_gone_del(e->book, e->txn, pc->person_id);
    if (pc->end != DOUDI__PLAN_END__PLAN_END_DECEASED && pc->end != DOUDI__PLAN_END__PLAN_END_MOVED_OUT)
        return 0;
    int rc = alerts_book_gone_put(e->book, e->txn, pc->person_id, e->now_ms);
    if (rc)
        return rc;
    numbers_ctx nc = {NULL, 0, 0, e->arena};
    alerts_hashmap_each(e->overdue, alerts_book_hash(pc->person_id), collect, &nc);
    if (nc.n > 1)
        qsort(nc.v, nc.n, sizeof(uint64_t), cmp_u64);
    const char *why = pc->end == DOUDI__PLAN_END__PLAN_END_DECEASED ? "the person died"
                                                                     : "the person moved out";
    for (size_t i = 0; i < nc.n; i++) {
        Doudi__StoredAlert *a;
        alerts_schedule sched;
        rc = alerts_book_get(e->book, e->txn, nc.v[i], e->now_ms, e->arena, &a, &sched);
        if (rc == DD_NOTFOUND || rc == DD_ECORRUPT)
            continue;
        if (rc)
            return rc;
        if (!unresolved(a->state) || a->kind != DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE ||
            strcmp(a->subject_person_id, pc->person_id) != 0)
            continue;
        count(e, a, -1);
        if ((rc = unindex(e, nc.v[i], a, &sched)) != 0)
            return rc;
        a->state = DOUDI__ALERT_STATE__ALERT_STATE_INHIBITED;
        a->closed_reason = (char *)why;
        a->deadline_ms = 0;
        a->updated_at_ms = e->now_ms;
        a->last_caused_by_sequence = e->upstream_seq;
        count(e, a, +1);
        e->stats.inhibited++;
        if (a->last_stream_sequence &&
            (rc = emit(e, DOUDI__ALERT_CHANGE__ALERT_CHANGE_INHIBITED, e->now_ms, a)) != 0)
            return rc;
        if ((rc = alerts_book_put(e->book, e->txn, nc.v[i], &sched, a, false)) != 0)
            return rc;
    }
    return 0;
}

/* ---- the consumer's apply ------------------------------------------------------------- */

static int apply_one(alerts_engine *e, const Doudi__LogRecord *rec)
{
    e->upstream_seq = rec->sequence;
    e->stats.records++;
    char detail[96];
    switch (rec->kind) {
    case DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_ALERT: {
        Doudi__Alert *a = (Doudi__Alert *)dd_wire_unpack(&doudi__alert__descriptor, rec->payload.data,
                                                         rec->payload.len, e->arena);
        if (!a)
            break;
        int rc = advance(e, a->raised_at_ms ? a->raised_at_ms : rec->appended_at_ms);
        if (rc)
            return rc;
        if (a->raised_at_ms < e->now_ms)
            a->raised_at_ms = e->now_ms; /* never raised in the past of the clock */
        return raise_alert(e, a, a->raised_at_ms);
    }
    case DOUDI__RECORD_KIND__RECORD_KIND_ALERT_ACKNOWLEDGEMENT: {
        Doudi__Envelope *env = (Doudi__Envelope *)dd_wire_unpack(
            &doudi__envelope__descriptor, rec->payload.data, rec->payload.len, e->arena);
        if (!env || env->body_case != DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT)
            break;
        int rc = advance(e, env->occurred_at_ms);
        return rc ? rc : acknowledge(e, env);
    }
    case DOUDI__SCHEDULER_RECORD_KIND__SCHEDULER_RECORD_KIND_PLAN_CHANGE: {
        Doudi__PlanChange *pc = (Doudi__PlanChange *)dd_wire_unpack(
            &doudi__plan_change__descriptor, rec->payload.data, rec->payload.len, e->arena);
        if (!pc)
            break;
        int rc = advance(e, pc->changed_at_ms ? pc->changed_at_ms : rec->appended_at_ms);
        return rc ? rc : plan_change(e, pc);
    }
    default:
        return advance(e, rec->appended_at_ms);
    }
    snprintf(detail, sizeof(detail), "%zu bytes of kind %u do not decode", rec->payload.len,
             rec->kind);
    reject(e, ALERTS_REJECT_UNDECODABLE, detail);
    return 0;
}

int alerts_engine_apply(void *arg, MDB_txn *txn, Doudi__LogRecord *const *records, size_t n)
{
    alerts_engine *e = arg;
    int rc = begin(e, txn);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = apply_one(e, records[i]);
        dd_arena_reset(e->arena);
    }
    return finish(e, rc);
}

int alerts_engine_sweep(alerts_engine *e, MDB_txn *txn, int64_t now_ms)
{
    int rc = begin(e, txn);
    if (rc == 0)
        rc = advance(e, now_ms);
    return finish(e, rc);
}

int alerts_engine_add_silence(alerts_engine *e, MDB_txn *txn, Doudi__Silence *s)
{
    int rc = begin(e, txn);
    if (rc == 0) {
        s->id = (uint64_t)alerts_book_meta_get(e->book, txn, "next_silence") + 1;
        rc = alerts_book_meta_put(e->book, txn, "next_silence", (int64_t)s->id);
    }
    if (rc == 0)
        rc = alerts_book_silence_put(e->book, txn, s);
    return finish(e, rc);
}
