/*
 * prov_gen.h: the synthetic population and its month of events, township
 * by township, with the counts a run must reproduce.
 *
 * For each township, deterministically from (seed, township): households
 * in its villages (kinds: elderly alone or in couples, families, three
 * generations, left-behind elderly with grandchildren, single adults,
 * families with a disabled member, extreme-poverty candidates), their
 * members (an age pyramid with about 12 % aged 60 and over, 14 % of those
 * 80 and over; disability grades; incomes spread around the local 低保
 * standard so that every program has members and borderline cases; living
 * arrangements), and the township station's workers. Two phases:
 *
 *   preload  the state before the month, dated the day before it: the
 *            roster, every household and person, and last month's verified
 *            findings of each monitored person (one comparison record
 *            carrying income, employment, property, vehicles and assets);
 *   month    the mix of domain.md §7: eight department comparison records
 *            per monitored person (tax, social insurance, medical
 *            insurance, real estate, vehicles, banks, education, disability
 *            federation), about 5 % of which change a finding; visit
 *            reports on the cadence of each person's expected tier with a
 *            configurable miss rate; risk signals; quick-aid emergencies
 *            and their decisions; applications and enrolments; changed
 *            person and household reports; deaths; acknowledgements of
 *            alerts; and a few deliberately invalid events.
 *
 * Every event about a household goes to the same block (its township), in
 * generation order, so their relative order survives any interleaving of
 * portals. The expectations count only what that order decides: events by
 * kind and phase, the invalid ones by reason, and the records
 * doudi-eligibility must find changed or unchanged (services/eligibility/
 * engine.c: a first report, a new application, enrolment, risk signal, or a
 * finding that differs from the verified value changes; a repeat does not).
 */
#ifndef PROV_GEN_H
#define PROV_GEN_H

#include <stdint.h>

#include "prov_file.h"
#include "prov_world.h"

#define PROV_KINDS 19 /* envelope body kinds 10..18 */

typedef struct prov_options {
    uint64_t seed;
    prov_scale scale;
    uint64_t households;     /* in the whole scale */
    int month_yyyymm;
    double miss_rate;        /* share of scheduled visits not made */
    uint64_t invalid;        /* deliberately invalid events in the month */
} prov_options;

enum { PROV_INVALID_ID_CHECK, PROV_INVALID_REGION, PROV_INVALID_MONEY, PROV_INVALID_REASONS };

typedef struct prov_phase_expect {
    uint64_t by_kind[PROV_KINDS];   /* valid events by body kind */
    uint64_t valid;
    uint64_t elig_changed;          /* doudi_eligibility_records_changed_total */
    uint64_t elig_unchanged;
} prov_phase_expect;

typedef struct prov_expect {
    prov_phase_expect preload, month;
    uint64_t invalid[PROV_INVALID_REASONS];
    uint64_t persons, households, monitored, workers, townships, villages;
    uint64_t aged_60, aged_80, disabled_grade[5];
    uint64_t comparison_changed;    /* month comparison records that change */
    uint64_t visits_scheduled, visits_missed;
    uint64_t tier_expected[4];      /* none, general, key, high risk */
    uint64_t below_standard, marginal, borderline; /* households */
    uint64_t emergencies, deaths;
    int64_t month_start_ms, month_end_ms;
} prov_expect;

typedef struct prov_gen prov_gen;

prov_gen *prov_gen_new(const prov_world *world, const prov_options *options);
void prov_gen_destroy(prov_gen **gen);
/*
 * Generates one township (households: how many it holds) into the two
 * blocks; `invalid` of the month's events are made invalid on purpose.
 * Townships must be generated in ascending order (identity numbers are
 * numbered per county and birth date).
 */
void prov_gen_township(prov_gen *gen, const prov_township *t, uint64_t households,
                       unsigned invalid, prov_block *preload, prov_block *month);
const prov_expect *prov_gen_expect(const prov_gen *gen);
/* The label of doudi_intake_events_rejected_total for an invalid reason. */
const char *prov_invalid_label(int reason);

#endif
