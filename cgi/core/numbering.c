/* numbering.c — pattern expansion (pure) and the locked counter increment (one statement). */
#include "numbering.h"
#include "config.h"
#include "db.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *numbering_format(const char *pattern, const char *prefix, int year, int month, int day,
                       long value)
{
    if (!pattern || value < 0)
        return NULL;
    GString *out = g_string_new(NULL);
    int seq_tokens = 0;
    const char *p = pattern;
    while (*p) {
        if (*p == '}')
            goto bad;
        if (*p != '{') {
            g_string_append_c(out, *p++);
            continue;
        }
        const char *close = strchr(p, '}');
        if (!close)
            goto bad;
        size_t len = (size_t)(close - p - 1);
        const char *tok = p + 1;
        if (len == 6 && strncmp(tok, "prefix", 6) == 0)
            g_string_append(out, prefix ? prefix : "");
        else if (len == 4 && strncmp(tok, "yyyy", 4) == 0)
            g_string_append_printf(out, "%04d", year);
        else if (len == 2 && strncmp(tok, "yy", 2) == 0)
            g_string_append_printf(out, "%02d", year % 100);
        else if (len == 2 && strncmp(tok, "mm", 2) == 0)
            g_string_append_printf(out, "%02d", month);
        else if (len == 2 && strncmp(tok, "dd", 2) == 0)
            g_string_append_printf(out, "%02d", day);
        else if (len >= 1 && len <= 12 && strspn(tok, "#") == len) {
            seq_tokens++;
            g_string_append_printf(out, "%0*ld", (int)len, value);
        } else
            goto bad;
        p = close + 1;
    }
    if (seq_tokens != 1)
        goto bad;
    return g_string_free(out, FALSE);
bad:
    g_string_free(out, TRUE);
    return NULL;
}

int numbering_pattern_ok(const char *pattern)
{
    char *s = numbering_format(pattern, "X", 2026, 1, 1, 1);
    g_free(s);
    return s != NULL;
}

const char *numbering_period(const char *reset, int year, int month, int day, char buf[16])
{
    if (strcmp(reset, "daily") == 0)
        snprintf(buf, 16, "%04d%02d%02d", year, month, day);
    else if (strcmp(reset, "monthly") == 0)
        snprintf(buf, 16, "%04d%02d", year, month);
    else if (strcmp(reset, "yearly") == 0)
        snprintf(buf, 16, "%04d", year);
    else
        return "-";
    return buf;
}

char *numbering_next(Arena *a, const char *doc_type)
{
    /* The period is computed in SQL from the same date, so C and the counter never disagree.
     * INSERT … ON CONFLICT DO UPDATE locks the counter row until the transaction ends. */
    PGresult *r = db_exec(a,
        "WITH s AS (SELECT doc_type, prefix, pattern, reset,"
        "                  to_char(now() AT TIME ZONE $2, 'YYYYMMDD') AS today"
        "             FROM doc_sequences WHERE doc_type = $1),"
        " c AS (INSERT INTO doc_counters (doc_type, period, last_value)"
        "       SELECT doc_type, CASE reset WHEN 'daily' THEN today WHEN 'monthly' THEN left(today, 6)"
        "                                   WHEN 'yearly' THEN left(today, 4) ELSE '-' END, 1 FROM s"
        "       ON CONFLICT (doc_type, period) DO UPDATE SET last_value = doc_counters.last_value + 1"
        "       RETURNING last_value)"
        " SELECT s.prefix, s.pattern, s.today, c.last_value FROM s, c",
        doc_type, cfg.timezone);
    if (!r || PQntuples(r) != 1)
        return NULL;
    const char *today = PQgetvalue(r, 0, 2);
    int ymd = atoi(today);
    int y = ymd / 10000;
    int m = ymd / 100 % 100, d = ymd % 100;
    char *num = numbering_format(PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 0), y, m, d,
                                 atol(PQgetvalue(r, 0, 3)));
    if (!num)
        return NULL;
    char *out = arena_strdup(a, num);
    g_free(num);
    return out;
}
