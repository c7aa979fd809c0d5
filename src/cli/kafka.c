/* kafka.c: `flowlogd kafka-send`, delivers what a Kafka sink's spool holds
 * (windows left by a process that stopped before Kafka took them). */
#include <stdio.h>

#include "base/opts.h"
#include "cli/cli.h"
#include "sink/sink.h"

static const char kafka_send_synopsis[] =
    "usage: flowlogd kafka-send --spool DIR [--timeout S]\n"
    "Sends every window waiting in the Kafka sink's spool DIR to the topic and brokers\n"
    "it was spooled for, and exits once the spool is empty.\n"
    "Exit status: 0 all sent; 1 windows left after --timeout (they stay spooled) or an\n"
    "error; 2 usage.\n";

static const struct opt kafka_send_opts[] = {
    {"spool", OPT_STR, "DIR", NULL, 0, 0, 1, "the spool directory"},
    {"timeout", OPT_UINT, "S", "0", 0, 86400, 0, "seconds to wait (0: as long as it takes)"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

int cli_kafka_send(int argc, char **argv)
{
    struct opts o;
    char err[512];
    if (opts_parse(&o, argc, argv, kafka_send_opts, kafka_send_synopsis) != 0)
        return o.help ? 0 : 2;
    if (o.npos != 0) {
        opts_usage(stderr, kafka_send_opts, kafka_send_synopsis);
        return 2;
    }
    struct sink_kafka_opts ko = {.spool_dir = opts_get(&o, "spool"), .linger_ms = -1};
    struct sink *s = sink_kafka_open(&ko, err, sizeof err);
    if (!s) {
        fprintf(stderr, "flowlogd kafka-send: %s\n", err);
        return 1;
    }
    uint64_t t = opts_uint(&o, "timeout");
    int left = sink_kafka_drain(s, t ? (int)(t * 1000) : -1);
    struct sink_kafka_stats ks;
    sink_kafka_stats(s, &ks);
    fprintf(stderr,
            "kafka-send: %llu windows sent (%llu records), %llu resent, %llu still spooled, "
            "%llu .bad files kept\n",
            (unsigned long long)ks.windows_sent, (unsigned long long)ks.records_sent,
            (unsigned long long)ks.resends, (unsigned long long)ks.spool_files,
            (unsigned long long)ks.spool_bad);
    sink_close(s);
    return left ? 1 : 0;
}
