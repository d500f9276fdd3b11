/*
 * sched_engine.c: plans, visits, workers, the sweep and the monthly rate (see
 * sched_engine.h for the picture and the rules).
 *
 * Invariants, true at every commit:
 *   - an active plan has exactly one entry in "due" that matches it, at
 *     (next_due_ms, due_indexed_sequence), one in "sparse_due" when its
 *     tier is not due every month, and one in "township_plans" at (its
 *     township, started_at_ms); an ended plan has none that matches. "due"
 *     may also hold entries that match no plan, all at or after the sweep's
 *     watermark: the sweep drops them as it passes;
 *   - "tiers" counts every active plan once, at each level of its region,
 *     with its demand; a worker's load is the sum of the demands of the
 *     active plans assigned to it;
 *   - an active plan's worker works in the plan's township (assignment
 *     looks no further, and a worker who moves or leaves hands the plans
 *     on at once), so a worker's plans are found in "township_plans";
 *   - an active plan without a worker is listed in "unassigned";
 *   - every plan changed in a transaction was first brought to the current
 *     month (bring_to_month), so its month flags say what "rates" counted.
 * commit_plan() keeps the first four from the plan's shape before and
 * after a change; every change goes through it.
 *
 * Writes are what a batch costs (limits.md: a random insert into a large
 * tree is a page written at the commit), so commit_plan() writes an index
 * entry only when its key changes, the counters, townships and workers are
 * written once per batch (sched_db_counters_flush), the index keys append,
 * and plans go to the end of the plan journal, folded into "plans" after
 * the record that fills it (sched_plandb.h, common/journal.h).
 */
#include "sched_engine.h"

#include "alloc.h"
#include "sched_calendar.h"
#include "clock.h"
#include "diag.h"
#include "error.h"
#include "idnum.h"
#include "wiredecode.h"
#include "wireencode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Records decoded together before any of them is applied: the plan, journal
 * and worker slots of a visit report are cache misses, and started together
 * they overlap instead of each stalling its record. */
enum { APPLY_GROUP = 16 };

struct sched_engine {
    sched_db *db;
    dd_log *out;
    sched_options opt;
    dd_arena *arena;
    dd_wire_writer packed; /* an output record, encoded */
    MDB_txn *txn;
    /* The clock and the sweep, as loaded from and stored to "meta". */
    int64_t clock, swept, day;
    int32_t month;
    int64_t stored[4];
    uint64_t seq; /* eligibility's sequence of the record in progress */
    bool drop_stale_due; /* stale_due is full: empty it after this record */
    sched_batch_stats stats;
    /* A group of records decoded ahead of applying them (apply_group). */
    dd_arena *group_arena;
    ProtobufCMessage *decoded[APPLY_GROUP];
};


/*
 * How many passed-over entries of "due" gather by default before they are
 * deleted together (sched_plandb.h): a province-month forgets about a
 * million, so a few passes a month, each ten megabytes of keys in memory.
 */
enum { STALE_DUE_DROP_AT = 1 << 17 };

typedef struct plan_shape {
    bool active;
    Doudi__VisitTier tier;
    char region[13];
    int64_t due;
    uint64_t due_seq;
    int64_t started;
    bool sparse;
    char worker[65];
    int64_t load;
} plan_shape;

sched_engine *sched_engine_new(sched_db *db, dd_log *out, const sched_options *options)
{
    sched_engine *e = dd_calloc(1, sizeof(*e));
    e->db = db;
    e->out = out;
    e->opt = *options;
    if (!e->opt.stale_due_drop_at)
        e->opt.stale_due_drop_at = STALE_DUE_DROP_AT;
    e->arena = dd_arena_new(1 << 20);
    e->group_arena = dd_arena_new(1 << 16);
    return e;
}

void sched_engine_destroy(sched_engine **ep)
{
    if (!ep || !*ep)
        return;
    dd_arena_destroy(&(*ep)->arena);
    dd_arena_destroy(&(*ep)->group_arena);
    dd_wire_writer_free(&(*ep)->packed);
    free(*ep);
    *ep = NULL;
}

const sched_batch_stats *sched_engine_last_batch(const sched_engine *e) { return &e->stats; }

/* ---- small helpers ------------------------------------------------------------ */

static char *astrdup(sched_engine *e, const char *s)
{
    size_t n = strlen(s);
    char *d = dd_arena_alloc(e->arena, n + 1);
    memcpy(d, s, n + 1);
    return d;
}

static void copy_id(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* "2026-06-30 23:59" in Asia/Shanghai. */
static const char *format_time(int64_t ms, char out[32])
{
    int32_t d = dd_date_yyyymmdd_shanghai(ms);
    int64_t minutes = (ms - sched_day_start_ms(ms)) / 60000;
    snprintf(out, 32, "%04d-%02d-%02d %02d:%02d", d / 10000, d / 100 % 100, d % 100,
             (int)(minutes / 60), (int)(minutes % 60));
    return out;
}

static const char *tier_name(Doudi__VisitTier t)
{
    switch (t) {
    case DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK: return "high-risk";
    case DOUDI__VISIT_TIER__VISIT_TIER_KEY: return "key";
    case DOUDI__VISIT_TIER__VISIT_TIER_GENERAL: return "general";
    default: return "no";
    }
}

static bool valid_id(const char *s) { return s && s[0] && strlen(s) <= 64; }

static bool plan_active(const Doudi__VisitPlan *p)
{
    return p->end == DOUDI__PLAN_END__PLAN_END_NONE && sched_tier_active(p->tier);
}

static int append_msg(sched_engine *e, uint32_t kind, const ProtobufCMessage *msg)
{
    size_t len;
    const uint8_t *buf = dd_wire_encode(&e->packed, msg, &len);
    return dd_log_append(e->out, e->txn, kind, e->clock, buf, len, NULL);
}

static int raise_alert(sched_engine *e, Doudi__AlertKind kind, Doudi__AlertSeverity severity,
                       const char *person_id, const char *household_id, const char *region,
                       const char *worker_id, int64_t raised_at_ms, int64_t handle_ms,
                       const char *dedup_subject, const char *reason)
{
    Doudi__Alert a = DOUDI__ALERT__INIT;
    a.kind = kind;
    a.severity = severity;
    a.subject_person_id = (char *)(person_id ? person_id : "");
    a.household_id = (char *)(household_id ? household_id : "");
    a.region_code = (char *)region;
    a.reason = (char *)reason;
    a.raised_at_ms = raised_at_ms;
    a.handle_within_ms = handle_ms;
    a.caused_by_sequence = e->seq;
    a.assigned_worker_id = (char *)(worker_id ? worker_id : "");
    a.origin_sequence = dd_log_next(e->out);
    char key[200];
    snprintf(key, sizeof(key), "%d:%s", (int)kind, dedup_subject);
    a.dedup_key = key;
    if ((size_t)kind < sizeof(e->stats.alerts_raised) / sizeof(e->stats.alerts_raised[0]))
        e->stats.alerts_raised[kind]++;
    return append_msg(e, DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_ALERT, &a.base);
}

static int rates_add(sched_engine *e, int32_t month, const char *region, int64_t due,
                     int64_t visited, int64_t overdue)
{
    if (!sched_region_valid(region))
        return 0;
    int64_t delta[SCHED_RATE_VALUES] = {due, visited, overdue};
    return sched_db_rates_add(e->db, e->txn, month, region, delta);
}

/* ---- month bookkeeping ------------------------------------------------------------ */

/*
 * Brings a plan's month flags to the current month. A plan untouched since
 * an earlier month was counted at each month start by its state then,
 * which is its state now (every change passes through here first).
 */
static void bring_to_month(sched_engine *e, Doudi__VisitPlan *p)
{
    int32_t m = e->month;
    if (!m || p->month_yyyymm == m)
        return;
    bool active = plan_active(p);
    int32_t prev = sched_month_add(m, -1);
    if (p->month_yyyymm == prev) {
        p->previous_month_yyyymm = p->month_yyyymm;
        p->previous_month_due = p->month_due;
        p->previous_month_visited = p->month_visited;
        p->previous_month_region_code = p->month_region_code;
    } else {
        p->previous_month_yyyymm = prev;
        p->previous_month_due =
            active && p->month_yyyymm != 0 &&
            sched_cadence_due_in_month(&e->opt.cadence, p->tier, p->next_due_ms, prev);
        p->previous_month_visited = false;
        p->previous_month_region_code = p->region_code;
    }
    p->month_yyyymm = m;
    p->month_due = active && sched_cadence_due_in_month(&e->opt.cadence, p->tier, p->next_due_ms, m);
    p->month_visited = false;
    p->month_region_code = p->region_code;
}

/* Counts the person among this month's people due, if now due and not yet. */
static int count_due(sched_engine *e, Doudi__VisitPlan *p)
{
    if (p->month_due || !plan_active(p) ||
        !sched_cadence_due_in_month(&e->opt.cadence, p->tier, p->next_due_ms, e->month))
        return 0;
    p->month_due = true;
    p->month_region_code = p->region_code;
    return rates_add(e, e->month, p->region_code, 1, 0, 0);
}

/* A plan that ends before its visit this month leaves the month's count. */
static int withdraw_due(sched_engine *e, Doudi__VisitPlan *p)
{
    if (!p->month_due || p->month_visited)
        return 0;
    p->month_due = false;
    return rates_add(e, e->month, p->month_region_code, -1, 0, 0);
}

static int move_due(sched_engine *e, Doudi__VisitPlan *p, const char *region)
{
    if (!p->month_due || p->month_visited || strcmp(p->month_region_code, region) == 0)
        return 0;
    int rc = rates_add(e, e->month, p->month_region_code, -1, 0, 0);
    if (!rc)
        rc = rates_add(e, e->month, region, 1, 0, 0);
    p->month_region_code = (char *)region;
    return rc;
}

/* ---- plans: load, shape, commit ----------------------------------------------------- */

static int load_plan(sched_engine *e, const char *person_id, Doudi__VisitPlan **out)
{
    int rc = sched_db_get_plan(e->db, e->txn, person_id, e->arena, out);
    if (rc == 0)
        bring_to_month(e, *out);
    return rc;
}

static void shape_of(sched_engine *e, const Doudi__VisitPlan *p, plan_shape *s)
{
    memset(s, 0, sizeof(*s));
    if (!p)
        return;
    s->active = plan_active(p);
    s->tier = p->tier;
    copy_id(s->region, sizeof(s->region), p->region_code);
    s->due = p->next_due_ms;
    s->due_seq = p->due_indexed_sequence;
    s->started = p->started_at_ms;
    s->sparse = s->active && !sched_cadence_every_month(&e->opt.cadence, p->tier);
    copy_id(s->worker, sizeof(s->worker), p->worker_id);
    s->load = p->load_millivisits;
}

static int charge_worker(sched_engine *e, const char *worker_id, int64_t load, int32_t plans)
{
    Doudi__RosterWorker *w;
    int rc = sched_db_get_worker(e->db, e->txn, worker_id, e->arena, &w);
    if (rc == DD_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    w->load_millivisits += load;
    w->plans += plans;
    return sched_db_put_worker(e->db, e->txn, w, e->arena);
}

static size_t pair_key(char *key, const char *a, const char *b, bool nul)
{
    size_t la = strlen(a), lb = strlen(b);
    memcpy(key, a, la);
    if (nul)
        key[la++] = '\0';
    memcpy(key + la, b, lb);
    return la + lb;
}

static int overdue(sched_engine *e, Doudi__VisitPlan *p);

/* Writes a changed plan and keeps every index and counter in step with it. */
static int commit_plan(sched_engine *e, const plan_shape *b, Doudi__VisitPlan *p)
{
    p->load_millivisits = plan_active(p) ? sched_cadence_demand(&e->opt.cadence, p->tier) : 0;
    if (!plan_active(p))
        p->worker_id = "";
    plan_shape a;
    shape_of(e, p, &a);
    const char *id = p->person_id;
    bool region_changed = strcmp(a.region, b->region) != 0;
    int rc = 0;
    bool index_changed = a.active != b->active || a.due != b->due || a.sparse != b->sparse ||
                         a.tier != b->tier || region_changed;
    if (index_changed && b->active) {
        /* An entry the sweep has yet to pass is left for it to drop (its
         * plan no longer matches it); one behind the sweep would stay, so
         * it is named in stale_due and deleted with others later, except
         * an entry this record wrote: the record may write its key again. */
        if (b->due < e->swept) {
            uint64_t pending = 0;
            rc = b->due_seq == e->seq
                     ? sched_db_due_del(e->db, e->txn, false, b->due, b->due_seq, id)
                     : sched_db_due_forget(e->db, e->txn, b->due, b->due_seq, id, &pending);
            if (rc)
                return rc;
            if (pending >= e->opt.stale_due_drop_at)
                e->drop_stale_due = true;
        }
        if (b->sparse && (rc = sched_db_due_del(e->db, e->txn, true, b->due, b->due_seq, id)))
            return rc;
    }
    if (index_changed && a.active) {
        p->due_indexed_sequence = e->seq;
        if ((rc = sched_db_due_put(e->db, e->txn, false, a.due, e->seq, id, a.region, a.tier)))
            return rc;
        if (a.sparse &&
            (rc = sched_db_due_put(e->db, e->txn, true, a.due, e->seq, id, a.region, a.tier)))
            return rc;
    }
    if (!a.active)
        p->due_indexed_sequence = 0;
    bool township_changed = memcmp(a.region, b->region, 9) != 0;
    if (a.active != b->active || a.started != b->started || township_changed) {
        if (b->active &&
            (rc = sched_db_township_plan_del(e->db, e->txn, b->region, b->started, id)))
            return rc;
        if (a.active &&
            (rc = sched_db_township_plan_put(e->db, e->txn, a.region, a.started, id)))
            return rc;
    }
    if (a.active != b->active || a.tier != b->tier || region_changed || a.load != b->load) {
        if (b->active && (rc = sched_db_tiers_add(e->db, e->txn, b->region, b->tier, -1, -b->load)))
            return rc;
        if (a.active && (rc = sched_db_tiers_add(e->db, e->txn, a.region, a.tier, 1, a.load)))
            return rc;
    }
    bool bc = b->active && b->worker[0], ac = a.active && a.worker[0];
    if (bc != ac || (bc && (strcmp(a.worker, b->worker) != 0 || a.load != b->load))) {
        if (bc && (rc = charge_worker(e, b->worker, -b->load, -1)))
            return rc;
        if (ac && (rc = charge_worker(e, a.worker, a.load, 1)))
            return rc;
    }
    bool bu = b->active && !b->worker[0], au = a.active && !a.worker[0];
    if (bu != au || (bu && region_changed)) {
        char key[80];
        if (bu && (rc = sched_db_del(e->db, e->txn, SCHED_DB_UNASSIGNED, key,
                                     pair_key(key, b->region, id, false))))
            return rc;
        if (au && (rc = sched_db_put(e->db, e->txn, SCHED_DB_UNASSIGNED, key,
                                     pair_key(key, a.region, id, false), "", 0)))
            return rc;
    }
    /* A due time already behind the sweep is overdue now (once). */
    if (a.active && a.due < e->swept && !p->overdue_alerted && (rc = overdue(e, p)))
        return rc;
    p->changed_by_sequence = e->seq;
    return sched_db_put_plan(e->db, e->txn, p);
}

static void set_due(Doudi__VisitPlan *p, int64_t due_ms, bool urgent)
{
    if (p->next_due_ms != due_ms)
        p->overdue_alerted = false;
    p->next_due_ms = due_ms;
    p->urgent = urgent;
}

static int plan_change(sched_engine *e, const Doudi__VisitPlan *p, const char *previous_region,
                       Doudi__VisitTier previous_tier, const char *reason)
{
    Doudi__PlanChange c = DOUDI__PLAN_CHANGE__INIT;
    c.person_id = p->person_id;
    c.region_code = p->region_code;
    c.previous_region_code = (char *)(previous_region ? previous_region : "");
    c.tier = plan_active(p) ? p->tier : DOUDI__VISIT_TIER__VISIT_TIER_NONE;
    c.previous_tier = previous_tier;
    c.end = p->end;
    c.next_due_ms = plan_active(p) ? p->next_due_ms : 0;
    c.worker_id = p->worker_id;
    c.reason = (char *)reason;
    c.changed_at_ms = e->clock;
    c.caused_by_sequence = e->seq;
    return append_msg(e, DOUDI__SCHEDULER_RECORD_KIND__SCHEDULER_RECORD_KIND_PLAN_CHANGE, &c.base);
}

/* ---- workers and assignment ------------------------------------------------------------ */

static bool children_plan(const Doudi__VisitPlan *p)
{
    if (p->n_categories == 0)
        return false;
    for (size_t i = 0; i < p->n_categories; i++)
        if (p->categories[i] != DOUDI__CARE_CATEGORY__CARE_CATEGORY_CHILD_IN_DIFFICULTY &&
            p->categories[i] != DOUDI__CARE_CATEGORY__CARE_CATEGORY_LEFT_BEHIND_CHILD)
            return false;
    return true;
}

typedef struct pick_job {
    sched_engine *e;
    bool children;
    int64_t demand;
    const char *exclude;
    char best[65];
    int64_t best_load, best_cap;
    int rc;
} pick_job;

static int pick_cb(void *arg, const MDB_val *key, const MDB_val *value)
{
    (void)value;
    pick_job *j = arg;
    if (key->mv_size <= 12 || key->mv_size > 12 + 64)
        return 0;
    char id[65];
    memcpy(id, (const char *)key->mv_data + 12, key->mv_size - 12);
    id[key->mv_size - 12] = '\0';
    if (j->exclude && strcmp(id, j->exclude) == 0)
        return 0;
    Doudi__RosterWorker *w;
    int rc = sched_db_get_worker(j->e->db, j->e->txn, id, j->e->arena, &w);
    if (rc == DD_NOTFOUND)
        return 0;
    if (rc) {
        j->rc = rc;
        return 1;
    }
    bool director = w->role == DOUDI__WORKER_ROLE__WORKER_ROLE_CHILDREN_DIRECTOR;
    if (!w->active || director != j->children || w->monthly_visit_capacity <= 0)
        return 0;
    int64_t cap = (int64_t)w->monthly_visit_capacity * 1000;
    if (w->load_millivisits + j->demand > cap)
        return 0;
    /* Least loaded relative to capacity; the smaller id on a tie. */
    if (j->best[0]) {
        __int128 mine = (__int128)w->load_millivisits * j->best_cap;
        __int128 theirs = (__int128)j->best_load * cap;
        if (mine > theirs || (mine == theirs && strcmp(id, j->best) >= 0))
            return 0;
    }
    copy_id(j->best, sizeof(j->best), id);
    j->best_load = w->load_millivisits;
    j->best_cap = cap;
    return 0;
}

/* The worker of the same village, else the same township, with room. */
static int pick_worker(sched_engine *e, const Doudi__VisitPlan *p, const char *exclude,
                       char out[65])
{
    pick_job j = {.e = e, .children = children_plan(p),
                  .demand = sched_cadence_demand(&e->opt.cadence, p->tier), .exclude = exclude};
    out[0] = '\0';
    if (!sched_region_valid(p->region_code))
        return 0;
    for (int len = 12; len >= 9; len -= 3) {
        int rc = sched_db_scan_prefix(e->db, e->txn, SCHED_DB_WORKER_REGIONS, p->region_code,
                                      (size_t)len, pick_cb, &j);
        if (rc || j.rc)
            return rc ? rc : j.rc;
        if (j.best[0])
            break;
    }
    copy_id(out, 65, j.best);
    return 0;
}

/*
 * Gives the plan the best worker (excluding `exclude`) and says so in a
 * VisitAssignment when the worker changed (or always, with `always`).
 */
static int assign(sched_engine *e, Doudi__VisitPlan *p, const char *reason, const char *exclude,
                  bool always)
{
    char chosen[65];
    int rc = pick_worker(e, p, exclude, chosen);
    if (rc)
        return rc;
    if (!always && strcmp(chosen, p->worker_id) == 0)
        return 0;
    Doudi__VisitAssignment a = DOUDI__VISIT_ASSIGNMENT__INIT;
    a.person_id = p->person_id;
    a.region_code = p->region_code;
    a.worker_id = astrdup(e, chosen);
    a.previous_worker_id = p->worker_id;
    a.reason = (char *)reason;
    a.next_due_ms = p->next_due_ms;
    a.assigned_at_ms = e->clock;
    a.caused_by_sequence = e->seq;
    p->worker_id = a.worker_id;
    if (chosen[0])
        e->stats.assignments++;
    else
        e->stats.unassigned++;
    return append_msg(e, DOUDI__SCHEDULER_RECORD_KIND__SCHEDULER_RECORD_KIND_ASSIGNMENT, &a.base);
}

typedef struct id_list {
    char (*ids)[65];
    size_t n, cap;
    size_t skip; /* bytes of key before the id */
} id_list;

static int collect_cb(void *arg, const MDB_val *key, const MDB_val *value)
{
    (void)value;
    id_list *l = arg;
    if (key->mv_size <= l->skip || key->mv_size - l->skip > 64)
        return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->ids = dd_realloc(l->ids, l->cap * sizeof(*l->ids));
    }
    size_t n = key->mv_size - l->skip;
    memcpy(l->ids[l->n], (const char *)key->mv_data + l->skip, n);
    l->ids[l->n][n] = '\0';
    l->n++;
    return 0;
}

typedef struct worker_plans_job {
    sched_engine *e;
    const char *worker_id;
    id_list ids;
    int rc;
} worker_plans_job;

static int worker_plan_cb(void *arg, const char *person_id)
{
    worker_plans_job *j = arg;
    Doudi__VisitPlan *p;
    int rc = sched_db_get_plan(j->e->db, j->e->txn, person_id, j->e->arena, &p);
    if (rc == DD_NOTFOUND)
        return 0;
    if (rc) {
        j->rc = rc;
        return 1;
    }
    if (plan_active(p) && strcmp(p->worker_id, j->worker_id) == 0) {
        id_list *l = &j->ids;
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 64;
            l->ids = dd_realloc(l->ids, l->cap * sizeof(*l->ids));
        }
        copy_id(l->ids[l->n++], sizeof(l->ids[0]), person_id);
    }
    return 0;
}

/*
 * Re-assigns every plan of a worker who left or moved; region is where the
 * worker worked until now (its township holds the worker's plans).
 */
static int reassign_worker_plans(sched_engine *e, const char *worker_id, const char *region,
                                 const char *reason, const char *exclude)
{
    if (!sched_region_valid(region))
        return 0;
    worker_plans_job j = {.e = e, .worker_id = worker_id};
    int rc = sched_db_township_plans_scan(e->db, e->txn, region, 9, worker_plan_cb, &j);
    if (!rc)
        rc = j.rc;
    id_list l = j.ids;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        Doudi__VisitPlan *p;
        rc = load_plan(e, l.ids[i], &p);
        if (rc == DD_NOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc)
            break;
        plan_shape before;
        shape_of(e, p, &before);
        if ((rc = assign(e, p, reason, exclude, false)) == 0)
            rc = commit_plan(e, &before, p);
    }
    free(l.ids);
    return rc;
}

/* Plans of a township nobody had room for, tried again (capacity appeared). */
static int assign_waiting(sched_engine *e, const char *region12)
{
    id_list l = {.skip = 12};
    int rc = sched_db_scan_prefix(e->db, e->txn, SCHED_DB_UNASSIGNED, region12, 9, collect_cb, &l);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        Doudi__VisitPlan *p;
        rc = load_plan(e, l.ids[i], &p);
        if (rc == DD_NOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc)
            break;
        plan_shape before;
        shape_of(e, p, &before);
        if ((rc = assign(e, p, "capacity", NULL, false)) == 0)
            rc = commit_plan(e, &before, p);
    }
    free(l.ids);
    return rc;
}

static int township_add(sched_engine *e, const char *region, int64_t capacity, int64_t workers)
{
    sched_township t;
    int rc = sched_db_township_get(e->db, e->txn, region, &t);
    if (rc)
        return rc;
    t.capacity += capacity;
    t.workers += workers;
    return sched_db_township_put(e->db, e->txn, region, &t);
}

static int reject(sched_engine *e, const char *what, const char *why)
{
    e->stats.rejected++;
    dd_warn("eligibility record %llu (%s) refused: %s", (unsigned long long)e->seq, what, why);
    return 0;
}

static int apply_roster(sched_engine *e, const Doudi__Envelope *env)
{
    const Doudi__RosterChange *r = env->roster_change;
    if (!valid_id(r->worker_id))
        return reject(e, "roster change", "worker_id is not 1 to 64 bytes");
    if (!sched_region_valid(env->region_code))
        return reject(e, "roster change", "region_code is not 12 digits");
    if (r->action < DOUDI__ROSTER_ACTION__ROSTER_ACTION_JOINED ||
        r->action > DOUDI__ROSTER_ACTION__ROSTER_ACTION_LEFT)
        return reject(e, "roster change", "unknown roster action");
    bool leaving = r->action == DOUDI__ROSTER_ACTION__ROSTER_ACTION_LEFT;
    if (!leaving && (r->role < DOUDI__WORKER_ROLE__WORKER_ROLE_TOWNSHIP_SOCIAL_WORKER ||
                     r->role > DOUDI__WORKER_ROLE__WORKER_ROLE_CHILDREN_DIRECTOR))
        return reject(e, "roster change", "unknown worker role");
    if (r->monthly_visit_capacity < 0 || r->monthly_visit_capacity > 100000)
        return reject(e, "roster change", "monthly_visit_capacity outside 0..100000");

    Doudi__RosterWorker *w;
    int rc = sched_db_get_worker(e->db, e->txn, r->worker_id, e->arena, &w);
    if (rc && rc != DD_NOTFOUND)
        return rc;
    bool known = rc == 0, was_active = known && w->active;
    char key[80];
    if (leaving) {
        if (!was_active)
            return 0;
        w->active = false;
        w->changed_at_ms = e->clock;
        if ((rc = sched_db_del(e->db, e->txn, SCHED_DB_WORKER_REGIONS, key,
                               pair_key(key, w->region_code, w->worker_id, false))) ||
            (rc = township_add(e, w->region_code, -w->monthly_visit_capacity, -1)) ||
            (rc = sched_db_put_worker(e->db, e->txn, w, e->arena)))
            return rc;
        return reassign_worker_plans(e, r->worker_id, w->region_code, "worker left",
                                     r->worker_id);
    }
    if (!known) {
        w = dd_arena_alloc(e->arena, sizeof(*w));
        doudi__roster_worker__init(w);
        w->worker_id = r->worker_id;
        w->region_code = env->region_code;
    }
    bool moved = was_active && strcmp(w->region_code, env->region_code) != 0;
    const char *old_region = w->region_code;
    if (was_active) {
        if ((rc = township_add(e, w->region_code, -w->monthly_visit_capacity, -1)))
            return rc;
        if (moved && (rc = sched_db_del(e->db, e->txn, SCHED_DB_WORKER_REGIONS, key,
                                        pair_key(key, w->region_code, w->worker_id, false))))
            return rc;
    }
    w->region_code = env->region_code;
    w->role = r->role;
    w->monthly_visit_capacity = r->monthly_visit_capacity;
    w->active = true;
    w->changed_at_ms = e->clock;
    if ((rc = sched_db_put(e->db, e->txn, SCHED_DB_WORKER_REGIONS, key,
                           pair_key(key, w->region_code, w->worker_id, false), "", 0)) ||
        (rc = township_add(e, w->region_code, w->monthly_visit_capacity, 1)) ||
        (rc = sched_db_put_worker(e->db, e->txn, w, e->arena)))
        return rc;
    if (moved &&
        (rc = reassign_worker_plans(e, r->worker_id, old_region, "worker moved", NULL)))
        return rc;
    return assign_waiting(e, w->region_code);
}

/* ---- alerts ------------------------------------------------------------------------ */

static int overdue(sched_engine *e, Doudi__VisitPlan *p)
{
    char township[13], when[32], reason[300];
    sched_township_code(p->region_code, township);
    snprintf(reason, sizeof(reason), "the %s visit to %s due by %s has not been made%s%s", tier_name(p->tier),
             p->person_id, format_time(p->next_due_ms, when),
             p->worker_id[0] ? "; assigned worker " : "; no worker assigned",
             p->worker_id[0] ? p->worker_id : "");
    int64_t raised = p->next_due_ms + 1 > e->clock ? p->next_due_ms + 1 : e->clock;
    int rc = raise_alert(e, DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE,
                         DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING, p->person_id,
                         p->household_id, township, p->worker_id, raised,
                         e->opt.overdue_handle_ms, p->person_id, reason);
    if (rc)
        return rc;
    p->overdue_alerted = true;
    return rates_add(e, e->month, p->region_code, 0, 0, 1);
}

typedef struct sweep_job {
    sched_engine *e;
    int rc;
} sweep_job;

/*
 * One entry the sweep passes: the plan's current due time is overdue now
 * (once); an entry its plan no longer matches is dropped.
 */
static int sweep_cb(void *arg, const sched_due_entry *entry)
{
    sweep_job *j = arg;
    sched_engine *e = j->e;
    Doudi__VisitPlan *p;
    int rc = load_plan(e, entry->person_id, &p);
    if (rc == DD_NOTFOUND)
        return SCHED_DUE_DELETE;
    if (rc == 0 && !(plan_active(p) && p->next_due_ms == entry->due_ms &&
                     p->due_indexed_sequence == entry->sequence)) {
        dd_arena_reset(e->arena);
        return SCHED_DUE_DELETE;
    }
    if (rc == 0 && !p->overdue_alerted) {
        if ((rc = overdue(e, p)) == 0)
            rc = sched_db_put_plan(e->db, e->txn, p);
    }
    /* The sweep runs before the record is decoded: nothing else lives in
     * the arena, and a month end passes a million plans. */
    dd_arena_reset(e->arena);
    if (rc) {
        j->rc = rc;
        return 1;
    }
    return 0;
}

/* Every visit due before `until` that was not made is overdue: once. */
static int sweep(sched_engine *e, int64_t until)
{
    if (until <= e->swept)
        return 0;
    int64_t t0 = dd_monotonic_ns();
    sweep_job j = {e, 0};
    int rc = sched_db_due_scan(e->db, e->txn, false, e->swept, until, sweep_cb, &j);
    if (!rc)
        rc = j.rc;
    e->swept = until;
    e->stats.sweeps++;
    e->stats.sweep_ns += dd_monotonic_ns() - t0;
    return rc;
}

/* ---- midnights and month starts ------------------------------------------------------ */

typedef struct month_job {
    sched_engine *e;
    int rc;
} month_job;

static int month_tiers_cb(void *arg, const MDB_val *key, const MDB_val *value)
{
    month_job *j = arg;
    sched_engine *e = j->e;
    if (value->mv_size != SCHED_TIERS_VALUES * sizeof(int64_t) || key->mv_size > 12)
        return 0;
    int64_t v[SCHED_TIERS_VALUES];
    memcpy(v, value->mv_data, sizeof(v));
    int64_t every = 0;
    for (int t = 0; t < SCHED_TIER_SLOTS; t++)
        if (sched_cadence_every_month(&e->opt.cadence, (Doudi__VisitTier)t))
            every += v[t];
    if (!every)
        return 0;
    int64_t delta[SCHED_RATE_VALUES] = {every, 0, 0};
    j->rc = sched_db_rates_add_prefix(e->db, e->txn, e->month, key->mv_data, key->mv_size, delta);
    return j->rc ? 1 : 0;
}

static int month_sparse_cb(void *arg, const sched_due_entry *entry)
{
    month_job *j = arg;
    j->rc = rates_add(j->e, j->e->month, entry->region, 1, 0, 0);
    return j->rc ? 1 : 0;
}

/*
 * A new month: everyone of an every-month tier is due, and everyone else
 * whose visit is owed by the month's end. Counted from "tiers" and
 * "sparse_due", without touching the plans (bring_to_month catches each
 * plan up when it next changes).
 */
static int month_start(sched_engine *e, int32_t month)
{
    e->month = month;
    month_job j = {e, 0};
    /* The scan reads "tiers" as stored: what this batch added goes in first. */
    int rc = sched_db_counters_flush(e->db, e->txn);
    if (!rc)
        rc = sched_db_scan_prefix(e->db, e->txn, SCHED_DB_TIERS, "", 0, month_tiers_cb, &j);
    if (!rc && !j.rc)
        rc = sched_db_due_scan(e->db, e->txn, true, INT64_MIN, sched_month_end_ms(month) + 1,
                               month_sparse_cb, &j);
    return rc ? rc : j.rc;
}

typedef struct day_job {
    sched_engine *e;
    int day, days_left, days_in_month;
    int rc;
} day_job;

static int day_township_cb(void *arg, const MDB_val *key, const MDB_val *value)
{
    day_job *j = arg;
    sched_engine *e = j->e;
    if (key->mv_size != 9 || value->mv_size != SCHED_TIERS_VALUES * sizeof(int64_t))
        return 0;
    char region[13], township[13];
    memcpy(region, key->mv_data, 9);
    memcpy(region + 9, "000", 4);
    memcpy(township, region, 13);
    int64_t v[SCHED_TIERS_VALUES];
    memcpy(v, value->mv_data, sizeof(v));
    sched_township t;
    int rc = sched_db_township_get(e->db, e->txn, region, &t);
    bool dirty = false;
    char text[400];
    int64_t demand = (v[SCHED_TIERS_DEMAND] + 999) / 1000;
    if (!rc && t.understaffed_month != e->month && demand > t.capacity) {
        snprintf(text, sizeof(text),
                 "township %.9s needs %lld visits a month (%lld high-risk, %lld key, %lld general "
                 "plans) but its %lld workers can make %lld",
                 region, (long long)demand, (long long)v[DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK],
                 (long long)v[DOUDI__VISIT_TIER__VISIT_TIER_KEY],
                 (long long)v[DOUDI__VISIT_TIER__VISIT_TIER_GENERAL], (long long)t.workers,
                 (long long)t.capacity);
        char subject[40];
        snprintf(subject, sizeof(subject), "%.9s:%d", region, e->month);
        rc = raise_alert(e, DOUDI__ALERT_KIND__ALERT_KIND_UNDERSTAFFED,
                         DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING, "", "", township, "",
                         e->clock, e->opt.understaffed_handle_ms, subject, text);
        t.understaffed_month = e->month;
        dirty = true;
    }
    if (!rc && j->day >= e->opt.forecast_from_day && t.forecast_month != e->month) {
        int64_t r[SCHED_RATE_VALUES];
        char prefix[10];
        memcpy(prefix, region, 9);
        prefix[9] = '\0';
        rc = sched_db_rates_get(e->db, e->txn, e->month, prefix, r);
        int64_t remaining = r[SCHED_RATE_DUE] - r[SCHED_RATE_VISITED];
        int64_t done = t.visits_month == e->month ? t.visits_done : 0;
        int64_t left = t.capacity - done;
        int64_t pro_rata = t.capacity * j->days_left / j->days_in_month;
        if (pro_rata < left)
            left = pro_rata;
        if (left < 0)
            left = 0;
        if (!rc && remaining > left) {
            snprintf(text, sizeof(text),
                     "township %.9s: %lld of %lld people due this month are not visited yet, and "
                     "its %lld workers can make about %lld visits in the %d days left",
                     region, (long long)remaining, (long long)r[SCHED_RATE_DUE],
                     (long long)t.workers, (long long)left, j->days_left);
            char subject[40];
            snprintf(subject, sizeof(subject), "%.9s:%d", region, e->month);
            rc = raise_alert(e, DOUDI__ALERT_KIND__ALERT_KIND_FORECAST_MISS,
                             DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING, "", "", township, "",
                             e->clock, e->opt.forecast_handle_ms, subject, text);
            t.forecast_month = e->month;
            dirty = true;
        }
    }
    if (!rc && dirty)
        rc = sched_db_township_put(e->db, e->txn, region, &t);
    if (rc) {
        j->rc = rc;
        return 1;
    }
    return 0;
}

/* A Shanghai midnight: understaffing and forecast checks, township by township. */
static int day_checks(sched_engine *e, int64_t day_start)
{
    day_job j = {.e = e, .day = sched_day_of_month(day_start),
                 .days_in_month = sched_days_in_month(e->month)};
    j.days_left = j.days_in_month - j.day + 1;
    int rc = sched_db_counters_flush(e->db, e->txn);
    if (!rc)
        rc = sched_db_scan_prefix(e->db, e->txn, SCHED_DB_TIERS, "", 0, day_township_cb, &j);
    return rc ? rc : j.rc;
}

static int advance_to(sched_engine *e, int64_t now)
{
    if (e->month == 0) {
        /* The first record: the calendar starts here; nothing exists yet. */
        if (now <= 0)
            return 0;
        e->month = sched_month_of(now);
        e->day = sched_day_start_ms(now);
        e->swept = e->clock = now;
        return 0;
    }
    if (now <= e->clock)
        return 0;
    int rc;
    for (;;) {
        int64_t next_day = e->day + SCHED_DAY_MS;
        if (next_day > now)
            break;
        if ((rc = sweep(e, next_day)))
            return rc;
        e->clock = next_day;
        int32_t m = sched_month_of(next_day);
        if (m != e->month && (rc = month_start(e, m)))
            return rc;
        e->day = next_day;
        if ((rc = day_checks(e, next_day)))
            return rc;
    }
    if ((rc = sweep(e, now)))
        return rc;
    e->clock = now;
    return 0;
}

/* ---- records ----------------------------------------------------------------------- */

static bool major_change(Doudi__RiskKind k)
{
    return k == DOUDI__RISK_KIND__RISK_KIND_HOSPITAL_DISCHARGE ||
           k == DOUDI__RISK_KIND__RISK_KIND_SPOUSE_DIED ||
           k == DOUDI__RISK_KIND__RISK_KIND_HOUSEHOLD_MEMBER_DIED ||
           k == DOUDI__RISK_KIND__RISK_KIND_DISASTER;
}

static void set_categories(sched_engine *e, Doudi__VisitPlan *p, const Doudi__CareChange *cc)
{
    p->n_categories = cc->n_categories;
    p->categories = dd_arena_alloc(e->arena, (cc->n_categories + 1) * sizeof(*p->categories));
    for (size_t i = 0; i < cc->n_categories; i++)
        p->categories[i] = cc->categories[i];
    p->household_id = cc->household_id;
}

static int apply_care(sched_engine *e, const Doudi__CareChange *cc)
{
    if (!valid_id(cc->person_id))
        return reject(e, "care change", "person_id is not 1 to 64 bytes");
    bool ending = cc->deceased || !sched_tier_active(cc->tier);
    if (!ending && !sched_region_valid(cc->region_code))
        return reject(e, "care change", "region_code is not 12 digits");
    Doudi__VisitPlan *p = NULL;
    int rc = load_plan(e, cc->person_id, &p);
    if (rc && rc != DD_NOTFOUND)
        return rc;
    plan_shape before;
    shape_of(e, rc == 0 ? p : NULL, &before);
    int64_t event_ms = cc->occurred_at_ms > 0 && cc->occurred_at_ms <= e->clock ? cc->occurred_at_ms : e->clock;
    char reason[400];

    if (ending) {
        if (!p || !plan_active(p))
            return 0;
        Doudi__VisitTier old = p->tier;
        if ((rc = withdraw_due(e, p)))
            return rc;
        p->end = cc->deceased ? DOUDI__PLAN_END__PLAN_END_DECEASED
                              : DOUDI__PLAN_END__PLAN_END_LEFT_CATEGORIES;
        p->ended_at_ms = e->clock;
        p->urgent = false;
        set_categories(e, p, cc);
        if ((rc = commit_plan(e, &before, p)))
            return rc;
        e->stats.plans_ended++;
        snprintf(reason, sizeof(reason), "plan ended: %s", cc->reason);
        return plan_change(e, p, NULL, old, reason);
    }

    if (!p || !plan_active(p)) {
        Doudi__VisitTier old = DOUDI__VISIT_TIER__VISIT_TIER_NONE;
        if (!p) {
            p = dd_arena_alloc(e->arena, sizeof(*p));
            doudi__visit_plan__init(p);
            p->person_id = cc->person_id;
            p->month_yyyymm = e->month;
            p->month_region_code = cc->region_code;
            p->previous_month_yyyymm = sched_month_add(e->month, -1);
            p->previous_month_region_code = cc->region_code;
        }
        p->end = DOUDI__PLAN_END__PLAN_END_NONE;
        p->tier = cc->tier;
        p->region_code = cc->region_code;
        set_categories(e, p, cc);
        p->started_at_ms = e->clock;
        p->ended_at_ms = 0;
        p->danger_found = false;
        int64_t due = sched_cadence_first_due(&e->opt.cadence, p->tier, e->clock);
        bool urgent = false;
        if (cc->visit_within_24h && event_ms + e->opt.cadence.urgent_ms < due) {
            due = event_ms + e->opt.cadence.urgent_ms;
            urgent = true;
            e->stats.urgent_visits++;
        }
        set_due(p, due, urgent);
        p->overdue_alerted = false;
        if ((rc = count_due(e, p)) || (rc = assign(e, p, "new plan", NULL, true)) ||
            (rc = commit_plan(e, &before, p)))
            return rc;
        e->stats.plans_started++;
        snprintf(reason, sizeof(reason), "%s plan: %s", tier_name(p->tier), cc->reason);
        return plan_change(e, p, NULL, old, reason);
    }

    Doudi__VisitTier old_tier = p->tier;
    char *old_region = p->region_code;
    bool moved = strcmp(p->region_code, cc->region_code) != 0;
    bool retiered = p->tier != cc->tier;
    bool urgent_now = false;
    set_categories(e, p, cc);
    if (moved) {
        if ((rc = move_due(e, p, cc->region_code)))
            return rc;
        p->region_code = cc->region_code;
        e->stats.moves++;
    }
    if (retiered) {
        p->tier = cc->tier;
        int64_t due = sched_cadence_after_change(&e->opt.cadence, p->tier, p->last_visit_ms, e->clock);
        if (p->urgent && p->next_due_ms < due)
            due = p->next_due_ms; /* an urgent visit still stands */
        set_due(p, due, p->urgent && due == p->next_due_ms);
        e->stats.tier_changes++;
    }
    if (cc->visit_within_24h && event_ms + e->opt.cadence.urgent_ms < p->next_due_ms) {
        set_due(p, event_ms + e->opt.cadence.urgent_ms, true);
        urgent_now = true;
        e->stats.urgent_visits++;
    }
    if ((rc = count_due(e, p)))
        return rc;
    if (moved && (rc = assign(e, p, "person moved", NULL, false)))
        return rc;
    if ((rc = commit_plan(e, &before, p)))
        return rc;
    if (!moved && !retiered && !urgent_now)
        return 0;
    snprintf(reason, sizeof(reason), "%s%s", urgent_now ? "a visit within 24 hours: " : "",
             cc->reason);
    return plan_change(e, p, moved ? old_region : NULL, old_tier, reason);
}

static int keep_unmatched(sched_engine *e, const Doudi__LogRecord *rec, const Doudi__Envelope *env,
                          const char *why)
{
    Doudi__UnmatchedVisitReport u = DOUDI__UNMATCHED_VISIT_REPORT__INIT;
    u.sequence = rec->sequence;
    u.reason = (char *)why;
    u.envelope.data = rec->payload.data;
    u.envelope.len = rec->payload.len;
    size_t len = doudi__unmatched_visit_report__get_packed_size(&u);
    uint8_t *buf = dd_arena_alloc(e->arena, len ? len : 1);
    doudi__unmatched_visit_report__pack(&u, buf);
    int rc = sched_db_put(e->db, e->txn, SCHED_DB_UNMATCHED, &rec->sequence,
                          sizeof(rec->sequence), buf, len);
    if (rc)
        return rc;
    e->stats.unmatched_reports++;
    const Doudi__VisitReport *v = env->visit_report;
    char text[300], subject[140];
    snprintf(text, sizeof(text), "visit report %s by %s kept unmatched: %s", v->visit_id,
             v->worker_id, why);
    snprintf(subject, sizeof(subject), "%s", v->visit_id);
    const char *region = sched_region_valid(env->region_code) ? env->region_code : "";
    return raise_alert(e, DOUDI__ALERT_KIND__ALERT_KIND_UNMATCHED_VISIT_REPORT,
                       DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_INFO, v->subject_person_id, "", region,
                       v->worker_id, e->clock, e->opt.unmatched_handle_ms, subject, text);
}

static bool visit_counts(const sched_engine *e, Doudi__VisitOutcome o, Doudi__VisitTier tier)
{
    switch (o) {
    case DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_VISITED: return true;
    case DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_BY_PHONE_OR_VIDEO:
        return e->opt.phone_counts_up_to > 0 && (int)tier <= e->opt.phone_counts_up_to;
    case DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_REFUSED: return e->opt.refused_counts;
    default: return false;
    }
}

/* A counted visit at t: the month's rate, the worker's tally, the next due time. */
static int count_visit(sched_engine *e, Doudi__VisitPlan *p, int64_t t,
                       const Doudi__RosterWorker *reporter)
{
    int rc = 0;
    int32_t vm = sched_month_of(t);
    if (vm == p->month_yyyymm) {
        if (p->month_due && !p->month_visited) {
            p->month_visited = true;
            rc = rates_add(e, vm, p->month_region_code, 0, 1, 0);
        }
    } else if (vm == p->previous_month_yyyymm) {
        if (p->previous_month_due && !p->previous_month_visited) {
            p->previous_month_visited = true;
            rc = rates_add(e, vm, p->previous_month_region_code, 0, 1, 0);
        }
    } else {
        e->stats.late_visits++;
    }
    if (rc)
        return rc;
    if (reporter && vm == e->month) {
        sched_township tw;
        if ((rc = sched_db_township_get(e->db, e->txn, reporter->region_code, &tw)))
            return rc;
        if (tw.visits_month != e->month) {
            tw.visits_month = e->month;
            tw.visits_done = 0;
        }
        tw.visits_done++;
        if ((rc = sched_db_township_put(e->db, e->txn, reporter->region_code, &tw)))
            return rc;
    }
    e->stats.visits_counted++;
    if (t >= p->last_visit_ms) {
        p->last_visit_ms = t;
        set_due(p, sched_cadence_after_visit(&e->opt.cadence, p->tier, t), false);
    }
    return 0;
}

static int apply_visit(sched_engine *e, const Doudi__LogRecord *rec, const Doudi__Envelope *env)
{
    const Doudi__VisitReport *v = env->visit_report;
    if (!valid_id(v->subject_person_id))
        return reject(e, "visit report", "subject_person_id is not 1 to 64 bytes");
    int64_t t = v->visited_at_ms;
    if (t <= 0 || t > e->clock)
        t = env->occurred_at_ms > 0 && env->occurred_at_ms <= e->clock ? env->occurred_at_ms : e->clock;
    Doudi__RosterWorker *reporter = NULL;
    int rc = valid_id(v->worker_id)
                 ? sched_db_get_worker(e->db, e->txn, v->worker_id, e->arena, &reporter)
                 : DD_NOTFOUND;
    if (rc && rc != DD_NOTFOUND)
        return rc;
    if (reporter && !reporter->active)
        reporter = NULL;
    Doudi__VisitPlan *p = NULL;
    rc = load_plan(e, v->subject_person_id, &p);
    if (rc && rc != DD_NOTFOUND)
        return rc;
    if (!p || !plan_active(p))
        return keep_unmatched(e, rec, env, "the person has no visit plan");
    if (!reporter && (rc = keep_unmatched(e, rec, env, "the worker is not on the roster")))
        return rc;
    plan_shape before;
    shape_of(e, p, &before);
    bool danger = false;
    for (size_t i = 0; i < v->n_findings; i++)
        danger |= v->findings[i]->severity == DOUDI__FINDING_SEVERITY__FINDING_SEVERITY_DANGER;
    if (t >= p->last_report_ms) {
        p->last_report_ms = t;
        p->last_outcome = v->outcome;
    }
    Doudi__VisitTier old_tier = p->tier;
    bool counted = visit_counts(e, v->outcome, p->tier) || danger;
    if (danger && p->tier != DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK) {
        p->tier = DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK;
        e->stats.tier_changes++;
    }
    if (counted) {
        if ((rc = count_visit(e, p, t, reporter)))
            return rc;
        p->danger_found = danger;
    } else {
        e->stats.attempts++;
    }
    if (danger && p->last_visit_ms != t)
        set_due(p, sched_cadence_after_change(&e->opt.cadence, p->tier, t, e->clock), false);
    if ((rc = count_due(e, p)) || (rc = commit_plan(e, &before, p)))
        return rc;
    if (!danger)
        return 0;
    char text[700];
    size_t off = (size_t)snprintf(text, sizeof(text), "visit %s by %s found a danger:", v->visit_id,
                                  v->worker_id);
    for (size_t i = 0; i < v->n_findings && off < sizeof(text); i++)
        if (v->findings[i]->severity == DOUDI__FINDING_SEVERITY__FINDING_SEVERITY_DANGER) {
            const ProtobufCEnumValue *area = protobuf_c_enum_descriptor_get_value(
                &doudi__finding_area__descriptor, v->findings[i]->area);
            off += (size_t)snprintf(text + off, sizeof(text) - off, " %s%s%.120s",
                                    area ? area->name + strlen("FINDING_AREA_") : "UNKNOWN",
                                    v->findings[i]->note[0] ? " - " : "", v->findings[i]->note);
        }
    rc = raise_alert(e, DOUDI__ALERT_KIND__ALERT_KIND_DANGER_FOUND,
                     DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_URGENT, p->person_id, p->household_id,
                     p->region_code, p->worker_id, e->clock, e->opt.danger_handle_ms,
                     p->person_id, text);
    if (rc || old_tier == p->tier)
        return rc;
    return plan_change(e, p, NULL, old_tier, "a visit found a danger");
}

static int apply_alert(sched_engine *e, const Doudi__LogRecord *rec, Doudi__Alert *a)
{
    if (!a) {
        /* Not ours to judge: passed on as it came, and counted. */
        e->stats.undecodable++;
        return dd_log_append(e->out, e->txn, rec->kind, e->clock, rec->payload.data,
                             rec->payload.len, NULL);
    }
    Doudi__VisitPlan *p = NULL;
    int rc = valid_id(a->subject_person_id) ? load_plan(e, a->subject_person_id, &p) : DD_NOTFOUND;
    if (rc && rc != DD_NOTFOUND)
        return rc;
    if (p && plan_active(p)) {
        if (a->kind == DOUDI__ALERT_KIND__ALERT_KIND_RISK && major_change(a->risk_kind)) {
            int64_t at = a->raised_at_ms > 0 && a->raised_at_ms <= e->clock ? a->raised_at_ms : e->clock;
            int64_t due = at + e->opt.cadence.urgent_ms;
            if (due < p->next_due_ms) {
                plan_shape before;
                shape_of(e, p, &before);
                set_due(p, due, true);
                if ((rc = count_due(e, p)) || (rc = commit_plan(e, &before, p)))
                    return rc;
                e->stats.urgent_visits++;
                char text[700];
                snprintf(text, sizeof(text), "a visit within 24 hours: %s", a->reason);
                if ((rc = plan_change(e, p, NULL, p->tier, text)))
                    return rc;
            }
        }
        a->assigned_worker_id = p->worker_id;
        if (p->urgent)
            a->urgent_visit_due_ms = p->next_due_ms;
    }
    a->origin_sequence = rec->sequence;
    e->stats.alerts_passed++;
    return append_msg(e, DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_ALERT, &a->base);
}

/* The message a record of this kind carries, or NULL. */
static const ProtobufCMessageDescriptor *payload_type(uint32_t kind)
{
    switch (kind) {
    case DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_CARE_CHANGE:
        return &doudi__care_change__descriptor;
    case DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_ALERT:
        return &doudi__alert__descriptor;
    case DOUDI__RECORD_KIND__RECORD_KIND_VISIT_REPORT:
    case DOUDI__RECORD_KIND__RECORD_KIND_ROSTER_CHANGE:
        return &doudi__envelope__descriptor;
    default:
        return NULL;
    }
}

/* Decodes a record's payload into the group's arena (NULL: it does not
 * decode, or its kind carries none) and starts fetching the slots applying
 * it will look up first. */
static ProtobufCMessage *decode_ahead(sched_engine *e, const Doudi__LogRecord *rec)
{
    const ProtobufCMessageDescriptor *type = payload_type(rec->kind);
    if (!type)
        return NULL;
    ProtobufCMessage *m = dd_wire_unpack(type, rec->payload.data, rec->payload.len,
                                         e->group_arena);
    if (!m)
        return NULL;
    const char *person = NULL;
    if (type == &doudi__care_change__descriptor) {
        person = ((Doudi__CareChange *)m)->person_id;
    } else if (type == &doudi__alert__descriptor) {
        person = ((Doudi__Alert *)m)->subject_person_id;
    } else {
        const Doudi__Envelope *env = (const Doudi__Envelope *)m;
        if (env->body_case == DOUDI__ENVELOPE__BODY_VISIT_REPORT) {
            person = env->visit_report->subject_person_id;
            if (valid_id(env->visit_report->worker_id))
                sched_db_prefetch_worker(e->db, env->visit_report->worker_id);
        }
    }
    if (valid_id(person))
        sched_db_prefetch_plan(e->db, person);
    return m;
}

/* Applies one record; msg is its payload as decode_ahead left it. */
static int apply_one(sched_engine *e, const Doudi__LogRecord *rec, ProtobufCMessage *msg)
{
    /* What the clock's advance raises is caused by the record that moved it. */
    e->seq = rec->sequence;
    int rc = advance_to(e, rec->appended_at_ms);
    if (rc)
        return rc;
    switch (rec->kind) {
    case DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_CARE_CHANGE:
        e->stats.records[SCHED_IN_CARE_CHANGE]++;
        if (!msg) {
            e->stats.undecodable++;
            dd_warn("eligibility record %llu (care change) does not decode; skipped",
                    (unsigned long long)rec->sequence);
            return 0;
        }
        return apply_care(e, (Doudi__CareChange *)msg);
    case DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_ALERT:
        e->stats.records[SCHED_IN_ALERT]++;
        return apply_alert(e, rec, (Doudi__Alert *)msg);
    case DOUDI__RECORD_KIND__RECORD_KIND_ALERT_ACKNOWLEDGEMENT:
        e->stats.records[SCHED_IN_ACKNOWLEDGEMENT]++;
        return dd_log_append(e->out, e->txn, rec->kind, e->clock, rec->payload.data,
                             rec->payload.len, NULL);
    case DOUDI__RECORD_KIND__RECORD_KIND_VISIT_REPORT:
    case DOUDI__RECORD_KIND__RECORD_KIND_ROSTER_CHANGE: {
        bool visit = rec->kind == DOUDI__RECORD_KIND__RECORD_KIND_VISIT_REPORT;
        e->stats.records[visit ? SCHED_IN_VISIT_REPORT : SCHED_IN_ROSTER_CHANGE]++;
        Doudi__Envelope *env = (Doudi__Envelope *)msg;
        if (!env || env->body_case != (visit ? DOUDI__ENVELOPE__BODY_VISIT_REPORT
                                             : DOUDI__ENVELOPE__BODY_ROSTER_CHANGE)) {
            e->stats.undecodable++;
            dd_warn("eligibility record %llu (kind %u) does not decode as its Envelope; skipped",
                    (unsigned long long)rec->sequence, rec->kind);
            return 0;
        }
        return visit ? apply_visit(e, rec, env) : apply_roster(e, env);
    }
    default:
        e->stats.records[SCHED_IN_OTHER]++;
        return 0;
    }
}

/* ---- transactions ----------------------------------------------------------------- */

static const char *const meta_names[4] = {"clock", "swept", "day", "month"};

static int load_state(sched_engine *e, MDB_txn *txn)
{
    memset(&e->stats, 0, sizeof(e->stats));
    e->txn = txn;
    e->drop_stale_due = false;
    /* The databases' caches forget an earlier transaction that was
     * aborted (it may be running again after the map grew). */
    int rc = sched_db_begin(e->db, txn);
    if (rc)
        return rc;
    for (int i = 0; i < 4; i++) {
        if ((rc = sched_db_meta_get(e->db, txn, meta_names[i], 0, &e->stored[i])))
            return rc;
    }
    e->clock = e->stored[0];
    e->swept = e->stored[1];
    e->day = e->stored[2];
    e->month = (int32_t)e->stored[3];
    return 0;
}

/* Writes the clock and the pending counters; the transaction is complete. */
static int store_state(sched_engine *e)
{
    int rc = sched_db_counters_flush(e->db, e->txn);
    if (rc)
        return rc;
    int64_t now[4] = {e->clock, e->swept, e->day, e->month};
    for (int i = 0; i < 4; i++)
        if (now[i] != e->stored[i] &&
            (rc = sched_db_meta_put(e->db, e->txn, meta_names[i], now[i])))
            return rc;
    return 0;
}

static int drop_stale_due(sched_engine *e)
{
    uint64_t deleted;
    int rc = sched_db_due_drop_forgotten(e->db, e->txn, &deleted);
    e->drop_stale_due = false;
    e->stats.stale_due_dropped += deleted;
    return rc;
}

int sched_engine_apply(void *arg, MDB_txn *txn, Doudi__LogRecord *const *records, size_t n)
{
    sched_engine *e = arg;
    int rc = load_state(e, txn);
    for (size_t first = 0; first < n && rc == 0; first += APPLY_GROUP) {
        size_t count = n - first < APPLY_GROUP ? n - first : APPLY_GROUP;
        for (size_t i = 0; i < count; i++)
            e->decoded[i] = decode_ahead(e, records[first + i]);
        for (size_t i = 0; i < count && rc == 0; i++) {
            rc = apply_one(e, records[first + i], e->decoded[i]);
            dd_arena_reset(e->arena);
            /* After a record, never at a batch's end: replays fold alike. */
            if (rc == 0)
                rc = sched_db_journal_fold(e->db, txn, false);
            if (rc == 0 && e->drop_stale_due)
                rc = drop_stale_due(e);
        }
        dd_arena_reset(e->group_arena);
    }
    if (rc == 0)
        rc = store_state(e);
    e->txn = NULL;
    e->seq = 0;
    return rc;
}

int sched_engine_advance(sched_engine *e, MDB_txn *txn, int64_t now_ms)
{
    int rc = load_state(e, txn);
    if (!rc && e->month != 0)
        rc = advance_to(e, now_ms);
    if (!rc)
        rc = sched_db_journal_fold(e->db, txn, false);
    if (!rc)
        rc = store_state(e);
    dd_arena_reset(e->arena);
    e->txn = NULL;
    return rc;
}

int64_t sched_engine_clock(sched_engine *e, MDB_txn *txn)
{
    int64_t v = 0;
    sched_db_meta_get(e->db, txn, "clock", 0, &v);
    return v;
}

int32_t sched_engine_month(sched_engine *e, MDB_txn *txn)
{
    int64_t v = 0;
    sched_db_meta_get(e->db, txn, "month", 0, &v);
    return (int32_t)v;
}
