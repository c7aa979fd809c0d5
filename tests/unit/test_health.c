/* test_health.c: /healthz and /readyz answers in each state of the process
 * (admin/health.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "admin/health.h"

static int ask(const char *method, const char *path, struct http_reply *out)
{
    struct http_request req;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = path;
    req.query = "";
    memset(out, 0, sizeof *out);
    return health_reply(&req, out);
}

static void expect(const char *method, const char *path, int status, const char *body)
{
    struct http_reply out;
    assert_int_equal(ask(method, path, &out), 1);
    assert_int_equal(out.status, status);
    if (body) {
        assert_int_equal(out.body_len, strlen(body));
        assert_memory_equal(out.body, body, out.body_len);
    }
    free(out.body);
}

static void test_states(void **state)
{
    (void)state;
    health_set(HEALTH_STARTING);
    expect("GET", "/healthz", 200, "{\"status\":\"ok\"}\n");
    expect("GET", "/readyz", 503, "{\"status\":\"starting\"}\n");
    health_set(HEALTH_READY);
    expect("GET", "/readyz", 200, "{\"status\":\"ready\"}\n");
    expect("HEAD", "/readyz", 200, NULL);
    health_set(HEALTH_STOPPING);
    expect("GET", "/readyz", 503, "{\"status\":\"stopping\"}\n");
    expect("GET", "/healthz", 200, "{\"status\":\"ok\"}\n");
}

/* serve --capture: ready only once the agent has its first assignment, and
 * not ready again if it stops */
static void test_capture_gate(void **state)
{
    (void)state;
    health_set(HEALTH_READY);
    health_capture(HEALTH_CAPTURE_WAITING);
    expect("GET", "/readyz", 503, "{\"status\":\"starting\",\"capture\":\"waiting for the agent\"}\n");
    expect("GET", "/healthz", 200, "{\"status\":\"ok\"}\n");
    health_capture(HEALTH_CAPTURE_CONNECTED);
    expect("GET", "/readyz", 200, "{\"status\":\"ready\"}\n");
    health_capture(HEALTH_CAPTURE_WAITING);
    expect("GET", "/readyz", 503, NULL);
    health_set(HEALTH_STOPPING);
    health_capture(HEALTH_CAPTURE_CONNECTED);
    expect("GET", "/readyz", 503, "{\"status\":\"stopping\"}\n");
    health_capture(HEALTH_CAPTURE_NONE);
}

static void test_other_requests(void **state)
{
    struct http_reply out;
    (void)state;
    expect("POST", "/readyz", 405, NULL);
    expect("DELETE", "/healthz", 405, NULL);
    assert_int_equal(ask("GET", "/", &out), 0);
    assert_int_equal(ask("GET", "/healthz/", &out), 0);
    assert_int_equal(ask("GET", "/ready", &out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_capture_gate),
        cmocka_unit_test(test_other_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
