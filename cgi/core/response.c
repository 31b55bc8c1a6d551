/* response.c — the one place that writes HTTP headers and bodies back to nginx. */
#include "response.h"
#include "i18n.h"
#include "log.h"
#include "config.h"
#include "view.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

int resp_header(Request *req, const char *name, const char *value)
{
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n")) {
        log_warn("refused header %s with a line break", name);
        return -1;
    }
    g_string_append_printf(req->headers, "%s: %s\r\n", name, value);
    return 0;
}

void resp_cookie(Request *req, const char *name, const char *value, long max_age)
{
    GString *c = g_string_new(NULL);
    g_string_append_printf(c, "%s=%s; Path=/; HttpOnly; SameSite=Lax", name, value);
    if (max_age >= 0)
        g_string_append_printf(c, "; Max-Age=%ld", max_age);
    if (req->https || cfg.secure_cookie)
        g_string_append(c, "; Secure");
    resp_header(req, "Set-Cookie", c->str);
    g_string_free(c, TRUE);
}

bool resp_local_path(const char *p)
{
    return p && p[0] == '/' && p[1] != '/' && p[1] != '\\' && !strpbrk(p, "\r\n") &&
           g_utf8_validate(p, -1, NULL);
}

void resp_redirect(Request *req, const char *location)
{
    const char *loc = resp_local_path(location) ? location : "/";
    /* Non-ASCII in a Location header must be percent-encoded. */
    gchar *enc = g_uri_escape_string(loc, "/?&=%#+;:@,!$'()*~", FALSE);
    req->status = 303;
    resp_header(req, "Location", enc);
    g_free(enc);
    g_string_truncate(req->body, 0);
    req->content_type_out = NULL;
}

void resp_flash(Request *req, const char *kind, const char *msgid)
{
    gchar *v = g_uri_escape_string(msgid, NULL, FALSE);
    char *val = arena_printf(req->arena, "%s:%s", kind, v);
    g_free(v);
    resp_cookie(req, "kx_flash", val, 60);
}

void resp_text(Request *req, int status, const char *content_type, const char *body)
{
    req->status = status;
    req->content_type_out = content_type;
    g_string_assign(req->body, body ? body : "");
}

void resp_json(Request *req, int status, const char *json)
{
    resp_text(req, status, "application/json; charset=utf-8", json);
}

static void attachment(Request *req, const char *content_type, const char *filename)
{
    req->status = 200;
    req->content_type_out = content_type;
    GString *ascii = g_string_new(NULL);
    for (const char *p = filename; *p; p++)
        g_string_append_c(ascii, (*p > 0x20 && *p < 0x7f && *p != '"' && *p != '\\') ? *p : '_');
    gchar *utf = g_uri_escape_string(filename, NULL, FALSE);
    char *cd = arena_printf(req->arena, "attachment; filename=\"%s\"; filename*=UTF-8''%s",
                            ascii->str, utf);
    resp_header(req, "Content-Disposition", cd);
    resp_header(req, "Cache-Control", "private, no-store");
    g_free(utf);
    g_string_free(ascii, TRUE);
}

static void remove_file(void *path)
{
    g_unlink(path);
    g_free(path);
}

int resp_download_file(Request *req, const char *content_type, const char *filename,
                       const char *path, bool remove)
{
    if (remove)
        arena_defer(req->arena, remove_file, g_strdup(path));
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
        return -1;
    attachment(req, content_type, filename);
    req->body_file = arena_strdup(req->arena, path);
    g_string_truncate(req->body, 0);
    return 0;
}

/* Streams the body file after the headers; -1 when it cannot be read (the headers are out:
 * the download ends short and the browser reports it as failed). */
static int send_file(Request *req, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char buf[65536];
    size_t n;
    int rc = 0;
    while (rc >= 0 && (n = fread(buf, 1, sizeof buf, f)) > 0)
        rc = FCGX_PutStr(buf, (int)n, req->fcgx->out);
    fclose(f);
    return rc < 0 ? -1 : 0;
}

static const struct {
    int status;
    const char *reason;
    const char *title;
    const char *message;
} errors[] = {
    {400, "Bad Request", N_("Bad request"),
     N_("The request could not be understood (malformed input).")},
    {403, "Forbidden", N_("Access denied"),
     N_("You do not have permission for this, or the form expired. Reload the page and try again.")},
    {404, "Not Found", N_("Page not found"),
     N_("The page or record does not exist, or is not visible to you.")},
    {405, "Method Not Allowed", N_("Method not allowed"),
     N_("This address does not accept that kind of request.")},
    {413, "Payload Too Large", N_("Request too large"),
     N_("The data sent is larger than the server accepts.")},
    {415, "Unsupported Media Type", N_("Files not accepted here"),
     N_("This address does not take uploaded files.")},
    {429, "Too Many Requests", N_("Too many requests"),
     N_("Too many attempts. Please wait a moment and try again.")},
    {500, "Internal Server Error", N_("Something went wrong"),
     N_("An unexpected error occurred. It has been logged; please try again.")},
    {503, "Service Unavailable", N_("Temporarily unavailable"),
     N_("The database is not reachable right now. Please try again in a few seconds.")},
};

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 303: return "See Other";
    case 304: return "Not Modified";
    }
    for (size_t i = 0; i < G_N_ELEMENTS(errors); i++)
        if (errors[i].status == status)
            return errors[i].reason;
    return "Error";
}

void resp_error(Request *req, int status)
{
    req->body_file = NULL;
    size_t i = 0;
    while (i < G_N_ELEMENTS(errors) - 1 && errors[i].status != status)
        i++;
    if (errors[i].status != status) { /* unknown: the 500 page */
        i = 0;
        while (errors[i].status != 500)
            i++;
    }
    if (status == 503)
        resp_header(req, "Retry-After", "5");
    View *v = view_new(req);
    view_set_int(v, "status", status);
    view_set_tr(v, "title", errors[i].title);
    view_set_tr(v, "message", errors[i].message);
    if (view_render(req, v, "errors/error", status) < 0) {
        /* The error page itself failed: a plain text answer with no internals. */
        resp_text(req, status, "text/plain; charset=utf-8", errors[i].reason);
    }
    req->status = status;
}

void resp_security_headers(GString *out)
{
    g_string_append(out,
                    "Content-Security-Policy: default-src 'self'; script-src 'self'; "
                    "style-src 'self'; img-src 'self' data:; font-src 'self'; "
                    "object-src 'none'; base-uri 'none'; form-action 'self'; "
                    "frame-ancestors 'none'\r\n"
                    "X-Content-Type-Options: nosniff\r\n"
                    "X-Frame-Options: DENY\r\n"
                    "Referrer-Policy: same-origin\r\n"
                    "Cross-Origin-Opener-Policy: same-origin\r\n"
                    "Permissions-Policy: camera=(), microphone=(), geolocation=()\r\n");
}

int resp_send(Request *req)
{
    if (!req->fcgx)
        return 0;
    GString *h = g_string_sized_new(1024);
    g_string_append_printf(h, "Status: %d %s\r\n", req->status, reason_phrase(req->status));
    resp_security_headers(h);
    if (req->content_type_out)
        g_string_append_printf(h, "Content-Type: %s\r\n", req->content_type_out);
    if (!strstr(req->headers->str, "Cache-Control:"))
        g_string_append(h, "Cache-Control: no-store\r\n");
    g_string_append(h, req->headers->str);
    GStatBuf st;
    if (req->body_file && g_stat(req->body_file, &st) != 0) {
        log_error("download %s vanished", req->body_file);
        req->body_file = NULL; /* an empty body rather than a wrong length */
    }
    g_string_append_printf(h, "Content-Length: %zu\r\n\r\n",
                           req->body_file ? (size_t)st.st_size : req->body->len);
    int rc = FCGX_PutStr(h->str, (int)h->len, req->fcgx->out);
    bool head = req->method && strcmp(req->method, "HEAD") == 0;
    if (rc >= 0 && !head && req->body_file)
        rc = send_file(req, req->body_file);
    else if (rc >= 0 && !head && req->body->len)
        rc = FCGX_PutStr(req->body->str, (int)req->body->len, req->fcgx->out);
    g_string_free(h, TRUE);
    return rc < 0 ? -1 : 0;
}
