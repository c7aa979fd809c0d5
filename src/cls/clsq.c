/* clsq.c: the query library's entry points (see clsq.h). This first version
 * knows the match-all query ("" or "*") only; the search grammar and the SQL
 * part come next and answer FailedOperation.SyntaxError until then. */
#include "cls/clsq.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct clsq { bool all; };
struct clsq_agg { const struct clsq *q; };

static void seterr(struct clsq_err *err, const char *code, size_t off, const char *fmt, ...)
{
    if (!err) return;
    err->code = code;
    err->offset = off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

int clsq_parse(const char *query, size_t len, enum clsq_syntax syntax, struct clsq **out,
               struct clsq_err *err)
{
    (void)syntax;
    *out = NULL;
    size_t i = 0;
    while (i < len && (query[i] == ' ' || query[i] == '\t' || query[i] == '\n')) i++;
    size_t j = len;
    while (j > i && (query[j - 1] == ' ' || query[j - 1] == '\t' || query[j - 1] == '\n')) j--;
    if (!(j == i || (j == i + 1 && query[i] == '*'))) {
        seterr(err, CLSQ_E_SYNTAX, i, "syntax error at offset %zu: not supported yet", i);
        return -1;
    }
    struct clsq *q = calloc(1, sizeof *q);
    if (!q) { seterr(err, CLSQ_E_LIMIT, 0, "out of memory"); return -1; }
    q->all = true;
    *out = q;
    return 0;
}

void clsq_free(struct clsq *q) { free(q); }
bool clsq_match(const struct clsq *q, const struct clsq_log *log) { (void)log; return q->all; }
bool clsq_has_analysis(const struct clsq *q) { (void)q; return false; }
size_t clsq_hints(const struct clsq *q, struct clsq_hint *out, size_t max)
{ (void)q; (void)out; (void)max; return 0; }

struct clsq_agg *clsq_agg_new(const struct clsq *q, const struct clsq_limits *lim, struct clsq_err *err)
{
    (void)q; (void)lim;
    seterr(err, CLSQ_E_QUERY, 0, "the query has no analysis part");
    return NULL;
}
int clsq_agg_add(struct clsq_agg *a, const struct clsq_log *log, struct clsq_err *err)
{ (void)a; (void)log; seterr(err, CLSQ_E_QUERY, 0, "no analysis"); return -1; }
int clsq_agg_result(struct clsq_agg *a, json_t **out, struct clsq_err *err)
{ (void)a; *out = NULL; seterr(err, CLSQ_E_QUERY, 0, "no analysis"); return -1; }
void clsq_agg_free(struct clsq_agg *a) { free(a); }
