/*
 * alloc.c: allocation wrappers that abort on exhaustion, and the batch arena.
 */
#include "alloc.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

static void out_of_memory(size_t size)
{
    fprintf(stderr, "doudi: out of memory allocating %zu bytes; aborting\n", size);
    abort();
}

void *dd_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        out_of_memory(size);
    return p;
}

void *dd_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size);
    return p;
}

void *dd_calloc_table(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        out_of_memory(SIZE_MAX);
    size_t bytes = count * size;
    const size_t huge = 2u << 20;
    if (bytes < huge)
        return dd_calloc(count, size);
    void *p = NULL;
    if (posix_memalign(&p, huge, bytes) != 0)
        return dd_calloc(count, size);
    (void)madvise(p, bytes, MADV_HUGEPAGE);
    memset(p, 0, bytes);
    /* A fault takes a huge page only when one is free at that moment; with
     * memory full of page cache (a daemon's LMDB files) most of the table
     * ends up on small pages. Collapsing compacts memory for it (Linux 6.1
     * and later; elsewhere, or when it fails, the table works as it is). */
    (void)madvise(p, bytes, MADV_COLLAPSE);
    return p;
}

void *dd_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        out_of_memory(size);
    return p;
}

char *dd_strdup(const char *s)
{
    return dd_strndup(s, strlen(s));
}

char *dd_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = dd_malloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *dd_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0)
        abort();
    char *p = dd_malloc((size_t)len + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return p;
}

struct arena_block {
    struct arena_block *next;
    size_t size;
    size_t used;
    bool mapped; /* from map_block(), given back with munmap */
    _Alignas(16) unsigned char data[];
};

struct dd_arena {
    struct arena_block *head;  /* current block; older ones follow */
    struct arena_block *spare; /* emptied by a reset, handed out again */
    size_t spare_bytes;
    size_t keep_max; /* spare bytes a reset keeps */
    size_t block_size;
    size_t used_total;
};

enum {
    HUGE_PAGE = 2u << 20,
    /* Blocks kept for reuse after a reset, in bytes: a batch's arena needs
     * the same blocks again for the next batch. */
    ARENA_KEEP_MAX = 256u << 20,
};

/* A block of `bytes` (a multiple of 2 MiB) on its own 2 MiB-aligned mapping
 * that asks for transparent huge pages. A fresh 4 KiB page costs a fault on
 * first touch, and some virtual machines make each one cost microseconds;
 * a huge page is one fault for 512 of them. NULL when the kernel refuses. */
static void *map_block(size_t bytes)
{
    size_t span = bytes + HUGE_PAGE;
    uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uint8_t *aligned = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (aligned > p)
        munmap(p, (size_t)(aligned - p));
    size_t tail = (size_t)(p + span - (aligned + bytes));
    if (tail)
        munmap(aligned + bytes, tail);
    (void)madvise(aligned, bytes, MADV_HUGEPAGE);
    return aligned;
}

static struct arena_block *block_new(size_t want)
{
    size_t header = offsetof(struct arena_block, data);
    struct arena_block *b = NULL;
    bool mapped = false;
    if (want >= HUGE_PAGE / 2) {
        size_t bytes = (header + want + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
        if ((b = map_block(bytes)) != NULL) {
            mapped = true;
            want = bytes - header;
        }
    }
    if (!b)
        b = dd_malloc(header + want);
    b->size = want;
    b->used = 0;
    b->mapped = mapped;
    b->next = NULL;
    return b;
}

static void block_free(struct arena_block *b)
{
    if (b->mapped)
        munmap(b, offsetof(struct arena_block, data) + b->size);
    else
        free(b);
}

dd_arena *dd_arena_new(size_t block_size)
{
    dd_arena *arena = dd_calloc(1, sizeof(*arena));
    arena->block_size = block_size ? block_size : 64 * 1024;
    arena->keep_max = ARENA_KEEP_MAX;
    return arena;
}

void dd_arena_keep(dd_arena *arena, size_t max_bytes)
{
    arena->keep_max = max_bytes;
}

/* Makes b, emptied, a spare of arena. */
static void add_spare(dd_arena *arena, struct arena_block *b)
{
    b->used = 0;
    b->next = arena->spare;
    arena->spare = b;
    arena->spare_bytes += b->size;
}

void dd_arena_take_blocks(dd_arena *to, dd_arena **from)
{
    struct arena_block *lists[2] = {(*from)->head, (*from)->spare};
    for (int l = 0; l < 2; l++) {
        for (struct arena_block *b = lists[l]; b;) {
            struct arena_block *next = b->next;
            add_spare(to, b);
            b = next;
        }
    }
    free(*from);
    *from = NULL;
}

static void free_blocks(struct arena_block *b)
{
    while (b) {
        struct arena_block *next = b->next;
        block_free(b);
        b = next;
    }
}

void dd_arena_destroy(dd_arena **arena)
{
    if (!arena || !*arena)
        return;
    free_blocks((*arena)->head);
    free_blocks((*arena)->spare);
    free(*arena);
    *arena = NULL;
}

/* A spare block with room for size bytes, unlinked, or NULL. */
static struct arena_block *take_spare(dd_arena *arena, size_t size)
{
    for (struct arena_block **at = &arena->spare; *at; at = &(*at)->next) {
        struct arena_block *b = *at;
        if (b->size >= size) {
            *at = b->next;
            arena->spare_bytes -= b->size;
            b->next = NULL;
            return b;
        }
    }
    return NULL;
}

void *dd_arena_alloc(dd_arena *arena, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct arena_block *b = arena->head;
    if (!b || b->size - b->used < size) {
        b = take_spare(arena, size);
        if (!b)
            b = block_new(size > arena->block_size ? size : arena->block_size);
        b->next = arena->head;
        arena->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    arena->used_total += size;
    return p;
}

void dd_arena_reset(dd_arena *arena)
{
    if (!arena->head)
        return;
    /* The current block stays; the others wait for the next batch, which
     * usually needs as many (a steady workload stops allocating), unless
     * they would keep too much memory after a burst. */
    struct arena_block *keep = arena->head, *b = keep->next;
    while (b) {
        struct arena_block *next = b->next;
        if (arena->spare_bytes + b->size <= arena->keep_max) {
            add_spare(arena, b);
        } else {
            block_free(b);
        }
        b = next;
    }
    keep->next = NULL;
    keep->used = 0;
    arena->used_total = 0;
}

size_t dd_arena_used(const dd_arena *arena)
{
    return arena->used_total;
}

static void *arena_pb_alloc(void *data, size_t size)
{
    return dd_arena_alloc(data, size);
}

static void arena_pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

ProtobufCAllocator dd_arena_protobuf_allocator(dd_arena *arena)
{
    ProtobufCAllocator a = {
        .alloc = arena_pb_alloc,
        .free = arena_pb_free,
        .allocator_data = arena,
    };
    return a;
}

void dd_keep_freed_memory(void)
{
    (void)mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's largest: 32 MiB */
    (void)mallopt(M_TRIM_THRESHOLD, 256 << 20);
    (void)mallopt(M_TOP_PAD, 16 << 20);
}
