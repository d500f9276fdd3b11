/*
 * eligibility_bench.c: how fast doudi-eligibility's engine applies
 * department comparison records against a large registry.
 *
 * In one process, with the real engine, registry, rules and LMDB (fully
 * synced commits, one per batch, exactly as the daemon's consumer does):
 *   1. build a registry of --persons people in households of 3 (the build
 *      itself is timed: person and household reports);
 *   2. apply --records comparison records in batches of --batch, a share
 *      --changing of which change a member's verified income (the rest
 *      repeat what the department said before and must change nothing);
 * and print records/s for both phases, with the machine. The records are
 * encoded Envelopes as they come out of intake's log; no sockets are
 * involved, so this is the engine's ceiling, not the pipeline's.
 *
 *   eligibility_bench [--persons N] [--records N] [--batch N] [--changing PERMILLE]
 *                     [--dir DIR] [--keep] [--reuse] [--fact-cache MIB]
 */
#include "alloc.h"
#include "clock.h"
#include "diag.h"
#include "engine.h"
#include "factcache.h"
#include "error.h"
#include "idnum.h"
#include "log.h"
#include "registry.h"
#include "standards.h"
#include "store.h"

#include "doudi/event.pb-c.h"
#include "doudi/log.pb-c.h"

#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void person_id(uint64_t n, char out[19])
{
    /* Born 1940-1999 by n, a district of Guangzhou, sequence from n. */
    int year = 1940 + (int)(n % 60), month = 1 + (int)(n / 60 % 12), day = 1 + (int)(n / 720 % 28);
    snprintf(out, 19, "440106%04d%02d%02d%03d", year, month, day, (int)(n / 20160 % 1000));
    out[17] = dd_idnum_check_char(out);
    out[18] = '\0';
}

/* A region of the demo province in county 440106. */
static void region_of(uint64_t household, char out[13])
{
    int township = 1 + (int)(household % 4);
    int village = 1 + (int)(household / 4 % 26);
    snprintf(out, 13, "440106%03d%03d", township, village);
}

typedef struct batch {
    Doudi__LogRecord *recs;
    Doudi__LogRecord **ptrs;
    uint8_t *buf;
    size_t n, cap, used, buf_cap;
} batch;

static void batch_add(batch *b, uint64_t seq, const Doudi__Envelope *env)
{
    size_t len = doudi__envelope__get_packed_size(env);
    if (b->used + len > b->buf_cap) {
        fprintf(stderr, "batch buffer too small\n");
        exit(2);
    }
    doudi__envelope__pack(env, b->buf + b->used);
    Doudi__LogRecord *r = &b->recs[b->n];
    doudi__log_record__init(r);
    r->sequence = seq;
    r->kind = (uint32_t)env->body_case;
    r->payload.data = b->buf + b->used;
    r->payload.len = len;
    b->ptrs[b->n] = r;
    b->n++;
    b->used += len;
}

typedef struct job {
    elig_engine *engine;
    batch *b;
} job;

static int apply_fn(MDB_txn *txn, void *arg)
{
    job *j = arg;
    return elig_engine_apply(j->engine, txn, j->b->ptrs, j->b->n);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void batch_committed(void *engine)
{
    elig_engine_batch_committed(engine);
}

static void batch_aborted(void *engine)
{
    elig_engine_batch_aborted(engine);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    uint64_t persons = 300000, records = 1000000;
    size_t batch_size = 2000;
    int changing = 50;
    const char *dir = NULL;
    int keep = 0, reuse = 0;
    size_t fact_cache_mib = 1024;
    static const struct option opts[] = {
        {"persons", required_argument, NULL, 'p'}, {"records", required_argument, NULL, 'r'},
        {"batch", required_argument, NULL, 'b'},   {"changing", required_argument, NULL, 'c'},
        {"dir", required_argument, NULL, 'd'},     {"keep", no_argument, NULL, 'k'},
        {"reuse", no_argument, NULL, 'R'},
        {"fact-cache", required_argument, NULL, 'F'},
        {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'p': persons = strtoull(optarg, NULL, 10); break;
        case 'r': records = strtoull(optarg, NULL, 10); break;
        case 'b': batch_size = strtoull(optarg, NULL, 10); break;
        case 'c': changing = atoi(optarg); break;
        case 'd': dir = optarg; break;
        case 'k': keep = 1; break;
        case 'R': reuse = keep = 1; break;
        case 'F': fact_cache_mib = strtoull(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "usage: %s [--persons N] [--records N] [--batch N] "
                            "[--changing PERMILLE] [--dir DIR] [--keep] [--reuse] [--fact-cache MIB]\n", argv[0]);
            return 2;
        }
    }
    dd_diag_init("eligibility_bench", DD_WARN);
    char tmp[] = "/tmp/elig_bench.XXXXXX";
    if (!dir && !(dir = mkdtemp(tmp))) {
        perror("mkdtemp");
        return 2;
    }
    dd_store *store;
    dd_store_options so = {.map_bytes = (size_t)4 << 30};
    if (dd_store_open(dir, &so, &store) != 0)
        return 2;
    dd_log *log;
    dd_log_options lo = {0};
    elig_registry *registry;
    if (dd_log_open(store, &lo, NULL, &log) != 0 || elig_registry_open(store, 4000000, &registry) != 0)
        return 2;
    elig_standards *standards = elig_standards_demo();
    elig_engine_options eo = {
        .params = {.dibao_asset_months = 24, .dibao_max_dwellings = 1, .dibao_min_fen = 1000,
                   .tekun_multiplier_permille = 1300, .dibian_multiplier_permille = 1500,
                   .rigid_share_permille = 500, .rigid_months = 12,
                   .temp_quick_aid_permille = 1000, .temp_decide_days = 3,
                   .medical_alert_monitored_fen = 600000, .medical_alert_other_fen = 1000000,
                   .income_drop_permille = 300, .elderly_age = 60, .advanced_age = 80,
                   .high_risk_age = 80, .child_age_limit = 16, .full_care_dependent = 3,
                   .half_care_impaired = 1},
        .dangling_wait_ms = 7 * 86400000LL,
        .discovery_handle_ms = 86400000, .review_handle_ms = 86400000,
        .risk_handle_ms = 86400000, .urgent_handle_ms = 86400000,
        .missing_info_handle_ms = 86400000, .quick_aid_handle_ms = 86400000,
        .dangling_handle_ms = 86400000,
        .fact_cache_bytes = fact_cache_mib << 20};
    elig_engine *engine = elig_engine_new(registry, log, standards, &eo);
    /* As in the daemon: a batch retried after the map grew starts clean. */
    dd_store_participant part = {batch_committed, batch_aborted, engine};
    dd_store_add_participant(store, &part);

    batch b = {0};
    b.cap = batch_size + 8;
    b.recs = dd_calloc(b.cap, sizeof(*b.recs));
    b.ptrs = dd_calloc(b.cap, sizeof(*b.ptrs));
    b.buf_cap = b.cap * 1024;
    b.buf = dd_malloc(b.buf_cap);
    job j = {engine, &b};
    uint64_t seq = 0;
    int64_t base_ms = 1781452800000LL; /* 2026-06-15 */
    char ids[3][19], hh[32], region[13];
    char *members[3] = {ids[0], ids[1], ids[2]};

    /* Phase 1: the registry (--reuse: a registry an earlier --keep run
     * of the same --persons left in --dir). */
    if (reuse)
        seq = 1000000000ULL;
    uint64_t households = persons / 3;
    int64_t t0 = dd_monotonic_ns();
    for (uint64_t h = 0; h < households && !reuse; h++) {
        region_of(h, region);
        snprintf(hh, sizeof(hh), "hh-%llu", (unsigned long long)h);
        Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
        env.source = "bench";
        env.event_id = "x";
        env.region_code = region;
        env.occurred_at_ms = base_ms + (int64_t)h;
        for (int m = 0; m < 3; m++) {
            person_id(h * 3 + (uint64_t)m, ids[m]);
            Doudi__PersonReported p = DOUDI__PERSON_REPORTED__INIT;
            p.person_id = ids[m];
            p.household_id = hh;
            p.living_arrangement = DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_WITH_FAMILY;
            p.legal_supporter = DOUDI__LEGAL_SUPPORTER__LEGAL_SUPPORTER_PRESENT;
            p.work_ability = DOUDI__WORK_ABILITY__WORK_ABILITY_ABLE;
            p.own_monthly_income_fen = 100000 + (int64_t)(h % 7) * 30000;
            env.body_case = DOUDI__ENVELOPE__BODY_PERSON_REPORTED;
            env.person_reported = &p;
            batch_add(&b, ++seq, &env);
        }
        Doudi__Income inc = DOUDI__INCOME__INIT;
        inc.kind = DOUDI__INCOME_KIND__INCOME_KIND_WAGES;
        inc.monthly_fen = 300000 + (int64_t)(h % 7) * 90000;
        Doudi__Income *incs[1] = {&inc};
        Doudi__HouseholdReported hr = DOUDI__HOUSEHOLD_REPORTED__INIT;
        hr.household_id = hh;
        hr.urban_rural = DOUDI__URBAN_RURAL__URBAN_RURAL_URBAN;
        hr.n_member_person_ids = 3;
        hr.member_person_ids = members;
        hr.n_incomes = 1;
        hr.incomes = incs;
        hr.dwellings = 1;
        env.body_case = DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED;
        env.household_reported = &hr;
        batch_add(&b, ++seq, &env);
        if (b.n + 4 > batch_size || h + 1 == households) {
            int rc = dd_store_write(store, apply_fn, &j);
            if (rc) {
                fprintf(stderr, "build: %s\n", dd_strerror(rc));
                return 1;
            }
            b.n = b.used = 0;
        }
    }
    double build_s = (double)(dd_monotonic_ns() - t0) / 1e9;

    /* Last month's feed: every person's income verified once (not timed;
     * with --reuse it also warms the fact cache, as a month would), so this
     * month's records repeat what is known unless chosen to change. */
    for (uint64_t pn = 0; pn < households * 3; pn++) {
        person_id(pn, ids[0]);
        region_of(pn / 3, region);
        Doudi__ComparisonRecord__IncomeFinding inc = DOUDI__COMPARISON_RECORD__INCOME_FINDING__INIT;
        inc.monthly_income_fen = 100000 + (int64_t)(pn / 3 % 7) * 30000;
        Doudi__ComparisonRecord c = DOUDI__COMPARISON_RECORD__INIT;
        c.subject_person_id = ids[0];
        c.department = DOUDI__DEPARTMENT__DEPARTMENT_TAX;
        c.period_yyyymm = 202605;
        c.income = &inc;
        Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
        env.source = "tax";
        env.event_id = "x";
        env.region_code = region;
        env.occurred_at_ms = base_ms + 3600000LL + (int64_t)pn;
        env.body_case = DOUDI__ENVELOPE__BODY_COMPARISON_RECORD;
        env.comparison_record = &c;
        batch_add(&b, ++seq, &env);
        if (b.n == batch_size || pn + 1 == households * 3) {
            int rc = dd_store_write(store, apply_fn, &j);
            if (rc) {
                fprintf(stderr, "warm-up: %s\n", dd_strerror(rc));
                return 1;
            }
            b.n = b.used = 0;
        }
    }

    /* Phase 2: this month's comparison records, most repeating what is known. */
    uint64_t changed_expected = 0;
    uint64_t rng = 88172645463325252ULL;
    double cpu0 = cpu_seconds();
    uint64_t commits = 0, evaluations = 0, unchanged = 0, cached = 0;
    int64_t write_ns = 0;      /* inside dd_store_write: the engine and LMDB */
    double write_cpu_s = 0;
    t0 = dd_monotonic_ns();
    for (uint64_t i = 0; i < records; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        uint64_t pn = rng % (households * 3);
        person_id(pn, ids[0]);
        region_of(pn / 3, region);
        bool change = (int)(rng >> 40) % 1000 < changing;
        Doudi__ComparisonRecord__IncomeFinding inc = DOUDI__COMPARISON_RECORD__INCOME_FINDING__INIT;
        /* The first report of an income is itself a change; repeat the
         * person's reported income so only the chosen share changes. */
        inc.monthly_income_fen = 100000 + (int64_t)(pn / 3 % 7) * 30000 + (change ? (int64_t)(i % 5 + 1) * 1000 : 0);
        changed_expected += change;
        Doudi__ComparisonRecord c = DOUDI__COMPARISON_RECORD__INIT;
        c.subject_person_id = ids[0];
        c.department = DOUDI__DEPARTMENT__DEPARTMENT_TAX;
        c.period_yyyymm = 202606;
        c.income = &inc;
        Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
        env.source = "tax";
        env.event_id = "x";
        env.region_code = region;
        env.occurred_at_ms = base_ms + 86400000LL + (int64_t)i;
        env.body_case = DOUDI__ENVELOPE__BODY_COMPARISON_RECORD;
        env.comparison_record = &c;
        batch_add(&b, ++seq, &env);
        if (b.n == batch_size || i + 1 == records) {
            int64_t w0 = dd_monotonic_ns();
            double c0 = cpu_seconds();
            int rc = dd_store_write(store, apply_fn, &j);
            write_ns += dd_monotonic_ns() - w0;
            write_cpu_s += cpu_seconds() - c0;
            if (rc) {
                fprintf(stderr, "records: %s\n", dd_strerror(rc));
                return 1;
            }
            commits++;
            const elig_batch_stats *st = elig_engine_last_batch(engine);
            evaluations += st->evaluations;
            unchanged += st->records_unchanged;
            cached += st->records_unchanged_cached;
            b.n = b.used = 0;
        }
    }
    double apply_s = (double)(dd_monotonic_ns() - t0) / 1e9;
    double apply_cpu_s = cpu_seconds() - cpu0;
    uint64_t np, nh, nd;
    elig_registry_counts(registry, &np, &nh, &nd);
    dd_store_usage u;
    dd_store_usage_get(store, &u);
    char cpu[128] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof(line), f))
            if (strncmp(line, "model name", 10) == 0) {
                snprintf(cpu, sizeof(cpu), "%s", strchr(line, ':') + 2);
                cpu[strcspn(cpu, "\n")] = '\0';
                break;
            }
        fclose(f);
    }
    printf("machine: %ld CPUs, %s\n", sysconf(_SC_NPROCESSORS_ONLN), cpu);
    printf("registry: %llu persons, %llu households, %llu decisions, %.1f MiB used\n",
           (unsigned long long)np, (unsigned long long)nh, (unsigned long long)nd,
           (double)u.used_bytes / 1048576.0);
    if (reuse)
        printf("build:    reused the registry in %s\n", dir);
    else
        printf("build:    %llu reports in %.1f s = %.0f reports/s\n",
               (unsigned long long)(households * 4), build_s, (double)(households * 4) / build_s);
    printf("records:  %llu comparison records (%.1f %% changing, batch %zu) in %.2f s = %.0f records/s\n",
           (unsigned long long)records, changing / 10.0, batch_size, apply_s,
           (double)records / apply_s);
    printf("          %llu household evaluations, %llu records changed nothing "
           "(%llu known from the fact cache)\n",
           (unsigned long long)evaluations, (unsigned long long)unchanged,
           (unsigned long long)cached);
    elig_factcache_stats fc;
    elig_engine_fact_cache_stats(engine, &fc);
    printf("          fact cache: %llu entries, %.0f MiB, %llu resets\n",
           (unsigned long long)fc.entries, (double)fc.bytes / 1048576.0,
           (unsigned long long)fc.resets);
    printf("          %.2f CPU s (%.0f %% of one core) in %llu commits, of which applying and "
           "committing (no record making): %.2f s = %.0f records/s, %.2f CPU s\n",
           apply_cpu_s, 100.0 * apply_cpu_s / apply_s, (unsigned long long)commits,
           (double)write_ns / 1e9, (double)records / ((double)write_ns / 1e9), write_cpu_s);
    free(b.recs);
    free(b.ptrs);
    free(b.buf);
    elig_engine_destroy(&engine);
    elig_registry_close(&registry);
    dd_log_close(&log);
    dd_store_close(&store);
    elig_standards_destroy(&standards);
    if (!keep)
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
