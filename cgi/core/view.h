/* view.h — CTPL templates lexed once per language; every text pushed into a view is HTML-escaped. */
#ifndef KEXIN_VIEW_H
#define KEXIN_VIEW_H

#include "request.h"

#include <libpq-fe.h>

typedef struct View View;

/* Lexes every templates/ (every .html below it) once per language, with [[English text]] markers replaced
 * by the (escaped) translation. Returns 0, or -1 with the failing template logged. */
int view_load(const char *template_dir);
void view_unload(void);
/* Names of all loaded templates ("auth/login", …), for the hostile-string test. */
GPtrArray *view_template_names(void);

/* A view for this request: layout defaults (language, user, CSRF token, flash, navigation)
 * are already pushed. Freed with the request arena. */
View *view_new(Request *req);

/* Text: escaped (invalid UTF-8 repaired first). NULL becomes "". */
void view_set(View *v, const char *name, const char *text);
/* Text translated into the request's language, then escaped. */
void view_set_tr(View *v, const char *name, const char *msgid);
void view_set_int(View *v, const char *name, long value);
/* Trusted HTML, never from input: only for markup the C code built itself from escaped
 * parts (form fields, rendered page content). Keep every call easy to grep. */
void view_set_trusted_html(View *v, const char *name, const char *html);
/* Rows of a result as an array of arrays of escaped strings, plus one integer per column
 * named c_<column> holding its position, so templates say {r[c_name]}. */
void view_set_rows(View *v, const char *name, const PGresult *res);
/* Long lists: renders templates/<tpl>.html once per row of res, with every column pushed as the
 * escaped scalar r_<column> (the page's other symbols stay visible), and sets `name` to the
 * joined rows for the page template to print. CTPL copies a whole row array for each {r[c_x]}
 * it evaluates, so a 50-row, 25-column page spends most of its time copying; a scalar costs
 * one copy. Returns -1 when the template is missing or fails. */
int view_set_rows_html(View *v, const char *name, const PGresult *res, const char *tpl);
/* The joined rows themselves (arena-owned), or NULL. */
char *view_render_rows(View *v, const PGresult *res, const char *tpl);
/* A list of rows built in C: each row is an array of texts (escaped here). */
void view_set_table(View *v, const char *name, GPtrArray *rows /* of char*[] NULL-ended */);
/* Column position names for a hand-built table: c_<names[i]> = i. */
void view_set_columns(View *v, const char *const *names);

/* Renders templates/<tpl>.html inside the layout into req->body with this status. */
int view_render(Request *req, View *v, const char *tpl, int status);
/* Renders a template alone (no layout) into a new string owned by the arena, or NULL. */
char *view_render_bare(Request *req, View *v, const char *tpl);

/* Escapes text for HTML (element content and double-quoted attributes). */
char *view_escape(Arena *a, const char *s);

#endif
