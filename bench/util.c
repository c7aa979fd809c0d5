/* util.c: ids of the data set, its credentials file, option parsing. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

uint64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void b36_8(uint64_t v, char out[9])
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    for (int i = 7; i >= 0; i--) {
        out[i] = digits[v % 36];
        v /= 36;
    }
    out[8] = '\0';
}

static void prefixed(const char *prefix, uint64_t v, char *out)
{
    char t[9];
    b36_8(v, t);
    sprintf(out, "%s-%s", prefix, t);
}

void bench_vpc_id(uint32_t a, uint32_t v, char *out)
{
    prefixed("vpc", (uint64_t)a * BENCH_VPCS + v, out);
}

void bench_subnet_id(uint32_t a, uint32_t v, char *out)
{
    prefixed("subnet", (uint64_t)a * BENCH_VPCS + v, out);
}

void bench_eni_id(uint32_t a, uint32_t enis, uint32_t i, char *out)
{
    prefixed("eni", (uint64_t)a * enis + i, out);
}

void bench_ins_id(uint32_t a, uint32_t enis, uint32_t i, char *out)
{
    prefixed("ins", (uint64_t)a * enis + i, out);
}

void bench_cls_id(uint32_t a, char out[37])
{
    /* a version-4 layout, deterministic per account */
    sprintf(out, "%08x-be0c-4000-8000-%012x", a, a * 2654435761u);
}

/* ==== the credentials file ==== */

int bench_set_load(const char *dir, struct bench_set *s)
{
    char path[4096];
    json_error_t je;
    json_t *root, *arr, *a;
    size_t i;
    int rc = -1;

    memset(s, 0, sizeof *s);
    snprintf(path, sizeof path, "%s/%s", dir, BENCH_FILE);
    root = json_load_file(path, 0, &je);
    if (!root) {
        fprintf(stderr, "flowlogd-bench: %s: %s (run `flowlogd-bench setup` first)\n", path,
                je.text);
        return -1;
    }
    arr = json_object_get(root, "accounts");
    snprintf(s->region, sizeof s->region, "%s",
             json_string_value(json_object_get(root, "region")) ?: BENCH_REGION);
    s->enis = (uint32_t)json_integer_value(json_object_get(root, "enis_per_account"));
    s->flowlogs = (uint32_t)json_integer_value(json_object_get(root, "flowlogs_per_account"));
    s->tags = (uint32_t)json_integer_value(json_object_get(root, "tags_per_flowlog"));
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        fprintf(stderr, "flowlogd-bench: %s: no accounts\n", path);
        goto done;
    }
    s->naccounts = (uint32_t)json_array_size(arr);
    s->acc = calloc(s->naccounts, sizeof *s->acc);
    if (!s->acc)
        goto done;
    json_array_foreach(arr, i, a) {
        const char *uin = json_string_value(json_object_get(a, "uin"));
        const char *sid = json_string_value(json_object_get(a, "secret_id"));
        const char *skey = json_string_value(json_object_get(a, "secret_key"));
        if (!uin || !sid || !skey) {
            fprintf(stderr, "flowlogd-bench: %s: account %zu incomplete\n", path, i);
            goto done;
        }
        snprintf(s->acc[i].uin, sizeof s->acc[i].uin, "%s", uin);
        snprintf(s->acc[i].secret_id, sizeof s->acc[i].secret_id, "%s", sid);
        snprintf(s->acc[i].secret_key, sizeof s->acc[i].secret_key, "%s", skey);
        s->acc[i].idx = (uint32_t)json_integer_value(json_object_get(a, "idx"));
    }
    rc = 0;
done:
    json_decref(root);
    if (rc)
        bench_set_free(s);
    return rc;
}

void bench_set_free(struct bench_set *s)
{
    free(s->acc);
    s->acc = NULL;
}

/* ==== options ==== */

int bopt_parse(int argc, char **argv, const struct bopt *opts, const char *usage)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq;
        size_t n;
        const struct bopt *o;

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "flowlogd-bench: unexpected argument %s (--help for usage)\n", arg);
            return -1;
        }
        arg += 2;
        eq = strchr(arg, '=');
        n = eq ? (size_t)(eq - arg) : strlen(arg);
        for (o = opts; o->name; o++)
            if (strlen(o->name) == n && strncmp(o->name, arg, n) == 0)
                break;
        if (!o->name) {
            fprintf(stderr, "flowlogd-bench: unknown option --%.*s (--help for usage)\n", (int)n, arg);
            return -1;
        }
        if (!o->val) {
            if (eq) {
                fprintf(stderr, "flowlogd-bench: --%s takes no value\n", o->name);
                return -1;
            }
            *o->flag = 1;
        } else if (eq) {
            *o->val = eq + 1;
        } else if (i + 1 < argc) {
            *o->val = argv[++i];
        } else {
            fprintf(stderr, "flowlogd-bench: --%s needs a value\n", o->name);
            return -1;
        }
    }
    return 0;
}

int bopt_u64(const char *name, const char *s, uint64_t def, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s) {
        *out = def;
        return 0;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') {
        fprintf(stderr, "flowlogd-bench: --%s wants a number, got %s\n", name, s);
        return -1;
    }
    *out = v;
    return 0;
}

int bopt_double(const char *name, const char *s, double def, double *out)
{
    char *end;
    double v;
    if (!s) {
        *out = def;
        return 0;
    }
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || v < 0) {
        fprintf(stderr, "flowlogd-bench: --%s wants a non-negative number, got %s\n", name, s);
        return -1;
    }
    *out = v;
    return 0;
}
