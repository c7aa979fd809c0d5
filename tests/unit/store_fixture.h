/* store_fixture.h: a fresh data directory with an open store, for the store
 * unit tests (included by each; static functions). */
#ifndef FLOWLOGD_TESTS_STORE_FIXTURE_H
#define FLOWLOGD_TESTS_STORE_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"

static int fixture_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
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
    s = store_open_sqlite(data, &e);
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
