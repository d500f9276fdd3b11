/*
 * validate.c: decoding and judging one published event.
 *
 * protobuf-c checks only the wire format: any int32 passes as an enum, every
 * proto3 field is optional, lists have no cap and strings are neither UTF-8
 * checked nor NUL-free (known pitfall 11 in the README). What reaches doudi's log is
 * replayed by every daemon for years, so everything event.proto promises is
 * enforced here, once, at the door: consumers may then trust a stored event
 * without re-checking it.
 *
 * The checks run for every event at the full intake rate, so they work on
 * the decoded structure in place: no allocation except the arena string of
 * an upgraded identity number, no second decode, and text is formatted only
 * for the one problem that refuses an event. Field paths in the text are the
 * proto field names, so a portal developer can find the field in any
 * language binding.
 */
#include "validate.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "idnum.h"
#include "wire.h"
#include "wiredecode.h"

/* The limits event.proto documents. */
#define ID_MAX_BYTES 64
#define TEXT_MAX_BYTES 512
#define MEMBERS_MAX 64
#define LIST_MAX 32
#define DWELLINGS_MAX 100
#define VISIT_CAPACITY_MAX 10000
#define DISABILITY_GRADE_MAX 4
#define PERIOD_EARLIEST_YEAR 1900
/*
 * Not documented limits but sanity bounds that keep downstream arithmetic
 * in range: a household sums up to 32 incomes and multiplies by up to 64
 * members, which must not overflow int64; and a date of an instant must fit
 * the calendar helpers. Nothing real comes near either.
 */
#define MONEY_MAX_FEN INT64_C(1000000000000000) /* 10 trillion yuan */
#define TIME_MAX_MS INT64_C(253402300799999)    /* 9999-12-31T23:59:59.999Z */

/* How much of an offending string a refusal quotes. */
#define SHOWN_MAX_BYTES 32

/* ------------------------------------------------------------------------ */
/* Refusals                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Where a field is, for the text: head[index]tail, e.g.
 * "visit_report.findings" [2] ".note"; index < 0 prints head and tail only.
 */
typedef struct fpath {
    const char *head;
    int index;
    const char *tail;
} fpath;

#define FIELD(h) ((fpath){(h), -1, ""})
#define ELEMENT(h, i, t) ((fpath){(h), (int)(i), (t)})

typedef struct check {
    const intake_rules *rules;
    int64_t now_ms;
    int32_t today;   /* Asia/Shanghai date of now: no one is born after it */
    int32_t latest_period; /* YYYYMM of now plus the allowed skew */
    dd_arena *arena;
    bool *rewritten;
    intake_verdict *verdict;
} check;

static bool vsay(intake_verdict *v, Doudi__RejectReason reason, const char *prefix,
                 const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static bool vsay(intake_verdict *v, Doudi__RejectReason reason, const char *prefix,
                 const char *fmt, va_list ap)
{
    v->reason = reason;
    int n = snprintf(v->text, sizeof(v->text), "%s", prefix);
    if (n < 0 || (size_t)n >= sizeof(v->text))
        n = 0;
    vsnprintf(v->text + n, sizeof(v->text) - (size_t)n, fmt, ap);
    /* Values are quoted masked already; this catches a number that reached
     * the text any other way, because the text is sent back and logged. */
    dd_diag_mask_identity_numbers(v->text);
    return false;
}

static bool say(intake_verdict *v, Doudi__RejectReason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool say(intake_verdict *v, Doudi__RejectReason reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(v, reason, "", fmt, ap);
    va_end(ap);
    return false;
}

static bool refuse(check *c, Doudi__RejectReason reason, fpath p, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fills the verdict with "path: detail"; always returns false. */
static bool refuse(check *c, Doudi__RejectReason reason, fpath p, const char *fmt, ...)
{
    char prefix[128];
    if (p.index < 0)
        snprintf(prefix, sizeof(prefix), "%s%s: ", p.head, p.tail);
    else
        snprintf(prefix, sizeof(prefix), "%s[%d]%s: ", p.head, p.index, p.tail);
    va_list ap;
    va_start(ap, fmt);
    vsay(c->verdict, reason, prefix, fmt, ap);
    va_end(ap);
    return false;
}

/* Appends byte b to out as itself when printable ASCII, else as \xNN. */
static size_t put_escaped(char *out, size_t w, unsigned char b)
{
    static const char hex[] = "0123456789abcdef";
    if (b >= 0x20 && b < 0x7f && b != '\\') {
        out[w++] = (char)b;
    } else {
        out[w++] = '\\';
        out[w++] = 'x';
        out[w++] = hex[b >> 4];
        out[w++] = hex[b & 15];
    }
    return w;
}

/*
 * A string value as a refusal quotes it: printable ASCII, at most
 * SHOWN_MAX_BYTES of it, identity numbers masked. Cutting could leave the
 * head of a number too short to be recognised as one, so a cut also drops
 * the digits it splits. out must hold SHOWN_MAX_BYTES * 4 + 4 bytes.
 */
static const char *show(char *out, const char *s, size_t len)
{
    size_t n = len < SHOWN_MAX_BYTES ? len : SHOWN_MAX_BYTES;
    if (n < len) {
        while (n > 0 && ((s[n - 1] >= '0' && s[n - 1] <= '9') || s[n - 1] == 'X' || s[n - 1] == 'x'))
            n--;
    }
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w = put_escaped(out, w, (unsigned char)s[i]);
    if (n < len) {
        memcpy(out + w, "...", 3);
        w += 3;
    }
    out[w] = '\0';
    dd_diag_mask_identity_numbers(out);
    return out;
}

/*
 * A value of an identity-number field as a refusal quotes it: only the first
 * 6 and the last 4 characters, whatever its length, the rest as '*'.
 * out must hold 6 * 4 + 16 + 3 + 4 * 4 + 1 bytes.
 */
static const char *show_person_id(char *out, const char *s, size_t len)
{
    size_t w = 0;
    if (len <= 10) {
        for (size_t i = 0; i < len; i++)
            out[w++] = '*';
        out[w] = '\0';
        return out;
    }
    for (size_t i = 0; i < 6; i++)
        w = put_escaped(out, w, (unsigned char)s[i]);
    size_t hidden = len - 10;
    for (size_t i = 0; i < hidden && i < 16; i++)
        out[w++] = '*';
    if (hidden > 16) {
        memcpy(out + w, "...", 3);
        w += 3;
    }
    for (size_t i = len - 4; i < len; i++)
        w = put_escaped(out, w, (unsigned char)s[i]);
    out[w] = '\0';
    return out;
}

/* ------------------------------------------------------------------------ */
/* Field checks                                                              */
/* ------------------------------------------------------------------------ */

/* Absent proto3 strings decode as "", but a hand-built message may hold NULL. */
static size_t str_len(const char *s)
{
    return s ? strlen(s) : 0;
}

/* Eight bytes at a time: whether any is below 0x20 or above 0x7e (the
 * classic SWAR tests; exact for bounds up to 0x80). */
#define BYTES_OF(x) (UINT64_C(0x0101010101010101) * (x))
static inline bool word_printable(uint64_t w)
{
    uint64_t below = (w - BYTES_OF(0x20)) & ~w;
    uint64_t above = (w + BYTES_OF(0x7f - 0x7e)) | w;
    return ((below | above) & BYTES_OF(0x80)) == 0;
}

static inline bool word_ascii(uint64_t w)
{
    return (w & BYTES_OF(0x80)) == 0;
}

/* An id chosen by a portal, a worker's phone or doudi: 1 to 64 bytes of
 * printable ASCII. */
static bool check_id(check *c, fpath p, const char *s, bool required)
{
    size_t len = str_len(s);
    if (len == 0)
        return required ? refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_MISSING_FIELD, p,
                                 "missing (1 to %d bytes of printable ASCII required)", ID_MAX_BYTES)
                        : true;
    if (len > ID_MAX_BYTES)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_FIELD_TOO_LONG, p,
                      "%zu bytes, at most %d allowed", len, ID_MAX_BYTES);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, sizeof(w));
        if (!word_printable(w))
            break;
    }
    for (; i < len; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b < 0x20 || b > 0x7e) {
            char shown[SHOWN_MAX_BYTES * 4 + 4];
            return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_BAD_CHARACTERS, p,
                          "byte 0x%02x at offset %zu is not printable ASCII ('%s')", b, i,
                          show(shown, s, len));
        }
    }
    return true;
}

static bool source_char(unsigned char b)
{
    return (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '.' || b == '_' || b == '-';
}

static bool check_source(check *c, const char *s)
{
    fpath p = FIELD("source");
    size_t len = str_len(s);
    if (len == 0)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_MISSING_FIELD, p,
                      "missing (1 to %d bytes of [a-z0-9._-] required)", ID_MAX_BYTES);
    if (len > ID_MAX_BYTES)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_FIELD_TOO_LONG, p,
                      "%zu bytes, at most %d allowed", len, ID_MAX_BYTES);
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)s[i];
        if (!source_char(b)) {
            char shown[SHOWN_MAX_BYTES * 4 + 4];
            return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_BAD_CHARACTERS, p,
                          "byte 0x%02x at offset %zu is not one of a-z 0-9 . _ - ('%s')", b, i,
                          show(shown, s, len));
        }
    }
    return true;
}

/*
 * Offset of the first byte that breaks UTF-8 (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF), or len when s is valid.
 */
static size_t utf8_invalid_at(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char b = s[i];
        if (b < 0x80) {
            i++;
            /* Runs of ASCII, eight bytes at a time. */
            while (i + 8 <= len) {
                uint64_t w;
                memcpy(&w, s + i, sizeof(w));
                if (!word_ascii(w))
                    break;
                i += 8;
            }
            continue;
        }
        /* The common case of Chinese text: a 3-byte form outside the
         * E0 and ED rows, whose special second-byte bounds follow below. */
        if (b > 0xe0 && b <= 0xef && b != 0xed && len - i > 2 && (s[i + 1] & 0xc0) == 0x80 &&
            (s[i + 2] & 0xc0) == 0x80) {
            i += 3;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xbf; /* bounds of the second byte */
        if (b >= 0xc2 && b <= 0xdf) {
            need = 1;
        } else if (b >= 0xe0 && b <= 0xef) {
            need = 2;
            if (b == 0xe0)
                lo = 0xa0; /* no overlong 3-byte forms */
            if (b == 0xed)
                hi = 0x9f; /* no UTF-16 surrogates */
        } else if (b >= 0xf0 && b <= 0xf4) {
            need = 3;
            if (b == 0xf0)
                lo = 0x90; /* no overlong 4-byte forms */
            if (b == 0xf4)
                hi = 0x8f; /* nothing above U+10FFFF */
        } else {
            return i;
        }
        if (len - i <= need)
            return i;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return i;
        i += need + 1;
    }
    return len;
}

/* Free text for a caseworker: optional, at most 512 bytes of UTF-8. */
static bool check_text(check *c, fpath p, const char *s)
{
    size_t len = str_len(s);
    if (len > TEXT_MAX_BYTES)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_FIELD_TOO_LONG, p,
                      "%zu bytes, at most %d allowed", len, TEXT_MAX_BYTES);
    size_t bad = utf8_invalid_at((const unsigned char *)s, len);
    if (bad < len)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_BAD_CHARACTERS, p,
                      "invalid UTF-8 at byte %zu (0x%02x)", bad, (unsigned char)s[bad]);
    return true;
}

/* Explains DD_IDNUM_BAD_DATE without quoting the date, which is the part of
 * the number the mask hides. */
static const char *birth_date_problem(const char *s, size_t len)
{
    int y, m, d;
    if (len == 18) {
        y = (s[6] - '0') * 1000 + (s[7] - '0') * 100 + (s[8] - '0') * 10 + (s[9] - '0');
        m = (s[10] - '0') * 10 + (s[11] - '0');
        d = (s[12] - '0') * 10 + (s[13] - '0');
    } else {
        y = 1900 + (s[6] - '0') * 10 + (s[7] - '0');
        m = (s[8] - '0') * 10 + (s[9] - '0');
        d = (s[10] - '0') * 10 + (s[11] - '0');
    }
    if (!dd_date_is_valid(y, m, d))
        return "is not a calendar date";
    if (y < 1800)
        return "is before 1800";
    return "is after today";
}

/*
 * An identity number in a field ending in person_id(s). A 15-digit number is
 * upgraded in place (the field then points to an arena string) or refused,
 * as the policy says.
 */
static bool check_person_id(check *c, fpath p, char **field, bool required)
{
    const char *s = *field;
    size_t len = str_len(s);
    if (len == 0)
        return required ? refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_MISSING_FIELD, p,
                                 "missing (an 18-character identity number required)")
                        : true;
    dd_idnum_status st = dd_idnum_check(s, len, c->today, NULL);
    if (st == DD_IDNUM_OK)
        return true;
    char shown[64];
    if (len > 32)
        snprintf(shown, sizeof(shown), "%zu characters", len);
    else
        show_person_id(shown, s, len);
    switch (st) {
    case DD_IDNUM_FIFTEEN_DIGITS:
        if (c->rules->id15 == INTAKE_ID15_UPGRADE && c->arena) {
            char *up = dd_arena_alloc(c->arena, 19);
            if (dd_idnum_upgrade15(s, c->today, up) == DD_IDNUM_OK) {
                *field = up;
                if (c->rewritten)
                    *c->rewritten = true;
                return true;
            }
        }
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_ID_FIFTEEN_DIGITS, p,
                      "a 15-digit identity number (%s); it must be sent in its 18-character form",
                      shown);
    case DD_IDNUM_BAD_LENGTH:
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_ID_BAD_LENGTH, p,
                      "%zu characters, expected 18 (%s)", len, shown);
    case DD_IDNUM_BAD_CHARACTER: {
        /* Only 15 and 18 characters get this far; in an 18-character number
         * the last place may also hold an X. */
        size_t digits = len == 18 ? 17 : len;
        for (size_t i = 0; i < digits; i++) {
            unsigned char b = (unsigned char)s[i];
            if (b < '0' || b > '9') {
                if (b >= 0x20 && b < 0x7f)
                    return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_ID_BAD_CHARACTER, p,
                                  "character %zu is '%c', expected a digit (%s)", i + 1, b, shown);
                return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_ID_BAD_CHARACTER, p,
                              "character %zu is byte 0x%02x, expected a digit (%s)", i + 1, b, shown);
            }
        }
        if (len != 18)
            break;
        unsigned char last = (unsigned char)s[17];
        if (last >= 0x20 && last < 0x7f)
            return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_ID_BAD_CHARACTER, p,
                          "check character is '%c', expected a digit or upper-case X (%s)", last, shown);
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_ID_BAD_CHARACTER, p,
                      "check character is byte 0x%02x, expected a digit or upper-case X (%s)", last,
                      shown);
    }
    case DD_IDNUM_BAD_DATE:
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_ID_BAD_DATE, p, "birth date %s (%s)",
                      birth_date_problem(s, len), shown);
    case DD_IDNUM_BAD_CHECK:
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_ID_BAD_CHECK, p,
                      "check character is %c, expected %c (%s)", s[17], dd_idnum_check_char(s), shown);
    case DD_IDNUM_OK:
        return true;
    }
    /* Not reached: every status that is not OK is answered above. */
    return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_ID_BAD_CHARACTER, p, "%s (%s)",
                  dd_idnum_status_text(st), shown);
}

/*
 * An enum field: its value must be one the schema defines, and a field the
 * body needs must not be 0 (UNSPECIFIED, "not reported").
 */
static bool check_enum(check *c, fpath p, const ProtobufCEnumDescriptor *d, int value, bool required)
{
    if (value == 0)
        return required ? refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_MISSING_FIELD, p,
                                 "not set (a %s other than 0 is required)", d->name)
                        : true;
    /* The values are sorted; enums numbered 0, 1, 2... find theirs at once. */
    if (value > 0 && (unsigned)value < d->n_values && d->values[value].value == value)
        return true;
    if (!protobuf_c_enum_descriptor_get_value(d, value))
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_UNKNOWN_ENUM_VALUE, p,
                      "%d is not a value of %s", value, d->name);
    return true;
}

static bool check_money(check *c, fpath p, int64_t fen)
{
    if (fen < 0)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_NEGATIVE_MONEY, p,
                      "%lld fen is negative", (long long)fen);
    if (fen > MONEY_MAX_FEN)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_VALUE_OUT_OF_RANGE, p,
                      "%lld fen is above the limit of %lld fen", (long long)fen,
                      (long long)MONEY_MAX_FEN);
    return true;
}

/* An instant in Unix ms; 0 means "not set". */
static bool check_time(check *c, fpath p, int64_t ms, bool required)
{
    if (ms == 0)
        return required ? refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_MISSING_FIELD, p,
                                 "missing (Unix milliseconds required)")
                        : true;
    if (ms < 0)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_VALUE_OUT_OF_RANGE, p,
                      "%lld is negative (Unix milliseconds)", (long long)ms);
    if (ms > TIME_MAX_MS)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_VALUE_OUT_OF_RANGE, p,
                      "%lld is after the year 9999", (long long)ms);
    return true;
}

/* An instant at which something was observed: it cannot be later than now,
 * give or take the clock skew intake allows. */
static bool check_past_time(check *c, fpath p, int64_t ms, bool required)
{
    if (!check_time(c, p, ms, required))
        return false;
    int64_t ahead;
    if (ms != 0 && !__builtin_sub_overflow(ms, c->now_ms, &ahead) &&
        ahead > c->rules->max_future_skew_ms)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_VALUE_OUT_OF_RANGE, p,
                      "%lld is %lld ms after now; it must have happened already", (long long)ms,
                      (long long)ahead);
    return true;
}

static bool check_range(check *c, fpath p, int64_t v, int64_t lo, int64_t hi)
{
    if (v < lo || v > hi)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_VALUE_OUT_OF_RANGE, p,
                      "%lld is outside %lld..%lld", (long long)v, (long long)lo, (long long)hi);
    return true;
}

/* A calendar month YYYYMM that has begun. */
static bool check_period(check *c, fpath p, int32_t yyyymm)
{
    if (yyyymm == 0)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_MISSING_FIELD, p,
                      "missing (a month YYYYMM required)");
    int year = yyyymm / 100, month = yyyymm % 100;
    if (yyyymm < 0 || year < PERIOD_EARLIEST_YEAR || year > 9999 || month < 1 || month > 12)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_VALUE_OUT_OF_RANGE, p,
                      "%d is not a month YYYYMM from %d on", (int)yyyymm, PERIOD_EARLIEST_YEAR);
    if (yyyymm > c->latest_period)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_VALUE_OUT_OF_RANGE, p,
                      "%d has not begun yet (now is in %d)", (int)yyyymm, (int)c->latest_period);
    return true;
}

/* A list length against its documented cap. */
static bool check_count(check *c, fpath p, size_t n, size_t max)
{
    if (n > max)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_FIELD_TOO_LONG, p,
                      "%zu items, at most %zu allowed", n, max);
    return true;
}

/* The largest field number the protobuf wire format allows. */
#define FIELD_NUMBER_MAX 536870911u

/*
 * Fields of a message that this build does not know are kept (event.proto
 * grows by adding fields), but only with a number the wire format allows:
 * protobuf-c reads a field number 0 written as a padded varint, or one above
 * 2^29 - 1, and writes it back in a form that it cannot read again, so an
 * event re-encoded after a 15-digit upgrade would be unreadable in the log.
 */
static bool check_unknown_fields(check *c, fpath p, const ProtobufCMessage *m)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++) {
        uint32_t number = m->unknown_fields[i].tag;
        if (number == 0 || number > FIELD_NUMBER_MAX)
            return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_UNDECODABLE, p,
                          "field number %u is not valid in the protobuf wire format", number);
    }
    return true;
}

/* The same for a message that may be absent. */
#define KNOWN_FIELDS(c, path, msg) (!(msg) || check_unknown_fields((c), FIELD(path), &(msg)->base))

/* ------------------------------------------------------------------------ */
/* Bodies                                                                    */
/* ------------------------------------------------------------------------ */

#define E(name) (&doudi__##name##__descriptor)

static bool check_person_reported(check *c, Doudi__PersonReported *b)
{
    if (!KNOWN_FIELDS(c, "person_reported", b) ||
        !KNOWN_FIELDS(c, "person_reported.daily_living", b->daily_living) ||
        !check_person_id(c, FIELD("person_reported.person_id"), &b->person_id, true) ||
        !check_id(c, FIELD("person_reported.household_id"), b->household_id, true) ||
        !check_range(c, FIELD("person_reported.disability_grade"), b->disability_grade, 0,
                     DISABILITY_GRADE_MAX) ||
        !check_enum(c, FIELD("person_reported.disability_type"), E(disability_type),
                    b->disability_type, false))
        return false;
    const Doudi__DailyLiving *dl = b->daily_living;
    if (dl) {
        const ProtobufCEnumDescriptor *adl = E(adl_ability);
        if (!check_enum(c, FIELD("person_reported.daily_living.eating"), adl, dl->eating, false) ||
            !check_enum(c, FIELD("person_reported.daily_living.dressing"), adl, dl->dressing, false) ||
            !check_enum(c, FIELD("person_reported.daily_living.getting_in_out_of_bed"), adl,
                        dl->getting_in_out_of_bed, false) ||
            !check_enum(c, FIELD("person_reported.daily_living.toileting"), adl, dl->toileting, false) ||
            !check_enum(c, FIELD("person_reported.daily_living.walking_indoors"), adl,
                        dl->walking_indoors, false) ||
            !check_enum(c, FIELD("person_reported.daily_living.bathing"), adl, dl->bathing, false))
            return false;
    }
    return check_enum(c, FIELD("person_reported.living_arrangement"), E(living_arrangement),
                      b->living_arrangement, false) &&
           check_enum(c, FIELD("person_reported.family_planning_special"),
                      E(family_planning_special), b->family_planning_special, false) &&
           check_enum(c, FIELD("person_reported.work_ability"), E(work_ability), b->work_ability,
                      false) &&
           check_enum(c, FIELD("person_reported.legal_supporter"), E(legal_supporter),
                      b->legal_supporter, false) &&
           check_money(c, FIELD("person_reported.own_monthly_income_fen"),
                       b->own_monthly_income_fen) &&
           check_past_time(c, FIELD("person_reported.died_at_ms"), b->died_at_ms, false);
}

static bool check_household_reported(check *c, Doudi__HouseholdReported *b)
{
    if (!KNOWN_FIELDS(c, "household_reported", b) ||
        !KNOWN_FIELDS(c, "household_reported.rigid_spending_12_months", b->rigid_spending_12_months) ||
        !check_id(c, FIELD("household_reported.household_id"), b->household_id, true) ||
        !check_enum(c, FIELD("household_reported.urban_rural"), E(urban_rural), b->urban_rural,
                    false) ||
        !check_count(c, FIELD("household_reported.member_person_ids"), b->n_member_person_ids,
                     MEMBERS_MAX))
        return false;
    for (size_t i = 0; i < b->n_member_person_ids; i++)
        if (!check_person_id(c, ELEMENT("household_reported.member_person_ids", i, ""),
                             &b->member_person_ids[i], true))
            return false;
    if (!check_count(c, FIELD("household_reported.incomes"), b->n_incomes, LIST_MAX))
        return false;
    for (size_t i = 0; i < b->n_incomes; i++) {
        const Doudi__Income *in = b->incomes[i];
        if (!in)
            continue;
        if (!check_unknown_fields(c, ELEMENT("household_reported.incomes", i, ""), &in->base) ||
            !check_enum(c, ELEMENT("household_reported.incomes", i, ".kind"), E(income_kind),
                        in->kind, false) ||
            !check_money(c, ELEMENT("household_reported.incomes", i, ".monthly_fen"),
                         in->monthly_fen))
            return false;
    }
    if (!check_money(c, FIELD("household_reported.financial_assets_fen"), b->financial_assets_fen) ||
        !check_range(c, FIELD("household_reported.dwellings"), b->dwellings, 0, DWELLINGS_MAX) ||
        !check_count(c, FIELD("household_reported.vehicle_values_fen"), b->n_vehicle_values_fen,
                     LIST_MAX))
        return false;
    for (size_t i = 0; i < b->n_vehicle_values_fen; i++)
        if (!check_money(c, ELEMENT("household_reported.vehicle_values_fen", i, ""),
                         b->vehicle_values_fen[i]))
            return false;
    const Doudi__RigidSpending *rs = b->rigid_spending_12_months;
    if (rs &&
        (!check_money(c, FIELD("household_reported.rigid_spending_12_months.medical_fen"),
                      rs->medical_fen) ||
         !check_money(c, FIELD("household_reported.rigid_spending_12_months.education_fen"),
                      rs->education_fen) ||
         !check_money(c,
                      FIELD("household_reported.rigid_spending_12_months.disability_rehabilitation_fen"),
                      rs->disability_rehabilitation_fen)))
        return false;
    return check_id(c, FIELD("household_reported.merged_into_household_id"),
                    b->merged_into_household_id, false);
}

static bool check_comparison_record(check *c, Doudi__ComparisonRecord *b)
{
    if (!KNOWN_FIELDS(c, "comparison_record", b) ||
        !KNOWN_FIELDS(c, "comparison_record.income", b->income) ||
        !KNOWN_FIELDS(c, "comparison_record.employment", b->employment) ||
        !KNOWN_FIELDS(c, "comparison_record.property", b->property) ||
        !KNOWN_FIELDS(c, "comparison_record.vehicles", b->vehicles) ||
        !KNOWN_FIELDS(c, "comparison_record.assets", b->assets) ||
        !KNOWN_FIELDS(c, "comparison_record.medical_stay", b->medical_stay) ||
        !KNOWN_FIELDS(c, "comparison_record.schooling", b->schooling) ||
        !KNOWN_FIELDS(c, "comparison_record.disability", b->disability) ||
        !KNOWN_FIELDS(c, "comparison_record.death", b->death) ||
        !check_person_id(c, FIELD("comparison_record.subject_person_id"), &b->subject_person_id,
                         true) ||
        !check_enum(c, FIELD("comparison_record.department"), E(department), b->department, true) ||
        !check_period(c, FIELD("comparison_record.period_yyyymm"), b->period_yyyymm))
        return false;
    if (b->income && !check_money(c, FIELD("comparison_record.income.monthly_income_fen"),
                                  b->income->monthly_income_fen))
        return false;
    if (b->employment && !check_money(c, FIELD("comparison_record.employment.monthly_pension_fen"),
                                      b->employment->monthly_pension_fen))
        return false;
    if (b->property && !check_range(c, FIELD("comparison_record.property.dwellings"),
                                    b->property->dwellings, 0, DWELLINGS_MAX))
        return false;
    if (b->vehicles) {
        const Doudi__ComparisonRecord__VehicleFinding *v = b->vehicles;
        if (!check_count(c, FIELD("comparison_record.vehicles.vehicle_values_fen"),
                         v->n_vehicle_values_fen, LIST_MAX))
            return false;
        for (size_t i = 0; i < v->n_vehicle_values_fen; i++)
            if (!check_money(c, ELEMENT("comparison_record.vehicles.vehicle_values_fen", i, ""),
                             v->vehicle_values_fen[i]))
                return false;
    }
    if (b->assets && !check_money(c, FIELD("comparison_record.assets.financial_assets_fen"),
                                  b->assets->financial_assets_fen))
        return false;
    const Doudi__ComparisonRecord__MedicalStayFinding *ms = b->medical_stay;
    if (ms) {
        if (!check_money(c, FIELD("comparison_record.medical_stay.self_pay_fen"), ms->self_pay_fen) ||
            !check_past_time(c, FIELD("comparison_record.medical_stay.admitted_at_ms"),
                             ms->admitted_at_ms, false) ||
            !check_past_time(c, FIELD("comparison_record.medical_stay.discharged_at_ms"),
                             ms->discharged_at_ms, false))
            return false;
        if (ms->discharged_at_ms != 0 && ms->discharged_at_ms < ms->admitted_at_ms)
            return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_VALUE_OUT_OF_RANGE,
                          FIELD("comparison_record.medical_stay.discharged_at_ms"),
                          "%lld is before admitted_at_ms %lld", (long long)ms->discharged_at_ms,
                          (long long)ms->admitted_at_ms);
    }
    if (b->schooling && !check_money(c, FIELD("comparison_record.schooling.yearly_fees_fen"),
                                     b->schooling->yearly_fees_fen))
        return false;
    if (b->disability &&
        (!check_range(c, FIELD("comparison_record.disability.disability_grade"),
                      b->disability->disability_grade, 0, DISABILITY_GRADE_MAX) ||
         !check_enum(c, FIELD("comparison_record.disability.disability_type"), E(disability_type),
                     b->disability->disability_type, false)))
        return false;
    if (b->death && !check_past_time(c, FIELD("comparison_record.death.died_at_ms"),
                                     b->death->died_at_ms, false))
        return false;
    return true;
}

static bool check_risk_signal(check *c, Doudi__RiskSignal *b)
{
    return KNOWN_FIELDS(c, "risk_signal", b) &&
           check_person_id(c, FIELD("risk_signal.subject_person_id"), &b->subject_person_id, true) &&
           check_id(c, FIELD("risk_signal.household_id"), b->household_id, false) &&
           check_enum(c, FIELD("risk_signal.kind"), E(risk_kind), b->kind, true) &&
           check_money(c, FIELD("risk_signal.amount_fen"), b->amount_fen) &&
           check_text(c, FIELD("risk_signal.description"), b->description);
}

static bool check_application(check *c, Doudi__Application *b)
{
    if (!KNOWN_FIELDS(c, "application", b) ||
        !check_id(c, FIELD("application.application_id"), b->application_id, true) ||
        !check_person_id(c, FIELD("application.applicant_person_id"), &b->applicant_person_id,
                         true) ||
        !check_enum(c, FIELD("application.program"), E(program), b->program, true))
        return false;
    /* Temporary assistance is granted where the emergency happened, also to
     * someone whose household is not (yet) in this province's registry. */
    bool household_needed = b->program != DOUDI__PROGRAM__PROGRAM_TEMP;
    if (household_needed && str_len(b->household_id) == 0)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_MISSING_FIELD,
                      FIELD("application.household_id"),
                      "missing (required for every program but PROGRAM_TEMP)");
    return check_id(c, FIELD("application.household_id"), b->household_id, false) &&
           check_money(c, FIELD("application.requested_amount_fen"), b->requested_amount_fen) &&
           check_text(c, FIELD("application.description"), b->description);
}

static bool check_enrolment_change(check *c, Doudi__EnrolmentChange *b)
{
    return KNOWN_FIELDS(c, "enrolment_change", b) &&
           check_person_id(c, FIELD("enrolment_change.person_id"), &b->person_id, true) &&
           check_id(c, FIELD("enrolment_change.household_id"), b->household_id, false) &&
           check_enum(c, FIELD("enrolment_change.program"), E(program), b->program, true) &&
           check_enum(c, FIELD("enrolment_change.action"), E(enrolment_action), b->action, true) &&
           check_money(c, FIELD("enrolment_change.monthly_amount_fen"), b->monthly_amount_fen) &&
           /* May lie ahead: a decision can take effect next month. */
           check_time(c, FIELD("enrolment_change.effective_at_ms"), b->effective_at_ms, false) &&
           check_id(c, FIELD("enrolment_change.decided_by_worker_id"), b->decided_by_worker_id,
                    true) &&
           check_text(c, FIELD("enrolment_change.reason"), b->reason);
}

static bool check_visit_report(check *c, Doudi__VisitReport *b)
{
    if (!KNOWN_FIELDS(c, "visit_report", b) ||
        !check_id(c, FIELD("visit_report.visit_id"), b->visit_id, true) ||
        !check_person_id(c, FIELD("visit_report.subject_person_id"), &b->subject_person_id, true) ||
        !check_id(c, FIELD("visit_report.worker_id"), b->worker_id, true) ||
        !check_past_time(c, FIELD("visit_report.visited_at_ms"), b->visited_at_ms, true) ||
        !check_enum(c, FIELD("visit_report.outcome"), E(visit_outcome), b->outcome, true) ||
        !check_count(c, FIELD("visit_report.findings"), b->n_findings, LIST_MAX))
        return false;
    for (size_t i = 0; i < b->n_findings; i++) {
        const Doudi__VisitFinding *f = b->findings[i];
        if (!f)
            continue;
        /* A finding without its area or severity cannot raise or clear
         * anything: it is a finding only with both. */
        if (!check_unknown_fields(c, ELEMENT("visit_report.findings", i, ""), &f->base) ||
            !check_enum(c, ELEMENT("visit_report.findings", i, ".area"), E(finding_area), f->area,
                        true) ||
            !check_enum(c, ELEMENT("visit_report.findings", i, ".severity"), E(finding_severity),
                        f->severity, true) ||
            !check_text(c, ELEMENT("visit_report.findings", i, ".note"), f->note))
            return false;
    }
    return true;
}

static bool check_roster_change(check *c, Doudi__RosterChange *b)
{
    return KNOWN_FIELDS(c, "roster_change", b) &&
           check_id(c, FIELD("roster_change.worker_id"), b->worker_id, true) &&
           check_enum(c, FIELD("roster_change.action"), E(roster_action), b->action, true) &&
           check_enum(c, FIELD("roster_change.role"), E(worker_role), b->role, true) &&
           check_range(c, FIELD("roster_change.monthly_visit_capacity"), b->monthly_visit_capacity, 0,
                       VISIT_CAPACITY_MAX);
}

static bool check_alert_acknowledgement(check *c, Doudi__AlertAcknowledgement *b)
{
    return KNOWN_FIELDS(c, "alert_acknowledgement", b) &&
           check_id(c, FIELD("alert_acknowledgement.alert_id"), b->alert_id, true) &&
           check_enum(c, FIELD("alert_acknowledgement.action"), E(acknowledgement_action), b->action,
                      true) &&
           check_id(c, FIELD("alert_acknowledgement.by_worker_id"), b->by_worker_id, false) &&
           check_text(c, FIELD("alert_acknowledgement.note"), b->note);
}

/* ------------------------------------------------------------------------ */
/* The envelope                                                              */
/* ------------------------------------------------------------------------ */

static bool check_occurred_at(check *c, int64_t t)
{
    fpath p = FIELD("occurred_at_ms");
    if (t == 0)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_MISSING_FIELD, p,
                      "missing (Unix milliseconds required)");
    if (t < 0)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_VALUE_OUT_OF_RANGE, p,
                      "%lld is negative (Unix milliseconds)", (long long)t);
    int64_t ahead;
    if (__builtin_sub_overflow(t, c->now_ms, &ahead) || ahead > c->rules->max_future_skew_ms)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_TIME_IN_FUTURE, p,
                      "%lld is %lld ms after now, more than the allowed clock skew of %lld ms",
                      (long long)t, (long long)ahead, (long long)c->rules->max_future_skew_ms);
    int64_t age;
    if (c->rules->max_age_ms > 0 && !__builtin_sub_overflow(c->now_ms, t, &age) &&
        age > c->rules->max_age_ms)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_TIME_TOO_OLD, p,
                      "%lld is %lld days before now, more than the accepted %lld days",
                      (long long)t, (long long)(age / 86400000),
                      (long long)(c->rules->max_age_ms / 86400000));
    return true;
}

static bool check_region(check *c, const char *code, bool office)
{
    size_t len = str_len(code);
    if (len == 0)
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_MISSING_FIELD, FIELD("region_code"),
                      "missing (a 12-digit division code required)");
    if (!dd_region_code_well_formed(code, len)) {
        char shown[SHOWN_MAX_BYTES * 4 + 4];
        return refuse(c, DOUDI__REJECT_REASON__REJECT_REASON_REGION_BAD_FORMAT, FIELD("region_code"),
                      "'%s' is not 12 digits", show(shown, code, len));
    }
    const dd_divisions *d = c->rules->divisions;
    if (!d)
        return true;
    if (office ? dd_divisions_contains_area(d, code) : dd_divisions_contains(d, code))
        return true;
    return say(c->verdict, DOUDI__REJECT_REASON__REJECT_REASON_REGION_UNKNOWN,
               "region_code %s is not in the division table (%zu codes)%s", code,
               dd_divisions_count(d), office ? " nor an area above a code in it" : "");
}

static bool check_body(check *c, Doudi__Envelope *env)
{
    switch (env->body_case) {
    case DOUDI__ENVELOPE__BODY_PERSON_REPORTED:
        return check_person_reported(c, env->person_reported);
    case DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED:
        return check_household_reported(c, env->household_reported);
    case DOUDI__ENVELOPE__BODY_COMPARISON_RECORD:
        return check_comparison_record(c, env->comparison_record);
    case DOUDI__ENVELOPE__BODY_RISK_SIGNAL:
        return check_risk_signal(c, env->risk_signal);
    case DOUDI__ENVELOPE__BODY_APPLICATION:
        return check_application(c, env->application);
    case DOUDI__ENVELOPE__BODY_ENROLMENT_CHANGE:
        return check_enrolment_change(c, env->enrolment_change);
    case DOUDI__ENVELOPE__BODY_VISIT_REPORT:
        return check_visit_report(c, env->visit_report);
    case DOUDI__ENVELOPE__BODY_ROSTER_CHANGE:
        return check_roster_change(c, env->roster_change);
    case DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT:
        return check_alert_acknowledgement(c, env->alert_acknowledgement);
    case DOUDI__ENVELOPE__BODY__NOT_SET:
    default:
        break;
    }
    return false; /* check_body_set() came first */
}

/* Whether a body of a known kind is present; refuses the event otherwise. */
static bool check_body_set(check *c, const Doudi__Envelope *env)
{
    bool known = false;
    switch (env->body_case) {
    case DOUDI__ENVELOPE__BODY_PERSON_REPORTED:
    case DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED:
    case DOUDI__ENVELOPE__BODY_COMPARISON_RECORD:
    case DOUDI__ENVELOPE__BODY_RISK_SIGNAL:
    case DOUDI__ENVELOPE__BODY_APPLICATION:
    case DOUDI__ENVELOPE__BODY_ENROLMENT_CHANGE:
    case DOUDI__ENVELOPE__BODY_VISIT_REPORT:
    case DOUDI__ENVELOPE__BODY_ROSTER_CHANGE:
    case DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT:
        /* Every member of the oneof is a message pointer at the same place. */
        known = env->person_reported != NULL;
        break;
    case DOUDI__ENVELOPE__BODY__NOT_SET:
    default:
        break;
    }
    if (known)
        return true;
    /* A body kind added to event.proto after this build decodes as an
     * unknown field; saying its number tells the portal what happened. */
    for (size_t i = 0; i < env->base.n_unknown_fields; i++) {
        uint32_t tag = env->base.unknown_fields[i].tag;
        if (tag >= 10 && tag < 100)
            return say(c->verdict, DOUDI__REJECT_REASON__REJECT_REASON_UNKNOWN_BODY,
                       "body: field %u is not a body kind this intake knows (a newer event.proto?)",
                       tag);
    }
    return say(c->verdict, DOUDI__REJECT_REASON__REJECT_REASON_UNKNOWN_BODY,
               "body: no body is set (one of person_reported .. alert_acknowledgement required)");
}

/* YYYYMM of the Asia/Shanghai month of an instant. */
static int32_t month_of(int64_t ms)
{
    return dd_date_yyyymmdd_shanghai(ms) / 100;
}

bool intake_validate(Doudi__Envelope *env, const intake_rules *rules, int64_t now_ms,
                     dd_arena *arena, bool *rewritten, intake_verdict *verdict)
{
    verdict->reason = DOUDI__REJECT_REASON__REJECT_REASON_UNSPECIFIED;
    verdict->text[0] = '\0';
    if (rewritten)
        *rewritten = false;
    int64_t latest;
    if (__builtin_add_overflow(now_ms, rules->max_future_skew_ms > 0 ? rules->max_future_skew_ms : 0,
                               &latest))
        latest = INT64_MAX;
    check c = {
        .rules = rules,
        .now_ms = now_ms,
        .today = dd_date_yyyymmdd_shanghai(now_ms),
        .latest_period = month_of(latest),
        .arena = arena,
        .rewritten = rewritten,
        .verdict = verdict,
    };
    return check_unknown_fields(&c, FIELD("event"), &env->base) &&
           check_id(&c, FIELD("event_id"), env->event_id, true) &&
           check_source(&c, env->source) && check_occurred_at(&c, env->occurred_at_ms) &&
           check_body_set(&c, env) &&
           check_region(&c, env->region_code,
                        env->body_case == DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT) &&
           check_body(&c, env);
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                  */
/* ------------------------------------------------------------------------ */

/* Appends ".name" or ".name[i]" to path; returns the old length. */
/* Puts field name (with its list index, if any) in front of path: the path
 * is made on the way back from a find, so events without one cost nothing. */
static void path_prepend(char *path, size_t cap, const char *name, long index)
{
    char segment[96];
    if (index >= 0)
        snprintf(segment, sizeof(segment), "%s[%ld]", name, index);
    else
        snprintf(segment, sizeof(segment), "%s", name);
    size_t sl = strlen(segment), pl = strlen(path);
    size_t dot = pl ? 1 : 0;
    if (sl + dot + pl >= cap)
        return; /* the deeper part stays */
    memmove(path + sl + dot, path, pl + 1);
    memcpy(path, segment, sl);
    if (dot)
        path[sl] = '.';
}

/*
 * protobuf-c copies a string's bytes and appends a NUL, so a string with a
 * NUL inside decodes as its part before the NUL: intake would judge one
 * value and store another (the raw bytes are what is stored). This walks the
 * wire format of an already decoded event, string fields only, and finds
 * such a string. Returns 1 (path set) when it finds one, 0 when there is
 * none, -1 if the bytes are not wire format after all.
 */
static int find_nul_string(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end,
                           char *path, size_t cap, int depth)
{
    unsigned seen[64] = {0}; /* occurrences per field, for list indexes */
    while (p < end) {
        uint64_t key, n;
        if (!dd_wire_u64(&p, end, &key))
            return -1;
        switch (key & 7) {
        case 0:
            if (!dd_wire_u64(&p, end, &n))
                return -1;
            continue;
        case 1:
            if (end - p < 8)
                return -1;
            p += 8;
            continue;
        case 5:
            if (end - p < 4)
                return -1;
            p += 4;
            continue;
        case 2:
            break;
        default:
            return -1;
        }
        if (!dd_wire_u64(&p, end, &n) || n > (uint64_t)(end - p))
            return -1;
        const uint8_t *payload = p;
        p += n;
        if (key >> 3 > UINT32_MAX)
            continue;
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
        if (!f)
            continue;
        size_t fi = (size_t)(f - d->fields);
        long index = -1;
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            index = fi < 64 ? (long)seen[fi]++ : 0;
        if (f->type == PROTOBUF_C_TYPE_STRING && n > 0 && memchr(payload, 0, n)) {
            path_prepend(path, cap, f->name, index);
            return 1;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth < 8) {
            int r = find_nul_string(f->descriptor, payload, payload + n, path, cap, depth + 1);
            if (r > 0)
                path_prepend(path, cap, f->name, index);
            if (r != 0)
                return r;
        }
    }
    return 0;
}

bool intake_decode(const uint8_t *bytes, size_t len, const intake_rules *rules, dd_arena *arena,
                   Doudi__Envelope **out, intake_verdict *verdict)
{
    *out = NULL;
    verdict->reason = DOUDI__REJECT_REASON__REJECT_REASON_UNSPECIFIED;
    verdict->text[0] = '\0';
    if (rules->max_event_bytes > 0 && len > rules->max_event_bytes)
        return say(verdict, DOUDI__REJECT_REASON__REJECT_REASON_EVENT_TOO_LARGE,
                   "event: %zu bytes, at most %zu allowed", len, rules->max_event_bytes);
    static const uint8_t nothing[1];
    if (len == 0)
        bytes = nothing; /* a valid (empty) encoding; the checks say what is missing */
    Doudi__Envelope *env = NULL;
    ProtobufCMessage *fast;
    bool decoded_fast = dd_wire_decode(&doudi__envelope__descriptor, bytes, len, DD_WIRE_NO_NUL,
                                       arena, &fast);
    if (decoded_fast) {
        env = (Doudi__Envelope *)fast;
    } else {
        ProtobufCAllocator alloc = dd_arena_protobuf_allocator(arena);
        env = doudi__envelope__unpack(&alloc, len, bytes);
    }
    if (!env)
        return say(verdict, DOUDI__REJECT_REASON__REJECT_REASON_UNDECODABLE,
                   "event: %zu bytes that are not an encoded doudi.Envelope", len);
    /* The fast decoder declines a string holding a NUL, so only an event it
     * declined can hold one, and only if its bytes hold a zero byte. */
    if (!decoded_fast && len > 0 && memchr(bytes, 0, len)) {
        char path[160] = "";
        int r = find_nul_string(&doudi__envelope__descriptor, bytes, bytes + len, path, sizeof(path), 0);
        if (r > 0)
            return say(verdict, DOUDI__REJECT_REASON__REJECT_REASON_BAD_CHARACTERS,
                       "%s: contains a NUL byte", path);
        if (r < 0)
            return say(verdict, DOUDI__REJECT_REASON__REJECT_REASON_UNDECODABLE,
                       "event: %zu bytes that are not an encoded doudi.Envelope", len);
    }
    *out = env;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Labels                                                                    */
/* ------------------------------------------------------------------------ */

#define LABELS_MAX 64
#define LABEL_BYTES 48

static char labels[LABELS_MAX][LABEL_BYTES];
static pthread_once_t labels_once = PTHREAD_ONCE_INIT;

/*
 * Built from the generated descriptor so that a reason added to
 * publish.proto gets its label without a change here: the name without the
 * prefix that value 0 ("REJECT_REASON_UNSPECIFIED") shows, in lower case.
 */
static void build_labels(void)
{
    const ProtobufCEnumDescriptor *d = &doudi__reject_reason__descriptor;
    const ProtobufCEnumValue *zero = protobuf_c_enum_descriptor_get_value(d, 0);
    const char *prefix = "";
    size_t prefix_len = 0;
    if (zero) {
        const char *u = strstr(zero->name, "UNSPECIFIED");
        if (u) {
            prefix = zero->name;
            prefix_len = (size_t)(u - zero->name);
        }
    }
    for (unsigned i = 0; i < d->n_values && i < LABELS_MAX; i++) {
        const char *s = d->values[i].name;
        if (strncmp(s, prefix, prefix_len) == 0)
            s += prefix_len;
        size_t k = 0;
        for (; s[k] && k + 1 < LABEL_BYTES; k++)
            labels[i][k] = (char)(s[k] >= 'A' && s[k] <= 'Z' ? s[k] - 'A' + 'a' : s[k]);
        labels[i][k] = '\0';
    }
}

const char *intake_reason_label(Doudi__RejectReason reason)
{
    pthread_once(&labels_once, build_labels);
    const ProtobufCEnumDescriptor *d = &doudi__reject_reason__descriptor;
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, (int)reason);
    if (!v || v->value == 0)
        return "unspecified";
    size_t i = (size_t)(v - d->values);
    return i < LABELS_MAX ? labels[i] : "unspecified";
}
