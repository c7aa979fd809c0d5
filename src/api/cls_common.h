/* cls_common.h: what the cls service's handlers (actions/cls.c,
 * actions/cls_search.c) share. */
#ifndef FLOWLOGD_API_CLS_COMMON_H
#define FLOWLOGD_API_CLS_COMMON_H

#include "api/action.h"

/** The logTag that makes a LogGroup an idempotent batch (its value names
 * the batch; the CLS sink sets it). Not shown among the log's contents. */
#define CLS_BATCH_TAG "__flowlogd_batch__"

/** API_E_OK if the store keeps CLS data; else UnsupportedOperation in e. */
enum api_err cls_unsupported(struct actx *c, struct apierr *e);

/** The caller's topic `id` in its region (no tags): STORE_OK,
 * STORE_NOTFOUND, or a store failure with se set. */
int cls_topic_find(struct actx *c, const char *id, struct cls_topic *out, struct serr *se);

#endif
