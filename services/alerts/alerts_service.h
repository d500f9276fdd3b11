/*
 * alerts_service.h: the request endpoint of doudi-alerts (alerts.proto
 * AlertsRequest -> AlertsReply): replay of the stream by region prefix,
 * alert lists and lookups, silences, handling timeliness.
 *
 * Every request is answered, a malformed one with error_text saying what
 * is wrong. Reads use their own read transaction; a new silence is one
 * write transaction (dd_store_write) between batches.
 */
#ifndef ALERTS_SERVICE_H
#define ALERTS_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "alerts_book.h"
#include "alerts_engine.h"
#include "store.h"
#include "alerts_stream.h"
#include "alerts_wire.h"

typedef struct alerts_service {
    dd_store *store;
    alerts_book *book;
    alerts_stream *stream;
    alerts_engine *engine;
    dd_arena *arena;
    uint32_t replay_max_entries;
    size_t replay_max_bytes;
    uint64_t replay_entries_served; /* entries sent in replay replies, ever */
    /* Whether the request being handled comes from an operator: with CURVE
     * only operators (grant *) may silence; without it, anyone. */
    bool caller_operates;
} alerts_service;

/* Which request it was, for the metrics' label. */
typedef enum {
    ALERTS_REQ_BAD,
    ALERTS_REQ_REPLAY,
    ALERTS_REQ_LIST,
    ALERTS_REQ_GET,
    ALERTS_REQ_SILENCE,
    ALERTS_REQ_SILENCES,
    ALERTS_REQ_RATE,
    ALERTS_REQ_COUNT
} alerts_req_type;

const char *alerts_req_name(alerts_req_type t);

/*
 * Answers request[0..len-1] into reply (appended; an encoded AlertsReply).
 * *type gets the request's type, *refused whether it was refused.
 */
void alerts_service_handle(alerts_service *s, const uint8_t *request, size_t len,
                           alerts_buf *reply, alerts_req_type *type, int *refused);

#endif
