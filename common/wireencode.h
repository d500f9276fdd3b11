/*
 * wireencode.h: encoding protobuf-c structures in one pass.
 *
 * protobuf-c's pack walks a message once to size it and then, inside
 * protobuf_c_message_pack, sizes every nested message again before writing
 * it (and every message nested in that one again, and so on), measuring
 * each string each time. The records the daemons write most (alerts'
 * stream records, eligibility's stored persons and decisions, the
 * scheduler's plans) nest two or three deep, and packing them was a tenth
 * of the machine's CPU in a province-month.
 *
 * This encoder writes a message back to front: a nested message's bytes
 * come first, so its length is known when its length prefix is written, and
 * nothing is walked twice. The bytes equal protobuf_c_message_pack's for
 * every message (fields in the descriptor's order, proto3's zero values
 * left out, oneofs, packed and unpacked lists, unknown fields kept at the
 * end): the unit test test_wireencode.c compares the two on random
 * messages of every type the protos define. A message with a field of
 * proto2's labels (which the protos do not use) is packed by protobuf-c.
 */
#ifndef DD_WIREENCODE_H
#define DD_WIREENCODE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* Scratch memory for encodings, kept from one to the next. Zero it to
 * start; dd_wire_writer_free gives its memory back. Not thread-safe: one
 * writer per thread. */
typedef struct dd_wire_writer {
    uint8_t *data;
    size_t cap;
} dd_wire_writer;

/*
 * Encodes m and returns its bytes, which stay valid until the next call
 * with the same writer (or dd_wire_writer_free), and sets *len. Aborts like
 * dd_malloc when memory runs out. m must be a valid message, as for
 * protobuf_c_message_pack.
 */
const uint8_t *dd_wire_encode(dd_wire_writer *w, const ProtobufCMessage *m, size_t *len);

void dd_wire_writer_free(dd_wire_writer *w);

#endif
