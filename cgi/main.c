/* main.c — the `kexin` binary: git-style subcommands from one dispatch table. */
#include "core/auth.h"
#include "core/config.h"
#include "core/dedup.h"
#include "core/sqlbuf.h"
#include "core/log.h"
#include "core/migrate.h"
#include "core/pool.h"
#include "core/users.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct Command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *help;
} Command;

static int cmd_serve(int argc, char **argv);
static int cmd_migrate(int argc, char **argv);
static int cmd_user(int argc, char **argv);
static int cmd_demo(int argc, char **argv);
static int cmd_rekey(int argc, char **argv);

static const Command commands[] = {
    {"serve", cmd_serve, "kexin serve",
     "Run the FastCGI worker pool on the configured unix socket (foreground).\n"
     "SIGTERM/SIGINT stop gracefully, SIGHUP reloads templates and config.\n"
     "Settings: KEXIN_CONFIG (INI file), KEXIN_SOCKET, KEXIN_WORKERS, KEXIN_DSN, KEXIN_ROOT."},
    {"migrate", cmd_migrate, "kexin migrate",
     "Apply the migrations in sql/migrations not yet applied (idempotent).\n"
     "Connects with KEXIN_MIGRATE_DSN (the schema owner)."},
    {"user", cmd_user,
     "kexin user add NAME [--admin] [--display TEXT] [--password-stdin]\n"
     "       kexin user passwd NAME [--password-stdin]\n"
     "       kexin user disable NAME",
     "Manage accounts. Without --password-stdin a random password is generated and printed."},
    {"demo", cmd_demo, "kexin demo",
     "Load the demo company data in sql/demo (each file once)."},
    {"rekey", cmd_rekey, "kexin rekey [--check]",
     "Recompute the duplicate-control keys of all customers (name and phone) with the current\n"
     "normalisation rules, e.g. after bulk-loading data with SQL. --check only counts rows whose\n"
     "stored keys differ and exits 1 when there are any."},
    {NULL, NULL, NULL, NULL},
};

static void usage_all(FILE *out)
{
    fprintf(out, "usage: kexin <command> [options]\n\ncommands:\n");
    for (const Command *c = commands; c->name; c++)
        fprintf(out, "  %-8s %.*s\n", c->name, (int)strcspn(c->help, "\n"), c->help);
    fprintf(out, "\nkexin <command> --help for details.\n");
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

static int cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return pool_run();
}

static int cmd_migrate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (config_load() < 0)
        return 1;
    g_autofree gchar *dir = g_build_filename(cfg.root, "sql", "migrations", NULL);
    return migrate_run(dir, false) == 0 ? 0 : 1;
}

/* Demo accounts arrive without a password (hash '!'); each gets a random one, listed in
 * var/demo-users.txt (mode 0600) so no fixed password exists anywhere. */
static int demo_passwords(void)
{
    PGconn *c = PQconnectdb(cfg.dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "kexin: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return 1;
    }
    PGresult *r = PQexec(c, "SELECT u.username, u.display_name, coalesce(string_agg(ro.name, '、'), '')"
                            "  FROM users u LEFT JOIN user_roles ur ON ur.user_id = u.id"
                            "  LEFT JOIN roles ro ON ro.id = ur.role_id"
                            " WHERE u.password_hash = '!' GROUP BY u.id"
                            " ORDER BY u.department_id NULLS FIRST, u.manager_id NULLS FIRST, u.id");
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : 1;
    int n = rc == 0 ? PQntuples(r) : 0;
    g_autofree gchar *path = g_build_filename(cfg.var, "demo-users.txt", NULL);
    FILE *out = n ? fopen(path, "a") : NULL;
    if (n && !out) {
        fprintf(stderr, "kexin: cannot write %s\n", path);
        rc = 1;
    }
    if (out) {
        chmod(path, 0600);
        fprintf(out, "# demo accounts: user name, name, role, password\n");
    }
    for (int i = 0; i < n && rc == 0; i++) {
        g_autofree char *pw = auth_random_password();
        if (users_set_password(c, PQgetvalue(r, i, 0), pw) != 0) {
            rc = 1;
            break;
        }
        fprintf(out, "%-12s %-6s %-10s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                PQgetvalue(r, i, 2), pw);
    }
    if (out)
        fclose(out);
    if (n && rc == 0)
        printf("demo accounts and their passwords: %s\n", path);
    PQclear(r);
    PQfinish(c);
    return rc;
}

static int cmd_demo(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (config_load() < 0)
        return 1;
    g_autofree gchar *mdir = g_build_filename(cfg.root, "sql", "migrations", NULL);
    g_autofree gchar *ddir = g_build_filename(cfg.root, "sql", "demo", NULL);
    if (migrate_run(mdir, true) < 0 || migrate_demo(ddir) < 0)
        return 1;
    /* Demo SQL approximates the duplicate keys; the C rules are the definition. */
    char *rekey_argv[] = {"rekey", NULL};
    if (cmd_rekey(1, rekey_argv) != 0)
        return 1;
    return demo_passwords();
}

/* Walks all customers in id order, 5000 at a time, computing the keys in C (cgi/core/dedup.c is
 * the one definition of a duplicate) and writing back only rows that changed. */
static int cmd_rekey(int argc, char **argv)
{
    bool check = argc > 1 && strcmp(argv[1], "--check") == 0;
    if (config_load() < 0)
        return 1;
    PGconn *c = PQconnectdb(cfg.dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "kexin: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return 1;
    }
    long after = 0, seen = 0, differ = 0;
    int rc = 0;
    for (;;) {
        char from[24];
        snprintf(from, sizeof from, "%ld", after);
        const char *p[1] = {from};
        PGresult *r = PQexecParams(c, "SELECT id, name, phone, name_key, phone_key FROM customers"
                                      " WHERE id > $1 ORDER BY id LIMIT 5000", 1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(stderr, "kexin: %s", PQerrorMessage(c));
            PQclear(r);
            rc = 1;
            break;
        }
        int n = PQntuples(r);
        GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
        GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
        GPtrArray *phones = g_ptr_array_new_with_free_func(g_free);
        for (int i = 0; i < n; i++) {
            char *nk = dedup_name_key(PQgetvalue(r, i, 1));
            char *pk = dedup_phone_key(PQgetvalue(r, i, 2));
            if (nk && pk && (strcmp(nk, PQgetvalue(r, i, 3)) || strcmp(pk, PQgetvalue(r, i, 4)))) {
                differ++;
                g_ptr_array_add(ids, g_strdup(PQgetvalue(r, i, 0)));
                g_ptr_array_add(names, nk);
                g_ptr_array_add(phones, pk);
            } else {
                g_free(nk);
                g_free(pk);
            }
        }
        seen += n;
        if (n)
            after = atol(PQgetvalue(r, n - 1, 0));
        PQclear(r);
        if (!check && ids->len) {
            Arena *a = arena_new();
            const char *v[3] = {sql_text_array(a, (const char *const *)ids->pdata, (int)ids->len),
                                sql_text_array(a, (const char *const *)names->pdata, (int)names->len),
                                sql_text_array(a, (const char *const *)phones->pdata, (int)phones->len)};
            PGresult *u = PQexecParams(c,
                "UPDATE customers c SET name_key = k.n, phone_key = k.p"
                "  FROM unnest($1::bigint[], $2::text[], $3::text[]) AS k(id, n, p) WHERE c.id = k.id",
                3, NULL, v, NULL, NULL, 0);
            if (PQresultStatus(u) != PGRES_COMMAND_OK) {
                fprintf(stderr, "kexin: %s", PQerrorMessage(c));
                rc = 1;
            }
            PQclear(u);
            arena_free(a);
        }
        g_ptr_array_free(ids, TRUE);
        g_ptr_array_free(names, TRUE);
        g_ptr_array_free(phones, TRUE);
        if (rc || n < 5000)
            break;
    }
    PQfinish(c);
    printf("%ld customers, %ld with %s keys\n", seen, differ, check ? "stale" : "updated");
    return rc ? 1 : (check && differ ? 1 : 0);
}

/* Reads one line from stdin (no echo handling: meant for scripts and pipes). */
static char *read_password_stdin(void)
{
    char buf[512];
    if (!fgets(buf, sizeof buf, stdin))
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return g_strdup(buf);
}

static int cmd_user(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s\n", commands[2].usage);
        return 2;
    }
    const char *action = argv[1], *name = argv[2];
    bool admin = false, from_stdin = false;
    const char *display = "";
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--admin") == 0)
            admin = true;
        else if (strcmp(argv[i], "--password-stdin") == 0)
            from_stdin = true;
        else if (strcmp(argv[i], "--display") == 0 && i + 1 < argc)
            display = argv[++i];
        else {
            fprintf(stderr, "unknown option %s\nusage: %s\n", argv[i], commands[2].usage);
            return 2;
        }
    }
    if (config_load() < 0)
        return 1;
    PGconn *c = PQconnectdb(cfg.dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "kexin: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return 1;
    }
    int rc = 0;
    g_autofree char *pw = NULL;
    if (strcmp(action, "add") == 0 || strcmp(action, "passwd") == 0) {
        pw = from_stdin ? read_password_stdin() : auth_random_password();
        const char *problem = pw ? auth_password_problem(pw, name) : "no password given";
        if (problem) {
            fprintf(stderr, "kexin: %s\n", problem);
            PQfinish(c);
            return 1;
        }
        rc = strcmp(action, "add") == 0 ? users_add(c, name, display, pw, admin)
                                        : users_set_password(c, name, pw);
    } else if (strcmp(action, "disable") == 0) {
        rc = users_disable(c, name);
    } else {
        fprintf(stderr, "usage: %s\n", commands[2].usage);
        PQfinish(c);
        return 2;
    }
    PQfinish(c);
    if (rc == -2) {
        fprintf(stderr, "kexin: %s: %s\n", name,
                strcmp(action, "add") == 0 ? "user already exists" : "no such user");
        return 1;
    }
    if (rc < 0)
        return 1;
    if (pw && !from_stdin)
        printf("%s\n", pw);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage_all(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (const Command *c = commands; c->name; c++) {
        if (strcmp(c->name, argv[1]) != 0)
            continue;
        if (wants_help(argc - 1, argv + 1)) {
            printf("usage: %s\n\n%s\n", c->usage, c->help);
            return 0;
        }
        return c->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "kexin: unknown command '%s'\n", argv[1]);
    usage_all(stderr);
    return 2;
}
