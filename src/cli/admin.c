/* admin.c: account, key and inventory subcommands on a data directory. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/state.h"
#include "base/opts.h"
#include "base/util.h"
#include "cli/cli.h"
#include "store/sqlite/sqlite.h"

static const char account_synopsis[] =
    "usage: flowlogd account create (--data DIR | --store URL) [--flowlog-quota N]\n"
    "                               [--secret-id ID --secret-key KEY] [--uin UIN] [--app-id N]\n"
    "\n"
    "Creates an account (AppId, Uin) with one key pair that may call every\n"
    "action, and prints {\"AppId\":...,\"Uin\":\"...\",\"SecretId\":\"...\",\"SecretKey\":\"...\"}.\n"
    "The key pair, Uin and AppId are drawn at random unless given (known credentials for CI).\n";

static const struct opt account_opts[] = {
    OPT_DATA_OR_STORE,
    {"flowlog-quota", OPT_UINT, "N", OPT_NUM(STORE_DEFAULT_FLOWLOG_QUOTA), 0, 1000000, 0,
     "flow logs the account may have per region"},
    {"secret-id", OPT_STR, "ID", NULL, 0, 0, 0, "the key's SecretId (with --secret-key)"},
    {"secret-key", OPT_STR, "KEY", NULL, 0, 0, 0, "the key's SecretKey"},
    {"uin", OPT_STR, "UIN", NULL, 0, 0, 0, "the account's Uin (digits)"},
    {"app-id", OPT_UINT, "N", NULL, 1, 9999999999999ull, 0, "the account's AppId"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

static const char key_synopsis[] =
    "usage: flowlogd key create (--data DIR | --store URL) --uin UIN [--actions A,B,...]\n"
    "                           [--temporary [--duration SECONDS]]\n"
    "\n"
    "Creates a key pair for the account UIN and prints {\"SecretId\":...,\"SecretKey\":...}.\n"
    "A temporary key, as STS issues them, prints {\"TmpSecretId\",\"TmpSecretKey\",\"Token\",\n"
    "\"ExpiredTime\"}; requests signed with it must carry the token (X-TC-Token) and are\n"
    "refused after ExpiredTime.\n";

static const struct opt key_opts[] = {
    OPT_DATA_OR_STORE,
    {"uin", OPT_STR, "UIN", NULL, 0, 0, 1, "the account"},
    {"actions", OPT_STR, "A,B", NULL, 0, 0, 0,
     "the key may call only these actions (default: every action)"},
    {"temporary", OPT_FLAG, NULL, NULL, 0, 0, 0, "a temporary key"},
    {"duration", OPT_UINT, "S", "1800", 1, 43200, 0,
     "a temporary key's lifetime in seconds"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

static const char inventory_synopsis[] =
    "usage: flowlogd inventory import (--data DIR | --store URL) --uin UIN FILE\n"
    "       flowlogd inventory bind (--data DIR | --store URL) --uin UIN RESOURCE-ID\n"
    "                               [--host H] --device D [--netns N]\n"
    "\n"
    "import: loads the account's resources (VPCs, subnets, instances, ENIs, CCNs, NAT\n"
    "gateways, direct connect gateways, CLS topics, CKafka instances) from a\n"
    "JSON file. Importing is idempotent; a bad file is rejected whole with a\n"
    "message naming the entry, and nothing is imported.\n"
    "bind: says where the traffic of an ENI, NAT gateway, direct connect gateway or\n"
    "CCN crosses a host: device D (in network namespace N) of host H (default: this\n"
    "host's name). The data plane's agent on H captures it. --device '' unbinds.\n";

static const struct opt inventory_opts[] = {
    OPT_DATA_OR_STORE,
    {"uin", OPT_STR, "UIN", NULL, 0, 0, 1, "the account"},
    {"host", OPT_STR, "H", NULL, 0, 0, 0, "bind: the host (default: this host's name)"},
    {"device", OPT_STR, "D", NULL, 0, 0, 0, "bind: the device on the host"},
    {"netns", OPT_STR, "N", NULL, 0, 0, 0, "bind: the device's network namespace"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

/* Prints an admin document's answer: the body on stdout (200), else its
 * message on stderr. Returns the exit code. */
static int print_answer(struct admin_answer a, const char *what)
{
    int rc = 1;
    if (a.status == 200) {
        char *s = json_dumps(a.body, JSON_COMPACT);
        if (s && puts(s) >= 0 && fflush(stdout) == 0)
            rc = 0;
        free(s);
    } else {
        json_t *m = json_object_get(json_object_get(a.body, "Error"), "Message");
        fprintf(stderr, "flowlogd: %s: %s\n", what, m ? json_string_value(m) : "failed");
    }
    json_decref(a.body);
    return rc;
}

/* `inventory bind`: through the admin API's document, so both check alike */
static int inventory_bind(const struct opts *o)
{
    const char *dev = opts_get(o, "device");
    if (o->npos != 2 || !dev) {
        opts_usage(stderr, inventory_opts, inventory_synopsis);
        return 2;
    }
    struct store *st = cli_open_store(o);
    if (!st)
        return 1;
    json_t *in = json_pack("{s:s,s:s,s:s}", "Uin", opts_get(o, "uin"), "ResourceId", o->pos[1],
                           "HostDevice", dev);
    if (in && opts_get(o, "host"))
        json_object_set_new(in, "Host", json_string(opts_get(o, "host")));
    if (in && opts_get(o, "netns"))
        json_object_set_new(in, "HostNetns", json_string(opts_get(o, "netns")));
    int rc = in ? print_answer(admin_inventory_bind(st, in), "inventory bind") : 1;
    json_decref(in);
    store_close(st);
    return rc;
}

static const char agent_key_synopsis[] =
    "usage: flowlogd agent-key create (--data DIR | --store URL) [--host H]\n"
    "       flowlogd agent-key list (--data DIR | --store URL)\n"
    "       flowlogd agent-key delete (--data DIR | --store URL) SECRET-ID\n"
    "\n"
    "Keys of the data plane's capture agents (flowlogd agent --key-file): no tenant's,\n"
    "good for no API action, only for the control plane's /agent/v1/assignments.\n"
    "create prints {\"SecretId\",\"SecretKey\",\"Host\",\"CreatedTime\"}; with --host\n"
    "the key may ask only for that host's assignments. list prints no secret.\n";

static const struct opt agent_key_opts[] = {
    OPT_DATA_OR_STORE,
    {"host", OPT_STR, "H", NULL, 0, 0, 0, "create: the only host the key may ask for"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

int cli_agent_key(int argc, char **argv)
{
    struct opts o;
    struct store *st;
    struct admin_answer a;
    json_t *in;
    if (opts_parse(&o, argc, argv, agent_key_opts, agent_key_synopsis) != 0)
        return o.help ? 0 : 2;
    const char *cmd = o.npos ? o.pos[0] : "";
    int create = strcmp(cmd, "create") == 0 && o.npos == 1;
    int list = strcmp(cmd, "list") == 0 && o.npos == 1;
    int del = strcmp(cmd, "delete") == 0 && o.npos == 2;
    if (!create && !list && !del) {
        opts_usage(stderr, agent_key_opts, agent_key_synopsis);
        return 2;
    }
    if (!(st = cli_open_store(&o)))
        return 1;
    in = create ? (opts_get(&o, "host") ? json_pack("{s:s}", "Host", opts_get(&o, "host"))
                                        : json_object())
         : del  ? json_pack("{s:s}", "SecretId", o.pos[1])
                : NULL;
    if ((create || del) && !in)
        a = admin_fail(500, "InternalError", "out of memory");
    else
        a = create ? admin_agent_key_create(st, in)
            : del  ? admin_agent_key_delete(st, in)
                   : admin_agent_key_list(st);
    int rc = print_answer(a, cmd);
    json_decref(in);
    store_close(st);
    return rc;
}

int cli_args(struct opts *o, int argc, char **argv, const struct opt *table,
             const char *synopsis, const char *word, int min_pos, int max_pos, int *exit_code)
{
    if (opts_parse(o, argc, argv, table, synopsis) != 0) {
        *exit_code = o->help ? 0 : 2;
        return 0;
    }
    if (o->npos < min_pos || o->npos > max_pos ||
        (word && (o->npos < 1 || strcmp(o->pos[0], word) != 0))) {
        opts_usage(stderr, table, synopsis);
        *exit_code = 2;
        return 0;
    }
    return 1;
}

/* The store named by --data DIR (SQLite) or --store URL (PostgreSQL):
 * exactly one of them; NULL (message printed) otherwise. A SQLite store is
 * opened with the plain engine: the admin commands run beside a live server,
 * and a short-lived command needs neither the tuned engine's VFS nor its
 * checkpointer and reaper threads. */
struct store *cli_open_store(const struct opts *o)
{
    struct serr se = {{0}};
    const char *dir = opts_get(o, "data"), *url = opts_get(o, "store");
    struct store *st;
    if (!dir == !url) {
        fputs("flowlogd: give exactly one of --data DIR (SQLite) and --store URL (PostgreSQL)\n",
              stderr);
        return NULL;
    }
    if (url && !store_is_pg_url(url)) {
        fputs("flowlogd: --store wants a postgresql:// URL (--data DIR for SQLite)\n", stderr);
        return NULL;
    }
    st = url ? store_open_pg(url, &se) : store_open_sqlite_engine(dir, "plain", &se);
    if (!st && url)
        fprintf(stderr, "flowlogd: cannot open the PostgreSQL store: %s\n", se.msg);
    else if (!st)
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
    struct account acc, want;
    struct key_info key;
    struct serr se = {{0}};
    uint64_t quota;
    const char *sid, *skey, *uin;
    int rc = 1, src;

    if (!cli_args(&o, argc, argv, account_opts, account_synopsis, "create", 1, 1, &rc))
        return rc;
    quota = opts_uint(&o, "flowlog-quota");
    sid = opts_get(&o, "secret-id");
    skey = opts_get(&o, "secret-key");
    uin = opts_get(&o, "uin");
    if (!sid != !skey || (sid && (!*sid || !*skey || strlen(sid) >= sizeof key.secret_id ||
                                  strlen(skey) >= sizeof key.secret_key))) {
        fputs("flowlogd: --secret-id and --secret-key go together (each at most 63 bytes)\n",
              stderr);
        return 2;
    }
    if (uin && (!*uin || strlen(uin) > 20 || strspn(uin, "0123456789") != strlen(uin))) {
        fputs("flowlogd: --uin wants 1 to 20 digits\n", stderr);
        return 2;
    }
    memset(&want, 0, sizeof want);
    want.flowlog_quota = (uint32_t)quota;
    if (uin)
        snprintf(want.uin, sizeof want.uin, "%s", uin);
    if (opts_get(&o, "app-id"))
        want.app_id = opts_uint(&o, "app-id");
    if (!(st = cli_open_store(&o)))
        return 1;
    if (sid || uin || want.app_id) {
        src = store_account_put(st, &want, sid, skey, &acc, &se);
        if (src == STORE_OK && sid) {
            snprintf(key.secret_id, sizeof key.secret_id, "%s", sid);
            snprintf(key.secret_key, sizeof key.secret_key, "%s", skey);
        } else if (src == STORE_OK) {
            src = store_key_create(st, acc.uin, NULL, &key, &se);
        }
    } else if ((src = store_account_create(st, (uint32_t)quota, &acc, &se)) == STORE_OK) {
        src = store_key_create(st, acc.uin, NULL, &key, &se);
    }
    if (src != STORE_OK) {
        fprintf(stderr, "flowlogd: cannot create the account: %s%s\n",
                src == STORE_EXISTS ? "taken: " : "", se.msg);
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

    int temporary;
    uint64_t duration;
    int64_t expires = 0;

    if (!cli_args(&o, argc, argv, key_opts, key_synopsis, "create", 1, 1, &rc))
        return rc;
    temporary = opts_get(&o, "temporary") != NULL;
    if (opts_get(&o, "duration") && !temporary) {
        fputs("flowlogd: --duration goes with --temporary\n", stderr);
        return 2;
    }
    duration = opts_uint(&o, "duration");
    if (!(st = cli_open_store(&o)))
        return 1;
    if (temporary) {
        expires = (int64_t)(now_ms() / 1000) + (int64_t)duration;
        src = store_key_create_temporary(st, opts_get(&o, "uin"), opts_get(&o, "actions"), expires,
                                         &key, &se);
    } else {
        src = store_key_create(st, opts_get(&o, "uin"), opts_get(&o, "actions"), &key, &se);
    }
    if (src == STORE_NOTFOUND)
        fprintf(stderr, "flowlogd: no account with Uin %s\n", opts_get(&o, "uin"));
    else if (src != STORE_OK)
        fprintf(stderr, "flowlogd: cannot create the key: %s\n", se.msg);
    else if (temporary)
        rc = print_json(json_pack("{s:s,s:s,s:s,s:I}", "TmpSecretId", key.secret_id,
                                  "TmpSecretKey", key.secret_key, "Token", key.token,
                                  "ExpiredTime", (json_int_t)key.expires));
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

    if (opts_parse(&o, argc, argv, inventory_opts, inventory_synopsis) != 0)
        return o.help ? 0 : 2;
    if (o.npos >= 1 && strcmp(o.pos[0], "bind") == 0)
        return inventory_bind(&o);
    if (o.npos != 2 || strcmp(o.pos[0], "import") != 0) {
        opts_usage(stderr, inventory_opts, inventory_synopsis);
        return 2;
    }
    if (!(text = read_file(o.pos[1], &len))) {
        fprintf(stderr, "flowlogd: cannot read %s: %s\n", o.pos[1], strerror(errno));
        return 1;
    }
    if (!(st = cli_open_store(&o)))
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

static const char check_synopsis[] =
    "usage: flowlogd check (--data DIR | --store URL)\n"
    "\n"
    "Runs the store's integrity check (page structure, indexes, references) and\n"
    "prints \"ok\", or the first problem and exits 1. Safe while a server runs.\n";

static const struct opt check_opts[] = {
    OPT_DATA_OR_STORE,
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

int cli_check(int argc, char **argv)
{
    struct opts o;
    struct store *st;
    struct serr se = {{0}};
    int rc;

    if (!cli_args(&o, argc, argv, check_opts, check_synopsis, NULL, 0, 0, &rc))
        return rc;
    if (!(st = cli_open_store(&o)))
        return 1;
    rc = store_integrity_check(st, &se);
    if (rc == STORE_OK)
        puts("ok");
    else
        printf("integrity check failed: %s\n", se.msg);
    store_close(st);
    return rc == STORE_OK ? 0 : 1;
}
