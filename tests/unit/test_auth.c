/* test_auth.c: TC3 and v1 signing against the spec vectors (common.md §3.5,
 * §4) and against every request the official Node SDK sent in
 * fixtures/sdk-capture.json, plus the Authorization parser.
 *
 * The shared reference directory comes from $FLOWLOGD_SHARED (default
 * "../shared", relative to the repo root where tests run).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/input.h"
#include "auth/auth.h"
#include "base/util.h"

/* ==== Helpers ==== */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Compares strings and names the case when they differ. */
static void check_str(const char *label, const char *what, const char *got, const char *want)
{
    if (!got || !want || strcmp(got, want) != 0)
        print_error("case %s: %s differs\n", label, what);
    assert_non_null(got);
    assert_non_null(want);
    assert_string_equal(got, want);
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char d[32];
    SHA256(p, n, d);
    hex_encode(d, 32, out);
}

static void hmac256_hex(const void *k, size_t kn, const void *m, size_t mn, char out[65])
{
    unsigned char d[32];
    HMAC(EVP_sha256(), k, (int)kn, m, mn, d, NULL);
    hex_encode(d, 32, out);
}

/* TC3 signature of r with everything recomputed from scratch. */
static void sign_tc3(const struct tc3_request *r, const char *signed_headers, const char *key,
                     const char *service, const char *ts, const char *date, char sig[65])
{
    struct buf b;
    unsigned char k[32];
    buf_init(&b, 0);
    assert_int_equal(tc3_canonical_request(r, signed_headers, &b), 0);
    tc3_derive_key(key, date, service, k);
    tc3_signature(k, ts, date, service, b.data, b.len, sig);
    buf_free(&b);
}

/* ==== TC3 vectors (common.md §3.5) ==== */

#define CVM_BODY                                                                                \
    "{\"Limit\": 1, \"Filters\": [{\"Values\": [\"\\u672a\\u547d\\u540d\"], \"Name\": "        \
    "\"instance-name\"}]}"
#define KEY_EXAMPLE "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
#define KEY_MASKED "Gu5t9xGARNpq86cd98joQYCN3*******"
#define CVM_CANON_AB                                                                            \
    "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n" \
    "\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
#define CVM_CANON_C                                                                             \
    "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n" \
    "x-tc-action:describeinstances\n\ncontent-type;host;x-tc-action\n"                          \
    "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"

struct tc3_vector {
    const char *name;
    const char *host, *content_type, *action; /* action NULL: header not sent */
    const char *body;
    const char *signed_headers;
    const char *secret_key, *service, *timestamp, *date;
    const char *canonical; /* NULL: not given by the spec */
    const char *hashed_payload, *hashed_canonical;
    const char *k_date, *k_service, *k_signing; /* NULL: not given */
    const char *signature;
};

static const struct tc3_vector tc3_vectors[] = {
    {"A-example-key", "cvm.tencentcloudapi.com", "application/json; charset=utf-8",
     "DescribeInstances", CVM_BODY, "content-type;host", KEY_EXAMPLE, "cvm", "1551113065",
     "2019-02-25", CVM_CANON_AB,
     "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
     "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031",
     "d1308c81fe71cfd4e06437bbc067b2b8a3d2d8c0e375d547f15c41d5214b395a",
     "3c7cb7c7795393edc14fd2e0e6434a518564b4504b88e94f5d11bf59ba3e7050",
     "ac658d5dde49e9bfdd14e04e062f66b05d9f637d44b8a8d845327d4a77f666b1",
     "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"},
    {"B-masked-key", "cvm.tencentcloudapi.com", "application/json; charset=utf-8",
     "DescribeInstances", CVM_BODY, "content-type;host", KEY_MASKED, "cvm", "1551113065",
     "2019-02-25", CVM_CANON_AB,
     "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
     "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031", NULL, NULL, NULL,
     "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"},
    {"C-x-tc-action-signed", "cvm.tencentcloudapi.com", "application/json; charset=utf-8",
     "DescribeInstances", CVM_BODY, "content-type;host;x-tc-action", KEY_MASKED, "cvm",
     "1551113065", "2019-02-25", CVM_CANON_C,
     "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
     "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84", NULL, NULL, NULL,
     "be4f67d323c78ab9acb7395e43c0dbcf822a9cfac32fea2449a7bc7726b770a3"},
    {"C-with-example-key", "cvm.tencentcloudapi.com", "application/json; charset=utf-8",
     "DescribeInstances", CVM_BODY, "content-type;host;x-tc-action", KEY_EXAMPLE, "cvm",
     "1551113065", "2019-02-25", CVM_CANON_C,
     "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
     "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84",
     "d1308c81fe71cfd4e06437bbc067b2b8a3d2d8c0e375d547f15c41d5214b395a",
     "3c7cb7c7795393edc14fd2e0e6434a518564b4504b88e94f5d11bf59ba3e7050",
     "ac658d5dde49e9bfdd14e04e062f66b05d9f637d44b8a8d845327d4a77f666b1",
     "644be983de9a8a3f00db8eadaba61467c3b429e2215758ba897b738ca469fd26"},
    {"D-vpc", "vpc.tencentcloudapi.com", "application/json", "DescribeFlowLogs",
     "{\"FlowLogIds\":[\"fl-7rymh5cn\"]}", "content-type;host", KEY_EXAMPLE, "vpc",
     "1700000000", "2023-11-14", NULL,
     "e4c84e129ad13cf613119203fd7d0687bf3bed3dc3387fd2593ce6e31952b3f5",
     "8f99934fd04e54f98aa52e3d448bd702d3837a1e8ac3eb8a7945784bfbe6eb1c", NULL, NULL, NULL,
     "dd562c245ee862a39274769814eea80d279ecf5bd917861c185d0c52f1ef94ec"},
};

/* Header set for a vector; the names use the SDK's mixed case. */
static size_t vector_headers(const struct tc3_vector *v, struct auth_header h[4])
{
    size_t n = 0;
    h[n++] = (struct auth_header){"Host", v->host};
    h[n++] = (struct auth_header){"Content-Type", v->content_type};
    h[n++] = (struct auth_header){"X-TC-Timestamp", v->timestamp};
    if (v->action)
        h[n++] = (struct auth_header){"X-TC-Action", v->action};
    return n;
}

static void test_tc3_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(tc3_vectors); i++) {
        const struct tc3_vector *v = &tc3_vectors[i];
        struct auth_header h[4];
        struct tc3_request r = {"POST", "", h, vector_headers(v, h), v->body, strlen(v->body), 0};
        struct buf canon;
        unsigned char key[32], k1[32];
        char hex[65], sig[65];
        const char *last;

        buf_init(&canon, 0);
        assert_int_equal(tc3_canonical_request(&r, v->signed_headers, &canon), 0);
        if (v->canonical)
            check_str(v->name, "canonical request", canon.data, v->canonical);
        last = strrchr(canon.data, '\n');
        assert_non_null(last);
        check_str(v->name, "hashed payload", last + 1, v->hashed_payload);
        sha256_hex(canon.data, canon.len, hex);
        check_str(v->name, "hashed canonical request", hex, v->hashed_canonical);

        tc3_derive_key(v->secret_key, v->date, v->service, key);
        if (v->k_signing) {
            char tc3key[64];
            snprintf(tc3key, sizeof tc3key, "TC3%s", v->secret_key);
            HMAC(EVP_sha256(), tc3key, (int)strlen(tc3key), (const unsigned char *)v->date,
                 strlen(v->date), k1, NULL);
            hex_encode(k1, 32, hex);
            check_str(v->name, "SecretDate", hex, v->k_date);
            HMAC(EVP_sha256(), k1, 32, (const unsigned char *)v->service, strlen(v->service), k1,
                 NULL);
            hex_encode(k1, 32, hex);
            check_str(v->name, "SecretService", hex, v->k_service);
            hex_encode(key, 32, hex);
            check_str(v->name, "SecretSigning", hex, v->k_signing);
        }
        tc3_signature(key, v->timestamp, v->date, v->service, canon.data, canon.len, sig);
        check_str(v->name, "signature", sig, v->signature);
        buf_free(&canon);
    }
}

/* §3.4: the full header for vector A, and client-built headers parse back. */
static void test_tc3_authorization(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(tc3_vectors); i++) {
        const struct tc3_vector *v = &tc3_vectors[i];
        struct auth_header h[4];
        struct tc3_request r = {"POST", "", h, vector_headers(v, h), v->body, strlen(v->body), 0};
        struct tc3_auth a;
        char why[128];
        struct buf out;

        buf_init(&out, 0);
        assert_int_equal(tc3_authorization(&r, "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
                                           v->secret_key, v->service, v->timestamp,
                                           v->signed_headers, &out),
                         0);
        if (i == 0)
            check_str(v->name, "Authorization", out.data,
                      "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/"
                      "2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, "
                      "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
        assert_int_equal(tc3_parse_authorization(out.data, &a, why, sizeof why), 0);
        check_str(v->name, "date", a.date, v->date);
        check_str(v->name, "service", a.service, v->service);
        check_str(v->name, "signed headers", a.signed_headers, v->signed_headers);
        check_str(v->name, "signature", a.signature, v->signature);
        buf_free(&out);
    }
}

static void test_tc3_authorization_bad_input(void **state)
{
    static const char *bad_ts[] = {"", "abc", "-1", "1551113065x", "253402300800",
                                   "99999999999999999999999"};
    struct auth_header h[] = {{"Host", "vpc.tencentcloudapi.com"},
                              {"Content-Type", "application/json"}};
    struct tc3_request r = {"POST", "", h, 2, "{}", 2, 0};
    struct buf out;
    (void)state;
    buf_init(&out, 0);
    for (size_t i = 0; i < NELEM(bad_ts); i++)
        assert_int_equal(tc3_authorization(&r, "id", "key", "vpc", bad_ts[i],
                                           "content-type;host", &out),
                         -1);
    assert_int_equal(out.len, 0);
    /* the date is the UTC date: 2019-02-26 00:44:25 in UTC+8 is the 25th */
    assert_int_equal(
        tc3_authorization(&r, "id", "key", "vpc", "1551113065", "content-type;host", &out), 0);
    assert_non_null(strstr(out.data, "Credential=id/2019-02-25/vpc/tc3_request, "));
    buf_free(&out);
    /* a ceiling too small for the header */
    buf_init(&out, 40);
    assert_int_equal(
        tc3_authorization(&r, "id", "key", "vpc", "1551113065", "content-type;host", &out), -1);
    buf_free(&out);
}

/* The signature equals the §3.2/§3.3 formula computed here by hand, also for
 * inputs long enough to leave every stack buffer (long key, long scope). */
static void test_tc3_signature_formula(void **state)
{
    static const struct {
        const char *name;
        size_t key_len, ts_len;
        const char *service;
    } cases[] = {
        {"short", 32, 10, "vpc"},
        {"key-300", 300, 10, "vpc"},
        {"key-5000", 5000, 10, "vpc"},
        {"long-timestamp", 32, 600, "abcdefghijklmnopqrstuvwxyz-0123456789-abcdefghijklmnopqrstuvwxy"},
    };
    const char *canon = "POST\n/\n\ncontent-type:x\nhost:y\n\ncontent-type;host\n0";
    (void)state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        char *key = malloc(cases[i].key_len + 1), *tc3key = malloc(cases[i].key_len + 4);
        char *ts = malloc(cases[i].ts_len + 1), *sts;
        unsigned char k[32], kd[32], ks[32], kk[32];
        char hcr[65], want[65], got[65];
        size_t stslen;

        for (size_t j = 0; j < cases[i].key_len; j++)
            key[j] = (char)('a' + j % 26);
        key[cases[i].key_len] = '\0';
        for (size_t j = 0; j < cases[i].ts_len; j++)
            ts[j] = (char)('0' + j % 10);
        ts[cases[i].ts_len] = '\0';
        snprintf(tc3key, cases[i].key_len + 4, "TC3%s", key);

        HMAC(EVP_sha256(), tc3key, (int)strlen(tc3key), (const unsigned char *)"2024-01-31", 10,
             kd, NULL);
        HMAC(EVP_sha256(), kd, 32, (const unsigned char *)cases[i].service,
             strlen(cases[i].service), ks, NULL);
        HMAC(EVP_sha256(), ks, 32, (const unsigned char *)"tc3_request", 11, kk, NULL);
        sha256_hex(canon, strlen(canon), hcr);
        stslen = strlen(ts) + strlen(cases[i].service) + 200;
        sts = malloc(stslen);
        snprintf(sts, stslen, "TC3-HMAC-SHA256\n%s\n2024-01-31/%s/tc3_request\n%s", ts,
                 cases[i].service, hcr);
        hmac256_hex(kk, 32, sts, strlen(sts), want);

        tc3_derive_key(key, "2024-01-31", cases[i].service, k);
        assert_memory_equal(k, kk, 32);
        tc3_signature(k, ts, "2024-01-31", cases[i].service, canon, strlen(canon), got);
        check_str(cases[i].name, "signature", got, want);
        free(key);
        free(tc3key);
        free(ts);
        free(sts);
    }
}

/* ==== TC3 canonical request details ==== */

static void test_tc3_host_port(void **state)
{
    static const struct {
        const char *name, *host, *want;
    } cases[] = {
        {"ipv4-port", "127.0.0.1:45175", "127.0.0.1"},
        {"name-port", "vpc.tencentcloudapi.com:443", "vpc.tencentcloudapi.com"},
        {"name", "vpc.tencentcloudapi.com", "vpc.tencentcloudapi.com"},
        {"ipv6-port", "[::1]:8080", "[::1]"},
        {"ipv6", "[::1]", "[::1]"},
        {"ipv6-zone", "[fe80::1%25eth0]:80", "[fe80::1%25eth0]"},
        {"upper-and-spaces", "  VPC.TencentCloudAPI.com:8080 ", "vpc.tencentcloudapi.com"},
        {"empty-port", "example.com:", "example.com:"},
        {"empty", "", ""},
    };
    (void)state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        struct auth_header h[] = {{"host", cases[i].host}, {"content-type", "application/json"}};
        struct tc3_request r = {"POST", "", h, 2, "", 0, 0};
        struct buf b;
        char want[256];
        buf_init(&b, 0);
        assert_int_equal(tc3_canonical_request(&r, "host", &b), 0);
        snprintf(want, sizeof want,
                 "POST\n/\n\nhost:%s\n\nhost\n"
                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                 cases[i].want);
        check_str(cases[i].name, "canonical request", b.data, want);
        buf_free(&b);
    }
}

static void test_tc3_canonical_details(void **state)
{
    struct auth_header h[] = {
        {"HOST", "vpc.tencentcloudapi.com"},
        {"content-TYPE", "\t Application/JSON \r\n"},
        {"X-TC-Content-SHA256", "UNSIGNED-PAYLOAD"},
        {"Content-Type", "text/plain"}, /* a second one: the first wins */
    };
    struct tc3_request r = {"GET", "B=2&A=1", h, 4, "ignored body", 12, 0};
    struct buf b;
    char empty[65], unsigned_hash[65];
    char want[512];
    (void)state;

    sha256_hex("", 0, empty);
    sha256_hex("UNSIGNED-PAYLOAD", 16, unsigned_hash);
    buf_init(&b, 0);
    /* x-tc-action is signed but absent: empty value. Query kept as sent. */
    assert_int_equal(tc3_canonical_request(&r, "content-type;host;x-tc-action", &b), 0);
    snprintf(want, sizeof want,
             "GET\n/\nB=2&A=1\ncontent-type:application/json\nhost:vpc.tencentcloudapi.com\n"
             "x-tc-action:\n\ncontent-type;host;x-tc-action\n%s",
             unsigned_hash);
    check_str("unsigned-payload", "canonical request", b.data, want);

    /* without the header the body is hashed; GET with no body gives sha256("") */
    r.nheaders = 2;
    r.body = NULL;
    r.body_len = 0;
    buf_reset(&b);
    assert_int_equal(tc3_canonical_request(&r, "content-type;host", &b), 0);
    snprintf(want, sizeof want,
             "GET\n/\nB=2&A=1\ncontent-type:application/json\nhost:vpc.tencentcloudapi.com\n"
             "\ncontent-type;host\n%s",
             empty);
    check_str("get-no-body", "canonical request", b.data, want);

    /* UNSIGNED-PAYLOAD must be exact (case matters) */
    h[2].value = "unsigned-payload";
    r.nheaders = 3;
    r.body = "x";
    r.body_len = 1;
    buf_reset(&b);
    assert_int_equal(tc3_canonical_request(&r, "host", &b), 0);
    assert_null(strstr(b.data, unsigned_hash));

    /* the ceiling is honoured */
    buf_free(&b);
    buf_init(&b, 16);
    assert_int_equal(tc3_canonical_request(&r, "content-type;host", &b), -1);
    buf_free(&b);
}

/* A flipped bit in the body, the query, a signed header, the timestamp or
 * the scope changes the signature; case in a header value and the Host port
 * do not (both are normalised away by design), nor do unsigned headers. */
static void test_tc3_bitflips(void **state)
{
    char body[] = "{\"FlowLogIds\":[\"fl-7rymh5cn\"]}";
    char ct[] = "application/json";
    char host[] = "vpc.tencentcloudapi.com:443";
    char query[] = "Limit=10&Offset=0";
    char action[] = "DescribeFlowLogs";
    struct auth_header h[] = {{"Host", host}, {"Content-Type", ct}, {"X-TC-Action", action}};
    struct tc3_request r = {"POST", query, h, 3, body, sizeof body - 1, 0};
    const char *sh = "content-type;host";
    char base[65], sig[65];
    (void)state;

    sign_tc3(&r, sh, KEY_EXAMPLE, "vpc", "1700000000", "2023-11-14", base);
    for (size_t i = 0; i < (sizeof body - 1) * 8; i++) {
        body[i / 8] ^= (char)(1 << (i % 8));
        sign_tc3(&r, sh, KEY_EXAMPLE, "vpc", "1700000000", "2023-11-14", sig);
        assert_string_not_equal(sig, base);
        body[i / 8] ^= (char)(1 << (i % 8));
    }
    for (size_t i = 0; i < (sizeof query - 1) * 8; i++) {
        query[i / 8] ^= (char)(1 << (i % 8));
        sign_tc3(&r, sh, KEY_EXAMPLE, "vpc", "1700000000", "2023-11-14", sig);
        assert_string_not_equal(sig, base);
        query[i / 8] ^= (char)(1 << (i % 8));
    }
    for (size_t i = 0; i < (sizeof ct - 1) * 8; i++) {
        char before = ct[i / 8];
        int case_only;
        ct[i / 8] ^= (char)(1 << (i % 8));
        case_only = (before | 0x20) == (ct[i / 8] | 0x20) && (before | 0x20) >= 'a' &&
                    (before | 0x20) <= 'z';
        sign_tc3(&r, sh, KEY_EXAMPLE, "vpc", "1700000000", "2023-11-14", sig);
        if (case_only)
            assert_string_equal(sig, base);
        else if (ct[i / 8] != ' ' && ct[i / 8] != '\t' && ct[i / 8] != '\r' &&
                 ct[i / 8] != '\n' && ct[i / 8] != '\v' && ct[i / 8] != '\f')
            assert_string_not_equal(sig, base);
        ct[i / 8] = before;
    }
    /* port digits are not signed; host name bits are */
    host[sizeof host - 2] = '4';
    sign_tc3(&r, sh, KEY_EXAMPLE, "vpc", "1700000000", "2023-11-14", sig);
    assert_string_equal(sig, base);
    host[sizeof host - 2] = '3';
    host[0] ^= 0x01;
    sign_tc3(&r, sh, KEY_EXAMPLE, "vpc", "1700000000", "2023-11-14", sig);
    assert_string_not_equal(sig, base);
    host[0] ^= 0x01;
    /* x-tc-action is not in SignedHeaders here */
    action[0] ^= 0x01;
    sign_tc3(&r, sh, KEY_EXAMPLE, "vpc", "1700000000", "2023-11-14", sig);
    assert_string_equal(sig, base);
    sign_tc3(&r, "content-type;host;x-tc-action", KEY_EXAMPLE, "vpc", "1700000000",
             "2023-11-14", sig);
    assert_string_not_equal(sig, base);
    action[0] ^= 0x01;
    /* method, timestamp, date, service, key */
    r.method = "GET";
    sign_tc3(&r, sh, KEY_EXAMPLE, "vpc", "1700000000", "2023-11-14", sig);
    assert_string_not_equal(sig, base);
    r.method = "POST";
    sign_tc3(&r, sh, KEY_EXAMPLE, "vpc", "1700000001", "2023-11-14", sig);
    assert_string_not_equal(sig, base);
    sign_tc3(&r, sh, KEY_EXAMPLE, "vpc", "1700000000", "2023-11-15", sig);
    assert_string_not_equal(sig, base);
    sign_tc3(&r, sh, KEY_EXAMPLE, "cvm", "1700000000", "2023-11-14", sig);
    assert_string_not_equal(sig, base);
    sign_tc3(&r, sh, KEY_MASKED, "vpc", "1700000000", "2023-11-14", sig);
    assert_string_not_equal(sig, base);
    sign_tc3(&r, sh, KEY_EXAMPLE, "vpc", "1700000000", "2023-11-14", sig);
    assert_string_equal(sig, base);
}

/* ==== Authorization parser ==== */

#define GOOD_SIG "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
#define GOOD_CRED "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request"
#define GOOD                                                                                    \
    "TC3-HMAC-SHA256 Credential=" GOOD_CRED ", SignedHeaders=content-type;host, Signature=" GOOD_SIG

struct parse_case {
    const char *name;
    const char *in;
    const char *why; /* NULL: must parse; else a substring of the reason */
};

static const struct parse_case parse_cases[] = {
    {"sdk-layout", GOOD, NULL},
    {"extra-spaces",
     "TC3-HMAC-SHA256   Credential=" GOOD_CRED ",    SignedHeaders=content-type;host,  "
     "Signature=" GOOD_SIG,
     NULL},
    {"no-space-after-comma",
     "TC3-HMAC-SHA256 Credential=" GOOD_CRED ",SignedHeaders=content-type;host,Signature=" GOOD_SIG,
     NULL},
    {"tabs-and-outer-spaces",
     "  TC3-HMAC-SHA256\tCredential=" GOOD_CRED ",\tSignedHeaders=content-type;host, "
     "Signature=" GOOD_SIG "  ",
     NULL},
    {"fields-reordered",
     "TC3-HMAC-SHA256 Signature=" GOOD_SIG ", SignedHeaders=content-type;host, Credential=" GOOD_CRED,
     NULL},
    {"more-signed-headers",
     "TC3-HMAC-SHA256 Credential=" GOOD_CRED ", SignedHeaders=content-type;host;x-tc-action, "
     "Signature=" GOOD_SIG,
     NULL},
    {"masked-id",
     "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, "
     "SignedHeaders=content-type;host, Signature=" GOOD_SIG,
     NULL},
    {"service-127",
     "TC3-HMAC-SHA256 Credential=AKIDexample/2026-11-27/127/tc3_request, "
     "SignedHeaders=content-type;host, Signature=" GOOD_SIG,
     NULL},
    {"empty", "", "empty"},
    {"only-spaces", "   ", "empty"},
    {"garbage", "\x01\xff\xfe garbage", "algorithm"},
    {"wrong-algorithm", "TC3-HMAC-SHA1 Credential=" GOOD_CRED, "algorithm"},
    {"v1-algorithm", "HMAC-SHA256 Credential=" GOOD_CRED, "algorithm"},
    {"lower-algorithm", "tc3-hmac-sha256 Credential=" GOOD_CRED, "algorithm"},
    {"algorithm-glued", "TC3-HMAC-SHA256Credential=" GOOD_CRED, "algorithm"},
    {"algorithm-only", "TC3-HMAC-SHA256", "Credential is missing"},
    {"missing-signature",
     "TC3-HMAC-SHA256 Credential=" GOOD_CRED ", SignedHeaders=content-type;host",
     "Signature is missing"},
    {"missing-signed-headers", "TC3-HMAC-SHA256 Credential=" GOOD_CRED ", Signature=" GOOD_SIG,
     "SignedHeaders is missing"},
    {"missing-credential",
     "TC3-HMAC-SHA256 SignedHeaders=content-type;host, Signature=" GOOD_SIG,
     "Credential is missing"},
    {"no-equals", "TC3-HMAC-SHA256 Credential", "Name=value"},
    {"unknown-field", GOOD ", Token=abc", "unknown field"},
    {"duplicate-field", GOOD ", Signature=" GOOD_SIG, "duplicate"},
    {"trailing-comma", GOOD ", ", "trailing comma"},
    {"empty-field", "TC3-HMAC-SHA256 Credential=" GOOD_CRED ",, SignedHeaders=content-type;host",
     "Name=value"},
    {"uppercase-signature",
     "TC3-HMAC-SHA256 Credential=" GOOD_CRED ", SignedHeaders=content-type;host, "
     "Signature=72E494EA809AD7A8C8F7A4507B9BDDCBAA8E581F516E8DA2F66E2C5A96525168",
     "lower-case hex"},
    {"short-signature",
     "TC3-HMAC-SHA256 Credential=" GOOD_CRED ", SignedHeaders=content-type;host, "
     "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a9652516",
     "64"},
    {"long-signature", GOOD "0", "64"},
    {"empty-signature",
     "TC3-HMAC-SHA256 Credential=" GOOD_CRED ", SignedHeaders=content-type;host, Signature=",
     "64"},
    {"unsorted-signed-headers",
     "TC3-HMAC-SHA256 Credential=" GOOD_CRED ", SignedHeaders=host;content-type, "
     "Signature=" GOOD_SIG,
     "sorted"},
    {"no-content-type",
     "TC3-HMAC-SHA256 Credential=" GOOD_CRED ", SignedHeaders=host;x-tc-action, Signature=" GOOD_SIG,
     "content-type and host"},
    {"no-host",
     "TC3-HMAC-SHA256 Credential=" GOOD_CRED ", SignedHeaders=content-type, Signature=" GOOD_SIG,
     "content-type and host"},
    {"upper-signed-headers",
     "TC3-HMAC-SHA256 Credential=" GOOD_CRED ", SignedHeaders=Content-Type;host, "
     "Signature=" GOOD_SIG,
     "lower case"},
    {"empty-signed-header-name",
     "TC3-HMAC-SHA256 Credential=" GOOD_CRED ", SignedHeaders=content-type;;host, "
     "Signature=" GOOD_SIG,
     "empty name"},
    {"duplicate-signed-header",
     "TC3-HMAC-SHA256 Credential=" GOOD_CRED ", SignedHeaders=content-type;host;host, "
     "Signature=" GOOD_SIG,
     "duplicate"},
    {"bad-char-signed-header",
     "TC3-HMAC-SHA256 Credential=" GOOD_CRED ", SignedHeaders=content-type;host;x y, "
     "Signature=" GOOD_SIG,
     "invalid characters"},
    {"scope-not-tc3-request",
     "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/aws4_request, "
     "SignedHeaders=content-type;host, Signature=" GOOD_SIG,
     "end in /tc3_request"},
    {"scope-extra-part",
     "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request/x, "
     "SignedHeaders=content-type;host, Signature=" GOOD_SIG,
     "end in /tc3_request"},
    {"scope-missing-service",
     "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/tc3_request, "
     "SignedHeaders=content-type;host, Signature=" GOOD_SIG,
     "SecretId/Date/Service"},
    {"scope-only-id", "TC3-HMAC-SHA256 Credential=AKID, SignedHeaders=content-type;host",
     "SecretId/Date/Service"},
    {"empty-secret-id",
     "TC3-HMAC-SHA256 Credential=/2019-02-25/cvm/tc3_request, "
     "SignedHeaders=content-type;host, Signature=" GOOD_SIG,
     "SecretId"},
    {"space-in-secret-id",
     "TC3-HMAC-SHA256 Credential=AK ID/2019-02-25/cvm/tc3_request, "
     "SignedHeaders=content-type;host, Signature=" GOOD_SIG,
     "SecretId has invalid"},
    {"bad-date",
     "TC3-HMAC-SHA256 Credential=AKID/2019-2-25/cvm/tc3_request, "
     "SignedHeaders=content-type;host, Signature=" GOOD_SIG,
     "YYYY-MM-DD"},
    {"date-letters",
     "TC3-HMAC-SHA256 Credential=AKID/2019-0a-25/cvm/tc3_request, "
     "SignedHeaders=content-type;host, Signature=" GOOD_SIG,
     "YYYY-MM-DD"},
    {"upper-service",
     "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/CVM/tc3_request, "
     "SignedHeaders=content-type;host, Signature=" GOOD_SIG,
     "service"},
    {"empty-service",
     "TC3-HMAC-SHA256 Credential=AKID/2019-02-25//tc3_request, "
     "SignedHeaders=content-type;host, Signature=" GOOD_SIG,
     "service"},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(parse_cases); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct tc3_auth a;
        char why[128] = "";
        int rc = tc3_parse_authorization(c->in, &a, why, sizeof why);
        if (c->why == NULL) {
            if (rc != 0)
                print_error("case %s: rejected: %s\n", c->name, why);
            assert_int_equal(rc, 0);
            check_str(c->name, "signature", a.signature, GOOD_SIG);
            assert_true(strstr(a.signed_headers, "content-type;host") == a.signed_headers);
        } else {
            if (rc == 0 || !strstr(why, c->why))
                print_error("case %s: rc=%d why=\"%s\", want \"%s\"\n", c->name, rc, why, c->why);
            assert_int_equal(rc, -1);
            assert_non_null(strstr(why, c->why));
        }
    }
}

static void test_parse_fields(void **state)
{
    struct tc3_auth a;
    char why[8]; /* short on purpose: the reason is truncated, not overflowed */
    (void)state;
    assert_int_equal(tc3_parse_authorization(GOOD, &a, why, sizeof why), 0);
    assert_string_equal(a.secret_id, "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE");
    assert_string_equal(a.date, "2019-02-25");
    assert_string_equal(a.service, "cvm");
    assert_string_equal(a.signed_headers, "content-type;host");
    assert_string_equal(a.signature, GOOD_SIG);
    assert_int_equal(tc3_parse_authorization("nope", &a, why, sizeof why), -1);
    assert_int_equal(strlen(why), sizeof why - 1);
    assert_int_equal(tc3_parse_authorization("nope", &a, NULL, 0), -1);
    assert_int_equal(tc3_parse_authorization(NULL, &a, why, sizeof why), -1);
}

/* Bounds: secret id 128 ok / 129 not, service 63 / 64, signed headers 511 /
 * 512, and an overlong header. */
static void test_parse_limits(void **state)
{
    static const struct {
        const char *name;
        size_t id_len, svc_len, sh_pad;
        int ok;
    } cases[] = {
        {"id-128", 128, 3, 0, 1},   {"id-129", 129, 3, 0, 0},     {"svc-63", 4, 63, 0, 1},
        {"svc-64", 4, 64, 0, 0},    {"sh-511", 4, 3, 511, 1},    {"sh-512", 4, 3, 512, 0},
        {"id-2000", 2000, 3, 0, 0}, {"id-100000", 100000, 3, 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        size_t cap = cases[i].id_len + cases[i].svc_len + cases[i].sh_pad + 256;
        char *in = malloc(cap), *p = in, why[128];
        struct tc3_auth a;
        int rc;
        p += sprintf(p, "TC3-HMAC-SHA256 Credential=");
        memset(p, 'A', cases[i].id_len);
        p += cases[i].id_len;
        *p++ = '/';
        p += sprintf(p, "2024-01-31/");
        memset(p, 'v', cases[i].svc_len);
        p += cases[i].svc_len;
        p += sprintf(p, "/tc3_request, SignedHeaders=");
        if (cases[i].sh_pad) {
            /* "content-type;host;x...x" of exactly sh_pad characters */
            size_t fixed = strlen("content-type;host;x-");
            p += sprintf(p, "content-type;host;x-");
            memset(p, 'z', cases[i].sh_pad - fixed);
            p += cases[i].sh_pad - fixed;
        } else {
            p += sprintf(p, "content-type;host");
        }
        sprintf(p, ", Signature=" GOOD_SIG);
        rc = tc3_parse_authorization(in, &a, why, sizeof why);
        if ((rc == 0) != cases[i].ok)
            print_error("case %s: rc=%d why=%s\n", cases[i].name, rc, why);
        assert_int_equal(rc == 0, cases[i].ok);
        if (rc == 0) {
            assert_int_equal(strlen(a.secret_id), cases[i].id_len);
            assert_int_equal(strlen(a.service), cases[i].svc_len);
            if (cases[i].sh_pad)
                assert_int_equal(strlen(a.signed_headers), cases[i].sh_pad);
        }
        free(in);
    }
}

/* Hostile input: every truncation and many random mutations of a good header
 * must either parse into NUL-terminated, in-bounds fields or be rejected
 * with a reason. Run under ASan to catch overreads. */
static void test_parse_mutations(void **state)
{
    static const char alphabet[] = "TC3-HMAC-SHA256 Credential=/,;= \t\x00\xff"
                                   "SignedHeaders Signature tc3_request 0af";
    const char *good = GOOD;
    size_t n = strlen(good);
    char *s = malloc(n + 1);
    uint32_t seed = 12345;
    (void)state;

    for (size_t len = 0; len <= n; len++) {
        struct tc3_auth a;
        char why[64];
        char *t = malloc(len + 1); /* exact size so ASan sees any overread */
        memcpy(t, good, len);
        t[len] = '\0';
        assert_int_equal(tc3_parse_authorization(t, &a, why, sizeof why), len == n ? 0 : -1);
        free(t);
    }
    for (int iter = 0; iter < 20000; iter++) {
        struct tc3_auth a;
        char why[64];
        int k;
        memcpy(s, good, n + 1);
        k = 1 + iter % 4;
        while (k--) {
            seed = seed * 1103515245u + 12345u;
            s[(seed >> 8) % n] = alphabet[(seed >> 20) % (sizeof alphabet - 1)];
        }
        if (tc3_parse_authorization(s, &a, why, sizeof why) == 0) {
            assert_true(strlen(a.secret_id) < sizeof a.secret_id);
            assert_int_equal(strlen(a.date), 10);
            assert_true(strlen(a.service) < sizeof a.service);
            assert_int_equal(strlen(a.signature), 64);
        } else {
            assert_true(why[0] != '\0');
        }
    }
    free(s);
}

/* ==== v1 ==== */

struct v1_case {
    const char *name;
    const char *method_param; /* SignatureMethod value; NULL: absent */
    const char *want_sts, *want_sig;
};

static void test_v1_vector(void **state)
{
    static const struct auth_param base[] = {
        {"Action", "DescribeInstances"},
        {"InstanceIds.0", "ins-09dx96dg"},
        {"Limit", "20"},
        {"Nonce", "11886"},
        {"Offset", "0"},
        {"Region", "ap-guangzhou"},
        {"SecretId", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"},
        {"Timestamp", "1465185768"},
        {"Version", "2017-03-12"},
        {"Signature", "ignored"},
    };
    static const struct v1_case cases[] = {
        {"doc-sha1", NULL,
         "GETcvm.tencentcloudapi.com/?Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Limit=20"
         "&Nonce=11886&Offset=0&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
         "&Timestamp=1465185768&Version=2017-03-12",
         "EliP9YW3pW28FpsEdkXt/+WcGeI="},
        {"sha256", "HmacSHA256",
         "GETcvm.tencentcloudapi.com/?Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Limit=20"
         "&Nonce=11886&Offset=0&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
         "&SignatureMethod=HmacSHA256&Timestamp=1465185768&Version=2017-03-12",
         "A8uy2/o7WBZXYCTWEFpMrVGhGBVlEGIOioeqRM+fzFs="},
    };
    (void)state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        struct auth_param p[NELEM(base) + 1];
        size_t n = NELEM(base);
        struct buf b;
        char sig[64];
        /* reversed, to show the order of input does not matter */
        for (size_t j = 0; j < n; j++)
            p[j] = base[n - 1 - j];
        if (cases[i].method_param)
            p[n++] = (struct auth_param){"SignatureMethod", cases[i].method_param};
        buf_init(&b, 0);
        assert_int_equal(v1_string_to_sign("GET", "cvm.tencentcloudapi.com", p, n, &b), 0);
        check_str(cases[i].name, "string to sign", b.data, cases[i].want_sts);
        v1_signature(cases[i].method_param, KEY_EXAMPLE, b.data, b.len, sig);
        check_str(cases[i].name, "signature", sig, cases[i].want_sig);
        buf_free(&b);
    }
}

static void test_v1_details(void **state)
{
    static const struct auth_param p[] = {
        {"InstanceIds.2", "b"}, {"action", "x"},     {"InstanceIds.12", "a"},
        {"Action", "y"},        {"Signature", "s"},  {"Dup", "2"},
        {"Dup", "1"},           {"Raw", "a b&c=d"}, {"Empty", ""},
    };
    struct auth_param *many;
    struct buf b;
    char sig1[64], sig2[64];
    (void)state;

    buf_init(&b, 0);
    assert_int_equal(v1_string_to_sign("POST", "127.0.0.1:45175", p, NELEM(p), &b), 0);
    assert_string_equal(b.data, "POST127.0.0.1:45175/?Action=y&Dup=2&Dup=1&Empty=&"
                                "InstanceIds.12=a&InstanceIds.2=b&Raw=a b&c=d&action=x");
    /* unknown SignatureMethod falls back to SHA-1, as documented */
    v1_signature("HmacSHA1", KEY_EXAMPLE, b.data, b.len, sig1);
    v1_signature("hmacsha256", KEY_EXAMPLE, b.data, b.len, sig2);
    assert_string_equal(sig1, sig2);
    assert_int_equal(strlen(sig1), 28);
    v1_signature("HmacSHA256", KEY_EXAMPLE, b.data, b.len, sig2);
    assert_int_equal(strlen(sig2), 44);
    buf_free(&b);

    /* more parameters than the stack array holds */
    many = calloc(200, sizeof *many);
    for (int i = 0; i < 200; i++) {
        char *name = malloc(8);
        snprintf(name, 8, "p%03d", 199 - i);
        many[i] = (struct auth_param){name, "v"};
    }
    buf_init(&b, 0);
    assert_int_equal(v1_string_to_sign("GET", "h", many, 200, &b), 0);
    assert_true(strncmp(b.data, "GETh/?p000=v&p001=v&", 20) == 0);
    assert_non_null(strstr(b.data, "&p199=v"));
    assert_int_equal(b.len, strlen("GETh/?") + 200 * strlen("p000=v") + 199);
    buf_free(&b);
    buf_init(&b, 100);
    assert_int_equal(v1_string_to_sign("GET", "h", many, 200, &b), -1);
    buf_free(&b);
    for (int i = 0; i < 200; i++)
        free((char *)many[i].name);
    free(many);
}

/* ==== Hashing against OpenSSL's one-shot functions ==== */

/* Base64 of the one-shot HMAC, as v1_signature should give it. */
static void v1_want(const EVP_MD *md, const char *key, const char *msg, size_t n, char out[64])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mlen = 0;
    assert_non_null(HMAC(md, key, (int)strlen(key), (const unsigned char *)msg, n, mac, &mlen));
    EVP_EncodeBlock((unsigned char *)out, mac, (int)mlen);
}

/* Key lengths around the 64-byte block (longer keys are hashed first) and
 * message lengths around SHA padding edges, SHA-1 and SHA-256 interleaved
 * on one thread. */
static void test_hmac_matches_one_shot(void **state)
{
    static const size_t klens[] = {0, 1, 31, 32, 55, 56, 63, 64, 65, 100, 128, 253, 300};
    static const size_t mlens[] = {0, 1, 55, 56, 63, 64, 65, 119, 120, 200, 1000};
    char key[301], msg[1001], got[64], want[64];
    (void)state;
    for (size_t i = 0; i < sizeof msg - 1; i++)
        msg[i] = (char)(' ' + (i * 7) % 95);
    for (size_t a = 0; a < NELEM(klens); a++) {
        for (size_t i = 0; i < klens[a]; i++)
            key[i] = (char)('A' + (i * 5 + a) % 58);
        key[klens[a]] = '\0';
        for (size_t b = 0; b < NELEM(mlens); b++) {
            v1_signature("HmacSHA256", key, msg, mlens[b], got);
            v1_want(EVP_sha256(), key, msg, mlens[b], want);
            assert_string_equal(got, want);
            v1_signature("HmacSHA1", key, msg, mlens[b], got);
            v1_want(EVP_sha1(), key, msg, mlens[b], want);
            assert_string_equal(got, want);
        }
        /* the TC3 chain with the same key ("TC3" + key: 3 bytes longer) */
        {
            unsigned char k[32], kd[32], ks[32], kk[32];
            char tk[305];
            snprintf(tk, sizeof tk, "TC3%s", key);
            HMAC(EVP_sha256(), tk, (int)strlen(tk), (const unsigned char *)"2024-01-31", 10, kd,
                 NULL);
            HMAC(EVP_sha256(), kd, 32, (const unsigned char *)"vpc", 3, ks, NULL);
            HMAC(EVP_sha256(), ks, 32, (const unsigned char *)"tc3_request", 11, kk, NULL);
            tc3_derive_key(key, "2024-01-31", "vpc", k);
            assert_memory_equal(k, kk, 32);
        }
    }
}

#define HASH_THREADS 4
#define HASH_ROUNDS 200

struct hash_job {
    const unsigned char *key;
    const char *canon, *want_tc3, *want_v1;
    int bad;
};

/* Worker: signs the same inputs over and over; its contexts are freed when
 * it exits (LeakSanitizer checks that under `make SAN=1 unit`). */
static void *hash_worker(void *arg)
{
    struct hash_job *j = arg;
    for (int i = 0; i < HASH_ROUNDS; i++) {
        char sig[65], v1[64];
        tc3_signature(j->key, "1551113065", "2019-02-25", "cvm", j->canon, strlen(j->canon),
                      sig);
        v1_signature(i % 2 ? "HmacSHA256" : "HmacSHA1", KEY_EXAMPLE, j->canon, strlen(j->canon),
                     v1);
        if (strcmp(sig, j->want_tc3) != 0 || (i % 2 && strcmp(v1, j->want_v1) != 0))
            j->bad++;
    }
    return NULL;
}

static void test_hash_threads(void **state)
{
    unsigned char key[32];
    char want_tc3[65], want_v1[64];
    struct hash_job jobs[HASH_THREADS];
    pthread_t th[HASH_THREADS];
    (void)state;
    tc3_derive_key(KEY_EXAMPLE, "2019-02-25", "cvm", key);
    tc3_signature(key, "1551113065", "2019-02-25", "cvm", CVM_CANON_AB, strlen(CVM_CANON_AB),
                  want_tc3);
    assert_string_equal(want_tc3, GOOD_SIG);
    v1_want(EVP_sha256(), KEY_EXAMPLE, CVM_CANON_AB, strlen(CVM_CANON_AB), want_v1);
    for (int i = 0; i < HASH_THREADS; i++) {
        jobs[i] = (struct hash_job){key, CVM_CANON_AB, want_tc3, want_v1, 0};
        assert_int_equal(pthread_create(&th[i], NULL, hash_worker, &jobs[i]), 0);
    }
    for (int i = 0; i < HASH_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].bad, 0);
    }
}

/* ==== auth_equal ==== */

static void test_auth_equal(void **state)
{
    static const struct {
        const char *a, *b;
        int want;
    } cases[] = {
        {GOOD_SIG, GOOD_SIG, 1},
        {GOOD_SIG, "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525169", 0},
        {GOOD_SIG, "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a9652516", 0},
        {"abc", "abcd", 0},
        {"abcd", "abc", 0},
        {"", "", 1},
        {"", "a", 0},
        {"EliP9YW3pW28FpsEdkXt/+WcGeI=", "EliP9YW3pW28FpsEdkXt/+WcGeI=", 1},
        {"EliP9YW3pW28FpsEdkXt/+WcGeI=", "eliP9YW3pW28FpsEdkXt/+WcGeI=", 0},
    };
    (void)state;
    for (size_t i = 0; i < NELEM(cases); i++)
        assert_int_equal(auth_equal(cases[i].a, cases[i].b), cases[i].want);
    assert_int_equal(auth_equal(NULL, "a"), 0);
    assert_int_equal(auth_equal("a", NULL), 0);
}

/* ==== Node SDK capture (fixtures/sdk-capture.json) ==== */

static json_t *capture;

static int load_capture(void **state)
{
    const char *dir = getenv("FLOWLOGD_SHARED");
    char path[4096];
    json_error_t err;
    (void)state;
    snprintf(path, sizeof path, "%s/fixtures/sdk-capture.json", dir && *dir ? dir : "../shared");
    capture = json_load_file(path, 0, &err);
    if (!capture)
        print_error("cannot load %s: %s (set FLOWLOGD_SHARED)\n", path, err.text);
    return capture ? 0 : -1;
}

static int free_capture(void **state)
{
    (void)state;
    json_decref(capture);
    capture = NULL;
    return 0;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        print_error("missing string \"%s\" in capture\n", key);
    assert_non_null(s);
    return s;
}

static void check_capture_tc3(const char *label, const json_t *rec, const char *secret_id,
                              const char *secret_key, const struct tc3_request *r)
{
    const json_t *sc = json_object_get(rec, "signCheck");
    const json_t *hdrs = json_object_get(rec, "headers");
    const char *authz = jstr(hdrs, "authorization"), *ts = jstr(hdrs, "x-tc-timestamp");
    struct tc3_auth a;
    char why[128], sig[65];
    unsigned char key[32];
    struct buf b;

    if (tc3_parse_authorization(authz, &a, why, sizeof why) != 0)
        print_error("case %s: parse: %s\n", label, why);
    assert_int_equal(tc3_parse_authorization(authz, &a, why, sizeof why), 0);
    check_str(label, "secret id", a.secret_id, secret_id);
    check_str(label, "scope service", a.service, jstr(sc, "scopeService"));
    check_str(label, "signed headers", a.signed_headers, jstr(sc, "signedHeaders"));

    buf_init(&b, 0);
    assert_int_equal(tc3_canonical_request(r, a.signed_headers, &b), 0);
    check_str(label, "canonical request", b.data, jstr(sc, "canonicalRequest"));
    tc3_derive_key(secret_key, a.date, a.service, key);
    tc3_signature(key, ts, a.date, a.service, b.data, b.len, sig);
    check_str(label, "signature", sig, jstr(sc, "expected"));
    assert_true(auth_equal(sig, a.signature));

    /* our client signer reproduces the SDK's header byte for byte */
    buf_reset(&b);
    assert_int_equal(
        tc3_authorization(r, secret_id, secret_key, a.service, ts, a.signed_headers, &b), 0);
    check_str(label, "Authorization", b.data, authz);
    buf_free(&b);
}

static void check_capture_v1(const char *label, const json_t *rec, const char *secret_key,
                             const char *method, const char *host)
{
    const json_t *sc = json_object_get(rec, "signCheck");
    const char *src = strcmp(method, "GET") == 0 ? jstr(rec, "rawQuery") : jstr(rec, "body");
    struct form_param *fp;
    struct auth_param *p;
    size_t n;
    int malformed = 0;
    const char *given = NULL, *sigmethod = NULL;
    struct buf b;
    char sig[64];

    /* decoded by the server's own decoder, as api.c does before signing */
    fp = form_decode(src, strlen(src), &n, &malformed);
    assert_non_null(fp);
    p = calloc(n + 1, sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (struct auth_param){fp[i].name, fp[i].value};
    for (size_t i = 0; i < n; i++) {
        if (strcmp(p[i].name, "Signature") == 0)
            given = p[i].value;
        else if (strcmp(p[i].name, "SignatureMethod") == 0)
            sigmethod = p[i].value;
    }
    assert_non_null(given);
    check_str(label, "scheme", sigmethod ? sigmethod : "HmacSHA1", jstr(sc, "scheme"));
    buf_init(&b, 0);
    assert_int_equal(v1_string_to_sign(method, host, p, n, &b), 0);
    check_str(label, "string to sign", b.data, jstr(sc, "signStr"));
    v1_signature(sigmethod, secret_key, b.data, b.len, sig);
    check_str(label, "signature", sig, jstr(sc, "expected"));
    assert_true(auth_equal(sig, given));
    buf_free(&b);
    free(p);
    form_free(fp, n);
}

static void test_sdk_capture(void **state)
{
    const json_t *creds = json_object_get(capture, "credentials");
    const char *secret_id = jstr(creds, "secretId"), *secret_key = jstr(creds, "secretKey");
    const json_t *scenarios = json_object_get(capture, "scenarios");
    size_t i, n_tc3 = 0, n_v1 = 0, n_skipped = 0;
    const json_t *sc;
    (void)state;

    assert_true(json_array_size(scenarios) > 0);
    json_array_foreach(scenarios, i, sc)
    {
        const json_t *captured = json_object_get(sc, "captured"), *rec;
        size_t j;
        if (json_array_size(captured) == 0) {
            n_skipped++;
            continue;
        }
        json_array_foreach(captured, j, rec)
        {
            const json_t *raw = json_object_get(rec, "rawHeaders"), *pair;
            const json_t *body = json_object_get(rec, "body");
            const char *method = jstr(rec, "method");
            const char *authz = json_string_value(
                json_object_get(json_object_get(rec, "headers"), "authorization"));
            struct auth_header *h = calloc(json_array_size(raw) + 1, sizeof *h);
            const char *host = NULL;
            char label[128];
            size_t k, nh = 0;

            snprintf(label, sizeof label, "%s#%zu", jstr(sc, "label"), j);
            /* headers as sent on the wire, original name case */
            json_array_foreach(raw, k, pair)
            {
                h[nh].name = json_string_value(json_array_get(pair, 0));
                h[nh].value = json_string_value(json_array_get(pair, 1));
                assert_non_null(h[nh].name);
                assert_non_null(h[nh].value);
                if (strcasecmp(h[nh].name, "host") == 0)
                    host = h[nh].value;
                nh++;
            }
            assert_non_null(host);
            assert_true(json_is_true(json_object_get(json_object_get(rec, "signCheck"), "match")));
            if (authz && strncmp(authz, "TC3-HMAC-SHA256 ", 16) == 0) {
                struct tc3_request r = {method, jstr(rec, "rawQuery"), h, nh,
                                        json_string_value(body), json_string_length(body), 0};
                check_capture_tc3(label, rec, secret_id, secret_key, &r);
                n_tc3++;
            } else {
                check_capture_v1(label, rec, secret_key, method, host);
                n_v1++;
            }
            free(h);
        }
    }
    print_message("sdk-capture: %zu TC3 + %zu v1 requests reproduced, %zu scenarios without "
                  "a captured request skipped\n",
                  n_tc3, n_v1, n_skipped);
    assert_true(n_tc3 > 0);
    assert_true(n_v1 > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tc3_vectors),
        cmocka_unit_test(test_tc3_authorization),
        cmocka_unit_test(test_tc3_authorization_bad_input),
        cmocka_unit_test(test_tc3_signature_formula),
        cmocka_unit_test(test_tc3_host_port),
        cmocka_unit_test(test_tc3_canonical_details),
        cmocka_unit_test(test_tc3_bitflips),
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_parse_mutations),
        cmocka_unit_test(test_v1_vector),
        cmocka_unit_test(test_v1_details),
        cmocka_unit_test(test_hmac_matches_one_shot),
        cmocka_unit_test(test_hash_threads),
        cmocka_unit_test(test_auth_equal),
        cmocka_unit_test_setup_teardown(test_sdk_capture, load_capture, free_capture),
    };
    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
