/*
 * test_prov_file.c: the province benchmark's event files: a file of many
 * township blocks, merged into one block, reads back in the same order
 * the reader gave before (by time, ties to the earlier block), byte for
 * byte; a file of one block is left alone; a damaged file is refused; the
 * pages a reader gave back leave the page cache and read again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "prov_file.h"

typedef struct event {
    int64_t t;
    char text[32];
} event;

static char *temp_path(void)
{
    char *path = strdup("/tmp/doudi-test-prov-file-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    return path;
}

/* Reads every event of path in the reader's order into out (at most cap). */
static size_t read_all(const char *path, event *out, size_t cap)
{
    prov_reader *r;
    char *why = NULL;
    assert_int_equal(prov_reader_open(path, &r, &why), 0);
    size_t n = 0;
    const uint8_t *data;
    size_t len;
    int64_t t;
    while (prov_reader_next(r, &data, &len, &t)) {
        assert_true(n < cap);
        assert_true(len < sizeof(out[n].text));
        out[n].t = t;
        memcpy(out[n].text, data, len);
        out[n].text[len] = '\0';
        n++;
    }
    assert_int_equal(prov_reader_events(r), n);
    prov_reader_close(&r);
    return n;
}

static size_t blocks_in(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t blocks = 0;
    uint8_t header[16];
    while (fread(header, 1, sizeof(header), f) == sizeof(header)) {
        assert_memory_equal(header, "PRVB", 4);
        uint64_t bytes = 0;
        for (int i = 7; i >= 0; i--)
            bytes = bytes << 8 | header[8 + i];
        assert_int_equal(fseek(f, (long)bytes, SEEK_CUR), 0);
        blocks++;
    }
    fclose(f);
    return blocks;
}

/* Township k's events: times that interleave with the other blocks' and
 * repeat within and across blocks, added out of order. */
static void write_townships(const char *path, int townships, int per_block)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    prov_block *b = prov_block_new();
    for (int k = 0; k < townships; k++) {
        for (int i = per_block - 1; i >= 0; i--) {
            char text[32];
            int len = snprintf(text, sizeof(text), "township %d event %d", k, i);
            prov_block_add(b, 1000 + (i * 7 + k * 3) % 11, (const uint8_t *)text, (size_t)len);
        }
        assert_int_equal(prov_block_flush(b, f), 0);
    }
    prov_block_destroy(&b);
    assert_int_equal(fclose(f), 0);
}

static void test_merge_keeps_the_readers_order(void **state)
{
    (void)state;
    char *path = temp_path();
    write_townships(path, 5, 40);
    assert_int_equal(blocks_in(path), 5);
    event before[200], after[200];
    size_t n = read_all(path, before, 200);
    assert_int_equal(n, 200);
    for (size_t i = 1; i < n; i++)
        assert_true(before[i - 1].t <= before[i].t);

    char *why = NULL;
    assert_int_equal(prov_file_merge(path, &why), 0);
    assert_null(why);
    assert_int_equal(blocks_in(path), 1);
    assert_int_equal(read_all(path, after, 200), n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(after[i].t, before[i].t);
        assert_string_equal(after[i].text, before[i].text);
    }

    /* A second merge finds one block and leaves the bytes as they are. */
    struct stat st1, st2;
    assert_int_equal(stat(path, &st1), 0);
    assert_int_equal(prov_file_merge(path, &why), 0);
    assert_int_equal(stat(path, &st2), 0);
    assert_int_equal(st1.st_ino, st2.st_ino);
    assert_int_equal(st1.st_size, st2.st_size);
    char merging[4096];
    snprintf(merging, sizeof(merging), "%s.merging", path);
    assert_int_equal(access(merging, F_OK), -1);
    unlink(path);
    free(path);
}

static void test_merge_refuses_a_damaged_file(void **state)
{
    (void)state;
    char *path = temp_path();
    write_townships(path, 3, 10);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 5), 0);
    char *why = NULL;
    assert_int_equal(prov_file_merge(path, &why), -EINVAL);
    assert_non_null(why);
    assert_non_null(strstr(why, path));
    free(why);
    /* Left as it was, and no half-written file beside it. */
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(blocks_in(path) >= 1, 1);
    char merging[4096];
    snprintf(merging, sizeof(merging), "%s.merging", path);
    assert_int_equal(access(merging, F_OK), -1);
    unlink(path);
    free(path);
    assert_int_equal(prov_file_merge("/nonexistent/doudi/month-0.evt", &why), -ENOENT);
    free(why);
}

/* Pages of path in the page cache, and *pages its size in pages. */
static size_t resident_pages(const char *path, size_t *pages)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    *pages = ((size_t)st.st_size + page - 1) / page;
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(map != MAP_FAILED);
    unsigned char *in = calloc(*pages, 1);
    assert_int_equal(mincore(map, (size_t)st.st_size, in), 0);
    size_t n = 0;
    for (size_t i = 0; i < *pages; i++)
        n += in[i] & 1;
    free(in);
    munmap(map, (size_t)st.st_size);
    close(fd);
    return n;
}

/*
 * Giving back the pages already read (every 32 MiB, and at the end) changes
 * nothing a reader sees: the events read on, an event read before its page
 * was given back reads the same through its pointer, and after a rewind
 * the whole file reads again.
 */
static void test_pages_given_back_read_again(void **state)
{
    (void)state;
    char *path = temp_path();
    enum { EVENTS = 1500000 }; /* about 55 MB: past the step, with a remainder */
    write_townships(path, 1, EVENTS);
    int fd = open(path, O_RDONLY);
    assert_int_equal(fsync(fd), 0); /* the page cache drops clean pages only */
    close(fd);
    prov_reader *r;
    char *why = NULL;
    assert_int_equal(prov_reader_open(path, &r, &why), 0);
    for (int pass = 0; pass < 2; pass++) {
        const uint8_t *data, *first = NULL;
        char first_copy[32];
        size_t len, first_len = 0, n = 0;
        int64_t t, last_t = 0;
        while (prov_reader_next(r, &data, &len, &t)) {
            assert_true(t >= last_t);
            last_t = t;
            assert_true(len < sizeof(first_copy));
            if (!first) {
                first = data;
                first_len = len;
                memcpy(first_copy, data, len);
            }
            assert_memory_equal(data, "township 0 event ", 17);
            prov_reader_release_read(r);
            n++;
        }
        prov_reader_release_read(r);
        assert_int_equal(n, EVENTS);
        /* Given back: no longer held in the page cache (most of it, at
         * least; a page may be read again meanwhile by readahead). */
        size_t pages, resident = resident_pages(path, &pages);
        if (resident * 2 > pages)
            fail_msg("%zu of the file's %zu pages still cached after reading it all", resident,
                     pages);
        /* Its page was given back long ago: read again from the file. */
        assert_memory_equal(first, first_copy, first_len);
        prov_reader_rewind(r);
    }
    prov_reader_close(&r);
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_keeps_the_readers_order),
        cmocka_unit_test(test_merge_refuses_a_damaged_file),
        cmocka_unit_test(test_pages_given_back_read_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
