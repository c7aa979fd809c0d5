/* util.h: small helpers shared by every layer: time, ids, text. */
#ifndef FLOWLOGD_BASE_UTIL_H
#define FLOWLOGD_BASE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** Wall-clock milliseconds since the epoch. Read at the entry of a request
 * (api_handle) and by the CLI; the logic below takes time as an argument
 * (signature window, credential cache, rate limiter, ids). */
uint64_t now_ms(void);

/** Monotonic microseconds, for latencies. */
uint64_t mono_us(void);

/** Formats t as "YYYY-MM-DD HH:MM:SS" in UTC+8 (how Tencent shows times).
 * out must hold 20 bytes. */
void fmt_time_cst(time_t t, char out[20]);

/** Formats t's UTC date as "YYYY-MM-DD" (the TC3 credential-scope date).
 * out must hold 11 bytes. */
void fmt_date_utc(time_t t, char out[11]);

/** Fills p with n bytes from the CSPRNG. Returns 0, or -1 if it failed. */
int rand_bytes(void *p, size_t n);

/** Writes prefix + "-" + 8 of [0-9a-z] (e.g. "fl-f42uhpkj") into out[outlen].
 * Returns 0, -1 on CSPRNG failure or short buffer. */
int gen_id(const char *prefix, char *out, size_t outlen);

/** Like gen_id, for ids that a B-tree indexes: the first 4 of the 8
 * characters count 16 ms periods of ms (wall-clock milliseconds; they wrap
 * every 7.5 hours), the other 4 are a process-wide counter put through a
 * bijection drawn once from the CSPRNG. Ids made close in time are
 * neighbours in an index on them (a commit dirties one page of that index
 * for many creates, not one page each), and a process repeats an id only
 * after 36^4 ids in one period or when the clock comes round again; the
 * caller still checks uniqueness. NOT secret: later ids are guessable.
 * Returns 0, -1 on CSPRNG failure or short buffer. */
int gen_id_clustered(const char *prefix, uint64_t ms, char *out, size_t outlen);

/** The splitmix64 output function (Steele, Lea, Flood 2014): a bijection
 * of 64-bit values that spreads every input bit over all output bits. */
uint64_t mix64(uint64_t z);

/** Writes a version-4-shaped UUID, lower-case, into out[37], for RequestIds.
 * Unique, NOT secret: a per-thread generator seeded once from the CSPRNG
 * (splitmix64 over a counter), so ids are guessable from earlier ones of
 * the same thread. Use rand_bytes for anything that must be unpredictable.
 * Returns 0, or -1 if seeding failed (a later call retries). */
int gen_uuid(char out[37]);

/** A test feature (the admin API's seed): from now on gen_id,
 * gen_id_clustered and gen_uuid draw from one process-wide sequence
 * determined by `seed` (seeding again restarts it), so that a run that
 * makes the same calls in the same order gets the same ids. Secrets
 * (gen_token, rand_bytes) stay random. Any thread. */
void ids_seed(uint64_t seed);

/** Fills p with n bytes for values that are not secrets (a created ENI's
 * private address, an EIP): the seeded sequence after ids_seed, else the
 * CSPRNG. 0, or -1 on CSPRNG failure. */
int rand_nonsecret(void *p, size_t n);

/** 1 once ids_seed has been called. */
int ids_seeded(void);

/** Writes `n` random characters of [0-9A-Za-z] plus NUL into out. 0 or -1. */
int gen_token(char *out, size_t n);

/** Number of UTF-8 code points in s[0..len), or -1 if s is not valid UTF-8
 * (overlongs, surrogates and code points past U+10FFFF are invalid). */
long utf8_count(const char *s, size_t len);

/** Decodes one UTF-8 code point at s (len bytes available). Returns the
 * number of bytes used and stores the code point, or -1 if invalid. */
int utf8_decode(const char *s, size_t len, uint32_t *cp);

/** Lower-case hex of n bytes into out[2n+1]. */
void hex_encode(const unsigned char *p, size_t n, char *out);

/** True if s is "<prefix>-" followed by exactly 8 of [0-9a-z]. */
int id_has_form(const char *s, const char *prefix);

/** True if s is a UUID: 8-4-4-4-12 hex digits (either case). */
int is_uuid(const char *s);

/** Parses a decimal integer occupying all of s[0..len) into *out (no sign,
 * no spaces, no leading '+'). Returns 0, or -1 if malformed or overflowing. */
int parse_u64(const char *s, size_t len, uint64_t *out);

/** Like parse_u64 but accepts a leading '-'. */
int parse_i64(const char *s, size_t len, int64_t *out);

/** Puts `data` at `path` durably, replacing what was there: written to `tmp`
 * (mode 0600) and fsync'd, renamed over `path`, then directory `dir` (which
 * holds both) fsync'd. 0, or -1 with `tmp` removed and `path` untouched. */
int file_replace_durably(const char *dir, const char *tmp, const char *path, const void *data,
                         size_t len);

#endif
