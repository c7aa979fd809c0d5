/* validate.h: field rules shared by the actions: enums, lengths, id forms,
 * regions and tags. Pure functions; each returns an API error id (API_E_OK
 * when the value passes) and fills `e` with the parameter name. */
#ifndef FLOWLOGD_VALIDATE_VALIDATE_H
#define FLOWLOGD_VALIDATE_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/apierr.h"
#include "store/store.h" /* enum res_kind */

/** True if `r` is one of the regions served (the list in validate.c, in
 * the spec's order; docs/API.md). */
int region_known(const char *r);

/** The i-th region of that list (a fixed order), or NULL past its end. */
const char *region_at(size_t i);

/** Parses a dotted-quad IPv4 address ("10.0.1.5": four decimal octets, no
 * leading zeros) into *addr (host order). 0, or -1 if malformed. */
int ipv4_parse(const char *s, uint32_t *addr);

/** Parses an IPv4 CIDR "a.b.c.d/n" (n 0..32, no host bits set) into *net
 * (host order) and *prefix. 0, or -1 if malformed. */
int cidr_parse(const char *s, uint32_t *net, int *prefix);

/** True if `s` equals one of the NULL-terminated `set`. */
int str_in(const char *s, const char *const *set);

/** API_E_OK if s has at most max characters (code points, not bytes),
 * else VALUE_RANGE for `param`. Invalid UTF-8 is VALUE_MALFORMED. */
enum api_err check_chars(const char *s, long max, const char *param, struct apierr *e);

/** A flow log's ResourceType: its wire name, the inventory kind of the
 * resource it names, and that resource's id prefix. */
struct resource_type {
    const char *type; /* "NETWORKINTERFACE" */
    enum res_kind kind; /* RES_ENI */
    const char *prefix; /* "eni" */
};

/** The ResourceType named `type`, or NULL if there is none. */
const struct resource_type *resource_type_find(const char *type);

/** The ResourceType of inventory kind `kind` (a flow log's stored
 * resource_kind), or NULL if no ResourceType names that kind. */
const struct resource_type *resource_type_of(enum res_kind kind);

/** The i-th ResourceType (the spec's order), or NULL past the last. */
const struct resource_type *resource_type_at(size_t i);

/** The id prefix of a ResourceType ("VPC" -> "vpc", "NETWORKINTERFACE" ->
 * "eni", ...), or NULL if the type is unknown. */
const char *resource_prefix(const char *resource_type);

/** True if `t` is a TrafficType (ACCEPT, REJECT, ALL). */
int traffic_type_known(const char *t);

/** API_E_OK if `id` is `prefix` + "-" + 8 of [0-9a-z], else VALUE_MALFORMED
 * naming `param`. */
enum api_err check_id(const char *id, const char *prefix, const char *param, struct apierr *e);

/** One tag as given. */
struct tag_in {
    const char *key;
    const char *value;
};

/** Checks a whole tag list in the order of the CreateFlowLog rules: more
 * than 50 -> TAG_TOO_MANY; a key twice -> TAG_DUP_KEY; then per tag: key
 * empty or > 127 chars -> TAG_KEY_LEN; reserved prefix (qcloud, tencent,
 * project; any case) -> TAG_RESERVED; characters outside the allowed set ->
 * TAG_KEY / TAG_VAL; value > 255 chars -> TAG_VAL. */
enum api_err check_tags(const struct tag_in *tags, size_t n, struct apierr *e);

/** The character rule alone: letters, digits, space, CJK and
 * + - = . _ : / @ ( ) [ ] （ ） 【 】. 1 if every character passes. */
int tag_text_ok(const char *s);

#endif
