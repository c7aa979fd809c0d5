/* schema_extra.h: input shapes of actions the spec files do not describe,
 * written by hand (schema_gen.{c,h} are generated and must not be edited).
 * DescribeVpcTaskResult is documented by Tencent Cloud (API 215/59037) and
 * in every SDK; the resource spec only points at it. GetCallerIdentity is
 * the sts service's (API 1312/66098), which the spec files do not cover. */
#ifndef FLOWLOGD_API_SCHEMA_EXTRA_H
#define FLOWLOGD_API_SCHEMA_EXTRA_H

#include "api/input.h"

/** Their C structs (as schema_gen.h's, filled by input_struct). */
struct in_DescribeVpcTaskResultRequest {
    const char *TaskId;
};
struct in_GetCallerIdentityRequest {
    char none_; /* no members */
};

/** DescribeVpcTaskResult: TaskId (string, required: the RequestId of the
 * asynchronous call). */
extern const struct shape shape_DescribeVpcTaskResultRequest;

/** GetCallerIdentity (sts 2018-08-13, API 1312/66098): no parameters. */
extern const struct shape shape_GetCallerIdentityRequest;

#endif
