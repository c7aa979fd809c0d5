/* replay.c: `flowlogd replay`, the flow engine over a capture file. */
#define _GNU_SOURCE /* memfd_create */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/opts.h"
#include "base/util.h"
#include "flow/flow.h"
#include "cli/cli.h"
#include "replay/replay.h"
#include "sink/sink.h"

static const char replay_synopsis[] =
    "usage: flowlogd replay --pcap FILE [--capture-window SECONDS] [--format FORMAT]\n"
    "                       [--interface-id ID] [--account-id APPID] [--local CIDR[,CIDR...]]\n"
    "                       [--first-last] [--v1] [--max-flows N] [--stats]\n"
    "                       [--vpc-id ID] [--subnet-id ID] [--instance-id ID] [--region R]\n"
    "                       [--ccn-regions CIDR=REGION,...]\n"
    "                       [--kafka-brokers H:P,... --kafka-topic T [--spool DIR]\n"
    "                        [--spool-max-bytes N] [--flowlog-id ID] [--kafka-timeout S]]\n"
    "Aggregates the capture into flow-log records (one per direction's 5-tuple and\n"
    "epoch-aligned window) and prints them to standard output; with --cls-endpoint,\n"
    "delivers them instead through the CLS sink (UploadLog, one CLS log per record)\n"
    "to the topic, signed with TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY;\n"
    "with --kafka-brokers, produces them to a Kafka topic through the Kafka sink (one\n"
    "JSON object per record; each window is first written to the on-disk spool, then\n"
    "sent) and waits until every window is acknowledged.\n"
    "Exit status: 0; 1 when the capture is truncated or corrupt (reported with its byte\n"
    "offset, after the records read so far) or packets could not be counted, or windows\n"
    "are still in the Kafka spool after --kafka-timeout (a later run with the same\n"
    "--spool, or `flowlogd kafka-send`, sends them); 2 usage.\n";

static const struct opt replay_opts[] = {
    {"pcap", OPT_STR, "FILE", NULL, 0, 0, 1, "the capture file"},
    {"capture-window", OPT_UINT, "S", "300", 1, 600, 0, "window length in seconds"},
    {"format", OPT_STR, "FORMAT", "default", 0, 0, 0,
     "default | ccn | a field list (\"version account-id ... tcp-flags\")"},
    {"interface-id", OPT_STR, "ID", NULL, 0, 0, 0, "the interface-id field"},
    {"account-id", OPT_STR, "APPID", NULL, 0, 0, 0, "the account-id field"},
    {"local", OPT_STR, "CIDR,...", NULL, 0, 0, 0,
     "the interface's networks: packets from them are egress, to them ingress "
     "(flow-direction); without it every packet is egress"},
    {"first-last", OPT_FLAG, NULL, NULL, 0, 0, 0,
     "start/end are the first and last packet, not the window bounds"},
    {"v1", OPT_FLAG, NULL, NULL, 0, 0, 0, "version printed as V1 (as in Tencent's examples)"},
    {"max-flows", OPT_UINT, "N", "1048576", 1, 1u << 28, 0,
     "flows per window the table holds; more are counted as skipped and the window says "
     "SKIPDATA"},
    {"stats", OPT_FLAG, NULL, NULL, 0, 0, 0, "a summary on standard error"},
    {"vpc-id", OPT_STR, "ID", NULL, 0, 0, 0, "the vpc-id field"},
    {"subnet-id", OPT_STR, "ID", NULL, 0, 0, 0, "the subnet-id field"},
    {"instance-id", OPT_STR, "ID", NULL, 0, 0, 0, "the instance-id field"},
    {"region", OPT_STR, "REGION", NULL, 0, 0, 0, "the region and region-id fields"},
    {"ccn-regions", OPT_STR, "CIDR=REGION,...", NULL, 0, 0, 0,
     "a CCN's attached VPC CIDRs and their regions (srcregionid, dstregionid)"},
    {"cls-endpoint", OPT_STR, "URL", NULL, 0, 0, 0,
     "deliver the records to this CLS-compatible endpoint (UploadLog) instead of printing them"},
    {"cls-topic", OPT_STR, "ID", NULL, 0, 0, 0, "the CLS topic to deliver to"},
    {"cls-region", OPT_STR, "REGION", "ap-guangzhou", 0, 0, 0, "the CLS topic's region"},
    {"flowlog-id", OPT_STR, "ID", "fl-replay", 0, 0, 0,
     "the flow log the records belong to (the CLS logs' filename, part of each batch's name; "
     "the Kafka records' __RECORD_ID__)"},
    {"agent-id", OPT_STR, "ID", "replay", 0, 0, 0,
     "names this sender's batches: a batch sent again under the same name is stored once"},
    {"kafka-brokers", OPT_STR, "H:P,...", NULL, 0, 0, 0,
     "produce the records to Kafka at these bootstrap brokers (with --kafka-topic)"},
    {"kafka-topic", OPT_STR, "TOPIC", NULL, 0, 0, 0, "the Kafka topic"},
    {"spool", OPT_STR, "DIR", "flowlogd-spool", 0, 0, 0,
     "the Kafka sink's on-disk spool (windows wait there until Kafka has them)"},
    {"spool-max-bytes", OPT_UINT, "N", "1073741824", 4096,
     UINT64_MAX, 0, "the spool's bound: a window that does not fit is dropped whole and a "
     "SKIPDATA record sent in its place"},
    {"kafka-timeout", OPT_UINT, "S", "0", 0, 86400, 0,
     "seconds to wait for Kafka to take every window (0: as long as it takes)"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

struct kafka_out {
    struct sink *sink;
    struct sink_dest dest;
    const char *flowlog_id;
    char err[512];
};

static int to_kafka(void *ud, uint64_t win_start, uint64_t win_end, const char *records,
                    size_t len, size_t n)
{
    struct kafka_out *k = ud;
    struct sink_window w = {.flowlog_id = k->flowlog_id, .win_start = win_start,
                            .win_end = win_end, .records = records, .len = len,
                            .nrecords = n, .dest = &k->dest};
    return sink_write(k->sink, &w, k->err, sizeof k->err);
}

/* Opens the Kafka sink for --kafka-brokers; 0 (none asked for), 1 open, -1
 * failed (reported). */
static int kafka_setup(struct opts *o, struct kafka_out *k, const struct flow_format *fmt,
                       char *fields, size_t fsz, struct flow_replay_opts *ro)
{
    const char *brokers = opts_get(o, "kafka-brokers"), *topic = opts_get(o, "kafka-topic");
    if (!brokers && !topic)
        return 0;
    if (!brokers || !topic || !*brokers || !*topic) {
        fprintf(stderr, "flowlogd replay: --kafka-brokers and --kafka-topic go together\n");
        return -1;
    }
    size_t off = 0;
    fields[0] = '\0';
    for (size_t i = 0; i < fmt->n; i++)
        off += (size_t)snprintf(fields + off, off < fsz ? fsz - off : 0, "%s%s", i ? " " : "",
                                flow_field_name((enum flow_field)fmt->field[i]));
    if (off >= fsz) {
        fprintf(stderr, "flowlogd replay: the format has too many fields\n");
        return -1;
    }
    struct sink_kafka_opts ko = {.spool_dir = opts_get(o, "spool"),
                                 .spool_max_bytes = opts_uint(o, "spool-max-bytes"),
                                 .linger_ms = -1};
    k->sink = sink_kafka_open(&ko, k->err, sizeof k->err);
    if (!k->sink) {
        fprintf(stderr, "flowlogd replay: %s\n", k->err);
        return -1;
    }
    const char *iface = opts_get(o, "interface-id");
    k->flowlog_id = opts_get(o, "flowlog-id") ? opts_get(o, "flowlog-id")
                    : iface                   ? iface
                                              : "replay";
    k->dest = (struct sink_dest){.storage_type = "ckafka", .ckafka_topic = topic,
                                 .ckafka_brokers = brokers, .resource_id = iface,
                                 .fields = fields};
    ro->window_cb = to_kafka;
    ro->window_ud = k;
    ro->window_err = k->err;
    return 1;
}

/* Waits for the spool to empty; prints what happened. 0, or 1 when windows
 * are left. */
static int kafka_finish(struct opts *o, struct kafka_out *k, int print_stats)
{
    struct sink_kafka_stats ks;
    sink_kafka_stats(k->sink, &ks);
    fprintf(stderr, "replay: %llu windows in the spool %s, sending to Kafka\n",
            (unsigned long long)ks.spool_files, opts_get(o, "spool"));
    uint64_t t = opts_uint(o, "kafka-timeout");
    int left = sink_kafka_drain(k->sink, t ? (int)(t * 1000) : -1);
    sink_kafka_stats(k->sink, &ks);
    if (print_stats || ks.windows_dropped)
        fprintf(stderr,
                "replay: kafka: %llu windows spooled, %llu sent (%llu records), %llu dropped "
                "whole for a full spool (%llu records, a SKIPDATA record each), %llu resent, "
                "%llu still spooled\n",
                (unsigned long long)ks.windows_spooled, (unsigned long long)ks.windows_sent,
                (unsigned long long)ks.records_sent, (unsigned long long)ks.windows_dropped,
                (unsigned long long)ks.records_dropped, (unsigned long long)ks.resends,
                (unsigned long long)ks.spool_files);
    if (left)
        fprintf(stderr,
                "flowlogd replay: %llu windows are still in the spool %s after %llu s; a "
                "later run with the same spool (flowlogd kafka-send --spool %s) sends them\n",
                (unsigned long long)ks.spool_files, opts_get(o, "spool"),
                (unsigned long long)t, opts_get(o, "spool"));
    return left ? 1 : 0;
}


/* Reads the records replay wrote to fd and delivers them window by window
 * (a record's window: its start field rounded down to the window length)
 * through the CLS sink. 0, or -1 with err. */
static int deliver_cls(const struct opts *o, const struct flow_format *fmt, uint32_t window_s,
                       int fd, char *err, size_t errlen)
{
    struct sink_cls_config cfg = {0};
    struct sink_dest dest = {0};
    struct sink *sk;
    char names[1024], host[256] = "";
    size_t at = 0, len = 0, windows = 0, records = 0;
    int start_at = -1, rc = 0;
    char *text = NULL;
    off_t end = lseek(fd, 0, SEEK_END);

    for (unsigned i = 0; i < fmt->n && at < sizeof names; i++) {
        at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", i ? " " : "",
                               flow_field_name((enum flow_field)fmt->field[i]));
        if (fmt->field[i] == FF_START)
            start_at = (int)i;
    }
    cfg.endpoint = opts_get(o, "cls-endpoint");
    cfg.secret_id = getenv("TENCENTCLOUD_SECRET_ID");
    cfg.secret_key = getenv("TENCENTCLOUD_SECRET_KEY");
    cfg.token = getenv("TENCENTCLOUD_SESSION_TOKEN");
    cfg.region = opts_str(o, "cls-region");
    cfg.agent_id = opts_str(o, "agent-id");
    cfg.cacert = getenv("SSL_CERT_FILE") && *getenv("SSL_CERT_FILE") ? getenv("SSL_CERT_FILE") : NULL;
    cfg.retries = 5;
    if (!cfg.secret_id || !cfg.secret_key) {
        snprintf(err, errlen, "the CLS sink needs TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY");
        return -1;
    }
    if (!(sk = sink_cls_open(&cfg, err, errlen)))
        return -1;
    gethostname(host, sizeof host - 1);
    dest.storage_type = "cls";
    dest.cls_topic_id = opts_get(o, "cls-topic");
    dest.cls_region = cfg.region;
    dest.host = host;
    dest.fields = names;
    if (end < 0 || !(text = malloc((size_t)end + 1)) || pread(fd, text, (size_t)end, 0) != end) {
        snprintf(err, errlen, "cannot read back the records");
        rc = -1;
        goto done;
    }
    len = (size_t)end;
    text[len] = '\0';
    /* windows are contiguous runs of lines with the same window */
    for (size_t i = 0; i < len;) {
        size_t j = i, n = 0;
        unsigned long long win = 0;
        for (int first = 1; j < len; first = 0) {
            size_t k = j, f = 0;
            unsigned long long w = 0;
            const char *p = text + j;
            while (k < len && text[k] != '\n')
                k++;
            for (const char *q = p; start_at >= 0 && q < text + k; f++) {
                if ((int)f == start_at) {
                    w = strtoull(q, NULL, 10);
                    break;
                }
                q = memchr(q, ' ', (size_t)(text + k - q));
                if (!q)
                    break;
                q++;
            }
            w = window_s ? w / window_s * window_s : w;
            if (!first && w != win)
                break;
            win = w;
            n++;
            j = k < len ? k + 1 : k;
        }
        {
            struct sink_window sw = {opts_str(o, "flowlog-id"), win, win + window_s, text + i,
                                     j - i, n, &dest};
            if (sink_write(sk, &sw, err, errlen) != 0) {
                rc = -1;
                goto done;
            }
        }
        windows++;
        records += n;
        i = j;
    }
    fprintf(stderr, "replay: %zu records in %zu windows delivered to CLS topic %s\n", records,
            windows, dest.cls_topic_id);
done:
    free(text);
    sink_close(sk);
    return rc;
}

int cli_replay(int argc, char **argv)
{
    struct opts o;
    struct flow_replay_opts ro;
    struct flow_format fmt = flow_format_eni;
    struct flow_replay_stats st;
    char err[512];

    if (opts_parse(&o, argc, argv, replay_opts, replay_synopsis) != 0)
        return o.help ? 0 : 2;
    if (o.npos != 0) {
        opts_usage(stderr, replay_opts, replay_synopsis);
        return 2;
    }
    memset(&ro, 0, sizeof ro);
    ro.path = opts_get(&o, "pcap");
    ro.window_s = (uint32_t)opts_uint(&o, "capture-window");
    ro.max_flows = (size_t)opts_uint(&o, "max-flows");
    if (opts_get(&o, "format") && flow_format_parse(&fmt, opts_get(&o, "format"), err,
                                                    sizeof err) != 0) {
        fprintf(stderr, "flowlogd: --format: %s\n", err);
        return 2;
    }
    const char *local = opts_get(&o, "local");
    while (local && *local) {
        char one[80];
        size_t n = strcspn(local, ",");
        if (n == 0 || n >= sizeof one || ro.nlocal == REPLAY_LOCAL_MAX) {
            fprintf(stderr, "flowlogd: --local: at most %d networks, each a CIDR\n",
                    REPLAY_LOCAL_MAX);
            return 2;
        }
        memcpy(one, local, n);
        one[n] = '\0';
        if (flow_cidr_parse(one, &ro.local[ro.nlocal]) != 0) {
            fprintf(stderr, "flowlogd: --local: '%s' is not a CIDR\n", one);
            return 2;
        }
        ro.nlocal++;
        local += n;
        if (*local == ',')
            local++;
    }
    /* CIDR=REGION pairs, parsed in a copy that the region strings point into */
    static struct flow_region_cidr regions[REPLAY_LOCAL_MAX];
    size_t nregions = 0;
    char *crcopy = opts_get(&o, "ccn-regions") ? strdup(opts_get(&o, "ccn-regions")) : NULL;
    for (char *cr = crcopy; cr && *cr;) {
        size_t n = strcspn(cr, ",");
        char *eq = memchr(cr, '=', n);
        int last = cr[n] == '\0';
        cr[n] = '\0';
        if (!eq || eq == cr || eq[1] == '\0' || nregions == REPLAY_LOCAL_MAX) {
            fprintf(stderr, "flowlogd: --ccn-regions: CIDR=REGION pairs, at most %d\n",
                    REPLAY_LOCAL_MAX);
            free(crcopy);
            return 2;
        }
        *eq = '\0';
        if (flow_cidr_parse(cr, &regions[nregions]) != 0) {
            fprintf(stderr, "flowlogd: --ccn-regions: '%s' is not a CIDR\n", cr);
            free(crcopy);
            return 2;
        }
        regions[nregions++].region = eq + 1;
        cr = last ? cr + n : cr + n + 1;
    }
    ro.desc.regions = regions;
    ro.desc.n_regions = nregions;
    ro.desc.vpc_id = opts_get(&o, "vpc-id");
    ro.desc.subnet_id = opts_get(&o, "subnet-id");
    ro.desc.instance_id = opts_get(&o, "instance-id");
    ro.desc.region = ro.desc.region_id = opts_get(&o, "region");
    ro.desc.format = &fmt;
    ro.desc.account_id = opts_get(&o, "account-id");
    ro.desc.resource_id = opts_get(&o, "interface-id");
    ro.desc.first_last = opts_get(&o, "first-last") != NULL;
    ro.desc.version_v1 = opts_get(&o, "v1") != NULL;

    int out_fd = STDOUT_FILENO;
    const char *cls = opts_get(&o, "cls-endpoint");
    if (cls && !opts_get(&o, "cls-topic")) {
        fputs("flowlogd: --cls-endpoint needs --cls-topic\n", stderr);
        free(crcopy);
        return 2;
    }
    if (cls && (opts_get(&o, "kafka-brokers") || opts_get(&o, "kafka-topic"))) {
        fputs("flowlogd: --cls-endpoint and --kafka-brokers: one destination at a time\n",
              stderr);
        free(crcopy);
        return 2;
    }
    struct kafka_out kout = {0};
    char fields[1024];
    int kafka = kafka_setup(&o, &kout, &fmt, fields, sizeof fields, &ro);
    if (kafka < 0) {
        free(crcopy);
        return 2;
    }
    if (cls && (out_fd = memfd_create("flowlogd-replay", MFD_CLOEXEC)) < 0) {
        perror("flowlogd: memfd_create");
        free(crcopy);
        return 1;
    }
    int rc = flow_replay_pcap(&ro, out_fd, &st, err, sizeof err);
    if (cls && rc == 0)
        rc = deliver_cls(&o, &fmt, ro.window_s, out_fd, err, sizeof err);
    if (cls)
        close(out_fd);
    int kleft = 0;
    if (kafka) {
        if (rc >= 0)
            kleft = kafka_finish(&o, &kout, opts_get(&o, "stats") != NULL);
        sink_close(kout.sink);
    }
    if (opts_get(&o, "stats"))
        fprintf(stderr,
                "replay: %llu packets counted, %llu not IP, %llu late, %llu skipped (table "
                "full), %llu windows, %llu records (writer: %.3f s CPU, %.3f us/record), "
                "table %zu flows\n",
                (unsigned long long)st.packets, (unsigned long long)st.non_ip,
                (unsigned long long)st.late, (unsigned long long)st.skipped,
                (unsigned long long)st.windows, (unsigned long long)st.records,
                (double)st.write_cpu_ns / 1e9,
                st.records ? (double)st.write_cpu_ns / 1e3 / (double)st.records : 0.0,
                ro.max_flows);
    free(crcopy);
    if (rc != 0) {
        fprintf(stderr, "flowlogd replay: %s\n", err);
        return 1;
    }
    if (st.late) {
        fprintf(stderr,
                "flowlogd replay: %llu packets were older than the window being built (the "
                "capture is not in time order) and were not counted\n",
                (unsigned long long)st.late);
        return 1;
    }
    if (st.skipped)
        fprintf(stderr,
                "flowlogd replay: %llu packets found the table full (--max-flows %zu); their "
                "windows say SKIPDATA\n",
                (unsigned long long)st.skipped, ro.max_flows);
    return kleft ? 1 : 0;
}
