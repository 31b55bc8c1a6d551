/* audit.c — audit rows; the changes are turned into jsonb by PostgreSQL from three text arrays,
 * so no JSON is written by hand. */
#include "audit.h"
#include "db.h"
#include "sqlbuf.h"

#include <stdio.h>
#include <string.h>

#define AUDIT_MAX_FIELDS 64

struct AuditDiff {
    Arena *a;
    const char *field[AUDIT_MAX_FIELDS];
    const char *before[AUDIT_MAX_FIELDS];
    const char *after[AUDIT_MAX_FIELDS];
    int n;
};

AuditDiff *audit_diff_new(Arena *a)
{
    AuditDiff *d = arena_alloc(a, sizeof *d);
    d->a = a;
    return d;
}

void audit_diff(AuditDiff *d, const char *field, const char *before, const char *after)
{
    const char *b = before ? before : "", *f = after ? after : "";
    if (strcmp(b, f) == 0 || d->n >= AUDIT_MAX_FIELDS)
        return;
    d->field[d->n] = field;
    d->before[d->n] = b;
    d->after[d->n] = f;
    d->n++;
}

int audit_diff_count(const AuditDiff *d)
{
    return d ? d->n : 0;
}

static int insert(Request *req, const char *uid, const char *username, const char *module,
                  const char *action, const char *object_type, long object_id, const char *label,
                  const AuditDiff *d, const char *result)
{
    char oid[24] = "";
    if (object_id > 0)
        snprintf(oid, sizeof oid, "%ld", object_id);
    int n = d ? d->n : 0;
    const char *fields = n ? sql_text_array(req->arena, d->field, n) : NULL;
    const char *befores = n ? sql_text_array(req->arena, d->before, n) : NULL;
    const char *afters = n ? sql_text_array(req->arena, d->after, n) : NULL;
    char label_buf[256];
    g_utf8_strncpy(label_buf, label ? label : "", 60);
    PGresult *r = db_exec(req->arena,
        "INSERT INTO audit_log (user_id, username, client_addr, module, action, object_type,"
        " object_id, object_label, changes, result, request_id)"
        " VALUES (NULLIF($1, '')::bigint, $2, $3, $4, $5, $6, NULLIF($7, '')::bigint, $8,"
        "  (SELECT jsonb_object_agg(f, jsonb_build_object('old', o, 'new', v))"
        "     FROM unnest($9::text[], $10::text[], $11::text[]) AS t(f, o, v)),"
        "  $12, $13)",
        uid, username ? username : "", req->client_addr ? req->client_addr : "", module, action,
        object_type ? object_type : "", oid, label_buf, fields, befores, afters, result, req->id);
    return r ? 0 : -1;
}

int audit_write(Request *req, const char *module, const char *action, const char *object_type,
                long object_id, const char *label, const AuditDiff *diff, const char *result)
{
    char uid[24] = "";
    if (req->user)
        snprintf(uid, sizeof uid, "%ld", req->user->id);
    return insert(req, uid, req->user ? req->user->username : "", module, action, object_type,
                  object_id, label, diff, result ? result : "ok");
}

int audit_login(Request *req, long user_id, const char *username, const char *action,
                const char *result)
{
    char uid[24] = "";
    if (user_id > 0)
        snprintf(uid, sizeof uid, "%ld", user_id);
    char name[200];
    g_utf8_strncpy(name, username ? username : "", 64);
    return insert(req, uid, name, "auth", action, "user", user_id, name, NULL, result);
}
