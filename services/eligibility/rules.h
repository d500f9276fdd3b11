/*
 * rules.h: the programs of the safety net as pure functions (domain.md §2).
 *
 * elig_decide() decides every program for one member of a household on one
 * date under one standard. Each decision carries the rule that decided it,
 * the trace of the steps in sentences a caseworker can read to the person,
 * and the parameter values used. Precedence, as in national rules:
 * 特困 before 低保 (a person who qualifies for TEKUN is not decided DIBAO
 * eligible), 低保 before 低边, all three before 刚性支出困难.
 *
 * Rules (parameters in elig_params / elig_standard):
 *   std           = the household's urban or rural 低保 standard
 *   per_capita    = household income / members (integer division, fen)
 *   DIBAO         per_capita < std, assets per capita <= dibao_asset_months
 *                 x std, dwellings <= dibao_max_dwellings, no vehicle above
 *                 vehicle_limit_fen (0: any vehicle disqualifies);
 *                 amount = max((std - per_capita) x members,
 *                 dibao_min_fen x members), decided per household and the
 *                 same for each member. Single-person rule (单人户): a
 *                 severely disabled adult (grade 1-2, or grade 3
 *                 intellectual/mental; age >= 18) in a household not
 *                 eligible whose per_capita is below dibian_multiplier x std
 *                 is eligible alone: amount = max(std - own income,
 *                 dibao_min_fen).
 *   TEKUN         no work ability (age >= 60, age < 16, grade 1-3
 *                 intellectual/mental, grade 1-2 physical, grade 1 visual,
 *                 or reported WORK_ABILITY_UNABLE) AND own income < std AND
 *                 own assets <= dibao_asset_months x std AND legal supporter
 *                 NONE or UNABLE; amount = ceil(tekun_multiplier x std) +
 *                 care allowance of the care level.
 *   DIBIAN        not DIBAO/TEKUN, per_capita < dibian_multiplier x std,
 *                 assets within the DIBAO limits; amount 0.
 *   RIGID         none of the above, per_capita < disposable income, rigid
 *                 spending of 12 months > rigid_share x 12 x household
 *                 income; recognised at most rigid_months from
 *                 rigid_recognized_since; amount 0.
 *   AGE           age (from the identity number, on the date) in the
 *                 region's bands from age_band_start; amount of the band.
 *   DIS_LIVING    disabled (grade 1-4) and the household DIBAO (or TEKUN;
 *                 or DIBIAN when dis_living_includes_dibian); dis_living_fen.
 *   DIS_CARE      grade 1-2 and care level half or full; dis_care_fen.
 *   TEMP          is not re-decided here: see elig_decide_temp().
 */
#ifndef ELIG_RULES_H
#define ELIG_RULES_H

#include "model.h"

#define ELIG_TRACE_MAX 12
#define ELIG_PARAMS_MAX 12

typedef struct elig_decision {
    Doudi__Program program;
    bool eligible;
    int64_t amount_fen;
    const char *rule;                    /* static string */
    char trace[ELIG_TRACE_MAX][200];
    size_t ntrace;
    struct { const char *name; int64_t value; } params[ELIG_PARAMS_MAX];
    size_t nparams;
    char standard_version[40];
} elig_decision;

/*
 * Decides every program but TEMP for hh->members[subject] on date
 * today_yyyymmdd; out is indexed by program number (out[PROGRAM_DIBAO]...),
 * out[0] and out[PROGRAM_TEMP] are left with eligible false.
 */
void elig_decide(const elig_params *params, const elig_standard *standard,
                 const elig_household *hh, size_t subject, int32_t today_yyyymmdd,
                 elig_decision out[ELIG_PROGRAMS]);

/*
 * Temporary assistance for an emergency (accident, sudden serious illness,
 * disaster, fire, spending spike) that happened in the region whose
 * standard is given (not necessarily where the person is registered):
 * quick aid of min(requested or loss, temp_quick_aid_permille x std), no
 * means test. Returns false (and fills nothing) for risk kinds that are not
 * emergencies.
 */
bool elig_decide_temp(const elig_params *params, const elig_standard *standard,
                      Doudi__UrbanRural urban_rural, Doudi__RiskKind kind, int64_t amount_fen,
                      elig_decision *out);

/* Age in whole years on a date (birthday counts: 80 on the 80th birthday). */
int elig_age(int32_t birth_yyyymmdd, int32_t on_yyyymmdd);

/* The care level from the six activities of daily living. */
Doudi__CareLevel elig_care_level(const elig_params *params, const Doudi__AdlAbility adl[6]);

#endif
