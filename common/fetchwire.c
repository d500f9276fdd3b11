/* fetchwire.c: FetchReply in one pass, payloads left in place (see fetchwire.h). */
#include "fetchwire.h"

#include <stdbool.h>
#include <string.h>

#include "wire.h"

/* A field's number and wire type; field numbers up to 2^29 - 1. */
static inline bool get_key(const uint8_t **pp, const uint8_t *end, uint32_t *number, unsigned *wire)
{
    uint64_t key;
    const uint8_t *start = *pp;
    if (!dd_wire_u64(pp, end, &key) || *pp - start > 5 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return false;
    *number = (uint32_t)(key >> 3);
    *wire = (unsigned)(key & 7);
    return true;
}

/* A length prefix of at most 4 bytes and the bytes it announces. */
static inline bool get_bytes(const uint8_t **pp, const uint8_t *end, const uint8_t **data,
                             size_t *len)
{
    uint64_t n;
    const uint8_t *start = *pp;
    if (!dd_wire_u64(pp, end, &n) || *pp - start > 4 || n > (uint64_t)(end - *pp))
        return false;
    *data = *pp;
    *len = (size_t)n;
    *pp += n;
    return true;
}

static bool decode_record(const uint8_t *p, const uint8_t *end, Doudi__LogRecord *r)
{
    doudi__log_record__init(r);
    while (p < end) {
        uint32_t number;
        unsigned wire;
        uint64_t v;
        if (!get_key(&p, end, &number, &wire))
            return false;
        switch (number) {
        case 1:
        case 2:
        case 3:
            if (wire != DD_WIRE_VARINT || !dd_wire_u64(&p, end, &v))
                return false;
            if (number == 1)
                r->sequence = v;
            else if (number == 2)
                r->kind = (uint32_t)v;
            else
                r->appended_at_ms = (int64_t)v;
            break;
        case 4: {
            const uint8_t *data;
            size_t len;
            if (wire != DD_WIRE_LENGTH || !get_bytes(&p, end, &data, &len))
                return false;
            r->payload.data = (uint8_t *)data;
            r->payload.len = len;
            break;
        }
        default:
            return false;
        }
    }
    return true;
}

/* Counts the records of a reply and checks its outer shape. */
static bool count_records(const uint8_t *p, const uint8_t *end, size_t *n)
{
    *n = 0;
    while (p < end) {
        uint32_t number;
        unsigned wire;
        uint64_t v;
        const uint8_t *data;
        size_t len;
        if (!get_key(&p, end, &number, &wire))
            return false;
        if (number == 3 || number == 4) {
            if (wire != DD_WIRE_LENGTH || !get_bytes(&p, end, &data, &len))
                return false;
            *n += number == 4;
        } else if (number >= 1 && number <= 7) {
            if (wire != DD_WIRE_VARINT || !dd_wire_u64(&p, end, &v))
                return false;
        } else {
            return false;
        }
    }
    return true;
}

Doudi__FetchReply *dd_fetch_reply_decode(const uint8_t *bytes, size_t len, dd_arena *arena)
{
    const uint8_t *p = bytes, *end = bytes + len;
    size_t n;
    if (!count_records(p, end, &n))
        return NULL;
    Doudi__FetchReply *reply = dd_arena_alloc(arena, sizeof(*reply));
    doudi__fetch_reply__init(reply);
    if (n) {
        Doudi__LogRecord *records = dd_arena_alloc(arena, n * sizeof(*records));
        reply->records = dd_arena_alloc(arena, n * sizeof(*reply->records));
        for (size_t i = 0; i < n; i++)
            reply->records[i] = &records[i];
    }
    size_t k = 0;
    while (p < end) {
        uint32_t number = 0;
        unsigned wire = 0;
        uint64_t v = 0;
        const uint8_t *data = NULL;
        size_t dlen = 0;
        /* The shape was checked by count_records. */
        if (!get_key(&p, end, &number, &wire) ||
            !(wire == DD_WIRE_LENGTH ? get_bytes(&p, end, &data, &dlen) : dd_wire_u64(&p, end, &v)))
            return NULL;
        switch (number) {
        case 1: reply->request_id = v; break;
        case 2: reply->status = (Doudi__FetchStatus)(int32_t)(uint32_t)v; break;
        case 3: {
            char *text = dd_arena_alloc(arena, dlen + 1);
            memcpy(text, data, dlen);
            text[dlen] = '\0';
            reply->error_text = text;
            break;
        }
        case 4:
            if (!decode_record(data, data + dlen, reply->records[k++]))
                return NULL;
            break;
        case 5: reply->scanned_through_sequence = v; break;
        case 6: reply->head_sequence = v; break;
        case 7: reply->first_sequence = v; break;
        }
    }
    reply->n_records = n;
    return reply;
}
