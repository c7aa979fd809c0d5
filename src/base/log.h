/* log.h: leveled logging to stderr; the level is checked before formatting. */
#ifndef FLOWLOGD_BASE_LOG_H
#define FLOWLOGD_BASE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

extern enum log_level g_log_level;

/* LOG_TEXT: "<time> <LEVEL> <message>". LOG_JSON: one JSON object a line,
 * {"time":...,"level":...,"msg":<message>} and, when every word of the
 * message after the first is key=value (a request line), "event": the first
 * word and each key as a member. */
enum log_format { LOG_TEXT, LOG_JSON };
extern enum log_format g_log_format;

/** Writes one line (g_log_format) to stderr, atomically. */
void log_emit(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_at(lvl, ...)                                                                         \
    do {                                                                                         \
        if ((lvl) >= g_log_level)                                                                \
            log_emit((lvl), __VA_ARGS__);                                                        \
    } while (0)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_at(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_at(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)

#endif
