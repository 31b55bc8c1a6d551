/* audit.h — the audit trail: who did what to which object, from where, with old → new values. */
#ifndef KEXIN_AUDIT_H
#define KEXIN_AUDIT_H

#include "request.h"

/* Changed fields of one operation, collected before writing the audit row. */
typedef struct AuditDiff AuditDiff;

AuditDiff *audit_diff_new(Arena *a);
/* Records field: before → after, only when they differ (NULL counts as ""). */
void audit_diff(AuditDiff *d, const char *field, const char *before, const char *after);
int audit_diff_count(const AuditDiff *d);

/* Writes one audit row for the current user inside the caller's transaction (so a rolled
 * back operation leaves no row). module/action/object_type are constants ("org", "update",
 * "user"); object_id 0 = none; diff may be NULL; result is "ok", "denied" or "failed".
 * Returns 0 or -1. */
int audit_write(Request *req, const char *module, const char *action, const char *object_type,
                long object_id, const char *label, const AuditDiff *diff, const char *result);
/* For an operation that writes thousands of audit rows in one transaction (an import): from
 * audit_batch_begin on, this request's rows are queued and written 1,000 per statement;
 * audit_batch_end writes the rest and must come before the commit (0 or -1). The rows are the
 * same as one by one, in the same order. audit_batch_pending (the front door, at the end of
 * every request) drops a batch someone forgot to end and says so. */
void audit_batch_begin(Request *req);
int audit_batch_end(Request *req);
bool audit_batch_pending(void);
/* Sign-in events (login, logout, login_failed), where the user may be unknown (user_id 0). */
int audit_login(Request *req, long user_id, const char *username, const char *action,
                const char *result);

#endif
