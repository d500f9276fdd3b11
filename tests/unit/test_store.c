/*
 * test_store.c: what the store promises about durability and about other
 * processes (known pitfalls 7 and 9 in the README): the environment is opened
 * with full sync, and the reader slot of a process killed with SIGKILL while
 * it held a read transaction is cleared by dd_store_reader_check.
 *
 * The reader is this same binary run again ("hold-reader DIR FD"): a fresh
 * process that opens the environment itself, never one that inherited it
 * through fork() (known pitfall 10 in the README).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "store.h"

static const char *self_path;

typedef struct fixture {
    char dir[64];
    dd_store *store;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(dd_store_open(f->dir, NULL, &f->store), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    dd_store_close(&f->store);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void test_full_sync(void **state)
{
    fixture *f = *state;
    unsigned flags = 0;
    assert_int_equal(mdb_env_get_flags(dd_store_env(f->store), &flags), 0);
    /* Any of these lets a power cut take commits that were acknowledged. */
    assert_int_equal(flags & MDB_NOSYNC, 0);
    assert_int_equal(flags & MDB_NOMETASYNC, 0);
    assert_int_equal(flags & MDB_MAPASYNC, 0);
}

static int count_readers(const char *msg, void *ctx)
{
    (void)msg;
    (*(int *)ctx)++;
    return 0;
}

/* Reader slots in the lock table whose line names a live or dead pid. */
static int readers(dd_store *store)
{
    int lines = 0;
    assert_true(mdb_reader_list(dd_store_env(store), count_readers, &lines) >= 0);
    return lines > 0 ? lines - 1 : 0; /* the first line is the header */
}

static void test_stale_reader_cleared(void **state)
{
    fixture *f = *state;
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        char fd[16];
        snprintf(fd, sizeof(fd), "%d", ready[1]);
        execl(self_path, self_path, "hold-reader", f->dir, fd, (char *)NULL);
        _exit(127);
    }
    close(ready[1]);
    char byte = 0;
    assert_int_equal(read(ready[0], &byte, 1), 1); /* the child's read txn is open */
    close(ready[0]);
    assert_int_equal(byte, 'r');
    assert_int_equal(readers(f->store), 1);
    int cleared = -1;
    assert_int_equal(dd_store_reader_check(f->store, &cleared), 0);
    assert_int_equal(cleared, 0); /* alive: its slot is not stale */

    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(readers(f->store), 1); /* the dead process still holds its slot */
    assert_int_equal(dd_store_reader_check(f->store, &cleared), 0);
    assert_int_equal(cleared, 1);
    assert_int_equal(readers(f->store), 0);
}

/* The child: opens the environment, begins a read transaction, says so, waits. */
static int hold_reader(const char *dir, int fd)
{
    MDB_env *env;
    MDB_txn *txn;
    if (mdb_env_create(&env) || mdb_env_open(env, dir, MDB_NOTLS | MDB_RDONLY, 0640) ||
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn))
        return 1;
    if (write(fd, "r", 1) != 1)
        return 1;
    for (;;)
        pause();
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc == 4 && strcmp(argv[1], "hold-reader") == 0)
        return hold_reader(argv[2], atoi(argv[3]));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_reader_cleared, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
