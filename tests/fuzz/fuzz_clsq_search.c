/* fuzz_clsq_search.c: the CLS search syntax (src/cls/clsq_search.c via
 * clsq_parse), in CQL and Lucene.
 *
 * Input: byte 0 bit 0 picks the syntax (0 Lucene, 1 CQL); the rest is the
 * query text (any bytes, NULs included).
 *
 * Invariants:
 *  - clsq_parse returns 0 with a query or -1 with none; an error has a CLS
 *    code (SyntaxError or QueryError), an offset within the query (or at its
 *    end) and a NUL-terminated message naming that offset.
 *  - a parsed query matches the same logs twice (no state), and every hint
 *    it gives holds for each log it matches: the hint's word is in the
 *    hinted key's value (or any value), ignoring case.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "cls/clsq.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static const char *const keys[] = {"action", "dstport", "srcaddr", "bytes", "msg", "interface-id"};
static const char *const vals_a[] = {"REJECT", "22", "10.0.1.5", "1500", "GET /online/login HTTP/1.1", "eni-abc"};
static const char *const vals_b[] = {"ACCEPT", "443", "fe80::1", "-", "a:b \"c\" d*e?f\\g", ""};

static bool hint_holds(const struct clsq_hint *h, const struct clsq_log *l)
{
    for (size_t f = 0; f < l->n; f++) {
        if (h->key && strcmp(h->key, l->keys[f]) != 0) continue;
        for (size_t o = 0; o + h->vlen <= l->vlens[f]; o++)
            if (strncasecmp(l->vals[f] + o, h->value, h->vlen) == 0) return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n == 0) return 0;
    enum clsq_syntax syn = (d[0] & 1) ? CLSQ_CQL : CLSQ_LUCENE;
    const char *q = (const char *)d + 1;
    size_t len = n - 1;
    struct clsq *cq = (struct clsq *)0x1;
    struct clsq_err e;
    memset(&e, 0x55, sizeof e);
    if (clsq_parse(q, len, syn, &cq, &e) != 0) {
        FUZZ_CHECK(cq == NULL);
        FUZZ_CHECK(e.code && (strcmp(e.code, CLSQ_E_SYNTAX) == 0 || strcmp(e.code, CLSQ_E_QUERY) == 0));
        FUZZ_CHECK(e.offset <= len || e.offset == 12288);
        FUZZ_CHECK(memchr(e.message, '\0', sizeof e.message) != NULL);
        FUZZ_CHECK(strstr(e.message, "offset") != NULL);
        return 0;
    }
    FUZZ_CHECK(cq != NULL);
    size_t vl_a[6], vl_b[6];
    for (size_t i = 0; i < 6; i++) { vl_a[i] = strlen(vals_a[i]); vl_b[i] = strlen(vals_b[i]); }
    struct clsq_log logs[3] = {
        {.time_ms = 1, .n = 6, .keys = keys, .vals = vals_a, .vlens = vl_a},
        {.time_ms = 2, .n = 6, .keys = keys, .vals = vals_b, .vlens = vl_b},
        {.time_ms = 3, .n = 0, .keys = keys, .vals = vals_a, .vlens = vl_a},
    };
    struct clsq_hint h[16];
    size_t nh = clsq_hints(cq, h, 16);
    FUZZ_CHECK(nh <= 16);
    for (size_t i = 0; i < nh; i++) FUZZ_CHECK(h[i].value != NULL && h[i].vlen > 0);
    for (size_t k = 0; k < 3; k++) {
        bool m = clsq_match(cq, &logs[k]);
        FUZZ_CHECK(m == clsq_match(cq, &logs[k]));
        if (m)
            for (size_t i = 0; i < nh; i++) FUZZ_CHECK(hint_holds(&h[i], &logs[k]));
    }
    clsq_free(cq);
    return 0;
}
