/* vpc_subnet.c: CreateVpc, DescribeVpcs, DeleteVpc, CreateSubnet,
 * DescribeSubnets, DeleteSubnet.
 *
 * Validated: the names (required, at most 60 bytes), the CIDR blocks
 * (syntax; a VPC in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 with a
 * mask of /12 to /28; a subnet inside its VPC, /16 to /28, overlapping no
 * other subnet of the VPC), the ids' forms, DnsServers (at most 4 IPv4
 * addresses) and Zone (required). Kept and shown: EnableMulticast,
 * DnsServers, DomainName, EnableRouteVpcPublish(Ipv6), Zone, CdcId.
 * Accepted and ignored: Tags (TagSet is always empty). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/actions/resource_actions.h"
#include "base/util.h"
#include "validate/validate.h"

#define NAME_MAX_BYTES 60
#define ZONE_MAX_BYTES 64

/* ==== VPC ==== */

static json_t *render_vpc(const struct actx *c, const struct resource *r, json_t *attrs)
{
    json_t *o;
    (void)c;
    o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:o, s:[s,s], s:s, s:s, s:b, s:s, s:[], s:[], s:b, "
                  "s:[], s:b}",
                  "VpcName", r->name, "VpcId", r->id, "CidrBlock", r->cidr, "IsDefault", 0,
                  "EnableMulticast", 0, "CreatedTime", res_time(r->created_at), "DnsServerSet",
                  "183.60.83.19", "183.60.82.98", "DomainName", "", "DhcpOptionsId", "",
                  "EnableDhcp", 1, "Ipv6CidrBlock", "", "TagSet", "AssistantCidrSet",
                  "EnableRouteVpcPublish", 0, "Ipv6CidrBlockSet", "EnableRouteVpcPublishIpv6", 0);
    return res_overlay(o, attrs);
}

/* A VPC's block: one of the three private ranges, mask /12 to /28. */
static int vpc_cidr_ok(uint32_t net, int prefix)
{
    static const struct {
        uint32_t net;
        int prefix;
    } ranges[] = {{0x0a000000u, 8}, {0xac100000u, 12}, {0xc0a80000u, 16}};
    if (prefix < 12 || prefix > 28)
        return 0;
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        uint32_t mask = 0xffffffffu << (32 - ranges[i].prefix);
        if (prefix >= ranges[i].prefix && (net & mask) == ranges[i].net)
            return 1;
    }
    return 0;
}

/* A "true"/"false" string member `name` (EnableMulticast; its value
 * `value`); other text is Range. */
static enum api_err bool_string(const char *value, const char *name, json_t *attrs,
                                struct apierr *e)
{
    const char *s = in_opt(value);
    if (!s)
        return API_E_OK;
    if (strcasecmp(s, "true") != 0 && strcasecmp(s, "false") != 0)
        return apierr_set(e, API_E_VALUE_RANGE, name);
    json_object_set_new(attrs, name, json_boolean(strcasecmp(s, "true") == 0));
    return API_E_OK;
}

enum api_err act_create_vpc(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_CreateVpcRequest *q = c->in;
    const char *name = q->VpcName, *cidr = q->CidrBlock;
    const char *domain = in_opt(q->DomainName);
    json_t *attrs = json_object(), *dns = NULL, *o;
    struct resource r;
    uint32_t net, addr;
    int prefix;
    size_t i;
    char *text = NULL;
    enum api_err rc;

    if (!attrs)
        return apierr_set(e, API_E_INTERNAL, NULL);
    if ((rc = res_check_name(name, NAME_MAX_BYTES, "VpcName", e)) != API_E_OK)
        goto done;
    if (!cidr || !*cidr) {
        rc = apierr_set(e, API_E_VALUE_EMPTY, "CidrBlock");
        goto done;
    }
    if (cidr_parse(cidr, &net, &prefix) != 0) {
        rc = apierr_set(e, API_E_VALUE_MALFORMED, "CidrBlock");
        goto done;
    }
    if (!vpc_cidr_ok(net, prefix)) {
        rc = apierr_set(e, API_E_PARAM_VALUE, "CidrBlock");
        goto done;
    }
    if ((rc = bool_string(q->EnableMulticast, "EnableMulticast", attrs, e)) != API_E_OK)
        goto done;
    if (q->DnsServers.n > 4) {
        rc = apierr_set(e, API_E_VALUE_LIMIT, "DnsServers");
        goto done;
    }
    for (i = 0; i < q->DnsServers.n; i++) {
        if (ipv4_parse(q->DnsServers.v[i], &addr) != 0) {
            rc = apierr_setf(e, API_E_VALUE_MALFORMED, "DnsServers.%zu", i);
            goto done;
        }
    }
    if ((rc = res_check_len(domain, 255, "DomainName", e)) != API_E_OK)
        goto done;
    if (q->DnsServers.n) {
        if (!(dns = res_strings(q->DnsServers.v, q->DnsServers.n))) {
            rc = apierr_set(e, API_E_INTERNAL, NULL);
            goto done;
        }
        json_object_set_new(attrs, "DnsServerSet", dns);
    }
    if (domain)
        json_object_set_new(attrs, "DomainName", json_string(domain));
    if (q->EnableRouteVpcPublish)
        json_object_set_new(attrs, "EnableRouteVpcPublish",
                            json_boolean(*q->EnableRouteVpcPublish));
    if (q->EnableRouteVpcPublishIpv6)
        json_object_set_new(attrs, "EnableRouteVpcPublishIpv6",
                            json_boolean(*q->EnableRouteVpcPublishIpv6));

    memset(&r, 0, sizeof r);
    r.kind = RES_VPC;
    snprintf(r.name, sizeof r.name, "%s", name);
    snprintf(r.cidr, sizeof r.cidr, "%s", cidr);
    if (!(text = json_dumps(attrs, JSON_COMPACT))) {
        rc = apierr_set(e, API_E_INTERNAL, NULL);
        goto done;
    }
    r.attrs = text;
    if ((rc = res_create(c, &r, "vpc", e)) != API_E_OK)
        goto done;
    o = render_vpc(c, &r, attrs);
    attrs = NULL; /* taken by render */
    if (!o || json_object_set_new(out, "Vpc", o) != 0)
        rc = apierr_set(e, API_E_INTERNAL, NULL);
done:
    free(text);
    json_decref(attrs);
    return rc;
}

static const struct res_filter vpc_filters[] = {
    {"vpc-name", "VpcName", RM_SUBSTR, 0},
    {"is-default", "IsDefault", RM_BOOL, 0},
    {"vpc-id", "VpcId", RM_EXACT, 'd'},
    {"cidr-block", "CidrBlock", RM_EXACT, 0},
    {"tag-key", "TagSet.Key", RM_EXACT, 0},
    {"ipv6-cidr-block", "Ipv6CidrBlockSet.IPv6CidrBlock", RM_EXACT, 0},
    {"isp-type", "Ipv6CidrBlockSet.ISPType", RM_EXACT, 0},
    {"address-type", "Ipv6CidrBlockSet.AddressType", RM_EXACT, 0},
    {NULL, NULL, 0, 0},
};

enum api_err act_describe_vpcs(struct actx *c, json_t *out, struct apierr *e)
{
    static const struct res_describe d = {
        .kind = RES_VPC,
        .ids_param = "VpcIds",
        .id_prefix = "vpc",
        .set_key = "VpcSet",
        .id_field = "VpcId",
        .filters = vpc_filters,
        .tag_pairs = 1,
        .string_paging = 1,
        .max_filters = 50,
        .max_values = 100,
        .render = render_vpc,
    };
    const struct in_DescribeVpcsRequest *r = c->in;
    const struct res_describe_in rin = {RES_DESCRIBE_IN(r, VpcIds),
                                       .offset_s = r->Offset, .limit_s = r->Limit};

    return res_describe(c, &rin, out, &d, e);
}

enum api_err act_delete_vpc(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_DeleteVpcRequest *r = c->in;

    (void)out;
    return res_delete(c, r->VpcId, "VpcId", "vpc", RES_VPC, 0, e);
}

/* ==== subnet ==== */

static json_t *render_subnet(const struct actx *c, const struct resource *r, json_t *attrs)
{
    uint32_t net;
    int prefix;
    json_int_t total = 0, avail = 0;
    json_t *o;

    (void)c;
    if (cidr_parse(r->cidr, &net, &prefix) == 0 && prefix >= 8) {
        total = (json_int_t)1 << (32 - prefix);
        avail = total > 3 ? total - 3 : 0; /* network, gateway, broadcast */
    }
    o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:s, s:o, s:I, s:s, s:s, s:b, s:I, s:[], "
                  "s:s, s:I}",
                  "VpcId", r->vpc_id, "SubnetId", r->id, "SubnetName", r->name, "CidrBlock",
                  r->cidr, "IsDefault", 0, "EnableBroadcast", 0, "Zone", "", "RouteTableId", "",
                  "CreatedTime", res_time(r->created_at), "AvailableIpAddressCount", avail,
                  "Ipv6CidrBlock", "", "NetworkAclId", "", "IsRemoteVpcSnat", 0,
                  "TotalIpAddressCount", total, "TagSet", "CdcId", "", "IsCdcSubnet",
                  (json_int_t)0);
    return res_overlay(o, attrs);
}

struct overlap {
    uint32_t net;
    int prefix;
    char with[256];
    int bad; /* a subnet of the VPC overlaps */
};

static void on_sibling(void *ud, const struct resource *r)
{
    struct overlap *ov = ud;
    uint32_t net;
    int prefix, p;
    if (ov->bad || cidr_parse(r->cidr, &net, &prefix) != 0)
        return;
    p = prefix < ov->prefix ? prefix : ov->prefix; /* the shorter mask decides */
    if (p == 0 || (net >> (32 - p)) == (ov->net >> (32 - p))) {
        ov->bad = 1;
        snprintf(ov->with, sizeof ov->with, "%.80s (%.64s)", r->id, r->cidr);
    }
}

enum api_err act_create_subnet(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_CreateSubnetRequest *sq = c->in;
    const char *vpc_id = sq->VpcId, *name = sq->SubnetName;
    const char *cidr = sq->CidrBlock, *zone = sq->Zone;
    const char *cdc = in_opt(sq->CdcId);
    struct resource vpc, r;
    struct overlap ov;
    struct resource_query q;
    struct serr se = {{0}};
    uint32_t vnet;
    int vprefix, src;
    json_t *attrs = NULL, *o;
    char *text = NULL;
    enum api_err rc;

    if (!vpc_id || !*vpc_id)
        return apierr_set(e, API_E_VALUE_EMPTY, "VpcId");
    if ((rc = res_check_name(name, NAME_MAX_BYTES, "SubnetName", e)) != API_E_OK)
        return rc;
    if (!cidr || !*cidr)
        return apierr_set(e, API_E_VALUE_EMPTY, "CidrBlock");
    if (!zone || !*zone)
        return apierr_set(e, API_E_VALUE_EMPTY, "Zone");
    if ((rc = res_check_len(zone, ZONE_MAX_BYTES, "Zone", e)) != API_E_OK ||
        (rc = res_check_len(cdc, ZONE_MAX_BYTES, "CdcId", e)) != API_E_OK)
        return rc;
    if (!id_has_form(vpc_id, "vpc"))
        return apierr_set(e, API_E_VALUE_MALFORMED, "VpcId");
    memset(&ov, 0, sizeof ov);
    if (cidr_parse(cidr, &ov.net, &ov.prefix) != 0)
        return apierr_set(e, API_E_VALUE_MALFORMED, "CidrBlock");
    if ((rc = res_get(c, RES_VPC, vpc_id, &vpc, e)) != API_E_OK)
        return rc;
    if (ov.prefix < 16 || ov.prefix > 28)
        return apierr_setf(e, API_E_SUBNET_RANGE, "%s: the mask must be /16 to /28", cidr);
    if (cidr_parse(vpc.cidr, &vnet, &vprefix) == 0 &&
        (ov.prefix < vprefix || (vprefix && (ov.net >> (32 - vprefix)) != (vnet >> (32 - vprefix)))))
        return apierr_setf(e, API_E_SUBNET_RANGE, "%s is not inside %s (%s)", cidr, vpc_id,
                           vpc.cidr);
    memset(&q, 0, sizeof q);
    q.uin = c->account->uin;
    q.region = c->region;
    q.kind = RES_SUBNET;
    q.vpc_id = vpc_id;
    if ((src = store_resource_query(c->store, &q, on_sibling, &ov, NULL, &se)) != STORE_OK)
        return api_store_failed(c, src, &se, e);
    if (ov.bad)
        return apierr_setf(e, API_E_SUBNET_CONFLICT, "%s overlaps %s", cidr, ov.with);

    if (!(attrs = json_pack("{s:s}", "Zone", zone)) ||
        (cdc && json_object_set_new(attrs, "CdcId", json_string(cdc)) != 0) ||
        !(text = json_dumps(attrs, JSON_COMPACT))) {
        rc = apierr_set(e, API_E_INTERNAL, NULL);
        goto done;
    }
    memset(&r, 0, sizeof r);
    r.kind = RES_SUBNET;
    snprintf(r.vpc_id, sizeof r.vpc_id, "%s", vpc_id);
    snprintf(r.name, sizeof r.name, "%s", name);
    snprintf(r.cidr, sizeof r.cidr, "%s", cidr);
    r.attrs = text;
    if ((rc = res_create(c, &r, "subnet", e)) != API_E_OK)
        goto done;
    o = render_subnet(c, &r, attrs);
    attrs = NULL;
    if (!o || json_object_set_new(out, "Subnet", o) != 0)
        rc = apierr_set(e, API_E_INTERNAL, NULL);
done:
    free(text);
    json_decref(attrs);
    return rc;
}

static const struct res_filter subnet_filters[] = {
    {"subnet-id", "SubnetId", RM_EXACT, 'd'},
    {"vpc-id", "VpcId", RM_EXACT, 'v'},
    {"cidr-block", "CidrBlock", RM_EXACT, 0},
    {"is-default", "IsDefault", RM_BOOL, 0},
    {"is-remote-vpc-snat", "IsRemoteVpcSnat", RM_BOOL, 0},
    {"subnet-name", "SubnetName", RM_EXACT, 0},
    {"zone", "Zone", RM_EXACT, 0},
    {"tag-key", "TagSet.Key", RM_EXACT, 0},
    {"cdc-id", "CdcId", RM_EXACT, 0},
    {"is-cdc-subnet", "IsCdcSubnet", RM_EXACT, 0},
    {"ipv6-cidr-block", "Ipv6CidrBlock", RM_EXACT, 0},
    {"isp-type", "=", RM_EXACT, 0},
    {"address-type", "=", RM_EXACT, 0},
    {NULL, NULL, 0, 0},
};

enum api_err act_describe_subnets(struct actx *c, json_t *out, struct apierr *e)
{
    static const struct res_describe d = {
        .kind = RES_SUBNET,
        .ids_param = "SubnetIds",
        .id_prefix = "subnet",
        .set_key = "SubnetSet",
        .id_field = "SubnetId",
        .filters = subnet_filters,
        .tag_pairs = 1,
        .string_paging = 1,
        .max_filters = 50,
        .max_values = 100,
        .render = render_subnet,
    };
    const struct in_DescribeSubnetsRequest *r = c->in;
    const struct res_describe_in rin = {RES_DESCRIBE_IN(r, SubnetIds),
                                       .offset_s = r->Offset, .limit_s = r->Limit};

    return res_describe(c, &rin, out, &d, e);
}

enum api_err act_delete_subnet(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_DeleteSubnetRequest *r = c->in;

    (void)out;
    return res_delete(c, r->SubnetId, "SubnetId", "subnet", RES_SUBNET, 0, e);
}
