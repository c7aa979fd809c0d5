/* opts.h: command-line options described by a table, one row per option:
 * the single source of a subcommand's flags, their defaults and ranges, and
 * its --help text. "--name value", "--name=value" and "--flag" options, plus
 * positional arguments.
 *
 *     static const struct opt serve_opts[] = {
 *         OPT_DATA_OR_STORE,
 *         {"workers", OPT_UINT, "N", "32", 1, 4096, 0, "request handler threads"},
 *         {"quiet", OPT_FLAG, NULL, NULL, 0, 0, 0, "no per-request log lines"},
 *         {NULL},
 *     };
 */
#ifndef FLOWLOGD_BASE_OPTS_H
#define FLOWLOGD_BASE_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define OPTS_MAX 64 /* rows of a table, and positional arguments */

/** A default given by a numeric constant: OPT_NUM(HTTP_DEFAULT_WORKERS) is
 * "32". The constant must be a plain decimal literal. */
#define OPT_NUM(x) OPT_NUM_(x)
#define OPT_NUM_(x) #x

enum opt_type {
    OPT_STR,    /* any text */
    OPT_UINT,   /* a decimal number within [min, max] */
    OPT_FLAG,   /* no value; "1" when given */
    OPT_CHOICE, /* one of the comma-separated `choices` (in `arg`) */
};

struct opt {
    const char *name; /* without the dashes; NULL ends the table */
    enum opt_type type;
    const char *arg;  /* the value's name in --help ("N", "HOST:PORT"); OPT_CHOICE: the choices */
    const char *def;  /* the default as text (shown in --help), or NULL for none */
    uint64_t min, max; /* OPT_UINT */
    int required;
    const char *help; /* one line */
};

/** The option rows of a command that works on a store (serve and the admin
 * subcommands): --data DIR (SQLite) or --store URL (PostgreSQL), exactly
 * one of them (the command checks). */
#define OPT_DATA_OR_STORE                                                                        \
    {"data", OPT_STR, "DIR", NULL, 0, 0, 0,                                                      \
     "data directory of the SQLite store (created if absent, mode 0700)"},                       \
    {"store", OPT_STR, "URL", NULL, 0, 0, 0,                                                     \
     "postgresql://...: the PostgreSQL store instead of --data (several nodes may share it; "    \
     "?schema=NAME keeps the tables in that schema)"}

struct opts {
    const struct opt *table;
    const char *value[OPTS_MAX]; /* by row of table: given, else NULL */
    const char *seq_value[OPTS_MAX]; /* every option given, in order (opts_all) */
    int seq_row[OPTS_MAX];
    int nseq;
    char *owned[OPTS_MAX]; /* values copied from a file (opts_free) */
    int nowned;
    const char *pos[OPTS_MAX];
    int npos;
    int help;
};

/** Parses argv[1..argc) (argv[0] is the subcommand) against `table`.
 * "--help" or "-h" prints the usage (`synopsis`, then a line per option) to
 * stdout and sets o->help. An unknown option, a missing value, a value out
 * of its type or range, or a required option absent: a message and the
 * usage on stderr. Returns 0, or -1 for all of these. Values are borrowed
 * from argv; the table must outlive o. */
int opts_parse(struct opts *o, int argc, char **argv, const struct opt *table,
               const char *synopsis);

/** Prints the usage (`synopsis`, then a line per option of `table`). */
void opts_usage(FILE *f, const struct opt *table, const char *synopsis);

/** The value given for option `name`, or NULL. A flag's value is "1". */
const char *opts_get(const struct opts *o, const char *name);

/** Every value given for option `name` (an option given more than once),
 * in order, into out[max]; returns how many. */
int opts_all(const struct opts *o, const char *name, const char **out, int max);

/* Lower layers. A value given on the command line wins over the
 * environment, which wins over the configuration file, which wins over the
 * table's default: each of these sets only the options still unset. Rows
 * named in `skip` (a NULL-terminated list, or NULL) are not read from them
 * (e.g. "config" itself). Values are checked as on the command line. */

/** Reads PREFIX<NAME> for each option (NAME upper-cased, '-' as '_':
 * FLOWLOGD_RATE_LIMIT). Flags take 1/true/yes/on or 0/false/no/off. 0, or
 * -1 with the variable and the reason in err. */
int opts_from_env(struct opts *o, const char *prefix, const char *const *skip, char *err,
                  size_t errlen);

/** Reads the INI file `path` (libinih): one [section], "name = value" lines
 * with the options' names, '#' or ';' comments. An unknown section or
 * option, or a bad value, is refused: -1 with "FILE:LINE: reason" in err
 * (nothing is applied then from the rest of the file). 0 on success. */
int opts_from_ini(struct opts *o, const char *path, const char *section,
                  const char *const *skip, char *err, size_t errlen);

/** Writes the table as a sample INI file: a [section] and, per option, its
 * help as a comment and "# name = default" (commented out: the defaults
 * apply). Options named in `skip` are left out. */
void opts_write_ini_sample(FILE *f, const struct opt *table, const char *section,
                           const char *const *skip);

/** Writes the table as a man page's option list (roff .TP entries). */
void opts_write_man(FILE *f, const struct opt *table, const char *const *skip);

/** Frees the values copied from a file. */
void opts_free(struct opts *o);

/** The value given for `name`, else its default (NULL if none). */
const char *opts_str(const struct opts *o, const char *name);

/** The number given for OPT_UINT `name` (checked by opts_parse), else its
 * default, else 0. */
uint64_t opts_uint(const struct opts *o, const char *name);

#endif
