/* deadletter.c: the dead-letter store (see deadletter.h). */
#include "deadletter.h"

#include "diag.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

struct intake_deadletter {
    dd_store *store;
    MDB_dbi db;
    uint64_t next_id;         /* next id to hand out in the open txn */
    uint64_t committed_next;  /* next_id as of the last commit */
    uint64_t count;
    int64_t pending_delta; /* adds minus removes in the open txn */
};

static void dl_committed(void *arg)
{
    intake_deadletter *dl = arg;
    dl->committed_next = dl->next_id;
    dl->count = (uint64_t)((int64_t)dl->count + dl->pending_delta);
    dl->pending_delta = 0;
}

static void dl_aborted(void *arg)
{
    intake_deadletter *dl = arg;
    dl->next_id = dl->committed_next;
    dl->pending_delta = 0;
}

int intake_deadletter_open(dd_store *store, intake_deadletter **out)
{
    intake_deadletter *dl = dd_calloc(1, sizeof(*dl));
    dl->store = store;
    int rc = dd_store_dbi(store, "deadletter", MDB_INTEGERKEY, &dl->db);
    MDB_txn *txn = NULL;
    if (!rc)
        rc = mdb_txn_begin(dd_store_env(store), NULL, MDB_RDONLY, &txn);
    if (!rc) {
        MDB_cursor *cur;
        MDB_val k, v;
        MDB_stat st;
        dl->next_id = 1;
        if (mdb_cursor_open(txn, dl->db, &cur) == 0) {
            if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0) {
                uint64_t last;
                memcpy(&last, k.mv_data, sizeof(last));
                dl->next_id = last + 1;
            }
            mdb_cursor_close(cur);
        }
        mdb_stat(txn, dl->db, &st);
        dl->count = st.ms_entries;
        mdb_txn_abort(txn);
    }
    if (rc) {
        dd_error("cannot open the dead-letter store: %s", dd_strerror(rc));
        free(dl);
        return rc;
    }
    dl->committed_next = dl->next_id;
    dd_store_participant p = {dl_committed, dl_aborted, dl};
    dd_store_add_participant(store, &p);
    *out = dl;
    return 0;
}

void intake_deadletter_close(intake_deadletter **dl)
{
    if (!dl || !*dl)
        return;
    free(*dl);
    *dl = NULL;
}

int intake_deadletter_put(intake_deadletter *dl, MDB_txn *txn, const Doudi__DeadLetter *d)
{
    uint64_t id = d->id;
    MDB_val k = dd_store_u64_key(&id);
    MDB_val v = {doudi__dead_letter__get_packed_size(d), NULL};
    unsigned flags = MDB_RESERVE | (id >= dl->committed_next ? MDB_APPEND : 0);
    int rc = mdb_put(txn, dl->db, &k, &v, flags);
    if (rc)
        return rc;
    doudi__dead_letter__pack(d, v.mv_data);
    return 0;
}

int intake_deadletter_add(intake_deadletter *dl, MDB_txn *txn, int64_t now_ms,
                          Doudi__RejectReason reason, const char *reason_text,
                          const char *source, const char *event_id, const uint8_t *raw,
                          size_t raw_len, uint64_t *id)
{
    Doudi__DeadLetter d = DOUDI__DEAD_LETTER__INIT;
    d.id = dl->next_id;
    d.rejected_at_ms = now_ms;
    d.reason = reason;
    d.reason_text = (char *)reason_text;
    d.source = (char *)(source ? source : "");
    d.event_id = (char *)(event_id ? event_id : "");
    d.raw_event.data = (uint8_t *)raw;
    d.raw_event.len = raw_len;
    int rc = intake_deadletter_put(dl, txn, &d);
    if (rc)
        return rc;
    dl->next_id++;
    dl->pending_delta++;
    if (id)
        *id = d.id;
    return 0;
}

int intake_deadletter_get(intake_deadletter *dl, MDB_txn *txn, uint64_t id, dd_arena *arena,
                          Doudi__DeadLetter **out)
{
    MDB_val k = dd_store_u64_key(&id), v;
    int rc = mdb_get(txn, dl->db, &k, &v);
    if (rc == MDB_NOTFOUND)
        return DD_NOTFOUND;
    if (rc)
        return rc;
    ProtobufCAllocator a = dd_arena_protobuf_allocator(arena);
    *out = doudi__dead_letter__unpack(&a, v.mv_size, v.mv_data);
    return *out ? 0 : DD_ECORRUPT;
}

int intake_deadletter_remove(intake_deadletter *dl, MDB_txn *txn, uint64_t id)
{
    MDB_val k = dd_store_u64_key(&id);
    int rc = mdb_del(txn, dl->db, &k, NULL);
    if (rc == 0)
        dl->pending_delta--;
    return rc == MDB_NOTFOUND ? DD_NOTFOUND : rc;
}

int intake_deadletter_list(intake_deadletter *dl, uint64_t after_id, uint32_t limit,
                           Doudi__RejectReason reason, dd_arena *arena,
                           Doudi__DeadLetterListReply *reply)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_txn_begin(dd_store_env(dl->store), NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    rc = mdb_cursor_open(txn, dl->db, &cur);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    ProtobufCAllocator a = dd_arena_protobuf_allocator(arena);
    reply->dead_letters = dd_arena_alloc(arena, limit * sizeof(Doudi__DeadLetter *));
    reply->n_dead_letters = 0;
    uint64_t start = after_id + 1;
    k = dd_store_u64_key(&start);
    int op = MDB_SET_RANGE;
    while (reply->n_dead_letters < limit && mdb_cursor_get(cur, &k, &v, op) == 0) {
        op = MDB_NEXT;
        Doudi__DeadLetter *d = doudi__dead_letter__unpack(&a, v.mv_size, v.mv_data);
        if (!d) {
            rc = DD_ECORRUPT;
            break;
        }
        if (reason && d->reason != reason)
            continue;
        reply->dead_letters[reply->n_dead_letters++] = d;
    }
    reply->total = dl->count;
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

uint64_t intake_deadletter_count(const intake_deadletter *dl)
{
    return dl->count;
}
