/*
 * alerts_bench.c: how much CPU and store doudi-alerts' engine needs for a
 * province-month of alerts.
 *
 * In one process, with the real engine, book, stream and replay index on
 * LMDB (fully synced commits, one write transaction per batch of --batch
 * records, as the daemon's consumer does; the live hand-over counts the
 * entries instead of sending them; no sockets), it applies either
 *   - a synthetic month shaped like the province's (default): --alerts
 *     alerts over the demo province's 26,208 villages and 6 million
 *     persons, a quarter of them in the first hours (the registry's
 *     discoveries), the rest through 30 days of event time, so that most
 *     unacknowledged alerts climb the whole ladder: discoveries (INFO,
 *     7 days), overdue visits (WARNING, 3 days, to the township), risks,
 *     missing information, quick aid (URGENT, 24 h); repeats of open
 *     alerts (merged); acknowledgements and resolutions of 3 % of the
 *     alerts; plan changes (20 %; deaths and moves among them inhibit);
 *   - or the alert, acknowledgement and plan-change records (kinds 102, 18,
 *     201) of a log database found in --from-log DIR (an LMDB environment
 *     such as a doudi-scheduler data directory kept by provbench --keep),
 * and prints records/s, engine CPU µs per record, pages written per
 * commit, store bytes per alert with each database's share, and a summary
 * of what the month did (alerts by state, escalations by level, stream
 * records, timeliness), which must not change when only speed does.
 *
 *   alerts_bench [--alerts N] [--batch N] [--seed N] [--dir DIR] [--keep]
 *                [--from-log DIR] [--pages-by-db]
 */
#include "alloc.h"
#include "clock.h"
#include "config.h"
#include "diag.h"
#include "error.h"
#include "idnum.h"
#include "log.h"
#include "store.h"

#include "alerts_book.h"
#include "alerts_engine.h"
#include "alerts_settings.h"
#include "alerts_stream.h"

#include "doudi/event.pb-c.h"
#include "doudi/log.pb-c.h"
#include "doudi/scheduler.pb-c.h"

#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define VILLAGES (21 * 6 * 8 * 26)
#define PERSONS 6000000u
#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
#define MONTH_START_MS 1790784000000LL /* 2026-10-01 00:00 Asia/Shanghai */

static const char usage[] =
    "usage: alerts_bench [--alerts N] [--batch N] [--seed N] [--dir DIR] [--keep]\n"
    "                    [--from-log DIR] [--pages-by-db]\n"
    "  --alerts N      alerts in the synthetic month (default 1500000)\n"
    "  --batch N       records per write transaction (default 50000)\n"
    "  --seed N        the synthetic month's seed (default 1)\n"
    "  --dir DIR       the store's directory (default: a new one under /var/tmp)\n"
    "  --keep          keep the store\n"
    "  --from-log DIR  apply the kinds 102, 18 and 201 of the log database of the LMDB\n"
    "                  environment in DIR (a scheduler's data directory) instead\n"
    "  --pages-by-db   after each commit, count the leaf and overflow pages of each\n"
    "                  database that the commit wrote (slow: walks every database)\n";

/* ---- the run ---------------------------------------------------------------- */

typedef struct bench {
    dd_store *store;
    dd_log *log;
    alerts_stream *stream;
    alerts_book *book;
    alerts_engine *engine;
    Doudi__LogRecord *recs;
    Doudi__LogRecord **ptrs;
    uint8_t **bufs;
    size_t n, cap;
    uint64_t seq;
    /* measured */
    uint64_t records, batches, published, published_bytes;
    double apply_s, apply_cpu_s, max_commit_s;
    uint64_t written_bytes, accounted_bytes;
    alerts_batch_stats total;
    /* --pages-by-db: the leaf and overflow pages each database held after
     * the last commit, and how many each commit changed */
    bool by_db;
    struct db_pages *dbs;
    size_t ndbs;
} bench;

/* A database's leaf and overflow pages (a value's address in the map
 * tells its page), sorted; a page a commit wrote has a new number (copy on
 * write), and a page of the last snapshot cannot be reused by the next. */
typedef struct db_pages {
    char name[32];
    uint64_t *pages;
    size_t n, cap;
    uint64_t written, commits;
} db_pages;

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/*
 * Bytes this process handed to write calls (wchar: what LMDB writes at a
 * commit) and bytes the kernel accounts as sent to the storage layer
 * (write_bytes). On kernels that cache files in large folios, write_bytes
 * counts a whole folio for every 4 KiB page written into it, so it can be
 * several times what reaches the disk; wchar is LMDB's own count.
 */
static void io_bytes(uint64_t *wchar, uint64_t *write_bytes)
{
    *wchar = *write_bytes = 0;
    FILE *f = fopen("/proc/self/io", "r");
    if (!f)
        return;
    char line[128];
    while (fgets(line, sizeof(line), f)) {
        uint64_t v;
        if (sscanf(line, "wchar: %" SCNu64, &v) == 1)
            *wchar = v;
        else if (sscanf(line, "write_bytes: %" SCNu64, &v) == 1)
            *write_bytes = v;
    }
    fclose(f);
}

static void on_publish(void *arg, const char *topic, const uint8_t *entry, size_t len)
{
    bench *b = arg;
    (void)topic;
    (void)entry;
    b->published++;
    b->published_bytes += len;
}

static int apply_fn(MDB_txn *txn, void *arg)
{
    bench *b = arg;
    return alerts_engine_apply(b->engine, txn, b->ptrs, b->n);
}

static void add_stats(alerts_batch_stats *t, const alerts_batch_stats *s)
{
    t->records += s->records;
    for (size_t i = 0; i < ALERTS_KINDS; i++)
        t->raised[i] += s->raised[i];
    t->merged += s->merged;
    for (size_t i = 0; i < 6; i++)
        t->escalations[i] += s->escalations[i];
    t->acknowledged += s->acknowledged;
    t->resolved += s->resolved;
    t->inhibited += s->inhibited;
    t->silenced += s->silenced;
    for (size_t i = 0; i < ALERTS_REJECT_COUNT; i++)
        t->rejected[i] += s->rejected[i];
    t->stream_records += s->stream_records;
}

static int cmp_pgno(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static db_pages *db_named(bench *b, const char *name)
{
    for (size_t i = 0; i < b->ndbs; i++)
        if (strcmp(b->dbs[i].name, name) == 0)
            return &b->dbs[i];
    b->dbs = dd_realloc(b->dbs, (b->ndbs + 1) * sizeof(db_pages));
    db_pages *d = &b->dbs[b->ndbs++];
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "%s", name);
    return d;
}

/* Where data.mdb is mapped (LMDB tells only a fixed map's address). */
static const uint8_t *map_address(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return NULL;
    char line[4096];
    unsigned long start = 0, offset = 1;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, "/data.mdb") &&
            sscanf(line, "%lx-%*x %*s %lx", &start, &offset) == 2 && offset == 0)
            break;
    fclose(f);
    return offset == 0 ? (const uint8_t *)start : NULL;
}

/* Collects each database's pages after a commit and counts those that are new. */
static void count_pages_by_db(bench *b)
{
    MDB_env *env = dd_store_env(b->store);
    MDB_stat est;
    mdb_env_stat(env, &est);
    const uint8_t *map = map_address();
    if (!map)
        return;
    MDB_txn *txn;
    MDB_dbi main_dbi;
    MDB_cursor *names;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) || mdb_dbi_open(txn, NULL, 0, &main_dbi) ||
        mdb_cursor_open(txn, main_dbi, &names))
        return;
    MDB_val nk, nv;
    for (int rc = mdb_cursor_get(names, &nk, &nv, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(names, &nk, &nv, MDB_NEXT)) {
        char name[32];
        size_t len = nk.mv_size < sizeof(name) - 1 ? nk.mv_size : sizeof(name) - 1;
        memcpy(name, nk.mv_data, len);
        name[len] = '\0';
        MDB_dbi dbi;
        MDB_cursor *c;
        if (mdb_dbi_open(txn, name, 0, &dbi) || mdb_cursor_open(txn, dbi, &c))
            continue;
        db_pages *d = db_named(b, name);
        uint64_t *now = NULL;
        size_t n = 0, cap = 0;
        MDB_val k, v;
        uint64_t last = UINT64_MAX;
        for (int r = mdb_cursor_get(c, &k, &v, MDB_FIRST); r == 0;
             r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            uint64_t pg = (uint64_t)((const uint8_t *)k.mv_data - map) / est.ms_psize;
            uint64_t vpg = (uint64_t)((const uint8_t *)v.mv_data - map) / est.ms_psize;
            for (int twice = 0; twice < 2; twice++, pg = vpg) {
                if (pg == last)
                    continue;
                if (n + (v.mv_size + est.ms_psize - 1) / est.ms_psize + 1 >= cap) {
                    cap = cap ? cap * 2 : 4096;
                    now = dd_realloc(now, cap * sizeof(uint64_t));
                }
                now[n++] = pg;
                last = pg;
                if (twice && v.mv_size > est.ms_psize / 2) /* the rest of an overflow run */
                    for (uint64_t more = 1; more < (v.mv_size + 16 + est.ms_psize - 1) /
                                                       est.ms_psize; more++)
                        now[n++] = pg + more;
            }
        }
        mdb_cursor_close(c);
        qsort(now, n, sizeof(uint64_t), cmp_pgno);
        size_t u = 0;
        for (size_t i = 0; i < n; i++)
            if (u == 0 || now[u - 1] != now[i])
                now[u++] = now[i];
        size_t fresh = 0;
        for (size_t i = 0, j = 0; i < u; i++) {
            while (j < d->n && d->pages[j] < now[i])
                j++;
            if (j == d->n || d->pages[j] != now[i])
                fresh++;
        }
        d->written += fresh;
        d->commits++;
        free(d->pages);
        d->pages = now;
        d->n = u;
        d->cap = cap;
    }
    mdb_cursor_close(names);
    mdb_txn_abort(txn);
}

static void report_pages_by_db(bench *b)
{
    printf("  leaf and overflow pages written per commit, by database (branch pages, the\n"
           "  free list and the meta page make up the rest of the total):\n");
    for (size_t i = 0; i < b->ndbs; i++) {
        db_pages *d = &b->dbs[i];
        printf("    %-14s %10.0f\n", d->name,
               b->batches ? (double)d->written / (double)b->batches : 0.0);
        free(d->pages);
    }
    free(b->dbs);
}

static void flush(bench *b, bool owned)
{
    if (!b->n)
        return;
    uint64_t w0, a0, w1, a1;
    io_bytes(&w0, &a0);
    double c0 = cpu_seconds();
    int64_t t0 = dd_monotonic_ns();
    int rc = dd_store_write(b->store, apply_fn, b);
    if (rc) {
        fprintf(stderr, "alerts_bench: a batch failed: %s\n", dd_strerror(rc));
        exit(1);
    }
    double s = (double)(dd_monotonic_ns() - t0) / 1e9;
    b->apply_s += s;
    if (s > b->max_commit_s)
        b->max_commit_s = s;
    b->apply_cpu_s += cpu_seconds() - c0;
    io_bytes(&w1, &a1);
    b->written_bytes += w1 - w0;
    b->accounted_bytes += a1 - a0;
    if (b->by_db)
        count_pages_by_db(b);
    alerts_batch_stats st;
    if (alerts_engine_take_stats(b->engine, &st))
        add_stats(&b->total, &st);
    b->records += b->n;
    b->batches++;
    if (owned)
        for (size_t i = 0; i < b->n; i++)
            free(b->bufs[i]);
    b->n = 0;
}

static void add_record(bench *b, uint32_t kind, int64_t t, const ProtobufCMessage *msg)
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
    if (b->n == b->cap)
        flush(b, true);
}

/* ---- the synthetic month ------------------------------------------------------ */

static uint64_t rng;
static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void village(uint64_t v, char out[13])
{
    static const int townships[8] = {1, 2, 3, 4, 101, 102, 103, 104};
    v %= VILLAGES;
    snprintf(out, 13, "44%02d%02d%03d%03d", 1 + (int)(v / (6 * 8 * 26)), 1 + (int)(v / (8 * 26) % 6),
             townships[v / 26 % 8], 1 + (int)(v % 26));
}

static void person_id(uint64_t p, char out[19])
{
    char v[13];
    village(p, v);
    int year = 1930 + (int)(p % 60), month = 1 + (int)(p / 60 % 12), day = 1 + (int)(p / 720 % 28);
    snprintf(out, 19, "%.6s%04d%02d%02d%03d", v, year, month, day, (int)(p / 20160 % 1000));
    out[17] = dd_idnum_check_char(out);
    out[18] = '\0';
}

typedef struct kind_mix {
    Doudi__AlertKind kind;
    Doudi__AlertSeverity severity;
    int64_t within_ms;
    const char *what;
} kind_mix;

static const kind_mix kinds[] = {
    {DOUDI__ALERT_KIND__ALERT_KIND_DISCOVERY, DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_INFO,
     7 * DAY_MS, "now eligible for DIBAO (dibao.income_below_standard), not enrolled and no "
                 "application pending: contact the household"},
    {DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE, DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING,
     3 * DAY_MS, "the key visit is overdue"},
    {DOUDI__ALERT_KIND__ALERT_KIND_RISK, DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING,
     3 * DAY_MS, "large medical self-payment: 812000 fen in one stay, above the monitored "
                 "threshold of 600000"},
    {DOUDI__ALERT_KIND__ALERT_KIND_MISSING_INFORMATION, DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_INFO,
     7 * DAY_MS, "aged 80 or more but the living arrangement is unknown: care tier cannot be "
                 "decided"},
    {DOUDI__ALERT_KIND__ALERT_KIND_QUICK_AID_OVERDUE, DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_URGENT,
     DAY_MS, "quick aid for an emergency (fire) not decided within 3 days"},
};

/* Percent of the month's alerts after the first hours, by kinds[] index. */
static const int kind_percent[] = {50, 35, 10, 3, 2};

#define RECENT 4096

static void synthetic_month(bench *b, uint64_t alerts)
{
    uint64_t burst = alerts / 4;
    uint64_t recent_overdue[RECENT] = {0};
    uint64_t nrecent = 0, plan_changes = 0, acks = 0;
    char region[13], pid[19], hh[40], worker[40], reason[256], key[64];
    for (uint64_t i = 0; i < alerts; i++) {
        int64_t t = i < burst ? MONTH_START_MS + (int64_t)(i * (2 * HOUR_MS) / burst)
                              : MONTH_START_MS + 2 * HOUR_MS +
                                    (int64_t)((i - burst) * (30 * DAY_MS - 2 * HOUR_MS) /
                                              (alerts - burst));
        size_t k = 0;
        if (i >= burst) {
            int r = (int)(next_random() % 100);
            while (r >= kind_percent[k]) {
                r -= kind_percent[k];
                k++;
            }
        }
        const kind_mix *m = &kinds[k];
        uint64_t p = next_random() % PERSONS;
        person_id(p, pid);
        village(p, region);
        snprintf(hh, sizeof(hh), "hh-%s-%05u", region, (unsigned)(p / VILLAGES % 100000));
        Doudi__Alert a = DOUDI__ALERT__INIT;
        a.kind = m->kind;
        a.severity = m->severity;
        a.subject_person_id = pid;
        a.household_id = hh;
        a.raised_at_ms = t;
        a.handle_within_ms = m->within_ms;
        a.caused_by_sequence = i * 17 + 3;
        a.origin_sequence = i * 3 + 1;
        if (m->kind == DOUDI__ALERT_KIND__ALERT_KIND_VISIT_OVERDUE) {
            /* The scheduler raises overdue visits to the township's office. */
            memcpy(region + 9, "000", 3);
            snprintf(worker, sizeof(worker), "w-%.9s%03u-va", region, (unsigned)(p % 26 + 1));
            a.assigned_worker_id = worker;
            snprintf(reason, sizeof(reason),
                     "the key visit to %s due by 2026-10-31 23:59 has not been made; assigned "
                     "worker %s", pid, worker);
            a.reason = reason;
            recent_overdue[nrecent++ % RECENT] = p;
        } else {
            a.reason = (char *)m->what;
        }
        a.region_code = region;
        if (m->kind == DOUDI__ALERT_KIND__ALERT_KIND_DISCOVERY)
            a.program = DOUDI__PROGRAM__PROGRAM_DIBAO;
        snprintf(key, sizeof(key), "%d:%s%s", (int)m->kind, pid,
                 m->kind == DOUDI__ALERT_KIND__ALERT_KIND_DISCOVERY ? ":1" : "");
        a.dedup_key = key;
        add_record(b, DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_ALERT, t, &a.base);

        /* 3 % are handled: an alert raised a few days before, by its province's desk
         * (which covers every region), a quarter of them resolved. */
        if (i >= burst && next_random() % 100 < 3) {
            uint64_t back = next_random() % (alerts / 10 + 1);
            uint64_t number = i > back ? i - back : 1;
            char id[24];
            snprintf(id, sizeof(id), "A%" PRIu64, number ? number : 1);
            Doudi__AlertAcknowledgement ack = DOUDI__ALERT_ACKNOWLEDGEMENT__INIT;
            ack.alert_id = id;
            ack.action = acks % 4 == 0
                             ? DOUDI__ACKNOWLEDGEMENT_ACTION__ACKNOWLEDGEMENT_ACTION_RESOLVED
                             : DOUDI__ACKNOWLEDGEMENT_ACTION__ACKNOWLEDGEMENT_ACTION_ACKNOWLEDGED;
            ack.by_worker_id = "w-desk-44";
            ack.note = "visited; the household was referred";
            Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
            env.event_id = "ack";
            env.source = "alert-desk";
            env.occurred_at_ms = t;
            env.region_code = "440000000000";
            env.body_case = DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT;
            env.alert_acknowledgement = &ack;
            add_record(b, DOUDI__RECORD_KIND__RECORD_KIND_ALERT_ACKNOWLEDGEMENT, t, &env.base);
            acks++;
        }
        /* Plan changes: a fifth as many as alerts; 1 % deaths, 0.5 % moves, half of
         * those of persons with a recent overdue visit. */
        if (next_random() % 100 < 20) {
            Doudi__PlanChange pc = DOUDI__PLAN_CHANGE__INIT;
            uint64_t r = next_random() % 1000;
            uint64_t q = next_random() % PERSONS;
            if (r < 15 && nrecent && r % 2 == 0)
                q = recent_overdue[next_random() % (nrecent < RECENT ? nrecent : RECENT)];
            char qid[19], qregion[13];
            person_id(q, qid);
            village(q, qregion);
            pc.person_id = qid;
            pc.region_code = qregion;
            pc.tier = DOUDI__VISIT_TIER__VISIT_TIER_KEY;
            pc.end = r < 10  ? DOUDI__PLAN_END__PLAN_END_DECEASED
                     : r < 15 ? DOUDI__PLAN_END__PLAN_END_MOVED_OUT
                              : DOUDI__PLAN_END__PLAN_END_NONE;
            pc.reason = "key plan: registered";
            pc.changed_at_ms = t;
            pc.worker_id = "w-plan";
            add_record(b, DOUDI__SCHEDULER_RECORD_KIND__SCHEDULER_RECORD_KIND_PLAN_CHANGE, t,
                       &pc.base);
            plan_changes++;
        }
    }
    flush(b, true);
    printf("  synthetic month: %" PRIu64 " alerts (%" PRIu64 " in the first 2 hours), %" PRIu64
           " acknowledgements, %" PRIu64 " plan changes over 30 days\n",
           alerts, burst, acks, plan_changes);
}

/* ---- a log from elsewhere ----------------------------------------------------------- */

static int from_log(bench *b, const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *c;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 64);
    if (rc == 0)
        rc = mdb_env_set_mapsize(env, (size_t)1 << 40);
    if (rc == 0)
        rc = mdb_env_open(env, dir, MDB_RDONLY, 0644);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        fprintf(stderr, "alerts_bench: cannot open %s: %s\n", dir, mdb_strerror(rc));
        return rc;
    }
    if ((rc = mdb_dbi_open(txn, "log", MDB_INTEGERKEY, &dbi)) != 0 ||
        (rc = mdb_cursor_open(txn, dbi, &c)) != 0) {
        fprintf(stderr, "alerts_bench: no log database in %s: %s\n", dir, mdb_strerror(rc));
        return rc;
    }
    MDB_val k, v;
    uint64_t taken = 0;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (v.mv_size < sizeof(dd_log_header) || k.mv_size != 8)
            continue;
        dd_log_header h;
        memcpy(&h, v.mv_data, sizeof(h));
        if (h.kind != 102 && h.kind != 18 && h.kind != 201)
            continue;
        Doudi__LogRecord *r = &b->recs[b->n];
        doudi__log_record__init(r);
        memcpy(&r->sequence, k.mv_data, 8);
        r->kind = h.kind;
        r->appended_at_ms = h.appended_at_ms;
        r->payload.data = (uint8_t *)v.mv_data + sizeof(h);
        r->payload.len = v.mv_size - sizeof(h);
        b->ptrs[b->n++] = r;
        taken++;
        if (b->n == b->cap)
            flush(b, false);
    }
    flush(b, false);
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    printf("  from %s: %" PRIu64 " records of kinds 102, 18, 201\n", dir, taken);
    return 0;
}

/* ---- the report ------------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void report_databases(bench *b, uint64_t alerts)
{
    MDB_env *env = dd_store_env(b->store);
    MDB_txn *txn;
    MDB_dbi main_dbi;
    MDB_cursor *c;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) || mdb_dbi_open(txn, NULL, 0, &main_dbi) ||
        mdb_cursor_open(txn, main_dbi, &c))
        return;
    printf("  %-16s %12s %10s %10s %12s\n", "database", "entries", "pages", "MiB", "bytes/alert");
    MDB_val k, v;
    uint64_t pages_total = 0;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        char name[64];
        size_t len = k.mv_size < sizeof(name) - 1 ? k.mv_size : sizeof(name) - 1;
        memcpy(name, k.mv_data, len);
        name[len] = '\0';
        MDB_dbi dbi;
        MDB_stat st;
        if (mdb_dbi_open(txn, name, 0, &dbi) || mdb_stat(txn, dbi, &st))
            continue;
        uint64_t pages = st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
        pages_total += pages;
        printf("  %-16s %12zu %10" PRIu64 " %10.1f %12.0f\n", name, st.ms_entries, pages,
               (double)pages * st.ms_psize / 1048576.0,
               alerts ? (double)pages * st.ms_psize / (double)alerts : 0.0);
    }
    MDB_envinfo info;
    MDB_stat est;
    mdb_env_info(env, &info);
    mdb_env_stat(env, &est);
    uint64_t used = (uint64_t)(info.me_last_pgno + 1);
    printf("  %-16s %12s %10" PRIu64 " %10.1f %12.0f\n", "(free, meta)", "",
           used - pages_total, (double)(used - pages_total) * est.ms_psize / 1048576.0,
           alerts ? (double)(used - pages_total) * est.ms_psize / (double)alerts : 0.0);
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
}

static void report_outcome(bench *b)
{
    const alerts_counts *c = alerts_engine_counts(b->engine);
    static const char *const states[] = {"", "open", "escalated", "acknowledged", "resolved",
                                         "inhibited", "silenced"};
    printf("  held by state:");
    for (int s = 1; s <= 6; s++)
        printf(" %s %" PRIu64, states[s], c->by_state[s]);
    printf("\n  active by level: village %" PRIu64 " township %" PRIu64 " county %" PRIu64
           " city %" PRIu64 " province %" PRIu64 "\n",
           c->active_by_level[1], c->active_by_level[2], c->active_by_level[3],
           c->active_by_level[4], c->active_by_level[5]);
    const alerts_batch_stats *t = &b->total;
    uint64_t raised = 0;
    for (size_t i = 0; i < ALERTS_KINDS; i++)
        raised += t->raised[i];
    uint64_t rejected = 0;
    for (size_t i = 0; i < ALERTS_REJECT_COUNT; i++)
        rejected += t->rejected[i];
    printf("  raised %" PRIu64 ", merged %" PRIu64 ", escalations to township %" PRIu64
           " county %" PRIu64 " city %" PRIu64 " province %" PRIu64 ", acknowledged %" PRIu64
           ", resolved %" PRIu64 ", inhibited %" PRIu64 ", rejected %" PRIu64 "\n",
           raised, t->merged, t->escalations[2], t->escalations[3], t->escalations[4],
           t->escalations[5], t->acknowledged, t->resolved, t->inhibited, rejected);
    MDB_txn *txn;
    uint64_t due = 0, in_time = 0;
    if (mdb_txn_begin(dd_store_env(b->store), NULL, MDB_RDONLY, &txn) == 0) {
        alerts_book_rate_get(b->book, txn, "44", 0, &due, &in_time);
        mdb_txn_abort(txn);
    }
    printf("  stream: %" PRIu64 " records (head %" PRIu64 "), %" PRIu64
           " handed to the live publisher (%.0f bytes each); timeliness of 44: %" PRIu64
           " in time of %" PRIu64 " due\n",
           t->stream_records, dd_log_head(b->log), b->published,
           b->published ? (double)b->published_bytes / (double)b->published : 0.0, in_time, due);
}

int main(int argc, char **argv)
{
    uint64_t alerts = 1500000, seed = 1;
    size_t batch = 50000;
    const char *dir = NULL, *log_dir = NULL;
    bool keep = false, by_db = false;
    static const struct option opts[] = {{"alerts", required_argument, NULL, 'a'},
                                          {"batch", required_argument, NULL, 'b'},
                                          {"seed", required_argument, NULL, 's'},
                                          {"dir", required_argument, NULL, 'd'},
                                          {"keep", no_argument, NULL, 'k'},
                                          {"from-log", required_argument, NULL, 'f'},
                                          {"pages-by-db", no_argument, NULL, 'p'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': alerts = strtoull(optarg, NULL, 10); break;
        case 'b': batch = strtoull(optarg, NULL, 10); break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'd': dir = optarg; break;
        case 'k': keep = true; break;
        case 'f': log_dir = optarg; break;
        case 'p': by_db = true; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (!batch || (!alerts && !log_dir)) {
        fputs(usage, stderr);
        return 2;
    }
    rng = 0x9E3779B97F4A7C15ULL ^ (seed * 0xD1B54A32D192ED03ULL);
    if (!rng)
        rng = 1;
    dd_diag_init("alerts_bench", DD_ERROR);
    char tmp[] = "/var/tmp/alerts_bench.XXXXXX";
    if (!dir && !(dir = mkdtemp(tmp))) {
        perror("mkdtemp");
        return 1;
    }
    dd_config *config;
    if (dd_config_load(alerts_settings, ALERTS_SETTING_COUNT, NULL, &config, NULL) != 0)
        return 1;
    alerts_engine_options eo;
    alerts_settings_engine_options(config, &eo);

    bench b = {.cap = batch, .by_db = by_db};
    b.recs = dd_calloc(batch, sizeof(*b.recs));
    b.ptrs = dd_calloc(batch, sizeof(*b.ptrs));
    b.bufs = dd_calloc(batch, sizeof(*b.bufs));
    dd_store_options so = {.map_bytes = dd_config_size(config, A_MAP_SIZE), .max_dbs = 24};
    dd_log_options lo = {0};
    int rc;
    if ((rc = dd_store_open(dir, &so, &b.store)) != 0 ||
        (rc = dd_log_open(b.store, &lo, NULL, &b.log)) != 0 ||
        (rc = alerts_stream_open(b.store, b.log, &b.stream)) != 0 ||
        (rc = alerts_book_open(b.store, &b.book)) != 0) {
        fprintf(stderr, "alerts_bench: cannot open the store in %s: %s\n", dir, dd_strerror(rc));
        return 1;
    }
    alerts_stream_set_publisher(b.stream, on_publish, NULL, &b);
    b.engine = alerts_engine_new(b.store, b.book, b.stream, &eo);

    printf("alerts_bench: batches of %zu records, fully synced commits, store in %s\n", batch, dir);
    double c0 = cpu_seconds();
    int64_t t0 = dd_monotonic_ns();
    if (log_dir) {
        if (from_log(&b, log_dir) != 0)
            return 1;
    } else {
        synthetic_month(&b, alerts);
    }
    double wall = (double)(dd_monotonic_ns() - t0) / 1e9, cpu = cpu_seconds() - c0;

    uint64_t held = 0;
    MDB_txn *txn;
    if (mdb_txn_begin(dd_store_env(b.store), NULL, MDB_RDONLY, &txn) == 0) {
        alerts_book_count(b.book, txn, &held);
        mdb_txn_abort(txn);
    }
    struct stat st;
    char path[4096];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    off_t file = stat(path, &st) == 0 ? st.st_size : 0;
    dd_store_usage u;
    dd_store_usage_get(b.store, &u);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);

    printf("  applied %" PRIu64 " records in %" PRIu64 " batches: %.2f s in the write "
           "transactions (%.0f records/s), longest %.2f s; whole run %.2f s\n",
           b.records, b.batches, b.apply_s, (double)b.records / b.apply_s, b.max_commit_s, wall);
    printf("  CPU: %.2f s in the write transactions = %.1f us per record (whole run %.2f s)\n",
           b.apply_cpu_s, 1e6 * b.apply_cpu_s / (double)b.records, cpu);
    printf("  written by the commits: %.1f MiB, %.0f pages of 4 KiB per commit, %.3f per record "
           "(kernel write_bytes %.1f MiB, %.0f pages per commit)\n",
           (double)b.written_bytes / 1048576.0,
           (double)b.written_bytes / 4096.0 / (double)(b.batches ? b.batches : 1),
           (double)b.written_bytes / 4096.0 / (double)(b.records ? b.records : 1),
           (double)b.accounted_bytes / 1048576.0,
           (double)b.accounted_bytes / 4096.0 / (double)(b.batches ? b.batches : 1));
    printf("  store: %" PRIu64 " alerts held; %.1f MiB used (%.0f bytes per alert), file %.1f MiB "
           "(%.0f bytes per alert); peak RSS %.0f MiB\n",
           held, (double)u.used_bytes / 1048576.0,
           held ? (double)u.used_bytes / (double)held : 0.0, (double)file / 1048576.0,
           held ? (double)file / (double)held : 0.0, (double)ru.ru_maxrss / 1024.0);
    report_databases(&b, held);
    if (b.by_db)
        report_pages_by_db(&b);
    report_outcome(&b);

    alerts_engine_destroy(&b.engine);
    alerts_book_close(&b.book);
    alerts_stream_close(&b.stream);
    dd_log_close(&b.log);
    dd_store_close(&b.store);
    dd_config_destroy(&config);
    free(b.recs);
    free(b.ptrs);
    free(b.bufs);
    if (!keep)
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
