/* users.c — create, re-password and disable accounts in single transactions. */
#include "users.h"
#include "auth.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static int run(PGconn *c, const char *sql, int n, const char *const *p, int *rows)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        rc = state && strcmp(state, "23505") == 0 ? -2 : -1;
        if (rc == -1)
            log_error("%s", PQerrorMessage(c));
    } else if (rows) {
        *rows = atoi(PQcmdTuples(r));
    }
    PQclear(r);
    return rc;
}

int users_add(PGconn *c, const char *username, const char *display_name, const char *password,
              bool is_admin)
{
    char hash[AUTH_HASH_MAX];
    if (auth_hash_password(password, hash) != 0)
        return -1;
    const char *p[4] = {username, display_name ? display_name : "", hash, is_admin ? "t" : "f"};
    return run(c,
               "INSERT INTO users (username, display_name, password_hash, is_admin)"
               " VALUES ($1, $2, $3, $4)",
               4, p, NULL);
}

int users_set_password(PGconn *c, const char *username, const char *password)
{
    char hash[AUTH_HASH_MAX];
    if (auth_hash_password(password, hash) != 0)
        return -1;
    const char *p[2] = {username, hash};
    int rows = 0;
    int rc = run(c,
                 "WITH u AS (UPDATE users SET password_hash = $2, password_changed_at = now(),"
                 "  version = version + 1, updated_at = now()"
                 "  WHERE lower(username) = lower($1) RETURNING id),"
                 " d AS (DELETE FROM sessions WHERE user_id IN (SELECT id FROM u))"
                 " DELETE FROM login_failures WHERE lower(username) = lower($1)"
                 "  AND EXISTS (SELECT 1 FROM u)",
                 2, p, NULL);
    if (rc)
        return rc;
    const char *q[1] = {username};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM users WHERE lower(username) = lower($1)", 1, NULL,
                               q, NULL, NULL, 0);
    rows = PQntuples(r);
    PQclear(r);
    return rows ? 0 : -2;
}

int users_disable(PGconn *c, const char *username)
{
    const char *p[1] = {username};
    int rows = 0;
    int rc = run(c,
                 "WITH u AS (UPDATE users SET active = false, version = version + 1,"
                 "  updated_at = now() WHERE lower(username) = lower($1) RETURNING id)"
                 " DELETE FROM sessions WHERE user_id IN (SELECT id FROM u)",
                 1, p, NULL);
    if (rc)
        return rc;
    PGresult *r = PQexecParams(c, "SELECT 1 FROM users WHERE lower(username) = lower($1)", 1, NULL,
                               p, NULL, NULL, 0);
    rows = PQntuples(r);
    PQclear(r);
    return rows ? 0 : -2;
}
