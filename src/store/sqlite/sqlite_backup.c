/* sqlite_backup.c: `flowlogd backup`, SQLite's online backup API on a data
 * directory that a server may be writing meanwhile. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/sqlite/sqlite.h"
#include "store/sqlite/sqlite_int.h"

int store_sqlite_backup(const char *dir, const char *to, struct serr *e)
{
    char src_path[4096], tmp[4096];
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *b;
    int rc = STORE_ERR, fd;
    struct stat sb;

    if (snprintf(src_path, sizeof src_path, "%s/flowlogd.db", dir) >= (int)sizeof src_path ||
        snprintf(tmp, sizeof tmp, "%s.tmp", to) >= (int)sizeof tmp)
        return sq_err(e, STORE_ERR, "path too long");
    if (stat(src_path, &sb) != 0)
        return sq_err(e, STORE_ERR, "%s: %s", src_path, strerror(errno));
    /* the copy is created 0600 like the store's own files */
    unlink(tmp);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
        return sq_err(e, STORE_ERR, "%s: %s", tmp, strerror(errno));
    close(fd);
    if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sq_fail(src, "open", e);
        goto done;
    }
    sqlite3_busy_timeout(src, SQ_BUSY_TIMEOUT_MS);
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sq_fail(dst, "open the copy", e);
        goto done;
    }
    /* every page in one step: one read transaction, so the copy is one
     * consistent snapshot (a WAL reader never blocks the server's writer) */
    if (!(b = sqlite3_backup_init(dst, "main", src, "main"))) {
        sq_fail(dst, "backup", e);
        goto done;
    }
    int step = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (step != SQLITE_DONE) {
        sq_err(e, STORE_ERR, "backup: %s", sqlite3_errstr(step));
        goto done;
    }
    /* a self-contained file: no -wal beside it */
    if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
        sq_fail(dst, "journal mode of the copy", e);
        goto done;
    }
    if (sqlite3_close(dst) != SQLITE_OK) {
        sq_fail(dst, "close the copy", e);
        goto done;
    }
    dst = NULL;
    if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
        sq_err(e, STORE_ERR, "%s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto done;
    }
    close(fd);
    if (rename(tmp, to) != 0) {
        sq_err(e, STORE_ERR, "%s: %s", to, strerror(errno));
        goto done;
    }
    rc = STORE_OK;
done:
    sqlite3_close(dst);
    sqlite3_close(src);
    if (rc != STORE_OK)
        unlink(tmp);
    return rc;
}
