/* log.c: one write(2) per line so lines from threads never interleave. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/jsonw.h"

enum log_level g_log_level = LOG_INFO;
enum log_format g_log_format = LOG_TEXT;

/* Whether every space-separated word of msg after the first is key=value
 * with a non-empty key. */
static int kv_line(const char *msg)
{
    const char *sp = strchr(msg, ' ');
    if (!sp)
        return 0;
    for (const char *w = sp + 1; *w;) {
        size_t n = strcspn(w, " ");
        const char *eq = memchr(w, '=', n);
        if (!eq || eq == w)
            return 0;
        w += n;
        while (*w == ' ')
            w++;
    }
    return 1;
}

/* The JSON form of one line into line[cap]; its length, or 0 if it cannot
 * be written (invalid UTF-8 in the message: the caller writes text). */
static size_t json_line(char *line, size_t cap, const char *time, const char *level,
                        const char *msg)
{
    struct jw w;
    size_t n = 0;
    jw_init(&w, cap - 1);
    jw_obj(&w);
    jw_key(&w, "time");
    jw_str(&w, time);
    jw_key(&w, "level");
    jw_str(&w, level);
    jw_key(&w, "msg");
    jw_str(&w, msg);
    if (kv_line(msg)) {
        char word[512];
        const char *sp = strchr(msg, ' ');
        size_t k = (size_t)(sp - msg) < sizeof word ? (size_t)(sp - msg) : sizeof word - 1;
        memcpy(word, msg, k);
        word[k] = '\0';
        jw_key(&w, "event");
        jw_str(&w, word);
        for (const char *p = sp + 1; *p;) {
            size_t len = strcspn(p, " "), kl = (size_t)((const char *)memchr(p, '=', len) - p);
            char key[128], val[512];
            snprintf(key, sizeof key, "%.*s", (int)kl, p);
            snprintf(val, sizeof val, "%.*s", (int)(len - kl - 1), p + kl + 1);
            jw_key(&w, key);
            jw_str(&w, val);
            p += len;
            while (*p == ' ')
                p++;
        }
    }
    jw_obj_end(&w);
    if (!jw_failed(&w) && w.b.len < cap) {
        memcpy(line, w.b.data, w.b.len);
        n = w.b.len;
    }
    jw_free(&w);
    return n;
}

void log_emit(enum log_level lvl, const char *fmt, ...)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF"};
    char line[2048];
    struct timeval tv;
    struct tm tm;
    size_t n;
    int k;
    va_list ap;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    k = snprintf(line + n, sizeof line - n, ".%03ldZ %s ", (long)(tv.tv_usec / 1000), names[lvl]);
    if (k > 0)
        n += (size_t)k;
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (k > 0)
        n += (size_t)k < sizeof line - n - 1 ? (size_t)k : sizeof line - n - 2;
    if (g_log_format == LOG_JSON) {
        char json[4096], time[40], msg[sizeof line];
        size_t tl = strcspn(line, " "), m;
        const char *body = line + tl + 1 + strlen(names[lvl]) + 1;
        snprintf(time, sizeof time, "%.*s", (int)tl, line);
        snprintf(msg, sizeof msg, "%.*s", (int)(line + n - body), body);
        m = json_line(json, sizeof json, time, names[lvl], msg);
        if (m && m < sizeof line - 1) { /* else the text form: never a cut JSON object */
            memcpy(line, json, m);
            n = m;
        }
    }
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* nowhere left to report it */
    }
}
