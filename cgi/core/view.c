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
/* name → set of the identifiers its {…} blocks mention (row templates push only those) */
static GHashTable *words;
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
    if (words)
        g_hash_table_destroy(words);
    words = NULL;
}

/* The identifiers inside the template's {…} blocks (a superset of its symbols: keywords and
 * words of string literals come along, which is harmless). */
static GHashTable *scan_words(const char *src)
{
    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    bool inside = false;
    for (const char *p = src; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (*p == '{' || *p == '}') {
            inside = *p == '{';
            continue;
        }
        if (!inside || !(g_ascii_isalpha(*p) || *p == '_'))
            continue;
        const char *start = p;
        while (g_ascii_isalnum(p[1]) || p[1] == '_')
            p++;
        g_hash_table_add(set, g_strndup(start, (gsize)(p - start + 1)));
    }
    return set;
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
        g_hash_table_replace(words, g_strdup(name), scan_words(src));
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
    words = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_hash_table_destroy);
    for (int i = 0; i < I18N_NLANGS; i++)
        trees[i] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, tree_free);
    return load_dir(template_dir, NULL);
}

GPtrArray *view_template_names(void)
{
    return names;
}

/* True when s is valid UTF-8 that g_markup_escape_text would leave as it is: no & < > " ',
 * no control characters (C0 other than tab and newlines, DEL, C1 as U+0080–U+009F). */
static bool plain_text(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char b = *p;
        if (b < 0x20 ? (b != '\t' && b != '\n' && b != '\r')
                     : (b == '&' || b == '<' || b == '>' || b == '"' || b == '\'' || b == 0x7f ||
                        (b == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)))
            return false;
    }
    return g_utf8_validate(s, -1, NULL);
}

char *view_escape(Arena *a, const char *s)
{
    if (!s)
        return arena_strdup(a, "");
    if (plain_text(s)) /* most cells: one copy, no escaping pass */
        return arena_strdup(a, s);
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

static CtplToken *tree_of(Request *req, const char *tpl)
{
    int li = strcmp(req->lang, "en") == 0 ? 1 : 0;
    CtplToken *tree = g_hash_table_lookup(trees[li], tpl);
    if (!tree)
        log_error("no template %s", tpl);
    return tree;
}

/* An in-memory output for the CTPL parser; out_take() NUL-terminates it and hands the text to the
 * arena. */
typedef struct {
    GOutputStream *mem;
    CtplOutputStream *out;
} Out;

static Out out_new(void)
{
    Out o = {g_memory_output_stream_new_resizable(), NULL};
    o.out = ctpl_output_stream_new(o.mem);
    return o;
}

static char *out_take(Request *req, Out *o, bool keep)
{
    char *result = NULL;
    if (keep) {
        g_output_stream_write(o->mem, "", 1, NULL, NULL);
        result = arena_strdup(req->arena, g_memory_output_stream_get_data(G_MEMORY_OUTPUT_STREAM(o->mem)));
    }
    ctpl_output_stream_unref(o->out);
    g_object_unref(o->mem);
    return result;
}

static bool parse_into(CtplToken *tree, View *v, Out *o, const char *tpl)
{
    GError *e = NULL;
    if (ctpl_parser_parse(tree, v->env, o->out, &e))
        return true;
    log_error("render %s: %s", tpl, e ? e->message : "?");
    g_clear_error(&e);
    return false;
}

static char *render_tree(Request *req, View *v, const char *tpl)
{
    CtplToken *tree = tree_of(req, tpl);
    if (!tree)
        return NULL;
    Out o = out_new();
    bool ok = parse_into(tree, v, &o, tpl);
    return out_take(req, &o, ok);
}

char *view_render_rows(View *v, const PGresult *res, const char *tpl)
{
    Request *req = v->req;
    CtplToken *tree = tree_of(req, tpl);
    if (!tree)
        return NULL;
    int nf = res ? PQnfields(res) : 0, nt = res ? PQntuples(res) : 0;
    /* Only the columns the row template mentions are pushed. */
    GHashTable *used = g_hash_table_lookup(words, tpl);
    const char **symbols = arena_alloc(req->arena, sizeof(char *) * (size_t)(nf + 1));
    int *cols = arena_alloc(req->arena, sizeof(int) * (size_t)(nf + 1));
    int n = 0;
    for (int c = 0; c < nf; c++) {
        char *sym = arena_printf(req->arena, "r_%s", PQfname(res, c));
        if (!used || g_hash_table_contains(used, sym)) {
            symbols[n] = sym;
            cols[n++] = c;
        }
    }
    Out o = out_new();
    bool ok = true;
    for (int r = 0; r < nt && ok; r++) {
        for (int k = 0; k < n; k++)
            view_set(v, symbols[k], PQgetisnull(res, r, cols[k]) ? "" : PQgetvalue(res, r, cols[k]));
        ok = parse_into(tree, v, &o, tpl);
        for (int k = 0; k < n; k++)
            ctpl_environ_pop(v->env, symbols[k], NULL);
    }
    return out_take(req, &o, ok);
}

int view_set_rows_html(View *v, const char *name, const PGresult *res, const char *tpl)
{
    char *html = view_render_rows(v, res, tpl);
    if (!html)
        return -1;
    view_set_trusted_html(v, name, html);
    return 0;
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
