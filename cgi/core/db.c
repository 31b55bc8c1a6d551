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
/* Prepared statements of this connection: SQL text → statement name ("k1", "k2" …). Every
 * statement is parsed and planned once per connection; after five runs PostgreSQL keeps a
 * generic plan when it is no worse than the custom ones, so a list page stops paying 4–10 ms of
 * planning for its joins. Statement texts are constants and allow-listed pieces (never input), so
 * their number is bounded; past PREPARED_MAX the connection forgets them all and starts over. */
static GHashTable *prepared;
static unsigned prepared_seq;
#define PREPARED_MAX 512

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
    /* Short interactive queries: a parallel plan's worker start-up (5-10 ms, measured on the
     * 2-character search at 1M customers) and JIT compilation cost more than they save, and
     * on a small server they take cores from the other requests. A report that wants them can
     * SET LOCAL them back. Dates and times come out as ISO text whatever the server's default
     * (lists cut "YYYY-MM-DD HH:MM:SS" instead of calling to_char per value). */
    PGresult *set = PQexec(conn, "SET max_parallel_workers_per_gather = 0; SET jit = off;"
                                 " SET DateStyle = 'ISO, YMD'");
    if (PQresultStatus(set) != PGRES_COMMAND_OK)
        log_warn("session settings: %s", PQerrorMessage(conn));
    PQclear(set);
    backoff_us = 0;
    if (prepared)
        g_hash_table_remove_all(prepared); /* a new session has none of them */
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
    if (prepared)
        g_hash_table_remove_all(prepared);
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

/* Records the failure of r (SQLSTATE, lost connection) and logs it unless it is an expected
 * outcome (constraint violations, serialization failures, deadlocks). Frees r. */
static void note_failure(const char *sql, PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    g_strlcpy(last_state, state ? state : "", sizeof last_state);
    last_lost = PQstatus(conn) != CONNECTION_OK;
    if (strncmp(last_state, "23", 2) != 0 && strcmp(last_state, "40001") != 0 &&
        strcmp(last_state, "40P01") != 0) {
        const char *nl = strchr(sql, '\n');
        int len = nl ? (int)(nl - sql) : (int)strlen(sql);
        log_error("sql [%s] %.*s: %s", last_state, len > 120 ? 120 : len, sql,
                  r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
    }
    PQclear(r);
}

static bool result_ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* The name of sql's prepared statement on this connection, preparing it first if needed. NULL
 * when it is not to be prepared (transaction control, cache full) or preparing failed
 * (*failed then holds the error result). */
static const char *prepared_name(const char *sql, int n, PGresult **failed)
{
    *failed = NULL;
    if (!prepared)
        prepared = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    const char *name = g_hash_table_lookup(prepared, sql);
    if (name)
        return name;
    /* BEGIN, COMMIT, ROLLBACK, SET … have no plan worth keeping. */
    if (n == 0 && !g_str_has_prefix(sql, "SELECT") && !g_str_has_prefix(sql, "WITH"))
        return NULL;
    if (g_hash_table_size(prepared) >= PREPARED_MAX) {
        /* Full (many filter combinations, deep pages): start over rather than refuse the new
         * ones. Not possible inside a failed transaction: run unnamed until it ends. */
        if (PQtransactionStatus(conn) == PQTRANS_INERROR)
            return NULL;
        PGresult *r = PQexec(conn, "DEALLOCATE ALL");
        bool ok = result_ok(r);
        PQclear(r);
        if (!ok)
            return NULL;
        g_hash_table_remove_all(prepared);
    }
    char *fresh = g_strdup_printf("k%u", ++prepared_seq);
    PGresult *r = PQprepare(conn, fresh, sql, n, NULL);
    if (!result_ok(r)) {
        g_free(fresh);
        *failed = r;
        return NULL;
    }
    PQclear(r);
    g_hash_table_insert(prepared, g_strdup(sql), fresh);
    return fresh;
}

PGresult *db_run(Arena *a, const char *sql, int n, const char *const *values, bool prepare)
{
    last_state[0] = '\0';
    last_lost = false;
    PGresult *failed = NULL;
    const char *name = prepare ? prepared_name(sql, n, &failed) : NULL;
    if (failed) {
        note_failure(sql, failed);
        return NULL;
    }
    PGresult *r = name ? PQexecPrepared(conn, name, n, values, NULL, NULL, 0)
                       : PQexecParams(conn, sql, n, NULL, values, NULL, NULL, 0);
    if (result_ok(r))
        return a ? arena_defer(a, clear_result, r) : r;
    /* A migration changed a table under a prepared statement ("cached plan must not change
     * result type"): forget it, so the next run prepares it afresh. */
    if (name && g_strcmp0(PQresultErrorField(r, PG_DIAG_SQLSTATE), "0A000") == 0)
        g_hash_table_remove(prepared, sql); /* the server keeps the old one until reconnect */
    note_failure(sql, r);
    return NULL;
}

PGresult *db_execv(Arena *a, const char *sql, int n, const char *const *values)
{
    return db_run(a, sql, n, values, true);
}

static void clear_result_value(gpointer p)
{
    PQclear(p);
}

PGresult *db_execv_memo(GHashTable **memo, const char *sql, int n, const char *const *values)
{
    GString *key = g_string_new(NULL);
    g_string_append_printf(key, "%p", (const void *)sql); /* statement texts are constants */
    for (int i = 0; i < n; i++) {
        g_string_append_c(key, '\x1f');
        if (values[i])
            g_string_append(key, values[i]);
        else
            g_string_append_c(key, '\x1e');
    }
    PGresult *r = *memo ? g_hash_table_lookup(*memo, key->str) : NULL;
    if (!r && (r = db_run(NULL, sql, n, values, true))) {
        if (!*memo)
            *memo = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, clear_result_value);
        g_hash_table_insert(*memo, g_strdup(key->str), r);
    }
    g_string_free(key, TRUE);
    return r;
}

void db_memo_free(GHashTable **memo)
{
    if (*memo)
        g_hash_table_destroy(*memo);
    *memo = NULL;
}

int db_send(const char *sql)
{
    last_state[0] = '\0';
    last_lost = false;
    if (!PQsendQueryParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0)) {
        note_failure(sql, NULL);
        return -1;
    }
    return 0;
}

PGresult *db_receive(const char *sql)
{
    PGresult *r = PQgetResult(conn), *extra;
    while ((extra = PQgetResult(conn))) /* a statement's results end with NULL */
        PQclear(extra);
    if (r && result_ok(r))
        return r;
    note_failure(sql, r);
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

static unsigned tx_serial; /* counts BEGINs: what was cached for one transaction knows its own */

int db_begin(Arena *a)
{
    if (!db_exec0(a, "BEGIN"))
        return -1;
    tx_serial++;
    return 0;
}

unsigned db_tx_current(void)
{
    return conn && PQtransactionStatus(conn) == PQTRANS_INTRANS ? tx_serial : 0;
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
