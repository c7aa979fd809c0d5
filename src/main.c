/* main.c: one binary, one table of subcommands. */
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "cli/cli.h"
#include "server/server.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"serve", server_main, "run the API service"},
    {"account", cli_account, "create an account with a key pair"},
    {"key", cli_key, "create a key pair for an account"},
    {"inventory", cli_inventory, "import an account's resources, or bind one to a host"},
    {"agent-key", cli_agent_key, "create, list or delete a capture agent's key"},
    {"reset", cli_reset, "delete every account, or one, with all of its state"},
    {"state", cli_state, "export or import the whole state as one JSON document"},
    {"backup", cli_backup, "copy a SQLite data directory's database (online)"},
    {"call", cli_call, "call the API, signed with TC3-HMAC-SHA256"},
    {"check", cli_check, "check the integrity of a data directory"},
    {"replay", cli_replay, "flow-log records from a capture file"},
    {"records", cli_records, "print a flow log's records (files sink)"},
    {"kafka-send", cli_kafka_send, "send what a Kafka sink's spool holds"},
    {"flowlog", cli_flowlog, "set or show a flow log's record format (admin)"},
    {"capture", agent_capture_main, "capture devices' flows in the kernel (by hand)"},
    {"agent", agent_main, "the data plane's agent of a host (asks the control plane)"},
    {"cert", cli_cert, "make a local CA and a server certificate for HTTPS"},
    {"migrate", cli_migrate, "copy a SQLite data directory into PostgreSQL"},
};

static void usage(FILE *f)
{
    fputs("usage: flowlogd COMMAND [options]   (flowlogd COMMAND --help for details)\n"
          "       flowlogd --version\n\n", f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("flowlogd %s\n", FLOWLOGD_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "flowlogd: unknown command %s\n", argv[1]);
    usage(stderr);
    return 2;
}
