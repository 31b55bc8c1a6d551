/* response.h — everything a handler may answer: pages, redirects, files, JSON, error pages. */
#ifndef KEXIN_RESPONSE_H
#define KEXIN_RESPONSE_H

#include "request.h"

#include <stddef.h>

/* Adds a header line; values containing CR or LF are refused (returns -1). */
int resp_header(Request *req, const char *name, const char *value);
/* Sets a cookie (HttpOnly; SameSite=Lax; Path=/; Secure over https). max_age < 0 = session
 * cookie, 0 = delete. */
void resp_cookie(Request *req, const char *name, const char *value, long max_age);
/* 303 See Other to a local path (anything not starting with a single '/' becomes "/"). */
void resp_redirect(Request *req, const char *location);
/* Carries a short message (English msgid, translated when shown) over a redirect. */
void resp_flash(Request *req, const char *kind, const char *msgid);
void resp_text(Request *req, int status, const char *content_type, const char *body);
void resp_json(Request *req, int status, const char *json);
/* A file download (Content-Disposition with an ASCII fallback and RFC 5987 UTF-8 name) of a
 * file on disk, streamed in chunks by resp_send (a 100k-row export is never
 * held in memory). remove: the file is a temp file, deleted when the request ends. Returns -1
 * when the file cannot be opened (nothing set). */
int resp_download_file(Request *req, const char *content_type, const char *filename,
                       const char *path, bool remove);
/* The error page for status (400 403 404 405 413 415 429 500 503) in the user's language. */
void resp_error(Request *req, int status);
/* True when the local path is safe to redirect to (same site, no scheme, no //). */
bool resp_local_path(const char *path);

/* Writes status line, security headers, extra headers and body to the FastCGI stream. */
int resp_send(Request *req);
/* The security headers every dynamic response carries (one place, so none is forgotten). */
void resp_security_headers(GString *out);

#endif
