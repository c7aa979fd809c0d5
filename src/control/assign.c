/* assign.c: see assign.h. */
#include "control/assign.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"
#include "validate/validate.h"

void assign_snap_init(struct assign_snap *s)
{
    memset(s, 0, sizeof *s);
}

void assign_snap_free(struct assign_snap *s)
{
    free(s->res);
    free(s->fl);
    free(s->brokers);
    memset(s, 0, sizeof *s);
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, c * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = c;
    return 0;
}

static void on_res(void *ud, const struct account *a, const struct resource *r)
{
    struct assign_snap *s = ud;
    if (grow((void **)&s->res, &s->capres, s->nres, sizeof *s->res) != 0) {
        s->oom = 1;
        return;
    }
    s->res[s->nres].acct = *a;
    s->res[s->nres].r = *r;
    s->res[s->nres].r.attrs = NULL;
    s->nres++;
}

static void on_fl(void *ud, const struct flowlog *fl)
{
    struct assign_snap *s = ud;
    if (grow((void **)&s->fl, &s->capfl, s->nfl, sizeof *s->fl) != 0) {
        s->oom = 1;
        return;
    }
    s->fl[s->nfl] = *fl;
    s->fl[s->nfl].tags = NULL;
    s->fl[s->nfl].ntags = 0;
    s->nfl++;
}

struct host_sink assign_snap_sink(struct assign_snap *s)
{
    return (struct host_sink){s, on_res, on_fl};
}

int assign_covers(const struct flowlog *fl, const char *uin, const struct resource *r)
{
    const char *id = fl->resource_id;
    if (!fl->enable || strcmp(fl->uin, uin) != 0)
        return 0;
    if (fl->resource_kind == RES_CCN) /* a CCN is global: its flow log's region is where it is read */
        return r->kind == RES_CCN && strcmp(r->id, id) == 0;
    if (strcmp(fl->region, r->region) != 0)
        return 0;
    switch (fl->resource_kind) {
    case RES_ENI:
        return r->kind == RES_ENI && strcmp(r->id, id) == 0;
    case RES_SUBNET:
        return r->kind == RES_ENI && strcmp(r->subnet_id, id) == 0;
    case RES_VPC:
        return r->kind == RES_ENI && strcmp(r->vpc_id, id) == 0;
    case RES_NAT:
        return r->kind == RES_NAT && strcmp(r->id, id) == 0;
    case RES_DCG:
        return r->kind == RES_DCG && strcmp(r->id, id) == 0;
    default:
        return 0;
    }
}

const char *assign_format(const struct flowlog *fl, char *fields, size_t cap)
{
    int ccn = fl->resource_kind == RES_CCN, own = 0;
    const struct flow_format *f = ccn ? &flow_format_ccn : &flow_format_eni;
    struct flow_format set;
    char err[128];
    size_t n = 0;
    /* the admin's record format (`flowlogd flowlog format`), checked when set */
    if (fl->record_format[0] && flow_format_parse(&set, fl->record_format, err, sizeof err) == 0) {
        f = &set;
        own = 1;
    }
    fields[0] = '\0';
    for (unsigned i = 0; i < f->n && n < cap; i++) {
        int k = snprintf(fields + n, cap - n, "%s%s", i ? " " : "",
                         flow_field_name((enum flow_field)f->field[i]));
        n = k < 0 ? cap : n + (size_t)k;
    }
    return own ? "fields" : ccn ? "ccn" : "default";
}

static const char *kind_name(enum res_kind k)
{
    switch (k) {
    case RES_ENI:
        return "eni";
    case RES_NAT:
        return "nat";
    case RES_DCG:
        return "dcg";
    case RES_CCN:
        return "ccn";
    default:
        return "other";
    }
}

/* An ENI's addresses (struct resource.addrs: "a,b,..."), for the drops of
 * traffic towards it that never reach its device; [] for the others. */
static json_t *addresses(const struct resource *r)
{
    json_t *arr = json_array();
    char buf[sizeof r->addrs], *save = NULL;
    if (!arr || r->kind != RES_ENI)
        return arr;
    snprintf(buf, sizeof buf, "%s", r->addrs);
    for (char *a = strtok_r(buf, ",", &save); a; a = strtok_r(NULL, ",", &save))
        if (*a && json_array_append_new(arr, json_string(a)) != 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

/* A CCN's attached VPCs ("VPCID REGION CIDR,..."): [{"Region","CidrBlock"}],
 * what its records' srcregionid/dstregionid come from; [] for the others. */
static json_t *attached_vpcs(const struct resource *r)
{
    json_t *arr = json_array();
    char buf[sizeof r->addrs], *save = NULL;
    if (!arr || r->kind != RES_CCN)
        return arr;
    snprintf(buf, sizeof buf, "%s", r->addrs);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char vpc[64], region[64], cidr[96];
        if (sscanf(t, "%63s %63s %95s", vpc, region, cidr) != 3)
            continue;
        if (json_array_append_new(arr, json_pack("{s:s,s:s}", "Region", region, "CidrBlock",
                                                 cidr)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* appends o to arr; 0, or -1 (o released) */
static int add(json_t *arr, json_t *o)
{
    return o && json_array_append_new(arr, o) == 0 ? 0 : -1;
}

static json_t *flowlog_json(const struct flowlog *fl, const struct account *a, json_t *ids,
                            const char *brokers)
{
    char fields[512], appid[24];
    const char *format = assign_format(fl, fields, sizeof fields);
    const struct resource_type *rt = resource_type_of(fl->resource_kind);
    snprintf(appid, sizeof appid, "%llu", (unsigned long long)a->app_id);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:o}",
                     "FlowLogId", fl->id, "Uin", fl->uin, "AppId", appid, "Region", fl->region,
                     "ResourceType", rt ? rt->type : "", "ResourceId", fl->resource_id,
                     "TrafficType", fl->traffic_type, "StorageType", fl->storage_type,
                     "CloudLogId", fl->cloud_log_id, "CloudLogRegion", fl->cloud_log_region,
                     "StorageId", fl->storage_id, "StorageTopic", fl->storage_topic,
                     "Brokers", brokers, "Period", (json_int_t)fl->period, "Format", format,
                     "Fields", fields, "Resources", ids);
}

json_t *assign_document(const struct assign_snap *s, const char *host)
{
    json_t *doc = NULL, *devices = json_array(), *fls = json_array();
    unsigned char *used = s->nres ? calloc(s->nres, 1) : NULL;
    char *text = NULL;
    if (!devices || !fls || (s->nres && !used) || s->oom)
        goto fail;
    for (size_t f = 0; f < s->nfl; f++) {
        const struct account *acct = NULL;
        json_t *ids = json_array();
        if (!ids)
            goto fail;
        for (size_t i = 0; i < s->nres; i++)
            if (assign_covers(&s->fl[f], s->res[i].acct.uin, &s->res[i].r)) {
                used[i] = 1;
                acct = &s->res[i].acct;
                if (add(ids, json_string(s->res[i].r.id)) != 0) {
                    json_decref(ids);
                    goto fail;
                }
            }
        if (!acct) {
            json_decref(ids);
            continue;
        }
        if (add(fls, flowlog_json(&s->fl[f], acct, ids, s->brokers ? s->brokers[f] : "")) != 0)
            goto fail;
    }
    for (size_t i = 0; i < s->nres; i++) {
        const struct resource *r = &s->res[i].r;
        if (used[i] &&
            add(devices, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "ResourceId",
                                   r->id, "Kind", kind_name(r->kind), "Region", r->region,
                                   "VpcId", r->vpc_id, "SubnetId", r->subnet_id, "InstanceId",
                                   r->instance_id, "Device", r->host_device, "Netns",
                                   r->host_netns, "Addresses", addresses(r), "AttachedVpcs",
                                   attached_vpcs(r))) != 0)
            goto fail;
    }
    /* the generation: a digest of what the agent acts on */
    {
        json_t *both = json_pack("[O,O]", devices, fls);
        unsigned char md[SHA256_DIGEST_LENGTH];
        char hex[2 * SHA256_DIGEST_LENGTH + 1];
        text = both ? json_dumps(both, JSON_COMPACT) : NULL;
        json_decref(both);
        if (!text)
            goto fail;
        SHA256((const unsigned char *)text, strlen(text), md);
        for (size_t i = 0; i < sizeof md; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        doc = json_pack("{s:s,s:s,s:o,s:o}", "Host", host, "Generation", hex, "Devices", devices,
                        "FlowLogs", fls);
        devices = fls = NULL; /* taken by json_pack, even when it fails */
    }
fail:
    json_decref(devices);
    json_decref(fls);
    free(used);
    free(text);
    return doc;
}
