/* audit.c — audit rows; the changes are turned into jsonb by PostgreSQL from three text arrays,
 * so no JSON is written by hand. */
#include "audit.h"
#include "db.h"
#include "sqlbuf.h"

#include <glib.h>
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

/* Every audit row goes through one queue and one INSERT: written at once (a queue of one) unless
 * audit_batch_begin collects them, then AUDIT_BATCH rows per statement. Everything is copied (an
 * import swaps its arena every few hundred rows). The changes of all rows travel as four
 * parallel arrays (row number, field, old, new) and are grouped back into one jsonb per row by
 * PostgreSQL. */
#define AUDIT_BATCH 1000
static struct {
    bool on;
    const Request *req;
    GPtrArray *cols[8]; /* uid, username, module, action, object_type, object_id, label, result */
    GPtrArray *ch_row, *ch_field, *ch_old, *ch_new;
    int rows;
} batch;

static GPtrArray *strings(void)
{
    return g_ptr_array_new_with_free_func(g_free);
}

static void batch_clear(void)
{
    for (int c = 0; c < 8; c++)
        if (batch.cols[c])
            g_ptr_array_set_size(batch.cols[c], 0);
    GPtrArray *ch[] = {batch.ch_row, batch.ch_field, batch.ch_old, batch.ch_new};
    for (int i = 0; i < 4; i++)
        if (ch[i])
            g_ptr_array_set_size(ch[i], 0);
    batch.rows = 0;
}

static const char *array_of(Request *req, GPtrArray *a)
{
    return sql_text_array(req->arena, (const char *const *)a->pdata, (int)a->len);
}

static int flush_batch(Request *req)
{
    if (!batch.rows)
        return 0;
    PGresult *r = db_exec(req->arena,
        "INSERT INTO audit_log (user_id, username, client_addr, module, action, object_type,"
        " object_id, object_label, changes, result, request_id)"
        " SELECT NULLIF(t.uid, '')::bigint, t.username, $8, t.module, t.action, t.object_type,"
        "        NULLIF(t.object_id, '')::bigint, t.label, c.changes, t.result, $9"
        "   FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],"
        "               $14::text[])"
        "        WITH ORDINALITY AS t(uid, username, module, action, object_type, object_id, label, result, n)"
        "   LEFT JOIN (SELECT x.r, jsonb_object_agg(x.f, jsonb_build_object('old', x.o, 'new', x.v)) AS changes"
        "                FROM unnest($10::int[], $11::text[], $12::text[], $13::text[]) AS x(r, f, o, v)"
        "               GROUP BY x.r) c ON c.r = t.n"
        "  ORDER BY t.n",
        array_of(req, batch.cols[0]), array_of(req, batch.cols[1]), array_of(req, batch.cols[2]),
        array_of(req, batch.cols[3]), array_of(req, batch.cols[4]), array_of(req, batch.cols[5]),
        array_of(req, batch.cols[6]), req->client_addr ? req->client_addr : "", req->id,
        array_of(req, batch.ch_row), array_of(req, batch.ch_field), array_of(req, batch.ch_old),
        array_of(req, batch.ch_new), array_of(req, batch.cols[7]));
    batch_clear();
    return r ? 0 : -1;
}

static void batch_arrays(void)
{
    for (int c = 0; c < 8; c++)
        if (!batch.cols[c])
            batch.cols[c] = strings();
    GPtrArray **ch[] = {&batch.ch_row, &batch.ch_field, &batch.ch_old, &batch.ch_new};
    for (int i = 0; i < 4; i++)
        if (!*ch[i])
            *ch[i] = strings();
}

void audit_batch_begin(Request *req)
{
    batch_arrays();
    batch_clear();
    batch.on = true;
    batch.req = req;
}

int audit_batch_end(Request *req)
{
    int rc = batch.on && batch.req == req ? flush_batch(req) : 0;
    batch.on = false;
    batch.req = NULL;
    return rc;
}

bool audit_batch_pending(void)
{
    bool pending = batch.on;
    batch_clear();
    batch.on = false;
    batch.req = NULL;
    return pending;
}

/* Queues one row; writes the queue now unless this request collects a batch (then every
 * AUDIT_BATCH rows). */
static int queue(Request *req, const char *uid, const char *username, const char *module,
                 const char *action, const char *object_type, long object_id, const char *label,
                 const AuditDiff *d, const char *result)
{
    char oid[24] = "", row[16];
    if (object_id > 0)
        snprintf(oid, sizeof oid, "%ld", object_id);
    char label_buf[256];
    g_utf8_strncpy(label_buf, label ? label : "", 60);
    const char *vals[8] = {uid, username ? username : "", module, action, object_type ? object_type : "",
                           oid, label_buf, result ? result : "ok"};
    batch_arrays();
    for (int c = 0; c < 8; c++)
        g_ptr_array_add(batch.cols[c], g_strdup(vals[c]));
    batch.rows++;
    snprintf(row, sizeof row, "%d", batch.rows);
    for (int i = 0; d && i < d->n; i++) {
        g_ptr_array_add(batch.ch_row, g_strdup(row));
        g_ptr_array_add(batch.ch_field, g_strdup(d->field[i]));
        g_ptr_array_add(batch.ch_old, g_strdup(d->before[i]));
        g_ptr_array_add(batch.ch_new, g_strdup(d->after[i]));
    }
    bool collecting = batch.on && batch.req == req;
    return !collecting || batch.rows >= AUDIT_BATCH ? flush_batch(req) : 0;
}

int audit_write(Request *req, const char *module, const char *action, const char *object_type,
                long object_id, const char *label, const AuditDiff *diff, const char *result)
{
    char uid[24] = "";
    if (req->user)
        snprintf(uid, sizeof uid, "%ld", req->user->id);
    return queue(req, uid, req->user ? req->user->username : "", module, action, object_type, object_id,
                 label, diff, result);
}

int audit_login(Request *req, long user_id, const char *username, const char *action,
                const char *result)
{
    char uid[24] = "";
    if (user_id > 0)
        snprintf(uid, sizeof uid, "%ld", user_id);
    char name[200];
    g_utf8_strncpy(name, username ? username : "", 64);
    return queue(req, uid, name, "auth", action, "user", user_id, name, NULL, result);
}
