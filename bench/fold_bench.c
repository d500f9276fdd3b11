/*
 * fold_bench: how long common/journal.c takes to fold a full journal into
 * its tree, the step the scheduler's plan journal and eligibility's
 * households journal take every max_entries entries.
 *
 *   fold_bench DIR [ENTRIES [VALUE_BYTES]]
 *
 * DIR (created; must not hold a store) gets an LMDB environment with a
 * journal of ENTRIES (default 1,000,000) puts of VALUE_BYTES (default 150,
 * about a stored visit plan) under 18-digit keys shaped like identity
 * numbers and written in scattered order, committed in one transaction.
 * A second transaction forces the fold; the program prints the fold's
 * seconds (sorting the entries and writing them into the tree) and the
 * commit's. DIR is left for the caller to remove.
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal.h"
#include "store.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef struct bench {
    dd_journal *journal;
    unsigned long entries;
    size_t value_bytes;
    double fold_s;
} bench;

/* The key of entry i: a region, a birth date and a sequence, as identity
 * numbers have, visited in an order unrelated to the keys' (a
 * multiplicative hash of i), as a month's plans are written. */
static size_t key_of(unsigned long i, char key[32])
{
    unsigned long k = (i * 2654435761UL) % 100000000UL;
    return (size_t)snprintf(key, 32, "4401%02lu19%06lu%04lu", k % 100, k % 1000000, (k / 7) % 10000);
}

static int fill(MDB_txn *txn, void *arg)
{
    bench *b = arg;
    int rc = dd_journal_begin(b->journal, txn);
    char *value = malloc(b->value_bytes);
    memset(value, 'v', b->value_bytes);
    for (unsigned long i = 0; rc == 0 && i < b->entries; i++) {
        char key[32];
        size_t klen = key_of(i, key);
        rc = dd_journal_put(b->journal, txn, key, klen, value, b->value_bytes);
    }
    free(value);
    return rc;
}

static int fold(MDB_txn *txn, void *arg)
{
    bench *b = arg;
    int rc = dd_journal_begin(b->journal, txn);
    double t0 = now_s();
    if (rc == 0)
        rc = dd_journal_fold_if_full(b->journal, txn, true);
    b->fold_s = now_s() - t0;
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        printf("usage: fold_bench DIR [ENTRIES [VALUE_BYTES]]\n"
               "Folds a journal of ENTRIES (default 1000000) puts of VALUE_BYTES (default 150)\n"
               "into its tree in a new LMDB environment in DIR; prints the fold's seconds.\n");
        return 0;
    }
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: fold_bench DIR [ENTRIES [VALUE_BYTES]]\n");
        return 2;
    }
    bench b = {.entries = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000,
               .value_bytes = argc > 3 ? strtoul(argv[3], NULL, 10) : 150};
    if (b.entries == 0 || b.value_bytes == 0 || b.value_bytes > 4000) {
        fprintf(stderr, "fold_bench: ENTRIES must be > 0 and VALUE_BYTES 1 to 4000\n");
        return 2;
    }
    size_t map = (size_t)b.entries * (b.value_bytes + 64) * 3 + ((size_t)64 << 20);
    dd_store_options so = {.map_bytes = map, .max_dbs = 4};
    dd_store *store;
    if (dd_store_open(argv[1], &so, &store) != 0)
        return 1;
    MDB_dbi journal_db, tree_db;
    MDB_txn *txn;
    int rc = dd_store_dbi(store, "journal", MDB_INTEGERKEY, &journal_db);
    if (rc == 0)
        rc = dd_store_dbi(store, "tree", 0, &tree_db);
    if (rc == 0)
        rc = mdb_txn_begin(dd_store_env(store), NULL, MDB_RDONLY, &txn);
    if (rc == 0) {
        /* max_entries above ENTRIES: nothing folds until asked */
        rc = dd_journal_open(txn, journal_db, tree_db, b.entries + 1, &b.journal);
        mdb_txn_abort(txn);
    }
    if (rc == 0)
        rc = dd_store_write(store, fill, &b);
    double t0 = now_s();
    if (rc == 0)
        rc = dd_store_write(store, fold, &b);
    double total_s = now_s() - t0;
    if (rc == 0)
        printf("%lu entries of %zu bytes: fold %.3f s, commit %.3f s\n", b.entries,
               b.value_bytes, b.fold_s, total_s - b.fold_s);
    else
        fprintf(stderr, "fold_bench: %s\n", mdb_strerror(rc));
    dd_journal_close(&b.journal);
    dd_store_close(&store);
    return rc ? 1 : 0;
}
