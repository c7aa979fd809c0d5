/* control.c: see control.h. */
#include "control/control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/log.h"
#include "base/util.h"
#include "control/assign.h"

int control_path(const struct http_request *req)
{
    return strcmp(req->path, CONTROL_PATH) == 0;
}

/* Each CKafka flow log's brokers: the inventory's Brokers of its
 * StorageId in its region (the Kafka sink delivers there). 0, or -1 with
 * err (a store failure; an instance not found leaves "" and the agent's
 * Kafka sink refuses the window, logged). */
static int assign_kafka_brokers(struct store *st, struct assign_snap *s, char *err,
                                size_t errlen)
{
    if (!s->nfl)
        return 0;
    if (!(s->brokers = calloc(s->nfl, sizeof *s->brokers))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < s->nfl; i++) {
        const struct flowlog *fl = &s->fl[i];
        struct resource r;
        struct serr se = {{0}};
        if (strcmp(fl->storage_type, "ckafka") != 0 || !fl->storage_id[0])
            continue;
        int rc = store_resource_get(st, fl->uin, fl->region, RES_CKAFKA, fl->storage_id, &r, &se);
        if (rc == STORE_OK)
            memcpy(s->brokers[i], r.brokers, sizeof s->brokers[i]);
        else if (rc != STORE_NOTFOUND) {
            snprintf(err, errlen, "store: %s", se.msg);
            return -1;
        }
    }
    return 0;
}

json_t *control_assignments(struct store *st, const char *host, char *err, size_t errlen)
{
    struct assign_snap s;
    struct host_sink sink;
    struct serr se = {{0}};
    json_t *doc = NULL;
    assign_snap_init(&s);
    sink = assign_snap_sink(&s);
    if (store_host_snapshot(st, host, &sink, &se) != STORE_OK)
        snprintf(err, errlen, "store: %s", se.msg);
    else if (assign_kafka_brokers(st, &s, err, errlen) != 0)
        ;
    else if (!(doc = assign_document(&s, host)))
        snprintf(err, errlen, "out of memory");
    assign_snap_free(&s);
    return doc;
}

static void answer(struct http_reply *out, json_t *resp, const char *rid)
{
    json_t *root = NULL;
    if (resp && json_object_set_new(resp, "RequestId", json_string(rid)) == 0)
        root = json_pack("{s:o}", "Response", resp);
    else
        json_decref(resp);
    out->status = 200;
    out->content_type = "application/json";
    out->body = root ? json_dumps(root, JSON_COMPACT) : NULL;
    if (!out->body) {
        out->status = 500;
        out->body = strdup("{\"Response\":{\"Error\":{\"Code\":\"InternalError\",\"Message\":"
                           "\"out of memory\"}}}");
    }
    out->body_len = out->body ? strlen(out->body) : 0;
    json_decref(root);
}

static void fail(struct http_reply *out, const char *rid, const char *code, const char *msg)
{
    answer(out, json_pack("{s:{s:s,s:s}}", "Error", "Code", code, "Message", msg), rid);
}

/* The TC3 check with an agent key: 0, or -1 with the error's code and
 * message. *key gets the key. */
static int verify(struct store *st, const struct http_request *req, int64_t now,
                  struct agent_key *key, const char **code, char *msg, size_t msglen)
{
    struct tc3_auth au;
    struct tc3_request tr;
    struct auth_header few[32];
    struct serr se = {{0}};
    const char *tsv = http_header(req, "X-TC-Timestamp");
    unsigned char dk[32];
    char date[11];
    int64_t ts;
    int rc;

    *code = "AuthFailure.InvalidAuthorization";
    if (tc3_parse_authorization(http_header(req, "Authorization"), &au, msg, msglen) != 0)
        return -1;
    if (!tsv || parse_i64(tsv, strlen(tsv), &ts) != 0) {
        snprintf(msg, msglen, "X-TC-Timestamp (UNIX seconds) is required");
        return -1;
    }
    if (ts > now + CONTROL_MAX_SKEW_S || ts < now - CONTROL_MAX_SKEW_S) {
        *code = "AuthFailure.SignatureExpire";
        snprintf(msg, msglen, "the timestamp is more than %d s away from the server's clock",
                 CONTROL_MAX_SKEW_S);
        return -1;
    }
    rc = store_agent_key_lookup(st, au.secret_id, key, &se);
    if (rc == STORE_NOTFOUND) {
        *code = "AuthFailure.SecretIdNotFound";
        snprintf(msg, msglen, "no agent key %.64s (flowlogd agent-key create)", au.secret_id);
        return -1;
    }
    if (rc != STORE_OK) {
        *code = "InternalError";
        snprintf(msg, msglen, "the store failed");
        log_error("control: agent key lookup: %s", se.msg);
        return -1;
    }
    fmt_date_utc((time_t)ts, date);
    if (strcmp(au.date, date) != 0 || strcmp(au.service, CONTROL_SERVICE) != 0 ||
        req->nheaders > sizeof few / sizeof few[0]) {
        *code = "AuthFailure.SignatureFailure";
        snprintf(msg, msglen, "the credential scope must be %s/%s/tc3_request", date,
                 CONTROL_SERVICE);
        return -1;
    }
    for (size_t i = 0; i < req->nheaders; i++)
        few[i] = (struct auth_header){req->headers[i].name, req->headers[i].value};
    memset(&tr, 0, sizeof tr);
    tr.method = req->method;
    tr.query = req->query;
    tr.headers = few;
    tr.nheaders = req->nheaders;
    tr.body = req->body;
    tr.body_len = req->body_len;
    tc3_derive_key(key->secret_key, au.date, au.service, dk);
    if (!tc3_verify(&tr, &au, dk, tsv)) {
        *code = "AuthFailure.SignatureFailure";
        snprintf(msg, msglen, "the signature does not match");
        return -1;
    }
    return 0;
}

void control_reply(struct store *st, const struct http_request *req, int64_t now,
                   struct http_reply *out)
{
    char rid[37] = "", msg[256];
    const char *code, *host;
    struct agent_key key;
    json_error_t je;
    json_t *in = NULL, *doc;

    out->nextra = 0;
    if (gen_uuid(rid) != 0)
        snprintf(rid, sizeof rid, "00000000-0000-4000-8000-000000000000");
    if (strcmp(req->method, "POST") != 0) {
        fail(out, rid, "UnsupportedOperation", "POST " CONTROL_PATH " only");
        return;
    }
    if (req->body_too_large) {
        fail(out, rid, "InvalidParameter", "the body is too large");
        return;
    }
    if (verify(st, req, now, &key, &code, msg, sizeof msg) != 0) {
        log_info("control: %s refused: %s", req->client_ip ? req->client_ip : "-", msg);
        fail(out, rid, code, msg);
        return;
    }
    in = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
    host = json_string_value(json_object_get(in, "Host"));
    if (!host || !*host || strlen(host) >= sizeof key.host) {
        fail(out, rid, "MissingParameter", "the body is {\"Host\": the agent's host name}");
    } else if (key.host[0] && strcmp(key.host, host) != 0) {
        snprintf(msg, sizeof msg, "agent key %s is for host %s, not %.64s", key.secret_id,
                 key.host, host);
        fail(out, rid, "UnauthorizedOperation", msg);
    } else if (!(doc = control_assignments(st, host, msg, sizeof msg))) {
        log_error("control: assignments of %s: %s", host, msg);
        fail(out, rid, "InternalError", "the store failed");
    } else {
        answer(out, doc, rid);
    }
    json_decref(in);
}
