/* credcache.c: a set-associative cache, one lock per set.
 *
 * 2^bits entries in sets of WAYS: a key lives in the set its SecretId
 * hashes to, in any of the set's ways; a new key takes a free or expired
 * way, else the one that expires first. Direct mapping (one way) hit only
 * ~30 % of the time with 5,000 tenants in 4,096 slots and ~74 % in 16,384:
 * two keys sharing a slot evict each other on every request.
 *
 * An entry keeps a key_info without its 2 KB `actions` array: a key
 * restricted to some actions has them in a malloc'd copy (owned by the
 * entry), a key allowed everything (the usual case) has none. So an entry
 * is ~350 bytes and the cache can hold every tenant of a large deployment. */
#include "api/credcache.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 4

struct entry {
    int used;
    uint64_t expires_ms;
    char secret_id[sizeof ((struct key_info *)0)->secret_id];
    char secret_key[sizeof ((struct key_info *)0)->secret_key];
    struct account account;
    char token[sizeof ((struct key_info *)0)->token];
    int64_t key_expires; /* the key's own end (UNIX s), not the entry's */
    char *actions; /* NULL: every action */
    char date[11];
    char service[64];
    unsigned char signing[32];
    int have_signing;
};

struct set {
    pthread_mutex_t lock;
    struct entry way[WAYS];
};

struct credcache {
    size_t mask; /* sets - 1 */
    uint64_t ttl_ms;
    struct set *sets;
};

/* FNV-1a: the ids are random, any decent spread will do. */
static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)h;
}

struct credcache *credcache_new(unsigned bits, uint64_t ttl_ms)
{
    struct credcache *cc = calloc(1, sizeof *cc);
    size_t n = bits >= 2 ? (size_t)1 << (bits - 2) : 1; /* sets of WAYS = 4 */
    if (!cc || !(cc->sets = calloc(n, sizeof *cc->sets))) {
        free(cc);
        return NULL;
    }
    cc->mask = n - 1;
    cc->ttl_ms = ttl_ms;
    for (size_t i = 0; i < n; i++)
        pthread_mutex_init(&cc->sets[i].lock, NULL);
    return cc;
}

static struct set *set_of(struct credcache *cc, const char *secret_id)
{
    return &cc->sets[hash(secret_id) & cc->mask];
}

/* The live entry of secret_id in s, or NULL. */
static struct entry *find(struct set *s, const char *secret_id, uint64_t now_ms)
{
    for (int i = 0; i < WAYS; i++)
        if (s->way[i].used && now_ms < s->way[i].expires_ms &&
            strcmp(s->way[i].secret_id, secret_id) == 0)
            return &s->way[i];
    return NULL;
}

static int same_scope(const struct entry *s, const char *date, const char *service)
{
    return s->have_signing && date && service && strcmp(s->date, date) == 0 &&
           strcmp(s->service, service) == 0;
}

int credcache_get(struct credcache *cc, const char *secret_id, uint64_t now_ms,
                  const char *date, const char *service, struct key_info *out,
                  unsigned char signing[32], int *have_signing)
{
    struct set *s = set_of(cc, secret_id);
    struct entry *en;
    int hit = 0;
    *have_signing = 0;
    pthread_mutex_lock(&s->lock);
    if ((en = find(s, secret_id, now_ms)) != NULL) {
        memcpy(out->secret_id, en->secret_id, sizeof out->secret_id);
        memcpy(out->secret_key, en->secret_key, sizeof out->secret_key);
        out->account = en->account;
        memcpy(out->token, en->token, sizeof out->token);
        out->expires = en->key_expires;
        if (en->actions)
            strcpy(out->actions, en->actions); /* it came from a key_info */
        else
            out->actions[0] = '\0';
        hit = 1;
        if (same_scope(en, date, service)) {
            memcpy(signing, en->signing, 32);
            *have_signing = 1;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return hit;
}

/* The way a new key takes: a free or expired one, else the first to expire. */
static struct entry *victim(struct set *s, uint64_t now_ms)
{
    struct entry *v = &s->way[0];
    for (int i = 0; i < WAYS; i++) {
        if (!s->way[i].used || now_ms >= s->way[i].expires_ms)
            return &s->way[i];
        if (s->way[i].expires_ms < v->expires_ms)
            v = &s->way[i];
    }
    return v;
}

void credcache_put(struct credcache *cc, const struct key_info *key, uint64_t now_ms,
                   const char *date, const char *service, const unsigned char signing[32])
{
    struct set *s = set_of(cc, key->secret_id);
    struct entry *en;
    pthread_mutex_lock(&s->lock);
    if ((en = find(s, key->secret_id, now_ms)) == NULL) {
        char *actions = NULL;
        en = victim(s, now_ms);
        if (key->actions[0] && !(actions = strdup(key->actions))) {
            en->used = 0; /* no memory: simply not cached */
            pthread_mutex_unlock(&s->lock);
            return;
        }
        free(en->actions);
        en->actions = actions;
        memcpy(en->secret_id, key->secret_id, sizeof en->secret_id);
        memcpy(en->secret_key, key->secret_key, sizeof en->secret_key);
        en->account = key->account;
        memcpy(en->token, key->token, sizeof en->token);
        en->key_expires = key->expires;
        en->used = 1;
        en->have_signing = 0;
        en->expires_ms = now_ms + cc->ttl_ms;
    }
    if (date && service && signing && strlen(date) < sizeof en->date &&
        strlen(service) < sizeof en->service) {
        strcpy(en->date, date);
        strcpy(en->service, service);
        memcpy(en->signing, signing, 32);
        en->have_signing = 1;
    }
    pthread_mutex_unlock(&s->lock);
}

void credcache_clear(struct credcache *cc)
{
    for (size_t i = 0; cc && i <= cc->mask; i++) {
        struct set *s = &cc->sets[i];
        pthread_mutex_lock(&s->lock);
        for (int w = 0; w < WAYS; w++) {
            free(s->way[w].actions);
            OPENSSL_cleanse(&s->way[w], sizeof s->way[w]); /* used = 0, secrets wiped */
        }
        pthread_mutex_unlock(&s->lock);
    }
}

void credcache_free(struct credcache *cc)
{
    if (!cc)
        return;
    for (size_t i = 0; i <= cc->mask; i++) {
        pthread_mutex_destroy(&cc->sets[i].lock);
        for (int w = 0; w < WAYS; w++)
            free(cc->sets[i].way[w].actions);
    }
    OPENSSL_cleanse(cc->sets, (cc->mask + 1) * sizeof *cc->sets);
    free(cc->sets);
    free(cc);
}
