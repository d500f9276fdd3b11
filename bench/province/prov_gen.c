/*
 * prov_gen.c: see prov_gen.h.
 */
#include "prov_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#include "doudi/event.pb-c.h"

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
#define MIN_MS 60000LL
#define MAX_MEMBERS 6
#define COUNTY_SLOTS (PROV_CITIES * 6)
#define BIRTH_DAYS (125 * 366)
#define ENCODE_MAX 8192

typedef enum tier { TIER_NONE, TIER_GENERAL, TIER_KEY, TIER_HIGH } tier;

typedef struct person {
    char id[19];
    int age;
    bool male, child, elder;
    int grade, dtype;
    int living;
    int adl[6];
    int fps, work, supporter;
    int64_t income;               /* own monthly income: the verified value too */
    bool pension;
    int64_t pension_fen;
    bool main_earner, difficulty, ltc;
    /* what doudi-eligibility holds after the preload (engine.c) */
    bool unemployed;
    int dwellings;
    int nvehicles;
    int64_t vehicles[2];
    int64_t assets;
    int64_t last_medical;
    int64_t died_ms;
    tier expected_tier;
} person;

typedef struct household {
    char id[40];
    char village[13];
    bool urban;
    int kind;
    person m[MAX_MEMBERS];
    int n;
    int64_t wages, pensions, assets;
    int dwellings;
    int64_t vehicles[2];
    int nvehicles;
    int64_t medical, education;
    bool monitored;
    int64_t standard;
} household;

struct prov_gen {
    const prov_world *world;
    prov_options opt;
    prov_expect ex;
    uint16_t *birth_counters;     /* [county slot][day since 1900] */
    int64_t t0, t_end;            /* the month, Shanghai */
    int days;
    int month_year, month_month, start_day_number;
    uint64_t ack_counter;
    /* the township being generated */
    const prov_township *t;
    prov_rng rng;
    uint64_t serial;
    prov_block *pre, *mon;
    bool current_preload;
    uint8_t buf[ENCODE_MAX];
};

/* ---- encoding ------------------------------------------------------------ */

/* The 12-digit code of village v (1..999) of a 9-digit township. */
static void village_code(char out[13], const char *township9, unsigned v)
{
    memcpy(out, township9, 9);
    out[9] = (char)('0' + v / 100 % 10);
    out[10] = (char)('0' + v / 10 % 10);
    out[11] = (char)('0' + v % 10);
    out[12] = '\0';
}

/* Appends '-' and v in decimal at id[n]; returns the new length. */
static size_t put_decimal(char *id, size_t n, uint64_t v)
{
    char digits[20];
    int k = 0;
    do
        digits[k++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    id[n++] = '-';
    while (k)
        id[n++] = digits[--k];
    return n;
}

static void emit(prov_gen *g, prov_block *b, int64_t t, const char *source, const char *region,
                 Doudi__Envelope *env)
{
    /* "<source>-<seed>-<township>-<serial>", without printf: this runs for
     * every one of tens of millions of events */
    char id[96];
    size_t n = strlen(source);
    memcpy(id, source, n);
    n = put_decimal(id, n, g->opt.seed);
    n = put_decimal(id, n, g->t->index);
    n = put_decimal(id, n, ++g->serial);
    id[n] = '\0';
    env->event_id = id;
    env->source = (char *)source;
    env->occurred_at_ms = t;
    env->region_code = (char *)region;
    size_t len = doudi__envelope__get_packed_size(env);
    if (len > sizeof(g->buf))
        abort(); /* every event here is far smaller; a bug if not */
    doudi__envelope__pack(env, g->buf);
    prov_block_add(b, t, g->buf, len);
}

static void count(prov_gen *g, prov_phase_expect *ph, int kind, bool changed, bool unchanged)
{
    ph->by_kind[kind]++;
    ph->valid++;
    if (changed)
        ph->elig_changed++;
    if (unchanged)
        ph->elig_unchanged++;
    (void)g;
}

/* ---- the population ------------------------------------------------------ */

enum { K_ELDER_ALONE, K_ELDER_COUPLE, K_FAMILY, K_THREE_GEN, K_LEFT_BEHIND, K_SINGLE, K_DISABLED,
       K_TEKUN, K_KINDS };
static const int kind_weight[K_KINDS] = {8, 4, 43, 8, 2, 25, 6, 4};

static int pick_kind(prov_rng *r)
{
    int total = 0;
    for (int k = 0; k < K_KINDS; k++)
        total += kind_weight[k];
    int x = (int)prov_range(r, 0, total - 1);
    for (int k = 0; k < K_KINDS; k++) {
        if (x < kind_weight[k])
            return k;
        x -= kind_weight[k];
    }
    return K_FAMILY;
}

static void make_id(prov_gen *g, person *p)
{
    int pp = (g->t->code[2] - '0') * 10 + (g->t->code[3] - '0');
    int cc = (g->t->code[4] - '0') * 10 + (g->t->code[5] - '0');
    size_t slot = (size_t)((pp - 1) * 6 + (cc - 1));
    /* Born age years before the month, on a day drawn from that year. */
    int64_t day = g->start_day_number - (int64_t)p->age * 365 - p->age / 4 - prov_range(&g->rng, 1, 364);
    int64_t base = prov_days_from_civil(1900, 1, 1);
    for (;;) {
        int64_t k = day - base;
        if (k < 0)
            k = 0;
        if (k >= BIRTH_DAYS)
            k = BIRTH_DAYS - 1;
        uint16_t *c = &g->birth_counters[slot * BIRTH_DAYS + (size_t)k];
        if (*c < 499) {
            unsigned seq = (unsigned)(*c)++ * 2 + (p->male ? 1 : 0);
            int y, m, d;
            prov_civil_from_days(base + k, &y, &m, &d);
            char area[6];
            memcpy(area, g->t->code, 6);
            prov_id_make(p->id, area, y, m, d, seq);
            return;
        }
        day--; /* 500 people of one sex born that day here already: the day before */
    }
}

static int adl_draw(prov_rng *r, int age)
{
    double x = prov_unit(r) + (age > 75 ? (age - 75) * 0.012 : 0);
    return x < 0.78 ? 0 : x < 0.97 ? 1 : 2;
}

static void new_person(prov_gen *g, household *h, int age, bool male)
{
    person *p = &h->m[h->n++];
    memset(p, 0, sizeof(*p));
    prov_rng *r = &g->rng;
    p->age = age;
    p->male = male;
    p->child = age < 16; /* eligibility's child_age_limit */
    p->elder = age >= 60;
    make_id(g, p);
    p->living = DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_WITH_FAMILY;
    p->supporter = DOUDI__LEGAL_SUPPORTER__LEGAL_SUPPORTER_PRESENT;
    p->fps = age >= 40 ? DOUDI__FAMILY_PLANNING_SPECIAL__FAMILY_PLANNING_SPECIAL_NONE : 0;
    double disabled = p->elder ? 0.08 : p->child ? 0.02 : 0.05;
    if (prov_chance(r, disabled)) {
        int x = (int)prov_range(r, 0, 99);
        p->grade = x < 10 ? 1 : x < 30 ? 2 : x < 62 ? 3 : 4;
        p->dtype = (int)prov_range(r, 1, 7);
    }
    if (p->elder) {
        int level = adl_draw(r, age);
        for (int i = 0; i < 6; i++)
            p->adl[i] = level == 0 ? 1 : level == 1 ? (int)prov_range(r, 1, 2) : (int)prov_range(r, 2, 3);
        p->work = age >= 70 ? DOUDI__WORK_ABILITY__WORK_ABILITY_UNABLE : (int)prov_range(r, 2, 3);
        p->pension = prov_chance(r, 0.75);
        p->pension_fen = p->pension ? prov_range(r, 30000, 180000) : 0;
        p->income = p->pension_fen;
        if (prov_chance(r, 0.025))
            p->fps = prov_chance(r, 0.6) ? DOUDI__FAMILY_PLANNING_SPECIAL__FAMILY_PLANNING_SPECIAL_ONLY_CHILD_DIED
                                         : DOUDI__FAMILY_PLANNING_SPECIAL__FAMILY_PLANNING_SPECIAL_ONLY_CHILD_DISABLED;
        p->ltc = prov_chance(r, 0.012);
        g->ex.aged_60++;
        if (age >= 80)
            g->ex.aged_80++;
    } else if (p->child) {
        p->difficulty = prov_chance(r, p->grade ? 0.5 : 0.03);
    } else {
        p->work = p->grade && p->grade <= 2 ? DOUDI__WORK_ABILITY__WORK_ABILITY_UNABLE
                                            : prov_chance(r, 0.9) ? DOUDI__WORK_ABILITY__WORK_ABILITY_ABLE
                                                                  : DOUDI__WORK_ABILITY__WORK_ABILITY_PARTIAL;
        if (p->grade && p->grade <= 2)
            for (int i = 0; i < 6; i++)
                p->adl[i] = (int)prov_range(r, 1, 3);
        p->ltc = prov_chance(r, 0.003);
    }
    g->ex.disabled_grade[p->grade]++;
}

static int elder_age(prov_rng *r)
{
    /* 86 % 60-79, 14 % 80-100 */
    return prov_chance(r, 0.14) ? (int)prov_range(r, 80, 100) : (int)prov_range(r, 60, 79);
}

static bool coin(prov_rng *r)
{
    return prov_next(r) & 1;
}

static void populate(prov_gen *g, household *h)
{
    prov_rng *r = &g->rng;
    switch (h->kind) {
    case K_ELDER_ALONE:
        new_person(g, h, elder_age(r), coin(r));
        h->m[0].living = DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_ALONE;
        break;
    case K_ELDER_COUPLE:
        new_person(g, h, elder_age(r), true);
        new_person(g, h, elder_age(r), false);
        h->m[0].living = h->m[1].living = DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_EMPTY_NEST;
        break;
    case K_FAMILY: {
        new_person(g, h, (int)prov_range(r, 25, 55), true);
        new_person(g, h, (int)prov_range(r, 25, 55), false);
        int kids = (int)prov_range(r, 0, 3);
        for (int i = 0; i < kids && h->n < MAX_MEMBERS; i++)
            new_person(g, h, (int)prov_range(r, 0, 17), coin(r));
        break;
    }
    case K_THREE_GEN:
        new_person(g, h, elder_age(r), coin(r));
        new_person(g, h, (int)prov_range(r, 30, 55), true);
        new_person(g, h, (int)prov_range(r, 30, 55), false);
        new_person(g, h, (int)prov_range(r, 0, 17), coin(r));
        if (prov_chance(r, 0.3))
            new_person(g, h, elder_age(r), coin(r));
        break;
    case K_LEFT_BEHIND: {
        new_person(g, h, elder_age(r), coin(r));
        h->m[0].living = DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_LEFT_BEHIND;
        int kids = (int)prov_range(r, 1, 2);
        for (int i = 0; i < kids; i++) {
            new_person(g, h, (int)prov_range(r, 3, 15), coin(r));
            h->m[h->n - 1].living = DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_LEFT_BEHIND;
        }
        break;
    }
    case K_SINGLE:
        new_person(g, h, (int)prov_range(r, 18, 59), coin(r));
        break;
    case K_DISABLED:
        new_person(g, h, (int)prov_range(r, 20, 59), coin(r));
        h->m[0].grade = (int)prov_range(r, 1, 2);
        h->m[0].dtype = (int)prov_range(r, 1, 7);
        h->m[0].work = DOUDI__WORK_ABILITY__WORK_ABILITY_UNABLE;
        new_person(g, h, (int)prov_range(r, 20, 59), coin(r));
        break;
    default: /* K_TEKUN: alone, unable to work, nobody to support them */
        if (coin(r))
            new_person(g, h, elder_age(r), coin(r));
        else
            new_person(g, h, (int)prov_range(r, 30, 59), coin(r));
        h->m[0].living = h->m[0].elder && prov_chance(r, 0.2) ? DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_INSTITUTION
                                                               : DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_ALONE;
        h->m[0].work = DOUDI__WORK_ABILITY__WORK_ABILITY_UNABLE;
        h->m[0].supporter = DOUDI__LEGAL_SUPPORTER__LEGAL_SUPPORTER_NONE;
        break;
    }
}

/* Per-capita income as a multiple of the standard: most households near or
 * below twice the line, a share exactly at its edges. */
static void finances(prov_gen *g, household *h)
{
    prov_rng *r = &g->rng;
    double x = prov_unit(r), ratio;
    if (h->kind == K_TEKUN)
        ratio = 0.2 + 0.6 * prov_unit(r);
    else if (x < 0.04) {
        /* borderline: within 2 % of the 低保 line or of 1.5 times it */
        ratio = (coin(r) ? 1.0 : 1.5) * (0.98 + 0.04 * prov_unit(r));
        g->ex.borderline++;
    } else if (x < 0.20)
        ratio = 0.3 + 0.7 * prov_unit(r);
    else if (x < 0.32)
        ratio = 1.0 + 0.5 * prov_unit(r);
    else if (x < 0.62)
        ratio = 1.5 + 0.5 * prov_unit(r);
    else
        ratio = 2.0 + 2.0 * prov_unit(r);
    if (ratio < 1.0)
        g->ex.below_standard++;
    else if (ratio < 1.5)
        g->ex.marginal++;
    h->monitored = ratio < 2.0;
    int64_t total = (int64_t)(ratio * (double)h->standard * h->n);
    int64_t pensions = 0;
    for (int i = 0; i < h->n; i++)
        pensions += h->m[i].pension_fen;
    h->pensions = pensions;
    h->wages = total > pensions ? total - pensions : 0;
    /* Wages split among the adults able to work; the first is the main earner. */
    int earners = 0;
    for (int i = 0; i < h->n; i++)
        if (!h->m[i].child && !h->m[i].elder && h->m[i].work != DOUDI__WORK_ABILITY__WORK_ABILITY_UNABLE)
            earners++;
    int64_t left = h->wages;
    bool first = true;
    for (int i = 0; i < h->n; i++) {
        person *p = &h->m[i];
        if (p->child || p->elder || p->work == DOUDI__WORK_ABILITY__WORK_ABILITY_UNABLE)
            continue;
        int64_t share = --earners == 0 ? left : left / 2;
        p->income = share;
        left -= share;
        p->main_earner = first;
        first = false;
    }
    h->wages -= left; /* nobody to earn it: not declared */
    h->assets = prov_chance(r, 0.1) ? prov_range(r, 20, 30) * h->standard * h->n
                                    : prov_range(r, 0, 12) * h->standard * h->n;
    h->dwellings = prov_chance(r, 0.05) ? 0 : prov_chance(r, 0.05) ? 2 : 1;
    h->nvehicles = prov_chance(r, 0.15) ? 1 : 0;
    h->vehicles[0] = prov_range(r, 20000, 150000) * 100;
    h->medical = prov_chance(r, 0.1) ? prov_range(r, 1000, 60000) * 100 : 0;
    h->education = 0;
    for (int i = 0; i < h->n; i++)
        if (h->m[i].child && h->m[i].age >= 6)
            h->education += prov_range(r, 500, 5000) * 100;
    /* what the departments verified last month: the head holds the
     * property, vehicles and (most of) the assets */
    for (int i = 0; i < h->n; i++) {
        person *p = &h->m[i];
        p->dwellings = i == 0 ? h->dwellings : 0;
        p->nvehicles = i == 0 ? h->nvehicles : 0;
        p->vehicles[0] = h->vehicles[0];
        p->assets = i == 0 ? h->assets - h->assets / (2 * h->n) * (h->n - 1) : h->assets / (2 * h->n);
    }
}

static tier expected_tier(const person *p)
{
    if (p->ltc)
        return TIER_HIGH;
    bool alone = p->living == DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_ALONE ||
                 p->living == DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_EMPTY_NEST ||
                 p->living == DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_LEFT_BEHIND;
    if (p->elder) {
        if (alone && p->age >= 80)
            return TIER_HIGH;
        bool needs_help = false;
        for (int i = 0; i < 6; i++)
            needs_help |= p->adl[i] >= 2;
        if (alone || needs_help || p->age >= 80 || (p->grade && p->grade <= 2) ||
            p->fps == DOUDI__FAMILY_PLANNING_SPECIAL__FAMILY_PLANNING_SPECIAL_ONLY_CHILD_DIED ||
            p->fps == DOUDI__FAMILY_PLANNING_SPECIAL__FAMILY_PLANNING_SPECIAL_ONLY_CHILD_DISABLED)
            return TIER_KEY;
        return TIER_GENERAL;
    }
    if (p->grade && p->grade <= 2)
        return TIER_KEY;
    if (p->child && (p->difficulty || p->living == DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_LEFT_BEHIND))
        return TIER_KEY;
    return TIER_NONE;
}

/* ---- events -------------------------------------------------------------- */

static const char *const source_department[] = {
    NULL, "tax-feed", "social-insurance-feed", "medical-insurance-feed", "real-estate-feed",
    "vehicle-feed", "bank-feed", "education-feed", "disability-federation-feed", "civil-registry-feed"};

static void person_report(prov_gen *g, prov_block *b, prov_phase_expect *ph, int64_t t,
                          const household *h, const person *p)
{
    Doudi__PersonReported r = DOUDI__PERSON_REPORTED__INIT;
    Doudi__DailyLiving dl = DOUDI__DAILY_LIVING__INIT;
    r.person_id = (char *)p->id;
    r.household_id = (char *)h->id;
    r.disability_grade = p->grade;
    r.disability_type = p->dtype;
    if (p->elder || p->adl[0]) {
        dl.eating = p->adl[0];
        dl.dressing = p->adl[1];
        dl.getting_in_out_of_bed = p->adl[2];
        dl.toileting = p->adl[3];
        dl.walking_indoors = p->adl[4];
        dl.bathing = p->adl[5];
        r.daily_living = &dl;
    }
    r.living_arrangement = p->living;
    r.family_planning_special = p->fps;
    r.work_ability = p->work;
    r.legal_supporter = p->supporter;
    r.own_monthly_income_fen = p->income;
    r.main_earner = p->main_earner;
    r.child_in_difficulty = p->difficulty;
    r.life_threatening_condition = p->ltc;
    r.died_at_ms = p->died_ms;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.body_case = DOUDI__ENVELOPE__BODY_PERSON_REPORTED;
    env.person_reported = &r;
    emit(g, b, t, "civil-affairs", h->village, &env);
    count(g, ph, 10, true, false);
}

static void household_report(prov_gen *g, prov_block *b, prov_phase_expect *ph, int64_t t,
                             const household *h)
{
    Doudi__HouseholdReported r = DOUDI__HOUSEHOLD_REPORTED__INIT;
    char *ids[MAX_MEMBERS];
    for (int i = 0; i < h->n; i++)
        ids[i] = (char *)h->m[i].id;
    Doudi__Income wages = DOUDI__INCOME__INIT, pensions = DOUDI__INCOME__INIT;
    Doudi__Income *incomes[2];
    size_t ni = 0;
    wages.kind = DOUDI__INCOME_KIND__INCOME_KIND_WAGES;
    wages.monthly_fen = h->wages;
    pensions.kind = DOUDI__INCOME_KIND__INCOME_KIND_PENSION;
    pensions.monthly_fen = h->pensions;
    if (h->wages)
        incomes[ni++] = &wages;
    if (h->pensions)
        incomes[ni++] = &pensions;
    Doudi__RigidSpending rs = DOUDI__RIGID_SPENDING__INIT;
    rs.medical_fen = h->medical;
    rs.education_fen = h->education;
    r.household_id = (char *)h->id;
    r.urban_rural = h->urban ? DOUDI__URBAN_RURAL__URBAN_RURAL_URBAN : DOUDI__URBAN_RURAL__URBAN_RURAL_RURAL;
    r.n_member_person_ids = (size_t)h->n;
    r.member_person_ids = ids;
    r.n_incomes = ni;
    r.incomes = incomes;
    r.financial_assets_fen = h->assets;
    r.dwellings = h->dwellings;
    r.n_vehicle_values_fen = (size_t)h->nvehicles;
    r.vehicle_values_fen = (int64_t *)h->vehicles;
    r.rigid_spending_12_months = &rs;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.body_case = DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED;
    env.household_reported = &r;
    emit(g, b, t, "civil-affairs", h->village, &env);
    count(g, ph, 11, true, false);
}

/* A comparison record; the parts not NULL are present. */
typedef struct findings {
    Doudi__ComparisonRecord__IncomeFinding income;
    Doudi__ComparisonRecord__EmploymentFinding employment;
    Doudi__ComparisonRecord__PropertyFinding property;
    Doudi__ComparisonRecord__VehicleFinding vehicles;
    Doudi__ComparisonRecord__AssetFinding assets;
    Doudi__ComparisonRecord__MedicalStayFinding medical;
    Doudi__ComparisonRecord__SchoolingFinding schooling;
    Doudi__ComparisonRecord__DisabilityFinding disability;
    Doudi__ComparisonRecord__DeathFinding death;
} findings;

static void findings_init(findings *f)
{
    f->income = (Doudi__ComparisonRecord__IncomeFinding)DOUDI__COMPARISON_RECORD__INCOME_FINDING__INIT;
    f->employment = (Doudi__ComparisonRecord__EmploymentFinding)DOUDI__COMPARISON_RECORD__EMPLOYMENT_FINDING__INIT;
    f->property = (Doudi__ComparisonRecord__PropertyFinding)DOUDI__COMPARISON_RECORD__PROPERTY_FINDING__INIT;
    f->vehicles = (Doudi__ComparisonRecord__VehicleFinding)DOUDI__COMPARISON_RECORD__VEHICLE_FINDING__INIT;
    f->assets = (Doudi__ComparisonRecord__AssetFinding)DOUDI__COMPARISON_RECORD__ASSET_FINDING__INIT;
    f->medical = (Doudi__ComparisonRecord__MedicalStayFinding)DOUDI__COMPARISON_RECORD__MEDICAL_STAY_FINDING__INIT;
    f->schooling = (Doudi__ComparisonRecord__SchoolingFinding)DOUDI__COMPARISON_RECORD__SCHOOLING_FINDING__INIT;
    f->disability = (Doudi__ComparisonRecord__DisabilityFinding)DOUDI__COMPARISON_RECORD__DISABILITY_FINDING__INIT;
    f->death = (Doudi__ComparisonRecord__DeathFinding)DOUDI__COMPARISON_RECORD__DEATH_FINDING__INIT;
}

static void emit_comparison(prov_gen *g, prov_block *b, int64_t t, const household *h, const person *p,
                            Doudi__Department dept, int period, Doudi__ComparisonRecord *c)
{
    c->subject_person_id = (char *)p->id;
    c->department = dept;
    c->period_yyyymm = period;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.body_case = DOUDI__ENVELOPE__BODY_COMPARISON_RECORD;
    env.comparison_record = c;
    emit(g, b, t, source_department[dept], h->village, &env);
}

static int previous_month(int yyyymm)
{
    return yyyymm % 100 == 1 ? (yyyymm / 100 - 1) * 100 + 12 : yyyymm - 1;
}

/* Last month's verified findings of one monitored person, in one record. */
static void baseline(prov_gen *g, int64_t t, const household *h, const person *p)
{
    findings f;
    findings_init(&f);
    Doudi__ComparisonRecord c = DOUDI__COMPARISON_RECORD__INIT;
    f.income.monthly_income_fen = p->income;
    f.employment.receiving_pension = p->pension;
    f.employment.monthly_pension_fen = p->pension_fen;
    f.property.dwellings = p->dwellings;
    f.vehicles.n_vehicle_values_fen = (size_t)p->nvehicles;
    f.vehicles.vehicle_values_fen = (int64_t *)p->vehicles;
    f.assets.financial_assets_fen = p->assets;
    c.income = &f.income;
    c.employment = &f.employment;
    c.property = &f.property;
    c.vehicles = &f.vehicles;
    c.assets = &f.assets;
    emit_comparison(g, g->pre, t, h, p, DOUDI__DEPARTMENT__DEPARTMENT_TAX, previous_month(g->opt.month_yyyymm), &c);
    /* a first income finding always changes the registry */
    count(g, &g->ex.preload, 12, true, false);
}

static int64_t differ(prov_rng *r, int64_t v, int64_t floor_fen)
{
    int64_t n = v + (v / 100) * prov_range(r, -30, 30);
    if (n < floor_fen)
        n = floor_fen;
    return n == v ? v + 100 : n;
}

/* The eight monthly feeds of one monitored person. */
static void feeds(prov_gen *g, household *h, person *p, int pidx)
{
    prov_rng *r = &g->rng;
    int period = g->opt.month_yyyymm;
    for (int d = 1; d <= 8; d++) {
        Doudi__Department dept = d == 7 ? DOUDI__DEPARTMENT__DEPARTMENT_EDUCATION
                                 : d == 8 ? DOUDI__DEPARTMENT__DEPARTMENT_DISABILITY_FEDERATION
                                          : (Doudi__Department)d;
        /* each department's batch arrives on its own day, in the small hours */
        int64_t t = g->t0 + (2 + 3 * (d - 1)) * DAY_MS + HOUR_MS + ((int64_t)pidx * 97) % (4 * HOUR_MS);
        findings f;
        findings_init(&f);
        Doudi__ComparisonRecord c = DOUDI__COMPARISON_RECORD__INIT;
        bool changed = false;
        switch (d) {
        case DOUDI__DEPARTMENT__DEPARTMENT_TAX:
            if (prov_chance(r, 0.12)) {
                p->income = differ(r, p->income, 0);
                changed = true;
            }
            f.income.monthly_income_fen = p->income;
            c.income = &f.income;
            break;
        case DOUDI__DEPARTMENT__DEPARTMENT_SOCIAL_INSURANCE:
            if (prov_chance(r, 0.06)) {
                if (p->pension) {
                    p->pension_fen += p->pension_fen / 33 + 100;
                    changed = true;
                } else if (!p->child && !p->elder) {
                    p->unemployed = !p->unemployed;
                    changed = true;
                }
            }
            f.employment.registered_unemployed = p->unemployed;
            f.employment.receiving_pension = p->pension;
            f.employment.monthly_pension_fen = p->pension_fen;
            c.employment = &f.employment;
            break;
        case DOUDI__DEPARTMENT__DEPARTMENT_MEDICAL_INSURANCE:
            /* nothing found, unless the person was in hospital */
            if (prov_chance(r, 0.04)) {
                int64_t pay;
                do
                    pay = prov_range(r, 200, 20000) * 100;
                while (pay == p->last_medical);
                p->last_medical = pay;
                f.medical.self_pay_fen = pay;
                f.medical.admitted_at_ms = t - prov_range(r, 3, 20) * DAY_MS;
                f.medical.discharged_at_ms = prov_chance(r, 0.8) ? t - prov_range(r, 0, 2) * DAY_MS : 0;
                c.medical_stay = &f.medical;
                changed = true;
            }
            break;
        case DOUDI__DEPARTMENT__DEPARTMENT_REAL_ESTATE:
            if (prov_chance(r, 0.01)) {
                p->dwellings++;
                changed = true;
            }
            f.property.dwellings = p->dwellings;
            c.property = &f.property;
            break;
        case DOUDI__DEPARTMENT__DEPARTMENT_VEHICLES:
            if (prov_chance(r, 0.01) && p->nvehicles < 2) {
                p->vehicles[p->nvehicles++] = prov_range(r, 20000, 150000) * 100;
                changed = true;
            }
            f.vehicles.n_vehicle_values_fen = (size_t)p->nvehicles;
            f.vehicles.vehicle_values_fen = p->vehicles;
            c.vehicles = &f.vehicles;
            break;
        case DOUDI__DEPARTMENT__DEPARTMENT_BANKS:
            if (prov_chance(r, 0.15)) {
                p->assets = differ(r, p->assets, 0);
                changed = true;
            }
            f.assets.financial_assets_fen = p->assets;
            c.assets = &f.assets;
            break;
        case DOUDI__DEPARTMENT__DEPARTMENT_EDUCATION:
            /* schooling is recorded, never decides anything by itself */
            f.schooling.enrolled = p->child && p->age >= 6;
            f.schooling.yearly_fees_fen = f.schooling.enrolled ? 120000 : 0;
            c.schooling = &f.schooling;
            break;
        default: /* disability federation */
            if (prov_chance(r, 0.005)) {
                p->grade = p->grade == 0 ? (int)prov_range(r, 3, 4) : p->grade > 1 ? p->grade - 1 : 2;
                p->dtype = p->dtype ? p->dtype : (int)prov_range(r, 1, 7);
                changed = true;
            }
            f.disability.disability_grade = p->grade;
            f.disability.disability_type = p->dtype;
            c.disability = &f.disability;
            break;
        }
        emit_comparison(g, g->mon, t, h, p, dept, period, &c);
        count(g, &g->ex.month, 12, changed, !changed);
        if (changed)
            g->ex.comparison_changed++;
    }
}

static const char *worker_of(char out[40], const household *h, const person *p)
{
    snprintf(out, 40, "w-%s-%s", h->village, p->child ? "cd" : "va");
    return out;
}

/* The id of the object the next event carries: "<prefix>-<seed>-<township>-
 * <serial>", with the serial emit() is about to give that event. */
static void next_object_id(const prov_gen *g, const char *prefix, char *out, size_t size)
{
    snprintf(out, size, "%s-%llu-%u-%llu", prefix, (unsigned long long)g->opt.seed, g->t->index,
             (unsigned long long)g->serial + 1);
}

/* One visit report of person p by worker at t, in block b. */
static void visit_report(prov_gen *g, prov_block *b, prov_phase_expect *ph, const household *h,
                         const person *p, const char *worker, int64_t t)
{
    prov_rng *r = &g->rng;
    Doudi__VisitReport v = DOUDI__VISIT_REPORT__INIT;
    char vid[64];
    next_object_id(g, "v", vid, sizeof(vid));
    v.visit_id = vid;
    v.subject_person_id = (char *)p->id;
    v.worker_id = (char *)worker;
    v.visited_at_ms = t;
    int x = (int)prov_range(r, 0, 99);
    v.outcome = x < 85 ? DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_VISITED
              : x < 93 ? DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_BY_PHONE_OR_VIDEO
              : x < 98 ? DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_NOT_AT_HOME
                       : DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_REFUSED;
    Doudi__VisitFinding fs[3], *fp[3];
    static const char *const notes[] = {"身体状况稳定，按时服药", "独居，需关注用电安全",
                                        "家中有人照料", "行动不便，建议增加探访"};
    size_t nf = v.outcome == DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_VISITED ? (size_t)prov_range(r, 1, 3) : 0;
    for (size_t k = 0; k < nf; k++) {
        fs[k] = (Doudi__VisitFinding)DOUDI__VISIT_FINDING__INIT;
        fs[k].area = (Doudi__FindingArea)prov_range(r, 1, 12);
        fs[k].severity = prov_chance(r, 0.003) ? DOUDI__FINDING_SEVERITY__FINDING_SEVERITY_DANGER
                       : prov_chance(r, 0.1) ? DOUDI__FINDING_SEVERITY__FINDING_SEVERITY_CONCERN
                                             : DOUDI__FINDING_SEVERITY__FINDING_SEVERITY_OK;
        fs[k].note = (char *)notes[prov_range(r, 0, 3)];
        fp[k] = &fs[k];
    }
    v.n_findings = nf;
    v.findings = fp;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.body_case = DOUDI__ENVELOPE__BODY_VISIT_REPORT;
    env.visit_report = &v;
    emit(g, b, t, "visit-app", h->village, &env);
    count(g, ph, 16, false, false);
}

static void visits(prov_gen *g, household *h, person *p, int64_t until)
{
    prov_rng *r = &g->rng;
    int n = 0;
    int64_t at[5];
    switch (p->expected_tier) {
    case TIER_HIGH:
        for (int w = 0; w < 4; w++)
            at[n++] = g->t0 + (7 * w + prov_range(r, 0, 6)) * DAY_MS;
        break;
    case TIER_KEY:
        at[n++] = g->t0 + prov_range(r, 0, g->days - 3) * DAY_MS;
        break;
    case TIER_GENERAL:
        if (prov_range(r, 0, 2) == 0)
            at[n++] = g->t0 + prov_range(r, 0, g->days - 3) * DAY_MS;
        break;
    default:
        break;
    }
    char worker[40];
    worker_of(worker, h, p);
    for (int i = 0; i < n; i++) {
        int64_t t = at[i] + prov_range(r, 9 * 60, 17 * 60) * MIN_MS + prov_range(r, 0, 59999);
        g->ex.visits_scheduled++;
        if (prov_chance(r, g->opt.miss_rate) || t >= until) {
            g->ex.visits_missed++;
            continue;
        }
        visit_report(g, g->mon, &g->ex.month, h, p, worker, t);
    }
}

/*
 * Last month's visit of a person on a monthly plan, the evening before the
 * month, missed at the month's miss rate. A monthly plan started the day
 * before owes its first visit by the end of that day (sched_cadence.h):
 * without these the month opened with every key person's visit overdue
 * (about a million alerts in the province, each escalated up to four
 * times), as if nobody had been visited the month before.
 */
static void last_month_visit(prov_gen *g, const household *h, const person *p, int64_t t)
{
    if (p->expected_tier != TIER_KEY || prov_chance(&g->rng, g->opt.miss_rate))
        return;
    char worker[40];
    visit_report(g, g->pre, &g->ex.preload, h, p, worker_of(worker, h, p), t);
}

static void risk_signal(prov_gen *g, const household *h, const person *p, int64_t t,
                        Doudi__RiskKind kind, int64_t amount, const char *where, const char *text)
{
    Doudi__RiskSignal s = DOUDI__RISK_SIGNAL__INIT;
    s.subject_person_id = (char *)p->id;
    s.household_id = (char *)h->id;
    s.kind = kind;
    s.amount_fen = amount;
    s.description = (char *)text;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.body_case = DOUDI__ENVELOPE__BODY_RISK_SIGNAL;
    env.risk_signal = &s;
    emit(g, g->mon, t, "hotline", where, &env);
    count(g, &g->ex.month, 13, true, false);
}

static void enrolment(prov_gen *g, const household *h, const person *p, int64_t t, Doudi__Program program,
                      int64_t amount, const char *reason)
{
    Doudi__EnrolmentChange c = DOUDI__ENROLMENT_CHANGE__INIT;
    char worker[40];
    snprintf(worker, sizeof(worker), "w-%s-sw1", g->t->code);
    c.person_id = (char *)p->id;
    c.household_id = (char *)h->id;
    c.program = program;
    c.action = DOUDI__ENROLMENT_ACTION__ENROLMENT_ACTION_ENROLLED;
    c.monthly_amount_fen = amount;
    c.effective_at_ms = t;
    c.decided_by_worker_id = worker;
    c.reason = (char *)reason;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.body_case = DOUDI__ENVELOPE__BODY_ENROLMENT_CHANGE;
    env.enrolment_change = &c;
    emit(g, g->mon, t, "case-system", h->village, &env);
    count(g, &g->ex.month, 15, true, false);
}

static void application(prov_gen *g, const household *h, const person *p, int64_t t, Doudi__Program program)
{
    Doudi__Application a = DOUDI__APPLICATION__INIT;
    char id[64];
    next_object_id(g, "app", id, sizeof(id));
    a.application_id = id;
    a.applicant_person_id = (char *)p->id;
    a.household_id = (char *)h->id;
    a.program = program;
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.body_case = DOUDI__ENVELOPE__BODY_APPLICATION;
    env.application = &a;
    emit(g, g->mon, t, "assistance-portal", h->village, &env);
    count(g, &g->ex.month, 14, true, false);
}

static int64_t month_time(prov_gen *g, int first_day, int last_day)
{
    if (last_day > g->days - 1)
        last_day = g->days - 1;
    return g->t0 + prov_range(&g->rng, first_day, last_day) * DAY_MS + prov_range(&g->rng, 0, DAY_MS - 1);
}

static void month_of_person(prov_gen *g, household *h, person *p, int pidx)
{
    prov_rng *r = &g->rng;
    if (h->monitored)
        feeds(g, h, p, pidx);
    /* deaths happen on the last day, after every visit and feed */
    int64_t death_at = 0;
    if (prov_chance(r, p->elder ? 0.004 : 0.0005))
        death_at = g->t0 + (g->days - 1) * DAY_MS + prov_range(r, 0, DAY_MS - 1);
    visits(g, h, p, death_at ? death_at : g->t_end);
    if (prov_chance(r, 0.01)) {
        static const Doudi__RiskKind kinds[] = {
            DOUDI__RISK_KIND__RISK_KIND_INCOME_DROP, DOUDI__RISK_KIND__RISK_KIND_HOSPITAL_DISCHARGE,
            DOUDI__RISK_KIND__RISK_KIND_SPOUSE_DIED, DOUDI__RISK_KIND__RISK_KIND_LARGE_MEDICAL_SELF_PAY,
            DOUDI__RISK_KIND__RISK_KIND_MAIN_EARNER_UNEMPLOYED};
        Doudi__RiskKind k = kinds[prov_range(r, 0, 4)];
        risk_signal(g, h, p, month_time(g, 0, g->days - 2), k,
                    k == DOUDI__RISK_KIND__RISK_KIND_LARGE_MEDICAL_SELF_PAY ? prov_range(r, 500, 5000) * 100 : 0,
                    h->village, "村委会电话报告");
    }
    if (prov_chance(r, 0.005)) {
        static const Doudi__RiskKind kinds[] = {
            DOUDI__RISK_KIND__RISK_KIND_FIRE, DOUDI__RISK_KIND__RISK_KIND_ACCIDENT,
            DOUDI__RISK_KIND__RISK_KIND_DISASTER, DOUDI__RISK_KIND__RISK_KIND_SUDDEN_SERIOUS_ILLNESS};
        char where[13];
        memcpy(where, h->village, 13);
        if (prov_chance(r, 0.1)) {
            /* it happened elsewhere in the province */
            const prov_township *o = &g->world->townships[prov_range(r, 0, (int64_t)g->world->ntownships - 1)];
            village_code(where, o->code, (unsigned)prov_range(r, 1, o->villages));
        }
        int64_t t = month_time(g, 0, g->days - 3);
        risk_signal(g, h, p, t, kinds[prov_range(r, 0, 3)], prov_range(r, 1000, 50000) * 100, where,
                    "突发事件，急需救助");
        g->ex.emergencies++;
        if (prov_chance(r, 0.9))
            enrolment(g, h, p, t + prov_range(r, 2, 36) * HOUR_MS, DOUDI__PROGRAM__PROGRAM_TEMP,
                      prov_range(r, 500, 3000) * 100, "临时救助，先行救助");
    }
    if (prov_chance(r, 0.025)) {
        static const Doudi__Program programs[] = {DOUDI__PROGRAM__PROGRAM_DIBAO, DOUDI__PROGRAM__PROGRAM_DIBIAN,
                                                   DOUDI__PROGRAM__PROGRAM_RIGID, DOUDI__PROGRAM__PROGRAM_DIS_LIVING};
        Doudi__Program prog = programs[prov_range(r, 0, 3)];
        int64_t t = month_time(g, 0, g->days - 12);
        application(g, h, p, t, prog);
        if (prov_chance(r, 0.5))
            enrolment(g, h, p, t + prov_range(r, 5, 10) * DAY_MS, prog, prov_range(r, 100, 1500) * 100,
                      "审核通过");
    }
    if (p->elder && !death_at && prov_chance(r, 0.003)) {
        /* moved in with family, or left alone */
        p->living = p->living == DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_WITH_FAMILY
                        ? DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_ALONE
                        : DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_WITH_FAMILY;
        person_report(g, g->mon, &g->ex.month, g->t0 + (g->days - 2) * DAY_MS + prov_range(r, 0, DAY_MS - 1), h, p);
    }
    if (death_at) {
        g->ex.deaths++;
        p->died_ms = death_at;
        if (coin(r)) {
            person_report(g, g->mon, &g->ex.month, death_at, h, p);
        } else {
            findings f;
            findings_init(&f);
            Doudi__ComparisonRecord c = DOUDI__COMPARISON_RECORD__INIT;
            f.death.died_at_ms = death_at;
            c.death = &f.death;
            emit_comparison(g, g->mon, death_at, h, p, DOUDI__DEPARTMENT__DEPARTMENT_CIVIL_REGISTRY,
                            g->opt.month_yyyymm, &c);
            count(g, &g->ex.month, 12, true, false);
            g->ex.comparison_changed++;
        }
    }
}

static void roster(prov_gen *g, int64_t t)
{
    const prov_township *tw = g->t;
    unsigned social_workers = 2 + tw->villages / 8;
    for (unsigned v = 1; v <= tw->villages; v++) {
        char village[13];
        village_code(village, tw->code, v);
        for (int role = 0; role < 2 + (v <= social_workers); role++) {
            char id[40];
            Doudi__RosterChange rc = DOUDI__ROSTER_CHANGE__INIT;
            if (role == 0) {
                snprintf(id, sizeof(id), "w-%s-va", village);
                rc.role = DOUDI__WORKER_ROLE__WORKER_ROLE_VILLAGE_ASSISTANT;
                rc.monthly_visit_capacity = 80;
            } else if (role == 1) {
                snprintf(id, sizeof(id), "w-%s-cd", village);
                rc.role = DOUDI__WORKER_ROLE__WORKER_ROLE_CHILDREN_DIRECTOR;
                rc.monthly_visit_capacity = 40;
            } else {
                /* the township station's social workers live in its first villages */
                snprintf(id, sizeof(id), "w-%s-sw%u", tw->code, v);
                rc.role = DOUDI__WORKER_ROLE__WORKER_ROLE_TOWNSHIP_SOCIAL_WORKER;
                rc.monthly_visit_capacity = 120;
            }
            rc.worker_id = id;
            rc.action = DOUDI__ROSTER_ACTION__ROSTER_ACTION_JOINED;
            Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
            env.body_case = DOUDI__ENVELOPE__BODY_ROSTER_CHANGE;
            env.roster_change = &rc;
            emit(g, g->pre, t, "roster", village, &env);
            count(g, &g->ex.preload, 17, false, false);
            g->ex.workers++;
        }
    }
}

static void acknowledgements(prov_gen *g, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        Doudi__AlertAcknowledgement a = DOUDI__ALERT_ACKNOWLEDGEMENT__INIT;
        /* Alert ids are given by doudi-alerts in the order it consumes, which
         * no generator can know: the province's duty desk, on every alert's
         * ladder, takes the earliest ids in hand. */
        char id[32];
        snprintf(id, sizeof(id), "A%llu", (unsigned long long)++g->ack_counter);
        a.alert_id = id;
        a.action = DOUDI__ACKNOWLEDGEMENT_ACTION__ACKNOWLEDGEMENT_ACTION_ACKNOWLEDGED;
        a.by_worker_id = "w-440000-duty";
        a.note = "已电话联系，安排上门";
        Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
        env.body_case = DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT;
        env.alert_acknowledgement = &a;
        emit(g, g->mon, month_time(g, g->days - 4, g->days - 1), "alert-desk", "440000000000", &env);
        count(g, &g->ex.month, 18, false, false);
    }
}

/* Deliberate mistakes that intake must refuse, each with a known reason. */
static void invalid_event(prov_gen *g, int reason, const household *h)
{
    int64_t t = month_time(g, 0, g->days - 1);
    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    Doudi__RiskSignal s = DOUDI__RISK_SIGNAL__INIT;
    char pid[19], region[13];
    memcpy(pid, h->m[0].id, 19);
    memcpy(region, h->village, 13);
    s.kind = DOUDI__RISK_KIND__RISK_KIND_INCOME_DROP;
    if (reason == PROV_INVALID_ID_CHECK)
        pid[17] = pid[17] == '0' ? '1' : '0'; /* a mistyped check character */
    else if (reason == PROV_INVALID_REGION)
        memcpy(region + 6, "999999", 6); /* no such township */
    else
        s.amount_fen = -100;
    s.subject_person_id = pid;
    env.body_case = DOUDI__ENVELOPE__BODY_RISK_SIGNAL;
    env.risk_signal = &s;
    emit(g, g->mon, t, "hotline", region, &env);
    g->ex.invalid[reason]++;
}

const char *prov_invalid_label(int reason)
{
    static const char *const labels[] = {"id_bad_check", "region_unknown", "negative_money"};
    return reason >= 0 && reason < PROV_INVALID_REASONS ? labels[reason] : "?";
}

/* ---- the township --------------------------------------------------------- */

prov_gen *prov_gen_new(const prov_world *world, const prov_options *options)
{
    prov_gen *g = dd_calloc(1, sizeof(*g));
    g->world = world;
    g->opt = *options;
    g->birth_counters = dd_calloc((size_t)COUNTY_SLOTS * BIRTH_DAYS, sizeof(uint16_t));
    g->month_year = options->month_yyyymm / 100;
    g->month_month = options->month_yyyymm % 100;
    int ny = g->month_month == 12 ? g->month_year + 1 : g->month_year;
    int nm = g->month_month == 12 ? 1 : g->month_month + 1;
    g->start_day_number = (int)prov_days_from_civil(g->month_year, g->month_month, 1);
    g->days = (int)(prov_days_from_civil(ny, nm, 1) - g->start_day_number);
    /* midnight in Asia/Shanghai (UTC+8, no daylight saving) */
    g->t0 = (int64_t)g->start_day_number * DAY_MS - 8 * HOUR_MS;
    g->t_end = g->t0 + g->days * DAY_MS;
    g->ex.month_start_ms = g->t0;
    g->ex.month_end_ms = g->t_end;
    return g;
}

void prov_gen_destroy(prov_gen **gen)
{
    if (!*gen)
        return;
    free((*gen)->birth_counters);
    free(*gen);
    *gen = NULL;
}

const prov_expect *prov_gen_expect(const prov_gen *g)
{
    return &g->ex;
}

void prov_gen_township(prov_gen *g, const prov_township *t, uint64_t households, unsigned invalid,
                       prov_block *preload, prov_block *month)
{
    g->t = t;
    g->pre = preload;
    g->mon = month;
    g->serial = 0;
    prov_rng_seed(&g->rng, g->opt.seed, t->index, 0x70726f76ULL);
    g->ex.townships++;
    g->ex.villages += t->villages;
    int64_t day_before = g->t0 - DAY_MS;
    roster(g, day_before + HOUR_MS);
    bool city_one = strncmp(t->code, "4401", 4) == 0;
    bool urban = (t->code[6] - '0') * 100 + (t->code[7] - '0') * 10 + (t->code[8] - '0') < 100;
    uint64_t risks_before = g->ex.month.by_kind[13];
    household *h = dd_calloc(1, sizeof(*h));
    for (uint64_t k = 0; k < households; k++) {
        memset(h, 0, sizeof(*h));
        unsigned v = 1 + (unsigned)(k % t->villages);
        village_code(h->village, t->code, v);
        snprintf(h->id, sizeof(h->id), "hh-%s-%05llu", h->village, (unsigned long long)(k / t->villages + 1));
        h->urban = urban;
        /* 低保 standards of deploy/standards-demo.csv: 4401 uniform, else the province's */
        h->standard = city_one ? 140000 : urban ? 110000 : 90000;
        h->kind = pick_kind(&g->rng);
        populate(g, h);
        finances(g, h);
        g->ex.households++;
        g->ex.persons += (uint64_t)h->n;
        /* the state before the month: the household, its members, last month's findings */
        int64_t t_hh = day_before + 2 * HOUR_MS + (int64_t)(k % 3000000) * 10;
        household_report(g, preload, &g->ex.preload, t_hh, h);
        for (int i = 0; i < h->n; i++) {
            h->m[i].expected_tier = expected_tier(&h->m[i]);
            g->ex.tier_expected[h->m[i].expected_tier]++;
            person_report(g, preload, &g->ex.preload, t_hh + 1 + i, h, &h->m[i]);
        }
        if (h->monitored) {
            for (int i = 0; i < h->n; i++)
                baseline(g, t_hh + 8 + i, h, &h->m[i]);
            g->ex.monitored += (uint64_t)h->n;
        }
        /* in the evening, after every township's registry is in */
        for (int i = 0; i < h->n; i++)
            last_month_visit(g, h, &h->m[i],
                             day_before + 18 * HOUR_MS + (int64_t)(k % 3000000) * 10 + i);
        /* the month */
        for (int i = 0; i < h->n; i++)
            month_of_person(g, h, &h->m[i], (int)(k * MAX_MEMBERS + (uint64_t)i));
        if (prov_chance(&g->rng, 0.01)) {
            h->wages = differ(&g->rng, h->wages, 0);
            household_report(g, month, &g->ex.month, month_time(g, 0, g->days - 2), h);
        }
        if (invalid && k == 0) {
            for (unsigned i = 0; i < invalid; i++)
                invalid_event(g, (int)((t->index + i) % PROV_INVALID_REASONS), h);
        }
    }
    free(h);
    acknowledgements(g, (g->ex.month.by_kind[13] - risks_before) / 2);
}
