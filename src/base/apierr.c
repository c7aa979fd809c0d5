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
