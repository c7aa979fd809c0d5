/* buf.h: a growable byte buffer with a ceiling set at init. */
#ifndef FLOWLOGD_BASE_BUF_H
#define FLOWLOGD_BASE_BUF_H

#include <stddef.h>

/** A byte buffer that is always NUL-terminated once anything was appended.
 * `max` is the ceiling on len (0 means none). The buffer owns `data`. */
struct buf {
    char *data;
    size_t len, cap, max;
};

/** Records the ceiling; allocates nothing and cannot fail. */
void buf_init(struct buf *b, size_t max);

/** Makes room for n more bytes without reallocating. Returns 0, or -1 as
 * buf_append (the buffer is unchanged either way). */
int buf_reserve(struct buf *b, size_t n);

/** Appends n bytes. Returns 0, or -1 when the ceiling would be passed or
 * memory ran out (the buffer is then unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);

/** Appends a NUL-terminated string. Same results as buf_append. */
int buf_puts(struct buf *b, const char *s);

/** Appends printf-style. Same results as buf_append. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);

/** Hands the memory to the caller (who frees it) and re-initialises b with
 * the same ceiling. Returns "" in malloc'd memory when empty, NULL on OOM. */
char *buf_steal(struct buf *b, size_t *len);

/** Frees the memory. */
void buf_free(struct buf *b);

#endif
