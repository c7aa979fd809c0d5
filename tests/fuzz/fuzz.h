/* fuzz.h: helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * Header-only (every target is one .c file, see the Makefile's fuzz rules).
 * Note: the Makefile does not track this header; after editing it, touch
 * the targets or `rm -rf build-fuzz/fuzz_*` before `make fuzz-build`.
 */
#ifndef FLOWLOGD_TESTS_FUZZ_H
#define FLOWLOGD_TESTS_FUZZ_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/** An invariant of the code under test. Unlike assert() it survives
 * NDEBUG, and it names the broken condition before aborting, which
 * libFuzzer reports as a crash (the input is saved as crash-<sha1>). */
#define FUZZ_CHECK(cond)                                                                         \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

/** The input split at NUL bytes into at most `max` NUL-terminated parts.
 * The last part keeps any further NULs (its length is in len[]). One
 * malloc'd copy backs every part: free it with fuzz_parts_free. */
struct fuzz_parts {
    char *mem;
    size_t n;
    char *s[64];
    size_t len[64];
};

static inline int fuzz_split(const uint8_t *d, size_t n, size_t max, struct fuzz_parts *p)
{
    size_t start = 0;

    if (max > 64)
        max = 64;
    memset(p, 0, sizeof *p);
    p->mem = malloc(n + 1);
    if (!p->mem)
        return -1;
    if (n)
        memcpy(p->mem, d, n);
    p->mem[n] = '\0';
    for (size_t i = 0; i <= n && p->n < max; i++) {
        if (i == n || (p->mem[i] == '\0' && p->n + 1 < max)) {
            p->s[p->n] = p->mem + start;
            p->len[p->n] = i - start;
            p->n++;
            start = i + 1;
            if (i == n)
                break;
        }
    }
    return 0;
}

static inline void fuzz_parts_free(struct fuzz_parts *p)
{
    free(p->mem);
    p->mem = NULL;
}

/** Part i, or `dflt` when the input had fewer parts. */
static inline const char *fuzz_part(const struct fuzz_parts *p, size_t i, const char *dflt)
{
    return i < p->n ? p->s[i] : dflt;
}

/** A malloc'd NUL-terminated copy of d[0..n) (NULs inside stay). */
static inline char *fuzz_cstr(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    if (n)
        memcpy(s, d, n);
    s[n] = '\0';
    return s;
}

/** True if every byte of s[0..n) is a lower-case hex digit. */
static inline int fuzz_is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/** True if the array a[0..size) holds a NUL (a bounded C string). */
static inline int fuzz_terminated(const char *a, size_t size)
{
    return memchr(a, '\0', size) != NULL;
}

/* ==== A store's scratch directory (the targets that open a store) ==== */

/** Removes dir and the files in it (a store's directory holds only files:
 * the database and its WAL and shared-memory files). */
static inline void fuzz_remove_dir(const char *dir)
{
    DIR *dh = opendir(dir);
    struct dirent *de;
    char path[4096 + 256];

    if (!dh)
        return;
    while ((de = readdir(dh)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(dh);
    rmdir(dir);
}

/** Where scratch directories go: $FUZZ_TMPDIR, else /dev/shm when
 * writable, else /tmp. */
static inline const char *fuzz_tmp_base(void)
{
    const char *t = getenv("FUZZ_TMPDIR");
    if (t && *t)
        return t;
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

/** Makes dir[cap] = "<base>/<prefix><pid>-XXXXXX" (mkdtemp), after
 * removing the directories of `prefix` whose process is gone (one that
 * crashed ends with _Exit, without its tear-down). 0, or -1 (errno). */
static inline int fuzz_scratch_dir(char *dir, size_t cap, const char *prefix)
{
    const char *base = fuzz_tmp_base();
    size_t np = strlen(prefix);
    DIR *dh = opendir(base);
    struct dirent *de;
    char path[4096 + 256];

    while (dh && (de = readdir(dh)) != NULL) {
        long pid;
        char *end;
        if (strncmp(de->d_name, prefix, np) != 0)
            continue;
        pid = strtol(de->d_name + np, &end, 10);
        if (end == de->d_name + np || *end != '-' || pid <= 0 || kill((pid_t)pid, 0) == 0 ||
            errno != ESRCH)
            continue;
        snprintf(path, sizeof path, "%s/%s", base, de->d_name);
        fuzz_remove_dir(path);
    }
    if (dh)
        closedir(dh);
    snprintf(dir, cap, "%s/%s%ld-XXXXXX", base, prefix, (long)getpid());
    return mkdtemp(dir) ? 0 : -1;
}

#endif
