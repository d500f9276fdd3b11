/*
 * homecache.h: which household each person is in, in memory, so reading a
 * person costs one descent into the registry instead of two.
 *
 * A person's record is kept beside its household's (registry.h), and the
 * `person_index` database says which household that is. Every department
 * record that changes something reads the person, so the index was one
 * cold B-tree descent per changed record, a tenth of eligibility's time at
 * province size. This cache answers it from a table of 32-byte slots (the
 * person's 64-bit key and a household id of up to ELIG_HOMECACHE_ID_MAX
 * bytes; longer ids are never cached).
 *
 * It is only a cache of person_index: the registry puts what it reads from
 * the index or writes to it, a miss means reading the index, and an answer
 * that turns out wrong (two persons sharing a 64-bit key) is read again
 * from the index. What a transaction puts may not survive it, so the
 * registry empties the cache when a transaction aborts.
 */
#ifndef ELIG_HOMECACHE_H
#define ELIG_HOMECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELIG_HOMECACHE_ID_MAX 23

typedef struct elig_homecache elig_homecache;

/* A cache that grows up to about max_bytes (0: disabled, every get
 * misses), 32 bytes a person; at that size it starts over. */
elig_homecache *elig_homecache_new(size_t max_bytes);
void elig_homecache_destroy(elig_homecache **cache);

/* The household of the person (hl bytes at *household, valid until the
 * next put or clear), or false. */
bool elig_homecache_get(const elig_homecache *cache, const char *person_id, size_t pl,
                        const char **household, size_t *hl);

/* Records that person_index maps the person to household (hl bytes). */
void elig_homecache_put(elig_homecache *cache, const char *person_id, size_t pl,
                        const char *household, size_t hl);

/* Forgets everything. */
void elig_homecache_clear(elig_homecache *cache);

/* Persons held, and the memory the table takes. */
size_t elig_homecache_entries(const elig_homecache *cache);
size_t elig_homecache_bytes(const elig_homecache *cache);

#endif
