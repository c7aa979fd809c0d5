/* opts.c: the option parser shared by every subcommand (see opts.h). */
#include "base/opts.h"

#include <string.h>

#include "base/util.h"

/* The row of `table` named `name` (of length n), or NULL. */
static const struct opt *find(const struct opt *table, const char *name, size_t n)
{
    for (const struct opt *t = table; t->name; t++)
        if (strlen(t->name) == n && strncmp(t->name, name, n) == 0)
            return t;
    return NULL;
}

/* Is `v` one of the comma-separated `list`? */
static int listed(const char *list, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, v, n) == 0)
            return 1;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

void opts_usage(FILE *f, const struct opt *table, const char *synopsis)
{
    fputs(synopsis, f);
    for (const struct opt *t = table; t->name; t++) {
        char head[64];
        const char *arg = t->type == OPT_FLAG ? NULL : t->type == OPT_CHOICE ? "L" : t->arg;
        snprintf(head, sizeof head, "--%s%s%s", t->name, arg ? " " : "", arg ? arg : "");
        fprintf(f, "  %-22s %s", head, t->help);
        if (t->type == OPT_CHOICE)
            fprintf(f, ": %s", t->arg);
        if (t->def)
            fprintf(f, " (default %s)", t->def);
        fputc('\n', f);
    }
}

/* Checks value v of row t. 0, or -1 after a message. */
static int check(const struct opt *t, const char *v)
{
    uint64_t n;
    if (t->type == OPT_UINT &&
        (parse_u64(v, strlen(v), &n) != 0 || n < t->min || n > t->max)) {
        fprintf(stderr, "flowlogd: --%s must be a number from %llu to %llu\n", t->name,
                (unsigned long long)t->min, (unsigned long long)t->max);
        return -1;
    }
    if (t->type == OPT_CHOICE && !listed(t->arg, v)) {
        fprintf(stderr, "flowlogd: unknown --%s %s (one of %s)\n", t->name, v, t->arg);
        return -1;
    }
    return 0;
}

int opts_parse(struct opts *o, int argc, char **argv, const struct opt *table,
               const char *synopsis)
{
    memset(o, 0, sizeof *o);
    o->table = table;
    for (const struct opt *t = table; t->name; t++)
        if (t - table == OPTS_MAX - 1) {
            fprintf(stderr, "flowlogd: more than %d options in one table\n", OPTS_MAX - 1);
            return -1;
        }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *name, *eq, *value = NULL;
        const struct opt *t;
        size_t n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            opts_usage(stdout, table, synopsis);
            o->help = 1;
            return -1;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (o->npos == OPTS_MAX) {
                fprintf(stderr, "flowlogd: too many arguments\n");
                return -1;
            }
            o->pos[o->npos++] = a;
            continue;
        }
        name = a + 2;
        eq = strchr(name, '=');
        n = eq ? (size_t)(eq - name) : strlen(name);
        t = find(table, name, n);
        if (t && t->type != OPT_FLAG) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else {
                fprintf(stderr, "flowlogd: --%.*s needs a value\n", (int)n, name);
                opts_usage(stderr, table, synopsis);
                return -1;
            }
        } else if (t && !eq) {
            value = "1";
        } else {
            fprintf(stderr, "flowlogd: unknown option %s\n", a);
            opts_usage(stderr, table, synopsis);
            return -1;
        }
        if (check(t, value) != 0)
            return -1;
        o->value[t - table] = value; /* the last one given wins (opts_all: every one) */
        if (o->nseq == OPTS_MAX) {
            fprintf(stderr, "flowlogd: too many options\n");
            return -1;
        }
        o->seq_row[o->nseq] = (int)(t - table);
        o->seq_value[o->nseq++] = value;
    }
    for (const struct opt *t = table; t->name; t++)
        if (t->required && !o->value[t - table]) {
            fprintf(stderr, "flowlogd: --%s is required\n", t->name);
            opts_usage(stderr, table, synopsis);
            return -1;
        }
    return 0;
}

const char *opts_get(const struct opts *o, const char *name)
{
    const struct opt *t = find(o->table, name, strlen(name));
    return t ? o->value[t - o->table] : NULL;
}

const char *opts_str(const struct opts *o, const char *name)
{
    const struct opt *t = find(o->table, name, strlen(name));
    return !t ? NULL : o->value[t - o->table] ? o->value[t - o->table] : t->def;
}

uint64_t opts_uint(const struct opts *o, const char *name)
{
    const char *v = opts_str(o, name);
    uint64_t n = 0;
    if (v && parse_u64(v, strlen(v), &n) != 0)
        n = 0; /* a default that is not a number: a bug in the table */
    return n;
}

int opts_all(const struct opts *o, const char *name, const char **out, int max)
{
    const struct opt *t = find(o->table, name, strlen(name));
    int n = 0;
    for (int i = 0; t && i < o->nseq && n < max; i++)
        if (o->seq_row[i] == (int)(t - o->table))
            out[n++] = o->seq_value[i];
    return n;
}
