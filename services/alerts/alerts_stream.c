/* alerts_stream.c: the alert stream and its replay index (see alerts_stream.h). */
#include "alerts_stream.h"

#include "alloc.h"
#include "error.h"
#include "alerts_ladder.h"
#include "clock.h"
#include "diag.h"
#include "wire.h"
#include "wiredecode.h"
#include "wireencode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pending {
    char topic[13];
    size_t offset, len;
} pending;

/* One area's open block of the replay index (as the last checkpoint stored
 * it, with the sequences appended since), and, once a replay needed it,
 * where its closed blocks are.
 * What every append reads and writes comes first, in the area's first cache
 * line (areas[] is 64-byte aligned): an append touches five areas, spread
 * over 28,000 in a province, and each line it reaches is a cache miss. */
typedef struct area {
    uint64_t code;   /* area_code() */
    uint64_t first, last;
    /* a village's province, city, county and township, once looked up
     * (positions in areas[]) */
    uint32_t parent[ALERTS_LEVELS - 1];
    bool parents_known;
    bool empty;      /* no block yet */
    bool dirty;      /* changed since the last checkpoint */
    uint8_t len;     /* bytes of deltas */
    uint8_t keylen;
    uint8_t key[13]; /* digits . prefix */
    uint8_t line_end[6];
    uint8_t deltas[ALERTS_BLOCK_BYTES_READ];
    bool dir_known;  /* dir lists every closed block still held */
    uint64_t *dir;   /* closing sequences of its closed blocks, rising */
    size_t ndir, dircap;
    uint8_t unused[32];
} area;
_Static_assert(offsetof(area, deltas) == 64, "an append reads one line of an area, then its deltas");
_Static_assert(sizeof(area) == 256, "areas stay aligned to cache lines");

struct alerts_stream {
    dd_store *store;
    dd_log *log;
    MDB_dbi closed, open;
    pending *pend;
    size_t npend, cap;
    alerts_buf pend_bytes;
    dd_wire_writer packed; /* the update being appended, encoded */
    alerts_publish_fn publish;
    alerts_listening_fn listening;
    void *publish_arg;
    /* the areas known in memory: an open-addressing table of positions + 1
     * in areas[] by area_code() (at most half full) */
    uint32_t *area_of;
    size_t area_of_cap;
    area *areas;
    size_t nareas, areas_cap;
    size_t *dirty;   /* areas changed since the last checkpoint */
    size_t ndirty, dirty_cap;
    /* Checkpoints: the one committed, the one the write in progress will
     * commit, whether the store holds one at all, how often. */
    uint64_t checkpointed, txn_checkpoint;
    bool checkpoint_stored, txn_stored;
    uint64_t checkpoint_every;
    /* The stream's head as the write in progress sees it. */
    uint64_t head;
    /* The areas must be rebuilt before next used (an aborted write). */
    bool stale;
    /* Rebuilding: the full blocks it closes are already stored. */
    bool rebuilding;
    dd_arena *rebuild_arena;
};

/* replay_open's key of the checkpoint: no area's key starts with 0. */
static const uint8_t checkpoint_key[1] = {0};

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

/* Reads a varint at *pos of p[0..len-1]; false when it is cut short. */
static bool get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
    const uint8_t *at = p + *pos;
    if (!dd_wire_u64(&at, p + len, v))
        return false;
    *pos = (size_t)(at - p);
    return true;
}

/* A closed block's key: the sequence that did not fit in it, then its
 * area's digits. */
static void closed_key(uint8_t key[9], uint64_t closing, size_t digits)
{
    put_be64(key, closing);
    key[8] = (uint8_t)digits;
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
    for (size_t i = 0; i < s->nareas; i++)
        free(s->areas[i].dir);
    memset(s->area_of, 0, s->area_of_cap * sizeof(uint32_t));
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
    s->checkpointed = s->txn_checkpoint;
    s->checkpoint_stored = s->txn_stored;
    if (s->publish && s->npend && (!s->listening || s->listening(s->publish_arg)))
        for (size_t i = 0; i < s->npend; i++)
            s->publish(s->publish_arg, s->pend[i].topic, s->pend_bytes.data + s->pend[i].offset,
                       s->pend[i].len);
    drop_pending(s);
    /* A backlog's worth (a month's escalations at once) is not kept, but
     * anything up to 256 MiB is: grown again from nothing at every batch,
     * the buffer was copied at each doubling and its fresh pages faulted in
     * (copies into it and its page faults were 8 % of the daemon's CPU in a
     * profile of a province-month). */
    if (s->pend_bytes.cap > (256u << 20))
        alerts_buf_free(&s->pend_bytes);
}

static void aborted(void *arg)
{
    alerts_stream *s = arg;
    drop_pending(s);
    forget_areas(s);
    s->txn_checkpoint = s->checkpointed;
    s->txn_stored = s->checkpoint_stored;
    s->stale = true;
}

static int rebuild(alerts_stream *s, MDB_txn *txn);

int alerts_stream_open(dd_store *store, dd_log *log, alerts_stream **out)
{
    alerts_stream *s = dd_calloc(1, sizeof(*s));
    s->store = store;
    s->log = log;
    int rc = dd_store_dbi(store, "replay_closed", 0, &s->closed);
    if (rc == 0)
        rc = dd_store_dbi(store, "replay_open", 0, &s->open);
    if (rc) {
        free(s);
        return rc;
    }
    s->area_of_cap = 1u << 16;
    s->area_of = dd_calloc(s->area_of_cap, sizeof(uint32_t));
    s->checkpoint_every = ALERTS_CHECKPOINT_RECORDS;
    MDB_txn *txn;
    if ((rc = mdb_txn_begin(dd_store_env(store), NULL, MDB_RDONLY, &txn)) == 0) {
        MDB_val k = {sizeof(checkpoint_key), (void *)checkpoint_key}, v;
        rc = mdb_get(txn, s->open, &k, &v);
        if (rc == 0 && v.mv_size == 8) {
            s->checkpointed = get_be64(v.mv_data);
            s->checkpoint_stored = true;
        } else if (rc == MDB_NOTFOUND) {
            /* Written by an earlier version, at every commit: complete. */
            s->checkpointed = dd_log_head(log);
            rc = 0;
        } else if (rc == 0) {
            rc = DD_ECORRUPT;
        }
        s->txn_checkpoint = s->checkpointed;
        s->txn_stored = s->checkpoint_stored;
        int64_t t0 = dd_monotonic_ns();
        if (rc == 0 && (rc = rebuild(s, txn)) == 0 && dd_log_head(log) > s->checkpointed)
            dd_info("replay index: %llu records after the checkpoint at %llu read again in %.1f s",
                    (unsigned long long)(dd_log_head(log) - s->checkpointed),
                    (unsigned long long)s->checkpointed, (double)(dd_monotonic_ns() - t0) / 1e9);
        mdb_txn_abort(txn);
    }
    if (rc) {
        alerts_stream_close(&s);
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
    alerts_stream *s = *sp;
    free(s->pend);
    alerts_buf_free(&s->pend_bytes);
    dd_wire_writer_free(&s->packed);
    forget_areas(s);
    dd_arena_destroy(&s->rebuild_arena);
    free(s->area_of);
    free(s->areas);
    free(s->dirty);
    free(s);
    *sp = NULL;
}

void alerts_stream_set_publisher(alerts_stream *s, alerts_publish_fn fn,
                                 alerts_listening_fn listening, void *arg)
{
    s->publish = fn;
    s->listening = listening;
    s->publish_arg = arg;
}

/* ---- areas ------------------------------------------------------------------------ */

/* A number naming an area: its digits, then its prefix, read as decimal
 * (prefixes of 2, 4, 6, 9 and 12 digits give numbers of different lengths,
 * so no two areas share one). */
static uint64_t area_code(const char *region, size_t digits)
{
    uint64_t code = digits;
    for (size_t i = 0; i < digits; i++)
        code = code * 10 + (uint64_t)(region[i] - '0');
    return code;
}

static size_t area_home(uint64_t code, size_t cap)
{
    code *= 0x9E3779B97F4A7C15ULL;
    return (size_t)(code >> 32) & (cap - 1);
}

/* The area with this code, or NULL. */
static area *area_find(alerts_stream *s, uint64_t code)
{
    for (size_t i = area_home(code, s->area_of_cap); s->area_of[i];
         i = (i + 1) & (s->area_of_cap - 1)) {
        area *a = &s->areas[s->area_of[i] - 1];
        if (a->code == code)
            return a;
    }
    return NULL;
}

static void area_index(alerts_stream *s, uint64_t code, uint32_t position)
{
    size_t i = area_home(code, s->area_of_cap);
    while (s->area_of[i])
        i = (i + 1) & (s->area_of_cap - 1);
    s->area_of[i] = position;
}

/* Makes room for one more area in the table (doubling it past half full). */
static void area_reserve(alerts_stream *s)
{
    if ((s->nareas + 1) * 2 <= s->area_of_cap)
        return;
    free(s->area_of);
    s->area_of_cap *= 2;
    s->area_of = dd_calloc(s->area_of_cap, sizeof(uint32_t));
    for (size_t i = 0; i < s->nareas; i++)
        area_index(s, s->areas[i].code, (uint32_t)(i + 1));
}

/* Reads an area's open block from the store into a new slot. */
static int load_area(alerts_stream *s, MDB_txn *txn, const char *region, size_t digits,
                     bool keep_empty, area **out)
{
    if (s->nareas == s->areas_cap) {
        /* 8,192 areas: 2 MiB, which dd_calloc_table aligns to 2 MiB. */
        size_t cap = s->areas_cap ? s->areas_cap * 2 : 8192;
        area *grown = dd_calloc_table(cap, sizeof(area));
        if (s->nareas)
            memcpy(grown, s->areas, s->nareas * sizeof(area));
        free(s->areas);
        s->areas = grown;
        s->areas_cap = cap;
    }
    area *a = &s->areas[s->nareas];
    memset(a, 0, offsetof(area, deltas));
    a->dir_known = false;
    a->dir = NULL;
    a->ndir = a->dircap = 0;
    a->code = area_code(region, digits);
    a->key[0] = (uint8_t)digits;
    memcpy(a->key + 1, region, digits);
    a->keylen = (uint8_t)(1 + digits);
    a->empty = true;
    MDB_val k = {a->keylen, a->key}, v;
    int rc = mdb_get(txn, s->open, &k, &v);
    if (rc == 0) {
        if (v.mv_size < 8 || v.mv_size - 8 > ALERTS_BLOCK_BYTES_READ)
            return DD_ECORRUPT;
        a->first = get_be64(v.mv_data);
        a->len = (uint8_t)(v.mv_size - 8);
        memcpy(a->deltas, (const uint8_t *)v.mv_data + 8, a->len);
        if (!block_last(a->first, a->deltas, a->len, &a->last))
            return DD_ECORRUPT;
        a->empty = false;
    } else if (rc != MDB_NOTFOUND) {
        return rc;
    }
    *out = a;
    if (a->empty && !keep_empty)
        return 0; /* a replay of an area never seen: not kept */
    area_reserve(s);
    s->nareas++;
    area_index(s, a->code, (uint32_t)s->nareas);
    return 0;
}

static int area_get(alerts_stream *s, MDB_txn *txn, const char *region, size_t digits,
                    bool keep_empty, area **out)
{
    area *a = area_find(s, area_code(region, digits));
    if (a) {
        *out = a;
        return 0;
    }
    return load_area(s, txn, region, digits, keep_empty, out);
}

static void dir_push(area *a, uint64_t closing)
{
    if (a->ndir == a->dircap) {
        a->dircap = a->dircap ? a->dircap * 2 : 8;
        a->dir = dd_realloc(a->dir, a->dircap * sizeof(uint64_t));
    }
    a->dir[a->ndir++] = closing;
}

/* Closes an area's open block at `closing` (the sequence that did not fit):
 * an append, since sequences only rise. */
static int close_block(alerts_stream *s, MDB_txn *txn, area *a, uint64_t closing)
{
    size_t digits = a->key[0];
    if (s->rebuilding) {
        if (a->dir_known)
            dir_push(a, closing);
        return 0; /* stored by the write that appended `closing` */
    }
    uint8_t key[9];
    closed_key(key, closing, digits);
    MDB_val k = {sizeof(key), key}, v = {8 + digits + a->len, NULL};
    int rc = mdb_put(txn, s->closed, &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc)
        return rc;
    uint8_t *p = v.mv_data;
    put_be64(p, a->first);
    memcpy(p + 8, a->key + 1, digits);
    memcpy(p + 8 + digits, a->deltas, a->len);
    if (a->dir_known)
        dir_push(a, closing);
    return 0;
}

/* Adds seq to the area's open block (a full block is closed at once). */
static int area_add(alerts_stream *s, MDB_txn *txn, area *a, uint64_t seq)
{
    if (!a->empty) {
        uint8_t tmp[10];
        size_t n = dd_wire_put_varint(tmp, seq - a->last);
        if (a->len + n <= ALERTS_BLOCK_BYTES) {
            memcpy(a->deltas + a->len, tmp, n);
            a->len += n;
            a->last = seq;
            goto changed;
        }
        int rc = close_block(s, txn, a, seq);
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

/* ---- checkpoints and rebuilding ---------------------------------------------- */

static int locate_areas(alerts_stream *s, MDB_txn *txn, const char *region,
                        size_t areas[ALERTS_LEVELS]);

/* Rebuilds the open blocks from the checkpoint and the records after it. */
static int rebuild(alerts_stream *s, MDB_txn *txn)
{
    forget_areas(s);
    s->stale = false;
    s->head = dd_log_head(s->log);
    uint64_t from = s->txn_checkpoint + 1, first = dd_log_first(s->log);
    if (from < first) {
        /* Never after a checkpoint before every trim (alerts_stream.h). */
        dd_warn("replay index: the stream was trimmed through %llu, past its checkpoint at "
                "%llu; replays of the areas of the records in between may be short",
                (unsigned long long)(first - 1), (unsigned long long)s->txn_checkpoint);
        from = first;
    }
    if (!s->rebuild_arena)
        s->rebuild_arena = dd_arena_new(1 << 16);
    s->rebuilding = true;
    int rc = 0;
    for (uint64_t seq = from; seq <= s->head && rc == 0; seq++) {
        dd_log_header h;
        const void *payload;
        size_t len;
        rc = dd_log_get(s->log, txn, seq, &h, &payload, &len);
        if (rc == DD_NOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc)
            break;
        const Doudi__AlertUpdate *u = (const Doudi__AlertUpdate *)dd_wire_unpack(
            &doudi__alert_update__descriptor, payload, len, s->rebuild_arena);
        size_t areas[ALERTS_LEVELS];
        if (!u || !u->alert || strlen(u->alert->region_code) != 12)
            rc = DD_ECORRUPT;
        else
            rc = locate_areas(s, txn, u->alert->region_code, areas);
        for (int l = 0; l < ALERTS_LEVELS && rc == 0; l++)
            rc = area_add(s, txn, &s->areas[areas[l]], seq);
        dd_arena_reset(s->rebuild_arena);
    }
    s->rebuilding = false;
    if (rc) {
        forget_areas(s);
        s->stale = true;
    }
    return rc;
}

static int current(alerts_stream *s, MDB_txn *txn)
{
    return s->stale ? rebuild(s, txn) : 0;
}

void alerts_stream_set_checkpoint_every(alerts_stream *s, uint64_t records)
{
    s->checkpoint_every = records ? records : ALERTS_CHECKPOINT_RECORDS;
}

uint64_t alerts_stream_checkpointed(const alerts_stream *s) { return s->checkpointed; }

int alerts_stream_checkpoint(alerts_stream *s, MDB_txn *txn)
{
    int rc = current(s, txn);
    if (rc)
        return rc;
    for (size_t i = 0; i < s->ndirty; i++) {
        area *a = &s->areas[s->dirty[i]];
        MDB_val k = {a->keylen, a->key}, v = {8 + a->len, NULL};
        if ((rc = mdb_put(txn, s->open, &k, &v, MDB_RESERVE)) != 0)
            return rc;
        put_be64(v.mv_data, a->first);
        memcpy((uint8_t *)v.mv_data + 8, a->deltas, a->len);
    }
    MDB_val k = {sizeof(checkpoint_key), (void *)checkpoint_key}, v = {8, NULL};
    if ((rc = mdb_put(txn, s->open, &k, &v, MDB_RESERVE)) != 0)
        return rc;
    put_be64(v.mv_data, s->head);
    /* Marked clean only now: a put that failed leaves the write to be
     * aborted, and the abort rebuilds the areas anyway. */
    for (size_t i = 0; i < s->ndirty; i++)
        s->areas[s->dirty[i]].dirty = false;
    s->ndirty = 0;
    s->txn_checkpoint = s->head;
    s->txn_stored = true;
    return 0;
}

int alerts_stream_flush(alerts_stream *s, MDB_txn *txn)
{
    if (s->txn_stored && s->head - s->txn_checkpoint < s->checkpoint_every)
        return 0;
    return alerts_stream_checkpoint(s, txn);
}

/* ---- appending ------------------------------------------------------------------ */

/* The positions of the five areas of region (12 digits), loading any not
 * in memory; loading one may move the others, hence positions. */
static int locate_areas(alerts_stream *s, MDB_txn *txn, const char *region,
                        size_t areas[ALERTS_LEVELS])
{
    area *village;
    int rc = area_get(s, txn, region, level_digits[ALERTS_LEVELS - 1], true, &village);
    if (rc)
        return rc;
    areas[ALERTS_LEVELS - 1] = (size_t)(village - s->areas);
    if (!village->parents_known) {
        for (int l = 0; l < ALERTS_LEVELS - 1; l++) {
            area *a;
            if ((rc = area_get(s, txn, region, level_digits[l], true, &a)) != 0)
                return rc;
            areas[l] = (size_t)(a - s->areas);
        }
        village = &s->areas[areas[ALERTS_LEVELS - 1]];
        for (int l = 0; l < ALERTS_LEVELS - 1; l++)
            village->parent[l] = (uint32_t)areas[l];
        village->parents_known = true;
    }
    for (int l = 0; l < ALERTS_LEVELS - 1; l++)
        areas[l] = village->parent[l];
    return 0;
}

int alerts_stream_append(alerts_stream *s, MDB_txn *txn, Doudi__AlertUpdate *u, uint64_t *seq_out)
{
    const char *region = u->alert->region_code;
    if (strlen(region) != 12)
        return DD_EPROTO;
    size_t areas[ALERTS_LEVELS];
    uint64_t prev[ALERTS_LEVELS];
    int rc = current(s, txn);
    if (rc == 0)
        rc = locate_areas(s, txn, region, areas);
    if (rc)
        return rc;
    for (int l = 0; l < ALERTS_LEVELS; l++) {
        const area *a = &s->areas[areas[l]];
        prev[l] = a->empty ? 0 : a->last;
    }
    u->previous_in_area = prev;
    u->n_previous_in_area = ALERTS_LEVELS;
    size_t len;
    const uint8_t *packed = dd_wire_encode(&s->packed, &u->base, &len);
    u->previous_in_area = NULL;
    u->n_previous_in_area = 0;
    uint64_t seq;
    rc = dd_log_append(s->log, txn, DOUDI__ALERTS_RECORD_KIND__ALERTS_RECORD_KIND_UPDATE,
                           u->at_ms, packed, len, &seq);
    if (rc == 0)
        s->head = seq;
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
    alerts_wire_entry(&s->pend_bytes, seq, packed, len);
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

/* Takes the sequences of one block (its first, then its deltas). */
static int replay_block(replay_ctx *c, uint64_t first, const uint8_t *d, size_t len)
{
    uint64_t seq = first;
    size_t pos = 0;
    int rc = replay_one(c, seq);
    while (rc == 0 && !c->done && pos < len) {
        uint64_t delta;
        if (!get_varint(d, len, &pos, &delta))
            return DD_ECORRUPT;
        seq += delta;
        rc = replay_one(c, seq);
    }
    return rc;
}

/* Reads the closed block of area a closed at `closing`: DD_NOTFOUND when
 * it is not held (trimmed) or is another area's. */
static int get_closed(alerts_stream *s, MDB_txn *txn, const area *a, uint64_t closing,
                      uint64_t *first, const uint8_t **deltas, size_t *len)
{
    size_t digits = a->key[0];
    uint8_t key[9];
    closed_key(key, closing, digits);
    MDB_val k = {sizeof(key), key}, v;
    int rc = mdb_get(txn, s->closed, &k, &v);
    if (rc == MDB_NOTFOUND)
        return DD_NOTFOUND;
    if (rc)
        return rc;
    if (v.mv_size < 8 + digits || v.mv_size - 8 - digits > ALERTS_BLOCK_BYTES_READ)
        return DD_ECORRUPT;
    if (memcmp((const uint8_t *)v.mv_data + 8, a->key + 1, digits) != 0)
        return DD_NOTFOUND;
    *first = get_be64(v.mv_data);
    *deltas = (const uint8_t *)v.mv_data + 8 + digits;
    *len = v.mv_size - 8 - digits;
    return 0;
}

/*
 * Lists an area's closed blocks: each names the one before it (its first
 * sequence is the closing sequence of the one before), so the list is
 * walked back from the open block, once; closings extend it after that.
 */
static int build_dir(alerts_stream *s, MDB_txn *txn, area *a)
{
    a->ndir = 0;
    uint64_t closing = a->first;
    for (;;) {
        uint64_t first;
        const uint8_t *d;
        size_t len;
        int rc = get_closed(s, txn, a, closing, &first, &d, &len);
        if (rc == DD_NOTFOUND)
            break;
        if (rc)
            return rc;
        if (first >= closing)
            return DD_ECORRUPT;
        dir_push(a, closing);
        closing = first;
    }
    for (size_t i = 0; i < a->ndir / 2; i++) {
        uint64_t t = a->dir[i];
        a->dir[i] = a->dir[a->ndir - 1 - i];
        a->dir[a->ndir - 1 - i] = t;
    }
    a->dir_known = true;
    return 0;
}

static int replay_prefix(replay_ctx *c, const char *prefix, size_t digits)
{
    alerts_stream *s = c->s;
    area *a;
    int rc = area_get(s, c->txn, prefix, digits, false, &a);
    if (rc || a->empty)
        return rc;
    if (!a->dir_known && (rc = build_dir(s, c->txn, a)) != 0)
        return rc;
    /* The first block that may hold a sequence after c->after: a block
     * holds sequences below its closing one. */
    size_t lo = 0, hi = a->ndir;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->dir[mid] <= c->after + 1)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < a->ndir && !c->done && rc == 0; i++) {
        uint64_t first;
        const uint8_t *d;
        size_t len;
        rc = get_closed(s, c->txn, a, a->dir[i], &first, &d, &len);
        if (rc == DD_NOTFOUND)
            rc = 0; /* trimmed */
        else if (rc == 0)
            rc = replay_block(c, first, d, len);
    }
    if (rc == 0 && !c->done)
        rc = replay_block(c, a->first, a->deltas, a->len);
    return rc;
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
    if ((rc = current(s, txn)) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
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

/* Closed blocks are in the order they closed, and a block holds sequences
 * below its closing one: those closed at or below the first sequence still
 * held are wholly trimmed, and they are the first ones. */
static int trim_fn(MDB_txn *txn, void *arg)
{
    trim_ctx *t = arg;
    alerts_stream *s = t->s;
    uint64_t first = dd_log_first(s->log);
    t->deleted = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->closed, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (rc == 0 && t->deleted < t->limit) {
        if (k.mv_size != 9 || get_be64(k.mv_data) > first)
            break;
        if ((rc = mdb_cursor_del(c, 0)) != 0)
            break;
        t->deleted++;
        rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int alerts_stream_trim_index(alerts_stream *s, size_t limit, size_t *deleted)
{
    if (dd_log_first(s->log) <= 1) {
        if (deleted)
            *deleted = 0;
        return 0; /* nothing trimmed yet */
    }
    trim_ctx t = {s, limit, 0};
    int rc = dd_store_write(s->store, trim_fn, &t);
    if (deleted)
        *deleted = rc ? 0 : t.deleted;
    /* The lists of closed blocks forget those wholly below the log's first
     * sequence: they hold only trimmed records, deleted or about to be. */
    uint64_t first = dd_log_first(s->log);
    for (size_t i = 0; i < s->nareas; i++) {
        area *a = &s->areas[i];
        size_t gone = 0;
        while (gone < a->ndir && a->dir[gone] <= first)
            gone++;
        if (gone) {
            memmove(a->dir, a->dir + gone, (a->ndir - gone) * sizeof(uint64_t));
            a->ndir -= gone;
        }
    }
    return rc;
}
