/* alerts_wire.c: hand-written protobuf encoding of stream entries (see alerts_wire.h). */
#include "alerts_wire.h"

#include "alloc.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void alerts_buf_free(alerts_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void alerts_buf_put(alerts_buf *b, const void *data, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len)
            cap *= 2;
        b->data = dd_realloc(b->data, cap);
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
}

size_t alerts_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void alerts_buf_varint(alerts_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    alerts_buf_put(b, tmp, dd_wire_put_varint(tmp, v));
}

void alerts_buf_field_varint(alerts_buf *b, uint32_t field, uint64_t v)
{
    alerts_buf_varint(b, (uint64_t)field << 3);
    alerts_buf_varint(b, v);
}

void alerts_buf_field_bytes(alerts_buf *b, uint32_t field, const void *data, size_t len)
{
    alerts_buf_varint(b, (uint64_t)field << 3 | 2);
    alerts_buf_varint(b, len);
    alerts_buf_put(b, data, len);
}

size_t alerts_wire_entry_size(uint64_t sequence, size_t len)
{
    return 1 + alerts_varint_size(sequence) + 1 + alerts_varint_size(len) + len;
}

void alerts_wire_entry(alerts_buf *b, uint64_t sequence, const void *update, size_t len)
{
    alerts_buf_field_varint(b, 1, sequence);
    if (update)
        alerts_buf_field_bytes(b, 2, update, len);
}
