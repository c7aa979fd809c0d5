/* input.h: mapping a request's parameters onto an action's input shape.
 *
 * Two sources, one result. A JSON body (TC3 POST) is parsed and checked
 * against the shape; flattened form/query parameters ("Tags.0.Key=city",
 * "FlowLogStorage.StorageId=x", "FlowLogIds.0=fl-1") are decoded, rebuilt
 * into the same JSON tree (with "10" becoming 10 where the shape says int)
 * and checked the same way. Handlers then read a tree that is known to
 * match the shape.
 *
 * Checks and their errors, in this order at each level: body not a JSON
 * object -> BODY_NOT_OBJECT; a name the shape does not define ->
 * PARAM_UNKNOWN; a value of the wrong type -> PARAM_TYPE; a required member
 * absent -> PARAM_MISSING. The argument names the parameter with its path,
 * e.g. "Tags.1.Key" or "FlowLogStorage.StorageId".
 */
#ifndef FLOWLOGD_API_INPUT_H
#define FLOWLOGD_API_INPUT_H

#include <jansson.h>
#include <stddef.h>

#include "base/apierr.h"

enum ftype {
    FT_STRING = 1,
    FT_INT,    /* signed 64-bit integer */
    FT_UINT,   /* unsigned integer (JSON number >= 0) */
    FT_BOOL,
    FT_FLOAT,
    FT_OBJECT, /* a structure: `shape` */
    FT_LIST,   /* a list of `elem` (a structure when elem == FT_OBJECT) */
};

struct shape;

struct field {
    const char *name;
    unsigned char type;     /* enum ftype */
    unsigned char elem;     /* for FT_LIST: enum ftype of the elements */
    unsigned char required;
    unsigned char flags;    /* FF_* */
    const struct shape *shape; /* FT_OBJECT, or FT_LIST of FT_OBJECT */
    size_t offset;          /* of its member in the shape's C struct (see input_struct) */
};

/** An FT_OBJECT field that also accepts a JSON array of such objects
 * (DescribeFlowLogs.Filters). In form input "Filters.Name" and
 * "Filters.0.Name" are both accepted. The tree keeps what was sent. */
#define FF_OBJ_OR_LIST 1

/** JSON bodies nesting deeper than this (the top-level object is 1) are
 * BODY_NOT_OBJECT. */
#define INPUT_MAX_DEPTH 64

/** Form input: most distinct indexes one list may have ("Tags.N...");
 * one more is VALUE_LIMIT naming the list. */
#define INPUT_MAX_FORM_LIST 1000

struct shape {
    const char *name;
    const struct field *fields;
    size_t nfields;
    size_t size; /* sizeof its C struct (struct in_<name>, schema_gen.h); 0: none */
};

/** The layout of every list member of an input struct: `v` is NULL when
 * the list is absent (an empty list has a non-NULL v and n == 0). The
 * generated members declare v with the element's own type. */
struct in_list {
    const void *v;
    size_t n;
};

/** One decoded form/query parameter; the strings are owned by whoever
 * made the array (see form_decode). */
struct form_param {
    char *name;
    char *value;
};

/** Decodes "a=1&b=x%20y" ('+' is a space, %XX upper or lower case) into a
 * malloc'd array of *n params (each name/value malloc'd). Empty segments are
 * skipped; "a" alone is a=“”. Returns NULL with *n = 0 on a malformed escape
 * (e.g. "%G1", "%4") or OOM, and sets *malformed = 1 for the former. A
 * decoded NUL byte ("%00") or a name/value that is not valid UTF-8 is
 * malformed too. On success the result is never NULL, even with *n == 0. */
struct form_param *form_decode(const char *s, size_t len, size_t *n, int *malformed);

/** Frees an array from form_decode. */
void form_free(struct form_param *p, size_t n);

/** Value of the first param called `name`, or NULL. */
const char *form_get(const struct form_param *p, size_t n, const char *name);

/** Parses body[0..len) as JSON and checks it against `s`. On success stores
 * a new reference in *out (the caller json_decref's it) and returns
 * API_E_OK; otherwise fills e and returns its id. A JSON body that is not
 * valid UTF-8, has duplicate keys or nests deeper than 64 is
 * BODY_NOT_OBJECT. */
enum api_err input_from_json(const struct shape *s, const char *body, size_t len, json_t **out,
                             struct apierr *e);

/** Rebuilds the tree from flattened params and checks it against `s`.
 * Params named in `skip` (NULL-terminated list, e.g. the common parameters
 * Action, Version, Signature...) are ignored. A number that does not parse
 * for an int member, a bool that is not true/false, or a list index that
 * is not a decimal number is PARAM_TYPE; gaps in list indexes are allowed
 * and closed up in order. Same results as input_from_json. A list with
 * more than INPUT_MAX_FORM_LIST indexes is VALUE_LIMIT. */
enum api_err input_from_form(const struct shape *s, const struct form_param *params, size_t n,
                             const char *const *skip, json_t **out, struct apierr *e);

/** Checks an existing tree against `s` (what both functions above end with). */
enum api_err input_check(const struct shape *s, json_t *root, struct apierr *e);

/** The tree `root`, already checked against `s` (s->size != 0), as the
 * shape's C struct (struct in_<name> of schema_gen.h): each member a
 * pointer, NULL when absent (the types: tools/gen-schema.py). One malloc'd
 * block holds the struct, its nested structs, lists and numbers; the
 * caller frees it with free(). Its strings point into `root`, which must
 * outlive it. NULL on OOM. */
void *input_struct(const struct shape *s, json_t *root);

#endif
