/* ctl.c: exit statuses, messages and option values shared by the subcommands (see ctl.h). */
#include "ctl.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "error.h"

static char command_name[64] = "doudictl";

void ctl_set_command(const char *name)
{
    snprintf(command_name, sizeof(command_name), "%s", name);
}

const char *ctl_command(void)
{
    return command_name;
}

void ctl_warn(const char *fmt, ...)
{
    va_list ap;
    /* Results on stdout and messages on stderr interleave sensibly on a
     * terminal only if what stdout holds is out first. */
    fflush(stdout);
    fprintf(stderr, "%s: ", command_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int ctl_usage(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", command_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", command_name);
    return CTL_EXIT_USAGE;
}

int ctl_getopt_error(int c, char *const argv[])
{
    /* With getopt_long, optind already points past the offending word. */
    const char *word = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':')
        return ctl_usage("option %s needs a value", word);
    if (optopt && strncmp(word, "--", 2) != 0)
        return ctl_usage("unknown option -%c", optopt);
    return ctl_usage("unknown option %s", word);
}

int ctl_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!text || !isdigit((unsigned char)text[0]))
        return DD_EPROTO;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end != '\0' || v < min || v > max)
        return DD_EPROTO;
    *out = v;
    return 0;
}

int ctl_option_u64(const char *option, const char *text, uint64_t min, uint64_t max,
                   uint64_t *out)
{
    if (ctl_parse_u64(text, min, max, out) == 0)
        return 0;
    return ctl_usage("%s wants a whole number from %llu to %llu, not '%s'", option,
                     (unsigned long long)min, (unsigned long long)max, text);
}

int ctl_option_bytes(const char *option, const char *text, uint64_t min, uint64_t max,
                     uint64_t *out)
{
    char digits[32];
    size_t n = strspn(text, "0123456789");
    const char *suffix = text + n;
    uint64_t scale = 1;

    if (n == 0 || n >= sizeof(digits))
        goto bad;
    memcpy(digits, text, n);
    digits[n] = '\0';
    switch (*suffix) {
    case '\0': break;
    case 'k': case 'K': scale = 1024; suffix++; break;
    case 'm': case 'M': scale = 1024 * 1024; suffix++; break;
    case 'g': case 'G': scale = 1024 * 1024 * 1024; suffix++; break;
    default: goto bad;
    }
    if (scale > 1 && (strcmp(suffix, "iB") == 0 || strcmp(suffix, "B") == 0))
        suffix += strlen(suffix);
    if (*suffix != '\0')
        goto bad;
    uint64_t v;
    if (ctl_parse_u64(digits, 0, UINT64_MAX / scale, &v) != 0)
        goto bad;
    v *= scale;
    if (v < min || v > max)
        goto bad;
    *out = v;
    return 0;
bad:
    return ctl_usage("%s wants a byte count from %llu to %llu (suffixes K, M, G), not '%s'",
                     option, (unsigned long long)min, (unsigned long long)max, text);
}

int64_t ctl_now_ms(void)
{
    return dd_monotonic_ns() / 1000000;
}

void ctl_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

const char *ctl_format_time_ms(int64_t unix_ms, char out[32])
{
    if (unix_ms == 0) {
        snprintf(out, 32, "-");
        return out;
    }
    /* A fixed offset, not the TZ database: Shanghai has had no DST since 1991. */
    time_t t = (time_t)(unix_ms / 1000) + 8 * 3600;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, 32, "%lld", (long long)unix_ms);
        return out;
    }
    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
    return out;
}

int64_t ctl_backoff_ms(unsigned attempt)
{
    int64_t ms = 100;
    for (unsigned i = 1; i < attempt && ms < 2000; i++)
        ms *= 2;
    return ms < 2000 ? ms : 2000;
}
