/*
 * alloc.c: allocation wrappers that abort on exhaustion, and the batch arena.
 */
#include "alloc.h"

#include <stdarg.h>
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
    _Alignas(16) unsigned char data[];
};

struct dd_arena {
    struct arena_block *head; /* current block; older ones follow */
    size_t block_size;
    size_t used_total;
};

dd_arena *dd_arena_new(size_t block_size)
{
    dd_arena *arena = dd_calloc(1, sizeof(*arena));
    arena->block_size = block_size ? block_size : 64 * 1024;
    return arena;
}

static void free_blocks(struct arena_block *b)
{
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
}

void dd_arena_destroy(dd_arena **arena)
{
    if (!arena || !*arena)
        return;
    free_blocks((*arena)->head);
    free(*arena);
    *arena = NULL;
}

void *dd_arena_alloc(dd_arena *arena, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct arena_block *b = arena->head;
    if (!b || b->size - b->used < size) {
        size_t want = size > arena->block_size ? size : arena->block_size;
        b = dd_malloc(sizeof(*b) + want);
        b->size = want;
        b->used = 0;
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
    /* Keep the largest recent block so a steady workload stops allocating. */
    struct arena_block *keep = arena->head;
    free_blocks(keep->next);
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
