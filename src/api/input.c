/* input.c: request parameters -> a JSON tree checked against an action's shape.
 *
 * Rules chosen where input.h leaves room (the tests in tests/unit/test_input.c
 * pin each of them):
 *
 * form_decode
 *  - '%' must be followed by two hex digits (either case), else the whole
 *    input is malformed ("%G1", "%4", a trailing "%"). '+' decodes to a space.
 *  - A decoded NUL byte ("%00", or a raw NUL inside s[0..len)) is malformed:
 *    names and values are C strings and a NUL would silently cut them short.
 *  - A decoded name or value that is not valid UTF-8 is malformed: every
 *    value may end up in a JSON string, and JSON text is UTF-8.
 *  - Success never returns NULL, not even for an empty input (*n is then 0).
 *    Work and memory are linear in len.
 *
 * input_from_json
 *  - Nesting deeper than INPUT_MAX_DEPTH (the top-level object is depth 1)
 *    is rejected by a linear byte scan before jansson parses anything, so a
 *    100k-deep "[[[[" costs one pass and no recursion. (jansson 2.14 would
 *    stop at JSON_PARSER_MAX_DEPTH = 2048 on its own; we do not rely on it.)
 *  - Numbers jansson cannot hold (an integer beyond int64, a real that
 *    overflows a double) make the body unparseable: BODY_NOT_OBJECT with
 *    "number out of range", not PARAM_TYPE, because the parser does not say
 *    which member held it. Both answer with the wire code InvalidParameter.
 *  - The argument of BODY_NOT_OBJECT is a fixed short reason ("duplicate
 *    key", "invalid UTF-8", "not an object", ...), never bytes of the body.
 *
 * input_check (and so both entry points)
 *  - A member whose value is JSON null is deleted from the tree and is then
 *    simply absent; a required member sent as null is PARAM_MISSING. The
 *    SDKs never send null, some hand-written clients do. A null *element*
 *    of a list is PARAM_TYPE.
 *  - At each object, in this order: nulls removed; unknown names; member
 *    types (for a list, the types of its elements; for a list of objects,
 *    that each element is an object); required members; then the same for
 *    each nested object. So a missing top-level member is reported before
 *    an unknown name inside Tags.0. Unknown and type errors name the first
 *    offender in document order, missing ones the first in shape order.
 *  - Paths name list elements by 0-based position: "Tags.1.Key".
 *
 * input_from_form
 *  - A name is resolved one '.'-separated segment at a time against the
 *    shape. A segment that names no field, or anything after a scalar
 *    ("VpcId.0"), makes the name unknown: PARAM_UNKNOWN with the full name.
 *  - After a list field the next segment must be a decimal index
 *    (parse_u64: digits only), else PARAM_TYPE with the full name, as input.h
 *    says. A list or object given a value of its own ("Tags=x",
 *    "FlowLogStorage=x"), a scalar value that does not convert, and a name
 *    given twice ("VpcId=a&VpcId=b": no "last one wins") are PARAM_TYPE with
 *    the full name too.
 *  - Form names are one flat level, so the per-level order becomes: the
 *    first unknown name (in parameter order) wins, else the first type
 *    error, else whatever input_check says of the rebuilt tree (in practice
 *    PARAM_MISSING; its paths count list positions after gaps are closed, so
 *    "Tags.3.Value=x" alone reports "Tags.0.Key").
 *  - List indexes may have gaps and come in any order; elements are ordered
 *    by numeric index. "1" and "01" are the same index (so both together are
 *    a name given twice). A list holds at most INPUT_MAX_FORM_LIST distinct
 *    indexes; one more is VALUE_LIMIT naming the list ("Tags",
 *    "Filters.0.Values"), returned at once. Indexes are sort keys, never
 *    array positions, so "Tags.999999999.Key" allocates one element.
 *  - Conversions: FT_INT parse_i64, FT_UINT parse_u64 (and <= INT64_MAX,
 *    what jansson holds); FT_BOOL exactly "true" or "false"; FT_FLOAT only
 *    [0-9+-.eE], all of it consumed by strtod, finite. FT_STRING any UTF-8,
 *    empty included.
 *  - FF_OBJ_OR_LIST: "Filters.Name" builds an object, "Filters.0.Name" a
 *    list of objects; using both forms in one request is PARAM_TYPE on the
 *    first name that disagrees with the form already seen.
 *
 * Out of memory anywhere: API_E_INTERNAL "out of memory"; nothing leaks.
 */
#include "api/input.h"

#include <ctype.h>
#include <stddef.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* Room for a dotted path; the apierr arg keeps at most 255 bytes of it. */
#define PATH_CAP 320

/* ==== Errors and paths ==== */

/* Sets e to `id` with `s` as argument, cut at a UTF-8 boundary to fit and
 * with any byte that is not valid UTF-8 shown as '?', so the rendered
 * message stays valid JSON text whatever the client sent. */
static enum api_err fail_arg(struct apierr *e, enum api_err id, const char *s)
{
    size_t n = strlen(s), i = 0, o = 0;
    e->id = id;
    while (i < n) {
        uint32_t cp;
        int k = utf8_decode(s + i, n - i, &cp);
        if (k <= 0) {
            if (o + 1 >= sizeof e->arg)
                break;
            e->arg[o++] = '?';
            i++;
            continue;
        }
        if (o + (size_t)k >= sizeof e->arg)
            break;
        memcpy(e->arg + o, s + i, (size_t)k);
        o += (size_t)k;
        i += (size_t)k;
    }
    e->arg[o] = '\0';
    return id;
}

static enum api_err nomem(struct apierr *e)
{
    return apierr_set(e, API_E_INTERNAL, "out of memory");
}

/* A dotted path built while walking a tree; truncated, never overflowing. */
struct path {
    char s[PATH_CAP];
    size_t len;
};

/* Appends "." (unless empty) and seg[0..n). Returns the old length for
 * path_pop. */
static size_t path_push(struct path *p, const char *seg, size_t n)
{
    size_t old = p->len, room = PATH_CAP - 1 - p->len;
    if (old > 0 && room > 0) {
        p->s[p->len++] = '.';
        room--;
    }
    if (n > room)
        n = room;
    memcpy(p->s + p->len, seg, n);
    p->len += n;
    p->s[p->len] = '\0';
    return old;
}

static size_t path_push_index(struct path *p, size_t i)
{
    char b[24];
    int k = snprintf(b, sizeof b, "%zu", i);
    return path_push(p, b, (size_t)k);
}

static void path_pop(struct path *p, size_t old)
{
    p->len = old;
    p->s[old] = '\0';
}

/* ==== Shape lookups ==== */

static const struct field *field_find(const struct shape *s, const char *name, size_t n)
{
    for (size_t i = 0; i < s->nfields; i++) {
        const char *fn = s->fields[i].name;
        if (strncmp(fn, name, n) == 0 && fn[n] == '\0')
            return &s->fields[i];
    }
    return NULL;
}

/* True if a member of this field holds objects to recurse into. */
static int holds_objects(const struct field *f)
{
    return f->shape && (f->type == FT_OBJECT || (f->type == FT_LIST && f->elem == FT_OBJECT));
}

/* ==== Checking a tree ==== */

static int scalar_ok(int type, const json_t *v)
{
    switch (type) {
    case FT_STRING:
        return json_is_string(v);
    case FT_INT:
        return json_is_integer(v);
    case FT_UINT:
        return json_is_integer(v) && json_integer_value(v) >= 0;
    case FT_BOOL:
        return json_is_boolean(v);
    case FT_FLOAT:
        return json_is_number(v);
    default:
        return 0;
    }
}

/* Checks the type of member v of field f (its path already in p), and for
 * a list the type of each element. */
static enum api_err check_type(const struct field *f, const json_t *v, struct path *p,
                               struct apierr *e)
{
    size_t i;
    json_t *el;
    int elem;

    if (f->type == FT_OBJECT) {
        if (json_is_object(v))
            return API_E_OK;
        if (!(f->flags & FF_OBJ_OR_LIST) || !json_is_array(v))
            return fail_arg(e, API_E_PARAM_TYPE, p->s);
        elem = FT_OBJECT;
    } else if (f->type == FT_LIST) {
        if (!json_is_array(v))
            return fail_arg(e, API_E_PARAM_TYPE, p->s);
        elem = f->elem;
    } else {
        return scalar_ok(f->type, v) ? API_E_OK : fail_arg(e, API_E_PARAM_TYPE, p->s);
    }
    json_array_foreach(v, i, el) {
        int ok = elem == FT_OBJECT ? json_is_object(el) : scalar_ok(elem, el);
        if (!ok) {
            path_push_index(p, i);
            return fail_arg(e, API_E_PARAM_TYPE, p->s);
        }
    }
    return API_E_OK;
}

/* Checks one object against s, then its nested objects (see the rules at
 * the top). p holds the object's own path and is restored on success. */
static enum api_err check_obj(const struct shape *s, json_t *obj, struct path *p,
                              struct apierr *e)
{
    const char *key;
    json_t *v;
    void *tmp;
    enum api_err rc;

    json_object_foreach_safe(obj, tmp, key, v) {
        if (json_is_null(v))
            json_object_del(obj, key);
    }
    json_object_foreach(obj, key, v) {
        if (!field_find(s, key, strlen(key))) {
            path_push(p, key, strlen(key));
            return fail_arg(e, API_E_PARAM_UNKNOWN, p->s);
        }
    }
    json_object_foreach(obj, key, v) {
        size_t old = path_push(p, key, strlen(key));
        rc = check_type(field_find(s, key, strlen(key)), v, p, e);
        if (rc != API_E_OK)
            return rc;
        path_pop(p, old);
    }
    for (size_t i = 0; i < s->nfields; i++) {
        const struct field *f = &s->fields[i];
        if (f->required && !json_object_get(obj, f->name)) {
            path_push(p, f->name, strlen(f->name));
            return fail_arg(e, API_E_PARAM_MISSING, p->s);
        }
    }
    json_object_foreach(obj, key, v) {
        const struct field *f = field_find(s, key, strlen(key));
        size_t old, i;
        json_t *el;
        if (!holds_objects(f))
            continue;
        old = path_push(p, key, strlen(key));
        if (json_is_object(v)) {
            rc = check_obj(f->shape, v, p, e);
            if (rc != API_E_OK)
                return rc;
        } else {
            json_array_foreach(v, i, el) {
                size_t o2 = path_push_index(p, i);
                rc = check_obj(f->shape, el, p, e);
                if (rc != API_E_OK)
                    return rc;
                path_pop(p, o2);
            }
        }
        path_pop(p, old);
    }
    return API_E_OK;
}

enum api_err input_check(const struct shape *s, json_t *root, struct apierr *e)
{
    struct path p = {.len = 0};
    enum api_err rc;

    p.s[0] = '\0';
    if (!json_is_object(root))
        return apierr_set(e, API_E_BODY_NOT_OBJECT, "not an object");
    rc = check_obj(s, root, &p, e);
    if (rc == API_E_OK)
        apierr_set(e, API_E_OK, NULL);
    return rc;
}

/* ==== JSON bodies ==== */

/* True if the JSON text in s[0..len) opens more than `max` arrays/objects
 * at once. Exact for any text jansson accepts: brackets inside strings are
 * skipped, with backslash escapes honoured. */
static int json_too_deep(const char *s, size_t len, unsigned max)
{
    unsigned depth = 0;
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return 1;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

/* Maps a jansson load error onto BODY_NOT_OBJECT with a short reason. */
static enum api_err load_error(const json_error_t *jerr, struct apierr *e)
{
    switch (json_error_code(jerr)) {
    case json_error_out_of_memory:
        return nomem(e);
    case json_error_invalid_utf8:
        return apierr_set(e, API_E_BODY_NOT_OBJECT, "invalid UTF-8");
    case json_error_duplicate_key:
        return apierr_set(e, API_E_BODY_NOT_OBJECT, "duplicate key");
    case json_error_numeric_overflow:
        return apierr_set(e, API_E_BODY_NOT_OBJECT, "number out of range");
    case json_error_null_character:
    case json_error_null_byte_in_key:
        return apierr_set(e, API_E_BODY_NOT_OBJECT, "NUL character in a string");
    case json_error_stack_overflow:
        return apierr_setf(e, API_E_BODY_NOT_OBJECT, "nesting deeper than %d", INPUT_MAX_DEPTH);
    case json_error_premature_end_of_input:
        return apierr_set(e, API_E_BODY_NOT_OBJECT, "unexpected end of input");
    case json_error_end_of_input_expected:
        return apierr_set(e, API_E_BODY_NOT_OBJECT, "data after the JSON value");
    default:
        return apierr_setf(e, API_E_BODY_NOT_OBJECT, "invalid JSON near byte %d",
                           jerr->position);
    }
}

enum api_err input_from_json(const struct shape *s, const char *body, size_t len, json_t **out,
                             struct apierr *e)
{
    json_error_t jerr;
    json_t *root;
    enum api_err rc;

    *out = NULL;
    if (!body) {
        body = "";
        len = 0;
    }
    if (json_too_deep(body, len, INPUT_MAX_DEPTH))
        return apierr_setf(e, API_E_BODY_NOT_OBJECT, "nesting deeper than %d", INPUT_MAX_DEPTH);
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root)
        return load_error(&jerr, e);
    rc = input_check(s, root, e);
    if (rc != API_E_OK) {
        json_decref(root);
        return rc;
    }
    *out = root;
    return API_E_OK;
}

/* ==== Form parameters: decoding ==== */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..len) into a new string. NULL with *bad = 1 if malformed,
 * NULL with *bad = 0 when out of memory. */
static char *decode_part(const char *s, size_t len, int *bad)
{
    char *out = malloc(len + 1);
    size_t o = 0;

    *bad = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (len - i < 3 || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
                goto bad;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            goto bad;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    if (utf8_count(out, o) < 0)
        goto bad;
    return out;
bad:
    free(out);
    *bad = 1;
    return NULL;
}

struct form_param *form_decode(const char *s, size_t len, size_t *n, int *malformed)
{
    struct form_param *p;
    size_t cap = 0, k = 0, i = 0;
    int bad = 0;

    *n = 0;
    if (malformed)
        *malformed = 0;
    if (!s)
        len = 0;
    for (size_t j = 0; j < len; j++) /* non-empty segments: one slot each */
        if (s[j] != '&' && (j == 0 || s[j - 1] == '&'))
            cap++;
    p = calloc(cap ? cap : 1, sizeof *p);
    if (!p)
        return NULL;
    while (i < len) {
        const char *seg = s + i, *amp = memchr(seg, '&', len - i), *eq;
        size_t slen = amp ? (size_t)(amp - seg) : len - i;
        i += slen + 1;
        if (slen == 0)
            continue;
        eq = memchr(seg, '=', slen);
        p[k].name = decode_part(seg, eq ? (size_t)(eq - seg) : slen, &bad);
        if (!p[k].name)
            goto fail;
        k++; /* from here form_free releases this slot, value or not */
        p[k - 1].value = eq ? decode_part(eq + 1, slen - (size_t)(eq + 1 - seg), &bad)
                            : decode_part("", 0, &bad);
        if (!p[k - 1].value)
            goto fail;
    }
    *n = k;
    return p;
fail:
    form_free(p, k);
    if (malformed)
        *malformed = bad;
    return NULL;
}

void form_free(struct form_param *p, size_t n)
{
    if (!p)
        return;
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
}

const char *form_get(const struct form_param *p, size_t n, const char *name)
{
    for (size_t i = 0; p && i < n; i++)
        if (p[i].name && strcmp(p[i].name, name) == 0)
            return p[i].value;
    return NULL;
}

/* ==== Form parameters: rebuilding the tree ==== */

/* The first unknown name and the first type error seen while placing
 * params; reported after all params were placed (unknown first). */
struct pending {
    struct apierr unk, typ;
    int has_unk, has_typ;
};

static void note(struct pending *pd, enum api_err id, const char *name)
{
    if (id == API_E_PARAM_UNKNOWN && !pd->has_unk) {
        fail_arg(&pd->unk, id, name);
        pd->has_unk = 1;
    } else if (id != API_E_PARAM_UNKNOWN && !pd->has_typ) {
        fail_arg(&pd->typ, id, name);
        pd->has_typ = 1;
    }
}

static int is_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* strtod over all of s[0..n), restricted to the characters of a decimal
 * JSON-like number (no spaces, hex, inf or nan), and finite. */
static int parse_float(const char *s, size_t n, double *out)
{
    char *end;
    if (n == 0 || strspn(s, "0123456789+-.eE") != n)
        return -1;
    *out = strtod(s, &end);
    return end == s + n && isfinite(*out) ? 0 : -1;
}

/* The JSON value of form value v for a member of scalar type t. NULL with
 * *bad = 1 if it does not convert, NULL with *bad = 0 when out of memory. */
static json_t *convert(int t, const char *v, int *bad)
{
    size_t n = strlen(v);
    int64_t i;
    uint64_t u;
    double d;

    *bad = 0;
    switch (t) {
    case FT_STRING:
        if (utf8_count(v, n) >= 0)
            return json_stringn_nocheck(v, n);
        break;
    case FT_INT:
        if (parse_i64(v, n, &i) == 0)
            return json_integer((json_int_t)i);
        break;
    case FT_UINT:
        if (parse_u64(v, n, &u) == 0 && u <= (uint64_t)INT64_MAX)
            return json_integer((json_int_t)u);
        break;
    case FT_BOOL:
        if (strcmp(v, "true") == 0)
            return json_true();
        if (strcmp(v, "false") == 0)
            return json_false();
        break;
    case FT_FLOAT:
        if (parse_float(v, n, &d) == 0)
            return json_real(d);
        break;
    default:
        break;
    }
    *bad = 1;
    return NULL;
}

/* Stores the scalar `value` of type t at obj[key[0..klen)]. `rest` is what
 * follows the scalar's segment in `name` (NULL if nothing). */
static enum api_err put_scalar(json_t *obj, const char *key, size_t klen, int t, const char *rest,
                               const char *name, const char *value, struct pending *pd,
                               struct apierr *e)
{
    json_t *v;
    int bad;

    if (rest) {
        note(pd, API_E_PARAM_UNKNOWN, name);
        return API_E_OK;
    }
    if (json_object_getn(obj, key, klen)) {
        note(pd, API_E_PARAM_TYPE, name);
        return API_E_OK;
    }
    v = convert(t, value, &bad);
    if (!v) {
        if (!bad)
            return nomem(e);
        note(pd, API_E_PARAM_TYPE, name);
        return API_E_OK;
    }
    if (json_object_setn_new_nocheck(obj, key, klen, v) != 0)
        return nomem(e);
    return API_E_OK;
}

/* True if a temporary container of an FF_OBJ_OR_LIST member holds list
 * elements (keyed by index) rather than members (keyed by field name). */
static int is_index_map(json_t *o)
{
    void *it = json_object_iter(o);
    return it && isdigit((unsigned char)json_object_iter_key(it)[0]);
}

/* obj[key[0..klen)], created as an empty object if absent. */
static json_t *get_or_add(json_t *obj, const char *key, size_t klen)
{
    json_t *c = json_object_getn(obj, key, klen);
    if (c)
        return c;
    c = json_object();
    if (!c || json_object_setn_new_nocheck(obj, key, klen, c) != 0)
        return NULL;
    return c;
}

/* Places one param in the tree under construction. While building, a list
 * is an object keyed by the canonical decimal index ("7"); finalize() turns
 * it into an array. Name problems are noted in pd; only out-of-memory and
 * an over-long list end the build (returned). */
static enum api_err place(const struct shape *s, json_t *obj, const char *name, const char *value,
                          struct pending *pd, struct apierr *e)
{
    const char *seg = name;

    for (;;) {
        size_t sl = strcspn(seg, "."), il;
        const char *rest = seg[sl] == '.' ? seg + sl + 1 : NULL, *next;
        const struct field *f = field_find(s, seg, sl);
        json_t *child, *elem;
        uint64_t idx;
        char ck[24];
        int listy, elem_type;

        if (!f) {
            note(pd, API_E_PARAM_UNKNOWN, name);
            return API_E_OK;
        }
        if (f->type != FT_OBJECT && f->type != FT_LIST)
            return put_scalar(obj, seg, sl, f->type, rest, name, value, pd, e);
        if (!rest) { /* "Tags=x", "FlowLogStorage=x" */
            note(pd, API_E_PARAM_TYPE, name);
            return API_E_OK;
        }
        il = strcspn(rest, ".");
        listy = f->type == FT_LIST || ((f->flags & FF_OBJ_OR_LIST) && is_digits(rest, il));
        if (!listy) { /* one structure: "FlowLogStorage.StorageId", "Filters.Name" */
            child = json_object_getn(obj, seg, sl);
            if (child && is_index_map(child)) {
                note(pd, API_E_PARAM_TYPE, name);
                return API_E_OK;
            }
            if (!f->shape)
                return apierr_set(e, API_E_INTERNAL, "schema: object without shape");
            if (!(child = get_or_add(obj, seg, sl)))
                return nomem(e);
            s = f->shape;
            obj = child;
            seg = rest;
            continue;
        }
        if (parse_u64(rest, il, &idx) != 0) {
            note(pd, API_E_PARAM_TYPE, name);
            return API_E_OK;
        }
        child = json_object_getn(obj, seg, sl);
        if (child && f->type == FT_OBJECT && json_object_size(child) > 0 && !is_index_map(child)) {
            note(pd, API_E_PARAM_TYPE, name); /* "Filters.Name" came first */
            return API_E_OK;
        }
        if (!child && !(child = get_or_add(obj, seg, sl)))
            return nomem(e);
        snprintf(ck, sizeof ck, "%" PRIu64, idx);
        elem = json_object_get(child, ck);
        if (!elem && json_object_size(child) >= INPUT_MAX_FORM_LIST) {
            char list[PATH_CAP];
            snprintf(list, sizeof list, "%.*s", (int)(seg + sl - name), name);
            return fail_arg(e, API_E_VALUE_LIMIT, list);
        }
        next = rest[il] == '.' ? rest + il + 1 : NULL;
        elem_type = f->type == FT_LIST ? f->elem : FT_OBJECT;
        if (elem_type != FT_OBJECT)
            return put_scalar(child, ck, strlen(ck), elem_type, next, name, value, pd, e);
        if (!next) { /* "Tags.0=x" */
            note(pd, API_E_PARAM_TYPE, name);
            return API_E_OK;
        }
        if (!f->shape)
            return apierr_set(e, API_E_INTERNAL, "schema: object without shape");
        if (!elem && !(elem = get_or_add(child, ck, strlen(ck))))
            return nomem(e);
        s = f->shape;
        obj = elem;
        seg = next;
    }
}

struct slot {
    uint64_t idx;
    json_t *v;
};

static int slot_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct slot *)a)->idx, y = ((const struct slot *)b)->idx;
    return x < y ? -1 : x > y;
}

/* A new array of map's values ordered by their (canonical decimal) keys. */
static json_t *index_map_to_array(json_t *map)
{
    size_t n = json_object_size(map), k = 0;
    struct slot *sl = NULL;
    json_t *arr, *v;
    const char *key;

    if (n > 0 && !(sl = malloc(n * sizeof *sl)))
        return NULL;
    json_object_foreach(map, key, v) {
        if (parse_u64(key, strlen(key), &sl[k].idx) != 0)
            sl[k].idx = UINT64_MAX; /* cannot happen: place() wrote the keys */
        sl[k++].v = v;
    }
    if (n > 0)
        qsort(sl, n, sizeof *sl, slot_cmp);
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (json_array_append(arr, sl[i].v) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(sl);
    return arr;
}

/* Turns every index map under obj (shape s) into an array, recursively. */
static enum api_err finalize(const struct shape *s, json_t *obj, struct apierr *e)
{
    enum api_err rc;

    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *key = json_object_iter_key(it);
        json_t *v = json_object_iter_value(it), *arr, *el;
        const struct field *f = field_find(s, key, strlen(key));
        size_t i;

        if (!f || !json_is_object(v))
            continue; /* a scalar */
        if (f->type == FT_OBJECT && !((f->flags & FF_OBJ_OR_LIST) && is_index_map(v))) {
            rc = finalize(f->shape, v, e);
            if (rc != API_E_OK)
                return rc;
            continue;
        }
        arr = index_map_to_array(v);
        if (!arr || json_object_iter_set_new(obj, it, arr) != 0)
            return nomem(e); /* iter_set_new released arr on failure */
        if (!holds_objects(f))
            continue;
        json_array_foreach(arr, i, el) {
            rc = finalize(f->shape, el, e);
            if (rc != API_E_OK)
                return rc;
        }
    }
    return API_E_OK;
}

static int skipped(const char *name, const char *const *skip)
{
    for (; skip && *skip; skip++)
        if (strcmp(name, *skip) == 0)
            return 1;
    return 0;
}

enum api_err input_from_form(const struct shape *s, const struct form_param *params, size_t n,
                             const char *const *skip, json_t **out, struct apierr *e)
{
    struct pending pd;
    json_t *root = json_object();
    enum api_err rc;

    *out = NULL;
    memset(&pd, 0, sizeof pd);
    if (!root)
        return nomem(e);
    for (size_t i = 0; params && i < n; i++) {
        if (!params[i].name || skipped(params[i].name, skip))
            continue;
        rc = place(s, root, params[i].name, params[i].value ? params[i].value : "", &pd, e);
        if (rc != API_E_OK)
            goto fail;
    }
    if (pd.has_unk || pd.has_typ) {
        *e = pd.has_unk ? pd.unk : pd.typ;
        rc = e->id;
        goto fail;
    }
    rc = finalize(s, root, e);
    if (rc == API_E_OK)
        rc = input_check(s, root, e);
    if (rc != API_E_OK)
        goto fail;
    *out = root;
    return API_E_OK;
fail:
    json_decref(root);
    return rc;
}

/* ==== The input struct ==== */

/* Every piece of the block starts at this alignment. */
#define IN_ALIGN (sizeof(max_align_t))

static size_t in_round(size_t n)
{
    return (n + IN_ALIGN - 1) / IN_ALIGN * IN_ALIGN;
}

static size_t scalar_size(int type)
{
    switch (type) {
    case FT_STRING:
        return sizeof(const char *);
    case FT_INT:
        return sizeof(int64_t);
    case FT_UINT:
        return sizeof(uint64_t);
    case FT_BOOL:
        return sizeof(int);
    default:
        return sizeof(double);
    }
}

static size_t struct_size(const struct shape *s, json_t *obj);

/* Bytes a list member needs beyond its struct: the array (a list of one
 * for an object given where FF_OBJ_OR_LIST allows it) and, for elements
 * that are objects, what each of them points to. */
static size_t list_size(const struct field *f, int elem, json_t *v)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1, j, total;
    json_t *el;

    if (elem != FT_OBJECT)
        return in_round(n * scalar_size(elem));
    total = in_round(n * f->shape->size);
    if (!json_is_array(v))
        return total + struct_size(f->shape, v) - in_round(f->shape->size);
    json_array_foreach(v, j, el)
        total += struct_size(f->shape, el) - in_round(f->shape->size);
    return total;
}

/* Bytes the struct of `obj` (shape s) needs, with everything it points to. */
static size_t struct_size(const struct shape *s, json_t *obj)
{
    size_t total = in_round(s->size);

    for (size_t i = 0; i < s->nfields; i++) {
        const struct field *f = &s->fields[i];
        json_t *v = json_object_get(obj, f->name);

        if (!v || f->type == FT_STRING)
            continue;
        if (f->type == FT_OBJECT && (f->flags & FF_OBJ_OR_LIST))
            total += list_size(f, FT_OBJECT, v);
        else if (f->type == FT_OBJECT)
            total += struct_size(f->shape, v);
        else if (f->type == FT_LIST)
            total += list_size(f, f->elem, v);
        else
            total += in_round(scalar_size(f->type));
    }
    return total;
}

/* Takes n bytes of the block. */
static void *take(char **cur, size_t n)
{
    void *p = *cur;
    *cur += in_round(n);
    return p;
}

static void store_scalar(void *dst, int type, json_t *v)
{
    switch (type) {
    case FT_STRING: {
        const char *s = json_string_value(v);
        memcpy(dst, &s, sizeof s);
        break;
    }
    case FT_INT: {
        int64_t i = (int64_t)json_integer_value(v);
        memcpy(dst, &i, sizeof i);
        break;
    }
    case FT_UINT: {
        uint64_t u = (uint64_t)json_integer_value(v);
        memcpy(dst, &u, sizeof u);
        break;
    }
    case FT_BOOL: {
        int b = json_is_true(v);
        memcpy(dst, &b, sizeof b);
        break;
    }
    default: {
        double d = json_number_value(v);
        memcpy(dst, &d, sizeof d);
        break;
    }
    }
}

static void fill_struct(const struct shape *s, json_t *obj, char *st, char **cur);

/* A list member: its elements (objects of f->shape, or scalars of `elem`). */
static void fill_list(const struct field *f, int elem, json_t *v, char *member, char **cur)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    size_t esz = elem == FT_OBJECT ? f->shape->size : scalar_size(elem);
    struct in_list l = {take(cur, n * esz), n};
    char *arr = (char *)l.v;

    for (size_t j = 0; j < n; j++) {
        json_t *el = json_is_array(v) ? json_array_get(v, j) : v;
        if (elem == FT_OBJECT)
            fill_struct(f->shape, el, arr + j * esz, cur);
        else
            store_scalar(arr + j * esz, elem, el);
    }
    memcpy(member, &l, sizeof l);
}

/* Fills the struct at `st` (zeroed) from obj; nested parts come from *cur. */
static void fill_struct(const struct shape *s, json_t *obj, char *st, char **cur)
{
    for (size_t i = 0; i < s->nfields; i++) {
        const struct field *f = &s->fields[i];
        json_t *v = json_object_get(obj, f->name);
        char *member = st + f->offset;

        if (!v)
            continue;
        if (f->type == FT_OBJECT && (f->flags & FF_OBJ_OR_LIST)) {
            fill_list(f, FT_OBJECT, v, member, cur);
        } else if (f->type == FT_OBJECT) {
            void *sub = take(cur, f->shape->size);
            fill_struct(f->shape, v, sub, cur);
            memcpy(member, &sub, sizeof sub);
        } else if (f->type == FT_LIST) {
            fill_list(f, f->elem, v, member, cur);
        } else if (f->type == FT_STRING) {
            store_scalar(member, FT_STRING, v);
        } else {
            void *val = take(cur, scalar_size(f->type));
            store_scalar(val, f->type, v);
            memcpy(member, &val, sizeof val);
        }
    }
}

void *input_struct(const struct shape *s, json_t *root)
{
    size_t size = struct_size(s, root);
    char *block = calloc(1, size ? size : 1), *cur;

    if (!block)
        return NULL;
    cur = block;
    fill_struct(s, root, take(&cur, s->size), &cur);
    return block;
}
