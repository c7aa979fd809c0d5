/* cls_codec.h: how both store backends (sqlite/, pg/) encode a cls
 * logset's or topic's tags and a log's contents in a column, written once
 * so that a database written by one reads the same in the other. Not part
 * of store.h: the actions never call these. */
#ifndef FLOWLOGD_STORE_CLS_CODEC_H
#define FLOWLOGD_STORE_CLS_CODEC_H

#include <stddef.h>

#include "store/store.h"

/** Tags as "key\0value\0..." (NULL strings as ""): a malloc'd buffer of
 * *len bytes (at least 1 allocated when there are none), or NULL (OOM). */
char *cls_tags_encode(const struct tag *t, size_t n, size_t *len);

/** Decodes a tags column p[0..len) into a malloc'd array (*n pairs)
 * pointing into the column; NULL with *n = 0 for none, for a column not
 * ending in NUL, or OOM. */
struct tag *cls_tags_decode(const char *p, size_t len, size_t *n);

/** Writes v as a little-endian base-128 varint at p (at most 10 bytes);
 * returns the bytes written. */
size_t cls_varint_put(unsigned char *p, size_t v);

/** Decodes a contents column ("varint klen, key, NUL, varint vlen, value,
 * NUL" repeated) into (*kv)[0..n) (grown as needed, *cap its size): the
 * pairs point into the column. n, or -1 on a malformed column or OOM. */
long cls_kv_decode(const unsigned char *p, size_t len, struct cls_kv **kv, size_t *cap);

#endif
