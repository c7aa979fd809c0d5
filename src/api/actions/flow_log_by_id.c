/* flow_log_by_id.c: the actions that name one flow log by FlowLogId (and
 * VpcId unless it is on a CCN): DescribeFlowLog, ModifyFlowLogAttribute,
 * DeleteFlowLog. They share the lookup and the VpcId rule:
 *   FlowLogId / VpcId not of their form -> InvalidParameterValue.Malformed;
 *   unknown, another account's, or not in that VPC -> ResourceNotFound;
 *   VpcId absent (or empty) for a VPC's flow log -> InvalidParameterValue.Empty.
 * For a CCN flow log they differ, as the real docs do:
 *   DescribeFlowLog serves VPC flow logs only ("查询VPC流日志实例信息"; VpcId
 *     is required by the input shape): a CCN flow log -> ResourceNotFound;
 *   ModifyFlowLogAttribute: VpcId given -> ...VpcIdNotNeededForFlowLog;
 *   DeleteFlowLog: VpcId "may be left out" for a CCN flow log: given, it is
 *     accepted (its form still checked) and not compared. */
#include <string.h>

#include "api/action.h"
#include "api/schema_gen.h"
#include "base/util.h"
#include "validate/validate.h"

struct found {
    struct flowlog fl; /* tags not kept */
    int hit;
    struct jw *render; /* when set, the flow log is also rendered there */
};

static void on_flowlog(void *ud, const struct flowlog *fl)
{
    struct found *f = ud;
    f->fl = *fl;
    f->fl.tags = NULL;
    f->fl.ntags = 0;
    f->hit = 1;
    if (f->render)
        render_flowlog(f->render, fl);
}

enum ccn_rule { CCN_NOT_SERVED, CCN_NO_VPCID, CCN_VPCID_IGNORED };

/* Looks up the caller's flow log `id` (the input's FlowLogId) and applies
 * the VpcId rule (`vpc_in`: the input's VpcId). (What DescribeFlowLog
 * rendered of a flow log it then refuses is discarded with the writer, as
 * for any error.) */
static enum api_err find_flowlog(struct actx *c, const char *id, const char *vpc_in,
                                 struct found *f, enum ccn_rule ccn, struct apierr *e)
{
    const char *vpc = in_opt(vpc_in);
    struct serr se = {{0}};
    int rc;

    if (!id || !*id)
        return apierr_set(e, API_E_VALUE_EMPTY, "FlowLogId");
    if (!id_has_form(id, "fl"))
        return apierr_set(e, API_E_VALUE_MALFORMED, "FlowLogId");
    if (vpc && !id_has_form(vpc, "vpc"))
        return apierr_set(e, API_E_VALUE_MALFORMED, "VpcId");
    rc = store_flowlog_get(c->store, c->account->uin, c->region, id, on_flowlog, f, &se);
    if (rc != STORE_OK && rc != STORE_NOTFOUND)
        return api_store_failed(c, rc, &se, e);
    if (rc == STORE_NOTFOUND || !f->hit)
        return apierr_set(e, API_E_NOT_FOUND, id);
    if (f->fl.resource_kind == RES_CCN) {
        if (ccn == CCN_NOT_SERVED)
            return apierr_set(e, API_E_NOT_FOUND, id);
        if (vpc && ccn == CCN_NO_VPCID)
            return apierr_set(e, API_E_VPCID_NOT_NEEDED, "VpcId");
        return API_E_OK;
    }
    if (!vpc)
        return apierr_set(e, API_E_VALUE_EMPTY, "VpcId");
    if (strcmp(vpc, f->fl.vpc_id) != 0)
        return apierr_setf(e, API_E_NOT_FOUND, "%s (%s)", id, vpc);
    return API_E_OK;
}

enum api_err act_describe_flow_log(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_DescribeFlowLogRequest *r = c->in;
    struct found f = {.render = c->w};
    enum api_err rc;

    (void)out;
    jw_lkey(c->w, "FlowLog");
    jw_arr(c->w);
    rc = find_flowlog(c, r->FlowLogId, r->VpcId, &f, CCN_NOT_SERVED, e);
    jw_arr_end(c->w);
    if (rc == API_E_OK && jw_failed(c->w))
        rc = apierr_set(e, API_E_INTERNAL, NULL);
    return rc;
}

enum api_err act_modify_flow_log_attribute(struct actx *c, json_t *out,
                                           struct apierr *e)
{
    const struct in_ModifyFlowLogAttributeRequest *r = c->in;
    struct found f = {0};
    struct flowlog_patch p = {0};
    struct serr se = {{0}};
    enum api_err rc;

    (void)out;
    p.name = r->FlowLogName;
    p.description = r->FlowLogDescription;
    if (p.name && !*p.name)
        return apierr_set(e, API_E_VALUE_EMPTY, "FlowLogName");
    if (p.name && (rc = check_chars(p.name, 60, "FlowLogName", e)) != API_E_OK)
        return rc;
    if (p.description && (rc = check_chars(p.description, 512, "FlowLogDescription", e)) != API_E_OK)
        return rc;
    if ((rc = find_flowlog(c, r->FlowLogId, r->VpcId, &f, CCN_NO_VPCID, e)) != API_E_OK)
        return rc;
    if (r->Period) {
        uint64_t v = *r->Period;
        if (f.fl.resource_kind != RES_CCN || (v != 60 && v != 300 && v != 600))
            return apierr_set(e, API_E_VALUE_RANGE, "Period");
        p.period = (uint32_t)v;
    }
    return store_err_to_api(c, store_flowlog_update(c->store, c->account->uin, c->region, f.fl.id,
                                                 &p, &se),
                            &se, f.fl.id, e);
}

enum api_err act_delete_flow_log(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_DeleteFlowLogRequest *r = c->in;
    struct found f = {0};
    struct serr se = {{0}};
    enum api_err rc;

    (void)out;
    if ((rc = find_flowlog(c, r->FlowLogId, r->VpcId, &f, CCN_VPCID_IGNORED, e)) != API_E_OK)
        return rc;
    return store_err_to_api(
        c, store_flowlog_delete(c->store, c->account->uin, c->region, f.fl.id, &se), &se, f.fl.id,
        e);
}

/* EnableFlowLogs / DisableFlowLogs: 1 to 100 ids (the input's
 * FlowLogIds), all or nothing. */
static enum api_err set_enable(struct actx *c, const char *const *list, size_t n, int enable,
                               struct apierr *e)
{
    const char *ids[100];
    struct serr se = {{0}};

    if (n == 0)
        return apierr_set(e, API_E_VALUE_EMPTY, "FlowLogIds");
    if (n > 100)
        return apierr_set(e, API_E_VALUE_LIMIT, "FlowLogIds");
    for (size_t i = 0; i < n; i++) {
        ids[i] = list[i];
        if (!id_has_form(ids[i], "fl"))
            return apierr_setf(e, API_E_VALUE_MALFORMED, "FlowLogIds.%zu", i);
    }
    return store_err_to_api(
        c, store_flowlog_set_enable(c->store, c->account->uin, c->region, ids, n, enable, &se), &se,
        "FlowLogIds", e);
}

enum api_err act_enable_flow_logs(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_EnableFlowLogsRequest *r = c->in;
    (void)out;
    return set_enable(c, r->FlowLogIds.v, r->FlowLogIds.n, 1, e);
}

enum api_err act_disable_flow_logs(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_DisableFlowLogsRequest *r = c->in;
    (void)out;
    return set_enable(c, r->FlowLogIds.v, r->FlowLogIds.n, 0, e);
}
