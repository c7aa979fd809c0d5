/* cls_search.c: SearchLog and DescribeLogContext (cls 2020-10-16).
 *
 * The query is parsed by cls/clsq (never handed to a database): the store
 * scans the topic's logs of the time range in order, through its
 * (topic, time, seq) clustering, and clsq_match decides each; with an SQL part after
 * '|', every matching log of the range is fed to clsq_agg_* instead.
 * A scan reads at most SCAN_MAX logs per topic (else SearchTimeout) and an
 * answer carries at most RESULT_MAX bytes of logs (else
 * SearchResultTooLarge), so time and memory are bounded.
 *
 * Context paging never repeats or skips: the first page takes the store's
 * newest log sequence number as the search's snapshot, and each Context
 * carries it with the position of the last log returned (time, seq) and a
 * fingerprint of the request (query, range, order); a later page resumes
 * strictly after that position among the logs of the snapshot, so logs
 * that arrive meanwhile, even inside the range, neither shift nor repeat a
 * page. Another request's (or another topic's) Context is InvalidContext.
 * Only the caller's topics of the request's region are reachable. */
#define _GNU_SOURCE /* qsort_r, timegm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/action.h"
#include "api/cls_common.h"
#include "api/schema_gen.h"
#include "base/util.h"
#include "cls/clsq.h"

#define DEFAULT_LIMIT 100
#define MAX_LIMIT 1000
#define MAX_TOPICS 50
#define MAX_QUERY (12u << 10)
#define SCAN_MAX 20000000ull        /* logs read per topic and request */
#define RESULT_MAX (20u << 20)      /* bytes of logs in one answer */
#define CONTEXT_LOGS 10000          /* logs one Context session may return */
#define CTX_DEFAULT 10
#define CTX_MAX 100

static enum api_err clsq_to_api(const struct clsq_err *qe, struct apierr *e)
{
    enum api_err id = API_E_CLS_QUERY;
    if (qe->code && strcmp(qe->code, CLSQ_E_SYNTAX) == 0)
        id = API_E_CLS_SYNTAX;
    else if (qe->code && strcmp(qe->code, CLSQ_E_TIMEOUT) == 0)
        id = API_E_CLS_TIMEOUT;
    else if (qe->code && strcmp(qe->code, CLSQ_E_LIMIT) == 0)
        id = API_E_CLS_SEARCH_RESOURCES;
    return apierr_set(e, id, qe->message[0] ? qe->message : "the query");
}

/* ==== a stored log as clsq sees it, and as the answer shows it ==== */

struct logview {
    const char **keys, **vals;
    size_t *vlens, cap;
};

static int view_of(struct logview *v, const struct cls_stored_log *l, struct clsq_log *out)
{
    if (l->n > v->cap) {
        size_t cap = l->n * 2;
        const char **k = realloc(v->keys, cap * sizeof *k), **x;
        size_t *vl;
        if (!k)
            return -1;
        v->keys = k;
        if (!(x = realloc(v->vals, cap * sizeof *x)))
            return -1;
        v->vals = x;
        if (!(vl = realloc(v->vlens, cap * sizeof *vl)))
            return -1;
        v->vlens = vl;
        v->cap = cap;
    }
    for (size_t i = 0; i < l->n; i++) {
        v->keys[i] = l->contents[i].key;
        v->vals[i] = l->contents[i].value;
        v->vlens[i] = l->contents[i].vlen;
    }
    out->time_ms = l->time_ms;
    out->source = l->source;
    out->filename = l->filename;
    out->n = l->n;
    out->keys = v->keys;
    out->vals = v->vals;
    out->vlens = v->vlens;
    return 0;
}

static void view_free(struct logview *v)
{
    free(v->keys);
    free(v->vals);
    free(v->vlens);
}

/* The log's contents as one JSON object text (LogJson, Content). */
static char *contents_json(const struct cls_stored_log *l)
{
    json_t *o = json_object();
    char *s;
    for (size_t i = 0; o && i < l->n; i++)
        json_object_set_new(o, l->contents[i].key,
                            json_stringn(l->contents[i].value, l->contents[i].vlen));
    s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return s;
}

/* ==== Context ==== */

struct sctx {
    uint64_t fp;       /* the request's fingerprint */
    uint64_t max_seq;  /* the snapshot */
    int64_t time;      /* the last log returned */
    uint64_t seq;
    uint64_t returned; /* logs returned so far in this session */
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void ctx_format(const struct sctx *x, char out[128])
{
    snprintf(out, 128, "c1.%016llx.%llx.%llx.%llx.%llx", (unsigned long long)x->fp,
             (unsigned long long)x->max_seq, (unsigned long long)x->time,
             (unsigned long long)x->seq, (unsigned long long)x->returned);
}

static int ctx_parse(const char *s, struct sctx *x)
{
    unsigned long long fp, ms, t, sq, r;
    int n = 0;
    if (!s || sscanf(s, "c1.%16llx.%llx.%llx.%llx.%llx%n", &fp, &ms, &t, &sq, &r, &n) != 5 ||
        s[n] != '\0')
        return -1;
    *x = (struct sctx){fp, ms, (int64_t)t, sq, r};
    return 0;
}

/* ==== one topic's page ==== */

struct hit {
    int64_t time;
    uint64_t seq;
    size_t topic; /* index in the request's topics */
    char *json;
    char source[128], filename[256];
};

struct scan_state {
    const struct clsq *q;
    struct clsq_agg *agg;
    struct clsq_err qe;
    int agg_failed;
    struct logview view;
    struct hit *hits;
    size_t nhits, want; /* collect up to `want` hits (the page + 1) */
    uint64_t skip;      /* Offset: matches to pass over first */
    size_t topic;
    uint64_t scanned;
    size_t bytes;
    int too_long, too_large, nomem;
};

static int on_log(void *ud, const struct cls_stored_log *l)
{
    struct scan_state *s = ud;
    struct clsq_log cl;

    if (++s->scanned > SCAN_MAX) {
        s->too_long = 1;
        return 1;
    }
    if (view_of(&s->view, l, &cl) != 0) {
        s->nomem = 1;
        return 1;
    }
    if (!clsq_match(s->q, &cl))
        return 0;
    if (s->agg) {
        if (clsq_agg_add(s->agg, &cl, &s->qe) != 0) {
            s->agg_failed = 1;
            return 1;
        }
        return 0;
    }
    if (s->skip) {
        s->skip--;
        return 0;
    }
    {
        struct hit *h = &s->hits[s->nhits];
        h->time = l->time_ms;
        h->seq = l->seq;
        h->topic = s->topic;
        snprintf(h->source, sizeof h->source, "%s", l->source ? l->source : "");
        snprintf(h->filename, sizeof h->filename, "%s", l->filename ? l->filename : "");
        if (!(h->json = contents_json(l))) {
            s->nomem = 1;
            return 1;
        }
        s->bytes += strlen(h->json);
        s->nhits++;
    }
    if (s->bytes > RESULT_MAX) {
        s->too_large = 1;
        return 1;
    }
    return s->nhits >= s->want;
}

/* a before b in the answer's order */
static int hit_before(const struct hit *a, const struct hit *b, int desc)
{
    if (a->time != b->time)
        return desc ? a->time > b->time : a->time < b->time;
    if (a->seq != b->seq)
        return desc ? a->seq > b->seq : a->seq < b->seq;
    return a->topic < b->topic;
}

static int hit_cmp(const void *x, const void *y, void *arg)
{
    const struct hit *a = x, *b = y;
    int desc = *(const int *)arg;
    return hit_before(a, b, desc) ? -1 : hit_before(b, a, desc) ? 1 : 0;
}

/* ==== SearchLog ==== */

struct topic_ref {
    struct cls_topic t;
    const char *context; /* given */
    struct sctx x;
    int have_ctx;
    int any;             /* a hit of this topic was returned */
    struct sctx next;
};

static void put_hit(json_t *arr, const struct hit *h, const struct topic_ref *tr)
{
    char pkg[24];
    snprintf(pkg, sizeof pkg, "%016llX", (unsigned long long)h->seq);
    json_array_append_new(
        arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:[],s:s,s:s,s:s,s:s}", "Time",
                       (json_int_t)h->time, "TopicId", tr->t.id, "TopicName", tr->t.name,
                       "Source", h->source, "FileName", h->filename, "PkgId", pkg, "PkgLogId",
                       "0", "HighLights", "LogJson", h->json, "HostName", "", "RawLog", "",
                       "IndexStatus", ""));
}

enum api_err act_search_log(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_SearchLogRequest *req = c->in;
    const char *qs = req->QueryString, *legacy = req->Query;
    const char *query = qs ? qs : legacy ? legacy : "";
    const char *topic_id = in_opt(req->TopicId), *sort = in_opt(req->Sort);
    const char *context = in_opt(req->Context);
    const struct in_MultiTopicSearchInformation *topics = req->Topics.v; /* NULL: absent */
    size_t ntopics_in = req->Topics.n;
    json_t *v;
    int64_t from = req->From ? *req->From : 0;
    int64_t to = req->To ? *req->To : 0;
    json_int_t limit = DEFAULT_LIMIT, offset = 0, syntax;
    struct topic_ref *tr = NULL;
    struct scan_state s;
    struct clsq *q = NULL;
    struct serr se = {{0}};
    enum api_err rc = API_E_OK;
    size_t ntopics = 0;
    int desc, analysis;
    uint64_t fp;

    memset(&s, 0, sizeof s);
    if ((rc = cls_unsupported(c, e)) != API_E_OK)
        return rc;
    /* the syntax: QuerySyntax with QueryString (default CQL), SyntaxRule
     * with Query (default Lucene) */
    if (qs)
        syntax = req->QuerySyntax ? *req->QuerySyntax : 1;
    else
        syntax = req->SyntaxRule ? *req->SyntaxRule : 0;
    if (syntax != 0 && syntax != 1)
        return apierr_set(e, API_E_PARAM_VALUE, qs ? "QuerySyntax" : "SyntaxRule");
    if (strlen(query) > MAX_QUERY)
        return apierr_set(e, API_E_PARAM_VALUE, qs ? "QueryString" : "Query");
    if (from < 0 || to <= from)
        return apierr_set(e, API_E_PARAM_VALUE, "To");
    if (req->Limit) {
        limit = *req->Limit;
        if (limit < 1 || limit > MAX_LIMIT)
            return apierr_set(e, API_E_PARAM_VALUE, "Limit");
    }
    if (req->Offset) {
        offset = *req->Offset;
        if (offset < 0)
            return apierr_set(e, API_E_PARAM_VALUE, "Offset");
    }
    if (sort && strcmp(sort, "asc") != 0 && strcmp(sort, "desc") != 0)
        return apierr_set(e, API_E_PARAM_VALUE, "Sort");
    desc = !sort || strcmp(sort, "desc") == 0;
    if (!!topic_id == (ntopics_in > 0))
        return apierr_set(e, topic_id ? API_E_PARAM_VALUE : API_E_PARAM_MISSING,
                          topic_id ? "Topics" : "TopicId");
    if (ntopics_in > MAX_TOPICS)
        return apierr_set(e, API_E_VALUE_LIMIT, "Topics");
    if (context && (offset || topics))
        return apierr_set(e, API_E_PARAM_VALUE, "Context");
    if (topics && offset)
        return apierr_set(e, API_E_PARAM_VALUE, "Offset");

    {
        struct clsq_err qe = {0};
        if (clsq_parse(query, strlen(query), syntax ? CLSQ_CQL : CLSQ_LUCENE, &q, &qe) != 0)
            return clsq_to_api(&qe, e);
    }
    analysis = clsq_has_analysis(q);
    fp = fnv(1469598103934665603ull, query, strlen(query));
    fp = fnv(fp, &from, sizeof from);
    fp = fnv(fp, &to, sizeof to);
    fp = fnv(fp, &desc, sizeof desc);
    fp = fnv(fp, &syntax, sizeof syntax);

    /* the topics, each the caller's in this region */
    ntopics = topic_id ? 1 : ntopics_in;
    if (!(tr = calloc(ntopics, sizeof *tr))) {
        rc = apierr_set(e, API_E_INTERNAL, NULL);
        goto done;
    }
    for (size_t i = 0; i < ntopics; i++) {
        const char *id = topic_id;
        int r;
        tr[i].context = context;
        if (!topic_id) {
            id = topics[i].TopicId;
            tr[i].context = topics[i].Context;
            if (tr[i].context && !*tr[i].context)
                tr[i].context = NULL;
            if (!id || !*id) {
                char name[48];
                snprintf(name, sizeof name, "Topics.%zu.TopicId", i);
                rc = apierr_set(e, API_E_PARAM_MISSING, name);
                goto done;
            }
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(tr[k].t.id, id) == 0) {
                char name[48];
                snprintf(name, sizeof name, "Topics.%zu.TopicId", i);
                rc = apierr_set(e, API_E_PARAM_VALUE, name); /* the same topic twice */
                goto done;
            }
        r = cls_topic_find(c, id, &tr[i].t, &se);
        if (r == STORE_NOTFOUND) {
            rc = apierr_set(e, API_E_CLS_TOPIC_NOTFOUND, id);
            goto done;
        }
        if (r != STORE_OK) {
            rc = api_store_failed(c, r, &se, e);
            goto done;
        }
        if (tr[i].context) {
            if (analysis || ctx_parse(tr[i].context, &tr[i].x) != 0 || tr[i].x.fp != fp) {
                rc = apierr_set(e, API_E_CLS_CONTEXT, "a Context belongs to the request that "
                                                     "returned it, with the same query, range "
                                                     "and order");
                goto done;
            }
            tr[i].have_ctx = 1;
        }
    }

    s.q = q;
    if (analysis) {
        struct clsq_limits lim = {0, 0, 0};
        if (!(s.agg = clsq_agg_new(q, &lim, &s.qe))) {
            rc = clsq_to_api(&s.qe, e);
            goto done;
        }
    } else {
        s.want = (size_t)limit + 1;
        if (!(s.hits = calloc(s.want * ntopics, sizeof *s.hits))) {
            rc = apierr_set(e, API_E_INTERNAL, NULL);
            goto done;
        }
    }
    for (size_t i = 0; i < ntopics; i++) {
        struct cls_scan sc = {c->account->uin, c->region, tr[i].t.id, from, to - 1, desc, 0,
                              0, 0, 0};
        uint64_t max_seq = 0;
        int r;
        if (tr[i].have_ctx) {
            if (tr[i].x.returned >= CONTEXT_LOGS) {
                tr[i].next = tr[i].x;
                continue; /* this session has had all CLS gives through Context */
            }
            sc.after = tr[i].x.returned > 0;
            sc.after_time = tr[i].x.time;
            sc.after_seq = tr[i].x.seq;
            sc.max_seq = tr[i].x.max_seq;
        }
        s.topic = i;
        s.skip = (uint64_t)offset;
        s.scanned = 0;
        if (!analysis)
            s.want = s.nhits + (size_t)limit + 1;
        r = store_cls_logs_scan(c->store, &sc, on_log, &s, &max_seq, &se);
        if (r == STORE_NOTFOUND) {
            rc = apierr_set(e, API_E_CLS_TOPIC_NOTFOUND, tr[i].t.id);
            goto done;
        }
        if (r != STORE_OK) {
            rc = api_store_failed(c, r, &se, e);
            goto done;
        }
        if (s.nomem) {
            rc = apierr_set(e, API_E_INTERNAL, NULL);
            goto done;
        }
        if (s.too_long) {
            rc = apierr_setf(e, API_E_CLS_TIMEOUT, "more than %llu logs in range of topic %s; "
                                                   "narrow From/To",
                             (unsigned long long)SCAN_MAX, tr[i].t.id);
            goto done;
        }
        if (s.too_large) {
            rc = apierr_setf(e, API_E_CLS_RESULT_TOO_LARGE, "over %u bytes of logs", RESULT_MAX);
            goto done;
        }
        if (s.agg_failed) {
            rc = clsq_to_api(&s.qe, e);
            goto done;
        }
        tr[i].next = tr[i].have_ctx ? tr[i].x
                                    : (struct sctx){fp, max_seq, 0, 0, 0};
    }

    json_object_set_new(out, "SamplingRate", json_real(1.0));
    if (analysis) {
        json_t *res = NULL;
        const char *k;
        if (clsq_agg_result(s.agg, &res, &s.qe) != 0) {
            rc = clsq_to_api(&s.qe, e);
            goto done;
        }
        json_object_foreach(res, k, v) json_object_set(out, k, v);
        json_decref(res);
        json_object_set_new(out, "Analysis", json_true());
        json_object_set_new(out, "ListOver", json_true());
        json_object_set_new(out, "Context", json_string(""));
        json_object_set_new(out, "Results", json_array());
    } else {
        json_t *arr = json_array();
        size_t n = s.nhits < (size_t)limit ? s.nhits : (size_t)limit;
        int over = s.nhits <= (size_t)limit;
        char cx[128];
        qsort_r(s.hits, s.nhits, sizeof *s.hits, hit_cmp, &desc);
        for (size_t i = 0; i < n; i++) {
            struct topic_ref *t = &tr[s.hits[i].topic];
            put_hit(arr, &s.hits[i], t);
            t->next.time = s.hits[i].time;
            t->next.seq = s.hits[i].seq;
            t->next.returned++;
            t->any = 1;
        }
        json_object_set_new(out, "Results", arr);
        json_object_set_new(out, "Analysis", json_false());
        json_object_set_new(out, "ListOver", json_boolean(over));
        ctx_format(&tr[0].next, cx);
        json_object_set_new(out, "Context", json_string(topic_id ? cx : ""));
        if (!topic_id) {
            json_t *infos = json_array();
            for (size_t i = 0; i < ntopics; i++) {
                ctx_format(&tr[i].next, cx);
                json_array_append_new(infos, json_pack("{s:s,s:I,s:s}", "TopicId", tr[i].t.id,
                                                       "Period", (json_int_t)tr[i].t.period,
                                                       "Context", cx));
            }
            json_object_set_new(out, "Topics",
                                json_pack("{s:[],s:o}", "Errors", "Infos", infos));
        }
        json_object_set_new(out, "ColNames", json_array());
        json_object_set_new(out, "AnalysisResults", json_array());
        json_object_set_new(out, "AnalysisRecords", json_array());
        json_object_set_new(out, "Columns", json_array());
    }
done:
    for (size_t i = 0; s.hits && i < s.nhits; i++)
        free(s.hits[i].json);
    free(s.hits);
    clsq_agg_free(s.agg);
    view_free(&s.view);
    clsq_free(q);
    free(tr);
    return rc;
}

/* ==== DescribeLogContext ==== */

/* "YYYY-mm-dd HH:MM:SS.FFF" in UTC+8 -> ms */
static int parse_btime(const char *s, int64_t *ms)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, frac = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return -1;
    if (s[n] == '.') {
        int m = 0, digits = 0;
        n++;
        while (s[n] >= '0' && s[n] <= '9' && digits < 3) {
            m = m * 10 + (s[n++] - '0');
            digits++;
        }
        while (digits++ < 3)
            m *= 10;
        frac = m;
    }
    if (s[n] != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *ms = ((int64_t)timegm(&tm) - 8 * 3600) * 1000 + frac;
    return 0;
}

struct ctx_scan {
    const struct clsq *q;
    struct logview view;
    json_t *arr;
    size_t want, got;
    int more, nomem;
    uint64_t scanned;
    uint64_t exact_seq; /* the log itself: only this seq */
};

static int on_ctx_log(void *ud, const struct cls_stored_log *l)
{
    struct ctx_scan *s = ud;
    struct clsq_log cl;
    char *j, pkg[24];
    if (++s->scanned > SCAN_MAX)
        return 1;
    if (s->exact_seq && l->seq != s->exact_seq)
        return 0;
    if (view_of(&s->view, l, &cl) != 0) {
        s->nomem = 1;
        return 1;
    }
    if (!s->exact_seq && !clsq_match(s->q, &cl))
        return 0;
    if (s->got == s->want) {
        s->more = 1;
        return 1;
    }
    if (!(j = contents_json(l))) {
        s->nomem = 1;
        return 1;
    }
    snprintf(pkg, sizeof pkg, "%016llX", (unsigned long long)l->seq);
    json_array_append_new(s->arr, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:[]}",
                                            "Source", l->source ? l->source : "", "Filename",
                                            l->filename ? l->filename : "", "Content", j, "PkgId",
                                            pkg, "PkgLogId", (json_int_t)0, "BTime",
                                            (json_int_t)l->time_ms, "HostName", "", "RawLog", "",
                                            "IndexStatus", "", "HighLights"));
    free(j);
    s->got++;
    return s->exact_seq ? 1 : 0;
}

enum api_err act_describe_log_context(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_DescribeLogContextRequest *req = c->in;
    const char *topic = req->TopicId, *btime = req->BTime;
    const char *pkg = req->PkgId, *query = in_opt(req->Query);
    json_int_t prev = CTX_DEFAULT, next = CTX_DEFAULT;
    int64_t from = INT64_MIN, to = INT64_MAX, t;
    unsigned long long seq;
    struct clsq *q = NULL;
    struct clsq_err qe = {0};
    struct cls_topic tp;
    struct serr se = {{0}};
    struct ctx_scan before, self, after;
    json_t *all = NULL;
    enum api_err rc;
    int n = 0, r;

    if ((rc = cls_unsupported(c, e)) != API_E_OK)
        return rc;
    if (parse_btime(btime, &t) != 0)
        return apierr_set(e, API_E_PARAM_VALUE, "BTime");
    if (sscanf(pkg, "%16llx%n", &seq, &n) != 1 || pkg[n] || seq == 0)
        return apierr_set(e, API_E_PARAM_VALUE, "PkgId");
    if (req->PrevLogs && ((prev = *req->PrevLogs) < 0 || prev > CTX_MAX))
        return apierr_set(e, API_E_PARAM_VALUE, "PrevLogs");
    if (req->NextLogs && ((next = *req->NextLogs) < 0 || next > CTX_MAX))
        return apierr_set(e, API_E_PARAM_VALUE, "NextLogs");
    if (req->From)
        from = *req->From;
    if (req->To)
        to = *req->To;
    if (from >= to)
        return apierr_set(e, API_E_PARAM_VALUE, "To");
    if (query && strlen(query) > MAX_QUERY)
        return apierr_set(e, API_E_PARAM_VALUE, "Query");
    if (clsq_parse(query ? query : "", query ? strlen(query) : 0, CLSQ_LUCENE, &q, &qe) != 0)
        return clsq_to_api(&qe, e);
    if (clsq_has_analysis(q)) {
        clsq_free(q);
        return apierr_set(e, API_E_CLS_SYNTAX, "DescribeLogContext takes no SQL after '|'");
    }
    r = cls_topic_find(c, topic, &tp, &se);
    if (r != STORE_OK) {
        clsq_free(q);
        return r == STORE_NOTFOUND ? apierr_set(e, API_E_CLS_TOPIC_NOTFOUND, topic)
                                   : api_store_failed(c, r, &se, e);
    }
    memset(&before, 0, sizeof before);
    memset(&self, 0, sizeof self);
    memset(&after, 0, sizeof after);
    before.q = self.q = after.q = q;
    before.arr = json_array();
    self.arr = json_array();
    after.arr = json_array();
    before.want = (size_t)prev;
    after.want = (size_t)next;
    self.want = 1;
    self.exact_seq = seq;
    {
        struct cls_scan sb = {c->account->uin, c->region, topic, from, to - 1, 1, 1, t, seq, 0};
        struct cls_scan ss = {c->account->uin, c->region, topic, t, t, 0, 0, 0, 0, 0};
        struct cls_scan sa = {c->account->uin, c->region, topic, from, to - 1, 0, 1, t, seq, 0};
        if ((r = store_cls_logs_scan(c->store, &sb, on_ctx_log, &before, NULL, &se)) != STORE_OK ||
            (r = store_cls_logs_scan(c->store, &ss, on_ctx_log, &self, NULL, &se)) != STORE_OK ||
            (r = store_cls_logs_scan(c->store, &sa, on_ctx_log, &after, NULL, &se)) != STORE_OK) {
            rc = r == STORE_NOTFOUND ? apierr_set(e, API_E_CLS_TOPIC_NOTFOUND, topic)
                                     : api_store_failed(c, r, &se, e);
            goto done;
        }
    }
    if (before.nomem || self.nomem || after.nomem) {
        rc = apierr_set(e, API_E_INTERNAL, NULL);
        goto done;
    }
    /* oldest first: the logs before (found newest first), the log, after */
    all = json_array();
    for (size_t i = json_array_size(before.arr); i > 0; i--)
        json_array_append(all, json_array_get(before.arr, i - 1));
    json_array_extend(all, self.arr);
    json_array_extend(all, after.arr);
    json_object_set_new(out, "LogContextInfos", all);
    json_object_set_new(out, "PrevOver", json_boolean(!before.more));
    json_object_set_new(out, "NextOver", json_boolean(!after.more));
    rc = API_E_OK;
done:
    json_decref(before.arr);
    json_decref(self.arr);
    json_decref(after.arr);
    view_free(&before.view);
    view_free(&self.view);
    view_free(&after.view);
    clsq_free(q);
    return rc;
}
