/*
 * sched_plancache.h: the plans tree's values in memory.
 *
 * Every visit report and every due entry the sweep passes reads a plan;
 * read from the plans tree, each read descended four levels of pages that
 * had gone cold (a quarter of the scheduler's CPU in a province-month). The
 * cache holds a copy of what the tree holds for each person, filled from
 * the tree at start-up and on a miss, and kept equal to it by the plan
 * journal's fold hook (the only writer of the tree). A plan written since
 * the last fold is in the journal, which is asked first (sched_plandb.c).
 *
 * Keys are found by their 128-bit hash (like the journal's index). Each
 * copy has room to grow by an eighth and 16 bytes, and a new value that
 * fits is written over it; a longer one leaves the old copy's bytes behind
 * until the cache is filled again (sched_plancache_garbage says how many). Past max_bytes nothing
 * more is copied: the cache then holds part of the tree, and misses are
 * read from it. Not thread-safe.
 */
#ifndef SCHED_PLANCACHE_H
#define SCHED_PLANCACHE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct sched_plancache sched_plancache;

sched_plancache *sched_plancache_new(size_t max_bytes);
/* Accepts NULL; nulls *c. */
void sched_plancache_destroy(sched_plancache **c);
/* Forgets every copy. */
void sched_plancache_clear(sched_plancache *c);

/* Copies value as key's (replacing any copy). False when the cache is full:
 * then it holds no copy of key at all. */
bool sched_plancache_put(sched_plancache *c, const void *key, size_t klen, const void *value,
                         size_t len);
/* Forgets key's copy. */
void sched_plancache_del(sched_plancache *c, const void *key, size_t klen);
/* True with *value set to key's copy (valid until the next put or clear). */
bool sched_plancache_get(const sched_plancache *c, const void *key, size_t klen,
                         MDB_val *value);

/*
 * Whether the cache holds a copy of every key of the tree, so that a key
 * it lacks is not in the tree either (most alerts the scheduler passes on
 * are about persons without a plan, and looking for each in the tree
 * descended it: 7 % of the scheduler's samples). The filler says so once
 * it has copied the whole tree; a clear and a put refused for want of room
 * say otherwise until the next fill.
 */
void sched_plancache_set_complete(sched_plancache *c);
bool sched_plancache_complete(const sched_plancache *c);

/* Starts fetching key's slot into the CPU's caches, so that a get of it
 * soon after waits less; changes nothing. */
void sched_plancache_prefetch(const sched_plancache *c, const void *key, size_t klen);

/* Keys with a copy. */
size_t sched_plancache_count(const sched_plancache *c);
/* Memory held, and how much of it replaced copies left behind. */
size_t sched_plancache_bytes(const sched_plancache *c);
size_t sched_plancache_garbage(const sched_plancache *c);

#endif
