/* metrics_listen.c: the standalone agent's /metrics (see metrics_listen.h). */
#include "agent/metrics_listen.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "agent/dp_metrics.h"
#include "base/buf.h"

struct metrics_listener {
    struct MHD_Daemon *d;
    int auth;
    unsigned char token_hash[SHA256_DIGEST_LENGTH];
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static int authorized(const struct metrics_listener *m, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    unsigned char got[SHA256_DIGEST_LENGTH];
    if (!m->auth)
        return 1;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    for (h += 7; *h == ' '; h++)
        ;
    SHA256((const unsigned char *)h, strlen(h), got);
    return CRYPTO_memcmp(got, m->token_hash, sizeof got) == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_len, void **state)
{
    static int first;
    struct metrics_listener *m = cls;
    struct buf b;
    enum MHD_Result ret;
    (void)version;
    (void)upload;
    if (!*state) { /* headers only: answer once the request is whole */
        *state = &first;
        return MHD_YES;
    }
    if (*upload_len) { /* a body is not wanted: drop it */
        *upload_len = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") != 0)
        return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", 10);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET only\n", 9);
    if (!authorized(m, c))
        return reply(c, MHD_HTTP_UNAUTHORIZED, "text/plain", "a bearer token is needed\n", 25);
    buf_init(&b, 16u << 20);
    char head[256];
    int n = snprintf(head, sizeof head,
                     "# HELP flowlogd_build_info The running build.\n"
                     "# TYPE flowlogd_build_info gauge\n"
                     "flowlogd_build_info{version=\"%s\"} 1\n",
                     FLOWLOGD_VERSION);
    if (buf_append(&b, head, (size_t)n) != 0 || dp_metrics_write(&b, (uint64_t)time(NULL)) != 0) {
        buf_free(&b);
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n", 14);
    }
    ret = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "",
                b.len);
    buf_free(&b);
    return ret;
}

struct metrics_listener *metrics_listen_start(const char *hostport, const char *token, char *err,
                                              size_t errlen)
{
    char host[256];
    const char *given = hostport;
    const char *colon = strrchr(hostport, ':');
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
                             .ai_socktype = SOCK_STREAM}, *ai = NULL;
    struct metrics_listener *m = NULL;
    size_t hl;
    if (!colon || colon == hostport || !colon[1]) {
        snprintf(err, errlen, "%s: not HOST:PORT", hostport);
        return NULL;
    }
    hl = (size_t)(colon - hostport);
    if (hostport[0] == '[' && hl >= 2 && hostport[hl - 1] == ']') { /* [v6]:port */
        hostport++;
        hl -= 2;
    }
    if (hl >= sizeof host) {
        snprintf(err, errlen, "%s: host too long", hostport);
        return NULL;
    }
    memcpy(host, hostport, hl);
    host[hl] = '\0';
    int gai = getaddrinfo(host, colon + 1, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errlen, "%s: not a numeric address and port (%s)", hostport,
                 gai_strerror(gai));
        return NULL;
    }
    if (!(m = calloc(1, sizeof *m))) {
        snprintf(err, errlen, "out of memory");
        freeaddrinfo(ai);
        return NULL;
    }
    if (token) {
        m->auth = 1;
        SHA256((const unsigned char *)token, strlen(token), m->token_hash);
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    m->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
                            ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, 64u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!m->d) {
        snprintf(err, errlen, "cannot listen on %s: %s", given,
                 errno ? strerror(errno) : "libmicrohttpd refused");
        free(m);
        return NULL;
    }
    return m;
}

unsigned metrics_listen_port(const struct metrics_listener *m)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

void metrics_listen_stop(struct metrics_listener *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->d);
    free(m);
}
