/*
 * alerts_fanout.c: how fast doudi-alerts fans its alert stream out to many
 * live subscribers, and how fast a subscriber catches up by replay.
 *
 * Every part is the real one:
 *   - the upstream is a log of this process (common/log.h: an LMDB
 *     environment with fully synced commits, served over the fetch
 *     protocol by its own thread, loop and ZeroMQ context, as another
 *     daemon would), holding Alert records (kind 102, eligibility.proto)
 *     with distinct subjects in 108 villages of three cities;
 *   - doudi-alerts itself (found next to this program, or --daemon) is a
 *     child process with a fresh data directory and free loopback ports;
 *     everything but the ports, the PUB high-water mark and the heartbeat
 *     interval keeps its default (fsync on);
 *   - --subscribers SUB sockets (RCVHWM --hwm) subscribe to prefixes of
 *     every level (province 44, cities, counties, townships, villages) and
 *     fill every gap they see from the replay endpoint, each with a DEALER
 *     of its own, asynchronously (the Clone pattern, as doudictl alerts
 *     tail does): one thread polls them all.
 *
 * Phases:
 *   1. throughput: --alerts records are appended to the upstream as fast as
 *      it commits (--batch records per commit); the run ends when every
 *      subscriber holds its prefix's stream up to the last one;
 *   2. latency: --latency-alerts more at --latency-rate alerts/s, a load
 *      the daemon keeps up with, so the delivery latency is that of one
 *      alert and not the time it waited behind a backlog;
 *   3. replay: one client fetches the whole stream from sequence 0 over the
 *      replay endpoint, then one city's share of it.
 *
 * Every entry a subscriber takes is checked: its sequence is the upstream
 * sequence of the alert that caused it (one stream record per alert: no
 * merges, no escalations in this workload), its region is the one that
 * alert was generated with, and it belongs to the subscriber's prefix. A
 * subscriber is complete when it holds as many entries as its prefix has,
 * the last one included; since it takes only increasing sequences, that is
 * exactly its prefix's stream, in order, once. Anything missing at the end,
 * any entry that fails a check: the exit status is 1.
 *
 * Latency: from the upstream commit of the alert's record (taken in a store
 * participant, before the log can answer a fetch with it) to the moment
 * the subscriber takes the entry, live or replayed: the upstream fetch,
 * the daemon's synced commit, PUB/SUB (or the replay) and the subscriber's
 * own queue.
 */
#include "alloc.h"
#include "clock.h"
#include "diag.h"
#include "error.h"
#include "evzmq.h"
#include "idnum.h"
#include "log.h"
#include "store.h"

#include "doudi/alerts.pb-c.h"
#include "doudi/eligibility.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <lmdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define EVENT_T0_MS INT64_C(1780000000000) /* 2026-05-28: event time of the first alert */
#define REPLY_TIMEOUT_NS (5 * INT64_C(1000000000))

typedef struct options {
    uint64_t alerts, latency_alerts, latency_rate;
    size_t subscribers;
    int hwm, heartbeat_ms;
    uint32_t batch;
    double timeout_s;
    const char *dir, *daemon;
    bool keep;
} options;

static options opt = {
    .alerts = 100000,
    .latency_alerts = 5000,
    .latency_rate = 2000,
    .subscribers = 100,
    .hwm = 10000, /* the daemon's own default send_hwm */
    .heartbeat_ms = 1000,
    .batch = 1000,
    .timeout_s = 120,
};

/* ------------------------------------------------------------------------ */
/* Failure: the child never outlives us, the run directory goes with us      */
/* ------------------------------------------------------------------------ */

static volatile pid_t child_pid;
static char run_dir[PATH_MAX];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_run_dir(void)
{
    if (!run_dir[0])
        return;
    if (opt.keep)
        fprintf(stderr, "alerts_fanout: kept %s\n", run_dir);
    else
        nftw(run_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "alerts_fanout: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    pid_t pid = child_pid;
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        child_pid = 0;
    }
    remove_run_dir();
    exit(1);
}

/* Only async-signal-safe calls. */
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

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static double seconds(int64_t ns)
{
    return (double)ns / 1e9;
}

/* splitmix64: the same workload on every machine. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* ------------------------------------------------------------------------ */
/* The province: 3 cities x 3 counties x 3 townships x 4 villages            */
/* ------------------------------------------------------------------------ */

#define NVILLAGES 108
static char villages[NVILLAGES][13];

static void make_villages(void)
{
    static const char *const cities[] = {"4401", "4403", "4406"};
    static const char *const counties[] = {"03", "04", "06"};
    static const char *const townships[] = {"001", "002", "101"};
    size_t n = 0;
    for (size_t c = 0; c < 3; c++)
        for (size_t k = 0; k < 3; k++)
            for (size_t t = 0; t < 3; t++)
                for (int v = 1; v <= 4; v++)
                    snprintf(villages[n++], 13, "%s%s%s%03d", cities[c], counties[k],
                             townships[t], v);
}

static void person_id(uint64_t n, char out[19])
{
    int year = 1940 + (int)(n % 60), month = 1 + (int)(n / 60 % 12), day = 1 + (int)(n / 720 % 28);
    snprintf(out, 19, "440106%04d%02d%02d%03d", year, month, day, (int)(n / 20160 % 1000));
    out[17] = dd_idnum_check_char(out);
    out[18] = '\0';
}

/* ------------------------------------------------------------------------ */
/* The workload: every alert encoded before the clock starts                  */
/* ------------------------------------------------------------------------ */

typedef struct workload {
    uint64_t n;
    uint8_t *region;  /* village index of alert i (upstream sequence i + 1) */
    uint8_t *bytes;   /* encoded Alerts, back to back */
    size_t *offset;   /* n + 1 offsets into bytes */
} workload;

static void build_workload(workload *w, uint64_t n)
{
    w->n = n;
    w->region = dd_malloc(n);
    w->offset = dd_malloc((n + 1) * sizeof(size_t));
    size_t cap = (size_t)n * 200 + 1024, used = 0;
    w->bytes = dd_malloc(cap);
    uint64_t seed = 20260528;
    char person[19], household[24], reason[96];
    for (uint64_t i = 0; i < n; i++) {
        uint8_t v = (uint8_t)(rng_next(&seed) % NVILLAGES);
        w->region[i] = v;
        person_id(i, person);
        snprintf(household, sizeof(household), "hh-%08" PRIu64, i);
        snprintf(reason, sizeof(reason), "自付医疗费用高 / large self-payment, case %" PRIu64, i);
        Doudi__Alert a = DOUDI__ALERT__INIT;
        a.kind = DOUDI__ALERT_KIND__ALERT_KIND_RISK;
        a.severity = DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING;
        a.subject_person_id = person;
        a.household_id = household;
        a.region_code = villages[v];
        a.risk_kind = DOUDI__RISK_KIND__RISK_KIND_LARGE_MEDICAL_SELF_PAY;
        a.reason = reason;
        /* 1 ms apart: the whole run is minutes of event time, far inside
         * every handling window, so nothing escalates. */
        a.raised_at_ms = EVENT_T0_MS + (int64_t)i;
        a.origin_sequence = i + 1;
        size_t len = doudi__alert__get_packed_size(&a);
        if (used + len > cap) {
            cap = cap * 2 + len;
            w->bytes = dd_realloc(w->bytes, cap);
        }
        w->offset[i] = used;
        used += doudi__alert__pack(&a, w->bytes + used);
    }
    w->offset[n] = used;
}

static void free_workload(workload *w)
{
    free(w->region);
    free(w->bytes);
    free(w->offset);
}

/* ------------------------------------------------------------------------ */
/* The upstream: a real log, served by its own thread                         */
/* ------------------------------------------------------------------------ */

typedef struct upstream {
    pthread_t thread;
    struct ev_loop *loop;
    void *zctx;
    dd_store *store;
    dd_log *log;
    ev_async wake;
    ev_timer tick;
    ev_idle more;
    const workload *w;
    uint32_t batch;
    /* Set by the main thread before it raises target (release). */
    uint64_t rate, phase_base;
    int64_t phase_start_ns;
    _Atomic uint64_t target;
    _Atomic bool stop;
    _Atomic int error;
    /* The producer's own. */
    uint64_t appended, seen_target, pending_first, pending_end, commits;
    int64_t commit_ns_total;
    _Atomic int64_t *commit_ns; /* per upstream sequence - 1 */
} upstream;

static int append_fn(MDB_txn *txn, void *arg)
{
    upstream *u = arg;
    for (uint64_t i = u->pending_first; i < u->pending_end; i++) {
        const uint8_t *p = u->w->bytes + u->w->offset[i];
        size_t len = u->w->offset[i + 1] - u->w->offset[i];
        int rc = dd_log_append(u->log, txn, DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_ALERT,
                               EVENT_T0_MS + (int64_t)i, p, len, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

/* Runs before the log's own participant: the time is there before any
 * fetch can return these records. */
static void upstream_committed(void *arg)
{
    upstream *u = arg;
    int64_t now = dd_monotonic_ns();
    for (uint64_t i = u->pending_first; i < u->pending_end; i++)
        atomic_store_explicit(&u->commit_ns[i], now, memory_order_release);
}

static void upstream_aborted(void *arg)
{
    (void)arg;
}

/* One commit of up to batch records, if the phase allows any now. */
static void produce(upstream *u)
{
    uint64_t target = atomic_load_explicit(&u->target, memory_order_acquire);
    if (target != u->seen_target)
        u->seen_target = target;
    uint64_t allowed = target;
    if (u->rate) {
        double elapsed = seconds(dd_monotonic_ns() - u->phase_start_ns);
        uint64_t paced = u->phase_base + (uint64_t)(elapsed * (double)u->rate);
        if (paced < allowed)
            allowed = paced;
    }
    if (u->appended >= allowed) {
        ev_idle_stop(u->loop, &u->more);
        return;
    }
    u->pending_first = u->appended;
    u->pending_end = u->appended + (allowed - u->appended < u->batch ? allowed - u->appended : u->batch);
    int64_t start = dd_monotonic_ns();
    int rc = dd_store_write(u->store, append_fn, u);
    u->commit_ns_total += dd_monotonic_ns() - start;
    if (rc) {
        atomic_store(&u->error, rc);
        ev_break(u->loop, EVBREAK_ALL);
        return;
    }
    u->commits++;
    u->appended = u->pending_end;
    ev_idle_start(u->loop, &u->more);
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    produce(t->data);
}

static void more_cb(struct ev_loop *loop, ev_idle *i, int revents)
{
    (void)loop;
    (void)revents;
    produce(i->data);
}

static void wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)revents;
    upstream *u = a->data;
    if (atomic_load(&u->stop)) {
        dd_log_release_parked(u->log);
        ev_break(loop, EVBREAK_ALL);
    } else {
        produce(u);
    }
}

static void *upstream_main(void *arg)
{
    upstream *u = arg;
    ev_run(u->loop, 0);
    return NULL;
}

static void upstream_start(upstream *u, const workload *w, const char *dir, const char *endpoint)
{
    memset(u, 0, sizeof(*u));
    u->w = w;
    u->batch = opt.batch;
    u->commit_ns = dd_calloc(w->n, sizeof(*u->commit_ns));
    dd_store_options so = {0};
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/upstream", dir) >= (int)sizeof(path))
        fail("the run directory's path is too long");
    int rc = dd_store_open(path, &so, &u->store);
    if (rc)
        fail("cannot open the upstream store in %s: %s", path, dd_strerror(rc));
    dd_store_participant p = {upstream_committed, upstream_aborted, u};
    dd_store_add_participant(u->store, &p);
    dd_log_options lo = {.max_records = 10000};
    if ((rc = dd_log_open(u->store, &lo, NULL, &u->log)) != 0)
        fail("cannot open the upstream log: %s", dd_strerror(rc));
    u->loop = ev_loop_new(EVFLAG_AUTO);
    u->zctx = zmq_ctx_new();
    if ((rc = dd_log_serve(u->log, u->loop, u->zctx, endpoint)) != 0)
        fail("cannot serve the upstream log on %s: %s", endpoint, dd_strerror(rc));
    ev_async_init(&u->wake, wake_cb);
    u->wake.data = u;
    ev_async_start(u->loop, &u->wake);
    ev_timer_init(&u->tick, tick_cb, 0.002, 0.002);
    u->tick.data = u;
    ev_timer_start(u->loop, &u->tick);
    ev_idle_init(&u->more, more_cb);
    u->more.data = u;
    if (pthread_create(&u->thread, NULL, upstream_main, u) != 0)
        fail("cannot start the upstream thread");
}

/* Lets the producer append up to `target` records, at `rate` per second
 * (0: as fast as it commits). */
static void upstream_release(upstream *u, uint64_t target, uint64_t rate)
{
    u->rate = rate;
    u->phase_base = atomic_load(&u->target);
    u->phase_start_ns = dd_monotonic_ns();
    atomic_store_explicit(&u->target, target, memory_order_release);
    ev_async_send(u->loop, &u->wake);
}

static void upstream_stop(upstream *u)
{
    atomic_store(&u->stop, true);
    ev_async_send(u->loop, &u->wake);
    pthread_join(u->thread, NULL);
    ev_timer_stop(u->loop, &u->tick);
    ev_idle_stop(u->loop, &u->more);
    ev_async_stop(u->loop, &u->wake);
    dd_log_close(&u->log);
    zmq_ctx_term(u->zctx);
    dd_store_close(&u->store);
    ev_loop_destroy(u->loop);
    free(u->commit_ns);
}

/* ------------------------------------------------------------------------ */
/* The doudi-alerts child                                                     */
/* ------------------------------------------------------------------------ */

typedef struct daemon_proc {
    pid_t pid;
    int metrics_port;
    char config[PATH_MAX], stderr_path[PATH_MAX];
    char live[64], requests[64];
} daemon_proc;

static void free_ports(int *ports, int n)
{
    int fds[8];
    for (int i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, sizeof(a)) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&a, &len) != 0)
            fail("cannot find a free loopback port: %s", strerror(errno));
        ports[i] = ntohs(a.sin_port);
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

static void show_child_stderr(const daemon_proc *d)
{
    FILE *f = fopen(d->stderr_path, "r");
    if (!f)
        return;
    char line[1024];
    fprintf(stderr, "--- %s (doudi-alerts stderr) ---\n", d->stderr_path);
    while (fgets(line, sizeof(line), f))
        fputs(line, stderr);
    fclose(f);
}

static void *dealer(void *zctx, const char *endpoint)
{
    void *s = zmq_socket(zctx, ZMQ_DEALER);
    int zero = 0, hwm = 0;
    int64_t max = 64 << 20;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof(max));
    if (zmq_connect(s, endpoint) != 0)
        fail("cannot connect to %s: %s", endpoint, zmq_strerror(errno));
    return s;
}

static void send_replay(void *sock, uint64_t id, const char *prefix, uint64_t after)
{
    Doudi__ReplayRequest rq = DOUDI__REPLAY_REQUEST__INIT;
    rq.region_prefix = (char *)prefix;
    rq.after_sequence = after;
    Doudi__AlertsRequest q = DOUDI__ALERTS_REQUEST__INIT;
    q.request_id = id;
    q.request_case = DOUDI__ALERTS_REQUEST__REQUEST_REPLAY;
    q.replay = &rq;
    uint8_t buf[128];
    size_t len = doudi__alerts_request__pack(&q, buf);
    if (zmq_send(sock, buf, len, ZMQ_DONTWAIT) < 0)
        fail("cannot send a replay request: %s", zmq_strerror(errno));
}

/* The AlertsReply with this id from sock within timeout_ms, or NULL. */
static Doudi__AlertsReply *recv_reply(void *sock, uint64_t id, int timeout_ms, size_t *bytes)
{
    int64_t deadline = dd_monotonic_ns() + (int64_t)timeout_ms * 1000000;
    while (dd_monotonic_ns() < deadline) {
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 20) <= 0)
            continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            continue;
        }
        Doudi__AlertsReply *r = doudi__alerts_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        if (bytes)
            *bytes = zmq_msg_size(&m);
        zmq_msg_close(&m);
        if (r && r->request_id == id)
            return r;
        if (r)
            doudi__alerts_reply__free_unpacked(r, NULL);
    }
    return NULL;
}

static void daemon_start(daemon_proc *d, const char *dir, const char *upstream_ep, int ports[4],
                         void *zctx)
{
    memset(d, 0, sizeof(*d));
    if (snprintf(d->config, sizeof(d->config), "%s/alerts.ini", dir) >= (int)sizeof(d->config) ||
        snprintf(d->stderr_path, sizeof(d->stderr_path), "%s/alerts.stderr", dir) >=
            (int)sizeof(d->stderr_path))
        fail("the run directory's path is too long");
    snprintf(d->live, sizeof(d->live), "tcp://127.0.0.1:%d", ports[0]);
    snprintf(d->requests, sizeof(d->requests), "tcp://127.0.0.1:%d", ports[1]);
    d->metrics_port = ports[3];
    FILE *f = fopen(d->config, "w");
    if (!f)
        fail("cannot write %s: %s", d->config, strerror(errno));
    fprintf(f,
            "# written by alerts_fanout; every other key has its default (fsync on)\n"
            "[alerts]\n"
            "data_dir = %s/alerts\n"
            "live_endpoint = %s\n"
            "request_endpoint = %s\n"
            "log_endpoint = tcp://127.0.0.1:%d\n"
            "metrics_listen = 127.0.0.1:%d\n"
            "log_level = warn\n"
            "[upstream]\n"
            "endpoint = %s\n"
            "[live]\n"
            "send_hwm = %d\n"
            "heartbeat_interval = %dms\n",
            dir, d->live, d->requests, ports[2], ports[3], upstream_ep, opt.hwm,
            opt.heartbeat_ms);
    fclose(f);
    pid_t pid = fork();
    if (pid < 0)
        fail("fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(d->stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(opt.daemon, "doudi-alerts", "-c", d->config, (char *)NULL);
        _exit(127);
    }
    d->pid = child_pid = pid;
    /* Serving once it answers a replay request. */
    void *s = dealer(zctx, d->requests);
    int64_t deadline = dd_monotonic_ns() + 15 * INT64_C(1000000000);
    for (uint64_t id = 1; dd_monotonic_ns() < deadline; id++) {
        send_replay(s, id, "", UINT64_MAX / 4);
        Doudi__AlertsReply *r = recv_reply(s, id, 200, NULL);
        if (r) {
            doudi__alerts_reply__free_unpacked(r, NULL);
            zmq_close(s);
            return;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            child_pid = 0;
            show_child_stderr(d);
            fail("doudi-alerts exited (status %d) before serving",
                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        }
    }
    show_child_stderr(d);
    fail("doudi-alerts did not answer a replay request within 15 s");
}

static void daemon_stop(daemon_proc *d)
{
    kill(d->pid, SIGTERM);
    int64_t deadline = dd_monotonic_ns() + 10 * INT64_C(1000000000);
    int status;
    while (waitpid(d->pid, &status, WNOHANG) != d->pid) {
        if (dd_monotonic_ns() > deadline) {
            show_child_stderr(d);
            fail("doudi-alerts (pid %d) did not stop within 10 s of SIGTERM", (int)d->pid);
        }
        sleep_ms(5);
    }
    child_pid = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        show_child_stderr(d);
        fail("doudi-alerts ended with status %d after SIGTERM",
             WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
}

/* What the daemon says about itself (GET /metrics). */
typedef struct daemon_counters {
    double batches, records, apply_s, deliveries;
} daemon_counters;

/* The value of the first sample of `name` (with any labels), 0 if absent. */
static double sample(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)) != NULL; p += n) {
        if ((p != text && p[-1] != '\n') || (p[n] != ' ' && p[n] != '{'))
            continue;
        const char *v = strchr(p, ' ');
        return v ? strtod(v + 1, NULL) : 0;
    }
    return 0;
}

static daemon_counters read_counters(const daemon_proc *d)
{
    daemon_counters c = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d->metrics_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0)
            close(fd);
        return c;
    }
    static const char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
        close(fd);
        return c;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = dd_malloc(cap);
    for (ssize_t r; (r = read(fd, buf + len, cap - len - 1)) > 0;) {
        len += (size_t)r;
        if (cap - len < 4096)
            buf = dd_realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    close(fd);
    c.batches = sample(buf, "doudi_consumer_batches_total");
    c.records = sample(buf, "doudi_consumer_records_total");
    c.apply_s = sample(buf, "doudi_consumer_apply_seconds_sum");
    c.deliveries = sample(buf, "doudi_alerts_deliveries_total");
    free(buf);
    return c;
}

/* CPU seconds (user + system) of a process, from /proc. */
static double process_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------------------------ */
/* Subscribers                                                                */
/* ------------------------------------------------------------------------ */

enum { PHASES = 2 };

typedef struct subscriber {
    char prefix[13];
    size_t plen;
    int index; /* previous_in_area slot of the prefix's level */
    void *sub, *req;
    uint64_t last, covered, until;
    bool filling, subscribed;
    uint64_t request_id;
    int64_t sent_ns;
    /* Cumulative over the phases: what it must hold by the end of each. */
    uint64_t expected[PHASES], expected_last[PHASES];
    uint64_t held; /* entries taken since the first phase began */
    /* This phase's. */
    uint64_t received, live, replayed, gaps, stale, heartbeats, replays, resends, bad;
    int64_t done_ns[PHASES];
} subscriber;

typedef struct latencies {
    uint32_t *us;
    size_t n, cap;
} latencies;

typedef struct fanout {
    const workload *w;
    upstream *up;
    subscriber *subs;
    size_t nsubs;
    int phase;
    uint64_t target;     /* the phase's last sequence */
    int64_t head_seen_ns; /* when a subscriber first saw the phase's last sequence */
    latencies live_lat[PHASES], all_lat[PHASES];
    uint64_t next_id;
    char first_bad[256];
} fanout;

static void lat_add(latencies *l, int64_t ns)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 65536;
        l->us = dd_realloc(l->us, l->cap * sizeof(uint32_t));
    }
    int64_t us = ns / 1000;
    l->us[l->n++] = us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* p-th percentile in ms (nearest rank); NAN when empty. */
static double lat_ms(latencies *l, double p)
{
    if (!l->n)
        return 0.0 / 0.0;
    size_t rank = (size_t)(p / 100.0 * (double)l->n);
    if (rank >= l->n)
        rank = l->n - 1;
    return (double)l->us[rank] / 1000.0;
}

static void saw_sequence(fanout *f, uint64_t seq)
{
    if (seq >= f->target && !f->head_seen_ns)
        f->head_seen_ns = dd_monotonic_ns();
}

static void bad_entry(fanout *f, subscriber *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bad_entry(fanout *f, subscriber *s, const char *fmt, ...)
{
    s->bad++;
    if (f->first_bad[0])
        return;
    int n = snprintf(f->first_bad, sizeof(f->first_bad), "subscriber '%s': ", s->prefix);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->first_bad + n, sizeof(f->first_bad) - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Takes e (sequence > s->last) as the subscriber's next entry, checking it. */
static void take(fanout *f, subscriber *s, const Doudi__StreamEntry *e, bool live)
{
    int64_t now = dd_monotonic_ns();
    const Doudi__StoredAlert *a = e->update ? e->update->alert : NULL;
    if (!a) {
        bad_entry(f, s, "entry %" PRIu64 " carries no alert", e->sequence);
    } else if (a->caused_by_sequence != e->sequence || e->sequence == 0 ||
               e->sequence > f->w->n) {
        bad_entry(f, s, "entry %" PRIu64 " was caused by upstream record %" PRIu64
                  " (one stream record per alert expected)", e->sequence, a->caused_by_sequence);
    } else if (strcmp(a->region_code, villages[f->w->region[e->sequence - 1]]) != 0 ||
               strncmp(a->region_code, s->prefix, s->plen) != 0) {
        bad_entry(f, s, "entry %" PRIu64 " is in region %s, generated in %s", e->sequence,
                  a->region_code, villages[f->w->region[e->sequence - 1]]);
    } else {
        int64_t committed =
            atomic_load_explicit(&f->up->commit_ns[e->sequence - 1], memory_order_acquire);
        lat_add(&f->all_lat[f->phase], now - committed);
        if (live)
            lat_add(&f->live_lat[f->phase], now - committed);
    }
    s->held++;
    s->received++;
    if (live)
        s->live++;
    else
        s->replayed++;
    s->last = e->sequence;
    if (s->covered < s->last)
        s->covered = s->last;
    saw_sequence(f, e->sequence);
}

static void start_fill(fanout *f, subscriber *s, uint64_t until)
{
    if (until > s->until)
        s->until = until;
    if (s->filling)
        return;
    s->filling = true;
    s->request_id = ++f->next_id;
    s->sent_ns = dd_monotonic_ns();
    s->replays++;
    send_replay(s->req, s->request_id, s->prefix, s->last);
}

/* One replay reply: takes its entries; asks again while it makes progress. */
static void on_reply(fanout *f, subscriber *s)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s->req, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        Doudi__AlertsReply *r = doudi__alerts_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        zmq_msg_close(&m);
        if (!r || r->request_id != s->request_id || !s->filling) {
            if (r)
                doudi__alerts_reply__free_unpacked(r, NULL);
            continue;
        }
        if (r->error_text[0] || r->reply_case != DOUDI__ALERTS_REPLY__REPLY_REPLAY)
            fail("replay for '%s' refused: %s", s->prefix, r->error_text);
        Doudi__ReplayReply *rp = r->replay;
        if (rp->trimmed)
            fail("replay for '%s' after %" PRIu64 " says it was trimmed", s->prefix, s->last);
        for (size_t i = 0; i < rp->n_entries; i++)
            if (rp->entries[i]->sequence > s->last)
                take(f, s, rp->entries[i], false);
        uint64_t scanned = rp->scanned_through_sequence > s->last ? rp->scanned_through_sequence
                                                                   : s->last;
        bool progress = scanned > s->covered;
        if (progress)
            s->covered = scanned;
        saw_sequence(f, rp->head_sequence);
        doudi__alerts_reply__free_unpacked(r, NULL);
        s->filling = false;
        if (progress && s->covered < s->until)
            start_fill(f, s, s->until);
    }
}

/* The sequence of an encoded StreamEntry without decoding it (field 1 is
 * written first); 0 when it is not there. */
static uint64_t peek_sequence(const uint8_t *p, size_t n)
{
    if (n < 2 || p[0] != 0x08)
        return 0;
    uint64_t v = 0;
    for (size_t i = 1, shift = 0; i < n && shift < 64; i++, shift += 7) {
        v |= (uint64_t)(p[i] & 0x7f) << shift;
        if (!(p[i] & 0x80))
            return v;
    }
    return 0;
}

/* Drains what the live socket holds (up to a bound, to stay fair). */
static void on_live(fanout *f, subscriber *s)
{
    for (int k = 0; k < 512 && !s->filling; k++) {
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        if (zmq_msg_recv(&topic, s->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&topic);
            return;
        }
        zmq_msg_init(&body);
        if (!zmq_msg_more(&topic) || zmq_msg_recv(&body, s->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&topic);
            zmq_msg_close(&body);
            fail("subscriber '%s': a live message without its entry frame", s->prefix);
        }
        bool heartbeat = zmq_msg_size(&topic) == 1 && *(const char *)zmq_msg_data(&topic) == '.';
        const uint8_t *data = zmq_msg_data(&body);
        size_t len = zmq_msg_size(&body);
        uint64_t seq = peek_sequence(data, len);
        if (heartbeat) {
            s->heartbeats++;
            s->subscribed = true;
            saw_sequence(f, seq);
            if (seq > s->covered)
                start_fill(f, s, seq);
        } else if (seq && seq <= s->last) {
            s->stale++;
        } else {
            Doudi__StreamEntry *e = doudi__stream_entry__unpack(NULL, len, data);
            if (!e || !e->update) {
                bad_entry(f, s, "a live message that is not a StreamEntry with an update");
            } else {
                uint64_t prev = s->index < 0 ? e->sequence - 1
                                : (size_t)s->index < e->update->n_previous_in_area
                                    ? e->update->previous_in_area[s->index]
                                    : UINT64_MAX;
                if (prev == s->last) {
                    take(f, s, e, true);
                } else {
                    s->gaps++;
                    start_fill(f, s, e->sequence);
                }
            }
            if (e)
                doudi__stream_entry__free_unpacked(e, NULL);
        }
        zmq_msg_close(&topic);
        zmq_msg_close(&body);
    }
}

static bool sub_done(fanout *f, subscriber *s)
{
    int p = f->phase;
    if (s->done_ns[p])
        return true;
    if (s->held < s->expected[p] || s->last < s->expected_last[p])
        return false;
    s->done_ns[p] = dd_monotonic_ns();
    return true;
}

/* Polls every subscriber until all hold their prefix's stream up to the
 * phase's target; returns false at the deadline. */
static bool run_subscribers(fanout *f, int64_t deadline_ns, bool (*until)(fanout *))
{
    zmq_pollitem_t *items = dd_calloc(f->nsubs, sizeof(zmq_pollitem_t));
    bool ok = false;
    while (!(ok = until(f)) && dd_monotonic_ns() < deadline_ns) {
        for (size_t i = 0; i < f->nsubs; i++) {
            subscriber *s = &f->subs[i];
            items[i] = (zmq_pollitem_t){s->filling ? s->req : s->sub, 0, ZMQ_POLLIN, 0};
        }
        int n = zmq_poll(items, (int)f->nsubs, 20);
        if (n < 0 && errno != EINTR)
            fail("zmq_poll: %s", zmq_strerror(errno));
        int64_t now = dd_monotonic_ns();
        for (size_t i = 0; i < f->nsubs; i++) {
            subscriber *s = &f->subs[i];
            if (items[i].revents & ZMQ_POLLIN) {
                if (s->filling)
                    on_reply(f, s);
                else
                    on_live(f, s);
            } else if (s->filling && now - s->sent_ns > REPLY_TIMEOUT_NS) {
                /* The daemon is local and never loses a request: count it,
                 * ask again with a new id. */
                s->resends++;
                s->filling = false;
                start_fill(f, s, s->until);
            }
        }
    }
    free(items);
    return ok;
}

static bool all_subscribed(fanout *f)
{
    for (size_t i = 0; i < f->nsubs; i++)
        if (!f->subs[i].subscribed)
            return false;
    return true;
}

static bool all_done(fanout *f)
{
    bool done = true;
    for (size_t i = 0; i < f->nsubs; i++)
        done = sub_done(f, &f->subs[i]) && done;
    return done;
}

static const size_t level_digits[] = {2, 4, 6, 9, 12};
/* Of every 20 subscribers: 1 province, 3 city, 4 county, 6 township, 6 village. */
static const int level_pattern[20] = {0, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 2, 3, 4, 3, 4, 3, 4};

static void make_subscribers(fanout *f, void *zctx, const daemon_proc *d, uint64_t n1)
{
    f->subs = dd_calloc(f->nsubs, sizeof(subscriber));
    uint64_t seed = 44;
    for (size_t i = 0; i < f->nsubs; i++) {
        subscriber *s = &f->subs[i];
        int level = level_pattern[i % 20];
        s->plen = level_digits[level];
        s->index = level;
        memcpy(s->prefix, villages[rng_next(&seed) % NVILLAGES], s->plen);
        s->prefix[s->plen] = '\0';
        s->sub = zmq_socket(zctx, ZMQ_SUB);
        int zero = 0;
        zmq_setsockopt(s->sub, ZMQ_LINGER, &zero, sizeof(zero));
        zmq_setsockopt(s->sub, ZMQ_RCVHWM, &opt.hwm, sizeof(opt.hwm));
        zmq_setsockopt(s->sub, ZMQ_SUBSCRIBE, s->prefix, s->plen);
        zmq_setsockopt(s->sub, ZMQ_SUBSCRIBE, ".", 1);
        if (zmq_connect(s->sub, d->live) != 0)
            fail("cannot connect to %s: %s", d->live, zmq_strerror(errno));
        s->req = dealer(zctx, d->requests);
    }
    /* What each prefix must end up holding, per phase. */
    bool (*match)[NVILLAGES] = dd_calloc(f->nsubs, sizeof(*match));
    for (size_t i = 0; i < f->nsubs; i++)
        for (size_t v = 0; v < NVILLAGES; v++)
            match[i][v] = strncmp(villages[v], f->subs[i].prefix, f->subs[i].plen) == 0;
    for (uint64_t a = 0; a < f->w->n; a++) {
        int p = a < n1 ? 0 : 1;
        for (size_t i = 0; i < f->nsubs; i++)
            if (match[i][f->w->region[a]]) {
                f->subs[i].expected[p]++;
                f->subs[i].expected_last[p] = a + 1;
            }
    }
    for (size_t i = 0; i < f->nsubs; i++) {
        subscriber *s = &f->subs[i];
        s->expected[1] += s->expected[0];
        if (!s->expected_last[1])
            s->expected_last[1] = s->expected_last[0];
    }
    free(match);
}

/* ------------------------------------------------------------------------ */
/* Replay: a client catching up from sequence 0                               */
/* ------------------------------------------------------------------------ */

typedef struct replay_result {
    uint64_t entries, requests, bytes, head;
    int64_t ns;
} replay_result;

static replay_result replay_from_zero(void *zctx, const daemon_proc *d, const char *prefix,
                                      const workload *w)
{
    replay_result rr = {0};
    void *s = dealer(zctx, d->requests);
    uint64_t after = 0, last = 0;
    int64_t start = dd_monotonic_ns();
    for (uint64_t id = 1;; id++) {
        send_replay(s, id, prefix, after);
        size_t bytes = 0;
        Doudi__AlertsReply *r = recv_reply(s, id, 10000, &bytes);
        if (!r)
            fail("no replay reply for '%s' after %" PRIu64 " within 10 s", prefix, after);
        if (r->error_text[0] || r->reply_case != DOUDI__ALERTS_REPLY__REPLY_REPLAY)
            fail("replay for '%s' refused: %s", prefix, r->error_text);
        rr.requests++;
        rr.bytes += bytes;
        Doudi__ReplayReply *rp = r->replay;
        for (size_t i = 0; i < rp->n_entries; i++) {
            const Doudi__StreamEntry *e = rp->entries[i];
            const Doudi__StoredAlert *a = e->update ? e->update->alert : NULL;
            if (e->sequence <= last || !a || e->sequence > w->n ||
                strncmp(a->region_code, prefix, strlen(prefix)) != 0 ||
                strcmp(a->region_code, villages[w->region[e->sequence - 1]]) != 0)
                fail("replay for '%s': entry %" PRIu64 " out of order or not of the prefix",
                     prefix, e->sequence);
            last = e->sequence;
            rr.entries++;
        }
        rr.head = rp->head_sequence;
        bool more = rp->scanned_through_sequence > after &&
                    rp->scanned_through_sequence < rp->head_sequence;
        after = rp->scanned_through_sequence;
        doudi__alerts_reply__free_unpacked(r, NULL);
        if (!more)
            break;
    }
    rr.ns = dd_monotonic_ns() - start;
    zmq_close(s);
    return rr;
}

/* ------------------------------------------------------------------------ */
/* Report                                                                     */
/* ------------------------------------------------------------------------ */

static void trim_newline(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
}

static void print_machine(const char *dir)
{
    char cpu[160] = "unknown", line[512], fs[48] = "unknown", git[96] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            trim_newline(line);
            snprintf(cpu, sizeof(cpu), "%s", colon + 2);
            break;
        }
    }
    if (f)
        fclose(f);
    struct utsname u;
    uname(&u);
    struct statfs sf;
    if (statfs(dir, &sf) == 0)
        snprintf(fs, sizeof(fs), "%s",
                 sf.f_type == 0xEF53       ? "ext4"
                 : sf.f_type == 0x01021994 ? "tmpfs (fsync is free: not a disk!)"
                 : sf.f_type == 0x58465342 ? "xfs"
                 : sf.f_type == 0x9123683E ? "btrfs"
                 : sf.f_type == 0x794c7630 ? "overlayfs"
                                           : "other");
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof(cmd), "git -C '%s' rev-parse --short=12 HEAD 2>/dev/null", DOUDI_SOURCE_DIR);
    FILE *p = popen(cmd, "r");
    if (p && fgets(line, sizeof(line), p)) {
        trim_newline(line);
        snprintf(git, sizeof(git), "%.40s", line);
    }
    if (p)
        pclose(p);
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    printf("machine:      %ld CPUs, %s; %s %s; data on %s; libzmq %d.%d.%d, LMDB %s; git %s\n",
           sysconf(_SC_NPROCESSORS_ONLN), cpu, u.sysname, u.release, fs, major, minor, patch,
           mdb_version(NULL, NULL, NULL), git);
}

static void print_phase(fanout *f, int phase, const char *what, uint64_t alerts, int64_t t0,
                        double daemon_cpu, double bench_cpu, const daemon_counters *dc,
                        uint64_t up_commits, int64_t up_commit_ns, int64_t t_end)
{
    uint64_t delivered = 0, live = 0, expected = 0, missed = 0, bad = 0, gaps = 0, replays = 0,
             resends = 0, stale = 0;
    double min_ratio = 1e9, max_ratio = 0, min_rate = 1e18, max_rate = 0;
    const char *min_rate_prefix = "", *max_rate_prefix = "";
    int64_t end = t0, first_done = INT64_MAX;
    for (size_t i = 0; i < f->nsubs; i++) {
        subscriber *s = &f->subs[i];
        uint64_t exp = s->expected[phase] - (phase ? s->expected[0] : 0);
        uint64_t got = s->received;
        expected += exp;
        delivered += got;
        live += s->live;
        missed += s->expected[phase] > s->held ? s->expected[phase] - s->held : 0;
        bad += s->bad;
        gaps += s->gaps;
        replays += s->replays;
        resends += s->resends;
        stale += s->stale;
        double ratio = exp ? (double)got / (double)exp : 1.0;
        if (ratio < min_ratio)
            min_ratio = ratio;
        if (ratio > max_ratio)
            max_ratio = ratio;
        if (s->done_ns[phase]) {
            if (s->done_ns[phase] > end)
                end = s->done_ns[phase];
            if (s->done_ns[phase] < first_done)
                first_done = s->done_ns[phase];
            double rate = (double)got / seconds(s->done_ns[phase] - t0);
            if (rate < min_rate) {
                min_rate = rate;
                min_rate_prefix = s->prefix;
            }
            if (rate > max_rate) {
                max_rate = rate;
                max_rate_prefix = s->prefix;
            }
        }
    }
    if (f->live_lat[phase].n)
        qsort(f->live_lat[phase].us, f->live_lat[phase].n, sizeof(uint32_t), cmp_u32);
    if (f->all_lat[phase].n)
        qsort(f->all_lat[phase].us, f->all_lat[phase].n, sizeof(uint32_t), cmp_u32);
    for (size_t i = 0; i < f->nsubs; i++)
        if (!f->subs[i].done_ns[phase])
            end = t_end; /* incomplete: rates up to the deadline */
    if (min_rate > max_rate)
        min_rate = max_rate = 0.0 / 0.0;
    double t_head = f->head_seen_ns ? seconds(f->head_seen_ns - t0) : seconds(t_end - t0);
    double t_all = seconds(end - t0);
    printf("%s: %" PRIu64 " alerts\n", what, alerts);
    if (f->head_seen_ns)
        printf("  produced:     %" PRIu64 " alerts in %.2f s = %.0f alerts/s (first upstream commit "
               "to the stream's last entry seen by a subscriber)\n",
               alerts, t_head, (double)alerts / t_head);
    else
        printf("  produced:     no subscriber saw the stream's last entry within %.2f s\n", t_head);
    printf("  delivered:    %" PRIu64 " entries to %zu subscribers in %.2f s = %.0f deliveries/s "
           "(%.1f%% live, %.1f%% by replay)\n",
           delivered, f->nsubs, t_all, (double)delivered / t_all,
           delivered ? 100.0 * (double)live / (double)delivered : 0.0,
           delivered ? 100.0 * (double)(delivered - live) / (double)delivered : 0.0);
    printf("  per subscriber: received/expected min %.4f max %.4f; alerts/s min %.0f ('%s') max "
           "%.0f ('%s'); complete after %.2f to %.2f s\n",
           min_ratio, max_ratio, min_rate, min_rate_prefix, max_rate, max_rate_prefix,
           first_done == INT64_MAX ? 0.0 / 0.0 : seconds(first_done - t0), t_all);
    printf("  missed after gap filling: %" PRIu64 " of %" PRIu64 " expected; entries failing "
           "checks: %" PRIu64 "\n",
           missed, expected, bad);
    printf("  gaps seen live: %" PRIu64 ", replay requests %" PRIu64 " (resent %" PRIu64
           "), stale live entries skipped %" PRIu64 "\n",
           gaps, replays, resends, stale);
    printf("  latency live:  p50 %.1f ms, p99 %.1f ms, max %.1f ms (%zu entries)\n",
           lat_ms(&f->live_lat[phase], 50), lat_ms(&f->live_lat[phase], 99),
           lat_ms(&f->live_lat[phase], 100), f->live_lat[phase].n);
    printf("  latency all:   p50 %.1f ms, p99 %.1f ms, max %.1f ms (live and replayed)\n",
           lat_ms(&f->all_lat[phase], 50), lat_ms(&f->all_lat[phase], 99),
           lat_ms(&f->all_lat[phase], 100));
    printf("  daemon:       %.0f batches of %.0f records on average, %.1f ms each to apply and "
           "commit; %.0f live messages handed to PUB\n",
           dc->batches, dc->batches ? dc->records / dc->batches : 0.0,
           dc->batches ? 1000.0 * dc->apply_s / dc->batches : 0.0, dc->deliveries);
    printf("  upstream:     %" PRIu64 " commits, %.1f ms each\n", up_commits,
           up_commits ? (double)up_commit_ns / 1e6 / (double)up_commits : 0.0);
    printf("  cpu:          doudi-alerts %.2f s (%.0f%% of a core), this bench %.2f s (%.0f%%)\n",
           daemon_cpu, 100.0 * daemon_cpu / t_all, bench_cpu, 100.0 * bench_cpu / t_all);
}

static void reset_counts(fanout *f)
{
    for (size_t i = 0; i < f->nsubs; i++) {
        subscriber *s = &f->subs[i];
        s->received = s->live = s->replayed = s->gaps = s->stale = s->heartbeats = s->replays =
            s->resends = 0;
    }
    f->head_seen_ns = 0;
}

/* ------------------------------------------------------------------------ */
/* Options                                                                    */
/* ------------------------------------------------------------------------ */

static void usage(FILE *out)
{
    fputs(
        "NAME\n"
        "    alerts_fanout - fan-out and replay throughput of doudi-alerts\n"
        "\n"
        "SYNOPSIS\n"
        "    alerts_fanout [--alerts N] [--subscribers N] [--hwm N] [--batch N]\n"
        "                  [--latency-alerts N] [--latency-rate N] [--heartbeat-ms N]\n"
        "                  [--timeout S] [--dir DIR] [--keep] [--daemon PATH]\n"
        "\n"
        "DESCRIPTION\n"
        "    Starts the real doudi-alerts on free loopback ports, feeding it from an\n"
        "    upstream log served by this program (common/log.h, synced LMDB commits),\n"
        "    and connects N subscribers (SUB + replay DEALER each, the Clone pattern)\n"
        "    on prefixes of every level: of every 20, 1 province (44), 3 cities,\n"
        "    4 counties, 6 townships, 6 villages. Then:\n"
        "      1. appends --alerts alerts as fast as the upstream commits, and times\n"
        "         the stream and its delivery until every subscriber holds its\n"
        "         prefix's stream, gaps filled from the replay;\n"
        "      2. appends --latency-alerts more at --latency-rate alerts/s and\n"
        "         measures delivery latency at that load;\n"
        "      3. replays the whole stream from sequence 0, then one city's share.\n"
        "    Every entry taken is checked (sequence, region, prefix); anything missing\n"
        "    or wrong at the end makes the exit status 1.\n"
        "\n"
        "OPTIONS\n"
        "    --alerts N          alerts of the throughput phase (default 100000)\n"
        "    --subscribers N     live subscribers (default 100)\n"
        "    --hwm N             the daemon's [live] send_hwm and each SUB's RCVHWM\n"
        "                        (default 10000, the daemon's own default)\n"
        "    --batch N           upstream records per upstream commit (default 1000)\n"
        "    --latency-alerts N  alerts of the latency phase, 0 to skip it (default 5000)\n"
        "    --latency-rate N    their rate, alerts/s (default 2000)\n"
        "    --heartbeat-ms N    the daemon's [live] heartbeat_interval (default 1000, its\n"
        "                        own default)\n"
        "    --timeout S         give up a phase after S seconds (default 120)\n"
        "    --dir DIR           where the run directory goes (default $TMPDIR or /tmp);\n"
        "                        it must be on the disk to measure\n"
        "    --keep              keep the run directory\n"
        "    --daemon PATH       doudi-alerts to run (default: next to this program)\n"
        "    -h, --help          print this help and exit\n"
        "\n"
        "OUTPUT\n"
        "    One line a figure: the machine; per phase the alerts produced per second\n"
        "    (first upstream commit to the last entry seen by a subscriber), deliveries\n"
        "    per second summed over subscribers (until the last subscriber completed),\n"
        "    received/expected per subscriber (min, max) and alerts/s per subscriber,\n"
        "    entries missed after gap filling (must be 0), gaps and replay requests,\n"
        "    latency p50/p99/max from the upstream commit to the subscriber taking the\n"
        "    entry, CPU of the daemon and of this program; then replay entries/s.\n"
        "\n"
        "EXIT STATUS\n"
        "    0 every subscriber holds exactly its prefix's stream; 1 anything else;\n"
        "    2 usage error.\n",
        out);
}

static uint64_t parse_u64(const char *text, const char *what, uint64_t lo, uint64_t hi)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "alerts_fanout: %s must be a whole number from %" PRIu64 " to %" PRIu64
                        "\n", what, lo, hi);
        exit(2);
    }
    return v;
}

static void parse_options(int argc, char **argv)
{
    static const struct option longs[] = {
        {"alerts", 1, 0, 'a'},       {"subscribers", 1, 0, 's'}, {"hwm", 1, 0, 'w'},
        {"batch", 1, 0, 'b'},        {"latency-alerts", 1, 0, 'L'},
        {"latency-rate", 1, 0, 'r'}, {"heartbeat-ms", 1, 0, 'H'}, {"timeout", 1, 0, 't'},
        {"dir", 1, 0, 'd'},          {"keep", 0, 0, 'k'},        {"daemon", 1, 0, 'D'},
        {"help", 0, 0, 'h'},         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'a': opt.alerts = parse_u64(optarg, "--alerts", 1, 5000000); break;
        case 's': opt.subscribers = parse_u64(optarg, "--subscribers", 1, 2000); break;
        case 'w': opt.hwm = (int)parse_u64(optarg, "--hwm", 1, 10000000); break;
        case 'b': opt.batch = (uint32_t)parse_u64(optarg, "--batch", 1, 100000); break;
        case 'L': opt.latency_alerts = parse_u64(optarg, "--latency-alerts", 0, 5000000); break;
        case 'r': opt.latency_rate = parse_u64(optarg, "--latency-rate", 1, 10000000); break;
        case 'H': opt.heartbeat_ms = (int)parse_u64(optarg, "--heartbeat-ms", 10, 60000); break;
        case 't': opt.timeout_s = (double)parse_u64(optarg, "--timeout", 1, 86400); break;
        case 'd': opt.dir = optarg; break;
        case 'k': opt.keep = true; break;
        case 'D': opt.daemon = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind != argc) {
        usage(stderr);
        exit(2);
    }
}

static char daemon_path[PATH_MAX];

static void find_daemon(void)
{
    if (opt.daemon)
        return;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        fail("cannot find my own path; give --daemon");
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0';
    if (snprintf(daemon_path, sizeof(daemon_path), "%s/doudi-alerts", self) >= (int)sizeof(daemon_path))
        fail("my own path is too long; give --daemon");
    opt.daemon = daemon_path;
    if (access(opt.daemon, X_OK) != 0)
        fail("%s is not there; build doudi-alerts or give --daemon", opt.daemon);
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    parse_options(argc, argv);
    find_daemon();
    dd_diag_init("alerts_fanout", DD_WARN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    const char *base = opt.dir ? opt.dir : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(run_dir, sizeof(run_dir), "%s/alerts_fanout.XXXXXX", base);
    if (!mkdtemp(run_dir)) {
        run_dir[0] = '\0';
        fail("cannot create a run directory under %s: %s", base, strerror(errno));
    }

    make_villages();
    uint64_t n1 = opt.alerts, n2 = opt.latency_alerts;
    workload w;
    build_workload(&w, n1 + n2);

    int ports[5];
    free_ports(ports, 5);
    char upstream_ep[64];
    snprintf(upstream_ep, sizeof(upstream_ep), "tcp://127.0.0.1:%d", ports[4]);
    upstream up;
    upstream_start(&up, &w, run_dir, upstream_ep);
    daemon_proc d;
    void *zctx = zmq_ctx_new();
    zmq_ctx_set(zctx, ZMQ_MAX_SOCKETS, (int)(2 * opt.subscribers + 64));
    daemon_start(&d, run_dir, upstream_ep, ports, zctx);

    fanout f = {.w = &w, .up = &up, .nsubs = opt.subscribers};
    make_subscribers(&f, zctx, &d, n1);
    size_t per_level[5] = {0};
    for (size_t i = 0; i < f.nsubs; i++)
        per_level[f.subs[i].index]++;

    print_machine(run_dir);
    printf("workload:     %" PRIu64 " + %" PRIu64 " alerts (RISK, distinct subjects) in %d "
           "villages of 3 cities; %zu subscribers (%zu province, %zu city, %zu county, %zu "
           "township, %zu village); hwm %d; upstream commits of %u; heartbeat %d ms\n",
           n1, n2, NVILLAGES, f.nsubs, per_level[0], per_level[1], per_level[2], per_level[3],
           per_level[4], opt.hwm, opt.batch, opt.heartbeat_ms);
    fflush(stdout);

    /* Every subscriber has had a heartbeat: both its subscriptions are in. */
    if (!run_subscribers(&f, dd_monotonic_ns() + 20 * INT64_C(1000000000), all_subscribed))
        fail("not every subscriber got a heartbeat within 20 s");
    for (size_t i = 0; i < f.nsubs; i++)
        if (f.subs[i].last || f.subs[i].held)
            fail("subscriber '%s' took entries before the first alert", f.subs[i].prefix);

    int failures = 0;
    int64_t phase_ns = (int64_t)(opt.timeout_s * 1e9);
    for (int phase = 0; phase < PHASES; phase++) {
        uint64_t count = phase == 0 ? n1 : n2;
        if (!count)
            continue;
        f.phase = phase;
        f.target = phase == 0 ? n1 : n1 + n2;
        reset_counts(&f);
        double dcpu = process_cpu_s(d.pid), bcpu = self_cpu_s();
        daemon_counters before = read_counters(&d);
        uint64_t up_commits = up.commits;
        int64_t up_ns = up.commit_ns_total;
        int64_t t0 = dd_monotonic_ns();
        upstream_release(&up, f.target, phase == 0 ? 0 : opt.latency_rate);
        bool ok = run_subscribers(&f, t0 + phase_ns, all_done);
        int64_t t_end = dd_monotonic_ns();
        if (atomic_load(&up.error))
            fail("the upstream could not commit: %s", dd_strerror(atomic_load(&up.error)));
        double dcpu_used = process_cpu_s(d.pid) - dcpu, bcpu_used = self_cpu_s() - bcpu;
        daemon_counters after = read_counters(&d);
        daemon_counters delta = {after.batches - before.batches, after.records - before.records,
                                 after.apply_s - before.apply_s,
                                 after.deliveries - before.deliveries};
        print_phase(&f, phase, phase == 0 ? "throughput" : "latency", count, t0, dcpu_used,
                    bcpu_used, &delta, up.commits - up_commits, up.commit_ns_total - up_ns, t_end);
        if (!ok) {
            size_t incomplete = 0;
            for (size_t i = 0; i < f.nsubs; i++)
                incomplete += !f.subs[i].done_ns[phase];
            printf("  INCOMPLETE: %zu subscribers did not complete within %.0f s\n", incomplete,
                   opt.timeout_s);
            failures++;
        }
        if (f.first_bad[0]) {
            printf("  FAILED CHECK: %s\n", f.first_bad);
            failures++;
        }
        fflush(stdout);
        if (failures)
            break;
    }

    if (!failures) {
        replay_result all = replay_from_zero(zctx, &d, "", &w);
        if (all.entries != n1 + n2)
            fail("the replay from 0 gave %" PRIu64 " entries, the stream has %" PRIu64,
                 all.entries, n1 + n2);
        printf("replay from 0, whole stream: %" PRIu64 " entries in %.2f s = %.0f entries/s "
               "(%.1f MB/s, %" PRIu64 " requests)\n",
               all.entries, seconds(all.ns), (double)all.entries / seconds(all.ns),
               (double)all.bytes / seconds(all.ns) / 1e6, all.requests);
        uint64_t city_expected = 0;
        for (uint64_t a = 0; a < w.n; a++)
            city_expected += strncmp(villages[w.region[a]], "4401", 4) == 0;
        replay_result city = replay_from_zero(zctx, &d, "4401", &w);
        if (city.entries != city_expected)
            fail("the replay of 4401 from 0 gave %" PRIu64 " entries, expected %" PRIu64,
                 city.entries, city_expected);
        printf("replay from 0, city 4401:    %" PRIu64 " entries in %.2f s = %.0f entries/s "
               "(%.1f MB/s, %" PRIu64 " requests)\n",
               city.entries, seconds(city.ns), (double)city.entries / seconds(city.ns),
               (double)city.bytes / seconds(city.ns) / 1e6, city.requests);
    }

    for (size_t i = 0; i < f.nsubs; i++) {
        zmq_close(f.subs[i].sub);
        zmq_close(f.subs[i].req);
    }
    daemon_stop(&d);
    zmq_ctx_term(zctx);
    upstream_stop(&up);
    for (int p = 0; p < PHASES; p++) {
        free(f.live_lat[p].us);
        free(f.all_lat[p].us);
    }
    free(f.subs);
    free_workload(&w);
    remove_run_dir();
    printf("result:       %s\n", failures ? "FAILED" : "every subscriber holds exactly its "
                                                       "prefix's stream, in order, once");
    return failures ? 1 : 0;
}
