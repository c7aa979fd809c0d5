/* fuzz_authorization.c: the TC3 Authorization header parser.
 *
 * Input: the header value (a C string: it stops at the first NUL, as a
 * header value does).
 *
 * Invariants:
 *  - a failure leaves a non-empty, NUL-terminated reason;
 *  - a success has every field NUL-terminated within its array, a
 *    1..128-byte printable SecretId, a YYYY-MM-DD date, a service of
 *    [a-z0-9-:[]]+ (':' '[' ']' for the Node SDK's "localhost:PORT"), SignedHeaders that include content-type and host, and a
 *    signature of 64 lower-case hex digits;
 *  - a success re-serialised in the SDK's exact layout parses to the same
 *    fields (nothing the parser accepted depended on the layout).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static int service_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == ':' ||
              *s == '[' || *s == ']'))
            return 0;
    return 1;
}

static int date_ok(const char *s)
{
    if (strlen(s) != 10)
        return 0;
    for (int i = 0; i < 10; i++)
        if ((i == 4 || i == 7) ? s[i] != '-' : !(s[i] >= '0' && s[i] <= '9'))
            return 0;
    return 1;
}

static int has_name(const char *list, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = list; p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL)
        if (strncmp(p, name, nl) == 0 && (p[nl] == ';' || p[nl] == '\0'))
            return 1;
    return 0;
}

static void check_fields(const struct tc3_auth *a)
{
    FUZZ_CHECK(fuzz_terminated(a->secret_id, sizeof a->secret_id));
    FUZZ_CHECK(fuzz_terminated(a->date, sizeof a->date));
    FUZZ_CHECK(fuzz_terminated(a->service, sizeof a->service));
    FUZZ_CHECK(fuzz_terminated(a->signed_headers, sizeof a->signed_headers));
    FUZZ_CHECK(fuzz_terminated(a->signature, sizeof a->signature));

    FUZZ_CHECK(a->secret_id[0] != '\0');
    for (const char *p = a->secret_id; *p; p++)
        FUZZ_CHECK(*p >= 0x21 && *p <= 0x7e);
    FUZZ_CHECK(date_ok(a->date));
    FUZZ_CHECK(service_ok(a->service));
    FUZZ_CHECK(has_name(a->signed_headers, "content-type"));
    FUZZ_CHECK(has_name(a->signed_headers, "host"));
    FUZZ_CHECK(strlen(a->signature) == 64 && fuzz_is_lower_hex(a->signature, 64));
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    char *value = fuzz_cstr(d, n);
    struct tc3_auth a, b;
    char why[128], again[1024];
    int k;

    memset(why, 'x', sizeof why);
    if (tc3_parse_authorization(value, &a, why, sizeof why) != 0) {
        FUZZ_CHECK(fuzz_terminated(why, sizeof why));
        FUZZ_CHECK(why[0] != '\0');
        free(value);
        return 0;
    }
    check_fields(&a);

    k = snprintf(again, sizeof again,
                 "TC3-HMAC-SHA256 Credential=%s/%s/%s/tc3_request, SignedHeaders=%s, "
                 "Signature=%s",
                 a.secret_id, a.date, a.service, a.signed_headers, a.signature);
    FUZZ_CHECK(k > 0 && (size_t)k < sizeof again);
    FUZZ_CHECK(tc3_parse_authorization(again, &b, why, sizeof why) == 0);
    FUZZ_CHECK(memcmp(&a, &b, sizeof a) == 0); /* both were memset by the parser */

    /* NULL and an absent reason buffer are handled */
    FUZZ_CHECK(tc3_parse_authorization(NULL, &b, NULL, 0) == -1);
    free(value);
    return 0;
}
