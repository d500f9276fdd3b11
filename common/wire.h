/*
 * wire.h: reading the protobuf wire format the way protobuf-c reads it.
 *
 * The primitives under common/wiredecode.c and under every reader that
 * takes a few fields straight from an encoding without building the
 * message (fetchwire.c, eligibility's facts.c, intake's NUL walk), and the
 * varint writer of the encodings written by hand (the log's fetch replies,
 * alerts' stream entries and replay blocks). Each reads at p, never past end, and
 * on success moves p past what it read; on failure (cut off, too long) it
 * returns false and leaves p alone. Keeping them in one place keeps every
 * reader agreeing with protobuf-c on the same bytes: a 32-bit field keeps
 * the low 32 bits of its varint, a bool is true when any payload bit of its
 * varint is set.
 */
#ifndef DD_WIRE_H
#define DD_WIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { DD_WIRE_VARINT = 0, DD_WIRE_FIXED64 = 1, DD_WIRE_LENGTH = 2, DD_WIRE_FIXED32 = 5 };

/* A varint of at most 10 bytes; *any_bits: whether a payload bit is set. */
static inline bool dd_wire_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v,
                                  bool *any_bits)
{
    const uint8_t *p = *pp;
    if (p < end && !(p[0] & 0x80)) {
        *v = p[0];
        *any_bits = p[0] != 0;
        *pp = p + 1;
        return true;
    }
    uint64_t r = 0;
    uint8_t any = 0;
    size_t max = (size_t)(end - p) < 10 ? (size_t)(end - p) : 10;
    for (size_t i = 0; i < max; i++) {
        uint8_t b = p[i];
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        any |= b & 0x7f;
        if (!(b & 0x80)) {
            *v = r;
            *any_bits = any != 0;
            *pp = p + i + 1;
            return true;
        }
    }
    return false;
}

/* A varint of at most 10 bytes, where only its value matters. */
static inline bool dd_wire_u64(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    bool any_bits;
    return dd_wire_varint(pp, end, v, &any_bits);
}

/* A field key as protobuf-c reads it: at most 5 bytes, never number 0 in
 * its first byte. There must be a byte to read (p < end). */
static inline bool dd_wire_key(const uint8_t **pp, const uint8_t *end, uint32_t *number,
                               unsigned *wire)
{
    const uint8_t *p = *pp;
    if ((p[0] & 0xf8) == 0)
        return false;
    *wire = p[0] & 7;
    uint32_t n = (uint32_t)(p[0] & 0x7f) >> 3;
    if (!(p[0] & 0x80)) {
        *number = n;
        *pp = p + 1;
        return true;
    }
    size_t max = (size_t)(end - p) < 5 ? (size_t)(end - p) : 5;
    unsigned shift = 4;
    for (size_t i = 1; i < max; i++) {
        n |= (uint32_t)(p[i] & 0x7f) << shift;
        if (!(p[i] & 0x80)) {
            *number = n;
            *pp = p + i + 1;
            return true;
        }
        shift += 7;
    }
    return false;
}

/* A length prefix of at most 4 bytes whose payload fits before end. */
static inline bool dd_wire_length(const uint8_t **pp, const uint8_t *end, size_t *len)
{
    const uint8_t *p = *pp;
    uint64_t v;
    bool any;
    const uint8_t *limit = end - p > 4 ? p + 4 : end;
    if (!dd_wire_varint(&p, limit, &v, &any) || v > (uint64_t)(end - p))
        return false;
    *len = (size_t)v;
    *pp = p;
    return true;
}

/* The bits a varint of field type t stores, as protobuf-c computes them. */
static inline uint64_t dd_wire_scalar(ProtobufCType t, uint64_t v, bool any_bits)
{
    switch (t) {
    case PROTOBUF_C_TYPE_SINT32: {
        uint32_t u = (uint32_t)v;
        return (uint32_t)((u >> 1) ^ (uint32_t)-(int32_t)(u & 1));
    }
    case PROTOBUF_C_TYPE_SINT64:
        return (v >> 1) ^ (uint64_t)-(int64_t)(v & 1);
    case PROTOBUF_C_TYPE_BOOL:
        return any_bits ? 1 : 0;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_ENUM:
        return (uint32_t)v;
    default:
        return v;
    }
}

/* Writes v as a varint at p (room for 10 bytes); returns the bytes written. */
static inline size_t dd_wire_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* The bytes dd_wire_put_varint writes for v. */
static inline size_t dd_wire_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* The size of one element of a repeated field of type t in protobuf-c's
 * array (and of a singular field's member). */
static inline size_t dd_wire_element_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0; /* no other type exists */
}

#endif
