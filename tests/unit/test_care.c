/*
 * test_care.c: care categories, visit tiers and missing information
 * (care.h), table by table: every category, every tier rule at its age
 * boundary (80 on the birthday, 16 for children), alone against with
 * family, a danger found at the last visit, a life-threatening condition,
 * the deceased, the gaps that keep an elderly person from being classified,
 * and elig_care_differs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "care.h"
#include "rules.h"

#define TODAY 20260715

#define ALONE DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_ALONE
#define FAMILY DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_WITH_FAMILY
#define EMPTY DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_EMPTY_NEST
#define LEFT DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_LEFT_BEHIND
#define INST DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_INSTITUTION
#define LIV_UNK DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_UNSPECIFIED

#define IND DOUDI__ADL_ABILITY__ADL_ABILITY_INDEPENDENT
#define HELP DOUDI__ADL_ABILITY__ADL_ABILITY_NEEDS_HELP
#define DEP DOUDI__ADL_ABILITY__ADL_ABILITY_DEPENDENT
#define UNK DOUDI__ADL_ABILITY__ADL_ABILITY_UNSPECIFIED

#define FP_NONE DOUDI__FAMILY_PLANNING_SPECIAL__FAMILY_PLANNING_SPECIAL_NONE
#define FP_DIED DOUDI__FAMILY_PLANNING_SPECIAL__FAMILY_PLANNING_SPECIAL_ONLY_CHILD_DIED
#define FP_DISABLED DOUDI__FAMILY_PLANNING_SPECIAL__FAMILY_PLANNING_SPECIAL_ONLY_CHILD_DISABLED

/* Category numbers, short. */
#define C_ALONE DOUDI__CARE_CATEGORY__CARE_CATEGORY_ELDERLY_LIVING_ALONE
#define C_EMPTY DOUDI__CARE_CATEGORY__CARE_CATEGORY_ELDERLY_EMPTY_NEST
#define C_LEFT DOUDI__CARE_CATEGORY__CARE_CATEGORY_ELDERLY_LEFT_BEHIND
#define C_ADL DOUDI__CARE_CATEGORY__CARE_CATEGORY_ELDERLY_DISABLED_IN_DAILY_LIVING
#define C_SEVERE DOUDI__CARE_CATEGORY__CARE_CATEGORY_SEVERELY_DISABLED
#define C_FP DOUDI__CARE_CATEGORY__CARE_CATEGORY_FAMILY_PLANNING_SPECIAL
#define C_OLD DOUDI__CARE_CATEGORY__CARE_CATEGORY_ADVANCED_AGE
#define C_TEKUN DOUDI__CARE_CATEGORY__CARE_CATEGORY_TEKUN_DISPERSED
#define C_CHILD DOUDI__CARE_CATEGORY__CARE_CATEGORY_CHILD_IN_DIFFICULTY
#define C_LBCHILD DOUDI__CARE_CATEGORY__CARE_CATEGORY_LEFT_BEHIND_CHILD
#define C_REG DOUDI__CARE_CATEGORY__CARE_CATEGORY_REGISTERED_ELDERLY

#define T_NONE DOUDI__VISIT_TIER__VISIT_TIER_NONE
#define T_GENERAL DOUDI__VISIT_TIER__VISIT_TIER_GENERAL
#define T_KEY DOUDI__VISIT_TIER__VISIT_TIER_KEY
#define T_HIGH DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK

static elig_params params(void)
{
    elig_params p = {
        .dibao_asset_months = 24,
        .dibao_max_dwellings = 1,
        .dibao_min_fen = 1000,
        .tekun_multiplier_permille = 1300,
        .dibian_multiplier_permille = 1500,
        .rigid_share_permille = 500,
        .rigid_months = 12,
        .temp_quick_aid_permille = 1000,
        .temp_decide_days = 3,
        .elderly_age = 60,
        .advanced_age = 80,
        .high_risk_age = 80,
        .child_age_limit = 16,
        .full_care_dependent = 3,
        .half_care_impaired = 1,
    };
    return p;
}

/* Born `years` before TODAY, on this day (so TODAY is the birthday);
 * day_before: the birthday is tomorrow, one year younger. */
static int32_t born(int years, bool day_before)
{
    int32_t b = (TODAY / 10000 - years) * 10000 + TODAY % 10000;
    return day_before ? b + 1 : b;
}

typedef struct care_case {
    const char *name;
    int age;
    bool day_before;       /* the birthday is tomorrow */
    Doudi__LivingArrangement living;
    Doudi__AdlAbility adl0; /* the first activity; the others independent */
    int grade;
    Doudi__FamilyPlanningSpecial fp;
    bool tekun, child_in_difficulty, life_threatening, danger;
    Doudi__CareCategory want[ELIG_CATEGORIES_MAX]; /* 0-terminated */
    Doudi__VisitTier tier;
} care_case;

static const care_case cases[] = {
    /* advanced age, alone or not, at the birthday */
    {"80 today, alone", 80, false, ALONE, IND, 0, FP_NONE, 0, 0, 0, 0, {C_ALONE, C_OLD}, T_HIGH},
    {"80 tomorrow, alone", 80, true, ALONE, IND, 0, FP_NONE, 0, 0, 0, 0, {C_ALONE}, T_KEY},
    {"80 today, with family", 80, false, FAMILY, IND, 0, FP_NONE, 0, 0, 0, 0, {C_OLD}, T_KEY},
    {"85, empty nest", 85, false, EMPTY, IND, 0, FP_NONE, 0, 0, 0, 0, {C_EMPTY, C_OLD}, T_HIGH},
    {"85, left behind", 85, false, LEFT, IND, 0, FP_NONE, 0, 0, 0, 0, {C_LEFT, C_OLD}, T_HIGH},
    {"85, in an institution", 85, false, INST, IND, 0, FP_NONE, 0, 0, 0, 0, {C_OLD}, T_KEY},
    {"79, empty nest", 79, false, EMPTY, IND, 0, FP_NONE, 0, 0, 0, 0, {C_EMPTY}, T_KEY},
    {"100, alone", 100, false, ALONE, IND, 0, FP_NONE, 0, 0, 0, 0, {C_ALONE, C_OLD}, T_HIGH},
    /* registered elderly from 60 */
    {"60 today, with family", 60, false, FAMILY, IND, 0, FP_NONE, 0, 0, 0, 0, {C_REG},
     T_GENERAL},
    {"60 tomorrow, with family", 60, true, FAMILY, IND, 0, FP_NONE, 0, 0, 0, 0, {0}, T_NONE},
    {"59 alone: not elderly", 59, false, ALONE, IND, 0, FP_NONE, 0, 0, 0, 0, {0}, T_NONE},
    {"65 alone", 65, false, ALONE, IND, 0, FP_NONE, 0, 0, 0, 0, {C_ALONE}, T_KEY},
    {"65 in an institution", 65, false, INST, IND, 0, FP_NONE, 0, 0, 0, 0, {C_REG}, T_GENERAL},
    /* daily living */
    {"65 half care", 65, false, FAMILY, HELP, 0, FP_NONE, 0, 0, 0, 0, {C_ADL}, T_KEY},
    {"65 full care (three dependent)", 65, false, FAMILY, DEP, 0, FP_NONE, 0, 0, 0, 0,
     {C_ADL}, T_KEY},
    {"50 half care: not elderly", 50, false, FAMILY, HELP, 0, FP_NONE, 0, 0, 0, 0, {0}, T_NONE},
    /* severe disability, any age */
    {"40 grade 1", 40, false, FAMILY, IND, 1, FP_NONE, 0, 0, 0, 0, {C_SEVERE}, T_KEY},
    {"8 grade 2", 8, false, FAMILY, IND, 2, FP_NONE, 0, 0, 0, 0, {C_SEVERE}, T_KEY},
    {"40 grade 3", 40, false, FAMILY, IND, 3, FP_NONE, 0, 0, 0, 0, {0}, T_NONE},
    {"70 grade 3", 70, false, FAMILY, IND, 3, FP_NONE, 0, 0, 0, 0, {C_REG}, T_GENERAL},
    /* family planning special */
    {"65 only child died", 65, false, FAMILY, IND, 0, FP_DIED, 0, 0, 0, 0, {C_FP}, T_KEY},
    {"65 only child disabled", 65, false, FAMILY, IND, 0, FP_DISABLED, 0, 0, 0, 0, {C_FP}, T_KEY},
    {"55 only child died: not elderly", 55, false, FAMILY, IND, 0, FP_DIED, 0, 0, 0, 0, {0},
     T_NONE},
    /* 特困 dispersed */
    {"40 tekun at home", 40, false, FAMILY, IND, 0, FP_NONE, 1, 0, 0, 0, {C_TEKUN}, T_KEY},
    {"40 tekun living alone", 40, false, ALONE, IND, 0, FP_NONE, 1, 0, 0, 0, {C_TEKUN}, T_KEY},
    {"40 tekun in an institution", 40, false, INST, IND, 0, FP_NONE, 1, 0, 0, 0, {0}, T_NONE},
    {"70 tekun in an institution", 70, false, INST, IND, 0, FP_NONE, 1, 0, 0, 0, {C_REG},
     T_GENERAL},
    /* children */
    {"15 in difficulty", 15, false, FAMILY, IND, 0, FP_NONE, 0, 1, 0, 0, {C_CHILD}, T_KEY},
    {"16 today in difficulty", 16, false, FAMILY, IND, 0, FP_NONE, 0, 1, 0, 0, {0}, T_NONE},
    {"16 tomorrow in difficulty", 16, true, FAMILY, IND, 0, FP_NONE, 0, 1, 0, 0, {C_CHILD},
     T_KEY},
    {"10 left behind", 10, false, LEFT, IND, 0, FP_NONE, 0, 0, 0, 0, {C_LBCHILD}, T_KEY},
    {"16 today left behind", 16, false, LEFT, IND, 0, FP_NONE, 0, 0, 0, 0, {0}, T_NONE},
    {"12 left behind and in difficulty", 12, false, LEFT, IND, 0, FP_NONE, 0, 1, 0, 0,
     {C_CHILD, C_LBCHILD}, T_KEY},
    {"10 with family", 10, false, FAMILY, IND, 0, FP_NONE, 0, 0, 0, 0, {0}, T_NONE},
    /* high risk by condition or by the last visit */
    {"45 life-threatening, no category", 45, false, FAMILY, IND, 0, FP_NONE, 0, 0, 1, 0, {0},
     T_HIGH},
    {"65 with family, life-threatening", 65, false, FAMILY, IND, 0, FP_NONE, 0, 0, 1, 0, {C_REG},
     T_HIGH},
    {"70 with family, danger at the last visit", 70, false, FAMILY, IND, 0, FP_NONE, 0, 0, 0, 1,
     {C_REG}, T_HIGH},
    {"70 alone, danger at the last visit", 70, false, ALONE, IND, 0, FP_NONE, 0, 0, 0, 1,
     {C_ALONE}, T_HIGH},
    /* everything at once, in ascending order */
    {"85 alone, full care, grade 1, only child died, tekun", 85, false, ALONE, DEP, 1, FP_DIED, 1,
     0, 0, 0, {C_ALONE, C_ADL, C_SEVERE, C_FP, C_OLD, C_TEKUN}, T_HIGH},
};

static elig_person person_of(const care_case *c)
{
    elig_person p;
    memset(&p, 0, sizeof p);
    strcpy(p.id, "440106194607150012");
    p.birth_yyyymmdd = born(c->age, c->day_before);
    p.living = c->living;
    for (int i = 0; i < 6; i++)
        p.adl[i] = IND;
    p.adl[0] = c->adl0;
    if (c->adl0 == DEP) /* full care needs three */
        p.adl[1] = p.adl[2] = DEP;
    p.disability_grade = c->grade;
    p.disability_type = c->grade ? DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_PHYSICAL
                                 : DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_UNSPECIFIED;
    p.family_planning = c->fp;
    p.child_in_difficulty = c->child_in_difficulty;
    p.life_threatening_condition = c->life_threatening;
    p.danger_found_last_visit = c->danger;
    return p;
}

static void expect_care(const elig_care *got, const char *name,
                        const Doudi__CareCategory *want, Doudi__VisitTier tier)
{
    size_t n = 0;
    while (n < ELIG_CATEGORIES_MAX && want[n] != 0)
        n++;
    bool same = got->ncategories == n && got->tier == tier;
    for (size_t i = 0; same && i < n; i++)
        same = got->categories[i] == want[i];
    if (!same) {
        char text[200] = "";
        for (size_t i = 0; i < got->ncategories; i++) {
            size_t len = strlen(text);
            snprintf(text + len, sizeof text - len, " %d", (int)got->categories[i]);
        }
        fail_msg("%s: got categories [%s ] tier %d; want %zu categories, tier %d", name, text,
                 (int)got->tier, n, (int)tier);
    }
    for (size_t i = 1; i < got->ncategories; i++)
        assert_true(got->categories[i - 1] < got->categories[i]);
}

static void test_categories_and_tiers(void **state)
{
    (void)state;
    elig_params p = params();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const care_case *c = &cases[i];
        elig_person x = person_of(c);
        elig_care care;
        elig_classify(&p, &x, c->tekun, TODAY, &care);
        expect_care(&care, c->name, c->want, c->tier);
        if (care.missing_information)
            fail_msg("%s: missing information %s", c->name, care.missing_what);
    }
}

static void test_care_level_reported(void **state)
{
    (void)state;
    elig_params p = params();
    elig_person x = person_of(&cases[0]);
    elig_care care;
    elig_classify(&p, &x, false, TODAY, &care);
    assert_int_equal(care.care_level, DOUDI__CARE_LEVEL__CARE_LEVEL_SELF);
    x.adl[3] = HELP;
    elig_classify(&p, &x, false, TODAY, &care);
    assert_int_equal(care.care_level, DOUDI__CARE_LEVEL__CARE_LEVEL_HALF);
    x.adl[0] = x.adl[1] = x.adl[2] = DEP;
    elig_classify(&p, &x, false, TODAY, &care);
    assert_int_equal(care.care_level, DOUDI__CARE_LEVEL__CARE_LEVEL_FULL);
}

static void test_configured_ages(void **state)
{
    (void)state;
    elig_params p = params();
    /* a scheme whose high-risk tier starts at 75 and advanced age at 75 */
    p.high_risk_age = 75;
    p.advanced_age = 75;
    care_case c = {"76 alone", 76, false, ALONE, IND, 0, FP_NONE, 0, 0, 0, 0, {0}, T_NONE};
    elig_person x = person_of(&c);
    elig_care care;
    elig_classify(&p, &x, false, TODAY, &care);
    const Doudi__CareCategory want[] = {C_ALONE, C_OLD, 0};
    expect_care(&care, "76 alone, scheme from 75", want, T_HIGH);
    /* children under 14 in another scheme */
    p = params();
    p.child_age_limit = 14;
    care_case k = {"14 left behind", 14, false, LEFT, IND, 0, FP_NONE, 0, 0, 0, 0, {0}, T_NONE};
    x = person_of(&k);
    elig_classify(&p, &x, false, TODAY, &care);
    const Doudi__CareCategory none[] = {0};
    expect_care(&care, "14 left behind, children under 14", none, T_NONE);
}

static void test_deceased(void **state)
{
    (void)state;
    elig_params p = params();
    care_case c = {"deceased", 85, false, LIV_UNK, UNK, 1, FP_DIED, 1, 0, 1, 1, {0}, T_NONE};
    elig_person x = person_of(&c);
    x.deceased = true;
    elig_care care;
    memset(&care, 0x5a, sizeof care);
    elig_classify(&p, &x, true, TODAY, &care);
    assert_int_equal(care.ncategories, 0);
    assert_int_equal(care.tier, T_NONE);
    assert_false(care.missing_information);
    assert_string_equal(care.missing_what, "");
}

typedef struct missing_case {
    const char *name;
    int age;
    Doudi__LivingArrangement living;
    Doudi__AdlAbility adl[6];
    bool missing;
    const char *what;
} missing_case;

static const missing_case missing_cases[] = {
    {"70, living arrangement not reported", 70, LIV_UNK, {IND, IND, IND, IND, IND, IND}, true,
     "living arrangement"},
    {"70, eating and bathing not reported", 70, FAMILY, {UNK, IND, IND, IND, IND, UNK}, true,
     "daily living: eating, bathing"},
    {"70, nothing reported", 70, LIV_UNK, {UNK, UNK, UNK, UNK, UNK, UNK}, true,
     "living arrangement; daily living: eating, dressing, getting in or out of bed, toileting, "
     "walking indoors, bathing"},
    {"60 today, living not reported", 60, LIV_UNK, {IND, IND, IND, IND, IND, IND}, true,
     "living arrangement"},
    {"59, living not reported: not elderly", 59, LIV_UNK, {UNK, UNK, UNK, UNK, UNK, UNK}, false,
     ""},
    {"70, all reported", 70, ALONE, {IND, HELP, DEP, IND, IND, IND}, false, ""},
};

static void test_missing_information(void **state)
{
    (void)state;
    elig_params p = params();
    for (size_t i = 0; i < sizeof missing_cases / sizeof missing_cases[0]; i++) {
        const missing_case *c = &missing_cases[i];
        care_case base = {c->name, c->age, false, c->living, IND, 0, FP_NONE, 0, 0, 0, 0, {0},
                          T_NONE};
        elig_person x = person_of(&base);
        memcpy(x.adl, c->adl, sizeof c->adl);
        elig_care care;
        elig_classify(&p, &x, false, TODAY, &care);
        if (care.missing_information != c->missing || strcmp(care.missing_what, c->what) != 0)
            fail_msg("%s: got %d \"%s\"; want %d \"%s\"", c->name, care.missing_information,
                     care.missing_what, c->missing, c->what);
    }
    /* still classified from what is known: 85 and not reported living is
     * advanced age, key tier, and missing */
    care_case old = {"85 unknown living", 85, false, LIV_UNK, IND, 0, FP_NONE, 0, 0, 0, 0, {0},
                     T_NONE};
    elig_person x = person_of(&old);
    elig_care care;
    elig_classify(&p, &x, false, TODAY, &care);
    const Doudi__CareCategory want[] = {C_OLD, 0};
    expect_care(&care, old.name, want, T_KEY);
    assert_true(care.missing_information);
    /* no birth date: cannot even tell whether elderly */
    x.birth_yyyymmdd = 0;
    elig_classify(&p, &x, false, TODAY, &care);
    assert_true(care.missing_information);
    assert_string_equal(care.missing_what, "birth date");
    assert_int_equal(care.ncategories, 0);
}

static void test_differs(void **state)
{
    (void)state;
    elig_params p = params();
    elig_person x = person_of(&cases[0]); /* 80 today, alone */
    elig_care a, b;
    elig_classify(&p, &x, false, TODAY, &a);
    elig_classify(&p, &x, false, TODAY, &b);
    assert_false(elig_care_differs(&a, &b));
    assert_false(elig_care_differs(&a, &a));

    /* the day before: one category fewer and a lower tier */
    elig_classify(&p, &x, false, TODAY - 1, &b);
    assert_true(elig_care_differs(&a, &b));

    /* only the tier */
    b = a;
    b.tier = T_KEY;
    assert_true(elig_care_differs(&a, &b));

    /* same count, another category */
    b = a;
    b.categories[0] = C_EMPTY;
    assert_true(elig_care_differs(&a, &b));

    /* only the care level or missing information: no difference */
    b = a;
    b.care_level = DOUDI__CARE_LEVEL__CARE_LEVEL_FULL;
    b.missing_information = true;
    strcpy(b.missing_what, "living arrangement");
    assert_false(elig_care_differs(&a, &b));

    /* a danger found raises the tier */
    x.living = FAMILY;
    elig_classify(&p, &x, false, TODAY, &a);
    x.danger_found_last_visit = true;
    elig_classify(&p, &x, false, TODAY, &b);
    assert_int_equal(a.tier, T_KEY);
    assert_int_equal(b.tier, T_HIGH);
    assert_true(elig_care_differs(&a, &b));

    /* death ends everything */
    x.deceased = true;
    elig_classify(&p, &x, false, TODAY, &a);
    assert_true(elig_care_differs(&a, &b));

    assert_false(elig_care_differs(NULL, NULL));
    assert_true(elig_care_differs(&a, NULL));
    assert_true(elig_care_differs(NULL, &a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_categories_and_tiers),
        cmocka_unit_test(test_care_level_reported),
        cmocka_unit_test(test_configured_ages),
        cmocka_unit_test(test_deceased),
        cmocka_unit_test(test_missing_information),
        cmocka_unit_test(test_differs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
