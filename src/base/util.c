/* util.c: time formatting, CSPRNG ids, UTF-8 and number parsing. */
#include "base/util.h"

#include <ctype.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

uint64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* t (unix seconds) as a UTC civil date and time: the inverse of
 * days-from-civil for the proleptic Gregorian calendar (H. Hinnant's
 * algorithm; eras of 400 years). gmtime_r + strftime cost ~1.4 % of a
 * DescribeFlowLogs answer (once per flow log, locale and time zone code). */
struct civil {
    int64_t year;
    unsigned month, day, hour, min, sec;
};

static struct civil civil_of(int64_t t)
{
    struct civil c;
    int64_t days = t / 86400, secs = t % 86400, era;
    unsigned doe, yoe, doy, mp;

    if (secs < 0) {
        secs += 86400;
        days--;
    }
    days += 719468; /* from 1970-01-01 to 0000-03-01 */
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = (unsigned)(days - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    c.day = doy - (153 * mp + 2) / 5 + 1;
    c.month = mp < 10 ? mp + 3 : mp - 9;
    c.year = (int64_t)yoe + era * 400 + (c.month <= 2);
    c.hour = (unsigned)(secs / 3600);
    c.min = (unsigned)(secs / 60 % 60);
    c.sec = (unsigned)(secs % 60);
    return c;
}

static char *put2(char *o, unsigned v)
{
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
    return o + 2;
}

/* "YYYY-MM-DD" of c into o[10]; years outside 0..9999 print as 0000 or 9999. */
static char *put_date(char *o, const struct civil *c)
{
    unsigned y = c->year < 0 ? 0 : c->year > 9999 ? 9999 : (unsigned)c->year;
    o = put2(o, y / 100);
    o = put2(o, y % 100);
    *o++ = '-';
    o = put2(o, c->month);
    *o++ = '-';
    return put2(o, c->day);
}

void fmt_time_cst(time_t t, char out[20])
{
    struct civil c = civil_of((int64_t)t + 8 * 3600);
    char *o = put_date(out, &c);
    *o++ = ' ';
    o = put2(o, c.hour);
    *o++ = ':';
    o = put2(o, c.min);
    *o++ = ':';
    o = put2(o, c.sec);
    *o = '\0';
}

void fmt_date_utc(time_t t, char out[11])
{
    struct civil c = civil_of((int64_t)t);
    *put_date(out, &c) = '\0';
}

int rand_bytes(void *p, size_t n)
{
    return RAND_bytes(p, (int)n) == 1 ? 0 : -1;
}

static int rand_chars(char *out, size_t n, const char *alphabet, unsigned alen)
{
    unsigned char r[64];
    size_t i = 0;
    /* rejection sampling keeps every character equally likely */
    unsigned limit = 256 - 256 % alen;
    while (i < n) {
        if (rand_bytes(r, sizeof r) != 0)
            return -1;
        for (size_t k = 0; k < sizeof r && i < n; k++)
            if (r[k] < limit)
                out[i++] = alphabet[r[k] % alen];
    }
    out[n] = '\0';
    return 0;
}

#define ID_ALPHABET "0123456789abcdefghijklmnopqrstuvwxyz"

/* The test feature of ids_seed: once seeded, ids and RequestIds come from
 * one process-wide splitmix64 sequence instead of the CSPRNG. */
static struct {
    pthread_mutex_t mu;
    _Atomic int on;
    uint64_t seed, count;
} det = {.mu = PTHREAD_MUTEX_INITIALIZER};

void ids_seed(uint64_t seed)
{
    pthread_mutex_lock(&det.mu);
    det.seed = seed;
    det.count = 0;
    atomic_store(&det.on, 1);
    pthread_mutex_unlock(&det.mu);
}

int ids_seeded(void)
{
    return atomic_load(&det.on);
}

/* The next value of the seeded sequence. */
static uint64_t det_next(void)
{
    uint64_t v;
    pthread_mutex_lock(&det.mu);
    v = mix64(det.seed + ++det.count * 0x9e3779b97f4a7c15ULL);
    pthread_mutex_unlock(&det.mu);
    return v;
}

int rand_nonsecret(void *p, size_t n)
{
    unsigned char *o = p;
    if (!atomic_load(&det.on))
        return rand_bytes(p, n);
    while (n) {
        uint64_t v = det_next();
        size_t k = n < sizeof v ? n : sizeof v;
        memcpy(o, &v, k);
        o += k;
        n -= k;
    }
    return 0;
}

int gen_id(const char *prefix, char *out, size_t outlen)
{
    size_t pl = strlen(prefix);
    if (outlen < pl + 10)
        return -1;
    memcpy(out, prefix, pl);
    out[pl] = '-';
    if (atomic_load(&det.on)) {
        uint64_t v = det_next();
        for (int i = 0; i < 8; i++, v /= 36u)
            out[pl + 1 + i] = ID_ALPHABET[v % 36u];
        out[pl + 9] = '\0';
        return 0;
    }
    return rand_chars(out + pl + 1, 8, ID_ALPHABET, 36);
}

#define ID_HALF_SPACE (36u * 36u * 36u * 36u) /* 4 characters; 2^8 * 3^8 */

/* Writes v mod 36^4 as 4 characters, most significant first. */
static void base36_4(uint32_t v, char out[4])
{
    for (int i = 3; i >= 0; i--) {
        out[i] = ID_ALPHABET[v % 36u];
        v /= 36u;
    }
}

static struct {
    pthread_mutex_t mu;
    int seeded;
    uint32_t mul, add; /* s -> (mul * s + add) mod 36^4; mul coprime to 36 */
    _Atomic uint32_t count;
} clustered = {.mu = PTHREAD_MUTEX_INITIALIZER};

int gen_id_clustered(const char *prefix, uint64_t ms, char *out, size_t outlen)
{
    size_t pl = strlen(prefix);
    uint32_t seed[2], mul, add;
    int seeded;

    if (outlen < pl + 10)
        return -1;
    if (atomic_load(&det.on)) /* repeatable, not clustered: the clock is not */
        return gen_id(prefix, out, outlen);
    pthread_mutex_lock(&clustered.mu);
    if (!clustered.seeded && rand_bytes(seed, sizeof seed) == 0) {
        clustered.mul = seed[0] % ID_HALF_SPACE;
        while (clustered.mul % 2u == 0 || clustered.mul % 3u == 0)
            clustered.mul++;
        clustered.add = seed[1] % ID_HALF_SPACE;
        clustered.seeded = 1;
    }
    seeded = clustered.seeded;
    mul = clustered.mul;
    add = clustered.add;
    pthread_mutex_unlock(&clustered.mu);
    if (!seeded)
        return -1;
    memcpy(out, prefix, pl);
    out[pl] = '-';
    base36_4((uint32_t)((ms / 16u) % ID_HALF_SPACE), out + pl + 1);
    base36_4((uint32_t)(((uint64_t)mul * (atomic_fetch_add(&clustered.count, 1u) % ID_HALF_SPACE) +
                         add) %
                        ID_HALF_SPACE),
             out + pl + 5);
    out[pl + 9] = '\0';
    return 0;
}

int gen_token(char *out, size_t n)
{
    return rand_chars(out, n, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                      62);
}

/* RequestIds: a per-thread generator, seeded once from the CSPRNG. Ids must
 * be unique, not secret, and one RAND_bytes per request cost ~13k
 * instructions. Id number c of a thread is built from two splitmix64
 * finalisers: v = mix(s1 + c*G) fills 64 of the 122 free bits (mix is a
 * bijection, so a thread never repeats itself before 2^64 ids) and
 * u = mix(s0 + c*G) the other 58; threads differ by their 128-bit seed. */
struct uuid_state {
    uint64_t s0, s1, count;
    int seeded;
};

static __thread struct uuid_state uuid_tls;
static pthread_once_t uuid_once = PTHREAD_ONCE_INIT;

/* A forked child must not replay its parent thread's sequence. */
static void uuid_atfork_child(void)
{
    uuid_tls.seeded = 0;
}

static void uuid_init_once(void)
{
    pthread_atfork(NULL, NULL, uuid_atfork_child);
}

uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int gen_uuid(char out[37])
{
    static const char hx[] = "0123456789abcdef";
    static const unsigned char dash_after[16] = {[3] = 1, [5] = 1, [7] = 1, [9] = 1};
    struct uuid_state *st = &uuid_tls;
    unsigned char b[16];
    uint64_t u, v, c;
    char *o = out;

    if (atomic_load(&det.on)) {
        u = det_next();
        v = det_next();
        goto format;
    }
    if (!st->seeded) {
        uint64_t seed[2];
        pthread_once(&uuid_once, uuid_init_once);
        if (rand_bytes(seed, sizeof seed) != 0)
            return -1;
        st->s0 = seed[0];
        st->s1 = seed[1];
        st->count = 0;
        st->seeded = 1;
    }
    c = st->count++;
    u = mix64(st->s0 + c * 0x9e3779b97f4a7c15ULL);
    v = mix64(st->s1 + c * 0x9e3779b97f4a7c15ULL);
format:
    /* xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx: v fills byte 7 and bytes 9-15
     * whole; u the rest beside the version nibble and the variant bits. */
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(u >> (56 - 8 * i));
    b[6] = (unsigned char)(0x40 | ((u >> 8) & 0x0f));
    b[7] = (unsigned char)(v >> 56);
    b[8] = (unsigned char)(0x80 | (u & 0x3f));
    for (int i = 9; i < 16; i++)
        b[i] = (unsigned char)(v >> (8 * (15 - i)));
    for (int i = 0; i < 16; i++) {
        *o++ = hx[b[i] >> 4];
        *o++ = hx[b[i] & 15];
        if (dash_after[i])
            *o++ = '-';
    }
    *o = '\0';
    return 0;
}

int utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c;
    int n;
    if (len == 0)
        return -1;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    if (u[0] >= 0xc2 && u[0] <= 0xdf) {
        n = 2;
        c = u[0] & 0x1f;
    } else if (u[0] >= 0xe0 && u[0] <= 0xef) {
        n = 3;
        c = u[0] & 0x0f;
    } else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
        n = 4;
        c = u[0] & 0x07;
    } else {
        return -1;
    }
    if (len < (size_t)n)
        return -1;
    for (int i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return -1;
        c = (c << 6) | (u[i] & 0x3f);
    }
    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
        (c >= 0xd800 && c <= 0xdfff))
        return -1;
    *cp = c;
    return n;
}

long utf8_count(const char *s, size_t len)
{
    long count = 0;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        int n = utf8_decode(s + i, len - i, &cp);
        if (n < 0)
            return -1;
        i += (size_t)n;
        count++;
    }
    return count;
}

void hex_encode(const unsigned char *p, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int id_has_form(const char *s, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(s, prefix, pl) != 0 || s[pl] != '-')
        return 0;
    s += pl + 1;
    for (int i = 0; i < 8; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')))
            return 0;
    return s[8] == '\0';
}

int is_uuid(const char *s)
{
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return s[36] == '\0';
}

int parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 20)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9')
            return -1;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int parse_i64(const char *s, size_t len, int64_t *out)
{
    uint64_t v;
    int neg = len > 0 && s[0] == '-';
    if (parse_u64(s + neg, len - (size_t)neg, &v) != 0)
        return -1;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return -1;
        *out = (int64_t)v;
    }
    return 0;
}

int file_replace_durably(const char *dir, const char *tmp, const char *path, const void *data,
                         size_t len)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}
