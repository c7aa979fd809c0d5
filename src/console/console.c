/* console.c: see console.h. The files are linked in with the assembler's
 * .incbin (the Makefile makes this object depend on them), so the binary
 * needs nothing on disk and no generated source is kept. */
#include "console/console.h"

#include <stdlib.h>
#include <string.h>

#define EMBED(sym, file)                                                                   \
    __asm__(".section .rodata\n"                                                           \
            ".balign 16\n"                                                                 \
            ".globl " #sym "\n" #sym ":\n"                                                 \
            ".incbin \"" file "\"\n"                                                       \
            ".globl " #sym "_end\n" #sym "_end:\n"                                         \
            ".byte 0\n"                                                                    \
            ".previous\n");                                                                \
    extern const char sym[], sym##_end[]

EMBED(console_index_html, "console/index.html");
EMBED(console_app_js, "console/app.js");
EMBED(console_app_css, "console/app.css");

static const struct asset {
    const char *path;
    const char *type;
    const char *start, *end;
} assets[] = {
    {"/console", "text/html; charset=utf-8", console_index_html, console_index_html_end},
    {"/console/", "text/html; charset=utf-8", console_index_html, console_index_html_end},
    {"/console/index.html", "text/html; charset=utf-8", console_index_html, console_index_html_end},
    {"/console/app.js", "text/javascript; charset=utf-8", console_app_js, console_app_js_end},
    {"/console/app.css", "text/css; charset=utf-8", console_app_css, console_app_css_end},
};

int console_path(const struct http_request *req)
{
    return strcmp(req->path, "/console") == 0 || strncmp(req->path, "/console/", 9) == 0;
}

static int text(struct http_reply *out, int status, const char *msg)
{
    out->status = status;
    out->content_type = "text/plain; charset=utf-8";
    out->body = strdup(msg);
    out->body_len = out->body ? strlen(msg) : 0;
    return 1;
}

int console_reply(const struct http_request *req, struct http_reply *out)
{
    if (!console_path(req))
        return 0;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
        return text(out, 405, "method not allowed\n");
    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++) {
        if (strcmp(req->path, assets[i].path) != 0)
            continue;
        size_t n = (size_t)(assets[i].end - assets[i].start);
        if (!(out->body = malloc(n ? n : 1)))
            return text(out, 500, "out of memory\n");
        memcpy(out->body, assets[i].start, n);
        out->body_len = n;
        out->status = 200;
        out->content_type = assets[i].type;
        return 1;
    }
    return text(out, 404, "not found\n");
}
