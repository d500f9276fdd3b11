/*
 * query.c: the request/reply both daemons' query commands share. The
 * messages are reached through their descriptors, so one exchange serves
 * QueryRequest and SchedulerQueryRequest alike.
 */
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>

#include "alloc.h"
#include "ctl.h"
#include "error.h"
#include "pbjson.h"
#include "zreq.h"

/* The address of a field the query convention names (the descriptors are
 * generated from the .proto files, so a missing field is a build mistake). */
static void *field_of(ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    if (!f)
        abort();
    return (char *)m + f->offset;
}

static uint64_t request_id_of(ProtobufCMessage *m)
{
    return *(uint64_t *)field_of(m, "request_id");
}

static const char *error_text_of(ProtobufCMessage *m)
{
    const char *text = *(char **)field_of(m, "error_text");
    return text ? text : "";
}

struct wait {
    const ProtobufCMessageDescriptor *desc;
    uint64_t id;
    ProtobufCMessage *reply;
};

static bool match_reply(void *ctx, const uint8_t *data, size_t len)
{
    struct wait *w = ctx;
    ProtobufCMessage *reply = protobuf_c_message_unpack(w->desc, NULL, len, data);
    if (!reply) {
        ctl_warn("ignoring a reply that is not a %s (%zu bytes)", w->desc->short_name, len);
        return false;
    }
    /*
     * A request the daemon cannot decode is answered with request_id 0 and
     * an error_text. Each attempt has a socket of its own with one request
     * on it, so such an answer is to ours.
     */
    uint64_t id = request_id_of(reply);
    if (id != w->id && (id != 0 || !error_text_of(reply)[0])) {
        protobuf_c_message_free_unpacked(reply, NULL);
        return false;
    }
    w->reply = reply;
    return true;
}

int ctl_query_ask(const ctl_query_target *t, ProtobufCMessage *request,
                  const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **out)
{
    ctl_zreq *z;
    int rc = ctl_zreq_new(t->endpoint, t->max_message_bytes, &z);
    if (rc != 0)
        return ctl_usage("cannot use endpoint '%s': %s", t->endpoint, zmq_strerror(-rc));
    uint64_t id = ctl_zreq_next_id();
    *(uint64_t *)field_of(request, "request_id") = id;
    size_t len = protobuf_c_message_get_packed_size(request);
    uint8_t *buf = dd_malloc(len ? len : 1);
    protobuf_c_message_pack(request, buf);
    ctl_zreq_policy policy = { .timeout_ms = t->timeout_ms,
                               .resend = true,
                               .max_wait_ms = t->max_wait_ms };
    struct wait w = { .desc = reply_desc, .id = id };
    rc = ctl_zreq_call(z, buf, len, &policy, match_reply, &w);
    free(buf);
    if (rc == DD_AGAIN || rc == -ENOTCONN) {
        ctl_zreq_destroy(&z);
        return CTL_EXIT_GAVE_UP;
    }
    if (rc != 0) {
        ctl_warn("%s: %s", ctl_zreq_endpoint(z), zmq_strerror(-rc));
        ctl_zreq_destroy(&z);
        return CTL_EXIT_USAGE;
    }
    ctl_zreq_destroy(&z);

    ProtobufCMessage *reply = w.reply;
    if (t->json) {
        char *text = dd_pbjson_format(reply);
        puts(text);
        free(text);
    }
    if (request_id_of(reply) != id) {
        ctl_warn("%s could not read the query: %s", t->daemon, error_text_of(reply));
        protobuf_c_message_free_unpacked(reply, NULL);
        return CTL_EXIT_USAGE;
    }
    if (error_text_of(reply)[0]) {
        ctl_warn("%s", error_text_of(reply));
        protobuf_c_message_free_unpacked(reply, NULL);
        return CTL_EXIT_FAILED;
    }
    *out = reply;
    return CTL_EXIT_OK;
}
