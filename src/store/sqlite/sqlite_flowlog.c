/* sqlite_flowlog.c: flow logs: the write jobs, get, and DescribeFlowLogs.
 *
 * A flow log's tags live twice, written by the same job: in flowlog_tags
 * (indexed per tenant, for the filters) and encoded in flowlogs.tags (so a
 * row is read with no second lookup). integrity_check compares them.
 *
 * Queries are built from the filters present. A query's "shape" (which
 * filters, how many distinct tag-pair keys, order, direction) is a small
 * integer; each reader connection caches the prepared count and page
 * statements of the shapes it has seen. Every parameter has a fixed number
 * so one binding routine serves every shape; lists (tag keys, tag values)
 * are bound as one JSON array each and read with json_each, so their length
 * does not change the shape.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/jsonw.h"
#include "store/sqlite/sqlite_domain.h"

/* ==== rows ==== */

/* Grows *p (of *cap elements of size `size`) to hold `need`. 0 or -1. */
static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? *cap : 16;
    void *q;
    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    q = realloc(*p, n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* Points fl->tags at the pairs of an encoded tags column ("k\0v\0..."),
 * using c's tag array. The strings stay inside SQLite's copy of the column,
 * valid while the statement stays on this row. */
static int decode_tags(struct conn *c, const char *p, size_t n, struct flowlog *fl,
                       struct serr *e)
{
    size_t nul = 0, k = 0;
    fl->tags = NULL;
    fl->ntags = 0;
    if (n == 0 || p[n - 1] != '\0')
        return STORE_OK; /* no tags (or not ours: show none rather than run off the end) */
    for (size_t i = 0; i < n; i++)
        nul += p[i] == '\0';
    if (grow((void **)&c->tags, &c->tags_cap, nul / 2 + 1, sizeof *c->tags) != 0)
        return sq_err(e, STORE_ERR, "out of memory");
    for (const char *end = p + n; k < nul / 2 && p < end; k++) {
        c->tags[k].key = p;
        p += strlen(p) + 1;
        c->tags[k].value = p;
        p += strlen(p) + 1;
    }
    fl->tags = c->tags;
    fl->ntags = k;
    return STORE_OK;
}

/* Fills fl from the row of a statement selecting FL_COLS. */
static int row_to_flowlog(struct conn *c, sqlite3_stmt *st, struct flowlog *fl, struct serr *e)
{
    int i = 0;
#define READ_STR(m) sq_col_str(st, i++, fl->m, sizeof fl->m);
#define READ_TIME(m) fl->m = sqlite3_column_int64(st, i++);
#define READ_BOOL(m) fl->m = sqlite3_column_int(st, i++);
#define READ_PERIOD(m) fl->m = (uint32_t)sqlite3_column_int64(st, i++);
#define READ_KIND(m) fl->m = (enum res_kind)sqlite3_column_int(st, i++);
#define READ_TAGS(m) /* the last column */
#define X(kind, member, size, wire, group) READ_##kind(member)
    FLOWLOG_FIELDS(X)
#undef X
    return decode_tags(c, sqlite3_column_blob(st, i), (size_t)sqlite3_column_bytes(st, i), fl, e);
}

int sq_tags_check(struct conn *c, struct serr *e)
{
    sqlite3_stmt *all = sq_stmt(c, ST_R_ALL_TAGS, e), *one = sq_stmt(c, ST_R_TAGS, e);
    sqlite3_stmt *owner = sq_stmt(c, ST_R_TAG_OWNER_CHECK, e);
    struct flowlog fl;
    int rc = STORE_ERR, step, ok;
    size_t k;

    if (!all || !one || !owner)
        return STORE_ERR;
    step = sqlite3_step(owner);
    if (step == SQLITE_ROW)
        sq_err(e, STORE_ERR, "the tags of %s carry another uin or region",
               (const char *)sqlite3_column_text(owner, 0));
    else if (step != SQLITE_DONE)
        sq_fail(c->db, "tags check", e);
    sqlite3_reset(owner);
    if (step != SQLITE_DONE)
        return STORE_ERR;
    while ((step = sqlite3_step(all)) == SQLITE_ROW) {
        sq_col_str(all, 0, fl.id, sizeof fl.id);
        if (decode_tags(c, sqlite3_column_blob(all, 1), (size_t)sqlite3_column_bytes(all, 1), &fl,
                        e) != STORE_OK)
            goto fail;
        sqlite3_bind_text(one, 1, fl.id, -1, SQLITE_STATIC);
        ok = 1;
        for (k = 0; ok && (step = sqlite3_step(one)) == SQLITE_ROW; k++)
            ok = k < fl.ntags &&
                 strcmp((const char *)sqlite3_column_text(one, 0), fl.tags[k].key) == 0 &&
                 strcmp((const char *)sqlite3_column_text(one, 1), fl.tags[k].value) == 0;
        sqlite3_reset(one);
        if (!ok || k != fl.ntags) {
            sq_err(e, STORE_ERR, "the tags of %s disagree with flowlog_tags", fl.id);
            goto fail;
        }
        if (step != SQLITE_DONE && step != SQLITE_ROW) {
            sq_fail(c->db, "tags check", e);
            goto fail;
        }
    }
    if (step != SQLITE_DONE) {
        sq_fail(c->db, "tags check", e);
        goto fail;
    }
    rc = STORE_OK;
fail:
    sqlite3_reset(one);
    sqlite3_reset(all);
    return rc;
}

/* ==== writes ==== */

struct create_job {
    const struct flowlog *fl;
    uint32_t quota;
    const char *tags; /* encoded: "k\0v\0..." */
    size_t tags_len;
};

/* Why the insert of fl failed on a uniqueness constraint: the resource's
 * flow log (STORE_EXISTS, named in e) or, if it has none, the id. */
static int create_taken(struct conn *c, const struct flowlog *fl, struct serr *e)
{
    sqlite3_stmt *st = sq_stmt(c, ST_W_FL_OF_RESOURCE, e);
    int rc, step;
    if (!st)
        return STORE_ERR;
    sq_bind_str(st, 1, fl->uin, sizeof fl->uin);
    sq_bind_str(st, 2, fl->region, sizeof fl->region);
    sqlite3_bind_int(st, 3, (int)fl->resource_kind);
    sq_bind_str(st, 4, fl->resource_id, sizeof fl->resource_id);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = sq_err(e, STORE_EXISTS, "%s", (const char *)sqlite3_column_text(st, 0));
    else if (step == SQLITE_DONE)
        rc = sq_err(e, STORE_CONFLICT, "%.*s", (int)sizeof fl->id, fl->id);
    else
        rc = sq_fail(c->db, "create: the resource's flow log", e);
    sqlite3_reset(st);
    return rc;
}

/* After the insert: over the quota (the region's count now includes fl)?
 * quota 0: the account's own. */
static int create_quota(struct conn *c, const struct flowlog *fl, uint32_t quota, struct serr *e)
{
    sqlite3_stmt *st = sq_stmt(c, ST_W_FL_QUOTA, e);
    int64_t used, limit;
    int rc;
    if (!st)
        return STORE_ERR;
    sq_bind_str(st, 1, fl->uin, sizeof fl->uin);
    sq_bind_str(st, 2, fl->region, sizeof fl->region);
    sqlite3_bind_int64(st, 3, (int64_t)quota);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = sq_fail(c->db, "create: quota", e);
    } else {
        used = sqlite3_column_int64(st, 0) - 1; /* before this one */
        limit = sqlite3_column_int64(st, 1);
        rc = used >= limit ? sq_err(e, STORE_QUOTA, "%lld flow logs in %.*s (quota %lld)",
                                    (long long)used, (int)sizeof fl->region, fl->region,
                                    (long long)limit)
                           : STORE_OK;
    }
    sqlite3_reset(st);
    return rc;
}

/* The row goes in first: its constraints are the checks (the account by
 * the foreign key, the resource's one flow log and the id by the unique
 * indexes), so each B-tree is searched once; the rare failure is explained
 * afterwards. Then the quota, counted with the new row; a failing job is
 * rolled back to its savepoint by the writer. */
static int job_flowlog_create(struct conn *c, void *arg, struct serr *e)
{
    struct create_job *j = arg;
    const struct flowlog *fl = j->fl;
    sqlite3_stmt *ins = sq_stmt(c, ST_W_FL_INSERT, e);
    sqlite3_stmt *tag = sq_stmt(c, ST_W_TAG_INSERT, e);
    int rc, step, ext, taken;

    if (!ins || !tag)
        return STORE_ERR;

    {
        int i = 1;
#define BIND_STR(m) sq_bind_str(ins, i++, fl->m, sizeof fl->m);
#define BIND_TIME(m) sqlite3_bind_int64(ins, i++, fl->m);
#define BIND_BOOL(m) sqlite3_bind_int(ins, i++, fl->m ? 1 : 0);
#define BIND_PERIOD(m) sqlite3_bind_int64(ins, i++, fl->m);
#define BIND_KIND(m) sqlite3_bind_int(ins, i++, (int)fl->m);
#define BIND_TAGS(m) /* the last column, encoded */
#define X(kind, member, size, wire, group) BIND_##kind(member)
        FLOWLOG_FIELDS(X)
#undef X
        sqlite3_bind_blob(ins, i, j->tags, (int)j->tags_len, SQLITE_STATIC);
    }
    step = sqlite3_step(ins);
    ext = step == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(c->db);
    taken = ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY;
    if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
        rc = sq_err(e, STORE_NOTFOUND, "%.*s", (int)sizeof fl->uin, fl->uin);
    else if (ext != SQLITE_OK && !taken)
        rc = sq_fail(c->db, "create", e);
    else
        rc = STORE_OK;
    sqlite3_reset(ins);
    if (taken)
        return create_taken(c, fl, e);
    if (rc != STORE_OK || (rc = create_quota(c, fl, j->quota, e)) != STORE_OK)
        return rc;

    for (size_t i = 0; i < fl->ntags; i++) {
        sq_bind_str(tag, 1, fl->id, sizeof fl->id);
        sq_bind_cstr(tag, 2, fl->tags[i].key ? fl->tags[i].key : "");
        sq_bind_cstr(tag, 3, fl->tags[i].value ? fl->tags[i].value : "");
        sqlite3_bind_int64(tag, 4, (int64_t)i);
        sq_bind_str(tag, 5, fl->uin, sizeof fl->uin);
        sq_bind_str(tag, 6, fl->region, sizeof fl->region);
        if (sq_exec(c, tag, e) != STORE_OK)
            return STORE_ERR;
    }
    return STORE_OK;
}

/* Encodes fl's tags for the row's tags column ("k\0v\0..."): into small
 * (cap bytes) when they fit, else into *big (malloc'd, the caller frees).
 * NULL when out of memory. */
static const char *encode_tags(const struct flowlog *fl, char *small, size_t cap, char **big,
                               size_t *len_out)
{
    size_t len = 0, kl, vl;
    char *p = small, *out;

    *big = NULL;
    for (size_t i = 0; i < fl->ntags; i++)
        len += strlen(fl->tags[i].key ? fl->tags[i].key : "") +
               strlen(fl->tags[i].value ? fl->tags[i].value : "") + 2;
    if (len > cap && !(p = *big = malloc(len)))
        return NULL;
    *len_out = len;
    out = p;
    for (size_t i = 0; i < fl->ntags; i++) {
        const char *k = fl->tags[i].key ? fl->tags[i].key : "";
        const char *v = fl->tags[i].value ? fl->tags[i].value : "";
        kl = strlen(k) + 1;
        vl = strlen(v) + 1;
        memcpy(p, k, kl);
        memcpy(p + kl, v, vl);
        p += kl + vl;
    }
    return out;
}

int sq_flowlog_create(struct store *st, const struct flowlog *fl, uint32_t quota,
                      struct serr *e)
{
    char small[2048];
    struct create_job j = {.fl = fl, .quota = quota};
    char *big;
    int rc;

    /* encode the tags here, not in the writer's critical path */
    if (!(j.tags = encode_tags(fl, small, sizeof small, &big, &j.tags_len)))
        return sq_err(e, STORE_ERR, "out of memory");
    rc = sq_write(st, job_flowlog_create, &j, e);
    free(big);
    return rc;
}

/* An asynchronous create: everything the job needs, owned by the op until
 * its completion. */
struct create_async {
    struct wjob job;
    struct create_job cj;
    struct store_op *op;
    char *big; /* the tags when they did not fit `small` */
    char small[512];
};

static void create_async_done(struct wjob *j)
{
    struct create_async *ca = j->ud;
    struct store_op *op = ca->op;

    op->rc = j->rc;
    free(ca->big);
    free(ca);
    op->done(op); /* the op may be gone from here on */
}

int sq_flowlog_create_async(struct store *st, const struct flowlog *fl, uint32_t quota,
                            struct store_op *op)
{
    struct create_async *ca = calloc(1, sizeof *ca);

    if (!ca)
        return sq_err(&op->err, STORE_ERR, "out of memory");
    ca->cj.fl = fl;
    ca->cj.quota = quota;
    if (!(ca->cj.tags = encode_tags(fl, ca->small, sizeof ca->small, &ca->big, &ca->cj.tags_len))) {
        free(ca);
        return sq_err(&op->err, STORE_ERR, "out of memory");
    }
    ca->op = op;
    ca->job.fn = job_flowlog_create;
    ca->job.arg = &ca->cj;
    ca->job.err = &op->err;
    ca->job.complete = create_async_done;
    ca->job.ud = ca;
    if (sq_write_async(st, &ca->job) != STORE_OK) {
        free(ca->big);
        free(ca);
        return STORE_ERR;
    }
    return STORE_OK;
}

/* Who and which flow log a job is about. */
struct target {
    const char *uin, *region, *id;
};

/* Binds ?1 uin, ?2 region, ?3 id. */
static void bind_target(sqlite3_stmt *st, const struct target *t)
{
    sq_bind_cstr(st, 1, t->uin ? t->uin : "");
    sq_bind_cstr(st, 2, t->region ? t->region : "");
    sq_bind_cstr(st, 3, t->id ? t->id : "");
}

struct update_job {
    struct target t;
    const struct flowlog_patch *p;
};

static int job_flowlog_update(struct conn *c, void *arg, struct serr *e)
{
    struct update_job *j = arg;
    sqlite3_stmt *up = sq_stmt(c, ST_W_FL_UPDATE, e);
    if (!up)
        return STORE_ERR;
    bind_target(up, &j->t);
    sq_bind_cstr(up, 4, j->p ? j->p->name : NULL);
    sq_bind_cstr(up, 5, j->p ? j->p->description : NULL);
    sqlite3_bind_int64(up, 6, j->p ? j->p->period : 0);
    sq_bind_cstr(up, 7, j->p ? j->p->record_format : NULL);
    if (sq_exec(c, up, e) != STORE_OK)
        return STORE_ERR;
    if (sqlite3_changes(c->db) == 0)
        return sq_err(e, STORE_NOTFOUND, "%s", j->t.id ? j->t.id : "");
    return STORE_OK;
}

int sq_flowlog_update(struct store *st, const char *uin, const char *region, const char *id,
                      const struct flowlog_patch *p, struct serr *e)
{
    struct update_job j = {.t = {uin, region, id}, .p = p};
    return sq_write(st, job_flowlog_update, &j, e);
}

static int job_flowlog_delete(struct conn *c, void *arg, struct serr *e)
{
    struct target *t = arg;
    sqlite3_stmt *del = sq_stmt(c, ST_W_FL_DELETE, e);
    sqlite3_stmt *tags = sq_stmt(c, ST_W_TAG_DELETE, e);
    if (!del || !tags)
        return STORE_ERR;
    bind_target(del, t);
    if (sq_exec(c, del, e) != STORE_OK)
        return STORE_ERR;
    if (sqlite3_changes(c->db) == 0)
        return sq_err(e, STORE_NOTFOUND, "%s", t->id ? t->id : "");
    /* the foreign key cascades too; this also covers connections without it */
    sq_bind_cstr(tags, 1, t->id);
    return sq_exec(c, tags, e);
}

int sq_flowlog_delete(struct store *st, const char *uin, const char *region, const char *id,
                      struct serr *e)
{
    struct target t = {uin, region, id};
    return sq_write(st, job_flowlog_delete, &t, e);
}

struct enable_job {
    const char *uin, *region;
    const char *const *ids;
    size_t n;
    int enable;
};

static int job_flowlog_set_enable(struct conn *c, void *arg, struct serr *e)
{
    struct enable_job *j = arg;
    sqlite3_stmt *up = sq_stmt(c, ST_W_FL_ENABLE, e);
    struct target t = {j->uin, j->region, NULL};
    if (!up)
        return STORE_ERR;
    for (size_t i = 0; i < j->n; i++) {
        t.id = j->ids[i];
        bind_target(up, &t);
        sqlite3_bind_int(up, 4, j->enable);
        if (sq_exec(c, up, e) != STORE_OK)
            return STORE_ERR;
        if (sqlite3_changes(c->db) == 0)
            return sq_err(e, STORE_NOTFOUND, "%s", t.id ? t.id : "");
    }
    return STORE_OK;
}

int sq_flowlog_set_enable(struct store *st, const char *uin, const char *region,
                          const char *const *ids, size_t n, int enable, struct serr *e)
{
    struct enable_job j = {uin, region, ids, n, enable ? 1 : 0};
    return sq_write(st, job_flowlog_set_enable, &j, e);
}

/* ==== get ==== */

int sq_flowlog_get(struct store *st, const char *uin, const char *region, const char *id,
                   flowlog_cb cb, void *ud, struct serr *e)
{
    struct conn *c = NULL;
    struct target t = {uin, region, id};
    struct flowlog fl;
    sqlite3_stmt *q = NULL;
    int rc = STORE_ERR, step;

    if (sq_read_begin(st, &c, e) != STORE_OK)
        return STORE_ERR;
    q = sq_stmt(c, ST_R_FL_GET, e);
    if (!q)
        goto fail;
    bind_target(q, &t);
    step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = sq_err(e, STORE_NOTFOUND, "%s", id ? id : "");
        goto fail;
    }
    if (step != SQLITE_ROW) {
        sq_fail(c->db, "flow log", e);
        goto fail;
    }
    if (row_to_flowlog(c, q, &fl, e) != STORE_OK)
        goto fail;
    if (cb)
        cb(ud, &fl); /* q stays on the row: fl.tags points into it */
    rc = STORE_OK;
fail:
    if (q)
        sqlite3_reset(q);
    sq_read_end(st, c);
    return rc;
}

/* ==== query ==== */

/* Parameter numbers, fixed for every shape. */
enum {
    P_UIN = 1,
    P_REGION = 2,
    P_LIMIT = 3,
    P_OFFSET = 4,
    P_SCALAR = 5, /* 5..13, one per scalar_filters[] entry */
    P_TAG_KEYS = 14,
    P_PAIRS = 15, /* pair k: key ?(15+2k), values (JSON) ?(16+2k) */
};

/* the exact-match filters: store_util.h's, one list for both backends */
#define scalar_filters store_fl_filters
#define NSCALAR STORE_FL_NFILTERS

/* Shape bits: 0..8 scalar filters, 9 tag-key, 10..13 distinct tag-pair
 * keys (0..15), 14 order by name, 15 descending, 16..21 VPC arms of a
 * merged page (0..MERGE_MAX). More pair keys than MAX_CACHED_PAIRS:
 * prepared for the call only. */
#define SHAPE_SCALARS ((1u << NSCALAR) - 1)
#define SHAPE_TAG_KEYS (1u << 9)
#define SHAPE_PAIRS_SHIFT 10
#define MAX_CACHED_PAIRS 15u
#define SHAPE_FILTERS ((1u << 14) - 1)
#define SCALAR_VPC 0 /* scalar_filters[0] is vpc_id */
#define SHAPE_VPC_ONLY (1u << SCALAR_VPC)
#define SHAPE_NAME (1u << 14)
#define SHAPE_DESC (1u << 15)
#define SHAPE_ARMS_SHIFT 16
#define MERGE_MAX 32 /* VPCs of a merged name-order page, at most */
#define MAX_LIST_JSON (1u << 20)

/* A query's filters in bindable form. */
struct plan {
    uint32_t shape;
    const char *scalar[NSCALAR]; /* non-empty filter or NULL */
    char kind_text[12];          /* the ResourceType filter's kind as text */
    size_t npairs;               /* distinct tag-pair keys */
    struct buf json;             /* keys JSON, then per pair: values JSON; NUL-separated */
    size_t keys_off, keys_len;
    struct pair_ref {
        const char *key;
        size_t off, len; /* its values' JSON in json */
    } *pairs;
    size_t narms;           /* a merged page: one arm per VPC of the tenant */
    struct buf vpcs;        /* their ids, NUL-terminated one after the other */
};

static void plan_free(struct plan *pl)
{
    buf_free(&pl->json);
    buf_free(&pl->vpcs);
    free(pl->pairs);
}

/* The parameter of a merged page's VPC arm k: after the pairs'. */
static int p_arm(const struct plan *pl, size_t k)
{
    return P_PAIRS + 2 * (int)pl->npairs + (int)k;
}

/* A page in name order without a VpcId filter: flowlogs_vpc_name orders
 * each of the tenant's VPCs by name, so the page is a merge of one ordered
 * arm per VPC (SQLite merges the arms of a compound SELECT with ORDER BY
 * and stops at LIMIT + OFFSET rows), instead of sorting all the tenant's
 * rows. Reads the tenant's VPCs (vpc_usage) into pl; with none, or more
 * than MERGE_MAX, the page is sorted as any other. Not with tag filters:
 * their matches are found first (and each arm would find them again). */
static int plan_arms(struct conn *c, const struct flowlog_query *q, struct plan *pl,
                     struct serr *e)
{
    sqlite3_stmt *st;
    int step;

    if (!(pl->shape & SHAPE_NAME) || (pl->shape & SHAPE_VPC_ONLY) ||
        (pl->shape & SHAPE_TAG_KEYS) || pl->npairs)
        return STORE_OK;
    if (!(st = sq_stmt(c, ST_R_FL_VPCS, e)))
        return STORE_ERR;
    sq_bind_cstr(st, 1, q->uin ? q->uin : "");
    sq_bind_cstr(st, 2, q->region ? q->region : "");
    sqlite3_bind_int(st, 3, MERGE_MAX + 1);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        if (buf_append(&pl->vpcs, v ? (const char *)v : "",
                       (size_t)sqlite3_column_bytes(st, 0) + 1) != 0) {
            sqlite3_reset(st);
            return sq_err(e, STORE_ERR, "out of memory");
        }
        pl->narms++;
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE)
        return sq_fail(c->db, "the tenant's VPCs", e);
    if (pl->narms > MERGE_MAX)
        pl->narms = 0;
    pl->shape |= (uint32_t)pl->narms << SHAPE_ARMS_SHIFT;
    return STORE_OK;
}

/* Works out the shape and the JSON lists of q. */
static int plan_build(const struct flowlog_query *q, struct plan *pl, struct serr *e)
{
    struct buf *b = &pl->json;
    size_t start;

    memset(pl, 0, sizeof *pl);
    buf_init(b, MAX_LIST_JSON);
    buf_init(&pl->vpcs, 1u << 16);
    for (size_t i = 0; i < NSCALAR; i++) {
        const char *v = store_fl_filter_value(q, i, pl->kind_text);
        if (v) {
            pl->scalar[i] = v;
            pl->shape |= 1u << i;
        }
    }
    if (q->ntag_keys_any) {
        pl->shape |= SHAPE_TAG_KEYS;
        if (store_json_strings(b, q->tag_keys_any, q->ntag_keys_any, NULL, 0, NULL) != 0)
            goto oom;
        pl->keys_off = 0;
        pl->keys_len = b->len - 1;
    }
    if (q->ntag_pairs) {
        pl->pairs = calloc(q->ntag_pairs, sizeof *pl->pairs);
        if (!pl->pairs)
            goto oom;
        /* one entry per distinct key, in order of first appearance */
        for (size_t i = 0; i < q->ntag_pairs; i++) {
            const char *k = q->tag_pairs[i].key ? q->tag_pairs[i].key : "";
            size_t seen = 0;
            for (size_t j = 0; j < i && !seen; j++)
                seen = strcmp(k, q->tag_pairs[j].key ? q->tag_pairs[j].key : "") == 0;
            if (seen)
                continue;
            start = b->len;
            /* the values given for k (its first pair is i) */
            if (store_json_strings(b, NULL, 0, q->tag_pairs + i, q->ntag_pairs - i, k) != 0)
                goto oom;
            pl->pairs[pl->npairs].key = k;
            pl->pairs[pl->npairs].off = start;
            pl->pairs[pl->npairs].len = b->len - 1 - start;
            pl->npairs++;
        }
        pl->shape |= (uint32_t)(pl->npairs < MAX_CACHED_PAIRS ? pl->npairs : MAX_CACHED_PAIRS)
                     << SHAPE_PAIRS_SHIFT;
    }
    if (q->order == ORDER_NAME)
        pl->shape |= SHAPE_NAME;
    if (q->descending)
        pl->shape |= SHAPE_DESC;
    return STORE_OK;
oom:
    return sq_err(e, STORE_ERR, "query filters too large or out of memory");
}

/* Appends the set of flow-log ids of this tenant that have tag set k
 * (-1: the tag-key list, else distinct pair key k). */
static int tag_set_sql(struct buf *b, int k)
{
    if (k < 0)
        return buf_printf(b,
                          "SELECT t.flowlog_id FROM flowlog_tags t"
                          " WHERE t.uin = ?%d AND t.region = ?%d"
                          " AND t.key IN (SELECT value FROM json_each(?%d))",
                          P_UIN, P_REGION, P_TAG_KEYS);
    return buf_printf(b,
                      "SELECT t.flowlog_id FROM flowlog_tags t"
                      " WHERE t.uin = ?%d AND t.region = ?%d AND t.key = ?%d"
                      " AND t.value IN (SELECT value FROM json_each(?%d))",
                      P_UIN, P_REGION, P_PAIRS + 2 * k, P_PAIRS + 2 * k + 1);
}

/* The count of a query whose only filters are tags, from the tenant's part
 * of flowlog_tags_kv alone: exact, as a flow log has one row per key there,
 * under its own uin and region. */
static int tag_count_sql(const struct plan *pl, struct buf *b)
{
    int keys = (pl->shape & SHAPE_TAG_KEYS) != 0, r = 0;
    size_t nsets = (size_t)keys + pl->npairs;
    if (nsets == 1 && !keys) /* one pair key: no flow log twice */
        return buf_puts(b, "SELECT count(*) FROM (") || tag_set_sql(b, 0) || buf_puts(b, ")");
    if (nsets == 1) /* one flow log may have several of the keys */
        return buf_puts(b, "SELECT count(DISTINCT flowlog_id) FROM (") || tag_set_sql(b, -1) ||
               buf_puts(b, ")");
    r |= buf_puts(b, "SELECT count(*) FROM (");
    for (int k = keys ? -1 : 0; k < (int)pl->npairs; k++) {
        if (k > (keys ? -1 : 0))
            r |= buf_puts(b, " INTERSECT ");
        r |= tag_set_sql(b, k);
    }
    r |= buf_puts(b, ")");
    return r;
}

/* Writes the SQL of pl's shape: the count (page = 0) or the page query. */
static int shape_sql(const struct plan *pl, int page, struct buf *b)
{
    const char *dir = (pl->shape & SHAPE_DESC) ? "DESC" : "ASC";
    int r = 0;
    /* counts kept by triggers: no need to count */
    if (!page && !(pl->shape & SHAPE_FILTERS)) /* P_UIN and P_REGION are ?1 and ?2 */
        return buf_puts(b, REGION_COUNT_SQL);
    if (!page && (pl->shape & SHAPE_FILTERS) == SHAPE_VPC_ONLY)
        return buf_printf(b,
                          "SELECT coalesce((SELECT flowlogs FROM vpc_usage"
                          " WHERE uin = ?%d AND region = ?%d AND vpc_id = ?%d), 0)",
                          P_UIN, P_REGION, P_SCALAR + SCALAR_VPC);
    if (!page && !(pl->shape & SHAPE_SCALARS))
        return tag_count_sql(pl, b);
    /* a merged page (plan_arms): the same selection once per VPC */
    for (size_t arm = 0; arm < (page && pl->narms ? pl->narms : 1); arm++) {
        if (arm)
            r |= buf_puts(b, " UNION ALL ");
        r |= buf_puts(b, page ? "SELECT " FL_COLS " FROM flowlogs f"
                              : "SELECT count(*) FROM flowlogs f");
        r |= buf_printf(b, " WHERE f.uin = ?%d AND f.region = ?%d", P_UIN, P_REGION);
        if (page && pl->narms)
            r |= buf_printf(b, " AND f.vpc_id = ?%d", p_arm(pl, arm));
        for (size_t i = 0; i < NSCALAR; i++)
            if (pl->shape & (1u << i))
                r |= buf_printf(b, " AND f.%s = ?%d", scalar_filters[i].col, P_SCALAR + (int)i);
        /* tag filters read only this tenant's part of flowlog_tags_kv */
        for (int k = (pl->shape & SHAPE_TAG_KEYS) ? -1 : 0; k < (int)pl->npairs; k++) {
            r |= buf_puts(b, " AND f.id IN (");
            r |= tag_set_sql(b, k);
            r |= buf_puts(b, ")");
        }
    }
    /* (a compound's ORDER BY names its result columns, which are f's) */
    if (page)
        r |= buf_printf(b, " ORDER BY %s %s, id %s LIMIT ?%d OFFSET ?%d",
                        (pl->shape & SHAPE_NAME) ? "name" : "created_at", dir, dir, P_LIMIT,
                        P_OFFSET);
    return r ? -1 : 0;
}

static sqlite3_stmt *shape_prepare(struct conn *c, const struct plan *pl, int page,
                                   unsigned flags, struct serr *e)
{
    struct buf sql;
    sqlite3_stmt *st = NULL;
    buf_init(&sql, 0);
    if (shape_sql(pl, page, &sql) != 0)
        sq_err(e, STORE_ERR, "out of memory");
    else if (sqlite3_prepare_v3(c->db, sql.data, (int)sql.len, flags, &st, NULL) != SQLITE_OK) {
        sq_fail(c->db, "prepare query", e);
        st = NULL;
    }
    buf_free(&sql);
    return st;
}

/* The count and page statements of pl's shape: from c's cache, or (too many
 * pair keys) prepared for this call, which *own then says. */
static int shape_get(struct conn *c, const struct plan *pl, sqlite3_stmt **count,
                     sqlite3_stmt **page, int *own, struct serr *e)
{
    struct shape_slot *sl;
    *own = pl->npairs >= MAX_CACHED_PAIRS;
    if (*own) {
        *count = shape_prepare(c, pl, 0, 0, e);
        *page = *count ? shape_prepare(c, pl, 1, 0, e) : NULL;
        return *count && *page ? STORE_OK : STORE_ERR;
    }
    sl = &c->shapes[(pl->shape * 2654435761u) >> 26 & (SHAPE_SLOTS - 1)];
    if (sl->key != pl->shape + 1) {
        sqlite3_finalize(sl->count);
        sqlite3_finalize(sl->page);
        sl->key = 0;
        sl->count = shape_prepare(c, pl, 0, SQLITE_PREPARE_PERSISTENT, e);
        sl->page = sl->count ? shape_prepare(c, pl, 1, SQLITE_PREPARE_PERSISTENT, e) : NULL;
        if (!sl->page) {
            sqlite3_finalize(sl->count);
            sl->count = NULL;
            return STORE_ERR;
        }
        sl->key = pl->shape + 1;
    }
    *count = sl->count;
    *page = sl->page;
    return STORE_OK;
}

/* Binds every filter of pl (and, for the page query, limit and offset). */
static void plan_bind(sqlite3_stmt *st, const struct flowlog_query *q, const struct plan *pl,
                      int page)
{
    sq_bind_cstr(st, P_UIN, q->uin ? q->uin : "");
    sq_bind_cstr(st, P_REGION, q->region ? q->region : "");
    for (size_t i = 0; i < NSCALAR; i++)
        if (pl->scalar[i])
            sq_bind_cstr(st, P_SCALAR + (int)i, pl->scalar[i]);
    if (pl->shape & SHAPE_TAG_KEYS)
        sqlite3_bind_text(st, P_TAG_KEYS, pl->json.data + pl->keys_off, (int)pl->keys_len,
                          SQLITE_STATIC);
    for (size_t k = 0; k < pl->npairs; k++) {
        sq_bind_cstr(st, P_PAIRS + 2 * (int)k, pl->pairs[k].key);
        sqlite3_bind_text(st, P_PAIRS + 2 * (int)k + 1, pl->json.data + pl->pairs[k].off,
                          (int)pl->pairs[k].len, SQLITE_STATIC);
    }
    if (page) {
        const char *v = pl->vpcs.data;
        for (size_t k = 0; k < pl->narms; k++, v += strlen(v) + 1)
            sq_bind_cstr(st, p_arm(pl, k), v);
        sqlite3_bind_int64(st, P_LIMIT,
                           q->limit == 0 || q->limit > INT64_MAX ? -1 : (int64_t)q->limit);
        sqlite3_bind_int64(st, P_OFFSET, q->offset > INT64_MAX ? INT64_MAX : (int64_t)q->offset);
    }
}

int sq_flowlog_query(struct store *st, const struct flowlog_query *q, flowlog_cb cb, void *ud,
                     uint64_t *total, struct serr *e)
{
    struct conn *c = NULL;
    sqlite3_stmt *count = NULL, *page = NULL;
    struct plan pl;
    struct flowlog fl;
    int64_t n = -1;
    int rc = STORE_ERR, own = 0, step;

    if (sq_read_begin(st, &c, e) != STORE_OK)
        return STORE_ERR;
    if (plan_build(q, &pl, e) != STORE_OK || plan_arms(c, q, &pl, e) != STORE_OK ||
        shape_get(c, &pl, &count, &page, &own, e) != 0)
        goto fail;
    /* count and page see one snapshot (sq_read_begin) */
    if (total) {
        plan_bind(count, q, &pl, 0);
        if (sqlite3_step(count) != SQLITE_ROW) {
            sq_fail(c->db, "count", e);
            goto fail;
        }
        n = sqlite3_column_int64(count, 0);
        *total = (uint64_t)n;
        sqlite3_reset(count);
    }
    if (n < 0 || (uint64_t)n > q->offset) {
        plan_bind(page, q, &pl, 1);
        while ((step = sqlite3_step(page)) == SQLITE_ROW) {
            if (row_to_flowlog(c, page, &fl, e) != STORE_OK)
                goto fail;
            if (cb)
                cb(ud, &fl);
        }
        if (step != SQLITE_DONE) {
            sq_fail(c->db, "query", e);
            goto fail;
        }
    }
    rc = STORE_OK;
fail:
    if (count)
        sqlite3_reset(count);
    if (page)
        sqlite3_reset(page);
    if (own) {
        sqlite3_finalize(count);
        sqlite3_finalize(page);
    }
    plan_free(&pl);
    sq_read_end(st, c);
    return rc;
}

int sq_dump_flowlogs(struct conn *c, const struct state_sink *sink, struct serr *e)
{
    sqlite3_stmt *q = sq_prepare_once(c, "SELECT " FL_COLS " FROM flowlogs ORDER BY uin, region, id", e);
    struct flowlog fl;
    int step, rc = STORE_OK;
    if (!q)
        return STORE_ERR;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if ((rc = row_to_flowlog(c, q, &fl, e)) != STORE_OK)
            break;
        sink->flowlog(sink->ud, &fl);
    }
    if (rc == STORE_OK && step != SQLITE_DONE)
        rc = sq_fail(c->db, "dump flow logs", e);
    sqlite3_finalize(q);
    return rc;
}

int sq_host_flowlogs(struct conn *c, const char *host, const struct host_sink *sink,
                     struct serr *e)
{
    /* a flow log covers a bound resource by its own id, its subnet's or its
     * VPC's; ids are unique, so the account alone scopes the match */
    sqlite3_stmt *q = sq_prepare_once(
        c,
        "SELECT " FL_COLS " FROM flowlogs f WHERE f.enable = 1 AND EXISTS (SELECT 1 FROM "
        "host_bindings b JOIN resources r USING (uin, region, kind, id) WHERE b.host = ?1 AND "
        "r.uin = f.uin AND f.resource_id IN (r.id, r.subnet_id, r.vpc_id)) "
        "ORDER BY f.uin, f.region, f.id",
        e);
    struct flowlog fl;
    int step, rc = STORE_OK;
    if (!q)
        return STORE_ERR;
    sq_bind_cstr(q, 1, host);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if ((rc = row_to_flowlog(c, q, &fl, e)) != STORE_OK)
            break;
        sink->flowlog(sink->ud, &fl);
    }
    if (rc == STORE_OK && step != SQLITE_DONE)
        rc = sq_fail(c->db, "host flow logs", e);
    sqlite3_finalize(q);
    return rc;
}
