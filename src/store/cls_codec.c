/* cls_codec.c: the cls columns' encodings both store backends share (see
 * cls_codec.h). */
#include <stdlib.h>
#include <string.h>

#include "store/cls_codec.h"

char *cls_tags_encode(const struct tag *t, size_t n, size_t *len)
{
    size_t total = 0, at = 0;
    char *p;
    for (size_t i = 0; i < n; i++)
        total += strlen(t[i].key ? t[i].key : "") + strlen(t[i].value ? t[i].value : "") + 2;
    if (!(p = malloc(total ? total : 1)))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(t[i].key ? t[i].key : ""), vl = strlen(t[i].value ? t[i].value : "");
        memcpy(p + at, t[i].key ? t[i].key : "", kl + 1);
        at += kl + 1;
        memcpy(p + at, t[i].value ? t[i].value : "", vl + 1);
        at += vl + 1;
    }
    *len = total;
    return p;
}

struct tag *cls_tags_decode(const char *p, size_t len, size_t *n)
{
    size_t cnt = 0, i = 0;
    struct tag *t;
    const char *end = p + len;
    *n = 0;
    if (!p || !len || p[len - 1] != '\0')
        return NULL;
    for (const char *q = p; q < end; q += strlen(q) + 1)
        cnt++;
    if (!(t = malloc((cnt / 2 + 1) * sizeof *t)))
        return NULL;
    while (p < end && i < cnt / 2) {
        t[i].key = p;
        p += strlen(p) + 1;
        t[i].value = p;
        p += strlen(p) + 1;
        i++;
    }
    *n = i;
    return t;
}

size_t cls_varint_put(unsigned char *p, size_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

static int varint_get(const unsigned char **p, const unsigned char *end, size_t *v)
{
    size_t r = 0;
    for (int shift = 0; *p < end && shift < 63; shift += 7) {
        unsigned char b = *(*p)++;
        r |= (size_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

long cls_kv_decode(const unsigned char *p, size_t len, struct cls_kv **kv, size_t *cap)
{
    const unsigned char *end = p + len;
    size_t n = 0;
    while (p < end) {
        size_t kl, vl;
        if (n == *cap) {
            size_t ncap = *cap ? *cap * 2 : 32;
            struct cls_kv *x = realloc(*kv, ncap * sizeof *x);
            if (!x)
                return -1;
            *kv = x;
            *cap = ncap;
        }
        if (varint_get(&p, end, &kl) != 0 || kl + 1 > (size_t)(end - p))
            return -1;
        (*kv)[n].key = (const char *)p;
        (*kv)[n].klen = kl;
        p += kl + 1;
        if (varint_get(&p, end, &vl) != 0 || vl + 1 > (size_t)(end - p))
            return -1;
        (*kv)[n].value = (const char *)p;
        (*kv)[n].vlen = vl;
        p += vl + 1;
        n++;
    }
    return (long)n;
}
