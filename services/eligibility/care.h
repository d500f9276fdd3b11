/*
 * care.h: who must be visited, and how often (domain.md §4).
 *
 * Categories (elderly = age >= elderly_age):
 *   ELDERLY_LIVING_ALONE / EMPTY_NEST / LEFT_BEHIND  by living arrangement
 *   ELDERLY_DISABLED_IN_DAILY_LIVING  care level half or full (失能)
 *   SEVERELY_DISABLED                 grade 1-2, any age (重残)
 *   FAMILY_PLANNING_SPECIAL           only child died or disabled, elderly
 *   ADVANCED_AGE                      age >= advanced_age (高龄)
 *   TEKUN_DISPERSED                   TEKUN eligible or enrolled, not in an
 *                                     institution
 *   CHILD_IN_DIFFICULTY               designated, age < child_age_limit
 *   LEFT_BEHIND_CHILD                 left behind, age < child_age_limit
 *   REGISTERED_ELDERLY                elderly in none of the above
 * Tier:
 *   HIGH_RISK  age >= high_risk_age and (alone, empty nest or left behind);
 *              or a life-threatening condition; or a danger found at the
 *              last visit
 *   KEY        any other category but REGISTERED_ELDERLY
 *   GENERAL    REGISTERED_ELDERLY only
 *   NONE       no category (or deceased)
 * Missing information: an elderly person whose living arrangement or
 * daily-living abilities are not reported cannot be classified; that is
 * an alert of its own (information collection must be 100 %).
 */
#ifndef ELIG_CARE_H
#define ELIG_CARE_H

#include "model.h"

#define ELIG_CATEGORIES_MAX 12

typedef struct elig_care {
    Doudi__CareCategory categories[ELIG_CATEGORIES_MAX]; /* ascending */
    size_t ncategories;
    Doudi__VisitTier tier;
    Doudi__CareLevel care_level;
    bool missing_information;
    char missing_what[160]; /* which data is missing, when missing_information */
} elig_care;

/* tekun: whether the person is TEKUN eligible or enrolled (decided first). */
void elig_classify(const elig_params *params, const elig_person *person, bool tekun,
                   int32_t today_yyyymmdd, elig_care *out);

/* Whether two classifications differ in categories or tier. */
bool elig_care_differs(const elig_care *a, const elig_care *b);

#endif
