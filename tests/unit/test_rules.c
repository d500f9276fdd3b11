/*
 * test_rules.c: the program rules of rules.h, table by table, at their
 * boundaries: one fen under, at and over each line; the permille multiples;
 * the property tests; the single-person rule; 特困 and its precedence; 低边,
 * 刚性支出困难 and its 12 months; the longevity bands on the birthday; the
 * two disability allowances; a member leaving; temporary assistance; the
 * deceased; and that every decision is well formed (rule, readable trace
 * sentences in valid UTF-8, parameters, standard version).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "idnum.h"
#include "rules.h"

#define TODAY 20260715
#define STD_URBAN 112000 /* 1,120.00 yuan */
#define STD_RURAL 95000
#define ASSET_LIMIT (24 * STD_URBAN) /* per person */

#define DIBAO DOUDI__PROGRAM__PROGRAM_DIBAO
#define TEKUN DOUDI__PROGRAM__PROGRAM_TEKUN
#define DIBIAN DOUDI__PROGRAM__PROGRAM_DIBIAN
#define RIGID DOUDI__PROGRAM__PROGRAM_RIGID
#define TEMP DOUDI__PROGRAM__PROGRAM_TEMP
#define AGE DOUDI__PROGRAM__PROGRAM_AGE
#define DIS_LIVING DOUDI__PROGRAM__PROGRAM_DIS_LIVING
#define DIS_CARE DOUDI__PROGRAM__PROGRAM_DIS_CARE

#define URBAN DOUDI__URBAN_RURAL__URBAN_RURAL_URBAN
#define RURAL DOUDI__URBAN_RURAL__URBAN_RURAL_RURAL
#define UR_UNKNOWN DOUDI__URBAN_RURAL__URBAN_RURAL_UNSPECIFIED

#define PHYSICAL DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_PHYSICAL
#define VISUAL DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_VISUAL
#define HEARING DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_HEARING
#define INTELLECTUAL DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_INTELLECTUAL
#define MENTAL DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_MENTAL
#define MULTIPLE DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_MULTIPLE

#define IND DOUDI__ADL_ABILITY__ADL_ABILITY_INDEPENDENT
#define HELP DOUDI__ADL_ABILITY__ADL_ABILITY_NEEDS_HELP
#define DEP DOUDI__ADL_ABILITY__ADL_ABILITY_DEPENDENT
#define UNK DOUDI__ADL_ABILITY__ADL_ABILITY_UNSPECIFIED

#define SUP_PRESENT DOUDI__LEGAL_SUPPORTER__LEGAL_SUPPORTER_PRESENT
#define SUP_UNABLE DOUDI__LEGAL_SUPPORTER__LEGAL_SUPPORTER_UNABLE
#define SUP_NONE DOUDI__LEGAL_SUPPORTER__LEGAL_SUPPORTER_NONE
#define SUP_UNKNOWN DOUDI__LEGAL_SUPPORTER__LEGAL_SUPPORTER_UNSPECIFIED

#define WORK_ABLE DOUDI__WORK_ABILITY__WORK_ABILITY_ABLE
#define WORK_PARTIAL DOUDI__WORK_ABILITY__WORK_ABILITY_PARTIAL
#define WORK_UNABLE DOUDI__WORK_ABILITY__WORK_ABILITY_UNABLE

/* ------------------------------------------------------------------------ */
/* Fixtures                                                                 */
/* ------------------------------------------------------------------------ */

static elig_params params(void)
{
    elig_params p = {
        .dibao_asset_months = 24,
        .vehicle_limit_fen = 0,
        .dibao_max_dwellings = 1,
        .dibao_min_fen = 1000,
        .tekun_multiplier_permille = 1300,
        .dibian_multiplier_permille = 1500,
        .rigid_share_permille = 500,
        .rigid_months = 12,
        .temp_quick_aid_permille = 1000,
        .temp_decide_days = 3,
        .dis_living_includes_dibian = false,
        .medical_alert_monitored_fen = 600000,
        .medical_alert_other_fen = 1000000,
        .income_drop_permille = 300,
        .elderly_age = 60,
        .advanced_age = 80,
        .high_risk_age = 80,
        .child_age_limit = 16,
        .full_care_dependent = 3,
        .half_care_impaired = 1,
    };
    return p;
}

/* A district that raised its standard on 1 July 2026; bands from 80. */
static elig_standard standard(void)
{
    elig_standard s = {
        .version = "440106@20260701",
        .dibao_urban_fen = STD_URBAN,
        .dibao_rural_fen = STD_RURAL,
        .disposable_income_monthly_fen = 600000,
        .age_band_start = 80,
        .age_70_fen = 0,
        .age_80_fen = 10000,
        .age_90_fen = 20000,
        .age_100_fen = 30000,
        .dis_living_fen = 20000,
        .dis_care_fen = 25000,
        .care_full_fen = 80000,
        .care_half_fen = 40000,
        .care_self_fen = 10000,
    };
    return s;
}

/* Guangzhou's longevity table: bands from 70 (30/100/200/300 yuan). */
static elig_standard standard_guangzhou(void)
{
    elig_standard s = standard();
    strcpy(s.version, "4401@20250101");
    s.age_band_start = 70;
    s.age_70_fen = 3000;
    s.age_80_fen = 10000;
    s.age_90_fen = 20000;
    s.age_100_fen = 30000;
    return s;
}

/* A 40-year-old able to work, with a supporter, independent in daily
 * living, living with family. */
static elig_person adult(void)
{
    elig_person p;
    memset(&p, 0, sizeof p);
    strcpy(p.id, "440106198601010011");
    p.birth_yyyymmdd = 19860101;
    p.male = true;
    p.disability_type = DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_UNSPECIFIED;
    for (int i = 0; i < 6; i++)
        p.adl[i] = IND;
    p.living = DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_WITH_FAMILY;
    p.family_planning = DOUDI__FAMILY_PLANNING_SPECIAL__FAMILY_PLANNING_SPECIAL_NONE;
    p.work_ability = WORK_ABLE;
    p.supporter = SUP_PRESENT;
    return p;
}

/* Someone who turns `years` on TODAY (born on this day that many years
 * ago); offset_days -1 is the day before the birthday. */
static int32_t born_years_ago(int years)
{
    return (TODAY / 10000 - years) * 10000 + TODAY % 10000;
}

typedef struct house {
    elig_person members[8];
    elig_household hh;
} house;

/* n adults, urban, no income, no property; members[0] is the subject. */
static void house_init(house *h, size_t n)
{
    memset(h, 0, sizeof *h);
    for (size_t i = 0; i < n; i++)
        h->members[i] = adult();
    strcpy(h->hh.id, "H1");
    h->hh.urban_rural = URBAN;
    h->hh.members = h->members;
    h->hh.nmembers = n;
    h->hh.dwellings = 1;
    h->hh.previous_per_capita_income_fen = -1;
}

/* ------------------------------------------------------------------------ */
/* Checks                                                                   */
/* ------------------------------------------------------------------------ */

static bool valid_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        int n = *u < 0x80 ? 0 : (*u & 0xE0) == 0xC0 ? 1 : (*u & 0xF0) == 0xE0 ? 2
                              : (*u & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0)
            return false;
        u++;
        for (int i = 0; i < n; i++, u++)
            if ((*u & 0xC0) != 0x80)
                return false;
    }
    return true;
}

/* What every decision must be, whatever it decided. */
static void check_well_formed(const elig_decision *d, const char *version)
{
    assert_non_null(d->rule);
    assert_true(d->ntrace <= ELIG_TRACE_MAX);
    assert_true(d->nparams <= ELIG_PARAMS_MAX);
    /* A full table could mean one was dropped: no rule fills it. */
    assert_true(d->nparams < ELIG_PARAMS_MAX);
    assert_true(d->ntrace < ELIG_TRACE_MAX);
    for (size_t i = 0; i < d->ntrace; i++) {
        size_t len = strlen(d->trace[i]);
        assert_true(len > 0);
        /* not truncated: each sentence fits and ends with a full stop */
        assert_true(len < sizeof d->trace[0] - 1);
        assert_int_equal(d->trace[i][len - 1], '.');
        if (!valid_utf8(d->trace[i]))
            fail_msg("invalid UTF-8 in trace: %s", d->trace[i]);
    }
    for (size_t i = 0; i < d->nparams; i++)
        assert_non_null(d->params[i].name);
    if (!d->eligible)
        assert_int_equal(d->amount_fen, 0);
    if (d->rule[0] != '\0')
        assert_true(d->ntrace > 0);
    if (version)
        assert_string_equal(d->standard_version, version);
}

static void decide(const elig_params *p, const elig_standard *s, const elig_household *hh,
                   size_t subject, int32_t today, elig_decision out[ELIG_PROGRAMS])
{
    elig_decide(p, s, hh, subject, today, out);
    for (int i = 0; i < ELIG_PROGRAMS; i++) {
        assert_int_equal(out[i].program, i);
        check_well_formed(&out[i], s->version);
    }
    assert_false(out[0].eligible);
    assert_false(out[TEMP].eligible);
}

static void expect(const elig_decision *d, const char *name, bool eligible, int64_t amount,
                   const char *rule)
{
    if (d->eligible != eligible || d->amount_fen != amount || strcmp(d->rule, rule) != 0) {
        for (size_t i = 0; i < d->ntrace; i++)
            print_message("    %s\n", d->trace[i]);
        fail_msg("%s: program %d: got eligible %d amount %lld rule %s; want %d %lld %s", name,
                 (int)d->program, d->eligible, (long long)d->amount_fen, d->rule, eligible,
                 (long long)amount, rule);
    }
}

static bool param_of(const elig_decision *d, const char *name, int64_t *value)
{
    for (size_t i = 0; i < d->nparams; i++)
        if (strcmp(d->params[i].name, name) == 0) {
            *value = d->params[i].value;
            return true;
        }
    return false;
}

static void expect_param(const elig_decision *d, const char *name, int64_t value)
{
    int64_t got;
    if (!param_of(d, name, &got))
        fail_msg("program %d: no parameter %s", (int)d->program, name);
    if (got != value)
        fail_msg("program %d: parameter %s = %lld, want %lld", (int)d->program, name,
                 (long long)got, (long long)value);
}

static void expect_trace(const elig_decision *d, const char *sentence)
{
    for (size_t i = 0; i < d->ntrace; i++)
        if (strcmp(d->trace[i], sentence) == 0)
            return;
    for (size_t i = 0; i < d->ntrace; i++)
        print_message("    %s\n", d->trace[i]);
    fail_msg("program %d: no trace sentence \"%s\"", (int)d->program, sentence);
}

static void expect_trace_part(const elig_decision *d, const char *part)
{
    for (size_t i = 0; i < d->ntrace; i++)
        if (strstr(d->trace[i], part))
            return;
    for (size_t i = 0; i < d->ntrace; i++)
        print_message("    %s\n", d->trace[i]);
    fail_msg("program %d: no trace sentence containing \"%s\"", (int)d->program, part);
}

/* ------------------------------------------------------------------------ */
/* 低保: income, property, floor                                            */
/* ------------------------------------------------------------------------ */

typedef struct dibao_case {
    const char *name;
    Doudi__UrbanRural ur;
    size_t members;
    int64_t income, assets;
    int32_t dwellings;
    int64_t vehicle, vehicle_limit; /* vehicle_limit -1: the default 0 */
    bool eligible;
    int64_t amount;
    const char *rule;
} dibao_case;

static const dibao_case dibao_cases[] = {
    {"typical: 800.00 per person", URBAN, 3, 240000, 0, 1, 0, -1, true, 96000,
     "dibao.income_below_standard"},
    {"per capita one fen under the standard (floor 10.00 x 3)", URBAN, 3, 3 * 111999, 0, 1, 0,
     -1, true, 3000, "dibao.income_below_standard"},
    {"per capita exactly at the standard", URBAN, 3, 3 * 112000, 0, 1, 0, -1, false, 0,
     "dibao.not_eligible.income"},
    {"per capita one fen over the standard", URBAN, 3, 3 * 112001, 0, 1, 0, -1, false, 0,
     "dibao.not_eligible.income"},
    {"per capita 1,120.0066: integer division keeps it at the standard", URBAN, 3, 336002, 0, 1,
     0, -1, false, 0, "dibao.not_eligible.income"},
    {"total one fen under n x std: per capita 1,119.99", URBAN, 3, 335999, 0, 1, 0, -1, true,
     3000, "dibao.income_below_standard"},
    {"gap 5.00 x 3 below the floor: 30.00", URBAN, 3, 3 * 111500, 0, 1, 0, -1, true, 3000,
     "dibao.income_below_standard"},
    {"gap exactly the floor", URBAN, 3, 3 * 111000, 0, 1, 0, -1, true, 3000,
     "dibao.income_below_standard"},
    {"gap one fen over the floor", URBAN, 3, 3 * 110999, 0, 1, 0, -1, true, 3003,
     "dibao.income_below_standard"},
    {"no income, one member", URBAN, 1, 0, 0, 1, 0, -1, true, STD_URBAN,
     "dibao.income_below_standard"},
    {"assets per capita exactly at the limit", URBAN, 3, 240000, 3 * ASSET_LIMIT, 1, 0, -1, true,
     96000, "dibao.income_below_standard"},
    {"assets per capita one fen over the limit", URBAN, 3, 240000, 3 * (ASSET_LIMIT + 1), 1, 0,
     -1, false, 0, "dibao.not_eligible.assets"},
    {"assets 2 fen over in total: per capita still at the limit", URBAN, 3, 240000,
     3 * ASSET_LIMIT + 2, 1, 0, -1, true, 96000, "dibao.income_below_standard"},
    {"no dwelling", URBAN, 3, 240000, 0, 0, 0, -1, true, 96000, "dibao.income_below_standard"},
    {"two dwellings", URBAN, 3, 240000, 0, 2, 0, -1, false, 0, "dibao.not_eligible.dwellings"},
    {"any vehicle when the limit is 0", URBAN, 3, 240000, 0, 1, 1, -1, false, 0,
     "dibao.not_eligible.vehicle"},
    {"vehicle exactly at a 50,000.00 limit", URBAN, 3, 240000, 0, 1, 5000000, 5000000, true,
     96000, "dibao.income_below_standard"},
    {"vehicle one fen over a 50,000.00 limit", URBAN, 3, 240000, 0, 1, 5000001, 5000000, false,
     0, "dibao.not_eligible.vehicle"},
    {"income fails first among several", URBAN, 3, 600000, 3 * (ASSET_LIMIT + 1), 2, 1, -1,
     false, 0, "dibao.not_eligible.income"},
    {"rural standard: one fen under", RURAL, 1, STD_RURAL - 1, 0, 1, 0, -1, true, 1000,
     "dibao.income_below_standard"},
    {"rural standard: at it", RURAL, 1, STD_RURAL, 0, 1, 0, -1, false, 0,
     "dibao.not_eligible.income"},
    {"urban standard for the same income", URBAN, 1, STD_RURAL, 0, 1, 0, -1, true,
     STD_URBAN - STD_RURAL, "dibao.income_below_standard"},
    {"urban or rural not reported", UR_UNKNOWN, 1, 0, 0, 1, 0, -1, false, 0,
     "dibao.not_eligible.no_standard"},
};

static void test_dibao_table(void **state)
{
    (void)state;
    elig_standard s = standard();
    for (size_t i = 0; i < sizeof dibao_cases / sizeof dibao_cases[0]; i++) {
        const dibao_case *c = &dibao_cases[i];
        elig_params p = params();
        if (c->vehicle_limit >= 0)
            p.vehicle_limit_fen = c->vehicle_limit;
        house h;
        house_init(&h, c->members);
        h.hh.urban_rural = c->ur;
        h.hh.monthly_income_fen = c->income;
        h.hh.financial_assets_fen = c->assets;
        h.hh.dwellings = c->dwellings;
        h.hh.max_vehicle_value_fen = c->vehicle;
        elig_decision out[ELIG_PROGRAMS];
        /* the same for every member */
        for (size_t m = 0; m < c->members; m++) {
            decide(&p, &s, &h.hh, m, TODAY, out);
            expect(&out[DIBAO], c->name, c->eligible, c->amount, c->rule);
        }
    }
}

static void test_dibao_trace_and_parameters(void **state)
{
    (void)state;
    elig_params p = params();
    elig_standard s = standard();
    house h;
    house_init(&h, 3);
    h.hh.monthly_income_fen = 240000;
    h.hh.financial_assets_fen = 1000000;
    elig_decision out[ELIG_PROGRAMS];
    decide(&p, &s, &h.hh, 0, TODAY, out);
    const elig_decision *d = &out[DIBAO];
    expect(d, "typical", true, 96000, "dibao.income_below_standard");
    assert_string_equal(d->standard_version, "440106@20260701");
    expect_trace(d, "Household income 2,400.00 yuan a month over 3 members is 800.00 yuan per "
                    "person.");
    expect_trace(d, "The local 低保 standard for urban households in 440106 from 2026-07-01 is "
                    "1,120.00 yuan.");
    expect_trace(d, "800.00 < 1,120.00: below the standard.");
    expect_trace(d, "Financial assets 10,000.00 yuan are 3,333.33 yuan per person; the limit is "
                    "24 × 1,120.00 = 26,880.00 yuan: within the limit.");
    expect_trace(d, "1 dwelling; at most 1 allowed: within the limit.");
    expect_trace(d, "No vehicle.");
    expect_trace(d, "(1,120.00 - 800.00) × 3 = 960.00 yuan a month for the household.");
    expect_param(d, "standard_fen", STD_URBAN);
    expect_param(d, "per_capita_income_fen", 80000);
    expect_param(d, "household_income_fen", 240000);
    expect_param(d, "members", 3);
    expect_param(d, "assets_per_capita_fen", 333333);
    expect_param(d, "asset_limit_fen", ASSET_LIMIT);
    expect_param(d, "dibao_asset_months", 24);
    expect_param(d, "dwellings", 1);
    expect_param(d, "dibao_max_dwellings", 1);
    expect_param(d, "vehicle_value_fen", 0);
    expect_param(d, "vehicle_limit_fen", 0);
    expect_param(d, "dibao_min_fen", 1000);

    /* not eligible: the comparison reads the other way */
    h.hh.monthly_income_fen = 3 * STD_URBAN;
    h.hh.max_vehicle_value_fen = 3000000;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect_trace(&out[DIBAO], "1,120.00 ≥ 1,120.00: not below the standard.");
    expect_trace(&out[DIBAO], "A vehicle worth 30,000.00 yuan; no vehicle is allowed: over the "
                              "limit.");
    /* the floor is explained */
    h.hh.monthly_income_fen = 3 * 111500;
    h.hh.max_vehicle_value_fen = 0;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect_trace_part(&out[DIBAO], "less than the least 10.00 yuan per member: 30.00 yuan a month");
}

/* ------------------------------------------------------------------------ */
/* Permille multiples: 1.3 and 1.5 (and Hangzhou's 2.0) exactly              */
/* ------------------------------------------------------------------------ */

typedef struct dibian_case {
    const char *name;
    int64_t std;
    int32_t multiplier;
    int64_t per_capita;
    bool dibian;
    int64_t limit;
} dibian_case;

static const dibian_case dibian_cases[] = {
    {"1.5 x 1,120.00: one fen under 1,680.00", 112000, 1500, 167999, true, 168000},
    {"1.5 x 1,120.00: at 1,680.00", 112000, 1500, 168000, false, 168000},
    {"1.5 x 1,120.00: one fen over", 112000, 1500, 168001, false, 168000},
    {"1.5 x 1,120.00: at the standard itself", 112000, 1500, 112000, true, 168000},
    /* 1.5 x 1,001.01 = 1,501.515: 1,501.51 is below it, 1,501.52 is not */
    {"1.5 x 1,001.01: 1,501.51 below 1,501.515", 100101, 1500, 150151, true, 150152},
    {"1.5 x 1,001.01: 1,501.52 above 1,501.515", 100101, 1500, 150152, false, 150152},
    {"2.0 (Hangzhou) x 1,120.00: one fen under", 112000, 2000, 223999, true, 224000},
    {"2.0 (Hangzhou) x 1,120.00: at it", 112000, 2000, 224000, false, 224000},
};

static void test_dibian_permille(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof dibian_cases / sizeof dibian_cases[0]; i++) {
        const dibian_case *c = &dibian_cases[i];
        elig_params p = params();
        p.dibian_multiplier_permille = c->multiplier;
        elig_standard s = standard();
        s.dibao_urban_fen = c->std;
        house h;
        house_init(&h, 2);
        h.hh.monthly_income_fen = 2 * c->per_capita;
        elig_decision out[ELIG_PROGRAMS];
        decide(&p, &s, &h.hh, 0, TODAY, out);
        expect(&out[DIBIAN], c->name, c->dibian, 0,
               c->dibian ? "dibian.income_below_limit" : "dibian.not_eligible.income");
        expect_param(&out[DIBIAN], "dibian_limit_fen", c->limit);
        expect_param(&out[DIBIAN], "dibian_multiplier_permille", c->multiplier);
        expect(&out[DIBAO], c->name, false, 0, "dibao.not_eligible.income");
    }
}

static void test_tekun_permille(void **state)
{
    (void)state;
    static const struct {
        int64_t std;
        int32_t multiplier;
        int64_t basic;
    } rows[] = {
        {112000, 1300, 145600}, /* 1.3 x 1,120.00 = 1,456.00 exactly */
        {100101, 1300, 130132}, /* 1.3 x 1,001.01 = 1,301.313: rounded up to 1,301.32 */
        {100000, 1300, 130000},
        {100001, 1300, 130002}, /* 1,300.013 -> 1,300.02 */
        {112000, 1000, 112000},
        {112000, 1500, 168000},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        elig_params p = params();
        p.tekun_multiplier_permille = rows[i].multiplier;
        elig_standard s = standard();
        s.dibao_urban_fen = rows[i].std;
        house h;
        house_init(&h, 1);
        h.members[0].birth_yyyymmdd = born_years_ago(70);
        h.members[0].supporter = SUP_NONE;
        /* no ADL reported: no care allowance, so the amount is the basic */
        for (int a = 0; a < 6; a++)
            h.members[0].adl[a] = UNK;
        elig_decision out[ELIG_PROGRAMS];
        decide(&p, &s, &h.hh, 0, TODAY, out);
        expect(&out[TEKUN], "tekun permille", true, rows[i].basic,
               "tekun.no_work_ability_no_supporter");
        expect_param(&out[TEKUN], "basic_living_fen", rows[i].basic);
        expect_param(&out[TEKUN], "care_allowance_fen", 0);
    }
}

/* ------------------------------------------------------------------------ */
/* 单人户: a severely disabled adult in a household just above the line      */
/* ------------------------------------------------------------------------ */

typedef struct single_case {
    const char *name;
    int grade;
    Doudi__DisabilityType type;
    int age;               /* on TODAY (birthday) */
    int64_t per_capita;    /* household of 3 */
    int64_t own_income;
    int64_t assets_each;   /* financial assets per capita */
    bool eligible;
    int64_t amount;
    const char *rule;
} single_case;

static const single_case single_cases[] = {
    {"grade 1 physical, just above the line", 1, PHYSICAL, 40, 120000, 0, 0, true, STD_URBAN,
     "dibao.single_person_severe_disability"},
    {"grade 2 hearing (any type at 1-2)", 2, HEARING, 40, 120000, 0, 0, true, STD_URBAN,
     "dibao.single_person_severe_disability"},
    {"grade 2 visual with own income 500.00", 2, VISUAL, 40, 120000, 50000, 0, true, 62000,
     "dibao.single_person_severe_disability"},
    {"grade 1, own income one fen under the standard: the floor", 1, PHYSICAL, 40, 120000,
     STD_URBAN - 1, 0, true, 1000, "dibao.single_person_severe_disability"},
    {"grade 1, own income at the standard", 1, PHYSICAL, 40, 120000, STD_URBAN, 0, false, 0,
     "dibao.not_eligible.income"},
    {"grade 3 intellectual", 3, INTELLECTUAL, 40, 120000, 0, 0, true, STD_URBAN,
     "dibao.single_person_severe_disability"},
    {"grade 3 mental", 3, MENTAL, 40, 120000, 0, 0, true, STD_URBAN,
     "dibao.single_person_severe_disability"},
    {"grade 3 physical: no", 3, PHYSICAL, 40, 120000, 0, 0, false, 0,
     "dibao.not_eligible.income"},
    {"grade 4 intellectual: no", 4, INTELLECTUAL, 40, 120000, 0, 0, false, 0,
     "dibao.not_eligible.income"},
    {"grade 1 aged 17: no", 1, PHYSICAL, 17, 120000, 0, 0, false, 0,
     "dibao.not_eligible.income"},
    {"grade 1 turning 18 today: yes", 1, PHYSICAL, 18, 120000, 0, 0, true, STD_URBAN,
     "dibao.single_person_severe_disability"},
    {"grade 1, household one fen under 1.5 x std", 1, PHYSICAL, 40, 167999, 0, 0, true,
     STD_URBAN, "dibao.single_person_severe_disability"},
    {"grade 1, household at 1.5 x std", 1, PHYSICAL, 40, 168000, 0, 0, false, 0,
     "dibao.not_eligible.income"},
    {"grade 1, household far above 1.5 x std", 1, PHYSICAL, 40, 500000, 0, 0, false, 0,
     "dibao.not_eligible.income"},
    {"grade 1, household assets over the limit", 1, PHYSICAL, 40, 120000, 0, ASSET_LIMIT + 1,
     false, 0, "dibao.not_eligible.income"},
    {"grade 1, household below the line: the household rule", 1, PHYSICAL, 40, 100000, 0, 0,
     true, 36000, "dibao.income_below_standard"},
};

static void test_single_person(void **state)
{
    (void)state;
    elig_params p = params();
    elig_standard s = standard();
    for (size_t i = 0; i < sizeof single_cases / sizeof single_cases[0]; i++) {
        const single_case *c = &single_cases[i];
        house h;
        house_init(&h, 3);
        elig_person *x = &h.members[0];
        x->disability_grade = c->grade;
        x->disability_type = c->type;
        x->birth_yyyymmdd = born_years_ago(c->age);
        x->own_income_fen = c->own_income;
        h.hh.monthly_income_fen = 3 * c->per_capita;
        h.hh.financial_assets_fen = 3 * c->assets_each;
        elig_decision out[ELIG_PROGRAMS];
        decide(&p, &s, &h.hh, 0, TODAY, out);
        expect(&out[DIBAO], c->name, c->eligible, c->amount, c->rule);
        if (c->eligible && strcmp(c->rule, "dibao.single_person_severe_disability") == 0) {
            /* enrolled alone: not 低边 for this person, but the rest are */
            expect(&out[DIBIAN], c->name, false, 0, "dibian.not_eligible.dibao");
            expect(&out[RIGID], c->name, false, 0, "rigid.not_eligible.dibao");
            expect(&out[DIS_LIVING], c->name, true, 20000,
                   "dis_living.disabled_in_dibao_household");
            expect_param(&out[DIBAO], "age", c->age);
            expect_param(&out[DIBAO], "disability_grade", c->grade);
            expect_param(&out[DIBAO], "own_income_fen", c->own_income);
            expect_param(&out[DIBAO], "dibian_limit_fen", 168000);
            expect_trace_part(&out[DIBAO], "enrolled alone (单人户)");
            decide(&p, &s, &h.hh, 1, TODAY, out);
            expect(&out[DIBAO], c->name, false, 0, "dibao.not_eligible.income");
            expect(&out[DIBIAN], c->name, true, 0, "dibian.income_below_limit");
        }
    }
}

/* ------------------------------------------------------------------------ */
/* 特困                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct tekun_case {
    const char *name;
    int age;
    int32_t birth; /* overrides age when non-zero */
    int grade;
    Doudi__DisabilityType type;
    Doudi__WorkAbility work;
    Doudi__LegalSupporter supporter;
    int64_t own_income, own_assets;
    bool eligible;
    const char *rule;
    const char *reason; /* part of the first trace sentence */
} tekun_case;

static const tekun_case tekun_cases[] = {
    {"60 today", 60, 0, 0, 0, WORK_ABLE, SUP_NONE, 0, 0, true,
     "tekun.no_work_ability_no_supporter", "60 or older"},
    {"60 tomorrow", 0, 19660716, 0, 0, WORK_ABLE, SUP_NONE, 0, 0, false,
     "tekun.not_eligible.work_ability", "able to work"},
    {"15: under 16", 15, 0, 0, 0, WORK_ABLE, SUP_NONE, 0, 0, true,
     "tekun.no_work_ability_no_supporter", "under 16"},
    {"16 today", 16, 0, 0, 0, WORK_ABLE, SUP_NONE, 0, 0, false,
     "tekun.not_eligible.work_ability", "able to work"},
    {"16 tomorrow (still 15)", 0, 20100716, 0, 0, WORK_ABLE, SUP_NONE, 0, 0, true,
     "tekun.no_work_ability_no_supporter", "under 16"},
    {"grade 1 intellectual", 40, 0, 1, INTELLECTUAL, WORK_ABLE, SUP_NONE, 0, 0, true,
     "tekun.no_work_ability_no_supporter", "grade 1 (intellectual)"},
    {"grade 3 intellectual", 40, 0, 3, INTELLECTUAL, WORK_ABLE, SUP_NONE, 0, 0, true,
     "tekun.no_work_ability_no_supporter", "grade 3 (intellectual)"},
    {"grade 4 intellectual", 40, 0, 4, INTELLECTUAL, WORK_ABLE, SUP_NONE, 0, 0, false,
     "tekun.not_eligible.work_ability", "able to work"},
    {"grade 3 mental", 40, 0, 3, MENTAL, WORK_ABLE, SUP_NONE, 0, 0, true,
     "tekun.no_work_ability_no_supporter", "grade 3 (mental)"},
    {"grade 2 physical", 40, 0, 2, PHYSICAL, WORK_ABLE, SUP_NONE, 0, 0, true,
     "tekun.no_work_ability_no_supporter", "grade 2 (physical)"},
    {"grade 3 physical", 40, 0, 3, PHYSICAL, WORK_ABLE, SUP_NONE, 0, 0, false,
     "tekun.not_eligible.work_ability", "able to work"},
    {"grade 1 visual", 40, 0, 1, VISUAL, WORK_ABLE, SUP_NONE, 0, 0, true,
     "tekun.no_work_ability_no_supporter", "grade 1 (visual)"},
    {"grade 2 visual", 40, 0, 2, VISUAL, WORK_ABLE, SUP_NONE, 0, 0, false,
     "tekun.not_eligible.work_ability", "able to work"},
    {"grade 1 hearing", 40, 0, 1, HEARING, WORK_ABLE, SUP_NONE, 0, 0, false,
     "tekun.not_eligible.work_ability", "able to work"},
    {"grade 1 multiple, not reported unable", 40, 0, 1, MULTIPLE, WORK_PARTIAL, SUP_NONE, 0, 0,
     false, "tekun.not_eligible.work_ability", "able to work"},
    {"reported unable to work", 40, 0, 0, 0, WORK_UNABLE, SUP_NONE, 0, 0, true,
     "tekun.no_work_ability_no_supporter", "Reported as unable to work"},
    {"reported partial", 40, 0, 0, 0, WORK_PARTIAL, SUP_NONE, 0, 0, false,
     "tekun.not_eligible.work_ability", "able to work"},
    {"supporter unable", 70, 0, 0, 0, WORK_ABLE, SUP_UNABLE, 0, 0, true,
     "tekun.no_work_ability_no_supporter", "60 or older"},
    {"supporter present", 70, 0, 0, 0, WORK_ABLE, SUP_PRESENT, 0, 0, false,
     "tekun.not_eligible.supporter", "60 or older"},
    {"supporter not reported", 70, 0, 0, 0, WORK_ABLE, SUP_UNKNOWN, 0, 0, false,
     "tekun.not_eligible.supporter", "60 or older"},
    {"own income one fen under the standard", 70, 0, 0, 0, WORK_ABLE, SUP_NONE, STD_URBAN - 1, 0,
     true, "tekun.no_work_ability_no_supporter", "60 or older"},
    {"own income at the standard", 70, 0, 0, 0, WORK_ABLE, SUP_NONE, STD_URBAN, 0, false,
     "tekun.not_eligible.income", "60 or older"},
    {"own assets at the limit", 70, 0, 0, 0, WORK_ABLE, SUP_NONE, 0, ASSET_LIMIT, true,
     "tekun.no_work_ability_no_supporter", "60 or older"},
    {"own assets one fen over", 70, 0, 0, 0, WORK_ABLE, SUP_NONE, 0, ASSET_LIMIT + 1, false,
     "tekun.not_eligible.assets", "60 or older"},
};

static void test_tekun_table(void **state)
{
    (void)state;
    elig_params p = params();
    elig_standard s = standard();
    for (size_t i = 0; i < sizeof tekun_cases / sizeof tekun_cases[0]; i++) {
        const tekun_case *c = &tekun_cases[i];
        house h;
        house_init(&h, 1);
        elig_person *x = &h.members[0];
        x->birth_yyyymmdd = c->birth ? c->birth : born_years_ago(c->age);
        x->disability_grade = c->grade;
        x->disability_type = c->type ? c->type : DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_UNSPECIFIED;
        x->work_ability = c->work;
        x->supporter = c->supporter;
        x->own_income_fen = c->own_income;
        x->own_assets_fen = c->own_assets;
        /* The household is well off: TEKUN reads only the person's own
         * income. */
        h.hh.monthly_income_fen = 900000;
        elig_decision out[ELIG_PROGRAMS];
        decide(&p, &s, &h.hh, 0, TODAY, out);
        /* self care: 1,456.00 + 100.00 */
        expect(&out[TEKUN], c->name, c->eligible, c->eligible ? 155600 : 0, c->rule);
        expect_trace_part(&out[TEKUN], c->reason);
        expect_param(&out[TEKUN], "own_income_fen", c->own_income);
        expect_param(&out[TEKUN], "standard_fen", STD_URBAN);
        expect(&out[DIBAO], c->name, false, 0,
               c->eligible ? "dibao.superseded_by_tekun" : "dibao.not_eligible.income");
    }
}

static void test_tekun_care_allowance(void **state)
{
    (void)state;
    elig_params p = params();
    elig_standard s = standard();
    static const struct {
        Doudi__AdlAbility adl[6];
        Doudi__CareLevel level;
        int64_t allowance;
    } rows[] = {
        {{DEP, DEP, DEP, IND, IND, IND}, DOUDI__CARE_LEVEL__CARE_LEVEL_FULL, 80000},
        {{DEP, DEP, HELP, HELP, IND, IND}, DOUDI__CARE_LEVEL__CARE_LEVEL_HALF, 40000},
        {{IND, IND, IND, IND, IND, HELP}, DOUDI__CARE_LEVEL__CARE_LEVEL_HALF, 40000},
        {{IND, IND, IND, IND, IND, IND}, DOUDI__CARE_LEVEL__CARE_LEVEL_SELF, 10000},
        {{UNK, UNK, UNK, UNK, UNK, UNK}, DOUDI__CARE_LEVEL__CARE_LEVEL_UNSPECIFIED, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        house h;
        house_init(&h, 1);
        h.members[0].birth_yyyymmdd = born_years_ago(75);
        h.members[0].supporter = SUP_NONE;
        memcpy(h.members[0].adl, rows[i].adl, sizeof rows[i].adl);
        elig_decision out[ELIG_PROGRAMS];
        decide(&p, &s, &h.hh, 0, TODAY, out);
        expect(&out[TEKUN], "care allowance", true, 145600 + rows[i].allowance,
               "tekun.no_work_ability_no_supporter");
        expect_param(&out[TEKUN], "care_level", rows[i].level);
        expect_param(&out[TEKUN], "care_allowance_fen", rows[i].allowance);
        expect_param(&out[TEKUN], "tekun_multiplier_permille", 1300);
    }
    house h;
    house_init(&h, 1);
    h.members[0].birth_yyyymmdd = born_years_ago(75);
    h.members[0].supporter = SUP_NONE;
    h.members[0].adl[0] = h.members[0].adl[1] = h.members[0].adl[2] = DEP;
    elig_decision out[ELIG_PROGRAMS];
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect_trace(&out[TEKUN], "Basic living 1.3 × 1,120.00 = 1,456.00 yuan, plus the full care "
                              "allowance 800.00 yuan: 2,256.00 yuan a month.");
    expect_trace(&out[TEKUN], "No legal supporter.");
}

static void test_tekun_precedence(void **state)
{
    (void)state;
    elig_params p = params();
    elig_standard s = standard();
    /* A poor household of 2: an old man with no supporter able to help
     * (his wife, member 1, is herself unable) and his wife. */
    house h;
    house_init(&h, 2);
    h.members[0].birth_yyyymmdd = born_years_ago(78);
    h.members[0].supporter = SUP_UNABLE;
    h.members[0].disability_grade = 2;
    h.members[0].disability_type = PHYSICAL;
    h.members[1].birth_yyyymmdd = born_years_ago(55);
    h.hh.monthly_income_fen = 100000; /* 500.00 per person */
    elig_decision out[ELIG_PROGRAMS];
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[TEKUN], "old man", true, 155600, "tekun.no_work_ability_no_supporter");
    expect(&out[DIBAO], "old man", false, 0, "dibao.superseded_by_tekun");
    expect_trace_part(&out[DIBAO], "takes precedence over 低保");
    expect(&out[DIBIAN], "old man", false, 0, "dibian.not_eligible.tekun");
    expect(&out[RIGID], "old man", false, 0, "rigid.not_eligible.tekun");
    expect(&out[DIS_LIVING], "old man", true, 20000, "dis_living.disabled_tekun");
    decide(&p, &s, &h.hh, 1, TODAY, out);
    expect(&out[TEKUN], "wife", false, 0, "tekun.not_eligible.work_ability");
    /* the household amount counts both living members */
    expect(&out[DIBAO], "wife", true, 2 * (STD_URBAN - 50000), "dibao.income_below_standard");
    expect(&out[DIBIAN], "wife", false, 0, "dibian.not_eligible.dibao");
}

/* ------------------------------------------------------------------------ */
/* 低边 only when not 低保/特困                                              */
/* ------------------------------------------------------------------------ */

static void test_dibian_precedence_and_property(void **state)
{
    (void)state;
    elig_params p = params();
    elig_standard s = standard();
    elig_decision out[ELIG_PROGRAMS];
    house h;

    house_init(&h, 2);
    h.hh.monthly_income_fen = 2 * 100000;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBAO], "below the standard", true, 24000, "dibao.income_below_standard");
    expect(&out[DIBIAN], "below the standard", false, 0, "dibian.not_eligible.dibao");

    house_init(&h, 2);
    h.hh.monthly_income_fen = 2 * 150000;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBIAN], "between 1x and 1.5x", true, 0, "dibian.income_below_limit");
    expect_trace(&out[DIBIAN], "1,500.00 < 1.5 × 1,120.00 = 1,680.00: below the 低保边缘 line.");

    h.hh.financial_assets_fen = 2 * (ASSET_LIMIT + 1);
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBIAN], "assets over", false, 0, "dibian.not_eligible.assets");
    h.hh.financial_assets_fen = 2 * ASSET_LIMIT;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBIAN], "assets at", true, 0, "dibian.income_below_limit");
    h.hh.dwellings = 2;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBIAN], "two dwellings", false, 0, "dibian.not_eligible.dwellings");
    h.hh.dwellings = 1;
    h.hh.max_vehicle_value_fen = 2000000;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBIAN], "a vehicle", false, 0, "dibian.not_eligible.vehicle");

    /* below the 低保 standard but a vehicle: neither 低保 nor 低边 */
    house_init(&h, 2);
    h.hh.monthly_income_fen = 2 * 50000;
    h.hh.max_vehicle_value_fen = 2000000;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBAO], "vehicle", false, 0, "dibao.not_eligible.vehicle");
    expect(&out[DIBIAN], "vehicle", false, 0, "dibian.not_eligible.vehicle");

    /* a 特困 person in a 低边 household */
    house_init(&h, 2);
    h.hh.monthly_income_fen = 2 * 150000;
    h.members[0].birth_yyyymmdd = born_years_ago(8);
    h.members[0].supporter = SUP_NONE;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBIAN], "tekun child", false, 0, "dibian.not_eligible.tekun");
    decide(&p, &s, &h.hh, 1, TODAY, out);
    expect(&out[DIBIAN], "the other member", true, 0, "dibian.income_below_limit");
}

/* ------------------------------------------------------------------------ */
/* 刚性支出困难                                                              */
/* ------------------------------------------------------------------------ */

typedef struct rigid_case {
    const char *name;
    int64_t per_capita; /* household of 2 */
    int64_t spending;
    int32_t since;
    bool eligible;
    const char *rule;
} rigid_case;

/* Household of 2 at 2,000.00 per person: 12 months' income is 48,000.00,
 * half of it 24,000.00; disposable income is 6,000.00 a month. */
static const rigid_case rigid_cases[] = {
    {"spending one fen over half the income", 200000, 2400001, 0, true,
     "rigid.spending_over_share"},
    {"spending exactly half the income", 200000, 2400000, 0, false, "rigid.not_eligible.spending"},
    {"spending one fen under half", 200000, 2399999, 0, false, "rigid.not_eligible.spending"},
    {"per capita at the disposable income", 600000, 99999999, 0, false,
     "rigid.not_eligible.income"},
    {"per capita one fen under the disposable income", 599999, 99999999, 0, true,
     "rigid.spending_over_share"},
    {"recognised 11 months ago", 200000, 3000000, 20250815, true, "rigid.spending_over_share"},
    {"recognised 12 months ago less a day: last day", 200000, 3000000, 20250716, true,
     "rigid.spending_over_share"},
    {"recognised 12 months ago", 200000, 3000000, 20250715, false,
     "rigid.not_eligible.recognition_expired"},
    {"recognised 13 months ago", 200000, 3000000, 20250615, false,
     "rigid.not_eligible.recognition_expired"},
    {"recognised today", 200000, 3000000, TODAY, true, "rigid.spending_over_share"},
    {"低边 household comes first", 150000, 3000000, 0, false, "rigid.not_eligible.dibian"},
    {"低保 household comes first", 100000, 3000000, 0, false, "rigid.not_eligible.dibao"},
};

static void test_rigid_table(void **state)
{
    (void)state;
    elig_params p = params();
    elig_standard s = standard();
    for (size_t i = 0; i < sizeof rigid_cases / sizeof rigid_cases[0]; i++) {
        const rigid_case *c = &rigid_cases[i];
        house h;
        house_init(&h, 2);
        h.hh.monthly_income_fen = 2 * c->per_capita;
        h.hh.rigid_spending_12m_fen = c->spending;
        h.members[0].rigid_recognized_since = c->since;
        elig_decision out[ELIG_PROGRAMS];
        decide(&p, &s, &h.hh, 0, TODAY, out);
        expect(&out[RIGID], c->name, c->eligible, 0, c->rule);
    }
    /* the trace gives the numbers and the end of the recognition */
    house h;
    house_init(&h, 2);
    h.hh.monthly_income_fen = 400000;
    h.hh.rigid_spending_12m_fen = 3000000;
    h.members[0].rigid_recognized_since = 20250815;
    elig_decision out[ELIG_PROGRAMS];
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect_trace(&out[RIGID], "Rigid spending over 12 months is 30,000.00 yuan; 0.5 × 12 months' "
                              "income 48,000.00 = 24,000.00 yuan: more than that.");
    expect_trace(&out[RIGID], "Recognised since 2025-08-15; recognition lasts at most 12 months, "
                              "to 2026-08-14.");
    expect_param(&out[RIGID], "rigid_threshold_fen", 2400000);
    expect_param(&out[RIGID], "rigid_recognized_until", 20260814);
    /* 31 January + 1 month covers all of February */
    p.rigid_months = 1;
    h.members[0].rigid_recognized_since = 20260131;
    decide(&p, &s, &h.hh, 0, 20260228, out);
    expect(&out[RIGID], "31 Jan + 1 month, on 28 Feb", true, 0, "rigid.spending_over_share");
    decide(&p, &s, &h.hh, 0, 20260301, out);
    expect(&out[RIGID], "31 Jan + 1 month, on 1 Mar", false, 0,
           "rigid.not_eligible.recognition_expired");
}

/* ------------------------------------------------------------------------ */
/* 高龄津贴                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct age_case {
    const char *name;
    int32_t birth;
    int32_t today;
    bool guangzhou; /* bands from 70 */
    bool eligible;
    int64_t amount;
    const char *rule;
} age_case;

static const age_case age_cases[] = {
    {"80 on the birthday", 19460715, 20260715, false, true, 10000, "age.band_80"},
    {"79 the day before", 19460715, 20260714, false, false, 0, "age.not_eligible.below_band_start"},
    {"75 where bands start at 80", 19510101, TODAY, false, false, 0,
     "age.not_eligible.below_band_start"},
    {"75 in Guangzhou (bands from 70)", 19510101, TODAY, true, true, 3000, "age.band_70"},
    {"70 on the birthday in Guangzhou", 19560715, 20260715, true, true, 3000, "age.band_70"},
    {"69 the day before in Guangzhou", 19560715, 20260714, true, false, 0,
     "age.not_eligible.below_band_start"},
    {"80 in Guangzhou", 19460715, 20260715, true, true, 10000, "age.band_80"},
    {"89", 19360716, 20260715, false, true, 10000, "age.band_80"},
    {"90 on the birthday", 19360715, 20260715, false, true, 20000, "age.band_90"},
    {"99", 19260716, 20260715, false, true, 20000, "age.band_90"},
    {"100 on the birthday", 19260715, 20260715, false, true, 30000, "age.band_100"},
    {"105", 19210101, TODAY, true, true, 30000, "age.band_100"},
    /* born 29 February: 90 on 1 March in a common year */
    {"born 29 Feb, 28 Feb of a common year", 19360229, 20260228, false, true, 10000,
     "age.band_80"},
    {"born 29 Feb, 1 Mar of a common year", 19360229, 20260301, false, true, 20000,
     "age.band_90"},
    {"birth date unknown", 0, TODAY, false, false, 0, "age.not_eligible.birth_date_unknown"},
};

static void test_age_table(void **state)
{
    (void)state;
    elig_params p = params();
    for (size_t i = 0; i < sizeof age_cases / sizeof age_cases[0]; i++) {
        const age_case *c = &age_cases[i];
        elig_standard s = c->guangzhou ? standard_guangzhou() : standard();
        house h;
        house_init(&h, 1);
        h.members[0].birth_yyyymmdd = c->birth;
        elig_decision out[ELIG_PROGRAMS];
        decide(&p, &s, &h.hh, 0, c->today, out);
        expect(&out[AGE], c->name, c->eligible, c->amount, c->rule);
    }
}

static void test_age_trace_and_unpaid_band(void **state)
{
    (void)state;
    elig_params p = params();
    elig_standard s = standard_guangzhou();
    house h;
    house_init(&h, 1);
    h.members[0].birth_yyyymmdd = 19460715;
    elig_decision out[ELIG_PROGRAMS];
    decide(&p, &s, &h.hh, 0, 20260715, out);
    expect_trace(&out[AGE], "Born 1946-07-15: aged 80 on 2026-07-15.");
    expect_trace(&out[AGE], "The longevity allowance in 4401 from 2025-01-01 pays 100.00 yuan a "
                            "month for ages 80-89.");
    expect_param(&out[AGE], "age", 80);
    expect_param(&out[AGE], "age_band_start", 70);

    /* a row that starts at 70 but pays nothing there */
    s.age_70_fen = 0;
    h.members[0].birth_yyyymmdd = 19510101;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[AGE], "unpaid band", false, 0, "age.not_eligible.band_unpaid");
    /* a row that does not say where bands start: 80 */
    s = standard();
    s.age_band_start = 0;
    s.age_70_fen = 3000;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[AGE], "no band start", false, 0, "age.not_eligible.below_band_start");
}

/* The facts hold a birth date; for an old 15-digit number it is the one of
 * its upgrade (1900s). */
static void test_age_from_upgraded_15_digit_id(void **state)
{
    (void)state;
    char id18[19];
    assert_int_equal(dd_idnum_upgrade15("440106460715001", TODAY, id18), DD_IDNUM_OK);
    assert_memory_equal(id18, "44010619460715001", 17);
    dd_idnum_info info;
    assert_int_equal(dd_idnum_check(id18, 18, TODAY, &info), DD_IDNUM_OK);
    elig_params p = params();
    elig_standard s = standard();
    house h;
    house_init(&h, 1);
    memcpy(h.members[0].id, id18, sizeof id18);
    h.members[0].birth_yyyymmdd = info.birth_year * 10000 + info.birth_month * 100 + info.birth_day;
    assert_int_equal(h.members[0].birth_yyyymmdd, 19460715);
    elig_decision out[ELIG_PROGRAMS];
    decide(&p, &s, &h.hh, 0, 20260715, out);
    expect(&out[AGE], "15-digit upgrade, 80 today", true, 10000, "age.band_80");
    decide(&p, &s, &h.hh, 0, 20260714, out);
    expect(&out[AGE], "15-digit upgrade, day before", false, 0, "age.not_eligible.below_band_start");
}

static void test_elig_age(void **state)
{
    (void)state;
    assert_int_equal(elig_age(19460715, 20260715), 80);
    assert_int_equal(elig_age(19460715, 20260714), 79);
    assert_int_equal(elig_age(19460715, 20270714), 80);
    assert_int_equal(elig_age(20000229, 20230228), 22);
    assert_int_equal(elig_age(20000229, 20230301), 23);
    assert_int_equal(elig_age(20000229, 20240229), 24);
    assert_int_equal(elig_age(20260715, 20260715), 0);
    assert_true(elig_age(20260716, 20260715) < 0);
    assert_true(elig_age(0, 20260715) < 0);
}

/* ------------------------------------------------------------------------ */
/* 残疾人两项补贴                                                           */
/* ------------------------------------------------------------------------ */

typedef struct dis_case {
    const char *name;
    int grade;
    int64_t per_capita; /* household of 2 */
    bool include_dibian;
    bool eligible;
    const char *rule;
} dis_case;

static const dis_case dis_living_cases[] = {
    {"grade 1 in 低保", 1, 100000, false, true, "dis_living.disabled_in_dibao_household"},
    {"grade 4 in 低保", 4, 100000, false, true, "dis_living.disabled_in_dibao_household"},
    {"not disabled in 低保", 0, 100000, false, false, "dis_living.not_eligible.not_disabled"},
    {"grade 3 in 低边, not covered", 3, 150000, false, false, "dis_living.not_eligible.not_dibao"},
    {"grade 3 in 低边, covered", 3, 150000, true, true,
     "dis_living.disabled_in_dibian_household"},
    {"grade 4 in 低边, covered", 4, 150000, true, true, "dis_living.disabled_in_dibian_household"},
    {"grade 3 above 低边, covered or not", 3, 170000, true, false,
     "dis_living.not_eligible.not_dibao"},
};

static void test_dis_living_table(void **state)
{
    (void)state;
    elig_standard s = standard();
    for (size_t i = 0; i < sizeof dis_living_cases / sizeof dis_living_cases[0]; i++) {
        const dis_case *c = &dis_living_cases[i];
        elig_params p = params();
        p.dis_living_includes_dibian = c->include_dibian;
        house h;
        house_init(&h, 2);
        h.members[0].disability_grade = c->grade;
        h.members[0].disability_type = c->grade ? HEARING : 0;
        h.hh.monthly_income_fen = 2 * c->per_capita;
        elig_decision out[ELIG_PROGRAMS];
        decide(&p, &s, &h.hh, 0, TODAY, out);
        expect(&out[DIS_LIVING], c->name, c->eligible, c->eligible ? 20000 : 0, c->rule);
        expect_param(&out[DIS_LIVING], "disability_grade", c->grade);
    }
}

typedef struct dis_care_case {
    const char *name;
    int grade;
    Doudi__AdlAbility adl[6];
    bool eligible;
    const char *rule;
} dis_care_case;

static const dis_care_case dis_care_cases[] = {
    {"grade 1 full care", 1, {DEP, DEP, DEP, DEP, IND, IND}, true,
     "dis_care.severe_disability_needs_care"},
    {"grade 2 half care", 2, {HELP, IND, IND, IND, IND, IND}, true,
     "dis_care.severe_disability_needs_care"},
    {"grade 2 self care", 2, {IND, IND, IND, IND, IND, IND}, false,
     "dis_care.not_eligible.care_level"},
    {"grade 1 not assessed", 1, {UNK, UNK, UNK, UNK, UNK, UNK}, false,
     "dis_care.not_eligible.care_level_unknown"},
    {"grade 3 full care", 3, {DEP, DEP, DEP, DEP, IND, IND}, false, "dis_care.not_eligible.grade"},
    {"grade 4 full care", 4, {DEP, DEP, DEP, DEP, IND, IND}, false, "dis_care.not_eligible.grade"},
    {"not disabled, full care", 0, {DEP, DEP, DEP, DEP, IND, IND}, false,
     "dis_care.not_eligible.grade"},
};

static void test_dis_care_table(void **state)
{
    (void)state;
    elig_params p = params();
    elig_standard s = standard();
    for (size_t i = 0; i < sizeof dis_care_cases / sizeof dis_care_cases[0]; i++) {
        const dis_care_case *c = &dis_care_cases[i];
        house h;
        house_init(&h, 1);
        h.members[0].disability_grade = c->grade;
        h.members[0].disability_type = c->grade ? PHYSICAL : 0;
        memcpy(h.members[0].adl, c->adl, sizeof c->adl);
        /* not poor: the care allowance has no means test */
        h.hh.monthly_income_fen = 1000000;
        elig_decision out[ELIG_PROGRAMS];
        decide(&p, &s, &h.hh, 0, TODAY, out);
        expect(&out[DIS_CARE], c->name, c->eligible, c->eligible ? 25000 : 0, c->rule);
    }
}

/* ------------------------------------------------------------------------ */
/* A member leaving: recompute with n-1 members                             */
/* ------------------------------------------------------------------------ */

static void test_member_leaves(void **state)
{
    (void)state;
    elig_params p = params();
    elig_standard s = standard();
    elig_decision out[ELIG_PROGRAMS];
    house h;

    /* 3,300.00 over 3 is 1,100.00: 低保. A member without income leaves:
     * 3,300.00 over 2 is 1,650.00, over the line (but 低边). */
    house_init(&h, 3);
    h.hh.monthly_income_fen = 330000;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBAO], "3 members", true, 6000, "dibao.income_below_standard");
    h.hh.nmembers = 2;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBAO], "2 members", false, 0, "dibao.not_eligible.income");
    expect(&out[DIBIAN], "2 members", true, 0, "dibian.income_below_limit");
    expect_param(&out[DIBIAN], "members", 2);
    expect_param(&out[DIBIAN], "per_capita_income_fen", 165000);

    /* 4,600.00 over 4 is 1,150.00: not 低保. The earner of 1,500.00 leaves:
     * 3,100.00 over 3 is 1,033.33: 低保 of (1,120.00 - 1,033.33) x 3. */
    house_init(&h, 4);
    h.hh.monthly_income_fen = 460000;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBAO], "4 members", false, 0, "dibao.not_eligible.income");
    h.hh.nmembers = 3;
    h.hh.monthly_income_fen = 460000 - 150000;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBAO], "3 members", true, (STD_URBAN - 103333) * 3,
           "dibao.income_below_standard");

    /* assets per capita rise when a member leaves */
    house_init(&h, 2);
    h.hh.monthly_income_fen = 0;
    h.hh.financial_assets_fen = 2 * ASSET_LIMIT;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBAO], "assets over 2", true, 2 * STD_URBAN, "dibao.income_below_standard");
    h.hh.nmembers = 1;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBAO], "assets over 1", false, 0, "dibao.not_eligible.assets");
}

/* ------------------------------------------------------------------------ */
/* The deceased                                                             */
/* ------------------------------------------------------------------------ */

static void test_deceased(void **state)
{
    (void)state;
    elig_params p = params();
    elig_standard s = standard();
    house h;
    house_init(&h, 2);
    /* would qualify for everything it could */
    elig_person *x = &h.members[0];
    x->birth_yyyymmdd = born_years_ago(85);
    x->supporter = SUP_NONE;
    x->disability_grade = 1;
    x->disability_type = PHYSICAL;
    x->adl[0] = x->adl[1] = x->adl[2] = DEP;
    x->deceased = true;
    elig_decision out[ELIG_PROGRAMS];
    decide(&p, &s, &h.hh, 0, TODAY, out);
    static const char *const rules[ELIG_PROGRAMS] = {
        [DIBAO] = "dibao.not_eligible.deceased",
        [TEKUN] = "tekun.not_eligible.deceased",
        [DIBIAN] = "dibian.not_eligible.deceased",
        [RIGID] = "rigid.not_eligible.deceased",
        [AGE] = "age.not_eligible.deceased",
        [DIS_LIVING] = "dis_living.not_eligible.deceased",
        [DIS_CARE] = "dis_care.not_eligible.deceased",
    };
    for (int i = 1; i < ELIG_PROGRAMS; i++) {
        if (i == TEMP)
            continue;
        expect(&out[i], "deceased", false, 0, rules[i]);
        expect_trace(&out[i], "The person has died: no program applies.");
    }
    /* the living member: a household of one now (the dead do not count) */
    decide(&p, &s, &h.hh, 1, TODAY, out);
    expect(&out[DIBAO], "survivor", true, STD_URBAN, "dibao.income_below_standard");
    expect_param(&out[DIBAO], "members", 1);
}

/* ------------------------------------------------------------------------ */
/* Missing standard, bad subject, extreme values                            */
/* ------------------------------------------------------------------------ */

static void test_no_standard_and_bad_subject(void **state)
{
    (void)state;
    elig_params p = params();
    elig_standard s = standard();
    house h;
    house_init(&h, 1);
    h.members[0].birth_yyyymmdd = born_years_ago(85);
    h.members[0].disability_grade = 4;
    h.hh.urban_rural = UR_UNKNOWN;
    elig_decision out[ELIG_PROGRAMS];
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBAO], "no ur", false, 0, "dibao.not_eligible.no_standard");
    expect(&out[TEKUN], "no ur", false, 0, "tekun.not_eligible.no_standard");
    expect(&out[DIBIAN], "no ur", false, 0, "dibian.not_eligible.no_standard");
    expect(&out[RIGID], "no ur", false, 0, "rigid.not_eligible.no_standard");
    expect(&out[DIS_LIVING], "no ur", false, 0, "dis_living.not_eligible.no_standard");
    /* AGE needs no 低保 standard */
    expect(&out[AGE], "no ur", true, 10000, "age.band_80");

    h.hh.urban_rural = RURAL;
    s.dibao_rural_fen = 0;
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBAO], "no rural std", false, 0, "dibao.not_eligible.no_standard");
    expect_trace(&out[DIBAO], "No 低保 standard for rural households is set in 440106 from "
                              "2026-07-01.");

    decide(&p, &s, &h.hh, 1, TODAY, out);
    for (int i = 1; i < ELIG_PROGRAMS; i++) {
        assert_false(out[i].eligible);
        assert_string_equal(out[i].rule,
                            i == TEMP ? "" : "elig.subject_not_in_household");
    }
}

static void test_extreme_values(void **state)
{
    (void)state;
    elig_params p = params();
    elig_standard s = standard();
    /* the largest money intake lets through, 64 members */
    static elig_person many[64];
    for (size_t i = 0; i < 64; i++)
        many[i] = adult();
    elig_household hh = {.urban_rural = URBAN, .members = many, .nmembers = 64, .dwellings = 1};
    s.dibao_urban_fen = INT64_C(1000000000000000);
    elig_decision out[ELIG_PROGRAMS];
    decide(&p, &s, &hh, 0, TODAY, out);
    expect(&out[DIBAO], "huge standard", true, INT64_C(64000000000000000),
           "dibao.income_below_standard");
    expect_param(&out[DIBAO], "asset_limit_fen", INT64_C(24000000000000000));

    /* 32 incomes of 10^15 and the largest rigid spending; an absurd share
     * saturates rather than wraps */
    hh.monthly_income_fen = INT64_C(32000000000000000);
    hh.rigid_spending_12m_fen = INT64_C(3000000000000000);
    s = standard();
    s.disposable_income_monthly_fen = INT64_C(1000000000000000);
    p.rigid_share_permille = INT32_MAX;
    p.dibao_asset_months = INT64_MAX;
    decide(&p, &s, &hh, 0, TODAY, out);
    expect(&out[RIGID], "huge", false, 0, "rigid.not_eligible.spending");
    expect_param(&out[RIGID], "rigid_threshold_fen", INT64_MAX);
    expect_param(&out[DIBAO], "asset_limit_fen", INT64_MAX);
}

/* ------------------------------------------------------------------------ */
/* 临时救助                                                                 */
/* ------------------------------------------------------------------------ */

static void test_temp_kinds(void **state)
{
    (void)state;
    elig_params p = params();
    elig_standard s = standard();
    static const struct {
        Doudi__RiskKind kind;
        bool emergency;
    } kinds[] = {
        {DOUDI__RISK_KIND__RISK_KIND_ACCIDENT, true},
        {DOUDI__RISK_KIND__RISK_KIND_SUDDEN_SERIOUS_ILLNESS, true},
        {DOUDI__RISK_KIND__RISK_KIND_DISASTER, true},
        {DOUDI__RISK_KIND__RISK_KIND_FIRE, true},
        {DOUDI__RISK_KIND__RISK_KIND_SPENDING_SPIKE, true},
        {DOUDI__RISK_KIND__RISK_KIND_UNSPECIFIED, false},
        {DOUDI__RISK_KIND__RISK_KIND_LARGE_MEDICAL_SELF_PAY, false},
        {DOUDI__RISK_KIND__RISK_KIND_NEW_SEVERE_DISABILITY, false},
        {DOUDI__RISK_KIND__RISK_KIND_MAIN_EARNER_UNEMPLOYED, false},
        {DOUDI__RISK_KIND__RISK_KIND_HOUSEHOLD_MEMBER_DIED, false},
        {DOUDI__RISK_KIND__RISK_KIND_INCOME_DROP, false},
        {DOUDI__RISK_KIND__RISK_KIND_HOSPITAL_DISCHARGE, false},
        {DOUDI__RISK_KIND__RISK_KIND_SPOUSE_DIED, false},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        elig_decision d;
        memset(&d, 0x5a, sizeof d);
        bool r = elig_decide_temp(&p, &s, URBAN, kinds[i].kind, 50000, &d);
        assert_int_equal(r, kinds[i].emergency);
        if (!r) {
            /* fills nothing */
            unsigned char *b = (unsigned char *)&d;
            for (size_t j = 0; j < sizeof d; j++)
                assert_int_equal(b[j], 0x5a);
            continue;
        }
        check_well_formed(&d, "440106@20260701");
        assert_int_equal(d.program, TEMP);
        expect(&d, "emergency", true, 50000, "temp.quick_aid");
        expect_trace_part(&d, "no means test");
        expect_param(&d, "risk_kind", kinds[i].kind);
        expect_param(&d, "temp_decide_days", 3);
    }
}

typedef struct temp_case {
    const char *name;
    Doudi__UrbanRural ur;
    int64_t asked;
    int64_t amount;
    int64_t cap;
} temp_case;

static const temp_case temp_cases[] = {
    {"urban, within the cap", URBAN, 50000, 50000, STD_URBAN},
    {"urban, exactly the cap", URBAN, STD_URBAN, STD_URBAN, STD_URBAN},
    {"urban, one fen over the cap", URBAN, STD_URBAN + 1, STD_URBAN, STD_URBAN},
    {"urban, a big loss", URBAN, 50000000, STD_URBAN, STD_URBAN},
    {"urban, nothing reported: the cap", URBAN, 0, STD_URBAN, STD_URBAN},
    {"rural, one fen over the rural cap", RURAL, STD_RURAL + 1, STD_RURAL, STD_RURAL},
    {"rural, the urban cap is more than the rural", RURAL, STD_URBAN, STD_RURAL, STD_RURAL},
    {"not reported: the lower standard", UR_UNKNOWN, STD_URBAN, STD_RURAL, STD_RURAL},
};

static void test_temp_cap(void **state)
{
    (void)state;
    elig_params p = params();
    /* The emergency happened in Shenzhen, not where the person lives:
     * its standard applies. */
    elig_standard s = standard();
    strcpy(s.version, "4403@20260101");
    for (size_t i = 0; i < sizeof temp_cases / sizeof temp_cases[0]; i++) {
        const temp_case *c = &temp_cases[i];
        elig_decision d;
        assert_true(elig_decide_temp(&p, &s, c->ur, DOUDI__RISK_KIND__RISK_KIND_FIRE, c->asked, &d));
        check_well_formed(&d, "4403@20260101");
        expect(&d, c->name, true, c->amount, "temp.quick_aid");
        expect_param(&d, "quick_aid_cap_fen", c->cap);
        expect_param(&d, "requested_fen", c->asked);
    }
    elig_decision d;
    assert_true(elig_decide_temp(&p, &s, RURAL, DOUDI__RISK_KIND__RISK_KIND_DISASTER, 5000000, &d));
    expect_trace(&d, "The local 低保 standard for rural households in 4403 from 2026-01-01 is "
                     "950.00 yuan; quick aid is at most 1 × that = 950.00 yuan.");
    expect_trace(&d, "50,000.00 yuan asked or lost is more than the cap: quick aid of 950.00 "
                     "yuan.");
    /* a 0.5 multiple of an odd standard is rounded down: never over */
    p.temp_quick_aid_permille = 500;
    s.dibao_urban_fen = 100101;
    assert_true(elig_decide_temp(&p, &s, URBAN, DOUDI__RISK_KIND__RISK_KIND_ACCIDENT, 0, &d));
    expect(&d, "half of 1,001.01", true, 50050, "temp.quick_aid");
}

/* ------------------------------------------------------------------------ */
/* Care level                                                               */
/* ------------------------------------------------------------------------ */

static void test_care_level(void **state)
{
    (void)state;
    elig_params p = params();
    static const struct {
        Doudi__AdlAbility adl[6];
        Doudi__CareLevel level;
    } rows[] = {
        {{IND, IND, IND, IND, IND, IND}, DOUDI__CARE_LEVEL__CARE_LEVEL_SELF},
        {{HELP, IND, IND, IND, IND, IND}, DOUDI__CARE_LEVEL__CARE_LEVEL_HALF},
        {{DEP, DEP, IND, IND, IND, IND}, DOUDI__CARE_LEVEL__CARE_LEVEL_HALF},
        {{DEP, DEP, DEP, IND, IND, IND}, DOUDI__CARE_LEVEL__CARE_LEVEL_FULL},
        {{HELP, HELP, HELP, HELP, HELP, HELP}, DOUDI__CARE_LEVEL__CARE_LEVEL_HALF},
        {{UNK, UNK, UNK, UNK, UNK, UNK}, DOUDI__CARE_LEVEL__CARE_LEVEL_UNSPECIFIED},
        /* unreported ones count as independent: a lower bound */
        {{UNK, UNK, UNK, UNK, UNK, IND}, DOUDI__CARE_LEVEL__CARE_LEVEL_SELF},
        {{DEP, UNK, UNK, UNK, UNK, UNK}, DOUDI__CARE_LEVEL__CARE_LEVEL_HALF},
        {{DEP, DEP, DEP, UNK, UNK, UNK}, DOUDI__CARE_LEVEL__CARE_LEVEL_FULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_int_equal(elig_care_level(&p, rows[i].adl), rows[i].level);
    /* thresholds are configuration */
    p.full_care_dependent = 2;
    p.half_care_impaired = 2;
    const Doudi__AdlAbility two_dep[6] = {DEP, DEP, IND, IND, IND, IND};
    const Doudi__AdlAbility one_help[6] = {HELP, IND, IND, IND, IND, IND};
    assert_int_equal(elig_care_level(&p, two_dep), DOUDI__CARE_LEVEL__CARE_LEVEL_FULL);
    assert_int_equal(elig_care_level(&p, one_help), DOUDI__CARE_LEVEL__CARE_LEVEL_SELF);
}

/* The longest paths fill the most sentences and parameters: none may be
 * dropped or cut. */
static void test_longest_paths_fit(void **state)
{
    (void)state;
    elig_params p = params();
    p.vehicle_limit_fen = INT64_C(999999999999999);
    elig_standard s = standard();
    strcpy(s.version, "440106001001@20260701");
    s.dibao_urban_fen = INT64_C(999999999999999);
    house h;
    house_init(&h, 3);
    elig_person *x = &h.members[0];
    x->disability_grade = 3;
    x->disability_type = INTELLECTUAL;
    x->own_income_fen = INT64_C(999999999999998);
    h.hh.monthly_income_fen = 3 * INT64_C(1000000000000000);
    h.hh.financial_assets_fen = INT64_C(999999999999999);
    h.hh.max_vehicle_value_fen = INT64_C(999999999999999);
    h.hh.dwellings = 99;
    p.dibao_max_dwellings = 100;
    elig_decision out[ELIG_PROGRAMS];
    decide(&p, &s, &h.hh, 0, TODAY, out);
    expect(&out[DIBAO], "single, long numbers", true, 1000, "dibao.single_person_severe_disability");
    expect_trace_part(&out[DIBAO], "9,999,999,999,999.99");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dibao_table),
        cmocka_unit_test(test_dibao_trace_and_parameters),
        cmocka_unit_test(test_dibian_permille),
        cmocka_unit_test(test_tekun_permille),
        cmocka_unit_test(test_single_person),
        cmocka_unit_test(test_tekun_table),
        cmocka_unit_test(test_tekun_care_allowance),
        cmocka_unit_test(test_tekun_precedence),
        cmocka_unit_test(test_dibian_precedence_and_property),
        cmocka_unit_test(test_rigid_table),
        cmocka_unit_test(test_age_table),
        cmocka_unit_test(test_age_trace_and_unpaid_band),
        cmocka_unit_test(test_age_from_upgraded_15_digit_id),
        cmocka_unit_test(test_elig_age),
        cmocka_unit_test(test_dis_living_table),
        cmocka_unit_test(test_dis_care_table),
        cmocka_unit_test(test_member_leaves),
        cmocka_unit_test(test_deceased),
        cmocka_unit_test(test_no_standard_and_bad_subject),
        cmocka_unit_test(test_extreme_values),
        cmocka_unit_test(test_temp_kinds),
        cmocka_unit_test(test_temp_cap),
        cmocka_unit_test(test_care_level),
        cmocka_unit_test(test_longest_paths_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
