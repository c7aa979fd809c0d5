/* cert.c: local certificates for HTTPS, made and checked with OpenSSL's
 * libcrypto (see cert.h). ECDSA P-256 throughout: every client the service
 * is for (Go, Python, Node, Java, curl) accepts it, and a handshake costs a
 * fraction of an RSA-2048 one. */
#define _GNU_SOURCE 1
#include "tls/cert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* ==== Helpers ==== */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* The reason of OpenSSL's latest error, for messages; clears the queue. */
static const char *ossl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : "unknown error";
}

void tls_free_secret(char *pem)
{
    if (!pem)
        return;
    OPENSSL_cleanse(pem, strlen(pem));
    free(pem);
}

/* The contents of a memory BIO as a malloc'd string, or NULL. */
static char *bio_string(BIO *b)
{
    char *data, *out;
    long n = BIO_get_mem_data(b, &data);
    if (n < 0 || !(out = malloc((size_t)n + 1)))
        return NULL;
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    return out;
}

static char *cert_to_pem(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b && PEM_write_bio_X509(b, x) == 1)
        out = bio_string(b);
    BIO_free(b);
    return out;
}

/* PKCS#8, unencrypted. The BIO's copy is wiped too. */
static char *key_to_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_secmem());
    char *out = NULL;
    if (b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1)
        out = bio_string(b);
    BIO_free(b);
    return out;
}

static X509 *cert_from_pem(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return x;
}

/* No password callback: an encrypted key fails instead of prompting. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static EVP_PKEY *key_from_pem(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, no_password, NULL) : NULL;
    BIO_free(b);
    return k;
}

int tls_name_ok(const char *name)
{
    unsigned char addr[16];
    const char *p = name;
    size_t n, label = 0;

    if (!name || !name[0])
        return 0;
    if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1)
        return 1;
    n = strlen(name);
    if (n > 253)
        return 0;
    if (strncmp(p, "*.", 2) == 0)
        p += 2;
    if (!*p)
        return 0;
    for (; *p; p++) {
        char c = *p;
        if (c == '.') {
            if (label == 0 || p[-1] == '-')
                return 0;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-') {
            if ((label == 0 && c == '-') || ++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0 && p[-1] != '-';
}

/* Adds one extension made from OpenSSL's configuration syntax. */
static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok = e && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok ? 0 : -1;
}

/* A new ECDSA P-256 key. */
static EVP_PKEY *new_key(void)
{
    return EVP_EC_gen("P-256");
}

/* A certificate body: version 3, a random positive 128-bit serial, the
 * subject CN (and O), the validity and the public key. */
static X509 *new_cert(const char *cn, EVP_PKEY *key, time_t now, int days)
{
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    X509 *x = X509_new();
    X509_NAME *name;
    int ok = 0;

    if (!x || RAND_bytes(serial, sizeof serial) != 1)
        goto done;
    serial[0] &= 0x7f; /* positive */
    serial[0] |= 0x40; /* and 16 bytes long */
    if (!(bn = BN_bin2bn(serial, sizeof serial, NULL)) ||
        !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
        goto done;
    if (X509_set_version(x, 2) != 1 || !X509_time_adj_ex(X509_getm_notBefore(x), 0, -3600, &now) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &now) || X509_set_pubkey(x, key) != 1)
        goto done;
    name = X509_get_subject_name(x);
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"flowlogd",
                                   -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1)
        goto done;
    ok = 1;
done:
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* ==== Making certificates ==== */

int tls_make_ca(const char *cn, time_t now, int days, char **cert_pem, char **key_pem,
                char *err, size_t errlen)
{
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    X509V3_CTX ctx;
    int rc = -1;

    *cert_pem = *key_pem = NULL;
    if (!cn || !cn[0] || days <= 0) {
        set_err(err, errlen, "a CA needs a name and a positive validity");
        return -1;
    }
    if (!(key = new_key()) || !(x = new_cert(cn, key, now, days))) {
        set_err(err, errlen, "cannot make the CA: %s", ossl_reason());
        goto done;
    }
    if (X509_set_issuer_name(x, X509_get_subject_name(x)) != 1)
        goto fail_ossl;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        add_ext(x, &ctx, NID_subject_key_identifier, "hash"))
        goto fail_ossl;
    if (X509_sign(x, key, EVP_sha256()) <= 0)
        goto fail_ossl;
    if (!(*cert_pem = cert_to_pem(x)) || !(*key_pem = key_to_pem(key))) {
        free(*cert_pem);
        *cert_pem = NULL;
        set_err(err, errlen, "out of memory");
        goto done;
    }
    rc = 0;
    goto done;
fail_ossl:
    set_err(err, errlen, "cannot make the CA: %s", ossl_reason());
done:
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

int tls_issue_server(const char *ca_cert_pem, const char *ca_key_pem, const char *const *names,
                     size_t nnames, time_t now, int days, char **cert_pem, char **key_pem,
                     char *err, size_t errlen)
{
    X509 *ca = NULL, *x = NULL;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    X509V3_CTX ctx;
    char *san = NULL;
    size_t i, sanlen = 1, used = 0;
    int rc = -1;

    *cert_pem = *key_pem = NULL;
    if (nnames == 0 || nnames > TLS_MAX_NAMES || days <= 0) {
        set_err(err, errlen, "a server certificate needs 1 to %d names and a positive validity",
                TLS_MAX_NAMES);
        return -1;
    }
    for (i = 0; i < nnames; i++) {
        if (!tls_name_ok(names[i])) {
            set_err(err, errlen, "not a DNS name or an IP address: '%s'", names[i]);
            return -1;
        }
        sanlen += strlen(names[i]) + 5; /* "DNS:" or "IP:" and ',' */
    }
    if (!(ca = cert_from_pem(ca_cert_pem))) {
        set_err(err, errlen, "the CA certificate cannot be read: %s", ossl_reason());
        goto done;
    }
    if (!(ca_key = key_from_pem(ca_key_pem))) {
        set_err(err, errlen, "the CA key cannot be read: %s", ossl_reason());
        goto done;
    }
    if (X509_check_private_key(ca, ca_key) != 1) {
        ERR_clear_error();
        set_err(err, errlen, "the CA key does not belong to the CA certificate");
        goto done;
    }
    if (!(san = malloc(sanlen))) {
        set_err(err, errlen, "out of memory");
        goto done;
    }
    san[0] = '\0';
    for (i = 0; i < nnames; i++) {
        unsigned char addr[16];
        int ip = inet_pton(AF_INET, names[i], addr) == 1 || inet_pton(AF_INET6, names[i], addr) == 1;
        used += (size_t)snprintf(san + used, sanlen - used, "%s%s:%s", i ? "," : "",
                                 ip ? "IP" : "DNS", names[i]);
    }
    if (!(key = new_key()) || !(x = new_cert(names[0], key, now, days)))
        goto fail_ossl;
    /* never outlive the CA: a client would refuse the chain anyway */
    if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca)) > 0 &&
        X509_set1_notAfter(x, X509_get0_notAfter(ca)) != 1)
        goto fail_ossl;
    if (X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1)
        goto fail_ossl;
    X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
    if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
        add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
        add_ext(x, &ctx, NID_ext_key_usage, "serverAuth") ||
        add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
        add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") ||
        add_ext(x, &ctx, NID_subject_alt_name, san))
        goto fail_ossl;
    if (X509_sign(x, ca_key, EVP_sha256()) <= 0)
        goto fail_ossl;
    if (!(*cert_pem = cert_to_pem(x)) || !(*key_pem = key_to_pem(key))) {
        free(*cert_pem);
        *cert_pem = NULL;
        set_err(err, errlen, "out of memory");
        goto done;
    }
    rc = 0;
    goto done;
fail_ossl:
    set_err(err, errlen, "cannot make the server certificate: %s", ossl_reason());
done:
    free(san);
    X509_free(x);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return rc;
}

/* ==== Checking a pair ==== */

int tls_check_pair(const char *cert_pem, const char *key_pem, time_t now, char *err,
                   size_t errlen, char *warn, size_t warnlen)
{
    X509 *x = NULL;
    EVP_PKEY *key = NULL;
    int rc;

    if (warn && warnlen)
        warn[0] = '\0';
    if (!cert_pem || !strstr(cert_pem, "-----BEGIN CERTIFICATE-----") ||
        !(x = cert_from_pem(cert_pem))) {
        ERR_clear_error();
        set_err(err, errlen, "no PEM certificate in it (\"-----BEGIN CERTIFICATE-----\")");
        rc = TLS_BAD_CERT;
        goto done;
    }
    if (!key_pem || !strstr(key_pem, "PRIVATE KEY-----")) {
        set_err(err, errlen, "no PEM private key in it (\"-----BEGIN ... PRIVATE KEY-----\")");
        rc = TLS_BAD_KEY;
        goto done;
    }
    if (strstr(key_pem, "ENCRYPTED")) {
        set_err(err, errlen, "the private key is encrypted; give it unencrypted (mode 0600)");
        rc = TLS_BAD_KEY;
        goto done;
    }
    if (!(key = key_from_pem(key_pem))) {
        set_err(err, errlen, "the private key cannot be read: %s", ossl_reason());
        rc = TLS_BAD_KEY;
        goto done;
    }
    if (X509_check_private_key(x, key) != 1) {
        ERR_clear_error();
        set_err(err, errlen, "the private key does not belong to the certificate");
        rc = TLS_KEY_MISMATCH;
        goto done;
    }
    if (warn && warnlen) {
        if (X509_cmp_time(X509_get0_notBefore(x), &now) > 0)
            set_err(warn, warnlen, "the certificate is not valid yet");
        else if (X509_cmp_time(X509_get0_notAfter(x), &now) < 0)
            set_err(warn, warnlen, "the certificate has expired");
    }
    rc = 0;
done:
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

/* ==== Files ==== */

char *tls_read_file(const char *path, size_t max, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0, got;

    if (!f) {
        set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            /* at most max + 1 bytes are read: one more than max means too large */
            size_t ncap = cap ? cap * 2 : 8192;
            char *nb;
            if (ncap > max + 1)
                ncap = max + 1;
            if (ncap <= cap)
                break;
            if (!(nb = realloc(buf, ncap + 1))) {
                set_err(err, errlen, "out of memory");
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    if (n > max) {
        set_err(err, errlen, "%s: larger than %zu bytes", path, max);
        goto fail;
    }
    fclose(f);
    if (!buf && !(buf = malloc(1))) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    buf[n] = '\0';
    return buf;
fail:
    fclose(f);
    if (buf) {
        OPENSSL_cleanse(buf, n);
        free(buf);
    }
    return NULL;
}

int tls_write_file(const char *path, const char *text, unsigned mode, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    size_t len = strlen(text), off = 0;
    int fd, n;

    n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) {
        set_err(err, errlen, "%s: path too long", path);
        return -1;
    }
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
    if (fd < 0) {
        set_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (fchmod(fd, (mode_t)mode) != 0) /* whatever the umask */
        goto fail;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    {
        /* the rename itself survives a crash once the directory is synced */
        char dir[PATH_MAX];
        const char *slash = strrchr(path, '/');
        int dfd;
        if (slash && (size_t)(slash - path) < sizeof dir) {
            memcpy(dir, path, (size_t)(slash - path));
            dir[slash == path ? 1 : slash - path] = '\0';
            if (slash == path)
                dir[0] = '/';
        } else {
            snprintf(dir, sizeof dir, ".");
        }
        if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return 0;
fail:
    set_err(err, errlen, "cannot write %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}
