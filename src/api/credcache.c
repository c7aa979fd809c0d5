/* credcache.c: direct-mapped slots, each with its own lock.
 *
 * A slot keeps a key_info without its 2 KB `actions` array: a key
 * restricted to some actions has them in a malloc'd copy (owned by the
 * slot), a key allowed everything (the usual case) has none. So a slot is
 * ~350 bytes and the cache can hold every tenant of a large deployment. */
#include "api/credcache.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    pthread_mutex_t lock;
    int used;
    uint64_t expires_ms;
    char secret_id[sizeof ((struct key_info *)0)->secret_id];
    char secret_key[sizeof ((struct key_info *)0)->secret_key];
    struct account account;
    char *actions; /* NULL: every action */
    char date[11];
    char service[64];
    unsigned char signing[32];
    int have_signing;
};

struct credcache {
    size_t mask;
    uint64_t ttl_ms;
    struct slot *slots;
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
    size_t n = (size_t)1 << bits;
    if (!cc || !(cc->slots = calloc(n, sizeof *cc->slots))) {
        free(cc);
        return NULL;
    }
    cc->mask = n - 1;
    cc->ttl_ms = ttl_ms;
    for (size_t i = 0; i < n; i++)
        pthread_mutex_init(&cc->slots[i].lock, NULL);
    return cc;
}

static int same_scope(const struct slot *s, const char *date, const char *service)
{
    return s->have_signing && date && service && strcmp(s->date, date) == 0 &&
           strcmp(s->service, service) == 0;
}

int credcache_get(struct credcache *cc, const char *secret_id, uint64_t now_ms,
                  const char *date, const char *service, struct key_info *out,
                  unsigned char signing[32], int *have_signing)
{
    struct slot *s = &cc->slots[hash(secret_id) & cc->mask];
    int hit = 0;
    *have_signing = 0;
    pthread_mutex_lock(&s->lock);
    if (s->used && now_ms < s->expires_ms && strcmp(s->secret_id, secret_id) == 0) {
        memcpy(out->secret_id, s->secret_id, sizeof out->secret_id);
        memcpy(out->secret_key, s->secret_key, sizeof out->secret_key);
        out->account = s->account;
        if (s->actions)
            strcpy(out->actions, s->actions); /* it came from a key_info */
        else
            out->actions[0] = '\0';
        hit = 1;
        if (same_scope(s, date, service)) {
            memcpy(signing, s->signing, 32);
            *have_signing = 1;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return hit;
}

void credcache_put(struct credcache *cc, const struct key_info *key, uint64_t now_ms,
                   const char *date, const char *service, const unsigned char signing[32])
{
    struct slot *s = &cc->slots[hash(key->secret_id) & cc->mask];
    pthread_mutex_lock(&s->lock);
    if (!s->used || strcmp(s->secret_id, key->secret_id) != 0 || now_ms >= s->expires_ms) {
        char *actions = NULL;
        if (key->actions[0] && !(actions = strdup(key->actions))) {
            s->used = 0; /* no memory: simply not cached */
            pthread_mutex_unlock(&s->lock);
            return;
        }
        free(s->actions);
        s->actions = actions;
        memcpy(s->secret_id, key->secret_id, sizeof s->secret_id);
        memcpy(s->secret_key, key->secret_key, sizeof s->secret_key);
        s->account = key->account;
        s->used = 1;
        s->have_signing = 0;
        s->expires_ms = now_ms + cc->ttl_ms;
    }
    if (date && service && signing && strlen(date) < sizeof s->date &&
        strlen(service) < sizeof s->service) {
        strcpy(s->date, date);
        strcpy(s->service, service);
        memcpy(s->signing, signing, 32);
        s->have_signing = 1;
    }
    pthread_mutex_unlock(&s->lock);
}

void credcache_free(struct credcache *cc)
{
    if (!cc)
        return;
    for (size_t i = 0; i <= cc->mask; i++) {
        pthread_mutex_destroy(&cc->slots[i].lock);
        free(cc->slots[i].actions);
    }
    OPENSSL_cleanse(cc->slots, (cc->mask + 1) * sizeof *cc->slots);
    free(cc->slots);
    free(cc);
}
