/* sqlite_reader.h: the tuned engine's readers: one connection per thread,
 * read transactions kept between reads (see sqlite_reader.c). */
#ifndef FLOWLOGD_STORE_SQLITE_READER_H
#define FLOWLOGD_STORE_SQLITE_READER_H

#include <pthread.h>

#include "store/sqlite/sqlite_ckpt.h"
#include "store/sqlite/sqlite_engine.h"
#include "store/sqlite/sqlite_reaper.h"

struct held_reader;

struct sq_readers {
    const char *path;          /* the database file (the engine's) */
    const char *vfs;           /* the tuned VFS's name */
    char pragmas[512];         /* run on every new reader connection */
    const struct sq_ckpt *ckpt; /* while it runs, readers keep nothing */
    int hold;                  /* keep read transactions between reads */
    pthread_key_t key;         /* this thread's reader */
    int key_made;
    pthread_mutex_t mu;        /* the list */
    struct held_reader *list;
    struct sq_reaper reaper;
};

/** Sets up the per-thread readers and starts the reaper. STORE_OK or
 * STORE_ERR with e set (sq_readers_stop then undoes what was done). */
int sq_readers_start(struct sq_readers *rs, struct serr *e);
/** Stops the reaper and closes every reader connection. No thread may be
 * inside a read. */
void sq_readers_stop(struct sq_readers *rs);
/** The engine's read_begin and read_end (sqlite_engine.h). */
int sq_readers_begin(struct sq_readers *rs, struct conn **out, struct serr *e);
void sq_readers_end(struct sq_readers *rs, struct conn *c);

#endif
