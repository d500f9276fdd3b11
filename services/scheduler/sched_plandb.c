/* sched_plandb.c: the scheduler's databases and key layouts (see sched_plandb.h). */
#include "sched_plandb.h"

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
    [SCHED_DB_WORKERS] = {"workers", 0},
    [SCHED_DB_WORKER_REGIONS] = {"worker_regions", 0},
    [SCHED_DB_WORKER_PLANS] = {"worker_plans", 0},
    [SCHED_DB_UNASSIGNED] = {"unassigned", 0},
    [SCHED_DB_RATES] = {"rates", 0},
    [SCHED_DB_TIERS] = {"tiers", 0},
    [SCHED_DB_TOWNSHIPS] = {"townships", 0},
    [SCHED_DB_UNMATCHED] = {"unmatched", MDB_INTEGERKEY},
    [SCHED_DB_META] = {"meta", 0},
    [SCHED_DB_REGION_DUE] = {"region_due", 0},
};

struct sched_db {
    MDB_dbi dbi[SCHED_DB_COUNT];
};

int sched_db_open(dd_store *store, sched_db **out)
{
    sched_db *db = dd_calloc(1, sizeof(*db));
    for (int i = 0; i < SCHED_DB_COUNT; i++) {
        int rc = dd_store_dbi(store, db_defs[i].name, db_defs[i].flags, &db->dbi[i]);
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

#define DUE_KEY_MAX (8 + 64)

static size_t due_key(uint8_t *key, int64_t due_ms, const char *person_id)
{
    uint64_t u = (uint64_t)due_ms ^ (1ULL << 63); /* order negatives first */
    for (int i = 0; i < 8; i++)
        key[i] = (uint8_t)(u >> (56 - 8 * i));
    size_t n = strlen(person_id);
    if (n > DUE_KEY_MAX - 8)
        n = DUE_KEY_MAX - 8;
    memcpy(key + 8, person_id, n);
    return 8 + n;
}

static int64_t due_of_key(const uint8_t *key)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = (u << 8) | key[i];
    return (int64_t)(u ^ (1ULL << 63));
}

int sched_db_due_put(sched_db *db, MDB_txn *txn, bool sparse, int64_t due_ms,
                     const char *person_id, const char *region, Doudi__VisitTier tier)
{
    uint8_t key[DUE_KEY_MAX], value[13];
    size_t klen = due_key(key, due_ms, person_id);
    memset(value, '0', 12);
    size_t rl = strlen(region);
    memcpy(value, region, rl < 12 ? rl : 12);
    value[12] = (uint8_t)tier;
    return sched_db_put(db, txn, sparse ? SCHED_DB_SPARSE_DUE : SCHED_DB_DUE, key, klen, value,
                        sizeof(value));
}

int sched_db_due_del(sched_db *db, MDB_txn *txn, bool sparse, int64_t due_ms,
                     const char *person_id)
{
    uint8_t key[DUE_KEY_MAX];
    size_t klen = due_key(key, due_ms, person_id);
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
    due_key(start, from_ms, "");
    MDB_val k = {8, start}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (k.mv_size < 8 || k.mv_size > DUE_KEY_MAX || v.mv_size != 13) {
            rc = DD_ECORRUPT;
            break;
        }
        int64_t due = due_of_key(k.mv_data);
        if (due >= until_ms)
            break;
        char person[DUE_KEY_MAX], region[13];
        memcpy(person, (const uint8_t *)k.mv_data + 8, k.mv_size - 8);
        person[k.mv_size - 8] = '\0';
        memcpy(region, v.mv_data, 12);
        region[12] = '\0';
        rc = fn(arg, due, person, region, (Doudi__VisitTier)((const uint8_t *)v.mv_data)[12]);
        if (rc)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 1 ? 0 : rc;
}

static size_t region_due_key(uint8_t *key, const char *region, int64_t due_ms,
                             const char *person_id)
{
    memset(key, '0', 12);
    size_t rl = strlen(region);
    memcpy(key, region, rl < 12 ? rl : 12);
    return 12 + due_key(key + 12, due_ms, person_id);
}

int sched_db_region_due_put(sched_db *db, MDB_txn *txn, const char *region, int64_t due_ms,
                            const char *person_id, Doudi__VisitTier tier)
{
    uint8_t key[12 + DUE_KEY_MAX], value = (uint8_t)tier;
    size_t klen = region_due_key(key, region, due_ms, person_id);
    return sched_db_put(db, txn, SCHED_DB_REGION_DUE, key, klen, &value, 1);
}

int sched_db_region_due_del(sched_db *db, MDB_txn *txn, const char *region, int64_t due_ms,
                            const char *person_id)
{
    uint8_t key[12 + DUE_KEY_MAX];
    size_t klen = region_due_key(key, region, due_ms, person_id);
    return sched_db_del(db, txn, SCHED_DB_REGION_DUE, key, klen);
}

int sched_db_region_due_key(const MDB_val *key, char region[13], int64_t *due_ms,
                            char person_id[65])
{
    if (key->mv_size < 20 || key->mv_size > 20 + 64)
        return DD_ECORRUPT;
    const uint8_t *k = key->mv_data;
    memcpy(region, k, 12);
    region[12] = '\0';
    *due_ms = due_of_key(k + 12);
    memcpy(person_id, k + 20, key->mv_size - 20);
    person_id[key->mv_size - 20] = '\0';
    return 0;
}

/* ---- counters by level ---------------------------------------------------------- */

static int add_values(sched_db *db, MDB_txn *txn, sched_dbi which, const void *key, size_t klen,
                      const int64_t *delta, size_t n)
{
    int64_t values[SCHED_TIERS_VALUES] = {0};
    MDB_val v;
    int rc = sched_db_get(db, txn, which, key, klen, &v);
    if (rc == 0) {
        if (v.mv_size != n * sizeof(int64_t))
            return DD_ECORRUPT;
        memcpy(values, v.mv_data, v.mv_size);
    } else if (rc != DD_NOTFOUND) {
        return rc;
    }
    bool zero = true;
    for (size_t i = 0; i < n; i++) {
        values[i] += delta[i];
        zero &= values[i] == 0;
    }
    /* Counters that come back to zero are deleted so scans stay short. */
    if (zero)
        return sched_db_del(db, txn, which, key, klen);
    return sched_db_put(db, txn, which, key, klen, values, n * sizeof(int64_t));
}

static int get_values(sched_db *db, MDB_txn *txn, sched_dbi which, const void *key, size_t klen,
                      int64_t *out, size_t n)
{
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
