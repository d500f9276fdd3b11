/* journal.c: tree writes appended, an index in memory, folds (see journal.h). */
#include "journal.h"

#include "alloc.h"
#include "error.h"
#include "store.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/*
 * One tree key in the index: its newest journal entry. A key is found by
 * its 128-bit hash alone, so a lookup touches one slot and never the key's
 * bytes (kept for folds); a read checks the key stored in the entry too.
 */
typedef struct slot {
    uint64_t hash;      /* 0: empty */
    uint64_t check;     /* the other half of the key's 128-bit hash */
    uint64_t key : 63;  /* the newest journal entry */
    uint64_t deleted : 1;
    const uint8_t *id;  /* the newest entry's copy in ids (entry_copy) */
} slot;

typedef struct key_hash {
    uint64_t hash, check;
} key_hash;

struct dd_journal {
    MDB_dbi journal, tree;
    uint64_t max_entries;
    slot *slots;
    size_t cap, used;
    dd_arena *ids;
    /* Read from each write transaction at _begin. */
    uint64_t next_key, entries;
    /* The write transaction in progress (as far as this module knows). */
    MDB_txn *writing;
    size_t writing_id;
    /* The id of the write transaction that last changed the index, until a
     * later transaction shows it committed (0: nothing pending). */
    size_t dirty_id;
    /* Folding a little at a time (pace > 0; see journal.h). */
    uint64_t pace;
    uint64_t appended; /* entries appended since the last fold call */
    bool wrote_tree;   /* by the write transaction in progress */
    /* The round in progress, as its record (ROUND_KEY) says: boundary 0
     * when there is none. */
    uint64_t boundary;
    int phase;
    uint8_t pos[DD_JOURNAL_KEY_MAX];
    size_t pos_len; /* 0: no key folded yet in this round */
    /* Phase 1's keys, in tree order from where the round stands (made when
     * first needed), and the next of them to fold. */
    struct fold_item *round_keys;
    size_t nround_keys, next_round_key;
    /* dd_journal_set_fold_hook */
    void (*fold_hook)(void *arg, const void *key, size_t klen, const MDB_val *value);
    void *fold_hook_arg;
};

/* The journal's key 0 holds the round in progress: boundary (8 bytes,
 * host order), phase (1), the last key folded (length byte, bytes). Entry
 * keys start at 1. */
#define ROUND_KEY 0
enum { ROUND_FOLDING = 1, ROUND_DELETING = 2 };

/* A journal value: one byte (bit 7: a deletion; bits 0-6: the key length),
 * the key, the value. */
#define DELETED 0x80

/*
 * The index keeps a copy of each key's newest entry in its arena: the key's
 * length (one byte), the key, the value's length (4 bytes, unaligned) and
 * the value. Reads and folds take values from there instead of descending
 * the journal's tree for each, at the price of memory: the copies of every
 * entry written since the last fold, about the journal's own size.
 */
static size_t copy_key_len(const uint8_t *copy) { return copy[0]; }
static const uint8_t *copy_key(const uint8_t *copy) { return copy + 1; }
static MDB_val copy_value(const uint8_t *copy)
{
    uint32_t len;
    memcpy(&len, copy + 1 + copy[0], sizeof(len));
    return (MDB_val){len, (void *)(copy + 1 + copy[0] + sizeof(len))};
}

/*
 * The arena of the copies. Between folds it fills up to about the journal's
 * size and is emptied at each fold, so it keeps every block it had: given
 * back, the memory would come back as fresh pages to zero (about a
 * gigabyte in a province-month of eligibility's households).
 */
static dd_arena *new_ids_arena(void)
{
    dd_arena *a = dd_arena_new(1 << 20);
    dd_arena_keep(a, SIZE_MAX);
    return a;
}

static key_hash hash_id(const void *id, size_t len)
{
    XXH128_hash_t h = XXH3_128bits(id, len);
    return (key_hash){h.low64 ? h.low64 : 1, h.high64}; /* 0 marks an empty slot */
}

static slot *find_slot(dd_journal *j, key_hash h)
{
    size_t mask = j->cap - 1;
    for (size_t i = (size_t)h.hash & mask;; i = (i + 1) & mask) {
        slot *s = &j->slots[i];
        if (!s->hash || (s->hash == h.hash && s->check == h.check))
            return s;
    }
}

static void index_clear(dd_journal *j)
{
    if (j->used)
        memset(j->slots, 0, j->cap * sizeof(slot));
    j->used = 0;
    dd_arena_reset(j->ids);
}

static void index_grow(dd_journal *j)
{
    slot *old = j->slots;
    size_t old_cap = j->cap;
    j->cap = old_cap ? old_cap * 2 : 1024;
    j->slots = dd_calloc_table(j->cap, sizeof(slot));
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].hash)
            *find_slot(j, (key_hash){old[i].hash, old[i].check}) = old[i];
    free(old);
}

static void index_set(dd_journal *j, const void *id, size_t len, uint64_t key, bool deleted,
                      const void *value, size_t value_len)
{
    if (10 * (j->used + 1) > 7 * j->cap)
        index_grow(j);
    key_hash h = hash_id(id, len);
    slot *s = find_slot(j, h);
    if (!s->hash) {
        s->hash = h.hash;
        s->check = h.check;
        j->used++;
    }
    uint32_t vlen = (uint32_t)value_len;
    uint8_t *copy = dd_arena_alloc(j->ids, 1 + len + sizeof(vlen) + value_len);
    copy[0] = (uint8_t)len;
    memcpy(copy + 1, id, len);
    memcpy(copy + 1 + len, &vlen, sizeof(vlen));
    if (value_len)
        memcpy(copy + 1 + len + sizeof(vlen), value, value_len);
    s->id = copy;
    s->key = key;
    s->deleted = deleted;
}

/* Splits a journal value; value->mv_data is NULL for a deletion. */
static int split_value(const MDB_val *v, const uint8_t **id, size_t *len, MDB_val *value)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < 1)
        return DD_ECORRUPT;
    size_t klen = p[0] & ~DELETED;
    if (klen == 0 || v->mv_size < 1 + klen || ((p[0] & DELETED) && v->mv_size != 1 + klen))
        return DD_ECORRUPT;
    *id = p + 1;
    *len = klen;
    value->mv_data = (p[0] & DELETED) ? NULL : (void *)(p + 1 + klen);
    value->mv_size = v->mv_size - 1 - klen;
    return 0;
}

static void forget_round_keys(dd_journal *j)
{
    free(j->round_keys);
    j->round_keys = NULL;
    j->nround_keys = j->next_round_key = 0;
}

/* Entry keys go on after a round's boundary even when its entries are all
 * deleted: a key the round will delete is never handed out again. */
static void next_key_after_round(dd_journal *j)
{
    if (j->boundary && j->next_key <= j->boundary)
        j->next_key = j->boundary + 1;
}

/* Reads the round record of txn (none: boundary 0). */
static int load_round(dd_journal *j, MDB_txn *txn)
{
    forget_round_keys(j);
    j->boundary = 0;
    j->phase = 0;
    j->pos_len = 0;
    uint64_t zero = ROUND_KEY;
    MDB_val k = dd_store_u64_key(&zero), v;
    int rc = mdb_get(txn, j->journal, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    const uint8_t *p = v.mv_data;
    if (v.mv_size < 10 || v.mv_size != 10 + (size_t)p[9] || p[9] > DD_JOURNAL_KEY_MAX ||
        (p[8] != ROUND_FOLDING && p[8] != ROUND_DELETING))
        return DD_ECORRUPT;
    memcpy(&j->boundary, p, sizeof(j->boundary));
    j->phase = p[8];
    j->pos_len = p[9];
    memcpy(j->pos, p + 10, j->pos_len);
    return j->boundary ? 0 : DD_ECORRUPT;
}

static int save_round(dd_journal *j, MDB_txn *txn)
{
    uint64_t zero = ROUND_KEY;
    MDB_val k = dd_store_u64_key(&zero);
    j->dirty_id = j->writing_id;
    if (!j->boundary) {
        int rc = mdb_del(txn, j->journal, &k, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    uint8_t buf[10 + DD_JOURNAL_KEY_MAX];
    memcpy(buf, &j->boundary, sizeof(j->boundary));
    buf[8] = (uint8_t)j->phase;
    buf[9] = (uint8_t)j->pos_len;
    memcpy(buf + 10, j->pos, j->pos_len);
    MDB_val v = {10 + j->pos_len, buf};
    return mdb_put(txn, j->journal, &k, &v, 0);
}

/* The index and the counters as txn sees the journal. */
static int rebuild(dd_journal *j, MDB_txn *txn)
{
    index_clear(j);
    j->entries = 0;
    j->next_key = 1;
    int rc = load_round(j, txn);
    if (rc)
        return rc;
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, j->journal, &cur)))
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *id;
        size_t len;
        MDB_val value;
        uint64_t key;
        if (k.mv_size != sizeof(key)) {
            rc = DD_ECORRUPT;
            break;
        }
        memcpy(&key, k.mv_data, sizeof(key));
        if (key == ROUND_KEY)
            continue;
        if (split_value(&v, &id, &len, &value)) {
            rc = DD_ECORRUPT;
            break;
        }
        /* Deleting a round's entries: the tree holds them all already. */
        if (!(j->phase == ROUND_DELETING && key <= j->boundary))
            index_set(j, id, len, key, value.mv_data == NULL, value.mv_data, value.mv_size);
        j->entries++;
        j->next_key = key + 1;
    }
    mdb_cursor_close(cur);
    j->dirty_id = 0;
    next_key_after_round(j);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int dd_journal_open(MDB_txn *txn, MDB_dbi journal, MDB_dbi tree, uint64_t max_entries,
                    dd_journal **out)
{
    dd_journal *j = dd_calloc(1, sizeof(*j));
    j->journal = journal;
    j->tree = tree;
    j->max_entries = max_entries ? max_entries : 1;
    j->ids = new_ids_arena();
    index_grow(j);
    int rc = rebuild(j, txn);
    if (rc) {
        dd_journal_close(&j);
        return rc;
    }
    *out = j;
    return 0;
}

void dd_journal_close(dd_journal **jp)
{
    if (!jp || !*jp)
        return;
    forget_round_keys(*jp);
    free((*jp)->slots);
    dd_arena_destroy(&(*jp)->ids);
    free(*jp);
    *jp = NULL;
}

void dd_journal_set_max(dd_journal *j, uint64_t max_entries)
{
    j->max_entries = max_entries ? max_entries : 1;
}

uint64_t dd_journal_entries(const dd_journal *j) { return j->entries; }
uint64_t dd_journal_keys(const dd_journal *j) { return j->used; }
size_t dd_journal_memory_bytes(const dd_journal *j)
{
    return dd_arena_used(j->ids) + j->cap * sizeof(slot);
}

int dd_journal_begin(dd_journal *j, MDB_txn *txn)
{
    size_t id = mdb_txn_id(txn);
    j->writing = txn;
    j->writing_id = id;
    j->wrote_tree = false;
    j->appended = 0;
    /* A write transaction reuses the id of one that was aborted. */
    if (j->dirty_id && j->dirty_id >= id)
        return rebuild(j, txn);
    j->dirty_id = 0;
    MDB_stat st;
    int rc = mdb_stat(txn, j->journal, &st);
    if (rc)
        return rc;
    j->entries = st.ms_entries - (j->boundary ? 1 : 0);
    j->next_key = 1;
    if (st.ms_entries) {
        MDB_cursor *cur;
        if ((rc = mdb_cursor_open(txn, j->journal, &cur)))
            return rc;
        MDB_val k, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        if (rc == 0 && k.mv_size == sizeof(uint64_t)) {
            memcpy(&j->next_key, k.mv_data, sizeof(uint64_t));
            j->next_key++;
        } else if (rc == 0) {
            rc = DD_ECORRUPT;
        }
        mdb_cursor_close(cur);
    }
    next_key_after_round(j);
    return rc;
}

/* The index is right for txn: rebuilt when txn cannot have seen the last change. */
static int check_index(dd_journal *j, MDB_txn *txn)
{
    size_t id = mdb_txn_id(txn);
    if (txn == j->writing && id == j->writing_id)
        return 0;
    /* A read snapshot: it holds the change iff that transaction committed. */
    if (j->dirty_id && j->dirty_id > id)
        return rebuild(j, txn);
    j->dirty_id = 0;
    return 0;
}

/* key's slot in the index as txn sees the journal: 0 with *out set,
 * DD_NOTFOUND, or an error of rebuilding the index. */
static int lookup(dd_journal *j, MDB_txn *txn, const void *key, size_t klen, slot **out)
{
    int rc = check_index(j, txn);
    if (rc)
        return rc;
    if (!j->used || klen == 0 || klen > DD_JOURNAL_KEY_MAX)
        return DD_NOTFOUND;
    *out = find_slot(j, hash_id(key, klen));
    return (*out)->hash ? 0 : DD_NOTFOUND;
}

void dd_journal_prefetch(const dd_journal *j, const void *key, size_t klen)
{
    if (!j->used || klen == 0 || klen > DD_JOURNAL_KEY_MAX)
        return;
    __builtin_prefetch(&j->slots[(size_t)hash_id(key, klen).hash & (j->cap - 1)]);
}

int dd_journal_get(dd_journal *j, MDB_txn *txn, const void *key, size_t klen, MDB_val *value)
{
    slot *s;
    int rc = lookup(j, txn, key, klen, &s);
    if (rc)
        return rc;
    if (copy_key_len(s->id) != klen || memcmp(copy_key(s->id), key, klen) != 0)
        return DD_ECORRUPT;
    if (s->deleted) {
        value->mv_data = NULL;
        value->mv_size = 0;
    } else {
        *value = copy_value(s->id);
    }
    return 0;
}

int dd_journal_holds(dd_journal *j, MDB_txn *txn, const void *key, size_t klen)
{
    slot *s;
    int rc = lookup(j, txn, key, klen, &s);
    if (rc)
        return rc;
    return s->deleted ? DD_NOTFOUND : 0;
}

/* Appends an entry of key and value (NULL: a deletion) and copies it into the index. */
static int append(dd_journal *j, MDB_txn *txn, const void *key, size_t klen, const void *value,
                  size_t len)
{
    assert(txn == j->writing);
    if (klen == 0 || klen > DD_JOURNAL_KEY_MAX)
        return DD_ETOOBIG;
    if (len > UINT32_MAX)
        return DD_ETOOBIG;
    bool deleted = value == NULL;
    uint64_t seq = j->next_key;
    MDB_val k = dd_store_u64_key(&seq), v = {1 + klen + len, NULL};
    int rc = mdb_put(txn, j->journal, &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc)
        return rc;
    uint8_t *p = v.mv_data;
    p[0] = (uint8_t)(klen | (deleted ? DELETED : 0));
    memcpy(p + 1, key, klen);
    if (len)
        memcpy(p + 1 + klen, value, len);
    j->dirty_id = j->writing_id;
    index_set(j, key, klen, seq, deleted, value, len);
    j->next_key++;
    j->entries++;
    j->appended++;
    return 0;
}

int dd_journal_put(dd_journal *j, MDB_txn *txn, const void *key, size_t klen, const void *value,
                   size_t len)
{
    return append(j, txn, key, klen, value ? value : "", len);
}

int dd_journal_del(dd_journal *j, MDB_txn *txn, const void *key, size_t klen)
{
    return append(j, txn, key, klen, NULL, 0);
}

/* The slots of every key, each holding its newest entry, sorted with cmp;
 * *n gets their number. The caller frees the array. */
static const slot **newest_entries(const dd_journal *j, int (*cmp)(const void *, const void *),
                                   size_t *n)
{
    const slot **all = dd_malloc((j->used ? j->used : 1) * sizeof(*all));
    *n = 0;
    for (size_t i = 0; i < j->cap; i++)
        if (j->slots[i].hash)
            all[(*n)++] = &j->slots[i];
    qsort(all, *n, sizeof(*all), cmp);
    return all;
}

/* LMDB's default order of keys: bytes, then the shorter first. */
static int tree_order(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
    int c = memcmp(a, b, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

static int by_tree_key(const void *a, const void *b)
{
    const uint8_t *x = (*(const slot *const *)a)->id, *y = (*(const slot *const *)b)->id;
    return tree_order(copy_key(x), copy_key_len(x), copy_key(y), copy_key_len(y));
}

/* The order the entries were written in. */
static int by_entry(const void *a, const void *b)
{
    uint64_t x = (*(const slot *const *)a)->key, y = (*(const slot *const *)b)->key;
    return (x > y) - (x < y);
}

int dd_journal_each(dd_journal *j, MDB_txn *txn,
                    int (*fn)(void *arg, const void *key, size_t klen, const MDB_val *value),
                    void *arg)
{
    int rc = check_index(j, txn);
    if (rc || !j->used)
        return rc;
    size_t n;
    const slot **all = newest_entries(j, by_entry, &n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        MDB_val value = {0, NULL};
        if (!all[i]->deleted)
            value = copy_value(all[i]->id);
        rc = fn(arg, copy_key(all[i]->id), copy_key_len(all[i]->id), &value);
    }
    free(all);
    return rc;
}

/*
 * A key's first 24 bytes as three big-endian words, zero-padded, beside its
 * slot and its copy: sorting millions of keys compares these in the array
 * itself, and reads the keys' copies (scattered over the arena) only on a
 * tie.
 */
typedef struct fold_item {
    uint64_t prefix[3];
    const slot *slot;
    const uint8_t *id;
} fold_item;

static inline int fold_order(const fold_item *x, const fold_item *y)
{
    for (int i = 0; i < 3; i++)
        if (x->prefix[i] != y->prefix[i])
            return x->prefix[i] < y->prefix[i] ? -1 : 1;
    return by_tree_key(&x->slot, &y->slot);
}

static int by_prefix_then_key(const void *a, const void *b) { return fold_order(a, b); }

static inline void swap_items(fold_item *a, fold_item *b)
{
    fold_item t = *a;
    *a = *b;
    *b = t;
}

/*
 * Sorts a[0..n) by fold_order. A fold sorts up to max_entries items, and
 * qsort's indirect merge sort of 40-byte items, through a comparison call
 * that reads both items at random, took longer than the fold's writes
 * (8 % of doudi-scheduler's samples in a province-month): this quicksort
 * compares inline and walks the array in order. Keys are unique, so any
 * correct sort gives the same order; partitions that go badly past the
 * depth limit are left to qsort.
 */
static void sort_fold_items(fold_item *a, size_t n, int depth)
{
    while (n > 16) {
        if (depth-- == 0) {
            qsort(a, n, sizeof(*a), by_prefix_then_key);
            return;
        }
        /* Median of three at a[0], the pivot; a[n - 1] then bounds the scan. */
        size_t mid = n / 2;
        if (fold_order(&a[mid], &a[0]) < 0)
            swap_items(&a[mid], &a[0]);
        if (fold_order(&a[n - 1], &a[0]) < 0)
            swap_items(&a[n - 1], &a[0]);
        if (fold_order(&a[n - 1], &a[mid]) < 0)
            swap_items(&a[n - 1], &a[mid]);
        swap_items(&a[0], &a[mid]);
        const fold_item pivot = a[0];
        /* Hoare's partition: a[0..j] <= pivot <= a[j + 1..n), 0 <= j < n - 1. */
        size_t i = 0, j = n - 1;
        for (;;) {
            while (fold_order(&a[i], &pivot) < 0)
                i++;
            while (fold_order(&pivot, &a[j]) < 0)
                j--;
            if (i >= j)
                break;
            swap_items(&a[i], &a[j]);
            i++;
            j--;
        }
        size_t left = j + 1;
        /* The smaller side recursively, the larger in this loop: the stack
         * stays logarithmic. */
        if (left < n - left) {
            sort_fold_items(a, left, depth);
            a += left;
            n -= left;
        } else {
            sort_fold_items(a + left, n - left, depth);
            n = left;
        }
    }
    for (size_t k = 1; k < n; k++) {
        fold_item t = a[k];
        size_t m = k;
        for (; m > 0 && fold_order(&t, &a[m - 1]) < 0; m--)
            a[m] = a[m - 1];
        a[m] = t;
    }
}

/*
 * In LMDB's order of keys, the newest entry of every key that is no newer
 * than entry `upto` (every key: UINT64_MAX) and comes after the key
 * after[0..after_len) (after_len 0: from the first); *n gets their number.
 */
static fold_item *sorted_for_fold(const dd_journal *j, uint64_t upto, const uint8_t *after,
                                  size_t after_len, size_t *n)
{
    fold_item *items = dd_malloc((j->used ? j->used : 1) * sizeof(*items));
    *n = 0;
    for (size_t i = 0; i < j->cap; i++) {
        const slot *s = &j->slots[i];
        if (!s->hash || s->key > upto)
            continue;
        size_t len = copy_key_len(s->id);
        if (after_len && tree_order(copy_key(s->id), len, after, after_len) <= 0)
            continue;
        uint8_t bytes[24] = {0};
        memcpy(bytes, copy_key(s->id), len < sizeof(bytes) ? len : sizeof(bytes));
        fold_item *it = &items[(*n)++];
        for (int w = 0; w < 3; w++) {
            uint64_t v = 0;
            for (int b = 0; b < 8; b++)
                v = v << 8 | bytes[8 * w + b];
            it->prefix[w] = v;
        }
        it->slot = s;
        it->id = s->id;
    }
    int depth = 2;
    for (size_t m = *n; m > 1; m >>= 1)
        depth += 2;
    sort_fold_items(items, *n, depth);
    return items;
}

/* Writes s's entry into the tree at the cursor's tree: its value, or the
 * deletion of its key. */
static int fold_one(dd_journal *j, MDB_cursor *cur, const slot *s)
{
    j->wrote_tree = true;
    MDB_val tk = {copy_key_len(s->id), (void *)copy_key(s->id)};
    int rc;
    if (s->deleted) {
        MDB_val tv;
        rc = mdb_cursor_get(cur, &tk, &tv, MDB_SET);
        if (rc == 0)
            rc = mdb_cursor_del(cur, 0);
        if (rc == MDB_NOTFOUND)
            rc = 0;
        if (rc == 0 && j->fold_hook)
            j->fold_hook(j->fold_hook_arg, tk.mv_data, tk.mv_size, NULL);
        return rc;
    }
    MDB_val tv = copy_value(s->id);
    rc = mdb_cursor_put(cur, &tk, &tv, 0);
    if (rc == 0 && j->fold_hook)
        j->fold_hook(j->fold_hook_arg, tk.mv_data, tk.mv_size, &tv);
    return rc;
}

void dd_journal_set_fold_hook(dd_journal *j,
                              void (*fn)(void *arg, const void *key, size_t klen,
                                         const MDB_val *value),
                              void *arg)
{
    j->fold_hook = fn;
    j->fold_hook_arg = arg;
}

/* The whole journal into the tree at once; the journal is emptied. */
static int fold_all(dd_journal *j, MDB_txn *txn)
{
    size_t n;
    fold_item *all = sorted_for_fold(j, UINT64_MAX, NULL, 0, &n);
    /* From here the index no longer matches what txn holds until commit. */
    j->dirty_id = j->writing_id;
    /* One cursor for the whole fold: with the keys in order, the next key
     * is usually on the leaf it stands on, and LMDB then skips the descent
     * from the root. */
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, j->tree, &cur);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i + 8 < n)
            __builtin_prefetch(all[i + 8].slot->id);
        rc = fold_one(j, cur, all[i].slot);
    }
    if (cur)
        mdb_cursor_close(cur);
    free(all);
    if (rc == 0)
        rc = mdb_drop(txn, j->journal, 0);
    if (rc)
        return rc;
    index_clear(j);
    forget_round_keys(j);
    j->boundary = 0;
    j->phase = 0;
    j->entries = 0;
    j->next_key = 1;
    return 0;
}

/* Keeps in the index only the keys whose newest entry is after `boundary`,
 * with their copies moved to a new arena (the others' memory is freed). */
static void index_keep_after(dd_journal *j, uint64_t boundary)
{
    slot *old = j->slots;
    size_t old_cap = j->cap;
    dd_arena *old_ids = j->ids;
    size_t keep = 0;
    for (size_t i = 0; i < old_cap; i++)
        keep += old[i].hash && old[i].key > boundary;
    j->cap = 1024;
    while (10 * (keep + 1) > 7 * j->cap)
        j->cap *= 2;
    j->slots = dd_calloc_table(j->cap, sizeof(slot));
    j->used = 0;
    j->ids = new_ids_arena();
    for (size_t i = 0; i < old_cap; i++) {
        const slot *s = &old[i];
        if (!s->hash || s->key <= boundary)
            continue;
        MDB_val v = s->deleted ? (MDB_val){0, NULL} : copy_value(s->id);
        index_set(j, copy_key(s->id), copy_key_len(s->id), s->key, s->deleted, v.mv_data,
                  v.mv_size);
    }
    free(old);
    /* The round's copies are gone; their blocks take the next round's. */
    dd_arena_take_blocks(j->ids, &old_ids);
}

/*
 * Phase 1 of a round: up to budget keys whose newest entry is no newer
 * than the boundary go into the tree, in key order from where the round
 * stands. A key written again since the round began is passed over (its
 * newer entry stays in the journal) and costs no budget, so how far a call
 * gets depends on the record sequence alone, also after a restart.
 */
static int fold_some(dd_journal *j, MDB_txn *txn, uint64_t *budget)
{
    if (!j->round_keys)
        j->round_keys = sorted_for_fold(j, j->boundary, j->pos, j->pos_len, &j->nround_keys);
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, j->tree, &cur);
    while (rc == 0 && *budget && j->next_round_key < j->nround_keys) {
        const uint8_t *id = j->round_keys[j->next_round_key++].id;
        if (j->next_round_key + 8 < j->nround_keys)
            __builtin_prefetch(j->round_keys[j->next_round_key + 8].id);
        /* The index may have grown since the list was made: find the slot again. */
        const slot *s = find_slot(j, hash_id(copy_key(id), copy_key_len(id)));
        if (!s->hash || s->key > j->boundary)
            continue;
        j->dirty_id = j->writing_id;
        if ((rc = fold_one(j, cur, s)))
            break;
        j->pos_len = copy_key_len(id);
        memcpy(j->pos, copy_key(id), j->pos_len);
        (*budget)--;
    }
    if (cur)
        mdb_cursor_close(cur);
    if (rc)
        return rc;
    if (j->next_round_key == j->nround_keys) {
        forget_round_keys(j);
        j->dirty_id = j->writing_id;
        index_keep_after(j, j->boundary);
        j->phase = ROUND_DELETING;
    }
    return save_round(j, txn);
}

/* Phase 2: up to budget of the round's entries leave the journal, oldest first. */
static int delete_some(dd_journal *j, MDB_txn *txn, uint64_t *budget)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, j->journal, &cur);
    if (rc)
        return rc;
    j->dirty_id = j->writing_id;
    bool done = false;
    while (*budget) {
        uint64_t first = ROUND_KEY + 1, key;
        MDB_val k = dd_store_u64_key(&first), v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc == 0 && k.mv_size != sizeof(key))
            rc = DD_ECORRUPT;
        if (rc == 0)
            memcpy(&key, k.mv_data, sizeof(key));
        if (rc == MDB_NOTFOUND || (rc == 0 && key > j->boundary)) {
            rc = 0;
            done = true;
            break;
        }
        if (rc || (rc = mdb_cursor_del(cur, 0)))
            break;
        j->entries--;
        (*budget)--;
    }
    mdb_cursor_close(cur);
    if (rc)
        return rc;
    if (done) {
        j->boundary = 0;
        j->phase = 0;
        j->pos_len = 0;
    }
    return save_round(j, txn);
}

/* Takes the round in progress up to budget steps further. */
static int round_step(dd_journal *j, MDB_txn *txn, uint64_t budget)
{
    int rc = 0;
    while (rc == 0 && j->boundary && budget)
        rc = j->phase == ROUND_FOLDING ? fold_some(j, txn, &budget) : delete_some(j, txn, &budget);
    return rc;
}

int dd_journal_fold_if_full(dd_journal *j, MDB_txn *txn, int force)
{
    assert(txn == j->writing);
    uint64_t appended = j->appended;
    j->appended = 0;
    int rc;
    if (force || !j->pace) {
        if (j->boundary && (rc = round_step(j, txn, UINT64_MAX)))
            return rc;
        if (!j->entries || (!force && j->entries < j->max_entries))
            return 0;
        return fold_all(j, txn);
    }
    if (!j->boundary) {
        if (j->entries < j->max_entries)
            return 0;
        j->boundary = j->next_key - 1;
        j->phase = ROUND_FOLDING;
        j->pos_len = 0;
        forget_round_keys(j);
    }
    return round_step(j, txn, j->pace + 2 * appended);
}

void dd_journal_set_pace(dd_journal *j, uint64_t keys_per_call) { j->pace = keys_per_call; }

int dd_journal_wrote_tree(const dd_journal *j) { return j->wrote_tree; }

int dd_journal_round(const dd_journal *j) { return j->phase; }
