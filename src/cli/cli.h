/* cli.h: the subcommands other than `serve`. They work on a data directory
 * (also while a server runs on it) or, for `call`, on a running server.
 * Never links http/ or server/. */
#ifndef FLOWLOGD_CLI_CLI_H
#define FLOWLOGD_CLI_CLI_H

#include <stddef.h>

#include "store/store.h"

/** `flowlogd account ...`; argv[0] is "account". Returns the exit code. */
int cli_account(int argc, char **argv);

/** `flowlogd key ...`. */
int cli_key(int argc, char **argv);

/** `flowlogd inventory ...`. */
int cli_inventory(int argc, char **argv);

/** `flowlogd check ...`: the store's integrity check. */
int cli_check(int argc, char **argv);

/** `flowlogd call ...`: a TC3-signed client of the API. */
int cli_call(int argc, char **argv);

/** `flowlogd replay ...`: the flow engine over a capture file. */
int cli_replay(int argc, char **argv);

/** `flowlogd records ...`: a flow log's records from the files sink. */
int cli_records(int argc, char **argv);

/** `flowlogd cert ...`: the local CA and server certificate for HTTPS. */
int cli_cert(int argc, char **argv);


/** `flowlogd migrate --from DIR --to postgresql://...` */
int cli_migrate(int argc, char **argv);

/** Parses an inventory file (its format: docs/API.md, Inventory) into a
 * malloc'd array of resources (*items, *n; the caller frees *items).
 * Everything is checked before anything is returned: id forms, known
 * regions, references between entries (a subnet's VPC must be in the file
 * or, when `st` is not NULL, already in the store of `uin`). Returns 0, or
 * -1 with a message naming the entry in err[errlen]. */
int inventory_parse(const char *text, size_t len, struct store *st, const char *uin,
                    struct resource **items, size_t *n, char *err, size_t errlen);


#endif
