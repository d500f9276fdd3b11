/*
 * prov_world.h: the synthetic province's fixed parts: its division table,
 * the scales, a seeded random generator and identity numbers.
 *
 * The division table has Guangdong's shape: 21 prefecture cities (44PP,
 * PP 01..21), 122 counties (six in each of the first 17 cities, five in the
 * last 4), 10 to 16 townships a county (subdistricts 001.., then towns
 * 101..; 1,596 in all) and 13 to 20 villages a township (26,264 in all).
 * The counts per county and township come from a fixed hash of the code,
 * not from the run's seed, so every run and scale sees the same province.
 *
 * Scales: the province; a city (4401, its six counties); a county (440106).
 * Each has a default household count that keeps the province's density
 * (2.5 million households in 26,264 villages).
 */
#ifndef PROV_WORLD_H
#define PROV_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROV_CITIES 21
#define PROV_PROVINCE_HOUSEHOLDS 2500000ULL

typedef struct prov_township {
    char code[10];          /* 9 digits: 44PPCCTTT */
    unsigned villages;      /* villages 001..villages */
    uint32_t index;         /* in the whole province, in code order */
} prov_township;

typedef struct prov_world {
    prov_township *townships;   /* every township of the province */
    size_t ntownships;
    size_t nvillages;
    unsigned counties;
} prov_world;

typedef enum prov_scale { PROV_SCALE_COUNTY, PROV_SCALE_CITY, PROV_SCALE_PROVINCE } prov_scale;

void prov_world_build(prov_world *w);
void prov_world_free(prov_world *w);
/* Whether a township belongs to the region the scale covers. */
bool prov_scale_covers(prov_scale scale, const prov_township *t);
const char *prov_scale_name(prov_scale scale);
/* "county", "city", "province" -> 0; anything else -1. */
int prov_scale_parse(const char *s, prov_scale *out);
/* The scale's default household count (the province's density). */
uint64_t prov_scale_default_households(const prov_world *w, prov_scale scale);
/* Writes the division table (every village, the file format of
 * dd_divisions_load_file). Returns 0 or -errno. */
int prov_world_write_divisions(const prov_world *w, FILE *f);

/* ---- randomness: splitmix64, the same sequence on every machine -------- */

typedef struct prov_rng {
    uint64_t s;
} prov_rng;

uint64_t prov_mix(uint64_t x);
void prov_rng_seed(prov_rng *r, uint64_t a, uint64_t b, uint64_t c);
uint64_t prov_next(prov_rng *r);
/* Uniform in [0, 1). */
double prov_unit(prov_rng *r);
/* Uniform integer in [lo, hi]. */
int64_t prov_range(prov_rng *r, int64_t lo, int64_t hi);
bool prov_chance(prov_rng *r, double p);

/* ---- identity numbers (GB 11643-1999) ----------------------------------- */

/* The check character of 17 digits. */
char prov_id_check(const char first17[17]);
/* area6, birth date and sequence (000..999) into out (19 bytes). */
void prov_id_make(char out[19], const char area6[6], int year, int month, int day, unsigned seq3);
/* Days since 1970-01-01 of a civil date, and back. */
int64_t prov_days_from_civil(int y, int m, int d);
void prov_civil_from_days(int64_t z, int *y, int *m, int *d);

#endif
