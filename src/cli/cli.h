/* cli.h: the subcommands other than `serve`. They work on a data directory
 * (also while a server runs on it) or, for `call`, on a running server.
 * Never links http/ or server/. */
#ifndef FLOWLOGD_CLI_CLI_H
#define FLOWLOGD_CLI_CLI_H

#include <stddef.h>

#include "store/store.h"
#include "validate/inventory.h"

/** `flowlogd account ...`; argv[0] is "account". Returns the exit code. */
int cli_account(int argc, char **argv);

/** `flowlogd key ...`. */
int cli_key(int argc, char **argv);

/** `flowlogd inventory ...`. */
int cli_inventory(int argc, char **argv);

/** `flowlogd check ...`: the store's integrity check. */
int cli_check(int argc, char **argv);

/** `flowlogd agent-key create|list|delete`: the capture agents' keys. */
int cli_agent_key(int argc, char **argv);

/** `flowlogd call ...`: a TC3-signed client of the API. */
int cli_call(int argc, char **argv);

/** `flowlogd replay ...`: the flow engine over a capture file. */
int cli_replay(int argc, char **argv);

/** `flowlogd records ...`: a flow log's records from the files sink. */
int cli_records(int argc, char **argv);

/** flowlogd kafka-send: delivers what a Kafka sink spool holds. */
int cli_kafka_send(int argc, char **argv);

/** `flowlogd cert ...`: the local CA and server certificate for HTTPS. */
int cli_cert(int argc, char **argv);


/** `flowlogd migrate --from DIR --to postgresql://...` */
int cli_migrate(int argc, char **argv);

/** `flowlogd reset ...`: delete every account, or one. */
int cli_reset(int argc, char **argv);

/** `flowlogd backup --data DIR --to FILE`: SQLite's online backup. */
int cli_backup(int argc, char **argv);

/** `flowlogd state export|import`: the whole state as one JSON document. */
int cli_state(int argc, char **argv);

/** `flowlogd flowlog format ...`: a flow log's record format (admin). */
int cli_flowlog(int argc, char **argv);

struct opts;
/** The store named by --data DIR (SQLite, plain engine) or --store URL
 * (PostgreSQL), exactly one; NULL after printing why. */
struct store *cli_open_store(const struct opts *o);

/* inventory_parse: validate/inventory.h (shared with the admin API) */

#endif
