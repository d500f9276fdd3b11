/*
 * test_wiredecode.c: the fast decoder gives protobuf-c's result or
 * none at all.
 *
 * For the sample events of every kind (tests/fuzz/fuzz_validate.c) and for
 * a deterministic stream of mutations of them, whenever dd_wire_decode
 * accepts, protobuf-c must accept too, both structures must encode to the
 * same bytes, and intake_validate must give both the same verdict and text.
 * The mutations must leave a good share of inputs to each side, or the test
 * would prove nothing. The records eligibility stores (fixed64 digests,
 * nested repeated summaries) are checked the same way, without the verdict.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fuzz/fuzz_validate.c"
#include "doudi/registry.pb-c.h"
#include "mutate.h"
#include "wiredecode.h"

/* ------------------------------------------------------------------------ */
/* Comparing with protobuf-c                                                 */
/* ------------------------------------------------------------------------ */

typedef enum { FAST_DECLINED, FAST_AGREED } fast_result;

static uint8_t *packed(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = dd_arena_alloc(fuzz_setup()->arena, *len + 1);
    protobuf_c_message_pack(m, buf);
    return buf;
}

/*
 * Decodes bytes both ways; fails the test when the fast decoder accepts
 * something protobuf-c decodes differently (or not at all).
 */
static fast_result compare(const uint8_t *bytes, size_t len, const char *what)
{
    fuzz_env *fe = fuzz_setup();
    dd_arena_reset(fe->arena);
    ProtobufCMessage *fast = NULL;
    if (!dd_wire_decode(&doudi__envelope__descriptor, bytes, len, DD_WIRE_NO_NUL, fe->arena,
                        &fast))
        return FAST_DECLINED;
    static const uint8_t nothing[1];
    ProtobufCAllocator alloc = dd_arena_protobuf_allocator(fe->arena);
    Doudi__Envelope *slow = doudi__envelope__unpack(&alloc, len, len ? bytes : nothing);
    if (!slow)
        fail_msg("%s: the fast decoder accepts %zu bytes protobuf-c refuses", what, len);
    if (slow->base.n_unknown_fields != 0)
        fail_msg("%s: accepted although protobuf-c found unknown fields", what);
    size_t fast_len, slow_len;
    const uint8_t *fast_bytes = packed(fast, &fast_len);
    const uint8_t *slow_bytes = packed(&slow->base, &slow_len);
    if (fast_len != slow_len || memcmp(fast_bytes, slow_bytes, fast_len) != 0)
        fail_msg("%s: the two decodes encode differently (%zu and %zu bytes)", what, fast_len,
                 slow_len);
    intake_verdict vf, vs;
    bool rf = false, rs = false;
    bool of = intake_validate((Doudi__Envelope *)fast, &fe->rules, FUZZ_NOW_MS, fe->arena, &rf, &vf);
    bool os = intake_validate(slow, &fe->rules, FUZZ_NOW_MS, fe->arena, &rs, &vs);
    if (of != os || rf != rs || vf.reason != vs.reason || strcmp(vf.text, vs.text) != 0)
        fail_msg("%s: judged differently: '%s' and '%s'", what, vf.text, vs.text);
    return FAST_AGREED;
}

/* ------------------------------------------------------------------------ */
/* Samples                                                                   */
/* ------------------------------------------------------------------------ */

static void test_every_sample_is_decoded_fast(void **state)
{
    (void)state;
    fuzz_setup();
    for (size_t i = 0; i < fuzz_n_samples; i++)
        if (compare(fuzz_samples[i].bytes, fuzz_samples[i].len, fuzz_samples[i].name) !=
            FAST_AGREED)
            fail_msg("sample %s was left to protobuf-c", fuzz_samples[i].name);
    /* The empty encoding is an empty Envelope for both. */
    assert_int_equal(compare(NULL, 0, "empty"), FAST_AGREED);
}

static const fuzz_sample *sample_of(Doudi__Envelope__BodyCase kind, bool full)
{
    fuzz_setup();
    for (size_t i = 0; i < fuzz_n_samples; i++)
        if (fuzz_samples[i].kind == kind && fuzz_samples[i].full == full)
            return &fuzz_samples[i];
    fail_msg("no sample of kind %d", (int)kind);
    return NULL;
}

/* Bytes of a sample with extra bytes appended (a field written again, an
 * unknown field...). */
static size_t with_suffix(uint8_t *out, const fuzz_sample *s, const uint8_t *extra, size_t n)
{
    memcpy(out, s->bytes, s->len);
    memcpy(out + s->len, extra, n);
    return s->len + n;
}

static void test_unusual_shapes_are_left_to_protobuf_c(void **state)
{
    (void)state;
    const fuzz_sample *person = sample_of(DOUDI__ENVELOPE__BODY_PERSON_REPORTED, true);
    uint8_t buf[4096];
    /* Field 1 (event_id) again: protobuf-c keeps the last one. */
    static const uint8_t again[] = {0x0a, 0x01, 'x'};
    assert_int_equal(compare(buf, with_suffix(buf, person, again, sizeof(again)), "twice"),
                     FAST_DECLINED);
    /* An unknown field 99 (varint). */
    static const uint8_t unknown[] = {0x98, 0x06, 0x01};
    assert_int_equal(compare(buf, with_suffix(buf, person, unknown, sizeof(unknown)), "unknown"),
                     FAST_DECLINED);
    /* Numbers between and just past the Envelope's runs of field numbers
     * (1-4 and 10-18): 7 and 19, varints. */
    static const uint8_t in_gap[] = {0x38, 0x01};
    assert_int_equal(compare(buf, with_suffix(buf, person, in_gap, sizeof(in_gap)), "gap"),
                     FAST_DECLINED);
    static const uint8_t past_last[] = {0x98, 0x01, 0x01};
    assert_int_equal(compare(buf, with_suffix(buf, person, past_last, sizeof(past_last)),
                             "past the last"),
                     FAST_DECLINED);
    /* A second body of the oneof: visit_report (16), empty. */
    static const uint8_t body[] = {0x82, 0x01, 0x00};
    assert_int_equal(compare(buf, with_suffix(buf, person, body, sizeof(body)), "oneof"),
                     FAST_DECLINED);
    /* A wire type that does not match (event_id as a varint). */
    static const uint8_t wrong[] = {0x08, 0x01};
    memcpy(buf, wrong, sizeof(wrong));
    assert_int_equal(compare(buf, sizeof(wrong), "wire type"), FAST_DECLINED);
    /* A length prefix padded to 5 bytes, which protobuf-c reads otherwise. */
    static const uint8_t padded[] = {0x0a, 0x81, 0x80, 0x80, 0x80, 0x00, 'x'};
    memcpy(buf, padded, sizeof(padded));
    assert_int_equal(compare(buf, sizeof(padded), "padded length"), FAST_DECLINED);
    /* A NUL inside a string: protobuf-c keeps it, cutting the C string
     * short, which intake must see (its check walks what was declined). */
    static const uint8_t nul[] = {0x0a, 0x03, 'a', 0x00, 'b'};
    memcpy(buf, nul, sizeof(nul));
    assert_int_equal(compare(buf, sizeof(nul), "NUL in a string"), FAST_DECLINED);
    /* Truncated anywhere. */
    for (size_t cut = 1; cut < person->len; cut++) {
        dd_arena_reset(fuzz_setup()->arena);
        ProtobufCMessage *m;
        ProtobufCAllocator alloc = dd_arena_protobuf_allocator(fuzz_setup()->arena);
        bool fast = dd_wire_decode(&doudi__envelope__descriptor, person->bytes, cut, 0,
                                       fuzz_setup()->arena, &m);
        bool slow = doudi__envelope__unpack(&alloc, cut, person->bytes) != NULL;
        assert_true(!fast || slow);
        if (fast)
            compare(person->bytes, cut, "cut");
    }
}

static void test_packed_and_unpacked_lists(void **state)
{
    (void)state;
    fuzz_env *fe = fuzz_setup();
    /* A household with packed vehicle values and several members. */
    const fuzz_sample *hh = sample_of(DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED, true);
    assert_int_equal(compare(hh->bytes, hh->len, "household"), FAST_AGREED);
    dd_arena_reset(fe->arena);
    ProtobufCMessage *m;
    assert_true(dd_wire_decode(&doudi__envelope__descriptor, hh->bytes, hh->len, 0, fe->arena, &m));
    const Doudi__HouseholdReported *h = ((Doudi__Envelope *)m)->household_reported;
    assert_non_null(h);
    assert_true(h->n_member_person_ids > 1);
    assert_true(h->n_vehicle_values_fen > 0);

    /* The same values unpacked (one key per element) give the same lists. */
    Doudi__HouseholdReported body = DOUDI__HOUSEHOLD_REPORTED__INIT;
    body.household_id = "hh-1";
    int64_t values[3] = {1, 300000, 1LL << 40};
    body.n_vehicle_values_fen = 3;
    body.vehicle_values_fen = values;
    Doudi__Envelope e;
    char id[] = "evt-packed";
    fuzz_envelope(&e, id, DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED);
    e.household_reported = &body;
    uint8_t buf[512];
    size_t len = doudi__envelope__pack(&e, buf);
    assert_int_equal(compare(buf, len, "packed"), FAST_AGREED);
    /* Rewrite: the envelope's fields, then the body with unpacked values. */
    uint8_t inner[128], out[512];
    size_t n = 0;
    inner[n++] = 0x0a;
    inner[n++] = 4;
    memcpy(inner + n, "hh-1", 4);
    n += 4;
    /* vehicle_values_fen's number, from the descriptor. */
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(&doudi__household_reported__descriptor,
                                                        "vehicle_values_fen");
    assert_non_null(f);
    assert_true(f->id < 16);
    for (int i = 0; i < 3; i++) {
        inner[n++] = (uint8_t)(f->id << 3);
        uint64_t v = (uint64_t)values[i];
        do {
            inner[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
            v >>= 7;
        } while (v);
    }
    e.household_reported = NULL;
    e.body_case = DOUDI__ENVELOPE__BODY__NOT_SET;
    size_t head = doudi__envelope__pack(&e, out);
    out[head++] = (uint8_t)((DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED << 3) | 2);
    out[head++] = (uint8_t)n;
    memcpy(out + head, inner, n);
    assert_int_equal(compare(out, head + n, "unpacked"), FAST_AGREED);
    dd_arena_reset(fe->arena);
    assert_true(dd_wire_decode(&doudi__envelope__descriptor, out, head + n, 0, fe->arena, &m));
    h = ((Doudi__Envelope *)m)->household_reported;
    assert_int_equal(h->n_vehicle_values_fen, 3);
    assert_true(h->vehicle_values_fen[2] == (int64_t)1 << 40);
}

/* ------------------------------------------------------------------------ */
/* Mutations                                                                 */
/* ------------------------------------------------------------------------ */

static void test_mutations_agree_with_protobuf_c(void **state)
{
    (void)state;
    fuzz_setup();
    size_t agreed = 0, declined = 0;
    uint8_t buf[4096];
    char what[64];
    for (unsigned it = 0; it < 200000; it++) {
        const fuzz_sample *s = &fuzz_samples[it % fuzz_n_samples];
        memcpy(buf, s->bytes, s->len);
        size_t len = s->len;
        unsigned n = 1 + (unsigned)(rnd() % 3);
        for (unsigned k = 0; k < n; k++)
            len = mutate(buf, len, sizeof(buf));
        snprintf(what, sizeof(what), "mutation %u of %s", it, s->name);
        if (compare(buf, len, what) == FAST_AGREED)
            agreed++;
        else
            declined++;
    }
    print_message("mutations: %zu decoded fast (and equal), %zu left to protobuf-c\n", agreed,
                  declined);
    assert_true(agreed > 20000);
    assert_true(declined > 20000);
}

/* ------------------------------------------------------------------------ */
/* Stored records                                                            */
/* ------------------------------------------------------------------------ */

/* Like compare(), for any message type, without intake's verdict. */
static fast_result compare_as(const ProtobufCMessageDescriptor *d, const uint8_t *bytes,
                              size_t len, const char *what)
{
    fuzz_env *fe = fuzz_setup();
    dd_arena_reset(fe->arena);
    ProtobufCMessage *fast = NULL;
    if (!dd_wire_decode(d, bytes, len, 0, fe->arena, &fast))
        return FAST_DECLINED;
    static const uint8_t nothing[1];
    ProtobufCAllocator alloc = dd_arena_protobuf_allocator(fe->arena);
    ProtobufCMessage *slow = protobuf_c_message_unpack(d, &alloc, len, len ? bytes : nothing);
    if (!slow)
        fail_msg("%s: the fast decoder accepts %zu bytes protobuf-c refuses", what, len);
    size_t fast_len, slow_len;
    const uint8_t *fast_bytes = packed(fast, &fast_len);
    const uint8_t *slow_bytes = packed(slow, &slow_len);
    if (fast_len != slow_len || memcmp(fast_bytes, slow_bytes, fast_len) != 0)
        fail_msg("%s: the two decodes encode differently (%zu and %zu bytes)", what, fast_len,
                 slow_len);
    return FAST_AGREED;
}

/* A household record as eligibility stores it: two members, each with two
 * decision summaries whose digests use all 64 bits. */
static uint8_t *stored_household(size_t *len)
{
    static char *members[] = {"11010519491231002X", "440524188001010014"};
    Doudi__HouseholdReported report = DOUDI__HOUSEHOLD_REPORTED__INIT;
    report.household_id = "hh-440106001001-00042";
    report.member_person_ids = members;
    report.n_member_person_ids = 2;
    report.financial_assets_fen = 1234567;
    Doudi__DecisionSummary ds[4];
    Doudi__DecisionSummary *dp[4];
    for (int i = 0; i < 4; i++) {
        doudi__decision_summary__init(&ds[i]);
        ds[i].program = (Doudi__Program)(1 + i % 2);
        ds[i].eligible = i % 2 == 0;
        ds[i].amount_fen = 50000 + i;
        ds[i].rule_digest = UINT64_C(0xF1E2D3C4B5A69788) ^ (uint64_t)i;
        ds[i].caused_by_sequence = 900000 + (uint64_t)i;
        ds[i].decided_at_ms = -1;
        ds[i].application_id = i == 3 ? "app-7" : "";
        dp[i] = &ds[i];
    }
    Doudi__MemberSummaries ms[2], *mp[2];
    for (int i = 0; i < 2; i++) {
        doudi__member_summaries__init(&ms[i]);
        ms[i].person_id = members[i];
        ms[i].decisions = &dp[2 * i];
        ms[i].n_decisions = 2;
        mp[i] = &ms[i];
    }
    Doudi__StoredHousehold h = DOUDI__STORED_HOUSEHOLD__INIT;
    h.report = &report;
    h.region_code = "440106001001";
    h.sequence = 77;
    h.evaluated = true;
    h.last_per_capita_income_fen = 81000;
    h.members = mp;
    h.n_members = 2;
    return packed(&h.base, len);
}

static void test_stored_records_decode_fast(void **state)
{
    (void)state;
    fuzz_setup();
    size_t len;
    const uint8_t *arena_bytes = stored_household(&len);
    uint8_t bytes[4096], buf[4096]; /* out of the arena each comparison empties */
    assert_true(len < sizeof(buf));
    memcpy(bytes, arena_bytes, len);
    memcpy(buf, bytes, len);
    assert_int_equal(compare_as(&doudi__stored_household__descriptor, buf, len, "household"),
                     FAST_AGREED);
    ProtobufCMessage *m;
    assert_true(dd_wire_decode(&doudi__stored_household__descriptor, buf, len, 0,
                               fuzz_setup()->arena, &m));
    const Doudi__StoredHousehold *h = (const Doudi__StoredHousehold *)m;
    assert_int_equal(h->n_members, 2);
    assert_int_equal(h->members[1]->n_decisions, 2);
    assert_true(h->members[1]->decisions[1]->rule_digest == (UINT64_C(0xF1E2D3C4B5A69788) ^ 3));

    size_t agreed = 0, declined = 0;
    char what[64];
    for (unsigned it = 0; it < 50000; it++) {
        memcpy(buf, bytes, len);
        size_t n = mutate(buf, len, sizeof(buf)); /* one: two rarely leave a record whole */
        snprintf(what, sizeof(what), "mutation %u of a stored household", it);
        if (compare_as(&doudi__stored_household__descriptor, buf, n, what) == FAST_AGREED)
            agreed++;
        else
            declined++;
    }
    print_message("stored household mutations: %zu decoded fast (and equal), %zu declined\n",
                  agreed, declined);
    assert_true(agreed > 10000);
    assert_true(declined > 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_sample_is_decoded_fast),
        cmocka_unit_test(test_unusual_shapes_are_left_to_protobuf_c),
        cmocka_unit_test(test_packed_and_unpacked_lists),
        cmocka_unit_test(test_mutations_agree_with_protobuf_c),
        cmocka_unit_test(test_stored_records_decode_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
