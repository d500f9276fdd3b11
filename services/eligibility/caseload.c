/* caseload.c: per-county program counts (see caseload.h). */
#include "caseload.h"

#include "alloc.h"
#include "error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A household read, changed and written touches its own entry a moment
 * later; a move touches two households. */
#define REMEMBERED 8
#define ROW_KEY 7 /* six county digits, the program byte */

typedef struct pending_row {
    uint32_t key; /* county number * ELIG_PROGRAMS + program, plus 1; 0: empty */
    int64_t eligible, households, enrolled, amount_fen;
} pending_row;

struct elig_caseload {
    MDB_dbi dbi;
    pending_row *rows;
    size_t mask, used;
    struct {
        char id[65];
        elig_tally tally;
    } remembered[REMEMBERED];
    size_t next_remembered;
};

elig_caseload *elig_caseload_new(MDB_dbi dbi)
{
    elig_caseload *c = dd_calloc(1, sizeof(*c));
    c->dbi = dbi;
    c->mask = 255;
    c->rows = dd_calloc(c->mask + 1, sizeof(*c->rows));
    return c;
}

void elig_caseload_destroy(elig_caseload **c)
{
    if (!*c)
        return;
    free((*c)->rows);
    free(*c);
    *c = NULL;
}

void elig_caseload_tally(const Doudi__StoredHousehold *h, elig_tally *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->county, "000000", 7);
    if (!h)
        return;
    const char *region = h->region_code ? h->region_code : "";
    if (strlen(region) >= 6 && strspn(region, "0123456789") >= 6)
        memcpy(out->county, region, 6);
    bool household_amount_counted[ELIG_PROGRAMS] = {false};
    for (size_t i = 0; i < h->n_members; i++) {
        const Doudi__MemberSummaries *m = h->members[i];
        for (size_t j = 0; j < m->n_decisions; j++) {
            const Doudi__DecisionSummary *s = m->decisions[j];
            unsigned p = (unsigned)s->program;
            if (p == 0 || p >= ELIG_PROGRAMS)
                continue;
            if (s->eligible) {
                out->eligible[p]++;
                out->households[p] = 1;
                /* A household's amount repeats in each member's summary. */
                if (!s->amount_per_household)
                    out->amount_fen[p] += s->amount_fen;
                else if (!household_amount_counted[p])
                    out->amount_fen[p] += s->amount_fen;
                household_amount_counted[p] |= s->amount_per_household;
            }
            if (s->enrolled)
                out->enrolled[p]++;
        }
    }
}

static uint32_t county_number(const char county[7])
{
    uint32_t n = 0;
    for (int i = 0; i < 6; i++)
        n = n * 10 + (uint32_t)(county[i] - '0');
    return n;
}

static pending_row *slot(elig_caseload *c, uint32_t key)
{
    size_t i = (key * UINT32_C(2654435761)) & c->mask;
    while (c->rows[i].key && c->rows[i].key != key)
        i = (i + 1) & c->mask;
    return &c->rows[i];
}

static void grow(elig_caseload *c)
{
    pending_row *old = c->rows;
    size_t n = c->mask + 1;
    c->mask = 2 * n - 1;
    c->rows = dd_calloc(2 * n, sizeof(*c->rows));
    for (size_t i = 0; i < n; i++)
        if (old[i].key)
            *slot(c, old[i].key) = old[i];
    free(old);
}

static void add(elig_caseload *c, const elig_tally *t, unsigned p, int sign)
{
    if (!t->eligible[p] && !t->households[p] && !t->enrolled[p] && !t->amount_fen[p])
        return;
    if (4 * (c->used + 1) > 3 * (c->mask + 1))
        grow(c);
    uint32_t key = county_number(t->county) * ELIG_PROGRAMS + p + 1;
    pending_row *r = slot(c, key);
    if (!r->key) {
        r->key = key;
        c->used++;
    }
    r->eligible += sign * (int64_t)t->eligible[p];
    r->households += sign * (int64_t)t->households[p];
    r->enrolled += sign * (int64_t)t->enrolled[p];
    r->amount_fen += sign * t->amount_fen[p];
}

void elig_caseload_change(elig_caseload *c, const elig_tally *before, const elig_tally *after)
{
    if (memcmp(before, after, sizeof(*before)) == 0)
        return;
    for (unsigned p = 1; p < ELIG_PROGRAMS; p++) {
        add(c, before, p, -1);
        add(c, after, p, +1);
    }
}

void elig_caseload_remember(elig_caseload *c, const char *household_id, const elig_tally *t)
{
    if (strlen(household_id) >= sizeof(c->remembered[0].id))
        return;
    size_t k = REMEMBERED;
    for (size_t i = 0; i < REMEMBERED; i++)
        if (strcmp(c->remembered[i].id, household_id) == 0)
            k = i;
    if (k == REMEMBERED) {
        k = c->next_remembered;
        c->next_remembered = (k + 1) % REMEMBERED;
        strcpy(c->remembered[k].id, household_id);
    }
    c->remembered[k].tally = *t;
}

bool elig_caseload_recall(const elig_caseload *c, const char *household_id, elig_tally *out)
{
    if (!household_id[0])
        return false;
    for (size_t i = 0; i < REMEMBERED; i++)
        if (strcmp(c->remembered[i].id, household_id) == 0) {
            *out = c->remembered[i].tally;
            return true;
        }
    return false;
}

static void row_key(uint8_t key[ROW_KEY], uint32_t county, unsigned program)
{
    for (int i = 5; i >= 0; i--) {
        key[i] = (uint8_t)('0' + county % 10);
        county /= 10;
    }
    key[6] = (uint8_t)program;
}

int elig_caseload_flush(elig_caseload *c, MDB_txn *txn)
{
    int rc = 0;
    for (size_t i = 0; i <= c->mask && rc == 0; i++) {
        pending_row *r = &c->rows[i];
        if (!r->key || (!r->eligible && !r->households && !r->enrolled && !r->amount_fen))
            continue;
        uint8_t key[ROW_KEY];
        row_key(key, (r->key - 1) / ELIG_PROGRAMS, (r->key - 1) % ELIG_PROGRAMS);
        MDB_val k = {ROW_KEY, key}, v;
        int64_t counts[4] = {0, 0, 0, 0};
        rc = mdb_get(txn, c->dbi, &k, &v);
        if (rc == 0 && v.mv_size == sizeof(counts))
            memcpy(counts, v.mv_data, sizeof(counts));
        else if (rc == 0)
            rc = DD_ECORRUPT;
        else if (rc == MDB_NOTFOUND)
            rc = 0;
        if (rc)
            break;
        counts[0] += r->eligible;
        counts[1] += r->households;
        counts[2] += r->enrolled;
        counts[3] += r->amount_fen;
        if (counts[0] || counts[1] || counts[2] || counts[3]) {
            v.mv_size = sizeof(counts);
            v.mv_data = counts;
            rc = mdb_put(txn, c->dbi, &k, &v, 0);
        } else {
            rc = mdb_del(txn, c->dbi, &k, NULL);
        }
    }
    if (rc == 0) {
        memset(c->rows, 0, (c->mask + 1) * sizeof(*c->rows));
        c->used = 0;
    }
    return rc;
}

bool elig_caseload_pending(const elig_caseload *c) { return c->used != 0; }

void elig_caseload_forget(elig_caseload *c)
{
    memset(c->rows, 0, (c->mask + 1) * sizeof(*c->rows));
    c->used = 0;
    memset(c->remembered, 0, sizeof(c->remembered));
    c->next_remembered = 0;
}

int elig_caseload_clear(elig_caseload *c, MDB_txn *txn)
{
    elig_caseload_forget(c);
    return mdb_drop(txn, c->dbi, 0);
}

int elig_caseload_each(const elig_caseload *c, MDB_txn *txn, const char *prefix,
                       int (*fn)(void *arg, const elig_caseload_row *row), void *arg)
{
    size_t pl = strlen(prefix);
    if (pl > 6)
        return -EINVAL;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, c->dbi, &cur);
    if (rc)
        return rc;
    MDB_val k = {pl, (void *)prefix}, v;
    MDB_cursor_op op = pl ? MDB_SET_RANGE : MDB_FIRST;
    while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        op = MDB_NEXT;
        if (k.mv_size != ROW_KEY || v.mv_size != 4 * sizeof(int64_t)) {
            rc = DD_ECORRUPT;
            break;
        }
        if (memcmp(k.mv_data, prefix, pl) != 0)
            break;
        elig_caseload_row row;
        memcpy(row.county, k.mv_data, 6);
        row.county[6] = '\0';
        row.program = (Doudi__Program)((const uint8_t *)k.mv_data)[6];
        int64_t counts[4];
        memcpy(counts, v.mv_data, sizeof(counts));
        row.eligible = (uint64_t)counts[0];
        row.households = (uint64_t)counts[1];
        row.enrolled = (uint64_t)counts[2];
        row.amount_fen = counts[3];
        if ((rc = fn(arg, &row)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}
