/* store_util.c: see store_util.h. */
#include "store/store_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int err(struct serr *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int err(struct serr *e, int rc, const char *fmt, ...)
{
    va_list ap;
    if (e) {
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int store_normalize_actions(const char *in, char *out, size_t cap, struct serr *e)
{
    size_t n = 0, len;
    const char *p = in, *start;
    char needle[130];

    out[0] = '\0';
    while (p && *p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        start = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        len = (size_t)(p - start);
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != ',')
            return err(e, STORE_ERR, "action names are separated by commas");
        if (len == 0)
            continue;
        if (len > sizeof needle - 3)
            return err(e, STORE_ERR, "action name too long");
        for (size_t i = 0; i < len; i++)
            if (!((start[i] >= 'A' && start[i] <= 'Z') || (start[i] >= 'a' && start[i] <= 'z') ||
                  (start[i] >= '0' && start[i] <= '9')))
                return err(e, STORE_ERR, "invalid action name '%.*s'", (int)len, start);
        needle[0] = ',';
        memcpy(needle + 1, start, len);
        needle[len + 1] = ',';
        needle[len + 2] = '\0';
        if (n && strstr(out, needle))
            continue;
        if (n + len + 2 + (n == 0) > cap - 1)
            return err(e, STORE_ERR, "action list too long");
        if (n == 0)
            out[n++] = ',';
        memcpy(out + n, start, len);
        n += len;
        out[n++] = ',';
        out[n] = '\0';
    }
    return STORE_OK;
}
