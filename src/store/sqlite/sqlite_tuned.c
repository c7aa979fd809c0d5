/* sqlite_tuned.c: the tuned engine: the "flowlogd" VFS (sqlite_vfs.c:
 * database mappings kept across commits, the writer's WAL writes coalesced,
 * early write-back), read transactions kept between reads with their
 * reaper (sqlite_reader.c, sqlite_reaper.c), a checkpointer thread
 * (sqlite_ckpt.c) and the group-commit writer with its waker
 * (sqlite_writer.c). This file only puts them together. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_ckpt.h"
#include "store/sqlite/sqlite_engine.h"
#include "store/sqlite/sqlite_reader.h"
#include "store/sqlite/sqlite_vfs.h"
#include "store/sqlite/sqlite_writer.h"

#define WRITER_CACHE_KB 32768         /* the one writer connection */
#define CKPT_CACHE_KB 1024            /* the checkpointer (copies frames outside the cache) */
#define READER_CACHE_KB_DEFAULT 8192  /* per reader thread; FLOWLOGD_SQLITE_READ_CACHE_KB */
#define WAL_BUFFER_BYTES (4u << 20)   /* the writer's WAL write buffer */
#define MMAP_MB_DEFAULT 2048 /* address space only (pages are the OS cache); FLOWLOGD_SQLITE_MMAP_MB */

struct tuned {
    struct sq_engine base; /* first */
    char path[4096];
    struct conn w, ck;     /* the writer's and the checkpointer's connections */
    int wal_buffered;
    struct sq_ckpt ckpt;
    struct sq_waker waker;
    struct sq_writer writer;
    struct sq_readers readers;
    int ckpt_init, writer_init, w_open, ck_open;
};

static struct tuned *T(struct sq_engine *g)
{
    return (struct tuned *)g;
}

static int tuned_read_begin(struct sq_engine *g, struct conn **out, struct serr *e)
{
    return sq_readers_begin(&T(g)->readers, out, e);
}

static void tuned_read_end(struct sq_engine *g, struct conn *c)
{
    sq_readers_end(&T(g)->readers, c);
}

static int tuned_write(struct sq_engine *g, wjob_fn fn, void *arg, struct serr *e)
{
    return sq_writer_write(&T(g)->writer, fn, arg, e);
}

static int tuned_write_async(struct sq_engine *g, struct wjob *j)
{
    return sq_writer_write_async(&T(g)->writer, j);
}

static void tuned_stats(struct sq_engine *g, struct sq_engine_stats *out)
{
    struct tuned *t = T(g);
    memset(out, 0, sizeof *out);
    out->engine = "tuned";
    sq_writer_counts(&t->writer, &out->commits, &out->jobs);
    sq_writer_figures(&t->writer, &out->commit_hist, &out->queued);
    out->fsync_hist = sq_vfs_wal_sync_hist();
    out->wal_buffered = t->wal_buffered;
    out->ckpt_pages = t->ckpt.pages;
    out->ckpt_hard = t->ckpt.hard;
    out->valve_step = t->ckpt.valve_step;
    out->wal_ceiling = t->ckpt.wal_ceiling;
    out->idle_truncate = t->ckpt.idle_truncate;
    sq_ckpt_stats(&t->ckpt, &out->ckpt);
}

/* Frees everything that was set up; safe on a half-opened engine. The
 * writer goes first (its queue drained), then the checkpointer, the
 * readers, and the writer's connection last: the last connection to close
 * checkpoints what is left and removes the WAL. */
static void tuned_close(struct sq_engine *g)
{
    struct tuned *t = T(g);
    if (t->writer_init) {
        sq_writer_stop(&t->writer);
        sq_writer_fini(&t->writer);
    }
    if (t->ckpt_init) {
        sq_ckpt_stop(&t->ckpt);
        sq_ckpt_fini(&t->ckpt);
    }
    if (t->ck_open)
        sq_conn_fini(&t->ck);
    sq_readers_stop(&t->readers);
    if (t->w_open)
        sq_conn_fini(&t->w);
    free(t);
}

static const struct sq_engine_ops tuned_ops = {
    .read_begin = tuned_read_begin,
    .read_end = tuned_read_end,
    .write = tuned_write,
    .write_async = tuned_write_async,
    .stats = tuned_stats,
    .close = tuned_close,
};

static sqlite3_file *main_file(struct conn *c)
{
    sqlite3_file *f = NULL;
    if (sqlite3_file_control(c->db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK)
        return NULL;
    return f;
}

struct sq_engine *sq_engine_open_tuned(const char *path, sq_prepare_fn prepare, struct serr *e)
{
    struct tuned *t = calloc(1, sizeof *t);
    const char *vfs = sq_vfs_name(), *hold;
    long mmap_bytes = sq_env_long("FLOWLOGD_SQLITE_MMAP_MB", MMAP_MB_DEFAULT) * 1024L * 1024L;
    long long wal_limit;
    char pragmas[512];

    if (!t) {
        sq_err(e, STORE_ERR, "out of memory");
        return NULL;
    }
    t->base.ops = &tuned_ops;
    if (!vfs) { /* sqlite.c opens the plain engine instead, saying why */
        sq_err(e, STORE_ERR, "the tuned engine's VFS is off: %s", sq_vfs_off_reason());
        goto fail;
    }
    snprintf(t->path, sizeof t->path, "%s", path);
    t->ckpt_init = 1;
    if (sq_ckpt_init(&t->ckpt, e) != STORE_OK)
        goto fail;
    wal_limit = sq_ckpt_wal_limit(&t->ckpt);

    /* the writer: foreign keys, FULL sync, a larger cache and no
     * autocheckpoint (the checkpointer's WAL hook replaces it) */
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
             "PRAGMA foreign_keys = ON; PRAGMA cache_size = -%d;"
             "PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = %lld;"
             "PRAGMA mmap_size = %ld; PRAGMA wal_autocheckpoint = 0;",
             WRITER_CACHE_KB, wal_limit, mmap_bytes);
    t->w_open = 1;
    if (sq_conn_init(&t->w, t->path, vfs, pragmas, e) != STORE_OK ||
        prepare(&t->w, t->path, e) != STORE_OK)
        goto fail;
    /* the writer's commits reach the WAL as one write each (sqlite_vfs.c);
     * a first read opens the WAL. Without it writes are only slower. */
    if (sqlite3_exec(t->w.db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) == SQLITE_OK)
        t->wal_buffered = sq_vfs_buffer_wal(t->w.db, WAL_BUFFER_BYTES) == 0;

    /* the checkpointer: FULL sync (it fsyncs what it copies), a small cache */
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
             "PRAGMA cache_size = -%d; PRAGMA journal_size_limit = %lld;"
             "PRAGMA wal_autocheckpoint = 0;",
             CKPT_CACHE_KB, wal_limit);
    t->ck_open = 1;
    if (sq_conn_init(&t->ck, t->path, vfs, pragmas, e) != STORE_OK)
        goto fail;
    t->ckpt.w = &t->w;
    t->ckpt.w_main = main_file(&t->w);
    t->ckpt.ck = &t->ck;
    t->ckpt.ck_main = main_file(&t->ck);
    if (sq_ckpt_start(&t->ckpt) != 0) {
        sq_err(e, STORE_ERR, "cannot start the checkpointer thread");
        goto fail;
    }

    /* readers: a small cache, query_only */
    t->readers.path = t->path;
    t->readers.vfs = vfs;
    snprintf(t->readers.pragmas, sizeof t->readers.pragmas,
             "PRAGMA query_only = ON; PRAGMA cache_size = -%ld;"
             "PRAGMA temp_store = MEMORY; PRAGMA mmap_size = %ld;",
             sq_env_long("FLOWLOGD_SQLITE_READ_CACHE_KB", READER_CACHE_KB_DEFAULT), mmap_bytes);
    t->readers.ckpt = &t->ckpt;
    hold = getenv("FLOWLOGD_SQLITE_HOLD_READS");
    t->readers.hold = !hold || strcmp(hold, "0") != 0;
    if (sq_readers_start(&t->readers, e) != STORE_OK)
        goto fail;

    sq_writer_init(&t->writer, &t->w, &t->waker, sq_ckpt_after_batch, &t->ckpt);
    t->writer.idle_wanted = sq_ckpt_idle_wanted;
    t->writer.on_idle = sq_ckpt_idle;
    t->writer.idle_arg = &t->ckpt;
    t->writer.idle_ms = SQ_CKPT_IDLE_MS;
    t->writer_init = 1;
    if (sq_writer_start(&t->writer) != 0) {
        sq_err(e, STORE_ERR, "cannot start the writer thread");
        goto fail;
    }
    return &t->base;
fail:
    tuned_close(&t->base);
    return NULL;
}
