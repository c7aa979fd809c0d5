/* apierr.c: codes and messages expanded from the API_ERRORS list. */
#include "base/apierr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define X(id, code, zh, en) code,
static const char *const err_code[] = {API_ERRORS(X)};
#undef X
#define X(id, code, zh, en) {zh, en},
static const char *const err_msg[][2] = {API_ERRORS(X)};
#undef X

enum api_err apierr_set(struct apierr *e, enum api_err id, const char *arg)
{
    e->id = id;
    snprintf(e->arg, sizeof e->arg, "%s", arg ? arg : "");
    return id;
}

enum api_err apierr_setf(struct apierr *e, enum api_err id, const char *fmt, ...)
{
    va_list ap;
    e->id = id;
    va_start(ap, fmt);
    vsnprintf(e->arg, sizeof e->arg, fmt, ap);
    va_end(ap);
    return id;
}

const char *apierr_code(enum api_err id)
{
    return (unsigned)id < API_E__COUNT ? err_code[id] : "InternalError";
}

static int is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A resource id: lower-case prefix, '-', 8 of [0-9a-z] ("subnet-1a2b3c4d"). */
static int is_id(const char *w, size_t n)
{
    size_t p = 0;
    while (p < n && is_lower(w[p]))
        p++;
    if (p == 0 || p + 9 != n || w[p] != '-')
        return 0;
    for (size_t i = p + 1; i < n; i++)
        if (!is_lower(w[i]) && !is_digit(w[i]))
            return 0;
    return 1;
}

/* An IPv4 address or CIDR block: digits, dots and at most one '/', 3 dots. */
static int is_cidr(const char *w, size_t n)
{
    int dots = 0, slash = 0;
    if (n == 0 || !is_digit(w[0]) || !is_digit(w[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] == '.' && !slash)
            dots++;
        else if (w[i] == '/')
            slash++;
        else if (!is_digit(w[i]))
            return 0;
    }
    return dots == 3 && slash <= 1;
}

/* Appends "：" and the ids and CIDR blocks of arg joined by "、" to out at
 * *n (none: nothing). */
static void put_ids(const char *arg, char *out, size_t outlen, size_t *n)
{
    int first = 1;
    const char *p = arg;
    while (*p) {
        const char *w;
        size_t len, sep;
        const char *s;
        while (*p && !(is_lower(*p) || is_digit(*p)))
            p++;
        w = p;
        while (is_lower(*p) || is_digit(*p) || *p == '-' || *p == '.' || *p == '/')
            p++;
        len = (size_t)(p - w);
        while (len > 0 && (w[len - 1] == '.' || w[len - 1] == '-'))
            len--; /* a sentence's full stop */
        if (len == 0 || !(is_id(w, len) || is_cidr(w, len)))
            continue;
        s = first ? "\xef\xbc\x9a" : "\xe3\x80\x81"; /* "：", "、" */
        sep = strlen(s);
        if (*n + sep + len + 1 > outlen)
            return;
        memcpy(out + *n, s, sep);
        memcpy(out + *n + sep, w, len);
        *n += sep + len;
        first = 0;
    }
}

size_t apierr_message(enum api_err id, enum api_lang lang, const char *arg, char *out,
                      size_t outlen)
{
    const char *t = (unsigned)id < API_E__COUNT ? err_msg[id][lang == LANG_EN] : "";
    size_t n = 0;
    if (outlen == 0)
        return 0;
    if (!arg)
        arg = "";
    for (; *t && n + 1 < outlen; t++) {
        if (strncmp(t, "{ids}", 5) == 0) {
            put_ids(arg, out, outlen, &n);
            t += 4;
            continue;
        }
        if (t[0] == '{' && t[1] == '}') {
            for (const char *a = arg; *a && n + 1 < outlen; a++)
                out[n++] = *a;
            t++;
            continue;
        }
        out[n++] = *t;
    }
    out[n] = '\0';
    return n;
}
