/*
 * dedup.c: the dedup journal and its in-memory index (see dedup.h for why
 * it is built this way).
 *
 * Index: every random read costs a trip to memory, and on this kind of
 * machine one costs a few hundred nanoseconds, so the index is laid out to
 * need one cache line per new event:
 *
 *   - the keys themselves, 16 bytes each, in a ring indexed by sequence
 *     (chunks of KEYS_PER_CHUNK, oldest freed first as they expire):
 *     written in order, read only to confirm a match;
 *   - a table of 8-byte entries, linear probing from the slot given by the
 *     key's low bits: 24 bits of fingerprint from the key's high half and
 *     the low 40 bits of the sequence. Eight entries share a cache line,
 *     so a probe run at 70% load nearly always lies in one.
 *
 * A lookup walks the run; an entry whose fingerprint matches is confirmed
 * against the ring (one read, nearly only for real duplicates: a new key
 * meets a false fingerprint about once in five million lookups). The full
 * sequence is the one below the log's next sequence whose low 40 bits are
 * the entry's: held ids span far fewer than 2^40 sequences. A deletion
 * matches fingerprint and sequence exactly, so it needs no ring read, and
 * leaves a tombstone (or empties the slot when the run ends there).
 *
 * When entries and tombstones pass 70% of the table, a new table (twice as
 * large, or as large when most were tombstones) takes every insert, and each
 * insert first copies MOVE_PER_INSERT ring positions of the keys held when
 * it started: every key in the ring is held at its own position's sequence
 * (an id accepted again leaves its old position), so copying reads the ring
 * in order and adds each without a search, leaving the tombstones behind.
 * Lookups read the new table, then the old one until the copying ends.
 * Copying tens of millions at once would stop intake for seconds; at
 * start-up, while no events arrive, the table is made large enough to
 * double the ids loaded before it must be renewed.
 */
#include "dedup.h"

#include "alloc.h"
#include "diag.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

/* Journal record layout: header then count keys. */
typedef struct journal_header {
    int64_t committed_at_ms;
    uint32_t count;
    uint32_t reserved;
} journal_header;

#define SEQ_BITS 40
#define SEQ_MASK ((UINT64_C(1) << SEQ_BITS) - 1)
#define EMPTY UINT64_C(0)
/* Fingerprints run from 1 to 0xFFFFFE, so no entry is 0 or all ones. */
#define TOMBSTONE UINT64_MAX
/* Ring positions copied per insert while a new table fills: the copying
 * ends (after a quarter as many inserts as keys held) long before the new
 * table reaches 70%. */
#define MOVE_PER_INSERT 4
#define KEYS_PER_CHUNK_BITS 16
#define KEYS_PER_CHUNK ((size_t)1 << KEYS_PER_CHUNK_BITS)
#define INITIAL_CAPACITY ((size_t)1 << 16)

typedef struct table {
    uint64_t *entries; /* NULL: none */
    size_t mask;       /* capacity - 1 */
    size_t used;       /* entries that are not EMPTY, tombstones included */
} table;

struct intake_dedup {
    dd_store *store;
    MDB_dbi journal;
    int64_t retention_ms;
    table cur;
    /* The table being copied into cur (entries NULL: none); ring positions
     * move_next..move_end-1 are still to copy. */
    table old;
    uint64_t move_next, move_end;
    size_t count; /* keys held */
    /* The ring: keys of sequences ring_first..ring_end-1 (zero: none). */
    intake_dedup_key **chunks;
    size_t nchunks, chunks_cap;
    uint64_t chunk_base; /* sequence >> KEYS_PER_CHUNK_BITS of chunks[0] */
    uint64_t ring_first, ring_end;
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

static inline bool key_eq(intake_dedup_key a, intake_dedup_key b)
{
    return a.lo == b.lo && a.hi == b.hi;
}

/* ---- the ring of keys by sequence ---------------------------------------- */

/* Where the key of seq lies; seq's chunk must exist. */
static inline intake_dedup_key *ring_slot(const intake_dedup *d, uint64_t seq)
{
    return &d->chunks[(seq >> KEYS_PER_CHUNK_BITS) - d->chunk_base][seq & (KEYS_PER_CHUNK - 1)];
}

static intake_dedup_key ring_get(const intake_dedup *d, uint64_t seq)
{
    intake_dedup_key none = {0, 0};
    if (seq < d->ring_first || seq >= d->ring_end)
        return none;
    return *ring_slot(d, seq);
}

static void ring_put(intake_dedup *d, uint64_t seq, intake_dedup_key k)
{
    uint64_t c = seq >> KEYS_PER_CHUNK_BITS;
    if (d->nchunks == 0) {
        d->chunk_base = c;
        d->ring_first = seq;
        d->ring_end = seq;
    }
    if (c < d->chunk_base || seq < d->ring_first) {
        /* Sequences only grow (the log's), so this is a bug: stop before
         * answering from a ring that no longer matches the table. */
        dd_error("dedup: sequence %llu is below the oldest held (%llu); aborting",
                 (unsigned long long)seq, (unsigned long long)d->ring_first);
        abort();
    }
    while (c - d->chunk_base >= d->nchunks) {
        if (d->nchunks == d->chunks_cap) {
            d->chunks_cap = d->chunks_cap ? d->chunks_cap * 2 : 64;
            d->chunks = dd_realloc(d->chunks, d->chunks_cap * sizeof(*d->chunks));
        }
        d->chunks[d->nchunks++] = dd_calloc(KEYS_PER_CHUNK, sizeof(intake_dedup_key));
    }
    *ring_slot(d, seq) = k;
    if (seq >= d->ring_end)
        d->ring_end = seq + 1;
}

/* Forgets the keys of sequences below seq, freeing whole chunks. */
static void ring_drop_below(intake_dedup *d, uint64_t seq)
{
    if (seq <= d->ring_first)
        return;
    d->ring_first = seq < d->ring_end ? seq : d->ring_end;
    size_t drop = 0;
    while (drop < d->nchunks &&
           (d->chunk_base + drop + 1) << KEYS_PER_CHUNK_BITS <= d->ring_first)
        free(d->chunks[drop++]);
    if (drop) {
        memmove(d->chunks, d->chunks + drop, (d->nchunks - drop) * sizeof(*d->chunks));
        d->nchunks -= drop;
        d->chunk_base += drop;
    }
}

/* Forgets the keys of sequences from seq on (an aborted batch's). */
static void ring_truncate(intake_dedup *d, uint64_t seq)
{
    intake_dedup_key none = {0, 0};
    for (uint64_t s = seq > d->ring_first ? seq : d->ring_first; s < d->ring_end; s++)
        *ring_slot(d, s) = none;
    if (seq < d->ring_end)
        d->ring_end = seq > d->ring_first ? seq : d->ring_first;
}

/* Forgets the key at seq: its id was accepted again under a later one. */
static void ring_forget(intake_dedup *d, uint64_t seq)
{
    intake_dedup_key none = {0, 0};
    if (seq >= d->ring_first && seq < d->ring_end)
        *ring_slot(d, seq) = none;
}

/* ---- the table of fingerprints and sequences ------------------------------ */

static inline uint64_t fingerprint_of(intake_dedup_key k)
{
    uint64_t f = k.hi >> SEQ_BITS;
    f += f == 0;
    f -= f == 0xFFFFFF;
    return f;
}

static inline uint64_t entry_of(uint64_t fingerprint, uint64_t seq)
{
    return fingerprint << SEQ_BITS | (seq & SEQ_MASK);
}

/* The full sequence of an entry: the latest below ring_end with its bits. */
static inline uint64_t seq_of(const intake_dedup *d, uint64_t e)
{
    uint64_t s = (d->ring_end & ~SEQ_MASK) | (e & SEQ_MASK);
    return s >= d->ring_end ? s - (UINT64_C(1) << SEQ_BITS) : s;
}

/* Whether live entry e is k's (fingerprint, then the key in the ring). */
static inline bool entry_is(const intake_dedup *d, uint64_t e, intake_dedup_key k, uint64_t fp)
{
    return e >> SEQ_BITS == fp && key_eq(ring_get(d, seq_of(d, e)), k);
}

/* Whether n entries fill more than 70% of capacity slots. */
static inline bool over_load(size_t n, size_t capacity)
{
    return n * 10 > capacity * 7;
}

static uint64_t *table_new(size_t capacity)
{
    return dd_calloc_table(capacity, sizeof(uint64_t));
}

/* The position of k's live entry in t, or SIZE_MAX. */
static size_t table_find(const intake_dedup *d, const table *t, intake_dedup_key k, uint64_t fp)
{
    for (size_t i = (size_t)k.lo & t->mask;; i = (i + 1) & t->mask) {
        uint64_t e = t->entries[i];
        if (e == EMPTY)
            return SIZE_MAX;
        if (e != TOMBSTONE && entry_is(d, e, k, fp))
            return i;
    }
}

/* Sets k's entry in t to seq, adding it (in the first free slot of its run)
 * when absent; absent: the caller knows it is. Returns whether it was added;
 * when it was held, *before (may be NULL) gets its sequence and its position
 * in the ring goes (so that every key in the ring is held at its own). */
static bool table_put(intake_dedup *d, table *t, intake_dedup_key k, uint64_t fp, uint64_t seq,
                      bool absent, uint64_t *before)
{
    size_t free_slot = SIZE_MAX;
    size_t i = (size_t)k.lo & t->mask;
    for (;; i = (i + 1) & t->mask) {
        uint64_t e = t->entries[i];
        if (e == EMPTY)
            break;
        if (e == TOMBSTONE) {
            if (free_slot == SIZE_MAX)
                free_slot = i;
            if (absent)
                break;
        } else if (!absent && entry_is(d, e, k, fp)) {
            uint64_t was = seq_of(d, e);
            if (was != seq)
                ring_forget(d, was);
            if (before)
                *before = was;
            t->entries[i] = entry_of(fp, seq);
            return false;
        }
    }
    if (free_slot == SIZE_MAX) {
        free_slot = i;
        t->used++;
    }
    t->entries[free_slot] = entry_of(fp, seq);
    return true;
}

/* Deletes the entry of k at exactly seq from t, if there. Returns whether
 * it was there. */
static bool table_delete(table *t, intake_dedup_key k, uint64_t fp, uint64_t seq)
{
    uint64_t want = entry_of(fp, seq);
    for (size_t i = (size_t)k.lo & t->mask;; i = (i + 1) & t->mask) {
        uint64_t e = t->entries[i];
        if (e == EMPTY)
            return false;
        if (e != want)
            continue;
        if (t->entries[(i + 1) & t->mask] != EMPTY) {
            t->entries[i] = TOMBSTONE;
            return true;
        }
        /* The run ends here: the slot and the tombstones before it empty. */
        t->entries[i] = EMPTY;
        t->used--;
        for (size_t j = (i - 1) & t->mask; t->entries[j] == TOMBSTONE; j = (j - 1) & t->mask) {
            t->entries[j] = EMPTY;
            t->used--;
        }
        return true;
    }
}

static void finish_moving(intake_dedup *d)
{
    free(d->old.entries);
    d->old.entries = NULL;
}

/* Copies up to n ring positions of the keys held when the new table began.
 * Every key in the ring is held at its position's sequence, and none of
 * those below move_end is in the new table yet: each is added without a
 * search. The old table is left as it is (lookups read the new one first). */
static void move_some(intake_dedup *d, size_t n)
{
    if (d->move_next < d->ring_first)
        d->move_next = d->ring_first;
    for (size_t done = 0; done < n && d->move_next < d->move_end; done++, d->move_next++) {
        intake_dedup_key k = ring_get(d, d->move_next);
        if (k.lo != 0 || k.hi != 0)
            table_put(d, &d->cur, k, fingerprint_of(k), d->move_next, true, NULL);
    }
    if (d->move_next >= d->move_end)
        finish_moving(d);
}

/* A new table for cur, of at least min_capacity slots: twice as large unless
 * most of cur is tombstones. */
static void table_renew(intake_dedup *d, size_t min_capacity)
{
    if (d->old.entries)
        move_some(d, SIZE_MAX);
    size_t capacity = d->cur.mask + 1;
    if (over_load(d->count * 2, capacity)) /* more than half of the 70% is live */
        capacity *= 2;
    while (capacity < min_capacity)
        capacity *= 2;
    d->old = d->cur;
    d->move_next = d->ring_first;
    d->move_end = d->ring_end;
    d->cur.entries = table_new(capacity);
    d->cur.mask = capacity - 1;
    d->cur.used = 0;
    if (d->move_next >= d->move_end)
        finish_moving(d);
}

static void table_insert(intake_dedup *d, intake_dedup_key k, uint64_t seq)
{
    if (over_load(d->cur.used + 1, d->cur.mask + 1))
        table_renew(d, d->cur.mask + 1);
    if (d->old.entries)
        move_some(d, MOVE_PER_INSERT);
    ring_put(d, seq, k);
    uint64_t fp = fingerprint_of(k);
    uint64_t before;
    if (!table_put(d, &d->cur, k, fp, seq, false, &before)) {
        /* Held (copied already, if a new table is filling): now at seq. */
        if (d->old.entries && before != seq)
            table_delete(&d->old, k, fp, before);
        return;
    }
    if (d->old.entries) {
        size_t o = table_find(d, &d->old, k, fp);
        if (o != SIZE_MAX) {
            /* Held in the old table, not copied yet: it now lives in the
             * new one alone, at seq. */
            uint64_t held_at = seq_of(d, d->old.entries[o]);
            table_delete(&d->old, k, fp, held_at);
            ring_forget(d, held_at);
            return;
        }
    }
    d->count++;
}

/* Removes k if it is held at seq (a later re-acceptance keeps its entry). */
static void table_remove(intake_dedup *d, intake_dedup_key k, uint64_t seq)
{
    uint64_t fp = fingerprint_of(k);
    bool removed = table_delete(&d->cur, k, fp, seq);
    if (d->old.entries)
        removed |= table_delete(&d->old, k, fp, seq);
    d->count -= removed;
}

bool intake_dedup_lookup(const intake_dedup *d, intake_dedup_key k, uint64_t *seq)
{
    uint64_t fp = fingerprint_of(k);
    size_t i = table_find(d, &d->cur, k, fp);
    if (i != SIZE_MAX) {
        *seq = seq_of(d, d->cur.entries[i]);
        return true;
    }
    if (!d->old.entries || (i = table_find(d, &d->old, k, fp)) == SIZE_MAX)
        return false;
    *seq = seq_of(d, d->old.entries[i]);
    return true;
}

void intake_dedup_prefetch(const intake_dedup *d, intake_dedup_key k)
{
    __builtin_prefetch(&d->cur.entries[(size_t)k.lo & d->cur.mask]);
    if (d->old.entries)
        __builtin_prefetch(&d->old.entries[(size_t)k.lo & d->old.mask]);
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
    uint64_t below = 0;
    for (size_t i = 0; i < d->nexpiring; i++) {
        table_remove(d, d->expiring[i], d->expiring_seq[i]);
        if (d->expiring_seq[i] >= below)
            below = d->expiring_seq[i] + 1;
    }
    /* Whole batches went from the journal's front: nothing below is held. */
    ring_drop_below(d, below);
    d->nexpiring = 0;
}

static void dedup_aborted(void *arg)
{
    intake_dedup *d = arg;
    for (size_t i = 0; i < d->npending; i++)
        table_remove(d, d->pending[i], d->pending_first_seq + i);
    if (d->npending)
        ring_truncate(d, d->pending_first_seq);
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
    d->cur.mask = INITIAL_CAPACITY - 1;
    d->cur.entries = table_new(INITIAL_CAPACITY);
    int rc = dd_store_dbi(store, "dedup", MDB_INTEGERKEY, &d->journal);
    if (!rc)
        rc = load_journal(d, now_ms);
    /* Room to double the ids held before the table is renewed while events
     * arrive, copied now while none do. */
    if (!rc)
        intake_dedup_reserve(d, d->count * 2);
    if (rc) {
        dd_error("cannot load the dedup journal: %s", dd_strerror(rc));
        intake_dedup_close(&d);
        return rc;
    }
    dd_store_participant p = {dedup_committed, dedup_aborted, d};
    dd_store_add_participant(store, &p);
    *out = d;
    return 0;
}

void intake_dedup_reserve(intake_dedup *d, size_t expected_ids)
{
    size_t wanted = d->cur.mask + 1;
    while (over_load(expected_ids, wanted))
        wanted *= 2;
    if (wanted > d->cur.mask + 1)
        table_renew(d, wanted);
    if (d->old.entries)
        move_some(d, SIZE_MAX);
}

void intake_dedup_close(intake_dedup **dp)
{
    if (!dp || !*dp)
        return;
    intake_dedup *d = *dp;
    free(d->cur.entries);
    free(d->old.entries);
    for (size_t i = 0; i < d->nchunks; i++)
        free(d->chunks[i]);
    free(d->chunks);
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
    return (d->cur.mask + 1 + (d->old.entries ? d->old.mask + 1 : 0)) * sizeof(uint64_t) +
           d->nchunks * KEYS_PER_CHUNK * sizeof(intake_dedup_key) + d->chunks_cap * sizeof(void *);
}

void intake_dedup_stats_get(const intake_dedup *d, intake_dedup_stats *out)
{
    out->ids = d->count;
    out->table_slots = d->cur.mask + 1;
    out->old_table_slots = d->old.entries ? d->old.mask + 1 : 0;
    out->ring_sequences = d->ring_end - d->ring_first;
}
