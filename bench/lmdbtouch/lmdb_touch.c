/* lmdb_touch.c: the counting writes of lmdb_touch.h. */
#define DD_LMDB_TOUCH_IMPL
#include "lmdb_touch.h"

#include <errno.h>
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
    unsigned long long writes[MAX_DBS], fresh[MAX_DBS];
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
    for (int i = 0; i < MAX_DBS; i++)
        if (t.writes[i])
            fprintf(t.out, " %s %llu %llu", t.name[i][0] ? t.name[i] : "-", t.writes[i], t.fresh[i]);
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

static void count(MDB_txn *txn, MDB_dbi dbi, const void *entry)
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
    if (dbi >= MAX_DBS)
        return;
    t.writes[dbi]++;
    uintptr_t at = (uintptr_t)entry;
    if (entry && at >= t.map_lo && at < t.map_hi)
        t.fresh[dbi]++;
}

/* Counts a write at key: the page of the entry at or after it (the last
 * entry when none is after it), which is where the write lands. */
static void count_at(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key)
{
    MDB_cursor *c;
    if (mdb_cursor_open(txn, dbi, &c) != 0)
        return;
    MDB_val k = *key, v = {0, NULL};
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    count(txn, dbi, rc == 0 ? v.mv_data : NULL);
    mdb_cursor_close(c);
}

int dd_touch_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags)
{
    count_at(txn, dbi, key);
    return mdb_put(txn, dbi, key, data, flags);
}

int dd_touch_del(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
    count_at(txn, dbi, key);
    return mdb_del(txn, dbi, key, data);
}

int dd_touch_cursor_put(MDB_cursor *cursor, MDB_val *key, MDB_val *data, unsigned flags)
{
    count_at(mdb_cursor_txn(cursor), mdb_cursor_dbi(cursor), key);
    return mdb_cursor_put(cursor, key, data, flags);
}

int dd_touch_cursor_del(MDB_cursor *cursor, unsigned flags)
{
    MDB_val k, v = {0, NULL};
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_GET_CURRENT);
    count(mdb_cursor_txn(cursor), mdb_cursor_dbi(cursor), rc == 0 ? v.mv_data : NULL);
    return mdb_cursor_del(cursor, flags);
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
    *writes = dbi < MAX_DBS ? t.writes[dbi] : 0;
    *fresh = dbi < MAX_DBS ? t.fresh[dbi] : 0;
}
