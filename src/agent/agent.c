/* agent.c: the data plane's agent (`flowlogd agent`, and inside `serve
 * --capture`): it asks the control plane what its host watches for which
 * enabled flow logs (control/assign.h's document), attaches and detaches
 * the tc programs to match (one loaded capture per network namespace; a
 * device no enabled flow log needs is not watched), and at each window's
 * end drains the kernel's tables into the engine's window table and writes
 * each flow log's records through its sinks.
 *
 * Slots: every watched device has a slot (the resource's number in the
 * kernel's keys and the window table), unique across the namespaces so that
 * one table takes every capture's drain. A slot given up is not reused for
 * two windows: the kernel's half of the window it was dropped in may still
 * hold its packets.
 *
 * Restarts: the control plane down, the agent keeps its last assignment and
 * goes on capturing; it asks again every poll. The agent's own stop or crash
 * loses the window in progress: a marker (DIR/.agent/open.json: the window
 * and its flow logs) is written at every window's start, and an agent that
 * finds one writes SKIPDATA for that window and every window it missed, and
 * SKIPDATA lines beside the records of the window it starts in (a window
 * the files already hold, written just before a crash, is not lost). A
 * first-ever start (no marker) starts inside a window too: that window's
 * records say SKIPDATA beside them, never a silent partial window. */
#define _GNU_SOURCE
#include "agent/agent.h"
#include "agent/deliver.h"
#include "agent/dp_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"
#include "flow/bpf/capture.h"
#include "flow/bpf/flowcap_abi.h"
#include "flow/flow.h"
#include "replay/replay.h" /* flow_cidr_parse */
#include "sink/sink.h"

#define AGENT_MAX_NS 64
#define AGENT_MAX_SINKS 4
#define AGENT_MISSED_MAX 1000 /* windows a restarted agent reports lost, at most */
#define AGENT_MAX_ADDRS 16     /* an ENI's addresses the agent attributes drops by */
#define AGENT_MAX_ATTACHED 32  /* a CCN's attached VPCs */
#define AGENT_RETRY_MS 5000    /* a device that could not be watched is tried again after this */

/* ==== the assignment, as the agent keeps it ==== */

struct adev { /* a device to watch */
    char rid[80];
    char dev[16];
    char netns[128];
    char addr[AGENT_MAX_ADDRS][48]; /* ENI: its addresses (drops towards it) */
    size_t naddr;
    struct { /* CCN: its attached VPCs (records' srcregionid, dstregionid) */
        char region[32];
        struct flow_region_cidr cidr; /* .region points at region above when used */
    } att[AGENT_MAX_ATTACHED];
    size_t natt;
    char vpc[32], subnet[32], instance[80]; /* the records' vpc-id, subnet-id, instance-id */
    int shared; /* several ENIs are bound to this device: watched by their addresses */
    int warned; /* its attach failed and was logged: later failures are not */
    uint64_t retry_ms; /* after a failed attach: not before this (monotonic ms) */
};

struct afl { /* a flow log to write */
    char id[24], uin[24], appid[24], region[32], rtype[20], rid[80];
    char storage_type[16], cls_topic[48], cls_region[32], ckafka_id[88], ckafka_topic[256];
    char brokers[512], fields[512];
    int tt, ccn;
    uint32_t period; /* CCN: its Period, when longer than the window (else 0) */
    char format[16];        /* "default", "ccn", or "fields" (the line is `fields`) */
    struct flow_format fmt; /* the record line */
    char (*res)[80]; /* the resources of this host it covers */
    size_t nres;
};

struct assignment {
    char generation[72];
    struct adev *dev;
    size_t ndev;
    struct afl *fl;
    size_t nfl;
};

static void assignment_free(struct assignment *a)
{
    for (size_t i = 0; i < a->nfl; i++)
        free(a->fl[i].res);
    free(a->dev);
    free(a->fl);
    memset(a, 0, sizeof *a);
}

static int cp(json_t *o, const char *key, char *dst, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        s = "";
    if (strlen(s) >= cap)
        return -1;
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

static int traffic_type(const char *s)
{
    if (strcmp(s, "ACCEPT") == 0)
        return FLOW_TT_ACCEPT;
    if (strcmp(s, "REJECT") == 0)
        return FLOW_TT_REJECT;
    return FLOW_TT_ALL;
}

/* The control plane's document into a (empty). 0, or -1 with err. */
static int assignment_parse(json_t *doc, struct assignment *a, char *err, size_t errlen)
{
    json_t *devs = json_object_get(doc, "Devices"), *fls = json_object_get(doc, "FlowLogs"), *o;
    size_t i;
    memset(a, 0, sizeof *a);
    if (!json_is_array(devs) || !json_is_array(fls) ||
        cp(doc, "Generation", a->generation, sizeof a->generation) != 0) {
        snprintf(err, errlen, "the control plane's answer has no Devices, FlowLogs, Generation");
        return -1;
    }
    a->dev = calloc(json_array_size(devs) + 1, sizeof *a->dev);
    a->fl = calloc(json_array_size(fls) + 1, sizeof *a->fl);
    if (!a->dev || !a->fl)
        goto oom;
    json_array_foreach(devs, i, o) {
        struct adev *d = &a->dev[a->ndev];
        json_t *x;
        size_t k;
        if (cp(o, "ResourceId", d->rid, sizeof d->rid) || cp(o, "Device", d->dev, sizeof d->dev) ||
            cp(o, "Netns", d->netns, sizeof d->netns) || cp(o, "VpcId", d->vpc, sizeof d->vpc) ||
            cp(o, "SubnetId", d->subnet, sizeof d->subnet) ||
            cp(o, "InstanceId", d->instance, sizeof d->instance) || !d->rid[0] || !d->dev[0]) {
            snprintf(err, errlen, "Devices[%zu]: ResourceId, Device, Netns", i);
            goto fail;
        }
        json_array_foreach(json_object_get(o, "Addresses"), k, x) {
            const char *s = json_string_value(x);
            if (s && strlen(s) < sizeof d->addr[0] && d->naddr < AGENT_MAX_ADDRS)
                memcpy(d->addr[d->naddr++], s, strlen(s) + 1);
        }
        json_array_foreach(json_object_get(o, "AttachedVpcs"), k, x) {
            const char *rg = json_string_value(json_object_get(x, "Region"));
            const char *cidr = json_string_value(json_object_get(x, "CidrBlock"));
            if (!rg || !cidr || strlen(rg) >= sizeof d->att[0].region ||
                d->natt == AGENT_MAX_ATTACHED || flow_cidr_parse(cidr, &d->att[d->natt].cidr) != 0)
                continue;
            memcpy(d->att[d->natt].region, rg, strlen(rg) + 1);
            d->natt++;
        }
        /* the control plane's word: another ENI (maybe covered by no flow
         * log, so not listed here) is bound to this device too */
        d->shared = json_is_true(json_object_get(o, "Shared"));
        a->ndev++;
    }
    /* several ENIs bound to one device (a bridge's uplink, a port carrying
     * several): it is watched by their addresses (capture_watch_shared) */
    for (size_t x = 0; x < a->ndev; x++)
        for (size_t y = 0; y < a->ndev; y++)
            if (x != y && strcmp(a->dev[x].dev, a->dev[y].dev) == 0 &&
                strcmp(a->dev[x].netns, a->dev[y].netns) == 0)
                a->dev[x].shared = 1;
    json_array_foreach(fls, i, o) {
        struct afl *f = &a->fl[a->nfl];
        char tt[16], format[16];
        json_t *res = json_object_get(o, "Resources"), *r;
        size_t k;
        if (cp(o, "FlowLogId", f->id, sizeof f->id) || cp(o, "Uin", f->uin, sizeof f->uin) ||
            cp(o, "AppId", f->appid, sizeof f->appid) ||
            cp(o, "Region", f->region, sizeof f->region) ||
            cp(o, "ResourceType", f->rtype, sizeof f->rtype) ||
            cp(o, "ResourceId", f->rid, sizeof f->rid) || cp(o, "TrafficType", tt, sizeof tt) ||
            cp(o, "StorageType", f->storage_type, sizeof f->storage_type) ||
            cp(o, "CloudLogId", f->cls_topic, sizeof f->cls_topic) ||
            cp(o, "CloudLogRegion", f->cls_region, sizeof f->cls_region) ||
            cp(o, "StorageId", f->ckafka_id, sizeof f->ckafka_id) ||
            cp(o, "StorageTopic", f->ckafka_topic, sizeof f->ckafka_topic) ||
            cp(o, "Brokers", f->brokers, sizeof f->brokers) ||
            cp(o, "Fields", f->fields, sizeof f->fields) ||
            cp(o, "Format", format, sizeof format) || !sink_id_ok(f->id) || !json_is_array(res)) {
            snprintf(err, errlen, "FlowLogs[%zu]: a member is missing or too long", i);
            goto fail;
        }
        f->tt = traffic_type(tt);
        f->ccn = strcmp(format, "ccn") == 0;
        memcpy(f->format, format, sizeof f->format);
        if (strcmp(format, "fields") == 0) { /* the admin's record format */
            char ferr[128];
            if (flow_format_parse(&f->fmt, f->fields, ferr, sizeof ferr) != 0) {
                snprintf(err, errlen, "FlowLogs[%zu].Fields: %s", i, ferr);
                goto fail;
            }
            f->ccn = f->fmt.ccn;
        } else {
            f->fmt = f->ccn ? flow_format_ccn : flow_format_eni;
        }
        json_int_t period = json_integer_value(json_object_get(o, "Period"));
        f->period = f->ccn && period > 0 && period <= 86400 ? (uint32_t)period : 0;
        if (!(f->res = calloc(json_array_size(res) + 1, sizeof *f->res)))
            goto oom;
        a->nfl++;
        json_array_foreach(res, k, r) {
            const char *s = json_string_value(r);
            if (!s || strlen(s) >= sizeof f->res[0]) {
                snprintf(err, errlen, "FlowLogs[%zu].Resources[%zu]", i, k);
                goto fail;
            }
            memcpy(f->res[f->nres++], s, strlen(s) + 1);
        }
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    assignment_free(a);
    return -1;
}

/* ==== the agent's state ==== */

struct watched {
    struct adev d;
    uint32_t slot;
    size_t ns; /* index in caps */
};

struct ns_cap {
    char netns[128];
    struct capture *c;
    size_t ndev;
};

/* A CCN flow log's Period longer than the capture window: its windows'
 * flows are added up here until the period ends. */
struct accum {
    char id[24];
    struct flow_table *t;
    uint64_t start; /* the period being added up (UINT64_MAX: none) */
    int partial;    /* the agent began inside it: SKIPDATA */
};

#define AGENT_MAX_ACCUM 256

struct agent {
    const struct agent_cfg *cfg;
    struct accum acc[AGENT_MAX_ACCUM];
    size_t nacc;
    struct assignment cur; /* what the agent acts on now */
    int have;              /* cur came from the control plane (or the marker) */
    int pending;           /* devices of cur not attached yet: try again */
    struct ns_cap caps[AGENT_MAX_NS];
    size_t ncaps;
    struct watched *w;
    size_t nw, capw;
    uint64_t *slot_free_at; /* per slot: the window from which it may be used again; 0 = free */
    unsigned char *slot_used;
    struct flow_table *t;
    struct sink *sinks[AGENT_MAX_SINKS]; /* [0]: the files sink; the others: delivery's */
    size_t nsinks;
    struct delivery *delivery; /* the delivery sinks' thread, or NULL */
    char state_dir[4200];
    uint64_t lossy_window; /* a window the agent was not up for all of (UINT64_MAX: none) */
    uint64_t skipped[FLOWCAP_MAX_SLOTS][2];
    int fetch_failing;
};

static uint64_t mono_ms(void);

/* ==== slots and captures ==== */

static int slot_take(struct agent *ag, uint64_t w, uint32_t *out)
{
    for (uint32_t s = 0; s < FLOWCAP_MAX_SLOTS; s++)
        if (!ag->slot_used[s] && ag->slot_free_at[s] <= w) {
            ag->slot_used[s] = 1;
            *out = s;
            return 0;
        }
    return -1;
}

static struct watched *watched_find(struct agent *ag, const struct adev *d)
{
    for (size_t i = 0; i < ag->nw; i++)
        if (strcmp(ag->w[i].d.rid, d->rid) == 0 && strcmp(ag->w[i].d.dev, d->dev) == 0 &&
            strcmp(ag->w[i].d.netns, d->netns) == 0 && ag->w[i].d.shared == d->shared)
            return &ag->w[i];
    return NULL;
}

static const struct watched *watched_by_rid(const struct agent *ag, const char *rid)
{
    for (size_t i = 0; i < ag->nw; i++)
        if (strcmp(ag->w[i].d.rid, rid) == 0)
            return &ag->w[i];
    return NULL;
}

static int adev_wanted(const struct assignment *a, const struct watched *w)
{
    for (size_t i = 0; i < a->ndev; i++)
        if (strcmp(a->dev[i].rid, w->d.rid) == 0 && strcmp(a->dev[i].dev, w->d.dev) == 0 &&
            strcmp(a->dev[i].netns, w->d.netns) == 0 && a->dev[i].shared == w->d.shared)
            return 1;
    return 0;
}

/* Attributes drops towards d's addresses to `slot` (0xffffffff: forgets
 * them); on a shared device, its packets from and to them too. */
static void set_addrs(struct capture *c, const struct adev *d, uint32_t slot)
{
    for (size_t i = 0; i < d->naddr; i++) {
        uint8_t a[16];
        if (capture_parse_addr(d->addr[i], a) != 0 ||
            (d->shared ? capture_set_byaddr(c, a, slot) : capture_set_addr(c, a, slot)) != 0)
            log_warn("agent: %s: address %s: not attributed (bad address or full map)", d->rid,
                     d->addr[i]);
    }
}

static int same_addrs(const struct adev *x, const struct adev *y)
{
    if (x->naddr != y->naddr || x->natt != y->natt)
        return 0;
    for (size_t i = 0; i < x->naddr; i++)
        if (strcmp(x->addr[i], y->addr[i]) != 0)
            return 0;
    for (size_t i = 0; i < x->natt; i++)
        if (strcmp(x->att[i].region, y->att[i].region) != 0 ||
            memcmp(x->att[i].cidr.addr, y->att[i].cidr.addr, 16) != 0 ||
            x->att[i].cidr.prefix != y->att[i].cidr.prefix)
            return 0;
    return 1;
}

/* The capture of namespace `netns`, opened if needed; -1 with err. */
static long ns_capture(struct agent *ag, const char *netns, char *err, size_t errlen)
{
    for (size_t i = 0; i < ag->ncaps; i++)
        if (ag->caps[i].c && strcmp(ag->caps[i].netns, netns) == 0)
            return (long)i;
    size_t i = 0;
    while (i < ag->ncaps && ag->caps[i].c)
        i++;
    if (i == AGENT_MAX_NS) {
        snprintf(err, errlen, "more than %d network namespaces", AGENT_MAX_NS);
        return -1;
    }
    struct capture_opts co = {.netns = netns[0] ? netns : NULL,
                              .window_s = ag->cfg->window_s,
                              .table_flows = ag->cfg->table_flows};
    struct capture *c = capture_open(&co, err, errlen);
    if (!c)
        return -1;
    snprintf(ag->caps[i].netns, sizeof ag->caps[i].netns, "%s", netns);
    ag->caps[i].c = c;
    ag->caps[i].ndev = 0;
    if (i == ag->ncaps)
        ag->ncaps++;
    return (long)i;
}

/* Makes the watched devices those of ag->cur, as far as it can (a device
 * that is not there yet is tried again at the next poll). w: the current
 * window. */
static void apply(struct agent *ag, uint64_t w)
{
#define WARN_ONCE(d, ...)                                                                        \
    do {                                                                                         \
        if (!(d)->warned)                                                                        \
            log_warn(__VA_ARGS__);                                                               \
        (d)->warned = 1;                                                                         \
    } while (0)
    char err[512];
    uint64_t now_ms = mono_ms();
    /* detach what is no longer wanted */
    for (size_t i = 0; i < ag->nw;) {
        struct watched *x = &ag->w[i];
        if (adev_wanted(&ag->cur, x)) {
            i++;
            continue;
        }
        struct ns_cap *nc = &ag->caps[x->ns];
        int still = 0; /* another ENI watched on that shared device keeps it */
        for (size_t j = 0; j < ag->nw; j++)
            still |= j != i && ag->w[j].ns == x->ns && strcmp(ag->w[j].d.dev, x->d.dev) == 0 &&
                     ag->w[j].d.shared && x->d.shared;
        set_addrs(nc->c, &x->d, UINT32_MAX);
        if (still)
            log_info("agent: stopped watching %s on %s (shared)", x->d.rid, x->d.dev);
        else if (capture_unwatch(nc->c, x->d.dev, err, sizeof err) != 0)
            log_warn("agent: detach %s (%s): %s", x->d.dev, x->d.rid, err);
        else
            log_info("agent: stopped watching %s (%s)", x->d.dev, x->d.rid);
        ag->slot_used[x->slot] = 0;
        ag->slot_free_at[x->slot] = w + 2;
        nc->ndev--;
        ag->w[i] = ag->w[--ag->nw];
    }
    /* attach what is new */
    ag->pending = 0;
    for (size_t i = 0; i < ag->cur.ndev; i++) {
        struct adev *d = &ag->cur.dev[i];
        uint32_t slot;
        struct watched *have = watched_find(ag, d);
        if (have) { /* the same device: its addresses may have changed */
            if (!same_addrs(&have->d, d)) {
                set_addrs(ag->caps[have->ns].c, &have->d, UINT32_MAX);
                have->d = *d;
                set_addrs(ag->caps[have->ns].c, d, have->slot);
            }
            have->d = *d; /* its vpc, subnet, instance as the assignment says now */
            continue;
        }
        if (d->retry_ms > now_ms) { /* failed a moment ago: not yet again */
            ag->pending = 1;
            continue;
        }
        long ns = ns_capture(ag, d->netns, err, sizeof err);
        if (ns < 0) {
            d->retry_ms = now_ms + AGENT_RETRY_MS;
            WARN_ONCE(d, "agent: %s (%s): namespace %s: %s (tried again every 5 s; its "
                      "records say SKIPDATA meanwhile)", d->dev, d->rid,
                      d->netns[0] ? d->netns : "(the agent's)", err);
            ag->pending = 1;
            continue;
        }
        if (slot_take(ag, w, &slot) != 0) {
            log_error("agent: no free slot for %s (%s): at most %d devices", d->dev, d->rid,
                      FLOWCAP_MAX_SLOTS);
            ag->pending = 1;
            continue;
        }
        if ((d->shared ? capture_watch_shared(ag->caps[ns].c, d->dev, err, sizeof err)
                       : capture_watch(ag->caps[ns].c, d->dev, slot, err, sizeof err)) != 0) {
            WARN_ONCE(d, "agent: watch %s (%s): %s (tried again every %d s; its records say "
                      "SKIPDATA meanwhile)", d->dev, d->rid, err, AGENT_RETRY_MS / 1000);
            ag->slot_used[slot] = 0;
            d->retry_ms = now_ms + AGENT_RETRY_MS;
            ag->pending = 1;
            continue; /* the namespace's capture stays loaded for the next try */
        }
        if (ag->nw == ag->capw) {
            size_t cap = ag->capw ? ag->capw * 2 : 16;
            struct watched *nw = realloc(ag->w, cap * sizeof *nw);
            if (!nw) {
                capture_unwatch(ag->caps[ns].c, d->dev, err, sizeof err);
                ag->slot_used[slot] = 0;
                ag->pending = 1;
                continue;
            }
            ag->w = nw;
            ag->capw = cap;
        }
        ag->w[ag->nw++] = (struct watched){*d, slot, (size_t)ns};
        set_addrs(ag->caps[ns].c, d, slot);
        ag->caps[ns].ndev++;
        memset(ag->skipped[slot], 0, sizeof ag->skipped[slot]);
        log_info("agent: watching %s%s%s as %s (slot %u%s)", d->dev, d->netns[0] ? " in " : "",
                 d->netns, d->rid, slot, d->shared ? ", shared: by its addresses" : "");
    }
    /* a namespace none of whose devices is watched or wanted: unloaded */
    for (size_t i = 0; i < ag->ncaps; i++) {
        int wanted = 0;
        for (size_t k = 0; k < ag->cur.ndev && !wanted; k++)
            wanted = strcmp(ag->cur.dev[k].netns, ag->caps[i].netns) == 0;
        if (ag->caps[i].c && ag->caps[i].ndev == 0 && !wanted) {
            capture_close(ag->caps[i].c);
            ag->caps[i].c = NULL;
        }
    }
#undef WARN_ONCE
}

/* ==== the open-window marker ==== */

static int write_file_durably(const char *dir, const char *name, const char *text)
{
    char tmp[4400], path[4400];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return file_replace_durably(dir, tmp, path, text, strlen(text));
}

static json_t *assignment_json(const struct assignment *a)
{
    json_t *fls = json_array();
    for (size_t i = 0; fls && i < a->nfl; i++) {
        const struct afl *f = &a->fl[i];
        json_t *res = json_array();
        for (size_t k = 0; res && k < f->nres; k++)
            json_array_append_new(res, json_string(f->res[k]));
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o*}", "FlowLogId",
            f->id, "Uin", f->uin, "AppId", f->appid, "Region", f->region, "ResourceType",
            f->rtype, "ResourceId", f->rid,
            "TrafficType", f->tt == FLOW_TT_ACCEPT ? "ACCEPT" : f->tt == FLOW_TT_REJECT ? "REJECT"
                                                                                      : "ALL",
            "StorageType", f->storage_type, "CloudLogId", f->cls_topic, "CloudLogRegion",
            f->cls_region, "StorageId", f->ckafka_id, "StorageTopic", f->ckafka_topic, "Brokers",
            f->brokers, "Fields", f->fields, "Format", f->format, "Period", (json_int_t)f->period,
            "Resources", res);
        if (!o || json_array_append_new(fls, o) != 0) {
            json_decref(fls);
            return NULL;
        }
    }
    return fls;
}

/* Writes the marker of window w (start, seconds) with the current flow
 * logs. 0 or -1. */
static int marker_write(struct agent *ag, uint64_t w)
{
    json_t *fls = assignment_json(&ag->cur);
    json_t *m = fls ? json_pack("{s:s,s:I,s:I,s:s,s:O,s:[]}", "Host", ag->cfg->host,
                                "WindowStart", (json_int_t)(w * ag->cfg->window_s),
                                "WindowSeconds", (json_int_t)ag->cfg->window_s, "Generation",
                                ag->cur.generation, "FlowLogs", fls, "Devices")
                    : NULL;
    char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
    int rc = text ? write_file_durably(ag->state_dir, "open.json", text) : -1;
    if (rc != 0)
        log_error("agent: cannot write %s/open.json: %s", ag->state_dir, strerror(errno));
    free(text);
    json_decref(m);
    json_decref(fls);
    return rc;
}

/* ==== writing a window ==== */

static void dest_of(const struct afl *f, const char *host, struct sink_dest *d)
{
    memset(d, 0, sizeof *d);
    d->storage_type = f->storage_type;
    d->cls_topic_id = f->cls_topic;
    d->cls_region = f->cls_region[0] ? f->cls_region : f->region;
    d->ckafka_id = f->ckafka_id;
    d->ckafka_topic = f->ckafka_topic;
    d->ckafka_brokers = f->brokers[0] ? f->brokers : NULL;
    d->resource_id = f->rid;
    d->host = host;
    d->fields = f->fields;
    d->account_uin = strtoull(f->uin, NULL, 10);
}

/* Writes one flow log's window to the files sink, the durable copy (its
 * failure is the agent's); the delivery sinks take it from the files on
 * their own thread (deliver.h). */
static int deliver(struct agent *ag, const struct afl *f, uint64_t start, uint64_t end,
                   const struct buf *out, size_t n)
{
    char err[512];
    struct sink_dest dest;
    dest_of(f, ag->cfg->host, &dest);
    struct sink_window sw = {.flowlog_id = f->id, .win_start = start, .win_end = end,
                             .records = out->data ? out->data : "", .len = out->len,
                             .nrecords = n, .dest = &dest};
    int rc = sink_write(ag->sinks[0], &sw, err, sizeof err);
    dp_metrics_delivery(ag->sinks[0]->name, rc == 0, n, end);
    if (rc != 0) {
        log_error("agent: %s: window %llu: %s sink: %s", f->id, (unsigned long long)start,
                  ag->sinks[0]->name, err);
        return -1;
    }
    return 0;
}

/* The delivery sinks' routes: the assigned flow logs and their destinations. */
static void delivery_update(struct agent *ag)
{
    if (!ag->delivery)
        return;
    struct delivery_route *r = calloc(ag->cur.nfl + 1, sizeof *r);
    if (!r) {
        log_error("agent: out of memory for the delivery's routes");
        return;
    }
    for (size_t i = 0; i < ag->cur.nfl; i++) {
        const struct afl *f = &ag->cur.fl[i];
        snprintf(r[i].flowlog_id, sizeof r[i].flowlog_id, "%s", f->id);
        snprintf(r[i].storage_type, sizeof r[i].storage_type, "%s", f->storage_type);
        snprintf(r[i].cls_topic, sizeof r[i].cls_topic, "%s", f->cls_topic);
        snprintf(r[i].cls_region, sizeof r[i].cls_region, "%s",
                 f->cls_region[0] ? f->cls_region : f->region);
        snprintf(r[i].ckafka_id, sizeof r[i].ckafka_id, "%s", f->ckafka_id);
        snprintf(r[i].ckafka_topic, sizeof r[i].ckafka_topic, "%s", f->ckafka_topic);
        snprintf(r[i].brokers, sizeof r[i].brokers, "%s", f->brokers);
        snprintf(r[i].resource_id, sizeof r[i].resource_id, "%s", f->rid);
        snprintf(r[i].host, sizeof r[i].host, "%s", ag->cfg->host);
        snprintf(r[i].fields, sizeof r[i].fields, "%s", f->fields);
        r[i].uin = strtoull(f->uin, NULL, 10);
    }
    delivery_routes(ag->delivery, r, ag->cur.nfl);
    free(r);
}

/* The device of resource rid in a (NULL if none). */
static const struct adev *adev_by_rid(const struct assignment *a, const char *rid)
{
    for (size_t i = 0; i < a->ndev; i++)
        if (strcmp(a->dev[i].rid, rid) == 0)
            return &a->dev[i];
    return NULL;
}

/* dv: the resource's device as assigned (its vpc, subnet, instance), or NULL */
static struct flow_log_desc desc_of(const struct afl *f, const struct adev *dv, const char *rid,
                                    uint32_t slot, uint64_t start, uint64_t end)
{
    return (struct flow_log_desc){
        .slot = slot, .account_id = f->appid, .resource_id = rid, .traffic_type = f->tt,
        .format = &f->fmt, .win_start = start, .win_end = end, .region_id = f->region,
        .region = f->region, .vpc_id = dv ? dv->vpc : NULL, .subnet_id = dv ? dv->subnet : NULL,
        .instance_id = dv ? dv->instance : NULL};
}

static int window_seen(void *ud, uint64_t win_start, uint64_t win_end, const char *records,
                       size_t len)
{
    const uint64_t *want = ud;
    (void)records;
    (void)len;
    return win_start == want[0] && win_end == want[1]; /* 1: found, stop */
}

/* Whether the files sink holds flow log id's window [start, end) already. */
static int window_written(struct agent *ag, const char *id, uint64_t start, uint64_t end)
{
    uint64_t want[2] = {start, end};
    char err[256];
    return sink_files_each(ag->cfg->records, id, start, end, window_seen, want, err,
                           sizeof err) == 1;
}

/* SKIPDATA for every resource of every flow log of `a`, for the window
 * [start, end): what an agent that was down writes. */
static int write_lost(struct agent *ag, const struct assignment *a, uint64_t start, uint64_t end)
{
    struct buf out;
    int rc = 0;
    buf_init(&out, 64u << 20);
    for (size_t i = 0; i < a->nfl; i++) {
        const struct afl *f = &a->fl[i];
        /* a crash after the window was written and before the next
         * window's marker: the window is whole, not lost (never twice) */
        if (window_written(ag, f->id, start, end))
            continue;
        buf_reset(&out);
        for (size_t k = 0; k < f->nres; k++) {
            char line[FLOW_RECORD_MAX];
            struct flow_log_desc d =
                desc_of(f, adev_by_rid(a, f->res[k]), f->res[k], 0, start, end);
            buf_append(&out, line, flow_format_status(line, &d, "SKIPDATA"));
        }
        dp_metrics_records(f->ccn ? &flow_format_ccn : &flow_format_eni, out.data, out.len);
        if (deliver(ag, f, start, end, &out, f->nres) != 0)
            rc = -1;
    }
    buf_free(&out);
    return rc;
}

/* One flow log's records of [start, end) from table t (the drained window,
 * or a period's sum) to its sinks. 0 or -1. */
static int write_flowlog(struct agent *ag, const struct afl *f, const struct flow_table *t,
                         uint64_t start, uint64_t end, struct buf *outp)
{
    struct buf out = *outp;
    int rc = 0;
    {
        size_t total = 0;
        buf_reset(&out);
        for (size_t k = 0; k < f->nres; k++) {
            const struct watched *x = watched_by_rid(ag, f->res[k]);
            size_t n = 0;
            if (!x) { /* not attached (yet): nothing of it was seen */
                char line[FLOW_RECORD_MAX];
                struct flow_log_desc d =
                    desc_of(f, adev_by_rid(&ag->cur, f->res[k]), f->res[k], 0, start, end);
                buf_append(&out, line, flow_format_status(line, &d, "SKIPDATA"));
                total++;
                continue;
            }
            struct flow_log_desc d = desc_of(f, &x->d, f->res[k], x->slot, start, end);
            struct flow_region_cidr regions[AGENT_MAX_ATTACHED];
            for (size_t r = 0; r < x->d.natt; r++) {
                regions[r] = x->d.att[r].cidr;
                regions[r].region = x->d.att[r].region;
            }
            d.regions = regions;
            d.n_regions = x->d.natt;
            if (flow_write_records(t, &d, &out, &n) != 0) {
                log_error("agent: %s: the records of window %llu do not fit in memory", f->id,
                          (unsigned long long)start);
                rc = -1;
                break;
            }
            total += n;
        }
        if (rc == 0)
            dp_metrics_records(f->ccn ? &flow_format_ccn : &flow_format_eni, out.data, out.len);
        if (rc == 0 && deliver(ag, f, start, end, &out, total) != 0)
            rc = -1;
    }
    *outp = out;
    return rc;
}

static struct accum *accum_of(struct agent *ag, const char *id)
{
    for (size_t i = 0; i < ag->nacc; i++)
        if (strcmp(ag->acc[i].id, id) == 0)
            return &ag->acc[i];
    if (ag->nacc == AGENT_MAX_ACCUM)
        return NULL;
    struct accum *a = &ag->acc[ag->nacc];
    if (!(a->t = flow_table_new(ag->cfg->table_flows)))
        return NULL;
    snprintf(a->id, sizeof a->id, "%s", id);
    a->start = UINT64_MAX;
    a->partial = 0;
    ag->nacc++;
    return a;
}

/* Forgets the periods of flow logs no longer assigned. */
static void accum_prune(struct agent *ag)
{
    for (size_t i = 0; i < ag->nacc;) {
        int keep = 0;
        for (size_t k = 0; k < ag->cur.nfl && !keep; k++)
            keep = ag->cur.fl[k].period && strcmp(ag->cur.fl[k].id, ag->acc[i].id) == 0;
        if (keep) {
            i++;
            continue;
        }
        flow_table_free(ag->acc[i].t);
        ag->acc[i] = ag->acc[--ag->nacc];
    }
}

static int acc_merge(void *arg, const struct flow_key *k, const struct flow_val *v)
{
    flow_table_merge(arg, k, v); /* a full table counts it as skipped for k->slot */
    return 0;
}

/* Adds the window's flows of f's resources to f's period; writes the period
 * when the window ends it. 0 or -1. */
static int add_to_period(struct agent *ag, const struct afl *f, uint64_t start, uint64_t end,
                         struct buf *out)
{
    struct accum *a = accum_of(ag, f->id);
    uint64_t pstart = flow_window_start(start, f->period);
    if (!a) {
        log_error("agent: %s: no room to add up its %u-s period", f->id, f->period);
        return -1;
    }
    if (a->start != pstart) { /* a new period; one left unfinished is dropped */
        flow_table_clear(a->t);
        a->start = pstart;
        a->partial = start != pstart; /* the agent (or this flow log) began inside it */
    }
    for (size_t k = 0; k < f->nres; k++) {
        const struct watched *x = watched_by_rid(ag, f->res[k]);
        if (!x)
            continue;
        flow_table_each(ag->t, x->slot, acc_merge, a->t);
        uint64_t lost = flow_table_skipped(ag->t, x->slot);
        if (lost)
            flow_table_note_skipped(a->t, x->slot, lost);
        if (a->partial)
            flow_table_note_skipped(a->t, x->slot, 1);
    }
    a->partial = 0;
    if (end != flow_window_end(pstart, f->period))
        return 0;
    a->start = UINT64_MAX;
    return write_flowlog(ag, f, a->t, pstart, end, out);
}

/* Each flow log's records of the drained window in ag->t (a CCN flow log
 * with a longer Period: at its period's end). */
static int write_window(struct agent *ag, uint64_t start, uint64_t end)
{
    struct buf out;
    int rc = 0;
    buf_init(&out, 1u << 30);
    accum_prune(ag);
    for (size_t i = 0; i < ag->cur.nfl && rc == 0; i++) {
        const struct afl *f = &ag->cur.fl[i];
        if (f->period > ag->cfg->window_s && f->period % ag->cfg->window_s == 0)
            rc = add_to_period(ag, f, start, end, &out);
        else
            rc = write_flowlog(ag, f, ag->t, start, end, &out);
    }
    buf_free(&out);
    return rc;
}

/* ==== drain ==== */

static int on_entry(void *arg, const struct flow_key *k, const struct flow_val *v)
{
    struct agent *ag = arg;
    dp_metrics_entry(k->action, v->packets, v->bytes);
    flow_table_merge(ag->t, k, v); /* a full table counts it as skipped for k->slot */
    return 0;
}

static void on_skip(void *arg, uint32_t slot, uint8_t dir, uint64_t packets)
{
    struct agent *ag = arg;
    (void)dir;
    dp_metrics_skipped(packets);
    flow_table_note_skipped(ag->t, slot, packets);
}

/* Drains window w from every capture and writes it. */
static int close_window(struct agent *ag, uint64_t w)
{
    uint64_t start = w * ag->cfg->window_s, end = start + ag->cfg->window_s;
    flow_table_clear(ag->t);
    for (size_t i = 0; i < ag->ncaps; i++) {
        if (!ag->caps[i].c)
            continue;
        int late = capture_drain(ag->caps[i].c, w, on_entry, on_skip, ag);
        if (late < 0) {
            log_error("agent: draining window %llu failed", (unsigned long long)start);
            return -1;
        }
        if (late) /* the half already held a later window: this one is not whole */
            for (size_t k = 0; k < ag->nw; k++)
                if (ag->w[k].ns == i)
                    flow_table_note_skipped(ag->t, ag->w[k].slot, 1);
    }
    if (w == ag->lossy_window) /* the agent was not up for all of it */
        for (size_t k = 0; k < ag->nw; k++)
            flow_table_note_skipped(ag->t, ag->w[k].slot, 1);
    dp_metrics_window(flow_table_count(ag->t), flow_table_capacity(ag->t));
    return write_window(ag, start, end);
}

/* ==== the control plane ==== */

/* Asks for the assignment; applies it when it changed. */
static void poll_control(struct agent *ag, uint64_t w)
{
    char err[512];
    json_t *doc = ag->cfg->fetch(ag->cfg->fetch_ud, err, sizeof err);
    struct assignment next;
    if (!doc) {
        if (!ag->fetch_failing)
            log_warn("agent: the control plane: %s (capturing on with the last assignment)", err);
        ag->fetch_failing = 1;
        if (ag->pending)
            apply(ag, w);
        return;
    }
    if (ag->fetch_failing)
        log_info("agent: the control plane answers again");
    ag->fetch_failing = 0;
    if (ag->have && strcmp(json_string_value(json_object_get(doc, "Generation")) ?: "",
                           ag->cur.generation) == 0) {
        json_decref(doc);
        if (ag->pending)
            apply(ag, w);
        return;
    }
    if (assignment_parse(doc, &next, err, sizeof err) != 0) {
        log_error("agent: the control plane's answer: %s", err);
        json_decref(doc);
        return;
    }
    json_decref(doc);
    log_info("agent: assignment %.12s: %zu devices, %zu flow logs", next.generation, next.ndev,
             next.nfl);
    assignment_free(&ag->cur);
    ag->cur = next;
    ag->have = 1;
    apply(ag, w);
    marker_write(ag, w);
    delivery_update(ag);
}

/* ==== start: the marker an earlier agent left ==== */

static void recover(struct agent *ag, uint64_t now_w)
{
    char path[4400], err[256];
    json_error_t je;
    snprintf(path, sizeof path, "%s/open.json", ag->state_dir);
    json_t *m = json_load_file(path, 0, &je);
    if (!m) {
        if (access(path, F_OK) == 0)
            log_error("agent: %s: unreadable (%s): the window it names is not reported", path,
                      je.text);
        /* no earlier agent here (or none we can read): this agent starts
         * inside window now_w, whose traffic before it it has not seen */
        ag->lossy_window = now_w;
        return;
    }
    json_int_t start = json_integer_value(json_object_get(m, "WindowStart"));
    json_int_t secs = json_integer_value(json_object_get(m, "WindowSeconds"));
    json_t *doc = json_pack("{s:s,s:[],s:O}", "Generation", "marker", "Devices", "FlowLogs",
                            json_object_get(m, "FlowLogs"));
    struct assignment old;
    if (!doc || secs <= 0 || start < 0 || assignment_parse(doc, &old, err, sizeof err) != 0) {
        log_error("agent: %s: not a marker this agent wrote", path);
        json_decref(doc);
        json_decref(m);
        return;
    }
    json_decref(doc);
    json_decref(m);
    /* the windows of the old agent's length from its open one to the one
     * this agent starts in: lost whole (SKIPDATA), the last one in part */
    uint64_t w0 = (uint64_t)start / (uint64_t)secs, now_s = now_w * ag->cfg->window_s;
    uint64_t lost = 0;
    for (uint64_t w = w0; (w + 1) * (uint64_t)secs <= now_s && lost < AGENT_MISSED_MAX;
         w++, lost++)
        write_lost(ag, &old, w * (uint64_t)secs, (w + 1) * (uint64_t)secs);
    log_warn("agent: an earlier agent stopped in window %lld: %llu lost windows reported as "
             "SKIPDATA, and the current one is partial",
             (long long)start, (unsigned long long)lost);
    ag->lossy_window = now_w;
    assignment_free(&old);
}

/* ==== the loop ==== */

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int agent_probe(uint32_t window_s, char *err, size_t errlen)
{
    struct capture_opts co = {.netns = NULL, .window_s = window_s, .table_flows = 1024};
    struct capture *c = capture_open(&co, err, errlen);
    if (!c)
        return -1;
    capture_close(c);
    return 0;
}

int agent_run(const struct agent_cfg *cfg, char *err, size_t errlen)
{
    struct agent *ag = calloc(1, sizeof *ag);
    int rc = -1;
    if (!ag) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ag->cfg = cfg;
    ag->lossy_window = UINT64_MAX;
    ag->slot_free_at = calloc(FLOWCAP_MAX_SLOTS, sizeof *ag->slot_free_at);
    ag->slot_used = calloc(FLOWCAP_MAX_SLOTS, 1);
    ag->t = flow_table_new(cfg->table_flows);
    if (!ag->slot_free_at || !ag->slot_used || !ag->t) {
        snprintf(err, errlen, "out of memory for a %u-flow table", cfg->table_flows);
        goto out;
    }
    if (agent_probe(cfg->window_s, err, errlen) != 0) /* says exactly why BPF cannot load */
        goto out;
    if (!(ag->sinks[0] = sink_files_open(cfg->records, err, errlen)))
        goto out;
    ag->nsinks = 1;
    for (size_t i = 0; i < cfg->nextra_sinks && ag->nsinks < AGENT_MAX_SINKS; i++)
        ag->sinks[ag->nsinks++] = cfg->extra_sinks[i];
    if (ag->nsinks > 1 &&
        !(ag->delivery = delivery_new(cfg->records, ag->sinks + 1, ag->nsinks - 1, 1, err, errlen)))
        goto out;
    snprintf(ag->state_dir, sizeof ag->state_dir, "%s/.agent", cfg->records);
    if (mkdir(ag->state_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", ag->state_dir, strerror(errno));
        goto out;
    }

    uint64_t win_ns = (uint64_t)cfg->window_s * 1000000000u;
    uint64_t grace = win_ns / 4 < 200000000u ? win_ns / 4 : 200000000u;
    uint64_t w = realtime_ns() / win_ns, next_poll = 0, done = 0;
    recover(ag, w);
    poll_control(ag, w);
    marker_write(ag, w);
    if (cfg->on_ready)
        cfg->on_ready(cfg->ready_ud);
    log_info("agent: host %s, %u s windows, records under %s", cfg->host, cfg->window_s,
             cfg->records);
    while (!atomic_load(cfg->stop)) {
        uint64_t now = realtime_ns(), ms = mono_ms();
        if (ms >= next_poll) {
            poll_control(ag, now / win_ns);
            next_poll = ms + cfg->poll_ms;
        }
        uint64_t due = (w + 1) * win_ns + grace;
        if (now >= due) {
            if (close_window(ag, w) != 0)
                goto out;
            if (ag->delivery)
                delivery_kick(ag->delivery);
            w++;
            done++;
            marker_write(ag, w);
            if (cfg->windows && done >= cfg->windows)
                break;
            continue;
        }
        uint64_t d = due - now;
        if (d > 100000000u)
            d = 100000000u;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)d};
        nanosleep(&ts, NULL);
    }
    rc = 0;
out:
    delivery_stop(ag->delivery); /* before the files sink goes */
    for (size_t i = 0; i < ag->ncaps; i++)
        capture_close(ag->caps[i].c);
    if (ag->nsinks)
        sink_close(ag->sinks[0]); /* the others are the caller's */
    assignment_free(&ag->cur);
    for (size_t i = 0; i < ag->nacc; i++)
        flow_table_free(ag->acc[i].t);
    flow_table_free(ag->t);
    free(ag->w);
    free(ag->slot_free_at);
    free(ag->slot_used);
    free(ag);
    return rc;
}
