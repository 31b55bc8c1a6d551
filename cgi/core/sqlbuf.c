/* sqlbuf.c — statement builder: constant SQL text plus parameters, executed through db_execv. */
#include "sqlbuf.h"
#include "db.h"
#include "log.h"

#include <glib.h>
#include <string.h>

static void free_gstring(void *p)
{
    g_string_free(p, TRUE);
}

SqlBuf *sql_new(Arena *a, const char *text)
{
    SqlBuf *q = arena_alloc(a, sizeof *q);
    q->a = a;
    q->sql = arena_defer(a, free_gstring, g_string_new(text ? text : ""));
    return q;
}

void sql_add(SqlBuf *q, const char *text)
{
    g_string_append(q->sql, text);
}

const char *sql_param(SqlBuf *q, const char *value)
{
    if (q->n >= SQLBUF_MAX_PARAMS) {
        q->overflow = 1;
        return "NULL";
    }
    q->values[q->n++] = value;
    return arena_printf(q->a, "$%d", q->n);
}

void sql_addp(SqlBuf *q, const char *fmt, const char *value)
{
    const char *ph = sql_param(q, value);
    const char *s = strstr(fmt, "%s");
    if (!s) {
        g_string_append(q->sql, fmt);
        return;
    }
    g_string_append_len(q->sql, fmt, s - fmt);
    g_string_append(q->sql, ph);
    g_string_append(q->sql, s + 2);
}

static PGresult *run(SqlBuf *q, bool prepare)
{
    if (q->overflow) {
        log_error("statement has more than %d parameters", SQLBUF_MAX_PARAMS);
        return NULL;
    }
    return db_run(q->a, q->sql->str, q->n, q->values, prepare);
}

PGresult *sql_exec(SqlBuf *q)
{
    return run(q, false);
}

PGresult *sql_exec_prepared(SqlBuf *q)
{
    return run(q, true);
}

char *sql_text_array(Arena *a, const char *const *items, int n)
{
    GString *s = g_string_new("{");
    for (int i = 0; i < n; i++) {
        if (i)
            g_string_append_c(s, ',');
        if (!items[i]) {
            g_string_append(s, "NULL");
            continue;
        }
        g_string_append_c(s, '"');
        for (const char *p = items[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                g_string_append_c(s, '\\');
            g_string_append_c(s, *p);
        }
        g_string_append_c(s, '"');
    }
    g_string_append_c(s, '}');
    char *out = arena_strdup(a, s->str);
    g_string_free(s, TRUE);
    return out;
}

char *sql_like_contains(Arena *a, const char *text)
{
    GString *s = g_string_new("%");
    for (const char *p = text; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            g_string_append_c(s, '\\');
        g_string_append_c(s, *p);
    }
    g_string_append_c(s, '%');
    char *out = arena_strdup(a, s->str);
    g_string_free(s, TRUE);
    return out;
}
