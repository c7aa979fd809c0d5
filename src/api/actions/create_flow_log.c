/* create_flow_log.c: CreateFlowLog.
 *
 * The checks run in the order docs/API.md gives (Actions), the first
 * failure answers: empties, value ranges, id forms, tags, existence in the
 * caller's inventory, resource-specific support, then the store's own
 * uniqueness and quota (atomic there). An optional string given as "" is
 * treated as absent, as the SDKs omit empty strings in form encoding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/action.h"
#include "api/schema_gen.h"
#include "base/util.h"
#include "validate/validate.h"

#define MAX_TAGS_READ 64 /* more than the 50 allowed, so the limit is seen */

struct create_in {
    const char *name, *type, *resource_id, *traffic, *vpc_id, *desc, *cloud_log_id,
        *storage_type, *cloud_log_region, *storage_id, *storage_topic;
    int has_period, has_storage;
    json_int_t period;
    struct tag_in tags[MAX_TAGS_READ + 1];
    size_t ntags;
};

/* The generated input, with "" taken as absent for the optional strings. */
static void read_input(const struct in_CreateFlowLogRequest *in, struct create_in *r)
{
    memset(r, 0, sizeof *r);
    r->name = in->FlowLogName;
    r->type = in->ResourceType;
    r->resource_id = in->ResourceId;
    r->traffic = in->TrafficType;
    r->vpc_id = in_opt(in->VpcId);
    r->desc = in_opt(in->FlowLogDescription);
    r->cloud_log_id = in_opt(in->CloudLogId);
    r->storage_type = in_opt(in->StorageType);
    r->cloud_log_region = in_opt(in->CloudLogRegion);
    if (in->FlowLogStorage) {
        r->has_storage = 1;
        r->storage_id = in->FlowLogStorage->StorageId;
        r->storage_topic = in->FlowLogStorage->StorageTopic;
    }
    if (in->Period) {
        r->has_period = 1;
        r->period = (json_int_t)*in->Period;
    }
    for (size_t i = 0; i < in->Tags.n && r->ntags <= MAX_TAGS_READ; i++) {
        const struct in_Tag *t = &in->Tags.v[i];
        r->tags[r->ntags].key = t->Key ? t->Key : "";
        r->tags[r->ntags].value = t->Value ? t->Value : "";
        r->ntags++;
    }
}

static enum api_err check_empty(const struct create_in *r, struct apierr *e)
{
    static const char *const required[] = {"FlowLogName", "ResourceType", "ResourceId",
                                           "TrafficType"};
    const char *values[] = {r->name, r->type, r->resource_id, r->traffic};
    int ccn = strcmp(r->type, "CCN") == 0;
    int kafka = r->storage_type && strcmp(r->storage_type, "ckafka") == 0;
    int cls = !r->storage_type || strcmp(r->storage_type, "cls") == 0;

    for (size_t i = 0; i < 4; i++)
        if (!*values[i])
            return apierr_set(e, API_E_VALUE_EMPTY, required[i]);
    if (!ccn && !r->vpc_id)
        return apierr_set(e, API_E_VALUE_EMPTY, "VpcId");
    if (cls && !r->cloud_log_id)
        return apierr_set(e, API_E_VALUE_EMPTY, "CloudLogId");
    if (kafka && !r->has_storage)
        return apierr_set(e, API_E_VALUE_EMPTY, "FlowLogStorage");
    if (kafka && (!r->storage_id || !*r->storage_id))
        return apierr_set(e, API_E_VALUE_EMPTY, "FlowLogStorage.StorageId");
    if (kafka && (!r->storage_topic || !*r->storage_topic))
        return apierr_set(e, API_E_VALUE_EMPTY, "FlowLogStorage.StorageTopic");
    if (ccn && r->vpc_id)
        return apierr_set(e, API_E_VPCID_NOT_NEEDED, "VpcId");
    return API_E_OK;
}

static enum api_err check_range(const struct create_in *r, struct apierr *e)
{
    static const char *const storage[] = {"cls", "ckafka", NULL};
    enum api_err rc;

    if (!resource_prefix(r->type))
        return apierr_set(e, API_E_VALUE_RANGE, "ResourceType");
    if (!traffic_type_known(r->traffic))
        return apierr_set(e, API_E_VALUE_RANGE, "TrafficType");
    if (r->storage_type && !str_in(r->storage_type, storage))
        return apierr_set(e, API_E_VALUE_RANGE, "StorageType");
    if (r->has_period && (strcmp(r->type, "CCN") != 0 ||
                          (r->period != 60 && r->period != 300 && r->period != 600)))
        return apierr_set(e, API_E_VALUE_RANGE, "Period");
    if ((rc = check_chars(r->name, 60, "FlowLogName", e)) != API_E_OK)
        return rc;
    if (r->desc && (rc = check_chars(r->desc, 512, "FlowLogDescription", e)) != API_E_OK)
        return rc;
    if (r->cloud_log_region && !region_known(r->cloud_log_region))
        return apierr_set(e, API_E_VALUE_RANGE, "CloudLogRegion");
    return API_E_OK;
}

static enum api_err check_forms(const struct create_in *r, struct apierr *e)
{
    int kafka = r->storage_type && strcmp(r->storage_type, "ckafka") == 0;
    enum api_err rc;

    if (r->vpc_id && (rc = check_id(r->vpc_id, "vpc", "VpcId", e)) != API_E_OK)
        return rc;
    if ((rc = check_id(r->resource_id, resource_prefix(r->type), "ResourceId", e)) != API_E_OK)
        return rc;
    if (r->cloud_log_id && !is_uuid(r->cloud_log_id))
        return apierr_set(e, API_E_VALUE_MALFORMED, "CloudLogId");
    if (kafka && (rc = check_id(r->storage_id, "ckafka", "FlowLogStorage.StorageId", e)) !=
                     API_E_OK)
        return rc;
    if (kafka && utf8_count(r->storage_topic, strlen(r->storage_topic)) > 128)
        return apierr_set(e, API_E_VALUE_MALFORMED, "FlowLogStorage.StorageTopic");
    return API_E_OK;
}

/* Looks a resource up in the caller's inventory; not found, or a store
 * failure, become the API error. */
static enum api_err lookup(struct actx *c, const char *region, enum res_kind kind,
                           const char *id, struct resource *out, struct apierr *e)
{
    struct serr se = {{0}};
    int rc = store_resource_get(c->store, c->account->uin, region, kind, id, out, &se);
    if (rc == STORE_NOTFOUND)
        return apierr_set(e, API_E_NOT_FOUND, id);
    return rc == STORE_OK ? API_E_OK : api_store_failed(c, rc, &se, e);
}

/* The instance family is the letters before the first digit ("KO1.LARGE8"). */
static int is_ko_instance(const char *type)
{
    size_t n = strcspn(type, "0123456789");
    return n == 2 && strncasecmp(type, "KO", 2) == 0;
}

/* Steps 6 and 7: everything named exists for this account, and the
 * resource supports a flow log of this kind. */
static enum api_err check_resources(struct actx *c, const struct create_in *r, const char *log_region,
                                    struct apierr *e)
{
    struct resource vpc, res, aux;
    enum res_kind kind = resource_type_find(r->type)->kind; /* checked by check_range */
    int kafka = r->storage_type && strcmp(r->storage_type, "ckafka") == 0;
    enum api_err rc;

    if (r->vpc_id && (rc = lookup(c, c->region, RES_VPC, r->vpc_id, &vpc, e)) != API_E_OK)
        return rc;
    if (kind == RES_VPC && strcmp(r->resource_id, r->vpc_id) != 0)
        return apierr_set(e, API_E_NOT_FOUND, r->resource_id);
    if ((rc = lookup(c, c->region, kind, r->resource_id, &res, e)) != API_E_OK)
        return rc;
    if (kind != RES_VPC && kind != RES_CCN && strcmp(res.vpc_id, r->vpc_id) != 0)
        return apierr_setf(e, API_E_NOT_FOUND, "%s (%s)", r->resource_id, r->vpc_id);
    if (kafka) {
        struct resource topic;
        char topic_id[sizeof topic.id];
        if ((rc = lookup(c, c->region, RES_CKAFKA, r->storage_id, &aux, e)) != API_E_OK)
            return rc;
        snprintf(topic_id, sizeof topic_id, "%s/%s", r->storage_id, r->storage_topic);
        if ((rc = lookup(c, c->region, RES_CKAFKA_TOPIC, topic_id, &topic, e)) != API_E_OK)
            return rc;
    } else if ((rc = lookup(c, log_region, RES_CLS_TOPIC, r->cloud_log_id, &aux, e)) !=
               API_E_OK) {
        return rc;
    }

    if (kind == RES_ENI) {
        struct resource ins;
        struct apierr scratch;
        if (!res.instance_id[0])
            return apierr_set(e, API_E_ENI_NO_INSTANCE, r->resource_id);
        /* an instance missing from the inventory is taken as not KO (a
         * store failure is logged by lookup) */
        rc = lookup(c, c->region, RES_INSTANCE, res.instance_id, &ins, &scratch);
        if (rc == API_E_STORE)
            return apierr_set(e, API_E_STORE, NULL);
        if (rc == API_E_OK && is_ko_instance(ins.instance_type))
            return apierr_set(e, API_E_ENI_KO, r->resource_id);
    }
    if (kind == RES_NAT && res.nat_version == 2 && strcmp(r->traffic, "ALL") != 0)
        return apierr_set(e, API_E_DPDK_NAT_ALL, r->resource_id);
    if (kind == RES_NAT && res.nat_version == 1 && res.has_dnat)
        return apierr_set(e, API_E_NAT_DNAT, r->resource_id);
    if (kafka && strcmp(aux.edition, "profession") != 0)
        return apierr_set(e, API_E_KAFKA_EDITION, r->storage_id);
    return API_E_OK;
}

static void fill_flowlog(const struct actx *c, const struct create_in *r, const char *log_region,
                         struct tag *tags, struct flowlog *fl)
{
    int kafka = r->storage_type && strcmp(r->storage_type, "ckafka") == 0;

    memset(fl, 0, sizeof *fl);
    snprintf(fl->uin, sizeof fl->uin, "%s", c->account->uin);
    snprintf(fl->region, sizeof fl->region, "%s", c->region);
    snprintf(fl->vpc_id, sizeof fl->vpc_id, "%s", r->vpc_id ? r->vpc_id : "");
    snprintf(fl->name, sizeof fl->name, "%s", r->name);
    snprintf(fl->description, sizeof fl->description, "%s", r->desc ? r->desc : "");
    fl->resource_kind = resource_type_find(r->type)->kind; /* checked by check_range */
    snprintf(fl->resource_id, sizeof fl->resource_id, "%s", r->resource_id);
    snprintf(fl->traffic_type, sizeof fl->traffic_type, "%s", r->traffic);
    snprintf(fl->cloud_log_id, sizeof fl->cloud_log_id, "%s",
             r->cloud_log_id ? r->cloud_log_id : "");
    snprintf(fl->cloud_log_region, sizeof fl->cloud_log_region, "%s", log_region);
    snprintf(fl->cloud_log_state, sizeof fl->cloud_log_state, "SUCCESS");
    snprintf(fl->storage_type, sizeof fl->storage_type, "%s", kafka ? "ckafka" : "cls");
    if (kafka) {
        snprintf(fl->storage_id, sizeof fl->storage_id, "%s", r->storage_id);
        snprintf(fl->storage_topic, sizeof fl->storage_topic, "%s", r->storage_topic);
    }
    if (strcmp(r->type, "CCN") == 0)
        fl->period = r->has_period ? (uint32_t)r->period : 600;
    fl->enable = 1;
    fl->created_at = (int64_t)c->now;
    for (size_t i = 0; i < r->ntags; i++) {
        tags[i].key = r->tags[i].key;
        tags[i].value = r->tags[i].value;
    }
    fl->tags = tags;
    fl->ntags = r->ntags;
}

/* A create between its checks and its answer: the flow log, its tags (the
 * strings stay in the request's input tree) and the store write. Owned by
 * the handler from act_create_flow_log to create_answer, which frees it;
 * while the write is queued, its `op` is the store's (op.ud = this), until
 * the store calls op.done (create_written). */
struct create_wait {
    struct store_op op; /* op.ud = this */
    struct api_wake *wake;
    struct store *store;
    uint64_t now_ms;
    uint32_t quota;
    int draws; /* ids drawn so far */
    struct flowlog fl;
    struct tag tags[MAX_TAGS_READ + 1];
};

/* the id is taken (made by another process in the same 16 ms, or by this one
 * 7.5 hours of clock earlier; gen_id_clustered): draw again, this many times */
#define ID_DRAWS 5

/* store_op.done, on a store thread: the answer is made on the request's.
 * An id collision is retried from here, with another queued write, so that
 * no thread waits for it. */
static void create_written(struct store_op *op)
{
    struct create_wait *cw = op->ud;

    while (op->rc == STORE_CONFLICT && cw->draws < ID_DRAWS) {
        cw->draws++;
        if (gen_id_clustered("fl", cw->now_ms, cw->fl.id, sizeof cw->fl.id) != 0)
            break;
        op->rc = store_flowlog_create_async(cw->store, &cw->fl, cw->quota, op);
        if (op->rc == STORE_OK)
            return; /* queued: this runs again once it is done */
    }
    api_wake(cw->wake);
}

/* The answer to the write's result (api_defer's finish); frees cw. */
static enum api_err create_answer(struct actx *c, void *state, struct apierr *e)
{
    struct create_wait *cw = state;
    struct flowlog *fl = &cw->fl;
    int src = cw->op.rc;
    enum api_err rc;

    if (src == STORE_EXISTS)
        rc = apierr_set(e, API_E_FLOWLOG_EXISTS, fl->resource_id);
    else if (src == STORE_QUOTA)
        rc = apierr_setf(e, API_E_LIMIT, "%u flow logs in %s", c->account->flowlog_quota,
                         c->region);
    else if (src != STORE_OK)
        rc = api_store_failed(c, src, &cw->op.err, e);
    else {
        jw_lkey(c->w, "FlowLog");
        jw_arr(c->w);
        render_flowlog(c->w, fl);
        jw_arr_end(c->w);
        rc = jw_failed(c->w) ? apierr_set(e, API_E_INTERNAL, NULL) : API_E_OK;
    }
    free(cw);
    return rc;
}

enum api_err act_create_flow_log(struct actx *c, json_t *out, struct apierr *e)
{
    struct create_in r;
    struct create_wait *cw;
    const char *log_region;
    enum api_err rc;

    (void)out; /* the answer is streamed into c->w */
    read_input(c->in, &r);
    if ((rc = check_empty(&r, e)) != API_E_OK || (rc = check_range(&r, e)) != API_E_OK ||
        (rc = check_forms(&r, e)) != API_E_OK || (rc = check_tags(r.tags, r.ntags, e)) != API_E_OK)
        return rc;
    log_region = r.cloud_log_region ? r.cloud_log_region : c->region;
    if ((rc = check_resources(c, &r, log_region, e)) != API_E_OK)
        return rc;

    if (!(cw = calloc(1, sizeof *cw)))
        return apierr_set(e, API_E_INTERNAL, NULL);
    fill_flowlog(c, &r, log_region, cw->tags, &cw->fl);
    if (gen_id_clustered("fl", c->now_ms, cw->fl.id, sizeof cw->fl.id) != 0) {
        free(cw);
        return apierr_set(e, API_E_INTERNAL, NULL);
    }
    cw->op.done = create_written;
    cw->op.ud = cw;
    cw->store = c->store;
    cw->now_ms = c->now_ms;
    cw->quota = c->account->flowlog_quota;
    cw->draws = 1;
    /* the commit is waited for the one way (api_defer): the answer is
     * create_answer's, once create_written woke the request */
    if (!(cw->wake = api_defer(c, create_answer, cw))) {
        free(cw);
        return apierr_set(e, API_E_INTERNAL, NULL);
    }
    /* once queued, cw->op belongs to the store until create_written */
    int queued = store_flowlog_create_async(c->store, &cw->fl, c->account->flowlog_quota,
                                            &cw->op);
    if (queued != STORE_OK) {
        cw->op.rc = queued;
        api_wake(cw->wake); /* not queued: create_answer reports it */
    }
    return API_E_OK;
}
