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
 * The functions are pure: no I/O, no allocation, no clock, no state. Money
 * is int64 fen; ratios are permille and every comparison with a multiple of
 * the standard is exact (no float, no rounding the person could lose by).
 * Products saturate at INT64_MAX instead of wrapping; with intake's bound of
 * 10^15 fen per amount no real input comes near.
 *
 * Rules (parameters in elig_params / elig_standard):
 *   std           = the household's urban or rural 低保 standard. When the
 *                 household is not reported urban or rural, or the row has
 *                 no standard (<= 0), DIBAO, TEKUN, DIBIAN, RIGID and
 *                 DIS_LIVING are not eligible with "<program>.not_eligible.
 *                 no_standard" (the decision waits for the fact).
 *   members       = the living members (a deceased entry is not counted).
 *   per_capita    = household income / members (integer division, fen)
 *   DIBAO         per_capita < std, assets per capita (financial assets /
 *                 members, integer division) <= dibao_asset_months x std,
 *                 dwellings <= dibao_max_dwellings, no vehicle above
 *                 vehicle_limit_fen (0: any vehicle disqualifies);
 *                 amount = max((std - per_capita) x members,
 *                 dibao_min_fen x members), decided per household and the
 *                 same for each member (a member superseded by TEKUN still
 *                 counts in the household's facts). Single-person rule
 *                 (单人户, 民发〔2021〕57号): a severely disabled adult (grade
 *                 1-2 of any type, or grade 3 intellectual/mental; age >= 18)
 *                 in a household not eligible whose per_capita is below
 *                 dibian_multiplier x std is eligible alone: amount =
 *                 max(std - own income, dibao_min_fen). Choices where
 *                 domain.md is silent, as nationally the rule is for a
 *                 低保边缘 household's member: the household must also pass
 *                 the property tests, and the person's own income must be
 *                 below std.
 *   TEKUN         no work ability (age >= 60, age < 16, grade 1-3
 *                 intellectual/mental, grade 1-2 physical, grade 1 visual,
 *                 or reported WORK_ABILITY_UNABLE; the national list of
 *                 特困人员认定办法 art. 8, so other types, "multiple"
 *                 included, count only when reported unable) AND own income
 *                 < std AND own assets <= dibao_asset_months x std AND legal
 *                 supporter NONE or UNABLE (not reported: not eligible, the
 *                 absence of a supporter must be established); amount =
 *                 ceil(tekun_multiplier x std) + care allowance of the care
 *                 level (care_full/half/self_fen; none while daily living is
 *                 not assessed). Uses the person's own income and assets,
 *                 never the household's.
 *   DIBIAN        not DIBAO/TEKUN (nor enrolled alone), per_capita <
 *                 dibian_multiplier x std, assets, dwellings and vehicle
 *                 within the DIBAO limits; amount 0.
 *   RIGID         none of the above, per_capita < disposable income, rigid
 *                 spending of 12 months > rigid_share x 12 x household
 *                 income (no asset test: the 2024 notice leaves it local);
 *                 recognised at most rigid_months from
 *                 rigid_recognized_since: a recognition from D covers the
 *                 days before the same day rigid_months later (31 January +
 *                 1 month covers all of February), after which the decision
 *                 is not eligible until a caseworker renews it (a new
 *                 rigid_recognized_since). Never recognised (0): eligible,
 *                 and the recognition would start now. amount 0.
 *   AGE           age (elig_age on the date) in the region's bands from
 *                 age_band_start (0 in the row: 80; bands are 70-79, 80-89,
 *                 90-99, 100+); amount of the band; a band the row pays
 *                 nothing for is not eligible.
 *   DIS_LIVING    disabled (grade 1-4) and the household DIBAO (or the
 *                 person TEKUN or enrolled alone; or the household DIBIAN
 *                 when dis_living_includes_dibian); dis_living_fen.
 *   DIS_CARE      grade 1-2 and care level half or full; dis_care_fen.
 *   TEMP          is not re-decided here: see elig_decide_temp().
 *   deceased      a deceased subject is eligible for nothing
 *                 ("<program>.not_eligible.deceased").
 *
 * Rule ids (stable; "<program>.<why>" when eligible,
 * "<program>.not_eligible.<first failing test>" when not):
 *   dibao.income_below_standard, dibao.single_person_severe_disability,
 *   dibao.superseded_by_tekun, dibao.not_eligible.{income, assets,
 *   dwellings, vehicle};
 *   tekun.no_work_ability_no_supporter, tekun.not_eligible.{work_ability,
 *   income, assets, supporter};
 *   dibian.income_below_limit, dibian.not_eligible.{tekun, dibao, income,
 *   assets, dwellings, vehicle};
 *   rigid.spending_over_share, rigid.not_eligible.{tekun, dibao, dibian,
 *   income, spending, recognition_expired};
 *   age.band_{70,80,90,100}, age.not_eligible.{below_band_start,
 *   band_unpaid, birth_date_unknown};
 *   dis_living.disabled_in_dibao_household, dis_living.disabled_tekun,
 *   dis_living.disabled_in_dibian_household, dis_living.not_eligible.
 *   {not_disabled, not_dibao};
 *   dis_care.severe_disability_needs_care, dis_care.not_eligible.{grade,
 *   care_level, care_level_unknown};
 *   temp.quick_aid;
 *   plus .not_eligible.deceased and .not_eligible.no_standard above, and
 *   elig.subject_not_in_household for a subject index out of range.
 *
 * Parameter names in decisions: standard_fen, members,
 * household_income_fen, per_capita_income_fen, assets_per_capita_fen,
 * asset_limit_fen, dibao_asset_months, dwellings, dibao_max_dwellings,
 * vehicle_value_fen, vehicle_limit_fen, dibao_min_fen,
 * dibian_multiplier_permille, dibian_limit_fen, own_income_fen,
 * own_assets_fen, age, disability_grade, legal_supporter (enum value),
 * tekun_multiplier_permille, basic_living_fen, care_level (enum value),
 * care_allowance_fen, disposable_income_monthly_fen, rigid_spending_12m_fen,
 * rigid_share_permille, rigid_threshold_fen, rigid_months,
 * rigid_recognized_since, rigid_recognized_until (YYYYMMDD, last day),
 * age_band_start, band_fen, dis_living_includes_dibian, dis_living_fen,
 * dis_care_fen, temp_quick_aid_permille, quick_aid_cap_fen, requested_fen,
 * temp_decide_days, risk_kind.
 */
#ifndef ELIG_RULES_H
#define ELIG_RULES_H

#include "model.h"

#define ELIG_TRACE_MAX 12
#define ELIG_PARAMS_MAX 20

typedef struct elig_decision {
    Doudi__Program program;
    bool eligible;
    int64_t amount_fen;
    /* amount_fen is the household's, decided once for it and the same in
     * each eligible member's decision (DIBAO's household rule): it is paid
     * once per household, not once per member. */
    bool amount_per_household;
    const char *rule;                    /* static string, never NULL ("" when undecided) */
    char trace[ELIG_TRACE_MAX][200];
    size_t ntrace;
    struct { const char *name; int64_t value; } params[ELIG_PARAMS_MAX];
    size_t nparams;
    uint64_t param_bits;                 /* a bit for each name set (rules.c) */
    char standard_version[96];
    bool quiet;                          /* outcome only: no trace written */
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
 * The same decisions without their traces (ntrace stays 0): eligible,
 * amount, rule, parameters and standard_version are exactly those of
 * elig_decide. Re-evaluation compares outcomes with what is stored and
 * formats a trace only for a decision that changed.
 */
void elig_decide_outcomes(const elig_params *params, const elig_standard *standard,
                          const elig_household *hh, size_t subject, int32_t today_yyyymmdd,
                          elig_decision out[ELIG_PROGRAMS]);

/* Traces only the programs whose bit (1 << program) is set in trace_mask. */
void elig_decide_traced(const elig_params *params, const elig_standard *standard,
                        const elig_household *hh, size_t subject, int32_t today_yyyymmdd,
                        elig_decision out[ELIG_PROGRAMS], unsigned trace_mask);

/*
 * Temporary assistance for an emergency (accident, sudden serious illness,
 * disaster, fire, spending spike) that happened in the region whose
 * standard is given (not necessarily where the person is registered):
 * quick aid of min(requested or loss, temp_quick_aid_permille x std), no
 * means test. The cap is floor(permille x std) so it never exceeds the
 * multiple. Choices where domain.md is silent: amount_fen <= 0 (nothing
 * reported) grants the cap; urban_rural not reported uses the lower of the
 * two standards. Returns false (and fills nothing) for risk kinds that are
 * not emergencies (large medical self-pay, new severe disability,
 * unemployment, a death, income drop, hospital discharge: those are
 * monitoring risks and visit triggers, not quick aid).
 */
bool elig_decide_temp(const elig_params *params, const elig_standard *standard,
                      Doudi__UrbanRural urban_rural, Doudi__RiskKind kind, int64_t amount_fen,
                      elig_decision *out);

/*
 * Age in whole years on a date (birthday counts: 80 on the 80th birthday;
 * born 29 February, a year older on 1 March in common years). Negative when
 * the birth date is unknown (0) or after the date.
 */
int elig_age(int32_t birth_yyyymmdd, int32_t on_yyyymmdd);

/*
 * The care level from the six activities of daily living: FULL when at
 * least full_care_dependent are DEPENDENT, else HALF when at least
 * half_care_impaired need help or are dependent, else SELF. Activities not
 * reported count as independent, so the level is a lower bound until all
 * six are known (care.h flags the gap for the elderly); UNSPECIFIED when
 * none is reported.
 */
Doudi__CareLevel elig_care_level(const elig_params *params, const Doudi__AdlAbility adl[6]);

#endif
