/* fuzz_inventory.c: the inventory import file (`flowlogd inventory import`).
 *
 * Input: the file's bytes. No store (st = NULL): references must resolve
 * inside the file.
 *
 * Invariants:
 *  - a failure returns no items and a non-empty, NUL-terminated message;
 *  - a success returns n items (items != NULL iff n > 0), each of a known
 *    kind, with every string field NUL-terminated within its array, a
 *    non-empty id and a known region; ids of the prefixed kinds have their
 *    form; (kind, region, id) is unique; every reference resolves to an
 *    entry of the file (a subnet's and an ENI's VPC, an ENI's subnet in
 *    that same VPC, a NAT's and a DCG's VPC); a CKafka topic follows its
 *    instance.
 */
#include <stdint.h>
#include <string.h>

#include "base/util.h"
#include "cli/cli.h"
#include "fuzz.h"
#include "store/store.h"
#include "validate/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static const struct resource *find(const struct resource *it, size_t n, enum res_kind k,
                                   const char *region, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (it[i].kind == k && strcmp(it[i].region, region) == 0 && strcmp(it[i].id, id) == 0)
            return &it[i];
    return NULL;
}

static const char *prefix_of(enum res_kind k)
{
    switch (k) {
    case RES_VPC: return "vpc";
    case RES_SUBNET: return "subnet";
    case RES_ENI: return "eni";
    case RES_INSTANCE: return "ins";
    case RES_CCN: return "ccn";
    case RES_NAT: return "nat";
    case RES_DCG: return "dcg";
    case RES_CKAFKA: return "ckafka";
    default: return NULL;
    }
}

static void check_item(const struct resource *it, size_t n, size_t i)
{
    const struct resource *r = &it[i], *x;
    const char *pre = prefix_of(r->kind);

    FUZZ_CHECK(r->kind >= RES_VPC && r->kind <= RES_CKAFKA_TOPIC);
    FUZZ_CHECK(fuzz_terminated(r->region, sizeof r->region));
    FUZZ_CHECK(fuzz_terminated(r->id, sizeof r->id));
    FUZZ_CHECK(fuzz_terminated(r->vpc_id, sizeof r->vpc_id));
    FUZZ_CHECK(fuzz_terminated(r->subnet_id, sizeof r->subnet_id));
    FUZZ_CHECK(fuzz_terminated(r->instance_id, sizeof r->instance_id));
    FUZZ_CHECK(fuzz_terminated(r->name, sizeof r->name));
    FUZZ_CHECK(fuzz_terminated(r->cidr, sizeof r->cidr));
    FUZZ_CHECK(fuzz_terminated(r->instance_type, sizeof r->instance_type));
    FUZZ_CHECK(fuzz_terminated(r->edition, sizeof r->edition));
    FUZZ_CHECK(r->id[0] != '\0');
    FUZZ_CHECK(region_known(r->region));
    if (pre)
        FUZZ_CHECK(id_has_form(r->id, pre));
    if (r->kind == RES_CLS_TOPIC)
        FUZZ_CHECK(is_uuid(r->id));

    /* unique */
    for (size_t j = 0; j < i; j++)
        FUZZ_CHECK(!(it[j].kind == r->kind && strcmp(it[j].region, r->region) == 0 &&
                     strcmp(it[j].id, r->id) == 0));

    /* references */
    switch (r->kind) {
    case RES_SUBNET:
    case RES_NAT:
    case RES_DCG:
        FUZZ_CHECK(find(it, n, RES_VPC, r->region, r->vpc_id) != NULL);
        break;
    case RES_ENI:
        FUZZ_CHECK(find(it, n, RES_VPC, r->region, r->vpc_id) != NULL);
        x = find(it, n, RES_SUBNET, r->region, r->subnet_id);
        FUZZ_CHECK(x != NULL);
        FUZZ_CHECK(strcmp(x->vpc_id, r->vpc_id) == 0);
        break;
    case RES_CKAFKA_TOPIC:
        FUZZ_CHECK(i > 0);
        FUZZ_CHECK(it[i - 1].kind == RES_CKAFKA || it[i - 1].kind == RES_CKAFKA_TOPIC);
        FUZZ_CHECK(strncmp(r->id, r->instance_id, strlen(r->instance_id)) == 0);
        FUZZ_CHECK(r->id[strlen(r->instance_id)] == '/');
        FUZZ_CHECK(find(it, n, RES_CKAFKA, r->region, r->instance_id) != NULL);
        break;
    default:
        break;
    }
    if (r->kind == RES_NAT)
        FUZZ_CHECK(r->nat_version == 1 || r->nat_version == 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    struct resource *items = (struct resource *)1;
    size_t ni = 12345;
    char err[256];

    memset(err, 'x', sizeof err);
    if (inventory_parse((const char *)d, n, NULL, "100000000001", &items, &ni, err,
                        sizeof err) != 0) {
        FUZZ_CHECK(items == NULL && ni == 0);
        FUZZ_CHECK(fuzz_terminated(err, sizeof err));
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(ni == 0 || items != NULL);
    for (size_t i = 0; i < ni; i++)
        check_item(items, ni, i);
    free(items);
    return 0;
}
