/* test_kafka_spool.c: the Kafka sink's on-disk spool: windows read back as
 * written, in order; the bound refuses a window (and force writes the
 * SKIPDATA that replaces it); a truncated, corrupt or foreign file is
 * reported and kept aside as .bad; a reopened spool takes up what an
 * earlier process left (temporary files removed, seq continues); one
 * process owns a directory. And the record -> JSON mapping. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "sink/sink.h"
#include "sink/spool.h"

static char root[256];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/flowlogd-spool-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static const char REC[] = "2 1251762227 eni-00000001 10.0.0.1 10.0.0.2 1024 443 6 5 1152 "
                          "1700000000 1700000060 ACCEPT OK\n"
                          "2 1251762227 eni-00000001 10.0.0.2 10.0.0.1 443 1024 6 4 800 "
                          "1700000000 1700000060 ACCEPT OK\n";

static struct spool_win win(uint64_t start)
{
    struct spool_win w = {.flowlog_id = "fl-00000001", .win_start = start,
                          .win_end = start + 60, .topic = "flowlog",
                          .brokers = "127.0.0.1:9092", .key = "eni-00000001",
                          .fields = SINK_KAFKA_DEFAULT_FIELDS, .nrecords = 2,
                          .records = (char *)REC, .len = sizeof REC - 1};
    return w;
}

static void path_of(char *out, size_t n, const char *dir, uint64_t seq, const char *ext)
{
    snprintf(out, n, "%s/%020llu.%s", dir, (unsigned long long)seq, ext);
}

static void test_roundtrip_and_order(void **state)
{
    (void)state;
    char dir[300], err[512] = "";
    snprintf(dir, sizeof dir, "%s/a/b", root); /* parents made too */
    struct spool *s = spool_open(dir, 1 << 20, err, sizeof err);
    assert_non_null(s);
    uint64_t q1, q2, q3, q;
    struct spool_win w1 = win(1700000000), w2 = win(1700000060);
    assert_int_equal(spool_put(s, &w1, 0, &q1, err, sizeof err), 0);
    assert_int_equal(spool_put(s, &w2, 0, &q2, err, sizeof err), 0);
    assert_int_equal(spool_put(s, &w1, 0, &q3, err, sizeof err), 0);
    assert_true(q1 < q2 && q2 < q3);
    assert_int_equal(spool_next(s, 0, &q), 0);
    assert_int_equal(q, q1);
    assert_int_equal(spool_next(s, q1, &q), 0);
    assert_int_equal(q, q2);
    assert_int_equal(spool_next(s, q3, &q), 1);

    struct spool_win r;
    assert_int_equal(spool_read(s, q2, &r, err, sizeof err), 0);
    assert_string_equal(r.flowlog_id, "fl-00000001");
    assert_string_equal(r.topic, "flowlog");
    assert_string_equal(r.brokers, "127.0.0.1:9092");
    assert_string_equal(r.key, "eni-00000001");
    assert_string_equal(r.fields, SINK_KAFKA_DEFAULT_FIELDS);
    assert_int_equal(r.win_start, 1700000060);
    assert_int_equal(r.win_end, 1700000120);
    assert_int_equal(r.nrecords, 2);
    assert_int_equal(r.len, sizeof REC - 1);
    assert_memory_equal(r.records, REC, sizeof REC - 1);
    spool_win_free(&r);

    struct spool_stats st;
    spool_stats(s, &st);
    assert_int_equal(st.files, 3);
    assert_int_equal(spool_remove(s, q2), 0);
    spool_stats(s, &st);
    assert_int_equal(st.files, 2);
    assert_int_equal(spool_next(s, q1, &q), 0);
    assert_int_equal(q, q3);
    /* no temporary file is left behind */
    char p[400];
    path_of(p, sizeof p, dir, q1, "tmp");
    assert_int_equal(access(p, F_OK), -1);
    spool_close(s);
}

static void test_bound(void **state)
{
    (void)state;
    char dir[300], err[512] = "";
    snprintf(dir, sizeof dir, "%s/bound", root);
    struct spool_win w = win(1700000000);
    /* room for two windows of this size, not three */
    struct spool *s = spool_open(dir, 1 << 20, err, sizeof err);
    assert_non_null(s);
    uint64_t q;
    assert_int_equal(spool_put(s, &w, 0, &q, err, sizeof err), 0);
    struct spool_stats st;
    spool_stats(s, &st);
    uint64_t one = st.bytes;
    spool_close(s);
    s = spool_open(dir, one * 2 + one / 2, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(spool_put(s, &w, 0, &q, err, sizeof err), 0);
    assert_int_equal(spool_put(s, &w, 0, &q, err, sizeof err), 1); /* full: nothing written */
    spool_stats(s, &st);
    assert_int_equal(st.files, 2);
    assert_int_equal(st.bytes, one * 2);
    /* force: the SKIPDATA that stands for a dropped window */
    assert_int_equal(spool_put(s, &w, 1, &q, err, sizeof err), 0);
    spool_stats(s, &st);
    assert_int_equal(st.files, 3);
    /* room again once a window is delivered */
    uint64_t first;
    assert_int_equal(spool_next(s, 0, &first), 0);
    assert_int_equal(spool_remove(s, first), 0);
    assert_int_equal(spool_remove(s, q), 0);
    assert_int_equal(spool_put(s, &w, 0, &q, err, sizeof err), 0);
    spool_close(s);
}

/* Writes a spool, damages its one file with `damage`, reads it back. */
static void damaged(const char *name, void (*damage)(const char *path), const char *want)
{
    char dir[300], err[512] = "", p[400], bad[400];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    struct spool *s = spool_open(dir, 1 << 20, err, sizeof err);
    assert_non_null(s);
    struct spool_win w = win(1700000000), r;
    uint64_t q;
    assert_int_equal(spool_put(s, &w, 0, &q, err, sizeof err), 0);
    path_of(p, sizeof p, dir, q, "win");
    damage(p);
    assert_int_equal(spool_read(s, q, &r, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not say \"%s\"", err, want);
    assert_non_null(strstr(err, ".bad, not sent"));
    /* kept aside for a person, out of the spool */
    path_of(bad, sizeof bad, dir, q, "bad");
    assert_int_equal(access(bad, F_OK), 0);
    assert_int_equal(access(p, F_OK), -1);
    struct spool_stats st;
    spool_stats(s, &st);
    assert_int_equal(st.files, 0);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.bad, 1);
    assert_int_equal(spool_next(s, 0, &q), 1);
    spool_close(s);
    /* a reopened spool counts it and does not take it up */
    s = spool_open(dir, 1 << 20, err, sizeof err);
    assert_non_null(s);
    spool_stats(s, &st);
    assert_int_equal(st.files, 0);
    assert_int_equal(st.bad, 1);
    spool_close(s);
}

static void cut_records(const char *p)
{
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(truncate(p, sb.st_size - 10), 0);
}

static void cut_header(const char *p)
{
    assert_int_equal(truncate(p, 20), 0);
}

static void flip_byte(const char *p)
{
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    char c;
    assert_int_equal(pread(fd, &c, 1, sb.st_size - 5), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, sb.st_size - 5), 1);
    close(fd);
}

static void foreign(const char *p)
{
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("hello, this is not a spool file\n", f);
    fclose(f);
}

static void bad_header(const char *p)
{
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("FLSPOOL1\n{\"flowlog\":1}\nrecords\n", f);
    fclose(f);
}

static void test_truncated(void **state)
{
    (void)state;
    damaged("trunc", cut_records, "truncated: the header says");
}

static void test_truncated_header(void **state)
{
    (void)state;
    damaged("trunch", cut_header, "truncated in its header");
}

static void test_corrupt(void **state)
{
    (void)state;
    damaged("corrupt", flip_byte, "checksum does not match");
}

static void test_foreign(void **state)
{
    (void)state;
    damaged("foreign", foreign, "not a spool file");
}

static void test_bad_header(void **state)
{
    (void)state;
    damaged("badhdr", bad_header, "a bad header");
}

static void test_reopen_and_lock(void **state)
{
    (void)state;
    char dir[300], err[512] = "", p[400];
    snprintf(dir, sizeof dir, "%s/reopen", root);
    struct spool *s = spool_open(dir, 1 << 20, err, sizeof err);
    assert_non_null(s);
    /* one process at a time */
    assert_null(spool_open(dir, 1 << 20, err, sizeof err));
    assert_non_null(strstr(err, "in use"));
    struct spool_win w = win(1700000000);
    uint64_t q1, q2, q;
    assert_int_equal(spool_put(s, &w, 0, &q1, err, sizeof err), 0);
    assert_int_equal(spool_put(s, &w, 0, &q2, err, sizeof err), 0);
    spool_close(s);
    /* a temporary file of a write that never returned */
    path_of(p, sizeof p, dir, q2 + 5, "tmp");
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("FLSPOOL1\n", f);
    fclose(f);
    s = spool_open(dir, 1 << 20, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(access(p, F_OK), -1);
    struct spool_stats st;
    spool_stats(s, &st);
    assert_int_equal(st.files, 2);
    assert_int_equal(spool_next(s, 0, &q), 0);
    assert_int_equal(q, q1);
    assert_int_equal(spool_put(s, &w, 0, &q, err, sizeof err), 0);
    assert_true(q > q2 + 5); /* never reuses a number */
    spool_close(s);
}

static void test_record_json(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    const char *line = "2 1251762227 eni-00000001 - - - - - - - 1700000000 1700000060 - NODATA";
    assert_int_equal(sink_kafka_record_json(&b, SINK_KAFKA_DEFAULT_FIELDS, line, strlen(line),
                                            "fl-1", 1700000000, 7),
                     0);
    buf_append(&b, "", 1);
    assert_string_equal(b.data,
                        "{\"version\":\"2\",\"account-id\":\"1251762227\",\"interface-id\":"
                        "\"eni-00000001\",\"srcaddr\":\"-\",\"dstaddr\":\"-\",\"srcport\":\"-\","
                        "\"dstport\":\"-\",\"protocol\":\"-\",\"packets\":\"-\",\"bytes\":\"-\","
                        "\"start\":\"1700000000\",\"end\":\"1700000060\",\"action\":\"-\","
                        "\"log-status\":\"NODATA\",\"__RECORD_ID__\":\"fl-1:1700000000:7\"}");
    /* escaping */
    buf_reset(&b);
    assert_int_equal(sink_kafka_record_json(&b, "a b", "x\"y \\\x01", 6, "fl", 1, 0), 0);
    buf_append(&b, "", 1);
    assert_string_equal(b.data, "{\"a\":\"x\\\"y\",\"b\":\"\\\\\\u0001\",\"__RECORD_ID__\":"
                                "\"fl:1:0\"}");
    /* one value per field, or refused */
    buf_reset(&b);
    assert_int_equal(sink_kafka_record_json(&b, "a b c", "1 2", 3, "fl", 1, 0), -1);
    assert_int_equal(sink_kafka_record_json(&b, "a", "1 2", 3, "fl", 1, 0), -1);
    assert_int_equal(sink_kafka_record_json(&b, "", "", 0, "fl", 1, 0), -1);
    buf_free(&b);
}

static void test_sink_refuses_bad_windows(void **state)
{
    (void)state;
    char dir[300], err[512] = "";
    snprintf(dir, sizeof dir, "%s/sink", root);
    struct sink_kafka_opts o = {.spool_dir = dir, .linger_ms = -1};
    struct sink *s = sink_kafka_open(&o, err, sizeof err);
    assert_non_null(s);
    struct sink_window w = {.flowlog_id = "fl-1", .win_start = 1, .win_end = 61,
                            .records = REC, .len = sizeof REC - 1, .nrecords = 2};
    /* no destination */
    assert_int_equal(sink_write(s, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "no CKafka topic"));
    /* a line that does not fit the fields: refused before anything is spooled */
    struct sink_dest d = {.ckafka_topic = "t", .ckafka_brokers = "127.0.0.1:1",
                          .fields = "version account-id"};
    w.dest = &d;
    assert_int_equal(sink_write(s, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "not one value per field"));
    struct sink_kafka_stats st;
    sink_kafka_stats(s, &st);
    assert_int_equal(st.spool_files, 0);
    assert_int_equal(st.windows_spooled, 0);
    sink_close(s);
    /* a bad librdkafka setting is refused at open */
    const char *conf[] = {"no.such.setting=1", NULL};
    o.conf = conf;
    assert_null(sink_kafka_open(&o, err, sizeof err));
    assert_non_null(strstr(err, "no.such.setting"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_and_order),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_foreign),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_reopen_and_lock),
        cmocka_unit_test(test_record_json),
        cmocka_unit_test(test_sink_refuses_bad_windows),
    };
    return cmocka_run_group_tests_name("kafka spool", tests, setup, teardown);
}
