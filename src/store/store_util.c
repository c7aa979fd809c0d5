/* store_util.c: see store_util.h. */
#include "store/store_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"

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

static int err(struct serr *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int err(struct serr *e, int rc, const char *fmt, ...)
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
            return err(e, STORE_ERR, "action names are separated by commas");
        if (len == 0)
            continue;
        if (len > sizeof needle - 3)
            return err(e, STORE_ERR, "action name too long");
        for (size_t i = 0; i < len; i++)
            if (!((start[i] >= 'A' && start[i] <= 'Z') || (start[i] >= 'a' && start[i] <= 'z') ||
                  (start[i] >= '0' && start[i] <= '9')))
                return err(e, STORE_ERR, "invalid action name '%.*s'", (int)len, start);
        needle[0] = ',';
        memcpy(needle + 1, start, len);
        needle[len + 1] = ',';
        needle[len + 2] = '\0';
        if (n && strstr(out, needle))
            continue;
        if (n + len + 2 + (n == 0) > cap - 1)
            return err(e, STORE_ERR, "action list too long");
        if (n == 0)
            out[n++] = ',';
        memcpy(out + n, start, len);
        n += len;
        out[n++] = ',';
        out[n] = '\0';
    }
    return STORE_OK;
}
