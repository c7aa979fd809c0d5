/* handler_common.c: what the handlers share: the FlowLog structure, store
 * results as API errors (declared in action.h). */
#include <stdio.h>
#include <string.h>

#include "api/action.h"
#include "base/util.h"
#include "validate/validate.h"

/* Opens or closes the enclosing structure of the next member: `*open` is
 * the one open now (NULL: none), `group` the next member's. */
static void flowlog_group(struct jw *w, const char **open, const char *group)
{
    if (*open == group || (*open && group && strcmp(*open, group) == 0))
        return;
    if (*open)
        jw_obj_end(w);
    if (group) {
        jw_key(w, group);
        jw_obj(w);
    }
    *open = group;
}

static void render_tags(struct jw *w, const struct tag *tags, size_t n)
{
    jw_arr(w);
    for (size_t i = 0; i < n; i++) {
        jw_obj(w);
        jw_kstr(w, "Key", tags[i].key);
        jw_kstr(w, "Value", tags[i].value);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

/* The FlowLog structure: store.h's FLOWLOG_FIELDS in their order. */
void render_flowlog(struct jw *w, const struct flowlog *fl)
{
    char created[20];
    const char *open = NULL;

    fmt_time_cst((time_t)fl->created_at, created);
    jw_obj(w);
#define RENDER_STR(m, wire) jw_kstr(w, wire, fl->m);
#define RENDER_TIME(m, wire) jw_kstr(w, wire, created);
#define RENDER_TAGS(m, wire)                                                                     \
    jw_lkey(w, wire);                                                                            \
    render_tags(w, fl->m, fl->n##m);
#define RENDER_BOOL(m, wire) jw_kbool(w, wire, fl->m);
#define RENDER_KIND(m, wire) jw_kstr(w, wire, resource_type_of(fl->m) ? resource_type_of(fl->m)->type : "");
#define RENDER_PERIOD(m, wire)                                                                   \
    if (fl->m)                                                                                   \
        jw_kint(w, wire, fl->m);
#define X(kind, member, size, wire, group)                                                       \
    if (sizeof(wire) > 1) { /* "" is not rendered; decided at compile time */                                 \
        flowlog_group(w, &open, group);                                                          \
        RENDER_##kind(member, "" wire)                                                           \
    }
    FLOWLOG_FIELDS(X)
#undef X
    flowlog_group(w, &open, NULL);
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
