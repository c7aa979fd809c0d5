/* opts.h: "--name value" and "--flag" options plus positional arguments. */
#ifndef FLOWLOGD_CLI_OPTS_H
#define FLOWLOGD_CLI_OPTS_H

#define OPTS_MAX 32

struct opts {
    const char *name[OPTS_MAX], *value[OPTS_MAX];
    int n;
    const char *pos[OPTS_MAX];
    int npos;
    int help;
};

/** Parses argv[1..argc) (argv[0] is the subcommand). `with_value` and
 * `flags` are comma-separated option names without the dashes. "--help" or
 * "-h" prints `usage` to stdout and sets o->help. Returns 0, or -1 after
 * printing a message (or the help) to stderr/stdout. Values are borrowed
 * from argv. "--name=value" is accepted too. */
int opts_parse(struct opts *o, int argc, char **argv, const char *with_value, const char *flags,
               const char *usage);

/** The value of option `name`, or NULL. A flag's value is "1". */
const char *opts_get(const struct opts *o, const char *name);

#endif
