/* assign.h: what a capture agent on one host watches, for which flow logs:
 * the coverage rules of the data plane, pure (no store, no I/O, no clock).
 *
 * The control plane reads a host's snapshot from the store (store.h,
 * host_snapshot: the resources bound to the host and the enabled flow logs
 * that may cover them), and assign_document() applies the rules and writes
 * the answer an agent gets:
 *   - a flow log on a NETWORKINTERFACE covers that ENI; on a SUBNET or a
 *     VPC, every ENI in it (of the flow log's account and region); on a
 *     NAT or DCG, that gateway; on a CCN, the CCN (any region);
 *   - a resource is watched only when at least one enabled flow log covers
 *     it; a flow log appears only when it covers a resource of the host;
 *   - an ENI covered by several flow logs is listed under each.
 * The document names everything a sink needs (struct sink_dest). */
#ifndef FLOWLOGD_CONTROL_ASSIGN_H
#define FLOWLOGD_CONTROL_ASSIGN_H

#include <jansson.h>
#include <stddef.h>

#include "store/store.h"

/** A resource bound to the host, with its account. */
struct assign_res {
    struct account acct;
    struct resource r;
};

/** A host's snapshot, as host_snapshot handed it out (flow logs' tags are
 * dropped). Owned arrays; assign_snap_free releases them. */
struct assign_snap {
    struct assign_res *res;
    size_t nres, capres;
    struct flowlog *fl;
    size_t nfl, capfl;
    int oom; /* an append failed: the snapshot is incomplete */
    /* per flow log (fl's index): its CKafka instance's Brokers from the
     * inventory ("" when not CKafka or unknown); NULL: none looked up */
    char (*brokers)[sizeof((struct resource *)0)->brokers];
};

void assign_snap_init(struct assign_snap *s);
void assign_snap_free(struct assign_snap *s);

/** A host_sink filling s (copies; the flow logs without their tags). */
struct host_sink assign_snap_sink(struct assign_snap *s);

/** 1 if enabled flow log fl covers resource r of account uin, else 0. */
int assign_covers(const struct flowlog *fl, const char *uin, const struct resource *r);

/** The record format's name for a flow log ("fields" when the admin set
 * one: the line is then `fields`; else "ccn" on a CCN, "default") and its
 * field names, space-separated, in fields[cap]. */
const char *assign_format(const struct flowlog *fl, char *fields, size_t cap);

/** The agent's document for `host` (new reference; NULL when out of
 * memory):
 *   {"Host", "Generation": hex SHA-256 of Devices and FlowLogs,
 *    "Devices": [{"ResourceId","Kind":"eni|nat|dcg|ccn","Region","VpcId",
 *                 "SubnetId","InstanceId","Device","Netns",
 *                 "Addresses": an ENI's PrivateIpAddresses,
 *                 "AttachedVpcs": a CCN's [{"Region","CidrBlock"}]}],
 *    "FlowLogs": [{"FlowLogId","Uin","AppId","Region","ResourceType",
 *                  "ResourceId","TrafficType","StorageType","CloudLogId",
 *                  "CloudLogRegion","StorageId","StorageTopic","Brokers",
 *                  "Period","Format","Fields","Resources":[ids]}]}
 * in the snapshot's order. */
json_t *assign_document(const struct assign_snap *s, const char *host);

#endif
