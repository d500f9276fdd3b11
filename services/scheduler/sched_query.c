/* sched_query.c: plan, worker, rate and due queries (see sched_query.h). */
#include "sched_query.h"

#include "sched_calendar.h"
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t sched_query_region_prefix(const char *text, char out[13])
{
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i++)
        if (text[i] < '0' || text[i] > '9')
            return 0;
    if (n != 2 && n != 4 && n != 6 && n != 9 && n != 12)
        return 0;
    memcpy(out, text, n);
    out[n] = '\0';
    if (n == 12) {
        /* An area's own code: the zeros of the levels below it go. */
        static const size_t cut[] = {9, 6, 4, 2};
        for (size_t k = 0; k < 4; k++) {
            bool zeros = true;
            for (size_t i = cut[k]; i < n; i++)
                zeros &= out[i] == '0';
            if (!zeros)
                break;
            n = cut[k];
        }
        out[n] = '\0';
    }
    return n;
}

int sched_query_levels(sched_db *db, MDB_txn *txn, sched_dbi which, const void *head,
                       size_t hlen, size_t len, sched_db_scan_fn fn, void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, sched_db_dbi(db, which), &cur);
    if (rc)
        return rc;
    uint8_t seek[80];
    size_t want = hlen + len;
    if (want + 1 > sizeof(seek)) {
        mdb_cursor_close(cur);
        return DD_ETOOBIG;
    }
    memcpy(seek, head, hlen);
    MDB_val k = {hlen, seek}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (k.mv_size < hlen || memcmp(k.mv_data, head, hlen) != 0)
            break;
        if (k.mv_size < want) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            continue;
        }
        memcpy(seek, k.mv_data, want);
        MDB_val exact = {want, seek}, ev = {0, NULL};
        int grc = mdb_get(txn, sched_db_dbi(db, which), &exact, &ev);
        if (grc && grc != MDB_NOTFOUND) {
            rc = grc;
            break;
        }
        MDB_val key = {want, seek};
        if ((rc = fn(arg, &key, &ev)) != 0)
            break;
        seek[want] = 0xff; /* past every longer key with this prefix */
        k.mv_size = want + 1;
        k.mv_data = seek;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 1 ? 0 : rc;
}

static char *errorf(dd_arena *arena, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *errorf(dd_arena *arena, const char *fmt, ...)
{
    char *s = dd_arena_alloc(arena, 200);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s, 200, fmt, ap);
    va_end(ap);
    return s;
}

/* ---- rates ---------------------------------------------------------------------- */

typedef struct rate_job {
    dd_arena *arena;
    int32_t month;
    Doudi__RegionRate **list;
    size_t n, cap;
} rate_job;

static void add_rate(rate_job *j, const char *region, size_t rlen, const int64_t v[SCHED_RATE_VALUES])
{
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 32;
        Doudi__RegionRate **grown = dd_arena_alloc(j->arena, cap * sizeof(void *));
        if (j->n)
            memcpy(grown, j->list, j->n * sizeof(void *));
        j->list = grown;
        j->cap = cap;
    }
    Doudi__RegionRate *r = dd_arena_alloc(j->arena, sizeof(*r));
    doudi__region_rate__init(r);
    char *code = dd_arena_alloc(j->arena, rlen + 1);
    memcpy(code, region, rlen);
    code[rlen] = '\0';
    r->region_code = code;
    r->month_yyyymm = j->month;
    r->due = v[SCHED_RATE_DUE];
    r->visited = v[SCHED_RATE_VISITED];
    r->overdue = v[SCHED_RATE_OVERDUE];
    j->list[j->n++] = r;
}

static int rate_child_cb(void *arg, const MDB_val *key, const MDB_val *value)
{
    rate_job *j = arg;
    int64_t v[SCHED_RATE_VALUES] = {0};
    if (value->mv_size == sizeof(v))
        memcpy(v, value->mv_data, sizeof(v));
    add_rate(j, (const char *)key->mv_data + 4, key->mv_size - 4, v);
    return 0;
}

static int answer_rate(sched_db *db, MDB_txn *txn, dd_arena *arena, int32_t month,
                       const char *text, Doudi__SchedulerQueryReply *r)
{
    char prefix[13];
    size_t plen = sched_query_region_prefix(text, prefix);
    if (!plen) {
        r->error_text = errorf(arena, "%.64s is not a region: 2, 4, 6, 9 or 12 digits", text);
        return 0;
    }
    rate_job j = {.arena = arena, .month = month};
    int64_t v[SCHED_RATE_VALUES];
    int rc = sched_db_rates_get(db, txn, month, prefix, v);
    if (rc)
        return rc;
    add_rate(&j, prefix, plen, v);
    size_t child = plen == 2 ? 4 : plen == 4 ? 6 : plen == 6 ? 9 : plen == 9 ? 12 : 0;
    if (child) {
        uint8_t head[16];
        uint32_t m = (uint32_t)month;
        head[0] = (uint8_t)(m >> 24);
        head[1] = (uint8_t)(m >> 16);
        head[2] = (uint8_t)(m >> 8);
        head[3] = (uint8_t)m;
        memcpy(head + 4, prefix, plen);
        rc = sched_query_levels(db, txn, SCHED_DB_RATES, head, 4 + plen, child - plen,
                                rate_child_cb, &j);
        if (rc)
            return rc;
    }
    r->rates = j.list;
    r->n_rates = j.n;
    return 0;
}

/* ---- plan lists ------------------------------------------------------------------- */

typedef struct due_entry {
    int64_t due;
    char person[65];
} due_entry;

typedef struct list_job {
    due_entry *items;
    size_t n, cap;
    int64_t horizon;
} list_job;

static void list_add(list_job *j, int64_t due, const char *person)
{
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 256;
        j->items = dd_realloc(j->items, j->cap * sizeof(*j->items));
    }
    j->items[j->n].due = due;
    snprintf(j->items[j->n].person, sizeof(j->items[j->n].person), "%s", person);
    j->n++;
}

static int cmp_due(const void *a, const void *b)
{
    const due_entry *x = a, *y = b;
    if (x->due != y->due)
        return x->due < y->due ? -1 : 1;
    return strcmp(x->person, y->person);
}

/* Sorts the entries by due time and loads the first `limit` plans. */
static int fill_plans(sched_db *db, MDB_txn *txn, dd_arena *arena, list_job *j, uint32_t limit,
                      Doudi__SchedulerQueryReply *r)
{
    qsort(j->items, j->n, sizeof(*j->items), cmp_due);
    size_t keep = j->n < limit ? j->n : limit;
    Doudi__VisitPlan **plans = dd_arena_alloc(arena, (keep + 1) * sizeof(void *));
    size_t n = 0;
    for (size_t i = 0; i < keep; i++) {
        Doudi__VisitPlan *p;
        int rc = sched_db_get_plan(db, txn, j->items[i].person, arena, &p);
        if (rc == DD_NOTFOUND)
            continue;
        if (rc)
            return rc;
        plans[n++] = p;
    }
    r->plans = plans;
    r->n_plans = n;
    r->total = j->n;
    return 0;
}

/* Which plans of a township scan a list keeps. */
typedef struct plan_filter {
    sched_db *db;
    MDB_txn *txn;
    dd_arena *arena;
    list_job *list;
    const char *worker_id; /* the worker's plans, or */
    const char *prefix;    /* the region's plans due by the horizon */
    size_t plen;
    int rc;
} plan_filter;

static int township_plan_cb(void *arg, const char *person_id)
{
    plan_filter *f = arg;
    Doudi__VisitPlan *p;
    int rc = sched_db_get_plan(f->db, f->txn, person_id, f->arena, &p);
    if (rc == DD_NOTFOUND)
        return 0;
    if (rc) {
        f->rc = rc;
        return 1;
    }
    bool keep = f->worker_id ? strcmp(p->worker_id, f->worker_id) == 0
                             : strncmp(p->region_code, f->prefix, f->plen) == 0 &&
                                   p->next_due_ms <= f->list->horizon;
    if (keep)
        list_add(f->list, p->next_due_ms, person_id);
    dd_arena_reset(f->arena);
    return 0;
}

typedef struct due_filter {
    sched_db *db;
    MDB_txn *txn;
    dd_arena *arena;
    list_job *list;
    const char *prefix;
    size_t plen;
    int rc;
} due_filter;

static int due_index_cb(void *arg, const sched_due_entry *entry)
{
    due_filter *f = arg;
    if (strncmp(entry->region, f->prefix, f->plen) != 0)
        return 0;
    /* The index may hold entries the sweep has not dropped yet. */
    Doudi__VisitPlan *p;
    int rc = sched_db_get_plan(f->db, f->txn, entry->person_id, f->arena, &p);
    if (rc == DD_NOTFOUND)
        return 0;
    if (rc) {
        f->rc = rc;
        return 1;
    }
    if (p->end == DOUDI__PLAN_END__PLAN_END_NONE && p->next_due_ms == entry->due_ms &&
        p->due_indexed_sequence == entry->sequence)
        list_add(f->list, entry->due_ms, entry->person_id);
    dd_arena_reset(f->arena);
    return 0;
}

static int answer_worker(sched_db *db, MDB_txn *txn, dd_arena *arena, uint32_t limit,
                         const char *worker_id, Doudi__SchedulerQueryReply *r)
{
    if (!worker_id[0] || strlen(worker_id) > 64) {
        r->error_text = "a worker_id is 1 to 64 bytes";
        return 0;
    }
    Doudi__RosterWorker *w;
    int rc = sched_db_get_worker(db, txn, worker_id, arena, &w);
    if (rc == DD_NOTFOUND) {
        r->error_text = errorf(arena, "worker %.64s is not on the roster", worker_id);
        return 0;
    }
    if (rc)
        return rc;
    r->worker = w;
    /* A worker's plans are all in the worker's township (sched_engine.c). */
    list_job j = {0};
    if (sched_region_valid(w->region_code)) {
        dd_arena *scratch = dd_arena_new(0);
        plan_filter f = {db, txn, scratch, &j, worker_id, NULL, 0, 0};
        rc = sched_db_township_plans_scan(db, txn, w->region_code, 9, township_plan_cb, &f);
        rc = rc ? rc : f.rc;
        dd_arena_destroy(&scratch);
    }
    if (!rc)
        rc = fill_plans(db, txn, arena, &j, limit, r);
    free(j.items);
    return rc;
}

static int answer_due(sched_db *db, MDB_txn *txn, dd_arena *arena, int64_t now_ms,
                      uint32_t limit, const char *text, Doudi__SchedulerQueryReply *r)
{
    char prefix[13];
    size_t plen = sched_query_region_prefix(text, prefix);
    if (!plen) {
        r->error_text = errorf(arena, "%.64s is not a region: 2, 4, 6, 9 or 12 digits", text);
        return 0;
    }
    list_job j = {.horizon = sched_day_start_ms(now_ms) + SCHED_DAY_MS - 1};
    int rc;
    if (plen >= 9) {
        /* A township or a village: its plans, from the township's list. */
        dd_arena *scratch = dd_arena_new(0);
        plan_filter f = {db, txn, scratch, &j, NULL, prefix, plen, 0};
        rc = sched_db_township_plans_scan(db, txn, prefix, plen, township_plan_cb, &f);
        rc = rc ? rc : f.rc;
        dd_arena_destroy(&scratch);
    } else {
        /* A county or larger: what is due by the horizon, filtered by place. */
        dd_arena *scratch = dd_arena_new(0);
        due_filter f = {db, txn, scratch, &j, prefix, plen, 0};
        rc = sched_db_due_scan(db, txn, false, INT64_MIN, j.horizon + 1, due_index_cb, &f);
        rc = rc ? rc : f.rc;
        dd_arena_destroy(&scratch);
    }
    if (!rc)
        rc = fill_plans(db, txn, arena, &j, limit, r);
    free(j.items);
    return rc;
}

int sched_query_answer(sched_db *db, MDB_txn *txn, dd_arena *arena, int64_t now_ms,
                       int32_t month, const Doudi__SchedulerQueryRequest *q,
                       Doudi__SchedulerQueryReply *r)
{
    r->request_id = q->request_id;
    r->now_ms = now_ms;
    r->month_yyyymm = month;
    r->error_text = "";
    uint32_t limit = q->limit ? q->limit : 1000;
    int rc = 0;
    switch (q->query_case) {
    case DOUDI__SCHEDULER_QUERY_REQUEST__QUERY_PLAN_PERSON_ID: {
        Doudi__VisitPlan *p;
        rc = sched_db_get_plan(db, txn, q->plan_person_id, arena, &p);
        if (rc == DD_NOTFOUND) {
            r->error_text = errorf(arena, "%.64s has no visit plan", q->plan_person_id);
            rc = 0;
        } else if (rc == 0) {
            r->plan = p;
        }
        break;
    }
    case DOUDI__SCHEDULER_QUERY_REQUEST__QUERY_WORKER_ID:
        rc = answer_worker(db, txn, arena, limit, q->worker_id, r);
        break;
    case DOUDI__SCHEDULER_QUERY_REQUEST__QUERY_RATE_REGION_CODE: {
        int32_t m = q->month_yyyymm ? q->month_yyyymm : month;
        if (!sched_month_valid(m)) {
            r->error_text = m ? "month_yyyymm is not a month (YYYYMM)"
                              : "the scheduler has consumed nothing yet: no current month";
            break;
        }
        r->month_yyyymm = m;
        rc = answer_rate(db, txn, arena, m, q->rate_region_code, r);
        break;
    }
    case DOUDI__SCHEDULER_QUERY_REQUEST__QUERY_DUE_REGION_CODE:
        rc = answer_due(db, txn, arena, now_ms, limit, q->due_region_code, r);
        break;
    default:
        r->error_text = "a query names a plan_person_id, worker_id, rate_region_code or "
                        "due_region_code";
        break;
    }
    if (rc) {
        char *s = dd_arena_alloc(arena, 120);
        snprintf(s, 120, "the scheduler's state cannot be read: %s", dd_strerror(rc));
        r->error_text = s;
    }
    return rc;
}
