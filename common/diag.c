/*
 * diag.c: one line per diagnostic on stderr, identity numbers masked.
 *
 * A line is formatted completely, masked, flattened to one line and then
 * handed to the kernel in a single write(2), so lines from several threads
 * never interleave and nothing unmasked ever sits in a stdio buffer. The
 * mask runs on the whole formatted message before any truncation: cutting
 * first could leave the head of a number that no longer looks like one.
 */
#include "diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"

/* Longest line written; longer messages end in " [...]". */
#define LINE_MAX_BYTES 4096

static char program_name[64] = "doudi";
static atomic_int current_level = DD_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void dd_diag_init(const char *program, dd_diag_level level)
{
    if (program) {
        /* Only the basename: argv[0] may be a long build path. */
        const char *slash = strrchr(program, '/');
        snprintf(program_name, sizeof(program_name), "%s", slash ? slash + 1 : program);
    }
    dd_diag_set_level(level);
}

void dd_diag_set_level(dd_diag_level level)
{
    if (level < DD_DEBUG)
        level = DD_DEBUG;
    if (level > DD_ERROR)
        level = DD_ERROR;
    atomic_store(&current_level, (int)level);
}

dd_diag_level dd_diag_get_level(void)
{
    return (dd_diag_level)atomic_load(&current_level);
}

int dd_diag_level_parse(const char *text, dd_diag_level *level)
{
    if (!text)
        return DD_ECONFIG;
    for (int i = DD_DEBUG; i <= DD_ERROR; i++) {
        if (strcasecmp(text, level_names[i]) == 0) {
            *level = (dd_diag_level)i;
            return 0;
        }
    }
    return DD_ECONFIG;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

size_t dd_diag_mask_identity_numbers(char *text)
{
    size_t masked = 0;
    char *p = text;
    while (*p) {
        if (!is_digit(*p)) {
            p++;
            continue;
        }
        char *run = p;
        while (is_digit(*p))
            p++;
        size_t digits = (size_t)(p - run);
        /* An 18-character number ends in a digit or X; a lower-case x is not
         * a valid number but is still somebody's, so it is masked too. */
        bool x_after = *p == 'X' || *p == 'x';
        if (digits == 18 || (digits == 17 && x_after)) {
            memset(run + 6, '*', 8);
            masked++;
            if (digits == 17)
                p++;
        } else if (digits == 15) {
            memset(run + 6, '*', 5);
            masked++;
        }
    }
    return masked;
}

/* Control characters would split one event over several lines (or forge a
 * line), so they become spaces. */
static void flatten(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

static void write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report it */
        }
        buf += n;
        len -= (size_t)n;
    }
}

void dd_diag_printf(dd_diag_level level, const char *fmt, ...)
{
    if ((int)level < atomic_load(&current_level))
        return;
    if (level < DD_DEBUG || level > DD_ERROR)
        level = DD_ERROR;

    char msg_buf[LINE_MAX_BYTES];
    char *msg = msg_buf;
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(msg_buf, sizeof(msg_buf), fmt, ap);
    va_end(ap);
    if (need < 0) {
        snprintf(msg_buf, sizeof(msg_buf), "(unformattable message)");
    } else if ((size_t)need >= sizeof(msg_buf)) {
        /* Rare: format in full so the mask sees every number whole. */
        msg = dd_malloc((size_t)need + 1);
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)need + 1, fmt, ap);
        va_end(ap);
    }
    dd_diag_mask_identity_numbers(msg);
    flatten(msg);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Asia/Shanghai is UTC+8 all year, so the offset is fixed. */
    time_t local = ts.tv_sec + 8 * 3600;
    struct tm tm;
    gmtime_r(&local, &tm);

    char line[LINE_MAX_BYTES + 256];
    int head = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ld+08:00 %s[%ld] %s: ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec, ts.tv_nsec / 1000000, program_name, (long)getpid(),
                        level_names[level]);
    size_t len = head > 0 ? (size_t)head : 0;
    size_t msg_len = strlen(msg);
    const char tail[] = " [...]";
    if (msg_len > LINE_MAX_BYTES) {
        memcpy(line + len, msg, LINE_MAX_BYTES);
        len += LINE_MAX_BYTES;
        memcpy(line + len, tail, sizeof(tail) - 1);
        len += sizeof(tail) - 1;
    } else {
        memcpy(line + len, msg, msg_len);
        len += msg_len;
    }
    line[len++] = '\n';
    write_all(line, len);
    if (msg != msg_buf)
        free(msg);
}
