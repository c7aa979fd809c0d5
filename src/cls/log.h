/* log.h: a CLS log as UploadLog brings it and the store keeps it: plain
 * borrowed data, shared by cls/body.c (the parser), the store and the CLS
 * sink. */
#ifndef FLOWLOGD_CLS_LOG_H
#define FLOWLOGD_CLS_LOG_H

#include <stddef.h>
#include <stdint.h>

struct cls_kv {
    const char *key, *value; /* NUL-terminated (a NUL byte in the wire string ends it) */
    size_t klen, vlen;
};

struct cls_log {
    int64_t time_ms; /* the Log's time: milliseconds, or seconds (< 1e11) made ms */
    const struct cls_kv *contents;
    size_t n;
};

struct cls_group {
    const char *source, *filename, *context_flow; /* "" when absent */
    const struct cls_kv *tags;                    /* logTags */
    size_t ntags;
    const struct cls_log *logs;
    size_t nlogs;
};

#endif
