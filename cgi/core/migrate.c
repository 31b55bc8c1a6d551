/* migrate.c — schema migrations and demo data, recorded so that running twice changes nothing. */
#include "migrate.h"
#include "config.h"
#include "log.h"

#include <glib.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

static int cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ok(PGconn *c, PGresult *r, const char *what)
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return true;
    log_error("%s: %s", what, PQerrorMessage(c));
    return false;
}

/* Applies every *.sql file of dir not yet listed in table, in name order. */
static int apply_dir(PGconn *c, const char *dir, const char *table, bool quiet)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d) {
        log_error("cannot open %s", dir);
        return -1;
    }
    GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
    const char *e;
    while ((e = g_dir_read_name(d)))
        if (g_str_has_suffix(e, ".sql"))
            g_ptr_array_add(files, g_strdup(e));
    g_dir_close(d);
    g_ptr_array_sort(files, cmp_names);

    int rc = 0, applied = 0;
    for (guint i = 0; i < files->len && rc == 0; i++) {
        const char *name = g_ptr_array_index(files, i);
        g_autofree gchar *version = g_strndup(name, strlen(name) - 4);
        /* The table name is one of two constants chosen by the caller, never input. */
        g_autofree gchar *q_check = g_strdup_printf("SELECT 1 FROM %s WHERE version = $1", table);
        const char *p[1] = {version};
        PGresult *r = PQexecParams(c, q_check, 1, NULL, p, NULL, NULL, 0);
        bool done = ok(c, r, "check") && PQntuples(r) > 0;
        PQclear(r);
        if (done)
            continue;
        g_autofree gchar *path = g_build_filename(dir, name, NULL);
        gchar *sql = NULL;
        if (!g_file_get_contents(path, &sql, NULL, NULL)) {
            log_error("cannot read %s", path);
            rc = -1;
            break;
        }
        r = PQexec(c, "BEGIN");
        PQclear(r);
        /* A migration file is trusted repository content with several statements. */
        r = PQexec(c, sql);
        bool good = ok(c, r, name);
        PQclear(r);
        g_free(sql);
        if (good) {
            g_autofree gchar *q_ins = g_strdup_printf("INSERT INTO %s (version) VALUES ($1)", table);
            r = PQexecParams(c, q_ins, 1, NULL, p, NULL, NULL, 0);
            good = ok(c, r, "record");
            PQclear(r);
        }
        r = PQexec(c, good ? "COMMIT" : "ROLLBACK");
        good = good && ok(c, r, "commit");
        PQclear(r);
        if (!good) {
            log_error("%s failed; nothing of it was applied", name);
            rc = -1;
        } else {
            applied++;
            if (!quiet)
                printf("applied %s\n", name);
        }
    }
    if (rc == 0 && !quiet)
        printf("%s: %d applied, %u known\n", table, applied, files->len);
    g_ptr_array_free(files, TRUE);
    return rc;
}

static PGconn *connect_owner(void)
{
    PGconn *c = PQconnectdb(cfg.migrate_dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        log_error("cannot connect for migrations: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PGresult *r = PQexec(c, "SET client_min_messages = warning");
    PQclear(r);
    return c;
}

static int with_lock(const char *dir, const char *table, bool quiet)
{
    PGconn *c = connect_owner();
    if (!c)
        return -1;
    g_autofree gchar *create = g_strdup_printf(
        "CREATE TABLE IF NOT EXISTS %s (version text PRIMARY KEY,"
        " applied_at timestamptz NOT NULL DEFAULT now())", table);
    /* One migrator at a time: concurrent `kexin migrate` runs wait here. */
    PGresult *r = PQexec(c, "SELECT pg_advisory_lock(7738)");
    int rc = ok(c, r, "lock") ? 0 : -1;
    PQclear(r);
    if (rc == 0) {
        r = PQexec(c, create);
        rc = ok(c, r, "bookkeeping table") ? 0 : -1;
        PQclear(r);
    }
    if (rc == 0)
        rc = apply_dir(c, dir, table, quiet);
    r = PQexec(c, "SELECT pg_advisory_unlock(7738)");
    PQclear(r);
    PQfinish(c);
    return rc;
}

int migrate_run(const char *dir, bool quiet)
{
    return with_lock(dir, "schema_migrations", quiet);
}

int migrate_demo(const char *dir)
{
    return with_lock(dir, "demo_loaded", false);
}
