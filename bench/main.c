/* main.c: flowlogd-bench subcommands. */
#include <stdio.h>
#include <string.h>

#include "bench.h"

static const char usage[] =
    "usage: flowlogd-bench COMMAND [options]   (COMMAND --help for details)\n"
    "\n"
    "  run      drive a server: epoll, keep-alive connections, TC3-signed requests\n"
    "  setup    populate a data directory through the store API (accounts, keys,\n"
    "           inventory, flow logs) and write DIR/" BENCH_FILE "\n"
    "  startup  spawn `flowlogd serve` and time it to the first DescribeFlowLogs answer\n"
    "  cls-ingest  UploadLog ingest through the CLS sink, in windows of 10,000 records\n";

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return bench_run_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "setup") == 0)
        return bench_setup_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "startup") == 0)
        return bench_startup_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "cls-ingest") == 0)
        return bench_cls_ingest_main(argc - 1, argv + 1);
    fprintf(stderr, "flowlogd-bench: unknown command %s\n%s", argv[1], usage);
    return 2;
}
