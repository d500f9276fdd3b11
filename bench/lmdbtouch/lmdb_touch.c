/* lmdb_touch.c: the counting writes of lmdb_touch.h. */
#define DD_LMDB_TOUCH_IMPL
#include "lmdb_touch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* This file calls the real ones (the build includes the header everywhere). */
#undef mdb_put
#undef mdb_del
#undef mdb_cursor_put
#undef mdb_cursor_del
#undef mdb_dbi_open

#define MAX_DBS 64
#define DUMP_EVERY_TXNS 50

static struct {
    char name[MAX_DBS][48];
    /* By database and kind of write: 0 puts, 1 deletes. */
    unsigned long long writes[MAX_DBS][2], fresh[MAX_DBS][2];
    uintptr_t map_lo, map_hi; /* the data.mdb mapping, as of the last transaction */
    size_t last_txn, txns;
    FILE *out;
    int opened; /* 0: not yet, 1: writing, -1: off */
} t;

/* The map moves when it grows, which only happens between transactions. */
static void find_map(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    t.map_lo = t.map_hi = 0;
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (strstr(line, "data.mdb") && sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
            if (!t.map_lo || lo < t.map_lo)
                t.map_lo = lo;
            if (hi > t.map_hi)
                t.map_hi = hi;
        }
    }
    if (f)
        fclose(f);
}

static void write_line(void)
{
    if (t.opened <= 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(t.out, "%lld.%03ld %zu", (long long)ts.tv_sec, ts.tv_nsec / 1000000, t.txns);
    static const char *const kinds[2] = {"put", "del"};
    for (int i = 0; i < MAX_DBS; i++)
        for (int k = 0; k < 2; k++)
            if (t.writes[i][k])
                fprintf(t.out, " %s:%s %llu %llu", t.name[i][0] ? t.name[i] : "-", kinds[k],
                        t.writes[i][k], t.fresh[i][k]);
    fputc('\n', t.out);
    fflush(t.out);
}

static void at_exit(void) { write_line(); }

static void open_output(void)
{
    const char *dir = getenv("DOUDI_LMDB_TOUCH_DIR");
    t.opened = -1;
    if (!dir || !dir[0])
        return;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.%d.touch", dir, program_invocation_short_name,
             (int)getpid());
    t.out = fopen(path, "a");
    if (!t.out) {
        fprintf(stderr, "lmdb_touch: cannot open %s: %s\n", path, strerror(errno));
        return;
    }
    t.opened = 1;
    atexit(at_exit);
}

/* Notes a new write transaction (and the map, which moves only between
 * transactions). */
static void follow(MDB_txn *txn)
{
    if (!t.opened)
        open_output();
    size_t id = mdb_txn_id(txn);
    if (id != t.last_txn) {
        t.last_txn = id;
        if (++t.txns % DUMP_EVERY_TXNS == 0)
            write_line();
        find_map();
    }
}

/* Whether entry (a value's address, or NULL) lies on a clean page. */
static bool clean(const void *entry)
{
    uintptr_t at = (uintptr_t)entry;
    return entry && at >= t.map_lo && at < t.map_hi;
}

/* Counts a write that succeeded (one that failed, say MDB_KEYEXIST or
 * MDB_NOTFOUND, dirtied nothing). */
static void tally(int rc, MDB_dbi dbi, int kind, bool fresh)
{
    if (rc != 0 || dbi >= MAX_DBS)
        return;
    t.writes[dbi][kind]++;
    t.fresh[dbi][kind] += fresh;
}

/* Whether a write at key lands on a clean page: the page of the key's own
 * entry (a delete, an overwrite), else of the entry before it, where LMDB
 * inserts a key that sorts between two pages (the branch key of the page
 * after is that page's first key), else of the first entry (a key before
 * all). */
static bool clean_at(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key)
{
    follow(txn);
    MDB_cursor *c;
    if (mdb_cursor_open(txn, dbi, &c) != 0)
        return false;
    MDB_val k = *key, v = {0, NULL};
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    bool exact = rc == 0 && k.mv_size == key->mv_size &&
                 memcmp(k.mv_data, key->mv_data, k.mv_size) == 0;
    if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    } else if (rc == 0 && !exact) {
        MDB_val pk, pv;
        if (mdb_cursor_get(c, &pk, &pv, MDB_PREV) == 0)
            v = pv;
    }
    mdb_cursor_close(c);
    return rc == 0 && clean(v.mv_data);
}

int dd_touch_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags)
{
    bool fresh = clean_at(txn, dbi, key);
    int rc = mdb_put(txn, dbi, key, data, flags);
    tally(rc, dbi, 0, fresh);
    return rc;
}

int dd_touch_del(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
    bool fresh = clean_at(txn, dbi, key);
    int rc = mdb_del(txn, dbi, key, data);
    tally(rc, dbi, 1, fresh);
    return rc;
}

int dd_touch_cursor_put(MDB_cursor *cursor, MDB_val *key, MDB_val *data, unsigned flags)
{
    MDB_dbi dbi = mdb_cursor_dbi(cursor);
    bool fresh = clean_at(mdb_cursor_txn(cursor), dbi, key);
    int rc = mdb_cursor_put(cursor, key, data, flags);
    tally(rc, dbi, 0, fresh);
    return rc;
}

int dd_touch_cursor_del(MDB_cursor *cursor, unsigned flags)
{
    follow(mdb_cursor_txn(cursor));
    MDB_val k, v = {0, NULL};
    bool fresh = mdb_cursor_get(cursor, &k, &v, MDB_GET_CURRENT) == 0 && clean(v.mv_data);
    MDB_dbi dbi = mdb_cursor_dbi(cursor);
    int rc = mdb_cursor_del(cursor, flags);
    tally(rc, dbi, 1, fresh);
    return rc;
}

int dd_touch_dbi_open(MDB_txn *txn, const char *name, unsigned flags, MDB_dbi *dbi)
{
    int rc = mdb_dbi_open(txn, name, flags, dbi);
    if (rc == 0 && *dbi < MAX_DBS)
        snprintf(t.name[*dbi], sizeof(t.name[*dbi]), "%s", name ? name : "main");
    return rc;
}

void dd_touch_counts(MDB_dbi dbi, unsigned long long *writes, unsigned long long *fresh)
{
    *writes = dbi < MAX_DBS ? t.writes[dbi][0] + t.writes[dbi][1] : 0;
    *fresh = dbi < MAX_DBS ? t.fresh[dbi][0] + t.fresh[dbi][1] : 0;
}
