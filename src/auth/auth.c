/* auth.c: TC3-HMAC-SHA256 and v1 (HmacSHA1 / HmacSHA256) signing and checking.
 *
 * Pure functions: no I/O, no clock, no global state beyond the hashing
 * cache described below. The rules are those of docs/API.md (Protocol) and
 * were checked against the Node SDK's requests (the captures the unit tests
 * replay):
 *  - TC3: the Node SDK signs the Host header without its ":port"
 *    (URL.hostname) and the endpoint's first label as the service ("127"
 *    for 127.0.0.1); the Go SDK (its capture, replayed by test_sigcompat.c), and by the
 *    same code the Python, Java, .NET and PHP SDKs, sign the Host header as
 *    sent, port included, and the product ("vpc") as the service. Both sign
 *    the raw query string as sent. tc3_verify accepts either host form;
 *    tc3_service_allowed says which services a scope may name.
 *  - v1 signs the Host header as sent, port included, and the decoded
 *    parameters sorted by name in byte order.
 *
 * Hashing: OpenSSL 3's one-shot HMAC()/SHA256() fetch the algorithm and
 * allocate a context on every call (~20k instructions for one HMAC). Here
 * SHA-256 and SHA-1 are fetched once (pthread_once), each thread keeps one
 * EVP_MD_CTX per algorithm (freed by a pthread key destructor when the thread
 * exits), and HMAC is computed as H((K^opad) || H((K^ipad) || m)) with that
 * context, which measured cheaper than a reused EVP_MAC_CTX. Results are
 * byte for byte those of the one-shot functions.
 *
 * Failure policy: hashing can fail (the first call on a thread allocates its
 * context; OpenSSL may fail internally). The signers return void, so on any
 * failure they write a value that can never match what a client sent: "" for
 * TC3 (a parsed TC3 signature is always 64 hex digits), a random string for
 * v1 and a random derived key for tc3_derive_key. Every failure therefore
 * denies.
 */
#include "auth/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/util.h"

#define TC3_ALGORITHM "TC3-HMAC-SHA256"
#define TC3_TERMINATOR "tc3_request"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define LIT_LEN(s) (sizeof(s) - 1)

/* Longest Authorization value we look at. A legal one is under 900 bytes
 * (128 id + 63 service + 511 signed headers + fixed text). */
#define AUTH_VALUE_MAX 2048
/* Largest timestamp whose UTC year still has four digits (9999-12-31). */
#define TS_MAX 253402300799ULL

/* ==== Small helpers ==== */

/* OWS inside the Authorization value: space and tab. */
static int is_sp(char c)
{
    return c == ' ' || c == '\t';
}

/* What JavaScript's String.prototype.trim removes, as far as ASCII goes. */
static int is_ws(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Copies n bytes to p and returns the position after them. */
static char *put(char *p, const void *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/* Writes a reason for the caller and returns -1. */
static int reject(char *why, size_t whylen, const char *reason)
{
    if (why && whylen)
        snprintf(why, whylen, "%s", reason);
    return -1;
}

/* ==== Hashing: digests fetched once, one context per thread ==== */

enum md_alg { MD_SHA256, MD_SHA1, MD_COUNT };

/* SHA-256 and SHA-1 both hash 64-byte blocks (the HMAC key block). */
#define HMAC_BLOCK 64

/* The calling thread's contexts, created on first use. */
struct md_tls {
    EVP_MD_CTX *ctx[MD_COUNT];
};

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static pthread_key_t md_key;
static int md_key_ok;
static EVP_MD *md_fetched[MD_COUNT];
static __thread struct md_tls *md_tls;

/* Thread exit: frees the thread's contexts. */
static void md_tls_free(void *p)
{
    struct md_tls *t = p;
    for (int a = 0; a < MD_COUNT; a++)
        EVP_MD_CTX_free(t->ctx[a]);
    free(t);
    md_tls = NULL; /* a later use on this thread starts over */
}

static void md_init_once(void)
{
    md_fetched[MD_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
    md_fetched[MD_SHA1] = EVP_MD_fetch(NULL, "SHA1", NULL);
    md_key_ok = pthread_key_create(&md_key, md_tls_free) == 0;
}

/* The digest for a; if the fetch failed, the legacy handle (which fetches
 * on every use: slower, still correct). */
static const EVP_MD *md_get(enum md_alg a)
{
    if (md_fetched[a])
        return md_fetched[a];
    return a == MD_SHA256 ? EVP_sha256() : EVP_sha1();
}

/* A context for a: the thread's own, or, when the thread cache cannot be
 * had (no key), a fresh one that md_ctx_put frees. NULL on failure. */
static EVP_MD_CTX *md_ctx_get(enum md_alg a)
{
    pthread_once(&md_once, md_init_once);
    if (!md_key_ok)
        return EVP_MD_CTX_new();
    if (!md_tls) {
        struct md_tls *t = calloc(1, sizeof *t);
        if (!t)
            return NULL;
        if (pthread_setspecific(md_key, t) != 0) {
            free(t);
            return NULL;
        }
        md_tls = t;
    }
    if (!md_tls->ctx[a])
        md_tls->ctx[a] = EVP_MD_CTX_new();
    return md_tls->ctx[a];
}

static void md_ctx_put(EVP_MD_CTX *c)
{
    if (!md_key_ok)
        EVP_MD_CTX_free(c);
}

/* H(p[0..n)) into out (the digest's size) with context c. 1 or 0. */
static int md_run(EVP_MD_CTX *c, enum md_alg a, const void *p, size_t n, unsigned char *out)
{
    return EVP_DigestInit_ex2(c, md_get(a), NULL) && EVP_DigestUpdate(c, p, n) &&
           EVP_DigestFinal_ex(c, out, NULL);
}

/* SHA-256 of p[0..n) into out[32]. Returns 1 on success, 0 on failure. */
static int sha256(const void *p, size_t n, unsigned char out[32])
{
    EVP_MD_CTX *c = md_ctx_get(MD_SHA256);
    int ok = c && md_run(c, MD_SHA256, p, n, out);
    md_ctx_put(c);
    return ok;
}

/* HMAC (RFC 2104) of msg under key with digest a into out (32 bytes for
 * SHA-256, 20 for SHA-1); *outlen gets the length. 1 or 0. */
static int hmac(enum md_alg a, const void *key, size_t klen, const void *msg, size_t mlen,
                unsigned char *out, unsigned *outlen)
{
    unsigned char k[HMAC_BLOCK] = {0}, pad[HMAC_BLOCK], inner[EVP_MAX_MD_SIZE];
    unsigned ilen = 0;
    EVP_MD_CTX *c = md_ctx_get(a);
    int ok = 0;

    if (!c)
        return 0;
    if (klen > HMAC_BLOCK) { /* a long key is hashed first */
        if (!md_run(c, a, key, klen, k))
            goto done;
    } else if (klen) {
        memcpy(k, key, klen);
    }
    for (size_t i = 0; i < HMAC_BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    if (!EVP_DigestInit_ex2(c, md_get(a), NULL) || !EVP_DigestUpdate(c, pad, HMAC_BLOCK) ||
        !EVP_DigestUpdate(c, msg, mlen) || !EVP_DigestFinal_ex(c, inner, &ilen))
        goto done;
    for (size_t i = 0; i < HMAC_BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    if (!EVP_DigestInit_ex2(c, md_get(a), NULL) || !EVP_DigestUpdate(c, pad, HMAC_BLOCK) ||
        !EVP_DigestUpdate(c, inner, ilen) || !EVP_DigestFinal_ex(c, out, outlen))
        goto done;
    ok = 1;
done:
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(inner, sizeof inner);
    md_ctx_put(c);
    return ok;
}

/* HMAC-SHA256 into out[32]. Returns 1 on success, 0 on failure. */
static int hmac256(const void *key, size_t klen, const void *msg, size_t mlen,
                   unsigned char out[32])
{
    return hmac(MD_SHA256, key, klen, msg, mlen, out, NULL);
}

/* ==== TC3: Authorization header parsing ==== */

/* Parses "ID/YYYY-MM-DD/service/tc3_request" from v[0..n). */
static int parse_credential(const char *v, size_t n, struct tc3_auth *out, char *why,
                            size_t whylen)
{
    const char *end = v + n, *s1, *s2, *s3;
    size_t idlen, svclen;

    s1 = memchr(v, '/', n);
    s2 = s1 ? memchr(s1 + 1, '/', (size_t)(end - s1 - 1)) : NULL;
    s3 = s2 ? memchr(s2 + 1, '/', (size_t)(end - s2 - 1)) : NULL;
    if (!s3)
        return reject(why, whylen, "Credential must be SecretId/Date/Service/tc3_request");

    idlen = (size_t)(s1 - v);
    if (idlen == 0 || idlen > sizeof out->secret_id - 1)
        return reject(why, whylen, "SecretId must be 1 to 128 characters");
    for (size_t i = 0; i < idlen; i++)
        if (v[i] < 0x21 || v[i] > 0x7e)
            return reject(why, whylen, "SecretId has invalid characters");

    if (s2 - s1 - 1 != 10)
        return reject(why, whylen, "Credential date must be YYYY-MM-DD");
    for (int i = 0; i < 10; i++) {
        char c = s1[1 + i];
        if ((i == 4 || i == 7) ? c != '-' : !is_digit(c))
            return reject(why, whylen, "Credential date must be YYYY-MM-DD");
    }

    /* ':' '[' ']': the Node SDK signs "localhost:8080" or "[::1]:8080" for
     * an endpoint without a dot */
    svclen = (size_t)(s3 - s2 - 1);
    if (svclen == 0 || svclen > sizeof out->service - 1)
        return reject(why, whylen, "Credential service must be 1 to 63 of [a-z0-9-:[]]");
    for (size_t i = 0; i < svclen; i++) {
        char c = s2[1 + i];
        if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == ':' || c == '[' ||
              c == ']'))
            return reject(why, whylen, "Credential service must be 1 to 63 of [a-z0-9-:[]]");
    }

    if ((size_t)(end - s3 - 1) != LIT_LEN(TC3_TERMINATOR) ||
        memcmp(s3 + 1, TC3_TERMINATOR, LIT_LEN(TC3_TERMINATOR)) != 0)
        return reject(why, whylen, "Credential scope must end in /tc3_request");

    memcpy(out->secret_id, v, idlen);
    out->secret_id[idlen] = '\0';
    memcpy(out->date, s1 + 1, 10);
    out->date[10] = '\0';
    memcpy(out->service, s2 + 1, svclen);
    out->service[svclen] = '\0';
    return 0;
}

/* A character allowed in a lower-case header name (RFC 9110 tchar). */
static int is_lower_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Byte-wise order of a[0..an) and b[0..bn), like strcmp. */
static int slice_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return (an > bn) - (an < bn);
}

/* Parses "a;b;c": non-empty lower-case names, strictly ascending, with
 * content-type and host among them. */
static int parse_signed_headers(const char *v, size_t n, struct tc3_auth *out, char *why,
                                size_t whylen)
{
    const char *p = v, *end = v + n, *prev = NULL;
    size_t prevlen = 0;
    int have_ct = 0, have_host = 0;

    if (n == 0)
        return reject(why, whylen, "SignedHeaders is empty");
    if (n > sizeof out->signed_headers - 1)
        return reject(why, whylen, "SignedHeaders is too long");
    for (;;) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *ne = semi ? semi : end;
        size_t len = (size_t)(ne - p);
        if (len == 0)
            return reject(why, whylen, "SignedHeaders has an empty name");
        for (const char *c = p; c < ne; c++) {
            if (*c >= 'A' && *c <= 'Z')
                return reject(why, whylen, "SignedHeaders must be lower case");
            if (!is_lower_tchar(*c))
                return reject(why, whylen, "SignedHeaders has invalid characters");
        }
        if (prev) {
            int c = slice_cmp(prev, prevlen, p, len);
            if (c == 0)
                return reject(why, whylen, "SignedHeaders has a duplicate name");
            if (c > 0)
                return reject(why, whylen, "SignedHeaders must be sorted");
        }
        if (len == LIT_LEN("content-type") && memcmp(p, "content-type", len) == 0)
            have_ct = 1;
        else if (len == LIT_LEN("host") && memcmp(p, "host", len) == 0)
            have_host = 1;
        prev = p;
        prevlen = len;
        if (!semi)
            break;
        p = semi + 1;
    }
    if (!have_ct || !have_host)
        return reject(why, whylen, "SignedHeaders must include content-type and host");
    memcpy(out->signed_headers, v, n);
    out->signed_headers[n] = '\0';
    return 0;
}

static int parse_signature(const char *v, size_t n, struct tc3_auth *out, char *why,
                           size_t whylen)
{
    if (n != 64)
        return reject(why, whylen, "Signature must be 64 lower-case hex digits");
    for (size_t i = 0; i < n; i++)
        if (!(is_digit(v[i]) || (v[i] >= 'a' && v[i] <= 'f')))
            return reject(why, whylen, "Signature must be 64 lower-case hex digits");
    memcpy(out->signature, v, 64);
    out->signature[64] = '\0';
    return 0;
}

enum { F_CREDENTIAL = 1, F_SIGNED_HEADERS = 2, F_SIGNATURE = 4 };

int tc3_parse_authorization(const char *value, struct tc3_auth *out, char *why, size_t whylen)
{
    const char *p, *end;
    size_t n;
    unsigned seen = 0;

    memset(out, 0, sizeof *out);
    if (!value)
        return reject(why, whylen, "Authorization is missing");
    n = strnlen(value, AUTH_VALUE_MAX + 1);
    if (n > AUTH_VALUE_MAX)
        return reject(why, whylen, "Authorization is too long");
    p = value;
    end = value + n;
    while (p < end && is_sp(*p))
        p++;
    while (end > p && is_sp(end[-1]))
        end--;
    if (p == end)
        return reject(why, whylen, "Authorization is empty");

    if ((size_t)(end - p) < LIT_LEN(TC3_ALGORITHM) ||
        memcmp(p, TC3_ALGORITHM, LIT_LEN(TC3_ALGORITHM)) != 0 ||
        (p + LIT_LEN(TC3_ALGORITHM) < end && !is_sp(p[LIT_LEN(TC3_ALGORITHM)])))
        return reject(why, whylen, "algorithm must be TC3-HMAC-SHA256");
    p += LIT_LEN(TC3_ALGORITHM);
    while (p < end && is_sp(*p))
        p++;

    /* Fields "Name=value" separated by "," plus optional spaces, in any
     * order, each exactly once. A value runs to the next comma. */
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *fe = comma ? comma : end;
        const char *eq = memchr(p, '=', (size_t)(fe - p));
        const char *v, *ve;
        unsigned flag;
        int rc;

        if (!eq)
            return reject(why, whylen, "expected Name=value fields");
        v = eq + 1;
        ve = fe;
        while (ve > v && is_sp(ve[-1]))
            ve--;
#define FIELD_IS(lit) ((size_t)(eq - p) == LIT_LEN(lit) && memcmp(p, lit, LIT_LEN(lit)) == 0)
        if (FIELD_IS("Credential"))
            flag = F_CREDENTIAL;
        else if (FIELD_IS("SignedHeaders"))
            flag = F_SIGNED_HEADERS;
        else if (FIELD_IS("Signature"))
            flag = F_SIGNATURE;
        else
            return reject(why, whylen, "unknown field (want Credential, SignedHeaders, Signature)");
#undef FIELD_IS
        if (seen & flag)
            return reject(why, whylen, "duplicate field");
        seen |= flag;
        if (flag == F_CREDENTIAL)
            rc = parse_credential(v, (size_t)(ve - v), out, why, whylen);
        else if (flag == F_SIGNED_HEADERS)
            rc = parse_signed_headers(v, (size_t)(ve - v), out, why, whylen);
        else
            rc = parse_signature(v, (size_t)(ve - v), out, why, whylen);
        if (rc != 0)
            return -1;
        if (!comma)
            break;
        p = comma + 1;
        while (p < end && is_sp(*p))
            p++;
        if (p == end)
            return reject(why, whylen, "trailing comma");
    }
    if (!(seen & F_CREDENTIAL))
        return reject(why, whylen, "Credential is missing");
    if (!(seen & F_SIGNED_HEADERS))
        return reject(why, whylen, "SignedHeaders is missing");
    if (!(seen & F_SIGNATURE))
        return reject(why, whylen, "Signature is missing");
    return 0;
}

/* ==== TC3: canonical request, key and signature ==== */

/* The value of header name[0..nlen) (case-insensitive), or NULL. The first
 * occurrence wins. */
static const char *find_header(const struct tc3_request *r, const char *name, size_t nlen)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        const char *h = r->headers[i].name;
        if (h && strncasecmp(h, name, nlen) == 0 && h[nlen] == '\0')
            return r->headers[i].value ? r->headers[i].value : "";
    }
    return NULL;
}

/* Length of host h[0..n) without a trailing ":port", which is what
 * URL.hostname gives: "127.0.0.1:45175" -> "127.0.0.1", "[::1]:8080" ->
 * "[::1]", "[::1]" unchanged. */
static size_t host_len_without_port(const char *h, size_t n)
{
    size_t i = n;
    while (i > 0 && is_digit(h[i - 1]))
        i--;
    if (i == n || i == 0 || h[i - 1] != ':')
        return n;
    i--; /* at the ':' */
    if (h[0] == '[')
        return (i > 0 && h[i - 1] == ']') ? i : n;
    return i;
}

/* Appends "lower(trim(value))", port removed for host when strip_port. */
static int put_header_value(struct buf *out, const char *v, int strip_port)
{
    const char *e;
    size_t n, start = out->len;

    while (is_ws(*v))
        v++;
    e = v + strlen(v);
    while (e > v && is_ws(e[-1]))
        e--;
    n = (size_t)(e - v);
    if (strip_port)
        n = host_len_without_port(v, n);
    if (buf_append(out, v, n) != 0)
        return -1;
    for (size_t i = start; i < out->len; i++)
        out->data[i] = ascii_lower(out->data[i]);
    return 0;
}

/* True if v, trimmed, is exactly lit. */
static int trimmed_equals(const char *v, const char *lit)
{
    size_t n, ln = strlen(lit);
    while (is_ws(*v))
        v++;
    n = strlen(v);
    while (n > 0 && is_ws(v[n - 1]))
        n--;
    return n == ln && memcmp(v, lit, n) == 0;
}

/* Lower-case hex SHA-256 of the payload into out[65]. The body is hashed
 * as received; a GET carries none, which gives sha256(""). */
static int payload_hash(const struct tc3_request *r, char out[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    const char *u = find_header(r, "x-tc-content-sha256", LIT_LEN("x-tc-content-sha256"));
    const unsigned char *p = r->body ? r->body : (const void *)"";
    size_t n = r->body ? r->body_len : 0;

    if (u && trimmed_equals(u, UNSIGNED_PAYLOAD)) {
        p = (const unsigned char *)UNSIGNED_PAYLOAD;
        n = LIT_LEN(UNSIGNED_PAYLOAD);
    }
    if (!sha256(p, n, d))
        return -1;
    hex_encode(d, sizeof d, out);
    return 0;
}

int tc3_canonical_request(const struct tc3_request *r, const char *signed_headers,
                          struct buf *out)
{
    char hash[65];
    const char *p = signed_headers ? signed_headers : "";

    if (payload_hash(r, hash) != 0)
        return -1;
    if (buf_puts(out, r->method ? r->method : "") != 0 || buf_append(out, "\n/\n", 3) != 0 ||
        buf_puts(out, r->query ? r->query : "") != 0 || buf_append(out, "\n", 1) != 0)
        return -1;
    /* One line per name, empty names included (as "a;;b".split(";") would). */
    for (;;) {
        const char *semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p) : strlen(p);
        const char *v = find_header(r, p, len);
        int strip = len == 4 && memcmp(p, "host", 4) == 0 && !r->host_keep_port;
        if (buf_append(out, p, len) != 0 || buf_append(out, ":", 1) != 0 ||
            put_header_value(out, v ? v : "", strip) != 0 || buf_append(out, "\n", 1) != 0)
            return -1;
        if (!semi)
            break;
        p = semi + 1;
    }
    if (buf_append(out, "\n", 1) != 0 || buf_puts(out, signed_headers ? signed_headers : "") != 0 ||
        buf_append(out, "\n", 1) != 0 || buf_append(out, hash, 64) != 0)
        return -1;
    return 0;
}

void tc3_derive_key(const char *secret_key, const char *date, const char *service,
                    unsigned char out[32])
{
    unsigned char k_date[32], k_service[32];
    char small[256], *k = small;
    size_t klen = LIT_LEN("TC3") + strlen(secret_key);
    int ok = 0;

    if (klen > sizeof small && (k = malloc(klen)) == NULL)
        goto done;
    memcpy(k, "TC3", 3);
    memcpy(k + 3, secret_key, klen - 3);
    ok = hmac256(k, klen, date, strlen(date), k_date) &&
         hmac256(k_date, 32, service, strlen(service), k_service) &&
         hmac256(k_service, 32, TC3_TERMINATOR, LIT_LEN(TC3_TERMINATOR), out);
    OPENSSL_cleanse(k, klen);
    if (k != small)
        free(k);
done:
    OPENSSL_cleanse(k_date, sizeof k_date);
    OPENSSL_cleanse(k_service, sizeof k_service);
    if (!ok && RAND_bytes(out, 32) != 1)
        OPENSSL_cleanse(out, 32); /* both failed: nothing better is left */
}

void tc3_signature(const unsigned char key[32], const char *timestamp, const char *date,
                   const char *service, const char *canonical, size_t canonical_len,
                   char out[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    char small[512], *sts = small, *p;
    size_t tl = strlen(timestamp), dl = strlen(date), sl = strlen(service);
    /* "TC3-HMAC-SHA256\n" ts "\n" date "/" service "/tc3_request\n" hex64 */
    size_t n = LIT_LEN(TC3_ALGORITHM) + 1 + tl + 1 + dl + 1 + sl + 1 + LIT_LEN(TC3_TERMINATOR) +
               1 + 64;

    out[0] = '\0';
    if (!sha256(canonical, canonical_len, d))
        return;
    if (n + 1 > sizeof small && (sts = malloc(n + 1)) == NULL) /* +1: hex_encode's NUL */
        return;
    p = put(sts, TC3_ALGORITHM "\n", LIT_LEN(TC3_ALGORITHM) + 1);
    p = put(p, timestamp, tl);
    p = put(p, "\n", 1);
    p = put(p, date, dl);
    p = put(p, "/", 1);
    p = put(p, service, sl);
    p = put(p, "/" TC3_TERMINATOR "\n", LIT_LEN(TC3_TERMINATOR) + 2);
    hex_encode(d, sizeof d, p);
    if (hmac256(key, 32, sts, n, d))
        hex_encode(d, sizeof d, out);
    if (sts != small)
        free(sts);
}

int tc3_authorization(const struct tc3_request *r, const char *secret_id,
                      const char *secret_key, const char *service, const char *timestamp,
                      const char *signed_headers, struct buf *out)
{
    struct buf canon;
    uint64_t ts;
    char date[11], sig[65];
    unsigned char key[32];
    int rc = -1;

    buf_init(&canon, 0);
    if (!secret_id || !secret_key || !service || !timestamp || !signed_headers)
        goto fail;
    if (parse_u64(timestamp, strlen(timestamp), &ts) != 0 || ts > TS_MAX)
        goto fail;
    fmt_date_utc((time_t)ts, date);
    if (tc3_canonical_request(r, signed_headers, &canon) != 0)
        goto fail;
    tc3_derive_key(secret_key, date, service, key);
    tc3_signature(key, timestamp, date, service, canon.data, canon.len, sig);
    OPENSSL_cleanse(key, sizeof key);
    if (sig[0] == '\0')
        goto fail;
    if (buf_printf(out, TC3_ALGORITHM " Credential=%s/%s/%s/" TC3_TERMINATOR
                        ", SignedHeaders=%s, Signature=%s",
                   secret_id, date, service, signed_headers, sig) != 0)
        goto fail;
    rc = 0;
fail:
    buf_free(&canon);
    return rc;
}

int tc3_service_allowed(const char *service, const char *product, const char *host)
{
    size_t n = 0, sl;

    if (!service || !*service)
        return 0;
    if (product && strcmp(service, product) == 0)
        return 1;
    if (!host)
        return 0;
    while (is_ws(*host))
        host++;
    while (host[n] && host[n] != '.' && !is_ws(host[n]))
        n++;
    sl = strlen(service);
    return n > 0 && sl == n && strncasecmp(service, host, n) == 0;
}

int tc3_verify(const struct tc3_request *r, const struct tc3_auth *au,
               const unsigned char key[32], const char *timestamp)
{
    struct tc3_request v = *r;
    const char *host = find_header(r, "host", 4);
    struct buf canon;
    char sig[65];
    int ok = 0;

    buf_init(&canon, 0);
    for (int keep = 0; keep <= 1 && !ok; keep++) {
        if (keep) {
            /* a second form only exists when the Host has a port */
            size_t hn;
            if (!host)
                break;
            while (is_ws(*host))
                host++;
            hn = strlen(host);
            while (hn > 0 && is_ws(host[hn - 1]))
                hn--;
            if (host_len_without_port(host, hn) == hn)
                break;
        }
        v.host_keep_port = keep;
        buf_reset(&canon);
        if (tc3_canonical_request(&v, au->signed_headers, &canon) != 0)
            break;
        tc3_signature(key, timestamp, au->date, au->service, canon.data, canon.len, sig);
        ok = sig[0] != '\0' && auth_equal(sig, au->signature);
    }
    buf_free(&canon);
    return ok;
}

/* ==== v1: HmacSHA1 / HmacSHA256 ==== */

/* Byte order of names; ties keep the order the parameters came in. */
static int param_cmp(const void *a, const void *b)
{
    const struct auth_param *x = *(const struct auth_param *const *)a;
    const struct auth_param *y = *(const struct auth_param *const *)b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return (x > y) - (x < y);
}

int v1_string_to_sign(const char *method, const char *host, const struct auth_param *params,
                      size_t n, struct buf *out)
{
    const struct auth_param *small[64], **v = small;
    size_t m = 0;
    int rc = -1;

    if (n > sizeof small / sizeof small[0]) {
        if (n > SIZE_MAX / sizeof *v || (v = malloc(n * sizeof *v)) == NULL)
            return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (params[i].name && strcmp(params[i].name, "Signature") != 0)
            v[m++] = &params[i];
    qsort(v, m, sizeof *v, param_cmp);
    if (buf_puts(out, method ? method : "") != 0 || buf_puts(out, host ? host : "") != 0 ||
        buf_append(out, "/?", 2) != 0)
        goto fail;
    for (size_t i = 0; i < m; i++) {
        if ((i && buf_append(out, "&", 1) != 0) || buf_puts(out, v[i]->name) != 0 ||
            buf_append(out, "=", 1) != 0 || buf_puts(out, v[i]->value ? v[i]->value : "") != 0)
            goto fail;
    }
    rc = 0;
fail:
    if (v != small)
        free(v);
    return rc;
}

void v1_signature(const char *signature_method, const char *secret_key, const char *sts,
                  size_t sts_len, char out[64])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    enum md_alg a = signature_method && strcmp(signature_method, "HmacSHA256") == 0
                        ? MD_SHA256
                        : MD_SHA1;

    if (hmac(a, secret_key, strlen(secret_key), sts, sts_len, mac, &mlen) && mlen <= 32) {
        EVP_EncodeBlock((unsigned char *)out, mac, (int)mlen); /* 44 chars + NUL at most */
        return;
    }
    /* Failed: a random value no client can have sent. */
    out[0] = '\0';
    if (RAND_bytes(mac, 16) == 1) {
        out[0] = '!';
        hex_encode(mac, 16, out + 1);
    }
}

/* ==== Shared ==== */

int auth_equal(const char *a, const char *b)
{
    size_t la, lb;
    if (!a || !b)
        return 0;
    la = strlen(a);
    lb = strlen(b);
    if (la != lb) /* lengths are public: a signature's length is fixed */
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}
