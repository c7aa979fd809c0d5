/* migrate.c: `flowlogd migrate --from DIR --to postgresql://...`. */
#include <stdio.h>
#include <string.h>

#include "base/opts.h"
#include "cli/cli.h"
#include "store/pg/pg.h"

static const char migrate_synopsis[] =
    "usage: flowlogd migrate --from DIR --to postgresql://...\n"
    "\n"
    "Copies a SQLite data directory (accounts, keys, inventory, flow logs and\n"
    "their tags, the cls logsets, topics and logs) into an empty PostgreSQL store, in one transaction: all of it\n"
    "or nothing. Stop the server on DIR first (what it writes after the copy\n"
    "began is not copied). Prints the counts copied and the check's \"ok\".\n";

static const struct opt migrate_opts[] = {
    {"from", OPT_STR, "DIR", NULL, 0, 0, 1, "the SQLite data directory"},
    {"to", OPT_STR, "URL", NULL, 0, 0, 1, "the PostgreSQL store, postgresql://..."},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

int cli_migrate(int argc, char **argv)
{
    struct opts o;
    struct pg_migrate_stats st;
    struct serr se = {{0}};
    const char *from, *to;

    if (opts_parse(&o, argc, argv, migrate_opts, migrate_synopsis) != 0)
        return o.help ? 0 : 2;
    from = opts_get(&o, "from");
    to = opts_get(&o, "to");
    if (o.npos) {
        opts_usage(stderr, migrate_opts, migrate_synopsis);
        return 2;
    }
    if (!store_is_pg_url(to)) {
        fputs("flowlogd: --to wants a postgresql:// URL\n", stderr);
        return 2;
    }
    if (store_pg_migrate_from_sqlite(from, to, &st, &se) != STORE_OK) {
        fprintf(stderr, "flowlogd: migrate failed, nothing was copied: %s\n", se.msg);
        return 1;
    }
    printf("{\"Accounts\":%llu,\"Keys\":%llu,\"Resources\":%llu,\"FlowLogs\":%llu,"
           "\"FlowLogTags\":%llu,\"HostBindings\":%llu,\"AgentKeys\":%llu,\"ClsLogsets\":%llu,"
           "\"ClsTopics\":%llu,\"ClsLogs\":%llu,\"ClsBatches\":%llu,\"Check\":\"ok\"}\n",
           (unsigned long long)st.rows[0], (unsigned long long)st.rows[1],
           (unsigned long long)st.rows[2], (unsigned long long)st.rows[3],
           (unsigned long long)st.rows[4], (unsigned long long)st.rows[5],
           (unsigned long long)st.rows[6], (unsigned long long)st.rows[7],
           (unsigned long long)st.rows[8], (unsigned long long)st.rows[9],
           (unsigned long long)st.rows[10]);
    return 0;
}
