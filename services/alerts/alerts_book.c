/* alerts_book.c: doudi-alerts' LMDB databases (see alerts_book.h). */
#include "alerts_book.h"

#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct alerts_book {
    dd_store *store;
    MDB_dbi alerts, dedup, deadlines, unresolved, overdue, gone, rates, silences, meta;
};

int alerts_book_open(dd_store *store, alerts_book **out)
{
    alerts_book *b = dd_calloc(1, sizeof(*b));
    b->store = store;
    int rc;
    if ((rc = dd_store_dbi(store, "alerts", MDB_INTEGERKEY, &b->alerts)) ||
        (rc = dd_store_dbi(store, "dedup", 0, &b->dedup)) ||
        (rc = dd_store_dbi(store, "deadlines", 0, &b->deadlines)) ||
        (rc = dd_store_dbi(store, "unresolved", 0, &b->unresolved)) ||
        (rc = dd_store_dbi(store, "visit_overdue", 0, &b->overdue)) ||
        (rc = dd_store_dbi(store, "gone", 0, &b->gone)) ||
        (rc = dd_store_dbi(store, "rates", 0, &b->rates)) ||
        (rc = dd_store_dbi(store, "silences", MDB_INTEGERKEY, &b->silences)) ||
        (rc = dd_store_dbi(store, "meta", 0, &b->meta))) {
        free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void alerts_book_close(alerts_book **b)
{
    if (!b || !*b)
        return;
    free(*b);
    *b = NULL;
}

void alerts_id_format(uint64_t number, char out[24])
{
    snprintf(out, 24, "A%llu", (unsigned long long)number);
}

uint64_t alerts_id_parse(const char *id)
{
    if (id[0] != 'A' || id[1] < '1' || id[1] > '9')
        return 0;
    uint64_t n = 0;
    for (const char *p = id + 1; *p; p++) {
        if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10)
            return 0;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    return n;
}

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

static int del_ok(int rc)
{
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- alerts ------------------------------------------------------------- */

int alerts_book_get(alerts_book *b, MDB_txn *txn, uint64_t number, dd_arena *arena,
                    Doudi__StoredAlert **out)
{
    MDB_val k = dd_store_u64_key(&number), v;
    int rc = mdb_get(txn, b->alerts, &k, &v);
    if (rc == MDB_NOTFOUND)
        return DD_NOTFOUND;
    if (rc)
        return rc;
    ProtobufCAllocator a = dd_arena_protobuf_allocator(arena);
    *out = doudi__stored_alert__unpack(&a, v.mv_size, v.mv_data);
    return *out ? 0 : DD_ECORRUPT;
}

int alerts_book_put(alerts_book *b, MDB_txn *txn, uint64_t number, const Doudi__StoredAlert *a)
{
    size_t len = doudi__stored_alert__get_packed_size(a);
    MDB_val k = dd_store_u64_key(&number), v = {len, NULL};
    int rc = mdb_put(txn, b->alerts, &k, &v, MDB_RESERVE);
    if (rc == 0)
        doudi__stored_alert__pack(a, v.mv_data);
    return rc;
}

int alerts_book_count(alerts_book *b, MDB_txn *txn, uint64_t *n)
{
    MDB_stat st;
    int rc = mdb_stat(txn, b->alerts, &st);
    *n = rc ? 0 : st.ms_entries;
    return rc;
}

int alerts_book_each(alerts_book *b, MDB_txn *txn, uint64_t after_number, dd_arena *arena,
                     int (*fn)(void *arg, uint64_t number, Doudi__StoredAlert *a), void *arg)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, b->alerts, &c);
    if (rc)
        return rc;
    uint64_t from = after_number + 1;
    MDB_val k = dd_store_u64_key(&from), v;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    ProtobufCAllocator al = dd_arena_protobuf_allocator(arena);
    while (rc == 0) {
        uint64_t number;
        memcpy(&number, k.mv_data, sizeof(number));
        Doudi__StoredAlert *a = doudi__stored_alert__unpack(&al, v.mv_size, v.mv_data);
        if (!a) {
            rc = DD_ECORRUPT;
            break;
        }
        if ((rc = fn(arg, number, a)) != 0)
            break;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- dedup ---------------------------------------------------------------- */

static MDB_val str_key(const char *s)
{
    size_t n = strlen(s);
    MDB_val k = {n > 500 ? 500 : n, (void *)s};
    return k;
}

int alerts_book_dedup_get(alerts_book *b, MDB_txn *txn, const char *key, uint64_t *number)
{
    MDB_val k = str_key(key), v;
    int rc = mdb_get(txn, b->dedup, &k, &v);
    if (rc == MDB_NOTFOUND)
        return DD_NOTFOUND;
    if (rc)
        return rc;
    if (v.mv_size != sizeof(*number))
        return DD_ECORRUPT;
    memcpy(number, v.mv_data, sizeof(*number));
    return 0;
}

int alerts_book_dedup_put(alerts_book *b, MDB_txn *txn, const char *key, uint64_t number)
{
    MDB_val k = str_key(key), v = {sizeof(number), &number};
    return mdb_put(txn, b->dedup, &k, &v, 0);
}

int alerts_book_dedup_del(alerts_book *b, MDB_txn *txn, const char *key)
{
    MDB_val k = str_key(key);
    return del_ok(mdb_del(txn, b->dedup, &k, NULL));
}

/* ---- deadlines ------------------------------------------------------------ */

int alerts_book_deadline_put(alerts_book *b, MDB_txn *txn, int64_t deadline_ms, uint64_t number)
{
    uint8_t key[16];
    put_be64(key, (uint64_t)deadline_ms);
    put_be64(key + 8, number);
    MDB_val k = {sizeof(key), key}, v = {0, ""};
    return mdb_put(txn, b->deadlines, &k, &v, 0);
}

int alerts_book_deadline_del(alerts_book *b, MDB_txn *txn, int64_t deadline_ms, uint64_t number)
{
    uint8_t key[16];
    put_be64(key, (uint64_t)deadline_ms);
    put_be64(key + 8, number);
    MDB_val k = {sizeof(key), key};
    return del_ok(mdb_del(txn, b->deadlines, &k, NULL));
}

int alerts_book_deadline_first(alerts_book *b, MDB_txn *txn, int64_t *deadline_ms,
                               uint64_t *number)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, b->deadlines, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    if (rc == 0 && k.mv_size == 16) {
        *deadline_ms = (int64_t)get_be64(k.mv_data);
        *number = get_be64((const uint8_t *)k.mv_data + 8);
    } else if (rc == 0) {
        rc = DD_ECORRUPT;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? DD_NOTFOUND : rc;
}

/* ---- unresolved by region ---------------------------------------------------- */

static size_t region_key(uint8_t *key, const char *region, uint64_t number)
{
    size_t n = strnlen(region, 12);
    memcpy(key, region, n);
    put_be64(key + n, number);
    return n + 8;
}

int alerts_book_unresolved_put(alerts_book *b, MDB_txn *txn, const char *region, uint64_t number)
{
    uint8_t key[20];
    MDB_val k = {region_key(key, region, number), key}, v = {0, ""};
    return mdb_put(txn, b->unresolved, &k, &v, 0);
}

int alerts_book_unresolved_del(alerts_book *b, MDB_txn *txn, const char *region, uint64_t number)
{
    uint8_t key[20];
    MDB_val k = {region_key(key, region, number), key};
    return del_ok(mdb_del(txn, b->unresolved, &k, NULL));
}

int alerts_book_unresolved_each(alerts_book *b, MDB_txn *txn, const char *prefix,
                                int (*fn)(void *arg, uint64_t number), void *arg)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, b->unresolved, &c);
    if (rc)
        return rc;
    size_t plen = strlen(prefix);
    MDB_val k = {plen, (void *)prefix}, v;
    rc = mdb_cursor_get(c, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0) {
        if (k.mv_size != 20 || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if ((rc = fn(arg, get_be64((const uint8_t *)k.mv_data + 12))) != 0)
            break;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- visit-overdue alerts by person, and persons gone ----------------------- */

static size_t person_key(uint8_t *key, const char *person, uint64_t number)
{
    size_t n = strnlen(person, 64);
    memcpy(key, person, n);
    key[n] = '\0';
    put_be64(key + n + 1, number);
    return n + 9;
}

int alerts_book_overdue_put(alerts_book *b, MDB_txn *txn, const char *person, uint64_t number)
{
    uint8_t key[80];
    MDB_val k = {person_key(key, person, number), key}, v = {0, ""};
    return mdb_put(txn, b->overdue, &k, &v, 0);
}

int alerts_book_overdue_del(alerts_book *b, MDB_txn *txn, const char *person, uint64_t number)
{
    uint8_t key[80];
    MDB_val k = {person_key(key, person, number), key};
    return del_ok(mdb_del(txn, b->overdue, &k, NULL));
}

int alerts_book_overdue_of(alerts_book *b, MDB_txn *txn, const char *person, dd_arena *arena,
                           uint64_t **numbers, size_t *n)
{
    *numbers = NULL;
    *n = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, b->overdue, &c);
    if (rc)
        return rc;
    uint8_t key[80];
    size_t plen = person_key(key, person, 0) - 8;
    MDB_val k = {plen, key}, v;
    size_t cap = 0;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size == plen + 8 && memcmp(k.mv_data, key, plen) == 0) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            uint64_t *grown = dd_arena_alloc(arena, cap * sizeof(uint64_t));
            if (*n)
                memcpy(grown, *numbers, *n * sizeof(uint64_t));
            *numbers = grown;
        }
        (*numbers)[(*n)++] = get_be64((const uint8_t *)k.mv_data + plen);
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

int alerts_book_gone_put(alerts_book *b, MDB_txn *txn, const char *person, int64_t at_ms)
{
    MDB_val k = str_key(person), v = {sizeof(at_ms), &at_ms};
    return mdb_put(txn, b->gone, &k, &v, 0);
}

int alerts_book_gone_del(alerts_book *b, MDB_txn *txn, const char *person)
{
    MDB_val k = str_key(person);
    return del_ok(mdb_del(txn, b->gone, &k, NULL));
}

bool alerts_book_is_gone(alerts_book *b, MDB_txn *txn, const char *person)
{
    if (!person[0])
        return false;
    MDB_val k = str_key(person), v;
    return mdb_get(txn, b->gone, &k, &v) == 0;
}

/* ---- timeliness --------------------------------------------------------------- */

static size_t rate_key(char *key, const char *prefix, size_t digits, int32_t yyyymm)
{
    return (size_t)snprintf(key, 32, "%c%.*s@%06d", (char)('a' + digits), (int)digits, prefix,
                            (int)yyyymm);
}

int alerts_book_rate_add(alerts_book *b, MDB_txn *txn, const char *prefix, size_t digits,
                         int32_t yyyymm, uint64_t due, uint64_t in_time)
{
    char key[32];
    MDB_val k = {rate_key(key, prefix, digits, yyyymm), key}, v;
    uint64_t val[2] = {0, 0};
    int rc = mdb_get(txn, b->rates, &k, &v);
    if (rc == 0 && v.mv_size == sizeof(val))
        memcpy(val, v.mv_data, sizeof(val));
    else if (rc && rc != MDB_NOTFOUND)
        return rc;
    val[0] += due;
    val[1] += in_time;
    v.mv_size = sizeof(val);
    v.mv_data = val;
    return mdb_put(txn, b->rates, &k, &v, 0);
}

int alerts_book_rate_get(alerts_book *b, MDB_txn *txn, const char *prefix, int32_t yyyymm,
                         uint64_t *due, uint64_t *in_time)
{
    *due = *in_time = 0;
    size_t digits = strlen(prefix);
    if (digits > 12)
        return DD_EPROTO;
    char key[32];
    size_t klen = rate_key(key, prefix, digits, yyyymm);
    if (!yyyymm)
        klen -= 6; /* every month: scan "<d><prefix>@" */
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, b->rates, &c);
    if (rc)
        return rc;
    MDB_val k = {klen, key}, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size >= klen && memcmp(k.mv_data, key, klen) == 0) {
        uint64_t val[2];
        if (v.mv_size == sizeof(val)) {
            memcpy(val, v.mv_data, sizeof(val));
            *due += val[0];
            *in_time += val[1];
        }
        if (yyyymm)
            break;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

int alerts_book_rate_each(alerts_book *b, MDB_txn *txn, size_t digits, int32_t yyyymm,
                          void (*fn)(void *arg, const char *prefix, uint64_t due,
                                     uint64_t in_time),
                          void *arg)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, b->rates, &c);
    if (rc)
        return rc;
    char first = (char)('a' + digits), month[8];
    snprintf(month, sizeof(month), "@%06d", (int)yyyymm);
    MDB_val k = {1, &first}, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && ((const char *)k.mv_data)[0] == first) {
        const char *kd = k.mv_data;
        if (k.mv_size == 1 + digits + 7 && memcmp(kd + 1 + digits, month, 7) == 0 &&
            v.mv_size == 16) {
            char prefix[13];
            memcpy(prefix, kd + 1, digits);
            prefix[digits] = '\0';
            uint64_t val[2];
            memcpy(val, v.mv_data, sizeof(val));
            fn(arg, prefix, val[0], val[1]);
        }
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

/* ---- silences -------------------------------------------------------------- */

int alerts_book_silence_put(alerts_book *b, MDB_txn *txn, const Doudi__Silence *s)
{
    size_t len = doudi__silence__get_packed_size(s);
    uint64_t id = s->id;
    MDB_val k = dd_store_u64_key(&id), v = {len, NULL};
    int rc = mdb_put(txn, b->silences, &k, &v, MDB_RESERVE);
    if (rc == 0)
        doudi__silence__pack(s, v.mv_data);
    return rc;
}

int alerts_book_silences(alerts_book *b, MDB_txn *txn, dd_arena *arena, Doudi__Silence ***out,
                         size_t *n)
{
    *out = NULL;
    *n = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, b->silences, &c);
    if (rc)
        return rc;
    MDB_stat st;
    mdb_stat(txn, b->silences, &st);
    *out = dd_arena_alloc(arena, (st.ms_entries + 1) * sizeof(void *));
    ProtobufCAllocator al = dd_arena_protobuf_allocator(arena);
    MDB_val k, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (rc == 0 && *n < st.ms_entries) {
        Doudi__Silence *s = doudi__silence__unpack(&al, v.mv_size, v.mv_data);
        if (s)
            (*out)[(*n)++] = s;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

int alerts_book_silences_expire(alerts_book *b, MDB_txn *txn, int64_t before_ms, size_t *deleted)
{
    size_t count = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, b->silences, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (rc == 0) {
        Doudi__Silence *s = doudi__silence__unpack(NULL, v.mv_size, v.mv_data);
        bool ended = !s || s->ends_at_ms < before_ms;
        if (s)
            doudi__silence__free_unpacked(s, NULL);
        if (ended) {
            if ((rc = mdb_cursor_del(c, 0)) != 0)
                break;
            count++;
        }
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (deleted)
        *deleted = count;
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

/* ---- meta ----------------------------------------------------------------- */

int64_t alerts_book_meta_get(alerts_book *b, MDB_txn *txn, const char *name)
{
    MDB_val k = str_key(name), v;
    int64_t value = 0;
    if (mdb_get(txn, b->meta, &k, &v) == 0 && v.mv_size == sizeof(value))
        memcpy(&value, v.mv_data, sizeof(value));
    return value;
}

int alerts_book_meta_put(alerts_book *b, MDB_txn *txn, const char *name, int64_t value)
{
    MDB_val k = str_key(name), v = {sizeof(value), &value};
    return mdb_put(txn, b->meta, &k, &v, 0);
}

int alerts_book_counts_get(alerts_book *b, MDB_txn *txn, alerts_counts *c)
{
    memset(c, 0, sizeof(*c));
    MDB_val k = str_key("counts"), v;
    int rc = mdb_get(txn, b->meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != sizeof(*c))
        return DD_ECORRUPT;
    memcpy(c, v.mv_data, sizeof(*c));
    return 0;
}

int alerts_book_counts_put(alerts_book *b, MDB_txn *txn, const alerts_counts *c)
{
    MDB_val k = str_key("counts"), v = {sizeof(*c), (void *)c};
    return mdb_put(txn, b->meta, &k, &v, 0);
}
