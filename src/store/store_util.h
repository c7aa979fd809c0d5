/* store_util.h: rules both store backends (sqlite/, pg/) apply the same way,
 * so that they cannot drift apart. Not part of store.h: the actions never
 * call these. */
#ifndef FLOWLOGD_STORE_STORE_UTIL_H
#define FLOWLOGD_STORE_STORE_UTIL_H

#include <stddef.h>

#include "base/buf.h"
#include "store/store.h"

/* ==== The flow-log columns ==== */

/* Both backends name a flow log's columns as store.h's FLOWLOG_FIELDS
 * members, in its order, and keep the tags (each backend's encoding) in a
 * last column, "tags". A new field is one FLOWLOG_FIELDS row, plus in each
 * backend a migration adding its column. */
#define STORE_FL_COL_STR(m) #m ", "
#define STORE_FL_COL_TIME(m) #m ", "
#define STORE_FL_COL_BOOL(m) #m ", "
#define STORE_FL_COL_PERIOD(m) #m ", "
#define STORE_FL_COL_KIND(m) #m ", "
#define STORE_FL_COL_TAGS(m) /* the last column */
#define STORE_FL_COL(kind, member, size, wire, group) STORE_FL_COL_##kind(member)
/** "vpc_id, id, ..., region, tags": every column, in order. */
#define STORE_FL_COLS FLOWLOG_FIELDS(STORE_FL_COL) "tags"

#define STORE_FL_IDX_STR(m) STORE_FLC_##m,
#define STORE_FL_IDX_TIME(m) STORE_FLC_##m,
#define STORE_FL_IDX_BOOL(m) STORE_FLC_##m,
#define STORE_FL_IDX_PERIOD(m) STORE_FLC_##m,
#define STORE_FL_IDX_KIND(m) STORE_FLC_##m,
#define STORE_FL_IDX_TAGS(m)
#define STORE_FL_IDX(kind, member, size, wire, group) STORE_FL_IDX_##kind(member)
/** The index of each column in STORE_FL_COLS (STORE_FLC_<member>, 0-based;
 * STORE_FLC_tags last) and their number. */
enum store_fl_col { FLOWLOG_FIELDS(STORE_FL_IDX) STORE_FLC_tags, STORE_FL_NCOLS };

/* The migration of both backends that moved a flow log's ResourceType
 * from its API name (column resource_type) to its kind (resource_kind):
 * the SQL value of the kind of a row's old resource_type. Frozen, as a
 * migration is: the names are those the API had then; the numbers are
 * store.h's (checked below). */
#define RESOURCE_KIND_OF_TYPE                                                                    \
    "CASE resource_type WHEN 'VPC' THEN 1 WHEN 'SUBNET' THEN 2 WHEN 'NETWORKINTERFACE' THEN 3 "  \
    "WHEN 'CCN' THEN 5 WHEN 'NAT' THEN 6 WHEN 'DCG' THEN 7 ELSE 0 END"
_Static_assert(RES_VPC == 1 && RES_SUBNET == 2 && RES_ENI == 3 && RES_CCN == 5 && RES_NAT == 6 &&
                   RES_DCG == 7,
               "RESOURCE_KIND_OF_TYPE wrote these numbers into databases");

/* ==== DescribeFlowLogs' exact-match filters ==== */

/** The struct flowlog_query members that filter by equality, each with
 * the column of the same name, in this order (bit i of a plan's shape,
 * parameter i of its block in SQLite): X(STR, member) for a string
 * (NULL or "": no filter), X(KIND, member) for an enum res_kind (0: no
 * filter; bound as its decimal text, which both databases compare with
 * the integer column as a number). */
#define STORE_FL_FILTERS(X)                                                                      \
    X(STR, vpc_id) X(STR, id) X(STR, name) X(KIND, resource_kind) X(STR, resource_id)            \
    X(STR, traffic_type) X(STR, cloud_log_id) X(STR, cloud_log_state) X(STR, cloud_log_region)

struct store_fl_filter {
    const char *col; /* the column */
    size_t off;      /* offsetof the member in struct flowlog_query */
    int kind;        /* 1: an enum res_kind member, 0: a `const char *` one */
};
#define STORE_FL_FILTER_COUNT(type, m) +1
enum { STORE_FL_NFILTERS = 0 STORE_FL_FILTERS(STORE_FL_FILTER_COUNT) };
extern const struct store_fl_filter store_fl_filters[STORE_FL_NFILTERS];

/** Filter i's value in q as text: the string (NULL when not filtering), or
 * a kind's decimal digits written into buf[12]. */
const char *store_fl_filter_value(const struct flowlog_query *q, size_t i, char buf[12]);

/** The JSON array of a tag filter's strings, as both backends pass it to
 * SQL: strs[0..n) (NULL as ""), then the values of pairs[0..npairs) whose
 * key is `key` (none when key is NULL), appended to b and followed by a NUL
 * byte (not part of the text; it keeps texts one after the other apart).
 * 0, or -1 when b is at its ceiling or out of memory. */
int store_json_strings(struct buf *b, const char *const *strs, size_t n, const struct tag *pairs,
                       size_t npairs, const char *key);

/* ==== A flow log's tags changed (the tag service's writes) ==== */

/** One tag of a merged list: borrowed strings. */
struct store_kv {
    const char *k, *v;
};

/** The first half of a change, for each old tag in its order: appends (k,
 * v) to out[*cnt] unless k is among the deleted keys del[0..ndel). 0, or
 * -1 when out already holds cap tags. */
int store_tags_keep(struct store_kv *out, size_t *cnt, size_t cap, const char *k, const char *v,
                    const char *const *del, size_t ndel);

/** The second half: the upserts set[0..nset) (NULL strings as ""): a key
 * present keeps its place and takes the new value, a new one goes last. 0,
 * or -1 when more than cap keys would result. */
int store_tags_upsert(struct store_kv *out, size_t *cnt, size_t cap, const struct tag *set,
                      size_t nset);

/* ==== Errors ==== */

/** Sets e's message (printf; e may be NULL) and returns rc: how both
 * backends report (sq_err, pg_err are this). */
int store_err(struct serr *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** Normalises a key's action list "A, B,,A" into ",A,B," (duplicates
 * dropped; NULL or blank gives "", every action) in out[cap]. Names are
 * letters and digits. STORE_OK, or STORE_ERR with the reason in e. */
int store_normalize_actions(const char *in, char *out, size_t cap, struct serr *e);

/** Counts one sample of `us` microseconds in h. Any thread. */
void store_hist_add(struct store_hist *h, uint64_t us);

struct buf;
/** Appends h as the samples of Prometheus histogram `name` (its _bucket
 * lines with `labels`, e.g. "store=\"sqlite\"" or "", then _sum and
 * _count; the HELP and TYPE lines are the caller's). 0, or -1 (OOM). */
int store_hist_write(const struct store_hist *h, const char *name, const char *labels,
                     struct buf *out);

#endif
