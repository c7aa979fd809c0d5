/* lifecycle.c: the test-lifecycle subcommands on a data directory or a
 * PostgreSQL store: `reset` and `backup` (the CLI twins of the admin API's
 * routes; `account create --secret-id` is in admin.c). */
#include <stdio.h>
#include <string.h>

#include "base/opts.h"
#include "cli/cli.h"
#include "store/sqlite/sqlite.h"

static const char reset_synopsis[] =
    "usage: flowlogd reset (--data DIR | --store URL) [--uin UIN]\n"
    "\n"
    "Deletes every account (or the account UIN) with its keys, inventory, flow logs\n"
    "and tags, in one durable transaction. Safe while a server runs on the store\n"
    "(its cached credentials are forgotten within a minute; POST /admin/reset at once).\n";

static const struct opt reset_opts[] = {
    OPT_DATA_OR_STORE,
    {"uin", OPT_STR, "UIN", NULL, 0, 0, 0, "only this account"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

int cli_reset(int argc, char **argv)
{
    struct opts o;
    struct store *st;
    struct serr se = {{0}};
    const char *uin;
    int rc;

    if (opts_parse(&o, argc, argv, reset_opts, reset_synopsis) != 0)
        return o.help ? 0 : 2;
    if (o.npos) {
        opts_usage(stderr, reset_opts, reset_synopsis);
        return 2;
    }
    uin = opts_get(&o, "uin");
    if (!(st = cli_open_store(&o)))
        return 1;
    rc = store_reset(st, uin, &se);
    if (rc == STORE_NOTFOUND)
        fprintf(stderr, "flowlogd: no account with Uin %s\n", uin);
    else if (rc != STORE_OK)
        fprintf(stderr, "flowlogd: reset failed, nothing was deleted: %s\n", se.msg);
    else
        printf("reset %s%s\n", uin ? "account " : "everything", uin ? uin : "");
    store_close(st);
    return rc == STORE_OK ? 0 : 1;
}

static const char backup_synopsis[] =
    "usage: flowlogd backup --data DIR --to FILE\n"
    "\n"
    "Copies the SQLite store of DIR into FILE (SQLite's online backup: one consistent\n"
    "snapshot, also while a server writes). FILE is a database on its own (no -wal);\n"
    "put it in an empty directory as flowlogd.db to serve or `check` it. For the\n"
    "PostgreSQL store use pg_dump (docs/DEPLOYMENT.md).\n";

static const struct opt backup_opts[] = {
    {"data", OPT_STR, "DIR", NULL, 0, 0, 1, "the data directory"},
    {"to", OPT_STR, "FILE", NULL, 0, 0, 1, "the copy (replaced atomically)"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

int cli_backup(int argc, char **argv)
{
    struct opts o;
    struct serr se = {{0}};

    if (opts_parse(&o, argc, argv, backup_opts, backup_synopsis) != 0)
        return o.help ? 0 : 2;
    if (o.npos) {
        opts_usage(stderr, backup_opts, backup_synopsis);
        return 2;
    }
    if (store_sqlite_backup(opts_get(&o, "data"), opts_get(&o, "to"), &se) != STORE_OK) {
        fprintf(stderr, "flowlogd: backup failed: %s\n", se.msg);
        return 1;
    }
    printf("backed up %s to %s\n", opts_get(&o, "data"), opts_get(&o, "to"));
    return 0;
}
