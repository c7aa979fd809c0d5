/* fuzz_clsq_sql.c: the CLS SQL subset (src/cls/clsq_sql.c via clsq_parse
 * and the clsq_agg_* calls), run over a few logs with small limits.
 *
 * Input: the text after "* | " (any bytes); the query parsed is
 * "* | " + input, so most inputs reach the SQL parser.
 *
 * Invariants:
 *  - an error has a CLS code, an offset within the query and a message
 *    naming it; a success has an analysis part.
 *  - feeding the logs (one with bytes that are not UTF-8) either succeeds or stops at a limit with a CLS code
 *    (QueryError / SearchTimeout); once stopped, more input and the result
 *    are refused.
 *  - a result is an object whose ColNames, Columns, AnalysisRecords and
 *    AnalysisResults agree: as many columns as names, each record a JSON
 *    object text with at most that many members, as many results as records,
 *    each with one Key/Value per column (bytes that are not UTF-8 included).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cls/clsq.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static const char *const keys[] = {"action", "dstport", "srcaddr", "bytes", "packets"};
static const char *const rows[][5] = {
    {"REJECT", "22", "10.0.1.5", "1500", "3"},
    {"ACCEPT", "443", "10.0.1.6", "-", "9223372036854775807"},
    {"ACCEPT", "22", "10.0.1.5", "1e308", "-9223372036854775808"},
    {"", "x", "", "0", "0.5"},
    {"\xff\xfe", "22", "\xc3", "7", "1"},
};

static bool code_ok(const char *c)
{
    return c && (!strcmp(c, CLSQ_E_SYNTAX) || !strcmp(c, CLSQ_E_QUERY) || !strcmp(c, CLSQ_E_TIMEOUT) ||
                 !strcmp(c, CLSQ_E_LIMIT));
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    char *q = malloc(n + 4);
    if (!q) return 0;
    memcpy(q, "* | ", 4);
    if (n) memcpy(q + 4, d, n);
    struct clsq *cq = NULL;
    struct clsq_err e;
    memset(&e, 0x55, sizeof e);
    if (clsq_parse(q, n + 4, CLSQ_CQL, &cq, &e) != 0) {
        FUZZ_CHECK(cq == NULL);
        FUZZ_CHECK(code_ok(e.code));
        FUZZ_CHECK(e.offset <= n + 4 || e.offset == 12288);
        FUZZ_CHECK(memchr(e.message, '\0', sizeof e.message) != NULL);
        free(q);
        return 0;
    }
    FUZZ_CHECK(clsq_has_analysis(cq));
    struct clsq_limits lim = {.max_groups = 3, .max_memory = 64 << 10, .max_steps = 5000};
    struct clsq_agg *a = clsq_agg_new(cq, &lim, &e);
    FUZZ_CHECK(a != NULL);
    int rc = 0;
    for (int rep = 0; rep < 8 && rc == 0; rep++)
        for (size_t r = 0; r < 5 && rc == 0; r++) {
            size_t vl[5];
            for (size_t k = 0; k < 5; k++) vl[k] = strlen(rows[r][k]);
            struct clsq_log l = {.time_ms = 1700000000000 + rep * 61000 + (int64_t)r, .source = "h",
                                 .n = 5, .keys = keys, .vals = rows[r], .vlens = vl};
            rc = clsq_agg_add(a, &l, &e);
            if (rc != 0) FUZZ_CHECK(code_ok(e.code));
        }
    json_t *res = NULL;
    if (rc != 0) {
        FUZZ_CHECK(clsq_agg_result(a, &res, &e) == -1 && res == NULL);
    } else if (clsq_agg_result(a, &res, &e) == 0) {
        json_t *names = json_object_get(res, "ColNames"), *cols = json_object_get(res, "Columns");
        json_t *recs = json_object_get(res, "AnalysisRecords"), *results = json_object_get(res, "AnalysisResults");
        FUZZ_CHECK(json_is_array(names) && json_is_array(cols) && json_is_array(recs) && json_is_array(results));
        FUZZ_CHECK(json_array_size(names) == json_array_size(cols));
        FUZZ_CHECK(json_array_size(recs) == json_array_size(results));
        for (size_t i = 0; i < json_array_size(recs); i++) {
            const char *t = json_string_value(json_array_get(recs, i));
            FUZZ_CHECK(t != NULL);
            json_t *o = json_loads(t, 0, NULL);
            FUZZ_CHECK(json_is_object(o));
            FUZZ_CHECK(json_object_size(o) <= json_array_size(names));
            FUZZ_CHECK(json_array_size(json_object_get(json_array_get(results, i), "Data")) == json_array_size(names));
            json_decref(o);
        }
        json_decref(res);
    } else {
        FUZZ_CHECK(code_ok(e.code));
    }
    clsq_agg_free(a);
    clsq_free(cq);
    free(q);
    return 0;
}
