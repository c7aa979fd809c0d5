/* test_metrics.c: the API's Prometheus counters (api/metrics.c): answers by
 * service, action and code, cumulative latency buckets, and an unknown
 * action counted as "-". The whole exposition is checked by promtool in
 * tests/integration/admin-metrics (the real server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "api/action.h"
#include "api/metrics.h"
#include "base/apierr.h"

static void test_counts_and_buckets(void **state)
{
    struct api_metrics *m = api_metrics_new();
    const struct action_def *create = action_find("CreateFlowLog", "2017-03-12", &(int){0});
    struct buf b;
    (void)state;
    assert_non_null(m);
    assert_non_null(create);
    api_metrics_count(m, create, API_E_OK, 300);     /* <= 0.0005 s */
    api_metrics_count(m, create, API_E_OK, 7000);    /* <= 0.01 */
    api_metrics_count(m, create, API_E_RATE_LIMITED, 100);
    api_metrics_count(m, NULL, API_E_ACTION_UNKNOWN, 3000000); /* +Inf */
    buf_init(&b, 0);
    assert_int_equal(api_metrics_write(m, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_non_null(strstr(b.data, "# TYPE flowlogd_requests_total counter\n"));
    assert_non_null(strstr(b.data, "flowlogd_requests_total{service=\"vpc\",action=\"CreateFlowLog\",code=\"OK\"} 2\n"));
    assert_non_null(strstr(b.data, "flowlogd_requests_total{service=\"vpc\",action=\"CreateFlowLog\",code=\"RequestLimitExceeded\"} 1\n"));
    assert_non_null(strstr(b.data, "flowlogd_requests_total{service=\"-\",action=\"-\",code=\"InvalidAction\"} 1\n"));
    /* cumulative: 2 answers by 0.0005 s (300 and 100 us), 3 by 0.01 s */
    assert_non_null(strstr(b.data, "flowlogd_request_duration_seconds_bucket{service=\"vpc\",action=\"CreateFlowLog\",le=\"0.0005\"} 2\n"));
    assert_non_null(strstr(b.data, "flowlogd_request_duration_seconds_bucket{service=\"vpc\",action=\"CreateFlowLog\",le=\"0.01\"} 3\n"));
    assert_non_null(strstr(b.data, "flowlogd_request_duration_seconds_bucket{service=\"vpc\",action=\"CreateFlowLog\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(b.data, "flowlogd_request_duration_seconds_count{service=\"vpc\",action=\"CreateFlowLog\"} 3\n"));
    assert_non_null(strstr(b.data, "flowlogd_request_duration_seconds_sum{service=\"vpc\",action=\"CreateFlowLog\"} 0.007400\n"));
    assert_non_null(strstr(b.data, "flowlogd_request_duration_seconds_bucket{service=\"-\",action=\"-\",le=\"2.5\"} 0\n"));
    assert_non_null(strstr(b.data, "flowlogd_request_duration_seconds_bucket{service=\"-\",action=\"-\",le=\"+Inf\"} 1\n"));
    /* actions never called have no series */
    assert_null(strstr(b.data, "DeleteFlowLog"));
    buf_free(&b);
    api_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
