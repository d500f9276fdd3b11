/*
 * sched_bench.c: how fast doudi-scheduler's engine builds, visits and
 * sweeps a province-sized set of visit plans.
 *
 * In one process, with the real engine, databases and LMDB (fully synced
 * commits, one per batch of --batch records, as the daemon's consumer
 * does; no sockets):
 *   1. the roster: two village assistants in each of the demo province's
 *      26,208 villages;
 *   2. --plans CareChange records on 1 March 2026 (10 % high-risk, 70 % key,
 *      20 % general), each starting a plan and assigning a worker;
 *   3. --reports visit reports during March for random plans (each counts:
 *      the rate, the next due time, the worker's tally);
 *   4. the sweep: one record on 2 April moves the clock past the end of
 *      March, so the month start counts April's people due and every key
 *      plan not visited in March becomes overdue (one alert each), with
 *      the midnight checks of every township on the way;
 * and prints records/s (plans, reports) and plans swept/s, with the sizes.
 *
 *   sched_bench [--plans N] [--reports N] [--batch N] [--journal N] [--dir DIR] [--keep]
 *
 * --journal sets the plan journal's fold threshold (common/journal.h).
 */
#include "alloc.h"
#include "clock.h"
#include "diag.h"
#include "error.h"
#include "idnum.h"
#include "log.h"
#include "sched_calendar.h"
#include "sched_engine.h"
#include "sched_plandb.h"
#include "store.h"

#include "doudi/event.pb-c.h"
#include "doudi/log.pb-c.h"

#include <ftw.h>
#include <getopt.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VILLAGES (21 * 6 * 8 * 26)

static void village(uint64_t n, char out[13])
{
    static const int townships[8] = {1, 2, 3, 4, 101, 102, 103, 104};
    uint64_t v = n % VILLAGES;
    snprintf(out, 13, "44%02d%02d%03d%03d", 1 + (int)(v / (6 * 8 * 26)), 1 + (int)(v / (8 * 26) % 6),
             townships[v / 26 % 8], 1 + (int)(v % 26));
}

static void person_id(uint64_t n, char out[19])
{
    int year = 1930 + (int)(n % 60), month = 1 + (int)(n / 60 % 12), day = 1 + (int)(n / 720 % 28);
    snprintf(out, 19, "440106%04d%02d%02d%03d", year, month, day, (int)(n / 20160 % 1000));
    out[17] = dd_idnum_check_char(out);
    out[18] = '\0';
}

typedef struct bench {
    dd_store *store;
    dd_log *log;
    sched_db *db;
    sched_engine *engine;
    Doudi__LogRecord *recs;
    Doudi__LogRecord **ptrs;
    uint8_t **bufs;
    size_t n, cap;
    uint64_t seq;
    int64_t commit_ns;
} bench;

static void add(bench *b, uint32_t kind, int64_t t, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = dd_malloc(len + 1);
    protobuf_c_message_pack(msg, buf);
    Doudi__LogRecord *r = &b->recs[b->n];
    doudi__log_record__init(r);
    r->sequence = ++b->seq;
    r->kind = kind;
    r->appended_at_ms = t;
    r->payload.data = buf;
    r->payload.len = len;
    b->ptrs[b->n] = r;
    b->bufs[b->n++] = buf;
}

static int apply_fn(MDB_txn *txn, void *arg)
{
    bench *b = arg;
    return sched_engine_apply(b->engine, txn, b->ptrs, b->n);
}

static void flush(bench *b)
{
    if (!b->n)
        return;
    int64_t t0 = dd_monotonic_ns();
    int rc = dd_store_write(b->store, apply_fn, b);
    if (rc) {
        fprintf(stderr, "sched_bench: a batch failed: %s\n", dd_strerror(rc));
        exit(1);
    }
    b->commit_ns += dd_monotonic_ns() - t0;
    for (size_t i = 0; i < b->n; i++)
        free(b->bufs[i]);
    b->n = 0;
}

static void maybe_flush(bench *b)
{
    if (b->n == b->cap)
        flush(b);
}

static void envelope(Doudi__Envelope *env, int64_t t, char *region)
{
    doudi__envelope__init(env);
    env->event_id = "bench";
    env->source = "bench";
    env->occurred_at_ms = t;
    env->region_code = region;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* What a phase cost: wall and CPU time, and bytes the process wrote to disk. */
typedef struct phase {
    int64_t wall_ns;
    double user_s, sys_s;
    uint64_t written;
} phase;

static uint64_t written_bytes(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    unsigned long long v = 0;
    char line[128];
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "write_bytes: %llu", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

static void phase_mark(phase *p)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    p->wall_ns = dd_monotonic_ns();
    p->user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    p->sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    p->written = written_bytes();
}

/* Ends phase p (marked at its start): its cost per record, printed. */
static double phase_end(phase *p, const char *name, uint64_t records)
{
    phase now;
    phase_mark(&now);
    double wall = (double)(now.wall_ns - p->wall_ns) / 1e9, user = now.user_s - p->user_s,
           sys = now.sys_s - p->sys_s, n = records ? (double)records : 1.0;
    printf("  %-8s cpu %6.2f us/record (user %5.2f, sys %5.2f), %5.2f pages written/record\n",
           name, (user + sys) * 1e6 / n, user * 1e6 / n, sys * 1e6 / n,
           (double)(now.written - p->written) / 4096.0 / n);
    return wall;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

int main(int argc, char **argv)
{
    uint64_t plans = 1500000, reports = 1000000;
    size_t batch = 10000;
    const char *dir = NULL;
    bool keep = false;
    uint64_t journal_max = SCHED_JOURNAL_MAX_DEFAULT;
    static const struct option opts[] = {{"plans", required_argument, NULL, 'p'},
                                          {"reports", required_argument, NULL, 'r'},
                                          {"batch", required_argument, NULL, 'b'},
                                          {"dir", required_argument, NULL, 'd'},
                                          {"keep", no_argument, NULL, 'k'},
                                          {"journal", required_argument, NULL, 'j'},
                                          {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': plans = strtoull(optarg, NULL, 10); break;
        case 'r': reports = strtoull(optarg, NULL, 10); break;
        case 'b': batch = strtoull(optarg, NULL, 10); break;
        case 'd': dir = optarg; break;
        case 'k': keep = true; break;
        case 'j': journal_max = strtoull(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "usage: sched_bench [--plans N] [--reports N] [--batch N] [--journal N] [--dir DIR] [--keep]\n");
            return 2;
        }
    }
    if (!batch || !plans)
        return 2;
    dd_diag_init("sched_bench", DD_WARN);
    char tmp[] = "/tmp/sched_bench.XXXXXX";
    if (!dir && !(dir = mkdtemp(tmp))) {
        perror("mkdtemp");
        return 1;
    }
    bench b = {.cap = batch};
    b.recs = dd_calloc(batch, sizeof(*b.recs));
    b.ptrs = dd_calloc(batch, sizeof(*b.ptrs));
    b.bufs = dd_calloc(batch, sizeof(*b.bufs));
    dd_store_options so = {.map_bytes = 1ULL << 30, .max_dbs = 32};
    dd_log_options lo = {0};
    if (dd_store_open(dir, &so, &b.store) || dd_log_open(b.store, &lo, NULL, &b.log) ||
        sched_db_open(b.store, &b.db)) {
        fprintf(stderr, "sched_bench: cannot open the store in %s\n", dir);
        return 1;
    }
    sched_options o = {
        .cadence = {.high_risk_ms = 7 * SCHED_DAY_MS, .key_months = 1, .general_months = 3,
                    .urgent_ms = 24 * SCHED_HOUR_MS},
        .phone_counts_up_to = DOUDI__VISIT_TIER__VISIT_TIER_KEY,
        .forecast_from_day = 1,
        .overdue_handle_ms = 3 * SCHED_DAY_MS,
    };
    sched_db_set_journal_max(b.db, journal_max);
    b.engine = sched_engine_new(b.db, b.log, &o);
    int64_t march = sched_month_start_ms(202603);
    char region[13], pid[19], wid[40];

    /* 1. The roster. */
    int64_t t0 = dd_monotonic_ns();
    phase ph;
    for (uint64_t v = 0; v < 2 * VILLAGES; v++) {
        village(v, region);
        snprintf(wid, sizeof(wid), "w-%s-%d", region, (int)(v / VILLAGES));
        Doudi__RosterChange rc = DOUDI__ROSTER_CHANGE__INIT;
        rc.worker_id = wid;
        rc.action = DOUDI__ROSTER_ACTION__ROSTER_ACTION_JOINED;
        rc.role = DOUDI__WORKER_ROLE__WORKER_ROLE_VILLAGE_ASSISTANT;
        rc.monthly_visit_capacity = 300;
        Doudi__Envelope env;
        envelope(&env, march - SCHED_HOUR_MS, region);
        env.body_case = DOUDI__ENVELOPE__BODY_ROSTER_CHANGE;
        env.roster_change = &rc;
        add(&b, 17, march - SCHED_HOUR_MS, &env.base);
        maybe_flush(&b);
    }
    flush(&b);
    double roster_s = (double)(dd_monotonic_ns() - t0) / 1e9;

    /* 2. The plans, over the first day of March. */
    b.commit_ns = 0;
    phase_mark(&ph);
    for (uint64_t i = 0; i < plans; i++) {
        person_id(i, pid);
        village(i * 7919, region);
        Doudi__CareChange cc = DOUDI__CARE_CHANGE__INIT;
        Doudi__CareCategory cat = DOUDI__CARE_CATEGORY__CARE_CATEGORY_ELDERLY_LIVING_ALONE;
        cc.person_id = pid;
        cc.household_id = "h";
        cc.region_code = region;
        cc.tier = i % 10 == 0   ? DOUDI__VISIT_TIER__VISIT_TIER_HIGH_RISK
                  : i % 10 < 8 ? DOUDI__VISIT_TIER__VISIT_TIER_KEY
                               : DOUDI__VISIT_TIER__VISIT_TIER_GENERAL;
        cc.n_categories = 1;
        cc.categories = &cat;
        cc.reason = "registered";
        int64_t t = march + (int64_t)(i * (SCHED_DAY_MS / plans));
        cc.occurred_at_ms = t;
        add(&b, 101, t, &cc.base);
        maybe_flush(&b);
    }
    flush(&b);
    double plans_s = phase_end(&ph, "plans", plans);

    /* 3. Visit reports through March (days 2..30), random plans. */
    phase_mark(&ph);
    for (uint64_t i = 0; i < reports; i++) {
        uint64_t who = next_random() % plans;
        person_id(who, pid);
        village(who * 7919, region);
        snprintf(wid, sizeof(wid), "w-%s-0", region);
        Doudi__VisitReport v = DOUDI__VISIT_REPORT__INIT;
        v.visit_id = "v";
        v.subject_person_id = pid;
        v.worker_id = wid;
        int64_t t = march + SCHED_DAY_MS + (int64_t)(i * (28 * SCHED_DAY_MS / reports));
        v.visited_at_ms = t;
        v.outcome = DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_VISITED;
        Doudi__Envelope env;
        envelope(&env, t, region);
        env.body_case = DOUDI__ENVELOPE__BODY_VISIT_REPORT;
        env.visit_report = &v;
        add(&b, 16, t, &env.base);
        maybe_flush(&b);
    }
    flush(&b);
    double reports_s = phase_end(&ph, "reports", reports);
    uint64_t log_before = dd_log_head(b.log);

    /* 4. The clock passes the end of March. */
    Doudi__AlertAcknowledgement ack = DOUDI__ALERT_ACKNOWLEDGEMENT__INIT;
    ack.alert_id = "a";
    Doudi__Envelope env;
    village(0, region);
    int64_t april2 = sched_month_start_ms(202604) + SCHED_DAY_MS + 9 * SCHED_HOUR_MS;
    envelope(&env, april2, region);
    env.body_case = DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT;
    env.alert_acknowledgement = &ack;
    add(&b, 18, april2, &env.base);
    phase_mark(&ph);
    flush(&b);
    const sched_batch_stats *st = sched_engine_last_batch(b.engine);
    uint64_t overdue = st->alerts_raised[DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE];
    double sweep_s = phase_end(&ph, "sweep", overdue);

    MDB_txn *txn;
    int64_t r[SCHED_RATE_VALUES] = {0}, a[SCHED_RATE_VALUES] = {0};
    if (mdb_txn_begin(dd_store_env(b.store), NULL, MDB_RDONLY, &txn) == 0) {
        sched_db_rates_get(b.db, txn, 202603, "44", r);
        sched_db_rates_get(b.db, txn, 202604, "44", a);
        mdb_txn_abort(txn);
    }
    dd_store_usage u;
    dd_store_usage_get(b.store, &u);
    printf("sched_bench: %llu plans in %d villages, batches of %zu, fully synced commits\n",
           (unsigned long long)plans, VILLAGES, batch);
    printf("  roster   %6d workers     %8.2f s\n", 2 * VILLAGES, roster_s);
    printf("  plans    %8llu records  %8.2f s  %9.0f records/s\n", (unsigned long long)plans,
           plans_s, (double)plans / plans_s);
    printf("  reports  %8llu records  %8.2f s  %9.0f records/s\n", (unsigned long long)reports,
           reports_s, (double)reports / reports_s);
    printf("  sweep    past the month end: month start, %llu overdue alerts, midnight checks: %.2f s (%.0f overdue/s; "
           "%llu records appended)\n",
           (unsigned long long)overdue, sweep_s, (double)overdue / sweep_s,
           (unsigned long long)(dd_log_head(b.log) - log_before));
    printf("  March: %lld due, %lld visited (%.1f %%); April: %lld due\n", (long long)r[0],
           (long long)r[1], r[0] ? 100.0 * (double)r[1] / (double)r[0] : 0.0, (long long)a[0]);
    printf("  store: %.2f GiB used, map %.2f GiB, %llu commits\n", (double)u.used_bytes / (1 << 30),
           (double)u.map_bytes / (1 << 30), (unsigned long long)u.commits);
    sched_engine_destroy(&b.engine);
    sched_db_close(&b.db);
    dd_log_close(&b.log);
    dd_store_close(&b.store);
    free(b.recs);
    free(b.ptrs);
    free(b.bufs);
    if (!keep)
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
