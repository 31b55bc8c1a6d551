/* nav.c — builds the navigation rows from the module registry and the user's permissions. */
#include "nav.h"
#include "auth.h"
#include "i18n.h"
#include "router.h"
#include "view.h"

#include <string.h>

static bool is_active(const char *href, const char *path)
{
    if (strcmp(href, "/") == 0)
        return strcmp(path, "/") == 0;
    size_t n = strlen(href);
    return strncmp(path, href, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* How specifically an entry matches the current path (0 = not at all): the longest match wins,
 * so /customers/pool lights up "Public pool", not "Customers" as well. */
static size_t match_len(const NavItem *n, const char *path)
{
    size_t best = is_active(n->href, path) ? strlen(n->href) : 0;
    /* `also` lists further prefixes separated by '|' ("/admin/departments|/admin/roles"). */
    for (const char *p = n->also; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        char prefix[128];
        if (len > 0 && len < sizeof prefix) {
            memcpy(prefix, p, len);
            prefix[len] = '\0';
            if (is_active(prefix, path) && len > best)
                best = len;
        }
        p = bar ? bar + 1 : p + len;
    }
    return best;
}

void nav_push(Request *req, View *v)
{
    GPtrArray *rows = g_ptr_array_new();
    if (req->user) {
        const NavItem *active = NULL;
        size_t active_len = 0;
        for (int m = 0; app_modules[m]; m++)
            for (const NavItem *n = app_modules[m]->nav; n && n->href; n++) {
                size_t len = match_len(n, req->path);
                if (len > active_len && auth_can(req, n->perm)) {
                    active = n;
                    active_len = len;
                }
            }
        for (int m = 0; app_modules[m]; m++) {
            for (const NavItem *n = app_modules[m]->nav; n && n->href; n++) {
                if (!auth_can(req, n->perm))
                    continue;
                const char **row = arena_alloc(req->arena, sizeof(char *) * 4);
                row[0] = n->href;
                row[1] = i18n_get(req->lang, n->label);
                row[2] = n == active ? "1" : "";
                g_ptr_array_add(rows, row);
            }
        }
    }
    view_set_table(v, "nav", rows);
    g_ptr_array_free(rows, TRUE);
}
