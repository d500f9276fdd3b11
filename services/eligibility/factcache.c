/*
 * factcache.c: open addressing with linear probing over 64-byte slots, one
 * a person, aligned to cache lines (the table is from dd_calloc_table).
 *
 * Entries are never deleted one by one (a forgotten person keeps the slot
 * with every value 0, which no lookup matches, and the whole table is
 * dropped when it must be), so probing needs no tombstones. Key 0 marks an
 * empty slot; a real key of 0 is stored as 1.
 *
 * The screening thread reads slots while the engine writes them: both go
 * word by word through relaxed atomics (a torn slot is harmless, see
 * factcache.h), and the table itself only moves when no one reads it.
 */
#include "factcache.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

typedef struct slot {
    uint64_t key;
    uint64_t value[ELIG_FACT_KINDS - 1]; /* kind k at value[k - 1] */
} slot;

_Static_assert(sizeof(slot) == 64, "a slot is one cache line");

struct elig_factcache {
    slot *slots;
    size_t capacity; /* a power of two, or 0 when disabled */
    size_t entries;
    size_t max_capacity;
    uint64_t resets;
};

enum { INITIAL_CAPACITY = 1 << 14 };

/* Every lookup is a random access into a table of up to a gigabyte. */
static slot *slots_new(size_t capacity)
{
    return dd_calloc_table(capacity, sizeof(slot));
}

/* Grow (or drop, at the limit) past 3/4 full: probes stay short. */
static bool too_full(size_t entries, size_t capacity)
{
    return entries * 4 >= capacity * 3;
}

elig_factcache *elig_factcache_new(size_t max_bytes)
{
    elig_factcache *c = dd_calloc(1, sizeof(*c));
    size_t max_capacity = 0;
    while ((max_capacity ? max_capacity * 2 : INITIAL_CAPACITY) * sizeof(slot) <= max_bytes)
        max_capacity = max_capacity ? max_capacity * 2 : INITIAL_CAPACITY;
    c->max_capacity = max_capacity;
    if (max_capacity) {
        c->capacity = INITIAL_CAPACITY;
        c->slots = slots_new(c->capacity);
    }
    return c;
}

void elig_factcache_destroy(elig_factcache **cp)
{
    if (!cp || !*cp)
        return;
    free((*cp)->slots);
    free(*cp);
    *cp = NULL;
}

uint64_t elig_factcache_key_bytes(const char *person_id, size_t len)
{
    uint64_t k = XXH3_64bits(person_id, len);
    return k ? k : 1;
}

uint64_t elig_factcache_key(const char *person_id)
{
    return elig_factcache_key_bytes(person_id, strlen(person_id));
}

static inline size_t home_of(uint64_t key, size_t capacity)
{
    return (size_t)(key ^ (key >> 29)) & (capacity - 1);
}

static size_t find(const slot *slots, size_t capacity, uint64_t key)
{
    size_t mask = capacity - 1;
    size_t i = home_of(key, capacity);
    while (slots[i].key && slots[i].key != key)
        i = (i + 1) & mask;
    return i;
}

static inline uint64_t load(const uint64_t *word)
{
    return __atomic_load_n(word, __ATOMIC_RELAXED);
}

static inline void store(uint64_t *word, uint64_t v)
{
    __atomic_store_n(word, v, __ATOMIC_RELAXED);
}

bool elig_factcache_same(const elig_factcache *c, uint64_t key, unsigned kind, uint64_t value)
{
    if (!c->capacity || kind == 0 || kind >= ELIG_FACT_KINDS || value == 0)
        return false;
    const slot *s = &c->slots[find(c->slots, c->capacity, key)];
    return s->key == key && s->value[kind - 1] == value;
}

bool elig_factcache_known(const elig_factcache *c, uint64_t key,
                          const uint64_t value[ELIG_FACT_KINDS])
{
    if (!c->capacity)
        return false;
    size_t mask = c->capacity - 1;
    const slot *s;
    for (size_t i = home_of(key, c->capacity);; i = (i + 1) & mask) {
        s = &c->slots[i];
        uint64_t k = load(&s->key);
        if (k == key)
            break;
        if (k == 0)
            return false;
    }
    bool any = false;
    for (unsigned kind = 1; kind < ELIG_FACT_KINDS; kind++) {
        if (!value[kind])
            continue;
        if (load(&s->value[kind - 1]) != value[kind])
            return false;
        any = true;
    }
    return any;
}

bool elig_factcache_full(const elig_factcache *c)
{
    return c->capacity && too_full(c->entries + 1, c->capacity);
}

/* Slots a prefetch fetches, from the home slot on: the table grows at three
 * quarters full, where a hit takes 2.4 probes on average (linear probing,
 * 0.5 (1 + 1 / (1 - 3/4))), each slot a cache line of its own. With the home
 * slot alone fetched, the lines after it missed as the lookup reached them
 * (6.5 % of eligibility's samples, nearly all on the key compare). */
enum { PREFETCH_SLOTS = 3 };

void elig_factcache_prefetch(const elig_factcache *c, uint64_t key)
{
    if (!c->capacity)
        return;
    size_t mask = c->capacity - 1;
    size_t home = home_of(key, c->capacity);
    for (size_t i = 0; i < PREFETCH_SLOTS; i++)
        __builtin_prefetch(&c->slots[(home + i) & mask]);
}

static void grow(elig_factcache *c)
{
    size_t capacity = c->capacity * 2;
    slot *slots = slots_new(capacity);
    for (size_t i = 0; i < c->capacity; i++)
        if (c->slots[i].key)
            slots[find(slots, capacity, c->slots[i].key)] = c->slots[i];
    free(c->slots);
    c->slots = slots;
    c->capacity = capacity;
}

void elig_factcache_put(elig_factcache *c, uint64_t key, const uint64_t value[ELIG_FACT_KINDS])
{
    if (!c->capacity)
        return;
    slot *s = &c->slots[find(c->slots, c->capacity, key)];
    if (s->key != key) {
        if (too_full(c->entries + 1, c->capacity)) {
            if (c->capacity < c->max_capacity) {
                grow(c);
            } else {
                /* At the limit a full table would only get slower; starting
                 * over costs one slow lookup per person seen again. */
                elig_factcache_clear(c);
                c->resets++;
            }
            s = &c->slots[find(c->slots, c->capacity, key)];
        }
        store(&s->key, key);
        c->entries++;
    }
    for (unsigned kind = 1; kind < ELIG_FACT_KINDS; kind++)
        store(&s->value[kind - 1], value[kind]);
}

void elig_factcache_forget(elig_factcache *c, uint64_t key)
{
    if (!c->capacity)
        return;
    slot *s = &c->slots[find(c->slots, c->capacity, key)];
    /* The slot stays (probing needs it); no value hash is 0, so no lookup
     * can match it until it is put again. */
    if (s->key == key)
        for (unsigned kind = 1; kind < ELIG_FACT_KINDS; kind++)
            store(&s->value[kind - 1], 0);
}

void elig_factcache_clear(elig_factcache *c)
{
    if (c->capacity)
        memset(c->slots, 0, c->capacity * sizeof(slot));
    c->entries = 0;
}

void elig_factcache_stats_get(const elig_factcache *c, elig_factcache_stats *out)
{
    out->entries = c->entries;
    out->capacity = c->capacity;
    out->bytes = c->capacity * sizeof(slot);
    out->resets = c->resets;
}
