/*
 * config.h: INI configuration with an embedded default for every key.
 *
 * A daemon declares its keys once, in a table (section, name, type, default,
 * limits, help); the index of a key in that table is how it is read back.
 * With no file at all, every key has its default, so the whole system runs
 * with no configuration. A file may set any subset; an unknown section or
 * key, a value that does not parse, or one outside its limits is an error
 * naming the file, line and key, so a typo never silently falls back to a
 * default. `-t` prints the effective configuration (dd_config_print) and
 * exits; SIGHUP loads the file again and the daemon applies the keys marked
 * reloadable.
 *
 * Values:
 *   DD_CONF_STRING    any text (may be empty)
 *   DD_CONF_INT       a decimal integer within [min, max]
 *   DD_CONF_BOOL      true/false, yes/no, on/off, 1/0 (any case)
 *   DD_CONF_DURATION  integer with unit ms, s, m, h or d ("35d", "500ms"),
 *                     read back in milliseconds; [min, max] in ms. The unit
 *                     is required (lower case) except for 0.
 *   DD_CONF_SIZE      integer with optional unit K, M, G, T (powers of 1024,
 *                     "64M", either case), read back in bytes; [min, max] in
 *                     bytes
 *   DD_CONF_ENUM      one of the words in `choices`, a '|'-separated list
 *                     ("upgrade|reject"), exact case; read back as a string
 *                     or as its position in the list (dd_config_enum)
 *
 * The file: "[section]" lines, "key = value" lines, and comments on lines of
 * their own starting with '#' or ';'. A value is the rest of the line with
 * surrounding blanks removed; a ';' after a blank starts a comment. A value
 * is one line: an indented line after a key would continue its value, so it
 * is refused, as is a line of more than 198 characters. A section may appear
 * twice; a key may not.
 *
 * Errors in the file (the first one found is reported; nothing is loaded):
 *   path:N: [name]: unknown section
 *   path:N: [section] key: unknown key
 *   path:N: key: set before any [section]
 *   path:N: [section] key: set twice (first on line M)
 *   path:N: [section] key: 'abc' is not an integer       (likewise boolean,
 *                                                          duration, size)
 *   path:N: [section] key: 0 is below the minimum 1      (or above the maximum)
 *   path:N: [section] key: 99999999999999999999 is out of range
 *   path:N: [section] key: 'upgrad' is not one of upgrade|reject
 *   path:N: [section] key: indented line continues the value of line M; ...
 *   path:N: line is longer than 198 characters
 *   path:N: not a [section], a key = value or a comment
 */
#ifndef DD_CONFIG_H
#define DD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    DD_CONF_STRING,
    DD_CONF_INT,
    DD_CONF_BOOL,
    DD_CONF_DURATION,
    DD_CONF_SIZE,
    DD_CONF_ENUM,
} dd_conf_type;

/*
 * One key. The table is code: a missing section, name or help, a name that
 * cannot be written in INI, a key declared twice, an enum without choices,
 * min above max, or a default that does not parse, is outside its limits or
 * would not read back from a file (surrounding blanks, a line break, " ;")
 * aborts the first dd_config_load with a message on stderr.
 */
typedef struct dd_conf_key {
    const char *section;
    const char *name;
    dd_conf_type type;
    const char *default_value; /* text, parsed like a file value */
    /*
     * For INT, DURATION, SIZE: the value must lie in [min, max]. (0,0):
     * unlimited; max 0 with a positive min: no upper limit.
     */
    int64_t min, max;
    const char *choices;       /* for ENUM */
    bool reloadable;           /* applied on SIGHUP without a restart */
    const char *help;          /* one or two sentences */
} dd_conf_key;

typedef struct dd_config dd_config;

/*
 * Loads the defaults of keys[0..n-1], then the file at path (NULL: defaults
 * only). On success *out is a new config. On failure returns DD_ECONFIG (or
 * -errno when the file cannot be read) and, if error_text is not NULL, sets
 * *error_text to a malloc'ed message like
 *   "/etc/doudi/intake.ini:12: [intake] max_events_per_request: 0 is below the minimum 1"
 * (the forms are listed at the top of this file); *out is left alone. The
 * keys table must outlive the config. Defaults that do not parse are a
 * programming error and abort.
 */
int dd_config_load(const dd_conf_key *keys, size_t n, const char *path,
                   dd_config **out, char **error_text);
void dd_config_destroy(dd_config **config);

/*
 * Typed reads by key index; the type must match the declaration (a mismatch
 * or an index past the table is a bug and aborts). dd_config_string also
 * reads an ENUM's word. Strings are owned by the config.
 */
const char *dd_config_string(const dd_config *config, size_t key);
int64_t dd_config_int(const dd_config *config, size_t key);
bool dd_config_bool(const dd_config *config, size_t key);
int64_t dd_config_duration_ms(const dd_config *config, size_t key);
uint64_t dd_config_size(const dd_config *config, size_t key);
/* An ENUM's position in its choices: 0 for the first word. */
size_t dd_config_enum(const dd_config *config, size_t key);
/* The file the config came from, or NULL for defaults only. */
const char *dd_config_path(const dd_config *config);
/* Whether a key was set by the file rather than defaulted. */
bool dd_config_is_set(const dd_config *config, size_t key);
/*
 * Whether key has the same value in two configs of the same table ("1s" and
 * "1000ms" are the same). On SIGHUP a daemon compares the new config with
 * the running one and warns about changed keys that are not reloadable.
 */
bool dd_config_same(const dd_config *a, const dd_config *b, size_t key);

/*
 * Splits a value like "eligibility, scheduler" (commas and/or spaces) into
 * names. Returns one allocation (free() it once) holding *n pointers to
 * NUL-terminated names; empty items are skipped.
 */
const char **dd_config_split_list(const char *text, size_t *n);

/*
 * Writes the effective configuration as a valid INI file: every section and
 * key with its help as a comment, its value, and "(default)" where defaulted.
 * Each key gets its help, then a line with its type, limits, whether it is
 * reloadable and either "(default)" or the default it overrides, then
 * "key = value". Loading the output gives the same values (every key then
 * counts as set by the file).
 */
void dd_config_print(const dd_config *config, FILE *out);

/*
 * Writes the key reference (section, key, type, default, help) as plain text
 * for --help output.
 */
void dd_config_print_reference(const dd_conf_key *keys, size_t n, FILE *out);

#endif
