/* fuzz_cls_body.c: UploadLog's body (protobuf LogGroupList, lz4).
 *
 * Input: byte 0 even = plain, odd = lz4; the rest is the body.
 *
 * Invariants: the parser never crashes or leaks; a success has at least
 * one log, every group within CLS_MAX_GROUP_LOGS and every value within
 * CLS_MAX_VALUE, and re-encoding it parses again to the same logs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cls/body.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    struct cls_body b, b2;
    char why[160];
    unsigned char *again;
    size_t len, total = 0;

    if (n < 1)
        return 0;
    if (cls_body_parse(d + 1, n - 1, d[0] & 1 ? "lz4" : NULL, &b, why, sizeof why) != CLS_BODY_OK) {
        FUZZ_CHECK(b.groups == NULL && b.arena == NULL);
        return 0;
    }
    for (size_t g = 0; g < b.ngroups; g++) {
        FUZZ_CHECK(b.groups[g].nlogs <= CLS_MAX_GROUP_LOGS);
        total += b.groups[g].nlogs;
        for (size_t i = 0; i < b.groups[g].nlogs; i++)
            for (size_t k = 0; k < b.groups[g].logs[i].n; k++)
                FUZZ_CHECK(b.groups[g].logs[i].contents[k].vlen <= CLS_MAX_VALUE);
    }
    FUZZ_CHECK(total == b.nlogs && total > 0);
    again = cls_body_encode(b.groups, b.ngroups, d[0] & 1, &len);
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(cls_body_parse(again, len, d[0] & 1 ? "lz4" : NULL, &b2, why, sizeof why) ==
                CLS_BODY_OK);
    FUZZ_CHECK(b2.nlogs == b.nlogs);
    for (size_t g = 0; g < b.ngroups; g++)
        for (size_t i = 0; i < b.groups[g].nlogs; i++) {
            const struct cls_log *x = &b.groups[g].logs[i], *y = &b2.groups[g].logs[i];
            FUZZ_CHECK(x->n == y->n);
            for (size_t k = 0; k < x->n; k++)
                FUZZ_CHECK(strcmp(x->contents[k].key, y->contents[k].key) == 0 &&
                            strcmp(x->contents[k].value, y->contents[k].value) == 0);
        }
    cls_body_free(&b2);
    cls_body_free(&b);
    free(again);
    return 0;
}
