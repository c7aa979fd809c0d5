/* opts.c: a small option parser shared by every subcommand. */
#include "cli/opts.h"

#include <stdio.h>
#include <string.h>

/* Is `name` (of length n) one of the comma-separated `list`? */
static int listed(const char *list, const char *name, size_t n)
{
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

int opts_parse(struct opts *o, int argc, char **argv, const char *with_value, const char *flags,
               const char *usage)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *name, *eq, *value = NULL;
        size_t n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            o->help = 1;
            return -1;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (o->npos == OPTS_MAX)
                goto too_many;
            o->pos[o->npos++] = a;
            continue;
        }
        name = a + 2;
        eq = strchr(name, '=');
        n = eq ? (size_t)(eq - name) : strlen(name);
        if (listed(with_value, name, n)) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else {
                fprintf(stderr, "flowlogd: --%.*s needs a value\n%s", (int)n, name, usage);
                return -1;
            }
        } else if (listed(flags, name, n) && !eq) {
            value = "1";
        } else {
            fprintf(stderr, "flowlogd: unknown option %s\n%s", a, usage);
            return -1;
        }
        if (o->n == OPTS_MAX)
            goto too_many;
        o->name[o->n] = name;
        o->value[o->n++] = value;
    }
    return 0;
too_many:
    fprintf(stderr, "flowlogd: too many arguments\n");
    return -1;
}

const char *opts_get(const struct opts *o, const char *name)
{
    size_t n = strlen(name);
    const char *found = NULL;
    for (int i = 0; i < o->n; i++)
        if (strncmp(o->name[i], name, n) == 0 && (o->name[i][n] == '\0' || o->name[i][n] == '='))
            found = o->value[i];
    return found;
}
