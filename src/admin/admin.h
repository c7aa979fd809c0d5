/* admin.h: the test-lifecycle admin API, served on its own listener
 * (`serve --admin-listen`, only with --admin-token-file) and never on the
 * public one. JSON in, JSON out; every path but /healthz and /readyz wants
 * `Authorization: Bearer <token>`. The routes are a table in admin.c
 * (docs/API.md, "The admin API", lists them); a new one is a row.
 *
 * The same account and inventory documents are applied at start-up by
 * `serve --init DIR` (admin_init_dir). */
#ifndef FLOWLOGD_ADMIN_ADMIN_H
#define FLOWLOGD_ADMIN_ADMIN_H

#include <stddef.h>

#include "http/http.h"
#include "store/store.h"

struct api;
struct admin;
struct buf;

/** The admin API over `st` (borrowed), forgetting `api`'s cached
 * credentials (borrowed; may be NULL) after a reset. `token` is copied.
 * NULL on OOM or an empty token. */
struct admin *admin_new(struct store *st, struct api *api, const char *token);

/** Replaces the token (a configuration reload); requests already checked
 * are not affected. 0, or -1 for an empty token (the old one stays). */
int admin_set_token(struct admin *ad, const char *token);

/** Lets GET /metrics answer with what `fn` appends to `out` (Prometheus's
 * text format; 0, or -1 on failure); without it /metrics is 404. */
void admin_set_metrics(struct admin *ad, int (*fn)(void *ud, struct buf *out), void *ud);

/** Frees it (the token wiped). NULL is fine. */
void admin_free(struct admin *ad);

/** The admin listener's handler (ud = struct admin *); it may block on
 * the store, so it runs on a worker. */
void admin_http_handler(void *ud, const struct http_request *req, struct http_ctx *ctx,
                        struct http_reply *out);

/** Whether the handler answers `req` without blocking (the health paths). */
int admin_http_quick(void *ud, const struct http_request *req, const void **note);

/** The largest request body the admin API reads (the listener's max_body). */
size_t admin_max_body(void);

/** Reads the admin token: the first line of `path` (without its line end).
 * A malloc'd string, or NULL with the reason in err (unreadable, empty). */
char *admin_read_token(const char *path, char *err, size_t errlen);

/* admin_init_dir (serve --init): admin/state.h */

#endif
