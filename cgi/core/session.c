/* session.c — session lookup/creation with idle and absolute timeouts, and CSRF tokens. */
#include "session.h"
#include "config.h"
#include "db.h"
#include "response.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_BYTES 32

static char *b64url(Arena *a, const unsigned char *bin, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = arena_alloc(a, cap);
    sodium_bin2base64(out, cap, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static bool token_shape_ok(const char *t)
{
    if (!t || strlen(t) != 43)
        return false;
    for (const char *p = t; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_')
            return false;
    return true;
}

char *session_token_hash(Arena *a, const char *token)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    char *out = arena_alloc(a, 2 + sizeof h * 2 + 1);
    out[0] = '\\';
    out[1] = 'x';
    sodium_bin2hex(out + 2, sizeof h * 2 + 1, h, sizeof h);
    return out;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int session_load(Request *req)
{
    const char *tok = req_cookie(req, SESSION_COOKIE);
    if (!token_shape_ok(tok))
        return 0;
    char idle[16], abs[16];
    snprintf(idle, sizeof idle, "%d", cfg.session_idle_min);
    snprintf(abs, sizeof abs, "%d", cfg.session_abs_hours);
    char *hash = session_token_hash(req->arena, tok);
    PGresult *r = db_exec(req->arena,
        "SELECT u.id, u.username, u.display_name, u.lang, u.is_admin, u.must_change_password,"
        "       s.last_seen_at < now() - interval '1 minute' AS stale, u.department_id,"
        "       (SELECT string_agg(DISTINCT rp.module || '.' || rp.action, ',')"
        "          FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id"
        "         WHERE ur.user_id = u.id) AS perms,"
        "       (SELECT max(array_position(ARRAY['own','subordinates','department',"
        "               'department_tree','all'], r.data_scope))"
        "          FROM user_roles ur JOIN roles r ON r.id = ur.role_id"
        "         WHERE ur.user_id = u.id) AS scope"
        "  FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.token_hash = $1::bytea AND u.active"
        "   AND s.last_seen_at > now() - make_interval(mins => $2::int)"
        "   AND s.created_at > now() - make_interval(hours => $3::int)",
        hash, idle, abs);
    if (!r)
        return -1;
    if (PQntuples(r) != 1)
        return 0;
    User *u = arena_alloc(req->arena, sizeof *u);
    u->id = atol(PQgetvalue(r, 0, 0));
    u->username = PQgetvalue(r, 0, 1);
    u->display_name = PQgetvalue(r, 0, 2);
    u->lang = db_val(r, 0, 3);
    u->is_admin = PQgetvalue(r, 0, 4)[0] == 't';
    u->must_change_password = PQgetvalue(r, 0, 5)[0] == 't';
    u->department_id = PQgetisnull(r, 0, 7) ? 0 : atol(PQgetvalue(r, 0, 7));
    /* Rights are read on every request, so a role change applies from the next one. */
    if (!PQgetisnull(r, 0, 8)) {
        gchar **parts = g_strsplit(PQgetvalue(r, 0, 8), ",", -1);
        u->nperms = (int)g_strv_length(parts);
        u->perms = arena_alloc(req->arena, sizeof(char *) * (size_t)(u->nperms + 1));
        for (int i = 0; i < u->nperms; i++)
            u->perms[i] = arena_strdup(req->arena, parts[i]);
        g_strfreev(parts);
        /* byte order, whatever the database collation: auth_can searches it */
        qsort(u->perms, (size_t)u->nperms, sizeof(char *), cmp_str);
    }
    u->scope = u->is_admin ? 5 : (PQgetisnull(r, 0, 9) ? 1 : atoi(PQgetvalue(r, 0, 9)));
    req->user = u;
    req->session_token = tok;
    /* Touch at most once a minute: a write per request would cost more than the request. */
    if (PQgetvalue(r, 0, 6)[0] == 't')
        db_exec(req->arena, "UPDATE sessions SET last_seen_at = now() WHERE token_hash = $1::bytea",
                hash);
    return 0;
}

int session_create(Request *req, long user_id)
{
    unsigned char bin[TOKEN_BYTES];
    randombytes_buf(bin, sizeof bin);
    char *tok = b64url(req->arena, bin, sizeof bin);
    char uid[24];
    snprintf(uid, sizeof uid, "%ld", user_id);
    const char *ua = req->user_agent ? req->user_agent : "";
    char uabuf[256];
    g_utf8_strncpy(uabuf, ua, 60);
    if (!db_exec(req->arena,
                 "INSERT INTO sessions (token_hash, user_id, client_addr, user_agent)"
                 " VALUES ($1::bytea, $2, $3, $4)",
                 session_token_hash(req->arena, tok), uid, req->client_addr, uabuf))
        return -1;
    /* Expired sessions are swept here rather than by a cron job: logins are rare enough. */
    char abs[16];
    snprintf(abs, sizeof abs, "%d", cfg.session_abs_hours);
    db_exec(req->arena,
            "DELETE FROM sessions WHERE created_at < now() - make_interval(hours => $1::int)", abs);
    resp_cookie(req, SESSION_COOKIE, tok, -1);
    req->session_token = tok;
    req->csrf = NULL;
    return 0;
}

void session_destroy(Request *req)
{
    if (req->session_token)
        db_exec(req->arena, "DELETE FROM sessions WHERE token_hash = $1::bytea",
                session_token_hash(req->arena, req->session_token));
    resp_cookie(req, SESSION_COOKIE, "", 0);
    req->session_token = NULL;
    req->user = NULL;
    req->csrf = NULL;
}

int session_destroy_all(Request *req, long user_id)
{
    char uid[24];
    snprintf(uid, sizeof uid, "%ld", user_id);
    return db_exec(req->arena, "DELETE FROM sessions WHERE user_id = $1", uid) ? 0 : -1;
}

static const char *csrf_binding(Request *req, bool create)
{
    if (req->session_token)
        return req->session_token;
    const char *anon = req_cookie(req, ANON_COOKIE);
    if (token_shape_ok(anon))
        return anon;
    if (!create)
        return NULL;
    unsigned char bin[TOKEN_BYTES];
    randombytes_buf(bin, sizeof bin);
    char *tok = b64url(req->arena, bin, sizeof bin);
    resp_cookie(req, ANON_COOKIE, tok, -1);
    /* Later lookups in this request must see the new value. */
    ParamList *c = &req->cookies;
    Param *items = arena_alloc(req->arena, sizeof(Param) * (size_t)(c->n + 1));
    if (c->n)
        memcpy(items, c->items, sizeof(Param) * (size_t)c->n);
    items[c->n].name = ANON_COOKIE;
    items[c->n].value = tok;
    c->items = items;
    c->n++;
    return tok;
}

static char *csrf_for(Arena *a, const char *binding)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, config_secret(), 32);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"csrf:", 5);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)binding, strlen(binding));
    crypto_auth_hmacsha256_final(&st, mac);
    return b64url(a, mac, sizeof mac);
}

const char *csrf_token(Request *req)
{
    if (!req->csrf)
        req->csrf = csrf_for(req->arena, csrf_binding(req, true));
    return req->csrf;
}

bool csrf_check(Request *req)
{
    const char *binding = csrf_binding(req, false);
    if (!binding)
        return false;
    const char *sent = req_form(req, "_csrf");
    if (!sent && req->fcgx)
        sent = FCGX_GetParam("HTTP_X_CSRF_TOKEN", req->fcgx->envp);
    if (!sent)
        return false;
    char *want = csrf_for(req->arena, binding);
    size_t n = strlen(want);
    return strlen(sent) == n && sodium_memcmp(sent, want, n) == 0;
}
