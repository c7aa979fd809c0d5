/* credcache.c: direct-mapped slots, each with its own lock. */
#include "api/credcache.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    pthread_mutex_t lock;
    int used;
    uint64_t expires_ms;
    struct key_info key;
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
    if (s->used && now_ms < s->expires_ms && strcmp(s->key.secret_id, secret_id) == 0) {
        *out = s->key;
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
    if (!s->used || strcmp(s->key.secret_id, key->secret_id) != 0 || now_ms >= s->expires_ms) {
        s->key = *key;
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
    for (size_t i = 0; i <= cc->mask; i++)
        pthread_mutex_destroy(&cc->slots[i].lock);
    OPENSSL_cleanse(cc->slots, (cc->mask + 1) * sizeof *cc->slots);
    free(cc->slots);
    free(cc);
}
