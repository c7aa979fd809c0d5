/* test_clsq.c: the CLS query library (src/cls/clsq*.c): the search part in
 * CQL and Lucene (terms, key:value, wildcards, phrases, ranges, boolean
 * operators, escapes), the SQL part (select, aggregates, histogram, where,
 * group by, having, order by, limit) against results worked out by hand,
 * errors with their code and position, hints, and the limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "cls/clsq.h"

/* ==== A log from "k=v;k=v" (a key "@" sets time_ms) ==== */

struct tlog {
    struct clsq_log log;
    char *buf;
    const char *keys[32], *vals[32];
    size_t vlens[32];
};

static void tlog_init(struct tlog *t, const char *spec)
{
    memset(t, 0, sizeof *t);
    t->buf = strdup(spec);
    assert_non_null(t->buf);
    char *save = NULL;
    for (char *kv = strtok_r(t->buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(kv, '=');
        assert_non_null(eq);
        *eq = '\0';
        if (strcmp(kv, "@") == 0) { t->log.time_ms = strtoll(eq + 1, NULL, 10); continue; }
        if (strcmp(kv, "@source") == 0) { t->log.source = eq + 1; continue; }
        t->keys[t->log.n] = kv;
        t->vals[t->log.n] = eq + 1;
        t->vlens[t->log.n] = strlen(eq + 1);
        t->log.n++;
    }
    t->log.keys = t->keys;
    t->log.vals = t->vals;
    t->log.vlens = t->vlens;
}

static void tlog_free(struct tlog *t) { free(t->buf); }

static const char *const FLOW =
    "version=2;account-id=100000000001;interface-id=eni-abc123;srcaddr=10.0.1.5;"
    "dstaddr=10.0.2.9;srcport=40000;dstport=22;protocol=6;packets=10;bytes=1500;"
    "start=1700000000;end=1700000060;action=REJECT;log-status=OK;"
    "msg=GET /online/login HTTP/1.1 took 200ms;@=1700000000000;@source=10.9.8.7";

/* ==== Search ==== */

struct mcase { const char *name; int syn; const char *query; bool want; };

static const struct mcase match_cases[] = {
    /* CLS: empty or * selects every log */
    {"empty", 1, "", true},
    {"star", 1, "*", true},
    {"spaces", 1, "   ", true},
    /* key:value, as CLS documents status:404 */
    {"kv", 1, "action:REJECT", true},
    {"kv-case", 1, "action:reject", true},
    {"kv-miss", 1, "action:ACCEPT", false},
    {"kv-dash-key", 1, "interface-id:eni-abc123", true},
    {"kv-num", 1, "dstport:22", true},
    {"kv-num-miss", 1, "dstport:2", false},
    {"kv-absent-key", 1, "nokey:22", false},
    {"kv-ip", 1, "srcaddr:10.0.1.5", true},
    {"kv-ip-wild", 1, "srcaddr:10.0.1.*", true},
    {"kv-ip-wild-miss", 1, "srcaddr:10.0.2.*", false},
    {"kv-qmark", 1, "dstport:2?", true},
    {"kv-qmark-miss", 1, "dstport:?", false},
    {"kv-prefix", 1, "interface-id:eni-*", true},
    {"kv-infix", 1, "interface-id:*abc*", true},
    {"kv-exists", 1, "bytes:*", true},
    {"kv-exists-miss", 1, "nokey:*", false},
    /* segmentation: "/online/login" is the words online, login */
    {"word-in-value", 1, "msg:login", true},
    {"word-part", 1, "msg:logi", false},
    {"word-part-wild", 1, "msg:logi*", true},
    {"escaped-path", 1, "msg:\\/online\\/login", true},
    {"escaped-path-order", 1, "msg:\\/login\\/online", false},
    {"phrase", 1, "msg:\"online login\"", true},
    {"phrase-order", 1, "msg:\"login online\"", false},
    {"phrase-gap", 1, "msg:\"GET login\"", false},
    {"phrase-star-literal", 1, "msg:\"logi*\"", false},
    /* full text */
    {"fulltext", 1, "REJECT", true},
    {"fulltext-lower", 1, "reject", true},
    {"fulltext-miss", 1, "ACCEPT", false},
    {"fulltext-wild", 1, "eni-abc*", true},
    {"fulltext-phrase", 1, "\"took 200ms\"", true},
    {"fulltext-num", 1, "1500", true},
    /* ranges */
    {"gt", 1, "bytes:>1000", true},
    {"gt-miss", 1, "bytes:>1500", false},
    {"ge", 1, "bytes:>=1500", true},
    {"lt", 1, "bytes:<1501", true},
    {"le-miss", 1, "bytes:<=1499", false},
    {"eq", 1, "bytes:=1500", true},
    {"eq-float", 1, "bytes:=1500.0", true},
    {"range-in", 1, "bytes:[1 TO 1500]", true},
    {"range-excl", 1, "bytes:[1 TO 1500}", false},
    {"range-open", 1, "bytes:[1000 TO *]", true},
    {"range-comma", 1, "bytes:[1000,2000]", true},
    {"range-cql-lower-to", 1, "bytes:[1000 to 2000]", true},
    {"range-out", 1, "bytes:{1500 TO 2000]", false},
    {"range-text-value", 1, "action:>1", false},
    {"range-neg", 1, "bytes:>-5", true},
    /* boolean */
    {"and", 1, "action:REJECT AND dstport:22", true},
    {"and-lower", 1, "action:REJECT and dstport:22", true},
    {"and-implicit", 1, "action:REJECT dstport:22", true},
    {"and-miss", 1, "action:REJECT AND dstport:23", false},
    {"or", 1, "dstport:23 OR dstport:22", true},
    {"or-lower", 1, "dstport:23 or dstport:22", true},
    {"or-miss", 1, "dstport:23 OR dstport:24", false},
    {"not", 1, "NOT dstport:23", true},
    {"not-miss", 1, "NOT dstport:22", false},
    {"minus", 1, "action:REJECT NOT dstport:22", false},
    {"precedence", 1, "dstport:23 AND action:x OR dstport:22", true},
    {"precedence2", 1, "dstport:22 OR dstport:23 AND action:x", true},
    {"parens", 1, "(dstport:23 OR dstport:22) AND action:REJECT", true},
    {"parens-miss", 1, "(dstport:23 OR dstport:22) AND action:ACCEPT", false},
    {"nested", 1, "((((dstport:22))))", true},
    {"field-group", 1, "dstport:(23 OR 22)", true},
    {"field-group-miss", 1, "dstport:(23 OR 24)", false},
    {"not-not", 1, "NOT NOT dstport:22", true},
    {"cql-kw-as-word", 1, "msg:took", true},
    /* Lucene */
    {"lucene-and", 0, "action:REJECT AND dstport:22", true},
    {"lucene-andand", 0, "action:REJECT && dstport:22", true},
    {"lucene-oror", 0, "dstport:23 || dstport:22", true},
    {"lucene-minus", 0, "action:REJECT -dstport:22", false},
    {"lucene-bang", 0, "!dstport:23", true},
    {"lucene-plus", 0, "+dstport:22", true},
    {"lucene-range", 0, "bytes:[1000 TO 2000]", true},
    {"lucene-lower-and-is-word", 0, "action:REJECT and", false},
    {"lucene-wild", 0, "srcaddr:10.0.*", true},
    /* escapes */
    {"escape-colon", 1, "msg:HTTP\\/1.1", true},
    {"escape-star-literal", 1, "dstport:2\\*", false},
    /* the metadata fields */
    {"meta-source", 1, "__SOURCE__:10.9.8.7", true},
    {"meta-source-wild", 1, "__SOURCE__:10.9.*", true},
    {"meta-source-miss", 1, "__SOURCE__:10.9.8.8", false},
    {"meta-filename-absent", 1, "__FILENAME__:*", false},
    /* CQL: a dash inside a word is part of it */
    {"cql-dash", 1, "log-status:OK", true},
};

/* Each case's query parsed and matched against the log `line` (none of
 * them with an analysis part when `search_only`); every failure printed,
 * then the test fails if any did. */
static void run_match_cases(const char *line, const struct mcase *cases, size_t n,
                            bool search_only)
{
    struct tlog t;
    tlog_init(&t, line);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        const struct mcase *c = &cases[i];
        struct clsq *q = NULL;
        struct clsq_err e = {0};
        if (clsq_parse(c->query, strlen(c->query), (enum clsq_syntax)c->syn, &q, &e) != 0) {
            print_error("case %s: parse failed: %s %s\n", c->name, e.code, e.message);
            failed++;
            continue;
        }
        bool got = clsq_match(q, &t.log);
        if (got != c->want) {
            print_error("case %s: %s gave %d, want %d\n", c->name, c->query, got, c->want);
            failed++;
        }
        if (search_only)
            assert_false(clsq_has_analysis(q));
        clsq_free(q);
    }
    tlog_free(&t);
    assert_int_equal(failed, 0);
}

static void test_match_cases(void **state)
{
    (void)state;
    run_match_cases(FLOW, match_cases, sizeof match_cases / sizeof *match_cases, true);
}

/* The examples of CLS's "syntax and rules" pages, on an access log of theirs. */
static const char *const ACCESS =
    "remote_addr=192.168.1.23;status=404;request_method=GET;request_time=1.25;"
    "http_user_agent=Mozilla/5.0 (Windows NT 10.0, Win64, x64);level=ERROR;pid=1234;"
    "body_bytes_sent=612;url=/online/sample?id=12;remote_user=-;@=1700000000000";

static const struct mcase doc_cases[] = {
    {"doc-status", 1, "status:404", true},
    {"doc-error-cost", 1, "level:ERROR AND request_time:>1", true},
    {"doc-not-info", 1, "NOT level:INFO", true},
    {"doc-or-pid", 1, "(level:ERROR OR level:WARNING) AND pid:1234", true},
    {"doc-ip-prefix", 1, "remote_addr:192.168.1.*", true},
    {"doc-status-range", 1, "status:>=400 AND status:<500", true},
    {"doc-lucene-range", 0, "status:[400 TO 500}", true},
    {"doc-lucene-range-out", 0, "status:[200 TO 404}", false},
    {"doc-fulltext-word", 1, "sample", true},
    {"doc-fulltext-part", 1, "samp", false},
    {"doc-fulltext-wild", 1, "samp*", true},
    {"doc-escaped-path", 1, "url:\\/online\\/sample", true},
    {"doc-phrase-ua", 1, "http_user_agent:\"Windows NT\"", true},
    {"doc-exists", 1, "remote_user:*", true},
    {"doc-method-or", 1, "request_method:GET OR request_method:POST", true},
    {"doc-float", 1, "request_time:>1.2 AND request_time:<1.3", true},
    /* '?' splits values (a delimiter CLS recommends) but is a wildcard in a bare term */
    {"qmark-splits-value", 1, "url:id", true},
    {"qmark-escaped-phrase", 1, "url:sample\\?id", true},
    {"qmark-wildcard", 1, "url:sampl?", true},
};

static void test_doc_examples(void **state)
{
    (void)state;
    run_match_cases(ACCESS, doc_cases, sizeof doc_cases / sizeof *doc_cases, false);
}

struct ecase { const char *name; int syn; const char *query; const char *code; size_t off; };

static const struct ecase err_cases[] = {
    {"unbalanced-open", 1, "(a OR b", "FailedOperation.SyntaxError", 0},
    {"unbalanced-close", 1, "a OR b)", "FailedOperation.SyntaxError", 6},
    {"dangling-and", 1, "a AND", "FailedOperation.SyntaxError", 5},
    {"dangling-or", 1, "a OR ", "FailedOperation.SyntaxError", 5},
    {"leading-or", 1, "OR a", "FailedOperation.SyntaxError", 0},
    {"no-value", 1, "key:", "FailedOperation.SyntaxError", 4},
    {"no-key", 1, ":value", "FailedOperation.SyntaxError", 0},
    {"unterminated-phrase", 1, "msg:\"abc", "FailedOperation.SyntaxError", 4},
    {"range-no-to", 1, "bytes:[1 2]", "FailedOperation.SyntaxError", 9},
    {"range-text", 1, "bytes:[a TO 2]", "FailedOperation.SyntaxError", 7},
    {"range-open-end", 1, "bytes:[1 TO 2", "FailedOperation.SyntaxError", 13},
    {"cmp-text", 1, "bytes:>abc", "FailedOperation.SyntaxError", 7},
    {"trailing-backslash", 1, "abc\\", "FailedOperation.SyntaxError", 3},
    {"empty-parens", 1, "()", "FailedOperation.SyntaxError", 1},
    {"sql-no-select", 1, "* | count(*)", "FailedOperation.SyntaxError", 4},
    {"sql-bad-func", 1, "* | select nosuch(x)", "FailedOperation.QueryError", 11},
    {"sql-unterminated", 1, "* | select 'abc", "FailedOperation.SyntaxError", 11},
    {"sql-trailing", 1, "* | select a b c", "FailedOperation.SyntaxError", 15},
    {"sql-not-grouped", 1, "* | select a, count(*) group by b", "FailedOperation.QueryError", 11},
    {"sql-where-agg", 1, "* | select a where count(*) > 1", "FailedOperation.QueryError", 19},
    {"sql-nested-agg", 1, "* | select sum(count(*))", "FailedOperation.QueryError", 15},
    {"sql-bad-interval", 1, "* | select histogram(__TIMESTAMP__, interval 1 fortnight)", "FailedOperation.SyntaxError", 47},
    {"sql-bad-limit", 1, "* | select a limit x", "FailedOperation.SyntaxError", 19},
    {"sql-select-star", 1, "* | select *", "FailedOperation.QueryError", 11},
    {"sql-empty", 1, "* |", "FailedOperation.SyntaxError", 3},
    {"sql-bad-char", 1, "* | select a # b", "FailedOperation.SyntaxError", 13},
    {"sql-group-pos", 1, "* | select a group by 3", "FailedOperation.QueryError", 22},
    {"sql-cast-type", 1, "* | select cast(a as blob)", "FailedOperation.QueryError", 21},
    {"sql-from-other", 1, "* | select a from other", "FailedOperation.QueryError", 18},
    {"sql-date-trunc-unit", 1, "* | select date_trunc('week', __TIMESTAMP__)", "FailedOperation.QueryError", 22},
    {"search-error-before-sql", 1, "(a | select a", "FailedOperation.SyntaxError", 0},
    {"lucene-lower-or-dangles", 0, "a ||", "FailedOperation.SyntaxError", 4},
    {"lucene-lower-to", 0, "bytes:[1 to 2]", "FailedOperation.SyntaxError", 9},
};

static void test_error_cases(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof err_cases / sizeof *err_cases; i++) {
        const struct ecase *c = &err_cases[i];
        struct clsq *q = (struct clsq *)0x1;
        struct clsq_err e = {0};
        int rc = clsq_parse(c->query, strlen(c->query), (enum clsq_syntax)c->syn, &q, &e);
        if (rc != -1 || q != NULL) {
            print_error("case %s: %s parsed\n", c->name, c->query);
            failed++;
            clsq_free(rc == 0 ? q : NULL);
            continue;
        }
        char at[32];
        snprintf(at, sizeof at, "offset %zu", e.offset);
        if (!e.code || strcmp(e.code, c->code) != 0 || e.offset != c->off || !strstr(e.message, at)) {
            print_error("case %s: %s gave %s at %zu (%s), want %s at %zu\n", c->name, c->query,
                        e.code ? e.code : "(null)", e.offset, e.message, c->code, c->off);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

static void test_depth_and_length(void **state)
{
    (void)state;
    struct clsq *q = NULL;
    struct clsq_err e = {0};
    char deep[400];
    memset(deep, '(', 200);
    deep[200] = 'a';
    memset(deep + 201, ')', 198);
    deep[399] = ')';
    assert_int_equal(clsq_parse(deep, sizeof deep, CLSQ_CQL, &q, &e), -1);
    assert_string_equal(e.code, "FailedOperation.SyntaxError");
    assert_null(q);

    char nots[2000];
    size_t n = 0;
    for (int i = 0; i < 300; i++) n += (size_t)snprintf(nots + n, sizeof nots - n, "NOT ");
    n += (size_t)snprintf(nots + n, sizeof nots - n, "a");
    assert_int_equal(clsq_parse(nots, n, CLSQ_CQL, &q, &e), -1);

    char sqlneg[700] = "* | select ";
    n = strlen(sqlneg);
    for (int i = 0; i < 300; i++) sqlneg[n++] = '-';
    sqlneg[n++] = '1';
    assert_int_equal(clsq_parse(sqlneg, n, CLSQ_CQL, &q, &e), -1);
    assert_string_equal(e.code, "FailedOperation.SyntaxError");

    /* a chain as deep as it is long: bounded by the number of nodes */
    char chain[12000];
    n = 0;
    for (int i = 0; i < 2000; i++) n += (size_t)snprintf(chain + n, sizeof chain - n, "a%d ", i % 10);
    assert_int_equal(clsq_parse(chain, n, CLSQ_CQL, &q, &e), -1);
    assert_string_equal(e.code, "FailedOperation.SyntaxError");
    assert_non_null(strstr(e.message, "too many"));
    n = (size_t)snprintf(chain, sizeof chain, "* | select 1");
    for (int i = 0; i < 1500; i++) n += (size_t)snprintf(chain + n, sizeof chain - n, "+1");
    assert_int_equal(clsq_parse(chain, n, CLSQ_CQL, &q, &e), -1);
    assert_non_null(strstr(e.message, "too many"));
    /* within the bound it parses and runs */
    n = 0;
    for (int i = 0; i < 400; i++) n += (size_t)snprintf(chain + n, sizeof chain - n, "a%d ", i % 10);
    assert_int_equal(clsq_parse(chain, n, CLSQ_CQL, &q, &e), 0);
    clsq_free(q);

    size_t big = 13000;
    char *longq = malloc(big);
    assert_non_null(longq);
    memset(longq, 'a', big);
    assert_int_equal(clsq_parse(longq, big, CLSQ_CQL, &q, &e), -1);
    free(longq);

    assert_int_equal(clsq_parse("a\0b", 3, CLSQ_CQL, &q, &e), -1);
    assert_int_equal(e.offset, 1);
    assert_int_equal(clsq_parse("a", 1, (enum clsq_syntax)7, &q, &e), -1);
}

static void test_hints(void **state)
{
    (void)state;
    struct clsq *q = NULL;
    struct clsq_err e = {0};
    struct clsq_hint h[8];
    const char *s = "action:REJECT AND dstport:22 AND (a OR b) AND srcaddr:10.0.* AND Foo";
    assert_int_equal(clsq_parse(s, strlen(s), CLSQ_CQL, &q, &e), 0);
    size_t n = clsq_hints(q, h, 8);
    assert_int_equal(n, 3);
    assert_string_equal(h[0].key, "action");
    assert_int_equal(h[0].vlen, 6);
    assert_memory_equal(h[0].value, "reject", 6);
    assert_string_equal(h[1].key, "dstport");
    assert_memory_equal(h[1].value, "22", 2);
    assert_null(h[2].key);
    assert_memory_equal(h[2].value, "foo", 3);
    assert_int_equal(clsq_hints(q, h, 1), 1);
    clsq_free(q);

    assert_int_equal(clsq_parse("a OR b", 6, CLSQ_CQL, &q, &e), 0);
    assert_int_equal(clsq_hints(q, h, 8), 0);
    clsq_free(q);
    assert_int_equal(clsq_parse("*", 1, CLSQ_CQL, &q, &e), 0);
    assert_int_equal(clsq_hints(q, h, 8), 0);
    clsq_free(q);
}

/* Every hint holds for every log the query matches. */
static void test_hints_are_necessary(void **state)
{
    (void)state;
    const char *queries[] = {"action:REJECT dstport:22", "REJECT", "msg:login AND eni-abc123",
                             "dstport:22 AND NOT x"};
    struct tlog t;
    tlog_init(&t, FLOW);
    for (size_t i = 0; i < 4; i++) {
        struct clsq *q = NULL;
        struct clsq_err e = {0};
        assert_int_equal(clsq_parse(queries[i], strlen(queries[i]), CLSQ_CQL, &q, &e), 0);
        assert_true(clsq_match(q, &t.log));
        struct clsq_hint h[8];
        size_t n = clsq_hints(q, h, 8);
        assert_true(n >= 1);
        for (size_t k = 0; k < n; k++) {
            bool seen = false;
            for (size_t f = 0; f < t.log.n; f++) {
                if (h[k].key && strcmp(h[k].key, t.log.keys[f]) != 0) continue;
                /* the hint's word occurs in the value, ignoring case */
                for (size_t o = 0; o + h[k].vlen <= t.log.vlens[f]; o++)
                    if (strncasecmp(t.log.vals[f] + o, h[k].value, h[k].vlen) == 0) seen = true;
            }
            assert_true(seen);
        }
        clsq_free(q);
    }
    tlog_free(&t);
}

/* ==== SQL ==== */

static const char *const LOGS[] = {
    "srcaddr=10.0.1.1;dstport=22;bytes=100;action=ACCEPT;@=1700000000000",
    "srcaddr=10.0.1.2;dstport=22;bytes=300;action=REJECT;@=1700000030000",
    "srcaddr=10.0.1.1;dstport=80;bytes=1000;action=ACCEPT;@=1700000070000",
    "srcaddr=10.0.1.3;dstport=443;bytes=5000;action=ACCEPT;@=1700000130000",
    "srcaddr=10.0.1.1;dstport=443;bytes=2500;action=REJECT;@=1700000200000",
    "srcaddr=10.0.1.4;dstport=80;bytes=-;action=ACCEPT;@=1700000210000",
    "srcaddr=10.0.1.2;dstport=22;action=ACCEPT;@=1700000220000",
};
#define NLOGS (sizeof LOGS / sizeof *LOGS)

/** Runs `query` over LOGS (the search part filters) and returns the
 * AnalysisRecords joined with '\n' (malloc'd), or NULL with *e set. */
static char *run_sql(const char *query, json_t **whole, struct clsq_err *e, const struct clsq_limits *lim)
{
    struct clsq *q = NULL;
    if (clsq_parse(query, strlen(query), CLSQ_CQL, &q, e) != 0) return NULL;
    assert_true(clsq_has_analysis(q));
    struct clsq_agg *a = clsq_agg_new(q, lim, e);
    assert_non_null(a);
    char *out = NULL;
    for (size_t i = 0; i < NLOGS; i++) {
        struct tlog t;
        tlog_init(&t, LOGS[i]);
        int rc = clsq_match(q, &t.log) ? clsq_agg_add(a, &t.log, e) : 0;
        tlog_free(&t);
        if (rc != 0) goto done;
    }
    json_t *res = NULL;
    if (clsq_agg_result(a, &res, e) != 0) goto done;
    json_t *recs = json_object_get(res, "AnalysisRecords");
    size_t cap = 4096, n = 0;
    out = calloc(1, cap);
    for (size_t i = 0; i < json_array_size(recs); i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "\n" : "", json_string_value(json_array_get(recs, i)));
    if (whole) *whole = res;
    else json_decref(res);
done:
    clsq_agg_free(a);
    clsq_free(q);
    return out;
}

struct scase { const char *name; const char *query; const char *want; };

static const struct scase sql_cases[] = {
    /* CLS's examples */
    {"doc-count", "* | select count(*) as logCounts", "{\"logCounts\":7}"},
    {"doc-status-count", "action:REJECT | select count(*) as logCounts", "{\"logCounts\":2}"},
    {"issue-topn", "* | select dstport, sum(bytes) as b group by dstport order by b desc limit 5",
     "{\"dstport\":\"443\",\"b\":7500}\n{\"dstport\":\"80\",\"b\":1000}\n{\"dstport\":\"22\",\"b\":400}"},
    {"histogram-cast",
     "* | select histogram(cast(__TIMESTAMP__ as timestamp), interval 1 minute) as dt, count(*) as pv group by dt order by dt",
     /* 1700000000000 ms is 2023-11-14 22:13:20 UTC; the logs are 0, 30, 70, 130, 200, 210, 220 s later */
     "{\"dt\":\"2023-11-14 22:13:00.000\",\"pv\":2}\n{\"dt\":\"2023-11-14 22:14:00.000\",\"pv\":1}\n"
     "{\"dt\":\"2023-11-14 22:15:00.000\",\"pv\":1}\n{\"dt\":\"2023-11-14 22:16:00.000\",\"pv\":2}\n"
     "{\"dt\":\"2023-11-14 22:17:00.000\",\"pv\":1}"},
    {"histogram-plain",
     "* | select histogram(__TIMESTAMP__, interval 2 minute) as dt, count(*) as pv group by dt order by dt desc limit 1",
     "{\"dt\":\"2023-11-14 22:16:00.000\",\"pv\":3}"},
    {"histogram-seconds", "* | select histogram(__TIMESTAMP__, interval 30 second) as t, count(*) as c group by t order by c desc, t limit 2",
     "{\"t\":\"2023-11-14 22:16:30.000\",\"c\":2}\n{\"t\":\"2023-11-14 22:13:00.000\",\"c\":1}"},
    {"histogram-hour", "* | select histogram(__TIMESTAMP__, interval 1 hour) as t, count(*) as c group by t",
     "{\"t\":\"2023-11-14 22:00:00.000\",\"c\":7}"},
    {"aggregates", "* | select count(*) as n, count(bytes) as nb, sum(bytes) as s, avg(bytes) as a, min(bytes) as lo, max(bytes) as hi",
     "{\"n\":7,\"nb\":6,\"s\":8900,\"a\":1780.0,\"lo\":100,\"hi\":5000}"},
    {"avg-frac", "dstport:22 | select avg(bytes) as a", "{\"a\":200.0}"},
    {"avg-frac2", "* | select avg(bytes) as a where dstport = 22 or dstport = 80",
     "{\"a\":466.6666666666667}"},
    {"count-distinct", "* | select count(distinct srcaddr) as u, count(distinct dstport) as p", "{\"u\":4,\"p\":3}"},
    {"count-distinct-group",
     "* | select dstport, count(distinct srcaddr) as u group by dstport order by dstport",
     "{\"dstport\":\"22\",\"u\":2}\n{\"dstport\":\"80\",\"u\":2}\n{\"dstport\":\"443\",\"u\":2}"},
    {"where-num", "* | select count(*) as c where bytes > 500", "{\"c\":3}"},
    {"where-str", "* | select count(*) as c where action = 'REJECT'", "{\"c\":2}"},
    {"where-and-not", "* | select count(*) as c where action = 'ACCEPT' and not dstport = 22", "{\"c\":3}"},
    {"where-in", "* | select count(*) as c where dstport in (22, 443)", "{\"c\":5}"},
    {"where-not-in", "* | select count(*) as c where dstport not in (22, 443)", "{\"c\":2}"},
    {"where-like", "* | select count(*) as c where srcaddr like '10.0.1.%'", "{\"c\":7}"},
    {"where-like-one", "* | select count(*) as c where srcaddr like '10.0.1._' and srcaddr not like '%1'", "{\"c\":4}"},
    {"where-between", "* | select count(*) as c where bytes between 300 and 2500", "{\"c\":3}"},
    {"where-null", "* | select count(*) as c where bytes is null", "{\"c\":1}"},
    {"where-not-null", "* | select count(*) as c where bytes is not null", "{\"c\":6}"},
    {"where-text-num", "* | select count(*) as c where bytes >= 0", "{\"c\":5}"},
    {"where-ne", "* | select count(*) as c where action <> 'ACCEPT'", "{\"c\":2}"},
    {"where-neq", "* | select count(*) as c where action != 'ACCEPT'", "{\"c\":2}"},
    {"group-two", "* | select srcaddr, action, count(*) as c group by srcaddr, action order by c desc, srcaddr, action limit 3",
     "{\"srcaddr\":\"10.0.1.1\",\"action\":\"ACCEPT\",\"c\":2}\n{\"srcaddr\":\"10.0.1.1\",\"action\":\"REJECT\",\"c\":1}\n"
     "{\"srcaddr\":\"10.0.1.2\",\"action\":\"ACCEPT\",\"c\":1}"},
    {"group-alias", "* | select dstport as p, count(*) as c group by p order by p desc",
     "{\"p\":\"443\",\"c\":2}\n{\"p\":\"80\",\"c\":2}\n{\"p\":\"22\",\"c\":3}"},
    {"group-ordinal", "* | select action, count(*) group by 1 order by 2 desc",
     "{\"action\":\"ACCEPT\",\"_col1\":5}\n{\"action\":\"REJECT\",\"_col1\":2}"},
    {"having", "* | select dstport, count(*) as c group by dstport having count(*) > 2",
     "{\"dstport\":\"22\",\"c\":3}"},
    {"order-agg-not-selected", "* | select dstport group by dstport order by sum(bytes) desc",
     "{\"dstport\":\"443\"}\n{\"dstport\":\"80\"}\n{\"dstport\":\"22\"}"},
    {"arith", "* | select sum(bytes) / count(bytes) as a, sum(bytes) * 2 + 1 as x, -min(bytes) as m",
     "{\"a\":1483,\"x\":17801,\"m\":-100}"},
    {"arith-double", "* | select sum(bytes) * 1.5 as x", "{\"x\":13350.0}"},
    {"arith-mod", "* | select 7 % 3 as m, 7 / 0 as z limit 1", "{\"m\":1,\"z\":null}"},
    {"plain-rows", "action:REJECT | select srcaddr, bytes", "{\"srcaddr\":\"10.0.1.2\",\"bytes\":\"300\"}\n{\"srcaddr\":\"10.0.1.1\",\"bytes\":\"2500\"}"},
    {"plain-order", "* | select srcaddr, bytes where bytes > 0 order by bytes desc limit 2",
     "{\"srcaddr\":\"10.0.1.3\",\"bytes\":\"5000\"}\n{\"srcaddr\":\"10.0.1.1\",\"bytes\":\"2500\"}"},
    {"plain-limit-offset", "* | select bytes where bytes > 0 order by bytes limit 1, 2",
     "{\"bytes\":\"300\"}\n{\"bytes\":\"1000\"}"},
    {"plain-limit-offset2", "* | select bytes where bytes > 0 order by bytes limit 2 offset 1",
     "{\"bytes\":\"300\"}\n{\"bytes\":\"1000\"}"},
    {"plain-limit", "* | select dstport limit 2", "{\"dstport\":\"22\"}\n{\"dstport\":\"22\"}"},
    {"timestamp", "dstport:80 | select __TIMESTAMP__ as t, cast(__TIMESTAMP__ as timestamp) as ts order by t limit 1",
     "{\"t\":1700000070000,\"ts\":\"2023-11-14 22:14:30.000\"}"},
    {"cast", "* | select cast(dstport as bigint) + 1 as p, cast(bytes as double) as d, cast(5 as varchar) as s where srcaddr = '10.0.1.3'",
     "{\"p\":444,\"d\":5000.0,\"s\":\"5\"}"},
    {"quoted-ident", "* | select \"dstport\" as \"Port\", count(*) as \"n\" group by \"dstport\" order by \"n\" desc limit 1",
     "{\"Port\":\"22\",\"n\":3}"},
    {"keywords-case", "* | SELECT COUNT(*) AS c WHERE action = 'REJECT' ", "{\"c\":2}"},
    {"implicit-alias", "* | select count(*) c", "{\"c\":7}"},
    {"from-log", "* | select count(*) as c from log", "{\"c\":7}"},
    {"semicolon", "* | select count(*) as c;", "{\"c\":7}"},
    {"empty-global", "action:NOPE | select count(*) as c, sum(bytes) as s", "{\"c\":0,\"s\":null}"},
    {"empty-grouped", "action:NOPE | select action, count(*) as c group by action", ""},
    {"string-escape", "* | select count(*) as c where action = 'it''s'", "{\"c\":0}"},
    {"min-max-text", "* | select min(action) as lo, max(action) as hi", "{\"lo\":\"ACCEPT\",\"hi\":\"REJECT\"}"},
    {"sum-past-double", "* | select sum(cast(bytes as double) * 5e304) as s, avg(cast(bytes as double) * 5e304) as a", "{\"s\":null,\"a\":null}"},
    {"histogram-extreme", "* | select histogram(-9223372036854775807, interval 1 day) as t limit 1", "{\"t\":null}"},
    {"round", "* | select round(avg(bytes)) as a, round(avg(bytes), 1) as b, round(1234, -2) as c, round(-2.5) as d",
     "{\"a\":1780.0,\"b\":1780.0,\"c\":1200,\"d\":-3.0}"},
    {"round-frac", "* | select round(sum(bytes) / 3.0, 2) as r, abs(-5) as a, floor(2.7) as f, ceil(2.1) as c, ceiling(-2.1) as g",
     "{\"r\":2966.67,\"a\":5,\"f\":2.0,\"c\":3.0,\"g\":-2.0}"},
    {"approx-distinct", "* | select approx_distinct(srcaddr) as u", "{\"u\":4}"},
    {"date-trunc", "* | select date_trunc('minute', __TIMESTAMP__) as m, count(*) as c group by m order by c desc, m limit 2",
     "{\"m\":\"2023-11-14 22:13:00.000\",\"c\":2}\n{\"m\":\"2023-11-14 22:16:00.000\",\"c\":2}"},
    {"pipe-in-phrase", "msg:\"a|b\" | select count(*) as c", "{\"c\":0}"},
};

static void test_sql_cases(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof sql_cases / sizeof *sql_cases; i++) {
        const struct scase *c = &sql_cases[i];
        struct clsq_err e = {0};
        char *got = run_sql(c->query, NULL, &e, NULL);
        if (!got) {
            print_error("case %s: %s failed: %s %s\n", c->name, c->query, e.code, e.message);
            failed++;
            continue;
        }
        if (strcmp(got, c->want) != 0) {
            print_error("case %s: %s\n got: %s\nwant: %s\n", c->name, c->query, got, c->want);
            failed++;
        }
        free(got);
    }
    assert_int_equal(failed, 0);
}

static void test_result_shape(void **state)
{
    (void)state;
    json_t *res = NULL;
    struct clsq_err e = {0};
    char *got = run_sql("* | select dstport, sum(bytes) as b, avg(bytes) as a, histogram(__TIMESTAMP__, interval 1 hour) as t "
                        "group by dstport, t order by b desc limit 1", &res, &e, NULL);
    assert_non_null(got);
    free(got);
    assert_true(json_is_true(json_object_get(res, "Analysis")));
    json_t *names = json_object_get(res, "ColNames"), *cols = json_object_get(res, "Columns");
    assert_int_equal(json_array_size(names), 4);
    assert_string_equal(json_string_value(json_array_get(names, 1)), "b");
    const char *types[] = {"varchar", "bigint", "double", "timestamp"};
    for (size_t i = 0; i < 4; i++) {
        json_t *c = json_array_get(cols, i);
        assert_string_equal(json_string_value(json_object_get(c, "Name")), json_string_value(json_array_get(names, i)));
        assert_string_equal(json_string_value(json_object_get(c, "Type")), types[i]);
    }
    json_t *r = json_array_get(json_object_get(res, "AnalysisResults"), 0);
    json_t *data = json_object_get(r, "Data");
    assert_int_equal(json_array_size(data), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(data, 0), "Key")), "dstport");
    assert_string_equal(json_string_value(json_object_get(json_array_get(data, 0), "Value")), "443");
    assert_string_equal(json_string_value(json_object_get(json_array_get(data, 1), "Value")), "7500");
    assert_string_equal(json_string_value(json_object_get(json_array_get(data, 2), "Value")), "3750.0");
    assert_string_equal(json_string_value(json_object_get(json_array_get(data, 3), "Value")), "2023-11-14 22:00:00.000");
    json_decref(res);
}

static void test_default_limit(void **state)
{
    (void)state;
    struct clsq *q = NULL;
    struct clsq_err e = {0};
    const char *s = "* | select n";
    assert_int_equal(clsq_parse(s, strlen(s), CLSQ_CQL, &q, &e), 0);
    struct clsq_agg *a = clsq_agg_new(q, NULL, &e);
    char v[16];
    const char *k = "n", *vp = v;
    size_t vl;
    for (int i = 0; i < 500; i++) {
        vl = (size_t)snprintf(v, sizeof v, "%d", i);
        struct clsq_log l = {.n = 1, .keys = &k, .vals = &vp, .vlens = &vl};
        assert_int_equal(clsq_agg_done(a), i >= 100);
        assert_int_equal(clsq_agg_add(a, &l, &e), 0);
    }
    assert_true(clsq_agg_done(a));
    json_t *res = NULL;
    assert_int_equal(clsq_agg_result(a, &res, &e), 0);
    assert_int_equal(json_array_size(json_object_get(res, "AnalysisRecords")), 100);
    json_decref(res);
    /* answered once: no second answer, no more input */
    res = NULL;
    assert_int_equal(clsq_agg_result(a, &res, &e), -1);
    assert_null(res);
    struct clsq_log l2 = {.n = 1, .keys = &k, .vals = &vp, .vlens = &vl};
    assert_int_equal(clsq_agg_add(a, &l2, &e), -1);
    clsq_agg_free(a);
    clsq_free(q);
}

/* order by over many rows keeps the true top rows while it trims */
static void test_topk_trim(void **state)
{
    (void)state;
    struct clsq *q = NULL;
    struct clsq_err e = {0};
    const char *s = "* | select n order by n desc limit 3";
    assert_int_equal(clsq_parse(s, strlen(s), CLSQ_CQL, &q, &e), 0);
    struct clsq_agg *a = clsq_agg_new(q, NULL, &e);
    char v[16];
    const char *k = "n", *vp = v;
    size_t vl;
    for (int i = 0; i < 20000; i++) {
        int x = (i * 7919) % 20000;
        vl = (size_t)snprintf(v, sizeof v, "%d", x);
        struct clsq_log l = {.n = 1, .keys = &k, .vals = &vp, .vlens = &vl};
        assert_int_equal(clsq_agg_add(a, &l, &e), 0);
        assert_false(clsq_agg_done(a)); /* ORDER BY: any later row may come first */
    }
    json_t *res = NULL;
    assert_int_equal(clsq_agg_result(a, &res, &e), 0);
    json_t *recs = json_object_get(res, "AnalysisRecords");
    assert_int_equal(json_array_size(recs), 3);
    assert_string_equal(json_string_value(json_array_get(recs, 0)), "{\"n\":\"19999\"}");
    assert_string_equal(json_string_value(json_array_get(recs, 2)), "{\"n\":\"19997\"}");
    json_decref(res);
    clsq_agg_free(a);
    clsq_free(q);
}

/* many groups, a short LIMIT: the trimming of the answer keeps the true top */
static void test_group_topk(void **state)
{
    (void)state;
    const char *qs[] = {"* | select n, count(*) as c group by n having n % 2 = 0 order by n desc limit 3",
                        "* | select n, count(*) as c group by n limit 2"};
    const char *want[][3] = {{"{\"n\":\"9998\",\"c\":2}", "{\"n\":\"9996\",\"c\":2}", "{\"n\":\"9994\",\"c\":2}"},
                             {"{\"n\":\"0\",\"c\":2}", "{\"n\":\"3\",\"c\":2}", NULL}};
    for (size_t k = 0; k < 2; k++) {
        struct clsq *q = NULL;
        struct clsq_err e = {0};
        assert_int_equal(clsq_parse(qs[k], strlen(qs[k]), CLSQ_CQL, &q, &e), 0);
        struct clsq_agg *a = clsq_agg_new(q, NULL, &e);
        char v[16];
        const char *key = "n", *vp = v;
        size_t vl;
        for (int i = 0; i < 20000; i++) {
            int x = (i * 3) % 10000; /* 0, 3, 6, ...: every n in 0..9999 twice */
            vl = (size_t)snprintf(v, sizeof v, "%d", x);
            struct clsq_log l = {.n = 1, .keys = &key, .vals = &vp, .vlens = &vl};
            assert_int_equal(clsq_agg_add(a, &l, &e), 0);
        }
        json_t *res = NULL;
        assert_int_equal(clsq_agg_result(a, &res, &e), 0);
        json_t *recs = json_object_get(res, "AnalysisRecords");
        size_t n = want[k][2] ? 3 : 2;
        assert_int_equal(json_array_size(recs), n);
        for (size_t i = 0; i < n; i++) assert_string_equal(json_string_value(json_array_get(recs, i)), want[k][i]);
        json_decref(res);
        clsq_agg_free(a);
        clsq_free(q);
    }
}

static void test_limits(void **state)
{
    (void)state;
    struct clsq_err e = {0};
    struct clsq_limits groups = {.max_groups = 2};
    char *got = run_sql("* | select srcaddr, count(*) group by srcaddr", NULL, &e, &groups);
    assert_null(got);
    assert_string_equal(e.code, "LimitExceeded.SearchResources");
    assert_non_null(strstr(e.message, "groups"));

    struct clsq_limits steps = {.max_steps = 10};
    got = run_sql("* | select count(*) as c where bytes > 1", NULL, &e, &steps);
    assert_null(got);
    assert_string_equal(e.code, "FailedOperation.SearchTimeout");

    struct clsq_limits mem = {.max_memory = 600};
    got = run_sql("* | select count(distinct srcaddr) as u, dstport group by dstport", NULL, &e, &mem);
    assert_null(got);
    assert_string_equal(e.code, "LimitExceeded.SearchResources");
    assert_non_null(strstr(e.message, "memory"));

    /* within the limits, the same queries run */
    struct clsq_limits ok = {.max_groups = 4, .max_steps = 1000, .max_memory = 1 << 20};
    got = run_sql("* | select srcaddr, count(*) as c group by srcaddr order by srcaddr limit 1", NULL, &e, &ok);
    assert_non_null(got);
    assert_string_equal(got, "{\"srcaddr\":\"10.0.1.1\",\"c\":3}");
    free(got);

    /* a failed aggregation refuses more input */
    struct clsq *q = NULL;
    assert_int_equal(clsq_parse("* | select a, count(*) group by a", 33, CLSQ_CQL, &q, &e), 0);
    struct clsq_limits one = {.max_groups = 1};
    struct clsq_agg *a = clsq_agg_new(q, &one, &e);
    const char *k = "a", *v1 = "x", *v2 = "y";
    size_t l1 = 1;
    struct clsq_log g1 = {.n = 1, .keys = &k, .vals = &v1, .vlens = &l1};
    struct clsq_log g2 = {.n = 1, .keys = &k, .vals = &v2, .vlens = &l1};
    assert_int_equal(clsq_agg_add(a, &g1, &e), 0);
    assert_int_equal(clsq_agg_add(a, &g2, &e), -1);
    assert_int_equal(clsq_agg_add(a, &g1, &e), -1);
    json_t *res = NULL;
    assert_int_equal(clsq_agg_result(a, &res, &e), -1);
    assert_null(res);
    clsq_agg_free(a);
    clsq_free(q);
}

/* bytes that are not UTF-8 in a value stay in the answer, as U+FFFD */
static void test_invalid_utf8_value(void **state)
{
    (void)state;
    struct clsq *q = NULL;
    struct clsq_err e = {0};
    const char *s = "* | select action, count(*) as c group by action";
    assert_int_equal(clsq_parse(s, strlen(s), CLSQ_CQL, &q, &e), 0);
    struct clsq_agg *a = clsq_agg_new(q, NULL, &e);
    const char *k = "action", *v = "A\xff";
    size_t vl = 2;
    struct clsq_log l = {.n = 1, .keys = &k, .vals = &v, .vlens = &vl};
    assert_int_equal(clsq_agg_add(a, &l, &e), 0);
    json_t *res = NULL;
    assert_int_equal(clsq_agg_result(a, &res, &e), 0);
    json_t *d0 = json_array_get(json_object_get(json_array_get(json_object_get(res, "AnalysisResults"), 0), "Data"), 0);
    assert_string_equal(json_string_value(json_object_get(d0, "Value")), "A\xef\xbf\xbd");
    assert_string_equal(json_string_value(json_array_get(json_object_get(res, "AnalysisRecords"), 0)),
                        "{\"action\":\"A\xef\xbf\xbd\",\"c\":1}");
    json_decref(res);
    clsq_agg_free(a);
    clsq_free(q);
}

static void test_no_analysis(void **state)
{
    (void)state;
    struct clsq *q = NULL;
    struct clsq_err e = {0};
    assert_int_equal(clsq_parse("a:b", 3, CLSQ_CQL, &q, &e), 0);
    assert_false(clsq_has_analysis(q));
    assert_null(clsq_agg_new(q, NULL, &e));
    assert_string_equal(e.code, "FailedOperation.QueryError");
    clsq_free(q);
    clsq_free(NULL);
    clsq_agg_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_cases),
        cmocka_unit_test(test_doc_examples),
        cmocka_unit_test(test_error_cases),
        cmocka_unit_test(test_depth_and_length),
        cmocka_unit_test(test_hints),
        cmocka_unit_test(test_hints_are_necessary),
        cmocka_unit_test(test_sql_cases),
        cmocka_unit_test(test_result_shape),
        cmocka_unit_test(test_default_limit),
        cmocka_unit_test(test_topk_trim),
        cmocka_unit_test(test_group_topk),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_invalid_utf8_value),
        cmocka_unit_test(test_no_analysis),
    };
    return cmocka_run_group_tests_name("clsq", tests, NULL, NULL);
}
