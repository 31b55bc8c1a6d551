/* audit.c — the audit trail pages: operation log (操作日志) and login log (登录日志), browsed
 * with filters kept in the URL, and their Excel exports of exactly the filtered rows. */
#include "../core/audit.h"
#include "../core/auth.h"
#include "../core/config.h"
#include "../core/db.h"
#include "../core/i18n.h"
#include "../core/listing.h"
#include "../core/perm.h"
#include "../core/response.h"
#include "../core/router.h"
#include "../core/sqlbuf.h"
#include "../core/view.h"
#include "../docs/xlsx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_CAP 100000 /* rows per export: a safety cap, far above any sensible filter */
#define USER_SELECT_MAX 300 /* more users than this: the user filter becomes a typed name */
#define CHANGES_SHOWN 3     /* changed fields listed per row on the page; the rest as "+N" */

typedef enum { LOG_OPS, LOG_LOGINS } LogKind;

/* code → English msgid, for names stored as codes in audit rows. */
typedef struct Code {
    const char *code;
    const char *label;
} Code;

/* Modules that write audit rows without being a permission module of perm.c. */
static const Code extra_modules[] = {
    {"auth", N_("Sign-in")},
    {"account", N_("My account")},
    {NULL, NULL},
};

static const Code action_names[] = {
    {"create", N_("Create")},
    {"update", N_("Update")},
    {"edit", N_("Edit")},
    {"delete", N_("Delete")},
    {"disable", N_("Disable")},
    {"enable", N_("Enable")},
    {"reset_password", N_("Reset password")},
    {"change_password", N_("Change password")},
    {"assign", N_("Assign")},
    {"transfer", N_("Transfer")},
    {"approve", N_("Approve")},
    {"reject", N_("Reject")},
    {"export", N_("Export")},
    {"print", N_("Print")},
    {"view", N_("View")},
    {"access", N_("Access")},
    {"login", N_("Signed in")},
    {"logout", N_("Signed out")},
    {"login_failed", N_("Failed sign-in")},
    {NULL, NULL},
};

/* Events of the login log (module 'auth'); a denied row is "Access denied" whatever its action. */
static const Code event_names[] = {
    {"login", N_("Signed in")},
    {"logout", N_("Signed out")},
    {"login_failed", N_("Failed sign-in")},
    {NULL, NULL},
};

static const Code object_types[] = {
    {"user", N_("User")},
    {"department", N_("Department")},
    {"role", N_("Role")},
    {"path", N_("Page")},
    {"setting", N_("Setting")},
    {"audit_log", N_("Operation log")},
    {"login_log", N_("Login log")},
    {NULL, NULL},
};

static const Code results[] = {
    {"ok", N_("Succeeded")},
    {"denied", N_("Denied")},
    {"failed", N_("Failed")},
    {NULL, NULL},
};

static const ListSort ops_sorts[] = {
    {"at", "a.at"},
    {"user", "a.username"},
    {"module", "a.module"},
    {NULL, NULL},
};

static const ListSort login_sorts[] = {
    {"at", "a.at"},
    {"user", "a.username"},
    {NULL, NULL},
};

static const char *code_label(const Code *t, const char *code)
{
    for (; t->code; t++)
        if (strcmp(t->code, code) == 0)
            return t->label;
    return NULL;
}

/* The English name of a module code: the permission catalogue first, then extra_modules. */
static const char *module_label(const char *code)
{
    for (const PermModule *m = perm_modules; m->code; m++)
        if (strcmp(m->code, code) == 0)
            return m->label;
    return code_label(extra_modules, code);
}

static const char *tr_or_code(Request *req, const char *msgid, const char *code)
{
    return msgid ? i18n_get(req->lang, msgid) : code;
}

/* --- filters ------------------------------------------------------------------------------- */

typedef struct Filters {
    LogKind kind;
    /* as typed (trimmed), for the form */
    const char *from, *to, *uid, *user, *module, *action, *otype, *oid, *result, *q, *addr;
    /* what the WHERE uses: NULL = no condition */
    const char *from_ok, *to_ok, *oid_ok, *result_ok;
    const char *user_id; /* the typed name resolved to an account, or NULL */
    bool bad_date, bad_number;
} Filters;

/* A query parameter, trimmed; NULL when absent, empty or longer than max bytes. */
static const char *qparam(Request *req, const char *name, size_t max)
{
    const char *v = req_query(req, name);
    if (!v)
        return NULL;
    char *s = g_strstrip(arena_strdup(req->arena, v));
    return *s && strlen(s) <= max ? s : NULL;
}

static bool all_digits(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isdigit(s[i]))
            return false;
    return true;
}

/* YYYY-MM-DD naming a real calendar day. */
static bool valid_date(const char *s)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !g_ascii_isdigit(s[i]))
            return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    return y >= 1900 && m >= 1 && m <= 12 &&
           g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y);
}

/* Reads and validates the filters of the query string; resolves a typed user name. Returns
 * NULL when the database failed. */
static Filters *filters_read(Request *req, LogKind kind)
{
    Filters *f = arena_alloc(req->arena, sizeof *f);
    f->kind = kind;
    f->from = qparam(req, "from", 32);
    f->to = qparam(req, "to", 32);
    f->user = qparam(req, "user", 64);
    f->result = qparam(req, "result", 16);
    f->action = qparam(req, "action", 64);
    if (kind == LOG_OPS) {
        f->uid = qparam(req, "uid", 20);
        f->module = qparam(req, "module", 64);
        f->otype = qparam(req, "otype", 64);
        f->oid = qparam(req, "oid", 32);
        f->q = qparam(req, "q", 200);
    } else {
        f->addr = qparam(req, "addr", 64);
    }
    if (f->from && valid_date(f->from))
        f->from_ok = f->from;
    if (f->to && valid_date(f->to))
        f->to_ok = f->to;
    f->bad_date = (f->from && !f->from_ok) || (f->to && !f->to_ok);
    if (f->oid && all_digits(f->oid, 18))
        f->oid_ok = f->oid;
    if (f->uid && !all_digits(f->uid, 18))
        f->uid = NULL;
    f->bad_number = f->oid && !f->oid_ok;
    if (f->result && code_label(results, f->result))
        f->result_ok = f->result;
    if (f->user) {
        PGresult *r = db_exec(req->arena,
                              "SELECT id FROM users WHERE lower(username) = lower($1)", f->user);
        if (!r)
            return NULL;
        if (PQntuples(r) == 1)
            f->user_id = PQgetvalue(r, 0, 0);
    }
    return f;
}

/* The one WHERE of both the list (and its count) and the export, so they show the same rows. */
static void filters_where(Request *req, const Filters *f, SqlBuf *q)
{
    Arena *a = req->arena;
    sql_add(q, f->kind == LOG_LOGINS ? " WHERE a.module = 'auth'" : " WHERE a.module <> 'auth'");
    /* Dates are days in the company's time zone; the bounds are constants for the planner, so
     * the (at) and (…, at) indexes serve the range. */
    if (f->from_ok)
        sql_add(q, arena_printf(a, " AND a.at >= (%s::date::timestamp AT TIME ZONE %s::text)",
                                sql_param(q, f->from_ok), sql_param(q, cfg.timezone)));
    if (f->to_ok)
        sql_add(q, arena_printf(a, " AND a.at < ((%s::date + 1)::timestamp AT TIME ZONE %s::text)",
                                sql_param(q, f->to_ok), sql_param(q, cfg.timezone)));
    if (f->uid)
        sql_addp(q, " AND a.user_id = %s::bigint", f->uid);
    if (f->user) {
        if (f->user_id && f->kind == LOG_LOGINS)
            /* Failed sign-ins on a disabled account carry the typed name but no user id. */
            sql_add(q, arena_printf(a,
                                    " AND (a.user_id = %s::bigint OR (a.user_id IS NULL AND"
                                    " lower(a.username) = lower(%s)))",
                                    sql_param(q, f->user_id), sql_param(q, f->user)));
        else if (f->user_id)
            sql_addp(q, " AND a.user_id = %s::bigint", f->user_id);
        else
            sql_addp(q, " AND lower(a.username) = lower(%s)", f->user);
    }
    if (f->module)
        sql_addp(q, " AND a.module = %s", f->module);
    if (f->action)
        sql_addp(q, " AND a.action = %s", f->action);
    if (f->otype)
        sql_addp(q, " AND a.object_type = %s", f->otype);
    if (f->oid_ok)
        sql_addp(q, " AND a.object_id = %s::bigint", f->oid_ok);
    if (f->result_ok)
        sql_addp(q, " AND a.result = %s", f->result_ok);
    if (f->q)
        sql_addp(q, " AND a.object_label ILIKE %s", sql_like_contains(a, f->q));
    if (f->addr) /* a prefix ("10.0.3." is a subnet): the "contains" pattern without its first % */
        sql_addp(q, " AND a.client_addr LIKE %s", sql_like_contains(a, f->addr) + 1);
}

/* ORDER BY for the sort chosen. Newest first is "a.at DESC, a.id DESC", exactly the order of
 * audit_log_at_idx (no NULLS LAST, which would keep the planner from using it). */
static const char *order_by(Request *req, const ListState *ls)
{
    const char *dir = ls->desc ? "DESC" : "ASC";
    const char *col = ls->sorts[ls->sort].sql;
    if (strcmp(ls->sorts[ls->sort].key, "at") == 0)
        return arena_printf(req->arena, " ORDER BY a.at %s, a.id %s", dir, dir);
    return arena_printf(req->arena, " ORDER BY %s %s, a.at DESC, a.id DESC", col, dir);
}

/* --- translated columns in SQL -------------------------------------------------------------- */

/* Appends "coalesce(<label of col>, col) AS name" (no alias when name is NULL). The translations
 * travel as two text-array parameters, so the page and the export show the same words. */
static void add_translated(Request *req, SqlBuf *q, const char **codes, const char **labels, int n,
                           const char *col, const char *name)
{
    Arena *a = req->arena;
    const char *pc = sql_param(q, sql_text_array(a, codes, n));
    const char *pl = sql_param(q, sql_text_array(a, labels, n));
    sql_add(q, arena_printf(a,
                            "coalesce((SELECT t.l FROM unnest(%s::text[], %s::text[]) AS t(c, l)"
                            " WHERE t.c = %s), %s)%s%s",
                            pc, pl, col, col, name ? " AS " : "", name ? name : ""));
}

static void add_code_table(Request *req, SqlBuf *q, const Code *t, const char *col,
                           const char *name)
{
    int n = 0;
    while (t[n].code)
        n++;
    const char **codes = arena_alloc(req->arena, sizeof(char *) * (size_t)(n + 1));
    const char **labels = arena_alloc(req->arena, sizeof(char *) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        codes[i] = t[i].code;
        labels[i] = i18n_get(req->lang, t[i].label);
    }
    add_translated(req, q, codes, labels, n, col, name);
}

static void add_module_names(Request *req, SqlBuf *q)
{
    int n = 0;
    for (const PermModule *m = perm_modules; m->code; m++)
        n++;
    n += (int)G_N_ELEMENTS(extra_modules) - 1;
    const char **codes = arena_alloc(req->arena, sizeof(char *) * (size_t)(n + 1));
    const char **labels = arena_alloc(req->arena, sizeof(char *) * (size_t)(n + 1));
    int i = 0;
    for (const PermModule *m = perm_modules; m->code; m++, i++) {
        codes[i] = m->code;
        labels[i] = i18n_get(req->lang, m->label);
    }
    for (const Code *c = extra_modules; c->code; c++, i++) {
        codes[i] = c->code;
        labels[i] = i18n_get(req->lang, c->label);
    }
    add_translated(req, q, codes, labels, i, "a.module", "module_name");
}

/* The changed fields, ordered by name, from the jsonb {"field": {"old": …, "new": …}}:
 * the first CHANGES_SHOWN as columns f1/o1/n1 … for the page, the rest counted in `more`, and
 * all of them as one readable text (tooltip and export). Values are cut at 200 characters. */
static const char CHANGES_LATERAL[] =
    " LEFT JOIN LATERAL (SELECT array_agg(e.key ORDER BY e.key) AS k,"
    "   array_agg(left(coalesce(e.value->>'old', ''), 200) ORDER BY e.key) AS o,"
    "   array_agg(left(coalesce(e.value->>'new', ''), 200) ORDER BY e.key) AS n,"
    "   string_agg(e.key || ': ' || left(coalesce(e.value->>'old', ''), 200) || ' → '"
    "              || left(coalesce(e.value->>'new', ''), 200), '; ' ORDER BY e.key) AS txt"
    "   FROM jsonb_each(CASE WHEN jsonb_typeof(a.changes) = 'object' THEN a.changes END) AS e) c"
    " ON true";

/* The statement for one page (limit = per page) or the export (limit = EXPORT_CAP). The filtered,
 * ordered, limited rows come from an inner query that the indexes serve; the outer one only
 * dresses those rows up. */
static SqlBuf *build_select(Request *req, const Filters *f, const ListState *ls, bool page)
{
    Arena *a = req->arena;
    SqlBuf *q = sql_new(a, "SELECT a.id, to_char(a.at AT TIME ZONE ");
    sql_addp(q, "%s::text, 'YYYY-MM-DD HH24:MI:SS') AS at,", cfg.timezone);
    sql_add(q, " a.username, a.client_addr AS addr, a.result, ");
    add_code_table(req, q, results, "a.result", "result_name");
    sql_add(q, ", ");
    if (f->kind == LOG_OPS) {
        add_module_names(req, q);
        sql_add(q, ", ");
        add_code_table(req, q, action_names, "a.action", "action_name");
        sql_add(q, ", ");
        add_code_table(req, q, object_types, "a.object_type", "object_type_name");
        sql_add(q,
                ", a.object_type, a.object_id::text AS object_id, a.object_label AS label,"
                " a.request_id, c.txt AS changes,"
                /* the object's own history: only plain codes go into the link */
                " CASE WHEN a.object_id IS NOT NULL AND a.object_type ~ '^[a-z0-9_]+$'"
                "  THEN '?otype=' || a.object_type || '&oid=' || a.object_id END AS object_href");
        if (page) {
            for (int i = 1; i <= CHANGES_SHOWN; i++)
                sql_add(q, arena_printf(a, ", c.k[%d] AS f%d, c.o[%d] AS o%d, c.n[%d] AS n%d", i, i,
                                        i, i, i, i));
            sql_add(q, arena_printf(a, ", greatest(coalesce(cardinality(c.k), 0) - %d, 0)::text"
                                       " AS more", CHANGES_SHOWN));
        }
    } else {
        sql_addp(q, "CASE WHEN a.result = 'denied' THEN %s ELSE ",
                 i18n_get(req->lang, N_("Access denied")));
        add_code_table(req, q, event_names, "a.action", NULL);
        sql_add(q, " END AS event, a.action");
    }
    sql_add(q, " FROM (SELECT * FROM audit_log a");
    filters_where(req, f, q);
    const char *order = order_by(req, ls);
    sql_add(q, order);
    if (page)
        list_limit(ls, q);
    else
        sql_add(q, arena_printf(a, " LIMIT %d", EXPORT_CAP));
    sql_add(q, ") a");
    if (f->kind == LOG_OPS)
        sql_add(q, CHANGES_LATERAL);
    sql_add(q, order);
    return q;
}

/* --- the pages ----------------------------------------------------------------------------- */

/* Adds an option row [value, label, selected]. */
static void option(Request *req, GPtrArray *rows, const char *value, const char *label,
                   const char *current)
{
    const char **row = arena_alloc(req->arena, sizeof(char *) * 4);
    row[0] = value;
    row[1] = label;
    row[2] = current && strcmp(current, value) == 0 ? "1" : "";
    g_ptr_array_add(rows, row);
}

static bool has_option(GPtrArray *rows, const char *value)
{
    for (guint i = 0; i < rows->len; i++)
        if (strcmp(((const char **)g_ptr_array_index(rows, i))[0], value) == 0)
            return true;
    return false;
}

static gint by_label(gconstpointer a, gconstpointer b)
{
    const char *const *x = *(const char *const *const *)a;
    const char *const *y = *(const char *const *const *)b;
    return strcmp(x[1], y[1]);
}

static void push_options(View *v, const char *name, GPtrArray *rows)
{
    view_set_table(v, name, rows);
    g_ptr_array_free(rows, TRUE);
}

static void push_code_options(Request *req, View *v, const char *name, const Code *t,
                              const char *current)
{
    GPtrArray *rows = g_ptr_array_new();
    for (; t->code; t++)
        option(req, rows, t->code, i18n_get(req->lang, t->label), current);
    push_options(v, name, rows);
}

/* The choices of the operation log's selects: modules, actions and object types that occur,
 * found by skipping through the (module, action, at) and (object_type, …) indexes (a loose
 * index scan: one probe per distinct value, not a pass over the table). Returns -1 on failure. */
static int push_ops_choices(Request *req, View *v, const Filters *f)
{
    PGresult *pairs = db_exec0(req->arena,
        "WITH RECURSIVE p AS ("
        "  (SELECT module, action FROM audit_log ORDER BY module, action LIMIT 1)"
        "  UNION ALL"
        "  SELECT n.module, n.action FROM p, LATERAL (SELECT module, action FROM audit_log"
        "     WHERE (module, action) > (p.module, p.action) ORDER BY module, action LIMIT 1) n)"
        " SELECT module, action FROM p WHERE module <> 'auth'");
    PGresult *types = db_exec0(req->arena,
        "WITH RECURSIVE t AS ("
        "  (SELECT object_type FROM audit_log ORDER BY object_type LIMIT 1)"
        "  UNION ALL"
        "  SELECT (SELECT object_type FROM audit_log WHERE object_type > t.object_type"
        "           ORDER BY object_type LIMIT 1) FROM t WHERE t.object_type IS NOT NULL)"
        " SELECT object_type FROM t WHERE object_type IS NOT NULL AND object_type <> ''");
    PGresult *users = db_exec(req->arena,
        "SELECT id::text, CASE WHEN display_name <> '' AND display_name <> username"
        "  THEN username || ' (' || display_name || ')' ELSE username END"
        " FROM users ORDER BY lower(username) LIMIT $1::int",
        arena_printf(req->arena, "%d", USER_SELECT_MAX + 1));
    if (!pairs || !types || !users)
        return -1;

    GPtrArray *modules = g_ptr_array_new(), *actions = g_ptr_array_new();
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (int i = 0; i < PQntuples(pairs); i++) {
        const char *m = PQgetvalue(pairs, i, 0), *act = PQgetvalue(pairs, i, 1);
        if (i == 0 || strcmp(m, PQgetvalue(pairs, i - 1, 0)) != 0)
            option(req, modules, m, tr_or_code(req, module_label(m), m), f->module);
        if (g_hash_table_add(seen, (gpointer)act))
            option(req, actions, act, tr_or_code(req, code_label(action_names, act), act),
                   f->action);
    }
    g_hash_table_destroy(seen);
    /* A value in the URL that no row has (yet) stays selectable, so the form shows the filter. */
    if (f->module && !has_option(modules, f->module))
        option(req, modules, f->module, tr_or_code(req, module_label(f->module), f->module),
               f->module);
    if (f->action && !has_option(actions, f->action))
        option(req, actions, f->action,
               tr_or_code(req, code_label(action_names, f->action), f->action), f->action);
    g_ptr_array_sort(modules, by_label);
    g_ptr_array_sort(actions, by_label);
    push_options(v, "modules", modules);
    push_options(v, "actions", actions);

    GPtrArray *otypes = g_ptr_array_new();
    for (int i = 0; i < PQntuples(types); i++) {
        const char *t = PQgetvalue(types, i, 0);
        option(req, otypes, t, tr_or_code(req, code_label(object_types, t), t), f->otype);
    }
    if (f->otype && !has_option(otypes, f->otype))
        option(req, otypes, f->otype,
               tr_or_code(req, code_label(object_types, f->otype), f->otype), f->otype);
    push_options(v, "otypes", otypes);

    GPtrArray *urows = g_ptr_array_new();
    bool few = PQntuples(users) <= USER_SELECT_MAX;
    for (int i = 0; few && i < PQntuples(users); i++)
        option(req, urows, PQgetvalue(users, i, 0), PQgetvalue(users, i, 1), f->uid);
    push_options(v, "users", urows);
    view_set_int(v, "has_user_select", few);
    return 0;
}

/* Everything both pages push: tabs, filters as typed, rows, pager, sort links, export link. */
static void render_log(Request *req, LogKind kind)
{
    const ListSort *sorts = kind == LOG_OPS ? ops_sorts : login_sorts;
    ListState *ls = list_begin(req, sorts, "at", true);
    Filters *f = filters_read(req, kind);
    if (!f) {
        resp_error(req, 503);
        return;
    }
    SqlBuf *q = build_select(req, f, ls, true);
    SqlBuf *count = sql_new(req->arena, "SELECT count(*) FROM (SELECT 1 FROM audit_log a");
    filters_where(req, f, count);
    list_count_limit(ls, count);
    sql_add(count, ") t");
    PGresult *rows = sql_exec(q);
    if (!rows || list_count(ls, count) < 0) {
        resp_error(req, 500);
        return;
    }

    View *v = view_new(req);
    view_set_tr(v, "title", kind == LOG_OPS ? N_("Operation log") : N_("Login log"));
    view_set(v, "v_from", f->from);
    view_set(v, "v_to", f->to);
    view_set(v, "v_user", f->user);
    view_set(v, "v_action", f->action);
    view_set(v, "v_result", f->result);
    view_set(v, "v_oid", f->oid);
    view_set(v, "v_q", f->q);
    view_set(v, "v_addr", f->addr);
    view_set_int(v, "is_bad_date", f->bad_date);
    view_set_int(v, "is_bad_number", f->bad_number);
    bool filtered = false;
    for (int i = 0; i < req->query.n; i++) {
        const char *n = req->query.items[i].name;
        if (*req->query.items[i].value && strcmp(n, "sort") && strcmp(n, "dir") &&
            strcmp(n, "page") && strcmp(n, "per"))
            filtered = true;
    }
    view_set_int(v, "is_filtered", filtered);
    push_code_options(req, v, "results", results, f->result);
    if (kind == LOG_OPS) {
        if (push_ops_choices(req, v, f) < 0) {
            resp_error(req, 500);
            return;
        }
    } else {
        push_code_options(req, v, "events", event_names, f->action);
    }
    view_set_rows(v, "rows", rows);
    view_set_int(v, "n_rows", PQntuples(rows));
    list_push(ls, v);

    bool can_export = auth_can(req, "audit.export");
    view_set_int(v, "has_export", can_export);
    const char *names[] = {"page", "per"};
    const char *values[] = {NULL, NULL};
    view_set(v, "export_url",
             arena_printf(req->arena, "%s/export%s", req->path,
                          list_query_with(req, names, values, 2)));
    view_render(req, v, kind == LOG_OPS ? "audit/operations" : "audit/logins", 200);
}

/* GET /admin/audit: 200 the operation log (everything but sign-ins), filtered and paged. */
static void ops_page(Request *req)
{
    render_log(req, LOG_OPS);
}

/* GET /admin/logins: 200 the login log (sign-ins, sign-outs, failures), filtered and paged. */
static void logins_page(Request *req)
{
    render_log(req, LOG_LOGINS);
}

/* --- exports ------------------------------------------------------------------------------- */

static const XlsxColumn ops_columns[] = {
    {"at", N_("Time"), XL_DATETIME, 18},
    {"username", N_("User"), XL_TEXT, 16},
    {"addr", N_("Address"), XL_TEXT, 16},
    {"module_name", N_("Module"), XL_TEXT, 16},
    {"action_name", N_("Action"), XL_TEXT, 14},
    {"object_type_name", N_("Object type"), XL_TEXT, 14},
    {"object_id", N_("Object ID"), XL_INT, 10},
    {"label", N_("Object"), XL_TEXT, 28},
    {"changes", N_("Changes"), XL_TEXT, 60},
    {"result_name", N_("Result"), XL_TEXT, 10},
    {"request_id", N_("Request ID"), XL_TEXT, 18},
    {NULL, NULL, XL_TEXT, 0},
};

static const XlsxColumn login_columns[] = {
    {"at", N_("Time"), XL_DATETIME, 18},
    {"username", N_("User"), XL_TEXT, 18},
    {"addr", N_("Address"), XL_TEXT, 18},
    {"event", N_("Event"), XL_TEXT, 16},
    {"result_name", N_("Result"), XL_TEXT, 10},
    {NULL, NULL, XL_TEXT, 0},
};

/* The export of exactly the rows the page's filters select (in its order, up to EXPORT_CAP),
 * with its own audit row in the same transaction. */
static void export_log(Request *req, LogKind kind)
{
    /* The route needs audit.export; seeing the log's content needs audit.view as well. */
    if (!auth_can(req, "audit.view")) {
        audit_write(req, "audit", "view", "path", 0,
                    arena_printf(req->arena, "%s %s", req->method, req->path), NULL, "denied");
        resp_error(req, 403);
        return;
    }
    const ListSort *sorts = kind == LOG_OPS ? ops_sorts : login_sorts;
    ListState *ls = list_begin(req, sorts, "at", true);
    Filters *f = filters_read(req, kind);
    if (!f) {
        resp_error(req, 503);
        return;
    }
    xlsx_export_list(req, build_select(req, f, ls, false), kind == LOG_OPS ? "audit" : "logins",
                     kind == LOG_OPS ? N_("Operation log") : N_("Login log"),
                     kind == LOG_OPS ? ops_columns : login_columns, "audit",
                     kind == LOG_OPS ? "audit_log" : "login_log");
}

/* GET /admin/audit/export: 200 the filtered operation log as .xlsx; 403 without audit.view. */
static void ops_export(Request *req)
{
    export_log(req, LOG_OPS);
}

/* GET /admin/logins/export: 200 the filtered login log as .xlsx; 403 without audit.view. */
static void logins_export(Request *req)
{
    export_log(req, LOG_LOGINS);
}

static const Route routes[] = {
    {"GET", "/admin/audit", ops_page, "audit.view", 0},
    {"GET", "/admin/audit/export", ops_export, "audit.export", 0},
    {"GET", "/admin/logins", logins_page, "audit.view", 0},
    {"GET", "/admin/logins/export", logins_export, "audit.export", 0},
    {NULL, NULL, NULL, NULL, 0},
};

static const NavItem nav[] = {
    {"/admin/audit", N_("Audit log"), "audit.view", "/admin/logins"},
    {NULL, NULL, NULL},
};

const Module audit_module = {"audit", routes, nav};
