/*
 * pubwire.c: one-pass decoding of a PublishRequest into an arena (see
 * pubwire.h for what it declines and why that is always safe).
 */
#include "pubwire.h"

#include <string.h>

#include "wire.h"

enum { REQUEST_ID = 1, EVENTS = 2 };

/* Counts the events, checking the shape; false to decline. */
static bool scan(const uint8_t *p, const uint8_t *end, size_t max_events, size_t *events)
{
    size_t n = 0;
    while (p < end) {
        uint32_t number;
        unsigned wire;
        if (!dd_wire_key(&p, end, &number, &wire))
            return false;
        if (number == REQUEST_ID && wire == DD_WIRE_VARINT) {
            uint64_t v;
            if (!dd_wire_u64(&p, end, &v))
                return false;
        } else if (number == EVENTS && wire == DD_WIRE_LENGTH) {
            size_t len;
            if (n == max_events || !dd_wire_length(&p, end, &len))
                return false;
            p += len;
            n++;
        } else {
            return false;
        }
    }
    *events = n;
    return true;
}

Doudi__PublishRequest *intake_publish_request_decode(const uint8_t *bytes, size_t len,
                                                     size_t max_events, dd_arena *arena)
{
    static const uint8_t nothing[1];
    const uint8_t *in = len ? bytes : nothing;
    size_t n;
    if (!scan(in, in + len, max_events, &n))
        return NULL;
    Doudi__PublishRequest *r = dd_arena_alloc(arena, sizeof(*r));
    doudi__publish_request__init(r);
    uint8_t *copy = dd_arena_alloc(arena, len + 1);
    if (len)
        memcpy(copy, bytes, len);
    r->events = n ? dd_arena_alloc(arena, n * sizeof(ProtobufCBinaryData)) : NULL;
    /* The scan accepted the shape: the second pass only takes the values. */
    const uint8_t *p = copy, *end = copy + len;
    while (p < end) {
        uint32_t number = 0;
        unsigned wire = 0;
        (void)dd_wire_key(&p, end, &number, &wire);
        if (number == REQUEST_ID) {
            (void)dd_wire_u64(&p, end, &r->request_id);
            continue;
        }
        size_t event_len = 0;
        (void)dd_wire_length(&p, end, &event_len);
        /* protobuf-c leaves an empty element's data NULL. */
        ProtobufCBinaryData *e = &r->events[r->n_events++];
        e->len = event_len;
        e->data = event_len ? (uint8_t *)p : NULL;
        p += event_len;
    }
    return r;
}
