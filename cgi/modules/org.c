/* org.c — the organisation admin: users (with manager, department, roles), the department tree,
 * and roles with their permission matrix and data scope. Every change is one transaction with
 * its audit row; edit forms use optimistic locking. */
#include "../core/audit.h"
#include "../core/auth.h"
#include "../core/db.h"
#include "../core/form.h"
#include "../core/i18n.h"
#include "../core/listing.h"
#include "../core/money.h"
#include "../core/perm.h"
#include "../core/response.h"
#include "../core/router.h"
#include "../core/session.h"
#include "../core/sqlbuf.h"
#include "../core/users.h"
#include "../core/view.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* templates/org/role_form.html has one matrix column per action, written out. */
_Static_assert(PERM_NACTIONS == 7, "update the matrix columns of templates/org/role_form.html");

#define MAX_IDS 200 /* most roles one user form may carry, and similar id lists */

/* ---- small helpers ------------------------------------------------------------------------ */

/* A positive integer written in plain digits (path captures, select values). */
static bool parse_id(const char *s, long *out)
{
    if (!s || !*s || strlen(s) > 18 || strspn(s, "0123456789") != strlen(s))
        return false;
    long v = strtol(s, NULL, 10);
    if (v <= 0)
        return false;
    *out = v;
    return true;
}

static bool is_true(const char *v)
{
    return v && (v[0] == 't' || v[0] == '1');
}

/* Copies the last SQLSTATE before a rollback resets it. */
static void keep_state(char state[6])
{
    g_strlcpy(state, db_sqlstate(), 6);
}

static int cmp_long(const void *x, const void *y)
{
    long a = *(const long *)x, b = *(const long *)y;
    return a < b ? -1 : a > b;
}

static int cmp_cstr(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Every value of a repeated form field (checkbox groups) as sorted, distinct ids joined by
 * commas ("" when none). False when a value is not an id, or there are too many: the form
 * was not ours. */
static bool form_ids(Request *req, const char *name, const char **joined)
{
    long ids[MAX_IDS];
    int n = 0;
    for (int i = 0; i < req->form.n; i++) {
        if (strcmp(req->form.items[i].name, name) != 0)
            continue;
        if (n >= MAX_IDS || !parse_id(req->form.items[i].value, &ids[n]))
            return false;
        n++;
    }
    qsort(ids, (size_t)n, sizeof ids[0], cmp_long);
    GString *s = g_string_new(NULL);
    for (int i = 0; i < n; i++) {
        if (i && ids[i] == ids[i - 1])
            continue;
        g_string_append_printf(s, "%s%ld", s->len ? "," : "", ids[i]);
    }
    *joined = arena_strdup(req->arena, s->str);
    g_string_free(s, TRUE);
    return true;
}

/* "1,2,3" → "{1,2,3}" for a bigint[] parameter (the list is digits and commas only). */
static char *id_array(Request *req, const char *joined)
{
    return arena_printf(req->arena, "{%s}", joined ? joined : "");
}

/* Whether the comma-joined list contains item exactly. */
static bool list_has(const char *joined, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = joined; p && *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && strncmp(p, item, n) == 0)
            return true;
        p = c ? c + 1 : p + len;
    }
    return false;
}

/* The changed columns between two one-row snapshots (same SELECT before and after the
 * change; old NULL or empty for a creation, now NULL or empty for a deletion). */
static void diff_rows(AuditDiff *d, const PGresult *old, const PGresult *now)
{
    const PGresult *shape = now && PQntuples(now) ? now : old;
    if (!shape)
        return;
    bool has_old = old && PQntuples(old) == 1, has_now = now && PQntuples(now) == 1;
    for (int c = 0; c < PQnfields(shape); c++)
        audit_diff(d, PQfname(shape, c), has_old ? db_val(old, 0, c) : "",
                   has_now ? db_val(now, 0, c) : "");
}

/* The Users | Departments | Roles tabs above every page of the module. */
static void push_tabs(Request *req, View *v, const char *tab)
{
    View *t = view_new(req);
    view_set(t, "tab", tab);
    view_set_trusted_html(v, "tabs", view_render_bare(req, t, "org/tabs"));
}

/* ---- fields drawn here rather than by form.c ------------------------------------------------
 * Selects whose options come from the database (departments, managers) and checkbox groups
 * (roles) get the same frame as form.c's fields: label, help, note, error. Option labels are
 * data, so they are escaped but never looked up in the catalogue. */

typedef struct Opt {
    const char *value;
    const char *label;
} Opt;

typedef struct Opts {
    Opt *items;
    int n;
} Opts;

static Opts *opts_from(Request *req, const PGresult *r)
{
    Opts *o = arena_alloc(req->arena, sizeof *o);
    o->n = r ? PQntuples(r) : 0;
    o->items = arena_alloc(req->arena, sizeof(Opt) * (size_t)(o->n + 1));
    for (int i = 0; i < o->n; i++) {
        o->items[i].value = PQgetvalue(r, i, 0);
        o->items[i].label = PQgetvalue(r, i, 1);
    }
    return o;
}

static const char *opt_label(const Opts *o, const char *value)
{
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->items[i].value, value) == 0)
            return o->items[i].label;
    return value;
}

/* Labels of a comma-joined list of values, joined by ", ". */
static char *opt_labels(Request *req, const Opts *o, const char *joined)
{
    GString *s = g_string_new(NULL);
    gchar **parts = g_strsplit(joined ? joined : "", ",", -1);
    for (int i = 0; parts[i]; i++)
        if (*parts[i])
            g_string_append_printf(s, "%s%s", s->len ? ", " : "", opt_label(o, parts[i]));
    g_strfreev(parts);
    char *out = arena_strdup(req->arena, s->len ? s->str : "—");
    g_string_free(s, TRUE);
    return out;
}

static int field_index(const Form *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->defs[i].name, name) == 0)
            return i;
    return -1;
}

/* The frame around a control, as form.c draws it. arg_shown replaces the error's %s argument
 * (a stored id becomes its label). */
static char *field_frame(Form *f, int i, const char *control, bool group, const char *arg_shown)
{
    Arena *a = f->req->arena;
    const FieldDef *d = &f->defs[i];
    const char *lang = f->req->lang;
    const char *name = view_escape(a, d->name);
    const char *label = view_escape(a, i18n_get(lang, d->label));
    const char *req_mark = (d->flags & F_REQUIRED) ? " class=\"required\"" : "";
    GString *h = g_string_new(NULL);
    g_string_append_printf(h, "<div class=\"field%s\"", f->errors[i] ? " has-error" : "");
    if (group)
        g_string_append_printf(h, " role=\"group\" aria-labelledby=\"f-%s-label\"><label id=\"f-%s-label\"%s>%s</label>",
                               name, name, req_mark, label);
    else
        g_string_append_printf(h, "><label for=\"f-%s\"%s>%s</label>", name, req_mark, label);
    g_string_append(h, control);
    if (d->help)
        g_string_append_printf(h, "<p class=\"field-help\">%s</p>", view_escape(a, i18n_get(lang, d->help)));
    if (f->notes[i])
        g_string_append_printf(h, "<p class=\"field-note\">%s</p>", view_escape(a, i18n_get(lang, f->notes[i])));
    if (f->errors[i]) {
        const char *msg = i18n_get(lang, f->errors[i]);
        const char *arg = f->err_args[i] ? (arg_shown ? arg_shown : f->err_args[i]) : NULL;
        char *text = arg ? g_strdup_printf(msg, arg) : g_strdup(msg);
        g_string_append_printf(h, "<p class=\"field-error\" id=\"f-%s-err\">%s</p>", name, view_escape(a, text));
        g_free(text);
    }
    g_string_append(h, "</div>");
    char *out = arena_strdup(a, h->str);
    g_string_free(h, TRUE);
    return out;
}

/* Pushes f_<name> as a select of the options, with an empty first choice. */
static void push_select(Form *f, View *v, const char *name, const Opts *o, const char *none_msgid)
{
    Arena *a = f->req->arena;
    int i = field_index(f, name);
    g_assert(i >= 0);
    const char *value = f->values[i];
    GString *h = g_string_new(NULL);
    g_string_append_printf(h, "<select id=\"f-%s\" name=\"%s\"", name, name);
    if (f->errors[i])
        g_string_append_printf(h, " aria-invalid=\"true\" aria-describedby=\"f-%s-err\"", name);
    g_string_append_printf(h, "><option value=\"\">%s</option>",
                           view_escape(a, i18n_get(f->req->lang, none_msgid)));
    for (int k = 0; k < o->n; k++)
        g_string_append_printf(h, "<option value=\"%s\"%s>%s</option>", view_escape(a, o->items[k].value),
                               strcmp(o->items[k].value, value) == 0 ? " selected" : "",
                               view_escape(a, o->items[k].label));
    g_string_append(h, "</select>");
    const char *arg = f->err_args[i] ? (*f->err_args[i] ? opt_label(o, f->err_args[i]) : "—") : NULL;
    view_set_trusted_html(v, arena_printf(a, "f_%s", name), field_frame(f, i, h->str, false, arg));
    g_string_free(h, TRUE);
}

/* Pushes f_<name> as a group of checkboxes (the value is the comma-joined checked ones). */
static void push_checks(Form *f, View *v, const char *name, const Opts *o, const char *empty_msgid)
{
    Arena *a = f->req->arena;
    int i = field_index(f, name);
    g_assert(i >= 0);
    GString *h = g_string_new(NULL);
    if (o->n == 0)
        g_string_append_printf(h, "<p class=\"muted\">%s</p>", view_escape(a, i18n_get(f->req->lang, empty_msgid)));
    g_string_append(h, o->n ? "<div class=\"form-grid\">" : "");
    for (int k = 0; k < o->n; k++)
        g_string_append_printf(h, "<div class=\"field-check\"><label><input type=\"checkbox\" name=\"%s\" value=\"%s\"%s> %s</label></div>",
                               name, view_escape(a, o->items[k].value),
                               list_has(f->values[i], o->items[k].value) ? " checked" : "",
                               view_escape(a, o->items[k].label));
    g_string_append(h, o->n ? "</div>" : "");
    const char *arg = f->err_args[i] ? opt_labels(f->req, o, f->err_args[i]) : NULL;
    view_set_trusted_html(v, arena_printf(a, "f_%s", name), field_frame(f, i, h->str, true, arg));
    g_string_free(h, TRUE);
}

/* ---- the department tree ---------------------------------------------------------------- */

typedef struct Dept {
    long id, parent;
    const char *name, *sort, *users;
    int depth;
    bool placed;
} Dept;

typedef struct DeptTree {
    Dept *items; /* in display order: each department followed by its sub-departments */
    int n;
} DeptTree;

static void place(Dept *src, int n, long parent, int depth, Dept *out, int *k)
{
    for (int i = 0; i < n; i++) {
        if (src[i].placed || src[i].parent != parent)
            continue;
        src[i].placed = true;
        src[i].depth = depth;
        out[(*k)++] = src[i];
        place(src, n, src[i].id, depth + 1, out, k);
    }
}

/* All departments in tree order with their depth and number of users. NULL on a database
 * failure. Rows whose parent chain is broken (cannot happen through these pages) are shown
 * at the top level rather than lost. */
static DeptTree *dept_tree(Request *req)
{
    PGresult *r = db_exec0(req->arena,
        "SELECT d.id, coalesce(d.parent_id, 0), d.name, d.sort,"
        "       (SELECT count(*) FROM users u WHERE u.department_id = d.id)"
        "  FROM departments d ORDER BY d.sort, lower(d.name), d.id");
    if (!r)
        return NULL;
    int n = PQntuples(r);
    Dept *src = arena_alloc(req->arena, sizeof(Dept) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        src[i].id = atol(PQgetvalue(r, i, 0));
        src[i].parent = atol(PQgetvalue(r, i, 1));
        src[i].name = PQgetvalue(r, i, 2);
        src[i].sort = PQgetvalue(r, i, 3);
        src[i].users = PQgetvalue(r, i, 4);
    }
    DeptTree *t = arena_alloc(req->arena, sizeof *t);
    t->items = arena_alloc(req->arena, sizeof(Dept) * (size_t)(n + 1));
    place(src, n, 0, 0, t->items, &t->n);
    for (int i = 0; i < n; i++) /* orphans and cycles */
        if (!src[i].placed) {
            src[i].parent = 0;
            place(src, n, src[i].parent, 0, t->items, &t->n);
        }
    return t;
}

/* Whether department id is below root in the tree (or is root). */
static bool dept_within(const DeptTree *t, long id, long root)
{
    for (int guard = 0; id && guard < 1000; guard++) {
        if (id == root)
            return true;
        long parent = 0;
        for (int i = 0; i < t->n; i++)
            if (t->items[i].id == id)
                parent = t->items[i].parent;
        id = parent;
    }
    return false;
}

/* Options with the tree shown by indentation (ideographic spaces survive inside <option>);
 * departments within `exclude` (itself and below) are left out. */
static Opts *dept_opts(Request *req, const DeptTree *t, long exclude)
{
    Opts *o = arena_alloc(req->arena, sizeof *o);
    o->items = arena_alloc(req->arena, sizeof(Opt) * (size_t)(t->n + 1));
    for (int i = 0; i < t->n; i++) {
        if (exclude && dept_within(t, t->items[i].id, exclude))
            continue;
        GString *s = g_string_new(NULL);
        for (int d = 0; d < t->items[i].depth; d++)
            g_string_append(s, "\u3000");
        g_string_append(s, t->items[i].name);
        o->items[o->n].value = req_id_text(req, t->items[i].id);
        o->items[o->n].label = arena_strdup(req->arena, s->str);
        o->n++;
        g_string_free(s, TRUE);
    }
    return o;
}

/* Option rows [opt_value, opt_label, opt_sel] for the filter selects of the list page. */
static void push_filter_opts(Request *req, View *v, const char *name, const Opts *o, const char *current)
{
    GPtrArray *rows = g_ptr_array_new();
    for (int i = 0; i < o->n; i++) {
        const char **row = arena_alloc(req->arena, sizeof(char *) * 4);
        row[0] = o->items[i].value;
        row[1] = o->items[i].label;
        row[2] = current && strcmp(current, o->items[i].value) == 0 ? "1" : "";
        g_ptr_array_add(rows, row);
    }
    view_set_table(v, name, rows);
    g_ptr_array_free(rows, TRUE);
}

static const char *const opt_columns[] = {"opt_value", "opt_label", "opt_sel", NULL};

/* ==== users ================================================================================ */

static const Choice lang_choices[] = {
    {"", N_("Follow the browser")},
    /* language names are written in their own language, as in the header switch */
    {"zh_CN", "中文"},
    {"en", "English"},
    {NULL, NULL},
};

#define ID_MAX 999999999999999999L

static const FieldDef user_fields[] = {
    {"username", N_("User name"), F_TEXT, F_REQUIRED, 64, 0, 0, NULL, "off",
     N_("2–64 letters, digits, dots, dashes or underscores.")},
    {"display_name", N_("Display name"), F_TEXT, F_REQUIRED, 60, 0, 0, NULL, "off", NULL},
    {"title", N_("Job title"), F_TEXT, 0, 60, 0, 0, NULL, "off", NULL},
    {"department_id", N_("Department"), F_INT, 0, 20, 1, ID_MAX, NULL, NULL, NULL},
    {"manager_id", N_("Manager"), F_INT, 0, 20, 1, ID_MAX, NULL, NULL,
     N_("Sees this user's records when the role's data scope includes subordinates.")},
    {"phone", N_("Phone"), F_TEXT, 0, 40, 0, 0, NULL, "off", NULL},
    {"email", N_("E-mail"), F_EMAIL, 0, 120, 0, 0, NULL, "off", NULL},
    {"lang", N_("Language"), F_SELECT, 0, 10, 0, 0, lang_choices, NULL, NULL},
    {"discount_limit", N_("Discount limit (%)"), F_TEXT, 0, 12, 0, 0, NULL, "off",
     N_("Largest discount this user may give without approval: 0–100, at most 2 decimals.")},
    /* the checked role ids, comma-joined (the checkboxes are drawn by push_checks) */
    {"roles", N_("Roles"), F_TEXT, 0, 4000, 0, 0, NULL, NULL, NULL},
    {"is_admin", N_("Administrator (every permission, all data)"), F_CHECKBOX, 0, 0, 0, 0, NULL, NULL, NULL},
    {"password", N_("Password"), F_PASSWORD, F_KEEP_SPACES, 256, 0, 0, NULL, "new-password",
     N_("Leave both empty to generate a random password, shown once after saving.")},
    {"password_confirm", N_("Repeat password"), F_PASSWORD, F_KEEP_SPACES, 256, 0, 0, NULL,
     "new-password", NULL},
    {NULL},
};

/* The columns every edit of a user starts from (named like the fields, plus version). */
static const char USER_FORM_SQL[] =
    "SELECT u.username, u.display_name, u.title, u.department_id, u.manager_id, u.phone, u.email,"
    "       u.lang, u.discount_limit::text AS discount_limit, u.is_admin, u.active,"
    "       coalesce((SELECT string_agg(ur.role_id::text, ',' ORDER BY ur.role_id)"
    "                   FROM user_roles ur WHERE ur.user_id = u.id), '') AS roles,"
    "       u.version"
    "  FROM users u WHERE u.id = $1";

/* What the audit trail records of a user: readable names rather than ids. */
static const char USER_SNAPSHOT_SQL[] =
    "SELECT u.username, u.display_name, u.title, coalesce(d.name, '') AS department,"
    "       coalesce(m.username, '') AS manager, u.phone, u.email, coalesce(u.lang, '') AS lang,"
    "       u.discount_limit::text AS discount_limit,"
    "       coalesce((SELECT string_agg(r.name, ',' ORDER BY r.name COLLATE \"C\")"
    "                   FROM user_roles ur JOIN roles r ON r.id = ur.role_id"
    "                  WHERE ur.user_id = u.id), '') AS roles,"
    "       CASE WHEN u.is_admin THEN 'true' ELSE 'false' END AS is_admin"
    "  FROM users u LEFT JOIN departments d ON d.id = u.department_id"
    "  LEFT JOIN users m ON m.id = u.manager_id WHERE u.id = $1";

static const ListSort user_sorts[] = {
    {"username", "lower(u.username)", false},
    {"display_name", "u.display_name", false},
    {"department", "d.name", true}, /* users without a department come last */
    {"created", "u.created_at", false},
    {NULL, NULL, false},
};

/* The FROM and WHERE of the user list, shared by the page query and its count; filters come
 * from the query string, each validated. */
static void users_from_where(Request *req, SqlBuf *q)
{
    sql_add(q, " FROM users u LEFT JOIN departments d ON d.id = u.department_id"
               " LEFT JOIN users m ON m.id = u.manager_id WHERE TRUE");
    const char *text = req_query(req, "q");
    if (text && *text) {
        char *t = g_strstrip(arena_strdup(req->arena, text));
        if (*t && g_utf8_strlen(t, -1) <= 100) {
            const char *ph = sql_param(q, sql_like_contains(req->arena, t));
            sql_add(q, arena_printf(req->arena,
                                    " AND (u.username ILIKE %s OR u.display_name ILIKE %s"
                                    " OR u.phone ILIKE %s OR u.email ILIKE %s)",
                                    ph, ph, ph, ph));
        }
    }
    long id;
    if (parse_id(req_query(req, "department"), &id))
        /* a department includes its sub-departments */
        sql_addp(q, " AND u.department_id IN (WITH RECURSIVE t(id) AS (SELECT %s::bigint"
                    " UNION SELECT c.id FROM departments c JOIN t ON c.parent_id = t.id)"
                    " SELECT id FROM t)",
                 req_id_text(req, id));
    if (parse_id(req_query(req, "role"), &id))
        sql_addp(q, " AND EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id"
                    " AND ur.role_id = %s::bigint)",
                 req_id_text(req, id));
    const char *status = req_query(req, "status");
    if (status && strcmp(status, "active") == 0)
        sql_add(q, " AND u.active");
    else if (status && strcmp(status, "disabled") == 0)
        sql_add(q, " AND NOT u.active");
}

/* GET /admin/users: 200 the list (search, filters, sorting, paging). */
static void users_list(Request *req)
{
    ListState *ls = list_begin(req, user_sorts, "username", false);
    SqlBuf *q = sql_new(req->arena,
        "SELECT u.id, u.username, u.display_name, coalesce(d.name, '') AS department,"
        "       coalesce(u.manager_id::text, '') AS manager_id,"
        "       coalesce(nullif(m.display_name, ''), m.username, '') AS manager,"
        "       coalesce((SELECT string_agg(r.name, ', ' ORDER BY lower(r.name))"
        "                   FROM user_roles ur JOIN roles r ON r.id = ur.role_id"
        "                  WHERE ur.user_id = u.id), '') AS roles,"
        "       u.title, u.active, u.is_admin, u.discount_limit,"
        "       to_char(u.created_at, 'YYYY-MM-DD') AS created");
    users_from_where(req, q);
    list_order_limit(ls, q, "u.id");
    SqlBuf *count = sql_new(req->arena, "SELECT count(*) FROM (SELECT 1");
    users_from_where(req, count);
    sql_add(count, " LIMIT 10001) t");
    PGresult *rows = sql_exec(q);
    DeptTree *tree = dept_tree(req);
    PGresult *roles = db_exec0(req->arena, "SELECT id::text, name FROM roles ORDER BY lower(name), id");
    if (!rows || !tree || !roles || list_count(ls, count) < 0) {
        resp_error(req, 503);
        return;
    }
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Users"));
    push_tabs(req, v, "users");
    view_set_rows(v, "users", rows);
    list_push(ls, v);
    view_set_columns(v, opt_columns);
    const char *dep = req_query(req, "department"), *role = req_query(req, "role");
    const char *status = req_query(req, "status");
    const char *text = req_query(req, "q");
    push_filter_opts(req, v, "departments", dept_opts(req, tree, 0), dep);
    push_filter_opts(req, v, "roles", opts_from(req, roles), role);
    view_set(v, "q", text ? text : "");
    view_set(v, "status_filter", status && (!strcmp(status, "active") || !strcmp(status, "disabled")) ? status : "");
    view_set_int(v, "has_filters", (text && *text) || (dep && *dep) || (role && *role) || (status && *status));
    view_set_int(v, "has_create", auth_can(req, "org.create"));
    view_render(req, v, "org/users", 200);
}

/* Roles as options (id, name). */
static Opts *role_opts(Request *req)
{
    PGresult *r = db_exec0(req->arena, "SELECT id::text, name FROM roles ORDER BY lower(name), id");
    return r ? opts_from(req, r) : NULL;
}

/* Active users (and the one currently chosen, even if disabled) as manager options; `self`
 * and the users below it are left out so the form cannot offer a cycle. */
static Opts *manager_opts(Request *req, long self, const char *current)
{
    PGresult *r = db_exec(req->arena,
        "WITH RECURSIVE below(id) AS (SELECT $1::bigint"
        "   UNION SELECT u.id FROM users u JOIN below b ON u.manager_id = b.id)"
        " SELECT u.id::text,"
        "        CASE WHEN u.display_name <> '' THEN u.display_name || ' (' || u.username || ')'"
        "             ELSE u.username END"
        "   FROM users u"
        "  WHERE (u.active OR u.id = NULLIF($2, '')::bigint)"
        "    AND u.id NOT IN (SELECT id FROM below)"
        "  ORDER BY lower(u.display_name), lower(u.username), u.id",
        req_id_text(req, self), parse_id(current, &(long){0}) ? current : "");
    return r ? opts_from(req, r) : NULL;
}

/* Renders the create or edit form (id 0 = create) with this status. */
static void render_user_form(Request *req, Form *f, long id, int status, bool conflict)
{
    DeptTree *tree = dept_tree(req);
    Opts *mgrs = manager_opts(req, id, form_get(f, "manager_id"));
    Opts *roles = role_opts(req);
    if (!tree || !mgrs || !roles) {
        resp_error(req, 503);
        return;
    }
    View *v = view_new(req);
    view_set_tr(v, "title", id ? N_("Edit user") : N_("New user"));
    push_tabs(req, v, "users");
    form_push(f, v);
    push_select(f, v, "department_id", dept_opts(req, tree, 0), N_("— No department —"));
    push_select(f, v, "manager_id", mgrs, N_("— No manager —"));
    push_checks(f, v, "roles", roles, N_("No roles yet. Create roles under the Roles tab."));
    view_set_int(v, "is_new", id == 0);
    view_set_int(v, "has_conflict", conflict);
    view_set(v, "action", id ? arena_printf(req->arena, "/admin/users/%ld/edit", id) : "/admin/users/new");
    view_set(v, "cancel", id ? arena_printf(req->arena, "/admin/users/%ld", id) : "/admin/users");
    view_set(v, "username", form_get(f, "username"));
    view_render(req, v, "org/user_form", status);
}

/* Checks of a user form beyond the field table: name shape and uniqueness, the discount, that
 * the chosen department, manager and roles exist, the password. cur is the stored row of an
 * edit (NULL when creating). Returns -1 on a database failure. */
static int validate_user(Request *req, Form *f, long id, const PGresult *cur)
{
    const char *username = form_get(f, "username");
    int ui = field_index(f, "username");
    if (!f->errors[ui]) {
        size_t len = strlen(username);
        if (len < 2 || len > 64 || strspn(username, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != len) {
            form_error(f, "username", N_("Use 2–64 letters, digits, dots, dashes or underscores."));
        } else {
            PGresult *r = db_exec(req->arena,
                                  "SELECT 1 FROM users WHERE lower(username) = lower($1) AND id <> $2",
                                  username, req_id_text(req, id));
            if (!r)
                return -1;
            if (PQntuples(r))
                form_error(f, "username", N_("This user name is already taken."));
        }
    }

    int di = field_index(f, "discount_limit");
    const char *disc = form_get(f, "discount_limit");
    if (!f->errors[di]) {
        Money m;
        int rc = money_parse(*disc ? disc : "0", 2, &m);
        if (rc == MONEY_ERR_SCALE)
            form_error(f, "discount_limit", N_("At most 2 decimals."));
        else if (rc != MONEY_OK || money_is_negative(m) || money_cmp(m, money_from_int(100)) > 0)
            form_error(f, "discount_limit", N_("Enter a percentage from 0 to 100."));
        else {
            char buf[MONEY_FORMAT_MAX];
            money_format_buf(m, 2, FALSE, buf, sizeof buf);
            form_set(f, "discount_limit", arena_strdup(req->arena, buf)); /* as stored: "5.50" */
        }
    }

    const char *dep = form_get(f, "department_id");
    if (*dep && !f->errors[field_index(f, "department_id")]) {
        PGresult *r = db_exec(req->arena, "SELECT 1 FROM departments WHERE id = $1", dep);
        if (!r)
            return -1;
        if (!PQntuples(r))
            form_error(f, "department_id", N_("This department no longer exists."));
    }

    const char *mgr = form_get(f, "manager_id");
    if (*mgr && !f->errors[field_index(f, "manager_id")]) {
        const char *before = cur ? db_val(cur, 0, PQfnumber(cur, "manager_id")) : NULL;
        PGresult *r = db_exec(req->arena, "SELECT active FROM users WHERE id = $1", mgr);
        if (!r)
            return -1;
        if (!PQntuples(r))
            form_error(f, "manager_id", N_("This user no longer exists."));
        else if (id && atol(mgr) == id)
            form_error(f, "manager_id", N_("A user cannot be their own manager."));
        else if (!is_true(PQgetvalue(r, 0, 0)) && !(before && strcmp(before, mgr) == 0))
            form_error(f, "manager_id", N_("Choose an active user as manager."));
    }

    const char *roles = form_get(f, "roles");
    if (*roles) {
        PGresult *r = db_exec(req->arena,
                              "SELECT count(*) = cardinality($1::bigint[]) FROM roles"
                              " WHERE id = ANY($1::bigint[])",
                              id_array(req, roles));
        if (!r)
            return -1;
        if (!is_true(PQgetvalue(r, 0, 0)))
            form_error(f, "roles", N_("A chosen role no longer exists. Check the roles and save again."));
    }

    /* An administrator removing their own flag would lock themselves out of this page. */
    if (cur && id == req->user->id && is_true(db_val(cur, 0, PQfnumber(cur, "is_admin"))) &&
        !*form_get(f, "is_admin"))
        form_error(f, "is_admin", N_("You cannot remove your own administrator rights."));

    if (!cur) {
        const char *pw = form_get(f, "password"), *confirm = form_get(f, "password_confirm");
        if (*pw) {
            const char *problem = auth_password_problem(pw, username);
            if (problem)
                form_error(f, "password", problem);
            else if (strcmp(pw, confirm) != 0)
                form_error(f, "password_confirm", N_("The two passwords differ."));
        } else if (*confirm) {
            form_error(f, "password_confirm", N_("The two passwords differ."));
        }
    }
    return 0;
}

/* Reads the user form: fields, the checked roles, and the administrator flag only from an
 * administrator (others keep `stored_admin`). False when the input was not from our form. */
static bool read_user_form(Request *req, Form *f, const char *stored_admin)
{
    form_read(f);
    const char *roles;
    if (!form_ids(req, "roles", &roles))
        return false;
    form_set(f, "roles", roles);
    int ri = field_index(f, "roles");
    if (f->errors[ri]) { /* the raw first value was judged alone; the list is what counts */
        f->errors[ri] = NULL;
        f->nerrors--;
    }
    if (!req->user->is_admin)
        form_set(f, "is_admin", stored_admin);
    return true;
}

/* The page that shows a new password once (after creation or a reset). */
static void render_password(Request *req, long id, const char *username, const char *password,
                            bool created)
{
    View *v = view_new(req);
    view_set_tr(v, "title", created ? N_("User created") : N_("Password reset"));
    push_tabs(req, v, "users");
    view_set_int(v, "is_created", created);
    view_set(v, "username", username);
    view_set(v, "password", password);
    view_set(v, "user_url", arena_printf(req->arena, "/admin/users/%ld", id));
    view_render(req, v, "org/password", 200);
}

/* GET /admin/users/new: 200 the empty form. */
static void user_new_form(Request *req)
{
    Form *f = form_new(req, user_fields);
    form_set(f, "discount_limit", "0.00");
    render_user_form(req, f, 0, 200, false);
}

/* POST /admin/users/new: 303 to the new user's page; 200 with the generated password shown
 * once when the password was left empty; 422 with the input and messages; 400 for input not
 * from the form. */
static void user_create(Request *req)
{
    Form *f = form_new(req, user_fields);
    if (!read_user_form(req, f, "")) {
        resp_error(req, 400);
        return;
    }
    if (validate_user(req, f, 0, NULL) < 0) {
        resp_error(req, 503);
        return;
    }
    if (f->nerrors) {
        render_user_form(req, f, 0, 422, false);
        return;
    }
    const char *username = form_get(f, "username");
    char *generated = NULL;
    const char *password = form_get(f, "password");
    if (!*password)
        password = generated = auth_random_password();
    char state[6] = "";
    long id = 0;
    if (db_begin(req->arena) < 0) {
        g_free(generated);
        resp_error(req, 503);
        return;
    }
    int rc = users_add(db_conn(), username, form_get(f, "display_name"), password,
                       *form_get(f, "is_admin") != '\0');
    if (rc == 0) {
        PGresult *r = db_exec(req->arena,
            "UPDATE users SET title = $2, department_id = NULLIF($3, '')::bigint,"
            " manager_id = NULLIF($4, '')::bigint, phone = $5, email = $6, lang = NULLIF($7, ''),"
            " discount_limit = $8::numeric, must_change_password = $9::boolean"
            " WHERE lower(username) = lower($1) RETURNING id",
            username, form_get(f, "title"), form_get(f, "department_id"), form_get(f, "manager_id"),
            form_get(f, "phone"), form_get(f, "email"), form_get(f, "lang"),
            form_get(f, "discount_limit"), generated ? "true" : "false");
        if (r && PQntuples(r) == 1) {
            id = atol(PQgetvalue(r, 0, 0));
            AuditDiff *d = audit_diff_new(req->arena);
            PGresult *now = NULL;
            bool ok = db_exec(req->arena,
                              "INSERT INTO user_roles (user_id, role_id)"
                              " SELECT $1, unnest($2::bigint[])",
                              req_id_text(req, id), id_array(req, form_get(f, "roles"))) &&
                      (now = db_exec(req->arena, USER_SNAPSHOT_SQL, req_id_text(req, id)));
            if (ok) {
                diff_rows(d, NULL, now);
                ok = audit_write(req, "org", "create", "user", id, username, d, "ok") == 0 &&
                     db_commit(req->arena) == 0;
            }
            rc = ok ? 0 : -1;
        } else {
            rc = -1;
        }
    }
    if (rc != 0) {
        keep_state(state);
        db_rollback(req->arena);
    }
    if (rc == -2 || strcmp(state, "23505") == 0) {
        g_free(generated);
        form_error(f, "username", N_("This user name is already taken."));
        render_user_form(req, f, 0, 422, false);
        return;
    }
    if (rc != 0 && strcmp(state, "23503") == 0) {
        /* a department, manager or role went away meanwhile: say which */
        g_free(generated);
        if (validate_user(req, f, 0, NULL) < 0) {
            resp_error(req, 503);
            return;
        }
        if (!f->nerrors)
            form_error(f, "roles", N_("A chosen role no longer exists. Check the roles and save again."));
        render_user_form(req, f, 0, 422, false);
        return;
    }
    if (rc != 0) {
        g_free(generated);
        resp_error(req, 503);
        return;
    }
    if (generated) {
        render_password(req, id, username, generated, true);
        sodium_memzero(generated, strlen(generated));
        g_free(generated);
        return;
    }
    resp_flash(req, "ok", N_("User created."));
    resp_redirect(req, arena_printf(req->arena, "/admin/users/%ld", id));
}

/* Field names of the audit rows shown on the user page. */
static const char *change_label(const char *field)
{
    static const struct { const char *field, *label; } labels[] = {
        {"username", N_("User name")},
        {"display_name", N_("Display name")},
        {"title", N_("Job title")},
        {"department", N_("Department")},
        {"manager", N_("Manager")},
        {"phone", N_("Phone")},
        {"email", N_("E-mail")},
        {"lang", N_("Language")},
        {"discount_limit", N_("Discount limit (%)")},
        {"roles", N_("Roles")},
        {"is_admin", N_("Administrator")},
        {"active", N_("Active")},
        {"must_change_password", N_("Must change password")},
        {NULL, NULL},
    };
    for (int i = 0; labels[i].field; i++)
        if (strcmp(labels[i].field, field) == 0)
            return labels[i].label;
    return field;
}

static const char *action_label(const char *action)
{
    static const struct { const char *action, *label; } labels[] = {
        {"create", N_("Created")},
        {"update", N_("Changed")},
        {"delete", N_("Deleted")},
        {"disable", N_("Disabled")},
        {"enable", N_("Enabled")},
        {"reset_password", N_("Password reset")},
        {"login", N_("Signed in")},
        {"logout", N_("Signed out")},
        {"login_failed", N_("Sign-in failed")},
        {NULL, NULL},
    };
    for (int i = 0; labels[i].action; i++)
        if (strcmp(labels[i].action, action) == 0)
            return labels[i].label;
    return action;
}

/* Flags are recorded as true/false; people read yes/no. */
static const char *change_value(Request *req, const char *v)
{
    if (strcmp(v, "true") == 0)
        return i18n_get(req->lang, N_("Yes"));
    if (strcmp(v, "false") == 0)
        return i18n_get(req->lang, N_("No"));
    return v;
}

/* Recent audit rows of a user as table rows: one row per changed field, the first of each
 * entry carrying time, who and what (with a rowspan over its fields). */
static int push_user_audit(Request *req, View *v, long id)
{
    PGresult *r = db_exec(req->arena,
        "SELECT a.id, to_char(a.at, 'YYYY-MM-DD HH24:MI:SS'), a.username, a.action, a.result,"
        "       c.key, c.value->>'old', c.value->>'new'"
        "  FROM (SELECT * FROM audit_log WHERE object_type = 'user' AND object_id = $1"
        "         ORDER BY at DESC, id DESC LIMIT 20) a"
        "  LEFT JOIN LATERAL jsonb_each(a.changes) c ON true"
        " ORDER BY a.at DESC, a.id DESC, c.key",
        req_id_text(req, id));
    if (!r)
        return -1;
    static const char *const cols[] = {"a_first", "a_span", "a_at", "a_by", "a_action",
                                       "a_failed", "a_field", "a_old", "a_new", NULL};
    view_set_columns(v, cols);
    GPtrArray *rows = g_ptr_array_new();
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        bool first = i == 0 || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0)) != 0;
        int span = 1;
        while (first && i + span < n && strcmp(PQgetvalue(r, i + span, 0), PQgetvalue(r, i, 0)) == 0)
            span++;
        const char **row = arena_alloc(req->arena, sizeof(char *) * 10);
        row[0] = first ? "1" : "";
        row[1] = req_id_text(req, span);
        row[2] = PQgetvalue(r, i, 1);
        row[3] = PQgetvalue(r, i, 2);
        row[4] = i18n_get(req->lang, action_label(PQgetvalue(r, i, 3)));
        row[5] = strcmp(PQgetvalue(r, i, 4), "ok") != 0 ? "1" : "";
        row[6] = PQgetisnull(r, i, 5) ? "" : i18n_get(req->lang, change_label(PQgetvalue(r, i, 5)));
        row[7] = PQgetisnull(r, i, 6) ? "" : change_value(req, PQgetvalue(r, i, 6));
        row[8] = PQgetisnull(r, i, 7) ? "" : change_value(req, PQgetvalue(r, i, 7));
        row[9] = NULL;
        g_ptr_array_add(rows, row);
    }
    view_set_table(v, "audit", rows);
    view_set_int(v, "n_audit", n);
    g_ptr_array_free(rows, TRUE);
    return 0;
}

/* GET /admin/users/{id}: 200 the user's page (properties, roles, people below them, recent
 * audit rows); 404 when there is no such user. */
static void user_show(Request *req)
{
    long id = req_arg_id(req, 0);
    const char *sid = req_id_text(req, id);
    PGresult *u = db_exec(req->arena,
        "SELECT u.username, u.display_name, u.title, coalesce(d.name, '') AS department,"
        "       coalesce(u.manager_id::text, '') AS manager_id,"
        "       coalesce(nullif(m.display_name, ''), m.username, '') AS manager,"
        "       u.phone, u.email, coalesce(u.lang, '') AS lang, u.discount_limit::text,"
        "       u.is_admin, u.active, u.must_change_password,"
        "       to_char(u.created_at, 'YYYY-MM-DD HH24:MI'), to_char(u.updated_at, 'YYYY-MM-DD HH24:MI'),"
        "       coalesce(to_char((SELECT max(s.last_seen_at) FROM sessions s WHERE s.user_id = u.id),"
        "                        'YYYY-MM-DD HH24:MI'), '')"
        "  FROM users u LEFT JOIN departments d ON d.id = u.department_id"
        "  LEFT JOIN users m ON m.id = u.manager_id WHERE u.id = $1",
        sid);
    if (!u) {
        resp_error(req, 503);
        return;
    }
    if (PQntuples(u) != 1) {
        resp_error(req, 404);
        return;
    }
    PGresult *roles = db_exec(req->arena,
        "SELECT r.name AS r_name, r.data_scope AS r_scope FROM user_roles ur"
        "  JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = $1 ORDER BY lower(r.name)",
        sid);
    /* Everyone below in the manager tree, each under their own manager. */
    PGresult *subs = db_exec(req->arena,
        "WITH RECURSIVE t(id, depth, path) AS ("
        "   SELECT u.id, 0, ARRAY[lower(u.display_name) || '#' || u.id]"
        "     FROM users u WHERE u.manager_id = $1"
        "   UNION ALL SELECT u.id, t.depth + 1, t.path || (lower(u.display_name) || '#' || u.id)"
        "     FROM users u JOIN t ON u.manager_id = t.id WHERE t.depth < 20)"
        " SELECT u.id AS s_id, u.username AS s_username, u.display_name AS s_display_name,"
        "        u.title AS s_title, least(t.depth, 4)::text AS s_depth, u.active AS s_active"
        "   FROM t JOIN users u ON u.id = t.id ORDER BY t.path LIMIT 500",
        sid);
    View *v = view_new(req);
    if (!roles || !subs || push_user_audit(req, v, id) < 0) {
        resp_error(req, 503);
        return;
    }
    const char *display = PQgetvalue(u, 0, 1);
    view_set(v, "title", *display ? display : PQgetvalue(u, 0, 0));
    push_tabs(req, v, "users");
    view_set(v, "user_id", sid);
    view_set(v, "username", PQgetvalue(u, 0, 0));
    view_set(v, "display_name", display);
    view_set(v, "job_title", PQgetvalue(u, 0, 2));
    view_set(v, "department", PQgetvalue(u, 0, 3));
    view_set(v, "manager_id", PQgetvalue(u, 0, 4));
    view_set(v, "manager", PQgetvalue(u, 0, 5));
    view_set(v, "phone", PQgetvalue(u, 0, 6));
    view_set(v, "email", PQgetvalue(u, 0, 7));
    const char *lang = PQgetvalue(u, 0, 8);
    view_set(v, "language", !strcmp(lang, "zh_CN") ? "中文" : !strcmp(lang, "en") ? "English"
                                                                  : i18n_get(req->lang, N_("Follow the browser")));
    view_set(v, "discount_limit", PQgetvalue(u, 0, 9));
    view_set_int(v, "has_admin_flag", is_true(PQgetvalue(u, 0, 10)));
    view_set_int(v, "is_active", is_true(PQgetvalue(u, 0, 11)));
    view_set_int(v, "has_must_change", is_true(PQgetvalue(u, 0, 12)));
    view_set(v, "created", PQgetvalue(u, 0, 13));
    view_set(v, "updated", PQgetvalue(u, 0, 14));
    view_set(v, "last_seen", PQgetvalue(u, 0, 15));
    view_set_int(v, "is_self", id == req->user->id);
    /* Only an administrator may act on an administrator's account. */
    view_set_int(v, "has_edit", auth_can(req, "org.edit") &&
                                    (req->user->is_admin || !is_true(PQgetvalue(u, 0, 10))));
    GPtrArray *rrows = g_ptr_array_new();
    for (int i = 0; i < PQntuples(roles); i++) {
        const char **row = arena_alloc(req->arena, sizeof(char *) * 3);
        row[0] = PQgetvalue(roles, i, 0);
        row[1] = i18n_get(req->lang, scope_defs[scope_from_code(PQgetvalue(roles, i, 1))].label);
        g_ptr_array_add(rrows, row);
    }
    static const char *const rcols[] = {"r_name", "r_scope", NULL};
    view_set_columns(v, rcols);
    view_set_table(v, "roles", rrows);
    g_ptr_array_free(rrows, TRUE);
    view_set_int(v, "n_roles", PQntuples(roles));
    view_set_rows(v, "subordinates", subs);
    view_set_int(v, "n_subordinates", PQntuples(subs));
    view_render(req, v, "org/user_show", 200);
}

/* Loads the user for an action; answers 404 (none) or 403 (an administrator's account and the
 * current user is not one) itself and returns NULL then. */
static PGresult *user_for_action(Request *req, long id)
{
    PGresult *r = db_exec(req->arena,
                          "SELECT username, is_admin, active, must_change_password FROM users WHERE id = $1",
                          req_id_text(req, id));
    if (!r) {
        resp_error(req, 503);
        return NULL;
    }
    if (PQntuples(r) != 1) {
        resp_error(req, 404);
        return NULL;
    }
    if (is_true(PQgetvalue(r, 0, 1)) && !req->user->is_admin) {
        resp_error(req, 403);
        return NULL;
    }
    return r;
}

/* GET /admin/users/{id}/edit: 200 the form with the stored values; 404; 403 for an
 * administrator's account when the current user is not one. */
static void user_edit_form(Request *req)
{
    long id = req_arg_id(req, 0);
    if (!user_for_action(req, id))
        return;
    PGresult *r = db_exec(req->arena, USER_FORM_SQL, req_id_text(req, id));
    if (!r || PQntuples(r) != 1) {
        resp_error(req, r ? 404 : 503);
        return;
    }
    Form *f = form_new(req, user_fields);
    form_load(f, r, 0);
    render_user_form(req, f, id, 200, false);
}

/* POST /admin/users/{id}/edit: 303 to the user's page; 422 with input and messages (also for
 * a manager that would make a cycle); 409 when someone saved meanwhile (input kept, their
 * values shown); 404; 403 as for the form; 400 for input not from the form. */
static void user_update(Request *req)
{
    long id = req_arg_id(req, 0);
    const char *sid = req_id_text(req, id);
    if (!user_for_action(req, id))
        return;
    PGresult *cur = db_exec(req->arena, USER_FORM_SQL, sid);
    if (!cur || PQntuples(cur) != 1) {
        resp_error(req, cur ? 404 : 503);
        return;
    }
    Form *f = form_new(req, user_fields);
    const char *stored_admin = is_true(db_val(cur, 0, PQfnumber(cur, "is_admin"))) ? "1" : "";
    if (!read_user_form(req, f, stored_admin) || !f->version) {
        resp_error(req, 400);
        return;
    }
    if (validate_user(req, f, id, cur) < 0) {
        resp_error(req, 503);
        return;
    }
    if (f->nerrors) {
        render_user_form(req, f, id, 422, false);
        return;
    }
    if (db_begin(req->arena) < 0) {
        resp_error(req, 503);
        return;
    }
    char state[6] = "";
    const char *mgr = form_get(f, "manager_id");
    /* Manager changes are serialised so two concurrent edits cannot close a loop together. */
    PGresult *cycle = db_exec(req->arena,
        "SELECT pg_advisory_xact_lock(hashtext('kexin.users.manager_id')),"
        "       EXISTS (WITH RECURSIVE t(id) AS (SELECT $1::bigint"
        "                 UNION SELECT u.id FROM users u JOIN t ON u.manager_id = t.id)"
        "               SELECT 1 FROM t WHERE id = NULLIF($2, '')::bigint)",
        sid, mgr);
    PGresult *old = cycle ? db_exec(req->arena, USER_SNAPSHOT_SQL, sid) : NULL;
    if (!old) {
        db_rollback(req->arena);
        resp_error(req, 503);
        return;
    }
    if (is_true(PQgetvalue(cycle, 0, 1))) {
        db_rollback(req->arena);
        form_error(f, "manager_id", N_("This user is above the chosen manager: a user cannot report to themselves or to one of their own subordinates."));
        render_user_form(req, f, id, 422, false);
        return;
    }
    PGresult *up = db_exec(req->arena,
        "UPDATE users SET username = $3, display_name = $4, title = $5,"
        " department_id = NULLIF($6, '')::bigint, manager_id = NULLIF($7, '')::bigint,"
        " phone = $8, email = $9, lang = NULLIF($10, ''), discount_limit = $11::numeric,"
        " is_admin = $12::boolean, version = version + 1, updated_at = now()"
        " WHERE id = $1 AND version = $2::int",
        sid, f->version, form_get(f, "username"), form_get(f, "display_name"), form_get(f, "title"),
        form_get(f, "department_id"), mgr, form_get(f, "phone"), form_get(f, "email"),
        form_get(f, "lang"), form_get(f, "discount_limit"), *form_get(f, "is_admin") ? "true" : "false");
    if (!up) {
        keep_state(state);
        db_rollback(req->arena);
        if (strcmp(state, "23505") == 0) {
            form_error(f, "username", N_("This user name is already taken."));
            render_user_form(req, f, id, 422, false);
        } else if (strcmp(state, "23503") == 0) {
            form_error(f, "department_id", N_("This department no longer exists."));
            render_user_form(req, f, id, 422, false);
        } else {
            resp_error(req, 503);
        }
        return;
    }
    if (atoi(PQcmdTuples(up)) == 0) {
        db_rollback(req->arena);
        PGresult *now = db_exec(req->arena, USER_FORM_SQL, sid);
        if (!now || PQntuples(now) != 1) {
            resp_error(req, now ? 404 : 503);
            return;
        }
        if (!req->user->is_admin) /* the flag is not on their form: nothing to compare */
            form_set(f, "is_admin", is_true(db_val(now, 0, PQfnumber(now, "is_admin"))) ? "1" : "");
        form_stale(f, now);
        render_user_form(req, f, id, 409, true);
        return;
    }
    AuditDiff *d = audit_diff_new(req->arena);
    PGresult *after = NULL;
    bool ok = db_exec(req->arena, "DELETE FROM user_roles WHERE user_id = $1", sid) &&
              db_exec(req->arena,
                      "INSERT INTO user_roles (user_id, role_id) SELECT $1, unnest($2::bigint[])",
                      sid, id_array(req, form_get(f, "roles"))) &&
              (after = db_exec(req->arena, USER_SNAPSHOT_SQL, sid));
    if (ok) {
        diff_rows(d, old, after);
        ok = audit_write(req, "org", "update", "user", id, form_get(f, "username"), d, "ok") == 0 &&
             db_commit(req->arena) == 0;
    }
    if (!ok) {
        keep_state(state);
        db_rollback(req->arena);
        if (strcmp(state, "23503") == 0) {
            form_error(f, "roles", N_("A chosen role no longer exists. Check the roles and save again."));
            render_user_form(req, f, id, 422, false);
        } else {
            resp_error(req, 503);
        }
        return;
    }
    resp_flash(req, "ok", audit_diff_count(d) ? N_("User saved.") : N_("No changes."));
    resp_redirect(req, arena_printf(req->arena, "/admin/users/%ld", id));
}

/* POST /admin/users/{id}/reset-password: 200 a page showing the new random password once (the
 * user must change it at the next sign-in; their sessions end); 303 back with a message for
 * one's own account; 404; 403 for an administrator's account when not one. */
static void user_reset_password(Request *req)
{
    long id = req_arg_id(req, 0);
    const char *sid = req_id_text(req, id);
    PGresult *u = user_for_action(req, id);
    if (!u)
        return;
    if (id == req->user->id) {
        resp_flash(req, "error", N_("To change your own password, use Change password in your user menu."));
        resp_redirect(req, arena_printf(req->arena, "/admin/users/%ld", id));
        return;
    }
    char *password = auth_random_password();
    char hash[AUTH_HASH_MAX];
    if (auth_hash_password(password, hash) != 0) {
        g_free(password);
        resp_error(req, 500);
        return;
    }
    const char *username = PQgetvalue(u, 0, 0);
    AuditDiff *d = audit_diff_new(req->arena);
    audit_diff(d, "must_change_password", is_true(PQgetvalue(u, 0, 3)) ? "true" : "false", "true");
    bool ok = db_begin(req->arena) == 0 &&
              db_exec(req->arena,
                      "UPDATE users SET password_hash = $2, must_change_password = true,"
                      " password_changed_at = now(), version = version + 1, updated_at = now()"
                      " WHERE id = $1",
                      sid, hash) &&
              session_destroy_all(req, id) == 0 &&
              db_exec(req->arena, "DELETE FROM login_failures WHERE lower(username) = lower($1)", username) &&
              audit_write(req, "org", "reset_password", "user", id, username, d, "ok") == 0 &&
              db_commit(req->arena) == 0;
    sodium_memzero(hash, sizeof hash);
    if (!ok) {
        db_rollback(req->arena);
        g_free(password);
        resp_error(req, 503);
        return;
    }
    render_password(req, id, username, password, false);
    sodium_memzero(password, strlen(password));
    g_free(password);
}

/* POST /admin/users/{id}/disable and /enable: 303 to the user's page with a message (disabling
 * ends the user's sessions; nobody disables their own account); 404; 403 as above. */
static void user_set_active(Request *req, bool active)
{
    long id = req_arg_id(req, 0);
    const char *sid = req_id_text(req, id);
    const char *back = arena_printf(req->arena, "/admin/users/%ld", id);
    PGresult *u = user_for_action(req, id);
    if (!u)
        return;
    if (!active && id == req->user->id) {
        resp_flash(req, "error", N_("You cannot disable your own account."));
        resp_redirect(req, back);
        return;
    }
    if (is_true(PQgetvalue(u, 0, 2)) == active) {
        resp_flash(req, "ok", active ? N_("The user is already active.") : N_("The user is already disabled."));
        resp_redirect(req, back);
        return;
    }
    AuditDiff *d = audit_diff_new(req->arena);
    audit_diff(d, "active", active ? "false" : "true", active ? "true" : "false");
    bool ok = db_begin(req->arena) == 0 &&
              db_exec(req->arena,
                      "UPDATE users SET active = $2::boolean, version = version + 1, updated_at = now()"
                      " WHERE id = $1",
                      sid, active ? "true" : "false") &&
              (active || session_destroy_all(req, id) == 0) &&
              audit_write(req, "org", active ? "enable" : "disable", "user", id, PQgetvalue(u, 0, 0), d,
                          "ok") == 0 &&
              db_commit(req->arena) == 0;
    if (!ok) {
        db_rollback(req->arena);
        resp_error(req, 503);
        return;
    }
    resp_flash(req, "ok", active ? N_("User enabled.") : N_("User disabled. Their sessions have ended."));
    resp_redirect(req, back);
}

static void user_disable(Request *req)
{
    user_set_active(req, false);
}

static void user_enable(Request *req)
{
    user_set_active(req, true);
}

/* ==== departments ========================================================================== */

static const FieldDef dept_fields[] = {
    {"name", N_("Name"), F_TEXT, F_REQUIRED, 60, 0, 0, NULL, "off", NULL},
    {"parent_id", N_("Parent department"), F_INT, 0, 20, 1, ID_MAX, NULL, NULL, NULL},
    {"sort", N_("Sort order"), F_INT, 0, 6, 0, 99999, NULL, "off",
     N_("Smaller numbers come first among departments of the same parent.")},
    {NULL},
};

static const char DEPT_FORM_SQL[] =
    "SELECT name, parent_id, sort::text AS sort, version FROM departments WHERE id = $1";

static const char DEPT_SNAPSHOT_SQL[] =
    "SELECT d.name, coalesce(p.name, '') AS parent, d.sort::text AS sort"
    "  FROM departments d LEFT JOIN departments p ON p.id = d.parent_id WHERE d.id = $1";

/* GET /admin/departments: 200 the tree with the number of users of each department. */
static void dept_list(Request *req)
{
    DeptTree *t = dept_tree(req);
    if (!t) {
        resp_error(req, 503);
        return;
    }
    static const char *const cols[] = {"id", "name", "depth", "users", "sort", NULL};
    GPtrArray *rows = g_ptr_array_new();
    for (int i = 0; i < t->n; i++) {
        const char **row = arena_alloc(req->arena, sizeof(char *) * 6);
        row[0] = req_id_text(req, t->items[i].id);
        row[1] = t->items[i].name;
        row[2] = req_id_text(req, t->items[i].depth > 4 ? 4 : t->items[i].depth);
        row[3] = t->items[i].users;
        row[4] = t->items[i].sort;
        g_ptr_array_add(rows, row);
    }
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Departments"));
    push_tabs(req, v, "departments");
    view_set_columns(v, cols);
    view_set_table(v, "departments", rows);
    g_ptr_array_free(rows, TRUE);
    view_set_int(v, "n_departments", t->n);
    view_set_int(v, "has_create", auth_can(req, "org.create"));
    view_set_int(v, "has_edit", auth_can(req, "org.edit"));
    view_set_int(v, "has_delete", auth_can(req, "org.delete"));
    view_render(req, v, "org/departments", 200);
}

static void render_dept_form(Request *req, Form *f, long id, int status, bool conflict)
{
    DeptTree *t = dept_tree(req);
    if (!t) {
        resp_error(req, 503);
        return;
    }
    View *v = view_new(req);
    view_set_tr(v, "title", id ? N_("Edit department") : N_("New department"));
    push_tabs(req, v, "departments");
    form_push(f, v);
    push_select(f, v, "parent_id", dept_opts(req, t, id), N_("— Top level —"));
    view_set_int(v, "is_new", id == 0);
    view_set_int(v, "has_conflict", conflict);
    view_set_int(v, "has_delete", id && auth_can(req, "org.delete"));
    view_set(v, "action", id ? arena_printf(req->arena, "/admin/departments/%ld/edit", id) : "/admin/departments/new");
    view_set(v, "delete_url", id ? arena_printf(req->arena, "/admin/departments/%ld/delete", id) : "");
    view_render(req, v, "org/department_form", status);
}

/* A chosen parent must exist (422 otherwise). Returns -1 on a database failure. */
static int validate_dept(Request *req, Form *f)
{
    const char *parent = form_get(f, "parent_id");
    if (*parent && !f->errors[field_index(f, "parent_id")]) {
        PGresult *r = db_exec(req->arena, "SELECT 1 FROM departments WHERE id = $1", parent);
        if (!r)
            return -1;
        if (!PQntuples(r))
            form_error(f, "parent_id", N_("This department no longer exists."));
    }
    if (!*form_get(f, "sort"))
        form_set(f, "sort", "0");
    return 0;
}

/* GET /admin/departments/new: 200 the empty form (?parent=ID preselects the parent). */
static void dept_new_form(Request *req)
{
    Form *f = form_new(req, dept_fields);
    long parent;
    if (parse_id(req_query(req, "parent"), &parent))
        form_set(f, "parent_id", req_id_text(req, parent));
    form_set(f, "sort", "0");
    render_dept_form(req, f, 0, 200, false);
}

/* POST /admin/departments/new: 303 to the tree; 422 with input and messages (a name already
 * used under the same parent included). */
static void dept_create(Request *req)
{
    Form *f = form_new(req, dept_fields);
    form_read(f);
    if (validate_dept(req, f) < 0) {
        resp_error(req, 503);
        return;
    }
    if (f->nerrors) {
        render_dept_form(req, f, 0, 422, false);
        return;
    }
    char state[6] = "";
    long id = 0;
    PGresult *r = NULL, *now = NULL;
    bool ok = db_begin(req->arena) == 0 &&
              (r = db_exec(req->arena,
                           "INSERT INTO departments (name, parent_id, sort)"
                           " VALUES ($1, NULLIF($2, '')::bigint, $3::int) RETURNING id",
                           form_get(f, "name"), form_get(f, "parent_id"), form_get(f, "sort")));
    if (ok) {
        id = atol(PQgetvalue(r, 0, 0));
        AuditDiff *d = audit_diff_new(req->arena);
        ok = (now = db_exec(req->arena, DEPT_SNAPSHOT_SQL, req_id_text(req, id))) != NULL;
        if (ok) {
            diff_rows(d, NULL, now);
            ok = audit_write(req, "org", "create", "department", id, form_get(f, "name"), d, "ok") == 0 &&
                 db_commit(req->arena) == 0;
        }
    }
    if (!ok) {
        keep_state(state);
        db_rollback(req->arena);
        if (strcmp(state, "23505") == 0) {
            form_error(f, "name", N_("A department with this name already exists at this place."));
            render_dept_form(req, f, 0, 422, false);
        } else if (strcmp(state, "23503") == 0) {
            form_error(f, "parent_id", N_("This department no longer exists."));
            render_dept_form(req, f, 0, 422, false);
        } else {
            resp_error(req, 503);
        }
        return;
    }
    resp_flash(req, "ok", N_("Department created."));
    resp_redirect(req, "/admin/departments");
}

/* GET /admin/departments/{id}/edit: 200 the form; 404. */
static void dept_edit_form(Request *req)
{
    long id = req_arg_id(req, 0);
    PGresult *r = db_exec(req->arena, DEPT_FORM_SQL, req_id_text(req, id));
    if (!r || PQntuples(r) != 1) {
        resp_error(req, r ? 404 : 503);
        return;
    }
    Form *f = form_new(req, dept_fields);
    form_load(f, r, 0);
    render_dept_form(req, f, id, 200, false);
}

/* POST /admin/departments/{id}/edit: 303 to the tree; 422 (a parent inside the department
 * itself included); 409 when someone saved meanwhile; 404; 400 for input not from the form. */
static void dept_update(Request *req)
{
    long id = req_arg_id(req, 0);
    const char *sid = req_id_text(req, id);
    PGresult *cur = db_exec(req->arena, DEPT_FORM_SQL, sid);
    if (!cur || PQntuples(cur) != 1) {
        resp_error(req, cur ? 404 : 503);
        return;
    }
    Form *f = form_new(req, dept_fields);
    form_read(f);
    if (!f->version) {
        resp_error(req, 400);
        return;
    }
    if (validate_dept(req, f) < 0) {
        resp_error(req, 503);
        return;
    }
    if (f->nerrors) {
        render_dept_form(req, f, id, 422, false);
        return;
    }
    if (db_begin(req->arena) < 0) {
        resp_error(req, 503);
        return;
    }
    char state[6] = "";
    PGresult *cycle = db_exec(req->arena,
        "SELECT pg_advisory_xact_lock(hashtext('kexin.departments.parent_id')),"
        "       EXISTS (WITH RECURSIVE t(id) AS (SELECT $1::bigint"
        "                 UNION SELECT c.id FROM departments c JOIN t ON c.parent_id = t.id)"
        "               SELECT 1 FROM t WHERE id = NULLIF($2, '')::bigint)",
        sid, form_get(f, "parent_id"));
    PGresult *old = cycle ? db_exec(req->arena, DEPT_SNAPSHOT_SQL, sid) : NULL;
    if (!old) {
        db_rollback(req->arena);
        resp_error(req, 503);
        return;
    }
    if (is_true(PQgetvalue(cycle, 0, 1))) {
        db_rollback(req->arena);
        form_error(f, "parent_id", N_("A department cannot be placed inside itself or one of its sub-departments."));
        render_dept_form(req, f, id, 422, false);
        return;
    }
    PGresult *up = db_exec(req->arena,
        "UPDATE departments SET name = $3, parent_id = NULLIF($4, '')::bigint, sort = $5::int,"
        " version = version + 1, updated_at = now() WHERE id = $1 AND version = $2::int",
        sid, f->version, form_get(f, "name"), form_get(f, "parent_id"), form_get(f, "sort"));
    if (!up) {
        keep_state(state);
        db_rollback(req->arena);
        if (strcmp(state, "23505") == 0) {
            form_error(f, "name", N_("A department with this name already exists at this place."));
            render_dept_form(req, f, id, 422, false);
        } else if (strcmp(state, "23503") == 0) {
            form_error(f, "parent_id", N_("This department no longer exists."));
            render_dept_form(req, f, id, 422, false);
        } else {
            resp_error(req, 503);
        }
        return;
    }
    if (atoi(PQcmdTuples(up)) == 0) {
        db_rollback(req->arena);
        PGresult *now = db_exec(req->arena, DEPT_FORM_SQL, sid);
        if (!now || PQntuples(now) != 1) {
            resp_error(req, now ? 404 : 503);
            return;
        }
        form_stale(f, now);
        render_dept_form(req, f, id, 409, true);
        return;
    }
    AuditDiff *d = audit_diff_new(req->arena);
    PGresult *after = db_exec(req->arena, DEPT_SNAPSHOT_SQL, sid);
    bool ok = after != NULL;
    if (ok) {
        diff_rows(d, old, after);
        ok = audit_write(req, "org", "update", "department", id, form_get(f, "name"), d, "ok") == 0 &&
             db_commit(req->arena) == 0;
    }
    if (!ok) {
        db_rollback(req->arena);
        resp_error(req, 503);
        return;
    }
    resp_flash(req, "ok", audit_diff_count(d) ? N_("Department saved.") : N_("No changes."));
    resp_redirect(req, "/admin/departments");
}

/* POST /admin/departments/{id}/delete: 303 to the tree, with a message saying why when the
 * department still has users or sub-departments (nothing is deleted then); 404. */
static void dept_delete(Request *req)
{
    long id = req_arg_id(req, 0);
    const char *sid = req_id_text(req, id);
    if (db_begin(req->arena) < 0) {
        resp_error(req, 503);
        return;
    }
    PGresult *r = db_exec(req->arena,
        "SELECT d.name, (SELECT count(*) FROM users u WHERE u.department_id = d.id),"
        "       (SELECT count(*) FROM departments c WHERE c.parent_id = d.id)"
        "  FROM departments d WHERE d.id = $1 FOR UPDATE",
        sid);
    if (!r || PQntuples(r) != 1) {
        db_rollback(req->arena);
        resp_error(req, r ? 404 : 503);
        return;
    }
    const char *refusal = atol(PQgetvalue(r, 0, 1)) ? N_("The department still has users. Move them to another department first.")
                        : atol(PQgetvalue(r, 0, 2)) ? N_("The department still has sub-departments. Move or delete them first.")
                                                    : NULL;
    char state[6] = "";
    AuditDiff *d = audit_diff_new(req->arena);
    PGresult *old = refusal ? NULL : db_exec(req->arena, DEPT_SNAPSHOT_SQL, sid);
    bool ok = !refusal && old;
    if (ok) {
        diff_rows(d, old, NULL);
        ok = db_exec(req->arena, "DELETE FROM departments WHERE id = $1", sid) &&
             audit_write(req, "org", "delete", "department", id, PQgetvalue(r, 0, 0), d, "ok") == 0 &&
             db_commit(req->arena) == 0;
        if (!ok)
            keep_state(state);
    }
    if (!ok) {
        db_rollback(req->arena);
        if (!refusal && strcmp(state, "23503") == 0) /* a user arrived meanwhile */
            refusal = N_("The department still has users. Move them to another department first.");
        if (!refusal) {
            resp_error(req, 503);
            return;
        }
        resp_flash(req, "error", refusal);
        resp_redirect(req, "/admin/departments");
        return;
    }
    resp_flash(req, "ok", N_("Department deleted."));
    resp_redirect(req, "/admin/departments");
}

/* ==== roles ================================================================================ */

enum { ROLE_F_NAME, ROLE_F_CODE, ROLE_F_DESCRIPTION, ROLE_F_SCOPE, ROLE_F_PERMS };

static const FieldDef role_field_table[] = {
    [ROLE_F_NAME] = {"name", N_("Name"), F_TEXT, F_REQUIRED, 60, 0, 0, NULL, "off", NULL},
    [ROLE_F_CODE] = {"code", N_("Code"), F_TEXT, F_REQUIRED, 31, 0, 0, NULL, "off",
                     N_("A lower-case letter, then 1–30 lower-case letters, digits or underscores.")},
    [ROLE_F_DESCRIPTION] = {"description", N_("Description"), F_TEXTAREA, 0, 200, 0, 0, NULL, NULL, NULL},
    [ROLE_F_SCOPE] = {"data_scope", N_("Data scope"), F_SELECT, F_REQUIRED, 20, 0, 0, NULL, NULL,
                      N_("Whose records the role's users see in every list, report and search.")},
    /* the ticked permissions, sorted and comma-joined (the matrix is drawn by the template) */
    [ROLE_F_PERMS] = {"perms", N_("Permissions"), F_TEXT, 0, 8000, 0, 0, NULL, NULL, NULL},
    {NULL},
};

/* The field table with the data-scope choices taken from the catalogue (perm.c). */
static const FieldDef *role_fields(Request *req)
{
    FieldDef *defs = arena_alloc(req->arena, sizeof role_field_table);
    memcpy(defs, role_field_table, sizeof role_field_table);
    Choice *ch = arena_alloc(req->arena, sizeof(Choice) * 6);
    for (int i = SCOPE_OWN; i <= SCOPE_ALL; i++) {
        ch[i - 1].value = scope_defs[i].code;
        ch[i - 1].label = scope_defs[i].label;
    }
    defs[ROLE_F_SCOPE].choices = ch;
    return defs;
}

static const char ROLE_FORM_SQL[] =
    "SELECT r.name, r.code, r.description, r.data_scope,"
    "       coalesce((SELECT string_agg(p.module || '.' || p.action, ','"
    "                          ORDER BY (p.module || '.' || p.action) COLLATE \"C\")"
    "                   FROM role_permissions p WHERE p.role_id = r.id), '') AS perms,"
    "       r.version,"
    "       (SELECT count(*) FROM user_roles ur WHERE ur.role_id = r.id) AS n_users"
    "  FROM roles r WHERE r.id = $1";

static const char ROLE_SNAPSHOT_SQL[] =
    "SELECT r.name, r.code, r.description, r.data_scope,"
    "       coalesce((SELECT string_agg(p.module || '.' || p.action, ','"
    "                          ORDER BY (p.module || '.' || p.action) COLLATE \"C\")"
    "                   FROM role_permissions p WHERE p.role_id = r.id), '') AS permissions"
    "  FROM roles r WHERE r.id = $1";

/* GET /admin/roles: 200 the roles with their data scope, users and permission counts. */
static void roles_list(Request *req)
{
    PGresult *r = db_exec0(req->arena,
        "SELECT r.id, r.name, r.code, r.description, r.data_scope,"
        "       (SELECT count(*) FROM user_roles ur WHERE ur.role_id = r.id),"
        "       (SELECT count(*) FROM role_permissions p WHERE p.role_id = r.id)"
        "  FROM roles r ORDER BY lower(r.name), r.id");
    if (!r) {
        resp_error(req, 503);
        return;
    }
    static const char *const cols[] = {"id", "name", "code", "description", "scope", "users", "perms", NULL};
    GPtrArray *rows = g_ptr_array_new();
    for (int i = 0; i < PQntuples(r); i++) {
        const char **row = arena_alloc(req->arena, sizeof(char *) * 8);
        for (int c = 0; c < 7; c++)
            row[c] = PQgetvalue(r, i, c);
        row[4] = i18n_get(req->lang, scope_defs[scope_from_code(PQgetvalue(r, i, 4))].label);
        g_ptr_array_add(rows, row);
    }
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Roles"));
    push_tabs(req, v, "roles");
    view_set_columns(v, cols);
    view_set_table(v, "roles", rows);
    g_ptr_array_free(rows, TRUE);
    view_set_int(v, "n_roles", PQntuples(r));
    view_set_int(v, "has_create", auth_can(req, "org.create"));
    view_set_int(v, "has_edit", auth_can(req, "org.edit"));
    view_render(req, v, "org/roles", 200);
}

/* The matrix: one row per module of the catalogue, one cell per action: "na" where the module
 * has no such action, else "on"/"off" with the checkbox value and its accessible name. */
static void push_matrix(Request *req, View *v, const char *perms)
{
    const char *lang = req->lang;
    const char *cols[2 + 3 * PERM_NACTIONS];
    cols[0] = "m_label";
    for (int a = 0; a < PERM_NACTIONS; a++) {
        cols[1 + 3 * a] = arena_printf(req->arena, "s%d", a);
        cols[2 + 3 * a] = arena_printf(req->arena, "v%d", a);
        cols[3 + 3 * a] = arena_printf(req->arena, "a%d", a);
    }
    cols[1 + 3 * PERM_NACTIONS] = NULL;
    view_set_columns(v, cols);
    GPtrArray *rows = g_ptr_array_new();
    for (const PermModule *m = perm_modules; m->code; m++) {
        const char **row = arena_alloc(req->arena, sizeof(char *) * (2 + 3 * PERM_NACTIONS));
        const char *mlabel = i18n_get(lang, m->label);
        row[0] = mlabel;
        for (int a = 0; a < PERM_NACTIONS; a++) {
            bool has = (m->actions & (1u << a)) != 0;
            const char *value = arena_printf(req->arena, "%s.%s", m->code, perm_actions[a].code);
            row[1 + 3 * a] = !has ? "na" : list_has(perms, value) ? "on" : "off";
            row[2 + 3 * a] = has ? value : "";
            row[3 + 3 * a] = has ? arena_printf(req->arena, i18n_get(lang, N_("%s: %s")), mlabel,
                                                i18n_get(lang, perm_actions[a].label))
                                 : "";
        }
        row[1 + 3 * PERM_NACTIONS] = NULL;
        g_ptr_array_add(rows, row);
    }
    view_set_table(v, "matrix", rows);
    g_ptr_array_free(rows, TRUE);
    GPtrArray *heads = g_ptr_array_new();
    for (int a = 0; a < PERM_NACTIONS; a++) {
        const char **row = arena_alloc(req->arena, sizeof(char *) * 2);
        row[0] = i18n_get(lang, perm_actions[a].label);
        g_ptr_array_add(heads, row);
    }
    static const char *const hcols[] = {"h_label", NULL};
    view_set_columns(v, hcols);
    view_set_table(v, "actions", heads);
    g_ptr_array_free(heads, TRUE);
}

static void render_role_form(Request *req, Form *f, long id, long n_users, int status, bool conflict)
{
    View *v = view_new(req);
    view_set_tr(v, "title", id ? N_("Edit role") : N_("New role"));
    push_tabs(req, v, "roles");
    form_push(f, v);
    push_matrix(req, v, form_get(f, "perms"));
    int pi = field_index(f, "perms");
    view_set(v, "perms_error", f->errors[pi] ? i18n_get(req->lang, f->errors[pi]) : "");
    view_set(v, "perms_note", f->notes[pi] ? i18n_get(req->lang, f->notes[pi]) : "");
    view_set_int(v, "is_new", id == 0);
    view_set_int(v, "has_conflict", conflict);
    view_set_int(v, "has_delete", id && auth_can(req, "org.delete"));
    view_set_int(v, "n_users", n_users);
    view_set(v, "action", id ? arena_printf(req->arena, "/admin/roles/%ld/edit", id) : "/admin/roles/new");
    view_set(v, "delete_url", id ? arena_printf(req->arena, "/admin/roles/%ld/delete", id) : "");
    view_set(v, "users_url", id ? arena_printf(req->arena, "/admin/users?role=%ld", id) : "");
    view_render(req, v, "org/role_form", status);
}

/* Reads the role form. Every ticked "perm" must name a permission of the catalogue; false
 * (→ 400) otherwise: the matrix never offers one that is not. */
static bool read_role_form(Request *req, Form *f)
{
    form_read(f);
    GPtrArray *perms = g_ptr_array_new();
    bool ok = true;
    for (int i = 0; i < req->form.n && ok; i++) {
        if (strcmp(req->form.items[i].name, "perm") != 0)
            continue;
        const char *p = req->form.items[i].value;
        const char *dot = strchr(p, '.');
        char module[64];
        if (!dot || (size_t)(dot - p) >= sizeof module || perms->len >= 1000) {
            ok = false;
            break;
        }
        g_strlcpy(module, p, (size_t)(dot - p) + 1);
        ok = perm_valid(module, dot + 1);
        g_ptr_array_add(perms, (gpointer)p);
    }
    if (ok) {
        g_ptr_array_sort(perms, cmp_cstr);
        GString *s = g_string_new(NULL);
        for (guint i = 0; i < perms->len; i++) {
            const char *p = g_ptr_array_index(perms, i);
            if (i && strcmp(p, g_ptr_array_index(perms, i - 1)) == 0)
                continue;
            g_string_append_printf(s, "%s%s", s->len ? "," : "", p);
        }
        int pi = field_index(f, "perms");
        if (f->errors[pi]) {
            f->errors[pi] = NULL;
            f->nerrors--;
        }
        form_set(f, "perms", arena_strdup(req->arena, s->str));
        g_string_free(s, TRUE);
    }
    g_ptr_array_free(perms, TRUE);

    const char *code = form_get(f, "code");
    size_t len = strlen(code);
    if (ok && !f->errors[field_index(f, "code")] &&
        (len < 2 || len > 31 || !g_ascii_islower(code[0]) ||
         strspn(code, "abcdefghijklmnopqrstuvwxyz0123456789_") != len))
        form_error(f, "code", N_("A lower-case letter, then 1–30 lower-case letters, digits or underscores."));
    return ok;
}

/* The permission list as a text[] parameter. */
static char *perm_array(Request *req, const char *joined)
{
    gchar **parts = g_strsplit(joined, ",", -1);
    int n = 0;
    while (parts[n] && *parts[n])
        n++;
    char *out = sql_text_array(req->arena, (const char *const *)parts, n);
    g_strfreev(parts);
    return out;
}

/* Replaces the role's permissions with the ticked ones (inside the caller's transaction). */
static bool role_set_perms(Request *req, const char *sid, const char *joined)
{
    return db_exec(req->arena, "DELETE FROM role_permissions WHERE role_id = $1", sid) &&
           db_exec(req->arena,
                   "INSERT INTO role_permissions (role_id, module, action)"
                   " SELECT $1, split_part(p, '.', 1), split_part(p, '.', 2)"
                   "   FROM unnest($2::text[]) AS p",
                   sid, perm_array(req, joined));
}

/* GET /admin/roles/new: 200 the empty form (data scope "own", nothing ticked). */
static void role_new_form(Request *req)
{
    Form *f = form_new(req, role_fields(req));
    form_set(f, "data_scope", scope_defs[SCOPE_OWN].code);
    render_role_form(req, f, 0, 0, 200, false);
}

/* POST /admin/roles/new: 303 to the roles; 422 with input and messages (a code in use
 * included); 400 for a permission outside the catalogue. */
static void role_create(Request *req)
{
    Form *f = form_new(req, role_fields(req));
    if (!read_role_form(req, f)) {
        resp_error(req, 400);
        return;
    }
    if (f->nerrors) {
        render_role_form(req, f, 0, 0, 422, false);
        return;
    }
    char state[6] = "";
    PGresult *r = NULL, *now = NULL;
    long id = 0;
    bool ok = db_begin(req->arena) == 0 &&
              (r = db_exec(req->arena,
                           "INSERT INTO roles (name, code, description, data_scope)"
                           " VALUES ($1, $2, $3, $4) RETURNING id",
                           form_get(f, "name"), form_get(f, "code"), form_get(f, "description"),
                           form_get(f, "data_scope")));
    if (ok) {
        id = atol(PQgetvalue(r, 0, 0));
        const char *sid = req_id_text(req, id);
        AuditDiff *d = audit_diff_new(req->arena);
        ok = role_set_perms(req, sid, form_get(f, "perms")) &&
             (now = db_exec(req->arena, ROLE_SNAPSHOT_SQL, sid));
        if (ok) {
            diff_rows(d, NULL, now);
            ok = audit_write(req, "org", "create", "role", id, form_get(f, "name"), d, "ok") == 0 &&
                 db_commit(req->arena) == 0;
        }
    }
    if (!ok) {
        keep_state(state);
        db_rollback(req->arena);
        if (strcmp(state, "23505") == 0) {
            form_error(f, "code", N_("This code is already used by another role."));
            render_role_form(req, f, 0, 0, 422, false);
        } else {
            resp_error(req, 503);
        }
        return;
    }
    resp_flash(req, "ok", N_("Role created."));
    resp_redirect(req, "/admin/roles");
}

/* GET /admin/roles/{id}/edit: 200 the form with the matrix; 404. */
static void role_edit_form(Request *req)
{
    long id = req_arg_id(req, 0);
    PGresult *r = db_exec(req->arena, ROLE_FORM_SQL, req_id_text(req, id));
    if (!r || PQntuples(r) != 1) {
        resp_error(req, r ? 404 : 503);
        return;
    }
    Form *f = form_new(req, role_fields(req));
    form_load(f, r, 0);
    render_role_form(req, f, id, atol(PQgetvalue(r, 0, PQfnumber(r, "n_users"))), 200, false);
}

/* POST /admin/roles/{id}/edit: 303 to the roles (the role's users get the new rights from
 * their next request); 422; 409 when someone saved meanwhile (ticks kept); 404; 400 for a
 * permission outside the catalogue or input not from the form. */
static void role_update(Request *req)
{
    long id = req_arg_id(req, 0);
    const char *sid = req_id_text(req, id);
    PGresult *cur = db_exec(req->arena, ROLE_FORM_SQL, sid);
    if (!cur || PQntuples(cur) != 1) {
        resp_error(req, cur ? 404 : 503);
        return;
    }
    long n_users = atol(PQgetvalue(cur, 0, PQfnumber(cur, "n_users")));
    Form *f = form_new(req, role_fields(req));
    if (!read_role_form(req, f) || !f->version) {
        resp_error(req, 400);
        return;
    }
    if (f->nerrors) {
        render_role_form(req, f, id, n_users, 422, false);
        return;
    }
    char state[6] = "";
    PGresult *old = NULL, *up = NULL;
    bool ok = db_begin(req->arena) == 0 && (old = db_exec(req->arena, ROLE_SNAPSHOT_SQL, sid)) &&
              (up = db_exec(req->arena,
                            "UPDATE roles SET name = $3, code = $4, description = $5, data_scope = $6,"
                            " version = version + 1, updated_at = now()"
                            " WHERE id = $1 AND version = $2::int",
                            sid, f->version, form_get(f, "name"), form_get(f, "code"),
                            form_get(f, "description"), form_get(f, "data_scope")));
    if (!ok) {
        keep_state(state);
        db_rollback(req->arena);
        if (strcmp(state, "23505") == 0) {
            form_error(f, "code", N_("This code is already used by another role."));
            render_role_form(req, f, id, n_users, 422, false);
        } else {
            resp_error(req, 503);
        }
        return;
    }
    if (atoi(PQcmdTuples(up)) == 0) {
        db_rollback(req->arena);
        PGresult *now = db_exec(req->arena, ROLE_FORM_SQL, sid);
        if (!now || PQntuples(now) != 1) {
            resp_error(req, now ? 404 : 503);
            return;
        }
        form_stale(f, now);
        if (f->errors[ROLE_F_PERMS])
            /* the stored list is long: say it in words; the matrix shows the user's ticks */
            form_error(f, "perms", N_("Someone else changed the permissions meanwhile. Your ticks are kept: save again to overwrite them."));
        render_role_form(req, f, id, atol(PQgetvalue(now, 0, PQfnumber(now, "n_users"))), 409, true);
        return;
    }
    AuditDiff *d = audit_diff_new(req->arena);
    PGresult *after = NULL;
    ok = role_set_perms(req, sid, form_get(f, "perms")) &&
         (after = db_exec(req->arena, ROLE_SNAPSHOT_SQL, sid));
    if (ok) {
        diff_rows(d, old, after);
        ok = audit_write(req, "org", "update", "role", id, form_get(f, "name"), d, "ok") == 0 &&
             db_commit(req->arena) == 0;
    }
    if (!ok) {
        db_rollback(req->arena);
        resp_error(req, 503);
        return;
    }
    resp_flash(req, "ok", audit_diff_count(d) ? N_("Role saved. Its users have the new rights from their next page.")
                                              : N_("No changes."));
    resp_redirect(req, "/admin/roles");
}

/* POST /admin/roles/{id}/delete: 303 to the roles, with a message saying why while users still
 * have the role (nothing is deleted then); 404. */
static void role_delete(Request *req)
{
    long id = req_arg_id(req, 0);
    const char *sid = req_id_text(req, id);
    if (db_begin(req->arena) < 0) {
        resp_error(req, 503);
        return;
    }
    PGresult *r = db_exec(req->arena,
        "SELECT r.name, (SELECT count(*) FROM user_roles ur WHERE ur.role_id = r.id)"
        "  FROM roles r WHERE r.id = $1 FOR UPDATE",
        sid);
    if (!r || PQntuples(r) != 1) {
        db_rollback(req->arena);
        resp_error(req, r ? 404 : 503);
        return;
    }
    if (atol(PQgetvalue(r, 0, 1)) > 0) {
        db_rollback(req->arena);
        resp_flash(req, "error", N_("Users still have this role. Take it away from them first."));
        resp_redirect(req, arena_printf(req->arena, "/admin/roles/%ld/edit", id));
        return;
    }
    /* The FK of user_roles cascades, so the DELETE itself re-checks that nobody has the role:
     * a role must never vanish silently from someone's account. */
    AuditDiff *d = audit_diff_new(req->arena);
    PGresult *old = db_exec(req->arena, ROLE_SNAPSHOT_SQL, sid);
    PGresult *del = old ? db_exec(req->arena,
                                  "DELETE FROM roles r WHERE r.id = $1"
                                  " AND NOT EXISTS (SELECT 1 FROM user_roles ur WHERE ur.role_id = r.id)",
                                  sid)
                        : NULL;
    bool ok = del != NULL;
    if (ok && atoi(PQcmdTuples(del)) == 0) {
        db_rollback(req->arena);
        resp_flash(req, "error", N_("Users still have this role. Take it away from them first."));
        resp_redirect(req, arena_printf(req->arena, "/admin/roles/%ld/edit", id));
        return;
    }
    if (ok) {
        diff_rows(d, old, NULL);
        ok = audit_write(req, "org", "delete", "role", id, PQgetvalue(r, 0, 0), d, "ok") == 0 &&
             db_commit(req->arena) == 0;
    }
    if (!ok) {
        db_rollback(req->arena);
        resp_error(req, 503);
        return;
    }
    resp_flash(req, "ok", N_("Role deleted."));
    resp_redirect(req, "/admin/roles");
}

/* ==== module ================================================================================ */

static const Route routes[] = {
    {"GET", "/admin/users", users_list, "org.view", 0},
    {"GET", "/admin/users/new", user_new_form, "org.create", 0},
    {"POST", "/admin/users/new", user_create, "org.create", 0},
    {"GET", "/admin/users/{id}", user_show, "org.view", 0},
    {"GET", "/admin/users/{id}/edit", user_edit_form, "org.edit", 0},
    {"POST", "/admin/users/{id}/edit", user_update, "org.edit", 0},
    {"POST", "/admin/users/{id}/reset-password", user_reset_password, "org.edit", 0},
    {"POST", "/admin/users/{id}/disable", user_disable, "org.edit", 0},
    {"POST", "/admin/users/{id}/enable", user_enable, "org.edit", 0},
    {"GET", "/admin/departments", dept_list, "org.view", 0},
    {"GET", "/admin/departments/new", dept_new_form, "org.create", 0},
    {"POST", "/admin/departments/new", dept_create, "org.create", 0},
    {"GET", "/admin/departments/{id}/edit", dept_edit_form, "org.edit", 0},
    {"POST", "/admin/departments/{id}/edit", dept_update, "org.edit", 0},
    {"POST", "/admin/departments/{id}/delete", dept_delete, "org.delete", 0},
    {"GET", "/admin/roles", roles_list, "org.view", 0},
    {"GET", "/admin/roles/new", role_new_form, "org.create", 0},
    {"POST", "/admin/roles/new", role_create, "org.create", 0},
    {"GET", "/admin/roles/{id}/edit", role_edit_form, "org.edit", 0},
    {"POST", "/admin/roles/{id}/edit", role_update, "org.edit", 0},
    {"POST", "/admin/roles/{id}/delete", role_delete, "org.delete", 0},
    {NULL, NULL, NULL, NULL, 0},
};

static const NavItem nav[] = {
    {"/admin/users", N_("Organisation"), "org.view", "/admin/departments|/admin/roles"},
    {NULL, NULL, NULL},
};

const Module org_module = {"org", routes, nav};
