/* kmock: librdkafka's mock cluster as a test broker. Starts a cluster,
 * creates the topics given, prints "BOOTSTRAP host:port,..." and takes
 * commands on standard input, one a line, each answered on standard output:
 *   down all|ID        take a broker (or every broker) down   -> OK
 *   up all|ID          bring it back                          -> OK
 *   rtt all|ID MS      answer that broker's requests MS ms late -> OK
 *   count TOPIC        messages in the topic (sum of high watermarks) -> COUNT n
 *   consume TOPIC N MS every message from the beginning, until N or MS
 *                      milliseconds: "MSG partition offset key<TAB>value"
 *                      lines, then "END n"
 *   quit
 * usage: kmock [--brokers N] [--topic NAME:PARTITIONS]... */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static rd_kafka_mock_cluster_t *mc;
static int nbrokers = 3;
static char bootstraps[1024];

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static rd_kafka_t *client(rd_kafka_type_t type)
{
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", bootstraps, err, sizeof err) ||
        (type == RD_KAFKA_CONSUMER &&
         (rd_kafka_conf_set(c, "group.id", "kmock", err, sizeof err) ||
          rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof err) ||
          rd_kafka_conf_set(c, "enable.partition.eof", "false", err, sizeof err)))) {
        fprintf(stderr, "kmock: %s\n", err);
        exit(1);
    }
    rd_kafka_t *rk = rd_kafka_new(type, c, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "kmock: %s\n", err);
        exit(1);
    }
    return rk;
}

/* The topic's partitions, or -1. */
static int partitions(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md;
    int n = -1;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && !md->topics[0].err)
            n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return n;
}

static void count(const char *topic)
{
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER);
    int np = partitions(rk, topic);
    long long total = 0;
    for (int p = 0; p < np; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000) == 0)
            total += hi;
        else
            total = -1;
        if (total < 0)
            break;
    }
    printf("COUNT %lld\n", np < 0 ? -1 : total);
    rd_kafka_destroy(rk);
}

static void consume(const char *topic, long want, long ms)
{
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER);
    int np = partitions(rk, topic);
    long got = 0;
    if (np > 0) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
        for (int p = 0; p < np; p++)
            rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk, l);
        rd_kafka_topic_partition_list_destroy(l);
        long long until = now_ms() + ms;
        while (got < want && now_ms() < until) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
            if (!m)
                continue;
            if (!m->err) {
                printf("MSG %d %lld %.*s\t%.*s\n", (int)m->partition, (long long)m->offset,
                       (int)m->key_len, m->key ? (const char *)m->key : "", (int)m->len,
                       m->payload ? (const char *)m->payload : "");
                got++;
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
    }
    printf("END %ld\n", got);
    rd_kafka_destroy(rk);
}

static void updown(const char *which, int up, long rtt)
{
    for (int b = 1; b <= nbrokers; b++)
        if (strcmp(which, "all") == 0 || atoi(which) == b) {
            if (rtt >= 0)
                rd_kafka_mock_broker_set_rtt(mc, b, (int)rtt);
            else if (up)
                rd_kafka_mock_broker_set_up(mc, b);
            else
                rd_kafka_mock_broker_set_down(mc, b);
        }
    printf("OK\n");
}

int main(int argc, char **argv)
{
    char err[512];
    const char *topics[32];
    int ntopics = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc)
            nbrokers = atoi(argv[++i]);
        else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc && ntopics < 32)
            topics[ntopics++] = argv[++i];
        else {
            fprintf(stderr, "usage: kmock [--brokers N] [--topic NAME:PARTITIONS]...\n");
            return 2;
        }
    }
    if (nbrokers < 1 || nbrokers > 16) {
        fprintf(stderr, "kmock: --brokers 1..16\n");
        return 2;
    }
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_t *owner = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    if (!owner || !(mc = rd_kafka_mock_cluster_new(owner, nbrokers))) {
        fprintf(stderr, "kmock: cannot start the mock cluster: %s\n", owner ? "" : err);
        return 1;
    }
    for (int i = 0; i < ntopics; i++) {
        char name[256];
        snprintf(name, sizeof name, "%s", topics[i]);
        char *colon = strrchr(name, ':');
        int np = colon ? atoi(colon + 1) : 4;
        if (colon)
            *colon = '\0';
        int rf = nbrokers < 3 ? nbrokers : 3;
        if (rd_kafka_mock_topic_create(mc, name, np > 0 ? np : 4, rf)) {
            fprintf(stderr, "kmock: cannot create topic %s\n", name);
            return 1;
        }
    }
    snprintf(bootstraps, sizeof bootstraps, "%s", rd_kafka_mock_cluster_bootstraps(mc));
    printf("BOOTSTRAP %s\n", bootstraps);
    fflush(stdout);
    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        char cmd[32] = "", a[256] = "";
        long n = 0, ms = 0;
        int k = sscanf(line, "%31s %255s %ld %ld", cmd, a, &n, &ms);
        if (k >= 2 && strcmp(cmd, "down") == 0)
            updown(a, 0, -1);
        else if (k >= 2 && strcmp(cmd, "up") == 0)
            updown(a, 1, -1);
        else if (k >= 3 && strcmp(cmd, "rtt") == 0 && n >= 0)
            updown(a, 1, n);
        else if (k >= 2 && strcmp(cmd, "count") == 0)
            count(a);
        else if (k == 4 && strcmp(cmd, "consume") == 0)
            consume(a, n, ms);
        else if (k >= 1 && strcmp(cmd, "quit") == 0)
            break;
        else
            printf("ERR unknown command\n");
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(owner);
    return 0;
}
