/*
 * pbjson.c: the proto3 JSON mapping, driven by protobuf-c's descriptors.
 *
 * Nothing here knows a doudi message: every field is reached through its
 * ProtobufCFieldDescriptor (offset, label, type, quantifier_offset), so a new
 * .proto needs no code. Two rules keep it honest:
 *
 *   - Writing follows protobuf_c_message_pack(): a field appears in the JSON
 *     exactly when pack would put it on the wire, so JSON and binary never
 *     disagree about what a message holds.
 *   - Parsing builds memory the way protobuf_c_message_unpack() does with the
 *     default allocator (every string, array, byte buffer and submessage its
 *     own malloc block), and keeps the message freeable after every single
 *     store, so an error anywhere is cleaned up by one
 *     protobuf_c_message_free_unpacked().
 *
 * dd_malloc and friends are plain malloc underneath, which is what the default
 * allocator's free expects.
 */
#include "pbjson.h"

#include "alloc.h"
#include "error.h"
#include "wire.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Google's C++ and Python parsers stop at this depth by default; so do we. */
#define PBJSON_MAX_DEPTH 100

/* Room for a field path in an error; longer paths are cut, not refused. */
#define PBJSON_PATH_MAX 256

/* The smallest magnitude that rounds to infinity as a float (FLT_MAX plus half
 * an ulp): anything below it is a float, however imprecisely. */
#define FLOAT_OVERFLOW_AT 0x1.ffffffp+127

/* ------------------------------------------------------------------------ */
/* Descriptor helpers                                                        */
/* ------------------------------------------------------------------------ */

static void *at(void *msg, unsigned offset)
{
    return (char *)msg + offset;
}

static const void *cat(const void *msg, unsigned offset)
{
    return (const char *)msg + offset;
}

static bool is_oneof(const ProtobufCFieldDescriptor *f)
{
    return (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
}

/* Pointer-typed fields mark presence by the pointer, the others by has_. */
static bool is_pointer_type(ProtobufCType type)
{
    return type == PROTOBUF_C_TYPE_STRING || type == PROTOBUF_C_TYPE_MESSAGE;
}

static const char *type_name(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32: return "int32";
    case PROTOBUF_C_TYPE_SINT32: return "sint32";
    case PROTOBUF_C_TYPE_SFIXED32: return "sfixed32";
    case PROTOBUF_C_TYPE_INT64: return "int64";
    case PROTOBUF_C_TYPE_SINT64: return "sint64";
    case PROTOBUF_C_TYPE_SFIXED64: return "sfixed64";
    case PROTOBUF_C_TYPE_UINT32: return "uint32";
    case PROTOBUF_C_TYPE_FIXED32: return "fixed32";
    case PROTOBUF_C_TYPE_UINT64: return "uint64";
    case PROTOBUF_C_TYPE_FIXED64: return "fixed64";
    case PROTOBUF_C_TYPE_FLOAT: return "float";
    case PROTOBUF_C_TYPE_DOUBLE: return "double";
    case PROTOBUF_C_TYPE_BOOL: return "bool";
    case PROTOBUF_C_TYPE_ENUM: return "enum";
    case PROTOBUF_C_TYPE_STRING: return "string";
    case PROTOBUF_C_TYPE_BYTES: return "bytes";
    case PROTOBUF_C_TYPE_MESSAGE: return "message";
    }
    return "?";
}

/* A new message of type desc at its defaults, freeable by free_unpacked.
 * Zeroed first so that a oneof union holds NULL whichever member is read. */
static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *desc)
{
    assert(desc->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
    ProtobufCMessage *msg = dd_calloc(1, desc->sizeof_message);
    protobuf_c_message_init(desc, msg);
    return msg;
}

/* ------------------------------------------------------------------------ */
/* Field names                                                               */
/* ------------------------------------------------------------------------ */

/*
 * protoc derives a field's JSON name by dropping each underscore and
 * upper-casing the character after it ("rigid_spending_12_months" becomes
 * "rigidSpending12Months"); protobuf-c's descriptors do not carry it, so it is
 * derived again here, byte for byte the same way. ASCII only: proto
 * identifiers are.
 */
static char ascii_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Writes the JSON name of name into out, which holds strlen(name) + 1. */
static void json_name(const char *name, char *out)
{
    bool upper = false;
    for (; *name; name++) {
        if (*name == '_') {
            upper = true;
        } else {
            *out++ = upper ? ascii_upper(*name) : *name;
            upper = false;
        }
    }
    *out = '\0';
}

static bool key_is_json_name(const char *name, const char *key)
{
    bool upper = false;
    for (; *name; name++) {
        if (*name == '_') {
            upper = true;
            continue;
        }
        if (*key++ != (upper ? ascii_upper(*name) : *name))
            return false;
        upper = false;
    }
    return *key == '\0';
}

/* Both spellings are accepted, as Google's parsers do. */
static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *desc,
                                                  const char *key)
{
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (key_is_json_name(f->name, key) || strcmp(f->name, key) == 0)
            return f;
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Base64 (RFC 4648, section 4 and, when reading, section 5)                 */
/* ------------------------------------------------------------------------ */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard alphabet with padding: what every Google runtime writes. */
static char *base64_encode(const uint8_t *data, size_t len, size_t *out_len)
{
    size_t n = (len + 2) / 3 * 4;
    char *out = dd_malloc(n + 1);
    char *p = out;
    size_t i = 0;
    for (; len - i >= 3; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        *p++ = b64_alphabet[v >> 18];
        *p++ = b64_alphabet[(v >> 12) & 63];
        *p++ = b64_alphabet[(v >> 6) & 63];
        *p++ = b64_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)data[i] << 16;
        *p++ = b64_alphabet[v >> 18];
        *p++ = b64_alphabet[(v >> 12) & 63];
        *p++ = '=';
        *p++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
        *p++ = b64_alphabet[v >> 18];
        *p++ = b64_alphabet[(v >> 12) & 63];
        *p++ = b64_alphabet[(v >> 6) & 63];
        *p++ = '=';
    }
    *p = '\0';
    *out_len = n;
    return out;
}

/* The 6-bit value of c, noting which alphabet it belongs to; -1 if neither. */
static int base64_value(unsigned char c, bool *standard, bool *url_safe)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '/') {
        *standard = true;
        return c == '+' ? 62 : 63;
    }
    if (c == '-' || c == '_') {
        *url_safe = true;
        return c == '-' ? 62 : 63;
    }
    return -1;
}

/*
 * Decodes s[0..len-1], standard or URL-safe, padded or not (Go and Java can
 * be told to write unpadded URL-safe). Returns NULL and the bytes in *out,
 * malloc'ed (NULL when empty), or why s is not base64. Bits below the last
 * whole byte are ignored, as every Google runtime ignores them.
 */
static const char *base64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len)
{
    size_t pad = 0;
    while (len > 0 && s[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if (pad > 0 && (len + pad) % 4 != 0)
        return "wrong padding";

    bool standard = false, url_safe = false;
    uint8_t *buf = len ? dd_malloc(len / 4 * 3 + 2) : NULL;
    size_t n = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        int v = base64_value((unsigned char)s[i], &standard, &url_safe);
        if (v < 0) {
            free(buf);
            return s[i] == '=' ? "'=' before the end" : "a character outside the alphabet";
        }
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            buf[n++] = (uint8_t)(acc >> 16);
            buf[n++] = (uint8_t)(acc >> 8);
            buf[n++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (standard && url_safe) {
        free(buf);
        return "mixes the standard and URL-safe alphabets";
    }
    if (len % 4 == 1) {
        free(buf); /* 6 bits cannot end a byte */
        return "wrong length";
    }
    if (len % 4 == 2) {
        buf[n++] = (uint8_t)(acc >> 4);
    } else if (len % 4 == 3) {
        buf[n++] = (uint8_t)(acc >> 10);
        buf[n++] = (uint8_t)(acc >> 2);
    }
    *out = buf;
    *out_len = n;
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

/* jansson returns NULL only when malloc fails; doudi aborts then (alloc.h). */
static json_t *must(json_t *v)
{
    if (!v) {
        fprintf(stderr, "doudi: out of memory building JSON; aborting\n");
        abort();
    }
    return v;
}

static void must_set(json_t *obj, const char *key, json_t *value)
{
    if (json_object_set_new(obj, key, must(value)) != 0)
        must(NULL);
}

static void must_append(json_t *arr, json_t *value)
{
    if (json_array_append_new(arr, must(value)) != 0)
        must(NULL);
}

/* Length of the well-formed UTF-8 sequence at s[0..n-1], or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/*
 * protobuf-c does not check that a string field is UTF-8 when it unpacks, so
 * one from the wire may not be; JSON text must be. Each byte that does not
 * start a well-formed sequence becomes U+FFFD, the way a lenient decoder
 * shows it, rather than losing the whole message.
 */
static json_t *string_json(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    char *clean = dd_malloc(n * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_sequence((const unsigned char *)s + i, n - i);
        if (k) {
            memcpy(clean + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(clean + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    j = must(json_stringn(clean, o));
    free(clean);
    return j;
}

/* JSON has no NaN or infinities: the mapping spells them as strings. */
static json_t *double_json(double d)
{
    if (isnan(d))
        return json_string("NaN");
    if (isinf(d))
        return json_string(d > 0 ? "Infinity" : "-Infinity");
    return json_real(d);
}

static json_t *message_json(const ProtobufCMessage *msg);

/* One value of field f stored at slot. */
static json_t *value_json(const ProtobufCFieldDescriptor *f, const void *slot)
{
    char num[24];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)slot);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)slot);
    /* 64-bit integers are strings: JavaScript's numbers stop at 2^53. */
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(num, sizeof num, "%" PRId64, *(const int64_t *)slot);
        return json_string(num);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(num, sizeof num, "%" PRIu64, *(const uint64_t *)slot);
        return json_string(num);
    case PROTOBUF_C_TYPE_FLOAT:
        /* The float's exact value as a double: reads back to the same float. */
        return double_json(*(const float *)slot);
    case PROTOBUF_C_TYPE_DOUBLE:
        return double_json(*(const double *)slot);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)slot);
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t v = *(const int32_t *)slot;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        /* A number the schema does not know (a newer sender) stays a number. */
        return ev ? json_string(ev->name) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING:
        return string_json(*(char *const *)slot);
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *bd = slot;
        size_t n;
        char *text = base64_encode(bd->data, bd->len, &n);
        json_t *j = json_stringn(text, n);
        free(text);
        return j;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;
        /* Only a repeated element can be NULL here; pack writes it empty. */
        return sub ? message_json(sub) : json_object();
    }
    }
    abort();
}

/* Whether protobuf_c_message_pack() would write field f of msg. */
static bool field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const void *slot = cat(msg, f->offset);
    const void *ptr = is_pointer_type(f->type) ? *(const void *const *)slot : NULL;

    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)cat(msg, f->quantifier_offset) > 0;
    if (is_oneof(f)) {
        if (*(const uint32_t *)cat(msg, f->quantifier_offset) != f->id)
            return false;
        return !is_pointer_type(f->type) || (ptr && ptr != f->default_value);
    }
    switch (f->label) {
    case PROTOBUF_C_LABEL_REQUIRED:
        return true;
    case PROTOBUF_C_LABEL_OPTIONAL:
        if (is_pointer_type(f->type))
            return ptr && ptr != f->default_value;
        return *(const protobuf_c_boolean *)cat(msg, f->quantifier_offset);
    case PROTOBUF_C_LABEL_NONE:
        break;
    case PROTOBUF_C_LABEL_REPEATED:
        return false; /* handled above */
    }

    /* proto3: present unless it holds the type's zero. */
    switch (f->type) {
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)slot != 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)slot != 0;
    case PROTOBUF_C_TYPE_STRING:
        return ptr && *(const char *)ptr != '\0';
    case PROTOBUF_C_TYPE_MESSAGE:
        return ptr != NULL;
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)slot)->len != 0;
    default:
        if (dd_wire_element_size(f->type) == 8)
            return *(const uint64_t *)slot != 0;
        return *(const uint32_t *)slot != 0;
    }
}

static json_t *message_json(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    assert(desc && desc->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
    json_t *obj = must(json_object());
    char small[64];

    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (!field_present(msg, f))
            continue;

        size_t name_len = strlen(f->name);
        char *name = name_len < sizeof small ? small : dd_malloc(name_len + 1);
        json_name(f->name, name);

        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)cat(msg, f->quantifier_offset);
            const char *arr = *(const char *const *)cat(msg, f->offset);
            size_t size = dd_wire_element_size(f->type);
            json_t *list = must(json_array());
            for (size_t k = 0; k < n; k++)
                must_append(list, value_json(f, arr + k * size));
            must_set(obj, name, list);
        } else {
            must_set(obj, name, value_json(f, cat(msg, f->offset)));
        }
        if (name != small)
            free(name);
    }
    /* Unknown fields kept by unpack have no JSON form; Google drops them too. */
    return obj;
}

json_t *dd_pbjson_to_json(const ProtobufCMessage *msg)
{
    assert(msg);
    return message_json(msg);
}

char *dd_pbjson_format(const ProtobufCMessage *msg)
{
    json_t *obj = dd_pbjson_to_json(msg);
    /* Measured first, so the caller frees our malloc and not jansson's. */
    size_t n = json_dumpb(obj, NULL, 0, JSON_COMPACT);
    char *text = dd_malloc(n + 1);
    if (json_dumpb(obj, text, n, JSON_COMPACT) != n)
        must(NULL);
    text[n] = '\0';
    json_decref(obj);
    return text;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                   */
/* ------------------------------------------------------------------------ */

struct parse {
    char path[PBJSON_PATH_MAX]; /* "personReported.incomes[2].kind" */
    size_t path_len;
    char *err;
    size_t errlen;
    int depth;
};

static void path_append(struct parse *p, const char *s, size_t n)
{
    size_t room = sizeof p->path - 1 - p->path_len;
    if (n > room)
        n = room;
    for (size_t i = 0; i < n; i++) {
        /* A key comes from the input: keep control bytes out of log lines. */
        unsigned char c = (unsigned char)s[i];
        p->path[p->path_len++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    p->path[p->path_len] = '\0';
}

static size_t path_push_name(struct parse *p, const char *name)
{
    size_t saved = p->path_len;
    if (p->path_len > 0)
        path_append(p, ".", 1);
    path_append(p, name, strlen(name));
    return saved;
}

static size_t path_push_field(struct parse *p, const ProtobufCFieldDescriptor *f)
{
    char small[64];
    size_t n = strlen(f->name);
    char *name = n < sizeof small ? small : dd_malloc(n + 1);
    json_name(f->name, name);
    size_t saved = path_push_name(p, name);
    if (name != small)
        free(name);
    return saved;
}

static size_t path_push_index(struct parse *p, size_t index)
{
    char buf[32];
    size_t saved = p->path_len;
    int n = snprintf(buf, sizeof buf, "[%zu]", index);
    path_append(p, buf, (size_t)n);
    return saved;
}

static void path_pop(struct parse *p, size_t saved)
{
    p->path_len = saved;
    p->path[saved] = '\0';
}

/* Writes "path: sentence" into the caller's buffer; returns DD_EPROTO. */
__attribute__((format(printf, 2, 3)))
static int fail(struct parse *p, const char *fmt, ...)
{
    if (!p->err || p->errlen == 0)
        return DD_EPROTO;
    size_t used = 0;
    if (p->path_len > 0) {
        int n = snprintf(p->err, p->errlen, "%s: ", p->path);
        used = n < 0 ? 0 : (size_t)n;
        if (used >= p->errlen)
            return DD_EPROTO;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + used, p->errlen - used, fmt, ap);
    va_end(ap);
    return DD_EPROTO;
}

/* The shortest %g form that reads back as d, for messages. */
static void format_double(double d, char *buf, size_t n)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* The value as it appeared in the input, short enough for a log line. */
static void value_text(const json_t *v, char *buf, size_t n)
{
    switch (json_typeof(v)) {
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v), cut = len;
        if (cut > 40) {
            cut = 40;
            while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
                cut--; /* not inside a UTF-8 sequence */
        }
        char shown[48];
        for (size_t i = 0; i < cut; i++) {
            unsigned char c = (unsigned char)s[i];
            shown[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
        }
        shown[cut] = '\0';
        snprintf(buf, n, "\"%s\"%s", shown, cut < len ? "..." : "");
        break;
    }
    case JSON_INTEGER:
        snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        format_double(json_real_value(v), buf, n);
        break;
    case JSON_TRUE: snprintf(buf, n, "true"); break;
    case JSON_FALSE: snprintf(buf, n, "false"); break;
    case JSON_NULL: snprintf(buf, n, "null"); break;
    case JSON_OBJECT: snprintf(buf, n, "{...}"); break;
    case JSON_ARRAY: snprintf(buf, n, "[...]"); break;
    }
}

/* "string \"x\"", "number 1.5", "an object": what was found instead. */
static void describe(const json_t *v, char *buf, size_t n)
{
    char text[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: snprintf(buf, n, "an object"); return;
    case JSON_ARRAY: snprintf(buf, n, "an array"); return;
    case JSON_STRING:
        value_text(v, text, sizeof text);
        snprintf(buf, n, "string %s", text);
        return;
    case JSON_INTEGER:
    case JSON_REAL:
        value_text(v, text, sizeof text);
        snprintf(buf, n, "number %s", text);
        return;
    default:
        value_text(v, buf, n);
        return;
    }
}

static int fail_type(struct parse *p, const char *expected, const json_t *v)
{
    char got[80];
    describe(v, got, sizeof got);
    return fail(p, "expected %s, got %s", expected, got);
}

static int fail_range(struct parse *p, const ProtobufCFieldDescriptor *f, const json_t *v)
{
    char text[64];
    value_text(v, text, sizeof text);
    return fail(p, "value %s is out of range for %s", text,
                f->type == PROTOBUF_C_TYPE_ENUM ? "an enum (int32)" : type_name(f->type));
}

/* A JSON string's bytes, or NULL if it holds a NUL (C strings cannot). */
static const char *c_string(const json_t *v, size_t *len)
{
    const char *s = json_string_value(v);
    *len = json_string_length(v);
    return memchr(s, '\0', *len) ? NULL : s;
}

/*
 * Any integer JSON can spell, as sign and magnitude so that the whole of
 * int64 and uint64 fits: a number (an integral real such as 1e3 included) or
 * a string of decimal digits with an optional '-', which is how int64 and
 * uint64 travel.
 */
static int parse_integer(struct parse *p, const ProtobufCFieldDescriptor *f, const json_t *v,
                         bool *neg, uint64_t *mag)
{
    switch (json_typeof(v)) {
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        *neg = i < 0;
        *mag = i < 0 ? (uint64_t)(-(i + 1)) + 1 : (uint64_t)i;
        return 0;
    }
    case JSON_REAL: {
        double d = json_real_value(v);
        if (!isfinite(d) || d != trunc(d))
            return fail_type(p, "an integer", v);
        if (fabs(d) >= 0x1p64)
            return fail_range(p, f, v);
        *neg = d < 0;
        *mag = (uint64_t)fabs(d);
        return 0;
    }
    case JSON_STRING: {
        size_t len;
        const char *s = c_string(v, &len);
        size_t i = 0;
        if (s && len > 0 && s[0] == '-')
            i = 1;
        if (!s || i == len)
            return fail_type(p, "an integer", v);
        uint64_t m = 0;
        bool overflow = false;
        for (; i < len; i++) {
            if (s[i] < '0' || s[i] > '9')
                return fail_type(p, "an integer", v);
            unsigned digit = (unsigned)(s[i] - '0');
            if (m > (UINT64_MAX - digit) / 10)
                overflow = true;
            m = m * 10 + digit;
        }
        if (overflow)
            return fail_range(p, f, v);
        *neg = s[0] == '-' && m != 0; /* "-0" is zero */
        *mag = m;
        return 0;
    }
    default:
        return fail_type(p, "an integer", v);
    }
}

static int parse_int32(struct parse *p, const ProtobufCFieldDescriptor *f, const json_t *v,
                       int32_t *out)
{
    bool neg;
    uint64_t mag;
    int rc = parse_integer(p, f, v, &neg, &mag);
    if (rc)
        return rc;
    if (mag > (neg ? (uint64_t)INT32_MAX + 1 : (uint64_t)INT32_MAX))
        return fail_range(p, f, v);
    *out = neg ? (int32_t)(-(int64_t)mag) : (int32_t)mag;
    return 0;
}

static int parse_integer_field(struct parse *p, const ProtobufCFieldDescriptor *f,
                               const json_t *v, void *slot)
{
    bool neg;
    uint64_t mag;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return parse_int32(p, f, v, slot);
    default:
        break;
    }
    int rc = parse_integer(p, f, v, &neg, &mag);
    if (rc)
        return rc;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (mag > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
            return fail_range(p, f, v);
        *(int64_t *)slot = neg ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if ((neg && mag != 0) || mag > UINT32_MAX)
            return fail_range(p, f, v);
        *(uint32_t *)slot = (uint32_t)mag;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (neg && mag != 0)
            return fail_range(p, f, v);
        *(uint64_t *)slot = mag;
        return 0;
    default:
        abort();
    }
}

/* Exactly JSON's number grammar: strtod alone would also take " 1", "0x1p3",
 * "inf" and "nan(...)". */
static bool is_json_number(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0') {
        s++;
    } else if (*s >= '1' && *s <= '9') {
        while (*s >= '0' && *s <= '9')
            s++;
    } else {
        return false;
    }
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

static int parse_floating(struct parse *p, const ProtobufCFieldDescriptor *f, const json_t *v,
                          void *slot)
{
    double d;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        d = (double)json_integer_value(v);
        break;
    case JSON_REAL:
        d = json_real_value(v);
        break;
    case JSON_STRING: {
        size_t len;
        const char *s = c_string(v, &len);
        if (!s)
            return fail_type(p, "a number", v);
        if (strcmp(s, "NaN") == 0) {
            d = NAN;
        } else if (strcmp(s, "Infinity") == 0) {
            d = INFINITY;
        } else if (strcmp(s, "-Infinity") == 0) {
            d = -INFINITY;
        } else if (is_json_number(s)) {
            errno = 0;
            d = strtod(s, NULL);
            if (errno == ERANGE && isinf(d))
                return fail_range(p, f, v);
        } else {
            return fail_type(p, "a number", v);
        }
        break;
    }
    default:
        return fail_type(p, "a number", v);
    }
    if (f->type == PROTOBUF_C_TYPE_DOUBLE) {
        *(double *)slot = d;
        return 0;
    }
    if (isfinite(d) && fabs(d) >= FLOAT_OVERFLOW_AT)
        return fail_range(p, f, v);
    *(float *)slot = (float)d;
    return 0;
}

static int parse_enum(struct parse *p, const ProtobufCFieldDescriptor *f, const json_t *v,
                      int32_t *slot)
{
    const ProtobufCEnumDescriptor *ed = f->descriptor;
    if (json_is_string(v)) {
        size_t len;
        const char *s = c_string(v, &len);
        const ProtobufCEnumValue *ev = s ? protobuf_c_enum_descriptor_get_value_by_name(ed, s) : NULL;
        if (!ev) {
            char text[64];
            value_text(v, text, sizeof text);
            return fail(p, "%s is not a value of enum %s", text, ed->name);
        }
        *slot = ev->value;
        return 0;
    }
    if (json_is_number(v))
        return parse_int32(p, f, v, slot);
    return fail_type(p, "an enum value name or number", v);
}

static int fill_message(struct parse *p, const ProtobufCMessageDescriptor *desc,
                        const json_t *obj, ProtobufCMessage *msg);

/* Parses v (not null) into the storage of one value of field f. */
static int parse_value(struct parse *p, const ProtobufCFieldDescriptor *f, const json_t *v,
                       void *slot)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return parse_integer_field(p, f, v, slot);
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        return parse_floating(p, f, v, slot);
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return fail_type(p, "true or false", v);
        *(protobuf_c_boolean *)slot = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        return parse_enum(p, f, v, slot);
    case PROTOBUF_C_TYPE_STRING: {
        if (!json_is_string(v))
            return fail_type(p, "a string", v);
        size_t len;
        const char *s = c_string(v, &len);
        if (!s)
            return fail(p, "a string field cannot hold a NUL character");
        /*
         * Always a block of our own, even for "": unpack does the same, and
         * a oneof member left pointing at the shared empty string would be
         * dropped by pack.
         */
        *(char **)slot = dd_strndup(s, len);
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        if (!json_is_string(v))
            return fail_type(p, "a base64 string", v);
        ProtobufCBinaryData *bd = slot;
        uint8_t *data;
        size_t n;
        const char *why = base64_decode(json_string_value(v), json_string_length(v), &data, &n);
        if (why)
            return fail(p, "invalid base64 (%s)", why);
        bd->data = data;
        bd->len = n;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (!json_is_object(v))
            return fail_type(p, "an object", v);
        const ProtobufCMessageDescriptor *sub_desc = f->descriptor;
        ProtobufCMessage *sub = new_message(sub_desc);
        *(ProtobufCMessage **)slot = sub; /* owned by the parent from here */
        return fill_message(p, sub_desc, v, sub);
    }
    }
    abort();
}

static int parse_repeated(struct parse *p, ProtobufCMessage *msg,
                          const ProtobufCFieldDescriptor *f, const json_t *v)
{
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return fail_type(p, "an array", v);
    size_t n = json_array_size(v);
    if (n == 0)
        return 0;
    size_t size = dd_wire_element_size(f->type);
    /* Zeroed and counted at once: NULL elements are what free_unpacked
     * expects of a list that an error cut short. */
    char *arr = dd_calloc(n, size);
    *(size_t *)at(msg, f->quantifier_offset) = n;
    *(void **)at(msg, f->offset) = arr;
    for (size_t i = 0; i < n; i++) {
        const json_t *elem = json_array_get(v, i);
        size_t saved = path_push_index(p, i);
        int rc = json_is_null(elem)
                     ? fail(p, "null is not allowed in a list")
                     : parse_value(p, f, elem, arr + i * size);
        path_pop(p, saved);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_field(struct parse *p, ProtobufCMessage *msg,
                       const ProtobufCFieldDescriptor *f, const json_t *v)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return parse_repeated(p, msg, f, v);
    /* null is the field's default, which the message already holds. */
    if (json_is_null(v))
        return 0;
    if (is_oneof(f))
        *(uint32_t *)at(msg, f->quantifier_offset) = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && !is_pointer_type(f->type))
        *(protobuf_c_boolean *)at(msg, f->quantifier_offset) = 1;
    return parse_value(p, f, v, at(msg, f->offset));
}

/* The other spelling of f's name than the one the input used. */
static void other_spelling(const ProtobufCFieldDescriptor *f, const char *key, char *buf,
                           size_t n)
{
    if (strcmp(key, f->name) != 0) {
        snprintf(buf, n, "%s", f->name);
        return;
    }
    char small[64];
    size_t len = strlen(f->name);
    char *name = len < sizeof small ? small : dd_malloc(len + 1);
    json_name(f->name, name);
    snprintf(buf, n, "%s", name);
    if (name != small)
        free(name);
}

/* Fills msg (fresh from new_message) from obj, a JSON object. */
static int fill_message(struct parse *p, const ProtobufCMessageDescriptor *desc,
                        const json_t *obj, ProtobufCMessage *msg)
{
    assert(json_is_object(obj));
    if (p->depth >= PBJSON_MAX_DEPTH)
        return fail(p, "messages nested deeper than %d", PBJSON_MAX_DEPTH);
    p->depth++;

    bool seen_small[64];
    bool *seen = desc->n_fields <= 64 ? seen_small : dd_malloc(desc->n_fields);
    memset(seen, 0, desc->n_fields);
    int rc = 0;
    const char *key;
    json_t *value;

    /* jansson's iteration takes a non-const object; nothing is changed. */
    json_object_foreach((json_t *)obj, key, value) {
        const ProtobufCFieldDescriptor *f = find_field(desc, key);
        size_t saved = path_push_name(p, key);
        if (!f) {
            rc = fail(p, "no such field in %s", desc->name);
            path_pop(p, saved);
            break;
        }
        path_pop(p, saved);

        unsigned index = (unsigned)(f - desc->fields);
        if (seen[index]) {
            char other[128];
            other_spelling(f, key, other, sizeof other);
            saved = path_push_field(p, f);
            rc = fail(p, "given twice, as \"%s\" and as \"%s\"", other, key);
            path_pop(p, saved);
            break;
        }
        /* protobuf-c keeps no oneof names; members share their case field. */
        if (is_oneof(f)) {
            for (unsigned j = 0; j < desc->n_fields && rc == 0; j++) {
                const ProtobufCFieldDescriptor *g = &desc->fields[j];
                if (seen[j] && is_oneof(g) && g->quantifier_offset == f->quantifier_offset) {
                    char a[128], b[128];
                    other_spelling(g, g->name, a, sizeof a);
                    other_spelling(f, f->name, b, sizeof b);
                    rc = fail(p, "\"%s\" and \"%s\" belong to one oneof; at most one may be set",
                              a, b);
                }
            }
            if (rc)
                break;
        }
        seen[index] = true;

        saved = path_push_field(p, f);
        rc = parse_field(p, msg, f, value);
        path_pop(p, saved);
        if (rc)
            break;
    }

    if (seen != seen_small)
        free(seen);
    p->depth--;
    return rc;
}

int dd_pbjson_from_json(const ProtobufCMessageDescriptor *desc, const json_t *obj,
                        ProtobufCMessage **out, char *err, size_t errlen)
{
    struct parse p = { .path = "", .path_len = 0, .err = err, .errlen = errlen, .depth = 0 };
    *out = NULL;
    if (err && errlen > 0)
        err[0] = '\0';
    if (!obj)
        return fail(&p, "expected an object for %s, got nothing", desc->name);
    if (!json_is_object(obj)) {
        char got[80];
        describe(obj, got, sizeof got);
        return fail(&p, "expected an object for %s, got %s", desc->name, got);
    }
    ProtobufCMessage *msg = new_message(desc);
    int rc = fill_message(&p, desc, obj, msg);
    if (rc) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return rc;
    }
    *out = msg;
    return 0;
}

int dd_pbjson_parse(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
                    ProtobufCMessage **out, char *err, size_t errlen)
{
    json_error_t jerr;
    /* Duplicate keys would otherwise keep the last silently. */
    json_t *obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        *out = NULL;
        if (err && errlen > 0)
            snprintf(err, errlen, "invalid JSON at line %d, column %d: %s", jerr.line,
                     jerr.column, jerr.text);
        return DD_EPROTO;
    }
    int rc = dd_pbjson_from_json(desc, obj, out, err, errlen);
    json_decref(obj);
    return rc;
}
