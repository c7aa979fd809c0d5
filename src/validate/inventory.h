/* inventory.h: the inventory file (its format: docs/API.md, Inventory),
 * parsed and checked as a whole. Shared by `flowlogd inventory import`, the
 * admin API and `serve --init`. */
#ifndef FLOWLOGD_VALIDATE_INVENTORY_H
#define FLOWLOGD_VALIDATE_INVENTORY_H

#include <stddef.h>

#include "store/store.h"

/** Parses an inventory file into a malloc'd array of resources (*items,
 * *n; the caller frees *items). Everything is checked before anything is
 * returned: id forms, known regions, references between entries (a
 * subnet's VPC must be in the file or, when `st` is not NULL, already in the
 * store of `uin`). Returns 0, or -1 with a message naming the entry in
 * err[errlen]. */
int inventory_parse(const char *text, size_t len, struct store *st, const char *uin,
                    struct resource **items, size_t *n, char *err, size_t errlen);

/** Checks a host binding (`inventory bind`, the admin API, the file's
 * Host/HostDevice/HostNetns): a device name of 1 to 15 bytes without '/',
 * ':' or white space, a host name of letters, digits, '-', '_', '.', a
 * namespace without control characters (NULL = none). 0, or -1 with
 * err[errlen]. */
int inventory_check_binding(const char *host, const char *device, const char *netns, char *err,
                            size_t errlen);

/** This host's name (gethostname; "localhost" if it has none): the Host a
 * binding gets when none is given. */
void inventory_local_host(char *out, size_t cap);

#endif
