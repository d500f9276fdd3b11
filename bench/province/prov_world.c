/*
 * prov_world.c: see prov_world.h.
 */
#include "prov_world.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

uint64_t prov_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void prov_rng_seed(prov_rng *r, uint64_t a, uint64_t b, uint64_t c)
{
    r->s = prov_mix(prov_mix(prov_mix(a) ^ b) ^ c);
}

uint64_t prov_next(prov_rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    uint64_t z = r->s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double prov_unit(prov_rng *r)
{
    return (double)(prov_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

int64_t prov_range(prov_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(prov_next(r) % (uint64_t)(hi - lo + 1));
}

bool prov_chance(prov_rng *r, double p)
{
    return prov_unit(r) < p;
}

/* ---- the division table ------------------------------------------------- */

static unsigned counties_of(unsigned city)
{
    return city <= 17 ? 6 : 5;
}

void prov_world_build(prov_world *w)
{
    memset(w, 0, sizeof(*w));
    size_t cap = 2048;
    w->townships = dd_calloc(cap, sizeof(prov_township));
    for (unsigned pp = 1; pp <= PROV_CITIES; pp++) {
        for (unsigned cc = 1; cc <= counties_of(pp); cc++) {
            w->counties++;
            unsigned n = 10 + (unsigned)(prov_mix(pp * 100 + cc) % 7);
            unsigned subdistricts = (n + 1) / 2;
            for (unsigned k = 0; k < n; k++) {
                unsigned ttt = k < subdistricts ? k + 1 : 101 + (k - subdistricts);
                if (w->ntownships == cap) {
                    cap *= 2;
                    w->townships = dd_realloc(w->townships, cap * sizeof(prov_township));
                }
                prov_township *t = &w->townships[w->ntownships];
                snprintf(t->code, sizeof(t->code), "44%02u%02u%03u", pp, cc, ttt);
                t->villages = 13 + (unsigned)(prov_mix(0x5eedULL ^ (uint64_t)(pp * 100000 + cc * 1000 + ttt)) % 8);
                t->index = (uint32_t)w->ntownships;
                w->nvillages += t->villages;
                w->ntownships++;
            }
        }
    }
}

void prov_world_free(prov_world *w)
{
    free(w->townships);
    memset(w, 0, sizeof(*w));
}

bool prov_scale_covers(prov_scale scale, const prov_township *t)
{
    switch (scale) {
    case PROV_SCALE_COUNTY: return strncmp(t->code, "440106", 6) == 0;
    case PROV_SCALE_CITY: return strncmp(t->code, "4401", 4) == 0;
    default: return true;
    }
}

const char *prov_scale_name(prov_scale scale)
{
    return scale == PROV_SCALE_COUNTY ? "county" : scale == PROV_SCALE_CITY ? "city" : "province";
}

int prov_scale_parse(const char *s, prov_scale *out)
{
    if (strcmp(s, "county") == 0)
        *out = PROV_SCALE_COUNTY;
    else if (strcmp(s, "city") == 0)
        *out = PROV_SCALE_CITY;
    else if (strcmp(s, "province") == 0)
        *out = PROV_SCALE_PROVINCE;
    else
        return -1;
    return 0;
}

uint64_t prov_scale_default_households(const prov_world *w, prov_scale scale)
{
    uint64_t villages = 0;
    for (size_t i = 0; i < w->ntownships; i++)
        if (prov_scale_covers(scale, &w->townships[i]))
            villages += w->townships[i].villages;
    return PROV_PROVINCE_HOUSEHOLDS * villages / w->nvillages;
}

int prov_world_write_divisions(const prov_world *w, FILE *f)
{
    fprintf(f, "# the synthetic province of bench/province: %zu townships, %zu villages\n",
            w->ntownships, w->nvillages);
    for (size_t i = 0; i < w->ntownships; i++)
        for (unsigned v = 1; v <= w->townships[i].villages; v++)
            fprintf(f, "%s%03u\n", w->townships[i].code, v);
    return ferror(f) ? -EIO : 0;
}

/* ---- identity numbers --------------------------------------------------- */

char prov_id_check(const char first17[17])
{
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (first17[i] - '0') * weights[i];
    return "10X98765432"[sum % 11];
}

void prov_id_make(char out[19], const char area6[6], int year, int month, int day, unsigned seq3)
{
    memcpy(out, area6, 6);
    snprintf(out + 6, 13, "%04d%02d%02d%03u", year, month, day, seq3 % 1000);
    out[17] = prov_id_check(out);
    out[18] = '\0';
}

/* Howard Hinnant's civil-date algorithms. */
int64_t prov_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void prov_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}
