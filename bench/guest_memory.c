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
 *
 * Files are removed at the end. Nothing here is doudi's code: it measures
 * the guest (free page reporting hands freed memory back to the host, so
 * the first touch of a page faults it in again) and ext4's page cache.
 */
#include <fcntl.h>
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
          "       guest_memory random DIR MIB N\n",
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

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "touch") == 0 && argc <= 4)
        return touch((size_t)atol(argv[2]), argc == 4 && strcmp(argv[3], "huge") == 0);
    if (argc == 5 && strcmp(argv[1], "append") == 0)
        return append(argv[2], (size_t)atol(argv[3]), (size_t)atol(argv[4]));
    if (argc == 5 && strcmp(argv[1], "random") == 0)
        return random_after(argv[2], (size_t)atol(argv[3]), atol(argv[4]));
    return usage();
}
