/* migrate.h — applies sql/migrations/NNNN_name.sql in order, each once, each in a transaction. */
#ifndef KEXIN_MIGRATE_H
#define KEXIN_MIGRATE_H

#include <stdbool.h>

/* Connects with cfg.migrate_dsn. Returns 0 when the schema is current, -1 on failure. */
int migrate_run(const char *dir, bool quiet);
/* Applies every sql/demo/NNNN_name.sql file not yet applied (same bookkeeping, separate table). */
int migrate_demo(const char *dir);

#endif
