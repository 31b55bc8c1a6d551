/* numbering_race.c — many processes take document numbers at once, some roll back; prints the
 * committed numbers. Driven by tests/http/numbering.test.js against the test stack.
 * usage: numbering_race DOC_TYPE PROCESSES PER_PROCESS ROLLBACK_PERCENT */
#include "../../cgi/core/arena.h"
#include "../../cgi/core/config.h"
#include "../../cgi/core/db.h"
#include "../../cgi/core/numbering.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int child(const char *type, int per, int rollback_pct, unsigned seed)
{
    db_open(cfg.dsn);
    if (!db_ready())
        return 2;
    GRand *rnd = g_rand_new_with_seed(seed);
    for (int i = 0; i < per; i++) {
        Arena *a = arena_new();
        if (db_begin(a) < 0)
            return 3;
        char *num = numbering_next(a, type);
        if (!num)
            return 4;
        g_usleep((gulong)g_rand_int_range(rnd, 0, 3000)); /* hold the lock a little */
        if (g_rand_int_range(rnd, 0, 100) < rollback_pct) {
            db_rollback(a);
        } else if (db_commit(a) == 0) {
            printf("%s\n", num);
            fflush(stdout);
        } else {
            return 5;
        }
        arena_free(a);
    }
    g_rand_free(rnd);
    db_close();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s DOC_TYPE PROCESSES PER_PROCESS ROLLBACK_PERCENT\n", argv[0]);
        return 2;
    }
    if (config_load() < 0)
        return 2;
    int procs = atoi(argv[2]), per = atoi(argv[3]), pct = atoi(argv[4]);
    for (int p = 0; p < procs; p++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(child(argv[1], per, pct, (unsigned)(p * 7919 + 17)));
    }
    int failed = 0, status;
    while (wait(&status) > 0)
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    return failed ? 1 : 0;
}
