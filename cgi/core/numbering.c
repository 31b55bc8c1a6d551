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

/* Takes n numbers in one statement (the counter moves by n); NULL on failure. Row: prefix,
 * pattern, today (YYYYMMDD, company time), last value taken. */
static PGresult *take(Arena *a, const char *doc_type, long n)
{
    /* The period is computed in SQL from the same date, so C and the counter never disagree.
     * INSERT … ON CONFLICT DO UPDATE locks the counter row until the transaction ends. */
    char count[24];
    snprintf(count, sizeof count, "%ld", n);
    PGresult *r = db_exec(a,
        "WITH s AS (SELECT doc_type, prefix, pattern, reset,"
        "                  to_char(now() AT TIME ZONE $2, 'YYYYMMDD') AS today"
        "             FROM doc_sequences WHERE doc_type = $1),"
        " c AS (INSERT INTO doc_counters (doc_type, period, last_value)"
        "       SELECT doc_type, CASE reset WHEN 'daily' THEN today WHEN 'monthly' THEN left(today, 6)"
        "                                   WHEN 'yearly' THEN left(today, 4) ELSE '-' END, $3::bigint FROM s"
        "       ON CONFLICT (doc_type, period) DO UPDATE SET last_value = doc_counters.last_value + $3::bigint"
        "       RETURNING period, last_value)"
        " SELECT s.prefix, s.pattern, s.today, c.last_value, c.period FROM s, c",
        doc_type, cfg.timezone, count);
    return r && PQntuples(r) == 1 ? r : NULL;
}

static char *format_number(Arena *a, const char *pattern, const char *prefix, const char *today, long value)
{
    int ymd = atoi(today);
    char *num = numbering_format(pattern, prefix, ymd / 10000, ymd / 100 % 100, ymd % 100, value);
    if (!num)
        return NULL;
    char *out = arena_strdup(a, num);
    g_free(num);
    return out;
}

/* Numbers taken ahead by numbering_reserve for the transaction open then: next … last are still
 * to hand out. Only one document type at a time. */
static struct {
    unsigned tx;
    char doc_type[32], period[16], today[16];
    char *prefix, *pattern;
    long next, last;
} held;

char *numbering_next(Arena *a, const char *doc_type)
{
    if (held.tx && held.tx == db_tx_current() && strcmp(held.doc_type, doc_type) == 0 && held.next <= held.last)
        return format_number(a, held.pattern, held.prefix, held.today, held.next++);
    PGresult *r = take(a, doc_type, 1);
    if (!r)
        return NULL;
    return format_number(a, PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 2),
                         atol(PQgetvalue(r, 0, 3)));
}

int numbering_reserve(Arena *a, const char *doc_type, long n)
{
    if (n < 1 || strlen(doc_type) >= sizeof held.doc_type || !db_tx_current())
        return -1;
    PGresult *r = take(a, doc_type, n);
    if (!r || strlen(PQgetvalue(r, 0, 4)) >= sizeof held.period)
        return -1;
    g_free(held.prefix);
    g_free(held.pattern);
    held.prefix = g_strdup(PQgetvalue(r, 0, 0));
    held.pattern = g_strdup(PQgetvalue(r, 0, 1));
    g_strlcpy(held.today, PQgetvalue(r, 0, 2), sizeof held.today);
    g_strlcpy(held.period, PQgetvalue(r, 0, 4), sizeof held.period);
    g_strlcpy(held.doc_type, doc_type, sizeof held.doc_type);
    held.last = atol(PQgetvalue(r, 0, 3));
    held.next = held.last - n + 1;
    held.tx = db_tx_current();
    return 0;
}

int numbering_release(Arena *a)
{
    unsigned tx = held.tx;
    held.tx = 0;
    if (!tx || tx != db_tx_current() || held.next > held.last)
        return 0;
    /* The counter row has stayed locked by this transaction since the reservation, so its value
     * is still ours: giving the unused tail back leaves no gap. */
    char unused[24], last[24];
    snprintf(unused, sizeof unused, "%ld", held.last - held.next + 1);
    snprintf(last, sizeof last, "%ld", held.last);
    PGresult *r = db_exec(a,
        "UPDATE doc_counters SET last_value = last_value - $3::bigint"
        " WHERE doc_type = $1 AND period = $2 AND last_value = $4::bigint",
        held.doc_type, held.period, unused, last);
    return r && atol(PQcmdTuples(r)) == 1 ? 0 : -1;
}
