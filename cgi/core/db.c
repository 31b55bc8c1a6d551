/* db.c — per-worker libpq connection with reconnect back-off, checked queries, retried transactions. */
#include "db.h"
#include "log.h"

#include <glib.h>
#include <string.h>

static PGconn *conn;
static char *conn_dsn;
static gint64 next_try_us;  /* earliest time for the next reconnect attempt */
static gint64 backoff_us;   /* grows while the database stays away, capped at 1 s */
static char last_state[6];
static bool last_lost;

#define BACKOFF_MIN_US 100000
#define BACKOFF_MAX_US 1000000
#define TX_RETRIES 5

static void notice_quiet(void *arg, const PGresult *res)
{
    (void)arg;
    (void)res; /* NOTICEs (e.g. "relation already exists, skipping") are not errors */
}

static bool try_connect(void)
{
    if (conn)
        PQfinish(conn);
    conn = PQconnectdb(conn_dsn);
    if (PQstatus(conn) != CONNECTION_OK) {
        log_warn("database unavailable: %s", PQerrorMessage(conn));
        backoff_us = backoff_us ? MIN(backoff_us * 2, BACKOFF_MAX_US) : BACKOFF_MIN_US;
        next_try_us = g_get_monotonic_time() + backoff_us;
        return false;
    }
    PQsetNoticeReceiver(conn, notice_quiet, NULL);
    backoff_us = 0;
    return true;
}

void db_open(const char *dsn)
{
    g_free(conn_dsn);
    conn_dsn = g_strdup(dsn);
    try_connect();
}

void db_close(void)
{
    if (conn)
        PQfinish(conn);
    conn = NULL;
}

PGconn *db_conn(void)
{
    return conn;
}

bool db_ready(void)
{
    /* PQconsumeInput notices a connection the server closed (restart) without a round trip. */
    if (conn && PQstatus(conn) == CONNECTION_OK && PQconsumeInput(conn) &&
        PQstatus(conn) == CONNECTION_OK)
        return true;
    if (g_get_monotonic_time() < next_try_us)
        return false;
    return try_connect();
}

static void clear_result(void *p)
{
    PQclear(p);
}

PGresult *db_execv(Arena *a, const char *sql, int n, const char *const *values)
{
    last_state[0] = '\0';
    last_lost = false;
    PGresult *r = PQexecParams(conn, sql, n, NULL, values, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return arena_defer(a, clear_result, r);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    g_strlcpy(last_state, state ? state : "", sizeof last_state);
    last_lost = PQstatus(conn) != CONNECTION_OK;
    /* Constraint violations are expected outcomes that callers turn into messages. */
    if (strncmp(last_state, "23", 2) != 0 && strcmp(last_state, "40001") != 0 &&
        strcmp(last_state, "40P01") != 0) {
        const char *nl = strchr(sql, '\n');
        int len = nl ? (int)(nl - sql) : (int)strlen(sql);
        log_error("sql [%s] %.*s: %s", last_state, len > 120 ? 120 : len, sql,
                  r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
    }
    PQclear(r);
    return NULL;
}

const char *db_sqlstate(void)
{
    return last_state;
}

bool db_lost(void)
{
    return last_lost;
}

int db_begin(Arena *a)
{
    return db_exec0(a, "BEGIN") ? 0 : -1;
}

int db_commit(Arena *a)
{
    return db_exec0(a, "COMMIT") ? 0 : -1;
}

void db_rollback(Arena *a)
{
    if (conn && PQtransactionStatus(conn) != PQTRANS_IDLE)
        db_exec0(a, "ROLLBACK");
}

static bool retryable(void)
{
    return strcmp(last_state, "40001") == 0 || strcmp(last_state, "40P01") == 0;
}

int db_tx(Arena *a, int (*fn)(Arena *a, void *ctx), void *ctx)
{
    for (int attempt = 0; attempt < TX_RETRIES; attempt++) {
        if (db_begin(a) < 0)
            return -1;
        int rc = fn(a, ctx);
        if (rc != 0) {
            bool again = retryable();
            db_rollback(a);
            if (again)
                continue;
            return rc;
        }
        if (db_commit(a) == 0)
            return 0;
        bool again = retryable();
        db_rollback(a);
        if (!again)
            return -1;
    }
    return -1;
}
