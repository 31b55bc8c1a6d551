/* router.c — matches a request against every module's route table. */
#include "router.h"

#include <string.h>

int router_match(const char *pattern, const char *path, const char **args, int *nargs, Arena *a)
{
    const char *p = pattern, *s = path;
    int n = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close)
                return 0;
            const char *start = s;
            /* {id}: 1..18 digits, no leading zero, so it always fits a long */
            while (*s >= '0' && *s <= '9')
                s++;
            size_t len = (size_t)(s - start);
            if (len == 0 || len > 18 || *start == '0' || n >= 4)
                return 0;
            args[n++] = arena_strndup(a, start, len);
            p = close + 1;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    if (*p || *s)
        return 0;
    *nargs = n;
    return 1;
}

RouteMatch router_find(Request *req, const Route **out, const char **allow)
{
    GString *methods = NULL;
    bool head = strcmp(req->method, "HEAD") == 0;
    for (int m = 0; app_modules[m]; m++) {
        for (const Route *r = app_modules[m]->routes; r && r->pattern; r++) {
            const char *args[4];
            int nargs = 0;
            if (!router_match(r->pattern, req->path, args, &nargs, req->arena))
                continue;
            if (strcmp(r->method, req->method) == 0 || (head && strcmp(r->method, "GET") == 0)) {
                memcpy(req->args, args, sizeof args);
                req->nargs = nargs;
                *out = r;
                if (methods)
                    g_string_free(methods, TRUE);
                return ROUTE_FOUND;
            }
            if (!methods)
                methods = g_string_new(NULL);
            if (!strstr(methods->str, r->method)) {
                if (methods->len)
                    g_string_append(methods, ", ");
                g_string_append(methods, r->method);
            }
        }
    }
    if (methods) {
        *allow = arena_strdup(req->arena, methods->str);
        g_string_free(methods, TRUE);
        return ROUTE_BAD_METHOD;
    }
    return ROUTE_NOT_FOUND;
}
