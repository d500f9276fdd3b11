/*
 * dedup.c: the dedup journal and its in-memory table (see dedup.h for why
 * it is built this way).
 *
 * Table: linear probing over a power-of-two array of slots; a slot is empty
 * when its seq is 0 (sequences start at 1). Deletion shifts later members of
 * the probe run back, so lookups never need tombstones. It is read at random
 * over gigabytes, so it lives on huge pages (dd_calloc_table) and the judging
 * prefetches slots ahead of their lookup.
 *
 * At 70% load the table doubles, a little at a time: copying tens of
 * millions of slots at once stopped intake for seconds. The new table takes
 * every insert, and each insert first copies MOVE_PER_INSERT slots of the
 * old one, in whole probe runs, going round from an empty slot (`moved`
 * slots so far); the old table goes when all are copied, long before the
 * new one is 70% full. A key whose home in the old table lies in the copied
 * runs is wholly in the new table; any other is looked for in both. While
 * the old table is read, its entries are never shifted: a deletion leaves a
 * tombstone there (and an update moves the entry to the new table), so a
 * key is never in both tables alive, and no run moves under the copying.
 */
#include "dedup.h"

#include "alloc.h"
#include "diag.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

typedef struct slot {
    intake_dedup_key key;
    uint64_t seq;
} slot;

/* Journal record layout: header then count keys. */
typedef struct journal_header {
    int64_t committed_at_ms;
    uint32_t count;
    uint32_t reserved;
} journal_header;

/* The seq of a deleted slot in the old table while it is being copied. */
#define TOMBSTONE UINT64_MAX
/* Old slots copied per insert while the table doubles: at least 10/7 (the
 * old table's slots over the inserts that bring the new one to 70%). */
#define MOVE_PER_INSERT 4

struct intake_dedup {
    dd_store *store;
    MDB_dbi journal;
    int64_t retention_ms;
    slot *slots;
    size_t mask; /* capacity - 1 */
    size_t count; /* keys held, in either table */
    /* The table being copied into slots (NULL: none): from the empty slot
     * old_start on, old_moved slots are copied. */
    slot *old;
    size_t old_mask, old_start, old_moved;
    /* The batch of the open transaction. */
    intake_dedup_key *pending;
    size_t npending, pending_cap;
    uint64_t pending_first_seq;
    bool flushed;
    /* Batches an expiry transaction deleted; forgotten after its commit. */
    intake_dedup_key *expiring;
    uint64_t *expiring_seq;
    size_t nexpiring, expiring_cap;
};

intake_dedup_key intake_dedup_key_of(const char *source, size_t source_len,
                                     const char *event_id, size_t event_id_len)
{
    char buf[256];
    XXH128_hash_t h;
    if (source_len + event_id_len + 1 <= sizeof(buf)) {
        memcpy(buf, source, source_len);
        buf[source_len] = '\0';
        memcpy(buf + source_len + 1, event_id, event_id_len);
        h = XXH3_128bits(buf, source_len + 1 + event_id_len);
    } else {
        XXH3_state_t state;
        XXH3_128bits_reset(&state);
        XXH3_128bits_update(&state, source, source_len);
        XXH3_128bits_update(&state, "", 1);
        XXH3_128bits_update(&state, event_id, event_id_len);
        h = XXH3_128bits_digest(&state);
    }
    intake_dedup_key k = {h.low64, h.high64};
    return k;
}

static inline size_t slot_of(const intake_dedup *d, intake_dedup_key k)
{
    return (size_t)k.lo & d->mask;
}

static inline bool key_eq(intake_dedup_key a, intake_dedup_key b)
{
    return a.lo == b.lo && a.hi == b.hi;
}

/* The slot holding k in a table, or the empty slot ending its probe run. */
static inline size_t probe(const slot *slots, size_t mask, intake_dedup_key k)
{
    size_t i = (size_t)k.lo & mask;
    while (slots[i].seq && !key_eq(slots[i].key, k))
        i = (i + 1) & mask;
    return i;
}

/* Whether k would be in the old table (its home there is not yet copied). */
static inline bool maybe_in_old(const intake_dedup *d, intake_dedup_key k)
{
    return d->old && ((((size_t)k.lo & d->old_mask) - d->old_start) & d->old_mask) >= d->old_moved;
}

static void finish_moving(intake_dedup *d)
{
    free(d->old);
    d->old = NULL;
}

/* Copies at least n old slots, stopping after an empty one (whole runs). */
static void move_some(intake_dedup *d, size_t n)
{
    size_t cap = d->old_mask + 1;
    for (size_t done = 0; d->old_moved < cap; done++) {
        const slot *s = &d->old[(d->old_start + d->old_moved) & d->old_mask];
        d->old_moved++;
        if (!s->seq) {
            if (done >= n)
                return;
            continue;
        }
        if (s->seq == TOMBSTONE)
            continue;
        size_t i = probe(d->slots, d->mask, s->key);
        if (!d->slots[i].seq)
            d->slots[i] = *s;
    }
    finish_moving(d);
}

static void table_grow(intake_dedup *d)
{
    if (d->old) {
        move_some(d, SIZE_MAX);
    }
    d->old = d->slots;
    d->old_mask = d->mask;
    d->old_moved = 0;
    d->old_start = 0;
    while (d->old[d->old_start].seq)
        d->old_start++;
    size_t cap = (d->mask + 1) * 2;
    d->slots = dd_calloc_table(cap, sizeof(slot));
    d->mask = cap - 1;
}

static void table_insert(intake_dedup *d, intake_dedup_key k, uint64_t seq)
{
    if ((d->count + 1) * 10 > (d->mask + 1) * 7)
        table_grow(d);
    if (d->old)
        move_some(d, MOVE_PER_INSERT);
    size_t i = probe(d->slots, d->mask, k);
    if (d->slots[i].seq) {
        d->slots[i].seq = seq;
        return;
    }
    if (maybe_in_old(d, k)) {
        size_t o = probe(d->old, d->old_mask, k);
        if (d->old[o].seq && d->old[o].seq != TOMBSTONE) {
            d->old[o].seq = TOMBSTONE; /* updated: the entry moves to the new table */
            d->count--;
        }
    }
    d->slots[i].key = k;
    d->slots[i].seq = seq;
    d->count++;
}

/* Removes k if it maps to seq (a later re-acceptance keeps its entry). */
static void table_remove(intake_dedup *d, intake_dedup_key k, uint64_t seq)
{
    size_t i = probe(d->slots, d->mask, k);
    if (!d->slots[i].seq && maybe_in_old(d, k)) {
        size_t o = probe(d->old, d->old_mask, k);
        if (d->old[o].seq && d->old[o].seq == seq) {
            d->old[o].seq = TOMBSTONE;
            d->count--;
        }
        return;
    }
    if (!d->slots[i].seq || d->slots[i].seq != seq)
        return;
    /* Backward-shift deletion keeps every probe run unbroken. */
    size_t hole = i;
    size_t j = i;
    for (;;) {
        j = (j + 1) & d->mask;
        if (!d->slots[j].seq)
            break;
        size_t home = slot_of(d, d->slots[j].key);
        /* Move j into the hole unless its home lies cyclically in (hole, j]. */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            d->slots[hole] = d->slots[j];
            hole = j;
        }
    }
    d->slots[hole].seq = 0;
    d->count--;
}

bool intake_dedup_lookup(const intake_dedup *d, intake_dedup_key k, uint64_t *seq)
{
    size_t i = probe(d->slots, d->mask, k);
    if (d->slots[i].seq) {
        *seq = d->slots[i].seq;
        return true;
    }
    if (!maybe_in_old(d, k))
        return false;
    size_t o = probe(d->old, d->old_mask, k);
    if (!d->old[o].seq || d->old[o].seq == TOMBSTONE)
        return false;
    *seq = d->old[o].seq;
    return true;
}

void intake_dedup_prefetch(const intake_dedup *d, intake_dedup_key k)
{
    const slot *s = &d->slots[slot_of(d, k)];
    /* 24-byte slots: one in three spans two cache lines. */
    __builtin_prefetch(s);
    __builtin_prefetch((const char *)(s + 1) - 1);
    if (maybe_in_old(d, k))
        __builtin_prefetch(&d->old[(size_t)k.lo & d->old_mask]);
}

void intake_dedup_add(intake_dedup *d, intake_dedup_key k, uint64_t seq)
{
    if (d->npending == 0)
        d->pending_first_seq = seq;
    if (d->npending == d->pending_cap) {
        d->pending_cap = d->pending_cap ? d->pending_cap * 2 : 1024;
        d->pending = dd_realloc(d->pending, d->pending_cap * sizeof(*d->pending));
    }
    d->pending[d->npending++] = k;
    table_insert(d, k, seq);
}

int intake_dedup_flush(intake_dedup *d, MDB_txn *txn, int64_t now_ms)
{
    if (d->npending == 0)
        return 0;
    uint64_t first = d->pending_first_seq;
    MDB_val k = dd_store_u64_key(&first);
    MDB_val v = {sizeof(journal_header) + d->npending * sizeof(intake_dedup_key), NULL};
    int rc = mdb_put(txn, d->journal, &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc)
        return rc;
    journal_header h = {now_ms, (uint32_t)d->npending, 0};
    memcpy(v.mv_data, &h, sizeof(h));
    memcpy((char *)v.mv_data + sizeof(h), d->pending, d->npending * sizeof(intake_dedup_key));
    d->flushed = true;
    return 0;
}

static void dedup_committed(void *arg)
{
    intake_dedup *d = arg;
    d->npending = 0;
    d->flushed = false;
    for (size_t i = 0; i < d->nexpiring; i++)
        table_remove(d, d->expiring[i], d->expiring_seq[i]);
    d->nexpiring = 0;
}

static void dedup_aborted(void *arg)
{
    intake_dedup *d = arg;
    for (size_t i = 0; i < d->npending; i++)
        table_remove(d, d->pending[i], d->pending_first_seq + i);
    d->npending = 0;
    d->flushed = false;
    d->nexpiring = 0;
}

static int load_journal(intake_dedup *d, int64_t now_ms)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_txn_begin(dd_store_env(d->store), NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    MDB_stat st;
    mdb_stat(txn, d->journal, &st);
    rc = mdb_cursor_open(txn, d->journal, &cur);
    int64_t cutoff = now_ms - d->retention_ms;
    while (rc == 0 && mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
        journal_header h;
        uint64_t first;
        if (v.mv_size < sizeof(h) || k.mv_size != sizeof(first)) {
            rc = DD_ECORRUPT;
            break;
        }
        memcpy(&h, v.mv_data, sizeof(h));
        memcpy(&first, k.mv_data, sizeof(first));
        if (v.mv_size != sizeof(h) + (size_t)h.count * sizeof(intake_dedup_key)) {
            rc = DD_ECORRUPT;
            break;
        }
        if (h.committed_at_ms < cutoff)
            continue; /* expired; the next expiry pass deletes it */
        const char *keys = (const char *)v.mv_data + sizeof(h);
        for (uint32_t i = 0; i < h.count; i++) {
            intake_dedup_key key;
            memcpy(&key, keys + i * sizeof(key), sizeof(key));
            table_insert(d, key, first + i);
        }
    }
    if (cur)
        mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

int intake_dedup_open(dd_store *store, int64_t retention_ms, int64_t now_ms,
                      intake_dedup **out)
{
    intake_dedup *d = dd_calloc(1, sizeof(*d));
    d->store = store;
    d->retention_ms = retention_ms;
    d->mask = (1u << 16) - 1;
    d->slots = dd_calloc_table(d->mask + 1, sizeof(slot));
    int rc = dd_store_dbi(store, "dedup", MDB_INTEGERKEY, &d->journal);
    if (!rc)
        rc = load_journal(d, now_ms);
    if (rc) {
        dd_error("cannot load the dedup journal: %s", dd_strerror(rc));
        free(d->slots);
        free(d);
        return rc;
    }
    dd_store_participant p = {dedup_committed, dedup_aborted, d};
    dd_store_add_participant(store, &p);
    *out = d;
    return 0;
}

void intake_dedup_close(intake_dedup **dp)
{
    if (!dp || !*dp)
        return;
    intake_dedup *d = *dp;
    free(d->slots);
    free(d->old);
    free(d->pending);
    free(d->expiring);
    free(d->expiring_seq);
    free(d);
    *dp = NULL;
}

typedef struct expire_job {
    intake_dedup *d;
    int64_t cutoff;
    size_t max_batches;
} expire_job;

static void remember_expiring(intake_dedup *d, intake_dedup_key k, uint64_t seq)
{
    if (d->nexpiring == d->expiring_cap) {
        d->expiring_cap = d->expiring_cap ? d->expiring_cap * 2 : 4096;
        d->expiring = dd_realloc(d->expiring, d->expiring_cap * sizeof(*d->expiring));
        d->expiring_seq = dd_realloc(d->expiring_seq, d->expiring_cap * sizeof(uint64_t));
    }
    d->expiring[d->nexpiring] = k;
    d->expiring_seq[d->nexpiring++] = seq;
}

static int expire_fn(MDB_txn *txn, void *arg)
{
    expire_job *job = arg;
    intake_dedup *d = job->d;
    d->nexpiring = 0;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, d->journal, &cur);
    if (rc)
        return rc;
    size_t batches = 0;
    while (batches < job->max_batches && mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0) {
        journal_header h;
        uint64_t first;
        if (v.mv_size < sizeof(h))
            break;
        memcpy(&h, v.mv_data, sizeof(h));
        memcpy(&first, k.mv_data, sizeof(first));
        if (h.committed_at_ms >= job->cutoff)
            break;
        const char *keys = (const char *)v.mv_data + sizeof(h);
        for (uint32_t i = 0; i < h.count && sizeof(h) + (i + 1) * sizeof(intake_dedup_key) <= v.mv_size; i++) {
            intake_dedup_key key;
            memcpy(&key, keys + i * sizeof(key), sizeof(key));
            remember_expiring(d, key, first + i);
        }
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        batches++;
    }
    mdb_cursor_close(cur);
    return rc;
}

int intake_dedup_expire(intake_dedup *d, int64_t now_ms, size_t max_batches, uint64_t *forgotten)
{
    size_t before = d->count;
    expire_job job = {d, now_ms - d->retention_ms, max_batches ? max_batches : 1000};
    int rc = dd_store_write(d->store, expire_fn, &job);
    if (forgotten)
        *forgotten = rc == 0 && before > d->count ? before - d->count : 0;
    return rc;
}

void intake_dedup_set_retention(intake_dedup *d, int64_t retention_ms)
{
    d->retention_ms = retention_ms;
}

size_t intake_dedup_count(const intake_dedup *d)
{
    return d->count;
}

size_t intake_dedup_memory_bytes(const intake_dedup *d)
{
    return (d->mask + 1 + (d->old ? d->old_mask + 1 : 0)) * sizeof(slot);
}
