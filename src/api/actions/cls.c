/* cls.c: the cls service (cls 2020-10-16): logsets, topics and UploadLog.
 *
 * Inputs, outputs and error codes as CLS has them (spec/cls-api.json,
 * tencentcloud-sdk-go cls/v20201016/errors.go). Logsets and topics belong
 * to (uin, region); another tenant's do not exist for the caller. A topic
 * made here is a CLS topic of the tenant's inventory too: CreateFlowLog
 * accepts it as CloudLogId in its region.
 *
 * UploadLog's body is CLS's (cls/body.c); a LogGroup carrying the logTag
 * CLS_BATCH_TAG is an idempotent batch: the CLS sink names each batch
 * (agent, flow log, window, batch number) so that a retried upload is
 * stored once (docs/API.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/action.h"
#include "api/cls_common.h"
#include "api/schema_gen.h"
#include "base/util.h"
#include "cls/body.h"

#define DEFAULT_LIMIT 20
#define MAX_LIMIT 100
#define MAX_TAGS 10
#define MAX_FILTERS 10
#define MAX_FILTER_VALUES 100
#define DEFAULT_PERIOD 30
#define MAX_PERIOD 3600
#define FOREVER_PERIOD 3640 /* CLS: kept forever */

/* ==== shared ==== */

enum api_err cls_unsupported(struct actx *c, struct apierr *e)
{
    if (store_has_cls(c->store))
        return API_E_OK;
    return apierr_set(e, API_E_UNSUPPORTED,
                      "the cls service keeps its data in the embedded store; this server runs on "
                      "PostgreSQL, where it is not available yet");
}

/* Reads Tags [{Key, Value}]: at most MAX_TAGS, keys non-empty, unique. */
static enum api_err read_tags(const struct in_cls_Tag *in, size_t nin, struct tag *out,
                              size_t *n, struct apierr *e)
{
    size_t i;
    *n = 0;
    if (!in)
        return API_E_OK;
    if (nin > MAX_TAGS)
        return apierr_set(e, API_E_VALUE_LIMIT, "Tags");
    for (i = 0; i < nin; i++) {
        const char *k = in[i].Key, *v = in[i].Value;
        char name[48];
        snprintf(name, sizeof name, "Tags.%zu.Key", i);
        if (!k || !*k || utf8_count(k, strlen(k)) > 127)
            return apierr_set(e, API_E_PARAM_VALUE, name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(out[j].key, k) == 0)
                return apierr_set(e, API_E_PARAM_VALUE, name);
        snprintf(name, sizeof name, "Tags.%zu.Value", i);
        if (!v || utf8_count(v, strlen(v)) > 255)
            return apierr_set(e, API_E_PARAM_VALUE, name);
        out[i] = (struct tag){k, v};
    }
    *n = i;
    return API_E_OK;
}

static json_t *tags_json(const struct tag *t, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_pack("{s:s,s:s}", "Key", t[i].key, "Value", t[i].value));
    return a;
}

/* An id the caller may choose (LogsetId, TopicId): what CLS allows, lower
 * case letters, digits and '-', 3 to 63 characters, not starting or
 * ending with '-'. */
static int id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

static enum api_err name_check(const char *name, const char *param, struct apierr *e)
{
    if (!name || !*name || utf8_count(name, strlen(name)) > 255 || strchr(name, '|'))
        return apierr_set(e, API_E_PARAM_VALUE, param);
    return API_E_OK;
}

/* A Filters list: at most MAX_FILTERS, each a known Key with 1..100 values. */
struct filt {
    const char *key;
    const char *const *values;
    size_t nvalues;
};

static enum api_err read_filters(const struct in_cls_Filter *in, size_t nin,
                                 const char *const *known, struct filt *out, size_t *n,
                                 struct apierr *e)
{
    size_t i;
    *n = 0;
    if (!in)
        return API_E_OK;
    if (nin > MAX_FILTERS)
        return apierr_set(e, API_E_VALUE_LIMIT, "Filters");
    for (i = 0; i < nin; i++) {
        const char *k = in[i].Key;
        size_t nv = in[i].Values.n;
        char name[48];
        int ok = 0;
        snprintf(name, sizeof name, "Filters.%zu.Key", i);
        for (size_t j = 0; k && known[j]; j++)
            ok |= strcmp(known[j], k) == 0 || (strcmp(known[j], "tag:") == 0 &&
                                               strncmp(k, "tag:", 4) == 0 && k[4]);
        if (!ok)
            return apierr_set(e, API_E_PARAM_VALUE, name);
        snprintf(name, sizeof name, "Filters.%zu.Values", i);
        if (nv == 0 || nv > MAX_FILTER_VALUES)
            return apierr_set(e, API_E_PARAM_VALUE, name);
        out[i] = (struct filt){k, in[i].Values.v, nv};
    }
    *n = i;
    return API_E_OK;
}

/* 1 if `s` matches one of the filter's values: exactly, or (substr) as a
 * part of it. */
static int value_in(const struct filt *f, const char *s, int substr)
{
    for (size_t i = 0; i < f->nvalues; i++) {
        const char *x = f->values[i];
        if (x && (substr ? strstr(s, x) != NULL : strcmp(s, x) == 0))
            return 1;
    }
    return 0;
}

/* tagKey / tag:<key> against a list of tags */
static int tag_filter(const struct filt *f, const struct tag *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f->key, "tagKey") == 0 && value_in(f, t[i].key, 0))
            return 1;
        if (strncmp(f->key, "tag:", 4) == 0 && strcmp(f->key + 4, t[i].key) == 0 &&
            value_in(f, t[i].value, 0))
            return 1;
    }
    return 0;
}

static enum api_err page_args(const int64_t *o, const int64_t *l, uint64_t *offset,
                              uint64_t *limit, struct apierr *e)
{
    *offset = 0;
    *limit = DEFAULT_LIMIT;
    if (o) {
        if (*o < 0)
            return apierr_set(e, API_E_PARAM_VALUE, "Offset");
        *offset = (uint64_t)*o;
    }
    if (l) {
        if (*l < 1 || *l > MAX_LIMIT)
            return apierr_set(e, API_E_PARAM_VALUE, "Limit");
        *limit = (uint64_t)*l;
    }
    return API_E_OK;
}

static json_t *time_json(int64_t t)
{
    char s[20];
    fmt_time_cst((time_t)t, s);
    return json_string(s);
}

/* ==== logsets ==== */

enum api_err act_create_logset(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_CreateLogsetRequest *req = c->in;
    struct cls_logset ls;
    struct tag tags[MAX_TAGS];
    struct serr se = {{0}};
    const char *name = req->LogsetName, *id = in_opt(req->LogsetId);
    enum api_err rc;
    int r;

    memset(&ls, 0, sizeof ls);
    if ((rc = cls_unsupported(c, e)) != API_E_OK ||
        (rc = name_check(name, "LogsetName", e)) != API_E_OK ||
        (rc = read_tags(req->Tags.v, req->Tags.n, tags, &ls.ntags, e)) != API_E_OK)
        return rc;
    if (id && !id_ok(id))
        return apierr_set(e, API_E_PARAM_VALUE, "LogsetId");
    snprintf(ls.uin, sizeof ls.uin, "%s", c->account->uin);
    snprintf(ls.region, sizeof ls.region, "%s", c->region);
    snprintf(ls.name, sizeof ls.name, "%s", name);
    if (id)
        snprintf(ls.id, sizeof ls.id, "%s", id);
    else if (gen_uuid(ls.id) != 0)
        return apierr_set(e, API_E_INTERNAL, NULL);
    ls.created_at = c->now;
    ls.tags = tags;
    r = store_cls_logset_create(c->store, &ls, &se);
    if (r == STORE_EXISTS)
        return apierr_set(e, API_E_CLS_LOGSET_CONFLICT, se.msg);
    if (r == STORE_QUOTA)
        return apierr_set(e, API_E_CLS_LOGSET_LIMIT, se.msg);
    if (r != STORE_OK)
        return api_store_failed(c, r, &se, e);
    json_object_set_new(out, "LogsetId", json_string(ls.id));
    return API_E_OK;
}

struct logset_list {
    const struct filt *f;
    size_t nf;
    uint64_t offset, limit, total;
    json_t *arr;
};

static void on_logset(void *ud, const struct cls_logset *ls)
{
    struct logset_list *l = ud;
    for (size_t i = 0; i < l->nf; i++) {
        const struct filt *f = &l->f[i];
        int ok = strcmp(f->key, "logsetName") == 0   ? value_in(f, ls->name, 1)
                 : strcmp(f->key, "logsetId") == 0 ? value_in(f, ls->id, 0)
                                                     : tag_filter(f, ls->tags, ls->ntags);
        if (!ok)
            return;
    }
    if (l->total++ < l->offset || json_array_size(l->arr) >= l->limit)
        return;
    json_array_append_new(l->arr,
                          json_pack("{s:s,s:s,s:o,s:s,s:o,s:I,s:s}", "LogsetId", ls->id,
                                    "LogsetName", ls->name, "CreateTime",
                                    time_json(ls->created_at), "AssumerName", "", "Tags",
                                    tags_json(ls->tags, ls->ntags), "TopicCount",
                                    (json_int_t)ls->topic_count, "RoleName", ""));
}

enum api_err act_describe_logsets(struct actx *c, json_t *out, struct apierr *e)
{
    static const char *const known[] = {"logsetName", "logsetId", "tagKey", "tag:", NULL};
    const struct in_DescribeLogsetsRequest *req = c->in;
    struct filt f[MAX_FILTERS];
    struct logset_list l = {f, 0, 0, 0, 0, NULL};
    struct serr se = {{0}};
    enum api_err rc;
    int r;

    if ((rc = cls_unsupported(c, e)) != API_E_OK ||
        (rc = read_filters(req->Filters.v, req->Filters.n, known, f, &l.nf, e)) != API_E_OK ||
        (rc = page_args(req->Offset, req->Limit, &l.offset, &l.limit, e)) != API_E_OK)
        return rc;
    l.arr = json_array();
    r = store_cls_logset_list(c->store, c->account->uin, c->region, on_logset, &l, &se);
    if (r != STORE_OK) {
        json_decref(l.arr);
        return api_store_failed(c, r, &se, e);
    }
    json_object_set_new(out, "TotalCount", json_integer((json_int_t)l.total));
    json_object_set_new(out, "Logsets", l.arr);
    return API_E_OK;
}

enum api_err act_delete_logset(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_DeleteLogsetRequest *req = c->in;
    struct serr se = {{0}};
    const char *id = req->LogsetId;
    enum api_err rc;
    int r;
    (void)out;
    if ((rc = cls_unsupported(c, e)) != API_E_OK)
        return rc;
    r = store_cls_logset_delete(c->store, c->account->uin, c->region, id, &se);
    if (r == STORE_NOTFOUND)
        return apierr_set(e, API_E_CLS_LOGSET_NOTFOUND, id);
    if (r == STORE_INUSE)
        return apierr_set(e, API_E_CLS_LOGSET_NOT_EMPTY, id);
    if (r != STORE_OK)
        return api_store_failed(c, r, &se, e);
    return API_E_OK;
}

/* ==== topics ==== */

/* The members CreateTopic and ModifyTopic share (each NULL when absent;
 * CreateTopic has no Status). */
struct topic_in {
    const char *name, *storage_type, *describes;
    const int64_t *partition_count, *period;
    const int *status;
};

/* The topic's settable members of `in` onto t (CreateTopic, ModifyTopic). */
static enum api_err topic_args(const struct topic_in *in, struct cls_topic *t, struct apierr *e)
{
    const int64_t *v;
    const char *s;
    if ((s = in->name)) {
        enum api_err rc = name_check(s, "TopicName", e);
        if (rc != API_E_OK)
            return rc;
        snprintf(t->name, sizeof t->name, "%s", s);
    }
    if ((v = in->partition_count)) {
        if (*v < 1 || *v > 10)
            return apierr_set(e, API_E_PARAM_VALUE, "PartitionCount");
        t->partition_count = (uint32_t)*v;
    }
    if ((s = in_opt(in->storage_type))) {
        if (strcmp(s, "hot") != 0 && strcmp(s, "cold") != 0)
            return apierr_set(e, API_E_PARAM_VALUE, "StorageType");
        snprintf(t->storage_type, sizeof t->storage_type, "%s", s);
    }
    if ((v = in->period)) {
        int64_t p = *v;
        if (p != FOREVER_PERIOD && (p < 1 || p > MAX_PERIOD))
            return apierr_set(e, API_E_CLS_PERIOD, "Period must be 1 to 3600 days, or 3640");
        if (strcmp(t->storage_type, "cold") == 0 && p < 7)
            return apierr_set(e, API_E_CLS_PERIOD, "a cold topic keeps its logs 7 days or more");
        t->period = (uint32_t)p;
    }
    if ((s = in->describes)) {
        if (utf8_count(s, strlen(s)) > 100)
            return apierr_set(e, API_E_PARAM_VALUE, "Describes");
        snprintf(t->describes, sizeof t->describes, "%s", s);
    }
    if (in->status)
        t->status = *in->status != 0;
    return API_E_OK;
}

enum api_err act_create_topic(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_CreateTopicRequest *req = c->in;
    const struct topic_in ti = {req->TopicName, req->StorageType, req->Describes,
                                req->PartitionCount, req->Period, NULL};
    struct cls_topic t;
    struct tag tags[MAX_TAGS];
    struct serr se = {{0}};
    const char *id = in_opt(req->TopicId);
    enum api_err rc;
    int r;

    if ((rc = cls_unsupported(c, e)) != API_E_OK)
        return rc;
    memset(&t, 0, sizeof t);
    snprintf(t.storage_type, sizeof t.storage_type, "hot");
    t.period = DEFAULT_PERIOD;
    t.partition_count = 1;
    t.status = 1;
    if ((rc = topic_args(&ti, &t, e)) != API_E_OK ||
        (rc = read_tags(req->Tags.v, req->Tags.n, tags, &t.ntags, e)) != API_E_OK)
        return rc;
    if (id && !id_ok(id))
        return apierr_set(e, API_E_PARAM_VALUE, "TopicId");
    snprintf(t.uin, sizeof t.uin, "%s", c->account->uin);
    snprintf(t.region, sizeof t.region, "%s", c->region);
    snprintf(t.logset_id, sizeof t.logset_id, "%s", req->LogsetId);
    if (id)
        snprintf(t.id, sizeof t.id, "%s", id);
    else if (gen_uuid(t.id) != 0)
        return apierr_set(e, API_E_INTERNAL, NULL);
    t.created_at = c->now;
    t.tags = tags;
    r = store_cls_topic_create(c->store, &t, &se);
    if (r == STORE_NOTFOUND)
        return apierr_set(e, API_E_CLS_LOGSET_NOTFOUND, t.logset_id);
    if (r == STORE_EXISTS)
        return apierr_set(e, API_E_CLS_TOPIC_CONFLICT, se.msg);
    if (r == STORE_QUOTA)
        return apierr_set(e, API_E_CLS_TOPIC_LIMIT, se.msg);
    if (r != STORE_OK)
        return api_store_failed(c, r, &se, e);
    json_object_set_new(out, "TopicId", json_string(t.id));
    return API_E_OK;
}

static json_t *topic_json(const struct cls_topic *t)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:b,s:o,s:b,s:o,s:b,s:I,s:s,s:I,s:s,s:I,s:I,s:b}",
                     "LogsetId", t->logset_id, "TopicId", t->id, "TopicName", t->name,
                     "PartitionCount", (json_int_t)t->partition_count, "Index", 1, "CreateTime",
                     time_json(t->created_at), "Status", t->status, "Tags",
                     tags_json(t->tags, t->ntags), "AutoSplit", 0, "MaxSplitPartitions",
                     (json_int_t)50, "StorageType", t->storage_type, "Period",
                     (json_int_t)t->period, "Describes", t->describes, "HotPeriod",
                     (json_int_t)0, "BizType", (json_int_t)0, "IsWebTracking", 0);
}

struct topic_list {
    const struct filt *f;
    size_t nf;
    int64_t precise; /* PreciseSearch: 1 topicName exact, 2 logsetName exact (bits) */
    uint64_t offset, limit, total;
    json_t *arr;
    const char *want_id; /* topic_find: only this id, into `found` */
    struct cls_topic found;
    int have;
    struct tag found_tags[MAX_TAGS];
    char tagbuf[MAX_TAGS][2][384];
};

static void on_topic(void *ud, const struct cls_topic *t)
{
    struct topic_list *l = ud;
    if (l->want_id) {
        if (strcmp(t->id, l->want_id) != 0)
            return;
        l->found = *t;
        l->found.ntags = t->ntags < MAX_TAGS ? t->ntags : MAX_TAGS;
        for (size_t i = 0; i < l->found.ntags; i++) {
            snprintf(l->tagbuf[i][0], sizeof l->tagbuf[i][0], "%s", t->tags[i].key);
            snprintf(l->tagbuf[i][1], sizeof l->tagbuf[i][1], "%s", t->tags[i].value);
            l->found_tags[i] = (struct tag){l->tagbuf[i][0], l->tagbuf[i][1]};
        }
        l->found.tags = l->found_tags;
        l->have = 1;
        return;
    }
    for (size_t i = 0; i < l->nf; i++) {
        const struct filt *f = &l->f[i];
        int ok;
        if (strcmp(f->key, "topicName") == 0)
            ok = value_in(f, t->name, !(l->precise & 1));
        else if (strcmp(f->key, "topicId") == 0)
            ok = value_in(f, t->id, 0);
        else if (strcmp(f->key, "logsetId") == 0)
            ok = value_in(f, t->logset_id, 0);
        else if (strcmp(f->key, "storageType") == 0)
            ok = value_in(f, t->storage_type, 0);
        else
            ok = tag_filter(f, t->tags, t->ntags);
        if (!ok)
            return;
    }
    if (l->total++ < l->offset || json_array_size(l->arr) >= l->limit)
        return;
    json_array_append_new(l->arr, topic_json(t));
}

enum api_err act_describe_topics(struct actx *c, json_t *out, struct apierr *e)
{
    static const char *const known[] = {"topicName", "topicId", "logsetId", "storageType",
                                        "tagKey", "tag:", NULL};
    const struct in_DescribeTopicsRequest *req = c->in;
    struct filt f[MAX_FILTERS];
    struct topic_list *l = calloc(1, sizeof *l);
    struct serr se = {{0}};
    enum api_err rc;
    int r;

    if (!l)
        return apierr_set(e, API_E_INTERNAL, NULL);
    l->f = f;
    l->precise = req->PreciseSearch ? *req->PreciseSearch : 0;
    if ((rc = cls_unsupported(c, e)) != API_E_OK ||
        (rc = read_filters(req->Filters.v, req->Filters.n, known, f, &l->nf, e)) != API_E_OK ||
        (rc = page_args(req->Offset, req->Limit, &l->offset, &l->limit, e)) != API_E_OK) {
        free(l);
        return rc;
    }
    l->arr = json_array();
    r = store_cls_topic_list(c->store, c->account->uin, c->region, on_topic, l, &se);
    if (r != STORE_OK) {
        json_decref(l->arr);
        free(l);
        return api_store_failed(c, r, &se, e);
    }
    json_object_set_new(out, "Topics", l->arr);
    json_object_set_new(out, "TotalCount", json_integer((json_int_t)l->total));
    free(l);
    return API_E_OK;
}

int cls_topic_find(struct actx *c, const char *id, struct cls_topic *out, struct serr *se)
{
    struct topic_list *l = calloc(1, sizeof *l);
    int r;
    if (!l)
        return STORE_ERR;
    l->want_id = id;
    r = store_cls_topic_list(c->store, c->account->uin, c->region, on_topic, l, se);
    if (r == STORE_OK && !l->have)
        r = STORE_NOTFOUND;
    if (r == STORE_OK) {
        *out = l->found;
        out->tags = NULL; /* the tags stay in l */
        out->ntags = 0;
    }
    free(l);
    return r;
}

enum api_err act_modify_topic(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_ModifyTopicRequest *req = c->in;
    const struct topic_in ti = {req->TopicName, req->StorageType, req->Describes,
                                req->PartitionCount, req->Period, req->Status};
    struct cls_topic t;
    struct tag tags[MAX_TAGS];
    struct serr se = {{0}};
    const char *id = req->TopicId;
    enum api_err rc;
    int r, set_tags = req->Tags.v != NULL;
    (void)out;

    if ((rc = cls_unsupported(c, e)) != API_E_OK)
        return rc;
    r = cls_topic_find(c, id, &t, &se);
    if (r == STORE_NOTFOUND)
        return apierr_set(e, API_E_CLS_TOPIC_NOTFOUND, id);
    if (r != STORE_OK)
        return api_store_failed(c, r, &se, e);
    if ((rc = topic_args(&ti, &t, e)) != API_E_OK ||
        (rc = read_tags(req->Tags.v, req->Tags.n, tags, &t.ntags, e)) != API_E_OK)
        return rc;
    t.tags = tags;
    r = store_cls_topic_update(c->store, &t, set_tags, &se);
    if (r == STORE_NOTFOUND)
        return apierr_set(e, API_E_CLS_TOPIC_NOTFOUND, id);
    if (r == STORE_EXISTS)
        return apierr_set(e, API_E_CLS_TOPIC_CONFLICT, se.msg);
    if (r != STORE_OK)
        return api_store_failed(c, r, &se, e);
    return API_E_OK;
}

enum api_err act_delete_topic(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_DeleteTopicRequest *req = c->in;
    struct serr se = {{0}};
    const char *id = req->TopicId;
    enum api_err rc;
    int r;
    (void)out;
    if ((rc = cls_unsupported(c, e)) != API_E_OK)
        return rc;
    r = store_cls_topic_delete(c->store, c->account->uin, c->region, id, &se);
    if (r == STORE_NOTFOUND)
        return apierr_set(e, API_E_CLS_TOPIC_NOTFOUND, id);
    if (r != STORE_OK)
        return api_store_failed(c, r, &se, e);
    return API_E_OK;
}

/* ==== UploadLog ==== */

enum api_err act_upload_log(struct actx *c, json_t *out, struct apierr *e)
{
    /* TopicId (and CompressType) come from headers (action_binary_headers),
     * mapped into the input like a JSON body's members */
    const struct in_UploadLogRequest *req = c->in;
    const char *topic = req->TopicId, *ct = in_opt(req->CompressType);
    struct cls_body b;
    struct serr se = {{0}};
    char why[200];
    enum api_err rc;
    uint64_t stored = 0;
    int r;
    (void)out;

    if ((rc = cls_unsupported(c, e)) != API_E_OK)
        return rc;
    switch (cls_body_parse(c->http->body, c->http->body_len, ct, &b, why, sizeof why)) {
    case CLS_BODY_OK:
        break;
    case CLS_BODY_EMPTY:
        return apierr_set(e, API_E_CLS_MISSING_CONTENT, why);
    case CLS_BODY_TOO_LARGE:
    case CLS_BODY_TOO_MANY_LOGS:
    case CLS_BODY_VALUE_TOO_LARGE:
        return apierr_set(e, API_E_CLS_LOG_SIZE, why);
    case CLS_BODY_NOMEM:
        return apierr_set(e, API_E_INTERNAL, NULL);
    default:
        return apierr_set(e, API_E_CLS_CONTENT, why);
    }
    r = store_cls_logs_put(c->store, c->account->uin, c->region, topic, b.groups, b.ngroups,
                           CLS_BATCH_TAG, &stored, &se);
    cls_body_free(&b);
    if (r == STORE_NOTFOUND)
        return apierr_set(e, API_E_CLS_TOPIC_NOTFOUND, topic);
    if (r == STORE_INUSE)
        return apierr_set(e, API_E_CLS_TOPIC_CLOSED, topic);
    if (r != STORE_OK)
        return api_store_failed(c, r, &se, e);
    return API_E_OK;
}
