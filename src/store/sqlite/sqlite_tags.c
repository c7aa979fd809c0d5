/* sqlite_tags.c: a flow log's tags changed through the tag service.
 *
 * The tags live twice (see sqlite_flowlog.c): encoded in flowlogs.tags
 * ("key\0value\0..." in order) and as flowlog_tags rows (pos = that order,
 * uin and region the flow log's). One writer job reads the encoded list,
 * removes the keys to delete, replaces the values of keys it has and appends
 * new keys at the end, then rewrites both copies, so they never disagree.
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_domain.h"

#define MAX_TAG_KEYS 50

struct tags_job {
    const char *uin, *region, *id;
    const struct tag *set;
    size_t nset;
    const char *const *del;
    size_t ndel;
};

/* Merges the old encoded list (p, n bytes) with the job into out (room for
 * cap). Returns the count, or -1 if more than cap keys would result. */
static long merge(const struct tags_job *j, const char *p, size_t n, struct store_kv *out,
                  size_t cap)
{
    size_t cnt = 0;
    const char *end = p + n;

    /* the old tags, in order, minus the deleted keys */
    if (n > 0 && p[n - 1] == '\0') {
        while (p < end) {
            const char *k = p, *v;
            p += strlen(p) + 1;
            if (p >= end)
                break;
            v = p;
            p += strlen(p) + 1;
            if (store_tags_keep(out, &cnt, cap, k, v, j->del, j->ndel) != 0)
                return -1;
        }
    }
    /* upserts: a key present keeps its place, a new one goes last */
    if (store_tags_upsert(out, &cnt, cap, j->set, j->nset) != 0)
        return -1;
    return (long)cnt;
}

static int job_tags_modify(struct conn *c, void *arg, struct serr *e)
{
    struct tags_job *j = arg;
    struct store_kv tags[MAX_TAG_KEYS + 1];
    sqlite3_stmt *get = NULL, *up = NULL, *clear = NULL, *ins = NULL;
    char *blob = NULL, *old = NULL;
    size_t len = 0, old_len;
    long n;
    int rc = STORE_ERR, step;

    get = sq_prepare_once(c, "SELECT tags FROM flowlogs WHERE id = ?3 AND uin = ?1 AND region = ?2", e);
    if (!get)
        goto done;
    sq_bind_cstr(get, 1, j->uin);
    sq_bind_cstr(get, 2, j->region);
    sq_bind_cstr(get, 3, j->id);
    step = sqlite3_step(get);
    if (step == SQLITE_DONE) {
        rc = sq_err(e, STORE_NOTFOUND, "%s", j->id);
        goto done;
    }
    if (step != SQLITE_ROW) {
        sq_fail(c->db, "flow log", e);
        goto done;
    }
    /* a private copy: the merged list borrows from it while the row changes */
    old_len = (size_t)sqlite3_column_bytes(get, 0);
    if (!(old = malloc(old_len ? old_len : 1))) {
        rc = sq_err(e, STORE_ERR, "out of memory");
        goto done;
    }
    if (old_len)
        memcpy(old, sqlite3_column_blob(get, 0), old_len);
    sqlite3_reset(get);
    n = merge(j, old, old_len, tags, MAX_TAG_KEYS);
    if (n < 0) {
        rc = sq_err(e, STORE_QUOTA, "%s would have more than %d tag keys", j->id, MAX_TAG_KEYS);
        goto done;
    }
    for (long i = 0; i < n; i++)
        len += strlen(tags[i].k) + strlen(tags[i].v) + 2;
    if (!(blob = malloc(len ? len : 1))) {
        rc = sq_err(e, STORE_ERR, "out of memory");
        goto done;
    }
    for (long i = 0, off = 0; i < n; i++) {
        size_t kl = strlen(tags[i].k) + 1, vl = strlen(tags[i].v) + 1;
        memcpy(blob + off, tags[i].k, kl);
        memcpy(blob + off + kl, tags[i].v, vl);
        off += (long)(kl + vl);
    }

    if (!(up = sq_prepare_once(c, "UPDATE flowlogs SET tags = ?4 WHERE id = ?3 AND uin = ?1 AND region = ?2",
                    e)) ||
        !(clear = sq_prepare_once(c, "DELETE FROM flowlog_tags WHERE flowlog_id = ?1", e)) ||
        !(ins = sq_prepare_once(c,
                     "INSERT INTO flowlog_tags(flowlog_id, key, value, pos, uin, region) "
                     "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                     e)))
        goto done;
    sq_bind_cstr(up, 1, j->uin);
    sq_bind_cstr(up, 2, j->region);
    sq_bind_cstr(up, 3, j->id);
    sqlite3_bind_blob(up, 4, blob, (int)len, SQLITE_STATIC);
    sq_bind_cstr(clear, 1, j->id);
    if (sq_exec(c, up, e) != STORE_OK || sq_exec(c, clear, e) != STORE_OK)
        goto done;
    for (long i = 0; i < n; i++) {
        sq_bind_cstr(ins, 1, j->id);
        sq_bind_cstr(ins, 2, tags[i].k);
        sq_bind_cstr(ins, 3, tags[i].v);
        sqlite3_bind_int64(ins, 4, i);
        sq_bind_cstr(ins, 5, j->uin);
        sq_bind_cstr(ins, 6, j->region);
        if (sq_exec(c, ins, e) != STORE_OK)
            goto done;
    }
    rc = STORE_OK;
done:
    sqlite3_finalize(ins);
    sqlite3_finalize(clear);
    sqlite3_finalize(up);
    sqlite3_finalize(get);
    free(blob);
    free(old);
    return rc;
}

int sq_flowlog_tags_modify(struct store *st, const char *uin, const char *region, const char *id,
                           const struct tag *set, size_t nset, const char *const *del,
                           size_t ndel, struct serr *e)
{
    struct tags_job j = {uin ? uin : "", region ? region : "", id ? id : "", set, nset, del, ndel};
    return sq_write(st, job_tags_modify, &j, e);
}
