/* body.h: UploadLog's body as CLS takes it: a protobuf LogGroupList
 * (cls.proto), optionally one lz4 block (X-CLS-CompressType: lz4), within
 * CLS's limits. Pure: no I/O, no clock. */
#ifndef FLOWLOGD_CLS_BODY_H
#define FLOWLOGD_CLS_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "cls/log.h"

/* CLS's limits (UploadLog, API 614/59470) */
#define CLS_MAX_BODY (5u << 20)      /* a request, before and after decompression */
#define CLS_MAX_GROUP_LOGS 10000     /* logs in one LogGroup */
#define CLS_MAX_VALUE (1u << 20)     /* one content value */

enum cls_body_rc {
    CLS_BODY_OK = 0,
    CLS_BODY_EMPTY,          /* no body, or no log in it */
    CLS_BODY_COMPRESS_TYPE,  /* X-CLS-CompressType other than "", "lz4" */
    CLS_BODY_LZ4,            /* not one valid lz4 block */
    CLS_BODY_PROTOBUF,       /* not a LogGroupList (bad wire data, a length past the end,
                              * a required field missing) */
    CLS_BODY_TOO_LARGE,      /* over CLS_MAX_BODY, compressed or not */
    CLS_BODY_TOO_MANY_LOGS,  /* a group over CLS_MAX_GROUP_LOGS */
    CLS_BODY_VALUE_TOO_LARGE, /* a value over CLS_MAX_VALUE */
    CLS_BODY_NOMEM,
};

/** A parsed body. Everything it points to lives in its arena, freed at once
 * by cls_body_free. */
struct cls_body {
    const struct cls_group *groups;
    size_t ngroups;
    size_t nlogs; /* over all groups */
    struct cls_arena_chunk *arena;
};

/** Parses `len` bytes of `data` (borrowed) compressed as `compress_type`
 * (NULL or "" = none; "lz4"). On CLS_BODY_OK `out` holds the logs (free it
 * with cls_body_free); on any other result nothing is kept and `why` (if
 * not NULL) says what was wrong, for the error message. */
enum cls_body_rc cls_body_parse(const void *data, size_t len, const char *compress_type,
                                struct cls_body *out, char *why, size_t whylen);

void cls_body_free(struct cls_body *b);

/** Encodes a LogGroupList of `ngroups` groups (the inverse of the parser,
 * for the CLS sink and the tests) into a malloc'd buffer; lz4 if `lz4`.
 * NULL on OOM. */
unsigned char *cls_body_encode(const struct cls_group *groups, size_t ngroups, int lz4,
                               size_t *len);

#endif
