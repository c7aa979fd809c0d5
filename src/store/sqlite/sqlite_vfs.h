/* sqlite_vfs.h: the "flowlogd" VFS, SQLite's default (unix) VFS with its own
 * memory mapping of database files, write coalescing for the WAL of the
 * writer connection and early write-back of checkpoints. See sqlite_vfs.c
 * for why and for the invariants. */
#ifndef FLOWLOGD_STORE_SQLITE_VFS_H
#define FLOWLOGD_STORE_SQLITE_VFS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/** Registers the VFS (once; not as the default) and returns its name for
 * sqlite3_open_v2, or NULL if it is not used: the linked SQLite is outside
 * the releases it was verified with, FLOWLOGD_SQLITE_VFS=off, or SQLite has
 * no default VFS to wrap. Connections then use SQLite's own unix VFS. */
const char *sq_vfs_name(void);

/** Why sq_vfs_name() is NULL (a sentence), or NULL when the VFS is used. */
const char *sq_vfs_off_reason(void);

/** How many database files this process's VFS keeps a descriptor of (one
 * per file, however many connections have it open), for tests. */
int sq_vfs_open_files(void);

/** Lets db's WAL file coalesce its writes in a buffer of `bytes`, written
 * out before every sync of the WAL and before the wal-index changes. db
 * must have been opened through this VFS, be in WAL mode with its WAL open
 * and run with synchronous = FULL or EXTRA (so that every commit syncs the
 * WAL before it is published). 0, or -1 if one of these does not hold
 * (nothing changed then). */
int sq_vfs_buffer_wal(sqlite3 *db, size_t bytes);

/** What a connection's read transaction saw of the database: the WAL
 * header as published in the wal-index and the checkpoint's progress. Any
 * commit, any checkpoint that copied frames and any restart of the WAL, by
 * any connection of any process, changes it. */
struct sq_wal_stamp {
    uint32_t w[13];
};

/** Copies the current stamp of the database file f (a connection's
 * SQLITE_FCNTL_FILE_POINTER) into out. 0, or -1 if f is not a database
 * file of this VFS or its connection has not mapped the wal-index yet
 * (before its first read in WAL mode). Lock-free: f's connection, or a
 * thread that has it to itself, may call it at any time. */
int sq_vfs_wal_stamp(sqlite3_file *f, struct sq_wal_stamp *out);

/** The frames of f's WAL that no checkpoint has copied into f yet (the
 * published mxFrame less nBackfill), read lock-free as a stamp is: a hint,
 * which may be out of date by the time it is used. -1 as for
 * sq_vfs_wal_stamp. */
int sq_vfs_wal_backlog(sqlite3_file *f);

/** Process-wide counters, for tests and diagnostics. */
struct sq_vfs_stats {
    uint64_t maps;         /* database mappings created */
    uint64_t unmaps;       /* and removed */
    uint64_t wal_writes;   /* writes SQLite made to buffered WAL files */
    uint64_t wal_flushes;  /* writes that reached those files */
    uint64_t writebacks;   /* write-backs of database files started */
};
void sq_vfs_stats(struct sq_vfs_stats *out);

struct store_hist;
/** The latency of the fsyncs of WAL files made through this VFS (the
 * commits' fsyncs), process-wide. */
const struct store_hist *sq_vfs_wal_sync_hist(void);

#endif
