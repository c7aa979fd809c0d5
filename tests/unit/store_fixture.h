/* store_fixture.h: a fresh data directory with an open store, for the store
 * unit tests (included by each; static functions).
 *
 * FLOWLOGD_TEST_STORE=postgresql://... runs the same tests against
 * PostgreSQL: each data directory then names its own schema in that
 * database (schema=t_<the directory's name>), so every test starts empty.
 * Tests of SQLite internals call FIXTURE_SQLITE_ONLY() and are skipped. */
#ifndef FLOWLOGD_TESTS_STORE_FIXTURE_H
#define FLOWLOGD_TESTS_STORE_FIXTURE_H

#include <ctype.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static int fixture_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/** The PostgreSQL URL the tests run against, or NULL (SQLite). */
static const char *fixture_pg(void)
{
    const char *u = getenv("FLOWLOGD_TEST_STORE");
    return u && *u ? u : NULL;
}

/** What store_open_spec gets for data directory `data`: the directory, or
 * the URL with a schema named after it. */
static const char *fixture_spec(const char *data)
{
    static __thread char spec[1024];
    char name[64] = "t_";
    const char *u = fixture_pg();
    size_t len = strlen(data), from = len > 60 ? len - 60 : 0, n = 2;
    if (!u)
        return data;
    /* the directory's last 60 characters (its random part) as a schema name */
    for (const char *p = data + from; *p && n < sizeof name - 1; p++)
        name[n++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '_';
    name[n] = '\0';
    snprintf(spec, sizeof spec, "%s%sschema=%s", u, strchr(u, '?') ? "&" : "?", name);
    return spec;
}

#define FIXTURE_SQLITE_ONLY()                                                                    \
    do {                                                                                         \
        if (fixture_pg()) {                                                                      \
            print_message("skipped: tests SQLite internals\n");                                  \
            skip();                                                                              \
        }                                                                                        \
    } while (0)

/** Opens (again) the store of data directory `data`. NULL with e set. */
static struct store *fixture_reopen(const char *data, struct serr *e)
{
    return store_open_spec(fixture_spec(data), e);
}

/** Makes /tmp/<prefix>-XXXXXX in dir[64] and opens a store in dir/data
 * (written to data[96]); fails the test if it cannot. */
static struct store *fixture_open(char dir[64], char data[96], const char *prefix)
{
    struct serr e = {{0}};
    struct store *s;
    snprintf(dir, 64, "/tmp/%s-XXXXXX", prefix);
    assert_non_null(mkdtemp(dir));
    snprintf(data, 96, "%s/data", dir);
    s = fixture_reopen(data, &e);
    if (!s)
        fail_msg("open: %s", e.msg);
    return s;
}

/** Closes the store and removes the whole directory. */
static void fixture_close(struct store *s, const char *dir)
{
    store_close(s);
    nftw(dir, fixture_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/** The state of a store test: a fresh data directory, its open store and
 * up to two accounts (tenants a and b). */
struct store_fx {
    char dir[64];
    char data[96]; /* dir/data: created by the store */
    struct store *s;
    struct account a, b;
};

/** A cmocka setup: a store_fx in *state with `naccounts` (0 to 2) accounts. */
static __attribute__((unused)) int store_fx_setup(void **state, const char *prefix,
                                                  int naccounts)
{
    struct store_fx *f = calloc(1, sizeof *f);
    struct serr e = {{0}};
    assert_non_null(f);
    f->s = fixture_open(f->dir, f->data, prefix);
    if (naccounts > 0)
        assert_int_equal(store_account_create(f->s, 0, &f->a, &e), STORE_OK);
    if (naccounts > 1)
        assert_int_equal(store_account_create(f->s, 0, &f->b, &e), STORE_OK);
    *state = f;
    return 0;
}

/** The cmocka teardown of store_fx_setup. */
static __attribute__((unused)) int store_fx_teardown(void **state)
{
    struct store_fx *f = *state;
    fixture_close(f->s, f->dir);
    free(f);
    return 0;
}

#endif
