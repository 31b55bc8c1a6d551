/* log.c — timestamped log lines on stderr (the process supervisor or file redirect keeps them). */
#include "log.h"

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

char *log_clean(char *buf, unsigned cap, const char *s)
{
    unsigned j = 0;
    if (!s)
        s = "-";
    for (const unsigned char *p = (const unsigned char *)s; *p && j + 4 < cap; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\') {
            j += (unsigned)snprintf(buf + j, cap - j, "\\x%02x", *p);
        } else {
            buf[j++] = (char)*p;
        }
    }
    buf[j] = '\0';
    return buf;
}

void log_msg(const char *level, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* Format arguments may carry request text: neutralise newlines in the whole line. */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    GDateTime *now = g_date_time_new_now_utc();
    gchar *ts = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");
    fprintf(stderr, "%s.%03dZ [%d] %s: %s\n", ts, g_date_time_get_microsecond(now) / 1000,
            (int)getpid(), level, line);
    g_free(ts);
    g_date_time_unref(now);
}
