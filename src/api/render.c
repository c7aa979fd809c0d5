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

int render_flowlog(json_t *arr, const struct flowlog *fl)
{
    char created[20];
    json_t *o = json_object(), *tags = json_array(), *storage = json_object();
    int rc = -1;

    if (!o || !tags || !storage)
        goto fail;
    fmt_time_cst((time_t)fl->created_at, created);
    for (size_t i = 0; i < fl->ntags; i++)
        if (json_array_append_new(tags, json_pack("{s:s,s:s}", "Key", fl->tags[i].key, "Value",
                                                  fl->tags[i].value)) != 0)
            goto fail;
    if (json_object_set_new(storage, "StorageId", json_string(fl->storage_id)) != 0 ||
        json_object_set_new(storage, "StorageTopic", json_string(fl->storage_topic)) != 0)
        goto fail;
    json_object_set_new(o, "VpcId", json_string(fl->vpc_id));
    json_object_set_new(o, "FlowLogId", json_string(fl->id));
    json_object_set_new(o, "FlowLogName", json_string(fl->name));
    json_object_set_new(o, "ResourceType", json_string(fl->resource_type));
    json_object_set_new(o, "ResourceId", json_string(fl->resource_id));
    json_object_set_new(o, "TrafficType", json_string(fl->traffic_type));
    json_object_set_new(o, "CloudLogId", json_string(fl->cloud_log_id));
    json_object_set_new(o, "CloudLogState", json_string(fl->cloud_log_state));
    json_object_set_new(o, "FlowLogDescription", json_string(fl->description));
    json_object_set_new(o, "CreatedTime", json_string(created));
    json_object_set(o, "TagSet", tags);
    json_object_set_new(o, "Enable", json_boolean(fl->enable));
    json_object_set_new(o, "StorageType", json_string(fl->storage_type));
    json_object_set(o, "FlowLogStorage", storage);
    json_object_set_new(o, "CloudLogRegion", json_string(fl->cloud_log_region));
    if (fl->period)
        json_object_set_new(o, "Period", json_integer(fl->period));
    if (json_object_size(o) < 15)
        goto fail;
    rc = json_array_append(arr, o);
fail:
    json_decref(o);
    json_decref(tags);
    json_decref(storage);
    return rc == 0 ? 0 : -1;
}

enum api_err store_err_to_api(int rc, const struct serr *se, const char *notfound_arg,
                              struct apierr *e)
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
        return apierr_set(e, API_E_STORE, NULL);
    }
}
