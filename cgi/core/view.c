/* view.c — the only door from C values into HTML: escaping pushes, pre-lexed template trees. */
#include "view.h"
#include "i18n.h"
#include "log.h"
#include "nav.h"
#include "session.h"

#include <ctpl/ctpl.h>
#include <string.h>

/* name → CtplToken tree, one table per language */
static GHashTable *trees[I18N_NLANGS];
static GPtrArray *names;

struct View {
    Request *req;
    CtplEnviron *env;
};

static void tree_free(gpointer p)
{
    ctpl_token_free(p);
}

void view_unload(void)
{
    for (int i = 0; i < I18N_NLANGS; i++)
        if (trees[i]) {
            g_hash_table_destroy(trees[i]);
            trees[i] = NULL;
        }
    if (names)
        g_ptr_array_free(names, TRUE);
    names = NULL;
}

/* Appends text escaped for HTML and for CTPL raw data (\ { } are CTPL's specials). */
static void append_template_text(GString *out, const char *text)
{
    g_autofree gchar *html = g_markup_escape_text(text, -1);
    for (const char *p = html; *p; p++) {
        if (*p == '\\' || *p == '{' || *p == '}')
            g_string_append_c(out, '\\');
        g_string_append_c(out, *p);
    }
}

/* Drops <!-- … --> comments: they document the template for its readers, not for browsers. */
static gchar *strip_comments(const char *src)
{
    GString *out = g_string_sized_new(strlen(src));
    const char *p = src;
    const char *open;
    while ((open = strstr(p, "<!--"))) {
        const char *close = strstr(open + 4, "-->");
        if (!close)
            break;
        g_string_append_len(out, p, open - p);
        p = close + 3;
        if (*p == '\n')
            p++;
    }
    g_string_append(out, p);
    return g_string_free(out, FALSE);
}

/* Replaces every [[English]] marker with its translation. */
static gchar *translate_source(const char *source, const char *lang, const char *name)
{
    g_autofree gchar *src = strip_comments(source);
    GString *out = g_string_sized_new(strlen(src) + 256);
    const char *p = src;
    for (;;) {
        const char *open = strstr(p, "[[");
        if (!open)
            break;
        const char *close = strstr(open + 2, "]]");
        if (!close) {
            log_error("template %s: unclosed [[ marker", name);
            g_string_free(out, TRUE);
            return NULL;
        }
        g_string_append_len(out, p, open - p);
        g_autofree gchar *msgid = g_strndup(open + 2, (gsize)(close - open - 2));
        append_template_text(out, i18n_get(lang, msgid));
        p = close + 2;
    }
    g_string_append(out, p);
    return g_string_free(out, FALSE);
}

static int load_dir(const char *root, const char *rel)
{
    g_autofree gchar *dirpath = rel ? g_build_filename(root, rel, NULL) : g_strdup(root);
    GDir *dir = g_dir_open(dirpath, 0, NULL);
    if (!dir) {
        log_error("cannot open template folder %s", dirpath);
        return -1;
    }
    int rc = 0;
    const char *entry;
    while (rc == 0 && (entry = g_dir_read_name(dir))) {
        g_autofree gchar *relpath = rel ? g_build_filename(rel, entry, NULL) : g_strdup(entry);
        g_autofree gchar *full = g_build_filename(root, relpath, NULL);
        if (g_file_test(full, G_FILE_TEST_IS_DIR)) {
            if (strcmp(entry, "i18n") != 0)
                rc = load_dir(root, relpath);
            continue;
        }
        if (!g_str_has_suffix(entry, ".html"))
            continue;
        gchar *src = NULL;
        GError *e = NULL;
        if (!g_file_get_contents(full, &src, NULL, &e)) {
            log_error("template %s: %s", full, e->message);
            g_error_free(e);
            rc = -1;
            break;
        }
        gchar *name = g_strndup(relpath, strlen(relpath) - 5);
        g_ptr_array_add(names, name);
        for (int i = 0; i < I18N_NLANGS && rc == 0; i++) {
            g_autofree gchar *text = translate_source(src, i18n_langs[i], name);
            CtplToken *t = text ? ctpl_lexer_lex_string(text, &e) : NULL;
            if (!t) {
                log_error("template %s (%s): %s", name, i18n_langs[i], e ? e->message : "bad");
                g_clear_error(&e);
                rc = -1;
                break;
            }
            g_hash_table_replace(trees[i], g_strdup(name), t);
        }
        g_free(src);
    }
    g_dir_close(dir);
    return rc;
}

int view_load(const char *template_dir)
{
    view_unload();
    names = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; i < I18N_NLANGS; i++)
        trees[i] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, tree_free);
    return load_dir(template_dir, NULL);
}

GPtrArray *view_template_names(void)
{
    return names;
}

char *view_escape(Arena *a, const char *s)
{
    if (!s)
        return arena_strdup(a, "");
    gchar *valid = g_utf8_validate(s, -1, NULL) ? NULL : g_utf8_make_valid(s, -1);
    gchar *esc = g_markup_escape_text(valid ? valid : s, -1);
    char *out = arena_strdup(a, esc);
    g_free(esc);
    g_free(valid);
    return out;
}

static void env_unref(void *p)
{
    ctpl_environ_unref(p);
}

void view_set(View *v, const char *name, const char *text)
{
    ctpl_environ_push_string(v->env, name, view_escape(v->req->arena, text));
}

void view_set_tr(View *v, const char *name, const char *msgid)
{
    view_set(v, name, i18n_get(v->req->lang, msgid));
}

void view_set_int(View *v, const char *name, long value)
{
    ctpl_environ_push_int(v->env, name, value);
}

void view_set_trusted_html(View *v, const char *name, const char *html)
{
    ctpl_environ_push_string(v->env, name, html ? html : "");
}

static void push_string_row(View *v, CtplValue *rows, const char *const *cells, int n)
{
    CtplValue row;
    ctpl_value_init(&row);
    ctpl_value_set_array(&row, CTPL_VTYPE_STRING, 0, NULL);
    for (int c = 0; c < n; c++)
        ctpl_value_array_append_string(&row, view_escape(v->req->arena, cells[c]));
    ctpl_value_array_append(rows, &row);
    ctpl_value_free_value(&row);
}

void view_set_rows(View *v, const char *name, const PGresult *res)
{
    CtplValue rows;
    ctpl_value_init(&rows);
    ctpl_value_set_array(&rows, CTPL_VTYPE_STRING, 0, NULL);
    int nf = res ? PQnfields(res) : 0;
    int nt = res ? PQntuples(res) : 0;
    const char **cells = arena_alloc(v->req->arena, sizeof(char *) * (size_t)(nf + 1));
    for (int r = 0; r < nt; r++) {
        for (int c = 0; c < nf; c++)
            cells[c] = PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c);
        push_string_row(v, &rows, cells, nf);
    }
    ctpl_environ_push(v->env, name, &rows);
    ctpl_value_free_value(&rows);
    for (int c = 0; c < nf; c++)
        view_set_int(v, arena_printf(v->req->arena, "c_%s", PQfname(res, c)), c);
}

void view_set_table(View *v, const char *name, GPtrArray *table)
{
    CtplValue rows;
    ctpl_value_init(&rows);
    ctpl_value_set_array(&rows, CTPL_VTYPE_STRING, 0, NULL);
    for (guint r = 0; table && r < table->len; r++) {
        const char *const *cells = g_ptr_array_index(table, r);
        int n = 0;
        while (cells[n])
            n++;
        push_string_row(v, &rows, cells, n);
    }
    ctpl_environ_push(v->env, name, &rows);
    ctpl_value_free_value(&rows);
}

void view_set_columns(View *v, const char *const *cols)
{
    for (int i = 0; cols[i]; i++)
        view_set_int(v, arena_printf(v->req->arena, "c_%s", cols[i]), i);
}

View *view_new(Request *req)
{
    View *v = arena_alloc(req->arena, sizeof *v);
    v->req = req;
    v->env = arena_defer(req->arena, env_unref, ctpl_environ_new());
    view_set(v, "lang", req->lang);
    view_set(v, "html_lang", strcmp(req->lang, "en") == 0 ? "en" : "zh-CN");
    view_set(v, "csrf", csrf_token(req));
    view_set(v, "path", req->path);
    view_set(v, "title", "");
    view_set(v, "flash", req->flash ? i18n_get(req->lang, req->flash) : "");
    view_set(v, "flash_kind", req->flash_kind ? req->flash_kind : "ok");
    view_set_int(v, "logged_in", req->user != NULL);
    view_set(v, "user_name", req->user ? (req->user->display_name && *req->user->display_name
                                                  ? req->user->display_name
                                                  : req->user->username)
                                       : "");
    view_set_int(v, "is_admin", req->user && req->user->is_admin);
    nav_push(req, v);
    return v;
}

static char *render_tree(Request *req, View *v, const char *tpl)
{
    int li = strcmp(req->lang, "en") == 0 ? 1 : 0;
    CtplToken *tree = g_hash_table_lookup(trees[li], tpl);
    if (!tree) {
        log_error("no template %s", tpl);
        return NULL;
    }
    GOutputStream *mem = g_memory_output_stream_new_resizable();
    CtplOutputStream *out = ctpl_output_stream_new(mem);
    GError *e = NULL;
    char *result = NULL;
    if (ctpl_parser_parse(tree, v->env, out, &e)) {
        g_output_stream_write(mem, "", 1, NULL, NULL);
        result = arena_strdup(req->arena,
                              g_memory_output_stream_get_data(G_MEMORY_OUTPUT_STREAM(mem)));
    } else {
        log_error("render %s: %s", tpl, e ? e->message : "?");
        g_clear_error(&e);
    }
    ctpl_output_stream_unref(out);
    g_object_unref(mem);
    return result;
}

char *view_render_bare(Request *req, View *v, const char *tpl)
{
    return render_tree(req, v, tpl);
}

int view_render(Request *req, View *v, const char *tpl, int status)
{
    char *page = render_tree(req, v, tpl);
    if (!page)
        return -1;
    view_set_trusted_html(v, "content", page);
    char *html = render_tree(req, v, "layout");
    if (!html)
        return -1;
    req->status = status;
    req->content_type_out = "text/html; charset=utf-8";
    g_string_assign(req->body, html);
    return 0;
}
