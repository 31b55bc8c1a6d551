/* customer_rights.c — customer permissions (客户权限, M14): batch share and unshare, assign, transfer
 * (also all of one person's customers at once), and the public pool (公海) with release and claim
 * under a per-person limit. Who may see or change a customer comes from customers.h
 * (customers_access): nothing here derives visibility itself. Every change is one transaction
 * that first locks the customers it touches (in id order, so two batches never deadlock), checks
 * the access again under the lock, and writes one audit row per changed customer (module
 * "customers", object "customer"), which the customer's history shows. */
#include "customers.h"

#include "../core/audit.h"
#include "../core/auth.h"
#include "../core/config.h"
#include "../core/db.h"
#include "../core/i18n.h"
#include "../core/listing.h"
#include "../core/perm.h"
#include "../core/response.h"
#include "../core/router.h"
#include "../core/scope.h"

#include <stdlib.h>
#include <string.h>

#define BATCH_MAX 500        /* customers per batch form */
#define SHARE_USERS_MAX 100  /* colleagues per share */
#define PICK_MAX 2000        /* people offered in a select */
#define REASON_MAX 200       /* characters of a transfer or release reason */
#define FLASH_MAX 280        /* bytes of a flash message (the cookie takes < 300) */
#define ID_MAX 999999999999999999L

/* Claims count against the limit for this long (the pool page says so). */
#define CLAIM_WINDOW "30 days"

/* A person's name as lists show it (display name, else user name); u is a constant alias. */
#define USER_NAME(u) "coalesce(nullif(" u ".display_name, ''), " u ".username, '')"
/* A person in a select: "李明 (liming)", or the user name alone. */
#define USER_LABEL(u)                                                                           \
    "CASE WHEN " u ".display_name <> '' AND " u ".display_name <> " u ".username"              \
    " THEN " u ".display_name || ' (' || " u ".username || ')' ELSE " u ".username END"

/* ==== operations ============================================================================ */

typedef enum { OP_SHARE, OP_ASSIGN, OP_TRANSFER, OP_RELEASE, OP_CLAIM, OP__MAX } Op;

static const struct {
    const char *code;  /* the audit action, and the batch template's switch */
    const char *title; /* English msgid */
    const char *apply; /* where the batch page posts */
} op_defs[OP__MAX] = {
    [OP_SHARE] = {"share", N_("Share customers"), "/customers/batch/share/apply"},
    [OP_ASSIGN] = {"assign", N_("Assign customers"), "/customers/batch/assign/apply"},
    [OP_TRANSFER] = {"transfer", N_("Transfer customers"), "/customers/batch/transfer/apply"},
    [OP_RELEASE] = {"release", N_("Release to the public pool"), "/customers/batch/release/apply"},
    [OP_CLAIM] = {"claim", N_("Claim from the public pool"), "/customers/batch/claim"},
};

/* What became of one customer of a batch. */
typedef enum {
    FIT_OK,        /* eligible (before) / changed (after) */
    FIT_SAME,      /* eligible, but nothing to change (already so) */
    FIT_NOT_FOUND, /* does not exist, or outside the caller's visibility */
    FIT_READ_ONLY, /* visible (shared for reading), not writable */
    FIT_SHARED,    /* writable through a share only: not the caller's to hand over */
    FIT_POOL,      /* in the public pool: claim or assign it first */
    FIT_OWNED,     /* assign: already has an owner (transfer it instead) */
    FIT_TAKEN,     /* claim: no longer in the pool */
    FIT__MAX
} Fit;

/* How the customers left out of a batch are counted for people ("2 not found"). */
static const char *const fit_msgs[FIT__MAX] = {
    [FIT_SAME] = N_("%d unchanged"),
    [FIT_NOT_FOUND] = N_("%d not found"),
    [FIT_READ_ONLY] = N_("%d read-only for you"),
    [FIT_SHARED] = N_("%d only shared with you"),
    [FIT_POOL] = N_("%d in the public pool"),
    [FIT_OWNED] = N_("%d already have an owner (use Transfer)"),
    [FIT_TAKEN] = N_("%d no longer in the pool"),
};

/* The customers of one batch form: distinct ids, ascending (the lock order). */
typedef struct Batch {
    long *ids;
    int n;
    Fit *fit;
    int count[FIT__MAX];
} Batch;

/* What an operation applies besides the customers. */
typedef struct Params {
    const char *owner_id; /* assign, transfer: the new owner */
    const char *reason;   /* transfer, release: recorded in the history ("" = none) */
    const char *users;    /* share: PG array literal of colleague ids */
    bool write;           /* share: read and write */
    long claim_left;      /* claim: how many more the caller may claim (set by apply_batch) */
    long claim_limit;
} Params;

/* ==== fields ================================================================================ */

static const Choice share_modes[] = {
    {"read", N_("Read only")},
    {"write", N_("Read and write")},
    {NULL, NULL},
};

static const FieldDef share_fields[] = {
    {"mode", N_("Access rights"), F_SELECT, F_REQUIRED, 8, 0, 0, share_modes, NULL,
     N_("Read and write lets them edit the customer and its contacts too.")},
    {NULL},
};

static const FieldDef owner_fields[] = {
    {"owner_id", N_("New owner"), F_INT, F_REQUIRED, 20, 1, ID_MAX, NULL, NULL,
     N_("People in your data scope.")},
    {"reason", N_("Reason"), F_TEXT, 0, REASON_MAX, 0, 0, NULL, "off",
     N_("Recorded in each customer's history.")},
    {NULL},
};

static const FieldDef release_fields[] = {
    {"reason", N_("Reason"), F_TEXT, 0, REASON_MAX, 0, 0, NULL, "off",
     N_("Recorded in each customer's history.")},
    {NULL},
};

static const FieldDef transfer_all_fields[] = {
    {"from_id", N_("Customers of"), F_INT, F_REQUIRED, 20, 1, ID_MAX, NULL, NULL,
     N_("People in your data scope who own customers; disabled accounts included.")},
    {"to_id", N_("Hand them to"), F_INT, F_REQUIRED, 20, 1, ID_MAX, NULL, NULL, NULL},
    {"reason", N_("Reason"), F_TEXT, 0, REASON_MAX, 0, 0, NULL, "off",
     N_("Recorded in each customer's history, e.g. “Left the company”.")},
    {NULL},
};

/* ==== SQL =================================================================================== */

static const char LOCK_SQL[] =
    "SELECT id FROM customers WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE";

/* The colleagues a customer is shared with, as the audit trail records them. */
static const char SHARES_TEXT_SQL[] =
    "SELECT coalesce(string_agg(" USER_NAME("u") " || CASE WHEN s.can_write THEN ' (rw)' ELSE '' END,"
    "                           ', ' ORDER BY lower(" USER_NAME("u") "), u.id), '')"
    "  FROM customer_shares s JOIN users u ON u.id = s.user_id WHERE s.customer_id = $1";

/* Shares customer $1 with the users of $2 (read and write when $3) on behalf of $4; its owner
 * needs no share. An existing share keeps its date unless its access changes. */
static const char SHARE_UPSERT_SQL[] =
    "INSERT INTO customer_shares (customer_id, user_id, can_write, granted_by)"
    " SELECT $1::bigint, u, $3::boolean, $4::bigint FROM unnest($2::bigint[]) AS u"
    "  WHERE u IS DISTINCT FROM (SELECT owner_id FROM customers WHERE id = $1::bigint)"
    " ON CONFLICT (customer_id, user_id) DO UPDATE"
    "   SET can_write = EXCLUDED.can_write, granted_by = EXCLUDED.granted_by, granted_at = now()"
    " WHERE customer_shares.can_write IS DISTINCT FROM EXCLUDED.can_write";

static const char UNSHARE_SQL[] =
    "DELETE FROM customer_shares WHERE customer_id = $1 AND user_id = $2";

static const char SHARES_DROP_SQL[] = "DELETE FROM customer_shares WHERE customer_id = $1";

/* Gives customer $1 to owner $2 when `cond` holds; returns the name and both owners' names. */
#define OWNER_CHANGE_SQL(cond)                                                                  \
    "WITH old AS (SELECT c.id, " USER_NAME("u") " AS owner FROM customers c"                   \
    "               LEFT JOIN users u ON u.id = c.owner_id WHERE c.id = $1::bigint)"           \
    " UPDATE customers c SET owner_id = $2::bigint, pool_since = NULL,"                        \
    "        version = c.version + 1, updated_at = now()"                                      \
    "  FROM old WHERE c.id = old.id AND c.owner_id IS DISTINCT FROM $2::bigint AND " cond      \
    " RETURNING c.name, old.owner, (SELECT " USER_NAME("n") " FROM users n WHERE n.id = $2::bigint)"

/* Assign: from the pool, or a customer the caller ($3) holds themselves. */
static const char ASSIGN_SQL[] = OWNER_CHANGE_SQL("(c.owner_id IS NULL OR c.owner_id = $3::bigint)");
static const char TRANSFER_SQL[] = OWNER_CHANGE_SQL("c.owner_id IS NOT NULL");
/* Two people claiming at once: the second waits for the first's row lock, then finds an owner. */
static const char CLAIM_SQL[] = OWNER_CHANGE_SQL("c.owner_id IS NULL");

static const char RELEASE_SQL[] =
    "WITH old AS (SELECT c.id, " USER_NAME("u") " AS owner FROM customers c"
    "               LEFT JOIN users u ON u.id = c.owner_id WHERE c.id = $1::bigint)"
    " UPDATE customers c SET owner_id = NULL, pool_since = now(), version = c.version + 1,"
    "        updated_at = now()"
    "  FROM old WHERE c.id = old.id AND c.owner_id IS NOT NULL"
    " RETURNING c.name, old.owner";

/* The caller's claim limit; the row lock serialises one person's claims, so two at once cannot
 * both pass the count. NO KEY: foreign keys to users (audit rows, owners) need not wait. */
static const char CLAIM_LOCK_SQL[] =
    "SELECT pool_claim_limit FROM users WHERE id = $1 FOR NO KEY UPDATE";

/* Customers the caller claimed from the pool within the window and still owns. */
static const char CLAIMED_SQL[] =
    "SELECT count(DISTINCT a.object_id) FROM audit_log a"
    "  JOIN customers c ON c.id = a.object_id AND c.owner_id = a.user_id"
    " WHERE a.user_id = $1 AND a.module = 'customers' AND a.action = 'claim'"
    "   AND a.object_type = 'customer' AND a.result = 'ok'"
    "   AND a.at > now() - interval '" CLAIM_WINDOW "'";

static const char CLAIM_LIMIT_SQL[] = "SELECT pool_claim_limit FROM users WHERE id = $1";

/* Whether customer $1 left the pool a short while ago (so a late claimer hears "taken", not
 * "not found": everyone with customers.view could see it in the pool). */
static const char RECENTLY_TAKEN_SQL[] =
    "SELECT 1 FROM audit_log WHERE object_type = 'customer' AND object_id = $1"
    "   AND module = 'customers' AND action IN ('claim', 'assign') AND result = 'ok'"
    "   AND at > now() - interval '1 hour' LIMIT 1";

/* The customers a batch page lists (only ids the caller may act on reach it). */
static const char BATCH_ROWS_SQL[] =
    "SELECT c.id, c.code, c.name, " USER_NAME("u") " AS owner,"
    "       coalesce((SELECT string_agg(" USER_NAME("su") ", ', ' ORDER BY lower(" USER_NAME("su") "), su.id)"
    "                   FROM customer_shares s JOIN users su ON su.id = s.user_id"
    "                  WHERE s.customer_id = c.id), '') AS shares"
    "  FROM customers c LEFT JOIN users u ON u.id = c.owner_id"
    " WHERE c.id = ANY($1::bigint[]) ORDER BY c.name, c.id";

/* Every active colleague but the caller, any department, grouped by department for a
 * multi-select ($2: the ids to preselect, $3: the label of "no department"). */
static const char COLLEAGUES_SQL[] =
    "SELECT uid, ulabel, udept,"
    "       CASE WHEN lag(udept) OVER w IS DISTINCT FROM udept THEN '1' ELSE '' END AS ufirst,"
    "       CASE WHEN lead(udept) OVER w IS DISTINCT FROM udept THEN '1' ELSE '' END AS ulast,"
    "       usel FROM ("
    "  SELECT u.id::text AS uid, " USER_LABEL("u") " AS ulabel, coalesce(d.name, $3) AS udept,"
    "         d.id IS NULL AS no_dept, lower(" USER_NAME("u") ") AS sort_name, u.id,"
    "         CASE WHEN u.id = ANY($2::bigint[]) THEN '1' ELSE '' END AS usel"
    "    FROM users u LEFT JOIN departments d ON d.id = u.department_id"
    "   WHERE u.active AND u.id <> $1::bigint) x"
    " WINDOW w AS (ORDER BY no_dept, lower(udept), udept, sort_name, id)"
    " ORDER BY no_dept, lower(udept), udept, sort_name, id LIMIT 2000";

static const char SHARES_OF_SQL[] =
    "SELECT s.user_id::text AS uid, " USER_LABEL("u") " AS name, coalesce(d.name, '') AS department,"
    "       CASE WHEN s.can_write THEN '1' ELSE '' END AS can_write,"
    "       CASE WHEN u.active THEN '' ELSE '1' END AS inactive,"
    "       coalesce(" USER_NAME("g") ", '') AS granted_by,"
    "       to_char(s.granted_at AT TIME ZONE $2::text, 'YYYY-MM-DD HH24:MI') AS granted_at"
    "  FROM customer_shares s JOIN users u ON u.id = s.user_id"
    "  LEFT JOIN departments d ON d.id = u.department_id LEFT JOIN users g ON g.id = s.granted_by"
    " WHERE s.customer_id = $1 ORDER BY lower(" USER_NAME("u") "), u.id";

static const char CUSTOMER_HEAD_SQL[] =
    "SELECT c.name, c.code, " USER_NAME("u") " AS owner FROM customers c"
    "  LEFT JOIN users u ON u.id = c.owner_id WHERE c.id = $1";

/* ==== small helpers ========================================================================= */

/* People choose an owner only when their scope reaches beyond themselves (as customers.c). */
static bool may_choose_owner(Request *req)
{
    return req->user->is_admin || req->user->scope > SCOPE_OWN;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

/* A PG array literal of ids ("{3,7}"). */
static const char *ids_literal(Request *req, const long *ids, int n)
{
    GString *s = g_string_new("{");
    for (int i = 0; i < n; i++)
        g_string_append_printf(s, "%s%ld", i ? "," : "", ids[i]);
    g_string_append_c(s, '}');
    char *out = arena_strdup(req->arena, s->str);
    g_string_free(s, TRUE);
    return out;
}

/* Reads the repeated `name` fields of the posted form as distinct ascending ids. Returns their
 * number (0: none), or -1 when one is not a positive integer or there are more than max. */
static int read_id_list(Request *req, const char *name, int max, long **out)
{
    long *ids = arena_alloc(req->arena, sizeof(long) * (size_t)(req->form.n + 1));
    int n = 0;
    for (int i = 0; i < req->form.n; i++) {
        if (strcmp(req->form.items[i].name, name) != 0)
            continue;
        if (!customers_parse_id(req->form.items[i].value, &ids[n]))
            return -1;
        n++;
    }
    qsort(ids, (size_t)n, sizeof *ids, cmp_long);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (k == 0 || ids[k - 1] != ids[i])
            ids[k++] = ids[i];
    if (k > max)
        return -1;
    *out = ids;
    return k;
}

static int read_batch(Request *req, Batch *b)
{
    memset(b, 0, sizeof *b);
    int n = read_id_list(req, "id", BATCH_MAX, &b->ids);
    if (n < 0)
        return -1;
    b->n = n;
    b->fit = arena_alloc(req->arena, sizeof(Fit) * (size_t)(n + 1));
    return n;
}

static Batch *batch_of_one(Request *req, long id)
{
    Batch *b = arena_alloc(req->arena, sizeof *b);
    b->ids = arena_alloc(req->arena, sizeof(long));
    b->ids[0] = id;
    b->n = 1;
    b->fit = arena_alloc(req->arena, sizeof(Fit));
    return b;
}

/* Where to go back to: a customers page the form named (the list with its filters, the pool),
 * else fallback. */
static const char *back_of(Request *req, const char *fallback)
{
    const char *b = req_form(req, "back");
    if (!b)
        b = req_query(req, "back");
    return b && strlen(b) < 2000 && resp_local_path(b) && strncmp(b, "/customers", 10) == 0 ? b
                                                                                            : fallback;
}

/* A message with one %d, translated. */
static const char *tr_count(Request *req, const char *msgid, long n)
{
    return arena_printf(req->arena, i18n_get(req->lang, msgid), (int)n);
}

/* "Left out: 2 not found, 1 read-only for you." — or "" when the batch left nothing out. */
static const char *left_out_text(Request *req, const int count[FIT__MAX])
{
    bool zh = strcmp(req->lang, "en") != 0;
    GString *s = g_string_new(NULL);
    for (int f = FIT_SAME; f < FIT__MAX; f++)
        if (count[f] > 0)
            g_string_append_printf(s, "%s%s", s->len ? (zh ? "，" : ", ") : "",
                                   tr_count(req, fit_msgs[f], count[f]));
    const char *out = s->len ? arena_printf(req->arena, i18n_get(req->lang, N_("Left out: %s.")), s->str) : "";
    g_string_free(s, TRUE);
    return out;
}

/* Carries "<main> <left out>" over the redirect (already translated: the catalogue lookup on
 * the next page finds nothing and shows it as it is). */
static void flash_result(Request *req, const char *kind, const char *main, const Batch *b)
{
    const char *rest = b ? left_out_text(req, b->count) : "";
    const char *sep = strcmp(req->lang, "en") == 0 ? " " : "";
    const char *text = *rest ? arena_printf(req->arena, "%s%s%s", main, sep, rest) : main;
    resp_flash(req, kind, strlen(text) <= FLASH_MAX ? text : main);
}

/* The caller's claim limit and how many of it the window has used. Returns 0 or -1. */
static int claim_usage(Request *req, bool lock, long *limit, long *used)
{
    const char *me = req_id_text(req, req->user->id);
    PGresult *l = db_exec(req->arena, lock ? CLAIM_LOCK_SQL : CLAIM_LIMIT_SQL, me);
    PGresult *u = l ? db_exec(req->arena, CLAIMED_SQL, me) : NULL;
    if (!u || PQntuples(l) != 1)
        return -1;
    *limit = atol(PQgetvalue(l, 0, 0));
    *used = atol(PQgetvalue(u, 0, 0));
    return 0;
}

/* ==== who may do what to one customer ======================================================= */

/* Classifies customer id for op with the one visibility rule (customers_access); *name gets its
 * name when the caller may know it. Returns the fit, or -1 on a database failure. */
static int classify(Request *req, Op op, long id, const char **name)
{
    CustomerAccess acc;
    if (customers_access(req, id, &acc) < 0)
        return -1;
    *name = NULL;
    if (!acc.exists)
        return FIT_NOT_FOUND;
    if (!acc.visible && !acc.pool) {
        if (op != OP_CLAIM)
            return FIT_NOT_FOUND;
        PGresult *r = db_exec(req->arena, RECENTLY_TAKEN_SQL, req_id_text(req, id));
        if (!r)
            return -1;
        return PQntuples(r) ? FIT_TAKEN : FIT_NOT_FOUND;
    }
    *name = acc.name;
    switch (op) {
    case OP_CLAIM:
        return acc.pool ? FIT_OK : FIT_TAKEN;
    case OP_ASSIGN: {
        if (acc.pool)
            return FIT_OK;
        if (!acc.in_scope)
            return FIT_SHARED;
        if (!acc.writable)
            return FIT_READ_ONLY;
        /* A customer that has an owner is assigned only by that owner ("just created"). */
        PGresult *r = db_exec(req->arena, "SELECT owner_id = $2::bigint FROM customers WHERE id = $1",
                              req_id_text(req, id), req_id_text(req, req->user->id));
        if (!r || PQntuples(r) != 1)
            return -1;
        return PQgetvalue(r, 0, 0)[0] == 't' ? FIT_OK : FIT_OWNED;
    }
    case OP_SHARE:
        if (acc.pool)
            return FIT_POOL;
        return acc.writable ? FIT_OK : FIT_READ_ONLY;
    case OP_TRANSFER:
    case OP_RELEASE:
        if (acc.pool)
            return FIT_POOL;
        if (!acc.in_scope)
            return FIT_SHARED;
        return acc.writable ? FIT_OK : FIT_READ_ONLY;
    default:
        return FIT_NOT_FOUND;
    }
}

/* Classifies every customer of b (fills b->fit and b->count). Returns the number eligible or -1. */
static int classify_batch(Request *req, Op op, Batch *b)
{
    memset(b->count, 0, sizeof b->count);
    for (int i = 0; i < b->n; i++) {
        const char *name;
        int fit = classify(req, op, b->ids[i], &name);
        if (fit < 0)
            return -1;
        b->fit[i] = (Fit)fit;
        b->count[fit]++;
    }
    return b->count[FIT_OK];
}

/* ==== the changes =========================================================================== */

static const char *shares_text(Request *req, const char *sid)
{
    PGresult *r = db_exec(req->arena, SHARES_TEXT_SQL, sid);
    return r && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : NULL;
}

/* Applies op to one eligible, locked customer with its audit row. Returns FIT_OK (changed),
 * FIT_SAME / FIT_TAKEN / FIT_POOL (nothing to change), or -1 (database). */
static int apply_one(Request *req, Op op, long id, const char *name, const Params *p)
{
    Arena *a = req->arena;
    const char *sid = req_id_text(req, id), *me = req_id_text(req, req->user->id);
    AuditDiff *d = audit_diff_new(a);
    PGresult *r = NULL;
    switch (op) {
    case OP_SHARE: {
        const char *old = shares_text(req, sid);
        if (!old || !db_exec(a, SHARE_UPSERT_SQL, sid, p->users, p->write ? "true" : "false", me))
            return -1;
        const char *now = shares_text(req, sid);
        if (!now)
            return -1;
        audit_diff(d, "shares", old, now);
        if (!audit_diff_count(d))
            return FIT_SAME;
        return audit_write(req, "customers", "share", "customer", id, name, d, "ok") < 0 ? -1 : FIT_OK;
    }
    case OP_ASSIGN:
        r = db_exec(a, ASSIGN_SQL, sid, p->owner_id, me);
        break;
    case OP_TRANSFER:
        r = db_exec(a, TRANSFER_SQL, sid, p->owner_id);
        break;
    case OP_CLAIM:
        r = db_exec(a, CLAIM_SQL, sid, me);
        break;
    case OP_RELEASE: {
        const char *old = shares_text(req, sid);
        r = old ? db_exec(a, RELEASE_SQL, sid) : NULL;
        if (!r)
            return -1;
        if (PQntuples(r) != 1)
            return FIT_POOL;
        if (!db_exec(a, SHARES_DROP_SQL, sid))
            return -1;
        audit_diff(d, "owner", PQgetvalue(r, 0, 1), "");
        audit_diff(d, "shares", old, "");
        audit_diff(d, "reason", "", p->reason);
        return audit_write(req, "customers", "release", "customer", id, PQgetvalue(r, 0, 0), d, "ok") < 0
                   ? -1
                   : FIT_OK;
    }
    default:
        return -1;
    }
    if (!r)
        return -1;
    if (PQntuples(r) != 1)
        return op == OP_CLAIM ? FIT_TAKEN : FIT_SAME;
    audit_diff(d, "owner", PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
    audit_diff(d, "reason", "", p->reason);
    return audit_write(req, "customers", op_defs[op].code, "customer", id, PQgetvalue(r, 0, 0), d, "ok") < 0
               ? -1
               : FIT_OK;
}

enum { APPLY_DB = -1, APPLY_LIMIT = -2 };

/* Runs op on every customer of b in one transaction: locks them (id order), classifies each
 * again under the lock, changes the eligible ones. b->fit and b->count end up telling what
 * became of each (FIT_OK = changed). For claims, p->claim_left/claim_limit are filled and the
 * whole batch is refused when it would exceed the limit. Returns the number changed (committed),
 * APPLY_DB or APPLY_LIMIT (rolled back). */
static int apply_batch(Request *req, Op op, Batch *b, Params *p)
{
    Arena *a = req->arena;
    if (db_begin(a) < 0)
        return APPLY_DB;
    if (op == OP_CLAIM) {
        long used;
        if (claim_usage(req, true, &p->claim_limit, &used) < 0)
            goto fail;
        p->claim_left = p->claim_limit > used ? p->claim_limit - used : 0;
    }
    if (!db_exec(a, LOCK_SQL, ids_literal(req, b->ids, b->n)))
        goto fail;
    memset(b->count, 0, sizeof b->count);
    for (int i = 0; i < b->n; i++) {
        const char *name;
        int fit = classify(req, op, b->ids[i], &name);
        if (fit == FIT_OK)
            fit = apply_one(req, op, b->ids[i], name, p);
        if (fit < 0)
            goto fail;
        b->fit[i] = (Fit)fit;
        b->count[fit]++;
    }
    if (op == OP_CLAIM && b->count[FIT_OK] > p->claim_left) {
        db_rollback(a);
        return APPLY_LIMIT;
    }
    if (b->count[FIT_OK] == 0) {
        db_rollback(a); /* nothing changed: nothing to keep */
        return 0;
    }
    if (db_commit(a) < 0)
        goto fail;
    return b->count[FIT_OK];
fail:
    db_rollback(a);
    return APPLY_DB;
}

/* ==== option lists ========================================================================== */

/* Active people in the caller's scope, as (value, label) rows for customers_push_select. */
static PGresult *owner_options(Request *req)
{
    SqlBuf *q = sql_new(req->arena, "SELECT u.id::text, " USER_LABEL("u") " FROM users u WHERE u.active AND ");
    if (scope_filter(req, q, "u.id", NULL) < 0)
        return NULL;
    sql_add(q, arena_printf(req->arena, " ORDER BY lower(" USER_NAME("u") "), u.id LIMIT %d", PICK_MAX));
    return sql_exec_prepared(q);
}

/* Whether user id is active and in the caller's scope: a valid new owner. Returns 1, 0 or -1. */
static int valid_owner(Request *req, const char *id)
{
    long uid;
    if (!customers_parse_id(id, &uid))
        return 0;
    PGresult *r = db_exec(req->arena, "SELECT active FROM users WHERE id = $1::bigint", id);
    if (!r)
        return -1;
    return PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't' && scope_sees_user(req, uid);
}

/* ==== batch pages =========================================================================== */

/* Renders the confirmation page of a batch: the eligible customers (as hidden ids too), what is
 * left out, and the operation's fields. f is the operation's form (NULL for none); users the
 * colleagues to preselect (share). */
static void render_batch(Request *req, Op op, const Batch *b, Form *f, const char *users,
                         const char *users_error, int status)
{
    long *ok = arena_alloc(req->arena, sizeof(long) * (size_t)(b->n + 1));
    int nok = 0;
    for (int i = 0; i < b->n; i++)
        if (b->fit[i] == FIT_OK)
            ok[nok++] = b->ids[i];
    PGresult *rows = db_exec(req->arena, BATCH_ROWS_SQL, ids_literal(req, ok, nok));
    PGresult *colleagues = op == OP_SHARE
        ? db_exec(req->arena, COLLEAGUES_SQL, req_id_text(req, req->user->id), users ? users : "{}",
                  i18n_get(req->lang, N_("No department")))
        : NULL;
    PGresult *owners = op == OP_ASSIGN || op == OP_TRANSFER ? owner_options(req) : NULL;
    if (!rows || (op == OP_SHARE && !colleagues) ||
        ((op == OP_ASSIGN || op == OP_TRANSFER) && !owners)) {
        resp_error(req, 503);
        return;
    }
    View *v = view_new(req);
    view_set_tr(v, "title", op_defs[op].title);
    view_set(v, "op", op_defs[op].code);
    view_set(v, "apply_url", op_defs[op].apply);
    view_set(v, "back", back_of(req, op == OP_ASSIGN ? "/customers/pool" : "/customers"));
    view_set(v, "skipped", left_out_text(req, b->count));
    view_set_rows(v, "rows", rows);
    view_set_int(v, "n_rows", PQntuples(rows));
    view_set_rows(v, "users", colleagues);
    if (!colleagues) {
        static const char *const cols[] = {"uid", "ulabel", "udept", "ufirst", "ulast", "usel", NULL};
        view_set_columns(v, cols);
    }
    view_set(v, "users_error", users_error ? i18n_get(req->lang, users_error) : "");
    view_set_trusted_html(v, "f_mode", "");
    view_set_trusted_html(v, "f_owner_id", "");
    view_set_trusted_html(v, "f_reason", "");
    view_set_int(v, "form_errors", 0);
    if (f) {
        form_push(f, v);
        if (owners)
            customers_push_select(f, v, "owner_id", owners, N_("— Choose —"));
    }
    view_set_int(v, "has_transfer_all", op == OP_TRANSFER);
    view_render(req, v, "rights/batch", status);
}

static Form *op_form(Request *req, Op op)
{
    switch (op) {
    case OP_SHARE:
        return form_new(req, share_fields);
    case OP_ASSIGN:
    case OP_TRANSFER:
        return form_new(req, owner_fields);
    case OP_RELEASE:
        return form_new(req, release_fields);
    default:
        return NULL;
    }
}

/* Assign and transfer hand customers to someone in the caller's scope: meaningless (and refused)
 * for people who see only their own records. */
static bool op_allowed(Request *req, Op op)
{
    return (op != OP_ASSIGN && op != OP_TRANSFER) || may_choose_owner(req);
}

/* Reads and classifies the batch of a list's form. Answers itself and returns false for: 400 (an
 * id that is not one, more than BATCH_MAX), 303 back (none chosen, or none the caller may act
 * on), 404 (none found), 403 (assign/transfer without a scope beyond oneself), 503. */
static bool batch_or_answer(Request *req, Op op, Batch *b)
{
    if (!op_allowed(req, op)) {
        resp_error(req, 403);
        return false;
    }
    int n = read_batch(req, b);
    if (n < 0) {
        resp_error(req, 400);
        return false;
    }
    const char *back = back_of(req, op == OP_ASSIGN || op == OP_CLAIM ? "/customers/pool" : "/customers");
    if (n == 0) {
        resp_flash(req, "error", N_("Select at least one customer first."));
        resp_redirect(req, back);
        return false;
    }
    int ok = classify_batch(req, op, b);
    if (ok < 0) {
        resp_error(req, 503);
        return false;
    }
    if (ok == 0) {
        if (b->count[FIT_NOT_FOUND] == b->n) {
            resp_error(req, 404);
            return false;
        }
        flash_result(req, "error", i18n_get(req->lang, N_("Nothing to do.")), b);
        resp_redirect(req, back);
        return false;
    }
    return true;
}

/* POST /customers/batch/{share,assign,transfer,release} (the `id` fields of a list's batch form):
 * 200 the confirmation page with the customers the caller may act on and the operation's fields;
 * 303 back when none is chosen or none qualifies; 404 when none is found; 400; 403. */
static void batch_page(Request *req, Op op)
{
    Batch b;
    if (!batch_or_answer(req, op, &b))
        return;
    Form *f = op_form(req, op);
    if (op == OP_SHARE)
        form_set(f, "mode", "read");
    render_batch(req, op, &b, f, NULL, NULL, 200);
}

static void share_page(Request *req)
{
    batch_page(req, OP_SHARE);
}

static void assign_page(Request *req)
{
    batch_page(req, OP_ASSIGN);
}

static void transfer_page(Request *req)
{
    batch_page(req, OP_TRANSFER);
}

static void release_page(Request *req)
{
    batch_page(req, OP_RELEASE);
}

/* The flash of a finished batch, by operation. */
static const char *done_text(Request *req, Op op, int n)
{
    static const char *const msgs[OP__MAX] = {
        [OP_SHARE] = N_("Sharing updated for %d customers."),
        [OP_ASSIGN] = N_("%d customers assigned."),
        [OP_TRANSFER] = N_("%d customers transferred."),
        [OP_RELEASE] = N_("%d customers released to the public pool."),
        [OP_CLAIM] = N_("%d customers claimed: they are yours now."),
    };
    return tr_count(req, msgs[op], n);
}

/* The refusal of a claim beyond the limit. */
static const char *limit_text(Request *req, const Params *p)
{
    if (p->claim_left <= 0)
        return tr_count(req, N_("You have reached your limit of %d customers claimed from the pool within 30 days."),
                        p->claim_limit);
    return arena_printf(req->arena,
                        i18n_get(req->lang, N_("You can claim only %d more customers from the pool now (at most %d within 30 days). Select fewer.")),
                        (int)p->claim_left, (int)p->claim_limit);
}

/* POST /customers/batch/{share,assign,transfer,release}/apply: 303 back to the list (or pool) with
 * what was done and what was left out; 422 the page again with messages (no colleague chosen, an
 * owner outside the caller's scope …); 404 when none of the customers is found; 400; 403. */
static void batch_apply(Request *req, Op op)
{
    Batch b;
    if (!op_allowed(req, op)) {
        resp_error(req, 403);
        return;
    }
    int n = read_batch(req, &b);
    if (n < 0) {
        resp_error(req, 400);
        return;
    }
    const char *back = back_of(req, op == OP_ASSIGN ? "/customers/pool" : "/customers");
    if (n == 0) {
        resp_flash(req, "error", N_("Select at least one customer first."));
        resp_redirect(req, back);
        return;
    }
    Form *f = op_form(req, op);
    form_read(f);
    Params p = {.reason = form_get(f, "reason") ? form_get(f, "reason") : ""};
    const char *users_error = NULL;
    long *uids = NULL;
    if (op == OP_SHARE) {
        int nu = read_id_list(req, "user_id", SHARE_USERS_MAX, &uids);
        p.write = strcmp(form_get(f, "mode"), "write") == 0;
        if (nu < 0) {
            users_error = N_("Choose at most 100 colleagues at a time.");
        } else if (nu == 0) {
            users_error = N_("Choose at least one colleague.");
        } else {
            p.users = ids_literal(req, uids, nu);
            PGresult *r = db_exec(req->arena,
                "SELECT count(*) FROM users WHERE id = ANY($1::bigint[]) AND active", p.users);
            if (!r) {
                resp_error(req, 503);
                return;
            }
            if (atol(PQgetvalue(r, 0, 0)) != nu)
                users_error = N_("Choose colleagues from the list (active users only).");
        }
    }
    if (op == OP_ASSIGN || op == OP_TRANSFER) {
        p.owner_id = form_get(f, "owner_id");
        if (*p.owner_id) {
            int rc = valid_owner(req, p.owner_id);
            if (rc < 0) {
                resp_error(req, 503);
                return;
            }
            if (!rc)
                form_error(f, "owner_id", N_("You can only choose active people whose customers you may see."));
        }
    }
    if (f->nerrors || users_error) {
        if (classify_batch(req, op, &b) < 0) {
            resp_error(req, 503);
            return;
        }
        if (b.count[FIT_NOT_FOUND] == b.n) {
            resp_error(req, 404);
            return;
        }
        render_batch(req, op, &b, f, p.users ? p.users : "{}", users_error, 422);
        return;
    }
    int done = apply_batch(req, op, &b, &p);
    if (done == APPLY_DB) {
        resp_error(req, 503);
        return;
    }
    if (done == 0 && b.count[FIT_NOT_FOUND] == b.n) {
        resp_error(req, 404);
        return;
    }
    if (done == 0)
        flash_result(req, b.count[FIT_SAME] ? "ok" : "error",
                     i18n_get(req->lang, b.count[FIT_SAME] ? N_("No changes.") : N_("Nothing to do.")), &b);
    else
        flash_result(req, "ok", done_text(req, op, done), &b);
    resp_redirect(req, back);
}

static void share_apply(Request *req)
{
    batch_apply(req, OP_SHARE);
}

static void assign_apply(Request *req)
{
    batch_apply(req, OP_ASSIGN);
}

static void transfer_apply(Request *req)
{
    batch_apply(req, OP_TRANSFER);
}

static void release_apply(Request *req)
{
    batch_apply(req, OP_RELEASE);
}

/* ==== one customer: shares, release, claim ================================================== */

/* GET /customers/{id}/shares: 200 the colleagues the customer is shared with (remove buttons
 * for those who may change it); 404 outside the caller's visibility (pool customers included:
 * they have no shares). */
static void shares_page(Request *req)
{
    long id = req_arg_id(req, 0);
    const char *sid = req_id_text(req, id);
    CustomerAccess acc;
    if (customers_access(req, id, &acc) < 0) {
        resp_error(req, 503);
        return;
    }
    if (!acc.visible) {
        resp_error(req, 404);
        return;
    }
    PGresult *head = db_exec(req->arena, CUSTOMER_HEAD_SQL, sid);
    PGresult *rows = db_exec(req->arena, SHARES_OF_SQL, sid, cfg.timezone);
    if (!head || !rows || PQntuples(head) != 1) {
        resp_error(req, head && PQntuples(head) == 0 ? 404 : 503);
        return;
    }
    View *v = view_new(req);
    view_set(v, "title", arena_printf(req->arena, "%s · %s", PQgetvalue(head, 0, 0),
                                      i18n_get(req->lang, N_("Sharing"))));
    view_set(v, "customer_id", sid);
    view_set(v, "name", PQgetvalue(head, 0, 0));
    view_set(v, "code", PQgetvalue(head, 0, 1));
    view_set(v, "owner", PQgetvalue(head, 0, 2));
    view_set_rows(v, "shares", rows);
    view_set_int(v, "n_shares", PQntuples(rows));
    view_set_int(v, "has_manage", acc.writable);
    view_set(v, "back", arena_printf(req->arena, "/customers/%ld/shares", id));
    view_render(req, v, "rights/shares", 200);
}

/* POST /customers/{id}/shares/remove (user_id): 303 to the shares page (or the list, when the
 * caller removed their own access); 404 outside the caller's visibility; 403 without the right
 * to change the customer; 400 for a user_id that is not an id. */
static void share_remove(Request *req)
{
    long id = req_arg_id(req, 0), uid;
    if (!customers_parse_id(req_form(req, "user_id"), &uid)) {
        resp_error(req, 400);
        return;
    }
    const char *sid = req_id_text(req, id);
    Arena *a = req->arena;
    if (db_begin(a) < 0) {
        resp_error(req, 503);
        return;
    }
    CustomerAccess acc;
    PGresult *lock = db_exec(a, "SELECT 1 FROM customers WHERE id = $1 FOR UPDATE", sid);
    if (!lock || customers_access(req, id, &acc) < 0) {
        db_rollback(a);
        resp_error(req, 503);
        return;
    }
    if (!acc.visible || !acc.writable) {
        db_rollback(a);
        resp_error(req, acc.visible ? 403 : 404);
        return;
    }
    const char *old = shares_text(req, sid);
    PGresult *del = old ? db_exec(a, UNSHARE_SQL, sid, req_id_text(req, uid)) : NULL;
    const char *now = del ? shares_text(req, sid) : NULL;
    bool changed = del && atoi(PQcmdTuples(del)) > 0;
    bool ok = now != NULL;
    if (ok && changed) {
        AuditDiff *d = audit_diff_new(a);
        audit_diff(d, "shares", old, now);
        ok = audit_write(req, "customers", "unshare", "customer", id, acc.name, d, "ok") == 0;
    }
    if (!ok || db_commit(a) < 0) {
        db_rollback(a);
        resp_error(req, 503);
        return;
    }
    resp_flash(req, "ok", changed ? N_("Sharing ended for this colleague.") : N_("No changes."));
    bool left = uid == req->user->id && !acc.in_scope;
    resp_redirect(req, left ? "/customers" : arena_printf(a, "/customers/%ld/shares", id));
}

/* POST /customers/{id}/release (optional reason): 303 to the list with the customer in the pool
 * (owner removed, shares ended); 404 outside the caller's visibility; 403 when the caller does
 * not hold it through their scope with the right to change it. */
static void release_one(Request *req)
{
    long id = req_arg_id(req, 0);
    Form *f = form_new(req, release_fields);
    if (!form_read(f)) {
        resp_flash(req, "error", N_("The reason is too long (at most 200 characters)."));
        resp_redirect(req, arena_printf(req->arena, "/customers/%ld", id));
        return;
    }
    Params p = {.reason = form_get(f, "reason")};
    Batch *b = batch_of_one(req, id);
    int done = apply_batch(req, OP_RELEASE, b, &p);
    if (done == APPLY_DB) {
        resp_error(req, 503);
        return;
    }
    switch (b->fit[0]) {
    case FIT_OK:
        resp_flash(req, "ok", N_("Released to the public pool."));
        resp_redirect(req, back_of(req, "/customers"));
        return;
    case FIT_NOT_FOUND:
        resp_error(req, 404);
        return;
    case FIT_POOL:
        resp_flash(req, "ok", N_("This customer is in the public pool already."));
        resp_redirect(req, "/customers/pool");
        return;
    default:
        resp_error(req, 403);
        return;
    }
}

/* POST /customers/{id}/claim: 303 to the customer, now the caller's; 303 to the pool with a
 * message when someone else took it first or the caller's limit is reached; 404 for a customer
 * that is neither in the pool nor visible to the caller. */
static void claim_one(Request *req)
{
    long id = req_arg_id(req, 0);
    Params p = {0};
    Batch *b = batch_of_one(req, id);
    int done = apply_batch(req, OP_CLAIM, b, &p);
    if (done == APPLY_DB) {
        resp_error(req, 503);
        return;
    }
    if (done == APPLY_LIMIT) {
        resp_flash(req, "error", limit_text(req, &p));
        resp_redirect(req, back_of(req, "/customers/pool"));
        return;
    }
    switch (b->fit[0]) {
    case FIT_OK:
        resp_flash(req, "ok", N_("Customer claimed: it is yours now."));
        resp_redirect(req, arena_printf(req->arena, "/customers/%ld", id));
        return;
    case FIT_TAKEN: {
        /* A second click on one's own claim is no loss. */
        PGresult *r = db_exec(req->arena, "SELECT 1 FROM customers WHERE id = $1 AND owner_id = $2",
                              req_id_text(req, id), req_id_text(req, req->user->id));
        if (r && PQntuples(r)) {
            resp_flash(req, "ok", N_("Customer claimed: it is yours now."));
            resp_redirect(req, arena_printf(req->arena, "/customers/%ld", id));
            return;
        }
        resp_flash(req, "error", N_("Someone else took this customer from the pool a moment ago."));
        resp_redirect(req, back_of(req, "/customers/pool"));
        return;
    }
    default:
        resp_error(req, 404);
        return;
    }
}

/* POST /customers/batch/claim (the `id` fields of the pool's form): 303 back to the pool with
 * what was claimed and what was gone already; all refused (303 with the reason) when the batch
 * would exceed the caller's limit; 404 when none is found; 400. */
static void claim_batch(Request *req)
{
    Batch b;
    int n = read_batch(req, &b);
    if (n < 0) {
        resp_error(req, 400);
        return;
    }
    const char *back = back_of(req, "/customers/pool");
    if (n == 0) {
        resp_flash(req, "error", N_("Select at least one customer first."));
        resp_redirect(req, back);
        return;
    }
    Params p = {0};
    int done = apply_batch(req, OP_CLAIM, &b, &p);
    if (done == APPLY_DB) {
        resp_error(req, 503);
        return;
    }
    if (done == APPLY_LIMIT) {
        resp_flash(req, "error", limit_text(req, &p));
        resp_redirect(req, back);
        return;
    }
    if (done == 0 && b.count[FIT_NOT_FOUND] == b.n) {
        resp_error(req, 404);
        return;
    }
    if (done == 0)
        flash_result(req, "error", i18n_get(req->lang, N_("Nothing to do.")), &b);
    else
        flash_result(req, "ok", done_text(req, OP_CLAIM, done), &b);
    resp_redirect(req, back);
}

/* ==== transfer all of one person's customers ================================================= */

/* People in the caller's scope who own customers (disabled ones marked), as select rows. */
static PGresult *from_options(Request *req)
{
    SqlBuf *q = sql_new(req->arena, "SELECT u.id::text, " USER_LABEL("u") " || CASE WHEN u.active THEN '' ELSE ");
    sql_add(q, sql_param(q, arena_printf(req->arena, " — %s", i18n_get(req->lang, N_("disabled")))));
    sql_add(q, " END FROM users u WHERE EXISTS (SELECT 1 FROM customers c WHERE c.owner_id = u.id) AND ");
    if (scope_filter(req, q, "u.id", NULL) < 0)
        return NULL;
    sql_add(q, arena_printf(req->arena, " ORDER BY NOT u.active, lower(" USER_NAME("u") "), u.id LIMIT %d",
                            PICK_MAX));
    return sql_exec_prepared(q);
}

/* Validates the two people; fills *count / *archived / names when both are fine. Returns the
 * number of invalid fields, or -1 (database). */
static int transfer_all_check(Request *req, Form *f, long *count, long *archived, const char **from_name,
                              const char **to_name)
{
    const char *from = form_get(f, "from_id"), *to = form_get(f, "to_id");
    long fid = 0;
    if (*from) {
        PGresult *r = db_exec(req->arena, "SELECT " USER_NAME("u") " FROM users u WHERE u.id = $1::bigint", from);
        if (!r)
            return -1;
        if (!PQntuples(r) || !customers_parse_id(from, &fid) || !scope_sees_user(req, fid))
            form_error(f, "from_id", N_("You can only choose people whose customers you may see."));
        else
            *from_name = PQgetvalue(r, 0, 0);
    }
    if (*to) {
        int rc = valid_owner(req, to);
        if (rc < 0)
            return -1;
        if (!rc)
            form_error(f, "to_id", N_("You can only choose active people whose customers you may see."));
        else if (strcmp(from, to) == 0)
            form_error(f, "to_id", N_("Choose someone else than the present owner."));
        else {
            PGresult *r = db_exec(req->arena, "SELECT " USER_NAME("u") " FROM users u WHERE u.id = $1::bigint", to);
            if (!r || PQntuples(r) != 1)
                return -1;
            *to_name = PQgetvalue(r, 0, 0);
        }
    }
    if (f->nerrors)
        return f->nerrors;
    PGresult *c = db_exec(req->arena,
        "SELECT count(*), count(*) FILTER (WHERE archived) FROM customers WHERE owner_id = $1::bigint", from);
    if (!c)
        return -1;
    *count = atol(PQgetvalue(c, 0, 0));
    *archived = atol(PQgetvalue(c, 0, 1));
    return 0;
}

static void render_transfer_all(Request *req, Form *f, bool preview, long count, long archived,
                                const char *from_name, const char *to_name, bool changed, int status)
{
    PGresult *from = from_options(req), *to = owner_options(req);
    if (!from || !to) {
        resp_error(req, 503);
        return;
    }
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Transfer a person's customers"));
    form_push(f, v);
    customers_push_select(f, v, "from_id", from, N_("— Choose —"));
    customers_push_select(f, v, "to_id", to, N_("— Choose —"));
    view_set_int(v, "is_preview", preview);
    view_set_int(v, "has_changed", changed);
    view_set_int(v, "n_count", count);
    view_set_int(v, "n_archived", archived);
    view_set(v, "from_name", from_name);
    view_set(v, "to_name", to_name);
    view_set(v, "v_from", form_get(f, "from_id"));
    view_set(v, "v_to", form_get(f, "to_id"));
    view_set(v, "v_reason", form_get(f, "reason"));
    view_set(v, "summary", preview ? arena_printf(req->arena,
        i18n_get(req->lang, N_("%s owns %ld customers (%ld of them archived). All of them go to %s; their shares stay.")),
        from_name, count, archived, to_name) : "");
    view_render(req, v, "rights/transfer_all", status);
}

/* GET /customers/transfer[?from_id=&to_id=&reason=]: 200 the form, or with both people chosen the
 * number of customers that would move and a confirm button; 422 with messages for people outside
 * the caller's scope (or the same person twice); 403 for callers who see only their own records. */
static void transfer_all_page(Request *req)
{
    if (!may_choose_owner(req)) {
        resp_error(req, 403);
        return;
    }
    Form *f = form_new(req, transfer_all_fields);
    bool asked = req_query(req, "from_id") || req_query(req, "to_id");
    if (!asked) {
        render_transfer_all(req, f, false, 0, 0, "", "", false, 200);
        return;
    }
    for (int i = 0; i < f->n; i++) {
        const char *out = "";
        const char *err = field_validate(&f->defs[i], req_query(req, f->defs[i].name), req->arena, &out);
        form_set(f, f->defs[i].name, out);
        if (err)
            form_error(f, f->defs[i].name, err);
    }
    long count = 0, archived = 0;
    const char *from_name = "", *to_name = "";
    int rc = f->nerrors ? f->nerrors : transfer_all_check(req, f, &count, &archived, &from_name, &to_name);
    if (rc < 0) {
        resp_error(req, 503);
        return;
    }
    render_transfer_all(req, f, rc == 0, count, archived, from_name, to_name, false, rc ? 422 : 200);
}

/* POST /customers/transfer (from_id, to_id, reason, expected): 303 to the new owner's customers
 * after moving every customer of from_id (one transaction, an audit row per customer, shares
 * kept); 409 the preview again when the number changed since it was shown; 422 with messages;
 * 403 as the form. */
static void transfer_all_apply(Request *req)
{
    if (!may_choose_owner(req)) {
        resp_error(req, 403);
        return;
    }
    Form *f = form_new(req, transfer_all_fields);
    form_read(f);
    long count = 0, archived = 0;
    const char *from_name = "", *to_name = "";
    int rc = f->nerrors ? f->nerrors : transfer_all_check(req, f, &count, &archived, &from_name, &to_name);
    if (rc < 0) {
        resp_error(req, 503);
        return;
    }
    if (rc > 0) {
        render_transfer_all(req, f, false, 0, 0, "", "", false, 422);
        return;
    }
    const char *expected = req_form(req, "expected");
    if (!expected || strcmp(expected, req_id_text(req, count)) != 0) {
        render_transfer_all(req, f, true, count, archived, from_name, to_name, true, 409);
        return;
    }
    if (count == 0) {
        resp_flash(req, "ok", N_("No changes."));
        resp_redirect(req, "/customers/transfer");
        return;
    }
    Arena *a = req->arena;
    if (db_begin(a) < 0) {
        resp_error(req, 503);
        return;
    }
    PGresult *moved = db_exec(a,
        "UPDATE customers SET owner_id = $2::bigint, version = version + 1, updated_at = now()"
        " WHERE owner_id = $1::bigint RETURNING id, name",
        form_get(f, "from_id"), form_get(f, "to_id"));
    bool ok = moved != NULL;
    for (int i = 0; ok && i < PQntuples(moved); i++) {
        AuditDiff *d = audit_diff_new(a);
        audit_diff(d, "owner", from_name, to_name);
        audit_diff(d, "reason", "", form_get(f, "reason"));
        ok = audit_write(req, "customers", "transfer", "customer", atol(PQgetvalue(moved, i, 0)),
                         PQgetvalue(moved, i, 1), d, "ok") == 0;
    }
    if (!ok || db_commit(a) < 0) {
        db_rollback(a);
        resp_error(req, 503);
        return;
    }
    const char *text = arena_printf(a, i18n_get(req->lang, N_("%d customers transferred from %s to %s.")),
                                    PQntuples(moved), from_name, to_name);
    resp_flash(req, "ok", strlen(text) <= FLASH_MAX ? text : done_text(req, OP_TRANSFER, PQntuples(moved)));
    resp_redirect(req, arena_printf(a, "/customers?owner=%s", form_get(f, "to_id")));
}

/* ==== the public pool ======================================================================= */

typedef struct PoolFilters {
    const char *q, *category, *industry, *province;
    bool q_short; /* no two characters side by side: a hint instead of a search */
    bool any;
} PoolFilters;

static const char *id_param(Request *req, const char *name)
{
    const char *v = customers_qparam(req, name, 20);
    long id;
    return v && customers_parse_id(v, &id) ? v : NULL;
}

static PoolFilters *pool_filters(Request *req)
{
    PoolFilters *f = arena_alloc(req->arena, sizeof *f);
    f->q = customers_qparam(req, "q", 200);
    f->category = id_param(req, "category");
    f->industry = id_param(req, "industry");
    f->province = id_param(req, "province");
    if (f->q) {
        /* The bigram index needs two characters side by side (as the customer list). */
        bool pair = false;
        for (const char *p = f->q; *p && !pair;) {
            const char *n = g_utf8_next_char(p);
            pair = *n && !g_unichar_isspace(g_utf8_get_char(p)) && !g_unichar_isspace(g_utf8_get_char(n));
            p = n;
        }
        f->q_short = !pair;
    }
    f->any = f->q || f->category || f->industry || f->province;
    return f;
}

/* The WHERE of the pool page and its count. Pool cards show who a customer is, never how to reach
 * them: the search looks at name, short name and code only, not at the search text (which holds
 * phones and contacts), after the bigram index has narrowed the rows. */
static void pool_where(Request *req, const PoolFilters *f, SqlBuf *q)
{
    sql_add(q, " WHERE c.owner_id IS NULL");
    if (f->q && !f->q_short) {
        sql_addp(q, " AND c.id IN (SELECT s.customer_id FROM customer_search s WHERE s.terms @> kx_bigrams(%s))",
                 f->q);
        const char *like = sql_param(q, sql_like_contains(req->arena, f->q));
        sql_add(q, arena_printf(req->arena, " AND (c.name ILIKE %s OR c.short_name ILIKE %s OR c.code ILIKE %s)",
                                like, like, like));
    }
    if (f->category)
        sql_addp(q, " AND c.category_id = %s::bigint", f->category);
    if (f->industry)
        sql_addp(q, " AND c.industry_id = %s::bigint", f->industry);
    if (f->province)
        sql_addp(q, " AND c.province_id = %s::int", f->province);
}

static const ListSort pool_sorts[] = {
    {"pool_since", "c.pool_since"},
    {"name", "c.name"},
    {"code", "lower(c.code)"},
    {NULL, NULL},
};

/* ORDER BY written to match customers_pool_idx (pool_since DESC, id DESC) for the default. */
static const char *pool_order(Request *req, const ListState *ls)
{
    const char *dir = ls->desc ? "DESC" : "ASC";
    return arena_printf(req->arena, " ORDER BY %s %s, c.id %s", ls->sorts[ls->sort].sql, dir, dir);
}

/* Option rows (value, label, sel) of one lookup kind, the current one marked. */
static PGresult *lookup_rows(Request *req, const char *kind, const char *current)
{
    return db_exec(req->arena,
        "SELECT id::text AS value, name AS label,"
        "       CASE WHEN id = NULLIF($2, '')::bigint THEN '1' ELSE '' END AS sel"
        "  FROM lookups WHERE kind = $1 AND (active OR id = NULLIF($2, '')::bigint) ORDER BY sort, id",
        kind, current ? current : "");
}

/* GET /customers/pool: 200 the public pool — customers without an owner, with name, code,
 * category, industry, region, since when and the previous owner, but no contact details;
 * search (≥ 2 characters, name / short name / code), filters and sorting kept in the URL, paging;
 * claim (within the caller's limit) and, for people who may choose owners, assign. */
static void pool_page(Request *req)
{
    Arena *a = req->arena;
    ListState *ls = list_begin(req, pool_sorts, "pool_since", true);
    PoolFilters *f = pool_filters(req);
    const char *order = pool_order(req, ls);
    bool en = strcmp(req->lang, "en") == 0;
    SqlBuf *q = sql_new(a, "SELECT c.id, c.code, c.name, c.short_name, coalesce(cat.name, '') AS category,"
                           " coalesce(ind.name, '') AS industry, ");
    sql_add(q, en ? "concat_ws(', ', ci.name_en, p.name_en)" : "concat_ws(' ', p.short_name, ci.short_name)");
    sql_addp(q, " AS region, to_char(c.pool_since AT TIME ZONE %s::text, 'YYYY-MM-DD') AS pool_since,", cfg.timezone);
    sql_add(q, " coalesce((SELECT al.changes->'owner'->>'old' FROM audit_log al"
               "   WHERE al.object_type = 'customer' AND al.object_id = c.id AND al.module = 'customers'"
               "     AND al.action = 'release' ORDER BY al.at DESC, al.id DESC LIMIT 1), '') AS previous_owner,"
               " CASE WHEN c.archived THEN '1' ELSE '' END AS archived"
               " FROM (SELECT c.id, c.code, c.name, c.short_name, c.category_id, c.industry_id,"
               "              c.province_id, c.city_id, c.pool_since, c.archived FROM customers c");
    pool_where(req, f, q);
    sql_add(q, order);
    list_limit(ls, q);
    sql_add(q, ") c");
    sql_add(q, " LEFT JOIN lookups cat ON cat.id = c.category_id LEFT JOIN lookups ind ON ind.id = c.industry_id"
               " LEFT JOIN regions p ON p.id = c.province_id LEFT JOIN regions ci ON ci.id = c.city_id");
    sql_add(q, order);
    SqlBuf *count = sql_new(a, "SELECT count(*) FROM (SELECT 1 FROM customers c");
    pool_where(req, f, count);
    list_count_limit(ls, count);
    sql_add(count, ") t");

    PGresult *rows = sql_exec(q);
    PGresult *cats = lookup_rows(req, "customer_category", f->category);
    PGresult *inds = lookup_rows(req, "industry", f->industry);
    PGresult *provs = db_exec(a,
        "SELECT id::text AS value, CASE WHEN $1 = 'en' THEN name_en ELSE name END AS label,"
        "       CASE WHEN id = NULLIF($2, '')::int THEN '1' ELSE '' END AS sel"
        "  FROM regions WHERE level = 1 ORDER BY sort, id",
        req->lang, f->province ? f->province : "");
    long limit = 0, used = 0;
    if (!rows || !cats || !inds || !provs || list_count(ls, count) < 0 ||
        claim_usage(req, false, &limit, &used) < 0) {
        resp_error(req, 503);
        return;
    }
    long left = limit > used ? limit - used : 0;
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Public pool"));
    view_set_rows(v, "rows", rows);
    view_set_int(v, "n_rows", PQntuples(rows));
    list_push(ls, v);
    view_set_rows(v, "categories", cats);
    view_set_rows(v, "industries", inds);
    view_set_rows(v, "provinces", provs);
    view_set(v, "v_q", f->q);
    view_set_int(v, "is_q_short", f->q && f->q_short);
    view_set_int(v, "is_filtered", f->any);
    view_set_int(v, "n_left", left);
    view_set_int(v, "n_limit", limit);
    view_set(v, "allowance", arena_printf(a,
        i18n_get(req->lang, N_("You can claim %ld more customers now: at most %ld within 30 days, counting those you still own.")),
        left, limit));
    view_set_int(v, "has_claim", left > 0);
    view_set_int(v, "has_assign", may_choose_owner(req) && auth_can(req, "customers.edit"));
    view_set(v, "back", arena_printf(a, "/customers/pool%s", list_query_with(req, NULL, NULL, 0)));
    view_render(req, v, "rights/pool", 200);
}

/* ==== routes ================================================================================ */

static const Route routes[] = {
    {"GET", "/customers/pool", pool_page, "customers.view", 0},
    {"POST", "/customers/batch/claim", claim_batch, "customers.view", 0},
    {"POST", "/customers/{id}/claim", claim_one, "customers.view", 0},
    {"POST", "/customers/{id}/release", release_one, "customers.edit", 0},
    {"POST", "/customers/batch/release", release_page, "customers.edit", 0},
    {"POST", "/customers/batch/release/apply", release_apply, "customers.edit", 0},
    {"POST", "/customers/batch/share", share_page, "customers.edit", 0},
    {"POST", "/customers/batch/share/apply", share_apply, "customers.edit", 0},
    {"GET", "/customers/{id}/shares", shares_page, "customers.view", 0},
    {"POST", "/customers/{id}/shares/remove", share_remove, "customers.edit", 0},
    {"POST", "/customers/batch/assign", assign_page, "customers.edit", 0},
    {"POST", "/customers/batch/assign/apply", assign_apply, "customers.edit", 0},
    {"POST", "/customers/batch/transfer", transfer_page, "customers.edit", 0},
    {"POST", "/customers/batch/transfer/apply", transfer_apply, "customers.edit", 0},
    {"GET", "/customers/transfer", transfer_all_page, "customers.edit", 0},
    {"POST", "/customers/transfer", transfer_all_apply, "customers.edit", 0},
    {NULL, NULL, NULL, NULL, 0},
};

static const NavItem nav[] = {
    {"/customers/pool", N_("Public pool"), "customers.view"},
    {NULL, NULL, NULL},
};

const Module customer_rights_module = {"customer_rights", routes, nav};
