/*
 * wireencode.c: back-to-front encoding of protobuf-c structures (see
 * wireencode.h for why, and what must stay equal to protobuf-c's pack).
 *
 * The writer fills its buffer from the end towards the start. Every field
 * is written whole before the fields in front of it, so a nested message
 * or a packed list knows its length when its prefix is written.
 */
#include "wireencode.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "wire.h"

/* The front of what is written; it moves towards w->data. */
typedef struct back {
    dd_wire_writer *w;
    uint8_t *p;
} back;

static size_t used(const back *b)
{
    return (size_t)(b->w->data + b->w->cap - b->p);
}

/* Moves what is written to the end of a larger buffer. */
static void grow(back *b, size_t need)
{
    size_t have = used(b);
    size_t cap = b->w->cap ? b->w->cap * 2 : 4096;
    while (cap - have < need)
        cap *= 2;
    uint8_t *data = dd_malloc(cap);
    memcpy(data + cap - have, b->p, have);
    free(b->w->data);
    b->w->data = data;
    b->w->cap = cap;
    b->p = data + cap - have;
}

/* Room for n more bytes in front of what is written. */
static inline void room(back *b, size_t n)
{
    if ((size_t)(b->p - b->w->data) < n)
        grow(b, n);
}

/* Callers have made room for 10 bytes. */
static inline void put_varint(back *b, uint64_t v)
{
    b->p -= dd_wire_varint_size(v);
    dd_wire_put_varint(b->p, v);
}

static inline void put_tag(back *b, uint32_t id, unsigned wire_type)
{
    put_varint(b, (uint64_t)id << 3 | wire_type);
}

static inline void put_bytes(back *b, const void *data, size_t len)
{
    room(b, len + 20);
    b->p -= len;
    if (len)
        memcpy(b->p, data, len);
}

static inline void put_fixed32(back *b, uint32_t v)
{
    b->p -= 4;
    for (int i = 0; i < 4; i++)
        b->p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_fixed64(back *b, uint64_t v)
{
    b->p -= 8;
    for (int i = 0; i < 8; i++)
        b->p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t zigzag32(int32_t v)
{
    return v < 0 ? (-(uint32_t)v) * 2 - 1 : (uint32_t)v * 2;
}

static inline uint64_t zigzag64(int64_t v)
{
    return v < 0 ? (-(uint64_t)v) * 2 - 1 : (uint64_t)v * 2;
}

static void put_message(back *b, const ProtobufCMessage *m);

/*
 * The varint a value of a varint-typed field f is written as; false for the
 * other types. A negative int32 is its 64-bit sign extension (ten bytes), a
 * bool is 1 when set, whatever non-zero value it holds.
 */
static inline bool varint_of(const ProtobufCFieldDescriptor *f, const void *member, uint64_t *v)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_ENUM:
        *v = (uint64_t)(int64_t) * (const int32_t *)member;
        return true;
    case PROTOBUF_C_TYPE_SINT32:
        *v = zigzag32(*(const int32_t *)member);
        return true;
    case PROTOBUF_C_TYPE_UINT32:
        *v = *(const uint32_t *)member;
        return true;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
        *v = *(const uint64_t *)member;
        return true;
    case PROTOBUF_C_TYPE_SINT64:
        *v = zigzag64(*(const int64_t *)member);
        return true;
    case PROTOBUF_C_TYPE_BOOL:
        *v = *(const protobuf_c_boolean *)member != 0;
        return true;
    default:
        return false;
    }
}

/*
 * Writes one value of field f, read at member, without its tag; returns
 * the wire type a tag in front of it names. Room for 10 bytes is made.
 */
static unsigned put_value(back *b, const ProtobufCFieldDescriptor *f, const void *member)
{
    uint64_t bits;
    if (varint_of(f, member, &bits)) {
        put_varint(b, bits);
        return DD_WIRE_VARINT;
    }
    switch (f->type) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT: {
        uint32_t v;
        memcpy(&v, member, 4);
        put_fixed32(b, v);
        return DD_WIRE_FIXED32;
    }
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: {
        uint64_t v;
        memcpy(&v, member, 8);
        put_fixed64(b, v);
        return DD_WIRE_FIXED64;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)member;
        size_t len = s ? strlen(s) : 0;
        put_bytes(b, s, len);
        put_varint(b, len);
        return DD_WIRE_LENGTH;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *d = member;
        put_bytes(b, d->data, d->len);
        put_varint(b, d->len);
        return DD_WIRE_LENGTH;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member;
        size_t before = used(b);
        if (sub)
            put_message(b, sub);
        room(b, 20);
        put_varint(b, used(b) - before);
        return DD_WIRE_LENGTH;
    }
    default: /* the varint types, written above */
        break;
    }
    return DD_WIRE_VARINT;
}

static void put_field(back *b, const ProtobufCFieldDescriptor *f, const void *member)
{
    room(b, 20);
    unsigned wire_type = put_value(b, f, member);
    room(b, 10);
    put_tag(b, f->id, wire_type);
}

static void put_repeated(back *b, const ProtobufCFieldDescriptor *f, size_t count,
                         const void *member)
{
    if (count == 0)
        return;
    const char *array = *(char *const *)member;
    size_t step = dd_wire_element_size(f->type);
    if (f->flags & PROTOBUF_C_FIELD_FLAG_PACKED) {
        size_t before = used(b);
        for (size_t i = count; i-- > 0;) {
            room(b, 10);
            put_value(b, f, array + i * step);
        }
        room(b, 20);
        put_varint(b, used(b) - before);
        put_tag(b, f->id, DD_WIRE_LENGTH);
        return;
    }
    for (size_t i = count; i-- > 0;)
        put_field(b, f, array + i * step);
}

/* Whether protobuf-c leaves a proto3 field out: its zero value. */
static bool zero_value(const ProtobufCFieldDescriptor *f, const void *member)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)member == 0;
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
        return *(const uint32_t *)member == 0;
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)member == 0;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)member == 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)member == 0;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)member;
        return s == NULL || *s == '\0';
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)member)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)member == NULL;
    }
    return true;
}

/* A string or message pointer that protobuf-c treats as absent. */
static bool absent_pointer(const ProtobufCFieldDescriptor *f, const void *member)
{
    if (f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
        return false;
    const void *ptr = *(const void *const *)member;
    return ptr == NULL || ptr == f->default_value;
}

static void put_packed_by_protobuf_c(back *b, const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    room(b, len + 20);
    b->p -= len;
    protobuf_c_message_pack(m, b->p);
}

/*
 * A proto3 singular field of the types records are mostly made of, left
 * out when zero, in one test of its type (most fields of a record are
 * zero). Returns false for the other types, which put_message writes.
 */
static inline bool put_singular(back *b, const ProtobufCFieldDescriptor *f, const char *member)
{
    uint64_t v;
    if (varint_of(f, member, &v)) {
        if (v) {
            room(b, 20);
            put_varint(b, v);
            put_tag(b, f->id, DD_WIRE_VARINT);
        }
        return true;
    }
    if (f->type != PROTOBUF_C_TYPE_STRING)
        return false;
    const char *s = *(char *const *)member;
    if (s && *s) {
        size_t len = strlen(s);
        put_bytes(b, s, len);
        put_varint(b, len);
        put_tag(b, f->id, DD_WIRE_LENGTH);
    }
    return true;
}

static void put_message(back *b, const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    size_t start = used(b);
    /* protobuf-c writes the unknown fields after the known ones. */
    for (unsigned i = m->n_unknown_fields; i-- > 0;) {
        const ProtobufCMessageUnknownField *u = &m->unknown_fields[i];
        put_bytes(b, u->data, u->len);
        put_tag(b, u->tag, u->wire_type);
    }
    for (unsigned i = d->n_fields; i-- > 0;) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *member = (const char *)m + f->offset;
        if (f->label == PROTOBUF_C_LABEL_NONE && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            put_singular(b, f, member))
            continue;
        const char *quantifier = (const char *)m + f->quantifier_offset;
        switch (f->label) {
        case PROTOBUF_C_LABEL_NONE:
            if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                if (*(const uint32_t *)quantifier == f->id && !absent_pointer(f, member))
                    put_field(b, f, member);
            } else if (!zero_value(f, member)) {
                put_field(b, f, member);
            }
            break;
        case PROTOBUF_C_LABEL_REPEATED:
            put_repeated(b, f, *(const size_t *)quantifier, member);
            break;
        default:
            /* proto2's labels (and proto3's `optional`): the protos use
             * none of them, so protobuf-c writes such a message whole. */
            b->p = b->w->data + b->w->cap - start;
            put_packed_by_protobuf_c(b, m);
            return;
        }
    }
}

const uint8_t *dd_wire_encode(dd_wire_writer *w, const ProtobufCMessage *m, size_t *len)
{
    if (w->cap == 0) {
        w->cap = 4096;
        w->data = dd_malloc(w->cap);
    }
    back b = {w, w->data + w->cap};
    put_message(&b, m);
    *len = used(&b);
    return b.p;
}

void dd_wire_writer_free(dd_wire_writer *w)
{
    free(w->data);
    w->data = NULL;
    w->cap = 0;
}
