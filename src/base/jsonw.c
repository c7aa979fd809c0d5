/* jsonw.c: streaming JSON writer (see jsonw.h). */
#include "base/jsonw.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void jw_init(struct jw *w, size_t max)
{
    buf_init(&w->b, max);
    w->comma = 0;
    w->failed = 0;
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

/* Room for n bytes written straight into the buffer (no ceiling set), or
 * NULL: then the caller appends through buf_append, which keeps the ceiling. */
static char *room(struct jw *w, size_t n)
{
    if (w->failed || w->b.max || buf_reserve(&w->b, n) != 0)
        return NULL;
    return w->b.data + w->b.len;
}

/* Ends a write that room() made possible. */
static void written(struct jw *w, char *end)
{
    w->b.len = (size_t)(end - w->b.data);
    w->b.data[w->b.len] = '\0';
}

/* Appends n bytes; a failure fails the writer. */
static void put(struct jw *w, const char *p, size_t n)
{
    char *o = room(w, n);
    if (o) {
        memcpy(o, p, n);
        written(w, o + n);
    } else if (!w->failed && buf_append(&w->b, p, n) != 0) {
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

/* A bracket that opens a value, and one that closes it. */
static void open_with(struct jw *w, const char *bracket)
{
    sep(w);
    put(w, bracket, 1);
}

static void close_with(struct jw *w, const char *bracket)
{
    put(w, bracket, 1);
    w->comma = 1;
}

void jw_obj(struct jw *w)
{
    open_with(w, "{");
}

void jw_obj_end(struct jw *w)
{
    close_with(w, "}");
}

void jw_arr(struct jw *w)
{
    open_with(w, "[");
}

void jw_arr_end(struct jw *w)
{
    close_with(w, "]");
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

/* Bytes that a JSON string cannot carry as they are: controls, '"', '\\',
 * and the lead bytes of UTF-8 sequences (which are checked). */
static const unsigned char special[256] = {
    [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1,
};

/* Writes s[0..len) as a JSON string, quotes included, into o, which has room
 * for 6 * len + 2 bytes. Returns the end, or NULL if s is not valid UTF-8. */
static char *escape_to(char *o, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *p = s, *end = s + len;
    uint32_t cp;

    *o++ = '"';
    while (p < end) {
        const char *run = p;
        unsigned char c;
        while (p < end && !special[(unsigned char)*p])
            p++;
        memcpy(o, run, (size_t)(p - run));
        o += p - run;
        if (p == end)
            break;
        c = (unsigned char)*p;
        if (c >= 0x80) {
            int n = utf8_decode(p, (size_t)(end - p), &cp);
            if (n <= 0)
                return NULL;
            memcpy(o, p, (size_t)n);
            o += n;
            p += n;
        } else if (esc_of[c] == 'u') {
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            o += 6;
            p++;
        } else {
            o[0] = '\\';
            o[1] = esc_of[c];
            o += 2;
            p++;
        }
    }
    *o++ = '"';
    return o;
}

static void put_string(struct jw *w, const char *s)
{
    size_t len = strlen(s);
    char *o, *end, *tmp;

    if (w->failed)
        return;
    if ((o = room(w, 6 * len + 2)) != NULL) {
        if ((end = escape_to(o, s, len)) == NULL)
            w->failed = 1;
        else
            written(w, end);
        return;
    }
    /* with a ceiling: escape aside, then append what fits */
    if (!(tmp = malloc(6 * len + 2)) || !(end = escape_to(tmp, s, len)))
        w->failed = 1;
    else
        put(w, tmp, (size_t)(end - tmp));
    free(tmp);
}

int jw_buf_str(struct buf *b, const char *s)
{
    size_t len = strlen(s ? s : "");
    char *tmp, *end;
    int rc = -1;

    if (!(tmp = malloc(6 * len + 2)))
        return -1;
    if ((end = escape_to(tmp, s ? s : "", len)) != NULL)
        rc = buf_append(b, tmp, (size_t)(end - tmp));
    free(tmp);
    return rc;
}

void jw_key(struct jw *w, const char *key)
{
    sep(w);
    put_string(w, key);
    put(w, ":", 1);
}

void jw_lit_key(struct jw *w, const char *key, size_t len)
{
    char *o = room(w, len + 4);
    if (o) {
        if (w->comma)
            *o++ = ',';
        *o++ = '"';
        memcpy(o, key, len);
        o += len;
        *o++ = '"';
        *o++ = ':';
        written(w, o);
        w->comma = 0;
        return;
    }
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
