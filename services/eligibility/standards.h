/*
 * standards.h: the local standards table, per region prefix and effective
 * date.
 *
 * A row applies to every region code that starts with its prefix (2, 4, 6,
 * 9 or 12 digits) from its effective date on. For a region and a date the
 * row in force is the one with the longest matching prefix, and among those
 * the latest effective date not after the date. A city raising its standard
 * on 1 July is one more row; decisions after that date use it, and each
 * decision records which row ("PREFIX@YYYYMMDD") it used.
 *
 * File format (CSV, '#' comments, a header line naming the columns in any
 * order; empty cells inherit from the row in force at the same date for the
 * next shorter prefix, so a district row may set only what differs):
 *   prefix,effective,dibao_urban_fen,dibao_rural_fen,disposable_income_monthly_fen,
 *   age_band_start,age_70_fen,age_80_fen,age_90_fen,age_100_fen,
 *   dis_living_fen,dis_care_fen,care_full_fen,care_half_fen,care_self_fen
 * The embedded demo table covers province 44 with a few cities differing and
 * one raising its standard on 2026-07-01.
 */
#ifndef ELIG_STANDARDS_H
#define ELIG_STANDARDS_H

#include <stdio.h>

#include "model.h"

typedef struct elig_standards elig_standards;

/* Returns 0, -errno, or DD_ECONFIG with *error_text "path:line: reason". */
int elig_standards_load_file(const char *path, elig_standards **out, char **error_text);
/* Parses CSV text (the same format) from memory. */
int elig_standards_parse(const char *text, size_t len, const char *name,
                         elig_standards **out, char **error_text);
/* The embedded demo table. */
elig_standards *elig_standards_demo(void);
void elig_standards_destroy(elig_standards **standards);

/*
 * The standard in force for region_code (12 digits) on date; returns
 * DD_NOTFOUND when no row covers the region at that date.
 */
int elig_standards_lookup(const elig_standards *standards, const char *region_code,
                          int32_t yyyymmdd, elig_standard *out);
size_t elig_standards_rows(const elig_standards *standards);
/* Writes the table back in the file format. */
int elig_standards_write(const elig_standards *standards, FILE *out);

#endif
