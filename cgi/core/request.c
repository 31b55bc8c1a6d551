/* request.c — turns FastCGI params and body into a validated Request, with size and encoding limits. */
#include "request.h"
#include "config.h"
#include "upload.h"

#include <stdlib.h>
#include <string.h>

const char *param_get(const ParamList *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->items[i].name, name) == 0)
            return l->items[i].value;
    return NULL;
}

long req_arg_id(const Request *r, int i)
{
    if (i < 0 || i >= r->nargs || !r->args[i])
        return 0;
    return strtol(r->args[i], NULL, 10);
}

/* Decodes one urlencoded component into the arena; NULL when malformed or not UTF-8. */
static char *decode_component(Arena *a, const char *s, size_t len)
{
    char *tmp = arena_strndup(a, s, len);
    for (char *p = tmp; *p; p++)
        if (*p == '+')
            *p = ' ';
    /* g_uri_unescape_string rejects bad %-escapes and an escaped NUL. */
    char *dec = g_uri_unescape_string(tmp, NULL);
    if (!dec)
        return NULL;
    if (!g_utf8_validate(dec, -1, NULL)) {
        g_free(dec);
        return NULL;
    }
    char *out = arena_strdup(a, dec);
    g_free(dec);
    return out;
}

int req_parse_urlencoded(Arena *a, const char *s, size_t len, ParamList *list)
{
    if (!s || len == 0)
        return 0;
    int count = 1;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '&')
            count++;
    if (count > cfg.field_max)
        return 413;
    Param *items = arena_alloc(a, sizeof(Param) * (size_t)(list->n + count));
    if (list->n)
        memcpy(items, list->items, sizeof(Param) * (size_t)list->n);
    int n = list->n;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != '&')
            j++;
        if (j > i) {
            size_t eq = i;
            while (eq < j && s[eq] != '=')
                eq++;
            size_t nlen = eq - i;
            size_t vlen = eq < j ? j - eq - 1 : 0;
            if (nlen > 256 || vlen > cfg.value_max)
                return 413;
            char *name = decode_component(a, s + i, nlen);
            char *value = eq < j ? decode_component(a, s + eq + 1, vlen) : arena_strdup(a, "");
            if (!name || !value)
                return 400;
            if (*name) {
                items[n].name = name;
                items[n].value = value;
                n++;
            }
        }
        i = j + 1;
    }
    list->items = items;
    list->n = n;
    return 0;
}

void req_parse_cookies(Arena *a, const char *s, ParamList *list)
{
    list->n = 0;
    list->items = NULL;
    if (!s)
        return;
    int count = 1;
    for (const char *p = s; *p; p++)
        if (*p == ';')
            count++;
    if (count > 64)
        count = 64;
    list->items = arena_alloc(a, sizeof(Param) * (size_t)count);
    const char *p = s;
    while (*p && list->n < count) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq && eq > p) {
            char *name = arena_strndup(a, p, (size_t)(eq - p));
            char *value = arena_strndup(a, eq + 1, len - (size_t)(eq - p) - 1);
            g_strstrip(name);
            if (g_utf8_validate(value, -1, NULL)) {
                list->items[list->n].name = name;
                list->items[list->n].value = value;
                list->n++;
            }
        }
        p += len;
    }
}

static const char *param(Request *req, const char *name)
{
    const char *v = FCGX_GetParam(name, req->fcgx->envp);
    /* Copy: FastCGI's strings die with FCGX_Finish_r, the arena outlives nothing more. */
    return v ? arena_strdup(req->arena, v) : NULL;
}

static bool is_trusted_proxy(const char *addr)
{
    for (char **p = cfg.trusted_proxies; p && *p; p++)
        if (**p && strcmp(*p, addr) == 0)
            return true;
    return false;
}

/* The client is the right-most X-Forwarded-For hop not added by a trusted proxy. */
static const char *client_address(Request *req)
{
    const char *peer = req->remote_addr ? req->remote_addr : "-";
    const char *xff = param(req, "HTTP_X_FORWARDED_FOR");
    if (!xff || !is_trusted_proxy(peer))
        return peer;
    gchar **hops = g_strsplit(xff, ",", 32);
    const char *client = peer;
    for (int i = (int)g_strv_length(hops) - 1; i >= 0; i--) {
        gchar *h = g_strstrip(hops[i]);
        client = arena_strdup(req->arena, h);
        if (!is_trusted_proxy(h))
            break;
    }
    g_strfreev(hops);
    return client;
}

int req_parse(Request *req)
{
    req->method = param(req, "REQUEST_METHOD");
    if (!req->method)
        req->method = "GET";
    req->remote_addr = param(req, "REMOTE_ADDR");
    req->client_addr = client_address(req);
    req->user_agent = param(req, "HTTP_USER_AGENT");
    req->accept_language = param(req, "HTTP_ACCEPT_LANGUAGE");
    req->content_type = param(req, "CONTENT_TYPE");
    const char *https = param(req, "HTTPS");
    req->https = https && *https && strcmp(https, "off") != 0;
    req_parse_cookies(req->arena, param(req, "HTTP_COOKIE"), &req->cookies);

    const char *uri = param(req, "REQUEST_URI");
    if (!uri || uri[0] != '/')
        uri = "/";
    const char *q = strchr(uri, '?');
    size_t plen = q ? (size_t)(q - uri) : strlen(uri);
    if (plen > 2048)
        return 400;
    char *raw = arena_strndup(req->arena, uri, plen);
    char *path = g_uri_unescape_string(raw, "/");
    if (!path || !g_utf8_validate(path, -1, NULL)) {
        g_free(path);
        req->path = "/";
        return 400;
    }
    req->path = arena_strdup(req->arena, path);
    g_free(path);
    req->query_string = q ? arena_strdup(req->arena, q + 1) : "";
    int rc = req_parse_urlencoded(req->arena, req->query_string, strlen(req->query_string),
                                  &req->query);
    if (rc)
        return rc;

    const char *cl = param(req, "CONTENT_LENGTH");
    long long len = cl && *cl ? strtoll(cl, NULL, 10) : 0;
    if (len < 0)
        return 400;
    if ((unsigned long long)len > cfg.body_max)
        return 413;
    if (len == 0)
        return 0;
    if (upload_is_multipart(req->content_type)) {
        /* Read later, by the front door, once the route is known to take files and the caller
         * is signed in (req_read_multipart): nobody anonymous makes the worker write to disk. */
        req->multipart_len = (size_t)len;
        return 0;
    }
    char *body = arena_alloc(req->arena, (size_t)len + 1);
    int got = FCGX_GetStr(body, (int)len, req->fcgx->in);
    if (got != (int)len)
        return 400;
    body[len] = '\0';
    const char *ct = req->content_type ? req->content_type : "";
    if (g_ascii_strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
        return req_parse_urlencoded(req->arena, body, (size_t)len, &req->form);
    /* Other bodies (JSON, raw) are left to the handler. */
    return 0;
}

int req_read_multipart(Request *req)
{
    size_t len = req->multipart_len;
    req->multipart_len = 0;
    return len ? upload_read_request(req, len) : 0; /* streamed: files go to disk, not memory */
}
