/*
 * test_facts.c: reading a comparison record's findings from its bytes gives
 * what decoding it gives, or nothing.
 *
 * elig_facts_scan lets eligibility skip decoding the month's repeated
 * department records (facts.h). Whenever it accepts an encoding,
 * protobuf-c must decode the same bytes to an Envelope with a comparison
 * record that elig_facts_of_record calls cacheable, with the same values,
 * the same subject key and the same event time. Checked on generated
 * records (every combination of findings, values of every size, lists
 * packed, unpacked and in pieces) and on a deterministic stream of
 * mutations of them; both sides must keep a good share of the inputs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "facts.h"
#include "mutate.h"
#include "wire.h"

#include "doudi/event.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { SCAN_DECLINED, SCAN_AGREED } scan_result;

/* Scans and decodes bytes; fails the test when the scanner accepted what
 * decoding says otherwise. */
static scan_result compare(const uint8_t *bytes, size_t len, const char *what)
{
    elig_fact_scan scan;
    bool scanned = elig_facts_scan(bytes, len, &scan);
    Doudi__Envelope *env = doudi__envelope__unpack(NULL, len, bytes);
    if (!scanned) {
        if (env)
            doudi__envelope__free_unpacked(env, NULL);
        return SCAN_DECLINED;
    }
    if (!env)
        fail_msg("%s: scanned, but protobuf-c does not decode it", what);
    if (env->body_case != DOUDI__ENVELOPE__BODY_COMPARISON_RECORD)
        fail_msg("%s: scanned, but the body is %d", what, (int)env->body_case);
    uint64_t value[ELIG_FACT_KINDS];
    if (!elig_facts_of_record(env->comparison_record, value))
        fail_msg("%s: scanned, but the record is not cacheable", what);
    for (unsigned k = 0; k < ELIG_FACT_KINDS; k++)
        if (value[k] != scan.value[k])
            fail_msg("%s: finding %u differs: %016llx scanned, %016llx decoded", what, k,
                     (unsigned long long)scan.value[k], (unsigned long long)value[k]);
    uint64_t key = elig_factcache_key(env->comparison_record->subject_person_id);
    if (key != scan.person_key)
        fail_msg("%s: subject key differs", what);
    if (env->occurred_at_ms != scan.occurred_at_ms)
        fail_msg("%s: event time differs", what);
    doudi__envelope__free_unpacked(env, NULL);
    return SCAN_AGREED;
}

/* ---- generated records --------------------------------------------------- */

/* A value of any size, negative ones included (each takes 10 bytes). */
static int64_t any_value(void)
{
    switch (rnd() % 4) {
    case 0: return 0;
    case 1: return (int64_t)(rnd() % 128);
    case 2: return (int64_t)(rnd() % 100000000);
    default: return (int64_t)rnd();
    }
}

typedef struct record {
    Doudi__Envelope env;
    Doudi__ComparisonRecord c;
    Doudi__ComparisonRecord__IncomeFinding income;
    Doudi__ComparisonRecord__EmploymentFinding employment;
    Doudi__ComparisonRecord__PropertyFinding property;
    Doudi__ComparisonRecord__VehicleFinding vehicles;
    Doudi__ComparisonRecord__AssetFinding assets;
    Doudi__ComparisonRecord__MedicalStayFinding stay;
    Doudi__ComparisonRecord__SchoolingFinding schooling;
    Doudi__ComparisonRecord__DisabilityFinding disability;
    Doudi__ComparisonRecord__DeathFinding death;
    int64_t vehicle_values[80];
    char event_id[32], person[24];
} record;

/* A comparison record with each finding present by chance (a hospital stay
 * or a death rarely, as they make it uncacheable). */
static void generate(record *r, unsigned n)
{
    doudi__envelope__init(&r->env);
    doudi__comparison_record__init(&r->c);
    snprintf(r->event_id, sizeof(r->event_id), "tax-2026-10-%06u", n);
    snprintf(r->person, sizeof(r->person), "44010619%02u0101%04u", 40 + n % 50, n % 10000);
    r->env.event_id = r->event_id;
    r->env.source = "tax-feed";
    r->env.occurred_at_ms = 1790784000000LL + (int64_t)(rnd() % 2678400000u);
    r->env.region_code = "440106001001";
    r->env.body_case = DOUDI__ENVELOPE__BODY_COMPARISON_RECORD;
    r->env.comparison_record = &r->c;
    r->c.subject_person_id = rnd() % 50 ? r->person : "";
    r->c.department = (Doudi__Department)(rnd() % 9);
    r->c.period_yyyymm = 202610;
    if (rnd() % 2) {
        doudi__comparison_record__income_finding__init(&r->income);
        r->income.monthly_income_fen = any_value();
        r->c.income = &r->income;
    }
    if (rnd() % 3 == 0) {
        doudi__comparison_record__employment_finding__init(&r->employment);
        r->employment.registered_unemployed = rnd() % 2;
        r->employment.receiving_pension = rnd() % 2;
        r->employment.monthly_pension_fen = any_value();
        r->c.employment = &r->employment;
    }
    if (rnd() % 3 == 0) {
        doudi__comparison_record__property_finding__init(&r->property);
        r->property.dwellings = (int32_t)any_value();
        r->c.property = &r->property;
    }
    if (rnd() % 3 == 0) {
        doudi__comparison_record__vehicle_finding__init(&r->vehicles);
        /* Past the scanner's 64: those are left to decoding. */
        r->vehicles.n_vehicle_values_fen = rnd() % 8 ? rnd() % 5 : rnd() % 80;
        for (size_t i = 0; i < r->vehicles.n_vehicle_values_fen; i++)
            r->vehicle_values[i] = any_value();
        r->vehicles.vehicle_values_fen = r->vehicle_values;
        r->c.vehicles = &r->vehicles;
    }
    if (rnd() % 3 == 0) {
        doudi__comparison_record__asset_finding__init(&r->assets);
        r->assets.financial_assets_fen = any_value();
        r->c.assets = &r->assets;
    }
    if (rnd() % 4 == 0) {
        doudi__comparison_record__schooling_finding__init(&r->schooling);
        r->schooling.enrolled = rnd() % 2;
        r->schooling.yearly_fees_fen = any_value();
        r->c.schooling = &r->schooling;
    }
    if (rnd() % 4 == 0) {
        doudi__comparison_record__disability_finding__init(&r->disability);
        r->disability.disability_grade = (int32_t)(rnd() % 5);
        r->disability.disability_type = (Doudi__DisabilityType)(rnd() % 7);
        r->c.disability = &r->disability;
    }
    if (rnd() % 20 == 0) {
        doudi__comparison_record__medical_stay_finding__init(&r->stay);
        r->stay.self_pay_fen = any_value();
        r->c.medical_stay = &r->stay;
    }
    if (rnd() % 40 == 0) {
        doudi__comparison_record__death_finding__init(&r->death);
        r->death.died_at_ms = any_value();
        r->c.death = &r->death;
    }
}

static size_t pack(const record *r, uint8_t *buf, size_t cap)
{
    size_t len = doudi__envelope__get_packed_size(&r->env);
    assert_true(len <= cap);
    return doudi__envelope__pack(&r->env, buf);
}

static bool cacheable(const record *r)
{
    return !r->c.medical_stay && !r->c.death;
}

static void test_every_cacheable_record_is_scanned(void **state)
{
    (void)state;
    uint8_t buf[2048];
    char what[64];
    size_t agreed = 0, uncacheable = 0, long_lists = 0;
    for (unsigned n = 0; n < 20000; n++) {
        record r;
        generate(&r, n);
        size_t len = pack(&r, buf, sizeof(buf));
        snprintf(what, sizeof(what), "record %u", n);
        scan_result got = compare(buf, len, what);
        bool long_list = r.c.vehicles && r.vehicles.n_vehicle_values_fen > 64;
        if (!cacheable(&r)) {
            assert_int_equal(got, SCAN_DECLINED);
            uncacheable++;
        } else if (long_list) {
            assert_int_equal(got, SCAN_DECLINED);
            long_lists++;
        } else {
            if (got != SCAN_AGREED)
                fail_msg("%s: a cacheable record as protobuf-c encodes it was not scanned", what);
            agreed++;
        }
    }
    print_message("records: %zu scanned, %zu uncacheable, %zu with over 64 vehicles\n", agreed,
                  uncacheable, long_lists);
    assert_true(agreed > 15000 && uncacheable > 500 && long_lists > 50);
}

/* Other kinds of event are never scanned. */
static void test_other_events_are_declined(void **state)
{
    (void)state;
    uint8_t buf[256];
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    Doudi__VisitReport v = DOUDI__VISIT_REPORT__INIT;
    v.subject_person_id = "440106194001010016";
    env.event_id = "visit-1";
    env.source = "worker-app";
    env.region_code = "440106001001";
    env.body_case = DOUDI__ENVELOPE__BODY_VISIT_REPORT;
    env.visit_report = &v;
    size_t len = doudi__envelope__pack(&env, buf);
    elig_fact_scan scan;
    assert_false(elig_facts_scan(buf, len, &scan));
    env.body_case = DOUDI__ENVELOPE__BODY__NOT_SET;
    len = doudi__envelope__pack(&env, buf);
    assert_false(elig_facts_scan(buf, len, &scan));
    assert_false(elig_facts_scan(buf, 0, &scan));
}

/* ---- hand-written encodings ---------------------------------------------- */

/* An Envelope around a ComparisonRecord holding only `finding`, the
 * encoded body of field `number`. */
static size_t envelope_with(uint8_t *out, unsigned number, const uint8_t *finding, size_t flen)
{
    uint8_t rec[512];
    size_t r = 0;
    rec[r++] = 1 << 3 | 2; /* subject_person_id */
    rec[r++] = 18;
    memcpy(rec + r, "440106194001010016", 18);
    r += 18;
    r += dd_wire_put_varint(rec + r, number << 3 | 2);
    r += dd_wire_put_varint(rec + r, flen);
    memcpy(rec + r, finding, flen);
    r += flen;
    size_t n = 0;
    out[n++] = 3 << 3 | 0; /* occurred_at_ms */
    n += dd_wire_put_varint(out + n, 1790784000000ULL);
    out[n++] = 12 << 3 | 2; /* comparison_record */
    n += dd_wire_put_varint(out + n, r);
    memcpy(out + n, rec, r);
    return n + r;
}

/* Vehicle values unpacked, packed, and in several packed pieces mixed with
 * single values: protobuf-c joins them all into one list. */
static void test_vehicle_lists_in_every_shape(void **state)
{
    (void)state;
    uint8_t finding[256], buf[512];
    const uint64_t values[] = {4200000, 0, (uint64_t)-5, 900000};
    /* unpacked */
    size_t f = 0;
    for (size_t i = 0; i < 4; i++) {
        finding[f++] = 1 << 3 | 0;
        f += dd_wire_put_varint(finding + f, values[i]);
    }
    assert_int_equal(compare(buf, envelope_with(buf, 13, finding, f), "unpacked"), SCAN_AGREED);
    /* two packed pieces and a single value between them */
    uint8_t piece[64];
    size_t p = dd_wire_put_varint(piece, values[0]);
    p += dd_wire_put_varint(piece + p, values[1]);
    f = 0;
    finding[f++] = 1 << 3 | 2;
    f += dd_wire_put_varint(finding + f, p);
    memcpy(finding + f, piece, p);
    f += p;
    finding[f++] = 1 << 3 | 0;
    f += dd_wire_put_varint(finding + f, values[2]);
    finding[f++] = 1 << 3 | 2;
    size_t last = dd_wire_put_varint(piece, values[3]);
    f += dd_wire_put_varint(finding + f, last);
    memcpy(finding + f, piece, last);
    f += last;
    assert_int_equal(compare(buf, envelope_with(buf, 13, finding, f), "pieces"), SCAN_AGREED);
    /* an empty packed piece */
    finding[0] = 1 << 3 | 2;
    finding[1] = 0;
    assert_int_equal(compare(buf, envelope_with(buf, 13, finding, 2), "empty piece"), SCAN_AGREED);
    /* an empty finding: present, every value 0 */
    assert_int_equal(compare(buf, envelope_with(buf, 10, finding, 0), "empty income"), SCAN_AGREED);
}

/* Numbers as protobuf-c reads them: a bool whose only set bit lies past
 * the 64th is true, a 32-bit field keeps the low 32 bits of its varint. */
static void test_values_read_as_protobuf_c_reads_them(void **state)
{
    (void)state;
    uint8_t finding[64], buf[512];
    elig_fact_scan scan;
    /* employment: registered_unemployed = 9 continuation bytes, then 0x02 */
    size_t f = 0;
    finding[f++] = 1 << 3 | 0;
    memset(finding + f, 0x80, 9);
    f += 9;
    finding[f++] = 0x02;
    size_t len = envelope_with(buf, 11, finding, f);
    assert_int_equal(compare(buf, len, "bool past 64 bits"), SCAN_AGREED);
    Doudi__ComparisonRecord__EmploymentFinding emp =
        DOUDI__COMPARISON_RECORD__EMPLOYMENT_FINDING__INIT;
    emp.registered_unemployed = 1;
    Doudi__ComparisonRecord c = DOUDI__COMPARISON_RECORD__INIT;
    c.employment = &emp;
    uint64_t value[ELIG_FACT_KINDS];
    assert_true(elig_facts_of_record(&c, value));
    assert_true(elig_facts_scan(buf, len, &scan));
    assert_int_equal(scan.value[ELIG_FACT_EMPLOYMENT], value[ELIG_FACT_EMPLOYMENT]);
    /* property: dwellings = 2^32 + 3, read as 3 */
    f = 0;
    finding[f++] = 1 << 3 | 0;
    f += dd_wire_put_varint(finding + f, (UINT64_C(1) << 32) + 3);
    len = envelope_with(buf, 12, finding, f);
    assert_int_equal(compare(buf, len, "int32 past 32 bits"), SCAN_AGREED);
    /* disability: grade -1, ten bytes on the wire */
    f = 0;
    finding[f++] = 1 << 3 | 0;
    f += dd_wire_put_varint(finding + f, (uint64_t)-1);
    len = envelope_with(buf, 17, finding, f);
    assert_int_equal(compare(buf, len, "negative int32"), SCAN_AGREED);
}

/* Shapes the scanner leaves to decoding: a finding twice (protobuf-c
 * merges), a field it does not know, a fixed-width value where a varint
 * belongs, a subject with a NUL. */
static void test_unusual_shapes_are_declined(void **state)
{
    (void)state;
    uint8_t finding[64], buf[512];
    elig_fact_scan scan;
    /* income's value twice: protobuf-c keeps the last */
    size_t f = 0;
    finding[f++] = 1 << 3 | 0;
    f += dd_wire_put_varint(finding + f, 100);
    finding[f++] = 1 << 3 | 0;
    f += dd_wire_put_varint(finding + f, 200);
    size_t len = envelope_with(buf, 10, finding, f);
    assert_false(elig_facts_scan(buf, len, &scan));
    assert_int_equal(compare(buf, len, "income twice"), SCAN_DECLINED);
    /* an unknown field inside a finding */
    f = 0;
    finding[f++] = 7 << 3 | 0;
    finding[f++] = 1;
    assert_false(elig_facts_scan(buf, envelope_with(buf, 10, finding, f), &scan));
    /* a fixed64 where income's varint belongs */
    f = 0;
    finding[f++] = 1 << 3 | 1;
    memset(finding + f, 0x11, 8);
    f += 8;
    assert_false(elig_facts_scan(buf, envelope_with(buf, 10, finding, f), &scan));
    /* an unknown finding number */
    finding[0] = 1 << 3 | 0;
    finding[1] = 5;
    assert_false(elig_facts_scan(buf, envelope_with(buf, 30, finding, 2), &scan));
    /* a NUL in the subject: the decoded id stops there */
    len = envelope_with(buf, 10, finding, 2);
    uint8_t *subject = memmem(buf, len, "4401061940", 10);
    assert_non_null(subject);
    subject[3] = '\0';
    assert_false(elig_facts_scan(buf, len, &scan));
}

static void test_mutations_agree_with_protobuf_c(void **state)
{
    (void)state;
    uint8_t buf[2048];
    char what[64];
    size_t agreed = 0, declined = 0;
    for (unsigned it = 0; it < 200000; it++) {
        record r;
        generate(&r, it);
        size_t len = pack(&r, buf, sizeof(buf));
        unsigned n = 1 + (unsigned)(rnd() % 3);
        for (unsigned k = 0; k < n; k++)
            len = mutate(buf, len, sizeof(buf));
        snprintf(what, sizeof(what), "mutation %u", it);
        if (compare(buf, len, what) == SCAN_AGREED)
            agreed++;
        else
            declined++;
    }
    print_message("mutations: %zu scanned (and equal), %zu declined\n", agreed, declined);
    assert_true(agreed > 20000);
    assert_true(declined > 20000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_cacheable_record_is_scanned),
        cmocka_unit_test(test_other_events_are_declined),
        cmocka_unit_test(test_vehicle_lists_in_every_shape),
        cmocka_unit_test(test_values_read_as_protobuf_c_reads_them),
        cmocka_unit_test(test_unusual_shapes_are_declined),
        cmocka_unit_test(test_mutations_agree_with_protobuf_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
