/* sqlite.c: the SQLite store's root: the data directory and its files, the
 * schema, the engine chosen at open (sqlite_engine.h) and the ops table of
 * the domain files. Nothing in the backend includes or calls this file. */
#include "store/sqlite/sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "store/sqlite/sqlite_domain.h"
#include "store/sqlite/sqlite_vfs.h"

#define DB_FILE "flowlogd.db"

/* ==== schema ==== */

/* migrations[v] brings a database from user_version v to v + 1. Append only;
 * never edit a shipped step. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE accounts("
    "  app_id INTEGER PRIMARY KEY,"
    "  uin TEXT NOT NULL UNIQUE,"
    "  flowlog_quota INTEGER NOT NULL CHECK (flowlog_quota >= 0),"
    "  rate_limit INTEGER NOT NULL DEFAULT 0 CHECK (rate_limit >= 0));"
    "CREATE TABLE keys("
    "  secret_id TEXT PRIMARY KEY,"
    "  secret_key TEXT NOT NULL,"
    "  uin TEXT NOT NULL REFERENCES accounts(uin),"
    "  actions TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"
    "CREATE INDEX keys_uin ON keys(uin);"
    /* origin: 0 = inventory import, 1 = created through the API (later) */
    "CREATE TABLE resources("
    "  uin TEXT NOT NULL REFERENCES accounts(uin),"
    "  region TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  id TEXT NOT NULL,"
    "  vpc_id TEXT NOT NULL DEFAULT '',"
    "  subnet_id TEXT NOT NULL DEFAULT '',"
    "  instance_id TEXT NOT NULL DEFAULT '',"
    "  name TEXT NOT NULL DEFAULT '',"
    "  cidr TEXT NOT NULL DEFAULT '',"
    "  instance_type TEXT NOT NULL DEFAULT '',"
    "  edition TEXT NOT NULL DEFAULT '',"
    "  nat_version INTEGER NOT NULL DEFAULT 0,"
    "  has_dnat INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL DEFAULT 0,"
    "  origin INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (uin, region, kind, id)) WITHOUT ROWID;"
    "CREATE INDEX resources_vpc ON resources(uin, region, vpc_id);"
    /* clustered by tenant and creation time: the default DescribeFlowLogs
     * page is adjacent rows, not one seek per row */
    "CREATE TABLE flowlogs("
    "  id TEXT NOT NULL,"
    "  uin TEXT NOT NULL REFERENCES accounts(uin),"
    "  region TEXT NOT NULL,"
    "  vpc_id TEXT NOT NULL DEFAULT '',"
    "  name TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  resource_type TEXT NOT NULL,"
    "  resource_id TEXT NOT NULL,"
    "  traffic_type TEXT NOT NULL,"
    "  cloud_log_id TEXT NOT NULL DEFAULT '',"
    "  cloud_log_region TEXT NOT NULL DEFAULT '',"
    "  cloud_log_state TEXT NOT NULL DEFAULT '',"
    "  storage_type TEXT NOT NULL DEFAULT '',"
    "  storage_id TEXT NOT NULL DEFAULT '',"
    "  storage_topic TEXT NOT NULL DEFAULT '',"
    "  period INTEGER NOT NULL DEFAULT 0,"
    "  enable INTEGER NOT NULL DEFAULT 1,"
    "  created_at INTEGER NOT NULL,"
    /* the tags again, "key\0value\0..." in the order given: rows are read
     * without a second lookup; flowlog_tags (same job) serves the filters */
    "  tags BLOB NOT NULL DEFAULT x'',"
    "  PRIMARY KEY (uin, region, created_at, id)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX flowlogs_id ON flowlogs(id);"
    /* a resource has at most one flow log; the column order lets this index
     * also serve the ResourceId filter */
    "CREATE UNIQUE INDEX flowlogs_resource ON flowlogs(uin, region, resource_id, resource_type);"
    "CREATE INDEX flowlogs_name ON flowlogs(uin, region, name, id);"
    "CREATE INDEX flowlogs_vpc ON flowlogs(uin, region, vpc_id);"
    /* pos keeps the tags in the order they were given; uin and region
     * (the flow log's) scope the tag index to one tenant */
    "CREATE TABLE flowlog_tags("
    "  flowlog_id TEXT NOT NULL REFERENCES flowlogs(id) ON DELETE CASCADE,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL DEFAULT '',"
    "  pos INTEGER NOT NULL,"
    "  uin TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  PRIMARY KEY (flowlog_id, key)) WITHOUT ROWID;"
    "CREATE INDEX flowlog_tags_kv ON flowlog_tags(uin, region, key, value, flowlog_id);"
    /* flow logs per (uin, region), kept by triggers so a quota check is one
     * lookup whatever the table's size, and right for every writer */
    "CREATE TABLE region_usage("
    "  uin TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  flowlogs INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (uin, region)) WITHOUT ROWID;"
    "CREATE TRIGGER flowlogs_count_ins AFTER INSERT ON flowlogs BEGIN"
    "  INSERT INTO region_usage(uin, region, flowlogs) VALUES (NEW.uin, NEW.region, 1)"
    "  ON CONFLICT (uin, region) DO UPDATE SET flowlogs = flowlogs + 1;"
    " END;"
    "CREATE TRIGGER flowlogs_count_del AFTER DELETE ON flowlogs BEGIN"
    "  UPDATE region_usage SET flowlogs = flowlogs - 1"
    "  WHERE uin = OLD.uin AND region = OLD.region;"
    " END;"
    "CREATE TRIGGER flowlogs_key_fixed BEFORE UPDATE OF id, uin, region, created_at ON flowlogs"
    "  WHEN NEW.id IS NOT OLD.id OR NEW.uin IS NOT OLD.uin OR NEW.region IS NOT OLD.region"
    "  OR NEW.created_at IS NOT OLD.created_at"
    " BEGIN SELECT RAISE(ABORT, 'a flow log keeps its id, uin, region and created_at'); END;"
    /* Fixed planner statistics (shape of a large deployment: ~100 flow logs
     * per tenant and region) so that plans do not depend on whether ANALYZE
     * ever ran: a selective filter's index beats scanning in ORDER BY order.
     * A later ANALYZE or PRAGMA optimize replaces them with measured ones. */
    "ANALYZE sqlite_master;"
    "DELETE FROM sqlite_stat1;"
    "INSERT INTO sqlite_stat1(tbl, idx, stat) VALUES"
    "  ('flowlogs', 'flowlogs', '1000000 100 100 2 1'),"
    "  ('flowlogs', 'flowlogs_id', '1000000 1'),"
    "  ('flowlogs', 'flowlogs_resource', '1000000 100 100 1 1'),"
    "  ('flowlogs', 'flowlogs_name', '1000000 100 100 5 1'),"
    "  ('flowlogs', 'flowlogs_vpc', '1000000 100 100 20'),"
    "  ('flowlog_tags', 'flowlog_tags', '2000000 2 1'),"
    "  ('flowlog_tags', 'flowlog_tags_kv', '2000000 200 200 50 10 1');",
    /* 1 -> 2: resources created through the API: their display-only
     * attributes (JSON), ids unique across tenants, and what a delete must
     * find (a subnet's ENIs, an instance's ENIs) without a scan */
    "ALTER TABLE resources ADD COLUMN attrs TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX resources_id ON resources(id);"
    "CREATE INDEX resources_subnet ON resources(uin, region, subnet_id);"
    "CREATE INDEX resources_instance ON resources(uin, region, instance_id);",
    /* 2 -> 3: DescribeFlowLogs with VpcId in flowLogName order read every
     * row of the VPC (one seek each) and sorted them; this index gives the
     * page in order, and still counts a VPC's rows on its own. In createTime
     * order a VpcId page now walks the tenant's rows in key order (bounded
     * by the account's quota). Same number of B-trees per insert. */
    "DROP INDEX flowlogs_vpc;"
    "CREATE INDEX flowlogs_vpc_name ON flowlogs(uin, region, vpc_id, name, id);"
    "DELETE FROM sqlite_stat1 WHERE idx = 'flowlogs_vpc';"
    "INSERT INTO sqlite_stat1(tbl, idx, stat) VALUES"
    "  ('flowlogs', 'flowlogs_vpc_name', '1000000 100 100 20 1 1');",
    /* 3 -> 4: flow logs per (uin, region, vpc_id), kept by triggers like
     * region_usage: DescribeFlowLogs filtered by VpcId alone (the common
     * filter) counted ~100 index entries per request, 12 us of its 60;
     * now one lookup. A flow log's VPC no longer changes (nothing changed
     * it; the trigger makes it a rule, as for its id). */
    "CREATE TABLE vpc_usage("
    "  uin TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  vpc_id TEXT NOT NULL,"
    "  flowlogs INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (uin, region, vpc_id)) WITHOUT ROWID;"
    "INSERT INTO vpc_usage(uin, region, vpc_id, flowlogs)"
    "  SELECT uin, region, vpc_id, count(*) FROM flowlogs GROUP BY uin, region, vpc_id;"
    "CREATE TRIGGER flowlogs_vpc_count_ins AFTER INSERT ON flowlogs BEGIN"
    "  INSERT INTO vpc_usage(uin, region, vpc_id, flowlogs)"
    "  VALUES (NEW.uin, NEW.region, NEW.vpc_id, 1)"
    "  ON CONFLICT (uin, region, vpc_id) DO UPDATE SET flowlogs = flowlogs + 1;"
    " END;"
    "CREATE TRIGGER flowlogs_vpc_count_del AFTER DELETE ON flowlogs BEGIN"
    "  UPDATE vpc_usage SET flowlogs = flowlogs - 1"
    "  WHERE uin = OLD.uin AND region = OLD.region AND vpc_id = OLD.vpc_id;"
    " END;"
    "CREATE TRIGGER flowlogs_vpc_fixed BEFORE UPDATE OF vpc_id ON flowlogs"
    "  WHEN NEW.vpc_id IS NOT OLD.vpc_id"
    " BEGIN SELECT RAISE(ABORT, 'a flow log keeps its vpc_id'); END;",
    /* 4 -> 5: a tenant's count in a region is the sum of its per-VPC counts
     * (every flow log has one vpc_id row, '' for CCN), so region_usage and
     * its triggers go: one B-tree and one trigger less per create (+5.5 %
     * creates). The quota check and the unfiltered TotalCount sum the
     * tenant's VPC rows of the region instead of reading one. */
    "DROP TRIGGER flowlogs_count_ins;"
    "DROP TRIGGER flowlogs_count_del;"
    "DROP TABLE region_usage;",
    /* 5 -> 6: flowlogs_name goes: one B-tree less per create (+15 %
     * creates). DescribeFlowLogs in flowLogName order with a VpcId filter
     * (the common one) keeps its index, flowlogs_vpc_name; without one the
     * page merges the tenant's VPCs from that index (sqlite_flowlog.c,
     * plan_arms), or sorts the tenant's rows of the region (at most its
     * quota) past 32 VPCs or with tag filters. */
    "DROP INDEX flowlogs_name;"
    "DELETE FROM sqlite_stat1 WHERE idx = 'flowlogs_name';",
    /* 6 -> 7: temporary keys (`key create --temporary`, as STS issues
     * them): a token and an end; '' and 0
     * for the permanent keys there are */
    "ALTER TABLE keys ADD COLUMN token TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE keys ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;",
    /* 7 -> 8: the resource Describe* page in SQL (sqlite_resource.c,
     * sq_resource_query): their order, creation time then id, read from an
     * index instead of sorting a tenant's whole inventory (50,000 ENIs:
     * every page sorted them all), and TotalCount counted on it. */
    "CREATE INDEX resources_created ON resources(uin, region, kind, created_at, id);",
    /* 8 -> 9: resources per (uin, region, kind), kept by triggers like
     * vpc_usage: a resource Describe* without filters counted the tenant's
     * entries of resources_created for its TotalCount (50,000 ENIs: most
     * of a page's 9 ms); now one lookup. `gen` changes with every insert
     * and delete (and with an update of a key column or created_at): while
     * it is equal, the set and its order are, so a page can seek from
     * where the previous page ended (sqlite_pagekeys.h). It starts at a
     * random 48-bit value, so that a row made again (the database replaced
     * under a running store) does not repeat a generation; rows are never
     * deleted (a reset's deletes count them down to 0). */
    "CREATE TABLE resource_usage("
    "  uin TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  n INTEGER NOT NULL DEFAULT 0,"
    "  gen INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (uin, region, kind)) WITHOUT ROWID;"
    "INSERT INTO resource_usage(uin, region, kind, n, gen)"
    "  SELECT uin, region, kind, count(*), random() & 281474976710655 FROM resources"
    "  GROUP BY uin, region, kind;"
    "CREATE TRIGGER resources_count_ins AFTER INSERT ON resources BEGIN"
    "  INSERT INTO resource_usage(uin, region, kind, n, gen)"
    "  VALUES (NEW.uin, NEW.region, NEW.kind, 1, random() & 281474976710655)"
    "  ON CONFLICT (uin, region, kind) DO UPDATE SET n = n + 1, gen = gen + 1;"
    " END;"
    "CREATE TRIGGER resources_count_del AFTER DELETE ON resources BEGIN"
    "  UPDATE resource_usage SET n = n - 1, gen = gen + 1"
    "  WHERE uin = OLD.uin AND region = OLD.region AND kind = OLD.kind;"
    " END;"
    "CREATE TRIGGER resources_count_upd AFTER UPDATE OF uin, region, kind, id, created_at"
    "  ON resources BEGIN"
    "  UPDATE resource_usage SET n = n - 1, gen = gen + 1"
    "  WHERE uin = OLD.uin AND region = OLD.region AND kind = OLD.kind;"
    "  INSERT INTO resource_usage(uin, region, kind, n, gen)"
    "  VALUES (NEW.uin, NEW.region, NEW.kind, 1, random() & 281474976710655)"
    "  ON CONFLICT (uin, region, kind) DO UPDATE SET n = n + 1, gen = gen + 1;"
    " END;",
    /* 9 -> 10: an ENI's private addresses and a CCN's attached VPCs
     * (struct resource.addrs), for the data plane's attribution by address
     * and the CCN records' regions */
    "ALTER TABLE resources ADD COLUMN addrs TEXT NOT NULL DEFAULT '';",
    /* 10 -> 11: the data plane: where a resource's traffic crosses a host
     * (the inventory's Host, HostDevice, HostNetns; `inventory bind`), in
     * their own table so that an agent's question is one index range and a
     * binding goes with its resource; and the agents' own keys */
    "CREATE TABLE host_bindings("
    "  uin TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  id TEXT NOT NULL,"
    "  host TEXT NOT NULL,"
    "  device TEXT NOT NULL,"
    "  netns TEXT NOT NULL DEFAULT '',"
    "  PRIMARY KEY (uin, region, kind, id),"
    "  FOREIGN KEY (uin, region, kind, id) REFERENCES resources(uin, region, kind, id)"
    "    ON DELETE CASCADE) WITHOUT ROWID;"
    "CREATE INDEX host_bindings_host ON host_bindings(host);"
    "CREATE TABLE agent_keys("
    "  secret_id TEXT PRIMARY KEY,"
    "  secret_key TEXT NOT NULL,"
    "  host TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL) WITHOUT ROWID;",
    /* 11 -> 12: the cls service (sqlite_cls.c): logsets, topics, their logs
     * (seq = arrival order; (topic, time_ms) the search's range) and the
     * idempotent batches stored; a topic's logs and batches go with it */
    "CREATE TABLE cls_logsets("
    "  id TEXT PRIMARY KEY,"
    "  uin TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  tags BLOB NOT NULL DEFAULT x'') WITHOUT ROWID;"
    "CREATE UNIQUE INDEX cls_logsets_name ON cls_logsets(uin, region, name);"
    "CREATE INDEX cls_logsets_tenant ON cls_logsets(uin, region, created_at);"
    "CREATE TABLE cls_topics("
    "  tnum INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  uin TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  logset_id TEXT NOT NULL REFERENCES cls_logsets(id),"
    "  name TEXT NOT NULL,"
    "  period INTEGER NOT NULL,"
    "  status INTEGER NOT NULL DEFAULT 1,"
    "  storage_type TEXT NOT NULL DEFAULT 'hot',"
    "  describes TEXT NOT NULL DEFAULT '',"
    "  partition_count INTEGER NOT NULL DEFAULT 1,"
    "  created_at INTEGER NOT NULL,"
    "  tags BLOB NOT NULL DEFAULT x'');"
    "CREATE UNIQUE INDEX cls_topics_name ON cls_topics(logset_id, name);"
    "CREATE INDEX cls_topics_tenant ON cls_topics(uin, region, created_at);"
    "CREATE TABLE cls_logs("
    "  seq INTEGER PRIMARY KEY,"
    "  topic INTEGER NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  source TEXT NOT NULL DEFAULT '',"
    "  filename TEXT NOT NULL DEFAULT '',"
    "  contents BLOB NOT NULL);"
    "CREATE INDEX cls_logs_time ON cls_logs(topic, time_ms);"
    "CREATE TABLE cls_batches("
    "  topic INTEGER NOT NULL,"
    "  batch TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (topic, batch)) WITHOUT ROWID;"
    "CREATE TRIGGER cls_topics_del AFTER DELETE ON cls_topics BEGIN"
    "  DELETE FROM cls_logs WHERE topic = OLD.tnum;"
    "  DELETE FROM cls_batches WHERE topic = OLD.tnum;"
    " END;",
    /* 12 -> 13: a topic's logs clustered in (topic, time_ms, seq) order
     * (WITHOUT ROWID): an upload inserts into one B-tree instead of a table
     * and an index, and a search's range is read in order without a seek
     * into the table per log (11 % of a full-range scan's CPU). seq, the
     * arrival order, now comes from cls_meta('seq'), advanced once per
     * upload. */
    "DROP TRIGGER cls_topics_del;"
    "CREATE TABLE cls_logs_c("
    "  topic INTEGER NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  source TEXT NOT NULL DEFAULT '',"
    "  filename TEXT NOT NULL DEFAULT '',"
    "  contents BLOB NOT NULL,"
    "  PRIMARY KEY (topic, time_ms, seq)) WITHOUT ROWID;"
    "INSERT INTO cls_logs_c(topic, time_ms, seq, source, filename, contents)"
    "  SELECT topic, time_ms, seq, source, filename, contents FROM cls_logs;"
    "CREATE TABLE cls_meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO cls_meta(k, v) SELECT 'seq', coalesce(max(seq), 0) FROM cls_logs;"
    "DROP TABLE cls_logs;"
    "ALTER TABLE cls_logs_c RENAME TO cls_logs;"
    "CREATE TRIGGER cls_topics_del AFTER DELETE ON cls_topics BEGIN"
    "  DELETE FROM cls_logs WHERE topic = OLD.tnum;"
    "  DELETE FROM cls_batches WHERE topic = OLD.tnum;"
    " END;",
    /* 13 -> 14: a flow log's ResourceType is stored as its inventory kind
     * (store.h's enum res_kind, a stable number; RESOURCE_KIND_OF_TYPE in store_util.h),
     * not as the API's name of it: the store no longer holds a copy of the
     * API's vocabulary. The one-flow-log-per-resource index moves to the
     * new column. */
    "ALTER TABLE flowlogs ADD COLUMN resource_kind INTEGER NOT NULL DEFAULT 0;"
    "UPDATE flowlogs SET resource_kind = " RESOURCE_KIND_OF_TYPE ";"
    "DROP INDEX flowlogs_resource;"
    "CREATE UNIQUE INDEX flowlogs_resource ON flowlogs(uin, region, resource_id, resource_kind);"
    "ALTER TABLE flowlogs DROP COLUMN resource_type;",
    /* 14 -> 15: a flow log's record format (`flowlogd flowlog format`; ''
     * = Tencent's line) */
    "ALTER TABLE flowlogs ADD COLUMN record_format TEXT NOT NULL DEFAULT '';",
    /* 15 -> 16: 13 -> 14's DROP INDEX took the index's fixed planner
     * statistics (schema 0) with it: without them DescribeFlowLogs' plans
     * change (twice the server CPU per request on the bench's 1M set) */
    "DELETE FROM sqlite_stat1 WHERE idx = 'flowlogs_resource';"
    "INSERT INTO sqlite_stat1(tbl, idx, stat) VALUES"
    "  ('flowlogs', 'flowlogs_resource', '1000000 100 100 1 1');",
    /* 16 -> 17: a CKafka instance's Kafka bootstrap list (the inventory's
     * Brokers), where the Kafka sink delivers its flow logs' records */
    "ALTER TABLE resources ADD COLUMN brokers TEXT NOT NULL DEFAULT '';",
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

static void sq_close(struct store *st);

static const struct store_ops sqlite_ops = {
    .account_create = sq_account_create,
    .key_create = sq_key_create,
    .key_lookup = sq_key_lookup,
    .key_create_temporary = sq_key_create_temporary,
    .inventory_import = sq_inventory_import,
    .resource_get = sq_resource_get,
    .flowlog_create = sq_flowlog_create,
    .flowlog_create_async = sq_flowlog_create_async,
    .flowlog_get = sq_flowlog_get,
    .flowlog_query = sq_flowlog_query,
    .flowlog_update = sq_flowlog_update,
    .flowlog_delete = sq_flowlog_delete,
    .flowlog_set_enable = sq_flowlog_set_enable,
    .resource_create = sq_resource_create,
    .resource_delete = sq_resource_delete,
    .resource_attach = sq_resource_attach,
    .resource_query = sq_resource_query,
    .flowlog_tags_modify = sq_flowlog_tags_modify,
    .integrity_check = sq_integrity_check,
    .reset = sq_reset,
    .account_put = sq_account_put,
    .key_put = sq_key_put,
    .account_any = sq_account_any,
    .resource_bind = sq_resource_bind,
    .host_snapshot = sq_host_snapshot,
    .agent_key_create = sq_agent_key_create,
    .agent_key_lookup = sq_agent_key_lookup,
    .agent_key_list = sq_agent_key_list,
    .agent_key_delete = sq_agent_key_delete,
    .state_dump = sq_state_dump,
    .writer_stats = sq_writer_stats,
    .cls_logset_create = sq_cls_logset_create,
    .cls_logset_list = sq_cls_logset_list,
    .cls_logset_delete = sq_cls_logset_delete,
    .cls_topic_create = sq_cls_topic_create,
    .cls_topic_list = sq_cls_topic_list,
    .cls_topic_update = sq_cls_topic_update,
    .cls_topic_delete = sq_cls_topic_delete,
    .cls_logs_put = sq_cls_logs_put,
    .cls_logs_scan = sq_cls_logs_scan,
    .cls_logs_expire = sq_cls_logs_expire,
    .cls_topic_owner = sq_cls_topic_owner,
    .close = sq_close,
};

/* ==== files and schema ==== */

/* Creates the database file 0600 before SQLite opens it (SQLite gives the
 * -wal and -shm files the database file's mode), and tightens an existing
 * one. An existing file is never opened here: closing a descriptor of it
 * would drop every POSIX lock this process holds on it (another store of
 * this process may have it open; see sqlite_vfs.c). */
static int create_db_file(const char *path, struct serr *e)
{
    struct stat sb;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd >= 0) {
        close(fd); /* new and empty: nobody holds a lock on it yet */
        return STORE_OK;
    }
    if (errno != EEXIST || lstat(path, &sb) != 0)
        return sq_err(e, STORE_ERR, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return sq_err(e, STORE_ERR, "%s is not a regular file", path);
    if ((sb.st_mode & 0777) != 0600 && chmod(path, 0600) != 0)
        return sq_err(e, STORE_ERR, "%s: cannot set mode 0600: %s", path, strerror(errno));
    return STORE_OK;
}

/* Makes sure the -wal and -shm files (if present) are mode 0600. */
static int fix_side_files(const char *path, struct serr *e)
{
    static const char *const sfx[] = {"-wal", "-shm"};
    char p[4096 + 8];
    struct stat sb;
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        if (lstat(p, &sb) != 0)
            continue;
        if (!S_ISREG(sb.st_mode))
            return sq_err(e, STORE_ERR, "%s is not a regular file", p);
        if ((sb.st_mode & 0777) != 0600 && chmod(p, 0600) != 0)
            return sq_err(e, STORE_ERR, "%s: cannot set mode 0600: %s", p, strerror(errno));
    }
    return STORE_OK;
}

/* Brings the schema to SCHEMA_VERSION under a write lock, so processes
 * opening the same file at once migrate it exactly once. */
static int schema_migrate(struct conn *c, struct serr *e)
{
    sqlite3_stmt *st = NULL;
    char sql[64];
    int v = 0, rc = STORE_ERR;

    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        sq_fail(c->db, "schema", e);
        goto fail;
    }
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        sq_fail(c->db, "schema version", e);
        goto fail;
    }
    v = sqlite3_column_int(st, 0);
    /* a statement still running would keep DROP from working (SQLITE_LOCKED) */
    sqlite3_finalize(st);
    st = NULL;
    if (v > SCHEMA_VERSION || v < 0) {
        sq_err(e, STORE_ERR, "database schema version %d is newer than this flowlogd knows (%d)",
               v, SCHEMA_VERSION);
        goto fail;
    }
    for (; v < SCHEMA_VERSION; v++) {
        if (sqlite3_exec(c->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
            sq_err(e, STORE_ERR, "schema step %d: %s", v + 1, sqlite3_errmsg(c->db));
            goto fail;
        }
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
            sq_fail(c->db, "schema version", e);
            goto fail;
        }
    }
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sq_fail(c->db, "schema commit", e);
        goto fail;
    }
    rc = STORE_OK;
fail:
    sqlite3_finalize(st);
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Catches a file whose user_version matches but whose layout does not
 * (made by an earlier development build of the same version): a clear
 * error at open instead of failing statements later. */
static int schema_probe(struct conn *c, struct serr *e)
{
    static const char *const probes[] = {
        "SELECT " FL_COLS " FROM flowlogs LIMIT 0",
        "SELECT flowlog_id, key, value, pos, uin, region FROM flowlog_tags LIMIT 0",
        "SELECT uin, region, vpc_id, flowlogs FROM vpc_usage LIMIT 0",
        "SELECT token, expires FROM keys LIMIT 0",
        "SELECT uin, region, kind, n, gen FROM resource_usage LIMIT 0",
        "SELECT brokers FROM resources LIMIT 0",
    };
    sqlite3_stmt *st = NULL;
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        if (sqlite3_prepare_v2(c->db, probes[i], -1, &st, NULL) != SQLITE_OK)
            return sq_err(e, STORE_ERR,
                          "the database does not have the layout this build expects (%s); "
                          "it was made by an earlier development build: recreate it",
                          sqlite3_errmsg(c->db));
        sqlite3_finalize(st);
    }
    return STORE_OK;
}

/* The engine's prepare step, on the writer's connection before its threads
 * start: the schema, checked, and the side files' modes. */
static int prepare_db(struct conn *w, const char *path, struct serr *e)
{
    if (schema_migrate(w, e) != STORE_OK || schema_probe(w, e) != STORE_OK)
        return STORE_ERR;
    return fix_side_files(path, e);
}

/* ==== open and close ==== */

static void sq_close(struct store *st)
{
    struct store_sqlite *s = (struct store_sqlite *)st;
    if (s->eng)
        s->eng->ops->close(s->eng);
    pk_fini(&s->pages);
    free(s);
}

/* Process-wide SQLite settings, before the library initialises itself:
 * no memory statistics (they take a global mutex on every allocation of
 * every connection). If SQLite is already initialised this is refused,
 * harmlessly. */
static void sqlite_configure(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_sqlite_engine_known(const char *engine)
{
    return engine && (strcmp(engine, "tuned") == 0 || strcmp(engine, "plain") == 0);
}

struct store *store_open_sqlite_engine(const char *dir, const char *engine, struct serr *e)
{
    static pthread_once_t configured = PTHREAD_ONCE_INIT;
    struct store_sqlite *s = NULL;
    char path[4096];
    struct stat sb;
    int n;

    pthread_once(&configured, sqlite_configure);
    if (!dir || !*dir) {
        sq_err(e, STORE_ERR, "no data directory given");
        return NULL;
    }
    if (!engine || !*engine)
        engine = "tuned";
    if (!store_sqlite_engine_known(engine)) {
        sq_err(e, STORE_ERR, "unknown SQLite engine '%s' (tuned or plain)", engine);
        return NULL;
    }
    if (sqlite3_threadsafe() == 0) {
        sq_err(e, STORE_ERR, "libsqlite3 was built without thread support");
        return NULL;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        sq_err(e, STORE_ERR, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        sq_err(e, STORE_ERR, "%s is not a directory", dir);
        return NULL;
    }
    n = snprintf(path, sizeof path, "%s/%s", dir, DB_FILE);
    if (n < 0 || (size_t)n >= sizeof path) {
        sq_err(e, STORE_ERR, "data directory path too long");
        return NULL;
    }
    if (create_db_file(path, e) != STORE_OK)
        return NULL;
    if (!(s = calloc(1, sizeof *s))) {
        sq_err(e, STORE_ERR, "out of memory");
        return NULL;
    }
    s->base.ops = &sqlite_ops;
    s->base.name = "sqlite";
    pk_init(&s->pages);
    /* the tuned engine's VFS is verified with a range of SQLite releases
     * (sqlite_vfs.c): outside it, or with FLOWLOGD_SQLITE_VFS=off, the
     * plain engine serves instead, and the log says why */
    if (strcmp(engine, "tuned") == 0 && !sq_vfs_name()) {
        log_warn("store: %s: using the plain engine (SQLite's own VFS, reads and checkpoints)",
                 sq_vfs_off_reason());
        engine = "plain";
    }
    s->eng = strcmp(engine, "plain") == 0 ? sq_engine_open_plain(path, prepare_db, e)
                                          : sq_engine_open_tuned(path, prepare_db, e);
    if (!s->eng) {
        pk_fini(&s->pages);
        free(s);
        return NULL;
    }
    return &s->base;
}

struct store *store_open_sqlite(const char *dir, struct serr *e)
{
    return store_open_sqlite_engine(dir, getenv("FLOWLOGD_SQLITE_ENGINE"), e);
}

const char *store_sqlite_engine(struct store *st)
{
    struct sq_engine_stats k;
    struct sq_engine *g = sq_engine_of(st);
    g->ops->stats(g, &k);
    return k.engine;
}

void store_sqlite_stats(struct store *st, uint64_t *commits, uint64_t *jobs)
{
    struct sq_engine_stats k;
    struct sq_engine *g = sq_engine_of(st);
    g->ops->stats(g, &k);
    if (commits)
        *commits = k.commits;
    if (jobs)
        *jobs = k.jobs;
}

void sq_writer_stats(struct store *st, struct store_writer_stats *out)
{
    struct sq_engine_stats k;
    struct sq_engine *g = sq_engine_of(st);
    g->ops->stats(g, &k);
    out->commit = k.commit_hist;
    out->fsync = k.fsync_hist;
    out->queue = k.queued;
}

void store_sqlite_info(struct store *st, struct store_sqlite_info *out)
{
    struct sq_engine_stats k;
    struct sq_engine *g = sq_engine_of(st);
    g->ops->stats(g, &k);
    memset(out, 0, sizeof *out);
    out->engine = k.engine;
    out->commits = k.commits;
    out->jobs = k.jobs;
    out->wal_buffered = k.wal_buffered;
    out->ckpt_pages = k.ckpt_pages;
    out->ckpt_hard = k.ckpt_hard;
    out->valve_step = k.valve_step;
    out->wal_ceiling = k.wal_ceiling;
    out->idle_truncate = k.idle_truncate;
    out->ckpt_runs = k.ckpt.runs;
    out->ckpt_restarts = k.ckpt.restarts;
    out->ckpt_valves = k.ckpt.valves;
    out->ckpt_failed = k.ckpt.failed;
    out->ckpt_wraps = k.ckpt.wraps;
    out->ckpt_max_frames = k.ckpt.max_frames;
    pthread_mutex_lock(&((struct store_sqlite *)st)->pages.mu);
    out->page_seeks = ((struct store_sqlite *)st)->pages.hits;
    out->page_skips = ((struct store_sqlite *)st)->pages.misses;
    pthread_mutex_unlock(&((struct store_sqlite *)st)->pages.mu);
}
