/* test_sink.c: the files sink: one durable file per flow log and window,
 * no temporary files left, a second write of a window kept beside the first
 * (never overwritten), reads in window order with since/until bounds, bad
 * ids refused; and the record writer feeding it. */
#include <dirent.h>
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

#include "flow/flow.h"
#include "sink/sink.h"

static char root[256];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/flowlogd-sink-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

/* Reads everything sink_files_read writes for the bounds. */
static char *read_back(const char *dir, const char *id, uint64_t since, uint64_t until,
                       long *nwin)
{
    char path[300];
    snprintf(path, sizeof path, "%s/out.txt", root);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    char err[256] = "";
    *nwin = sink_files_read(dir, id, since, until, fd, err, sizeof err);
    off_t n = lseek(fd, 0, SEEK_END);
    char *s = calloc(1, (size_t)n + 1);
    assert_int_equal(pread(fd, s, (size_t)n, 0), n);
    close(fd);
    unlink(path);
    return s;
}

static struct sink_window win(const char *id, uint64_t start, const char *text)
{
    struct sink_window w = {.flowlog_id = id, .win_start = start, .win_end = start + 60,
                            .records = text, .len = strlen(text), .nrecords = 1};
    return w;
}

static void test_write_and_read(void **state)
{
    (void)state;
    char dir[300], err[256];
    snprintf(dir, sizeof dir, "%s/records", root);
    struct sink *s = sink_files_open(dir, err, sizeof err);
    assert_non_null(s);
    assert_string_equal(s->name, "files");
    struct sink_window w;
    /* written out of order: read back in window order */
    w = win("fl-abc12345", 120, "c\n");
    assert_int_equal(sink_write(s, &w, err, sizeof err), 0);
    w = win("fl-abc12345", 0, "a\n");
    assert_int_equal(sink_write(s, &w, err, sizeof err), 0);
    w = win("fl-abc12345", 60, "b\n");
    assert_int_equal(sink_write(s, &w, err, sizeof err), 0);
    w = win("fl-other000", 60, "other\n");
    assert_int_equal(sink_write(s, &w, err, sizeof err), 0);
    long n;
    char *got = read_back(dir, "fl-abc12345", 0, UINT64_MAX, &n);
    assert_int_equal(n, 3);
    assert_string_equal(got, "a\nb\nc\n");
    free(got);
    /* bounds: windows overlapping [since, until) */
    got = read_back(dir, "fl-abc12345", 60, 120, &n);
    assert_int_equal(n, 1);
    assert_string_equal(got, "b\n");
    free(got);
    got = read_back(dir, "fl-abc12345", 59, 121, &n);
    assert_int_equal(n, 3);
    free(got);
    got = read_back(dir, "fl-abc12345", 1000, UINT64_MAX, &n);
    assert_int_equal(n, 0);
    assert_string_equal(got, "");
    free(got);
    /* the same window again: kept beside the first, never replaced */
    w = win("fl-abc12345", 60, "b again\n");
    assert_int_equal(sink_write(s, &w, err, sizeof err), 0);
    got = read_back(dir, "fl-abc12345", 60, 120, &n);
    assert_int_equal(n, 2);
    assert_string_equal(got, "b\nb again\n");
    free(got);
    /* no temporary file is left behind */
    char fdir[400];
    snprintf(fdir, sizeof fdir, "%s/fl-abc12345", dir);
    DIR *d = opendir(fdir);
    assert_non_null(d);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' || (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")))
            files++, assert_true(de->d_name[0] != '.');
    closedir(d);
    assert_int_equal(files, 4);
    /* an empty window (a flow log filtered to nothing) is still a file */
    w = win("fl-abc12345", 180, "");
    assert_int_equal(sink_write(s, &w, err, sizeof err), 0);
    got = read_back(dir, "fl-abc12345", 180, UINT64_MAX, &n);
    assert_int_equal(n, 1);
    free(got);
    /* bad ids */
    w = win("../escape", 0, "x\n");
    assert_int_equal(sink_write(s, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a flow-log id"));
    w = win("", 0, "x\n");
    assert_int_equal(sink_write(s, &w, err, sizeof err), -1);
    got = read_back(dir, "fl-nothere", 0, UINT64_MAX, &n);
    assert_int_equal(n, -1);
    free(got);
    got = read_back(dir, "a/b", 0, UINT64_MAX, &n);
    assert_int_equal(n, -1);
    free(got);
    sink_close(s);
    sink_close(NULL);
}

static void test_writer_to_sink(void **state)
{
    (void)state;
    char dir[300], err[256];
    snprintf(dir, sizeof dir, "%s/w", root);
    struct sink *s = sink_files_open(dir, err, sizeof err);
    assert_non_null(s);
    struct flow_table *t = flow_table_new(8);
    struct flow_key k;
    memset(&k, 0, sizeof k);
    k.family = FLOW_FAMILY_V4;
    k.src[10] = k.src[11] = k.dst[10] = k.dst[11] = 0xff;
    k.src[12] = 10;
    k.dst[12] = 10;
    k.dst[15] = 2;
    k.proto = 17;
    k.sport = 5353;
    k.dport = 53;
    flow_table_add(t, &k, 80, 0, 1700000001000000000ull);
    struct flow_log_desc d;
    memset(&d, 0, sizeof d);
    d.account_id = "1300000001";
    d.resource_id = "eni-00000001";
    d.win_start = 1700000000 - 1700000000 % 60;
    d.win_end = flow_window_end(d.win_start, 60);
    struct buf out;
    buf_init(&out, 0);
    size_t nrec;
    assert_int_equal(flow_write_records(t, &d, &out, &nrec), 0);
    struct sink_window w = {.flowlog_id = "fl-w0000001", .win_start = d.win_start,
                            .win_end = d.win_end, .records = out.data, .len = out.len,
                            .nrecords = nrec};
    assert_int_equal(sink_write(s, &w, err, sizeof err), 0);
    long n;
    char *got = read_back(dir, "fl-w0000001", 0, UINT64_MAX, &n);
    assert_string_equal(got, "2 1300000001 eni-00000001 10.0.0.0 10.0.0.2 5353 53 17 1 80 "
                             "1699999980 1700000040 ACCEPT OK\n");
    free(got);
    buf_free(&out);
    flow_table_free(t);
    sink_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_and_read),
        cmocka_unit_test(test_writer_to_sink),
    };
    return cmocka_run_group_tests_name("sink", tests, setup, teardown);
}
