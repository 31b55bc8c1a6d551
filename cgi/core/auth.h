/* auth.h — passwords (argon2id), login throttling and permission checks. */
#ifndef KEXIN_AUTH_H
#define KEXIN_AUTH_H

#include "request.h"

#include <sodium.h>
#include <stdbool.h>

#define AUTH_HASH_MAX crypto_pwhash_STRBYTES

/* argon2id with libsodium's interactive limits (t=2, m=64 MiB: above ASVS' m=19 MiB, t=2).
 * Returns 0 or -1 (out of memory). */
int auth_hash_password(const char *password, char out[AUTH_HASH_MAX]);
bool auth_verify_password(const char *hash, const char *password);
/* Spends the time of a real verification, so unknown user names answer as slowly. */
void auth_verify_dummy(const char *password);
/* Why a new password is not acceptable (English msgid), or NULL when it is. */
const char *auth_password_problem(const char *password, const char *username);
/* A random password of 16 characters from an unambiguous alphabet; caller g_free()s. */
char *auth_random_password(void);

/* Seconds the caller must wait before another login attempt for this account from this
 * address (0 = go ahead), from recorded failures. -1 when the database failed. */
int auth_throttle_wait(Request *req, const char *username);
void auth_record_failure(Request *req, const char *username);
void auth_clear_failures(Request *req, const char *username);

/* Whether the current user holds permission perm ("module.action"); NULL = any user. */
bool auth_can(Request *req, const char *perm);

#endif
