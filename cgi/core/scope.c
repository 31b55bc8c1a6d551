/* scope.c — visible user ids from the widest scope of the user's roles (own, subordinates by
 * the manager tree at any depth, department, department with sub-departments, all). */
#include "scope.h"
#include "db.h"
#include "perm.h"

#include <stdio.h>
#include <string.h>

/* One statement per scope; $1 is the current user's id. UNION (not UNION ALL) in the
 * recursive parts stops at cycles a careless edit of the trees might create. */
static const char *const scope_sql[] = {
    [SCOPE_OWN] = "SELECT ARRAY[$1::bigint]::text",
    [SCOPE_SUBORDINATES] =
        "WITH RECURSIVE t(id) AS (SELECT $1::bigint"
        " UNION SELECT u.id FROM users u JOIN t ON u.manager_id = t.id)"
        " SELECT array_agg(id ORDER BY id)::text FROM t",
    [SCOPE_DEPARTMENT] =
        "SELECT array_agg(id ORDER BY id)::text FROM ("
        " SELECT u.id FROM users u, users me WHERE me.id = $1 AND u.department_id = me.department_id"
        " UNION SELECT $1::bigint) v",
    [SCOPE_DEPARTMENT_TREE] =
        "WITH RECURSIVE d(id) AS (SELECT department_id FROM users WHERE id = $1 AND department_id IS NOT NULL"
        " UNION SELECT c.id FROM departments c JOIN d ON c.parent_id = d.id)"
        " SELECT array_agg(id ORDER BY id)::text FROM ("
        " SELECT u.id FROM users u JOIN d ON u.department_id = d.id UNION SELECT $1::bigint) v",
};

int scope_visible_users(Request *req, const char **ids, bool *all)
{
    User *u = req->user;
    *all = false;
    *ids = NULL;
    if (!u)
        return -1;
    if (u->scope >= SCOPE_ALL || u->is_admin) {
        *all = true;
        return 0;
    }
    if (!u->visible) {
        int s = u->scope >= SCOPE_OWN && u->scope <= SCOPE_DEPARTMENT_TREE ? u->scope : SCOPE_OWN;
        char uid[24];
        snprintf(uid, sizeof uid, "%ld", u->id);
        PGresult *r = db_exec(req->arena, scope_sql[s], uid);
        if (!r || PQntuples(r) != 1)
            return -1;
        u->visible = PQgetvalue(r, 0, 0);
    }
    *ids = u->visible;
    return 0;
}

int scope_filter(Request *req, SqlBuf *q, const char *owner_col, const char *grant)
{
    const char *ids;
    bool all;
    if (scope_visible_users(req, &ids, &all) < 0)
        return -1;
    if (all) {
        sql_add(q, "TRUE");
        return 0;
    }
    sql_add(q, "(");
    sql_add(q, owner_col);
    sql_addp(q, " = ANY(%s::bigint[])", ids);
    if (grant) {
        char uid[24];
        snprintf(uid, sizeof uid, "%ld", req->user->id);
        sql_add(q, " OR ");
        sql_addp(q, grant, arena_strdup(req->arena, uid));
    }
    sql_add(q, ")");
    return 0;
}

bool scope_sees_user(Request *req, long owner_id)
{
    const char *ids;
    bool all;
    if (scope_visible_users(req, &ids, &all) < 0)
        return false;
    if (all)
        return true;
    /* ids is "{1,2,3}": compare whole numbers only */
    char needle[32];
    snprintf(needle, sizeof needle, "%ld", owner_id);
    size_t n = strlen(needle);
    for (const char *p = ids + 1; *p && *p != '}';) {
        const char *end = strpbrk(p, ",}");
        if (!end)
            break;
        if ((size_t)(end - p) == n && strncmp(p, needle, n) == 0)
            return true;
        p = *end == ',' ? end + 1 : end;
    }
    return false;
}
