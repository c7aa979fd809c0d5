/* auth.h: TC3-HMAC-SHA256 and HmacSHA1/HmacSHA256 (v1) signing and checking.
 *
 * Pure functions over plain inputs, shared by the server (verification),
 * the CLI client and the benchmark (signing) and the tests. No I/O, no clock:
 * callers pass the current time in.
 */
#ifndef FLOWLOGD_AUTH_AUTH_H
#define FLOWLOGD_AUTH_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "base/apierr.h"
#include "base/buf.h"

struct auth_header {
    const char *name; /* any case */
    const char *value;
};

/* ==== TC3-HMAC-SHA256 ==== */

/** The parts of "TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request,
 * SignedHeaders=a;b, Signature=<64 hex>". Fixed buffers: no allocation. */
struct tc3_auth {
    char secret_id[129];
    char date[11];           /* YYYY-MM-DD */
    char service[64];
    char signed_headers[512]; /* "content-type;host" */
    char signature[65];      /* lower-case hex */
};

/** Parses an Authorization header value. Returns 0, or -1 with a short
 * reason in why[whylen] (for AuthFailure.InvalidAuthorization). Accepts the
 * SDK's exact layout and tolerates extra spaces after commas. Rejects a
 * SignedHeaders list that lacks content-type or host, has upper case, or
 * is not sorted. */
int tc3_parse_authorization(const char *value, struct tc3_auth *out, char *why, size_t whylen);

/** The request as far as TC3 needs it. Headers are looked up
 * case-insensitively. `host` is canonicalised the way the client signed it:
 * without its ":port" (the Node SDK signs URL.hostname) unless
 * host_keep_port is set (the Go, Python, Java, .NET and PHP SDKs sign the
 * Host header as sent). */
struct tc3_request {
    const char *method;   /* "POST" or "GET" */
    const char *query;    /* raw query string exactly as sent ("" for POST) */
    const struct auth_header *headers;
    size_t nheaders;
    const void *body;
    size_t body_len;
    int host_keep_port;   /* 0: "host:127.0.0.1", 1: "host:127.0.0.1:8080" */
};

/** Builds the CanonicalRequest for `signed_headers` (";"-separated, lower
 * case) into out. A signed header that is absent canonicalises as empty.
 * Honours X-TC-Content-SHA256: UNSIGNED-PAYLOAD. Returns 0 or -1 (out's
 * ceiling). */
int tc3_canonical_request(const struct tc3_request *r, const char *signed_headers,
                          struct buf *out);

/** SecretSigning = HMAC chain of ("TC3"+secret_key, date, service, "tc3_request"). */
void tc3_derive_key(const char *secret_key, const char *date, const char *service,
                    unsigned char out[32]);

/** Signature hex (64 chars + NUL) of a canonical request, given the derived
 * key, the X-TC-Timestamp string, the scope date and the service. */
void tc3_signature(const unsigned char key[32], const char *timestamp, const char *date,
                   const char *service, const char *canonical, size_t canonical_len,
                   char out[65]);

/** Builds a complete Authorization header value for a request (client side:
 * CLI, benchmark, tests). `signed_headers` is usually "content-type;host". */
int tc3_authorization(const struct tc3_request *r, const char *secret_id,
                      const char *secret_key, const char *service, const char *timestamp,
                      const char *signed_headers, struct buf *out);

/** 1 if a credential scope naming `service` may sign a request for
 * `product` ("vpc", "tag", "sts") sent with Host header `host`. Two forms
 * exist: the product itself (Go, Python, Java, .NET, PHP SDKs, tccli,
 * Terraform, @tencent-sdk/capi), and what the Node SDK signs, the endpoint
 * up to its first '.' with the port kept when there is none ("127" for
 * "127.0.0.1:8080", "localhost:8080" for "localhost:8080", "vpc" for
 * "vpc.example:8080"). The host's first label is compared case-insensitively. */
int tc3_service_allowed(const char *service, const char *product, const char *host);

/** Verifies a TC3 signature: `au` as parsed from the Authorization header,
 * `key` derived for au->date and au->service, `timestamp` the X-TC-Timestamp
 * value. The canonical request is built with the host without its port
 * and, if that does not match and the Host has a port, with it: each
 * candidate is a byte string the client may have signed, compared in
 * constant time. r->host_keep_port is ignored. 1 if the signature matches. */
int tc3_verify(const struct tc3_request *r, const struct tc3_auth *au,
               const unsigned char key[32], const char *timestamp);

/* ==== v1: HmacSHA1 / HmacSHA256 ==== */

/** One decoded form parameter. */
struct auth_param {
    const char *name;
    const char *value;
};

/** Builds METHOD + host + "/?" + sorted "k=v&..." of all params except
 * "Signature", with raw (decoded) values, into out. `host` is the Host
 * header as sent, port included. Returns 0 or -1. */
int v1_string_to_sign(const char *method, const char *host, const struct auth_param *params,
                      size_t n, struct buf *out);

/** Base64 HMAC of sts with secret_key; SHA-256 iff method is exactly
 * "HmacSHA256", else SHA-1. out must hold 64 bytes. */
void v1_signature(const char *signature_method, const char *secret_key, const char *sts,
                  size_t sts_len, char out[64]);

/* ==== shared ==== */

/** Constant-time comparison of two NUL-terminated strings. 1 if equal. */
int auth_equal(const char *a, const char *b);

#endif
