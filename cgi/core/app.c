/* app.c — the one loop body every request goes through, and the access log line. */
#include "app.h"
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "i18n.h"
#include "log.h"
#include "response.h"
#include "router.h"
#include "session.h"
#include "view.h"

#include <sodium.h>
#include <string.h>

int app_worker_init(void)
{
    g_autofree gchar *i18n_dir = g_build_filename(cfg.root, "templates", "i18n", NULL);
    g_autofree gchar *tpl_dir = g_build_filename(cfg.root, "templates", NULL);
    if (i18n_load(i18n_dir) < 0 || view_load(tpl_dir) < 0)
        return -1;
    db_open(cfg.dsn);
    return 0;
}

void app_worker_release(void)
{
    db_close();
    view_unload();
    i18n_free();
}

static void take_flash(Request *req)
{
    const char *f = req_cookie(req, "kx_flash");
    if (!f || !*f)
        return;
    const char *colon = strchr(f, ':');
    if (colon) {
        req->flash_kind = strncmp(f, "error", 5) == 0 ? "error" : "ok";
        gchar *msg = g_uri_unescape_string(colon + 1, NULL);
        if (msg && g_utf8_validate(msg, -1, NULL) && strlen(msg) < 300)
            req->flash = arena_strdup(req->arena, msg);
        g_free(msg);
    }
    resp_cookie(req, "kx_flash", "", 0);
}

void app_dispatch(Request *req)
{
    const Route *route = NULL;
    const char *allow = NULL;
    req->lang = i18n_pick(NULL, req_cookie(req, "kx_lang"), req->accept_language);

    RouteMatch m = router_find(req, &route, &allow);
    if (m == ROUTE_NOT_FOUND) {
        resp_error(req, 404);
        return;
    }
    if (m == ROUTE_BAD_METHOD) {
        resp_header(req, "Allow", allow);
        resp_error(req, 405);
        return;
    }
    if (!(route->flags & ROUTE_NODB)) {
        if (!db_ready() || session_load(req) < 0) {
            resp_error(req, 503);
            return;
        }
        if (req->user)
            req->lang = i18n_pick(req->user->lang, req_cookie(req, "kx_lang"),
                                  req->accept_language);
    }
    bool post = strcmp(req->method, "POST") == 0;
    if (!(route->flags & ROUTE_PUBLIC) && !req->user) {
        /* Not logged in (or the session expired): back to the login page, then here. */
        const char *next = post ? "/" : req->path;
        if (!post && req->query_string && *req->query_string)
            next = arena_printf(req->arena, "%s?%s", req->path, req->query_string);
        gchar *enc = g_uri_escape_string(next, NULL, FALSE);
        resp_redirect(req, arena_printf(req->arena, "/login?next=%s", enc));
        g_free(enc);
        return;
    }
    if (req->multipart_len) {
        /* Files only for routes that take them, and only from a signed-in user (the gate above):
         * the body is read now, the CSRF token inside it checked next. */
        int rc = route->flags & ROUTE_UPLOAD ? req_read_multipart(req) : 415;
        if (rc) {
            resp_error(req, rc);
            return;
        }
    }
    if (post && !csrf_check(req)) {
        log_warn("csrf check failed for %s %s", req->method, req->path);
        resp_error(req, 403);
        return;
    }
    if (!auth_can(req, route->perm) && !(route->flags & ROUTE_PUBLIC)) {
        /* Denials are audited: repeated probing of forbidden pages is worth seeing. */
        const char *dot = route->perm ? strchr(route->perm, '.') : NULL;
        char module[40] = "auth";
        if (dot && (size_t)(dot - route->perm) < sizeof module)
            g_strlcpy(module, route->perm, (size_t)(dot - route->perm) + 1);
        audit_write(req, module, dot ? dot + 1 : "access", "path", 0,
                    arena_printf(req->arena, "%s %s", req->method, req->path), NULL, "denied");
        resp_error(req, 403);
        return;
    }
    /* After an administrator's reset the user must choose a new password before anything else. */
    if (req->user && req->user->must_change_password && strcmp(req->path, "/account/password") != 0 &&
        strcmp(req->path, "/logout") != 0 && strcmp(req->path, "/lang") != 0 &&
        !(route->flags & ROUTE_PUBLIC)) {
        resp_flash(req, "error", N_("Please choose a new password before you continue."));
        resp_redirect(req, "/account/password");
        return;
    }
    take_flash(req);
    route->handler(req);
    if (db_lost()) {
        /* The database went away in the middle: whatever was built is not trustworthy. */
        g_string_truncate(req->body, 0);
        g_string_truncate(req->headers, 0);
        resp_error(req, 503);
    } else if (req->status == 0) {
        resp_error(req, 500);
    }
}

static void free_gstring(void *p)
{
    g_string_free(p, TRUE);
}

void app_handle(FCGX_Request *fcgx)
{
    Request req = {0};
    req.arena = arena_new();
    req.fcgx = fcgx;
    req.t0_us = g_get_monotonic_time();
    unsigned char rid[8];
    randombytes_buf(rid, sizeof rid);
    sodium_bin2hex(req.id, sizeof req.id, rid, sizeof rid);
    req.headers = arena_defer(req.arena, free_gstring, g_string_sized_new(256));
    req.body = arena_defer(req.arena, free_gstring, g_string_sized_new(16384));
    req.lang = "zh_CN";

    int rc = req_parse(&req);
    if (rc) {
        req.lang = i18n_pick(NULL, req_cookie(&req, "kx_lang"), req.accept_language);
        resp_error(&req, rc);
    } else {
        app_dispatch(&req);
    }
    resp_send(&req);

    char path[256], user[64];
    log_clean(path, sizeof path, req.path ? req.path : "-");
    log_clean(user, sizeof user, req.user ? req.user->username : "-");
    gint64 us = g_get_monotonic_time() - req.t0_us;
    log_msg("access", "%s %s %s %d %s %s %ld.%03ldms", req.id, req.client_addr ? req.client_addr : "-",
            req.method ? req.method : "-", req.status, path, user, (long)(us / 1000),
            (long)(us % 1000));
    if (audit_batch_pending())
        log_error("%s: audit rows queued but never written (audit_batch_end missing)", req.id);
    db_memo_free(&req.memo);
    arena_free(req.arena);
}
