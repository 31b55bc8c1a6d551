/* listing.c — list paging, sorting and links that keep the filters. */
#include "listing.h"
#include "i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ListState *list_begin(Request *req, const ListSort *sorts, const char *default_key, bool desc)
{
    ListState *ls = arena_alloc(req->arena, sizeof *ls);
    ls->req = req;
    ls->sorts = sorts;
    ls->desc = desc;
    const char *want = req_query(req, "sort");
    for (int i = 0; sorts[i].key; i++) {
        if (strcmp(sorts[i].key, default_key) == 0)
            ls->sort = i;
    }
    for (int i = 0; want && sorts[i].key; i++) {
        if (strcmp(sorts[i].key, want) == 0) {
            ls->sort = i;
            const char *dir = req_query(req, "dir");
            ls->desc = dir && strcmp(dir, "desc") == 0;
        }
    }
    const char *per = req_query(req, "per");
    ls->per_page = per && (!strcmp(per, "20") || !strcmp(per, "100")) ? atoi(per) : 50;
    const char *page = req_query(req, "page");
    long p = page ? strtol(page, NULL, 10) : 1;
    ls->page = p >= 1 && p <= 100000 ? (int)p : 1;
    /* The count reaches ten pages past this one (at least LIST_COUNT_MIN rows), so the pager
     * can always go on; ?count=all asks for the exact number. */
    const char *count = req_query(req, "count");
    ls->cap = count && strcmp(count, "all") == 0 ? 0 : MAX(LIST_COUNT_MIN, (long)(ls->page + 10) * ls->per_page);
    return ls;
}

/* LIMIT and OFFSET are written as numbers, not parameters: with a parameter PostgreSQL
 * guesses 10 % of the table and never settles on the prepared statement's generic plan. */
void list_limit(const ListState *ls, SqlBuf *q)
{
    sql_add(q, arena_printf(ls->req->arena, " LIMIT %d OFFSET %ld", ls->per_page,
                            (long)(ls->page - 1) * ls->per_page));
}

void list_count_limit(const ListState *ls, SqlBuf *count)
{
    if (ls->cap)
        sql_add(count, arena_printf(ls->req->arena, " LIMIT %ld", ls->cap + 1));
}

void list_order_limit(const ListState *ls, SqlBuf *q, const char *tiebreak)
{
    sql_add(q, " ORDER BY ");
    sql_add(q, ls->sorts[ls->sort].sql);
    if (ls->sorts[ls->sort].nullable)
        sql_add(q, ls->desc ? " DESC NULLS LAST, " : " ASC NULLS LAST, ");
    else
        sql_add(q, ls->desc ? " DESC, " : " ASC, ");
    sql_add(q, tiebreak);
    sql_add(q, ls->desc ? " DESC" : " ASC");
    list_limit(ls, q);
}

int list_count(ListState *ls, SqlBuf *count)
{
    PGresult *r = sql_exec(count);
    if (!r || PQntuples(r) != 1)
        return -1;
    ls->total = atol(PQgetvalue(r, 0, 0));
    return 0;
}

char *list_query_with(Request *req, const char *const *names, const char *const *values, int n)
{
    GString *s = g_string_new(NULL);
    for (int i = 0; i < req->query.n; i++) {
        const Param *p = &req->query.items[i];
        bool replaced = false;
        for (int k = 0; k < n; k++)
            if (strcmp(p->name, names[k]) == 0)
                replaced = true;
        if (replaced || !*p->value)
            continue;
        gchar *en = g_uri_escape_string(p->name, NULL, FALSE);
        gchar *ev = g_uri_escape_string(p->value, NULL, FALSE);
        g_string_append_printf(s, "%s%s=%s", s->len ? "&" : "?", en, ev);
        g_free(en);
        g_free(ev);
    }
    for (int k = 0; k < n; k++) {
        if (!values[k])
            continue;
        gchar *ev = g_uri_escape_string(values[k], NULL, FALSE);
        g_string_append_printf(s, "%s%s=%s", s->len ? "&" : "?", names[k], ev);
        g_free(ev);
    }
    char *out = arena_strdup(req->arena, s->str);
    g_string_free(s, TRUE);
    return out;
}

static char *group_thousands(Arena *a, long n)
{
    char raw[32];
    snprintf(raw, sizeof raw, "%ld", n);
    GString *s = g_string_new(NULL);
    int len = (int)strlen(raw);
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            g_string_append_c(s, ',');
        g_string_append_c(s, raw[i]);
    }
    char *out = arena_strdup(a, s->str);
    g_string_free(s, TRUE);
    return out;
}

static void page_link(ListState *ls, GString *h, int page, const char *text, bool current)
{
    Arena *a = ls->req->arena;
    if (current) {
        g_string_append_printf(h, "<span class=\"page current\" aria-current=\"page\">%s</span>", text);
        return;
    }
    char num[16];
    snprintf(num, sizeof num, "%d", page);
    const char *names[] = {"page"};
    const char *values[] = {page > 1 ? num : NULL};
    g_string_append_printf(h, "<a class=\"page\" href=\"%s%s\">%s</a>",
                           view_escape(a, ls->req->path),
                           view_escape(a, list_query_with(ls->req, names, values, 1)), text);
}

void list_push(ListState *ls, View *v)
{
    Request *req = ls->req;
    Arena *a = req->arena;
    const char *lang = req->lang;
    bool capped = ls->cap && ls->total > ls->cap;
    long shown_total = capped ? ls->cap : ls->total;
    int pages = (int)((shown_total + ls->per_page - 1) / ls->per_page);
    if (pages < 1)
        pages = 1;
    long first = ls->total ? (long)(ls->page - 1) * ls->per_page + 1 : 0;
    long last = first ? first + ls->per_page - 1 : 0;
    if (last > shown_total)
        last = shown_total;
    char *total = capped ? arena_printf(a, "%s+", group_thousands(a, ls->cap))
                         : group_thousands(a, ls->total);
    view_set(v, "total", total);
    view_set_int(v, "n_total", ls->total);
    view_set_int(v, "per_page", ls->per_page);

    GString *h = g_string_new("<nav class=\"pager\" aria-label=\"");
    g_string_append(h, view_escape(a, i18n_get(lang, N_("Pages"))));
    g_string_append(h, "\"><span class=\"pager-info\">");
    char *info = g_strdup_printf(i18n_get(lang, N_("%s–%s of %s")), group_thousands(a, first),
                                 group_thousands(a, last), total);
    g_string_append(h, view_escape(a, info));
    g_free(info);
    if (capped) {
        const char *names[] = {"count"};
        const char *values[] = {"all"};
        g_string_append_printf(h, " <a class=\"count-all\" href=\"%s%s\" rel=\"nofollow\">%s</a>",
                               view_escape(a, req->path), view_escape(a, list_query_with(req, names, values, 1)),
                               view_escape(a, i18n_get(lang, N_("Count them all"))));
    }
    g_string_append(h, "</span>");
    if (pages > 1) {
        if (ls->page > 1)
            page_link(ls, h, ls->page - 1, "‹", false);
        int lo = ls->page - 3 < 1 ? 1 : ls->page - 3;
        int hi = lo + 6 > pages ? pages : lo + 6;
        if (lo > 1)
            page_link(ls, h, 1, "1", false);
        if (lo > 2)
            g_string_append(h, "<span class=\"page gap\">…</span>");
        for (int p = lo; p <= hi; p++) {
            char t[16];
            snprintf(t, sizeof t, "%d", p);
            page_link(ls, h, p, t, p == ls->page);
        }
        /* A capped count does not know the last page: only a gap, then "next". */
        if (hi < pages - 1 || (capped && hi < pages))
            g_string_append(h, "<span class=\"page gap\">…</span>");
        if (hi < pages && !capped) {
            char t[16];
            snprintf(t, sizeof t, "%d", pages);
            page_link(ls, h, pages, t, false);
        }
        if (ls->page < pages)
            page_link(ls, h, ls->page + 1, "›", false);
    }
    g_string_append(h, "</nav>");
    view_set_trusted_html(v, "pager", arena_strdup(a, h->str));
    g_string_free(h, TRUE);

    for (int i = 0; ls->sorts[i].key; i++) {
        bool active = i == ls->sort;
        const char *dir = active && !ls->desc ? "desc" : "asc";
        const char *names[] = {"sort", "dir", "page"};
        const char *values[] = {ls->sorts[i].key, dir, NULL};
        view_set(v, arena_printf(a, "sort_%s", ls->sorts[i].key),
                 arena_printf(a, "%s%s", req->path, list_query_with(req, names, values, 3)));
        view_set(v, arena_printf(a, "dir_%s", ls->sorts[i].key),
                 active ? (ls->desc ? "desc" : "asc") : "");
    }
}

bool list_walk_cheaper(gint64 rows, gint64 ppm, long bound, int walk_cost, int match_cost)
{
    if (rows <= 0 || ppm <= 0 || bound <= 0)
        return false;
    ppm = MIN(ppm, 1000000);
    gint64 walk = (gint64)bound * 1000000 / ppm * walk_cost;
    gint64 read = rows * ppm / 1000000 * match_cost; /* rows × ppm < 2^63 for rows < 9e12 */
    return walk < read;
}
