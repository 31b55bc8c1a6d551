/* account.c — sign in, sign out, change one's own password, choose the interface language. */
#include "../core/audit.h"
#include "../core/auth.h"
#include "../core/db.h"
#include "../core/form.h"
#include "../core/i18n.h"
#include "../core/response.h"
#include "../core/router.h"
#include "../core/session.h"
#include "../core/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const FieldDef login_fields[] = {
    {"username", N_("User name"), F_TEXT, F_REQUIRED, 64, 0, 0, NULL, "username", NULL},
    {"password", N_("Password"), F_PASSWORD, F_REQUIRED | F_KEEP_SPACES, 256, 0, 0, NULL,
     "current-password", NULL},
    {NULL},
};

static const FieldDef password_fields[] = {
    {"current", N_("Current password"), F_PASSWORD, F_REQUIRED | F_KEEP_SPACES, 256, 0, 0, NULL,
     "current-password", NULL},
    {"new", N_("New password"), F_PASSWORD, F_REQUIRED | F_KEEP_SPACES, 256, 0, 0, NULL,
     "new-password", N_("At least 8 characters.")},
    {"confirm", N_("Repeat new password"), F_PASSWORD, F_REQUIRED | F_KEEP_SPACES, 256, 0, 0,
     NULL, "new-password", NULL},
    {NULL},
};

static const char *safe_next(Request *req)
{
    const char *next = req_form(req, "next");
    if (!next)
        next = req_query(req, "next");
    /* Only local paths: an open redirect after login is a phishing gift. */
    return next && resp_local_path(next) && strncmp(next, "/login", 6) != 0 ? next : "/";
}

static void render_login(Request *req, Form *f, const char *message, int status)
{
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Sign in"));
    view_set(v, "next", safe_next(req));
    view_set(v, "message", message ? i18n_get(req->lang, message) : "");
    form_push(f, v);
    view_render(req, v, "auth/login", status);
}

/* GET /login: 200 the sign-in form, or 303 home when already signed in. */
static void login_form(Request *req)
{
    if (req->user) {
        resp_redirect(req, safe_next(req));
        return;
    }
    render_login(req, form_new(req, login_fields), NULL, 200);
}

/* POST /login: 303 to `next` on success; 422 with the form again on bad credentials;
 * 429 while the account or address is being slowed down. */
static void login_submit(Request *req)
{
    Form *f = form_new(req, login_fields);
    if (!form_read(f)) {
        render_login(req, f, NULL, 422);
        return;
    }
    const char *username = form_get(f, "username");
    const char *password = form_get(f, "password");
    int wait = auth_throttle_wait(req, username);
    if (wait < 0) {
        resp_error(req, 503);
        return;
    }
    if (wait > 0) {
        char secs[16];
        snprintf(secs, sizeof secs, "%d", wait);
        resp_header(req, "Retry-After", secs);
        render_login(req, f, N_("Too many failed sign-in attempts. Please wait a little and try again."), 429);
        return;
    }
    PGresult *r = db_exec(req->arena,
                          "SELECT id, password_hash, username, active FROM users"
                          " WHERE lower(username) = lower($1)",
                          username);
    if (!r) {
        resp_error(req, 503);
        return;
    }
    bool good;
    if (PQntuples(r) == 1) {
        /* A disabled account fails like a wrong password (and is logged with its id). */
        good = auth_verify_password(PQgetvalue(r, 0, 1), password) && PQgetvalue(r, 0, 3)[0] == 't';
    } else {
        auth_verify_dummy(password);
        good = false;
    }
    if (!good) {
        auth_record_failure(req, username);
        audit_login(req, PQntuples(r) == 1 ? atol(PQgetvalue(r, 0, 0)) : 0, username,
                    "login_failed", "failed");
        form_set(f, "password", "");
        render_login(req, f, N_("Wrong user name or password."), 422);
        return;
    }
    long uid = atol(PQgetvalue(r, 0, 0));
    auth_clear_failures(req, username);
    if (session_create(req, uid) < 0) {
        resp_error(req, 503);
        return;
    }
    audit_login(req, uid, PQgetvalue(r, 0, 2), "login", "ok");
    resp_redirect(req, safe_next(req));
}

/* POST /logout: 303 to the sign-in page. */
static void logout(Request *req)
{
    audit_login(req, req->user->id, req->user->username, "logout", "ok");
    session_destroy(req);
    resp_flash(req, "ok", N_("You have signed out."));
    resp_redirect(req, "/login");
}

static void render_password(Request *req, Form *f, int status)
{
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Change password"));
    form_push(f, v);
    view_render(req, v, "account/password", status);
}

/* GET /account/password: 200 the form. */
static void password_form(Request *req)
{
    render_password(req, form_new(req, password_fields), 200);
}

/* POST /account/password: 303 home after the change (all other sessions end); 422 with
 * messages per field otherwise. */
static void password_submit(Request *req)
{
    Form *f = form_new(req, password_fields);
    if (form_read(f)) {
        const char *problem = auth_password_problem(form_get(f, "new"), req->user->username);
        if (problem)
            form_error(f, "new", problem);
        else if (strcmp(form_get(f, "new"), form_get(f, "confirm")) != 0)
            form_error(f, "confirm", N_("The two new passwords differ."));
    }
    if (f->nerrors == 0) {
        /* Guessing the current password with a stolen session is slowed down like a login. */
        int wait = auth_throttle_wait(req, req->user->username);
        if (wait != 0) {
            if (wait > 0) {
                char secs[16];
                snprintf(secs, sizeof secs, "%d", wait);
                resp_header(req, "Retry-After", secs);
            }
            form_error(f, "current", N_("Too many failed attempts. Please wait a moment and try again."));
            render_password(req, f, wait > 0 ? 429 : 503);
            return;
        }
        char uid[24];
        snprintf(uid, sizeof uid, "%ld", req->user->id);
        PGresult *r = db_exec(req->arena, "SELECT password_hash FROM users WHERE id = $1", uid);
        if (!r || PQntuples(r) != 1) {
            resp_error(req, 503);
            return;
        }
        if (!auth_verify_password(PQgetvalue(r, 0, 0), form_get(f, "current"))) {
            auth_record_failure(req, req->user->username);
            form_error(f, "current", N_("The current password is not correct."));
        }
    }
    if (f->nerrors) {
        render_password(req, f, 422);
        return;
    }
    char hash[AUTH_HASH_MAX];
    char uid[24];
    snprintf(uid, sizeof uid, "%ld", req->user->id);
    if (auth_hash_password(form_get(f, "new"), hash) != 0 || db_begin(req->arena) < 0) {
        resp_error(req, 500);
        return;
    }
    /* One transaction: the new hash, no old sessions, and this browser's fresh session. */
    bool ok = db_exec(req->arena,
                      "UPDATE users SET password_hash = $2, password_changed_at = now(),"
                      " must_change_password = false, version = version + 1, updated_at = now()"
                      " WHERE id = $1",
                      uid, hash) &&
              audit_write(req, "account", "change_password", "user", req->user->id,
                          req->user->username, NULL, "ok") == 0 &&
              session_destroy_all(req, req->user->id) == 0 &&
              session_create(req, req->user->id) == 0 && db_commit(req->arena) == 0;
    if (!ok) {
        db_rollback(req->arena);
        resp_error(req, 503);
        return;
    }
    resp_flash(req, "ok", N_("Your password has been changed. Other sessions were signed out."));
    resp_redirect(req, "/");
}

/* POST /lang: 303 back to `next` with the chosen language (remembered per user too). */
static void set_language(Request *req)
{
    const char *lang = i18n_supported(req_form(req, "lang"));
    if (!lang) {
        resp_error(req, 400);
        return;
    }
    resp_cookie(req, "kx_lang", lang, 365L * 24 * 3600);
    if (req->user) {
        char uid[24];
        snprintf(uid, sizeof uid, "%ld", req->user->id);
        db_exec(req->arena, "UPDATE users SET lang = $2 WHERE id = $1", uid, lang);
    }
    const char *next = req_form(req, "next");
    resp_redirect(req, resp_local_path(next) ? next : "/");
}

static const Route routes[] = {
    {"GET", "/login", login_form, NULL, ROUTE_PUBLIC},
    {"POST", "/login", login_submit, NULL, ROUTE_PUBLIC},
    {"POST", "/logout", logout, NULL, 0},
    {"GET", "/account/password", password_form, NULL, 0},
    {"POST", "/account/password", password_submit, NULL, 0},
    {"POST", "/lang", set_language, NULL, ROUTE_PUBLIC},
    {NULL, NULL, NULL, NULL, 0},
};

const Module account_module = {"account", routes, NULL};
