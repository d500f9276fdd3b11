/*
 * care.c: care categories, visit tier and missing information (care.h).
 *
 * A pure function of one person's facts and the date, like the rules: the
 * categories are collected in ascending enum order (which is the order the
 * proto repeats them in), the tier follows from the categories and the
 * three high-risk conditions, and the gaps that keep an elderly person from
 * being classified are named in one sentence for the village worker.
 */
#include "care.h"

#include <stdio.h>
#include <string.h>

#include "rules.h"

static void add(elig_care *c, Doudi__CareCategory category)
{
    if (c->ncategories < ELIG_CATEGORIES_MAX)
        c->categories[c->ncategories++] = category;
}

static bool has(const elig_care *c, Doudi__CareCategory category)
{
    for (size_t i = 0; i < c->ncategories; i++)
        if (c->categories[i] == category)
            return true;
    return false;
}

/* Appends "what" to missing_what, "; "-separated, never overflowing. */
static void missing(elig_care *c, const char *what)
{
    size_t len = strlen(c->missing_what);
    size_t room = sizeof c->missing_what - len;
    if (room > 1)
        snprintf(c->missing_what + len, room, "%s%s", len ? "; " : "", what);
    c->missing_information = true;
}

static const char *const adl_names[6] = {"eating",    "dressing",        "getting in or out of bed",
                                         "toileting", "walking indoors", "bathing"};

static bool adl_reported(Doudi__AdlAbility a)
{
    return a == DOUDI__ADL_ABILITY__ADL_ABILITY_INDEPENDENT ||
           a == DOUDI__ADL_ABILITY__ADL_ABILITY_NEEDS_HELP ||
           a == DOUDI__ADL_ABILITY__ADL_ABILITY_DEPENDENT;
}

void elig_classify(const elig_params *params, const elig_person *person, bool tekun,
                   int32_t today_yyyymmdd, elig_care *out)
{
    memset(out, 0, sizeof *out);
    out->tier = DOUDI__VISIT_TIER__VISIT_TIER_NONE;
    out->care_level = elig_care_level(params, person->adl);
    if (person->deceased)
        return;

    const elig_person *p = person;
    int age = elig_age(p->birth_yyyymmdd, today_yyyymmdd);
    bool known_age = age >= 0;
    bool elderly = known_age && age >= params->elderly_age;
    bool child = known_age && age < params->child_age_limit;
    bool level_disabled = out->care_level == DOUDI__CARE_LEVEL__CARE_LEVEL_HALF ||
                          out->care_level == DOUDI__CARE_LEVEL__CARE_LEVEL_FULL;
    Doudi__LivingArrangement living = p->living;
    bool lonely = living == DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_ALONE ||
                  living == DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_EMPTY_NEST ||
                  living == DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_LEFT_BEHIND;

    if (elderly && living == DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_ALONE)
        add(out, DOUDI__CARE_CATEGORY__CARE_CATEGORY_ELDERLY_LIVING_ALONE);
    if (elderly && living == DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_EMPTY_NEST)
        add(out, DOUDI__CARE_CATEGORY__CARE_CATEGORY_ELDERLY_EMPTY_NEST);
    if (elderly && living == DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_LEFT_BEHIND)
        add(out, DOUDI__CARE_CATEGORY__CARE_CATEGORY_ELDERLY_LEFT_BEHIND);
    if (elderly && level_disabled)
        add(out, DOUDI__CARE_CATEGORY__CARE_CATEGORY_ELDERLY_DISABLED_IN_DAILY_LIVING);
    if (p->disability_grade == 1 || p->disability_grade == 2)
        add(out, DOUDI__CARE_CATEGORY__CARE_CATEGORY_SEVERELY_DISABLED);
    if (elderly &&
        (p->family_planning ==
             DOUDI__FAMILY_PLANNING_SPECIAL__FAMILY_PLANNING_SPECIAL_ONLY_CHILD_DIED ||
         p->family_planning ==
             DOUDI__FAMILY_PLANNING_SPECIAL__FAMILY_PLANNING_SPECIAL_ONLY_CHILD_DISABLED))
        add(out, DOUDI__CARE_CATEGORY__CARE_CATEGORY_FAMILY_PLANNING_SPECIAL);
    if (known_age && age >= params->advanced_age)
        add(out, DOUDI__CARE_CATEGORY__CARE_CATEGORY_ADVANCED_AGE);
    if (tekun && living != DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_INSTITUTION)
        add(out, DOUDI__CARE_CATEGORY__CARE_CATEGORY_TEKUN_DISPERSED);
    if (child && p->child_in_difficulty)
        add(out, DOUDI__CARE_CATEGORY__CARE_CATEGORY_CHILD_IN_DIFFICULTY);
    if (child && living == DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_LEFT_BEHIND)
        add(out, DOUDI__CARE_CATEGORY__CARE_CATEGORY_LEFT_BEHIND_CHILD);
    if (elderly && out->ncategories == 0)
        add(out, DOUDI__CARE_CATEGORY__CARE_CATEGORY_REGISTERED_ELDERLY);

    if ((known_age && age >= params->high_risk_age && lonely) || p->life_threatening_condition ||
        p->danger_found_last_visit)
        out->tier = DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK;
    else if (out->ncategories > 0 &&
             !has(out, DOUDI__CARE_CATEGORY__CARE_CATEGORY_REGISTERED_ELDERLY))
        out->tier = DOUDI__VISIT_TIER__VISIT_TIER_KEY;
    else if (out->ncategories > 0)
        out->tier = DOUDI__VISIT_TIER__VISIT_TIER_GENERAL;

    if (!known_age) {
        missing(out, "birth date");
        return;
    }
    if (!elderly)
        return;
    if (living == DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_UNSPECIFIED)
        missing(out, "living arrangement");
    char adl[140] = "";
    for (int i = 0; i < 6; i++)
        if (!adl_reported(p->adl[i])) {
            size_t len = strlen(adl);
            snprintf(adl + len, sizeof adl - len, "%s%s",
                     len ? ", " : "daily living: ", adl_names[i]);
        }
    if (adl[0])
        missing(out, adl);
}

bool elig_care_differs(const elig_care *a, const elig_care *b)
{
    if (!a || !b)
        return a != b;
    if (a->tier != b->tier || a->ncategories != b->ncategories)
        return true;
    for (size_t i = 0; i < a->ncategories; i++)
        if (a->categories[i] != b->categories[i])
            return true;
    return false;
}
