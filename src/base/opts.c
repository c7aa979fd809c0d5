/* opts.c: the option parser shared by every subcommand (see opts.h). */
#include "base/opts.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Checks value v of row t: 0, or -1 with the reason in msg[n] ("must be a
 * number from 1 to 600"). */
static int check_msg(const struct opt *t, const char *v, char *msg, size_t n)
{
    uint64_t x;
    if (t->type == OPT_UINT &&
        (parse_u64(v, strlen(v), &x) != 0 || x < t->min || x > t->max)) {
        snprintf(msg, n, "must be a number from %llu to %llu", (unsigned long long)t->min,
                 (unsigned long long)t->max);
        return -1;
    }
    if (t->type == OPT_CHOICE && !listed(t->arg, v)) {
        snprintf(msg, n, "is one of %s, not %s", t->arg, v);
        return -1;
    }
    return 0;
}

/* Checks value v of row t given on the command line. 0, or -1 after a
 * message. */
static int check(const struct opt *t, const char *v)
{
    char msg[256];
    if (check_msg(t, v, msg, sizeof msg) == 0)
        return 0;
    fprintf(stderr, "flowlogd: --%s %s\n", t->name, msg);
    return -1;
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

void opts_free(struct opts *o)
{
    for (int i = 0; i < o->nowned; i++)
        free(o->owned[i]);
    o->nowned = 0;
}

/* Sets row t from a lower layer (environment, file) unless it has a value
 * already (a higher layer gave one). */
static int set_lower(struct opts *o, const struct opt *t, const char *value, int copy)
{
    if (o->value[t - o->table])
        return 0;
    if (copy) {
        char *v;
        if (o->nowned == OPTS_MAX || !(v = strdup(value)))
            return -1;
        o->owned[o->nowned++] = v;
        value = v;
    }
    o->value[t - o->table] = value;
    return 0;
}

/* A flag's value in a file or the environment: "1" for on, NULL for off,
 * `bad` for anything else. */
static const char *flag_value(const char *v, const char *bad)
{
    if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"))
        return "1";
    if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off"))
        return NULL;
    return bad;
}

int opts_from_env(struct opts *o, const char *prefix, const char *const *skip, char *err,
                  size_t errlen)
{
    for (const struct opt *t = o->table; t->name; t++) {
        char var[96], msg[256];
        const char *v;
        size_t n = (size_t)snprintf(var, sizeof var, "%s", prefix);
        int skipped = 0;
        for (const char *const *k = skip; k && *k; k++)
            skipped |= strcmp(*k, t->name) == 0;
        if (skipped)
            continue;
        for (const char *c = t->name; *c && n + 1 < sizeof var; c++)
            var[n++] = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
        var[n] = '\0';
        if (!(v = getenv(var)))
            continue;
        if (t->type == OPT_FLAG) {
            static const char bad[] = "bad";
            const char *f = flag_value(v, bad);
            if (f == bad) {
                snprintf(err, errlen, "%s=%s: a flag is 1/true/yes/on or 0/false/no/off", var, v);
                return -1;
            }
            if (!f)
                continue;
            v = f;
        } else if (check_msg(t, v, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "%s %s", var, msg);
            return -1;
        }
        if (set_lower(o, t, v, 0) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

struct ini_ctx {
    struct opts *o;
    const char *section;
    const char *const *skip;
    char *err;
    size_t errlen;
};

/* inih (Debian's build) gives no line number to the handler; ini_parse
 * returns the line of the first refusal, and opts_from_ini puts it in front
 * of the reason written here. */
static int ini_row(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *c = user;
    const struct opt *t;
    char msg[256];
    if (strcmp(section, c->section) != 0) { /* said at the section's first line */
        if (section[0])
            snprintf(c->err, c->errlen, "unknown section [%s] (options go in [%s])", section,
                     c->section);
        else
            snprintf(c->err, c->errlen, "%s outside a [%s] section", name, c->section);
        return 0;
    }
    t = find(c->o->table, name, strlen(name));
    for (const char *const *k = c->skip; t && k && *k; k++)
        if (strcmp(*k, t->name) == 0)
            t = NULL;
    if (!t) {
        snprintf(c->err, c->errlen, "unknown option %s", name);
        return 0;
    }
    if (t->type == OPT_FLAG) {
        static const char bad[] = "bad";
        const char *f = flag_value(value, bad);
        if (f == bad) {
            snprintf(c->err, c->errlen, "%s = %s: a flag is true/false (yes/no, on/off, 1/0)",
                     name, value);
            return 0;
        }
        if (!f)
            return 1;
        value = f;
    } else if (check_msg(t, value, msg, sizeof msg) != 0) {
        snprintf(c->err, c->errlen, "%s %s", name, msg);
        return 0;
    }
    if (set_lower(c->o, t, value, 1) != 0) {
        snprintf(c->err, c->errlen, "out of memory");
        return 0;
    }
    return 1;
}

int opts_from_ini(struct opts *o, const char *path, const char *section,
                  const char *const *skip, char *err, size_t errlen)
{
    struct ini_ctx c = {o, section, skip, err, errlen};
    char reason[384];
    FILE *f = fopen(path, "r");
    int rc;
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    c.err = reason;
    c.errlen = sizeof reason;
    reason[0] = '\0';
    rc = ini_parse_file(f, ini_row, &c);
    fclose(f);
    if (rc == 0)
        return 0;
    if (rc < 0)
        snprintf(err, errlen, "%s: cannot read it", path);
    else if (!reason[0]) /* inih's own refusal */
        snprintf(err, errlen, "%s:%d: not a \"name = value\" line or a [section]", path, rc);
    else
        snprintf(err, errlen, "%s:%d: %s", path, rc, reason);
    return -1;
}

static int skipped(const char *const *skip, const char *name)
{
    for (const char *const *k = skip; k && *k; k++)
        if (strcmp(*k, name) == 0)
            return 1;
    return 0;
}

void opts_write_ini_sample(FILE *f, const struct opt *table, const char *section,
                           const char *const *skip)
{
    fprintf(f, "[%s]\n", section);
    for (const struct opt *t = table; t->name; t++) {
        if (skipped(skip, t->name))
            continue;
        fprintf(f, "\n# %s", t->help);
        if (t->type == OPT_CHOICE)
            fprintf(f, ": %s", t->arg);
        if (t->type == OPT_UINT)
            fprintf(f, " (%llu to %llu)", (unsigned long long)t->min, (unsigned long long)t->max);
        fprintf(f, "\n#%s = %s\n", t->name,
                t->type == OPT_FLAG ? "false" : t->def ? t->def : "");
    }
}

/* s with roff's special characters escaped (the minus sign, backslash). */
static void roff(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '-')
            fputs("\\-", f);
        else if (*s == '\\')
            fputs("\\e", f);
        else
            fputc(*s, f);
    }
}

void opts_write_man(FILE *f, const struct opt *table, const char *const *skip)
{
    for (const struct opt *t = table; t->name; t++) {
        if (skipped(skip, t->name))
            continue;
        fputs(t->type == OPT_FLAG ? ".TP\n.B \\-\\-" : ".TP\n.BI \"\\-\\-", f);
        roff(f, t->name);
        if (t->type != OPT_FLAG) {
            fputs(" \" \"", f);
            roff(f, t->type == OPT_CHOICE ? "L" : t->arg);
            fputc('"', f);
        }
        fputc('\n', f);
        roff(f, t->help);
        if (t->type == OPT_CHOICE) {
            fputs(": ", f);
            roff(f, t->arg);
        }
        if (t->def) {
            fputs(" (default ", f);
            roff(f, t->def);
            fputc(')', f);
        }
        fputs(".\n", f);
    }
}
