/* spool.c: the Kafka sink's bounded on-disk spool (spool.h). */
#include "sink/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_MAGIC "FLSPOOL1\n"
#define SPOOL_HEADER_MAX 16384

struct entry {
    uint64_t seq, bytes;
};

struct spool {
    pthread_mutex_t mu;
    char *dir;
    int lock_fd;
    uint64_t max_bytes, bytes, bad, next_seq;
    struct entry *e; /* sorted by seq */
    size_t n, cap;
};

uint64_t spool_sum(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void path_of(const struct spool *s, uint64_t seq, const char *ext, char *out, size_t n)
{
    snprintf(out, n, "%s/%020" PRIu64 ".%s", s->dir, seq, ext);
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

static int mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Appends (seq, bytes); the caller holds mu (or owns s alone). */
static int add_entry(struct spool *s, uint64_t seq, uint64_t bytes)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct entry *e = realloc(s->e, cap * sizeof *e);
        if (!e)
            return -1;
        s->e = e;
        s->cap = cap;
    }
    /* keep the order: a scan finds files in directory order */
    size_t i = s->n;
    while (i > 0 && s->e[i - 1].seq > seq) {
        s->e[i] = s->e[i - 1];
        i--;
    }
    s->e[i] = (struct entry){seq, bytes};
    s->n++;
    s->bytes += bytes;
    return 0;
}

/* The index of seq, or -1. */
static long find(const struct spool *s, uint64_t seq)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->e[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->e[lo].seq == seq ? (long)lo : -1;
}

static void drop_entry(struct spool *s, long i)
{
    s->bytes -= s->e[i].bytes;
    memmove(&s->e[i], &s->e[i + 1], (s->n - (size_t)i - 1) * sizeof *s->e);
    s->n--;
}

/* "<20 digits>.<ext>": the seq, or 0 when the name is not of that form. */
static uint64_t name_seq(const char *name, const char *ext)
{
    size_t el = strlen(ext);
    if (strlen(name) != 21 + el || name[20] != '.' || strcmp(name + 21, ext) != 0)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    return v;
}

struct spool *spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
    struct spool *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->lock_fd = -1;
    s->max_bytes = max_bytes;
    s->next_seq = 1;
    if (mkdir_p(dir) != 0) {
        snprintf(err, errlen, "spool %s: %s", dir, strerror(errno));
        goto fail;
    }
    char p[4200];
    snprintf(p, sizeof p, "%s/.lock", dir);
    s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        snprintf(err, errlen, "spool %s: %s", p, strerror(errno));
        goto fail;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "spool %s is in use by another process", dir);
        goto fail;
    }
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "spool %s: %s", dir, strerror(errno));
        goto fail;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t seq;
        struct stat sb;
        if ((seq = name_seq(de->d_name, "win"))) {
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            if (stat(p, &sb) != 0 || add_entry(s, seq, (uint64_t)sb.st_size) != 0) {
                snprintf(err, errlen, "spool %s: %s", p, strerror(errno));
                closedir(d);
                goto fail;
            }
        } else if ((seq = name_seq(de->d_name, "tmp"))) {
            /* a write that never returned: it was never acknowledged */
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        } else if ((seq = name_seq(de->d_name, "bad"))) {
            s->bad++;
        } else {
            continue;
        }
        if (seq >= s->next_seq)
            s->next_seq = seq + 1;
    }
    closedir(d);
    return s;
fail:
    spool_close(s);
    return NULL;
}

void spool_close(struct spool *s)
{
    if (!s)
        return;
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    pthread_mutex_destroy(&s->mu);
    free(s->e);
    free(s->dir);
    free(s);
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

int spool_put(struct spool *s, const struct spool_win *w, int force, uint64_t *seq, char *err,
              size_t errlen)
{
    json_t *h = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "flowlog",
                          nz(w->flowlog_id), "start", (json_int_t)w->win_start, "end",
                          (json_int_t)w->win_end, "topic", nz(w->topic), "brokers",
                          nz(w->brokers), "key", nz(w->key), "fields", nz(w->fields), "n",
                          (json_int_t)w->nrecords, "len", (json_int_t)w->len, "sum", "");
    char sum[17];
    snprintf(sum, sizeof sum, "%016" PRIx64, spool_sum(w->records, w->len));
    char *hs = NULL;
    if (!h || json_object_set_new(h, "sum", json_string(sum)) != 0 ||
        !(hs = json_dumps(h, JSON_COMPACT)) || strlen(hs) > SPOOL_HEADER_MAX) {
        json_decref(h);
        free(hs);
        snprintf(err, errlen, "spool: cannot make the header (out of memory or too long)");
        return -1;
    }
    json_decref(h);
    size_t hl = strlen(hs);
    uint64_t bytes = sizeof SPOOL_MAGIC - 1 + hl + 1 + w->len;

    pthread_mutex_lock(&s->mu);
    if (!force && s->bytes + bytes > s->max_bytes) {
        pthread_mutex_unlock(&s->mu);
        free(hs);
        return 1;
    }
    uint64_t q = s->next_seq++;
    /* counted now so that concurrent writers respect the bound together */
    s->bytes += bytes;
    pthread_mutex_unlock(&s->mu);

    char tmp[4200], fin[4200];
    path_of(s, q, "tmp", tmp, sizeof tmp);
    path_of(s, q, "win", fin, sizeof fin);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write_all(fd, SPOOL_MAGIC, sizeof SPOOL_MAGIC - 1) == 0 &&
             write_all(fd, hs, hl) == 0 && write_all(fd, "\n", 1) == 0 &&
             write_all(fd, w->records ? w->records : "", w->len) == 0 && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok && (rename(tmp, fin) != 0 || fsync_dir(s->dir) != 0)) {
        ok = 0;
        e = errno;
    }
    free(hs);
    pthread_mutex_lock(&s->mu);
    s->bytes -= bytes;
    int rc = 0;
    if (!ok) {
        unlink(tmp);
        unlink(fin);
        snprintf(err, errlen, "spool %s: %s", fin, strerror(e));
        rc = -1;
    } else if (add_entry(s, q, bytes) != 0) {
        /* on disk all the same: a restart takes it up */
        snprintf(err, errlen, "spool: out of memory");
        rc = -1;
    }
    pthread_mutex_unlock(&s->mu);
    if (rc == 0 && seq)
        *seq = q;
    return rc;
}

int spool_next(struct spool *s, uint64_t after, uint64_t *seq)
{
    pthread_mutex_lock(&s->mu);
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->e[mid].seq <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    int rc = 1;
    if (lo < s->n) {
        *seq = s->e[lo].seq;
        rc = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void spool_win_free(struct spool_win *w)
{
    if (!w)
        return;
    free(w->flowlog_id);
    free(w->topic);
    free(w->brokers);
    free(w->key);
    free(w->fields);
    free(w->records);
    memset(w, 0, sizeof *w);
}

/* Quarantines seq as <seq>.bad. */
static void quarantine(struct spool *s, uint64_t seq)
{
    char fin[4200], bad[4200];
    path_of(s, seq, "win", fin, sizeof fin);
    path_of(s, seq, "bad", bad, sizeof bad);
    pthread_mutex_lock(&s->mu);
    long i = find(s, seq);
    if (i >= 0) {
        drop_entry(s, i);
        if (rename(fin, bad) == 0)
            s->bad++;
    }
    pthread_mutex_unlock(&s->mu);
    fsync_dir(s->dir);
}

static char *dup_member(json_t *h, const char *k)
{
    const char *v = json_string_value(json_object_get(h, k));
    return v ? strdup(v) : NULL;
}

int spool_read(struct spool *s, uint64_t seq, struct spool_win *w, char *err, size_t errlen)
{
    char fin[4200];
    path_of(s, seq, "win", fin, sizeof fin);
    memset(w, 0, sizeof *w);
    int fd = open(fin, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "spool file %s: %s", fin, strerror(errno));
        return -1;
    }
    struct stat sb;
    char *data = NULL;
    json_t *h = NULL;
    const char *why = NULL;
    char whybuf[200];
    if (fstat(fd, &sb) != 0 || !(data = malloc((size_t)sb.st_size + 1))) {
        snprintf(err, errlen, "spool file %s: %s", fin, strerror(errno ? errno : ENOMEM));
        close(fd);
        return -1;
    }
    size_t have = 0;
    while (have < (size_t)sb.st_size) {
        ssize_t r = read(fd, data + have, (size_t)sb.st_size - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        have += (size_t)r;
    }
    close(fd);
    data[have] = '\0';
    size_t ml = sizeof SPOOL_MAGIC - 1;
    char *nl;
    if (have < ml || memcmp(data, SPOOL_MAGIC, ml) != 0) {
        why = "not a spool file (no FLSPOOL1 line)";
        goto bad;
    }
    if (!(nl = memchr(data + ml, '\n', have - ml))) {
        why = "truncated in its header";
        goto bad;
    }
    json_error_t je;
    h = json_loadb(data + ml, (size_t)(nl - (data + ml)), 0, &je);
    json_t *jl = json_object_get(h, "len"), *jn = json_object_get(h, "n"),
           *js = json_object_get(h, "start"), *je2 = json_object_get(h, "end");
    const char *sum = json_string_value(json_object_get(h, "sum"));
    if (!json_is_object(h) || !json_is_integer(jl) || !json_is_integer(jn) ||
        !json_is_integer(js) || !json_is_integer(je2) || !sum ||
        !json_is_string(json_object_get(h, "topic")) ||
        !json_is_string(json_object_get(h, "brokers")) || json_integer_value(jl) < 0 ||
        json_integer_value(jn) < 0) {
        why = "a bad header";
        goto bad;
    }
    size_t len = (size_t)json_integer_value(jl);
    size_t body = have - (size_t)(nl + 1 - data);
    if (body != len) {
        snprintf(whybuf, sizeof whybuf, "%s: the header says %zu bytes of records, the file has %zu",
                 body < len ? "truncated" : "too long", len, body);
        why = whybuf;
        goto bad;
    }
    char got[17];
    snprintf(got, sizeof got, "%016" PRIx64, spool_sum(nl + 1, len));
    if (strcmp(got, sum) != 0) {
        why = "corrupt: the records' checksum does not match";
        goto bad;
    }
    w->flowlog_id = dup_member(h, "flowlog");
    w->topic = dup_member(h, "topic");
    w->brokers = dup_member(h, "brokers");
    w->key = dup_member(h, "key");
    w->fields = dup_member(h, "fields");
    w->win_start = (uint64_t)json_integer_value(js);
    w->win_end = (uint64_t)json_integer_value(je2);
    w->nrecords = (uint64_t)json_integer_value(jn);
    w->len = len;
    memmove(data, nl + 1, len);
    data[len] = '\0';
    w->records = data;
    json_decref(h);
    if (!w->flowlog_id || !w->topic || !w->brokers || !w->key || !w->fields) {
        spool_win_free(w);
        snprintf(err, errlen, "spool file %s: out of memory", fin);
        return -1;
    }
    return 0;
bad:
    json_decref(h);
    free(data);
    snprintf(err, errlen, "spool file %s: %s; kept as %020" PRIu64 ".bad, not sent", fin, why,
             seq);
    quarantine(s, seq);
    return -1;
}

int spool_remove(struct spool *s, uint64_t seq)
{
    char fin[4200];
    path_of(s, seq, "win", fin, sizeof fin);
    pthread_mutex_lock(&s->mu);
    long i = find(s, seq);
    int rc = unlink(fin) == 0 || errno == ENOENT ? 0 : -1;
    if (i >= 0 && rc == 0)
        drop_entry(s, i);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void spool_stats(struct spool *s, struct spool_stats *st)
{
    pthread_mutex_lock(&s->mu);
    st->files = s->n;
    st->bytes = s->bytes;
    st->bad = s->bad;
    st->max_bytes = s->max_bytes;
    pthread_mutex_unlock(&s->mu);
}
