/*
 * provgen.c: generates a synthetic province-month (prov_gen.h) into event
 * files for provpub, with the counts a run must reproduce. See --help.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "alloc.h"
#include "prov_file.h"
#include "prov_gen.h"
#include "prov_world.h"

#define MAX_PORTALS 64

static const char help[] =
    "NAME\n"
    "    provgen - generate a synthetic county, city or province month for doudi\n"
    "\n"
    "SYNOPSIS\n"
    "    provgen --out DIR [--scale county|city|province] [--households N] [--seed S]\n"
    "            [--month YYYYMM] [--portals N] [--miss-rate R] [--invalid N]\n"
    "\n"
    "DESCRIPTION\n"
    "    Builds the synthetic province (21 prefecture cities, 122 counties, 1,596\n"
    "    townships, 26,264 villages), a population of households in the villages the\n"
    "    scale covers (county 440106, city 4401, or all of province 44), and one\n"
    "    month of their events, deterministically from the seed: the same options\n"
    "    give the same bytes on every run and machine.\n"
    "\n"
    "    Writes into DIR (created if missing):\n"
    "      divisions.txt      every village of the province, for doudi-intake's\n"
    "                         divisions_file;\n"
    "      preload-K.evt      portal K's share of the state before the month: the\n"
    "                         roster, every household and person, last month's\n"
    "                         verified findings of the monitored persons;\n"
    "      month-K.evt        portal K's share of the month;\n"
    "      expected.json      what a run must reproduce: events by kind and phase,\n"
    "                         invalid events by rejection reason, the records\n"
    "                         doudi-eligibility must find changed and unchanged;\n"
    "                         and what the population looks like.\n"
    "    Townships are dealt to portals in turn; all of a township's events go to\n"
    "    one portal, in time order. Each file is then rewritten as one block, its\n"
    "    townships merged by time: the order the portal publishes in, read front\n"
    "    to back (bench/province/prov_file.h has the format).\n"
    "\n"
    "OPTIONS\n"
    "    --scale S        county (440106), city (4401) or province. Default: county.\n"
    "    --households N   households in the scale; default: the province's density\n"
    "                     (2.5 million households in the province).\n"
    "    --seed S         Default: 1.\n"
    "    --month YYYYMM   The month. Default: 202610.\n"
    "    --portals N      Files per phase, 1 to 64. Default: 4.\n"
    "    --miss-rate R    Share of scheduled visits not made, 0 to 1. Default: 0.05.\n"
    "    --invalid N      Deliberately invalid events (a wrong check character, an\n"
    "                     unknown region, a negative amount, in turn). Default: one\n"
    "                     per 20,000 households, at least 3.\n"
    "    -h, --help       This text.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success, 1 on a write error, 2 on bad usage.\n";

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "provgen: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nprovgen: see provgen --help\n");
    exit(2);
}

static uint64_t parse_u64(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        usage_error("%s is not a non-negative integer", what);
    return v;
}

static json_t *kinds_json(const uint64_t *by_kind)
{
    static const char *const names[PROV_KINDS] = {
        [10] = "person_reported", [11] = "household_reported", [12] = "comparison_record",
        [13] = "risk_signal", [14] = "application", [15] = "enrolment_change",
        [16] = "visit_report", [17] = "roster_change", [18] = "alert_acknowledgement"};
    json_t *o = json_object();
    for (int k = 10; k < PROV_KINDS; k++)
        json_object_set_new(o, names[k], json_integer((json_int_t)by_kind[k]));
    return o;
}

static json_t *phase_json(const prov_phase_expect *ph)
{
    return json_pack("{s:I, s:o, s:I, s:I}", "valid", (json_int_t)ph->valid, "by_kind",
                     kinds_json(ph->by_kind), "eligibility_changed", (json_int_t)ph->elig_changed,
                     "eligibility_unchanged", (json_int_t)ph->elig_unchanged);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    prov_options opt = {.seed = 1, .scale = PROV_SCALE_COUNTY, .month_yyyymm = 202610, .miss_rate = 0.05};
    const char *out = NULL;
    unsigned portals = 4;
    bool households_set = false, invalid_set = false;
    static const struct option longs[] = {
        {"out", required_argument, NULL, 'o'},       {"scale", required_argument, NULL, 's'},
        {"households", required_argument, NULL, 'H'}, {"seed", required_argument, NULL, 'S'},
        {"month", required_argument, NULL, 'm'},     {"portals", required_argument, NULL, 'p'},
        {"miss-rate", required_argument, NULL, 'r'}, {"invalid", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 's':
            if (prov_scale_parse(optarg, &opt.scale) != 0)
                usage_error("--scale %s: county, city or province", optarg);
            break;
        case 'H': opt.households = parse_u64(optarg, "--households"); households_set = true; break;
        case 'S': opt.seed = parse_u64(optarg, "--seed"); break;
        case 'm': {
            uint64_t m = parse_u64(optarg, "--month");
            if (m < 190001 || m > 299912 || m % 100 < 1 || m % 100 > 12)
                usage_error("--month %s: YYYYMM", optarg);
            opt.month_yyyymm = (int)m;
            break;
        }
        case 'p':
            portals = (unsigned)parse_u64(optarg, "--portals");
            if (portals < 1 || portals > MAX_PORTALS)
                usage_error("--portals %s: 1 to 64", optarg);
            break;
        case 'r': {
            char *end;
            opt.miss_rate = strtod(optarg, &end);
            if (end == optarg || *end || !(opt.miss_rate >= 0 && opt.miss_rate <= 1))
                usage_error("--miss-rate %s: 0 to 1", optarg);
            break;
        }
        case 'i': opt.invalid = parse_u64(optarg, "--invalid"); invalid_set = true; break;
        case 'h': fputs(help, stdout); return 0;
        default: usage_error("%s", "bad option");
        }
    }
    if (optind < argc)
        usage_error("unexpected argument %s", argv[optind]);
    if (!out)
        usage_error("%s", "--out DIR is required");
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        perror(out);
        return 1;
    }

    prov_world world;
    prov_world_build(&world);
    if (!households_set)
        opt.households = prov_scale_default_households(&world, opt.scale);
    if (!invalid_set)
        opt.invalid = opt.households / 20000 < 3 ? 3 : opt.households / 20000;

    char path[4096];
    snprintf(path, sizeof(path), "%s/divisions.txt", out);
    FILE *df = fopen(path, "w");
    if (!df || prov_world_write_divisions(&world, df) != 0 || fclose(df) != 0) {
        perror(path);
        return 1;
    }

    FILE *pre[MAX_PORTALS], *mon[MAX_PORTALS];
    for (unsigned k = 0; k < portals; k++) {
        snprintf(path, sizeof(path), "%s/preload-%u.evt", out, k);
        pre[k] = fopen(path, "w");
        snprintf(path, sizeof(path), "%s/month-%u.evt", out, k);
        mon[k] = fopen(path, "w");
        if (!pre[k] || !mon[k]) {
            perror(path);
            return 1;
        }
    }

    uint64_t villages = 0, ntw = 0;
    for (size_t i = 0; i < world.ntownships; i++)
        if (prov_scale_covers(opt.scale, &world.townships[i])) {
            villages += world.townships[i].villages;
            ntw++;
        }
    prov_gen *gen = prov_gen_new(&world, &opt);
    prov_block *bp = prov_block_new(), *bm = prov_block_new();
    double started = now_s();
    uint64_t cum_villages = 0, given = 0, ordinal = 0;
    for (size_t i = 0; i < world.ntownships; i++) {
        const prov_township *t = &world.townships[i];
        if (!prov_scale_covers(opt.scale, t))
            continue;
        cum_villages += t->villages;
        /* households in proportion to villages, rounding carried along */
        uint64_t upto = (uint64_t)((unsigned __int128)opt.households * cum_villages / villages);
        uint64_t n = upto - given;
        given = upto;
        unsigned invalid = (unsigned)(opt.invalid / ntw + (ordinal < opt.invalid % ntw));
        if (n == 0)
            invalid = 0;
        prov_gen_township(gen, t, n, invalid, bp, bm);
        unsigned k = (unsigned)(ordinal % portals);
        int rc = prov_block_flush(bp, pre[k]);
        if (rc == 0)
            rc = prov_block_flush(bm, mon[k]);
        if (rc != 0) {
            fprintf(stderr, "provgen: writing %s: %s\n", out, strerror(-rc));
            return 1;
        }
        ordinal++;
    }
    for (unsigned k = 0; k < portals; k++)
        if (fclose(pre[k]) != 0 || fclose(mon[k]) != 0) {
            fprintf(stderr, "provgen: closing the files of portal %u: %s\n", k, strerror(errno));
            return 1;
        }
    static const char *const phases[] = {"preload", "month"};
    for (unsigned k = 0; k < portals; k++)
        for (size_t ph = 0; ph < sizeof(phases) / sizeof(phases[0]); ph++) {
            snprintf(path, sizeof(path), "%s/%s-%u.evt", out, phases[ph], k);
            char *why = NULL;
            int rc = prov_file_merge(path, &why);
            if (rc != 0) {
                fprintf(stderr, "provgen: merging %s: %s\n", path, why ? why : strerror(-rc));
                free(why);
                return 1;
            }
        }
    double elapsed = now_s() - started;

    const prov_expect *ex = prov_gen_expect(gen);
    uint64_t invalid_total = 0;
    json_t *inv = json_object();
    for (int r = 0; r < PROV_INVALID_REASONS; r++) {
        invalid_total += ex->invalid[r];
        if (ex->invalid[r])
            json_object_set_new(inv, prov_invalid_label(r), json_integer((json_int_t)ex->invalid[r]));
    }
    uint64_t events = ex->preload.valid + ex->month.valid + invalid_total;
    json_t *tiers = json_pack("{s:I, s:I, s:I, s:I}", "none", (json_int_t)ex->tier_expected[0], "general",
                              (json_int_t)ex->tier_expected[1], "key", (json_int_t)ex->tier_expected[2],
                              "high_risk", (json_int_t)ex->tier_expected[3]);
    json_t *grades = json_array();
    for (int gr = 0; gr < 5; gr++)
        json_array_append_new(grades, json_integer((json_int_t)ex->disabled_grade[gr]));
    json_t *root = json_pack(
        "{s:s, s:I, s:i, s:i, s:I, s:I, s:o, s:o, s:o, s:I, s:I, s:f}", "scale",
        prov_scale_name(opt.scale), "seed", (json_int_t)opt.seed, "month", opt.month_yyyymm, "portals",
        (int)portals, "month_start_ms", (json_int_t)ex->month_start_ms, "month_end_ms",
        (json_int_t)ex->month_end_ms, "preload", phase_json(&ex->preload), "month", phase_json(&ex->month),
        "invalid", inv, "invalid_total", (json_int_t)invalid_total, "events_total", (json_int_t)events,
        "miss_rate", opt.miss_rate);
    json_t *pop = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
        "townships", (json_int_t)ex->townships, "villages", (json_int_t)ex->villages, "households",
        (json_int_t)ex->households, "persons", (json_int_t)ex->persons, "monitored_persons",
        (json_int_t)ex->monitored, "workers", (json_int_t)ex->workers, "aged_60_plus", (json_int_t)ex->aged_60,
        "aged_80_plus", (json_int_t)ex->aged_80, "share_60_plus",
        ex->persons ? (double)ex->aged_60 / (double)ex->persons : 0.0, "share_80_plus_of_60_plus",
        ex->aged_60 ? (double)ex->aged_80 / (double)ex->aged_60 : 0.0, "disability_grades_0_to_4", grades,
        "expected_visit_tiers", tiers, "households_below_standard", (json_int_t)ex->below_standard,
        "households_marginal", (json_int_t)ex->marginal, "households_borderline", (json_int_t)ex->borderline,
        "comparison_records_changing", (json_int_t)ex->comparison_changed, "visits_scheduled",
        (json_int_t)ex->visits_scheduled, "visits_missed", (json_int_t)ex->visits_missed, "emergencies",
        (json_int_t)ex->emergencies);
    json_object_set_new(pop, "deaths", json_integer((json_int_t)ex->deaths));
    json_object_set_new(root, "population", pop);
    snprintf(path, sizeof(path), "%s/expected.json", out);
    if (json_dump_file(root, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
        fprintf(stderr, "provgen: cannot write %s\n", path);
        return 1;
    }
    json_decref(root);
    fprintf(stderr,
            "provgen: %s, %" PRIu64 " households, %" PRIu64 " persons: %" PRIu64 " preload + %" PRIu64
            " month events (%" PRIu64 " invalid) in %.1f s, %.0f events/s\n",
            prov_scale_name(opt.scale), ex->households, ex->persons, ex->preload.valid,
            ex->month.valid + invalid_total, invalid_total, elapsed, (double)events / (elapsed > 0 ? elapsed : 1));
    prov_block_destroy(&bp);
    prov_block_destroy(&bm);
    prov_gen_destroy(&gen);
    prov_world_free(&world);
    return 0;
}
