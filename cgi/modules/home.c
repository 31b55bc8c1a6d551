/* home.c — the start page after login. */
#include "../core/db.h"
#include "../core/i18n.h"
#include "../core/response.h"
#include "../core/perm.h"
#include "../core/router.h"
#include "../core/scope.h"
#include "../core/sqlbuf.h"
#include "../core/view.h"

#include <stdio.h>

/* GET /: 200 the start page (login required). */
static void home(Request *req)
{
    char uid[24];
    snprintf(uid, sizeof uid, "%ld", req->user->id);
    PGresult *r = db_exec(req->arena,
        "SELECT to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS today,"
        "       (SELECT to_char(max(created_at) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')"
        "          FROM sessions WHERE user_id = $1) AS signed_in,"
        "       (SELECT count(*) FROM sessions WHERE user_id = $1) AS sessions,"
        "       (SELECT to_char(password_changed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"
        "          FROM users WHERE id = $1) AS password_changed",
        uid);
    if (!r) {
        resp_error(req, 500);
        return;
    }
    /* The people whose records this user may see: the data scope made visible. */
    SqlBuf *q = sql_new(req->arena,
        "SELECT coalesce(nullif(u.display_name, ''), u.username) AS name, coalesce(d.name, '') AS department,"
        "       count(*) OVER () AS n"
        "  FROM users u LEFT JOIN departments d ON d.id = u.department_id"
        " WHERE u.active AND u.id <> ");
    sql_add(q, sql_param(q, uid));
    sql_add(q, " AND ");
    PGresult *team = scope_filter(req, q, "u.id", NULL) == 0
        ? (sql_add(q, " ORDER BY d.name NULLS LAST, name LIMIT 12"), sql_exec_prepared(q)) : NULL;
    if (!team) {
        resp_error(req, 503);
        return;
    }
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Home"));
    view_set_rows(v, "team", team);
    view_set(v, "team_total", PQntuples(team) ? PQgetvalue(team, 0, 2) : "0");
    view_set_int(v, "n_team", PQntuples(team));
    view_set_tr(v, "scope", scope_defs[req->user->scope >= 1 && req->user->scope <= 5 ? req->user->scope : 1].label);
    view_set(v, "today", PQgetvalue(r, 0, 0));
    view_set(v, "signed_in", PQgetvalue(r, 0, 1));
    view_set(v, "sessions", PQgetvalue(r, 0, 2));
    view_set(v, "password_changed", PQgetvalue(r, 0, 3));
    view_set(v, "username", req->user->username);
    view_render(req, v, "home/index", 200);
}

static const Route routes[] = {
    {"GET", "/", home, NULL, 0},
    {NULL, NULL, NULL, NULL, 0},
};

static const NavItem nav[] = {
    {"/", N_("Home"), NULL},
    {NULL, NULL, NULL},
};

const Module home_module = {"home", routes, nav};
