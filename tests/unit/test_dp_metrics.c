/* test_dp_metrics.c: the data plane's counters (agent/dp_metrics.c): record
 * lines counted by their action and log-status fields in the ENI and CCN
 * formats, packets by action, the table fill, and per sink the deliveries,
 * the newest window (never going back) and the lag at a given time. The
 * whole exposition is checked by promtool on real traffic in
 * tests/live/dataplane_metrics.test.js. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "agent/dp_metrics.h"
#include "flow/flow.h"
#include "flow/flow_key.h"

static char *render(struct buf *b, uint64_t now)
{
    buf_init(b, 0);
    assert_int_equal(dp_metrics_write(b, now), 0);
    assert_int_equal(buf_append(b, "", 1), 0);
    return b->data;
}

static void test_counts(void **state)
{
    struct buf b;
    (void)state;
    assert_false(dp_metrics_active());
    const char *eni =
        "2 123 eni-1 10.0.0.1 10.0.0.2 4000 5000 17 20 2560 1700000000 1700000060 ACCEPT OK\n"
        "2 123 eni-1 10.0.0.1 10.0.0.2 4001 6000 17 7 546 1700000000 1700000060 REJECT OK\n"
        "2 123 eni-1 - - - - - - - 1700000000 1700000060 - NODATA\n"
        "2 123 eni-3 - - - - - - - 1700000000 1700000060 - SKIPDATA\n";
    dp_metrics_records(&flow_format_eni, eni, strlen(eni));
    dp_metrics_records(NULL, "", 0);
    dp_metrics_entry(FLOW_ACCEPT, 20, 2560);
    dp_metrics_entry(FLOW_REJECT, 4, 312);
    dp_metrics_entry(FLOW_REJECT, 3, 234); /* another CPU's copy */
    dp_metrics_skipped(5);
    dp_metrics_window(250, 1000);
    dp_metrics_delivery("files", 1, 4, 1700000060);
    dp_metrics_delivery("files", 1, 1, 1700000000); /* an older window: the newest stays */
    dp_metrics_delivery("cls", 0, 4, 1700000060);
    dp_metrics_spool("kafka", 4096, 2);
    assert_true(dp_metrics_active());
    char *t = render(&b, 1700000075);
    assert_non_null(strstr(t, "flowlogd_dataplane_records_total{action=\"ACCEPT\",log_status=\"OK\"} 1\n"));
    assert_non_null(strstr(t, "flowlogd_dataplane_records_total{action=\"REJECT\",log_status=\"OK\"} 1\n"));
    assert_non_null(strstr(t, "flowlogd_dataplane_records_total{action=\"-\",log_status=\"NODATA\"} 1\n"));
    assert_non_null(strstr(t, "flowlogd_dataplane_records_total{action=\"-\",log_status=\"SKIPDATA\"} 1\n"));
    assert_non_null(strstr(t, "flowlogd_dataplane_packets_total{action=\"ACCEPT\"} 20\n"));
    assert_non_null(strstr(t, "flowlogd_dataplane_packets_total{action=\"REJECT\"} 7\n"));
    assert_non_null(strstr(t, "flowlogd_dataplane_bytes_total{action=\"REJECT\"} 546\n"));
    assert_non_null(strstr(t, "flowlogd_dataplane_skipped_packets_total 5\n"));
    assert_non_null(strstr(t, "flowlogd_dataplane_windows_total 1\n"));
    assert_non_null(strstr(t, "flowlogd_dataplane_table_fill_ratio 0.250000\n"));
    assert_non_null(strstr(t, "flowlogd_sink_windows_total{sink=\"files\",result=\"ok\"} 2\n"));
    assert_non_null(strstr(t, "flowlogd_sink_windows_total{sink=\"cls\",result=\"failed\"} 1\n"));
    assert_non_null(strstr(t, "flowlogd_sink_records_total{sink=\"files\"} 5\n"));
    assert_non_null(strstr(t, "flowlogd_sink_last_delivered_window_end_seconds{sink=\"files\"} 1700000060\n"));
    assert_non_null(strstr(t, "flowlogd_sink_delivery_lag_seconds{sink=\"files\"} 15\n"));
    /* no window delivered to cls yet: no lag line for it */
    assert_null(strstr(t, "flowlogd_sink_delivery_lag_seconds{sink=\"cls\"}"));
    assert_non_null(strstr(t, "flowlogd_sink_spool_bytes{sink=\"kafka\"} 4096\n"));
    assert_non_null(strstr(t, "flowlogd_sink_spool_windows{sink=\"kafka\"} 2\n"));
    buf_free(&b);
}

static void test_ccn_format(void **state)
{
    struct buf b;
    (void)state;
    /* the CCN line has its action and log-status elsewhere: found by the format */
    char line[FLOW_RECORD_MAX * 2];
    int n = 0, fa = -1, fs = -1;
    for (int i = 0; i < flow_format_ccn.n; i++) {
        if (flow_format_ccn.field[i] == FF_ACTION)
            fa = i;
        if (flow_format_ccn.field[i] == FF_LOG_STATUS)
            fs = i;
    }
    assert_true(fa >= 0 && fs >= 0);
    for (int i = 0; i < flow_format_ccn.n; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%s%s", i ? " " : "",
                      i == fa ? "REJECT" : i == fs ? "OK" : "x");
    line[n++] = '\n';
    dp_metrics_records(&flow_format_ccn, line, (size_t)n);
    char *t = render(&b, 0);
    assert_non_null(strstr(t, "flowlogd_dataplane_records_total{action=\"REJECT\",log_status=\"OK\"} 2\n"));
    buf_free(&b);
}

static void test_many_sinks(void **state)
{
    struct buf b;
    char name[16];
    (void)state;
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "s%d", i);
        dp_metrics_delivery(name, 1, 1, 10);
    }
    char *t = render(&b, 20);
    assert_non_null(strstr(t, "flowlogd_sink_windows_total{sink=\"other\",result=\"ok\"}"));
    assert_null(strstr(t, "sink=\"s39\""));
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_ccn_format),
        cmocka_unit_test(test_many_sinks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
