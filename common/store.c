/*
 * store.c: the LMDB environment and the write-transaction loop that survives
 * MDB_MAP_FULL (see store.h for the contract and the state picture).
 */
#include "store.h"

#include "alloc.h"
#include "diag.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARTICIPANTS 8

struct dd_store {
    MDB_env *env;
    char *dir;
    size_t map_bytes;
    size_t max_map_bytes;
    dd_store_participant participants[MAX_PARTICIPANTS];
    size_t nparticipants;
    dd_store_usage usage;
    int proc_io_fd; /* /proc/self/io, or -1 */
    dd_store_commit_observer observe;
    void *observe_arg;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Bytes this process has passed to write(2) and pwrite(2) so far ("wchar"
 * of /proc/self/io), 0 when unknown. Read around a commit, its growth is
 * what LMDB wrote: the dirty pages and the meta page.
 */
static uint64_t bytes_written(dd_store *store)
{
    if (store->proc_io_fd < 0)
        return 0;
    char buf[512];
    ssize_t n = pread(store->proc_io_fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *p = strstr(buf, "wchar:");
    return p ? strtoull(p + 6, NULL, 10) : 0;
}

static int commit(dd_store *store, MDB_txn *txn)
{
    uint64_t t0 = now_ns(), w0 = bytes_written(store);
    int rc = mdb_txn_commit(txn);
    uint64_t ns = now_ns() - t0, w1 = bytes_written(store);
    uint64_t bytes = w1 > w0 ? w1 - w0 : 0;
    store->usage.commit_ns += ns;
    store->usage.commit_written_bytes += bytes;
    if (rc == 0 && store->observe)
        store->observe(store->observe_arg, (double)ns / 1e9, bytes);
    return rc;
}

static int make_dir(const char *dir)
{
    /* mkdir -p: create each missing component. */
    char *path = dd_strdup(dir);
    int rc = 0;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0750) != 0 && errno != EEXIST)
            rc = -errno;
        *p = '/';
        if (rc)
            break;
    }
    if (!rc && mkdir(path, 0750) != 0 && errno != EEXIST)
        rc = -errno;
    free(path);
    return rc;
}

static void make_room(dd_store *store);

int dd_store_open(const char *dir, const dd_store_options *options, dd_store **out)
{
    int rc = make_dir(dir);
    if (rc) {
        dd_error("cannot create data directory %s: %s", dir, dd_strerror(rc));
        return rc;
    }
    dd_store *store = dd_calloc(1, sizeof(*store));
    store->dir = dd_strdup(dir);
    store->proc_io_fd = open("/proc/self/io", O_RDONLY | O_CLOEXEC);
    store->map_bytes = options && options->map_bytes ? options->map_bytes : (size_t)1 << 30;
    store->max_map_bytes = options ? options->max_map_bytes : 0;
    unsigned max_dbs = options && options->max_dbs ? options->max_dbs : 16;

    if ((rc = mdb_env_create(&store->env)) != 0)
        goto fail;
    if ((rc = mdb_env_set_maxdbs(store->env, max_dbs)) != 0)
        goto fail;
    if ((rc = mdb_env_set_mapsize(store->env, store->map_bytes)) != 0)
        goto fail;
    /* Full sync (no MDB_NOSYNC/NOMETASYNC): an acknowledged commit survives
     * a power cut. MDB_NOTLS lets a read txn live outside the thread that
     * began it, which we never rely on but keeps reader slots per txn. */
    unsigned flags = MDB_NOTLS | (options && options->random_reads ? MDB_NORDAHEAD : 0);
    if ((rc = mdb_env_open(store->env, dir, flags, 0640)) != 0)
        goto fail;
    /* The file may already be larger than what we asked for. */
    MDB_envinfo info;
    mdb_env_info(store->env, &info);
    store->map_bytes = info.me_mapsize;
    /* Now, before the map's pages are touched: growing maps it anew. */
    make_room(store);

    int cleared = 0;
    dd_store_reader_check(store, &cleared);
    if (cleared)
        dd_warn("%s: cleared %d stale LMDB reader slot(s) left by a killed process", dir, cleared);
    *out = store;
    return 0;

fail:
    dd_error("cannot open LMDB environment %s: %s", dir, mdb_strerror(rc));
    if (store->env)
        mdb_env_close(store->env);
    if (store->proc_io_fd >= 0)
        close(store->proc_io_fd);
    free(store->dir);
    free(store);
    return rc;
}

void dd_store_close(dd_store **store)
{
    if (!store || !*store)
        return;
    mdb_env_close((*store)->env);
    if ((*store)->proc_io_fd >= 0)
        close((*store)->proc_io_fd);
    free((*store)->dir);
    free(*store);
    *store = NULL;
}

MDB_env *dd_store_env(dd_store *store)
{
    return store->env;
}

int dd_store_dbi(dd_store *store, const char *name, unsigned flags, MDB_dbi *dbi)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(store->env, NULL, 0, &txn);
    if (rc)
        return rc;
    rc = mdb_dbi_open(txn, name, flags | MDB_CREATE, dbi);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

void dd_store_observe_commits(dd_store *store, dd_store_commit_observer observe, void *arg)
{
    store->observe = observe;
    store->observe_arg = arg;
}

void dd_store_add_participant(dd_store *store, const dd_store_participant *p)
{
    if (store->nparticipants == MAX_PARTICIPANTS) {
        dd_error("store: more than %d participants; aborting", MAX_PARTICIPANTS);
        abort();
    }
    store->participants[store->nparticipants++] = *p;
}

static void tell_aborted(dd_store *store)
{
    for (size_t i = 0; i < store->nparticipants; i++)
        if (store->participants[i].aborted)
            store->participants[i].aborted(store->participants[i].arg);
}

static void tell_committed(dd_store *store)
{
    for (size_t i = 0; i < store->nparticipants; i++)
        if (store->participants[i].committed)
            store->participants[i].committed(store->participants[i].arg);
}

int dd_store_grow(dd_store *store)
{
    if (store->max_map_bytes && store->map_bytes >= store->max_map_bytes)
        return MDB_MAP_FULL;
    size_t next = store->map_bytes * 2;
    if (store->max_map_bytes && next > store->max_map_bytes)
        next = store->max_map_bytes;
    int rc = mdb_env_set_mapsize(store->env, next);
    if (rc)
        return rc;
    dd_info("%s: LMDB map grown from %zu to %zu MiB", store->dir, store->map_bytes >> 20,
            next >> 20);
    store->map_bytes = next;
    store->usage.grows++;
    return 0;
}

/*
 * Grows the map before a transaction can find it full: a batch that meets
 * MDB_MAP_FULL is undone and run again, and what mirrors it in memory can
 * be dear to undo (eligibility's journal index is read back from disk).
 * A quarter of the map is kept free; a fold writes gigabytes at once.
 */
static void make_room(dd_store *store)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(store->env, &info) != 0 || mdb_env_stat(store->env, &st) != 0)
        return;
    size_t used = ((size_t)info.me_last_pgno + 1) * st.ms_psize;
    if (used < store->map_bytes && store->map_bytes - used >= store->map_bytes / 4)
        return;
    /* At max_map_bytes it cannot: the transaction may still fit. */
    (void)dd_store_grow(store);
}

int dd_store_write(dd_store *store, dd_store_write_fn fn, void *arg)
{
    make_room(store);
    for (;;) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(store->env, NULL, 0, &txn);
        if (rc == MDB_MAP_RESIZED) {
            /* Another process grew the map (mdb_stat, say): adopt it. */
            mdb_env_set_mapsize(store->env, 0);
            rc = mdb_txn_begin(store->env, NULL, 0, &txn);
        }
        if (rc)
            return rc;
        rc = fn(txn, arg);
        if (rc == 0) {
            rc = commit(store, txn); /* frees txn whatever the outcome */
            if (rc == 0) {
                store->usage.commits++;
                tell_committed(store);
                return 0;
            }
        } else {
            mdb_txn_abort(txn);
        }
        tell_aborted(store);
        if (rc != MDB_MAP_FULL)
            return rc;
        int grow_rc = dd_store_grow(store);
        if (grow_rc) {
            dd_error("%s: LMDB map is full at %zu MiB and cannot grow: %s", store->dir,
                     store->map_bytes >> 20, mdb_strerror(grow_rc));
            return MDB_MAP_FULL;
        }
        store->usage.retries++;
    }
}

int dd_store_reader_check(dd_store *store, int *cleared)
{
    int dead = 0;
    int rc = mdb_reader_check(store->env, &dead);
    if (rc == 0)
        store->usage.stale_readers_cleared += (uint64_t)dead;
    if (cleared)
        *cleared = dead;
    return rc;
}

void dd_store_usage_get(dd_store *store, dd_store_usage *usage)
{
    MDB_envinfo info;
    MDB_stat stat;
    mdb_env_info(store->env, &info);
    mdb_env_stat(store->env, &stat);
    *usage = store->usage;
    usage->map_bytes = info.me_mapsize;
    usage->used_bytes = (uint64_t)(info.me_last_pgno + 1) * stat.ms_psize;
}
