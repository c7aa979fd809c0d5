/* sqlite_pagekeys.c: the store's cache of where resource pages ended (see
 * sqlite_pagekeys.h). A small array searched linearly under one mutex: a
 * pager asks once per page, and the search is a few dozen compares. */
#include "store/sqlite/sqlite_pagekeys.h"

#include <string.h>

void pk_init(struct pagekeys *p)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
}

void pk_fini(struct pagekeys *p)
{
    pthread_mutex_destroy(&p->mu);
}

static int same(const struct pk_slot *s, const char *uin, const char *region, int kind,
                int64_t gen)
{
    return s->used && s->kind == kind && s->gen == gen && strcmp(s->uin, uin) == 0 &&
           strcmp(s->region, region) == 0;
}

int pk_find(struct pagekeys *p, const char *uin, const char *region, int kind, int64_t gen,
            uint64_t offset, uint64_t *at, int64_t *created_at, char *id, size_t idcap)
{
    struct pk_slot *best = NULL;
    int found = 0;

    if (offset == 0)
        return 0;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < PK_SLOTS; i++) {
        struct pk_slot *s = &p->slot[i];
        if (same(s, uin, region, kind, gen) && s->at <= offset && (!best || s->at > best->at))
            best = s;
    }
    if (best && strlen(best->id) < idcap) {
        best->used = ++p->clock;
        *at = best->at;
        *created_at = best->created_at;
        memcpy(id, best->id, strlen(best->id) + 1);
        found = 1;
    }
    if (found)
        p->hits++;
    else
        p->misses++;
    pthread_mutex_unlock(&p->mu);
    return found;
}

void pk_put(struct pagekeys *p, const char *uin, const char *region, int kind, int64_t gen,
            uint64_t at, int64_t created_at, const char *id)
{
    struct pk_slot *s = NULL;

    if (at == 0 || strlen(uin) >= sizeof s->uin || strlen(region) >= sizeof s->region ||
        strlen(id) >= sizeof s->id)
        return;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < PK_SLOTS && !s; i++)
        if (same(&p->slot[i], uin, region, kind, gen) && p->slot[i].at == at)
            s = &p->slot[i]; /* the same fact again (or a racing reader's) */
    if (!s) {
        s = &p->slot[0];
        for (size_t i = 1; i < PK_SLOTS; i++)
            if (p->slot[i].used < s->used)
                s = &p->slot[i];
    }
    s->used = ++p->clock;
    memcpy(s->uin, uin, strlen(uin) + 1);
    memcpy(s->region, region, strlen(region) + 1);
    s->kind = kind;
    s->gen = gen;
    s->at = at;
    s->created_at = created_at;
    memcpy(s->id, id, strlen(id) + 1);
    pthread_mutex_unlock(&p->mu);
}
