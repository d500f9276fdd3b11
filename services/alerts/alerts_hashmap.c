/* alerts_hashmap.c: open addressing, linear probing (see alerts_hashmap.h). */
#include "alerts_hashmap.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY 0
#define REMOVED UINT64_MAX

/* Spreads every bit of a hash over the low bits the slot index uses
 * (callers' hashes need not be uniform in those). */
static size_t home(uint64_t hash, size_t cap)
{
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdULL;
    hash ^= hash >> 33;
    return (size_t)hash & (cap - 1);
}

typedef struct slot {
    uint64_t hash, number;
} slot;

struct alerts_hashmap {
    slot *slots;
    size_t cap;  /* a power of two */
    size_t used; /* held and removed slots: what makes probing long */
    size_t held;
    /* The table a rehash at the same size left behind, kept for the next
     * one: a table of this size comes from mmap, and a fresh one faulted in
     * every page again (a tenth of doudi-alerts' samples at times). */
    slot *spare;
    size_t spare_cap;
};

alerts_hashmap *alerts_hashmap_new(void)
{
    alerts_hashmap *m = dd_calloc(1, sizeof(*m));
    m->cap = 1024;
    m->slots = dd_calloc(m->cap, sizeof(slot));
    return m;
}

void alerts_hashmap_destroy(alerts_hashmap **mp)
{
    if (!mp || !*mp)
        return;
    free((*mp)->slots);
    free((*mp)->spare);
    free(*mp);
    *mp = NULL;
}

void alerts_hashmap_clear(alerts_hashmap *m)
{
    memset(m->slots, 0, m->cap * sizeof(slot));
    m->used = m->held = 0;
}

static void put(slot *slots, size_t cap, uint64_t hash, uint64_t number)
{
    size_t i = home(hash, cap);
    while (slots[i].number != EMPTY)
        i = (i + 1) & (cap - 1);
    slots[i].hash = hash;
    slots[i].number = number;
}

static void resize(alerts_hashmap *m, size_t cap)
{
    slot *slots;
    if (m->spare && m->spare_cap == cap) {
        slots = m->spare;
        memset(slots, 0, cap * sizeof(slot));
    } else {
        free(m->spare);
        slots = dd_calloc(cap, sizeof(slot));
    }
    m->spare = NULL;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].number != EMPTY && m->slots[i].number != REMOVED)
            put(slots, cap, m->slots[i].hash, m->slots[i].number);
    if (m->cap == cap) {
        m->spare = m->slots; /* removals fill the table again at this size */
        m->spare_cap = cap;
    } else {
        free(m->slots);
    }
    m->slots = slots;
    m->cap = cap;
    m->used = m->held;
}

void alerts_hashmap_add(alerts_hashmap *m, uint64_t hash, uint64_t number)
{
    if ((m->used + 1) * 2 > m->cap)
        resize(m, m->held * 4 > m->cap ? m->cap * 2 : m->cap);
    put(m->slots, m->cap, hash, number);
    m->used++;
    m->held++;
}

bool alerts_hashmap_remove(alerts_hashmap *m, uint64_t hash, uint64_t number)
{
    for (size_t i = home(hash, m->cap); m->slots[i].number != EMPTY;
         i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].hash == hash && m->slots[i].number == number) {
            m->slots[i].number = REMOVED;
            m->held--;
            return true;
        }
    }
    return false;
}

int alerts_hashmap_each(const alerts_hashmap *m, uint64_t hash,
                        int (*fn)(void *arg, uint64_t number), void *arg)
{
    for (size_t i = home(hash, m->cap); m->slots[i].number != EMPTY;
         i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].hash == hash && m->slots[i].number != REMOVED) {
            int rc = fn(arg, m->slots[i].number);
            if (rc)
                return rc;
        }
    }
    return 0;
}

size_t alerts_hashmap_count(const alerts_hashmap *m)
{
    return m->held;
}
