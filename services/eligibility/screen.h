/*
 * screen.h: a second thread that decodes the next chunk of intake records
 * while the engine applies the current one, and says which comparison
 * records repeat what the fact cache holds.
 *
 * Most of a month's records are department comparisons that change nothing
 * (domain.md §7). Decoding them and looking each person up in the fact cache
 * (a random access into up to a gigabyte) was a third of eligibility's one
 * thread; on the second core it overlaps with the registry work of the
 * records that do change something.
 *
 * The thread only reads: it decodes into its own arena and reads the fact
 * cache (factcache.h: elig_factcache_known), while the engine alone writes
 * the registry, the cache and the output. A verdict "unchanged" is what the
 * cache said when the thread looked; the engine trusts it only if it wrote
 * nothing for that person since (engine.c keeps the keys it wrote while the
 * chunk was screened and applied), and otherwise asks the cache again itself.
 * So the engine decides every record exactly as it would alone.
 *
 * Chunks go one at a time: post, then collect (which waits), in order. Two
 * result buffers alternate, so the chunk collected last stays readable while
 * the next is screened.
 */
#ifndef ELIG_SCREEN_H
#define ELIG_SCREEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "doudi/event.pb-c.h"
#include "doudi/log.pb-c.h"

/* What the thread found out about one record. */
typedef struct elig_screened {
    Doudi__Envelope *env; /* decoded (lives until the chunk after next is
                             posted); NULL when the payload is no Envelope,
                             or when it was only scanned */
    uint64_t person_key;  /* the fact-cache key the verdict rests on; 0: none
                             (a record that finds nothing needs no cache) */
    bool unchanged;       /* a comparison record that changes nothing */
    bool scanned;         /* env NULL: a comparison record read from its bytes
                             (facts.h: elig_facts_scan) and found unchanged;
                             the engine decodes it only if it must ask again */
    int64_t occurred_at_ms; /* a scanned record's event time */
} elig_screened;

/*
 * Screens records[0..n-1] into out[0..n-1], decoding into arena (emptied
 * before each chunk). Runs on the screening thread: it may read only what
 * nothing writes meanwhile, and the fact cache through its thread-safe read.
 */
typedef void (*elig_screen_fn)(void *arg, Doudi__LogRecord *const *records, size_t n,
                               dd_arena *arena, elig_screened *out);

typedef struct elig_screener elig_screener;

/* Starts the thread; chunks hold at most `chunk` records. Aborts if the
 * thread cannot be created, like an allocation that fails. */
elig_screener *elig_screener_new(elig_screen_fn fn, void *arg, size_t chunk);
/* Waits for a chunk in progress, stops the thread; accepts NULL. */
void elig_screener_destroy(elig_screener **screener);

size_t elig_screener_chunk(const elig_screener *s);

/* Hands records[0..n-1] (n <= chunk; they must stay valid until collected)
 * to the thread and returns at once. Nothing may be posted and uncollected. */
void elig_screener_post(elig_screener *s, Doudi__LogRecord *const *records, size_t n);

/* Whether a posted chunk waits to be collected. */
bool elig_screener_pending(const elig_screener *s);

/* Waits until the thread is done with the posted chunk, leaving it to be
 * collected: afterwards the thread reads nothing until the next post. */
void elig_screener_quiesce(elig_screener *s);

/* Waits for the posted chunk and returns its n results. */
const elig_screened *elig_screener_collect(elig_screener *s);

/* Nanoseconds the caller spent waiting in collect() and quiesce() so far. */
uint64_t elig_screener_wait_ns(const elig_screener *s);

#endif
