/* pg_writer.c: CreateFlowLog's group commit on PostgreSQL.
 *
 * Each node runs a few writer threads, each with its own connection. A
 * writer takes every create queued (up to BATCH_MAX), sorts them by (uin,
 * region) so that concurrent batches lock tenants' counter rows in one
 * order (no deadlocks), and sends them in pipeline mode as ONE transaction:
 * BEGIN, per tenant a statement that makes sure its counter row exists, per
 * job CREATE_SQL, COMMIT, one Sync. CREATE_SQL never raises for the expected
 * outcomes: the quota is a WHERE on the locked counter row, the resource's
 * one flow log an ON CONFLICT DO NOTHING; the outcome is read from the row
 * it returns. Callers are answered after COMMIT returned (synchronous_commit
 * = on): success means durable.
 *
 * A batch in which a statement raised (a foreign key, something
 * unexpected) committed nothing: its jobs run again one per transaction, so
 * only the job at fault fails. A batch whose connection dropped before the
 * COMMIT's answer is settled on a new connection by looking up what each
 * job wrote (its id, uin, region, resource and creation time): found means
 * committed; a job not found wrote nothing (the batch is atomic) and runs
 * again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "base/util.h"
#include "store/pg/pg_int.h"
#include "store/store_util.h"

#define BATCH_MAX 128 /* jobs per transaction (bounded so the pipeline fits the socket buffers) */
#define JOB_TRIES 4   /* runs of one job after lost connections */

/* Makes sure the tenant's counter row exists (for an existing account): the
 * create then locks it. Its own statement, so the next one sees it. */
#define ENSURE_SQL                                                                               \
    "INSERT INTO region_usage(uin, region, n) SELECT $1, $2, 0 FROM accounts a "                 \
    "WHERE a.uin = $1 AND NOT EXISTS (SELECT 1 FROM region_usage WHERE uin = $1 AND region = $2) " \
    "ON CONFLICT DO NOTHING"

/* One create: its parameters are the columns, $1..$STORE_FL_NCOLS in
 * STORE_FL_COLS order (numbers as text), then the quota. Returns one row:
 * inserted (0/1), the limit (NULL: no such account), the count before, the
 * resource's flow log seen before (or NULL). Under READ COMMITTED a FOR
 * UPDATE that waited re-reads the row's newest version, so the count
 * compared with the quota is exact. Written out by create_sql from the
 * column table: P(member) is the parameter of a column. */
#define P(m) (STORE_FLC_##m + 1)
#define CREATE_NPARAMS (STORE_FL_NCOLS + 1)
#define P_QUOTA (STORE_FL_NCOLS + 1)

/* CREATE_SQL into buf[cap]; 0, or -1 if it does not fit. */
static int create_sql(char *buf, size_t cap)
{
    /* the column parameters of the INSERT's SELECT: "$1, ..., $n" with
     * the casts the number columns need */
    static const char *const casts[] = {
#define X(kind, member, size, wire, group) CAST_X_##kind(member)
#define CAST_X_STR(m) "",
#define CAST_X_TIME(m) "::bigint",
#define CAST_X_BOOL(m) "::int",
#define CAST_X_PERIOD(m) "::bigint",
#define CAST_X_KIND(m) "::int",
#define CAST_X_TAGS(m)
        FLOWLOG_FIELDS(X)
#undef X
        "", /* tags: text, as the column */
    };
    char values[1024];
    size_t n = 0;
    int w;

    for (int i = 0; i < STORE_FL_NCOLS; i++) {
        w = snprintf(values + n, sizeof values - n, "%s$%d%s", i ? ", " : "", i + 1, casts[i]);
        if (w < 0 || (size_t)w >= sizeof values - n)
            return -1;
        n += (size_t)w;
    }
    w = snprintf(buf, cap,
                 "WITH acc AS (SELECT CASE WHEN $%d::bigint > 0 THEN $%d::bigint "
                 "ELSE flowlog_quota END AS lim FROM accounts WHERE uin = $%d),"
                 " u AS (SELECT n FROM region_usage WHERE uin = $%d AND region = $%d FOR UPDATE),"
                 " ins AS (INSERT INTO flowlogs(" PG_FL_COLS ") SELECT %s FROM u, acc "
                 "WHERE u.n < acc.lim ON CONFLICT DO NOTHING RETURNING id),"
                 " t AS (INSERT INTO flowlog_tags(flowlog_id, key, value, pos, uin, region) "
                 "SELECT ins.id, x.e->>0, x.e->>1, x.o - 1, $%d, $%d FROM ins, "
                 "jsonb_array_elements($%d::jsonb) WITH ORDINALITY AS x(e, o))"
                 " SELECT (SELECT count(*) FROM ins), (SELECT lim FROM acc), (SELECT n FROM u), "
                 "(SELECT id FROM flowlogs WHERE uin = $%d AND region = $%d AND resource_id = $%d "
                 "AND resource_kind = $%d::int)",
                 P_QUOTA, P_QUOTA, P(uin), P(uin), P(region), values, P(uin), P(region), P(tags),
                 P(uin), P(region), P(resource_id), P(resource_kind));
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}

/* What a job wrote, for an in-doubt commit. */
#define WROTE_SQL                                                                                \
    "SELECT 1 FROM flowlogs WHERE id = $1 AND uin = $2 AND region = $3 AND resource_id = $4 "   \
    "AND resource_kind = $5::int AND created_at = $6::bigint"

/* After a commit: why a create inserted nothing when the quota allowed it. */
#define TAKEN_SQL                                                                                \
    "SELECT id FROM flowlogs WHERE uin = $1 AND region = $2 AND resource_id = $3 "               \
    "AND resource_kind = $4::int"

struct pg_cjob {
    struct pg_cjob *next;
    struct flowlog fl; /* a copy (tags below) */
    char *tags_json;
    /* the number columns as text, named as the members (see run_batch) */
    char period[16], enable[4], created_at[24], resource_kind[12], quota[16];
    int tries;
    int outcome; /* for this batch: -1 unknown, else a store_rc */
    int inserted;
    struct serr *err;
    /* a blocking caller waits on done; an asynchronous one has op */
    struct store_op *op;
    pthread_mutex_t *mu;
    pthread_cond_t *cv;
    int done;
    int rc;
};

/* ==== jobs ==== */

static char *tags_json(const struct flowlog *fl)
{
    struct buf b;
    char *out;
    buf_init(&b, 1u << 20);
    if (buf_append(&b, "[", 1) != 0)
        goto oom;
    for (size_t i = 0; i < fl->ntags; i++)
        if ((i && buf_append(&b, ",", 1) != 0) || buf_append(&b, "[", 1) != 0 ||
            jw_buf_str(&b, fl->tags[i].key ? fl->tags[i].key : "") != 0 ||
            buf_append(&b, ",", 1) != 0 ||
            jw_buf_str(&b, fl->tags[i].value ? fl->tags[i].value : "") != 0 ||
            buf_append(&b, "]", 1) != 0)
            goto oom;
    if (buf_append(&b, "]", 2) != 0)
        goto oom;
    out = strdup(b.data);
    buf_free(&b);
    return out;
oom:
    buf_free(&b);
    return NULL;
}

static struct pg_cjob *job_new(const struct flowlog *fl, uint32_t quota)
{
    struct pg_cjob *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->fl = *fl;
    j->fl.tags = NULL;
    j->fl.ntags = 0;
    if (!(j->tags_json = tags_json(fl))) {
        free(j);
        return NULL;
    }
    snprintf(j->period, sizeof j->period, "%u", fl->period);
    snprintf(j->enable, sizeof j->enable, "%d", fl->enable ? 1 : 0);
    pg_i64(j->created_at, sizeof j->created_at, fl->created_at);
    pg_i64(j->resource_kind, sizeof j->resource_kind, fl->resource_kind);
    snprintf(j->quota, sizeof j->quota, "%u", quota);
    return j;
}

static void job_free(struct pg_cjob *j)
{
    free(j->tags_json);
    free(j);
}

/* Answers the job's caller. */
static void job_finish(struct store_pg *s, struct pg_cjob *j, int rc)
{
    (void)s;
    if (j->op) {
        struct store_op *op = j->op;
        op->rc = rc;
        job_free(j);
        op->done(op);
        return;
    }
    pthread_mutex_lock(j->mu);
    j->rc = rc;
    j->done = 1;
    pthread_cond_broadcast(j->cv);
    pthread_mutex_unlock(j->mu);
}

static int cmp_job(const void *a, const void *b)
{
    const struct pg_cjob *x = *(const struct pg_cjob *const *)a;
    const struct pg_cjob *y = *(const struct pg_cjob *const *)b;
    int c = strcmp(x->fl.uin, y->fl.uin);
    if (!c)
        c = strcmp(x->fl.region, y->fl.region);
    if (!c)
        c = strcmp(x->fl.id, y->fl.id);
    return c;
}

/* ==== one batch ==== */

enum batch_rc { BATCH_DONE, BATCH_RAISED, BATCH_LOST };

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Reads the one result of a pipelined query (and its terminating NULL).
 * NULL when the connection failed. */
static PGresult *next_result(PGconn *c)
{
    PGresult *r = PQgetResult(c), *extra;
    if (!r)
        return NULL;
    if (PQresultStatus(r) == PGRES_PIPELINE_SYNC)
        return r;
    while ((extra = PQgetResult(c)))
        PQclear(extra);
    return r;
}

static void set_outcome(struct pg_cjob *j, const PGresult *r)
{
    const struct flowlog *fl = &j->fl;
    j->inserted = 0;
    if (pg_col_i64(r, 0, 0) == 1) {
        j->inserted = 1;
        j->outcome = STORE_OK;
    } else if (PQgetisnull(r, 0, 1)) {
        j->outcome = pg_err(j->err, STORE_NOTFOUND, "%s", fl->uin);
    } else if (!PQgetisnull(r, 0, 3)) {
        j->outcome = pg_err(j->err, STORE_EXISTS, "%s", PQgetvalue(r, 0, 3));
    } else if (pg_col_i64(r, 0, 2) >= pg_col_i64(r, 0, 1)) {
        j->outcome = pg_err(j->err, STORE_QUOTA, "%lld flow logs in %s (quota %lld)",
                            (long long)pg_col_i64(r, 0, 2), fl->region,
                            (long long)pg_col_i64(r, 0, 1));
    } else {
        j->outcome = -2; /* a concurrent create won: classified after the commit */
    }
}

/* Sends the batch as one transaction and reads every answer. */
static enum batch_rc run_batch(PGconn *c, struct pg_cjob **jobs, int n, struct serr *e)
{
    enum batch_rc brc = BATCH_DONE;
    int sent = 0, raised = -1;
    char line[200];

    if (PQenterPipelineMode(c) != 1)
        return BATCH_LOST;
    if (!PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
        goto lost;
    sent++;
    for (int i = 0; i < n; i++) {
        const struct flowlog *fl = &jobs[i]->fl;
        const char *tenant[2] = {fl->uin, fl->region};
        const char *p[CREATE_NPARAMS] = {
#define PARAM_STR(m) fl->m,
#define PARAM_TIME(m) jobs[i]->m,
#define PARAM_BOOL(m) jobs[i]->m,
#define PARAM_PERIOD(m) jobs[i]->m,
#define PARAM_KIND(m) jobs[i]->m,
#define PARAM_TAGS(m)
#define X(kind, member, size, wire, group) PARAM_##kind(member)
            FLOWLOG_FIELDS(X)
#undef X
            jobs[i]->tags_json, jobs[i]->quota};
        jobs[i]->outcome = -1;
        if (i == 0 || strcmp(fl->uin, jobs[i - 1]->fl.uin) != 0 ||
            strcmp(fl->region, jobs[i - 1]->fl.region) != 0) {
            if (!PQsendQueryPrepared(c, "fl_ensure", 2, tenant, NULL, NULL, 0))
                goto lost;
            sent++;
        }
        if (!PQsendQueryPrepared(c, "fl_create", CREATE_NPARAMS, p, NULL, NULL, 0))
            goto lost;
        sent++;
    }
    if (!PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) || !PQpipelineSync(c))
        goto lost;
    sent++;

    /* the answers, in order */
    for (int i = -1, k = 0; k < sent; k++) {
        PGresult *r = next_result(c);
        ExecStatusType st;
        int is_create;
        if (!r)
            goto lost;
        st = PQresultStatus(r);
        /* which statement is this? BEGIN, then per job [ENSURE] CREATE, then COMMIT */
        is_create = 0;
        if (k > 0 && k < sent - 1) {
            /* ENSURE results carry no rows; CREATE results carry one */
            if (st == PGRES_TUPLES_OK) {
                i++;
                is_create = 1;
            }
        }
        if (st == PGRES_FATAL_ERROR) {
            if (raised < 0) {
                const char *m = PQresultErrorMessage(r);
                size_t len = m ? strcspn(m, "\n") : 0;
                if (len >= sizeof line)
                    len = sizeof line - 1;
                memcpy(line, m ? m : "", len);
                line[len] = '\0';
                raised = k;
            }
            brc = BATCH_RAISED;
        } else if (st == PGRES_PIPELINE_ABORTED) {
            brc = BATCH_RAISED;
        } else if (is_create && PQntuples(r) == 1) {
            set_outcome(jobs[i], r);
        } else if (k == sent - 1 && st == PGRES_COMMAND_OK && brc == BATCH_DONE) {
            /* COMMIT answered: durable */
        }
        PQclear(r);
    }
    {
        PGresult *r = PQgetResult(c); /* the Sync */
        int ok = r && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        PQclear(r);
        if (!ok)
            goto lost;
    }
    PQexitPipelineMode(c);
    if (PQtransactionStatus(c) != PQTRANS_IDLE) /* a failed explicit transaction */
        PQclear(PQexec(c, "ROLLBACK"));
    if (brc == BATCH_RAISED) {
        pg_err(e, STORE_ERR, "create: %s", line);
        return BATCH_RAISED;
    }
    for (int i = 0; i < n; i++)
        if (jobs[i]->outcome == -1) /* a CREATE without its row: should not be */
            return BATCH_LOST;
    return BATCH_DONE;
lost:
    pg_err(e, STORE_ERR, "the database connection was lost");
    return BATCH_LOST;
}

/* ==== the writer ==== */

struct writer {
    struct store_pg *s;
    PGconn *c;
};

/* Prepares the writer's two statements on a new connection (parsed and
 * planned once, not per job). 0 or -1 with e set. */
static int writer_prepare(PGconn *c, struct serr *e)
{
    char create[4096];
    const struct {
        const char *name, *sql;
        int n;
    } st[] = {{"fl_ensure", ENSURE_SQL, 2}, {"fl_create", create, CREATE_NPARAMS}};

    if (create_sql(create, sizeof create) != 0)
        return pg_err(e, STORE_ERR, "prepare fl_create: the statement is over %zu bytes",
                      sizeof create), -1;
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        PGresult *r = PQprepare(c, st[i].name, st[i].sql, st[i].n, NULL);
        int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            pg_err(e, STORE_ERR, "prepare %s: %s", st[i].name, PQerrorMessage(c));
        PQclear(r);
        if (!ok)
            return -1;
    }
    return 0;
}

/* A healthy connection for the writer, waiting up to `ms` for the database.
 * 0 or -1. */
static int writer_connect(struct writer *w, long ms, struct serr *e)
{
    uint64_t until = now_ms() + (uint64_t)ms;
    if (w->c && PQstatus(w->c) == CONNECTION_OK && PQpipelineStatus(w->c) == PQ_PIPELINE_OFF)
        return 0;
    for (;;) {
        if (w->c)
            PQfinish(w->c);
        w->c = pg_connect(w->s, e);
        if (w->c && writer_prepare(w->c, e) != 0) {
            PQfinish(w->c);
            w->c = NULL;
        }
        if (w->c)
            return 0;
        if (now_ms() >= until)
            return -1;
        sleep_ms(100);
    }
}

/* After the commit: a create that inserted nothing although the quota
 * allowed it lost to a concurrent one (EXISTS) or drew a taken id. */
static void classify(struct writer *w, struct pg_cjob *j)
{
    const struct flowlog *fl = &j->fl;
    const char *p[4] = {fl->uin, fl->region, fl->resource_id, j->resource_kind};
    struct serr e = {{0}};
    PGresult *r = pg_exec(w->c, "create", TAKEN_SQL, 4, p, &e, NULL);
    if (!r) {
        j->outcome = pg_err(j->err, STORE_ERR, "%s", e.msg);
        return;
    }
    if (PQntuples(r) == 1)
        j->outcome = pg_err(j->err, STORE_EXISTS, "%s", PQgetvalue(r, 0, 0));
    else
        j->outcome = pg_err(j->err, STORE_CONFLICT, "%s", fl->id);
    PQclear(r);
}

/* Did j's row commit? 1, 0, or -1 (cannot tell). */
static int wrote(struct writer *w, struct pg_cjob *j)
{
    const struct flowlog *fl = &j->fl;
    const char *p[6] = {fl->id, fl->uin, fl->region, fl->resource_id, j->resource_kind,
                        j->created_at};
    struct serr e = {{0}};
    PGresult *r = pg_exec(w->c, "settle", WROTE_SQL, 6, p, &e, NULL);
    int x = r ? PQntuples(r) == 1 : -1;
    PQclear(r);
    return x;
}

/* Runs jobs[0..n) to an answer each. */
static void process(struct writer *w, struct pg_cjob **jobs, int n)
{
    struct store_pg *s = w->s;
    struct serr e = {{0}};
    enum batch_rc brc;

    if (writer_connect(w, s->settle_ms, &e) != 0) {
        for (int i = 0; i < n; i++)
            job_finish(s, jobs[i], pg_err(jobs[i]->err, STORE_ERR, "%s", e.msg));
        return;
    }
    qsort(jobs, (size_t)n, sizeof *jobs, cmp_job);
    {
        uint64_t t0 = mono_us();
        brc = run_batch(w->c, jobs, n, &e);
        if (brc == BATCH_DONE)
            store_hist_add(&s->commit_hist, mono_us() - t0);
    }
    if (brc == BATCH_DONE) {
        pthread_mutex_lock(&s->q_mu);
        s->commits++;
        s->jobs += (uint64_t)n;
        pthread_mutex_unlock(&s->q_mu);
        for (int i = 0; i < n; i++) {
            if (jobs[i]->outcome == -2)
                classify(w, jobs[i]);
            job_finish(s, jobs[i], jobs[i]->outcome);
        }
        return;
    }
    if (brc == BATCH_RAISED) {
        /* nothing committed: one job per transaction finds the one at fault */
        if (n == 1) {
            job_finish(s, jobs[0], pg_err(jobs[0]->err, STORE_ERR, "%s", e.msg));
            return;
        }
        pthread_mutex_lock(&s->q_mu);
        s->replays++;
        pthread_mutex_unlock(&s->q_mu);
        for (int i = 0; i < n; i++)
            process(w, &jobs[i], 1);
        return;
    }
    /* lost: settle each job on a new connection */
    log_warn("postgresql: connection lost during a batch of %d creates; settling", n);
    if (writer_connect(w, s->settle_ms, &e) != 0) {
        for (int i = 0; i < n; i++)
            job_finish(s, jobs[i],
                       pg_err(jobs[i]->err, STORE_ERR,
                              "the database connection was lost during COMMIT and the database "
                              "did not come back within %d ms: the outcome is unknown",
                              s->settle_ms));
        return;
    }
    for (int i = 0; i < n; i++) {
        int x = wrote(w, jobs[i]);
        if (x == 1) {
            __atomic_add_fetch(&s->settled, 1, __ATOMIC_RELAXED);
            job_finish(s, jobs[i], STORE_OK);
        } else if (x == 0 && ++jobs[i]->tries < JOB_TRIES) {
            process(w, &jobs[i], 1); /* it wrote nothing: run it again */
        } else {
            job_finish(s, jobs[i],
                       pg_err(jobs[i]->err, STORE_ERR,
                              x == 0 ? "the database connection kept failing"
                                     : "the database connection was lost during COMMIT: the "
                                       "outcome is unknown"));
        }
    }
}

static void *writer_main(void *arg)
{
    struct writer w = {.s = arg};
    struct store_pg *s = w.s;
    struct pg_cjob *batch[BATCH_MAX];
    struct serr e = {{0}};

    writer_connect(&w, 0, &e); /* best effort: the first batch retries */
    for (;;) {
        int n = 0;
        pthread_mutex_lock(&s->q_mu);
        while (!s->q_head && !s->stopping)
            pthread_cond_wait(&s->q_cv, &s->q_mu);
        if (!s->q_head && s->stopping) {
            pthread_mutex_unlock(&s->q_mu);
            break;
        }
        while (s->q_head && n < BATCH_MAX) {
            batch[n++] = s->q_head;
            s->q_head = s->q_head->next;
            s->q_len--;
        }
        if (!s->q_head)
            s->q_tail = NULL;
        pthread_mutex_unlock(&s->q_mu);
        process(&w, batch, n);
    }
    if (w.c)
        PQfinish(w.c);
    return NULL;
}

int pg_writers_start(struct store_pg *s, int n)
{
    if (n > (int)(sizeof s->writers / sizeof s->writers[0]))
        n = (int)(sizeof s->writers / sizeof s->writers[0]);
    for (int i = 0; i < n; i++) {
        if (pthread_create(&s->writers[i], NULL, writer_main, s) != 0) {
            s->nwriters = i;
            s->writers_started = 1;
            return -1;
        }
    }
    s->nwriters = n;
    s->writers_started = 1;
    return 0;
}

void pg_writers_stop(struct store_pg *s)
{
    pthread_mutex_lock(&s->q_mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->q_cv);
    pthread_mutex_unlock(&s->q_mu);
    for (int i = 0; i < s->nwriters; i++)
        pthread_join(s->writers[i], NULL);
    s->writers_started = 0;
}

static int enqueue(struct store_pg *s, struct pg_cjob *j, struct serr *e)
{
    pthread_mutex_lock(&s->q_mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->q_mu);
        return pg_err(e, STORE_ERR, "the store is closing");
    }
    if (s->q_tail)
        s->q_tail->next = j;
    else
        s->q_head = j;
    s->q_tail = j;
    s->q_len++;
    pthread_cond_signal(&s->q_cv);
    pthread_mutex_unlock(&s->q_mu);
    return STORE_OK;
}

int pg_flowlog_create(struct store *st, const struct flowlog *fl, uint32_t quota,
                      struct serr *e)
{
    struct store_pg *s = (struct store_pg *)st;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    struct serr tmp = {{0}};
    struct pg_cjob *j = job_new(fl, quota);
    int rc;

    if (!j)
        return pg_err(e, STORE_ERR, "out of memory");
    j->err = e ? e : &tmp;
    j->mu = &mu;
    j->cv = &cv;
    if (enqueue(s, j, e) != STORE_OK) {
        job_free(j);
        return STORE_ERR;
    }
    pthread_mutex_lock(&mu);
    while (!j->done)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    rc = j->rc;
    job_free(j);
    pthread_cond_destroy(&cv);
    pthread_mutex_destroy(&mu);
    return rc;
}

int pg_flowlog_create_async(struct store *st, const struct flowlog *fl, uint32_t quota,
                            struct store_op *op)
{
    struct pg_cjob *j = job_new(fl, quota);
    if (!j)
        return pg_err(&op->err, STORE_ERR, "out of memory");
    j->err = &op->err;
    j->op = op;
    if (enqueue((struct store_pg *)st, j, &op->err) != STORE_OK) {
        job_free(j);
        return STORE_ERR;
    }
    return STORE_OK;
}
