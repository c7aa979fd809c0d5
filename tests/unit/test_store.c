/* test_store.c: the SQLite store against the store.h contract. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_fixture.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h> /* the same, on PostgreSQL */
#include <sqlite3.h> /* only to tamper with the file behind the store's back */

#include "store/sqlite/sqlite.h"
#include "store/pg/pg.h"
#include "store/store.h"
#include "validate/validate.h"

#define RG "ap-guangzhou"

/* ==== fixture: a fresh data directory and store per test ==== */

static int setup(void **state)
{
    return store_fx_setup(state, "flowlogd-test", 1);
}

static int teardown(void **state)
{
    return store_fx_teardown(state);
}

static void reopen(struct store_fx *f)
{
    struct serr e = {{0}};
    store_close(f->s);
    f->s = fixture_reopen(f->data, &e);
    if (!f->s)
        fail_msg("reopen: %s", e.msg);
}

/* ==== helpers ==== */

/* Group-commit counters of either store. */
static void group_stats(struct store *s, uint64_t *commits, uint64_t *jobs)
{
    if (strcmp(s->name, "sqlite") == 0)
        store_sqlite_stats(s, commits, jobs);
    else
        store_pg_stats(s, commits, jobs, NULL, NULL);
}

static void fl_init(struct flowlog *fl, const char *uin, const char *region, const char *id,
                    const char *name, const char *rtype, const char *rid, int64_t created)
{
    memset(fl, 0, sizeof *fl);
    snprintf(fl->id, sizeof fl->id, "%s", id);
    snprintf(fl->uin, sizeof fl->uin, "%s", uin);
    snprintf(fl->region, sizeof fl->region, "%s", region);
    snprintf(fl->name, sizeof fl->name, "%s", name);
    fl->resource_kind = resource_type_find(rtype)->kind;
    snprintf(fl->resource_id, sizeof fl->resource_id, "%s", rid);
    snprintf(fl->traffic_type, sizeof fl->traffic_type, "ALL");
    snprintf(fl->storage_type, sizeof fl->storage_type, "cls");
    fl->enable = 1;
    fl->created_at = created;
}

#define MAXROWS 128

/* What a get/query callback saw: rows copied out, tags flattened. */
struct got {
    size_t n;
    struct flowlog rows[MAXROWS];
    char tags[MAXROWS][256]; /* "k=v;k=v;" */
};

static void collect(void *ud, const struct flowlog *fl)
{
    struct got *g = ud;
    size_t len = 0;
    assert_true(g->n < MAXROWS);
    g->rows[g->n] = *fl;
    g->rows[g->n].tags = NULL;
    g->tags[g->n][0] = '\0';
    for (size_t i = 0; i < fl->ntags; i++)
        len += (size_t)snprintf(g->tags[g->n] + len, sizeof g->tags[0] - len, "%s=%s;",
                                fl->tags[i].key, fl->tags[i].value);
    g->n++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The ids seen, sorted and comma-joined, into out. */
static const char *ids_of(const struct got *g, char *out, size_t cap)
{
    const char *ids[MAXROWS];
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < g->n; i++)
        ids[i] = g->rows[i].id;
    qsort(ids, g->n, sizeof ids[0], cmp_str);
    for (size_t i = 0; i < g->n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", ids[i]);
    return out;
}

static int get_one(struct store *s, const char *uin, const char *region, const char *id,
                   struct got *g)
{
    struct serr e = {{0}};
    memset(g, 0, sizeof *g);
    return store_flowlog_get(s, uin, region, id, collect, g, &e);
}

/* ==== files ==== */

static void test_file_modes(void **state)
{
    struct store_fx *f = *state;
    static const char *const files[] = {"flowlogd.db", "flowlogd.db-wal", "flowlogd.db-shm"};
    struct stat sb;
    char p[160];
    mode_t old;
    FIXTURE_SQLITE_ONLY();
    old = umask(0); /* the modes must not depend on the umask */

    reopen(f);
    umask(old);
    assert_int_equal(stat(f->data, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0700);
    /* a write makes sure -wal and -shm exist */
    struct key_info k;
    struct serr e = {{0}};
    assert_int_equal(store_key_create(f->s, f->a.uin, NULL, &k, &e), STORE_OK);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", f->data, files[i]);
        assert_int_equal(stat(p, &sb), 0);
        if ((sb.st_mode & 0777) != 0600)
            fail_msg("%s has mode %o", files[i], (unsigned)(sb.st_mode & 0777));
    }
}

static void test_reopen_keeps_data(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct key_info k, k2;
    struct flowlog fl;
    struct tag tags[] = {{"env", "prod"}};
    struct got g;

    assert_int_equal(store_key_create(f->s, f->a.uin, "DescribeFlowLogs", &k, &e), STORE_OK);
    fl_init(&fl, f->a.uin, RG, "fl-reopen1", "keep", "VPC", "vpc-keep", 100);
    fl.tags = tags;
    fl.ntags = 1;
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK);
    reopen(f);
    assert_int_equal(store_key_lookup(f->s, k.secret_id, &k2, &e), STORE_OK);
    assert_string_equal(k2.secret_key, k.secret_key);
    assert_string_equal(k2.actions, ",DescribeFlowLogs,");
    assert_int_equal(get_one(f->s, f->a.uin, RG, "fl-reopen1", &g), STORE_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.rows[0].name, "keep");
    assert_string_equal(g.tags[0], "env=prod;");
    assert_int_equal(store_integrity_check(f->s, &e), STORE_OK);
}

/* A plain SQLite connection to the store's file in `data`, as another
 * process would have; busy_ms: its busy timeout (0: none). */
static sqlite3 *open_file(const char *data, int busy_ms)
{
    char p[160];
    sqlite3 *db = NULL;
    snprintf(p, sizeof p, "%s/flowlogd.db", data);
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, busy_ms);
    return db;
}

/* One integer answer of `sql` on the store's file, read behind its back. */
static long long file_int(const char *data, const char *sql)
{
    sqlite3 *db = open_file(data, 0);
    sqlite3_stmt *st;
    long long v = -1;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Turns this build's flowlogs table back into the layout of schema 13 and
 * before: the ResourceType as its API name in column resource_type, the
 * one-flow-log-per-resource index on it. */
#define OLD_RESOURCE_TYPE_SQL                                                                    \
    "ALTER TABLE flowlogs ADD COLUMN resource_type TEXT NOT NULL DEFAULT '';"                   \
    "UPDATE flowlogs SET resource_type = CASE resource_kind WHEN 1 THEN 'VPC' WHEN 2 THEN "      \
    "'SUBNET' WHEN 3 THEN 'NETWORKINTERFACE' WHEN 5 THEN 'CCN' WHEN 6 THEN 'NAT' WHEN 7 THEN "  \
    "'DCG' END;"                                                                                 \
    "DROP INDEX flowlogs_resource;"                                                              \
    "CREATE UNIQUE INDEX flowlogs_resource ON flowlogs(uin, region, resource_id, resource_type);" \
    "ALTER TABLE flowlogs DROP COLUMN resource_kind;"                                            \
    "ALTER TABLE flowlogs DROP COLUMN record_format;" /* schema 15's */

static void on_kind(void *ud, const struct flowlog *fl)
{
    *(enum res_kind *)ud = fl->resource_kind;
}

/* The same layout on PostgreSQL (schema 5 and before), in the test's own
 * schema (the fixture's ?schema=), through libpq. */
static void pg_old_resource_type(const char *data)
{
    const char *spec = fixture_spec(data), *schema = strstr(spec, "schema=");
    char sql[2048];
    PGconn *c = PQconnectdb(fixture_pg());
    PGresult *r;

    assert_non_null(schema);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    snprintf(sql, sizeof sql,
             "SET search_path TO %s;"
             "ALTER TABLE flowlogs ADD COLUMN resource_type text COLLATE \"C\" NOT NULL DEFAULT '';"
             "UPDATE flowlogs SET resource_type = CASE resource_kind WHEN 1 THEN 'VPC' WHEN 2 THEN "
             "'SUBNET' WHEN 3 THEN 'NETWORKINTERFACE' WHEN 5 THEN 'CCN' WHEN 6 THEN 'NAT' WHEN 7 "
             "THEN 'DCG' END;"
             "DROP INDEX flowlogs_resource;"
             "CREATE UNIQUE INDEX flowlogs_resource ON flowlogs(uin, region, resource_id, "
             "resource_type);"
             "ALTER TABLE flowlogs DROP COLUMN resource_kind;"
             "ALTER TABLE flowlogs DROP COLUMN record_format;"
             "ALTER TABLE resources DROP COLUMN brokers;"
             "UPDATE flowlogd_schema SET version = 5;",
             schema + 7);
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("pg tamper: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* A database that keeps each flow log's ResourceType as its name ("CCN":
 * SQLite schema 13, PostgreSQL 5) is migrated when opened (14, 6) to the
 * kind: every type read back as its kind, the filter by kind finds them,
 * and a second flow log for a resource is still refused. */
static void test_migration_resource_kind(void **state)
{
    static const char *const types[] = {"VPC", "SUBNET", "NETWORKINTERFACE", "CCN", "NAT", "DCG"};
    static const char *const prefixes[] = {"vpc", "subnet", "eni", "ccn", "nat", "dcg"};
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct flowlog fl;
    char id[16], rid[32];

    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "fl-kind%04d", i);
        snprintf(rid, sizeof rid, "%s-kind%04d", prefixes[i], i);
        fl_init(&fl, f->a.uin, RG, id, "n", types[i], rid, 1700000000 + i);
        assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK);
    }
    store_close(f->s);
    f->s = NULL;
    if (fixture_pg()) {
        pg_old_resource_type(f->data);
    } else {
        sqlite3 *db = open_file(f->data, 0);
        assert_int_equal(sqlite3_exec(db,
                                      OLD_RESOURCE_TYPE_SQL
                                      "ALTER TABLE resources DROP COLUMN brokers;"
                                      "PRAGMA user_version = 13;",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(
            file_int(f->data, "SELECT count(*) FROM flowlogs WHERE resource_type = 'CCN'"), 1);
    }

    reopen(f);
    if (!fixture_pg()) {
        assert_int_equal(file_int(f->data, "PRAGMA user_version"), 17);
        assert_int_equal(file_int(f->data, "SELECT count(*) FROM pragma_table_info('flowlogs') "
                                           "WHERE name = 'resource_type'"),
                         0);
        /* the index has its fixed planner statistics again (16) */
        assert_int_equal(file_int(f->data, "SELECT count(*) FROM sqlite_stat1 WHERE idx = "
                                           "'flowlogs_resource' AND stat = '1000000 100 100 1 1'"),
                         1);
    }
    for (int i = 0; i < 6; i++) {
        enum res_kind k = 0;
        uint64_t total = 0;
        struct flowlog_query q = {.uin = f->a.uin, .region = RG, .limit = 10};
        snprintf(id, sizeof id, "fl-kind%04d", i);
        assert_int_equal(store_flowlog_get(f->s, f->a.uin, RG, id, on_kind, &k, &e), STORE_OK);
        assert_int_equal(k, resource_type_find(types[i])->kind);
        q.resource_kind = k;
        assert_int_equal(store_flowlog_query(f->s, &q, NULL, NULL, &total, &e), STORE_OK);
        assert_int_equal(total, 1);
    }
    /* one flow log per resource, on the new column */
    fl_init(&fl, f->a.uin, RG, "fl-kind9999", "n", "CCN", "ccn-kind0003", 1700000100);
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_EXISTS);
    assert_string_equal(e.msg, "fl-kind0003");
}

/* A database of schema 2 (flowlogs_vpc on (uin, region, vpc_id), no
 * per-VPC counts, counts per region) is migrated on open: the index is
 * replaced (3), the per-VPC counts made from the rows (4), the region
 * counts dropped (5), the name index dropped (6); rows, answers and
 * the quota unchanged; the keys gain a token and an end (7); the resource
 * pages get their index (8) and the resources their counts (9). */
static void test_migration_2_to_6(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct flowlog fl;
    char id[16], rid[32], name[16];
    sqlite3 *db;
    static struct got g;
    uint64_t total = 0;
    FIXTURE_SQLITE_ONLY();

    for (int i = 0; i < 12; i++) {
        snprintf(id, sizeof id, "fl-mig%05d", i);
        snprintf(rid, sizeof rid, "eni-mig%05d", i);
        snprintf(name, sizeof name, "n%02d", 11 - i);
        fl_init(&fl, f->a.uin, RG, id, name, "NETWORKINTERFACE", rid, 1700000000 + i);
        snprintf(fl.vpc_id, sizeof fl.vpc_id, "%s", i % 3 ? "vpc-aaaaaaaa" : "vpc-bbbbbbbb");
        assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK);
    }
    {
        struct resource inv[5];
        for (int i = 0; i < 5; i++) {
            memset(&inv[i], 0, sizeof inv[i]);
            inv[i].kind = i < 3 ? RES_ENI : RES_VPC;
            snprintf(inv[i].region, sizeof inv[i].region, RG);
            snprintf(inv[i].id, sizeof inv[i].id, "%s-mig%05d", i < 3 ? "eni" : "vpc", i);
        }
        assert_int_equal(store_inventory_import(f->s, f->a.uin, inv, 5, &e), STORE_OK);
    }
    store_close(f->s);
    f->s = NULL;
    db = open_file(f->data, 0);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TRIGGER resources_count_ins;"
                                  "DROP TRIGGER resources_count_del;"
                                  "DROP TRIGGER resources_count_upd;"
                                  "DROP TABLE resource_usage;"
                                  "DROP TRIGGER flowlogs_vpc_count_ins;"
                                  "DROP TRIGGER flowlogs_vpc_count_del;"
                                  "DROP TRIGGER flowlogs_vpc_fixed;"
                                  "DROP TABLE vpc_usage;"
                                  "CREATE TABLE region_usage("
                                  "  uin TEXT NOT NULL, region TEXT NOT NULL,"
                                  "  flowlogs INTEGER NOT NULL DEFAULT 0,"
                                  "  PRIMARY KEY (uin, region)) WITHOUT ROWID;"
                                  "INSERT INTO region_usage SELECT uin, region, count(*)"
                                  "  FROM flowlogs GROUP BY uin, region;"
                                  "CREATE TRIGGER flowlogs_count_ins AFTER INSERT ON flowlogs"
                                  " BEGIN INSERT INTO region_usage(uin, region, flowlogs)"
                                  " VALUES (NEW.uin, NEW.region, 1) ON CONFLICT (uin, region)"
                                  " DO UPDATE SET flowlogs = flowlogs + 1; END;"
                                  "CREATE TRIGGER flowlogs_count_del AFTER DELETE ON flowlogs"
                                  " BEGIN UPDATE region_usage SET flowlogs = flowlogs - 1"
                                  " WHERE uin = OLD.uin AND region = OLD.region; END;"
                                  "DROP INDEX flowlogs_vpc_name;"
                                  "CREATE INDEX flowlogs_name ON flowlogs(uin, region, name, id);"
                                  "CREATE INDEX flowlogs_vpc ON flowlogs(uin, region, vpc_id);"
                                  "DELETE FROM sqlite_stat1 WHERE idx = 'flowlogs_vpc_name';"
                                  "INSERT INTO sqlite_stat1 VALUES ('flowlogs', 'flowlogs_vpc',"
                                  " '1000000 100 100 20'), ('flowlogs', 'flowlogs_name',"
                                  " '1000000 100 100 5 1');"
                                  "ALTER TABLE keys DROP COLUMN token;"
                                  "ALTER TABLE keys DROP COLUMN expires;"
                                  "DROP INDEX resources_created;"
                                  "DROP TABLE host_bindings;"
                                  "DROP TABLE agent_keys;"
                                  "ALTER TABLE resources DROP COLUMN addrs;"
                                  "DROP TRIGGER cls_topics_del;"
                                  "DROP TABLE cls_batches;"
                                  "DROP TABLE cls_meta;"
                                  "DROP TABLE cls_logs;"
                                  "DROP TABLE cls_topics;"
                                  "DROP TABLE cls_logsets;"
                                  OLD_RESOURCE_TYPE_SQL
                                  "ALTER TABLE resources DROP COLUMN brokers;"
                                  "PRAGMA user_version = 2;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    reopen(f);
    assert_int_equal(file_int(f->data, "PRAGMA user_version"), 17);
    /* schema 14: the ResourceType as its kind */
    assert_int_equal(file_int(f->data, "SELECT count(*) FROM flowlogs WHERE resource_kind = 3"),
                     12);
    /* schema 9: the resource counts, made from the rows */
    assert_int_equal(file_int(f->data, "SELECT n FROM resource_usage WHERE kind = 3"), 3);
    assert_int_equal(file_int(f->data, "SELECT n FROM resource_usage WHERE kind = 1"), 2);
    {
        struct resource_query rq = {.uin = f->a.uin, .region = RG, .kind = RES_ENI, .limit = 1};
        assert_int_equal(store_resource_query(f->s, &rq, NULL, NULL, &total, &e), STORE_OK);
        assert_int_equal(total, 3);
    }
    /* schema 10: resources have addresses, '' for the old rows */
    assert_int_equal(file_int(f->data, "SELECT count(*) FROM resources WHERE addrs <> ''"), 0);
    /* schema 11: the data plane's host bindings and agent keys */
    assert_int_equal(file_int(f->data, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                       "('host_bindings', 'agent_keys', 'host_bindings_host')"),
                     3);
    /* schema 12: the cls service's tables */
    assert_int_equal(file_int(f->data, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                       "('cls_logsets', 'cls_topics', 'cls_logs', "
                                       "'cls_batches', 'cls_topics_del')"),
                     5);
    /* schema 13: the logs clustered by (topic, time_ms, seq); the seq counter */
    assert_int_equal(file_int(f->data, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                       "('cls_meta', 'cls_logs_time')"),
                     1);
    assert_int_equal(file_int(f->data, "SELECT v FROM cls_meta WHERE k = 'seq'"), 0);
    /* schema 15: flow logs have a record format, '' (Tencent's line) for the old rows */
    assert_int_equal(file_int(f->data, "SELECT count(*) FROM flowlogs WHERE record_format <> ''"),
                     0);
    /* schema 17: CKafka instances' brokers, '' for the resources there were */
    assert_int_equal(file_int(f->data, "SELECT count(*) FROM resources WHERE brokers <> ''"), 0);
    /* schema 8: the resource pages' index */
    assert_int_equal(file_int(f->data, "SELECT count(*) FROM sqlite_master WHERE name = "
                                       "'resources_created'"),
                     1);
    /* schema 7: keys have a token and an end, '' and 0 for the old ones */
    assert_int_equal(file_int(f->data, "SELECT count(*) FROM keys WHERE token <> '' OR "
                                       "expires <> 0"),
                     0);
    assert_int_equal(file_int(f->data, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                       "('region_usage', 'flowlogs_count_ins', "
                                       "'flowlogs_count_del')"),
                     0);
    assert_int_equal(file_int(f->data, "SELECT flowlogs FROM vpc_usage WHERE vpc_id = "
                                       "'vpc-aaaaaaaa'"), 8);
    assert_int_equal(file_int(f->data, "SELECT flowlogs FROM vpc_usage WHERE vpc_id = "
                                       "'vpc-bbbbbbbb'"), 4);
    assert_int_equal(file_int(f->data, "SELECT count(*) FROM sqlite_master WHERE name = "
                                       "'flowlogs_vpc'"), 0);
    assert_int_equal(file_int(f->data, "SELECT count(*) FROM sqlite_master WHERE name = "
                                       "'flowlogs_vpc_name'"), 1);
    assert_int_equal(file_int(f->data, "SELECT count(*) FROM sqlite_stat1 WHERE idx = "
                                       "'flowlogs_vpc_name'"), 1);
    /* schema 6: no flowlogs_name, nor its statistics */
    assert_int_equal(file_int(f->data, "SELECT count(*) FROM sqlite_master WHERE name = "
                                       "'flowlogs_name'"), 0);
    assert_int_equal(file_int(f->data, "SELECT count(*) FROM sqlite_stat1 WHERE idx IN "
                                       "('flowlogs_name', 'flowlogs_vpc')"), 0);
    {
        struct flowlog_query q = {.uin = f->a.uin, .region = RG, .vpc_id = "vpc-aaaaaaaa",
                                  .order = ORDER_NAME, .limit = 5};
        memset(&g, 0, sizeof g);
        assert_int_equal(store_flowlog_query(f->s, &q, collect, &g, &total, &e), STORE_OK);
    }
    assert_int_equal(total, 8);
    assert_int_equal(g.n, 5);
    /* names n00..n11 run against creation; ascending by name, VPC a only */
    assert_string_equal(g.rows[0].name, "n00");
    assert_string_equal(g.rows[1].name, "n01");
    assert_string_equal(g.rows[2].name, "n03");
    assert_string_equal(g.rows[3].name, "n04");
    assert_string_equal(g.rows[4].name, "n06");
    {
        struct flowlog_query q = {.uin = f->a.uin, .region = RG, .limit = 1};
        assert_int_equal(store_flowlog_query(f->s, &q, NULL, NULL, &total, &e), STORE_OK);
    }
    assert_int_equal(total, 12); /* the region's count: the sum of its VPCs' */
    fl_init(&fl, f->a.uin, RG, "fl-mig99999", "q", "NETWORKINTERFACE", "eni-mig99999", 1);
    assert_int_equal(store_flowlog_create(f->s, &fl, 12, &e), STORE_QUOTA);
    assert_int_equal(store_flowlog_create(f->s, &fl, 13, &e), STORE_OK);
    assert_int_equal(store_integrity_check(f->s, &e), STORE_OK);
}

/* ==== accounts and keys ==== */

static void test_accounts_and_keys(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct account a2;
    struct key_info k, got;

    /* quota 0 -> 100; AppId 10 digits starting 1; Uin 12 digits */
    assert_int_equal(f->a.flowlog_quota, 100);
    assert_true(f->a.app_id >= 1000000000u && f->a.app_id <= 1999999999u);
    assert_int_equal(strlen(f->a.uin), 12);
    assert_int_equal(strspn(f->a.uin, "0123456789"), 12);
    assert_int_equal(store_account_create(f->s, 7, &a2, &e), STORE_OK);
    assert_int_equal(a2.flowlog_quota, 7);
    assert_string_not_equal(a2.uin, f->a.uin);

    assert_int_equal(store_key_create(f->s, f->a.uin, NULL, &k, &e), STORE_OK);
    assert_int_equal(strlen(k.secret_id), 36);
    assert_memory_equal(k.secret_id, "AKID", 4);
    assert_int_equal(strspn(k.secret_id + 4, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"), 32);
    assert_int_equal(strlen(k.secret_key), 32);
    assert_string_equal(k.actions, "");
    assert_int_equal(k.account.app_id, f->a.app_id);

    memset(&got, 0, sizeof got);
    assert_int_equal(store_key_lookup(f->s, k.secret_id, &got, &e), STORE_OK);
    assert_string_equal(got.secret_id, k.secret_id);
    assert_string_equal(got.secret_key, k.secret_key);
    assert_string_equal(got.actions, "");
    assert_int_equal(got.account.app_id, f->a.app_id);
    assert_string_equal(got.account.uin, f->a.uin);
    assert_int_equal(got.account.flowlog_quota, 100);
    assert_int_equal(got.account.rate_limit, 0);
    assert_string_equal(got.token, ""); /* a permanent key */
    assert_int_equal(got.expires, 0);

    /* a temporary key: a 64-character token and its end, both read back */
    assert_int_equal(store_key_create_temporary(f->s, f->a.uin, "DescribeFlowLogs",
                                                1900000000, &k, &e),
                     STORE_OK);
    assert_int_equal(strlen(k.token), 64);
    assert_int_equal(k.expires, 1900000000);
    memset(&got, 0, sizeof got);
    assert_int_equal(store_key_lookup(f->s, k.secret_id, &got, &e), STORE_OK);
    assert_string_equal(got.token, k.token);
    assert_int_equal(got.expires, 1900000000);
    assert_string_equal(got.actions, ",DescribeFlowLogs,");
    assert_int_not_equal(store_key_create_temporary(f->s, f->a.uin, NULL, 0, &k, &e), STORE_OK);
    assert_int_equal(store_key_create_temporary(f->s, "999999999999x", NULL, 1900000000, &k, &e),
                     STORE_NOTFOUND);

    /* "" is every action too */
    assert_int_equal(store_key_create(f->s, f->a.uin, "", &k, &e), STORE_OK);
    assert_string_equal(k.actions, "");

    /* restricted keys are stored normalised */
    assert_int_equal(store_key_create(f->s, a2.uin, " DescribeFlowLogs, CreateFlowLog ,,DescribeFlowLogs,",
                                      &k, &e),
                     STORE_OK);
    assert_string_equal(k.actions, ",DescribeFlowLogs,CreateFlowLog,");
    assert_int_equal(store_key_lookup(f->s, k.secret_id, &got, &e), STORE_OK);
    assert_string_equal(got.actions, ",DescribeFlowLogs,CreateFlowLog,");
    assert_string_equal(got.account.uin, a2.uin);
    assert_int_equal(got.account.flowlog_quota, 7);
    assert_int_not_equal(store_key_create(f->s, a2.uin, "Describe FlowLogs", &k, &e), STORE_OK);

    /* unknown account / key */
    assert_int_equal(store_key_create(f->s, "999999999999x", NULL, &k, &e), STORE_NOTFOUND);
    assert_int_equal(store_key_lookup(f->s, "AKIDnope", &got, &e), STORE_NOTFOUND);
}

/* ==== inventory ==== */

static void res_init(struct resource *r, enum res_kind kind, const char *region, const char *id,
                     const char *name)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    snprintf(r->region, sizeof r->region, "%s", region);
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->created_at = 1700000000;
}

static void test_inventory(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct resource items[4], r;
    struct account other;

    res_init(&items[0], RES_VPC, RG, "vpc-aaaaaaaa", "main");
    snprintf(items[0].cidr, sizeof items[0].cidr, "10.0.0.0/16");
    res_init(&items[1], RES_ENI, RG, "eni-bbbbbbbb", "nic");
    snprintf(items[1].vpc_id, sizeof items[1].vpc_id, "vpc-aaaaaaaa");
    snprintf(items[1].subnet_id, sizeof items[1].subnet_id, "subnet-cccccccc");
    snprintf(items[1].instance_id, sizeof items[1].instance_id, "ins-dddddddd");
    snprintf(items[1].addrs, sizeof items[1].addrs, "10.0.0.5,10.0.0.6,fd00::5");
    res_init(&items[2], RES_NAT, "ap-shanghai", "nat-eeeeeeee", "gw");
    items[2].nat_version = 2;
    items[2].has_dnat = 1;

    assert_int_equal(store_inventory_import(f->s, f->a.uin, items, 3, &e), STORE_OK);
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_ENI, "eni-bbbbbbbb", &r, &e),
                     STORE_OK);
    assert_int_equal(r.kind, RES_ENI);
    assert_string_equal(r.region, RG);
    assert_string_equal(r.vpc_id, "vpc-aaaaaaaa");
    assert_string_equal(r.subnet_id, "subnet-cccccccc");
    assert_string_equal(r.instance_id, "ins-dddddddd");
    assert_string_equal(r.name, "nic");
    assert_string_equal(r.addrs, "10.0.0.5,10.0.0.6,fd00::5");
    assert_int_equal(r.created_at, 1700000000);
    assert_int_equal(store_resource_get(f->s, f->a.uin, "ap-shanghai", RES_NAT, "nat-eeeeeeee",
                                        &r, &e),
                     STORE_OK);
    assert_int_equal(r.nat_version, 2);
    assert_int_equal(r.has_dnat, 1);

    /* scoped by uin, region and kind */
    assert_int_equal(store_account_create(f->s, 0, &other, &e), STORE_OK);
    assert_int_equal(store_resource_get(f->s, other.uin, RG, RES_VPC, "vpc-aaaaaaaa", &r, &e),
                     STORE_NOTFOUND);
    assert_int_equal(store_resource_get(f->s, f->a.uin, "ap-beijing", RES_VPC, "vpc-aaaaaaaa",
                                        &r, &e),
                     STORE_NOTFOUND);
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_SUBNET, "vpc-aaaaaaaa", &r, &e),
                     STORE_NOTFOUND);

    /* idempotent; a changed item is updated */
    assert_int_equal(store_inventory_import(f->s, f->a.uin, items, 3, &e), STORE_OK);
    snprintf(items[0].name, sizeof items[0].name, "renamed");
    assert_int_equal(store_inventory_import(f->s, f->a.uin, items, 3, &e), STORE_OK);
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_VPC, "vpc-aaaaaaaa", &r, &e),
                     STORE_OK);
    assert_string_equal(r.name, "renamed");
    assert_string_equal(r.cidr, "10.0.0.0/16");
    /* an ENI's addresses change with a re-import */
    snprintf(items[1].addrs, sizeof items[1].addrs, "10.0.0.7");
    assert_int_equal(store_inventory_import(f->s, f->a.uin, items, 3, &e), STORE_OK);
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_ENI, "eni-bbbbbbbb", &r, &e),
                     STORE_OK);
    assert_string_equal(r.addrs, "10.0.0.7");

    /* unknown account */
    assert_int_equal(store_inventory_import(f->s, "000000000000", items, 3, &e), STORE_NOTFOUND);

    /* all or nothing: new good items, then a bad one at the end */
    res_init(&items[0], RES_SUBNET, RG, "subnet-ffffffff", "new1");
    res_init(&items[1], RES_VPC, RG, "vpc-aaaaaaaa", "changed-but-rolled-back");
    res_init(&items[2], RES_CCN, RG, "ccn-gggggggg", "new2");
    res_init(&items[3], (enum res_kind)0, RG, "bad-kind", "bad");
    assert_int_equal(store_inventory_import(f->s, f->a.uin, items, 4, &e), STORE_ERR);
    assert_non_null(strstr(e.msg, "item 3"));
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_SUBNET, "subnet-ffffffff", &r,
                                        &e),
                     STORE_NOTFOUND);
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_CCN, "ccn-gggggggg", &r, &e),
                     STORE_NOTFOUND);
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_VPC, "vpc-aaaaaaaa", &r, &e),
                     STORE_OK);
    assert_string_equal(r.name, "renamed");
    res_init(&items[3], RES_DCG, RG, "", "no id");
    assert_int_equal(store_inventory_import(f->s, f->a.uin, items, 4, &e), STORE_ERR);
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_SUBNET, "subnet-ffffffff", &r,
                                        &e),
                     STORE_NOTFOUND);
    assert_int_equal(store_inventory_import(f->s, f->a.uin, NULL, 0, &e), STORE_OK);

    /* a CKafka instance's Kafka bootstrap list is kept and updated */
    res_init(&items[0], RES_CKAFKA, RG, "ckafka-hhhhhhhh", "kafka");
    snprintf(items[0].edition, sizeof items[0].edition, "profession");
    snprintf(items[0].brokers, sizeof items[0].brokers, "127.0.0.1:9092,[::1]:9093");
    assert_int_equal(store_inventory_import(f->s, f->a.uin, items, 1, &e), STORE_OK);
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_CKAFKA, "ckafka-hhhhhhhh", &r, &e),
                     STORE_OK);
    assert_string_equal(r.brokers, "127.0.0.1:9092,[::1]:9093");
    assert_string_equal(r.edition, "profession");
    snprintf(items[0].brokers, sizeof items[0].brokers, "kafka.example:19092");
    assert_int_equal(store_inventory_import(f->s, f->a.uin, items, 1, &e), STORE_OK);
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_CKAFKA, "ckafka-hhhhhhhh", &r, &e),
                     STORE_OK);
    assert_string_equal(r.brokers, "kafka.example:19092");
}

/* ==== flow logs: create, get, update, delete ==== */

static void test_flowlog_crud(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct flowlog fl;
    struct tag tags[] = {{"zeta", "1"}, {"alpha", "2"}, {"mid", "va\"l\\ue"}};
    struct flowlog_patch p = {0};
    struct account other;
    struct got g;

    fl_init(&fl, f->a.uin, RG, "fl-aaaaaaaa", "first", "VPC", "vpc-11111111", 1700000001);
    snprintf(fl.vpc_id, sizeof fl.vpc_id, "vpc-11111111");
    snprintf(fl.description, sizeof fl.description, "a description");
    snprintf(fl.traffic_type, sizeof fl.traffic_type, "ACCEPT");
    snprintf(fl.cloud_log_id, sizeof fl.cloud_log_id, "a1b2c3d4-0000-0000-0000-000000000000");
    snprintf(fl.cloud_log_region, sizeof fl.cloud_log_region, RG);
    snprintf(fl.cloud_log_state, sizeof fl.cloud_log_state, "SUCCESS");
    snprintf(fl.storage_id, sizeof fl.storage_id, "topic-id");
    snprintf(fl.storage_topic, sizeof fl.storage_topic, "topic-name");
    fl.tags = tags;
    fl.ntags = 3;
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK);

    assert_int_equal(get_one(f->s, f->a.uin, RG, "fl-aaaaaaaa", &g), STORE_OK);
    assert_int_equal(g.n, 1);
    struct flowlog *r = &g.rows[0];
    assert_string_equal(r->id, "fl-aaaaaaaa");
    assert_string_equal(r->uin, f->a.uin);
    assert_string_equal(r->region, RG);
    assert_string_equal(r->vpc_id, "vpc-11111111");
    assert_string_equal(r->name, "first");
    assert_string_equal(r->description, "a description");
    assert_int_equal(r->resource_kind, RES_VPC);
    assert_string_equal(r->resource_id, "vpc-11111111");
    assert_string_equal(r->traffic_type, "ACCEPT");
    assert_string_equal(r->cloud_log_id, "a1b2c3d4-0000-0000-0000-000000000000");
    assert_string_equal(r->cloud_log_region, RG);
    assert_string_equal(r->cloud_log_state, "SUCCESS");
    assert_string_equal(r->storage_type, "cls");
    assert_string_equal(r->storage_id, "topic-id");
    assert_string_equal(r->storage_topic, "topic-name");
    assert_int_equal(r->period, 0);
    assert_int_equal(r->enable, 1);
    assert_int_equal(r->created_at, 1700000001);
    assert_string_equal(g.tags[0], "zeta=1;alpha=2;mid=va\"l\\ue;"); /* insertion order */

    /* invisible to another account or region */
    assert_int_equal(store_account_create(f->s, 0, &other, &e), STORE_OK);
    assert_int_equal(get_one(f->s, other.uin, RG, "fl-aaaaaaaa", &g), STORE_NOTFOUND);
    assert_int_equal(g.n, 0);
    assert_int_equal(get_one(f->s, f->a.uin, "ap-beijing", "fl-aaaaaaaa", &g), STORE_NOTFOUND);

    /* the resource already has one: EXISTS names it */
    fl_init(&fl, f->a.uin, RG, "fl-bbbbbbbb", "second", "VPC", "vpc-11111111", 1700000002);
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_EXISTS);
    assert_string_equal(e.msg, "fl-aaaaaaaa");
    /* the same resource id under another type is another resource */
    fl_init(&fl, f->a.uin, RG, "fl-bbbbbbbb", "second", "SUBNET", "vpc-11111111", 1700000002);
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK);
    /* the id is taken (even by another account): CONFLICT */
    fl_init(&fl, other.uin, RG, "fl-aaaaaaaa", "x", "VPC", "vpc-22222222", 1700000003);
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_CONFLICT);
    /* unknown account */
    fl_init(&fl, "000000000000", RG, "fl-cccccccc", "x", "VPC", "vpc-22222222", 1700000003);
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_NOTFOUND);

    /* update: NULL fields stay */
    p.name = "renamed";
    assert_int_equal(store_flowlog_update(f->s, f->a.uin, RG, "fl-aaaaaaaa", &p, &e), STORE_OK);
    assert_int_equal(get_one(f->s, f->a.uin, RG, "fl-aaaaaaaa", &g), STORE_OK);
    assert_string_equal(g.rows[0].name, "renamed");
    assert_string_equal(g.rows[0].description, "a description");
    p.name = NULL;
    p.description = "";
    p.period = 300;
    assert_int_equal(store_flowlog_update(f->s, f->a.uin, RG, "fl-aaaaaaaa", &p, &e), STORE_OK);
    assert_int_equal(get_one(f->s, f->a.uin, RG, "fl-aaaaaaaa", &g), STORE_OK);
    assert_string_equal(g.rows[0].name, "renamed");
    assert_string_equal(g.rows[0].description, "");
    assert_int_equal(g.rows[0].period, 300);
    memset(&p, 0, sizeof p);
    assert_int_equal(store_flowlog_update(f->s, f->a.uin, RG, "fl-aaaaaaaa", &p, &e), STORE_OK);
    assert_int_equal(store_flowlog_update(f->s, other.uin, RG, "fl-aaaaaaaa", &p, &e),
                     STORE_NOTFOUND);
    assert_int_equal(store_flowlog_update(f->s, f->a.uin, RG, "fl-zzzzzzzz", &p, &e),
                     STORE_NOTFOUND);
    assert_string_equal(e.msg, "fl-zzzzzzzz");

    /* delete: only the owner's; tags go too */
    assert_int_equal(store_flowlog_delete(f->s, other.uin, RG, "fl-aaaaaaaa", &e), STORE_NOTFOUND);
    assert_int_equal(store_flowlog_delete(f->s, f->a.uin, RG, "fl-aaaaaaaa", &e), STORE_OK);
    assert_int_equal(get_one(f->s, f->a.uin, RG, "fl-aaaaaaaa", &g), STORE_NOTFOUND);
    assert_int_equal(store_flowlog_delete(f->s, f->a.uin, RG, "fl-aaaaaaaa", &e),
                     STORE_NOTFOUND);
    /* the id and the resource are free again, with no stale tags */
    fl_init(&fl, f->a.uin, RG, "fl-aaaaaaaa", "again", "VPC", "vpc-11111111", 1700000009);
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK);
    assert_int_equal(get_one(f->s, f->a.uin, RG, "fl-aaaaaaaa", &g), STORE_OK);
    assert_string_equal(g.tags[0], "");
    assert_int_equal(store_integrity_check(f->s, &e), STORE_OK);
}

static void test_quota(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct account a;
    struct flowlog fl;
    char id[16], rid[32];

    assert_int_equal(store_account_create(f->s, 3, &a, &e), STORE_OK);
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "fl-q000000%d", i);
        snprintf(rid, sizeof rid, "vpc-q000000%d", i);
        fl_init(&fl, a.uin, RG, id, "q", "VPC", rid, 1);
        assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK); /* 0: the account's */
    }
    fl_init(&fl, a.uin, RG, "fl-q0000009", "q", "VPC", "vpc-q0000009", 1);
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_QUOTA);
    assert_int_equal(store_flowlog_create(f->s, &fl, 3, &e), STORE_QUOTA);
    assert_int_equal(store_flowlog_create(f->s, &fl, 4, &e), STORE_OK); /* explicit quota wins */
    assert_int_equal(store_flowlog_delete(f->s, a.uin, RG, "fl-q0000009", &e), STORE_OK);
    /* EXISTS is reported before QUOTA */
    fl_init(&fl, a.uin, RG, "fl-q0000008", "q", "VPC", "vpc-q0000000", 1);
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_EXISTS);
    /* per region */
    fl_init(&fl, a.uin, "ap-beijing", "fl-q0000009", "q", "VPC", "vpc-q0000009", 1);
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK);
    /* a delete frees a slot */
    assert_int_equal(store_flowlog_delete(f->s, a.uin, RG, "fl-q0000001", &e), STORE_OK);
    fl_init(&fl, a.uin, RG, "fl-q0000007", "q", "VPC", "vpc-q0000007", 1);
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK);
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_EXISTS);
    assert_int_equal(store_integrity_check(f->s, &e), STORE_OK);
}

/* Asynchronous creates: each completion comes once, on another thread,
 * with the blocking call's result (and message); a completed create is
 * stored. */
struct async_wait {
    struct store_op op;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    pthread_t thread;
};

static void async_done(struct store_op *op)
{
    struct async_wait *w = (struct async_wait *)op;
    pthread_mutex_lock(&w->mu);
    w->calls++;
    w->thread = pthread_self();
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int create_async_wait(struct store *s, const struct flowlog *fl, uint32_t quota,
                             struct async_wait *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->op.done = async_done;
    if (store_flowlog_create_async(s, fl, quota, &w->op) != STORE_OK)
        return -1;
    pthread_mutex_lock(&w->mu);
    while (!w->calls)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    usleep(20000); /* a second call would come now */
    assert_int_equal(w->calls, 1);
    assert_false(pthread_equal(w->thread, pthread_self()));
    return w->op.rc;
}

static void test_create_async(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct account a;
    struct flowlog fl;
    struct async_wait w;
    struct tag tags[2] = {{"team", "t1"}, {"env", "x"}};
    uint64_t total = 0;

    assert_int_equal(store_account_create(f->s, 2, &a, &e), STORE_OK);
    fl_init(&fl, a.uin, RG, "fl-a0000001", "a", "VPC", "vpc-a0000001", 1);
    fl.tags = tags;
    fl.ntags = 2;
    assert_int_equal(create_async_wait(f->s, &fl, 0, &w), STORE_OK);
    struct flowlog_query q = {.uin = a.uin, .region = RG, .limit = 10};
    assert_int_equal(store_flowlog_query(f->s, &q, NULL, NULL, &total, &e), STORE_OK);
    assert_int_equal(total, 1);
    /* the same resource again; then past the quota */
    fl_init(&fl, a.uin, RG, "fl-a0000002", "a", "VPC", "vpc-a0000001", 1);
    assert_int_equal(create_async_wait(f->s, &fl, 0, &w), STORE_EXISTS);
    assert_non_null(strstr(w.op.err.msg, "fl-a0000001"));
    fl_init(&fl, a.uin, RG, "fl-a0000002", "a", "VPC", "vpc-a0000002", 1);
    assert_int_equal(create_async_wait(f->s, &fl, 0, &w), STORE_OK);
    fl_init(&fl, a.uin, RG, "fl-a0000003", "a", "VPC", "vpc-a0000003", 1);
    assert_int_equal(create_async_wait(f->s, &fl, 0, &w), STORE_QUOTA);
    /* an id taken: the caller draws another */
    fl_init(&fl, a.uin, RG, "fl-a0000002", "a", "VPC", "vpc-a0000009", 1);
    assert_int_equal(create_async_wait(f->s, &fl, 5, &w), STORE_CONFLICT);
    assert_int_equal(store_integrity_check(f->s, &e), STORE_OK);
}

static void test_set_enable(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct flowlog fl;
    struct got g;
    const char *ids[] = {"fl-e0000001", "fl-e0000002", "fl-enotthere"};

    fl_init(&fl, f->a.uin, RG, "fl-e0000001", "a", "VPC", "vpc-e1", 1);
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK);
    fl_init(&fl, f->a.uin, RG, "fl-e0000002", "b", "VPC", "vpc-e2", 1);
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK);

    assert_int_equal(store_flowlog_set_enable(f->s, f->a.uin, RG, ids, 3, 0, &e),
                     STORE_NOTFOUND);
    assert_string_equal(e.msg, "fl-enotthere");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(get_one(f->s, f->a.uin, RG, ids[i], &g), STORE_OK);
        assert_int_equal(g.rows[0].enable, 1); /* nothing changed */
    }
    assert_int_equal(store_flowlog_set_enable(f->s, f->a.uin, RG, ids, 2, 0, &e), STORE_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(get_one(f->s, f->a.uin, RG, ids[i], &g), STORE_OK);
        assert_int_equal(g.rows[0].enable, 0);
    }
    assert_int_equal(store_flowlog_set_enable(f->s, f->a.uin, RG, ids, 2, 0, &e), STORE_OK);
    assert_int_equal(store_flowlog_set_enable(f->s, f->a.uin, "ap-beijing", ids, 1, 1, &e),
                     STORE_NOTFOUND);
    assert_string_equal(e.msg, "fl-e0000001");
    assert_int_equal(store_flowlog_set_enable(f->s, f->a.uin, RG, ids + 1, 1, 7, &e), STORE_OK);
    assert_int_equal(get_one(f->s, f->a.uin, RG, ids[1], &g), STORE_OK);
    assert_int_equal(g.rows[0].enable, 1);
    assert_int_equal(get_one(f->s, f->a.uin, RG, ids[0], &g), STORE_OK);
    assert_int_equal(g.rows[0].enable, 0);
}

/* ==== query ==== */

static void add(struct store *s, const char *uin, const char *region, const char *id,
                const char *vpc, const char *name, const char *rtype, const char *rid,
                const char *traffic, const char *log, const char *state, const char *logrg,
                const struct tag *tags, size_t ntags)
{
    struct serr e = {{0}};
    struct flowlog fl;
    fl_init(&fl, uin, region, id, name, rtype, rid, 1700000000);
    snprintf(fl.vpc_id, sizeof fl.vpc_id, "%s", vpc);
    snprintf(fl.traffic_type, sizeof fl.traffic_type, "%s", traffic);
    snprintf(fl.cloud_log_id, sizeof fl.cloud_log_id, "%s", log);
    snprintf(fl.cloud_log_state, sizeof fl.cloud_log_state, "%s", state);
    snprintf(fl.cloud_log_region, sizeof fl.cloud_log_region, "%s", logrg);
    fl.tags = tags;
    fl.ntags = ntags;
    if (store_flowlog_create(s, &fl, 0, &e) != STORE_OK)
        fail_msg("create %s: %s", id, e.msg);
}

/* Runs q and returns the sorted ids (and *total). */
static const char *run(struct store *s, struct flowlog_query *q, uint64_t *total, char *out,
                       size_t cap)
{
    static struct got g;
    struct serr e = {{0}};
    memset(&g, 0, sizeof g);
    if (store_flowlog_query(s, q, collect, &g, total, &e) != STORE_OK)
        fail_msg("query: %s", e.msg);
    return ids_of(&g, out, cap);
}

static void test_query_filters(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct account b;
    const char *a = f->a.uin;
    char out[512];
    uint64_t total = 0;
    static const struct tag t1[] = {{"env", "prod"}, {"team", "x"}};
    static const struct tag t2[] = {{"env", "dev"}};
    static const struct tag t3[] = {{"team", "y"}, {"环境", "值 \"q\"\\"}};

    assert_int_equal(store_account_create(f->s, 0, &b, &e), STORE_OK);
    add(f->s, a, RG, "fl-00000001", "vpc-a", "alpha", "VPC", "vpc-a", "ACCEPT", "log-1",
        "SUCCESS", RG, t1, 2);
    add(f->s, a, RG, "fl-00000002", "vpc-a", "beta", "SUBNET", "subnet-1", "REJECT", "log-1",
        "SUCCESS", RG, t2, 1);
    add(f->s, a, RG, "fl-00000003", "vpc-b", "alpha", "NETWORKINTERFACE", "eni-1", "ALL", "log-2",
        "FAILED", "ap-shanghai", t3, 2);
    add(f->s, a, RG, "fl-00000004", "", "gamma", "CCN", "ccn-1", "ALL", "log-2", "SUCCESS", RG,
        NULL, 0);
    add(f->s, b.uin, RG, "fl-00000005", "vpc-a", "alpha", "VPC", "vpc-a", "ACCEPT", "log-1",
        "SUCCESS", RG, t1, 2);
    add(f->s, a, "ap-beijing", "fl-00000006", "vpc-a", "alpha", "VPC", "vpc-a", "ACCEPT", "log-1",
        "SUCCESS", RG, t1, 2);

#define Q(...) (struct flowlog_query){.uin = a, .region = RG, __VA_ARGS__}
#define EXPECT(qv, want)                                                                         \
    do {                                                                                         \
        struct flowlog_query q_ = qv;                                                            \
        total = 99;                                                                              \
        assert_string_equal(run(f->s, &q_, &total, out, sizeof out), want);                     \
        assert_int_equal(total, strlen(want) ? (strlen(want) + 1) / 12 : 0);                     \
    } while (0)

    EXPECT(Q(.limit = 0), "fl-00000001,fl-00000002,fl-00000003,fl-00000004");
    EXPECT(Q(.vpc_id = "", .name = "", .limit = 100), "fl-00000001,fl-00000002,fl-00000003,fl-00000004");
    EXPECT(Q(.vpc_id = "vpc-a", .limit = 10), "fl-00000001,fl-00000002");
    EXPECT(Q(.id = "fl-00000003", .limit = 10), "fl-00000003");
    EXPECT(Q(.id = "fl-00000005", .limit = 10), ""); /* another account's */
    EXPECT(Q(.name = "alpha", .limit = 10), "fl-00000001,fl-00000003");
    EXPECT(Q(.resource_kind = RES_CCN, .limit = 10), "fl-00000004");
    EXPECT(Q(.resource_id = "eni-1", .limit = 10), "fl-00000003");
    EXPECT(Q(.traffic_type = "ALL", .limit = 10), "fl-00000003,fl-00000004");
    EXPECT(Q(.cloud_log_id = "log-1", .limit = 10), "fl-00000001,fl-00000002");
    EXPECT(Q(.cloud_log_state = "FAILED", .limit = 10), "fl-00000003");
    EXPECT(Q(.cloud_log_region = "ap-shanghai", .limit = 10), "fl-00000003");
    EXPECT(Q(.vpc_id = "vpc-a", .name = "alpha", .limit = 10), "fl-00000001");
    EXPECT(Q(.vpc_id = "vpc-a", .name = "gamma", .limit = 10), "");
    /* VpcId alone is counted from vpc_usage: right for no rows, and after a delete */
    EXPECT(Q(.vpc_id = "vpc-z", .limit = 10), "");
    assert_int_equal(store_flowlog_delete(f->s, a, RG, "fl-00000002", &e), STORE_OK);
    EXPECT(Q(.vpc_id = "vpc-a", .limit = 10), "fl-00000001");
    add(f->s, a, RG, "fl-00000002", "vpc-a", "beta", "SUBNET", "subnet-1", "REJECT", "log-1",
        "SUCCESS", RG, t2, 1);
    EXPECT(Q(.vpc_id = "vpc-a", .limit = 10), "fl-00000001,fl-00000002");

    static const char *const k_team[] = {"team"};
    static const char *const k_env_nope[] = {"nope", "env"};
    static const char *const k_nope[] = {"nope"};
    static const char *const k_cjk[] = {"环境"};
    EXPECT(Q(.tag_keys_any = k_team, .ntag_keys_any = 1, .limit = 10), "fl-00000001,fl-00000003");
    EXPECT(Q(.tag_keys_any = k_env_nope, .ntag_keys_any = 2, .limit = 10),
           "fl-00000001,fl-00000002");
    EXPECT(Q(.tag_keys_any = k_nope, .ntag_keys_any = 1, .limit = 10), "");
    static const char *const k_team_env[] = {"team", "env"}; /* fl-1 has both: counted once */
    EXPECT(Q(.tag_keys_any = k_team_env, .ntag_keys_any = 2, .limit = 10),
           "fl-00000001,fl-00000002,fl-00000003");
    EXPECT(Q(.tag_keys_any = k_cjk, .ntag_keys_any = 1, .limit = 10), "fl-00000003");

    static const struct tag p_prod[] = {{"env", "prod"}};
    static const struct tag p_prod_dev[] = {{"env", "prod"}, {"env", "dev"}};
    static const struct tag p_prod_x[] = {{"env", "prod"}, {"team", "x"}};
    static const struct tag p_dev_x[] = {{"env", "dev"}, {"team", "x"}};
    static const struct tag p_mix[] = {{"team", "y"}, {"env", "prod"}, {"team", "x"}};
    static const struct tag p_quote[] = {{"环境", "值 \"q\"\\"}};
    EXPECT(Q(.tag_pairs = p_prod, .ntag_pairs = 1, .limit = 10), "fl-00000001");
    EXPECT(Q(.tag_pairs = p_prod_dev, .ntag_pairs = 2, .limit = 10), "fl-00000001,fl-00000002");
    EXPECT(Q(.tag_pairs = p_prod_x, .ntag_pairs = 2, .limit = 10), "fl-00000001");
    EXPECT(Q(.tag_pairs = p_dev_x, .ntag_pairs = 2, .limit = 10), "");
    EXPECT(Q(.tag_pairs = p_mix, .ntag_pairs = 3, .limit = 10), "fl-00000001");
    EXPECT(Q(.tag_pairs = p_quote, .ntag_pairs = 1, .limit = 10), "fl-00000003");
    EXPECT(Q(.tag_pairs = p_prod_dev, .ntag_pairs = 2, .tag_keys_any = k_team, .ntag_keys_any = 1,
             .limit = 10),
           "fl-00000001");
    EXPECT(Q(.tag_pairs = p_prod, .ntag_pairs = 1, .name = "alpha", .order = ORDER_NAME,
             .descending = 1, .limit = 10),
           "fl-00000001");

    /* many distinct pair keys (not cached) still work */
    struct tag many[20];
    char keys[20][8];
    for (int i = 0; i < 20; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        many[i].key = keys[i];
        many[i].value = "v";
    }
    many[19].key = "env";
    many[19].value = "prod";
    EXPECT(Q(.tag_pairs = many + 19, .ntag_pairs = 1, .limit = 10), "fl-00000001");
    EXPECT(Q(.tag_pairs = many, .ntag_pairs = 20, .limit = 10), "");

    /* tenancy */
    struct flowlog_query qb = {.uin = b.uin, .region = RG, .limit = 10};
    assert_string_equal(run(f->s, &qb, &total, out, sizeof out), "fl-00000005");
    struct flowlog_query qr = {.uin = a, .region = "ap-beijing", .limit = 10};
    assert_string_equal(run(f->s, &qr, &total, out, sizeof out), "fl-00000006");
    struct flowlog_query qn = {.uin = a, .region = "ap-nowhere", .limit = 10};
    assert_string_equal(run(f->s, &qn, &total, out, sizeof out), "");
    assert_int_equal(total, 0);

    /* total counts every match; the page is limit/offset */
    struct flowlog_query q1 = {.uin = a, .region = RG, .limit = 1};
    run(f->s, &q1, &total, out, sizeof out);
    assert_int_equal(strlen(out), 11);
    assert_int_equal(total, 4);
    q1.offset = 3;
    run(f->s, &q1, &total, out, sizeof out);
    assert_string_equal(out, "fl-00000004");
    q1.offset = 10;
    run(f->s, &q1, &total, out, sizeof out);
    assert_string_equal(out, "");
    assert_int_equal(total, 4);
    q1.offset = 0;
    run(f->s, &q1, NULL, out, sizeof out); /* total not wanted */
    assert_int_equal(strlen(out), 11);
#undef EXPECT
#undef Q
}

static int key_cmp(const struct flowlog *x, const struct flowlog *y, enum flowlog_order o)
{
    int c;
    if (o == ORDER_NAME)
        c = strcmp(x->name, y->name);
    else
        c = x->created_at < y->created_at ? -1 : x->created_at > y->created_at;
    return c ? c : strcmp(x->id, y->id);
}

/* Pages every order of nvpc's flow logs (spread over nvpc VPCs, '' among
 * them: CCN) through, and checks that the pages make the whole set in
 * order, each row once; the same in name order with a name filter. In
 * name order the page is a merge of one arm per VPC (up to MERGE_MAX = 32
 * VPCs), beyond that a sort. */
static void order_and_paging(struct store_fx *f, int nvpc)
{
    struct serr e = {{0}};
    struct flowlog fl;
    struct account a;
    char id[16], rid[32], name[16];
    enum { N = 50, LIMIT = 7 };
    static struct got all, page;

    assert_int_equal(store_account_create(f->s, 1000, &a, &e), STORE_OK);
    for (int i = 0; i < N; i++) {
        /* ids in an order unrelated to time and name */
        snprintf(id, sizeof id, "fl-%02d%06d", nvpc, (i * 37) % N);
        snprintf(rid, sizeof rid, "eni-%02d%06d", nvpc, i);
        snprintf(name, sizeof name, "name-%d", i % 4);
        fl_init(&fl, a.uin, RG, id, name, "NETWORKINTERFACE", rid,
                1700000000 + i / 10); /* 5 groups of equal times */
        if (i % nvpc)
            snprintf(fl.vpc_id, sizeof fl.vpc_id, "vpc-%08d", i % nvpc);
        assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK);
    }
    for (int o = 0; o < 3; o++) {
        for (int desc = 0; desc < 2; desc++) {
            enum flowlog_order order = o ? ORDER_NAME : ORDER_CREATE_TIME;
            uint64_t total = 0, want = o == 2 ? (N + 3) / 4 : N; /* o 2: name-1 only */
            memset(&all, 0, sizeof all);
            for (uint64_t off = 0; off < N + LIMIT; off += LIMIT) {
                struct flowlog_query q = {.uin = a.uin,
                                          .region = RG,
                                          .name = o == 2 ? "name-1" : NULL,
                                          .order = order,
                                          .descending = desc,
                                          .offset = off,
                                          .limit = LIMIT};
                memset(&page, 0, sizeof page);
                assert_int_equal(store_flowlog_query(f->s, &q, collect, &page, &total, &e),
                                 STORE_OK);
                assert_int_equal(total, want);
                assert_true(page.n <= LIMIT);
                for (size_t k = 0; k < page.n; k++)
                    all.rows[all.n++] = page.rows[k];
            }
            assert_int_equal(all.n, want);
            for (size_t k = 1; k < all.n; k++) {
                int c = key_cmp(&all.rows[k - 1], &all.rows[k], order);
                if (desc ? c <= 0 : c >= 0)
                    fail_msg("%d VPCs, order %d desc %d: %s before %s", nvpc, o, desc,
                             all.rows[k - 1].id, all.rows[k].id);
            }
            /* strictly monotonic over unique ids => each id exactly once */
        }
    }
}

static void test_query_order_and_paging(void **state)
{
    order_and_paging(*state, 1);  /* one arm: CCN's '' */
    order_and_paging(*state, 5);  /* a merge of 5 */
    order_and_paging(*state, 40); /* past MERGE_MAX: sorted */
}

/* A callback that calls the store again is refused, not corrupting. */
static void reenter_cb(void *ud, const struct flowlog *fl)
{
    struct store_fx *f = ud;
    struct serr e = {{0}};
    struct got g;
    assert_int_equal(store_flowlog_get(f->s, fl->uin, fl->region, fl->id, collect, &g, &e),
                     STORE_ERR);
}

static void test_reentry_refused(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct flowlog fl;
    FIXTURE_SQLITE_ONLY();
    fl_init(&fl, f->a.uin, RG, "fl-r0000001", "r", "VPC", "vpc-r", 1);
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK);
    assert_int_equal(store_flowlog_get(f->s, f->a.uin, RG, "fl-r0000001", reenter_cb, f, &e),
                     STORE_OK);
    struct got g;
    assert_int_equal(get_one(f->s, f->a.uin, RG, "fl-r0000001", &g), STORE_OK);
}

/* ==== read transactions kept between reads (sqlite_reader.c) ==== */

/* A read after another process's commit (here a plain SQLite connection,
 * as the CLI's would be) sees it, though the reader kept its transaction
 * from the read before. */
static void test_read_sees_foreign_commit(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct key_info k;
    char sql[256];
    sqlite3 *db;
    FIXTURE_SQLITE_ONLY();

    for (int i = 0; i < 3; i++) /* the reader now has a transaction to keep */
        assert_int_equal(store_key_lookup(f->s, "AKIDforeign", &k, &e), STORE_NOTFOUND);
    db = open_file(f->data, 1000);
    snprintf(sql, sizeof sql,
             "INSERT INTO keys(secret_id, secret_key, uin) VALUES ('AKIDforeign', 'sk', '%s')",
             f->a.uin);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(store_key_lookup(f->s, "AKIDforeign", &k, &e), STORE_OK);
    assert_string_equal(k.account.uin, f->a.uin);
    assert_int_equal(sqlite3_exec(db, "DELETE FROM keys WHERE secret_id = 'AKIDforeign'", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(store_key_lookup(f->s, "AKIDforeign", &k, &e), STORE_NOTFOUND);
    sqlite3_close(db);
}

struct idle_reader {
    struct store *s;
    pthread_barrier_t read, done;
};

static void *read_then_idle(void *arg)
{
    struct idle_reader *r = arg;
    struct serr e = {{0}};
    struct key_info k;
    assert_int_equal(store_key_lookup(r->s, "AKIDnone", &k, &e), STORE_NOTFOUND);
    assert_int_equal(store_key_lookup(r->s, "AKIDnone", &k, &e), STORE_NOTFOUND);
    pthread_barrier_wait(&r->read);
    pthread_barrier_wait(&r->done); /* alive, its connection open, reading nothing */
    return NULL;
}

/* A reader that went idle with its transaction open does not keep a
 * RESTART checkpoint waiting: the reaper ends that transaction. */
static void test_idle_read_released(void **state)
{
    struct store_fx *f = *state;
    struct idle_reader r = {.s = f->s};
    struct serr e = {{0}};
    struct flowlog fl;
    char id[32];
    int nlog = -1, nckpt = -1;
    pthread_t th;
    sqlite3 *db;
    FIXTURE_SQLITE_ONLY();

    pthread_barrier_init(&r.read, NULL, 2);
    pthread_barrier_init(&r.done, NULL, 2);
    pthread_create(&th, NULL, read_then_idle, &r);
    pthread_barrier_wait(&r.read);
    for (int i = 0; i < 20; i++) { /* frames newer than the idle reader's snapshot */
        snprintf(id, sizeof id, "fl-i%07d", i);
        fl_init(&fl, f->a.uin, RG, id, "i", "VPC", id, 1);
        assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK);
    }
    usleep(30 * 1000);
    db = open_file(f->data, 1000);
    assert_int_equal(sqlite3_exec(db, "SELECT count(*) FROM flowlogs", NULL, NULL, NULL),
                     SQLITE_OK); /* opens the WAL */
    assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, &nlog, &nckpt),
                     SQLITE_OK);
    assert_true(nlog > 0);
    assert_int_equal(nlog, nckpt);
    sqlite3_close(db);
    pthread_barrier_wait(&r.done);
    pthread_join(th, NULL);
    pthread_barrier_destroy(&r.read);
    pthread_barrier_destroy(&r.done);
}

/* integrity_check notices what no store operation can produce. */
static void tamper(struct store_fx *f, const char *sql)
{
    sqlite3 *db = open_file(f->data, 5000);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("tamper: %s", msg);
    sqlite3_close(db);
}

static void test_integrity_check(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct flowlog fl;
    struct tag tags[] = {{"a", "1"}, {"b", "2"}};
    FIXTURE_SQLITE_ONLY();

    fl_init(&fl, f->a.uin, RG, "fl-i0000001", "i", "VPC", "vpc-i", 1);
    fl.tags = tags;
    fl.ntags = 2;
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK);
    assert_int_equal(store_integrity_check(f->s, &e), STORE_OK);

    tamper(f, "UPDATE flowlog_tags SET value = 'x' WHERE key = 'b'");
    assert_int_equal(store_integrity_check(f->s, &e), STORE_ERR);
    assert_non_null(strstr(e.msg, "fl-i0000001"));
    tamper(f, "UPDATE flowlog_tags SET value = '2' WHERE key = 'b'");
    assert_int_equal(store_integrity_check(f->s, &e), STORE_OK);

    tamper(f, "UPDATE vpc_usage SET flowlogs = flowlogs + 1");
    assert_int_equal(store_integrity_check(f->s, &e), STORE_ERR);
    assert_non_null(strstr(e.msg, "VPC"));
    tamper(f, "UPDATE vpc_usage SET flowlogs = flowlogs - 1");
    assert_int_equal(store_integrity_check(f->s, &e), STORE_OK);

    tamper(f, "INSERT INTO keys(secret_id, secret_key, uin) VALUES ('AKIDorphan', 's', 'nobody')");
    assert_int_equal(store_integrity_check(f->s, &e), STORE_ERR);
    assert_non_null(strstr(e.msg, "foreign_key_check"));
    tamper(f, "DELETE FROM keys WHERE secret_id = 'AKIDorphan'");
    assert_int_equal(store_integrity_check(f->s, &e), STORE_OK);
}

/* Another process (the CLI) holding the write lock delays writes, it does
 * not fail them. */
struct lock_holder {
    struct store_fx *f;
    pthread_barrier_t locked;
};

static void *hold_write_lock(void *arg)
{
    struct lock_holder *h = arg;
    sqlite3 *db = open_file(h->f->data, 0);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    pthread_barrier_wait(&h->locked);
    usleep(300 * 1000);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    return NULL;
}

static void test_waits_for_foreign_lock(void **state)
{
    struct lock_holder h = {.f = *state};
    struct serr e = {{0}};
    struct flowlog fl;
    struct got g;
    pthread_t th;
    struct timespec t0, t1;
    FIXTURE_SQLITE_ONLY();

    pthread_barrier_init(&h.locked, NULL, 2);
    pthread_create(&th, NULL, hold_write_lock, &h);
    pthread_barrier_wait(&h.locked);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fl_init(&fl, h.f->a.uin, RG, "fl-l0000001", "l", "VPC", "vpc-l", 1);
    assert_int_equal(store_flowlog_create(h.f->s, &fl, 0, &e), STORE_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(th, NULL);
    pthread_barrier_destroy(&h.locked);
    assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 250);
    assert_int_equal(get_one(h.f->s, h.f->a.uin, RG, "fl-l0000001", &g), STORE_OK);
}

/* ==== concurrency ==== */

enum { THREADS = 16, PER_THREAD = 200, READERS = 4 };

struct worker {
    struct store *s;
    const char *uin;
    int t;
    int count, retry_every; /* see create_loop */
    int ok, exists, other;
    pthread_barrier_t *bar;
    int *stop; /* set by the main thread; read with __atomic */
};

/* The writers of the concurrency tests. Worker t creates fl-<t><i> on
 * eni-<t><i> for i < w->count, or until *w->stop when count is 0. With
 * retry_every, every retry_every-th resource is created once more under
 * another id (STORE_EXISTS, counted in exists), so that batches mix jobs
 * that commit with jobs rolled back to their savepoint. */
static void *create_loop(void *arg)
{
    struct worker *w = arg;
    struct flowlog fl;
    struct serr e;
    char id[16], rid[32];
    pthread_barrier_wait(w->bar);
    for (int i = 0; i < 1000000; i++) {
        if (w->count ? i >= w->count : __atomic_load_n(w->stop, __ATOMIC_ACQUIRE))
            break;
        snprintf(id, sizeof id, "fl-%02d%06d", w->t, i);
        snprintf(rid, sizeof rid, "eni-%02d%06d", w->t, i);
        fl_init(&fl, w->uin, RG, id, "c", "NETWORKINTERFACE", rid, i);
        if (store_flowlog_create(w->s, &fl, 10000000, &e) == STORE_OK)
            w->ok++;
        else
            w->other++;
        if (w->retry_every && i % w->retry_every == w->retry_every - 1) {
            snprintf(id, sizeof id, "fl-%02dx%05d", w->t, i);
            fl_init(&fl, w->uin, RG, id, "c", "NETWORKINTERFACE", rid, i);
            if (store_flowlog_create(w->s, &fl, 10000000, &e) == STORE_EXISTS)
                w->exists++;
            else
                w->other++;
        }
    }
    return NULL;
}

static void *create_same(void *arg)
{
    struct worker *w = arg;
    struct flowlog fl;
    struct serr e;
    char id[16];
    snprintf(id, sizeof id, "fl-race%04d", w->t);
    fl_init(&fl, w->uin, RG, id, "race", "VPC", "vpc-contested", 1);
    pthread_barrier_wait(w->bar);
    int rc = store_flowlog_create(w->s, &fl, 100000, &e);
    if (rc == STORE_OK)
        w->ok++;
    else if (rc == STORE_EXISTS)
        w->exists++;
    else
        w->other++;
    return NULL;
}

static void count_cb(void *ud, const struct flowlog *fl)
{
    (void)fl;
    ++*(int *)ud;
}

static void *read_loop(void *arg)
{
    struct worker *w = arg;
    struct serr e;
    uint64_t total, last = 0;
    pthread_barrier_wait(w->bar);
    while (!__atomic_load_n(w->stop, __ATOMIC_ACQUIRE)) {
        struct flowlog_query q = {.uin = w->uin, .region = RG, .limit = 20, .descending = 1};
        int rows = 0;
        if (store_flowlog_query(w->s, &q, count_cb, &rows, &total, &e) != STORE_OK ||
            total < last || rows > 20) /* committed rows never disappear */
            w->other++;
        else
            w->ok++;
        last = total;
    }
    return NULL;
}

static void test_concurrency(void **state)
{
    struct store_fx *f = *state;
    struct worker w[THREADS + READERS];
    pthread_t th[THREADS + READERS];
    pthread_barrier_t bar;
    int stop = 0;
    uint64_t c0, j0, c1, j1, total = 0;
    struct serr e = {{0}};
    int ok = 0, exists = 0, other = 0, reads = 0;

    group_stats(f->s, &c0, &j0);
    pthread_barrier_init(&bar, NULL, THREADS + READERS);
    for (int i = 0; i < THREADS + READERS; i++) {
        w[i] = (struct worker){.s = f->s, .uin = f->a.uin, .t = i, .count = PER_THREAD,
                               .bar = &bar, .stop = &stop};
        pthread_create(&th[i], NULL, i < THREADS ? create_loop : read_loop, &w[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = THREADS; i < THREADS + READERS; i++)
        pthread_join(th[i], NULL); /* reader threads exit: their connections close */
    pthread_barrier_destroy(&bar);
    group_stats(f->s, &c1, &j1);
    for (int i = 0; i < THREADS; i++) {
        ok += w[i].ok;
        other += w[i].other;
    }
    for (int i = THREADS; i < THREADS + READERS; i++) {
        assert_int_equal(w[i].other, 0);
        reads += w[i].ok;
    }
    assert_int_equal(ok, THREADS * PER_THREAD);
    assert_int_equal(other, 0);
    assert_int_equal(j1 - j0, THREADS * PER_THREAD);
    assert_true(c1 - c0 <= j1 - j0);
    print_message("group commit: %llu creates from %d threads in %llu commits (%.1f per commit); "
                  "%d concurrent queries\n",
                  (unsigned long long)(j1 - j0), THREADS, (unsigned long long)(c1 - c0),
                  (double)(j1 - j0) / (double)(c1 - c0 ? c1 - c0 : 1), reads);

    struct flowlog_query q = {.uin = f->a.uin, .region = RG, .limit = 1};
    assert_int_equal(store_flowlog_query(f->s, &q, NULL, NULL, &total, &e), STORE_OK);
    assert_int_equal(total, THREADS * PER_THREAD);

    /* racing on one resource: exactly one wins */
    ok = exists = other = 0;
    pthread_barrier_init(&bar, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.s = f->s, .uin = f->a.uin, .t = i, .bar = &bar};
        pthread_create(&th[i], NULL, create_same, &w[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
        exists += w[i].exists;
        other += w[i].other;
    }
    pthread_barrier_destroy(&bar);
    assert_int_equal(ok, 1);
    assert_int_equal(exists, THREADS - 1);
    assert_int_equal(other, 0);
    assert_int_equal(store_integrity_check(f->s, &e), STORE_OK);
    /* the tuned engine: all of it went through the writer's coalesced WAL
     * (sqlite_vfs.c) */
    if (!fixture_pg()) {
        struct store_sqlite_info info;
        store_sqlite_info(f->s, &info);
        if (strcmp(info.engine, "tuned") == 0)
            assert_true(info.wal_buffered);
        else
            assert_false(info.wal_buffered);
    }
}

/* Many callers at once: every one must be woken with its own result.
 * Each thread also retries one of its resources every 10 creates, so
 * batches mix jobs that commit with jobs rolled back to their savepoint. */
enum { MANY = 64, MANY_PER = 200 };

static void test_many_writers(void **state)
{
    struct store_fx *f = *state;
    struct worker w[MANY];
    pthread_t th[MANY];
    pthread_barrier_t bar;
    uint64_t c0, j0, c1, j1, total = 0;
    struct serr e = {{0}};
    int ok = 0, exists = 0, other = 0;

    group_stats(f->s, &c0, &j0);
    pthread_barrier_init(&bar, NULL, MANY);
    for (int i = 0; i < MANY; i++) {
        w[i] = (struct worker){.s = f->s, .uin = f->a.uin, .t = i, .count = MANY_PER,
                               .retry_every = 10, .bar = &bar};
        assert_int_equal(pthread_create(&th[i], NULL, create_loop, &w[i]), 0);
    }
    for (int i = 0; i < MANY; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
        exists += w[i].exists;
        other += w[i].other;
    }
    pthread_barrier_destroy(&bar);
    group_stats(f->s, &c1, &j1);
    assert_int_equal(ok, MANY * MANY_PER);
    assert_int_equal(exists, MANY * (MANY_PER / 10));
    assert_int_equal(other, 0);
    /* counted before the callers were woken */
    assert_int_equal(j1 - j0, MANY * MANY_PER + MANY * (MANY_PER / 10));
    assert_true(c1 - c0 >= 1 && c1 - c0 <= j1 - j0);
    print_message("many writers: %llu jobs from %d threads in %llu commits (%.1f per commit)\n",
                  (unsigned long long)(j1 - j0), MANY, (unsigned long long)(c1 - c0),
                  (double)(j1 - j0) / (double)(c1 - c0));

    struct flowlog_query q = {.uin = f->a.uin, .region = RG, .limit = 1};
    assert_int_equal(store_flowlog_query(f->s, &q, NULL, NULL, &total, &e), STORE_OK);
    assert_int_equal(total, MANY * MANY_PER);
    assert_int_equal(store_integrity_check(f->s, &e), STORE_OK);
}

/* ==== checkpoints ==== */

/* Background checkpoints under sustained writes (small thresholds): the WAL
 * file stays bounded, the WAL starts again from its beginning, reads see
 * every committed row, and the data is intact after reopening. */
enum { CKPT_PAGES = 200, CKPT_WRITERS = 8, CKPT_READERS = 2, CKPT_MS = 2000 };

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_background_checkpoints(void **state)
{
    struct store_fx *f = *state;
    struct worker w[CKPT_WRITERS + CKPT_READERS];
    pthread_t th[CKPT_WRITERS + CKPT_READERS];
    pthread_barrier_t bar;
    struct store_sqlite_info k;
    struct serr e = {{0}};
    struct stat sb;
    char wal[160];
    long long t_end, max_wal = 0, hard_bytes;
    uint64_t total = 0;
    int stop = 0, ok = 0, hard, samples = 0;
    FIXTURE_SQLITE_ONLY();

    if (strcmp(store_sqlite_engine(f->s), "tuned") != 0) {
        /* the plain engine's checkpoints are SQLite's own, tested by SQLite */
        print_message("skipped: the checkpointer is the tuned engine's (engine %s)\n",
                      store_sqlite_engine(f->s));
        skip();
    }
    /* a store with small thresholds, in place of the fixture's */
    store_close(f->s);
    setenv("FLOWLOGD_SQLITE_CKPT_PAGES", "200", 1);
    f->s = store_open_sqlite(f->data, &e);
    unsetenv("FLOWLOGD_SQLITE_CKPT_PAGES");
    if (!f->s)
        fail_msg("open: %s", e.msg);
    store_sqlite_info(f->s, &k);
    hard = k.ckpt_hard;
    assert_int_equal(k.ckpt_pages, CKPT_PAGES);
    /* a commit may pass the limit by one batch before the writer acts */
    /* A commit may pass the limit by one batch before the writer acts, and a
     * RESTART that readers refuse (a reader preempted inside its read
     * transaction: on two loaded cores, for milliseconds) lets it pass by
     * more: up to 4.5 x the limit at a load average of 13 (1 batch on a quiet
     * machine). Without the limit these 2 s of creates make 8,000-14,000
     * frames, so 5 x still tells a bounded WAL from an unbounded one. */
    hard_bytes = (long long)(5 * hard) * (4096 + 24) + 32;
    snprintf(wal, sizeof wal, "%s/flowlogd.db-wal", f->data);

    pthread_barrier_init(&bar, NULL, CKPT_WRITERS + CKPT_READERS + 1);
    for (int i = 0; i < CKPT_WRITERS + CKPT_READERS; i++) {
        w[i] = (struct worker){.s = f->s, .uin = f->a.uin, .t = i, .bar = &bar, .stop = &stop};
        pthread_create(&th[i], NULL, i < CKPT_WRITERS ? create_loop : read_loop, &w[i]);
    }
    pthread_barrier_wait(&bar);
    for (t_end = now_ms() + CKPT_MS; now_ms() < t_end; samples++) {
        if (stat(wal, &sb) == 0 && sb.st_size > max_wal)
            max_wal = sb.st_size;
        usleep(1000);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < CKPT_WRITERS + CKPT_READERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    for (int i = 0; i < CKPT_WRITERS + CKPT_READERS; i++) {
        assert_int_equal(w[i].other, 0);
        if (i < CKPT_WRITERS)
            ok += w[i].ok;
    }
    store_sqlite_info(f->s, &k);
    print_message("checkpoints: %d creates in %d ms; %llu background passes, %llu restarts, "
                  "%llu valves, %llu failed, the WAL started again %llu times; largest WAL %d "
                  "frames, file %lld bytes (%d samples; hard limit %d frames)\n",
                  ok, CKPT_MS, (unsigned long long)k.ckpt_runs,
                  (unsigned long long)k.ckpt_restarts, (unsigned long long)k.ckpt_valves,
                  (unsigned long long)k.ckpt_failed, (unsigned long long)k.ckpt_wraps,
                  k.ckpt_max_frames, max_wal, samples, hard);
    assert_true(k.ckpt_runs > 0);
    assert_true(k.ckpt_wraps > 0);
#ifdef __SANITIZE_THREAD__
    /* ThreadSanitizer slows the readers ~10-fold: they hold old frames past
     * the RESTART's ~5 ms patience, and the bound below is about speed, not
     * about races (which are what this build looks for) */
    print_message("ThreadSanitizer build: the WAL's bound is not checked\n");
    (void)hard_bytes;
#else
    assert_true(k.ckpt_max_frames <= 5 * hard);
    assert_true(max_wal > 0 && max_wal <= hard_bytes);
#endif

    /* close: the last connection checkpoints what is left and removes the WAL */
    store_close(f->s);
    assert_int_not_equal(stat(wal, &sb), 0);
    f->s = store_open_sqlite(f->data, &e);
    if (!f->s)
        fail_msg("reopen: %s", e.msg);
    struct flowlog_query q = {.uin = f->a.uin, .region = RG, .limit = 1};
    assert_int_equal(store_flowlog_query(f->s, &q, NULL, NULL, &total, &e), STORE_OK);
    assert_int_equal(total, ok);
    assert_int_equal(store_integrity_check(f->s, &e), STORE_OK);
}

/* The WAL ceiling (FLOWLOGD_SQLITE_WAL_MB): the thresholds under it, the
 * file kept near it under creates, emptied once the writes stop; a bad
 * value refused at open. */
static void test_wal_ceiling(void **state)
{
    struct store_fx *f = *state;
    struct worker w[CKPT_WRITERS];
    pthread_t th[CKPT_WRITERS];
    pthread_barrier_t bar;
    struct serr e = {{0}};
    struct store_sqlite_info s;
    struct stat sb;
    char wal[160];
    long long max_wal = 0, t_end, idle_ms = -1;
    int stop = 0, ok = 0;
    FIXTURE_SQLITE_ONLY();

    FIXTURE_SQLITE_ONLY();
    store_close(f->s);
    setenv("FLOWLOGD_SQLITE_WAL_MB", "two", 1);
    f->s = store_open_sqlite(f->data, &e);
    assert_null(f->s);
    assert_non_null(strstr(e.msg, "FLOWLOGD_SQLITE_WAL_MB"));
    setenv("FLOWLOGD_SQLITE_WAL_MB", "2", 1);
    f->s = store_open_sqlite(f->data, &e);
    unsetenv("FLOWLOGD_SQLITE_WAL_MB");
    if (!f->s)
        fail_msg("open: %s", e.msg);
    store_sqlite_info(f->s, &s);
    assert_int_equal(s.wal_ceiling, 2 << 20);
    assert_true(s.idle_truncate);
    if (strcmp(s.engine, "tuned") == 0) { /* the plain engine: SQLite's autocheckpoint */
        assert_true((long long)s.ckpt_hard * (4096 + 24) <= 2 << 20);
        assert_int_equal(s.ckpt_pages, s.ckpt_hard / 2);
    }

    snprintf(wal, sizeof wal, "%s/flowlogd.db-wal", f->data);
    pthread_barrier_init(&bar, NULL, CKPT_WRITERS + 1);
    for (int i = 0; i < CKPT_WRITERS; i++) {
        w[i] = (struct worker){.s = f->s, .uin = f->a.uin, .t = i, .bar = &bar, .stop = &stop};
        pthread_create(&th[i], NULL, create_loop, &w[i]);
    }
    pthread_barrier_wait(&bar);
    for (t_end = now_ms() + CKPT_MS; now_ms() < t_end;) {
        if (stat(wal, &sb) == 0 && sb.st_size > max_wal)
            max_wal = sb.st_size;
        usleep(1000);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < CKPT_WRITERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].other, 0);
        ok += w[i].ok;
    }
    pthread_barrier_destroy(&bar);
    /* idle: the writer empties the file within a second or so */
    for (t_end = now_ms() + 5000; now_ms() < t_end; usleep(20000)) {
        if (stat(wal, &sb) == 0 && sb.st_size == 0) {
            idle_ms = 5000 - (t_end - now_ms());
            break;
        }
    }
    print_message("WAL ceiling 2 MB: %d creates in %d ms, largest WAL %lld bytes; empty %lld ms "
                  "after the last write\n",
                  ok, CKPT_MS, max_wal, idle_ms);
    assert_true(ok > 0);
    /* RESTARTs refused by readers let it pass the ceiling: by a valve step or
     * two on a quiet machine, by half again at a load average of 16 on two
     * cores (readers preempted inside their transactions). Without a ceiling
     * these creates make a WAL of 20-180 MB. */
    assert_true(max_wal <= 4 * (2 << 20));
    assert_true(idle_ms >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_2_to_6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_resource_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accounts_and_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inventory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flowlog_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_async, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_enable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_order_and_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reentry_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_sees_foreign_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_read_released, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integrity_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waits_for_foreign_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_checkpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_ceiling, setup, teardown),
    };
    const char *engine = getenv("FLOWLOGD_SQLITE_ENGINE");
    return cmocka_run_group_tests_name(fixture_pg() ? "store_postgresql"
                                       : engine && strcmp(engine, "plain") == 0
                                           ? "store_sqlite (plain engine)"
                                           : "store_sqlite (tuned engine)",
                                       tests, NULL, NULL);
}
