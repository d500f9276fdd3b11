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
 *
 * Inheritance, precisely: each column of a lookup comes from the most
 * specific prefix of the region that has a row in force on the date and a
 * value in that column. Parent and child may change on different dates: if
 * 44 raises its disposable income on 2026-01-01 and 4401 raised its 低保 on
 * 2025-07-01 (leaving disposable income empty), a 4401 region on 2026-02-01
 * gets 4401's 低保 and 44's new disposable income. An empty cell never
 * carries over from an earlier row of the same prefix: a city's new row
 * repeats every value of its own that it keeps. The version names every row
 * a value came from, most specific first, joined by '+'
 * ("440106@20250101+4401@20260701+44@20260101"): a change of any of them is
 * a change of the standard a decision used.
 *
 * Cells: prefix is digits; effective is YYYY-MM-DD (YYYYMMDD also read);
 * amounts are whole fen, 0..9999999999 (monthly, per person); age_band_start
 * is 70, 80, 90 or 100. Spaces around cells, a UTF-8 byte order mark and
 * CRLF line ends are tolerated. Every column must be named in the header,
 * each once. A province row (2 digits, the root of inheritance) fills every
 * cell, and no row may take effect before the first row of its province, so
 * a lookup that finds a row always has every value.
 *
 * Errors (DD_ECONFIG, *error_text "NAME:LINE: reason"; the first one found):
 *   unknown column 'x' (columns are ...); column 'x' appears twice in the
 *   header; the header lacks column 'x'; the header's column N has no name;
 *   no header line naming the columns; the table has no rows;
 *   the row has N cells, the header names M;
 *   column prefix: empty / 'x' is not a region prefix / '440' has 3 digits;
 *   column effective: empty / 'x' is not a date (YYYY-MM-DD);
 *   column dibao_urban_fen: 'abc' is not an amount in fen / '...' is too
 *   large for an amount in fen; column age_band_start: 'x' is not an age
 *   band start (70, 80, 90 or 100);
 *   province row 44 effective D leaves column x empty;
 *   duplicate row for prefix P effective D (first at line N) (the same date
 *   written either way is a duplicate);
 *   row P effective D has no province row PP to inherit from / takes effect
 *   before its province PP has a row;
 *   the line contains a NUL byte.
 *
 * Comment and blank lines are kept with the row below them (or above the
 * header, or at the end) and written back by elig_standards_write(), so an
 * operator's notes survive a load and write.
 *
 * A table never changes after it is built: lookups from several threads
 * need no lock, and a reload builds a new table to swap in.
 */
#ifndef ELIG_STANDARDS_H
#define ELIG_STANDARDS_H

#include <stdio.h>

#include "model.h"

typedef struct elig_standards elig_standards;

/*
 * Returns 0, -errno, or DD_ECONFIG with *error_text "path:line: reason".
 * error_text may be NULL; otherwise on failure it gets a malloc'ed message
 * the caller frees ("path: reason" when the file cannot be read), and on
 * success NULL. *out is NULL on failure; the caller destroys the table.
 */
int elig_standards_load_file(const char *path, elig_standards **out, char **error_text);
/* Parses CSV text (the same format) from memory; name stands for the path
 * in error messages. Same returns and ownership, without -errno. */
int elig_standards_parse(const char *text, size_t len, const char *name,
                         elig_standards **out, char **error_text);
/* The embedded demo table (deploy/standards-demo.csv is a copy of its
 * text). Never fails; the caller destroys it. */
elig_standards *elig_standards_demo(void);
/* Frees the table; accepts NULL and nulls *standards. */
void elig_standards_destroy(elig_standards **standards);

/*
 * The standard in force for region_code (12 digits) on date; returns
 * DD_NOTFOUND when no row covers the region at that date.
 * Returns -EINVAL when region_code is not exactly 12 ASCII digits
 * (NUL-terminated) or standards is NULL. *out is written only on success.
 * Allocates nothing; at most five hash probes and binary searches.
 */
int elig_standards_lookup(const elig_standards *standards, const char *region_code,
                          int32_t yyyymmdd, elig_standard *out);
/* The number of rows (0 for NULL). */
size_t elig_standards_rows(const elig_standards *standards);
/*
 * Writes the table back in the file format: the rows in their original
 * order with their comments, the columns in the canonical order above,
 * dates as YYYY-MM-DD, empty cells empty. Parsing the output gives the same
 * table. Returns 0 or -errno (-EIO when the stream does not say why).
 */
int elig_standards_write(const elig_standards *standards, FILE *out);

#endif
