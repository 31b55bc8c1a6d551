/* auth.c — argon2id password hashing, failed-login slow-down, and the permission check. */
#include "auth.h"
#include "db.h"
#include "i18n.h"
#include "log.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

int auth_hash_password(const char *password, char out[AUTH_HASH_MAX])
{
    return crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

bool auth_verify_password(const char *hash, const char *password)
{
    return hash && crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void auth_verify_dummy(const char *password)
{
    static char dummy[AUTH_HASH_MAX];
    if (!dummy[0] && auth_hash_password("kexin-dummy-password", dummy) != 0)
        return;
    (void)auth_verify_password(dummy, password);
}

const char *auth_password_problem(const char *password, const char *username)
{
    glong chars = g_utf8_strlen(password, -1);
    if (chars < 8)
        return N_("The password must have at least 8 characters.");
    if (strlen(password) > 256)
        return N_("The password is too long (at most 256 bytes).");
    if (username && g_ascii_strcasecmp(password, username) == 0)
        return N_("The password must not be the user name.");
    return NULL;
}

char *auth_random_password(void)
{
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    char *pw = g_malloc(17);
    for (int i = 0; i < 16; i++)
        pw[i] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
    pw[16] = '\0';
    return pw;
}

/* Policy (why): each account gets at most 10 failures a minute, and after 5 failures in
 * 15 minutes every further try waits 2^(n-5) s (capped at 60 s) after the last failure.
 * Nothing is locked for good: failures older than 15 minutes stop counting, so the real
 * user can always get in after a short wait. One address is also limited to 30 failures a
 * minute across all accounts (password spraying). */
int auth_throttle_wait(Request *req, const char *username)
{
    PGresult *r = db_exec(req->arena,
        "SELECT"
        " (SELECT count(*) FROM login_failures WHERE lower(username) = lower($1)"
        "   AND at > now() - interval '60 seconds'),"
        " (SELECT count(*) FROM login_failures WHERE lower(username) = lower($1)"
        "   AND at > now() - interval '15 minutes'),"
        " (SELECT floor(extract(epoch FROM (now() - max(at))))::int FROM login_failures"
        "   WHERE lower(username) = lower($1) AND at > now() - interval '15 minutes'),"
        " (SELECT count(*) FROM login_failures WHERE client_addr = $2"
        "   AND at > now() - interval '60 seconds'),"
        " (SELECT ceil(extract(epoch FROM (min(at) + interval '60 seconds' - now())))::int"
        "   FROM login_failures WHERE client_addr = $2 AND at > now() - interval '60 seconds')",
        username, req->client_addr);
    if (!r)
        return -1;
    long per_min = atol(PQgetvalue(r, 0, 0));
    long per_15 = atol(PQgetvalue(r, 0, 1));
    long since_last = PQgetisnull(r, 0, 2) ? 0 : atol(PQgetvalue(r, 0, 2));
    long ip_min = atol(PQgetvalue(r, 0, 3));
    long ip_wait = PQgetisnull(r, 0, 4) ? 1 : atol(PQgetvalue(r, 0, 4));
    long wait = 0;
    if (per_min >= 10)
        wait = 60 - since_last > 1 ? 60 - since_last : 1;
    if (per_15 >= 5) {
        long need = per_15 - 5 >= 6 ? 60 : 1L << (per_15 - 5);
        if (need > 60)
            need = 60;
        if (need - since_last > wait)
            wait = need - since_last;
    }
    if (ip_min >= 30 && ip_wait > wait)
        wait = ip_wait > 0 ? ip_wait : 1;
    return (int)(wait > 0 ? wait : 0);
}

void auth_record_failure(Request *req, const char *username)
{
    /* The whole name (forms cap it at 64 characters): the throttle looks it up as typed. */
    db_exec(req->arena, "INSERT INTO login_failures (username, client_addr) VALUES ($1, $2)",
            username, req->client_addr);
}

void auth_clear_failures(Request *req, const char *username)
{
    db_exec(req->arena, "DELETE FROM login_failures WHERE lower(username) = lower($1)", username);
}

bool auth_can(Request *req, const char *perm)
{
    if (!req->user)
        return false;
    if (!perm)
        return true;
    if (req->user->is_admin)
        return true;
    /* perms is sorted by the query; a handful of entries, so a binary search is plenty. */
    int lo = 0, hi = req->user->nperms - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(req->user->perms[mid], perm);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return false;
}
