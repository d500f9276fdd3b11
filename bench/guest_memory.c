/*
 * guest_memory: what fresh memory and page-cache writes cost on this
 * machine, the measurements behind README's "What the guest does with
 * memory".
 *
 *   guest_memory touch GIB [huge]     maps GIB of anonymous memory, writes a
 *                                     byte a page, unmaps it; four times.
 *                                     "huge" asks for transparent huge pages.
 *   guest_memory append DIR MIB KIB   appends MIB to a new file in DIR in
 *                                     writes of KIB, fdatasync every 16 MiB;
 *                                     the system time the writes took a page.
 *   guest_memory random DIR MIB N     writes MIB to a new file in DIR in 1 MiB
 *                                     writes, then N random 4 KiB pwrites
 *                                     twice, then again after dropping the
 *                                     file's pages, then after reading it all
 *                                     through mmap; time a write each.
 *   guest_memory reach MIB...         for each size, an array of MIB on
 *                                     transparent huge pages, written once,
 *                                     then read at random cache lines:
 *                                     independent reads (the processor
 *                                     overlaps their misses, as the daemons'
 *                                     prefetched tables do) and a dependent
 *                                     chain (one miss after another, as a
 *                                     B-tree descent); ns a read.
 *   guest_memory btree DIR ENTRIES... for each count, an LMDB tree in DIR of
 *                                     ENTRIES 29-byte keys with 470-byte
 *                                     values (eligibility's households tree
 *                                     holds about 8.7 million such in a
 *                                     province, 87,000 in a county), then
 *                                     a million mdb_get of random keys, twice
 *                                     (the second with every page in the page
 *                                     cache); ns a get.
 *
 * Files are removed at the end. Nothing here is doudi's code: it measures
 * the guest (free page reporting hands freed memory back to the host, so
 * the first touch of a page faults it in again) and ext4's page cache.
 */
#include <fcntl.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double system_s(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6;
}

static int usage(void)
{
    fputs("usage: guest_memory touch GIB [huge]\n"
          "       guest_memory append DIR MIB KIB\n"
          "       guest_memory random DIR MIB N\n"
          "       guest_memory reach MIB...\n"
          "       guest_memory btree DIR ENTRIES...\n",
          stderr);
    return 2;
}

static int touch(size_t gib, int huge)
{
    size_t bytes = gib << 30;
    for (int pass = 1; pass <= 4; pass++) {
        char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            perror("guest_memory: mmap");
            return 1;
        }
        (void)madvise(p, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
        double t = now_s();
        for (size_t i = 0; i < bytes; i += 4096)
            p[i] = 1;
        printf("touch %zu GiB%s, pass %d: %.2f s\n", gib, huge ? " (huge pages)" : "", pass,
               now_s() - t);
        munmap(p, bytes);
    }
    return 0;
}

static int open_new(const char *dir, char *path, size_t size)
{
    snprintf(path, size, "%s/guest_memory.%d", dir, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        perror(path);
    return fd;
}

static int append(const char *dir, size_t mib, size_t kib)
{
    char path[4096];
    int fd = open_new(dir, path, sizeof(path));
    if (fd < 0)
        return 1;
    size_t total = mib << 20, chunk = kib << 10, since = 0;
    char *buf = aligned_alloc(4096, chunk);
    memset(buf, 7, chunk);
    double wall = now_s(), writes = 0;
    for (size_t off = 0; off + chunk <= total; off += chunk) {
        double s = system_s();
        if (pwrite(fd, buf, chunk, (off_t)off) != (ssize_t)chunk) {
            perror("guest_memory: pwrite");
            break;
        }
        writes += system_s() - s;
        if ((since += chunk) >= (16u << 20)) {
            fdatasync(fd);
            since = 0;
        }
    }
    fdatasync(fd);
    printf("append %zu MiB in %zu KiB writes: %.2f s, the writes %.2f s of system time, "
           "%.0f ns a page\n", mib, kib, now_s() - wall, writes, writes / (double)(total / 4096) * 1e9);
    free(buf);
    close(fd);
    unlink(path);
    return 0;
}

static void random_writes(int fd, size_t pages, long n, const char *what, const char *page)
{
    double t = now_s();
    for (long i = 0; i < n; i++)
        if (pwrite(fd, page, 4096, (off_t)((size_t)random() % pages * 4096)) != 4096)
            perror("guest_memory: pwrite");
    double w = now_s() - t;
    t = now_s();
    fdatasync(fd);
    printf("%ld random 4 KiB writes %s: %.0f ns each, fdatasync %.2f s\n", n, what,
           w / (double)n * 1e9, now_s() - t);
}

static int random_after(const char *dir, size_t mib, long n)
{
    char path[4096];
    int fd = open_new(dir, path, sizeof(path));
    if (fd < 0)
        return 1;
    size_t size = mib << 20, pages = size / 4096;
    char *buf = aligned_alloc(4096, 1 << 20);
    memset(buf, 7, 1 << 20);
    for (size_t off = 0; off < size; off += 1 << 20)
        if (pwrite(fd, buf, 1 << 20, (off_t)off) != 1 << 20)
            perror("guest_memory: pwrite");
    fdatasync(fd);
    srandom(1);
    random_writes(fd, pages, n, "into a file written in 1 MiB pieces", buf);
    random_writes(fd, pages, n, "again", buf);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    random_writes(fd, pages, n, "after its pages were dropped", buf);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    const volatile char *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        perror("guest_memory: mmap");
    } else {
        char sum = 0;
        for (size_t off = 0; off < size; off += 4096)
            sum = (char)(sum + m[off]);
        (void)sum;
        random_writes(fd, pages, n, "after reading it all through mmap", buf);
        munmap((void *)m, size);
    }
    free(buf);
    close(fd);
    unlink(path);
    return 0;
}

static uint64_t next_random(uint64_t *state)
{
    /* splitmix64: cheap next to a cache miss, and no pattern a prefetcher finds */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int reach(int nsizes, char **sizes)
{
    for (int i = 0; i < nsizes; i++) {
        size_t bytes = (size_t)atol(sizes[i]) << 20, lines = bytes / 64;
        if (lines < 2)
            return usage();
        uint64_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            perror("guest_memory: mmap");
            return 1;
        }
        (void)madvise(p, bytes, MADV_HUGEPAGE);
        /* A single cycle through every line in random order (Sattolo), its
         * links in each line's first word: the chain reads every line once. */
        for (size_t l = 0; l < lines; l++)
            p[l * 8] = l;
        uint64_t rng = 1;
        for (size_t l = lines - 1; l > 0; l--) {
            size_t j = (size_t)(next_random(&rng) % l);
            uint64_t t = p[l * 8];
            p[l * 8] = p[j * 8];
            p[j * 8] = t;
        }
        const long reads = 4000000;
        uint64_t sum = 0;
        double t = now_s();
        for (long r = 0; r < reads; r++)
            sum += p[(next_random(&rng) % lines) * 8];
        double independent = (now_s() - t) / reads * 1e9;
        size_t at = 0;
        t = now_s();
        for (long r = 0; r < reads; r++)
            at = (size_t)p[at * 8];
        double chained = (now_s() - t) / reads * 1e9;
        printf("reach %6zu MiB: %6.1f ns a random read, %6.1f ns a read in a dependent chain%s\n",
               bytes >> 20, independent, chained, (sum + at) == 1 ? " " : "");
        munmap(p, bytes);
    }
    return 0;
}

enum { TREE_KEY_BYTES = 29 };

static void tree_key(char key[48], uint64_t n)
{
    /* a household id, the unit separator, an identity number: 29 bytes,
     * sorting as n does (n below 10^10) */
    snprintf(key, 48, "HH%010llu" "\x1f" "44010619%08llu", (unsigned long long)(n % 10000000000ull),
             (unsigned long long)(n % 100000000ull));
}

static int btree(const char *dir, int ncounts, char **counts)
{
    for (int i = 0; i < ncounts; i++) {
        uint64_t entries = (uint64_t)atoll(counts[i]);
        if (!entries)
            return usage();
        MDB_env *env;
        MDB_txn *txn;
        MDB_dbi dbi;
        char path[4096], key[48], value[470];
        snprintf(path, sizeof(path), "%s/guest_memory-btree.mdb", dir);
        memset(value, 7, sizeof(value));
        int rc = mdb_env_create(&env);
        if (!rc)
            rc = mdb_env_set_mapsize(env, (size_t)(entries * 1200 + (64u << 20)));
        if (!rc)
            rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_NOSYNC, 0600);
        double t = now_s();
        for (uint64_t n = 0; !rc && n < entries;) {
            if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
                break;
            if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0) {
                mdb_txn_abort(txn);
                break;
            }
            for (uint64_t end = n + 100000; !rc && n < entries && n < end; n++) {
                tree_key(key, n);
                MDB_val k = {TREE_KEY_BYTES, key}, v = {sizeof(value), value};
                rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND);
            }
            rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
        }
        if (rc) {
            fprintf(stderr, "guest_memory: lmdb %s: %s\n", path, mdb_strerror(rc));
            mdb_env_close(env);
            unlink(path);
            return 1;
        }
        double fill = now_s() - t;
        MDB_stat st;
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
        mdb_stat(txn, dbi, &st);
        const long gets = 1000000;
        uint64_t rng = 2;
        double ns[2];
        for (int pass = 0; pass < 2; pass++) {
            t = now_s();
            for (long g = 0; g < gets; g++) {
                tree_key(key, next_random(&rng) % entries);
                MDB_val k = {TREE_KEY_BYTES, key}, v;
                if (mdb_get(txn, dbi, &k, &v) != 0 || v.mv_size != sizeof(value))
                    fprintf(stderr, "guest_memory: a key written is missing\n");
            }
            ns[pass] = (now_s() - t) / gets * 1e9;
        }
        mdb_txn_abort(txn);
        printf("btree %10llu entries (depth %u, %zu MiB of pages, filled in %.1f s): "
               "%6.0f ns a random get, %6.0f ns again\n",
               (unsigned long long)entries, st.ms_depth,
               (size_t)((st.ms_branch_pages + st.ms_leaf_pages) * st.ms_psize) >> 20, fill, ns[0],
               ns[1]);
        mdb_env_close(env);
        unlink(path);
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "-lock");
        unlink(path);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "reach") == 0)
        return reach(argc - 2, argv + 2);
    if (argc >= 4 && strcmp(argv[1], "btree") == 0)
        return btree(argv[2], argc - 3, argv + 3);
    if (argc >= 3 && strcmp(argv[1], "touch") == 0 && argc <= 4)
        return touch((size_t)atol(argv[2]), argc == 4 && strcmp(argv[3], "huge") == 0);
    if (argc == 5 && strcmp(argv[1], "append") == 0)
        return append(argv[2], (size_t)atol(argv[3]), (size_t)atol(argv[4]));
    if (argc == 5 && strcmp(argv[1], "random") == 0)
        return random_after(argv[2], (size_t)atol(argv[3]), atol(argv[4]));
    return usage();
}
