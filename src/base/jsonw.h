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

/** An empty writer whose text may not pass `max` bytes (0: no ceiling). */
void jw_init(struct jw *w, size_t max);

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

/** Any jansson value (NULL fails the writer). */
void jw_json(struct jw *w, const json_t *v);

/** Shorthands for a member: key, then value. */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, int64_t v);
void jw_kbool(struct jw *w, const char *key, int v);

#endif
