/*
 * alerts_ladder.h: the administrative ladder an alert climbs (domain.md §5) and
 * the region prefixes subscribers choose.
 *
 * A 12-digit division code reads province 2, city 2, county 2, township 3,
 * village 3 digits. Level L of the ladder is responsible through the code
 * cut to alerts_level_digits(L) digits; its office code is that prefix
 * padded with zeros to 12 digits (the code the office acknowledges under).
 *
 *   VILLAGE 12 --> TOWNSHIP 9 --> COUNTY 6 --> CITY 4 --> PROVINCE 2
 *
 * Pure functions, no state.
 */
#ifndef ALERTS_LADDER_H
#define ALERTS_LADDER_H

#include <stdbool.h>
#include <stddef.h>

#include "doudi/alerts.pb-c.h"

#define ALERTS_LEVELS 5

/* Digits of the prefix a level is responsible through (0 for an unknown level). */
size_t alerts_level_digits(Doudi__AlertLevel level);

/* The level whose prefix has `digits` digits; UNSPECIFIED for other lengths. */
Doudi__AlertLevel alerts_level_of_digits(size_t digits);

/* Index 0..4 of previous_in_area for a level (province 0 .. village 4). */
int alerts_level_area_index(Doudi__AlertLevel level);

/* "village", "township", ...; "unspecified" for anything else. Static. */
const char *alerts_level_name(Doudi__AlertLevel level);

/* Parses a level name as alerts_level_name writes it; UNSPECIFIED if unknown. */
Doudi__AlertLevel alerts_level_parse(const char *name);

/*
 * The office code of a 12-digit region at a level into out (13 bytes,
 * NUL-terminated): the region cut to the level and padded with '0'.
 */
void alerts_office_code(const char *region12, Doudi__AlertLevel level, char out[13]);

/*
 * Whether text is a prefix a subscriber may choose: "" (everything) or 2,
 * 4, 6, 9 or 12 ASCII digits.
 */
bool alerts_prefix_valid(const char *text);

/*
 * Whether an office code (12 digits, a division at some level) covers the
 * 12-digit region: the office's code with its trailing zero groups removed
 * (by level) is a prefix of the region. A village office covers only itself.
 */
bool alerts_office_covers(const char *office12, const char *region12);

#endif
