/* record_format.c: the admin's record format of a flow log (`flowlogd
 * flowlog format`, POST /admin/flowlog-format): Tencent's default line, or
 * a list of fields that adds AWS's (tcp-flags, flow-direction, pkt-srcaddr,
 * pkt-dstaddr, type, vpc-id, subnet-id, instance-id, region; docs/API.md,
 * "Flow-log records"). Not a Tencent action: there a flow log's format is
 * fixed. The format is checked by the record writer's own parser
 * (flow/flow.h) and stored as its canonical text: "" for the default, else
 * the field names separated by spaces. */
#include <stdio.h>
#include <string.h>

#include "admin/state.h"
#include "flow/flow.h"
#include "validate/validate.h"

/* The canonical text of f into out[cap]: "" for Tencent's default line. */
static int format_text(const struct flow_format *f, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    if (f->n == flow_format_eni.n && memcmp(f->field, flow_format_eni.field, f->n) == 0)
        return 0;
    for (unsigned i = 0; i < f->n; i++) {
        int k = snprintf(out + n, cap - n, "%s%s", i ? " " : "", flow_field_name(f->field[i]));
        if (k < 0 || (size_t)k >= cap - n)
            return -1;
        n += (size_t)k;
    }
    return 0;
}

struct found {
    int n;
    char format[sizeof ((struct flowlog *)0)->record_format];
};

static void found_cb(void *ud, const struct flowlog *fl)
{
    struct found *f = ud;
    f->n++;
    snprintf(f->format, sizeof f->format, "%s", fl->record_format);
}

/* {"Uin", "Region"?, "FlowLogId", "Format"?}: without Format, the flow log's
 * format is only read. Answers {"FlowLogId", "Format": "default" or the
 * fields, "Version": the version field's value}. */
struct admin_answer admin_flowlog_format(struct store *st, json_t *in)
{
    const char *uin = json_string_value(json_object_get(in, "Uin"));
    const char *region = json_string_value(json_object_get(in, "Region"));
    const char *id = json_string_value(json_object_get(in, "FlowLogId"));
    json_t *fv = json_object_get(in, "Format");
    const char *k;
    json_t *v;
    struct serr se = {{0}};
    struct found f = {0};
    struct flow_format ff;
    char err[160];
    int rc;

    json_object_foreach(in, k, v) {
        if (strcmp(k, "Uin") && strcmp(k, "Region") && strcmp(k, "FlowLogId") &&
            strcmp(k, "Format"))
            return admin_fail(400, "UnknownParameter", "unknown member %s", k);
    }
    if (!uin || !*uin || !id || !*id)
        return admin_fail(400, "MissingParameter", "Uin and FlowLogId (strings) are required");
    if (!region)
        region = "ap-guangzhou";
    if (!region_known(region))
        return admin_fail(400, "InvalidParameter", "Region %s is not a known region", region);
    if (fv && !json_is_string(fv))
        return admin_fail(400, "InvalidParameter", "Format is a string");
    if (fv) {
        struct flowlog_patch p = {0};
        if (flow_format_parse(&ff, json_string_value(fv), err, sizeof err) != 0)
            return admin_fail(400, "InvalidParameter", "Format: %s", err);
        if (format_text(&ff, f.format, sizeof f.format) != 0)
            return admin_fail(400, "InvalidParameter", "Format: too long");
        p.record_format = f.format;
        rc = store_flowlog_update(st, uin, region, id, &p, &se);
    } else {
        rc = store_flowlog_get(st, uin, region, id, found_cb, &f, &se);
    }
    if (rc == STORE_NOTFOUND)
        return admin_fail(404, "ResourceNotFound", "no flow log %s of %s in %s", id, uin, region);
    if (rc != STORE_OK)
        return admin_fail(500, "InternalError", "%s", se.msg);
    if (flow_format_parse(&ff, f.format[0] ? f.format : "default", err, sizeof err) != 0)
        return admin_fail(500, "InternalError", "stored format: %s", err);
    return admin_ok(json_pack("{s:s,s:s,s:i}", "FlowLogId", id, "Format",
                              f.format[0] ? f.format : "default", "Version", ff.version));
}
