/*
 * alerts_wire.h: writing protobuf wire format by hand, for the one hot path that
 * needs it: a stream entry is the stored AlertUpdate bytes behind a
 * sequence number, so live fan-out and replay copy the stored bytes as
 * they are instead of decoding and encoding every alert again. An embedded
 * message and a bytes field have the same encoding, which is what makes
 * this exact (StreamEntry, ReplayReply and AlertsReply in alerts.proto).
 */
#ifndef ALERTS_WIRE_H
#define ALERTS_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer (aborts on exhaustion, like alloc.h). */
typedef struct alerts_buf {
    uint8_t *data;
    size_t len, cap;
} alerts_buf;

void alerts_buf_free(alerts_buf *b);
void alerts_buf_put(alerts_buf *b, const void *data, size_t len);
void alerts_buf_varint(alerts_buf *b, uint64_t v);
/* A varint field (wire type 0); 0 is written too (callers skip defaults). */
void alerts_buf_field_varint(alerts_buf *b, uint32_t field, uint64_t v);
/* A length-delimited field (wire type 2). */
void alerts_buf_field_bytes(alerts_buf *b, uint32_t field, const void *data, size_t len);
/* Bytes a varint of v takes. */
size_t alerts_varint_size(uint64_t v);

/*
 * Appends an encoded StreamEntry{sequence, update = the encoded AlertUpdate
 * in update[0..len-1]} (update may be NULL for a heartbeat).
 */
void alerts_wire_entry(alerts_buf *b, uint64_t sequence, const void *update, size_t len);
/* Bytes alerts_wire_entry would append. */
size_t alerts_wire_entry_size(uint64_t sequence, size_t len);

#endif
