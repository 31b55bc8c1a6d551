/* api.c — small JSON helpers for pages (pickers, autocomplete); every answer is scope-filtered. */
#include "../core/db.h"
#include "../core/response.h"
#include "../core/router.h"
#include "../core/scope.h"
#include "../core/sqlbuf.h"

/* GET /api/users?q=text: 200 JSON [{id, username, name, department}] of active users whose
 * records the caller may see (their data scope), at most 20, matching q when given. JSON is
 * built by PostgreSQL (json_agg), so no string is escaped by hand. */
static void api_users(Request *req)
{
    SqlBuf *q = sql_new(req->arena,
        "SELECT coalesce(json_agg(json_build_object('id', id, 'username', username, 'name', name,"
        " 'department', department) ORDER BY name, id), '[]') FROM ("
        " SELECT u.id, u.username, coalesce(nullif(u.display_name, ''), u.username) AS name,"
        "        coalesce(d.name, '') AS department"
        "   FROM users u LEFT JOIN departments d ON d.id = u.department_id"
        "  WHERE u.active AND ");
    if (scope_filter(req, q, "u.id", NULL) < 0) {
        resp_error(req, 503);
        return;
    }
    const char *text = req_query(req, "q");
    if (text && *text) {
        const char *p = sql_param(q, sql_like_contains(req->arena, text));
        sql_add(q, " AND (u.username ILIKE ");
        sql_add(q, p);
        sql_add(q, " OR u.display_name ILIKE ");
        sql_add(q, p);
        sql_add(q, ")");
    }
    sql_add(q, " ORDER BY name, u.id LIMIT 20) v");
    PGresult *r = sql_exec_prepared(q);
    if (!r) {
        resp_error(req, 503);
        return;
    }
    resp_json(req, 200, PQgetvalue(r, 0, 0));
}

static const Route routes[] = {
    {"GET", "/api/users", api_users, NULL, 0},
    {NULL, NULL, NULL, NULL, 0},
};

const Module api_module = {"api", routes, NULL};
