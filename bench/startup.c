/* startup.c: `flowlogd-bench startup`: time from spawning `flowlogd serve`
 * to its first successful DescribeFlowLogs answer.
 *
 * The clock starts just before fork(). The parent then polls: connect to
 * the port (refused until the server listens), send one TC3-signed
 * DescribeFlowLogs of the data set's first account, read the answer; the
 * clock stops at the first answer carrying TotalNum. Then SIGTERM and wait.
 * Repeated --runs times; prints each and the median.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "base/buf.h"
#include "bench.h"

static const char usage[] =
    "usage: flowlogd-bench startup --server PATH --data DIR [--runs 5] [--timeout 30]\n"
    "\n"
    "Spawns `PATH serve --listen 127.0.0.1:PORT --data DIR --quiet` (a free port) and\n"
    "measures the time to the first successful DescribeFlowLogs answer, --runs times.\n"
    "DIR must come from `flowlogd-bench setup`.\n";

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* One request on a fresh connection. 1 = a successful answer, 0 = not yet. */
static int try_once(int port, const struct bench_set *set)
{
    struct sockaddr_in a;
    char host[64], ts[24], req[4096], resp[65536];
    struct auth_header hdrs[2];
    struct tc3_request tr;
    struct buf auth;
    const char *body = "{\"Limit\":10}";
    size_t got = 0;
    int fd, n, ok = 0;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return 0;
    }
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    hdrs[0] = (struct auth_header){"Content-Type", "application/json"};
    hdrs[1] = (struct auth_header){"Host", host};
    tr = (struct tc3_request){"POST", "", hdrs, 2, body, strlen(body), 0};
    buf_init(&auth, 0);
    if (tc3_authorization(&tr, set->acc[0].secret_id, set->acc[0].secret_key, "127", ts,
                          "content-type;host", &auth) != 0)
        goto done;
    n = snprintf(req, sizeof req,
                 "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                 "X-TC-Action: DescribeFlowLogs\r\nX-TC-Region: %s\r\nX-TC-Timestamp: %s\r\n"
                 "X-TC-Version: 2017-03-12\r\nAuthorization: %s\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n%s",
                 host, set->region, ts, auth.data, strlen(body), body);
    if (n < 0 || (size_t)n >= sizeof req || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        goto done;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t k;
        if (poll(&p, 1, 5000) <= 0)
            break;
        k = recv(fd, resp + got, sizeof resp - 1 - got, 0);
        if (k <= 0)
            break;
        got += (size_t)k;
        resp[got] = '\0';
        if (strstr(resp, "\"TotalNum\"")) {
            ok = 1;
            break;
        }
        if (got == sizeof resp - 1)
            break;
    }
done:
    buf_free(&auth);
    close(fd);
    return ok;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int bench_startup_main(int argc, char **argv)
{
    const char *server = NULL, *data = NULL, *runs_s = NULL, *timeout_s = NULL;
    const struct bopt opts[] = {{"server", &server, NULL},
                                {"data", &data, NULL},
                                {"runs", &runs_s, NULL},
                                {"timeout", &timeout_s, NULL},
                                {NULL, NULL, NULL}};
    struct bench_set set;
    uint64_t runs, timeout, times[64];
    int rc = 1;
    unsigned done = 0;

    if (bopt_parse(argc, argv, opts, usage) != 0)
        return 2;
    if (!server || !data) {
        fputs(usage, stderr);
        return 2;
    }
    if (bopt_u64("runs", runs_s, 5, &runs) || bopt_u64("timeout", timeout_s, 30, &timeout))
        return 2;
    if (runs == 0 || runs > 64)
        runs = 5;
    if (bench_set_load(data, &set) != 0)
        return 1;

    for (unsigned r = 0; r < runs; r++) {
        int port = free_port(), status;
        char listen[64];
        uint64_t t0, t1 = 0;
        pid_t pid;

        if (port < 0)
            break;
        snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
        t0 = bench_now_us();
        pid = fork();
        if (pid < 0)
            break;
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            if (devnull >= 0) {
                dup2(devnull, 1);
                dup2(devnull, 2);
            }
            execl(server, server, "serve", "--listen", listen, "--data", data, "--quiet",
                  (char *)NULL);
            _exit(127);
        }
        while (bench_now_us() - t0 < timeout * 1000000u) {
            if (try_once(port, &set)) {
                t1 = bench_now_us();
                break;
            }
            if (waitpid(pid, &status, WNOHANG) == pid) {
                pid = -1;
                break;
            }
            usleep(200);
        }
        if (pid > 0) {
            kill(pid, SIGTERM);
            waitpid(pid, &status, 0);
        }
        if (!t1) {
            fprintf(stderr, "flowlogd-bench: run %u: no answer within %llu s\n", r + 1,
                    (unsigned long long)timeout);
            break;
        }
        times[done++] = t1 - t0;
        printf("  run %u: first answer after %.1f ms\n", r + 1, (double)(t1 - t0) / 1000.0);
    }
    if (done == runs) {
        qsort(times, done, sizeof times[0], cmp_u64);
        printf("{\"bench\":\"startup\",\"runs\":%u,\"median_ms\":%.1f,\"min_ms\":%.1f,"
               "\"max_ms\":%.1f}\n",
               done, (double)times[done / 2] / 1000.0, (double)times[0] / 1000.0,
               (double)times[done - 1] / 1000.0);
        rc = 0;
    }
    bench_set_free(&set);
    return rc;
}
