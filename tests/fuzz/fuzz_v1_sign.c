/* fuzz_v1_sign.c: the v1 (HmacSHA1 / HmacSHA256) string to sign and
 * signature.
 *
 * Input, split at NUL bytes:
 *   host \0 secret-key \0 (name \0 value \0)* [last name]
 * A part count that leaves a name without a value gives that name no value
 * (NULL), which v1_string_to_sign prints as empty. Up to 200 parameters, so
 * the sort runs past the 64-entry stack array into the malloc'd one.
 *
 * Invariants, for method GET and POST and for both signature methods:
 *  - v1_string_to_sign succeeds and produces exactly
 *    METHOD + host + "/?" + the parameters other than "Signature", sorted
 *    by name (byte order, stable), as "k=v" joined by "&" (the length is
 *    checked exactly and the names are checked to be in order);
 *  - the signature is base64 of 20 (SHA-1) or 32 (SHA-256) bytes:
 *    28 or 44 characters of the base64 alphabet, and deterministic.
 */
#include <stdint.h>
#include <string.h>

#include "auth/auth.h"
#include "base/buf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

#define MAX_PARTS 64
#define MAX_PARAMS 200

static int is_b64(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '='))
            return 0;
    }
    return 1;
}

/* Expected length of the string to sign. */
static size_t expected_len(const char *method, const char *host, const struct auth_param *ps,
                           size_t np)
{
    size_t len = strlen(method) + strlen(host) + 2, m = 0;
    for (size_t i = 0; i < np; i++) {
        if (!ps[i].name || strcmp(ps[i].name, "Signature") == 0)
            continue;
        len += (m++ ? 1 : 0) + strlen(ps[i].name) + 1 + (ps[i].value ? strlen(ps[i].value) : 0);
    }
    return len;
}

static void check_signature(const char *method, const char *key, const struct buf *sts)
{
    char sig[64], again[64];
    size_t want = method && strcmp(method, "HmacSHA256") == 0 ? 44 : 28;

    memset(sig, 'x', sizeof sig);
    v1_signature(method, key, sts->data, sts->len, sig);
    FUZZ_CHECK(fuzz_terminated(sig, sizeof sig));
    FUZZ_CHECK(strlen(sig) == want && is_b64(sig, want));
    v1_signature(method, key, sts->data, sts->len, again);
    FUZZ_CHECK(strcmp(sig, again) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    static struct auth_param ps[MAX_PARAMS];
    static const char *const methods[] = {"GET", "POST"};
    struct fuzz_parts p;
    const char *host, *key;
    size_t np = 0;

    if (fuzz_split(d, n, MAX_PARTS, &p) != 0)
        return 0;
    host = fuzz_part(&p, 0, "127.0.0.1:45175");
    key = fuzz_part(&p, 1, "example-secret");
    for (size_t i = 2; i < p.n; i += 2) {
        ps[np].name = p.s[i];
        ps[np].value = i + 1 < p.n ? p.s[i + 1] : NULL;
        np++;
    }
    /* repeat the parameters to pass 64 when the input asks for it (a
     * first name starting with '*'), so the malloc'd sort path runs too */
    if (np > 0 && ps[0].name[0] == '*') {
        size_t orig = np;
        for (; np < MAX_PARAMS; np++)
            ps[np] = ps[np % orig];
    }

    for (int m = 0; m < 2; m++) {
        struct buf sts;
        const char *prev = NULL;
        size_t pos;

        buf_init(&sts, 0);
        FUZZ_CHECK(v1_string_to_sign(methods[m], host, ps, np, &sts) == 0);
        FUZZ_CHECK(sts.len == expected_len(methods[m], host, ps, np));
        FUZZ_CHECK(memcmp(sts.data, methods[m], strlen(methods[m])) == 0);
        pos = strlen(methods[m]);
        FUZZ_CHECK(memcmp(sts.data + pos, host, strlen(host)) == 0);
        pos += strlen(host);
        FUZZ_CHECK(memcmp(sts.data + pos, "/?", 2) == 0);

        /* names in byte order: re-derive each from the sorted params */
        {
            const struct auth_param *sorted[MAX_PARAMS];
            size_t m2 = 0;
            for (size_t i = 0; i < np; i++)
                if (strcmp(ps[i].name, "Signature") != 0)
                    sorted[m2++] = &ps[i];
            /* every name of the output appears in order: check by walking
             * the output with the known lengths of a stable sort */
            for (size_t i = 1; i < m2; i++) /* insertion sort, stable */
                for (size_t j = i; j > 0 && strcmp(sorted[j - 1]->name, sorted[j]->name) > 0; j--) {
                    const struct auth_param *t = sorted[j];
                    sorted[j] = sorted[j - 1];
                    sorted[j - 1] = t;
                }
            pos += 2;
            for (size_t i = 0; i < m2; i++) {
                size_t nl = strlen(sorted[i]->name);
                const char *v = sorted[i]->value ? sorted[i]->value : "";
                size_t vl = strlen(v);
                if (i) {
                    FUZZ_CHECK(sts.data[pos] == '&');
                    pos++;
                }
                FUZZ_CHECK(memcmp(sts.data + pos, sorted[i]->name, nl) == 0);
                pos += nl;
                FUZZ_CHECK(sts.data[pos] == '=');
                pos++;
                FUZZ_CHECK(memcmp(sts.data + pos, v, vl) == 0);
                pos += vl;
                if (prev)
                    FUZZ_CHECK(strcmp(prev, sorted[i]->name) <= 0);
                prev = sorted[i]->name;
            }
            FUZZ_CHECK(pos == sts.len);
        }

        check_signature("HmacSHA1", key, &sts);
        check_signature("HmacSHA256", key, &sts);
        check_signature(NULL, key, &sts);
        buf_free(&sts);
    }
    fuzz_parts_free(&p);
    return 0;
}
