/*
 * divisions.h: the statistical division table (the 12-digit codes that
 * exist) and the shape of a code.
 *
 * A code is province 2, prefecture 2, county 2, township 3 (001-099
 * subdistrict, 100-199 town, 200-399 township), village 3 digits. The table
 * is data: loaded from a file (one code per line, optionally followed by a
 * tab or comma and a name; '#' starts a comment; blank lines ignored), or the
 * embedded demo province when no file is configured.
 *
 * The demo province is code 44 with prefectures 01-21, counties 01-06 in
 * each, townships 001-004 (subdistricts) and 101-104 (towns) in each county,
 * and villages 001-026 in each township: 21*6*8*26 = 26,208 villages, the
 * size of Guangdong's. Every code is therefore
 *   44 PP CC TTT VVV  with PP 01..21, CC 01..06, TTT in {001..004,101..104},
 *   VVV 001..026.
 */
#ifndef DD_DIVISIONS_H
#define DD_DIVISIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct dd_divisions dd_divisions;

/*
 * Loads a table. Returns 0, -errno if the file cannot be read, or
 * DD_ECONFIG for a malformed line; *error_text (if not NULL) gets a
 * malloc'ed "path:line: reason" (or "path: reason" when the file cannot be
 * opened) that the caller frees; it stays NULL on success. Duplicates are
 * allowed and counted once. A '#' anywhere starts a comment; spaces around
 * the code, a UTF-8 byte order mark and CRLF line ends are tolerated. A file
 * with no code at all is DD_ECONFIG too: it would refuse every event.
 */
int dd_divisions_load_file(const char *path, dd_divisions **out, char **error_text);
/* The embedded demo province (never fails). */
dd_divisions *dd_divisions_demo(void);
void dd_divisions_destroy(dd_divisions **divisions);

/* Whether s[0..len-1] is exactly 12 ASCII digits. */
bool dd_region_code_well_formed(const char *s, size_t len);
/* Whether a well-formed code is in the table. code12 is NUL-terminated; any
 * other string (or a NULL table) gives false. */
bool dd_divisions_contains(const dd_divisions *divisions, const char *code12);
/* Starts fetching what dd_divisions_contains will read for code12 (a
 * caller with many codes to ask about asks for the next ones first). */
void dd_divisions_prefetch(const dd_divisions *divisions, const char *code12);
/*
 * Like dd_divisions_contains, but also true for the code of an area above
 * the listed ones when the table lists a code inside it: a township
 * 440106001000, a county 440106000000, a prefecture 440100000000 or the
 * province 440000000000. Offices at those levels acknowledge alerts under
 * their own code, which a table of villages does not list.
 */
bool dd_divisions_contains_area(const dd_divisions *divisions, const char *code12);
size_t dd_divisions_count(const dd_divisions *divisions);
/* The i-th code in ascending order into out (13 bytes, NUL-terminated). */
void dd_divisions_code_at(const dd_divisions *divisions, size_t i, char out[13]);
/* Writes the table in the file format dd_divisions_load_file reads (a
 * comment line, then one code per line). Returns 0 or -errno (-EIO when the
 * stream does not say why). */
int dd_divisions_write(const dd_divisions *divisions, FILE *out);

#endif
