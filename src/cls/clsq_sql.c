/* clsq_sql.c: the analysis part of a CLS query (after '|'): a subset of
 * CLS SQL parsed into expression trees and run in C over the logs the
 * search part selected, with bounded groups, memory and steps.
 *
 *   SELECT item [, item]* [WHERE e] [GROUP BY e [, e]*] [HAVING e]
 *          [ORDER BY e [ASC|DESC] [, ...]*] [LIMIT n [OFFSET m] | LIMIT m, n]
 *   item := * is not taken; e [[AS] alias]
 *   e    := OR / AND / NOT, = != <> < <= > >=, [NOT] LIKE, [NOT] IN (...),
 *           [NOT] BETWEEN a AND b, IS [NOT] NULL, + - * / %, unary -,
 *           numbers, 'strings', columns (key, "key"), __TIMESTAMP__,
 *           __SOURCE__, __FILENAME__, count(*), count([DISTINCT] e), sum,
 *           avg, min, max, approx_distinct, histogram(e, INTERVAL n unit),
 *           date_trunc('unit', e), round(e [, d]), abs, floor, ceil,
 *           cast(e AS bigint|double|varchar|timestamp)
 *
 * Values are what the logs hold: strings. A string takes part in
 * arithmetic, sum/avg and comparisons with a number as the number it
 * spells (a string that spells none is NULL there), the way CLS treats a
 * field indexed as long/double; two strings compare as strings. */
#define _GNU_SOURCE /* qsort_r */
#include "cls/clsq_int.h"
#include "base/buf.h"
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/** Rows returned when the query has no LIMIT (CLS's default for SQL results). */
#define SQL_DEFAULT_LIMIT 100
#define SQL_MAX_LIMIT 1000000

/* ==== Values ==== */

enum vt { V_NULL, V_NUM, V_STR, V_TS, V_BOOL };

/** A value. V_NUM: isint ? i : d; V_TS: i (ms); V_BOOL: i; V_STR: s/n
 * (borrowed from the log, the query, the group or the row scratch). */
struct val {
    uint8_t t;
    bool isint;
    int64_t i;
    double d;
    const char *s;
    size_t n;
};

static const struct val VNULL = {.t = V_NULL};

static struct val vnum_i(int64_t i) { return (struct val){.t = V_NUM, .isint = true, .i = i, .d = (double)i}; }
static struct val vnum_d(double d) { return (struct val){.t = V_NUM, .d = d}; }
static struct val vbool(bool b) { return (struct val){.t = V_BOOL, .i = b}; }

/** The number a string spells: integer when it is one that fits. */
static bool str_num(const char *s, size_t n, struct val *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf) return false;
    /* the common case, a short integer, without strtoll */
    size_t neg = s[0] == '-';
    if (n > neg && n - neg <= 18) {
        int64_t v = 0;
        size_t j = neg;
        while (j < n && s[j] >= '0' && s[j] <= '9') v = v * 10 + (s[j++] - '0');
        if (j == n) { *out = vnum_i(neg ? -v : v); return true; }
    }
    size_t j = 0;
    bool digits_only = true;
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        if (!strchr("0123456789+-.eE", c)) return false;
        if (!(c >= '0' && c <= '9') && !(k == 0 && (c == '-' || c == '+'))) digits_only = false;
        buf[j++] = c;
    }
    buf[j] = '\0';
    char *end;
    if (digits_only) {
        errno = 0;
        long long v = strtoll(buf, &end, 10);
        if (end == buf + j && errno == 0) { *out = vnum_i(v); return true; }
    }
    double d = strtod(buf, &end);
    if (end != buf + j || !isfinite(d)) return false;
    *out = vnum_d(d);
    return true;
}

/** The value as a number (NUM/TS/BOOL as is, STR parsed); false if none. */
static bool as_num(struct val v, struct val *out)
{
    switch (v.t) {
    case V_NUM: *out = v; return true;
    case V_TS: case V_BOOL: *out = vnum_i(v.i); return true;
    case V_STR: return str_num(v.s, v.n, out);
    default: return false;
    }
}

static double num_d(struct val v) { return v.isint ? (double)v.i : v.d; }

/** Shortest %g form of d that reads back as d, with ".0" on a whole number
 * (a double stays a double to the reader, as CLS's Java prints it). */
static void fmt_double(char *buf, size_t sz, double d)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sz, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) break;
    }
    if (!strpbrk(buf, ".eEn")) {
        size_t l = strlen(buf);
        if (l + 3 <= sz) memcpy(buf + l, ".0", 3);
    }
}

static void fmt_ts(char *buf, size_t sz, int64_t ms)
{
    int64_t sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int msr = (int)(ms - sec * 1000);
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) { snprintf(buf, sz, "%" PRId64, ms); return; }
    snprintf(buf, sz, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, msr);
}

/** The value as text into buf (sz ≥ 40); strings are returned as they are. */
static const char *val_text(struct val v, char *buf, size_t sz, size_t *len)
{
    switch (v.t) {
    case V_STR: *len = v.n; return v.s;
    case V_NUM:
        if (v.isint) snprintf(buf, sz, "%" PRId64, v.i);
        else fmt_double(buf, sz, v.d);
        break;
    case V_TS: fmt_ts(buf, sz, v.i); break;
    case V_BOOL: snprintf(buf, sz, "%s", v.i ? "true" : "false"); break;
    default: snprintf(buf, sz, "null"); break;
    }
    *len = strlen(buf);
    return buf;
}

/** SQL ordering of two values: -2 if they do not compare (NULL, or a string
 * that is no number against a number), else -1/0/1. */
static int val_cmp(struct val a, struct val b)
{
    if (a.t == V_NULL || b.t == V_NULL) return -2;
    if (a.t == V_STR && b.t == V_STR) {
        struct val x, y;
        if (str_num(a.s, a.n, &x) && str_num(b.s, b.n, &y)) {
            if (x.isint && y.isint) return x.i < y.i ? -1 : x.i > y.i;
            return num_d(x) < num_d(y) ? -1 : num_d(x) > num_d(y);
        }
        size_t m = a.n < b.n ? a.n : b.n;
        int c = memcmp(a.s, b.s, m);
        if (c) return c < 0 ? -1 : 1;
        return a.n < b.n ? -1 : a.n > b.n;
    }
    struct val x, y;
    if (!as_num(a, &x) || !as_num(b, &y)) return -2;
    if (x.isint && y.isint) return x.i < y.i ? -1 : x.i > y.i;
    double dx = num_d(x), dy = num_d(y);
    return dx < dy ? -1 : dx > dy;
}

/** Total order for ORDER BY and min/max: NULL last, numbers before strings. */
static int sort_cmp(struct val a, struct val b)
{
    int c = val_cmp(a, b);
    if (c != -2) return c;
    if (a.t == V_NULL || b.t == V_NULL) return (a.t == V_NULL) - (b.t == V_NULL);
    struct val x;
    bool an = as_num(a, &x), bn = as_num(b, &x);
    if (an != bn) return an ? -1 : 1;
    return 0;
}

/* ==== Expressions ==== */

enum ekind {
    E_LIT, E_COL, E_TIME, E_SOURCE, E_FILENAME, E_ARITH, E_NEG, E_NOT, E_AND, E_OR,
    E_CMP, E_LIKE, E_IN, E_BETWEEN, E_ISNULL, E_AGG, E_HIST, E_CAST, E_FUNC
};
/* E_FUNC: scalar functions (op); date_trunc keeps its unit in step_ms */
enum funck { F_ROUND, F_ABS, F_FLOOR, F_CEIL, F_DATE_TRUNC };
enum cmpop { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE };
enum aggk { A_COUNT_STAR, A_COUNT, A_COUNT_DISTINCT, A_SUM, A_AVG, A_MIN, A_MAX };
enum castk { K_BIGINT, K_DOUBLE, K_VARCHAR, K_TIMESTAMP };

struct expr {
    enum ekind k;
    int op;                 /* ARITH: + - * / %; CMP: enum cmpop; AGG: enum aggk; CAST: enum castk */
    bool neg;               /* NOT LIKE / NOT IN / NOT BETWEEN / IS NOT NULL */
    struct expr *a, *b, *c;
    struct expr **list;     /* IN */
    size_t nlist;
    struct val lit;         /* LIT (strings point into str) */
    char *str;              /* COL: the key; LIT: string storage */
    int64_t step_ms;        /* HIST */
    int slot;               /* AGG: index of its state in a group */
    int gidx;               /* ≥ 0: this expression is GROUP BY expression #gidx */
    size_t off, end;        /* source range in the whole query */
};

static void expr_free(struct expr *e)
{
    if (!e) return;
    expr_free(e->a);
    expr_free(e->b);
    expr_free(e->c);
    for (size_t i = 0; i < e->nlist; i++) expr_free(e->list[i]);
    free(e->list);
    free(e->str);
    free(e);
}

struct item { struct expr *e; char *name; };
struct order { struct expr *e; bool desc; int item; /* ≥ 0: the select item it names */ };

struct clsq_sql {
    const char *text;       /* the whole query (only during parsing) */
    struct item *items;
    size_t nitems;
    struct expr *where, *having;
    struct expr **groups;
    size_t ngroups;
    struct order *orders;
    size_t norders;
    int64_t limit, offset;
    struct expr **aggs;     /* every aggregate call; its slot is its index */
    size_t naggs;
    bool grouped;           /* aggregates or GROUP BY: one output row per group */
    uint64_t row_cost;      /* steps one fed log costs */
};

static bool group_is_item(const struct clsq_sql *q, const struct expr *g);

void clsq_sql_free(struct clsq_sql *q)
{
    if (!q) return;
    for (size_t i = 0; i < q->ngroups; i++)
        if (!group_is_item(q, q->groups[i])) expr_free(q->groups[i]);
    free(q->groups);
    for (size_t i = 0; i < q->nitems; i++) { expr_free(q->items[i].e); free(q->items[i].name); }
    free(q->items);
    expr_free(q->where);
    expr_free(q->having);
    for (size_t i = 0; i < q->norders; i++)
        if (q->orders[i].item < 0) expr_free(q->orders[i].e);
    free(q->orders);
    free(q->aggs);
    free(q);
}

/* ==== Lexer ==== */

enum tt { T_EOF, T_IDENT, T_QIDENT, T_STR, T_NUM, T_OP };

struct tok {
    enum tt t;
    size_t off, len;   /* in the whole query */
    char *s;           /* IDENT/QIDENT/STR: the text, unquoted (malloc'd) */
    size_t sn;
    struct val num;    /* NUM */
};

struct ps {
    const char *q;     /* the whole query */
    size_t base;
    struct tok *toks;
    size_t ntoks, i;
    struct clsq_err *err;
    bool failed;
    int depth;
    int nodes;
    struct clsq_sql *sql;
};

static void *ps_fail(struct ps *p, const char *code, size_t off, const char *what)
{
    if (!p->failed) {
        p->failed = true;
        clsq_seterr(p->err, code, off, "%s", what);
    }
    return NULL;
}

static void *ps_failf(struct ps *p, const char *code, size_t off, const char *fmt, const char *arg)
{
    char msg[200];
    snprintf(msg, sizeof msg, fmt, arg);
    return ps_fail(p, code, off, msg);
}

static int lex(struct ps *p, const char *s, size_t n)
{
    size_t cap = 16, i = 0;
    p->toks = calloc(cap, sizeof *p->toks);
    if (!p->toks) { ps_fail(p, CLSQ_E_QUERY, p->base, "out of memory"); return -1; }
    for (;;) {
        while (i < n && isspace((unsigned char)s[i])) i++;
        if (p->ntoks + 1 >= cap) {
            struct tok *nt = realloc(p->toks, 2 * cap * sizeof *nt);
            if (!nt) { ps_fail(p, CLSQ_E_QUERY, p->base + i, "out of memory"); return -1; }
            memset(nt + cap, 0, cap * sizeof *nt);
            p->toks = nt;
            cap *= 2;
        }
        struct tok *t = &p->toks[p->ntoks];
        t->off = p->base + i;
        if (i >= n) { t->t = T_EOF; p->ntoks++; return 0; }
        unsigned char c = (unsigned char)s[i];
        size_t st = i;
        if (isalpha(c) || c == '_') {
            while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_')) i++;
            t->t = T_IDENT;
        } else if (isdigit(c) || (c == '.' && i + 1 < n && isdigit((unsigned char)s[i + 1]))) {
            while (i < n && (isdigit((unsigned char)s[i]) || s[i] == '.')) i++;
            if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                size_t j = i + 1;
                if (j < n && (s[j] == '+' || s[j] == '-')) j++;
                if (j < n && isdigit((unsigned char)s[j])) {
                    i = j;
                    while (i < n && isdigit((unsigned char)s[i])) i++;
                }
            }
            if (!str_num(s + st, i - st, &t->num)) { ps_fail(p, CLSQ_E_SYNTAX, t->off, "a malformed number"); return -1; }
            t->t = T_NUM;
        } else if (c == '\'' || c == '"') {
            /* 'string' or "identifier"; a doubled quote stands for itself */
            char *o = malloc(n - i + 1);
            size_t k = 0;
            if (!o) { ps_fail(p, CLSQ_E_QUERY, t->off, "out of memory"); return -1; }
            i++;
            for (;;) {
                if (i >= n) {
                    free(o);
                    ps_fail(p, CLSQ_E_SYNTAX, t->off, c == '\'' ? "unterminated string" : "unterminated quoted name");
                    return -1;
                }
                if ((unsigned char)s[i] == c) {
                    if (i + 1 < n && (unsigned char)s[i + 1] == c) { o[k++] = (char)c; i += 2; continue; }
                    i++;
                    break;
                }
                o[k++] = s[i++];
            }
            o[k] = '\0';
            t->s = o;
            t->sn = k;
            t->t = c == '\'' ? T_STR : T_QIDENT;
        } else {
            static const char *const ops2[] = {"!=", "<>", "<=", ">=", "||", NULL};
            t->t = T_OP;
            i++;
            for (int k = 0; ops2[k]; k++)
                if (st + 2 <= n && memcmp(s + st, ops2[k], 2) == 0) { i = st + 2; break; }
            if (i == st + 1 && !strchr("(),*+-/%=<>;", c)) {
                ps_fail(p, CLSQ_E_SYNTAX, t->off, "an unexpected character");
                return -1;
            }
        }
        t->len = i - st;
        if (t->t == T_IDENT) {
            t->s = malloc(t->len + 1);
            if (!t->s) { ps_fail(p, CLSQ_E_QUERY, t->off, "out of memory"); return -1; }
            memcpy(t->s, s + st, t->len);
            t->s[t->len] = '\0';
            t->sn = t->len;
        }
        p->ntoks++;
    }
}

static struct tok *peek(struct ps *p) { return &p->toks[p->i]; }

static bool is_kw(const struct tok *t, const char *kw)
{
    return t->t == T_IDENT && strcasecmp(t->s, kw) == 0;
}

static const char *tok_text(const struct ps *p, const struct tok *t) { return p->q + t->off; }

static bool op_is(const struct ps *p, const struct tok *t, const char *op)
{
    return t->t == T_OP && t->len == strlen(op) && memcmp(tok_text(p, t), op, t->len) == 0;
}

static bool accept_kw(struct ps *p, const char *kw)
{
    if (is_kw(peek(p), kw)) { p->i++; return true; }
    return false;
}

static bool accept_op(struct ps *p, const char *op)
{
    if (op_is(p, peek(p), op)) { p->i++; return true; }
    return false;
}

static bool expect_op(struct ps *p, const char *op)
{
    if (accept_op(p, op)) return true;
    ps_failf(p, CLSQ_E_SYNTAX, peek(p)->off, "expected '%s'", op);
    return false;
}

/* Words that end an expression list or cannot be an alias. */
static const char *const reserved[] = {"select", "from", "where", "group", "by", "having", "order",
                                       "limit", "offset", "asc", "desc", "and", "or", "not",
                                       "as", "like", "in", "between", "is", "null", "distinct",
                                       "interval", NULL};

static bool is_reserved(const struct tok *t)
{
    if (t->t != T_IDENT) return false;
    for (int i = 0; reserved[i]; i++)
        if (strcasecmp(t->s, reserved[i]) == 0) return true;
    return false;
}

/* ==== Parser ==== */

static struct expr *newe(struct ps *p, enum ekind k, size_t off)
{
    if (++p->nodes > CLSQ_MAX_NODES) return ps_fail(p, CLSQ_E_SYNTAX, off, "the analysis has too many terms and operators");
    struct expr *e = calloc(1, sizeof *e);
    if (!e) return ps_fail(p, CLSQ_E_QUERY, off, "out of memory");
    e->k = k;
    e->off = off;
    e->gidx = -1;
    e->slot = -1;
    return e;
}

static void set_end(struct ps *p, struct expr *e)
{
    const struct tok *prev = &p->toks[p->i ? p->i - 1 : 0];
    e->end = prev->off + prev->len;
}

static struct expr *p_expr(struct ps *p);

static struct expr *p_agg(struct ps *p, enum aggk k, size_t off)
{
    struct expr *e = newe(p, E_AGG, off);
    if (!e) return NULL;
    e->op = k;
    if (k == A_COUNT && accept_op(p, "*")) e->op = A_COUNT_STAR;
    else {
        if (k == A_COUNT && accept_kw(p, "distinct")) e->op = A_COUNT_DISTINCT;
        else if (is_kw(peek(p), "distinct")) { expr_free(e); return ps_fail(p, CLSQ_E_QUERY, peek(p)->off, "DISTINCT is taken in count() only"); }
        if (!(e->a = p_expr(p))) { expr_free(e); return NULL; }
    }
    if (!expect_op(p, ")")) { expr_free(e); return NULL; }
    set_end(p, e);
    return e;
}

static struct expr *p_hist(struct ps *p, size_t off)
{
    struct expr *e = newe(p, E_HIST, off);
    if (!e) return NULL;
    if (!(e->a = p_expr(p)) || !expect_op(p, ",")) goto bad;
    if (!accept_kw(p, "interval")) { ps_fail(p, CLSQ_E_SYNTAX, peek(p)->off, "expected INTERVAL n unit"); goto bad; }
    int64_t nval;
    struct tok *t = peek(p);
    if (t->t == T_NUM && t->num.isint) nval = t->num.i;
    else if (t->t == T_STR && str_num(t->s, t->sn, &t->num) && t->num.isint) nval = t->num.i;
    else { ps_fail(p, CLSQ_E_SYNTAX, t->off, "an interval needs a whole number"); goto bad; }
    p->i++;
    t = peek(p);
    static const struct { const char *u; int64_t ms; } units[] = {
        {"second", 1000}, {"minute", 60000}, {"hour", 3600000}, {"day", 86400000}, {NULL, 0}};
    int64_t ms = 0;
    if (t->t == T_IDENT) {
        for (int k = 0; units[k].u; k++) {
            size_t ul = strlen(units[k].u);
            if (strncasecmp(t->s, units[k].u, ul) == 0 && (t->sn == ul || (t->sn == ul + 1 && tolower((unsigned char)t->s[ul]) == 's')))
                ms = units[k].ms;
        }
    }
    if (!ms) { ps_fail(p, CLSQ_E_SYNTAX, t->off, "an interval unit is second, minute, hour or day"); goto bad; }
    p->i++;
    if (nval <= 0 || nval > INT64_MAX / ms) { ps_fail(p, CLSQ_E_QUERY, t->off, "the interval is out of range"); goto bad; }
    e->step_ms = nval * ms;
    if (!expect_op(p, ")")) goto bad;
    set_end(p, e);
    return e;
bad:
    expr_free(e);
    return NULL;
}

/** round(x [, d]), abs(x), floor(x), ceil(x), date_trunc('unit', t). */
static struct expr *p_func(struct ps *p, int k, int maxargs, size_t off)
{
    struct expr *e = newe(p, E_FUNC, off);
    if (!e) return NULL;
    e->op = k;
    if (k == F_DATE_TRUNC) {
        struct tok *t = peek(p);
        static const struct { const char *u; int64_t ms; } units[] = {
            {"second", 1000}, {"minute", 60000}, {"hour", 3600000}, {"day", 86400000}, {NULL, 0}};
        for (int j = 0; t->t == T_STR && units[j].u; j++)
            if (strcasecmp(t->s, units[j].u) == 0) e->step_ms = units[j].ms;
        if (!e->step_ms) { ps_fail(p, CLSQ_E_QUERY, t->off, "date_trunc takes 'second', 'minute', 'hour' or 'day'"); goto bad; }
        p->i++;
        if (!expect_op(p, ",") || !(e->a = p_expr(p))) goto bad;
    } else {
        if (!(e->a = p_expr(p))) goto bad;
        if (maxargs > 1 && accept_op(p, ",") && !(e->b = p_expr(p))) goto bad;
    }
    if (!expect_op(p, ")")) goto bad;
    set_end(p, e);
    return e;
bad:
    expr_free(e);
    return NULL;
}

static struct expr *p_cast(struct ps *p, size_t off)
{
    struct expr *e = newe(p, E_CAST, off);
    if (!e) return NULL;
    if (!(e->a = p_expr(p))) goto bad;
    if (!accept_kw(p, "as")) { ps_fail(p, CLSQ_E_SYNTAX, peek(p)->off, "expected AS in cast()"); goto bad; }
    struct tok *t = peek(p);
    static const struct { const char *n; int k; } types[] = {
        {"bigint", K_BIGINT}, {"integer", K_BIGINT}, {"int", K_BIGINT}, {"long", K_BIGINT},
        {"double", K_DOUBLE}, {"real", K_DOUBLE}, {"varchar", K_VARCHAR}, {"string", K_VARCHAR},
        {"timestamp", K_TIMESTAMP}, {NULL, 0}};
    int k = -1;
    for (int j = 0; t->t == T_IDENT && types[j].n; j++)
        if (strcasecmp(t->s, types[j].n) == 0) k = types[j].k;
    if (k < 0) { ps_fail(p, CLSQ_E_QUERY, t->off, "cast() takes bigint, double, varchar or timestamp"); goto bad; }
    p->i++;
    e->op = k;
    if (!expect_op(p, ")")) goto bad;
    set_end(p, e);
    return e;
bad:
    expr_free(e);
    return NULL;
}

static struct expr *p_primary(struct ps *p)
{
    struct tok *t = peek(p);
    size_t off = t->off;
    if (t->t == T_NUM) {
        struct expr *e = newe(p, E_LIT, off);
        if (!e) return NULL;
        e->lit = t->num;
        p->i++;
        set_end(p, e);
        return e;
    }
    if (t->t == T_STR) {
        struct expr *e = newe(p, E_LIT, off);
        if (!e) return NULL;
        e->str = t->s;
        t->s = NULL;
        e->lit = (struct val){.t = V_STR, .s = e->str, .n = t->sn};
        p->i++;
        set_end(p, e);
        return e;
    }
    if (op_is(p, t, "(")) {
        p->i++;
        struct expr *e = p_expr(p);
        if (!e) return NULL;
        if (!expect_op(p, ")")) { expr_free(e); return NULL; }
        return e;
    }
    if (t->t == T_IDENT && is_kw(t, "null")) {
        p->i++;
        struct expr *e = newe(p, E_LIT, off);
        if (e) set_end(p, e);
        return e;
    }
    if (t->t == T_IDENT && op_is(p, &p->toks[p->i + 1], "(")) {
        p->i += 2;
        static const struct { const char *n; int k; } aggs[] = {
            {"count", A_COUNT}, {"sum", A_SUM}, {"avg", A_AVG}, {"min", A_MIN}, {"max", A_MAX}, {NULL, 0}};
        for (int j = 0; aggs[j].n; j++)
            if (strcasecmp(t->s, aggs[j].n) == 0) return p_agg(p, aggs[j].k, off);
        if (strcasecmp(t->s, "approx_distinct") == 0) {
            /* exact here: CLS's estimate is within a few percent of this */
            struct expr *e = p_agg(p, A_COUNT, off);
            if (e) e->op = A_COUNT_DISTINCT;
            return e;
        }
        if (strcasecmp(t->s, "histogram") == 0) return p_hist(p, off);
        static const struct { const char *n; int k; int nargs; } funcs[] = {
            {"round", F_ROUND, 2}, {"abs", F_ABS, 1}, {"floor", F_FLOOR, 1}, {"ceil", F_CEIL, 1},
            {"ceiling", F_CEIL, 1}, {"date_trunc", F_DATE_TRUNC, 2}, {NULL, 0, 0}};
        for (int j = 0; funcs[j].n; j++)
            if (strcasecmp(t->s, funcs[j].n) == 0) return p_func(p, funcs[j].k, funcs[j].nargs, off);
        if (strcasecmp(t->s, "cast") == 0) return p_cast(p, off);
        return ps_failf(p, CLSQ_E_QUERY, off, "function '%s' is not supported", t->s);
    }
    if ((t->t == T_IDENT && !is_reserved(t)) || t->t == T_QIDENT) {
        const char *name = t->s;
        enum ekind k = E_COL;
        if (strcmp(name, "__TIMESTAMP__") == 0) k = E_TIME;
        else if (strcmp(name, "__SOURCE__") == 0) k = E_SOURCE;
        else if (strcmp(name, "__FILENAME__") == 0) k = E_FILENAME;
        struct expr *e = newe(p, k, off);
        if (!e) return NULL;
        e->str = t->s;
        t->s = NULL;
        p->i++;
        set_end(p, e);
        return e;
    }
    if (t->t == T_EOF) return ps_fail(p, CLSQ_E_SYNTAX, off, "unexpected end of the query: an expression is missing");
    return ps_fail(p, CLSQ_E_SYNTAX, off, "an expression was expected");
}

/* A node of kind k over a (NULL: a's parse failed, passed on), ending
 * where a does; a is freed if the node cannot be made. */
static struct expr *unary(struct ps *p, enum ekind k, size_t off, struct expr *a)
{
    if (!a) return NULL;
    struct expr *e = newe(p, k, off);
    if (!e) { expr_free(a); return NULL; }
    e->a = a;
    set_end(p, e);
    return e;
}

static struct expr *p_unary(struct ps *p)
{
    size_t off = peek(p)->off;
    if (accept_op(p, "-")) {
        if (++p->depth > CLSQ_MAX_DEPTH) return ps_fail(p, CLSQ_E_SYNTAX, off, "expression nested too deep");
        struct expr *a = p_unary(p);
        p->depth--;
        return unary(p, E_NEG, off, a);
    }
    accept_op(p, "+");
    if (++p->depth > CLSQ_MAX_DEPTH) return ps_fail(p, CLSQ_E_SYNTAX, off, "expression nested too deep");
    struct expr *e = p_primary(p);
    p->depth--;
    return e;
}

static struct expr *binary(struct ps *p, enum ekind k, int op, struct expr *a, struct expr *b)
{
    struct expr *e = newe(p, k, a->off);
    if (!e) { expr_free(a); expr_free(b); return NULL; }
    e->op = op;
    e->a = a;
    e->b = b;
    set_end(p, e);
    return e;
}

static struct expr *p_mul(struct ps *p)
{
    struct expr *l = p_unary(p);
    while (l) {
        int op = accept_op(p, "*") ? '*' : accept_op(p, "/") ? '/' : accept_op(p, "%") ? '%' : 0;
        if (!op) break;
        struct expr *r = p_unary(p);
        if (!r) { expr_free(l); return NULL; }
        l = binary(p, E_ARITH, op, l, r);
    }
    return l;
}

static struct expr *p_add(struct ps *p)
{
    struct expr *l = p_mul(p);
    while (l) {
        int op = accept_op(p, "+") ? '+' : accept_op(p, "-") ? '-' : 0;
        if (!op) break;
        struct expr *r = p_mul(p);
        if (!r) { expr_free(l); return NULL; }
        l = binary(p, E_ARITH, op, l, r);
    }
    return l;
}

static struct expr *p_cmp(struct ps *p)
{
    struct expr *l = p_add(p);
    if (!l) return NULL;
    static const struct { const char *o; int c; } ops[] = {
        {"=", C_EQ}, {"!=", C_NE}, {"<>", C_NE}, {"<", C_LT}, {"<=", C_LE}, {">", C_GT}, {">=", C_GE}, {NULL, 0}};
    for (int j = 0; ops[j].o; j++)
        if (accept_op(p, ops[j].o)) {
            struct expr *r = p_add(p);
            if (!r) { expr_free(l); return NULL; }
            return binary(p, E_CMP, ops[j].c, l, r);
        }
    size_t save = p->i;
    bool neg = accept_kw(p, "not");
    if (accept_kw(p, "like")) {
        struct expr *r = p_add(p);
        if (!r) { expr_free(l); return NULL; }
        struct expr *e = binary(p, E_LIKE, 0, l, r);
        if (e) e->neg = neg;
        return e;
    }
    if (accept_kw(p, "between")) {
        struct expr *lo = p_add(p), *hi = NULL;
        if (!lo || !accept_kw(p, "and") || !(hi = p_add(p))) {
            if (lo && !p->failed) ps_fail(p, CLSQ_E_SYNTAX, peek(p)->off, "expected AND in BETWEEN");
            expr_free(l); expr_free(lo);
            return NULL;
        }
        struct expr *e = binary(p, E_BETWEEN, 0, l, lo);
        if (e) { e->c = hi; e->neg = neg; } else expr_free(hi);
        return e;
    }
    if (accept_kw(p, "in")) {
        struct expr *e = newe(p, E_IN, l->off);
        if (!e) { expr_free(l); return NULL; }
        e->a = l;
        e->neg = neg;
        if (!expect_op(p, "(")) { expr_free(e); return NULL; }
        for (;;) {
            struct expr *x = p_add(p);
            if (!x) { expr_free(e); return NULL; }
            struct expr **nl = realloc(e->list, (e->nlist + 1) * sizeof *nl);
            if (!nl) { expr_free(x); expr_free(e); return ps_fail(p, CLSQ_E_QUERY, l->off, "out of memory"); }
            e->list = nl;
            e->list[e->nlist++] = x;
            if (accept_op(p, ",")) continue;
            if (!expect_op(p, ")")) { expr_free(e); return NULL; }
            break;
        }
        set_end(p, e);
        return e;
    }
    if (neg) { p->i = save; }
    if (accept_kw(p, "is")) {
        bool n2 = accept_kw(p, "not");
        if (!accept_kw(p, "null")) { expr_free(l); return ps_fail(p, CLSQ_E_SYNTAX, peek(p)->off, "expected NULL after IS"); }
        struct expr *e = unary(p, E_ISNULL, l->off, l);
        if (e) e->neg = n2;
        return e;
    }
    return l;
}

static struct expr *p_not(struct ps *p)
{
    size_t off = peek(p)->off;
    if (accept_kw(p, "not")) {
        if (++p->depth > CLSQ_MAX_DEPTH) return ps_fail(p, CLSQ_E_SYNTAX, off, "NOT nested too deep");
        struct expr *a = p_not(p);
        p->depth--;
        return unary(p, E_NOT, off, a);
    }
    return p_cmp(p);
}

static struct expr *p_and(struct ps *p)
{
    struct expr *l = p_not(p);
    while (l && accept_kw(p, "and")) {
        struct expr *r = p_not(p);
        if (!r) { expr_free(l); return NULL; }
        l = binary(p, E_AND, 0, l, r);
    }
    return l;
}

static struct expr *p_expr(struct ps *p)
{
    if (++p->depth > CLSQ_MAX_DEPTH) return ps_fail(p, CLSQ_E_SYNTAX, peek(p)->off, "expression nested too deep");
    struct expr *l = p_and(p);
    while (l && accept_kw(p, "or")) {
        struct expr *r = p_and(p);
        if (!r) { expr_free(l); l = NULL; break; }
        l = binary(p, E_OR, 0, l, r);
    }
    p->depth--;
    return l;
}

/* ==== Checks after parsing ==== */

static bool has_agg(const struct expr *e)
{
    if (!e) return false;
    if (e->k == E_AGG) return true;
    if (has_agg(e->a) || has_agg(e->b) || has_agg(e->c)) return true;
    for (size_t i = 0; i < e->nlist; i++)
        if (has_agg(e->list[i])) return true;
    return false;
}

static size_t expr_cost(const struct expr *e)
{
    if (!e) return 0;
    size_t c = 1 + expr_cost(e->a) + expr_cost(e->b) + expr_cost(e->c);
    for (size_t i = 0; i < e->nlist; i++) c += expr_cost(e->list[i]);
    return c;
}

static bool expr_same(const struct expr *x, const struct expr *y)
{
    if (!x || !y) return x == y;
    if (x->k != y->k || x->op != y->op || x->neg != y->neg || x->nlist != y->nlist || x->step_ms != y->step_ms)
        return false;
    if (x->k == E_LIT) {
        if (x->lit.t != y->lit.t) return false;
        if (x->lit.t == V_STR) return x->lit.n == y->lit.n && memcmp(x->lit.s, y->lit.s, x->lit.n) == 0;
        return x->lit.t == V_NULL || (x->lit.isint == y->lit.isint && x->lit.i == y->lit.i && x->lit.d == y->lit.d);
    }
    if ((x->str || y->str) && (!x->str || !y->str || strcmp(x->str, y->str) != 0)) return false;
    if (!expr_same(x->a, y->a) || !expr_same(x->b, y->b) || !expr_same(x->c, y->c)) return false;
    for (size_t i = 0; i < x->nlist; i++)
        if (!expr_same(x->list[i], y->list[i])) return false;
    return true;
}

/** Registers the aggregates in e (slots), and checks that aggregates do not
 * nest. */
static bool collect_aggs(struct ps *p, struct expr *e, bool inside)
{
    if (!e) return true;
    if (e->k == E_AGG) {
        if (inside) { ps_fail(p, CLSQ_E_QUERY, e->off, "aggregate functions cannot be nested"); return false; }
        struct clsq_sql *q = p->sql;
        struct expr **na = realloc(q->aggs, (q->naggs + 1) * sizeof *na);
        if (!na) { ps_fail(p, CLSQ_E_QUERY, e->off, "out of memory"); return false; }
        q->aggs = na;
        e->slot = (int)q->naggs;
        q->aggs[q->naggs++] = e;
        return collect_aggs(p, e->a, true);
    }
    if (!collect_aggs(p, e->a, inside) || !collect_aggs(p, e->b, inside) || !collect_aggs(p, e->c, inside))
        return false;
    for (size_t i = 0; i < e->nlist; i++)
        if (!collect_aggs(p, e->list[i], inside)) return false;
    return true;
}

/** In a grouped query, an output expression may use only group keys,
 * aggregates and constants: marks the group keys (gidx) and rejects the
 * rest, pointing at the offending column. */
static bool bind_groups(struct ps *p, struct expr *e)
{
    if (!e) return true;
    struct clsq_sql *q = p->sql;
    for (size_t g = 0; g < q->ngroups; g++)
        if (expr_same(e, q->groups[g])) { e->gidx = (int)g; return true; }
    if (e->k == E_AGG) return true;
    if (e->k == E_COL || e->k == E_TIME || e->k == E_SOURCE || e->k == E_FILENAME) {
        ps_failf(p, CLSQ_E_QUERY, e->off, "column '%s' must appear in GROUP BY or inside an aggregate function", e->str);
        return false;
    }
    if (!bind_groups(p, e->a) || !bind_groups(p, e->b) || !bind_groups(p, e->c)) return false;
    for (size_t i = 0; i < e->nlist; i++)
        if (!bind_groups(p, e->list[i])) return false;
    return true;
}

/** A select item named `name` (alias or column), or an ordinal; -1 if none. */
static int find_item(struct ps *p, const struct expr *e)
{
    struct clsq_sql *q = p->sql;
    if (e->k == E_LIT && e->lit.t == V_NUM && e->lit.isint) {
        if (e->lit.i >= 1 && (uint64_t)e->lit.i <= q->nitems) return (int)e->lit.i - 1;
        return -2;
    }
    if (e->k == E_COL)
        for (size_t i = 0; i < q->nitems; i++)
            if (strcmp(q->items[i].name, e->str) == 0) return (int)i;
    return -1;
}

static bool p_select(struct ps *p)
{
    struct clsq_sql *q = p->sql;
    if (!accept_kw(p, "select")) { ps_fail(p, CLSQ_E_SYNTAX, peek(p)->off, "the analysis part starts with SELECT"); return false; }
    for (;;) {
        struct tok *t = peek(p);
        if (op_is(p, t, "*")) { ps_fail(p, CLSQ_E_QUERY, t->off, "SELECT * is not supported: name the columns"); return false; }
        struct expr *e = p_expr(p);
        if (!e) return false;
        struct item *ni = realloc(q->items, (q->nitems + 1) * sizeof *ni);
        if (!ni) { expr_free(e); ps_fail(p, CLSQ_E_QUERY, t->off, "out of memory"); return false; }
        q->items = ni;
        struct item *it = &q->items[q->nitems++];
        it->e = e;
        it->name = NULL;
        struct tok *a = peek(p);
        if (accept_kw(p, "as")) {
            a = peek(p);
            if (a->t != T_IDENT && a->t != T_QIDENT && a->t != T_STR) { ps_fail(p, CLSQ_E_SYNTAX, a->off, "an alias is missing after AS"); return false; }
            it->name = a->s;
            a->s = NULL;
            p->i++;
        } else if ((a->t == T_IDENT && !is_reserved(a)) || a->t == T_QIDENT) {
            it->name = a->s;
            a->s = NULL;
            p->i++;
        } else if (e->k == E_COL || e->k == E_TIME || e->k == E_SOURCE || e->k == E_FILENAME) {
            it->name = strdup(e->str);
        } else {
            char nm[32];
            snprintf(nm, sizeof nm, "_col%zu", q->nitems - 1);
            it->name = strdup(nm);
        }
        if (!it->name) { ps_fail(p, CLSQ_E_QUERY, t->off, "out of memory"); return false; }
        if (!accept_op(p, ",")) break;
    }
    if (is_kw(peek(p), "from")) {
        /* CLS SQL reads the topic the search selected; `FROM log` is allowed */
        p->i++;
        struct tok *t = peek(p);
        if (!((t->t == T_IDENT || t->t == T_QIDENT) && strcmp(t->s, "log") == 0)) {
            ps_fail(p, CLSQ_E_QUERY, t->off, "the only table is log");
            return false;
        }
        p->i++;
    }
    if (accept_kw(p, "where")) {
        if (!(q->where = p_expr(p))) return false;
        if (has_agg(q->where)) { ps_fail(p, CLSQ_E_QUERY, q->where->off, "WHERE cannot use aggregate functions (use HAVING)"); return false; }
    }
    if (accept_kw(p, "group")) {
        if (!accept_kw(p, "by")) { ps_fail(p, CLSQ_E_SYNTAX, peek(p)->off, "expected BY after GROUP"); return false; }
        for (;;) {
            struct expr *e = p_expr(p);
            if (!e) return false;
            int it = find_item(p, e);
            if (it == -2) { ps_fail(p, CLSQ_E_QUERY, e->off, "GROUP BY position is out of range"); expr_free(e); return false; }
            if (it >= 0) {
                /* an alias or ordinal names the select item's expression */
                struct expr *tgt = q->items[it].e;
                bool is_col = e->k == E_COL && tgt->k == E_COL && strcmp(tgt->str, e->str) == 0;
                if (!is_col) {
                    if (has_agg(tgt)) { ps_fail(p, CLSQ_E_QUERY, e->off, "GROUP BY cannot name an aggregate"); expr_free(e); return false; }
                    expr_free(e);
                    e = tgt; /* shared with the item, which owns it */
                }
            }
            if (has_agg(e)) {
                ps_fail(p, CLSQ_E_QUERY, e->off, "GROUP BY cannot use aggregate functions");
                expr_free(e);
                return false;
            }
            struct expr **ng = realloc(q->groups, (q->ngroups + 1) * sizeof *ng);
            if (!ng) {
                if (!group_is_item(q, e)) expr_free(e);
                ps_fail(p, CLSQ_E_QUERY, p->base, "out of memory");
                return false;
            }
            q->groups = ng;
            q->groups[q->ngroups++] = e;
            if (!accept_op(p, ",")) break;
        }
    }
    if (accept_kw(p, "having"))
        if (!(q->having = p_expr(p))) return false;
    if (accept_kw(p, "order")) {
        if (!accept_kw(p, "by")) { ps_fail(p, CLSQ_E_SYNTAX, peek(p)->off, "expected BY after ORDER"); return false; }
        for (;;) {
            struct expr *e = p_expr(p);
            if (!e) return false;
            struct order *no = realloc(q->orders, (q->norders + 1) * sizeof *no);
            if (!no) { expr_free(e); ps_fail(p, CLSQ_E_QUERY, p->base, "out of memory"); return false; }
            q->orders = no;
            struct order *o = &q->orders[q->norders++];
            int it = find_item(p, e);
            if (it == -2) { o->e = e; o->item = -1; ps_fail(p, CLSQ_E_QUERY, e->off, "ORDER BY position is out of range"); return false; }
            o->item = it;
            if (it >= 0) { expr_free(e); o->e = q->items[it].e; }
            else o->e = e;
            o->desc = false;
            if (accept_kw(p, "desc")) o->desc = true;
            else accept_kw(p, "asc");
            if (!accept_op(p, ",")) break;
        }
    }
    q->limit = SQL_DEFAULT_LIMIT;
    if (accept_kw(p, "limit")) {
        struct tok *t = peek(p);
        if (t->t != T_NUM || !t->num.isint || t->num.i < 0) { ps_fail(p, CLSQ_E_SYNTAX, t->off, "LIMIT takes a whole number"); return false; }
        p->i++;
        int64_t a = t->num.i;
        if (accept_op(p, ",")) {
            struct tok *t2 = peek(p);
            if (t2->t != T_NUM || !t2->num.isint || t2->num.i < 0) { ps_fail(p, CLSQ_E_SYNTAX, t2->off, "LIMIT takes a whole number"); return false; }
            p->i++;
            q->offset = a;
            q->limit = t2->num.i;
        } else {
            q->limit = a;
            if (accept_kw(p, "offset")) {
                struct tok *t2 = peek(p);
                if (t2->t != T_NUM || !t2->num.isint || t2->num.i < 0) { ps_fail(p, CLSQ_E_SYNTAX, t2->off, "OFFSET takes a whole number"); return false; }
                p->i++;
                q->offset = t2->num.i;
            }
        }
        if (q->limit > SQL_MAX_LIMIT || q->offset > SQL_MAX_LIMIT) { ps_fail(p, CLSQ_E_QUERY, t->off, "LIMIT is at most 1000000"); return false; }
    }
    accept_op(p, ";");
    if (peek(p)->t != T_EOF) { ps_fail(p, CLSQ_E_SYNTAX, peek(p)->off, "unexpected text after the query"); return false; }
    return true;
}

/** Group keys shared with select items are owned by the items: remember
 * which, so freeing does not free twice. */
static bool group_is_item(const struct clsq_sql *q, const struct expr *g)
{
    for (size_t i = 0; i < q->nitems; i++)
        if (q->items[i].e == g) return true;
    return false;
}

int clsq_sql_parse(const char *s, size_t len, size_t base, struct clsq_sql **out, struct clsq_err *err)
{
    struct ps p = {.q = s - base, .base = base, .err = err};
    int rc = -1;
    *out = NULL;
    struct clsq_sql *q = calloc(1, sizeof *q);
    if (!q) { clsq_seterr(err, CLSQ_E_QUERY, base, "out of memory"); return -1; }
    p.sql = q;
    if (lex(&p, s, len) != 0) goto done;
    if (!p_select(&p)) goto done;
    for (size_t i = 0; i < q->nitems; i++)
        if (!collect_aggs(&p, q->items[i].e, false)) goto done;
    if (!collect_aggs(&p, q->having, false)) goto done;
    for (size_t i = 0; i < q->norders; i++)
        if (q->orders[i].item < 0 && !collect_aggs(&p, q->orders[i].e, false)) goto done;
    q->grouped = q->naggs > 0 || q->ngroups > 0;
    if (q->having && !q->grouped) { ps_fail(&p, CLSQ_E_QUERY, q->having->off, "HAVING needs GROUP BY or an aggregate"); goto done; }
    if (q->grouped) {
        for (size_t i = 0; i < q->nitems; i++)
            if (!bind_groups(&p, q->items[i].e)) goto done;
        if (!bind_groups(&p, q->having)) goto done;
        for (size_t i = 0; i < q->norders; i++)
            if (q->orders[i].item < 0 && !bind_groups(&p, q->orders[i].e)) goto done;
    }
    q->row_cost = 1 + expr_cost(q->where);
    for (size_t i = 0; i < q->ngroups; i++) q->row_cost += expr_cost(q->groups[i]);
    for (size_t i = 0; i < q->naggs; i++) q->row_cost += expr_cost(q->aggs[i]);
    if (!q->grouped) {
        for (size_t i = 0; i < q->nitems; i++) q->row_cost += expr_cost(q->items[i].e);
        for (size_t i = 0; i < q->norders; i++) q->row_cost += expr_cost(q->orders[i].e);
    }
    rc = 0;
done:
    for (size_t i = 0; i < p.ntoks; i++) free(p.toks[i].s);
    free(p.toks);
    if (rc != 0) {
        clsq_sql_free(q);
        if (!p.failed) clsq_seterr(err, CLSQ_E_SYNTAX, base, "syntax error");
        return -1;
    }
    *out = q;
    return 0;
}

/* ==== Aggregation state ==== */

struct dset { uint64_t *h; char **s; size_t *n; size_t cap, len; };

struct aggst {
    int64_t cnt;        /* rows counted; SUM/AVG: numeric inputs */
    int64_t isum;
    double dsum;
    bool any, notint;
    struct val mm;      /* MIN/MAX so far (strings in mms) */
    char *mms;
    struct dset ds;     /* COUNT(DISTINCT) */
};

struct group {
    uint64_t h;
    char *key;          /* the serialized key */
    size_t keyn;
    struct val *keys;   /* the GROUP BY values (strings point into key storage) */
    struct aggst *st;
};

/** One output row: nitems + norders values; strings copied into `data`. */
struct row {
    uint64_t seq;
    size_t size;
    struct val *v;
};

struct clsq_agg {
    const struct clsq_sql *q;
    struct clsq_limits lim;
    size_t mem;
    uint64_t steps;
    bool failed, answered;
    struct group **tab;  /* open addressing, power of 2 */
    size_t tabcap;
    struct group **groups;
    size_t ngroups, gcap;
    struct row **rows;
    size_t nrows, rcap;
    uint64_t seq;
    char *kbuf;
    size_t kcap;
    char scr[2048];      /* per-evaluation text (cast to varchar) */
    size_t scrn;
};

static bool mem_take(struct clsq_agg *a, size_t n, struct clsq_err *err)
{
    if (a->mem + n > a->lim.max_memory || a->mem + n < a->mem) {
        a->failed = true;
        clsq_seterr(err, CLSQ_E_LIMIT, 0, "the analysis needs more than %zu bytes of memory", a->lim.max_memory);
        return false;
    }
    a->mem += n;
    return true;
}

static void *amalloc(struct clsq_agg *a, size_t n, struct clsq_err *err)
{
    if (!mem_take(a, n, err)) return NULL;
    void *p = calloc(1, n ? n : 1);
    if (!p) { a->failed = true; clsq_seterr(err, CLSQ_E_LIMIT, 0, "out of memory"); }
    return p;
}

static bool steps_take(struct clsq_agg *a, uint64_t n, struct clsq_err *err)
{
    a->steps += n;
    if (a->steps > a->lim.max_steps) {
        a->failed = true;
        clsq_seterr(err, CLSQ_E_TIMEOUT, 0, "the analysis took more than %" PRIu64 " steps", a->lim.max_steps);
        return false;
    }
    return true;
}

static uint64_t fnv(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) { h ^= s[i]; h *= 1099511628211ull; }
    return h ^ (h >> 29);
}

/** Appends the serialized value to a->kbuf at *len (grows it). */
static bool ser(struct clsq_agg *a, size_t *len, struct val v, struct clsq_err *err)
{
    size_t need = *len + 1 + 8 + (v.t == V_STR ? v.n : 0);
    if (need > a->kcap) {
        size_t nc = a->kcap ? a->kcap : 256;
        while (nc < need) nc *= 2;
        if (!mem_take(a, nc - a->kcap, err)) return false;
        char *nb = realloc(a->kbuf, nc);
        if (!nb) { a->failed = true; clsq_seterr(err, CLSQ_E_LIMIT, 0, "out of memory"); return false; }
        a->kbuf = nb;
        a->kcap = nc;
    }
    char *o = a->kbuf + *len;
    *o++ = (char)('0' + v.t);
    uint64_t w = 0;
    switch (v.t) {
    case V_NUM:
        if (v.isint) { o[-1] = 'i'; w = (uint64_t)v.i; }
        else memcpy(&w, &v.d, 8);
        break;
    case V_STR: w = v.n; break;
    case V_TS: case V_BOOL: w = (uint64_t)v.i; break;
    default: break;
    }
    memcpy(o, &w, 8);
    o += 8;
    if (v.t == V_STR) { memcpy(o, v.s, v.n); o += v.n; }
    *len = (size_t)(o - a->kbuf);
    return true;
}

/** Reads back one serialized value (strings point into the buffer). */
static const char *deser(const char *p, struct val *v)
{
    uint64_t w;
    char t = *p++;
    memcpy(&w, p, 8);
    p += 8;
    *v = VNULL;
    if (t == 'i') *v = vnum_i((int64_t)w);
    else {
        v->t = (uint8_t)(t - '0');
        if (v->t == V_NUM) { memcpy(&v->d, &w, 8); }
        else if (v->t == V_STR) { v->s = p; v->n = (size_t)w; p += w; }
        else if (v->t == V_TS || v->t == V_BOOL) v->i = (int64_t)w;
    }
    return p;
}

static bool dset_add(struct clsq_agg *a, struct dset *d, const char *s, size_t n, struct clsq_err *err)
{
    uint64_t h = fnv(s, n);
    if (2 * (d->len + 1) > d->cap) {
        size_t nc = d->cap ? 2 * d->cap : 16;
        uint64_t *nh = amalloc(a, nc * sizeof *nh, err);
        char **ns = nh ? amalloc(a, nc * sizeof *ns, err) : NULL;
        size_t *nn = ns ? amalloc(a, nc * sizeof *nn, err) : NULL;
        if (!nn) { free(nh); free(ns); return false; }
        for (size_t i = 0; i < d->cap; i++) {
            if (!d->s[i]) continue;
            size_t j = d->h[i] & (nc - 1);
            while (ns[j]) j = (j + 1) & (nc - 1);
            nh[j] = d->h[i]; ns[j] = d->s[i]; nn[j] = d->n[i];
        }
        free(d->h); free(d->s); free(d->n);
        a->mem -= d->cap * (sizeof *nh + sizeof *ns + sizeof *nn);
        d->h = nh; d->s = ns; d->n = nn; d->cap = nc;
    }
    size_t j = h & (d->cap - 1);
    while (d->s[j]) {
        if (d->h[j] == h && d->n[j] == n && memcmp(d->s[j], s, n) == 0) return true;
        j = (j + 1) & (d->cap - 1);
    }
    char *c = amalloc(a, n, err);
    if (!c) return false;
    memcpy(c, s, n);
    d->h[j] = h; d->s[j] = c; d->n[j] = n;
    d->len++;
    return true;
}

static void dset_free(struct dset *d)
{
    for (size_t i = 0; i < d->cap; i++) free(d->s[i]);
    free(d->h); free(d->s); free(d->n);
}

/* ==== Evaluation ==== */

struct ectx {
    struct clsq_agg *a;
    const struct clsq_log *log;   /* row phase */
    const struct group *g;        /* group phase */
};

static struct val eval(struct ectx *c, const struct expr *e);

static int truth(struct val v)
{
    if (v.t == V_BOOL) return v.i != 0;
    if (v.t == V_NUM) return v.isint ? v.i != 0 : v.d != 0;
    return -1;
}

static struct val col_val(const struct clsq_log *log, const char *key)
{
    for (size_t i = 0; i < log->n; i++)
        if (log->keys[i][0] == key[0] && strcmp(log->keys[i], key) == 0)
            return (struct val){.t = V_STR, .s = log->vals[i], .n = log->vlens[i]};
    return VNULL;
}

static struct val cstr(const char *s)
{
    return s ? (struct val){.t = V_STR, .s = s, .n = strlen(s)} : VNULL;
}

static bool like_match(const char *s, size_t n, const char *p, size_t pn)
{
    size_t si = 0, pi = 0, sp = (size_t)-1, ss = 0;
    while (si < n) {
        if (pi < pn && p[pi] == '%') { sp = ++pi; ss = si; continue; }
        if (pi < pn && (p[pi] == '_' || p[pi] == s[si])) { pi++; si++; continue; }
        if (sp == (size_t)-1) return false;
        pi = sp;
        si = ++ss;
    }
    while (pi < pn && p[pi] == '%') pi++;
    return pi == pn;
}

static struct val arith(int op, struct val x, struct val y)
{
    if (x.isint && y.isint) {
        int64_t r;
        switch (op) {
        case '+': if (!__builtin_add_overflow(x.i, y.i, &r)) return vnum_i(r); break;
        case '-': if (!__builtin_sub_overflow(x.i, y.i, &r)) return vnum_i(r); break;
        case '*': if (!__builtin_mul_overflow(x.i, y.i, &r)) return vnum_i(r); break;
        case '/':
            if (y.i == 0) return VNULL;
            if (!(x.i == INT64_MIN && y.i == -1)) return vnum_i(x.i / y.i);
            break;
        case '%':
            if (y.i == 0) return VNULL;
            if (y.i == -1) return vnum_i(0);
            return vnum_i(x.i % y.i);
        }
    }
    double a = num_d(x), b = num_d(y), r;
    switch (op) {
    case '+': r = a + b; break;
    case '-': r = a - b; break;
    case '*': r = a * b; break;
    case '/': if (b == 0) return VNULL; r = a / b; break;
    default: if (b == 0) return VNULL; r = fmod(a, b); break;
    }
    return isfinite(r) ? vnum_d(r) : VNULL;
}

static bool to_ms(struct val v, int64_t *ms)
{
    struct val x;
    if (v.t == V_TS) { *ms = v.i; return true; }
    if (!as_num(v, &x)) return false;
    if (x.isint) { *ms = x.i; return true; }
    if (!(x.d > -9.2e18 && x.d < 9.2e18)) return false;
    *ms = (int64_t)x.d;
    return true;
}

static struct val agg_final(const struct aggst *s, const struct expr *e)
{
    switch (e->op) {
    case A_COUNT_STAR: case A_COUNT: return vnum_i(s->cnt);
    case A_COUNT_DISTINCT: return vnum_i((int64_t)s->ds.len);
    case A_SUM: /* a sum past the doubles' range is NULL: JSON has no infinity */
        if (!s->any || (s->notint && !isfinite(s->dsum))) return VNULL;
        return s->notint ? vnum_d(s->dsum) : vnum_i(s->isum);
    case A_AVG: return s->any && isfinite(s->dsum) ? vnum_d(s->dsum / (double)s->cnt) : VNULL;
    default: return s->mm;
    }
}

static struct val eval(struct ectx *c, const struct expr *e)
{
    if (c->g && e->gidx >= 0) return c->g->keys[e->gidx];
    switch (e->k) {
    case E_LIT: return e->lit;
    case E_COL: return c->log ? col_val(c->log, e->str) : VNULL;
    case E_TIME: return c->log ? vnum_i(c->log->time_ms) : VNULL;
    case E_SOURCE: return c->log ? cstr(c->log->source) : VNULL;
    case E_FILENAME: return c->log ? cstr(c->log->filename) : VNULL;
    case E_AGG: return c->g ? agg_final(&c->g->st[e->slot], e) : VNULL;
    case E_ARITH: {
        struct val x, y;
        if (!as_num(eval(c, e->a), &x) || !as_num(eval(c, e->b), &y)) return VNULL;
        return arith(e->op, x, y);
    }
    case E_NEG: {
        struct val x;
        if (!as_num(eval(c, e->a), &x)) return VNULL;
        if (x.isint && x.i != INT64_MIN) return vnum_i(-x.i);
        return vnum_d(-num_d(x));
    }
    case E_NOT: {
        int t = truth(eval(c, e->a));
        return t < 0 ? VNULL : vbool(!t);
    }
    case E_AND: {
        int l = truth(eval(c, e->a));
        if (l == 0) return vbool(false);
        int r = truth(eval(c, e->b));
        if (r == 0) return vbool(false);
        return (l < 0 || r < 0) ? VNULL : vbool(true);
    }
    case E_OR: {
        int l = truth(eval(c, e->a));
        if (l == 1) return vbool(true);
        int r = truth(eval(c, e->b));
        if (r == 1) return vbool(true);
        return (l < 0 || r < 0) ? VNULL : vbool(false);
    }
    case E_CMP: {
        int r = val_cmp(eval(c, e->a), eval(c, e->b));
        if (r == -2) return VNULL;
        switch (e->op) {
        case C_EQ: return vbool(r == 0);
        case C_NE: return vbool(r != 0);
        case C_LT: return vbool(r < 0);
        case C_LE: return vbool(r <= 0);
        case C_GT: return vbool(r > 0);
        default: return vbool(r >= 0);
        }
    }
    case E_LIKE: {
        struct val x = eval(c, e->a), y = eval(c, e->b);
        if (x.t == V_NULL || y.t == V_NULL) return VNULL;
        char b1[48], b2[48];
        size_t n1, n2;
        const char *s1 = val_text(x, b1, sizeof b1, &n1), *s2 = val_text(y, b2, sizeof b2, &n2);
        return vbool(like_match(s1, n1, s2, n2) != e->neg);
    }
    case E_IN: {
        struct val x = eval(c, e->a);
        if (x.t == V_NULL) return VNULL;
        bool found = false;
        for (size_t i = 0; i < e->nlist && !found; i++) found = val_cmp(x, eval(c, e->list[i])) == 0;
        return vbool(found != e->neg);
    }
    case E_BETWEEN: {
        struct val x = eval(c, e->a);
        int r1 = val_cmp(x, eval(c, e->b)), r2 = val_cmp(x, eval(c, e->c));
        if (r1 == -2 || r2 == -2) return VNULL;
        return vbool((r1 >= 0 && r2 <= 0) != e->neg);
    }
    case E_ISNULL: return vbool((eval(c, e->a).t == V_NULL) != e->neg);
    case E_HIST: {
        int64_t ms;
        if (!to_ms(eval(c, e->a), &ms)) return VNULL;
        int64_t b = ms / e->step_ms * e->step_ms;
        if (ms < 0 && b != ms && __builtin_sub_overflow(b, e->step_ms, &b)) return VNULL;
        return (struct val){.t = V_TS, .i = b};
    }
    case E_FUNC: {
        struct val x = eval(c, e->a), n;
        if (e->op == F_DATE_TRUNC) {
            int64_t ms;
            if (!to_ms(x, &ms)) return VNULL;
            int64_t b = ms / e->step_ms * e->step_ms;
            if (ms < 0 && b != ms && __builtin_sub_overflow(b, e->step_ms, &b)) return VNULL;
            return (struct val){.t = V_TS, .i = b};
        }
        if (!as_num(x, &n)) return VNULL;
        switch (e->op) {
        case F_ABS:
            if (n.isint) return n.i == INT64_MIN ? vnum_d(-(double)n.i) : vnum_i(n.i < 0 ? -n.i : n.i);
            return vnum_d(fabs(n.d));
        case F_FLOOR: return n.isint ? n : vnum_d(floor(n.d));
        case F_CEIL: return n.isint ? n : vnum_d(ceil(n.d));
        default: { /* F_ROUND: half away from zero, to d decimals (d may be negative) */
            int64_t d = 0;
            if (e->b) {
                struct val dv;
                if (!as_num(eval(c, e->b), &dv) || !dv.isint) return VNULL;
                d = dv.i;
            }
            if (n.isint && d >= 0) return n;
            if (d > 15 || d < -18) return d > 15 ? (n.isint ? n : vnum_d(n.d)) : vnum_i(0);
            double f = pow(10.0, (double)d), r = round(num_d(n) * f) / f;
            if (!isfinite(r)) return VNULL;
            if (n.isint && r > -9.2e18 && r < 9.2e18) return vnum_i((int64_t)r);
            return vnum_d(r);
        }
        }
    }
    case E_CAST: {
        struct val x = eval(c, e->a), n;
        if (x.t == V_NULL) return VNULL;
        switch (e->op) {
        case K_TIMESTAMP: {
            int64_t ms;
            return to_ms(x, &ms) ? (struct val){.t = V_TS, .i = ms} : VNULL;
        }
        case K_BIGINT:
            if (!as_num(x, &n)) return VNULL;
            if (n.isint) return n;
            if (!(n.d > -9.2e18 && n.d < 9.2e18)) return VNULL;
            return vnum_i((int64_t)n.d);
        case K_DOUBLE:
            if (!as_num(x, &n)) return VNULL;
            return vnum_d(num_d(n));
        default: {
            if (x.t == V_STR) return x;
            char b[48];
            size_t len;
            const char *t = val_text(x, b, sizeof b, &len);
            struct clsq_agg *a = c->a;
            if (a->scrn + len > sizeof a->scr) return VNULL;
            char *o = a->scr + a->scrn;
            memcpy(o, t, len);
            a->scrn += len;
            return (struct val){.t = V_STR, .s = o, .n = len};
        }
        }
    }
    }
    return VNULL;
}

/* ==== Feeding ==== */

static bool agg_update(struct clsq_agg *a, struct aggst *s, const struct expr *e, struct val v, struct clsq_err *err)
{
    struct val x;
    switch (e->op) {
    case A_COUNT_STAR: s->cnt++; return true;
    case A_COUNT: if (v.t != V_NULL) s->cnt++; return true;
    case A_COUNT_DISTINCT: {
        if (v.t == V_NULL) return true;
        size_t len = 0;
        if (!ser(a, &len, v, err)) return false;
        return dset_add(a, &s->ds, a->kbuf, len, err);
    }
    case A_SUM: case A_AVG:
        if (!as_num(v, &x)) return true;
        s->any = true;
        s->cnt++;
        s->dsum += num_d(x);
        if (!s->notint && (!x.isint || __builtin_add_overflow(s->isum, x.i, &s->isum))) s->notint = true;
        return true;
    default: {
        if (v.t == V_NULL) return true;
        if (v.t == V_STR && as_num(v, &x)) v = x;
        /* a column that holds numbers: a word like "-" there is no value */
        if (v.t == V_STR && s->mm.t != V_NULL && s->mm.t != V_STR) return true;
        if (s->mm.t != V_NULL && !(v.t != V_STR && s->mm.t == V_STR)) {
            int r = sort_cmp(v, s->mm);
            if (e->op == A_MIN ? r >= 0 : r <= 0) return true;
        }
        if (v.t == V_STR) {
            char *c = amalloc(a, v.n + 1, err);
            if (!c) return false;
            memcpy(c, v.s, v.n);
            free(s->mms);
            s->mms = c;
            v.s = c;
        }
        s->mm = v;
        return true;
    }
    }
}

static struct group *group_find(struct clsq_agg *a, size_t keyn, struct clsq_err *err)
{
    uint64_t h = fnv(a->kbuf, keyn);
    if (a->tabcap) {
        size_t j = h & (a->tabcap - 1);
        for (struct group *g; (g = a->tab[j]); j = (j + 1) & (a->tabcap - 1))
            if (g->h == h && g->keyn == keyn && (keyn == 0 || memcmp(g->key, a->kbuf, keyn) == 0)) return g;
    }
    const struct clsq_sql *q = a->q;
    if (a->ngroups >= a->lim.max_groups) {
        a->failed = true;
        clsq_seterr(err, CLSQ_E_LIMIT, 0, "the analysis has more than %zu groups", a->lim.max_groups);
        return NULL;
    }
    if (2 * (a->ngroups + 1) > a->tabcap) {
        size_t nc = a->tabcap ? 2 * a->tabcap : 64;
        struct group **nt = amalloc(a, nc * sizeof *nt, err);
        if (!nt) return NULL;
        for (size_t i = 0; i < a->tabcap; i++) {
            struct group *g = a->tab[i];
            if (!g) continue;
            size_t j = g->h & (nc - 1);
            while (nt[j]) j = (j + 1) & (nc - 1);
            nt[j] = g;
        }
        free(a->tab);
        a->mem -= a->tabcap * sizeof *nt;
        a->tab = nt;
        a->tabcap = nc;
    }
    if (a->ngroups == a->gcap) {
        size_t nc = a->gcap ? 2 * a->gcap : 64;
        if (!mem_take(a, (nc - a->gcap) * sizeof *a->groups, err)) return NULL;
        struct group **ng = realloc(a->groups, nc * sizeof *ng);
        if (!ng) { a->failed = true; clsq_seterr(err, CLSQ_E_LIMIT, 0, "out of memory"); return NULL; }
        a->groups = ng;
        a->gcap = nc;
    }
    /* one block: the group, its aggregate states, its key values, the key bytes */
    size_t size = sizeof(struct group) + q->naggs * sizeof(struct aggst) + q->ngroups * sizeof(struct val) + keyn;
    struct group *g = amalloc(a, size, err);
    if (!g) return NULL;
    a->groups[a->ngroups++] = g;  /* owned from here: freed with the aggregation */
    g->h = h;
    g->keyn = keyn;
    g->st = (struct aggst *)(g + 1);
    g->keys = (struct val *)(g->st + q->naggs);
    g->key = (char *)(g->keys + q->ngroups);
    if (keyn) memcpy(g->key, a->kbuf, keyn);
    const char *p = g->key;
    for (size_t i = 0; i < q->ngroups; i++) p = deser(p, &g->keys[i]);
    size_t j = h & (a->tabcap - 1);
    while (a->tab[j]) j = (j + 1) & (a->tabcap - 1);
    a->tab[j] = g;
    return g;
}

/** Copies n values into a new row (strings into the row's own block). */
static struct row *row_make(struct clsq_agg *a, const struct val *v, size_t n, struct clsq_err *err)
{
    size_t size = sizeof(struct row) + n * sizeof(struct val);
    for (size_t i = 0; i < n; i++)
        if (v[i].t == V_STR) size += v[i].n;
    struct row *r = amalloc(a, size, err);
    if (!r) return NULL;
    r->size = size;
    r->seq = a->seq++;
    r->v = (struct val *)(r + 1);
    char *o = (char *)(r->v + n);
    for (size_t i = 0; i < n; i++) {
        r->v[i] = v[i];
        if (v[i].t == V_STR) { memcpy(o, v[i].s, v[i].n); r->v[i].s = o; o += v[i].n; }
    }
    return r;
}

static bool row_push(struct clsq_agg *a, struct row *r, struct clsq_err *err)
{
    if (a->nrows == a->rcap) {
        size_t nc = a->rcap ? 2 * a->rcap : 64;
        if (!mem_take(a, (nc - a->rcap) * sizeof *a->rows, err)) { free(r); return false; }
        struct row **nr = realloc(a->rows, nc * sizeof *nr);
        if (!nr) { free(r); a->failed = true; clsq_seterr(err, CLSQ_E_LIMIT, 0, "out of memory"); return false; }
        a->rows = nr;
        a->rcap = nc;
    }
    a->rows[a->nrows++] = r;
    return true;
}

static int row_cmp(const void *x, const void *y, void *arg)
{
    const struct clsq_sql *q = arg;
    const struct row *r = *(struct row *const *)x, *s = *(struct row *const *)y;
    for (size_t j = 0; j < q->norders; j++) {
        size_t k = q->orders[j].item >= 0 ? (size_t)q->orders[j].item : q->nitems + j;
        int c = sort_cmp(r->v[k], s->v[k]);
        if (q->orders[j].desc) c = -c;
        if (c) return c;
    }
    return r->seq < s->seq ? -1 : r->seq > s->seq;
}

static bool sort_rows(struct clsq_agg *a, struct clsq_err *err)
{
    if (a->q->norders == 0 || a->nrows < 2) return true;
    uint64_t lg = 1;
    for (size_t n = a->nrows; n > 1; n >>= 1) lg++;
    if (!steps_take(a, a->nrows * lg, err)) return false;
    qsort_r(a->rows, a->nrows, sizeof *a->rows, row_cmp, (void *)a->q);
    return true;
}

/** Keeps the first `keep` rows. */
static void rows_truncate(struct clsq_agg *a, size_t keep)
{
    while (a->nrows > keep) {
        struct row *r = a->rows[--a->nrows];
        a->mem -= r->size;
        free(r);
    }
}

/** The output values of one row or group: items, then ORDER BY keys. */
static bool emit(struct clsq_agg *a, struct ectx *c, struct clsq_err *err)
{
    const struct clsq_sql *q = a->q;
    struct val v[64];
    size_t n = q->nitems + q->norders;
    struct val *vv = n <= 64 ? v : amalloc(a, n * sizeof *vv, err);
    if (!vv) return false;
    for (size_t i = 0; i < q->nitems; i++) vv[i] = eval(c, q->items[i].e);
    for (size_t j = 0; j < q->norders; j++)
        vv[q->nitems + j] = q->orders[j].item >= 0 ? VNULL : eval(c, q->orders[j].e);
    struct row *r = row_make(a, vv, n, err);
    if (vv != v) { a->mem -= n * sizeof *vv; free(vv); }
    return r && row_push(a, r, err);
}

struct clsq_agg *clsq_agg_new(const struct clsq *q, const struct clsq_limits *lim, struct clsq_err *err)
{
    if (!q || !q->sql) {
        clsq_seterr(err, CLSQ_E_QUERY, 0, "the query has no analysis part (nothing after '|')");
        return NULL;
    }
    struct clsq_agg *a = calloc(1, sizeof *a);
    if (!a) { clsq_seterr(err, CLSQ_E_LIMIT, 0, "out of memory"); return NULL; }
    a->q = q->sql;
    if (lim) a->lim = *lim;
    if (!a->lim.max_groups) a->lim.max_groups = CLSQ_DEFAULT_MAX_GROUPS;
    if (!a->lim.max_memory) a->lim.max_memory = CLSQ_DEFAULT_MAX_MEMORY;
    if (!a->lim.max_steps) a->lim.max_steps = CLSQ_DEFAULT_MAX_STEPS;
    return a;
}

int clsq_agg_add(struct clsq_agg *a, const struct clsq_log *log, struct clsq_err *err)
{
    if (a->failed || a->answered) { clsq_seterr(err, CLSQ_E_QUERY, 0, "the analysis already failed or answered"); return -1; }
    const struct clsq_sql *q = a->q;
    struct ectx c = {.a = a, .log = log};
    a->scrn = 0;
    if (!steps_take(a, q->row_cost, err)) return -1;
    if (q->where && truth(eval(&c, q->where)) != 1) return 0;
    if (!q->grouped) {
        size_t want = (size_t)(q->limit + q->offset);
        if (q->norders == 0) {
            if (a->nrows >= want) return 0;
            return emit(a, &c, err) ? 0 : -1;
        }
        if (!emit(a, &c, err)) return -1;
        if (a->nrows >= 2 * want + 1024) {
            if (!sort_rows(a, err)) return -1;
            rows_truncate(a, want);
        }
        return 0;
    }
    size_t keyn = 0;
    for (size_t i = 0; i < q->ngroups; i++)
        if (!ser(a, &keyn, eval(&c, q->groups[i]), err)) return -1;
    struct group *g = group_find(a, keyn, err);
    if (!g) return -1;
    for (size_t i = 0; i < q->naggs; i++) {
        const struct expr *e = q->aggs[i];
        struct val v = e->a ? eval(&c, e->a) : VNULL;
        if (!agg_update(a, &g->st[i], e, v, err)) return -1;
    }
    return 0;
}

bool clsq_agg_done(const struct clsq_agg *a)
{
    const struct clsq_sql *q = a->q;
    return !a->failed && !q->grouped && q->norders == 0 && a->nrows >= (size_t)(q->limit + q->offset);
}

/* ==== Result ==== */

static json_t *jstr(const char *s, size_t n);

/** Appends v as JSON: numbers as fmt_double/%lld write them (the same text
 * AnalysisResults carries; jansson would print 17 digits), strings escaped. */
static int json_val_text(struct buf *b, struct val v)
{
    char t[48];
    size_t n;
    switch (v.t) {
    case V_NULL: return buf_puts(b, "null");
    case V_BOOL: return buf_puts(b, v.i ? "true" : "false");
    case V_NUM: val_text(v, t, sizeof t, &n); return buf_append(b, t, n);
    default: {
        const char *s = val_text(v, t, sizeof t, &n);
        json_t *j = jstr(s, n);
        char *x = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
        int rc = x ? buf_puts(b, x) : -1;
        free(x);
        json_decref(j);
        return rc;
    }
    }
}

/** A JSON string of s[0..n): invalid UTF-8 (a log's bytes, an alias) is
 * replaced by U+FFFD, so no value or name drops out of the answer. */
static json_t *jstr(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j || n > SIZE_MAX / 3) return j;
    char *o = malloc(3 * n + 1);
    if (!o) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int r = utf8_decode(s + i, n - i, &cp);
        if (r > 0) { memcpy(o + k, s + i, (size_t)r); k += (size_t)r; i += (size_t)r; }
        else { memcpy(o + k, "\xef\xbf\xbd", 3); k += 3; i++; }
    }
    j = json_stringn(o, k);
    free(o);
    return j;
}

static const char *col_type(struct clsq_agg *a, size_t k)
{
    bool str = false, ts = false, dbl = false, num = false, bo = false;
    for (size_t i = 0; i < a->nrows; i++) {
        struct val v = a->rows[i]->v[k];
        str |= v.t == V_STR;
        ts |= v.t == V_TS;
        bo |= v.t == V_BOOL;
        num |= v.t == V_NUM;
        dbl |= v.t == V_NUM && !v.isint;
    }
    if (str) return "varchar";
    if (ts) return "timestamp";
    if (dbl) return "double";
    if (num) return "bigint";
    if (bo) return "boolean";
    return "varchar";
}

int clsq_agg_result(struct clsq_agg *a, json_t **out, struct clsq_err *err)
{
    const struct clsq_sql *q = a->q;
    *out = NULL;
    if (a->failed) { clsq_seterr(err, CLSQ_E_QUERY, 0, "the analysis already failed"); return -1; }
    if (a->answered) { clsq_seterr(err, CLSQ_E_QUERY, 0, "the analysis was already answered"); return -1; }
    a->answered = true;
    if (q->grouped) {
        if (a->ngroups == 0 && q->ngroups == 0) {
            size_t keyn = 0;
            if (!group_find(a, keyn, err)) return -1;
        }
        if (!steps_take(a, a->ngroups * (1 + q->nitems + q->norders), err)) return -1;
        size_t want = (size_t)(q->limit + q->offset);
        for (size_t i = 0; i < a->ngroups; i++) {
            if (q->norders == 0 && a->nrows >= want) break; /* groups answer in their order */
            struct ectx c = {.a = a, .g = a->groups[i]};
            a->scrn = 0;
            if (q->having && truth(eval(&c, q->having)) != 1) continue;
            if (!emit(a, &c, err)) return -1;
            /* many groups, a short LIMIT: keep only the best rows as we go */
            if (q->norders && a->nrows >= 2 * want + 1024) {
                if (!sort_rows(a, err)) return -1;
                rows_truncate(a, want);
            }
        }
    }
    if (!sort_rows(a, err)) return -1;
    size_t from = (size_t)q->offset < a->nrows ? (size_t)q->offset : a->nrows;
    size_t to = from + (size_t)q->limit < a->nrows ? from + (size_t)q->limit : a->nrows;

    /* the arrays are filled first and joined at the end, each join checked:
     * jansson drops a value it could not store */
    json_t *names = json_array(), *cols = json_array(), *recs = json_array(), *results = json_array();
    json_t *res = NULL;
    if (!names || !cols || !recs || !results) goto oom;
    for (size_t k = 0; k < q->nitems; k++) {
        const char *nm = q->items[k].name;
        json_t *col = json_object();
        bool ok = col && json_array_append_new(names, jstr(nm, strlen(nm))) == 0 &&
                  json_object_set_new(col, "Name", jstr(nm, strlen(nm))) == 0 &&
                  json_object_set_new(col, "Type", json_string(col_type(a, k))) == 0 &&
                  json_array_append(cols, col) == 0;
        json_decref(col);
        if (!ok) goto oom;
    }
    for (size_t i = from; i < to; i++) {
        json_t *data = json_array(), *one = json_object();
        struct buf rec;
        buf_init(&rec, SIZE_MAX);
        bool ok = data && one && buf_puts(&rec, "{") == 0;
        for (size_t k = 0; ok && k < q->nitems; k++) {
            struct val v = a->rows[i]->v[k];
            char b[48];
            size_t n;
            const char *s = val_text(v, b, sizeof b, &n);
            json_t *key = jstr(q->items[k].name, strlen(q->items[k].name)), *kv = json_object();
            char *ktxt = key ? json_dumps(key, JSON_ENCODE_ANY) : NULL;
            ok = ktxt && kv && (k == 0 || buf_puts(&rec, ",") == 0) && buf_puts(&rec, ktxt) == 0 &&
                 buf_puts(&rec, ":") == 0 && json_val_text(&rec, v) == 0 &&
                 json_object_set(kv, "Key", key) == 0 && json_object_set_new(kv, "Value", jstr(s, n)) == 0 &&
                 json_array_append(data, kv) == 0;
            free(ktxt);
            json_decref(key);
            json_decref(kv);
        }
        ok = ok && buf_puts(&rec, "}") == 0 && json_array_append_new(recs, json_stringn(rec.data, rec.len)) == 0 &&
             json_object_set(one, "Data", data) == 0 && json_array_append(results, one) == 0;
        buf_free(&rec);
        json_decref(data);
        json_decref(one);
        if (!ok) goto oom;
    }
    res = json_object();
    if (!res || json_object_set_new(res, "Analysis", json_true()) != 0 || json_object_set(res, "ColNames", names) != 0 ||
        json_object_set(res, "Columns", cols) != 0 || json_object_set(res, "AnalysisRecords", recs) != 0 ||
        json_object_set(res, "AnalysisResults", results) != 0)
        goto oom;
    json_decref(names);
    json_decref(cols);
    json_decref(recs);
    json_decref(results);
    *out = res;
    return 0;
oom:
    json_decref(res);
    json_decref(names);
    json_decref(cols);
    json_decref(recs);
    json_decref(results);
    clsq_seterr(err, CLSQ_E_LIMIT, 0, "out of memory building the result");
    return -1;
}

void clsq_agg_free(struct clsq_agg *a)
{
    if (!a) return;
    for (size_t i = 0; i < a->ngroups; i++) {
        struct group *g = a->groups[i];
        for (size_t j = 0; j < a->q->naggs; j++) {
            free(g->st[j].mms);
            dset_free(&g->st[j].ds);
        }
        free(g);
    }
    free(a->groups);
    free(a->tab);
    for (size_t i = 0; i < a->nrows; i++) free(a->rows[i]);
    free(a->rows);
    free(a->kbuf);
    free(a);
}
