/* sqlite_plain.c: the plain engine: SQLite as it comes. SQLite's own unix
 * VFS, one connection per reading thread with an ordinary read transaction
 * per read (BEGIN ... COMMIT), SQLite's own checkpoints (the writer
 * connection's wal_autocheckpoint, PASSIVE after a commit that takes the WAL
 * past 1,000 pages), and still one writer thread with group commit
 * (sqlite_writer.c, without the waker): the durability and throughput core.
 * The WAL's ceiling (FLOWLOGD_SQLITE_WAL_MB) is journal_size_limit, with
 * the autocheckpoint at under half of it, and an idle writer empties the
 * WAL file (a TRUNCATE checkpoint, as the tuned engine's).
 * It shares no code with the tuned engine's VFS, reader or checkpointer, so
 * it is the fallback when those cannot be trusted (another SQLite version)
 * and the baseline they are measured against (docs/PERFORMANCE.md). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite/sqlite_engine.h"
#include "store/sqlite/sqlite_writer.h"

#define WRITER_CACHE_KB 32768
#define READER_CACHE_KB_DEFAULT 8192 /* FLOWLOGD_SQLITE_READ_CACHE_KB */
#define WAL_LIMIT_BYTES (64LL * 1024 * 1024) /* without a ceiling */
#define AUTOCHECKPOINT_PAGES 1000             /* SQLite's default */
#define WAL_FRAME_BYTES (4096 + 24)
#define IDLE_MS 1000
#define IDLE_SLEEP_US 200
#define IDLE_TRIES 25 /* the TRUNCATE waits at most ~5 ms for readers */

struct plain_reader {
    struct conn c; /* first */
    struct plain *owner;
    struct plain_reader *prev, *next;
};

struct plain {
    struct sq_engine base; /* first */
    char path[4096];
    char reader_pragmas[256];
    struct conn w;
    struct sq_writer writer;
    long long wal_ceiling; /* bytes, 0: none */
    int wal_dirty;         /* the writer committed since its last TRUNCATE (its thread only) */
    pthread_key_t key; /* this thread's reader */
    pthread_mutex_t mu; /* the list */
    struct plain_reader *readers;
    int w_open, writer_init, key_made;
};

static struct plain *P(struct sq_engine *g)
{
    return (struct plain *)g;
}

static void reader_free(struct plain_reader *r)
{
    sq_conn_fini(&r->c);
    free(r);
}

/* Thread exit: the thread's reader connection goes away with it. */
static void reader_dtor(void *p)
{
    struct plain_reader *r = p;
    struct plain *pl = r->owner;
    pthread_mutex_lock(&pl->mu);
    if (r->prev)
        r->prev->next = r->next;
    else
        pl->readers = r->next;
    if (r->next)
        r->next->prev = r->prev;
    pthread_mutex_unlock(&pl->mu);
    reader_free(r);
}

static struct plain_reader *this_reader(struct plain *pl, struct serr *e)
{
    struct plain_reader *r = pthread_getspecific(pl->key);
    if (r)
        return r;
    if (!(r = calloc(1, sizeof *r))) {
        sq_err(e, STORE_ERR, "out of memory");
        return NULL;
    }
    r->owner = pl;
    if (sq_conn_init(&r->c, pl->path, NULL, pl->reader_pragmas, e) != STORE_OK) {
        reader_free(r);
        return NULL;
    }
    if (pthread_setspecific(pl->key, r) != 0) {
        reader_free(r);
        sq_err(e, STORE_ERR, "pthread_setspecific failed");
        return NULL;
    }
    pthread_mutex_lock(&pl->mu);
    r->next = pl->readers;
    if (pl->readers)
        pl->readers->prev = r;
    pl->readers = r;
    pthread_mutex_unlock(&pl->mu);
    return r;
}

static int plain_read_begin(struct sq_engine *g, struct conn **out, struct serr *e)
{
    struct plain_reader *r = this_reader(P(g), e);
    if (!r)
        return STORE_ERR;
    if (r->c.busy)
        return sq_err(e, STORE_ERR, "store called again from inside a row callback");
    if (sq_exec_id(&r->c, ST_R_BEGIN, e) != STORE_OK)
        return STORE_ERR;
    r->c.busy = 1;
    *out = &r->c;
    return STORE_OK;
}

static void plain_read_end(struct sq_engine *g, struct conn *c)
{
    (void)g;
    if (!sqlite3_get_autocommit(c->db))
        sq_exec_id(c, ST_R_COMMIT, NULL);
    c->busy = 0;
}

static int plain_write(struct sq_engine *g, wjob_fn fn, void *arg, struct serr *e)
{
    return sq_writer_write(&P(g)->writer, fn, arg, e);
}

static int plain_write_async(struct sq_engine *g, struct wjob *j)
{
    return sq_writer_write_async(&P(g)->writer, j);
}

static void plain_stats(struct sq_engine *g, struct sq_engine_stats *out)
{
    memset(out, 0, sizeof *out);
    out->engine = "plain";
    out->wal_ceiling = P(g)->wal_ceiling;
    out->idle_truncate = P(g)->wal_ceiling > 0;
    sq_writer_counts(&P(g)->writer, &out->commits, &out->jobs);
    sq_writer_figures(&P(g)->writer, &out->commit_hist, &out->queued);
    /* SQLite's own VFS: its fsyncs are not seen (fsync_hist NULL) */
}

static void plain_close(struct sq_engine *g)
{
    struct plain *pl = P(g);
    struct plain_reader *r, *next;

    if (pl->writer_init) {
        sq_writer_stop(&pl->writer);
        sq_writer_fini(&pl->writer);
    }
    if (pl->key_made) {
        pthread_key_delete(pl->key); /* thread-exit destructors no longer run */
        pthread_mutex_lock(&pl->mu);
        for (r = pl->readers; r; r = next) {
            next = r->next;
            reader_free(r);
        }
        pl->readers = NULL;
        pthread_mutex_unlock(&pl->mu);
        pthread_mutex_destroy(&pl->mu);
    }
    if (pl->w_open)
        sq_conn_fini(&pl->w); /* the last connection: checkpoints and removes the WAL */
    free(pl);
}

/* The writer's hooks: a batch dirtied the WAL; idle, it empties it. */
static void plain_after_batch(void *arg)
{
    ((struct plain *)arg)->wal_dirty = 1;
}

static int plain_idle_wanted(void *arg)
{
    struct plain *pl = arg;
    return pl->wal_ceiling > 0 && pl->wal_dirty;
}

static int idle_busy(void *arg, int n)
{
    (void)arg;
    if (n >= IDLE_TRIES)
        return 0;
    usleep(IDLE_SLEEP_US);
    return 1;
}

static void plain_idle(void *arg)
{
    struct plain *pl = arg;
    sqlite3_busy_handler(pl->w.db, idle_busy, NULL);
    if (sqlite3_wal_checkpoint_v2(pl->w.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) ==
        SQLITE_OK)
        pl->wal_dirty = 0;
    sqlite3_busy_timeout(pl->w.db, SQ_BUSY_TIMEOUT_MS);
}

static const struct sq_engine_ops plain_ops = {
    .read_begin = plain_read_begin,
    .read_end = plain_read_end,
    .write = plain_write,
    .write_async = plain_write_async,
    .stats = plain_stats,
    .close = plain_close,
};

struct sq_engine *sq_engine_open_plain(const char *path, sq_prepare_fn prepare, struct serr *e)
{
    struct plain *pl = calloc(1, sizeof *pl);
    char pragmas[512];
    long long autockpt = AUTOCHECKPOINT_PAGES;

    if (!pl) {
        sq_err(e, STORE_ERR, "out of memory");
        return NULL;
    }
    pl->base.ops = &plain_ops;
    snprintf(pl->path, sizeof pl->path, "%s", path);
    if (sq_env_wal_ceiling(&pl->wal_ceiling, e) != STORE_OK)
        goto fail;
    if (pl->wal_ceiling > 0 && pl->wal_ceiling / WAL_FRAME_BYTES * 9 / 20 < autockpt)
        autockpt = pl->wal_ceiling / WAL_FRAME_BYTES * 9 / 20;
    /* SQLite's defaults but for what durability and the schema need: WAL,
     * FULL sync (a commit is durable when acknowledged), foreign keys; a
     * larger cache for the one writer; the ceiling */
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
             "PRAGMA foreign_keys = ON; PRAGMA cache_size = -%d;"
             "PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = %lld;"
             "PRAGMA wal_autocheckpoint = %lld;",
             WRITER_CACHE_KB, pl->wal_ceiling > 0 ? pl->wal_ceiling : WAL_LIMIT_BYTES, autockpt);
    pl->w_open = 1;
    if (sq_conn_init(&pl->w, pl->path, NULL, pragmas, e) != STORE_OK ||
        prepare(&pl->w, pl->path, e) != STORE_OK)
        goto fail;
    snprintf(pl->reader_pragmas, sizeof pl->reader_pragmas,
             "PRAGMA query_only = ON; PRAGMA cache_size = -%ld; PRAGMA temp_store = MEMORY;",
             sq_env_long("FLOWLOGD_SQLITE_READ_CACHE_KB", READER_CACHE_KB_DEFAULT));
    pthread_mutex_init(&pl->mu, NULL);
    if (pthread_key_create(&pl->key, reader_dtor) != 0) {
        pthread_mutex_destroy(&pl->mu);
        sq_err(e, STORE_ERR, "pthread_key_create failed");
        goto fail;
    }
    pl->key_made = 1;
    sq_writer_init(&pl->writer, &pl->w, NULL, plain_after_batch, pl);
    pl->writer.idle_wanted = plain_idle_wanted;
    pl->writer.on_idle = plain_idle;
    pl->writer.idle_arg = pl;
    pl->writer.idle_ms = IDLE_MS;
    pl->writer_init = 1;
    if (sq_writer_start(&pl->writer) != 0) {
        sq_err(e, STORE_ERR, "cannot start the writer thread");
        goto fail;
    }
    return &pl->base;
fail:
    plain_close(&pl->base);
    return NULL;
}
