/* schema_extra.h: input shapes of actions the spec files do not describe,
 * written by hand (schema_gen.{c,h} are generated and must not be edited).
 * DescribeVpcTaskResult is documented by Tencent Cloud (API 215/59037) and
 * in every SDK; the resource spec only points at it. */
#ifndef FLOWLOGD_API_SCHEMA_EXTRA_H
#define FLOWLOGD_API_SCHEMA_EXTRA_H

#include "api/input.h"

/** DescribeVpcTaskResult: TaskId (string, required: the RequestId of the
 * asynchronous call). */
extern const struct shape shape_DescribeVpcTaskResultRequest;

#endif
