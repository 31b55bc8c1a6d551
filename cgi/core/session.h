/* session.h — login sessions in PostgreSQL (token hashed), and the CSRF token bound to them. */
#ifndef KEXIN_SESSION_H
#define KEXIN_SESSION_H

#include "request.h"

#define SESSION_COOKIE "kx_session"
#define ANON_COOKIE "kx_anon"

/* Looks up the session cookie and sets req->user. Returns 0 (even when there is no valid
 * session) or -1 when the database failed. */
int session_load(Request *req);
/* Starts a session for user_id with a fresh random token (never reuses the old one) and
 * sets the cookie. Returns 0 or -1. */
int session_create(Request *req, long user_id);
/* Ends the current session (database row and cookie). */
void session_destroy(Request *req);
/* Ends every session of a user (after a password change or reset). */
int session_destroy_all(Request *req, long user_id);

/* The CSRF token for this request's forms: an HMAC of the session token (or, before
 * login, of a random anonymous cookie, which this sets when missing). */
const char *csrf_token(Request *req);
/* True when the request carries the right token in field _csrf or header X-CSRF-Token. */
bool csrf_check(Request *req);

/* SHA-256 of a token as a bytea literal for a query parameter ("\\x…"). */
char *session_token_hash(Arena *a, const char *token);

#endif
