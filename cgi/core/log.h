/* log.h — log lines to stderr with time and pid; input text is neutralised so it cannot forge lines. */
#ifndef KEXIN_LOG_H
#define KEXIN_LOG_H

void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_info(...) log_msg("info", __VA_ARGS__)
#define log_warn(...) log_msg("warn", __VA_ARGS__)
#define log_error(...) log_msg("error", __VA_ARGS__)

/* Copies s into buf replacing control characters (and quotes) so a value from a request
 * can be logged safely; truncates to cap-1 bytes. Returns buf. */
char *log_clean(char *buf, unsigned cap, const char *s);

#endif
