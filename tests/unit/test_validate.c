/*
 * test_validate.c: intake's decode and validate.
 *
 * The sample events, the descriptor-driven oracle and fuzz_one() live in
 * tests/fuzz/fuzz_validate.c, the libFuzzer target; this file includes it
 * so that the deterministic mutation run below, which every build and the
 * ASan CI job execute, holds validate.c to exactly the promises libFuzzer
 * checks.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "../fuzz/fuzz_validate.c"

#define R(name) DOUDI__REJECT_REASON__REJECT_REASON_##name

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static const fuzz_sample *sample_of(Doudi__Envelope__BodyCase kind, bool full)
{
    fuzz_setup();
    for (size_t i = 0; i < fuzz_n_samples; i++)
        if (fuzz_samples[i].kind == kind && fuzz_samples[i].full == full)
            return &fuzz_samples[i];
    fail_msg("no sample of kind %d", (int)kind);
    return NULL;
}

/* A fresh decode of a sample into the shared arena (reset first). */
static Doudi__Envelope *decode_sample(const fuzz_sample *s)
{
    fuzz_env *fe = fuzz_setup();
    dd_arena_reset(fe->arena);
    Doudi__Envelope *env = NULL;
    intake_verdict v;
    if (!intake_decode(s->bytes, s->len, &fe->rules, fe->arena, &env, &v))
        fail_msg("sample %s does not decode: %s", s->name, v.text);
    return env;
}

static char *arena_string(char fill, size_t len)
{
    char *s = dd_arena_alloc(fuzz_setup()->arena, len + 1);
    memset(s, fill, len);
    s[len] = '\0';
    return s;
}

/* Encodes env, then decodes and validates the bytes as intake would. */
static bool judge_encoded(Doudi__Envelope *env, const intake_rules *rules, intake_verdict *v,
                          bool *rewritten)
{
    fuzz_env *fe = fuzz_setup();
    size_t len = doudi__envelope__get_packed_size(env);
    uint8_t *bytes = dd_arena_alloc(fe->arena, len + 1);
    doudi__envelope__pack(env, bytes);
    Doudi__Envelope *again = NULL;
    if (!intake_decode(bytes, len, rules, fe->arena, &again, v))
        return false;
    return intake_validate(again, rules, FUZZ_NOW_MS, fe->arena, rewritten, v);
}

/* ------------------------------------------------------------------------ */
/* Valid events                                                              */
/* ------------------------------------------------------------------------ */

static void test_samples_are_valid(void **state)
{
    (void)state;
    fuzz_env *fe = fuzz_setup();
    bool kinds[32] = {false};
    for (size_t i = 0; i < fuzz_n_samples; i++) {
        const fuzz_sample *s = &fuzz_samples[i];
        for (int policy = 0; policy < 2; policy++) {
            intake_rules rules = fe->rules;
            rules.id15 = policy ? INTAKE_ID15_REJECT : INTAKE_ID15_UPGRADE;
            Doudi__Envelope *env = decode_sample(s);
            intake_verdict v;
            bool rewritten = true;
            if (!intake_validate(env, &rules, FUZZ_NOW_MS, fe->arena, &rewritten, &v))
                fail_msg("sample %s refused: %s", s->name, v.text);
            assert_int_equal(v.reason, R(UNSPECIFIED));
            assert_false(rewritten);
            char why[300];
            if (!fuzz_oracle_accepts(env, &rules, FUZZ_NOW_MS, why, sizeof(why)))
                fail_msg("oracle refuses sample %s: %s", s->name, why);
        }
        kinds[s->kind - DOUDI__ENVELOPE__BODY_PERSON_REPORTED] = true;
        /* Through the fuzz entry point, too. */
        Doudi__RejectReason reason;
        char why[512];
        if (fuzz_one(s->bytes, s->len, &reason, why, sizeof(why)) != FUZZ_ACCEPTED)
            fail_msg("fuzz_one on %s: %s (reason %d)", s->name, why, (int)reason);
    }
    /* Every body kind of the oneof has samples. */
    const ProtobufCMessageDescriptor *d = &doudi__envelope__descriptor;
    unsigned bodies = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        if (!(d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        bodies++;
        if (!kinds[d->fields[i].id - DOUDI__ENVELOPE__BODY_PERSON_REPORTED])
            fail_msg("no sample of body %s", d->fields[i].name);
    }
    assert_int_equal(bodies, 9);
}

/* Validation allocates nothing when no number is upgraded: the arena does
 * not move. */
static void test_validate_allocates_nothing(void **state)
{
    (void)state;
    fuzz_env *fe = fuzz_setup();
    for (size_t i = 0; i < fuzz_n_samples; i++) {
        Doudi__Envelope *env = decode_sample(&fuzz_samples[i]);
        size_t before = dd_arena_used(fe->arena);
        intake_verdict v;
        assert_true(intake_validate(env, &fe->rules, FUZZ_NOW_MS, fe->arena, NULL, &v));
        assert_int_equal(dd_arena_used(fe->arena), before);
    }
}

static size_t b_field_unknown_ok(uint8_t *out);

/* Values exactly at the documented limits are accepted. */
static void test_limits_accepted(void **state)
{
    (void)state;
    fuzz_env *fe = fuzz_setup();
    intake_verdict v;

    Doudi__Envelope *env = decode_sample(sample_of(DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED, true));
    env->event_id = arena_string('e', 64);
    env->source = arena_string('s', 64);
    env->occurred_at_ms = FUZZ_NOW_MS + fe->rules.max_future_skew_ms;
    Doudi__HouseholdReported *h = env->household_reported;
    h->household_id = arena_string('~', 64);
    char **members = dd_arena_alloc(fe->arena, 64 * sizeof(char *));
    for (int i = 0; i < 64; i++)
        members[i] = ID_A;
    h->member_person_ids = members;
    h->n_member_person_ids = 64;
    Doudi__Income **incomes = dd_arena_alloc(fe->arena, 32 * sizeof(*incomes));
    for (int i = 0; i < 32; i++)
        incomes[i] = h->incomes[0];
    h->incomes = incomes;
    h->n_incomes = 32;
    int64_t *vehicles = dd_arena_alloc(fe->arena, 32 * sizeof(int64_t));
    for (int i = 0; i < 32; i++)
        vehicles[i] = INT64_C(1000000000000000);
    h->vehicle_values_fen = vehicles;
    h->n_vehicle_values_fen = 32;
    h->dwellings = 100;
    h->financial_assets_fen = 0;
    if (!judge_encoded(env, &fe->rules, &v, NULL))
        fail_msg("refused: %s", v.text);

    env = decode_sample(sample_of(DOUDI__ENVELOPE__BODY_PERSON_REPORTED, true));
    env->occurred_at_ms = FUZZ_NOW_MS - fe->rules.max_age_ms;
    env->person_reported->disability_grade = 4;
    char *born_today = dd_arena_alloc(fe->arena, 19);
    memcpy(born_today, "11010520261122002", 17);
    born_today[17] = dd_idnum_check_char(born_today);
    born_today[18] = '\0';
    env->person_reported->person_id = born_today; /* born today */
    env->person_reported->died_at_ms = FUZZ_NOW_MS + fe->rules.max_future_skew_ms;
    if (!judge_encoded(env, &fe->rules, &v, NULL))
        fail_msg("refused: %s", v.text);

    env = decode_sample(sample_of(DOUDI__ENVELOPE__BODY_RISK_SIGNAL, true));
    char *text = arena_string('a', 512);
    memcpy(text, "\xf4\x8f\xbf\xbf \xed\x9f\xbf \xc2\x80", 12); /* U+10FFFF, U+D7FF, U+0080 */
    env->risk_signal->description = text;
    if (!judge_encoded(env, &fe->rules, &v, NULL))
        fail_msg("refused: %s", v.text);

    env = decode_sample(sample_of(DOUDI__ENVELOPE__BODY_ROSTER_CHANGE, true));
    env->roster_change->monthly_visit_capacity = 10000;
    if (!judge_encoded(env, &fe->rules, &v, NULL))
        fail_msg("refused: %s", v.text);
    env->roster_change->monthly_visit_capacity = 0;
    if (!judge_encoded(env, &fe->rules, &v, NULL))
        fail_msg("refused: %s", v.text);

    /* A comparison for the current month; a month only just begun in
     * Shanghai counts. */
    env = decode_sample(sample_of(DOUDI__ENVELOPE__BODY_COMPARISON_RECORD, true));
    env->comparison_record->period_yyyymm = 202611;
    if (!judge_encoded(env, &fe->rules, &v, NULL))
        fail_msg("refused: %s", v.text);
    env->comparison_record->period_yyyymm = 190001;
    if (!judge_encoded(env, &fe->rules, &v, NULL))
        fail_msg("refused: %s", v.text);
    env->comparison_record->medical_stay->discharged_at_ms = env->comparison_record->medical_stay->admitted_at_ms;
    if (!judge_encoded(env, &fe->rules, &v, NULL))
        fail_msg("refused: %s", v.text);

    /* Every level of office may acknowledge; NULL table checks format only. */
    const char *offices[] = {"440106001001", "440106001000", "440106000000", "440100000000",
                             "440000000000"};
    for (size_t i = 0; i < 5; i++) {
        env = decode_sample(sample_of(DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT, true));
        env->region_code = (char *)offices[i];
        if (!judge_encoded(env, &fe->rules, &v, NULL))
            fail_msg("office %s refused: %s", offices[i], v.text);
    }
    intake_rules no_table = fe->rules;
    no_table.divisions = NULL;
    env = decode_sample(sample_of(DOUDI__ENVELOPE__BODY_VISIT_REPORT, true));
    env->region_code = "999999999999";
    if (!judge_encoded(env, &no_table, &v, NULL))
        fail_msg("refused: %s", v.text);
    /* An unknown field with an allowed number is kept and accepted. */
    {
        uint8_t raw[512];
        size_t n = b_field_unknown_ok(raw);
        Doudi__Envelope *u = NULL;
        assert_true(intake_decode(raw, n, &fe->rules, fe->arena, &u, &v));
        assert_int_equal(u->base.n_unknown_fields, 1);
        if (!intake_validate(u, &fe->rules, FUZZ_NOW_MS, fe->arena, NULL, &v))
            fail_msg("refused: %s", v.text);
    }
    /* max_age_ms 0: no age limit. */
    intake_rules ageless = fe->rules;
    ageless.max_age_ms = 0;
    env = decode_sample(sample_of(DOUDI__ENVELOPE__BODY_VISIT_REPORT, false));
    env->occurred_at_ms = 1;
    env->visit_report->visited_at_ms = 1;
    if (!judge_encoded(env, &ageless, &v, NULL))
        fail_msg("refused: %s", v.text);
}

/* ------------------------------------------------------------------------ */
/* Every reason, table-driven                                                */
/* ------------------------------------------------------------------------ */

static Doudi__PersonReported *person(Doudi__Envelope *e)
{
    return e->person_reported;
}

static void m_event_id_empty(Doudi__Envelope *e) { e->event_id = ""; }
static void m_event_id_long(Doudi__Envelope *e) { e->event_id = arena_string('x', 65); }
static void m_event_id_control(Doudi__Envelope *e) { e->event_id = "evt\x7f" "1"; }
static void m_event_id_with_id(Doudi__Envelope *e) { e->event_id = "for 11010519491231002X\x01"; }
static void m_source_upper(Doudi__Envelope *e) { e->source = "Tax-Feed"; }
static void m_source_empty(Doudi__Envelope *e) { e->source = ""; }
static void m_occurred_zero(Doudi__Envelope *e) { e->occurred_at_ms = 0; }
static void m_occurred_negative(Doudi__Envelope *e) { e->occurred_at_ms = -1; }
static void m_future(Doudi__Envelope *e) { e->occurred_at_ms = FUZZ_NOW_MS + 5 * 60 * 1000 + 1; }
static void m_far_future(Doudi__Envelope *e) { e->occurred_at_ms = INT64_MAX; }
static void m_old(Doudi__Envelope *e) { e->occurred_at_ms = FUZZ_NOW_MS - 400 * FUZZ_DAY_MS - 1; }
static void m_region_short(Doudi__Envelope *e) { e->region_code = "44010600100"; }
static void m_region_letters(Doudi__Envelope *e) { e->region_code = "44010600100O"; }
static void m_region_empty(Doudi__Envelope *e) { e->region_code = ""; }
static void m_region_unknown(Doudi__Envelope *e) { e->region_code = "440106001999"; }
static void m_region_township(Doudi__Envelope *e) { e->region_code = "440106001000"; }
static void m_ack_region_unknown(Doudi__Envelope *e) { e->region_code = "440107000000"; }
static void m_no_body(Doudi__Envelope *e) { e->body_case = DOUDI__ENVELOPE__BODY__NOT_SET; }
static void m_person_missing(Doudi__Envelope *e) { person(e)->person_id = ""; }
static void m_household_missing(Doudi__Envelope *e) { person(e)->household_id = ""; }
static void m_person_17(Doudi__Envelope *e) { person(e)->person_id = "11010519491231002"; }
static void m_person_19(Doudi__Envelope *e) { person(e)->person_id = "11010519491231002X1"; }
static void m_person_long(Doudi__Envelope *e) { person(e)->person_id = arena_string('1', 300); }
static void m_person_lower_x(Doudi__Envelope *e) { person(e)->person_id = "11010519491231002x"; }
static void m_person_letter(Doudi__Envelope *e) { person(e)->person_id = "1101051949O231002X"; }
static void m_person_15_letter(Doudi__Envelope *e) { person(e)->person_id = "11010549123100A"; }
static void m_person_feb29(Doudi__Envelope *e) { person(e)->person_id = "110105190002290020"; }
static void m_person_future(Doudi__Envelope *e) { person(e)->person_id = "110105202611230020"; }
static void m_person_1799(Doudi__Envelope *e) { person(e)->person_id = "110105179912310020"; }
static void m_person_check(Doudi__Envelope *e) { person(e)->person_id = "110105194912310023"; }
static void m_person_15(Doudi__Envelope *e) { person(e)->person_id = "110105491231002"; }
static void m_person_15_bad_date(Doudi__Envelope *e) { person(e)->person_id = "110105490231002"; }
static void m_grade_7(Doudi__Envelope *e) { person(e)->disability_grade = 7; }
static void m_grade_negative(Doudi__Envelope *e) { person(e)->disability_grade = -1; }
static void m_adl_9(Doudi__Envelope *e) { person(e)->daily_living->toileting = 9; }
static void m_living_negative(Doudi__Envelope *e) { person(e)->living_arrangement = -3; }
static void m_own_income_negative(Doudi__Envelope *e) { person(e)->own_monthly_income_fen = -1; }
static void m_own_income_huge(Doudi__Envelope *e) { person(e)->own_monthly_income_fen = INT64_MAX; }
static void m_died_future(Doudi__Envelope *e) { person(e)->died_at_ms = FUZZ_NOW_MS + FUZZ_DAY_MS; }
static void m_died_negative(Doudi__Envelope *e) { person(e)->died_at_ms = -FUZZ_DAY_MS; }

static void m_member3_check(Doudi__Envelope *e)
{
    e->household_reported->member_person_ids[3] = "110105194912310023";
}
static void m_member_empty(Doudi__Envelope *e) { e->household_reported->member_person_ids[1] = ""; }
static void m_members_65(Doudi__Envelope *e)
{
    Doudi__HouseholdReported *h = e->household_reported;
    char **members = dd_arena_alloc(fuzz_setup()->arena, 65 * sizeof(char *));
    for (int i = 0; i < 65; i++)
        members[i] = ID_B;
    h->member_person_ids = members;
    h->n_member_person_ids = 65;
}
static void m_incomes_33(Doudi__Envelope *e)
{
    Doudi__HouseholdReported *h = e->household_reported;
    Doudi__Income **in = dd_arena_alloc(fuzz_setup()->arena, 33 * sizeof(*in));
    for (int i = 0; i < 33; i++)
        in[i] = h->incomes[0];
    h->incomes = in;
    h->n_incomes = 33;
}
static void m_income_negative(Doudi__Envelope *e) { e->household_reported->incomes[1]->monthly_fen = -5; }
static void m_income_kind_7(Doudi__Envelope *e) { e->household_reported->incomes[0]->kind = 7; }
static void m_vehicle_negative(Doudi__Envelope *e) { e->household_reported->vehicle_values_fen[1] = -100; }
static void m_rigid_negative(Doudi__Envelope *e)
{
    e->household_reported->rigid_spending_12_months->disability_rehabilitation_fen = -1;
}
static void m_dwellings_101(Doudi__Envelope *e) { e->household_reported->dwellings = 101; }
static void m_merged_long(Doudi__Envelope *e) { e->household_reported->merged_into_household_id = arena_string('m', 65); }
static void m_urban_3(Doudi__Envelope *e) { e->household_reported->urban_rural = 3; }

static void m_department_0(Doudi__Envelope *e) { e->comparison_record->department = 0; }
static void m_department_10(Doudi__Envelope *e) { e->comparison_record->department = 10; }
static void m_period_13(Doudi__Envelope *e) { e->comparison_record->period_yyyymm = 202613; }
static void m_period_0(Doudi__Envelope *e) { e->comparison_record->period_yyyymm = 0; }
static void m_period_next(Doudi__Envelope *e) { e->comparison_record->period_yyyymm = 202612; }
static void m_period_1899(Doudi__Envelope *e) { e->comparison_record->period_yyyymm = 189912; }
static void m_subject_15_reject(Doudi__Envelope *e) { e->comparison_record->subject_person_id = "440524800101001"; }
static void m_stay_order(Doudi__Envelope *e)
{
    e->comparison_record->medical_stay->discharged_at_ms = e->comparison_record->medical_stay->admitted_at_ms - 1;
}
static void m_finding_vehicles_33(Doudi__Envelope *e)
{
    Doudi__ComparisonRecord__VehicleFinding *v = e->comparison_record->vehicles;
    int64_t *values = dd_arena_alloc(fuzz_setup()->arena, 33 * sizeof(int64_t));
    for (int i = 0; i < 33; i++)
        values[i] = 1;
    v->vehicle_values_fen = values;
    v->n_vehicle_values_fen = 33;
}
static void m_finding_vehicle_negative(Doudi__Envelope *e) { e->comparison_record->vehicles->vehicle_values_fen[2] = -1; }
static void m_finding_grade_5(Doudi__Envelope *e) { e->comparison_record->disability->disability_grade = 5; }
static void m_finding_pension_negative(Doudi__Envelope *e) { e->comparison_record->employment->monthly_pension_fen = -1; }

static void m_risk_kind_0(Doudi__Envelope *e) { e->risk_signal->kind = 0; }
static void m_risk_overlong_utf8(Doudi__Envelope *e) { e->risk_signal->description = "ok \xc0\xaf"; }
static void m_risk_surrogate(Doudi__Envelope *e) { e->risk_signal->description = "\xed\xa0\x80"; }
static void m_risk_truncated_utf8(Doudi__Envelope *e) { e->risk_signal->description = "abc\xe4\xbd"; }
static void m_risk_text_513(Doudi__Envelope *e) { e->risk_signal->description = arena_string('d', 513); }
static void m_risk_household_tab(Doudi__Envelope *e) { e->risk_signal->household_id = "hh\t1"; }

static void m_app_no_household(Doudi__Envelope *e) { e->application->household_id = ""; }
static void m_app_program_99(Doudi__Envelope *e) { e->application->program = 99; }
static void m_app_id_empty(Doudi__Envelope *e) { e->application->application_id = ""; }

static void m_enrol_action_0(Doudi__Envelope *e) { e->enrolment_change->action = 0; }
static void m_enrol_no_worker(Doudi__Envelope *e) { e->enrolment_change->decided_by_worker_id = ""; }
static void m_enrol_effective_negative(Doudi__Envelope *e) { e->enrolment_change->effective_at_ms = -1; }

static void m_visit_outcome_9(Doudi__Envelope *e) { e->visit_report->outcome = 9; }
static void m_visit_outcome_0(Doudi__Envelope *e) { e->visit_report->outcome = 0; }
static void m_visit_no_time(Doudi__Envelope *e) { e->visit_report->visited_at_ms = 0; }
static void m_visit_future(Doudi__Envelope *e) { e->visit_report->visited_at_ms = FUZZ_NOW_MS + FUZZ_HOUR_MS; }
static void m_finding_severity_0(Doudi__Envelope *e) { e->visit_report->findings[1]->severity = 0; }
static void m_finding_area_99(Doudi__Envelope *e) { e->visit_report->findings[0]->area = 99; }
static void m_findings_33(Doudi__Envelope *e)
{
    Doudi__VisitReport *v = e->visit_report;
    Doudi__VisitFinding **f = dd_arena_alloc(fuzz_setup()->arena, 33 * sizeof(*f));
    for (int i = 0; i < 33; i++)
        f[i] = v->findings[0];
    v->findings = f;
    v->n_findings = 33;
}

static void m_roster_capacity(Doudi__Envelope *e) { e->roster_change->monthly_visit_capacity = 10001; }
static void m_roster_role_0(Doudi__Envelope *e) { e->roster_change->role = 0; }

static void m_ack_action_3(Doudi__Envelope *e) { e->alert_acknowledgement->action = 3; }
static void m_ack_alert_missing(Doudi__Envelope *e) { e->alert_acknowledgement->alert_id = ""; }

/* Raw inputs for what cannot be built by encoding a message. */
static size_t b_truncated(uint8_t *out)
{
    const uint8_t b[] = {0x0a, 0x05, 'a', 'b'}; /* event_id claims 5 bytes, has 2 */
    memcpy(out, b, sizeof(b));
    return sizeof(b);
}

static size_t b_wrong_wire_type(uint8_t *out)
{
    const uint8_t b[] = {0x08, 0x01}; /* event_id (a string) as a varint */
    memcpy(out, b, sizeof(b));
    return sizeof(b);
}

static size_t b_nul_in_event_id(uint8_t *out)
{
    const uint8_t b[] = {0x0a, 0x04, 'a', 'b', 0x00, 'c'};
    memcpy(out, b, sizeof(b));
    return sizeof(b);
}

/* The full visit sample with its first note's first byte made a NUL. */
static size_t b_nul_in_note(uint8_t *out)
{
    const fuzz_sample *s = sample_of(DOUDI__ENVELOPE__BODY_VISIT_REPORT, true);
    memcpy(out, s->bytes, s->len);
    uint8_t *at = memmem(out, s->len, "gas hose", 8);
    assert_non_null(at);
    at[3] = 0;
    return s->len;
}

/* A member id "<valid 18>\0junk": protobuf-c would hand validate the valid
 * part. */
static size_t b_nul_after_member(uint8_t *out)
{
    const fuzz_sample *s = sample_of(DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED, true);
    memcpy(out, s->bytes, s->len);
    uint8_t *at = memmem(out, s->len, ID_C, 18);
    assert_non_null(at);
    at[17] = 0; /* "44052419800101001\0" */
    return s->len;
}

/* An envelope whose body is field 19, which this build does not know. */
static size_t b_unknown_body(uint8_t *out)
{
    const fuzz_sample *s = sample_of(DOUDI__ENVELOPE__BODY_ROSTER_CHANGE, true);
    Doudi__Envelope *env = decode_sample(s);
    env->body_case = DOUDI__ENVELOPE__BODY__NOT_SET;
    size_t len = doudi__envelope__pack(env, out);
    out[len++] = (19 << 3) | 2; /* 0x9a 0x01: field 19, length-delimited */
    out[len - 1] = 0x9a;
    out[len++] = 0x01;
    out[len++] = 0x00;
    return len;
}

/* An unknown field number 0, written as the padded varint 0x82 0x00 that
 * protobuf-c accepts but cannot write back, after a valid event. */
static size_t b_field_zero(uint8_t *out)
{
    const fuzz_sample *s = sample_of(DOUDI__ENVELOPE__BODY_ROSTER_CHANGE, true);
    memcpy(out, s->bytes, s->len);
    const uint8_t zero[] = {0x82, 0x00, 0x00};
    memcpy(out + s->len, zero, sizeof(zero));
    return s->len + sizeof(zero);
}

/* The same inside a nested message: what libFuzzer found (a comparison
 * record whose asset finding carries field 0). */
static size_t b_field_zero_nested(uint8_t *out)
{
    static const char b64[] =
        "ChJ0YXgtMjAyNi0xMC0wMDAwMDESFm1lZGljYWwtaW5zdXJhbmNlLmZlZWQYwNajhaA0Igw0NDAxMDYwMDEwMDFi"
        "bwoSNDQwNTI0MTk4MDAxMDEwMDEzEAMY8q4MUgQIoP4KWggIARABGIDiCWICCAIqCgoIwKyAAqD3NgByKQjgsIwB"
        "ehII4M0vEMDTgs+ZNBjAm4C5njSCAAYIARDAzySKAQQIARAFkgEHCMCLs4ufNA==";
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (const char *c = b64; *c && *c != '='; c++) {
        acc = (acc << 6) | (uint32_t)(strchr(alphabet, *c) - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n;
}

/* An unknown field numbered 2^29, one above the largest protobuf allows. */
static size_t b_field_too_big(uint8_t *out)
{
    const fuzz_sample *s = sample_of(DOUDI__ENVELOPE__BODY_ROSTER_CHANGE, true);
    memcpy(out, s->bytes, s->len);
    const uint8_t big[] = {0x80, 0x80, 0x80, 0x80, 0x10, 0x01}; /* tag 2^32: field 2^29, varint */
    memcpy(out + s->len, big, sizeof(big));
    return s->len + sizeof(big);
}

/* An unknown field with an allowed number is kept. */
static size_t b_field_unknown_ok(uint8_t *out)
{
    const fuzz_sample *s = sample_of(DOUDI__ENVELOPE__BODY_ROSTER_CHANGE, true);
    memcpy(out, s->bytes, s->len);
    const uint8_t f99[] = {0x98, 0x06, 0x01}; /* field 99, varint 1 */
    memcpy(out + s->len, f99, sizeof(f99));
    return s->len + sizeof(f99);
}

typedef struct reason_case {
    const char *name;
    Doudi__Envelope__BodyCase kind; /* the full sample to start from */
    void (*mutate)(Doudi__Envelope *e);
    size_t (*bytes)(uint8_t *out); /* instead: raw bytes */
    intake_id15_policy id15;
    size_t max_event_bytes; /* 0: the default rules */
    Doudi__RejectReason expect;
    const char *text; /* "=" exact text, else a substring */
} reason_case;

#define PERSON DOUDI__ENVELOPE__BODY_PERSON_REPORTED
#define HOUSEHOLD DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED
#define COMPARISON DOUDI__ENVELOPE__BODY_COMPARISON_RECORD
#define RISK DOUDI__ENVELOPE__BODY_RISK_SIGNAL
#define APPLICATION DOUDI__ENVELOPE__BODY_APPLICATION
#define ENROLMENT DOUDI__ENVELOPE__BODY_ENROLMENT_CHANGE
#define VISIT DOUDI__ENVELOPE__BODY_VISIT_REPORT
#define ROSTER DOUDI__ENVELOPE__BODY_ROSTER_CHANGE
#define ACK DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT
#define UP INTAKE_ID15_UPGRADE
#define REJ INTAKE_ID15_REJECT

static const reason_case reason_cases[] = {
    {"truncated bytes", 0, NULL, b_truncated, UP, 0, R(UNDECODABLE), "not an encoded doudi.Envelope"},
    {"wrong wire type", 0, NULL, b_wrong_wire_type, UP, 0, R(UNDECODABLE), "not an encoded"},
    {"event too large", PERSON, NULL, NULL, UP, 16, R(EVENT_TOO_LARGE), "at most 16 allowed"},
    {"NUL in event_id", 0, NULL, b_nul_in_event_id, UP, 0, R(BAD_CHARACTERS), "=event_id: contains a NUL byte"},
    {"NUL in a note", 0, NULL, b_nul_in_note, UP, 0, R(BAD_CHARACTERS),
     "=visit_report.findings[0].note: contains a NUL byte"},
    {"NUL after a member id", 0, NULL, b_nul_after_member, UP, 0, R(BAD_CHARACTERS),
     "=household_reported.member_person_ids[2]: contains a NUL byte"},
    {"unknown body field", 0, NULL, b_unknown_body, UP, 0, R(UNKNOWN_BODY), "field 19"},
    {"field number 0", 0, NULL, b_field_zero, UP, 0, R(UNDECODABLE),
     "=event: field number 0 is not valid in the protobuf wire format"},
    {"nested field number 0", 0, NULL, b_field_zero_nested, UP, 0, R(UNDECODABLE),
     "=comparison_record.assets: field number 0 is not valid in the protobuf wire format"},
    {"field number 2^29", 0, NULL, b_field_too_big, UP, 0, R(UNDECODABLE), "field number"},
    {"no body", PERSON, m_no_body, NULL, UP, 0, R(UNKNOWN_BODY), "no body is set"},

    {"event_id empty", PERSON, m_event_id_empty, NULL, UP, 0, R(MISSING_FIELD), "event_id: missing"},
    {"event_id 65 bytes", PERSON, m_event_id_long, NULL, UP, 0, R(FIELD_TOO_LONG), "=event_id: 65 bytes, at most 64 allowed"},
    {"event_id DEL", PERSON, m_event_id_control, NULL, UP, 0, R(BAD_CHARACTERS), "event_id: byte 0x7f at offset 3"},
    {"event_id quoting an id", PERSON, m_event_id_with_id, NULL, UP, 0, R(BAD_CHARACTERS), "110105********002X"},
    {"source upper case", RISK, m_source_upper, NULL, UP, 0, R(BAD_CHARACTERS), "source: byte 0x54 at offset 0"},
    {"source empty", RISK, m_source_empty, NULL, UP, 0, R(MISSING_FIELD), "source: missing"},
    {"occurred_at 0", VISIT, m_occurred_zero, NULL, UP, 0, R(MISSING_FIELD), "occurred_at_ms: missing"},
    {"occurred_at negative", VISIT, m_occurred_negative, NULL, UP, 0, R(VALUE_OUT_OF_RANGE), "occurred_at_ms: -1 is negative"},
    {"occurred_at ahead", VISIT, m_future, NULL, UP, 0, R(TIME_IN_FUTURE), "300001 ms after now"},
    {"occurred_at far ahead", VISIT, m_far_future, NULL, UP, 0, R(TIME_IN_FUTURE), "occurred_at_ms: 9223372036854775807"},
    {"occurred_at too old", VISIT, m_old, NULL, UP, 0, R(TIME_TOO_OLD), "400 days before now"},
    {"region 11 digits", RISK, m_region_short, NULL, UP, 0, R(REGION_BAD_FORMAT), "=region_code: '44010600100' is not 12 digits"},
    {"region letter O", RISK, m_region_letters, NULL, UP, 0, R(REGION_BAD_FORMAT), "'44010600100O'"},
    {"region empty", RISK, m_region_empty, NULL, UP, 0, R(MISSING_FIELD), "region_code: missing"},
    {"region unknown", RISK, m_region_unknown, NULL, UP, 0, R(REGION_UNKNOWN),
     "=region_code 440106001999 is not in the division table (26208 codes)"},
    {"township for a village event", RISK, m_region_township, NULL, UP, 0, R(REGION_UNKNOWN), "440106001000"},
    {"unknown office", ACK, m_ack_region_unknown, NULL, UP, 0, R(REGION_UNKNOWN), "nor an area above"},

    {"person_id empty", PERSON, m_person_missing, NULL, UP, 0, R(MISSING_FIELD), "person_reported.person_id: missing"},
    {"household_id empty", PERSON, m_household_missing, NULL, UP, 0, R(MISSING_FIELD), "person_reported.household_id: missing"},
    {"person_id 17", PERSON, m_person_17, NULL, UP, 0, R(ID_BAD_LENGTH),
     "=person_reported.person_id: 17 characters, expected 18 (110105*******1002)"},
    {"person_id 19", PERSON, m_person_19, NULL, UP, 0, R(ID_BAD_LENGTH), "19 characters, expected 18 (110105*********02X1)"},
    {"person_id 300", PERSON, m_person_long, NULL, UP, 0, R(ID_BAD_LENGTH), "300 characters, expected 18 (300 characters)"},
    {"person_id lower x", PERSON, m_person_lower_x, NULL, UP, 0, R(ID_BAD_CHARACTER),
     "=person_reported.person_id: check character is 'x', expected a digit or upper-case X (110105********002x)"},
    {"person_id letter O", PERSON, m_person_letter, NULL, UP, 0, R(ID_BAD_CHARACTER), "character 11 is 'O', expected a digit"},
    {"15 digits with a letter", PERSON, m_person_15_letter, NULL, UP, 0, R(ID_BAD_CHARACTER), "character 15 is 'A'"},
    {"born 1900-02-29", PERSON, m_person_feb29, NULL, UP, 0, R(ID_BAD_DATE),
     "=person_reported.person_id: birth date is not a calendar date (110105********0020)"},
    {"born tomorrow", PERSON, m_person_future, NULL, UP, 0, R(ID_BAD_DATE), "birth date is after today"},
    {"born 1799", PERSON, m_person_1799, NULL, UP, 0, R(ID_BAD_DATE), "birth date is before 1800"},
    {"15 digits, bad date", PERSON, m_person_15_bad_date, NULL, UP, 0, R(ID_BAD_DATE), "not a calendar date (110105*****1002)"},
    {"check character", PERSON, m_person_check, NULL, UP, 0, R(ID_BAD_CHECK),
     "=person_reported.person_id: check character is 3, expected X (110105********0023)"},
    {"member check character", HOUSEHOLD, m_member3_check, NULL, UP, 0, R(ID_BAD_CHECK),
     "=household_reported.member_person_ids[3]: check character is 3, expected X (110105********0023)"},
    {"15 digits refused", PERSON, m_person_15, NULL, REJ, 0, R(ID_FIFTEEN_DIGITS),
     "=person_reported.person_id: a 15-digit identity number (110105*****1002); it must be sent in its 18-character form"},
    {"15-digit subject refused", COMPARISON, m_subject_15_reject, NULL, REJ, 0, R(ID_FIFTEEN_DIGITS),
     "comparison_record.subject_person_id: a 15-digit"},
    {"grade 7", PERSON, m_grade_7, NULL, UP, 0, R(VALUE_OUT_OF_RANGE), "=person_reported.disability_grade: 7 is outside 0..4"},
    {"grade -1", PERSON, m_grade_negative, NULL, UP, 0, R(VALUE_OUT_OF_RANGE), "disability_grade: -1 is outside"},
    {"ADL 9", PERSON, m_adl_9, NULL, UP, 0, R(UNKNOWN_ENUM_VALUE),
     "=person_reported.daily_living.toileting: 9 is not a value of doudi.AdlAbility"},
    {"living -3", PERSON, m_living_negative, NULL, UP, 0, R(UNKNOWN_ENUM_VALUE), "living_arrangement: -3 is not"},
    {"own income -1", PERSON, m_own_income_negative, NULL, UP, 0, R(NEGATIVE_MONEY),
     "=person_reported.own_monthly_income_fen: -1 fen is negative"},
    {"own income huge", PERSON, m_own_income_huge, NULL, UP, 0, R(VALUE_OUT_OF_RANGE), "above the limit"},
    {"died tomorrow", PERSON, m_died_future, NULL, UP, 0, R(VALUE_OUT_OF_RANGE), "person_reported.died_at_ms: "},
    {"died before 1970", PERSON, m_died_negative, NULL, UP, 0, R(VALUE_OUT_OF_RANGE), "died_at_ms: -86400000 is negative"},

    {"member empty", HOUSEHOLD, m_member_empty, NULL, UP, 0, R(MISSING_FIELD), "household_reported.member_person_ids[1]: missing"},
    {"65 members", HOUSEHOLD, m_members_65, NULL, UP, 0, R(FIELD_TOO_LONG),
     "=household_reported.member_person_ids: 65 items, at most 64 allowed"},
    {"33 incomes", HOUSEHOLD, m_incomes_33, NULL, UP, 0, R(FIELD_TOO_LONG), "household_reported.incomes: 33 items"},
    {"income -5", HOUSEHOLD, m_income_negative, NULL, UP, 0, R(NEGATIVE_MONEY),
     "=household_reported.incomes[1].monthly_fen: -5 fen is negative"},
    {"income kind 7", HOUSEHOLD, m_income_kind_7, NULL, UP, 0, R(UNKNOWN_ENUM_VALUE), "household_reported.incomes[0].kind: 7"},
    {"vehicle -100", HOUSEHOLD, m_vehicle_negative, NULL, UP, 0, R(NEGATIVE_MONEY), "household_reported.vehicle_values_fen[1]: -100"},
    {"rigid -1", HOUSEHOLD, m_rigid_negative, NULL, UP, 0, R(NEGATIVE_MONEY),
     "household_reported.rigid_spending_12_months.disability_rehabilitation_fen: -1"},
    {"101 dwellings", HOUSEHOLD, m_dwellings_101, NULL, UP, 0, R(VALUE_OUT_OF_RANGE), "dwellings: 101 is outside 0..100"},
    {"merged into 65 bytes", HOUSEHOLD, m_merged_long, NULL, UP, 0, R(FIELD_TOO_LONG), "merged_into_household_id: 65 bytes"},
    {"urban_rural 3", HOUSEHOLD, m_urban_3, NULL, UP, 0, R(UNKNOWN_ENUM_VALUE), "doudi.UrbanRural"},

    {"department 0", COMPARISON, m_department_0, NULL, UP, 0, R(MISSING_FIELD),
     "=comparison_record.department: not set (a doudi.Department other than 0 is required)"},
    {"department 10", COMPARISON, m_department_10, NULL, UP, 0, R(UNKNOWN_ENUM_VALUE), "department: 10 is not a value"},
    {"period month 13", COMPARISON, m_period_13, NULL, UP, 0, R(VALUE_OUT_OF_RANGE), "period_yyyymm: 202613 is not a month"},
    {"period 0", COMPARISON, m_period_0, NULL, UP, 0, R(MISSING_FIELD), "period_yyyymm: missing"},
    {"period next month", COMPARISON, m_period_next, NULL, UP, 0, R(VALUE_OUT_OF_RANGE), "202612 has not begun yet (now is in 202611)"},
    {"period 1899", COMPARISON, m_period_1899, NULL, UP, 0, R(VALUE_OUT_OF_RANGE), "189912 is not a month"},
    {"discharged before admitted", COMPARISON, m_stay_order, NULL, UP, 0, R(VALUE_OUT_OF_RANGE), "is before admitted_at_ms"},
    {"33 vehicles found", COMPARISON, m_finding_vehicles_33, NULL, UP, 0, R(FIELD_TOO_LONG),
     "comparison_record.vehicles.vehicle_values_fen: 33 items"},
    {"vehicle found -1", COMPARISON, m_finding_vehicle_negative, NULL, UP, 0, R(NEGATIVE_MONEY),
     "comparison_record.vehicles.vehicle_values_fen[2]: -1"},
    {"grade found 5", COMPARISON, m_finding_grade_5, NULL, UP, 0, R(VALUE_OUT_OF_RANGE), "comparison_record.disability.disability_grade: 5"},
    {"pension -1", COMPARISON, m_finding_pension_negative, NULL, UP, 0, R(NEGATIVE_MONEY), "employment.monthly_pension_fen"},

    {"risk kind 0", RISK, m_risk_kind_0, NULL, UP, 0, R(MISSING_FIELD), "risk_signal.kind: not set"},
    {"overlong UTF-8", RISK, m_risk_overlong_utf8, NULL, UP, 0, R(BAD_CHARACTERS),
     "=risk_signal.description: invalid UTF-8 at byte 3 (0xc0)"},
    {"surrogate", RISK, m_risk_surrogate, NULL, UP, 0, R(BAD_CHARACTERS), "invalid UTF-8 at byte 0 (0xed)"},
    {"cut UTF-8", RISK, m_risk_truncated_utf8, NULL, UP, 0, R(BAD_CHARACTERS), "invalid UTF-8 at byte 3"},
    {"513-byte text", RISK, m_risk_text_513, NULL, UP, 0, R(FIELD_TOO_LONG), "=risk_signal.description: 513 bytes, at most 512 allowed"},
    {"tab in an id", RISK, m_risk_household_tab, NULL, UP, 0, R(BAD_CHARACTERS), "risk_signal.household_id: byte 0x09 at offset 2 is not printable ASCII ('hh\\x091')"},

    {"application without household", APPLICATION, m_app_no_household, NULL, UP, 0, R(MISSING_FIELD),
     "application.household_id: missing (required for every program but PROGRAM_TEMP)"},
    {"program 99", APPLICATION, m_app_program_99, NULL, UP, 0, R(UNKNOWN_ENUM_VALUE), "application.program: 99"},
    {"application id empty", APPLICATION, m_app_id_empty, NULL, UP, 0, R(MISSING_FIELD), "application.application_id: missing"},
    {"enrolment action 0", ENROLMENT, m_enrol_action_0, NULL, UP, 0, R(MISSING_FIELD), "enrolment_change.action: not set"},
    {"enrolment without worker", ENROLMENT, m_enrol_no_worker, NULL, UP, 0, R(MISSING_FIELD), "decided_by_worker_id: missing"},
    {"effective before 1970", ENROLMENT, m_enrol_effective_negative, NULL, UP, 0, R(VALUE_OUT_OF_RANGE), "effective_at_ms: -1"},
    {"outcome 9", VISIT, m_visit_outcome_9, NULL, UP, 0, R(UNKNOWN_ENUM_VALUE),
     "=visit_report.outcome: 9 is not a value of doudi.VisitOutcome"},
    {"outcome 0", VISIT, m_visit_outcome_0, NULL, UP, 0, R(MISSING_FIELD), "visit_report.outcome: not set"},
    {"visit without time", VISIT, m_visit_no_time, NULL, UP, 0, R(MISSING_FIELD), "visit_report.visited_at_ms: missing"},
    {"visit in an hour", VISIT, m_visit_future, NULL, UP, 0, R(VALUE_OUT_OF_RANGE), "it must have happened already"},
    {"finding severity 0", VISIT, m_finding_severity_0, NULL, UP, 0, R(MISSING_FIELD), "visit_report.findings[1].severity: not set"},
    {"finding area 99", VISIT, m_finding_area_99, NULL, UP, 0, R(UNKNOWN_ENUM_VALUE), "visit_report.findings[0].area: 99"},
    {"33 findings", VISIT, m_findings_33, NULL, UP, 0, R(FIELD_TOO_LONG), "visit_report.findings: 33 items, at most 32"},
    {"capacity 10001", ROSTER, m_roster_capacity, NULL, UP, 0, R(VALUE_OUT_OF_RANGE),
     "=roster_change.monthly_visit_capacity: 10001 is outside 0..10000"},
    {"role 0", ROSTER, m_roster_role_0, NULL, UP, 0, R(MISSING_FIELD), "roster_change.role: not set"},
    {"ack action 3", ACK, m_ack_action_3, NULL, UP, 0, R(UNKNOWN_ENUM_VALUE), "alert_acknowledgement.action: 3"},
    {"ack without alert", ACK, m_ack_alert_missing, NULL, UP, 0, R(MISSING_FIELD), "alert_acknowledgement.alert_id: missing"},
};

static void test_every_reason(void **state)
{
    (void)state;
    fuzz_env *fe = fuzz_setup();
    bool seen[64] = {false};
    static uint8_t buf[64 * 1024];
    for (size_t i = 0; i < sizeof(reason_cases) / sizeof(reason_cases[0]); i++) {
        const reason_case *rc = &reason_cases[i];
        intake_rules rules = fe->rules;
        rules.id15 = rc->id15;
        if (rc->max_event_bytes)
            rules.max_event_bytes = rc->max_event_bytes;
        size_t len;
        if (rc->bytes) {
            len = rc->bytes(buf);
        } else {
            Doudi__Envelope *env = decode_sample(sample_of(rc->kind, true));
            if (rc->mutate)
                rc->mutate(env);
            len = doudi__envelope__get_packed_size(env);
            assert_true(len <= sizeof(buf));
            doudi__envelope__pack(env, buf);
        }
        dd_arena_reset(fe->arena);
        Doudi__Envelope *env = NULL;
        intake_verdict v;
        bool ok = intake_decode(buf, len, &rules, fe->arena, &env, &v) &&
                  intake_validate(env, &rules, FUZZ_NOW_MS, fe->arena, NULL, &v);
        if (ok)
            fail_msg("case '%s' was accepted", rc->name);
        if (v.reason != rc->expect)
            fail_msg("case '%s': reason %s, expected %s (%s)", rc->name, intake_reason_label(v.reason),
                     intake_reason_label(rc->expect), v.text);
        bool text_ok = rc->text[0] == '=' ? strcmp(v.text, rc->text + 1) == 0 : strstr(v.text, rc->text) != NULL;
        if (!text_ok)
            fail_msg("case '%s': text '%s', expected %s'%s'", rc->name, v.text,
                     rc->text[0] == '=' ? "exactly " : "to contain ", rc->text + (rc->text[0] == '='));
        char why[300];
        if (!fuzz_text_ok(&v, why, sizeof(why)))
            fail_msg("case '%s': %s", rc->name, why);
        seen[v.reason] = true;
    }
    /* Every reason an event can get (the REQUEST_* ones are about whole
     * requests, which the request handler judges; SOURCE_NOT_ALLOWED is
     * about the sender's key, which the publish path judges: test_curve.py). */
    const ProtobufCEnumDescriptor *d = &doudi__reject_reason__descriptor;
    for (unsigned i = 0; i < d->n_values; i++) {
        int value = d->values[i].value;
        if (value == 0 || strncmp(d->values[i].name, "REJECT_REASON_REQUEST_", 22) == 0 ||
            value == DOUDI__REJECT_REASON__REJECT_REASON_SOURCE_NOT_ALLOWED)
            continue;
        if (!seen[value])
            fail_msg("no case produces %s", d->values[i].name);
    }
}

/* ------------------------------------------------------------------------ */
/* Every field, driven by the descriptors                                    */
/* ------------------------------------------------------------------------ */

/*
 * Walks the full samples through the generated descriptors and, for every
 * field it finds, breaks that one field and expects a refusal naming it. A
 * field added to event.proto without a check fails here.
 */

typedef struct step {
    unsigned field; /* index into the message descriptor's fields */
    long index;     /* element of a repeated field, or -1 */
} step;

typedef struct target {
    step steps[6];
    int n;
} target;

/* The message a target's last step is a field of, in a freshly decoded env. */
static ProtobufCMessage *target_parent(Doudi__Envelope *env, const target *t)
{
    ProtobufCMessage *m = &env->base;
    for (int i = 0; i < t->n - 1; i++) {
        const ProtobufCFieldDescriptor *f = &m->descriptor->fields[t->steps[i].field];
        char *p = (char *)m + f->offset;
        if (t->steps[i].index >= 0)
            m = (*(ProtobufCMessage ***)p)[t->steps[i].index];
        else
            m = *(ProtobufCMessage **)p;
        assert_non_null(m);
    }
    return m;
}

static void target_path(Doudi__Envelope *env, const target *t, char *out, size_t cap)
{
    ProtobufCMessage *m = &env->base;
    size_t w = 0;
    out[0] = '\0';
    for (int i = 0; i < t->n; i++) {
        const ProtobufCFieldDescriptor *f = &m->descriptor->fields[t->steps[i].field];
        w += (size_t)snprintf(out + w, cap - w, "%s%s", i ? "." : "", f->name);
        if (t->steps[i].index >= 0)
            w += (size_t)snprintf(out + w, cap - w, "[%ld]", t->steps[i].index);
        if (i < t->n - 1) {
            char *p = (char *)m + f->offset;
            m = t->steps[i].index >= 0 ? (*(ProtobufCMessage ***)p)[t->steps[i].index]
                                       : *(ProtobufCMessage **)p;
        }
    }
}

typedef struct corruption_run {
    const fuzz_sample *sample;
    size_t tried;
} corruption_run;

/* Judges env (already corrupted) and checks the refusal. */
static void expect_refusal(corruption_run *run, Doudi__Envelope *env, Doudi__RejectReason want,
                           const char *path, const char *what)
{
    fuzz_env *fe = fuzz_setup();
    intake_verdict v;
    if (intake_validate(env, &fe->rules, FUZZ_NOW_MS, fe->arena, NULL, &v))
        fail_msg("%s: %s with %s was accepted", run->sample->name, path, what);
    if (v.reason != want)
        fail_msg("%s: %s with %s: reason %s, expected %s (%s)", run->sample->name, path, what,
                 intake_reason_label(v.reason), intake_reason_label(want), v.text);
    size_t n = strlen(path);
    if (strncmp(v.text, path, n) != 0 || !strchr(":[ ", v.text[n]))
        fail_msg("%s: %s with %s: text '%s' does not name the field", run->sample->name, path, what,
                 v.text);
    run->tried++;
}

static bool is_person_field(const char *name)
{
    return ends_with(name, "person_id") || ends_with(name, "person_ids");
}

/* Breaks the value at p (a field or an element of type f) in one of two
 * ways; returns the reason expected, or UNSPECIFIED when there is no way. */
static Doudi__RejectReason break_value(const ProtobufCFieldDescriptor *f, void *p, int variant,
                                       const char **what)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_ENUM:
        *(int *)p = variant ? -1 : 1000;
        *what = variant ? "-1" : "1000";
        return R(UNKNOWN_ENUM_VALUE);
    case PROTOBUF_C_TYPE_INT32:
        *(int32_t *)p = variant ? 1000000 : -1;
        *what = variant ? "1000000" : "-1";
        return R(VALUE_OUT_OF_RANGE);
    case PROTOBUF_C_TYPE_INT64:
        if (ends_with(f->name, "_fen")) {
            *(int64_t *)p = variant ? INT64_C(2000000000000000) : -1;
            *what = variant ? "2e15 fen" : "-1 fen";
            return variant ? R(VALUE_OUT_OF_RANGE) : R(NEGATIVE_MONEY);
        }
        *(int64_t *)p = variant ? INT64_C(300000000000000) : -1;
        *what = variant ? "3e14 ms" : "-1 ms";
        if (variant && strcmp(f->name, "occurred_at_ms") == 0)
            return R(TIME_IN_FUTURE);
        return R(VALUE_OUT_OF_RANGE);
    case PROTOBUF_C_TYPE_STRING: {
        char **s = p;
        if (is_person_field(f->name)) {
            *s = variant ? "1101051949123100" : "110105194912310020";
            *what = variant ? "16 digits" : "a wrong check character";
            return variant ? R(ID_BAD_LENGTH) : R(ID_BAD_CHECK);
        }
        if (strcmp(f->name, "region_code") == 0) {
            *s = variant ? "4401060010" : "440106001999";
            *what = variant ? "10 digits" : "an unknown code";
            return variant ? R(REGION_BAD_FORMAT) : R(REGION_UNKNOWN);
        }
        if (strcmp(f->name, "source") == 0) {
            *s = variant ? arena_string('s', 65) : "tax feed";
            *what = variant ? "65 bytes" : "a space";
            return variant ? R(FIELD_TOO_LONG) : R(BAD_CHARACTERS);
        }
        if (ends_with(f->name, "_id")) {
            *s = variant ? "bad\x01id" : arena_string('i', 65);
            *what = variant ? "a control byte" : "65 bytes";
            return variant ? R(BAD_CHARACTERS) : R(FIELD_TOO_LONG);
        }
        *s = variant ? "\xff" : arena_string('t', 513);
        *what = variant ? "byte 0xff" : "513 bytes";
        return variant ? R(BAD_CHARACTERS) : R(FIELD_TOO_LONG);
    }
    case PROTOBUF_C_TYPE_BOOL:
        return R(UNSPECIFIED); /* every value is valid */
    default:
        fail_msg("field %s has a type this test does not know", f->name);
    }
    return R(UNSPECIFIED);
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
    return oracle_type_size(f);
}

/* Where a target's value lives in env: the field, or its element. */
static char *target_value(Doudi__Envelope *env, const target *t, const ProtobufCFieldDescriptor **fd,
                          ProtobufCMessage **parent)
{
    ProtobufCMessage *m = target_parent(env, t);
    const step *last = &t->steps[t->n - 1];
    const ProtobufCFieldDescriptor *f = &m->descriptor->fields[last->field];
    char *p = (char *)m + f->offset;
    if (last->index >= 0)
        p = *(char **)p + (size_t)last->index * elem_size(f);
    *fd = f;
    if (parent)
        *parent = m;
    return p;
}

static void corrupt_target(corruption_run *run, const target *t)
{
    char path[256];
    const ProtobufCFieldDescriptor *f;
    ProtobufCMessage *m;
    for (int variant = 0; variant < 2; variant++) {
        Doudi__Envelope *env = decode_sample(run->sample);
        char *p = target_value(env, t, &f, NULL);
        target_path(env, t, path, sizeof(path));
        const char *what = "";
        Doudi__RejectReason want = break_value(f, p, variant, &what);
        if (want == R(UNSPECIFIED))
            break;
        expect_refusal(run, env, want, path, what);
    }
    /* A field the body needs, left empty. */
    Doudi__Envelope *env = decode_sample(run->sample);
    char *p = target_value(env, t, &f, &m);
    bool required = oracle_is_required(m->descriptor, f) ||
                    (strcmp(m->descriptor->name, "doudi.Application") == 0 &&
                     strcmp(f->name, "household_id") == 0);
    if (t->steps[t->n - 1].index >= 0)
        required = f->type == PROTOBUF_C_TYPE_STRING; /* an empty member id */
    if (!required)
        return;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        *(char **)p = "";
        break;
    case PROTOBUF_C_TYPE_INT64:
        *(int64_t *)p = 0;
        break;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_ENUM:
        *(int32_t *)p = 0;
        break;
    default:
        fail_msg("required field %s of an unexpected type", f->name);
    }
    target_path(env, t, path, sizeof(path));
    expect_refusal(run, env, R(MISSING_FIELD), path, "nothing");
}

/* One item more than the list's cap, all copies of its first item. */
static void overfill_list(corruption_run *run, const target *t)
{
    Doudi__Envelope *env = decode_sample(run->sample);
    const ProtobufCFieldDescriptor *f;
    ProtobufCMessage *m;
    char *p = target_value(env, t, &f, &m);
    size_t *count = (size_t *)((char *)m + f->quantifier_offset);
    size_t cap = strcmp(f->name, "member_person_ids") == 0 ? 64 : 32;
    size_t es = elem_size(f);
    char *old = *(char **)p;
    char *items = dd_arena_alloc(fuzz_setup()->arena, (cap + 1) * es);
    for (size_t k = 0; k <= cap; k++)
        memcpy(items + k * es, old, es);
    *(char **)p = items;
    *count = cap + 1;
    char path[256];
    target_path(env, t, path, sizeof(path));
    expect_refusal(run, env, R(FIELD_TOO_LONG), path, "one item too many");
}

/* The message a target leads to (the envelope for an empty target). */
static ProtobufCMessage *target_message(Doudi__Envelope *env, const target *t)
{
    target up = *t;
    up.n++; /* target_parent stops one step short */
    return up.n == 1 ? &env->base : target_parent(env, &up);
}

/* Gives the message t leads to an unknown field numbered 0 (what a padded
 * tag decodes to) and expects the event refused as undecodable, naming the
 * message. */
static void poison_message(corruption_run *run, const target *t)
{
    Doudi__Envelope *env = decode_sample(run->sample);
    ProtobufCMessage *m = target_message(env, t);
    ProtobufCMessageUnknownField *u = dd_arena_alloc(fuzz_setup()->arena, sizeof(*u));
    static uint8_t zero_byte[1];
    *u = (ProtobufCMessageUnknownField){.tag = 0, .wire_type = PROTOBUF_C_WIRE_TYPE_VARINT, .len = 1,
                                        .data = zero_byte};
    m->n_unknown_fields = 1;
    m->unknown_fields = u;
    char path[256];
    target_path(env, t, path, sizeof(path));
    expect_refusal(run, env, R(UNDECODABLE), t->n ? path : "event", "an unknown field 0");
}

static void walk_fields(corruption_run *run, const ProtobufCMessage *m, target *t)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    poison_message(run, t);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        assert_true(t->n < 6);
        t->steps[t->n++] = (step){i, -1};
        const char *p = base + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            if (n == 0)
                fail_msg("sample %s leaves list %s empty", run->sample->name, f->name);
            overfill_list(run, t);
            t->steps[t->n - 1].index = 0;
            if (f->type == PROTOBUF_C_TYPE_MESSAGE)
                walk_fields(run, (*(ProtobufCMessage *const *const *)p)[0], t);
            else
                corrupt_target(run, t);
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)p;
            if (!sub)
                fail_msg("sample %s leaves %s unset", run->sample->name, f->name);
            walk_fields(run, sub, t);
        } else {
            corrupt_target(run, t);
        }
        t->n--;
    }
}

static void test_every_field(void **state)
{
    (void)state;
    fuzz_setup();
    dd_arena *walk_arena = dd_arena_new(0);
    size_t total = 0;
    for (size_t i = 0; i < fuzz_n_samples; i++) {
        const fuzz_sample *s = &fuzz_samples[i];
        if (!s->full)
            continue;
        /* The walk reads its own copy; each corruption decodes afresh. */
        ProtobufCAllocator alloc = dd_arena_protobuf_allocator(walk_arena);
        Doudi__Envelope *env = doudi__envelope__unpack(&alloc, s->len, s->bytes);
        assert_non_null(env);
        corruption_run run = {.sample = s};
        target t = {.n = 0};
        walk_fields(&run, &env->base, &t);
        total += run.tried;
        dd_arena_reset(walk_arena);
    }
    dd_arena_destroy(&walk_arena);
    print_message("every-field corruptions refused: %zu\n", total);
    assert_true(total > 200);
}

/* ------------------------------------------------------------------------ */
/* 15-digit numbers                                                          */
/* ------------------------------------------------------------------------ */

static void test_fifteen_digit_upgrade(void **state)
{
    (void)state;
    fuzz_env *fe = fuzz_setup();
    intake_verdict v;
    bool rewritten = false;

    Doudi__Envelope *env = decode_sample(sample_of(DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED, true));
    /*
     * 110105 491231 002 becomes 110105 19491231 002 and a check character:
     * over 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2 with the weights
     * 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 the sum is 167, 167 mod 11 = 2,
     * "10X98765432"[2] = 'X'. 440524 800101 001: sum 196, 196 mod 11 = 9,
     * check '3'.
     */
    env->household_reported->member_person_ids[0] = "110105491231002";
    env->household_reported->member_person_ids[2] = "440524800101001";
    char *old_member1 = env->household_reported->member_person_ids[1];
    assert_true(intake_validate(env, &fe->rules, FUZZ_NOW_MS, fe->arena, &rewritten, &v));
    assert_true(rewritten);
    assert_string_equal(env->household_reported->member_person_ids[0], "11010519491231002X");
    assert_string_equal(env->household_reported->member_person_ids[2], "440524198001010013");
    assert_ptr_equal(env->household_reported->member_person_ids[1], old_member1); /* untouched */

    /* The re-packed event carries the 18-character numbers and is accepted
     * as it is. */
    size_t len = doudi__envelope__get_packed_size(env);
    uint8_t *bytes = dd_arena_alloc(fe->arena, len);
    doudi__envelope__pack(env, bytes);
    assert_non_null(memmem(bytes, len, "11010519491231002X", 18));
    assert_null(memmem(bytes, len, "110105491231002", 15));
    Doudi__Envelope *again = NULL;
    assert_true(intake_decode(bytes, len, &fe->rules, fe->arena, &again, &v));
    assert_string_equal(again->household_reported->member_person_ids[0], "11010519491231002X");
    assert_string_equal(again->household_reported->member_person_ids[2], "440524198001010013");
    rewritten = true;
    assert_true(intake_validate(again, &fe->rules, FUZZ_NOW_MS, fe->arena, &rewritten, &v));
    assert_false(rewritten);

    /* Every person field upgrades, in every body. */
    struct {
        Doudi__Envelope__BodyCase kind;
        size_t offset; /* of the char * in the body */
    } fields[] = {
        {DOUDI__ENVELOPE__BODY_PERSON_REPORTED, offsetof(Doudi__PersonReported, person_id)},
        {DOUDI__ENVELOPE__BODY_COMPARISON_RECORD, offsetof(Doudi__ComparisonRecord, subject_person_id)},
        {DOUDI__ENVELOPE__BODY_RISK_SIGNAL, offsetof(Doudi__RiskSignal, subject_person_id)},
        {DOUDI__ENVELOPE__BODY_APPLICATION, offsetof(Doudi__Application, applicant_person_id)},
        {DOUDI__ENVELOPE__BODY_ENROLMENT_CHANGE, offsetof(Doudi__EnrolmentChange, person_id)},
        {DOUDI__ENVELOPE__BODY_VISIT_REPORT, offsetof(Doudi__VisitReport, subject_person_id)},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        env = decode_sample(sample_of(fields[i].kind, true));
        char **field = (char **)((char *)env->person_reported + fields[i].offset);
        *field = "440524800101001";
        rewritten = false;
        assert_true(intake_validate(env, &fe->rules, FUZZ_NOW_MS, fe->arena, &rewritten, &v));
        assert_true(rewritten);
        assert_string_equal(*field, "440524198001010013");

        /* Refused under the other policy, with the reason saying so. */
        env = decode_sample(sample_of(fields[i].kind, true));
        field = (char **)((char *)env->person_reported + fields[i].offset);
        *field = "440524800101001";
        intake_rules rules = fe->rules;
        rules.id15 = INTAKE_ID15_REJECT;
        assert_false(intake_validate(env, &rules, FUZZ_NOW_MS, fe->arena, &rewritten, &v));
        assert_int_equal(v.reason, R(ID_FIFTEEN_DIGITS));
        assert_non_null(strstr(v.text, "must be sent in its 18-character form"));
        assert_non_null(strstr(v.text, "(440524*****1001)"));
        assert_false(rewritten);

        /* And with no arena to write into. */
        env = decode_sample(sample_of(fields[i].kind, true));
        field = (char **)((char *)env->person_reported + fields[i].offset);
        *field = "440524800101001";
        assert_false(intake_validate(env, &fe->rules, FUZZ_NOW_MS, NULL, NULL, &v));
        assert_int_equal(v.reason, R(ID_FIFTEEN_DIGITS));
    }
}

/* ------------------------------------------------------------------------ */
/* Labels                                                                    */
/* ------------------------------------------------------------------------ */

static void test_reason_labels(void **state)
{
    (void)state;
    assert_string_equal(intake_reason_label(R(UNDECODABLE)), "undecodable");
    assert_string_equal(intake_reason_label(R(REGION_UNKNOWN)), "region_unknown");
    assert_string_equal(intake_reason_label(R(ID_FIFTEEN_DIGITS)), "id_fifteen_digits");
    assert_string_equal(intake_reason_label(R(EVENT_TOO_LARGE)), "event_too_large");
    assert_string_equal(intake_reason_label(R(REQUEST_SHUTTING_DOWN)), "request_shutting_down");
    assert_string_equal(intake_reason_label(R(UNSPECIFIED)), "unspecified");
    assert_string_equal(intake_reason_label((Doudi__RejectReason)999), "unspecified");
    assert_string_equal(intake_reason_label((Doudi__RejectReason)-1), "unspecified");
    /* Every value has a distinct label of [a-z0-9_]. */
    const ProtobufCEnumDescriptor *d = &doudi__reject_reason__descriptor;
    for (unsigned i = 1; i < d->n_values; i++) {
        const char *a = intake_reason_label((Doudi__RejectReason)d->values[i].value);
        assert_true(strlen(a) > 0);
        for (const char *c = a; *c; c++)
            assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_');
        for (unsigned k = 1; k < i; k++)
            assert_string_not_equal(a, intake_reason_label((Doudi__RejectReason)d->values[k].value));
    }
}

/* ------------------------------------------------------------------------ */
/* Deterministic mutation fuzzing                                            */
/* ------------------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* splitmix64: a fixed seed gives the same run on every machine */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t rng_below(size_t n)
{
    return n ? (size_t)(rng() % n) : 0;
}

#define FUZZ_BUF 4096

/* One mutation of buf[0..len-1] in place; returns the new length. */
static size_t mutate(uint8_t *buf, size_t len)
{
    static const uint8_t interesting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x08, 0x22, 'X', '0'};
    switch (rng_below(9)) {
    case 0: /* flip a bit */
        if (len)
            buf[rng_below(len)] ^= (uint8_t)(1u << rng_below(8));
        return len;
    case 1: /* set a byte */
        if (len)
            buf[rng_below(len)] = (uint8_t)rng();
        return len;
    case 2: /* an interesting byte */
        if (len)
            buf[rng_below(len)] = interesting[rng_below(sizeof(interesting))];
        return len;
    case 3: /* truncate */
        return rng_below(len + 1);
    case 4: { /* insert bytes */
        size_t at = rng_below(len + 1), n = 1 + rng_below(8);
        if (len + n > FUZZ_BUF)
            return len;
        memmove(buf + at + n, buf + at, len - at);
        for (size_t i = 0; i < n; i++)
            buf[at + i] = rng_below(2) ? interesting[rng_below(sizeof(interesting))] : (uint8_t)rng();
        return len + n;
    }
    case 5: { /* delete bytes */
        if (!len)
            return len;
        size_t at = rng_below(len), n = 1 + rng_below(len - at < 8 ? len - at : 8);
        memmove(buf + at, buf + at + n, len - at - n);
        return len - n;
    }
    case 6: { /* duplicate a chunk (repeats fields) */
        if (!len)
            return len;
        size_t at = rng_below(len), n = 1 + rng_below(len - at);
        if (len + n > FUZZ_BUF)
            return len;
        size_t to = rng_below(len + 1);
        uint8_t chunk[FUZZ_BUF];
        memcpy(chunk, buf + at, n);
        memmove(buf + to + n, buf + to, len - to);
        memcpy(buf + to, chunk, n);
        return len + n;
    }
    case 7: { /* splice the tail of another sample (mixes bodies) */
        const fuzz_sample *o = &fuzz_samples[rng_below(fuzz_n_samples)];
        size_t at = rng_below(len + 1), from = rng_below(o->len + 1);
        size_t n = o->len - from;
        if (at + n > FUZZ_BUF)
            return len;
        memcpy(buf + at, o->bytes + from, n);
        return at + n;
    }
    default: { /* change a digit or a character of a string in place */
        if (!len)
            return len;
        size_t at = rng_below(len);
        if (buf[at] >= '0' && buf[at] <= '9')
            buf[at] = (uint8_t)('0' + rng_below(10));
        else
            buf[at] = (uint8_t)(0x20 + rng_below(0x60));
        return len;
    }
    }
}

/*
 * Structure-aware edits: decode a sample, set one field somewhere in it to
 * a value near a documented limit (or anything at all), encode it again.
 * Byte mutations mostly break the wire format; these reach every check.
 */
static char *edit_string(dd_arena *a, const char *old)
{
    static const char *const pool[] = {
        "", "a", "11010519491231002X", "11010519491231002x", "110105491231002",
        "110105194912310023", "440524800101001", "1101051949123100", "440106001001",
        "440106001000", "440106000000", "440106001999", "4401060010", "44010600100O",
        "tax-feed", "Tax", "\xff", "\xc3\xa9\xe4\xbd\x8f", "\xed\xa0\x80", "\xc0\xaf",
        "a\tb", "~", " ",
    };
    switch (rng_below(6)) {
    case 0:
    case 1:
        return (char *)pool[rng_below(sizeof(pool) / sizeof(pool[0]))];
    case 2: { /* a length near a limit */
        static const size_t lens[] = {63, 64, 65, 511, 512, 513};
        size_t len = lens[rng_below(6)];
        char *s = dd_arena_alloc(a, len + 1);
        memset(s, rng_below(2) ? 'a' : '1', len);
        s[len] = '\0';
        return s;
    }
    case 3: { /* random bytes, no NUL (a NUL cannot be encoded from C) */
        size_t len = rng_below(24);
        char *s = dd_arena_alloc(a, len + 1);
        for (size_t i = 0; i < len; i++)
            s[i] = (char)(1 + rng_below(255));
        s[len] = '\0';
        return s;
    }
    default: { /* the old value with one character changed */
        size_t len = old ? strlen(old) : 0;
        char *s = dd_arena_alloc(a, len + 1);
        memcpy(s, old ? old : "", len + 1);
        if (len) {
            size_t at = rng_below(len);
            s[at] = (s[at] >= '0' && s[at] <= '9') ? (char)('0' + rng_below(10)) : (char)(0x20 + rng_below(0x60));
        }
        return s;
    }
    }
}

static int64_t edit_int64(void)
{
    const int64_t skew = 5 * 60 * 1000, age = 400 * FUZZ_DAY_MS;
    const int64_t pool[] = {
        0, 1, -1, INT64_MIN, INT64_MAX, FUZZ_NOW_MS, FUZZ_NOW_MS + skew, FUZZ_NOW_MS + skew + 1,
        FUZZ_NOW_MS - age, FUZZ_NOW_MS - age - 1, INT64_C(1000000000000000),
        INT64_C(1000000000000001), INT64_C(253402300799999), INT64_C(253402300800000),
        FUZZ_NOW_MS - 30 * FUZZ_DAY_MS,
    };
    if (rng_below(4) == 0)
        return (int64_t)rng();
    return pool[rng_below(sizeof(pool) / sizeof(pool[0]))];
}

static int32_t edit_int32(void)
{
    const int32_t pool[] = {0,      1,      -1,     2,      4,      5,         100,       101,
                            10000,  10001,  202611, 202612, 202613, 190001,    189912,    202600,
                            999912, 1000001, INT32_MAX, INT32_MIN};
    if (rng_below(4) == 0)
        return (int32_t)rng();
    return pool[rng_below(sizeof(pool) / sizeof(pool[0]))];
}

static void edit_message(ProtobufCMessage *m, dd_arena *a, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (d->n_fields == 0)
        return;
    const ProtobufCFieldDescriptor *f = &d->fields[rng_below(d->n_fields)];
    char *base = (char *)m;
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(uint32_t *)(base + f->quantifier_offset) != f->id) {
        /* Switching the body kind is an edit too: clear it sometimes. */
        if (rng_below(8) == 0)
            *(uint32_t *)(base + f->quantifier_offset) = 0;
        return;
    }
    char *p = base + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t *count = (size_t *)(base + f->quantifier_offset);
        size_t es = oracle_type_size(f);
        if (*count == 0 || rng_below(3) == 0) {
            /* Resize around the cap, filling with copies of the first item
             * or fresh values. */
            static const size_t sizes[] = {0, 1, 31, 32, 33, 63, 64, 65};
            size_t n = sizes[rng_below(8)];
            if (*count == 0 && f->type == PROTOBUF_C_TYPE_MESSAGE)
                return;
            char *items = dd_arena_alloc(a, (n ? n : 1) * es);
            for (size_t k = 0; k < n; k++) {
                char *item = items + k * es;
                if (*count)
                    memcpy(item, *(char **)p, es);
                else if (f->type == PROTOBUF_C_TYPE_STRING)
                    *(char **)item = ID_A;
                else
                    *(int64_t *)item = edit_int64();
            }
            *(char **)p = items;
            *count = n;
            return;
        }
        p = *(char **)p + rng_below(*count) * es;
    }
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        *(char **)p = edit_string(a, *(char **)p);
        break;
    case PROTOBUF_C_TYPE_INT64:
        *(int64_t *)p = edit_int64();
        break;
    case PROTOBUF_C_TYPE_INT32:
        *(int32_t *)p = edit_int32();
        break;
    case PROTOBUF_C_TYPE_ENUM:
        *(int *)p = rng_below(4) == 0 ? (int)rng() : (int)rng_below(16) - 1;
        break;
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)p = !*(protobuf_c_boolean *)p;
        break;
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *sub = *(ProtobufCMessage **)p;
        if (!sub) {
            /* Add the absent message, empty. */
            const ProtobufCMessageDescriptor *sd = f->descriptor;
            sub = dd_arena_alloc(a, sd->sizeof_message);
            protobuf_c_message_init(sd, sub);
            *(ProtobufCMessage **)p = sub;
        } else if (depth < 4) {
            edit_message(sub, a, depth + 1);
        } else if (rng_below(4) == 0) {
            *(ProtobufCMessage **)p = NULL;
        }
        break;
    }
    default:
        break;
    }
}

/* A sample with 1 to 3 structured edits, encoded into buf. */
static size_t edited_sample(uint8_t *buf, dd_arena *a, const fuzz_sample *s)
{
    ProtobufCAllocator alloc = dd_arena_protobuf_allocator(a);
    Doudi__Envelope *env = doudi__envelope__unpack(&alloc, s->len, s->bytes);
    assert_non_null(env);
    unsigned edits = 1 + (unsigned)rng_below(3);
    for (unsigned e = 0; e < edits; e++)
        edit_message(&env->base, a, 0);
    size_t len = doudi__envelope__get_packed_size(env);
    if (len > FUZZ_BUF)
        return 0;
    return doudi__envelope__pack(env, buf);
}

static void test_mutation_fuzz(void **state)
{
    (void)state;
    fuzz_setup();
    rng_state = 20261122; /* fixed: every run tests the same inputs */
    const unsigned iterations = 100000;
    size_t outcomes[3] = {0};
    size_t reasons[64] = {0};
    uint8_t *buf = malloc(FUZZ_BUF);
    assert_non_null(buf);
    dd_arena *scratch = dd_arena_new(0);
    for (unsigned it = 0; it < iterations; it++) {
        const fuzz_sample *s = &fuzz_samples[it % fuzz_n_samples];
        size_t len;
        if (it % 2) {
            /* Half the inputs: edits of fields, sometimes then a byte
             * mutation on top. */
            dd_arena_reset(scratch);
            len = edited_sample(buf, scratch, s);
            if (rng_below(5) == 0)
                len = mutate(buf, len);
        } else {
            /* The other half: 1 to 4 byte mutations. */
            memcpy(buf, s->bytes, s->len);
            len = s->len;
            unsigned rounds = 1 + (unsigned)rng_below(4);
            for (unsigned r = 0; r < rounds; r++)
                len = mutate(buf, len);
        }
        Doudi__RejectReason reason;
        char why[512];
        int out = fuzz_one(buf, len, &reason, why, sizeof(why));
        if (out < 0) {
            char hex[3 * 256 + 1] = "";
            for (size_t i = 0; i < len && i < 256; i++)
                snprintf(hex + 3 * i, 4, "%02x ", buf[i]);
            fail_msg("iteration %u (from %s): %s\ninput: %s", it, s->name, why, hex);
        }
        outcomes[out]++;
        if ((int)reason >= 0 && (int)reason < 64)
            reasons[reason]++;
    }
    free(buf);
    dd_arena_destroy(&scratch);
    print_message("mutation fuzz: %u inputs, %zu undecodable, %zu refused, %zu accepted\n", iterations,
                  outcomes[FUZZ_UNDECODED], outcomes[FUZZ_REJECTED], outcomes[FUZZ_ACCEPTED]);
    size_t distinct = 0;
    for (int r = 1; r < 64; r++) {
        if (!reasons[r])
            continue;
        distinct++;
        print_message("  %-22s %zu\n", intake_reason_label((Doudi__RejectReason)r), reasons[r]);
    }
    /* The mutations must reach past the decoder into every kind of check,
     * and leave enough events valid that acceptance is exercised too. */
    assert_true(outcomes[FUZZ_ACCEPTED] > iterations / 20);
    assert_true(outcomes[FUZZ_REJECTED] > iterations / 5);
    assert_true(distinct >= 12);
}

/* How fast decode + validate runs (printed; the benchmark proper lives in
 * bench/). */
static void test_speed(void **state)
{
    (void)state;
    fuzz_env *fe = fuzz_setup();
    const unsigned n = 200000;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    unsigned accepted = 0;
    for (unsigned i = 0; i < n; i++) {
        const fuzz_sample *s = &fuzz_samples[i % fuzz_n_samples];
        if ((i & 255) == 0)
            dd_arena_reset(fe->arena); /* as per batch */
        Doudi__Envelope *env;
        intake_verdict v;
        if (intake_decode(s->bytes, s->len, &fe->rules, fe->arena, &env, &v) &&
            intake_validate(env, &fe->rules, FUZZ_NOW_MS, fe->arena, NULL, &v))
            accepted++;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    assert_int_equal(accepted, n);
    print_message("decode + validate: %.0f events/s on one core\n", n / secs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_are_valid),
        cmocka_unit_test(test_validate_allocates_nothing),
        cmocka_unit_test(test_limits_accepted),
        cmocka_unit_test(test_every_reason),
        cmocka_unit_test(test_every_field),
        cmocka_unit_test(test_fifteen_digit_upgrade),
        cmocka_unit_test(test_reason_labels),
        cmocka_unit_test(test_mutation_fuzz),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
