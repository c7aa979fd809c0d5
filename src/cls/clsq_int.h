/* clsq_int.h: what the files of the query library share (not for callers:
 * they use clsq.h). The search part lives in clsq_search.c, the SQL part in
 * clsq_sql.c, the entry points that join them in clsq.c. */
#ifndef FLOWLOGD_CLS_CLSQ_INT_H
#define FLOWLOGD_CLS_CLSQ_INT_H

#include "cls/clsq.h"

/** Deepest nesting of parentheses / NOT / expressions either parser takes. */
#define CLSQ_MAX_DEPTH 64
/** Most nodes either part's tree may have: bounds the recursion of matching
 * and evaluation (a chain `a b c ...` is as deep as it is long). */
#define CLSQ_MAX_NODES 1000
/** Longest query text accepted (CLS: Query ≤ 12 KB). */
#define CLSQ_MAX_QUERY 12288

/** Fills *err (err may be NULL): code, offset, message "<text> (at offset N)". */
void clsq_seterr(struct clsq_err *err, const char *code, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** CLS segmentation: is `c` a delimiter between the words of a value? */
bool clsq_is_delim(unsigned char c);

/* ==== search part (clsq_search.c) ==== */
struct clsq_snode;
/** Parses the search part `s[0..len)`; `base` is its offset in the whole
 * query (for error positions). *out NULL means "match all". */
int clsq_search_parse(const char *s, size_t len, size_t base, enum clsq_syntax syn,
                      struct clsq_snode **out, struct clsq_err *err);
void clsq_search_free(struct clsq_snode *n);
bool clsq_search_match(const struct clsq_snode *n, const struct clsq_log *log);
size_t clsq_search_hints(const struct clsq_snode *n, struct clsq_hint *out, size_t max);

/* ==== SQL part (clsq_sql.c) ==== */
struct clsq_sql;
int clsq_sql_parse(const char *s, size_t len, size_t base, struct clsq_sql **out,
                   struct clsq_err *err);
void clsq_sql_free(struct clsq_sql *q);

struct clsq {
    struct clsq_snode *search; /* NULL: all logs */
    struct clsq_sql *sql;      /* NULL: no analysis */
};

#endif
