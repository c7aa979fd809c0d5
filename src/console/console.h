/* console.h: the web console's static files (console/ in the source tree),
 * embedded in the binary at build time and served under /console/. The
 * console calls the public API of the server that serves it, signing in the
 * browser; nothing here reads credentials. */
#ifndef FLOWLOGD_CONSOLE_CONSOLE_H
#define FLOWLOGD_CONSOLE_CONSOLE_H

#include "http/http.h"

/** Answers GET/HEAD /console, /console/ and /console/<file> into out and
 * returns 1; 0 if req's path is not under /console (out untouched). Never
 * blocks. */
int console_reply(const struct http_request *req, struct http_reply *out);

/** Whether req's path is one console_reply answers. */
int console_path(const struct http_request *req);

#endif
