/* eni.c: CreateNetworkInterface, DescribeNetworkInterfaces,
 * DeleteNetworkInterface, AttachNetworkInterface, DetachNetworkInterface
 * and DescribeVpcTaskResult.
 *
 * The real service does the four ENI writes asynchronously; here they are
 * done when the answer is sent, and each records its RequestId as a task
 * with status SUCCESS, which DescribeVpcTaskResult reports.
 *
 * Instances are not created through the API: they come from `flowlogd
 * inventory import`. Attaching to one the account does not have is
 * ResourceNotFound. An ENI is attached to at most one instance; attaching
 * it to the same one again succeeds, to another one is
 * UnsupportedOperation.AttachmentAlreadyExists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/actions/resource_actions.h"
#include "api/schema_extra.h"
#include "base/util.h"
#include "validate/validate.h"

#define NAME_MAX_BYTES 60
#define DESC_MAX_CHARS 60
#define MAX_PRIVATE_IPS 10
#define MAX_GROUPS 100

/* A stable MAC address for an ENI id (20:90:6F is what Tencent uses). */
static void mac_of(const char *id, char out[18])
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    snprintf(out, 18, "20:90:6F:%02X:%02X:%02X", (unsigned)(h >> 16) & 0xff,
             (unsigned)(h >> 8) & 0xff, (unsigned)h & 0xff);
}

static json_t *ip_spec(const char *addr, int primary, const char *desc);

/* PrivateIpAddressSet from the stored addresses (the first is primary):
 * an ENI of the inventory has no display attributes to carry it. */
static json_t *ips_of(const struct resource *r)
{
    json_t *set = json_array();
    char list[sizeof r->addrs], *save = NULL;
    int i = 0;
    if (!set)
        return NULL;
    snprintf(list, sizeof list, "%s", r->addrs);
    for (char *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save), i++)
        if (strchr(a, '.')) /* IPv4 here; IPv6 addresses belong to Ipv6AddressSet */
            json_array_append_new(set, ip_spec(a, i == 0, NULL));
    return set;
}

static json_t *ipv6_of(const struct resource *r)
{
    json_t *set = json_array();
    char list[sizeof r->addrs], *save = NULL;
    if (!set)
        return NULL;
    snprintf(list, sizeof list, "%s", r->addrs);
    for (char *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save))
        if (strchr(a, ':'))
            json_array_append_new(set, json_pack("{s:s, s:b, s:s, s:s, s:s, s:s}", "Address", a,
                                                 "Primary", 0, "AddressId", "", "Description",
                                                 "", "State", "AVAILABLE", "AddressType",
                                                 "ULA"));
    return set;
}

static json_t *render_eni(const struct actx *c, const struct resource *r, json_t *attrs)
{
    char mac[18];
    json_t *o, *att;

    mac_of(r->id, mac);
    if (r->instance_id[0])
        att = json_pack("{s:I, s:s, s:s, s:s}", "DeviceIndex", (json_int_t)1, "InstanceAccountId",
                        c->account->uin, "AttachTime", "", "InstanceId", r->instance_id);
    else
        att = json_null();
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[], s:b, s:s, s:s, s:s, s:o*, s:o, s:s, s:o, "
                  "s:o*, s:[], s:I, s:s, s:s, s:I, s:s, s:s}",
                  "NetworkInterfaceId", r->id, "NetworkInterfaceName", r->name,
                  "NetworkInterfaceDescription", "", "SubnetId", r->subnet_id, "VpcId", r->vpc_id,
                  "GroupSet", "Primary", 0, "MacAddress", mac, "State", "AVAILABLE",
                  "NetworkInterfaceState", "AVAILABLE", "PrivateIpAddressSet", ips_of(r),
                  "Attachment", att, "Zone", "", "CreatedTime", res_time(r->created_at),
                  "Ipv6AddressSet", ipv6_of(r), "TagSet",
                  "EniType", (json_int_t)0, "Business", "cvm", "CdcId", "", "AttachType",
                  (json_int_t)0, "ResourceId", "", "QosLevel", "");
    return res_overlay(o, attrs);
}

/* One PrivateIpAddressSpecification of the output. */
static json_t *ip_spec(const char *addr, int primary, const char *desc)
{
    return json_pack("{s:s, s:b, s:s, s:s, s:s, s:b, s:s, s:s}", "PrivateIpAddress", addr,
                     "Primary", primary, "PublicIpAddress", "", "AddressId", "", "Description",
                     desc ? desc : "", "IsWanIpBlocked", 0, "State", "AVAILABLE", "QosLevel", "");
}

/* Is IPv4 address `addr` (host order) already in set? */
static int ip_in_set(json_t *set, uint32_t addr)
{
    json_t *p;
    size_t i;
    json_array_foreach(set, i, p) {
        uint32_t a;
        const char *s = json_string_value(json_object_get(p, "PrivateIpAddress"));
        if (s && ipv4_parse(s, &a) == 0 && a == addr)
            return 1;
    }
    return 0;
}

/* Draws an address of the subnet net/prefix that set does not hold yet (not
 * the network, gateway or broadcast address) and appends it. */
static enum api_err draw_ip(json_t *set, uint32_t net, int prefix, int primary, struct apierr *e)
{
    uint32_t size = 1u << (32 - prefix), r, addr = 0, k;
    char text[16];
    if (rand_nonsecret(&r, sizeof r) != 0) /* repeatable once seeded */
        return apierr_set(e, API_E_INTERNAL, NULL);
    for (k = 0; k < size - 4; k++) { /* from a random start, the next free one */
        addr = net + 2 + (r + k) % (size - 4);
        if (!ip_in_set(set, addr))
            break;
    }
    if (k == size - 4) /* the subnet has no address left for this ENI */
        return apierr_set(e, API_E_PARAM_VALUE, "SecondaryPrivateIpAddressCount");
    snprintf(text, sizeof text, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255,
             addr & 255);
    if (json_array_append_new(set, ip_spec(text, primary, NULL)) != 0)
        return apierr_set(e, API_E_INTERNAL, NULL);
    return API_E_OK;
}

/* The private addresses: those given (checked: IPv4, inside the subnet when
 * its block is known), else one primary address drawn from the subnet; and
 * `more` (SecondaryPrivateIpAddressCount) more drawn from it, distinct, as
 * the real service does. */
static enum api_err private_ips(const struct in_PrivateIpAddressSpecification *given, size_t n,
                                uint64_t more, const struct resource *subnet, json_t *set,
                                struct apierr *e)
{
    uint32_t net = 0, addr;
    int prefix = -1, have_primary = 0;
    enum api_err rc;
    size_t i;

    if (cidr_parse(subnet->cidr, &net, &prefix) != 0)
        prefix = -1;
    if (n > MAX_PRIVATE_IPS)
        return apierr_set(e, API_E_VALUE_LIMIT, "PrivateIpAddresses");
    if (more > (uint64_t)MAX_PRIVATE_IPS - (n ? n : 1))
        return apierr_set(e, API_E_VALUE_LIMIT, "SecondaryPrivateIpAddressCount");
    for (i = 0; i < n; i++)
        have_primary |= given[i].Primary && *given[i].Primary;
    for (i = 0; i < n; i++) {
        const struct in_PrivateIpAddressSpecification *p = &given[i];
        const char *a = p->PrivateIpAddress;
        if (!a || ipv4_parse(a, &addr) != 0)
            return apierr_setf(e, API_E_VALUE_MALFORMED, "PrivateIpAddresses.%zu.PrivateIpAddress",
                               i);
        if (p->Description && strlen(p->Description) > 255)
            return apierr_setf(e, API_E_VALUE_TOOLONG, "PrivateIpAddresses.%zu.Description", i);
        if (prefix > 0 && (addr >> (32 - prefix)) != (net >> (32 - prefix)))
            return apierr_setf(e, API_E_PARAM_VALUE, "PrivateIpAddresses.%zu.PrivateIpAddress", i);
        if (json_array_append_new(set, ip_spec(a, p->Primary ? *p->Primary
                                                             : (!have_primary && i == 0),
                                               p->Description)) != 0)
            return apierr_set(e, API_E_INTERNAL, NULL);
    }
    if (prefix < 8 || prefix > 29) /* no block known: nothing to draw from */
        return API_E_OK;
    if (n == 0 && (rc = draw_ip(set, net, prefix, 1, e)) != API_E_OK)
        return rc;
    for (uint64_t k = 0; k < more; k++)
        if ((rc = draw_ip(set, net, prefix, 0, e)) != API_E_OK)
            return rc;
    return API_E_OK;
}

enum api_err act_create_network_interface(struct actx *c, json_t *out,
                                          struct apierr *e)
{
    static const char *const qos[] = {"PT", "AU", "AG", "DEFAULT", NULL};
    const struct in_CreateNetworkInterfaceRequest *req = c->in;
    const char *vpc_id = req->VpcId, *subnet_id = req->SubnetId;
    const char *name = req->NetworkInterfaceName;
    const char *desc = in_opt(req->NetworkInterfaceDescription);
    const char *qos_level = in_opt(req->QosLevel);
    json_t *attrs = NULL, *sattrs = NULL, *ips = NULL, *groups = NULL, *o, *v;
    struct resource subnet, r;
    char *text = NULL;
    size_t i;
    long n;
    enum api_err rc;

    if (!vpc_id || !*vpc_id)
        return apierr_set(e, API_E_VALUE_EMPTY, "VpcId");
    if (!subnet_id || !*subnet_id)
        return apierr_set(e, API_E_VALUE_EMPTY, "SubnetId");
    if ((rc = res_check_name(name, NAME_MAX_BYTES, "NetworkInterfaceName", e)) != API_E_OK)
        return rc;
    if (desc && ((n = utf8_count(desc, strlen(desc))) < 0 || n > DESC_MAX_CHARS))
        return apierr_set(e, API_E_VALUE_TOOLONG, "NetworkInterfaceDescription");
    if ((rc = res_check_enum(qos_level, qos, "QosLevel", e)) != API_E_OK)
        return rc;
    if (!id_has_form(vpc_id, "vpc"))
        return apierr_set(e, API_E_VALUE_MALFORMED, "VpcId");
    if (!id_has_form(subnet_id, "subnet"))
        return apierr_set(e, API_E_VALUE_MALFORMED, "SubnetId");
    if (req->SecurityGroupIds.n > MAX_GROUPS)
        return apierr_set(e, API_E_VALUE_LIMIT, "SecurityGroupIds");
    for (i = 0; i < req->SecurityGroupIds.n; i++) {
        if (!id_has_form(req->SecurityGroupIds.v[i], "sg"))
            return apierr_setf(e, API_E_VALUE_MALFORMED, "SecurityGroupIds.%zu", i);
    }
    if ((rc = res_get(c, RES_VPC, vpc_id, &r, e)) != API_E_OK ||
        (rc = res_find(c, RES_SUBNET, subnet_id, &subnet, &sattrs, e)) != API_E_OK)
        return rc;
    if (strcmp(subnet.vpc_id, vpc_id) != 0) {
        rc = apierr_setf(e, API_E_NOT_FOUND, "%s (%s)", subnet_id, vpc_id);
        goto done;
    }
    if (!(attrs = json_object()) || !(ips = json_array())) {
        rc = apierr_set(e, API_E_INTERNAL, NULL);
        goto done;
    }
    if ((rc = private_ips(req->PrivateIpAddresses.v, req->PrivateIpAddresses.n,
                          req->SecondaryPrivateIpAddressCount
                              ? *req->SecondaryPrivateIpAddressCount
                              : 0,
                          &subnet, ips, e)) != API_E_OK)
        goto done;
    json_object_set(attrs, "PrivateIpAddressSet", ips);
    memset(&r, 0, sizeof r);
    json_array_foreach(ips, i, v) { /* the data plane's view: the primary first */
        const char *a = json_string_value(json_object_get(v, "PrivateIpAddress"));
        size_t len = strlen(r.addrs);
        if (!a || len + strlen(a) + 2 > sizeof r.addrs)
            continue; /* at most MAX_PRIVATE_IPS IPv4 addresses: they fit */
        if (json_is_true(json_object_get(v, "Primary"))) {
            memmove(r.addrs + strlen(a) + (len ? 1 : 0), r.addrs, len + 1);
            memcpy(r.addrs, a, strlen(a));
            if (len)
                r.addrs[strlen(a)] = ',';
        } else {
            snprintf(r.addrs + len, sizeof r.addrs - len, "%s%s", len ? "," : "", a);
        }
    }
    if (desc)
        json_object_set_new(attrs, "NetworkInterfaceDescription", json_string(desc));
    if (req->SecurityGroupIds.n) {
        if (!(groups = res_strings(req->SecurityGroupIds.v, req->SecurityGroupIds.n))) {
            rc = apierr_set(e, API_E_INTERNAL, NULL);
            goto done;
        }
        json_object_set(attrs, "GroupSet", groups);
    }
    if (qos_level)
        json_object_set_new(attrs, "QosLevel", json_string(qos_level));
    if (json_is_string(json_object_get(sattrs, "Zone")))
        json_object_set(attrs, "Zone", json_object_get(sattrs, "Zone"));
    if (!(text = json_dumps(attrs, JSON_COMPACT))) {
        rc = apierr_set(e, API_E_INTERNAL, NULL);
        goto done;
    }

    r.kind = RES_ENI;
    snprintf(r.vpc_id, sizeof r.vpc_id, "%s", vpc_id);
    snprintf(r.subnet_id, sizeof r.subnet_id, "%s", subnet_id);
    snprintf(r.name, sizeof r.name, "%s", name);
    r.attrs = text;
    if ((rc = res_create(c, &r, "eni", e)) != API_E_OK ||
        (rc = res_record_task(c, e)) != API_E_OK)
        goto done;
    o = render_eni(c, &r, attrs);
    attrs = NULL;
    if (!o || json_object_set_new(out, "NetworkInterface", o) != 0)
        rc = apierr_set(e, API_E_INTERNAL, NULL);
done:
    free(text);
    json_decref(attrs);
    json_decref(sattrs);
    json_decref(ips);
    json_decref(groups);
    return rc;
}

static const struct res_filter eni_filters[] = {
    {"vpc-id", "VpcId", RM_EXACT, 'v'},
    {"subnet-id", "SubnetId", RM_EXACT, 's'},
    {"network-interface-id", "NetworkInterfaceId", RM_EXACT, 'd'},
    {"attachment.instance-id", "Attachment.InstanceId", RM_EXACT, 'i'},
    {"groups.security-group-id", "GroupSet", RM_EXACT, 0},
    {"network-interface-name", "NetworkInterfaceName", RM_EXACT, 0},
    {"network-interface-description", "NetworkInterfaceDescription", RM_EXACT, 0},
    {"address-ip", "PrivateIpAddressSet.PrivateIpAddress", RM_EXACT, 0},
    {"ip-exact-match", "", RM_ANY, 0},
    {"tag-key", "TagSet.Key", RM_EXACT, 0},
    {"is-primary", "Primary", RM_BOOL, 0},
    {"eni-type", "EniType", RM_EXACT, 0},
    {"eni-qos", "QosLevel", RM_EXACT, 0},
    {"address-ipv6", "Ipv6AddressSet.Address", RM_EXACT, 0},
    {"public-address-ip", "PrivateIpAddressSet.PublicIpAddress", RM_EXACT, 0},
    {"address-type", "Ipv6AddressSet.AddressType", RM_EXACT, 0},
    {"termination-protection", "=false", RM_BOOL, 0},
    {"traffic-protection", "=false", RM_BOOL, 0},
    {NULL, NULL, 0, 0},
};

enum api_err act_describe_network_interfaces(struct actx *c, json_t *out,
                                             struct apierr *e)
{
    static const struct res_describe d = {
        .kind = RES_ENI,
        .ids_param = "NetworkInterfaceIds",
        .id_prefix = "eni",
        .set_key = "NetworkInterfaceSet",
        .id_field = "NetworkInterfaceId",
        .filters = eni_filters,
        .tag_pairs = 1,
        .max_filters = 50,
        .max_values = 100,
        .render = render_eni,
    };
    const struct in_DescribeNetworkInterfacesRequest *r = c->in;
    const struct res_describe_in rin = {RES_DESCRIBE_IN(r, NetworkInterfaceIds),
                                       .offset = r->Offset, .limit = r->Limit};

    return res_describe(c, &rin, out, &d, e);
}

enum api_err act_delete_network_interface(struct actx *c, json_t *out,
                                          struct apierr *e)
{
    const struct in_DeleteNetworkInterfaceRequest *r = c->in;

    (void)out;
    return res_delete(c, r->NetworkInterfaceId, "NetworkInterfaceId", "eni", RES_ENI, 1, e);
}

/* The two ids of Attach/Detach (*eni, *ins: the input's): present and of
 * their forms. */
static enum api_err eni_and_instance(const char **eni, const char **ins, struct apierr *e)
{
    if (!*eni || !**eni)
        return apierr_set(e, API_E_VALUE_EMPTY, "NetworkInterfaceId");
    if (!*ins || !**ins)
        return apierr_set(e, API_E_VALUE_EMPTY, "InstanceId");
    if (!id_has_form(*eni, "eni"))
        return apierr_set(e, API_E_VALUE_MALFORMED, "NetworkInterfaceId");
    if (!id_has_form(*ins, "ins"))
        return apierr_set(e, API_E_VALUE_MALFORMED, "InstanceId");
    return API_E_OK;
}

enum api_err act_attach_network_interface(struct actx *c, json_t *out,
                                          struct apierr *e)
{
    const struct in_AttachNetworkInterfaceRequest *r = c->in;
    const uint64_t *type = r->AttachType;
    const char *eni = r->NetworkInterfaceId, *ins = r->InstanceId;
    struct serr se = {{0}};
    enum api_err rc;
    int src;

    (void)out;
    if ((rc = eni_and_instance(&eni, &ins, e)) != API_E_OK)
        return rc;
    if (type && *type != 0 && *type != 1)
        return apierr_set(e, API_E_VALUE_RANGE, "AttachType");
    src = store_resource_attach(c->store, c->account->uin, c->region, eni, ins, &se);
    if (src == STORE_NOTFOUND)
        return apierr_set(e, API_E_NOT_FOUND, se.msg[0] ? se.msg : eni);
    if (src == STORE_INUSE)
        return apierr_set(e, API_E_ATTACH_EXISTS, se.msg);
    if (src != STORE_OK)
        return api_store_failed(c, src, &se, e);
    return res_record_task(c, e);
}

enum api_err act_detach_network_interface(struct actx *c, json_t *out,
                                          struct apierr *e)
{
    const struct in_DetachNetworkInterfaceRequest *d = c->in;
    const char *eni = d->NetworkInterfaceId, *ins = d->InstanceId;
    struct resource r, instance;
    struct serr se = {{0}};
    enum api_err rc;
    int src;

    (void)out;
    if ((rc = eni_and_instance(&eni, &ins, e)) != API_E_OK ||
        (rc = res_get(c, RES_ENI, eni, &r, e)) != API_E_OK ||
        (rc = res_get(c, RES_INSTANCE, ins, &instance, e)) != API_E_OK)
        return rc;
    if (!r.instance_id[0])
        return apierr_setf(e, API_E_INVALID_STATE, "%s is not attached", eni);
    if (strcmp(r.instance_id, ins) != 0)
        return apierr_setf(e, API_E_INVALID_STATE, "%s is attached to %s, not %s", eni,
                           r.instance_id, ins);
    src = store_resource_attach(c->store, c->account->uin, c->region, eni, NULL, &se);
    if (src == STORE_NOTFOUND)
        return apierr_set(e, API_E_NOT_FOUND, eni);
    if (src == STORE_INUSE)
        return apierr_set(e, API_E_INVALID_STATE, se.msg);
    if (src != STORE_OK)
        return api_store_failed(c, src, &se, e);
    return res_record_task(c, e);
}

enum api_err act_describe_vpc_task_result(struct actx *c, json_t *out,
                                          struct apierr *e)
{
    const struct in_DescribeVpcTaskResultRequest *r = c->in;
    const char *id = r->TaskId;
    struct resource t;
    enum api_err rc;

    if (!id || !*id)
        return apierr_set(e, API_E_VALUE_EMPTY, "TaskId");
    if ((rc = res_get(c, RES_TASK, id, &t, e)) != API_E_OK)
        return rc;
    if (json_object_set_new(out, "Status", json_string(t.name)) != 0 ||
        json_object_set_new(out, "Output", json_string("")) != 0 ||
        json_object_set_new(out, "Result", json_array()) != 0)
        return apierr_set(e, API_E_INTERNAL, NULL);
    return API_E_OK;
}
