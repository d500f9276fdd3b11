/*
 * test_dedup.c: intake's dedup journal and table: lookups, pending entries
 * undone by an abort, reload after a restart, expiry after the retention,
 * and deletion that never breaks a probe run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dedup.h"
#include "diag.h"
#include "error.h"
#include "store.h"

static char dir[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A new, empty store in /tmp/doudi-test-<name>-<pid> (dir keeps its path). */
static dd_store *fresh_store(const char *name)
{
    snprintf(dir, sizeof(dir), "/tmp/doudi-test-%s-%d", name, (int)getpid());
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    dd_store *store;
    assert_int_equal(dd_store_open(dir, NULL, &store), 0);
    return store;
}

/* Closes the store of fresh_store and removes its directory. */
static void remove_store(dd_store **store)
{
    dd_store_close(store);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static intake_dedup_key key_n(int n)
{
    char id[32];
    int len = snprintf(id, sizeof(id), "event-%d", n);
    return intake_dedup_key_of("portal", 6, id, (size_t)len);
}

typedef struct batch_job {
    intake_dedup *d;
    int from, to;       /* keys from..to-1 */
    uint64_t first_seq;
    int64_t now_ms;
    int fail;
} batch_job;

static int batch_fn(MDB_txn *txn, void *arg)
{
    batch_job *job = arg;
    for (int i = job->from; i < job->to; i++)
        intake_dedup_add(job->d, key_n(i), job->first_seq + (uint64_t)(i - job->from));
    int rc = intake_dedup_flush(job->d, txn, job->now_ms);
    return rc ? rc : job->fail;
}

static void test_keys(void **state)
{
    (void)state;
    intake_dedup_key a = intake_dedup_key_of("a", 1, "bc", 2);
    intake_dedup_key b = intake_dedup_key_of("ab", 2, "c", 1);
    /* The separator keeps (a, bc) and (ab, c) apart. */
    assert_false(a.lo == b.lo && a.hi == b.hi);
    intake_dedup_key c = intake_dedup_key_of("a", 1, "bc", 2);
    assert_true(a.lo == c.lo && a.hi == c.hi);
    char long_id[300];
    memset(long_id, 'x', sizeof(long_id));
    intake_dedup_key l1 = intake_dedup_key_of("s", 1, long_id, sizeof(long_id));
    intake_dedup_key l2 = intake_dedup_key_of("s", 1, long_id, sizeof(long_id));
    assert_true(l1.lo == l2.lo && l1.hi == l2.hi);
}

static void test_commit_abort_reload_expire(void **state)
{
    (void)state;
    dd_store *store = fresh_store("dedup");
    intake_dedup *d;
    int64_t day = 86400000LL;
    assert_int_equal(intake_dedup_open(store, 35 * day, 100 * day, &d), 0);

    batch_job job = {d, 0, 1000, 1, 10 * day, 0};
    assert_int_equal(dd_store_write(store, batch_fn, &job), 0);
    batch_job job2 = {d, 1000, 3000, 1001, 50 * day, 0};
    assert_int_equal(dd_store_write(store, batch_fn, &job2), 0);
    assert_int_equal(intake_dedup_count(d), 3000);
    uint64_t seq;
    assert_true(intake_dedup_lookup(d, key_n(0), &seq));
    assert_int_equal(seq, 1);
    assert_true(intake_dedup_lookup(d, key_n(2999), &seq));
    assert_int_equal(seq, 3000);
    assert_false(intake_dedup_lookup(d, key_n(3000), &seq));

    /* An aborted batch leaves no trace, in memory or on disk. */
    batch_job bad = {d, 3000, 3500, 3001, 50 * day, DD_EPROTO};
    assert_int_equal(dd_store_write(store, batch_fn, &bad), DD_EPROTO);
    assert_int_equal(intake_dedup_count(d), 3000);
    assert_false(intake_dedup_lookup(d, key_n(3100), &seq));
    for (int i = 0; i < 3000; i++)
        assert_true(intake_dedup_lookup(d, key_n(i), &seq));

    /* A restart sees the same ids with the same sequences. */
    intake_dedup_close(&d);
    dd_store_close(&store);
    assert_int_equal(dd_store_open(dir, NULL, &store), 0);
    assert_int_equal(intake_dedup_open(store, 35 * day, 40 * day, &d), 0);
    assert_int_equal(intake_dedup_count(d), 3000);
    assert_true(intake_dedup_lookup(d, key_n(1500), &seq));
    assert_int_equal(seq, 1501);

    /* Loading at day 60 skips the day-10 batch: older than 35 days. */
    intake_dedup_close(&d);
    dd_store_close(&store);
    assert_int_equal(dd_store_open(dir, NULL, &store), 0);
    assert_int_equal(intake_dedup_open(store, 35 * day, 60 * day, &d), 0);
    assert_int_equal(intake_dedup_count(d), 2000);

    /* Expiry deletes the old batch from the journal and the table. */
    uint64_t forgotten = 0;
    assert_int_equal(intake_dedup_expire(d, 60 * day, 100, &forgotten), 0);
    assert_int_equal(intake_dedup_count(d), 2000);
    assert_false(intake_dedup_lookup(d, key_n(10), &seq));
    assert_true(intake_dedup_lookup(d, key_n(1010), &seq));
    assert_int_equal(intake_dedup_expire(d, 100 * day, 100, &forgotten), 0);
    assert_int_equal(forgotten, 2000);
    assert_int_equal(intake_dedup_count(d), 0);
    intake_dedup_close(&d);
    remove_store(&store);
}

static void test_many_with_deletes(void **state)
{
    (void)state;
    /* Enough keys to grow the table several times, then aborts that delete
     * keys all over it: every remaining key must still be found. */
    dd_store *store = fresh_store("dedup2");
    intake_dedup *d;
    assert_int_equal(intake_dedup_open(store, 86400000LL, 0, &d), 0);
    uint64_t seq = 1;
    for (int round = 0; round < 20; round++) {
        batch_job ok = {d, round * 20000, round * 20000 + 10000, seq, 0, 0};
        assert_int_equal(dd_store_write(store, batch_fn, &ok), 0);
        seq += 10000;
        batch_job bad = {d, round * 20000 + 10000, round * 20000 + 20000, seq, 0, DD_EPROTO};
        assert_int_equal(dd_store_write(store, batch_fn, &bad), DD_EPROTO);
    }
    assert_int_equal(intake_dedup_count(d), 200000);
    for (int round = 0; round < 20; round++) {
        for (int i = round * 20000; i < round * 20000 + 20000; i++) {
            uint64_t s;
            bool held = intake_dedup_lookup(d, key_n(i), &s);
            assert_int_equal(held, i < round * 20000 + 10000);
            if (held)
                assert_int_equal(s, (uint64_t)round * 10000 + (uint64_t)(i - round * 20000) + 1);
        }
    }
    intake_dedup_close(&d);
    remove_store(&store);
}

/* Fills a new store's table with keys 0..n-1 in batches of 100,000. */
static void fill(dd_store *store, intake_dedup *d, int n)
{
    for (int from = 0; from < n; from += 100000) {
        int to = from + 100000 < n ? from + 100000 : n;
        batch_job ok = {d, from, to, (uint64_t)from + 1, 0, 0};
        assert_int_equal(dd_store_write(store, batch_fn, &ok), 0);
    }
}

static void test_a_large_table_keeps_every_key_as_it_doubles(void **state)
{
    (void)state;
    /* 3 million keys, then 2.6 million: tables of 4 Mi slots (100 MiB)
     * and beyond, each doubling moving millions of entries. */
    for (int n = 3000000; n >= 2600000; n -= 400000) {
        dd_store *store = fresh_store("dedup3");
        intake_dedup *d;
        assert_int_equal(intake_dedup_open(store, 86400000LL, 0, &d), 0);
        fill(store, d, n);
        assert_int_equal(intake_dedup_count(d), (size_t)n);
        for (int i = 0; i < n; i += 7) {
            uint64_t seq;
            assert_true(intake_dedup_lookup(d, key_n(i), &seq));
            assert_int_equal(seq, (uint64_t)i + 1);
        }
        uint64_t seq;
        assert_false(intake_dedup_lookup(d, key_n(n), &seq));
        intake_dedup_close(&d);
        remove_store(&store);
    }
}

/* One batch of the model test: keys keys[0..n-1] from first_seq on. */
typedef struct listed_job {
    intake_dedup *d;
    const int *keys;
    int n;
    uint64_t first_seq;
    int64_t now_ms;
    int fail;
} listed_job;

static int listed_fn(MDB_txn *txn, void *arg)
{
    listed_job *job = arg;
    for (int i = 0; i < job->n; i++)
        intake_dedup_add(job->d, key_n(job->keys[i]), job->first_seq + (uint64_t)i);
    int rc = intake_dedup_flush(job->d, txn, job->now_ms);
    return rc ? rc : job->fail;
}

static void expect_like_model(intake_dedup *d, const uint64_t *model, int keys)
{
    size_t held = 0;
    for (int k = 0; k < keys; k++) {
        uint64_t seq = 0;
        bool found = intake_dedup_lookup(d, key_n(k), &seq);
        assert_int_equal(found, model[k] != 0);
        if (found)
            assert_int_equal(seq, model[k]);
        held += found;
    }
    assert_int_equal(intake_dedup_count(d), held);
}

static void test_doubling_a_little_at_a_time_reads_like_a_model(void **state)
{
    (void)state;
    /* Batches of fresh keys, some aborted, some keys accepted again while
     * still held, old batches expiring: the table doubles several times,
     * each doubling spread over several batches, and every key reads as
     * the model says after every batch. */
    enum { BATCHES = 120, FRESH = 4000, AGAIN = 20, RETENTION_MS = 40000 };
    dd_store *store = fresh_store("dedup4");
    intake_dedup *d;
    assert_int_equal(intake_dedup_open(store, RETENTION_MS, 0, &d), 0);
    static uint64_t model[BATCHES * FRESH];
    static int64_t accepted_at[BATCHES * FRESH];
    memset(model, 0, sizeof(model));
    uint64_t seq = 1;
    int next_key = 0;
    size_t most_slots = 0;
    for (int b = 0; b < BATCHES; b++) {
        int64_t now = (int64_t)b * 1000 + 1000;
        int keys[FRESH + AGAIN], n = 0;
        for (int i = 0; i < FRESH; i++)
            keys[n++] = next_key++;
        bool fail = b % 4 == 3;
        /* (an aborted batch would forget them: intake never accepts a held id again) */
        for (int i = 0; i < AGAIN && b >= 30 && !fail; i++) {
            int k = (b - 30) * FRESH + i * 97;
            if (model[k])
                keys[n++] = k;
        }
        listed_job job = {d, keys, n, seq, now, fail ? DD_EPROTO : 0};
        assert_int_equal(dd_store_write(store, listed_fn, &job), fail ? DD_EPROTO : 0);
        if (!fail) {
            for (int i = 0; i < n; i++) {
                model[keys[i]] = seq + (uint64_t)i;
                accepted_at[keys[i]] = now;
            }
            seq += (uint64_t)n;
        }
        assert_int_equal(intake_dedup_expire(d, now, 1000, NULL), 0);
        for (int k = 0; k < next_key; k++)
            if (model[k] && accepted_at[k] < now - RETENTION_MS)
                model[k] = 0;
        intake_dedup_stats st;
        intake_dedup_stats_get(d, &st);
        if (st.table_slots + st.old_table_slots > most_slots)
            most_slots = st.table_slots + st.old_table_slots;
        expect_like_model(d, model, next_key);
    }
    /* Doubled more than once, seen mid-way, and done moving at the end. */
    intake_dedup_stats st;
    intake_dedup_stats_get(d, &st);
    assert_true(most_slots >= ((size_t)1 << 17) + ((size_t)1 << 18));
    assert_int_equal(st.old_table_slots, 0);
    assert_int_equal(st.table_slots & (st.table_slots - 1), 0);
    /* The key ring spans the retention only: expired chunks were freed. */
    assert_true(st.ring_sequences <= (uint64_t)(RETENTION_MS / 1000 + 2) * (FRESH + AGAIN));
    intake_dedup_close(&d);
    /* Reloaded from the journal, it reads the same. */
    assert_int_equal(intake_dedup_open(store, RETENTION_MS, BATCHES * 1000, &d), 0);
    expect_like_model(d, model, next_key);
    intake_dedup_close(&d);
    remove_store(&store);
}

static void test_sequences_past_forty_bits_read_back_whole(void **state)
{
    (void)state;
    /* The table keeps 40 bits of each sequence; the rest comes from the
     * newest. Batches straddling 2^40, one aborted, then expired. */
    dd_store *store = fresh_store("dedup5");
    intake_dedup *d;
    assert_int_equal(intake_dedup_open(store, 10000, 0, &d), 0);
    uint64_t first = ((uint64_t)1 << 40) - 70000;
    batch_job a = {d, 0, 100000, first, 1000, 0};
    assert_int_equal(dd_store_write(store, batch_fn, &a), 0);
    batch_job bad = {d, 100000, 150000, first + 100000, 2000, DD_EPROTO};
    assert_int_equal(dd_store_write(store, batch_fn, &bad), DD_EPROTO);
    batch_job b = {d, 150000, 200000, first + 100000, 20000, 0};
    assert_int_equal(dd_store_write(store, batch_fn, &b), 0);
    for (int i = 0; i < 200000; i++) {
        uint64_t seq = 0;
        bool held = intake_dedup_lookup(d, key_n(i), &seq);
        assert_int_equal(held, i < 100000 || i >= 150000);
        if (held)
            assert_int_equal(seq, first + (uint64_t)(i < 100000 ? i : i - 50000));
    }
    assert_int_equal(intake_dedup_expire(d, 20000, 100, NULL), 0);
    assert_int_equal(intake_dedup_count(d), 50000);
    uint64_t seq;
    assert_false(intake_dedup_lookup(d, key_n(99999), &seq));
    assert_true(intake_dedup_lookup(d, key_n(199999), &seq));
    assert_int_equal(seq, first + 149999);
    /* A restart reads the same from the journal. */
    intake_dedup_close(&d);
    assert_int_equal(intake_dedup_open(store, 10000, 20000, &d), 0);
    assert_int_equal(intake_dedup_count(d), 50000);
    assert_true(intake_dedup_lookup(d, key_n(150000), &seq));
    assert_int_equal(seq, first + 100000);
    intake_dedup_close(&d);
    remove_store(&store);
}

static void expect_held_at(intake_dedup *d, int key, uint64_t want)
{
    uint64_t seq = 0;
    bool held = intake_dedup_lookup(d, key_n(key), &seq);
    assert_int_equal(held, want != 0);
    if (held)
        assert_int_equal(seq, want);
}

static void test_ids_accepted_again_while_the_table_is_renewed(void **state)
{
    (void)state;
    /* 45,000 ids nearly fill the first table; the next batch starts a new
     * one. While it fills, ids already copied (0..9) and not yet copied
     * (40000..40009) are accepted again, then their first batch expires:
     * each is held once, at its new sequence, and counted once. */
    dd_store *store = fresh_store("dedup6");
    intake_dedup *d;
    assert_int_equal(intake_dedup_open(store, 1500, 0, &d), 0);
    batch_job first = {d, 0, 45000, 1, 1000, 0};
    assert_int_equal(dd_store_write(store, batch_fn, &first), 0);
    batch_job second = {d, 45000, 46000, 45001, 2000, 0};
    assert_int_equal(dd_store_write(store, batch_fn, &second), 0);
    int again[20];
    for (int i = 0; i < 10; i++) {
        again[i] = i;
        again[10 + i] = 40000 + i;
    }
    listed_job third = {d, again, 20, 46001, 3000, 0};
    assert_int_equal(dd_store_write(store, listed_fn, &third), 0);
    intake_dedup_stats st;
    intake_dedup_stats_get(d, &st);
    assert_true(st.old_table_slots > 0); /* still copying */
    assert_int_equal(intake_dedup_expire(d, 3000, 100, NULL), 0);
    intake_dedup_stats_get(d, &st);
    assert_true(st.old_table_slots > 0);
    assert_int_equal(intake_dedup_count(d), 1020);
    for (int i = 0; i < 20; i++)
        expect_held_at(d, again[i], 46001 + (uint64_t)i);
    expect_held_at(d, 10, 0);
    expect_held_at(d, 40010, 0);
    expect_held_at(d, 45500, 45501);
    /* Fresh batches until the copying ends: the same. */
    for (int b = 0; b < 10; b++) {
        batch_job more = {d, 100000 + b * 1000, 101000 + b * 1000, 46021 + (uint64_t)b * 1000, 3000, 0};
        assert_int_equal(dd_store_write(store, batch_fn, &more), 0);
    }
    intake_dedup_stats_get(d, &st);
    assert_int_equal(st.old_table_slots, 0);
    assert_int_equal(intake_dedup_count(d), 11020);
    for (int i = 0; i < 20; i++)
        expect_held_at(d, again[i], 46001 + (uint64_t)i);
    expect_held_at(d, 40010, 0);
    intake_dedup_close(&d);
    remove_store(&store);
}

static void test_reserved_room_is_filled_without_renewal(void **state)
{
    (void)state;
    /* Room reserved for 300,000 ids: filling it in batches never renews
     * the table; a smaller or no reservation afterwards changes nothing;
     * one id past the room renews it. Every id reads back throughout. */
    enum { EXPECTED = 300000, BATCH = 10000 };
    dd_store *store = fresh_store("dedup7");
    intake_dedup *d;
    assert_int_equal(intake_dedup_open(store, 86400000LL, 0, &d), 0);
    intake_dedup_reserve(d, EXPECTED);
    intake_dedup_stats st;
    intake_dedup_stats_get(d, &st);
    size_t slots = st.table_slots;
    assert_true(slots * 7 >= (size_t)EXPECTED * 10);
    assert_true(slots * 7 < (size_t)EXPECTED * 20); /* the next power of two, no more */
    assert_int_equal(st.old_table_slots, 0);
    intake_dedup_reserve(d, EXPECTED / 2);
    intake_dedup_reserve(d, 0);
    int filled = (int)(slots * 7 / 10) / BATCH * BATCH;
    for (int from = 0; from < filled; from += BATCH) {
        batch_job job = {d, from, from + BATCH, 1 + (uint64_t)from, 1000, 0};
        assert_int_equal(dd_store_write(store, batch_fn, &job), 0);
        intake_dedup_stats_get(d, &st);
        assert_int_equal(st.table_slots, slots);
        assert_int_equal(st.old_table_slots, 0);
    }
    batch_job past = {d, filled, filled + BATCH, 1 + (uint64_t)filled, 1000, 0};
    assert_int_equal(dd_store_write(store, batch_fn, &past), 0);
    intake_dedup_stats_get(d, &st);
    assert_true(st.table_slots > slots);
    for (int i = 0; i < filled + BATCH; i++) {
        uint64_t seq = 0;
        assert_true(intake_dedup_lookup(d, key_n(i), &seq));
        assert_int_equal(seq, 1 + (uint64_t)i);
    }
    intake_dedup_close(&d);
    remove_store(&store);
}

int main(void)
{
    dd_diag_init("test_dedup", DD_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_commit_abort_reload_expire),
        cmocka_unit_test(test_many_with_deletes),
        cmocka_unit_test(test_a_large_table_keeps_every_key_as_it_doubles),
        cmocka_unit_test(test_doubling_a_little_at_a_time_reads_like_a_model),
        cmocka_unit_test(test_sequences_past_forty_bits_read_back_whole),
        cmocka_unit_test(test_ids_accepted_again_while_the_table_is_renewed),
        cmocka_unit_test(test_reserved_room_is_filled_without_renewal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
