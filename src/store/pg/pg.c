/* pg.c: the PostgreSQL store: the connection pool, schema and migrations,
 * write transactions (retry, in-doubt commits), accounts, keys and the
 * integrity check. See pg_int.h for the layout and docs/DEPLOYMENT.md for
 * what each guarantee rests on. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"
#include "store/store_util.h"
#include "store/pg/pg.h"
#include "store/pg/pg_int.h"

#define POOL_DEFAULT 16      /* FLOWLOGD_PG_POOL: connections for reads and other writes */
#define WRITERS_DEFAULT 2    /* FLOWLOGD_PG_WRITERS: create writers (own connections) */
#define SETTLE_MS_DEFAULT 30000 /* FLOWLOGD_PG_SETTLE_MS: an in-doubt commit waits this long */
#define TX_TRIES 6           /* deadlocks, serialization failures, lost connections */
#define ID_TRIES 16

/* ==== schema ==== */

/* migrations[v] brings a schema from version v to v + 1. Append only. Every
 * text column compares bytewise (COLLATE "C"), as in the SQLite store. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE accounts("
    "  app_id bigint PRIMARY KEY,"
    "  uin text COLLATE \"C\" NOT NULL UNIQUE,"
    "  flowlog_quota bigint NOT NULL CHECK (flowlog_quota >= 0),"
    "  rate_limit bigint NOT NULL DEFAULT 0 CHECK (rate_limit >= 0));"
    "CREATE TABLE keys("
    "  secret_id text COLLATE \"C\" PRIMARY KEY,"
    "  secret_key text NOT NULL,"
    "  uin text COLLATE \"C\" NOT NULL REFERENCES accounts(uin),"
    "  actions text NOT NULL DEFAULT '');"
    "CREATE INDEX keys_uin ON keys(uin);"
    "CREATE TABLE resources("
    "  uin text COLLATE \"C\" NOT NULL REFERENCES accounts(uin),"
    "  region text COLLATE \"C\" NOT NULL,"
    "  kind int NOT NULL,"
    "  id text COLLATE \"C\" NOT NULL,"
    "  vpc_id text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  subnet_id text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  instance_id text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  name text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  cidr text NOT NULL DEFAULT '',"
    "  instance_type text NOT NULL DEFAULT '',"
    "  edition text NOT NULL DEFAULT '',"
    "  nat_version int NOT NULL DEFAULT 0,"
    "  has_dnat int NOT NULL DEFAULT 0,"
    "  created_at bigint NOT NULL DEFAULT 0,"
    "  origin int NOT NULL DEFAULT 0,"
    "  attrs text NOT NULL DEFAULT '',"
    "  PRIMARY KEY (uin, region, kind, id));"
    "CREATE INDEX resources_id ON resources(id);"
    "CREATE INDEX resources_vpc ON resources(uin, region, vpc_id);"
    "CREATE INDEX resources_subnet ON resources(uin, region, subnet_id);"
    "CREATE INDEX resources_instance ON resources(uin, region, instance_id);"
    "CREATE TABLE flowlogs("
    "  id text COLLATE \"C\" PRIMARY KEY,"
    "  uin text COLLATE \"C\" NOT NULL REFERENCES accounts(uin),"
    "  region text COLLATE \"C\" NOT NULL,"
    "  vpc_id text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  name text COLLATE \"C\" NOT NULL,"
    "  description text NOT NULL DEFAULT '',"
    "  resource_type text COLLATE \"C\" NOT NULL,"
    "  resource_id text COLLATE \"C\" NOT NULL,"
    "  traffic_type text COLLATE \"C\" NOT NULL,"
    "  cloud_log_id text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  cloud_log_region text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  cloud_log_state text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  storage_type text NOT NULL DEFAULT '',"
    "  storage_id text NOT NULL DEFAULT '',"
    "  storage_topic text NOT NULL DEFAULT '',"
    "  period bigint NOT NULL DEFAULT 0,"
    "  enable int NOT NULL DEFAULT 1,"
    "  created_at bigint NOT NULL,"
    /* the tags again, [[key, value], ...] in the order given: a row is read
     * without a second lookup; flowlog_tags (same transaction) serves the
     * filters */
    "  tags text NOT NULL DEFAULT '[]');"
    /* one flow log per resource, enforced here, whichever node writes */
    "CREATE UNIQUE INDEX flowlogs_resource ON flowlogs(uin, region, resource_id, resource_type);"
    "CREATE INDEX flowlogs_created ON flowlogs(uin, region, created_at, id);"
    "CREATE INDEX flowlogs_vpc_name ON flowlogs(uin, region, vpc_id, name, id);"
    "CREATE TABLE flowlog_tags("
    "  flowlog_id text COLLATE \"C\" NOT NULL REFERENCES flowlogs(id) ON DELETE CASCADE,"
    "  key text COLLATE \"C\" NOT NULL,"
    "  value text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  pos int NOT NULL,"
    "  uin text COLLATE \"C\" NOT NULL,"
    "  region text COLLATE \"C\" NOT NULL,"
    "  PRIMARY KEY (flowlog_id, key));"
    "CREATE INDEX flowlog_tags_kv ON flowlog_tags(uin, region, key, value, flowlog_id);"
    /* flow logs per (uin, region): the quota's counter, and the row every
     * write that adds or removes a tenant's flow logs locks first */
    "CREATE TABLE region_usage("
    "  uin text COLLATE \"C\" NOT NULL,"
    "  region text COLLATE \"C\" NOT NULL,"
    "  n bigint NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (uin, region));"
    /* per VPC: DescribeFlowLogs' TotalCount with a VpcId filter */
    "CREATE TABLE vpc_usage("
    "  uin text COLLATE \"C\" NOT NULL,"
    "  region text COLLATE \"C\" NOT NULL,"
    "  vpc_id text COLLATE \"C\" NOT NULL,"
    "  n bigint NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (uin, region, vpc_id));"
    "CREATE FUNCTION flowlogs_count() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF TG_OP = 'INSERT' THEN"
    "   INSERT INTO region_usage AS r(uin, region, n) VALUES (NEW.uin, NEW.region, 1)"
    "    ON CONFLICT (uin, region) DO UPDATE SET n = r.n + 1;"
    "   INSERT INTO vpc_usage AS v(uin, region, vpc_id, n) VALUES (NEW.uin, NEW.region, NEW.vpc_id, 1)"
    "    ON CONFLICT (uin, region, vpc_id) DO UPDATE SET n = v.n + 1;"
    "   RETURN NEW;"
    "  END IF;"
    "  UPDATE region_usage SET n = n - 1 WHERE uin = OLD.uin AND region = OLD.region;"
    "  UPDATE vpc_usage SET n = n - 1"
    "   WHERE uin = OLD.uin AND region = OLD.region AND vpc_id = OLD.vpc_id;"
    "  RETURN OLD;"
    " END $$;"
    "CREATE TRIGGER flowlogs_count AFTER INSERT OR DELETE ON flowlogs"
    " FOR EACH ROW EXECUTE FUNCTION flowlogs_count();"
    "CREATE FUNCTION flowlogs_fixed() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF NEW.id <> OLD.id OR NEW.uin <> OLD.uin OR NEW.region <> OLD.region"
    "     OR NEW.created_at <> OLD.created_at OR NEW.vpc_id <> OLD.vpc_id THEN"
    "   RAISE EXCEPTION 'a flow log keeps its id, uin, region, vpc_id and created_at';"
    "  END IF;"
    "  RETURN NEW;"
    " END $$;"
    "CREATE TRIGGER flowlogs_fixed BEFORE UPDATE OF id, uin, region, created_at, vpc_id"
    " ON flowlogs FOR EACH ROW EXECUTE FUNCTION flowlogs_fixed();",
    /* 1 -> 2: temporary keys (a token and an end; '' and 0 for permanent
     * ones), and the resource Describe* page read in its order */
    "ALTER TABLE keys ADD COLUMN token text NOT NULL DEFAULT '';"
    "ALTER TABLE keys ADD COLUMN expires bigint NOT NULL DEFAULT 0;"
    "CREATE INDEX resources_created ON resources(uin, region, kind, created_at, id);",
    /* 2 -> 3: an ENI's private addresses and a CCN's attached VPCs
     * (struct resource.addrs) */
    "ALTER TABLE resources ADD COLUMN addrs text NOT NULL DEFAULT '';",
    /* 3 -> 4: the data plane: host bindings (deleted with their resource)
     * and the agents' keys (store/sqlite's migration 10 -> 11) */
    "CREATE TABLE host_bindings("
    "  uin text COLLATE \"C\" NOT NULL,"
    "  region text COLLATE \"C\" NOT NULL,"
    "  kind int NOT NULL,"
    "  id text COLLATE \"C\" NOT NULL,"
    "  host text COLLATE \"C\" NOT NULL,"
    "  device text NOT NULL,"
    "  netns text NOT NULL DEFAULT '',"
    "  PRIMARY KEY (uin, region, kind, id),"
    "  FOREIGN KEY (uin, region, kind, id) REFERENCES resources(uin, region, kind, id)"
    "    ON DELETE CASCADE);"
    "CREATE INDEX host_bindings_host ON host_bindings(host);"
    "CREATE TABLE agent_keys("
    "  secret_id text COLLATE \"C\" PRIMARY KEY,"
    "  secret_key text NOT NULL,"
    "  host text NOT NULL DEFAULT '',"
    "  created_at bigint NOT NULL);",
    /* 4 -> 5: the cls service (pg_cls.c; store/sqlite's migrations 11 -> 13):
     * logsets, topics, their logs clustered by (topic, time_ms, seq), the
     * idempotent batches, the sequence counter uploads lock in commit order */
    "CREATE TABLE cls_logsets("
    "  id text COLLATE \"C\" PRIMARY KEY,"
    "  uin text COLLATE \"C\" NOT NULL,"
    "  region text COLLATE \"C\" NOT NULL,"
    "  name text NOT NULL,"
    "  created_at bigint NOT NULL,"
    "  tags bytea NOT NULL DEFAULT '',"
    "  UNIQUE (uin, region, name));"
    "CREATE INDEX cls_logsets_tenant ON cls_logsets(uin, region, created_at);"
    "CREATE TABLE cls_topics("
    "  tnum bigserial PRIMARY KEY,"
    "  id text COLLATE \"C\" NOT NULL UNIQUE,"
    "  uin text COLLATE \"C\" NOT NULL,"
    "  region text COLLATE \"C\" NOT NULL,"
    "  logset_id text COLLATE \"C\" NOT NULL REFERENCES cls_logsets(id),"
    "  name text NOT NULL,"
    "  period bigint NOT NULL,"
    "  status int NOT NULL DEFAULT 1,"
    "  storage_type text NOT NULL DEFAULT 'hot',"
    "  describes text NOT NULL DEFAULT '',"
    "  partition_count bigint NOT NULL DEFAULT 1,"
    "  created_at bigint NOT NULL,"
    "  tags bytea NOT NULL DEFAULT '',"
    "  UNIQUE (logset_id, name));"
    "CREATE INDEX cls_topics_tenant ON cls_topics(uin, region, created_at);"
    "CREATE TABLE cls_logs("
    "  topic bigint NOT NULL REFERENCES cls_topics(tnum) ON DELETE CASCADE,"
    "  time_ms bigint NOT NULL,"
    "  seq bigint NOT NULL,"
    "  source text NOT NULL DEFAULT '',"
    "  filename text NOT NULL DEFAULT '',"
    "  contents bytea NOT NULL,"
    "  PRIMARY KEY (topic, time_ms, seq));"
    "CREATE TABLE cls_batches("
    "  topic bigint NOT NULL REFERENCES cls_topics(tnum) ON DELETE CASCADE,"
    "  batch text NOT NULL,"
    "  created_at bigint NOT NULL,"
    "  PRIMARY KEY (topic, batch));"
    "CREATE TABLE cls_meta(k text PRIMARY KEY, v bigint NOT NULL);"
    "INSERT INTO cls_meta(k, v) VALUES ('seq', 0);",
    /* 5 -> 6: a flow log's ResourceType is stored as its inventory kind
     * (store.h's enum res_kind; RESOURCE_KIND_OF_TYPE in store_util.h), not
     * as the API's name of it; the one-flow-log-per-resource index moves to
     * the new column */
    "ALTER TABLE flowlogs ADD COLUMN resource_kind int NOT NULL DEFAULT 0;"
    "UPDATE flowlogs SET resource_kind = " RESOURCE_KIND_OF_TYPE ";"
    "DROP INDEX flowlogs_resource;"
    "CREATE UNIQUE INDEX flowlogs_resource ON flowlogs(uin, region, resource_id, resource_kind);"
    "ALTER TABLE flowlogs DROP COLUMN resource_type;",
    /* 6 -> 7: a flow log's record format (`flowlogd flowlog format`) */
    "ALTER TABLE flowlogs ADD COLUMN record_format text NOT NULL DEFAULT '';",
    /* 7 -> 8: a CKafka instance's Kafka bootstrap list (the inventory's
     * Brokers) */
    "ALTER TABLE resources ADD COLUMN brokers text NOT NULL DEFAULT '';",
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ==== small helpers ==== */

__thread char pg_last_state[6];

/* The first line of libpq's message (no trailing newline). */
static void errline(const char *m, char *out, size_t cap)
{
    size_t n = m ? strcspn(m, "\n") : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(out, m, n);
    out[n] = '\0';
}

PGresult *pg_exec(PGconn *c, const char *what, const char *sql, int n, const char *const *vals,
                  struct serr *e, char state[6])
{
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    const char *ss;
    char line[200];

    if (state)
        state[0] = '\0';
    pg_last_state[0] = '\0';
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    ss = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state && ss)
        snprintf(state, 6, "%s", ss);
    if (ss)
        snprintf(pg_last_state, sizeof pg_last_state, "%s", ss);
    errline(r ? PQresultErrorMessage(r) : PQerrorMessage(c), line, sizeof line);
    if (!line[0])
        errline(PQerrorMessage(c), line, sizeof line);
    pg_err(e, STORE_ERR, "%s: %s", what, line[0] ? line : "the database connection failed");
    PQclear(r);
    return NULL;
}

int pg_cmd(PGconn *c, const char *what, const char *sql, int n, const char *const *vals,
           struct serr *e)
{
    PGresult *r = pg_exec(c, what, sql, n, vals, e, NULL);
    PQclear(r);
    return r ? STORE_OK : STORE_ERR;
}

void pg_col(const PGresult *r, int row, int col, char *dst, size_t cap)
{
    const char *p = PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
    size_t n = (size_t)PQgetlength(r, row, col);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, p, n);
    dst[n] = '\0';
}

int64_t pg_col_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

void pg_i64(char *buf, size_t cap, int64_t v)
{
    snprintf(buf, cap, "%lld", (long long)v);
}

int pg_row_to_flowlog(const PGresult *r, int row, int first, struct flowlog *fl, void **tags_json,
                      struct tag **tagv, struct serr *e)
{
    int i = first;
    json_t *j;
    size_t n;

    memset(fl, 0, sizeof *fl);
#define READ_STR(m) pg_col(r, row, i++, fl->m, sizeof fl->m);
#define READ_TIME(m) fl->m = pg_col_i64(r, row, i++);
#define READ_BOOL(m) fl->m = (int)pg_col_i64(r, row, i++);
#define READ_PERIOD(m) fl->m = (uint32_t)pg_col_i64(r, row, i++);
#define READ_KIND(m) fl->m = (enum res_kind)pg_col_i64(r, row, i++);
#define READ_TAGS(m) /* the last column */
#define X(kind, member, size, wire, group) READ_##kind(member)
    FLOWLOG_FIELDS(X)
#undef X
#undef READ_STR
#undef READ_TIME
#undef READ_BOOL
#undef READ_PERIOD
#undef READ_KIND
#undef READ_TAGS
    *tags_json = NULL;
    *tagv = NULL;
    j = json_loads(PQgetvalue(r, row, i), 0, NULL);
    if (!j || !json_is_array(j) || (n = json_array_size(j)) == 0) {
        json_decref(j);
        return STORE_OK;
    }
    if (!(*tagv = calloc(n, sizeof **tagv))) {
        json_decref(j);
        return pg_err(e, STORE_ERR, "out of memory");
    }
    for (size_t k = 0; k < n; k++) {
        json_t *p = json_array_get(j, k);
        const char *kk = json_string_value(json_array_get(p, 0));
        const char *vv = json_string_value(json_array_get(p, 1));
        (*tagv)[fl->ntags].key = kk ? kk : "";
        (*tagv)[fl->ntags].value = vv ? vv : "";
        fl->ntags++;
    }
    fl->tags = *tagv;
    *tags_json = j;
    return STORE_OK;
}

/* ==== connections ==== */

static long env_long(const char *name, long def, long max)
{
    const char *v = getenv(name);
    uint64_t n;
    if (!v || parse_u64(v, strlen(v), &n) != 0 || n == 0 || n > (uint64_t)max)
        return def;
    return (long)n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Quiet notices ("schema already exists, skipping"). */
static void no_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

PGconn *pg_connect(struct store_pg *s, struct serr *e)
{
    char sql[256], line[200];
    PGconn *c = PQconnectdb(s->conninfo);
    if (!c) {
        pg_err(e, STORE_ERR, "out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        errline(PQerrorMessage(c), line, sizeof line);
        pg_err(e, STORE_ERR, "cannot connect to PostgreSQL: %s", line);
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, no_notice, NULL);
    /* durability does not depend on the server's default; the search_path
     * is the deployment's schema (created by the migration) */
    snprintf(sql, sizeof sql,
             "SET synchronous_commit = on; SET application_name = 'flowlogd';%s%s%s",
             s->schema[0] ? " SET search_path = \"" : "", s->schema,
             s->schema[0] ? "\"" : "");
    {
        PGresult *r = PQexec(c, sql);
        int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok) {
            errline(PQerrorMessage(c), line, sizeof line);
            pg_err(e, STORE_ERR, "PostgreSQL session setup: %s", line);
        }
        PQclear(r);
        if (!ok) {
            PQfinish(c);
            return NULL;
        }
    }
    return c;
}

struct pgconn *pg_get(struct store_pg *s, struct serr *e)
{
    struct pgconn *pc = NULL;
    int make = 0;

    pthread_mutex_lock(&s->pool_mu);
    while (!s->free_list && s->pool_made >= s->pool_size && !s->closing)
        pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    if (s->closing) {
        pthread_mutex_unlock(&s->pool_mu);
        pg_err(e, STORE_ERR, "the store is closing");
        return NULL;
    }
    if (s->free_list) {
        pc = s->free_list;
        s->free_list = pc->next;
    } else {
        s->pool_made++;
        make = 1;
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (make && !(pc = calloc(1, sizeof *pc))) {
        pg_err(e, STORE_ERR, "out of memory");
        goto undo;
    }
    if (!pc->c || PQstatus(pc->c) != CONNECTION_OK) {
        /* a new slot, or one whose connection failed: (re)connect */
        if (pc->c)
            PQfinish(pc->c);
        memset(pc->prep, 0, sizeof pc->prep);
        if (!(pc->c = pg_connect(s, e)))
            goto back;
    }
    return pc;
back:
    pg_put(s, pc); /* keeps the slot, without a connection */
    return NULL;
undo:
    pthread_mutex_lock(&s->pool_mu);
    s->pool_made--;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
    return NULL;
}

void pg_put(struct store_pg *s, struct pgconn *pc)
{
    if (!pc)
        return;
    /* a connection left inside a transaction (an error path) is not reused as is */
    if (pc->c && PQtransactionStatus(pc->c) != PQTRANS_IDLE) {
        PGresult *r = PQexec(pc->c, "ROLLBACK");
        PQclear(r);
        if (PQtransactionStatus(pc->c) != PQTRANS_IDLE) {
            PQfinish(pc->c);
            pc->c = NULL;
        }
    }
    pthread_mutex_lock(&s->pool_mu);
    pc->next = s->free_list;
    s->free_list = pc;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

/* The connection failed (not a statement error)? */
static int conn_lost(PGconn *c)
{
    return !c || PQstatus(c) != CONNECTION_OK;
}

/* SQLSTATEs worth running the transaction again for. */
static int retryable(const char *state)
{
    return strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0;
}

static PGresult *exec_tx(PGconn *c, const char *what, const char *sql, struct serr *e)
{
    return pg_exec(c, what, sql, 0, NULL, e, NULL);
}

/* Waits (up to settle_ms) for a connection and asks settle. */
static int settle_commit(struct store_pg *s, pg_txfn settle, void *arg, struct serr *e)
{
    uint64_t until = now_ms() + (uint64_t)s->settle_ms;
    struct serr e2 = {{0}};
    int x = -1;

    if (!settle)
        return -1;
    do {
        struct pgconn *pc = pg_get(s, &e2);
        if (pc) {
            x = settle(pc->c, arg, &e2);
            pg_put(s, pc);
            if (x >= 0)
                break;
        }
        sleep_ms(100);
    } while (now_ms() < until);
    if (x < 0)
        pg_err(e, STORE_ERR, "the database connection was lost during COMMIT and the outcome "
                             "could not be settled: %s", e2.msg);
    else
        __atomic_add_fetch(&s->settled, 1, __ATOMIC_RELAXED);
    return x;
}

int pg_tx(struct store_pg *s, pg_txfn fn, pg_txfn settle, void *arg, struct serr *e)
{
    int rc = STORE_ERR;
    for (int attempt = 0; attempt < TX_TRIES; attempt++) {
        struct pgconn *pc;
        PGresult *r;
        if (attempt)
            sleep_ms(20L * attempt * attempt);
        if (!(pc = pg_get(s, e))) {
            rc = STORE_ERR;
            continue; /* the database may be back in a moment */
        }
        pg_last_state[0] = '\0';
        if (!(r = exec_tx(pc->c, "BEGIN", "BEGIN", e))) {
            pg_put(s, pc);
            rc = STORE_ERR;
            continue;
        }
        PQclear(r);
        rc = fn(pc->c, arg, e);
        if (rc != STORE_OK) {
            int again = rc == STORE_ERR && (conn_lost(pc->c) || retryable(pg_last_state));
            pg_put(s, pc); /* rolls back */
            if (again)
                continue;
            return rc;
        }
        pg_last_state[0] = '\0';
        r = exec_tx(pc->c, "COMMIT", "COMMIT", e);
        if (r) {
            PQclear(r);
            pg_put(s, pc);
            return STORE_OK;
        }
        if (!conn_lost(pc->c)) { /* the server refused the commit: nothing written */
            pg_put(s, pc);
            if (retryable(pg_last_state))
                continue;
            return STORE_ERR;
        }
        /* the connection dropped during COMMIT: did it happen? */
        pg_put(s, pc);
        switch (settle_commit(s, settle, arg, e)) {
        case 1:
            return STORE_OK;
        case 0:
            continue; /* it did not: run it again */
        default:
            if (!settle)
                pg_err(e, STORE_ERR, "the database connection was lost during COMMIT: the "
                                     "outcome is unknown");
            return STORE_ERR;
        }
    }
    return rc;
}

/* ==== schema ==== */

static int schema_migrate(struct store_pg *s, PGconn *c, struct serr *e)
{
    char v_txt[16], sql[200];
    const char *p[2];
    PGresult *r;
    int v;

    if (pg_cmd(c, "schema", "BEGIN", 0, NULL, e) != STORE_OK)
        return STORE_ERR;
    /* one node migrates, the others wait here and then find it done */
    p[0] = s->schema;
    if (pg_cmd(c, "schema lock",
               "SELECT pg_advisory_xact_lock(hashtext('flowlogd schema ' || $1))", 1, p,
               e) != STORE_OK)
        goto fail;
    if (s->schema[0]) {
        snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS \"%s\"", s->schema);
        if (pg_cmd(c, "schema", sql, 0, NULL, e) != STORE_OK)
            goto fail;
    }
    if (pg_cmd(c, "schema", "CREATE TABLE IF NOT EXISTS flowlogd_schema(version int NOT NULL)", 0,
               NULL, e) != STORE_OK ||
        pg_cmd(c, "schema",
               "INSERT INTO flowlogd_schema SELECT 0 WHERE NOT EXISTS "
               "(SELECT 1 FROM flowlogd_schema)",
               0, NULL, e) != STORE_OK)
        goto fail;
    if (!(r = pg_exec(c, "schema version", "SELECT version FROM flowlogd_schema", 0, NULL, e,
                      NULL)))
        goto fail;
    v = PQntuples(r) == 1 ? (int)pg_col_i64(r, 0, 0) : -1;
    PQclear(r);
    if (v < 0 || v > SCHEMA_VERSION) {
        pg_err(e, STORE_ERR, "database schema version %d is newer than this flowlogd knows (%d)",
               v, SCHEMA_VERSION);
        goto fail;
    }
    for (; v < SCHEMA_VERSION; v++) {
        PGresult *m = PQexec(c, migrations[v]);
        int ok = m && PQresultStatus(m) == PGRES_COMMAND_OK;
        char line[200];
        if (!ok)
            errline(PQerrorMessage(c), line, sizeof line);
        PQclear(m);
        if (!ok) {
            pg_err(e, STORE_ERR, "schema step %d: %s", v + 1, line);
            goto fail;
        }
        snprintf(v_txt, sizeof v_txt, "%d", v + 1);
        p[0] = v_txt;
        if (pg_cmd(c, "schema version", "UPDATE flowlogd_schema SET version = $1::int", 1, p,
                   e) != STORE_OK)
            goto fail;
    }
    if (pg_cmd(c, "schema commit", "COMMIT", 0, NULL, e) != STORE_OK)
        goto fail;
    return STORE_OK;
fail:
    PQclear(PQexec(c, "ROLLBACK"));
    return STORE_ERR;
}

/* ==== accounts and keys ==== */

struct account_job {
    uint32_t quota;
    struct account *out;
    char app_id[24], uin[24], quota_txt[16];
};

static int job_account_create(PGconn *c, void *arg, struct serr *e)
{
    struct account_job *a = arg;
    const char *p[3] = {a->app_id, a->uin, a->quota_txt};
    uint64_t rnd[2];
    PGresult *r;

    for (int tries = 0; tries < ID_TRIES; tries++) {
        if (rand_bytes(rnd, sizeof rnd) != 0)
            return pg_err(e, STORE_ERR, "random source failed");
        snprintf(a->app_id, sizeof a->app_id, "%llu",
                 (unsigned long long)(1000000000u + rnd[0] % 1000000000u));
        snprintf(a->uin, sizeof a->uin, "%llu",
                 (unsigned long long)(100000000000u + rnd[1] % 900000000000u));
        r = pg_exec(c, "account",
                    "INSERT INTO accounts(app_id, uin, flowlog_quota, rate_limit) "
                    "VALUES($1::bigint, $2, $3::bigint, 0) ON CONFLICT DO NOTHING",
                    3, p, e, NULL);
        if (!r)
            return STORE_ERR;
        if (atoi(PQcmdTuples(r)) == 1) {
            PQclear(r);
            a->out->app_id = strtoull(a->app_id, NULL, 10);
            snprintf(a->out->uin, sizeof a->out->uin, "%s", a->uin);
            a->out->flowlog_quota = a->quota;
            a->out->rate_limit = 0;
            return STORE_OK;
        }
        PQclear(r);
    }
    return pg_err(e, STORE_ERR, "no free AppId/Uin after %d draws", ID_TRIES);
}

static int settle_account(PGconn *c, void *arg, struct serr *e)
{
    struct account_job *a = arg;
    const char *p[2] = {a->app_id, a->uin};
    PGresult *r = pg_exec(c, "settle", "SELECT 1 FROM accounts WHERE app_id = $1::bigint AND uin = $2",
                          2, p, e, NULL);
    int x = r ? PQntuples(r) == 1 : -1;
    PQclear(r);
    if (x == 1) {
        a->out->app_id = strtoull(a->app_id, NULL, 10);
        snprintf(a->out->uin, sizeof a->out->uin, "%s", a->uin);
        a->out->flowlog_quota = a->quota;
        a->out->rate_limit = 0;
    }
    return x;
}

static int pg_account_create(struct store *st, uint32_t quota, struct account *out,
                             struct serr *e)
{
    struct account tmp;
    struct account_job a = {.quota = quota ? quota : STORE_DEFAULT_FLOWLOG_QUOTA, .out = out ? out : &tmp};
    snprintf(a.quota_txt, sizeof a.quota_txt, "%u", a.quota);
    return pg_tx((struct store_pg *)st, job_account_create, settle_account, &a, e);
}

struct key_job {
    const char *uin;
    const char *actions;
    int64_t expires; /* 0: a permanent key; else a temporary one, with a token */
    char expires_txt[24];
    struct key_info *out;
};

static void account_from_row(const PGresult *r, int col, struct account *a)
{
    a->app_id = (uint64_t)pg_col_i64(r, 0, col);
    pg_col(r, 0, col + 1, a->uin, sizeof a->uin);
    a->flowlog_quota = (uint32_t)pg_col_i64(r, 0, col + 2);
    a->rate_limit = (uint32_t)pg_col_i64(r, 0, col + 3);
}

static int job_key_create(PGconn *c, void *arg, struct serr *e)
{
    struct key_job *k = arg;
    struct key_info *out = k->out;
    const char *p[6] = {k->uin};
    PGresult *r = pg_exec(c, "account",
                          "SELECT app_id, uin, flowlog_quota, rate_limit FROM accounts "
                          "WHERE uin = $1 FOR KEY SHARE",
                          1, p, e, NULL);
    if (!r)
        return STORE_ERR;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return pg_err(e, STORE_NOTFOUND, "%s", k->uin);
    }
    account_from_row(r, 0, &out->account);
    PQclear(r);
    for (int tries = 0; tries < ID_TRIES; tries++) {
        memcpy(out->secret_id, "AKID", 4);
        if (gen_token(out->secret_id + 4, 32) != 0 || gen_token(out->secret_key, 32) != 0)
            return pg_err(e, STORE_ERR, "random source failed");
        out->token[0] = '\0';
        out->expires = k->expires;
        if (k->expires && gen_token(out->token, 64) != 0)
            return pg_err(e, STORE_ERR, "random source failed");
        p[0] = out->secret_id;
        p[1] = out->secret_key;
        p[2] = out->account.uin;
        p[3] = k->actions;
        p[4] = out->token;
        p[5] = k->expires_txt;
        r = pg_exec(c, "key",
                    "INSERT INTO keys(secret_id, secret_key, uin, actions, token, expires) "
                    "VALUES($1, $2, $3, $4, $5, $6::bigint) ON CONFLICT DO NOTHING",
                    6, p, e, NULL);
        if (!r)
            return STORE_ERR;
        if (atoi(PQcmdTuples(r)) == 1) {
            PQclear(r);
            snprintf(out->actions, sizeof out->actions, "%s", k->actions);
            return STORE_OK;
        }
        PQclear(r);
    }
    return pg_err(e, STORE_ERR, "no free SecretId after %d draws", ID_TRIES);
}

static int settle_key(PGconn *c, void *arg, struct serr *e)
{
    struct key_job *k = arg;
    const char *p[2] = {k->out->secret_id, k->out->secret_key};
    PGresult *r = pg_exec(c, "settle", "SELECT 1 FROM keys WHERE secret_id = $1 AND secret_key = $2",
                          2, p, e, NULL);
    int x = r ? PQntuples(r) == 1 : -1;
    PQclear(r);
    if (x == 1)
        snprintf(k->out->actions, sizeof k->out->actions, "%s", k->actions);
    return x;
}

static int pg_key_create(struct store *st, const char *uin, const char *actions,
                         struct key_info *out, struct serr *e)
{
    struct key_info tmp;
    char norm[sizeof tmp.actions];
    struct key_job k = {.uin = uin ? uin : "", .actions = norm, .out = out ? out : &tmp};
    int rc = store_normalize_actions(actions, norm, sizeof norm, e);
    if (rc != STORE_OK)
        return rc;
    snprintf(k.expires_txt, sizeof k.expires_txt, "0");
    return pg_tx((struct store_pg *)st, job_key_create, settle_key, &k, e);
}

static int pg_key_create_temporary(struct store *st, const char *uin, const char *actions,
                                   int64_t expires, struct key_info *out, struct serr *e)
{
    struct key_info tmp;
    char norm[sizeof tmp.actions];
    struct key_job k = {.uin = uin ? uin : "", .actions = norm, .expires = expires,
                        .out = out ? out : &tmp};
    int rc;
    if (expires <= 0)
        return pg_err(e, STORE_ERR, "a temporary key needs an end");
    if ((rc = store_normalize_actions(actions, norm, sizeof norm, e)) != STORE_OK)
        return rc;
    pg_i64(k.expires_txt, sizeof k.expires_txt, expires);
    return pg_tx((struct store_pg *)st, job_key_create, settle_key, &k, e);
}

/* ==== the admin operations: reset, accounts and keys with given ids ==== */

static const char *const pg_reset_sql[] = {
    "DELETE FROM cls_topics%s", /* with their logs and batches (ON DELETE CASCADE) */
    "DELETE FROM cls_logsets%s",
    "DELETE FROM flowlog_tags%s", "DELETE FROM flowlogs%s", "DELETE FROM region_usage%s",
    "DELETE FROM vpc_usage%s",    "DELETE FROM resources%s", "DELETE FROM keys%s",
    "DELETE FROM accounts%s",
};

static int job_reset(PGconn *c, void *arg, struct serr *e)
{
    const char *uin = arg;
    const char *p[1] = {uin};
    char sql[96];
    if (uin) {
        PGresult *r = pg_exec(c, "account", "SELECT 1 FROM accounts WHERE uin = $1 FOR UPDATE", 1,
                              p, e, NULL);
        int n = r ? PQntuples(r) : -1;
        PQclear(r);
        if (n < 0)
            return STORE_ERR;
        if (n == 0)
            return pg_err(e, STORE_NOTFOUND, "%s", uin);
    }
    for (size_t i = 0; i < sizeof pg_reset_sql / sizeof pg_reset_sql[0]; i++) {
        snprintf(sql, sizeof sql, pg_reset_sql[i], uin ? " WHERE uin = $1" : "");
        if (pg_cmd(c, "reset", sql, uin ? 1 : 0, p, e) != STORE_OK)
            return STORE_ERR;
    }
    return STORE_OK;
}

static int pg_reset(struct store *st, const char *uin, struct serr *e)
{
    return pg_tx((struct store_pg *)st, job_reset, NULL, (void *)uin, e);
}

struct key_put_job {
    const char *uin, *secret_id, *secret_key, *actions;
    const char *token; /* NULL or "": a permanent key */
    int64_t expires;
};

/* STORE_OK, STORE_EXISTS (the SecretId is taken) or STORE_ERR. */
static int key_insert_given(PGconn *c, const struct key_put_job *k, struct serr *e)
{
    char expires[24];
    const char *p[6] = {k->secret_id, k->secret_key, k->uin, k->actions,
                        k->token ? k->token : "", expires};
    PGresult *r;
    int n;

    snprintf(expires, sizeof expires, "%lld", k->token && k->token[0] ? (long long)k->expires : 0LL);
    r = pg_exec(c, "key",
                "INSERT INTO keys(secret_id, secret_key, uin, actions, token, expires) "
                "VALUES($1, $2, $3, $4, $5, $6::bigint) ON CONFLICT DO NOTHING",
                6, p, e, NULL);
    if (!r)
        return STORE_ERR;
    n = atoi(PQcmdTuples(r));
    PQclear(r);
    return n == 1 ? STORE_OK : pg_err(e, STORE_EXISTS, "SecretId %s exists", k->secret_id);
}

static int job_key_put(PGconn *c, void *arg, struct serr *e)
{
    struct key_put_job *k = arg;
    const char *p[1] = {k->uin};
    PGresult *r = pg_exec(c, "account", "SELECT 1 FROM accounts WHERE uin = $1 FOR KEY SHARE", 1,
                          p, e, NULL);
    int n = r ? PQntuples(r) : -1;
    PQclear(r);
    if (n < 0)
        return STORE_ERR;
    if (n == 0)
        return pg_err(e, STORE_NOTFOUND, "%s", k->uin);
    return key_insert_given(c, k, e);
}

static int pg_key_put(struct store *st, const char *uin, const char *secret_id,
                      const char *secret_key, const char *actions, const char *token,
                      int64_t expires, struct serr *e)
{
    char norm[sizeof ((struct key_info *)0)->actions];
    struct key_put_job k = {.uin = uin ? uin : "", .secret_id = secret_id,
                            .secret_key = secret_key, .actions = norm, .token = token,
                            .expires = expires};
    int rc;
    if (!secret_id || !*secret_id || !secret_key || !*secret_key)
        return pg_err(e, STORE_ERR, "a key needs a SecretId and a SecretKey");
    if ((rc = store_normalize_actions(actions, norm, sizeof norm, e)) != STORE_OK)
        return rc;
    return pg_tx((struct store_pg *)st, job_key_put, NULL, &k, e);
}

struct account_put_job {
    struct account want;
    const char *secret_id, *secret_key;
    struct account *out;
};

static int job_account_put(PGconn *c, void *arg, struct serr *e)
{
    struct account_put_job *a = arg;
    struct account acc = a->want;
    char app_id[24], quota[16], rate[16];
    const char *p[4] = {app_id, acc.uin, quota, rate};
    uint64_t rnd[2];
    PGresult *r;
    int n, tries;

    snprintf(quota, sizeof quota, "%u", acc.flowlog_quota);
    snprintf(rate, sizeof rate, "%u", acc.rate_limit);
    if (a->want.uin[0] || a->want.app_id) {
        snprintf(app_id, sizeof app_id, "%llu", (unsigned long long)a->want.app_id);
        r = pg_exec(c, "account",
                    "SELECT uin = $2, app_id = $1::bigint FROM accounts "
                    "WHERE uin = $2 OR app_id = $1::bigint",
                    2, p, e, NULL);
        if (!r)
            return STORE_ERR;
        n = PQntuples(r);
        for (int i = 0; i < n; i++) {
            if (a->want.uin[0] && PQgetvalue(r, i, 0)[0] == 't') {
                PQclear(r);
                return pg_err(e, STORE_EXISTS, "Uin %s exists", a->want.uin);
            }
            if (a->want.app_id && PQgetvalue(r, i, 1)[0] == 't') {
                PQclear(r);
                return pg_err(e, STORE_EXISTS, "AppId %llu exists",
                              (unsigned long long)a->want.app_id);
            }
        }
        PQclear(r);
    }
    for (tries = 0; tries < ID_TRIES; tries++) {
        if (rand_bytes(rnd, sizeof rnd) != 0)
            return pg_err(e, STORE_ERR, "random source failed");
        if (!a->want.app_id)
            acc.app_id = 1000000000u + rnd[0] % 1000000000u;
        if (!a->want.uin[0])
            snprintf(acc.uin, sizeof acc.uin, "%llu",
                     (unsigned long long)(100000000000u + rnd[1] % 900000000000u));
        snprintf(app_id, sizeof app_id, "%llu", (unsigned long long)acc.app_id);
        r = pg_exec(c, "account",
                    "INSERT INTO accounts(app_id, uin, flowlog_quota, rate_limit) "
                    "VALUES($1::bigint, $2, $3::bigint, $4::bigint) ON CONFLICT DO NOTHING",
                    4, p, e, NULL);
        if (!r)
            return STORE_ERR;
        n = atoi(PQcmdTuples(r));
        PQclear(r);
        if (n == 1)
            break;
        if (a->want.app_id && a->want.uin[0]) /* taken since the check */
            return pg_err(e, STORE_EXISTS, "AppId %s or Uin %s exists", app_id, acc.uin);
    }
    if (tries == ID_TRIES)
        return pg_err(e, STORE_ERR, "no free AppId/Uin after %d draws", ID_TRIES);
    if (a->secret_id) {
        struct key_put_job k = {.uin = acc.uin, .secret_id = a->secret_id,
                                .secret_key = a->secret_key, .actions = ""};
        int rc = key_insert_given(c, &k, e);
        if (rc != STORE_OK)
            return rc; /* rolled back with the account */
    }
    *a->out = acc;
    return STORE_OK;
}

static int pg_account_put(struct store *st, const struct account *want, const char *secret_id,
                          const char *secret_key, struct account *out, struct serr *e)
{
    struct account tmp;
    struct account_put_job a = {.secret_id = secret_id, .secret_key = secret_key,
                                .out = out ? out : &tmp};
    if (want)
        a.want = *want;
    if (!a.want.flowlog_quota)
        a.want.flowlog_quota = STORE_DEFAULT_FLOWLOG_QUOTA;
    if (secret_id && (!*secret_id || !secret_key || !*secret_key))
        return pg_err(e, STORE_ERR, "a key needs a SecretId and a SecretKey");
    return pg_tx((struct store_pg *)st, job_account_put, NULL, &a, e);
}

/* A read: on a pooled connection, one statement (its own snapshot, which
 * includes every commit acknowledged before it started). A read that finds
 * the connection dropped runs once more on a new one. */
/* Runs sql on pc as a statement prepared on that connection (prepared on
 * first use; a slot taken by another statement is deallocated first).
 * As pg_exec. */
static PGresult *exec_prepared(struct pgconn *pc, const char *what, const char *sql, int n,
                               const char *const *vals, struct serr *e)
{
    uint64_t h = 1469598103934665603ull;
    char name[24];
    size_t slot;
    PGresult *r;

    for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    h |= 1; /* never 0 */
    slot = (size_t)(h % PG_PREP_SLOTS);
    snprintf(name, sizeof name, "r%zu", slot);
    if (pc->prep[slot] != h) {
        if (pc->prep[slot]) {
            char sql2[48];
            snprintf(sql2, sizeof sql2, "DEALLOCATE %s", name);
            PQclear(PQexec(pc->c, sql2));
            pc->prep[slot] = 0;
        }
        r = PQprepare(pc->c, name, sql, n, NULL);
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
            char line[200];
            errline(r ? PQresultErrorMessage(r) : PQerrorMessage(pc->c), line, sizeof line);
            pg_err(e, STORE_ERR, "%s: %s", what, line[0] ? line : "prepare failed");
            PQclear(r);
            return NULL;
        }
        PQclear(r);
        pc->prep[slot] = h;
    }
    r = PQexecPrepared(pc->c, name, n, vals, NULL, NULL, 0);
    if (r && (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK))
        return r;
    {
        char line[200];
        errline(r ? PQresultErrorMessage(r) : PQerrorMessage(pc->c), line, sizeof line);
        pg_err(e, STORE_ERR, "%s: %s", what, line[0] ? line : "the database connection failed");
    }
    PQclear(r);
    return NULL;
}

PGresult *pg_read(struct store_pg *s, const char *what, const char *sql, int n,
                  const char *const *vals, struct serr *e)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        struct pgconn *pc = pg_get(s, e);
        PGresult *r;
        int lost;
        if (!pc)
            return NULL;
        r = exec_prepared(pc, what, sql, n, vals, e);
        lost = !r && conn_lost(pc->c);
        pg_put(s, pc);
        if (r || !lost)
            return r;
    }
    return NULL;
}

static int pg_key_lookup(struct store *st, const char *secret_id, struct key_info *out,
                         struct serr *e)
{
    const char *p[1] = {secret_id ? secret_id : ""};
    PGresult *r = pg_read((struct store_pg *)st, "key lookup",
                          "SELECT k.secret_id, k.secret_key, k.actions, a.app_id, a.uin, "
                          "a.flowlog_quota, a.rate_limit, k.token, k.expires FROM keys k JOIN accounts a "
                          "ON a.uin = k.uin WHERE k.secret_id = $1",
                          1, p, e);
    int rc;
    if (!r)
        return STORE_ERR;
    if (PQntuples(r) == 1) {
        pg_col(r, 0, 0, out->secret_id, sizeof out->secret_id);
        pg_col(r, 0, 1, out->secret_key, sizeof out->secret_key);
        pg_col(r, 0, 2, out->actions, sizeof out->actions);
        account_from_row(r, 3, &out->account);
        pg_col(r, 0, 7, out->token, sizeof out->token);
        out->expires = pg_col_i64(r, 0, 8);
        rc = STORE_OK;
    } else {
        rc = pg_err(e, STORE_NOTFOUND, "%s", p[0]);
    }
    PQclear(r);
    return rc;
}

/* ==== integrity ==== */

static int pg_integrity_check(struct store *st, struct serr *e)
{
    static const struct {
        const char *sql, *fmt;
    } checks[] = {
        {"SELECT uin, region, '' FROM (SELECT uin, region, n FROM region_usage UNION ALL "
         "SELECT uin, region, -count(*) FROM flowlogs GROUP BY uin, region) x "
         "GROUP BY uin, region HAVING sum(n) <> 0 LIMIT 1",
         "flow-log count of uin %s in %s is off%s"},
        {"SELECT uin, region, vpc_id FROM (SELECT uin, region, vpc_id, n FROM vpc_usage UNION ALL "
         "SELECT uin, region, vpc_id, -count(*) FROM flowlogs GROUP BY uin, region, vpc_id) x "
         "GROUP BY uin, region, vpc_id HAVING sum(n) <> 0 LIMIT 1",
         "flow-log count of uin %s in %s, VPC %s is off"},
        {"SELECT t.flowlog_id, '', '' FROM flowlog_tags t JOIN flowlogs f ON f.id = t.flowlog_id "
         "WHERE t.uin <> f.uin OR t.region <> f.region LIMIT 1",
         "the tags of %s carry another uin or region%s%s"},
        {"SELECT f.id, '', '' FROM flowlogs f WHERE f.tags::jsonb IS DISTINCT FROM "
         "coalesce((SELECT jsonb_agg(jsonb_build_array(t.key, t.value) ORDER BY t.pos) "
         "FROM flowlog_tags t WHERE t.flowlog_id = f.id), '[]'::jsonb) LIMIT 1",
         "the tags of %s disagree with flowlog_tags%s%s"},
        {"SELECT r.uin, r.region, '' FROM region_usage r WHERE r.n < 0 LIMIT 1",
         "negative flow-log count of uin %s in %s%s"},
    };
    struct store_pg *s = (struct store_pg *)st;
    struct pgconn *pc = pg_get(s, e);
    int rc = STORE_ERR;

    if (!pc)
        return STORE_ERR;
    /* every check sees one snapshot */
    if (pg_cmd(pc->c, "check", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, e) !=
        STORE_OK)
        goto done;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        PGresult *r = pg_exec(pc->c, "integrity check", checks[i].sql, 0, NULL, e, NULL);
        if (!r)
            goto done;
        if (PQntuples(r) > 0) {
            pg_err(e, STORE_ERR, checks[i].fmt, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1),
                   PQgetvalue(r, 0, 2));
            PQclear(r);
            goto done;
        }
        PQclear(r);
    }
    rc = STORE_OK;
done:
    pg_put(s, pc); /* rolls back the read transaction */
    return rc;
}

/* ==== open and close ==== */

static void pg_close(struct store *st);

static int pg_account_any(struct store *st, int *any, struct serr *e)
{
    PGresult *r = pg_read((struct store_pg *)st, "accounts",
                          "SELECT EXISTS(SELECT 1 FROM accounts)", 0, NULL, e);
    if (!r)
        return STORE_ERR;
    *any = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return STORE_OK;
}

static const struct store_ops pg_ops = {
    .account_create = pg_account_create,
    .key_create = pg_key_create,
    .key_lookup = pg_key_lookup,
    .key_create_temporary = pg_key_create_temporary,
    .inventory_import = pg_inventory_import,
    .resource_get = pg_resource_get,
    .flowlog_create = pg_flowlog_create,
    .flowlog_create_async = pg_flowlog_create_async,
    .flowlog_get = pg_flowlog_get,
    .flowlog_query = pg_flowlog_query,
    .flowlog_update = pg_flowlog_update,
    .flowlog_delete = pg_flowlog_delete,
    .flowlog_set_enable = pg_flowlog_set_enable,
    .resource_create = pg_resource_create,
    .resource_delete = pg_resource_delete,
    .resource_attach = pg_resource_attach,
    .resource_query = pg_resource_query,
    .flowlog_tags_modify = pg_flowlog_tags_modify,
    .integrity_check = pg_integrity_check,
    .reset = pg_reset,
    .account_put = pg_account_put,
    .key_put = pg_key_put,
    .account_any = pg_account_any,
    .resource_bind = pg_resource_bind,
    .host_snapshot = pg_host_snapshot,
    .agent_key_create = pg_agent_key_create,
    .agent_key_lookup = pg_agent_key_lookup,
    .agent_key_list = pg_agent_key_list,
    .agent_key_delete = pg_agent_key_delete,
    .cls_logset_create = pg_cls_logset_create,
    .cls_logset_list = pg_cls_logset_list,
    .cls_logset_delete = pg_cls_logset_delete,
    .cls_topic_create = pg_cls_topic_create,
    .cls_topic_list = pg_cls_topic_list,
    .cls_topic_update = pg_cls_topic_update,
    .cls_topic_delete = pg_cls_topic_delete,
    .cls_logs_put = pg_cls_logs_put,
    .cls_logs_scan = pg_cls_logs_scan,
    .cls_logs_expire = pg_cls_logs_expire,
    .cls_topic_owner = pg_cls_topic_owner,
    .state_dump = pg_state_dump,
    .writer_stats = pg_writer_stats,
    .close = pg_close,
};

/* Takes our own `schema=NAME` parameter out of a URL's query string (libpq
 * would refuse it). NAME: letters, digits, '_' (at most 63). */
static int split_schema(const char *url, char **conninfo, char schema[64], struct serr *e)
{
    char *u = strdup(url), *q, *p;
    schema[0] = '\0';
    if (!u)
        return pg_err(e, STORE_ERR, "out of memory");
    q = strchr(u, '?');
    for (p = q ? q + 1 : NULL; p && *p;) {
        char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 7 && strncmp(p, "schema=", 7) == 0) {
            size_t n = len - 7;
            if (n == 0 || n > 63) {
                free(u);
                return pg_err(e, STORE_ERR, "schema= wants 1 to 63 characters");
            }
            for (size_t i = 0; i < n; i++) {
                char ch = p[7 + i];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) {
                    free(u);
                    return pg_err(e, STORE_ERR,
                                  "schema= takes lower-case letters, digits and '_'");
                }
            }
            memcpy(schema, p + 7, n);
            schema[n] = '\0';
            /* cut it out, with its separator */
            memmove(p, amp ? amp + 1 : p + len, strlen(amp ? amp + 1 : p + len) + 1);
            continue;
        }
        p = amp ? amp + 1 : NULL;
    }
    /* a dangling '?' or '&' */
    {
        size_t n = strlen(u);
        while (n && (u[n - 1] == '?' || u[n - 1] == '&'))
            u[--n] = '\0';
    }
    *conninfo = u;
    return STORE_OK;
}

static void store_free(struct store_pg *s)
{
    struct pgconn *pc;
    if (s->writers_started)
        pg_writers_stop(s);
    pthread_mutex_lock(&s->pool_mu);
    s->closing = 1;
    pthread_cond_broadcast(&s->pool_cv);
    while ((pc = s->free_list)) {
        s->free_list = pc->next;
        if (pc->c)
            PQfinish(pc->c);
        free(pc);
    }
    pthread_mutex_unlock(&s->pool_mu);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cv);
    pthread_mutex_destroy(&s->q_mu);
    pthread_cond_destroy(&s->q_cv);
    free(s->conninfo);
    free(s);
}

static void pg_close(struct store *st)
{
    store_free((struct store_pg *)st);
}

int store_is_pg_url(const char *spec)
{
    return spec && (strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0);
}

struct store *store_open_pg(const char *url, struct serr *e)
{
    struct store_pg *s;
    PGconn *c;
    int rc;

    if (!store_is_pg_url(url)) {
        pg_err(e, STORE_ERR, "not a postgresql:// URL");
        return NULL;
    }
    if (!PQisthreadsafe()) {
        pg_err(e, STORE_ERR, "libpq was built without thread support");
        return NULL;
    }
    if (!(s = calloc(1, sizeof *s))) {
        pg_err(e, STORE_ERR, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cv, NULL);
    pthread_mutex_init(&s->q_mu, NULL);
    pthread_cond_init(&s->q_cv, NULL);
    s->base.ops = &pg_ops;
    s->base.name = "postgresql";
    s->pool_size = (int)env_long("FLOWLOGD_PG_POOL", POOL_DEFAULT, 512);
    s->settle_ms = (int)env_long("FLOWLOGD_PG_SETTLE_MS", SETTLE_MS_DEFAULT, 3600000);
    if (split_schema(url, &s->conninfo, s->schema, e) != STORE_OK)
        goto fail;
    if (!(c = pg_connect(s, e)))
        goto fail;
    rc = schema_migrate(s, c, e);
    PQfinish(c);
    if (rc != STORE_OK)
        goto fail;
    /* the pool's connections now, not on the first requests */
    {
        struct pgconn *held[512];
        int n = 0;
        while (n < s->pool_size && (held[n] = pg_get(s, e)))
            n++;
        for (int i = 0; i < n; i++)
            pg_put(s, held[i]);
        if (n < s->pool_size)
            goto fail;
    }
    if (pg_writers_start(s, (int)env_long("FLOWLOGD_PG_WRITERS", WRITERS_DEFAULT, 8)) != 0) {
        pg_err(e, STORE_ERR, "cannot start the writer threads");
        goto fail;
    }
    return &s->base;
fail:
    store_free(s);
    return NULL;
}

void pg_writer_stats(struct store *st, struct store_writer_stats *out)
{
    struct store_pg *s = (struct store_pg *)st;
    out->commit = &s->commit_hist;
    out->fsync = NULL; /* PostgreSQL's own, inside COMMIT */
    pthread_mutex_lock(&s->q_mu);
    out->queue = (uint64_t)s->q_len;
    pthread_mutex_unlock(&s->q_mu);
}

void store_pg_stats(struct store *st, uint64_t *commits, uint64_t *jobs, uint64_t *replays,
                    uint64_t *settled)
{
    struct store_pg *s = (struct store_pg *)st;
    pthread_mutex_lock(&s->q_mu);
    if (commits)
        *commits = s->commits;
    if (jobs)
        *jobs = s->jobs;
    if (replays)
        *replays = s->replays;
    pthread_mutex_unlock(&s->q_mu);
    if (settled)
        *settled = __atomic_load_n(&s->settled, __ATOMIC_RELAXED);
}

struct store *store_open_spec(const char *spec, struct serr *e)
{
    return store_is_pg_url(spec) ? store_open_pg(spec, e) : store_open_sqlite(spec, e);
}
