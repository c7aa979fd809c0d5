/* clsq_search.c: the search part of a CLS query (before '|'), in CQL or
 * Lucene syntax, parsed into a tree and matched against logs in C.
 *
 * Matching follows CLS's segmentation: a value is split into words at the
 * delimiters @&?|#()='",;:<>[]{}/ space \n \t \r and backslash (the set CLS
 * recommends for a full-text index, its API's FullTextInfo.Tokenizer), and a
 * term matches when its words appear in that order, next to each other, in
 * the value's words (one word: the word is among them). Comparison ignores
 * ASCII case (CLS's default index is case-insensitive). `*` and `?` inside
 * a word are wildcards over one word. `key:>N`, `key:[a TO b]` compare the
 * whole value as a number (a value that is not a number never matches).
 *
 * Grammar (both syntaxes; the differences are noted):
 *   or    := and (OR and)*                     Lucene also ||
 *   and   := unary ([AND] unary)*              juxtaposition is AND; Lucene also &&
 *   unary := NOT unary | primary               Lucene also !x, -x; +x is x
 *   primary := '(' or ')' | clause
 *   clause  := word ':' value | value
 *   value   := word | "phrase" | '(' or ')' (the field applies inside)
 *            | '>' num | '>=' num | '<' num | '<=' num | '=' num
 *            | ('['|'{') (num|*) TO (num|*) (']'|'}')
 * CQL takes AND/OR/NOT in any case, Lucene only in upper case. */
#include "cls/clsq_int.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum skind { S_AND, S_OR, S_NOT, S_TERM, S_RANGE, S_EXISTS, S_ALL };

/** One word of a term, lowercased. A glob word keeps '\' before a literal
 * '*', '?' or '\' so the matcher can tell them from wildcards. */
struct ptok { char *s; size_t n; bool glob; };

struct clsq_snode {
    enum skind kind;
    struct clsq_snode *a, *b; /* AND/OR: both; NOT: a */
    char *key;                /* TERM/RANGE/EXISTS: NULL means any value (full text) */
    struct ptok *toks;        /* TERM */
    size_t ntoks;
    char *raw;                /* TERM: the literal as a whole, lowercased (no wildcards) */
    size_t rawn;
    double lo, hi;            /* RANGE */
    bool has_lo, has_hi, lo_incl, hi_incl;
};

/* ==== Helpers ==== */

static const unsigned char delim_tab[256] = {
    ['@'] = 1, ['&'] = 1, ['('] = 1, [')'] = 1, ['='] = 1, ['\''] = 1, ['"'] = 1,
    [','] = 1, [';'] = 1, [':'] = 1, ['<'] = 1, ['>'] = 1, ['['] = 1, [']'] = 1,
    ['{'] = 1, ['}'] = 1, ['/'] = 1, [' '] = 1, ['\n'] = 1, ['\t'] = 1, ['\r'] = 1,
    ['?'] = 1, ['|'] = 1, ['#'] = 1, ['\\'] = 1,
};

bool clsq_is_delim(unsigned char c) { return delim_tab[c] != 0; }

static inline unsigned char lc(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/** Parses all of s[0..n) as a finite number. */
static bool parse_num(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf) return false;
    /* the common case, a short integer (ports, bytes, times), without strtod */
    size_t i = s[0] == '-';
    if (n > i && n - i <= 15) {
        int64_t v = 0;
        size_t j = i;
        while (j < n && s[j] >= '0' && s[j] <= '9') v = v * 10 + (s[j++] - '0');
        if (j == n) { *out = (double)(i ? -v : v); return true; }
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (isspace((unsigned char)buf[0])) return false;
    char *end;
    double d = strtod(buf, &end);
    if (end != buf + n || !isfinite(d)) return false;
    /* strtod takes hex, inf and nan; CLS numbers are decimal */
    for (size_t k = 0; k < n; k++)
        if (!strchr("0123456789+-.eE", buf[k])) return false;
    *out = d;
    return true;
}

static void snode_free(struct clsq_snode *n)
{
    if (!n) return;
    snode_free(n->a);
    snode_free(n->b);
    free(n->key);
    for (size_t i = 0; i < n->ntoks; i++) free(n->toks[i].s);
    free(n->toks);
    free(n->raw);
    free(n);
}

void clsq_search_free(struct clsq_snode *n) { snode_free(n); }

/* ==== Parser ==== */

struct sp {
    const char *s;
    size_t n, i, base;
    enum clsq_syntax syn;
    struct clsq_err *err;
    int depth;
    int nodes;
    bool failed;
};

static struct clsq_snode *sp_fail(struct sp *p, size_t at, const char *what)
{
    if (!p->failed) {
        p->failed = true;
        clsq_seterr(p->err, CLSQ_E_SYNTAX, p->base + at, "%s", what);
    }
    return NULL;
}

static struct clsq_snode *mk(struct sp *p, enum skind k)
{
    if (++p->nodes > CLSQ_MAX_NODES) return sp_fail(p, p->i, "the search has too many terms and operators");
    struct clsq_snode *n = calloc(1, sizeof *n);
    if (!n) sp_fail(p, p->i, "out of memory");
    else n->kind = k;
    return n;
}

static void skip_ws(struct sp *p)
{
    while (p->i < p->n && isspace((unsigned char)p->s[p->i])) p->i++;
}

/** Ends a bare word: space, parentheses, ':' and '"'. */
static bool word_end(unsigned char c)
{
    return isspace(c) || c == '(' || c == ')' || c == ':' || c == '"';
}

/** Is the keyword `kw` (upper case) at p->i, as a whole word? */
static bool at_kw(const struct sp *p, const char *kw)
{
    size_t k = strlen(kw);
    if (p->i + k > p->n) return false;
    for (size_t j = 0; j < k; j++) {
        char c = p->s[p->i + j];
        if (p->syn == CLSQ_CQL ? (char)toupper((unsigned char)c) != kw[j] : c != kw[j])
            return false;
    }
    return p->i + k == p->n || word_end((unsigned char)p->s[p->i + k]);
}

static bool at_sym(const struct sp *p, const char *sym)
{
    size_t k = strlen(sym);
    return p->syn == CLSQ_LUCENE && p->i + k <= p->n && memcmp(p->s + p->i, sym, k) == 0;
}

/** One character of a word or phrase with its escape flag. */
struct wch { unsigned char c; bool esc; };

/** Reads a bare word (escapes honoured) into *w (malloc'd); false on error. */
static bool read_word(struct sp *p, struct wch **w, size_t *wn)
{
    size_t k = 0;
    struct wch *v = malloc(sizeof *v * (p->n - p->i + 1));
    if (!v) { sp_fail(p, p->i, "out of memory"); return false; }
    while (p->i < p->n && !word_end((unsigned char)p->s[p->i])) {
        if (p->s[p->i] == '\\') {
            if (p->i + 1 >= p->n) { free(v); sp_fail(p, p->i, "a '\\' at the end escapes nothing"); return false; }
            v[k++] = (struct wch){(unsigned char)p->s[p->i + 1], true};
            p->i += 2;
        } else {
            v[k++] = (struct wch){(unsigned char)p->s[p->i], false};
            p->i++;
        }
    }
    *w = v;
    *wn = k;
    return true;
}

/** Reads a "phrase" (p->i at the opening quote) into *w. */
static bool read_phrase(struct sp *p, struct wch **w, size_t *wn)
{
    size_t open = p->i, k = 0;
    struct wch *v = malloc(sizeof *v * (p->n - p->i + 1));
    if (!v) { sp_fail(p, p->i, "out of memory"); return false; }
    p->i++;
    for (;;) {
        if (p->i >= p->n) { free(v); sp_fail(p, open, "unterminated quoted phrase"); return false; }
        char c = p->s[p->i];
        if (c == '"') { p->i++; break; }
        if (c == '\\' && p->i + 1 < p->n) {
            v[k++] = (struct wch){(unsigned char)p->s[p->i + 1], true};
            p->i += 2;
        } else {
            v[k++] = (struct wch){(unsigned char)c, false};
            p->i++;
        }
    }
    *w = v;
    *wn = k;
    return true;
}

/** Does this character of a term split it into words? A bare '?' is a
 * wildcard, not the delimiter it is in values. */
static bool pat_delim(const struct wch *c, bool phrase)
{
    if (!phrase && !c->esc && c->c == '?') return false;
    return clsq_is_delim(c->c);
}

/** Builds a TERM (or EXISTS / ALL for a lone '*') from the characters of a
 * word or phrase. Phrases take '*' and '?' literally. */
static struct clsq_snode *make_term(struct sp *p, const char *key, const struct wch *w, size_t wn,
                                    bool phrase)
{
    if (!phrase && wn == 1 && w[0].c == '*' && !w[0].esc) {
        struct clsq_snode *n = mk(p, key ? S_EXISTS : S_ALL);
        if (n && key && !(n->key = strdup(key))) { snode_free(n); return sp_fail(p, p->i, "out of memory"); }
        return n;
    }
    struct clsq_snode *n = mk(p, S_TERM);
    if (!n) return NULL;
    if (key && !(n->key = strdup(key))) goto oom;
    n->raw = malloc(wn + 1);
    n->toks = calloc(wn / 2 + 1, sizeof *n->toks);
    if (!n->raw || !n->toks) goto oom;
    bool anyglob = false;
    for (size_t j = 0; j < wn; j++) n->raw[j] = (char)lc(w[j].c);
    n->raw[wn] = '\0';
    n->rawn = wn;
    for (size_t j = 0; j < wn;) {
        while (j < wn && pat_delim(&w[j], phrase)) j++;
        if (j >= wn) break;
        size_t e = j;
        bool glob = false;
        while (e < wn && !pat_delim(&w[e], phrase)) {
            if (!phrase && !w[e].esc && (w[e].c == '*' || w[e].c == '?')) glob = true;
            e++;
        }
        struct ptok *t = &n->toks[n->ntoks];
        t->s = malloc(2 * (e - j) + 1);
        if (!t->s) goto oom;
        n->ntoks++;
        size_t k = 0;
        for (size_t q = j; q < e; q++) {
            unsigned char c = lc(w[q].c);
            if (glob && w[q].esc && (c == '*' || c == '?' || c == '\\')) t->s[k++] = '\\';
            t->s[k++] = (char)c;
        }
        t->s[k] = '\0';
        t->n = k;
        t->glob = glob;
        anyglob |= glob;
        j = e;
    }
    if (anyglob) { free(n->raw); n->raw = NULL; n->rawn = 0; }
    return n;
oom:
    snode_free(n);
    return sp_fail(p, p->i, "out of memory");
}

static struct clsq_snode *parse_or(struct sp *p, const char *field);

/** A number or '*' for one end of a range, up to a space or closing bracket. */
static bool range_end(struct sp *p, double *v, bool *has)
{
    skip_ws(p);
    size_t st = p->i;
    while (p->i < p->n && !isspace((unsigned char)p->s[p->i]) && p->s[p->i] != ']' &&
           p->s[p->i] != '}' && p->s[p->i] != ',')
        p->i++;
    if (p->i - st == 1 && p->s[st] == '*') { *has = false; return true; }
    if (!parse_num(p->s + st, p->i - st, v)) { sp_fail(p, st, "a range bound must be a number or *"); return false; }
    *has = true;
    return true;
}

static struct clsq_snode *parse_range(struct sp *p, const char *key)
{
    struct clsq_snode *n = mk(p, S_RANGE);
    if (!n) return NULL;
    if (!(n->key = strdup(key))) { snode_free(n); return sp_fail(p, p->i, "out of memory"); }
    n->lo_incl = p->s[p->i] == '[';
    p->i++;
    if (!range_end(p, &n->lo, &n->has_lo)) goto bad;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == ',') p->i++;                 /* [a,b] */
    else if (p->i + 2 <= p->n && (p->syn == CLSQ_CQL ? strncasecmp(p->s + p->i, "TO", 2) == 0
                                                     : memcmp(p->s + p->i, "TO", 2) == 0))
        p->i += 2; /* CQL takes its words in any case, Lucene TO in upper case */
    else { sp_fail(p, p->i, "expected TO in a range"); goto bad; }
    if (!range_end(p, &n->hi, &n->has_hi)) goto bad;
    skip_ws(p);
    if (p->i >= p->n || (p->s[p->i] != ']' && p->s[p->i] != '}')) { sp_fail(p, p->i, "expected ] or } to close the range"); goto bad; }
    n->hi_incl = p->s[p->i] == ']';
    p->i++;
    return n;
bad:
    snode_free(n);
    return NULL;
}

static struct clsq_snode *parse_cmp(struct sp *p, const char *key)
{
    size_t op = p->i;
    char c = p->s[p->i++];
    bool eq = false;
    if (c != '=' && p->i < p->n && p->s[p->i] == '=') { eq = true; p->i++; }
    skip_ws(p);
    size_t st = p->i;
    while (p->i < p->n && !word_end((unsigned char)p->s[p->i])) p->i++;
    double v;
    if (!parse_num(p->s + st, p->i - st, &v)) return sp_fail(p, st, "a comparison needs a number");
    struct clsq_snode *n = mk(p, S_RANGE);
    if (!n) return NULL;
    if (!(n->key = strdup(key))) { snode_free(n); return sp_fail(p, op, "out of memory"); }
    if (c == '>') { n->has_lo = true; n->lo = v; n->lo_incl = eq; }
    else if (c == '<') { n->has_hi = true; n->hi = v; n->hi_incl = eq; }
    else { n->has_lo = n->has_hi = n->lo_incl = n->hi_incl = true; n->lo = n->hi = v; }
    return n;
}

/** The value after `key:`. */
static struct clsq_snode *parse_value(struct sp *p, const char *key)
{
    skip_ws(p);
    if (p->i >= p->n) return sp_fail(p, p->i, "a value is missing after ':'");
    char c = p->s[p->i];
    if (c == '(') {
        size_t open = p->i++;
        if (++p->depth > CLSQ_MAX_DEPTH) return sp_fail(p, open, "parentheses nested too deep");
        struct clsq_snode *n = parse_or(p, key);
        p->depth--;
        if (!n) return NULL;
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != ')') { snode_free(n); return sp_fail(p, open, "unbalanced '('"); }
        p->i++;
        return n;
    }
    if (c == '[' || c == '{') return parse_range(p, key);
    if (c == '>' || c == '<' || c == '=') return parse_cmp(p, key);
    struct wch *w;
    size_t wn;
    bool phrase = c == '"';
    if (!(phrase ? read_phrase(p, &w, &wn) : read_word(p, &w, &wn))) return NULL;
    if (!phrase && wn == 0) { free(w); return sp_fail(p, p->i, "a value is missing after ':'"); }
    struct clsq_snode *n = make_term(p, key, w, wn, phrase);
    free(w);
    return n;
}

static struct clsq_snode *parse_clause(struct sp *p, const char *field)
{
    size_t st = p->i;
    if (p->s[p->i] == '"') {
        struct wch *w;
        size_t wn;
        if (!read_phrase(p, &w, &wn)) return NULL;
        struct clsq_snode *n = make_term(p, field, w, wn, true);
        free(w);
        return n;
    }
    if (p->s[p->i] == '>' || p->s[p->i] == '<' || p->s[p->i] == '=') {
        if (!field) return sp_fail(p, st, "a comparison needs a field: key:>N");
        return parse_cmp(p, field);
    }
    struct wch *w;
    size_t wn;
    if (!read_word(p, &w, &wn)) return NULL;
    if (wn == 0) {
        free(w);
        if (p->i < p->n && p->s[p->i] == ':') return sp_fail(p, p->i, "a field name is missing before ':'");
        return sp_fail(p, p->i, p->i < p->n ? "unexpected character" : "unexpected end of the query");
    }
    if (p->i < p->n && p->s[p->i] == ':') {
        char *key = malloc(wn + 1);
        if (!key) { free(w); return sp_fail(p, st, "out of memory"); }
        for (size_t j = 0; j < wn; j++) key[j] = (char)w[j].c;
        key[wn] = '\0';
        free(w);
        p->i++;
        struct clsq_snode *n = parse_value(p, key);
        free(key);
        return n;
    }
    struct clsq_snode *n = make_term(p, field, w, wn, false);
    free(w);
    return n;
}

static struct clsq_snode *parse_unary(struct sp *p, const char *field)
{
    skip_ws(p);
    if (p->i >= p->n) return sp_fail(p, p->i, "unexpected end of the query: a term is missing");
    size_t st = p->i;
    bool neg = false;
    if (at_kw(p, "NOT")) { p->i += 3; neg = true; }
    else if (at_sym(p, "!") || at_sym(p, "-")) { p->i++; neg = true; }
    else if (at_sym(p, "+")) { p->i++; return parse_unary(p, field); }
    if (neg) {
        if (++p->depth > CLSQ_MAX_DEPTH) return sp_fail(p, st, "NOT nested too deep");
        struct clsq_snode *a = parse_unary(p, field);
        p->depth--;
        if (!a) return NULL;
        struct clsq_snode *n = mk(p, S_NOT);
        if (!n) { snode_free(a); return NULL; }
        n->a = a;
        return n;
    }
    char c = p->s[p->i];
    if (c == '(') {
        p->i++;
        if (++p->depth > CLSQ_MAX_DEPTH) return sp_fail(p, st, "parentheses nested too deep");
        struct clsq_snode *n = parse_or(p, field);
        p->depth--;
        if (!n) return NULL;
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != ')') { snode_free(n); return sp_fail(p, st, "unbalanced '('"); }
        p->i++;
        return n;
    }
    if (c == ')') return sp_fail(p, st, "unexpected ')'");
    if (at_kw(p, "AND") || at_kw(p, "OR") || at_sym(p, "&&") || at_sym(p, "||"))
        return sp_fail(p, st, "an operator where a term was expected");
    return parse_clause(p, field);
}

static struct clsq_snode *join(struct sp *p, enum skind k, struct clsq_snode *a, struct clsq_snode *b)
{
    struct clsq_snode *n = mk(p, k);
    if (!n) { snode_free(a); snode_free(b); return NULL; }
    n->a = a;
    n->b = b;
    return n;
}

static struct clsq_snode *parse_and(struct sp *p, const char *field)
{
    struct clsq_snode *l = parse_unary(p, field);
    while (l) {
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] == ')' || at_kw(p, "OR") || at_sym(p, "||")) break;
        if (at_kw(p, "AND")) p->i += 3;
        else if (at_sym(p, "&&")) p->i += 2;
        struct clsq_snode *r = parse_unary(p, field);
        if (!r) { snode_free(l); return NULL; }
        l = join(p, S_AND, l, r);
    }
    return l;
}

static struct clsq_snode *parse_or(struct sp *p, const char *field)
{
    struct clsq_snode *l = parse_and(p, field);
    while (l) {
        skip_ws(p);
        if (at_kw(p, "OR")) p->i += 2;
        else if (at_sym(p, "||")) p->i += 2;
        else break;
        struct clsq_snode *r = parse_and(p, field);
        if (!r) { snode_free(l); return NULL; }
        l = join(p, S_OR, l, r);
    }
    return l;
}

int clsq_search_parse(const char *s, size_t len, size_t base, enum clsq_syntax syn,
                      struct clsq_snode **out, struct clsq_err *err)
{
    struct sp p = {.s = s, .n = len, .base = base, .syn = syn, .err = err};
    *out = NULL;
    skip_ws(&p);
    if (p.i == p.n) return 0;
    struct clsq_snode *n = parse_or(&p, NULL);
    if (!n) {
        if (!p.failed) sp_fail(&p, p.i, "syntax error");
        return -1;
    }
    skip_ws(&p);
    if (p.i < p.n) {
        snode_free(n);
        sp_fail(&p, p.i, p.s[p.i] == ')' ? "unexpected ')'" : "unexpected text");
        return -1;
    }
    if (n->kind == S_ALL) { snode_free(n); n = NULL; }
    *out = n;
    return 0;
}

/* ==== Matching ==== */

/** Next word of v[0..n) from *pos: its start and length; false at the end. */
static inline bool next_word(const char *v, size_t n, size_t *pos, const char **ws, size_t *wl)
{
    size_t i = *pos;
    while (i < n && delim_tab[(unsigned char)v[i]]) i++;
    if (i >= n) { *pos = i; return false; }
    size_t st = i;
    while (i < n && !delim_tab[(unsigned char)v[i]]) i++;
    *ws = v + st;
    *wl = i - st;
    *pos = i;
    return true;
}

/** Glob match of pattern p (lowercase, '\' escapes) against word w, ignoring case. */
static bool glob_match(const char *pt, size_t pn, const char *w, size_t wn)
{
    size_t pi = 0, wi = 0, star_p = (size_t)-1, star_w = 0;
    while (wi < wn) {
        if (pi < pn && pt[pi] == '*') { star_p = ++pi; star_w = wi; continue; }
        if (pi < pn) {
            bool esc = pt[pi] == '\\' && pi + 1 < pn;
            char pc = esc ? pt[pi + 1] : pt[pi];
            if ((!esc && pc == '?') || (unsigned char)pc == lc((unsigned char)w[wi])) {
                pi += esc ? 2 : 1;
                wi++;
                continue;
            }
        }
        if (star_p == (size_t)-1) return false;
        pi = star_p;
        wi = ++star_w;
    }
    while (pi < pn && pt[pi] == '*') pi++;
    return pi == pn;
}

static inline bool tok_match(const struct ptok *t, const char *w, size_t wl)
{
    if (t->glob) return glob_match(t->s, t->n, w, wl);
    if (wl != t->n) return false;
    for (size_t i = 0; i < wl; i++)
        if (lc((unsigned char)w[i]) != (unsigned char)t->s[i]) return false;
    return true;
}

static bool eq_nocase(const char *a, size_t an, const char *lower, size_t ln)
{
    if (an != ln) return false;
    for (size_t i = 0; i < an; i++)
        if (lc((unsigned char)a[i]) != (unsigned char)lower[i]) return false;
    return true;
}

/** Does value v match the TERM n? */
static bool term_match_value(const struct clsq_snode *n, const char *v, size_t vn)
{
    if (n->raw && eq_nocase(v, vn, n->raw, n->rawn)) return true;
    if (n->ntoks == 0) return false;
    const struct ptok *t0 = &n->toks[0];
    size_t pos = 0;
    const char *ws;
    size_t wl;
    while (next_word(v, vn, &pos, &ws, &wl)) {
        if (!tok_match(t0, ws, wl)) continue;
        size_t p2 = pos, j = 1;
        for (; j < n->ntoks; j++) {
            const char *ws2;
            size_t wl2;
            if (!next_word(v, vn, &p2, &ws2, &wl2) || !tok_match(&n->toks[j], ws2, wl2)) break;
        }
        if (j == n->ntoks) return true;
    }
    return false;
}

static bool range_match_value(const struct clsq_snode *n, const char *v, size_t vn)
{
    double d;
    if (!parse_num(v, vn, &d)) return false;
    if (n->has_lo && (n->lo_incl ? d < n->lo : d <= n->lo)) return false;
    if (n->has_hi && (n->hi_incl ? d > n->hi : d >= n->hi)) return false;
    return true;
}

static bool one_match(const struct clsq_snode *n, const char *v, size_t vn)
{
    switch (n->kind) {
    case S_EXISTS: return true;
    case S_TERM: return term_match_value(n, v, vn);
    case S_RANGE: return range_match_value(n, v, vn);
    default: return false;
    }
}

static bool leaf_match(const struct clsq_snode *n, const struct clsq_log *log)
{
    /* the metadata fields CLS lets a search name */
    if (n->key && n->key[0] == '_' && n->key[1] == '_') {
        const char *m = strcmp(n->key, "__SOURCE__") == 0 ? log->source
                        : strcmp(n->key, "__FILENAME__") == 0 ? log->filename : NULL;
        if (m) return one_match(n, m, strlen(m));
    }
    for (size_t i = 0; i < log->n; i++) {
        /* the first byte first: most keys differ there, and strcmp costs a call */
        if (n->key && (n->key[0] != log->keys[i][0] || strcmp(n->key, log->keys[i]) != 0)) continue;
        const char *v = log->vals[i];
        size_t vn = log->vlens[i];
        switch (n->kind) {
        case S_EXISTS: return true;
        case S_TERM: if (term_match_value(n, v, vn)) return true; break;
        case S_RANGE: if (range_match_value(n, v, vn)) return true; break;
        default: return false;
        }
    }
    return false;
}

bool clsq_search_match(const struct clsq_snode *n, const struct clsq_log *log)
{
    if (!n) return true;
    switch (n->kind) {
    case S_AND: return clsq_search_match(n->a, log) && clsq_search_match(n->b, log);
    case S_OR: return clsq_search_match(n->a, log) || clsq_search_match(n->b, log);
    case S_NOT: return !clsq_search_match(n->a, log);
    case S_ALL: return true;
    default: return leaf_match(n, log);
    }
}

/* ==== Hints ==== */

static size_t hints(const struct clsq_snode *n, struct clsq_hint *out, size_t k, size_t max)
{
    if (!n || k >= max) return k;
    if (n->kind == S_AND) return hints(n->b, out, hints(n->a, out, k, max), max);
    if (n->kind == S_TERM && n->ntoks == 1 && !n->toks[0].glob) {
        out[k++] = (struct clsq_hint){n->key, n->toks[0].s, n->toks[0].n};
    }
    return k;
}

size_t clsq_search_hints(const struct clsq_snode *n, struct clsq_hint *out, size_t max)
{
    return hints(n, out, 0, max);
}
