/*
 * factcache.h: what the registry already knows from the departments, in
 * memory, so a comparison record that repeats it costs no LMDB read.
 *
 * Most of a month's department comparison records (domain.md §7: ~32
 * million, ~95 % of them changing nothing) say again what the registry
 * holds. The cache maps a person to a 64-bit hash of each kind of finding
 * (1..ELIG_FACT_KINDS - 1) as last applied to the registry, all in one
 * 64-byte slot: a record is checked with one memory access, and a person
 * read from the registry is remembered with one. The engine asks it
 * before reading the person and treats a record whose every finding
 * matches as "changed nothing".
 *
 * It is only a cache: an entry is added after the engine compared (or
 * stored) the value against the registry itself, a missing entry only
 * means the slow path, and the whole table may be dropped at any time
 * (when a batch aborts, since entries written during it may describe
 * uncommitted state, or when it reaches its size limit).
 *
 * Keys and values are 64-bit hashes: a wrong "same" needs two persons to
 * share a 64-bit key, or two different values of the same person and kind
 * to share a 64-bit hash.
 */
#ifndef ELIG_FACTCACHE_H
#define ELIG_FACTCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kinds of finding are 1 to ELIG_FACT_KINDS - 1. */
#define ELIG_FACT_KINDS 8

typedef struct elig_factcache elig_factcache;

/*
 * A cache that grows up to about max_bytes (0: disabled, every lookup
 * misses), 64 bytes a person. Never fails: memory exhaustion aborts like
 * every allocation.
 */
elig_factcache *elig_factcache_new(size_t max_bytes);
void elig_factcache_destroy(elig_factcache **cache);

/* The key of a person. */
uint64_t elig_factcache_key(const char *person_id);
/* The same key from the id's len bytes (no NUL among them), not terminated. */
uint64_t elig_factcache_key_bytes(const char *person_id, size_t len);

/* Whether the person's finding of this kind is cached with exactly this
 * value hash (never for 0). */
bool elig_factcache_same(const elig_factcache *cache, uint64_t key, unsigned kind, uint64_t value);

/*
 * Whether every finding the record has (value[k] != 0, at least one) is
 * cached with exactly that hash. The one call another thread may make while
 * the cache is written (screen.h): it reads word by word, so a slot being
 * written meanwhile may answer with a mix of old and new values; the
 * caller must not trust an answer about a person written since it asked.
 * Never while the table grows or is dropped (elig_factcache_full).
 */
bool elig_factcache_known(const elig_factcache *cache, uint64_t key,
                          const uint64_t value[ELIG_FACT_KINDS]);

/* Whether putting a person not cached yet would grow or drop the table,
 * moving every slot: readers on other threads must be stopped first. */
bool elig_factcache_full(const elig_factcache *cache);

/* Starts fetching the person's slot and the two after it (where a lookup
 * that probes on finds it) from memory, to be looked up shortly. */
void elig_factcache_prefetch(const elig_factcache *cache, uint64_t key);

/* Records that the registry now holds value[k] for every kind k of the
 * person (0: not known; value[0] is not used). */
void elig_factcache_put(elig_factcache *cache, uint64_t key, const uint64_t value[ELIG_FACT_KINDS]);

/* Forgets what the person's findings are (the next lookup misses). */
void elig_factcache_forget(elig_factcache *cache, uint64_t key);

/* Forgets everything. */
void elig_factcache_clear(elig_factcache *cache);

typedef struct elig_factcache_stats {
    uint64_t entries;    /* persons */
    uint64_t capacity;   /* slots allocated, one a person */
    uint64_t bytes;
    uint64_t resets;     /* times the table was dropped at its size limit */
} elig_factcache_stats;

void elig_factcache_stats_get(const elig_factcache *cache, elig_factcache_stats *out);

#endif
