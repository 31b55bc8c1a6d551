/* home.c — the start page after login. */
#include "../core/db.h"
#include "../core/i18n.h"
#include "../core/response.h"
#include "../core/router.h"
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
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Home"));
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
