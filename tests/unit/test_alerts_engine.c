/*
 * test_alerts_engine.c: doudi-alerts' engine on a real LMDB store, driven
 * with upstream records as the consumer would hand them over: escalation
 * through every level on the event clock, acknowledgement in time,
 * dedup, inhibition by a death, a plan restarting, acknowledgements
 * refused, the replay index by prefix; the same records cut into other
 * batches giving identical databases; replay blocks of a busy area and
 * their trimming; a data directory of an earlier layout refused; and the
 * ladder's pure functions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "alerts_book.h"
#include "diag.h"
#include "alerts_engine.h"
#include "error.h"
#include "idnum.h"
#include "alerts_ladder.h"
#include "log.h"
#include "store.h"
#include "alerts_stream.h"

#include "doudi/event.pb-c.h"
#include "doudi/scheduler.pb-c.h"

#define HOUR 3600000LL
#define T0 1780000000000LL
#define VILLAGE "440106001005"
#define PERSON "440106194001010013"

typedef struct fx {
    char dir[64];
    dd_store *store;
    dd_log *log;
    alerts_stream *stream;
    alerts_book *book;
    alerts_engine *engine;
    uint64_t upstream_seq;
    uint8_t *bufs[4096];
    size_t nbufs;
} fx;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void open_fx(fx *f)
{
    dd_store_options so = {.map_bytes = 1 << 20, .max_dbs = 24};
    assert_int_equal(dd_store_open(f->dir, &so, &f->store), 0);
    dd_log_options lo = {0};
    assert_int_equal(dd_log_open(f->store, &lo, NULL, &f->log), 0);
    assert_int_equal(alerts_stream_open(f->store, f->log, &f->stream), 0);
    assert_int_equal(alerts_book_open(f->store, &f->book), 0);
    alerts_engine_options o = {0};
    for (int k = 1; k < ALERTS_KINDS; k++)
        o.window_ms[k] = HOUR;
    o.urgent_at_most_ms = HOUR;
    o.info_at_least_ms = 60000;
    o.use_upstream = false;
    o.escalation = true;
    o.top_level = DOUDI__ALERT_LEVEL__ALERT_LEVEL_PROVINCE;
    o.level_window_permille = 1000;
    f->engine = alerts_engine_new(f->store, f->book, f->stream, &o);
}

static void close_fx(fx *f)
{
    alerts_engine_destroy(&f->engine);
    alerts_book_close(&f->book);
    alerts_stream_close(&f->stream);
    dd_log_close(&f->log);
    dd_store_close(&f->store);
}

static fx *new_fx(void)
{
    fx *f = dd_calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_alerts_engine.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    open_fx(f);
    return f;
}

static int setup(void **state)
{
    *state = new_fx();
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    close_fx(f);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; i < f->nbufs; i++)
        free(f->bufs[i]);
    free(f);
    return 0;
}

/* ---- upstream records ------------------------------------------------------ */

typedef struct batch {
    Doudi__LogRecord recs[2048];
    Doudi__LogRecord *ptrs[2048];
    size_t n;
} batch;

static void add(fx *f, batch *b, uint32_t kind, int64_t t, const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = dd_malloc(len ? len : 1);
    protobuf_c_message_pack(m, buf);
    f->bufs[f->nbufs++] = buf;
    Doudi__LogRecord *r = &b->recs[b->n];
    doudi__log_record__init(r);
    r->sequence = ++f->upstream_seq;
    r->kind = kind;
    r->appended_at_ms = t;
    r->payload.data = buf;
    r->payload.len = len;
    b->ptrs[b->n] = r;
    b->n++;
}

static void add_alert(fx *f, batch *b, Doudi__AlertKind kind, const char *person,
                      const char *region, int64_t t)
{
    Doudi__Alert a = DOUDI__ALERT__INIT;
    a.kind = kind;
    a.severity = DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING;
    a.subject_person_id = (char *)person;
    a.region_code = (char *)region;
    a.reason = "test";
    a.raised_at_ms = t;
    add(f, b, DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_ALERT, t, &a.base);
}

static void add_ack(fx *f, batch *b, const char *id, const char *office, int action, int64_t t)
{
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    Doudi__AlertAcknowledgement ack = DOUDI__ALERT_ACKNOWLEDGEMENT__INIT;
    env.event_id = "e";
    env.source = "s";
    env.occurred_at_ms = t;
    env.region_code = (char *)office;
    env.body_case = DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT;
    env.alert_acknowledgement = &ack;
    ack.alert_id = (char *)id;
    ack.action = action;
    ack.by_worker_id = "w-1";
    add(f, b, DOUDI__RECORD_KIND__RECORD_KIND_ALERT_ACKNOWLEDGEMENT, t, &env.base);
}

static void add_plan(fx *f, batch *b, const char *person, Doudi__PlanEnd end, int64_t t)
{
    Doudi__PlanChange pc = DOUDI__PLAN_CHANGE__INIT;
    pc.person_id = (char *)person;
    pc.region_code = VILLAGE;
    pc.end = end;
    pc.changed_at_ms = t;
    add(f, b, DOUDI__SCHEDULER_RECORD_KIND__SCHEDULER_RECORD_KIND_PLAN_CHANGE, t, &pc.base);
}

typedef struct apply_ctx {
    fx *f;
    batch *b;
} apply_ctx;

static int apply_fn(MDB_txn *txn, void *arg)
{
    apply_ctx *c = arg;
    return alerts_engine_apply(c->f->engine, txn, c->b->ptrs, c->b->n);
}

/* Applies, then fails: the write is taken back. */
static int apply_then_fail(MDB_txn *txn, void *arg)
{
    int rc = apply_fn(txn, arg);
    return rc ? rc : DD_EPROTO;
}

static void apply(fx *f, batch *b)
{
    apply_ctx c = {f, b};
    assert_int_equal(dd_store_write(f->store, apply_fn, &c), 0);
    b->n = 0;
}

static Doudi__StoredAlert *get(fx *f, uint64_t number, dd_arena *arena)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    Doudi__StoredAlert *a = NULL;
    int rc = alerts_book_get(f->book, txn, number, alerts_book_meta_get(f->book, txn, "clock"),
                             arena, &a, NULL);
    mdb_txn_abort(txn);
    return rc == 0 ? a : NULL;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_ladder(void **state)
{
    (void)state;
    char out[13];
    alerts_office_code(VILLAGE, DOUDI__ALERT_LEVEL__ALERT_LEVEL_TOWNSHIP, out);
    assert_string_equal(out, "440106001000");
    alerts_office_code(VILLAGE, DOUDI__ALERT_LEVEL__ALERT_LEVEL_CITY, out);
    assert_string_equal(out, "440100000000");
    assert_true(alerts_office_covers("440106001000", VILLAGE));
    assert_true(alerts_office_covers("440000000000", VILLAGE));
    assert_true(alerts_office_covers(VILLAGE, VILLAGE));
    assert_false(alerts_office_covers("440106001006", VILLAGE));
    assert_false(alerts_office_covers("440105000000", VILLAGE));
    assert_false(alerts_office_covers("4401", VILLAGE));
    assert_true(alerts_prefix_valid(""));
    assert_true(alerts_prefix_valid("440106001"));
    assert_false(alerts_prefix_valid("4401061"));
    assert_false(alerts_prefix_valid("44a1"));
    assert_int_equal(alerts_id_parse("A17"), 17);
    assert_int_equal(alerts_id_parse("A0"), 0);
    assert_int_equal(alerts_id_parse("al-1"), 0);
    assert_int_equal(alerts_id_parse("A99999999999999999999999"), 0);
}

static void test_escalation_dedup_ack(void **state)
{
    fx *f = *state;
    dd_arena *arena = dd_arena_new(0);
    batch b = {0};
    add_alert(f, &b, DOUDI__ALERT_KIND__ALERT_KIND_RISK, PERSON, VILLAGE, T0);
    add_alert(f, &b, DOUDI__ALERT_KIND__ALERT_KIND_DISCOVERY, "440106194001010021", VILLAGE,
              T0 + 1000);
    add_alert(f, &b, DOUDI__ALERT_KIND__ALERT_KIND_RISK, PERSON, VILLAGE, T0 + 2000); /* repeat */
    apply(f, &b);
    Doudi__StoredAlert *a1 = get(f, 1, arena);
    assert_non_null(a1);
    assert_string_equal(a1->id, "A1");
    assert_int_equal(a1->count, 2);
    assert_null(get(f, 3, arena));
    assert_int_equal(dd_log_head(f->log), 2);

    /* A2 acknowledged in time; the clock then runs 5 h past A1's deadline
     * in one step: it climbs every level in one sweep. */
    add_ack(f, &b, "A2", VILLAGE, 1, T0 + HOUR / 2);
    add_ack(f, &b, "A1", "440105001001", 1, T0 + HOUR / 2);   /* off the ladder */
    add_ack(f, &b, "A404", VILLAGE, 1, T0 + HOUR / 2);        /* unknown */
    add_alert(f, &b, DOUDI__ALERT_KIND__ALERT_KIND_RISK, "440106194001010039", "441401101003",
              T0 + 5 * HOUR + 1);
    apply(f, &b);
    alerts_batch_stats st;
    assert_true(alerts_engine_take_stats(f->engine, &st));
    assert_int_equal(st.rejected[ALERTS_REJECT_ACK_FOREIGN_OFFICE], 1);
    assert_int_equal(st.rejected[ALERTS_REJECT_ACK_UNKNOWN_ALERT], 1);
    a1 = get(f, 1, arena);
    assert_int_equal(a1->level, DOUDI__ALERT_LEVEL__ALERT_LEVEL_PROVINCE);
    assert_int_equal(a1->escalations, 4);
    assert_int_equal(a1->deadline_ms, 0); /* overdue at the top */
    assert_string_equal(a1->office_code, "440000000000");
    Doudi__StoredAlert *a2 = get(f, 2, arena);
    assert_int_equal(a2->state, DOUDI__ALERT_STATE__ALERT_STATE_ACKNOWLEDGED);
    assert_true(a2->handled_in_time);
    assert_int_equal(alerts_engine_counts(f->engine)->active_by_level[5], 1);

    /* The stream: RAISED A1, RAISED A2, ACK A2, 4 escalations of A1, RAISED A3. */
    assert_int_equal(dd_log_head(f->log), 8);
    alerts_buf out = {0};
    alerts_replay_result r;
    assert_int_equal(alerts_stream_replay(f->stream, "440106001", 0, 100, 1 << 20, &out, &r), 0);
    assert_int_equal(r.entries, 7);
    assert_int_equal(r.scanned_through, 8);
    alerts_buf_free(&out);
    assert_int_equal(alerts_stream_replay(f->stream, "4414", 0, 100, 1 << 20, &out, &r), 0);
    assert_int_equal(r.entries, 1);
    alerts_buf_free(&out);
    assert_int_equal(alerts_stream_replay(f->stream, "440106", 3, 2, 1 << 20, &out, &r), 0);
    assert_int_equal(r.entries, 2);
    assert_int_equal(r.scanned_through, 5);
    alerts_buf_free(&out);

    MDB_txn *txn;
    uint64_t due, in_time;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(alerts_book_rate_get(f->book, txn, "440106", 0, &due, &in_time), 0);
    mdb_txn_abort(txn);
    assert_int_equal(due, 2);
    assert_int_equal(in_time, 1);
    dd_arena_destroy(&arena);
}

static void test_inhibition(void **state)
{
    fx *f = *state;
    dd_arena *arena = dd_arena_new(0);
    batch b = {0};
    add_alert(f, &b, DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE, PERSON, VILLAGE, T0);
    add_alert(f, &b, DOUDI__ALERT_KIND__ALERT_KIND_RISK, PERSON, VILLAGE, T0 + 1);
    add_plan(f, &b, PERSON, DOUDI__PLAN_END__PLAN_END_DECEASED, T0 + 2);
    /* After the death: a new overdue-visit alert is inhibited on arrival. */
    add_alert(f, &b, DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE, PERSON, VILLAGE, T0 + 3);
    apply(f, &b);
    assert_int_equal(get(f, 1, arena)->state, DOUDI__ALERT_STATE__ALERT_STATE_INHIBITED);
    assert_int_equal(get(f, 2, arena)->state, DOUDI__ALERT_STATE__ALERT_STATE_OPEN);
    assert_int_equal(get(f, 3, arena)->state, DOUDI__ALERT_STATE__ALERT_STATE_INHIBITED);
    /* RAISED 1, RAISED 2, INHIBITED 1; the third was never delivered. */
    assert_int_equal(dd_log_head(f->log), 3);
    /* An inhibited alert does not escalate, and is never due. */
    add_alert(f, &b, DOUDI__ALERT_KIND__ALERT_KIND_RISK, "440106194001010039", VILLAGE,
              T0 + 3 * HOUR);
    /* A plan that starts again (the person moved back) lifts it. */
    add_plan(f, &b, PERSON, DOUDI__PLAN_END__PLAN_END_NONE, T0 + 3 * HOUR + 1);
    add_alert(f, &b, DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE, PERSON, VILLAGE,
              T0 + 3 * HOUR + 2);
    apply(f, &b);
    assert_int_equal(get(f, 1, arena)->escalations, 0);
    assert_int_equal(get(f, 2, arena)->state, DOUDI__ALERT_STATE__ALERT_STATE_ESCALATED);
    assert_int_equal(get(f, 5, arena)->state, DOUDI__ALERT_STATE__ALERT_STATE_OPEN);
    const alerts_counts *c = alerts_engine_counts(f->engine);
    assert_int_equal(c->by_state[DOUDI__ALERT_STATE__ALERT_STATE_INHIBITED], 2);
    alerts_batch_stats st;
    assert_true(alerts_engine_take_stats(f->engine, &st));
    assert_int_equal(st.inhibited, 2);
    dd_arena_destroy(&arena);
}

static void test_garbage_is_counted(void **state)
{
    fx *f = *state;
    batch b = {0};
    Doudi__LogRecord *r = &b.recs[0];
    doudi__log_record__init(r);
    r->sequence = 1;
    r->kind = DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_ALERT;
    static uint8_t junk[] = {0xff, 0xff, 0xff, 0x07};
    r->payload.data = junk;
    r->payload.len = sizeof(junk);
    b.ptrs[0] = r;
    b.n = 1;
    add_alert(f, &b, 99, PERSON, VILLAGE, T0);            /* unknown kind */
    add_alert(f, &b, DOUDI__ALERT_KIND__ALERT_KIND_RISK, PERSON, "4401", T0); /* bad region */
    apply(f, &b);
    alerts_batch_stats st;
    assert_true(alerts_engine_take_stats(f->engine, &st));
    assert_int_equal(st.rejected[ALERTS_REJECT_UNDECODABLE], 1);
    assert_int_equal(st.rejected[ALERTS_REJECT_UNKNOWN_KIND], 1);
    assert_int_equal(st.rejected[ALERTS_REJECT_BAD_REGION], 1);
    assert_int_equal(dd_log_head(f->log), 0);
}


/* A mixed month for two stores: alerts of several kinds in a few villages,
 * repeats, acknowledgements, a death, clock steps that escalate. */
static void month_records(fx *f, batch *b)
{
    static const char *const villages[] = {"440106001005", "440106001006", "440106002001",
                                           "441401101003"};
    char person[200][19];
    for (int i = 0; i < 200; i++) {
        snprintf(person[i], sizeof(person[i]), "4401061940%07d", i);
        person[i][17] = dd_idnum_check_char(person[i]);
        person[i][18] = '\0';
    }
    for (int i = 0; i < 600; i++) {
        int64_t t = T0 + (int64_t)i * (HOUR / 10);
        const char *p = person[i % 200];
        Doudi__AlertKind kind = i % 3 == 0   ? DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE
                                : i % 3 == 1 ? DOUDI__ALERT_KIND__ALERT_KIND_RISK
                                             : DOUDI__ALERT_KIND__ALERT_KIND_DISCOVERY;
        add_alert(f, b, kind, p, villages[i % 4], t);
        if (i % 7 == 3) {
            char id[24];
            alerts_id_format((uint64_t)(i / 2 + 1), id);
            add_ack(f, b, id, "440000000000", i % 14 == 3 ? 2 : 1, t);
        }
        if (i == 300)
            add_plan(f, b, person[3], DOUDI__PLAN_END__PLAN_END_DECEASED, t);
    }
    add_alert(f, b, DOUDI__ALERT_KIND__ALERT_KIND_RISK, person[0], villages[0], T0 + 400 * HOUR);
}

typedef struct cut_ctx {
    fx *f;
    batch *b;
    size_t from, n;
} cut_ctx;

static int apply_cut(MDB_txn *txn, void *arg)
{
    cut_ctx *c = arg;
    return alerts_engine_apply(c->f->engine, txn, c->b->ptrs + c->from, c->n);
}

static int checkpoint_fn(MDB_txn *txn, void *arg)
{
    fx *f = arg;
    return alerts_stream_checkpoint(f->stream, txn);
}

static int apply_cut_then_fail(MDB_txn *txn, void *arg)
{
    int rc = apply_cut(txn, arg);
    return rc ? rc : DD_EPROTO;
}

/* Every entry of one database of both stores, equal. */
static void assert_same_db(fx *a, fx *b, const char *name, unsigned flags)
{
    MDB_txn *ta, *tb;
    MDB_dbi da, db;
    MDB_cursor *ca, *cb;
    assert_int_equal(mdb_txn_begin(dd_store_env(a->store), NULL, MDB_RDONLY, &ta), 0);
    assert_int_equal(mdb_txn_begin(dd_store_env(b->store), NULL, MDB_RDONLY, &tb), 0);
    assert_int_equal(mdb_dbi_open(ta, name, flags, &da), 0);
    assert_int_equal(mdb_dbi_open(tb, name, flags, &db), 0);
    assert_int_equal(mdb_cursor_open(ta, da, &ca), 0);
    assert_int_equal(mdb_cursor_open(tb, db, &cb), 0);
    MDB_val ka, va, kb, vb;
    int ra = mdb_cursor_get(ca, &ka, &va, MDB_FIRST), rb = mdb_cursor_get(cb, &kb, &vb, MDB_FIRST);
    size_t n = 0;
    while (ra == 0 && rb == 0) {
        assert_int_equal(ka.mv_size, kb.mv_size);
        assert_memory_equal(ka.mv_data, kb.mv_data, ka.mv_size);
        assert_int_equal(va.mv_size, vb.mv_size);
        assert_memory_equal(va.mv_data, vb.mv_data, va.mv_size);
        n++;
        ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
        rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
    }
    assert_int_equal(ra, MDB_NOTFOUND);
    assert_int_equal(rb, MDB_NOTFOUND);
    mdb_cursor_close(ca);
    mdb_cursor_close(cb);
    mdb_txn_abort(ta);
    mdb_txn_abort(tb);
}

/* A second fixture, and the same month of records made for each (*ra for
 * a, *rb for the new one; the caller frees both). */
static fx *second_fixture(fx *a, batch **ra, batch **rb)
{
    fx *b = new_fx();
    *ra = dd_calloc(1, sizeof(batch));
    *rb = dd_calloc(1, sizeof(batch));
    month_records(a, *ra);
    month_records(b, *rb);
    assert_int_equal((*ra)->n, (*rb)->n);
    return b;
}

static void drop_fixture(fx *f)
{
    void *state = f;
    teardown(&state);
}

static void test_batch_boundaries(void **state)
{
    fx *a = *state;
    batch *ra, *rb;
    fx *b = second_fixture(a, &ra, &rb);
    /* A: everything in one write; B: writes of 1, 2, 3... records. */
    cut_ctx c = {a, ra, 0, ra->n};
    assert_int_equal(dd_store_write(a->store, apply_cut, &c), 0);
    size_t cut = 1;
    for (size_t from = 0; from < rb->n; from += cut, cut = cut % 13 + 1) {
        cut_ctx cb = {b, rb, from, from + cut > rb->n ? rb->n - from : cut};
        assert_int_equal(dd_store_write(b->store, apply_cut, &cb), 0);
    }
    assert_true(dd_log_head(a->log) > 1500); /* raises and escalations at every level */
    assert_int_equal(dd_log_head(a->log), dd_log_head(b->log));
    /* The open blocks as of the same sequence in both (a checkpoint falls
     * where a write ends). */
    assert_int_equal(dd_store_write(a->store, checkpoint_fn, a), 0);
    assert_int_equal(dd_store_write(b->store, checkpoint_fn, b), 0);
    static const struct {
        const char *name;
        unsigned flags;
    } dbs[] = {{"alerts", MDB_INTEGERKEY}, {"repeats", MDB_INTEGERKEY},
               {"open", MDB_INTEGERKEY},  {"classes", MDB_INTEGERKEY},
               {"gone", 0},               {"rates", 0},
               {"meta", 0},               {"replay_closed", 0},
               {"replay_open", 0},        {"log", MDB_INTEGERKEY}};
    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
        assert_same_db(a, b, dbs[i].name, dbs[i].flags);
    const alerts_counts *ca = alerts_engine_counts(a->engine);
    assert_true(ca->active_by_level[DOUDI__ALERT_LEVEL__ALERT_LEVEL_PROVINCE] > 0);
    assert_true(ca->by_state[DOUDI__ALERT_STATE__ALERT_STATE_INHIBITED] > 0);
    assert_memory_equal(ca, alerts_engine_counts(b->engine), sizeof(*ca));

    /* The escalations were never written into the alerts: reading one
     * applies them, as the stream told them. */
    dd_arena *arena = dd_arena_new(0);
    Doudi__StoredAlert *first = get(a, 1, arena);
    assert_int_equal(first->state, DOUDI__ALERT_STATE__ALERT_STATE_ESCALATED);
    assert_int_equal(first->level, DOUDI__ALERT_LEVEL__ALERT_LEVEL_PROVINCE);
    assert_string_equal(first->office_code, "440000000000");
    assert_int_equal(first->deadline_ms, 0);
    dd_arena_destroy(&arena);

    free(ra);
    free(rb);
    drop_fixture(b);
}

/* Closes a fixture as a kill would leave it (no checkpoint since its last
 * write) and opens it again, as the daemon starts. */
static void reopen(fx *f, uint64_t checkpoint_every)
{
    close_fx(f);
    open_fx(f);
    alerts_stream_set_checkpoint_every(f->stream, checkpoint_every);
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(dd_store_env(f->store), NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(alerts_engine_load(f->engine, txn), 0);
    mdb_txn_abort(txn);
}

static size_t replay_seqs(fx *f, const char *prefix, uint64_t after, uint64_t *out, size_t max);

static void assert_same_replays(fx *a, fx *b)
{
    static const char *const prefixes[] = {"", "44", "4401", "440106", "440106001",
                                           "440106001005", "441401101003", "440106002001"};
    uint64_t *sa = dd_calloc(4000, sizeof(uint64_t)), *sb = dd_calloc(4000, sizeof(uint64_t));
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        for (uint64_t after = 0; after < 900; after += 299) {
            size_t na = replay_seqs(a, prefixes[i], after, sa, 4000);
            assert_int_equal(na, replay_seqs(b, prefixes[i], after, sb, 4000));
            assert_memory_equal(sa, sb, na * sizeof(uint64_t));
        }
    }
    free(sa);
    free(sb);
}

/*
 * Checkpoints of the replay index every 37 records, a daemon killed (closed
 * without one) every few writes and a write taken back now and then, against
 * one write of everything: the open blocks rebuilt from each checkpoint and
 * the records after it give the same stream (previous_in_area included),
 * the same replies to replays at every point, and, once both checkpoint,
 * the same databases.
 */
static void test_checkpoints_and_rebuilds(void **state)
{
    fx *a = *state;
    batch *ra, *rb;
    fx *b = second_fixture(a, &ra, &rb);
    cut_ctx c = {b, rb, 0, rb->n};
    assert_int_equal(dd_store_write(b->store, apply_cut, &c), 0);
    /* no checkpoint stored yet: the first write made one */
    assert_int_equal(alerts_stream_checkpointed(b->stream), dd_log_head(b->log));
    alerts_stream_set_checkpoint_every(a->stream, 37);
    size_t cut = 1, writes = 0;
    for (size_t from = 0; from < ra->n; from += cut, cut = cut % 13 + 1) {
        cut_ctx ca = {a, ra, from, from + cut > ra->n ? ra->n - from : cut};
        if (++writes % 4 == 0)
            assert_int_equal(dd_store_write(a->store, apply_cut_then_fail, &ca), DD_EPROTO);
        assert_int_equal(dd_store_write(a->store, apply_cut, &ca), 0);
        if (writes % 5 == 0)
            reopen(a, 37);
    }
    uint64_t head = dd_log_head(a->log);
    assert_int_equal(head, dd_log_head(b->log));
    assert_true(alerts_stream_checkpointed(a->stream) > 0);
    assert_same_replays(a, b);
    reopen(a, 37);
    assert_same_replays(a, b);
    assert_int_equal(dd_store_write(a->store, checkpoint_fn, a), 0);
    assert_int_equal(dd_store_write(b->store, checkpoint_fn, b), 0);
    assert_int_equal(alerts_stream_checkpointed(a->stream), head);
    assert_int_equal(alerts_stream_checkpointed(b->stream), head);
    assert_same_db(a, b, "replay_open", 0);
    assert_same_db(a, b, "replay_closed", 0);
    assert_same_db(a, b, "log", MDB_INTEGERKEY);
    /* Opened again after its checkpoint: nothing to read again, and the
     * blocks as they were. */
    reopen(a, 37);
    assert_same_replays(a, b);
    free(ra);
    free(rb);
    drop_fixture(b);
}

/* Sequences of a prefix from a replay reply's entries (field 1, each a
 * StreamEntry whose field 1 is the sequence). */
static size_t replay_seqs(fx *f, const char *prefix, uint64_t after, uint64_t *out, size_t max)
{
    size_t n = 0;
    for (;;) {
        alerts_buf buf = {0};
        alerts_replay_result r;
        assert_int_equal(alerts_stream_replay(f->stream, prefix, after, 7, 1 << 20, &buf, &r), 0);
        Doudi__ReplayReply *rep = doudi__replay_reply__unpack(NULL, buf.len, buf.data);
        assert_non_null(rep);
        for (size_t i = 0; i < rep->n_entries && n < max; i++)
            out[n++] = rep->entries[i]->sequence;
        doudi__replay_reply__free_unpacked(rep, NULL);
        alerts_buf_free(&buf);
        if (r.scanned_through <= after || r.scanned_through >= r.head)
            break;
        after = r.scanned_through;
    }
    return n;
}

static void test_replay_blocks_and_trim(void **state)
{
    fx *f = *state;
    batch *b = dd_calloc(1, sizeof(batch));
    /* 700 alerts alternating between two villages of two counties: each
     * village's area fills several blocks. */
    for (int i = 0; i < 700; i++) {
        char p[19];
        snprintf(p, sizeof(p), "4401061950%07d", i);
        p[17] = dd_idnum_check_char(p);
        p[18] = '\0';
        add_alert(f, b, DOUDI__ALERT_KIND__ALERT_KIND_RISK, p,
                  i % 2 ? "440106001005" : "440305001001", T0 + i);
        if (b->n == 100)
            apply(f, b);
    }
    apply(f, b);
    uint64_t *seqs = dd_calloc(2000, sizeof(uint64_t));
    size_t n = replay_seqs(f, "440106001005", 0, seqs, 2000);
    assert_int_equal(n, 350);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(seqs[i], 2 * i + 2); /* every other sequence, in order */
    n = replay_seqs(f, "4403", 401, seqs, 2000);
    assert_int_equal(n, 149); /* 403, 405, ... 699 */
    assert_int_equal(seqs[0], 403);
    assert_int_equal(replay_seqs(f, "440106001006", 0, seqs, 2000), 0);

    /* The log trimmed below 601: the index keeps what it needs and each
     * area's newest block (previous_in_area continues). */
    uint64_t trimmed = 0;
    /* As the daemon does before every trim (alerts_stream.h). */
    assert_int_equal(dd_store_write(f->store, checkpoint_fn, f), 0);
    assert_int_equal(dd_log_trim(f->log, T0 + 600, &trimmed), 0);
    uint64_t first = dd_log_first(f->log);
    assert_int_equal(first, 601);
    size_t deleted = 0, total = 0;
    for (int pass = 0; pass < 4; pass++) {
        assert_int_equal(alerts_stream_trim_index(f->stream, 1000, &deleted), 0);
        total += deleted;
    }
    assert_true(total > 0);
    n = replay_seqs(f, "440106", 0, seqs, 2000);
    for (size_t i = 0; i < n; i++)
        assert_true(seqs[i] >= first);
    add_alert(f, b, DOUDI__ALERT_KIND__ALERT_KIND_RISK, PERSON, "440106001005", T0 + 1000);
    apply(f, b);
    n = replay_seqs(f, "440106001005", 699, seqs, 2000);
    assert_int_equal(n, 2);
    assert_int_equal(seqs[1], 701);

    /* Blocks that fill after a replay listed the area's blocks join the
     * list; a write that is taken back leaves it as it was. */
    for (int i = 0; i < 300; i++) {
        char p[19];
        snprintf(p, sizeof(p), "4401061951%07d", i);
        p[17] = dd_idnum_check_char(p);
        p[18] = '\0';
        add_alert(f, b, DOUDI__ALERT_KIND__ALERT_KIND_RISK, p, "440106001005", T0 + 1001 + i);
        if (b->n == 37)
            apply(f, b);
    }
    apply(f, b);
    n = replay_seqs(f, "440106001005", 0, seqs, 2000);
    assert_int_equal(n, 351); /* 602, 604 ... 700 (the rest trimmed), 701 ... 1001 */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(seqs[i], i < 50 ? 602 + 2 * i : 701 + (i - 50));
    n = replay_seqs(f, "44", 900, seqs, 2000);
    assert_int_equal(n, 101);
    assert_int_equal(seqs[100], 1001);
    for (int i = 0; i < 200; i++) {
        char p[19];
        snprintf(p, sizeof(p), "4401061952%07d", i);
        p[17] = dd_idnum_check_char(p);
        p[18] = '\0';
        add_alert(f, b, DOUDI__ALERT_KIND__ALERT_KIND_RISK, p, "440106001005", T0 + 2000 + i);
    }
    apply_ctx failing = {f, b};
    assert_int_equal(dd_store_write(f->store, apply_then_fail, &failing), DD_EPROTO);
    assert_int_equal(dd_log_head(f->log), 1001);
    assert_int_equal(replay_seqs(f, "440106001005", 0, seqs, 2000), 351);
    apply(f, b);
    n = replay_seqs(f, "440106001005", 0, seqs, 2000);
    assert_int_equal(n, 551);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(seqs[i], i < 50 ? 602 + 2 * i : 701 + (i - 50));
    free(seqs);
    free(b);
}

/*
 * A write that raised an alert is taken back; the next write raises another
 * alert under the same number, later, in another batch than the one that
 * failed: the escalation schedule knows only the alert that was committed
 * (the class's queue is filled again from the book), so nothing climbs at
 * the deadline of the alert that never was.
 */
static void test_aborted_raise_leaves_no_schedule(void **state)
{
    fx *f = *state;
    dd_arena *arena = dd_arena_new(0);
    batch *b = dd_calloc(1, sizeof(*b));
    add_alert(f, b, DOUDI__ALERT_KIND__ALERT_KIND_RISK, PERSON, VILLAGE, T0);
    apply_ctx failing = {f, b};
    assert_int_equal(dd_store_write(f->store, apply_then_fail, &failing), DD_EPROTO);
    b->n = 0;
    /* A1 again, raised 3 h later; the batch goes on to 1.5 h past the
     * taken-back alert's deadline, 1.5 h before A1's. */
    add_alert(f, b, DOUDI__ALERT_KIND__ALERT_KIND_RISK, "440106194001010021", VILLAGE,
              T0 + 3 * HOUR);
    add_ack(f, b, "A404", VILLAGE, 1, T0 + 3 * HOUR + HOUR / 2);
    apply(f, b);
    Doudi__StoredAlert *a1 = get(f, 1, arena);
    assert_non_null(a1);
    assert_string_equal(a1->subject_person_id, "440106194001010021");
    assert_int_equal(a1->escalations, 0);
    assert_int_equal(a1->level, DOUDI__ALERT_LEVEL__ALERT_LEVEL_VILLAGE);
    assert_int_equal(a1->deadline_ms, T0 + 4 * HOUR);
    /* The stream holds A1's RAISED alone, the counts one alert at the
     * village (an escalation is a stream record and a move between
     * levels). */
    assert_int_equal(dd_log_head(f->log), 1);
    assert_int_equal(alerts_engine_counts(f->engine)->active_by_level[1], 1);
    assert_int_equal(alerts_engine_counts(f->engine)->active_by_level[2], 0);
    /* At its own deadline it climbs, once. */
    add_ack(f, b, "A404", VILLAGE, 1, T0 + 4 * HOUR + 1);
    apply(f, b);
    a1 = get(f, 1, arena);
    assert_int_equal(a1->escalations, 1);
    assert_int_equal(a1->level, DOUDI__ALERT_LEVEL__ALERT_LEVEL_TOWNSHIP);
    assert_int_equal(dd_log_head(f->log), 2);
    assert_int_equal(alerts_engine_counts(f->engine)->active_by_level[1], 0);
    assert_int_equal(alerts_engine_counts(f->engine)->active_by_level[2], 1);
    dd_arena_destroy(&arena);
    free(b);
}

/* A directory holding a database only an earlier layout had is refused. */
static void refused_with(const char *db)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/test_alerts_layout.XXXXXX");
    assert_non_null(mkdtemp(dir));
    dd_store_options so = {.map_bytes = 1 << 20, .max_dbs = 24};
    dd_store *store;
    assert_int_equal(dd_store_open(dir, &so, &store), 0);
    MDB_dbi dbi;
    assert_int_equal(dd_store_dbi(store, db, 0, &dbi), 0);
    alerts_book *book = NULL;
    assert_int_equal(alerts_book_open(store, &book), DD_ECORRUPT);
    assert_null(book);
    dd_store_close(&store);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_earlier_layouts_refused(void **state)
{
    (void)state;
    refused_with("deadlines"); /* the first layout */
    refused_with("schedule");  /* the second */
}

int main(void)
{
    dd_diag_init("test_alerts_engine", DD_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ladder),
        cmocka_unit_test_setup_teardown(test_escalation_dedup_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inhibition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_is_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_blocks_and_trim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints_and_rebuilds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aborted_raise_leaves_no_schedule, setup, teardown),
        cmocka_unit_test(test_earlier_layouts_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
