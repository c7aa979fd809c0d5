/* sqlite_pagekeys.h: where a tenant's resource pages ended, so that the next
 * page seeks instead of skipping (sqlite_resource.c, sq_resource_query).
 *
 * An entry says: in the resources of (uin, region, kind) at generation
 * `gen`, ordered by (created_at, id), the first `at` entries end with the
 * key (created_at, id). The generation is resource_usage.gen, which the
 * triggers change with every insert or delete of that (uin, region, kind)
 * (sqlite.c, schema 9), and it is read in the same snapshot as the page:
 * while it is equal the set is the same, so "OFFSET at + k" is exactly
 * "after that key, OFFSET k". Entries of an older generation are never
 * found again and age out (LRU). Thread-safe (one mutex, held for a copy).
 */
#ifndef FLOWLOGD_STORE_SQLITE_PAGEKEYS_H
#define FLOWLOGD_STORE_SQLITE_PAGEKEYS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define PK_SLOTS 32

struct pk_slot {
    uint64_t used;  /* LRU stamp; 0 = empty */
    char uin[32], region[32];
    int kind;
    int64_t gen;
    uint64_t at;    /* entries up to and including the key */
    int64_t created_at;
    char id[160];
};

struct pagekeys {
    pthread_mutex_t mu;
    uint64_t clock; /* LRU stamps */
    uint64_t hits, misses;
    struct pk_slot slot[PK_SLOTS];
};

void pk_init(struct pagekeys *p);
void pk_fini(struct pagekeys *p);

/** The entry of (uin, region, kind, gen) with the largest `at` <= offset:
 * 1 and *at, *created_at, id[idcap] set; 0 if none (or offset is 0). */
int pk_find(struct pagekeys *p, const char *uin, const char *region, int kind, int64_t gen,
            uint64_t offset, uint64_t *at, int64_t *created_at, char *id, size_t idcap);

/** Records that the first `at` entries of (uin, region, kind) at gen end
 * with (created_at, id). Keys too long for a slot are not recorded. */
void pk_put(struct pagekeys *p, const char *uin, const char *region, int kind, int64_t gen,
            uint64_t at, int64_t created_at, const char *id);

#endif
