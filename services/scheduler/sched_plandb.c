/* sched_plandb.c: the scheduler's databases and key layouts (see sched_plandb.h). */
#include "sched_plandb.h"

#include "diag.h"
#include "error.h"

#include <stdlib.h>

#include <string.h>

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
};

/*
 * A counter of "rates" or "tiers" as the transaction sees it: loaded on
 * first use, added to in memory, written by the flush when dirty. Open
 * addressing, linear probing; the table only grows until it is dropped.
 */
#define COUNTER_KEY_MAX 16
typedef struct counter {
    uint8_t used, dirty, which, klen;
    uint8_t key[COUNTER_KEY_MAX];
    int64_t values[SCHED_TIERS_VALUES];
} counter;

struct sched_db {
    MDB_dbi dbi[SCHED_DB_COUNT];
    counter *counters;
    size_t ncounters, counters_cap;
};

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

int sched_db_open(dd_store *store, sched_db **out)
{
    int rc = check_layout(store);
    if (rc)
        return rc;
    sched_db *db = dd_calloc(1, sizeof(*db));
    for (int i = 0; i < SCHED_DB_COUNT; i++) {
        rc = dd_store_dbi(store, db_defs[i].name, db_defs[i].flags, &db->dbi[i]);
        if (rc) {
            free(db);
            return rc;
        }
    }
    *out = db;
    return 0;
}

void sched_db_close(sched_db **db)
{
    if (!db || !*db)
        return;
    free((*db)->counters);
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

static int put_message(sched_db *db, MDB_txn *txn, sched_dbi which, const char *key,
                       const ProtobufCMessage *msg, dd_arena *arena)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = dd_arena_alloc(arena, len ? len : 1);
    protobuf_c_message_pack(msg, buf);
    return sched_db_put(db, txn, which, key, strlen(key), buf, len);
}

int sched_db_get_plan(sched_db *db, MDB_txn *txn, const char *person_id, dd_arena *arena,
                      Doudi__VisitPlan **out)
{
    MDB_val v;
    int rc = sched_db_get(db, txn, SCHED_DB_PLANS, person_id, strlen(person_id), &v);
    if (rc)
        return rc;
    ProtobufCAllocator a = dd_arena_protobuf_allocator(arena);
    *out = doudi__visit_plan__unpack(&a, v.mv_size, v.mv_data);
    return *out ? 0 : DD_ECORRUPT;
}

int sched_db_put_plan(sched_db *db, MDB_txn *txn, const Doudi__VisitPlan *plan, dd_arena *arena)
{
    return put_message(db, txn, SCHED_DB_PLANS, plan->person_id, &plan->base, arena);
}

int sched_db_get_worker(sched_db *db, MDB_txn *txn, const char *worker_id, dd_arena *arena,
                        Doudi__RosterWorker **out)
{
    MDB_val v;
    int rc = sched_db_get(db, txn, SCHED_DB_WORKERS, worker_id, strlen(worker_id), &v);
    if (rc)
        return rc;
    ProtobufCAllocator a = dd_arena_protobuf_allocator(arena);
    *out = doudi__roster_worker__unpack(&a, v.mv_size, v.mv_data);
    return *out ? 0 : DD_ECORRUPT;
}

int sched_db_put_worker(sched_db *db, MDB_txn *txn, const Doudi__RosterWorker *w,
                        dd_arena *arena)
{
    return put_message(db, txn, SCHED_DB_WORKERS, w->worker_id, &w->base, arena);
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
    uint64_t h = 1469598103934665603ULL ^ which; /* FNV-1a */
    for (size_t i = 0; i < klen; i++)
        h = (h ^ key[i]) * 1099511628211ULL;
    /* Keys differ in their last digits: mix them into the low bits too. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
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

static void counters_grow(sched_db *db)
{
    counter *old = db->counters;
    size_t old_cap = db->counters_cap;
    db->counters_cap = old_cap ? old_cap * 2 : 4096;
    db->counters = dd_calloc(db->counters_cap, sizeof(counter));
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].used)
            *counter_slot(db, old[i].which, old[i].key, old[i].klen) = old[i];
    free(old);
}

static size_t counter_width(sched_dbi which)
{
    return which == SCHED_DB_RATES ? SCHED_RATE_VALUES : SCHED_TIERS_VALUES;
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
    c->dirty |= changed;
    return 0;
}

int sched_db_counters_flush(sched_db *db, MDB_txn *txn)
{
    for (size_t i = 0; i < db->counters_cap; i++) {
        counter *c = &db->counters[i];
        if (!c->used || !c->dirty)
            continue;
        size_t n = counter_width(c->which);
        bool zero = true;
        for (size_t k = 0; k < n; k++)
            zero &= c->values[k] == 0;
        /* Counters that come back to zero are deleted so scans stay short. */
        int rc = zero ? sched_db_del(db, txn, c->which, c->key, c->klen)
                      : sched_db_put(db, txn, c->which, c->key, c->klen, c->values,
                                     n * sizeof(int64_t));
        if (rc)
            return rc;
        c->dirty = 0;
    }
    return 0;
}

void sched_db_counters_drop(sched_db *db)
{
    if (db->ncounters)
        memset(db->counters, 0, db->counters_cap * sizeof(counter));
    db->ncounters = 0;
}

/* A counter's value: the transaction's pending one if any, else the stored one. */
static int get_values(sched_db *db, MDB_txn *txn, sched_dbi which, const void *key, size_t klen,
                      int64_t *out, size_t n)
{
    if (klen <= COUNTER_KEY_MAX && db->ncounters) {
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
    return sched_db_put(db, txn, SCHED_DB_TOWNSHIPS, region12, 9, t, sizeof(*t));
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
