/* format.c: money, dates, programs and identity numbers for people (see format.h). */
#include "format.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "idnum.h"

int64_t ctl_fen_add(int64_t a, int64_t b)
{
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

const char *ctl_fen_yuan(int64_t fen, char buf[CTL_YUAN_MAX])
{
    /* The magnitude as unsigned, so INT64_MIN has one too. */
    uint64_t mag = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
    snprintf(buf, CTL_YUAN_MAX, "%s%" PRIu64 ".%02u", fen < 0 ? "-" : "", mag / 100,
             (unsigned)(mag % 100));
    return buf;
}

static const ctl_program programs[] = {
    { 1, "DIBAO", "低保", "minimum living guarantee" },
    { 2, "TEKUN", "特困", "extreme poverty support" },
    { 3, "DIBIAN", "低保边缘", "marginal low-income household" },
    { 4, "RIGID", "刚性支出困难", "rigid-expenditure hardship" },
    { 5, "TEMP", "临时救助", "temporary assistance" },
    { 6, "AGE", "高龄津贴", "longevity allowance" },
    { 7, "DIS_LIVING", "困难残疾人生活补贴",
      "living allowance for disabled people in difficulty" },
    { 8, "DIS_CARE", "重度残疾人护理补贴",
      "nursing allowance for severely disabled people" },
};

#define NPROGRAMS (sizeof(programs) / sizeof(programs[0]))

const ctl_program *ctl_programs(size_t *n)
{
    *n = NPROGRAMS;
    return programs;
}

const ctl_program *ctl_program_find(int value)
{
    for (size_t i = 0; i < NPROGRAMS; i++)
        if (programs[i].value == value)
            return &programs[i];
    return NULL;
}

/* text equals name ignoring ASCII case, with '-' in text standing for '_'. */
static bool same_name(const char *text, const char *name)
{
    for (; *text && *name; text++, name++) {
        char t = *text == '-' ? '_' : (char)toupper((unsigned char)*text);
        if (t != *name)
            return false;
    }
    return *text == '\0' && *name == '\0';
}

const ctl_program *ctl_program_parse(const char *text)
{
    if (!text)
        return NULL;
    const char *bare = strncasecmp(text, "PROGRAM_", 8) == 0 ? text + 8 : text;
    for (size_t i = 0; i < NPROGRAMS; i++)
        if (same_name(bare, programs[i].name) || strcmp(text, programs[i].chinese) == 0)
            return &programs[i];
    return NULL;
}

const char *ctl_program_label(int value, char buf[64])
{
    const ctl_program *p = ctl_program_find(value);
    if (p)
        snprintf(buf, 64, "%s %s", p->name, p->chinese);
    else
        snprintf(buf, 64, "%d", value);
    return buf;
}

/* Whether code point c is East Asian Wide or Fullwidth (the common ranges). */
static bool wide(uint32_t c)
{
    return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) ||
           (c >= 0x3041 && c <= 0x33FF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
           (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
           (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x20000 && c <= 0x3FFFD);
}

size_t ctl_display_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t width = 0;
    while (*p) {
        unsigned char b = *p;
        size_t len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3
                                   : (b & 0xF8) == 0xF0 ? 4 : 0;
        uint32_t c = len == 1 ? b : len == 2 ? b & 0x1Fu : len == 3 ? b & 0x0Fu : b & 0x07u;
        bool ok = len > 0;
        for (size_t i = 1; ok && i < len; i++) {
            if ((p[i] & 0xC0) != 0x80)
                ok = false;
            else
                c = (c << 6) | (p[i] & 0x3Fu);
        }
        if (!ok) {
            width++; /* an invalid byte: one column, go on from the next byte */
            p++;
            continue;
        }
        width += wide(c) ? 2 : 1;
        p += len;
    }
    return width;
}

void ctl_put_padded(FILE *out, const char *s, size_t width)
{
    fputs(s, out);
    for (size_t w = ctl_display_width(s); w < width; w++)
        fputc(' ', out);
}

void ctl_put_wrapped(FILE *out, const char *text, size_t column, size_t indent, size_t width)
{
    const char *p = text;
    bool line_empty = true; /* nothing of text on this line yet */
    while (*p) {
        /* The next word and the spaces before it. */
        const char *spaces = p;
        while (*p == ' ')
            p++;
        const char *word = p;
        while (*p && *p != ' ')
            p++;
        size_t nspaces = (size_t)(word - spaces), wlen = (size_t)(p - word);
        char buf[256];
        size_t ww;
        if (wlen < sizeof(buf)) {
            memcpy(buf, word, wlen);
            buf[wlen] = '\0';
            ww = ctl_display_width(buf);
        } else {
            ww = wlen; /* a huge word: its width hardly matters */
        }
        if (!line_empty && wlen > 0 && column + nspaces + ww > width) {
            fputc('\n', out);
            for (size_t i = 0; i < indent; i++)
                fputc(' ', out);
            column = indent;
            nspaces = 0;
        }
        fwrite(spaces, 1, nspaces, out);
        fwrite(word, 1, wlen, out);
        column += nspaces + ww;
        if (wlen > 0)
            line_empty = false;
    }
}

const char *ctl_format_date(int32_t yyyymmdd, char out[16])
{
    int y = yyyymmdd / 10000, m = yyyymmdd / 100 % 100, d = yyyymmdd % 100;
    if (yyyymmdd == 0)
        snprintf(out, 16, "-");
    else if (dd_date_is_valid(y, m, d))
        snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
    else
        snprintf(out, 16, "%" PRId32, yyyymmdd);
    return out;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

const char *ctl_parameter_text(const char *name, int64_t value, char out[96])
{
    if (ends_with(name, "_fen")) {
        char yuan[CTL_YUAN_MAX];
        snprintf(out, 96, "%" PRId64 " (%s yuan)", value, ctl_fen_yuan(value, yuan));
    } else if (ends_with(name, "_permille")) {
        /* 1300 per mille is 130 %; a tenth of a percent when there is one. */
        uint64_t mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
        const char *sign = value < 0 ? "-" : "";
        if (mag % 10)
            snprintf(out, 96, "%" PRId64 " (%s%" PRIu64 ".%u%%)", value, sign, mag / 10,
                     (unsigned)(mag % 10));
        else
            snprintf(out, 96, "%" PRId64 " (%s%" PRIu64 "%%)", value, sign, mag / 10);
    } else {
        snprintf(out, 96, "%" PRId64, value);
    }
    return out;
}

int ctl_person_id_read(const char *text, int32_t today_yyyymmdd, char out[19], bool *upgraded,
                       const char **why)
{
    char id[20];
    *upgraded = false;
    while (*text == ' ' || *text == '\t')
        text++;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    if (len != 18 && len != 15) {
        *why = dd_idnum_status_text(DD_IDNUM_BAD_LENGTH);
        return DD_EPROTO;
    }
    memcpy(id, text, len);
    id[len] = '\0';
    if (len == 18 && id[17] == 'x')
        id[17] = 'X';
    dd_idnum_status st = dd_idnum_check(id, len, today_yyyymmdd, NULL);
    if (st == DD_IDNUM_FIFTEEN_DIGITS) {
        st = dd_idnum_upgrade15(id, today_yyyymmdd, out);
        *upgraded = st == DD_IDNUM_OK;
    } else if (st == DD_IDNUM_OK) {
        memcpy(out, id, 19);
    }
    if (st != DD_IDNUM_OK) {
        *why = dd_idnum_status_text(st);
        return DD_EPROTO;
    }
    return 0;
}
