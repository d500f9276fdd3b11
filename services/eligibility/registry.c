/* registry.c: the stored registry (see registry.h for the layout). */
#include "registry.h"

#include "diag.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

struct elig_registry {
    dd_store *store;
    MDB_dbi person_index, households, decisions, due, meta;
};

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

int elig_registry_open(dd_store *store, elig_registry **out)
{
    int rc = check_layout(store);
    if (rc)
        return rc;
    elig_registry *r = dd_calloc(1, sizeof(*r));
    r->store = store;
    rc = dd_store_dbi(store, "person_index", 0, &r->person_index);
    if (!rc)
        rc = dd_store_dbi(store, "households", 0, &r->households);
    if (!rc)
        rc = dd_store_dbi(store, "decisions", 0, &r->decisions);
    if (!rc)
        rc = dd_store_dbi(store, "due", 0, &r->due);
    if (!rc)
        rc = dd_store_dbi(store, "meta", 0, &r->meta);
    if (rc) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void elig_registry_close(elig_registry **r)
{
    if (!r || !*r)
        return;
    free(*r);
    *r = NULL;
}

static int get(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, MDB_val *v)
{
    if (klen == 0 || klen > 511)
        return DD_NOTFOUND;
    MDB_val k = {klen, (void *)key};
    int rc = mdb_get(txn, dbi, &k, v);
    return rc == MDB_NOTFOUND ? DD_NOTFOUND : rc;
}

/* Packs msg straight into the page LMDB reserves for it. */
static int put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
               const ProtobufCMessage *msg)
{
    MDB_val k = {klen, (void *)key};
    MDB_val v = {protobuf_c_message_get_packed_size(msg), NULL};
    int rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE);
    if (rc)
        return rc;
    protobuf_c_message_pack(msg, v.mv_data);
    return 0;
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
    int rc = get(txn, r->households, key, member_key(key, household_id, hl, person_id), &v);
    if (rc)
        return rc;
    ProtobufCAllocator a = dd_arena_protobuf_allocator(arena);
    *out = doudi__stored_person__unpack(&a, v.mv_size, v.mv_data);
    return *out ? 0 : DD_ECORRUPT;
}

int elig_registry_get_person(elig_registry *r, MDB_txn *txn, const char *person_id,
                             dd_arena *arena, Doudi__StoredPerson **out)
{
    MDB_val home;
    int rc = get(txn, r->person_index, person_id, strlen(person_id), &home);
    if (rc)
        return rc;
    rc = get_member_at(r, txn, home.mv_data, home.mv_size, person_id, arena, out);
    /* The index names a household whose group lacks the person: the two
     * are written together, so the store is damaged. */
    return rc == DD_NOTFOUND ? DD_ECORRUPT : rc;
}

int elig_registry_get_member(elig_registry *r, MDB_txn *txn, const char *household_id,
                             const char *person_id, dd_arena *arena, Doudi__StoredPerson **out)
{
    int rc = get_member_at(r, txn, household_id, strlen(household_id), person_id, arena, out);
    if (rc == DD_NOTFOUND)
        rc = elig_registry_get_person(r, txn, person_id, arena, out);
    return rc;
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
    int rc = mdb_get(txn, r->person_index, &k, &home);
    if (rc == 0 && (home.mv_size != hl || memcmp(home.mv_data, household_id, hl) != 0)) {
        /* Moved to another household: the record follows. */
        MDB_val old = {member_key(key, home.mv_data, home.mv_size, id), key};
        if ((rc = mdb_del(txn, r->households, &old, NULL)) != 0 && rc != MDB_NOTFOUND)
            return rc;
        rc = MDB_NOTFOUND;
    }
    if (rc == MDB_NOTFOUND) {
        MDB_val v = {hl, (void *)household_id};
        rc = mdb_put(txn, r->person_index, &k, &v, 0);
    }
    if (rc)
        return rc;
    return put(txn, r->households, key, member_key(key, household_id, hl, id), &p->base);
}

int elig_registry_get_household(elig_registry *r, MDB_txn *txn, const char *household_id,
                                dd_arena *arena, Doudi__StoredHousehold **out)
{
    MDB_val v;
    int rc = get(txn, r->households, household_id, strlen(household_id), &v);
    if (rc)
        return rc;
    ProtobufCAllocator a = dd_arena_protobuf_allocator(arena);
    *out = doudi__stored_household__unpack(&a, v.mv_size, v.mv_data);
    return *out ? 0 : DD_ECORRUPT;
}

int elig_registry_put_household(elig_registry *r, MDB_txn *txn, const Doudi__StoredHousehold *h)
{
    const char *id = h->report ? h->report->household_id : "";
    return put(txn, r->households, id, strlen(id), &h->base);
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
    ProtobufCAllocator a = dd_arena_protobuf_allocator(arena);
    *out = doudi__decision__unpack(&a, v.mv_size, v.mv_data);
    return *out ? 0 : DD_ECORRUPT;
}

int elig_registry_put_decision(elig_registry *r, MDB_txn *txn, const Doudi__Decision *d)
{
    char key[96];
    size_t klen = decision_key(key, d->household_id, d->person_id, (int)d->program);
    return put(txn, r->decisions, key, klen, &d->base);
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
    mdb_stat(txn, r->households, &st);
    /* The households tree holds every person's record beside its own. */
    *households = st.ms_entries >= *persons ? st.ms_entries - *persons : 0;
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
