/* store_util.h: rules both store backends (sqlite/, pg/) apply the same way,
 * so that they cannot drift apart. Not part of store.h: the actions never
 * call these. */
#ifndef FLOWLOGD_STORE_STORE_UTIL_H
#define FLOWLOGD_STORE_STORE_UTIL_H

#include <stddef.h>

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
#define STORE_FL_COL_TAGS(m) /* the last column */
#define STORE_FL_COL(kind, member, size, wire, group) STORE_FL_COL_##kind(member)
/** "vpc_id, id, ..., region, tags": every column, in order. */
#define STORE_FL_COLS FLOWLOG_FIELDS(STORE_FL_COL) "tags"

#define STORE_FL_IDX_STR(m) STORE_FLC_##m,
#define STORE_FL_IDX_TIME(m) STORE_FLC_##m,
#define STORE_FL_IDX_BOOL(m) STORE_FLC_##m,
#define STORE_FL_IDX_PERIOD(m) STORE_FLC_##m,
#define STORE_FL_IDX_TAGS(m)
#define STORE_FL_IDX(kind, member, size, wire, group) STORE_FL_IDX_##kind(member)
/** The index of each column in STORE_FL_COLS (STORE_FLC_<member>, 0-based;
 * STORE_FLC_tags last) and their number. */
enum store_fl_col { FLOWLOG_FIELDS(STORE_FL_IDX) STORE_FLC_tags, STORE_FL_NCOLS };

/** Normalises a key's action list "A, B,,A" into ",A,B," (duplicates
 * dropped; NULL or blank gives "", every action) in out[cap]. Names are
 * letters and digits. STORE_OK, or STORE_ERR with the reason in e. */
int store_normalize_actions(const char *in, char *out, size_t cap, struct serr *e);

#endif
