/* buf.c: growable byte buffer with a ceiling. */
#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

static int grow(struct buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 64;
    char *p;
    if (b->max && need > b->max)
        return -1;
    while (cap < need + 1)
        cap *= 2;
    if (cap == b->cap)
        return 0;
    p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_reserve(struct buf *b, size_t n)
{
    if (n > (size_t)-1 / 2 - b->len)
        return -1;
    if (b->len + n < b->cap)
        return 0;
    return grow(b, b->len + n);
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    if (n > (size_t)-1 / 2 - b->len || grow(b, b->len + n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    char small[256];
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof small)
        return buf_append(b, small, (size_t)n);
    if (grow(b, b->len + (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *buf_steal(struct buf *b, size_t *len)
{
    char *p = b->data;
    if (!p && (p = calloc(1, 1)) == NULL)
        return NULL;
    if (len)
        *len = b->len;
    buf_init(b, b->max);
    return p;
}

void buf_free(struct buf *b)
{
    free(b->data);
    buf_init(b, b->max);
}
