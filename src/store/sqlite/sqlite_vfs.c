/* sqlite_vfs.c: the "flowlogd" VFS: SQLite's default (unix) VFS with three
 * things done differently; every other call is passed through unchanged
 * (locks, shared memory, sync, the file format: other processes using the
 * plain unix VFS on the same files stay compatible).
 *
 * 1. The database file's memory mapping (mmap_size). The unix VFS maps a
 *    file up to its current size, and in WAL mode a connection drops its
 *    whole mapping each time it starts a read transaction after another
 *    connection committed (the pager's xUnfetch(0, NULL)), maps the file
 *    again and faults its pages back in. Under a stream of commits that was
 *    an munmap + mmap per request on every connection: TLB shoot-down
 *    interrupts to every core and page faults, 15 % of the server's CPU
 *    while creating flow logs. Here a file handle maps mmap_size bytes
 *    once, however small the file is still, and keeps that mapping until
 *    it is closed or mmap_size changes. A page is handed out (xFetch) only
 *    if it lies within the file's size as last measured (fstat on our own
 *    descriptor of the file); the size is measured again when a fetch
 *    reaches past it and whenever the pager asks for the unmap. The part of
 *    the mapping past the end of the file is never handed out, so never
 *    touched (it would fault with SIGBUS); when the file grows, the same
 *    mapping covers the new pages. If the file shrinks (a VACUUM), the
 *    pager asks for the unmap before it reads again, the size is measured
 *    and the pages past it are no longer handed out. A mapping that cannot
 *    be made only means reads go through xRead, as with mmap_size = 0.
 *
 * 2. The WAL's writes, on a connection that asks (sq_vfs_buffer_wal: the
 *    writer). SQLite writes a WAL frame as two writes (its 24-byte header,
 *    then the page) that straddle the file's 4 KiB pages: ~20 pwrite calls
 *    per CreateFlowLog, and ext4 zeroing each partly written page first.
 *    Here contiguous writes collect in a buffer that reaches the file as one
 *    write when SQLite syncs the WAL, reads it, asks its size, truncates
 *    it, closes it, writes elsewhere in it, or the buffer is full. The
 *    invariants that make it safe:
 *    - durability: a commit is acknowledged only after SQLite's xSync of
 *      the WAL, and xSync writes the buffer out before it syncs;
 *    - visibility: other connections read only frames published in the
 *      wal-index header. With synchronous = FULL (required to opt in) the
 *      WAL is synced, so written, before the header changes; as a second
 *      guard, the database file's xShmBarrier (between the two copies of
 *      the header SQLite writes) and every xShmLock call write the buffer
 *      out first: a connection never releases the WAL write lock with
 *      frames still in memory, so another process that writes the WAL next
 *      can never have its frames overwritten by a late write of ours.
 *    A failed write-out is reported by the call that made it (xSync's error
 *    fails the commit); xShmBarrier cannot report one, but with FULL it
 *    never has anything to write (xSync wrote it out just before).
 *
 * 3. Write-back of the database file. In WAL mode only checkpoints write
 *    it: thousands of pages at scattered offsets, then one fsync. That
 *    fsync sent them to the disk in one burst, and the writer's WAL fsyncs
 *    (the commits) queued behind it: p90 of a create 10 ms instead of ~8.
 *    Here every WRITEBACK_BYTES written to a database file start its
 *    write-back (sync_file_range, SYNC_FILE_RANGE_WRITE: it neither waits
 *    nor syncs metadata), so the disk gets them as they come and the fsync
 *    finds little left. A hint only: durability still comes from SQLite's
 *    fsync, and a failed call changes nothing.
 *
 * Our descriptor of a database file. POSIX (fcntl) locks belong to the
 * (process, inode) pair, and closing ANY descriptor of the file drops all
 * of the process's locks on it, whichever descriptor took them. So a
 * descriptor of our own, closed when one connection closes, silently took
 * the SHARED lock of every other connection in the process (SQLite still
 * believed it held it), and another process opening and closing the
 * database then found no other user, checkpointed and deleted the WAL
 * under the running store: the next acknowledged write went to a deleted
 * file. Like SQLite's unix VFS (its unixInodeInfo), this layer keeps ONE
 * descriptor per (device, inode) for the whole process, shared by every
 * connection through a reference count, and closes it only when the last
 * connection of that file has closed, after the unix VFS below released
 * that connection's locks. A file is never opened a second time to find
 * out whether it is already open: it is looked up by stat() first.
 * Connections that reach the same file through another VFS in the same
 * process would still lose their locks at that last close: the store opens
 * every connection of a database through one VFS.
 *
 * Memory: the vfile is SQLite's allocation (szOsFile) with the lower VFS's
 * file object after ours; the mapping and the WAL buffer belong to the
 * vfile and are released in xClose; the shared descriptors belong to the
 * process-wide list below (under its mutex). A vfile is used by one
 * connection, so by one thread at a time; only the counters and the
 * descriptor list are shared. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "store/sqlite/sqlite_vfs.h"
#include "store/store_util.h"

#define VFS_NAME "flowlogd"

enum vkind { VK_OTHER, VK_MAIN, VK_WAL };

struct vfile {
    sqlite3_file base;   /* pMethods: &vmethods once open */
    sqlite3_file *lower; /* the unix VFS's file, right after this struct */
    enum vkind kind;

    /* VK_MAIN */
    struct shared_fd *sfd; /* the process's descriptor of this file; NULL */
    int fd;                /* sfd->fd, or -1 */
    unsigned char *map;    /* PROT_READ, MAP_SHARED, map_len bytes; NULL */
    sqlite3_int64 map_len;
    sqlite3_int64 map_max; /* mmap_size as the pager set it */
    sqlite3_int64 size;    /* the file's size when last measured */
    int map_failed;        /* mmap refused: do not try again until map_max changes */
    int nfetch;            /* pointers handed out */
    struct vfile *wal;     /* this connection's WAL, while open */
    sqlite3_int64 unstarted; /* bytes written since the last write-back start */
    const volatile uint32_t *shm0; /* region 0 of the wal-index, while mapped; NULL */

    /* VK_WAL */
    struct vfile *main;    /* the database file of the same connection, or NULL */
    unsigned char *buf;    /* coalesced writes: file bytes [boff, boff + blen) */
    size_t bcap, blen;
    sqlite3_int64 boff;
};

static sqlite3_vfs vfs;
static sqlite3_vfs *lower_vfs;
static atomic_uint_fast64_t st_maps, st_unmaps, st_wal_writes, st_wal_flushes, st_writebacks;

/* ==== one descriptor per file and process ==== */

struct shared_fd {
    dev_t dev;
    ino_t ino;
    int fd;     /* O_RDONLY, for the mapping and sync_file_range */
    int refs;   /* open vfiles using it */
    int nextra; /* descriptors of the same file opened in a race (below) */
    int extra[4];
    struct shared_fd *next;
};

static pthread_mutex_t sfd_mu = PTHREAD_MUTEX_INITIALIZER;
static struct shared_fd *sfd_list;

static struct shared_fd *sfd_find(dev_t dev, ino_t ino)
{
    for (struct shared_fd *d = sfd_list; d; d = d->next)
        if (d->dev == dev && d->ino == ino)
            return d;
    return NULL;
}

/* The process's descriptor of file `name`, opened if this process has none,
 * with one more reference; NULL if it cannot be opened (the connection
 * then reads through xRead only). */
static struct shared_fd *sfd_acquire(const char *name)
{
    struct shared_fd *d = NULL;
    struct stat sb;
    int fd;

    pthread_mutex_lock(&sfd_mu);
    if (stat(name, &sb) == 0 && (d = sfd_find(sb.st_dev, sb.st_ino)))
        goto found;
    if ((fd = open(name, O_RDONLY | O_CLOEXEC)) < 0)
        goto out;
    if (fstat(fd, &sb) != 0) {
        /* cannot tell which file it is: keep it open for the process's
         * life rather than risk closing a locked file's descriptor */
        goto out;
    }
    if ((d = sfd_find(sb.st_dev, sb.st_ino))) {
        /* the name moved to a file this process has open between stat and
         * open: this descriptor may not be closed before that one */
        if (d->nextra < (int)(sizeof d->extra / sizeof d->extra[0]))
            d->extra[d->nextra++] = fd;
        goto found;
    }
    if (!(d = calloc(1, sizeof *d)))
        goto out; /* the descriptor stays open: see above */
    d->dev = sb.st_dev;
    d->ino = sb.st_ino;
    d->fd = fd;
    d->next = sfd_list;
    sfd_list = d;
found:
    d->refs++;
out:
    pthread_mutex_unlock(&sfd_mu);
    return d;
}

/* Drops a reference; the last one closes the descriptor. Called after the
 * lower VFS closed the connection's file, so no connection of this process
 * holds a lock through this VFS on that file any more. */
static void sfd_release(struct shared_fd *d)
{
    struct shared_fd **pp;

    if (!d)
        return;
    pthread_mutex_lock(&sfd_mu);
    if (--d->refs == 0) {
        for (pp = &sfd_list; *pp != d; pp = &(*pp)->next)
            ;
        *pp = d->next;
        close(d->fd);
        for (int i = 0; i < d->nextra; i++)
            close(d->extra[i]);
        free(d);
    }
    pthread_mutex_unlock(&sfd_mu);
}

int sq_vfs_open_files(void)
{
    int n = 0;
    pthread_mutex_lock(&sfd_mu);
    for (struct shared_fd *d = sfd_list; d; d = d->next)
        n++;
    pthread_mutex_unlock(&sfd_mu);
    return n;
}

#define WRITEBACK_BYTES (256 * 1024) /* 64 KiB to 1 MiB measured alike, 4 MiB less well */

/* The wal-index (https://www.sqlite.org/walformat.html): two copies of the
 * 48-byte WAL header, then the checkpoint information, whose first field
 * is nBackfill. A stamp is the first copy (readers start from it; a writer
 * writes it last) and nBackfill. */
#define WAL_HDR_WORDS 12
#define WAL_MXFRAME_WORD 4    /* the header's mxFrame, byte 16 */
#define WAL_NBACKFILL_WORD 24 /* byte 96 */
#define WAL_STAMP_END 100

#define LOWER(f) (((struct vfile *)(f))->lower)
#define LM(f) (LOWER(f)->pMethods)

/* ==== the WAL buffer ==== */

/* The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the
 * length to 17 bits): the buffer goes out in pieces below that. */
#define WRITE_PIECE (124 * 1024)

static int wal_flush(struct vfile *p)
{
    size_t done = 0;
    int rc = SQLITE_OK;

    while (done < p->blen && rc == SQLITE_OK) {
        size_t n = p->blen - done < WRITE_PIECE ? p->blen - done : WRITE_PIECE;
        rc = p->lower->pMethods->xWrite(p->lower, p->buf + done, (int)n,
                                        p->boff + (sqlite3_int64)done);
        done += n;
    }
    if (p->blen)
        atomic_fetch_add_explicit(&st_wal_flushes, 1, memory_order_relaxed);
    p->blen = 0;
    return rc;
}

static int wal_write(struct vfile *p, const void *data, int amt, sqlite3_int64 off)
{
    size_t n = (size_t)amt;
    int rc;

    atomic_fetch_add_explicit(&st_wal_writes, 1, memory_order_relaxed);
    /* inside what is buffered (SQLite rewriting a frame of this transaction) */
    if (p->blen && off >= p->boff && off + amt <= p->boff + (sqlite3_int64)p->blen) {
        memcpy(p->buf + (off - p->boff), data, n);
        return SQLITE_OK;
    }
    /* right after it, and it fits */
    if (p->blen && off == p->boff + (sqlite3_int64)p->blen && p->blen + n <= p->bcap) {
        memcpy(p->buf + p->blen, data, n);
        p->blen += n;
        return SQLITE_OK;
    }
    /* anywhere else: what is buffered goes first, so writes keep their order */
    if ((rc = wal_flush(p)) != SQLITE_OK)
        return rc;
    if (n > p->bcap / 2 || n > WRITE_PIECE)
        return p->lower->pMethods->xWrite(p->lower, data, amt, off);
    memcpy(p->buf, data, n);
    p->boff = off;
    p->blen = n;
    return SQLITE_OK;
}

/* ==== the database mapping ==== */

static int measure(struct vfile *p)
{
    struct stat sb;
    if (p->fd < 0 || fstat(p->fd, &sb) != 0)
        return -1;
    p->size = sb.st_size;
    return 0;
}

static void unmap(struct vfile *p)
{
    if (p->map) {
        munmap(p->map, (size_t)p->map_len);
        atomic_fetch_add_explicit(&st_unmaps, 1, memory_order_relaxed);
    }
    p->map = NULL;
    p->map_len = 0;
}

static void map_file(struct vfile *p)
{
    void *m;
    if (p->map || p->map_failed || p->map_max <= 0 || p->fd < 0)
        return;
    m = mmap(NULL, (size_t)p->map_max, PROT_READ, MAP_SHARED, p->fd, 0);
    if (m == MAP_FAILED) {
        p->map_failed = 1;
        return;
    }
    p->map = m;
    p->map_len = p->map_max;
    atomic_fetch_add_explicit(&st_maps, 1, memory_order_relaxed);
}

/* ==== io methods ==== */

static int v_close(sqlite3_file *f)
{
    struct vfile *p = (struct vfile *)f;
    int rc = SQLITE_OK, rc2;

    if (p->kind == VK_WAL) {
        rc = wal_flush(p);
        free(p->buf);
        p->buf = NULL;
        if (p->main && p->main->wal == p)
            p->main->wal = NULL;
    } else if (p->kind == VK_MAIN) {
        unmap(p);
        if (p->wal)
            p->wal->main = NULL;
    }
    rc2 = LM(f)->xClose(p->lower);
    if (p->kind == VK_MAIN) {
        /* only now: the lower close has given up this connection's locks */
        sfd_release(p->sfd);
        p->sfd = NULL;
        p->fd = -1;
    }
    return rc != SQLITE_OK ? rc : rc2;
}

static int v_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
    struct vfile *p = (struct vfile *)f;
    if (p->kind == VK_WAL && p->blen) {
        int rc = wal_flush(p);
        if (rc != SQLITE_OK)
            return rc;
    }
    return LM(f)->xRead(p->lower, buf, amt, off);
}

static int v_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    struct vfile *p = (struct vfile *)f;
    int rc;
    if (p->kind == VK_WAL && p->buf)
        return wal_write(p, buf, amt, off);
    rc = LM(f)->xWrite(p->lower, buf, amt, off);
    if (rc == SQLITE_OK && p->kind == VK_MAIN && p->fd >= 0 &&
        (p->unstarted += amt) >= WRITEBACK_BYTES) {
        p->unstarted = 0;
        if (sync_file_range(p->fd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0)
            atomic_fetch_add_explicit(&st_writebacks, 1, memory_order_relaxed);
    }
    return rc;
}

static int v_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    struct vfile *p = (struct vfile *)f;
    int rc;
    if (p->kind == VK_WAL && (rc = wal_flush(p)) != SQLITE_OK)
        return rc;
    rc = LM(f)->xTruncate(p->lower, size);
    if (p->kind == VK_MAIN && size < p->size)
        p->size = size;
    return rc;
}

static struct store_hist wal_sync_hist;

const struct store_hist *sq_vfs_wal_sync_hist(void)
{
    return &wal_sync_hist;
}

static int v_sync(sqlite3_file *f, int flags)
{
    struct vfile *p = (struct vfile *)f;
    uint64_t t0;
    int rc;
    if (p->kind != VK_WAL)
        return LM(f)->xSync(p->lower, flags);
    if ((rc = wal_flush(p)) != SQLITE_OK)
        return rc;
    t0 = mono_us();
    rc = LM(f)->xSync(p->lower, flags);
    store_hist_add(&wal_sync_hist, mono_us() - t0);
    return rc;
}

static int v_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    struct vfile *p = (struct vfile *)f;
    int rc;
    if (p->kind == VK_WAL && (rc = wal_flush(p)) != SQLITE_OK)
        return rc;
    return LM(f)->xFileSize(p->lower, size);
}

static int v_lock(sqlite3_file *f, int level)
{
    return LM(f)->xLock(LOWER(f), level);
}

static int v_unlock(sqlite3_file *f, int level)
{
    return LM(f)->xUnlock(LOWER(f), level);
}

static int v_check_reserved(sqlite3_file *f, int *out)
{
    return LM(f)->xCheckReservedLock(LOWER(f), out);
}

static int v_file_control(sqlite3_file *f, int op, void *arg)
{
    struct vfile *p = (struct vfile *)f;

    if (op == SQLITE_FCNTL_MMAP_SIZE && p->kind == VK_MAIN) {
        /* ours alone: the unix VFS below keeps mmap_size 0 and maps nothing */
        sqlite3_int64 want = *(sqlite3_int64 *)arg;
        *(sqlite3_int64 *)arg = p->map_max;
        if (want >= 0 && want != p->map_max && p->nfetch == 0) {
            unmap(p);
            p->map_max = want;
            p->map_failed = 0;
        }
        return SQLITE_OK;
    }
    if (op == SQLITE_FCNTL_VFSNAME) {
        /* the lower name is allocated; say ours */
        *(char **)arg = sqlite3_mprintf("%s", VFS_NAME);
        return SQLITE_OK;
    }
    return LM(f)->xFileControl(p->lower, op, arg);
}

static int v_sector_size(sqlite3_file *f)
{
    return LM(f)->xSectorSize(LOWER(f));
}

static int v_device_characteristics(sqlite3_file *f)
{
    return LM(f)->xDeviceCharacteristics(LOWER(f));
}

/* The WAL of the connection this database file belongs to must not keep
 * frames in memory across a wal-index lock change or header write. */
static void flush_linked_wal(struct vfile *p)
{
    if (p->kind == VK_MAIN && p->wal && p->wal->blen)
        (void)wal_flush(p->wal); /* see the file comment: empty under FULL */
}

static int v_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    struct vfile *p = (struct vfile *)f;
    int rc = LM(f)->xShmMap(LOWER(f), pg, pgsz, extend, pp);
    if (rc == SQLITE_OK && pg == 0 && *pp && pgsz >= WAL_STAMP_END)
        p->shm0 = (const volatile uint32_t *)*pp;
    return rc;
}

static int v_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    flush_linked_wal((struct vfile *)f);
    return LM(f)->xShmLock(LOWER(f), offset, n, flags);
}

static void v_shm_barrier(sqlite3_file *f)
{
    flush_linked_wal((struct vfile *)f);
    LM(f)->xShmBarrier(LOWER(f));
}

static int v_shm_unmap(sqlite3_file *f, int delete_flag)
{
    ((struct vfile *)f)->shm0 = NULL;
    return LM(f)->xShmUnmap(LOWER(f), delete_flag);
}

static int v_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
    struct vfile *p = (struct vfile *)f;
    sqlite3_int64 end = off + amt;

    *pp = NULL;
    if (p->kind != VK_MAIN || p->map_max <= 0)
        return SQLITE_OK;
    map_file(p);
    if (!p->map || end > p->map_len)
        return SQLITE_OK; /* the pager reads it instead */
    if (end > p->size && measure(p) != 0)
        return SQLITE_OK;
    if (end <= p->size) {
        *pp = p->map + off;
        p->nfetch++;
    }
    return SQLITE_OK;
}

static int v_unfetch(sqlite3_file *f, sqlite3_int64 off, void *ptr)
{
    struct vfile *p = (struct vfile *)f;
    (void)off;
    if (ptr)
        p->nfetch--;
    else if (p->kind == VK_MAIN)
        (void)measure(p); /* the pager saw a change: keep the mapping, learn the size */
    return SQLITE_OK;
}

static const sqlite3_io_methods vmethods = {
    .iVersion = 3,
    .xClose = v_close,
    .xRead = v_read,
    .xWrite = v_write,
    .xTruncate = v_truncate,
    .xSync = v_sync,
    .xFileSize = v_file_size,
    .xLock = v_lock,
    .xUnlock = v_unlock,
    .xCheckReservedLock = v_check_reserved,
    .xFileControl = v_file_control,
    .xSectorSize = v_sector_size,
    .xDeviceCharacteristics = v_device_characteristics,
    .xShmMap = v_shm_map,
    .xShmLock = v_shm_lock,
    .xShmBarrier = v_shm_barrier,
    .xShmUnmap = v_shm_unmap,
    .xFetch = v_fetch,
    .xUnfetch = v_unfetch,
};

/* ==== the VFS ==== */

static int v_open(sqlite3_vfs *self, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    struct vfile *p = (struct vfile *)f;
    int rc;

    (void)self;
    memset(p, 0, sizeof *p);
    p->fd = -1;
    p->lower = (sqlite3_file *)(p + 1);
    rc = lower_vfs->xOpen(lower_vfs, name, p->lower, flags, out_flags);
    if (rc != SQLITE_OK || !p->lower->pMethods) {
        /* SQLite calls xClose only when pMethods is set */
        if (p->lower->pMethods)
            p->lower->pMethods->xClose(p->lower);
        p->base.pMethods = NULL;
        return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    }
    if ((flags & SQLITE_OPEN_MAIN_DB) && name) {
        p->kind = VK_MAIN;
        /* the process's descriptor of the file SQLite just opened, to map it */
        if ((p->sfd = sfd_acquire(name)))
            p->fd = p->sfd->fd;
        (void)measure(p);
    } else if ((flags & SQLITE_OPEN_WAL) && name) {
        sqlite3_file *db = sqlite3_database_file_object(name);
        p->kind = VK_WAL;
        if (db && db->pMethods == &vmethods && ((struct vfile *)db)->kind == VK_MAIN) {
            p->main = (struct vfile *)db;
            p->main->wal = p;
        }
    }
    p->base.pMethods = &vmethods;
    return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *self, const char *name, int sync_dir)
{
    (void)self;
    return lower_vfs->xDelete(lower_vfs, name, sync_dir);
}

static int v_access(sqlite3_vfs *self, const char *name, int flags, int *out)
{
    (void)self;
    return lower_vfs->xAccess(lower_vfs, name, flags, out);
}

static int v_full_pathname(sqlite3_vfs *self, const char *name, int n, char *out)
{
    (void)self;
    return lower_vfs->xFullPathname(lower_vfs, name, n, out);
}

static void *v_dlopen(sqlite3_vfs *self, const char *name)
{
    (void)self;
    return lower_vfs->xDlOpen(lower_vfs, name);
}

static void v_dlerror(sqlite3_vfs *self, int n, char *msg)
{
    (void)self;
    lower_vfs->xDlError(lower_vfs, n, msg);
}

static void (*v_dlsym(sqlite3_vfs *self, void *h, const char *sym))(void)
{
    (void)self;
    return lower_vfs->xDlSym(lower_vfs, h, sym);
}

static void v_dlclose(sqlite3_vfs *self, void *h)
{
    (void)self;
    lower_vfs->xDlClose(lower_vfs, h);
}

static int v_randomness(sqlite3_vfs *self, int n, char *out)
{
    (void)self;
    return lower_vfs->xRandomness(lower_vfs, n, out);
}

static int v_sleep(sqlite3_vfs *self, int us)
{
    (void)self;
    return lower_vfs->xSleep(lower_vfs, us);
}

static int v_current_time(sqlite3_vfs *self, double *out)
{
    (void)self;
    return lower_vfs->xCurrentTime(lower_vfs, out);
}

static int v_last_error(sqlite3_vfs *self, int n, char *out)
{
    (void)self;
    return lower_vfs->xGetLastError ? lower_vfs->xGetLastError(lower_vfs, n, out) : 0;
}

static int v_current_time64(sqlite3_vfs *self, sqlite3_int64 *out)
{
    (void)self;
    return lower_vfs->xCurrentTimeInt64(lower_vfs, out);
}

/* The SQLite releases this layer was verified with (its tests, the crash
 * and lock tests, the benchmark): it relies on the unix VFS's behaviour
 * (the 128 KiB write limit, xFetch/xUnfetch as the pager calls them, the
 * locks it takes) and on the wal-index layout. Outside this range the store
 * uses SQLite's own unix VFS and says why. */
#define VFS_VERIFIED_MIN 3040000 /* 3.40.0 */
#define VFS_VERIFIED_END 3041000 /* up to 3.40.x */

static char vfs_off_reason[160];

static void vfs_register(void)
{
    const char *env = getenv("FLOWLOGD_SQLITE_VFS");
    int v = sqlite3_libversion_number();

    if (env && strcmp(env, "off") == 0) {
        snprintf(vfs_off_reason, sizeof vfs_off_reason, "FLOWLOGD_SQLITE_VFS=off");
        return;
    }
    if (v < VFS_VERIFIED_MIN || v >= VFS_VERIFIED_END) {
        snprintf(vfs_off_reason, sizeof vfs_off_reason,
                 "SQLite %s is outside the releases the flowlogd VFS was verified with "
                 "(3.40.x)", sqlite3_libversion());
        return;
    }
    lower_vfs = sqlite3_vfs_find(NULL);
    if (!lower_vfs || lower_vfs->iVersion < 2 || !lower_vfs->xCurrentTimeInt64) {
        snprintf(vfs_off_reason, sizeof vfs_off_reason, "SQLite has no default VFS to wrap");
        lower_vfs = NULL;
        return;
    }
    vfs.iVersion = 2;
    vfs.szOsFile = (int)sizeof(struct vfile) + lower_vfs->szOsFile;
    vfs.mxPathname = lower_vfs->mxPathname;
    vfs.zName = VFS_NAME;
    vfs.xOpen = v_open;
    vfs.xDelete = v_delete;
    vfs.xAccess = v_access;
    vfs.xFullPathname = v_full_pathname;
    vfs.xDlOpen = v_dlopen;
    vfs.xDlError = v_dlerror;
    vfs.xDlSym = v_dlsym;
    vfs.xDlClose = v_dlclose;
    vfs.xRandomness = v_randomness;
    vfs.xSleep = v_sleep;
    vfs.xCurrentTime = v_current_time;
    vfs.xGetLastError = v_last_error;
    vfs.xCurrentTimeInt64 = v_current_time64;
    if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) {
        snprintf(vfs_off_reason, sizeof vfs_off_reason, "sqlite3_vfs_register failed");
        lower_vfs = NULL;
    }
}

static pthread_once_t vfs_once = PTHREAD_ONCE_INIT;

const char *sq_vfs_name(void)
{
    pthread_once(&vfs_once, vfs_register);
    return lower_vfs ? VFS_NAME : NULL;
}

const char *sq_vfs_off_reason(void)
{
    pthread_once(&vfs_once, vfs_register);
    return lower_vfs ? NULL : vfs_off_reason;
}

int sq_vfs_buffer_wal(sqlite3 *db, size_t bytes)
{
    sqlite3_file *f = NULL;
    sqlite3_stmt *st = NULL;
    struct vfile *p;
    int sync = 0;

    if (bytes < 65536 || bytes > (1u << 30))
        return -1;
    if (sqlite3_prepare_v2(db, "PRAGMA synchronous", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        sync = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (sync < 2) /* FULL = 2, EXTRA = 3 */
        return -1;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK || !f ||
        f->pMethods != &vmethods)
        return -1;
    p = (struct vfile *)f;
    if (p->kind != VK_WAL || !p->main || p->buf)
        return -1;
    if (!(p->buf = malloc(bytes)))
        return -1;
    p->bcap = bytes;
    p->blen = 0;
    return 0;
}

int sq_vfs_wal_stamp(sqlite3_file *f, struct sq_wal_stamp *out)
{
    const volatile uint32_t *w;
    if (!f || f->pMethods != &vmethods || ((struct vfile *)f)->kind != VK_MAIN)
        return -1;
    w = ((struct vfile *)f)->shm0;
    if (!w)
        return -1;
    /* Another thread or process may be writing it: a torn copy differs
     * from every stamp taken before that write began, as a whole one does */
    for (int i = 0; i < WAL_HDR_WORDS; i++)
        out->w[i] = __atomic_load_n(&w[i], __ATOMIC_RELAXED);
    out->w[WAL_HDR_WORDS] = __atomic_load_n(&w[WAL_NBACKFILL_WORD], __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return 0;
}

int sq_vfs_wal_backlog(sqlite3_file *f)
{
    struct sq_wal_stamp st;
    if (sq_vfs_wal_stamp(f, &st) != 0)
        return -1;
    return st.w[WAL_MXFRAME_WORD] > st.w[WAL_HDR_WORDS]
               ? (int)(st.w[WAL_MXFRAME_WORD] - st.w[WAL_HDR_WORDS])
               : 0;
}

void sq_vfs_stats(struct sq_vfs_stats *out)
{
    out->maps = atomic_load_explicit(&st_maps, memory_order_relaxed);
    out->unmaps = atomic_load_explicit(&st_unmaps, memory_order_relaxed);
    out->wal_writes = atomic_load_explicit(&st_wal_writes, memory_order_relaxed);
    out->wal_flushes = atomic_load_explicit(&st_wal_flushes, memory_order_relaxed);
    out->writebacks = atomic_load_explicit(&st_writebacks, memory_order_relaxed);
}
