/* admin.c: account, key and inventory subcommands on a data directory. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "store/sqlite/sqlite.h"

static const char account_usage[] =
    "usage: flowlogd account create --data DIR [--flowlog-quota N]\n"
    "\n"
    "Creates an account (AppId, Uin) with one key pair that may call every\n"
    "action, and prints {\"AppId\":...,\"Uin\":\"...\",\"SecretId\":\"...\",\"SecretKey\":\"...\"}.\n"
    "  --data DIR          the data directory (created if absent)\n"
    "  --flowlog-quota N   flow logs the account may have per region (default 100)\n";

static const char key_usage[] =
    "usage: flowlogd key create --data DIR --uin UIN [--actions A,B,...]\n"
    "\n"
    "Creates a key pair for the account UIN and prints {\"SecretId\":...,\"SecretKey\":...}.\n"
    "  --actions A,B   the key may call only these actions (default: every action)\n";

static const char inventory_usage[] =
    "usage: flowlogd inventory import --data DIR --uin UIN FILE\n"
    "\n"
    "Loads the account's resources (VPCs, subnets, instances, ENIs, CCNs, NAT\n"
    "gateways, direct connect gateways, CLS topics, CKafka instances) from a\n"
    "JSON file. Importing is idempotent; a bad file is rejected whole with a\n"
    "message naming the entry, and nothing is imported.\n";

/* The admin commands run beside a live server: the plain engine (SQLite's
 * own VFS and checkpoints, no background threads but the writer) is all a
 * short-lived command needs. */
static struct store *open_store(const char *dir)
{
    struct serr se = {{0}};
    struct store *st = store_open_sqlite_engine(dir, "plain", &se);
    if (!st)
        fprintf(stderr, "flowlogd: cannot open data directory %s: %s\n", dir, se.msg);
    return st;
}

static int print_json(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s)
        return 1;
    puts(s);
    free(s);
    return fflush(stdout) == 0 ? 0 : 1;
}

int cli_account(int argc, char **argv)
{
    struct opts o;
    struct store *st;
    struct account acc;
    struct key_info key;
    struct serr se = {{0}};
    uint64_t quota = 0;
    int rc = 1;

    if (opts_parse(&o, argc, argv, "data,flowlog-quota", "", account_usage) != 0)
        return o.help ? 0 : 2;
    if (o.npos != 1 || strcmp(o.pos[0], "create") != 0 || !opts_get(&o, "data")) {
        fputs(account_usage, stderr);
        return 2;
    }
    if (opts_get(&o, "flowlog-quota") &&
        (parse_u64(opts_get(&o, "flowlog-quota"), strlen(opts_get(&o, "flowlog-quota")),
                   &quota) != 0 ||
         quota > 1000000)) {
        fputs("flowlogd: --flowlog-quota must be a number from 0 to 1000000\n", stderr);
        return 2;
    }
    if (!(st = open_store(opts_get(&o, "data"))))
        return 1;
    if (store_account_create(st, (uint32_t)quota, &acc, &se) != STORE_OK ||
        store_key_create(st, acc.uin, NULL, &key, &se) != STORE_OK) {
        fprintf(stderr, "flowlogd: cannot create the account: %s\n", se.msg);
        goto done;
    }
    rc = print_json(json_pack("{s:I,s:s,s:s,s:s}", "AppId", (json_int_t)acc.app_id, "Uin",
                              acc.uin, "SecretId", key.secret_id, "SecretKey", key.secret_key));
done:
    store_close(st);
    return rc;
}

int cli_key(int argc, char **argv)
{
    struct opts o;
    struct store *st;
    struct key_info key;
    struct serr se = {{0}};
    int rc = 1, src;

    if (opts_parse(&o, argc, argv, "data,uin,actions", "", key_usage) != 0)
        return o.help ? 0 : 2;
    if (o.npos != 1 || strcmp(o.pos[0], "create") != 0 || !opts_get(&o, "data") ||
        !opts_get(&o, "uin")) {
        fputs(key_usage, stderr);
        return 2;
    }
    if (!(st = open_store(opts_get(&o, "data"))))
        return 1;
    src = store_key_create(st, opts_get(&o, "uin"), opts_get(&o, "actions"), &key, &se);
    if (src == STORE_NOTFOUND)
        fprintf(stderr, "flowlogd: no account with Uin %s\n", opts_get(&o, "uin"));
    else if (src != STORE_OK)
        fprintf(stderr, "flowlogd: cannot create the key: %s\n", se.msg);
    else
        rc = print_json(json_pack("{s:s,s:s}", "SecretId", key.secret_id, "SecretKey",
                                  key.secret_key));
    store_close(st);
    return rc;
}

/* Reads a whole file into a malloc'd buffer (at most 256 MB). */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t cap = 0, n = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (n == cap) {
            char *p;
            cap = cap ? cap * 2 : 65536;
            if (cap > (256u << 20) || !(p = realloc(data, cap + 1)))
                goto fail;
            data = p;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        goto fail;
    fclose(f);
    data[n] = '\0';
    *len = n;
    return data;
fail:
    fclose(f);
    free(data);
    errno = errno ? errno : EFBIG;
    return NULL;
}

int cli_inventory(int argc, char **argv)
{
    struct opts o;
    struct store *st = NULL;
    struct resource *items = NULL;
    struct serr se = {{0}};
    char err[512];
    size_t len, n;
    char *text = NULL;
    int rc = 1, src;

    if (opts_parse(&o, argc, argv, "data,uin", "", inventory_usage) != 0)
        return o.help ? 0 : 2;
    if (o.npos != 2 || strcmp(o.pos[0], "import") != 0 || !opts_get(&o, "data") ||
        !opts_get(&o, "uin")) {
        fputs(inventory_usage, stderr);
        return 2;
    }
    if (!(text = read_file(o.pos[1], &len))) {
        fprintf(stderr, "flowlogd: cannot read %s: %s\n", o.pos[1], strerror(errno));
        return 1;
    }
    if (!(st = open_store(opts_get(&o, "data"))))
        goto done;
    if (inventory_parse(text, len, st, opts_get(&o, "uin"), &items, &n, err, sizeof err) != 0) {
        fprintf(stderr, "flowlogd: %s: %s (nothing was imported)\n", o.pos[1], err);
        goto done;
    }
    src = store_inventory_import(st, opts_get(&o, "uin"), items, n, &se);
    if (src == STORE_NOTFOUND)
        fprintf(stderr, "flowlogd: no account with Uin %s\n", opts_get(&o, "uin"));
    else if (src != STORE_OK)
        fprintf(stderr, "flowlogd: import failed, nothing was imported: %s\n", se.msg);
    else {
        printf("imported %zu resources\n", n);
        rc = 0;
    }
done:
    free(items);
    free(text);
    store_close(st);
    return rc;
}

static const char check_usage[] =
    "usage: flowlogd check --data DIR\n"
    "\n"
    "Runs the store's integrity check (page structure, indexes, references) and\n"
    "prints \"ok\", or the first problem and exits 1. Safe while a server runs.\n";

int cli_check(int argc, char **argv)
{
    struct opts o;
    struct store *st;
    struct serr se = {{0}};
    int rc;

    if (opts_parse(&o, argc, argv, "data", "", check_usage) != 0)
        return o.help ? 0 : 2;
    if (o.npos || !opts_get(&o, "data")) {
        fputs(check_usage, stderr);
        return 2;
    }
    if (!(st = open_store(opts_get(&o, "data"))))
        return 1;
    rc = store_integrity_check(st, &se);
    if (rc == STORE_OK)
        puts("ok");
    else
        printf("integrity check failed: %s\n", se.msg);
    store_close(st);
    return rc == STORE_OK ? 0 : 1;
}
