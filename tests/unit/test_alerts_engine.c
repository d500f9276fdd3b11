/*
 * test_alerts_engine.c: doudi-alerts' engine on a real LMDB store, driven
 * with upstream records as the consumer would hand them over: escalation
 * through every level on the event clock, acknowledgement in time,
 * dedup, inhibition by a death, a plan restarting, acknowledgements
 * refused, the replay index by prefix; and the ladder's pure functions.
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
    uint8_t *bufs[64];
    size_t nbufs;
} fx;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fx *f = dd_calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_alerts_engine.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
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
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    alerts_engine_destroy(&f->engine);
    alerts_book_close(&f->book);
    alerts_stream_close(&f->stream);
    dd_log_close(&f->log);
    dd_store_close(&f->store);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; i < f->nbufs; i++)
        free(f->bufs[i]);
    free(f);
    return 0;
}

/* ---- upstream records ------------------------------------------------------ */

typedef struct batch {
    Doudi__LogRecord recs[16];
    Doudi__LogRecord *ptrs[16];
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
    int rc = alerts_book_get(f->book, txn, number, arena, &a);
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

int main(void)
{
    dd_diag_init("test_alerts_engine", DD_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ladder),
        cmocka_unit_test_setup_teardown(test_escalation_dedup_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inhibition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_is_counted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
