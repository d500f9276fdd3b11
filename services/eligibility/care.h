/*
 * care.h: who must be visited, and how often (domain.md §4).
 *
 * Pure, like rules.h: a function of one person's facts, whether they are
 * 特困, and the date (ages by elig_age, so 80 on the 80th birthday).
 *
 * Categories (elderly = age >= elderly_age; child = age < child_age_limit):
 *   ELDERLY_LIVING_ALONE / EMPTY_NEST / LEFT_BEHIND  elderly, by living
 *                                     arrangement
 *   ELDERLY_DISABLED_IN_DAILY_LIVING  elderly, care level half or full (失能)
 *   SEVERELY_DISABLED                 grade 1-2, any age (重残)
 *   FAMILY_PLANNING_SPECIAL           only child died or disabled, elderly
 *   ADVANCED_AGE                      age >= advanced_age (高龄)
 *   TEKUN_DISPERSED                   TEKUN eligible or enrolled (any age),
 *                                     not living in an institution
 *   CHILD_IN_DIFFICULTY               designated, child
 *   LEFT_BEHIND_CHILD                 living arrangement left behind, child
 *   REGISTERED_ELDERLY                elderly in none of the above
 * Tier:
 *   HIGH_RISK  age >= high_risk_age and (alone, empty nest or left behind);
 *              or a life-threatening condition; or a danger found at the
 *              last visit. domain.md says "anyone" for the last two, so
 *              they raise the tier even of a person in no category.
 *   KEY        any other category but REGISTERED_ELDERLY
 *   GENERAL    REGISTERED_ELDERLY only
 *   NONE       none of the above (or deceased: no category, no tier, no
 *              missing information; every visit plan ends)
 * Missing information: an elderly person whose living arrangement or any of
 * the six daily-living abilities is not reported cannot be classified;
 * that is an alert of its own (information collection must be 100 %).
 * A person whose birth date is unknown (0) is always missing it. The
 * classification is still made from what is known (an unreported ability
 * counts as independent, see elig_care_level), and missing_what names the
 * gaps, e.g. "living arrangement; daily living: eating, bathing".
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

/*
 * Classifies person on today_yyyymmdd into *out (overwritten entirely).
 * tekun: whether the person is TEKUN eligible or enrolled (decided first).
 */
void elig_classify(const elig_params *params, const elig_person *person, bool tekun,
                   int32_t today_yyyymmdd, elig_care *out);

/*
 * Whether two classifications differ in categories or tier (care level and
 * missing information are not compared). NULL differs from anything but
 * NULL.
 */
bool elig_care_differs(const elig_care *a, const elig_care *b);

#endif
