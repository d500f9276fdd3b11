/* alerts_engine.c: alert lifecycle, escalation, dedup, inhibition, silences,
 * timeliness (see alerts_engine.h). */
#include "alerts_engine.h"

#include "alloc.h"
#include "diag.h"
#include "error.h"
#include "idnum.h"
#include "alerts_ladder.h"

#include "doudi/event.pb-c.h"
#include "doudi/scheduler.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct alerts_engine {
    alerts_book *book;
    alerts_stream *stream;
    alerts_engine_options opt;
    dd_arena *batch_arena;  /* silences of the batch */
    dd_arena *arena;        /* one record */
    dd_arena *sweep_arena;  /* one escalation (a sweep runs inside a record) */
    MDB_txn *txn;
    bool running;
    int64_t now_ms;
    uint64_t upstream_seq;
    Doudi__Silence **silences;
    size_t nsilences;
    alerts_counts work, committed;
    int64_t committed_clock;
    alerts_batch_stats stats, pending_stats;
    bool stats_fresh;
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

static void committed(void *arg)
{
    alerts_engine *e = arg;
    if (!e->running)
        return;
    e->running = false;
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
    e->sweep_arena = dd_arena_new(0);
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
    dd_arena_destroy(&(*ep)->sweep_arena);
    free(*ep);
    *ep = NULL;
}

int alerts_engine_load(alerts_engine *e, MDB_txn *txn)
{
    int rc = alerts_book_counts_get(e->book, txn, &e->committed);
    e->work = e->committed;
    e->committed_clock = e->now_ms = alerts_book_meta_get(e->book, txn, "clock");
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

/* Starts a write of the engine: state is read again from txn, so a run
 * after MAP_FULL starts from the same point as the first. */
static int begin(alerts_engine *e, MDB_txn *txn)
{
    e->running = true;
    e->txn = txn;
    memset(&e->stats, 0, sizeof(e->stats));
    dd_arena_reset(e->batch_arena);
    dd_arena_reset(e->arena);
    int rc = alerts_book_counts_get(e->book, txn, &e->work);
    if (rc)
        return rc;
    e->now_ms = alerts_book_meta_get(e->book, txn, "clock");
    return alerts_book_silences(e->book, txn, e->batch_arena, &e->silences, &e->nsilences);
}

static int finish(alerts_engine *e, int rc)
{
    if (rc == 0)
        rc = alerts_book_counts_put(e->book, e->txn, &e->work);
    if (rc == 0)
        rc = alerts_book_meta_put(e->book, e->txn, "clock", e->now_ms);
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

static int64_t level_window(const alerts_engine *e, const Doudi__StoredAlert *a)
{
    int64_t w = a->handle_within_ms / 1000 * e->opt.level_window_permille +
                a->handle_within_ms % 1000 * e->opt.level_window_permille / 1000;
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

/* Counts an alert due in the timeliness of its region's five prefixes. */
static int count_due(alerts_engine *e, const Doudi__StoredAlert *a, bool in_time)
{
    int32_t month = dd_date_yyyymmdd_shanghai(a->first_deadline_ms) / 100;
    static const size_t digits[ALERTS_LEVELS] = {2, 4, 6, 9, 12};
    for (int l = 0; l < ALERTS_LEVELS; l++) {
        int rc = alerts_book_rate_add(e->book, e->txn, a->region_code, digits[l], month, 1,
                                      in_time ? 1 : 0);
        if (rc)
            return rc;
    }
    return 0;
}

/* Takes an alert out of every index of the unresolved. */
static int unindex(alerts_engine *e, uint64_t number, const Doudi__StoredAlert *a)
{
    int rc = 0;
    if (a->deadline_ms)
        rc = alerts_book_deadline_del(e->book, e->txn, a->deadline_ms, number);
    if (rc == 0 && a->dedup_key[0]) {
        uint64_t held;
        if (alerts_book_dedup_get(e->book, e->txn, a->dedup_key, &held) == 0 && held == number)
            rc = alerts_book_dedup_del(e->book, e->txn, a->dedup_key);
    }
    if (rc == 0)
        rc = alerts_book_unresolved_del(e->book, e->txn, a->region_code, number);
    if (rc == 0 && a->kind == DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE && a->subject_person_id[0])
        rc = alerts_book_overdue_del(e->book, e->txn, a->subject_person_id, number);
    return rc;
}

/* ---- time ----------------------------------------------------------------------- */

static int escalate(alerts_engine *e, int64_t deadline, uint64_t number)
{
    Doudi__StoredAlert *a;
    int rc = alerts_book_get(e->book, e->txn, number, e->sweep_arena, &a);
    if (rc == DD_NOTFOUND || rc == DD_ECORRUPT)
        return 0; /* a stale entry: nothing to climb */
    if (rc)
        return rc;
    if (!active(a->state) || a->deadline_ms != deadline)
        return 0;
    count(e, a, -1);
    if (a->level == DOUDI__ALERT_LEVEL__ALERT_LEVEL_VILLAGE && (rc = count_due(e, a, false)) != 0)
        return rc;
    if (!e->opt.escalation || a->level >= e->opt.top_level) {
        /* Overdue at the top: it stays there until handled. */
        a->deadline_ms = 0;
        count(e, a, +1);
        return alerts_book_put(e->book, e->txn, number, a);
    }
    a->level++;
    char office[13];
    alerts_office_code(a->region_code, a->level, office);
    a->office_code = office;
    a->state = DOUDI__ALERT_STATE__ALERT_STATE_ESCALATED;
    a->escalations++;
    a->deadline_ms = deadline + level_window(e, a);
    a->updated_at_ms = deadline;
    count(e, a, +1);
    if (a->level < 6)
        e->stats.escalations[a->level]++;
    if ((rc = alerts_book_deadline_put(e->book, e->txn, a->deadline_ms, number)) != 0 ||
        (rc = emit(e, DOUDI__ALERT_CHANGE__ALERT_CHANGE_ESCALATED, deadline, a)) != 0)
        return rc;
    dd_debug("alert %s escalated to %s %s", a->id, alerts_level_name(a->level), office);
    return alerts_book_put(e->book, e->txn, number, a);
}

static int sweep(alerts_engine *e)
{
    for (;;) {
        int64_t deadline;
        uint64_t number;
        int rc = alerts_book_deadline_first(e->book, e->txn, &deadline, &number);
        if (rc == DD_NOTFOUND)
            return 0;
        if (rc)
            return rc;
        if (deadline >= e->now_ms)
            return 0;
        if ((rc = alerts_book_deadline_del(e->book, e->txn, deadline, number)) != 0 ||
            (rc = escalate(e, deadline, number)) != 0)
            return rc;
        dd_arena_reset(e->sweep_arena);
    }
}

static int advance(alerts_engine *e, int64_t t)
{
    if (t <= e->now_ms)
        return 0;
    e->now_ms = t;
    return sweep(e);
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
    const Doudi__Silence *silence = silence_for(e, in, t);
    bool gone = kind == DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE &&
                alerts_book_is_gone(e->book, e->txn, in->subject_person_id);

    uint64_t held;
    int rc = alerts_book_dedup_get(e->book, e->txn, key, &held);
    if (rc && rc != DD_NOTFOUND)
        return rc;
    if (rc == 0 && !gone) {
        Doudi__StoredAlert *a;
        rc = alerts_book_get(e->book, e->txn, held, e->arena, &a);
        if (rc && rc != DD_NOTFOUND && rc != DD_ECORRUPT)
            return rc;
        bool silenced = rc == 0 && a->state == DOUDI__ALERT_STATE__ALERT_STATE_SILENCED;
        if (rc == 0 && unresolved(a->state) && (!silenced || silence)) {
            a->count++;
            if (t > a->last_seen_at_ms)
                a->last_seen_at_ms = t;
            a->last_caused_by_sequence = e->upstream_seq;
            e->stats.merged++;
            return alerts_book_put(e->book, e->txn, held, a);
        }
    }

    uint64_t number = (uint64_t)alerts_book_meta_get(e->book, e->txn, "next_alert") + 1;
    if ((rc = alerts_book_meta_put(e->book, e->txn, "next_alert", (int64_t)number)) != 0)
        return rc;
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
    if (gone) {
        a.state = DOUDI__ALERT_STATE__ALERT_STATE_INHIBITED;
        a.closed_reason = "the person died or moved out";
        e->stats.inhibited++;
        count(e, &a, +1);
        return alerts_book_put(e->book, e->txn, number, &a);
    }
    if ((rc = alerts_book_dedup_put(e->book, e->txn, key, number)) != 0 ||
        (rc = alerts_book_unresolved_put(e->book, e->txn, a.region_code, number)) != 0)
        return rc;
    if (a.kind == DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE && a.subject_person_id[0] &&
        (rc = alerts_book_overdue_put(e->book, e->txn, a.subject_person_id, number)) != 0)
        return rc;
    if (silence) {
        a.state = DOUDI__ALERT_STATE__ALERT_STATE_SILENCED;
        a.silence_id = silence->id;
        e->stats.silenced++;
        count(e, &a, +1);
        return alerts_book_put(e->book, e->txn, number, &a);
    }
    a.state = DOUDI__ALERT_STATE__ALERT_STATE_OPEN;
    a.deadline_ms = a.first_deadline_ms = t + window;
    e->stats.raised[kind]++;
    count(e, &a, +1);
    if ((rc = alerts_book_deadline_put(e->book, e->txn, a.deadline_ms, number)) != 0 ||
        (rc = emit(e, DOUDI__ALERT_CHANGE__ALERT_CHANGE_RAISED, t, &a)) != 0)
        return rc;
    return alerts_book_put(e->book, e->txn, number, &a);
}

/* ---- acknowledgements ---------------------------------------------------------------- */

static int acknowledge(alerts_engine *e, const Doudi__Envelope *env)
{
    const Doudi__AlertAcknowledgement *ack = env->alert_acknowledgement;
    char detail[200];
    uint64_t number = alerts_id_parse(ack->alert_id);
    Doudi__StoredAlert *a = NULL;
    int rc = number ? alerts_book_get(e->book, e->txn, number, e->arena, &a) : DD_NOTFOUND;
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
        if (in_time && (rc = count_due(e, a, true)) != 0)
            return rc;
        if (a->deadline_ms &&
            (rc = alerts_book_deadline_del(e->book, e->txn, a->deadline_ms, number)) != 0)
            return rc;
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
        if ((rc = unindex(e, number, a)) != 0)
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
    return alerts_book_put(e->book, e->txn, number, a);
}

/* ---- plan changes: death and move-out inhibit overdue-visit alerts ------------------- */

static int plan_change(alerts_engine *e, const Doudi__PlanChange *pc)
{
    if (!pc->person_id[0])
        return 0;
    if (pc->end == DOUDI__PLAN_END__PLAN_END_NONE)
        return alerts_book_gone_del(e->book, e->txn, pc->person_id);
    if (pc->end != DOUDI__PLAN_END__PLAN_END_DECEASED && pc->end != DOUDI__PLAN_END__PLAN_END_MOVED_OUT)
        return 0;
    int rc = alerts_book_gone_put(e->book, e->txn, pc->person_id, e->now_ms);
    uint64_t *numbers;
    size_t n;
    if (rc || (rc = alerts_book_overdue_of(e->book, e->txn, pc->person_id, e->arena, &numbers, &n)))
        return rc;
    const char *why = pc->end == DOUDI__PLAN_END__PLAN_END_DECEASED ? "the person died"
                                                                     : "the person moved out";
    for (size_t i = 0; i < n; i++) {
        Doudi__StoredAlert *a;
        rc = alerts_book_get(e->book, e->txn, numbers[i], e->arena, &a);
        if (rc == DD_NOTFOUND || rc == DD_ECORRUPT)
            continue;
        if (rc)
            return rc;
        if (!unresolved(a->state))
            continue;
        count(e, a, -1);
        if ((rc = unindex(e, numbers[i], a)) != 0)
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
        if ((rc = alerts_book_put(e->book, e->txn, numbers[i], a)) != 0)
            return rc;
    }
    return 0;
}

/* ---- the consumer's apply ------------------------------------------------------------- */

static int apply_one(alerts_engine *e, const Doudi__LogRecord *rec)
{
    ProtobufCAllocator al = dd_arena_protobuf_allocator(e->arena);
    e->upstream_seq = rec->sequence;
    e->stats.records++;
    char detail[96];
    switch (rec->kind) {
    case DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_ALERT: {
        Doudi__Alert *a = doudi__alert__unpack(&al, rec->payload.len, rec->payload.data);
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
        Doudi__Envelope *env = doudi__envelope__unpack(&al, rec->payload.len, rec->payload.data);
        if (!env || env->body_case != DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT)
            break;
        int rc = advance(e, env->occurred_at_ms);
        return rc ? rc : acknowledge(e, env);
    }
    case DOUDI__SCHEDULER_RECORD_KIND__SCHEDULER_RECORD_KIND_PLAN_CHANGE: {
        Doudi__PlanChange *pc = doudi__plan_change__unpack(&al, rec->payload.len, rec->payload.data);
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
