/* alerts_ladder.c: the administrative ladder and region prefixes (see alerts_ladder.h). */
#include "alerts_ladder.h"

#include <string.h>

static const size_t digits_of[ALERTS_LEVELS + 1] = {0, 12, 9, 6, 4, 2};
static const char *const names[ALERTS_LEVELS + 1] = {"unspecified", "village", "township",
                                                     "county", "city", "province"};

size_t alerts_level_digits(Doudi__AlertLevel level)
{
    return level >= 1 && level <= ALERTS_LEVELS ? digits_of[level] : 0;
}

Doudi__AlertLevel alerts_level_of_digits(size_t digits)
{
    for (int l = 1; l <= ALERTS_LEVELS; l++)
        if (digits_of[l] == digits)
            return (Doudi__AlertLevel)l;
    return DOUDI__ALERT_LEVEL__ALERT_LEVEL_UNSPECIFIED;
}

int alerts_level_area_index(Doudi__AlertLevel level)
{
    return level >= 1 && level <= ALERTS_LEVELS ? ALERTS_LEVELS - (int)level : -1;
}

const char *alerts_level_name(Doudi__AlertLevel level)
{
    return names[level >= 1 && level <= ALERTS_LEVELS ? level : 0];
}

Doudi__AlertLevel alerts_level_parse(const char *name)
{
    for (int l = 1; l <= ALERTS_LEVELS; l++)
        if (strcmp(names[l], name) == 0)
            return (Doudi__AlertLevel)l;
    return DOUDI__ALERT_LEVEL__ALERT_LEVEL_UNSPECIFIED;
}

void alerts_office_code(const char *region12, Doudi__AlertLevel level, char out[13])
{
    size_t keep = alerts_level_digits(level);
    size_t len = strnlen(region12, 12);
    for (size_t i = 0; i < 12; i++)
        out[i] = i < keep && i < len ? region12[i] : '0';
    out[12] = '\0';
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

bool alerts_prefix_valid(const char *text)
{
    size_t n = strlen(text);
    return (n == 0 || alerts_level_of_digits(n) != DOUDI__ALERT_LEVEL__ALERT_LEVEL_UNSPECIFIED) &&
           all_digits(text, n);
}

bool alerts_office_covers(const char *office12, const char *region12)
{
    if (strlen(office12) != 12 || strlen(region12) != 12 || !all_digits(office12, 12))
        return false;
    /* The highest level whose padding the office code has: a township
     * office 440106001000 is read as the prefix 440106001. */
    for (int l = ALERTS_LEVELS; l >= 1; l--) {
        size_t keep = digits_of[l];
        bool padded = true;
        for (size_t i = keep; i < 12; i++)
            if (office12[i] != '0')
                padded = false;
        if (padded)
            return memcmp(office12, region12, keep) == 0;
    }
    return false;
}
