/*
 * fetchwire.h: a fast path for decoding the FetchReply a consumer receives.
 *
 * A reply carries tens of thousands of LogRecords. protobuf-c's unpack
 * allocates each record and copies each payload out of the message; this
 * decoder builds the same FetchReply in one pass into an arena with every
 * payload pointing into the received bytes, which therefore must outlive
 * the reply (the consumer keeps the ZeroMQ message until the batch is
 * applied).
 *
 * Like wiredecode.h it is a fast path, not a second implementation of the
 * protobuf rules: it declines, and the caller uses protobuf-c's unpack,
 * whenever the bytes hold something it does not handle itself: a field
 * number FetchReply or LogRecord does not know, a wire type that does not
 * match the field, a varint longer than 10 bytes, anything truncated, a
 * length prefix longer than 4 bytes. A singular field seen twice keeps the
 * last value, as protobuf-c does. When it accepts, the result equals
 * protobuf-c's field for field (test_fetchwire.c checks that on real
 * replies and on mutations of them).
 */
#ifndef DD_FETCHWIRE_H
#define DD_FETCHWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "doudi/log.pb-c.h"

/*
 * Decodes bytes[0..len-1] as a FetchReply allocated from arena (never pass
 * it to __free_unpacked). Returns the reply, or NULL (with nothing to undo
 * but arena memory) when the bytes are left to protobuf-c.
 */
Doudi__FetchReply *dd_fetch_reply_decode(const uint8_t *bytes, size_t len, dd_arena *arena);

#endif
