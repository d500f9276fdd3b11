/*
 * wiredecode.h: a fast path for decoding the events portals actually send.
 * intake decodes them with it as they arrive, eligibility as it reads them
 * back from intake's log.
 *
 * protobuf-c's generic unpack was half of intake's CPU per event: it scans
 * every message twice, looks every field up by binary search and calls the
 * allocator for each string and sub-message through a function pointer. The
 * events portals send are simple (each field once, in field-number order,
 * no unknown fields), and for those this decoder builds the very same
 * structure in one pass into the batch's arena.
 *
 * It is a fast path, not a second implementation of the protobuf rules:
 * whenever the bytes have a shape it does not handle itself, it declines,
 * and the caller uses protobuf-c's unpack, which then decides (including
 * whether the bytes decode at all). It declines on:
 *   - a field number the message does not know (protobuf-c keeps unknown
 *     fields; validate.h says what intake does with them);
 *   - a singular field that appears twice (protobuf-c merges messages and
 *     keeps the last scalar), a second member of a oneof;
 *   - a wire type that does not match the field's type, a group, a varint
 *     longer than 10 bytes, a length prefix longer than 4 bytes, anything
 *     truncated;
 *   - with DD_WIRE_NO_NUL, a string holding a NUL byte (protobuf-c keeps
 *     it, and the C string ends there: intake, which judges the strings,
 *     must know; see its validate.c);
 *   - a field type other than bool, enum, (s|u)int32, (s|u)int64,
 *     (s)fixed32, (s)fixed64, string and message, a packed list of
 *     fixed-width values, or a label other than proto3's singular and
 *     repeated;
 *   - more than DECODE_MAX_ELEMENTS elements of one repeated field, more
 *     than DECODE_MAX_REPEATED repeated fields in one message, nesting
 *     deeper than DECODE_MAX_DEPTH, a packed bool list.
 * When it accepts, the result equals protobuf-c's field for field (the
 * unit test test_wiredecode.c checks that on generated events of
 * every kind and on a million mutations of them).
 */
#ifndef DD_WIREDECODE_H
#define DD_WIREDECODE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"

#define DECODE_MAX_DEPTH 8
#define DECODE_MAX_REPEATED 4
#define DECODE_MAX_ELEMENTS 64

/* Decline a string that holds a NUL byte (see above). */
#define DD_WIRE_NO_NUL 1u

/*
 * Decodes bytes[0..len-1] as a message of descriptor d, allocating from
 * arena (the message lives until dd_arena_reset; never pass it to
 * __free_unpacked). flags: 0 or DD_WIRE_NO_NUL. Returns true with *out
 * set, or false, with nothing to undo but arena memory, when the bytes are
 * left to protobuf-c's unpack. Thread-safe for distinct arenas.
 */
bool dd_wire_decode(const ProtobufCMessageDescriptor *d, const uint8_t *bytes, size_t len,
                    unsigned flags, dd_arena *arena, ProtobufCMessage **out);

/*
 * Decodes bytes[0..len-1] as a message of descriptor d into arena: fast
 * when dd_wire_decode accepts, else by protobuf-c's unpack (allocating
 * from arena too). Returns NULL when the bytes do not decode.
 */
ProtobufCMessage *dd_wire_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *bytes,
                                 size_t len, dd_arena *arena);

#endif
