/*
 * wiredecode.c: one-pass decoding of simple protobuf encodings into
 * protobuf-c's structures (see wiredecode.h for what "simple" means and why
 * declining is always safe).
 *
 * Every number is read the way protobuf-c reads it (a 32-bit field keeps
 * the low 32 bits of its varint, a bool is true when any of its varint's
 * payload bits is set), so an accepted encoding gives the same values.
 */
#include "wiredecode.h"

#include <string.h>

#include "wire.h"

/* Elements of one repeated field, collected until the message ends. */
typedef struct repeated_acc {
    const ProtobufCFieldDescriptor *field;
    size_t n;
    uint64_t v[DECODE_MAX_ELEMENTS]; /* scalar bits, or the element's pointer */
} repeated_acc;

/* Fields are sorted by number and encoders write them in that order, so
 * the next field is almost always the one after the last. When it is not
 * (proto3 leaves out fields at their defaults), the runs of consecutive
 * numbers protobuf-c keeps for each message (field_ranges: a run's first
 * number and the index of its field, then a sentinel holding n_fields)
 * give the index directly (doudi's messages have one to five runs; more
 * are left to protobuf-c's binary search). */
static inline const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *d,
                                                         uint32_t number, unsigned *hint)
{
    unsigned i = *hint;
    if (i < d->n_fields && d->fields[i].id == number) {
        *hint = i + 1;
        return &d->fields[i];
    }
    if (d->n_field_ranges > 8) {
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, number);
        if (f)
            *hint = (unsigned)(f - d->fields) + 1;
        return f;
    }
    const ProtobufCIntRange *r = d->field_ranges;
    for (unsigned k = 0; k < d->n_field_ranges; k++) {
        uint32_t first = (uint32_t)r[k].start_value;
        if (number >= first && number - first < r[k + 1].orig_index - r[k].orig_index) {
            i = r[k].orig_index + (number - first);
            *hint = i + 1;
            return &d->fields[i];
        }
    }
    return NULL;
}

static bool varint_type(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_BOOL:
        return true;
    default:
        return false;
    }
}

/* The wire type a fixed-width field is written with, or -1. */
static int fixed_wire(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return DD_WIRE_FIXED64;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return DD_WIRE_FIXED32;
    default:
        return -1;
    }
}

static inline void store(ProtobufCType t, void *at, uint64_t bits)
{
    switch (dd_wire_element_size(t)) {
    case sizeof(uint32_t): {
        uint32_t u = (uint32_t)bits;
        memcpy(at, &u, sizeof(u));
        break;
    }
    default:
        if (t == PROTOBUF_C_TYPE_STRING || t == PROTOBUF_C_TYPE_MESSAGE) {
            void *ptr = (void *)(uintptr_t)bits;
            memcpy(at, &ptr, sizeof(ptr));
        } else {
            memcpy(at, &bits, sizeof(bits));
        }
    }
}

/* The little-endian number of `width` bytes at *pp, as protobuf-c reads a
 * fixed-width field. */
static inline bool read_fixed(const uint8_t **pp, const uint8_t *end, size_t width, uint64_t *v)
{
    if ((size_t)(end - *pp) < width)
        return false;
    uint64_t r = 0;
    for (size_t i = 0; i < width; i++)
        r |= (uint64_t)(*pp)[i] << (8 * i);
    *pp += width;
    *v = r;
    return true;
}

static bool decode_message(const ProtobufCMessageDescriptor *d, const uint8_t *p,
                           const uint8_t *end, unsigned flags, dd_arena *arena, int depth,
                           ProtobufCMessage **out);

/* One value of field f whose key said wire type `wire`. */
static inline bool decode_value(const ProtobufCFieldDescriptor *f, unsigned wire,
                                const uint8_t **pp, const uint8_t *end, unsigned flags,
                                dd_arena *arena, int depth, uint64_t *bits)
{
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
        size_t len;
        if (wire != DD_WIRE_LENGTH || !dd_wire_length(pp, end, &len))
            return false;
        const uint8_t *payload = *pp;
        *pp += len;
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            if ((flags & DD_WIRE_NO_NUL) && memchr(payload, 0, len))
                return false;
            char *s = dd_arena_alloc(arena, len + 1);
            memcpy(s, payload, len);
            s[len] = '\0';
            *bits = (uint64_t)(uintptr_t)s;
            return true;
        }
        ProtobufCMessage *sub;
        if (!decode_message(f->descriptor, payload, payload + len, flags, arena, depth + 1,
                            &sub))
            return false;
        *bits = (uint64_t)(uintptr_t)sub;
        return true;
    }
    int fixed = fixed_wire(f->type);
    if (fixed >= 0) {
        return (int)wire == fixed && read_fixed(pp, end, fixed == DD_WIRE_FIXED64 ? 8 : 4, bits);
    }
    if (wire != DD_WIRE_VARINT || !varint_type(f->type))
        return false;
    uint64_t v;
    bool any;
    if (!dd_wire_varint(pp, end, &v, &any))
        return false;
    *bits = dd_wire_scalar(f->type, v, any);
    return true;
}

/* One value of a singular field f, stored at `at` (its place in the
 * message). The varint types, most of a stored record's fields, are read
 * and stored in one switch on the type; the rest go through decode_value
 * and store(). */
static inline bool decode_into(const ProtobufCFieldDescriptor *f, unsigned wire,
                               const uint8_t **pp, const uint8_t *end, unsigned flags,
                               dd_arena *arena, int depth, void *at)
{
    uint64_t v;
    bool any;
    uint32_t u32;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_BOOL:
        if (wire != DD_WIRE_VARINT || !dd_wire_varint(pp, end, &v, &any))
            return false;
        u32 = (uint32_t)dd_wire_scalar(f->type, v, any);
        memcpy(at, &u32, sizeof(u32)); /* protobuf_c_boolean is an int */
        return true;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SINT64:
        if (wire != DD_WIRE_VARINT || !dd_wire_varint(pp, end, &v, &any))
            return false;
        v = dd_wire_scalar(f->type, v, any);
        memcpy(at, &v, sizeof(v));
        return true;
    default: {
        /* strings, messages and fixed-width numbers; decode_value declines
         * float, double and bytes, which are left to protobuf-c */
        uint64_t bits;
        if (!decode_value(f, wire, pp, end, flags, arena, depth, &bits))
            return false;
        store(f->type, at, bits);
        return true;
    }
    }
}

static repeated_acc *acc_of(repeated_acc *acc, unsigned *nacc, const ProtobufCFieldDescriptor *f)
{
    for (unsigned i = 0; i < *nacc; i++)
        if (acc[i].field == f)
            return &acc[i];
    if (*nacc == DECODE_MAX_REPEATED)
        return NULL;
    repeated_acc *a = &acc[(*nacc)++];
    a->field = f;
    a->n = 0;
    return a;
}

/* A packed list of varints: every element at most 10 bytes, none cut off. */
static bool decode_packed(repeated_acc *a, const uint8_t **pp, const uint8_t *end)
{
    ProtobufCType t = a->field->type;
    size_t len;
    if (t == PROTOBUF_C_TYPE_BOOL || !dd_wire_length(pp, end, &len))
        return false;
    const uint8_t *p = *pp, *stop = p + len;
    while (p < stop) {
        uint64_t v;
        bool any;
        if (a->n == DECODE_MAX_ELEMENTS || !dd_wire_varint(&p, stop, &v, &any))
            return false;
        a->v[a->n++] = dd_wire_scalar(t, v, any);
    }
    *pp = stop;
    return true;
}

static bool decode_message(const ProtobufCMessageDescriptor *d, const uint8_t *p,
                           const uint8_t *end, unsigned flags, dd_arena *arena, int depth,
                           ProtobufCMessage **out)
{
    if (depth > DECODE_MAX_DEPTH || d->n_fields > 64)
        return false;
    ProtobufCMessage *m = dd_arena_alloc(arena, d->sizeof_message);
    d->message_init(m);
    uint64_t seen = 0;
    unsigned hint = 0, nacc = 0;
    repeated_acc acc[DECODE_MAX_REPEATED];
    while (p < end) {
        uint32_t number;
        unsigned wire;
        if (!dd_wire_key(&p, end, &number, &wire))
            return false;
        const ProtobufCFieldDescriptor *f = find_field(d, number, &hint);
        if (!f)
            return false;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            repeated_acc *a = acc_of(acc, &nacc, f);
            if (!a)
                return false;
            if (wire == DD_WIRE_LENGTH && varint_type(f->type)) {
                if (!decode_packed(a, &p, end))
                    return false;
                continue;
            }
            if (a->n == DECODE_MAX_ELEMENTS ||
                !decode_value(f, wire, &p, end, flags, arena, depth, &a->v[a->n]))
                return false;
            a->n++;
            continue;
        }
        if (f->label != PROTOBUF_C_LABEL_NONE)
            return false;
        uint64_t bit = UINT64_C(1) << (f - d->fields);
        if (seen & bit)
            return false;
        seen |= bit;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which;
            memcpy(&which, (char *)m + f->quantifier_offset, sizeof(which));
            if (which != 0)
                return false;
            which = f->id;
            memcpy((char *)m + f->quantifier_offset, &which, sizeof(which));
        }
        if (!decode_into(f, wire, &p, end, flags, arena, depth, (char *)m + f->offset))
            return false;
    }
    for (unsigned i = 0; i < nacc; i++) {
        const ProtobufCFieldDescriptor *f = acc[i].field;
        if (acc[i].n == 0)
            continue; /* an empty packed list: protobuf-c allocates nothing either */
        size_t es = dd_wire_element_size(f->type);
        char *array = dd_arena_alloc(arena, es * acc[i].n);
        for (size_t k = 0; k < acc[i].n; k++)
            store(f->type, array + k * es, acc[i].v[k]);
        memcpy((char *)m + f->quantifier_offset, &acc[i].n, sizeof(size_t));
        memcpy((char *)m + f->offset, &array, sizeof(array));
    }
    *out = m;
    return true;
}

bool dd_wire_decode(const ProtobufCMessageDescriptor *d, const uint8_t *bytes, size_t len,
                    unsigned flags, dd_arena *arena, ProtobufCMessage **out)
{
    static const uint8_t nothing[1];
    const uint8_t *p = len ? bytes : nothing;
    return decode_message(d, p, p + len, flags, arena, 0, out);
}

ProtobufCMessage *dd_wire_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *bytes,
                                 size_t len, dd_arena *arena)
{
    ProtobufCMessage *m;
    if (dd_wire_decode(d, bytes, len, 0, arena, &m))
        return m;
    static const uint8_t nothing[1];
    ProtobufCAllocator a = dd_arena_protobuf_allocator(arena);
    return protobuf_c_message_unpack(d, &a, len, len ? bytes : nothing);
}
