/* lines.c: a line reader over a descriptor that can tell when it would block (see lines.h). */
#include "lines.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"

#define READ_CHUNK (64 * 1024)

struct ctl_lines {
    int fd;
    bool own_fd;
    bool eof;
    bool at_start;
    char *buf;
    size_t cap;
    size_t start; /* first byte not yet returned */
    size_t end;   /* bytes held */
    uint64_t number;
};

int ctl_lines_open(const char *path, ctl_lines **out)
{
    int fd = 0;
    bool own = false;
    if (strcmp(path, "-") != 0) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        own = true;
    }
    ctl_lines *r = dd_calloc(1, sizeof(*r));
    r->fd = fd;
    r->own_fd = own;
    r->at_start = true;
    r->cap = READ_CHUNK + 1;
    r->buf = dd_malloc(r->cap);
    *out = r;
    return 0;
}

void ctl_lines_close(ctl_lines **rp)
{
    if (!rp || !*rp)
        return;
    ctl_lines *r = *rp;
    if (r->own_fd)
        close(r->fd);
    free(r->buf);
    free(r);
    *rp = NULL;
}

/* Reads once into the buffer, making room first. Returns 0, or -errno. */
static int fill(ctl_lines *r)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    /* One byte is always kept free for the terminating NUL. */
    if (r->cap - r->end < READ_CHUNK + 1) {
        r->cap = r->end + READ_CHUNK + 1 > r->cap * 2 ? r->end + READ_CHUNK + 1 : r->cap * 2;
        r->buf = dd_realloc(r->buf, r->cap);
    }
    for (;;) {
        ssize_t n = read(r->fd, r->buf + r->end, READ_CHUNK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            r->eof = true;
        r->end += (size_t)n;
        return 0;
    }
}

static bool readable_now(const ctl_lines *r)
{
    struct pollfd p = { .fd = r->fd, .events = POLLIN };
    int n;
    do
        n = poll(&p, 1, 0);
    while (n < 0 && errno == EINTR);
    /* An error or hang-up is readable too: read() reports it or the end. */
    return n != 0;
}

int ctl_lines_next(ctl_lines *r, bool wait, const char **line, size_t *len)
{
    size_t scanned = r->start;
    for (;;) {
        char *nl = memchr(r->buf + scanned, '\n', r->end - scanned);
        size_t llen;
        if (nl) {
            llen = (size_t)(nl - (r->buf + r->start));
        } else if (r->eof) {
            if (r->end == r->start)
                return 0;
            llen = r->end - r->start;
        } else {
            scanned = r->end;
            if (!wait && !readable_now(r))
                return DD_AGAIN;
            size_t offset = scanned - r->start;
            int rc = fill(r);
            if (rc != 0)
                return rc;
            scanned = r->start + offset;
            continue;
        }
        char *s = r->buf + r->start;
        size_t consumed = nl ? llen + 1 : llen;
        if (llen > 0 && s[llen - 1] == '\r')
            llen--;
        s[llen] = '\0';
        if (r->at_start) {
            r->at_start = false;
            if (llen >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
                s += 3;
                llen -= 3;
            }
        }
        r->start += consumed;
        r->number++;
        *line = s;
        *len = llen;
        return 1;
    }
}

uint64_t ctl_lines_number(const ctl_lines *r)
{
    return r->number;
}

int ctl_lines_fd(const ctl_lines *r)
{
    return r->fd;
}
