/* router.h — static route tables: method, path pattern, handler, required permission. */
#ifndef KEXIN_ROUTER_H
#define KEXIN_ROUTER_H

#include "request.h"

typedef void (*Handler)(Request *req);

enum RouteFlags {
    ROUTE_PUBLIC = 1 << 0, /* no login needed (login page, health, static-ish helpers) */
    ROUTE_NODB = 1 << 1,   /* the handler copes with the database being away itself */
    ROUTE_UPLOAD = 1 << 2, /* takes multipart/form-data (files); never with ROUTE_PUBLIC */
};

typedef struct Route {
    const char *method;  /* "GET" or "POST" */
    const char *pattern; /* "/customers/{id}": {id} matches a positive integer */
    Handler handler;
    const char *perm;    /* permission required ("module.action"), NULL = any logged-in user */
    unsigned flags;
} Route;

typedef struct NavItem {
    const char *href;
    const char *label; /* English source string, translated when shown */
    const char *perm;  /* hidden from users without it; NULL = every logged-in user */
    const char *also;  /* more path prefixes that highlight this entry, '|'-separated (optional) */
} NavItem;

/* A module exports its routes and navigation entries (both NULL-terminated) and nothing else. */
typedef struct Module {
    const char *name;
    const Route *routes;
    const NavItem *nav;
} Module;

/* All modules, in navigation order (cgi/modules/registry.c). */
extern const Module *const app_modules[];

typedef enum { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_BAD_METHOD } RouteMatch;

/* Finds the route for req->method and req->path; fills req->args from captures.
 * On ROUTE_BAD_METHOD, *allow lists the methods that would have matched ("GET, POST"). */
RouteMatch router_find(Request *req, const Route **out, const char **allow);
/* Pure pattern match, for unit tests: captures go into args (up to 4). */
int router_match(const char *pattern, const char *path, const char **args, int *nargs,
                 Arena *a);

#endif
