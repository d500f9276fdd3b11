/*
 * pubwire.h: a fast path for decoding the PublishRequest a portal sends.
 *
 * A request carries up to a thousand encoded events. protobuf-c's unpack
 * scans it twice and allocates and copies every event on its own; this
 * decoder copies the request's bytes into the arena once and points each
 * event into that copy, in one pass.
 *
 * Like wiredecode.h it is a fast path, not a second implementation of the
 * protobuf rules: it declines (and intake unpacks with protobuf-c, which
 * then decides) on a field number or wire type PublishRequest does not
 * have, a varint longer than 10 bytes, a length prefix longer than 4 bytes,
 * anything truncated, or more than `max_events` events. A request_id seen
 * twice keeps the last, as protobuf-c does. When it accepts, the result
 * equals protobuf-c's field for field (test_pubwire.c checks that on
 * requests as portals send them and on mutations of them).
 */
#ifndef INTAKE_PUBWIRE_H
#define INTAKE_PUBWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "doudi/publish.pb-c.h"

/*
 * Decodes bytes[0..len-1] as a PublishRequest allocated from arena (never
 * pass it to __free_unpacked). Returns it, or NULL (with nothing to undo
 * but arena memory) when the bytes are left to protobuf-c.
 */
Doudi__PublishRequest *intake_publish_request_decode(const uint8_t *bytes, size_t len,
                                                     size_t max_events, dd_arena *arena);

#endif
