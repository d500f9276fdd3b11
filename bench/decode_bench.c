/*
 * decode_bench: how long common/wiredecode.c takes to decode the records
 * eligibility stores, read from a real store.
 *
 *   decode_bench DATA_DIR [PASSES]
 *
 * DATA_DIR is an eligibility data directory (a county kept by
 * `provbench.py --scale county --work DIR --keep` leaves one in
 * DIR/eligibility/data). Every household and person in its "households"
 * tree and "households_journal" is copied out once, then decoded PASSES
 * times (default 5) with dd_wire_unpack into an arena reset every 256
 * records, as the engine resets its own; each pass prints the mean
 * nanoseconds a record. Nothing is written to the store.
 */
#include <lmdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "wiredecode.h"
#include "doudi/registry.pb-c.h"

/* journal.c's entry layout: a byte of key length (high bit: deletion), the
 * key, the value. */
#define JOURNAL_DELETED 0x80

typedef struct {
    uint8_t *bytes;
    size_t len;
} record;

typedef struct {
    record *r;
    size_t n, cap, total;
} records;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void keep(records *rs, const void *bytes, size_t len)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 4096;
        rs->r = dd_realloc(rs->r, rs->cap * sizeof(record));
    }
    record *r = &rs->r[rs->n++];
    r->bytes = dd_malloc(len ? len : 1);
    memcpy(r->bytes, bytes, len);
    r->len = len;
    rs->total += len;
}

/* A key holding 0x1F names a member (household id, 0x1F, person id). */
static void sort_out(records *households, records *persons, const void *key, size_t klen,
                     const void *value, size_t len)
{
    keep(memchr(key, 0x1F, klen) ? persons : households, value, len);
}

static int read_tree(MDB_txn *txn, const char *name, unsigned flags, records *households,
                     records *persons)
{
    MDB_dbi dbi;
    int rc = mdb_dbi_open(txn, name, flags, &dbi);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
        return rc;
    MDB_val k, v;
    bool journal = flags & MDB_INTEGERKEY;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (!journal) {
            sort_out(households, persons, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
            continue;
        }
        const uint8_t *e = v.mv_data;
        if (v.mv_size < 1)
            continue;
        size_t klen = e[0] & ~JOURNAL_DELETED;
        if ((e[0] & JOURNAL_DELETED) || v.mv_size < 1 + klen)
            continue; /* deletions; the fold state under key 0 */
        sort_out(households, persons, e + 1, klen, e + 1 + klen, v.mv_size - 1 - klen);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Mean nanoseconds to decode each record as type d; -1 if one does not decode. */
static double decode_all(const ProtobufCMessageDescriptor *d, const records *rs, dd_arena *arena)
{
    double t = now_s();
    for (size_t i = 0; i < rs->n; i++) {
        if (!dd_wire_unpack(d, rs->r[i].bytes, rs->r[i].len, arena))
            return -1;
        if ((i & 255) == 255)
            dd_arena_reset(arena);
    }
    dd_arena_reset(arena);
    return rs->n ? (now_s() - t) / (double)rs->n * 1e9 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: decode_bench DATA_DIR [PASSES]\n"
                        "  decodes every household and person of an eligibility store\n");
        return argc == 2 ? 0 : 2;
    }
    int passes = argc == 3 ? atoi(argv[2]) : 5;
    if (passes < 1) {
        fprintf(stderr, "decode_bench: PASSES must be a positive number\n");
        return 2;
    }
    MDB_env *env;
    MDB_txn *txn;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 64);
    if (rc == 0)
        rc = mdb_env_open(env, argv[1], MDB_RDONLY, 0644);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    records households = {0}, persons = {0};
    if (rc == 0)
        rc = read_tree(txn, "households", 0, &households, &persons);
    if (rc == 0)
        rc = read_tree(txn, "households_journal", MDB_INTEGERKEY, &households, &persons);
    if (rc) {
        fprintf(stderr, "decode_bench: %s: %s\n", argv[1], mdb_strerror(rc));
        return 1;
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    if (households.n == 0) {
        fprintf(stderr, "decode_bench: %s holds no households\n", argv[1]);
        return 1;
    }
    printf("%zu households (mean %zu bytes), %zu persons (mean %zu bytes)\n", households.n,
           households.total / households.n, persons.n, persons.n ? persons.total / persons.n : 0);
    dd_arena *arena = dd_arena_new(1 << 20);
    for (int p = 0; p < passes; p++) {
        double h = decode_all(&doudi__stored_household__descriptor, &households, arena);
        double s = decode_all(&doudi__stored_person__descriptor, &persons, arena);
        if (h < 0 || s < 0) {
            fprintf(stderr, "decode_bench: a stored record does not decode\n");
            return 1;
        }
        printf("pass %d: household %.0f ns, person %.0f ns\n", p + 1, h, s);
    }
    dd_arena_destroy(&arena);
    for (size_t i = 0; i < households.n; i++)
        free(households.r[i].bytes);
    for (size_t i = 0; i < persons.n; i++)
        free(persons.r[i].bytes);
    free(households.r);
    free(persons.r);
    return 0;
}
