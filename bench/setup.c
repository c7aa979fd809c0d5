/* setup.c: `flowlogd-bench setup`: builds a benchmark data directory
 * directly through store.h, from many threads at once so that the store's
 * group commit batches the writes (as it would under load).
 *
 * Per account: 2 VPCs, a subnet in each, one CLS topic, `enis` ENIs (each
 * attached to its own instance, alternating between the VPCs) in the
 * inventory without a flow log (what the create scenario consumes), and
 * `flowlogs / accounts` flow logs on other ENI ids (what describe reads),
 * alternating VPC and traffic type, with one tag each (team=t0..t3).
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "bench.h"
#include "store/sqlite/sqlite.h"
#include "store/store.h"

static const char usage[] =
    "usage: flowlogd-bench setup --data DIR [--accounts 5000] [--enis-per-account 40]\n"
    "                            [--flowlogs 0] [--threads 512] [--tags 1] [--quota Q]\n"
    "\n"
    "Creates DIR (a fresh flowlogd data directory) through the store API: accounts\n"
    "with one key each, their inventory (2 VPCs, 2 subnets, a CLS topic, and\n"
    "--enis-per-account ENIs attached to instances), then --flowlogs flow logs spread\n"
    "evenly over the accounts. Writes the credentials to DIR/" BENCH_FILE ".\n"
    "  --threads N   concurrent writers (their jobs share commits)\n"
    "  --tags N      tags per flow log, 0 or 1 (default 1)\n"
    "  --quota Q     flow-log quota per account (default: enough for the data set\n"
    "                plus every ENI)\n";

struct setup {
    struct store *st;
    struct bench_set set;
    uint64_t total_fl;
    uint32_t quota;
    time_t base_time;
    atomic_uint_fast64_t next; /* work claimed */
    atomic_uint_fast64_t done; /* work finished */
    atomic_int failed;
    pthread_mutex_t err_mu;
    char err[512];
};

static void fail(struct setup *s, const char *what, const struct serr *e)
{
    pthread_mutex_lock(&s->err_mu);
    if (!s->err[0])
        snprintf(s->err, sizeof s->err, "%s: %s", what, e->msg);
    pthread_mutex_unlock(&s->err_mu);
    atomic_store(&s->failed, 1);
}

/* ==== phase 1: accounts, keys, inventory ==== */

static size_t build_inventory(const struct setup *s, uint32_t a, struct resource *r)
{
    uint32_t enis = s->set.enis;
    size_t n = 0;

    for (uint32_t v = 0; v < BENCH_VPCS; v++) {
        memset(&r[n], 0, sizeof r[n]);
        r[n].kind = RES_VPC;
        snprintf(r[n].region, sizeof r[n].region, "%s", s->set.region);
        bench_vpc_id(a, v, r[n].id);
        snprintf(r[n].name, sizeof r[n].name, "bench-vpc-%u", v);
        snprintf(r[n].cidr, sizeof r[n].cidr, "10.%u.0.0/16", v);
        r[n].created_at = (int64_t)s->base_time;
        n++;
        memset(&r[n], 0, sizeof r[n]);
        r[n].kind = RES_SUBNET;
        snprintf(r[n].region, sizeof r[n].region, "%s", s->set.region);
        bench_subnet_id(a, v, r[n].id);
        bench_vpc_id(a, v, r[n].vpc_id);
        snprintf(r[n].name, sizeof r[n].name, "bench-subnet-%u", v);
        snprintf(r[n].cidr, sizeof r[n].cidr, "10.%u.0.0/20", v);
        r[n].created_at = (int64_t)s->base_time;
        n++;
    }
    memset(&r[n], 0, sizeof r[n]);
    r[n].kind = RES_CLS_TOPIC;
    snprintf(r[n].region, sizeof r[n].region, "%s", s->set.region);
    bench_cls_id(a, r[n].id);
    snprintf(r[n].name, sizeof r[n].name, "bench-topic");
    n++;
    for (uint32_t i = 0; i < enis; i++) {
        uint32_t v = i % BENCH_VPCS;
        memset(&r[n], 0, sizeof r[n]);
        r[n].kind = RES_INSTANCE;
        snprintf(r[n].region, sizeof r[n].region, "%s", s->set.region);
        bench_ins_id(a, enis, i, r[n].id);
        bench_vpc_id(a, v, r[n].vpc_id);
        snprintf(r[n].name, sizeof r[n].name, "bench-cvm-%u", i);
        snprintf(r[n].instance_type, sizeof r[n].instance_type, "S5.MEDIUM4");
        r[n].created_at = (int64_t)s->base_time;
        n++;
        memset(&r[n], 0, sizeof r[n]);
        r[n].kind = RES_ENI;
        snprintf(r[n].region, sizeof r[n].region, "%s", s->set.region);
        bench_eni_id(a, enis, i, r[n].id);
        bench_vpc_id(a, v, r[n].vpc_id);
        bench_subnet_id(a, v, r[n].subnet_id);
        bench_ins_id(a, enis, i, r[n].instance_id);
        snprintf(r[n].name, sizeof r[n].name, "bench-eni-%u", i);
        r[n].created_at = (int64_t)s->base_time;
        n++;
    }
    return n;
}

static void *accounts_thread(void *arg)
{
    struct setup *s = arg;
    size_t cap = 2 * BENCH_VPCS + 1 + 2 * (size_t)s->set.enis;
    struct resource *items = calloc(cap, sizeof *items);
    struct serr e;
    uint64_t a;

    if (!items) {
        snprintf(e.msg, sizeof e.msg, "out of memory");
        fail(s, "inventory", &e);
        return NULL;
    }
    while (!atomic_load(&s->failed) && (a = atomic_fetch_add(&s->next, 1)) < s->set.naccounts) {
        struct bench_account *acc = &s->set.acc[a];
        struct account ac;
        struct key_info k;
        size_t n;

        memset(&e, 0, sizeof e);
        if (store_account_create(s->st, s->quota, &ac, &e) != STORE_OK) {
            fail(s, "account_create", &e);
            break;
        }
        if (store_key_create(s->st, ac.uin, "", &k, &e) != STORE_OK) {
            fail(s, "key_create", &e);
            break;
        }
        n = build_inventory(s, (uint32_t)a, items);
        if (store_inventory_import(s->st, ac.uin, items, n, &e) != STORE_OK) {
            fail(s, "inventory_import", &e);
            break;
        }
        acc->idx = (uint32_t)a;
        snprintf(acc->uin, sizeof acc->uin, "%s", ac.uin);
        snprintf(acc->secret_id, sizeof acc->secret_id, "%s", k.secret_id);
        snprintf(acc->secret_key, sizeof acc->secret_key, "%s", k.secret_key);
        atomic_fetch_add(&s->done, 1);
    }
    free(items);
    return NULL;
}

/* ==== phase 2: flow logs ==== */

static void *flowlogs_thread(void *arg)
{
    static const char *const traffic[] = {"ACCEPT", "REJECT", "ALL"};
    struct setup *s = arg;
    uint32_t na = s->set.naccounts;
    struct flowlog fl;
    struct tag tag;
    char tagval[8], b[9];
    struct serr e;
    uint64_t g;

    while (!atomic_load(&s->failed) && (g = atomic_fetch_add(&s->next, 1)) < s->total_fl) {
        uint32_t a = (uint32_t)(g % na);
        uint64_t i = g / na, h = mix64(g);
        const struct bench_account *acc = &s->set.acc[a];
        int rc = STORE_CONFLICT;

        memset(&fl, 0, sizeof fl);
        snprintf(fl.uin, sizeof fl.uin, "%s", acc->uin);
        snprintf(fl.region, sizeof fl.region, "%s", s->set.region);
        bench_vpc_id(a, (uint32_t)(i % BENCH_VPCS), fl.vpc_id);
        b36_8(h, b);
        snprintf(fl.name, sizeof fl.name, "flow-%s", b);
        fl.resource_kind = RES_ENI;
        b36_8(BENCH_FL_RES_BASE + g, b);
        snprintf(fl.resource_id, sizeof fl.resource_id, "eni-%s", b);
        snprintf(fl.traffic_type, sizeof fl.traffic_type, "%s", traffic[i % 3]);
        bench_cls_id(a, fl.cloud_log_id);
        snprintf(fl.cloud_log_region, sizeof fl.cloud_log_region, "%s", s->set.region);
        snprintf(fl.cloud_log_state, sizeof fl.cloud_log_state, "SUCCESS");
        snprintf(fl.storage_type, sizeof fl.storage_type, "cls");
        fl.enable = 1;
        /* spread over the last 90 days */
        fl.created_at = (int64_t)s->base_time - (int64_t)(h % (90u * 86400u));
        if (s->set.tags) {
            snprintf(tagval, sizeof tagval, "t%u", (unsigned)(i % 4));
            tag.key = "team";
            tag.value = tagval;
            fl.tags = &tag;
            fl.ntags = 1;
        }
        for (int attempt = 0; attempt < 8 && rc == STORE_CONFLICT; attempt++) {
            memset(&e, 0, sizeof e);
            if (gen_id("fl", fl.id, sizeof fl.id) != 0) {
                snprintf(e.msg, sizeof e.msg, "random source failed");
                rc = STORE_ERR;
                break;
            }
            rc = store_flowlog_create(s->st, &fl, 0, &e);
        }
        if (rc != STORE_OK) {
            fail(s, "flowlog_create", &e);
            break;
        }
        atomic_fetch_add(&s->done, 1);
    }
    return NULL;
}

/* Runs fn on n threads; prints progress every 5 s. */
static void run_threads(struct setup *s, void *(*fn)(void *), unsigned n, uint64_t total,
                        const char *what)
{
    pthread_t *t = calloc(n, sizeof *t);
    unsigned started = 0;
    uint64_t t0 = bench_now_us(), last = t0;

    atomic_store(&s->next, 0);
    atomic_store(&s->done, 0);
    for (unsigned i = 0; t && i < n; i++)
        if (pthread_create(&t[i], NULL, fn, s) == 0)
            started++;
    if (started == 0) {
        struct serr e = {"cannot start threads"};
        fail(s, what, &e);
    }
    while (started && atomic_load(&s->done) < total && !atomic_load(&s->failed)) {
        usleep(100000);
        uint64_t now = bench_now_us();
        if (now - last >= 5000000) {
            uint64_t d = atomic_load(&s->done);
            fprintf(stderr, "  %s: %llu / %llu (%.0f/s)\n", what, (unsigned long long)d,
                    (unsigned long long)total, (double)d * 1e6 / (double)(now - t0));
            last = now;
        }
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
}

static int write_set(const char *dir, const struct setup *s)
{
    char path[4096], tmp[4200];
    json_t *root = json_object(), *arr = json_array();
    int rc = -1;

    snprintf(path, sizeof path, "%s/%s", dir, BENCH_FILE);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!root || !arr)
        goto done;
    json_object_set_new(root, "region", json_string(s->set.region));
    json_object_set_new(root, "enis_per_account", json_integer(s->set.enis));
    json_object_set_new(root, "flowlogs_total", json_integer((json_int_t)s->total_fl));
    json_object_set_new(root, "flowlogs_per_account", json_integer(s->set.flowlogs));
    json_object_set_new(root, "tags_per_flowlog", json_integer(s->set.tags));
    json_object_set_new(root, "quota", json_integer(s->quota));
    for (uint32_t a = 0; a < s->set.naccounts; a++) {
        const struct bench_account *acc = &s->set.acc[a];
        json_array_append_new(arr, json_pack("{s:i,s:s,s:s,s:s}", "idx", (json_int_t)acc->idx,
                                             "uin", acc->uin, "secret_id", acc->secret_id,
                                             "secret_key", acc->secret_key));
    }
    json_object_set(root, "accounts", arr);
    if (json_dump_file(root, tmp, JSON_COMPACT) != 0 || chmod(tmp, 0600) != 0 ||
        rename(tmp, path) != 0) {
        fprintf(stderr, "flowlogd-bench: cannot write %s: %s\n", path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    json_decref(arr);
    json_decref(root);
    return rc;
}

/* mkdir -p of dir's parents (the store creates dir itself, mode 0700). */
static void make_parents(const char *dir)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", dir);
    for (char *q = p + 1; *q; q++)
        if (*q == '/') {
            *q = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return;
            *q = '/';
        }
}

int bench_setup_main(int argc, char **argv)
{
    const char *data = NULL, *accounts = NULL, *enis = NULL, *flowlogs = NULL, *threads = NULL,
               *tags = NULL, *quota = NULL;
    const struct bopt opts[] = {{"data", &data, NULL},
                                {"accounts", &accounts, NULL},
                                {"enis-per-account", &enis, NULL},
                                {"flowlogs", &flowlogs, NULL},
                                {"threads", &threads, NULL},
                                {"tags", &tags, NULL},
                                {"quota", &quota, NULL},
                                {NULL, NULL, NULL}};
    struct setup *s;
    uint64_t na, ne, nf, nt, ntags, q, c0 = 0, j0 = 0, c1 = 0, j1 = 0, c2 = 0, j2 = 0;
    uint64_t t0, t1, t2;
    char path[4096];
    struct serr e = {{0}};
    struct stat sb;
    int rc = 1;

    if (bopt_parse(argc, argv, opts, usage) != 0)
        return 2;
    if (!data) {
        fputs(usage, stderr);
        return 2;
    }
    if (bopt_u64("accounts", accounts, 5000, &na) || bopt_u64("enis-per-account", enis, 40, &ne) ||
        bopt_u64("flowlogs", flowlogs, 0, &nf) || bopt_u64("threads", threads, 512, &nt) ||
        bopt_u64("tags", tags, 1, &ntags) || bopt_u64("quota", quota, 0, &q))
        return 2;
    if (na == 0 || na > 1000000 || ne > 10000 || nt == 0 || nt > 4096 || ntags > 1) {
        fprintf(stderr, "flowlogd-bench: accounts 1..1e6, enis 0..10000, threads 1..4096, "
                        "tags 0..1\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/%s", data, BENCH_FILE);
    if (stat(path, &sb) == 0) {
        fprintf(stderr, "flowlogd-bench: %s exists: %s is already set up\n", path, data);
        return 1;
    }
    snprintf(path, sizeof path, "%s/flowlogd.db", data);
    if (stat(path, &sb) == 0) {
        fprintf(stderr, "flowlogd-bench: %s exists without %s (an interrupted setup?): "
                        "remove %s first\n", path, BENCH_FILE, data);
        return 1;
    }

    s = calloc(1, sizeof *s);
    if (!s)
        return 1;
    pthread_mutex_init(&s->err_mu, NULL);
    snprintf(s->set.region, sizeof s->set.region, "%s", BENCH_REGION);
    s->set.naccounts = (uint32_t)na;
    s->set.enis = (uint32_t)ne;
    s->set.flowlogs = (uint32_t)(nf / na);
    s->set.tags = (uint32_t)ntags;
    s->total_fl = nf;
    s->quota = q ? (uint32_t)q : (uint32_t)(nf / na + 1 + ne + 100);
    s->base_time = time(NULL);
    s->set.acc = calloc(na, sizeof *s->set.acc);
    if (!s->set.acc)
        goto done;

    t0 = bench_now_us();
    make_parents(data);
    s->st = store_open_sqlite(data, &e);
    if (!s->st) {
        fprintf(stderr, "flowlogd-bench: cannot open the store in %s: %s\n", data, e.msg);
        goto done;
    }
    store_sqlite_stats(s->st, &c0, &j0);
    fprintf(stderr, "setup %s: %llu accounts x %llu ENIs, %llu flow logs, %llu threads\n", data,
            (unsigned long long)na, (unsigned long long)ne, (unsigned long long)nf,
            (unsigned long long)nt);
    run_threads(s, accounts_thread, (unsigned)(nt < na ? nt : na), na, "accounts");
    if (atomic_load(&s->failed))
        goto report;
    t1 = bench_now_us();
    store_sqlite_stats(s->st, &c1, &j1);
    fprintf(stderr, "  accounts, keys and inventory: %.1f s (%llu jobs in %llu commits)\n",
            (double)(t1 - t0) / 1e6, (unsigned long long)(j1 - j0),
            (unsigned long long)(c1 - c0));
    if (nf) {
        run_threads(s, flowlogs_thread, (unsigned)nt, nf, "flow logs");
        if (atomic_load(&s->failed))
            goto report;
    }
    t2 = bench_now_us();
    store_sqlite_stats(s->st, &c2, &j2);
    if (nf)
        fprintf(stderr, "  flow logs: %llu in %.1f s = %.0f/s (%llu jobs in %llu commits, "
                        "%.1f per commit)\n",
                (unsigned long long)nf, (double)(t2 - t1) / 1e6,
                (double)nf * 1e6 / (double)(t2 - t1 ? t2 - t1 : 1),
                (unsigned long long)(j2 - j1), (unsigned long long)(c2 - c1),
                c2 - c1 ? (double)(j2 - j1) / (double)(c2 - c1) : 0.0);
    store_close(s->st);
    s->st = NULL;
    if (write_set(data, s) != 0)
        goto done;
    printf("{\"setup\":\"%s\",\"accounts\":%llu,\"enis_per_account\":%llu,\"flowlogs\":%llu,"
           "\"accounts_s\":%.2f,\"flowlogs_s\":%.2f,\"flowlogs_per_s\":%.0f,"
           "\"flowlog_commits\":%llu,\"flowlog_jobs\":%llu,\"total_s\":%.2f}\n",
           data, (unsigned long long)na, (unsigned long long)ne, (unsigned long long)nf,
           (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6,
           nf ? (double)nf * 1e6 / (double)(t2 - t1 ? t2 - t1 : 1) : 0.0,
           (unsigned long long)(c2 - c1), (unsigned long long)(j2 - j1),
           (double)(bench_now_us() - t0) / 1e6);
    rc = 0;
    goto done;
report:
    fprintf(stderr, "flowlogd-bench: setup failed: %s\n", s->err);
done:
    store_close(s->st);
    bench_set_free(&s->set);
    free(s);
    return rc;
}
