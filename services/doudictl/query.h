/*
 * query.h: one question to a daemon's query ROUTER, as `doudictl person`,
 * `household`, `explain` (doudi-eligibility) and `visits`, `plan`, `worker`
 * (doudi-scheduler) ask it.
 *
 * The request and reply are any protobuf messages with the query
 * convention of query.proto and scheduler.proto: a uint64 `request_id`
 * (set here, echoed by the daemon) and, in the reply, a string
 * `error_text`. A query only reads committed state, so one not answered
 * within the timeout is sent again on a new connection (zreq.h) until
 * max_wait.
 */
#ifndef CTL_QUERY_H
#define CTL_QUERY_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct ctl_query_target {
    const char *daemon;         /* "doudi-eligibility", for messages */
    const char *endpoint;
    int64_t max_message_bytes;  /* the largest reply taken */
    int64_t timeout_ms;         /* one attempt's wait */
    int64_t max_wait_ms;        /* give up after this long; 0: never */
    bool json;                  /* print the reply as one line of proto3 JSON */
} ctl_query_target;

/*
 * Sets request's request_id, asks, and waits for the reply_desc message
 * answering it. Returns CTL_EXIT_OK with *reply (free it with
 * protobuf_c_message_free_unpacked(reply, NULL)); CTL_EXIT_FAILED when the
 * daemon answered with an error_text (printed); CTL_EXIT_GAVE_UP without an
 * answer; CTL_EXIT_USAGE for a bad endpoint or a reply that breaks the
 * protocol (reported).
 */
int ctl_query_ask(const ctl_query_target *target, ProtobufCMessage *request,
                  const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply);

#endif
