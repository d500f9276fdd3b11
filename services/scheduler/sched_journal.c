/* sched_journal.c: plan writes appended, an index in memory, folds (see sched_journal.h). */
#include "sched_journal.h"

#include "alloc.h"
#include "error.h"
#include "store.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* One person in the index: the newest journal key of its plan. */
typedef struct slot {
    uint64_t hash; /* 0: empty */
    uint64_t key;
    const char *id; /* NUL-terminated, in ids */
} slot;

struct sched_journal {
    MDB_dbi journal, plans;
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
};

#define ID_MAX 64

static uint64_t hash_id(const char *id, size_t len)
{
    uint64_t h = XXH3_64bits(id, len);
    return h ? h : 1; /* 0 marks an empty slot */
}

static slot *find_slot(sched_journal *j, const char *id, size_t len, uint64_t h)
{
    size_t mask = j->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        slot *s = &j->slots[i];
        if (!s->hash || (s->hash == h && strncmp(s->id, id, len) == 0 && s->id[len] == '\0'))
            return s;
    }
}

static void index_clear(sched_journal *j)
{
    if (j->used)
        memset(j->slots, 0, j->cap * sizeof(slot));
    j->used = 0;
    dd_arena_reset(j->ids);
}

static void index_grow(sched_journal *j)
{
    slot *old = j->slots;
    size_t old_cap = j->cap;
    j->cap = old_cap ? old_cap * 2 : 1024;
    j->slots = dd_calloc(j->cap, sizeof(slot));
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].hash)
            *find_slot(j, old[i].id, strlen(old[i].id), old[i].hash) = old[i];
    free(old);
}

static void index_set(sched_journal *j, const char *id, size_t len, uint64_t key)
{
    if (10 * (j->used + 1) > 7 * j->cap)
        index_grow(j);
    uint64_t h = hash_id(id, len);
    slot *s = find_slot(j, id, len, h);
    if (!s->hash) {
        char *copy = dd_arena_alloc(j->ids, len + 1);
        memcpy(copy, id, len);
        copy[len] = '\0';
        s->hash = h;
        s->id = copy;
        j->used++;
    }
    s->key = key;
}

/* A journal value: id length (1 byte), id, the encoded plan. */
static int split_value(const MDB_val *v, const char **id, size_t *len, MDB_val *plan)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < 1 || p[0] == 0 || p[0] > ID_MAX || v->mv_size < 1u + p[0])
        return DD_ECORRUPT;
    *id = (const char *)p + 1;
    *len = p[0];
    plan->mv_data = (void *)(p + 1 + p[0]);
    plan->mv_size = v->mv_size - 1 - p[0];
    return 0;
}

/* The index and the counters as txn sees the journal. */
static int rebuild(sched_journal *j, MDB_txn *txn)
{
    index_clear(j);
    j->entries = 0;
    j->next_key = 1;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, j->journal, &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *id;
        size_t len;
        MDB_val plan;
        uint64_t key;
        if (k.mv_size != sizeof(key) || split_value(&v, &id, &len, &plan)) {
            rc = DD_ECORRUPT;
            break;
        }
        memcpy(&key, k.mv_data, sizeof(key));
        index_set(j, id, len, key);
        j->entries++;
        j->next_key = key + 1;
    }
    mdb_cursor_close(cur);
    j->dirty_id = 0;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int sched_journal_open(MDB_txn *txn, MDB_dbi journal, MDB_dbi plans, uint64_t max_entries,
                       sched_journal **out)
{
    sched_journal *j = dd_calloc(1, sizeof(*j));
    j->journal = journal;
    j->plans = plans;
    j->max_entries = max_entries ? max_entries : 1;
    j->ids = dd_arena_new(1 << 20);
    index_grow(j);
    int rc = rebuild(j, txn);
    if (rc) {
        sched_journal_close(&j);
        return rc;
    }
    *out = j;
    return 0;
}

void sched_journal_close(sched_journal **jp)
{
    if (!jp || !*jp)
        return;
    free((*jp)->slots);
    dd_arena_destroy(&(*jp)->ids);
    free(*jp);
    *jp = NULL;
}

void sched_journal_set_max(sched_journal *j, uint64_t max_entries)
{
    j->max_entries = max_entries ? max_entries : 1;
}

uint64_t sched_journal_entries(const sched_journal *j) { return j->entries; }

int sched_journal_begin(sched_journal *j, MDB_txn *txn)
{
    size_t id = mdb_txn_id(txn);
    j->writing = txn;
    j->writing_id = id;
    /* A write transaction reuses the id of one that was aborted. */
    if (j->dirty_id && j->dirty_id >= id)
        return rebuild(j, txn);
    j->dirty_id = 0;
    MDB_stat st;
    int rc = mdb_stat(txn, j->journal, &st);
    if (rc)
        return rc;
    j->entries = st.ms_entries;
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
    return rc;
}

/* The index is right for txn: rebuilt when txn cannot have seen the last change. */
static int check_index(sched_journal *j, MDB_txn *txn)
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

int sched_journal_get(sched_journal *j, MDB_txn *txn, const char *person_id, MDB_val *plan)
{
    int rc = check_index(j, txn);
    if (rc)
        return rc;
    size_t len = strlen(person_id);
    if (!j->used || len == 0 || len > ID_MAX)
        return DD_NOTFOUND;
    slot *s = find_slot(j, person_id, len, hash_id(person_id, len));
    if (!s->hash)
        return DD_NOTFOUND;
    MDB_val k = dd_store_u64_key(&s->key), v;
    if ((rc = mdb_get(txn, j->journal, &k, &v)))
        return rc == MDB_NOTFOUND ? DD_ECORRUPT : rc;
    const char *id;
    size_t idlen;
    if (split_value(&v, &id, &idlen, plan) || idlen != len || memcmp(id, person_id, len) != 0)
        return DD_ECORRUPT;
    return 0;
}

int sched_journal_put(sched_journal *j, MDB_txn *txn, const char *person_id, const void *plan,
                      size_t len)
{
    assert(txn == j->writing);
    size_t idlen = strlen(person_id);
    if (idlen == 0 || idlen > ID_MAX)
        return DD_ETOOBIG;
    uint64_t key = j->next_key;
    MDB_val k = dd_store_u64_key(&key), v = {1 + idlen + len, NULL};
    int rc = mdb_put(txn, j->journal, &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc)
        return rc;
    uint8_t *out = v.mv_data;
    out[0] = (uint8_t)idlen;
    memcpy(out + 1, person_id, idlen);
    memcpy(out + 1 + idlen, plan, len);
    j->dirty_id = j->writing_id;
    index_set(j, person_id, idlen, key);
    j->next_key++;
    j->entries++;
    return 0;
}

typedef struct live {
    const char *id;
    uint64_t key;
} live;

/* LMDB's default order of keys: bytes, then the shorter first. */
static int live_cmp(const void *a, const void *b)
{
    const char *x = ((const live *)a)->id, *y = ((const live *)b)->id;
    size_t lx = strlen(x), ly = strlen(y);
    int c = memcmp(x, y, lx < ly ? lx : ly);
    return c ? c : (lx > ly) - (lx < ly);
}

int sched_journal_fold_if_full(sched_journal *j, MDB_txn *txn, int force)
{
    assert(txn == j->writing);
    if (!j->entries || (!force && j->entries < j->max_entries))
        return 0;
    live *all = dd_malloc((j->used ? j->used : 1) * sizeof(*all));
    size_t n = 0;
    for (size_t i = 0; i < j->cap; i++)
        if (j->slots[i].hash)
            all[n++] = (live){j->slots[i].id, j->slots[i].key};
    qsort(all, n, sizeof(*all), live_cmp);
    /* From here the index no longer matches what txn holds until commit. */
    j->dirty_id = j->writing_id;
    int rc = 0;
    /* A value read is valid only until the next write: copied first. */
    size_t copy_cap = 4096;
    uint8_t *copy = dd_malloc(copy_cap);
    for (size_t i = 0; i < n && rc == 0; i++) {
        MDB_val k = dd_store_u64_key(&all[i].key), v, plan;
        const char *id;
        size_t idlen;
        if ((rc = mdb_get(txn, j->journal, &k, &v))) {
            rc = rc == MDB_NOTFOUND ? DD_ECORRUPT : rc;
            break;
        }
        if ((rc = split_value(&v, &id, &idlen, &plan)))
            break;
        if (plan.mv_size > copy_cap) {
            copy_cap = plan.mv_size;
            copy = dd_realloc(copy, copy_cap);
        }
        memcpy(copy, plan.mv_data, plan.mv_size);
        MDB_val pk = {idlen, (void *)all[i].id}, pv = {plan.mv_size, copy};
        rc = mdb_put(txn, j->plans, &pk, &pv, 0);
    }
    free(copy);
    free(all);
    if (rc == 0)
        rc = mdb_drop(txn, j->journal, 0);
    if (rc)
        return rc;
    index_clear(j);
    j->entries = 0;
    j->next_key = 1;
    return 0;
}
