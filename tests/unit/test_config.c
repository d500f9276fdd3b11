/*
 * test_config.c: INI configuration: defaults, every value type, every error
 * a file can contain, and the printed configuration reading back the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "error.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS_HOUR INT64_C(3600000)
#define MS_DAY INT64_C(86400000)
#define MIB (INT64_C(1) << 20)
#define TIB (INT64_C(1) << 40)

enum {
    K_NAME,
    K_COMMENT,
    K_MAX_EVENTS,
    K_OFFSET,
    K_VERBOSE,
    K_RETENTION,
    K_TIMEOUT,
    K_MAP_SIZE,
    K_CHUNK,
    K_ON_CONFLICT,
    K_LISTEN,
    N_KEYS
};

/* Sections interleave on purpose: printing groups them. */
static const dd_conf_key keys[N_KEYS] = {
    [K_NAME] = {"intake", "name", DD_CONF_STRING, "doudi-intake", 0, 0, NULL, false,
                "Name printed on every log line."},
    [K_COMMENT] = {"intake", "comment", DD_CONF_STRING, "", 0, 0, NULL, true,
                   "Free text for operators."},
    [K_MAX_EVENTS] = {"intake", "max_events_per_request", DD_CONF_INT, "500", 1, 10000, NULL,
                      true,
                      "Largest number of events accepted in one publish request. A larger "
                      "request is refused as a whole, so a portal learns to split its batches "
                      "instead of losing the tail."},
    [K_OFFSET] = {"intake", "offset", DD_CONF_INT, "-3", 0, 0, NULL, false, "Any integer."},
    [K_VERBOSE] = {"intake", "verbose", DD_CONF_BOOL, "false", 0, 0, NULL, true,
                   "Log every request."},
    [K_RETENTION] = {"store", "retention", DD_CONF_DURATION, "35d", MS_HOUR, 365 * MS_DAY, NULL,
                     false, "How long the log keeps records."},
    [K_TIMEOUT] = {"store", "commit_timeout", DD_CONF_DURATION, "500ms", 0, 0, NULL, true,
                   "Longest wait before a commit."},
    [K_MAP_SIZE] = {"store", "map_size", DD_CONF_SIZE, "1G", MIB, TIB, NULL, false,
                    "Initial LMDB map size."},
    [K_CHUNK] = {"store", "chunk", DD_CONF_SIZE, "4096", 0, 0, NULL, false, "Read chunk."},
    [K_ON_CONFLICT] = {"intake", "on_conflict", DD_CONF_ENUM, "upgrade", 0, 0,
                       "upgrade|reject|ignore", true, "What a conflicting event does."},
    [K_LISTEN] = {"metrics", "listen", DD_CONF_STRING, "127.0.0.1:9101", 0, 0, NULL, false,
                  "Address of the /metrics endpoint."},
};

static char tmpdir[] = "/tmp/doudi_test_config.XXXXXX";
static int file_counter;

/* A new file with content in the test's directory; the caller frees the path. */
static char *write_file(const char *content)
{
    char *path = malloc(strlen(tmpdir) + 32);
    sprintf(path, "%s/%d.ini", tmpdir, ++file_counter);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
    return path;
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char command[128];
    snprintf(command, sizeof(command), "rm -rf '%s'", tmpdir);
    return system(command) == 0 ? 0 : -1;
}

static dd_config *load_text(const char *content)
{
    char *path = write_file(content);
    dd_config *config = NULL;
    char *error = NULL;
    int rc = dd_config_load(keys, N_KEYS, path, &config, &error);
    if (rc)
        fprintf(stderr, "unexpected error: %s\n", error);
    assert_int_equal(rc, 0);
    assert_null(error);
    assert_string_equal(dd_config_path(config), path);
    free(path);
    return config;
}

/* ---- defaults and values ----------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    dd_config *config = NULL;
    assert_int_equal(dd_config_load(keys, N_KEYS, NULL, &config, NULL), 0);
    assert_null(dd_config_path(config));
    assert_string_equal(dd_config_string(config, K_NAME), "doudi-intake");
    assert_string_equal(dd_config_string(config, K_COMMENT), "");
    assert_int_equal(dd_config_int(config, K_MAX_EVENTS), 500);
    assert_int_equal(dd_config_int(config, K_OFFSET), -3);
    assert_false(dd_config_bool(config, K_VERBOSE));
    assert_int_equal(dd_config_duration_ms(config, K_RETENTION), 35 * MS_DAY);
    assert_int_equal(dd_config_duration_ms(config, K_TIMEOUT), 500);
    assert_int_equal(dd_config_size(config, K_MAP_SIZE), 1 << 30);
    assert_int_equal(dd_config_size(config, K_CHUNK), 4096);
    assert_string_equal(dd_config_string(config, K_ON_CONFLICT), "upgrade");
    assert_int_equal(dd_config_enum(config, K_ON_CONFLICT), 0);
    assert_string_equal(dd_config_string(config, K_LISTEN), "127.0.0.1:9101");
    for (size_t i = 0; i < N_KEYS; i++)
        assert_false(dd_config_is_set(config, i));
    dd_config_destroy(&config);
    assert_null(config);
    dd_config_destroy(&config);
    dd_config_destroy(NULL);

    /* An empty file, or one with only comments and sections, is all defaults. */
    config = load_text("");
    assert_int_equal(dd_config_int(config, K_MAX_EVENTS), 500);
    dd_config_destroy(&config);
    config = load_text("\xef\xbb\xbf# nothing\n; still nothing\n\n[intake]\n[store]\n[intake]\n");
    for (size_t i = 0; i < N_KEYS; i++)
        assert_false(dd_config_is_set(config, i));
    dd_config_destroy(&config);
}

static void test_file_values(void **state)
{
    (void)state;
    dd_config *config = load_text("# doudi-intake\n"
                                  "[intake]\n"
                                  "  max_events_per_request=10000\n"
                                  "name = intake east ; the shard's name\n"
                                  "comment =\n"
                                  "verbose: yes\n"
                                  "on_conflict = reject\n"
                                  "\n"
                                  "[store]\n"
                                  "retention = 2h\n"
                                  "map_size = 64m\n"
                                  "[intake]\n"
                                  "offset = -9223372036854775808\n");
    assert_string_equal(dd_config_string(config, K_NAME), "intake east");
    assert_string_equal(dd_config_string(config, K_COMMENT), "");
    assert_int_equal(dd_config_int(config, K_MAX_EVENTS), 10000);
    assert_true(dd_config_int(config, K_OFFSET) == INT64_MIN);
    assert_true(dd_config_bool(config, K_VERBOSE));
    assert_string_equal(dd_config_string(config, K_ON_CONFLICT), "reject");
    assert_int_equal(dd_config_enum(config, K_ON_CONFLICT), 1);
    assert_int_equal(dd_config_duration_ms(config, K_RETENTION), 2 * MS_HOUR);
    assert_int_equal(dd_config_size(config, K_MAP_SIZE), 64 * MIB);
    assert_true(dd_config_is_set(config, K_NAME));
    assert_true(dd_config_is_set(config, K_COMMENT));
    assert_true(dd_config_is_set(config, K_OFFSET));
    assert_false(dd_config_is_set(config, K_TIMEOUT));
    assert_false(dd_config_is_set(config, K_LISTEN));
    assert_false(dd_config_is_set(config, N_KEYS + 5));
    assert_int_equal(dd_config_duration_ms(config, K_TIMEOUT), 500);
    dd_config_destroy(&config);
}

struct typed_case {
    size_t key;
    const char *text;
    int64_t expect;
};

static void test_every_type(void **state)
{
    (void)state;
    static const struct typed_case cases[] = {
        {K_MAX_EVENTS, "1", 1},
        {K_MAX_EVENTS, "+42", 42},
        {K_MAX_EVENTS, "007", 7},
        {K_OFFSET, "0", 0},
        {K_OFFSET, "-17", -17},
        {K_OFFSET, "9223372036854775807", INT64_MAX},
        {K_VERBOSE, "true", 1},
        {K_VERBOSE, "TRUE", 1},
        {K_VERBOSE, "Yes", 1},
        {K_VERBOSE, "on", 1},
        {K_VERBOSE, "1", 1},
        {K_VERBOSE, "false", 0},
        {K_VERBOSE, "no", 0},
        {K_VERBOSE, "OFF", 0},
        {K_VERBOSE, "0", 0},
        {K_TIMEOUT, "0", 0},
        {K_TIMEOUT, "250ms", 250},
        {K_TIMEOUT, "3s", 3000},
        {K_TIMEOUT, "90m", 90 * 60000},
        {K_TIMEOUT, "5h", 5 * MS_HOUR},
        {K_TIMEOUT, "35d", 35 * MS_DAY},
        {K_RETENTION, "1h", MS_HOUR},
        {K_RETENTION, "365d", 365 * MS_DAY},
        {K_RETENTION, "3600000ms", MS_HOUR},
        {K_CHUNK, "0", 0},
        {K_CHUNK, "512", 512},
        {K_CHUNK, "1K", 1024},
        {K_CHUNK, "1k", 1024},
        {K_CHUNK, "64M", 64 * MIB},
        {K_CHUNK, "3G", INT64_C(3) << 30},
        {K_CHUNK, "2T", 2 * TIB},
        {K_MAP_SIZE, "1M", MIB},
        {K_MAP_SIZE, "1t", TIB},
        {K_ON_CONFLICT, "upgrade", 0},
        {K_ON_CONFLICT, "reject", 1},
        {K_ON_CONFLICT, "ignore", 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const dd_conf_key *key = &keys[cases[i].key];
        char content[256];
        snprintf(content, sizeof(content), "[%s]\n%s = %s\n", key->section, key->name,
                 cases[i].text);
        dd_config *config = load_text(content);
        int64_t got = 0;
        switch (key->type) {
        case DD_CONF_INT: got = dd_config_int(config, cases[i].key); break;
        case DD_CONF_BOOL: got = dd_config_bool(config, cases[i].key); break;
        case DD_CONF_DURATION: got = dd_config_duration_ms(config, cases[i].key); break;
        case DD_CONF_SIZE: got = (int64_t)dd_config_size(config, cases[i].key); break;
        case DD_CONF_ENUM:
            got = (int64_t)dd_config_enum(config, cases[i].key);
            assert_string_equal(dd_config_string(config, cases[i].key), cases[i].text);
            break;
        default: fail();
        }
        if (got != cases[i].expect)
            fail_msg("%s = %s read as %lld", key->name, cases[i].text, (long long)got);
        assert_true(dd_config_is_set(config, cases[i].key));
        dd_config_destroy(&config);
    }
}

/* ---- errors ------------------------------------------------------------------------ */

struct error_case {
    const char *content;
    const char *message; /* after "path:" */
};

static void test_errors(void **state)
{
    (void)state;
    static const struct error_case cases[] = {
        /* unknown section, with or without keys in it */
        {"[intake]\nverbose = on\n[intak]\n", "3: [intak]: unknown section"},
        {"[intak]\nverbose = on\n", "1: [intak]: unknown section"},
        {"[]\n", "1: []: unknown section"},
        {"[ intake ]\n", "1: [ intake ]: unknown section"},
        {"\xef\xbb\xbf[intak]\n", "1: [intak]: unknown section"},
        /* unknown key, key outside a section */
        {"[intake]\nmax_events = 5\n", "2: [intake] max_events: unknown key"},
        {"[store]\nverbose = on\n", "2: [store] verbose: unknown key"},
        {"verbose = on\n", "1: verbose: set before any [section]"},
        /* duplicate key, also across two [intake] headers */
        {"[intake]\nverbose = on\n\nverbose = off\n",
         "4: [intake] verbose: set twice (first on line 2)"},
        {"[intake]\nname = a\n[store]\nchunk = 1\n[intake]\nname = a\n",
         "6: [intake] name: set twice (first on line 2)"},
        /* bad values */
        {"[intake]\nmax_events_per_request = abc\n",
         "2: [intake] max_events_per_request: 'abc' is not an integer"},
        {"[intake]\nmax_events_per_request = 12x\n",
         "2: [intake] max_events_per_request: '12x' is not an integer"},
        {"[intake]\nmax_events_per_request = 1.5\n",
         "2: [intake] max_events_per_request: '1.5' is not an integer"},
        {"[intake]\nmax_events_per_request =\n",
         "2: [intake] max_events_per_request: '' is not an integer"},
        {"[intake]\nmax_events_per_request = 0x10\n",
         "2: [intake] max_events_per_request: '0x10' is not an integer"},
        {"[intake]\nmax_events_per_request = - 5\n",
         "2: [intake] max_events_per_request: '- 5' is not an integer"},
        {"[intake]\nverbose = maybe\n",
         "2: [intake] verbose: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)"},
        {"[intake]\nverbose =\n",
         "2: [intake] verbose: '' is not a boolean (true/false, yes/no, on/off, 1/0)"},
        {"[store]\ncommit_timeout = 35\n",
         "2: [store] commit_timeout: '35' is not a duration (a whole number with ms, s, m, h or "
         "d)"},
        {"[store]\ncommit_timeout = 5x\n",
         "2: [store] commit_timeout: '5x' is not a duration (a whole number with ms, s, m, h or "
         "d)"},
        {"[store]\ncommit_timeout = 5 s\n",
         "2: [store] commit_timeout: '5 s' is not a duration (a whole number with ms, s, m, h or "
         "d)"},
        {"[store]\ncommit_timeout = 1.5h\n",
         "2: [store] commit_timeout: '1.5h' is not a duration (a whole number with ms, s, m, h "
         "or d)"},
        {"[store]\ncommit_timeout = -5s\n",
         "2: [store] commit_timeout: '-5s' is not a duration (a whole number with ms, s, m, h or "
         "d)"},
        {"[store]\ncommit_timeout = 5S\n",
         "2: [store] commit_timeout: '5S' is not a duration (a whole number with ms, s, m, h or "
         "d)"},
        {"[store]\nchunk = 64MB\n",
         "2: [store] chunk: '64MB' is not a size (a whole number of bytes, or with K, M, G or T)"},
        {"[store]\nchunk = -1\n",
         "2: [store] chunk: '-1' is not a size (a whole number of bytes, or with K, M, G or T)"},
        {"[store]\nchunk = M\n",
         "2: [store] chunk: 'M' is not a size (a whole number of bytes, or with K, M, G or T)"},
        /* outside the limits, or outside int64 */
        {"[intake]\nmax_events_per_request = 0\n",
         "2: [intake] max_events_per_request: 0 is below the minimum 1"},
        {"[intake]\nmax_events_per_request = 10001\n",
         "2: [intake] max_events_per_request: 10001 is above the maximum 10000"},
        {"[intake]\noffset = 9223372036854775808\n",
         "2: [intake] offset: 9223372036854775808 is out of range"},
        {"[intake]\noffset = -99999999999999999999\n",
         "2: [intake] offset: -99999999999999999999 is out of range"},
        {"[store]\nretention = 30m\n", "2: [store] retention: 30m is below the minimum 1h"},
        {"[store]\nretention = 366d\n", "2: [store] retention: 366d is above the maximum 365d"},
        {"[store]\ncommit_timeout = 106751991167301d\n",
         "2: [store] commit_timeout: 106751991167301d is out of range"},
        {"[store]\nmap_size = 512K\n", "2: [store] map_size: 512K is below the minimum 1M"},
        {"[store]\nmap_size = 1025G\n", "2: [store] map_size: 1025G is above the maximum 1T"},
        {"[store]\nchunk = 8388608T\n", "2: [store] chunk: 8388608T is out of range"},
        /* enum words are exact */
        {"[intake]\non_conflict = upgrad\n",
         "2: [intake] on_conflict: 'upgrad' is not one of upgrade|reject|ignore"},
        {"[intake]\non_conflict = Reject\n",
         "2: [intake] on_conflict: 'Reject' is not one of upgrade|reject|ignore"},
        {"[intake]\non_conflict = reject|ignore\n",
         "2: [intake] on_conflict: 'reject|ignore' is not one of upgrade|reject|ignore"},
        /* lines inih would bend */
        {"[intake]\nname = a\n  comment = b\n",
         "3: [intake] name: indented line continues the value of line 2; values are one line "
         "and keys are not indented"},
        {"[intake]\nthis is not a key\n", "2: not a [section], a key = value or a comment"},
        {"[intake\nname = x\n", "1: not a [section], a key = value or a comment"},
        /* the first error wins */
        {"[intake]\nverbose = maybe\nmax_events_per_request = 0\n",
         "2: [intake] verbose: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = write_file(cases[i].content);
        dd_config *config = (dd_config *)&config;
        char *error = NULL;
        int rc = dd_config_load(keys, N_KEYS, path, &config, &error);
        char *expected = malloc(strlen(path) + strlen(cases[i].message) + 2);
        sprintf(expected, "%s:%s", path, cases[i].message);
        if (rc != DD_ECONFIG || !error || strcmp(error, expected) != 0)
            fail_msg("case %zu: rc %d, error \"%s\", expected \"%s\"", i, rc,
                     error ? error : "(none)", expected);
        assert_ptr_equal(config, (dd_config *)&config);
        /* The same failure without a place for the message. */
        assert_int_equal(dd_config_load(keys, N_KEYS, path, &config, NULL), DD_ECONFIG);
        free(expected);
        free(error);
        free(path);
    }
}

static void test_long_line(void **state)
{
    (void)state;
    char content[512];
    int n = snprintf(content, sizeof(content), "[intake]\ncomment = ");
    memset(content + n, 'x', 300);
    strcpy(content + n + 300, "\nverbose = on\n");
    char *path = write_file(content);
    dd_config *config = NULL;
    char *error = NULL;
    assert_int_equal(dd_config_load(keys, N_KEYS, path, &config, &error), DD_ECONFIG);
    char expected[256];
    snprintf(expected, sizeof(expected), "%s:2: line is longer than 198 characters", path);
    assert_string_equal(error, expected);
    free(error);
    free(path);

    /* A line of 198 characters fits, with or without its newline at the end. */
    for (int newline = 0; newline < 2; newline++) {
        memset(content, 0, sizeof(content));
        strcpy(content, "[intake]\ncomment = ");
        size_t at = strlen(content);
        memset(content + at, 'y', 198 - strlen("comment = "));
        if (newline)
            strcat(content, "\n");
        config = load_text(content);
        assert_int_equal(strlen(dd_config_string(config, K_COMMENT)), 188);
        dd_config_destroy(&config);
    }
}

static void test_unreadable_file(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/missing.ini", tmpdir);
    dd_config *config = NULL;
    char *error = NULL;
    assert_int_equal(dd_config_load(keys, N_KEYS, path, &config, &error), -ENOENT);
    assert_null(config);
    char expected[256];
    snprintf(expected, sizeof(expected), "%s: cannot open: %s", path, strerror(ENOENT));
    assert_string_equal(error, expected);
    free(error);

    /* A directory opens but cannot be read. */
    assert_int_equal(dd_config_load(keys, N_KEYS, tmpdir, &config, &error), -EISDIR);
    assert_null(config);
    free(error);
}

/* ---- printing ------------------------------------------------------------------------ */

static char *print_to_string(const dd_config *config)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    dd_config_print(config, f);
    fclose(f);
    return text;
}

static void assert_same_values(const dd_config *a, const dd_config *b)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (!dd_config_same(a, b, i))
            fail_msg("key %s differs after the round trip", keys[i].name);
    assert_string_equal(dd_config_string(a, K_NAME), dd_config_string(b, K_NAME));
    assert_string_equal(dd_config_string(a, K_COMMENT), dd_config_string(b, K_COMMENT));
    assert_int_equal(dd_config_int(a, K_OFFSET), dd_config_int(b, K_OFFSET));
    assert_int_equal(dd_config_duration_ms(a, K_RETENTION), dd_config_duration_ms(b, K_RETENTION));
    assert_int_equal(dd_config_size(a, K_MAP_SIZE), dd_config_size(b, K_MAP_SIZE));
}

static void test_print_round_trip(void **state)
{
    (void)state;
    const char *sources[] = {
        NULL,
        "[intake]\nname = east ; comment\ncomment = \"quoted\" text; not a comment\n"
        "max_events_per_request = 10000\noffset = -1\nverbose = YES\non_conflict = ignore\n"
        "[store]\nretention = 48h\ncommit_timeout = 0\nmap_size = 2048K\nchunk = 1k\n"
        "[metrics]\nlisten = [::1]:9101\n",
        "[store]\nretention = 1h\n",
    };
    for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
        dd_config *first = NULL;
        if (sources[i]) {
            first = load_text(sources[i]);
        } else {
            assert_int_equal(dd_config_load(keys, N_KEYS, NULL, &first, NULL), 0);
        }
        char *printed = print_to_string(first);
        dd_config *second = load_text(printed);
        assert_same_values(first, second);
        for (size_t k = 0; k < N_KEYS; k++)
            assert_true(dd_config_is_set(second, k));
        /* Printing what was read back gives the same file, but for the marks. */
        char *again = print_to_string(second);
        assert_null(strstr(again, "; (default)\n"));
        dd_config_destroy(&second);
        dd_config_destroy(&first);
        free(again);
        free(printed);
    }
}

static void test_print_exact(void **state)
{
    (void)state;
    dd_config *config = load_text("[store]\nretention = 48h\n");
    char *text = print_to_string(config);
    char *path_line = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&path_line, &len);
    fprintf(f, "# Effective configuration, read from %s.\n", dd_config_path(config));
    fclose(f);
    assert_true(strncmp(text, path_line, strlen(path_line)) == 0);
    assert_string_equal(
        text + strlen(path_line),
        "# Keys marked (default) are not set in the file.\n"
        "\n"
        "[intake]\n"
        "\n"
        "# Name printed on every log line.\n"
        "# string; needs a restart; (default)\n"
        "name = doudi-intake\n"
        "\n"
        "# Free text for operators.\n"
        "# string; reloadable; (default)\n"
        "comment =\n"
        "\n"
        "# Largest number of events accepted in one publish request. A larger request\n"
        "# is refused as a whole, so a portal learns to split its batches instead of\n"
        "# losing the tail.\n"
        "# integer, 1 .. 10000; reloadable; (default)\n"
        "max_events_per_request = 500\n"
        "\n"
        "# Any integer.\n"
        "# integer; needs a restart; (default)\n"
        "offset = -3\n"
        "\n"
        "# Log every request.\n"
        "# boolean (true/false, yes/no, on/off, 1/0); reloadable; (default)\n"
        "verbose = false\n"
        "\n"
        "# What a conflicting event does.\n"
        "# one of upgrade|reject|ignore; reloadable; (default)\n"
        "on_conflict = upgrade\n"
        "\n"
        "[store]\n"
        "\n"
        "# How long the log keeps records.\n"
        "# duration (ms, s, m, h, d), 1h .. 365d; needs a restart; default 35d\n"
        "retention = 48h\n"
        "\n"
        "# Longest wait before a commit.\n"
        "# duration (ms, s, m, h, d); reloadable; (default)\n"
        "commit_timeout = 500ms\n"
        "\n"
        "# Initial LMDB map size.\n"
        "# size (bytes, K, M, G, T), 1M .. 1T; needs a restart; (default)\n"
        "map_size = 1G\n"
        "\n"
        "# Read chunk.\n"
        "# size (bytes, K, M, G, T); needs a restart; (default)\n"
        "chunk = 4096\n"
        "\n"
        "[metrics]\n"
        "\n"
        "# Address of the /metrics endpoint.\n"
        "# string; needs a restart; (default)\n"
        "listen = 127.0.0.1:9101\n");
    free(path_line);
    free(text);
    dd_config_destroy(&config);

    assert_int_equal(dd_config_load(keys, N_KEYS, NULL, &config, NULL), 0);
    text = print_to_string(config);
    assert_true(strncmp(text, "# Effective configuration: built-in defaults, no file.\n", 55) ==
                0);
    free(text);
    dd_config_destroy(&config);
}

static void test_print_reference(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    dd_config_print_reference(keys, N_KEYS, f);
    fclose(f);
    assert_true(strncmp(text, "[intake]\n  name = doudi-intake\n", 31) == 0);
    assert_non_null(strstr(text, "\n  max_events_per_request = 500\n"
                                 "      integer, 1 .. 10000; reloadable\n"
                                 "      Largest number of events accepted in one publish "
                                 "request. A larger\n"));
    assert_non_null(strstr(text, "\n\n[store]\n  retention = 35d\n"
                                 "      duration (ms, s, m, h, d), 1h .. 365d; needs a restart\n"
                                 "      How long the log keeps records.\n"));
    assert_non_null(strstr(text, "\n  on_conflict = upgrade\n"
                                 "      one of upgrade|reject|ignore; reloadable\n"));
    assert_non_null(strstr(text, "\n\n[metrics]\n  listen = 127.0.0.1:9101\n"));
    free(text);
}

static void test_same(void **state)
{
    (void)state;
    dd_config *a = load_text("[store]\nretention = 24h\nmap_size = 1024M\n");
    dd_config *b = load_text("[store]\nretention = 1d\n[intake]\nverbose = on\n");
    assert_true(dd_config_same(a, b, K_RETENTION));
    assert_true(dd_config_same(a, b, K_MAP_SIZE)); /* 1024M and the default 1G */
    assert_false(dd_config_same(a, b, K_VERBOSE));
    assert_true(dd_config_same(a, b, K_NAME));
    dd_config_destroy(&a);
    dd_config_destroy(&b);
}

static void test_open_upper_limit(void **state)
{
    (void)state;
    static const dd_conf_key t[] = {
        {"store", "map_size", DD_CONF_SIZE, "1G", 64 * 1024, 0, NULL, false, "Map size."},
    };
    char *path = write_file("[store]\nmap_size = 8T\n");
    dd_config *config = NULL;
    assert_int_equal(dd_config_load(t, 1, path, &config, NULL), 0);
    assert_int_equal(dd_config_size(config, 0), 8 * TIB);
    dd_config_destroy(&config);
    free(path);

    path = write_file("[store]\nmap_size = 1K\n");
    char *error = NULL;
    assert_int_equal(dd_config_load(t, 1, path, &config, &error), DD_ECONFIG);
    char expected[256];
    snprintf(expected, sizeof(expected), "%s:2: [store] map_size: 1K is below the minimum 64K",
             path);
    assert_string_equal(error, expected);
    free(error);
    free(path);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    dd_config_print_reference(t, 1, f);
    fclose(f);
    assert_string_equal(text, "[store]\n"
                              "  map_size = 1G\n"
                              "      size (bytes, K, M, G, T), at least 64K; needs a restart\n"
                              "      Map size.\n");
    free(text);
}

/* ---- programming errors abort --------------------------------------------------------- */

static void assert_aborts(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Keep the expected message off the test's output. */
        if (!freopen("/dev/null", "w", stderr))
            _exit(2);
        fn();
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void load_table(const dd_conf_key *table, size_t n)
{
    dd_config *config = NULL;
    dd_config_load(table, n, NULL, &config, NULL);
    dd_config_destroy(&config);
}

static void bad_default(void)
{
    static const dd_conf_key t[] = {{"a", "b", DD_CONF_INT, "x", 0, 0, NULL, false, "h"}};
    load_table(t, 1);
}

static void default_out_of_range(void)
{
    static const dd_conf_key t[] = {{"a", "b", DD_CONF_INT, "0", 1, 5, NULL, false, "h"}};
    load_table(t, 1);
}

static void default_not_writable(void)
{
    static const dd_conf_key t[] = {{"a", "b", DD_CONF_STRING, "x ; y", 0, 0, NULL, false, "h"}};
    load_table(t, 1);
}

static void key_twice(void)
{
    static const dd_conf_key t[] = {{"a", "b", DD_CONF_STRING, "", 0, 0, NULL, false, "h"},
                                    {"a", "b", DD_CONF_STRING, "", 0, 0, NULL, false, "h"}};
    load_table(t, 2);
}

static void enum_without_choices(void)
{
    static const dd_conf_key t[] = {{"a", "b", DD_CONF_ENUM, "x", 0, 0, NULL, false, "h"}};
    load_table(t, 1);
}

static void min_above_max(void)
{
    static const dd_conf_key t[] = {{"a", "b", DD_CONF_INT, "7", 10, 5, NULL, false, "h"}};
    load_table(t, 1);
}

static void wrong_type_read(void)
{
    dd_config *config = NULL;
    dd_config_load(keys, N_KEYS, NULL, &config, NULL);
    dd_config_int(config, K_NAME);
}

static void index_past_table(void)
{
    dd_config *config = NULL;
    dd_config_load(keys, N_KEYS, NULL, &config, NULL);
    dd_config_string(config, N_KEYS);
}

static void test_programming_errors_abort(void **state)
{
    (void)state;
    assert_aborts(bad_default);
    assert_aborts(default_out_of_range);
    assert_aborts(default_not_writable);
    assert_aborts(key_twice);
    assert_aborts(enum_without_choices);
    assert_aborts(min_above_max);
    assert_aborts(wrong_type_read);
    assert_aborts(index_past_table);
}

static void test_split_list(void **state)
{
    (void)state;
    size_t n;
    const char **names = dd_config_split_list(" eligibility, scheduler,,alerts ", &n);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "eligibility");
    assert_string_equal(names[1], "scheduler");
    assert_string_equal(names[2], "alerts");
    free(names);
    names = dd_config_split_list("", &n);
    assert_int_equal(n, 0);
    free(names);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_file_values),
        cmocka_unit_test(test_every_type),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_unreadable_file),
        cmocka_unit_test(test_print_round_trip),
        cmocka_unit_test(test_print_exact),
        cmocka_unit_test(test_print_reference),
        cmocka_unit_test(test_same),
        cmocka_unit_test(test_open_upper_limit),
        cmocka_unit_test(test_programming_errors_abort),
        cmocka_unit_test(test_split_list),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
