/* jsonw.c: streaming JSON writer (see jsonw.h). */
#include "base/jsonw.h"

#include <string.h>

#include "base/util.h"

void jw_init(struct jw *w, size_t max, size_t reserve)
{
    buf_init(&w->b, max);
    w->comma = 0;
    w->failed = reserve && buf_reserve(&w->b, reserve) != 0;
}

void jw_reserve(struct jw *w, size_t n)
{
    if (!w->failed && buf_reserve(&w->b, n) != 0)
        w->failed = 1;
}

void jw_reset(struct jw *w)
{
    buf_reset(&w->b);
    w->comma = 0;
    w->failed = 0;
}

void jw_free(struct jw *w)
{
    buf_free(&w->b);
}

int jw_failed(const struct jw *w)
{
    return w->failed;
}

/* Most appends fit the buffer: copy at once; else grow through buf_append. */
static inline void put(struct jw *w, const char *p, size_t n)
{
    struct buf *b = &w->b;
    if (b->len + n < b->cap && (!b->max || b->len + n <= b->max) && !w->failed) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
    } else if (!w->failed && buf_append(b, p, n) != 0) {
        w->failed = 1;
    }
}

/* Starts a value (or a key): the comma that separates it from the last one. */
static void sep(struct jw *w)
{
    if (w->comma)
        put(w, ",", 1);
    w->comma = 0;
}

void jw_obj(struct jw *w)
{
    sep(w);
    put(w, "{", 1);
}

void jw_obj_end(struct jw *w)
{
    put(w, "}", 1);
    w->comma = 1;
}

void jw_arr(struct jw *w)
{
    sep(w);
    put(w, "[", 1);
}

void jw_arr_end(struct jw *w)
{
    put(w, "]", 1);
    w->comma = 1;
}

/* What a byte below 0x80 becomes inside a JSON string: 0 = itself, else the
 * letter of a two-character escape, or 'u' for \u00XX (jansson's choices). */
static const char esc_of[128] = {
    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
    [0] = 'u', [1] = 'u', [2] = 'u', [3] = 'u', [4] = 'u', [5] = 'u', [6] = 'u', [7] = 'u',
    [11] = 'u', [14] = 'u', [15] = 'u', [16] = 'u', [17] = 'u', [18] = 'u', [19] = 'u',
    [20] = 'u', [21] = 'u', [22] = 'u', [23] = 'u', [24] = 'u', [25] = 'u', [26] = 'u',
    [27] = 'u', [28] = 'u', [29] = 'u', [30] = 'u', [31] = 'u', ['"'] = '"', ['\\'] = '\\',
};

static void put_string(struct jw *w, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *run = s, *p = s, *end = s + strlen(s);
    uint32_t cp;

    put(w, "\"", 1);
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80) {
            int n = utf8_decode(p, (size_t)(end - p), &cp);
            if (n <= 0) {
                w->failed = 1;
                return;
            }
            p += n;
            continue;
        }
        if (!esc_of[c]) {
            p++;
            continue;
        }
        put(w, run, (size_t)(p - run));
        if (esc_of[c] == 'u') {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(w, u, sizeof u);
        } else {
            char e2[2] = {'\\', esc_of[c]};
            put(w, e2, sizeof e2);
        }
        run = ++p;
    }
    put(w, run, (size_t)(p - run));
    put(w, "\"", 1);
}

void jw_key(struct jw *w, const char *key)
{
    sep(w);
    put_string(w, key);
    put(w, ":", 1);
}

void jw_lit_key(struct jw *w, const char *key, size_t len)
{
    sep(w);
    put(w, "\"", 1);
    put(w, key, len);
    put(w, "\":", 2);
}

void jw_str(struct jw *w, const char *s)
{
    sep(w);
    put_string(w, s ? s : "");
    w->comma = 1;
}

void jw_int(struct jw *w, int64_t v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    sep(w);
    put(w, p, (size_t)(tmp + sizeof tmp - p));
    w->comma = 1;
}

void jw_bool(struct jw *w, int v)
{
    sep(w);
    if (v)
        put(w, "true", 4);
    else
        put(w, "false", 5);
    w->comma = 1;
}

static int dump_cb(const char *p, size_t n, void *ud)
{
    struct jw *w = ud;
    put(w, p, n);
    return w->failed ? -1 : 0;
}

void jw_json(struct jw *w, const json_t *v)
{
    sep(w);
    if (!v || json_dump_callback(v, dump_cb, w, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
        w->failed = 1;
    w->comma = 1;
}

void jw_kstr_(struct jw *w, const char *key, size_t keylen, const char *s)
{
    jw_lit_key(w, key, keylen);
    jw_str(w, s);
}

void jw_kint_(struct jw *w, const char *key, size_t keylen, int64_t v)
{
    jw_lit_key(w, key, keylen);
    jw_int(w, v);
}

void jw_kbool_(struct jw *w, const char *key, size_t keylen, int v)
{
    jw_lit_key(w, key, keylen);
    jw_bool(w, v);
}
