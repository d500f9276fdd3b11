/*
 * fuzz_validate.c: intake's decode and validate against arbitrary bytes.
 *
 * Three parts, used by two programs:
 *   - sample events of every body kind, one with every field set (and every
 *     list non-empty) and one with only what the body needs;
 *   - an oracle that judges an accepted event on its own, by walking the
 *     generated descriptors and applying event.proto's naming conventions
 *     (…person_id, …_fen, …_ms, …_id) to every field it finds. It shares no
 *     code path with validate.c's hand-written per-body checks, so a field
 *     the checks forget, or a field added to event.proto later, shows up as
 *     an accepted event the oracle refuses (or as an "unreviewed field");
 *   - fuzz_one(), which decodes and validates one input and holds the
 *     result to the oracle, the masking promise and a re-encode round trip.
 * LLVMFuzzerTestOneInput runs fuzz_one under libFuzzer (clang,
 * -DDOUDI_FUZZ=ON). tests/unit/test_validate.c includes this file and runs
 * the same fuzz_one over deterministic mutations of the samples, so every
 * CI build, gcc or not, holds the checks to the same oracle.
 *
 * Seed corpus: DOUDI_FUZZ_SEEDS=dir writes the samples into dir at start-up,
 * e.g. DOUDI_FUZZ_SEEDS=corpus ./fuzz_validate corpus -max_total_time=60
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "diag.h"
#include "divisions.h"
#include "idnum.h"
#include "validate.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2026-11-22T09:30:00+08:00: the fixed "now" of every judgement here. */
#define FUZZ_NOW_MS INT64_C(1795311000000)
#define FUZZ_HOUR_MS INT64_C(3600000)
#define FUZZ_DAY_MS (24 * FUZZ_HOUR_MS)

/* Valid identity numbers (check characters computed with ISO 7064). */
#define ID_A "11010519491231002X"
#define ID_B "440524188001010014"
#define ID_C "440524198001010013"
#define ID_D "440106195001010023"
#define ID_E "440106201506010035"

/* ------------------------------------------------------------------------ */
/* Samples                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct fuzz_sample {
    const char *name;
    Doudi__Envelope__BodyCase kind;
    bool full; /* every field set, every list non-empty */
    uint8_t *bytes;
    size_t len;
} fuzz_sample;

#define FUZZ_MAX_SAMPLES 24
static fuzz_sample fuzz_samples[FUZZ_MAX_SAMPLES];
static size_t fuzz_n_samples;

static void fuzz_add_sample(const char *name, bool full, const Doudi__Envelope *e)
{
    if (fuzz_n_samples == FUZZ_MAX_SAMPLES)
        abort();
    size_t len = doudi__envelope__get_packed_size(e);
    uint8_t *bytes = dd_malloc(len ? len : 1);
    doudi__envelope__pack(e, bytes);
    fuzz_samples[fuzz_n_samples++] = (fuzz_sample){name, e->body_case, full, bytes, len};
}

static void fuzz_envelope(Doudi__Envelope *e, char *event_id, Doudi__Envelope__BodyCase kind)
{
    doudi__envelope__init(e);
    e->event_id = event_id;
    e->source = "assistance-portal";
    e->occurred_at_ms = FUZZ_NOW_MS - FUZZ_HOUR_MS;
    e->region_code = "440106001001";
    e->body_case = kind;
}

static void fuzz_sample_person(void)
{
    Doudi__Envelope e;
    Doudi__DailyLiving dl = DOUDI__DAILY_LIVING__INIT;
    dl.eating = DOUDI__ADL_ABILITY__ADL_ABILITY_INDEPENDENT;
    dl.dressing = DOUDI__ADL_ABILITY__ADL_ABILITY_NEEDS_HELP;
    dl.getting_in_out_of_bed = DOUDI__ADL_ABILITY__ADL_ABILITY_NEEDS_HELP;
    dl.toileting = DOUDI__ADL_ABILITY__ADL_ABILITY_DEPENDENT;
    dl.walking_indoors = DOUDI__ADL_ABILITY__ADL_ABILITY_INDEPENDENT;
    dl.bathing = DOUDI__ADL_ABILITY__ADL_ABILITY_DEPENDENT;
    Doudi__PersonReported p = DOUDI__PERSON_REPORTED__INIT;
    p.person_id = ID_A;
    p.household_id = "hh-440106001001-0007";
    p.disability_grade = 2;
    p.disability_type = DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_PHYSICAL;
    p.daily_living = &dl;
    p.living_arrangement = DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_ALONE;
    p.family_planning_special = DOUDI__FAMILY_PLANNING_SPECIAL__FAMILY_PLANNING_SPECIAL_NONE;
    p.work_ability = DOUDI__WORK_ABILITY__WORK_ABILITY_UNABLE;
    p.legal_supporter = DOUDI__LEGAL_SUPPORTER__LEGAL_SUPPORTER_NONE;
    p.own_monthly_income_fen = 85000;
    p.main_earner = 1;
    p.child_in_difficulty = 1;
    p.life_threatening_condition = 1;
    p.died_at_ms = FUZZ_NOW_MS - 2 * FUZZ_DAY_MS;
    fuzz_envelope(&e, "person-full-1", DOUDI__ENVELOPE__BODY_PERSON_REPORTED);
    e.person_reported = &p;
    fuzz_add_sample("person_reported full", true, &e);

    Doudi__PersonReported m = DOUDI__PERSON_REPORTED__INIT;
    m.person_id = ID_B;
    m.household_id = "h";
    fuzz_envelope(&e, "p", DOUDI__ENVELOPE__BODY_PERSON_REPORTED);
    e.person_reported = &m;
    fuzz_add_sample("person_reported minimal", false, &e);
}

static void fuzz_sample_household(void)
{
    Doudi__Envelope e;
    char *members[] = {ID_A, ID_B, ID_C, ID_D};
    Doudi__Income wages = DOUDI__INCOME__INIT, pension = DOUDI__INCOME__INIT;
    wages.kind = DOUDI__INCOME_KIND__INCOME_KIND_WAGES;
    wages.monthly_fen = 210000;
    pension.kind = DOUDI__INCOME_KIND__INCOME_KIND_PENSION;
    pension.monthly_fen = 0;
    Doudi__Income *incomes[] = {&wages, &pension};
    int64_t vehicles[] = {3500000, 0};
    Doudi__RigidSpending rs = DOUDI__RIGID_SPENDING__INIT;
    rs.medical_fen = 1200000;
    rs.education_fen = 300000;
    rs.disability_rehabilitation_fen = 50000;
    Doudi__HouseholdReported h = DOUDI__HOUSEHOLD_REPORTED__INIT;
    h.household_id = "hh-440106001001-0007";
    h.urban_rural = DOUDI__URBAN_RURAL__URBAN_RURAL_RURAL;
    h.n_member_person_ids = 4;
    h.member_person_ids = members;
    h.n_incomes = 2;
    h.incomes = incomes;
    h.financial_assets_fen = 1500000;
    h.dwellings = 1;
    h.n_vehicle_values_fen = 2;
    h.vehicle_values_fen = vehicles;
    h.rigid_spending_12_months = &rs;
    h.merged_into_household_id = "hh-440106001001-0001";
    h.dissolved = 1;
    fuzz_envelope(&e, "household-full-1", DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED);
    e.household_reported = &h;
    fuzz_add_sample("household_reported full", true, &e);

    Doudi__HouseholdReported m = DOUDI__HOUSEHOLD_REPORTED__INIT;
    m.household_id = "hh-2";
    fuzz_envelope(&e, "household-min-1", DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED);
    e.household_reported = &m;
    fuzz_add_sample("household_reported minimal", false, &e);
}

static void fuzz_sample_comparison(void)
{
    Doudi__Envelope e;
    Doudi__ComparisonRecord__IncomeFinding income = DOUDI__COMPARISON_RECORD__INCOME_FINDING__INIT;
    income.monthly_income_fen = 180000;
    Doudi__ComparisonRecord__EmploymentFinding emp = DOUDI__COMPARISON_RECORD__EMPLOYMENT_FINDING__INIT;
    emp.registered_unemployed = 1;
    emp.receiving_pension = 1;
    emp.monthly_pension_fen = 160000;
    Doudi__ComparisonRecord__PropertyFinding prop = DOUDI__COMPARISON_RECORD__PROPERTY_FINDING__INIT;
    prop.dwellings = 2;
    int64_t vehicle_values[] = {4200000, 900000, 0};
    Doudi__ComparisonRecord__VehicleFinding veh = DOUDI__COMPARISON_RECORD__VEHICLE_FINDING__INIT;
    veh.n_vehicle_values_fen = 3;
    veh.vehicle_values_fen = vehicle_values;
    Doudi__ComparisonRecord__AssetFinding assets = DOUDI__COMPARISON_RECORD__ASSET_FINDING__INIT;
    assets.financial_assets_fen = 2300000;
    Doudi__ComparisonRecord__MedicalStayFinding stay = DOUDI__COMPARISON_RECORD__MEDICAL_STAY_FINDING__INIT;
    stay.self_pay_fen = 780000;
    stay.admitted_at_ms = FUZZ_NOW_MS - 20 * FUZZ_DAY_MS;
    stay.discharged_at_ms = FUZZ_NOW_MS - 5 * FUZZ_DAY_MS;
    Doudi__ComparisonRecord__SchoolingFinding school = DOUDI__COMPARISON_RECORD__SCHOOLING_FINDING__INIT;
    school.enrolled = 1;
    school.yearly_fees_fen = 600000;
    Doudi__ComparisonRecord__DisabilityFinding dis = DOUDI__COMPARISON_RECORD__DISABILITY_FINDING__INIT;
    dis.disability_grade = 1;
    dis.disability_type = DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_INTELLECTUAL;
    Doudi__ComparisonRecord__DeathFinding death = DOUDI__COMPARISON_RECORD__DEATH_FINDING__INIT;
    death.died_at_ms = FUZZ_NOW_MS - 3 * FUZZ_DAY_MS;
    Doudi__ComparisonRecord c = DOUDI__COMPARISON_RECORD__INIT;
    c.subject_person_id = ID_C;
    c.department = DOUDI__DEPARTMENT__DEPARTMENT_MEDICAL_INSURANCE;
    c.period_yyyymm = 202610;
    c.income = &income;
    c.employment = &emp;
    c.property = &prop;
    c.vehicles = &veh;
    c.assets = &assets;
    c.medical_stay = &stay;
    c.schooling = &school;
    c.disability = &dis;
    c.death = &death;
    fuzz_envelope(&e, "tax-2026-10-000001", DOUDI__ENVELOPE__BODY_COMPARISON_RECORD);
    e.source = "medical-insurance.feed";
    e.comparison_record = &c;
    fuzz_add_sample("comparison_record full", true, &e);

    Doudi__ComparisonRecord m = DOUDI__COMPARISON_RECORD__INIT;
    m.subject_person_id = ID_D;
    m.department = DOUDI__DEPARTMENT__DEPARTMENT_TAX;
    m.period_yyyymm = 202611;
    fuzz_envelope(&e, "tax-2026-11-000002", DOUDI__ENVELOPE__BODY_COMPARISON_RECORD);
    e.source = "tax-feed";
    e.comparison_record = &m;
    fuzz_add_sample("comparison_record minimal", false, &e);
}

static void fuzz_sample_risk(void)
{
    Doudi__Envelope e;
    Doudi__RiskSignal r = DOUDI__RISK_SIGNAL__INIT;
    r.subject_person_id = ID_D;
    r.household_id = "hh-440106001001-0009";
    r.kind = DOUDI__RISK_KIND__RISK_KIND_LARGE_MEDICAL_SELF_PAY;
    r.amount_fen = 820000;
    r.description = "\xe4\xbd\x8f\xe9\x99\xa2\xe8\x87\xaa\xe4\xbb\x98 8200 \xe5\x85\x83"; /* UTF-8 */
    fuzz_envelope(&e, "risk-1", DOUDI__ENVELOPE__BODY_RISK_SIGNAL);
    e.region_code = "441203104026";
    e.risk_signal = &r;
    fuzz_add_sample("risk_signal full", true, &e);

    Doudi__RiskSignal m = DOUDI__RISK_SIGNAL__INIT;
    m.subject_person_id = ID_E;
    m.kind = DOUDI__RISK_KIND__RISK_KIND_FIRE;
    fuzz_envelope(&e, "risk-2", DOUDI__ENVELOPE__BODY_RISK_SIGNAL);
    e.risk_signal = &m;
    fuzz_add_sample("risk_signal minimal", false, &e);
}

static void fuzz_sample_application(void)
{
    Doudi__Envelope e;
    Doudi__Application a = DOUDI__APPLICATION__INIT;
    a.application_id = "app-2026-000123";
    a.applicant_person_id = ID_B;
    a.household_id = "hh-440106001001-0007";
    a.program = DOUDI__PROGRAM__PROGRAM_DIBAO;
    a.requested_amount_fen = 95000;
    a.description = "house fire on 2026-11-20";
    fuzz_envelope(&e, "application-1", DOUDI__ENVELOPE__BODY_APPLICATION);
    e.application = &a;
    fuzz_add_sample("application full", true, &e);

    /* Temporary assistance needs no household. */
    Doudi__Application m = DOUDI__APPLICATION__INIT;
    m.application_id = "a";
    m.applicant_person_id = ID_C;
    m.program = DOUDI__PROGRAM__PROGRAM_TEMP;
    fuzz_envelope(&e, "application-2", DOUDI__ENVELOPE__BODY_APPLICATION);
    e.application = &m;
    fuzz_add_sample("application minimal", false, &e);
}

static void fuzz_sample_enrolment(void)
{
    Doudi__Envelope e;
    Doudi__EnrolmentChange c = DOUDI__ENROLMENT_CHANGE__INIT;
    c.person_id = ID_A;
    c.household_id = "hh-440106001001-0007";
    c.program = DOUDI__PROGRAM__PROGRAM_TEKUN;
    c.action = DOUDI__ENROLMENT_ACTION__ENROLMENT_ACTION_ENROLLED;
    c.monthly_amount_fen = 143000;
    c.effective_at_ms = FUZZ_NOW_MS + 9 * FUZZ_DAY_MS; /* next month */
    c.decided_by_worker_id = "w-440106-017";
    c.reason = "no supporter; age 76";
    fuzz_envelope(&e, "enrol-1", DOUDI__ENVELOPE__BODY_ENROLMENT_CHANGE);
    e.source = "case-system";
    e.enrolment_change = &c;
    fuzz_add_sample("enrolment_change full", true, &e);

    Doudi__EnrolmentChange m = DOUDI__ENROLMENT_CHANGE__INIT;
    m.person_id = ID_B;
    m.program = DOUDI__PROGRAM__PROGRAM_AGE;
    m.action = DOUDI__ENROLMENT_ACTION__ENROLMENT_ACTION_REVIEW_CONFIRMED;
    m.decided_by_worker_id = "w";
    fuzz_envelope(&e, "enrol-2", DOUDI__ENVELOPE__BODY_ENROLMENT_CHANGE);
    e.enrolment_change = &m;
    fuzz_add_sample("enrolment_change minimal", false, &e);
}

static void fuzz_sample_visit(void)
{
    Doudi__Envelope e;
    Doudi__VisitFinding f1 = DOUDI__VISIT_FINDING__INIT, f2 = DOUDI__VISIT_FINDING__INIT;
    f1.area = DOUDI__FINDING_AREA__FINDING_AREA_HOME_GAS;
    f1.severity = DOUDI__FINDING_SEVERITY__FINDING_SEVERITY_DANGER;
    f1.note = "gas hose cracked; valve closed, family told";
    f2.area = DOUDI__FINDING_AREA__FINDING_AREA_MENTAL_STATE;
    f2.severity = DOUDI__FINDING_SEVERITY__FINDING_SEVERITY_OK;
    f2.note = "";
    Doudi__VisitFinding *findings[] = {&f1, &f2};
    Doudi__VisitReport v = DOUDI__VISIT_REPORT__INIT;
    v.visit_id = "visit-7f3a";
    v.subject_person_id = ID_B;
    v.worker_id = "w-440106-017";
    v.visited_at_ms = FUZZ_NOW_MS - 2 * FUZZ_HOUR_MS;
    v.outcome = DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_VISITED;
    v.n_findings = 2;
    v.findings = findings;
    fuzz_envelope(&e, "visit-1", DOUDI__ENVELOPE__BODY_VISIT_REPORT);
    e.source = "visit-app";
    e.visit_report = &v;
    fuzz_add_sample("visit_report full", true, &e);

    Doudi__VisitReport m = DOUDI__VISIT_REPORT__INIT;
    m.visit_id = "v";
    m.subject_person_id = ID_A;
    m.worker_id = "w";
    m.visited_at_ms = FUZZ_NOW_MS - FUZZ_HOUR_MS;
    m.outcome = DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_NOT_AT_HOME;
    fuzz_envelope(&e, "visit-2", DOUDI__ENVELOPE__BODY_VISIT_REPORT);
    e.visit_report = &m;
    fuzz_add_sample("visit_report minimal", false, &e);
}

static void fuzz_sample_roster(void)
{
    Doudi__Envelope e;
    Doudi__RosterChange r = DOUDI__ROSTER_CHANGE__INIT;
    r.worker_id = "w-440106-017";
    r.action = DOUDI__ROSTER_ACTION__ROSTER_ACTION_JOINED;
    r.role = DOUDI__WORKER_ROLE__WORKER_ROLE_VILLAGE_ASSISTANT;
    r.monthly_visit_capacity = 120;
    fuzz_envelope(&e, "roster-1", DOUDI__ENVELOPE__BODY_ROSTER_CHANGE);
    e.roster_change = &r;
    fuzz_add_sample("roster_change full", true, &e);

    Doudi__RosterChange m = DOUDI__ROSTER_CHANGE__INIT;
    m.worker_id = "w2";
    m.action = DOUDI__ROSTER_ACTION__ROSTER_ACTION_LEFT;
    m.role = DOUDI__WORKER_ROLE__WORKER_ROLE_CHILDREN_DIRECTOR;
    fuzz_envelope(&e, "roster-2", DOUDI__ENVELOPE__BODY_ROSTER_CHANGE);
    e.roster_change = &m;
    fuzz_add_sample("roster_change minimal", false, &e);
}

static void fuzz_sample_ack(void)
{
    Doudi__Envelope e;
    Doudi__AlertAcknowledgement a = DOUDI__ALERT_ACKNOWLEDGEMENT__INIT;
    a.alert_id = "alert-000000000042";
    a.action = DOUDI__ACKNOWLEDGEMENT_ACTION__ACKNOWLEDGEMENT_ACTION_ACKNOWLEDGED;
    a.by_worker_id = "w-440106-001";
    a.note = "township station takes it";
    fuzz_envelope(&e, "ack-1", DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT);
    e.region_code = "440106001000"; /* the township office */
    e.alert_acknowledgement = &a;
    fuzz_add_sample("alert_acknowledgement full", true, &e);

    Doudi__AlertAcknowledgement m = DOUDI__ALERT_ACKNOWLEDGEMENT__INIT;
    m.alert_id = "alert-43";
    m.action = DOUDI__ACKNOWLEDGEMENT_ACTION__ACKNOWLEDGEMENT_ACTION_RESOLVED;
    fuzz_envelope(&e, "ack-2", DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT);
    e.alert_acknowledgement = &m;
    fuzz_add_sample("alert_acknowledgement minimal", false, &e);
}

static void fuzz_build_samples(void)
{
    if (fuzz_n_samples)
        return;
    fuzz_sample_person();
    fuzz_sample_household();
    fuzz_sample_comparison();
    fuzz_sample_risk();
    fuzz_sample_application();
    fuzz_sample_enrolment();
    fuzz_sample_visit();
    fuzz_sample_roster();
    fuzz_sample_ack();
}

/* ------------------------------------------------------------------------ */
/* The oracle                                                                */
/* ------------------------------------------------------------------------ */

typedef struct fuzz_oracle {
    const intake_rules *rules;
    int64_t now_ms;
    bool office_region; /* alert acknowledgements may name an area */
    char why[300];
} fuzz_oracle;

static bool oracle_fail(fuzz_oracle *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool oracle_fail(fuzz_oracle *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->why, sizeof(o->why), fmt, ap);
    va_end(ap);
    return false;
}

/* "Message.field" pairs the bodies need (event.proto and validate.h). */
static const char *const oracle_required[] = {
    "doudi.Envelope.event_id",
    "doudi.Envelope.source",
    "doudi.Envelope.occurred_at_ms",
    "doudi.Envelope.region_code",
    "doudi.PersonReported.person_id",
    "doudi.PersonReported.household_id",
    "doudi.HouseholdReported.household_id",
    "doudi.ComparisonRecord.subject_person_id",
    "doudi.ComparisonRecord.department",
    "doudi.ComparisonRecord.period_yyyymm",
    "doudi.RiskSignal.subject_person_id",
    "doudi.RiskSignal.kind",
    "doudi.Application.application_id",
    "doudi.Application.applicant_person_id",
    "doudi.Application.program",
    "doudi.EnrolmentChange.person_id",
    "doudi.EnrolmentChange.program",
    "doudi.EnrolmentChange.action",
    "doudi.EnrolmentChange.decided_by_worker_id",
    "doudi.VisitReport.visit_id",
    "doudi.VisitReport.subject_person_id",
    "doudi.VisitReport.worker_id",
    "doudi.VisitReport.visited_at_ms",
    "doudi.VisitReport.outcome",
    "doudi.VisitFinding.area",
    "doudi.VisitFinding.severity",
    "doudi.RosterChange.worker_id",
    "doudi.RosterChange.action",
    "doudi.RosterChange.role",
    "doudi.AlertAcknowledgement.alert_id",
    "doudi.AlertAcknowledgement.action",
};

static bool oracle_is_required(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f)
{
    size_t dn = strlen(d->name);
    for (size_t i = 0; i < sizeof(oracle_required) / sizeof(oracle_required[0]); i++) {
        const char *r = oracle_required[i];
        if (strncmp(r, d->name, dn) == 0 && r[dn] == '.' && strcmp(r + dn + 1, f->name) == 0)
            return true;
    }
    return false;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* UTF-8 by decoding code points and checking each against the range its
 * length may encode (a different method from validate.c's byte tables). */
static bool oracle_utf8(const unsigned char *s, size_t len)
{
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t i = 0;
    while (i < len) {
        unsigned char b = s[i];
        size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > len)
            return false;
        uint32_t cp = n == 1 ? b : (uint32_t)(b & (0x7f >> n));
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (n > 1 && cp < min_for_len[n])
            return false;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n;
    }
    return true;
}

static bool oracle_message(fuzz_oracle *o, const ProtobufCMessage *m, const char *path);

static bool oracle_string(fuzz_oracle *o, const ProtobufCFieldDescriptor *f, const char *s,
                          bool required, const char *path)
{
    size_t len = s ? strlen(s) : 0;
    if (len == 0)
        return required ? oracle_fail(o, "%s: required but empty", path) : true;
    if (ends_with(f->name, "person_id") || ends_with(f->name, "person_ids")) {
        int32_t today = dd_date_yyyymmdd_shanghai(o->now_ms);
        dd_idnum_status st = dd_idnum_check(s, len, today, NULL);
        return st == DD_IDNUM_OK ? true : oracle_fail(o, "%s: identity number status %d", path, st);
    }
    if (strcmp(f->name, "region_code") == 0) {
        if (!dd_region_code_well_formed(s, len))
            return oracle_fail(o, "%s: not 12 digits", path);
        const dd_divisions *d = o->rules->divisions;
        bool known = o->office_region ? dd_divisions_contains_area(d, s) : dd_divisions_contains(d, s);
        return known ? true : oracle_fail(o, "%s: %s not in the table", path, s);
    }
    if (strcmp(f->name, "source") == 0) {
        if (len > 64)
            return oracle_fail(o, "%s: %zu bytes", path, len);
        for (size_t i = 0; i < len; i++)
            if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789._-", s[i]))
                return oracle_fail(o, "%s: bad byte 0x%02x", path, (unsigned char)s[i]);
        return true;
    }
    if (ends_with(f->name, "_id")) {
        if (len > 64)
            return oracle_fail(o, "%s: %zu bytes", path, len);
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
                return oracle_fail(o, "%s: bad byte 0x%02x", path, (unsigned char)s[i]);
        return true;
    }
    if (strcmp(f->name, "description") == 0 || strcmp(f->name, "note") == 0 ||
        strcmp(f->name, "reason") == 0) {
        if (len > 512)
            return oracle_fail(o, "%s: %zu bytes", path, len);
        return oracle_utf8((const unsigned char *)s, len) ? true
                                                          : oracle_fail(o, "%s: not UTF-8", path);
    }
    return oracle_fail(o, "%s: string field nobody reviewed", path);
}

static bool oracle_int32(fuzz_oracle *o, const ProtobufCFieldDescriptor *f, int32_t v, bool required,
                         const char *path)
{
    if (v == 0 && required)
        return oracle_fail(o, "%s: required but 0", path);
    if (strcmp(f->name, "disability_grade") == 0)
        return v >= 0 && v <= 4 ? true : oracle_fail(o, "%s: %d", path, v);
    if (strcmp(f->name, "dwellings") == 0)
        return v >= 0 && v <= 100 ? true : oracle_fail(o, "%s: %d", path, v);
    if (strcmp(f->name, "monthly_visit_capacity") == 0)
        return v >= 0 && v <= 10000 ? true : oracle_fail(o, "%s: %d", path, v);
    if (ends_with(f->name, "_yyyymm")) {
        int32_t latest = dd_date_yyyymmdd_shanghai(o->now_ms + o->rules->max_future_skew_ms) / 100;
        bool ok = v >= 190001 && v % 100 >= 1 && v % 100 <= 12 && v <= latest;
        return ok ? true : oracle_fail(o, "%s: %d", path, v);
    }
    return oracle_fail(o, "%s: int32 field nobody reviewed", path);
}

static bool oracle_int64(fuzz_oracle *o, const ProtobufCFieldDescriptor *f, int64_t v, bool required,
                         const char *path)
{
    if (v == 0 && required)
        return oracle_fail(o, "%s: required but 0", path);
    if (ends_with(f->name, "_fen"))
        return v >= 0 && v <= INT64_C(1000000000000000) ? true
                                                         : oracle_fail(o, "%s: %lld", path, (long long)v);
    if (ends_with(f->name, "_ms")) {
        if (v < 0 || v > INT64_C(253402300799999))
            return oracle_fail(o, "%s: %lld", path, (long long)v);
        int64_t latest = o->now_ms + o->rules->max_future_skew_ms;
        if (strcmp(f->name, "occurred_at_ms") == 0) {
            if (v > latest || (o->rules->max_age_ms > 0 && v < o->now_ms - o->rules->max_age_ms))
                return oracle_fail(o, "%s: %lld outside the window", path, (long long)v);
        } else if (strcmp(f->name, "effective_at_ms") != 0) {
            /* Everything else records something that has happened. */
            if (v > latest)
                return oracle_fail(o, "%s: %lld in the future", path, (long long)v);
        }
        return true;
    }
    return oracle_fail(o, "%s: int64 field nobody reviewed", path);
}

static bool oracle_value(fuzz_oracle *o, const ProtobufCFieldDescriptor *f, const void *p,
                         bool required, const char *path)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        if (v == 0)
            return required ? oracle_fail(o, "%s: required enum is 0", path) : true;
        return protobuf_c_enum_descriptor_get_value(f->descriptor, v)
                   ? true
                   : oracle_fail(o, "%s: %d is not defined", path, v);
    }
    case PROTOBUF_C_TYPE_INT32:
        return oracle_int32(o, f, *(const int32_t *)p, required, path);
    case PROTOBUF_C_TYPE_INT64:
        return oracle_int64(o, f, *(const int64_t *)p, required, path);
    case PROTOBUF_C_TYPE_BOOL:
        return true;
    case PROTOBUF_C_TYPE_STRING:
        return oracle_string(o, f, *(char *const *)p, required, path);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)p;
        if (!sub)
            return required ? oracle_fail(o, "%s: required message absent", path) : true;
        return oracle_message(o, sub, path);
    }
    default:
        return oracle_fail(o, "%s: field type %d nobody reviewed", path, (int)f->type);
    }
}

static size_t oracle_type_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
        return sizeof(int64_t);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    default:
        return sizeof(int32_t);
    }
}

static bool oracle_message(fuzz_oracle *o, const ProtobufCMessage *m, const char *path)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    char sub[256];
    bool any_oneof = false, oneof_set = false;
    /* Unknown fields may be kept, but only with numbers protobuf allows. */
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0 || m->unknown_fields[i].tag >= (1u << 29))
            return oracle_fail(o, "%s: unknown field number %u", *path ? path : "envelope",
                               m->unknown_fields[i].tag);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", f->name);
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            any_oneof = true;
            if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
                continue;
            oneof_set = true;
        }
        bool required = oracle_is_required(d, f);
        /* Temporary assistance is the one program without a household. */
        if (strcmp(d->name, "doudi.Application") == 0 && strcmp(f->name, "household_id") == 0)
            required = ((const Doudi__Application *)m)->program != DOUDI__PROGRAM__PROGRAM_TEMP;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            size_t cap = strcmp(f->name, "member_person_ids") == 0 ? 64 : 32;
            if (n > cap)
                return oracle_fail(o, "%s: %zu items", sub, n);
            const char *arr = *(const char *const *)(base + f->offset);
            for (size_t k = 0; k < n; k++) {
                char el[272];
                snprintf(el, sizeof(el), "%s[%zu]", sub, k);
                /* An element is there to say something: an empty string or
                 * a missing message is refused, a 0 amount is not. */
                bool needed = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;
                if (!oracle_value(o, f, arr + k * oracle_type_size(f), needed, el))
                    return false;
            }
        } else if (!oracle_value(o, f, base + f->offset, required, sub)) {
            return false;
        }
    }
    if (any_oneof && !oneof_set)
        return oracle_fail(o, "%s: no body", *path ? path : "envelope");
    if (strcmp(d->name, "doudi.ComparisonRecord.MedicalStayFinding") == 0) {
        const Doudi__ComparisonRecord__MedicalStayFinding *s = (const void *)m;
        if (s->discharged_at_ms != 0 && s->discharged_at_ms < s->admitted_at_ms)
            return oracle_fail(o, "%s: discharged before admitted", path);
    }
    return true;
}

/* Whether an accepted envelope honours every documented rule. */
static bool fuzz_oracle_accepts(const Doudi__Envelope *env, const intake_rules *rules, int64_t now_ms,
                                char *why, size_t why_cap)
{
    fuzz_oracle o = {.rules = rules, .now_ms = now_ms};
    /* The region rule depends on the body, which comes later in the walk. */
    o.office_region = env->body_case == DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT;
    bool ok = oracle_message(&o, &env->base, "");
    if (!ok)
        snprintf(why, why_cap, "%s", o.why);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* One input                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct fuzz_env {
    dd_divisions *divisions;
    dd_arena *arena;
    intake_rules rules;
} fuzz_env;

static fuzz_env *fuzz_setup(void)
{
    static fuzz_env env;
    if (!env.arena) {
        env.divisions = dd_divisions_demo();
        env.arena = dd_arena_new(0);
        env.rules = (intake_rules){
            .max_event_bytes = 64 * 1024,
            .max_future_skew_ms = 5 * 60 * 1000,
            .max_age_ms = 400 * FUZZ_DAY_MS,
            .id15 = INTAKE_ID15_UPGRADE,
            .divisions = env.divisions,
        };
        fuzz_build_samples();
    }
    return &env;
}

typedef enum { FUZZ_UNDECODED, FUZZ_REJECTED, FUZZ_ACCEPTED } fuzz_outcome;

/* What a refusal text must look like: printable ASCII, no whole identity
 * number. */
static bool fuzz_text_ok(const intake_verdict *v, char *why, size_t why_cap)
{
    size_t len = strnlen(v->text, sizeof(v->text));
    if (len == 0 || len == sizeof(v->text)) {
        snprintf(why, why_cap, "reason %d with an empty or unterminated text", (int)v->reason);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)v->text[i];
        if (b < 0x20 || b > 0x7e) {
            snprintf(why, why_cap, "text has byte 0x%02x: %s", b, v->text);
            return false;
        }
    }
    char copy[sizeof(v->text)];
    memcpy(copy, v->text, len + 1);
    if (dd_diag_mask_identity_numbers(copy) != 0) {
        snprintf(why, why_cap, "text shows an identity number: %s", v->text);
        return false;
    }
    return true;
}

/*
 * Decodes and validates data, and checks the outcome. Returns the outcome,
 * or -1 with why[] filled when a promise is broken. *reason gets the
 * refusal reason (UNSPECIFIED when accepted).
 */
static int fuzz_one(const uint8_t *data, size_t size, Doudi__RejectReason *reason, char *why,
                    size_t why_cap)
{
    fuzz_env *fe = fuzz_setup();
    dd_arena_reset(fe->arena);
    intake_verdict v;
    Doudi__Envelope *env = NULL;
    *reason = DOUDI__REJECT_REASON__REJECT_REASON_UNSPECIFIED;
    if (!intake_decode(data, size, &fe->rules, fe->arena, &env, &v)) {
        *reason = v.reason;
        if (env != NULL || v.reason == DOUDI__REJECT_REASON__REJECT_REASON_UNSPECIFIED) {
            snprintf(why, why_cap, "decode refused without a reason");
            return -1;
        }
        return fuzz_text_ok(&v, why, why_cap) ? FUZZ_UNDECODED : -1;
    }
    bool rewritten = false;
    if (!intake_validate(env, &fe->rules, FUZZ_NOW_MS, fe->arena, &rewritten, &v)) {
        *reason = v.reason;
        if (v.reason == DOUDI__REJECT_REASON__REJECT_REASON_UNSPECIFIED) {
            snprintf(why, why_cap, "refused without a reason");
            return -1;
        }
        return fuzz_text_ok(&v, why, why_cap) ? FUZZ_REJECTED : -1;
    }
    if (v.reason != DOUDI__REJECT_REASON__REJECT_REASON_UNSPECIFIED) {
        snprintf(why, why_cap, "accepted with reason %d", (int)v.reason);
        return -1;
    }
    char oracle_why[300];
    if (!fuzz_oracle_accepts(env, &fe->rules, FUZZ_NOW_MS, oracle_why, sizeof(oracle_why))) {
        snprintf(why, why_cap, "accepted an event the oracle refuses: %s", oracle_why);
        return -1;
    }
    /* What is stored must be accepted again as it is, without rewriting. */
    size_t len = doudi__envelope__get_packed_size(env);
    uint8_t *again = dd_arena_alloc(fe->arena, len ? len : 1);
    doudi__envelope__pack(env, again);
    Doudi__Envelope *env2 = NULL;
    if (!intake_decode(again, len, &fe->rules, fe->arena, &env2, &v)) {
        /* Re-encoding can only grow an event by an upgraded number. */
        if (!(rewritten && v.reason == DOUDI__REJECT_REASON__REJECT_REASON_EVENT_TOO_LARGE)) {
            snprintf(why, why_cap, "re-encoded event does not decode: %s", v.text);
            return -1;
        }
        return FUZZ_ACCEPTED;
    }
    bool rewritten2 = false;
    if (!intake_validate(env2, &fe->rules, FUZZ_NOW_MS, fe->arena, &rewritten2, &v) || rewritten2) {
        snprintf(why, why_cap, "re-encoded event judged differently: %s", v.text);
        return -1;
    }
    return FUZZ_ACCEPTED;
}

/* ------------------------------------------------------------------------ */
/* libFuzzer                                                                 */
/* ------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    const char *dir = getenv("DOUDI_FUZZ_SEEDS");
    if (dir) {
        for (size_t i = 0; i < fuzz_n_samples; i++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/sample-%02zu", dir, i);
            FILE *f = fopen(path, "wb");
            if (!f)
                continue;
            fwrite(fuzz_samples[i].bytes, 1, fuzz_samples[i].len, f);
            fclose(f);
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Doudi__RejectReason reason;
    char why[512];
    if (fuzz_one(data, size, &reason, why, sizeof(why)) < 0) {
        fprintf(stderr, "fuzz_validate: %s\n", why);
        abort();
    }
    return 0;
}
