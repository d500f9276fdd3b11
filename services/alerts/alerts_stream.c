/* alerts_stream.c: the alert stream and its replay index (see alerts_stream.h). */
#include "alerts_stream.h"

#include "alloc.h"
#include "error.h"
#include "alerts_ladder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pending {
    char topic[13];
    uint8_t *entry;
    size_t len;
} pending;

struct alerts_stream {
    dd_store *store;
    dd_log *log;
    MDB_dbi index;
    pending *pend;
    size_t npend, cap;
    alerts_publish_fn publish;
    void *publish_arg;
    uint8_t resume[24];
    size_t resume_len;
};

static const size_t level_digits[ALERTS_LEVELS] = {2, 4, 6, 9, 12};

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static size_t index_key(uint8_t *key, const char *region, size_t digits, uint64_t seq)
{
    key[0] = (uint8_t)digits;
    memcpy(key + 1, region, digits);
    put_be64(key + 1 + digits, seq);
    return 1 + digits + 8;
}

static void drop_pending(alerts_stream *s)
{
    for (size_t i = 0; i < s->npend; i++)
        free(s->pend[i].entry);
    s->npend = 0;
}

static void committed(void *arg)
{
    alerts_stream *s = arg;
    for (size_t i = 0; i < s->npend; i++)
        if (s->publish)
            s->publish(s->publish_arg, s->pend[i].topic, s->pend[i].entry, s->pend[i].len);
    drop_pending(s);
}

static void aborted(void *arg)
{
    drop_pending(arg);
}

int alerts_stream_open(dd_store *store, dd_log *log, alerts_stream **out)
{
    alerts_stream *s = dd_calloc(1, sizeof(*s));
    s->store = store;
    s->log = log;
    int rc = dd_store_dbi(store, "replay", 0, &s->index);
    if (rc) {
        free(s);
        return rc;
    }
    dd_store_participant p = {committed, aborted, s};
    dd_store_add_participant(store, &p);
    *out = s;
    return 0;
}

void alerts_stream_close(alerts_stream **sp)
{
    if (!sp || !*sp)
        return;
    drop_pending(*sp);
    free((*sp)->pend);
    free(*sp);
    *sp = NULL;
}

void alerts_stream_set_publisher(alerts_stream *s, alerts_publish_fn fn, void *arg)
{
    s->publish = fn;
    s->publish_arg = arg;
}

/* The last sequence indexed for an area before any appended now. */
static int previous_of(alerts_stream *s, MDB_cursor *c, const char *region, size_t digits,
                       uint64_t *prev)
{
    uint8_t key[24];
    size_t klen = index_key(key, region, digits, UINT64_MAX);
    MDB_val k = {klen, key}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (rc == 0)
        rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
    else if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    *prev = 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (k.mv_size == klen && memcmp(k.mv_data, key, klen - 8) == 0)
        *prev = get_be64((const uint8_t *)k.mv_data + klen - 8);
    (void)s;
    return 0;
}

int alerts_stream_append(alerts_stream *s, MDB_txn *txn, Doudi__AlertUpdate *u, uint64_t *seq_out)
{
    const char *region = u->alert->region_code;
    if (strlen(region) != 12)
        return DD_EPROTO;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->index, &c);
    if (rc)
        return rc;
    uint64_t prev[ALERTS_LEVELS];
    for (int l = 0; l < ALERTS_LEVELS && rc == 0; l++)
        rc = previous_of(s, c, region, level_digits[l], &prev[l]);
    mdb_cursor_close(c);
    if (rc)
        return rc;
    u->previous_in_area = prev;
    u->n_previous_in_area = ALERTS_LEVELS;
    size_t len = doudi__alert_update__get_packed_size(u);
    uint8_t *buf = dd_malloc(len ? len : 1);
    doudi__alert_update__pack(u, buf);
    u->previous_in_area = NULL;
    u->n_previous_in_area = 0;
    uint64_t seq;
    rc = dd_log_append(s->log, txn, DOUDI__ALERTS_RECORD_KIND__ALERTS_RECORD_KIND_UPDATE, u->at_ms,
                       buf, len, &seq);
    for (int l = 0; l < ALERTS_LEVELS && rc == 0; l++) {
        uint8_t key[24];
        MDB_val k = {index_key(key, region, level_digits[l], seq), key}, v = {0, ""};
        rc = mdb_put(txn, s->index, &k, &v, 0);
    }
    if (rc) {
        free(buf);
        return rc;
    }
    if (s->npend == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->pend = dd_realloc(s->pend, s->cap * sizeof(*s->pend));
    }
    pending *p = &s->pend[s->npend++];
    memcpy(p->topic, region, 12);
    p->topic[12] = '\0';
    alerts_buf entry = {0};
    alerts_wire_entry(&entry, seq, buf, len);
    free(buf);
    p->entry = entry.data;
    p->len = entry.len;
    if (seq_out)
        *seq_out = seq;
    return 0;
}

static int add_entry(alerts_stream *s, MDB_txn *txn, uint64_t seq, alerts_buf *out, int *found)
{
    dd_log_header h;
    const void *payload;
    size_t len;
    int rc = dd_log_get(s->log, txn, seq, &h, &payload, &len);
    *found = rc == 0;
    if (rc == DD_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    alerts_buf_varint(out, 1 << 3 | 2);
    alerts_buf_varint(out, alerts_wire_entry_size(seq, len));
    alerts_wire_entry(out, seq, payload, len);
    return 0;
}

int alerts_stream_replay(alerts_stream *s, const char *prefix, uint64_t after,
                         uint32_t max_entries, size_t max_bytes, alerts_buf *out,
                         alerts_replay_result *r)
{
    memset(r, 0, sizeof(*r));
    r->head = dd_log_head(s->log);
    MDB_txn *txn;
    int rc = mdb_txn_begin(dd_store_env(s->store), NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    r->first = dd_log_first(s->log);
    r->trimmed = r->first > 0 && after + 1 < r->first;
    size_t start_len = out->len;
    size_t digits = strlen(prefix);
    r->scanned_through = after > r->head ? after : r->head;
    if (digits == 0) {
        uint64_t seq = after + 1;
        if (r->trimmed)
            seq = r->first;
        for (; seq <= r->head && rc == 0; seq++) {
            if (r->entries >= max_entries || out->len - start_len >= max_bytes) {
                r->scanned_through = seq - 1;
                break;
            }
            int found;
            rc = add_entry(s, txn, seq, out, &found);
            r->entries += (size_t)found;
        }
    } else {
        MDB_cursor *c;
        if ((rc = mdb_cursor_open(txn, s->index, &c)) == 0) {
            uint8_t key[24];
            size_t klen = index_key(key, prefix, digits, after + 1);
            MDB_val k = {klen, key}, v;
            rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
            while (rc == 0 && k.mv_size == klen && memcmp(k.mv_data, key, klen - 8) == 0) {
                uint64_t seq = get_be64((const uint8_t *)k.mv_data + klen - 8);
                if (seq > r->head)
                    break;
                if (r->entries >= max_entries || out->len - start_len >= max_bytes) {
                    r->scanned_through = seq - 1;
                    break;
                }
                int found;
                if ((rc = add_entry(s, txn, seq, out, &found)) != 0)
                    break;
                r->entries += (size_t)found;
                rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
            }
            if (rc == MDB_NOTFOUND)
                rc = 0;
            mdb_cursor_close(c);
        }
    }
    mdb_txn_abort(txn);
    return rc;
}

typedef struct trim_ctx {
    alerts_stream *s;
    size_t limit, deleted;
} trim_ctx;

static int trim_fn(MDB_txn *txn, void *arg)
{
    trim_ctx *t = arg;
    alerts_stream *s = t->s;
    uint64_t first = dd_log_first(s->log);
    t->deleted = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->index, &c);
    if (rc)
        return rc;
    MDB_val k = {s->resume_len, s->resume}, v;
    rc = mdb_cursor_get(c, &k, &v, s->resume_len ? MDB_SET_RANGE : MDB_FIRST);
    size_t seen = 0;
    while (rc == 0 && seen < t->limit) {
        seen++;
        if (k.mv_size >= 9 && k.mv_size <= sizeof(s->resume)) {
            uint64_t seq = get_be64((const uint8_t *)k.mv_data + k.mv_size - 8);
            if (first == 0 || seq < first) {
                if ((rc = mdb_cursor_del(c, 0)) != 0)
                    break;
                t->deleted++;
            }
        }
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && k.mv_size <= sizeof(s->resume)) {
        memcpy(s->resume, k.mv_data, k.mv_size);
        s->resume_len = k.mv_size;
    } else if (rc == MDB_NOTFOUND) {
        s->resume_len = 0; /* wrap around */
        rc = 0;
    }
    mdb_cursor_close(c);
    return rc;
}

int alerts_stream_trim_index(alerts_stream *s, size_t limit, size_t *deleted)
{
    if (dd_log_first(s->log) <= 1 && dd_log_head(s->log) > 0) {
        if (deleted)
            *deleted = 0;
        return 0; /* nothing trimmed yet */
    }
    trim_ctx t = {s, limit, 0};
    int rc = dd_store_write(s->store, trim_fn, &t);
    if (deleted)
        *deleted = rc ? 0 : t.deleted;
    return rc;
}
