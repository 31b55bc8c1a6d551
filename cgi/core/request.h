/* request.h — one HTTP request inside a worker: parsed input, who is asking, and the response being built. */
#ifndef KEXIN_REQUEST_H
#define KEXIN_REQUEST_H

#include "arena.h"

#include <fcgiapp.h>
#include <glib.h>
#include <stdbool.h>

typedef struct Param {
    const char *name;
    const char *value;
} Param;

typedef struct ParamList {
    Param *items;
    int n;
} ParamList;

struct UploadedFile; /* upload.h */
typedef struct UploadList {
    struct UploadedFile *items;
    int n;
} UploadList;

typedef struct User {
    long id;
    const char *username;
    const char *display_name;
    const char *lang; /* the user's own setting, or NULL to follow the browser */
    bool is_admin; /* system administrator: every permission, scope all */
    bool must_change_password;
    long department_id;  /* 0 = none */
    int scope;           /* widest data scope of the user's roles (Scope in perm.h) */
    const char **perms;  /* "module.action" strings from the user's roles, sorted */
    int nperms;
    const char *visible; /* cached PG array literal of visible user ids (scope.c) */
} User;

typedef struct Request {
    Arena *arena;
    FCGX_Request *fcgx; /* NULL in unit tests */
    char id[17];        /* random request id, also in the access log */
    gint64 t0_us;

    const char *method;
    const char *path;         /* decoded, validated UTF-8, starts with '/' */
    const char *query_string; /* raw */
    const char *content_type;
    const char *remote_addr;  /* peer address as nginx saw it */
    const char *client_addr;  /* after trusted-proxy X-Forwarded-For handling */
    const char *user_agent;
    const char *accept_language;
    bool https;

    ParamList query;
    ParamList form;
    ParamList cookies;
    UploadList files; /* file parts of a multipart body (upload.h); req_file() finds one */
    size_t multipart_len; /* a multipart body not read yet (req_read_multipart) */
    const char *args[4]; /* pattern captures such as {id}, in order */
    int nargs;

    /* Who is asking (set by the front door before any handler runs). */
    User *user;
    const char *session_token; /* raw token from the cookie, NULL if none or invalid */
    const char *csrf;          /* token forms must echo back */
    const char *lang;          /* "zh_CN" or "en" */
    const char *flash;         /* message carried over a redirect, shown once */
    const char *flash_kind;    /* "ok" or "error" */
    GHashTable *memo;          /* db_exec_memo answers of this request (reference look-ups) */

    /* Response under construction. */
    int status;
    GString *headers; /* extra header lines, each ending in \r\n */
    GString *body;
    const char *body_file; /* when set, the body is this file, streamed (resp_download_file) */
    const char *content_type_out;
} Request;

/* Parse outcome codes: 0 ok, else the HTTP status to answer (400, 413). A multipart body is
 * left unread (multipart_len) for req_read_multipart. */
int req_parse(Request *req);
/* Reads the pending multipart body into form and files: 0, 400 or 413. */
int req_read_multipart(Request *req);
/* Parses an application/x-www-form-urlencoded string into list (limits from cfg).
 * Returns 0, 400 (bad encoding / not UTF-8) or 413 (too many or too long fields). */
int req_parse_urlencoded(Arena *a, const char *s, size_t len, ParamList *list);
/* Parses a Cookie header; malformed pairs are skipped, not fatal. */
void req_parse_cookies(Arena *a, const char *s, ParamList *list);

/* Lookups: first value or NULL. */
const char *param_get(const ParamList *l, const char *name);
static inline const char *req_query(const Request *r, const char *n)
{
    return param_get(&r->query, n);
}
static inline const char *req_form(const Request *r, const char *n)
{
    return param_get(&r->form, n);
}
static inline const char *req_cookie(const Request *r, const char *n)
{
    return param_get(&r->cookies, n);
}
/* An id as text for a query parameter, in the request's arena. */
static inline char *req_id_text(Request *r, long id)
{
    return arena_printf(r->arena, "%ld", id);
}
/* Integer path capture i (captures are digits by construction). */
long req_arg_id(const Request *r, int i);

#endif
