/* sqlite_plain.c: the plain engine: SQLite as it comes. SQLite's own unix
 * VFS, one connection per reading thread with an ordinary read transaction
 * per read (BEGIN ... COMMIT), SQLite's own checkpoints (the writer
 * connection's wal_autocheckpoint, PASSIVE after a commit that takes the WAL
 * past 1,000 pages), and still one writer thread with group commit
 * (sqlite_writer.c, without the waker): the durability and throughput core.
 * It shares no code with the tuned engine's VFS, reader or checkpointer, so
 * it is the fallback when those cannot be trusted (another SQLite version)
 * and the baseline they are measured against (docs/PERFORMANCE.md). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_engine.h"
#include "store/sqlite/sqlite_writer.h"

#define WRITER_CACHE_KB 32768
#define READER_CACHE_KB_DEFAULT 8192 /* FLOWLOGD_SQLITE_READ_CACHE_KB */
#define WAL_LIMIT_BYTES (64LL * 1024 * 1024)

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
    sq_writer_counts(&P(g)->writer, &out->commits, &out->jobs);
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

    if (!pl) {
        sq_err(e, STORE_ERR, "out of memory");
        return NULL;
    }
    pl->base.ops = &plain_ops;
    snprintf(pl->path, sizeof pl->path, "%s", path);
    /* SQLite's defaults but for what durability and the schema need: WAL,
     * FULL sync (a commit is durable when acknowledged), foreign keys; a
     * larger cache for the one writer */
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
             "PRAGMA foreign_keys = ON; PRAGMA cache_size = -%d;"
             "PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = %lld;",
             WRITER_CACHE_KB, WAL_LIMIT_BYTES);
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
    sq_writer_init(&pl->writer, &pl->w, NULL, NULL, NULL);
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
