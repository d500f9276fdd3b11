/*
 * model.h: the facts eligibility rules read, as plain C values.
 *
 * The registry (registry.h) turns stored persons and households into these
 * structs; the rules (rules.h, care.h) are pure functions of them, so they
 * are tested table by table without LMDB, sockets or time.
 *
 * Money is fen, dates are YYYYMMDD in Asia/Shanghai, ratios are permille
 * (1300 = 1.3) so no rule ever rounds a float.
 */
#ifndef ELIG_MODEL_H
#define ELIG_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doudi/eligibility.pb-c.h"
#include "doudi/event.pb-c.h"

/* Programs are indexed by their proto number (1..8); 0 is unused. */
#define ELIG_PROGRAMS 9

/* Parameters of the rules: one value per key of [rules] in the config. */
typedef struct elig_params {
    int64_t dibao_asset_months;         /* assets per capita <= months x standard (24) */
    int64_t vehicle_limit_fen;          /* no vehicle worth more (default 0: none above 0? see rules.h) */
    int64_t dibao_max_dwellings;        /* dwellings <= this (1) */
    int64_t dibao_min_fen;              /* least amount per member (e.g. 1000) */
    int32_t tekun_multiplier_permille;  /* basic living >= this x standard (1300) */
    int32_t dibian_multiplier_permille; /* income < this x standard (1500; Hangzhou 2000) */
    int32_t rigid_share_permille;       /* rigid spending > this x 12 months' income (500) */
    int32_t rigid_months;               /* recognition lasts at most (12) */
    int32_t temp_quick_aid_permille;    /* quick aid up to this x standard (1000) */
    int32_t temp_decide_days;           /* quick aid decided within (3) */
    bool dis_living_includes_dibian;    /* DIS_LIVING also for 低边 households (false) */
    int64_t medical_alert_monitored_fen;/* one stay's self-pay alert, monitored people (600000) */
    int64_t medical_alert_other_fen;    /* ... other rural residents (1000000) */
    int32_t income_drop_permille;       /* per-capita income falls by more than (300) */
    int32_t elderly_age;                /* registered elderly from (60) */
    int32_t advanced_age;               /* 高龄 from (80) */
    int32_t high_risk_age;              /* high-risk tier when alone/empty nest/left behind (80) */
    int32_t child_age_limit;            /* children under (16) */
    int32_t full_care_dependent;        /* >= this many of the 6 ADLs dependent: full care (3) */
    int32_t half_care_impaired;         /* >= this many needing help or dependent: half care (1) */
} elig_params;

/* One row of the standards table in force for a region on a date. */
typedef struct elig_standard {
    char version[96];                    /* "PREFIX@YYYYMMDD[+PREFIX@YYYYMMDD...]" */
    int64_t dibao_urban_fen;             /* 低保 standard per person per month */
    int64_t dibao_rural_fen;
    int64_t disposable_income_monthly_fen; /* last year's per-capita disposable income / 12 */
    int32_t age_band_start;              /* 70 or 80: first age paid */
    int64_t age_70_fen, age_80_fen, age_90_fen, age_100_fen; /* monthly, per band */
    int64_t dis_living_fen;              /* 困难残疾人生活补贴, monthly */
    int64_t dis_care_fen;                /* 重度残疾人护理补贴, monthly */
    int64_t care_full_fen, care_half_fen, care_self_fen; /* 特困 care allowance */
} elig_standard;

/* A person as the rules see them. */
typedef struct elig_person {
    char id[19];
    int32_t birth_yyyymmdd;
    bool male;
    int32_t disability_grade;            /* 0 none, 1..4 */
    Doudi__DisabilityType disability_type;
    Doudi__AdlAbility adl[6];            /* eating, dressing, bed, toileting, walking, bathing */
    Doudi__LivingArrangement living;
    Doudi__FamilyPlanningSpecial family_planning;
    Doudi__WorkAbility work_ability;
    Doudi__LegalSupporter supporter;
    int64_t own_income_fen;              /* monthly: verified if known, else reported */
    int64_t own_assets_fen;
    bool main_earner;
    bool child_in_difficulty;
    bool life_threatening_condition;
    bool registered_unemployed;
    bool deceased;
    bool danger_found_last_visit;        /* the last visit report found a danger */
    bool enrolled[ELIG_PROGRAMS];
    int64_t enrolled_amount_fen[ELIG_PROGRAMS];
    bool application_pending[ELIG_PROGRAMS];
    int32_t rigid_recognized_since;      /* YYYYMMDD, 0 if never */
} elig_person;

/* A household as the rules see it; members are the living ones. */
typedef struct elig_household {
    char id[65];
    Doudi__UrbanRural urban_rural;
    const elig_person *members;
    size_t nmembers;
    int64_t monthly_income_fen;          /* whole household */
    int64_t financial_assets_fen;
    int32_t dwellings;
    int64_t max_vehicle_value_fen;       /* 0 when no vehicle */
    int64_t rigid_spending_12m_fen;
    int64_t previous_per_capita_income_fen; /* before the change being applied; -1 unknown */
} elig_household;

#endif
