/*
 * rules.c: the programs of rules.h as pure functions of model.h's facts.
 *
 * elig_decide() first derives the facts every program shares (the standard,
 * per-capita income, the property tests, the household's 低保 and 低边
 * standing, the subject's 特困 standing) into one `facts` value, then writes
 * one decision per program from it, in the order of precedence. Sentences
 * of the trace are written from the same numbers the comparisons used, so
 * what a caseworker reads is what was decided.
 *
 * Arithmetic: money is int64 fen, at most 10^15 per field (intake's bound),
 * a household's income at most 32 x 10^15. Every product goes through
 * mul_sat() (saturating at INT64_MAX, never wrapping) and every permille
 * product through permille_floor()/permille_ceil(), which split the amount
 * into thousands and a remainder so that no intermediate exceeds the result
 * by more than 2^31 x 1000: exact for any result that fits int64.
 */
#include "rules.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "idnum.h"

/* National constants (特困人员认定办法, 2021, art. 8; adulthood). */
#define TEKUN_OLD_AGE 60
#define TEKUN_YOUNG_AGE 16
#define ADULT_AGE 18
/* The rigid-spending window is always 12 months of income. */
#define RIGID_WINDOW_MONTHS 12

/* ------------------------------------------------------------------------ */
/* Arithmetic                                                               */
/* ------------------------------------------------------------------------ */

static int64_t mul_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
    return r;
}

static int64_t add_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return a < 0 ? INT64_MIN : INT64_MAX;
    return r;
}

/*
 * floor(a x permille / 1000) and ceil(...), for a >= 0 and permille >= 0
 * (anything else gives 0: a negative standard or ratio is a configuration
 * error the config check refuses). a = q x 1000 + r, so a x p / 1000 =
 * q x p + r x p / 1000 with r x p < 1000 x 2^31.
 */
static int64_t permille_floor(int64_t a, int64_t permille)
{
    if (a <= 0 || permille <= 0)
        return 0;
    return add_sat(mul_sat(a / 1000, permille), (a % 1000) * permille / 1000);
}

static int64_t permille_ceil(int64_t a, int64_t permille)
{
    if (a <= 0 || permille <= 0)
        return 0;
    return add_sat(mul_sat(a / 1000, permille), ((a % 1000) * permille + 999) / 1000);
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* ------------------------------------------------------------------------ */
/* Dates                                                                    */
/* ------------------------------------------------------------------------ */

int elig_age(int32_t birth_yyyymmdd, int32_t on_yyyymmdd)
{
    if (birth_yyyymmdd <= 0 || on_yyyymmdd <= 0)
        return -1;
    return dd_age_years(birth_yyyymmdd / 10000, birth_yyyymmdd / 100 % 100, birth_yyyymmdd % 100,
                        on_yyyymmdd);
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days[m - 1];
}

/*
 * The first day not covered by a period of `months` months starting on
 * `from`: the same day `months` later, or the first of the next month when
 * that month is shorter (31 January + 1 month covers all of February).
 */
static int32_t months_later(int32_t from, int32_t months)
{
    int y = from / 10000, m = from / 100 % 100, d = from % 100;
    if (months < 0)
        months = 0;
    int idx = (m - 1) + months % 12;
    y += months / 12 + idx / 12;
    m = idx % 12 + 1;
    if (d > days_in_month(y, m)) {
        d = 1;
        if (++m > 12) {
            m = 1;
            y++;
        }
    }
    return (int32_t)(y * 10000 + m * 100 + d);
}

static int32_t day_before(int32_t date)
{
    int y = date / 10000, m = date / 100 % 100, d = date % 100;
    if (--d < 1) {
        if (--m < 1) {
            m = 12;
            y--;
        }
        d = days_in_month(y, m);
    }
    return (int32_t)(y * 10000 + m * 100 + d);
}

/* ------------------------------------------------------------------------ */
/* Text                                                                     */
/* ------------------------------------------------------------------------ */

/*
 * Small texts returned by value: a call in an argument list lives until the
 * end of the full expression (C11 6.2.4p8), so say(d, "%s", yuan(x).s) is
 * safe without buffers in the caller or state in this file.
 */
typedef struct text {
    char s[40];
} text;

/* 1234567 fen -> "12,345.67" */
static text yuan(int64_t fen)
{
    text t;
    uint64_t v = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
    char rev[40];
    size_t n = 0;
    rev[n++] = (char)('0' + v % 10);
    v /= 10;
    rev[n++] = (char)('0' + v % 10);
    v /= 10;
    rev[n++] = '.';
    int group = 0;
    do {
        if (group == 3) {
            rev[n++] = ',';
            group = 0;
        }
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
        group++;
    } while (v > 0);
    if (fen < 0)
        rev[n++] = '-';
    for (size_t i = 0; i < n; i++)
        t.s[i] = rev[n - 1 - i];
    t.s[n] = '\0';
    return t;
}

/* 1300 -> "1.3", 2000 -> "2", 500 -> "0.5", 1250 -> "1.25" */
static text ratio(int64_t permille)
{
    text t;
    int64_t whole = permille / 1000, frac = permille % 1000;
    if (frac < 0)
        frac = -frac;
    if (frac == 0)
        snprintf(t.s, sizeof t.s, "%lld", (long long)whole);
    else if (frac % 100 == 0)
        snprintf(t.s, sizeof t.s, "%lld.%lld", (long long)whole, (long long)(frac / 100));
    else if (frac % 10 == 0)
        snprintf(t.s, sizeof t.s, "%lld.%02lld", (long long)whole, (long long)(frac / 10));
    else
        snprintf(t.s, sizeof t.s, "%lld.%03lld", (long long)whole, (long long)frac);
    return t;
}

/* 20260701 -> "2026-07-01" */
static text date_text(int32_t yyyymmdd)
{
    text t;
    snprintf(t.s, sizeof t.s, "%04d-%02d-%02d", (int)(yyyymmdd / 10000),
             (int)(yyyymmdd / 100 % 100), (int)(yyyymmdd % 100));
    return t;
}

/* Where a standards row applies, from its version "PREFIX@YYYYMMDD":
 * " in 440106 from 2026-07-01", or "" when the version does not say. */
static text row_place(const elig_standard *st)
{
    text t;
    t.s[0] = '\0';
    const char *v = st->version;
    size_t len = strnlen(v, sizeof st->version);
    const char *at = memchr(v, '@', len);
    if (!at)
        return t;
    size_t plen = (size_t)(at - v);
    int32_t day = 0;
    size_t i = plen + 1;
    for (; i < len && v[i] >= '0' && v[i] <= '9'; i++)
        day = day * 10 + (v[i] - '0');
    if (plen == 0 || plen > 12 || i != plen + 9 || i != len)
        return t;
    snprintf(t.s, sizeof t.s, " in %.*s from %04d-%02d-%02d", (int)plen, v,
             (int)(day / 10000 % 10000), (int)(day / 100 % 100), (int)(day % 100));
    return t;
}

static const char *members_word(int64_t n)
{
    return n == 1 ? "member" : "members";
}

static const char *disability_type_text(Doudi__DisabilityType type)
{
    switch (type) {
    case DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_PHYSICAL:
        return "physical";
    case DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_VISUAL:
        return "visual";
    case DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_HEARING:
        return "hearing";
    case DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_SPEECH:
        return "speech";
    case DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_INTELLECTUAL:
        return "intellectual";
    case DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_MENTAL:
        return "mental";
    case DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_MULTIPLE:
        return "multiple";
    default:
        return "type not reported";
    }
}

static const char *care_level_text(Doudi__CareLevel level)
{
    switch (level) {
    case DOUDI__CARE_LEVEL__CARE_LEVEL_FULL:
        return "full care";
    case DOUDI__CARE_LEVEL__CARE_LEVEL_HALF:
        return "half care";
    case DOUDI__CARE_LEVEL__CARE_LEVEL_SELF:
        return "self care";
    default:
        return "care level not assessed";
    }
}

/* ------------------------------------------------------------------------ */
/* Writing a decision                                                       */
/* ------------------------------------------------------------------------ */

static void start(elig_decision *d, Doudi__Program program, const elig_standard *st, bool quiet)
{
    /* Not a memset: the trace buffers are large and only ntrace of them count. */
    d->program = program;
    d->eligible = false;
    d->amount_fen = 0;
    d->amount_per_household = false;
    d->ntrace = 0;
    d->nparams = 0;
    d->param_bits = 0;
    d->quiet = quiet;
    d->standard_version[0] = '\0';
    d->rule = "";
    if (st) {
        size_t n = strnlen(st->version, sizeof st->version);
        if (n >= sizeof d->standard_version)
            n = sizeof d->standard_version - 1;
        memcpy(d->standard_version, st->version, n);
        d->standard_version[n] = '\0';
    }
}

/* Cuts s (of length len) back to the end of its last whole UTF-8 character,
 * so a truncated sentence is still valid text for the proto string. */
static void utf8_trim(char *s, size_t len)
{
    size_t i = len;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (i - 1 + need > len)
        s[i - 1] = '\0';
}

__attribute__((format(printf, 2, 3))) static void say_impl(elig_decision *d, const char *fmt, ...)
{
    /* The programs below write at most ELIG_TRACE_MAX sentences; the tests
     * drive the longest paths. */
    if (d->quiet)
        return;
    assert(d->ntrace < ELIG_TRACE_MAX);
    if (d->ntrace >= ELIG_TRACE_MAX)
        return;
    char *line = d->trace[d->ntrace++];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof d->trace[0], fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof d->trace[0])
        utf8_trim(line, sizeof d->trace[0] - 1);
}

/* A quiet decision skips the sentence before its arguments are even
 * formatted: re-evaluation decides outcomes only and traces what changed. */
#define say(d, ...)                              \
    do {                                         \
        if (!(d)->quiet)                         \
            say_impl((d), __VA_ARGS__);          \
    } while (0)

/*
 * Sets a parameter of the decision (again: its value changes). Every name is
 * a string literal, and its length and first two letters give it a bit of
 * d->param_bits: a name whose bit is not set yet (nearly every call) is not
 * among the parameters, and is appended without comparing it with each of
 * them (that comparing was 6 % of eligibility's work in a province-month).
 */
#define param(d, name, value) set_param((d), "" name "", param_bit(name), (value))
#define param_bit(name)                                                                    \
    (UINT64_C(1) << ((sizeof(name) * 7 + (unsigned char)(name)[0] +                       \
                      3u * (unsigned char)(name)[1]) & 63))

static void set_param(elig_decision *d, const char *name, uint64_t bit, int64_t value)
{
    if (d->param_bits & bit) {
        for (size_t i = 0; i < d->nparams; i++)
            if (strcmp(d->params[i].name, name) == 0) {
                d->params[i].value = value;
                return;
            }
    }
    d->param_bits |= bit;
    assert(d->nparams < ELIG_PARAMS_MAX);
    if (d->nparams >= ELIG_PARAMS_MAX)
        return;
    d->params[d->nparams].name = name;
    d->params[d->nparams].value = value;
    d->nparams++;
}

static void conclude(elig_decision *d, bool eligible, int64_t amount_fen, const char *rule)
{
    d->eligible = eligible;
    d->amount_fen = eligible ? amount_fen : 0;
    d->rule = rule;
}

/* ------------------------------------------------------------------------ */
/* The facts all programs share                                             */
/* ------------------------------------------------------------------------ */

typedef enum no_work_reason {
    NO_WORK_NONE = 0,
    NO_WORK_OLD,        /* age >= 60 */
    NO_WORK_YOUNG,      /* age < 16 */
    NO_WORK_DISABILITY, /* grade and type in the national list */
    NO_WORK_REPORTED,   /* work ability reported UNABLE */
} no_work_reason;

typedef struct facts {
    const elig_params *params;
    const elig_standard *st;
    const elig_household *hh;
    const elig_person *p;
    int32_t today;
    int age; /* -1 when the birth date is unknown */
    Doudi__CareLevel care_level;

    bool has_std;     /* urban/rural known and a standard > 0 */
    const char *area; /* "urban" / "rural" / NULL */
    int64_t std;

    int64_t members;           /* living members */
    int64_t per_capita;        /* income / members, floor */
    int64_t assets_per_capita; /* financial assets / members, floor */
    int64_t asset_limit;       /* dibao_asset_months x std */
    bool income_ok;            /* per_capita < std */
    bool assets_ok, dwellings_ok, vehicle_ok;
    bool property_ok;      /* all three */
    int64_t dibian_limit;  /* ceil(dibian_multiplier x std) */
    bool dibian_income_ok; /* per_capita < dibian_limit */

    bool hh_dibao;  /* the household qualifies for 低保 */
    bool hh_dibian; /* ... or, failing that, is 低保边缘 */

    no_work_reason no_work;
    bool own_income_ok, own_assets_ok, supporter_ok;
    bool tekun; /* the subject qualifies for 特困 */

    bool severe_adult; /* grade 1-2, or 3 intellectual/mental; 18+ */
    bool single;       /* enrolled alone in 低保 (单人户) */
} facts;

static bool severely_disabled_for_single(const elig_person *p)
{
    if (p->disability_grade == 1 || p->disability_grade == 2)
        return true;
    return p->disability_grade == 3 &&
           (p->disability_type == DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_INTELLECTUAL ||
            p->disability_type == DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_MENTAL);
}

static bool disability_means_no_work(const elig_person *p)
{
    int g = p->disability_grade;
    switch (p->disability_type) {
    case DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_INTELLECTUAL:
    case DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_MENTAL:
        return g >= 1 && g <= 3;
    case DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_PHYSICAL:
        return g >= 1 && g <= 2;
    case DOUDI__DISABILITY_TYPE__DISABILITY_TYPE_VISUAL:
        return g == 1;
    default:
        return false;
    }
}

static void derive(facts *f, const elig_params *params, const elig_standard *st,
                   const elig_household *hh, size_t subject, int32_t today)
{
    memset(f, 0, sizeof *f);
    f->params = params;
    f->st = st;
    f->hh = hh;
    f->p = &hh->members[subject];
    f->today = today;
    f->age = elig_age(f->p->birth_yyyymmdd, today);
    if (f->age < 0)
        f->age = -1;
    f->care_level = elig_care_level(params, f->p->adl);

    if (hh->urban_rural == DOUDI__URBAN_RURAL__URBAN_RURAL_URBAN) {
        f->area = "urban";
        f->std = st->dibao_urban_fen;
    } else if (hh->urban_rural == DOUDI__URBAN_RURAL__URBAN_RURAL_RURAL) {
        f->area = "rural";
        f->std = st->dibao_rural_fen;
    }
    f->has_std = f->area && f->std > 0;

    for (size_t i = 0; i < hh->nmembers; i++)
        if (!hh->members[i].deceased)
            f->members++;
    if (f->members == 0)
        f->members = 1; /* only a deceased subject gets here, and decides nothing */
    f->per_capita = hh->monthly_income_fen / f->members;
    f->assets_per_capita = hh->financial_assets_fen / f->members;
    if (!f->has_std)
        return;

    f->asset_limit = mul_sat(params->dibao_asset_months, f->std);
    f->income_ok = f->per_capita < f->std;
    f->assets_ok = f->assets_per_capita <= f->asset_limit;
    f->dwellings_ok = hh->dwellings <= params->dibao_max_dwellings;
    f->vehicle_ok = hh->max_vehicle_value_fen <= params->vehicle_limit_fen;
    f->property_ok = f->assets_ok && f->dwellings_ok && f->vehicle_ok;
    /* per_capita is whole fen, so per_capita < m x std exactly when it is
     * below the ceiling of m x std. */
    f->dibian_limit = permille_ceil(f->std, params->dibian_multiplier_permille);
    f->dibian_income_ok = f->per_capita < f->dibian_limit;
    f->hh_dibao = f->income_ok && f->property_ok;
    f->hh_dibian = !f->hh_dibao && f->dibian_income_ok && f->property_ok;

    const elig_person *p = f->p;
    if (f->age >= TEKUN_OLD_AGE)
        f->no_work = NO_WORK_OLD;
    else if (f->age >= 0 && f->age < TEKUN_YOUNG_AGE)
        f->no_work = NO_WORK_YOUNG;
    else if (disability_means_no_work(p))
        f->no_work = NO_WORK_DISABILITY;
    else if (p->work_ability == DOUDI__WORK_ABILITY__WORK_ABILITY_UNABLE)
        f->no_work = NO_WORK_REPORTED;
    f->own_income_ok = p->own_income_fen < f->std;
    f->own_assets_ok = p->own_assets_fen <= f->asset_limit;
    f->supporter_ok = p->supporter == DOUDI__LEGAL_SUPPORTER__LEGAL_SUPPORTER_NONE ||
                      p->supporter == DOUDI__LEGAL_SUPPORTER__LEGAL_SUPPORTER_UNABLE;
    f->tekun =
        f->no_work != NO_WORK_NONE && f->own_income_ok && f->own_assets_ok && f->supporter_ok;

    f->severe_adult = f->age >= ADULT_AGE && severely_disabled_for_single(p);
    f->single = !f->tekun && !f->hh_dibao && f->hh_dibian && f->severe_adult && f->own_income_ok;
}

/* ------------------------------------------------------------------------ */
/* Sentences shared by several programs                                     */
/* ------------------------------------------------------------------------ */

static void say_deceased(elig_decision *d, const char *rule)
{
    say(d, "The person has died: no program applies.");
    conclude(d, false, 0, rule);
}

static void say_no_standard(elig_decision *d, const facts *f, const char *rule)
{
    if (!f->area)
        say(d, "The household is not reported as urban or rural, so no 低保 standard applies; "
               "the decision waits for that fact.");
    else
        say(d, "No 低保 standard for %s households is set%s.", f->area, row_place(f->st).s);
    conclude(d, false, 0, rule);
}

static void say_standard(elig_decision *d, const facts *f)
{
    say(d, "The local 低保 standard for %s households%s is %s yuan.", f->area, row_place(f->st).s,
        yuan(f->std).s);
    param(d, "standard_fen", f->std);
}

static void say_household_income(elig_decision *d, const facts *f)
{
    say(d, "Household income %s yuan a month over %lld %s is %s yuan per person.",
        yuan(f->hh->monthly_income_fen).s, (long long)f->members, members_word(f->members),
        yuan(f->per_capita).s);
    param(d, "household_income_fen", f->hh->monthly_income_fen);
    param(d, "members", f->members);
    param(d, "per_capita_income_fen", f->per_capita);
}

/* The property tests of 低保 (also the limits of 低边): assets, dwellings,
 * vehicle. */
static void say_property(elig_decision *d, const facts *f)
{
    const elig_params *pr = f->params;
    say(d, "Financial assets %s yuan are %s yuan per person; the limit is %lld × %s = %s yuan: %s.",
        yuan(f->hh->financial_assets_fen).s, yuan(f->assets_per_capita).s,
        (long long)pr->dibao_asset_months, yuan(f->std).s, yuan(f->asset_limit).s,
        f->assets_ok ? "within the limit" : "over the limit");
    param(d, "assets_per_capita_fen", f->assets_per_capita);
    param(d, "asset_limit_fen", f->asset_limit);
    param(d, "dibao_asset_months", pr->dibao_asset_months);

    say(d, "%d dwelling%s; at most %lld allowed: %s.", (int)f->hh->dwellings,
        f->hh->dwellings == 1 ? "" : "s", (long long)pr->dibao_max_dwellings,
        f->dwellings_ok ? "within the limit" : "over the limit");
    param(d, "dwellings", f->hh->dwellings);
    param(d, "dibao_max_dwellings", pr->dibao_max_dwellings);

    if (f->hh->max_vehicle_value_fen <= 0)
        say(d, "No vehicle.");
    else if (pr->vehicle_limit_fen <= 0)
        say(d, "A vehicle worth %s yuan; no vehicle is allowed: over the limit.",
            yuan(f->hh->max_vehicle_value_fen).s);
    else
        say(d, "The dearest vehicle is worth %s yuan; the limit is %s yuan: %s.",
            yuan(f->hh->max_vehicle_value_fen).s, yuan(pr->vehicle_limit_fen).s,
            f->vehicle_ok ? "within the limit" : "over the limit");
    param(d, "vehicle_value_fen", f->hh->max_vehicle_value_fen);
    param(d, "vehicle_limit_fen", pr->vehicle_limit_fen);
}

/* The first failing property test, as a rule id with the given prefix. */
static const char *property_rule(const facts *f, const char *assets, const char *dwellings,
                                 const char *vehicle)
{
    if (!f->assets_ok)
        return assets;
    if (!f->dwellings_ok)
        return dwellings;
    return f->vehicle_ok ? NULL : vehicle;
}

static void say_dibian_line(elig_decision *d, const facts *f)
{
    say(d, "%s %s %s × %s = %s: %s the 低保边缘 line.", yuan(f->per_capita).s,
        f->dibian_income_ok ? "<" : "≥", ratio(f->params->dibian_multiplier_permille).s,
        yuan(f->std).s, yuan(f->dibian_limit).s, f->dibian_income_ok ? "below" : "not below");
    param(d, "dibian_multiplier_permille", f->params->dibian_multiplier_permille);
    param(d, "dibian_limit_fen", f->dibian_limit);
}

/* ------------------------------------------------------------------------ */
/* 特困                                                                     */
/* ------------------------------------------------------------------------ */

static int64_t tekun_care_allowance(const facts *f)
{
    switch (f->care_level) {
    case DOUDI__CARE_LEVEL__CARE_LEVEL_FULL:
        return f->st->care_full_fen;
    case DOUDI__CARE_LEVEL__CARE_LEVEL_HALF:
        return f->st->care_half_fen;
    case DOUDI__CARE_LEVEL__CARE_LEVEL_SELF:
        return f->st->care_self_fen;
    default:
        return 0;
    }
}

static void decide_tekun(const facts *f, elig_decision *d)
{
    const elig_person *p = f->p;
    start(d, DOUDI__PROGRAM__PROGRAM_TEKUN, f->st, d->quiet);
    if (p->deceased) {
        say_deceased(d, "tekun.not_eligible.deceased");
        return;
    }
    if (!f->has_std) {
        say_no_standard(d, f, "tekun.not_eligible.no_standard");
        return;
    }

    switch (f->no_work) {
    case NO_WORK_OLD:
        say(d, "Aged %d (born %s): %d or older counts as unable to work.", f->age,
            date_text(p->birth_yyyymmdd).s, TEKUN_OLD_AGE);
        break;
    case NO_WORK_YOUNG:
        say(d, "Aged %d (born %s): under %d counts as unable to work.", f->age,
            date_text(p->birth_yyyymmdd).s, TEKUN_YOUNG_AGE);
        break;
    case NO_WORK_DISABILITY:
        say(d, "Disability grade %d (%s) counts as unable to work.", (int)p->disability_grade,
            disability_type_text(p->disability_type));
        break;
    case NO_WORK_REPORTED:
        say(d, "Reported as unable to work.");
        break;
    case NO_WORK_NONE:
        say(d,
            "Aged %d, disability grade %d (%s), not reported unable to work: "
            "able to work, so not 特困.",
            f->age, (int)p->disability_grade,
            p->disability_grade ? disability_type_text(p->disability_type) : "none");
        break;
    }
    param(d, "age", f->age);
    param(d, "disability_grade", p->disability_grade);

    say(d, "Own income %s yuan a month (the person's, not the household's).",
        yuan(p->own_income_fen).s);
    say_standard(d, f);
    say(d, "%s %s %s: %s the standard.", yuan(p->own_income_fen).s, f->own_income_ok ? "<" : "≥",
        yuan(f->std).s, f->own_income_ok ? "below" : "not below");
    param(d, "own_income_fen", p->own_income_fen);

    say(d, "Own financial assets %s yuan; the limit is %lld × %s = %s yuan: %s.",
        yuan(p->own_assets_fen).s, (long long)f->params->dibao_asset_months, yuan(f->std).s,
        yuan(f->asset_limit).s, f->own_assets_ok ? "within the limit" : "over the limit");
    param(d, "own_assets_fen", p->own_assets_fen);
    param(d, "asset_limit_fen", f->asset_limit);

    switch (p->supporter) {
    case DOUDI__LEGAL_SUPPORTER__LEGAL_SUPPORTER_NONE:
        say(d, "No legal supporter.");
        break;
    case DOUDI__LEGAL_SUPPORTER__LEGAL_SUPPORTER_UNABLE:
        say(d, "The legal supporter is unable to support.");
        break;
    case DOUDI__LEGAL_SUPPORTER__LEGAL_SUPPORTER_PRESENT:
        say(d, "A legal supporter is able to support: not 特困.");
        break;
    default:
        say(d, "Legal supporter not reported: 特困 needs it established that nobody can support.");
        break;
    }
    param(d, "legal_supporter", p->supporter);

    if (!f->tekun) {
        const char *rule = f->no_work == NO_WORK_NONE ? "tekun.not_eligible.work_ability"
                           : !f->own_income_ok        ? "tekun.not_eligible.income"
                           : !f->own_assets_ok        ? "tekun.not_eligible.assets"
                                                      : "tekun.not_eligible.supporter";
        conclude(d, false, 0, rule);
        return;
    }

    int64_t basic = permille_ceil(f->std, f->params->tekun_multiplier_permille);
    int64_t care = tekun_care_allowance(f);
    int64_t amount = add_sat(basic, care);
    if (f->care_level == DOUDI__CARE_LEVEL__CARE_LEVEL_UNSPECIFIED)
        say(d,
            "Basic living %s × %s = %s yuan; daily living not assessed, so no care allowance "
            "yet: %s yuan a month.",
            ratio(f->params->tekun_multiplier_permille).s, yuan(f->std).s, yuan(basic).s,
            yuan(amount).s);
    else
        say(d, "Basic living %s × %s = %s yuan, plus the %s allowance %s yuan: %s yuan a month.",
            ratio(f->params->tekun_multiplier_permille).s, yuan(f->std).s, yuan(basic).s,
            care_level_text(f->care_level), yuan(care).s, yuan(amount).s);
    param(d, "tekun_multiplier_permille", f->params->tekun_multiplier_permille);
    param(d, "basic_living_fen", basic);
    param(d, "care_level", f->care_level);
    param(d, "care_allowance_fen", care);
    conclude(d, true, amount, "tekun.no_work_ability_no_supporter");
}

/* ------------------------------------------------------------------------ */
/* 低保                                                                     */
/* ------------------------------------------------------------------------ */

static void decide_dibao(const facts *f, elig_decision *d)
{
    const elig_person *p = f->p;
    const elig_params *pr = f->params;
    start(d, DOUDI__PROGRAM__PROGRAM_DIBAO, f->st, d->quiet);
    if (p->deceased) {
        say_deceased(d, "dibao.not_eligible.deceased");
        return;
    }
    if (!f->has_std) {
        say_no_standard(d, f, "dibao.not_eligible.no_standard");
        return;
    }
    if (f->tekun) {
        say(d, "Qualifies for 特困 extreme poverty support, which takes precedence over 低保 "
               "for this person.");
        param(d, "standard_fen", f->std);
        conclude(d, false, 0, "dibao.superseded_by_tekun");
        return;
    }

    say_household_income(d, f);
    say_standard(d, f);
    say(d, "%s %s %s: %s the standard.", yuan(f->per_capita).s, f->income_ok ? "<" : "≥",
        yuan(f->std).s, f->income_ok ? "below" : "not below");
    say_property(d, f);
    param(d, "dibao_min_fen", pr->dibao_min_fen);

    if (f->hh_dibao) {
        int64_t gap = mul_sat(f->std - f->per_capita, f->members);
        int64_t floor_total = mul_sat(pr->dibao_min_fen, f->members);
        if (gap >= floor_total)
            say(d, "(%s - %s) × %lld = %s yuan a month for the household.", yuan(f->std).s,
                yuan(f->per_capita).s, (long long)f->members, yuan(gap).s);
        else
            say(d,
                "(%s - %s) × %lld = %s yuan is less than the least %s yuan per member: "
                "%s yuan a month for the household.",
                yuan(f->std).s, yuan(f->per_capita).s, (long long)f->members, yuan(gap).s,
                yuan(pr->dibao_min_fen).s, yuan(floor_total).s);
        conclude(d, true, max64(gap, floor_total), "dibao.income_below_standard");
        d->amount_per_household = true;
        return;
    }

    if (f->single) {
        say_dibian_line(d, f);
        say(d,
            "Aged %d with disability grade %d (%s): a severely disabled adult may be enrolled "
            "alone (单人户).",
            f->age, (int)p->disability_grade, disability_type_text(p->disability_type));
        int64_t gap = f->std - p->own_income_fen;
        int64_t amount = max64(gap, pr->dibao_min_fen);
        say(d, "Own income %s yuan: %s - %s = %s yuan%s; %s yuan a month for this person alone.",
            yuan(p->own_income_fen).s, yuan(f->std).s, yuan(p->own_income_fen).s, yuan(gap).s,
            gap < pr->dibao_min_fen ? ", less than the least amount" : "", yuan(amount).s);
        param(d, "own_income_fen", p->own_income_fen);
        param(d, "disability_grade", p->disability_grade);
        param(d, "age", f->age);
        conclude(d, true, amount, "dibao.single_person_severe_disability");
        return;
    }

    const char *rule =
        !f->income_ok ? "dibao.not_eligible.income"
                      : property_rule(f, "dibao.not_eligible.assets",
                                      "dibao.not_eligible.dwellings", "dibao.not_eligible.vehicle");
    /* A severely disabled adult is told why enrolling alone does not apply. */
    if (f->severe_adult && !f->income_ok) {
        if (!f->property_ok)
            say(d, "Enrolling alone (单人户) needs the household's property within the limits.");
        else if (!f->dibian_income_ok)
            say_dibian_line(d, f);
        else
            say(d, "Enrolling alone (单人户) needs the person's own income %s below %s.",
                yuan(p->own_income_fen).s, yuan(f->std).s);
    }
    conclude(d, false, 0, rule);
}

/* ------------------------------------------------------------------------ */
/* 低保边缘                                                                 */
/* ------------------------------------------------------------------------ */

static void decide_dibian(const facts *f, elig_decision *d)
{
    start(d, DOUDI__PROGRAM__PROGRAM_DIBIAN, f->st, d->quiet);
    if (f->p->deceased) {
        say_deceased(d, "dibian.not_eligible.deceased");
        return;
    }
    if (!f->has_std) {
        say_no_standard(d, f, "dibian.not_eligible.no_standard");
        return;
    }
    if (f->tekun) {
        say(d, "Qualifies for 特困, which comes before 低保边缘.");
        conclude(d, false, 0, "dibian.not_eligible.tekun");
        return;
    }
    if (f->hh_dibao || f->single) {
        say(d, f->single ? "Enrolled alone in 低保 (单人户), which comes before 低保边缘."
                         : "The household qualifies for 低保, which comes before 低保边缘.");
        conclude(d, false, 0, "dibian.not_eligible.dibao");
        return;
    }
    say_household_income(d, f);
    say_standard(d, f);
    say_dibian_line(d, f);
    say_property(d, f);
    if (f->hh_dibian) {
        say(d, "低保边缘 pays no cash; it opens the special assistances.");
        conclude(d, true, 0, "dibian.income_below_limit");
        return;
    }
    const char *rule = !f->dibian_income_ok ? "dibian.not_eligible.income"
                                            : property_rule(f, "dibian.not_eligible.assets",
                                                            "dibian.not_eligible.dwellings",
                                                            "dibian.not_eligible.vehicle");
    conclude(d, false, 0, rule);
}

/* ------------------------------------------------------------------------ */
/* 刚性支出困难                                                             */
/* ------------------------------------------------------------------------ */

static void decide_rigid(const facts *f, elig_decision *d)
{
    const elig_params *pr = f->params;
    const elig_household *hh = f->hh;
    const elig_person *p = f->p;
    start(d, DOUDI__PROGRAM__PROGRAM_RIGID, f->st, d->quiet);
    if (p->deceased) {
        say_deceased(d, "rigid.not_eligible.deceased");
        return;
    }
    /* "None of the above" cannot be known without a 低保 standard. */
    if (!f->has_std) {
        say_no_standard(d, f, "rigid.not_eligible.no_standard");
        return;
    }
    if (f->tekun) {
        say(d, "Qualifies for 特困, which comes before 刚性支出困难.");
        conclude(d, false, 0, "rigid.not_eligible.tekun");
        return;
    }
    if (f->hh_dibao || f->single) {
        say(d, "Qualifies for 低保, which comes before 刚性支出困难.");
        conclude(d, false, 0, "rigid.not_eligible.dibao");
        return;
    }
    if (f->hh_dibian) {
        say(d, "The household is 低保边缘, which comes before 刚性支出困难.");
        conclude(d, false, 0, "rigid.not_eligible.dibian");
        return;
    }

    say_household_income(d, f);
    int64_t disposable = f->st->disposable_income_monthly_fen;
    bool income_ok = f->per_capita < disposable;
    say(d, "Last year's local per-capita disposable income is %s yuan a month: %s %s %s.",
        yuan(disposable).s, yuan(f->per_capita).s, income_ok ? "<" : "≥", yuan(disposable).s);
    param(d, "disposable_income_monthly_fen", disposable);

    int64_t year_income = mul_sat(hh->monthly_income_fen, RIGID_WINDOW_MONTHS);
    /* spending (whole fen) > share x income exactly when it exceeds the floor */
    int64_t threshold = permille_floor(year_income, pr->rigid_share_permille);
    bool spending_ok = hh->rigid_spending_12m_fen > threshold;
    say(d, "Rigid spending over 12 months is %s yuan; %s × 12 months' income %s = %s yuan: %s.",
        yuan(hh->rigid_spending_12m_fen).s, ratio(pr->rigid_share_permille).s, yuan(year_income).s,
        yuan(threshold).s, spending_ok ? "more than that" : "not more");
    param(d, "rigid_spending_12m_fen", hh->rigid_spending_12m_fen);
    param(d, "rigid_share_permille", pr->rigid_share_permille);
    param(d, "rigid_threshold_fen", threshold);

    if (!income_ok) {
        conclude(d, false, 0, "rigid.not_eligible.income");
        return;
    }
    if (!spending_ok) {
        conclude(d, false, 0, "rigid.not_eligible.spending");
        return;
    }

    param(d, "rigid_months", pr->rigid_months);
    if (p->rigid_recognized_since > 0 && p->rigid_recognized_since <= f->today) {
        int32_t ends = months_later(p->rigid_recognized_since, pr->rigid_months);
        param(d, "rigid_recognized_since", p->rigid_recognized_since);
        param(d, "rigid_recognized_until", day_before(ends));
        if (f->today >= ends) {
            say(d,
                "Recognised since %s; recognition lasts at most %d months, to %s: it has "
                "ended and must be renewed by a caseworker.",
                date_text(p->rigid_recognized_since).s, (int)pr->rigid_months,
                date_text(day_before(ends)).s);
            conclude(d, false, 0, "rigid.not_eligible.recognition_expired");
            return;
        }
        say(d, "Recognised since %s; recognition lasts at most %d months, to %s.",
            date_text(p->rigid_recognized_since).s, (int)pr->rigid_months,
            date_text(day_before(ends)).s);
    } else {
        say(d, "Recognition would last at most %d months from its start.", (int)pr->rigid_months);
    }
    conclude(d, true, 0, "rigid.spending_over_share");
}

/* ------------------------------------------------------------------------ */
/* 高龄津贴                                                                 */
/* ------------------------------------------------------------------------ */

static void decide_age(const facts *f, elig_decision *d)
{
    const elig_standard *st = f->st;
    const elig_person *p = f->p;
    start(d, DOUDI__PROGRAM__PROGRAM_AGE, st, d->quiet);
    if (p->deceased) {
        say_deceased(d, "age.not_eligible.deceased");
        return;
    }
    if (f->age < 0) {
        say(d, "The birth date is not known.");
        conclude(d, false, 0, "age.not_eligible.birth_date_unknown");
        return;
    }
    /* No band below 70 exists; a row that does not say starts at 80. */
    int band_start = st->age_band_start <= 0   ? 80
                     : st->age_band_start < 70 ? 70
                                               : st->age_band_start;
    say(d, "Born %s: aged %d on %s.", date_text(p->birth_yyyymmdd).s, f->age,
        date_text(f->today).s);
    param(d, "age", f->age);
    param(d, "age_band_start", band_start);
    if (f->age < band_start) {
        say(d, "The longevity allowance%s starts at %d.", row_place(st).s, band_start);
        conclude(d, false, 0, "age.not_eligible.below_band_start");
        return;
    }
    int64_t amount;
    const char *rule, *band;
    if (f->age >= 100) {
        amount = st->age_100_fen, rule = "age.band_100", band = "100 and over";
    } else if (f->age >= 90) {
        amount = st->age_90_fen, rule = "age.band_90", band = "90-99";
    } else if (f->age >= 80) {
        amount = st->age_80_fen, rule = "age.band_80", band = "80-89";
    } else {
        amount = st->age_70_fen, rule = "age.band_70", band = "70-79";
    }
    param(d, "band_fen", amount);
    if (amount <= 0) {
        say(d, "The longevity allowance%s pays nothing for ages %s.", row_place(st).s, band);
        conclude(d, false, 0, "age.not_eligible.band_unpaid");
        return;
    }
    say(d, "The longevity allowance%s pays %s yuan a month for ages %s.", row_place(st).s,
        yuan(amount).s, band);
    conclude(d, true, amount, rule);
}

/* ------------------------------------------------------------------------ */
/* 残疾人两项补贴                                                           */
/* ------------------------------------------------------------------------ */

static void decide_dis_living(const facts *f, elig_decision *d)
{
    const elig_person *p = f->p;
    start(d, DOUDI__PROGRAM__PROGRAM_DIS_LIVING, f->st, d->quiet);
    if (p->deceased) {
        say_deceased(d, "dis_living.not_eligible.deceased");
        return;
    }
    param(d, "disability_grade", p->disability_grade);
    if (p->disability_grade < 1 || p->disability_grade > 4) {
        say(d, "No disability grade is recorded.");
        conclude(d, false, 0, "dis_living.not_eligible.not_disabled");
        return;
    }
    say(d, "Disability grade %d (%s).", (int)p->disability_grade,
        disability_type_text(p->disability_type));
    if (!f->has_std) {
        say_no_standard(d, f, "dis_living.not_eligible.no_standard");
        return;
    }
    param(d, "dis_living_includes_dibian", f->params->dis_living_includes_dibian);
    param(d, "dis_living_fen", f->st->dis_living_fen);
    const char *rule = NULL;
    if (f->tekun) {
        say(d, "Qualifies for 特困.");
        rule = "dis_living.disabled_tekun";
    } else if (f->hh_dibao || f->single) {
        say(d,
            f->single ? "Enrolled alone in 低保 (单人户)." : "The household qualifies for 低保.");
        rule = "dis_living.disabled_in_dibao_household";
    } else if (f->hh_dibian && f->params->dis_living_includes_dibian) {
        say(d,
            "The household is 低保边缘, and here the allowance also covers 低保边缘 households.");
        rule = "dis_living.disabled_in_dibian_household";
    }
    if (!rule) {
        say(d, f->hh_dibian ? "The household is 低保边缘, which this region does not cover."
                            : "The household is not in 低保 (nor the person in 特困).");
        conclude(d, false, 0, "dis_living.not_eligible.not_dibao");
        return;
    }
    say(d, "The allowance%s is %s yuan a month.", row_place(f->st).s,
        yuan(f->st->dis_living_fen).s);
    conclude(d, true, f->st->dis_living_fen, rule);
}

static void decide_dis_care(const facts *f, elig_decision *d)
{
    const elig_person *p = f->p;
    start(d, DOUDI__PROGRAM__PROGRAM_DIS_CARE, f->st, d->quiet);
    if (p->deceased) {
        say_deceased(d, "dis_care.not_eligible.deceased");
        return;
    }
    param(d, "disability_grade", p->disability_grade);
    param(d, "care_level", f->care_level);
    if (p->disability_grade != 1 && p->disability_grade != 2) {
        if (p->disability_grade == 0)
            say(d, "No disability grade is recorded.");
        else
            say(d, "Disability grade %d: the allowance is for grades 1 and 2.",
                (int)p->disability_grade);
        conclude(d, false, 0, "dis_care.not_eligible.grade");
        return;
    }
    say(d, "Disability grade %d (%s): severe.", (int)p->disability_grade,
        disability_type_text(p->disability_type));
    if (f->care_level == DOUDI__CARE_LEVEL__CARE_LEVEL_UNSPECIFIED) {
        say(d, "Daily living is not assessed, so long-term care need is not known.");
        conclude(d, false, 0, "dis_care.not_eligible.care_level_unknown");
        return;
    }
    if (f->care_level == DOUDI__CARE_LEVEL__CARE_LEVEL_SELF) {
        say(d, "Self care in daily living: no long-term care need.");
        conclude(d, false, 0, "dis_care.not_eligible.care_level");
        return;
    }
    param(d, "dis_care_fen", f->st->dis_care_fen);
    say(d, "Needs %s in daily living; the allowance%s is %s yuan a month.",
        care_level_text(f->care_level), row_place(f->st).s, yuan(f->st->dis_care_fen).s);
    conclude(d, true, f->st->dis_care_fen, "dis_care.severe_disability_needs_care");
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                             */
/* ------------------------------------------------------------------------ */

static void decide_all(const elig_params *params, const elig_standard *standard,
                       const elig_household *hh, size_t subject, int32_t today_yyyymmdd,
                       elig_decision out[ELIG_PROGRAMS], unsigned trace_mask)
{
    for (int i = 0; i < ELIG_PROGRAMS; i++)
        start(&out[i], (Doudi__Program)i, standard, !(trace_mask & (1u << i)));
    if (!hh || subject >= hh->nmembers || !hh->members) {
        /* A caller's bug, not a fact: decide nothing rather than read past
         * the members. */
        for (int i = 1; i < ELIG_PROGRAMS; i++)
            if (i != DOUDI__PROGRAM__PROGRAM_TEMP) {
                say(&out[i], "The person is not a member of the household given.");
                out[i].rule = "elig.subject_not_in_household";
            }
        return;
    }
    facts f;
    derive(&f, params, standard, hh, subject, today_yyyymmdd);
    decide_tekun(&f, &out[DOUDI__PROGRAM__PROGRAM_TEKUN]);
    decide_dibao(&f, &out[DOUDI__PROGRAM__PROGRAM_DIBAO]);
    decide_dibian(&f, &out[DOUDI__PROGRAM__PROGRAM_DIBIAN]);
    decide_rigid(&f, &out[DOUDI__PROGRAM__PROGRAM_RIGID]);
    decide_age(&f, &out[DOUDI__PROGRAM__PROGRAM_AGE]);
    decide_dis_living(&f, &out[DOUDI__PROGRAM__PROGRAM_DIS_LIVING]);
    decide_dis_care(&f, &out[DOUDI__PROGRAM__PROGRAM_DIS_CARE]);
}

void elig_decide(const elig_params *params, const elig_standard *standard, const elig_household *hh,
                 size_t subject, int32_t today_yyyymmdd, elig_decision out[ELIG_PROGRAMS])
{
    decide_all(params, standard, hh, subject, today_yyyymmdd, out, ~0u);
}

void elig_decide_outcomes(const elig_params *params, const elig_standard *standard,
                          const elig_household *hh, size_t subject, int32_t today_yyyymmdd,
                          elig_decision out[ELIG_PROGRAMS])
{
    decide_all(params, standard, hh, subject, today_yyyymmdd, out, 0);
}

void elig_decide_traced(const elig_params *params, const elig_standard *standard,
                        const elig_household *hh, size_t subject, int32_t today_yyyymmdd,
                        elig_decision out[ELIG_PROGRAMS], unsigned trace_mask)
{
    decide_all(params, standard, hh, subject, today_yyyymmdd, out, trace_mask);
}

static const char *emergency_text(Doudi__RiskKind kind)
{
    switch (kind) {
    case DOUDI__RISK_KIND__RISK_KIND_ACCIDENT:
        return "An accident";
    case DOUDI__RISK_KIND__RISK_KIND_SUDDEN_SERIOUS_ILLNESS:
        return "A sudden serious illness";
    case DOUDI__RISK_KIND__RISK_KIND_DISASTER:
        return "A disaster";
    case DOUDI__RISK_KIND__RISK_KIND_FIRE:
        return "A fire";
    case DOUDI__RISK_KIND__RISK_KIND_SPENDING_SPIKE:
        return "A spending spike";
    default:
        return NULL;
    }
}

bool elig_decide_temp(const elig_params *params, const elig_standard *standard,
                      Doudi__UrbanRural urban_rural, Doudi__RiskKind kind, int64_t amount_fen,
                      elig_decision *out)
{
    const char *what = emergency_text(kind);
    if (!what)
        return false;
    elig_decision *d = out;
    start(d, DOUDI__PROGRAM__PROGRAM_TEMP, standard, false);
    int64_t std;
    const char *area;
    if (urban_rural == DOUDI__URBAN_RURAL__URBAN_RURAL_URBAN) {
        std = standard->dibao_urban_fen, area = "urban households";
    } else if (urban_rural == DOUDI__URBAN_RURAL__URBAN_RURAL_RURAL) {
        std = standard->dibao_rural_fen, area = "rural households";
    } else {
        /* Not known: the lower standard, so the aid never exceeds the cap
         * whichever applies. */
        bool urban_lower = standard->dibao_urban_fen <= standard->dibao_rural_fen;
        std = urban_lower ? standard->dibao_urban_fen : standard->dibao_rural_fen;
        area = urban_lower ? "urban households (the lower; urban or rural not known)"
                           : "rural households (the lower; urban or rural not known)";
    }
    int64_t cap = permille_floor(std, params->temp_quick_aid_permille);
    say(d, "%s was reported where it happened; temporary assistance needs no means test.", what);
    say(d,
        "The local 低保 standard for %s%s is %s yuan; quick aid is at most %s × that = %s "
        "yuan.",
        area, row_place(standard).s, yuan(std).s, ratio(params->temp_quick_aid_permille).s,
        yuan(cap).s);
    int64_t amount;
    if (amount_fen <= 0) {
        amount = cap;
        say(d, "No amount was reported: quick aid of %s yuan.", yuan(amount).s);
    } else if (amount_fen > cap) {
        amount = cap;
        say(d, "%s yuan asked or lost is more than the cap: quick aid of %s yuan.",
            yuan(amount_fen).s, yuan(amount).s);
    } else {
        amount = amount_fen;
        say(d, "%s yuan asked or lost is within the cap: quick aid of %s yuan.", yuan(amount_fen).s,
            yuan(amount).s);
    }
    say(d, "To be decided within %d days.", (int)params->temp_decide_days);
    param(d, "standard_fen", std);
    param(d, "temp_quick_aid_permille", params->temp_quick_aid_permille);
    param(d, "quick_aid_cap_fen", cap);
    param(d, "requested_fen", amount_fen);
    param(d, "temp_decide_days", params->temp_decide_days);
    param(d, "risk_kind", kind);
    conclude(d, true, amount, "temp.quick_aid");
    return true;
}

Doudi__CareLevel elig_care_level(const elig_params *params, const Doudi__AdlAbility adl[6])
{
    int dependent = 0, impaired = 0, reported = 0;
    for (int i = 0; i < 6; i++) {
        switch (adl[i]) {
        case DOUDI__ADL_ABILITY__ADL_ABILITY_DEPENDENT:
            dependent++;
            impaired++;
            reported++;
            break;
        case DOUDI__ADL_ABILITY__ADL_ABILITY_NEEDS_HELP:
            impaired++;
            reported++;
            break;
        case DOUDI__ADL_ABILITY__ADL_ABILITY_INDEPENDENT:
            reported++;
            break;
        default:
            break;
        }
    }
    if (reported == 0)
        return DOUDI__CARE_LEVEL__CARE_LEVEL_UNSPECIFIED;
    if (dependent >= params->full_care_dependent)
        return DOUDI__CARE_LEVEL__CARE_LEVEL_FULL;
    if (impaired >= params->half_care_impaired)
        return DOUDI__CARE_LEVEL__CARE_LEVEL_HALF;
    return DOUDI__CARE_LEVEL__CARE_LEVEL_SELF;
}
