/* inventory.c: the inventory file, parsed and checked as a whole.
 *
 * All keys are optional. "Region" defaults to ap-guangzhou. A ClsTopic
 * without Region is in the file's region. An ENI without InstanceId is
 * unattached. Unknown keys are rejected, so a typo cannot silently drop a
 * field. A reference (a subnet's VpcId, an ENI's SubnetId...) must name an
 * entry of the same file or one already imported for the account. */
#define _GNU_SOURCE /* qsort_r */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "cli/cli.h"
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

/* Checks that every key of `o` is in the NULL-terminated `allowed`. */
static int keys_ok(struct parser *p, json_t *o, const char *where, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (!str_in(k, allowed))
            return fail(p, "%s: unknown key \"%s\"", where, k);
    }
    return 0;
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

typedef int (*entry_fn)(struct parser *p, json_t *o, const char *where);

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

static int entry_vpc(struct parser *p, json_t *o, const char *where)
{
    static const char *const keys[] = {"VpcId", "VpcName", "CidrBlock", NULL};
    struct resource *r = add(p, RES_VPC);
    if (!r)
        return fail(p, "out of memory");
    if (keys_ok(p, o, where, keys) || get_str(p, o, where, "VpcId", 1, "vpc", r->id, sizeof r->id) ||
        get_str(p, o, where, "VpcName", 0, NULL, r->name, sizeof r->name) ||
        get_str(p, o, where, "CidrBlock", 0, NULL, r->cidr, sizeof r->cidr))
        return -1;
    return 0;
}

static int entry_subnet(struct parser *p, json_t *o, const char *where)
{
    static const char *const keys[] = {"SubnetId", "VpcId", "CidrBlock", "SubnetName", NULL};
    struct resource *r = add(p, RES_SUBNET);
    if (!r)
        return fail(p, "out of memory");
    if (keys_ok(p, o, where, keys) ||
        get_str(p, o, where, "SubnetId", 1, "subnet", r->id, sizeof r->id) ||
        get_str(p, o, where, "VpcId", 1, "vpc", r->vpc_id, sizeof r->vpc_id) ||
        get_str(p, o, where, "CidrBlock", 0, NULL, r->cidr, sizeof r->cidr) ||
        get_str(p, o, where, "SubnetName", 0, NULL, r->name, sizeof r->name))
        return -1;
    return 0;
}

static int entry_instance(struct parser *p, json_t *o, const char *where)
{
    static const char *const keys[] = {"InstanceId", "InstanceType", NULL};
    struct resource *r = add(p, RES_INSTANCE);
    if (!r)
        return fail(p, "out of memory");
    if (keys_ok(p, o, where, keys) ||
        get_str(p, o, where, "InstanceId", 1, "ins", r->id, sizeof r->id) ||
        get_str(p, o, where, "InstanceType", 0, NULL, r->instance_type, sizeof r->instance_type))
        return -1;
    return 0;
}

static int entry_eni(struct parser *p, json_t *o, const char *where)
{
    static const char *const keys[] = {"NetworkInterfaceId", "VpcId", "SubnetId", "InstanceId",
                                       "NetworkInterfaceName", NULL};
    struct resource *r = add(p, RES_ENI);
    if (!r)
        return fail(p, "out of memory");
    if (keys_ok(p, o, where, keys) ||
        get_str(p, o, where, "NetworkInterfaceId", 1, "eni", r->id, sizeof r->id) ||
        get_str(p, o, where, "VpcId", 1, "vpc", r->vpc_id, sizeof r->vpc_id) ||
        get_str(p, o, where, "SubnetId", 1, "subnet", r->subnet_id, sizeof r->subnet_id) ||
        get_str(p, o, where, "InstanceId", 0, "ins", r->instance_id, sizeof r->instance_id) ||
        get_str(p, o, where, "NetworkInterfaceName", 0, NULL, r->name, sizeof r->name))
        return -1;
    return 0;
}

static int entry_ccn(struct parser *p, json_t *o, const char *where)
{
    static const char *const keys[] = {"CcnId", "CcnName", NULL};
    struct resource *r = add(p, RES_CCN);
    if (!r)
        return fail(p, "out of memory");
    if (keys_ok(p, o, where, keys) || get_str(p, o, where, "CcnId", 1, "ccn", r->id, sizeof r->id) ||
        get_str(p, o, where, "CcnName", 0, NULL, r->name, sizeof r->name))
        return -1;
    return 0;
}

static int entry_nat(struct parser *p, json_t *o, const char *where)
{
    static const char *const keys[] = {"NatGatewayId", "VpcId", "NatProductVersion",
                                       "HasDnatRule", "NatGatewayName", NULL};
    struct resource *r = add(p, RES_NAT);
    json_t *ver, *dnat;
    if (!r)
        return fail(p, "out of memory");
    if (keys_ok(p, o, where, keys) ||
        get_str(p, o, where, "NatGatewayId", 1, "nat", r->id, sizeof r->id) ||
        get_str(p, o, where, "VpcId", 1, "vpc", r->vpc_id, sizeof r->vpc_id) ||
        get_str(p, o, where, "NatGatewayName", 0, NULL, r->name, sizeof r->name))
        return -1;
    ver = json_object_get(o, "NatProductVersion");
    dnat = json_object_get(o, "HasDnatRule");
    r->nat_version = 1;
    if (ver) {
        if (!json_is_integer(ver) || (json_integer_value(ver) != 1 && json_integer_value(ver) != 2))
            return fail(p, "%s: NatProductVersion must be 1 or 2", where);
        r->nat_version = (int)json_integer_value(ver);
    }
    if (dnat && !json_is_boolean(dnat))
        return fail(p, "%s: HasDnatRule must be true or false", where);
    r->has_dnat = json_is_true(dnat);
    return 0;
}

static int entry_dcg(struct parser *p, json_t *o, const char *where)
{
    static const char *const keys[] = {"DirectConnectGatewayId", "VpcId",
                                       "DirectConnectGatewayName", NULL};
    struct resource *r = add(p, RES_DCG);
    if (!r)
        return fail(p, "out of memory");
    if (keys_ok(p, o, where, keys) ||
        get_str(p, o, where, "DirectConnectGatewayId", 1, "dcg", r->id, sizeof r->id) ||
        get_str(p, o, where, "VpcId", 1, "vpc", r->vpc_id, sizeof r->vpc_id) ||
        get_str(p, o, where, "DirectConnectGatewayName", 0, NULL, r->name, sizeof r->name))
        return -1;
    return 0;
}

static int entry_cls(struct parser *p, json_t *o, const char *where)
{
    static const char *const keys[] = {"TopicId", "Region", "TopicName", NULL};
    struct resource *r = add(p, RES_CLS_TOPIC);
    if (!r)
        return fail(p, "out of memory");
    if (keys_ok(p, o, where, keys) || get_str(p, o, where, "TopicId", 1, NULL, r->id, sizeof r->id) ||
        get_str(p, o, where, "TopicName", 0, NULL, r->name, sizeof r->name))
        return -1;
    if (!is_uuid(r->id))
        return fail(p, "%s: TopicId \"%s\" is not a UUID", where, r->id);
    if (json_object_get(o, "Region")) {
        if (get_str(p, o, where, "Region", 0, NULL, r->region, sizeof r->region))
            return -1;
        if (!region_known(r->region))
            return fail(p, "%s: Region \"%s\" is not a known region", where, r->region);
    }
    return 0;
}

static int entry_ckafka(struct parser *p, json_t *o, const char *where)
{
    static const char *const keys[] = {"InstanceId", "Edition", "Topics", "InstanceName", NULL};
    static const char *const editions[] = {"profession", "standard", NULL};
    struct resource *r = add(p, RES_CKAFKA);
    json_t *topics, *t;
    size_t i;
    char id[sizeof r->id];
    if (!r)
        return fail(p, "out of memory");
    if (keys_ok(p, o, where, keys) ||
        get_str(p, o, where, "InstanceId", 1, "ckafka", r->id, sizeof r->id) ||
        get_str(p, o, where, "Edition", 0, NULL, r->edition, sizeof r->edition) ||
        get_str(p, o, where, "InstanceName", 0, NULL, r->name, sizeof r->name))
        return -1;
    if (!r->edition[0])
        snprintf(r->edition, sizeof r->edition, "profession");
    if (!str_in(r->edition, editions))
        return fail(p, "%s: Edition must be profession or standard", where);
    memcpy(id, r->id, sizeof id);
    topics = json_object_get(o, "Topics");
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

int inventory_parse(const char *text, size_t len, struct store *st, const char *uin,
                    struct resource **items, size_t *n, char *err, size_t errlen)
{
    static const struct {
        const char *key;
        entry_fn fn;
        const char *idkey;
    } sections[] = {{"Vpcs", entry_vpc, "VpcId"},
                    {"Subnets", entry_subnet, "SubnetId"},
                    {"Instances", entry_instance, "InstanceId"},
                    {"NetworkInterfaces", entry_eni, "NetworkInterfaceId"},
                    {"Ccns", entry_ccn, "CcnId"},
                    {"NatGateways", entry_nat, "NatGatewayId"},
                    {"DirectConnectGateways", entry_dcg, "DirectConnectGatewayId"},
                    {"ClsTopics", entry_cls, "TopicId"},
                    {"CkafkaInstances", entry_ckafka, "InstanceId"}};
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
        for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++)
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
        for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
            json_t *list = json_object_get(root, sections[s].key), *o;
            size_t i;
            if (list && !json_is_array(list)) {
                fail(&p, "%s must be a list", sections[s].key);
                goto done;
            }
            json_array_foreach(list, i, o) {
                char where[160];
                const char *id = json_string_value(json_object_get(o, sections[s].idkey));
                snprintf(where, sizeof where, "%s[%zu]%s%.40s%s", sections[s].key, i,
                         id ? " (" : "", id ? id : "", id ? ")" : "");
                if (pass == 1 && !json_is_object(o)) {
                    fail(&p, "%s: must be an object", where);
                    goto done;
                }
                if (pass == 1 && sections[s].fn(&p, o, where) != 0)
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
