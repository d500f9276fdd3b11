/*
 * alloc.h: allocation that never returns NULL, and a per-batch arena.
 *
 * doudi does not try to limp on without memory: dd_malloc and friends abort
 * the process with a message when the system refuses, so no caller tests for
 * NULL. A process that aborts is restarted and resumes from its committed
 * LMDB state, which is the recovery path we test anyway.
 *
 * The arena hands out memory that is released all at once by
 * dd_arena_reset(); decoded protobuf messages of one batch live in it (see
 * dd_arena_protobuf_allocator), which saves a free per field.
 */
#ifndef DD_ALLOC_H
#define DD_ALLOC_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

void *dd_malloc(size_t size);
void *dd_calloc(size_t count, size_t size);
void *dd_realloc(void *ptr, size_t size);
/*
 * Zeroed memory for a large table read at random (a hash index): from 2 MiB
 * up it is 2 MiB-aligned and asks for transparent huge pages, so one TLB
 * entry covers 2 MiB instead of 4 KiB, and it is collapsed into huge pages
 * right away where the kernel can (a hint; without it nothing changes).
 * Freed with free().
 */
void *dd_calloc_table(size_t count, size_t size);
char *dd_strdup(const char *s);
/*
 * For a process whose memory use is steady (batches of the same size, again
 * and again): glibc's defaults give freed memory back as soon as the top of
 * the heap is free and map every large buffer afresh, and each fresh 4 KiB
 * page costs a fault when first touched, which some virtual machines make
 * cost microseconds. Keeps what was freed for the next batch instead. Call
 * once, early; the daemons and the benchmark's publisher do.
 */
void dd_keep_freed_memory(void);
char *dd_strndup(const char *s, size_t n);
/* Formats into a new string the caller frees. */
char *dd_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef struct dd_arena dd_arena;

/* A new arena whose blocks are at least block_size bytes (0: 64 KiB).
 * Blocks of 1 MiB and more are 2 MiB-aligned mappings that ask for
 * transparent huge pages. */
dd_arena *dd_arena_new(size_t block_size);
/* Frees the arena and all it handed out; accepts NULL, nulls *arena. */
void dd_arena_destroy(dd_arena **arena);
/* size bytes aligned to 16, valid until the next reset or destroy. */
void *dd_arena_alloc(dd_arena *arena, size_t size);
/* Forgets every allocation; keeps its blocks (up to 256 MiB, or what
 * dd_arena_keep says) for reuse. */
void dd_arena_reset(dd_arena *arena);
/*
 * How many bytes of blocks a reset keeps for reuse (SIZE_MAX: all). An
 * arena that fills up to the same size again and again (a journal's index
 * between folds) should keep them: memory given back to the system comes
 * back as fresh pages, which the kernel zeroes on first touch (and some
 * virtual machines fault in from their host, microseconds a page).
 */
void dd_arena_keep(dd_arena *arena, size_t max_bytes);
/* Moves every block of *from, emptied, into `to` as spares (whatever its
 * keep limit), frees *from itself and nulls it. */
void dd_arena_take_blocks(dd_arena *to, dd_arena **from);
/* Bytes handed out since the last reset. */
size_t dd_arena_used(const dd_arena *arena);
/*
 * An allocator for protobuf-c's __unpack() that draws from the arena. Its
 * free is a no-op, so messages unpacked with it must NOT be passed to
 * __free_unpacked(); they vanish with dd_arena_reset().
 */
ProtobufCAllocator dd_arena_protobuf_allocator(dd_arena *arena);

#endif
