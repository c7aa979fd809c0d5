/* fuzz_tc3_canonical.c: the TC3 canonical request, key derivation and
 * signature, and the server's verification path end to end.
 *
 * Input, split at NUL bytes:
 *   method \0 query \0 signed-headers \0 date \0 service \0 timestamp \0
 *   secret-key \0 (header-name \0 header-value \0)* body
 * (the body is the last part and may hold further NULs once 32 parts are
 * used up). Missing parts default to the SDK's values, so a short input
 * still reaches the signer.
 *
 * Invariants:
 *  - tc3_canonical_request succeeds (no ceiling on the buffer), starts with
 *    "METHOD\n/\nQUERY\n" and ends with "\nSIGNED-HEADERS\n" + 64 hex;
 *  - tc3_signature is 64 lower-case hex digits, and deterministic;
 *  - the client path (tc3_authorization) and the server path (parse the
 *    header it produced, rebuild the canonical request with the parsed
 *    SignedHeaders, derive, sign, compare) agree whenever the parser
 *    accepts what the client produced and reads back the same SecretId,
 *    service and SignedHeaders (see verify()).
 */
#include <stdint.h>
#include <string.h>

#include "auth/auth.h"
#include "base/buf.h"
#include "base/util.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

#define MAX_PARTS 32
#define FIXED 7 /* method .. secret-key */

static void check_canonical(const struct tc3_request *r, const char *sh, const struct buf *c)
{
    const char *m = r->method, *q = r->query;
    size_t ml = strlen(m), ql = strlen(q), sl = strlen(sh);

    FUZZ_CHECK(c->data != NULL);
    FUZZ_CHECK(c->len >= ml + 3 + ql + 1 + 1 + sl + 1 + 64);
    FUZZ_CHECK(memcmp(c->data, m, ml) == 0);
    FUZZ_CHECK(memcmp(c->data + ml, "\n/\n", 3) == 0);
    FUZZ_CHECK(memcmp(c->data + ml + 3, q, ql) == 0);
    FUZZ_CHECK(c->data[ml + 3 + ql] == '\n');
    FUZZ_CHECK(fuzz_is_lower_hex(c->data + c->len - 64, 64));
    FUZZ_CHECK(c->data[c->len - 65] == '\n');
    FUZZ_CHECK(memcmp(c->data + c->len - 65 - sl, sh, sl) == 0);
    FUZZ_CHECK(c->data[c->len - 66 - sl] == '\n');
    FUZZ_CHECK(c->data[c->len] == '\0');
}

/* Server-side verification of an Authorization value, as api.c does it.
 * tc3_authorization trusts its caller (the CLI and the benchmark pass
 * "content-type;host" and a host label): given a service or header list
 * the server would refuse, or one the parser reads differently (trailing
 * blanks are trimmed from values), it still signs what it was given. So the
 * two sides must agree only when the parser read back exactly the inputs. */
static void verify(const struct tc3_request *r, const char *auth, const char *secret_id,
                   const char *secret_key, const char *service, const char *timestamp,
                   const char *signed_headers)
{
    struct tc3_auth au;
    struct buf canon;
    unsigned char key[32];
    char why[128], sig[65];

    if (tc3_parse_authorization(auth, &au, why, sizeof why) != 0)
        return; /* an id, service or header list the server refuses */
    if (strcmp(au.secret_id, secret_id) != 0 || strcmp(au.service, service) != 0 ||
        strcmp(au.signed_headers, signed_headers) != 0)
        return; /* read differently: see above */
    buf_init(&canon, 0);
    FUZZ_CHECK(tc3_canonical_request(r, au.signed_headers, &canon) == 0);
    tc3_derive_key(secret_key, au.date, au.service, key);
    tc3_signature(key, timestamp, au.date, au.service, canon.data, canon.len, sig);
    buf_free(&canon);
    if (!auth_equal(sig, au.signature))
        fprintf(stderr, "client signed %s, server computed %s\n", au.signature, sig);
    FUZZ_CHECK(auth_equal(sig, au.signature));
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    struct fuzz_parts p;
    struct auth_header hs[(MAX_PARTS - FIXED) / 2];
    struct tc3_request r;
    struct buf canon, auth;
    const char *sh, *date, *service, *ts, *sk;
    unsigned char key[32], key2[32];
    char sig[65], sig2[65];
    size_t nh = 0, i;

    if (fuzz_split(d, n, MAX_PARTS, &p) != 0)
        return 0;
    memset(&r, 0, sizeof r);
    r.method = fuzz_part(&p, 0, "POST");
    r.query = fuzz_part(&p, 1, "");
    sh = fuzz_part(&p, 2, "content-type;host");
    date = fuzz_part(&p, 3, "2026-11-27");
    service = fuzz_part(&p, 4, "vpc");
    ts = fuzz_part(&p, 5, "1795817648");
    sk = fuzz_part(&p, 6, "example-secret");
    for (i = FIXED; i + 2 < p.n && nh < sizeof hs / sizeof hs[0]; i += 2) {
        hs[nh].name = p.s[i];
        hs[nh].value = p.s[i + 1];
        nh++;
    }
    r.headers = hs;
    r.nheaders = nh;
    if (i < p.n) {
        r.body = p.s[i];
        r.body_len = p.len[i];
    }

    buf_init(&canon, 0);
    FUZZ_CHECK(tc3_canonical_request(&r, sh, &canon) == 0);
    check_canonical(&r, sh, &canon);

    tc3_derive_key(sk, date, service, key);
    tc3_signature(key, ts, date, service, canon.data, canon.len, sig);
    FUZZ_CHECK(strlen(sig) == 64 && fuzz_is_lower_hex(sig, 64));
    tc3_derive_key(sk, date, service, key2);
    FUZZ_CHECK(memcmp(key, key2, sizeof key) == 0);
    tc3_signature(key2, ts, date, service, canon.data, canon.len, sig2);
    FUZZ_CHECK(strcmp(sig, sig2) == 0);
    buf_free(&canon);

    /* client signs (the date comes from the timestamp), server verifies */
    buf_init(&auth, 0);
    if (tc3_authorization(&r, "AKIDfuzz", sk, service, ts, sh, &auth) == 0) {
        FUZZ_CHECK(auth.data != NULL);
        verify(&r, auth.data, "AKIDfuzz", sk, service, ts, sh);
    }
    buf_free(&auth);

    fuzz_parts_free(&p);
    return 0;
}
