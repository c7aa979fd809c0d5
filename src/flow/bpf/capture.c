/* capture.c: the libbpf loader and drainer of the tc programs (capture.h). */
#define _GNU_SOURCE
#include "flow/bpf/capture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/log.h"
#include "flow/bpf/flowcap_abi.h"
#include "flowcap.skel.h" /* generated from flowcap.bpf.c by bpftool (build output) */

/* our tc filters: a fixed handle and priority, so that a restarted agent
 * replaces what a previous one left attached instead of adding a second */
#define FLOWCAP_TC_HANDLE 0x464cu
#define FLOWCAP_TC_PRIO 1

#define MAX_WATCHED 256

struct watched {
    char dev[IF_NAMESIZE];
    int ifindex;
    int created_hook; /* we made its clsact qdisc: remove it when done */
};

struct capture {
    struct flowcap *skel;
    struct bpf_link *drop_link;
    int nsfd;              /* the namespace's fd, or -1 for the caller's */
    uint64_t window_ns;
    int ncpu;
    struct watched w[MAX_WATCHED];
    size_t nw;
    /* the table and its fill lists, mapped (flowcap_abi.h) */
    uint32_t slots;
    struct flowcap_entry *tab;
    size_t tab_len;
    uint64_t *fill;
    size_t fill_len;
    uint64_t *skips; /* [cpu][half][slot][dir], mapped */
    size_t skips_len;
};

/* ==== Errors ==== */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* libbpf's warnings (the verifier's log among them) at --log-level debug,
 * as libbpf writes them: the verifier's log is one long multi-line text */
static int libbpf_log(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
    if (lvl == LIBBPF_DEBUG || g_log_level > LOG_DEBUG)
        return 0;
    return vfprintf(stderr, fmt, ap);
}

/* Why BPF cannot be used here, said as exactly as we can. */
static void explain_load_failure(int e, char *err, size_t errlen)
{
    struct stat st;
    if (stat("/sys/kernel/btf/vmlinux", &st) != 0) {
        seterr(err, errlen,
               "cannot load the capture programs: the kernel has no BTF "
               "(/sys/kernel/btf/vmlinux is missing; needs Linux >= 5.8 built with "
               "CONFIG_DEBUG_INFO_BTF)");
        return;
    }
    if (e == EPERM || e == EACCES) {
        seterr(err, errlen,
               "cannot load the capture programs: permission denied (%s); needs "
               "CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (or root), and "
               "kernel.unprivileged_bpf_disabled does not matter then",
               strerror(e));
        return;
    }
    if (e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP || e == ENOENT || e == ESRCH)
        seterr(err, errlen,
               "cannot load the capture programs: the kernel refused them (%s); needs "
               "Linux >= 5.10 with tc clsact BPF, tp_btf/kfree_skb with drop reasons "
               "(>= 5.17) and mmapable array maps (run with --log-level debug for the "
               "verifier's words)",
               strerror(e));
    else
        seterr(err, errlen, "cannot load the capture programs: %s", strerror(e));
}

/* ==== Namespaces ==== */

static int ns_open(const char *netns, char *err, size_t errlen)
{
    char path[512];
    if (!netns)
        return -1;
    if (strchr(netns, '/'))
        snprintf(path, sizeof path, "%s", netns);
    else
        snprintf(path, sizeof path, "/run/netns/%s", netns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        seterr(err, errlen, "network namespace %s: %s", path, strerror(errno));
    return fd;
}

/* Runs the calling thread in the capture's namespace until ns_leave. */
static int ns_enter(const struct capture *c, int *back, char *err, size_t errlen)
{
    *back = -1;
    if (c->nsfd < 0)
        return 0;
    *back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (*back < 0) {
        seterr(err, errlen, "own network namespace: %s", strerror(errno));
        return -1;
    }
    if (setns(c->nsfd, CLONE_NEWNET) != 0) {
        seterr(err, errlen, "entering the network namespace: %s", strerror(errno));
        close(*back);
        *back = -1;
        return -1;
    }
    return 0;
}

static void ns_leave(int back)
{
    if (back < 0)
        return;
    if (setns(back, CLONE_NEWNET) != 0)
        log_error("capture: cannot return to the agent's network namespace: %s",
                  strerror(errno));
    close(back);
}

/* ==== Open / close ==== */

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void set_clock_offset(struct capture *c)
{
    /* CLOCK_REALTIME - CLOCK_BOOTTIME, taken between two boottime reads */
    uint64_t b0 = clock_ns(CLOCK_BOOTTIME);
    uint64_t rt = clock_ns(CLOCK_REALTIME);
    uint64_t b1 = clock_ns(CLOCK_BOOTTIME);
    c->skel->bss->cfg_rt_off_ns = rt - (b0 + (b1 - b0) / 2);
}

struct capture *capture_open(const struct capture_opts *o, char *err, size_t errlen)
{
    if (o->window_s < 1 || o->window_s > 600) {
        seterr(err, errlen, "capture window %u s: must be 1 to 600", o->window_s);
        return NULL;
    }
    if (o->table_flows < 1 || o->table_flows > (1u << 24)) {
        seterr(err, errlen, "table size %u: must be 1 to 16777216", o->table_flows);
        return NULL;
    }
    struct capture *c = calloc(1, sizeof *c);
    if (!c) {
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    c->nsfd = -1;
    c->window_ns = (uint64_t)o->window_s * 1000000000u;
    libbpf_set_print(libbpf_log);
    if (o->netns) {
        c->nsfd = ns_open(o->netns, err, errlen);
        if (c->nsfd < 0)
            goto fail;
    }
    c->ncpu = libbpf_num_possible_cpus();
    if (c->ncpu <= 0) {
        seterr(err, errlen, "cannot count the CPUs: %s", strerror(-c->ncpu));
        goto fail;
    }
    c->skel = flowcap__open();
    if (!c->skel) {
        explain_load_failure(errno, err, errlen);
        goto fail;
    }
    c->slots = o->table_flows;
    uint64_t nent = (uint64_t)c->ncpu * 2 * c->slots;
    uint64_t tab_bytes = nent * sizeof(struct flowcap_entry);
    if (tab_bytes > (1ULL << 32) || (uint64_t)c->ncpu * 2 * (c->slots + 1ULL) > UINT32_MAX) {
        seterr(err, errlen,
               "table size %u: %d CPUs x 2 halves x %u entries x %zu bytes is more than 4 GiB",
               o->table_flows, c->ncpu, o->table_flows, sizeof(struct flowcap_entry));
        goto fail;
    }
    bpf_map__set_max_entries(c->skel->maps.table, (uint32_t)nent);
    bpf_map__set_max_entries(c->skel->maps.fill, (uint32_t)((uint64_t)c->ncpu * 2 * (c->slots + 1)));
    bpf_map__set_max_entries(c->skel->maps.skips, (uint32_t)c->ncpu * 2 * FLOWCAP_MAX_SLOTS * 2);
    c->skel->rodata->cfg_slots = c->slots;
    c->skel->rodata->cfg_ncpu = (uint32_t)c->ncpu;
    c->skel->data->cfg_window_ns = c->window_ns;
    int rc = flowcap__load(c->skel);
    if (rc != 0) {
        explain_load_failure(-rc, err, errlen);
        goto fail;
    }
    struct stat st;
    if ((c->nsfd >= 0 ? fstat(c->nsfd, &st) : stat("/proc/thread-self/ns/net", &st)) != 0) {
        seterr(err, errlen, "network namespace inode: %s", strerror(errno));
        goto fail;
    }
    c->skel->bss->cfg_netns_inum = (uint32_t)st.st_ino;
    set_clock_offset(c);
    c->drop_link = bpf_program__attach(c->skel->progs.flowcap_drop);
    if (!c->drop_link) {
        int e = errno;
        seterr(err, errlen,
               "cannot attach the drop tracer (tp_btf/kfree_skb): %s; REJECT needs it", strerror(e));
        goto fail;
    }
    long page = sysconf(_SC_PAGESIZE);
    c->tab_len = ((size_t)tab_bytes + (size_t)page - 1) / (size_t)page * (size_t)page;
    c->fill_len = ((size_t)c->ncpu * 2 * (c->slots + 1) * sizeof(uint64_t) + (size_t)page - 1) /
                  (size_t)page * (size_t)page;
    void *m = mmap(NULL, c->tab_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                   bpf_map__fd(c->skel->maps.table), 0);
    if (m == MAP_FAILED) {
        seterr(err, errlen, "mapping the flow table (%zu bytes): %s", c->tab_len, strerror(errno));
        goto fail;
    }
    c->tab = m;
    m = mmap(NULL, c->fill_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
             bpf_map__fd(c->skel->maps.fill), 0);
    if (m == MAP_FAILED) {
        seterr(err, errlen, "mapping the table's fill lists: %s", strerror(errno));
        goto fail;
    }
    c->fill = m;
    c->skips_len = ((size_t)c->ncpu * 2 * FLOWCAP_MAX_SLOTS * 2 * sizeof(uint64_t) +
                    (size_t)page - 1) / (size_t)page * (size_t)page;
    m = mmap(NULL, c->skips_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
             bpf_map__fd(c->skel->maps.skips), 0);
    if (m == MAP_FAILED) {
        seterr(err, errlen, "mapping the skip counters: %s", strerror(errno));
        goto fail;
    }
    c->skips = m;
    return c;
fail:
    capture_close(c);
    return NULL;
}

static int detach_dev(struct capture *c, struct watched *w, char *err, size_t errlen)
{
    int rc = 0;
    for (int p = 0; p < 2; p++) {
        DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = w->ifindex,
                            .attach_point = p ? BPF_TC_EGRESS : BPF_TC_INGRESS);
        DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FLOWCAP_TC_HANDLE,
                            .priority = FLOWCAP_TC_PRIO);
        int e = bpf_tc_detach(&hook, &opts);
        if (e != 0 && e != -ENOENT && e != -ENODEV && e != -EINVAL) {
            seterr(err, errlen, "%s: detaching: %s", w->dev, strerror(-e));
            rc = -1;
        }
    }
    if (w->created_hook) {
        DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = w->ifindex,
                            .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
        bpf_tc_hook_destroy(&hook);
    }
    uint32_t ifx = (uint32_t)w->ifindex;
    bpf_map__delete_elem(c->skel->maps.devs, &ifx, sizeof ifx, 0);
    return rc;
}

void capture_close(struct capture *c)
{
    if (!c)
        return;
    if (c->skel) {
        int back;
        char err[256];
        if (ns_enter(c, &back, err, sizeof err) == 0) {
            for (size_t i = 0; i < c->nw; i++)
                if (detach_dev(c, &c->w[i], err, sizeof err) != 0)
                    log_warn("capture: %s", err);
            ns_leave(back);
        } else {
            log_warn("capture: %s", err);
        }
    }
    bpf_link__destroy(c->drop_link);
    if (c->tab)
        munmap(c->tab, c->tab_len);
    if (c->fill)
        munmap(c->fill, c->fill_len);
    if (c->skips)
        munmap(c->skips, c->skips_len);
    flowcap__destroy(c->skel);
    if (c->nsfd >= 0)
        close(c->nsfd);
    free(c);
}

/* ==== Devices and addresses ==== */

/* ifindex and link-header length of dev, in the current namespace */
static int dev_info(const char *dev, int *ifindex, uint32_t *l2len, char *err, size_t errlen)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    if (strlen(dev) >= sizeof ifr.ifr_name) {
        seterr(err, errlen, "device name %s: too long", dev);
        return -1;
    }
    strcpy(ifr.ifr_name, dev);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        seterr(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int rc = -1;
    if (ioctl(s, SIOCGIFINDEX, &ifr) != 0) {
        seterr(err, errlen, "device %s: %s", dev, strerror(errno));
        goto out;
    }
    *ifindex = ifr.ifr_ifindex;
    if (ioctl(s, SIOCGIFHWADDR, &ifr) != 0) {
        seterr(err, errlen, "device %s: link type: %s", dev, strerror(errno));
        goto out;
    }
    switch (ifr.ifr_hwaddr.sa_family) {
    case ARPHRD_ETHER:
        *l2len = 14;
        break;
    case ARPHRD_NONE:
    case ARPHRD_IPGRE:
    case ARPHRD_TUNNEL:
    case ARPHRD_TUNNEL6:
        *l2len = 0;
        break;
    default:
        seterr(err, errlen, "device %s: link type %u is neither Ethernet nor raw IP", dev,
               ifr.ifr_hwaddr.sa_family);
        goto out;
    }
    rc = 0;
out:
    close(s);
    return rc;
}

static int watch_dev(struct capture *c, const char *dev, uint32_t slot, uint32_t flags, char *err,
                     size_t errlen);

int capture_watch(struct capture *c, const char *dev, uint32_t slot, char *err, size_t errlen)
{
    return watch_dev(c, dev, slot, 0, err, errlen);
}

int capture_watch_shared(struct capture *c, const char *dev, char *err, size_t errlen)
{
    return watch_dev(c, dev, 0, FLOWCAP_DEV_BY_ADDR, err, errlen);
}

static int watch_dev(struct capture *c, const char *dev, uint32_t slot, uint32_t flags, char *err,
                     size_t errlen)
{
    if (slot >= FLOWCAP_MAX_SLOTS) {
        seterr(err, errlen, "slot %u: at most %u resources per namespace", slot,
               FLOWCAP_MAX_SLOTS);
        return -1;
    }
    for (size_t i = 0; i < c->nw; i++)
        if (strcmp(c->w[i].dev, dev) == 0) {
            struct flowcap_dev d;
            uint32_t ifx = (uint32_t)c->w[i].ifindex;
            if (bpf_map__lookup_elem(c->skel->maps.devs, &ifx, sizeof ifx, &d, sizeof d, 0) ==
                    0 &&
                (d.slot != slot || d.flags != flags)) {
                d.slot = slot;
                d.flags = flags;
                bpf_map__update_elem(c->skel->maps.devs, &ifx, sizeof ifx, &d, sizeof d, 0);
            }
            return 0;
        }
    if (c->nw == MAX_WATCHED) {
        seterr(err, errlen, "at most %d devices per namespace", MAX_WATCHED);
        return -1;
    }
    int back, rc = -1;
    if (ns_enter(c, &back, err, errlen) != 0)
        return -1;
    struct watched *w = &c->w[c->nw];
    memset(w, 0, sizeof *w);
    snprintf(w->dev, sizeof w->dev, "%s", dev);
    struct flowcap_dev d = {.slot = slot, .flags = flags};
    if (dev_info(dev, &w->ifindex, &d.l2len, err, errlen) != 0)
        goto out;
    uint32_t ifx = (uint32_t)w->ifindex;
    if (bpf_map__update_elem(c->skel->maps.devs, &ifx, sizeof ifx, &d, sizeof d, 0) != 0) {
        seterr(err, errlen, "device %s: devs map: %s", dev, strerror(errno));
        goto out;
    }
    DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = w->ifindex,
                        .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
    int e = bpf_tc_hook_create(&hook);
    if (e == 0)
        w->created_hook = 1;
    else if (e != -EEXIST) {
        seterr(err, errlen, "device %s: clsact qdisc: %s", dev, strerror(-e));
        bpf_map__delete_elem(c->skel->maps.devs, &ifx, sizeof ifx, 0);
        goto out;
    }
    for (int p = 0; p < 2; p++) {
        hook.attach_point = p ? BPF_TC_EGRESS : BPF_TC_INGRESS;
        struct bpf_program *prog = p ? c->skel->progs.flowcap_egress : c->skel->progs.flowcap_ingress;
        DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(prog),
                            .handle = FLOWCAP_TC_HANDLE, .priority = FLOWCAP_TC_PRIO,
                            .flags = BPF_TC_F_REPLACE);
        e = bpf_tc_attach(&hook, &opts);
        if (e != 0) {
            seterr(err, errlen, "device %s: attaching at tc %s: %s", dev,
                   p ? "egress" : "ingress", strerror(-e));
            char ignored[64];
            detach_dev(c, w, ignored, sizeof ignored);
            goto out;
        }
    }
    c->nw++;
    rc = 0;
out:
    ns_leave(back);
    return rc;
}

int capture_unwatch(struct capture *c, const char *dev, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->nw; i++) {
        if (strcmp(c->w[i].dev, dev) != 0)
            continue;
        int back;
        if (ns_enter(c, &back, err, errlen) != 0)
            return -1;
        int rc = detach_dev(c, &c->w[i], err, errlen);
        ns_leave(back);
        c->w[i] = c->w[--c->nw];
        return rc;
    }
    return 0;
}

int capture_parse_addr(const char *s, uint8_t out[16])
{
    struct in_addr a4;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        return 0;
    }
    return inet_pton(AF_INET6, s, out) == 1 ? 0 : -1;
}

int capture_set_addr(struct capture *c, const uint8_t addr[16], uint32_t slot)
{
    struct flowcap_addr a;
    memcpy(a.addr, addr, 16);
    if (slot == UINT32_MAX) {
        int rc = bpf_map__delete_elem(c->skel->maps.addrs, &a, sizeof a, 0);
        return rc == 0 || rc == -ENOENT ? 0 : -1;
    }
    return bpf_map__update_elem(c->skel->maps.addrs, &a, sizeof a, &slot, sizeof slot, 0) == 0
               ? 0
               : -1;
}

int capture_set_byaddr(struct capture *c, const uint8_t addr[16], uint32_t slot)
{
    struct flowcap_addr a;
    memcpy(a.addr, addr, 16);
    if (slot == UINT32_MAX) {
        int rc = bpf_map__delete_elem(c->skel->maps.byaddr, &a, sizeof a, 0);
        return rc == 0 || rc == -ENOENT ? 0 : -1;
    }
    if (slot >= FLOWCAP_MAX_SLOTS)
        return -1;
    return bpf_map__update_elem(c->skel->maps.byaddr, &a, sizeof a, &slot, sizeof slot, 0) == 0
               ? 0
               : -1;
}

uint64_t capture_window_of(const struct capture *c, uint64_t now_ns)
{
    return now_ns / c->window_ns;
}

/* ==== Drain ==== */

/* Reads half `half` of every CPU's region through the mapping: the entries
 * its fill list names, each given to entry() (if it still has packets) and
 * zeroed; then the list is emptied. No syscall per entry. */
static void drain_flows(struct capture *c, uint32_t half, capture_entry_fn entry, void *arg)
{
    for (int cpu = 0; cpu < c->ncpu; cpu++) {
        size_t region = (size_t)cpu * 2 + half;
        uint64_t *list = c->fill + region * ((size_t)c->slots + 1);
        struct flowcap_entry *base = c->tab + region * (size_t)c->slots;
        uint64_t n = __atomic_load_n(&list[0], __ATOMIC_ACQUIRE);
        if (n > c->slots)
            n = c->slots;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t j = list[1 + i];
            if (j >= c->slots)
                continue;
            struct flowcap_entry *e = &base[j];
            if (e->used && e->val.packets != 0) /* 0: its packets became REJECT */
                entry(arg, &e->key, &e->val);
            memset(e, 0, sizeof *e);
        }
        __atomic_store_n(&list[0], 0, __ATOMIC_RELEASE);
    }
}

/* Reads and clears half `half`'s skip counters of every CPU through the
 * mapping, and reports each (slot, direction) with skipped packets. */
static void drain_skips(struct capture *c, uint32_t half, capture_skip_fn skip, void *arg)
{
    const size_t n = FLOWCAP_MAX_SLOTS * 2;
    for (size_t i = 0; i < n; i++) {
        uint64_t sum = 0;
        for (int cpu = 0; cpu < c->ncpu; cpu++) {
            uint64_t *v = &c->skips[((size_t)cpu * 2 + half) * n + i];
            if (*v == 0)
                continue;
            /* the kernel adds atomically: take what is there, leave what arrives */
            sum += __atomic_exchange_n(v, 0, __ATOMIC_ACQ_REL);
        }
        if (sum)
            skip(arg, (uint32_t)(i / 2), (uint8_t)(i % 2), sum);
    }
}

int capture_drain(struct capture *c, uint64_t w, capture_entry_fn entry, capture_skip_fn skip,
                  void *arg)
{
    uint32_t half = (uint32_t)(w & 1);
    int late = c->skel->bss->half_window[half] > w;
    drain_flows(c, half, entry, arg);
    drain_skips(c, half, skip, arg);
    /* a later window's packets may have arrived while we drained (a drainer
     * that was not scheduled for a whole window): then the two are mixed */
    late = late || c->skel->bss->half_window[half] > w;
    set_clock_offset(c); /* follow NTP's steps between windows */
    return late ? 1 : 0;
}

int capture_prog_stats(const struct capture *c, uint64_t *runs, uint64_t *ns)
{
    *runs = *ns = 0;
    const struct bpf_program *progs[] = {c->skel->progs.flowcap_ingress,
                                         c->skel->progs.flowcap_egress};
    for (size_t i = 0; i < 2; i++) {
        struct bpf_prog_info info;
        uint32_t len = sizeof info;
        memset(&info, 0, sizeof info);
        if (bpf_obj_get_info_by_fd(bpf_program__fd(progs[i]), &info, &len) != 0)
            return -1;
        *runs += info.run_cnt;
        *ns += info.run_time_ns;
    }
    return 0;
}
