/* clsq.c: the query library's entry points (see clsq.h): the query is cut
 * at its first '|' outside quotes into the search part (clsq_search.c) and
 * the SQL part (clsq_sql.c). */
#include "cls/clsq_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void clsq_seterr(struct clsq_err *err, const char *code, size_t off, const char *fmt, ...)
{
    if (!err) return;
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    err->code = code;
    err->offset = off;
    snprintf(err->message, sizeof err->message, "%s (at offset %zu)", what, off);
}

/** Offset of the '|' that starts the SQL part, or len. Quotes and '\'
 * escapes hide a '|'; in Lucene "||" is OR, not the separator. */
static size_t find_pipe(const char *s, size_t len, enum clsq_syntax syn)
{
    bool dq = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\\') { i++; continue; }
        if (c == '"') { dq = !dq; continue; }
        if (dq || c != '|') continue;
        if (syn == CLSQ_LUCENE && i + 1 < len && s[i + 1] == '|') { i++; continue; }
        return i;
    }
    return len;
}

int clsq_parse(const char *query, size_t len, enum clsq_syntax syntax, struct clsq **out,
               struct clsq_err *err)
{
    *out = NULL;
    if (syntax != CLSQ_LUCENE && syntax != CLSQ_CQL) {
        clsq_seterr(err, CLSQ_E_SYNTAX, 0, "unknown query syntax %d", (int)syntax);
        return -1;
    }
    if (len > CLSQ_MAX_QUERY) {
        clsq_seterr(err, CLSQ_E_SYNTAX, CLSQ_MAX_QUERY, "the query is longer than %d bytes", CLSQ_MAX_QUERY);
        return -1;
    }
    if (memchr(query, '\0', len)) {
        size_t at = (size_t)((const char *)memchr(query, '\0', len) - query);
        clsq_seterr(err, CLSQ_E_SYNTAX, at, "a NUL byte in the query");
        return -1;
    }
    struct clsq *q = calloc(1, sizeof *q);
    if (!q) { clsq_seterr(err, CLSQ_E_QUERY, 0, "out of memory"); return -1; }
    size_t bar = find_pipe(query, len, syntax);
    if (clsq_search_parse(query, bar, 0, syntax, &q->search, err) != 0) goto fail;
    if (bar < len && clsq_sql_parse(query + bar + 1, len - bar - 1, bar + 1, &q->sql, err) != 0) goto fail;
    *out = q;
    return 0;
fail:
    clsq_free(q);
    return -1;
}

void clsq_free(struct clsq *q)
{
    if (!q) return;
    clsq_search_free(q->search);
    clsq_sql_free(q->sql);
    free(q);
}

bool clsq_match(const struct clsq *q, const struct clsq_log *log)
{
    return clsq_search_match(q->search, log);
}

bool clsq_has_analysis(const struct clsq *q) { return q->sql != NULL; }

size_t clsq_hints(const struct clsq *q, struct clsq_hint *out, size_t max)
{
    return clsq_search_hints(q->search, out, max);
}
