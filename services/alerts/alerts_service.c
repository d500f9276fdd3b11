/* alerts_service.c: the request endpoint's answers (see alerts_service.h). */
#include "alerts_service.h"

#include "error.h"
#include "alerts_ladder.h"

#include <stdlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const req_names[ALERTS_REQ_COUNT] = {"bad", "replay", "list", "get",
                                                        "silence", "silences", "rate"};

const char *alerts_req_name(alerts_req_type t)
{
    return t < ALERTS_REQ_COUNT ? req_names[t] : "bad";
}

static void pack_reply(alerts_buf *out, Doudi__AlertsReply *r)
{
    size_t len = doudi__alerts_reply__get_packed_size(r);
    uint8_t *buf = dd_malloc(len ? len : 1);
    doudi__alerts_reply__pack(r, buf);
    alerts_buf_put(out, buf, len);
    free(buf);
}

static void refuse(alerts_buf *out, uint64_t request_id, const char *text)
{
    Doudi__AlertsReply r = DOUDI__ALERTS_REPLY__INIT;
    r.request_id = request_id;
    r.error_text = (char *)text;
    pack_reply(out, &r);
}

/* ---- replay ------------------------------------------------------------------ */

static const char *replay(alerts_service *s, uint64_t request_id, const Doudi__ReplayRequest *q,
                          alerts_buf *out)
{
    if (!alerts_prefix_valid(q->region_prefix))
        return "region_prefix is \"\" (everything) or 2, 4, 6, 9 or 12 digits";
    uint32_t max = q->max_entries && q->max_entries < s->replay_max_entries ? q->max_entries
                                                                            : s->replay_max_entries;
    alerts_buf body = {0};
    alerts_replay_result r;
    int rc = alerts_stream_replay(s->stream, q->region_prefix, q->after_sequence, max,
                                  s->replay_max_bytes, &body, &r);
    if (rc) {
        alerts_buf_free(&body);
        return "the stream cannot be read right now";
    }
    s->replay_entries_served += r.entries;
    alerts_buf_field_varint(&body, 2, r.scanned_through);
    alerts_buf_field_varint(&body, 3, r.head);
    alerts_buf_field_varint(&body, 4, r.first);
    if (r.trimmed)
        alerts_buf_field_varint(&body, 5, 1);
    alerts_buf_field_varint(out, 1, request_id);
    alerts_buf_field_bytes(out, 10, body.data, body.len);
    alerts_buf_free(&body);
    return NULL;
}

/* ---- list and get ---------------------------------------------------------- */

typedef struct list_ctx {
    alerts_service *s;
    MDB_txn *txn;
    const Doudi__ListRequest *q;
    int64_t clock_ms;
    size_t prefix_len;
    Doudi__StoredAlert **alerts;
    size_t nalerts, limit;
    uint64_t last;
    bool more;
    int rc;
} list_ctx;

static bool state_wanted(const Doudi__ListRequest *q, Doudi__AlertState st)
{
    if (q->n_states == 0)
        return st == DOUDI__ALERT_STATE__ALERT_STATE_OPEN ||
               st == DOUDI__ALERT_STATE__ALERT_STATE_ESCALATED ||
               st == DOUDI__ALERT_STATE__ALERT_STATE_ACKNOWLEDGED ||
               st == DOUDI__ALERT_STATE__ALERT_STATE_SILENCED || !q->unresolved_only;
    for (size_t i = 0; i < q->n_states; i++)
        if (q->states[i] == st)
            return true;
    return false;
}

static int collect_alert(void *arg, uint64_t number, Doudi__StoredAlert *a)
{
    list_ctx *c = arg;
    if (strncmp(a->region_code, c->q->region_prefix, c->prefix_len) != 0 ||
        !state_wanted(c->q, a->state))
        return 0;
    if (c->nalerts == c->limit) {
        c->more = true;
        return 1;
    }
    c->alerts[c->nalerts++] = a;
    c->last = number;
    return 0;
}

/* An unresolved alert of the prefix (from the small `open` entries): read it. */
static int collect_open(void *arg, uint64_t number, const alerts_open_entry *o)
{
    list_ctx *c = arg;
    if (memcmp(o->region, c->q->region_prefix, c->prefix_len) != 0)
        return 0;
    Doudi__StoredAlert *a;
    int rc = alerts_book_get(c->s->book, c->txn, number, c->clock_ms, c->s->arena, &a, NULL);
    if (rc == DD_NOTFOUND || rc == DD_ECORRUPT)
        return 0;
    if (rc) {
        c->rc = rc;
        return 1;
    }
    return collect_alert(c, number, a);
}

static const char *list(alerts_service *s, MDB_txn *txn, const Doudi__ListRequest *q,
                        Doudi__ListReply *r)
{
    if (!alerts_prefix_valid(q->region_prefix))
        return "region_prefix is \"\" (everything) or 2, 4, 6, 9 or 12 digits";
    list_ctx c = {.s = s, .txn = txn, .q = q};
    c.clock_ms = alerts_book_meta_get(s->book, txn, "clock");
    c.prefix_len = strlen(q->region_prefix);
    c.limit = q->limit && q->limit < 1000 ? q->limit : 1000;
    c.alerts = dd_arena_alloc(s->arena, (c.limit + 1) * sizeof(void *));
    int rc;
    if (q->unresolved_only)
        rc = alerts_book_open_each(s->book, txn, q->after_number, collect_open, &c);
    else
        rc = alerts_book_each(s->book, txn, q->after_number, c.clock_ms, s->arena, collect_alert,
                              &c);
    if (rc == 1)
        rc = c.rc;
    if (rc)
        return "the alerts cannot be read right now";
    r->alerts = c.alerts;
    r->n_alerts = c.nalerts;
    r->next_after_number = c.more ? c.last : 0;
    return NULL;
}

/* ---- silences ------------------------------------------------------------------ */

typedef struct silence_ctx {
    alerts_service *s;
    Doudi__Silence *silence;
} silence_ctx;

static int add_silence(MDB_txn *txn, void *arg)
{
    silence_ctx *c = arg;
    return alerts_engine_add_silence(c->s->engine, txn, c->silence);
}

static const char *silence(alerts_service *s, const Doudi__SilenceRequest *q, Doudi__SilenceReply *r)
{
    if (!s->caller_operates)
        return "only an operator (grant * in doudi-alerts' [auth] clients_file) may silence "
               "alerts";
    Doudi__Silence *sl = q->silence;
    if (!sl)
        return "a silence request carries a silence";
    if (!alerts_prefix_valid(sl->region_prefix))
        return "silence.region_prefix is \"\" (everything) or 2, 4, 6, 9 or 12 digits";
    if (sl->kind < 0 || sl->kind >= ALERTS_KINDS ||
        (sl->kind && !protobuf_c_enum_descriptor_get_value(&doudi__alert_kind__descriptor, sl->kind)))
        return "silence.kind is not an AlertKind (0: every kind)";
    if (sl->ends_at_ms <= sl->starts_at_ms)
        return "silence.ends_at_ms must be after starts_at_ms";
    if (sl->ends_at_ms - sl->starts_at_ms > 366LL * 86400000)
        return "a silence lasts at most 366 days";
    if (strlen(sl->created_by) == 0 || strlen(sl->created_by) > 64)
        return "silence.created_by names the operator (1 to 64 bytes)";
    if (strlen(sl->comment) > 512)
        return "silence.comment is at most 512 bytes";
    silence_ctx c = {s, sl};
    if (dd_store_write(s->store, add_silence, &c) != 0)
        return "the silence could not be stored";
    r->silence = sl;
    return NULL;
}

/* ---- the dispatcher ----------------------------------------------------------------- */

void alerts_service_handle(alerts_service *s, const uint8_t *request, size_t len,
                           alerts_buf *out, alerts_req_type *type, int *refused)
{
    ProtobufCAllocator al = dd_arena_protobuf_allocator(s->arena);
    Doudi__AlertsRequest *q = doudi__alerts_request__unpack(&al, len, request);
    *type = ALERTS_REQ_BAD;
    *refused = 1;
    if (!q) {
        refuse(out, 0, "the message is not an encoded doudi.AlertsRequest (alerts.proto)");
        return;
    }
    if (q->request_case == DOUDI__ALERTS_REQUEST__REQUEST_REPLAY) {
        *type = ALERTS_REQ_REPLAY;
        const char *err = replay(s, q->request_id, q->replay, out);
        if (err)
            refuse(out, q->request_id, err);
        *refused = err != NULL;
        return;
    }
    Doudi__AlertsReply r = DOUDI__ALERTS_REPLY__INIT;
    r.request_id = q->request_id;
    const char *err = NULL;
    MDB_txn *txn = NULL;
    Doudi__ListReply list_r = DOUDI__LIST_REPLY__INIT;
    Doudi__GetReply get_r = DOUDI__GET_REPLY__INIT;
    Doudi__SilenceReply sil_r = DOUDI__SILENCE_REPLY__INIT;
    Doudi__SilenceListReply sils_r = DOUDI__SILENCE_LIST_REPLY__INIT;
    Doudi__RateReply rate_r = DOUDI__RATE_REPLY__INIT;
    if (q->request_case == DOUDI__ALERTS_REQUEST__REQUEST_SILENCE) {
        *type = ALERTS_REQ_SILENCE;
        err = silence(s, q->silence, &sil_r);
        r.reply_case = DOUDI__ALERTS_REPLY__REPLY_SILENCE;
        r.silence = &sil_r;
    } else if (mdb_txn_begin(dd_store_env(s->store), NULL, MDB_RDONLY, &txn) != 0) {
        txn = NULL;
        err = "the store cannot be read right now";
    } else {
        switch (q->request_case) {
        case DOUDI__ALERTS_REQUEST__REQUEST_LIST:
            *type = ALERTS_REQ_LIST;
            err = list(s, txn, q->list, &list_r);
            r.reply_case = DOUDI__ALERTS_REPLY__REPLY_LIST;
            r.list = &list_r;
            break;
        case DOUDI__ALERTS_REQUEST__REQUEST_GET: {
            *type = ALERTS_REQ_GET;
            uint64_t n = alerts_id_parse(q->get->alert_id);
            Doudi__StoredAlert *a = NULL;
            if (!n || alerts_book_get(s->book, txn, n, alerts_book_meta_get(s->book, txn, "clock"),
                                      s->arena, &a, NULL) != 0) {
                char *e = dd_arena_alloc(s->arena, 128);
                snprintf(e, 128, "alert '%.64s' is not held", q->get->alert_id);
                err = e;
            }
            get_r.alert = a;
            r.reply_case = DOUDI__ALERTS_REPLY__REPLY_GET;
            r.get = &get_r;
            break;
        }
        case DOUDI__ALERTS_REQUEST__REQUEST_SILENCES:
            *type = ALERTS_REQ_SILENCES;
            if (alerts_book_silences(s->book, txn, s->arena, &sils_r.silences, &sils_r.n_silences))
                err = "the silences cannot be read right now";
            r.reply_case = DOUDI__ALERTS_REPLY__REPLY_SILENCES;
            r.silences = &sils_r;
            break;
        case DOUDI__ALERTS_REQUEST__REQUEST_RATE: {
            *type = ALERTS_REQ_RATE;
            const char *p = q->rate->region_prefix;
            if (!alerts_prefix_valid(p) || !p[0]) {
                err = "region_prefix is 2, 4, 6, 9 or 12 digits";
            } else if (q->rate->month_yyyymm &&
                       (q->rate->month_yyyymm < 190001 || q->rate->month_yyyymm % 100 < 1 ||
                        q->rate->month_yyyymm % 100 > 12)) {
                err = "month_yyyymm is YYYYMM, or 0 for every month";
            } else if (alerts_book_rate_get(s->book, txn, p, q->rate->month_yyyymm, &rate_r.due,
                                            &rate_r.handled_in_time) != 0) {
                err = "the rates cannot be read right now";
            }
            rate_r.region_prefix = (char *)p;
            rate_r.month_yyyymm = q->rate->month_yyyymm;
            r.reply_case = DOUDI__ALERTS_REPLY__REPLY_RATE;
            r.rate = &rate_r;
            break;
        }
        default:
            err = "the request names none of replay, list, get, silence, silences, rate";
            break;
        }
    }
    if (err) {
        r.reply_case = DOUDI__ALERTS_REPLY__REPLY__NOT_SET;
        r.error_text = (char *)err;
    }
    pack_reply(out, &r);
    if (txn)
        mdb_txn_abort(txn);
    *refused = err != NULL;
}
