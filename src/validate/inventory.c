/* inventory.c: the inventory file, parsed and checked as a whole.
 *
 * All keys are optional. "Region" defaults to ap-guangzhou. A ClsTopic
 * without Region is in the file's region. An ENI without InstanceId is
 * unattached. Unknown keys are rejected, so a typo cannot silently drop a
 * field. A reference (a subnet's VpcId, an ENI's SubnetId...) must name an
 * entry of the same file or one already imported for the account.
 * Each section's keys are rows of a descriptor table (`sections` below):
 * a new key is a new row. */
#define _GNU_SOURCE /* qsort_r */
#include <ctype.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "validate/inventory.h"
#include "validate/validate.h"

struct parser {
    const char *region;
    struct resource *items;
    size_t n, cap;
    size_t *sorted; /* indexes of items ordered by (kind, region, id), after parsing */
    struct store *st;
    const char *uin;
    char *err;
    size_t errlen;
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static struct resource *add(struct parser *p, enum res_kind kind)
{
    struct resource *r;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct resource *q = realloc(p->items, cap * sizeof *q);
        if (!q)
            return NULL;
        p->items = q;
        p->cap = cap;
    }
    r = &p->items[p->n++];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->created_at = (int64_t)time(NULL); /* shown as CreatedTime by the Describe actions */
    snprintf(r->region, sizeof r->region, "%s", p->region);
    return r;
}

static int cmp_key(const struct resource *a, enum res_kind kind, const char *region, const char *id)
{
    if (a->kind != kind)
        return a->kind < kind ? -1 : 1;
    int c = strcmp(a->region, region);
    return c ? c : strcmp(a->id, id);
}

static int cmp_items(const void *x, const void *y, void *ctx)
{
    const struct parser *p = ctx;
    const struct resource *b = &p->items[*(const size_t *)y];
    return cmp_key(&p->items[*(const size_t *)x], b->kind, b->region, b->id);
}

/* Does (kind, id) exist in this file or in the store? Fills *out if found.
 * Only valid once p->sorted is built. */
static int exists(struct parser *p, enum res_kind kind, const char *id, struct resource *out)
{
    struct serr se;
    struct resource tmp;
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_key(&p->items[p->sorted[mid]], kind, p->region, id);
        if (c == 0) {
            if (out)
                *out = p->items[p->sorted[mid]];
            return 1;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return p->st && store_resource_get(p->st, p->uin, p->region, kind, id, out ? out : &tmp,
                                       &se) == STORE_OK;
}

/* Reads string member `key` of `o` into out[outlen]. required: must be
 * present. prefix: the value must have that id form. */
static int get_str(struct parser *p, json_t *o, const char *where, const char *key, int required,
                   const char *prefix, char *out, size_t outlen)
{
    json_t *v = json_object_get(o, key);
    const char *s;
    if (!v) {
        out[0] = '\0';
        return required ? fail(p, "%s: missing %s", where, key) : 0;
    }
    if (!json_is_string(v))
        return fail(p, "%s: %s must be a string", where, key);
    s = json_string_value(v);
    if (prefix && !id_has_form(s, prefix))
        return fail(p, "%s: %s \"%.80s\" is not %s- followed by 8 of [0-9a-z]", where, key, s,
                    prefix);
    if (strlen(s) >= outlen)
        return fail(p, "%s: %s is too long", where, key);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

/* The references of item r (parsed at `where`) resolve. */
static int check_refs(struct parser *p, const struct resource *r, const char *where)
{
    struct resource subnet;
    if (r->vpc_id[0] && !exists(p, RES_VPC, r->vpc_id, NULL))
        return fail(p, "%s: VpcId %s is not a known VPC", where, r->vpc_id);
    if (r->kind != RES_ENI)
        return 0;
    if (!exists(p, RES_SUBNET, r->subnet_id, &subnet))
        return fail(p, "%s: SubnetId %s is not a known subnet", where, r->subnet_id);
    if (strcmp(subnet.vpc_id, r->vpc_id) != 0)
        return fail(p, "%s: subnet %s is in %s, not in VpcId %s", where, subnet.id,
                    subnet.vpc_id, r->vpc_id);
    return 0;
}

/* ==== the file's vocabulary: one row per key of an entry ==== */

enum fkind {
    F_STR,     /* a string copied into the field; `prefix`: it must have that id form */
    F_UUID,    /* a string that must be a UUID */
    F_ENUM,    /* a string among `choices`; absent = choices[0] */
    F_REGION,  /* a known region id; absent = the file's region (already in the field) */
    F_NATVER,  /* the integer 1 or 2; absent = 1 (an int field) */
    F_BOOL,    /* true or false; absent = false (an int field) */
    F_TOPICS,  /* CKafka topic names: one RES_CKAFKA_TOPIC item each (no field) */
    F_BROKERS, /* a Kafka bootstrap list "host:port,host:port" (may be absent) */
    F_ADDRS,   /* IPv4/IPv6 addresses (the first is primary): comma-separated in the field */
    F_ATTACHED, /* [{VpcId?, Region, CidrBlock}]: "VPCID REGION CIDR" comma-separated */
    F_HOSTDEV, /* a device name (IFNAMSIZ); given, Host defaults to this host's name */
};

struct field {
    const char *key; /* the JSON member */
    enum fkind kind;
    int required;
    const char *prefix;               /* F_STR: the id form, or NULL */
    const char *const *choices;       /* F_ENUM: NULL-terminated, first = default */
    size_t off, size;                 /* the struct resource member */
};

#define FLD(key, kind, req, prefix, member)                                                    \
    {key, kind, req, prefix, NULL, offsetof(struct resource, member),                          \
     sizeof(((struct resource *)0)->member)}
#define FLD_ENUM(key, choices, member)                                                         \
    {key, F_ENUM, 0, NULL, choices, offsetof(struct resource, member),                         \
     sizeof(((struct resource *)0)->member)}
#define FLD_END {NULL, 0, 0, NULL, NULL, 0, 0}

static const char *const ckafka_editions[] = {"profession", "standard", NULL};

/* The first row of each section is its id. Within an entry, the string
 * members are read in row order, then the other checks run in row order. */
static const struct field vpc_fields[] = {
    FLD("VpcId", F_STR, 1, "vpc", id),
    FLD("VpcName", F_STR, 0, NULL, name),
    FLD("CidrBlock", F_STR, 0, NULL, cidr),
    FLD_END,
};
static const struct field subnet_fields[] = {
    FLD("SubnetId", F_STR, 1, "subnet", id),
    FLD("VpcId", F_STR, 1, "vpc", vpc_id),
    FLD("CidrBlock", F_STR, 0, NULL, cidr),
    FLD("SubnetName", F_STR, 0, NULL, name),
    FLD_END,
};
static const struct field instance_fields[] = {
    FLD("InstanceId", F_STR, 1, "ins", id),
    FLD("InstanceType", F_STR, 0, NULL, instance_type),
    FLD_END,
};
static const struct field eni_fields[] = {
    FLD("NetworkInterfaceId", F_STR, 1, "eni", id),
    FLD("VpcId", F_STR, 1, "vpc", vpc_id),
    FLD("SubnetId", F_STR, 1, "subnet", subnet_id),
    FLD("InstanceId", F_STR, 0, "ins", instance_id),
    FLD("NetworkInterfaceName", F_STR, 0, NULL, name),
    FLD("PrivateIpAddresses", F_ADDRS, 0, NULL, addrs),
    FLD("Host", F_STR, 0, NULL, host),
    FLD("HostDevice", F_HOSTDEV, 0, NULL, host_device),
    FLD("HostNetns", F_STR, 0, NULL, host_netns),
    FLD_END,
};
static const struct field ccn_fields[] = {
    FLD("CcnId", F_STR, 1, "ccn", id),
    FLD("CcnName", F_STR, 0, NULL, name),
    FLD("AttachedVpcs", F_ATTACHED, 0, NULL, addrs),
    FLD("Host", F_STR, 0, NULL, host),
    FLD("HostDevice", F_HOSTDEV, 0, NULL, host_device),
    FLD("HostNetns", F_STR, 0, NULL, host_netns),
    FLD_END,
};
static const struct field nat_fields[] = {
    FLD("NatGatewayId", F_STR, 1, "nat", id),
    FLD("VpcId", F_STR, 1, "vpc", vpc_id),
    FLD("NatGatewayName", F_STR, 0, NULL, name),
    FLD("NatProductVersion", F_NATVER, 0, NULL, nat_version),
    FLD("HasDnatRule", F_BOOL, 0, NULL, has_dnat),
    FLD("Host", F_STR, 0, NULL, host),
    FLD("HostDevice", F_HOSTDEV, 0, NULL, host_device),
    FLD("HostNetns", F_STR, 0, NULL, host_netns),
    FLD_END,
};
static const struct field dcg_fields[] = {
    FLD("DirectConnectGatewayId", F_STR, 1, "dcg", id),
    FLD("VpcId", F_STR, 1, "vpc", vpc_id),
    FLD("DirectConnectGatewayName", F_STR, 0, NULL, name),
    FLD("Host", F_STR, 0, NULL, host),
    FLD("HostDevice", F_HOSTDEV, 0, NULL, host_device),
    FLD("HostNetns", F_STR, 0, NULL, host_netns),
    FLD_END,
};
static const struct field cls_fields[] = {
    FLD("TopicId", F_UUID, 1, NULL, id),
    FLD("TopicName", F_STR, 0, NULL, name),
    FLD("Region", F_REGION, 0, NULL, region),
    FLD_END,
};
static const struct field ckafka_fields[] = {
    FLD("InstanceId", F_STR, 1, "ckafka", id),
    FLD_ENUM("Edition", ckafka_editions, edition),
    FLD("InstanceName", F_STR, 0, NULL, name),
    FLD("Brokers", F_BROKERS, 0, NULL, brokers),
    {"Topics", F_TOPICS, 0, NULL, NULL, 0, 0},
    FLD_END,
};

static const struct section {
    const char *key; /* the file's list */
    enum res_kind kind;
    const struct field *fields;
} sections[] = {
    {"Vpcs", RES_VPC, vpc_fields},
    {"Subnets", RES_SUBNET, subnet_fields},
    {"Instances", RES_INSTANCE, instance_fields},
    {"NetworkInterfaces", RES_ENI, eni_fields},
    {"Ccns", RES_CCN, ccn_fields},
    {"NatGateways", RES_NAT, nat_fields},
    {"DirectConnectGateways", RES_DCG, dcg_fields},
    {"ClsTopics", RES_CLS_TOPIC, cls_fields},
    {"CkafkaInstances", RES_CKAFKA, ckafka_fields},
};
#define NSECTIONS (sizeof sections / sizeof sections[0])

static int is_string_kind(enum fkind k)
{
    return k == F_STR || k == F_UUID || k == F_ENUM || k == F_HOSTDEV ||
           k == F_BROKERS;
}

/* A network device's name as the kernel takes it: 1 to 15 bytes, not "."
 * or "..", no '/', ':' or white space. */
static int ifname_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (; *s; s++)
        if (*s == '/' || *s == ':' || (unsigned char)*s <= ' ' || *s == 0x7f)
            return 0;
    return 1;
}

/* A host name: letters, digits, '-', '_' and '.' (what `hostname` prints). */
static int hostname_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

int inventory_check_binding(const char *host, const char *device, const char *netns, char *err,
                            size_t errlen)
{
    if (!ifname_ok(device)) {
        snprintf(err, errlen, "HostDevice \"%.40s\" is not a device name (1 to 15 bytes, no "
                 "'/', ':' or space)", device);
        return -1;
    }
    if (!hostname_ok(host)) {
        snprintf(err, errlen, "Host \"%.80s\" is not a host name", host);
        return -1;
    }
    for (const char *p = netns ? netns : ""; *p; p++)
        if ((unsigned char)*p < ' ') {
            snprintf(err, errlen, "HostNetns has a control character");
            return -1;
        }
    return 0;
}

void inventory_local_host(char *out, size_t cap)
{
    char h[256];
    if (gethostname(h, sizeof h) != 0 || !h[0])
        snprintf(h, sizeof h, "localhost");
    h[sizeof h - 1] = '\0';
    snprintf(out, cap, "%s", h);
}

/* One item per topic name of CKafka instance `id`, after the instance. */
static int add_topics(struct parser *p, json_t *topics, const char *where, const char *instance)
{
    json_t *t;
    size_t i;
    char id[sizeof p->items->id];
    snprintf(id, sizeof id, "%s", instance); /* add() may move the items */
    if (topics && !json_is_array(topics))
        return fail(p, "%s: Topics must be a list of strings", where);
    json_array_foreach(topics, i, t) {
        struct resource *tr;
        const char *name = json_string_value(t);
        if (!json_is_string(t) || !*name || strlen(name) > 128 || strchr(name, '/'))
            return fail(p, "%s: Topics[%zu] must be a topic name of 1 to 128 bytes", where, i);
        if (!(tr = add(p, RES_CKAFKA_TOPIC)))
            return fail(p, "out of memory");
        /* id has the ckafka- form (16 bytes) and name at most 128 bytes: both fit */
        if (snprintf(tr->id, sizeof tr->id, "%s/%s", id, name) >= (int)sizeof tr->id ||
            snprintf(tr->instance_id, sizeof tr->instance_id, "%s", id) >=
                (int)sizeof tr->instance_id)
            return fail(p, "%s: Topics[%zu] is too long", where, i);
        snprintf(tr->name, sizeof tr->name, "%s", name);
    }
    return 0;
}

/* Is s a Kafka bootstrap list: host:port[,host:port...], host a name or
 * IPv4 address ([A-Za-z0-9.-]) or an [IPv6] address, port 1..65535? */
static int brokers_ok(const char *s)
{
    for (;;) {
        const char *h = s;
        if (*s == '[') {
            while (*++s && (isxdigit((unsigned char)*s) || *s == ':' || *s == '.'))
                ;
            if (*s != ']' || s == h + 1)
                return 0;
            s++;
        } else {
            while (isalnum((unsigned char)*s) || *s == '.' || *s == '-' || *s == '_')
                s++;
            if (s == h)
                return 0;
        }
        if (*s++ != ':')
            return 0;
        unsigned long port = 0;
        const char *d = s;
        while (isdigit((unsigned char)*s) && s - d < 6)
            port = port * 10 + (unsigned long)(*s++ - '0');
        if (s == d || port < 1 || port > 65535)
            return 0;
        if (*s == '\0')
            return 1;
        if (*s++ != ',')
            return 0;
    }
}

/* Appends `s` to the comma-separated list in dst[cap]. 0, or -1 if full. */
static int list_add(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(dst), k = strlen(s);
    if (n + (n ? 1 : 0) + k >= cap)
        return -1;
    if (n)
        dst[n++] = ',';
    memcpy(dst + n, s, k + 1);
    return 0;
}

/* An IPv4 or IPv6 address, written back in its canonical text. 0 or -1. */
static int addr_canon(const char *s, char out[INET6_ADDRSTRLEN])
{
    unsigned char a[16];
    if (inet_pton(AF_INET, s, a) == 1)
        return inet_ntop(AF_INET, a, out, INET6_ADDRSTRLEN) ? 0 : -1;
    if (inet_pton(AF_INET6, s, a) == 1)
        return inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN) ? 0 : -1;
    return -1;
}

/* "ADDR/BITS", IPv4 or IPv6, canonical, host bits allowed. 0 or -1. */
static int cidr_canon(const char *s, char *out, size_t cap)
{
    char a[INET6_ADDRSTRLEN + 8], c[INET6_ADDRSTRLEN], *slash, *end;
    if (strlen(s) >= sizeof a)
        return -1;
    memcpy(a, s, strlen(s) + 1);
    if (!(slash = strchr(a, '/')))
        return -1;
    *slash = '\0';
    unsigned long bits = strtoul(slash + 1, &end, 10);
    if (end == slash + 1 || *end || addr_canon(a, c) != 0 ||
        bits > (strchr(c, ':') ? 128u : 32u))
        return -1;
    return snprintf(out, cap, "%s/%lu", c, bits) < (int)cap ? 0 : -1;
}

/* PrivateIpAddresses: a list of addresses, no duplicates, the first primary. */
static int field_addrs(struct parser *p, json_t *v, const char *where, const struct field *f,
                       char *dst)
{
    json_t *a;
    size_t i;
    dst[0] = '\0';
    if (!v)
        return 0;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return fail(p, "%s: %s must be a non-empty list of IP addresses", where, f->key);
    json_array_foreach(v, i, a) {
        char c[INET6_ADDRSTRLEN];
        if (!json_is_string(a) || addr_canon(json_string_value(a), c) != 0)
            return fail(p, "%s: %s[%zu] is not an IPv4 or IPv6 address", where, f->key, i);
        for (size_t j = 0; j < i; j++) {
            char d[INET6_ADDRSTRLEN];
            if (addr_canon(json_string_value(json_array_get(v, j)), d) == 0 && strcmp(c, d) == 0)
                return fail(p, "%s: %s[%zu] %s appears twice", where, f->key, i, c);
        }
        if (list_add(dst, f->size, c) != 0)
            return fail(p, "%s: %s: too many addresses", where, f->key);
    }
    return 0;
}

/* AttachedVpcs: [{"VpcId": optional, "Region": a known region, "CidrBlock"}]. */
static int field_attached(struct parser *p, json_t *v, const char *where, const struct field *f,
                          char *dst)
{
    json_t *o;
    size_t i;
    dst[0] = '\0';
    if (!v)
        return 0;
    if (!json_is_array(v))
        return fail(p, "%s: %s must be a list of {VpcId, Region, CidrBlock}", where, f->key);
    json_array_foreach(v, i, o) {
        const char *k, *vpc, *reg, *cidr;
        json_t *m;
        char c[INET6_ADDRSTRLEN + 8], item[256];
        if (!json_is_object(o))
            return fail(p, "%s: %s[%zu] must be an object", where, f->key, i);
        json_object_foreach(o, k, m) {
            if (strcmp(k, "VpcId") && strcmp(k, "Region") && strcmp(k, "CidrBlock"))
                return fail(p, "%s: %s[%zu]: unknown key \"%s\"", where, f->key, i, k);
        }
        vpc = json_string_value(json_object_get(o, "VpcId"));
        reg = json_string_value(json_object_get(o, "Region"));
        cidr = json_string_value(json_object_get(o, "CidrBlock"));
        if (json_object_get(o, "VpcId") && (!vpc || !id_has_form(vpc, "vpc")))
            return fail(p, "%s: %s[%zu].VpcId is not vpc- followed by 8 of [0-9a-z]", where,
                        f->key, i);
        if (!reg || !region_known(reg))
            return fail(p, "%s: %s[%zu].Region must be a known region id", where, f->key, i);
        if (!cidr || cidr_canon(cidr, c, sizeof c) != 0)
            return fail(p, "%s: %s[%zu].CidrBlock must be an IPv4 or IPv6 CIDR block", where,
                        f->key, i);
        snprintf(item, sizeof item, "%s %s %s", vpc ? vpc : "-", reg, c);
        if (list_add(dst, f->size, item) != 0)
            return fail(p, "%s: %s: too many entries", where, f->key);
    }
    return 0;
}

/* The checks of row f beyond reading its string, on item r. */
static int field_check(struct parser *p, json_t *o, const char *where, const struct field *f,
                       struct resource *r)
{
    char *s = (char *)r + f->off;
    int *iv = (int *)(void *)((char *)r + f->off);
    json_t *v = json_object_get(o, f->key);
    switch (f->kind) {
    case F_STR:
        return 0;
    case F_UUID:
        return is_uuid(s) ? 0 : fail(p, "%s: %s \"%s\" is not a UUID", where, f->key, s);
    case F_ENUM:
        if (!s[0])
            snprintf(s, f->size, "%s", f->choices[0]);
        if (str_in(s, f->choices))
            return 0;
        {
            char list[128] = "";
            size_t n = 0;
            for (size_t c = 0; f->choices[c] && n < sizeof list; c++) {
                int k = snprintf(list + n, sizeof list - n, "%s%s",
                                 c == 0 ? "" : f->choices[c + 1] ? ", " : " or ", f->choices[c]);
                n = k < 0 ? sizeof list : n + (size_t)k;
            }
            return fail(p, "%s: %s must be %s", where, f->key, list);
        }
    case F_REGION:
        if (!v)
            return 0;
        if (get_str(p, o, where, f->key, 0, NULL, s, f->size))
            return -1;
        return region_known(s) ? 0
                               : fail(p, "%s: %s \"%s\" is not a known region", where, f->key, s);
    case F_NATVER:
        *iv = 1;
        if (!v)
            return 0;
        if (!json_is_integer(v) || (json_integer_value(v) != 1 && json_integer_value(v) != 2))
            return fail(p, "%s: %s must be 1 or 2", where, f->key);
        *iv = (int)json_integer_value(v);
        return 0;
    case F_BOOL:
        if (v && !json_is_boolean(v))
            return fail(p, "%s: %s must be true or false", where, f->key);
        *iv = json_is_true(v);
        return 0;
    case F_TOPICS:
        return add_topics(p, v, where, r->id);
    case F_BROKERS:
        return !s[0] || brokers_ok(s)
                   ? 0
                   : fail(p, "%s: %s \"%s\" must be a list of host:port separated by commas "
                             "(a host name, an IPv4 address or [IPv6]; port 1 to 65535)",
                          where, f->key, s);
    case F_ADDRS:
        return field_addrs(p, v, where, f, s);
    case F_ATTACHED:
        return field_attached(p, v, where, f, s);
    case F_HOSTDEV: {
        char why[160];
        if (!s[0]) {
            if (r->host[0] || r->host_netns[0])
                return fail(p, "%s: Host and HostNetns need a HostDevice", where);
            return 0;
        }
        if (!r->host[0])
            inventory_local_host(r->host, sizeof r->host);
        if (inventory_check_binding(r->host, s, r->host_netns, why, sizeof why) != 0)
            return fail(p, "%s: %s", where, why);
        return 0;
    }
    }
    return 0;
}

/* Parses one entry of section s into a new item (and its topics). */
static int entry(struct parser *p, const struct section *s, json_t *o, const char *where)
{
    const struct field *f;
    const char *k;
    json_t *v;
    struct resource *r = add(p, s->kind);
    size_t at = p->n - 1; /* F_TOPICS may move p->items */
    if (!r)
        return fail(p, "out of memory");
    json_object_foreach(o, k, v) {
        for (f = s->fields; f->key && strcmp(f->key, k) != 0; f++)
            ;
        if (!f->key)
            return fail(p, "%s: unknown key \"%s\"", where, k);
    }
    for (f = s->fields; f->key; f++)
        if (is_string_kind(f->kind) &&
            get_str(p, o, where, f->key, f->required, f->prefix, (char *)r + f->off, f->size))
            return -1;
    for (f = s->fields; f->key; f++)
        if (field_check(p, o, where, f, &p->items[at]))
            return -1;
    return 0;
}

int inventory_parse(const char *text, size_t len, struct store *st, const char *uin,
                    struct resource **items, size_t *n, char *err, size_t errlen)
{
    struct parser p = {.region = "ap-guangzhou", .st = st, .uin = uin, .err = err, .errlen = errlen};
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *reg;
    const char *k;
    json_t *v;
    int rc = -1;

    *items = NULL;
    *n = 0;
    if (!root) {
        fail(&p, "not valid JSON at line %d column %d: %s", je.line, je.column, je.text);
        goto done;
    }
    if (!json_is_object(root)) {
        fail(&p, "the file must hold one JSON object");
        goto done;
    }
    json_object_foreach(root, k, v) {
        int known = strcmp(k, "Region") == 0;
        for (size_t s = 0; s < NSECTIONS; s++)
            known |= strcmp(k, sections[s].key) == 0;
        if (!known) {
            fail(&p, "unknown key \"%s\"", k);
            goto done;
        }
    }
    if ((reg = json_object_get(root, "Region"))) {
        if (!json_is_string(reg) || !region_known(json_string_value(reg))) {
            fail(&p, "Region must be a known region id such as ap-guangzhou");
            goto done;
        }
        p.region = json_string_value(reg);
    }
    /* pass 1: every entry on its own; pass 2: duplicates and references,
     * walking the file again so a message can name the entry */
    for (int pass = 1; pass <= 2; pass++) {
        size_t item = 0;
        if (pass == 2) {
            if (p.n && !(p.sorted = malloc(p.n * sizeof *p.sorted))) {
                fail(&p, "out of memory");
                goto done;
            }
            for (size_t i = 0; i < p.n; i++)
                p.sorted[i] = i;
            if (p.n) /* p.sorted is NULL for an empty file; qsort's base must not be */
                qsort_r(p.sorted, p.n, sizeof *p.sorted, cmp_items, &p);
            for (size_t i = 1; i < p.n; i++)
                if (cmp_items(&p.sorted[i - 1], &p.sorted[i], &p) == 0) {
                    fail(&p, "%s appears twice", p.items[p.sorted[i]].id);
                    goto done;
                }
        }
        for (size_t s = 0; s < NSECTIONS; s++) {
            json_t *list = json_object_get(root, sections[s].key), *o;
            size_t i;
            if (list && !json_is_array(list)) {
                fail(&p, "%s must be a list", sections[s].key);
                goto done;
            }
            json_array_foreach(list, i, o) {
                char where[160];
                const char *id = json_string_value(json_object_get(o, sections[s].fields[0].key));
                snprintf(where, sizeof where, "%s[%zu]%s%.40s%s", sections[s].key, i,
                         id ? " (" : "", id ? id : "", id ? ")" : "");
                if (pass == 1 && !json_is_object(o)) {
                    fail(&p, "%s: must be an object", where);
                    goto done;
                }
                if (pass == 1 && entry(&p, &sections[s], o, where) != 0)
                    goto done;
                if (pass == 2 && check_refs(&p, &p.items[item], where) != 0)
                    goto done;
                /* a CKafka entry is followed by one item per topic */
                item++;
                while (pass == 2 && item < p.n && p.items[item].kind == RES_CKAFKA_TOPIC)
                    item++;
            }
        }
    }
    rc = 0;
done:
    json_decref(root);
    free(p.sorted);
    if (rc == 0) {
        *items = p.items;
        *n = p.n;
    } else {
        free(p.items);
    }
    return rc;
}
