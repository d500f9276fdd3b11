/*
 * prov_file.c: see prov_file.h.
 */
#include "prov_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"

#define BLOCK_MAGIC "PRVB"
#define BLOCK_HEADER 16
#define RECORD_HEADER 12
/* Pages already read are given back this many bytes at a time. */
#define RELEASE_STEP ((size_t)32 << 20)

typedef struct pending {
    int64_t t;
    uint64_t order;
    size_t offset;
    uint32_t len;
} pending;

struct prov_block {
    pending *items;
    size_t n, cap;
    uint8_t *bytes;
    size_t used, bytes_cap;
    uint8_t *out;           /* the block as written */
    size_t out_cap;
};

prov_block *prov_block_new(void)
{
    return dd_calloc(1, sizeof(prov_block));
}

void prov_block_destroy(prov_block **block)
{
    if (!*block)
        return;
    free((*block)->items);
    free((*block)->bytes);
    free((*block)->out);
    free(*block);
    *block = NULL;
}

void prov_block_add(prov_block *b, int64_t t, const uint8_t *data, size_t len)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 4096;
        b->items = dd_realloc(b->items, b->cap * sizeof(pending));
    }
    if (b->used + len > b->bytes_cap) {
        while (b->used + len > b->bytes_cap)
            b->bytes_cap = b->bytes_cap ? b->bytes_cap * 2 : 1 << 20;
        b->bytes = dd_realloc(b->bytes, b->bytes_cap);
    }
    memcpy(b->bytes + b->used, data, len);
    b->items[b->n] = (pending){t, b->n, b->used, (uint32_t)len};
    b->n++;
    b->used += len;
}

size_t prov_block_count(const prov_block *b)
{
    return b->n;
}

static int by_time(const void *x, const void *y)
{
    const pending *a = x, *b = y;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int prov_block_flush(prov_block *b, FILE *f)
{
    if (b->n == 0)
        return 0;
    qsort(b->items, b->n, sizeof(pending), by_time);
    /* the whole block in one buffer, one write */
    size_t total = BLOCK_HEADER + b->used + b->n * RECORD_HEADER;
    if (total > b->out_cap) {
        b->out_cap = total;
        free(b->out);
        b->out = dd_malloc(total);
    }
    uint8_t *w = b->out;
    memcpy(w, BLOCK_MAGIC, 4);
    put_u32(w + 4, (uint32_t)b->n);
    put_u64(w + 8, b->used + (uint64_t)b->n * RECORD_HEADER);
    w += BLOCK_HEADER;
    for (size_t i = 0; i < b->n; i++) {
        put_u64(w, (uint64_t)b->items[i].t);
        put_u32(w + 8, b->items[i].len);
        memcpy(w + RECORD_HEADER, b->bytes + b->items[i].offset, b->items[i].len);
        w += RECORD_HEADER + b->items[i].len;
    }
    if (fwrite(b->out, 1, total, f) != total)
        return -(errno ? errno : EIO);
    b->n = 0;
    b->used = 0;
    return 0;
}

/* ---- reading ------------------------------------------------------------ */

typedef struct cursor {
    const uint8_t *next;    /* next record header */
    uint32_t left;          /* records left */
    size_t block;           /* index, for ties */
    int64_t t;              /* time of the record at next */
} cursor;

struct prov_reader {
    uint8_t *map;
    size_t size;
    int fd;                 /* kept for giving pages back (prov_reader_release_read) */
    size_t released;        /* bytes from the start given back */
    uint64_t events;
    cursor *blocks;         /* as found in the file */
    size_t nblocks;
    cursor *heap;           /* min-heap by (t, block) */
    size_t nheap;
};

static bool before(const cursor *a, const cursor *b)
{
    return a->t != b->t ? a->t < b->t : a->block < b->block;
}

static void sift_down(prov_reader *r, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < r->nheap && before(&r->heap[l], &r->heap[m]))
            m = l;
        if (l + 1 < r->nheap && before(&r->heap[l + 1], &r->heap[m]))
            m = l + 1;
        if (m == i)
            return;
        cursor c = r->heap[i];
        r->heap[i] = r->heap[m];
        r->heap[m] = c;
        i = m;
    }
}

void prov_reader_rewind(prov_reader *r)
{
    r->nheap = 0;
    r->released = 0;
    for (size_t i = 0; i < r->nblocks; i++)
        if (r->blocks[i].left)
            r->heap[r->nheap++] = r->blocks[i];
    for (size_t i = r->nheap / 2; i-- > 0;)
        sift_down(r, i);
}

static int bad_file(const char *path, size_t at, const char *why, char **error_text)
{
    if (error_text) {
        size_t n = strlen(path) + strlen(why) + 64;
        *error_text = dd_malloc(n);
        snprintf(*error_text, n, "%s: at byte %zu: %s", path, at, why);
    }
    return -EINVAL;
}

int prov_reader_open(const char *path, prov_reader **out, char **error_text)
{
    *out = NULL;
    if (error_text)
        *error_text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    prov_reader *r = dd_calloc(1, sizeof(*r));
    r->size = (size_t)st.st_size;
    if (r->size) {
        /* Populated at once: faulting a gigabyte in page by page, while
         * the events are published, takes the daemons' CPU. */
        r->map = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (r->map == MAP_FAILED) {
            int e = -errno;
            close(fd);
            free(r);
            return e;
        }
        madvise(r->map, r->size, MADV_WILLNEED);
    }
    r->fd = fd;
    size_t at = 0, cap = 0;
    while (at < r->size) {
        if (r->size - at < BLOCK_HEADER || memcmp(r->map + at, BLOCK_MAGIC, 4) != 0) {
            int rc = bad_file(path, at, "not a block header", error_text);
            prov_reader_close(&r);
            return rc;
        }
        uint32_t count = get_u32(r->map + at + 4);
        uint64_t bytes = get_u64(r->map + at + 8);
        if (bytes > r->size - at - BLOCK_HEADER) {
            int rc = bad_file(path, at, "block runs past the end of the file", error_text);
            prov_reader_close(&r);
            return rc;
        }
        /* Check every record's length once, so next() can trust them. */
        const uint8_t *p = r->map + at + BLOCK_HEADER, *end = p + bytes;
        for (uint32_t i = 0; i < count; i++) {
            if ((size_t)(end - p) < RECORD_HEADER || get_u32(p + 8) > (size_t)(end - p) - RECORD_HEADER) {
                int rc = bad_file(path, (size_t)(p - r->map), "record runs past its block", error_text);
                prov_reader_close(&r);
                return rc;
            }
            p += RECORD_HEADER + get_u32(p + 8);
        }
        if (p != end) {
            int rc = bad_file(path, at, "block length does not match its records", error_text);
            prov_reader_close(&r);
            return rc;
        }
        if (r->nblocks == cap) {
            cap = cap ? cap * 2 : 64;
            r->blocks = dd_realloc(r->blocks, cap * sizeof(cursor));
        }
        const uint8_t *first = r->map + at + BLOCK_HEADER;
        r->blocks[r->nblocks] = (cursor){first, count, r->nblocks, count ? (int64_t)get_u64(first) : 0};
        r->nblocks++;
        r->events += count;
        at += BLOCK_HEADER + bytes;
    }
    r->heap = dd_calloc(r->nblocks ? r->nblocks : 1, sizeof(cursor));
    prov_reader_rewind(r);
    *out = r;
    return 0;
}

void prov_reader_close(prov_reader **reader)
{
    prov_reader *r = *reader;
    if (!r)
        return;
    if (r->map && r->map != MAP_FAILED)
        munmap(r->map, r->size);
    close(r->fd);
    free(r->blocks);
    free(r->heap);
    free(r);
    *reader = NULL;
}

uint64_t prov_reader_events(const prov_reader *r)
{
    return r->events;
}

bool prov_reader_next(prov_reader *r, const uint8_t **data, size_t *len, int64_t *t)
{
    if (r->nheap == 0)
        return false;
    cursor *c = &r->heap[0];
    *t = c->t;
    *len = get_u32(c->next + 8);
    *data = c->next + RECORD_HEADER;
    c->next += RECORD_HEADER + *len;
    if (--c->left) {
        c->t = (int64_t)get_u64(c->next);
    } else {
        r->heap[0] = r->heap[--r->nheap];
    }
    sift_down(r, 0);
    return true;
}

void prov_reader_release_read(prov_reader *r)
{
    if (!r->map)
        return;
    /* Everything before the lowest position of any block has been read. */
    const uint8_t *lowest = r->map + r->size;
    for (size_t i = 0; i < r->nheap; i++)
        if (r->heap[i].next < lowest)
            lowest = r->heap[i].next;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t upto = (size_t)(lowest - r->map) / page * page;
    bool at_end = r->nheap == 0;
    if (upto <= r->released || (upto - r->released < RELEASE_STEP && !at_end))
        return;
    /* Unmapped first: the page cache does not drop pages still mapped. */
    madvise(r->map + r->released, upto - r->released, MADV_DONTNEED);
    posix_fadvise(r->fd, (off_t)r->released, (off_t)(upto - r->released), POSIX_FADV_DONTNEED);
    r->released = upto;
}

int prov_file_merge(const char *path, char **error_text)
{
    prov_reader *r;
    int rc = prov_reader_open(path, &r, error_text);
    if (rc)
        return rc;
    if (r->nblocks <= 1 || r->events > UINT32_MAX) {
        prov_reader_close(&r);
        return 0;
    }
    size_t n = strlen(path) + sizeof(".merging");
    char *tmp = dd_malloc(n);
    snprintf(tmp, n, "%s.merging", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        rc = -errno;
        goto out;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    uint8_t header[BLOCK_HEADER];
    memcpy(header, BLOCK_MAGIC, 4);
    put_u32(header + 4, (uint32_t)r->events);
    put_u64(header + 8, r->size - r->nblocks * BLOCK_HEADER);
    bool ok = fwrite(header, 1, sizeof(header), f) == sizeof(header);
    const uint8_t *data;
    size_t len;
    int64_t t;
    while (ok && prov_reader_next(r, &data, &len, &t)) {
        /* The record header sits right before its payload in the map. */
        ok = fwrite(data - RECORD_HEADER, 1, RECORD_HEADER + len, f) == RECORD_HEADER + len;
    }
    if (!ok)
        rc = -(errno ? errno : EIO);
    if (fclose(f) != 0 && rc == 0)
        rc = -(errno ? errno : EIO);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc)
        unlink(tmp);
out:
    free(tmp);
    prov_reader_close(&r);
    return rc;
}
