/*
 * alerts_hashmap.h: a 64-bit hash -> alert number multimap in memory, for the
 * two lookups the engine makes on every raise and every death (the dedup key
 * of an unresolved alert; a person's unresolved overdue-visit alerts).
 *
 * These were LMDB indexes keyed by the dedup key and the person: every raise
 * inserted at a random place of two trees of millions of entries, which
 * dirtied a page each, and a batch wrote most of both trees again. The
 * engine now keeps the pairs here and rebuilds them from the book's `open`
 * database (alerts_book.h) whenever they may differ from what is committed
 * (at start-up, after an aborted batch): they are a cache of committed
 * state, never the only copy.
 *
 * A hash is not the key: callers check the alert a number names. Several
 * numbers may share a hash; a pair is removed exactly. Numbers are never 0.
 */
#ifndef ALERTS_HASHMAP_H
#define ALERTS_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct alerts_hashmap alerts_hashmap;

alerts_hashmap *alerts_hashmap_new(void);
void alerts_hashmap_destroy(alerts_hashmap **map);
/* Forgets every pair (keeps the memory). */
void alerts_hashmap_clear(alerts_hashmap *map);
/* Adds the pair (hash, number); number must not be 0. */
void alerts_hashmap_add(alerts_hashmap *map, uint64_t hash, uint64_t number);
/* Removes the pair if held; returns whether it was. */
bool alerts_hashmap_remove(alerts_hashmap *map, uint64_t hash, uint64_t number);
/*
 * Calls fn(arg, number) for each number held under hash (in no particular
 * order) until fn returns non-zero; returns that value or 0.
 */
int alerts_hashmap_each(const alerts_hashmap *map, uint64_t hash,
                        int (*fn)(void *arg, uint64_t number), void *arg);
size_t alerts_hashmap_count(const alerts_hashmap *map);

#endif
