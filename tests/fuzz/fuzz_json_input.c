/* fuzz_json_input.c: a TC3 JSON body mapped onto an action's input shape.
 *
 * Input: byte 0 picks the action in spec_actions[]; the rest is the body.
 *
 * Invariants:
 *  - an error has a non-empty wire code, an argument that is a
 *    NUL-terminated valid UTF-8 string, and no tree;
 *  - a success is a JSON object that input_check accepts again, and whose
 *    JSON text maps back to an equal tree (the check is idempotent and
 *    independent of how the text was laid out).
 */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "api/input.h"
#include "api/schema_gen.h"
#include "base/apierr.h"
#include "base/util.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    const struct shape *s;
    struct apierr e = {API_E_OK, ""};
    json_t *tree = (json_t *)1; /* must be reset by the callee */
    enum api_err rc;

    if (n == 0)
        return 0;
    s = spec_actions[d[0] % spec_nactions].input;
    d++;
    n--;

    rc = input_from_json(s, (const char *)d, n, &tree, &e);
    if (rc != API_E_OK) {
        FUZZ_CHECK(e.id == rc);
        FUZZ_CHECK(tree == NULL);
        FUZZ_CHECK(apierr_code(rc) != NULL && apierr_code(rc)[0] != '\0');
        FUZZ_CHECK(fuzz_terminated(e.arg, sizeof e.arg));
        FUZZ_CHECK(utf8_count(e.arg, strlen(e.arg)) >= 0);
        return 0;
    }

    FUZZ_CHECK(json_is_object(tree));
    {
        struct apierr e2 = {API_E_OK, ""};
        json_t *again = NULL;
        char *text;

        FUZZ_CHECK(input_check(s, tree, &e2) == API_E_OK);
        text = json_dumps(tree, JSON_COMPACT);
        FUZZ_CHECK(text != NULL);
        FUZZ_CHECK(input_from_json(s, text, strlen(text), &again, &e2) == API_E_OK);
        FUZZ_CHECK(json_equal(tree, again));
        json_decref(again);
        free(text);
        /* the same tree as the action's C struct (ASan watches the block) */
        void *st = input_struct(s, tree);
        FUZZ_CHECK(st != NULL);
        free(st);
    }
    json_decref(tree);
    return 0;
}
