/* ratelimit.c: token buckets keyed by string, striped for concurrency.
 *
 * Tokens are fixed-point milli-tokens in an int64: refilling `rate` tokens
 * per second over dt milliseconds adds exactly rate * dt milli-tokens, so
 * there is no division and no rounding drift. A new bucket starts full.
 *
 * Rules chosen where ratelimit.h leaves room:
 *  - rl_new(0, b) uses 20/s; rl_new(r, 0) uses burst = r. A default or
 *    per-call rate of UINT32_MAX is unlimited: no bucket is made or touched.
 *  - A per-call rate overrides both rate and burst (burst = rate); tokens
 *    above the burst in force are clamped away.
 *  - Clock stepping back: nothing is refilled and the bucket keeps its later
 *    timestamp, so time that was already credited is not credited twice when
 *    the clock catches up. A step back of more than RL_RESYNC_MS re-bases the
 *    bucket on the new clock (still without refilling) so that a clock reset
 *    by hours does not freeze the bucket for hours.
 *  - Memory: a bucket not used for more than RL_IDLE_MS is evicted lazily.
 *    Each of the RL_STRIPES stripes sweeps its idle buckets whenever it has
 *    doubled since its last sweep (at least RL_SWEEP_MIN buckets), so a
 *    stripe never holds more than max(2 x its buckets active in the last
 *    minute, RL_SWEEP_MIN) and sweeping costs O(1) amortised per insert. The
 *    slot array keeps its high-water size. An evicted bucket comes back full,
 *    which is what it would have refilled to for any rate >= burst / 60.
 *  - Out of memory for a new bucket: the request passes (fail open); denying
 *    it would report RequestLimitExceeded for something that is not.
 *  - The hash is FNV-1a with a per-limiter random seed and a final mix. Keys
 *    are built by the server (account uin + action), not chosen freely.
 */
#include "ratelimit/ratelimit.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define RL_STRIPE_BITS 6
#define RL_STRIPES (1u << RL_STRIPE_BITS)
#define RL_IDLE_MS 60000u
#define RL_RESYNC_MS 60000u
#define RL_SWEEP_MIN 64u
#define RL_DEFAULT_RATE 20u
#define RL_MILLI 1000

struct bucket {
    struct bucket *next;
    uint64_t hash;
    uint64_t last_ms;  /* latest time seen (see the clock rule above) */
    int64_t tokens_m;  /* milli-tokens */
    size_t klen;
    char key[];
};

struct stripe {
    pthread_mutex_t mu;
    struct bucket **slots; /* chained hash table, nslots a power of two */
    size_t nslots, count;
    size_t sweep_at;       /* sweep idle buckets when count reaches this */
};

struct ratelimit {
    uint32_t rate, burst;
    uint64_t seed;
    struct stripe stripes[RL_STRIPES];
};

/* ==== Hashing ==== */

static uint64_t key_hash(uint64_t seed, const char *key, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3ull;
    }
    /* final mix so that both the top bits (stripe) and low bits (slot) vary */
    return mix64(h);
}

/* ==== One stripe (caller holds st->mu) ==== */

static struct bucket *stripe_find(struct stripe *st, uint64_t h, const char *key, size_t klen)
{
    if (st->nslots == 0)
        return NULL;
    for (struct bucket *b = st->slots[h & (st->nslots - 1)]; b; b = b->next)
        if (b->hash == h && b->klen == klen && memcmp(b->key, key, klen) == 0)
            return b;
    return NULL;
}

/* Frees the buckets idle for more than RL_IDLE_MS at `now`. */
static void stripe_sweep(struct stripe *st, uint64_t now)
{
    for (size_t i = 0; i < st->nslots; i++) {
        struct bucket **pp = &st->slots[i];
        while (*pp) {
            struct bucket *b = *pp;
            if (now > b->last_ms && now - b->last_ms > RL_IDLE_MS) {
                *pp = b->next;
                free(b);
                st->count--;
            } else {
                pp = &b->next;
            }
        }
    }
}

/* Doubles the slot array (16 at first). Returns 0, or -1 on OOM (the table
 * is then unchanged and still usable if it had slots). */
static int stripe_grow(struct stripe *st)
{
    size_t n = st->nslots ? st->nslots * 2 : 16;
    struct bucket **slots = calloc(n, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < st->nslots; i++) {
        struct bucket *b = st->slots[i], *next;
        for (; b; b = next) {
            next = b->next;
            b->next = slots[b->hash & (n - 1)];
            slots[b->hash & (n - 1)] = b;
        }
    }
    free(st->slots);
    st->slots = slots;
    st->nslots = n;
    return 0;
}

/* Adds a full bucket for key; sweeps and grows first when due. */
static struct bucket *stripe_add(struct stripe *st, uint64_t h, const char *key, size_t klen,
                                 uint64_t now, uint32_t burst)
{
    struct bucket *b;

    if (st->count >= st->sweep_at) {
        stripe_sweep(st, now);
        st->sweep_at = st->count * 2 > RL_SWEEP_MIN ? st->count * 2 : RL_SWEEP_MIN;
    }
    if (st->count >= st->nslots && stripe_grow(st) != 0 && st->nslots == 0)
        return NULL;
    b = malloc(offsetof(struct bucket, key) + klen + 1);
    if (!b)
        return NULL;
    memcpy(b->key, key, klen + 1);
    b->klen = klen;
    b->hash = h;
    b->last_ms = now;
    b->tokens_m = (int64_t)burst * RL_MILLI;
    b->next = st->slots[h & (st->nslots - 1)];
    st->slots[h & (st->nslots - 1)] = b;
    st->count++;
    return b;
}

/* Refills b up to `now` and takes one token if there is one. */
static int bucket_take(struct bucket *b, uint64_t now, uint32_t rate, uint32_t burst)
{
    int64_t cap = (int64_t)burst * RL_MILLI;

    if (now > b->last_ms) {
        uint64_t dt = now - b->last_ms;
        if (b->tokens_m < cap) {
            uint64_t need = (uint64_t)(cap - b->tokens_m);
            /* rate * dt <= need whenever dt <= need / rate: no overflow */
            if (dt > need / rate)
                b->tokens_m = cap;
            else
                b->tokens_m += (int64_t)(rate * dt);
        }
        b->last_ms = now;
    } else if (b->last_ms - now > RL_RESYNC_MS) {
        b->last_ms = now; /* large step back: re-base, refill nothing */
    }
    if (b->tokens_m > cap)
        b->tokens_m = cap;
    if (b->tokens_m < RL_MILLI)
        return 0;
    b->tokens_m -= RL_MILLI;
    return 1;
}

/* ==== Public ==== */

struct ratelimit *rl_new(uint32_t rate, uint32_t burst)
{
    struct ratelimit *rl = calloc(1, sizeof *rl);
    unsigned i;

    if (!rl)
        return NULL;
    /* set by calloc(): every stripe's slots, nslots and count */
    rl->rate = rate ? rate : RL_DEFAULT_RATE;
    rl->burst = burst ? burst : rl->rate;
    if (rand_bytes(&rl->seed, sizeof rl->seed) != 0)
        rl->seed = 0;
    for (i = 0; i < RL_STRIPES; i++) {
        if (pthread_mutex_init(&rl->stripes[i].mu, NULL) != 0) {
            while (i-- > 0)
                pthread_mutex_destroy(&rl->stripes[i].mu);
            free(rl);
            return NULL;
        }
        rl->stripes[i].sweep_at = RL_SWEEP_MIN;
    }
    return rl;
}

int rl_take(struct ratelimit *rl, const char *key, uint64_t now_ms, uint32_t rate)
{
    uint32_t r = rate ? rate : rl->rate, burst = rate ? rate : rl->burst;
    size_t klen;
    uint64_t h;
    struct stripe *st;
    struct bucket *b;
    int ok;

    if (r == UINT32_MAX)
        return 1;
    klen = strlen(key);
    h = key_hash(rl->seed, key, klen);
    st = &rl->stripes[h >> (64 - RL_STRIPE_BITS)];
    pthread_mutex_lock(&st->mu);
    b = stripe_find(st, h, key, klen);
    if (!b)
        b = stripe_add(st, h, key, klen, now_ms, burst);
    ok = b ? bucket_take(b, now_ms, r, burst) : 1; /* OOM: fail open */
    pthread_mutex_unlock(&st->mu);
    return ok;
}

size_t rl_size(struct ratelimit *rl)
{
    size_t n = 0;
    for (unsigned i = 0; i < RL_STRIPES; i++) {
        pthread_mutex_lock(&rl->stripes[i].mu);
        n += rl->stripes[i].count;
        pthread_mutex_unlock(&rl->stripes[i].mu);
    }
    return n;
}

void rl_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    for (unsigned i = 0; i < RL_STRIPES; i++) {
        struct stripe *st = &rl->stripes[i];
        for (size_t j = 0; j < st->nslots; j++) {
            struct bucket *b = st->slots[j], *next;
            for (; b; b = next) {
                next = b->next;
                free(b);
            }
        }
        free(st->slots);
        pthread_mutex_destroy(&st->mu);
    }
    free(rl);
}
