/*
 * lmdb_touch.h: which LMDB databases a daemon's writes dirty (a profiling
 * build, never a release one).
 *
 * Built with -DDOUDI_LMDB_TOUCH=ON, every source file includes this header
 * first (-include), so the daemons' mdb_put, mdb_del, mdb_cursor_put,
 * mdb_cursor_del and mdb_dbi_open go through the counting versions below.
 * Before each write the entry it lands next to is looked up (its key's own,
 * else the one before it, which is on the page LMDB inserts into): if that
 * entry still lies in the memory map, its page is clean, and the write is
 * the first of this transaction to dirty it (a "fresh" page, one that the
 * commit writes). Pages appended at the end of a tree (new pages of a
 * split) are not counted, so "fresh" is the random page writes of each
 * database, which is what costs at the commit: a page write per fresh page.
 *
 * With DOUDI_LMDB_TOUCH_DIR set, each process appends a line for every
 * 50th write transaction and at exit to DIR/<program>.<pid>.touch:
 *   <unix time> <transactions> <database>:<put|del> <writes> <fresh> ...
 * bench/lmdbtouch/lmdbtouch.py reads them and prints a window's deltas.
 */
#ifndef DD_LMDB_TOUCH_H
#define DD_LMDB_TOUCH_H

#include <lmdb.h>

int dd_touch_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags);
int dd_touch_del(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data);
int dd_touch_cursor_put(MDB_cursor *cursor, MDB_val *key, MDB_val *data, unsigned flags);
int dd_touch_cursor_del(MDB_cursor *cursor, unsigned flags);
int dd_touch_dbi_open(MDB_txn *txn, const char *name, unsigned flags, MDB_dbi *dbi);

/* The writes and fresh pages counted for dbi so far in this process (puts
 * and deletes together). */
void dd_touch_counts(MDB_dbi dbi, unsigned long long *writes, unsigned long long *fresh);

#ifndef DD_LMDB_TOUCH_IMPL
#define mdb_put dd_touch_put
#define mdb_del dd_touch_del
#define mdb_cursor_put dd_touch_cursor_put
#define mdb_cursor_del dd_touch_cursor_del
#define mdb_dbi_open dd_touch_dbi_open
#endif

#endif
