/* alerts_book.c: doudi-alerts' LMDB databases (see alerts_book.h). */
#include "alerts_book.h"

#include "alerts_ladder.h"
#include "diag.h"
#include "error.h"
#include "wiredecode.h"
#include "wireencode.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct alerts_book {
    dd_store *store;
    MDB_dbi alerts, repeats, open, classes, gone, rates, silences, meta;
    dd_wire_writer packed; /* an alert being stored, encoded */
};

/*
 * Databases of earlier layouts, whose alerts this code would misread: the
 * first carried no schedule and its escalations were written into the
 * alerts; the second kept a schedule database and headers without the
 * fields the sweep now reads, and its replay index in other keys.
 */
static const struct {
    const char *db;
    const char *layout;
} earlier_layouts[] = {{"dedup", "first"},     {"deadlines", "first"}, {"unresolved", "first"},
                       {"visit_overdue", "first"}, {"schedule", "second"}, {"replay", "second"}};

static int check_layout(dd_store *store)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(dd_store_env(store), NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    for (size_t i = 0; i < sizeof(earlier_layouts) / sizeof(earlier_layouts[0]) && !rc; i++) {
        MDB_dbi dbi;
        int found = mdb_dbi_open(txn, earlier_layouts[i].db, 0, &dbi);
        if (found == 0) {
            dd_error("the data directory holds doudi-alerts' %s database layout "
                     "(database %s): start with an empty data_dir and let alerts consume "
                     "its upstream's log again",
                     earlier_layouts[i].layout, earlier_layouts[i].db);
            rc = DD_ECORRUPT;
        } else if (found != MDB_NOTFOUND) {
            rc = found;
        }
    }
    mdb_txn_abort(txn);
    return rc;
}

int alerts_book_open(dd_store *store, alerts_book **out)
{
    int rc = check_layout(store);
    if (rc)
        return rc;
    alerts_book *b = dd_calloc(1, sizeof(*b));
    b->store = store;
    if ((rc = dd_store_dbi(store, "alerts", MDB_INTEGERKEY, &b->alerts)) ||
        (rc = dd_store_dbi(store, "repeats", MDB_INTEGERKEY, &b->repeats)) ||
        (rc = dd_store_dbi(store, "open", MDB_INTEGERKEY, &b->open)) ||
        (rc = dd_store_dbi(store, "classes", MDB_INTEGERKEY, &b->classes)) ||
        (rc = dd_store_dbi(store, "gone", 0, &b->gone)) ||
        (rc = dd_store_dbi(store, "rates", 0, &b->rates)) ||
        (rc = dd_store_dbi(store, "silences", MDB_INTEGERKEY, &b->silences)) ||
        (rc = dd_store_dbi(store, "meta", 0, &b->meta))) {
        free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void alerts_book_close(alerts_book **b)
{
    if (!b || !*b)
        return;
    dd_wire_writer_free(&(*b)->packed);
    free(*b);
    *b = NULL;
}

void alerts_id_format(uint64_t number, char out[24])
{
    char digits[21];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + number % 10);
        number /= 10;
    } while (number);
    out[0] = 'A';
    for (size_t i = 0; i < n; i++)
        out[1 + i] = digits[n - 1 - i];
    out[1 + n] = '\0';
}

uint64_t alerts_id_parse(const char *id)
{
    if (id[0] != 'A' || id[1] < '1' || id[1] > '9')
        return 0;
    uint64_t n = 0;
    for (const char *p = id + 1; *p; p++) {
        if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10)
            return 0;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    return n;
}

static int del_ok(int rc)
{
    return rc == MDB_NOTFOUND ? 0 : rc;
}

uint64_t alerts_book_hash(const char *text)
{
    return XXH3_64bits(text, strlen(text));
}

/* ---- alerts ------------------------------------------------------------- */

void alerts_book_view(Doudi__StoredAlert *a, const alerts_schedule *s, int64_t clock_ms,
                      dd_arena *arena)
{
    if ((a->state != DOUDI__ALERT_STATE__ALERT_STATE_OPEN &&
         a->state != DOUDI__ALERT_STATE__ALERT_STATE_ESCALATED) ||
        !s->class_id || !a->first_deadline_ms || s->level_window_ms <= 0 || s->top_level < 1)
        return;
    int64_t d1 = a->first_deadline_ms, w = s->level_window_ms;
    int64_t top = s->top_level;
    /* Deadline k (k = 1..top) is d1 + (k-1) w; those before the clock passed. */
    int64_t passed = clock_ms > d1 ? (clock_ms - d1 + w - 1) / w : 0;
    if (passed > top)
        passed = top;
    int64_t level = 1 + (passed < top - 1 ? passed : top - 1);
    a->level = (Doudi__AlertLevel)level;
    a->escalations = (uint32_t)(level - 1);
    a->deadline_ms = passed < top ? d1 + passed * w : 0;
    if (level > 1) {
        a->state = DOUDI__ALERT_STATE__ALERT_STATE_ESCALATED;
        a->updated_at_ms = d1 + (level - 2) * w;
        char *office = dd_arena_alloc(arena, 13);
        alerts_office_code(a->region_code, a->level, office);
        a->office_code = office;
    }
}

/* Decodes a stored value: the header, the message, what the header and
 * the number imply, and the repeats merged into it. */
static int decode(alerts_book *b, MDB_txn *txn, uint64_t number, const MDB_val *v,
                  dd_arena *arena, Doudi__StoredAlert **out, alerts_schedule *s)
{
    if (v->mv_size < sizeof(*s))
        return DD_ECORRUPT;
    memcpy(s, v->mv_data, sizeof(*s));
    if (s->layout != ALERTS_BOOK_LAYOUT)
        return DD_ECORRUPT;
    Doudi__StoredAlert *a = (Doudi__StoredAlert *)dd_wire_unpack(
        &doudi__stored_alert__descriptor, (const uint8_t *)v->mv_data + sizeof(*s),
        v->mv_size - sizeof(*s), arena);
    if (!a)
        return DD_ECORRUPT;
    char *id = dd_arena_alloc(arena, 24);
    alerts_id_format(number, id);
    a->id = id;
    a->kind = (Doudi__AlertKind)s->kind;
    a->severity = (Doudi__AlertSeverity)s->severity;
    a->first_deadline_ms = s->first_deadline_ms;
    char *region = dd_arena_alloc(arena, 13);
    memcpy(region, s->region, 12);
    region[12] = '\0';
    a->region_code = region;
    if (!a->office_code[0]) {
        char *office = dd_arena_alloc(arena, 13);
        alerts_office_code(region, a->level, office);
        a->office_code = office;
    }
    MDB_val k = dd_store_u64_key(&number), r;
    int rc = mdb_get(txn, b->repeats, &k, &r);
    if (rc == 0 && r.mv_size == sizeof(alerts_repeat)) {
        alerts_repeat rep;
        memcpy(&rep, r.mv_data, sizeof(rep));
        a->count = rep.count;
        a->last_seen_at_ms = rep.last_seen_at_ms;
        a->last_caused_by_sequence = rep.last_caused_by_sequence;
    } else if (rc != MDB_NOTFOUND) {
        return rc ? rc : DD_ECORRUPT;
    }
    *out = a;
    return 0;
}

int alerts_book_get(alerts_book *b, MDB_txn *txn, uint64_t number, int64_t clock_ms,
                    dd_arena *arena, Doudi__StoredAlert **out, alerts_schedule *schedule)
{
    MDB_val k = dd_store_u64_key(&number), v;
    int rc = mdb_get(txn, b->alerts, &k, &v);
    if (rc == MDB_NOTFOUND)
        return DD_NOTFOUND;
    if (rc)
        return rc;
    alerts_schedule s;
    if ((rc = decode(b, txn, number, &v, arena, out, &s)) != 0)
        return rc;
    alerts_book_view(*out, &s, clock_ms, arena);
    if (schedule)
        *schedule = s;
    return 0;
}

int alerts_book_put(alerts_book *b, MDB_txn *txn, uint64_t number, const alerts_schedule *s,
                    const Doudi__StoredAlert *a, bool append)
{
    alerts_schedule h = *s;
    h.layout = ALERTS_BOOK_LAYOUT;
    h.kind = (uint8_t)a->kind;
    h.severity = (uint8_t)a->severity;
    h.first_deadline_ms = a->first_deadline_ms;
    memset(h.region, 0, sizeof(h.region));
    memcpy(h.region, a->region_code, strnlen(a->region_code, sizeof(h.region)));
    memset(h.reserved, 0, sizeof(h.reserved)); /* the same bytes for the same alert */
    /* What the header and the number say is not stored twice. */
    Doudi__StoredAlert m = *a;
    m.id = "";
    m.kind = 0;
    m.severity = 0;
    m.first_deadline_ms = 0;
    m.region_code = "";
    char office[13];
    if (strlen(a->region_code) == 12) {
        alerts_office_code(a->region_code, a->level, office);
        if (strcmp(office, a->office_code) == 0)
            m.office_code = "";
    }
    size_t len;
    const uint8_t *packed = dd_wire_encode(&b->packed, &m.base, &len);
    MDB_val k = dd_store_u64_key(&number), v = {sizeof(h) + len, NULL};
    int rc = mdb_put(txn, b->alerts, &k, &v, MDB_RESERVE | (append ? MDB_APPEND : 0));
    if (rc == 0) {
        memcpy(v.mv_data, &h, sizeof(h));
        memcpy((uint8_t *)v.mv_data + sizeof(h), packed, len);
    }
    return rc;
}

int alerts_book_repeat_put(alerts_book *b, MDB_txn *txn, uint64_t number,
                           const Doudi__StoredAlert *a)
{
    alerts_repeat rep = {a->last_seen_at_ms, a->last_caused_by_sequence, a->count, 0};
    MDB_val k = dd_store_u64_key(&number), v = {sizeof(rep), &rep};
    return mdb_put(txn, b->repeats, &k, &v, 0);
}

int alerts_book_count(alerts_book *b, MDB_txn *txn, uint64_t *n)
{
    MDB_stat st;
    int rc = mdb_stat(txn, b->alerts, &st);
    *n = rc ? 0 : st.ms_entries;
    return rc;
}

int alerts_book_each(alerts_book *b, MDB_txn *txn, uint64_t after_number, int64_t clock_ms,
                     dd_arena *arena,
                     int (*fn)(void *arg, uint64_t number, Doudi__StoredAlert *a), void *arg)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, b->alerts, &c);
    if (rc)
        return rc;
    uint64_t from = after_number + 1;
    MDB_val k = dd_store_u64_key(&from), v;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        uint64_t number;
        memcpy(&number, k.mv_data, sizeof(number));
        alerts_schedule s;
        Doudi__StoredAlert *a = NULL;
        if ((rc = decode(b, txn, number, &v, arena, &a, &s)) != 0)
            break;
        alerts_book_view(a, &s, clock_ms, arena);
        if ((rc = fn(arg, number, a)) != 0)
            break;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static MDB_val str_key(const char *s)
{
    size_t n = strlen(s);
    MDB_val k = {n > 500 ? 500 : n, (void *)s};
    return k;
}

/* ---- unresolved alerts ------------------------------------------------------ */

int alerts_book_open_put(alerts_book *b, MDB_txn *txn, uint64_t number,
                         const alerts_open_entry *o)
{
    MDB_val k = dd_store_u64_key(&number), v = {sizeof(*o), (void *)o};
    return mdb_put(txn, b->open, &k, &v, 0);
}

int alerts_book_open_del(alerts_book *b, MDB_txn *txn, uint64_t number)
{
    MDB_val k = dd_store_u64_key(&number);
    return del_ok(mdb_del(txn, b->open, &k, NULL));
}

int alerts_book_open_each(alerts_book *b, MDB_txn *txn, uint64_t after_number,
                          int (*fn)(void *arg, uint64_t number, const alerts_open_entry *o),
                          void *arg)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, b->open, &c);
    if (rc)
        return rc;
    uint64_t from = after_number + 1;
    MDB_val k = dd_store_u64_key(&from), v;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        alerts_open_entry o;
        uint64_t number;
        if (v.mv_size != sizeof(o) || k.mv_size != sizeof(number)) {
            rc = DD_ECORRUPT;
            break;
        }
        memcpy(&o, v.mv_data, sizeof(o));
        memcpy(&number, k.mv_data, sizeof(number));
        if ((rc = fn(arg, number, &o)) != 0)
            break;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- the escalation schedule ------------------------------------------------ */

int alerts_book_schedule_each(alerts_book *b, MDB_txn *txn,
                              int (*fn)(void *arg, uint32_t class_id, uint64_t number,
                                        const alerts_schedule_entry *s),
                              void *arg)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, b->alerts, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (v.mv_size < sizeof(alerts_schedule) || k.mv_size != sizeof(uint64_t)) {
            rc = DD_ECORRUPT;
            break;
        }
        alerts_schedule h;
        memcpy(&h, v.mv_data, sizeof(h));
        if (!h.class_id || !h.scheduled)
            continue;
        uint64_t number;
        memcpy(&number, k.mv_data, sizeof(number));
        alerts_schedule_entry s = {0};
        s.first_deadline_ms = h.first_deadline_ms;
        memcpy(s.region, h.region, sizeof(s.region));
        s.kind = h.kind;
        s.severity = h.severity;
        if ((rc = fn(arg, h.class_id, number, &s)) != 0)
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int alerts_book_classes(alerts_book *b, MDB_txn *txn, alerts_class **classes, size_t *n)
{
    *classes = NULL;
    *n = 0;
    MDB_stat st;
    int rc = mdb_stat(txn, b->classes, &st);
    if (rc)
        return rc;
    if (st.ms_entries == 0)
        return 0;
    alerts_class *out = dd_calloc(st.ms_entries, sizeof(*out));
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(txn, b->classes, &c)) != 0) {
        free(out);
        return rc;
    }
    MDB_val k, v;
    size_t i = 0;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && i < st.ms_entries;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), i++) {
        uint32_t id;
        if (k.mv_size != sizeof(id) || v.mv_size != sizeof(alerts_class)) {
            rc = DD_ECORRUPT;
            break;
        }
        memcpy(&id, k.mv_data, sizeof(id));
        if (id != i + 1) {
            rc = DD_ECORRUPT; /* ids are given 1, 2, 3... */
            break;
        }
        memcpy(&out[i], v.mv_data, sizeof(alerts_class));
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND) {
        free(out);
        return rc;
    }
    *classes = out;
    *n = i;
    return 0;
}

int alerts_book_class_put(alerts_book *b, MDB_txn *txn, uint32_t class_id, const alerts_class *c)
{
    MDB_val k = {sizeof(class_id), &class_id}, v = {sizeof(*c), (void *)c};
    return mdb_put(txn, b->classes, &k, &v, 0);
}

/* ---- persons gone -------------------------------------------------------------- */

int alerts_book_gone_put(alerts_book *b, MDB_txn *txn, const char *person, int64_t at_ms)
{
    MDB_val k = str_key(person), v = {sizeof(at_ms), &at_ms};
    return mdb_put(txn, b->gone, &k, &v, 0);
}

int alerts_book_gone_del(alerts_book *b, MDB_txn *txn, const char *person)
{
    MDB_val k = str_key(person);
    return del_ok(mdb_del(txn, b->gone, &k, NULL));
}

bool alerts_book_is_gone(alerts_book *b, MDB_txn *txn, const char *person)
{
    if (!person[0])
        return false;
    MDB_val k = str_key(person), v;
    return mdb_get(txn, b->gone, &k, &v) == 0;
}

/* ---- timeliness --------------------------------------------------------------- */

/* "<'a' + digits><prefix>@<yyyymm as 6 digits>" (written by hand: a batch
 * writes tens of thousands of them). */
static size_t rate_key(char *key, const char *prefix, size_t digits, int32_t yyyymm)
{
    if (digits > 12)
        digits = 12;
    uint32_t month = yyyymm < 0 ? 0 : yyyymm > 999999 ? 999999 : (uint32_t)yyyymm;
    key[0] = (char)('a' + digits);
    memcpy(key + 1, prefix, digits);
    char *p = key + 1 + digits;
    *p++ = '@';
    for (int i = 5; i >= 0; i--, month /= 10)
        p[i] = (char)('0' + month % 10);
    p[6] = '\0';
    return 1 + digits + 7;
}

int alerts_book_rate_add(alerts_book *b, MDB_txn *txn, const char *prefix, size_t digits,
                         int32_t yyyymm, uint64_t due, uint64_t in_time)
{
    char key[32];
    MDB_val k = {rate_key(key, prefix, digits, yyyymm), key}, v;
    uint64_t val[2] = {0, 0};
    int rc = mdb_get(txn, b->rates, &k, &v);
    if (rc == 0 && v.mv_size == sizeof(val))
        memcpy(val, v.mv_data, sizeof(val));
    else if (rc && rc != MDB_NOTFOUND)
        return rc;
    val[0] += due;
    val[1] += in_time;
    v.mv_size = sizeof(val);
    v.mv_data = val;
    return mdb_put(txn, b->rates, &k, &v, 0);
}

int alerts_book_rate_get(alerts_book *b, MDB_txn *txn, const char *prefix, int32_t yyyymm,
                         uint64_t *due, uint64_t *in_time)
{
    *due = *in_time = 0;
    size_t digits = strlen(prefix);
    if (digits > 12)
        return DD_EPROTO;
    char key[32];
    size_t klen = rate_key(key, prefix, digits, yyyymm);
    if (!yyyymm)
        klen -= 6; /* every month: scan "<d><prefix>@" */
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, b->rates, &c);
    if (rc)
        return rc;
    MDB_val k = {klen, key}, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size >= klen && memcmp(k.mv_data, key, klen) == 0) {
        uint64_t val[2];
        if (v.mv_size == sizeof(val)) {
            memcpy(val, v.mv_data, sizeof(val));
            *due += val[0];
            *in_time += val[1];
        }
        if (yyyymm)
            break;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

int alerts_book_rate_each(alerts_book *b, MDB_txn *txn, size_t digits, int32_t yyyymm,
                          void (*fn)(void *arg, const char *prefix, uint64_t due,
                                     uint64_t in_time),
                          void *arg)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, b->rates, &c);
    if (rc)
        return rc;
    char first = (char)('a' + digits), month[8];
    snprintf(month, sizeof(month), "@%06d", (int)yyyymm);
    MDB_val k = {1, &first}, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && ((const char *)k.mv_data)[0] == first) {
        const char *kd = k.mv_data;
        if (k.mv_size == 1 + digits + 7 && memcmp(kd + 1 + digits, month, 7) == 0 &&
            v.mv_size == 16) {
            char prefix[13];
            memcpy(prefix, kd + 1, digits);
            prefix[digits] = '\0';
            uint64_t val[2];
            memcpy(val, v.mv_data, sizeof(val));
            fn(arg, prefix, val[0], val[1]);
        }
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

/* ---- silences -------------------------------------------------------------- */

int alerts_book_silence_put(alerts_book *b, MDB_txn *txn, const Doudi__Silence *s)
{
    size_t len = doudi__silence__get_packed_size(s);
    uint64_t id = s->id;
    MDB_val k = dd_store_u64_key(&id), v = {len, NULL};
    int rc = mdb_put(txn, b->silences, &k, &v, MDB_RESERVE);
    if (rc == 0)
        doudi__silence__pack(s, v.mv_data);
    return rc;
}

int alerts_book_silences(alerts_book *b, MDB_txn *txn, dd_arena *arena, Doudi__Silence ***out,
                         size_t *n)
{
    *out = NULL;
    *n = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, b->silences, &c);
    if (rc)
        return rc;
    MDB_stat st;
    mdb_stat(txn, b->silences, &st);
    *out = dd_arena_alloc(arena, (st.ms_entries + 1) * sizeof(void *));
    ProtobufCAllocator al = dd_arena_protobuf_allocator(arena);
    MDB_val k, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (rc == 0 && *n < st.ms_entries) {
        Doudi__Silence *s = doudi__silence__unpack(&al, v.mv_size, v.mv_data);
        if (s)
            (*out)[(*n)++] = s;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

int alerts_book_silences_expire(alerts_book *b, MDB_txn *txn, int64_t before_ms, size_t *deleted)
{
    size_t count = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, b->silences, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (rc == 0) {
        Doudi__Silence *s = doudi__silence__unpack(NULL, v.mv_size, v.mv_data);
        bool ended = !s || s->ends_at_ms < before_ms;
        if (s)
            doudi__silence__free_unpacked(s, NULL);
        if (ended) {
            if ((rc = mdb_cursor_del(c, 0)) != 0)
                break;
            count++;
        }
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (deleted)
        *deleted = count;
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

/* ---- meta ----------------------------------------------------------------- */

int64_t alerts_book_meta_get(alerts_book *b, MDB_txn *txn, const char *name)
{
    MDB_val k = str_key(name), v;
    int64_t value = 0;
    if (mdb_get(txn, b->meta, &k, &v) == 0 && v.mv_size == sizeof(value))
        memcpy(&value, v.mv_data, sizeof(value));
    return value;
}

int alerts_book_meta_put(alerts_book *b, MDB_txn *txn, const char *name, int64_t value)
{
    MDB_val k = str_key(name), v = {sizeof(value), &value};
    return mdb_put(txn, b->meta, &k, &v, 0);
}

int alerts_book_counts_get(alerts_book *b, MDB_txn *txn, alerts_counts *c)
{
    memset(c, 0, sizeof(*c));
    MDB_val k = str_key("counts"), v;
    int rc = mdb_get(txn, b->meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != sizeof(*c))
        return DD_ECORRUPT;
    memcpy(c, v.mv_data, sizeof(*c));
    return 0;
}

int alerts_book_counts_put(alerts_book *b, MDB_txn *txn, const alerts_counts *c)
{
    MDB_val k = str_key("counts"), v = {sizeof(*c), (void *)c};
    return mdb_put(txn, b->meta, &k, &v, 0);
}
