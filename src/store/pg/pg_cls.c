/* pg_cls.c: the cls service's logsets, topics and logs on PostgreSQL (the
 * same rules as store/sqlite/sqlite_cls.c, every rule in the database).
 *
 * Tables (migration 4 -> 5 in pg.c): cls_logsets, cls_topics, cls_logs
 * (clustered by its key (topic, time_ms, seq); contents bytea in the
 * SQLite store's encoding), cls_batches, cls_meta('seq'). An upload takes
 * its sequence numbers by updating cls_meta's row, which it holds locked
 * until its COMMIT: uploads commit in sequence order across every node, so
 * a search that read v = max seq sees every log up to v (its snapshot for
 * Context paging). Logs go in with COPY. A scan reads its range in pages of
 * SCAN_PAGE rows on pooled connections, each page after the last position,
 * bounded by that max seq. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "store/cls_codec.h"
#include "store/pg/pg_int.h"

#define SCAN_PAGE 2000 /* the LIMIT of the scan statements */

/* ==== encodings (the columns' own: store/cls_codec.c) ==== */

/* "\x" + hex of p[0..n): a bytea literal in text form (malloc'd). */
static char *hex_of(const void *p, size_t n)
{
    static const char d[] = "0123456789abcdef";
    const unsigned char *b = p;
    char *s = malloc(2 * n + 3), *o = s;
    if (!s)
        return NULL;
    *o++ = '\\';
    *o++ = 'x';
    for (size_t i = 0; i < n; i++) {
        *o++ = d[b[i] >> 4];
        *o++ = d[b[i] & 15];
    }
    *o = '\0';
    return s;
}

/* A bytea column in text form ("\x...") into a malloc'd buffer. */
static unsigned char *bytea_of(const PGresult *r, int row, int col, size_t *len)
{
    const char *v = PQgetvalue(r, row, col);
    size_t n = 0;
    unsigned char *out = PQunescapeBytea((const unsigned char *)v, &n);
    *len = n;
    return out;
}

/* ==== logsets ==== */

static int job_logset_create(PGconn *c, void *arg, struct serr *e)
{
    const struct cls_logset *ls = arg;
    size_t tlen = 0;
    char *tags = cls_tags_encode(ls->tags, ls->ntags, &tlen);
    char *hex = tags ? hex_of(tags, tlen) : NULL;
    char created[24], max[24];
    PGresult *r;
    int rc = STORE_ERR;

    free(tags);
    if (!hex)
        return pg_err(e, STORE_ERR, "out of memory");
    pg_i64(created, sizeof created, ls->created_at);
    pg_i64(max, sizeof max, STORE_CLS_MAX_LOGSETS);
    /* one logset at a time per tenant and region: the count is exact */
    {
        const char *p[2] = {ls->uin, ls->region};
        if (pg_cmd(c, "lock", "SELECT pg_advisory_xact_lock(hashtext('cls_logsets/' || $1 || '/' || $2))",
                   2, p, e) != STORE_OK)
            goto done;
    }
    {
        const char *p[4] = {ls->uin, ls->region, ls->id, ls->name};
        r = pg_exec(c, "logset count",
                    "SELECT (SELECT count(*) FROM cls_logsets WHERE uin = $1 AND region = $2), "
                    "EXISTS(SELECT 1 FROM cls_logsets WHERE id = $3), EXISTS(SELECT 1 FROM "
                    "cls_logsets WHERE uin = $1 AND region = $2 AND name = $4)",
                    4, p, e, NULL);
        if (!r)
            goto done;
        if (PQgetvalue(r, 0, 1)[0] == 't' || PQgetvalue(r, 0, 2)[0] == 't') {
            rc = pg_err(e, STORE_EXISTS, "%s", PQgetvalue(r, 0, 1)[0] == 't' ? ls->id : ls->name);
            PQclear(r);
            goto done;
        }
        if (pg_col_i64(r, 0, 0) >= STORE_CLS_MAX_LOGSETS) {
            rc = pg_err(e, STORE_QUOTA, "%d logsets in %s", STORE_CLS_MAX_LOGSETS, ls->region);
            PQclear(r);
            goto done;
        }
        PQclear(r);
    }
    {
        const char *p[6] = {ls->id, ls->uin, ls->region, ls->name, created, hex};
        rc = pg_cmd(c, "logset insert",
                    "INSERT INTO cls_logsets(id, uin, region, name, created_at, tags) "
                    "VALUES($1, $2, $3, $4, $5::bigint, $6::bytea)",
                    6, p, e);
    }
done:
    free(hex);
    return rc;
}

static int settle_logset(PGconn *c, void *arg, struct serr *e)
{
    const struct cls_logset *ls = arg;
    const char *p[2] = {ls->id, ls->uin};
    PGresult *r = pg_exec(c, "settle", "SELECT 1 FROM cls_logsets WHERE id = $1 AND uin = $2", 2,
                          p, e, NULL);
    int x = r ? PQntuples(r) == 1 : -1;
    PQclear(r);
    return x;
}

int pg_cls_logset_create(struct store *st, const struct cls_logset *ls, struct serr *e)
{
    return pg_tx((struct store_pg *)st, job_logset_create, settle_logset, (void *)ls, e);
}

int pg_cls_logset_list(struct store *st, const char *uin, const char *region, cls_logset_cb cb,
                       void *ud, struct serr *e)
{
    const char *p[2] = {uin, region};
    PGresult *r = pg_read((struct store_pg *)st, "logsets",
                          "SELECT l.id, l.name, l.created_at, l.tags, (SELECT count(*) FROM "
                          "cls_topics t WHERE t.logset_id = l.id) FROM cls_logsets l WHERE "
                          "l.uin = $1 AND l.region = $2 ORDER BY l.created_at, l.id",
                          2, p, e);
    if (!r)
        return STORE_ERR;
    for (int i = 0; i < PQntuples(r); i++) {
        struct cls_logset ls;
        size_t tlen;
        unsigned char *raw = bytea_of(r, i, 3, &tlen);
        struct tag *tags;
        memset(&ls, 0, sizeof ls);
        snprintf(ls.uin, sizeof ls.uin, "%s", uin);
        snprintf(ls.region, sizeof ls.region, "%s", region);
        pg_col(r, i, 0, ls.id, sizeof ls.id);
        pg_col(r, i, 1, ls.name, sizeof ls.name);
        ls.created_at = pg_col_i64(r, i, 2);
        tags = raw ? cls_tags_decode((const char *)raw, tlen, &ls.ntags) : NULL;
        ls.tags = tags;
        ls.topic_count = (uint32_t)pg_col_i64(r, i, 4);
        cb(ud, &ls);
        free(tags);
        PQfreemem(raw);
    }
    PQclear(r);
    return STORE_OK;
}

struct del_job {
    const char *uin, *region, *id;
};

static int job_logset_delete(PGconn *c, void *arg, struct serr *e)
{
    const struct del_job *j = arg;
    const char *p[3] = {j->uin, j->region, j->id};
    PGresult *r = pg_exec(c, "logset",
                          "SELECT EXISTS(SELECT 1 FROM cls_topics WHERE logset_id = $3) FROM "
                          "cls_logsets WHERE id = $3 AND uin = $1 AND region = $2 FOR UPDATE",
                          3, p, e, NULL);
    int rc;
    if (!r)
        return STORE_ERR;
    if (PQntuples(r) == 0)
        rc = pg_err(e, STORE_NOTFOUND, "%s", j->id);
    else if (PQgetvalue(r, 0, 0)[0] == 't')
        rc = pg_err(e, STORE_INUSE, "%s", j->id);
    else
        rc = pg_cmd(c, "logset delete", "DELETE FROM cls_logsets WHERE id = $3 AND uin = $1 AND "
                                        "region = $2", 3, p, e);
    PQclear(r);
    return rc;
}

int pg_cls_logset_delete(struct store *st, const char *uin, const char *region, const char *id,
                         struct serr *e)
{
    struct del_job j = {uin, region, id};
    return pg_tx((struct store_pg *)st, job_logset_delete, NULL, &j, e);
}

/* ==== topics ==== */

#define TOPIC_COLS                                                                               \
    "id, logset_id, name, period, status, storage_type, describes, partition_count, "           \
    "created_at, tags"

/* Row i's TOPIC_COLS but the tags (column 9, the caller's) into *t. */
static void topic_of_row(const PGresult *r, int i, struct cls_topic *t)
{
    pg_col(r, i, 0, t->id, sizeof t->id);
    pg_col(r, i, 1, t->logset_id, sizeof t->logset_id);
    pg_col(r, i, 2, t->name, sizeof t->name);
    t->period = (uint32_t)pg_col_i64(r, i, 3);
    t->status = (int)pg_col_i64(r, i, 4);
    pg_col(r, i, 5, t->storage_type, sizeof t->storage_type);
    pg_col(r, i, 6, t->describes, sizeof t->describes);
    t->partition_count = (uint32_t)pg_col_i64(r, i, 7);
    t->created_at = pg_col_i64(r, i, 8);
}

static int job_topic_create(PGconn *c, void *arg, struct serr *e)
{
    const struct cls_topic *t = arg;
    size_t tlen = 0;
    char *tags = cls_tags_encode(t->tags, t->ntags, &tlen), *hex = tags ? hex_of(tags, tlen) : NULL;
    char period[24], status[8], parts[24], created[24], kind[8];
    PGresult *r;
    int rc = STORE_ERR;

    free(tags);
    if (!hex)
        return pg_err(e, STORE_ERR, "out of memory");
    {
        const char *p[5] = {t->uin, t->region, t->logset_id, t->id, t->name};
        /* the logset's row locked: its topics are counted exactly */
        r = pg_exec(c, "logset",
                    "SELECT (SELECT count(*) FROM cls_topics WHERE logset_id = $3), "
                    "EXISTS(SELECT 1 FROM cls_topics WHERE id = $4), EXISTS(SELECT 1 FROM "
                    "cls_topics WHERE logset_id = $3 AND name = $5) FROM cls_logsets WHERE "
                    "id = $3 AND uin = $1 AND region = $2 FOR UPDATE",
                    5, p, e, NULL);
        if (!r)
            goto done;
        if (PQntuples(r) == 0)
            rc = pg_err(e, STORE_NOTFOUND, "%s", t->logset_id);
        else if (PQgetvalue(r, 0, 1)[0] == 't' || PQgetvalue(r, 0, 2)[0] == 't')
            rc = pg_err(e, STORE_EXISTS, "%s", PQgetvalue(r, 0, 1)[0] == 't' ? t->id : t->name);
        else if (pg_col_i64(r, 0, 0) >= STORE_CLS_MAX_TOPICS)
            rc = pg_err(e, STORE_QUOTA, "%d topics in logset %s", STORE_CLS_MAX_TOPICS,
                        t->logset_id);
        PQclear(r);
        if (rc != STORE_ERR)
            goto done;
    }
    pg_i64(period, sizeof period, t->period);
    pg_i64(status, sizeof status, t->status);
    pg_i64(parts, sizeof parts, t->partition_count);
    pg_i64(created, sizeof created, t->created_at);
    pg_i64(kind, sizeof kind, RES_CLS_TOPIC);
    {
        const char *p[12] = {t->uin, t->region, t->id, t->logset_id, t->name, period,
                             status, t->storage_type, t->describes, parts, created, hex};
        if (pg_cmd(c, "topic insert",
                   "INSERT INTO cls_topics(uin, region, " TOPIC_COLS ") VALUES($1, $2, $3, $4, $5, "
                   "$6::bigint, $7::int, $8, $9, $10::bigint, $11::bigint, $12::bytea)",
                   12, p, e) != STORE_OK)
            goto done;
    }
    {
        const char *p[6] = {t->uin, t->region, kind, t->id, t->name, created};
        rc = pg_cmd(c, "topic resource",
                    "INSERT INTO resources(uin, region, kind, id, name, created_at, origin) "
                    "VALUES($1, $2, $3::int, $4, $5, $6::bigint, 1) ON CONFLICT DO NOTHING",
                    6, p, e);
    }
done:
    free(hex);
    return rc;
}

static int settle_topic(PGconn *c, void *arg, struct serr *e)
{
    const struct cls_topic *t = arg;
    const char *p[2] = {t->id, t->uin};
    PGresult *r = pg_exec(c, "settle", "SELECT 1 FROM cls_topics WHERE id = $1 AND uin = $2", 2, p,
                          e, NULL);
    int x = r ? PQntuples(r) == 1 : -1;
    PQclear(r);
    return x;
}

int pg_cls_topic_create(struct store *st, const struct cls_topic *t, struct serr *e)
{
    return pg_tx((struct store_pg *)st, job_topic_create, settle_topic, (void *)t, e);
}

int pg_cls_topic_list(struct store *st, const char *uin, const char *region, cls_topic_cb cb,
                      void *ud, struct serr *e)
{
    const char *p[2] = {uin, region};
    PGresult *r = pg_read((struct store_pg *)st, "topics",
                          "SELECT " TOPIC_COLS " FROM cls_topics WHERE uin = $1 AND region = $2 "
                          "ORDER BY created_at, tnum",
                          2, p, e);
    if (!r)
        return STORE_ERR;
    for (int i = 0; i < PQntuples(r); i++) {
        struct cls_topic t;
        size_t tlen;
        unsigned char *raw = bytea_of(r, i, 9, &tlen);
        struct tag *tags;
        memset(&t, 0, sizeof t);
        snprintf(t.uin, sizeof t.uin, "%s", uin);
        snprintf(t.region, sizeof t.region, "%s", region);
        topic_of_row(r, i, &t);
        tags = raw ? cls_tags_decode((const char *)raw, tlen, &t.ntags) : NULL;
        t.tags = tags;
        cb(ud, &t);
        free(tags);
        PQfreemem(raw);
    }
    PQclear(r);
    return STORE_OK;
}

int pg_cls_dump(PGconn *c, const struct state_sink *sink, struct serr *e)
{
    PGresult *r;

    if (sink->cls_logset) {
        if (!(r = pg_exec(c, "dump logsets",
                          "SELECT uin, region, id, name, created_at, tags FROM cls_logsets "
                          "ORDER BY id",
                          0, NULL, e, NULL)))
            return STORE_ERR;
        for (int i = 0; i < PQntuples(r); i++) {
            struct cls_logset ls;
            size_t tlen = 0;
            unsigned char *raw = bytea_of(r, i, 5, &tlen);
            struct tag *tags = NULL;
            memset(&ls, 0, sizeof ls);
            pg_col(r, i, 0, ls.uin, sizeof ls.uin);
            pg_col(r, i, 1, ls.region, sizeof ls.region);
            pg_col(r, i, 2, ls.id, sizeof ls.id);
            pg_col(r, i, 3, ls.name, sizeof ls.name);
            ls.created_at = pg_col_i64(r, i, 4);
            if (raw && tlen && !(tags = cls_tags_decode((const char *)raw, tlen, &ls.ntags))) {
                PQfreemem(raw);
                PQclear(r);
                return pg_err(e, STORE_ERR, "dump: logset %s: tags malformed or out of memory",
                              ls.id);
            }
            ls.tags = tags;
            sink->cls_logset(sink->ud, &ls);
            free(tags);
            PQfreemem(raw);
        }
        PQclear(r);
    }
    if (sink->cls_topic) {
        if (!(r = pg_exec(c, "dump topics",
                          /* made-order: DescribeTopics' order (created_at,
                           * tnum) comes back from an import */
                          "SELECT " TOPIC_COLS ", uin, region FROM cls_topics "
                          "ORDER BY created_at, tnum",
                          0, NULL, e, NULL)))
            return STORE_ERR;
        for (int i = 0; i < PQntuples(r); i++) {
            struct cls_topic t;
            size_t tlen = 0;
            unsigned char *raw = bytea_of(r, i, 9, &tlen);
            struct tag *tags = NULL;
            memset(&t, 0, sizeof t);
            topic_of_row(r, i, &t);
            pg_col(r, i, 10, t.uin, sizeof t.uin);
            pg_col(r, i, 11, t.region, sizeof t.region);
            if (raw && tlen && !(tags = cls_tags_decode((const char *)raw, tlen, &t.ntags))) {
                PQfreemem(raw);
                PQclear(r);
                return pg_err(e, STORE_ERR, "dump: topic %s: tags malformed or out of memory",
                              t.id);
            }
            t.tags = tags;
            sink->cls_topic(sink->ud, &t);
            free(tags);
            PQfreemem(raw);
        }
        PQclear(r);
    }
    return STORE_OK;
}

struct topic_update_job {
    const struct cls_topic *t;
    int set_tags;
};

static int job_topic_update(PGconn *c, void *arg, struct serr *e)
{
    const struct topic_update_job *j = arg;
    const struct cls_topic *t = j->t;
    size_t tlen = 0;
    char *tags = NULL, *hex = NULL, period[24], status[8], parts[24];
    PGresult *r;
    int rc = STORE_ERR;

    {
        const char *p[4] = {t->uin, t->region, t->id, t->name};
        r = pg_exec(c, "topic",
                    "SELECT EXISTS(SELECT 1 FROM cls_topics o WHERE o.logset_id = t.logset_id AND "
                    "o.name = $4 AND o.id <> t.id) FROM cls_topics t WHERE t.id = $3 AND t.uin = $1 "
                    "AND t.region = $2 FOR UPDATE OF t",
                    4, p, e, NULL);
        if (!r)
            return STORE_ERR;
        if (PQntuples(r) == 0)
            rc = pg_err(e, STORE_NOTFOUND, "%s", t->id);
        else if (PQgetvalue(r, 0, 0)[0] == 't')
            rc = pg_err(e, STORE_EXISTS, "%s", t->name);
        PQclear(r);
        if (rc != STORE_ERR)
            return rc;
    }
    if (j->set_tags &&
        (!(tags = cls_tags_encode(t->tags, t->ntags, &tlen)) || !(hex = hex_of(tags, tlen)))) {
        free(tags);
        return pg_err(e, STORE_ERR, "out of memory");
    }
    free(tags);
    pg_i64(period, sizeof period, t->period);
    pg_i64(status, sizeof status, t->status);
    pg_i64(parts, sizeof parts, t->partition_count);
    {
        const char *p[8] = {t->id, t->name, period, status, t->storage_type, t->describes, parts,
                            hex};
        rc = pg_cmd(c, "topic update",
                    "UPDATE cls_topics SET name = $2, period = $3::bigint, status = $4::int, "
                    "storage_type = $5, describes = $6, partition_count = $7::bigint, "
                    "tags = coalesce($8::bytea, tags) WHERE id = $1",
                    8, p, e);
    }
    free(hex);
    return rc;
}

int pg_cls_topic_update(struct store *st, const struct cls_topic *t, int set_tags, struct serr *e)
{
    struct topic_update_job j = {t, set_tags};
    return pg_tx((struct store_pg *)st, job_topic_update, NULL, &j, e);
}

static int job_topic_delete(PGconn *c, void *arg, struct serr *e)
{
    const struct del_job *j = arg;
    char kind[8];
    const char *p[3] = {j->uin, j->region, j->id};
    const char *q[4] = {j->uin, j->region, j->id, kind};
    PGresult *r = pg_exec(c, "topic delete",
                          "DELETE FROM cls_topics WHERE id = $3 AND uin = $1 AND region = $2", 3, p,
                          e, NULL);
    int n;
    if (!r)
        return STORE_ERR;
    n = atoi(PQcmdTuples(r));
    PQclear(r);
    if (n == 0)
        return pg_err(e, STORE_NOTFOUND, "%s", j->id);
    pg_i64(kind, sizeof kind, RES_CLS_TOPIC);
    if (pg_cmd(c, "topic resource", "DELETE FROM resources WHERE uin = $1 AND region = $2 AND "
                                    "kind = $4::int AND id = $3", 4, q, e) != STORE_OK)
        return STORE_ERR;
    return pg_cmd(c, "flow logs", "UPDATE flowlogs SET cloud_log_state = 'DELETED' WHERE uin = $1 "
                                  "AND cloud_log_id = $3 AND (cloud_log_region = $2 OR "
                                  "(cloud_log_region = '' AND region = $2))", 3, p, e);
}

int pg_cls_topic_delete(struct store *st, const char *uin, const char *region, const char *id,
                        struct serr *e)
{
    struct del_job j = {uin, region, id};
    return pg_tx((struct store_pg *)st, job_topic_delete, NULL, &j, e);
}

/* ==== logs ==== */

struct put_job {
    const char *uin, *region, *topic_id;
    const struct cls_group *groups;
    size_t ngroups;
    const char *batch_tag;
    int64_t now_s;
    uint64_t stored;
};

/* COPY text format: backslash, tab, newline and CR escaped */
static int copy_text(struct buf *b, const char *s)
{
    for (; *s; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '\t' ? "\\t" : *s == '\n' ? "\\n"
                          : *s == '\r' ? "\\r" : NULL;
        if (esc ? buf_append(b, esc, 2) : buf_append(b, s, 1))
            return -1;
    }
    return 0;
}

static int copy_bytea(struct buf *b, const unsigned char *p, size_t n)
{
    static const char d[] = "0123456789abcdef";
    char two[2];
    if (buf_append(b, "\\\\x", 3))
        return -1;
    for (size_t i = 0; i < n; i++) {
        two[0] = d[p[i] >> 4];
        two[1] = d[p[i] & 15];
        if (buf_append(b, two, 2))
            return -1;
    }
    return 0;
}

static int job_logs_put(PGconn *c, void *arg, struct serr *e)
{
    struct put_job *j = arg;
    struct buf rows, kv;
    PGresult *r;
    int64_t tnum, seq, total = 0;
    char tnum_s[24], n_s[24], now_s[24];
    int rc = STORE_ERR;
    unsigned char *flags = calloc(j->ngroups ? j->ngroups : 1, 1); /* 1: a batch already stored */

    j->stored = 0;
    if (!flags)
        return pg_err(e, STORE_ERR, "out of memory");
    {
        const char *p[3] = {j->topic_id, j->uin, j->region};
        r = pg_exec(c, "topic", "SELECT tnum, status FROM cls_topics WHERE id = $1 AND uin = $2 AND "
                                "region = $3 FOR SHARE",
                    3, p, e, NULL);
        if (!r) {
            free(flags);
            return STORE_ERR;
        }
        if (PQntuples(r) == 0 || atoi(PQgetvalue(r, 0, 1)) == 0) {
            rc = pg_err(e, PQntuples(r) == 0 ? STORE_NOTFOUND : STORE_INUSE, "%s", j->topic_id);
            PQclear(r);
            free(flags);
            return rc;
        }
        tnum = pg_col_i64(r, 0, 0);
        PQclear(r);
    }
    pg_i64(tnum_s, sizeof tnum_s, tnum);
    pg_i64(now_s, sizeof now_s, j->now_s);
    /* the batches: the first upload of each stores it */
    for (size_t g = 0; g < j->ngroups; g++) {
        const struct cls_group *grp = &j->groups[g];
        const char *batch_id = NULL;
        for (size_t t = 0; j->batch_tag && t < grp->ntags; t++)
            if (strcmp(grp->tags[t].key, j->batch_tag) == 0)
                batch_id = grp->tags[t].value;
        if (batch_id) {
            const char *p[3] = {tnum_s, batch_id, now_s};
            r = pg_exec(c, "batch", "INSERT INTO cls_batches(topic, batch, created_at) VALUES("
                                    "$1::bigint, $2, $3::bigint) ON CONFLICT DO NOTHING",
                        3, p, e, NULL);
            if (!r) {
                free(flags);
                return STORE_ERR;
            }
            flags[g] = atoi(PQcmdTuples(r)) == 0;
            PQclear(r);
        }
        if (!flags[g])
            total += (int64_t)grp->nlogs;
    }
    if (total == 0) {
        free(flags);
        return STORE_OK;
    }
    /* the sequence numbers, in commit order (the row stays locked) */
    pg_i64(n_s, sizeof n_s, total);
    {
        const char *p[1] = {n_s};
        r = pg_exec(c, "seq", "UPDATE cls_meta SET v = v + $1::bigint WHERE k = 'seq' RETURNING v",
                    1, p, e, NULL);
        if (!r || PQntuples(r) != 1) {
            PQclear(r);
            free(flags);
            return r ? pg_err(e, STORE_ERR, "cls_meta has no seq") : STORE_ERR;
        }
        seq = pg_col_i64(r, 0, 0) - total;
        PQclear(r);
    }
    buf_init(&rows, 0);
    buf_init(&kv, 0);
    for (size_t g = 0; g < j->ngroups; g++) {
        const struct cls_group *grp = &j->groups[g];
        if (flags[g])
            continue;
        for (size_t i = 0; i < grp->nlogs; i++) {
            const struct cls_log *l = &grp->logs[i];
            buf_reset(&kv);
            for (size_t k = 0; k <= l->n + grp->ntags; k++) {
                unsigned char v[10];
                const char *key, *val;
                size_t kl, vl;
                char tkey[320];
                if (k < l->n) {
                    key = l->contents[k].key, kl = l->contents[k].klen;
                    val = l->contents[k].value, vl = l->contents[k].vlen;
                } else if (k < l->n + grp->ntags) {
                    const struct cls_kv *t = &grp->tags[k - l->n];
                    int n;
                    if (j->batch_tag && strcmp(t->key, j->batch_tag) == 0)
                        continue;
                    n = snprintf(tkey, sizeof tkey, "__TAG__.%s", t->key);
                    if (n < 0 || (size_t)n >= sizeof tkey)
                        continue;
                    key = tkey, kl = (size_t)n, val = t->value, vl = t->vlen;
                } else {
                    break;
                }
                if (buf_append(&kv, v, cls_varint_put(v, kl)) || buf_append(&kv, key, kl) ||
                    buf_append(&kv, "", 1) || buf_append(&kv, v, cls_varint_put(v, vl)) ||
                    buf_append(&kv, val, vl) || buf_append(&kv, "", 1))
                    goto nomem;
            }
            if (buf_printf(&rows, "%lld\t%lld\t%lld\t", (long long)tnum, (long long)l->time_ms,
                           (long long)++seq) ||
                copy_text(&rows, grp->source) || buf_append(&rows, "\t", 1) ||
                copy_text(&rows, grp->filename) || buf_append(&rows, "\t", 1) ||
                copy_bytea(&rows, (const unsigned char *)(kv.data ? kv.data : ""), kv.len) ||
                buf_append(&rows, "\n", 1))
                goto nomem;
            j->stored++;
        }
    }
    r = PQexec(c, "COPY cls_logs(topic, time_ms, seq, source, filename, contents) FROM STDIN");
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        rc = pg_err(e, STORE_ERR, "copy: %s", PQerrorMessage(c));
        PQclear(r);
        goto done;
    }
    PQclear(r);
    if (PQputCopyData(c, rows.data, (int)rows.len) != 1 || PQputCopyEnd(c, NULL) != 1) {
        rc = pg_err(e, STORE_ERR, "copy: %s", PQerrorMessage(c));
        goto done;
    }
    r = PQgetResult(c);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        const char *ss = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        snprintf(pg_last_state, sizeof pg_last_state, "%s", ss ? ss : "");
        rc = pg_err(e, STORE_ERR, "copy: %s", PQerrorMessage(c));
    } else {
        rc = STORE_OK;
    }
    PQclear(r);
    while ((r = PQgetResult(c)))
        PQclear(r);
    goto done;
nomem:
    rc = pg_err(e, STORE_ERR, "out of memory");
done:
    buf_free(&rows);
    buf_free(&kv);
    free(flags);
    return rc;
}

int pg_cls_logs_put(struct store *st, const char *uin, const char *region, const char *topic_id,
                    const struct cls_group *groups, size_t ngroups, const char *batch_tag,
                    uint64_t *stored, struct serr *e)
{
    struct put_job j = {uin, region, topic_id, groups, ngroups, batch_tag, (int64_t)time(NULL), 0};
    /* no settle: a lost COMMIT answer is an error to the client, whose
     * retry the batch tag makes harmless (untagged groups may then be
     * stored twice) */
    int rc = pg_tx((struct store_pg *)st, job_logs_put, NULL, &j, e);
    if (stored)
        *stored = rc == STORE_OK ? j.stored : 0;
    return rc;
}

int pg_cls_logs_scan(struct store *st, const struct cls_scan *q, cls_log_cb cb, void *ud,
                     uint64_t *max_seq, struct serr *e)
{
    struct store_pg *s = (struct store_pg *)st;
    char tnum_s[24], lo[24], hi[24], at[24], as[24], ms[24];
    struct cls_kv *kv = NULL;
    size_t cap = 0;
    int after = q->after, rc = STORE_ERR;
    int64_t after_time = q->after_time;
    uint64_t after_seq = q->after_seq, bound;
    PGresult *r;

    {
        const char *p[3] = {q->topic_id, q->uin, q->region};
        r = pg_read(s, "topic",
                    "SELECT tnum, (SELECT v FROM cls_meta WHERE k = 'seq') FROM cls_topics WHERE "
                    "id = $1 AND uin = $2 AND region = $3",
                    3, p, e);
        if (!r)
            return STORE_ERR;
        if (PQntuples(r) == 0) {
            PQclear(r);
            return pg_err(e, STORE_NOTFOUND, "%s", q->topic_id);
        }
        pg_col(r, 0, 0, tnum_s, sizeof tnum_s);
        bound = (uint64_t)pg_col_i64(r, 0, 1);
        PQclear(r);
    }
    if (max_seq)
        *max_seq = bound;
    if (q->max_seq && q->max_seq < bound)
        bound = q->max_seq;
    pg_i64(lo, sizeof lo, q->from_ms);
    pg_i64(hi, sizeof hi, q->to_ms);
    pg_i64(ms, sizeof ms, (int64_t)bound);
    for (;;) {
        const char *p[7] = {tnum_s, lo, hi, after ? "1" : "0", at, as, ms};
        int n, stop = 0;
        pg_i64(at, sizeof at, after_time);
        pg_i64(as, sizeof as, (int64_t)after_seq);
        r = pg_read(s, "logs",
                    q->descending
                        ? "SELECT seq, time_ms, source, filename, contents FROM cls_logs WHERE "
                          "topic = $1::bigint AND time_ms BETWEEN $2::bigint AND $3::bigint AND "
                          "($4::int = 0 OR (time_ms, seq) < ($5::bigint, $6::bigint)) AND seq <= "
                          "$7::bigint ORDER BY time_ms DESC, seq DESC LIMIT 2000"
                        : "SELECT seq, time_ms, source, filename, contents FROM cls_logs WHERE "
                          "topic = $1::bigint AND time_ms BETWEEN $2::bigint AND $3::bigint AND "
                          "($4::int = 0 OR (time_ms, seq) > ($5::bigint, $6::bigint)) AND seq <= "
                          "$7::bigint ORDER BY time_ms, seq LIMIT 2000",
                    7, p, e);
        if (!r)
            goto done;
        n = PQntuples(r);
        for (int i = 0; i < n && !stop; i++) {
            struct cls_stored_log l;
            size_t len;
            unsigned char *raw = bytea_of(r, i, 4, &len);
            long nk = raw ? cls_kv_decode(raw, len, &kv, &cap) : -1;
            if (nk < 0) {
                PQfreemem(raw);
                PQclear(r);
                rc = pg_err(e, STORE_ERR, "a log's contents column is malformed");
                goto done;
            }
            l.seq = (uint64_t)pg_col_i64(r, i, 0);
            l.time_ms = pg_col_i64(r, i, 1);
            l.source = PQgetvalue(r, i, 2);
            l.filename = PQgetvalue(r, i, 3);
            l.contents = kv;
            l.n = (size_t)nk;
            stop = cb(ud, &l);
            after = 1;
            after_time = l.time_ms;
            after_seq = l.seq;
            PQfreemem(raw);
        }
        PQclear(r);
        if (stop || n < SCAN_PAGE)
            break;
    }
    rc = STORE_OK;
done:
    free(kv);
    return rc;
}

int pg_cls_logs_expire(struct store *st, int64_t now_ms, uint64_t *deleted, struct serr *e)
{
    char now[24];
    uint64_t total = 0;
    int rc = STORE_OK;
    pg_i64(now, sizeof now, now_ms);
    for (;;) {
        const char *p[1] = {now};
        struct pgconn *pc = pg_get((struct store_pg *)st, e);
        PGresult *r;
        int n;
        if (!pc)
            return STORE_ERR;
        r = pg_exec(pc->c, "expire",
                    "DELETE FROM cls_logs WHERE (topic, time_ms, seq) IN (SELECT l.topic, "
                    "l.time_ms, l.seq FROM cls_topics t JOIN cls_logs l ON l.topic = t.tnum AND "
                    "l.time_ms < $1::bigint - t.period * 86400000 LIMIT 20000)",
                    1, p, e, NULL);
        n = r ? atoi(PQcmdTuples(r)) : -1;
        PQclear(r);
        if (n >= 0)
            pg_cmd(pc->c, "expire batches",
                   "DELETE FROM cls_batches b USING cls_topics t WHERE b.topic = t.tnum AND "
                   "b.created_at * 1000 < $1::bigint - t.period * 86400000",
                   1, p, e);
        pg_put((struct store_pg *)st, pc);
        if (n < 0) {
            rc = STORE_ERR;
            break;
        }
        total += (uint64_t)n;
        if (n < 20000)
            break;
    }
    if (deleted)
        *deleted = total;
    return rc;
}

int pg_cls_topic_owner(struct store *st, const char *topic_id, struct account *out, struct serr *e)
{
    const char *p[1] = {topic_id};
    PGresult *r = pg_read((struct store_pg *)st, "topic owner",
                          "SELECT a.app_id, a.uin, a.flowlog_quota, a.rate_limit FROM cls_topics t "
                          "JOIN accounts a ON a.uin = t.uin WHERE t.id = $1 AND EXISTS (SELECT 1 "
                          "FROM flowlogs f WHERE f.uin = t.uin AND f.cloud_log_id = t.id AND "
                          "f.enable = 1 AND (f.cloud_log_region = t.region OR (f.cloud_log_region = '' "
                          "AND f.region = t.region)))",
                          1, p, e);
    int rc;
    if (!r)
        return STORE_ERR;
    if (PQntuples(r) == 1) {
        memset(out, 0, sizeof *out);
        out->app_id = (uint64_t)pg_col_i64(r, 0, 0);
        pg_col(r, 0, 1, out->uin, sizeof out->uin);
        out->flowlog_quota = (uint32_t)pg_col_i64(r, 0, 2);
        out->rate_limit = (uint32_t)pg_col_i64(r, 0, 3);
        rc = STORE_OK;
    } else {
        rc = pg_err(e, STORE_NOTFOUND, "%s", topic_id);
    }
    PQclear(r);
    return rc;
}
