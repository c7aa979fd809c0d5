/* actions.c: the action table. Inputs come from the generated shapes
 * (schema_gen.c); each row adds the handler. Only actions that have a
 * handler are served: any other name is InvalidAction. */
#include <string.h>

#include "api/action.h"
#include "api/schema_gen.h"

static const struct action_def actions[] = {
    /* name              service version       input shape                  handler */
#define VPC "vpc", "2017-03-12"
    {"CreateFlowLog", VPC, &shape_CreateFlowLogRequest, act_create_flow_log},
    {"DescribeFlowLogs", VPC, &shape_DescribeFlowLogsRequest, act_describe_flow_logs},
    {"DescribeFlowLog", VPC, &shape_DescribeFlowLogRequest, act_describe_flow_log},
    {"ModifyFlowLogAttribute", VPC, &shape_ModifyFlowLogAttributeRequest,
     act_modify_flow_log_attribute},
    {"DeleteFlowLog", VPC, &shape_DeleteFlowLogRequest, act_delete_flow_log},
    {"EnableFlowLogs", VPC, &shape_EnableFlowLogsRequest, act_enable_flow_logs},
    {"DisableFlowLogs", VPC, &shape_DisableFlowLogsRequest, act_disable_flow_logs},
#undef VPC
};

const struct action_def *action_find(const char *name, const char *version, int *name_known)
{
    *name_known = 0;
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        if (strcmp(actions[i].name, name) != 0)
            continue;
        if (strcmp(actions[i].version, version) == 0)
            return &actions[i];
        *name_known = 1;
    }
    return NULL;
}
