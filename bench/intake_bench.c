/*
 * intake_bench.c: how many events per second doudi-intake accepts durably,
 * how long a portal waits for its answer, and what the same machine does
 * without intake, all measured in one run so that the ratios mean something
 * on a shared machine.
 *
 * For every configuration (P portals x B events per request, each portal a
 * thread with its own DEALER and W requests outstanding) three targets get
 * the same pre-encoded PublishRequests:
 *
 *   echo      a ROUTER thread in this process sends each request straight
 *             back: ZeroMQ round trips of the request's size, nothing else;
 *   rt-reply  a ROUTER thread decodes the request and every event in it and
 *             answers with the PublishReply intake would send (one ACCEPTED
 *             status per event, with sequence and event id): everything but
 *             validation, deduplication and storage;
 *   intake    the real doudi-intake binary, started for this configuration
 *             on a fresh data directory and free loopback ports, fsync on.
 *
 * and once per batch size, in a fresh temporary environment on the same
 * file system:
 *
 *   lmdb      MDB_APPEND of 256-byte values under sequential 64-bit keys,
 *             one fully synced commit per batch.
 *
 * Every reply from intake and rt-reply is decoded and checked: the request
 * id must be one outstanding, the request must not be refused, there must be
 * one status per event, every status must be ACCEPTED with a sequence never
 * seen before. Anything else stops the bench with the reason (a rejection is
 * a bug in the generator or in intake, never a number to report).
 *
 * bench/README.md says how to run it and how to read the table.
 */
#include "alloc.h"

#include "doudi/event.pb-c.h"
#include "doudi/log.pb-c.h"
#include "doudi/publish.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <lmdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#ifndef DOUDI_SOURCE_DIR
#define DOUDI_SOURCE_DIR ""
#endif

#define MAX_LIST 8
#define LMDB_VALUE_BYTES 256
#define TARGET_EVENTS_PER_S 250000.0

/* ------------------------------------------------------------------------ */
/* Options                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct options {
    size_t portals[MAX_LIST], nportals;
    size_t batches[MAX_LIST], nbatches;
    size_t window;
    size_t events;          /* measured events per configuration */
    int timeout_s;          /* longest wait for one reply */
    const char *intake;     /* path of doudi-intake */
    const char *dir;        /* parent of the temporary directories */
    const char *json;       /* results file, or NULL */
    bool quick, keep;
    unsigned targets;       /* bit per target_kind, and TARGET_LMDB */
    size_t fetch_records;   /* records per fetch when intake's log is read back; 0: no fetch */
    uint32_t fetch_kinds[MAX_LIST];
    size_t nfetch_kinds;
} options;

static options opt = {
    .portals = {1, 2, 4}, .nportals = 3,
    .batches = {100, 1000}, .nbatches = 2,
    .window = 4,
    .events = 400000,
    .timeout_s = 30,
    .targets = ~0u,
    .fetch_records = 50000,
};

/* ------------------------------------------------------------------------ */
/* Failure: every error path ends here, and the child never outlives us      */
/* ------------------------------------------------------------------------ */

static volatile pid_t child_pid; /* the running doudi-intake, 0 if none */
static char run_dir[PATH_MAX];   /* removed at exit unless --keep */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *path)
{
    if (path[0])
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void kill_child(void)
{
    pid_t pid = child_pid;
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        child_pid = 0;
    }
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "intake_bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    kill_child();
    if (!opt.keep)
        remove_tree(run_dir);
    else if (run_dir[0])
        fprintf(stderr, "intake_bench: kept %s\n", run_dir);
    exit(1);
}

/* Only async-signal-safe calls: kill, waitpid, fork, execl, _exit. */
static void on_signal(int sig)
{
    pid_t pid = child_pid;
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    if (!opt.keep && run_dir[0]) {
        pid_t rm = fork();
        if (rm == 0) {
            execl("/bin/rm", "rm", "-rf", "--", run_dir, (char *)NULL);
            _exit(127);
        }
        if (rm > 0)
            waitpid(rm, NULL, 0);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* splitmix64: small, fast, and the same sequence on every machine. */
typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static unsigned rng_below(rng *r, unsigned n)
{
    return (unsigned)(rng_next(r) % n);
}

static bool chance(rng *r, unsigned percent)
{
    return rng_below(r, 100) < percent;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* out = dir + "/" + name; a path too long for out is an error. */
static void path_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        fail("path too long: %s/%s", dir, name);
}

static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* User and system CPU time of a process so far, in seconds; false if unknown. */
static bool process_cpu_split(pid_t pid, double *user_s, double *sys_s)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name, which may hold spaces: state is 3,
     * utime 14, stime 15. */
    char *p = strrchr(buf, ')');
    if (!p)
        return false;
    unsigned long utime = 0, stime = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return false;
    *user_s = (double)utime / (double)sysconf(_SC_CLK_TCK);
    *sys_s = (double)stime / (double)sysconf(_SC_CLK_TCK);
    return true;
}

/* CPU time (user + system) of a process so far, in seconds; -1 if unknown. */
static double process_cpu_s(pid_t pid)
{
    double user, sys;
    return process_cpu_split(pid, &user, &sys) ? user + sys : -1;
}

/* CPU time all processors spent busy so far (not idle, not waiting for I/O). */
static double system_busy_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle,
                   &iowait, &irq, &softirq, &steal);
    fclose(f);
    if (n != 8)
        return -1;
    return (double)(user + nice + sys + irq + softirq + steal) / (double)sysconf(_SC_CLK_TCK);
}

/* ------------------------------------------------------------------------ */
/* Events: realistic envelopes of about 256 bytes                            */
/* ------------------------------------------------------------------------ */

/*
 * The embedded demo division table: 44 PP CC TTT VVV with PP 01..21, CC
 * 01..06, TTT 001..004 (subdistricts) or 101..104 (towns), VVV 001..026.
 */
static void random_region(rng *r, char out[13])
{
    unsigned pp = 1 + rng_below(r, 21), cc = 1 + rng_below(r, 6), t = rng_below(r, 8);
    unsigned ttt = t < 4 ? 1 + t : 101 + (t - 4), vvv = 1 + rng_below(r, 26);
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "44%02u%02u%03u%03u", pp, cc, ttt, vvv);
    memcpy(out, tmp, 12);
    out[12] = '\0';
}

/*
 * An 18-character identity number registered in the county of region: the
 * county's 6-digit code, a birth date, a 3-digit sequence, and the ISO 7064
 * MOD 11-2 check character.
 */
static void person_id(rng *r, const char *region, unsigned year, char out[19])
{
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    unsigned month = 1 + rng_below(r, 12), day = 1 + rng_below(r, 28), seq = rng_below(r, 1000);
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%.6s%04u%02u%02u%03u", region, year, month, day, seq);
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (tmp[i] - '0') * weights[i];
    memcpy(out, tmp, 17);
    out[17] = check[sum % 11];
    out[18] = '\0';
}

/* What village workers write after a visit (UTF-8, 16 to 24 characters). */
static const char *const visit_notes[] = {
    "身体状况稳定，按时服药，精神较好，近一个月未住院。",
    "独居，子女在外务工，每周电话联系一次，邻居常来照看。",
    "家中水电气线路已检查，未发现安全隐患，灶具正常。",
    "行动不便，上下楼困难，需要社区助餐和上门助浴服务。",
    "近期血压偏高，头晕两次，已提醒尽快到镇卫生院复查。",
    "情绪低落，很少出门与人交流，建议安排社工心理疏导。",
    "冬季取暖设备老化，存在漏电风险，已联系村委会报修。",
    "低保金和高龄津贴均已按时到账，本人表示生活费够用。",
    "患慢性病多年，医疗自付费用较高，需关注支出型困难。",
    "留守儿童由祖父母照看，学习生活正常，学校反映良好。",
};
#define NOTES (sizeof(visit_notes) / sizeof(visit_notes[0]))

typedef struct event_ctx {
    rng r;
    uint32_t run_id;     /* differs per bench run */
    uint16_t config_id;  /* differs per configuration */
    uint16_t portal;     /* 1-based */
    uint64_t counter;    /* per portal */
    char source[40];
    int64_t now_ms;
} event_ctx;

/* Encodes one event into out (at least 1024 bytes); returns its length. */
static size_t make_event(event_ctx *e, uint8_t *out)
{
    rng *r = &e->r;
    char event_id[48], region[13], pid[19], household[48], visit_id[48], worker[48];
    uint64_t n = e->counter++;
    /* UUID-shaped, unique per run, configuration, portal and event. */
    snprintf(event_id, sizeof(event_id), "%08" PRIx32 "-%04" PRIx16 "-%04" PRIx16 "-%04x-%012" PRIx64,
             e->run_id, e->config_id, e->portal, (unsigned)(rng_next(r) & 0xffff),
             n & UINT64_C(0xffffffffffff));
    random_region(r, region);

    Doudi__Envelope env = DOUDI__ENVELOPE__INIT;
    env.event_id = event_id;
    env.source = e->source;
    env.occurred_at_ms = e->now_ms - (int64_t)rng_below(r, 30u * 86400u) * 1000;
    env.region_code = region;

    Doudi__PersonReported pr = DOUDI__PERSON_REPORTED__INIT;
    Doudi__DailyLiving dl = DOUDI__DAILY_LIVING__INIT;
    Doudi__VisitReport vr = DOUDI__VISIT_REPORT__INIT;
    Doudi__VisitFinding findings[4];
    Doudi__VisitFinding *finding_ptrs[4];

    if (n % 2 == 0) {
        /* A person snapshot: elderly, working-age or child. */
        unsigned group = rng_below(r, 10);
        unsigned year = group < 5 ? 1930 + rng_below(r, 30) : group < 8 ? 1960 + rng_below(r, 45)
                                                                        : 2008 + rng_below(r, 10);
        person_id(r, region, year, pid);
        snprintf(household, sizeof(household), "hh-%s-%06u", region, rng_below(r, 1000000));
        env.body_case = DOUDI__ENVELOPE__BODY_PERSON_REPORTED;
        env.person_reported = &pr;
        pr.person_id = pid;
        pr.household_id = household;
        pr.family_planning_special = 1 + rng_below(r, 3);
        pr.legal_supporter = 1 + rng_below(r, 3);
        if (chance(r, 25)) {
            pr.disability_grade = 1 + (int32_t)rng_below(r, 4);
            pr.disability_type = 1 + rng_below(r, 7);
        }
        if (group < 5) {
            static const Doudi__LivingArrangement elderly[] = {
                DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_WITH_FAMILY,
                DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_ALONE,
                DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_EMPTY_NEST,
                DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_INSTITUTION};
            pr.living_arrangement = elderly[rng_below(r, 4)];
            pr.daily_living = &dl;
            dl.eating = 1 + rng_below(r, 3);
            dl.dressing = 1 + rng_below(r, 3);
            dl.getting_in_out_of_bed = 1 + rng_below(r, 3);
            dl.toileting = 1 + rng_below(r, 3);
            dl.walking_indoors = 1 + rng_below(r, 3);
            dl.bathing = 1 + rng_below(r, 3);
            pr.work_ability = DOUDI__WORK_ABILITY__WORK_ABILITY_UNABLE;
            pr.own_monthly_income_fen = 30000 + rng_below(r, 300000);
            pr.life_threatening_condition = chance(r, 5);
        } else if (group < 8) {
            pr.living_arrangement = DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_WITH_FAMILY;
            pr.work_ability = 1 + rng_below(r, 3);
            pr.own_monthly_income_fen = rng_below(r, 1500000);
            pr.main_earner = chance(r, 50);
        } else {
            pr.living_arrangement = chance(r, 40)
                                        ? DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_LEFT_BEHIND
                                        : DOUDI__LIVING_ARRANGEMENT__LIVING_ARRANGEMENT_WITH_FAMILY;
            pr.child_in_difficulty = chance(r, 30);
        }
    } else {
        /* A care visit with one to four findings. */
        person_id(r, region, 1930 + rng_below(r, 35), pid);
        snprintf(visit_id, sizeof(visit_id), "visit-%s-%08" PRIx64, region,
                 rng_next(r) & 0xffffffffu);
        snprintf(worker, sizeof(worker), "w-%.9s-%03u", region, rng_below(r, 40));
        env.body_case = DOUDI__ENVELOPE__BODY_VISIT_REPORT;
        env.visit_report = &vr;
        vr.visit_id = visit_id;
        vr.subject_person_id = pid;
        vr.worker_id = worker;
        vr.visited_at_ms = env.occurred_at_ms;
        vr.outcome = chance(r, 85) ? DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_VISITED
                                   : DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_BY_PHONE_OR_VIDEO;
        vr.n_findings = 1 + rng_below(r, 4);
        vr.findings = finding_ptrs;
        unsigned area = rng_below(r, 12);
        for (size_t i = 0; i < vr.n_findings; i++) {
            doudi__visit_finding__init(&findings[i]);
            findings[i].area = 1 + (area + (unsigned)i * 5) % 12;
            unsigned sev = rng_below(r, 100);
            findings[i].severity = sev < 75 ? DOUDI__FINDING_SEVERITY__FINDING_SEVERITY_OK
                                   : sev < 97 ? DOUDI__FINDING_SEVERITY__FINDING_SEVERITY_CONCERN
                                              : DOUDI__FINDING_SEVERITY__FINDING_SEVERITY_DANGER;
            findings[i].note = (char *)visit_notes[rng_below(r, NOTES)];
            finding_ptrs[i] = &findings[i];
        }
    }
    size_t len = doudi__envelope__get_packed_size(&env);
    if (len > 1024)
        fail("generated event of %zu bytes", len);
    return doudi__envelope__pack(&env, out);
}

/* ------------------------------------------------------------------------ */
/* Workloads: every request of a configuration, encoded before the clock     */
/* ------------------------------------------------------------------------ */

typedef struct request_buf {
    uint8_t *data;
    size_t len;
    uint32_t nevents;
} request_buf;

typedef struct workload {
    size_t portals, batch;
    size_t nreq;                /* measured requests per portal */
    request_buf *req;           /* [portal * (nreq + 1) + i]; i = 0 is the warm-up */
    size_t total_events;        /* warm-up included: the highest sequence */
    size_t measured_events;
    size_t person_events, visit_events; /* of total_events, by body */
    double mean_event_bytes;
    size_t min_event_bytes, max_event_bytes;
    double mean_request_bytes;
} workload;

/* request_id: portal (1-based) in the high half, request index in the low. */
static uint64_t request_id_of(size_t portal, size_t i)
{
    return ((uint64_t)(portal + 1) << 32) | (uint64_t)i;
}

static void build_workload(workload *w, size_t portals, size_t batch, uint32_t run_id,
                           uint16_t config_id)
{
    memset(w, 0, sizeof(*w));
    w->portals = portals;
    w->batch = batch;
    w->nreq = (opt.events + portals * batch - 1) / (portals * batch);
    if (w->nreq < 1)
        w->nreq = 1;
    w->req = dd_calloc(portals * (w->nreq + 1), sizeof(request_buf));
    uint8_t *scratch = dd_malloc(batch * 1024);
    ProtobufCBinaryData *events = dd_calloc(batch, sizeof(*events));
    size_t event_bytes = 0, request_bytes = 0, nevents = 0;
    w->min_event_bytes = SIZE_MAX;
    int64_t now = wall_ms();
    for (size_t p = 0; p < portals; p++) {
        event_ctx e = {.r = {run_id ^ ((uint64_t)config_id << 40) ^ ((uint64_t)p << 56)},
                       .run_id = run_id,
                       .config_id = config_id,
                       .portal = (uint16_t)(p + 1),
                       .now_ms = now};
        snprintf(e.source, sizeof(e.source), "county-portal-%02zu", p + 1);
        for (size_t i = 0; i <= w->nreq; i++) {
            size_t off = 0;
            for (size_t k = 0; k < batch; k++) {
                /* make_event alternates the bodies by the portal's counter. */
                if (e.counter % 2 == 0)
                    w->person_events++;
                else
                    w->visit_events++;
                size_t len = make_event(&e, scratch + off);
                events[k].data = scratch + off;
                events[k].len = len;
                off += len;
                event_bytes += len;
                nevents++;
                if (len < w->min_event_bytes)
                    w->min_event_bytes = len;
                if (len > w->max_event_bytes)
                    w->max_event_bytes = len;
            }
            Doudi__PublishRequest rq = DOUDI__PUBLISH_REQUEST__INIT;
            rq.request_id = request_id_of(p, i);
            rq.n_events = batch;
            rq.events = events;
            request_buf *b = &w->req[p * (w->nreq + 1) + i];
            b->len = doudi__publish_request__get_packed_size(&rq);
            b->data = dd_malloc(b->len);
            doudi__publish_request__pack(&rq, b->data);
            b->nevents = (uint32_t)batch;
            request_bytes += b->len;
        }
    }
    free(events);
    free(scratch);
    w->total_events = nevents;
    w->measured_events = portals * w->nreq * batch;
    w->mean_event_bytes = (double)event_bytes / (double)nevents;
    w->mean_request_bytes = (double)request_bytes / (double)(portals * (w->nreq + 1));
}

static void free_workload(workload *w)
{
    for (size_t i = 0; i < w->portals * (w->nreq + 1); i++)
        free(w->req[i].data);
    free(w->req);
    memset(w, 0, sizeof(*w));
}

/* ------------------------------------------------------------------------ */
/* Portals                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum { T_ECHO, T_RT_REPLY, T_INTAKE, T_LMDB } target_kind;

static const char *const target_names[] = {"echo", "rt-reply", "intake", "lmdb"};

typedef struct run_ctx {
    target_kind kind;
    const workload *w;
    char endpoint[64];
    void *zctx;
    pthread_barrier_t warmed, go;
    atomic_bool abort;
    atomic_uint finished;
    _Atomic uint64_t *seen; /* one bit per sequence 1..w->total_events */
} run_ctx;

typedef struct portal {
    run_ctx *c;
    size_t index;
    int64_t *sent_ns;  /* per request, 0 when not outstanding */
    double *lat_ms;    /* per measured request */
    size_t nlat;
    int64_t start_ns, end_ns;
    dd_arena *arena;
    char error[600];
} portal;

static void portal_fail(portal *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void portal_fail(portal *p, const char *fmt, ...)
{
    if (!p->error[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->error, sizeof(p->error), fmt, ap);
        va_end(ap);
    }
    atomic_store(&p->c->abort, true);
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    return v ? v->name : "(unknown)";
}

/* The request id at the head of an encoded PublishRequest (field 1 first). */
static bool peek_request_id(const uint8_t *data, size_t len, uint64_t *id)
{
    if (len < 2 || data[0] != 0x08)
        return false;
    uint64_t v = 0;
    for (size_t i = 1, shift = 0; i < len && shift < 64; i++, shift += 7) {
        v |= (uint64_t)(data[i] & 0x7f) << shift;
        if (!(data[i] & 0x80)) {
            *id = v;
            return true;
        }
    }
    return false;
}

/*
 * Checks one reply; returns the request index it answers, or -1 (p->error
 * set). For echo the reply must be the request itself; otherwise a
 * PublishReply with one ACCEPTED status per event, each with a new sequence.
 */
static long check_reply(portal *p, const uint8_t *data, size_t len)
{
    run_ctx *c = p->c;
    const workload *w = c->w;
    const request_buf *reqs = &w->req[p->index * (w->nreq + 1)];
    uint64_t id;
    if (c->kind == T_ECHO) {
        if (!peek_request_id(data, len, &id))
            return portal_fail(p, "echo: reply does not start with a request id"), -1;
    } else {
        ProtobufCAllocator a = dd_arena_protobuf_allocator(p->arena);
        Doudi__PublishReply *reply = doudi__publish_reply__unpack(&a, len, data);
        if (!reply) {
            dd_arena_reset(p->arena);
            return portal_fail(p, "reply of %zu bytes is not a PublishReply", len), -1;
        }
        id = reply->request_id;
        uint64_t i = id & 0xffffffffu;
        if (id >> 32 != p->index + 1 || i > w->nreq || !p->sent_ns[i]) {
            dd_arena_reset(p->arena);
            return portal_fail(p, "reply to request %#" PRIx64 ", which portal %zu has not "
                                  "outstanding", id, p->index + 1), -1;
        }
        if (reply->request_error) {
            portal_fail(p, "request %#" PRIx64 " refused whole: %s: %s", id,
                        enum_name(&doudi__reject_reason__descriptor, (int)reply->request_error),
                        reply->request_error_text);
            dd_arena_reset(p->arena);
            return -1;
        }
        if (reply->n_statuses != reqs[i].nevents) {
            portal_fail(p, "request %#" PRIx64 ": %zu statuses for %u events", id,
                        reply->n_statuses, reqs[i].nevents);
            dd_arena_reset(p->arena);
            return -1;
        }
        for (size_t k = 0; k < reply->n_statuses; k++) {
            const Doudi__EventStatus *st = reply->statuses[k];
            if (st->outcome != DOUDI__OUTCOME__OUTCOME_ACCEPTED) {
                portal_fail(p, "request %#" PRIx64 " event %zu (%s): %s, reason %s: %s", id, k,
                            st->event_id, enum_name(&doudi__outcome__descriptor, (int)st->outcome),
                            enum_name(&doudi__reject_reason__descriptor, (int)st->reason),
                            st->reason_text);
                dd_arena_reset(p->arena);
                return -1;
            }
            uint64_t seq = st->sequence;
            if (seq == 0 || seq > w->total_events) {
                portal_fail(p, "request %#" PRIx64 " event %zu: sequence %" PRIu64
                               " outside 1..%zu", id, k, seq, w->total_events);
                dd_arena_reset(p->arena);
                return -1;
            }
            uint64_t bit = UINT64_C(1) << (seq % 64);
            if (atomic_fetch_or(&c->seen[seq / 64], bit) & bit) {
                portal_fail(p, "request %#" PRIx64 " event %zu: sequence %" PRIu64
                               " was given before", id, k, seq);
                dd_arena_reset(p->arena);
                return -1;
            }
        }
        dd_arena_reset(p->arena);
    }
    uint64_t i = id & 0xffffffffu;
    if (id >> 32 != p->index + 1 || i > w->nreq || !p->sent_ns[i])
        return portal_fail(p, "reply to request %#" PRIx64 ", which portal %zu has not "
                              "outstanding", id, p->index + 1), -1;
    if (c->kind == T_ECHO && len != reqs[i].len)
        return portal_fail(p, "echo of request %#" PRIx64 ": %zu bytes, sent %zu", id, len,
                           reqs[i].len), -1;
    return (long)i;
}

static bool send_request(portal *p, void *sock, size_t i)
{
    const request_buf *b = &p->c->w->req[p->index * (p->c->w->nreq + 1) + i];
    zmq_msg_t m;
    /* Zero copy: the buffer outlives the socket, nothing to free. */
    zmq_msg_init_data(&m, b->data, b->len, NULL, NULL);
    p->sent_ns[i] = now_ns();
    if (zmq_msg_send(&m, sock, 0) < 0) {
        zmq_msg_close(&m);
        portal_fail(p, "send: %s", zmq_strerror(errno));
        return false;
    }
    return true;
}

/* Waits for one reply; returns the request index it answers, or -1. */
static long receive_reply(portal *p, void *sock, int64_t *at_ns)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    int64_t deadline = now_ns() + (int64_t)opt.timeout_s * 1000000000;
    for (;;) {
        if (zmq_msg_recv(&m, sock, 0) >= 0)
            break;
        if (errno != EAGAIN && errno != EINTR) {
            zmq_msg_close(&m);
            return portal_fail(p, "receive: %s", zmq_strerror(errno)), -1;
        }
        if (atomic_load(&p->c->abort)) {
            zmq_msg_close(&m);
            return -1;
        }
        if (now_ns() > deadline) {
            zmq_msg_close(&m);
            return portal_fail(p, "no reply within %d s", opt.timeout_s), -1;
        }
    }
    *at_ns = now_ns();
    if (zmq_msg_more(&m)) {
        zmq_msg_close(&m);
        return portal_fail(p, "reply of more than one frame"), -1;
    }
    long i = check_reply(p, zmq_msg_data(&m), zmq_msg_size(&m));
    zmq_msg_close(&m);
    return i;
}

static void *portal_main(void *arg)
{
    portal *p = arg;
    run_ctx *c = p->c;
    const workload *w = c->w;
    void *sock = zmq_socket(c->zctx, ZMQ_DEALER);
    int linger = 0, timeout = 100;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    if (zmq_connect(sock, c->endpoint) != 0)
        portal_fail(p, "connect %s: %s", c->endpoint, zmq_strerror(errno));

    /* Warm-up: one request answered before the clock starts (connection,
     * first pages of the log, caches). */
    int64_t at;
    if (!atomic_load(&c->abort) && send_request(p, sock, 0) && receive_reply(p, sock, &at) == 0)
        p->sent_ns[0] = 0;
    pthread_barrier_wait(&c->warmed);
    pthread_barrier_wait(&c->go);

    size_t sent = 0, acked = 0;
    p->start_ns = now_ns();
    p->end_ns = p->start_ns;
    while (acked < w->nreq && !atomic_load(&c->abort)) {
        while (sent < w->nreq && sent - acked < opt.window)
            if (!send_request(p, sock, 1 + sent++))
                goto out;
        long i = receive_reply(p, sock, &at);
        if (i <= 0) {
            if (i == 0)
                portal_fail(p, "second reply to the warm-up request");
            goto out;
        }
        p->lat_ms[p->nlat++] = (double)(at - p->sent_ns[i]) / 1e6;
        p->sent_ns[i] = 0;
        p->end_ns = at;
        acked++;
    }
out:
    zmq_close(sock);
    atomic_fetch_add(&c->finished, 1);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The in-process ROUTER of the baselines                                    */
/* ------------------------------------------------------------------------ */

typedef struct server {
    void *zctx, *sock;
    target_kind kind;
    pthread_t thread;
    atomic_bool stop;
    uint64_t next_seq;
    char error[256];
} server;

static void *server_main(void *arg)
{
    server *s = arg;
    dd_arena *arena = dd_arena_new(1 << 20);
    uint8_t *out = NULL;
    size_t out_cap = 0;
    Doudi__EventStatus *statuses = NULL;
    Doudi__EventStatus **status_ptrs = NULL;
    size_t status_cap = 0;
    while (!atomic_load(&s->stop)) {
        zmq_pollitem_t item = {s->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 50) <= 0)
            continue;
        for (;;) {
            zmq_msg_t rid, body;
            zmq_msg_init(&rid);
            if (zmq_msg_recv(&rid, s->sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&rid);
                break;
            }
            zmq_msg_init(&body);
            if (!zmq_msg_more(&rid) || zmq_msg_recv(&body, s->sock, 0) < 0 || zmq_msg_more(&body)) {
                snprintf(s->error, sizeof(s->error), "server: a request that is not one frame");
                zmq_msg_close(&rid);
                zmq_msg_close(&body);
                continue;
            }
            if (s->kind == T_ECHO) {
                zmq_msg_send(&rid, s->sock, ZMQ_SNDMORE);
                zmq_msg_send(&body, s->sock, 0);
                continue;
            }
            /* What intake does minus judging and storing: decode the
             * request and every event, answer ACCEPTED with a sequence. */
            ProtobufCAllocator a = dd_arena_protobuf_allocator(arena);
            Doudi__PublishRequest *rq =
                doudi__publish_request__unpack(&a, zmq_msg_size(&body), zmq_msg_data(&body));
            Doudi__PublishReply reply = DOUDI__PUBLISH_REPLY__INIT;
            if (rq) {
                if (rq->n_events > status_cap) {
                    status_cap = rq->n_events;
                    statuses = dd_realloc(statuses, status_cap * sizeof(*statuses));
                    status_ptrs = dd_realloc(status_ptrs, status_cap * sizeof(*status_ptrs));
                }
                reply.request_id = rq->request_id;
                reply.n_statuses = rq->n_events;
                reply.statuses = status_ptrs;
                for (size_t i = 0; i < rq->n_events; i++) {
                    Doudi__EventStatus *st = &statuses[i];
                    doudi__event_status__init(st);
                    Doudi__Envelope *env =
                        doudi__envelope__unpack(&a, rq->events[i].len, rq->events[i].data);
                    st->outcome = env ? DOUDI__OUTCOME__OUTCOME_ACCEPTED
                                      : DOUDI__OUTCOME__OUTCOME_REJECTED;
                    st->reason = env ? 0 : DOUDI__REJECT_REASON__REJECT_REASON_UNDECODABLE;
                    if (env) {
                        st->event_id = env->event_id;
                        st->sequence = s->next_seq++;
                    }
                    status_ptrs[i] = st;
                }
            } else {
                reply.request_error = DOUDI__REJECT_REASON__REJECT_REASON_REQUEST_UNDECODABLE;
            }
            size_t len = doudi__publish_reply__get_packed_size(&reply);
            if (len > out_cap) {
                out_cap = len * 2;
                out = dd_realloc(out, out_cap);
            }
            doudi__publish_reply__pack(&reply, out);
            zmq_msg_send(&rid, s->sock, ZMQ_SNDMORE);
            zmq_send(s->sock, out, len, 0);
            zmq_msg_close(&body);
            dd_arena_reset(arena);
        }
    }
    free(out);
    free(statuses);
    free(status_ptrs);
    dd_arena_destroy(&arena);
    return NULL;
}

static void server_start(server *s, target_kind kind, char endpoint[64])
{
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->next_seq = 1;
    s->zctx = zmq_ctx_new(); /* its own I/O thread, as another process would have */
    s->sock = zmq_socket(s->zctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_bind(s->sock, "tcp://127.0.0.1:*") != 0)
        fail("bind: %s", zmq_strerror(errno));
    size_t size = 64;
    zmq_getsockopt(s->sock, ZMQ_LAST_ENDPOINT, endpoint, &size);
    pthread_create(&s->thread, NULL, server_main, s);
}

static void server_stop(server *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    zmq_close(s->sock);
    zmq_ctx_term(s->zctx);
}

/* ------------------------------------------------------------------------ */
/* The doudi-intake child                                                    */
/* ------------------------------------------------------------------------ */

typedef struct intake_proc {
    pid_t pid;
    char config[PATH_MAX], stderr_path[PATH_MAX];
    int publish_port, metrics_port;
    char endpoint[64], log_endpoint[64];
} intake_proc;

/* Four distinct loopback ports that were free a moment ago. */
static void free_ports(int ports[4])
{
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, sizeof(a)) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&a, &len) != 0)
            fail("cannot find a free loopback port: %s", strerror(errno));
        ports[i] = ntohs(a.sin_port);
    }
    for (int i = 0; i < 4; i++)
        close(fds[i]);
}

static void show_child_stderr(const intake_proc *ip)
{
    FILE *f = fopen(ip->stderr_path, "r");
    if (!f)
        return;
    char line[1024];
    fprintf(stderr, "--- %s (doudi-intake stderr) ---\n", ip->stderr_path);
    while (fgets(line, sizeof(line), f))
        fputs(line, stderr);
    fclose(f);
}

/* Sends an empty PublishRequest until it is answered (intake is serving). */
static bool wait_ready(intake_proc *ip, void *zctx, int deadline_ms, int *exit_status)
{
    void *s = zmq_socket(zctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_connect(s, ip->endpoint);
    Doudi__PublishRequest probe = DOUDI__PUBLISH_REQUEST__INIT;
    probe.request_id = UINT64_C(0xfeed);
    uint8_t buf[16];
    size_t len = doudi__publish_request__pack(&probe, buf);
    zmq_send(s, buf, len, 0);
    int64_t deadline = now_ns() + (int64_t)deadline_ms * 1000000;
    bool ready = false;
    while (now_ns() < deadline) {
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 20) > 0) {
            uint8_t reply[256];
            int n = zmq_recv(s, reply, sizeof(reply), 0);
            Doudi__PublishReply *r =
                n > 0 && n <= (int)sizeof(reply) ? doudi__publish_reply__unpack(NULL, (size_t)n, reply)
                                                 : NULL;
            ready = r && r->request_id == probe.request_id && !r->request_error && !r->n_statuses;
            if (r)
                doudi__publish_reply__free_unpacked(r, NULL);
            break;
        }
        int status;
        if (waitpid(ip->pid, &status, WNOHANG) == ip->pid) {
            child_pid = ip->pid = 0;
            *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
    }
    zmq_close(s);
    return ready;
}

static void intake_start(intake_proc *ip, const char *dir, void *zctx)
{
    memset(ip, 0, sizeof(*ip));
    path_join(ip->config, sizeof(ip->config), dir, "intake.ini");
    path_join(ip->stderr_path, sizeof(ip->stderr_path), dir, "intake.stderr");
    for (int attempt = 1;; attempt++) {
        int ports[4];
        free_ports(ports);
        ip->publish_port = ports[0];
        ip->metrics_port = ports[3];
        snprintf(ip->endpoint, sizeof(ip->endpoint), "tcp://127.0.0.1:%d", ports[0]);
        snprintf(ip->log_endpoint, sizeof(ip->log_endpoint), "tcp://127.0.0.1:%d", ports[1]);
        char *ini = dd_asprintf(
            "# written by intake_bench; every other key has its default (fsync on)\n"
            "[intake]\n"
            "data_dir = %s/data\n"
            "publish_endpoint = tcp://127.0.0.1:%d\n"
            "log_endpoint = tcp://127.0.0.1:%d\n"
            "admin_endpoint = tcp://127.0.0.1:%d\n"
            "metrics_listen = 127.0.0.1:%d\n"
            "log_level = warn\n",
            dir, ports[0], ports[1], ports[2], ports[3]);
        if (!write_file(ip->config, ini))
            fail("cannot write %s: %s", ip->config, strerror(errno));
        free(ini);

        pid_t pid = fork();
        if (pid < 0)
            fail("fork: %s", strerror(errno));
        if (pid == 0) {
            /* Dies with us, whatever kills us. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            int fd = open(ip->stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
            execl(opt.intake, "doudi-intake", "-c", ip->config, (char *)NULL);
            _exit(127);
        }
        ip->pid = child_pid = pid;
        int exit_status = -1;
        if (wait_ready(ip, zctx, 15000, &exit_status))
            return;
        if (exit_status == 3 && attempt < 3)
            continue; /* a port was taken between our probe and its bind */
        show_child_stderr(ip);
        if (exit_status >= 0)
            fail("doudi-intake exited with status %d before serving", exit_status);
        fail("doudi-intake did not answer a probe within 15 s");
    }
}

/* SIGTERM, then waitpid with a deadline; SIGKILL and fail if it hangs. */
static void intake_stop(intake_proc *ip)
{
    if (ip->pid <= 0)
        return;
    kill(ip->pid, SIGTERM);
    int64_t deadline = now_ns() + 10 * INT64_C(1000000000);
    int status;
    for (;;) {
        pid_t r = waitpid(ip->pid, &status, WNOHANG);
        if (r == ip->pid)
            break;
        if (now_ns() > deadline) {
            show_child_stderr(ip);
            fail("doudi-intake (pid %d) did not stop within 10 s of SIGTERM", (int)ip->pid);
        }
        sleep_ms(5);
    }
    child_pid = ip->pid = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        show_child_stderr(ip);
        if (WIFSIGNALED(status))
            fail("doudi-intake died of signal %d while stopping", WTERMSIG(status));
        fail("doudi-intake exited with status %d after SIGTERM", WEXITSTATUS(status));
    }
}

/* GET /metrics; returns the body (malloc'ed) or NULL. */
static char *scrape_metrics(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return NULL;
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    static const char get[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        write(fd, get, sizeof(get) - 1) != (ssize_t)(sizeof(get) - 1)) {
        close(fd);
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = dd_malloc(cap);
    for (;;) {
        if (len + 1 >= cap)
            buf = dd_realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return buf;
}

/* The value of an unlabelled sample in Prometheus text; NAN if absent. */
static double metric_value(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return __builtin_nan("");
}

typedef struct intake_counters {
    double commits, commit_events, commit_requests, commit_seconds, accepted;
} intake_counters;

static intake_counters read_counters(int port)
{
    intake_counters k = {__builtin_nan(""), __builtin_nan(""), __builtin_nan(""),
                         __builtin_nan(""), __builtin_nan("")};
    char *text = scrape_metrics(port);
    if (!text)
        return k;
    k.commits = metric_value(text, "doudi_intake_commit_events_count");
    k.commit_events = metric_value(text, "doudi_intake_commit_events_sum");
    k.commit_requests = metric_value(text, "doudi_intake_commit_requests_sum");
    k.commit_seconds = metric_value(text, "doudi_intake_commit_seconds_sum");
    k.accepted = metric_value(text, "doudi_intake_events_accepted_total");
    free(text);
    return k;
}

/* ------------------------------------------------------------------------ */
/* Results                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct result {
    const char *target; /* lmdb, echo, rt-reply, intake */
    size_t portals, batch, window;
    size_t events, requests;
    double seconds, events_per_s, requests_per_s;
    double p50_ms, p99_ms, max_ms, mean_ms;
    double intake_cpu_pct, bench_cpu_pct;                    /* of one core; NAN: n/a */
    double other_cpu_pct;    /* every other process on the machine, of one core */
    double cpu_us_per_event; /* intake's (or lmdb's) CPU time per event */
    double user_us_per_event; /* the user-space part of it (intake only) */
    size_t kinds;            /* fetch rows: kinds named in the FetchRequests (0: all) */
    double events_per_commit, requests_per_commit, commit_ms; /* intake's metrics; NAN: n/a */
    double vs_rt_reply, vs_echo, vs_lmdb;                    /* intake rows only */
    double mean_event_bytes, mean_request_bytes;
} result;

static result results[64];
static size_t nresults;

/* Encoded sizes of every event generated in this run. */
static struct {
    double bytes, count;
    size_t min, max;
} event_sizes = {0, 0, SIZE_MAX, 0};

static result *new_result(const char *target, size_t portals, size_t batch)
{
    if (nresults == sizeof(results) / sizeof(results[0]))
        fail("too many configurations");
    result *r = &results[nresults++];
    memset(r, 0, sizeof(*r));
    r->target = target;
    r->portals = portals;
    r->batch = batch;
    double nan = __builtin_nan("");
    r->intake_cpu_pct = r->bench_cpu_pct = r->other_cpu_pct = r->cpu_us_per_event = nan;
    r->user_us_per_event = nan;
    r->events_per_commit = r->requests_per_commit = r->commit_ms = nan;
    r->vs_rt_reply = r->vs_echo = r->vs_lmdb = nan;
    r->mean_event_bytes = r->mean_request_bytes = nan;
    return r;
}

static const result *find_result(const char *target, size_t portals, size_t batch)
{
    for (size_t i = 0; i < nresults; i++)
        if (strcmp(results[i].target, target) == 0 && results[i].portals == portals &&
            results[i].batch == batch)
            return &results[i];
    return NULL;
}

static void latency_stats(result *r, double *lat, size_t n)
{
    qsort(lat, n, sizeof(double), cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += lat[i];
    r->p50_ms = percentile(lat, n, 50);
    r->p99_ms = percentile(lat, n, 99);
    r->max_ms = n ? lat[n - 1] : 0;
    r->mean_ms = n ? sum / (double)n : 0;
}

/* ------------------------------------------------------------------------ */
/* Reading the log back: what a downstream daemon's fetches cost intake      */
/* ------------------------------------------------------------------------ */

static bool fetch_kind_wanted(uint32_t kind)
{
    if (opt.nfetch_kinds == 0)
        return true;
    for (size_t i = 0; i < opt.nfetch_kinds; i++)
        if (opt.fetch_kinds[i] == kind)
            return true;
    return false;
}

/*
 * Pulls intake's whole log, as eligibility does (FetchRequests of
 * opt.fetch_records, the kinds of --fetch-kinds, a consumer name, no long
 * poll), while nothing else is published, and adds a "fetch" row: records
 * per second, intake's CPU per record received, the time of one fetch. Every
 * reply is decoded and checked: the same bytes protobuf-c would encode,
 * status OK, sequences increasing (contiguous without a kinds filter), only
 * the kinds asked for, progress on every fetch, and at the end every record
 * of those kinds exactly once.
 */
static void run_fetch(intake_proc *ip, const workload *w, void *zctx)
{
    void *sock = zmq_socket(zctx, ZMQ_DEALER);
    int linger = 0, timeout = opt.timeout_s * 1000;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    if (zmq_connect(sock, ip->log_endpoint) != 0)
        fail("connect %s: %s", ip->log_endpoint, zmq_strerror(errno));
    size_t expected = 0;
    if (fetch_kind_wanted(DOUDI__ENVELOPE__BODY_PERSON_REPORTED))
        expected += w->person_events;
    if (fetch_kind_wanted(DOUDI__ENVELOPE__BODY_VISIT_REPORT))
        expected += w->visit_events;

    size_t lat_cap = w->total_events / opt.fetch_records + 16, nlat = 0;
    double *lat = dd_malloc(lat_cap * sizeof(double));
    uint64_t after = 0, last_seq = 0, request_id = 0;
    size_t records = 0;
    double bytes = 0;
    double user0 = 0, sys0 = 0, user1 = 0, sys1 = 0;
    bool cpu_ok = process_cpu_split(ip->pid, &user0, &sys0);
    double bench_cpu0 = process_cpu_s(getpid());
    double busy0 = system_busy_s();
    int64_t t0 = now_ns();
    for (;;) {
        Doudi__FetchRequest req = DOUDI__FETCH_REQUEST__INIT;
        req.request_id = ++request_id;
        req.after_sequence = after;
        req.max_records = (uint32_t)opt.fetch_records;
        req.consumer = "intake-bench";
        req.kinds = opt.fetch_kinds;
        req.n_kinds = opt.nfetch_kinds;
        uint8_t buf[256];
        size_t len = doudi__fetch_request__pack(&req, buf);
        int64_t start = now_ns();
        if (zmq_send(sock, buf, len, 0) < 0)
            fail("fetch: send: %s", zmq_strerror(errno));
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, 0) < 0) {
            show_child_stderr(ip);
            fail("fetch after %" PRIu64 ": no reply within %d s", after, opt.timeout_s);
        }
        if (nlat < lat_cap)
            lat[nlat++] = (double)(now_ns() - start) / 1e6;
        bytes += (double)zmq_msg_size(&msg);
        Doudi__FetchReply *rep =
            doudi__fetch_reply__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
        if (!rep)
            fail("fetch after %" PRIu64 ": the reply is not a FetchReply", after);
        if (rep->request_id != req.request_id || rep->status != DOUDI__FETCH_STATUS__FETCH_STATUS_OK)
            fail("fetch after %" PRIu64 ": request id %" PRIu64 " (sent %" PRIu64 "), status %d: %s",
                 after, rep->request_id, req.request_id, (int)rep->status,
                 rep->error_text ? rep->error_text : "");
        /* The reply must be exactly what protobuf-c would have encoded. */
        size_t again = doudi__fetch_reply__get_packed_size(rep);
        if (again != zmq_msg_size(&msg))
            fail("fetch after %" PRIu64 ": %zu bytes received, protobuf-c encodes them in %zu",
                 after, zmq_msg_size(&msg), again);
        uint8_t *repacked = dd_malloc(again ? again : 1);
        doudi__fetch_reply__pack(rep, repacked);
        if (memcmp(repacked, zmq_msg_data(&msg), again) != 0)
            fail("fetch after %" PRIu64 ": the reply's bytes differ from protobuf-c's encoding",
                 after);
        free(repacked);
        if (rep->head_sequence != w->total_events)
            fail("fetch: the log's head is %" PRIu64 ", expected %zu", rep->head_sequence,
                 w->total_events);
        for (size_t i = 0; i < rep->n_records; i++) {
            const Doudi__LogRecord *rec = rep->records[i];
            bool in_order = opt.nfetch_kinds ? rec->sequence > last_seq
                                             : rec->sequence == last_seq + 1;
            if (!in_order || rec->sequence > rep->scanned_through_sequence)
                fail("fetch after %" PRIu64 ": record %" PRIu64 " after %" PRIu64
                     " (scanned through %" PRIu64 ")",
                     after, rec->sequence, last_seq, rep->scanned_through_sequence);
            if (!fetch_kind_wanted(rec->kind) || rec->payload.len == 0)
                fail("fetch: record %" PRIu64 " of kind %u, %zu bytes", rec->sequence, rec->kind,
                     rec->payload.len);
            last_seq = rec->sequence;
        }
        records += rep->n_records;
        if (rep->scanned_through_sequence <= after)
            fail("fetch after %" PRIu64 ": no progress", after);
        after = rep->scanned_through_sequence;
        doudi__fetch_reply__free_unpacked(rep, NULL);
        zmq_msg_close(&msg);
        if (after >= w->total_events)
            break;
    }
    int64_t t1 = now_ns();
    cpu_ok = process_cpu_split(ip->pid, &user1, &sys1) && cpu_ok;
    double bench_cpu1 = process_cpu_s(getpid());
    double busy1 = system_busy_s();
    zmq_close(sock);
    if (records != expected)
        fail("fetch: %zu records received, expected %zu", records, expected);

    result *r = new_result("fetch", w->portals, opt.fetch_records);
    r->kinds = opt.nfetch_kinds;
    r->events = records;
    r->requests = nlat;
    r->seconds = (double)(t1 - t0) / 1e9;
    r->events_per_s = (double)records / r->seconds;
    r->requests_per_s = (double)nlat / r->seconds;
    r->events_per_commit = (double)records / (double)nlat;
    r->mean_request_bytes = bytes / (double)nlat;
    latency_stats(r, lat, nlat);
    double intake_cpu = (user1 + sys1) - (user0 + sys0);
    if (cpu_ok) {
        r->intake_cpu_pct = 100.0 * intake_cpu / r->seconds;
        r->cpu_us_per_event = 1e6 * intake_cpu / (double)records;
        r->user_us_per_event = 1e6 * (user1 - user0) / (double)records;
    }
    if (bench_cpu0 >= 0 && bench_cpu1 >= 0)
        r->bench_cpu_pct = 100.0 * (bench_cpu1 - bench_cpu0) / r->seconds;
    if (busy0 >= 0 && busy1 >= 0 && cpu_ok) {
        r->other_cpu_pct =
            100.0 * (busy1 - busy0 - (bench_cpu1 - bench_cpu0) - intake_cpu) / r->seconds;
        if (r->other_cpu_pct < 0)
            r->other_cpu_pct = 0;
    }
    free(lat);
}

/* ------------------------------------------------------------------------ */
/* One configuration against one target                                     */
/* ------------------------------------------------------------------------ */

static void run_target(target_kind kind, const workload *w, const char *cfg_dir, void *zctx)
{
    run_ctx c = {.kind = kind, .w = w, .zctx = zctx};
    server srv;
    intake_proc ip = {0};
    if (kind == T_INTAKE) {
        mkdir(cfg_dir, 0755);
        intake_start(&ip, cfg_dir, zctx);
        snprintf(c.endpoint, sizeof(c.endpoint), "%s", ip.endpoint);
    } else {
        server_start(&srv, kind, c.endpoint);
    }
    size_t nwords = w->total_events / 64 + 1;
    c.seen = dd_calloc(nwords, sizeof(*c.seen));
    pthread_barrier_init(&c.warmed, NULL, (unsigned)w->portals + 1);
    pthread_barrier_init(&c.go, NULL, (unsigned)w->portals + 1);

    portal *ps = dd_calloc(w->portals, sizeof(portal));
    pthread_t *threads = dd_calloc(w->portals, sizeof(pthread_t));
    for (size_t i = 0; i < w->portals; i++) {
        ps[i].c = &c;
        ps[i].index = i;
        ps[i].sent_ns = dd_calloc(w->nreq + 1, sizeof(int64_t));
        ps[i].lat_ms = dd_calloc(w->nreq, sizeof(double));
        ps[i].arena = dd_arena_new(1 << 20);
        pthread_create(&threads[i], NULL, portal_main, &ps[i]);
    }
    pthread_barrier_wait(&c.warmed);
    intake_counters before = {0};
    double intake_cpu0 = 0, intake_user0 = 0, intake_sys0 = 0;
    if (kind == T_INTAKE && !atomic_load(&c.abort)) {
        before = read_counters(ip.metrics_port);
        if (process_cpu_split(ip.pid, &intake_user0, &intake_sys0))
            intake_cpu0 = intake_user0 + intake_sys0;
        else
            intake_cpu0 = -1;
    }
    double bench_cpu0 = process_cpu_s(getpid());
    double busy0 = system_busy_s();
    int64_t t0 = now_ns();
    pthread_barrier_wait(&c.go);

    /* Watch the child while the portals work. */
    while (atomic_load(&c.finished) < w->portals) {
        sleep_ms(2);
        int status;
        if (kind == T_INTAKE && waitpid(ip.pid, &status, WNOHANG) == ip.pid) {
            child_pid = ip.pid = 0;
            atomic_store(&c.abort, true);
            for (size_t i = 0; i < w->portals; i++)
                pthread_join(threads[i], NULL);
            show_child_stderr(&ip);
            if (WIFSIGNALED(status))
                fail("doudi-intake died of signal %d during the run", WTERMSIG(status));
            fail("doudi-intake exited with status %d during the run", WEXITSTATUS(status));
        }
    }
    for (size_t i = 0; i < w->portals; i++)
        pthread_join(threads[i], NULL);
    double bench_cpu1 = process_cpu_s(getpid());
    double busy1 = system_busy_s();
    double intake_cpu1 = 0, intake_user1 = 0, intake_sys1 = 0;
    if (kind == T_INTAKE) {
        if (process_cpu_split(ip.pid, &intake_user1, &intake_sys1))
            intake_cpu1 = intake_user1 + intake_sys1;
        else
            intake_cpu1 = -1;
    }
    for (size_t i = 0; i < w->portals; i++)
        if (ps[i].error[0]) {
            if (kind == T_INTAKE)
                show_child_stderr(&ip);
            fail("%s, %zu portals x %zu events: portal %zu: %s", target_names[kind], w->portals,
                 w->batch, i + 1, ps[i].error);
        }

    int64_t t1 = t0;
    size_t nlat = 0;
    for (size_t i = 0; i < w->portals; i++) {
        if (ps[i].end_ns > t1)
            t1 = ps[i].end_ns;
        nlat += ps[i].nlat;
    }
    double *lat = dd_malloc((nlat + 1) * sizeof(double));
    for (size_t i = 0, k = 0; i < w->portals; i++) {
        memcpy(lat + k, ps[i].lat_ms, ps[i].nlat * sizeof(double));
        k += ps[i].nlat;
    }
    /* Every sequence 1..total must have been handed out exactly once. */
    if (kind != T_ECHO) {
        size_t got = 0;
        for (size_t i = 0; i < nwords; i++)
            got += (size_t)__builtin_popcountll(c.seen[i]);
        if (got != w->total_events)
            fail("%s: %zu distinct sequences acknowledged for %zu events", target_names[kind], got,
                 w->total_events);
    }

    result *r = new_result(target_names[kind], w->portals, w->batch);
    r->window = opt.window;
    r->events = w->measured_events;
    r->requests = w->portals * w->nreq;
    r->seconds = (double)(t1 - t0) / 1e9;
    r->events_per_s = (double)r->events / r->seconds;
    r->requests_per_s = (double)r->requests / r->seconds;
    r->mean_event_bytes = w->mean_event_bytes;
    r->mean_request_bytes = w->mean_request_bytes;
    latency_stats(r, lat, nlat);
    if (bench_cpu0 >= 0 && bench_cpu1 >= 0)
        r->bench_cpu_pct = 100.0 * (bench_cpu1 - bench_cpu0) / r->seconds;
    double ours = bench_cpu1 - bench_cpu0 + (kind == T_INTAKE ? intake_cpu1 - intake_cpu0 : 0);
    if (busy0 >= 0 && busy1 >= 0) {
        r->other_cpu_pct = 100.0 * (busy1 - busy0 - ours) / r->seconds;
        if (r->other_cpu_pct < 0)
            r->other_cpu_pct = 0; /* clock-tick rounding */
    }

    if (kind == T_INTAKE) {
        intake_counters after = read_counters(ip.metrics_port);
        double commits = after.commits - before.commits;
        if (commits > 0) {
            r->events_per_commit = (after.commit_events - before.commit_events) / commits;
            r->requests_per_commit = (after.commit_requests - before.commit_requests) / commits;
            r->commit_ms = 1000.0 * (after.commit_seconds - before.commit_seconds) / commits;
        }
        if (after.accepted == after.accepted && after.accepted != (double)w->total_events)
            fail("intake's doudi_intake_events_accepted_total is %.0f, expected %zu",
                 after.accepted, w->total_events);
        if (intake_cpu0 >= 0 && intake_cpu1 >= 0) {
            r->intake_cpu_pct = 100.0 * (intake_cpu1 - intake_cpu0) / r->seconds;
            r->cpu_us_per_event = 1e6 * (intake_cpu1 - intake_cpu0) / (double)r->events;
            r->user_us_per_event = 1e6 * (intake_user1 - intake_user0) / (double)r->events;
        }
        if (opt.fetch_records)
            run_fetch(&ip, w, zctx);
        intake_stop(&ip);
        if (!opt.keep)
            remove_tree(cfg_dir);
    } else {
        server_stop(&srv);
    }

    for (size_t i = 0; i < w->portals; i++) {
        free(ps[i].sent_ns);
        free(ps[i].lat_ms);
        dd_arena_destroy(&ps[i].arena);
    }
    free(ps);
    free(threads);
    free(lat);
    free((void *)c.seen);
    pthread_barrier_destroy(&c.warmed);
    pthread_barrier_destroy(&c.go);
}

/* ------------------------------------------------------------------------ */
/* LMDB: sequential appends, one synced commit per batch                     */
/* ------------------------------------------------------------------------ */

static void run_lmdb(size_t batch, const char *dir)
{
    mkdir(dir, 0755);
    size_t ncommits = (opt.events + batch - 1) / batch;
    size_t nputs = ncommits * batch;
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    int rc = mdb_env_create(&env);
    if (!rc)
        rc = mdb_env_set_mapsize(env, ((size_t)64 << 20) + (nputs + batch) * (LMDB_VALUE_BYTES + 64) * 2);
    if (!rc)
        rc = mdb_env_set_maxdbs(env, 4);
    /* No MDB_NOSYNC, no MDB_NOMETASYNC: every commit is durable, as intake's. */
    if (!rc)
        rc = mdb_env_open(env, dir, 0, 0644);
    if (!rc)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (!rc)
        rc = mdb_dbi_open(txn, "log", MDB_CREATE | MDB_INTEGERKEY, &dbi);
    if (!rc)
        rc = mdb_txn_commit(txn);
    if (rc)
        fail("lmdb in %s: %s", dir, mdb_strerror(rc));

    uint8_t value[LMDB_VALUE_BYTES];
    rng r = {42};
    for (size_t i = 0; i < sizeof(value); i++)
        value[i] = (uint8_t)rng_next(&r);
    double *lat = dd_malloc(ncommits * sizeof(double));
    uint64_t seq = 0;
    double cpu0 = 0, busy0 = 0;
    int64_t t0 = 0;
    /* Commit 0 is the warm-up, not timed. */
    for (size_t c = 0; c <= ncommits; c++) {
        if (c == 1) {
            cpu0 = process_cpu_s(getpid());
            busy0 = system_busy_s();
            t0 = now_ns();
        }
        int64_t start = now_ns();
        if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
            fail("lmdb: %s", mdb_strerror(rc));
        for (size_t i = 0; i < batch; i++) {
            seq++;
            memcpy(value, &seq, sizeof(seq));
            MDB_val k = {sizeof(seq), &seq}, v = {sizeof(value), value};
            if ((rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND)) != 0)
                fail("lmdb put: %s", mdb_strerror(rc));
        }
        if ((rc = mdb_txn_commit(txn)) != 0)
            fail("lmdb commit: %s", mdb_strerror(rc));
        if (c > 0)
            lat[c - 1] = (double)(now_ns() - start) / 1e6;
    }
    int64_t t1 = now_ns();
    double cpu1 = process_cpu_s(getpid());
    double busy1 = system_busy_s();
    mdb_env_close(env);
    if (!opt.keep)
        remove_tree(dir);

    result *res = new_result("lmdb", 1, batch);
    res->events = nputs;
    res->requests = ncommits;
    res->seconds = (double)(t1 - t0) / 1e9;
    res->events_per_s = (double)nputs / res->seconds;
    res->requests_per_s = (double)ncommits / res->seconds;
    res->mean_event_bytes = LMDB_VALUE_BYTES;
    latency_stats(res, lat, ncommits);
    res->bench_cpu_pct = 100.0 * (cpu1 - cpu0) / res->seconds;
    res->cpu_us_per_event = 1e6 * (cpu1 - cpu0) / (double)nputs;
    res->other_cpu_pct = 100.0 * (busy1 - busy0 - (cpu1 - cpu0)) / res->seconds;
    if (res->other_cpu_pct < 0)
        res->other_cpu_pct = 0;
    free(lat);
}

/* ------------------------------------------------------------------------ */
/* The machine                                                               */
/* ------------------------------------------------------------------------ */

typedef struct machine {
    long nproc;
    char cpu[128], kernel[256], memory[64], fs[64], git[128];
    char zmq[16], protobuf_c[16], lmdb[64];
} machine;

static void trim_newline(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

static void read_machine(machine *m, const char *dir)
{
    memset(m, 0, sizeof(*m));
    m->nproc = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(m->cpu, sizeof(m->cpu), "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            trim_newline(line);
            snprintf(m->cpu, sizeof(m->cpu), "%s", colon + 2);
            break;
        }
    }
    if (f)
        fclose(f);
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(m->kernel, sizeof(m->kernel), "%s %s %s", u.sysname, u.release, u.machine);
    }
    f = fopen("/proc/meminfo", "r");
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long kb;
        if (sscanf(line, "MemTotal: %lu kB", &kb) == 1) {
            snprintf(m->memory, sizeof(m->memory), "%.1f GiB", (double)kb / (1024.0 * 1024.0));
            break;
        }
    }
    if (f)
        fclose(f);
    struct statfs sf;
    if (statfs(dir, &sf) == 0) {
        const char *type = sf.f_type == 0xEF53       ? "ext4"
                           : sf.f_type == 0x01021994 ? "tmpfs (fsync is free: not a disk!)"
                           : sf.f_type == 0x58465342 ? "xfs"
                           : sf.f_type == 0x9123683E ? "btrfs"
                           : sf.f_type == 0x794c7630 ? "overlayfs"
                                                     : NULL;
        if (type)
            snprintf(m->fs, sizeof(m->fs), "%s", type);
        else
            snprintf(m->fs, sizeof(m->fs), "type %#lx", (unsigned long)sf.f_type);
    }
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    snprintf(m->zmq, sizeof(m->zmq), "%d.%d.%d", major, minor, patch);
    snprintf(m->protobuf_c, sizeof(m->protobuf_c), "%s", protobuf_c_version());
    snprintf(m->lmdb, sizeof(m->lmdb), "%s", mdb_version(NULL, NULL, NULL));
    snprintf(m->git, sizeof(m->git), "unknown");
    if (DOUDI_SOURCE_DIR[0]) {
        char cmd[PATH_MAX + 128];
        snprintf(cmd, sizeof(cmd), "git -C '%s' rev-parse --short=12 HEAD 2>/dev/null",
                 DOUDI_SOURCE_DIR);
        FILE *p = popen(cmd, "r");
        if (p && fgets(line, sizeof(line), p)) {
            trim_newline(line);
            snprintf(m->git, sizeof(m->git), "%.64s", line);
        }
        if (p)
            pclose(p);
        snprintf(cmd, sizeof(cmd),
                 "git -C '%s' status --porcelain --untracked-files=no 2>/dev/null | head -1",
                 DOUDI_SOURCE_DIR);
        p = popen(cmd, "r");
        if (p && fgets(line, sizeof(line), p) && line[0] && strcmp(m->git, "unknown") != 0)
            strncat(m->git, " (uncommitted changes)", sizeof(m->git) - strlen(m->git) - 1);
        if (p)
            pclose(p);
    }
}

/* ------------------------------------------------------------------------ */
/* Report                                                                    */
/* ------------------------------------------------------------------------ */

/* v with the given decimals and suffix; "-" when v is NAN (not measured). */
static void fmt_num(char *out, size_t cap, double v, int decimals, const char *suffix)
{
    if (v != v)
        snprintf(out, cap, "-");
    else
        snprintf(out, cap, "%.*f%s", decimals, v, suffix);
}

/* 1234567 -> "1,234,567" */
static void fmt_count(char *out, size_t cap, double v)
{
    char digits[32];
    snprintf(digits, sizeof(digits), "%.0f", v);
    size_t n = strlen(digits), w = 0;
    for (size_t i = 0; i < n && w + 2 < cap; i++) {
        out[w++] = digits[i];
        if ((n - i - 1) % 3 == 0 && i + 1 < n)
            out[w++] = ',';
    }
    out[w] = '\0';
}

static char started_at[64];

static void print_table(const machine *m, const char *intake_path)
{
    printf("\ndoudi intake benchmark\n");
    printf("  machine   %ld CPUs, %s, %s, %s\n", m->nproc, m->cpu, m->memory, m->kernel);
    printf("  disk      %s (temporary directories under %s)\n", m->fs, opt.dir);
    printf("  libraries libzmq %s, protobuf-c %s, %s\n", m->zmq, m->protobuf_c, m->lmdb);
    printf("  source    git %s; intake %s\n", m->git, intake_path);
    printf("  workload  %zu events per configuration, window %zu requests per portal\n", opt.events,
           opt.window);
    if (event_sizes.count > 0)
        printf("  events    PersonReported and VisitReport, %.0f B mean encoded (%zu..%zu); "
               "lmdb values %d B\n",
               event_sizes.bytes / event_sizes.count, event_sizes.min, event_sizes.max,
               LMDB_VALUE_BYTES);
    printf("  started   %s\n\n", started_at);

    printf("%-24s %11s %9s %7s %8s %8s %9s %9s %7s %7s %7s %8s %8s %8s\n", "configuration",
           "events/s", "CPU us/ev", "usr", "p50 ms", "p99 ms", "ev/commit", "commit ms", "CPU in",
           "CPU b", "CPU oth", "/rt-rep", "/echo", "/lmdb");
    printf("%-24s %11s %9s %7s %8s %8s %9s %9s %7s %7s %7s %8s %8s %8s\n", "-------------",
           "--------", "---------", "---", "------", "------", "---------", "---------", "------",
           "-----", "-------", "-------", "-----", "-----");
    size_t last_portals = 0, last_batch = 0;
    bool last_lmdb = false;
    for (size_t i = 0; i < nresults; i++) {
        const result *r = &results[i];
        char name[64], evs[32], cpe[16], usr[16], p50[16], p99[16], cin[16], cb[16], co[16],
            epc[16], cms[16], v1[16], v2[16], v3[16];
        bool fetch = strcmp(r->target, "fetch") == 0;
        if (strcmp(r->target, "lmdb") == 0)
            snprintf(name, sizeof(name), "lmdb append  batch %zu", r->batch);
        else if (fetch)
            snprintf(name, sizeof(name), "fetch    %zu%s", r->batch,
                     r->kinds ? " kinds" : "");
        else
            snprintf(name, sizeof(name), "%-8s %zup x %zu w%zu", r->target, r->portals, r->batch,
                     r->window);
        bool lmdb = strcmp(r->target, "lmdb") == 0;
        if (i > 0 && !fetch &&
            (lmdb || (!last_lmdb && (r->portals != last_portals || r->batch != last_batch))))
            printf("\n");
        if (!fetch) {
            last_portals = r->portals;
            last_batch = r->batch;
        }
        last_lmdb = lmdb;
        fmt_count(evs, sizeof(evs), r->events_per_s);
        fmt_num(cpe, sizeof(cpe), r->cpu_us_per_event, 2, "");
        fmt_num(usr, sizeof(usr), r->user_us_per_event, 2, "");
        fmt_num(p50, sizeof(p50), r->p50_ms, 2, "");
        fmt_num(p99, sizeof(p99), r->p99_ms, 2, "");
        fmt_num(cin, sizeof(cin), r->intake_cpu_pct, 0, "%");
        fmt_num(cb, sizeof(cb), r->bench_cpu_pct, 0, "%");
        fmt_num(co, sizeof(co), r->other_cpu_pct, 0, "%");
        fmt_num(epc, sizeof(epc), r->events_per_commit, 0, "");
        fmt_num(cms, sizeof(cms), r->commit_ms, 2, "");
        fmt_num(v1, sizeof(v1), r->vs_rt_reply, 2, "");
        fmt_num(v2, sizeof(v2), r->vs_echo, 2, "");
        fmt_num(v3, sizeof(v3), r->vs_lmdb, 2, "");
        printf("%-24s %11s %9s %7s %8s %8s %9s %9s %7s %7s %7s %8s %8s %8s\n", name, evs, cpe,
               usr, p50, p99, epc, cms, cin, cb, co, v1, v2, v3);
    }

    const result *best = NULL;
    for (size_t i = 0; i < nresults; i++)
        if (strcmp(results[i].target, "intake") == 0 &&
            (!best || results[i].events_per_s > best->events_per_s))
            best = &results[i];
    printf("\n  events/s  events acknowledged ACCEPTED per second (for lmdb: puts committed)\n"
           "  CPU us/ev CPU time of doudi-intake per accepted event (lmdb: of the appends)\n"
           "  usr       the user-space part of CPU us/ev (the rest is the kernel's)\n"
           "  p50/p99   publish-to-ack latency of one request (lmdb: one commit)\n"
           "  CPU in/b  CPU of the doudi-intake process / of this bench process, %% of one core\n"
           "  CPU oth   CPU every other process on the machine used meanwhile (noise), %% of one core\n"
           "  ev/commit events per group commit, from intake's own metrics\n"
           "  commit ms mean time of one group commit (judge, append, fsync), intake's metrics\n"
           "  /rt-rep, /echo, /lmdb  intake's events/s divided by that baseline's "
           "(same portals, batch, window; lmdb: same batch)\n"
           "  fetch N   the log just written read back by one consumer, N records per fetch:\n"
           "            records/s, intake's CPU per record, time of one fetch, records per reply\n");
    if (best) {
        char evs[32];
        fmt_count(evs, sizeof(evs), best->events_per_s);
        printf("\nbest intake configuration: %zu portal%s x %zu events: %s events/s; target %s "
               "events/s: %s\n",
               best->portals, best->portals == 1 ? "" : "s", best->batch, evs, "250,000",
               best->events_per_s >= TARGET_EVENTS_PER_S ? "MET" : "NOT MET");
    }
}

static void write_json(const char *path, const machine *m, const char *intake_path)
{
    json_t *root = json_object();
    json_object_set_new(root, "benchmark", json_string("intake_bench"));
    json_t *mj = json_object();
    json_object_set_new(mj, "nproc", json_integer(m->nproc));
    json_object_set_new(mj, "cpu_model", json_string(m->cpu));
    json_object_set_new(mj, "kernel", json_string(m->kernel));
    json_object_set_new(mj, "memory", json_string(m->memory));
    json_object_set_new(mj, "filesystem", json_string(m->fs));
    json_object_set_new(mj, "libzmq", json_string(m->zmq));
    json_object_set_new(mj, "protobuf_c", json_string(m->protobuf_c));
    json_object_set_new(mj, "lmdb", json_string(m->lmdb));
    json_object_set_new(root, "machine", mj);
    json_object_set_new(root, "git", json_string(m->git));
    json_object_set_new(root, "intake_binary", json_string(intake_path));
    json_object_set_new(root, "started_at", json_string(started_at));
    if (event_sizes.count > 0) {
        json_t *ej = json_object();
        json_object_set_new(ej, "mean_bytes", json_real(event_sizes.bytes / event_sizes.count));
        json_object_set_new(ej, "min_bytes", json_integer((json_int_t)event_sizes.min));
        json_object_set_new(ej, "max_bytes", json_integer((json_int_t)event_sizes.max));
        json_object_set_new(root, "events", ej);
    }
    json_t *oj = json_object();
    json_object_set_new(oj, "events_per_configuration", json_integer((json_int_t)opt.events));
    json_object_set_new(oj, "window", json_integer((json_int_t)opt.window));
    json_object_set_new(oj, "quick", json_boolean(opt.quick));
    json_object_set_new(root, "options", oj);
    json_t *arr = json_array();
    for (size_t i = 0; i < nresults; i++) {
        const result *r = &results[i];
        json_t *o = json_object();
        json_object_set_new(o, "target", json_string(r->target));
        json_object_set_new(o, "portals", json_integer((json_int_t)r->portals));
        json_object_set_new(o, "batch", json_integer((json_int_t)r->batch));
        json_object_set_new(o, "window", json_integer((json_int_t)r->window));
        if (strcmp(r->target, "fetch") == 0)
            json_object_set_new(o, "fetch_kinds", json_integer((json_int_t)r->kinds));
        json_object_set_new(o, "events", json_integer((json_int_t)r->events));
        json_object_set_new(o, "requests", json_integer((json_int_t)r->requests));
        json_object_set_new(o, "seconds", json_real(r->seconds));
        json_object_set_new(o, "events_per_s", json_real(r->events_per_s));
        json_object_set_new(o, "requests_per_s", json_real(r->requests_per_s));
        json_object_set_new(o, "latency_p50_ms", json_real(r->p50_ms));
        json_object_set_new(o, "latency_p99_ms", json_real(r->p99_ms));
        json_object_set_new(o, "latency_max_ms", json_real(r->max_ms));
        json_object_set_new(o, "latency_mean_ms", json_real(r->mean_ms));
#define OPTIONAL(key, v) json_object_set_new(o, key, (v) == (v) ? json_real(v) : json_null())
        OPTIONAL("intake_cpu_pct", r->intake_cpu_pct);
        OPTIONAL("bench_cpu_pct", r->bench_cpu_pct);
        OPTIONAL("other_cpu_pct", r->other_cpu_pct);
        OPTIONAL("cpu_us_per_event", r->cpu_us_per_event);
        OPTIONAL("user_us_per_event", r->user_us_per_event);
        OPTIONAL("events_per_commit", r->events_per_commit);
        OPTIONAL("requests_per_commit", r->requests_per_commit);
        OPTIONAL("commit_ms_mean", r->commit_ms);
        OPTIONAL("ratio_vs_rt_reply", r->vs_rt_reply);
        OPTIONAL("ratio_vs_echo", r->vs_echo);
        OPTIONAL("ratio_vs_lmdb", r->vs_lmdb);
        OPTIONAL("mean_event_bytes", r->mean_event_bytes);
        OPTIONAL("mean_request_bytes", r->mean_request_bytes);
#undef OPTIONAL
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "results", arr);
    if (json_dump_file(root, path, JSON_INDENT(2)) != 0)
        fail("cannot write %s", path);
    json_decref(root);
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */
/* ------------------------------------------------------------------------ */

static void usage(FILE *out)
{
    fprintf(out,
"usage: intake_bench [options] [PATH-TO-doudi-intake]\n"
"\n"
"Measures doudi-intake's durable throughput and publish-to-ack latency with\n"
"1, 2 and 4 portals and batches of 100 and 1000 events, and the baselines it\n"
"is compared with (ZeroMQ echo, decode-and-reply without storage, LMDB\n"
"synced appends), all in one run. See bench/README.md.\n"
"\n"
"  -q, --quick          a short run: 40000 events per configuration\n"
"  -n, --events N       measured events per configuration (default 400000)\n"
"  -w, --window N       outstanding requests per portal (default 4)\n"
"  -p, --portals LIST   portal counts, e.g. 1,2,4 (default)\n"
"  -b, --batches LIST   events per request, e.g. 100,1000 (default)\n"
"  -d, --dir DIR        where temporary data directories go (default $TMPDIR\n"
"                       or /tmp; it must be on the disk under test)\n"
"  -j, --json FILE      also write the results as JSON\n"
"  -t, --timeout S      longest wait for one reply (default 30)\n"
"  -k, --keep           keep the temporary directories\n"
"  -T, --targets LIST   what to measure, of lmdb,echo,rt-reply,intake (default\n"
"                       all; ratios need the baselines)\n"
"  -f, --fetch N        after each intake configuration, read its whole log\n"
"                       back in fetches of N records, as eligibility does\n"
"                       (default 50000; 0: do not)\n"
"  -K, --fetch-kinds L  name these record kinds in the fetches, e.g. 10 (the\n"
"                       events are kinds 10 and 16 in equal numbers)\n"
"  -h, --help           this text\n"
"\n"
"Without PATH, doudi-intake is taken from the directory of this binary.\n");
}

static size_t parse_list(const char *text, size_t *out, const char *what)
{
    size_t n = 0;
    char *copy = dd_strdup(text), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        unsigned long v = strtoul(tok, &end, 10);
        if (*end || v == 0 || v > 100000 || n == MAX_LIST)
            fail("bad %s list '%s'", what, text);
        out[n++] = v;
    }
    free(copy);
    if (!n)
        fail("empty %s list", what);
    return n;
}

static unsigned parse_targets(const char *text)
{
    unsigned mask = 0;
    char *copy = dd_strdup(text), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        unsigned k = 0;
        while (k <= T_LMDB && strcmp(tok, target_names[k]) != 0)
            k++;
        if (k > T_LMDB)
            fail("unknown target '%s' (lmdb, echo, rt-reply, intake)", tok);
        mask |= 1u << k;
    }
    free(copy);
    if (!mask)
        fail("no target");
    return mask;
}

static size_t parse_size(const char *text, const char *what)
{
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end || v == 0 || v > 100000000ULL)
        fail("bad %s '%s'", what, text);
    return (size_t)v;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"quick", no_argument, NULL, 'q'},         {"events", required_argument, NULL, 'n'},
        {"window", required_argument, NULL, 'w'},  {"portals", required_argument, NULL, 'p'},
        {"batches", required_argument, NULL, 'b'}, {"dir", required_argument, NULL, 'd'},
        {"json", required_argument, NULL, 'j'},    {"timeout", required_argument, NULL, 't'},
        {"keep", no_argument, NULL, 'k'},          {"help", no_argument, NULL, 'h'},
        {"targets", required_argument, NULL, 'T'},
        {"fetch", required_argument, NULL, 'f'},   {"fetch-kinds", required_argument, NULL, 'K'},
        {NULL, 0, NULL, 0},
    };
    bool events_set = false;
    int o;
    while ((o = getopt_long(argc, argv, "qn:w:p:b:d:j:t:kT:f:K:h", longopts, NULL)) != -1) {
        switch (o) {
        case 'q': opt.quick = true; break;
        case 'n': opt.events = parse_size(optarg, "event count"); events_set = true; break;
        case 'w': opt.window = parse_size(optarg, "window"); break;
        case 'p': opt.nportals = parse_list(optarg, opt.portals, "portal"); break;
        case 'b': opt.nbatches = parse_list(optarg, opt.batches, "batch"); break;
        case 'd': opt.dir = optarg; break;
        case 'j': opt.json = optarg; break;
        case 't': opt.timeout_s = (int)parse_size(optarg, "timeout"); break;
        case 'k': opt.keep = true; break;
        case 'T': opt.targets = parse_targets(optarg); break;
        case 'f':
            opt.fetch_records = strcmp(optarg, "0") == 0 ? 0 : parse_size(optarg, "fetch size");
            break;
        case 'K': {
            size_t kinds[MAX_LIST];
            opt.nfetch_kinds = parse_list(optarg, kinds, "kind");
            for (size_t i = 0; i < opt.nfetch_kinds; i++)
                opt.fetch_kinds[i] = (uint32_t)kinds[i];
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (opt.quick && !events_set)
        opt.events = 40000;
    for (size_t i = 0; i < opt.nbatches; i++)
        if (opt.batches[i] > 1000)
            fail("intake refuses requests of more than 1000 events (max_events_per_request)");
    if (opt.window > 1000)
        fail("window %zu is beyond the ZeroMQ high-water marks", opt.window);

    /* doudi-intake: the argument, else next to this binary. */
    static char intake_path[PATH_MAX];
    if (optind < argc) {
        snprintf(intake_path, sizeof(intake_path), "%s", argv[optind]);
    } else {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
            fail("cannot find this binary's directory; pass the path of doudi-intake");
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        *slash = '\0';
        path_join(intake_path, sizeof(intake_path), self, "doudi-intake");
    }
    if (access(intake_path, X_OK) != 0)
        fail("%s: %s (pass the path of doudi-intake)", intake_path, strerror(errno));
    opt.intake = intake_path;

    if (!opt.dir)
        opt.dir = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
    snprintf(run_dir, sizeof(run_dir), "%s/intake_bench.XXXXXX", opt.dir);
    if (!mkdtemp(run_dir)) {
        int err = errno;
        run_dir[0] = '\0';
        fail("mkdtemp in %s: %s", opt.dir, strerror(err));
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    machine m;
    read_machine(&m, run_dir);
    time_t t = time(NULL);
    struct tm tm;
    strftime(started_at, sizeof(started_at), "%Y-%m-%dT%H:%M:%S%z", localtime_r(&t, &tm));
    fprintf(stderr, "intake_bench: %zu events per configuration, window %zu, in %s\n", opt.events,
            opt.window, run_dir);

    uint32_t run_id = (uint32_t)(wall_ms() ^ ((uint64_t)getpid() << 16));
    char path[PATH_MAX];
    void *zctx = zmq_ctx_new();
    uint16_t config_id = 0;
    for (size_t b = 0; b < opt.nbatches; b++) {
        /* Each batch size's LMDB baseline right before the configurations
         * compared with it: neighbours on a shared machine come and go. */
        if (opt.targets & (1u << T_LMDB)) {
            char name[64];
            snprintf(name, sizeof(name), "lmdb-%zu", opt.batches[b]);
            path_join(path, sizeof(path), run_dir, name);
            fprintf(stderr, "  lmdb append, batch %zu\n", opt.batches[b]);
            run_lmdb(opt.batches[b], path);
        }
        for (size_t p = 0; p < opt.nportals; p++) {
            workload w;
            build_workload(&w, opt.portals[p], opt.batches[b], run_id, ++config_id);
            event_sizes.bytes += w.mean_event_bytes * (double)w.total_events;
            event_sizes.count += (double)w.total_events;
            if (w.min_event_bytes < event_sizes.min)
                event_sizes.min = w.min_event_bytes;
            if (w.max_event_bytes > event_sizes.max)
                event_sizes.max = w.max_event_bytes;
            /* Back to back, so that each ratio compares measurements taken
             * seconds apart. */
            for (int k = T_ECHO; k <= T_INTAKE; k++) {
                if (!(opt.targets & (1u << k)))
                    continue;
                fprintf(stderr, "  %-8s %zu portals x %zu events (%zu requests, %.0f B each)\n",
                        target_names[k], w.portals, w.batch, w.portals * w.nreq,
                        w.mean_request_bytes);
                char name[64];
                snprintf(name, sizeof(name), "intake-%zup-%zu", w.portals, w.batch);
                path_join(path, sizeof(path), run_dir, name);
                run_target((target_kind)k, &w, path, zctx);
            }
            free_workload(&w);
        }
    }
    zmq_ctx_term(zctx);

    for (size_t i = 0; i < nresults; i++) {
        result *r = &results[i];
        if (strcmp(r->target, "intake") != 0)
            continue;
        const result *rt = find_result("rt-reply", r->portals, r->batch);
        const result *echo = find_result("echo", r->portals, r->batch);
        const result *lm = find_result("lmdb", 1, r->batch);
        if (rt)
            r->vs_rt_reply = r->events_per_s / rt->events_per_s;
        if (echo)
            r->vs_echo = r->events_per_s / echo->events_per_s;
        if (lm)
            r->vs_lmdb = r->events_per_s / lm->events_per_s;
    }
    print_table(&m, intake_path);
    if (opt.json) {
        write_json(opt.json, &m, intake_path);
        printf("results written to %s\n", opt.json);
    }
    if (!opt.keep)
        remove_tree(run_dir);
    return 0;
}
