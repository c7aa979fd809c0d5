/* shared.c: the cluster's rate limit in Redis (hiredis), GCRA in one Lua
 * call.
 *
 * GCRA (the generic cell rate algorithm) keeps one number per key: the
 * theoretical arrival time (TAT) of the next request, in microseconds of
 * Redis's clock. With T = 1 s / rate and a burst of b requests, a request at
 * `now` passes when max(TAT, now) + T - now <= b * T, and then moves TAT to
 * max(TAT, now) + T. That is the node-local token bucket of ratelimit.c
 * (capacity b, refill `rate`/s, starts full) with one number instead of two,
 * and one Redis call per request: the script reads TAT, decides and writes it
 * back with an expiry of its remaining life, atomically (Redis runs one
 * script at a time). The clock is Redis's (TIME), so the nodes' clocks may
 * disagree without effect.
 *
 * Connections: a pool of blocking hiredis contexts. A caller takes one
 * (or connects a new one), runs the script and gives it back; so there are
 * at most as many connections as threads calling at once (the HTTP poll
 * threads and workers).
 *
 * Redis down: a failed connect, a timeout (CALL_TIMEOUT_MS) or an error
 * reply makes this call RL_SHARED_DOWN, drops every pooled connection (they
 * are likely broken too: the generation counter moves) and makes calls in the
 * next RETRY_MS say RL_SHARED_DOWN at once, without trying. The first call
 * after that tries again. The caller (api.c) then applies the node's own
 * bucket; the change to down and back is logged once each and counted.
 */
#include "ratelimit/shared.h"

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"

#define CALL_TIMEOUT_MS 250
#define RETRY_MS 1000
#define KEY_PREFIX "flowlogd:rl:"

/* KEYS[1] the bucket; ARGV[1] T (µs per request), ARGV[2] b * T (µs).
 * Returns 1 (pass) or 0 (over the limit). Numbers are Lua doubles: µs since
 * 1970 are below 2^53 for another 200 years. */
static const char gcra_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local T = tonumber(ARGV[1])\n"
    "local cap = tonumber(ARGV[2])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]))\n"
    "if not tat or tat < now then tat = now end\n"
    "local nt = tat + T\n"
    "if nt - now > cap then return 0 end\n"
    "redis.call('SET', KEYS[1], string.format('%.0f', nt), 'PX', math.floor((nt - now) / 1000) + 1)\n"
    "return 1\n";

/* latency buckets of the Redis call, in µs (the last one is +Inf) */
static const uint64_t lat_le_us[] = {50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 250000};
#define NLAT (sizeof lat_le_us / sizeof lat_le_us[0])

struct conn {
    struct conn *next;
    redisContext *c;
    uint64_t gen;
};

struct rl_shared {
    char host[256];     /* or the socket's path */
    int port;           /* 0: unix socket */
    char password[256]; /* "" = none */
    int db;
    char where[300];    /* the URL without its password */
    char sha[41];       /* SHA-1 of gcra_lua, hex */

    pthread_mutex_t mu;
    struct conn *idle; /* under mu */
    _Atomic uint64_t gen;
    _Atomic uint64_t retry_at_us; /* mono_us before which no attempt is made */
    _Atomic int up;               /* 1 until a failure, 1 again after a success */

    _Atomic uint64_t pass, reject, down;
    _Atomic uint64_t lat[NLAT + 1];
    _Atomic uint64_t lat_sum_us, lat_count;
};

/* ==== URL ==== */

static int parse_url(struct rl_shared *s, const char *url, char *err, size_t errlen)
{
    const char *p, *at, *slash, *colon;
    size_t n;

    if (strncmp(url, "unix:", 5) == 0) {
        p = url + 5;
        if (strncmp(p, "//", 2) == 0)
            p += 2;
        if (*p != '/' || strlen(p) >= sizeof s->host)
            goto bad;
        snprintf(s->host, sizeof s->host, "%s", p);
        snprintf(s->where, sizeof s->where, "unix:%s", p);
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0)
        goto bad;
    p = url + 8;
    slash = strchr(p, '/');
    at = memchr(p, '@', slash ? (size_t)(slash - p) : strlen(p));
    if (at) {
        /* [USER]:PASSWORD@ (a user name is not used: Redis 5's AUTH has none) */
        const char *pc = memchr(p, ':', (size_t)(at - p));
        if (!pc || (size_t)(at - pc - 1) >= sizeof s->password)
            goto bad;
        memcpy(s->password, pc + 1, (size_t)(at - pc - 1));
        s->password[at - pc - 1] = '\0';
        p = at + 1;
    }
    n = slash ? (size_t)(slash - p) : strlen(p);
    colon = memchr(p, ':', n);
    s->port = 6379;
    if (colon) {
        char *end;
        long v = strtol(colon + 1, &end, 10);
        if (end != p + n || v < 1 || v > 65535)
            goto bad;
        s->port = (int)v;
        n = (size_t)(colon - p);
    }
    if (n == 0 || n >= sizeof s->host)
        goto bad;
    memcpy(s->host, p, n);
    s->host[n] = '\0';
    if (slash && slash[1]) {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (*end || v < 0 || v > 100000)
            goto bad;
        s->db = (int)v;
    }
    snprintf(s->where, sizeof s->where, "redis://%s%s:%d/%d", s->password[0] ? "***@" : "",
             s->host, s->port, s->db);
    return 0;
bad:
    snprintf(err, errlen,
             "--rate-limit-redis wants redis://[:PASSWORD@]HOST[:PORT][/DB] or unix:PATH");
    return -1;
}

/* ==== connections ==== */

/* A new connection, authenticated and on its database; NULL if Redis cannot
 * be reached (the reason in err). */
static redisContext *conn_open(struct rl_shared *s, char *err, size_t errlen)
{
    struct timeval tv = {0, CALL_TIMEOUT_MS * 1000};
    redisContext *c = s->port ? redisConnectWithTimeout(s->host, s->port, tv)
                              : redisConnectUnixWithTimeout(s->host, tv);
    redisReply *r = NULL;

    if (!c || c->err) {
        snprintf(err, errlen, "%s", c ? c->errstr : "out of memory");
        goto fail;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(err, errlen, "cannot set a timeout: %s", c->errstr);
        goto fail;
    }
    if (s->password[0]) {
        r = redisCommand(c, "AUTH %s", s->password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "AUTH: %s", r ? r->str : c->errstr);
            goto fail;
        }
        freeReplyObject(r);
        r = NULL;
    }
    if (s->db) {
        r = redisCommand(c, "SELECT %d", s->db);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "SELECT %d: %s", s->db, r ? r->str : c->errstr);
            goto fail;
        }
        freeReplyObject(r);
    }
    return c;
fail:
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return NULL;
}

/* A pooled connection of the current generation, or NULL (none idle). */
static struct conn *pool_take(struct rl_shared *s)
{
    struct conn *k, *stale = NULL;
    uint64_t gen = atomic_load(&s->gen);

    pthread_mutex_lock(&s->mu);
    while ((k = s->idle) && k->gen != gen) {
        s->idle = k->next;
        k->next = stale;
        stale = k;
    }
    if (k)
        s->idle = k->next;
    pthread_mutex_unlock(&s->mu);
    while (stale) {
        struct conn *n = stale->next;
        redisFree(stale->c);
        free(stale);
        stale = n;
    }
    return k;
}

static void pool_give(struct rl_shared *s, struct conn *k)
{
    pthread_mutex_lock(&s->mu);
    k->next = s->idle;
    s->idle = k;
    pthread_mutex_unlock(&s->mu);
}

/* Redis failed (`why`): every pooled connection goes, no attempt for
 * RETRY_MS, and the change is said once. */
static void mark_down(struct rl_shared *s, const char *why)
{
    atomic_fetch_add(&s->gen, 1);
    atomic_store(&s->retry_at_us, mono_us() + RETRY_MS * 1000ull);
    if (atomic_exchange(&s->up, 0))
        log_warn("rate limit: Redis at %s is unavailable (%s); each node applies its own "
                 "buckets until it answers (an account may get up to N x the limit over N nodes)",
                 s->where, why);
}

static void mark_up(struct rl_shared *s)
{
    if (!atomic_exchange(&s->up, 1))
        log_info("rate limit: Redis at %s answers again; the limit is cluster-wide again",
                 s->where);
}

/* ==== public ==== */

struct rl_shared *rl_shared_new(const char *url, char *err, size_t errlen)
{
    struct rl_shared *s = calloc(1, sizeof *s);
    unsigned char md[SHA_DIGEST_LENGTH];

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (parse_url(s, url, err, errlen) != 0) {
        free(s);
        return NULL;
    }
    SHA1((const unsigned char *)gcra_lua, strlen(gcra_lua), md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
    pthread_mutex_init(&s->mu, NULL);
    atomic_store(&s->up, 1);
    return s;
}

const char *rl_shared_where(const struct rl_shared *s)
{
    return s->where;
}

enum rl_shared_verdict rl_shared_take(struct rl_shared *s, const char *key, uint32_t rate,
                                      uint32_t burst)
{
    char k[512], t_us[24], cap_us[24], why[256];
    const char *argv[6];
    size_t lens[6];
    struct conn *c;
    redisReply *r;
    uint64_t t0, dt, period;
    enum rl_shared_verdict v;
    size_t i;

    t0 = mono_us();
    if (t0 < atomic_load(&s->retry_at_us)) {
        atomic_fetch_add(&s->down, 1);
        return RL_SHARED_DOWN;
    }
    if (!(c = pool_take(s))) {
        redisContext *rc = conn_open(s, why, sizeof why);
        if (!rc || !(c = calloc(1, sizeof *c))) {
            if (rc)
                redisFree(rc);
            else
                mark_down(s, why);
            atomic_fetch_add(&s->down, 1);
            return RL_SHARED_DOWN;
        }
        c->c = rc;
        c->gen = atomic_load(&s->gen);
    }
    if (rate == 0)
        rate = 1;
    if (burst == 0)
        burst = 1;
    period = 1000000u / rate ? 1000000u / rate : 1;
    snprintf(k, sizeof k, KEY_PREFIX "%s", key);
    snprintf(t_us, sizeof t_us, "%llu", (unsigned long long)period);
    snprintf(cap_us, sizeof cap_us, "%llu", (unsigned long long)(period * burst));
    argv[0] = "EVALSHA", argv[1] = s->sha, argv[2] = "1", argv[3] = k, argv[4] = t_us,
    argv[5] = cap_us;
    for (i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    r = redisCommandArgv(c->c, 6, argv, lens);
    if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        /* first call on this Redis (or after its restart): EVAL loads it */
        freeReplyObject(r);
        argv[0] = "EVAL", argv[1] = gcra_lua, lens[0] = 4, lens[1] = strlen(gcra_lua);
        r = redisCommandArgv(c->c, 6, argv, lens);
    }
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        snprintf(why, sizeof why, "%s", !r ? c->c->errstr
                                          : r->type == REDIS_REPLY_ERROR ? r->str
                                                                          : "unexpected reply");
        if (r)
            freeReplyObject(r);
        redisFree(c->c);
        free(c);
        mark_down(s, why);
        atomic_fetch_add(&s->down, 1);
        return RL_SHARED_DOWN;
    }
    v = r->integer == 1 ? RL_SHARED_PASS : RL_SHARED_REJECT;
    freeReplyObject(r);
    pool_give(s, c);
    mark_up(s);
    atomic_fetch_add(v == RL_SHARED_PASS ? &s->pass : &s->reject, 1);
    dt = mono_us() - t0;
    for (i = 0; i < NLAT && dt > lat_le_us[i]; i++)
        ;
    atomic_fetch_add(&s->lat[i], 1);
    atomic_fetch_add(&s->lat_sum_us, dt);
    atomic_fetch_add(&s->lat_count, 1);
    return v;
}

int rl_shared_metrics(const struct rl_shared *s, struct buf *out)
{
    uint64_t cum = 0;
    int bad = 0;
    struct rl_shared *m = (struct rl_shared *)s; /* atomics are read, not changed */

    bad |= buf_printf(out,
                      "# HELP flowlogd_ratelimit_shared_up 1 while the cluster's rate-limit "
                      "Redis answers, 0 while each node applies its own buckets.\n"
                      "# TYPE flowlogd_ratelimit_shared_up gauge\n"
                      "flowlogd_ratelimit_shared_up %d\n"
                      "# HELP flowlogd_ratelimit_shared_decisions_total Rate-limit decisions, by "
                      "who took them: Redis (pass, reject) or the node alone while Redis was "
                      "down (local).\n"
                      "# TYPE flowlogd_ratelimit_shared_decisions_total counter\n"
                      "flowlogd_ratelimit_shared_decisions_total{outcome=\"pass\"} %llu\n"
                      "flowlogd_ratelimit_shared_decisions_total{outcome=\"reject\"} %llu\n"
                      "flowlogd_ratelimit_shared_decisions_total{outcome=\"local\"} %llu\n"
                      "# HELP flowlogd_ratelimit_shared_seconds The Redis call's latency "
                      "(connection, round trip, script).\n"
                      "# TYPE flowlogd_ratelimit_shared_seconds histogram\n",
                      atomic_load(&m->up), (unsigned long long)atomic_load(&m->pass),
                      (unsigned long long)atomic_load(&m->reject),
                      (unsigned long long)atomic_load(&m->down)) < 0;
    for (size_t i = 0; i <= NLAT; i++) {
        cum += atomic_load(&m->lat[i]);
        if (i < NLAT)
            bad |= buf_printf(out, "flowlogd_ratelimit_shared_seconds_bucket{le=\"%g\"} %llu\n",
                              (double)lat_le_us[i] / 1e6, (unsigned long long)cum) < 0;
        else
            bad |= buf_printf(out, "flowlogd_ratelimit_shared_seconds_bucket{le=\"+Inf\"} %llu\n",
                              (unsigned long long)cum) < 0;
    }
    bad |= buf_printf(out,
                      "flowlogd_ratelimit_shared_seconds_sum %.6f\n"
                      "flowlogd_ratelimit_shared_seconds_count %llu\n",
                      (double)atomic_load(&m->lat_sum_us) / 1e6,
                      (unsigned long long)atomic_load(&m->lat_count)) < 0;
    return bad ? -1 : 0;
}

void rl_shared_free(struct rl_shared *s)
{
    if (!s)
        return;
    while (s->idle) {
        struct conn *n = s->idle->next;
        redisFree(s->idle->c);
        free(s->idle);
        s->idle = n;
    }
    pthread_mutex_destroy(&s->mu);
    OPENSSL_cleanse(s->password, sizeof s->password);
    free(s);
}
