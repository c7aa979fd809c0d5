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

#endif
