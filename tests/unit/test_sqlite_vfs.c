/* test_sqlite_vfs.c: the "flowlogd" VFS (store/sqlite/sqlite_vfs.c): WAL
 * writes coalesced but durable at every commit, and visible to other
 * connections and processes; database mappings kept across other
 * connections' commits, file growth and shrinking; the wal-index stamp;
 * checkpoints' early write-back. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/sqlite/sqlite_vfs.h"

static char dir[64], db_path[96];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/flowlogd-vfs-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(db_path, sizeof db_path, "%s/t.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* Opens path through the flowlogd VFS (vfs = 1) or the plain default one. */
static sqlite3 *open_db(const char *path, int vfs, const char *pragmas)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                             vfs ? sq_vfs_name() : NULL);
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (pragmas)
        assert_int_equal(sqlite3_exec(db, pragmas, NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

static long long one(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Inserts n rows of `bytes` random bytes in one transaction. */
static void insert_rows(sqlite3 *db, int n, int bytes)
{
    char sql[128];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d) "
             "INSERT INTO t(b) SELECT randomblob(%d) FROM c",
             n, bytes);
    exec(db, sql);
}

static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY), out;
    if (in < 0)
        return; /* no such file (e.g. no -shm): nothing to copy */
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(out >= 0);
    while ((n = read(in, buf, sizeof buf)) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

#define WRITER_PRAGMAS "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"

/* Every commit is in the WAL file when COMMIT returns: a copy of the files
 * taken then (what a crash would leave) holds every committed row, with
 * large commits written in pieces (more than the buffer, more than the
 * unix VFS writes at once). */
static void test_wal_buffer_durable(void **state)
{
    struct sq_vfs_stats a, b;
    char path[160], copy[160];
    long long rows = 0;
    sqlite3 *w, *other, *c;
    (void)state;

    w = open_db(db_path, 1, WRITER_PRAGMAS "PRAGMA wal_autocheckpoint = 0;");
    exec(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
    assert_int_equal(sq_vfs_buffer_wal(w, 1 << 20), 0);
    assert_int_equal(sq_vfs_buffer_wal(w, 1 << 20), -1); /* once */
    other = open_db(db_path, 0, NULL);
    sq_vfs_stats(&a);
    const int sizes[][2] = {{1, 100}, {10, 3000}, {300, 4000}, {2, 900000}, {50, 50}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        insert_rows(w, sizes[i][0], sizes[i][1]);
        rows += sizes[i][0];
        /* another connection, plain unix VFS, sees it */
        assert_int_equal(one(other, "SELECT count(*) FROM t"), rows);
        /* and so does a copy of the files as they are now */
        snprintf(copy, sizeof copy, "%s/copy.db", dir);
        unlink(copy);
        copy_file(db_path, copy);
        snprintf(path, sizeof path, "%s-wal", db_path);
        snprintf(copy, sizeof copy, "%s/copy.db-wal", dir);
        copy_file(path, copy);
        snprintf(copy, sizeof copy, "%s/copy.db-shm", dir);
        unlink(copy);
        snprintf(copy, sizeof copy, "%s/copy.db", dir);
        c = open_db(copy, 0, NULL);
        assert_int_equal(one(c, "SELECT count(*) FROM t"), rows);
        assert_int_equal(one(c, "SELECT count(*) FROM pragma_integrity_check "
                                "WHERE integrity_check != 'ok'"),
                         0);
        sqlite3_close(c);
    }
    sq_vfs_stats(&b);
    /* the WAL got SQLite's many small writes as far fewer large ones */
    assert_true(b.wal_flushes > a.wal_flushes);
    assert_true(b.wal_writes - a.wal_writes > 20 * (b.wal_flushes - a.wal_flushes));
    sqlite3_close(other);
    sqlite3_close(w);
}

/* Buffering is refused where a commit would be published unsynced, or on
 * a connection that is not ours. */
static void test_wal_buffer_refused(void **state)
{
    sqlite3 *a, *b;
    (void)state;
    a = open_db(db_path, 1, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                            "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB);");
    assert_int_equal(sq_vfs_buffer_wal(a, 1 << 20), -1);
    b = open_db(db_path, 0, WRITER_PRAGMAS "SELECT count(*) FROM t;");
    assert_int_equal(sq_vfs_buffer_wal(b, 1 << 20), -1);
    sqlite3_close(b);
    sqlite3_close(a);
}

/* A transaction larger than the writer's cache spills frames into the WAL
 * before its commit (SQLite reads some back: written out first) and is
 * rolled back; another process then writes the WAL; ours writes again. */
static void test_wal_buffer_spill_rollback(void **state)
{
    struct sq_vfs_stats a, b;
    sqlite3 *w, *other;
    (void)state;
    w = open_db(db_path, 1, WRITER_PRAGMAS "PRAGMA cache_size = 20;"
                            "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB);");
    assert_int_equal(sq_vfs_buffer_wal(w, 1 << 20), 0);
    other = open_db(db_path, 0, NULL);
    insert_rows(w, 10, 100);
    sq_vfs_stats(&a);
    exec(w, "BEGIN");
    insert_rows(w, 400, 3000); /* ~300 pages through a 20-page cache */
    sq_vfs_stats(&b);
    assert_true(b.wal_writes > a.wal_writes); /* it did spill */
    assert_int_equal(one(w, "SELECT count(*) FROM t"), 410);
    exec(w, "ROLLBACK");
    exec(other, "BEGIN IMMEDIATE");
    insert_rows(other, 30, 2000);
    exec(other, "COMMIT");
    insert_rows(w, 5, 100);
    assert_int_equal(one(other, "SELECT count(*) FROM t"), 45);
    assert_int_equal(one(w, "SELECT count(*) FROM t"), 45);
    sqlite3_close(w);
    sqlite3_close(other);
    other = open_db(db_path, 0, NULL);
    assert_int_equal(one(other, "SELECT count(*) FROM t"), 45);
    assert_int_equal(one(other, "SELECT count(*) FROM pragma_integrity_check "
                                "WHERE integrity_check != 'ok'"),
                     0);
    sqlite3_close(other);
}

/* Frames still buffered when a write transaction ends without a sync (a
 * rolled-back transaction's spill) are written out before the write lock
 * is released, so never later over frames another process wrote after
 * it: uncommitted frames are put into the WAL handle directly here. */
static void test_wal_buffer_out_before_unlock(void **state)
{
    sqlite3_file *wal = NULL;
    sqlite3_int64 end = 0;
    char junk[3 * (4096 + 24)];
    sqlite3 *w, *other;
    (void)state;

    w = open_db(db_path, 1, WRITER_PRAGMAS "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB);");
    assert_int_equal(sq_vfs_buffer_wal(w, 1 << 20), 0);
    other = open_db(db_path, 0, NULL);
    insert_rows(w, 10, 100);
    exec(w, "BEGIN IMMEDIATE");
    assert_int_equal(sqlite3_file_control(w, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal),
                     SQLITE_OK);
    assert_int_equal(wal->pMethods->xFileSize(wal, &end), SQLITE_OK);
    memset(junk, 0xab, sizeof junk);
    assert_int_equal(wal->pMethods->xWrite(wal, junk, (int)sizeof junk, end), SQLITE_OK);
    exec(w, "ROLLBACK");
    /* the other process's frames go where the junk went */
    exec(other, "BEGIN IMMEDIATE");
    insert_rows(other, 30, 2000);
    exec(other, "COMMIT");
    insert_rows(w, 5, 100);
    assert_int_equal(one(other, "SELECT sum(length(b)) FROM t"), 15 * 100 + 30 * 2000);
    sqlite3_close(other);
    other = open_db(db_path, 0, NULL);
    assert_int_equal(one(other, "SELECT sum(length(b)) FROM t"), 15 * 100 + 30 * 2000);
    assert_int_equal(one(other, "SELECT count(*) FROM pragma_integrity_check "
                                "WHERE integrity_check != 'ok'"),
                     0);
    sqlite3_close(other);
    sqlite3_close(w);
}

/* A reader keeps one mapping while another connection commits, grows the
 * database file through checkpoints, and later shrinks it (VACUUM): every
 * read is right, nothing is unmapped until the reader closes. */
static void test_map_kept(void **state)
{
    struct sq_vfs_stats a, b;
    sqlite3 *w, *r;
    long long rows = 0;
    (void)state;

    w = open_db(db_path, 0, WRITER_PRAGMAS "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB);");
    insert_rows(w, 100, 1000);
    rows = 100;
    r = open_db(db_path, 1, "PRAGMA mmap_size = 268435456;");
    sq_vfs_stats(&a);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(one(r, "SELECT count(*) FROM t"), rows);
        assert_int_equal(one(r, "SELECT sum(length(b)) FROM t"), rows * 1000);
        insert_rows(w, 50, 1000);
        rows += 50;
        if (i % 5 == 4)
            exec(w, "PRAGMA wal_checkpoint(TRUNCATE)"); /* the database file grows */
    }
    sq_vfs_stats(&b);
    assert_int_equal(b.maps - a.maps, 1);
    assert_int_equal(b.unmaps - a.unmaps, 0);

    /* shrink it under the reader: most rows deleted, VACUUM, checkpoint */
    exec(w, "DELETE FROM t WHERE id > 20");
    exec(w, "VACUUM");
    exec(w, "PRAGMA wal_checkpoint(TRUNCATE)");
    assert_int_equal(one(r, "SELECT count(*) FROM t"), 20);
    assert_int_equal(one(r, "SELECT sum(length(b)) FROM t"), 20 * 1000);
    insert_rows(w, 200, 1000);
    exec(w, "PRAGMA wal_checkpoint(TRUNCATE)");
    assert_int_equal(one(r, "SELECT count(*) FROM t"), 220);
    assert_int_equal(one(r, "SELECT sum(length(b)) FROM t"), 220 * 1000);
    assert_int_equal(one(r, "SELECT count(*) FROM pragma_integrity_check "
                            "WHERE integrity_check != 'ok'"),
                     0);
    sqlite3_close(r);
    sq_vfs_stats(&b);
    assert_int_equal(b.unmaps - a.unmaps, 1);
    sqlite3_close(w);
}

/* mmap_size 0 maps nothing; changing it replaces the mapping. */
static void test_map_size_changes(void **state)
{
    struct sq_vfs_stats a, b;
    sqlite3 *r;
    (void)state;
    r = open_db(db_path, 1, "PRAGMA journal_mode = WAL; CREATE TABLE t(b BLOB);"
                            "INSERT INTO t VALUES (randomblob(50000));"
                            "PRAGMA wal_checkpoint(TRUNCATE);");
    sq_vfs_stats(&a);
    assert_int_equal(one(r, "SELECT length(b) FROM t"), 50000);
    sq_vfs_stats(&b);
    assert_int_equal(b.maps - a.maps, 0);
    exec(r, "PRAGMA mmap_size = 1048576");
    assert_int_equal(one(r, "SELECT length(b) FROM t"), 50000);
    exec(r, "PRAGMA mmap_size = 2097152");
    assert_int_equal(one(r, "SELECT length(b) FROM t"), 50000);
    assert_int_equal(one(r, "PRAGMA mmap_size"), 2097152);
    sqlite3_close(r);
    sq_vfs_stats(&b);
    assert_int_equal(b.maps - a.maps, 2);
    assert_int_equal(b.unmaps - a.unmaps, 2);
}

/* The wal-index stamp: none before the connection's first read; then
 * equal while nothing happens, and different after another connection's
 * commit, a checkpoint that copied frames, and a restart of the WAL. */
static void stamp_of(sqlite3 *db, struct sq_wal_stamp *out)
{
    sqlite3_file *f = NULL;
    assert_int_equal(sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f), SQLITE_OK);
    assert_int_equal(sq_vfs_wal_stamp(f, out), 0);
}

static void test_wal_stamp(void **state)
{
    struct sq_wal_stamp a, b;
    sqlite3_file *f = NULL;
    sqlite3 *w, *r;
    (void)state;

    w = open_db(db_path, 0, WRITER_PRAGMAS "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB);");
    r = open_db(db_path, 1, NULL);
    assert_int_equal(sqlite3_file_control(r, "main", SQLITE_FCNTL_FILE_POINTER, &f), SQLITE_OK);
    assert_int_equal(sq_vfs_wal_stamp(f, &a), -1); /* no read yet: no wal-index */
    assert_int_equal(sq_vfs_wal_stamp(NULL, &a), -1);
    assert_int_equal(one(r, "SELECT count(*) FROM t"), 0);
    stamp_of(r, &a);
    assert_int_equal(one(r, "SELECT count(*) FROM t"), 0);
    stamp_of(r, &b);
    assert_memory_equal(&a, &b, sizeof a);

    insert_rows(w, 3, 100); /* a commit */
    stamp_of(r, &b);
    assert_memory_not_equal(&a, &b, sizeof a);
    a = b;
    exec(w, "PRAGMA wal_checkpoint(PASSIVE)"); /* frames copied, nothing committed */
    stamp_of(r, &b);
    assert_memory_not_equal(&a, &b, sizeof a);
    a = b;
    insert_rows(w, 1, 100); /* the WAL starts again from its beginning */
    stamp_of(r, &b);
    assert_memory_not_equal(&a, &b, sizeof a);
    assert_int_equal(one(r, "SELECT count(*) FROM t"), 4);
    sqlite3_close(r);
    sqlite3_close(w);
}

/* A checkpoint's writes to the database file start its write-back as they
 * go (every 256 KiB); the file is the same as without. */
static void test_checkpoint_writeback(void **state)
{
    struct sq_vfs_stats a, b;
    sqlite3 *w;
    (void)state;

    w = open_db(db_path, 1, WRITER_PRAGMAS "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB);");
    exec(w, "PRAGMA wal_checkpoint(TRUNCATE)");
    insert_rows(w, 1000, 1000); /* ~1 MB into the WAL */
    sq_vfs_stats(&a);
    exec(w, "PRAGMA wal_checkpoint(TRUNCATE)"); /* ~1 MB into the database file */
    sq_vfs_stats(&b);
    assert_true(b.writebacks - a.writebacks >= 3);
    assert_int_equal(one(w, "SELECT count(*) FROM t WHERE length(b) = 1000"), 1000);
    sqlite3_close(w);
    w = open_db(db_path, 0, NULL);
    assert_int_equal(one(w, "SELECT count(*) FROM pragma_integrity_check "
                            "WHERE integrity_check != 'ok'"),
                     0);
    assert_int_equal(one(w, "SELECT count(*) FROM t"), 1000);
    sqlite3_close(w);
}

/* One descriptor per file and process, however many connections: closing
 * a connection never closes a descriptor of a file another connection of
 * the process has open (that would drop its POSIX locks); the last close
 * does. And the lock of a connection that stays open is still held after
 * another one closed. */
static int other_process_sees_shared(const char *path)
{
    pid_t pid = fork();
    int st;
    assert_true(pid >= 0);
    if (pid == 0) {
        /* SQLite's unix locks: SHARED is a read lock on 510 bytes at 2 past
         * the pending byte (0x40000000) */
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET,
                           .l_start = 0x40000002, .l_len = 510};
        int fd = open(path, O_RDONLY);
        if (fd < 0 || fcntl(fd, F_GETLK, &fl) != 0)
            _exit(2);
        _exit(fl.l_type == F_UNLCK ? 1 : 0);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 2);
    return WEXITSTATUS(st) == 0;
}

static void test_one_descriptor_per_file(void **state)
{
    sqlite3 *a, *b;
    int base;

    (void)state;
    if (!sq_vfs_name())
        skip();
    base = sq_vfs_open_files();
    a = open_db(db_path, 1, "PRAGMA journal_mode = WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1);");
    b = open_db(db_path, 1, NULL);
    assert_int_equal(one(a, "SELECT count(*) FROM t"), 1); /* WAL mode: SHARED held from here */
    assert_int_equal(one(b, "SELECT count(*) FROM t"), 1);
    assert_int_equal(sq_vfs_open_files(), base + 1);
    assert_true(other_process_sees_shared(db_path));
    assert_int_equal(sqlite3_close(b), SQLITE_OK);
    assert_int_equal(sq_vfs_open_files(), base + 1);
    assert_true(other_process_sees_shared(db_path)); /* a's lock survived b's close */
    assert_int_equal(sqlite3_close(a), SQLITE_OK);
    assert_int_equal(sq_vfs_open_files(), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wal_buffer_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_buffer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_buffer_spill_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_buffer_out_before_unlock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_size_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_stamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_writeback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_descriptor_per_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
