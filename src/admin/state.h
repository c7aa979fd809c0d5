/* state.h: the documents of the admin API, without HTTP (the CLI's
 * `state export|import` uses them too): accounts, keys, inventory, reset,
 * the whole state as one JSON document (docs/API.md, "The admin API"), and
 * the files of `serve --init`.
 *
 * Each call takes a JSON object (borrowed) and answers an HTTP-style
 * status with a JSON object: the result (200) or {"Error":{"Code",
 * "Message"}} (4xx: the document's fault, naming the problem; 5xx). */
#ifndef FLOWLOGD_ADMIN_STATE_H
#define FLOWLOGD_ADMIN_STATE_H

#include <jansson.h>
#include <stddef.h>

#include "store/store.h"

struct admin_answer {
    int status;   /* 200, or an HTTP error status */
    json_t *body; /* owned by the caller; never NULL */
};

/** An error answer ({"Error":{"Code","Message"}}). */
struct admin_answer admin_fail(int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** 200 with body (owned); a 500 if body is NULL (out of memory). */
struct admin_answer admin_ok(json_t *body);

/** {"SecretId","SecretKey","AppId","Uin","FlowLogQuota"}, each optional
 * (a SecretId wants its SecretKey; without one a key pair is drawn). */
struct admin_answer admin_account_create(struct store *st, json_t *in);

/** {"Uin", "SecretId"?, "SecretKey"?, "Actions"?} */
struct admin_answer admin_key_create(struct store *st, json_t *in);

/** An inventory file (docs/API.md, Inventory) plus "Uin": all or nothing. */
struct admin_answer admin_inventory_import(struct store *st, json_t *in);

/** {"Uin", "ResourceId", "Host"?, "HostDevice", "HostNetns"?}: binds an
 * ENI, NAT gateway, DCG or CCN to a device of a host (Host defaults to this
 * one's name); HostDevice "" unbinds. */
struct admin_answer admin_inventory_bind(struct store *st, json_t *in);

/** {"Host"?}: a new agent key {"SecretId","SecretKey","Host","CreatedTime"}
 * (Host "" = for any host). */
struct admin_answer admin_agent_key_create(struct store *st, json_t *in);

/** {"AgentKeys":[{"SecretId","Host","CreatedTime"}...]}: no secrets. */
struct admin_answer admin_agent_key_list(struct store *st);

/** {"SecretId"}: deletes that agent key (404 AgentKeyNotFound). */
struct admin_answer admin_agent_key_delete(struct store *st, json_t *in);

/** {} (everything) or {"Uin"}: one durable transaction. */
struct admin_answer admin_reset(struct store *st, json_t *in);

/** The whole state: {"flowlogd_state":1,"accounts","keys","resources",
 * "flowlogs"}, from one snapshot. */
struct admin_answer admin_state_export(struct store *st);

/** Replaces the whole state with a document of admin_state_export: checked
 * whole first (a bad one changes nothing), then the store is reset and
 * every row written again. Temporary (STS) keys are not carried. */
struct admin_answer admin_state_import(struct store *st, json_t *in);

/** {"Uin", "Region"? (default ap-guangzhou), "FlowLogId", "Format"?}: sets
 * (with Format) or reads a flow log's record format: "default" (Tencent's
 * line) or field names (flow/flow.h's flow_format_parse). Answers
 * {"FlowLogId", "Format", "Version"}. record_format.c. */
struct admin_answer admin_flowlog_format(struct store *st, json_t *in);

/** `serve --init DIR`: when the store has no account yet, applies every
 * DIR/ *.account.json (as admin_account_create) and then every
 * DIR/ *.inventory.json (as admin_inventory_import), each set in name
 * order. A store with accounts is left alone (*applied = 0). 0, or -1 with
 * the file and the reason in err (what came before stays applied). */
int admin_init_dir(struct store *st, const char *dir, int *applied, char *err, size_t errlen);

#endif
