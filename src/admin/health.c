/* health.c: see health.h. */
#include "admin/health.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_int state = HEALTH_STARTING;
static atomic_int capture = HEALTH_CAPTURE_NONE;

void health_capture(enum health_capture_state s)
{
    atomic_store(&capture, (int)s);
}

void health_set(enum health_state s)
{
    atomic_store(&state, (int)s);
}

enum health_state health_get(void)
{
    return (enum health_state)atomic_load(&state);
}

int health_path(const struct http_request *req)
{
    return strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/readyz") == 0;
}

static void reply(struct http_reply *out, int status, const char *json)
{
    out->status = status;
    out->content_type = "application/json";
    out->body = strdup(json);
    out->body_len = out->body ? strlen(json) : 0;
}

int health_reply(const struct http_request *req, struct http_reply *out)
{
    static const char *const names[] = {"starting", "ready", "stopping"};
    enum health_state s;
    char body[64];

    if (!health_path(req))
        return 0;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        out->status = 405;
        out->content_type = "text/plain; charset=utf-8";
        out->body = strdup("method not allowed\n");
        out->body_len = out->body ? strlen(out->body) : 0;
        return 1;
    }
    if (strcmp(req->path, "/healthz") == 0) {
        reply(out, 200, "{\"status\":\"ok\"}\n");
        return 1;
    }
    s = health_get();
    if (s == HEALTH_READY && atomic_load(&capture) == HEALTH_CAPTURE_WAITING) {
        reply(out, 503, "{\"status\":\"starting\",\"capture\":\"waiting for the agent\"}\n");
        return 1;
    }
    strcpy(body, "{\"status\":\"");
    strcat(body, names[s]);
    strcat(body, "\"}\n");
    reply(out, s == HEALTH_READY ? 200 : 503, body);
    return 1;
}
