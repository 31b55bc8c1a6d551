/* listing.h — what every list page shares: paging, sorting from an allow-list, filters kept in
 * the URL, bounded counts. */
#ifndef KEXIN_LISTING_H
#define KEXIN_LISTING_H

#include "request.h"
#include "sqlbuf.h"
#include "view.h"

#include <glib.h>
#include <stdbool.h>

/* One sortable column: the key used in URLs (?sort=name) and the constant SQL expression.
 * Only keys of this table are accepted: input never becomes SQL. */
typedef struct ListSort {
    const char *key;
    const char *sql;
    bool nullable; /* the column may be NULL: sort NULLs last. Leave false for NOT NULL
                      columns so an index on (col DESC, id DESC) can serve the ORDER BY. */
} ListSort;

/* Counts are bounded: a count must not scan 1M rows for a page of 50. They stop ten pages past
 * the current page, never below LIST_COUNT_MIN ("1,000+"), so paging always goes on; the pager's
 * "Count them all" link (?count=all) asks for the exact number. */
#define LIST_COUNT_MIN 1000

typedef struct ListState {
    Request *req;
    const ListSort *sorts;
    int sort;       /* index into sorts */
    bool desc;
    int page;       /* 1-based */
    int per_page;
    long cap;       /* the count stops after cap + 1 rows; 0 = exact (?count=all) */
    long total;     /* rows matching, up to cap + 1 */
} ListState;

/* Reads ?page, ?per (20/50/100), ?sort, ?dir from the query; unknown values fall back to the
 * defaults. sorts ends with {NULL, NULL}. */
ListState *list_begin(Request *req, const ListSort *sorts, const char *default_key, bool desc);
/* Appends " ORDER BY <sql> ASC|DESC, <tiebreak> LIMIT … OFFSET …". tiebreak is a constant
 * unique column (e.g. "c.id") so paging is stable. */
void list_order_limit(const ListState *ls, SqlBuf *q, const char *tiebreak);
/* Appends " LIMIT n OFFSET m" for the current page (numbers: see listing.c). */
void list_limit(const ListState *ls, SqlBuf *q);
/* Appends " LIMIT cap+1" bounding a count query's inner SELECT (nothing for ?count=all). */
void list_count_limit(const ListState *ls, SqlBuf *count);
/* Runs the bounded count: from_where is q's text from FROM on (a copy made by the caller with
 * the same parameters). Returns 0 or -1. */
int list_count(ListState *ls, SqlBuf *count);
/* Pushes: pager (trusted HTML: "1–50 of 1,234" and page links), total (text), per_page,
 * and for every sort key sort_<key> (URL toggling the direction) and dir_<key> ("asc",
 * "desc" or ""). Links keep all other query parameters (the filters). */
void list_push(ListState *ls, View *v);
/* The current URL's query with some parameters replaced (NULL value = removed): for links
 * that keep the filters. Returns "?…" (or "" when empty), escaped for a URL, not for HTML. */
char *list_query_with(Request *req, const char *const *names, const char *const *values, int n);

/* Whether a page of `bound` rows in the list's order, among the rows matching a test that holds
 * for the share ppm (parts per million) of `rows`, is cheaper read by walking an index in that
 * order and testing each row (bound / share rows at walk_cost each) than by reading every match
 * from another index and keeping the first (rows × share matches at match_cost each). The
 * planner estimates such shares well but not what a test costs per row: the caller gives the
 * costs it measured (any one unit). A share not known (0 or less) is taken as too small to walk. */
bool list_walk_cheaper(gint64 rows, gint64 ppm, long bound, int walk_cost, int match_cost);

#endif
