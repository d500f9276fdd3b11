/*
 * test_wireencode.c: dd_wire_encode writes the bytes protobuf-c's pack
 * writes.
 *
 * Random messages of every type the protos define (zero values, empty and
 * long strings, absent and present sub-messages, oneof members set to
 * zero, lists of zero to four elements, negative numbers, unknown fields)
 * are encoded both ways and compared byte for byte. A hand-made descriptor
 * with proto2's labels checks that such a message is left to protobuf-c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "doudi/admin.pb-c.h"
#include "doudi/alerts.pb-c.h"
#include "doudi/eligibility.pb-c.h"
#include "doudi/event.pb-c.h"
#include "doudi/log.pb-c.h"
#include "doudi/publish.pb-c.h"
#include "doudi/query.pb-c.h"
#include "doudi/registry.pb-c.h"
#include "doudi/scheduler.pb-c.h"
#include "mutate.h"
#include "wire.h"
#include "wireencode.h"

#define MAX_DEPTH 4


static const ProtobufCMessageDescriptor *const every_message[] = {
    &doudi__dead_letter__descriptor,
    &doudi__dead_letter_list_request__descriptor,
    &doudi__dead_letter_list_reply__descriptor,
    &doudi__dead_letter_replay_request__descriptor,
    &doudi__dead_letter_replay_reply__descriptor,
    &doudi__admin_request__descriptor,
    &doudi__admin_reply__descriptor,
    &doudi__stored_alert__descriptor,
    &doudi__alert_update__descriptor,
    &doudi__stream_entry__descriptor,
    &doudi__replay_request__descriptor,
    &doudi__replay_reply__descriptor,
    &doudi__list_request__descriptor,
    &doudi__list_reply__descriptor,
    &doudi__get_request__descriptor,
    &doudi__get_reply__descriptor,
    &doudi__silence__descriptor,
    &doudi__silence_request__descriptor,
    &doudi__silence_reply__descriptor,
    &doudi__silence_list_request__descriptor,
    &doudi__silence_list_reply__descriptor,
    &doudi__rate_request__descriptor,
    &doudi__rate_reply__descriptor,
    &doudi__alerts_request__descriptor,
    &doudi__alerts_reply__descriptor,
    &doudi__parameter_value__descriptor,
    &doudi__decision__descriptor,
    &doudi__care_change__descriptor,
    &doudi__alert__descriptor,
    &doudi__envelope__descriptor,
    &doudi__daily_living__descriptor,
    &doudi__person_reported__descriptor,
    &doudi__income__descriptor,
    &doudi__rigid_spending__descriptor,
    &doudi__household_reported__descriptor,
    &doudi__comparison_record__descriptor,
    &doudi__comparison_record__income_finding__descriptor,
    &doudi__comparison_record__employment_finding__descriptor,
    &doudi__comparison_record__property_finding__descriptor,
    &doudi__comparison_record__vehicle_finding__descriptor,
    &doudi__comparison_record__asset_finding__descriptor,
    &doudi__comparison_record__medical_stay_finding__descriptor,
    &doudi__comparison_record__schooling_finding__descriptor,
    &doudi__comparison_record__disability_finding__descriptor,
    &doudi__comparison_record__death_finding__descriptor,
    &doudi__risk_signal__descriptor,
    &doudi__application__descriptor,
    &doudi__enrolment_change__descriptor,
    &doudi__visit_finding__descriptor,
    &doudi__visit_report__descriptor,
    &doudi__roster_change__descriptor,
    &doudi__alert_acknowledgement__descriptor,
    &doudi__fetch_request__descriptor,
    &doudi__log_record__descriptor,
    &doudi__fetch_reply__descriptor,
    &doudi__publish_request__descriptor,
    &doudi__event_status__descriptor,
    &doudi__publish_reply__descriptor,
    &doudi__query_request__descriptor,
    &doudi__query_reply__descriptor,
    &doudi__stored_enrolment__descriptor,
    &doudi__stored_application__descriptor,
    &doudi__decision_summary__descriptor,
    &doudi__stored_person__descriptor,
    &doudi__member_summaries__descriptor,
    &doudi__stored_household__descriptor,
    &doudi__visit_assignment__descriptor,
    &doudi__plan_change__descriptor,
    &doudi__visit_plan__descriptor,
    &doudi__roster_worker__descriptor,
    &doudi__region_rate__descriptor,
    &doudi__unmatched_visit_report__descriptor,
    &doudi__scheduler_query_request__descriptor,
    &doudi__scheduler_query_reply__descriptor,
};
#define N_MESSAGES (sizeof every_message / sizeof every_message[0])

/* ------------------------------------------------------------------------ */
/* Random messages                                                           */
/* ------------------------------------------------------------------------ */

/* Numbers of every width a field meets: zero, small, two bytes, huge,
 * negative, one bit. */
static uint64_t wild_number(void)
{
    switch (rnd() % 6) {
    case 0:
        return 0;
    case 1:
        return rnd() % 128;
    case 2:
        return rnd() % 20000;
    case 3:
        return rnd();
    case 4:
        return (uint64_t)(-(int64_t)(rnd() % 100000) - 1);
    default:
        return 1ull << (rnd() % 64);
    }
}

static char *wild_string(dd_arena *a, bool may_be_null)
{
    switch (rnd() % 6) {
    case 0:
        if (may_be_null)
            return NULL;
        /* fall through */
    case 1:
        return "";
    case 2:
        return (char *)protobuf_c_empty_string;
    default: {
        /* Up to 300 bytes: the length takes one byte or two. */
        size_t len = rnd() % 4 == 0 ? 100 + rnd() % 200 : 1 + rnd() % 20;
        char *s = dd_arena_alloc(a, len + 1);
        for (size_t i = 0; i < len; i++)
            s[i] = (char)(' ' + rnd() % 95);
        s[len] = '\0';
        return s;
    }
    }
}

static ProtobufCMessage *random_message(const ProtobufCMessageDescriptor *d, dd_arena *a,
                                        int depth);

/* Fills the value at member (one element when in_list). */
static void random_value(const ProtobufCFieldDescriptor *f, void *member, dd_arena *a,
                         int depth, bool in_list)
{
    uint64_t n = wild_number();
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_FLOAT: {
        uint32_t v = (uint32_t)n;
        memcpy(member, &v, 4);
        break;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        memcpy(member, &n, 8);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        /* Any non-zero value is true; protobuf-c writes it as 1. */
        *(protobuf_c_boolean *)member = (protobuf_c_boolean)(rnd() % 3);
        break;
    case PROTOBUF_C_TYPE_STRING:
        *(char **)member = wild_string(a, !in_list);
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = member;
        b->len = rnd() % 3 == 0 ? 0 : rnd() % 300;
        b->data = dd_arena_alloc(a, b->len + 1);
        for (size_t i = 0; i < b->len; i++)
            b->data[i] = (uint8_t)rnd();
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *sub = f->descriptor;
        bool absent = !in_list && (depth >= MAX_DEPTH || rnd() % 4 == 0);
        *(ProtobufCMessage **)member =
            absent ? NULL : random_message(sub, a, depth >= MAX_DEPTH ? MAX_DEPTH : depth + 1);
        break;
    }
    }
}

/* Sets one member of each oneof, or none; the member may hold its zero value. */
static void random_oneof(const ProtobufCMessageDescriptor *d, unsigned first, char *m,
                         dd_arena *a, int depth)
{
    const ProtobufCFieldDescriptor *f0 = &d->fields[first];
    unsigned members[32], n = 0;
    for (unsigned i = first; i < d->n_fields && n < 32; i++)
        if ((d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            d->fields[i].quantifier_offset == f0->quantifier_offset)
            members[n++] = i;
    unsigned pick = (unsigned)(rnd() % (n + 1));
    if (pick == n)
        return; /* none: the case stays 0 */
    const ProtobufCFieldDescriptor *f = &d->fields[members[pick]];
    *(uint32_t *)(m + f->quantifier_offset) = f->id;
    random_value(f, m + f->offset, a, depth, false);
}

static ProtobufCMessage *random_message(const ProtobufCMessageDescriptor *d, dd_arena *a,
                                        int depth)
{
    char *m = dd_arena_alloc(a, d->sizeof_message);
    protobuf_c_message_init(d, m);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            bool first_of_group = true;
            for (unsigned j = 0; j < i; j++)
                if ((d->fields[j].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                    d->fields[j].quantifier_offset == f->quantifier_offset)
                    first_of_group = false;
            if (first_of_group)
                random_oneof(d, i, m, a, depth);
            continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = depth >= MAX_DEPTH && f->type == PROTOBUF_C_TYPE_MESSAGE
                               ? 0
                               : rnd() % 5;
            size_t step = dd_wire_element_size(f->type);
            char *array = dd_arena_alloc(a, count * step + 1);
            for (size_t k = 0; k < count; k++)
                random_value(f, array + k * step, a, depth, true);
            *(size_t *)(m + f->quantifier_offset) = count;
            *(void **)(m + f->offset) = array;
            continue;
        }
        if (rnd() % 3 != 0)
            random_value(f, m + f->offset, a, depth, false);
    }
    ProtobufCMessage *msg = (ProtobufCMessage *)m;
    if (rnd() % 8 == 0) {
        /* Fields a newer sender added: kept, and written after the known ones. */
        unsigned n = 1 + (unsigned)(rnd() % 2);
        msg->unknown_fields = dd_arena_alloc(a, n * sizeof *msg->unknown_fields);
        msg->n_unknown_fields = n;
        for (unsigned k = 0; k < n; k++) {
            ProtobufCMessageUnknownField *u = &msg->unknown_fields[k];
            u->tag = 1000 + (uint32_t)(rnd() % 100000);
            u->wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
            u->len = 1 + rnd() % 40;
            u->data = dd_arena_alloc(a, u->len);
            u->data[0] = (uint8_t)(u->len - 1);
            for (size_t i = 1; i < u->len; i++)
                u->data[i] = (uint8_t)rnd();
        }
    }
    return msg;
}

/* ------------------------------------------------------------------------ */
/* Comparing with protobuf-c                                                 */
/* ------------------------------------------------------------------------ */

static void assert_same_bytes(dd_wire_writer *w, const ProtobufCMessage *m)
{
    size_t want_len = protobuf_c_message_get_packed_size(m);
    uint8_t *want = malloc(want_len + 1);
    assert_non_null(want);
    assert_int_equal(protobuf_c_message_pack(m, want), want_len);
    size_t got_len;
    const uint8_t *got = dd_wire_encode(w, m, &got_len);
    if (got_len != want_len || memcmp(got, want, want_len) != 0)
        fail_msg("%s: %zu bytes encoded, protobuf-c packs %zu (or other bytes)",
                 m->descriptor->name, got_len, want_len);
    free(want);
}

static void test_random_messages_of_every_type(void **state)
{
    (void)state;
    dd_arena *a = dd_arena_new(1 << 16);
    dd_wire_writer w = {0};
    size_t longest = 0;
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < N_MESSAGES; i++) {
            ProtobufCMessage *m = random_message(every_message[i], a, 0);
            assert_same_bytes(&w, m);
            size_t len = protobuf_c_message_get_packed_size(m);
            if (len > longest)
                longest = len;
            dd_arena_reset(a);
        }
    }
    /* Encodings longer than the writer's first buffer were among them. */
    assert_true(longest > 4096);
    dd_wire_writer_free(&w);
    dd_arena_destroy(&a);
}

static void test_empty_message_and_fresh_writers(void **state)
{
    (void)state;
    Doudi__LogRecord empty = DOUDI__LOG_RECORD__INIT;
    dd_wire_writer w = {0};
    size_t len = 1;
    dd_wire_encode(&w, &empty.base, &len);
    assert_int_equal(len, 0);
    dd_wire_writer_free(&w);

    /* A first encoding larger than any buffer the writer would start with. */
    static uint8_t big[100000];
    memset(big, 0x5a, sizeof big);
    Doudi__LogRecord r = DOUDI__LOG_RECORD__INIT;
    r.payload.data = big;
    r.payload.len = sizeof big;
    r.sequence = 7;
    assert_same_bytes(&w, &r.base);
    /* And a small one after it, with the grown buffer. */
    r.payload.len = 3;
    assert_same_bytes(&w, &r.base);
    dd_wire_writer_free(&w);
    assert_null(w.data);
}

/* ---- a message of proto2's labels, which protobuf-c writes ---------------- */

typedef struct legacy {
    ProtobufCMessage base;
    int32_t required_number;
    protobuf_c_boolean has_optional_number;
    int32_t optional_number;
    char *optional_text;
} legacy;

static const ProtobufCFieldDescriptor legacy_fields[] = {
    {"required_number", 1, PROTOBUF_C_LABEL_REQUIRED, PROTOBUF_C_TYPE_INT32, 0,
     offsetof(legacy, required_number), NULL, NULL, 0, 0, NULL, NULL},
    {"optional_number", 2, PROTOBUF_C_LABEL_OPTIONAL, PROTOBUF_C_TYPE_INT32,
     offsetof(legacy, has_optional_number), offsetof(legacy, optional_number), NULL, NULL, 0, 0,
     NULL, NULL},
    {"optional_text", 3, PROTOBUF_C_LABEL_OPTIONAL, PROTOBUF_C_TYPE_STRING, 0,
     offsetof(legacy, optional_text), NULL, NULL, 0, 0, NULL, NULL},
};
static const unsigned legacy_by_name[] = {2, 1, 0};
static const ProtobufCIntRange legacy_ranges[] = {{1, 0}, {0, 3}};
static const ProtobufCMessageDescriptor legacy_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    "test.Legacy",
    "Legacy",
    "Test__Legacy",
    "test",
    sizeof(legacy),
    3,
    legacy_fields,
    legacy_by_name,
    1,
    legacy_ranges,
    NULL,
    NULL,
    NULL,
    NULL,
};

typedef struct holder {
    ProtobufCMessage base;
    legacy *inner;
    uint32_t after;
} holder;

static const ProtobufCFieldDescriptor holder_fields[] = {
    {"inner", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_MESSAGE, 0, offsetof(holder, inner),
     &legacy_descriptor, NULL, 0, 0, NULL, NULL},
    {"after", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_UINT32, 0, offsetof(holder, after), NULL,
     NULL, 0, 0, NULL, NULL},
};
static const unsigned holder_by_name[] = {1, 0};
static const ProtobufCIntRange holder_ranges[] = {{1, 0}, {0, 2}};
static const ProtobufCMessageDescriptor holder_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    "test.Holder",
    "Holder",
    "Test__Holder",
    "test",
    sizeof(holder),
    2,
    holder_fields,
    holder_by_name,
    1,
    holder_ranges,
    NULL,
    NULL,
    NULL,
    NULL,
};

static void test_proto2_labels_are_left_to_protobuf_c(void **state)
{
    (void)state;
    dd_wire_writer w = {0};
    legacy m = {.base = PROTOBUF_C_MESSAGE_INIT(&legacy_descriptor)};
    /* A required zero is written; an optional one only when it is there. */
    assert_same_bytes(&w, &m.base);
    size_t len;
    dd_wire_encode(&w, &m.base, &len);
    assert_int_equal(len, 2);
    m.has_optional_number = 1;
    m.optional_text = "x";
    assert_same_bytes(&w, &m.base);
    dd_wire_encode(&w, &m.base, &len);
    assert_int_equal(len, 7);

    /* Nested in a proto3 message whose later field is written first. */
    holder h = {.base = PROTOBUF_C_MESSAGE_INIT(&holder_descriptor), .inner = &m, .after = 300};
    assert_same_bytes(&w, &h.base);
    dd_wire_encode(&w, &h.base, &len);
    assert_int_equal(len, 2 + 7 + 3);
    dd_wire_writer_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_messages_of_every_type),
        cmocka_unit_test(test_empty_message_and_fresh_writers),
        cmocka_unit_test(test_proto2_labels_are_left_to_protobuf_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
