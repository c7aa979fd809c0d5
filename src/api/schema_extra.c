/* schema_extra.c: hand-written input shapes (see schema_extra.h). */
#include <stddef.h>

#include "api/schema_extra.h"

static const struct field fields_DescribeVpcTaskResultRequest[] = {
    {"TaskId", FT_STRING, 0, 1, 0, NULL, offsetof(struct in_DescribeVpcTaskResultRequest, TaskId)},
};
const struct shape shape_DescribeVpcTaskResultRequest = {
    "DescribeVpcTaskResultRequest", fields_DescribeVpcTaskResultRequest, 1,
    sizeof(struct in_DescribeVpcTaskResultRequest)};

const struct shape shape_GetCallerIdentityRequest = {"GetCallerIdentityRequest", NULL, 0,
                                                     sizeof(struct in_GetCallerIdentityRequest)};
