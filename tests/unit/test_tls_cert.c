/* test_tls_cert.c: the local CA and server certificates (tls/cert.c) and
 * `flowlogd cert`: every result is parsed back with OpenSSL and checked
 * (names, validity, extensions, the chain, the key), and the checks a TLS
 * listener runs at start are fed good and bad pairs. */
#define _GNU_SOURCE 1
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli/cli.h"
#include "tls/cert.h"

static const time_t NOW = 1796000000; /* 2026-11-30, fixed: validity is checked exactly */

/* ==== Helpers ==== */

static X509 *parse_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *parse_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(k);
    return k;
}

/* Seconds from `from` to the certificate time t. */
static long long secs_until(const ASN1_TIME *t, time_t from)
{
    int days = 0, secs = 0;
    ASN1_TIME *f = ASN1_TIME_set(NULL, from);
    assert_non_null(f);
    assert_int_equal(ASN1_TIME_diff(&days, &secs, f, t), 1);
    ASN1_TIME_free(f);
    return (long long)days * 86400 + secs;
}

/* Verifies leaf against ca as a TLS client would at `at` (0: no time check
 * override), for purpose sslserver. Returns X509_V_OK or the error. */
static int verify_chain(X509 *ca, X509 *leaf, time_t at)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc;
    assert_int_equal(X509_STORE_add_cert(st, ca), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, NULL), 1);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_X509_STRICT);
    if (at)
        X509_STORE_CTX_set_time(ctx, 0, at);
    rc = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    return rc;
}

struct pair {
    char *ca, *ca_key, *srv, *srv_key;
};

static const char *const NAMES[] = {"localhost", "*.localhost", "127.0.0.1", "::1",
                                    "vpc.example.test", "tag.example.test", "10.1.2.3"};
#define NNAMES (sizeof NAMES / sizeof NAMES[0])

static void make_pair(struct pair *p, time_t now)
{
    char err[256] = "";
    memset(p, 0, sizeof *p);
    if (tls_make_ca("test CA", now, TLS_CA_DAYS, &p->ca, &p->ca_key, err, sizeof err) != 0)
        fail_msg("tls_make_ca: %s", err);
    if (tls_issue_server(p->ca, p->ca_key, NAMES, NNAMES, now, TLS_SERVER_DAYS, &p->srv,
                         &p->srv_key, err, sizeof err) != 0)
        fail_msg("tls_issue_server: %s", err);
}

static void free_pair(struct pair *p)
{
    free(p->ca);
    free(p->srv);
    tls_free_secret(p->ca_key);
    tls_free_secret(p->srv_key);
}

/* ==== The CA ==== */

static void test_ca(void **state)
{
    struct pair p;
    X509 *ca;
    EVP_PKEY *k;
    BASIC_CONSTRAINTS *bc;
    ASN1_BIT_STRING *ku;
    int crit = -1;
    (void)state;

    make_pair(&p, NOW);
    ca = parse_cert(p.ca);
    k = parse_key(p.ca_key);
    assert_non_null(strstr(p.ca_key, "-----BEGIN PRIVATE KEY-----"));
    assert_int_equal(X509_check_private_key(ca, k), 1);
    assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
    assert_int_equal(EVP_PKEY_get_bits(k), 256);
    /* self-signed, a CA, may sign certificates only */
    assert_int_equal(X509_verify(ca, X509_get0_pubkey(ca)), 1);
    assert_int_equal(X509_check_issued(ca, ca), X509_V_OK);
    assert_int_equal(X509_check_ca(ca), 1);
    bc = X509_get_ext_d2i(ca, NID_basic_constraints, &crit, NULL);
    assert_non_null(bc);
    assert_int_equal(crit, 1);
    assert_true(bc->ca);
    BASIC_CONSTRAINTS_free(bc);
    ku = X509_get_ext_d2i(ca, NID_key_usage, &crit, NULL);
    assert_non_null(ku);
    assert_int_equal(crit, 1);
    assert_true(ASN1_BIT_STRING_get_bit(ku, 5)); /* keyCertSign */
    assert_false(ASN1_BIT_STRING_get_bit(ku, 0)); /* not digitalSignature */
    ASN1_BIT_STRING_free(ku);
    assert_non_null(X509_get0_subject_key_id(ca));
    /* an hour of clock skew before now, ten years after */
    assert_int_equal(secs_until(X509_get0_notBefore(ca), NOW), -3600);
    assert_int_equal(secs_until(X509_get0_notAfter(ca), NOW), (long long)TLS_CA_DAYS * 86400);
    assert_int_equal(X509_get_version(ca), 2);
    /* two CAs are two keys and two serials */
    {
        struct pair q;
        X509 *ca2;
        make_pair(&q, NOW);
        ca2 = parse_cert(q.ca);
        assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca),
                                              X509_get0_serialNumber(ca2)), 0);
        assert_int_not_equal(EVP_PKEY_eq(X509_get0_pubkey(ca), X509_get0_pubkey(ca2)), 1);
        X509_free(ca2);
        free_pair(&q);
    }
    EVP_PKEY_free(k);
    X509_free(ca);
    free_pair(&p);
}

/* ==== The server certificate ==== */

static void test_server(void **state)
{
    struct pair p;
    X509 *ca, *srv;
    EVP_PKEY *k;
    GENERAL_NAMES *gens;
    EXTENDED_KEY_USAGE *eku;
    BASIC_CONSTRAINTS *bc;
    size_t seen = 0;
    int i;
    (void)state;

    make_pair(&p, NOW);
    ca = parse_cert(p.ca);
    srv = parse_cert(p.srv);
    k = parse_key(p.srv_key);
    assert_int_equal(X509_check_private_key(srv, k), 1);
    /* the CA's key does not fit it */
    {
        EVP_PKEY *cak = parse_key(p.ca_key);
        assert_int_not_equal(X509_check_private_key(srv, cak), 1);
        EVP_PKEY_free(cak);
    }
    /* the chain, as a client checks it (strict, server purpose) */
    assert_int_equal(verify_chain(ca, srv, NOW + 60), X509_V_OK);
    assert_int_equal(verify_chain(ca, srv, NOW - 7200), X509_V_ERR_CERT_NOT_YET_VALID);
    assert_int_equal(verify_chain(ca, srv, NOW + (time_t)(TLS_SERVER_DAYS + 1) * 86400),
                     X509_V_ERR_CERT_HAS_EXPIRED);
    assert_int_equal(secs_until(X509_get0_notBefore(srv), NOW), -3600);
    assert_int_equal(secs_until(X509_get0_notAfter(srv), NOW),
                     (long long)TLS_SERVER_DAYS * 86400);
    /* names: every one, in order, DNS or IP as given */
    gens = X509_get_ext_d2i(srv, NID_subject_alt_name, NULL, NULL);
    assert_non_null(gens);
    assert_int_equal(sk_GENERAL_NAME_num(gens), (int)NNAMES);
    for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        unsigned char want[16];
        if (g->type == GEN_DNS) {
            const char *s = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
            assert_string_equal(s, NAMES[i]);
        } else {
            int len = ASN1_STRING_length(g->d.iPAddress);
            int fam = len == 4 ? AF_INET : AF_INET6;
            assert_int_equal(g->type, GEN_IPADD);
            assert_int_equal(inet_pton(fam, NAMES[i], want), 1);
            assert_memory_equal(ASN1_STRING_get0_data(g->d.iPAddress), want, (size_t)len);
        }
        seen++;
    }
    assert_int_equal(seen, NNAMES);
    GENERAL_NAMES_free(gens);
    /* what a client's host check says */
    assert_int_equal(X509_check_host(srv, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(srv, "vpc.example.test", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(srv, "tag.example.test", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(srv, "cls.example.test", 0, 0, NULL), 0);
    assert_int_equal(X509_check_host(srv, "example.org", 0, 0, NULL), 0);
    assert_int_equal(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "::1", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "10.1.2.3", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "127.0.0.2", 0), 0);
    /* a leaf for TLS servers */
    bc = X509_get_ext_d2i(srv, NID_basic_constraints, NULL, NULL);
    assert_non_null(bc);
    assert_false(bc->ca);
    BASIC_CONSTRAINTS_free(bc);
    eku = X509_get_ext_d2i(srv, NID_ext_key_usage, NULL, NULL);
    assert_non_null(eku);
    assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
    assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_server_auth);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    assert_int_equal(X509_check_purpose(srv, X509_PURPOSE_SSL_SERVER, 0), 1);
    assert_int_equal(X509_check_ca(srv), 0);
    {
        const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(srv);
        assert_non_null(aki);
        assert_int_equal(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(ca)), 0);
    }
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(srv), X509_get_subject_name(ca)), 0);
    /* another CA's client refuses it */
    {
        struct pair q;
        X509 *other;
        make_pair(&q, NOW);
        other = parse_cert(q.ca);
        assert_int_not_equal(verify_chain(other, srv, NOW + 60), X509_V_OK);
        X509_free(other);
        free_pair(&q);
    }
    EVP_PKEY_free(k);
    X509_free(srv);
    X509_free(ca);
    free_pair(&p);
}

/* A server certificate never outlives its CA. */
static void test_server_capped_by_ca(void **state)
{
    char *ca = NULL, *ca_key = NULL, *srv = NULL, *srv_key = NULL, err[256];
    const char *names[] = {"localhost"};
    X509 *x;
    (void)state;
    assert_int_equal(tls_make_ca("short CA", NOW, 30, &ca, &ca_key, err, sizeof err), 0);
    assert_int_equal(tls_issue_server(ca, ca_key, names, 1, NOW, 397, &srv, &srv_key, err,
                                      sizeof err),
                     0);
    x = parse_cert(srv);
    assert_int_equal(secs_until(X509_get0_notAfter(x), NOW), 30LL * 86400);
    X509_free(x);
    free(ca);
    free(srv);
    tls_free_secret(ca_key);
    tls_free_secret(srv_key);
}

static void test_names(void **state)
{
    static const struct {
        const char *name;
        int ok;
    } cases[] = {
        {"localhost", 1},      {"vpc.example.test", 1}, {"*.example.test", 1},
        {"a-b.c1", 1},         {"127.0.0.1", 1},        {"::1", 1},
        {"fe80::1", 1},        {"", 0},                 {"*.", 0},
        {"a..b", 0},           {".a", 0},               {"a.", 0},
        {"-a.b", 0},           {"a-.b", 0},             {"a b", 0},
        {"a,DNS:evil", 0},     {"a*.b", 0},             {"*.*.b", 0},
        {"under_score", 0},    {"ünicode", 0},
    };
    char *ca = NULL, *ca_key = NULL, *srv = NULL, *srv_key = NULL, err[256];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (tls_name_ok(cases[i].name) != cases[i].ok)
            fail_msg("name '%s': want %d", cases[i].name, cases[i].ok);
    /* a bad name is refused by name, and nothing is made */
    assert_int_equal(tls_make_ca("CA", NOW, 10, &ca, &ca_key, err, sizeof err), 0);
    {
        const char *names[] = {"localhost", "a,DNS:evil.com"};
        assert_int_equal(tls_issue_server(ca, ca_key, names, 2, NOW, 10, &srv, &srv_key, err,
                                          sizeof err),
                         -1);
        assert_non_null(strstr(err, "a,DNS:evil.com"));
        assert_null(srv);
        assert_null(srv_key);
    }
    /* no names, or a CA key that is not the CA's */
    assert_int_equal(tls_issue_server(ca, ca_key, NULL, 0, NOW, 10, &srv, &srv_key, err,
                                      sizeof err),
                     -1);
    {
        struct pair q;
        const char *names[] = {"localhost"};
        make_pair(&q, NOW);
        assert_int_equal(tls_issue_server(ca, q.ca_key, names, 1, NOW, 10, &srv, &srv_key, err,
                                          sizeof err),
                         -1);
        assert_non_null(strstr(err, "does not belong"));
        assert_int_equal(tls_issue_server("garbage", ca_key, names, 1, NOW, 10, &srv, &srv_key,
                                          err, sizeof err),
                         -1);
        free_pair(&q);
    }
    free(ca);
    tls_free_secret(ca_key);
}

/* ==== The start-up check of a pair ==== */

static char *encrypt_key(const char *pem)
{
    EVP_PKEY *k = parse_key(pem);
    BIO *b = BIO_new(BIO_s_mem());
    char *data, *out;
    long n;
    assert_int_equal(PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(), NULL, 0, NULL,
                                                   (void *)"secret"),
                     1);
    n = BIO_get_mem_data(b, &data);
    out = strndup(data, (size_t)n);
    BIO_free(b);
    EVP_PKEY_free(k);
    return out;
}

static void test_check_pair(void **state)
{
    struct pair p, q, old;
    char err[256], warn[128], *enc, *chain;
    (void)state;

    make_pair(&p, NOW);
    make_pair(&q, NOW);
    assert_int_equal(tls_check_pair(p.srv, p.srv_key, NOW, err, sizeof err, warn, sizeof warn), 0);
    assert_string_equal(warn, "");
    /* a chain file (leaf then CA) is fine */
    assert_true(asprintf(&chain, "%s%s", p.srv, p.ca) > 0);
    assert_int_equal(tls_check_pair(chain, p.srv_key, NOW, err, sizeof err, warn, sizeof warn), 0);
    free(chain);
    /* another certificate's key */
    assert_int_equal(tls_check_pair(p.srv, q.srv_key, NOW, err, sizeof err, warn, sizeof warn),
                     TLS_KEY_MISMATCH);
    assert_non_null(strstr(err, "does not belong"));
    /* the files swapped, or not PEM at all */
    assert_int_equal(tls_check_pair(p.srv_key, p.srv, NOW, err, sizeof err, warn, sizeof warn),
                     TLS_BAD_CERT);
    assert_int_equal(tls_check_pair("", p.srv_key, NOW, err, sizeof err, warn, sizeof warn),
                     TLS_BAD_CERT);
    assert_int_equal(tls_check_pair("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                                    p.srv_key, NOW, err, sizeof err, warn, sizeof warn),
                     TLS_BAD_CERT);
    assert_int_equal(tls_check_pair(p.srv, p.srv, NOW, err, sizeof err, warn, sizeof warn),
                     TLS_BAD_KEY);
    assert_int_equal(tls_check_pair(p.srv, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                                    NOW, err, sizeof err, warn, sizeof warn),
                     TLS_BAD_KEY);
    /* an encrypted key: no prompt, a clear refusal */
    enc = encrypt_key(p.srv_key);
    assert_int_equal(tls_check_pair(p.srv, enc, NOW, err, sizeof err, warn, sizeof warn),
                     TLS_BAD_KEY);
    assert_non_null(strstr(err, "encrypted"));
    free(enc);
    /* expired, or not yet valid: accepted, with a warning */
    make_pair(&old, NOW - 3 * 365 * 86400);
    assert_int_equal(tls_check_pair(old.srv, old.srv_key, NOW, err, sizeof err, warn, sizeof warn), 0);
    assert_non_null(strstr(warn, "expired"));
    assert_int_equal(tls_check_pair(p.srv, p.srv_key, NOW - 86400, err, sizeof err, warn,
                                    sizeof warn),
                     0);
    assert_non_null(strstr(warn, "not valid yet"));
    free_pair(&old);
    free_pair(&q);
    free_pair(&p);
}

/* ==== Files and `flowlogd cert` ==== */

static char *slurp(const char *path)
{
    char err[256];
    char *s = tls_read_file(path, 1 << 20, err, sizeof err);
    if (!s)
        fail_msg("%s", err);
    return s;
}

static unsigned mode_of(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_mode & 0777;
}

static void test_files(void **state)
{
    char dir[] = "/tmp/flowlogd-tls-XXXXXX", path[256], err[256], *s;
    mode_t old;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/k.pem", dir);
    old = umask(0); /* the mode holds whatever the umask */
    assert_int_equal(tls_write_file(path, "secret\n", 0600, err, sizeof err), 0);
    umask(old);
    assert_int_equal(mode_of(path), 0600);
    s = slurp(path);
    assert_string_equal(s, "secret\n");
    free(s);
    /* replaced whole, the mode kept */
    assert_int_equal(tls_write_file(path, "other\n", 0600, err, sizeof err), 0);
    s = slurp(path);
    assert_string_equal(s, "other\n");
    free(s);
    assert_null(tls_read_file(path, 3, err, sizeof err));
    assert_non_null(strstr(err, "larger than"));
    /* the limit itself is fine, one byte past it is not, across buffer sizes */
    for (size_t len = 8190; len <= 8194; len++) {
        char *big = malloc(len + 1), *back;
        memset(big, 'x', len);
        big[len] = '\0';
        assert_int_equal(tls_write_file(path, big, 0600, err, sizeof err), 0);
        back = tls_read_file(path, len, err, sizeof err);
        assert_non_null(back);
        assert_int_equal(strlen(back), len);
        free(back);
        assert_null(tls_read_file(path, len - 1, err, sizeof err));
        back = tls_read_file(path, 1 << 20, err, sizeof err);
        assert_non_null(back);
        assert_int_equal(strlen(back), len);
        free(back);
        free(big);
    }
    {
        /* just under a large limit (the old loop refused these) */
        size_t len = (1u << 20) - 2000;
        char *big = malloc(len + 1), *back;
        memset(big, 'y', len);
        big[len] = '\0';
        assert_int_equal(tls_write_file(path, big, 0600, err, sizeof err), 0);
        back = tls_read_file(path, 1 << 20, err, sizeof err);
        assert_non_null(back);
        assert_int_equal(strlen(back), len);
        free(back);
        free(big);
    }
    unlink(path);
    assert_null(tls_read_file(path, 100, err, sizeof err));
    assert_non_null(strstr(err, "No such file"));
    snprintf(path, sizeof path, "%s/none/k.pem", dir);
    assert_int_equal(tls_write_file(path, "x", 0600, err, sizeof err), -1);
    rmdir(dir);
}

static int run_cert(const char *dir, const char *name, const char *hosts)
{
    char *argv[8];
    int argc = 0, rc, saved = dup(1), devnull = open("/dev/null", O_WRONLY);
    argv[argc++] = (char *)"cert";
    argv[argc++] = (char *)"--data";
    argv[argc++] = (char *)dir;
    if (name) {
        argv[argc++] = (char *)"--name";
        argv[argc++] = (char *)name;
    }
    if (hosts) {
        argv[argc++] = (char *)"--host";
        argv[argc++] = (char *)hosts;
    }
    argv[argc] = NULL;
    fflush(stdout);
    dup2(devnull, 1); /* its report is for people; the files are checked here */
    rc = cli_cert(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(devnull);
    return rc;
}

static void test_cli_cert(void **state)
{
    char dir[] = "/tmp/flowlogd-tls-XXXXXX", p[4][300], err[256], warn[128];
    static const char *const files[] = {"ca.pem", "ca-key.pem", "server.pem", "server-key.pem"};
    char *ca1, *srv1, *ca2, *srv2, *key2;
    X509 *ca, *srv;
    (void)state;

    assert_non_null(mkdtemp(dir));
    for (int i = 0; i < 4; i++)
        snprintf(p[i], sizeof p[i], "%s/tls/%s", dir, files[i]);
    assert_int_equal(run_cert(dir, "example.test", "10.9.8.7,flowlogd.internal"), 0);
    assert_int_equal(mode_of(p[0]), 0644);
    assert_int_equal(mode_of(p[1]), 0600);
    assert_int_equal(mode_of(p[2]), 0644);
    assert_int_equal(mode_of(p[3]), 0600);
    ca1 = slurp(p[0]);
    srv1 = slurp(p[2]);
    ca = parse_cert(ca1);
    srv = parse_cert(srv1);
    assert_int_equal(verify_chain(ca, srv, 0), X509_V_OK);
    for (const char *const *h = (const char *const[]){"localhost", "vpc.example.test",
                                                      "tag.example.test", "sts.example.test",
                                                      "example.test", "flowlogd.internal", NULL};
         *h; h++)
        if (X509_check_host(srv, *h, 0, 0, NULL) != 1)
            fail_msg("certificate does not name %s", *h);
    assert_int_equal(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "10.9.8.7", 0), 1);
    X509_free(srv);
    /* again: the CA is kept, the server certificate is new and still chains */
    assert_int_equal(run_cert(dir, NULL, NULL), 0);
    ca2 = slurp(p[0]);
    srv2 = slurp(p[2]);
    key2 = slurp(p[3]);
    assert_string_equal(ca1, ca2);
    assert_string_not_equal(srv1, srv2);
    srv = parse_cert(srv2);
    assert_int_equal(verify_chain(ca, srv, 0), X509_V_OK);
    assert_int_equal(X509_check_host(srv, "vpc.localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(srv, "vpc.example.test", 0, 0, NULL), 0);
    assert_int_equal(tls_check_pair(srv2, key2, time(NULL), err, sizeof err, warn, sizeof warn), 0);
    X509_free(srv);
    X509_free(ca);
    /* bad input: nothing replaced */
    assert_int_equal(run_cert(dir, "*.x", NULL), 2);
    assert_int_equal(run_cert(dir, NULL, "ok.name,bad name"), 2);
    free(srv1);
    srv1 = slurp(p[2]);
    assert_string_equal(srv1, srv2);
    /* a CA without its key is not silently replaced */
    unlink(p[1]);
    assert_int_equal(run_cert(dir, NULL, NULL), 1);
    free(ca1);
    ca1 = slurp(p[0]);
    assert_string_equal(ca1, ca2);
    for (int i = 0; i < 4; i++)
        unlink(p[i]);
    snprintf(p[0], sizeof p[0], "%s/tls", dir);
    rmdir(p[0]);
    rmdir(dir);
    free(ca1);
    free(srv1);
    free(ca2);
    free(srv2);
    tls_free_secret(key2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca),          cmocka_unit_test(test_server),
        cmocka_unit_test(test_server_capped_by_ca), cmocka_unit_test(test_names),
        cmocka_unit_test(test_check_pair),  cmocka_unit_test(test_files),
        cmocka_unit_test(test_cli_cert),
    };
    return cmocka_run_group_tests_name("tls_cert", tests, NULL, NULL);
}
