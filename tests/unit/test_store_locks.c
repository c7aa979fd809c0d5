/* test_store_locks.c: the store never lets go of the database file's POSIX
 * locks while it is open, so another process that opens and closes the
 * database (the sqlite3 shell, `flowlogd account create`, a backup) never
 * checkpoints and deletes the WAL under it, and an acknowledged write
 * survives the process dying right after.
 *
 * fcntl locks belong to the (process, inode) pair: closing any descriptor
 * of the file drops every lock the process holds on it. The store's VFS
 * layer keeps a descriptor of its own for its mapping; if closing one
 * connection closed that descriptor, the others' SHARED lock was gone.
 *
 * The store runs in a child process (so it can die without closing); the
 * parent plays the other processes. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_fixture.h"

/* SQLite's unix locking bytes (os_unix.c, and the file format document) */
#define SQ_PENDING_BYTE 0x40000000
#define SQ_SHARED_FIRST (SQ_PENDING_BYTE + 2)
#define SQ_SHARED_SIZE 510

static void die(const char *what)
{
    fprintf(stderr, "store child: %s\n", what);
    _exit(2);
}

static void read_byte(int fd)
{
    char c;
    if (read(fd, &c, 1) != 1)
        die("lost the parent");
}

static void write_all(int fd, const void *p, size_t n)
{
    if (write(fd, p, n) != (ssize_t)n)
        die("write to the parent");
}

struct lookup_arg {
    struct store *s;
    const char *sid;
    int rc;
};

static void *lookup_thread(void *p)
{
    struct lookup_arg *a = p;
    struct key_info ki;
    struct serr e = {{0}};
    a->rc = store_key_lookup(a->s, a->sid, &ki, &e);
    return NULL; /* the thread ends: its reader connection is closed */
}

/* The store's process: two reader connections, one of which closes (its
 * thread ends); then, once the parent says so, an acknowledged write and
 * death without closing anything. */
static void store_child(const char *data, int to_parent, int from_parent)
{
    struct serr e = {{0}};
    struct store *s = store_open_sqlite(data, &e);
    struct key_info k1, k2, got;
    struct lookup_arg arg;
    pthread_t t;

    if (!s)
        die(e.msg);
    if (store_account_create(s, 10, &k1.account, &e) != STORE_OK ||
        store_key_create(s, k1.account.uin, "", &k1, &e) != STORE_OK)
        die(e.msg);
    if (store_key_lookup(s, k1.secret_id, &got, &e) != STORE_OK) /* this thread's reader */
        die(e.msg);
    arg = (struct lookup_arg){s, k1.secret_id, -1};
    if (pthread_create(&t, NULL, lookup_thread, &arg) != 0 || pthread_join(t, NULL) != 0 ||
        arg.rc != STORE_OK)
        die("second reader");
    write_all(to_parent, "r", 1);
    read_byte(from_parent);

    if (store_account_create(s, 10, &k2.account, &e) != STORE_OK ||
        store_key_create(s, k2.account.uin, "", &k2, &e) != STORE_OK)
        die(e.msg);
    /* acknowledged: tell the parent which key, then die without closing */
    write_all(to_parent, k2.secret_id, sizeof k2.secret_id);
    _exit(0);
}

/* In a process of its own: is anybody holding a lock that conflicts with
 * writing the SHARED range (that is: does anybody hold SHARED)? */
static int shared_lock_held(const char *db)
{
    pid_t pid = fork();
    int st;
    assert_true(pid >= 0);
    if (pid == 0) {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET,
                           .l_start = SQ_SHARED_FIRST, .l_len = SQ_SHARED_SIZE};
        int fd = open(db, O_RDONLY);
        if (fd < 0 || fcntl(fd, F_GETLK, &fl) != 0)
            _exit(2);
        _exit(fl.l_type == F_UNLCK ? 1 : 0);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 2);
    return WEXITSTATUS(st) == 0;
}

static int run(const char *cmd)
{
    int rc = system(cmd);
    return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void test_other_process_never_takes_the_wal(void **state)
{
    char dir[64], data[96], db[128], cmd[512];
    int up[2], down[2], st;
    struct store *s;
    struct key_info got;
    struct serr e = {{0}};
    char sid[sizeof got.secret_id];
    const char *bin = getenv("FLOWLOGD_BIN");
    pid_t pid;
    ssize_t n;

    (void)state;
    /* make the data directory, then let the child own the store */
    s = fixture_open(dir, data, "flowlogd-locks");
    store_close(s);
    snprintf(db, sizeof db, "%s/flowlogd.db", data);
    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(down), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(up[0]);
        close(down[1]);
        store_child(data, up[1], down[0]);
    }
    close(up[1]);
    close(down[0]);
    {
        char c;
        assert_int_equal(read(up[0], &c, 1), 1);
    }

    /* one of the store's connections has closed: its SHARED lock must stay */
    assert_true(shared_lock_held(db));

    /* other processes open and close the database under the running store */
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'select count(*) from accounts' >/dev/null", db);
    assert_int_equal(run(cmd), 0);
    if (bin && *bin) {
        snprintf(cmd, sizeof cmd, "'%s' account create --data '%s' >/dev/null", bin, data);
        assert_int_equal(run(cmd), 0);
    } else {
        print_message("[  SKIPPED ] `flowlogd account create` part: FLOWLOGD_BIN is not set\n");
    }
    assert_true(shared_lock_held(db));

    /* an acknowledged write, then the store's process dies */
    assert_int_equal(write(down[1], "w", 1), 1);
    n = read(up[0], sid, sizeof sid);
    assert_int_equal(n, (ssize_t)sizeof sid);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(up[0]);
    close(down[1]);

    /* after reopening, the write is there */
    s = store_open_sqlite(data, &e);
    if (!s)
        fail_msg("reopen: %s", e.msg);
    assert_int_equal(store_key_lookup(s, sid, &got, &e), STORE_OK);
    fixture_close(s, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_other_process_never_takes_the_wal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
