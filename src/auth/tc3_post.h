/* tc3_post.h: one TC3-HMAC-SHA256-signed POST over libcurl, the client side
 * shared by `flowlogd call` (cli/), the CLS sink (sink/) and the agent's
 * control-plane poll (agent/). auth.h stays pure; this is its only I/O. */
#ifndef FLOWLOGD_AUTH_TC3_POST_H
#define FLOWLOGD_AUTH_TC3_POST_H

#include <curl/curl.h>
#include <stddef.h>

#include "auth/auth.h"
#include "base/buf.h"

/** What to send. Signed headers: content-type;host. On the wire, in order:
 * Content-Type, Host, the `extra` headers (an entry with a NULL value is
 * left out), X-TC-Timestamp (now), Authorization, then an empty Expect.
 * All borrowed for the call. */
struct tc3_post {
    const char *url;          /* the full URL */
    const char *host;         /* the Host header's value, "host:port" */
    const char *service;      /* the credential scope's service */
    const char *content_type; /* "application/json", ... */
    const void *body;
    size_t len;
    const char *secret_id, *secret_key;
    const struct auth_header *extra;
    size_t nextra;
    long timeout_ms;          /* the whole transfer; 0: none */
    long connect_timeout_ms;  /* 0: libcurl's default */
    const char *cacert;       /* NULL: libcurl's default CA */
};

enum { TC3_POST_OK = 0, TC3_POST_TRANSPORT = 1, TC3_POST_FAIL = -1 };

/** Sends `p` on `curl` (reset first, so a handle can be reused; the caller
 * owns it). The answer's body is appended to `resp` (its ceiling is the
 * caller's) and its HTTP status put in *status. Returns TC3_POST_OK when
 * an answer came, whatever its status; TC3_POST_TRANSPORT when none did
 * ("URL: libcurl's reason" in err); TC3_POST_FAIL when the request could
 * not be signed or built. */
int tc3_post(CURL *curl, const struct tc3_post *p, struct buf *resp, long *status, char *err,
             size_t errlen);

#endif
