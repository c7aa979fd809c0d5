/* tags.c: the tag service (tag 2018-08-13) for flow logs: TagResources,
 * UnTagResources, ModifyResourceTags, DescribeResourceTagsByResourceIds,
 * GetResources.
 *
 * A flow log is the resource qcs::vpc:<region>:uin/<uin>:fl/<FlowLogId>.
 * The uin may be empty (what Terraform sends): the caller's own account. A
 * uin of another account is never honoured: to the caller, such a resource
 * does not exist.
 * These tags are the flow log's tags, the same ones
 * CreateFlowLog sets and DescribeFlowLogs shows and filters on, checked by
 * the same rules as there, but answered with the tag service's own codes
 * (tag-api.json errorCodes per action, tencentcloud-sdk-go
 * tag/v20180813/errors.go), each message naming the parameter as the tag
 * action spells it ("ReplaceTags.0.TagKey"): TagKeyEmpty,
 * TagKeyLengthExceeded, InvalidParameter.ReservedTagKey,
 * TagKeyCharacterIllegal, TagKeyDuplicate, TagValueLengthExceeded,
 * TagValueCharacterIllegal; more than 50 keys on a flow log after the
 * change -> LimitExceeded.ResourceAttachedTags; a bad count or range of a
 * plain parameter -> the common InvalidParameterValue.
 *
 * Resource names of another service or prefix ->
 * InvalidParameter.UnsupportedService; a name that is not six segments of
 * that form, or names no flow log of the caller ->
 * InvalidParameterValue.ResourceDescriptionError. TagResources and
 * UnTagResources report a resource that does not exist (or would pass 50
 * keys) in FailedResources, as the real service does for partial failures;
 * the others answer with the error. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/action.h"
#include "api/schema_gen.h"
#include "base/util.h"
#include "validate/validate.h"

#define MAX_RESOURCES 10   /* ResourceList of TagResources / UnTagResources / GetResources */
#define MAX_TAGS 10        /* Tags, TagKeys, ReplaceTags, DeleteTags */
#define MAX_DESCRIBE_IDS 50
#define MAX_TAG_FILTERS 6
#define MAX_FILTER_VALUES 10
#define DEFAULT_PAGE 15    /* DescribeResourceTagsByResourceIds */
#define DEFAULT_RESULTS 50 /* GetResources */
#define MAX_RESULTS 200

/* ==== resource names ==== */

struct fl_name {
    char region[32];
    char uin[24];
    char id[16];
    int foreign; /* another account's uin: never the caller's resource */
};

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Splits `name` into its six segments and checks it names a flow log.
 * Sets e and returns its id on failure. */
static enum api_err parse_name(const struct actx *c, const char *name, struct fl_name *out,
                               struct apierr *e)
{
    const char *seg[6], *end[6], *p = name;
    size_t n = 0, len;

    memset(out, 0, sizeof *out);
    if (!name)
        return apierr_set(e, API_E_TAG_RESOURCE_FORMAT, "");
    for (;;) {
        const char *colon = strchr(p, ':');
        if (n == 6)
            return apierr_set(e, API_E_TAG_RESOURCE_FORMAT, name);
        seg[n] = p;
        end[n] = colon ? colon : p + strlen(p);
        n++;
        if (!colon)
            break;
        p = colon + 1;
    }
#define SEGLEN(i) ((size_t)(end[i] - seg[i]))
#define SEGIS(i, s) (SEGLEN(i) == strlen(s) && strncmp(seg[i], s, SEGLEN(i)) == 0)
    if (n != 6 || !SEGIS(0, "qcs") || SEGLEN(1) != 0 || SEGLEN(4) < 4 ||
        strncmp(seg[4], "uin/", 4) != 0 || !memchr(seg[5], '/', SEGLEN(5)))
        return apierr_set(e, API_E_TAG_RESOURCE_FORMAT, name);
    len = (size_t)((const char *)memchr(seg[5], '/', SEGLEN(5)) - seg[5]);
    if (!SEGIS(2, "vpc") || len != 2 || strncmp(seg[5], "fl", 2) != 0)
        return apierr_set(e, API_E_TAG_UNSUPPORTED_SERVICE, name);
    if (SEGLEN(3) >= sizeof out->region || SEGLEN(4) - 4 >= sizeof out->uin ||
        SEGLEN(5) - 3 >= sizeof out->id || !all_digits(seg[4] + 4, SEGLEN(4) - 4))
        return apierr_set(e, API_E_TAG_RESOURCE_FORMAT, name);
    memcpy(out->region, seg[3], SEGLEN(3));
    memcpy(out->uin, seg[4] + 4, SEGLEN(4) - 4);
    memcpy(out->id, seg[5] + 3, SEGLEN(5) - 3);
#undef SEGIS
#undef SEGLEN
    if (!region_known(out->region) || !id_has_form(out->id, "fl"))
        return apierr_set(e, API_E_TAG_RESOURCE_FORMAT, name);
    out->foreign = out->uin[0] && strcmp(out->uin, c->account->uin) != 0;
    return API_E_OK;
}

static json_t *resource_name(const struct actx *c, const char *region, const char *id)
{
    char s[128];
    snprintf(s, sizeof s, "qcs::vpc:%s:uin/%s:fl/%s", region, c->account->uin, id);
    return json_string(s);
}

/* ==== the flow log's tags ==== */

/* A copy of one flow log's tags (the store's are valid only in the callback). */
struct tagcopy {
    int hit;
    size_t n;
    char *k[64], *v[64];
    int oom;
};

static void tagcopy_free(struct tagcopy *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->k[i]);
        free(t->v[i]);
    }
    memset(t, 0, sizeof *t);
}

static void on_flowlog(void *ud, const struct flowlog *fl)
{
    struct tagcopy *t = ud;
    t->hit = 1;
    for (size_t i = 0; i < fl->ntags && t->n < 64; i++) {
        t->k[t->n] = strdup(fl->tags[i].key);
        t->v[t->n] = strdup(fl->tags[i].value);
        if (!t->k[t->n] || !t->v[t->n]) {
            free(t->k[t->n]);
            free(t->v[t->n]);
            t->oom = 1;
            return;
        }
        t->n++;
    }
}

/* Reads the tags of the caller's flow log `id` in `region`: API_E_OK (t->hit
 * 0 if there is none), or the error. */
static enum api_err read_tags(const struct actx *c, const char *region, const char *id,
                              struct tagcopy *t, struct apierr *e)
{
    struct serr se = {{0}};
    int rc;
    memset(t, 0, sizeof *t);
    rc = store_flowlog_get(c->store, c->account->uin, region, id, on_flowlog, t, &se);
    if (rc == STORE_NOTFOUND) {
        tagcopy_free(t);
        return API_E_OK;
    }
    if (rc != STORE_OK || t->oom) {
        tagcopy_free(t);
        return rc != STORE_OK ? api_store_failed(c, rc, &se, e)
                              : apierr_set(e, API_E_INTERNAL, NULL);
    }
    return API_E_OK;
}

/* ==== inputs ==== */

/* A list member `name` of n entries: 1..max (none -> the common
 * InvalidParameterValue). */
static enum api_err list_size(size_t n, const char *name, size_t max, enum api_err too_many,
                              struct apierr *e)
{
    if (n == 0)
        return apierr_set(e, API_E_PARAM_VALUE, name);
    if (n > max)
        return apierr_set(e, too_many, name);
    return API_E_OK;
}

/* The tag service's rules for one key, `path` naming it as the action
 * spells it ("ReplaceTags.0.TagKey", "TagKeys.1"): empty, longer than 127
 * characters, a reserved prefix (qcloud, tencent, project; any case), a
 * character outside the allowed set. */
static enum api_err check_key(const char *k, const char *path, struct apierr *e)
{
    static const char *const reserved[] = {"qcloud", "tencent", "project"};
    long n = k ? utf8_count(k, strlen(k)) : 0;

    if (n == 0)
        return apierr_set(e, API_E_TAGSVC_KEY_EMPTY, path);
    if (n > 127)
        return apierr_set(e, API_E_TAGSVC_KEY_LEN, path);
    for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; r++)
        if (strncasecmp(k, reserved[r], strlen(reserved[r])) == 0)
            return apierr_set(e, API_E_TAGSVC_RESERVED, path);
    if (n < 0 || !tag_text_ok(k))
        return apierr_set(e, API_E_TAGSVC_KEY_CHARS, path);
    return API_E_OK;
}

/* A value: at most 255 characters of the allowed set (empty is allowed). */
static enum api_err check_value(const char *v, const char *path, struct apierr *e)
{
    long n = v ? utf8_count(v, strlen(v)) : 0;
    if (n > 255)
        return apierr_set(e, API_E_TAGSVC_VAL_LEN, path);
    if (n < 0 || (v && !tag_text_ok(v)))
        return apierr_set(e, API_E_TAGSVC_VAL_CHARS, path);
    return API_E_OK;
}

/* Reads the list `name` of {TagKey, TagValue} (list[0..nlist)) into tags[]
 * and checks it, tag by tag in order: the key, a key given before
 * (TagKeyDuplicate), the value. */
static enum api_err read_tag_list(const struct in_tag_Tag *list, size_t nlist, const char *name,
                                  struct tag_in *tags, size_t *n, struct apierr *e)
{
    size_t i;
    char path[64];
    enum api_err rc;

    for (i = 0; i < nlist; i++) {
        const char *k = list[i].TagKey, *v = list[i].TagValue;
        tags[i].key = k ? k : "";
        tags[i].value = v ? v : "";
        snprintf(path, sizeof path, "%s.%zu.TagKey", name, i);
        if ((rc = check_key(tags[i].key, path, e)) != API_E_OK)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(tags[j].key, tags[i].key) == 0)
                return apierr_set(e, API_E_TAGSVC_KEY_DUP, path);
        snprintf(path, sizeof path, "%s.%zu.TagValue", name, i);
        if ((rc = check_value(tags[i].value, path, e)) != API_E_OK)
            return rc;
    }
    *n = nlist;
    return API_E_OK;
}

/* The store's answer for one resource as an API error. */
static enum api_err tags_err(const struct actx *c, int rc, const char *id, const struct serr *se,
                             struct apierr *e)
{
    (void)se;
    switch (rc) {
    case STORE_OK:
        return API_E_OK;
    case STORE_NOTFOUND:
        return apierr_set(e, API_E_TAGSVC_NO_RESOURCE, id);
    case STORE_QUOTA:
        return apierr_set(e, API_E_TAGSVC_ATTACHED, id);
    default:
        return api_store_failed(c, rc, se, e);
    }
}

/* Applies set/del to every resource of ResourceList (list[0..n), at most
 * MAX_RESOURCES: checked by the caller); a resource that fails goes to
 * FailedResources. */
static enum api_err modify_list(struct actx *c, const char *const *list, size_t n, json_t *out,
                                const struct tag *set, size_t nset, const char *const *del,
                                size_t ndel, struct apierr *e)
{
    json_t *failed = json_array();
    struct fl_name names[MAX_RESOURCES];
    size_t i;
    enum api_err rc;

    if (!failed)
        return apierr_set(e, API_E_INTERNAL, NULL);
    for (i = 0; i < n; i++) {
        if ((rc = parse_name(c, list[i], &names[i], e)) != API_E_OK) {
            json_decref(failed);
            return rc;
        }
    }
    for (i = 0; i < n; i++) {
        struct serr se = {{0}};
        struct apierr one = {API_E_OK, ""};
        char msg[512];
        int src = STORE_NOTFOUND;
        if (!names[i].foreign)
            src = store_flowlog_tags_modify(c->store, c->account->uin, names[i].region,
                                            names[i].id, set, nset, del, ndel, &se);
        if (tags_err(c, src, names[i].id, &se, &one) == API_E_OK)
            continue;
        apierr_message(one.id, c->lang, one.arg, msg, sizeof msg);
        if (json_array_append_new(failed, json_pack("{s:s, s:s, s:s}", "Resource", list[i], "Code",
                                                    apierr_code(one.id), "Message", msg)) != 0) {
            json_decref(failed);
            return apierr_set(e, API_E_INTERNAL, NULL);
        }
    }
    if (json_object_set_new(out, "FailedResources", failed) != 0)
        return apierr_set(e, API_E_INTERNAL, NULL);
    return API_E_OK;
}

/* ==== TagResources / UnTagResources / ModifyResourceTags ==== */

enum api_err act_tag_resources(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_TagResourcesRequest *r = c->in;
    struct tag_in tags[MAX_TAGS];
    struct tag set[MAX_TAGS];
    size_t n;
    enum api_err rc;

    if ((rc = list_size(r->ResourceList.n, "ResourceList", MAX_RESOURCES, API_E_TAG_RES_PER_REQ,
                        e)) != API_E_OK ||
        (rc = list_size(r->Tags.n, "Tags", MAX_TAGS, API_E_TAG_NUM_PER_REQ, e)) != API_E_OK ||
        (rc = read_tag_list(r->Tags.v, r->Tags.n, "Tags", tags, &n, e)) != API_E_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        set[i] = (struct tag){tags[i].key, tags[i].value};
    return modify_list(c, r->ResourceList.v, r->ResourceList.n, out, set, n, NULL, 0, e);
}

enum api_err act_untag_resources(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_UnTagResourcesRequest *r = c->in;
    const char *del[MAX_TAGS];
    size_t i;
    enum api_err rc;

    if ((rc = list_size(r->ResourceList.n, "ResourceList", MAX_RESOURCES, API_E_TAG_RES_PER_REQ,
                        e)) != API_E_OK ||
        (rc = list_size(r->TagKeys.n, "TagKeys", MAX_TAGS, API_E_TAG_NUM_PER_REQ, e)) != API_E_OK)
        return rc;
    for (i = 0; i < r->TagKeys.n; i++) {
        char path[96];
        del[i] = r->TagKeys.v[i];
        snprintf(path, sizeof path, "TagKeys.%zu", i);
        if ((rc = check_key(del[i], path, e)) != API_E_OK)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(del[j], del[i]) == 0)
                return apierr_set(e, API_E_TAGSVC_KEY_DUP, path);
    }
    return modify_list(c, r->ResourceList.v, r->ResourceList.n, out, NULL, 0, del, r->TagKeys.n,
                       e);
}

enum api_err act_modify_resource_tags(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_ModifyResourceTagsRequest *r = c->in;
    int rep = r->ReplaceTags.v != NULL, delj = r->DeleteTags.v != NULL;
    struct tag_in tags[MAX_TAGS];
    struct tag set[MAX_TAGS];
    const char *del[MAX_TAGS];
    struct fl_name name;
    struct serr se = {{0}};
    size_t nset = 0, ndel = r->DeleteTags.n, i;
    enum api_err rc;

    (void)out;
    if (!rep && !delj)
        return apierr_set(e, API_E_PARAM_MISSING, "ReplaceTags");
    if (rep && (rc = list_size(r->ReplaceTags.n, "ReplaceTags", MAX_TAGS, API_E_TAG_NUM_PER_REQ,
                               e)) != API_E_OK)
        return rc;
    if (delj && (rc = list_size(ndel, "DeleteTags", MAX_TAGS, API_E_TAG_NUM_PER_REQ, e)) != API_E_OK)
        return rc;
    if (rep && (rc = read_tag_list(r->ReplaceTags.v, r->ReplaceTags.n, "ReplaceTags", tags, &nset,
                                   e)) != API_E_OK)
        return rc;
    for (i = 0; i < ndel; i++) {
        char path[96];
        del[i] = r->DeleteTags.v[i].TagKey;
        snprintf(path, sizeof path, "DeleteTags.%zu.TagKey", i);
        if ((rc = check_key(del[i], path, e)) != API_E_OK)
            return rc;
        for (size_t k = 0; k < nset; k++)
            if (strcmp(tags[k].key, del[i]) == 0)
                return apierr_set(e, API_E_TAG_DELETE_CONFLICT, del[i]);
    }
    for (i = 0; i < nset; i++)
        set[i] = (struct tag){tags[i].key, tags[i].value};
    if ((rc = parse_name(c, r->Resource, &name, e)) != API_E_OK)
        return rc;
    if (name.foreign)
        return apierr_set(e, API_E_TAGSVC_NO_RESOURCE, name.id);
    return tags_err(c,
                    store_flowlog_tags_modify(c->store, c->account->uin, name.region, name.id,
                                              set, nset, del, ndel, &se),
                    name.id, &se, e);
}

/* ==== DescribeResourceTagsByResourceIds ==== */

static json_t *md5_hex(const char *s)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    if (EVP_Digest(s, strlen(s), md, &n, EVP_md5(), NULL) != 1)
        return json_string("");
    hex_encode(md, n, hex);
    return json_string(hex);
}

enum api_err act_describe_resource_tags_by_resource_ids(struct actx *c, json_t *out,
                                                        struct apierr *e)
{
    static const char *const categories[] = {"Custom", "System", "All", NULL};
    const struct in_DescribeResourceTagsByResourceIdsRequest *r = c->in;
    const char *service = r->ServiceType, *prefix = r->ResourcePrefix;
    const char *region = r->ResourceRegion, *category = r->Category;
    const char *const *ids = r->ResourceIds.v;
    json_t *rows = NULL, *page = NULL;
    uint64_t offset = r->Offset ? *r->Offset : 0;
    uint64_t limit = r->Limit ? *r->Limit : DEFAULT_PAGE;
    size_t i, j, n = r->ResourceIds.n;
    enum api_err rc = API_E_OK;

    if (strcmp(service, "vpc") != 0)
        return apierr_set(e, API_E_TAG_SERVICE_TYPE, service);
    if (strcmp(prefix, "fl") != 0)
        return apierr_set(e, API_E_TAG_PREFIX, prefix);
    if (!region_known(region))
        return apierr_set(e, API_E_TAG_REGION, region);
    if (n == 0 || n > MAX_DESCRIBE_IDS)
        return apierr_set(e, API_E_PARAM_VALUE, "ResourceIds");
    for (i = 0; i < n; i++) {
        if (!id_has_form(ids[i], "fl"))
            return apierr_set(e, API_E_TAG_RESOURCE_ID, ids[i]);
    }
    if (category && *category && !str_in(category, categories))
        return apierr_set(e, API_E_PARAM_VALUE, "Category");
    if (limit == 0)
        return apierr_set(e, API_E_PARAM_VALUE, "Limit");

    if (!(rows = json_array()) || !(page = json_array())) {
        rc = apierr_set(e, API_E_INTERNAL, NULL);
        goto done;
    }
    /* flowlogd's tags are all Custom: System shows none */
    for (i = 0; i < n && !(category && strcmp(category, "System") == 0); i++) {
        const char *id = ids[i];
        struct tagcopy t;
        int dup = 0;
        for (j = 0; j < i && !dup; j++)
            dup = strcmp(id, ids[j]) == 0;
        if (dup)
            continue;
        if ((rc = read_tags(c, region, id, &t, e)) != API_E_OK)
            goto done;
        for (j = 0; j < t.n; j++) {
            json_t *row = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s}", "TagKey", t.k[j],
                                    "TagValue", t.v[j], "ResourceId", id, "TagKeyMd5",
                                    md5_hex(t.k[j]), "TagValueMd5", md5_hex(t.v[j]),
                                    "ServiceType", "vpc", "Category", "Custom");
            if (!row || json_array_append_new(rows, row) != 0) {
                tagcopy_free(&t);
                rc = apierr_set(e, API_E_INTERNAL, NULL);
                goto done;
            }
        }
        tagcopy_free(&t);
    }
    for (uint64_t k = offset; k < json_array_size(rows) && k - offset < limit; k++)
        json_array_append(page, json_array_get(rows, (size_t)k));
    if (json_object_set_new(out, "TotalCount", json_integer((json_int_t)json_array_size(rows))) ||
        json_object_set_new(out, "Offset", json_integer((json_int_t)offset)) ||
        json_object_set_new(out, "Limit", json_integer((json_int_t)limit)) ||
        json_object_set(out, "Tags", page))
        rc = apierr_set(e, API_E_INTERNAL, NULL);
done:
    json_decref(rows);
    json_decref(page);
    return rc;
}

/* ==== GetResources ==== */

struct tag_filter {
    const char *key;
    const char *const *values; /* none or empty: the key alone */
    size_t nvalues;
};

struct match {
    size_t region; /* index into the region list */
    char id[16];
    json_t *tags;  /* [{TagKey, TagValue}] */
};

struct scan {
    const struct tag_filter *f;
    size_t nf;
    size_t region;
    struct match *m;
    size_t n, cap;
    int oom;
};

/* Has the flow log every filter's key, with one of its values if any? */
static int tags_match(const struct flowlog *fl, const struct tag_filter *f, size_t nf)
{
    for (size_t i = 0; i < nf; i++) {
        int ok = 0;
        for (size_t t = 0; t < fl->ntags && !ok; t++) {
            if (strcmp(fl->tags[t].key, f[i].key) != 0)
                continue;
            if (f[i].nvalues == 0)
                ok = 1;
            for (size_t k = 0; k < f[i].nvalues; k++) {
                if (strcmp(f[i].values[k], fl->tags[t].value) == 0)
                    ok = 1;
            }
        }
        if (!ok)
            return 0;
    }
    return 1;
}

static json_t *tag_list(const struct flowlog *fl)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < fl->ntags; i++)
        if (json_array_append_new(a, json_pack("{s:s, s:s}", "TagKey", fl->tags[i].key,
                                               "TagValue", fl->tags[i].value)) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static void on_scan(void *ud, const struct flowlog *fl)
{
    struct scan *s = ud;
    struct match *m;
    if (s->oom || fl->ntags == 0 || !tags_match(fl, s->f, s->nf))
        return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct match *p = realloc(s->m, cap * sizeof *p);
        if (!p) {
            s->oom = 1;
            return;
        }
        s->m = p;
        s->cap = cap;
    }
    m = &s->m[s->n];
    m->region = s->region;
    snprintf(m->id, sizeof m->id, "%s", fl->id);
    if (!(m->tags = tag_list(fl))) {
        s->oom = 1;
        return;
    }
    s->n++;
}

static int cmp_match(const void *x, const void *y)
{
    const struct match *a = x, *b = y;
    if (a->region != b->region)
        return a->region < b->region ? -1 : 1;
    return strcmp(a->id, b->id);
}

static void scan_free(struct scan *s)
{
    for (size_t i = 0; i < s->n; i++)
        json_decref(s->m[i].tags);
    free(s->m);
}

/* The token is "<region>/<FlowLogId>" of the last resource returned. */
static int parse_token(const char *tok, size_t *region, char id[16])
{
    const char *slash = strchr(tok, '/');
    char r[32];
    size_t n;
    if (!slash || (n = (size_t)(slash - tok)) >= sizeof r || !id_has_form(slash + 1, "fl"))
        return -1;
    memcpy(r, tok, n);
    r[n] = '\0';
    for (size_t i = 0; region_at(i); i++)
        if (strcmp(region_at(i), r) == 0) {
            *region = i;
            snprintf(id, 16, "%s", slash + 1);
            return 0;
        }
    return -1;
}

enum api_err act_get_resources(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_GetResourcesRequest *gr = c->in;
    const char *const *list = gr->ResourceList.v;
    size_t nlist = gr->ResourceList.n;
    const uint64_t *max = gr->MaxResults;
    json_t *mappings = NULL;
    const char *token = gr->PaginationToken;
    struct tag_filter f[MAX_TAG_FILTERS];
    struct tag pairs[MAX_TAG_FILTERS * MAX_FILTER_VALUES];
    struct scan s;
    struct flowlog_query q;
    struct serr se = {{0}};
    size_t i, nf = gr->TagFilters.n, npairs = 0, tok_region = 0;
    uint64_t max_results = max ? *max : DEFAULT_RESULTS;
    char tok_id[16] = "", next[64] = "";
    enum api_err rc = API_E_OK;

    memset(&s, 0, sizeof s);
    if (nlist > MAX_RESOURCES)
        return apierr_set(e, API_E_TAG_RES_PER_REQ, "ResourceList");
    if (nf > MAX_TAG_FILTERS)
        return apierr_set(e, API_E_TAG_NUM_PER_REQ, "TagFilters");
    for (i = 0; i < nf; i++) {
        char path[96];
        f[i].key = gr->TagFilters.v[i].TagKey;
        f[i].values = gr->TagFilters.v[i].TagValue.v;
        f[i].nvalues = gr->TagFilters.v[i].TagValue.n;
        snprintf(path, sizeof path, "TagFilters.%zu.TagKey", i);
        if ((rc = check_key(f[i].key, path, e)) != API_E_OK)
            return rc;
        for (size_t k = 0; k < i; k++)
            if (strcmp(f[k].key, f[i].key) == 0)
                return apierr_set(e, API_E_TAGSVC_KEY_DUP, path);
        if (f[i].nvalues > MAX_FILTER_VALUES)
            return apierr_setf(e, API_E_TAG_NUM_PER_REQ, "TagFilters.%zu.TagValue", i);
        for (size_t j = 0; j < f[i].nvalues; j++) {
            snprintf(path, sizeof path, "TagFilters.%zu.TagValue.%zu", i, j);
            if ((rc = check_value(f[i].values[j], path, e)) != API_E_OK)
                return rc;
        }
    }
    if (max && (max_results < 1 || max_results > MAX_RESULTS))
        return apierr_set(e, API_E_PARAM_VALUE, "MaxResults");
    if (!nlist && token && *token && parse_token(token, &tok_region, tok_id) != 0)
        return apierr_set(e, API_E_TAG_TOKEN, token);
    if (!(mappings = json_array()))
        return apierr_set(e, API_E_INTERNAL, NULL);
    s.f = f;
    s.nf = nf;

    if (nlist) {
        /* the resources named (those that exist and carry tags); no paging */
        struct fl_name names[MAX_RESOURCES];
        for (i = 0; i < nlist; i++) {
            if ((rc = parse_name(c, list[i], &names[i], e)) != API_E_OK)
                goto done;
        }
        for (i = 0; i < nlist; i++) {
            if (names[i].foreign)
                continue;
            for (s.region = 0; region_at(s.region); s.region++)
                if (strcmp(region_at(s.region), names[i].region) == 0)
                    break;
            int src = store_flowlog_get(c->store, c->account->uin, names[i].region,
                                        names[i].id, on_scan, &s, &se);
            if (src != STORE_OK && src != STORE_NOTFOUND) {
                rc = api_store_failed(c, src, &se, e);
                goto done;
            }
        }
        max_results = (uint64_t)-1;
    } else {
        /* every region, in the list's order; filters with values narrow the
         * query, key-only ones are checked on the rows */
        for (i = 0; i < nf; i++)
            for (size_t k = 0; k < f[i].nvalues; k++)
                pairs[npairs++] = (struct tag){f[i].key, f[i].values[k]};
        for (s.region = tok_id[0] ? tok_region : 0; region_at(s.region); s.region++) {
            size_t before = s.n;
            memset(&q, 0, sizeof q);
            q.uin = c->account->uin;
            q.region = region_at(s.region);
            q.tag_pairs = pairs;
            q.ntag_pairs = npairs;
            int src = store_flowlog_query(c->store, &q, on_scan, &s, NULL, &se);
            if (src != STORE_OK) {
                rc = api_store_failed(c, src, &se, e);
                goto done;
            }
            if (s.oom)
                break;
            /* drop what the token says was already returned */
            if (tok_id[0] && s.region == tok_region) {
                size_t w = before;
                for (size_t r = before; r < s.n; r++) {
                    if (strcmp(s.m[r].id, tok_id) > 0)
                        s.m[w++] = s.m[r];
                    else
                        json_decref(s.m[r].tags);
                }
                s.n = w;
            }
            if (s.n > max_results)
                break; /* enough to fill the page and know there is more */
        }
    }
    if (s.oom) {
        rc = apierr_set(e, API_E_INTERNAL, NULL);
        goto done;
    }
    if (s.n > 1)
        qsort(s.m, s.n, sizeof *s.m, cmp_match);
    for (i = 0; i < s.n && i < max_results; i++) {
        json_t *m = json_pack("{s:o, s:O}", "Resource",
                              resource_name(c, region_at(s.m[i].region), s.m[i].id), "Tags",
                              s.m[i].tags);
        if (!m || json_array_append_new(mappings, m) != 0) {
            rc = apierr_set(e, API_E_INTERNAL, NULL);
            goto done;
        }
    }
    if (s.n > max_results && max_results > 0)
        snprintf(next, sizeof next, "%s/%s", region_at(s.m[max_results - 1].region),
                 s.m[max_results - 1].id);
    if (json_object_set_new(out, "PaginationToken", json_string(next)) != 0 ||
        json_object_set(out, "ResourceTagMappingList", mappings) != 0)
        rc = apierr_set(e, API_E_INTERNAL, NULL);
done:
    scan_free(&s);
    json_decref(mappings);
    return rc;
}
