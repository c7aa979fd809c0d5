/* files.c: the files sink: one file per flow log and window, made durable
 * before sink_write returns. */
#define _GNU_SOURCE /* renameat2 */
#include "sink/sink.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sink_files {
    struct sink base; /* must be first */
    char *dir;
    unsigned long seq;
};

int sink_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64 || id[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

/* Creates path and its missing parents. 1 when the last component was
 * made now, 0 when it existed, -1 on error. */
static int mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n >= sizeof tmp)
        return -1;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir(tmp, 0755) == 0)
        return 1;
    return errno == EEXIST ? 0 : -1;
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int files_write(struct sink *s, const struct sink_window *w, char *err, size_t errlen)
{
    struct sink_files *f = (struct sink_files *)s;
    char dir[4096], tmp[4200], dst[4200];
    if (!sink_id_ok(w->flowlog_id)) {
        snprintf(err, errlen, "'%.64s' is not a flow-log id", w->flowlog_id);
        return -1;
    }
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", f->dir, w->flowlog_id) >= sizeof dir) {
        snprintf(err, errlen, "records directory path too long");
        return -1;
    }
    int made = mkdir_p(dir);
    /* a new flow log's directory: its entry in the parent is made durable too */
    if (made < 0 || (made == 1 && fsync_dir(f->dir) != 0)) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s/.tmp-%" PRIu64 "-%ld-%lu", dir, w->win_start, (long)getpid(),
             f->seq++);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    if (write_all(fd, w->records, w->len) != 0 || fsync(fd) != 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    for (unsigned n = 0;; n++) {
        if (n == 0)
            snprintf(dst, sizeof dst, "%s/%" PRIu64 "-%" PRIu64 ".log", dir, w->win_start,
                     w->win_end);
        else
            snprintf(dst, sizeof dst, "%s/%" PRIu64 "-%" PRIu64 ".%u.log", dir, w->win_start,
                     w->win_end, n);
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
            break;
        if (errno == EEXIST && n < 1000)
            continue;
        snprintf(err, errlen, "%s: %s", dst, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (fsync_dir(dir) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static void files_close(struct sink *s)
{
    struct sink_files *f = (struct sink_files *)s;
    free(f->dir);
    free(f);
}

static const struct sink_ops files_ops = {.write = files_write, .close = files_close};

struct sink *sink_files_open(const char *dir, char *err, size_t errlen)
{
    if (mkdir_p(dir) < 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    struct sink_files *f = calloc(1, sizeof *f);
    if (!f || !(f->dir = strdup(dir))) {
        free(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->base.ops = &files_ops;
    f->base.name = "files";
    return &f->base;
}

/* ==== Reading ==== */

struct winfile {
    uint64_t start, end;
    unsigned n;
    char name[96];
};

/* "START-END.log" or "START-END.N.log"; 0 when it parses. */
static int parse_name(const char *name, struct winfile *w)
{
    char *p;
    if (name[0] < '0' || name[0] > '9' || strlen(name) >= sizeof w->name)
        return -1;
    errno = 0;
    w->start = strtoull(name, &p, 10);
    if (errno || *p != '-')
        return -1;
    w->end = strtoull(p + 1, &p, 10);
    if (errno || *p != '.')
        return -1;
    w->n = 0;
    if (p[1] >= '0' && p[1] <= '9') {
        w->n = (unsigned)strtoul(p + 1, &p, 10);
        if (*p != '.')
            return -1;
    }
    if (strcmp(p, ".log") != 0)
        return -1;
    strcpy(w->name, name);
    return 0;
}

static int cmp_win(const void *a, const void *b)
{
    const struct winfile *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->n < y->n ? -1 : x->n > y->n;
}

int sink_files_each(const char *dir, const char *flowlog_id, uint64_t since, uint64_t until,
                    sink_files_fn fn, void *ud, char *err, size_t errlen)
{
    char path[4096];
    if (!sink_id_ok(flowlog_id)) {
        snprintf(err, errlen, "'%.64s' is not a flow-log id", flowlog_id);
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", dir, flowlog_id);
    DIR *d = opendir(path);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct winfile *v = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    struct dirent *de;
    char *data = NULL;
    while ((de = readdir(d))) {
        struct winfile w;
        if (parse_name(de->d_name, &w) != 0 || w.end <= since || w.start >= until)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct winfile *nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            v = nv;
        }
        v[n++] = w;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_win);
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char fp[4200];
        struct stat st;
        snprintf(fp, sizeof fp, "%s/%s", path, v[i].name);
        int in = open(fp, O_RDONLY | O_CLOEXEC);
        if (in < 0 || fstat(in, &st) != 0 || !(data = malloc((size_t)st.st_size + 1))) {
            snprintf(err, errlen, "%s: %s", fp, in < 0 ? strerror(errno) : "cannot read");
            if (in >= 0)
                close(in);
            rc = -1;
            break;
        }
        size_t got = 0;
        ssize_t r = 1;
        while (got < (size_t)st.st_size && (r = read(in, data + got, (size_t)st.st_size - got)) > 0)
            got += (size_t)r;
        close(in);
        if (r < 0 || got != (size_t)st.st_size) {
            snprintf(err, errlen, "%s: short read", fp);
            rc = -1;
            break;
        }
        data[got] = '\0';
        rc = fn(ud, v[i].start, v[i].end, data, got);
        free(data);
        data = NULL;
    }
done:
    free(data);
    free(v);
    closedir(d);
    return rc;
}

long sink_files_read(const char *dir, const char *flowlog_id, uint64_t since, uint64_t until,
                     int fd, char *err, size_t errlen)
{
    char path[4096];
    if (!sink_id_ok(flowlog_id)) {
        snprintf(err, errlen, "'%.64s' is not a flow-log id", flowlog_id);
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", dir, flowlog_id);
    DIR *d = opendir(path);
    if (!d) {
        if (errno == ENOENT)
            snprintf(err, errlen, "no records for %s under %s", flowlog_id, dir);
        else
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct winfile *v = NULL;
    size_t n = 0, cap = 0;
    long rc = -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct winfile w;
        if (parse_name(de->d_name, &w) != 0)
            continue;
        if (w.end <= since || w.start >= until)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct winfile *nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            v = nv;
        }
        v[n++] = w;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_win);
    char buf[1 << 16];
    for (size_t i = 0; i < n; i++) {
        char fp[4200];
        snprintf(fp, sizeof fp, "%s/%s", path, v[i].name);
        int in = open(fp, O_RDONLY | O_CLOEXEC);
        if (in < 0) {
            snprintf(err, errlen, "%s: %s", fp, strerror(errno));
            goto done;
        }
        ssize_t r;
        while ((r = read(in, buf, sizeof buf)) > 0)
            if (write_all(fd, buf, (size_t)r) != 0) {
                snprintf(err, errlen, "writing: %s", strerror(errno));
                close(in);
                goto done;
            }
        close(in);
        if (r < 0) {
            snprintf(err, errlen, "%s: %s", fp, strerror(errno));
            goto done;
        }
    }
    rc = (long)n;
done:
    free(v);
    closedir(d);
    return rc;
}
