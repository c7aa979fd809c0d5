/* store_util.c: see store_util.h. */
#include "store/store_util.h"

#include "base/buf.h"
#include "base/jsonw.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const struct store_fl_filter store_fl_filters[STORE_FL_NFILTERS] = {
#define ROW(type, m) {#m, offsetof(struct flowlog_query, m), sizeof #type == sizeof "KIND"},
    STORE_FL_FILTERS(ROW)
#undef ROW
};

const char *store_fl_filter_value(const struct flowlog_query *q, size_t i, char buf[12])
{
    const char *at = (const char *)q + store_fl_filters[i].off;
    const char *s;
    enum res_kind k;

    if (store_fl_filters[i].kind) {
        memcpy(&k, at, sizeof k);
        if (!k)
            return NULL;
        snprintf(buf, 12, "%d", (int)k);
        return buf;
    }
    memcpy(&s, at, sizeof s);
    return s && *s ? s : NULL;
}

int store_json_strings(struct buf *b, const char *const *strs, size_t n, const struct tag *pairs,
                       size_t npairs, const char *key)
{
    int first = 1;

    if (buf_append(b, "[", 1) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if ((!first && buf_append(b, ",", 1) != 0) || jw_buf_str(b, strs[i] ? strs[i] : "") != 0)
            return -1;
        first = 0;
    }
    for (size_t i = 0; key && i < npairs; i++) {
        if (strcmp(pairs[i].key ? pairs[i].key : "", key) != 0)
            continue;
        if ((!first && buf_append(b, ",", 1) != 0) ||
            jw_buf_str(b, pairs[i].value ? pairs[i].value : "") != 0)
            return -1;
        first = 0;
    }
    return buf_append(b, "]", 2) != 0 ? -1 : 0; /* with the NUL */
}

int store_tags_keep(struct store_kv *out, size_t *cnt, size_t cap, const char *k, const char *v,
                    const char *const *del, size_t ndel)
{
    for (size_t i = 0; i < ndel; i++)
        if (del[i] && strcmp(del[i], k) == 0)
            return 0;
    if (*cnt == cap)
        return -1;
    out[(*cnt)++] = (struct store_kv){k, v ? v : ""};
    return 0;
}

int store_tags_upsert(struct store_kv *out, size_t *cnt, size_t cap, const struct tag *set,
                      size_t nset)
{
    for (size_t i = 0; i < nset; i++) {
        const char *k = set[i].key ? set[i].key : "";
        const char *v = set[i].value ? set[i].value : "";
        size_t at = 0;
        while (at < *cnt && strcmp(out[at].k, k) != 0)
            at++;
        if (at == *cnt) {
            if (*cnt == cap)
                return -1;
            (*cnt)++;
        }
        out[at] = (struct store_kv){k, v};
    }
    return 0;
}


/* 50 us (a commit without an fsync) to 2.5 s (a disk or a database in
 * trouble) */
const uint64_t store_hist_le_us[STORE_HIST_N] = {50,    100,   250,    500,    1000,
                                                 2500,  5000,  10000,  25000,  50000,
                                                 100000, 250000, 2500000};

void store_hist_add(struct store_hist *h, uint64_t us)
{
    size_t i = 0;
    while (i < STORE_HIST_N && us > store_hist_le_us[i])
        i++;
    atomic_fetch_add_explicit(&h->n[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

int store_hist_write(const struct store_hist *h, const char *name, const char *labels,
                     struct buf *out)
{
    struct store_hist *m = (struct store_hist *)h; /* read, not changed */
    const char *sep = labels && *labels ? "," : "";
    uint64_t cum = 0;
    int bad = 0;

    if (!labels)
        labels = "";
    for (size_t i = 0; i <= STORE_HIST_N; i++) {
        cum += atomic_load_explicit(&m->n[i], memory_order_relaxed);
        if (i < STORE_HIST_N)
            bad |= buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
                              (double)store_hist_le_us[i] / 1e6, (unsigned long long)cum) != 0;
        else
            bad |= buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                              (unsigned long long)cum) != 0;
    }
    bad |= buf_printf(out, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n", name, *labels ? "{" : "",
                      labels, *labels ? "}" : "",
                      (double)atomic_load_explicit(&m->sum_us, memory_order_relaxed) / 1e6, name,
                      *labels ? "{" : "", labels, *labels ? "}" : "", (unsigned long long)cum) != 0;
    return bad ? -1 : 0;
}

int store_err(struct serr *e, int rc, const char *fmt, ...)
{
    va_list ap;
    if (e) {
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int store_normalize_actions(const char *in, char *out, size_t cap, struct serr *e)
{
    size_t n = 0, len;
    const char *p = in, *start;
    char needle[130];

    out[0] = '\0';
    while (p && *p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        start = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        len = (size_t)(p - start);
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != ',')
            return store_err(e, STORE_ERR, "action names are separated by commas");
        if (len == 0)
            continue;
        if (len > sizeof needle - 3)
            return store_err(e, STORE_ERR, "action name too long");
        for (size_t i = 0; i < len; i++)
            if (!((start[i] >= 'A' && start[i] <= 'Z') || (start[i] >= 'a' && start[i] <= 'z') ||
                  (start[i] >= '0' && start[i] <= '9')))
                return store_err(e, STORE_ERR, "invalid action name '%.*s'", (int)len, start);
        needle[0] = ',';
        memcpy(needle + 1, start, len);
        needle[len + 1] = ',';
        needle[len + 2] = '\0';
        if (n && strstr(out, needle))
            continue;
        if (n + len + 2 + (n == 0) > cap - 1)
            return store_err(e, STORE_ERR, "action list too long");
        if (n == 0)
            out[n++] = ',';
        memcpy(out + n, start, len);
        n += len;
        out[n++] = ',';
        out[n] = '\0';
    }
    return STORE_OK;
}
