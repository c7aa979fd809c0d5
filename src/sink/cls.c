/* cls.c: the CLS sink: a window's records delivered with UploadLog to a CLS
 * topic (flowlogd's own cls service, or any CLS-compatible endpoint).
 *
 * One CLS log per record, one content per field name (the record line's
 * names: dest->fields, else Tencent's 14), `time` the record's start (the
 * window's start when the line has none), the group's `source` the host
 * and `filename` the flow log's id. A window's records go in batches of at
 * most CLS_MAX_GROUP_LOGS logs and SINK_CLS_BATCH_BYTES bytes, one LogGroup
 * each, lz4-compressed, TC3-signed (auth/) over the binary body. Each
 * batch carries the logTag __flowlogd_batch__ = "AGENT/FLOWLOG/START-END/N":
 * the cls service stores a batch once however often it is sent, so a
 * retry (a lost answer, a crash before the window was marked delivered)
 * never duplicates a record. sink_write returns 0 once every batch was
 * acknowledged (durable on the service's side). */
#include "sink/sink.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/tc3_post.h"
#include "base/buf.h"
#include "base/log.h"
#include "cls/body.h"
#include "flow/flow.h"
#include "store/store.h"

#define SINK_CLS_BATCH_BYTES (4u << 20)
#define MAX_FIELDS 64

struct sink_cls {
    struct sink base; /* must be first */
    struct sink_cls_config cfg;
    char *endpoint, *secret_id, *secret_key, *token, *region, *agent_id;
    char url[512], host[256];
    CURL *curl;
    struct store *st; /* sink_cls_store_open: the server's own store, no HTTP */
    pthread_mutex_t mu;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* One UploadLog of `body` to `topic`. 0; 1 when worth retrying (transport,
 * InternalError, RequestLimitExceeded); -1 otherwise. err says why. */
static int upload(struct sink_cls *s, const char *topic, const char *region,
                  const unsigned char *body, size_t len, char *err, size_t errlen)
{
    struct auth_header extra[] = {
        {"X-TC-Action", "UploadLog"},         {"X-TC-Version", "2020-10-16"},
        {"X-TC-Region", region},              {"X-TC-Token", s->token},
        {"X-TC-RequestClient", "flowlogd-sink"}, {"X-CLS-TopicId", topic},
        {"X-CLS-CompressType", "lz4"},
    };
    struct tc3_post post = {s->url,
                            s->host,
                            "cls",
                            "application/octet-stream",
                            body,
                            len,
                            s->secret_id,
                            s->secret_key,
                            extra,
                            sizeof extra / sizeof extra[0],
                            1000L * (long)(s->cfg.timeout_s ? s->cfg.timeout_s : 60),
                            0,
                            s->cfg.cacert};
    struct buf resp;
    json_t *root = NULL, *r, *er;
    long status = 0;
    int rc;

    buf_init(&resp, 1u << 20);
    rc = tc3_post(s->curl, &post, &resp, &status, err, errlen);
    if (rc != TC3_POST_OK)
        goto done; /* a transport error is worth retrying, not a failure to sign */
    rc = -1;
    root = json_loadb(resp.data ? resp.data : "", resp.len, 0, NULL);
    r = json_object_get(root, "Response");
    if (!json_is_object(r)) {
        snprintf(err, errlen, "%s answered HTTP %ld without an API envelope", s->url, status);
        rc = status >= 500 ? 1 : -1;
        goto done;
    }
    if ((er = json_object_get(r, "Error"))) {
        const char *code = json_string_value(json_object_get(er, "Code"));
        const char *msg = json_string_value(json_object_get(er, "Message"));
        snprintf(err, errlen, "UploadLog to %s: %s: %s", topic, code ? code : "?",
                 msg ? msg : "");
        rc = code && (strncmp(code, "InternalError", 13) == 0 ||
                      strcmp(code, "RequestLimitExceeded") == 0 ||
                      strncmp(code, "FailedOperation.WriteQpsLimit", 29) == 0)
                 ? 1
                 : -1;
        goto done;
    }
    rc = 0;
done:
    json_decref(root);
    buf_free(&resp);
    return rc;
}

/* One batch into the server's own store: the same group, the same batch
 * tag (CLS_BATCH_TAG: a batch stored once however often it comes), the
 * flow log's owner as the tenant. 0, or -1 with err (delivery retries). */
static int put_batch(struct sink_cls *s, const struct sink_window *w, const char *topic,
                     const char *region, const struct cls_group *g, char *err, size_t errlen)
{
    const struct sink_dest *d = w->dest;
    struct serr se = {{0}};
    char uin[24];
    uint64_t stored = 0;
    int r;

    if (!d || !d->account_uin) {
        snprintf(err, errlen, "flow log %s: no owner to store its logs under", w->flowlog_id);
        return -1;
    }
    snprintf(uin, sizeof uin, "%llu", (unsigned long long)d->account_uin);
    r = store_cls_logs_put(s->st, uin, region, topic, g, 1, "__flowlogd_batch__", &stored, &se);
    if (r == STORE_OK)
        return 0;
    /* a topic this cls service does not have (an inventory's CloudLogId,
     * a deleted topic) or a closed one: as at Tencent, the topic gets no
     * records; the window stays in the files sink, and the other flow logs'
     * delivery goes on (a failure here would hold them all up) */
    if (r == STORE_NOTFOUND || r == STORE_INUSE) {
        log_warn("capture: %s window %llu: CLS topic %s of %s in %s %s: its records stay in "
                 "the files only",
                 w->flowlog_id, (unsigned long long)w->win_start, topic, uin, region,
                 r == STORE_NOTFOUND ? "is not in this server's cls service" : "is closed");
        return 0;
    }
    snprintf(err, errlen, "storing into CLS topic %s: %s", topic,
             se.msg[0] ? se.msg : "store error");
    return -1;
}

/* Sends one batch, retrying what is worth retrying (the batch tag makes a
 * repeat harmless). */
static int send_batch(struct sink_cls *s, const struct sink_window *w, const char *topic,
                      const char *region, const struct cls_log *logs, size_t n, unsigned batch,
                      char *err, size_t errlen)
{
    char tag[256];
    struct cls_kv kv;
    struct cls_group g;
    const struct sink_dest *d = w->dest;
    unsigned char *body;
    size_t len;
    int rc = -1;

    snprintf(tag, sizeof tag, "%s/%s/%llu-%llu/%u", s->agent_id ? s->agent_id : "agent",
             w->flowlog_id, (unsigned long long)w->win_start, (unsigned long long)w->win_end,
             batch);
    kv = (struct cls_kv){"__flowlogd_batch__", tag, 18, strlen(tag)};
    g = (struct cls_group){d && d->host ? d->host : "", w->flowlog_id, "", &kv, 1, logs, n};
    if (!(body = cls_body_encode(&g, 1, 1, &len))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (s->st) { /* what UploadLog would do with this batch, without the wire */
        free(body);
        return put_batch(s, w, topic, region, &g, err, errlen);
    }
    for (unsigned attempt = 0;; attempt++) {
        rc = upload(s, topic, region, body, len, err, errlen);
        if (rc <= 0 || attempt >= s->cfg.retries)
            break;
        usleep(100000u << (attempt < 5 ? attempt : 5)); /* 0.1 s .. 3.2 s */
    }
    free(body);
    return rc == 0 ? 0 : -1;
}

static int cls_write(struct sink *base, const struct sink_window *w, char *err, size_t errlen)
{
    struct sink_cls *s = (struct sink_cls *)base;
    const struct sink_dest *d = w->dest;
    const char *topic = d ? d->cls_topic_id : NULL;
    const char *region = d && d->cls_region && *d->cls_region ? d->cls_region : s->region;
    char names_buf[1024], *names[MAX_FIELDS];
    size_t nnames = 0, nlogs = 0, bytes = 0, cap = 0;
    int start_at = -1, rc = 0;
    unsigned batch = 0;
    struct cls_log *logs = NULL;
    struct cls_kv *kvs = NULL;
    char *text = NULL;

    if (d && d->storage_type && *d->storage_type && strcmp(d->storage_type, "cls") != 0)
        return 0; /* another sink's (ckafka) */
    if (!topic || !*topic) {
        snprintf(err, errlen, "flow log %s has no CLS topic to deliver to", w->flowlog_id);
        return -1;
    }
    if (!region || !*region) {
        snprintf(err, errlen, "no region for CLS topic %s", topic);
        return -1;
    }
    /* the field names */
    if (d && d->fields && *d->fields) {
        snprintf(names_buf, sizeof names_buf, "%s", d->fields);
    } else {
        size_t at = 0;
        names_buf[0] = '\0';
        for (unsigned i = 0; i < flow_format_eni.n && at < sizeof names_buf; i++)
            at += (size_t)snprintf(names_buf + at, sizeof names_buf - at, "%s%s", i ? " " : "",
                                   flow_field_name((enum flow_field)flow_format_eni.field[i]));
    }
    {
        char *save = NULL;
        for (char *p = strtok_r(names_buf, " ", &save); p && nnames < MAX_FIELDS;
             p = strtok_r(NULL, " ", &save))
            names[nnames++] = p;
    }
    for (size_t i = 0; i < nnames; i++)
        if (strcmp(names[i], "start") == 0)
            start_at = (int)i;
    if (w->len == 0)
        return 0; /* nothing to deliver */

    pthread_mutex_lock(&s->mu);
    /* a private copy of the lines, cut in place into the logs' values */
    cap = w->nrecords ? w->nrecords : 1;
    if (cap > CLS_MAX_GROUP_LOGS)
        cap = CLS_MAX_GROUP_LOGS;
    if (!(text = malloc(w->len + 1)) || !(logs = calloc(cap, sizeof *logs)) ||
        !(kvs = calloc((cap + 1) * (nnames ? nnames : 1), sizeof *kvs))) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
        goto done;
    }
    memcpy(text, w->records, w->len);
    text[w->len] = '\0';
    for (char *line = text, *next; line && *line; line = next) {
        size_t nf = 0, lbytes = 16;
        struct cls_kv *kv = &kvs[nlogs * nnames];
        int64_t t = (int64_t)w->win_start;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (!*line)
            continue;
        for (char *f = line, *sp; f && nf < nnames; f = sp) {
            sp = strchr(f, ' ');
            if (sp)
                *sp++ = '\0';
            kv[nf] = (struct cls_kv){names[nf], f, strlen(names[nf]), strlen(f)};
            lbytes += kv[nf].klen + kv[nf].vlen + 6;
            nf++;
        }
        if (start_at >= 0 && (size_t)start_at < nf) {
            char *end;
            long long v = strtoll(kv[start_at].value, &end, 10);
            if (*end == '\0' && v > 0)
                t = v;
        }
        if (nlogs && (nlogs == cap || bytes + lbytes > SINK_CLS_BATCH_BYTES)) {
            if ((rc = send_batch(s, w, topic, region, logs, nlogs, batch++, err, errlen)) != 0)
                goto done;
            /* the next batch reuses the arrays: move this record's contents down */
            memmove(kvs, kv, nf * sizeof *kv);
            kv = kvs;
            nlogs = 0;
            bytes = 0;
        }
        logs[nlogs] = (struct cls_log){t * 1000, kv, nf};
        nlogs++;
        bytes += lbytes;
    }
    if (nlogs)
        rc = send_batch(s, w, topic, region, logs, nlogs, batch++, err, errlen);
done:
    pthread_mutex_unlock(&s->mu);
    free(text);
    free(logs);
    free(kvs);
    return rc;
}

static void cls_close(struct sink *base)
{
    struct sink_cls *s = (struct sink_cls *)base;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    free(s->endpoint);
    free(s->secret_id);
    if (s->secret_key)
        memset(s->secret_key, 0, strlen(s->secret_key));
    free(s->secret_key);
    free(s->token);
    free(s->region);
    free(s->agent_id);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static const struct sink_ops cls_ops = {cls_write, cls_close};

struct sink *sink_cls_open(const struct sink_cls_config *cfg, char *err, size_t errlen)
{
    struct sink_cls *s;
    const char *ep = cfg->endpoint, *h;
    size_t hn;

    if (!ep || !*ep || !cfg->secret_id || !cfg->secret_key) {
        snprintf(err, errlen, "the CLS sink needs an endpoint and a credential");
        return NULL;
    }
    if (!(s = calloc(1, sizeof *s))) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &cls_ops;
    s->base.name = "cls";
    s->cfg = *cfg;
    s->endpoint = dup_or_null(cfg->endpoint);
    s->secret_id = dup_or_null(cfg->secret_id);
    s->secret_key = dup_or_null(cfg->secret_key);
    s->token = cfg->token && *cfg->token ? dup_or_null(cfg->token) : NULL;
    s->region = dup_or_null(cfg->region);
    s->agent_id = dup_or_null(cfg->agent_id);
    pthread_mutex_init(&s->mu, NULL);
    /* the URL, and the Host it is signed with */
    h = strstr(ep, "://") ? strstr(ep, "://") + 3 : ep;
    hn = strcspn(h, "/");
    if (hn == 0 || hn >= sizeof s->host) {
        snprintf(err, errlen, "bad CLS endpoint %s", ep);
        cls_close(&s->base);
        return NULL;
    }
    memcpy(s->host, h, hn);
    s->host[hn] = '\0';
    snprintf(s->url, sizeof s->url, "%s%.*s/", strstr(ep, "://") ? "" : "http://",
             (int)(h + hn - ep), ep);
    s->curl = curl_easy_init();
    if (!s->curl || !s->endpoint || !s->secret_id || !s->secret_key) {
        snprintf(err, errlen, "out of memory");
        cls_close(&s->base);
        return NULL;
    }
    return &s->base;
}

struct sink *sink_cls_store_open(struct store *st, const char *agent_id, const char *region,
                                 char *err, size_t errlen)
{
    struct sink_cls *s;

    if (!st || !store_has_cls(st)) {
        snprintf(err, errlen, "this store keeps no CLS logs");
        return NULL;
    }
    if (!(s = calloc(1, sizeof *s))) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &cls_ops;
    s->base.name = "cls";
    s->st = st;
    s->region = dup_or_null(region);
    s->agent_id = dup_or_null(agent_id);
    pthread_mutex_init(&s->mu, NULL);
    if ((region && !s->region) || (agent_id && !s->agent_id)) {
        snprintf(err, errlen, "out of memory");
        cls_close(&s->base);
        return NULL;
    }
    return &s->base;
}
