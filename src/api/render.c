/* render.c: output structures shared by the handlers. */
#include <stdio.h>

#include "api/action.h"
#include "base/util.h"

const char *in_str(json_t *in, const char *name)
{
    json_t *v = json_object_get(in, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *in_opt_str(json_t *in, const char *name)
{
    const char *s = in_str(in, name);
    return s && *s ? s : NULL;
}

void render_flowlog(struct jw *w, const struct flowlog *fl)
{
    char created[20];

    fmt_time_cst((time_t)fl->created_at, created);
    jw_obj(w);
    jw_kstr(w, "VpcId", fl->vpc_id);
    jw_kstr(w, "FlowLogId", fl->id);
    jw_kstr(w, "FlowLogName", fl->name);
    jw_kstr(w, "ResourceType", fl->resource_type);
    jw_kstr(w, "ResourceId", fl->resource_id);
    jw_kstr(w, "TrafficType", fl->traffic_type);
    jw_kstr(w, "CloudLogId", fl->cloud_log_id);
    jw_kstr(w, "CloudLogState", fl->cloud_log_state);
    jw_kstr(w, "FlowLogDescription", fl->description);
    jw_kstr(w, "CreatedTime", created);
    jw_lkey(w, "TagSet");
    jw_arr(w);
    for (size_t i = 0; i < fl->ntags; i++) {
        jw_obj(w);
        jw_kstr(w, "Key", fl->tags[i].key);
        jw_kstr(w, "Value", fl->tags[i].value);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_kbool(w, "Enable", fl->enable);
    jw_kstr(w, "StorageType", fl->storage_type);
    jw_lkey(w, "FlowLogStorage");
    jw_obj(w);
    jw_kstr(w, "StorageId", fl->storage_id);
    jw_kstr(w, "StorageTopic", fl->storage_topic);
    jw_obj_end(w);
    jw_kstr(w, "CloudLogRegion", fl->cloud_log_region);
    if (fl->period)
        jw_kint(w, "Period", fl->period);
    jw_obj_end(w);
}

enum api_err store_err_to_api(const struct actx *c, int rc, const struct serr *se,
                              const char *notfound_arg, struct apierr *e)
{
    switch (rc) {
    case STORE_OK:
        return API_E_OK;
    case STORE_NOTFOUND:
        return apierr_set(e, API_E_NOT_FOUND, se->msg[0] ? se->msg : notfound_arg);
    case STORE_INUSE:
        return apierr_set(e, API_E_IN_USE, se->msg);
    case STORE_QUOTA:
        return apierr_set(e, API_E_LIMIT, se->msg);
    default:
        return api_store_failed(c, rc, se, e);
    }
}
