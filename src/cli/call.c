/* call.c: `flowlogd call`, a TC3-signed client in the spirit of tccli.
 * Signs exactly as the official SDKs do (content-type;host, the host's
 * first label as the service), prints the Response object, and exits 1 on
 * an API error, 2 on a usage or transport error. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/tc3_post.h"
#include "base/buf.h"
#include "base/opts.h"
#include "cli/cli.h"

static const char call_synopsis[] =
    "usage: flowlogd call --endpoint http://HOST:PORT [--secret-id ID --secret-key KEY]\n"
    "                     [--token T] [--region R] [--version V] [--language en-US]\n"
    "                     ACTION 'JSON'\n"
    "\n"
    "Sends one API call signed with TC3-HMAC-SHA256 and prints the Response\n"
    "object. Exits 0 on success, 1 on an API error, 2 on a usage or network error.\n"
    "--secret-id, --secret-key, --token, --region: when absent, taken from\n"
    "TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY, TENCENTCLOUD_SESSION_TOKEN (or\n"
    "Terraform's TENCENTCLOUD_SECURITY_TOKEN) and TENCENTCLOUD_REGION, as the SDKs and\n"
    "Terraform do; a token goes in X-TC-Token.\n";

static const struct opt call_opts[] = {
    {"endpoint", OPT_STR, "URL", NULL, 0, 0, 1,
     "the service, http://HOST:PORT or https://HOST:PORT"},
    {"secret-id", OPT_STR, "ID", NULL, 0, 0, 0, "the key's SecretId"},
    {"secret-key", OPT_STR, "KEY", NULL, 0, 0, 0, "the key's SecretKey"},
    {"token", OPT_STR, "T", NULL, 0, 0, 0, "a temporary credential's token"},
    {"region", OPT_STR, "R", NULL, 0, 0, 0, "the region, e.g. ap-guangzhou"},
    {"version", OPT_STR, "V", "2017-03-12", 0, 0, 0,
     "API version (2018-08-13 for tag and sts actions)"},
    {"language", OPT_STR, "L", NULL, 0, 0, 0,
     "X-TC-Language: zh-CN (the server's default) or en-US"},
    {"cacert", OPT_STR, "FILE", NULL, 0, 0, 0,
     "for an https:// endpoint, the CA to trust (default: $SSL_CERT_FILE, else the system's), "
     "e.g. DIR/tls/ca.pem from `flowlogd cert`"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

/* The option's value, else the environment variable's when set and not
 * empty, else NULL. */
static const char *opt_or_env(const struct opts *o, const char *name, const char *env)
{
    const char *v = opts_get(o, name);
    if (v)
        return v;
    v = getenv(env);
    return v && *v ? v : NULL;
}

/* "http://host:port/..." -> "host:port" (what goes in the Host header). */
static int endpoint_host(const char *endpoint, char *out, size_t outlen)
{
    const char *p = strstr(endpoint, "://");
    size_t n;
    p = p ? p + 3 : endpoint;
    n = strcspn(p, "/?");
    if (n == 0 || n >= outlen)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* The service the Node SDK signs: the host up to its first '.' ("127" for
 * 127.0.0.1:8080, "localhost:8080" for localhost:8080), which the server
 * accepts for any endpoint. */
static void host_service(const char *host, char *out, size_t outlen)
{
    size_t n = strcspn(host, ".");
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, host, n);
    out[n] = '\0';
}

int cli_call(int argc, char **argv)
{
    struct opts o;
    const char *endpoint, *sid, *skey, *token, *region, *version, *lang, *action, *body;
    const char *cacert;
    char host[256], service[64], url[512], err[1024];
    struct auth_header extra[6];
    struct tc3_post post;
    struct buf resp;
    CURL *curl = NULL;
    json_t *root = NULL, *r;
    json_error_t je;
    long status;
    int rc = 2;

    if (opts_parse(&o, argc, argv, call_opts, call_synopsis) != 0)
        return o.help ? 0 : 2;
    endpoint = opts_str(&o, "endpoint");
    sid = opt_or_env(&o, "secret-id", "TENCENTCLOUD_SECRET_ID");
    skey = opt_or_env(&o, "secret-key", "TENCENTCLOUD_SECRET_KEY");
    token = opt_or_env(&o, "token", "TENCENTCLOUD_SESSION_TOKEN");
    if (!token) /* Terraform's name for it */
        token = opt_or_env(&o, "token", "TENCENTCLOUD_SECURITY_TOKEN");
    region = opt_or_env(&o, "region", "TENCENTCLOUD_REGION");
    version = opts_str(&o, "version");
    lang = opts_str(&o, "language");
    if (o.npos < 1 || o.npos > 2) {
        opts_usage(stderr, call_opts, call_synopsis);
        return 2;
    }
    if (!sid || !skey) {
        fputs("flowlogd: no credential: give --secret-id and --secret-key, or set "
              "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY\n",
              stderr);
        return 2;
    }
    action = o.pos[0];
    body = o.npos == 2 ? o.pos[1] : "{}";
    if (endpoint_host(endpoint, host, sizeof host) != 0) {
        fprintf(stderr, "flowlogd: bad --endpoint %s\n", endpoint);
        return 2;
    }
    host_service(host, service, sizeof service);
    snprintf(url, sizeof url, "%s%s/", strstr(endpoint, "://") ? "" : "http://", endpoint);
    if (strstr(endpoint, "://") && endpoint[strlen(endpoint) - 1] == '/')
        snprintf(url, sizeof url, "%s", endpoint);
    else if (strstr(endpoint, "://"))
        snprintf(url, sizeof url, "%s/", endpoint);

    extra[0] = (struct auth_header){"X-TC-Action", action};
    extra[1] = (struct auth_header){"X-TC-Version", version};
    extra[2] = (struct auth_header){"X-TC-Region", region}; /* tag and sts do without */
    extra[3] = (struct auth_header){"X-TC-Token", token};
    extra[4] = (struct auth_header){"X-TC-RequestClient", "flowlogd-call"};
    extra[5] = (struct auth_header){"X-TC-Language", lang};
    /* https: the CA the SDKs are pointed at (libcurl ignores SSL_CERT_FILE) */
    cacert = opts_get(&o, "cacert");
    if (!cacert && getenv("SSL_CERT_FILE") && getenv("SSL_CERT_FILE")[0])
        cacert = getenv("SSL_CERT_FILE");
    post = (struct tc3_post){url, host, service, "application/json", body, strlen(body),
                             sid, skey, extra, 6, 60000L, 0, cacert};
    buf_init(&resp, 64u << 20);
    if (!(curl = curl_easy_init()))
        goto done;
    if (tc3_post(curl, &post, &resp, &status, err, sizeof err) != TC3_POST_OK) {
        fprintf(stderr, "flowlogd: %s\n", err);
        goto done;
    }
    root = json_loadb(resp.data ? resp.data : "", resp.len, 0, &je);
    r = json_object_get(root, "Response");
    if (!json_is_object(r)) {
        fprintf(stderr, "flowlogd: not an API answer: %.*s\n", (int)(resp.len > 500 ? 500 : resp.len),
                resp.data ? resp.data : "");
        goto done;
    }
    {
        char *text = json_dumps(r, JSON_INDENT(2));
        if (text) {
            puts(text);
            free(text);
        }
    }
    rc = json_object_get(r, "Error") ? 1 : 0;
done:
    json_decref(root);
    if (curl)
        curl_easy_cleanup(curl);
    buf_free(&resp);
    return rc;
}
