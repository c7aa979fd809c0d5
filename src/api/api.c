/* api.c: one HTTP request in, one API 3.0 envelope out.
 *
 * The order of checks (the first failure answers):
 *   path and method (plain 404/405: not an API call at all)
 *   -> request size -> Action -> Version -> Region
 *   -> Authorization form -> Timestamp window -> SecretId -> Token -> signature
 *   -> the key's permission -> rate limit -> input mapping -> the handler.
 * Every API answer is HTTP 200, success or error, because the SDKs discard
 * the body of any other status.
 */
#include "api/api.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/action.h"
#include "api/credcache.h"
#include "api/input.h"
#include "api/metrics.h"
#include "auth/auth.h"
#include "base/log.h"
#include "base/util.h"
#include "ratelimit/ratelimit.h"
#include "ratelimit/shared.h"
#include "validate/validate.h"

struct api {
    struct store *store;
    struct ratelimit *rl;
    struct rl_shared *shared; /* the cluster's limiter, or NULL (api_set_shared_limiter) */
    struct api_metrics *metrics;
    _Atomic uint32_t rate; /* the default rate limit in force (api_set_rate_limit) */
    struct credcache *creds;
    struct api_config cfg;
};

/* Parameters of the v1 form that are not action input. */
static const char *const common_params[] = {"Action", "Version", "Region", "Timestamp",
                                            "Nonce", "SecretId", "Signature",
                                            "SignatureMethod", "Token", "Language",
                                            "RequestClient", NULL};

/* Everything known about one request while it is being handled. */
struct call {
    const struct http_request *req;
    char request_id[37];
    enum api_lang lang;
    int v1;                      /* HmacSHA1/256 in params, else TC3 in headers */
    const char *action, *version, *region, *timestamp, *token;
    struct form_param *params;   /* v1 and GET: decoded query or form body */
    size_t nparams;
    const struct action_def *def;
    struct key_info key;
    int have_key;
    int agent; /* the key is a capture agent's, uploading for a topic's owner (agent_upload) */
    uint64_t now_ms; /* the request's clock, read once at its entry */
};

struct api *api_new(struct store *st, const struct api_config *cfg)
{
    struct api *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->store = st;
    a->cfg = *cfg;
    if (!a->cfg.rate_limit)
        a->cfg.rate_limit = API_DEFAULT_RATE_LIMIT;
    if (!a->cfg.max_skew_s)
        a->cfg.max_skew_s = 300;
    if (!a->cfg.max_body_v3)
        a->cfg.max_body_v3 = 10u << 20;
    if (!a->cfg.max_body_v1)
        a->cfg.max_body_v1 = 1u << 20;
    if (!a->cfg.max_query)
        a->cfg.max_query = 32u << 10;
    a->rl = rl_new(a->cfg.rate_limit, a->cfg.rate_limit);
    a->metrics = api_metrics_new();
    atomic_store(&a->rate, a->cfg.rate_limit);
    /* 16384 entries of ~350 bytes (6 MB), 4-way: every tenant seen within
     * the TTL of a large deployment. Keys cannot change today; the TTL
     * bounds any later admin change. */
    a->creds = credcache_new(14, 60000);
    if (!a->rl || !a->creds) {
        api_free(a);
        return NULL;
    }
    return a;
}

size_t api_max_body(const struct api *a)
{
    return a->cfg.max_body_v3 > a->cfg.max_body_v1 ? a->cfg.max_body_v3 : a->cfg.max_body_v1;
}

void api_forget_credentials(struct api *a)
{
    credcache_clear(a->creds);
}

void api_free(struct api *a)
{
    if (!a)
        return;
    rl_free(a->rl);
    rl_shared_free(a->shared);
    api_metrics_free(a->metrics);
    credcache_free(a->creds);
    free(a);
}

/* ==== replies ==== */

static void reply_plain(struct http_reply *out, int status, const char *text)
{
    out->status = status;
    out->content_type = "text/plain; charset=utf-8";
    out->body = strdup(text);
    out->body_len = out->body ? strlen(text) : 0;
}

/* Starts {"Response":{ ; the answer's members follow. */
static void envelope_open(struct jw *w)
{
    jw_obj(w);
    jw_lkey(w, "Response");
    jw_obj(w);
}

/* Ends the envelope with RequestId last and hands its text to `out`. */
static void envelope_close(struct http_reply *out, struct jw *w, const char *request_id)
{
    jw_kstr(w, "RequestId", request_id);
    jw_obj_end(w);
    jw_obj_end(w);
    out->status = 200;
    out->content_type = "application/json";
    if (jw_failed(w)) {
        /* out of memory: a fixed body still tells the client what happened */
        char text[160];
        snprintf(text, sizeof text,
                 "{\"Response\":{\"Error\":{\"Code\":\"InternalError\",\"Message\":"
                 "\"Internal error.\"},\"RequestId\":\"%s\"}}",
                 request_id);
        out->body = strdup(text);
        out->body_len = out->body ? strlen(text) : 0;
        return;
    }
    out->body = buf_steal(&w->b, &out->body_len);
    if (!out->body)
        out->body_len = 0;
}

/* Replaces whatever `w` holds by the error envelope of `e`. */
static void reply_error(struct http_reply *out, const struct call *c, const struct apierr *e,
                        struct jw *w)
{
    char msg[1024];

    apierr_message(e->id, c->lang, e->arg, msg, sizeof msg);
    if (utf8_count(msg, strlen(msg)) < 0) /* the argument was not valid UTF-8: leave it out */
        apierr_message(e->id, c->lang, "", msg, sizeof msg);
    jw_reset(w);
    envelope_open(w);
    jw_lkey(w, "Error");
    jw_obj(w);
    jw_kstr(w, "Code", apierr_code(e->id));
    jw_kstr(w, "Message", msg);
    jw_obj_end(w);
    envelope_close(out, w, c->request_id);
}

/* Writes the members a handler put in its tree after those it streamed. */
static void write_tree_members(struct jw *w, json_t *obj)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v) {
        jw_key(w, key);
        jw_json(w, v);
    }
}

/* ==== request facts ==== */

static const char *param(const struct call *c, const char *name)
{
    return c->params ? form_get(c->params, c->nparams, name) : NULL;
}

/* A common parameter: an X-TC-* header for TC3, a form parameter for v1. */
static const char *common(const struct call *c, const char *header, const char *name)
{
    return c->v1 ? param(c, name) : http_header(c->req, header);
}

static int content_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The first label of the Host header, lower case, without the port. */
static void host_label(const char *host, char *out, size_t outlen)
{
    size_t n = 0;
    if (!host)
        host = "";
    while (host[n] && host[n] != '.' && host[n] != ':' && n + 1 < outlen) {
        out[n] = (char)tolower((unsigned char)host[n]);
        n++;
    }
    out[n] = '\0';
}

/* Copies a client-supplied string for the log: bounded, printable only. */
static void log_safe(const char *s, char *out, size_t outlen)
{
    size_t n = 0;
    for (; s && *s && n + 1 < outlen; s++)
        out[n++] = isprint((unsigned char)*s) && *s != ' ' ? *s : '?';
    out[n] = '\0';
}

/* A message for the log: printable, on one line (a store message may quote
 * an id the client sent). */
static void log_text(const char *s, char *out, size_t outlen)
{
    size_t n = 0;
    for (; s && *s && n + 1 < outlen; s++)
        out[n++] = isprint((unsigned char)*s) ? *s : '?';
    out[n] = '\0';
}

/* See api_store_failed; `action` is the action's name from the table. */
static enum api_err store_failed(const char *request_id, const char *uin, const char *action,
                                 int rc, const struct serr *se, struct apierr *e)
{
    char msg[sizeof se->msg];

    log_text(se && se->msg[0] ? se->msg : "(no message)", msg, sizeof msg);
    if (rc == STORE_ERR)
        log_error("store failed: id=%s account=%s action=%s: %s", request_id, uin ? uin : "-",
                  action ? action : "-", msg);
    else
        log_warn("store answered %d, which the action does not expect: id=%s account=%s "
                 "action=%s: %s",
                 rc, request_id, uin ? uin : "-", action ? action : "-", msg);
    return apierr_set(e, API_E_STORE, NULL);
}

static enum api_lang lang_of(const char *value)
{
    return value && strcmp(value, "en-US") == 0 ? LANG_EN : LANG_ZH;
}

/* ==== the steps ==== */

/* Decodes the query (GET) or form body (POST form) into c->params. */
static enum api_err decode_params(struct call *c, const char *s, size_t len, struct apierr *e)
{
    int malformed = 0;
    c->params = form_decode(s, len, &c->nparams, &malformed);
    if (!c->params && c->nparams == 0 && malformed)
        return apierr_set(e, API_E_BODY_NOT_OBJECT, "malformed percent-encoding");
    if (!c->params && len > 0 && !malformed)
        return apierr_set(e, API_E_INTERNAL, NULL);
    return API_E_OK;
}

static enum api_err check_transport(struct api *a, struct call *c, struct apierr *e)
{
    const struct http_request *r = c->req;
    const char *ct = http_header(r, "Content-Type");
    size_t qlen = strlen(r->query);
    enum api_err rc;

    c->v1 = http_header(r, "Authorization") == NULL;
    /* known before anything can fail; a v1 Language parameter refines it later */
    c->lang = lang_of(http_header(r, "X-TC-Language"));
    if (qlen > a->cfg.max_query)
        return apierr_setf(e, API_E_TOO_LARGE, "query string over %zu bytes", a->cfg.max_query);
    /* the adapter's ceiling sits one byte above the limit, so a body of
     * exactly limit + 1 arrives whole and is caught here */
    if (r->body_too_large || r->body_len > a->cfg.max_body_v3) {
        /* a binary body is an UploadLog's: CLS answers a log package over
         * its limit with its own code, whatever the size (5 MB and up to
         * the ceiling are checked by the action) */
        if (content_type_is(ct, "application/octet-stream"))
            return apierr_setf(e, API_E_CLS_LOG_SIZE, "body over %zu bytes", a->cfg.max_body_v3);
        return apierr_setf(e, API_E_TOO_LARGE, "body over %zu bytes", a->cfg.max_body_v3);
    }
    if (strcmp(r->method, "GET") == 0)
        return decode_params(c, r->query, qlen, e);
    if (content_type_is(ct, "application/x-www-form-urlencoded")) {
        if (c->v1 && r->body_len > a->cfg.max_body_v1)
            return apierr_setf(e, API_E_TOO_LARGE, "body over %zu bytes", a->cfg.max_body_v1);
        return decode_params(c, r->body, r->body_len, e);
    }
    if (content_type_is(ct, "application/octet-stream")) {
        /* a binary body (UploadLog), signed with TC3 over its bytes; the
         * action's parameters come from headers (map_input) */
        if (c->v1)
            return apierr_set(e, API_E_AUTH_INVALID,
                              "a binary request must be signed with TC3-HMAC-SHA256");
        if (qlen && (rc = decode_params(c, r->query, qlen, e)) != API_E_OK)
            return rc;
        return API_E_OK;
    }
    if (content_type_is(ct, "application/json")) {
        if (c->v1)
            return apierr_set(e, API_E_AUTH_INVALID,
                              "a JSON request must be signed with TC3-HMAC-SHA256");
        if (qlen && (rc = decode_params(c, r->query, qlen, e)) != API_E_OK)
            return rc;
        return API_E_OK;
    }
    return apierr_setf(e, API_E_PROTOCOL, "Content-Type must be application/json or "
                                          "application/x-www-form-urlencoded");
}

/* What api_http_quick leaves in req->note when the action a TC3 request
 * names is not served: no action of that name, or not in that version. */
static const char note_no_action, note_no_version;

/* The action of (`action`, `version`) as the request addresses it. */
static const struct action_def *find_action(const struct http_request *req, const char *action,
                                            const char *version, int *name_known)
{
    static const char *const services[] = {"vpc", "tag", "sts", "cls"};
    const char *service = NULL;
    char label[64];

    /* the service a request is addressed to, when its Host names one we
     * serve ("vpc.tencentcloudapi.com", "tag.tencentcloudapi.com"); none for
     * a host that names none (an IP address, "localhost"), where every
     * service's actions are reachable and the action's Version tells them
     * apart. For TC3 the credential scope must name the same service
     * (checked with the signature). */
    host_label(http_header(req, "Host"), label, sizeof label);
    for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
        if (strcmp(label, services[i]) == 0)
            service = services[i];
    return action_find_in(action, version, service, name_known);
}

static enum api_err check_common(struct call *c, struct apierr *e)
{
    const char *lang = common(c, "X-TC-Language", "Language");
    const void *note = c->v1 ? NULL : c->req->note;
    int name_known = note == &note_no_version;

    c->lang = lang_of(lang);
    c->action = common(c, "X-TC-Action", "Action");
    c->version = common(c, "X-TC-Version", "Version");
    c->region = common(c, "X-TC-Region", "Region");
    c->timestamp = common(c, "X-TC-Timestamp", "Timestamp");
    c->token = common(c, "X-TC-Token", "Token");
    if (!c->action || !*c->action)
        return apierr_set(e, API_E_ACTION_MISSING, NULL);
    if (!c->version || !*c->version)
        return apierr_set(e, API_E_VERSION_MISSING, NULL);
    /* api_http_quick looked a TC3 request's action up already (same
     * headers): a request looks its action up once */
    if (note)
        c->def = note == &note_no_action || note == &note_no_version ? NULL : note;
    else
        c->def = find_action(c->req, c->action, c->version, &name_known);
    if (!c->def && name_known)
        return apierr_set(e, API_E_VERSION_UNKNOWN, c->version);
    if (!c->def)
        return apierr_set(e, API_E_ACTION_UNKNOWN, c->action);
    /* the tag and sts services are global: Region is optional there (cls
     * is regional, like vpc) */
    if ((!c->region || !*c->region) &&
        (strcmp(c->def->service, "tag") == 0 || strcmp(c->def->service, "sts") == 0)) {
        c->region = NULL;
        return API_E_OK;
    }
    if (!c->region || !*c->region)
        return apierr_set(e, API_E_REGION_MISSING, NULL);
    if (!region_known(c->region))
        return apierr_set(e, API_E_REGION_UNSUPPORTED, c->region);
    return API_E_OK;
}

static enum api_err check_timestamp(struct api *a, const struct call *c, time_t now,
                                    struct apierr *e)
{
    int64_t ts;
    if (!c->timestamp || !*c->timestamp)
        return apierr_set(e, API_E_PARAM_MISSING, "Timestamp");
    if (parse_i64(c->timestamp, strlen(c->timestamp), &ts) != 0)
        return apierr_set(e, API_E_AUTH_INVALID, "Timestamp is not an integer");
    if (ts > (int64_t)now + a->cfg.max_skew_s || ts < (int64_t)now - a->cfg.max_skew_s)
        return apierr_set(e, API_E_AUTH_EXPIRED, NULL);
    return API_E_OK;
}

/* A temporary key is accepted only before its end and with its own token;
 * a permanent key only without one. */
static enum api_err check_token(const struct call *c, time_t now, struct apierr *e)
{
    int given = c->token && *c->token;

    if (!c->key.expires) {
        if (given)
            return apierr_set(e, API_E_AUTH_TOKEN, NULL);
        return API_E_OK;
    }
    if ((int64_t)now >= c->key.expires)
        return apierr_set(e, API_E_AUTH_TOKEN_EXPIRED, NULL);
    if (!given)
        return apierr_set(e, API_E_AUTH_TOKEN_MISSING, NULL);
    if (!auth_equal(c->token, c->key.token))
        return apierr_set(e, API_E_AUTH_TOKEN_INVALID, NULL);
    return API_E_OK;
}

/* Resolves the SecretId, from the credential cache when it can. For TC3,
 * `date`/`service` ask for the derived signing key too (*have_signing). */
/* A capture agent's UploadLog: its agent key (`flowlogd agent-key create`)
 * may upload into a cls topic that an enabled flow log of the topic's
 * owner delivers to, and do nothing else; the request then runs as that
 * owner, limited to UploadLog (docs/API.md, "Who uploads"). STORE_OK with
 * c->key filled, STORE_NOTFOUND when the key is no agent key, the action
 * no UploadLog or the topic no such topic, else the store's failure. */
static int agent_upload(struct api *a, struct call *c, const char *secret_id, struct serr *se)
{
    struct agent_key ak;
    const char *topic = http_header(c->req, "X-CLS-TopicId");
    int rc;

    if (!c->def || strcmp(c->def->service, "cls") != 0 || strcmp(c->def->name, "UploadLog") != 0 ||
        !topic || !*topic || !store_has_cls(a->store))
        return STORE_NOTFOUND;
    if ((rc = store_agent_key_lookup(a->store, secret_id, &ak, se)) != STORE_OK)
        return rc;
    memset(&c->key, 0, sizeof c->key);
    if ((rc = store_cls_topic_owner(a->store, topic, &c->key.account, se)) != STORE_OK)
        return rc;
    snprintf(c->key.secret_id, sizeof c->key.secret_id, "%s", ak.secret_id);
    snprintf(c->key.secret_key, sizeof c->key.secret_key, "%s", ak.secret_key);
    snprintf(c->key.actions, sizeof c->key.actions, ",UploadLog,");
    memset(ak.secret_key, 0, sizeof ak.secret_key);
    c->agent = 1;
    return STORE_OK;
}

static enum api_err lookup_key(struct api *a, struct call *c, time_t now, const char *secret_id,
                               const char *date, const char *service, unsigned char signing[32],
                               int *have_signing, struct apierr *e)
{
    struct serr se = {{0}};
    uint64_t cache_now = c->now_ms;
    int dummy, rc;

    if (!have_signing)
        have_signing = &dummy;
    if (!credcache_get(a->creds, secret_id, cache_now, date, service, &c->key, signing, have_signing)) {
        rc = store_key_lookup(a->store, secret_id, &c->key, &se);
        if (rc == STORE_NOTFOUND && !c->v1 && (rc = agent_upload(a, c, secret_id, &se)) == STORE_OK) {
            c->have_key = 1; /* never cached: its account depends on the request */
            return check_token(c, now, e);
        }
        if (rc == STORE_NOTFOUND)
            return apierr_set(e, API_E_AUTH_SECRETID, NULL);
        if (rc != STORE_OK)
            return store_failed(c->request_id, NULL, c->def ? c->def->name : NULL, rc, &se, e);
        credcache_put(a->creds, &c->key, cache_now, NULL, NULL, NULL);
    }
    c->have_key = 1;
    return check_token(c, now, e);
}

static enum api_err verify_tc3(struct api *a, struct call *c, time_t now, struct apierr *e)
{
    const struct http_request *r = c->req;
    struct tc3_auth au;
    struct tc3_request tr;
    struct auth_header few[32], *many = NULL, *hdrs;
    char why[128], expect_date[11];
    unsigned char key[32];
    enum api_err rc;
    int64_t ts;
    int have_key = 0;

    if (tc3_parse_authorization(http_header(r, "Authorization"), &au, why, sizeof why) != 0)
        return apierr_set(e, API_E_AUTH_INVALID, why);
    if ((rc = check_timestamp(a, c, now, e)) != API_E_OK)
        return rc;
    if ((rc = lookup_key(a, c, now, au.secret_id, au.date, au.service, key, &have_key, e)) !=
        API_E_OK)
        return rc;
    /* the scope must name the date of the timestamp and a service the
     * request may be signed for: the action's product, or the host's first
     * label as the Node SDK signs it (both are in the signed scope) */
    parse_i64(c->timestamp, strlen(c->timestamp), &ts);
    fmt_date_utc((time_t)ts, expect_date);
    if (strcmp(au.date, expect_date) != 0 ||
        !tc3_service_allowed(au.service, c->def->service, http_header(r, "Host")))
        return apierr_set(e, API_E_AUTH_SIGNATURE, NULL);

    /* the headers as auth/ takes them (it knows nothing of http/) */
    if (r->nheaders > sizeof few / sizeof few[0] && !(many = malloc(r->nheaders * sizeof *many)))
        return apierr_set(e, API_E_INTERNAL, NULL);
    hdrs = many ? many : few;
    for (size_t i = 0; i < r->nheaders; i++)
        hdrs[i] = (struct auth_header){r->headers[i].name, r->headers[i].value};
    memset(&tr, 0, sizeof tr);
    tr.method = r->method;
    tr.query = r->query;
    tr.headers = hdrs;
    tr.nheaders = r->nheaders;
    tr.body = r->body;
    tr.body_len = r->body_len;
    if (!have_key) {
        tc3_derive_key(c->key.secret_key, au.date, au.service, key);
        if (!c->agent) /* an agent key's account is the request's topic owner */
            credcache_put(a->creds, &c->key, c->now_ms, au.date, au.service, key);
    }
    rc = tc3_verify(&tr, &au, key, c->timestamp) ? API_E_OK
                                                 : apierr_set(e, API_E_AUTH_SIGNATURE, NULL);
    free(many);
    return rc;
}

static enum api_err verify_v1(struct api *a, struct call *c, time_t now, struct apierr *e)
{
    const char *sid = param(c, "SecretId"), *given = param(c, "Signature");
    const char *method = param(c, "SignatureMethod");
    struct auth_param *ap;
    struct buf sts;
    char sig[64];
    enum api_err rc;

    if (!given || !*given)
        return apierr_set(e, API_E_PARAM_MISSING, "Signature");
    if (!sid || !*sid)
        return apierr_set(e, API_E_PARAM_MISSING, "SecretId");
    if (!param(c, "Nonce"))
        return apierr_set(e, API_E_PARAM_MISSING, "Nonce");
    if ((rc = check_timestamp(a, c, now, e)) != API_E_OK)
        return rc;
    if ((rc = lookup_key(a, c, now, sid, NULL, NULL, NULL, NULL, e)) != API_E_OK)
        return rc;

    ap = malloc((c->nparams + 1) * sizeof *ap);
    if (!ap)
        return apierr_set(e, API_E_INTERNAL, NULL);
    for (size_t i = 0; i < c->nparams; i++) {
        ap[i].name = c->params[i].name;
        ap[i].value = c->params[i].value;
    }
    buf_init(&sts, 0);
    rc = v1_string_to_sign(c->req->method, http_header(c->req, "Host") ? http_header(c->req, "Host") : "",
                           ap, c->nparams, &sts) == 0
             ? API_E_OK
             : API_E_INTERNAL;
    free(ap);
    if (rc == API_E_OK) {
        v1_signature(method ? method : "HmacSHA1", c->key.secret_key, sts.data, sts.len, sig);
        if (!auth_equal(sig, given))
            rc = API_E_AUTH_SIGNATURE;
    }
    buf_free(&sts);
    return apierr_set(e, rc, NULL);
}

static enum api_err check_permission(struct api *a, const struct call *c, struct apierr *e)
{
    char want[160], key[200];
    uint32_t rate = c->key.account.rate_limit ? c->key.account.rate_limit : atomic_load(&a->rate);

    if (c->key.actions[0]) {
        snprintf(want, sizeof want, ",%s,", c->def->name);
        if (!strstr(c->key.actions, want))
            return apierr_set(e, API_E_UNAUTHORIZED, c->def->name);
    }
    snprintf(key, sizeof key, "%s/%s/%s", c->key.account.uin, c->def->service, c->def->name);
    /* the cluster's bucket when there is one; the node's own when there is
     * none or it does not answer (docs/DEPLOYMENT.md) */
    if (a->shared && rate != UINT32_MAX) {
        enum rl_shared_verdict v = rl_shared_take(a->shared, key, rate, rate);
        if (v == RL_SHARED_REJECT)
            return apierr_set(e, API_E_RATE_LIMITED, c->def->name);
        if (v == RL_SHARED_PASS)
            return API_E_OK;
    }
    if (!rl_take(a->rl, key, c->now_ms, rate))
        return apierr_set(e, API_E_RATE_LIMITED, c->def->name);
    return API_E_OK;
}

/* The input of an action whose body is binary: its parameters from the
 * headers its table row names ("Param=X-Header,..."), checked against its
 * shape like a JSON body. */
static enum api_err map_headers(const struct call *c, json_t **in, struct apierr *e)
{
    const char *p = action_binary_headers(c->def);
    json_t *o = json_object();
    char *text;
    enum api_err rc;

    while (o && p && *p) {
        const char *eq = strchr(p, '='), *end = strchr(p, ',');
        char param[64], header[64];
        const char *v;
        if (!end)
            end = p + strlen(p);
        if (!eq || eq > end || (size_t)(eq - p) >= sizeof param ||
            (size_t)(end - eq - 1) >= sizeof header)
            break;
        memcpy(param, p, (size_t)(eq - p));
        param[eq - p] = '\0';
        memcpy(header, eq + 1, (size_t)(end - eq - 1));
        header[end - eq - 1] = '\0';
        if ((v = http_header(c->req, header)) && *v)
            json_object_set_new(o, param, json_string(v));
        p = *end ? end + 1 : end;
    }
    if (!o || !(text = json_dumps(o, JSON_COMPACT))) {
        json_decref(o);
        return apierr_set(e, API_E_INTERNAL, NULL);
    }
    json_decref(o);
    rc = input_from_json(c->def->input, text, strlen(text), in, e);
    free(text);
    return rc;
}

static enum api_err map_input(const struct call *c, json_t **in, struct apierr *e)
{
    const struct http_request *r = c->req;
    int binary = !c->v1 && strcmp(r->method, "POST") == 0 &&
                 content_type_is(http_header(r, "Content-Type"), "application/octet-stream");
    if (binary != (action_binary_headers(c->def) != NULL))
        return apierr_setf(e, API_E_PROTOCOL, binary ? "%s takes a JSON or form body, not "
                                                       "application/octet-stream"
                                                     : "%s takes an application/octet-stream body",
                           c->def->name);
    if (binary)
        return map_headers(c, in, e);
    if (!c->v1 && strcmp(r->method, "POST") == 0 &&
        content_type_is(http_header(r, "Content-Type"), "application/json"))
        return input_from_json(c->def->input, r->body, r->body_len, in, e);
    return input_from_form(c->def->input, c->params, c->nparams, common_params, in, e);
}

/* ==== entry ==== */

/* One request being handled. On the heap: a deferred action (api_defer)
 * keeps it until its finish step ran, on the request's thread. */
/** What api_defer hands out: the http adapter's handle of the suspended
 * request, or (d NULL) what the thread that runs the request waits on. */
struct api_wake {
    struct http_deferred *d;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int woken;
};

/* How a handler's request waits, known to api_handle on its own stack (once
 * the adapter has the request, q may be finished and freed by another
 * thread before the handler returns). */
enum wait_mode { WAIT_NONE, WAIT_ADAPTER, WAIT_HERE };

struct api_req {
    struct api *a;
    struct call c;
    struct apierr e;
    uint64_t t0;
    time_t now;
    uint64_t now_ms;
    json_t *in, *result;
    void *in_struct; /* in as the shape's C struct (input_struct); strings point into in */
    struct jw w;
    action_finish_fn finish; /* set by api_defer: the action answers later */
    void *fstate;
    struct api_wake wake; /* set by api_defer */
    struct http_ctx *ctx; /* the adapter's, for http_defer; NULL: cannot defer */
    enum wait_mode *mode; /* api_handle's, set by api_defer */
};

static struct actx actx_of(struct api_req *q)
{
    struct actx ax = {q->a->store, &q->c.key.account, q->c.region, q->c.request_id,
                      q->now, q->now_ms, q->c.lang, &q->w, q, &q->c.key, q->c.req,
                      q->in_struct};
    return ax;
}

/* Takes the handler's result into q->e. */
static void settle(struct api_req *q, enum api_err rc)
{
    if (rc == API_E_OK)
        q->e.id = API_E_OK; /* a handler may have recovered from an error it saw */
    else if (q->e.id != rc)
        apierr_set(&q->e, rc, NULL);
}

/* Makes the reply, logs the request and frees q. */
static void finish_request(struct api_req *q, struct http_reply *out)
{
    struct call *c = &q->c;
    char act[72];

    if (q->e.id == API_E_OK) {
        write_tree_members(&q->w, q->result);
        envelope_close(out, &q->w, c->request_id);
    } else {
        reply_error(out, c, &q->e, &q->w);
    }
    api_metrics_count(q->a->metrics, c->def, q->e.id, mono_us() - q->t0);
    /* log before the params go: for v1 the action name lives in them */
    if (q->a->cfg.log_requests) {
        log_safe(c->action, act, sizeof act);
        log_info("request id=%s account=%s action=%s code=%s latency_us=%llu", c->request_id,
                 c->have_key ? c->key.account.uin : "-", act[0] ? act : "-",
                 q->e.id == API_E_OK ? "OK" : apierr_code(q->e.id),
                 (unsigned long long)(mono_us() - q->t0));
    }
    json_decref(q->result);
    free(q->in_struct);
    json_decref(q->in);
    jw_free(&q->w);
    form_free(c->params, c->nparams);
    memset(&c->key.secret_key, 0, sizeof c->key.secret_key);
    memset(&c->key.token, 0, sizeof c->key.token);
    free(q);
}

/* http_finish_fn of a deferred request: the action's second half. */
static void finish_deferred(void *arg, struct http_reply *out)
{
    struct api_req *q = arg;
    struct actx ax = actx_of(q);
    settle(q, q->finish(&ax, q->fstate, &q->e));
    finish_request(q, out);
}

struct api_wake *api_defer(struct actx *c, action_finish_fn finish, void *state)
{
    struct api_req *q = c->req;

    if (!q || q->finish)
        return NULL;
    q->finish = finish;
    q->fstate = state;
    /* a poll thread lets go of the request; otherwise api_handle waits */
    q->wake.d = http_defer(q->ctx, finish_deferred, q);
    if (q->wake.d) {
        *q->mode = WAIT_ADAPTER;
    } else {
        pthread_mutex_init(&q->wake.mu, NULL);
        pthread_cond_init(&q->wake.cv, NULL);
        q->wake.woken = 0;
        *q->mode = WAIT_HERE;
    }
    return &q->wake;
}

/* WAIT_HERE: blocks until api_wake, then makes the answer on this thread. */
static void wait_here(struct api_req *q)
{
    struct actx ax = actx_of(q);

    pthread_mutex_lock(&q->wake.mu);
    while (!q->wake.woken)
        pthread_cond_wait(&q->wake.cv, &q->wake.mu);
    pthread_mutex_unlock(&q->wake.mu);
    pthread_cond_destroy(&q->wake.cv);
    pthread_mutex_destroy(&q->wake.mu);
    settle(q, q->finish(&ax, q->fstate, &q->e));
}

enum api_err api_store_failed(const struct actx *c, int rc, const struct serr *se,
                              struct apierr *e)
{
    const struct api_req *q = c->req;
    return store_failed(c->request_id, c->account ? c->account->uin : NULL,
                        q && q->c.def ? q->c.def->name : NULL, rc, se, e);
}

void api_wake(struct api_wake *w)
{
    if (w->d) {
        http_wake(w->d);
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->woken = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void api_handle(struct api *a, const struct http_request *req, struct http_ctx *ctx,
                struct http_reply *out)
{
    struct api_req *q;
    struct call *c;

    if (strcmp(req->path, "/") != 0) {
        reply_plain(out, 404, "not found\n");
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0) {
        reply_plain(out, 405, "method not allowed\n");
        return;
    }
    if (!(q = calloc(1, sizeof *q))) {
        reply_plain(out, 500, "out of memory\n");
        return;
    }
    q->a = a;
    q->ctx = ctx;
    q->t0 = mono_us();
    /* not time(NULL): it reads the kernel's coarse clock, up to a tick
     * behind, so a timestamp taken just after a second began would be off
     * by one at the SignatureExpire bound */
    q->now_ms = now_ms();
    q->now = (time_t)(q->now_ms / 1000);
    q->e.id = API_E_OK;
    c = &q->c;
    c->req = req;
    c->now_ms = q->now_ms;
    jw_init(&q->w, 0);
    jw_reserve(&q->w, 512); /* an error envelope, a small answer */
    if (gen_uuid(c->request_id) != 0)
        snprintf(c->request_id, sizeof c->request_id, "00000000-0000-4000-8000-000000000000");

    if (check_transport(a, c, &q->e) != API_E_OK || check_common(c, &q->e) != API_E_OK ||
        (c->v1 ? verify_v1(a, c, q->now, &q->e) : verify_tc3(a, c, q->now, &q->e)) != API_E_OK ||
        check_permission(a, c, &q->e) != API_E_OK || map_input(c, &q->in, &q->e) != API_E_OK)
        goto done;

    q->result = json_object();
    q->in_struct = input_struct(c->def->input, q->in);
    if (!q->result || !q->in_struct) {
        apierr_set(&q->e, API_E_INTERNAL, NULL);
        goto done;
    }
    envelope_open(&q->w);
    {
        struct actx ax = actx_of(q);
        enum wait_mode mode = WAIT_NONE;
        enum api_err rc;

        q->mode = &mode;
        rc = c->def->fn(&ax, q->result, &q->e);
        if (mode == WAIT_ADAPTER)
            return; /* finish_deferred answers, later; q is not ours any more */
        if (mode == WAIT_HERE)
            wait_here(q);
        else
            settle(q, rc);
    }
done:
    finish_request(q, out);
}

enum api_err api_authenticate(struct api *a, const struct http_request *req, time_t now,
                              struct apierr *e)
{
    struct call c;
    enum api_err rc;

    memset(&c, 0, sizeof c);
    c.req = req;
    e->id = API_E_OK;
    if ((rc = check_transport(a, &c, e)) == API_E_OK && (rc = check_common(&c, e)) == API_E_OK)
        rc = c.v1 ? verify_v1(a, &c, now, e) : verify_tc3(a, &c, now, e);
    form_free(c.params, c.nparams);
    memset(&c.key.secret_key, 0, sizeof c.key.secret_key);
    memset(&c.key.token, 0, sizeof c.key.token);
    return rc;
}

void api_http_handler(void *ud, const struct http_request *req, struct http_ctx *ctx,
                      struct http_reply *out)
{
    api_handle(ud, req, ctx, out);
}

int api_http_quick(void *ud, const struct http_request *req, const void **note)
{
    const struct api *a = ud;
    const char *action, *version;
    const struct action_def *def;
    int name_known;

    if (!http_header(req, "Authorization")) /* v1 (or unsigned): the action is in the form */
        return strcmp(req->path, "/") != 0;
    action = http_header(req, "X-TC-Action");
    version = http_header(req, "X-TC-Version");
    if (!action || !*action || !version || !*version)
        return 1; /* refused before any lookup */
    /* the same lookup check_common would make, kept for it in *note */
    def = find_action(req, action, version, &name_known);
    *note = def ? (const void *)def : name_known ? &note_no_version : &note_no_action;
    /* a signed request takes its token from the cluster's Redis: a network
     * round trip, which would stall every connection of a poll thread */
    if (def && a->shared)
        return 0;
    return !def || def->thread == ACT_POLL; /* a request refused early fails fast */
}

int api_http_bulk(void *ud, const struct http_request *req, const void **note)
{
    const struct action_def *def;

    /* v1 requests name the action in the form: they stay in the common
     * pool; a TC3 one's action api_http_quick found already (*note) */
    if (!http_header(req, "Authorization"))
        return 0;
    if (!*note)
        api_http_quick(ud, req, note);
    if (!*note || *note == &note_no_action || *note == &note_no_version)
        return 0;
    def = *note;
    return def->thread == ACT_BULK;
}

void api_set_rate_limit(struct api *a, uint32_t rate)
{
    atomic_store(&a->rate, rate ? rate : API_DEFAULT_RATE_LIMIT);
}

void api_set_shared_limiter(struct api *a, struct rl_shared *s)
{
    rl_shared_free(a->shared);
    a->shared = s;
}

int api_metrics(const struct api *a, struct buf *out)
{
    if (a->metrics && api_metrics_write(a->metrics, out) != 0)
        return -1;
    return a->shared ? rl_shared_metrics(a->shared, out) : 0;
}
