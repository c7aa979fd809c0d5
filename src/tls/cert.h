/* cert.h: local certificates for HTTPS (OpenSSL libcrypto). A local CA,
 * a server certificate it signs, the check of a certificate/key pair before
 * the server starts, and the files `flowlogd cert` keeps them in. Pure
 * functions over PEM text, but for the file helpers at the end. */
#ifndef FLOWLOGD_TLS_CERT_H
#define FLOWLOGD_TLS_CERT_H

#include <stddef.h>
#include <time.h>

#define TLS_CA_DAYS 3650    /* the local CA: ten years */
#define TLS_SERVER_DAYS 397 /* a server certificate: what public CAs may issue */
#define TLS_MAX_NAMES 64

/** A new self-signed CA (ECDSA P-256, SHA-256; basicConstraints critical
 * CA:TRUE pathlen:0, keyUsage keyCertSign + cRLSign, subject key id) named
 * `cn`, valid from an hour before `now` for `days` days. On success
 * *cert_pem and *key_pem (PKCS#8, unencrypted) are malloc'd, the caller
 * frees them (the key with tls_free_secret). Returns 0, or -1 with a
 * message in err[errlen]. */
int tls_make_ca(const char *cn, time_t now, int days, char **cert_pem, char **key_pem,
                char *err, size_t errlen);

/** A new server certificate (ECDSA P-256, SHA-256; CA:FALSE, keyUsage
 * digitalSignature, extendedKeyUsage serverAuth, authority and subject key
 * ids) signed by the CA in ca_cert_pem/ca_key_pem, for `names`: each is a
 * DNS name (letters, digits, '-', '.', a leading "*.") or an IPv4/IPv6
 * address, which becomes an IP SAN. The subject CN is names[0]. Valid from
 * an hour before `now` for `days` days, never past the CA. Outputs as in
 * tls_make_ca. Returns 0, or -1 with a message (a bad name is named). */
int tls_issue_server(const char *ca_cert_pem, const char *ca_key_pem, const char *const *names,
                     size_t nnames, time_t now, int days, char **cert_pem, char **key_pem,
                     char *err, size_t errlen);

enum { TLS_BAD_CERT = -1, TLS_BAD_KEY = -2, TLS_KEY_MISMATCH = -3 };

/** Checks what a TLS listener is given: cert_pem holds at least one PEM
 * certificate (the first is the server's), key_pem an unencrypted PEM
 * private key, and the key belongs to the certificate. Returns 0, or
 * TLS_BAD_CERT, TLS_BAD_KEY or TLS_KEY_MISMATCH with the reason in
 * err[errlen]. A certificate that is not yet or no
 * longer valid at `now` is not an error (a client decides), but is written
 * to warn[warnlen] (else warn is ""). */
int tls_check_pair(const char *cert_pem, const char *key_pem, time_t now, char *err,
                   size_t errlen, char *warn, size_t warnlen);

/** 1 if `name` is acceptable to tls_issue_server, else 0. */
int tls_name_ok(const char *name);

/** Wipes and frees a key's PEM text (NULL is fine). */
void tls_free_secret(char *pem);

/** Reads a whole file (at most max bytes) into a malloc'd NUL-terminated
 * string. Returns it, or NULL with the reason in err[errlen]. */
char *tls_read_file(const char *path, size_t max, char *err, size_t errlen);

/** Writes `text` to `path` with `mode`, through a temporary file in the same
 * directory, fsync'd and renamed over it, then the directory fsync'd: a
 * reader sees the old file or the new one, never part of one, and a key is
 * never readable by others, not even for a moment. Returns 0, or -1 with
 * the reason in err[errlen]. */
int tls_write_file(const char *path, const char *text, unsigned mode, char *err, size_t errlen);

#endif
