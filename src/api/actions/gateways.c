/* gateways.c: CreateCcn, DescribeCcns, DeleteCcn, CreateNatGateway,
 * DescribeNatGateways, DeleteNatGateway, CreateDirectConnectGateway,
 * DescribeDirectConnectGateways, DeleteDirectConnectGateway.
 *
 * A CCN lives in the region it was created in (the real one is global):
 * flow logs, like everything here, are scoped by account and region. A
 * CCN or DCG that has a flow log cannot be deleted; deleting a NAT
 * gateway deletes its flow log. The enumerations of the inputs are
 * checked (-> InvalidParameterValue.Range) and shown back; addresses,
 * bandwidths and the like are kept for display only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/actions/resource_actions.h"
#include "base/util.h"
#include "validate/validate.h"

#define NAME_MAX_BYTES 60
#define CCN_DESC_MAX_BYTES 100
#define MAX_ADDRESSES 10

/* An input string kept as an attribute: its member name and value. */
struct kept {
    const char *name, *value;
};

/* Copies the strings of `k` (ended by a NULL name) that are given (not
 * absent, not "") into attrs; one over 255 bytes ->
 * InvalidParameterValue.TooLong. */
static enum api_err keep_strings(json_t *attrs, const struct kept *k, struct apierr *e)
{
    for (; k->name; k++) {
        const char *s = in_opt(k->value);
        if (s && strlen(s) > 255)
            return apierr_set(e, API_E_VALUE_TOOLONG, k->name);
        if (s)
            json_object_set_new(attrs, k->name, json_string(s));
    }
    return API_E_OK;
}

/* Serialises attrs into r and creates it; on success out[key] = the
 * rendered resource (attrs is consumed either way). */
static enum api_err create_and_render(struct actx *c, struct resource *r, const char *prefix,
                                      json_t *attrs, res_render_fn render, json_t *out,
                                      const char *key, int as_nat_set, struct apierr *e)
{
    char *text = json_dumps(attrs, JSON_COMPACT);
    json_t *o;
    enum api_err rc;

    if (!text) {
        json_decref(attrs);
        return apierr_set(e, API_E_INTERNAL, NULL);
    }
    r->attrs = text;
    rc = res_create(c, r, prefix, e);
    r->attrs = NULL;
    free(text);
    if (rc != API_E_OK) {
        json_decref(attrs);
        return rc;
    }
    o = render(c, r, attrs);
    if (!o)
        return apierr_set(e, API_E_INTERNAL, NULL);
    if (as_nat_set) {
        if (json_object_set_new(out, key, json_pack("[o]", o)) != 0 ||
            json_object_set_new(out, "TotalCount", json_integer(1)) != 0)
            return apierr_set(e, API_E_INTERNAL, NULL);
    } else if (json_object_set_new(out, key, o) != 0) {
        return apierr_set(e, API_E_INTERNAL, NULL);
    }
    return API_E_OK;
}

/* ==== CCN ==== */

static json_t *render_ccn(const struct actx *c, const struct resource *r, json_t *attrs)
{
    json_t *o;
    (void)c;
    o = json_pack("{s:s, s:s, s:s, s:I, s:o, s:s, s:s, s:s, s:s, s:s, s:[], s:b, s:I, s:b, s:b, "
                  "s:b}",
                  "CcnId", r->id, "CcnName", r->name, "CcnDescription", "", "InstanceCount",
                  (json_int_t)0, "CreateTime", res_time(r->created_at), "State", "AVAILABLE",
                  "QosLevel", "AU", "InstanceChargeType", "POSTPAID", "InstanceMeteringType",
                  "BANDWIDTH", "BandwidthLimitType", "OUTER_REGION_LIMIT", "TagSet",
                  "RoutePriorityFlag", 0, "RouteTableCount", (json_int_t)1, "RouteTableFlag", 0,
                  "IsSecurityLock", 0, "RouteBroadcastPolicyFlag", 0);
    if (o) {
        static const char *const flags[] = {
            "RouteECMPFlag", "RouteOverlapFlag", "TrafficMarkingPolicyFlag",
            "RouteSelectPolicyFlag", "DirectConnectAccelerateChannelFlag", "Ipv6Flag",
            "MrtbAggregatePolicyFlag", "MrtbPolicyValueFlag",
            "RouteTablePolicyValueCommunityFlag", "PolicyBasedRoutingFlag", NULL};
        for (const char *const *f = flags; *f; f++)
            json_object_set_new(o, *f, json_false());
    }
    return res_overlay(o, attrs);
}

enum api_err act_create_ccn(struct actx *c, json_t *out, struct apierr *e)
{
    static const char *const qos[] = {"PT", "AU", "AG", NULL};
    static const char *const charge[] = {"PREPAID", "POSTPAID", NULL};
    static const char *const meter[] = {"BANDWIDTH", "TRAFFIC", NULL};
    static const char *const limit[] = {"OUTER_REGION_LIMIT", "INTER_REGION_LIMIT", NULL};
    const struct in_CreateCcnRequest *q = c->in;
    const struct kept kept[] = {{"CcnDescription", q->CcnDescription},
                                {"QosLevel", q->QosLevel},
                                {"InstanceChargeType", q->InstanceChargeType},
                                {"InstanceMeteringType", q->InstanceMeteringType},
                                {"BandwidthLimitType", q->BandwidthLimitType},
                                {NULL, NULL}};
    const char *name = q->CcnName;
    struct resource r;
    json_t *attrs;
    enum api_err rc;

    if ((rc = res_check_name(name, NAME_MAX_BYTES, "CcnName", e)) != API_E_OK ||
        (rc = res_check_len(in_opt(q->CcnDescription), CCN_DESC_MAX_BYTES, "CcnDescription",
                            e)) != API_E_OK ||
        (rc = res_check_enum(in_opt(q->QosLevel), qos, "QosLevel", e)) != API_E_OK ||
        (rc = res_check_enum(in_opt(q->InstanceChargeType), charge, "InstanceChargeType", e)) !=
            API_E_OK ||
        (rc = res_check_enum(in_opt(q->InstanceMeteringType), meter, "InstanceMeteringType",
                             e)) != API_E_OK ||
        (rc = res_check_enum(in_opt(q->BandwidthLimitType), limit, "BandwidthLimitType", e)) !=
            API_E_OK)
        return rc;
    if (!(attrs = json_object()))
        return apierr_set(e, API_E_INTERNAL, NULL);
    if ((rc = keep_strings(attrs, kept, e)) != API_E_OK) {
        json_decref(attrs);
        return rc;
    }
    memset(&r, 0, sizeof r);
    r.kind = RES_CCN;
    snprintf(r.name, sizeof r.name, "%s", name);
    return create_and_render(c, &r, "ccn", attrs, render_ccn, out, "Ccn", 0, e);
}

static const struct res_filter ccn_filters[] = {
    {"ccn-id", "CcnId", RM_EXACT, 'd'},
    {"ccn-name", "CcnName", RM_EXACT, 0},
    {"ccn-description", "CcnDescription", RM_EXACT, 0},
    {"state", "State", RM_EXACT, 0},
    {"tag-key", "TagSet.Key", RM_EXACT, 0},
    {NULL, NULL, 0, 0},
};

enum api_err act_describe_ccns(struct actx *c, json_t *out, struct apierr *e)
{
    static const char *const order[] = {"CcnId", "CcnName", "CreateTime", "State", "QosLevel",
                                        NULL};
    static const struct res_describe d = {
        .kind = RES_CCN,
        .ids_param = "CcnIds",
        .id_prefix = "ccn",
        .set_key = "CcnSet",
        .id_field = "CcnId",
        .filters = ccn_filters,
        .tag_pairs = 1,
        .max_filters = 50,
        .max_values = 100,
        .order_fields = order,
        .default_order = "CreateTime",
        .render = render_ccn,
    };
    const struct in_DescribeCcnsRequest *r = c->in;
    const struct res_describe_in rin = {RES_DESCRIBE_IN(r, CcnIds),
                                       .offset = r->Offset, .limit = r->Limit,
                                       .order = r->OrderField, .dir = r->OrderDirection};

    return res_describe(c, &rin, out, &d, e);
}

enum api_err act_delete_ccn(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_DeleteCcnRequest *r = c->in;

    (void)out;
    return res_delete(c, r->CcnId, "CcnId", "ccn", RES_CCN, 0, e);
}

/* ==== NAT gateway ==== */

static json_t *render_nat(const struct actx *c, const struct resource *r, json_t *attrs)
{
    int v2 = r->nat_version == 2;
    json_t *o;
    (void)c;
    o = json_pack("{s:s, s:s, s:o, s:s, s:I, s:I, s:[], s:s, s:[], s:s, s:s, s:[], s:s, s:[], "
                  "s:[], s:[], s:b, s:I, s:s, s:I, s:b, s:b, s:s, s:b}",
                  "NatGatewayId", r->id, "NatGatewayName", r->name, "CreatedTime",
                  res_time(r->created_at), "State", "AVAILABLE", "InternetMaxBandwidthOut",
                  (json_int_t)(v2 ? 5000 : 100), "MaxConcurrentConnection",
                  (json_int_t)(v2 ? 2000000 : 1000000), "PublicIpAddressSet", "NetworkState",
                  "AVAILABLE", "DestinationIpPortTranslationNatRuleSet", "VpcId", r->vpc_id,
                  "Zone", "", "DirectConnectGatewayIds", "SubnetId", "", "TagSet",
                  "SecurityGroupSet", "SourceIpTranslationNatRuleSet", "IsExclusive", 0,
                  "ExclusiveGatewayBandwidth", (json_int_t)0, "RestrictState", "NORMAL",
                  "NatProductVersion", (json_int_t)(r->nat_version ? r->nat_version : 1),
                  "StrictSnatMode", 0, "SmartScheduleMode", 0, "DedicatedClusterId", "",
                  "DeletionProtectionEnabled", 0);
    return res_overlay(o, attrs);
}

/* The integer member `name` (its value `v`) is absent or one of `allowed`
 * (0-terminated). */
static enum api_err uint_in(const uint64_t *v, const char *name, const json_int_t *allowed,
                            struct apierr *e)
{
    if (!v)
        return API_E_OK;
    for (; *allowed; allowed++)
        if (*v == (uint64_t)*allowed)
            return API_E_OK;
    return apierr_set(e, API_E_VALUE_RANGE, name);
}

/* PublicIpAddressSet: the addresses given, then AddressCount new ones
 * (documentation addresses, 203.0.113.0/24, with eip- ids). */
static enum api_err nat_addresses(const struct in_CreateNatGatewayRequest *q, json_t *set,
                                  struct apierr *e)
{
    const uint64_t *count = q->AddressCount;
    uint32_t addr;

    if (q->PublicIpAddresses.n > MAX_ADDRESSES)
        return apierr_set(e, API_E_VALUE_LIMIT, "PublicIpAddresses");
    if (count && *count > MAX_ADDRESSES)
        return apierr_set(e, API_E_VALUE_RANGE, "AddressCount");
    for (size_t i = 0; i < q->PublicIpAddresses.n; i++) {
        const char *v = q->PublicIpAddresses.v[i];
        if (ipv4_parse(v, &addr) != 0)
            return apierr_setf(e, API_E_VALUE_MALFORMED, "PublicIpAddresses.%zu", i);
        if (json_array_append_new(set, json_pack("{s:s, s:s, s:b, s:s}", "AddressId", "",
                                                 "PublicIpAddress", v, "IsBlocked", 0,
                                                 "BlockType", "NORMAL")) != 0)
            return apierr_set(e, API_E_INTERNAL, NULL);
    }
    for (uint64_t k = 0; count && k < *count; k++) {
        char id[16], ip[16];
        unsigned char b;
        if (gen_id("eip", id, sizeof id) != 0 || rand_nonsecret(&b, 1) != 0)
            return apierr_set(e, API_E_INTERNAL, NULL);
        snprintf(ip, sizeof ip, "203.0.113.%u", 1u + b % 254u);
        if (json_array_append_new(set, json_pack("{s:s, s:s, s:b, s:s}", "AddressId", id,
                                                 "PublicIpAddress", ip, "IsBlocked", 0,
                                                 "BlockType", "NORMAL")) != 0)
            return apierr_set(e, API_E_INTERNAL, NULL);
    }
    return API_E_OK;
}

enum api_err act_create_nat_gateway(struct actx *c, json_t *out, struct apierr *e)
{
    static const json_int_t bandwidths[] = {20, 50, 100, 200, 500, 1000, 2000, 5000, 0};
    static const json_int_t connections[] = {1000000, 2000000, 3000000, 10000000, 0};
    static const json_int_t versions[] = {1, 2, 0};
    const struct in_CreateNatGatewayRequest *q = c->in;
    const struct kept kept[] = {{"Zone", q->Zone}, {"ExclusiveType", q->ExclusiveType},
                                {NULL, NULL}};
    const char *name = q->NatGatewayName, *vpc_id = q->VpcId;
    json_t *attrs, *set;
    struct resource r;
    enum api_err rc;

    if ((rc = res_check_name(name, NAME_MAX_BYTES, "NatGatewayName", e)) != API_E_OK)
        return rc;
    if (!vpc_id || !*vpc_id)
        return apierr_set(e, API_E_VALUE_EMPTY, "VpcId");
    if ((rc = uint_in(q->NatProductVersion, "NatProductVersion", versions, e)) != API_E_OK ||
        (rc = uint_in(q->InternetMaxBandwidthOut, "InternetMaxBandwidthOut", bandwidths, e)) !=
            API_E_OK ||
        (rc = uint_in(q->MaxConcurrentConnection, "MaxConcurrentConnection", connections, e)) !=
            API_E_OK)
        return rc;
    if (!id_has_form(vpc_id, "vpc"))
        return apierr_set(e, API_E_VALUE_MALFORMED, "VpcId");
    if (!(attrs = json_object()) || !(set = json_array())) {
        json_decref(attrs);
        return apierr_set(e, API_E_INTERNAL, NULL);
    }
    json_object_set_new(attrs, "PublicIpAddressSet", set);
    if ((rc = nat_addresses(q, set, e)) != API_E_OK) {
        json_decref(attrs);
        return rc;
    }
    if ((rc = keep_strings(attrs, kept, e)) != API_E_OK) {
        json_decref(attrs);
        return rc;
    }
    if (q->InternetMaxBandwidthOut)
        json_object_set_new(attrs, "InternetMaxBandwidthOut",
                            json_integer((json_int_t)*q->InternetMaxBandwidthOut));
    if (q->MaxConcurrentConnection)
        json_object_set_new(attrs, "MaxConcurrentConnection",
                            json_integer((json_int_t)*q->MaxConcurrentConnection));
    if (q->DeletionProtectionEnabled)
        json_object_set_new(attrs, "DeletionProtectionEnabled",
                            json_boolean(*q->DeletionProtectionEnabled));
    memset(&r, 0, sizeof r);
    r.kind = RES_NAT;
    snprintf(r.name, sizeof r.name, "%s", name);
    snprintf(r.vpc_id, sizeof r.vpc_id, "%s", vpc_id);
    r.nat_version = q->NatProductVersion ? (int)*q->NatProductVersion : 1;
    return create_and_render(c, &r, "nat", attrs, render_nat, out, "NatGatewaySet", 1, e);
}

static const struct res_filter nat_filters[] = {
    {"nat-gateway-id", "NatGatewayId", RM_EXACT, 'd'},
    {"vpc-id", "VpcId", RM_EXACT, 'v'},
    {"nat-gateway-name", "NatGatewayName", RM_EXACT, 0},
    {"tag-key", "TagSet.Key", RM_EXACT, 0},
    {"nat-state", "State", RM_EXACT, 0},
    {NULL, NULL, 0, 0},
};

enum api_err act_describe_nat_gateways(struct actx *c, json_t *out, struct apierr *e)
{
    static const struct res_describe d = {
        .kind = RES_NAT,
        .ids_param = "NatGatewayIds",
        .id_prefix = "nat",
        .set_key = "NatGatewaySet",
        .id_field = "NatGatewayId",
        .filters = nat_filters,
        .max_filters = 10,
        .max_values = 5,
        .render = render_nat,
    };
    const struct in_DescribeNatGatewaysRequest *r = c->in;
    const struct res_describe_in rin = {RES_DESCRIBE_IN(r, NatGatewayIds),
                                       .offset = r->Offset, .limit = r->Limit};

    return res_describe(c, &rin, out, &d, e);
}

enum api_err act_delete_nat_gateway(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_DeleteNatGatewayRequest *r = c->in;

    (void)out;
    return res_delete(c, r->NatGatewayId, "NatGatewayId", "nat", RES_NAT, 0, e);
}

/* ==== direct connect gateway ==== */

static json_t *render_dcg(const struct actx *c, const struct resource *r, json_t *attrs)
{
    int vpc = r->vpc_id[0] != '\0';
    json_t *o;
    (void)c;
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:b, s:b, s:s, s:[], s:s, "
                  "s:b, s:s, s:I, s:s, s:I, s:s, s:[], s:I}",
                  "DirectConnectGatewayId", r->id, "DirectConnectGatewayName", r->name, "VpcId",
                  r->vpc_id, "NetworkType", vpc ? "VPC" : "CCN", "NetworkInstanceId", r->vpc_id,
                  "GatewayType", "NORMAL", "CreateTime", res_time(r->created_at),
                  "DirectConnectGatewayIp", "", "CcnId", "", "CcnRouteType", "", "EnableBGP", 0,
                  "EnableBGPCommunity", 0, "NatGatewayId", "", "VXLANSupport", "ModeType", "",
                  "LocalZone", 0, "Zone", "", "EnableFlowDetails", (json_int_t)0,
                  "FlowDetailsUpdateTime", "", "NewAfc", (json_int_t)0, "AccessNetworkType",
                  "VXLAN", "HaZoneList", "GatewayAsn", (json_int_t)0);
    return res_overlay(o, attrs);
}

enum api_err act_create_direct_connect_gateway(struct actx *c, json_t *out,
                                               struct apierr *e)
{
    static const char *const types[] = {"VPC", "CCN", NULL};
    static const char *const gw_types[] = {"NORMAL", "NAT", NULL};
    static const char *const modes[] = {"standard", "exquisite", NULL};
    const struct in_CreateDirectConnectGatewayRequest *q = c->in;
    const struct kept kept[] = {{"GatewayType", q->GatewayType},
                                {"ModeType", q->ModeType},
                                {"Zone", q->Zone},
                                {NULL, NULL}};
    const char *name = q->DirectConnectGatewayName, *type = q->NetworkType;
    const char *net = in_opt(q->NetworkInstanceId), *gw = in_opt(q->GatewayType);
    const uint64_t *asn = q->GatewayAsn;
    json_t *attrs;
    struct resource r, ccn;
    int is_ccn;
    enum api_err rc;

    if ((rc = res_check_name(name, NAME_MAX_BYTES, "DirectConnectGatewayName", e)) != API_E_OK)
        return rc;
    if (!type || !*type)
        return apierr_set(e, API_E_VALUE_EMPTY, "NetworkType");
    if (!net)
        return apierr_set(e, API_E_VALUE_EMPTY, "NetworkInstanceId");
    if ((rc = res_check_enum(type, types, "NetworkType", e)) != API_E_OK ||
        (rc = res_check_enum(gw, gw_types, "GatewayType", e)) != API_E_OK ||
        (rc = res_check_enum(in_opt(q->ModeType), modes, "ModeType", e)) != API_E_OK)
        return rc;
    is_ccn = strcmp(type, "CCN") == 0;
    if (is_ccn && gw && strcmp(gw, "NORMAL") != 0)
        return apierr_set(e, API_E_VALUE_RANGE, "GatewayType");
    if (!id_has_form(net, is_ccn ? "ccn" : "vpc"))
        return apierr_set(e, API_E_VALUE_MALFORMED, "NetworkInstanceId");
    if (is_ccn && (rc = res_get(c, RES_CCN, net, &ccn, e)) != API_E_OK)
        return rc;
    if (!(attrs = json_pack("{s:s, s:s}", "NetworkType", type, "NetworkInstanceId", net)))
        return apierr_set(e, API_E_INTERNAL, NULL);
    if ((rc = keep_strings(attrs, kept, e)) != API_E_OK) {
        json_decref(attrs);
        return rc;
    }
    if (is_ccn) {
        json_object_set_new(attrs, "CcnId", json_string(net));
        json_object_set_new(attrs, "CcnRouteType", json_string("BGP"));
    }
    if (asn)
        json_object_set_new(attrs, "GatewayAsn", json_integer((json_int_t)*asn));
    memset(&r, 0, sizeof r);
    r.kind = RES_DCG;
    snprintf(r.name, sizeof r.name, "%s", name);
    if (!is_ccn)
        snprintf(r.vpc_id, sizeof r.vpc_id, "%s", net);
    return create_and_render(c, &r, "dcg", attrs, render_dcg, out, "DirectConnectGateway", 0, e);
}

static const struct res_filter dcg_filters[] = {
    {"direct-connect-gateway-id", "DirectConnectGatewayId", RM_EXACT, 'd'},
    {"direct-connect-gateway-name", "DirectConnectGatewayName", RM_SUBSTR, 0},
    {"direct-connect-gateway-ip", "DirectConnectGatewayIp", RM_EXACT, 0},
    {"gateway-type", "GatewayType", RM_EXACT, 0},
    {"network-type", "NetworkType", RM_EXACT, 0},
    {"ccn-id", "CcnId", RM_EXACT, 0},
    {"vpc-id", "VpcId", RM_EXACT, 'v'},
    {NULL, NULL, 0, 0},
};

enum api_err act_describe_direct_connect_gateways(struct actx *c, json_t *out,
                                                  struct apierr *e)
{
    static const struct res_describe d = {
        .kind = RES_DCG,
        .ids_param = "DirectConnectGatewayIds",
        .id_prefix = "dcg",
        .set_key = "DirectConnectGatewaySet",
        .id_field = "DirectConnectGatewayId",
        .filters = dcg_filters,
        .max_filters = 50,
        .max_values = 100,
        .render = render_dcg,
    };
    const struct in_DescribeDirectConnectGatewaysRequest *r = c->in;
    const struct res_describe_in rin = {RES_DESCRIBE_IN(r, DirectConnectGatewayIds),
                                       .offset = r->Offset, .limit = r->Limit};

    return res_describe(c, &rin, out, &d, e);
}

enum api_err act_delete_direct_connect_gateway(struct actx *c, json_t *out,
                                               struct apierr *e)
{
    const struct in_DeleteDirectConnectGatewayRequest *r = c->in;

    (void)out;
    return res_delete(c, r->DirectConnectGatewayId, "DirectConnectGatewayId", "dcg", RES_DCG, 0, e);
}
