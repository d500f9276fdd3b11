/*
 * provbase.c: what this machine does with the month's own bytes without
 * doudi, for the ratios provbench.py prints. See --help.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "alloc.h"
#include "prov_file.h"

#define MAX_PORTALS 64

static const char help[] =
    "NAME\n"
    "    provbase - the transport and storage limits, measured on provgen's month\n"
    "\n"
    "SYNOPSIS\n"
    "    provbase --dir DIR --target zmq|lmdb [--events N] [--batch B] [--portals P]\n"
    "             [--work DIR]\n"
    "\n"
    "DESCRIPTION\n"
    "    Takes the first N events of the month (DIR/month-K.evt, the portals' files\n"
    "    in turn, each in its publish order) and measures, with the same bytes:\n"
    "\n"
    "    zmq   P threads, each a PUSH socket over TCP loopback, send messages of B\n"
    "          events (each prefixed by its 4-byte length) to one PULL socket that\n"
    "          receives them and walks every event: ZeroMQ batched, nothing else.\n"
    "          The messages are built before the clock starts.\n"
    "    lmdb  one writer appends every event (MDB_APPEND, sequential 64-bit keys)\n"
    "          to a fresh environment under --work, one fully synced commit per B\n"
    "          events: the storage limit of a durable log.\n"
    "\n"
    "    Prints JSON: target, events, bytes, mean_event_bytes, seconds, events_per_s.\n"
    "\n"
    "OPTIONS\n"
    "    --events N    Default: 2,000,000 (or all the month has).\n"
    "    --batch B     Events per message or commit. Default: 1000.\n"
    "    --portals P   Sending threads (zmq). Default: 4.\n"
    "    --work DIR    Where the LMDB environment goes (it must be on the disk to\n"
    "                  measure); removed afterwards. Default: the current directory.\n"
    "    -h, --help    This text.\n";

typedef struct event_ref {
    const uint8_t *data;
    size_t len;
} event_ref;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "provbase: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* ---- zmq ------------------------------------------------------------------ */

typedef struct message {
    uint8_t *data;
    size_t len;
} message;

typedef struct pusher {
    void *ctx;
    char endpoint[64];
    message *msgs;
    size_t n;
    int error;
} pusher;

static void *push_main(void *arg)
{
    pusher *p = arg;
    void *s = zmq_socket(p->ctx, ZMQ_PUSH);
    int hwm = 1000;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    if (zmq_connect(s, p->endpoint) != 0) {
        p->error = errno;
        zmq_close(s);
        return NULL;
    }
    for (size_t i = 0; i < p->n; i++)
        if (zmq_send(s, p->msgs[i].data, p->msgs[i].len, 0) < 0) {
            p->error = errno;
            break;
        }
    zmq_close(s);
    return NULL;
}

static double run_zmq(event_ref *ev, size_t n, size_t batch, unsigned portals)
{
    /* messages dealt to the pushers in turn */
    size_t nmsg = (n + batch - 1) / batch;
    pusher ps[MAX_PORTALS];
    memset(ps, 0, sizeof(ps));
    for (unsigned k = 0; k < portals; k++)
        ps[k].msgs = dd_calloc(nmsg / portals + 1, sizeof(message));
    for (size_t m = 0; m < nmsg; m++) {
        size_t first = m * batch, last = first + batch < n ? first + batch : n, bytes = 0;
        for (size_t i = first; i < last; i++)
            bytes += 4 + ev[i].len;
        uint8_t *buf = dd_malloc(bytes), *w = buf;
        for (size_t i = first; i < last; i++) {
            uint32_t len = (uint32_t)ev[i].len;
            memcpy(w, &len, 4);
            memcpy(w + 4, ev[i].data, len);
            w += 4 + len;
        }
        pusher *p = &ps[m % portals];
        p->msgs[p->n++] = (message){buf, bytes};
    }
    void *ctx = zmq_ctx_new();
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    int hwm = 1000;
    zmq_setsockopt(pull, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    if (zmq_bind(pull, "tcp://127.0.0.1:*") != 0)
        die("bind: %s", zmq_strerror(errno));
    char endpoint[64];
    size_t elen = sizeof(endpoint);
    zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, endpoint, &elen);
    int64_t t0 = mono_ns();
    pthread_t th[MAX_PORTALS];
    for (unsigned k = 0; k < portals; k++) {
        ps[k].ctx = ctx;
        snprintf(ps[k].endpoint, sizeof(ps[k].endpoint), "%s", endpoint);
        pthread_create(&th[k], NULL, push_main, &ps[k]);
    }
    size_t got = 0;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    while (got < n) {
        if (zmq_msg_recv(&msg, pull, 0) < 0)
            die("recv: %s", zmq_strerror(errno));
        const uint8_t *p = zmq_msg_data(&msg), *end = p + zmq_msg_size(&msg);
        while (p + 4 <= end) {
            uint32_t len;
            memcpy(&len, p, 4);
            p += 4 + len;
            got++;
        }
    }
    double secs = (double)(mono_ns() - t0) / 1e9;
    zmq_msg_close(&msg);
    for (unsigned k = 0; k < portals; k++) {
        pthread_join(th[k], NULL);
        if (ps[k].error)
            die("push: %s", zmq_strerror(ps[k].error));
        for (size_t i = 0; i < ps[k].n; i++)
            free(ps[k].msgs[i].data);
        free(ps[k].msgs);
    }
    zmq_close(pull);
    zmq_ctx_term(ctx);
    return secs;
}

/* ---- lmdb ----------------------------------------------------------------- */

static void remove_env(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
}

static double run_lmdb(event_ref *ev, size_t n, size_t batch, const char *work, uint64_t bytes)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/lmdb-baseline-%d", work, (int)getpid());
    if (mkdir(dir, 0777) != 0)
        die("mkdir %s: %s", dir, strerror(errno));
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    int rc = mdb_env_create(&env);
    if (!rc)
        rc = mdb_env_set_mapsize(env, (size_t)(bytes * 3 + n * 64 + (64u << 20)));
    if (!rc)
        rc = mdb_env_open(env, dir, 0, 0644);
    if (!rc && !(rc = mdb_txn_begin(env, NULL, 0, &txn))) {
        rc = mdb_dbi_open(txn, NULL, 0, &dbi);
        if (!rc)
            rc = mdb_txn_commit(txn);
    }
    if (rc)
        die("lmdb %s: %s", dir, mdb_strerror(rc));
    int64_t t0 = mono_ns();
    uint64_t key = 0;
    for (size_t first = 0; first < n; first += batch) {
        if ((rc = mdb_txn_begin(env, NULL, 0, &txn)))
            die("txn: %s", mdb_strerror(rc));
        size_t last = first + batch < n ? first + batch : n;
        for (size_t i = first; i < last; i++) {
            key++;
            uint64_t be = __builtin_bswap64(key);
            MDB_val k = {sizeof(be), &be}, v = {ev[i].len, (void *)ev[i].data};
            if ((rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND)))
                die("put: %s", mdb_strerror(rc));
        }
        if ((rc = mdb_txn_commit(txn)))
            die("commit: %s", mdb_strerror(rc));
    }
    double secs = (double)(mono_ns() - t0) / 1e9;
    mdb_env_close(env);
    remove_env(dir);
    return secs;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *target = NULL, *work = ".";
    long events = 2000000, batch = 1000, portals = 4;
    static const struct option longs[] = {
        {"dir", required_argument, NULL, 'd'},    {"target", required_argument, NULL, 't'},
        {"events", required_argument, NULL, 'n'}, {"batch", required_argument, NULL, 'b'},
        {"portals", required_argument, NULL, 'p'}, {"work", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 't': target = optarg; break;
        case 'n': events = strtol(optarg, NULL, 10); break;
        case 'b': batch = strtol(optarg, NULL, 10); break;
        case 'p': portals = strtol(optarg, NULL, 10); break;
        case 'w': work = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: fprintf(stderr, "provbase: see provbase --help\n"); return 2;
        }
    }
    if (!dir || !target || (strcmp(target, "zmq") != 0 && strcmp(target, "lmdb") != 0) || events < 1 ||
        batch < 1 || batch > 1000000 || portals < 1 || portals > MAX_PORTALS) {
        fprintf(stderr, "provbase: --dir, --target zmq|lmdb, and sane numbers are needed; see --help\n");
        return 2;
    }
    /* the first events of each portal's file, the portals in turn */
    prov_reader *readers[MAX_PORTALS];
    unsigned nreaders = 0;
    for (unsigned k = 0; k < MAX_PORTALS; k++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/month-%u.evt", dir, k);
        char *why = NULL;
        int rc = prov_reader_open(path, &readers[nreaders], &why);
        if (rc == -ENOENT && k > 0)
            break;
        if (rc)
            die("%s", why ? why : strerror(-rc));
        nreaders++;
    }
    event_ref *ev = dd_calloc((size_t)events, sizeof(event_ref));
    size_t n = 0;
    uint64_t bytes = 0;
    bool any = true;
    while (n < (size_t)events && any) {
        any = false;
        for (unsigned k = 0; k < nreaders && n < (size_t)events; k++) {
            int64_t t;
            if (prov_reader_next(readers[k], &ev[n].data, &ev[n].len, &t)) {
                bytes += ev[n].len;
                n++;
                any = true;
            }
        }
    }
    if (n == 0)
        die("no events in %s/month-*.evt", dir);
    double secs = strcmp(target, "zmq") == 0 ? run_zmq(ev, n, (size_t)batch, (unsigned)portals)
                                             : run_lmdb(ev, n, (size_t)batch, work, bytes);
    printf("{\"target\": \"%s\", \"events\": %zu, \"bytes\": %" PRIu64 ", \"mean_event_bytes\": %.1f, "
           "\"batch\": %ld, \"portals\": %ld, \"seconds\": %.6f, \"events_per_s\": %.1f}\n",
           target, n, bytes, (double)bytes / (double)n, batch, strcmp(target, "zmq") == 0 ? portals : 1, secs,
           (double)n / secs);
    for (unsigned k = 0; k < nreaders; k++)
        prov_reader_close(&readers[k]);
    free(ev);
    return 0;
}
