/* clsq.h: CLS queries (search + analysis), parsed and run by flowlogd.
 *
 * A SearchLog `Query` is `[search] | [sql]`: the search part (CQL or Lucene:
 * terms, key:value, wildcards, ranges, AND/OR/NOT, parentheses, phrases)
 * selects logs; the optional SQL part after the first unquoted '|' analyses
 * the selected logs (select/where/group by/order by/limit, aggregates,
 * histogram). Everything is parsed here into a tree and evaluated in C over
 * borrowed logs: nothing of the query text ever reaches a database.
 *
 * Pure library: no I/O, no clock, no database, no globals. A parsed query is
 * immutable and may be shared by threads; an aggregation is one thread's. */
#ifndef FLOWLOGD_CLS_CLSQ_H
#define FLOWLOGD_CLS_CLSQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/** SearchLog SyntaxRule / QuerySyntax: 0 Lucene, 1 CQL. */
enum clsq_syntax { CLSQ_LUCENE = 0, CLSQ_CQL = 1 };

/** A parsed query: search part + optional SQL part after '|'. Opaque. */
struct clsq;

/* The CLS error codes this library answers with (SearchLog's own codes). */
#define CLSQ_E_SYNTAX  "FailedOperation.SyntaxError"   /* the query does not parse */
#define CLSQ_E_QUERY   "FailedOperation.QueryError"    /* parses, cannot run (unknown function, bad types) */
#define CLSQ_E_TIMEOUT "FailedOperation.SearchTimeout" /* max_steps exhausted */
#define CLSQ_E_LIMIT   "LimitExceeded.SearchResources" /* max_groups / max_memory exceeded (the message says which) */

/** Caller-owned error detail. `code` is one of CLSQ_E_* (static storage);
 * `offset` is the byte offset in the query text the error points at (0 when
 * it points at nothing in particular); `message` names that position too. */
struct clsq_err { const char *code; char message[256]; size_t offset; };

/** Bounds of one analysis. 0 in a field means the library's default
 * (CLSQ_DEFAULT_*). max_steps counts records fed plus per-record work units
 * (rows sorted at the end count too), so a query's time is bounded without
 * reading a clock. */
struct clsq_limits { size_t max_groups; size_t max_memory; uint64_t max_steps; };
#define CLSQ_DEFAULT_MAX_GROUPS  100000
#define CLSQ_DEFAULT_MAX_MEMORY  (256u << 20)
#define CLSQ_DEFAULT_MAX_STEPS   UINT64_C(2000000000)

/** One log as stored: contents as key/value pairs. Borrowed by every call.
 * vals[i] has vlens[i] bytes (not necessarily NUL-terminated); keys are
 * NUL-terminated. */
struct clsq_log {
    int64_t time_ms;
    const char *source, *filename;            /* may be NULL */
    size_t n;
    const char *const *keys; const char *const *vals; const size_t *vlens;
};

/** Parses `len` bytes of `query` (need not be NUL-terminated). On success
 * returns 0 and *out owns a new query (free with clsq_free); on error returns
 * -1, fills *err (code, message naming the offset) and leaves *out NULL. */
int  clsq_parse(const char *query, size_t len, enum clsq_syntax syntax, struct clsq **out, struct clsq_err *err); /* 0 or -1 */
/** Frees a query; NULL is fine. */
void clsq_free(struct clsq *q);
/** The search part: does `log` match? "*" or "" matches all. */
bool clsq_match(const struct clsq *q, const struct clsq_log *log);
/** Has the query an SQL part after '|'? */
bool clsq_has_analysis(const struct clsq *q);

/** Hints a store may use to narrow before clsq_match (never required for
 * correctness): a conjunction of exact conditions every match satisfies.
 * key NULL: a full-text token (lowercase) that appears in some value;
 * key "__SOURCE__" / "__FILENAME__": the log's source / filename (when set),
 * as a search names them (`__SOURCE__:10.0.0.1`).
 * The strings are borrowed from `q`. Returns the number written (≤ max). */
struct clsq_hint { const char *key; /* NULL: full-text token */ const char *value; size_t vlen; };
size_t clsq_hints(const struct clsq *q, struct clsq_hint *out, size_t max);

/** Analysis: feed every matching log in the time range, then take the result.
 * clsq_agg_new returns NULL with *err set when `q` has no SQL part or the
 * memory is short. `lim` may be NULL (defaults). */
struct clsq_agg;
struct clsq_agg *clsq_agg_new(const struct clsq *q, const struct clsq_limits *lim, struct clsq_err *err);
/** Feeds one log (the caller already checked clsq_match). The SQL `where`
 * is applied here. Returns 0, or -1 when a limit is hit (err says which);
 * after -1 the aggregation only accepts clsq_agg_free. */
int  clsq_agg_add(struct clsq_agg *a, const struct clsq_log *log, struct clsq_err *err);   /* -1: a limit hit (err says which) */
/** True when no further log can change the result (a query without
 * aggregates, GROUP BY or ORDER BY that has its LIMIT + OFFSET rows): the
 * caller may stop feeding. Never required for correctness. */
bool clsq_agg_done(const struct clsq_agg *a);
/** The SearchLog answer's analysis fields as CLS gives them (ColNames,
 * Columns[{Name,Type}], AnalysisRecords[] JSON strings,
 * AnalysisResults[{Data:[{Key,Value}]}]), as a jansson object: on 0, *out is
 * a new reference the caller owns. -1 with err on a limit or no memory.
 * Once per aggregation: afterwards it accepts only clsq_agg_free. */
int  clsq_agg_result(struct clsq_agg *a, json_t **out, struct clsq_err *err);
/** Frees an aggregation; NULL is fine. */
void clsq_agg_free(struct clsq_agg *a);

#endif
