/* sched_plandb.c: the scheduler's databases and key layouts (see sched_plandb.h). */
#include "sched_plandb.h"

#include "clock.h"
#include "diag.h"
#include "error.h"
#include "journal.h"
#include "sched_plancache.h"
#include "wiredecode.h"
#include "wireencode.h"

#include <stdlib.h>

#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

const int sched_level_len[SCHED_LEVELS] = {2, 4, 6, 9, 12};

static const struct {
    const char *name;
    unsigned flags;
} db_defs[SCHED_DB_COUNT] = {
    [SCHED_DB_PLANS] = {"plans", 0},
    [SCHED_DB_DUE] = {"due", 0},
    [SCHED_DB_SPARSE_DUE] = {"sparse_due", 0},
    [SCHED_DB_TOWNSHIP_PLANS] = {"township_plans", 0},
    [SCHED_DB_WORKERS] = {"workers", 0},
    [SCHED_DB_WORKER_REGIONS] = {"worker_regions", 0},
    [SCHED_DB_UNASSIGNED] = {"unassigned", 0},
    [SCHED_DB_RATES] = {"rates", 0},
    [SCHED_DB_TIERS] = {"tiers", 0},
    [SCHED_DB_TOWNSHIPS] = {"townships", 0},
    [SCHED_DB_UNMATCHED] = {"unmatched", MDB_INTEGERKEY},
    [SCHED_DB_META] = {"meta", 0},
    [SCHED_DB_PLAN_JOURNAL] = {"plan_journal", MDB_INTEGERKEY},
    [SCHED_DB_STALE_DUE] = {"stale_due", MDB_INTEGERKEY},
};

/*
 * A counter of "rates" or "tiers", or a township's record, as the write
 * transactions see it: loaded on first use, changed in memory, written by
 * the flush when dirty, and kept for the next transactions while they
 * commit (sched_db_begin drops the table after an abort). Open
 * addressing, linear probing; the table only grows until it is dropped.
 */
#define COUNTER_KEY_MAX 16
typedef struct counter {
    uint8_t used, dirty, which, klen;
    uint8_t key[COUNTER_KEY_MAX];
    int64_t values[SCHED_TIERS_VALUES];
} counter;

/* A worker as the write transactions see it: its encoded RosterWorker. */
typedef struct cached_worker {
    uint64_t hash; /* 0: empty */
    char *id;      /* malloc'd, with the value after the id's NUL */
    uint8_t *value;
    size_t len;
    bool dirty;
} cached_worker;

/* Where the changed entries of a cache table are, so a flush reads them
 * alone rather than the whole table (rebuilt when a growth moves them). */
typedef struct dirty_list {
    size_t *at;
    size_t n, cap;
} dirty_list;

static void dirty_list_push(dirty_list *l, size_t position)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->at = dd_realloc(l->at, l->cap * sizeof(*l->at));
    }
    l->at[l->n++] = position;
}

struct sched_db {
    MDB_dbi dbi[SCHED_DB_COUNT];
    dd_journal *journal;
    dd_wire_writer packed; /* a plan being written, encoded */
    counter *counters;
    size_t ncounters, counters_cap;
    dirty_list dirty_counters;
    cached_worker *workers;
    size_t nworkers, workers_cap;
    dirty_list dirty_workers;
    /* The plans tree in memory (sched_plancache.h): filled at open and
     * again after a write that folded the journal was aborted. */
    sched_plancache *plans;
    /* The write transaction in progress, and the id of the last one that
     * changed the cached state (0: none since a later one began). */
    MDB_txn *writing;
    size_t writing_id, dirty_id;
};

/* The most memory the copies of plans take (about 200 bytes a plan). */
#define PLAN_CACHE_MAX_BYTES ((size_t)2 << 30)

/* Caches grow no further than this: past it they start again empty. */
#define CACHE_MAX_ENTRIES (1u << 20)

static void workers_drop(sched_db *db);

/*
 * Databases of the first layout, whose keys this code would misread: plans
 * by worker and visits due by region, replaced by township_plans, and due
 * keys without the sequence.
 */
static const char *const first_layout[] = {"worker_plans", "region_due"};

static int check_layout(dd_store *store)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(dd_store_env(store), NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    for (size_t i = 0; i < sizeof(first_layout) / sizeof(first_layout[0]) && !rc; i++) {
        MDB_dbi dbi;
        int found = mdb_dbi_open(txn, first_layout[i], 0, &dbi);
        if (found == 0) {
            dd_error("the data directory holds the scheduler's first database layout "
                     "(database %s): start with an empty data_dir and let the scheduler "
                     "consume eligibility's log again",
                     first_layout[i]);
            rc = DD_ECORRUPT;
        } else if (found != MDB_NOTFOUND) {
            rc = found;
        }
    }
    mdb_txn_abort(txn);
    return rc;
}

/* A fold wrote key into the plans tree: the cache follows. */
static void plan_folded(void *arg, const void *key, size_t klen, const MDB_val *value)
{
    sched_db *db = arg;
    if (value)
        sched_plancache_put(db->plans, key, klen, value->mv_data, value->mv_size);
    else
        sched_plancache_del(db->plans, key, klen);
    db->dirty_id = db->writing_id;
}

/* Copies every plan of the tree as txn sees it into the cache. */
static int fill_plan_cache(sched_db *db, MDB_txn *txn)
{
    sched_plancache_clear(db->plans);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, db->dbi[SCHED_DB_PLANS], &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        if (!sched_plancache_put(db->plans, k.mv_data, k.mv_size, v.mv_data, v.mv_size))
            break; /* full: the rest is read from the tree */
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        sched_plancache_set_complete(db->plans);
        return 0;
    }
    return rc;
}

int sched_db_open(dd_store *store, sched_db **out)
{
    int rc = check_layout(store);
    if (rc)
        return rc;
    sched_db *db = dd_calloc(1, sizeof(*db));
    for (int i = 0; i < SCHED_DB_COUNT && !rc; i++)
        rc = dd_store_dbi(store, db_defs[i].name, db_defs[i].flags, &db->dbi[i]);
    MDB_txn *txn;
    db->plans = sched_plancache_new(PLAN_CACHE_MAX_BYTES);
    if (!rc && !(rc = mdb_txn_begin(dd_store_env(store), NULL, MDB_RDONLY, &txn))) {
        rc = dd_journal_open(txn, db->dbi[SCHED_DB_PLAN_JOURNAL], db->dbi[SCHED_DB_PLANS],
                             SCHED_JOURNAL_MAX_DEFAULT, &db->journal);
        if (!rc) {
            int64_t t0 = dd_monotonic_ns();
            rc = fill_plan_cache(db, txn);
            dd_info("plans in memory: %zu copied in %.1f s (%zu MiB)",
                    sched_plancache_count(db->plans), (double)(dd_monotonic_ns() - t0) / 1e9,
                    sched_plancache_bytes(db->plans) >> 20);
        }
        mdb_txn_abort(txn);
    }
    if (rc) {
        dd_journal_close(&db->journal);
        sched_plancache_destroy(&db->plans);
        free(db);
        return rc;
    }
    dd_journal_set_fold_hook(db->journal, plan_folded, db);
    *out = db;
    return 0;
}

void sched_db_set_journal_max(sched_db *db, uint64_t max_entries)
{
    dd_journal_set_max(db->journal, max_entries);
}

void sched_db_set_fold_pace(sched_db *db, uint64_t keys_per_record)
{
    dd_journal_set_pace(db->journal, keys_per_record);
}

int sched_db_begin(sched_db *db, MDB_txn *txn)
{
    size_t id = mdb_txn_id(txn);
    /* A write transaction reuses the id of one that was aborted: what the
     * caches hold of it never reached the disk. */
    bool aborted = db->dirty_id && db->dirty_id >= id;
    if (aborted || db->ncounters > CACHE_MAX_ENTRIES)
        sched_db_counters_drop(db);
    if (aborted || db->nworkers > CACHE_MAX_ENTRIES)
        workers_drop(db);
    /* What a fold of the aborted write copied, and replaced copies' bytes
     * once they are more than the copies: copied again from the tree. */
    int rc = 0;
    if (aborted || sched_plancache_garbage(db->plans) > sched_plancache_bytes(db->plans) / 2)
        rc = fill_plan_cache(db, txn);
    db->dirty_id = 0;
    db->writing = txn;
    db->writing_id = id;
    return rc ? rc : dd_journal_begin(db->journal, txn);
}

/* Whether txn is the write transaction begun last (the caches serve only it). */
static bool in_write(const sched_db *db, MDB_txn *txn)
{
    return txn == db->writing && mdb_txn_id(txn) == db->writing_id;
}

int sched_db_journal_fold(sched_db *db, MDB_txn *txn, bool force)
{
    return dd_journal_fold_if_full(db->journal, txn, force);
}

uint64_t sched_db_journal_entries(const sched_db *db) { return dd_journal_entries(db->journal); }

void sched_db_plan_cache_stats(const sched_db *db, size_t *plans, size_t *bytes)
{
    *plans = sched_plancache_count(db->plans);
    *bytes = sched_plancache_bytes(db->plans);
}

void sched_db_close(sched_db **db)
{
    if (!db || !*db)
        return;
    free((*db)->counters);
    dd_wire_writer_free(&(*db)->packed);
    free((*db)->dirty_counters.at);
    free((*db)->dirty_workers.at);
    workers_drop(*db);
    free((*db)->workers);
    dd_journal_close(&(*db)->journal);
    sched_plancache_destroy(&(*db)->plans);
    free(*db);
    *db = NULL;
}

MDB_dbi sched_db_dbi(const sched_db *db, sched_dbi which) { return db->dbi[which]; }

int sched_db_get(sched_db *db, MDB_txn *txn, sched_dbi which, const void *key, size_t klen,
                 MDB_val *value)
{
    MDB_val k = {klen, (void *)key};
    int rc = mdb_get(txn, db->dbi[which], &k, value);
    return rc == MDB_NOTFOUND ? DD_NOTFOUND : rc;
}

int sched_db_put(sched_db *db, MDB_txn *txn, sched_dbi which, const void *key, size_t klen,
                 const void *value, size_t vlen)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)value};
    return mdb_put(txn, db->dbi[which], &k, &v, 0);
}

int sched_db_del(sched_db *db, MDB_txn *txn, sched_dbi which, const void *key, size_t klen)
{
    MDB_val k = {klen, (void *)key};
    int rc = mdb_del(txn, db->dbi[which], &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int sched_db_scan_prefix(sched_db *db, MDB_txn *txn, sched_dbi which, const void *prefix,
                         size_t plen, sched_db_scan_fn fn, void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, db->dbi[which], &cur);
    if (rc)
        return rc;
    MDB_val k = {plen, (void *)prefix}, v;
    rc = plen ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        rc = fn(arg, &k, &v);
        if (rc)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 1 ? 0 : rc;
}

/* ---- messages ---------------------------------------------------------------- */

int sched_db_get_plan(sched_db *db, MDB_txn *txn, const char *person_id, dd_arena *arena,
                      Doudi__VisitPlan **out)
{
    MDB_val v;
    size_t len = strlen(person_id);
    int rc = dd_journal_get(db->journal, txn, person_id, len, &v);
    if (rc == 0 && !v.mv_data)
        return DD_NOTFOUND; /* plans are never deleted; a deletion would mean none */
    /* The cache is the tree as the write in progress sees it. */
    bool cached = rc == DD_NOTFOUND && in_write(db, txn);
    if (cached && sched_plancache_get(db->plans, person_id, len, &v))
        rc = 0;
    else if (cached && sched_plancache_complete(db->plans))
        return rc; /* nobody's plan is missing from the cache: not in the tree */
    else if (rc == DD_NOTFOUND) {
        rc = sched_db_get(db, txn, SCHED_DB_PLANS, person_id, len, &v);
        if (rc == 0 && cached)
            sched_plancache_put(db->plans, person_id, len, v.mv_data, v.mv_size);
    }
    if (rc)
        return rc;
    *out = (Doudi__VisitPlan *)dd_wire_unpack(&doudi__visit_plan__descriptor, v.mv_data,
                                              v.mv_size, arena);
    return *out ? 0 : DD_ECORRUPT;
}

void sched_db_prefetch_plan(const sched_db *db, const char *person_id)
{
    size_t len = strlen(person_id);
    dd_journal_prefetch(db->journal, person_id, len);
    sched_plancache_prefetch(db->plans, person_id, len);
}

int sched_db_put_plan(sched_db *db, MDB_txn *txn, const Doudi__VisitPlan *plan)
{
    size_t len;
    const uint8_t *buf = dd_wire_encode(&db->packed, &plan->base, &len);
    return dd_journal_put(db->journal, txn, plan->person_id, strlen(plan->person_id), buf, len);
}

/* ---- workers, cached ---------------------------------------------------------- */

static uint64_t id_hash(const char *id, size_t len)
{
    uint64_t h = XXH3_64bits(id, len);
    return h ? h : 1; /* 0 marks an empty slot */
}

static cached_worker *worker_slot(sched_db *db, const char *id, size_t len, uint64_t h)
{
    size_t mask = db->workers_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        cached_worker *c = &db->workers[i];
        if (!c->hash || (c->hash == h && strncmp(c->id, id, len) == 0 && c->id[len] == '\0'))
            return c;
    }
}

static void workers_grow(sched_db *db)
{
    cached_worker *old = db->workers;
    size_t old_cap = db->workers_cap;
    db->workers_cap = old_cap ? old_cap * 2 : 1024;
    db->workers = dd_calloc(db->workers_cap, sizeof(cached_worker));
    db->dirty_workers.n = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].hash)
            continue;
        cached_worker *c = worker_slot(db, old[i].id, strlen(old[i].id), old[i].hash);
        *c = old[i];
        if (c->dirty)
            dirty_list_push(&db->dirty_workers, (size_t)(c - db->workers));
    }
    free(old);
}

static void workers_drop(sched_db *db)
{
    for (size_t i = 0; i < db->workers_cap; i++)
        if (db->workers[i].hash) {
            free(db->workers[i].id);
            db->workers[i] = (cached_worker){0};
        }
    db->nworkers = 0;
    db->dirty_workers.n = 0;
}

/* The cache entry of id (loaded from txn; value NULL when there is no such worker). */
static int worker_entry(sched_db *db, MDB_txn *txn, const char *id, cached_worker **out)
{
    size_t len = strlen(id);
    if (2 * (db->nworkers + 1) > db->workers_cap)
        workers_grow(db);
    uint64_t h = id_hash(id, len);
    cached_worker *c = worker_slot(db, id, len, h);
    if (!c->hash) {
        MDB_val v;
        int rc = sched_db_get(db, txn, SCHED_DB_WORKERS, id, len, &v);
        if (rc && rc != DD_NOTFOUND)
            return rc;
        size_t vlen = rc ? 0 : v.mv_size;
        c->id = dd_malloc(len + 1 + (vlen ? vlen : 1));
        memcpy(c->id, id, len + 1);
        c->value = rc ? NULL : (uint8_t *)c->id + len + 1;
        c->len = vlen;
        if (vlen)
            memcpy(c->value, v.mv_data, vlen);
        c->hash = h;
        c->dirty = false;
        db->nworkers++;
    }
    *out = c;
    return 0;
}

void sched_db_prefetch_worker(const sched_db *db, const char *worker_id)
{
    if (db->workers_cap)
        __builtin_prefetch(&db->workers[(size_t)id_hash(worker_id, strlen(worker_id)) &
                                        (db->workers_cap - 1)]);
}

int sched_db_get_worker(sched_db *db, MDB_txn *txn, const char *worker_id, dd_arena *arena,
                        Doudi__RosterWorker **out)
{
    MDB_val v;
    int rc;
    if (in_write(db, txn)) {
        cached_worker *c;
        if ((rc = worker_entry(db, txn, worker_id, &c)))
            return rc;
        if (!c->value)
            return DD_NOTFOUND;
        v.mv_data = c->value;
        v.mv_size = c->len;
    } else if ((rc = sched_db_get(db, txn, SCHED_DB_WORKERS, worker_id, strlen(worker_id), &v))) {
        return rc;
    }
    ProtobufCAllocator a = dd_arena_protobuf_allocator(arena);
    *out = doudi__roster_worker__unpack(&a, v.mv_size, v.mv_data);
    return *out ? 0 : DD_ECORRUPT;
}

int sched_db_put_worker(sched_db *db, MDB_txn *txn, const Doudi__RosterWorker *w,
                        dd_arena *arena)
{
    (void)arena;
    cached_worker *c;
    int rc = worker_entry(db, txn, w->worker_id, &c);
    if (rc)
        return rc;
    size_t len = doudi__roster_worker__get_packed_size(w), idlen = strlen(c->id);
    char *grown = dd_malloc(idlen + 1 + (len ? len : 1));
    memcpy(grown, c->id, idlen + 1);
    free(c->id);
    c->id = grown;
    c->value = (uint8_t *)grown + idlen + 1;
    c->len = len;
    doudi__roster_worker__pack(w, c->value);
    if (!c->dirty) {
        c->dirty = true;
        dirty_list_push(&db->dirty_workers, (size_t)(c - db->workers));
    }
    db->dirty_id = db->writing_id;
    return 0;
}

static int cmp_worker_ptr(const void *a, const void *b)
{
    const cached_worker *x = *(const cached_worker *const *)a, *y = *(const cached_worker *const *)b;
    size_t lx = strlen(x->id), ly = strlen(y->id);
    int c = memcmp(x->id, y->id, lx < ly ? lx : ly);
    return c ? c : (lx > ly) - (lx < ly);
}

/* Writes the workers changed since the last flush, in key order. */
static int workers_flush(sched_db *db, MDB_txn *txn)
{
    size_t n = db->dirty_workers.n;
    if (!n)
        return 0;
    cached_worker **dirty = dd_malloc(n * sizeof(*dirty));
    for (size_t i = 0; i < n; i++)
        dirty[i] = &db->workers[db->dirty_workers.at[i]];
    db->dirty_workers.n = 0;
    qsort(dirty, n, sizeof(*dirty), cmp_worker_ptr);
    /* An error aborts the transaction, and the next sched_db_begin drops
     * the cache with what was left unwritten. */
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = sched_db_put(db, txn, SCHED_DB_WORKERS, dirty[i]->id, strlen(dirty[i]->id),
                          dirty[i]->value, dirty[i]->len);
        dirty[i]->dirty = false;
    }
    free(dirty);
    return rc;
}

/* ---- the due indexes ---------------------------------------------------------- */

#define DUE_HEAD 16
#define DUE_KEY_MAX (DUE_HEAD + 64)

static void put_be64(uint8_t *out, uint64_t u)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(u >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *in)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = (u << 8) | in[i];
    return u;
}

/* Signed ms in an order-preserving unsigned form (negatives first). */
static void put_ms(uint8_t *out, int64_t ms) { put_be64(out, (uint64_t)ms ^ (1ULL << 63)); }
static int64_t get_ms(const uint8_t *in) { return (int64_t)(get_be64(in) ^ (1ULL << 63)); }

static size_t append_id(uint8_t *key, size_t at, const char *id)
{
    size_t n = strlen(id);
    if (n > 64)
        n = 64;
    memcpy(key + at, id, n);
    return at + n;
}

static size_t due_key(uint8_t *key, int64_t due_ms, uint64_t sequence, const char *person_id)
{
    put_ms(key, due_ms);
    put_be64(key + 8, sequence);
    return append_id(key, DUE_HEAD, person_id);
}

int sched_db_due_put(sched_db *db, MDB_txn *txn, bool sparse, int64_t due_ms, uint64_t sequence,
                     const char *person_id, const char *region, Doudi__VisitTier tier)
{
    uint8_t key[DUE_KEY_MAX], value[13];
    size_t klen = due_key(key, due_ms, sequence, person_id);
    memset(value, '0', 12);
    size_t rl = strlen(region);
    memcpy(value, region, rl < 12 ? rl : 12);
    value[12] = (uint8_t)tier;
    return sched_db_put(db, txn, sparse ? SCHED_DB_SPARSE_DUE : SCHED_DB_DUE, key, klen, value,
                        sizeof(value));
}

int sched_db_due_del(sched_db *db, MDB_txn *txn, bool sparse, int64_t due_ms, uint64_t sequence,
                     const char *person_id)
{
    uint8_t key[DUE_KEY_MAX];
    size_t klen = due_key(key, due_ms, sequence, person_id);
    return sched_db_del(db, txn, sparse ? SCHED_DB_SPARSE_DUE : SCHED_DB_DUE, key, klen);
}

int sched_db_due_forget(sched_db *db, MDB_txn *txn, int64_t due_ms, uint64_t sequence,
                        const char *person_id, uint64_t *pending)
{
    MDB_stat st;
    int rc = mdb_stat(txn, db->dbi[SCHED_DB_STALE_DUE], &st);
    if (rc)
        return rc;
    /* Emptied only as a whole, so the next counter is one past the count. */
    uint64_t number = (uint64_t)st.ms_entries + 1;
    uint8_t key[DUE_KEY_MAX];
    MDB_val k = {sizeof(number), &number}, v = {due_key(key, due_ms, sequence, person_id), key};
    rc = mdb_put(txn, db->dbi[SCHED_DB_STALE_DUE], &k, &v, MDB_APPEND);
    if (rc == 0)
        *pending = number;
    return rc;
}

typedef struct stale_key {
    uint8_t len;
    uint8_t key[DUE_KEY_MAX];
} stale_key;

static int by_due_key(const void *a, const void *b)
{
    const stale_key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (int)x->len - (int)y->len;
}

int sched_db_due_drop_forgotten(sched_db *db, MDB_txn *txn, uint64_t *deleted)
{
    *deleted = 0;
    MDB_stat st;
    int rc = mdb_stat(txn, db->dbi[SCHED_DB_STALE_DUE], &st);
    if (rc || st.ms_entries == 0)
        return rc;
    stale_key *keys = dd_malloc(st.ms_entries * sizeof(*keys));
    size_t n = 0;
    MDB_cursor *cur;
    MDB_val k, v;
    if ((rc = mdb_cursor_open(txn, db->dbi[SCHED_DB_STALE_DUE], &cur)) != 0)
        goto out;
    while (n < st.ms_entries && (rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
        if (v.mv_size <= DUE_HEAD || v.mv_size > DUE_KEY_MAX) {
            rc = DD_ECORRUPT;
            break;
        }
        keys[n].len = (uint8_t)v.mv_size;
        memcpy(keys[n++].key, v.mv_data, v.mv_size);
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        goto out;
    /* In key order, successive deletes find their page where the last left it. */
    qsort(keys, n, sizeof(*keys), by_due_key);
    if ((rc = mdb_cursor_open(txn, db->dbi[SCHED_DB_DUE], &cur)) != 0)
        goto out;
    for (size_t i = 0; i < n && rc == 0; i++) {
        k.mv_size = keys[i].len;
        k.mv_data = keys[i].key;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc == 0 && (rc = mdb_cursor_del(cur, 0)) == 0)
            (*deleted)++;
    }
    mdb_cursor_close(cur);
    if (rc == 0)
        rc = mdb_drop(txn, db->dbi[SCHED_DB_STALE_DUE], 0);
out:
    free(keys);
    return rc;
}

int sched_db_due_scan(sched_db *db, MDB_txn *txn, bool sparse, int64_t from_ms,
                      int64_t until_ms, sched_db_due_fn fn, void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, db->dbi[sparse ? SCHED_DB_SPARSE_DUE : SCHED_DB_DUE], &cur);
    if (rc)
        return rc;
    uint8_t start[8];
    put_ms(start, from_ms);
    MDB_val k = {8, start}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (k.mv_size <= DUE_HEAD || k.mv_size > DUE_KEY_MAX || v.mv_size != 13) {
            rc = DD_ECORRUPT;
            break;
        }
        int64_t due = get_ms(k.mv_data);
        if (due >= until_ms)
            break;
        char person[65], region[13];
        memcpy(person, (const uint8_t *)k.mv_data + DUE_HEAD, k.mv_size - DUE_HEAD);
        person[k.mv_size - DUE_HEAD] = '\0';
        memcpy(region, v.mv_data, 12);
        region[12] = '\0';
        sched_due_entry entry = {due, get_be64((const uint8_t *)k.mv_data + 8), person, region,
                                 (Doudi__VisitTier)((const uint8_t *)v.mv_data)[12]};
        rc = fn(arg, &entry);
        if (rc == SCHED_DUE_DELETE) {
            /* The cursor moves to the next entry; MDB_NEXT then returns it. */
            rc = mdb_cursor_del(cur, 0);
        }
        if (rc)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 1 ? 0 : rc;
}

/* ---- plans by township ------------------------------------------------------------ */

#define TOWNSHIP_HEAD (9 + 8)

static size_t township_plan_key(uint8_t *key, const char *region12, int64_t started_ms,
                                const char *person_id)
{
    memset(key, '0', 9);
    size_t rl = strlen(region12);
    memcpy(key, region12, rl < 9 ? rl : 9);
    put_ms(key + 9, started_ms);
    return append_id(key, TOWNSHIP_HEAD, person_id);
}

int sched_db_township_plan_put(sched_db *db, MDB_txn *txn, const char *region12,
                               int64_t started_ms, const char *person_id)
{
    uint8_t key[TOWNSHIP_HEAD + 64];
    size_t klen = township_plan_key(key, region12, started_ms, person_id);
    return sched_db_put(db, txn, SCHED_DB_TOWNSHIP_PLANS, key, klen, "", 0);
}

int sched_db_township_plan_del(sched_db *db, MDB_txn *txn, const char *region12,
                               int64_t started_ms, const char *person_id)
{
    uint8_t key[TOWNSHIP_HEAD + 64];
    size_t klen = township_plan_key(key, region12, started_ms, person_id);
    return sched_db_del(db, txn, SCHED_DB_TOWNSHIP_PLANS, key, klen);
}

typedef struct township_scan {
    sched_db_person_fn fn;
    void *arg;
    int rc;
} township_scan;

static int township_scan_cb(void *arg, const MDB_val *key, const MDB_val *value)
{
    (void)value;
    township_scan *j = arg;
    if (key->mv_size <= TOWNSHIP_HEAD || key->mv_size > TOWNSHIP_HEAD + 64) {
        j->rc = DD_ECORRUPT;
        return 1;
    }
    char person[65];
    memcpy(person, (const uint8_t *)key->mv_data + TOWNSHIP_HEAD, key->mv_size - TOWNSHIP_HEAD);
    person[key->mv_size - TOWNSHIP_HEAD] = '\0';
    int rc = j->fn(j->arg, person);
    if (rc && rc != 1)
        j->rc = rc;
    return rc ? 1 : 0;
}

int sched_db_township_plans_scan(sched_db *db, MDB_txn *txn, const char *prefix, size_t plen,
                                 sched_db_person_fn fn, void *arg)
{
    township_scan j = {fn, arg, 0};
    int rc = sched_db_scan_prefix(db, txn, SCHED_DB_TOWNSHIP_PLANS, prefix, plen > 9 ? 9 : plen,
                                  township_scan_cb, &j);
    return rc ? rc : j.rc;
}

/* ---- counters by level ---------------------------------------------------------- */

static uint64_t counter_hash(uint8_t which, const uint8_t *key, size_t klen)
{
    return XXH3_64bits_withSeed(key, klen, which);
}

static counter *counter_slot(sched_db *db, uint8_t which, const uint8_t *key, size_t klen)
{
    size_t mask = db->counters_cap - 1;
    for (size_t i = (size_t)counter_hash(which, key, klen) & mask;; i = (i + 1) & mask) {
        counter *c = &db->counters[i];
        if (!c->used || (c->which == which && c->klen == klen && memcmp(c->key, key, klen) == 0))
            return c;
    }
}

/* A counter's values changed in this transaction: the flush writes it. */
static void mark_dirty(sched_db *db, counter *c)
{
    if (!c->dirty) {
        c->dirty = 1;
        dirty_list_push(&db->dirty_counters, (size_t)(c - db->counters));
    }
    db->dirty_id = db->writing_id;
}

static void counters_grow(sched_db *db)
{
    counter *old = db->counters;
    size_t old_cap = db->counters_cap;
    db->counters_cap = old_cap ? old_cap * 2 : 4096;
    db->counters = dd_calloc(db->counters_cap, sizeof(counter));
    db->dirty_counters.n = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].used)
            continue;
        counter *c = counter_slot(db, old[i].which, old[i].key, old[i].klen);
        *c = old[i];
        if (c->dirty)
            dirty_list_push(&db->dirty_counters, (size_t)(c - db->counters));
    }
    free(old);
}

static size_t counter_width(sched_dbi which)
{
    return which == SCHED_DB_RATES       ? SCHED_RATE_VALUES
           : which == SCHED_DB_TOWNSHIPS ? sizeof(sched_township) / sizeof(int64_t)
                                         : SCHED_TIERS_VALUES;
}

/* The counter of key in which, loaded from txn on first use. */
static int counter_get(sched_db *db, MDB_txn *txn, sched_dbi which, const uint8_t *key,
                       size_t klen, counter **out)
{
    if (klen > COUNTER_KEY_MAX)
        return DD_ETOOBIG;
    if (2 * (db->ncounters + 1) > db->counters_cap)
        counters_grow(db);
    counter *c = counter_slot(db, (uint8_t)which, key, klen);
    if (!c->used) {
        size_t n = counter_width(which);
        MDB_val v;
        int rc = sched_db_get(db, txn, which, key, klen, &v);
        if (rc == 0 && v.mv_size != n * sizeof(int64_t))
            return DD_ECORRUPT;
        if (rc && rc != DD_NOTFOUND)
            return rc;
        memset(c, 0, sizeof(*c));
        if (rc == 0)
            memcpy(c->values, v.mv_data, v.mv_size);
        c->used = 1;
        c->which = (uint8_t)which;
        c->klen = (uint8_t)klen;
        memcpy(c->key, key, klen);
        db->ncounters++;
    }
    *out = c;
    return 0;
}

static int add_values(sched_db *db, MDB_txn *txn, sched_dbi which, const void *key, size_t klen,
                      const int64_t *delta, size_t n)
{
    counter *c;
    int rc = counter_get(db, txn, which, key, klen, &c);
    if (rc)
        return rc;
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
        c->values[i] += delta[i];
        changed |= delta[i] != 0;
    }
    if (changed)
        mark_dirty(db, c);
    return 0;
}

/* A dirty counter's place in key order, as three words compared in turn:
 * the database, then its key's bytes (zero-padded, so a key sorts before
 * the longer keys it begins, as in LMDB), then its length. Sorted by
 * pointer, each comparison read two counters spread over the cache. */
typedef struct flush_order {
    uint64_t word[3];
    counter *c;
} flush_order;

static uint64_t big_endian(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

_Static_assert(COUNTER_KEY_MAX == 16, "order_of packs a key into 15 bytes and one");

static flush_order order_of(counter *c)
{
    uint8_t key[COUNTER_KEY_MAX] = {0};
    memcpy(key, c->key, c->klen);
    flush_order o;
    o.word[0] = (uint64_t)c->which << 56 | big_endian(key, 7);
    o.word[1] = big_endian(key + 7, 8);
    o.word[2] = big_endian(key + 15, COUNTER_KEY_MAX - 15) << 8 | c->klen;
    o.c = c;
    return o;
}

static int cmp_flush_order(const void *a, const void *b)
{
    const flush_order *x = a, *y = b;
    for (int i = 0; i < 3; i++)
        if (x->word[i] != y->word[i])
            return x->word[i] < y->word[i] ? -1 : 1;
    return 0;
}

int sched_db_counters_flush(sched_db *db, MDB_txn *txn)
{
    int rc = workers_flush(db, txn);
    if (rc)
        return rc;
    size_t ndirty = db->dirty_counters.n;
    flush_order *dirty = ndirty ? dd_malloc(ndirty * sizeof(*dirty)) : NULL;
    for (size_t i = 0; i < ndirty; i++)
        dirty[i] = order_of(&db->counters[db->dirty_counters.at[i]]);
    db->dirty_counters.n = 0;
    /* In key order: each descent finds the pages of the one before it. */
    if (ndirty > 1)
        qsort(dirty, ndirty, sizeof(*dirty), cmp_flush_order);
    /* As for workers, an error leaves the rest to sched_db_begin's drop. */
    for (size_t i = 0; i < ndirty && rc == 0; i++) {
        counter *c = dirty[i].c;
        size_t n = counter_width(c->which);
        bool zero = true;
        for (size_t k = 0; k < n; k++)
            zero &= c->values[k] == 0;
        /* Counters that come back to zero are deleted so scans stay short
         * (an all-zero township reads as absent). */
        rc = zero ? sched_db_del(db, txn, c->which, c->key, c->klen)
                  : sched_db_put(db, txn, c->which, c->key, c->klen, c->values,
                                 n * sizeof(int64_t));
        c->dirty = 0;
    }
    free(dirty);
    return rc;
}

void sched_db_counters_drop(sched_db *db)
{
    if (db->ncounters)
        memset(db->counters, 0, db->counters_cap * sizeof(counter));
    db->ncounters = 0;
    db->dirty_counters.n = 0;
}

/* A counter's value: the transaction's pending one if any, else the stored one. */
static int get_values(sched_db *db, MDB_txn *txn, sched_dbi which, const void *key, size_t klen,
                      int64_t *out, size_t n)
{
    if (klen <= COUNTER_KEY_MAX && db->ncounters && in_write(db, txn)) {
        counter *c = counter_slot(db, (uint8_t)which, key, klen);
        if (c->used) {
            memcpy(out, c->values, n * sizeof(int64_t));
            return 0;
        }
    }
    memset(out, 0, n * sizeof(int64_t));
    MDB_val v;
    int rc = sched_db_get(db, txn, which, key, klen, &v);
    if (rc == DD_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != n * sizeof(int64_t))
        return DD_ECORRUPT;
    memcpy(out, v.mv_data, v.mv_size);
    return 0;
}

static size_t rate_key(uint8_t key[16], int32_t month, const char *prefix, size_t plen)
{
    uint32_t m = (uint32_t)month;
    key[0] = (uint8_t)(m >> 24);
    key[1] = (uint8_t)(m >> 16);
    key[2] = (uint8_t)(m >> 8);
    key[3] = (uint8_t)m;
    memcpy(key + 4, prefix, plen);
    return 4 + plen;
}

int sched_db_rates_add(sched_db *db, MDB_txn *txn, int32_t month, const char *region12,
                       const int64_t delta[SCHED_RATE_VALUES])
{
    for (int l = 0; l < SCHED_LEVELS; l++) {
        uint8_t key[16];
        size_t klen = rate_key(key, month, region12, (size_t)sched_level_len[l]);
        int rc = add_values(db, txn, SCHED_DB_RATES, key, klen, delta, SCHED_RATE_VALUES);
        if (rc)
            return rc;
    }
    return 0;
}

int sched_db_rates_add_prefix(sched_db *db, MDB_txn *txn, int32_t month, const char *prefix,
                              size_t plen, const int64_t delta[SCHED_RATE_VALUES])
{
    uint8_t key[16];
    size_t klen = rate_key(key, month, prefix, plen > 12 ? 12 : plen);
    return add_values(db, txn, SCHED_DB_RATES, key, klen, delta, SCHED_RATE_VALUES);
}

int sched_db_rates_get(sched_db *db, MDB_txn *txn, int32_t month, const char *prefix,
                       int64_t out[SCHED_RATE_VALUES])
{
    uint8_t key[16];
    size_t plen = strlen(prefix);
    if (plen > 12)
        plen = 12;
    size_t klen = rate_key(key, month, prefix, plen);
    return get_values(db, txn, SCHED_DB_RATES, key, klen, out, SCHED_RATE_VALUES);
}

int sched_db_tiers_add(sched_db *db, MDB_txn *txn, const char *region12, Doudi__VisitTier tier,
                       int64_t count_delta, int64_t demand_delta)
{
    int64_t delta[SCHED_TIERS_VALUES] = {0};
    if ((int)tier >= 0 && (int)tier < SCHED_TIER_SLOTS)
        delta[tier] = count_delta;
    delta[SCHED_TIERS_DEMAND] = demand_delta;
    for (int l = 0; l < SCHED_LEVELS; l++) {
        int rc = add_values(db, txn, SCHED_DB_TIERS, region12, (size_t)sched_level_len[l], delta,
                            SCHED_TIERS_VALUES);
        if (rc)
            return rc;
    }
    return 0;
}

int sched_db_tiers_get(sched_db *db, MDB_txn *txn, const char *prefix,
                       int64_t out[SCHED_TIERS_VALUES])
{
    size_t plen = strlen(prefix);
    return get_values(db, txn, SCHED_DB_TIERS, prefix, plen > 12 ? 12 : plen, out,
                      SCHED_TIERS_VALUES);
}

int sched_db_township_get(sched_db *db, MDB_txn *txn, const char *region12, sched_township *out)
{
    memset(out, 0, sizeof(*out));
    if (in_write(db, txn)) {
        counter *c;
        int rc = counter_get(db, txn, SCHED_DB_TOWNSHIPS, (const uint8_t *)region12, 9, &c);
        if (rc == 0)
            memcpy(out, c->values, sizeof(*out));
        return rc;
    }
    MDB_val v;
    int rc = sched_db_get(db, txn, SCHED_DB_TOWNSHIPS, region12, 9, &v);
    if (rc == DD_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != sizeof(*out))
        return DD_ECORRUPT;
    memcpy(out, v.mv_data, sizeof(*out));
    return 0;
}

int sched_db_township_put(sched_db *db, MDB_txn *txn, const char *region12,
                          const sched_township *t)
{
    counter *c;
    int rc = counter_get(db, txn, SCHED_DB_TOWNSHIPS, (const uint8_t *)region12, 9, &c);
    if (rc)
        return rc;
    if (memcmp(c->values, t, sizeof(*t)) != 0) {
        memcpy(c->values, t, sizeof(*t));
        mark_dirty(db, c);
    }
    return 0;
}

int sched_db_meta_get(sched_db *db, MDB_txn *txn, const char *name, int64_t dflt,
                      int64_t *value)
{
    MDB_val v;
    int rc = sched_db_get(db, txn, SCHED_DB_META, name, strlen(name), &v);
    if (rc == DD_NOTFOUND) {
        *value = dflt;
        return 0;
    }
    if (rc)
        return rc;
    if (v.mv_size != sizeof(int64_t))
        return DD_ECORRUPT;
    memcpy(value, v.mv_data, sizeof(int64_t));
    return 0;
}

int sched_db_meta_put(sched_db *db, MDB_txn *txn, const char *name, int64_t value)
{
    return sched_db_put(db, txn, SCHED_DB_META, name, strlen(name), &value, sizeof(value));
}

bool sched_region_valid(const char *s)
{
    for (int i = 0; i < 12; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return s[12] == '\0';
}

void sched_region_prefix(const char *region12, int level, char out[13])
{
    int n = sched_level_len[level];
    memcpy(out, region12, (size_t)n);
    out[n] = '\0';
}

void sched_township_code(const char *region12, char out[13])
{
    memcpy(out, region12, 9);
    memcpy(out + 9, "000", 4);
}
