/* lifecycle.c: the test-lifecycle subcommands on a data directory or a
 * PostgreSQL store, the CLI twins of the admin API's routes: reset, backup
 * and state export|import (admin/state.c's documents, no HTTP; `account
 * create --secret-id` is in admin.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/state.h"
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

    if (!cli_args(&o, argc, argv, reset_opts, reset_synopsis, NULL, 0, 0, &rc))
        return rc;
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

static const char state_synopsis[] =
    "usage: flowlogd state export (--data DIR | --store URL)\n"
    "       flowlogd state import (--data DIR | --store URL) FILE\n"
    "\n"
    "export prints the whole state (accounts, keys, inventory, flow logs, tags) as one\n"
    "JSON document, from one snapshot; import replaces the whole state with such a\n"
    "document (checked whole first: a bad one changes nothing). The same document as\n"
    "GET and PUT /admin/state. Temporary (STS) keys are not carried.\n";

static const struct opt state_opts[] = {
    OPT_DATA_OR_STORE,
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

int cli_state(int argc, char **argv)
{
    struct opts o;
    struct store *st;
    struct admin_answer a;
    json_error_t je;
    json_t *doc = NULL;
    int export_, rc = 1;

    if (opts_parse(&o, argc, argv, state_opts, state_synopsis) != 0)
        return o.help ? 0 : 2;
    export_ = o.npos == 1 && strcmp(o.pos[0], "export") == 0;
    if (!export_ && !(o.npos == 2 && strcmp(o.pos[0], "import") == 0)) {
        opts_usage(stderr, state_opts, state_synopsis);
        return 2;
    }
    if (!export_ && !(doc = json_load_file(o.pos[1], JSON_REJECT_DUPLICATES, &je))) {
        fprintf(stderr, "flowlogd: %s: line %d: %s\n", o.pos[1], je.line, je.text);
        return 1;
    }
    if (!export_ && !json_is_object(doc)) {
        fprintf(stderr, "flowlogd: %s: not a JSON object\n", o.pos[1]);
        json_decref(doc);
        return 1;
    }
    if (!(st = cli_open_store(&o))) {
        json_decref(doc);
        return 1;
    }
    a = export_ ? admin_state_export(st) : admin_state_import(st, doc);
    if (a.status == 200) {
        char *s = json_dumps(a.body, JSON_COMPACT);
        if (s && puts(s) >= 0 && fflush(stdout) == 0)
            rc = 0;
        free(s);
    } else {
        json_t *m = json_object_get(json_object_get(a.body, "Error"), "Message");
        fprintf(stderr, "flowlogd: state %s failed: %s\n", export_ ? "export" : "import",
                json_is_string(m) ? json_string_value(m) : "(no message)");
    }
    json_decref(a.body);
    json_decref(doc);
    store_close(st);
    return rc;
}
