/* state.c: the admin API's documents (see state.h): accounts, keys,
 * inventory, reset, the state export and import, and `serve --init`.
 * Knows the store and JSON, not HTTP: the CLI uses it too. */
#include "admin/state.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "validate/inventory.h"
#include "validate/validate.h"

struct admin_answer admin_fail(int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    size_t len, i = 0;
    uint32_t cp;
    int k;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* a message may quote what the client sent (a path, a member): bytes
     * that are not UTF-8 (or cut by the ceiling) become '?', so it is JSON */
    len = strlen(msg);
    while (i < len) {
        if ((k = utf8_decode(msg + i, len - i, &cp)) > 0) {
            i += (size_t)k;
        } else {
            msg[i++] = '?';
        }
    }
    return (struct admin_answer){status,
                                 json_pack("{s:{s:s,s:s}}", "Error", "Code", code, "Message", msg)};
}

struct admin_answer admin_ok(json_t *body)
{
    return body ? (struct admin_answer){200, body}
                : admin_fail(500, "InternalError", "out of memory");
}

/* A store result other than STORE_OK as an answer. */
static struct admin_answer store_fail(int rc, const struct serr *e, const char *what)
{
    switch (rc) {
    case STORE_NOTFOUND:
        return admin_fail(404, "AccountNotFound", "no account with Uin %s", e->msg);
    case STORE_EXISTS:
        return admin_fail(409, "AlreadyExists", "%s: %s", what, e->msg);
    default:
        log_error("admin: %s: %s", what, e->msg);
        return admin_fail(rc == STORE_ERR && strstr(e->msg, "action") ? 400 : 500,
                          rc == STORE_ERR && strstr(e->msg, "action") ? "InvalidParameter"
                                                                      : "InternalError",
                          "%s: %s", what, e->msg);
    }
}

/* ==== reading the documents ==== */

/* A string member (NULL if absent); -1 if present but not a string. */
static int get_str(json_t *o, const char *key, const char **out, size_t cap)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap ||
        strlen(json_string_value(v)) != json_string_length(v))
        return -1;
    *out = json_string_value(v);
    return 0;
}

/* A Uin: given as a string or a number, 1 to 20 digits. */
static int get_uin(json_t *o, char out[24])
{
    json_t *v = json_object_get(o, "Uin");
    uint64_t n;
    out[0] = '\0';
    if (!v)
        return 0;
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        snprintf(out, 24, "%lld", (long long)json_integer_value(v));
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 20 ||
        parse_u64(json_string_value(v), json_string_length(v), &n) != 0)
        return -1;
    snprintf(out, 24, "%s", json_string_value(v));
    return 0;
}

/* Members other than these are refused (a typo must not pass silently). */
static const char *unknown_member(json_t *o, const char *const *known)
{
    const char *key;
    json_t *v;
    json_object_foreach (o, key, v) {
        const char *const *k = known;
        while (*k && strcmp(*k, key) != 0)
            k++;
        if (!*k)
            return key;
    }
    return NULL;
}

/* POST /admin/accounts: {"SecretId","SecretKey","AppId","Uin","FlowLogQuota"},
 * every member optional (a SecretId wants its SecretKey). */
struct admin_answer admin_account_create(struct store *st, json_t *in)
{
    static const char *const known[] = {"SecretId", "SecretKey",    "AppId",
                                        "Uin",      "FlowLogQuota", NULL};
    struct key_info key;
    struct account want = {0}, got;
    struct serr se = {{0}};
    const char *sid, *skey, *bad;
    json_t *v;
    int rc;

    if ((bad = unknown_member(in, known)))
        return admin_fail(400, "UnknownParameter", "unknown member %s", bad);
    if (get_str(in, "SecretId", &sid, sizeof key.secret_id) != 0 ||
        get_str(in, "SecretKey", &skey, sizeof key.secret_key) != 0)
        return admin_fail(400, "InvalidParameter",
                          "SecretId and SecretKey are non-empty strings of at most %zu bytes",
                          sizeof key.secret_id - 1);
    if (!sid != !skey)
        return admin_fail(400, "MissingParameter", "SecretId and SecretKey go together");
    if (get_uin(in, want.uin) != 0)
        return admin_fail(400, "InvalidParameter", "Uin is a string of 1 to 20 digits");
    if ((v = json_object_get(in, "AppId"))) {
        if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
            json_integer_value(v) > 9999999999999LL)
            return admin_fail(400, "InvalidParameter", "AppId is a positive integer");
        want.app_id = (uint64_t)json_integer_value(v);
    }
    if ((v = json_object_get(in, "FlowLogQuota"))) {
        if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > 1000000)
            return admin_fail(400, "InvalidParameter",
                              "FlowLogQuota is an integer from 1 to 1000000");
        want.flowlog_quota = (uint32_t)json_integer_value(v);
    }
    if ((rc = store_account_put(st, &want, sid, skey, &got, &se)) != STORE_OK)
        return store_fail(rc, &se, "cannot create the account");
    if (sid) {
        snprintf(key.secret_id, sizeof key.secret_id, "%s", sid);
        snprintf(key.secret_key, sizeof key.secret_key, "%s", skey);
    } else if ((rc = store_key_create(st, got.uin, NULL, &key, &se)) != STORE_OK) {
        return store_fail(rc, &se, "cannot create the key");
    }
    return admin_ok(json_pack("{s:I,s:s,s:i,s:s,s:s}", "AppId", (json_int_t)got.app_id, "Uin",
                              got.uin, "FlowLogQuota", (int)got.flowlog_quota, "SecretId",
                              key.secret_id, "SecretKey", key.secret_key));
}

/* POST /admin/keys: {"Uin", "SecretId"?, "SecretKey"?, "Actions"?}; a key
 * without a SecretId is drawn at random. */
struct admin_answer admin_key_create(struct store *st, json_t *in)
{
    static const char *const known[] = {"Uin", "SecretId", "SecretKey", "Actions", NULL};
    struct key_info key;
    struct serr se = {{0}};
    char uin[24];
    const char *sid, *skey, *actions, *bad;
    int rc;

    if ((bad = unknown_member(in, known)))
        return admin_fail(400, "UnknownParameter", "unknown member %s", bad);
    if (get_uin(in, uin) != 0 || !uin[0])
        return admin_fail(400, "MissingParameter", "Uin (a string of digits) is required");
    if (get_str(in, "SecretId", &sid, sizeof key.secret_id) != 0 ||
        get_str(in, "SecretKey", &skey, sizeof key.secret_key) != 0 ||
        get_str(in, "Actions", &actions, sizeof key.actions) != 0)
        return admin_fail(400, "InvalidParameter", "SecretId, SecretKey and Actions are strings");
    if (!sid != !skey)
        return admin_fail(400, "MissingParameter", "SecretId and SecretKey go together");
    if (sid) {
        if ((rc = store_key_put(st, uin, sid, skey, actions, &se)) != STORE_OK)
            return rc == STORE_NOTFOUND
                       ? admin_fail(404, "AccountNotFound", "no account with Uin %s", uin)
                       : store_fail(rc, &se, "cannot create the key");
        snprintf(key.secret_id, sizeof key.secret_id, "%s", sid);
        snprintf(key.secret_key, sizeof key.secret_key, "%s", skey);
    } else if ((rc = store_key_create(st, uin, actions, &key, &se)) != STORE_OK) {
        return rc == STORE_NOTFOUND
                   ? admin_fail(404, "AccountNotFound", "no account with Uin %s", uin)
                   : store_fail(rc, &se, "cannot create the key");
    }
    return admin_ok(json_pack("{s:s,s:s,s:s}", "Uin", uin, "SecretId", key.secret_id, "SecretKey",
                              key.secret_key));
}

/* POST /admin/inventory/bind: where a resource's traffic crosses a host
 * (docs/API.md, "The data plane"). HostDevice "" unbinds. */
struct admin_answer admin_inventory_bind(struct store *st, json_t *in)
{
    static const char *const known[] = {"Uin", "ResourceId", "Host", "HostDevice", "HostNetns",
                                        NULL};
    struct resource r;
    struct serr se = {{0}};
    char uin[24], why[200];
    const char *id, *host, *dev, *netns, *bad;
    int rc;

    if ((bad = unknown_member(in, known)))
        return admin_fail(400, "UnknownParameter", "unknown member %s", bad);
    if (get_uin(in, uin) != 0 || !uin[0])
        return admin_fail(400, "MissingParameter", "Uin (a string of digits) is required");
    json_t *dv = json_object_get(in, "HostDevice");
    int unbind = json_is_string(dv) && json_string_length(dv) == 0;
    if (get_str(in, "ResourceId", &id, sizeof r.id) != 0 ||
        get_str(in, "Host", &host, sizeof r.host) != 0 ||
        (!unbind && get_str(in, "HostDevice", &dev, sizeof r.host_device) != 0) ||
        get_str(in, "HostNetns", &netns, sizeof r.host_netns) != 0)
        return admin_fail(400, "InvalidParameter",
                          "ResourceId, Host, HostDevice and HostNetns are strings that fit");
    if (unbind)
        dev = "";
    if (!id || !*id || !dev)
        return admin_fail(400, "MissingParameter", "ResourceId and HostDevice are required");
    memset(&r, 0, sizeof r);
    if (host && *host)
        snprintf(r.host, sizeof r.host, "%s", host);
    else
        inventory_local_host(r.host, sizeof r.host);
    if (*dev && inventory_check_binding(r.host, dev, netns, why, sizeof why) != 0)
        return admin_fail(400, "InvalidParameter", "%s", why);
    if ((rc = store_resource_bind(st, uin, id, r.host, dev, netns, &se)) != STORE_OK)
        return rc == STORE_NOTFOUND
                   ? admin_fail(404, "ResourceNotFound",
                                "account %s has no ENI, NAT gateway, direct connect gateway or "
                                "CCN %s",
                                uin, id)
                   : store_fail(rc, &se, "cannot bind");
    if (!*dev)
        return admin_ok(json_pack("{s:s,s:s}", "Uin", uin, "ResourceId", id));
    return admin_ok(json_pack("{s:s,s:s,s:s,s:s,s:s}", "Uin", uin, "ResourceId", id, "Host",
                              r.host, "HostDevice", dev, "HostNetns", netns ? netns : ""));
}

static json_t *agent_key_json(const struct agent_key *k, int with_secret)
{
    json_t *o = json_pack("{s:s,s:s,s:I}", "SecretId", k->secret_id, "Host", k->host,
                          "CreatedTime", (json_int_t)k->created_at);
    if (o && with_secret && json_object_set_new(o, "SecretKey", json_string(k->secret_key))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* POST /admin/agent-keys {"Host"?}: a key for a capture agent */
struct admin_answer admin_agent_key_create(struct store *st, json_t *in)
{
    static const char *const known[] = {"Host", NULL};
    struct agent_key k;
    struct serr se = {{0}};
    const char *host, *bad;
    char why[200];
    int rc;
    if ((bad = unknown_member(in, known)))
        return admin_fail(400, "UnknownParameter", "unknown member %s", bad);
    if (get_str(in, "Host", &host, sizeof k.host) != 0)
        return admin_fail(400, "InvalidParameter", "Host is a host name");
    if (host && *host && inventory_check_binding(host, "lo", NULL, why, sizeof why) != 0)
        return admin_fail(400, "InvalidParameter", "%s", why);
    if ((rc = store_agent_key_create(st, host, &k, &se)) != STORE_OK)
        return store_fail(rc, &se, "cannot create the agent key");
    return admin_ok(agent_key_json(&k, 1));
}

static void list_key(void *ud, const struct agent_key *k)
{
    json_t *arr = ud, *o = agent_key_json(k, 0);
    if (o)
        json_array_append_new(arr, o);
}

/* GET /admin/agent-keys: every agent key, without its secret */
struct admin_answer admin_agent_key_list(struct store *st)
{
    struct serr se = {{0}};
    json_t *arr = json_array();
    int rc;
    if (!arr)
        return admin_ok(NULL);
    if ((rc = store_agent_key_list(st, list_key, arr, &se)) != STORE_OK) {
        json_decref(arr);
        return store_fail(rc, &se, "cannot list the agent keys");
    }
    return admin_ok(json_pack("{s:o}", "AgentKeys", arr));
}

/* POST /admin/agent-keys/delete {"SecretId"} */
struct admin_answer admin_agent_key_delete(struct store *st, json_t *in)
{
    static const char *const known[] = {"SecretId", NULL};
    struct serr se = {{0}};
    const char *sid, *bad;
    int rc;
    if ((bad = unknown_member(in, known)))
        return admin_fail(400, "UnknownParameter", "unknown member %s", bad);
    if (get_str(in, "SecretId", &sid, 64) != 0 || !sid || !*sid)
        return admin_fail(400, "MissingParameter", "SecretId is required");
    if ((rc = store_agent_key_delete(st, sid, &se)) != STORE_OK)
        return rc == STORE_NOTFOUND
                   ? admin_fail(404, "AgentKeyNotFound", "no agent key %s", sid)
                   : store_fail(rc, &se, "cannot delete the agent key");
    return admin_ok(json_pack("{s:s}", "SecretId", sid));
}

/* POST /admin/inventory: an inventory file (docs/API.md, Inventory) with
 * a "Uin" member naming the account. All or nothing, idempotent. */
struct admin_answer admin_inventory_import(struct store *st, json_t *in)
{
    struct resource *items = NULL;
    struct serr se = {{0}};
    char uin[24], err[512];
    json_t *copy;
    char *text;
    size_t n;
    int rc;

    if (get_uin(in, uin) != 0 || !uin[0])
        return admin_fail(400, "MissingParameter", "Uin (a string of digits) is required");
    if (!(copy = json_copy(in)))
        return admin_fail(500, "InternalError", "out of memory");
    json_object_del(copy, "Uin");
    text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    if (!text)
        return admin_fail(500, "InternalError", "out of memory");
    rc = inventory_parse(text, strlen(text), st, uin, &items, &n, err, sizeof err);
    free(text);
    if (rc != 0)
        return admin_fail(400, "InvalidInventory", "%s (nothing was imported)", err);
    rc = store_inventory_import(st, uin, items, n, &se);
    free(items);
    if (rc == STORE_NOTFOUND)
        return admin_fail(404, "AccountNotFound", "no account with Uin %s", uin);
    if (rc != STORE_OK)
        return store_fail(rc, &se, "import failed, nothing was imported");
    return admin_ok(json_pack("{s:s,s:I}", "Uin", uin, "Imported", (json_int_t)n));
}

struct admin_answer admin_reset(struct store *st, json_t *in)
{
    static const char *const known[] = {"Uin", NULL};
    struct serr se = {{0}};
    char uin[24];
    const char *bad;
    int rc;

    if ((bad = unknown_member(in, known)))
        return admin_fail(400, "UnknownParameter", "unknown member %s", bad);
    if (get_uin(in, uin) != 0)
        return admin_fail(400, "InvalidParameter", "Uin is a string of 1 to 20 digits");
    rc = store_reset(st, uin[0] ? uin : NULL, &se);
    if (rc == STORE_NOTFOUND)
        return admin_fail(404, "AccountNotFound", "no account with Uin %s", uin);
    if (rc != STORE_OK)
        return store_fail(rc, &se, "reset failed, nothing was deleted");
    log_info("admin: reset %s%s", uin[0] ? "account " : "everything", uin);
    return admin_ok(uin[0] ? json_pack("{s:s}", "Reset", uin) : json_pack("{s:s}", "Reset", "all"));
}

/* ==== the state: export and import ==== */

/* The document (docs/API.md, "State export and import"): the store's rows,
 * keys named as the members of store.h's structs. */
#define STATE_FORMAT 1

static const char *const kind_names[] = {
    [RES_VPC] = "vpc",       [RES_SUBNET] = "subnet",
    [RES_ENI] = "eni",       [RES_INSTANCE] = "instance",
    [RES_CCN] = "ccn",       [RES_NAT] = "nat",
    [RES_DCG] = "dcg",       [RES_CLS_TOPIC] = "cls_topic",
    [RES_CKAFKA] = "ckafka", [RES_CKAFKA_TOPIC] = "ckafka_topic",
    [RES_TASK] = "task",
};
#define NKINDS ((int)(sizeof kind_names / sizeof kind_names[0]))

struct dump {
    json_t *accounts, *keys, *resources, *flowlogs, *logsets, *topics;
    int oom;
};

static void put(struct dump *d, json_t *arr, json_t *row)
{
    if (!row || json_array_append_new(arr, row) != 0)
        d->oom = 1;
}

static void dump_account(void *ud, const struct account *a)
{
    struct dump *d = ud;
    put(d, d->accounts,
        json_pack("{s:I,s:s,s:I,s:I}", "app_id", (json_int_t)a->app_id, "uin", a->uin,
                  "flowlog_quota", (json_int_t)a->flowlog_quota, "rate_limit",
                  (json_int_t)a->rate_limit));
}

static void dump_key(void *ud, const struct key_info *k)
{
    struct dump *d = ud;
    put(d, d->keys,
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "secret_id", k->secret_id, "secret_key",
                  k->secret_key, "uin", k->account.uin, "actions", k->actions, "token", k->token,
                  "expires", (json_int_t)k->expires));
}

static void dump_resource(void *ud, const char *uin, const struct resource *r)
{
    struct dump *d = ud;
    const char *kind = (int)r->kind > 0 && (int)r->kind < NKINDS ? kind_names[r->kind] : NULL;
    if (!kind) {
        d->oom = 1; /* a kind this build does not know: refuse rather than drop it */
        return;
    }
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:I,s:s,s:s,s:s}", "uin", uin,
                  "kind", kind, "region", r->region, "id", r->id, "vpc_id", r->vpc_id, "subnet_id",
                  r->subnet_id, "instance_id", r->instance_id, "name", r->name, "cidr", r->cidr,
                  "instance_type", r->instance_type, "edition", r->edition, "nat_version",
                  r->nat_version, "has_dnat", r->has_dnat, "created_at", (json_int_t)r->created_at,
                  "attrs", r->attrs ? r->attrs : "", "addrs", r->addrs, "brokers",
                  r->brokers);
    /* where the data plane captures it: only on a bound resource */
    if (o && r->host_device[0] &&
        (json_object_set_new(o, "host", json_string(r->host)) ||
         json_object_set_new(o, "host_device", json_string(r->host_device)) ||
         json_object_set_new(o, "host_netns", json_string(r->host_netns)))) {
        json_decref(o);
        o = NULL;
    }
    put(d, d->resources, o);
}

static void dump_flowlog(void *ud, const struct flowlog *fl)
{
    struct dump *d = ud;
    json_t *o = json_object(), *tags = json_array();
    if (!o || !tags) {
        json_decref(o);
        json_decref(tags);
        d->oom = 1;
        return;
    }
    for (size_t i = 0; i < fl->ntags; i++)
        json_array_append_new(tags, json_pack("[s,s]", fl->tags[i].key, fl->tags[i].value));
#define DUMP_STR(m) json_object_set_new(o, #m, json_string(fl->m));
#define DUMP_TIME(m) json_object_set_new(o, #m, json_integer(fl->m));
#define DUMP_BOOL(m) json_object_set_new(o, #m, json_integer(fl->m));
#define DUMP_PERIOD(m) json_object_set_new(o, #m, json_integer(fl->m));
/* the document names a ResourceType as on the wire, as it always did */
#define DUMP_KIND(m)                                                                               \
    json_object_set_new(o, "resource_type",                                                        \
                        json_string(resource_type_of(fl->m) ? resource_type_of(fl->m)->type : ""));
#define DUMP_TAGS(m) json_object_set_new(o, #m, tags);
#define X(kind, member, size, wire, group) DUMP_##kind(member)
    FLOWLOG_FIELDS(X)
#undef X
    put(d, d->flowlogs, o);
}

/* tags as [[key, value], ...] */
static json_t *tags_json(const struct tag *t, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_pack("[s,s]", t[i].key, t[i].value)) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static void dump_cls_logset(void *ud, const struct cls_logset *ls)
{
    struct dump *d = ud;
    put(d, d->logsets,
        json_pack("{s:s,s:s,s:s,s:s,s:I,s:o*}", "uin", ls->uin, "region", ls->region, "id", ls->id,
                  "name", ls->name, "created_at", (json_int_t)ls->created_at, "tags",
                  tags_json(ls->tags, ls->ntags)));
}

static void dump_cls_topic(void *ud, const struct cls_topic *t)
{
    struct dump *d = ud;
    put(d, d->topics,
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:i,s:I,s:o*}", "uin", t->uin, "region",
                  t->region, "id", t->id, "logset_id", t->logset_id, "name", t->name,
                  "storage_type", t->storage_type, "describes", t->describes, "period",
                  (json_int_t)t->period, "partition_count", (json_int_t)t->partition_count,
                  "status", t->status, "created_at", (json_int_t)t->created_at, "tags",
                  tags_json(t->tags, t->ntags)));
}

struct admin_answer admin_state_export(struct store *st)
{
    struct dump d = {json_array(), json_array(), json_array(), json_array(),
                     json_array(), json_array(), 0};
    const struct state_sink sink = {&d,           dump_account,    dump_key,      dump_resource,
                                    dump_flowlog, dump_cls_logset, dump_cls_topic};
    struct serr se = {{0}};
    int rc;
    rc = store_state_dump(st, &sink, &se);
    if (rc != STORE_OK || d.oom || !d.accounts || !d.keys || !d.resources || !d.flowlogs ||
        !d.logsets || !d.topics) {
        json_decref(d.accounts);
        json_decref(d.keys);
        json_decref(d.resources);
        json_decref(d.flowlogs);
        json_decref(d.logsets);
        json_decref(d.topics);
        return rc != STORE_OK ? store_fail(rc, &se, "export failed")
                              : admin_fail(500, "InternalError", "export failed: out of memory");
    }
    return admin_ok(json_pack("{s:i,s:o,s:o,s:o,s:o,s:o,s:o}", "flowlogd_state", STATE_FORMAT,
                              "accounts", d.accounts, "keys", d.keys, "resources", d.resources,
                              "flowlogs", d.flowlogs, "cls_logsets", d.logsets, "cls_topics",
                              d.topics));
}

/* Copies string member `key` of o into dst[cap]; "" when absent. -1 if not
 * a string or too long. */
static int cp_str(json_t *o, const char *key, char *dst, size_t cap)
{
    json_t *v = json_object_get(o, key);
    dst[0] = '\0';
    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) >= cap ||
        strlen(json_string_value(v)) != json_string_length(v))
        return -1;
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int get_i64(json_t *o, const char *key, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    *out = 0;
    if (!v)
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (!json_is_integer(v))
        return -1;
    *out = json_integer_value(v);
    return 0;
}

/* A flow log row of the document into fl; its tags into *tags (malloc'd). */
static int read_flowlog(json_t *o, struct flowlog *fl, struct tag **tags, char *err, size_t errlen)
{
    json_t *tv;
    int64_t n;
    int bad = 0;
    memset(fl, 0, sizeof *fl);
    *tags = NULL;
#define LOAD_STR(m) bad |= cp_str(o, #m, fl->m, sizeof fl->m) != 0 ? 1 : 0;
#define LOAD_TIME(m)                                                                               \
    bad |= get_i64(o, #m, &n) != 0 ? 1 : 0;                                                        \
    fl->m = n;
#define LOAD_BOOL(m)                                                                               \
    bad |= get_i64(o, #m, &n) != 0 || n < 0 || n > 1 ? 1 : 0;                                      \
    fl->m = (int)n;
#define LOAD_PERIOD(m)                                                                             \
    bad |= get_i64(o, #m, &n) != 0 || n < 0 || n > 86400 ? 1 : 0;                                  \
    fl->m = (uint32_t)n;
#define LOAD_TAGS(m)
#define LOAD_KIND(m)                                                                               \
    {                                                                                              \
        const struct resource_type *rt =                                                           \
            resource_type_find(json_string_value(json_object_get(o, "resource_type"))              \
                                   ? json_string_value(json_object_get(o, "resource_type"))        \
                                   : "");                                                          \
        bad |= rt ? 0 : 1;                                                                         \
        fl->m = rt ? rt->kind : 0;                                                                 \
    }
#define X(kind, member, size, wire, group) LOAD_##kind(member)
    FLOWLOG_FIELDS(X)
#undef X
    if (bad || !fl->id[0] || !fl->uin[0] || !fl->region[0]) {
        snprintf(err, errlen,
                 "flow log %s: a field has a wrong type or length, or id, uin or "
                 "region is missing",
                 fl->id[0] ? fl->id : "(no id)");
        return -1;
    }
    tv = json_object_get(o, "tags");
    if (tv && !json_is_array(tv)) {
        snprintf(err, errlen, "flow log %s: tags is an array of [key, value]", fl->id);
        return -1;
    }
    if (tv && json_array_size(tv)) {
        if (!(*tags = calloc(json_array_size(tv), sizeof **tags))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < json_array_size(tv); i++) {
            json_t *p = json_array_get(tv, i);
            if (!json_is_array(p) || json_array_size(p) != 2 ||
                !json_is_string(json_array_get(p, 0)) || !json_is_string(json_array_get(p, 1))) {
                snprintf(err, errlen, "flow log %s: tags is an array of [key, value]", fl->id);
                free(*tags);
                *tags = NULL;
                return -1;
            }
            (*tags)[i].key = json_string_value(json_array_get(p, 0));
            (*tags)[i].value = json_string_value(json_array_get(p, 1));
        }
        fl->tags = *tags;
        fl->ntags = json_array_size(tv);
    }
    return 0;
}

/* [[key, value], ...] (absent: none) into *tags (malloc'd, borrowing tv's
 * strings) and *n. -1 when it is something else or memory is short. */
static int read_tags(json_t *tv, struct tag **tags, size_t *n)
{
    *tags = NULL;
    *n = 0;
    if (!tv)
        return 0;
    if (!json_is_array(tv))
        return -1;
    if (!json_array_size(tv))
        return 0;
    if (!(*tags = calloc(json_array_size(tv), sizeof **tags)))
        return -1;
    for (size_t i = 0; i < json_array_size(tv); i++) {
        json_t *p = json_array_get(tv, i);
        if (!json_is_array(p) || json_array_size(p) != 2 || !json_is_string(json_array_get(p, 0)) ||
            !json_is_string(json_array_get(p, 1))) {
            free(*tags);
            *tags = NULL;
            return -1;
        }
        (*tags)[i].key = json_string_value(json_array_get(p, 0));
        (*tags)[i].value = json_string_value(json_array_get(p, 1));
    }
    *n = json_array_size(tv);
    return 0;
}

/* A cls logset row of the document; its tags into *tags (malloc'd). */
static int read_cls_logset(json_t *o, struct cls_logset *ls, struct tag **tags, char *err,
                           size_t errlen)
{
    memset(ls, 0, sizeof *ls);
    *tags = NULL;
    if (!json_is_object(o) || cp_str(o, "uin", ls->uin, sizeof ls->uin) ||
        cp_str(o, "region", ls->region, sizeof ls->region) ||
        cp_str(o, "id", ls->id, sizeof ls->id) || cp_str(o, "name", ls->name, sizeof ls->name) ||
        get_i64(o, "created_at", &ls->created_at) || !ls->uin[0] || !ls->region[0] ||
        !ls->id[0] || !ls->name[0] || read_tags(json_object_get(o, "tags"), tags, &ls->ntags)) {
        snprintf(err, errlen,
                 "cls logset %s: uin, region, id, name, created_at or tags missing or wrong",
                 ls->id[0] ? ls->id : "(no id)");
        return -1;
    }
    ls->tags = *tags;
    return 0;
}

/* A cls topic row of the document; its tags into *tags (malloc'd). */
static int read_cls_topic(json_t *o, struct cls_topic *t, struct tag **tags, char *err,
                          size_t errlen)
{
    int64_t period = 0, parts = 0, status = 0;
    memset(t, 0, sizeof *t);
    *tags = NULL;
    if (!json_is_object(o) || cp_str(o, "uin", t->uin, sizeof t->uin) ||
        cp_str(o, "region", t->region, sizeof t->region) || cp_str(o, "id", t->id, sizeof t->id) ||
        cp_str(o, "logset_id", t->logset_id, sizeof t->logset_id) ||
        cp_str(o, "name", t->name, sizeof t->name) ||
        cp_str(o, "storage_type", t->storage_type, sizeof t->storage_type) ||
        cp_str(o, "describes", t->describes, sizeof t->describes) ||
        get_i64(o, "period", &period) || get_i64(o, "partition_count", &parts) ||
        get_i64(o, "status", &status) || get_i64(o, "created_at", &t->created_at) ||
        !t->uin[0] || !t->region[0] || !t->id[0] || !t->logset_id[0] || !t->name[0] ||
        (strcmp(t->storage_type, "hot") != 0 && strcmp(t->storage_type, "cold") != 0) ||
        period < 1 || period > 3600 || parts < 1 || parts > 1000 || status < 0 || status > 1 ||
        read_tags(json_object_get(o, "tags"), tags, &t->ntags)) {
        snprintf(err, errlen,
                 "cls topic %s: uin, region, id, logset_id, name, storage_type (hot, cold), "
                 "period (1..3600), partition_count (1..1000), status (0, 1), created_at or tags "
                 "missing or wrong",
                 t->id[0] ? t->id : "(no id)");
        return -1;
    }
    t->period = (uint32_t)period;
    t->partition_count = (uint32_t)parts;
    t->status = (int)status;
    t->tags = *tags;
    return 0;
}

static int read_resource(json_t *o, char uin[24], struct resource *r, char *err, size_t errlen)
{
    char kind[24];
    int64_t nat, dnat, created;
    memset(r, 0, sizeof *r);
    if (cp_str(o, "uin", uin, 24) || cp_str(o, "kind", kind, sizeof kind) ||
        cp_str(o, "region", r->region, sizeof r->region) || cp_str(o, "id", r->id, sizeof r->id) ||
        cp_str(o, "vpc_id", r->vpc_id, sizeof r->vpc_id) ||
        cp_str(o, "subnet_id", r->subnet_id, sizeof r->subnet_id) ||
        cp_str(o, "instance_id", r->instance_id, sizeof r->instance_id) ||
        cp_str(o, "name", r->name, sizeof r->name) || cp_str(o, "cidr", r->cidr, sizeof r->cidr) ||
        cp_str(o, "instance_type", r->instance_type, sizeof r->instance_type) ||
        cp_str(o, "edition", r->edition, sizeof r->edition) ||
        cp_str(o, "addrs", r->addrs, sizeof r->addrs) ||
        cp_str(o, "brokers", r->brokers, sizeof r->brokers) || get_i64(o, "nat_version", &nat) ||
        get_i64(o, "has_dnat", &dnat) || get_i64(o, "created_at", &created) ||
        cp_str(o, "host", r->host, sizeof r->host) ||
        cp_str(o, "host_device", r->host_device, sizeof r->host_device) ||
        cp_str(o, "host_netns", r->host_netns, sizeof r->host_netns) ||
        (json_object_get(o, "attrs") && !json_is_string(json_object_get(o, "attrs")))) {
        snprintf(err, errlen, "resource %s: a field has a wrong type or length", r->id);
        return -1;
    }
    for (int k = 1; k < NKINDS; k++)
        if (kind_names[k] && strcmp(kind, kind_names[k]) == 0)
            r->kind = (enum res_kind)k;
    if (!r->kind || !uin[0] || !r->region[0] || !r->id[0]) {
        snprintf(err, errlen, "resource %s: unknown kind \"%s\" or no uin, region or id", r->id,
                 kind);
        return -1;
    }
    if (r->host_device[0] &&
        inventory_check_binding(r->host, r->host_device, r->host_netns, err, errlen) != 0)
        return -1;
    r->nat_version = (int)nat;
    r->has_dnat = (int)dnat;
    r->created_at = created;
    r->attrs = json_string_value(json_object_get(o, "attrs"));
    return 0;
}

/* Resources created through the API go back through resource_create, the
 * parents first (an ENI names its instance, subnet and VPC). */
static int create_rank(enum res_kind k)
{
    static const enum res_kind order[] = {RES_VPC,    RES_INSTANCE,     RES_CCN, RES_CLS_TOPIC,
                                          RES_CKAFKA, RES_SUBNET,       RES_NAT, RES_DCG,
                                          RES_ENI,    RES_CKAFKA_TOPIC, RES_TASK};
    for (int i = 0; i < (int)(sizeof order / sizeof order[0]); i++)
        if (order[i] == k)
            return i;
    return 99;
}

struct res_row {
    char uin[24];
    struct resource r; /* attrs borrowed from the document */
};

static int cmp_uin(const void *x, const void *y)
{
    return strcmp((const char *)x, (const char *)y);
}

static int cmp_res_row(const void *x, const void *y)
{
    return strcmp(((const struct res_row *)x)->uin, ((const struct res_row *)y)->uin);
}

/* Whether uin is one of the n sorted uins. */
static int known(char (*uins)[24], size_t n, const char *uin)
{
    return n && bsearch(uin, uins, n, sizeof *uins, cmp_uin) != NULL;
}

/* An imported resource (no display attributes) goes back through the
 * inventory import; one made through the API, and a task, through
 * resource_create. */
static int made_by_api(const struct resource *r)
{
    return r->kind == RES_TASK || (r->attrs && *r->attrs);
}

/* A store refusal once the import has begun: the document contradicts
 * itself (a duplicate key, a resource whose parent is not in it...): the
 * client's fault (400); a store failure stays a 500. */
static struct admin_answer import_fail(int rc, const struct serr *e, const char *what)
{
    if (rc == STORE_ERR)
        return store_fail(rc, e, what);
    return admin_fail(400, "InvalidState", "%s: %s%s", what,
                      rc == STORE_NOTFOUND ? "not found: " : "", e->msg);
}

/* The answer `ans` (a failure after the reset) once the state before the
 * import is back (`back` its answer): the same code, and what became of the
 * store. */
static struct admin_answer after_rollback(struct admin_answer ans, struct admin_answer back)
{
    json_t *err = json_object_get(ans.body, "Error");
    const char *code = json_string_value(json_object_get(err, "Code"));
    const char *msg = json_string_value(json_object_get(err, "Message"));
    struct admin_answer out;

    if (back.status == 200)
        out = admin_fail(ans.status, code ? code : "InternalError",
                         "%s; nothing changed: the state before the import is back",
                         msg ? msg : "import failed");
    else
        out = admin_fail(500, "InternalError",
                         "%s; the state before the import could not be put back either, the "
                         "store holds part of the document: import a good one, or reset",
                         msg ? msg : "import failed");
    json_decref(ans.body);
    json_decref(back.body);
    return out;
}

/* Replaces the whole state with the document: checked whole first (types,
 * lengths, every row's uin an account of the document), then the store
 * reset and every row written again. With keep_old, the state before is
 * exported first and written back if a row is refused after the reset, so
 * that a failed import leaves the store as it was. */
static struct admin_answer state_import(struct store *st, json_t *in, int keep_old)
{
    json_t *accounts = json_object_get(in, "accounts"), *keys = json_object_get(in, "keys"),
           *resources = json_object_get(in, "resources"),
           *flowlogs = json_object_get(in, "flowlogs");
    /* absent in documents from before the cls service: none */
    json_t *logsets = json_object_get(in, "cls_logsets"), *topics = json_object_get(in, "cls_topics");
    json_t *fmt = json_object_get(in, "flowlogd_state");
    struct cls_logset ls;
    struct cls_topic tp;
    struct admin_answer ans;
    struct serr se = {{0}};
    char err[512], (*uins)[24] = NULL;
    struct res_row *rows = NULL;
    struct resource *items = NULL;
    struct flowlog fl;
    struct tag *tags;
    size_t i, na, nr, nkeys = 0, ntemp = 0, nres = 0;
    json_t *old = NULL;
    int rc;

    if (!json_is_integer(fmt) || json_integer_value(fmt) != STATE_FORMAT)
        return admin_fail(400, "InvalidState", "not a state document of format %d (flowlogd_state)",
                          STATE_FORMAT);
    if (!json_is_array(accounts) || !json_is_array(keys) || !json_is_array(resources) ||
        !json_is_array(flowlogs))
        return admin_fail(400, "InvalidState", "accounts, keys, resources and flowlogs are arrays");
    if ((logsets && !json_is_array(logsets)) || (topics && !json_is_array(topics)))
        return admin_fail(400, "InvalidState", "cls_logsets and cls_topics are arrays");
    na = json_array_size(accounts);
    nr = json_array_size(resources);
    if (!(uins = calloc(na + 1, sizeof *uins)) || !(rows = calloc(nr + 1, sizeof *rows)) ||
        !(items = calloc(nr + 1, sizeof *items))) {
        ans = admin_fail(500, "InternalError", "out of memory; nothing changed");
        goto done;
    }
    /* everything checked before anything is deleted */
    for (i = 0; i < na; i++) {
        json_t *a = json_array_get(accounts, i);
        int64_t app, quota, rate;
        if (!json_is_object(a) || cp_str(a, "uin", uins[i], sizeof uins[i]) || !uins[i][0] ||
            get_i64(a, "app_id", &app) || app <= 0 || get_i64(a, "flowlog_quota", &quota) ||
            quota < 0 || quota > 1000000 || get_i64(a, "rate_limit", &rate) || rate < 0 ||
            rate >= UINT32_MAX) {
            ans = admin_fail(400, "InvalidState",
                             "account %zu: app_id, uin, flowlog_quota or rate_limit", i);
            goto done;
        }
    }
    qsort(uins, na, sizeof *uins, cmp_uin); /* calloc'd na + 1: never NULL */
    for (i = 1; i < na; i++)
        if (strcmp(uins[i - 1], uins[i]) == 0) {
            ans = admin_fail(400, "InvalidState", "account %s is there twice", uins[i]);
            goto done;
        }
    for (i = 0; i < json_array_size(keys); i++) {
        struct key_info k;
        json_t *o = json_array_get(keys, i);
        if (!json_is_object(o) || cp_str(o, "secret_id", k.secret_id, sizeof k.secret_id) ||
            cp_str(o, "secret_key", k.secret_key, sizeof k.secret_key) ||
            cp_str(o, "uin", k.account.uin, sizeof k.account.uin) ||
            cp_str(o, "actions", k.actions, sizeof k.actions) ||
            cp_str(o, "token", k.token, sizeof k.token) || get_i64(o, "expires", &k.expires) ||
            k.expires < 0 || (k.token[0] && !k.expires) || !k.secret_id[0] || !k.secret_key[0] ||
            !known(uins, na, k.account.uin)) {
            ans = admin_fail(400, "InvalidState",
                             "key %zu: secret_id, secret_key, actions, token and expires, or a "
                             "uin that is not an account of the document",
                             i);
            goto done;
        }
    }
    for (i = 0; i < nr; i++) {
        if (read_resource(json_array_get(resources, i), rows[i].uin, &rows[i].r, err, sizeof err) !=
            0) {
            ans = admin_fail(400, "InvalidState", "%s", err);
            goto done;
        }
        if (!known(uins, na, rows[i].uin)) {
            ans = admin_fail(400, "InvalidState",
                             "resource %s: uin %s is not an account of the "
                             "document",
                             rows[i].r.id, rows[i].uin);
            goto done;
        }
    }
    for (i = 0; i < json_array_size(flowlogs); i++) {
        if (read_flowlog(json_array_get(flowlogs, i), &fl, &tags, err, sizeof err) != 0) {
            ans = admin_fail(400, "InvalidState", "%s", err);
            goto done;
        }
        free(tags);
        if (!known(uins, na, fl.uin)) {
            ans = admin_fail(400, "InvalidState",
                             "flow log %s: uin %s is not an account of the "
                             "document",
                             fl.id, fl.uin);
            goto done;
        }
    }
    for (i = 0; i < json_array_size(logsets); i++) {
        if (read_cls_logset(json_array_get(logsets, i), &ls, &tags, err, sizeof err) != 0) {
            ans = admin_fail(400, "InvalidState", "%s", err);
            goto done;
        }
        free(tags);
        if (!known(uins, na, ls.uin)) {
            ans = admin_fail(400, "InvalidState",
                             "cls logset %s: uin %s is not an account of the document", ls.id,
                             ls.uin);
            goto done;
        }
    }
    for (i = 0; i < json_array_size(topics); i++) {
        size_t k;
        if (read_cls_topic(json_array_get(topics, i), &tp, &tags, err, sizeof err) != 0) {
            ans = admin_fail(400, "InvalidState", "%s", err);
            goto done;
        }
        free(tags);
        for (k = 0; k < json_array_size(logsets); k++) {
            json_t *l = json_array_get(logsets, k);
            if (json_is_string(json_object_get(l, "id")) &&
                strcmp(json_string_value(json_object_get(l, "id")), tp.logset_id) == 0 &&
                json_is_string(json_object_get(l, "uin")) &&
                strcmp(json_string_value(json_object_get(l, "uin")), tp.uin) == 0 &&
                json_is_string(json_object_get(l, "region")) &&
                strcmp(json_string_value(json_object_get(l, "region")), tp.region) == 0)
                break;
        }
        if (k == json_array_size(logsets)) {
            ans = admin_fail(400, "InvalidState",
                             "cls topic %s: logset %s is not a logset of the document with its "
                             "uin and region",
                             tp.id, tp.logset_id);
            goto done;
        }
    }
    if ((json_array_size(logsets) || json_array_size(topics)) && !store_has_cls(st)) {
        ans = admin_fail(400, "InvalidState",
                         "the document has cls logsets or topics, this store does not keep them");
        goto done;
    }

    if (keep_old) {
        struct admin_answer snap = admin_state_export(st);
        if (snap.status != 200) {
            json_decref(snap.body);
            ans = admin_fail(500, "InternalError",
                             "import: cannot read the state before it, nothing changed");
            goto done;
        }
        old = snap.body;
    }
    if ((rc = store_reset(st, NULL, &se)) != STORE_OK) {
        ans = store_fail(rc, &se, "import: the reset failed, nothing changed");
        goto done;
    }
    for (i = 0; i < na; i++) {
        json_t *a = json_array_get(accounts, i);
        struct account want = {0};
        int64_t v;
        cp_str(a, "uin", want.uin, sizeof want.uin);
        get_i64(a, "app_id", &v);
        want.app_id = (uint64_t)v;
        get_i64(a, "flowlog_quota", &v);
        want.flowlog_quota = (uint32_t)v;
        get_i64(a, "rate_limit", &v);
        want.rate_limit = (uint32_t)v;
        if ((rc = store_account_put(st, &want, NULL, NULL, NULL, &se)) != STORE_OK) {
            ans = import_fail(rc, &se, "import stopped at an account");
            goto failed;
        }
    }
    for (i = 0; i < json_array_size(keys); i++) {
        json_t *o = json_array_get(keys, i);
        struct key_info k;
        cp_str(o, "secret_id", k.secret_id, sizeof k.secret_id);
        cp_str(o, "secret_key", k.secret_key, sizeof k.secret_key);
        cp_str(o, "uin", k.account.uin, sizeof k.account.uin);
        cp_str(o, "actions", k.actions, sizeof k.actions);
        cp_str(o, "token", k.token, sizeof k.token);
        get_i64(o, "expires", &k.expires);
        /* a temporary (STS) key comes back with its token and end */
        if ((rc = store_key_put_temporary(st, k.account.uin, k.secret_id, k.secret_key, k.actions,
                                          k.token, k.expires, &se)) != STORE_OK) {
            ans = import_fail(rc, &se, "import stopped at a key");
            goto failed;
        }
        nkeys++;
        ntemp += k.token[0] != '\0';
    }
    /* the imported inventory, one call per account; then the resources
     * made through the API, parents first */
    if (nr)
        qsort(rows, nr, sizeof *rows, cmp_res_row);
    for (i = 0; i < nr;) {
        size_t j = i, n = 0;
        for (; j < nr && strcmp(rows[j].uin, rows[i].uin) == 0; j++)
            if (!made_by_api(&rows[j].r)) {
                items[n] = rows[j].r;
                items[n++].attrs = NULL;
            }
        rc = n ? store_inventory_import(st, rows[i].uin, items, n, &se) : STORE_OK;
        if (rc != STORE_OK) {
            ans = import_fail(rc, &se, "import stopped at an inventory");
            goto failed;
        }
        nres += n;
        i = j;
    }
    for (int rank = 0; rank <= 10; rank++) {
        for (i = 0; i < nr; i++) {
            if (!made_by_api(&rows[i].r) || create_rank(rows[i].r.kind) != rank)
                continue;
            if ((rc = store_resource_create(st, rows[i].uin, &rows[i].r, &se)) != STORE_OK ||
                (rows[i].r.host_device[0] &&
                 (rc = store_resource_bind(st, rows[i].uin, rows[i].r.id, rows[i].r.host,
                                           rows[i].r.host_device, rows[i].r.host_netns, &se)) !=
                     STORE_OK)) {
                ans = import_fail(rc, &se, "import stopped at a resource");
                goto failed;
            }
            nres++;
        }
    }
    /* the cls service's logsets and topics (not their logs), after the
     * resources: a topic's inventory row (kind cls_topic) came with them */
    for (i = 0; i < json_array_size(logsets); i++) {
        read_cls_logset(json_array_get(logsets, i), &ls, &tags, err, sizeof err);
        rc = store_cls_logset_create(st, &ls, &se);
        free(tags);
        if (rc != STORE_OK) {
            ans = import_fail(rc, &se, "import stopped at a cls logset");
            goto failed;
        }
    }
    for (i = 0; i < json_array_size(topics); i++) {
        read_cls_topic(json_array_get(topics, i), &tp, &tags, err, sizeof err);
        rc = store_cls_topic_create(st, &tp, &se);
        free(tags);
        if (rc != STORE_OK) {
            ans = import_fail(rc, &se, "import stopped at a cls topic");
            goto failed;
        }
    }
    for (i = 0; i < json_array_size(flowlogs); i++) {
        read_flowlog(json_array_get(flowlogs, i), &fl, &tags, err, sizeof err);
        rc = store_flowlog_create(st, &fl, UINT32_MAX, &se);
        free(tags);
        if (rc != STORE_OK) {
            ans = import_fail(rc, &se, "import stopped at a flow log");
            goto failed;
        }
    }
    if (keep_old)
        log_info("admin: state imported (%zu accounts, %zu keys of which %zu temporary, %zu "
                 "resources, %zu flow logs)",
                 na, nkeys, ntemp, nres, json_array_size(flowlogs));
    ans = admin_ok(json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "Accounts", (json_int_t)na, "Keys",
                             (json_int_t)nkeys, "TemporaryKeys", (json_int_t)ntemp, "Resources",
                             (json_int_t)nres, "FlowLogs", (json_int_t)json_array_size(flowlogs),
                             "SkippedTemporaryKeys", (json_int_t)0));
    goto done;
failed:
    if (old) {
        /* a row was refused after the reset: the state before comes back */
        struct admin_answer back = state_import(st, old, 0);
        if (back.status != 200)
            log_error("admin: state import failed and the state before it could not be put "
                      "back: %s",
                      json_string_value(json_object_get(json_object_get(back.body, "Error"),
                                                        "Message")));
        else
            log_warn("admin: state import refused after the reset; the state before it is back");
        ans = after_rollback(ans, back);
    }
done:
    json_decref(old);
    free(uins);
    free(rows);
    free(items);
    return ans;
}

struct admin_answer admin_state_import(struct store *st, json_t *in)
{
    return state_import(st, in, 1);
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Applies every DIR/ *suffix with fn, in name order. */
static int apply_files(struct store *st, const char *dir, const char *suffix,
                       struct admin_answer (*fn)(struct store *, json_t *), char *err,
                       size_t errlen)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL, path[4096];
    size_t n = 0, cap = 0;
    int rc = -1;

    if (!d) {
        snprintf(err, errlen, "--init %s: %s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !has_suffix(de->d_name, suffix))
            continue;
        if (n == cap) {
            char **p = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof *names);
            if (!p)
                goto oom;
            names = p;
        }
        if (!(names[n] = strdup(de->d_name)))
            goto oom;
        n++;
    }
    if (n) /* qsort(NULL, 0, ...) is undefined */
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        json_error_t je;
        json_t *doc;
        struct admin_answer a;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (!(doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je))) {
            snprintf(err, errlen, "%s: line %d: %s", path, je.line, je.text);
            goto done;
        }
        if (!json_is_object(doc)) {
            json_decref(doc);
            snprintf(err, errlen, "%s: not a JSON object", path);
            goto done;
        }
        a = fn(st, doc);
        json_decref(doc);
        if (a.status != 200) {
            json_t *m = json_object_get(json_object_get(a.body, "Error"), "Message");
            snprintf(err, errlen, "%s: %s", path,
                     json_is_string(m) ? json_string_value(m) : "failed");
            json_decref(a.body);
            goto done;
        }
        json_decref(a.body);
        log_info("init: applied %s", path);
    }
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "--init %s: out of memory", dir);
done:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int admin_init_dir(struct store *st, const char *dir, int *applied, char *err, size_t errlen)
{
    struct serr se = {{0}};
    int any = 0;
    *applied = 0;
    if (store_account_any(st, &any, &se) != STORE_OK) {
        snprintf(err, errlen, "--init: cannot read the store: %s", se.msg);
        return -1;
    }
    if (any)
        return 0;
    if (apply_files(st, dir, ".account.json", admin_account_create, err, errlen) != 0 ||
        apply_files(st, dir, ".inventory.json", admin_inventory_import, err, errlen) != 0)
        return -1;
    *applied = 1;
    return 0;
}
