/*
 * test_pbjson.c: the proto3 JSON mapping (common/pbjson.h).
 *
 * Three kinds of evidence. Round trips: a message of each kind built in C
 * with every field set goes to JSON and back, and both pack to the same
 * bytes. Fixtures: JSON text as Google's Python runtime (protobuf 4.21,
 * json_format.MessageToJson / MessageToDict) writes it for doudi messages,
 * kept below, must parse to the message it came from, and our output must
 * be the same text. Errors: every refusal, with its exact sentence.
 *
 * doudi's .proto files use only some field types, so a descriptor written
 * out by hand below (AllTypes) has every type protobuf-c supports, repeated
 * and in a oneof, a proto2-style optional, and a field of its own type for
 * the nesting limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doudi/admin.pb-c.h"
#include "doudi/event.pb-c.h"
#include "doudi/log.pb-c.h"
#include "doudi/publish.pb-c.h"
#include "error.h"
#include "pbjson.h"

/* ------------------------------------------------------------------------ */
/* AllTypes: a hand-written descriptor with every field type                 */
/* ------------------------------------------------------------------------ */

typedef struct AllTypes AllTypes;
struct AllTypes {
    ProtobufCMessage base;
    int32_t f_int32, f_sint32, f_sfixed32;
    int64_t f_int64, f_sint64, f_sfixed64;
    uint32_t f_uint32, f_fixed32;
    uint64_t f_uint64, f_fixed64;
    float f_float;
    double f_double;
    protobuf_c_boolean f_bool;
    int32_t f_enum;
    char *f_string;
    ProtobufCBinaryData f_bytes;
    AllTypes *f_message;

    size_t n_r_int32, n_r_sint32, n_r_sfixed32;
    int32_t *r_int32, *r_sint32, *r_sfixed32;
    size_t n_r_int64, n_r_sint64, n_r_sfixed64;
    int64_t *r_int64, *r_sint64, *r_sfixed64;
    size_t n_r_uint32, n_r_fixed32;
    uint32_t *r_uint32, *r_fixed32;
    size_t n_r_uint64, n_r_fixed64;
    uint64_t *r_uint64, *r_fixed64;
    size_t n_r_float;
    float *r_float;
    size_t n_r_double;
    double *r_double;
    size_t n_r_bool;
    protobuf_c_boolean *r_bool;
    size_t n_r_enum;
    int32_t *r_enum;
    size_t n_r_string;
    char **r_string;
    size_t n_r_bytes;
    ProtobufCBinaryData *r_bytes;
    size_t n_r_message;
    AllTypes **r_message;

    uint32_t choice_case;
    union {
        char *c_string;
        ProtobufCBinaryData c_bytes;
        int32_t c_int32;
        AllTypes *c_message;
    };

    protobuf_c_boolean has_o_int32;
    int32_t o_int32;
    char *o_string;
};

enum { LEVEL_NEGATIVE = -1, LEVEL_UNSPECIFIED = 0, LEVEL_LOW = 1, LEVEL_HIGH = 2 };

static const ProtobufCEnumValue level_values[] = {
    { "LEVEL_NEGATIVE", "LEVEL_NEGATIVE", -1 },
    { "LEVEL_UNSPECIFIED", "LEVEL_UNSPECIFIED", 0 },
    { "LEVEL_LOW", "LEVEL_LOW", 1 },
    { "LEVEL_HIGH", "LEVEL_HIGH", 2 },
};
static const ProtobufCEnumValueIndex level_by_name[] = {
    { "LEVEL_HIGH", 3 },
    { "LEVEL_LOW", 2 },
    { "LEVEL_NEGATIVE", 0 },
    { "LEVEL_UNSPECIFIED", 1 },
};
static const ProtobufCIntRange level_ranges[] = { { -1, 0 }, { 0, 4 } };
static const ProtobufCEnumDescriptor level_descriptor = {
    PROTOBUF_C__ENUM_DESCRIPTOR_MAGIC, "test.Level", "Level", "Level", "test",
    4, level_values, 4, level_by_name, 1, level_ranges, NULL, NULL, NULL, NULL,
};

static const ProtobufCMessageDescriptor all_types_descriptor;

#define FIELD(name, id, label, type, q, desc, def, flags) \
    { #name, id, label, type, q, offsetof(AllTypes, name), desc, def, flags, 0, NULL, NULL }
#define SINGLE(name, id, type, desc, def) \
    FIELD(name, id, PROTOBUF_C_LABEL_NONE, type, 0, desc, def, 0)
#define REPEATED(name, id, type, desc) \
    FIELD(name, id, PROTOBUF_C_LABEL_REPEATED, type, offsetof(AllTypes, n_##name), desc, NULL, 0)
#define ONEOF(name, id, type, desc, def)                                                     \
    FIELD(name, id, PROTOBUF_C_LABEL_NONE, type, offsetof(AllTypes, choice_case), desc, def, \
          PROTOBUF_C_FIELD_FLAG_ONEOF)

#define N_ALL_TYPES_FIELDS 40
static const ProtobufCFieldDescriptor all_types_fields[N_ALL_TYPES_FIELDS] = {
    SINGLE(f_int32, 1, PROTOBUF_C_TYPE_INT32, NULL, NULL),
    SINGLE(f_sint32, 2, PROTOBUF_C_TYPE_SINT32, NULL, NULL),
    SINGLE(f_sfixed32, 3, PROTOBUF_C_TYPE_SFIXED32, NULL, NULL),
    SINGLE(f_int64, 4, PROTOBUF_C_TYPE_INT64, NULL, NULL),
    SINGLE(f_sint64, 5, PROTOBUF_C_TYPE_SINT64, NULL, NULL),
    SINGLE(f_sfixed64, 6, PROTOBUF_C_TYPE_SFIXED64, NULL, NULL),
    SINGLE(f_uint32, 7, PROTOBUF_C_TYPE_UINT32, NULL, NULL),
    SINGLE(f_fixed32, 8, PROTOBUF_C_TYPE_FIXED32, NULL, NULL),
    SINGLE(f_uint64, 9, PROTOBUF_C_TYPE_UINT64, NULL, NULL),
    SINGLE(f_fixed64, 10, PROTOBUF_C_TYPE_FIXED64, NULL, NULL),
    SINGLE(f_float, 11, PROTOBUF_C_TYPE_FLOAT, NULL, NULL),
    SINGLE(f_double, 12, PROTOBUF_C_TYPE_DOUBLE, NULL, NULL),
    SINGLE(f_bool, 13, PROTOBUF_C_TYPE_BOOL, NULL, NULL),
    SINGLE(f_enum, 14, PROTOBUF_C_TYPE_ENUM, &level_descriptor, NULL),
    SINGLE(f_string, 15, PROTOBUF_C_TYPE_STRING, NULL, &protobuf_c_empty_string),
    SINGLE(f_bytes, 16, PROTOBUF_C_TYPE_BYTES, NULL, NULL),
    SINGLE(f_message, 17, PROTOBUF_C_TYPE_MESSAGE, &all_types_descriptor, NULL),
    REPEATED(r_int32, 21, PROTOBUF_C_TYPE_INT32, NULL),
    REPEATED(r_sint32, 22, PROTOBUF_C_TYPE_SINT32, NULL),
    REPEATED(r_sfixed32, 23, PROTOBUF_C_TYPE_SFIXED32, NULL),
    REPEATED(r_int64, 24, PROTOBUF_C_TYPE_INT64, NULL),
    REPEATED(r_sint64, 25, PROTOBUF_C_TYPE_SINT64, NULL),
    REPEATED(r_sfixed64, 26, PROTOBUF_C_TYPE_SFIXED64, NULL),
    REPEATED(r_uint32, 27, PROTOBUF_C_TYPE_UINT32, NULL),
    REPEATED(r_fixed32, 28, PROTOBUF_C_TYPE_FIXED32, NULL),
    REPEATED(r_uint64, 29, PROTOBUF_C_TYPE_UINT64, NULL),
    REPEATED(r_fixed64, 30, PROTOBUF_C_TYPE_FIXED64, NULL),
    REPEATED(r_float, 31, PROTOBUF_C_TYPE_FLOAT, NULL),
    REPEATED(r_double, 32, PROTOBUF_C_TYPE_DOUBLE, NULL),
    REPEATED(r_bool, 33, PROTOBUF_C_TYPE_BOOL, NULL),
    REPEATED(r_enum, 34, PROTOBUF_C_TYPE_ENUM, &level_descriptor),
    REPEATED(r_string, 35, PROTOBUF_C_TYPE_STRING, NULL),
    REPEATED(r_bytes, 36, PROTOBUF_C_TYPE_BYTES, NULL),
    REPEATED(r_message, 37, PROTOBUF_C_TYPE_MESSAGE, &all_types_descriptor),
    ONEOF(c_string, 41, PROTOBUF_C_TYPE_STRING, NULL, &protobuf_c_empty_string),
    ONEOF(c_bytes, 42, PROTOBUF_C_TYPE_BYTES, NULL, NULL),
    ONEOF(c_int32, 43, PROTOBUF_C_TYPE_INT32, NULL, NULL),
    ONEOF(c_message, 44, PROTOBUF_C_TYPE_MESSAGE, &all_types_descriptor, NULL),
    FIELD(o_int32, 51, PROTOBUF_C_LABEL_OPTIONAL, PROTOBUF_C_TYPE_INT32,
          offsetof(AllTypes, has_o_int32), NULL, NULL, 0),
    FIELD(o_string, 52, PROTOBUF_C_LABEL_OPTIONAL, PROTOBUF_C_TYPE_STRING, 0, NULL, NULL, 0),
};

/* Field number runs 1-17, 21-37, 41-44, 51-52, then the end marker. */
static const ProtobufCIntRange all_types_ranges[] = {
    { 1, 0 }, { 21, 17 }, { 41, 34 }, { 51, 38 }, { 0, N_ALL_TYPES_FIELDS },
};

/* Filled by setup(): sorting 40 names by hand invites mistakes. */
static unsigned all_types_by_name[N_ALL_TYPES_FIELDS];

static void all_types_init(ProtobufCMessage *m)
{
    AllTypes *t = (AllTypes *)m;
    memset(t, 0, sizeof *t);
    t->base.descriptor = &all_types_descriptor;
    t->f_string = (char *)protobuf_c_empty_string;
}

static const ProtobufCMessageDescriptor all_types_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.AllTypes", "AllTypes", "AllTypes", "test",
    sizeof(AllTypes), N_ALL_TYPES_FIELDS, all_types_fields, all_types_by_name,
    4, all_types_ranges, all_types_init, NULL, NULL, NULL,
};

static int by_name(const void *a, const void *b)
{
    return strcmp(all_types_fields[*(const unsigned *)a].name,
                  all_types_fields[*(const unsigned *)b].name);
}

static int setup(void **state)
{
    (void)state;
    for (unsigned i = 0; i < N_ALL_TYPES_FIELDS; i++)
        all_types_by_name[i] = i;
    qsort(all_types_by_name, N_ALL_TYPES_FIELDS, sizeof(unsigned), by_name);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static uint8_t *pack(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(*len + 1);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(msg, buf), *len);
    return buf;
}

static void assert_same_wire(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t la, lb;
    uint8_t *pa = pack(a, &la), *pb = pack(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(pa, pb, la);
    free(pa);
    free(pb);
}

static ProtobufCMessage *parse_ok(const ProtobufCMessageDescriptor *desc, const char *text)
{
    ProtobufCMessage *msg = NULL;
    char err[256];
    int rc = dd_pbjson_parse(desc, text, strlen(text), &msg, err, sizeof err);
    if (rc != 0)
        fail_msg("parse of %s failed: %s", text, err);
    assert_non_null(msg);
    assert_string_equal(err, "");
    assert_true(protobuf_c_message_check(msg));
    return msg;
}

static void expect_error(const ProtobufCMessageDescriptor *desc, const char *text,
                         const char *expected)
{
    ProtobufCMessage *msg = (ProtobufCMessage *)(uintptr_t)1;
    char err[512];
    int rc = dd_pbjson_parse(desc, text, strlen(text), &msg, err, sizeof err);
    if (rc == 0)
        fail_msg("parse of %s succeeded; expected \"%s\"", text, expected);
    assert_int_equal(rc, DD_EPROTO);
    assert_null(msg);
    assert_string_equal(err, expected);
}

static void expect_error_prefix(const ProtobufCMessageDescriptor *desc, const char *text,
                                const char *prefix)
{
    ProtobufCMessage *msg = NULL;
    char err[512];
    int rc = dd_pbjson_parse(desc, text, strlen(text), &msg, err, sizeof err);
    assert_int_equal(rc, DD_EPROTO);
    assert_null(msg);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", err, prefix);
}

/* Parses text and checks it is the same message as expected, on the wire. */
static void expect_parse(const ProtobufCMessage *expected, const char *text)
{
    ProtobufCMessage *msg = parse_ok(expected->descriptor, text);
    assert_same_wire(expected, msg);
    protobuf_c_message_free_unpacked(msg, NULL);
}

static void expect_format(const ProtobufCMessage *msg, const char *expected)
{
    char *text = dd_pbjson_format(msg);
    assert_string_equal(text, expected);
    free(text);
}

/*
 * msg to text and back, by both entry points; the copy must pack to the same
 * bytes and write the same text. The same message after a binary round trip
 * (memory laid out by protobuf-c's own unpack) must write the same text too.
 */
static void round_trip(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    char *text = dd_pbjson_format(msg);
    ProtobufCMessage *copy = parse_ok(desc, text);
    assert_same_wire(msg, copy);

    char *again = dd_pbjson_format(copy);
    assert_string_equal(text, again);

    json_t *obj = dd_pbjson_to_json(msg);
    ProtobufCMessage *copy2 = NULL;
    char err[256];
    assert_int_equal(dd_pbjson_from_json(desc, obj, &copy2, err, sizeof err), 0);
    assert_same_wire(msg, copy2);

    size_t len;
    uint8_t *wire = pack(msg, &len);
    ProtobufCMessage *unpacked = protobuf_c_message_unpack(desc, NULL, len, wire);
    assert_non_null(unpacked);
    json_t *obj2 = dd_pbjson_to_json(unpacked);
    assert_true(json_equal(obj, obj2));

    json_decref(obj);
    json_decref(obj2);
    free(wire);
    free(text);
    free(again);
    protobuf_c_message_free_unpacked(copy, NULL);
    protobuf_c_message_free_unpacked(copy2, NULL);
    protobuf_c_message_free_unpacked(unpacked, NULL);
}

/*
 * Proof that a test message really has every field set: its JSON has one
 * member per field (one per oneof), and so has every submessage.
 */
static void assert_all_set(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    unsigned expected = 0;
    unsigned oneof_seen_at[8];
    unsigned n_oneofs = 0;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        const char *slot = (const char *)msg + f->offset;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            bool counted = false;
            for (unsigned k = 0; k < n_oneofs; k++)
                counted |= oneof_seen_at[k] == f->quantifier_offset;
            if (!counted) {
                oneof_seen_at[n_oneofs++] = f->quantifier_offset;
                expected++;
            }
            if (*(const uint32_t *)((const char *)msg + f->quantifier_offset) != f->id)
                continue;
        } else {
            expected++;
        }
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
            ProtobufCMessage *const *subs = *(ProtobufCMessage *const *const *)slot;
            for (size_t k = 0; k < n; k++)
                assert_all_set(subs[k]);
        } else {
            assert_all_set(*(ProtobufCMessage *const *)slot);
        }
    }
    json_t *obj = dd_pbjson_to_json(msg);
    if (json_object_size(obj) != expected)
        fail_msg("%s: %zu of %u fields set", desc->name, json_object_size(obj), expected);
    json_decref(obj);
}

static void envelope(Doudi__Envelope *env, Doudi__Envelope__BodyCase body_case)
{
    Doudi__Envelope init = DOUDI__ENVELOPE__INIT;
    *env = init;
    env->event_id = "evt-2024-000001";
    env->source = "assistance-portal";
    env->occurred_at_ms = 1717171717171;
    env->region_code = "110101001001";
    env->body_case = body_case;
}

static void check_envelope(const Doudi__Envelope *env, const ProtobufCMessage *body)
{
    assert_all_set(&env->base);
    assert_all_set(body);
    round_trip(&env->base);
}

/* ------------------------------------------------------------------------ */
/* Round trips: an Envelope of every body kind, every field set              */
/* ------------------------------------------------------------------------ */

static void test_round_trip_person_reported(void **state)
{
    (void)state;
    Doudi__DailyLiving dl = DOUDI__DAILY_LIVING__INIT;
    dl.eating = DOUDI__ADL_ABILITY__ADL_ABILITY_INDEPENDENT;
    dl.dressing = DOUDI__ADL_ABILITY__ADL_ABILITY_NEEDS_HELP;
    dl.getting_in_out_of_bed = DOUDI__ADL_ABILITY__ADL_ABILITY_DEPENDENT;
    dl.toileting = DOUDI__ADL_ABILITY__ADL_ABILITY_NEEDS_HELP;
    dl.walking_indoors = DOUDI__ADL_ABILITY__ADL_ABILITY_INDEPENDENT;
    dl.bathing = DOUDI__ADL_ABILITY__ADL_ABILITY_DEPENDENT;
    Doudi__PersonReported pr = DOUDI__PERSON_REPORTED__INIT;
    pr.person_id = "11010519491231002X";
    pr.household_id = "hh-7 \"east\" \\ 东城区\n\t";
    pr.disability_grade = 2;
    pr.disability_type = DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_MULTIPLE;
    pr.daily_living = &dl;
    pr.living_arrangement = DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_LEFT_BEHIND;
    pr.family_planning_special = DOUDI__FAMILY_PLANNING_SPECIAL__FAMILY_PLANNING_SPECIAL_ONLY_CHILD_DIED;
    pr.work_ability = DOUDI__WORK_ABILITY__WORK_ABILITY_PARTIAL;
    pr.legal_supporter = DOUDI__LEGAL_SUPPORTER__LEGAL_SUPPORTER_UNABLE;
    pr.own_monthly_income_fen = -123456789012;
    pr.main_earner = 1;
    pr.child_in_difficulty = 1;
    pr.life_threatening_condition = 1;
    pr.died_at_ms = INT64_MAX;
    Doudi__Envelope env;
    envelope(&env, DOUDI__ENVELOPE__BODY_PERSON_REPORTED);
    env.person_reported = &pr;
    check_envelope(&env, &pr.base);
}

static void test_round_trip_household_reported(void **state)
{
    (void)state;
    char *members[] = { "11010519491231002X", "110105201001010012", "" };
    Doudi__Income wages = DOUDI__INCOME__INIT, pension = DOUDI__INCOME__INIT;
    wages.kind = DOUDI__INCOME_KIND__INCOME_KIND_WAGES;
    wages.monthly_fen = 350000;
    pension.kind = DOUDI__INCOME_KIND__INCOME_KIND_PENSION;
    pension.monthly_fen = 9007199254740993; /* not a double */
    Doudi__Income *incomes[] = { &wages, &pension };
    int64_t vehicles[] = { INT64_MIN, -1, 0, 1, INT64_MAX };
    Doudi__RigidSpending rs = DOUDI__RIGID_SPENDING__INIT;
    rs.medical_fen = 1;
    rs.education_fen = 2;
    rs.disability_rehabilitation_fen = 3;
    Doudi__HouseholdReported hr = DOUDI__HOUSEHOLD_REPORTED__INIT;
    hr.household_id = "hh-7";
    hr.urban_rural = DOUDI__URBAN_RURAL__URBAN_RURAL_RURAL;
    hr.n_member_person_ids = 3;
    hr.member_person_ids = members;
    hr.n_incomes = 2;
    hr.incomes = incomes;
    hr.financial_assets_fen = 4200000;
    hr.dwellings = 1;
    hr.n_vehicle_values_fen = 5;
    hr.vehicle_values_fen = vehicles;
    hr.rigid_spending_12_months = &rs;
    hr.merged_into_household_id = "hh-8";
    hr.dissolved = 1;
    Doudi__Envelope env;
    envelope(&env, DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED);
    env.household_reported = &hr;
    check_envelope(&env, &hr.base);
}

static void test_round_trip_comparison_record(void **state)
{
    (void)state;
    Doudi__ComparisonRecord__IncomeFinding inc = DOUDI__COMPARISON_RECORD__INCOME_FINDING__INIT;
    inc.monthly_income_fen = 123;
    Doudi__ComparisonRecord__EmploymentFinding emp =
        DOUDI__COMPARISON_RECORD__EMPLOYMENT_FINDING__INIT;
    emp.registered_unemployed = 1;
    emp.receiving_pension = 1;
    emp.monthly_pension_fen = 456;
    Doudi__ComparisonRecord__PropertyFinding prop = DOUDI__COMPARISON_RECORD__PROPERTY_FINDING__INIT;
    prop.dwellings = 3;
    int64_t values[] = { 5000000, 12 };
    Doudi__ComparisonRecord__VehicleFinding veh = DOUDI__COMPARISON_RECORD__VEHICLE_FINDING__INIT;
    veh.n_vehicle_values_fen = 2;
    veh.vehicle_values_fen = values;
    Doudi__ComparisonRecord__AssetFinding assets = DOUDI__COMPARISON_RECORD__ASSET_FINDING__INIT;
    assets.financial_assets_fen = 789;
    Doudi__ComparisonRecord__MedicalStayFinding stay =
        DOUDI__COMPARISON_RECORD__MEDICAL_STAY_FINDING__INIT;
    stay.self_pay_fen = 2500000;
    stay.admitted_at_ms = 1700000000000;
    stay.discharged_at_ms = 1700900000000;
    Doudi__ComparisonRecord__SchoolingFinding school =
        DOUDI__COMPARISON_RECORD__SCHOOLING_FINDING__INIT;
    school.enrolled = 1;
    school.yearly_fees_fen = 800000;
    Doudi__ComparisonRecord__DisabilityFinding dis =
        DOUDI__COMPARISON_RECORD__DISABILITY_FINDING__INIT;
    dis.disability_grade = 1;
    dis.disability_type = DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_MENTAL;
    Doudi__ComparisonRecord__DeathFinding death = DOUDI__COMPARISON_RECORD__DEATH_FINDING__INIT;
    death.died_at_ms = -1; /* before 1970 */
    Doudi__ComparisonRecord cr = DOUDI__COMPARISON_RECORD__INIT;
    cr.subject_person_id = "11010519491231002X";
    cr.department = DOUDI__DEPARTMENT__DEPARTMENT_CIVIL_REGISTRY;
    cr.period_yyyymm = 202405;
    cr.income = &inc;
    cr.employment = &emp;
    cr.property = &prop;
    cr.vehicles = &veh;
    cr.assets = &assets;
    cr.medical_stay = &stay;
    cr.schooling = &school;
    cr.disability = &dis;
    cr.death = &death;
    Doudi__Envelope env;
    envelope(&env, DOUDI__ENVELOPE__BODY_COMPARISON_RECORD);
    env.comparison_record = &cr;
    check_envelope(&env, &cr.base);
}

static void test_round_trip_risk_signal(void **state)
{
    (void)state;
    Doudi__RiskSignal rs = DOUDI__RISK_SIGNAL__INIT;
    rs.subject_person_id = "11010519491231002X";
    rs.household_id = "hh-7";
    rs.kind = DOUDI__RISK_KIND__RISK_KIND_SPOUSE_DIED;
    rs.amount_fen = 99;
    rs.description = "房屋失火，一人受伤 🔥";
    Doudi__Envelope env;
    envelope(&env, DOUDI__ENVELOPE__BODY_RISK_SIGNAL);
    env.risk_signal = &rs;
    check_envelope(&env, &rs.base);
}

static void test_round_trip_application(void **state)
{
    (void)state;
    Doudi__Application app = DOUDI__APPLICATION__INIT;
    app.application_id = "app-1";
    app.applicant_person_id = "11010519491231002X";
    app.household_id = "hh-7";
    app.program = DOUDI__PROGRAM__PROGRAM_DIS_CARE;
    app.requested_amount_fen = 30000;
    app.description = "temporary";
    Doudi__Envelope env;
    envelope(&env, DOUDI__ENVELOPE__BODY_APPLICATION);
    env.application = &app;
    check_envelope(&env, &app.base);
}

static void test_round_trip_enrolment_change(void **state)
{
    (void)state;
    Doudi__EnrolmentChange ec = DOUDI__ENROLMENT_CHANGE__INIT;
    ec.person_id = "11010519491231002X";
    ec.household_id = "hh-7";
    ec.program = DOUDI__PROGRAM__PROGRAM_DIBAO;
    ec.action = DOUDI__ENROLMENT_ACTION__ENROLMENT_ACTION_REVIEW_CONFIRMED;
    ec.monthly_amount_fen = 110000;
    ec.effective_at_ms = 1717171717171;
    ec.decided_by_worker_id = "w-9";
    ec.reason = "annual review";
    Doudi__Envelope env;
    envelope(&env, DOUDI__ENVELOPE__BODY_ENROLMENT_CHANGE);
    env.enrolment_change = &ec;
    check_envelope(&env, &ec.base);
}

static void test_round_trip_visit_report(void **state)
{
    (void)state;
    Doudi__VisitFinding f1 = DOUDI__VISIT_FINDING__INIT, f2 = DOUDI__VISIT_FINDING__INIT;
    f1.area = DOUDI__FINDING_AREA__FINDING_AREA_HOME_GAS;
    f1.severity = DOUDI__FINDING_SEVERITY__FINDING_SEVERITY_DANGER;
    f1.note = "gas smell";
    f2.area = DOUDI__FINDING_AREA__FINDING_AREA_SERVICE_NEED;
    f2.severity = DOUDI__FINDING_SEVERITY__FINDING_SEVERITY_OK;
    f2.note = "meals";
    Doudi__VisitFinding *findings[] = { &f1, &f2 };
    Doudi__VisitReport vr = DOUDI__VISIT_REPORT__INIT;
    vr.visit_id = "v-1";
    vr.subject_person_id = "11010519491231002X";
    vr.worker_id = "w-9";
    vr.visited_at_ms = 1717171717171;
    vr.outcome = DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_BY_PHONE_OR_VIDEO;
    vr.n_findings = 2;
    vr.findings = findings;
    Doudi__Envelope env;
    envelope(&env, DOUDI__ENVELOPE__BODY_VISIT_REPORT);
    env.visit_report = &vr;
    check_envelope(&env, &vr.base);
}

static void test_round_trip_roster_change(void **state)
{
    (void)state;
    Doudi__RosterChange rc = DOUDI__ROSTER_CHANGE__INIT;
    rc.worker_id = "w-9";
    rc.action = DOUDI__ROSTER_ACTION__ROSTER_ACTION_LEFT;
    rc.role = DOUDI__WORKER_ROLE__WORKER_ROLE_CHILDREN_DIRECTOR;
    rc.monthly_visit_capacity = INT32_MAX;
    Doudi__Envelope env;
    envelope(&env, DOUDI__ENVELOPE__BODY_ROSTER_CHANGE);
    env.roster_change = &rc;
    check_envelope(&env, &rc.base);
}

static void test_round_trip_alert_acknowledgement(void **state)
{
    (void)state;
    Doudi__AlertAcknowledgement ack = DOUDI__ALERT_ACKNOWLEDGEMENT__INIT;
    ack.alert_id = "a-1";
    ack.action = DOUDI__ACKNOWLEDGEMENT_ACTION__ACKNOWLEDGEMENT_ACTION_RESOLVED;
    ack.by_worker_id = "w-9";
    ack.note = "done";
    Doudi__Envelope env;
    envelope(&env, DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT);
    env.alert_acknowledgement = &ack;
    check_envelope(&env, &ack.base);
}

static void test_round_trip_envelope_without_body(void **state)
{
    (void)state;
    Doudi__Envelope env;
    envelope(&env, DOUDI__ENVELOPE__BODY__NOT_SET);
    round_trip(&env.base);
    Doudi__Envelope empty = DOUDI__ENVELOPE__INIT;
    round_trip(&empty.base);
    expect_format(&empty.base, "{}");
}

static void test_round_trip_publish(void **state)
{
    (void)state;
    uint8_t all_bytes[256];
    for (int i = 0; i < 256; i++)
        all_bytes[i] = (uint8_t)i;
    ProtobufCBinaryData events[] = {
        { 0, NULL }, { 1, all_bytes }, { 2, all_bytes }, { 3, all_bytes }, { 256, all_bytes },
    };
    Doudi__PublishRequest req = DOUDI__PUBLISH_REQUEST__INIT;
    req.request_id = UINT64_MAX;
    req.n_events = 5;
    req.events = events;
    assert_all_set(&req.base);
    round_trip(&req.base);

    Doudi__EventStatus s1 = DOUDI__EVENT_STATUS__INIT, s2 = DOUDI__EVENT_STATUS__INIT;
    s1.outcome = DOUDI__OUTCOME__OUTCOME_REJECTED;
    s1.sequence = 1;
    s1.reason = DOUDI__REJECT_REASON__REJECT_REASON_ID_BAD_CHECK;
    s1.reason_text = "check character is 3, expected X";
    s1.event_id = "e1";
    s1.dead_letter_id = 77;
    s2.outcome = DOUDI__OUTCOME__OUTCOME_ACCEPTED;
    s2.sequence = 1ULL << 63;
    s2.reason = DOUDI__REJECT_REASON__REJECT_REASON_UNDECODABLE;
    s2.reason_text = "t";
    s2.event_id = "e2";
    s2.dead_letter_id = 1;
    Doudi__EventStatus *statuses[] = { &s1, &s2 };
    Doudi__PublishReply rep = DOUDI__PUBLISH_REPLY__INIT;
    rep.request_id = 1;
    rep.request_error = DOUDI__REJECT_REASON__REJECT_REASON_REQUEST_SHUTTING_DOWN;
    rep.request_error_text = "stopping";
    rep.n_statuses = 2;
    rep.statuses = statuses;
    assert_all_set(&rep.base);
    round_trip(&rep.base);
}

static void test_round_trip_log(void **state)
{
    (void)state;
    uint32_t kinds[] = { 10, 18, UINT32_MAX };
    Doudi__FetchRequest req = DOUDI__FETCH_REQUEST__INIT;
    req.request_id = 42;
    req.consumer = "eligibility";
    req.after_sequence = UINT64_MAX - 1;
    req.max_records = 1000;
    req.max_bytes = UINT32_MAX;
    req.wait_ms = 500;
    req.n_kinds = 3;
    req.kinds = kinds;
    req.pipelined = true;
    req.committed_sequence = UINT64_MAX - 1000;
    assert_all_set(&req.base);
    round_trip(&req.base);

    uint8_t payload[] = { 0x0a, 0x03, 'e', 'v', 't', 0xff };
    Doudi__LogRecord r1 = DOUDI__LOG_RECORD__INIT, r2 = DOUDI__LOG_RECORD__INIT;
    r1.sequence = 1;
    r1.kind = 10;
    r1.appended_at_ms = 1717171717171;
    r1.payload.len = sizeof payload;
    r1.payload.data = payload;
    r2.sequence = 2; /* the rest at defaults: an element is never omitted */
    Doudi__LogRecord *records[] = { &r1, &r2 };
    Doudi__FetchReply rep = DOUDI__FETCH_REPLY__INIT;
    rep.request_id = 42;
    rep.status = DOUDI__FETCH_STATUS__FETCH_STATUS_AHEAD_OF_LOG;
    rep.error_text = "ahead";
    rep.n_records = 2;
    rep.records = records;
    rep.scanned_through_sequence = 2;
    rep.head_sequence = 3;
    rep.first_sequence = 1;
    round_trip(&rep.base);
}

static void test_round_trip_admin(void **state)
{
    (void)state;
    Doudi__DeadLetterListRequest list = DOUDI__DEAD_LETTER_LIST_REQUEST__INIT;
    list.after_id = 5;
    list.limit = 100;
    list.reason = DOUDI__REJECT_REASON__REJECT_REASON_REGION_UNKNOWN;
    Doudi__AdminRequest req = DOUDI__ADMIN_REQUEST__INIT;
    req.request_id = 9;
    req.command_case = DOUDI__ADMIN_REQUEST__COMMAND_DEAD_LETTER_LIST;
    req.dead_letter_list = &list;
    assert_all_set(&req.base);
    round_trip(&req.base);

    uint64_t ids[] = { 1, 2, UINT64_MAX };
    Doudi__DeadLetterReplayRequest replay = DOUDI__DEAD_LETTER_REPLAY_REQUEST__INIT;
    replay.n_ids = 3;
    replay.ids = ids;
    req.command_case = DOUDI__ADMIN_REQUEST__COMMAND_DEAD_LETTER_REPLAY;
    req.dead_letter_replay = &replay;
    assert_all_set(&req.base);
    round_trip(&req.base);

    uint8_t raw[] = { 0x00, 0x01, 0xfe };
    Doudi__DeadLetter dl = DOUDI__DEAD_LETTER__INIT;
    dl.id = 3;
    dl.rejected_at_ms = 1717171717171;
    dl.reason = DOUDI__REJECT_REASON__REJECT_REASON_UNDECODABLE;
    dl.reason_text = "truncated";
    dl.source = "tax-feed";
    dl.event_id = "e-3";
    dl.raw_event.len = sizeof raw;
    dl.raw_event.data = raw;
    dl.replay_attempts = 2;
    Doudi__DeadLetter *dls[] = { &dl };
    Doudi__DeadLetterListReply lrep = DOUDI__DEAD_LETTER_LIST_REPLY__INIT;
    lrep.n_dead_letters = 1;
    lrep.dead_letters = dls;
    lrep.total = 1;
    Doudi__AdminReply rep = DOUDI__ADMIN_REPLY__INIT;
    rep.request_id = 9;
    rep.error_text = "none";
    rep.result_case = DOUDI__ADMIN_REPLY__RESULT_DEAD_LETTER_LIST;
    rep.dead_letter_list = &lrep;
    assert_all_set(&rep.base);
    round_trip(&rep.base);

    /* A oneof member at its default is still written, and kept. */
    Doudi__DeadLetterReplayReply empty = DOUDI__DEAD_LETTER_REPLAY_REPLY__INIT;
    rep.error_text = "";
    rep.result_case = DOUDI__ADMIN_REPLY__RESULT_DEAD_LETTER_REPLAY;
    rep.dead_letter_replay = &empty;
    expect_format(&rep.base, "{\"requestId\":\"9\",\"deadLetterReplay\":{}}");
    round_trip(&rep.base);
}

/* ------------------------------------------------------------------------ */
/* What Google's Python runtime writes (protobuf 4.21, json_format)          */
/* ------------------------------------------------------------------------ */

/* MessageToJson(envelope), its default indented form. */
static const char py_person_pretty[] =
    "{\n"
    "  \"eventId\": \"evt-1\",\n"
    "  \"source\": \"assistance-portal\",\n"
    "  \"occurredAtMs\": \"1717171717171\",\n"
    "  \"regionCode\": \"110101001001\",\n"
    "  \"personReported\": {\n"
    "    \"personId\": \"11010519491231002X\",\n"
    "    \"householdId\": \"hh-7\",\n"
    "    \"disabilityGrade\": 2,\n"
    "    \"disabilityType\": \"DISABILITY_TYPE_VISUAL\",\n"
    "    \"dailyLiving\": {\n"
    "      \"eating\": \"ADL_ABILITY_NEEDS_HELP\",\n"
    "      \"gettingInOutOfBed\": \"ADL_ABILITY_DEPENDENT\"\n"
    "    },\n"
    "    \"livingArrangement\": \"LIVING_ARRANGEMENT_EMPTY_NEST\",\n"
    "    \"ownMonthlyIncomeFen\": \"-5\",\n"
    "    \"mainEarner\": true\n"
    "  }\n"
    "}\n";

/* json.dumps(MessageToDict(m), separators=(',', ':'), ensure_ascii=False) */
static const char py_person_compact[] =
    "{\"eventId\":\"evt-1\",\"source\":\"assistance-portal\",\"occurredAtMs\":\"1717171717171\","
    "\"regionCode\":\"110101001001\",\"personReported\":{\"personId\":\"11010519491231002X\","
    "\"householdId\":\"hh-7\",\"disabilityGrade\":2,\"disabilityType\":\"DISABILITY_TYPE_VISUAL\","
    "\"dailyLiving\":{\"eating\":\"ADL_ABILITY_NEEDS_HELP\",\"gettingInOutOfBed\":"
    "\"ADL_ABILITY_DEPENDENT\"},\"livingArrangement\":\"LIVING_ARRANGEMENT_EMPTY_NEST\","
    "\"ownMonthlyIncomeFen\":\"-5\",\"mainEarner\":true}}";

static const char py_household_compact[] =
    "{\"eventId\":\"e2\",\"source\":\"s\",\"occurredAtMs\":\"9223372036854775807\","
    "\"householdReported\":{\"householdId\":\"hh\",\"urbanRural\":\"URBAN_RURAL_RURAL\","
    "\"memberPersonIds\":[\"a\",\"b\"],\"incomes\":[{\"kind\":\"INCOME_KIND_WAGES\","
    "\"monthlyFen\":\"100\"},{}],\"vehicleValuesFen\":[\"1\",\"-9223372036854775808\"],"
    "\"rigidSpending12Months\":{}}}";

static const char py_publish_compact[] =
    "{\"requestId\":\"18446744073709551615\",\"events\":[\"\",\"AP/+\",\"YWI=\",\"YWJj\"]}";

static const char py_fetch_reply_compact[] =
    "{\"requestId\":\"1\",\"status\":\"FETCH_STATUS_OK\",\"records\":[{\"sequence\":\"5\","
    "\"kind\":10,\"appendedAtMs\":\"7\",\"payload\":\"ABEiM0RVZneImaq7zN3u/w==\"}],"
    "\"headSequence\":\"9\"}";

static const char py_admin_reply_compact[] = "{\"requestId\":\"3\",\"deadLetterList\":{}}";
static const char py_admin_request_compact[] =
    "{\"requestId\":\"3\",\"deadLetterReplay\":{\"ids\":[\"1\",\"2\"]}}";

/* MessageToJson escapes non-ASCII; MessageToDict + ensure_ascii=False does not. */
static const char py_unicode_pretty[] = "{\n  \"eventId\": \"x\\u00e9\\u4e2d\\\"\\\\\\n\"\n}\n";
static const char py_unicode_compact[] = "{\"eventId\":\"x\xc3\xa9\xe4\xb8\xad\\\"\\\\\\n\"}";

static void test_python_person(void **state)
{
    (void)state;
    Doudi__DailyLiving dl = DOUDI__DAILY_LIVING__INIT;
    dl.eating = DOUDI__ADL_ABILITY__ADL_ABILITY_NEEDS_HELP;
    dl.getting_in_out_of_bed = DOUDI__ADL_ABILITY__ADL_ABILITY_DEPENDENT;
    Doudi__PersonReported pr = DOUDI__PERSON_REPORTED__INIT;
    pr.person_id = "11010519491231002X";
    pr.household_id = "hh-7";
    pr.disability_grade = 2;
    pr.disability_type = DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_VISUAL;
    pr.daily_living = &dl;
    pr.living_arrangement = DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_EMPTY_NEST;
    pr.own_monthly_income_fen = -5;
    pr.main_earner = 1;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.event_id = "evt-1";
    env.source = "assistance-portal";
    env.occurred_at_ms = 1717171717171;
    env.region_code = "110101001001";
    env.body_case = DOUDI__ENVELOPE__BODY_PERSON_REPORTED;
    env.person_reported = &pr;

    expect_parse(&env.base, py_person_pretty);
    expect_parse(&env.base, py_person_compact);
    expect_format(&env.base, py_person_compact);
}

static void test_python_household(void **state)
{
    (void)state;
    char *members[] = { "a", "b" };
    Doudi__Income wages = DOUDI__INCOME__INIT, nothing = DOUDI__INCOME__INIT;
    wages.kind = DOUDI__INCOME_KIND__INCOME_KIND_WAGES;
    wages.monthly_fen = 100;
    Doudi__Income *incomes[] = { &wages, &nothing };
    int64_t vehicles[] = { 1, INT64_MIN };
    Doudi__RigidSpending rs = DOUDI__RIGID_SPENDING__INIT;
    Doudi__HouseholdReported hr = DOUDI__HOUSEHOLD_REPORTED__INIT;
    hr.household_id = "hh";
    hr.urban_rural = DOUDI__URBAN_RURAL__URBAN_RURAL_RURAL;
    hr.n_member_person_ids = 2;
    hr.member_person_ids = members;
    hr.n_incomes = 2;
    hr.incomes = incomes;
    hr.n_vehicle_values_fen = 2;
    hr.vehicle_values_fen = vehicles;
    hr.rigid_spending_12_months = &rs;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.event_id = "e2";
    env.source = "s";
    env.occurred_at_ms = INT64_MAX;
    env.body_case = DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED;
    env.household_reported = &hr;

    expect_parse(&env.base, py_household_compact);
    expect_format(&env.base, py_household_compact);
}

static void test_python_bytes_and_uint64(void **state)
{
    (void)state;
    uint8_t b1[] = { 0x00, 0xff, 0xfe };
    ProtobufCBinaryData events[] = {
        { 0, NULL }, { 3, b1 }, { 2, (uint8_t *)"ab" }, { 3, (uint8_t *)"abc" },
    };
    Doudi__PublishRequest req = DOUDI__PUBLISH_REQUEST__INIT;
    req.request_id = UINT64_MAX;
    req.n_events = 4;
    req.events = events;
    expect_parse(&req.base, py_publish_compact);
    expect_format(&req.base, py_publish_compact);

    /* URL-safe and unpadded forms, which Go and Java can be told to write. */
    expect_parse(&req.base,
                 "{\"requestId\":\"18446744073709551615\",\"events\":[\"\",\"AP_-\",\"YWI\",\"YWJj\"]}");

    uint8_t payload[16];
    for (int i = 0; i < 16; i++)
        payload[i] = (uint8_t)(i * 17);
    Doudi__LogRecord rec = DOUDI__LOG_RECORD__INIT;
    rec.sequence = 5;
    rec.kind = 10;
    rec.appended_at_ms = 7;
    rec.payload.len = sizeof payload;
    rec.payload.data = payload;
    Doudi__LogRecord *records[] = { &rec };
    Doudi__FetchReply rep = DOUDI__FETCH_REPLY__INIT;
    rep.request_id = 1;
    rep.status = DOUDI__FETCH_STATUS__FETCH_STATUS_OK;
    rep.n_records = 1;
    rep.records = records;
    rep.head_sequence = 9;
    expect_parse(&rep.base, py_fetch_reply_compact);
    expect_format(&rep.base, py_fetch_reply_compact);
}

static void test_python_oneofs(void **state)
{
    (void)state;
    Doudi__DeadLetterListReply list = DOUDI__DEAD_LETTER_LIST_REPLY__INIT;
    Doudi__AdminReply rep = DOUDI__ADMIN_REPLY__INIT;
    rep.request_id = 3;
    rep.result_case = DOUDI__ADMIN_REPLY__RESULT_DEAD_LETTER_LIST;
    rep.dead_letter_list = &list;
    expect_parse(&rep.base, py_admin_reply_compact);
    expect_format(&rep.base, py_admin_reply_compact);

    uint64_t ids[] = { 1, 2 };
    Doudi__DeadLetterReplayRequest replay = DOUDI__DEAD_LETTER_REPLAY_REQUEST__INIT;
    replay.n_ids = 2;
    replay.ids = ids;
    Doudi__AdminRequest req = DOUDI__ADMIN_REQUEST__INIT;
    req.request_id = 3;
    req.command_case = DOUDI__ADMIN_REQUEST__COMMAND_DEAD_LETTER_REPLAY;
    req.dead_letter_replay = &replay;
    expect_parse(&req.base, py_admin_request_compact);
    expect_format(&req.base, py_admin_request_compact);
}

static void test_python_unicode(void **state)
{
    (void)state;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.event_id = "x\xc3\xa9\xe4\xb8\xad\"\\\n";
    expect_parse(&env.base, py_unicode_pretty);
    expect_parse(&env.base, py_unicode_compact);
    expect_format(&env.base, py_unicode_compact);
}

/* ------------------------------------------------------------------------ */
/* Accepted spellings                                                        */
/* ------------------------------------------------------------------------ */

static void test_snake_case_names(void **state)
{
    (void)state;
    ProtobufCMessage *camel = parse_ok(
        &doudi__envelope__descriptor,
        "{\"eventId\":\"e\",\"occurredAtMs\":\"5\",\"personReported\":{\"personId\":\"p\","
        "\"dailyLiving\":{\"gettingInOutOfBed\":\"ADL_ABILITY_DEPENDENT\"}}}");
    expect_parse(camel,
                 "{\"event_id\":\"e\",\"occurred_at_ms\":\"5\",\"person_reported\":{\"person_id\":"
                 "\"p\",\"daily_living\":{\"getting_in_out_of_bed\":\"ADL_ABILITY_DEPENDENT\"}}}");
    /* Mixed within one message is fine too. */
    expect_parse(camel,
                 "{\"event_id\":\"e\",\"occurredAtMs\":\"5\",\"person_reported\":{\"personId\":"
                 "\"p\",\"dailyLiving\":{\"getting_in_out_of_bed\":\"ADL_ABILITY_DEPENDENT\"}}}");
    protobuf_c_message_free_unpacked(camel, NULL);

    /* An underscore before a digit: rigid_spending_12_months. */
    ProtobufCMessage *a = parse_ok(&doudi__envelope__descriptor,
                                   "{\"householdReported\":{\"rigidSpending12Months\":{"
                                   "\"medicalFen\":\"1\"}}}");
    expect_parse(a, "{\"household_reported\":{\"rigid_spending_12_months\":{"
                    "\"medical_fen\":1}}}");
    protobuf_c_message_free_unpacked(a, NULL);
}

static void test_enum_by_number(void **state)
{
    (void)state;
    Doudi__PersonReported pr = DOUDI__PERSON_REPORTED__INIT;
    pr.disability_type = DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_VISUAL;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.body_case = DOUDI__ENVELOPE__BODY_PERSON_REPORTED;
    env.person_reported = &pr;
    expect_parse(&env.base, "{\"personReported\":{\"disabilityType\":2}}");
    expect_parse(&env.base, "{\"personReported\":{\"disabilityType\":2.0}}");
    expect_parse(&env.base, "{\"personReported\":{\"disabilityType\":\"DISABILITY_TYPE_VISUAL\"}}");

    /* A number the enum does not define is kept and written back as a number. */
    pr.disability_type = 99;
    expect_parse(&env.base, "{\"personReported\":{\"disabilityType\":99}}");
    expect_format(&env.base, "{\"personReported\":{\"disabilityType\":99}}");
    pr.disability_type = -7;
    expect_parse(&env.base, "{\"personReported\":{\"disabilityType\":-7}}");
    round_trip(&env.base);
}

static void test_integer_spellings(void **state)
{
    (void)state;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.occurred_at_ms = 1717171717171;
    expect_parse(&env.base, "{\"occurredAtMs\":1717171717171}");
    expect_parse(&env.base, "{\"occurredAtMs\":\"1717171717171\"}");
    expect_parse(&env.base, "{\"occurredAtMs\":1.717171717171e12}");
    env.occurred_at_ms = INT64_MIN;
    expect_parse(&env.base, "{\"occurredAtMs\":\"-9223372036854775808\"}");
    expect_parse(&env.base, "{\"occurredAtMs\":-9223372036854775808}");
    env.occurred_at_ms = INT64_MAX;
    expect_parse(&env.base, "{\"occurredAtMs\":\"9223372036854775807\"}");
    env.occurred_at_ms = 0;
    expect_parse(&env.base, "{\"occurredAtMs\":\"-0\"}");
    expect_parse(&env.base, "{\"occurredAtMs\":-0.0}");
    env.occurred_at_ms = 7;
    expect_parse(&env.base, "{\"occurredAtMs\":\"007\"}");

    /* int32 may come as a string too; both ends of the range. */
    Doudi__PersonReported pr = DOUDI__PERSON_REPORTED__INIT;
    Doudi__Envelope e2 = DOUDI__ENVELOPE__INIT;
    e2.body_case = DOUDI__ENVELOPE__BODY_PERSON_REPORTED;
    e2.person_reported = &pr;
    pr.disability_grade = INT32_MIN;
    expect_parse(&e2.base, "{\"personReported\":{\"disabilityGrade\":-2147483648}}");
    expect_parse(&e2.base, "{\"personReported\":{\"disabilityGrade\":\"-2147483648\"}}");
    pr.disability_grade = INT32_MAX;
    expect_parse(&e2.base, "{\"personReported\":{\"disabilityGrade\":2147483647}}");
    expect_parse(&e2.base, "{\"personReported\":{\"disabilityGrade\":2.147483647e9}}");

    /* uint32 and uint64 at their limits. */
    Doudi__FetchRequest fr = DOUDI__FETCH_REQUEST__INIT;
    fr.request_id = UINT64_MAX;
    fr.max_records = UINT32_MAX;
    expect_parse(&fr.base,
                 "{\"requestId\":\"18446744073709551615\",\"maxRecords\":4294967295}");
    expect_parse(&fr.base,
                 "{\"requestId\":\"18446744073709551615\",\"maxRecords\":\"4294967295\"}");
    fr.request_id = 0;
    fr.max_records = 0;
    expect_parse(&fr.base, "{\"requestId\":\"-0\",\"maxRecords\":0}");
}

static void test_nulls_mean_default(void **state)
{
    (void)state;
    Doudi__Envelope empty = DOUDI__ENVELOPE__INIT;
    expect_parse(&empty.base,
                 "{\"eventId\":null,\"occurredAtMs\":null,\"personReported\":null}");

    Doudi__HouseholdReported hr = DOUDI__HOUSEHOLD_REPORTED__INIT;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.body_case = DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED;
    env.household_reported = &hr;
    expect_parse(&env.base,
                 "{\"householdReported\":{\"memberPersonIds\":null,\"incomes\":[],"
                 "\"rigidSpending12Months\":null,\"dissolved\":null,\"urbanRural\":null}}");
    expect_parse(&env.base, "{\"householdReported\":{\"dissolved\":false,\"dwellings\":0,"
                            "\"householdId\":\"\",\"urbanRural\":\"URBAN_RURAL_UNSPECIFIED\"}}");
    expect_format(&env.base, "{\"householdReported\":{}}");
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

#define ENV (&doudi__envelope__descriptor)

static void test_error_not_json(void **state)
{
    (void)state;
    expect_error_prefix(ENV, "{", "invalid JSON at line 1, column 1: ");
    expect_error_prefix(ENV, "\"x\"", "invalid JSON at line 1");
    expect_error_prefix(ENV, "{} x", "invalid JSON at line 1");
    expect_error_prefix(ENV, "", "invalid JSON");
    expect_error_prefix(ENV, "{\"eventId\":\"a\",\"eventId\":\"b\"}", "invalid JSON at line 1");
    expect_error(ENV, "[]", "expected an object for doudi.Envelope, got an array");
    expect_error(ENV, "[{}]", "expected an object for doudi.Envelope, got an array");

    /* Text need not be NUL-terminated: only len bytes are read. */
    ProtobufCMessage *msg = NULL;
    char err[128];
    const char text[] = "{\"eventId\":\"a\"}garbage";
    assert_int_equal(dd_pbjson_parse(ENV, text, 15, &msg, err, sizeof err), 0);
    assert_string_equal(((Doudi__Envelope *)msg)->event_id, "a");
    protobuf_c_message_free_unpacked(msg, NULL);
}

static void test_error_unknown_fields(void **state)
{
    (void)state;
    expect_error(ENV, "{\"foo\":1}", "foo: no such field in doudi.Envelope");
    expect_error(ENV, "{\"EventId\":\"x\"}", "EventId: no such field in doudi.Envelope");
    expect_error(ENV, "{\"eventID\":\"x\"}", "eventID: no such field in doudi.Envelope");
    expect_error(ENV, "{\"personReported\":{\"bogus\":1}}",
                 "personReported.bogus: no such field in doudi.PersonReported");
    expect_error(ENV, "{\"householdReported\":{\"incomes\":[{},{\"kind\":1,\"x\":2}]}}",
                 "householdReported.incomes[1].x: no such field in doudi.Income");
    /* A control character in a key does not reach the message raw. */
    expect_error(ENV, "{\"a\\u0001b\":1}", "a?b: no such field in doudi.Envelope");
}

static void test_error_wrong_types(void **state)
{
    (void)state;
    expect_error(ENV, "{\"personReported\":{\"disabilityGrade\":\"x\"}}",
                 "personReported.disabilityGrade: expected an integer, got string \"x\"");
    expect_error(ENV, "{\"personReported\":{\"disabilityGrade\":true}}",
                 "personReported.disabilityGrade: expected an integer, got true");
    expect_error(ENV, "{\"personReported\":{\"disabilityGrade\":{}}}",
                 "personReported.disabilityGrade: expected an integer, got an object");
    expect_error(ENV, "{\"personReported\":{\"disabilityGrade\":[1]}}",
                 "personReported.disabilityGrade: expected an integer, got an array");
    expect_error(ENV, "{\"personReported\":{\"mainEarner\":\"true\"}}",
                 "personReported.mainEarner: expected true or false, got string \"true\"");
    expect_error(ENV, "{\"personReported\":{\"mainEarner\":1}}",
                 "personReported.mainEarner: expected true or false, got number 1");
    expect_error(ENV, "{\"eventId\":5}", "eventId: expected a string, got number 5");
    expect_error(ENV, "{\"eventId\":false}", "eventId: expected a string, got false");
    expect_error(ENV, "{\"eventId\":[\"a\"]}", "eventId: expected a string, got an array");
    expect_error(ENV, "{\"personReported\":\"x\"}",
                 "personReported: expected an object, got string \"x\"");
    expect_error(ENV, "{\"personReported\":[]}", "personReported: expected an object, got an array");
    expect_error(ENV, "{\"householdReported\":{\"memberPersonIds\":\"a\"}}",
                 "householdReported.memberPersonIds: expected an array, got string \"a\"");
    expect_error(ENV, "{\"householdReported\":{\"memberPersonIds\":{}}}",
                 "householdReported.memberPersonIds: expected an array, got an object");
    expect_error(ENV, "{\"householdReported\":{\"incomes\":[{},{\"monthlyFen\":true}]}}",
                 "householdReported.incomes[1].monthlyFen: expected an integer, got true");
    expect_error(ENV, "{\"householdReported\":{\"incomes\":[{}, 5]}}",
                 "householdReported.incomes[1]: expected an object, got number 5");
    expect_error(ENV, "{\"householdReported\":{\"memberPersonIds\":[\"a\",null]}}",
                 "householdReported.memberPersonIds[1]: null is not allowed in a list");
    expect_error(ENV, "{\"householdReported\":{\"vehicleValuesFen\":[\"1\",\"1.5\"]}}",
                 "householdReported.vehicleValuesFen[1]: expected an integer, got string \"1.5\"");
    expect_error(&doudi__publish_request__descriptor, "{\"events\":[5]}",
                 "events[0]: expected a base64 string, got number 5");

    /* A long string is cut in the message, not at a UTF-8 sequence's middle. */
    expect_error(ENV,
                 "{\"personReported\":{\"disabilityGrade\":"
                 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xe4\xb8\xad" "bbbbbbbbbb\"}}",
                 "personReported.disabilityGrade: expected an integer, got string "
                 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"...");
}

static void test_error_integers(void **state)
{
    (void)state;
    const char *not_integers[] = { "\" 5\"", "\"5 \"", "\"+5\"", "\"\"", "\"-\"", "\"0x10\"",
                                   "\"1e3\"", "\"1.0\"", "\"5a\"", "\"--5\"" };
    for (size_t i = 0; i < sizeof not_integers / sizeof *not_integers; i++) {
        char text[128], want[128];
        snprintf(text, sizeof text, "{\"occurredAtMs\":%s}", not_integers[i]);
        snprintf(want, sizeof want, "occurredAtMs: expected an integer, got string %s",
                 not_integers[i]);
        expect_error(ENV, text, want);
    }
    expect_error(ENV, "{\"personReported\":{\"disabilityGrade\":1.5}}",
                 "personReported.disabilityGrade: expected an integer, got number 1.5");
    expect_error(ENV, "{\"occurredAtMs\":1e-3}",
                 "occurredAtMs: expected an integer, got number 0.001");

    /* int32 */
    expect_error(ENV, "{\"personReported\":{\"disabilityGrade\":2147483648}}",
                 "personReported.disabilityGrade: value 2147483648 is out of range for int32");
    expect_error(ENV, "{\"personReported\":{\"disabilityGrade\":-2147483649}}",
                 "personReported.disabilityGrade: value -2147483649 is out of range for int32");
    expect_error(ENV, "{\"personReported\":{\"disabilityGrade\":\"99999999999\"}}",
                 "personReported.disabilityGrade: value \"99999999999\" is out of range for int32");
    expect_error(ENV, "{\"personReported\":{\"disabilityGrade\":1e30}}",
                 "personReported.disabilityGrade: value 1e+30 is out of range for int32");
    /* int64 */
    expect_error(ENV, "{\"occurredAtMs\":\"9223372036854775808\"}",
                 "occurredAtMs: value \"9223372036854775808\" is out of range for int64");
    expect_error(ENV, "{\"occurredAtMs\":\"-9223372036854775809\"}",
                 "occurredAtMs: value \"-9223372036854775809\" is out of range for int64");
    expect_error(ENV, "{\"occurredAtMs\":1e19}",
                 "occurredAtMs: value 1e+19 is out of range for int64");
    expect_error(ENV, "{\"occurredAtMs\":\"99999999999999999999999\"}",
                 "occurredAtMs: value \"99999999999999999999999\" is out of range for int64");
    /* uint32 */
    const ProtobufCMessageDescriptor *fetch = &doudi__fetch_request__descriptor;
    expect_error(fetch, "{\"maxRecords\":-1}",
                 "maxRecords: value -1 is out of range for uint32");
    expect_error(fetch, "{\"maxRecords\":4294967296}",
                 "maxRecords: value 4294967296 is out of range for uint32");
    expect_error(fetch, "{\"kinds\":[1,\"-2\"]}",
                 "kinds[1]: value \"-2\" is out of range for uint32");
    /* uint64: jansson itself refuses numbers past int64, so strings it is. */
    expect_error(fetch, "{\"requestId\":\"-1\"}",
                 "requestId: value \"-1\" is out of range for uint64");
    expect_error(fetch, "{\"requestId\":-1}", "requestId: value -1 is out of range for uint64");
    expect_error(fetch, "{\"requestId\":\"18446744073709551616\"}",
                 "requestId: value \"18446744073709551616\" is out of range for uint64");
    expect_error(fetch, "{\"requestId\":1.8446744073709552e19}",
                 "requestId: value 1.8446744073709552e+19 is out of range for uint64");
    expect_error_prefix(fetch, "{\"requestId\":18446744073709551615}", "invalid JSON");
}

static void test_error_enums(void **state)
{
    (void)state;
    expect_error(ENV, "{\"personReported\":{\"disabilityType\":\"DISABILITY_TYPE_FOO\"}}",
                 "personReported.disabilityType: \"DISABILITY_TYPE_FOO\" is not a value of enum "
                 "doudi.DisabilityType");
    expect_error(ENV, "{\"personReported\":{\"disabilityType\":\"disability_type_visual\"}}",
                 "personReported.disabilityType: \"disability_type_visual\" is not a value of "
                 "enum doudi.DisabilityType");
    expect_error(ENV, "{\"personReported\":{\"disabilityType\":\"2\"}}",
                 "personReported.disabilityType: \"2\" is not a value of enum "
                 "doudi.DisabilityType");
    expect_error(ENV, "{\"personReported\":{\"disabilityType\":2147483648}}",
                 "personReported.disabilityType: value 2147483648 is out of range for an enum "
                 "(int32)");
    expect_error(ENV, "{\"personReported\":{\"disabilityType\":1.5}}",
                 "personReported.disabilityType: expected an integer, got number 1.5");
    expect_error(ENV, "{\"personReported\":{\"disabilityType\":true}}",
                 "personReported.disabilityType: expected an enum value name or number, got true");
    expect_error(ENV, "{\"personReported\":{\"dailyLiving\":{\"eating\":{}}}}",
                 "personReported.dailyLiving.eating: expected an enum value name or number, got "
                 "an object");
}

static void test_error_base64(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *pub = &doudi__publish_request__descriptor;
    expect_error(pub, "{\"events\":[\"YWJj\",\"abc!\"]}",
                 "events[1]: invalid base64 (a character outside the alphabet)");
    expect_error(pub, "{\"events\":[\"YW Jj\"]}",
                 "events[0]: invalid base64 (a character outside the alphabet)");
    expect_error(pub, "{\"events\":[\"A\"]}", "events[0]: invalid base64 (wrong length)");
    expect_error(pub, "{\"events\":[\"YWJjA\"]}", "events[0]: invalid base64 (wrong length)");
    expect_error(pub, "{\"events\":[\"QQ=\"]}", "events[0]: invalid base64 (wrong padding)");
    expect_error(pub, "{\"events\":[\"YWJj=\"]}", "events[0]: invalid base64 (wrong padding)");
    expect_error(pub, "{\"events\":[\"QQ==QQ==\"]}",
                 "events[0]: invalid base64 ('=' before the end)");
    expect_error(pub, "{\"events\":[\"Q===\"]}", "events[0]: invalid base64 ('=' before the end)");
    expect_error(pub, "{\"events\":[\"ab+-\"]}",
                 "events[0]: invalid base64 (mixes the standard and URL-safe alphabets)");
    expect_error(&doudi__dead_letter__descriptor, "{\"rawEvent\":\"%%%%\"}",
                 "rawEvent: invalid base64 (a character outside the alphabet)");
}

static void test_error_oneof_and_duplicates(void **state)
{
    (void)state;
    expect_error(ENV, "{\"personReported\":{},\"riskSignal\":{}}",
                 "\"personReported\" and \"riskSignal\" belong to one oneof; at most one may be "
                 "set");
    expect_error(ENV, "{\"riskSignal\":{},\"person_reported\":null}",
                 "\"riskSignal\" and \"personReported\" belong to one oneof; at most one may be "
                 "set");
    expect_error(&doudi__admin_request__descriptor,
                 "{\"requestId\":\"1\",\"deadLetterList\":{},\"dead_letter_replay\":{\"ids\":[]}}",
                 "\"deadLetterList\" and \"deadLetterReplay\" belong to one oneof; at most one may "
                 "be set");
    expect_error(ENV, "{\"eventId\":\"a\",\"event_id\":\"b\"}",
                 "eventId: given twice, as \"eventId\" and as \"event_id\"");
    expect_error(ENV, "{\"personReported\":{\"person_id\":\"a\",\"personId\":\"a\"}}",
                 "personReported.personId: given twice, as \"person_id\" and as \"personId\"");
}

static void test_error_strings_with_nul(void **state)
{
    (void)state;
    /* jansson's parser refuses \u0000 already; a json_t built in C may hold one. */
    expect_error_prefix(ENV, "{\"eventId\":\"a\\u0000b\"}", "invalid JSON");
    json_t *obj = json_object();
    json_object_set_new(obj, "eventId", json_stringn("a\0b", 3));
    ProtobufCMessage *msg = (ProtobufCMessage *)(uintptr_t)1;
    char err[128];
    assert_int_equal(dd_pbjson_from_json(ENV, obj, &msg, err, sizeof err), DD_EPROTO);
    assert_null(msg);
    assert_string_equal(err, "eventId: a string field cannot hold a NUL character");
    json_object_set_new(obj, "eventId", json_string("ok"));
    json_t *body = json_object();
    json_object_set_new(body, "disabilityType", json_stringn("DISABILITY_TYPE_VISUAL\0x", 24));
    json_object_set_new(obj, "personReported", body);
    assert_int_equal(dd_pbjson_from_json(ENV, obj, &msg, err, sizeof err), DD_EPROTO);
    assert_string_equal(err, "personReported.disabilityType: \"DISABILITY_TYPE_VISUAL?x\" is not "
                             "a value of enum doudi.DisabilityType");
    json_decref(obj);
}

static void test_error_reporting(void **state)
{
    (void)state;
    const char *text = "{\"personReported\":{\"disabilityGrade\":\"x\"}}";
    ProtobufCMessage *msg = NULL;

    /* A short buffer gets the start of the sentence, terminated. */
    char small[12];
    memset(small, 'z', sizeof small);
    assert_int_equal(dd_pbjson_parse(ENV, text, strlen(text), &msg, small, sizeof small),
                     DD_EPROTO);
    assert_string_equal(small, "personRepor");
    char tiny[1] = { 'z' };
    assert_int_equal(dd_pbjson_parse(ENV, text, strlen(text), &msg, tiny, 1), DD_EPROTO);
    assert_int_equal(tiny[0], '\0');
    assert_int_equal(dd_pbjson_parse(ENV, "{", 1, &msg, small, sizeof small), DD_EPROTO);
    assert_string_equal(small, "invalid JSO");

    /* No buffer at all is allowed. */
    assert_int_equal(dd_pbjson_parse(ENV, text, strlen(text), &msg, NULL, 0), DD_EPROTO);
    assert_null(msg);
    assert_int_equal(dd_pbjson_parse(ENV, "{", 1, &msg, NULL, 0), DD_EPROTO);
    assert_int_equal(dd_pbjson_from_json(ENV, NULL, &msg, NULL, 0), DD_EPROTO);

    char err[128];
    assert_int_equal(dd_pbjson_from_json(ENV, NULL, &msg, err, sizeof err), DD_EPROTO);
    assert_string_equal(err, "expected an object for doudi.Envelope, got nothing");
    json_t *s = json_string("x");
    assert_int_equal(dd_pbjson_from_json(ENV, s, &msg, err, sizeof err), DD_EPROTO);
    assert_string_equal(err, "expected an object for doudi.Envelope, got string \"x\"");
    json_decref(s);

    /* Success clears the buffer. */
    strcpy(err, "stale");
    assert_int_equal(dd_pbjson_parse(ENV, "{}", 2, &msg, err, sizeof err), 0);
    assert_string_equal(err, "");
    protobuf_c_message_free_unpacked(msg, NULL);
}

/* An error deep inside leaves nothing behind (the sanitizer build checks). */
static void test_error_after_partial_build(void **state)
{
    (void)state;
    expect_error(ENV,
                 "{\"eventId\":\"e\",\"householdReported\":{\"householdId\":\"h\","
                 "\"memberPersonIds\":[\"a\",\"b\"],\"incomes\":[{\"kind\":1},{\"kind\":2},"
                 "{\"monthlyFen\":\"x\"},{\"kind\":3}],\"vehicleValuesFen\":[1]}}",
                 "householdReported.incomes[2].monthlyFen: expected an integer, got string \"x\"");
    expect_error(&doudi__publish_request__descriptor, "{\"events\":[\"YWJj\",\"YWJj\",\"!\"]}",
                 "events[2]: invalid base64 (a character outside the alphabet)");
    expect_error(&doudi__admin_reply__descriptor,
                 "{\"errorText\":\"e\",\"deadLetterList\":{\"deadLetters\":[{\"reasonText\":\"r\","
                 "\"rawEvent\":\"AAEC\"},{\"id\":\"x\"}]}}",
                 "deadLetterList.deadLetters[1].id: expected an integer, got string \"x\"");
}

/* ------------------------------------------------------------------------ */
/* Writing details                                                           */
/* ------------------------------------------------------------------------ */

static void test_write_invalid_utf8(void **state)
{
    (void)state;
    /* protobuf-c's unpack lets any bytes into a string field. */
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.event_id = "a\xff" "b\xe4\xb8" "c\xed\xa0\x80";
    expect_format(&env.base, "{\"eventId\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
                             "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}");
}

static void test_write_drops_unknown_fields(void **state)
{
    (void)state;
    /* FetchRequest's field 3 is unknown to Income (fields 1 and 2). */
    Doudi__FetchRequest fr = DOUDI__FETCH_REQUEST__INIT;
    fr.request_id = 1;
    fr.after_sequence = 7;
    size_t len;
    uint8_t *wire = pack(&fr.base, &len);
    ProtobufCMessage *income = protobuf_c_message_unpack(&doudi__income__descriptor, NULL, len, wire);
    assert_non_null(income);
    assert_int_equal(income->n_unknown_fields, 1);
    expect_format(income, "{\"kind\":\"INCOME_KIND_WAGES\"}");
    protobuf_c_message_free_unpacked(income, NULL);
    free(wire);
}

/* ------------------------------------------------------------------------ */
/* AllTypes: every field type                                                */
/* ------------------------------------------------------------------------ */

static void test_all_types_round_trip(void **state)
{
    (void)state;
    int32_t i32[] = { INT32_MIN, -1, 0, 1, INT32_MAX };
    int64_t i64[] = { INT64_MIN, -1, 0, 1, INT64_MAX };
    uint32_t u32[] = { 0, 1, UINT32_MAX };
    uint64_t u64[] = { 0, 1, UINT64_MAX };
    float fl[] = { 0.1f, -0.0f, FLT_MAX, -FLT_MAX, FLT_MIN, FLT_TRUE_MIN, INFINITY, -INFINITY,
                   NAN, 16777217.0f };
    double db[] = { 0.1, -0.0, DBL_MAX, -DBL_MAX, DBL_MIN, 4.9e-324, INFINITY, -INFINITY, NAN,
                    9007199254740993.0 };
    protobuf_c_boolean bools[] = { 1, 0, 1 };
    int32_t enums[] = { LEVEL_NEGATIVE, LEVEL_UNSPECIFIED, LEVEL_HIGH, 1000 };
    char *strings[] = { "", "x", "\xe4\xb8\xad\xe6\x96\x87", "\"\\/\b\f\n\r\t\x01\x7f" };
    uint8_t raw[] = { 0, 1, 2, 0xfb, 0xff };
    ProtobufCBinaryData bytes[] = { { 0, NULL }, { 1, raw }, { 5, raw } };

    AllTypes leaf, empty, child, top;
    all_types_init(&leaf.base);
    leaf.f_int32 = 1;
    all_types_init(&empty.base);
    AllTypes *children[] = { &leaf, &empty };
    all_types_init(&child.base);
    child.f_string = "child";
    child.choice_case = 44;
    child.c_message = &leaf;

    all_types_init(&top.base);
    top.f_int32 = INT32_MIN;
    top.f_sint32 = INT32_MIN;
    top.f_sfixed32 = INT32_MIN;
    top.f_int64 = INT64_MIN;
    top.f_sint64 = INT64_MIN;
    top.f_sfixed64 = INT64_MIN;
    top.f_uint32 = UINT32_MAX;
    top.f_fixed32 = UINT32_MAX;
    top.f_uint64 = UINT64_MAX;
    top.f_fixed64 = UINT64_MAX;
    top.f_float = -FLT_TRUE_MIN;
    top.f_double = -4.9e-324;
    top.f_bool = 1;
    top.f_enum = LEVEL_NEGATIVE;
    top.f_string = "s";
    top.f_bytes.len = sizeof raw;
    top.f_bytes.data = raw;
    top.f_message = &child;
#define SET_LIST(field, values)                             \
    do {                                                    \
        top.n_##field = sizeof values / sizeof *values;     \
        top.field = (void *)values;                         \
    } while (0)
    SET_LIST(r_int32, i32);
    SET_LIST(r_sint32, i32);
    SET_LIST(r_sfixed32, i32);
    SET_LIST(r_int64, i64);
    SET_LIST(r_sint64, i64);
    SET_LIST(r_sfixed64, i64);
    SET_LIST(r_uint32, u32);
    SET_LIST(r_fixed32, u32);
    SET_LIST(r_uint64, u64);
    SET_LIST(r_fixed64, u64);
    SET_LIST(r_float, fl);
    SET_LIST(r_double, db);
    SET_LIST(r_bool, bools);
    SET_LIST(r_enum, enums);
    SET_LIST(r_string, strings);
    SET_LIST(r_bytes, bytes);
    SET_LIST(r_message, children);
#undef SET_LIST
    top.has_o_int32 = 1;
    top.o_int32 = 0;
    top.o_string = "";

    /* Every oneof member in turn, each also at its default. */
    top.choice_case = 41;
    top.c_string = "choice";
    round_trip(&top.base);
    top.c_string = strings[0];
    round_trip(&top.base);
    top.choice_case = 42;
    top.c_bytes = bytes[2];
    round_trip(&top.base);
    top.c_bytes = bytes[0];
    round_trip(&top.base);
    top.choice_case = 43;
    top.c_int32 = -5;
    round_trip(&top.base);
    top.c_int32 = 0;
    round_trip(&top.base);
    top.choice_case = 44;
    top.c_message = &empty;
    round_trip(&top.base);
    top.c_message = &child;
    round_trip(&top.base);
}

static void test_all_types_text(void **state)
{
    (void)state;
    AllTypes m;
    all_types_init(&m.base);
    m.f_int32 = -1;
    m.f_sint32 = -2;
    m.f_sfixed32 = -3;
    m.f_int64 = -4;
    m.f_sint64 = -5;
    m.f_sfixed64 = -6;
    m.f_uint32 = 4294967295u;
    m.f_fixed32 = 8;
    m.f_uint64 = 18446744073709551615u;
    m.f_fixed64 = 10;
    m.f_float = 0.5f;
    m.f_double = NAN;
    m.f_bool = 1;
    m.f_enum = LEVEL_HIGH;
    m.f_string = "\xe4\xb8\xad";
    m.f_bytes.len = 1;
    m.f_bytes.data = (uint8_t *)"\xfb";
    double ds[] = { INFINITY, -INFINITY, -0.0, 1e300, 2.5 };
    m.n_r_double = 5;
    m.r_double = ds;
    m.choice_case = 43;
    m.c_int32 = 0;
    m.has_o_int32 = 1;
    expect_format(&m.base,
                  "{\"fInt32\":-1,\"fSint32\":-2,\"fSfixed32\":-3,\"fInt64\":\"-4\","
                  "\"fSint64\":\"-5\",\"fSfixed64\":\"-6\",\"fUint32\":4294967295,"
                  "\"fFixed32\":8,\"fUint64\":\"18446744073709551615\",\"fFixed64\":\"10\","
                  "\"fFloat\":0.5,\"fDouble\":\"NaN\",\"fBool\":true,\"fEnum\":\"LEVEL_HIGH\","
                  "\"fString\":\"\xe4\xb8\xad\",\"fBytes\":\"+w==\",\"rDouble\":[\"Infinity\","
                  "\"-Infinity\",-0.0,1.0000000000000001e300,2.5],\"cInt32\":0,\"oInt32\":0}");

    /* Zero, -0.0 and empty values of plain fields are left out. */
    AllTypes z;
    all_types_init(&z.base);
    z.f_double = -0.0;
    z.f_float = -0.0f;
    z.f_string = NULL;
    expect_format(&z.base, "{}");
}

static void test_all_types_floats(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *d = &all_types_descriptor;
    AllTypes *m;

    m = (AllTypes *)parse_ok(d, "{\"fFloat\":0.1,\"fDouble\":0.1}");
    assert_true(m->f_float == 0.1f);
    assert_true(m->f_double == 0.1);
    protobuf_c_message_free_unpacked(&m->base, NULL);

    /* What we write for a float reads back to the same float. */
    AllTypes f;
    all_types_init(&f.base);
    f.f_float = 0.1f;
    expect_format(&f.base, "{\"fFloat\":0.10000000149011612}");
    round_trip(&f.base);

    m = (AllTypes *)parse_ok(d, "{\"fFloat\":\"NaN\",\"fDouble\":\"-Infinity\","
                                "\"rFloat\":[\"Infinity\",\"-1.5e3\",7,3.4028235e38,"
                                "-3.4028234663852886e38,1e-50],"
                                "\"rDouble\":[\"4.9e-324\",\"1e-400\",1e308]}");
    assert_true(isnan(m->f_float));
    assert_true(isinf(m->f_double) && m->f_double < 0);
    assert_int_equal(m->n_r_float, 6);
    assert_true(isinf(m->r_float[0]) && m->r_float[0] > 0);
    assert_true(m->r_float[1] == -1500.0f);
    assert_true(m->r_float[2] == 7.0f);
    assert_true(m->r_float[3] == FLT_MAX);
    assert_true(m->r_float[4] == -FLT_MAX);
    assert_true(m->r_float[5] == 0.0f);
    assert_true(m->r_double[0] == 4.9e-324);
    assert_true(m->r_double[1] == 0.0);
    assert_true(m->r_double[2] == 1e308);
    protobuf_c_message_free_unpacked(&m->base, NULL);

    expect_error(d, "{\"fFloat\":3.4028236e38}", "fFloat: value 3.4028236e+38 is out of range for float");
    /* Exactly halfway between FLT_MAX and the next power of two rounds up. */
    expect_error(d, "{\"fFloat\":3.4028235677973366e38}",
                 "fFloat: value 3.4028235677973366e+38 is out of range for float");
    expect_error(d, "{\"fFloat\":-1e39}", "fFloat: value -1e+39 is out of range for float");
    expect_error(d, "{\"rFloat\":[\"1e39\"]}", "rFloat[0]: value \"1e39\" is out of range for float");
    expect_error(d, "{\"fDouble\":\"1e400\"}", "fDouble: value \"1e400\" is out of range for double");
    expect_error(d, "{\"fDouble\":\"-1e400\"}", "fDouble: value \"-1e400\" is out of range for double");
    expect_error_prefix(d, "{\"fDouble\":1e400}", "invalid JSON");
    const char *not_numbers[] = { "\"nan\"", "\"inf\"", "\"Inf\"", "\"+1\"", "\" 1\"", "\"1 \"",
                                  "\"0x10\"", "\"1.\"", "\".5\"", "\"1e\"", "\"01\"", "\"\"",
                                  "\"infinity\"" };
    for (size_t i = 0; i < sizeof not_numbers / sizeof *not_numbers; i++) {
        char text[64], want[96];
        snprintf(text, sizeof text, "{\"fDouble\":%s}", not_numbers[i]);
        snprintf(want, sizeof want, "fDouble: expected a number, got string %s", not_numbers[i]);
        expect_error(d, text, want);
    }
    expect_error(d, "{\"fDouble\":true}", "fDouble: expected a number, got true");
    expect_error(d, "{\"fFloat\":{}}", "fFloat: expected a number, got an object");
}

static void test_all_types_integer_ranges(void **state)
{
    (void)state;
    static const struct {
        const char *field, *type, *min, *max, *below, *above;
    } cases[] = {
        { "fInt32", "int32", "-2147483648", "2147483647", "-2147483649", "2147483648" },
        { "fSint32", "sint32", "-2147483648", "2147483647", "-2147483649", "2147483648" },
        { "fSfixed32", "sfixed32", "-2147483648", "2147483647", "-2147483649", "2147483648" },
        { "fUint32", "uint32", "0", "4294967295", "-1", "4294967296" },
        { "fFixed32", "fixed32", "0", "4294967295", "-1", "4294967296" },
        { "fInt64", "int64", "-9223372036854775808", "9223372036854775807",
          "-9223372036854775809", "9223372036854775808" },
        { "fSint64", "sint64", "-9223372036854775808", "9223372036854775807",
          "-9223372036854775809", "9223372036854775808" },
        { "fSfixed64", "sfixed64", "-9223372036854775808", "9223372036854775807",
          "-9223372036854775809", "9223372036854775808" },
        { "fUint64", "uint64", "0", "18446744073709551615", "-1", "18446744073709551616" },
        { "fFixed64", "fixed64", "0", "18446744073709551615", "-1", "18446744073709551616" },
    };
    const ProtobufCMessageDescriptor *d = &all_types_descriptor;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[128], want[160];
        const char *ok[] = { cases[i].min, cases[i].max };
        for (int k = 0; k < 2; k++) {
            snprintf(text, sizeof text, "{\"%s\":\"%s\"}", cases[i].field, ok[k]);
            ProtobufCMessage *m = parse_ok(d, text);
            char *back = dd_pbjson_format(m);
            bool quoted = strstr(cases[i].type, "64") != NULL;
            snprintf(want, sizeof want, quoted ? "{\"%s\":\"%s\"}" : "{\"%s\":%s}",
                     cases[i].field, ok[k]);
            if (strcmp(ok[k], "0") == 0)
                snprintf(want, sizeof want, "{}");
            assert_string_equal(back, want);
            free(back);
            protobuf_c_message_free_unpacked(m, NULL);
        }
        const char *bad[] = { cases[i].below, cases[i].above };
        for (int k = 0; k < 2; k++) {
            snprintf(text, sizeof text, "{\"%s\":\"%s\"}", cases[i].field, bad[k]);
            snprintf(want, sizeof want, "%s: value \"%s\" is out of range for %s",
                     cases[i].field, bad[k], cases[i].type);
            expect_error(d, text, want);
        }
    }
}

static void test_all_types_oneof_and_optional(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *d = &all_types_descriptor;
    AllTypes *m;

    /* "" in a oneof selects the member, and pack keeps it. */
    m = (AllTypes *)parse_ok(d, "{\"cString\":\"\"}");
    assert_int_equal(m->choice_case, 41);
    assert_string_equal(m->c_string, "");
    size_t len;
    uint8_t *wire = pack(&m->base, &len);
    assert_int_equal(len, 3); /* tag 41, length 0 */
    free(wire);
    char *text = dd_pbjson_format(&m->base);
    assert_string_equal(text, "{\"cString\":\"\"}");
    free(text);
    protobuf_c_message_free_unpacked(&m->base, NULL);

    m = (AllTypes *)parse_ok(d, "{\"cBytes\":\"\"}");
    assert_int_equal(m->choice_case, 42);
    assert_int_equal(m->c_bytes.len, 0);
    protobuf_c_message_free_unpacked(&m->base, NULL);

    /* null selects nothing, but still counts against a second member. */
    m = (AllTypes *)parse_ok(d, "{\"cMessage\":null}");
    assert_int_equal(m->choice_case, 0);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    expect_error(d, "{\"cMessage\":null,\"cInt32\":1}",
                 "\"cMessage\" and \"cInt32\" belong to one oneof; at most one may be set");
    expect_error(d, "{\"fMessage\":{\"cInt32\":1,\"c_string\":\"a\"}}",
                 "fMessage: \"cInt32\" and \"cString\" belong to one oneof; at most one may be "
                 "set");

    /* proto2-style optional: presence is its own bit, even at zero. */
    m = (AllTypes *)parse_ok(d, "{\"oInt32\":0,\"oString\":\"\"}");
    assert_true(m->has_o_int32);
    assert_non_null(m->o_string);
    text = dd_pbjson_format(&m->base);
    assert_string_equal(text, "{\"oInt32\":0,\"oString\":\"\"}");
    free(text);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    m = (AllTypes *)parse_ok(d, "{\"oInt32\":null,\"oString\":null}");
    assert_false(m->has_o_int32);
    assert_null(m->o_string);
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

static char *nested_text(int depth)
{
    size_t n = (size_t)depth * 14 + 8;
    char *text = malloc(n);
    assert_non_null(text);
    char *p = text;
    for (int i = 0; i < depth; i++)
        p += sprintf(p, "{\"fMessage\":");
    p += sprintf(p, "{}");
    for (int i = 0; i < depth; i++)
        *p++ = '}';
    *p = '\0';
    return text;
}

static void test_all_types_depth_limit(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *d = &all_types_descriptor;
    char *text = nested_text(99); /* 100 messages: the limit */
    ProtobufCMessage *m = parse_ok(d, text);
    free(text);
    protobuf_c_message_free_unpacked(m, NULL);

    text = nested_text(100);
    char err[512];
    m = NULL;
    assert_int_equal(dd_pbjson_parse(d, text, strlen(text), &m, err, sizeof err), DD_EPROTO);
    assert_null(m);
    const char *tail = ": messages nested deeper than 100";
    assert_true(strncmp(err, "fMessage.fMessage.", 18) == 0);
    assert_string_equal(err + strlen(err) - strlen(tail), tail);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_person_reported),
        cmocka_unit_test(test_round_trip_household_reported),
        cmocka_unit_test(test_round_trip_comparison_record),
        cmocka_unit_test(test_round_trip_risk_signal),
        cmocka_unit_test(test_round_trip_application),
        cmocka_unit_test(test_round_trip_enrolment_change),
        cmocka_unit_test(test_round_trip_visit_report),
        cmocka_unit_test(test_round_trip_roster_change),
        cmocka_unit_test(test_round_trip_alert_acknowledgement),
        cmocka_unit_test(test_round_trip_envelope_without_body),
        cmocka_unit_test(test_round_trip_publish),
        cmocka_unit_test(test_round_trip_log),
        cmocka_unit_test(test_round_trip_admin),
        cmocka_unit_test(test_python_person),
        cmocka_unit_test(test_python_household),
        cmocka_unit_test(test_python_bytes_and_uint64),
        cmocka_unit_test(test_python_oneofs),
        cmocka_unit_test(test_python_unicode),
        cmocka_unit_test(test_snake_case_names),
        cmocka_unit_test(test_enum_by_number),
        cmocka_unit_test(test_integer_spellings),
        cmocka_unit_test(test_nulls_mean_default),
        cmocka_unit_test(test_error_not_json),
        cmocka_unit_test(test_error_unknown_fields),
        cmocka_unit_test(test_error_wrong_types),
        cmocka_unit_test(test_error_integers),
        cmocka_unit_test(test_error_enums),
        cmocka_unit_test(test_error_base64),
        cmocka_unit_test(test_error_oneof_and_duplicates),
        cmocka_unit_test(test_error_strings_with_nul),
        cmocka_unit_test(test_error_reporting),
        cmocka_unit_test(test_error_after_partial_build),
        cmocka_unit_test(test_write_invalid_utf8),
        cmocka_unit_test(test_write_drops_unknown_fields),
        cmocka_unit_test(test_all_types_round_trip),
        cmocka_unit_test(test_all_types_text),
        cmocka_unit_test(test_all_types_floats),
        cmocka_unit_test(test_all_types_integer_ranges),
        cmocka_unit_test(test_all_types_oneof_and_optional),
        cmocka_unit_test(test_all_types_depth_limit),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
