/* action_table.c: the action table. Inputs come from the generated shapes
 * (schema_gen.c) or, for actions the spec lacks, the hand-written ones
 * (schema_extra.c); each row adds the handler. Only actions that have a
 * handler are served: any other name is InvalidAction. */
#include <string.h>

#include "api/action.h"
#include "api/schema_extra.h"
#include "api/schema_gen.h"

/* POLL: the action never blocks its thread, so a poll thread answers it:
 * DescribeFlowLogs, DescribeFlowLog, DescribeVpcTaskResult and
 * DescribeResourceTagsByResourceIds read a page (at most Limit rows, found
 * by index or sorted from the caller's flow logs of one region, at most its
 * quota) or a few rows by key through a WAL reader, which never waits for
 * the writer; CreateFlowLog
 * waits for its commit through api_defer (on a poll thread without
 * holding it). WORKER: the others write (and
 * wait for their commit) or may scan: GetResources, and the six resource
 * Describe* (a tenant's whole inventory of that kind when a filter cannot
 * be handed to the store; resource_describe.c). */
#define POLL ACT_POLL
#define WORKER ACT_WORKER
/* BULK: a worker action whose reads may be long (a page of a large
 * inventory, or all of it): it runs on the bulk workers, of lower CPU
 * priority (http.h, http_config.bulk), so that a client paging through
 * 50,000 ENIs yields the cores to the short requests. */
#define BULK ACT_BULK

static const struct action_def actions[] = {
    /* name              service version       input shape                  handler      thread */
#define VPC "vpc", "2017-03-12"
    {"CreateFlowLog", VPC, &shape_CreateFlowLogRequest, act_create_flow_log, POLL},
    {"DescribeFlowLogs", VPC, &shape_DescribeFlowLogsRequest, act_describe_flow_logs, POLL},
    {"DescribeFlowLog", VPC, &shape_DescribeFlowLogRequest, act_describe_flow_log, POLL},
    {"ModifyFlowLogAttribute", VPC, &shape_ModifyFlowLogAttributeRequest,
     act_modify_flow_log_attribute, WORKER},
    {"DeleteFlowLog", VPC, &shape_DeleteFlowLogRequest, act_delete_flow_log, WORKER},
    {"EnableFlowLogs", VPC, &shape_EnableFlowLogsRequest, act_enable_flow_logs, WORKER},
    {"DisableFlowLogs", VPC, &shape_DisableFlowLogsRequest, act_disable_flow_logs, WORKER},
    {"CreateVpc", VPC, &shape_CreateVpcRequest, act_create_vpc, WORKER},
    {"DescribeVpcs", VPC, &shape_DescribeVpcsRequest, act_describe_vpcs, BULK},
    {"DeleteVpc", VPC, &shape_DeleteVpcRequest, act_delete_vpc, WORKER},
    {"CreateSubnet", VPC, &shape_CreateSubnetRequest, act_create_subnet, WORKER},
    {"DescribeSubnets", VPC, &shape_DescribeSubnetsRequest, act_describe_subnets, BULK},
    {"DeleteSubnet", VPC, &shape_DeleteSubnetRequest, act_delete_subnet, WORKER},
    {"CreateNetworkInterface", VPC, &shape_CreateNetworkInterfaceRequest,
     act_create_network_interface, WORKER},
    {"DescribeNetworkInterfaces", VPC, &shape_DescribeNetworkInterfacesRequest,
     act_describe_network_interfaces, BULK},
    {"DeleteNetworkInterface", VPC, &shape_DeleteNetworkInterfaceRequest,
     act_delete_network_interface, WORKER},
    {"AttachNetworkInterface", VPC, &shape_AttachNetworkInterfaceRequest,
     act_attach_network_interface, WORKER},
    {"DetachNetworkInterface", VPC, &shape_DetachNetworkInterfaceRequest,
     act_detach_network_interface, WORKER},
    {"DescribeVpcTaskResult", VPC, &shape_DescribeVpcTaskResultRequest,
     act_describe_vpc_task_result, POLL},
    {"CreateCcn", VPC, &shape_CreateCcnRequest, act_create_ccn, WORKER},
    {"DescribeCcns", VPC, &shape_DescribeCcnsRequest, act_describe_ccns, BULK},
    {"DeleteCcn", VPC, &shape_DeleteCcnRequest, act_delete_ccn, WORKER},
    {"CreateNatGateway", VPC, &shape_CreateNatGatewayRequest, act_create_nat_gateway, WORKER},
    {"DescribeNatGateways", VPC, &shape_DescribeNatGatewaysRequest, act_describe_nat_gateways,
     BULK},
    {"DeleteNatGateway", VPC, &shape_DeleteNatGatewayRequest, act_delete_nat_gateway, WORKER},
    {"CreateDirectConnectGateway", VPC, &shape_CreateDirectConnectGatewayRequest,
     act_create_direct_connect_gateway, WORKER},
    {"DescribeDirectConnectGateways", VPC, &shape_DescribeDirectConnectGatewaysRequest,
     act_describe_direct_connect_gateways, BULK},
    {"DeleteDirectConnectGateway", VPC, &shape_DeleteDirectConnectGatewayRequest,
     act_delete_direct_connect_gateway, WORKER},
#undef VPC
#define TAG "tag", "2018-08-13"
    {"TagResources", TAG, &shape_TagResourcesRequest, act_tag_resources, WORKER},
    {"UnTagResources", TAG, &shape_UnTagResourcesRequest, act_untag_resources, WORKER},
    {"ModifyResourceTags", TAG, &shape_ModifyResourceTagsRequest, act_modify_resource_tags, WORKER},
    {"DescribeResourceTagsByResourceIds", TAG, &shape_DescribeResourceTagsByResourceIdsRequest,
     act_describe_resource_tags_by_resource_ids, POLL},
    {"GetResources", TAG, &shape_GetResourcesRequest, act_get_resources, BULK},
#undef TAG
#define STS "sts", "2018-08-13"
    {"GetCallerIdentity", STS, &shape_GetCallerIdentityRequest, act_get_caller_identity, POLL},
#undef STS
#define CLS "cls", "2020-10-16"
    {"CreateLogset", CLS, &shape_CreateLogsetRequest, act_create_logset, WORKER},
    {"DescribeLogsets", CLS, &shape_DescribeLogsetsRequest, act_describe_logsets, WORKER},
    {"DeleteLogset", CLS, &shape_DeleteLogsetRequest, act_delete_logset, WORKER},
    {"CreateTopic", CLS, &shape_CreateTopicRequest, act_create_topic, WORKER},
    {"DescribeTopics", CLS, &shape_DescribeTopicsRequest, act_describe_topics, WORKER},
    {"ModifyTopic", CLS, &shape_ModifyTopicRequest, act_modify_topic, WORKER},
    {"DeleteTopic", CLS, &shape_DeleteTopicRequest, act_delete_topic, WORKER},
    {"UploadLog", CLS, &shape_UploadLogRequest, act_upload_log, WORKER},
    {"SearchLog", CLS, &shape_SearchLogRequest, act_search_log, WORKER},
    {"DescribeLogContext", CLS, &shape_DescribeLogContextRequest, act_describe_log_context,
     WORKER},
#undef CLS
};

const char *action_binary_headers(const struct action_def *def)
{
    /* UploadLog (cls): its parameters as the CLS SDKs send them */
    if (strcmp(def->service, "cls") == 0 && strcmp(def->name, "UploadLog") == 0)
        return "TopicId=X-CLS-TopicId,HashKey=X-CLS-HashKey,CompressType=X-CLS-CompressType";
    return NULL;
}

const struct action_def *action_find_in(const char *name, const char *version,
                                        const char *service, int *name_known)
{
    *name_known = 0;
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        if (strcmp(actions[i].name, name) != 0)
            continue;
        if (service && strcmp(actions[i].service, service) != 0)
            continue;
        if (strcmp(actions[i].version, version) == 0)
            return &actions[i];
        *name_known = 1;
    }
    return NULL;
}

const struct action_def *action_find(const char *name, const char *version, int *name_known)
{
    return action_find_in(name, version, NULL, name_known);
}

size_t action_count(void)
{
    return sizeof actions / sizeof actions[0];
}

size_t action_index(const struct action_def *def)
{
    return (size_t)(def - actions);
}

const struct action_def *action_at(size_t i)
{
    return &actions[i];
}
