/* scope.h — the one data-scope filter: which owners' rows the current user may see. */
#ifndef KEXIN_SCOPE_H
#define KEXIN_SCOPE_H

#include "request.h"
#include "sqlbuf.h"

#include <stdbool.h>

/* The ids of the users whose records the current user may see, as a PostgreSQL array
 * literal ("{3,7,12}"), computed once per request from the manager and department trees.
 * *all is set (and the literal is NULL) when the scope is "all". Returns 0 or -1 (database). */
int scope_visible_users(Request *req, const char **ids, bool *all);

/* Appends a predicate to q for "rows whose owner I may see": owner_col is a constant column
 * expression such as "c.owner_id"; grant, when not NULL, is a constant SQL condition with one
 * %s for the current user's id (e.g. a share table lookup) that also makes a row visible.
 * Rows outside the scope simply do not match, so a detail query returns no row → 404.
 * Returns 0 or -1 (database). */
int scope_filter(Request *req, SqlBuf *q, const char *owner_col, const char *grant);

/* Whether the current user may see records owned by owner_id. */
bool scope_sees_user(Request *req, long owner_id);

#endif
