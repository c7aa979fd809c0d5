/* cert.c: `flowlogd cert`, the local CA and the server certificate for
 * `serve --tls-listen`, kept in DIR/tls. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/opts.h"
#include "cli/cli.h"
#include "tls/cert.h"

static const char cert_synopsis[] =
    "usage: flowlogd cert --data DIR [--name NAME] [--host H,H,...]\n"
    "\n"
    "Makes a local CA (once: DIR/tls/ca.pem, its key ca-key.pem) and issues a\n"
    "new server certificate with it (DIR/tls/server.pem, key server-key.pem;\n"
    "keys mode 0600), then prints where they are and how to point clients at\n"
    "the CA. The certificate names localhost, *.localhost, 127.0.0.1, ::1,\n"
    "NAME and *.NAME, vpc.NAME, tag.NAME, sts.NAME, cls.NAME (the hosts the\n"
    "SDKs and Terraform derive from an endpoint or a domain of NAME), this\n"
    "machine's host name, and every H. Running it again keeps the CA (clients\n"
    "keep trusting it) and replaces the server certificate.\n";

static const struct opt cert_opts[] = {
    {"data", OPT_STR, "DIR", NULL, 0, 0, 1, "data directory (the files go in DIR/tls)"},
    {"name", OPT_STR, "NAME", "localhost", 0, 0, 0, "the domain for vpc.NAME, tag.NAME ..."},
    {"host", OPT_STR, "H,...", NULL, 0, 0, 0,
     "more DNS names or IP addresses (e.g. the address clients use)"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

struct names {
    char *v[TLS_MAX_NAMES];
    size_t n;
};

/* Adds a copy of `name` unless it is there already. 0, or -1 with a message. */
static int add_name(struct names *ns, const char *name)
{
    size_t i;
    if (!tls_name_ok(name)) {
        fprintf(stderr, "flowlogd: not a DNS name or an IP address: '%s'\n", name);
        return -1;
    }
    for (i = 0; i < ns->n; i++)
        if (strcasecmp(ns->v[i], name) == 0)
            return 0;
    if (ns->n == TLS_MAX_NAMES) {
        fprintf(stderr, "flowlogd: more than %d names\n", TLS_MAX_NAMES);
        return -1;
    }
    if (!(ns->v[ns->n] = strdup(name))) {
        fputs("flowlogd: out of memory\n", stderr);
        return -1;
    }
    ns->n++;
    return 0;
}

static int add_prefixed(struct names *ns, const char *prefix, const char *name)
{
    char buf[300];
    int n = snprintf(buf, sizeof buf, "%s%s", prefix, name);
    if (n < 0 || (size_t)n >= sizeof buf) {
        fprintf(stderr, "flowlogd: name too long: %s\n", name);
        return -1;
    }
    return add_name(ns, buf);
}

/* Every name of the server certificate (see cert_usage). */
static int collect_names(struct names *ns, const char *name, const char *hosts)
{
    static const char *const services[] = {"vpc.", "tag.", "sts.", "cls."};
    char host[256];
    size_t i;

    if (add_name(ns, "localhost") || add_name(ns, "*.localhost") || add_name(ns, "127.0.0.1") ||
        add_name(ns, "::1") || add_name(ns, name) || add_prefixed(ns, "*.", name))
        return -1;
    for (i = 0; i < sizeof services / sizeof services[0]; i++)
        if (add_prefixed(ns, services[i], name))
            return -1;
    /* the machine's own name, when it is one a certificate can carry */
    if (gethostname(host, sizeof host) == 0) {
        host[sizeof host - 1] = '\0';
        if (tls_name_ok(host) && add_name(ns, host))
            return -1;
    }
    if (hosts) {
        char *copy = strdup(hosts), *save = NULL, *h;
        int rc = 0;
        if (!copy)
            return -1;
        for (h = strtok_r(copy, ",", &save); h && rc == 0; h = strtok_r(NULL, ",", &save))
            if (*h)
                rc = add_name(ns, h);
        free(copy);
        if (rc)
            return -1;
    }
    return 0;
}

static int join(char *out, size_t outlen, const char *dir, const char *file)
{
    int n = snprintf(out, outlen, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= outlen) {
        fprintf(stderr, "flowlogd: path too long: %s/%s\n", dir, file);
        return -1;
    }
    return 0;
}

static int make_dir(const char *path, mode_t mode)
{
    if (mkdir(path, mode) != 0 && errno != EEXIST) {
        fprintf(stderr, "flowlogd: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int cli_cert(int argc, char **argv)
{
    struct opts o;
    struct names ns = {{0}, 0};
    char dir[PATH_MAX], tlsdir[PATH_MAX + 8], ca_path[PATH_MAX + 32], ca_key_path[PATH_MAX + 32],
        srv_path[PATH_MAX + 32], srv_key_path[PATH_MAX + 32], err[512], until[64];
    char *ca = NULL, *ca_key = NULL, *srv = NULL, *srv_key = NULL;
    const char *name;
    struct stat sb;
    time_t now = time(NULL), expires;
    struct tm tm;
    int rc = 1, ca_made = 0;
    size_t i;

    if (opts_parse(&o, argc, argv, cert_opts, cert_synopsis) != 0)
        return o.help ? 0 : 2;
    if (o.npos) {
        fputs("flowlogd: cert takes no arguments\n", stderr);
        opts_usage(stderr, cert_opts, cert_synopsis);
        return 2;
    }
    name = opts_str(&o, "name");
    if (strncmp(name, "*.", 2) == 0 || collect_names(&ns, name, opts_get(&o, "host")) != 0) {
        if (strncmp(name, "*.", 2) == 0)
            fputs("flowlogd: --name wants a domain, without \"*.\"\n", stderr);
        rc = 2;
        goto done;
    }
    if (make_dir(opts_get(&o, "data"), 0700) || !realpath(opts_get(&o, "data"), dir)) {
        fprintf(stderr, "flowlogd: cannot use %s: %s\n", opts_get(&o, "data"), strerror(errno));
        goto done;
    }
    if (join(tlsdir, sizeof tlsdir, dir, "tls") || make_dir(tlsdir, 0755) ||
        join(ca_path, sizeof ca_path, tlsdir, "ca.pem") ||
        join(ca_key_path, sizeof ca_key_path, tlsdir, "ca-key.pem") ||
        join(srv_path, sizeof srv_path, tlsdir, "server.pem") ||
        join(srv_key_path, sizeof srv_key_path, tlsdir, "server-key.pem"))
        goto done;

    if (stat(ca_path, &sb) == 0 || stat(ca_key_path, &sb) == 0) {
        /* keep the CA clients already trust */
        if (!(ca = tls_read_file(ca_path, 1 << 20, err, sizeof err)) ||
            !(ca_key = tls_read_file(ca_key_path, 1 << 20, err, sizeof err))) {
            fprintf(stderr, "flowlogd: %s (remove %s to make a new CA)\n", err, tlsdir);
            goto done;
        }
    } else {
        char cn[128], host[64] = "";
        if (gethostname(host, sizeof host) != 0)
            host[0] = '\0';
        host[sizeof host - 1] = '\0';
        gmtime_r(&now, &tm);
        snprintf(cn, sizeof cn, "flowlogd local CA %s%s%04d-%02d-%02d", host, host[0] ? " " : "",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        if (tls_make_ca(cn, now, TLS_CA_DAYS, &ca, &ca_key, err, sizeof err) != 0 ||
            tls_write_file(ca_key_path, ca_key, 0600, err, sizeof err) != 0 ||
            tls_write_file(ca_path, ca, 0644, err, sizeof err) != 0) {
            fprintf(stderr, "flowlogd: %s\n", err);
            goto done;
        }
        ca_made = 1;
    }
    if (tls_issue_server(ca, ca_key, (const char *const *)ns.v, ns.n, now, TLS_SERVER_DAYS, &srv,
                         &srv_key, err, sizeof err) != 0 ||
        tls_write_file(srv_key_path, srv_key, 0600, err, sizeof err) != 0 ||
        tls_write_file(srv_path, srv, 0644, err, sizeof err) != 0) {
        fprintf(stderr, "flowlogd: %s\n", err);
        goto done;
    }

    expires = now + (time_t)TLS_SERVER_DAYS * 86400;
    gmtime_r(&expires, &tm);
    strftime(until, sizeof until, "%Y-%m-%d", &tm);
    printf("CA certificate:     %s (%s)\n", ca_path, ca_made ? "new" : "kept");
    printf("server certificate: %s\n", srv_path);
    printf("server key:         %s\n", srv_key_path);
    printf("valid until about %s UTC, for:", until);
    for (i = 0; i < ns.n; i++)
        printf(" %s", ns.v[i]);
    printf("\n\nserve HTTPS:\n  flowlogd serve --tls-listen 127.0.0.1:8443 --tls-cert %s --tls-key %s"
           " [--listen ...]\n",
           srv_path, srv_key_path);
    printf("\nclients trust the CA through:\n");
    printf("  export SSL_CERT_FILE=%s        # Go SDK, Terraform (replaces the system CAs for them)\n",
           ca_path);
    printf("  export NODE_EXTRA_CA_CERTS=%s  # Node SDK (added to the system CAs)\n", ca_path);
    printf("  export REQUESTS_CA_BUNDLE=%s   # Python SDK, tccli\n", ca_path);
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    for (i = 0; i < ns.n; i++)
        free(ns.v[i]);
    free(ca);
    free(srv);
    tls_free_secret(ca_key);
    tls_free_secret(srv_key);
    return rc;
}
