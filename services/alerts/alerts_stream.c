/* alerts_stream.c: the alert stream and its replay index (see alerts_stream.h). */
#include "alerts_stream.h"

#include "alloc.h"
#include "error.h"
#include "alerts_hashmap.h"
#include "alerts_ladder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pending {
    char topic[13];
    size_t offset, len;
} pending;

/* One area's newest block of the replay index, as in the store after the
 * batch's flush. */
typedef struct area {
    uint8_t key[13]; /* digits . prefix */
    uint8_t keylen;
    bool empty;      /* no block yet */
    bool dirty;      /* changed since the last flush */
    uint64_t first, last;
    size_t len;
    uint8_t deltas[ALERTS_BLOCK_BYTES];
} area;

struct alerts_stream {
    dd_store *store;
    dd_log *log;
    MDB_dbi index;
    pending *pend;
    size_t npend, cap;
    alerts_buf pend_bytes;
    alerts_buf packed;
    alerts_publish_fn publish;
    void *publish_arg;
    /* the areas known in memory: code -> position + 1 in areas[] */
    alerts_hashmap *area_of;
    area *areas;
    size_t nareas, areas_cap;
    size_t *dirty;
    size_t ndirty, dirty_cap;
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

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Reads a varint at *pos of p[0..len-1]; false when it is cut short. */
static bool get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; *pos < len && shift < 64; shift += 7) {
        uint8_t b = p[(*pos)++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

static size_t block_key(uint8_t *key, const char *prefix, size_t digits, uint64_t first)
{
    key[0] = (uint8_t)digits;
    memcpy(key + 1, prefix, digits);
    put_be64(key + 1 + digits, first);
    return 1 + digits + 8;
}

/* The last sequence of a block, given its first and its deltas. */
static bool block_last(uint64_t first, const uint8_t *deltas, size_t len, uint64_t *last)
{
    size_t pos = 0;
    uint64_t seq = first;
    while (pos < len) {
        uint64_t d;
        if (!get_varint(deltas, len, &pos, &d))
            return false;
        seq += d;
    }
    *last = seq;
    return true;
}

/* ---- publication and transactions --------------------------------------------- */

static void forget_areas(alerts_stream *s)
{
    alerts_hashmap_clear(s->area_of);
    s->nareas = 0;
    s->ndirty = 0;
}

static void drop_pending(alerts_stream *s)
{
    s->npend = 0;
    s->pend_bytes.len = 0;
}

static void committed(void *arg)
{
    alerts_stream *s = arg;
    for (size_t i = 0; i < s->npend; i++)
        if (s->publish)
            s->publish(s->publish_arg, s->pend[i].topic, s->pend_bytes.data + s->pend[i].offset,
                       s->pend[i].len);
    drop_pending(s);
    if (s->pend_bytes.cap > (64u << 20))
        alerts_buf_free(&s->pend_bytes); /* a backlog's worth is not kept */
}

static void aborted(void *arg)
{
    alerts_stream *s = arg;
    drop_pending(s);
    forget_areas(s);
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
    s->area_of = alerts_hashmap_new();
    dd_store_participant p = {committed, aborted, s};
    dd_store_add_participant(store, &p);
    *out = s;
    return 0;
}

void alerts_stream_close(alerts_stream **sp)
{
    if (!sp || !*sp)
        return;
    alerts_stream *s = *sp;
    free(s->pend);
    alerts_buf_free(&s->pend_bytes);
    alerts_buf_free(&s->packed);
    alerts_hashmap_destroy(&s->area_of);
    free(s->areas);
    free(s->dirty);
    free(s);
    *sp = NULL;
}

void alerts_stream_set_publisher(alerts_stream *s, alerts_publish_fn fn, void *arg)
{
    s->publish = fn;
    s->publish_arg = arg;
}

/* ---- areas ------------------------------------------------------------------------ */

/* A number naming an area: its digits and its prefix read as decimal. */
static uint64_t area_code(const char *region, size_t digits)
{
    uint64_t code = digits;
    for (size_t i = 0; i < digits; i++)
        code = code * 10 + (uint64_t)(region[i] - '0');
    return code * 0x9E3779B97F4A7C15ULL;
}

typedef struct find_ctx {
    alerts_stream *s;
    const char *region;
    size_t digits;
    size_t found;
} find_ctx;

static int match_area(void *arg, uint64_t number)
{
    find_ctx *f = arg;
    const area *a = &f->s->areas[number - 1];
    if (a->keylen == 1 + f->digits && memcmp(a->key + 1, f->region, f->digits) == 0) {
        f->found = (size_t)number;
        return 1;
    }
    return 0;
}

/* Reads an area's newest block from the store into a new slot. */
static int load_area(alerts_stream *s, MDB_txn *txn, const char *region, size_t digits,
                     area **out)
{
    if (s->nareas == s->areas_cap) {
        s->areas_cap = s->areas_cap ? s->areas_cap * 2 : 1024;
        s->areas = dd_realloc(s->areas, s->areas_cap * sizeof(area));
    }
    area *a = &s->areas[s->nareas];
    memset(a, 0, offsetof(area, deltas));
    a->key[0] = (uint8_t)digits;
    memcpy(a->key + 1, region, digits);
    a->keylen = (uint8_t)(1 + digits);
    a->empty = true;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->index, &c);
    if (rc)
        return rc;
    uint8_t key[24];
    size_t klen = block_key(key, region, digits, UINT64_MAX);
    MDB_val k = {klen, key}, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (rc == 0)
        rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
    else if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size == klen && memcmp(k.mv_data, key, klen - 8) == 0) {
        if (v.mv_size > ALERTS_BLOCK_BYTES) {
            rc = DD_ECORRUPT;
        } else {
            a->first = get_be64((const uint8_t *)k.mv_data + klen - 8);
            a->len = v.mv_size;
            memcpy(a->deltas, v.mv_data, v.mv_size);
            a->empty = !block_last(a->first, a->deltas, a->len, &a->last);
            if (a->empty)
                rc = DD_ECORRUPT;
        }
    } else if (rc == 0 || rc == MDB_NOTFOUND) {
        rc = 0;
    }
    mdb_cursor_close(c);
    if (rc)
        return rc;
    s->nareas++;
    alerts_hashmap_add(s->area_of, area_code(region, digits), s->nareas);
    *out = a;
    return 0;
}

static int area_get(alerts_stream *s, MDB_txn *txn, const char *region, size_t digits, area **out)
{
    find_ctx f = {s, region, digits, 0};
    alerts_hashmap_each(s->area_of, area_code(region, digits), match_area, &f);
    if (f.found) {
        *out = &s->areas[f.found - 1];
        return 0;
    }
    return load_area(s, txn, region, digits, out);
}

static int write_block(alerts_stream *s, MDB_txn *txn, const area *a)
{
    uint8_t key[24];
    size_t klen = block_key(key, (const char *)a->key + 1, a->key[0], a->first);
    MDB_val k = {klen, key}, v = {a->len, (void *)a->deltas};
    return mdb_put(txn, s->index, &k, &v, 0);
}

/* Adds seq to the area's newest block (a full block is written at once). */
static int area_add(alerts_stream *s, MDB_txn *txn, area *a, uint64_t seq)
{
    if (!a->empty) {
        uint8_t tmp[10];
        size_t n = put_varint(tmp, seq - a->last);
        if (a->len + n <= ALERTS_BLOCK_BYTES) {
            memcpy(a->deltas + a->len, tmp, n);
            a->len += n;
            a->last = seq;
            goto changed;
        }
        int rc = write_block(s, txn, a);
        if (rc)
            return rc;
    }
    a->empty = false;
    a->first = a->last = seq;
    a->len = 0;
changed:
    if (!a->dirty) {
        a->dirty = true;
        if (s->ndirty == s->dirty_cap) {
            s->dirty_cap = s->dirty_cap ? s->dirty_cap * 2 : 1024;
            s->dirty = dd_realloc(s->dirty, s->dirty_cap * sizeof(size_t));
        }
        s->dirty[s->ndirty++] = (size_t)(a - s->areas);
    }
    return 0;
}

int alerts_stream_flush(alerts_stream *s, MDB_txn *txn)
{
    for (size_t i = 0; i < s->ndirty; i++) {
        area *a = &s->areas[s->dirty[i]];
        int rc = write_block(s, txn, a);
        if (rc)
            return rc;
        a->dirty = false;
    }
    s->ndirty = 0;
    return 0;
}

/* ---- appending ------------------------------------------------------------------ */

int alerts_stream_append(alerts_stream *s, MDB_txn *txn, Doudi__AlertUpdate *u, uint64_t *seq_out)
{
    const char *region = u->alert->region_code;
    if (strlen(region) != 12)
        return DD_EPROTO;
    size_t areas[ALERTS_LEVELS]; /* positions: loading one may move the others */
    uint64_t prev[ALERTS_LEVELS];
    for (int l = 0; l < ALERTS_LEVELS; l++) {
        area *a;
        int rc = area_get(s, txn, region, level_digits[l], &a);
        if (rc)
            return rc;
        areas[l] = (size_t)(a - s->areas);
        prev[l] = a->empty ? 0 : a->last;
    }
    u->previous_in_area = prev;
    u->n_previous_in_area = ALERTS_LEVELS;
    size_t len = doudi__alert_update__get_packed_size(u);
    if (s->packed.cap < len + 1) {
        s->packed.cap = len + 1 > 1024 ? len + 1 : 1024;
        s->packed.data = dd_realloc(s->packed.data, s->packed.cap);
    }
    doudi__alert_update__pack(u, s->packed.data);
    u->previous_in_area = NULL;
    u->n_previous_in_area = 0;
    uint64_t seq;
    int rc = dd_log_append(s->log, txn, DOUDI__ALERTS_RECORD_KIND__ALERTS_RECORD_KIND_UPDATE,
                           u->at_ms, s->packed.data, len, &seq);
    for (int l = 0; l < ALERTS_LEVELS && rc == 0; l++)
        rc = area_add(s, txn, &s->areas[areas[l]], seq);
    if (rc)
        return rc;
    if (s->npend == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->pend = dd_realloc(s->pend, s->cap * sizeof(*s->pend));
    }
    pending *p = &s->pend[s->npend++];
    memcpy(p->topic, region, 12);
    p->topic[12] = '\0';
    p->offset = s->pend_bytes.len;
    alerts_wire_entry(&s->pend_bytes, seq, s->packed.data, len);
    p->len = s->pend_bytes.len - p->offset;
    if (seq_out)
        *seq_out = seq;
    return 0;
}

/* ---- replay ------------------------------------------------------------------------ */

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

typedef struct replay_ctx {
    alerts_stream *s;
    MDB_txn *txn;
    uint64_t after;
    uint32_t max_entries;
    size_t max_bytes, start_len;
    alerts_buf *out;
    alerts_replay_result *r;
    bool done;
} replay_ctx;

/* Takes one sequence of the prefix; sets done when the reply is full. */
static int replay_one(replay_ctx *c, uint64_t seq)
{
    if (seq <= c->after)
        return 0;
    if (seq > c->r->head) {
        c->done = true;
        return 0;
    }
    if (c->r->entries >= c->max_entries || c->out->len - c->start_len >= c->max_bytes) {
        c->r->scanned_through = seq - 1;
        c->done = true;
        return 0;
    }
    int found;
    int rc = add_entry(c->s, c->txn, seq, c->out, &found);
    c->r->entries += (size_t)found;
    return rc;
}

static int replay_prefix(replay_ctx *c, const char *prefix, size_t digits)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(c->txn, c->s->index, &cur);
    if (rc)
        return rc;
    uint8_t key[24];
    size_t klen = block_key(key, prefix, digits, c->after + 1);
    MDB_val k = {klen, key}, v;
    /* The block holding after + 1 may start before it. */
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0 || rc == MDB_NOTFOUND) {
        int at = rc;
        MDB_val pk, pv;
        int prc = mdb_cursor_get(cur, &pk, &pv, at == 0 ? MDB_PREV : MDB_LAST);
        if (prc == 0 && pk.mv_size == klen && memcmp(pk.mv_data, key, klen - 8) == 0) {
            k = pk;
            v = pv;
            rc = 0;
        } else if (at == 0) {
            rc = mdb_cursor_get(cur, &k, &v, prc == 0 ? MDB_NEXT : MDB_FIRST);
        } else {
            rc = MDB_NOTFOUND;
        }
    }
    while (rc == 0 && !c->done && k.mv_size == klen && memcmp(k.mv_data, key, klen - 8) == 0) {
        uint64_t seq = get_be64((const uint8_t *)k.mv_data + klen - 8);
        const uint8_t *d = v.mv_data;
        size_t pos = 0;
        if ((rc = replay_one(c, seq)) != 0)
            break;
        while (!c->done && pos < v.mv_size) {
            uint64_t delta;
            if (!get_varint(d, v.mv_size, &pos, &delta)) {
                rc = DD_ECORRUPT;
                break;
            }
            seq += delta;
            if ((rc = replay_one(c, seq)) != 0)
                break;
        }
        if (rc)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
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
    size_t digits = strlen(prefix);
    r->scanned_through = after > r->head ? after : r->head;
    replay_ctx c = {s, txn, after, max_entries, max_bytes, out->len, out, r, false};
    if (digits == 0) {
        uint64_t seq = after + 1;
        if (r->trimmed)
            seq = r->first;
        for (; seq <= r->head && rc == 0 && !c.done; seq++)
            rc = replay_one(&c, seq);
    } else {
        rc = replay_prefix(&c, prefix, digits);
    }
    mdb_txn_abort(txn);
    return rc;
}

/* ---- trimming the index ------------------------------------------------------------- */

typedef struct trim_ctx {
    alerts_stream *s;
    size_t limit, deleted;
} trim_ctx;

/* A block can go when the next block of its area starts at or below the
 * first sequence still held: all of its own are below it. */
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
    uint8_t prev[24];
    size_t prev_len = 0;
    while (rc == 0 && seen < t->limit) {
        seen++;
        if (k.mv_size >= 9 && k.mv_size <= sizeof(prev)) {
            uint64_t start = get_be64((const uint8_t *)k.mv_data + k.mv_size - 8);
            if (prev_len == k.mv_size && memcmp(prev, k.mv_data, k.mv_size - 8) == 0 &&
                (first == 0 || start <= first)) {
                /* prev is a block of the same area wholly below `first`. */
                MDB_val pk = {prev_len, prev};
                if ((rc = mdb_del(txn, s->index, &pk, NULL)) != 0)
                    break;
                t->deleted++;
                MDB_val again = {k.mv_size, NULL};
                uint8_t cur[24];
                memcpy(cur, k.mv_data, k.mv_size);
                again.mv_data = cur;
                if ((rc = mdb_cursor_get(c, &again, &v, MDB_SET_KEY)) != 0)
                    break;
                k = again;
                memcpy(prev, cur, k.mv_size);
            } else {
                memcpy(prev, k.mv_data, k.mv_size);
            }
            prev_len = k.mv_size;
        }
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && prev_len) {
        /* Resume at the last block looked at: its successor decides it. */
        memcpy(s->resume, prev, prev_len);
        s->resume_len = prev_len;
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
