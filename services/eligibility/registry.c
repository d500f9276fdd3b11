/* registry.c: the stored registry (see registry.h for the layout). */
#include "registry.h"

#include "caseload.h"
#include "diag.h"
#include "error.h"
#include "homecache.h"
#include "journal.h"
#include "wiredecode.h"
#include "wireencode.h"

#include <stdlib.h>
#include <string.h>

#define GROUP_MAX 72 /* a household and up to 71 member records */

struct elig_registry {
    dd_store *store;
    MDB_dbi person_index, households, households_journal, decisions, due, meta, caseload_db;
    dd_journal *journal; /* writes to households go through it */
    /* Program counts by county, changed with every household written
     * (caseload.h), in the write transaction elig_registry_begin began. */
    elig_caseload *caseload;
    MDB_txn *write_txn;
    dd_arena *scratch; /* a stored household decoded to tally it */
    elig_homecache *homes; /* person_index in memory (homecache.h) */
    dd_wire_writer packed; /* a record being written, encoded */
    /* The household person_index names for the person read or stored last
     * in this write transaction: a changed person is read and then stored
     * (often twice), and each store would look the index up again. */
    struct {
        MDB_txn *txn; /* NULL: nothing known */
        size_t person_len, household_len;
        char person[64], household[64];
    } home;
    /* The tree's entries of the household group read last (the household
     * and its members' records): a re-decided household reads the person
     * who changed, the household and every other member, and they all sit
     * side by side, so one descent and a walk find them all. Valid for one
     * record: the tree changes only when the journal folds, between records.
     * Once a fold has written to the tree in the transaction, the entries
     * are copied into group_copies (emptied after each record): a later
     * write may spill a dirty page and free the memory a value points
     * into. */
    dd_arena *group_copies;
    struct {
        MDB_txn *txn; /* NULL: nothing held */
        size_t txn_id; /* with txn: a read transaction's address may be reused */
        bool complete; /* the walk saw the whole group */
        size_t household_len, n;
        char household[64];
        struct {
            MDB_val key, value; /* in the tree's pages */
        } entry[GROUP_MAX];
    } group;
};

#define HOUSEHOLDS_KEY "households"
/* In "meta" once "caseload" counts every household stored. */
#define CASELOAD_KEY "caseload"

/*
 * The first layout kept persons in a tree of their own, keyed by identity
 * number, so a re-decided household wrote two random pages; its "persons"
 * database holds StoredPerson values this code would misread as household
 * ids.
 */
static int check_layout(dd_store *store)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(dd_store_env(store), NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    MDB_dbi dbi;
    int found = mdb_dbi_open(txn, "persons", 0, &dbi);
    if (found == 0) {
        dd_error("the data directory holds eligibility's first registry layout (database "
                 "persons): start with an empty data_dir and let eligibility consume intake's "
                 "log again");
        rc = DD_ECORRUPT;
    } else if (found != MDB_NOTFOUND) {
        rc = found;
    }
    mdb_txn_abort(txn);
    return rc;
}

/*
 * Data directories written before the journal have no household count in
 * "meta": it is the households tree less its persons (the journal is still
 * empty there).
 */
static int init_household_count(MDB_txn *txn, void *arg)
{
    elig_registry *r = arg;
    MDB_val k = {strlen(HOUSEHOLDS_KEY), HOUSEHOLDS_KEY}, v;
    int rc = mdb_get(txn, r->meta, &k, &v);
    if (rc != MDB_NOTFOUND)
        return rc;
    MDB_stat persons, tree;
    if ((rc = mdb_stat(txn, r->person_index, &persons)) ||
        (rc = mdb_stat(txn, r->households, &tree)))
        return rc;
    uint64_t n = tree.ms_entries >= persons.ms_entries ? tree.ms_entries - persons.ms_entries : 0;
    v.mv_size = sizeof(n);
    v.mv_data = &n;
    return mdb_put(txn, r->meta, &k, &v, 0);
}

static int open_journal(elig_registry *r, uint64_t journal_max)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(dd_store_env(r->store), NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    rc = dd_journal_open(txn, r->households_journal, r->households, journal_max, &r->journal);
    mdb_txn_abort(txn);
    return rc;
}

static ProtobufCMessage *decode_stored(const ProtobufCMessageDescriptor *d, const MDB_val *v,
                                       dd_arena *arena);

/* The tally of a stored household value (NULL: none stored). */
static int tally_stored(elig_registry *r, const MDB_val *v, elig_tally *out)
{
    Doudi__StoredHousehold *h = NULL;
    if (v) {
        dd_arena_reset(r->scratch);
        h = (Doudi__StoredHousehold *)decode_stored(&doudi__stored_household__descriptor, v,
                                                    r->scratch);
        if (!h)
            return DD_ECORRUPT;
    }
    elig_caseload_tally(h, out);
    return 0;
}

/*
 * Calls fn for every entry of "households" as txn holds it: the tree's
 * entries of the kind asked for (persons: keys with 0x1F; else households)
 * that the journal has nothing newer for, then every newest entry of the
 * journal, of both kinds (value->mv_data NULL for a deletion), which fn
 * sorts out itself. fn returns 0 to go on.
 */
static int walk_registry(elig_registry *r, MDB_txn *txn, bool persons,
                         int (*fn)(void *arg, const void *key, size_t klen, const MDB_val *value),
                         void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, r->households, &cur);
    if (rc)
        return rc;
    MDB_val k, v, newer;
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
        if ((memchr(k.mv_data, 0x1f, k.mv_size) != NULL) != persons)
            continue;
        /* The journal's entry (a newer value, or a person moved away)
         * wins; it is visited below. */
        rc = dd_journal_get(r->journal, txn, k.mv_data, k.mv_size, &newer);
        if (rc == 0)
            continue;
        if (rc != DD_NOTFOUND || (rc = fn(arg, k.mv_data, k.mv_size, &v)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
        return rc;
    return dd_journal_each(r->journal, txn, fn, arg);
}

/* Adds a household record to the caseload; person records are skipped. */
static int count_household(void *arg, const void *key, size_t klen, const MDB_val *value)
{
    elig_registry *r = arg;
    if (!value->mv_data || memchr(key, 0x1f, klen))
        return 0;
    elig_tally none, t;
    int rc = tally_stored(r, value, &t);
    if (rc == 0) {
        elig_caseload_tally(NULL, &none);
        elig_caseload_change(r->caseload, &none, &t);
    }
    return rc;
}

/* Counts every household as txn holds it (the tree's, or the journal's
 * where it has a newer one) into the emptied caseload. */
static int count_caseload_fn(MDB_txn *txn, void *arg)
{
    elig_registry *r = arg;
    int rc = dd_journal_begin(r->journal, txn);
    if (rc == 0)
        rc = elig_caseload_clear(r->caseload, txn);
    if (rc == 0)
        rc = walk_registry(r, txn, false, count_household, r);
    if (rc || (rc = elig_caseload_flush(r->caseload, txn)) != 0)
        return rc;
    uint8_t one = 1;
    MDB_val mk = {strlen(CASELOAD_KEY), CASELOAD_KEY}, mv = {1, &one};
    return mdb_put(txn, r->meta, &mk, &mv, 0);
}

/* Counts the caseload from the households when forced or never counted
 * (a data directory written before it was kept). */
static int count_caseload(elig_registry *r, bool force)
{
    if (!force) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(dd_store_env(r->store), NULL, MDB_RDONLY, &txn);
        if (rc)
            return rc;
        MDB_val k = {strlen(CASELOAD_KEY), CASELOAD_KEY}, v;
        rc = mdb_get(txn, r->meta, &k, &v);
        mdb_txn_abort(txn);
        if (rc != MDB_NOTFOUND)
            return rc;
    }
    int rc = dd_store_write(r->store, count_caseload_fn, r);
    if (rc)
        elig_caseload_forget(r->caseload);
    return rc;
}

int elig_registry_recount_caseload(elig_registry *r) { return count_caseload(r, true); }

int elig_registry_flush(elig_registry *r, MDB_txn *txn)
{
    return elig_caseload_flush(r->caseload, txn);
}

int elig_registry_caseload(elig_registry *r, MDB_txn *txn, const char *prefix,
                           int (*fn)(void *arg, const elig_caseload_row *row), void *arg)
{
    return elig_caseload_each(r->caseload, txn, prefix, fn, arg);
}

int elig_registry_open(dd_store *store, uint64_t journal_max, elig_registry **out)
{
    int rc = check_layout(store);
    if (rc)
        return rc;
    elig_registry *r = dd_calloc(1, sizeof(*r));
    r->store = store;
    r->homes = elig_homecache_new(ELIG_REGISTRY_HOME_CACHE_DEFAULT);
    r->group_copies = dd_arena_new(0);
    rc = dd_store_dbi(store, "person_index", 0, &r->person_index);
    if (!rc)
        rc = dd_store_dbi(store, "households", 0, &r->households);
    if (!rc)
        rc = dd_store_dbi(store, "households_journal", MDB_INTEGERKEY, &r->households_journal);
    if (!rc)
        rc = dd_store_dbi(store, "decisions", 0, &r->decisions);
    if (!rc)
        rc = dd_store_dbi(store, "due", 0, &r->due);
    if (!rc)
        rc = dd_store_dbi(store, "meta", 0, &r->meta);
    if (!rc)
        rc = dd_store_dbi(store, "caseload", 0, &r->caseload_db);
    if (!rc)
        rc = dd_store_write(store, init_household_count, r);
    if (!rc)
        rc = open_journal(r, journal_max);
    if (!rc) {
        r->caseload = elig_caseload_new(r->caseload_db);
        r->scratch = dd_arena_new(0);
        rc = count_caseload(r, false);
    }
    if (rc) {
        elig_registry_close(&r);
        return rc;
    }
    *out = r;
    return 0;
}

void elig_registry_close(elig_registry **r)
{
    if (!r || !*r)
        return;
    dd_journal_close(&(*r)->journal);
    elig_homecache_destroy(&(*r)->homes);
    dd_arena_destroy(&(*r)->group_copies);
    dd_arena_destroy(&(*r)->scratch);
    elig_caseload_destroy(&(*r)->caseload);
    dd_wire_writer_free(&(*r)->packed);
    free(*r);
    *r = NULL;
}

void elig_registry_set_journal_max(elig_registry *r, uint64_t journal_max)
{
    dd_journal_set_max(r->journal, journal_max);
}

void elig_registry_set_fold_pace(elig_registry *r, uint64_t keys_per_record)
{
    dd_journal_set_pace(r->journal, keys_per_record);
}

int elig_registry_journal_round(const elig_registry *r) { return dd_journal_round(r->journal); }

void elig_registry_set_home_cache(elig_registry *r, size_t max_bytes)
{
    elig_homecache_destroy(&r->homes);
    r->homes = elig_homecache_new(max_bytes);
}

void elig_registry_batch_aborted(elig_registry *r)
{
    /* Homes put by the aborted transaction were never stored. */
    elig_homecache_clear(r->homes);
    elig_caseload_forget(r->caseload);
    r->write_txn = NULL;
}

size_t elig_registry_home_cache_bytes(const elig_registry *r)
{
    return elig_homecache_bytes(r->homes);
}

int elig_registry_begin(elig_registry *r, MDB_txn *txn)
{
    r->home.txn = NULL;
    r->group.txn = NULL;
    dd_arena_reset(r->group_copies);
    if (elig_caseload_pending(r->caseload)) {
        /* A writer that did not flush: its counts were never stored. */
        dd_error("caseload: changes of an earlier write transaction were not flushed; "
                 "recount with [store] caseload_recount");
        elig_caseload_forget(r->caseload);
    }
    r->write_txn = txn;
    return dd_journal_begin(r->journal, txn);
}

static void remember_home(elig_registry *r, MDB_txn *txn, const char *person_id, size_t pl,
                          const void *household_id, size_t hl)
{
    if (pl > sizeof(r->home.person) || hl > sizeof(r->home.household)) {
        r->home.txn = NULL;
        return;
    }
    r->home.txn = txn;
    r->home.person_len = pl;
    r->home.household_len = hl;
    memcpy(r->home.person, person_id, pl);
    memcpy(r->home.household, household_id, hl);
}

int elig_registry_fold_if_full(elig_registry *r, MDB_txn *txn, bool force)
{
    r->group.txn = NULL; /* the record is done; a fold moves the tree's pages */
    dd_arena_reset(r->group_copies);
    return dd_journal_fold_if_full(r->journal, txn, force);
}

uint64_t elig_registry_journal_entries(const elig_registry *r)
{
    return dd_journal_entries(r->journal);
}

size_t elig_registry_journal_memory_bytes(const elig_registry *r)
{
    return dd_journal_memory_bytes(r->journal);
}

static int get(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, MDB_val *v)
{
    if (klen == 0 || klen > 511)
        return DD_NOTFOUND;
    MDB_val k = {klen, (void *)key};
    int rc = mdb_get(txn, dbi, &k, v);
    return rc == MDB_NOTFOUND ? DD_NOTFOUND : rc;
}

static int put(elig_registry *r, MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
               const ProtobufCMessage *msg)
{
    MDB_val k = {klen, (void *)key}, v;
    v.mv_data = (void *)dd_wire_encode(&r->packed, msg, &v.mv_size);
    return mdb_put(txn, dbi, &k, &v, 0);
}

/* A stored record, decoded into arena: records are written in protobuf-c's
 * layout, so the one-pass decoder takes them all but what it declines. */
static ProtobufCMessage *decode_stored(const ProtobufCMessageDescriptor *d, const MDB_val *v,
                                       dd_arena *arena)
{
    return dd_wire_unpack(d, v->mv_data, v->mv_size, arena);
}

/* ---- the households tree, as its journal leaves it ------------------------ */

/* Whether a tree key belongs to the group of household (hl bytes). */
static bool in_group(const MDB_val *k, const char *household, size_t hl)
{
    return k->mv_size >= hl && memcmp(k->mv_data, household, hl) == 0 &&
           (k->mv_size == hl || ((const char *)k->mv_data)[hl] == 0x1f);
}

/* Reads the tree's entries of household's group into r->group. */
static int walk_group(elig_registry *r, MDB_txn *txn, const char *household, size_t hl)
{
    r->group.txn = NULL;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, r->households, &cur);
    if (rc)
        return rc;
    memcpy(r->group.household, household, hl);
    r->group.household_len = hl;
    r->group.n = 0;
    r->group.complete = true;
    bool copy = dd_journal_wrote_tree(r->journal);
    MDB_val k = {hl, r->group.household}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && in_group(&k, household, hl);
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (r->group.n == GROUP_MAX) {
            r->group.complete = false;
            break;
        }
        if (copy) {
            void *kc = dd_arena_alloc(r->group_copies, k.mv_size + v.mv_size);
            memcpy(kc, k.mv_data, k.mv_size);
            memcpy((char *)kc + k.mv_size, v.mv_data, v.mv_size);
            k.mv_data = kc;
            v.mv_data = (char *)kc + k.mv_size;
        }
        r->group.entry[r->group.n].key = k;
        r->group.entry[r->group.n++].value = v;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    r->group.txn = txn;
    r->group.txn_id = mdb_txn_id(txn);
    return 0;
}

/* key's value in the tree, through the group of its household. */
static int tree_get(elig_registry *r, MDB_txn *txn, const void *key, size_t klen, MDB_val *v)
{
    const char *sep = memchr(key, 0x1f, klen);
    size_t hl = sep ? (size_t)(sep - (const char *)key) : klen;
    if (hl == 0 || hl > sizeof(r->group.household))
        return get(txn, r->households, key, klen, v);
    if (r->group.txn != txn || r->group.txn_id != mdb_txn_id(txn) || r->group.household_len != hl ||
        memcmp(r->group.household, key, hl) != 0) {
        int rc = walk_group(r, txn, key, hl);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < r->group.n; i++) {
        const MDB_val *k = &r->group.entry[i].key;
        if (k->mv_size == klen && memcmp(k->mv_data, key, klen) == 0) {
            *v = r->group.entry[i].value;
            return 0;
        }
    }
    return r->group.complete ? DD_NOTFOUND : get(txn, r->households, key, klen, v);
}

static int households_get(elig_registry *r, MDB_txn *txn, const void *key, size_t klen,
                          MDB_val *v)
{
    if (klen == 0 || klen > DD_JOURNAL_KEY_MAX)
        return DD_NOTFOUND;
    int rc = dd_journal_get(r->journal, txn, key, klen, v);
    if (rc == 0)
        return v->mv_data ? 0 : DD_NOTFOUND;
    if (rc != DD_NOTFOUND)
        return rc;
    return tree_get(r, txn, key, klen, v);
}

/* Appends msg to the journal. */
static int households_put(elig_registry *r, MDB_txn *txn, const void *key, size_t klen,
                          const ProtobufCMessage *msg)
{
    size_t len;
    const uint8_t *packed = dd_wire_encode(&r->packed, msg, &len);
    return dd_journal_put(r->journal, txn, key, klen, packed, len);
}

/* household id, 0x1F (never in a printable id), person id: a member's key
 * sorts right after its household's, so both share a page. */
static size_t member_key(char key[96], const char *household_id, size_t hl, const char *person_id)
{
    size_t pl = strnlen(person_id, 18);
    if (hl > 64)
        hl = 64;
    memcpy(key, household_id, hl);
    key[hl] = 0x1f;
    memcpy(key + hl + 1, person_id, pl);
    return hl + 1 + pl;
}

static int get_member_at(elig_registry *r, MDB_txn *txn, const char *household_id, size_t hl,
                         const char *person_id, dd_arena *arena, Doudi__StoredPerson **out)
{
    char key[96];
    MDB_val v;
    int rc = households_get(r, txn, key, member_key(key, household_id, hl, person_id), &v);
    if (rc)
        return rc;
    *out = (Doudi__StoredPerson *)decode_stored(&doudi__stored_person__descriptor, &v, arena);
    return *out ? 0 : DD_ECORRUPT;
}

int elig_registry_get_person(elig_registry *r, MDB_txn *txn, const char *person_id,
                             dd_arena *arena, Doudi__StoredPerson **out)
{
    MDB_val home;
    size_t pl = strlen(person_id);
    const char *cached;
    size_t cl;
    if (elig_homecache_get(r->homes, person_id, pl, &cached, &cl)) {
        /* Found under that household, the person is there: records move
         * with the index. Not found: a key two persons share; ask the index. */
        int rc = get_member_at(r, txn, cached, cl, person_id, arena, out);
        if (rc != DD_NOTFOUND) {
            if (rc == 0)
                remember_home(r, txn, person_id, pl, cached, cl);
            return rc;
        }
    }
    int rc = get(txn, r->person_index, person_id, pl, &home);
    if (rc)
        return rc;
    elig_homecache_put(r->homes, person_id, pl, home.mv_data, home.mv_size);
    remember_home(r, txn, person_id, pl, home.mv_data, home.mv_size);
    rc = get_member_at(r, txn, home.mv_data, home.mv_size, person_id, arena, out);
    /* The index names a household whose group lacks the person: the two
     * are written together, so the store is damaged. */
    return rc == DD_NOTFOUND ? DD_ECORRUPT : rc;
}

void elig_registry_prefetch_members(elig_registry *r, const char *household_id,
                                    char *const *person_ids, size_t n)
{
    size_t hl = strlen(household_id);
    char key[96];
    for (size_t i = 0; i < n; i++)
        dd_journal_prefetch(r->journal, key, member_key(key, household_id, hl, person_ids[i]));
}

int elig_registry_get_member(elig_registry *r, MDB_txn *txn, const char *household_id,
                             const char *person_id, dd_arena *arena, Doudi__StoredPerson **out)
{
    int rc = get_member_at(r, txn, household_id, strlen(household_id), person_id, arena, out);
    if (rc == DD_NOTFOUND)
        rc = elig_registry_get_person(r, txn, person_id, arena, out);
    return rc;
}

/* Whether person_id's record is in household_id's group (the index then
 * names that household). */
static bool member_there(elig_registry *r, MDB_txn *txn, const char *household_id, size_t hl,
                         const char *person_id)
{
    char key[96];
    MDB_val v;
    return households_get(r, txn, key, member_key(key, household_id, hl, person_id), &v) == 0;
}

int elig_registry_put_person(elig_registry *r, MDB_txn *txn, const Doudi__StoredPerson *p)
{
    const char *id = p->report ? p->report->person_id : "";
    const char *household_id = p->report ? p->report->household_id : "";
    size_t idl = strlen(id), hl = strnlen(household_id, 64);
    if (idl == 0 || idl > 511)
        return DD_NOTFOUND;
    char key[96];
    MDB_val k = {idl, (void *)id}, home;
    int rc;
    const char *cached;
    size_t cl;
    if (r->home.txn == txn && r->home.person_len == idl && memcmp(r->home.person, id, idl) == 0) {
        home.mv_size = r->home.household_len;
        home.mv_data = r->home.household;
        rc = 0;
    } else if (elig_homecache_get(r->homes, id, idl, &cached, &cl) && cl == hl &&
               memcmp(cached, household_id, hl) == 0 && member_there(r, txn, household_id, hl, id)) {
        /* Staying where the cache and the tree both put it. */
        home.mv_size = hl;
        home.mv_data = (void *)household_id;
        rc = 0;
    } else {
        rc = mdb_get(txn, r->person_index, &k, &home);
        if (rc == 0)
            elig_homecache_put(r->homes, id, idl, home.mv_data, home.mv_size);
    }
    if (rc == 0 && (home.mv_size != hl || memcmp(home.mv_data, household_id, hl) != 0)) {
        /* Moved to another household: the record follows. */
        if ((rc = dd_journal_del(r->journal, txn, key,
                                 member_key(key, home.mv_data, home.mv_size, id))) != 0)
            return rc;
        rc = MDB_NOTFOUND;
    }
    if (rc == MDB_NOTFOUND) {
        MDB_val v = {hl, (void *)household_id};
        rc = mdb_put(txn, r->person_index, &k, &v, 0);
        if (rc == 0)
            elig_homecache_put(r->homes, id, idl, household_id, hl);
    }
    if (rc)
        return rc;
    remember_home(r, txn, id, idl, household_id, hl);
    return households_put(r, txn, key, member_key(key, household_id, hl, id), &p->base);
}

int elig_registry_get_household(elig_registry *r, MDB_txn *txn, const char *household_id,
                                dd_arena *arena, Doudi__StoredHousehold **out)
{
    MDB_val v;
    int rc = households_get(r, txn, household_id, strlen(household_id), &v);
    if (rc)
        return rc;
    *out = (Doudi__StoredHousehold *)decode_stored(&doudi__stored_household__descriptor, &v, arena);
    if (!*out)
        return DD_ECORRUPT;
    if (txn == r->write_txn) {
        /* Read to be changed, most likely: what it counts as stored. */
        elig_tally t;
        elig_caseload_tally(*out, &t);
        elig_caseload_remember(r->caseload, household_id, &t);
    }
    return 0;
}

typedef struct each_person {
    elig_homecache *homes;
    int (*fn)(void *arg, const Doudi__StoredPerson *p);
    void *arg;
    dd_arena *arena;
    size_t decoded; /* since the arena's last reset */
} each_person;

/* Decodes a person record and hands it on; household records are skipped. */
static int visit_person(void *arg, const void *key, size_t klen, const MDB_val *value)
{
    each_person *w = arg;
    const char *sep = value->mv_data ? memchr(key, 0x1f, klen) : NULL;
    if (!sep)
        return 0;
    /* The person's record is under its household's: what the index says. */
    elig_homecache_put(w->homes, sep + 1, klen - (size_t)(sep + 1 - (const char *)key), key,
                       (size_t)(sep - (const char *)key));
    if (++w->decoded == 4096) {
        dd_arena_reset(w->arena);
        w->decoded = 0;
    }
    Doudi__StoredPerson *p =
        (Doudi__StoredPerson *)decode_stored(&doudi__stored_person__descriptor, value, w->arena);
    return p ? w->fn(w->arg, p) : DD_ECORRUPT;
}

int elig_registry_each_person(elig_registry *r, MDB_txn *txn, dd_arena *arena,
                              int (*fn)(void *arg, const Doudi__StoredPerson *p), void *arg)
{
    each_person w = {r->homes, fn, arg, arena, 0};
    dd_arena_reset(arena);
    return walk_registry(r, txn, true, visit_person, &w);
}

/* One more household in meta's count (households are never deleted). */
static int count_new_household(elig_registry *r, MDB_txn *txn)
{
    MDB_val k = {strlen(HOUSEHOLDS_KEY), HOUSEHOLDS_KEY}, v;
    uint64_t n = 0;
    int rc = mdb_get(txn, r->meta, &k, &v);
    if (rc == 0 && v.mv_size == sizeof(n))
        memcpy(&n, v.mv_data, sizeof(n));
    else if (rc != MDB_NOTFOUND)
        return rc ? rc : DD_ECORRUPT;
    n++;
    v.mv_size = sizeof(n);
    v.mv_data = &n;
    return mdb_put(txn, r->meta, &k, &v, 0);
}

int elig_registry_put_household(elig_registry *r, MDB_txn *txn, const Doudi__StoredHousehold *h)
{
    const char *id = h->report ? h->report->household_id : "";
    size_t len = strlen(id);
    elig_tally before, after;
    bool known = elig_caseload_recall(r->caseload, id, &before);
    /* In the journal's index means stored already: no read needed. */
    int rc = dd_journal_holds(r->journal, txn, id, len);
    MDB_val v;
    if (rc == 0 && !known) {
        rc = dd_journal_get(r->journal, txn, id, len, &v);
        if (rc == 0)
            rc = tally_stored(r, v.mv_data ? &v : NULL, &before);
    } else if (rc == DD_NOTFOUND) {
        rc = get(txn, r->households, id, len, &v);
        if (rc == DD_NOTFOUND) {
            rc = count_new_household(r, txn);
            if (!known)
                elig_caseload_tally(NULL, &before);
        } else if (rc == 0 && !known) {
            rc = tally_stored(r, &v, &before);
        }
    }
    if (rc)
        return rc;
    elig_caseload_tally(h, &after);
    elig_caseload_change(r->caseload, &before, &after);
    elig_caseload_remember(r->caseload, id, &after);
    return households_put(r, txn, id, len, &h->base);
}

/* household id, 0x1F (never in a printable id), person id, program byte. */
static size_t decision_key(char key[96], const char *household_id, const char *person_id,
                           int program)
{
    size_t hl = strnlen(household_id, 64), pl = strnlen(person_id, 18);
    memcpy(key, household_id, hl);
    key[hl] = 0x1f;
    memcpy(key + hl + 1, person_id, pl);
    size_t len = hl + 1 + pl;
    if (program >= 0)
        key[len++] = (char)program;
    return len;
}

int elig_registry_get_decision(elig_registry *r, MDB_txn *txn, const char *household_id,
                               const char *person_id, Doudi__Program program, dd_arena *arena,
                               Doudi__Decision **out)
{
    char key[96];
    size_t klen = decision_key(key, household_id, person_id, (int)program);
    MDB_val v;
    int rc = get(txn, r->decisions, key, klen, &v);
    if (rc)
        return rc;
    *out = (Doudi__Decision *)decode_stored(&doudi__decision__descriptor, &v, arena);
    return *out ? 0 : DD_ECORRUPT;
}

int elig_registry_put_decision(elig_registry *r, MDB_txn *txn, const Doudi__Decision *d)
{
    char key[96];
    size_t klen = decision_key(key, d->household_id, d->person_id, (int)d->program);
    return put(r, txn, r->decisions, key, klen, &d->base);
}

int elig_registry_delete_decisions(elig_registry *r, MDB_txn *txn, const char *household_id,
                                   const char *person_id)
{
    char prefix[96];
    size_t plen = decision_key(prefix, household_id, person_id, -1);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, r->decisions, &cur);
    if (rc)
        return rc;
    MDB_val k = {plen, prefix}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size == plen + 1 && memcmp(k.mv_data, prefix, plen) == 0) {
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        k.mv_size = plen;
        k.mv_data = prefix;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static size_t due_key(char *key, int64_t at_ms, char type, const char *id)
{
    uint64_t be = (uint64_t)at_ms;
    for (int i = 7; i >= 0; i--) {
        key[i] = (char)(be & 0xff);
        be >>= 8;
    }
    key[8] = type;
    size_t len = strnlen(id, 64);
    memcpy(key + 9, id, len);
    return 9 + len;
}

int elig_registry_add_due(elig_registry *r, MDB_txn *txn, int64_t at_ms, char type,
                          const char *id)
{
    char key[80];
    MDB_val k = {due_key(key, at_ms, type, id), key}, v = {0, ""};
    return mdb_put(txn, r->due, &k, &v, 0);
}

int elig_registry_cancel_due(elig_registry *r, MDB_txn *txn, int64_t at_ms, char type,
                             const char *id)
{
    char key[80];
    MDB_val k = {due_key(key, at_ms, type, id), key};
    int rc = mdb_del(txn, r->due, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int elig_registry_take_due(elig_registry *r, MDB_txn *txn, int64_t cutoff_ms,
                                int (*fn)(void *arg, MDB_txn *txn, char type, const char *id),
                                void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, r->due, &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
        if (k.mv_size < 10 || k.mv_size > 9 + 64)
            break;
        const unsigned char *p = k.mv_data;
        uint64_t at = 0;
        for (int i = 0; i < 8; i++)
            at = at << 8 | p[i];
        if ((int64_t)at >= cutoff_ms)
            break;
        char type = (char)p[8];
        char id[65];
        memcpy(id, p + 9, k.mv_size - 9);
        id[k.mv_size - 9] = '\0';
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        if ((rc = fn(arg, txn, type, id)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int elig_registry_counts(elig_registry *r, uint64_t *persons, uint64_t *households,
                         uint64_t *decisions)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(dd_store_env(r->store), NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    MDB_stat st;
    mdb_stat(txn, r->person_index, &st);
    *persons = st.ms_entries;
    /* Counted as they come: the tree alone misses those still in the journal. */
    MDB_val k = {strlen(HOUSEHOLDS_KEY), HOUSEHOLDS_KEY}, v;
    *households = 0;
    if (mdb_get(txn, r->meta, &k, &v) == 0 && v.mv_size == sizeof(uint64_t))
        memcpy(households, v.mv_data, sizeof(uint64_t));
    mdb_stat(txn, r->decisions, &st);
    *decisions = st.ms_entries;
    mdb_txn_abort(txn);
    return 0;
}

int64_t elig_registry_clock(elig_registry *r, MDB_txn *txn)
{
    MDB_val v;
    int64_t ms = 0;
    if (get(txn, r->meta, "clock", 5, &v) == 0 && v.mv_size == sizeof(ms))
        memcpy(&ms, v.mv_data, sizeof(ms));
    return ms;
}

int elig_registry_set_clock(elig_registry *r, MDB_txn *txn, int64_t ms)
{
    MDB_val k = {5, "clock"}, v = {sizeof(ms), &ms};
    return mdb_put(txn, r->meta, &k, &v, 0);
}

int64_t elig_registry_first_due(elig_registry *r, MDB_txn *txn)
{
    MDB_cursor *cur;
    int64_t due = INT64_MAX;
    if (mdb_cursor_open(txn, r->due, &cur) != 0)
        return INT64_MIN; /* unknown: the caller looks every time */
    MDB_val k, v;
    if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0 && k.mv_size >= 8) {
        const unsigned char *p = k.mv_data;
        uint64_t at = 0;
        for (int i = 0; i < 8; i++)
            at = at << 8 | p[i];
        due = (int64_t)at;
    }
    mdb_cursor_close(cur);
    return due;
}
