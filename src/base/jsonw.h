/* jsonw.h: a streaming JSON writer into one growable buffer.
 *
 * The answers of the hot actions (DescribeFlowLogs, CreateFlowLog, every
 * error envelope) are written straight into the reply body instead of being
 * built as a jansson tree and dumped: no allocation per value, one pass.
 * The output is byte for byte what jansson's json_dumps(JSON_COMPACT) gives
 * for the same values in the same order (same escapes, "\u001F" upper-case,
 * '/' and non-ASCII left as they are).
 *
 * Errors are sticky: after a failure (out of memory, the ceiling, a string
 * that is not valid UTF-8) every later call does nothing and jw_failed()
 * says so; callers check once at the end. Commas are placed by the writer.
 */
#ifndef FLOWLOGD_BASE_JSONW_H
#define FLOWLOGD_BASE_JSONW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct jw {
    struct buf b; /* owned; take the text with buf_steal(&w->b, ...) */
    int comma;    /* the next value or key needs a ',' first */
    int failed;
};

/** An empty writer whose text may not pass `max` bytes (0: no ceiling).
 * Allocates nothing. */
void jw_init(struct jw *w, size_t max);

/** Makes room for `n` more bytes at once (an answer whose size is roughly
 * known); a failure fails the writer. */
void jw_reserve(struct jw *w, size_t n);

/** Empties the writer (keeping its memory) and clears a failure. */
void jw_reset(struct jw *w);

void jw_free(struct jw *w);

/** 1 if any call failed since init/reset. */
int jw_failed(const struct jw *w);

void jw_obj(struct jw *w);     /* { */
void jw_obj_end(struct jw *w); /* } */
void jw_arr(struct jw *w);     /* [ */
void jw_arr_end(struct jw *w); /* ] */

/** A member name inside an object; the next call writes its value. */
void jw_key(struct jw *w, const char *key);

/** A string value; NULL writes "". Invalid UTF-8 fails the writer. */
void jw_str(struct jw *w, const char *s);
void jw_int(struct jw *w, int64_t v);
void jw_bool(struct jw *w, int v);

/** Appends s (NULL: "") to b as a JSON string, quotes included, escaped
 * as jw_str does: for JSON text assembled outside a writer (the store's
 * lists for SQLite's json_each). 0, or -1 when b's ceiling or memory runs
 * out or s is not valid UTF-8 (b keeps what it had). */
int jw_buf_str(struct buf *b, const char *s);

/** Any jansson value (NULL fails the writer). */
void jw_json(struct jw *w, const json_t *v);

/** A member name given as a string literal that needs no escaping (what
 * the handlers write): copied as is, its length known at compile time. */
void jw_lit_key(struct jw *w, const char *key, size_t len);

#define jw_lkey(w, key) jw_lit_key((w), "" key, sizeof(key) - 1)

/** Shorthands for a member whose name is a string literal: key, then value. */
#define jw_kstr(w, key, s) jw_kstr_((w), "" key, sizeof(key) - 1, (s))
#define jw_kint(w, key, v) jw_kint_((w), "" key, sizeof(key) - 1, (v))
#define jw_kbool(w, key, v) jw_kbool_((w), "" key, sizeof(key) - 1, (v))
void jw_kstr_(struct jw *w, const char *key, size_t keylen, const char *s);
void jw_kint_(struct jw *w, const char *key, size_t keylen, int64_t v);
void jw_kbool_(struct jw *w, const char *key, size_t keylen, int v);

#endif
