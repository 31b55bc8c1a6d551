/* db.h — the worker's one PostgreSQL connection: parameterised queries only, reconnect with back-off. */
#ifndef KEXIN_DB_H
#define KEXIN_DB_H

#include "arena.h"

#include <glib.h>
#include <libpq-fe.h>
#include <stdbool.h>

/* Opens the connection (may fail: the worker then answers 503 until it comes back). */
void db_open(const char *dsn);
void db_close(void);
/* True when the connection is usable now; tries to reconnect (rate-limited back-off)
 * when it is not. A request that gets false answers 503 with Retry-After. */
bool db_ready(void);
PGconn *db_conn(void);

/* Runs a parameterised statement. Values are text parameters (NULL = SQL NULL).
 * Returns the result, owned by the arena (cleared when the request ends), or NULL on
 * error: the error is logged with the statement's first line and db_sqlstate() tells
 * which. Never build SQL text from input: identifiers come from fixed tables. */
PGresult *db_execv(Arena *a, const char *sql, int n, const char *const *values);
/* The same with a choice: prepare = true keeps the statement prepared on this connection (see
 * db.c; after five runs PostgreSQL may settle on one generic plan for all values), false plans
 * it for these values every time (an unnamed statement). db_execv prepares: its texts are
 * constants. Statements built from filters run unprepared (sql_exec) unless the caller knows one
 * plan fits all values (sql_exec_prepared). */
PGresult *db_run(Arena *a, const char *sql, int n, const char *const *values, bool prepare);
/* (a NULL arena leaves the result to the caller: PQclear it.) */
#define db_exec(a, sql, ...)                                                                   \
    db_execv((a), (sql), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),  \
             (const char *[]){__VA_ARGS__})
#define db_exec0(a, sql) db_execv((a), (sql), 0, NULL)

/* db_execv with the answer remembered in *memo (created on first use; the results belong to
 * it until db_memo_free): the same statement with the same values is asked once. For reference
 * look-ups repeated many times in one request — an import checks the same category, city and
 * owner on every row. Only for reads whose answer cannot change within the request. sql must be
 * a constant (its address is part of the key). The front door frees Request.memo. */
PGresult *db_execv_memo(GHashTable **memo, const char *sql, int n, const char *const *values);
#define db_exec_memo(memo, sql, ...)                                                           \
    db_execv_memo((memo), (sql), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), \
                  (const char *[]){__VA_ARGS__})
void db_memo_free(GHashTable **memo);

/* A statement without parameters sent now and its result collected later, so the caller can
 * work meanwhile (an export writes one batch of rows while the database reads the next).
 * Nothing else may use the connection in between. db_receive returns a result the caller
 * PQclears, or NULL on failure (logged, db_sqlstate() set). */
int db_send(const char *sql);
PGresult *db_receive(const char *sql);

/* SQLSTATE of the last failed statement ("" if none). */
const char *db_sqlstate(void);
/* True when the last failure was a lost connection (the request should answer 503). */
bool db_lost(void);

/* Transactions. db_tx runs fn inside BEGIN…COMMIT and retries it (bounded) on
 * serialization failure or deadlock; fn returns 0 to commit, non-zero to roll back.
 * Returns fn's result, or -1 when the database failed. */
int db_begin(Arena *a);
/* A number naming the transaction open now (begun by db_begin), 0 when none is open or it
 * failed: state kept for one transaction compares it to know it still applies. */
unsigned db_tx_current(void);
int db_commit(Arena *a);
void db_rollback(Arena *a);
int db_tx(Arena *a, int (*fn)(Arena *a, void *ctx), void *ctx);

/* Helpers for reading results. */
static inline const char *db_val(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

#endif
