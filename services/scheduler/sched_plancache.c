/* sched_plancache.c: copies of the plans tree's values (see sched_plancache.h). */
#include "sched_plancache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

typedef struct slot {
    uint64_t hash;  /* 0: empty */
    uint64_t check; /* the other half of the key's 128-bit hash */
    uint8_t *copy;  /* length and capacity (4 bytes each), then the value; NULL: none */
} slot;

struct sched_plancache {
    slot *slots;
    size_t cap, used, count;
    dd_arena *copies;
    size_t max_bytes, garbage;
    bool complete;
};

static void hash_key(const void *key, size_t klen, uint64_t *hash, uint64_t *check)
{
    XXH128_hash_t h = XXH3_128bits(key, klen);
    *hash = h.low64 ? h.low64 : 1; /* 0 marks an empty slot */
    *check = h.high64;
}

static slot *find(const sched_plancache *c, uint64_t hash, uint64_t check)
{
    size_t mask = c->cap - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        slot *s = &c->slots[i];
        if (!s->hash || (s->hash == hash && s->check == check))
            return s;
    }
}

sched_plancache *sched_plancache_new(size_t max_bytes)
{
    sched_plancache *c = dd_calloc(1, sizeof(*c));
    c->cap = 1024;
    c->slots = dd_calloc_table(c->cap, sizeof(slot));
    c->copies = dd_arena_new(1 << 20);
    c->max_bytes = max_bytes;
    return c;
}

void sched_plancache_destroy(sched_plancache **c)
{
    if (!c || !*c)
        return;
    free((*c)->slots);
    dd_arena_destroy(&(*c)->copies);
    free(*c);
    *c = NULL;
}

void sched_plancache_clear(sched_plancache *c)
{
    memset(c->slots, 0, c->cap * sizeof(slot));
    c->used = c->count = c->garbage = 0;
    c->complete = false;
    dd_arena_reset(c->copies);
}

static void grow(sched_plancache *c)
{
    slot *old = c->slots;
    size_t old_cap = c->cap;
    c->cap *= 2;
    c->slots = dd_calloc_table(c->cap, sizeof(slot));
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].hash)
            *find(c, old[i].hash, old[i].check) = old[i];
    free(old);
}

enum { COPY_HEADER = 2 * sizeof(uint32_t) };

static size_t copy_len(const uint8_t *copy)
{
    uint32_t len;
    memcpy(&len, copy, sizeof(len));
    return len;
}

static size_t copy_cap(const uint8_t *copy)
{
    uint32_t cap;
    memcpy(&cap, copy + sizeof(uint32_t), sizeof(cap));
    return cap;
}

/* Room for a value of len bytes and some growth: a plan's next version is
 * often a few bytes longer (a visit recorded, a varint grown), and one that
 * fits is written over the old copy instead of leaving it as garbage,
 * which the cache can only shed by copying the whole tree again. */
static size_t cap_for(size_t len) { return (len + len / 8 + 16 + 15) & ~(size_t)15; }

/* Drops s's copy (its bytes become garbage). */
static void forget(sched_plancache *c, slot *s)
{
    if (!s->copy)
        return;
    c->garbage += COPY_HEADER + copy_cap(s->copy);
    s->copy = NULL;
    c->count--;
}

bool sched_plancache_put(sched_plancache *c, const void *key, size_t klen, const void *value,
                         size_t len)
{
    uint64_t hash, check;
    hash_key(key, klen, &hash, &check);
    slot *s = find(c, hash, check);
    if (s->hash && s->copy && len <= copy_cap(s->copy)) {
        uint32_t len32 = (uint32_t)len; /* in place: no garbage */
        memcpy(s->copy, &len32, sizeof(len32));
        if (len)
            memcpy(s->copy + COPY_HEADER, value, len);
        return true;
    }
    if (s->hash)
        forget(c, s);
    size_t cap = cap_for(len);
    if (cap > UINT32_MAX || dd_arena_used(c->copies) + COPY_HEADER + cap > c->max_bytes) {
        c->complete = false;
        return false;
    }
    if (!s->hash) {
        if (10 * (c->used + 1) > 7 * c->cap) {
            grow(c);
            s = find(c, hash, check);
        }
        s->hash = hash;
        s->check = check;
        c->used++;
    }
    uint8_t *copy = dd_arena_alloc(c->copies, COPY_HEADER + cap);
    uint32_t len32 = (uint32_t)len, cap32 = (uint32_t)cap;
    memcpy(copy, &len32, sizeof(len32));
    memcpy(copy + sizeof(len32), &cap32, sizeof(cap32));
    if (len)
        memcpy(copy + COPY_HEADER, value, len);
    s->copy = copy;
    c->count++;
    return true;
}

void sched_plancache_del(sched_plancache *c, const void *key, size_t klen)
{
    uint64_t hash, check;
    hash_key(key, klen, &hash, &check);
    slot *s = find(c, hash, check);
    if (s->hash)
        forget(c, s);
}

bool sched_plancache_get(const sched_plancache *c, const void *key, size_t klen, MDB_val *value)
{
    uint64_t hash, check;
    hash_key(key, klen, &hash, &check);
    const slot *s = find(c, hash, check);
    if (!s->hash || !s->copy)
        return false;
    value->mv_size = copy_len(s->copy);
    value->mv_data = s->copy + COPY_HEADER;
    return true;
}

void sched_plancache_set_complete(sched_plancache *c) { c->complete = true; }

bool sched_plancache_complete(const sched_plancache *c) { return c->complete; }

void sched_plancache_prefetch(const sched_plancache *c, const void *key, size_t klen)
{
    uint64_t hash, check;
    hash_key(key, klen, &hash, &check);
    __builtin_prefetch(&c->slots[(size_t)hash & (c->cap - 1)]);
}

size_t sched_plancache_count(const sched_plancache *c) { return c->count; }

size_t sched_plancache_bytes(const sched_plancache *c)
{
    return dd_arena_used(c->copies) + c->cap * sizeof(slot);
}

size_t sched_plancache_garbage(const sched_plancache *c) { return c->garbage; }
