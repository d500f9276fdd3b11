/*
 * homecache.c: open addressing with linear probing over 32-byte slots (two
 * to a cache line), from dd_calloc_table. Entries are never deleted one by
 * one: a person whose household id is too long to cache keeps the slot
 * with no id (len NOT_CACHED), so probing needs no tombstones.
 */
#include "homecache.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

enum { NOT_CACHED = 0xff, INITIAL_CAPACITY = 1 << 14 };

typedef struct slot {
    uint64_t key; /* 0: empty */
    uint8_t len;  /* of household, or NOT_CACHED */
    char household[ELIG_HOMECACHE_ID_MAX];
} slot;

_Static_assert(sizeof(slot) == 32, "two slots a cache line");

struct elig_homecache {
    slot *slots;
    size_t capacity; /* a power of two, or 0 when disabled */
    size_t entries;
    size_t max_capacity;
};

static uint64_t key_of(const char *person_id, size_t pl)
{
    uint64_t k = XXH3_64bits(person_id, pl);
    return k ? k : 1;
}

static size_t find(const slot *slots, size_t capacity, uint64_t key)
{
    size_t mask = capacity - 1;
    size_t i = (size_t)(key ^ (key >> 31)) & mask;
    while (slots[i].key && slots[i].key != key)
        i = (i + 1) & mask;
    return i;
}

elig_homecache *elig_homecache_new(size_t max_bytes)
{
    elig_homecache *c = dd_calloc(1, sizeof(*c));
    size_t max_capacity = 0;
    while ((max_capacity ? max_capacity * 2 : INITIAL_CAPACITY) * sizeof(slot) <= max_bytes)
        max_capacity = max_capacity ? max_capacity * 2 : INITIAL_CAPACITY;
    c->max_capacity = max_capacity;
    if (max_capacity) {
        c->capacity = INITIAL_CAPACITY;
        c->slots = dd_calloc_table(c->capacity, sizeof(slot));
    }
    return c;
}

void elig_homecache_destroy(elig_homecache **cp)
{
    if (!cp || !*cp)
        return;
    free((*cp)->slots);
    free(*cp);
    *cp = NULL;
}

bool elig_homecache_get(const elig_homecache *c, const char *person_id, size_t pl,
                        const char **household, size_t *hl)
{
    if (!c->capacity)
        return false;
    uint64_t key = key_of(person_id, pl);
    const slot *s = &c->slots[find(c->slots, c->capacity, key)];
    if (s->key != key || s->len == NOT_CACHED)
        return false;
    *household = s->household;
    *hl = s->len;
    return true;
}

static void grow(elig_homecache *c)
{
    size_t capacity = c->capacity * 2;
    slot *slots = dd_calloc_table(capacity, sizeof(slot));
    for (size_t i = 0; i < c->capacity; i++)
        if (c->slots[i].key)
            slots[find(slots, capacity, c->slots[i].key)] = c->slots[i];
    free(c->slots);
    c->slots = slots;
    c->capacity = capacity;
}

void elig_homecache_put(elig_homecache *c, const char *person_id, size_t pl,
                        const char *household, size_t hl)
{
    if (!c->capacity)
        return;
    uint64_t key = key_of(person_id, pl);
    slot *s = &c->slots[find(c->slots, c->capacity, key)];
    if (s->key != key) {
        /* Past 3/4 full probes get long: grow, or at the limit start over. */
        if ((c->entries + 1) * 4 >= c->capacity * 3) {
            if (c->capacity < c->max_capacity)
                grow(c);
            else
                elig_homecache_clear(c);
            s = &c->slots[find(c->slots, c->capacity, key)];
        }
        s->key = key;
        c->entries++;
    }
    if (hl > ELIG_HOMECACHE_ID_MAX) {
        s->len = NOT_CACHED;
        return;
    }
    s->len = (uint8_t)hl;
    memcpy(s->household, household, hl);
}

void elig_homecache_clear(elig_homecache *c)
{
    if (c->capacity)
        memset(c->slots, 0, c->capacity * sizeof(slot));
    c->entries = 0;
}

size_t elig_homecache_entries(const elig_homecache *c)
{
    return c->entries;
}

size_t elig_homecache_bytes(const elig_homecache *c)
{
    return c->capacity * sizeof(slot);
}
