/* fuzz_form.c: the form/query decoder and the flattening of "A.0.B" names.
 *
 * Input: byte 0 picks a shape (every spec action's input, plus a local
 * shape with the scalar types no action uses yet); the rest is a query
 * string or form body, as a client sends it.
 *
 * Invariants:
 *  - form_decode: NULL iff it failed; a malformed input is reported as such
 *    (this process does not run out of memory); on success every name and
 *    value is a C string of valid UTF-8.
 *  - input_from_form: an error has a wire code, an argument that is a
 *    NUL-terminated valid UTF-8 string, and no tree; a success is a JSON
 *    object that input_check accepts again, and that survives a trip
 *    through JSON text: input_from_json of json_dumps(tree) succeeds with an
 *    equal tree (form and JSON input are "one result" per input.h).
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/input.h"
#include "api/schema_gen.h"
#include "base/apierr.h"
#include "base/util.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

/* The parameters api.c skips (its common_params list). */
static const char *const common_params[] = {"Action", "Version", "Region", "Timestamp",
                                            "Nonce", "SecretId", "Signature",
                                            "SignatureMethod", "Token", "Language",
                                            "RequestClient", NULL};

/* Every scalar type, lists of each, a nested required object and an
 * object-or-list member, so the conversions no generated shape uses yet
 * (FT_INT, FT_FLOAT, lists of numbers) are reached too. */
struct in_Inner {
    const char *K;
    const int64_t *N;
    struct { const uint64_t *v; size_t n; } L;
};
struct in_All {
    const char *S;
    const int64_t *I;
    const uint64_t *U;
    const int *B;
    const double *F;
    struct { const int64_t *v; size_t n; } Is;
    struct { const uint64_t *v; size_t n; } Us;
    struct { const int *v; size_t n; } Bs;
    struct { const double *v; size_t n; } Fs;
    struct { const char *const *v; size_t n; } Ss;
    const struct in_Inner *O;
    struct { const struct in_Inner *v; size_t n; } Os, X;
};
#define AT(s, m) offsetof(struct in_##s, m)
static const struct field fields_Inner[] = {
    {"K", FT_STRING, 0, 1, 0, NULL, AT(Inner, K)},
    {"N", FT_INT, 0, 0, 0, NULL, AT(Inner, N)},
    {"L", FT_LIST, FT_UINT, 0, 0, NULL, AT(Inner, L)},
};
static const struct shape shape_Inner = {"Inner", fields_Inner, 3, sizeof(struct in_Inner)};

static const struct field fields_All[] = {
    {"S", FT_STRING, 0, 0, 0, NULL, AT(All, S)},
    {"I", FT_INT, 0, 0, 0, NULL, AT(All, I)},
    {"U", FT_UINT, 0, 0, 0, NULL, AT(All, U)},
    {"B", FT_BOOL, 0, 0, 0, NULL, AT(All, B)},
    {"F", FT_FLOAT, 0, 0, 0, NULL, AT(All, F)},
    {"Is", FT_LIST, FT_INT, 0, 0, NULL, AT(All, Is)},
    {"Us", FT_LIST, FT_UINT, 0, 0, NULL, AT(All, Us)},
    {"Bs", FT_LIST, FT_BOOL, 0, 0, NULL, AT(All, Bs)},
    {"Fs", FT_LIST, FT_FLOAT, 0, 0, NULL, AT(All, Fs)},
    {"Ss", FT_LIST, FT_STRING, 0, 0, NULL, AT(All, Ss)},
    {"O", FT_OBJECT, 0, 0, 0, &shape_Inner, AT(All, O)},
    {"Os", FT_LIST, FT_OBJECT, 0, 0, &shape_Inner, AT(All, Os)},
    {"X", FT_OBJECT, 0, 0, FF_OBJ_OR_LIST, &shape_Inner, AT(All, X)},
};
static const struct shape shape_All = {"All", fields_All, 13, sizeof(struct in_All)};

static const struct shape *pick_shape(uint8_t b)
{
    size_t i = b % (spec_nactions + 1);
    return i == spec_nactions ? &shape_All : spec_actions[i].input;
}

static void check_error(enum api_err rc, const struct apierr *e, const json_t *tree)
{
    FUZZ_CHECK(rc != API_E_OK);
    FUZZ_CHECK(e->id == rc);
    FUZZ_CHECK(tree == NULL);
    FUZZ_CHECK(apierr_code(rc) != NULL && apierr_code(rc)[0] != '\0');
    FUZZ_CHECK(fuzz_terminated(e->arg, sizeof e->arg));
    FUZZ_CHECK(utf8_count(e->arg, strlen(e->arg)) >= 0);
}

/* The tree built from form input, dumped as JSON text, maps to the same
 * tree through the JSON path. */
static void check_round_trip(const struct shape *s, json_t *tree)
{
    struct apierr e = {API_E_OK, ""};
    json_t *again = NULL;
    char *text = json_dumps(tree, JSON_COMPACT);
    enum api_err rc;

    FUZZ_CHECK(text != NULL);
    rc = input_from_json(s, text, strlen(text), &again, &e);
    if (rc != API_E_OK)
        fprintf(stderr, "form tree %s rejected as JSON: %s %s\n", text, apierr_code(rc), e.arg);
    FUZZ_CHECK(rc == API_E_OK);
    FUZZ_CHECK(json_equal(tree, again));
    json_decref(again);
    free(text);
}

/* The checked tree as the shape's C struct: every string member equals
 * the tree's (the sizes and layout are what ASan watches). */
static void check_struct(const struct shape *s, json_t *tree)
{
    char *st = input_struct(s, tree);

    FUZZ_CHECK(st != NULL);
    for (size_t i = 0; i < s->nfields; i++) {
        const struct field *f = &s->fields[i];
        const char *v;
        if (f->type != FT_STRING)
            continue;
        memcpy(&v, st + f->offset, sizeof v);
        FUZZ_CHECK(v == json_string_value(json_object_get(tree, f->name)));
    }
    free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    const struct shape *s;
    struct form_param *p;
    size_t np = 0;
    int malformed = -1;
    json_t *tree = NULL;
    struct apierr e = {API_E_OK, ""};
    enum api_err rc;

    if (n == 0)
        return 0;
    s = pick_shape(d[0]);
    d++;
    n--;

    p = form_decode((const char *)d, n, &np, &malformed);
    if (!p) {
        FUZZ_CHECK(np == 0);
        FUZZ_CHECK(malformed == 1); /* no OOM here: NULL means malformed */
        return 0;
    }
    FUZZ_CHECK(malformed == 0);
    FUZZ_CHECK(np <= n);
    for (size_t i = 0; i < np; i++) {
        FUZZ_CHECK(p[i].name != NULL && p[i].value != NULL);
        FUZZ_CHECK(utf8_count(p[i].name, strlen(p[i].name)) >= 0);
        FUZZ_CHECK(utf8_count(p[i].value, strlen(p[i].value)) >= 0);
        FUZZ_CHECK(form_get(p, np, p[i].name) != NULL);
    }

    rc = input_from_form(s, p, np, common_params, &tree, &e);
    if (rc != API_E_OK) {
        check_error(rc, &e, tree);
    } else {
        struct apierr e2 = {API_E_OK, ""};
        FUZZ_CHECK(json_is_object(tree));
        FUZZ_CHECK(input_check(s, tree, &e2) == API_E_OK);
        check_round_trip(s, tree);
        check_struct(s, tree);
        json_decref(tree);
    }

    /* the same params without a skip list: common names become unknown */
    tree = NULL;
    rc = input_from_form(s, p, np, NULL, &tree, &e);
    if (rc != API_E_OK)
        check_error(rc, &e, tree);
    else
        json_decref(tree);

    form_free(p, np);
    return 0;
}
