/* metrics_listen.h: `flowlogd agent --metrics-listen HOST:PORT`: a small
 * HTTP listener (libmicrohttpd, its own thread) answering GET /metrics with
 * the agent's counters (dp_metrics.h) and build info in Prometheus's text
 * format; with a token, only to `Authorization: Bearer <token>` (compared
 * in constant time), as the server's admin listener. */
#ifndef FLOWLOGD_AGENT_METRICS_LISTEN_H
#define FLOWLOGD_AGENT_METRICS_LISTEN_H

#include <stddef.h>

struct metrics_listener;

/** Listens on `hostport` ("127.0.0.1:9108", "[::1]:0"); token NULL: no
 * authentication. NULL with err[errlen] (a bad address, cannot listen). */
struct metrics_listener *metrics_listen_start(const char *hostport, const char *token, char *err,
                                              size_t errlen);

/** The port it listens on (the one chosen when 0 was given). */
unsigned metrics_listen_port(const struct metrics_listener *m);

/** Stops and frees (NULL is fine). */
void metrics_listen_stop(struct metrics_listener *m);

#endif
