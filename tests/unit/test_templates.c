/* test_templates.c — renders every template, in both languages, with hostile strings in every
 * symbol it uses, and checks that nothing arrives unescaped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "arena.h"
#include "config.h"
#include "form.h"
#include "i18n.h"
#include "request.h"
#include "view.h"

#include <stdlib.h>
#include <string.h>

#define HOSTILE "<script>alert(1)</script>\"'&<img src=x onerror=alert(2)>{x}\\"

static const char *root(void)
{
    const char *r = getenv("KEXIN_ROOT");
    return r ? r : ".";
}

static int load(void **state)
{
    (void)state;
    g_autofree gchar *i18n = g_build_filename(root(), "templates", "i18n", NULL);
    g_autofree gchar *tpl = g_build_filename(root(), "templates", NULL);
    if (i18n_load(i18n) < 0 || view_load(tpl) < 0)
        return -1;
    return 0;
}

static bool is_int_symbol(const char *s)
{
    static const char *ints[] = {"logged_in", "status", "form_errors", NULL};
    for (int i = 0; ints[i]; i++)
        if (strcmp(s, ints[i]) == 0)
            return true;
    return g_str_has_prefix(s, "c_") || g_str_has_prefix(s, "n_") ||
           g_str_has_prefix(s, "is_") || g_str_has_prefix(s, "has_");
}

/* Symbols of a template: identifiers inside {…} blocks, minus keywords, loop iterators and
 * string literals. Loop sources are collected separately: they are arrays of rows. */
static void scan_symbols(const char *src, GHashTable *scalars, GHashTable *arrays)
{
    GHashTable *iters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (const char *p = src; *p; p++) {
        if (*p == '\\') {
            if (p[1])
                p++;
            continue;
        }
        if (*p != '{')
            continue;
        const char *end = strchr(p, '}');
        if (!end)
            break;
        g_autofree gchar *block = g_strndup(p + 1, (gsize)(end - p - 1));
        p = end;
        gchar **words = g_regex_split_simple("[^A-Za-z0-9_\"]+", block, 0, 0);
        bool is_for = words[0] && strcmp(words[0], "for") == 0;
        bool in_string = false;
        for (int i = 0; words[i]; i++) {
            const char *w = words[i];
            if (!*w)
                continue;
            if (strchr(w, '"')) { /* crude: skip words touching string literals */
                int q = 0;
                for (const char *c = w; *c; c++)
                    q += *c == '"';
                if (q % 2)
                    in_string = !in_string;
                continue;
            }
            if (in_string || g_ascii_isdigit(w[0]))
                continue;
            if (!strcmp(w, "for") || !strcmp(w, "in") || !strcmp(w, "if") || !strcmp(w, "else") ||
                !strcmp(w, "end"))
                continue;
            if (is_for && i == 1) {
                g_hash_table_add(iters, g_strdup(w));
                continue;
            }
            if (is_for && i == 3) {
                g_hash_table_add(arrays, g_strdup(w));
                continue;
            }
            if (!g_hash_table_contains(iters, w))
                g_hash_table_add(scalars, g_strdup(w));
        }
        g_strfreev(words);
    }
    g_hash_table_destroy(iters);
}

static void assert_clean(const char *html, const char *tpl, const char *lang)
{
    if (strstr(html, "<script>alert") || strstr(html, "<img src=x") || strstr(html, "\"'&<")) {
        fail_msg("template %s (%s) let a hostile string through", tpl, lang);
    }
}

static void every_template_escapes_hostile_input(void **state)
{
    (void)state;
    GPtrArray *names = view_template_names();
    assert_non_null(names);
    assert_true(names->len >= 4);
    for (int li = 0; li < I18N_NLANGS; li++) {
        for (guint t = 0; t < names->len; t++) {
            const char *tpl = g_ptr_array_index(names, t);
            g_autofree gchar *path = g_strdup_printf("%s/templates/%s.html", root(), tpl);
            g_autofree gchar *src = NULL;
            assert_true(g_file_get_contents(path, &src, NULL, NULL));

            Request req = {0};
            req.arena = arena_new();
            req.headers = g_string_new(NULL);
            req.body = g_string_new(NULL);
            req.lang = i18n_langs[li];
            req.path = HOSTILE;
            req.flash = HOSTILE;
            User u = {.id = 1, .username = HOSTILE, .display_name = HOSTILE};
            req.user = &u;

            View *v = view_new(&req);
            GHashTable *scalars = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
            GHashTable *arrays = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
            scan_symbols(src, scalars, arrays);
            GHashTableIter it;
            gpointer key;
            g_hash_table_iter_init(&it, arrays);
            while (g_hash_table_iter_next(&it, &key, NULL)) {
                GPtrArray *rows = g_ptr_array_new();
                const char *cells[41];
                for (int c = 0; c < 40; c++)
                    cells[c] = HOSTILE;
                cells[40] = NULL;
                g_ptr_array_add(rows, cells);
                g_ptr_array_add(rows, cells);
                view_set_table(v, key, rows);
                g_ptr_array_free(rows, TRUE);
            }
            g_hash_table_iter_init(&it, scalars);
            while (g_hash_table_iter_next(&it, &key, NULL)) {
                const char *s = key;
                if (g_hash_table_contains(arrays, s))
                    continue;
                if (is_int_symbol(s))
                    view_set_int(v, s, 1);
                else if (g_str_has_prefix(s, "f_") || strcmp(s, "content") == 0)
                    /* trusted symbols are built by C code that escapes its parts */
                    view_set_trusted_html(v, s, view_escape(req.arena, HOSTILE));
                else
                    view_set(v, s, HOSTILE);
            }
            char *bare = view_render_bare(&req, v, tpl);
            if (!bare)
                fail_msg("template %s (%s) failed to render", tpl, req.lang);
            assert_clean(bare, tpl, req.lang);
            if (strcmp(tpl, "layout") != 0) {
                assert_int_equal(view_render(&req, v, tpl, 200), 0);
                assert_clean(req.body->str, tpl, req.lang);
            }
            g_hash_table_destroy(scalars);
            g_hash_table_destroy(arrays);
            g_string_free(req.headers, TRUE);
            g_string_free(req.body, TRUE);
            arena_free(req.arena);
        }
    }
}

static void translations_are_applied_at_load_time(void **state)
{
    (void)state;
    for (int li = 0; li < I18N_NLANGS; li++) {
        Request req = {0};
        req.arena = arena_new();
        req.headers = g_string_new(NULL);
        req.body = g_string_new(NULL);
        req.lang = i18n_langs[li];
        req.path = "/login";
        View *v = view_new(&req);
        view_set(v, "next", "/");
        view_set(v, "message", "");
        view_set_int(v, "form_errors", 0);
        view_set_trusted_html(v, "f_username", "");
        view_set_trusted_html(v, "f_password", "");
        assert_int_equal(view_render(&req, v, "auth/login", 200), 0);
        assert_non_null(strstr(req.body->str, li == 0 ? "登录" : "Sign in"));
        assert_null(strstr(req.body->str, "[["));
        g_string_free(req.headers, TRUE);
        g_string_free(req.body, TRUE);
        arena_free(req.arena);
    }
}

/* view_set_rows_html: one rendering of the row template per row, every column escaped, only the
 * columns the template mentions pushed, and the rest of the page's symbols still visible. */
static void row_templates_render_each_row_escaped(void **state)
{
    (void)state;
    Request req = {0};
    req.arena = arena_new();
    req.headers = g_string_new(NULL);
    req.body = g_string_new(NULL);
    req.lang = "en";
    req.path = "/customers";
    View *v = view_new(&req);
    static const char *const cols[] = {"id", "code", "name", "short_name", "category", "level", "status",
                                       "status_name", "archived", "region", "owner", "contact",
                                       "contact_phone", "last_contact", "updated", "unused_column"};
    const int nc = (int)G_N_ELEMENTS(cols), nr = 3;
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc att[G_N_ELEMENTS(cols)];
    memset(att, 0, sizeof att);
    for (int c = 0; c < nc; c++) {
        att[c].name = (char *)cols[c];
        att[c].format = 0;
    }
    assert_true(PQsetResultAttrs(res, nc, att));
    for (int r = 0; r < nr; r++)
        for (int c = 0; c < nc; c++) {
            const char *val = strcmp(cols[c], "status") == 0 ? "active" : HOSTILE;
            assert_true(PQsetvalue(res, r, c, (char *)val, (int)strlen(val)));
        }
    const char *all = view_render_rows(v, res, "customers/list_row");
    assert_non_null(all);
    assert_clean(all, "customers/list_row (rows)", "en");
    int trs = 0;
    for (const char *p = all; (p = strstr(p, "<tr>")); p++)
        trs++;
    assert_int_equal(trs, nr);
    assert_non_null(strstr(all, "badge badge-ok"));  /* {if r_status == "active"} saw the value */
    assert_non_null(strstr(all, "&lt;script&gt;")); /* escaped, not dropped */
    assert_int_equal(view_set_rows_html(v, "x", res, "no/such/template"), -1);
    /* the row symbols are gone again: the page's own symbols are not shadowed */
    assert_null(view_render_bare(&req, v, "customers/list_row"));
    PQclear(res);
    g_string_free(req.headers, TRUE);
    g_string_free(req.body, TRUE);
    arena_free(req.arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_template_escapes_hostile_input),
        cmocka_unit_test(translations_are_applied_at_load_time),
        cmocka_unit_test(row_templates_render_each_row_escaped),
    };
    return cmocka_run_group_tests(tests, load, NULL);
}
