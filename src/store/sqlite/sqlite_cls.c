/* sqlite_cls.c: the cls service's logsets, topics and logs.
 *
 * Tables (migrations 11 -> 12 and 12 -> 13 in sqlite.c): cls_logsets,
 * cls_topics (a topic's integer `tnum` keys its logs), cls_logs (one row
 * per log, clustered by (topic, time_ms, seq): seq is the arrival order,
 * from cls_meta('seq'); source, filename and the contents encoded as
 * "varint klen, key, NUL, varint vlen, value, NUL" repeated), cls_meta and
 * cls_batches (the idempotent batches a topic has stored). A trigger
 * deletes a topic's logs and batches with it.
 *
 * An upload is one writer job: the topic's row checked, every log
 * inserted, committed with the batch it shares (durable before the call
 * returns). A scan is one read transaction (one snapshot).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/cls_codec.h"
#include "store/sqlite/sqlite_domain.h"

#define BATCH_SCRATCH (64u << 10)

/* ==== encodings (the columns' own: store/cls_codec.c) ==== */

/* Appends one pair to the scratch buffer (grown as needed). */
static int kv_put(unsigned char **buf, size_t *cap, size_t *len, const char *k, size_t kl,
                  const char *v, size_t vl)
{
    size_t need = *len + kl + vl + 2 + 20;
    unsigned char *p;
    if (need > *cap) {
        size_t ncap = *cap ? *cap : BATCH_SCRATCH;
        while (ncap < need)
            ncap *= 2;
        if (!(p = realloc(*buf, ncap)))
            return -1;
        *buf = p;
        *cap = ncap;
    }
    p = *buf + *len;
    p += cls_varint_put(p, kl);
    memcpy(p, k, kl);
    p += kl;
    *p++ = '\0';
    p += cls_varint_put(p, vl);
    memcpy(p, v, vl);
    p += vl;
    *p++ = '\0';
    *len = (size_t)(p - *buf);
    return 0;
}

static int step_row(struct conn *c, sqlite3_stmt *st, const char *what, struct serr *e)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    sq_fail(c->db, what, e);
    return -1;
}

/* Steps st (bound) for an object's one row and finalizes it: STORE_OK,
 * STORE_NOTFOUND (id) when there is none, or `taken` (name) when its
 * column 0 says the change is refused. */
static int check_row(struct conn *c, sqlite3_stmt *st, const char *what, const char *id,
                     int taken, const char *name, struct serr *e)
{
    int r = step_row(c, st, what, e), rc = STORE_OK;
    if (r < 0)
        rc = STORE_ERR;
    else if (r == 0)
        rc = sq_err(e, STORE_NOTFOUND, "%s", id);
    else if (sqlite3_column_int(st, 0))
        rc = sq_err(e, taken, "%s", name);
    sqlite3_finalize(st);
    return rc;
}

/* ==== logsets ==== */

static int job_logset_create(struct conn *c, void *arg, struct serr *e)
{
    const struct cls_logset *ls = arg;
    sqlite3_stmt *st = NULL;
    char *tags = NULL;
    size_t tlen = 0;
    int rc = STORE_ERR, r;

    st = sq_prepare_once(c, "SELECT (SELECT count(*) FROM cls_logsets WHERE uin = ?1 AND "
                            "region = ?2), EXISTS(SELECT 1 FROM cls_logsets WHERE id = ?3), "
                            "EXISTS(SELECT 1 FROM cls_logsets WHERE uin = ?1 AND region = ?2 "
                            "AND name = ?4)", e);
    if (!st)
        return STORE_ERR;
    sq_bind_cstr(st, 1, ls->uin);
    sq_bind_cstr(st, 2, ls->region);
    sq_bind_cstr(st, 3, ls->id);
    sq_bind_cstr(st, 4, ls->name);
    if ((r = step_row(c, st, "logset count", e)) != 1)
        goto done;
    if (sqlite3_column_int(st, 1) || sqlite3_column_int(st, 2)) {
        rc = sq_err(e, STORE_EXISTS, "%s", sqlite3_column_int(st, 1) ? ls->id : ls->name);
        goto done;
    }
    if (sqlite3_column_int64(st, 0) >= STORE_CLS_MAX_LOGSETS) {
        rc = sq_err(e, STORE_QUOTA, "%d logsets in %s", STORE_CLS_MAX_LOGSETS, ls->region);
        goto done;
    }
    sqlite3_finalize(st);
    if (!(tags = cls_tags_encode(ls->tags, ls->ntags, &tlen)))
        return sq_err(e, STORE_ERR, "out of memory");
    st = sq_prepare_once(c, "INSERT INTO cls_logsets(id, uin, region, name, created_at, tags) "
                            "VALUES(?1, ?2, ?3, ?4, ?5, ?6)", e);
    if (!st)
        goto done;
    sq_bind_cstr(st, 1, ls->id);
    sq_bind_cstr(st, 2, ls->uin);
    sq_bind_cstr(st, 3, ls->region);
    sq_bind_cstr(st, 4, ls->name);
    sqlite3_bind_int64(st, 5, ls->created_at);
    sqlite3_bind_blob(st, 6, tags, (int)tlen, SQLITE_STATIC);
    rc = sq_exec(c, st, e);
done:
    sqlite3_finalize(st);
    free(tags);
    return rc;
}

int sq_cls_logset_create(struct store *s, const struct cls_logset *ls, struct serr *e)
{
    return sq_write(s, job_logset_create, (void *)ls, e);
}

int sq_cls_logset_list(struct store *s, const char *uin, const char *region,
                              cls_logset_cb cb, void *ud, struct serr *e)
{
    struct conn *c;
    sqlite3_stmt *st;
    int rc = STORE_OK, step;

    if (sq_read_begin(s, &c, e) != STORE_OK)
        return STORE_ERR;
    st = sq_prepare_once(c, "SELECT l.id, l.name, l.created_at, l.tags, (SELECT count(*) FROM "
                            "cls_topics t WHERE t.logset_id = l.id) FROM cls_logsets l "
                            "WHERE l.uin = ?1 AND l.region = ?2 ORDER BY l.created_at, l.id", e);
    if (!st) {
        sq_read_end(s, c);
        return STORE_ERR;
    }
    sq_bind_cstr(st, 1, uin);
    sq_bind_cstr(st, 2, region);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct cls_logset ls;
        struct tag *tags;
        memset(&ls, 0, sizeof ls);
        snprintf(ls.uin, sizeof ls.uin, "%s", uin);
        snprintf(ls.region, sizeof ls.region, "%s", region);
        sq_col_str(st, 0, ls.id, sizeof ls.id);
        sq_col_str(st, 1, ls.name, sizeof ls.name);
        ls.created_at = sqlite3_column_int64(st, 2);
        tags = cls_tags_decode(sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3),
                           &ls.ntags);
        ls.tags = tags;
        ls.topic_count = (uint32_t)sqlite3_column_int(st, 4);
        cb(ud, &ls);
        free(tags);
    }
    if (step != SQLITE_DONE)
        rc = sq_fail(c->db, "logsets", e);
    sqlite3_finalize(st);
    sq_read_end(s, c);
    return rc;
}

struct del_job {
    const char *uin, *region, *id;
};

static int job_logset_delete(struct conn *c, void *arg, struct serr *e)
{
    const struct del_job *j = arg;
    sqlite3_stmt *st = sq_prepare_once(
        c, "SELECT EXISTS(SELECT 1 FROM cls_topics WHERE logset_id = ?3) FROM cls_logsets "
           "WHERE id = ?3 AND uin = ?1 AND region = ?2", e);
    int rc;
    if (!st)
        return STORE_ERR;
    sq_bind_cstr(st, 1, j->uin);
    sq_bind_cstr(st, 2, j->region);
    sq_bind_cstr(st, 3, j->id);
    if ((rc = check_row(c, st, "logset", j->id, STORE_INUSE, j->id, e)) != STORE_OK)
        return rc;
    if (!(st = sq_prepare_once(c, "DELETE FROM cls_logsets WHERE id = ?1", e)))
        return STORE_ERR;
    sq_bind_cstr(st, 1, j->id);
    rc = sq_exec(c, st, e);
    sqlite3_finalize(st);
    return rc;
}

int sq_cls_logset_delete(struct store *s, const char *uin, const char *region,
                                const char *id, struct serr *e)
{
    struct del_job j = {uin, region, id};
    return sq_write(s, job_logset_delete, &j, e);
}

/* ==== topics ==== */

#define TOPIC_COLS                                                                               \
    "id, logset_id, name, period, status, storage_type, describes, partition_count, "           \
    "created_at, tags"

static int job_topic_create(struct conn *c, void *arg, struct serr *e)
{
    const struct cls_topic *t = arg;
    sqlite3_stmt *st;
    char *tags = NULL;
    size_t tlen = 0;
    int rc = STORE_ERR, r;

    st = sq_prepare_once(c, "SELECT (SELECT count(*) FROM cls_topics WHERE logset_id = ?3), "
                            "EXISTS(SELECT 1 FROM cls_topics WHERE id = ?4), "
                            "EXISTS(SELECT 1 FROM cls_topics WHERE logset_id = ?3 AND name = ?5) "
                            "FROM cls_logsets WHERE id = ?3 AND uin = ?1 AND region = ?2", e);
    if (!st)
        return STORE_ERR;
    sq_bind_cstr(st, 1, t->uin);
    sq_bind_cstr(st, 2, t->region);
    sq_bind_cstr(st, 3, t->logset_id);
    sq_bind_cstr(st, 4, t->id);
    sq_bind_cstr(st, 5, t->name);
    if ((r = step_row(c, st, "logset", e)) < 0)
        goto done;
    if (r == 0) {
        rc = sq_err(e, STORE_NOTFOUND, "%s", t->logset_id);
        goto done;
    }
    if (sqlite3_column_int(st, 1) || sqlite3_column_int(st, 2)) {
        rc = sq_err(e, STORE_EXISTS, "%s", sqlite3_column_int(st, 1) ? t->id : t->name);
        goto done;
    }
    if (sqlite3_column_int64(st, 0) >= STORE_CLS_MAX_TOPICS) {
        rc = sq_err(e, STORE_QUOTA, "%d topics in logset %s", STORE_CLS_MAX_TOPICS, t->logset_id);
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!(tags = cls_tags_encode(t->tags, t->ntags, &tlen)))
        return sq_err(e, STORE_ERR, "out of memory");
    st = sq_prepare_once(c, "INSERT INTO cls_topics(uin, region, " TOPIC_COLS ") "
                            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)", e);
    if (!st)
        goto done;
    sq_bind_cstr(st, 1, t->uin);
    sq_bind_cstr(st, 2, t->region);
    sq_bind_cstr(st, 3, t->id);
    sq_bind_cstr(st, 4, t->logset_id);
    sq_bind_cstr(st, 5, t->name);
    sqlite3_bind_int64(st, 6, t->period);
    sqlite3_bind_int(st, 7, t->status);
    sq_bind_cstr(st, 8, t->storage_type);
    sq_bind_cstr(st, 9, t->describes);
    sqlite3_bind_int64(st, 10, t->partition_count);
    sqlite3_bind_int64(st, 11, t->created_at);
    sqlite3_bind_blob(st, 12, tags, (int)tlen, SQLITE_STATIC);
    if ((rc = sq_exec(c, st, e)) != STORE_OK)
        goto done;
    sqlite3_finalize(st);
    /* the topic is a CLS topic of the tenant's inventory: CreateFlowLog
     * takes it as CloudLogId in its region */
    st = sq_prepare_once(c, "INSERT INTO resources(uin, region, kind, id, name, created_at, origin) "
                            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, 1) ON CONFLICT DO NOTHING", e);
    if (!st) {
        rc = STORE_ERR;
        goto done;
    }
    sq_bind_cstr(st, 1, t->uin);
    sq_bind_cstr(st, 2, t->region);
    sqlite3_bind_int(st, 3, RES_CLS_TOPIC);
    sq_bind_cstr(st, 4, t->id);
    sq_bind_cstr(st, 5, t->name);
    sqlite3_bind_int64(st, 6, t->created_at);
    rc = sq_exec(c, st, e);
done:
    sqlite3_finalize(st);
    free(tags);
    return rc;
}

int sq_cls_topic_create(struct store *s, const struct cls_topic *t, struct serr *e)
{
    return sq_write(s, job_topic_create, (void *)t, e);
}

static void topic_row(sqlite3_stmt *st, int at, struct cls_topic *t)
{
    sq_col_str(st, at + 0, t->id, sizeof t->id);
    sq_col_str(st, at + 1, t->logset_id, sizeof t->logset_id);
    sq_col_str(st, at + 2, t->name, sizeof t->name);
    t->period = (uint32_t)sqlite3_column_int64(st, at + 3);
    t->status = sqlite3_column_int(st, at + 4);
    sq_col_str(st, at + 5, t->storage_type, sizeof t->storage_type);
    sq_col_str(st, at + 6, t->describes, sizeof t->describes);
    t->partition_count = (uint32_t)sqlite3_column_int64(st, at + 7);
    t->created_at = sqlite3_column_int64(st, at + 8);
}

int sq_cls_topic_list(struct store *s, const char *uin, const char *region,
                             cls_topic_cb cb, void *ud, struct serr *e)
{
    struct conn *c;
    sqlite3_stmt *st;
    int rc = STORE_OK, step;

    if (sq_read_begin(s, &c, e) != STORE_OK)
        return STORE_ERR;
    st = sq_prepare_once(c, "SELECT " TOPIC_COLS " FROM cls_topics WHERE uin = ?1 AND region = ?2 "
                            "ORDER BY created_at, tnum", e);
    if (!st) {
        sq_read_end(s, c);
        return STORE_ERR;
    }
    sq_bind_cstr(st, 1, uin);
    sq_bind_cstr(st, 2, region);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct cls_topic t;
        struct tag *tags;
        memset(&t, 0, sizeof t);
        snprintf(t.uin, sizeof t.uin, "%s", uin);
        snprintf(t.region, sizeof t.region, "%s", region);
        topic_row(st, 0, &t);
        tags = cls_tags_decode(sqlite3_column_blob(st, 9), (size_t)sqlite3_column_bytes(st, 9),
                           &t.ntags);
        t.tags = tags;
        cb(ud, &t);
        free(tags);
    }
    if (step != SQLITE_DONE)
        rc = sq_fail(c->db, "topics", e);
    sqlite3_finalize(st);
    sq_read_end(s, c);
    return rc;
}

/* The state export's part: every logset, then every topic (ordered by
 * their ids), in the caller's read transaction. */
int sq_cls_dump(struct conn *c, const struct state_sink *sink, struct serr *e)
{
    sqlite3_stmt *st;
    int step;

    if (sink->cls_logset) {
        if (!(st = sq_prepare_once(c, "SELECT uin, region, id, name, created_at, tags FROM "
                                      "cls_logsets ORDER BY id", e)))
            return STORE_ERR;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            struct cls_logset ls;
            struct tag *tags;
            memset(&ls, 0, sizeof ls);
            sq_col_str(st, 0, ls.uin, sizeof ls.uin);
            sq_col_str(st, 1, ls.region, sizeof ls.region);
            sq_col_str(st, 2, ls.id, sizeof ls.id);
            sq_col_str(st, 3, ls.name, sizeof ls.name);
            ls.created_at = sqlite3_column_int64(st, 4);
            tags = cls_tags_decode(sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5),
                               &ls.ntags);
            if (!tags && sqlite3_column_bytes(st, 5) > 0) {
                sqlite3_finalize(st);
                return sq_err(e, STORE_ERR, "dump: tags malformed or out of memory");
            }
            ls.tags = tags;
            sink->cls_logset(sink->ud, &ls);
            free(tags);
        }
        sqlite3_finalize(st);
        if (step != SQLITE_DONE)
            return sq_fail(c->db, "dump logsets", e);
    }
    if (sink->cls_topic) {
        /* in the order they were made (created_at, tnum), which is the
         * order DescribeTopics lists them in: an import makes them again in
         * this order, so topics made in the same second keep their order */
        if (!(st = sq_prepare_once(c, "SELECT " TOPIC_COLS ", uin, region FROM cls_topics "
                                      "ORDER BY created_at, tnum", e)))
            return STORE_ERR;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            struct cls_topic t;
            struct tag *tags;
            memset(&t, 0, sizeof t);
            topic_row(st, 0, &t);
            sq_col_str(st, 10, t.uin, sizeof t.uin);
            sq_col_str(st, 11, t.region, sizeof t.region);
            tags = cls_tags_decode(sqlite3_column_blob(st, 9), (size_t)sqlite3_column_bytes(st, 9),
                               &t.ntags);
            if (!tags && sqlite3_column_bytes(st, 9) > 0) {
                sqlite3_finalize(st);
                return sq_err(e, STORE_ERR, "dump: tags malformed or out of memory");
            }
            t.tags = tags;
            sink->cls_topic(sink->ud, &t);
            free(tags);
        }
        sqlite3_finalize(st);
        if (step != SQLITE_DONE)
            return sq_fail(c->db, "dump topics", e);
    }
    return STORE_OK;
}

struct topic_update_job {
    const struct cls_topic *t;
    int set_tags;
};

static int job_topic_update(struct conn *c, void *arg, struct serr *e)
{
    const struct topic_update_job *j = arg;
    const struct cls_topic *t = j->t;
    sqlite3_stmt *st;
    char *tags = NULL;
    size_t tlen = 0;
    int rc = STORE_ERR;

    st = sq_prepare_once(c, "SELECT EXISTS(SELECT 1 FROM cls_topics o WHERE o.logset_id = "
                            "t.logset_id AND o.name = ?4 AND o.id != t.id) FROM cls_topics t "
                            "WHERE t.id = ?3 AND t.uin = ?1 AND t.region = ?2", e);
    if (!st)
        return STORE_ERR;
    sq_bind_cstr(st, 1, t->uin);
    sq_bind_cstr(st, 2, t->region);
    sq_bind_cstr(st, 3, t->id);
    sq_bind_cstr(st, 4, t->name);
    if ((rc = check_row(c, st, "topic", t->id, STORE_EXISTS, t->name, e)) != STORE_OK)
        return rc;
    rc = STORE_ERR;
    if (j->set_tags && !(tags = cls_tags_encode(t->tags, t->ntags, &tlen)))
        return sq_err(e, STORE_ERR, "out of memory");
    st = sq_prepare_once(c, "UPDATE cls_topics SET name = ?2, period = ?3, status = ?4, "
                            "storage_type = ?5, describes = ?6, partition_count = ?7, "
                            "tags = CASE WHEN ?8 THEN ?9 ELSE tags END WHERE id = ?1", e);
    if (!st)
        goto done;
    sq_bind_cstr(st, 1, t->id);
    sq_bind_cstr(st, 2, t->name);
    sqlite3_bind_int64(st, 3, t->period);
    sqlite3_bind_int(st, 4, t->status);
    sq_bind_cstr(st, 5, t->storage_type);
    sq_bind_cstr(st, 6, t->describes);
    sqlite3_bind_int64(st, 7, t->partition_count);
    sqlite3_bind_int(st, 8, j->set_tags);
    if (tags)
        sqlite3_bind_blob(st, 9, tags, (int)tlen, SQLITE_STATIC);
    else
        sqlite3_bind_blob(st, 9, "", 0, SQLITE_STATIC);
    rc = sq_exec(c, st, e);
done:
    sqlite3_finalize(st);
    free(tags);
    return rc;
}

int sq_cls_topic_update(struct store *s, const struct cls_topic *t, int set_tags,
                               struct serr *e)
{
    struct topic_update_job j = {t, set_tags};
    return sq_write(s, job_topic_update, &j, e);
}

static int exec_bound(struct conn *c, const char *sql, const struct del_job *j, struct serr *e)
{
    sqlite3_stmt *st = sq_prepare_once(c, sql, e);
    int rc;
    if (!st)
        return STORE_ERR;
    sq_bind_cstr(st, 1, j->uin);
    sq_bind_cstr(st, 2, j->region);
    sq_bind_cstr(st, 3, j->id);
    rc = sq_exec(c, st, e);
    sqlite3_finalize(st);
    return rc;
}

static int job_topic_delete(struct conn *c, void *arg, struct serr *e)
{
    const struct del_job *j = arg;
    int rc = exec_bound(c, "DELETE FROM cls_topics WHERE id = ?3 AND uin = ?1 AND region = ?2", j,
                        e);
    char kind[16];
    if (rc != STORE_OK)
        return rc;
    if (sqlite3_changes(c->db) == 0)
        return sq_err(e, STORE_NOTFOUND, "%s", j->id);
    /* its logs and batches went with it (trigger cls_topics_del); the
     * inventory row goes, and the flow logs delivering to it say so */
    snprintf(kind, sizeof kind, "%d", (int)RES_CLS_TOPIC);
    {
        char sql[200];
        snprintf(sql, sizeof sql,
                 "DELETE FROM resources WHERE uin = ?1 AND region = ?2 AND kind = %s AND id = ?3",
                 kind);
        if ((rc = exec_bound(c, sql, j, e)) != STORE_OK)
            return rc;
    }
    return exec_bound(c, "UPDATE flowlogs SET cloud_log_state = 'DELETED' WHERE uin = ?1 AND "
                         "cloud_log_id = ?3 AND (cloud_log_region = ?2 OR (cloud_log_region = '' "
                         "AND region = ?2))", j, e);
}

int sq_cls_topic_delete(struct store *s, const char *uin, const char *region,
                               const char *id, struct serr *e)
{
    struct del_job j = {uin, region, id};
    return sq_write(s, job_topic_delete, &j, e);
}

/* ==== logs ==== */

struct put_job {
    const char *uin, *region, *topic_id;
    const struct cls_group *groups;
    size_t ngroups;
    const char *batch_tag;
    int64_t now_s;
    uint64_t stored;
    unsigned char *scratch;
    size_t cap;
};

static int job_logs_put(struct conn *c, void *arg, struct serr *e)
{
    struct put_job *j = arg;
    sqlite3_stmt *st = NULL, *ins = NULL, *batch = NULL;
    int64_t tnum, seq = 0;
    int rc = STORE_ERR, r;

    j->stored = 0;
    st = sq_prepare_once(c, "SELECT tnum, status FROM cls_topics WHERE id = ?1 AND uin = ?2 AND "
                            "region = ?3", e);
    if (!st)
        return STORE_ERR;
    sq_bind_cstr(st, 1, j->topic_id);
    sq_bind_cstr(st, 2, j->uin);
    sq_bind_cstr(st, 3, j->region);
    if ((r = step_row(c, st, "topic", e)) < 0)
        goto done;
    if (r == 0) {
        rc = sq_err(e, STORE_NOTFOUND, "%s", j->topic_id);
        goto done;
    }
    if (!sqlite3_column_int(st, 1)) {
        rc = sq_err(e, STORE_INUSE, "%s", j->topic_id);
        goto done;
    }
    tnum = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    /* the store's arrival order: this upload's logs follow every log before */
    if (!(st = sq_prepare_once(c, "SELECT v FROM cls_meta WHERE k = 'seq'", e)))
        goto done;
    if ((r = step_row(c, st, "seq", e)) != 1) {
        if (r == 0)
            sq_err(e, STORE_ERR, "cls_meta has no seq");
        goto done;
    }
    seq = sqlite3_column_int64(st, 0);
    ins = sq_prepare_once(c, "INSERT INTO cls_logs(topic, time_ms, source, filename, contents, "
                             "seq) VALUES(?1, ?2, ?3, ?4, ?5, ?6)", e);
    batch = sq_prepare_once(c, "INSERT INTO cls_batches(topic, batch, created_at) "
                               "VALUES(?1, ?2, ?3) ON CONFLICT DO NOTHING", e);
    if (!ins || !batch)
        goto done;
    sqlite3_bind_int64(ins, 1, tnum);
    for (size_t g = 0; g < j->ngroups; g++) {
        const struct cls_group *grp = &j->groups[g];
        const char *batch_id = NULL;
        for (size_t t = 0; j->batch_tag && t < grp->ntags; t++)
            if (strcmp(grp->tags[t].key, j->batch_tag) == 0)
                batch_id = grp->tags[t].value;
        if (batch_id) {
            sqlite3_bind_int64(batch, 1, tnum);
            sq_bind_cstr(batch, 2, batch_id);
            sqlite3_bind_int64(batch, 3, j->now_s);
            if ((rc = sq_exec(c, batch, e)) != STORE_OK)
                goto done;
            rc = STORE_ERR;
            if (sqlite3_changes(c->db) == 0)
                continue; /* this batch is stored already */
        }
        sq_bind_cstr(ins, 3, grp->source);
        sq_bind_cstr(ins, 4, grp->filename);
        for (size_t i = 0; i < grp->nlogs; i++) {
            const struct cls_log *l = &grp->logs[i];
            size_t len = 0;
            for (size_t k = 0; k < l->n; k++)
                if (kv_put(&j->scratch, &j->cap, &len, l->contents[k].key, l->contents[k].klen,
                           l->contents[k].value, l->contents[k].vlen) != 0)
                    goto nomem;
            /* the group's logTags, as CLS shows them: __TAG__.<key> */
            for (size_t t = 0; t < grp->ntags; t++) {
                char key[320];
                int kl;
                if (j->batch_tag && strcmp(grp->tags[t].key, j->batch_tag) == 0)
                    continue;
                kl = snprintf(key, sizeof key, "__TAG__.%s", grp->tags[t].key);
                if (kl < 0 || (size_t)kl >= sizeof key)
                    continue;
                if (kv_put(&j->scratch, &j->cap, &len, key, (size_t)kl, grp->tags[t].value,
                           grp->tags[t].vlen) != 0)
                    goto nomem;
            }
            sqlite3_bind_int64(ins, 2, l->time_ms);
            sqlite3_bind_int64(ins, 6, ++seq);
            sqlite3_bind_blob(ins, 5, len ? (const void *)j->scratch : "", (int)len,
                              SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE) {
                sq_fail(c->db, "log insert", e);
                sqlite3_reset(ins);
                goto done;
            }
            sqlite3_reset(ins);
            j->stored++;
        }
    }
    sqlite3_finalize(st);
    if (!(st = sq_prepare_once(c, "UPDATE cls_meta SET v = ?1 WHERE k = 'seq'", e)))
        goto done;
    sqlite3_bind_int64(st, 1, seq);
    if ((rc = sq_exec(c, st, e)) != STORE_OK)
        goto done;
    rc = STORE_OK;
    goto done;
nomem:
    rc = sq_err(e, STORE_ERR, "out of memory");
done:
    sqlite3_finalize(st);
    sqlite3_finalize(ins);
    sqlite3_finalize(batch);
    return rc;
}

int sq_cls_logs_put(struct store *s, const char *uin, const char *region,
                           const char *topic_id, const struct cls_group *groups, size_t ngroups,
                           const char *batch_tag, uint64_t *stored, struct serr *e)
{
    struct put_job j = {uin, region, topic_id, groups, ngroups, batch_tag, 0, 0, NULL, 0};
    struct timespec ts;
    int rc;
    clock_gettime(CLOCK_REALTIME, &ts);
    j.now_s = (int64_t)ts.tv_sec;
    rc = sq_write(s, job_logs_put, &j, e);
    free(j.scratch);
    if (stored)
        *stored = rc == STORE_OK ? j.stored : 0;
    return rc;
}

int sq_cls_logs_scan(struct store *s, const struct cls_scan *q, cls_log_cb cb, void *ud,
                            uint64_t *max_seq, struct serr *e)
{
    struct conn *c;
    sqlite3_stmt *st = NULL;
    struct cls_kv *kv = NULL;
    size_t cap = 0;
    int64_t tnum, lo = q->from_ms, hi = q->to_ms;
    int rc = STORE_ERR, r, step;

    if (sq_read_begin(s, &c, e) != STORE_OK)
        return STORE_ERR;
    st = sq_prepare_once(c, "SELECT tnum, (SELECT v FROM cls_meta WHERE k = 'seq') FROM "
                            "cls_topics WHERE id = ?1 AND uin = ?2 AND region = ?3", e);
    if (!st)
        goto done;
    sq_bind_cstr(st, 1, q->topic_id);
    sq_bind_cstr(st, 2, q->uin);
    sq_bind_cstr(st, 3, q->region);
    if ((r = step_row(c, st, "topic", e)) < 0)
        goto done;
    if (r == 0) {
        rc = sq_err(e, STORE_NOTFOUND, "%s", q->topic_id);
        goto done;
    }
    tnum = sqlite3_column_int64(st, 0);
    if (max_seq)
        *max_seq = (uint64_t)sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    if (q->after) {
        if (!q->descending && q->after_time > lo)
            lo = q->after_time;
        if (q->descending && q->after_time < hi)
            hi = q->after_time;
    }
    st = sq_prepare_once(
        c, q->descending
               ? "SELECT seq, time_ms, source, filename, contents FROM cls_logs WHERE topic = ?1 "
                 "AND time_ms BETWEEN ?2 AND ?3 AND (?4 = 0 OR (time_ms, seq) < (?5, ?6)) "
                 "AND (?7 = 0 OR seq <= ?7) ORDER BY time_ms DESC, seq DESC"
               : "SELECT seq, time_ms, source, filename, contents FROM cls_logs WHERE topic = ?1 "
                 "AND time_ms BETWEEN ?2 AND ?3 AND (?4 = 0 OR (time_ms, seq) > (?5, ?6)) "
                 "AND (?7 = 0 OR seq <= ?7) ORDER BY time_ms, seq",
        e);
    if (!st)
        goto done;
    sqlite3_bind_int64(st, 1, tnum);
    sqlite3_bind_int64(st, 2, lo);
    sqlite3_bind_int64(st, 3, hi);
    sqlite3_bind_int(st, 4, q->after);
    sqlite3_bind_int64(st, 5, q->after_time);
    sqlite3_bind_int64(st, 6, (int64_t)q->after_seq);
    sqlite3_bind_int64(st, 7, (int64_t)q->max_seq);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct cls_stored_log l;
        long n = cls_kv_decode(sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4), &kv,
                           &cap);
        if (n < 0) {
            rc = sq_err(e, STORE_ERR, "log %lld: its contents column is malformed",
                        (long long)sqlite3_column_int64(st, 0));
            goto done;
        }
        l.seq = (uint64_t)sqlite3_column_int64(st, 0);
        l.time_ms = sqlite3_column_int64(st, 1);
        l.source = (const char *)sqlite3_column_text(st, 2);
        l.filename = (const char *)sqlite3_column_text(st, 3);
        l.contents = kv;
        l.n = (size_t)n;
        if (cb(ud, &l))
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        sq_fail(c->db, "logs", e);
        goto done;
    }
    rc = STORE_OK;
done:
    sqlite3_finalize(st);
    sq_read_end(s, c);
    free(kv);
    return rc;
}

struct expire_job {
    int64_t now_ms;
    uint64_t deleted;
};

/* At most this many logs per job: a long expiry does not hold up the
 * writes queued behind it. */
#define EXPIRE_STEP 20000

static int job_expire(struct conn *c, void *arg, struct serr *e)
{
    struct expire_job *j = arg;
    sqlite3_stmt *st = sq_prepare_once(
        c, "DELETE FROM cls_logs WHERE (topic, time_ms, seq) IN (SELECT l.topic, l.time_ms, l.seq "
           "FROM cls_topics t JOIN cls_logs l ON l.topic = t.tnum AND l.time_ms < ?1 - t.period * "
           "86400000 LIMIT ?2)", e);
    int rc;
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, j->now_ms);
    sqlite3_bind_int(st, 2, EXPIRE_STEP);
    rc = sq_exec(c, st, e);
    sqlite3_finalize(st);
    if (rc != STORE_OK)
        return rc;
    j->deleted = (uint64_t)sqlite3_changes(c->db);
    /* batches are remembered as long as their topic keeps logs */
    st = sq_prepare_once(c, "DELETE FROM cls_batches WHERE (topic, batch) IN (SELECT b.topic, b.batch FROM "
                            "cls_topics t JOIN cls_batches b ON b.topic = t.tnum AND "
                            "b.created_at * 1000 < ?1 - t.period * 86400000 LIMIT ?2)", e);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, j->now_ms);
    sqlite3_bind_int(st, 2, EXPIRE_STEP);
    rc = sq_exec(c, st, e);
    sqlite3_finalize(st);
    return rc;
}

int sq_cls_logs_expire(struct store *s, int64_t now_ms, uint64_t *deleted, struct serr *e)
{
    struct expire_job j = {now_ms, 0};
    uint64_t total = 0;
    int rc;
    do {
        if ((rc = sq_write(s, job_expire, &j, e)) != STORE_OK)
            break;
        total += j.deleted;
    } while (j.deleted == EXPIRE_STEP);
    if (deleted)
        *deleted = total;
    return rc;
}

int sq_cls_topic_owner(struct store *s, const char *topic_id, struct account *out, struct serr *e)
{
    struct conn *c;
    sqlite3_stmt *st;
    int rc, r;

    if (sq_read_begin(s, &c, e) != STORE_OK)
        return STORE_ERR;
    st = sq_prepare_once(
        c, "SELECT a.app_id, a.uin, a.flowlog_quota, a.rate_limit FROM cls_topics t "
           "JOIN accounts a ON a.uin = t.uin WHERE t.id = ?1 AND EXISTS (SELECT 1 FROM flowlogs f "
           "WHERE f.uin = t.uin AND f.cloud_log_id = t.id AND f.enable = 1 AND "
           "(f.cloud_log_region = t.region OR (f.cloud_log_region = '' AND f.region = t.region)))",
        e);
    if (!st) {
        sq_read_end(s, c);
        return STORE_ERR;
    }
    sq_bind_cstr(st, 1, topic_id);
    r = step_row(c, st, "topic owner", e);
    if (r == 1) {
        memset(out, 0, sizeof *out);
        out->app_id = (uint64_t)sqlite3_column_int64(st, 0);
        sq_col_str(st, 1, out->uin, sizeof out->uin);
        out->flowlog_quota = (uint32_t)sqlite3_column_int64(st, 2);
        out->rate_limit = (uint32_t)sqlite3_column_int64(st, 3);
        rc = STORE_OK;
    } else {
        rc = r == 0 ? sq_err(e, STORE_NOTFOUND, "%s", topic_id) : STORE_ERR;
    }
    sqlite3_finalize(st);
    sq_read_end(s, c);
    return rc;
}
