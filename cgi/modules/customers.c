/* customers.c — customers (客户, M13): the list (quick search, filters kept in the URL, sorting,
 * saved searches, Excel export), the detail page (overview, contacts, history, places for later
 * modules), the form with duplicate control (排重), archive and delete; and the API of
 * customers.h, including the one visibility rule every customer and contact query uses. */
#include "customers.h"

#include "../core/audit.h"
#include "../core/auth.h"
#include "../core/config.h"
#include "../core/db.h"
#include "../core/dedup.h"
#include "../core/i18n.h"
#include "../core/listing.h"
#include "../core/money.h"
#include "../core/numbering.h"
#include "../core/perm.h"
#include "../core/response.h"
#include "../core/router.h"
#include "../core/scope.h"
#include "../docs/xlsx.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_CAP 200000     /* rows per export: far above any sensible filter */
#define OWNER_OPTIONS_MAX 500 /* people offered as owner or owner filter */
#define SIMILAR_MAX 10        /* near-duplicates listed */
#define HISTORY_MAX 100       /* audit entries on the detail page */
#define SAVED_MAX 50          /* saved searches per user and list */
#define CODE_TRIES 20         /* numbers skipped when a hand-typed code already took one */
#define ID_MAX 999999999999999999L

/* ==== small helpers ========================================================================= */

static bool is_true(const char *v)
{
    return v && (v[0] == 't' || v[0] == '1');
}

/* Copies the last SQLSTATE before a rollback resets it. */
static void keep_state(char state[6])
{
    g_strlcpy(state, db_sqlstate(), 6);
}

bool customers_parse_id(const char *s, long *out)
{
    if (!s || !*s || strlen(s) > 18 || strspn(s, "0123456789") != strlen(s))
        return false;
    long v = strtol(s, NULL, 10);
    if (v <= 0)
        return false;
    *out = v;
    return true;
}

const char *customers_qparam(Request *req, const char *name, size_t max)
{
    const char *v = req_query(req, name);
    if (!v)
        return NULL;
    char *s = g_strstrip(arena_strdup(req->arena, v));
    return *s && strlen(s) <= max ? s : NULL;
}

bool customers_valid_date(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !g_ascii_isdigit(s[i]))
            return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    return y >= 1900 && m >= 1 && m <= 12 &&
           g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y);
}

/* The changed columns between two one-row snapshots of the same SELECT (old NULL for a
 * creation, now NULL for a deletion). */
static void diff_rows(AuditDiff *d, const PGresult *old, const PGresult *now)
{
    const PGresult *shape = now && PQntuples(now) ? now : old;
    if (!shape)
        return;
    bool has_old = old && PQntuples(old) == 1, has_now = now && PQntuples(now) == 1;
    for (int c = 0; c < PQnfields(shape); c++)
        audit_diff(d, PQfname(shape, c), has_old ? db_val(old, 0, c) : "",
                   has_now ? db_val(now, 0, c) : "");
}

/* Whether this request runs inside a transaction its caller opened (an import's commit). */
static bool in_caller_tx(void)
{
    return PQtransactionStatus(db_conn()) != PQTRANS_IDLE;
}

/* People choose an owner only when their scope reaches beyond themselves. */
static bool may_choose_owner(Request *req)
{
    return req->user->is_admin || req->user->scope > SCOPE_OWN;
}

/* The text of an amount for people: "50,000.00" (stored as numeric, parsed exactly). */
static const char *amount_text(Request *req, const char *stored)
{
    Money m;
    if (!stored || money_parse(stored, 8, &m) != MONEY_OK)
        return stored ? stored : "";
    char buf[MONEY_FORMAT_MAX];
    money_format_buf(m, 2, TRUE, buf, sizeof buf);
    return arena_strdup(req->arena, buf);
}

/* ==== fields ================================================================================ */

const Choice customer_statuses[] = {
    {"potential", N_("Prospect")},
    {"active", N_("Active customer")},
    {"dormant", N_("Dormant")},
    {"lost", N_("Lost customer")},
    {NULL, NULL},
};

const FieldDef customer_fields[] = {
    {"name", N_("Customer name"), F_TEXT, F_REQUIRED, 100, 0, 0, NULL, "off",
     N_("The full registered name, e.g. 杭州华通智能装备有限公司.")},
    {"short_name", N_("Short name"), F_TEXT, 0, 40, 0, 0, NULL, "off", NULL},
    {"code", N_("Customer code"), F_TEXT, 0, 32, 0, 0, NULL, "off",
     N_("Leave empty to take the next number.")},
    {"category_id", N_("Category"), F_INT, 0, 20, 1, ID_MAX, NULL, NULL, NULL},
    {"level_id", N_("Level"), F_INT, 0, 20, 1, ID_MAX, NULL, NULL, NULL},
    {"source_id", N_("Source"), F_INT, 0, 20, 1, ID_MAX, NULL, NULL, NULL},
    {"industry_id", N_("Industry"), F_INT, 0, 20, 1, ID_MAX, NULL, NULL, NULL},
    {"status", N_("Status"), F_SELECT, F_REQUIRED, 16, 0, 0, customer_statuses, NULL, NULL},
    {"province_id", N_("Province"), F_INT, 0, 8, 1, 999999, NULL, NULL, NULL},
    {"city_id", N_("City"), F_INT, 0, 8, 1, 999999, NULL, NULL,
     N_("Choosing a city is enough: its province is filled in.")},
    {"address", N_("Address"), F_TEXT, 0, 200, 0, 0, NULL, "off", NULL},
    {"phone", N_("Phone"), F_TEXT, 0, 40, 0, 0, NULL, "off", N_("e.g. 0571-88886666")},
    {"website", N_("Website"), F_TEXT, 0, 200, 0, 0, NULL, "off", NULL},
    {"tax_id", N_("Tax ID"), F_TEXT, 0, 30, 0, 0, NULL, "off",
     N_("Unified social credit code (18 characters).")},
    {"bank_name", N_("Bank"), F_TEXT, 0, 100, 0, 0, NULL, "off", NULL},
    {"bank_account", N_("Bank account"), F_TEXT, 0, 40, 0, 0, NULL, "off", NULL},
    {"owner_id", N_("Owner"), F_INT, 0, 20, 1, ID_MAX, NULL, NULL, NULL},
    {"credit_limit", N_("Credit limit (CNY)"), F_TEXT, 0, 24, 0, 0, NULL, "off",
     N_("0 means no credit.")},
    {"payment_terms", N_("Payment terms"), F_TEXT, 0, 100, 0, 0, NULL, "off",
     N_("e.g. 30 days after invoice")},
    {"last_contact_on", N_("Last contact"), F_DATE, 0, 10, 0, 0, NULL, NULL,
     N_("Kept up to date by contact records; enter it for customers taken over from elsewhere.")},
    {"remarks", N_("Remarks"), F_TEXTAREA, 0, 2000, 0, 0, NULL, NULL, NULL},
    {NULL},
};

/* The optional first contact of the "new customer" form. */
static const FieldDef first_contact_fields[] = {
    {"contact_name", N_("Contact name"), F_TEXT, 0, 40, 0, 0, NULL, "off", NULL},
    {"contact_title", N_("Job title"), F_TEXT, 0, 40, 0, 0, NULL, "off", NULL},
    {"contact_mobile", N_("Mobile"), F_TEXT, 0, 20, 0, 0, NULL, "off", NULL},
    {NULL},
};

/* Lookup kinds of the *_id fields (validated against lookups.kind). */
static const struct {
    const char *field, *kind;
} lookup_fields[] = {
    {"category_id", "customer_category"},
    {"level_id", "customer_level"},
    {"source_id", "customer_source"},
    {"industry_id", "industry"},
};

/* ==== SQL =================================================================================== */

/* The columns an edit starts from: named like the fields, values as the form holds them. */
static const char CUSTOMER_FORM_SQL[] =
    "SELECT name, short_name, code, category_id::text AS category_id, level_id::text AS level_id,"
    "       source_id::text AS source_id, industry_id::text AS industry_id, status,"
    "       province_id::text AS province_id, city_id::text AS city_id, address, phone, website,"
    "       tax_id, bank_name, bank_account, owner_id::text AS owner_id,"
    "       credit_limit::text AS credit_limit, payment_terms,"
    "       coalesce(last_contact_on::text, '') AS last_contact_on, remarks, version"
    "  FROM customers WHERE id = $1";

/* What the audit trail records of a customer: readable names rather than ids. The columns and
 * joins are shared by the snapshot before/after a change and by the insert, which returns the
 * new row's snapshot in the same statement. */
#define SNAPSHOT_COLUMNS                                                                        \
    "c.name, c.short_name, c.code, coalesce(cat.name, '') AS category,"                         \
    " coalesce(lv.name, '') AS level, coalesce(src.name, '') AS source,"                        \
    " coalesce(ind.name, '') AS industry, c.status, coalesce(p.name, '') AS province,"         \
    " coalesce(ci.name, '') AS city, c.address, c.phone, c.website, c.tax_id, c.bank_name,"    \
    " c.bank_account, coalesce(nullif(u.display_name, ''), u.username, '') AS owner,"          \
    " c.credit_limit::text AS credit_limit, c.payment_terms,"                                   \
    " coalesce(c.last_contact_on::text, '') AS last_contact_on, c.remarks"
#define SNAPSHOT_JOINS                                                                          \
    " LEFT JOIN lookups cat ON cat.id = c.category_id LEFT JOIN lookups lv ON lv.id = c.level_id" \
    " LEFT JOIN lookups src ON src.id = c.source_id LEFT JOIN lookups ind ON ind.id = c.industry_id" \
    " LEFT JOIN regions p ON p.id = c.province_id LEFT JOIN regions ci ON ci.id = c.city_id"  \
    " LEFT JOIN users u ON u.id = c.owner_id"

static const char CUSTOMER_SNAPSHOT_SQL[] =
    "SELECT " SNAPSHOT_COLUMNS " FROM customers c" SNAPSHOT_JOINS " WHERE c.id = $1";

/* Customers from arrays, one element per customer (each array: $1 name, $2 name_key, $3 short_name,
 * $4 code, $5 category_id, $6 level_id, $7 source_id, $8 industry_id, $9 province_id, $10 city_id,
 * $11 address, $12 phone, $13 phone_key, $14 website, $15 tax_id, $16 bank_name, $17 bank_account,
 * $18 status, $19 credit_limit, $20 payment_terms, $21 last_contact_on, $22 remarks), all owned by
 * $23 (0: the public pool) and created by $24; inserted in the arrays' order. A code already in use
 * (typed by hand, or a number someone typed before) inserts nothing instead of failing, so the
 * transaction stays usable: the caller finds the row missing and takes the next number, or refuses
 * the typed code. Answers each new row's audit snapshot, its id last (not a field of the audit
 * row); rows come in no particular order (the code tells them apart). */
static const char CUSTOMER_INSERT_SQL[] =
    "WITH c AS (INSERT INTO customers (name, name_key, short_name, code, category_id, level_id,"
    "  source_id, industry_id, province_id, city_id, address, phone, phone_key, website, tax_id,"
    "  bank_name, bank_account, owner_id, pool_since, status, credit_limit, payment_terms,"
    "  last_contact_on, remarks, created_by)"
    " SELECT u.name, u.name_key, u.short_name, u.code, NULLIF(u.category_id, '')::bigint,"
    "  NULLIF(u.level_id, '')::bigint, NULLIF(u.source_id, '')::bigint,"
    "  NULLIF(u.industry_id, '')::bigint, NULLIF(u.province_id, '')::int, NULLIF(u.city_id, '')::int,"
    "  u.address, u.phone, u.phone_key, u.website, u.tax_id, u.bank_name, u.bank_account,"
    "  NULLIF($23, '0')::bigint, CASE WHEN $23 = '0' THEN now() END, u.status, u.credit_limit::numeric,"
    "  u.payment_terms, NULLIF(u.last_contact_on, '')::date, u.remarks, $24::bigint"
    "  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],"
    "              $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],"
    "              $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[],"
    "              $20::text[], $21::text[], $22::text[])"
    "       WITH ORDINALITY AS u(name, name_key, short_name, code, category_id, level_id, source_id,"
    "            industry_id, province_id, city_id, address, phone, phone_key, website, tax_id,"
    "            bank_name, bank_account, status, credit_limit, payment_terms, last_contact_on,"
    "            remarks, ord)"
    " ORDER BY u.ord"
    " ON CONFLICT ((lower(code))) DO NOTHING RETURNING *)"
    " SELECT " SNAPSHOT_COLUMNS ", c.id FROM c" SNAPSHOT_JOINS;

/* Pool customers are not edited (the pool has its own operations); an empty owner keeps it. */
static const char CUSTOMER_UPDATE_SQL[] =
    "UPDATE customers SET name = $3, name_key = $4, short_name = $5,"
    "  code = coalesce(nullif($6, ''), code), category_id = NULLIF($7, '')::bigint,"
    "  level_id = NULLIF($8, '')::bigint, source_id = NULLIF($9, '')::bigint,"
    "  industry_id = NULLIF($10, '')::bigint, province_id = NULLIF($11, '')::int,"
    "  city_id = NULLIF($12, '')::int, address = $13, phone = $14, phone_key = $15, website = $16,"
    "  tax_id = $17, bank_name = $18, bank_account = $19,"
    "  owner_id = coalesce(NULLIF($20, '')::bigint, owner_id), status = $21,"
    "  credit_limit = $22::numeric, payment_terms = $23, last_contact_on = NULLIF($24, '')::date,"
    "  remarks = $25, version = version + 1, updated_at = now()"
    " WHERE id = $1 AND version = $2::int AND owner_id IS NOT NULL";

/* ==== visibility ============================================================================ */

/* The share that makes a customer visible besides the data scope (%s: the caller's id). Written
 * as "id = ANY(ARRAY(…))" rather than EXISTS: the caller's few shares become one array up front,
 * so "owner in scope OR shared" is a BitmapOr of customers_owner_idx and the primary key (with
 * EXISTS the planner can only filter row by row: a salesperson's count read the whole table). */
static const char SHARE_GRANT[] =
    "c.id = ANY(ARRAY(SELECT s.customer_id FROM customer_shares s WHERE s.user_id = %s))";

int customers_visible(Request *req, SqlBuf *q)
{
    sql_add(q, "(c.owner_id IS NOT NULL AND ");
    if (scope_filter(req, q, "c.owner_id", SHARE_GRANT) < 0)
        return -1;
    sql_add(q, ")");
    return 0;
}

int customers_access(Request *req, long id, CustomerAccess *out)
{
    memset(out, 0, sizeof *out);
    SqlBuf *q = sql_new(req->arena, "SELECT c.name, c.version, c.owner_id IS NULL, ");
    if (customers_visible(req, q) < 0)
        return -1;
    sql_add(q, ", c.owner_id IS NOT NULL AND ");
    if (scope_filter(req, q, "c.owner_id", NULL) < 0)
        return -1;
    sql_add(q, ", s.user_id IS NOT NULL, coalesce(s.can_write, false)"
               "  FROM customers c LEFT JOIN customer_shares s ON s.customer_id = c.id AND s.user_id = ");
    sql_add(q, sql_param(q, req_id_text(req, req->user->id)));
    sql_addp(q, " WHERE c.id = %s", req_id_text(req, id));
    PGresult *r = sql_exec_prepared(q);
    if (!r)
        return -1;
    if (PQntuples(r) != 1)
        return 0;
    out->exists = true;
    out->name = PQgetvalue(r, 0, 0);
    out->version = PQgetvalue(r, 0, 1);
    out->pool = is_true(PQgetvalue(r, 0, 2));
    out->visible = is_true(PQgetvalue(r, 0, 3));
    out->in_scope = is_true(PQgetvalue(r, 0, 4));
    out->shared = !out->pool && is_true(PQgetvalue(r, 0, 5));
    out->share_write = out->shared && is_true(PQgetvalue(r, 0, 6));
    out->can_write = out->visible && (out->in_scope || out->share_write);
    out->writable = out->can_write && auth_can(req, "customers.edit");
    return 0;
}

/* Loads the access for the route's customer and answers 404 (not visible) or 403 (visible, not
 * writable, when `write`) itself; returns false then. */
static bool access_or_answer(Request *req, long id, CustomerAccess *acc, bool write)
{
    if (customers_access(req, id, acc) < 0) {
        resp_error(req, 503);
        return false;
    }
    if (!acc->visible) {
        resp_error(req, 404);
        return false;
    }
    if (write && !acc->writable) {
        resp_error(req, 403);
        return false;
    }
    return true;
}

/* ==== duplicates ============================================================================ */

int customers_find_duplicate(Request *req, const char *name_key, long exclude_id, CustomerDup *out)
{
    memset(out, 0, sizeof *out);
    if (!name_key || !*name_key)
        return 0;
    SqlBuf *q = sql_new(req->arena,
        "SELECT c.id, c.name, c.code, coalesce(nullif(u.display_name, ''), u.username, '') AS owner,"
        "       c.owner_id IS NULL AS pool, ");
    if (customers_visible(req, q) < 0)
        return -1;
    sql_add(q, " AS visible FROM customers c LEFT JOIN users u ON u.id = c.owner_id WHERE c.name_key = ");
    sql_add(q, sql_param(q, name_key));
    sql_addp(q, " AND c.id <> %s::bigint", req_id_text(req, exclude_id));
    PGresult *r = sql_exec_prepared(q);
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        return 0;
    out->id = atol(PQgetvalue(r, 0, 0));
    out->pool = is_true(PQgetvalue(r, 0, 4));
    out->visible = is_true(PQgetvalue(r, 0, 5));
    out->owner = PQgetvalue(r, 0, 3);
    /* Name and code only travel when the caller may look at the customer. */
    out->name = out->visible || out->pool ? PQgetvalue(r, 0, 1) : NULL;
    out->code = out->visible || out->pool ? PQgetvalue(r, 0, 2) : NULL;
    return 1;
}

/* Appends the near-duplicate query (rows as documented at customers_similar). The candidates come
 * from four indexed probes (trigram name index, phone key, tax id, contact mobile); names and
 * codes are blanked in SQL for rows the caller may not see, so they never reach C. */
static int similar_sql(Request *req, SqlBuf *q, const char *key, const char *phone_key,
                       const char *tax, const char *mobile, long exclude_id)
{
    Arena *a = req->arena;
    const char *k = sql_param(q, key), *p = sql_param(q, phone_key), *t = sql_param(q, tax);
    const char *m = sql_param(q, mobile), *x = sql_param(q, req_id_text(req, exclude_id));
    sql_add(q, "SELECT s.id, CASE WHEN s.is_visible OR s.is_pool THEN s.name ELSE '' END AS name,"
               " CASE WHEN s.is_visible OR s.is_pool THEN s.code ELSE '' END AS code,"
               " s.owner, s.is_visible, s.is_pool, s.reasons FROM (SELECT c.id, c.name, c.code,"
               " coalesce(nullif(u.display_name, ''), u.username, '') AS owner, ");
    if (customers_visible(req, q) < 0)
        return -1;
    sql_add(q, arena_printf(a,
        " AS is_visible, c.owner_id IS NULL AS is_pool,"
        " concat_ws(',', CASE WHEN %s <> '' AND similarity(c.name_key, %s) > 0.5 THEN 'name' END,"
        "   CASE WHEN %s <> '' AND c.phone_key = %s THEN 'phone' END,"
        "   CASE WHEN %s <> '' AND c.tax_id = %s THEN 'tax_id' END,"
        "   CASE WHEN %s <> '' AND EXISTS (SELECT 1 FROM contacts ct WHERE ct.customer_id = c.id"
        "        AND ct.mobile = %s) THEN 'mobile' END) AS reasons,"
        " similarity(c.name_key, %s) AS sim"
        " FROM customers c LEFT JOIN users u ON u.id = c.owner_id"
        " WHERE c.id IN (SELECT id FROM customers WHERE %s <> '' AND name_key %% %s"
        "                   AND similarity(name_key, %s) > 0.5"
        "                UNION SELECT id FROM customers WHERE %s <> '' AND phone_key = %s"
        "                UNION SELECT id FROM customers WHERE %s <> '' AND tax_id = %s"
        "                UNION SELECT customer_id FROM contacts WHERE %s <> '' AND mobile = %s)"
        "   AND c.name_key <> %s AND c.id <> %s::bigint) s"
        " ORDER BY s.is_visible DESC, s.sim DESC, s.id LIMIT %d",
        k, k, p, p, t, t, m, m, k, k, k, k, p, p, t, t, m, m, k, x, SIMILAR_MAX));
    return 0;
}

/* The comparison values of typed input: duplicate key, phone key, tax id (upper case), and the
 * mobile normalised (or "" when it is not one). */
typedef struct Keys {
    const char *name, *phone, *tax, *mobile;
} Keys;

static Keys keys_of(Request *req, const char *name, const char *phone, const char *tax,
                    const char *mobile)
{
    Keys k;
    char *nk = dedup_name_key(name ? name : "");
    char *pk = dedup_phone_key(phone ? phone : "");
    k.name = arena_strdup(req->arena, nk ? nk : "");
    k.phone = arena_strdup(req->arena, pk ? pk : "");
    /* A short fragment of a number is no evidence of anything. */
    if (strlen(k.phone) < 7)
        k.phone = "";
    g_free(nk);
    g_free(pk);
    char *t = g_ascii_strup(tax ? tax : "", -1);
    k.tax = arena_strdup(req->arena, g_strstrip(t));
    g_free(t);
    const char *m = "";
    if (mobile && *mobile && contacts_mobile_problem(req->arena, mobile, &m))
        m = "";
    k.mobile = m;
    return k;
}

PGresult *customers_similar(Request *req, const char *name, const char *phone, const char *tax_id,
                            const char *mobile, long exclude_id)
{
    Keys k = keys_of(req, name, phone, tax_id, mobile);
    SqlBuf *q = sql_new(req->arena, "");
    if (similar_sql(req, q, k.name, k.phone, k.tax, k.mobile, exclude_id) < 0)
        return NULL;
    return sql_exec(q);
}

/* ==== validation ============================================================================ */

static int field_index(const Form *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->defs[i].name, name) == 0)
            return i;
    return -1;
}

static bool field_ok(const Form *f, const char *name)
{
    int i = field_index(f, name);
    return i >= 0 && !f->errors[i];
}

/* Whether the field holds the value stored in row `stored` (CUSTOMER_FORM_SQL; NULL when
 * creating). Compared with the database, never with what the browser says it started from. */
static bool same_as_stored(const PGresult *stored, const Form *f, const char *name)
{
    int c = stored && PQntuples(stored) == 1 ? PQfnumber(stored, name) : -1;
    return c >= 0 && strcmp(PQgetisnull(stored, 0, c) ? "" : PQgetvalue(stored, 0, c),
                            form_get(f, name)) == 0;
}

static bool code_shape_ok(const char *s)
{
    if (!g_ascii_isalnum(s[0]))
        return false;
    for (const char *p = s; *p; p++)
        if (!g_ascii_isalnum(*p) && !strchr("-_./", *p))
            return false;
    return true;
}

static bool website_ok(const char *s)
{
    for (const char *p = s; *p; p++)
        if (g_ascii_isspace(*p) || *p == '"' || *p == '<' || *p == '>')
            return false;
    const char *sep = strstr(s, "://");
    if (sep && g_ascii_strncasecmp(s, "http://", 7) != 0 && g_ascii_strncasecmp(s, "https://", 8) != 0)
        return false;
    const char *host = sep ? sep + 3 : s;
    return strchr(host, '.') != NULL && host[0] != '.';
}

int customers_validate(Request *req, Form *f, long exclude_id, CustomerDup *dup, unsigned flags)
{
    Arena *a = req->arena;
    CustomerDup scratch;
    if (!dup)
        dup = &scratch;
    memset(dup, 0, sizeof *dup);
    PGresult *stored = NULL;
    if (exclude_id > 0 && !(stored = db_exec(a, CUSTOMER_FORM_SQL, req_id_text(req, exclude_id))))
        return -1;

    if (field_ok(f, "name")) {
        const char *name = form_get(f, "name");
        char *key = dedup_name_key(name);
        if (g_utf8_strlen(name, -1) < 2) {
            form_error(f, "name", N_("Enter at least 2 characters."));
        } else if (!key || !*key) {
            form_error(f, "name", N_("The name needs letters or digits besides the legal form."));
        } else if (!(flags & CUSTOMER_NAME_FREE)) {
            int rc = customers_find_duplicate(req, key, exclude_id, dup);
            if (rc < 0) {
                g_free(key);
                return -1;
            }
            if (rc == 1 && dup->pool)
                form_error(f, "name", N_("This customer already exists in the public pool."));
            else if (rc == 1)
                form_error_arg(f, "name", N_("This customer already exists, owned by %s."),
                               *dup->owner ? dup->owner : "—");
        }
        g_free(key);
    }

    if (field_ok(f, "code") && *form_get(f, "code")) {
        const char *code = form_get(f, "code");
        if (!code_shape_ok(code)) {
            form_error(f, "code", N_("Use letters, digits and - _ . / only, starting with a letter or digit."));
        } else {
            PGresult *r = db_exec(a, "SELECT 1 FROM customers WHERE lower(code) = lower($1) AND id <> $2::bigint",
                                  code, req_id_text(req, exclude_id));
            if (!r)
                return -1;
            if (PQntuples(r))
                form_error(f, "code", N_("Another customer already has this code."));
        }
    }

    for (size_t i = 0; i < G_N_ELEMENTS(lookup_fields); i++) {
        const char *fld = lookup_fields[i].field, *v = form_get(f, fld);
        if (!*v || !field_ok(f, fld))
            continue;
        PGresult *r = db_exec_memo(&req->memo, "SELECT active FROM lookups WHERE id = $1::bigint AND kind = $2",
                                   v, lookup_fields[i].kind);
        if (!r)
            return -1;
        if (!PQntuples(r))
            form_error(f, fld, N_("This choice no longer exists."));
        else if (!is_true(PQgetvalue(r, 0, 0)) && !same_as_stored(stored, f, fld))
            form_error(f, fld, N_("This choice is no longer in use."));
    }

    const char *prov = form_get(f, "province_id"), *city = form_get(f, "city_id");
    if (*prov && field_ok(f, "province_id")) {
        PGresult *r = db_exec_memo(&req->memo, "SELECT 1 FROM regions WHERE id = $1::int AND level = 1", prov);
        if (!r)
            return -1;
        if (!PQntuples(r))
            form_error(f, "province_id", N_("Choose a province from the list."));
    }
    if (*city && field_ok(f, "city_id")) {
        PGresult *r = db_exec_memo(&req->memo, "SELECT parent_id::text FROM regions WHERE id = $1::int AND level = 2",
                                   city);
        if (!r)
            return -1;
        if (!PQntuples(r))
            form_error(f, "city_id", N_("Choose a city from the list."));
        else if (!*prov)
            form_set(f, "province_id", PQgetvalue(r, 0, 0));
        else if (strcmp(prov, PQgetvalue(r, 0, 0)) != 0 && field_ok(f, "province_id"))
            form_error(f, "city_id", N_("This city is not in the chosen province."));
    }

    if (field_ok(f, "phone") && *form_get(f, "phone")) {
        const char *out;
        const char *problem = contacts_phone_problem(a, form_get(f, "phone"), &out);
        if (problem)
            form_error(f, "phone", problem);
        else
            form_set(f, "phone", out);
    }

    if (field_ok(f, "website") && *form_get(f, "website") && !website_ok(form_get(f, "website")))
        form_error(f, "website", N_("Enter a web address such as www.example.com."));

    if (field_ok(f, "tax_id") && *form_get(f, "tax_id")) {
        char *t = g_ascii_strup(form_get(f, "tax_id"), -1);
        size_t n = strlen(t);
        bool ok = n >= 15 && n <= 20;
        for (size_t i = 0; ok && i < n; i++)
            ok = g_ascii_isdigit(t[i]) || g_ascii_isupper(t[i]);
        if (ok)
            form_set(f, "tax_id", arena_strdup(a, t));
        else
            form_error(f, "tax_id", N_("A tax ID has 15 to 20 letters and digits (the unified social credit code has 18)."));
        g_free(t);
    }

    if (field_ok(f, "bank_account") && *form_get(f, "bank_account")) {
        const char *s = form_get(f, "bank_account");
        if (strspn(s, "0123456789 -") != strlen(s) || strspn(s, " -") == strlen(s))
            form_error(f, "bank_account", N_("Enter the account number with digits (spaces and dashes are fine)."));
    }

    if (field_ok(f, "credit_limit")) {
        const char *s = form_get(f, "credit_limit");
        Money m;
        int rc = money_parse(*s ? s : "0", 2, &m);
        if (rc == MONEY_ERR_SCALE)
            form_error(f, "credit_limit", N_("At most 2 decimals."));
        else if (rc != MONEY_OK || money_is_negative(m) ||
                 money_cmp(m, money_from_int(10000000000000000LL)) >= 0)
            form_error(f, "credit_limit", N_("Enter an amount of 0 or more, e.g. 50000 or 50,000.00."));
        else {
            char buf[MONEY_FORMAT_MAX];
            money_format_buf(m, 2, FALSE, buf, sizeof buf);
            form_set(f, "credit_limit", arena_strdup(a, buf)); /* as stored: "50000.00" */
        }
    }

    const char *owner = form_get(f, "owner_id");
    long oid;
    if (*owner && field_ok(f, "owner_id") && !same_as_stored(stored, f, "owner_id")) {
        PGresult *r = db_exec_memo(&req->memo, "SELECT active FROM users WHERE id = $1::bigint", owner);
        if (!r)
            return -1;
        if (!PQntuples(r) || !is_true(PQgetvalue(r, 0, 0)))
            form_error(f, "owner_id", N_("Choose an active user as owner."));
        else if (!customers_parse_id(owner, &oid) || !scope_sees_user(req, oid))
            form_error(f, "owner_id", N_("You can only choose people whose customers you may see."));
    }
    return f->nerrors;
}

/* ==== create and update ===================================================================== */

/* After a unique violation: which of name and code was taken meanwhile (own transaction only;
 * inside a caller's aborted transaction nothing more can be asked). */
static void explain_unique(Request *req, Form *f, long exclude_id, bool can_query)
{
    CustomerDup dup;
    if (can_query) {
        char *key = dedup_name_key(form_get(f, "name"));
        int rc = customers_find_duplicate(req, key ? key : "", exclude_id, &dup);
        g_free(key);
        if (rc == 1) {
            if (dup.pool)
                form_error(f, "name", N_("This customer already exists in the public pool."));
            else
                form_error_arg(f, "name", N_("This customer already exists, owned by %s."),
                               *dup.owner ? dup.owner : "—");
            return;
        }
        if (*form_get(f, "code")) {
            form_error(f, "code", N_("Another customer already has this code."));
            return;
        }
    }
    form_error(f, "name", N_("This name or code was taken meanwhile. Check and save again."));
}

/* CUSTOMER_INSERT_SQL's arrays in its order: form fields, except name_key and phone_key (computed
 * from name and phone) and code (the typed one or the number taken). */
static const char *const insert_fields[] = {
    "name", "name_key", "short_name", "code", "category_id", "level_id", "source_id", "industry_id",
    "province_id", "city_id", "address", "phone", "phone_key", "website", "tax_id", "bank_name",
    "bank_account", "status", "credit_limit", "payment_terms", "last_contact_on", "remarks"};
#define INSERT_ARRAYS ((int)G_N_ELEMENTS(insert_fields))

/* Runs CUSTOMER_INSERT_SQL for the rows todo[0..n) of forms, with their codes. Each new row gets
 * its id in ids[] and its audit row; done[] marks them. Returns 0 or -1 (database). */
static int insert_rows(Request *req, Form **forms, const int *todo, int n, const char **codes,
                       long owner_id, long *ids, bool *done)
{
    Arena *a = req->arena;
    const char **col = arena_alloc(a, sizeof(char *) * (size_t)n);
    const char *params[INSERT_ARRAYS + 2];
    GHashTable *by_code = g_hash_table_new(g_str_hash, g_str_equal);
    for (int k = 0; k < INSERT_ARRAYS; k++) {
        const char *fld = insert_fields[k];
        bool name_key = strcmp(fld, "name_key") == 0, phone_key = strcmp(fld, "phone_key") == 0;
        bool code = strcmp(fld, "code") == 0, credit = strcmp(fld, "credit_limit") == 0;
        for (int j = 0; j < n; j++) {
            Form *f = forms[todo[j]];
            const char *v;
            if (name_key || phone_key) {
                char *key = name_key ? dedup_name_key(form_get(f, "name")) : dedup_phone_key(form_get(f, "phone"));
                v = arena_strdup(a, key ? key : "");
                g_free(key);
            } else if (code) {
                v = codes[todo[j]];
            } else {
                v = form_get(f, fld);
                if (credit && !*v)
                    v = "0";
            }
            col[j] = v;
        }
        params[k] = sql_text_array(a, col, n);
    }
    for (int j = 0; j < n; j++)
        g_hash_table_insert(by_code, (gpointer)codes[todo[j]], GINT_TO_POINTER(todo[j] + 1));
    params[INSERT_ARRAYS] = req_id_text(req, owner_id > 0 ? owner_id : 0);
    params[INSERT_ARRAYS + 1] = req_id_text(req, req->user->id);
    PGresult *ins = db_run(a, CUSTOMER_INSERT_SQL, INSERT_ARRAYS + 2, params, true);
    int rc = ins ? 0 : -1;
    int idc = ins ? PQfnumber(ins, "id") : -1, codec = ins ? PQfnumber(ins, "code") : -1;
    for (int r = 0; ins && r < PQntuples(ins) && rc == 0; r++) {
        int i = GPOINTER_TO_INT(g_hash_table_lookup(by_code, PQgetvalue(ins, r, codec))) - 1;
        if (i < 0) {
            rc = -1; /* a row the arrays did not hold: cannot happen */
            break;
        }
        ids[i] = atol(PQgetvalue(ins, r, idc));
        done[i] = true;
        AuditDiff *d = audit_diff_new(a);
        for (int c = 0; c < PQnfields(ins); c++)
            if (c != idc)
                audit_diff(d, PQfname(ins, c), "", db_val(ins, r, c));
        rc = audit_write(req, "customers", "create", "customer", ids[i], form_get(forms[i], "name"), d, "ok");
    }
    g_hash_table_destroy(by_code);
    return rc;
}

int customers_insert_many(Request *req, Form **forms, int n, long owner_id, long *ids)
{
    Arena *a = req->arena;
    bool own_tx = !in_caller_tx();
    char state[6] = "";
    if (own_tx && db_begin(a) < 0)
        return -1;
    const char **codes = arena_alloc(a, sizeof(char *) * (size_t)(n + 1));
    bool *done = arena_alloc(a, sizeof(bool) * (size_t)(n + 1));
    int *todo = arena_alloc(a, sizeof(int) * (size_t)(n + 1));
    int ntodo = 0, refused = 0;
    for (int i = 0; i < n; i++) {
        ids[i] = -1;
        done[i] = false;
        codes[i] = form_get(forms[i], "code");
    }
    /* Every row, then again those whose number a hand-typed code had taken, with the next one. */
    for (int attempt = 0; attempt < CODE_TRIES; attempt++) {
        ntodo = 0;
        for (int i = 0; i < n; i++) {
            if (done[i] || (attempt > 0 && *form_get(forms[i], "code")))
                continue; /* written, or a typed code that is taken: no other to try */
            if (!*form_get(forms[i], "code") && !(codes[i] = numbering_next(a, "customer")))
                goto fail;
            todo[ntodo++] = i;
        }
        if (ntodo == 0)
            break;
        if (insert_rows(req, forms, todo, ntodo, codes, owner_id, ids, done) < 0)
            goto fail;
    }
    for (int i = 0; i < n; i++) {
        if (done[i]) {
            form_set(forms[i], "code", codes[i]);
        } else {
            form_error(forms[i], "code", N_("Another customer already has this code."));
            refused++;
        }
    }
    if (refused) {
        if (own_tx)
            db_rollback(a);
        return -1;
    }
    if (own_tx && db_commit(a) < 0)
        goto fail;
    return 0;
fail:
    keep_state(state);
    if (own_tx)
        db_rollback(a);
    if (strcmp(state, "23505") == 0 && n == 1 && own_tx)
        explain_unique(req, forms[0], 0, true);
    else if (strcmp(state, "23505") == 0 && n == 1)
        form_error(forms[0], "name", N_("This name or code was taken meanwhile. Check and save again."));
    return -1;
}

#define SEARCH_WRITE_BATCH 1000 /* customers per kx_customer_search_write */

int customers_search_write(Request *req, const long *ids, int n)
{
    for (int from = 0; from < n; from += SEARCH_WRITE_BATCH) {
        GString *arr = g_string_new("{");
        for (int i = from; i < n && i < from + SEARCH_WRITE_BATCH; i++)
            g_string_append_printf(arr, "%s%ld", i > from ? "," : "", ids[i]);
        g_string_append_c(arr, '}');
        PGresult *r = db_exec(req->arena, "SELECT kx_customer_search_write($1::bigint[])",
                              arena_strdup(req->arena, arr->str));
        g_string_free(arr, TRUE);
        if (!r)
            return -1;
    }
    return 0;
}

long customers_insert(Request *req, Form *f, long owner_id)
{
    long id = -1;
    return customers_insert_many(req, &f, 1, owner_id, &id) < 0 ? -1 : id;
}

/* Whether any field differs from what the edit started from. */
static bool form_changed(const Form *f)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->values[i], f->orig[i]) != 0)
            return true;
    return false;
}

int customers_update(Request *req, Form *f, long id, int *changes)
{
    Arena *a = req->arena;
    *changes = 0;
    if (!form_changed(f))
        return 1; /* nothing typed: nothing to write, nothing to conflict with */
    bool own_tx = !in_caller_tx();
    char state[6] = "";
    const char *sid = req_id_text(req, id);
    if (own_tx && db_begin(a) < 0)
        return -1;
    char *key = dedup_name_key(form_get(f, "name"));
    char *pkey = dedup_phone_key(form_get(f, "phone"));
    const char *nkey = arena_strdup(a, key ? key : ""), *phone_key = arena_strdup(a, pkey ? pkey : "");
    g_free(key);
    g_free(pkey);
    PGresult *old = db_exec(a, CUSTOMER_SNAPSHOT_SQL, sid);
    if (!old)
        goto fail;
    PGresult *up = db_exec(a, CUSTOMER_UPDATE_SQL, sid, f->version ? f->version : "0",
        form_get(f, "name"), nkey, form_get(f, "short_name"), form_get(f, "code"),
        form_get(f, "category_id"), form_get(f, "level_id"), form_get(f, "source_id"),
        form_get(f, "industry_id"), form_get(f, "province_id"), form_get(f, "city_id"),
        form_get(f, "address"), form_get(f, "phone"), phone_key, form_get(f, "website"),
        form_get(f, "tax_id"), form_get(f, "bank_name"), form_get(f, "bank_account"),
        form_get(f, "owner_id"), form_get(f, "status"),
        *form_get(f, "credit_limit") ? form_get(f, "credit_limit") : "0",
        form_get(f, "payment_terms"), form_get(f, "last_contact_on"), form_get(f, "remarks"));
    if (!up)
        goto fail;
    if (atoi(PQcmdTuples(up)) == 0) {
        if (own_tx)
            db_rollback(a);
        return 0;
    }
    PGresult *now = db_exec(a, CUSTOMER_SNAPSHOT_SQL, sid);
    if (!now)
        goto fail;
    AuditDiff *d = audit_diff_new(a);
    diff_rows(d, old, now);
    *changes = audit_diff_count(d);
    if (audit_write(req, "customers", "update", "customer", id, form_get(f, "name"), d, "ok") < 0)
        goto fail;
    if (own_tx && db_commit(a) < 0)
        goto fail;
    return 1;
fail:
    keep_state(state);
    if (own_tx)
        db_rollback(a);
    if (strcmp(state, "23505") == 0)
        explain_unique(req, f, id, own_tx);
    return -1;
}

/* ==== rendering helpers ===================================================================== */

/* The frame around a control, as form.c draws it (label, control, help, note, error). */
static char *field_frame(Form *f, int i, const char *control)
{
    Arena *a = f->req->arena;
    const FieldDef *d = &f->defs[i];
    const char *lang = f->req->lang;
    GString *h = g_string_new(NULL);
    g_string_append_printf(h, "<div class=\"field%s\"><label for=\"f-%s\"%s>%s</label>",
                           f->errors[i] ? " has-error" : "", view_escape(a, d->name),
                           (d->flags & F_REQUIRED) ? " class=\"required\"" : "",
                           view_escape(a, i18n_get(lang, d->label)));
    g_string_append(h, control);
    if (d->help)
        g_string_append_printf(h, "<p class=\"field-help\">%s</p>", view_escape(a, i18n_get(lang, d->help)));
    if (f->notes[i])
        g_string_append_printf(h, "<p class=\"field-note\">%s</p>", view_escape(a, i18n_get(lang, f->notes[i])));
    if (f->errors[i]) {
        const char *msg = i18n_get(lang, f->errors[i]);
        /* Catalogue formats are trusted; the argument is data and is escaped with the text. */
        char *text = f->err_args[i] ? g_strdup_printf(msg, f->err_args[i]) : g_strdup(msg);
        g_string_append_printf(h, "<p class=\"field-error\" id=\"f-%s-err\">%s</p>", view_escape(a, d->name),
                               view_escape(a, text));
        g_free(text);
    }
    g_string_append(h, "</div>");
    char *out = arena_strdup(a, h->str);
    g_string_free(h, TRUE);
    return out;
}

/* <option>s of rows (value, label[, group value, group label]), the current one selected;
 * grouped rows become <optgroup>s and carry data-parent for static/js/customers.js. */
static void append_options(Arena *a, GString *h, const PGresult *rows, const char *current)
{
    bool grouped = PQnfields(rows) >= 4;
    const char *group = NULL;
    for (int k = 0; k < PQntuples(rows); k++) {
        const char *value = PQgetvalue(rows, k, 0);
        if (grouped && (!group || strcmp(group, PQgetvalue(rows, k, 2)) != 0)) {
            if (group)
                g_string_append(h, "</optgroup>");
            group = PQgetvalue(rows, k, 2);
            g_string_append_printf(h, "<optgroup label=\"%s\" data-parent=\"%s\">",
                                   view_escape(a, PQgetvalue(rows, k, 3)), view_escape(a, group));
        }
        g_string_append_printf(h, "<option value=\"%s\"%s", view_escape(a, value),
                               current && strcmp(current, value) == 0 ? " selected" : "");
        if (grouped)
            g_string_append_printf(h, " data-parent=\"%s\"", view_escape(a, PQgetvalue(rows, k, 2)));
        g_string_append_printf(h, ">%s</option>", view_escape(a, PQgetvalue(rows, k, 1)));
    }
    if (group)
        g_string_append(h, "</optgroup>");
}

static char *options_html(Request *req, const PGresult *rows, const char *current)
{
    GString *h = g_string_new(NULL);
    if (rows)
        append_options(req->arena, h, rows, current);
    char *out = arena_strdup(req->arena, h->str);
    g_string_free(h, TRUE);
    return out;
}

void customers_push_select(Form *f, View *v, const char *name, const PGresult *rows,
                           const char *none_msgid)
{
    Arena *a = f->req->arena;
    int i = field_index(f, name);
    g_assert(i >= 0);
    GString *h = g_string_new(NULL);
    g_string_append_printf(h, "<select id=\"f-%s\" name=\"%s\"", name, name);
    if (strcmp(name, "city_id") == 0)
        g_string_append(h, " data-parent-select=\"f-province_id\"");
    if (f->errors[i])
        g_string_append_printf(h, " aria-invalid=\"true\" aria-describedby=\"f-%s-err\"", name);
    g_string_append_printf(h, "><option value=\"\">%s</option>",
                           view_escape(a, i18n_get(f->req->lang, none_msgid)));
    append_options(a, h, rows, f->values[i]);
    g_string_append(h, "</select>");
    view_set_trusted_html(v, arena_printf(a, "f_%s", name), field_frame(f, i, h->str));
    g_string_free(h, TRUE);
}

/* Lookup options of one kind: active ones, plus `current` even when retired. */
static PGresult *lookup_options(Request *req, const char *kind, const char *current)
{
    return db_exec(req->arena,
        "SELECT id::text, name FROM lookups WHERE kind = $1"
        "   AND (active OR id = NULLIF($2, '')::bigint) ORDER BY sort, id",
        kind, current && customers_parse_id(current, &(long){0}) ? current : "");
}

static PGresult *province_query(Arena *a, const char *lang)
{
    return db_exec(a,
        "SELECT id::text, CASE WHEN $1 = 'en' THEN name_en ELSE name END FROM regions"
        " WHERE level = 1 ORDER BY sort, id",
        lang);
}

/* Every city, grouped by province (value, label, province id, province label). */
static PGresult *city_query(Arena *a, const char *lang)
{
    return db_exec(a,
        "SELECT c.id::text, CASE WHEN $1 = 'en' THEN c.name_en ELSE c.name END, p.id::text,"
        "       CASE WHEN $1 = 'en' THEN p.name_en ELSE p.name END"
        "  FROM regions c JOIN regions p ON p.id = c.parent_id"
        " WHERE c.level = 2 ORDER BY p.sort, p.id, c.sort, c.id",
        lang);
}

/* Regions are migration data (read-only in the settings), so each worker reads them once per
 * language and keeps the rows and their option HTML for its lifetime (in an arena of its own);
 * a request only marks its current value. Saves two queries and 500 options per list page. */
typedef struct {
    PGresult *rows;
    char *html; /* provinces only: the list filter's options (cities are offered per province) */
} RegionCache;

static RegionCache *regions_cached(Request *req, bool city)
{
    static Arena *keep;
    static RegionCache cache[2][2]; /* [English][city] */
    bool en = strcmp(req->lang, "en") == 0;
    RegionCache *rc = &cache[en][city];
    if (rc->rows)
        return rc;
    if (!keep)
        keep = arena_new();
    const char *lang = en ? "en" : "zh_CN";
    PGresult *rows = city ? city_query(keep, lang) : province_query(keep, lang);
    if (!rows)
        return NULL;
    if (!city) {
        GString *h = g_string_new(NULL);
        append_options(keep, h, rows, NULL);
        rc->html = arena_strdup(keep, h->str);
        g_string_free(h, TRUE);
    }
    rc->rows = rows;
    return rc;
}

static PGresult *province_options(Request *req)
{
    RegionCache *rc = regions_cached(req, false);
    return rc ? rc->rows : NULL;
}

static PGresult *city_options(Request *req)
{
    RegionCache *rc = regions_cached(req, true);
    return rc ? rc->rows : NULL;
}

/* The cached province options with `current` (an id as typed: it is looked up, never trusted)
 * marked selected. */
static char *province_options_html(Request *req, const char *current)
{
    RegionCache *rc = regions_cached(req, false);
    if (!rc)
        return NULL;
    long id;
    if (!current || !customers_parse_id(current, &id))
        return rc->html;
    const char *mark = arena_printf(req->arena, "<option value=\"%ld\"", id);
    const char *at = strstr(rc->html, mark);
    if (!at)
        return rc->html;
    size_t head = (size_t)(at - rc->html) + strlen(mark);
    return arena_printf(req->arena, "%.*s selected%s", (int)head, rc->html, rc->html + head);
}

/* The list filter's city options: those of the chosen province, or of the chosen city's province;
 * with neither, none (customers.js asks GET /customers/cities for a province's cities when one is
 * chosen; without script, filtering by province first offers its cities). All 500 cities on every
 * list page were 30 KB of its 75. */
static char *city_filter_options(Request *req, const char *province, const char *city)
{
    RegionCache *rc = regions_cached(req, true);
    if (!rc)
        return NULL;
    const PGresult *rows = rc->rows;
    long id;
    const char *pid = province && customers_parse_id(province, &id) ? province : NULL;
    for (int k = 0; !pid && city && k < PQntuples(rows); k++)
        if (strcmp(PQgetvalue(rows, k, 0), city) == 0)
            pid = PQgetvalue(rows, k, 2);
    GString *h = g_string_new(NULL);
    for (int k = 0; pid && k < PQntuples(rows); k++) {
        const char *value = PQgetvalue(rows, k, 0);
        if (strcmp(PQgetvalue(rows, k, 2), pid) == 0)
            g_string_append_printf(h, "<option value=\"%s\"%s>%s</option>", view_escape(req->arena, value),
                                   city && strcmp(city, value) == 0 ? " selected" : "",
                                   view_escape(req->arena, PQgetvalue(rows, k, 1)));
    }
    char *out = arena_strdup(req->arena, h->str);
    g_string_free(h, TRUE);
    return out;
}

/* GET /customers/cities?province=ID: the province's cities as JSON, [[id, name], …] in the
 * caller's language ([] for an unknown province). Regions are migration data: the browser may
 * keep the answer for an hour. */
static void cities_json(Request *req)
{
    long pid;
    const char *p = customers_qparam(req, "province", 12);
    if (!p || !customers_parse_id(p, &pid)) {
        resp_error(req, 404);
        return;
    }
    PGresult *r = db_exec(req->arena,
        "SELECT coalesce(json_agg(json_build_array(id::text,"
        "         CASE WHEN $2 = 'en' THEN name_en ELSE name END) ORDER BY sort, id), '[]')"
        "  FROM regions WHERE parent_id = $1::int AND level = 2",
        p, strcmp(req->lang, "en") == 0 ? "en" : "zh_CN");
    if (!r || PQntuples(r) != 1) {
        resp_error(req, 503);
        return;
    }
    resp_header(req, "Cache-Control", "private, max-age=3600");
    resp_json(req, 200, PQgetvalue(r, 0, 0));
}

/* Active people in the caller's scope (plus `current`), as owner options. */
static PGresult *owner_options(Request *req, const char *current)
{
    SqlBuf *q = sql_new(req->arena,
        "SELECT u.id::text, CASE WHEN u.display_name <> '' AND u.display_name <> u.username"
        "  THEN u.display_name || ' (' || u.username || ')' ELSE u.username END"
        "  FROM users u WHERE (u.active OR u.id = NULLIF(");
    sql_add(q, sql_param(q, current && customers_parse_id(current, &(long){0}) ? current : ""));
    sql_add(q, ", '')::bigint) AND (");
    if (scope_filter(req, q, "u.id", NULL) < 0)
        return NULL;
    sql_add(q, arena_printf(req->arena, ") ORDER BY lower(u.display_name), lower(u.username), u.id LIMIT %d",
                            OWNER_OPTIONS_MAX));
    return sql_exec_prepared(q);
}

/* Status label in SQL: CASE c.status WHEN … THEN <translation> END, translations as parameters. */
static void add_status_name(Request *req, SqlBuf *q, const char *col)
{
    sql_add(q, "CASE ");
    sql_add(q, col);
    for (const Choice *c = customer_statuses; c->value; c++) {
        sql_add(q, " WHEN ");
        sql_add(q, sql_param(q, c->value));
        sql_add(q, " THEN ");
        sql_add(q, sql_param(q, i18n_get(req->lang, c->label)));
    }
    sql_add(q, " END");
}

/* Region labels as people write them in each language. */
static const char *region_sql(Request *req)
{
    return strcmp(req->lang, "en") == 0 ? "concat_ws(', ', ci.name_en, p.name_en)"
                                        : "concat_ws(' ', p.short_name, ci.short_name)";
}

/* ==== the list ============================================================================== */

typedef struct Filters {
    /* as typed (trimmed), for the form */
    const char *q, *category, *level, *source, *industry, *status, *province, *city, *owner;
    const char *created_from, *created_to, *contact_from, *contact_to, *archived;
    bool q_short;  /* one character: a hint instead of a search */
    bool bad_date; /* a date that is not YYYY-MM-DD was ignored */
    bool any;      /* any filter set (for the empty state) */
} Filters;

/* The URL parameters of the list (what a saved search keeps). */
static const char *const filter_names[] = {
    "q", "category", "level", "source", "industry", "status", "province", "city", "owner",
    "created_from", "created_to", "contact_from", "contact_to", "archived", "sort", "dir", "per",
    NULL,
};

static const char *id_param(Request *req, const char *name)
{
    const char *v = customers_qparam(req, name, 20);
    long id;
    return v && customers_parse_id(v, &id) ? v : NULL;
}

static const char *date_param(Request *req, const char *name, Filters *f)
{
    const char *v = customers_qparam(req, name, 32);
    if (v && !customers_valid_date(v)) {
        f->bad_date = true;
        return NULL;
    }
    return v;
}

static Filters *filters_read(Request *req)
{
    Filters *f = arena_alloc(req->arena, sizeof *f);
    f->q = customers_qparam(req, "q", 200);
    f->category = id_param(req, "category");
    f->level = id_param(req, "level");
    f->source = id_param(req, "source");
    f->industry = id_param(req, "industry");
    f->province = id_param(req, "province");
    f->city = id_param(req, "city");
    f->owner = id_param(req, "owner");
    const char *st = customers_qparam(req, "status", 16);
    for (const Choice *c = customer_statuses; st && c->value; c++)
        if (strcmp(c->value, st) == 0)
            f->status = c->value;
    f->created_from = date_param(req, "created_from", f);
    f->created_to = date_param(req, "created_to", f);
    f->contact_from = date_param(req, "contact_from", f);
    f->contact_to = date_param(req, "contact_to", f);
    const char *ar = customers_qparam(req, "archived", 8);
    f->archived = ar && (!strcmp(ar, "only") || !strcmp(ar, "all")) ? ar : NULL;
    if (f->q) {
        /* The bigram index needs two characters side by side. */
        bool pair = false;
        const char *p = f->q;
        while (*p && !pair) {
            const char *n = g_utf8_next_char(p);
            pair = *n && !g_unichar_isspace(g_utf8_get_char(p)) && !g_unichar_isspace(g_utf8_get_char(n));
            p = n;
        }
        f->q_short = !pair;
    }
    f->any = f->q || f->category || f->level || f->source || f->industry || f->status ||
             f->province || f->city || f->owner || f->created_from || f->created_to ||
             f->contact_from || f->contact_to || f->archived;
    return f;
}

/* Appends " AND <day bound>" for a timestamp column in the company's time zone. */
static void add_day_bound(Request *req, SqlBuf *q, const char *col, const char *day, bool upper)
{
    sql_add(q, arena_printf(req->arena, upper ? " AND %s < ((%s::date + 1)::timestamp AT TIME ZONE %s::text)"
                                              : " AND %s >= (%s::date::timestamp AT TIME ZONE %s::text)",
                            col, sql_param(q, day), sql_param(q, cfg.timezone)));
}

/* The one WHERE of the page, its count and the export, so all three see the same rows. */
/* The quick search on customer_search s: every 2-character piece of the query in s.terms (GIN),
 * then the exact substring in s.text — not needed for exactly two characters, which are their
 * one piece. */
static void search_match(Request *req, SqlBuf *q, const char *text)
{
    sql_addp(q, "s.terms @> kx_bigrams(%s)", text);
    if (g_utf8_strlen(text, -1) > 2)
        sql_addp(q, " AND s.text ILIKE %s", sql_like_contains(req->arena, text));
}

static int filters_where(Request *req, const Filters *f, SqlBuf *q)
{
    sql_add(q, " WHERE ");
    if (customers_visible(req, q) < 0)
        return -1;
    if (f->q && !f->q_short) {
        /* Index: every 2-character piece of the query is in customer_search.terms (GIN); then
         * the exact substring in its text (name, short name, code, phone, contacts' names and
         * numbers). A query of exactly two characters is its one piece: the index answer is
         * already exact. */
        sql_add(q, " AND c.id IN (SELECT s.customer_id FROM customer_search s WHERE ");
        search_match(req, q, f->q);
        sql_add(q, ")");
    }
    if (f->category)
        sql_addp(q, " AND c.category_id = %s::bigint", f->category);
    if (f->level)
        sql_addp(q, " AND c.level_id = %s::bigint", f->level);
    if (f->source)
        sql_addp(q, " AND c.source_id = %s::bigint", f->source);
    if (f->industry)
        sql_addp(q, " AND c.industry_id = %s::bigint", f->industry);
    if (f->status)
        sql_addp(q, " AND c.status = %s", f->status);
    if (f->province)
        sql_addp(q, " AND c.province_id = %s::int", f->province);
    if (f->city)
        sql_addp(q, " AND c.city_id = %s::int", f->city);
    if (f->owner)
        sql_addp(q, " AND c.owner_id = %s::bigint", f->owner);
    if (f->created_from)
        add_day_bound(req, q, "c.created_at", f->created_from, false);
    if (f->created_to)
        add_day_bound(req, q, "c.created_at", f->created_to, true);
    if (f->contact_from)
        sql_addp(q, " AND c.last_contact_on >= %s::date", f->contact_from);
    if (f->contact_to)
        sql_addp(q, " AND c.last_contact_on <= %s::date", f->contact_to);
    if (!f->archived)
        sql_add(q, " AND NOT c.archived");
    else if (strcmp(f->archived, "only") == 0)
        sql_add(q, " AND c.archived");
    return 0;
}

static const ListSort customer_sorts[] = {
    {"updated", "c.updated_at", false},
    {"created", "c.created_at", false},
    {"last_contact", "c.last_contact_on", true},
    {"name", "c.name", false},
    {"code", "lower(c.code)", false},
    {"owner", "(SELECT coalesce(nullif(u.display_name, ''), u.username) FROM users u WHERE u.id = c.owner_id)", false},
    {"status", "c.status", false},
    {NULL, NULL, false},
};

/* ORDER BY for the chosen sort, written to match the indexes: (updated_at DESC, id DESC) and
 * (created_at DESC, id DESC) in either direction, (last_contact_on DESC NULLS LAST, id DESC) —
 * read backwards for ascending, which puts never-contacted customers first: the most neglected. */
static const char *order_by(Request *req, const ListState *ls)
{
    const char *key = ls->sorts[ls->sort].key, *col = ls->sorts[ls->sort].sql;
    const char *dir = ls->desc ? "DESC" : "ASC";
    if (strcmp(key, "last_contact") == 0)
        return ls->desc ? " ORDER BY c.last_contact_on DESC NULLS LAST, c.id DESC"
                        : " ORDER BY c.last_contact_on ASC NULLS FIRST, c.id ASC";
    return arena_printf(req->arena, " ORDER BY %s %s, c.id %s", col, dir, dir);
}

/* The columns the inner (filtered, ordered, limited) query hands to the outer one. */
static const char INNER_COLUMNS[] =
    "c.id, c.code, c.name, c.short_name, c.category_id, c.level_id, c.source_id, c.industry_id,"
    " c.province_id, c.city_id, c.address, c.phone, c.website, c.tax_id, c.bank_name, c.bank_account,"
    " c.owner_id, c.status, c.credit_limit, c.payment_terms, c.last_contact_on, c.created_at,"
    " c.updated_at, c.archived, c.remarks";

/* The dressed columns of customer rows that the list and the export choose from: lookup names,
 * region, owner, primary contact, dates as text. Each statement asks only for the columns it
 * shows and gets only the joins those need: the list's 15 columns, 5 joins and no remarks
 * took 40 % less time in PostgreSQL than all 27 with 8 joins (12 % less CPU per page). */
enum {
    J_CATEGORY = 1 << 0, J_LEVEL = 1 << 1, J_SOURCE = 1 << 2, J_INDUSTRY = 1 << 3,
    J_PROVINCE = 1 << 4, J_CITY = 1 << 5, J_OWNER = 1 << 6, J_CONTACT = 1 << 7,
};

typedef enum { D_SQL, D_STATUS_NAME, D_REGION, D_LOCAL_TIME } DressKind;

static const struct {
    const char *name, *sql; /* for D_LOCAL_TIME: the timestamp column */
    DressKind kind;
    unsigned joins;
} dressed[] = {
    {"id", "c.id", D_SQL, 0},
    {"code", "c.code", D_SQL, 0},
    {"name", "c.name", D_SQL, 0},
    {"short_name", "c.short_name", D_SQL, 0},
    {"category", "coalesce(cat.name, '')", D_SQL, J_CATEGORY},
    {"level", "coalesce(lv.name, '')", D_SQL, J_LEVEL},
    {"source", "coalesce(src.name, '')", D_SQL, J_SOURCE},
    {"industry", "coalesce(ind.name, '')", D_SQL, J_INDUSTRY},
    {"status", "c.status", D_SQL, 0},
    {"status_name", NULL, D_STATUS_NAME, 0},
    {"region", NULL, D_REGION, J_PROVINCE | J_CITY},
    {"province", "coalesce(p.name, '')", D_SQL, J_PROVINCE},
    {"city", "coalesce(ci.name, '')", D_SQL, J_CITY},
    {"address", "c.address", D_SQL, 0},
    {"phone", "c.phone", D_SQL, 0},
    {"website", "c.website", D_SQL, 0},
    {"tax_id", "c.tax_id", D_SQL, 0},
    {"bank_name", "c.bank_name", D_SQL, 0},
    {"bank_account", "c.bank_account", D_SQL, 0},
    {"owner", "coalesce(nullif(u.display_name, ''), u.username, '')", D_SQL, J_OWNER},
    {"credit_limit", "c.credit_limit::text", D_SQL, 0},
    {"payment_terms", "c.payment_terms", D_SQL, 0},
    {"contact", "coalesce(pc.name, '')", D_SQL, J_CONTACT},
    {"contact_phone", "coalesce(nullif(pc.mobile, ''), pc.phone, '')", D_SQL, J_CONTACT},
    {"last_contact", "coalesce(c.last_contact_on::text, '')", D_SQL, 0},
    {"created", "c.created_at", D_LOCAL_TIME, 0},
    {"updated", "c.updated_at", D_LOCAL_TIME, 0},
    {"archived", "CASE WHEN c.archived THEN '1' ELSE '' END", D_SQL, 0},
    {"remarks", "c.remarks", D_SQL, 0},
};

/* The list row's columns (templates/customers/list_row.html). */
static const char *const list_columns[] = {
    "id", "code", "name", "short_name", "category", "level", "status", "status_name", "archived",
    "region", "owner", "contact", "contact_phone", "last_contact", "updated",
};

/* "SELECT <the named columns> FROM (": the caller adds a SELECT of INNER_COLUMNS, then
 * dress_tail(q, joins) closes it and joins what the columns need (the returned bits). */
static unsigned dress_head(Request *req, SqlBuf *q, const char *const *cols, int ncols)
{
    unsigned joins = 0;
    sql_add(q, "SELECT ");
    for (int i = 0; i < ncols; i++) {
        size_t d = 0;
        while (d < G_N_ELEMENTS(dressed) && strcmp(dressed[d].name, cols[i]) != 0)
            d++;
        g_assert(d < G_N_ELEMENTS(dressed)); /* a column name of this file's own tables */
        if (i > 0)
            sql_add(q, ", ");
        switch (dressed[d].kind) {
        case D_SQL:
            sql_add(q, dressed[d].sql);
            break;
        case D_STATUS_NAME:
            add_status_name(req, q, "c.status");
            break;
        case D_REGION:
            sql_add(q, region_sql(req));
            break;
        case D_LOCAL_TIME:
            /* ISO text (DateStyle ISO: db.c) cut to the minute: to_char cost 4 µs per value. */
            sql_addp(q, arena_printf(req->arena, "left((%s AT TIME ZONE %%s::text)::text, 16)", dressed[d].sql),
                     cfg.timezone);
            break;
        }
        sql_add(q, " AS ");
        sql_add(q, dressed[d].name);
        joins |= dressed[d].joins;
    }
    sql_add(q, " FROM (");
    return joins;
}

static void dress_tail(SqlBuf *q, unsigned joins)
{
    static const struct {
        unsigned bit;
        const char *sql;
    } join_sql[] = {
        {J_CATEGORY, " LEFT JOIN lookups cat ON cat.id = c.category_id"},
        {J_LEVEL, " LEFT JOIN lookups lv ON lv.id = c.level_id"},
        {J_SOURCE, " LEFT JOIN lookups src ON src.id = c.source_id"},
        {J_INDUSTRY, " LEFT JOIN lookups ind ON ind.id = c.industry_id"},
        {J_PROVINCE, " LEFT JOIN regions p ON p.id = c.province_id"},
        {J_CITY, " LEFT JOIN regions ci ON ci.id = c.city_id"},
        {J_OWNER, " LEFT JOIN users u ON u.id = c.owner_id"},
        {J_CONTACT, " LEFT JOIN LATERAL (SELECT ct.name, ct.mobile, ct.phone FROM contacts ct"
                    "   WHERE ct.customer_id = c.id ORDER BY ct.is_primary DESC, ct.id LIMIT 1) pc ON true"},
    };
    sql_add(q, ") c");
    for (size_t j = 0; j < G_N_ELEMENTS(join_sql); j++)
        if (joins & join_sql[j].bit)
            sql_add(q, join_sql[j].sql);
}

static const XlsxColumn export_columns[] = {
    {"code", N_("Customer code"), XL_TEXT, 12},
    {"name", N_("Customer name"), XL_TEXT, 32},
    {"short_name", N_("Short name"), XL_TEXT, 14},
    {"category", N_("Category"), XL_TEXT, 12},
    {"level", N_("Level"), XL_TEXT, 12},
    {"status_name", N_("Status"), XL_TEXT, 10},
    {"source", N_("Source"), XL_TEXT, 12},
    {"industry", N_("Industry"), XL_TEXT, 12},
    {"province", N_("Province"), XL_TEXT, 12},
    {"city", N_("City"), XL_TEXT, 12},
    {"address", N_("Address"), XL_TEXT, 30},
    {"phone", N_("Phone"), XL_TEXT, 16},
    {"website", N_("Website"), XL_TEXT, 20},
    {"tax_id", N_("Tax ID"), XL_TEXT, 22},
    {"bank_name", N_("Bank"), XL_TEXT, 20},
    {"bank_account", N_("Bank account"), XL_TEXT, 24},
    {"owner", N_("Owner"), XL_TEXT, 12},
    {"credit_limit", N_("Credit limit (CNY)"), XL_AMOUNT, 14},
    {"payment_terms", N_("Payment terms"), XL_TEXT, 16},
    {"contact", N_("Primary contact"), XL_TEXT, 12},
    {"contact_phone", N_("Contact phone"), XL_TEXT, 16},
    {"last_contact", N_("Last contact"), XL_DATE, 12},
    {"created", N_("Created on"), XL_DATETIME, 16},
    {"updated", N_("Updated"), XL_DATETIME, 16},
    {"remarks", N_("Remarks"), XL_TEXT, 30},
    {NULL, NULL, XL_TEXT, 0},
};

/* The export: the filtered rows in the list's order (up to EXPORT_CAP), with the sheet's
 * columns, in one statement. */
static SqlBuf *build_export(Request *req, const Filters *f, const ListState *ls)
{
    SqlBuf *q = sql_new(req->arena, "");
    const char *cols[G_N_ELEMENTS(export_columns)];
    int ncols = 0;
    for (; export_columns[ncols].column; ncols++)
        cols[ncols] = export_columns[ncols].column;
    unsigned joins = dress_head(req, q, cols, ncols);
    sql_add(q, "SELECT ");
    sql_add(q, INNER_COLUMNS);
    sql_add(q, " FROM customers c");
    if (filters_where(req, f, q) < 0)
        return NULL;
    const char *order = order_by(req, ls);
    sql_add(q, order);
    sql_add(q, arena_printf(req->arena, " LIMIT %d", EXPORT_CAP));
    dress_tail(q, joins);
    sql_add(q, order);
    return q;
}

/* One page in two statements. The first finds the matching ids in the list's order on customers
 * alone, up to the count's bound (ls->cap + 1): that is both the bounded count and the page, one
 * scan instead of two. Its text varies with the filters and it is planned for its values (cheap:
 * one table). The second dresses the page's ids up: its text never changes, so its plan for eight
 * joins is made once per connection (prepared statement, generic plan) instead of costing 4–10 ms
 * per request. ?count=all adds an unbounded count. */
/* Whether the page is a quick search of everything, newest change first, by a caller who sees
 * every owned customer: customer_search alone answers that (its live flag and updated_at,
 * migration 0013), without looking each match up in customers. */
static bool search_everything(Request *req, const Filters *f, const ListState *ls)
{
    const char *ids;
    bool all;
    if (!f->q || f->q_short || f->category || f->level || f->source || f->industry || f->status ||
        f->province || f->city || f->owner || f->created_from || f->created_to || f->contact_from ||
        f->contact_to || f->archived || strcmp(ls->sorts[ls->sort].key, "updated") != 0 || !ls->desc)
        return false;
    return scope_visible_users(req, &ids, &all) == 0 && all;
}

/* How a quick search of everything finds its newest matches: by walking
 * customer_search_order_idx newest first and testing each row's text, or by reading every match
 * from the GIN index of its pieces and keeping the newest. The planner estimates the number of
 * matches well but not what its tests cost per row, and walked 42,000 rows testing `terms @>`
 * (6.4 µs a row: 270 ms) for 杭州 at 1M customers where reading its 22,727 matches takes 75 ms.
 * So the choice is made here (list_walk_cheaper) with the frequency of the query's rarest piece,
 * from pg_stats' most common elements of customer_search.terms (kept per worker for
 * PIECE_STATS_TTL; a piece not among them is rarer than all of them), and the walk tests the
 * text itself: LIKE when the query has no letters of two cases (科技, 13800: the same answer as
 * ILIKE), else ILIKE. Costs per row through the application at 1M customers (one connection,
 * each way forced), in tenths of a µs: */
#define WALK_LIKE_COST 22  /* 杭州: 42,000 rows walked in 94 ms; 科技: 6,600 in 17 ms */
#define WALK_ILIKE_COST 50 /* ILIKE instead of LIKE: 2.5 times the LIKE walk (psql) */
#define GIN_MATCH_COST 35  /* 杭州: 22,727 matches read and sorted in 79 ms */
#define PIECE_STATS_TTL (10 * 60 * G_USEC_PER_SEC)

typedef struct {
    GHashTable *ppm; /* piece -> frequency, parts per million (GINT_TO_POINTER) */
    gint64 rows, loaded_at;
} PieceStats;

static const PieceStats *piece_stats(Request *req)
{
    static PieceStats st;
    gint64 now = g_get_monotonic_time();
    if (st.ppm && now - st.loaded_at < PIECE_STATS_TTL)
        return &st;
    PGresult *r = db_exec(req->arena,
        "SELECT e, round(f * 1000000)::int::text, (SELECT greatest(reltuples, 0)::bigint::text FROM pg_class"
        "  WHERE oid = 'customer_search'::regclass)"
        " FROM pg_stats s, unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) u(e, f)"
        " WHERE s.schemaname = current_schema() AND s.tablename = 'customer_search' AND s.attname = 'terms'"
        "   AND e IS NOT NULL");
    if (!st.ppm)
        st.ppm = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_remove_all(st.ppm);
    st.rows = 0;
    st.loaded_at = now;
    if (!r) { /* nothing known (every match is read) until the next try, in a minute */
        st.loaded_at = now - PIECE_STATS_TTL + 60 * G_USEC_PER_SEC;
        return &st;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        g_hash_table_insert(st.ppm, g_strdup(PQgetvalue(r, i, 0)), GINT_TO_POINTER(atoi(PQgetvalue(r, i, 1))));
        st.rows = g_ascii_strtoll(PQgetvalue(r, i, 2), NULL, 10);
    }
    return &st;
}

/* Whether the query's letters have no case: LIKE then answers as ILIKE does, 2–3 times faster. */
static bool caseless(const char *q)
{
    g_autofree gchar *low = g_utf8_strdown(q, -1), *up = g_utf8_strup(q, -1);
    return strcmp(low, q) == 0 && strcmp(up, q) == 0;
}

/* Whether walking the order index (testing with LIKE when like, else ILIKE) is cheaper than
 * reading every match (see above). */
static bool search_walk_cheaper(Request *req, const char *q, bool like, long bound)
{
    const PieceStats *st = piece_stats(req);
    /* The query's pieces as kx_bigrams cuts them (lower case, every 2 characters). */
    g_autofree gchar *low = g_utf8_strdown(q, -1);
    gint64 rarest = -1;
    for (const char *a = low; *a && *g_utf8_next_char(a); a = g_utf8_next_char(a)) {
        const char *b = g_utf8_next_char(a);
        g_autofree gchar *piece = g_strndup(a, (gsize)(g_utf8_next_char(b) - a));
        gint64 ppm = GPOINTER_TO_INT(g_hash_table_lookup(st->ppm, piece));
        rarest = rarest < 0 ? ppm : MIN(rarest, ppm);
    }
    return list_walk_cheaper(st->rows, rarest, bound, like ? WALK_LIKE_COST : WALK_ILIKE_COST, GIN_MATCH_COST);
}

static PGresult *page_rows(Request *req, const Filters *f, ListState *ls)
{
    SqlBuf *ids;
    long offset = (long)(ls->page - 1) * ls->per_page;
    long limit = ls->cap ? ls->cap + 1 : offset + ls->per_page;
    if (search_everything(req, f, ls)) {
        bool like = caseless(f->q);
        if (search_walk_cheaper(req, f->q, like, limit)) {
            ids = sql_new(req->arena, "SELECT s.customer_id FROM customer_search s WHERE s.live AND ");
            sql_addp(ids, like ? "s.text LIKE %s" : "s.text ILIKE %s",
                     sql_like_contains(req->arena, f->q));
            sql_add(ids, " ORDER BY s.updated_at DESC, s.customer_id DESC");
        } else {
            ids = sql_new(req->arena, "WITH m AS MATERIALIZED (SELECT s.customer_id, s.updated_at"
                                      " FROM customer_search s WHERE s.live AND ");
            search_match(req, ids, f->q);
            sql_add(ids, ") SELECT m.customer_id FROM m ORDER BY m.updated_at DESC, m.customer_id DESC");
        }
    } else {
        ids = sql_new(req->arena, "SELECT c.id FROM customers c");
        if (filters_where(req, f, ids) < 0)
            return NULL;
        sql_add(ids, order_by(req, ls));
    }
    sql_add(ids, arena_printf(req->arena, " LIMIT %ld", limit));
    PGresult *r = sql_exec(ids);
    if (!r)
        return NULL;
    if (ls->cap) {
        ls->total = PQntuples(r);
    } else {
        SqlBuf *count = sql_new(req->arena, "SELECT count(*) FROM customers c");
        if (filters_where(req, f, count) < 0 || list_count(ls, count) < 0)
            return NULL;
    }
    GString *arr = g_string_new("{");
    for (long i = offset; i < PQntuples(r) && i < offset + ls->per_page; i++)
        g_string_append_printf(arr, "%s%s", i > offset ? "," : "", PQgetvalue(r, (int)i, 0));
    g_string_append_c(arr, '}');
    SqlBuf *q = sql_new(req->arena, "");
    unsigned joins = dress_head(req, q, list_columns, (int)G_N_ELEMENTS(list_columns));
    sql_add(q, "SELECT ");
    sql_add(q, INNER_COLUMNS);
    sql_addp(q, ", k.ord FROM unnest(%s::bigint[]) WITH ORDINALITY k(id, ord)"
                " JOIN customers c ON c.id = k.id", arena_strdup(req->arena, arr->str));
    g_string_free(arr, TRUE);
    dress_tail(q, joins);
    sql_add(q, " ORDER BY c.ord");
    return sql_exec_prepared(q);
}

/* Option rows for the filter selects: lookups of the four kinds in one query. */
static int push_filter_options(Request *req, View *v, const Filters *f)
{
    PGresult *l = db_exec0(req->arena,
        "SELECT kind, id::text, name FROM lookups WHERE kind IN ('customer_category',"
        " 'customer_level', 'customer_source', 'industry') ORDER BY kind, NOT active, sort, id");
    const char *provinces = province_options_html(req, f->province);
    const char *cities = city_filter_options(req, f->province, f->city);
    PGresult *owners = owner_options(req, f->owner);
    if (!l || !provinces || !cities || !owners)
        return -1;
    static const struct {
        const char *kind, *symbol;
        size_t filter; /* offset of the Filters field */
    } kinds[] = {
        {"customer_category", "opts_category", offsetof(Filters, category)},
        {"customer_level", "opts_level", offsetof(Filters, level)},
        {"customer_source", "opts_source", offsetof(Filters, source)},
        {"industry", "opts_industry", offsetof(Filters, industry)},
    };
    for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
        const char *current = *(const char *const *)((const char *)f + kinds[k].filter);
        GString *h = g_string_new(NULL);
        for (int i = 0; i < PQntuples(l); i++) {
            if (strcmp(PQgetvalue(l, i, 0), kinds[k].kind) != 0)
                continue;
            const char *val = PQgetvalue(l, i, 1);
            g_string_append_printf(h, "<option value=\"%s\"%s>%s</option>", view_escape(req->arena, val),
                                   current && strcmp(current, val) == 0 ? " selected" : "",
                                   view_escape(req->arena, PQgetvalue(l, i, 2)));
        }
        view_set_trusted_html(v, kinds[k].symbol, arena_strdup(req->arena, h->str));
        g_string_free(h, TRUE);
    }
    view_set_trusted_html(v, "opts_province", provinces);
    view_set_trusted_html(v, "opts_city", cities);
    view_set_trusted_html(v, "opts_owner", options_html(req, owners, f->owner));
    GString *h = g_string_new(NULL);
    for (const Choice *c = customer_statuses; c->value; c++)
        g_string_append_printf(h, "<option value=\"%s\"%s>%s</option>", c->value,
                               f->status && strcmp(f->status, c->value) == 0 ? " selected" : "",
                               view_escape(req->arena, i18n_get(req->lang, c->label)));
    view_set_trusted_html(v, "opts_status", arena_strdup(req->arena, h->str));
    g_string_free(h, TRUE);
    return 0;
}

/* The current list query without the page: what a saved search stores and the export repeats. */
static const char *query_without_page(Request *req)
{
    const char *names[] = {"page"};
    const char *values[] = {NULL};
    return list_query_with(req, names, values, 1);
}

/* GET /customers: 200 the list — quick search (≥ 2 characters; shorter gets a hint), filters,
 * sorting and paging kept in the URL, saved searches, the batch bar and the export link. */
static void list_page(Request *req)
{
    ListState *ls = list_begin(req, customer_sorts, "updated", true);
    Filters *f = filters_read(req);
    PGresult *rows = page_rows(req, f, ls);
    PGresult *saved = db_exec(req->arena,
        "SELECT id AS ss_id, name AS ss_name, query AS ss_query FROM saved_searches WHERE user_id = $1 AND list = 'customers'"
        " ORDER BY lower(name), id",
        req_id_text(req, req->user->id));
    if (!rows || !saved) {
        resp_error(req, 503);
        return;
    }
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Customers"));
    if (push_filter_options(req, v, f) < 0) {
        resp_error(req, 503);
        return;
    }
    view_set(v, "v_q", f->q);
    view_set(v, "v_created_from", f->created_from);
    view_set(v, "v_created_to", f->created_to);
    view_set(v, "v_contact_from", f->contact_from);
    view_set(v, "v_contact_to", f->contact_to);
    view_set(v, "v_archived", f->archived);
    /* The filter form keeps the sort and page size: only known values go back into it. */
    view_set(v, "v_sort", req_query(req, "sort") ? ls->sorts[ls->sort].key : "");
    view_set(v, "v_dir", ls->desc ? "desc" : "asc");
    view_set(v, "v_per", req_query(req, "per") ? arena_printf(req->arena, "%d", ls->per_page) : "");
    view_set_int(v, "is_q_short", f->q && f->q_short);
    view_set_int(v, "is_bad_date", f->bad_date);
    view_set_int(v, "is_filtered", f->any);
    if (view_set_rows_html(v, "rows_html", rows, "customers/list_row") < 0) {
        resp_error(req, 500);
        return;
    }
    view_set_int(v, "n_rows", PQntuples(rows));
    list_push(ls, v);
    view_set_rows(v, "saved", saved);
    view_set_int(v, "n_saved", PQntuples(saved));
    const char *current = query_without_page(req);
    view_set(v, "query_now", *current ? current + 1 : "");
    view_set_int(v, "has_create", auth_can(req, "customers.create"));
    view_set_int(v, "has_rights_edit", auth_can(req, "customers.edit"));
    view_set_int(v, "has_rights_owner", auth_can(req, "customers.edit") && may_choose_owner(req));
    view_set_int(v, "has_export", auth_can(req, "customers.export"));
    view_set(v, "export_url", arena_printf(req->arena, "/customers/export%s", current));
    view_render(req, v, "customers/list", 200);
}

/* GET /customers/export: 200 exactly the filtered rows (in the list's order, up to EXPORT_CAP)
 * as .xlsx, with an audit row in the same transaction. */
static void export_page(Request *req)
{
    ListState *ls = list_begin(req, customer_sorts, "updated", true);
    Filters *f = filters_read(req);
    xlsx_export_list(req, build_export(req, f, ls), "customers", N_("Customers"),
                     export_columns, "customers", "customer");
}

/* ==== saved searches ======================================================================== */

static const FieldDef saved_fields[] = {
    {"name", N_("Name of this search"), F_TEXT, F_REQUIRED, 40, 0, 0, NULL, "off", NULL},
    {"query", "", F_TEXT, 0, 2000, 0, 0, NULL, NULL, NULL},
    {NULL},
};

/* The list parameters of a query string, re-encoded: only what the list understands is kept. */
static const char *clean_query(Request *req, const char *raw)
{
    ParamList pl = {0};
    if (req_parse_urlencoded(req->arena, raw, strlen(raw), &pl) != 0)
        return NULL;
    GString *s = g_string_new(NULL);
    for (int i = 0; i < pl.n; i++) {
        bool known = false;
        for (int k = 0; filter_names[k]; k++)
            known = known || strcmp(filter_names[k], pl.items[i].name) == 0;
        if (!known || !*pl.items[i].value)
            continue;
        gchar *ev = g_uri_escape_string(pl.items[i].value, NULL, FALSE);
        g_string_append_printf(s, "%s%s=%s", s->len ? "&" : "", pl.items[i].name, ev);
        g_free(ev);
    }
    char *out = arena_strdup(req->arena, s->str);
    g_string_free(s, TRUE);
    return out;
}

/* POST /customers/searches: 303 to the list with the saved query (a name used before is
 * overwritten); 303 back with a message when the name is missing or too many are saved. */
static void saved_create(Request *req)
{
    Form *f = form_new(req, saved_fields);
    bool ok = form_read(f);
    const char *query = clean_query(req, form_get(f, "query"));
    if (query && strlen(query) > 2000)
        query = NULL; /* longer than the column allows: not a query of our form */
    const char *back = query && *query ? arena_printf(req->arena, "/customers?%s", query) : "/customers";
    if (!ok || !query) {
        resp_flash(req, "error", N_("Give the search a name (at most 40 characters)."));
        resp_redirect(req, back);
        return;
    }
    const char *uid = req_id_text(req, req->user->id);
    PGresult *r = db_exec(req->arena,
        "INSERT INTO saved_searches (user_id, list, name, query)"
        " SELECT $1, 'customers', $2, $3"
        "  WHERE (SELECT count(*) FROM saved_searches WHERE user_id = $1 AND list = 'customers'"
        "           AND name <> $2) < $4::int"
        " ON CONFLICT (user_id, list, name) DO UPDATE SET query = EXCLUDED.query, created_at = now()",
        uid, form_get(f, "name"), query, arena_printf(req->arena, "%d", SAVED_MAX));
    if (!r) {
        resp_error(req, 503);
        return;
    }
    if (atoi(PQcmdTuples(r)) == 0)
        resp_flash(req, "error", N_("You have many saved searches already. Delete one first."));
    else
        resp_flash(req, "ok", N_("Search saved."));
    resp_redirect(req, back);
}

/* POST /customers/searches/{id}/delete: 303 to the list; 404 for someone else's search. */
static void saved_delete(Request *req)
{
    PGresult *r = db_exec(req->arena,
        "DELETE FROM saved_searches WHERE id = $1 AND user_id = $2 AND list = 'customers'",
        req_id_text(req, req_arg_id(req, 0)), req_id_text(req, req->user->id));
    if (!r) {
        resp_error(req, 503);
        return;
    }
    if (atoi(PQcmdTuples(r)) == 0) {
        resp_error(req, 404);
        return;
    }
    resp_flash(req, "ok", N_("Saved search deleted."));
    resp_redirect(req, "/customers");
}

/* ==== the detail page ======================================================================= */

static const char SHOW_SQL_HEAD[] =
    "SELECT c.id, c.code, c.name, c.short_name, coalesce(cat.name, '') AS category,"
    "       coalesce(lv.name, '') AS level, coalesce(src.name, '') AS source,"
    "       coalesce(ind.name, '') AS industry, c.status, ";

static const char SHOW_SQL_TAIL[] =
    "       c.address, c.phone, c.website, c.tax_id, c.bank_name, c.bank_account,"
    "       coalesce(nullif(u.display_name, ''), u.username, '') AS owner,"
    "       c.credit_limit::text AS credit_limit, c.payment_terms, c.remarks,"
    "       coalesce(to_char(c.last_contact_on, 'YYYY-MM-DD'), '') AS last_contact,"
    "       to_char(c.created_at AT TIME ZONE $2::text, 'YYYY-MM-DD HH24:MI') AS created,"
    "       to_char(c.updated_at AT TIME ZONE $2::text, 'YYYY-MM-DD HH24:MI') AS updated,"
    "       coalesce(to_char(c.pool_since AT TIME ZONE $2::text, 'YYYY-MM-DD'), '') AS pool_since,"
    "       coalesce(nullif(cb.display_name, ''), cb.username, '') AS created_by,"
    "       CASE WHEN c.archived THEN '1' ELSE '' END AS archived,"
    "       (SELECT count(*) FROM customer_shares s WHERE s.customer_id = c.id)::text AS shares"
    "  FROM customers c"
    "  LEFT JOIN lookups cat ON cat.id = c.category_id LEFT JOIN lookups lv ON lv.id = c.level_id"
    "  LEFT JOIN lookups src ON src.id = c.source_id LEFT JOIN lookups ind ON ind.id = c.industry_id"
    "  LEFT JOIN regions p ON p.id = c.province_id LEFT JOIN regions ci ON ci.id = c.city_id"
    "  LEFT JOIN users u ON u.id = c.owner_id LEFT JOIN users cb ON cb.id = c.created_by"
    " WHERE c.id = $1";

static const char CONTACTS_OF_SQL[] =
    "SELECT id, name, title, department, mobile, phone, email, wechat,"
    "       coalesce(birthday::text, '') AS birthday, CASE WHEN is_primary THEN '1' ELSE '' END AS is_primary,"
    "       remarks, version"
    "  FROM contacts WHERE customer_id = $1 ORDER BY is_primary DESC, id";

/* Audit rows of the customer and of its contacts (also deleted ones: their delete row names the
 * customer), newest first, one row per changed field (creations and deletions in one line). */
static const char HISTORY_SQL[] =
    "WITH ids AS (SELECT id FROM contacts WHERE customer_id = $1"
    "             UNION SELECT object_id FROM audit_log WHERE module = 'contacts' AND action = 'delete'"
    "                AND object_type = 'contact' AND changes->'customer_id'->>'old' = $1::text)"
    " SELECT a.id, to_char(a.at AT TIME ZONE $2::text, 'YYYY-MM-DD HH24:MI'),"
    "        coalesce(nullif(u.display_name, ''), a.username), a.action,"
    "        a.object_type, a.object_label, a.result, e.key, e.value->>'old', e.value->>'new'"
    "   FROM (SELECT * FROM audit_log WHERE object_type = 'customer' AND object_id = $1"
    "         UNION ALL"
    "         SELECT * FROM audit_log WHERE object_type = 'contact' AND object_id IN (SELECT id FROM ids)"
    "         ORDER BY at DESC, id DESC LIMIT $3::int) a"
    "   LEFT JOIN users u ON u.id = a.user_id"
    "   LEFT JOIN LATERAL jsonb_each(CASE WHEN a.action NOT IN ('create', 'delete')"
    "                                      AND jsonb_typeof(a.changes) = 'object' THEN a.changes END) e"
    "     ON e.key <> 'customer_id'"
    "  ORDER BY a.at DESC, a.id DESC, e.key";

typedef struct Label {
    const char *code, *label;
} Label;

static const Label customer_field_labels[] = {
    {"name", N_("Customer name")}, {"short_name", N_("Short name")}, {"code", N_("Customer code")},
    {"reason", N_("Reason")},
    {"category", N_("Category")}, {"level", N_("Level")}, {"source", N_("Source")},
    {"industry", N_("Industry")}, {"status", N_("Status")}, {"province", N_("Province")},
    {"city", N_("City")}, {"address", N_("Address")}, {"phone", N_("Phone")},
    {"website", N_("Website")}, {"tax_id", N_("Tax ID")}, {"bank_name", N_("Bank")},
    {"bank_account", N_("Bank account")}, {"owner", N_("Owner")},
    {"credit_limit", N_("Credit limit (CNY)")}, {"payment_terms", N_("Payment terms")},
    {"last_contact_on", N_("Last contact")}, {"remarks", N_("Remarks")},
    {"archived", N_("Archived")}, {"contacts", N_("Contacts")}, {"shares", N_("Shared with")},
    {NULL, NULL},
};

static const Label contact_field_labels[] = {
    {"name", N_("Full name")}, {"title", N_("Job title")}, {"department", N_("Department")},
    {"mobile", N_("Mobile")}, {"phone", N_("Phone")}, {"email", N_("E-mail")},
    {"wechat", N_("WeChat")}, {"birthday", N_("Birthday")}, {"is_primary", N_("Primary contact")},
    {"remarks", N_("Remarks")}, {NULL, NULL},
};

static const Label action_labels[] = {
    {"create", N_("Created")}, {"update", N_("Changed")}, {"delete", N_("Deleted")},
    {"archive", N_("Archived")}, {"unarchive", N_("Restored from the archive")},
    {"share", N_("Shared")}, {"unshare", N_("Sharing ended")}, {"assign", N_("Assigned")},
    {"transfer", N_("Transferred")}, {"release", N_("Released to the pool")},
    {"claim", N_("Claimed from the pool")}, {"import", N_("Imported")}, {NULL, NULL},
};

static const char *label_of(Request *req, const Label *t, const char *code)
{
    for (; t->code; t++)
        if (strcmp(t->code, code) == 0)
            return i18n_get(req->lang, t->label);
    return code;
}

/* The status value of a customer, readable ("active" → 成交客户). */
static const char *status_label(Request *req, const char *code)
{
    for (const Choice *c = customer_statuses; c->value; c++)
        if (strcmp(c->value, code) == 0)
            return i18n_get(req->lang, c->label);
    return code;
}

static int push_history(Request *req, View *v, long id)
{
    PGresult *r = db_exec(req->arena, HISTORY_SQL, req_id_text(req, id), cfg.timezone,
                          arena_printf(req->arena, "%d", HISTORY_MAX));
    if (!r)
        return -1;
    static const char *const cols[] = {"h_first", "h_span", "h_at", "h_by", "h_action", "h_object",
                                       "h_failed", "h_field", "h_old", "h_new", NULL};
    view_set_columns(v, cols);
    GPtrArray *rows = g_ptr_array_new();
    int n = PQntuples(r), entries = 0;
    for (int i = 0; i < n; i++) {
        bool first = i == 0 || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0)) != 0;
        int span = 1;
        while (first && i + span < n && strcmp(PQgetvalue(r, i + span, 0), PQgetvalue(r, i, 0)) == 0)
            span++;
        entries += first;
        bool contact = strcmp(PQgetvalue(r, i, 4), "contact") == 0;
        const char *field = PQgetisnull(r, i, 7) ? NULL : PQgetvalue(r, i, 7);
        const char *old = PQgetisnull(r, i, 8) ? "" : PQgetvalue(r, i, 8);
        const char *new = PQgetisnull(r, i, 9) ? "" : PQgetvalue(r, i, 9);
        if (field && !contact && strcmp(field, "status") == 0) {
            old = *old ? status_label(req, old) : old;
            new = *new ? status_label(req, new) : new;
        }
        const char **row = arena_alloc(req->arena, sizeof(char *) * 11);
        row[0] = first ? "1" : "";
        row[1] = req_id_text(req, span);
        row[2] = PQgetvalue(r, i, 1);
        row[3] = PQgetvalue(r, i, 2);
        row[4] = label_of(req, action_labels, PQgetvalue(r, i, 3));
        row[5] = contact ? arena_printf(req->arena, "%s %s", i18n_get(req->lang, N_("Contact")),
                                        PQgetvalue(r, i, 5))
                         : "";
        row[6] = strcmp(PQgetvalue(r, i, 6), "ok") != 0 ? "1" : "";
        row[7] = field ? label_of(req, contact ? contact_field_labels : customer_field_labels, field) : "";
        row[8] = old;
        row[9] = new;
        row[10] = NULL;
        g_ptr_array_add(rows, row);
    }
    view_set_table(v, "history", rows);
    view_set_int(v, "n_history", entries);
    g_ptr_array_free(rows, TRUE);
    return 0;
}

/* Renders the detail page; contact_form (may be NULL) is the add-contact form as typed after a
 * failed add (then the form is open and status is 422). Also used by contacts.c. */
void customers_render_show(Request *req, long id, Form *contact_form, int status)
{
    CustomerAccess acc;
    if (customers_access(req, id, &acc) < 0) {
        resp_error(req, 503);
        return;
    }
    if (!acc.visible && !acc.pool) {
        resp_error(req, 404);
        return;
    }
    const char *sid = req_id_text(req, id);
    SqlBuf *q = sql_new(req->arena, SHOW_SQL_HEAD);
    sql_param(q, sid);         /* $1 */
    sql_param(q, cfg.timezone); /* $2 */
    add_status_name(req, q, "c.status");
    sql_add(q, " AS status_name, ");
    sql_add(q, region_sql(req));
    sql_add(q, " AS region,");
    sql_add(q, SHOW_SQL_TAIL);
    PGresult *c = sql_exec_prepared(q);
    if (!c || PQntuples(c) != 1) {
        resp_error(req, c ? 404 : 503);
        return;
    }
    View *v = view_new(req);
    const char *cols[] = {"code", "name", "short_name", "category", "level", "source", "industry",
                          "status", "status_name", "region", "address", "phone", "website",
                          "tax_id", "bank_name", "bank_account", "owner", "payment_terms",
                          "remarks", "last_contact", "created", "updated", "pool_since",
                          "created_by", NULL};
    for (int i = 0; cols[i]; i++) {
        /* A pool card shows who the customer is, not how to reach them. */
        bool hidden = acc.pool && (!strcmp(cols[i], "address") || !strcmp(cols[i], "phone") ||
                                   !strcmp(cols[i], "website") || !strcmp(cols[i], "tax_id") ||
                                   !strcmp(cols[i], "bank_name") || !strcmp(cols[i], "bank_account") ||
                                   !strcmp(cols[i], "remarks") || !strcmp(cols[i], "payment_terms"));
        view_set(v, arena_printf(req->arena, "v_%s", cols[i]),
                 hidden ? "" : PQgetvalue(c, 0, PQfnumber(c, cols[i])));
    }
    view_set(v, "title", PQgetvalue(c, 0, PQfnumber(c, "name")));
    view_set(v, "customer_id", sid);
    view_set(v, "v_credit_limit", acc.pool ? "" : amount_text(req, PQgetvalue(c, 0, PQfnumber(c, "credit_limit"))));
    const char *website = PQgetvalue(c, 0, PQfnumber(c, "website"));
    /* Only http(s) links leave the page as they are: anything else (data typed elsewhere, say
     * "javascript://…") becomes a harmless http:// address. */
    bool web = g_ascii_strncasecmp(website, "http://", 7) == 0 || g_ascii_strncasecmp(website, "https://", 8) == 0;
    view_set(v, "website_href", acc.pool || !*website ? ""
                                : web ? website : arena_printf(req->arena, "http://%s", website));
    view_set_int(v, "is_pool", acc.pool);
    view_set_int(v, "is_archived", is_true(PQgetvalue(c, 0, PQfnumber(c, "archived"))));
    view_set_int(v, "is_shared_with_me", acc.shared && !acc.in_scope);
    view_set_int(v, "has_share_write", acc.share_write);
    view_set_int(v, "n_shares", acc.pool ? 0 : atol(PQgetvalue(c, 0, PQfnumber(c, "shares"))));
    view_set_int(v, "has_edit", acc.writable);
    view_set_int(v, "has_rights_owner", auth_can(req, "customers.edit") && may_choose_owner(req));
    view_set_int(v, "has_delete", acc.can_write && auth_can(req, "customers.delete"));
    bool contacts_write = acc.can_write;
    view_set_int(v, "has_contact_add", contacts_write && auth_can(req, "contacts.create"));
    view_set_int(v, "has_contact_edit", contacts_write && auth_can(req, "contacts.edit"));
    view_set_int(v, "has_contact_delete", contacts_write && auth_can(req, "contacts.delete"));

    PGresult *contacts = acc.pool ? NULL : db_exec(req->arena, CONTACTS_OF_SQL, sid);
    if (!acc.pool && !contacts) {
        resp_error(req, 503);
        return;
    }
    view_set_rows(v, "contacts", contacts);
    if (!contacts) {
        static const char *const ccols[] = {"id", "name", "title", "department", "mobile", "phone",
                                            "email", "wechat", "birthday", "is_primary", "remarks",
                                            "version", NULL};
        view_set_columns(v, ccols);
    }
    view_set_int(v, "n_contacts", contacts ? PQntuples(contacts) : 0);
    Form *cf = contact_form ? contact_form : form_new(req, contact_fields);
    form_push(cf, v);
    view_set_int(v, "is_add_open", contact_form != NULL);

    if (acc.pool) {
        view_set_table(v, "history", NULL);
        static const char *const hcols[] = {"h_first", "h_span", "h_at", "h_by", "h_action", "h_object",
                                            "h_failed", "h_field", "h_old", "h_new", NULL};
        view_set_columns(v, hcols);
        view_set_int(v, "n_history", 0);
    } else if (push_history(req, v, id) < 0) {
        resp_error(req, 503);
        return;
    }
    view_render(req, v, "customers/show", status);
}

/* GET /customers/{id}: 200 the detail page (a restricted card for a pool customer); 404 outside
 * the caller's visibility. */
static void show_page(Request *req)
{
    customers_render_show(req, req_arg_id(req, 0), NULL, 200);
}

/* ==== the form ============================================================================== */

typedef struct FormState {
    long id;               /* 0 = new */
    const CustomerDup *dup; /* refused duplicate, or NULL */
    PGresult *similar;      /* near-duplicates waiting for a confirmation, or NULL */
    bool conflict;          /* 409: saved meanwhile */
    bool owner_fixed;       /* the owner is shown, not chosen */
} FormState;

/* Near-duplicate rows for the template: [s_name, s_code, s_owner, s_reasons, s_href]. */
static void push_similar(Request *req, View *v, PGresult *sim)
{
    static const char *const cols[] = {"s_name", "s_code", "s_owner", "s_reasons", "s_href", "s_pool", NULL};
    view_set_columns(v, cols);
    static const Label reasons[] = {
        {"name", N_("similar name")}, {"phone", N_("same phone")},
        {"tax_id", N_("same tax ID")}, {"mobile", N_("same contact mobile")}, {NULL, NULL},
    };
    GPtrArray *rows = g_ptr_array_new();
    for (int i = 0; sim && i < PQntuples(sim); i++) {
        bool visible = is_true(PQgetvalue(sim, i, 4)), pool = is_true(PQgetvalue(sim, i, 5));
        GString *why = g_string_new(NULL);
        gchar **parts = g_strsplit(PQgetvalue(sim, i, 6), ",", -1);
        for (int k = 0; parts[k]; k++)
            if (*parts[k])
                g_string_append_printf(why, "%s%s", why->len ? (strcmp(req->lang, "en") == 0 ? ", " : "、") : "",
                                       label_of(req, reasons, parts[k]));
        g_strfreev(parts);
        const char **row = arena_alloc(req->arena, sizeof(char *) * 7);
        row[0] = PQgetvalue(sim, i, 1);
        row[1] = PQgetvalue(sim, i, 2);
        row[2] = PQgetvalue(sim, i, 3);
        row[3] = arena_strdup(req->arena, why->str);
        row[4] = visible || pool ? arena_printf(req->arena, "/customers/%s", PQgetvalue(sim, i, 0)) : "";
        row[5] = pool ? "1" : "";
        row[6] = NULL;
        g_string_free(why, TRUE);
        g_ptr_array_add(rows, row);
    }
    view_set_table(v, "similar", rows);
    view_set_int(v, "n_similar", (long)rows->len);
    g_ptr_array_free(rows, TRUE);
}

static void render_form(Request *req, Form *f, Form *cf, const FormState *st, int status)
{
    const char *owner = form_get(f, "owner_id");
    PGresult *prov = province_options(req), *cities = city_options(req);
    PGresult *owners = owner_options(req, owner);
    PGresult *lk[G_N_ELEMENTS(lookup_fields)];
    for (size_t i = 0; i < G_N_ELEMENTS(lookup_fields); i++)
        lk[i] = lookup_options(req, lookup_fields[i].kind, form_get(f, lookup_fields[i].field));
    PGresult *owner_name = db_exec(req->arena,
        "SELECT coalesce(nullif(display_name, ''), username) FROM users WHERE id = NULLIF($1, '')::bigint",
        customers_parse_id(owner, &(long){0}) ? owner : "");
    if (!prov || !cities || !owners || !lk[0] || !lk[1] || !lk[2] || !lk[3] || !owner_name) {
        resp_error(req, 503);
        return;
    }
    View *v = view_new(req);
    view_set_tr(v, "title", st->id ? N_("Edit customer") : N_("New customer"));
    /* The first-contact fields first: the customer form's form_hidden (version) must win. */
    form_push(cf, v);
    form_push(f, v);
    view_set_int(v, "form_errors", f->nerrors + cf->nerrors);
    static const char *const none[] = {N_("— Not set —"), N_("— Not set —"), N_("— Not set —"),
                                       N_("— Not set —")};
    for (size_t i = 0; i < G_N_ELEMENTS(lookup_fields); i++)
        customers_push_select(f, v, lookup_fields[i].field, lk[i], none[i]);
    customers_push_select(f, v, "province_id", prov, N_("— Province —"));
    customers_push_select(f, v, "city_id", cities, N_("— City —"));
    customers_push_select(f, v, "owner_id", owners, N_("— Choose —"));
    view_set_int(v, "is_new", st->id == 0);
    view_set_int(v, "is_owner_fixed", st->owner_fixed);
    view_set(v, "owner_name", PQntuples(owner_name) ? PQgetvalue(owner_name, 0, 0) : "");
    view_set_int(v, "has_conflict", st->conflict);
    view_set_int(v, "has_dup", st->dup && st->dup->id);
    view_set(v, "dup_name", st->dup && st->dup->name ? st->dup->name : "");
    view_set(v, "dup_code", st->dup && st->dup->code ? st->dup->code : "");
    view_set(v, "dup_href", st->dup && st->dup->id && (st->dup->visible || st->dup->pool)
                                ? arena_printf(req->arena, "/customers/%ld", st->dup->id) : "");
    push_similar(req, v, st->similar);
    view_set(v, "customer_id", st->id ? req_id_text(req, st->id) : "");
    view_set(v, "action", st->id ? arena_printf(req->arena, "/customers/%ld/edit", st->id) : "/customers/new");
    view_set(v, "cancel", st->id ? arena_printf(req->arena, "/customers/%ld", st->id) : "/customers");
    view_render(req, v, "customers/form", status);
}

/* GET /customers/new: 200 the empty form (owner: the creator). */
static void new_form(Request *req)
{
    Form *f = form_new(req, customer_fields);
    form_set(f, "status", "potential");
    form_set(f, "owner_id", req_id_text(req, req->user->id));
    FormState st = {.owner_fixed = !may_choose_owner(req)};
    render_form(req, f, form_new(req, first_contact_fields), &st, 200);
}

/* Whether the person confirmed saving despite near-duplicates. */
static bool confirmed(Request *req)
{
    return is_true(req_form(req, "confirm_similar"));
}

/* POST /customers/new: 303 to the new customer; 422 with the input kept and messages per field
 * (a duplicate is refused naming its owner; near-duplicates wait for "Save anyway"). */
static void create(Request *req)
{
    Form *f = form_new(req, customer_fields);
    Form *cf = form_new(req, first_contact_fields);
    form_read(f);
    form_read(cf);
    FormState st = {.owner_fixed = !may_choose_owner(req)};
    if (st.owner_fixed || !*form_get(f, "owner_id"))
        form_set(f, "owner_id", req_id_text(req, req->user->id));
    CustomerDup dup;
    if (customers_validate(req, f, 0, &dup, 0) < 0) {
        resp_error(req, 503);
        return;
    }
    st.dup = &dup;
    const char *mobile = form_get(cf, "contact_mobile");
    if (*mobile) {
        const char *out;
        const char *problem = contacts_mobile_problem(req->arena, mobile, &out);
        if (problem)
            form_error(cf, "contact_mobile", problem);
        else
            form_set(cf, "contact_mobile", out);
    }
    if (!*form_get(cf, "contact_name") && (*mobile || *form_get(cf, "contact_title")))
        form_error(cf, "contact_name", N_("Enter the contact's name, or leave the contact empty."));
    if (f->nerrors || cf->nerrors) {
        render_form(req, f, cf, &st, 422);
        return;
    }
    if (!confirmed(req)) {
        st.similar = customers_similar(req, form_get(f, "name"), form_get(f, "phone"),
                                       form_get(f, "tax_id"), form_get(cf, "contact_mobile"), 0);
        if (!st.similar) {
            resp_error(req, 503);
            return;
        }
        if (PQntuples(st.similar)) {
            render_form(req, f, cf, &st, 422);
            return;
        }
    }
    /* The customer and its first contact: one transaction, each with its audit row. */
    if (db_begin(req->arena) < 0) {
        resp_error(req, 503);
        return;
    }
    long oid = atol(form_get(f, "owner_id"));
    long id = customers_insert(req, f, oid);
    if (id > 0 && *form_get(cf, "contact_name")) {
        Form *ct = form_new(req, contact_fields);
        form_set(ct, "name", form_get(cf, "contact_name"));
        form_set(ct, "title", form_get(cf, "contact_title"));
        form_set(ct, "mobile", form_get(cf, "contact_mobile"));
        form_set(ct, "is_primary", "1");
        if (contacts_insert(req, ct, id) < 0)
            id = -1;
    }
    if (id < 0 || db_commit(req->arena) < 0) {
        char state[6];
        keep_state(state);
        db_rollback(req->arena);
        if (strcmp(state, "23505") == 0) {
            /* Inside this transaction customers_insert could only say "taken meanwhile"; now that
             * it is rolled back, say which field. */
            int ni = field_index(f, "name");
            if (f->errors[ni]) {
                f->errors[ni] = NULL;
                f->nerrors--;
            }
            explain_unique(req, f, 0, true);
            render_form(req, f, cf, &st, 422);
        } else {
            resp_error(req, 503);
        }
        return;
    }
    resp_flash(req, "ok", N_("Customer created."));
    resp_redirect(req, arena_printf(req->arena, "/customers/%ld", id));
}

/* GET /customers/{id}/edit: 200 the form with the stored values; 404 outside the caller's
 * visibility; 403 without the right to change it. */
static void edit_form(Request *req)
{
    long id = req_arg_id(req, 0);
    CustomerAccess acc;
    if (!access_or_answer(req, id, &acc, true))
        return;
    PGresult *r = db_exec(req->arena, CUSTOMER_FORM_SQL, req_id_text(req, id));
    if (!r || PQntuples(r) != 1) {
        resp_error(req, r ? 404 : 503);
        return;
    }
    Form *f = form_new(req, customer_fields);
    form_load(f, r, 0);
    FormState st = {.id = id, .owner_fixed = !may_choose_owner(req) || !acc.in_scope};
    render_form(req, f, form_new(req, first_contact_fields), &st, 200);
}

/* POST /customers/{id}/edit: 303 to the customer; 422 with input and messages; 409 when someone
 * saved meanwhile (input kept, their values shown); 404 / 403 as for the form; 400 for input not
 * from the form. */
static void update(Request *req)
{
    long id = req_arg_id(req, 0);
    const char *sid = req_id_text(req, id);
    CustomerAccess acc;
    if (!access_or_answer(req, id, &acc, true))
        return;
    PGresult *cur = db_exec(req->arena, CUSTOMER_FORM_SQL, sid);
    if (!cur || PQntuples(cur) != 1) {
        resp_error(req, cur ? 404 : 503);
        return;
    }
    Form *f = form_new(req, customer_fields);
    form_read(f);
    if (!f->version) {
        resp_error(req, 400);
        return;
    }
    FormState st = {.id = id, .owner_fixed = !may_choose_owner(req) || !acc.in_scope};
    /* Who may not choose the owner keeps the stored one (a share does not hand the customer over). */
    const char *stored_owner = PQgetvalue(cur, 0, PQfnumber(cur, "owner_id"));
    if (st.owner_fixed || !*form_get(f, "owner_id"))
        form_set(f, "owner_id", stored_owner);
    CustomerDup dup;
    if (customers_validate(req, f, id, &dup, 0) < 0) {
        resp_error(req, 503);
        return;
    }
    st.dup = &dup;
    Form *cf = form_new(req, first_contact_fields);
    if (f->nerrors) {
        render_form(req, f, cf, &st, 422);
        return;
    }
    /* Near-duplicates are asked about when what they compare has changed. */
    if (!confirmed(req) && (!same_as_stored(cur, f, "name") || !same_as_stored(cur, f, "phone") ||
                             !same_as_stored(cur, f, "tax_id"))) {
        st.similar = customers_similar(req, form_get(f, "name"), form_get(f, "phone"),
                                       form_get(f, "tax_id"), NULL, id);
        if (!st.similar) {
            resp_error(req, 503);
            return;
        }
        if (PQntuples(st.similar)) {
            render_form(req, f, cf, &st, 422);
            return;
        }
    }
    int changes = 0;
    int rc = customers_update(req, f, id, &changes);
    if (rc < 0) {
        if (f->nerrors)
            render_form(req, f, cf, &st, 422);
        else
            resp_error(req, 503);
        return;
    }
    if (rc == 0) {
        PGresult *now = db_exec(req->arena, CUSTOMER_FORM_SQL, sid);
        if (!now || PQntuples(now) != 1) {
            resp_error(req, now ? 404 : 503);
            return;
        }
        if (st.owner_fixed)
            form_set(f, "owner_id", PQgetvalue(now, 0, PQfnumber(now, "owner_id")));
        form_stale(f, now);
        st.conflict = true;
        render_form(req, f, cf, &st, 409);
        return;
    }
    resp_flash(req, "ok", changes ? N_("Customer saved.") : N_("No changes."));
    resp_redirect(req, arena_printf(req->arena, "/customers/%ld", id));
}

/* ==== archive, delete ======================================================================= */

/* POST /customers/{id}/archive and /unarchive: 303 to the customer; 404; 403. */
static void set_archived(Request *req, bool archived)
{
    long id = req_arg_id(req, 0);
    CustomerAccess acc;
    if (!access_or_answer(req, id, &acc, true))
        return;
    if (db_begin(req->arena) < 0) {
        resp_error(req, 503);
        return;
    }
    PGresult *r = db_exec(req->arena,
        "UPDATE customers SET archived = $2::boolean, version = version + 1, updated_at = now()"
        " WHERE id = $1 AND archived <> $2::boolean RETURNING name",
        req_id_text(req, id), archived ? "true" : "false");
    AuditDiff *d = audit_diff_new(req->arena);
    audit_diff(d, "archived", archived ? "false" : "true", archived ? "true" : "false");
    bool changed = r && PQntuples(r) == 1;
    if (!r || (changed && audit_write(req, "customers", archived ? "archive" : "unarchive", "customer",
                                      id, PQgetvalue(r, 0, 0), d, "ok") < 0) ||
        db_commit(req->arena) < 0) {
        db_rollback(req->arena);
        resp_error(req, 503);
        return;
    }
    resp_flash(req, "ok", !changed ? N_("No changes.")
                          : archived ? N_("Customer archived. It no longer appears in the list unless you filter for archived customers.")
                                     : N_("Customer restored from the archive."));
    resp_redirect(req, arena_printf(req->arena, "/customers/%ld", id));
}

static void archive(Request *req)
{
    set_archived(req, true);
}

static void unarchive(Request *req)
{
    set_archived(req, false);
}

/* Delete needs customers.delete (the route) and the right to change this customer. */
static bool delete_allowed(Request *req, long id, CustomerAccess *acc)
{
    if (!access_or_answer(req, id, acc, false))
        return false;
    if (!acc->can_write) {
        resp_error(req, 403);
        return false;
    }
    return true;
}

/* GET /customers/{id}/delete: 200 the confirmation listing what goes with it; 404; 403. */
static void delete_form(Request *req)
{
    long id = req_arg_id(req, 0);
    CustomerAccess acc;
    if (!delete_allowed(req, id, &acc))
        return;
    PGresult *contacts = db_exec(req->arena,
        "SELECT name AS ct_name, title AS ct_title, coalesce(nullif(mobile, ''), phone) AS ct_phone"
        "  FROM contacts"
        " WHERE customer_id = $1 ORDER BY is_primary DESC, id", req_id_text(req, id));
    PGresult *shares = db_exec(req->arena,
        "SELECT coalesce(nullif(u.display_name, ''), u.username) AS sh_name,"
        "       CASE WHEN s.can_write THEN '1' ELSE '' END AS sh_write"
        "  FROM customer_shares s JOIN users u ON u.id = s.user_id WHERE s.customer_id = $1"
        " ORDER BY lower(u.display_name), u.id", req_id_text(req, id));
    if (!contacts || !shares) {
        resp_error(req, 503);
        return;
    }
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Delete customer"));
    view_set(v, "customer_id", req_id_text(req, id));
    view_set(v, "name", acc.name);
    view_set_rows(v, "contacts", contacts);
    view_set_int(v, "n_contacts", PQntuples(contacts));
    view_set_rows(v, "shares", shares);
    view_set_int(v, "n_shares", PQntuples(shares));
    view_set_int(v, "has_archive", acc.writable);
    view_render(req, v, "customers/delete", 200);
}

/* POST /customers/{id}/delete: 303 to the list after deleting the customer with its contacts and
 * shares (listed in the audit row); 303 back with a message when other records refer to it
 * (archive instead); 404; 403. */
static void delete_submit(Request *req)
{
    long id = req_arg_id(req, 0);
    const char *sid = req_id_text(req, id);
    CustomerAccess acc;
    if (!delete_allowed(req, id, &acc))
        return;
    if (db_begin(req->arena) < 0) {
        resp_error(req, 503);
        return;
    }
    char state[6] = "";
    AuditDiff *d = audit_diff_new(req->arena);
    PGresult *lock = db_exec(req->arena, "SELECT 1 FROM customers WHERE id = $1 FOR UPDATE", sid);
    PGresult *old = lock ? db_exec(req->arena, CUSTOMER_SNAPSHOT_SQL, sid) : NULL;
    PGresult *gone = old ? db_exec(req->arena,
        "SELECT coalesce((SELECT string_agg(name, ', ' ORDER BY id) FROM contacts WHERE customer_id = $1), ''),"
        "       coalesce((SELECT string_agg(u.username || CASE WHEN s.can_write THEN ' (rw)' ELSE '' END,"
        "                               ', ' ORDER BY u.username)"
        "                   FROM customer_shares s JOIN users u ON u.id = s.user_id"
        "                  WHERE s.customer_id = $1), '')", sid) : NULL;
    bool ok = gone && PQntuples(old) == 1 &&
              db_exec(req->arena, "DELETE FROM contacts WHERE customer_id = $1", sid) &&
              db_exec(req->arena, "DELETE FROM customer_shares WHERE customer_id = $1", sid) &&
              db_exec(req->arena, "DELETE FROM customers WHERE id = $1", sid);
    if (ok) {
        diff_rows(d, old, NULL);
        audit_diff(d, "contacts", PQgetvalue(gone, 0, 0), "");
        audit_diff(d, "shares", PQgetvalue(gone, 0, 1), "");
        ok = audit_write(req, "customers", "delete", "customer", id, acc.name, d, "ok") == 0 &&
             db_commit(req->arena) == 0;
    }
    if (!ok) {
        keep_state(state);
        db_rollback(req->arena);
        if (strcmp(state, "23503") == 0) {
            resp_flash(req, "error", N_("This customer cannot be deleted: quotes, orders or other records refer to it. Archive it instead."));
            resp_redirect(req, arena_printf(req->arena, "/customers/%ld", id));
        } else {
            resp_error(req, old && PQntuples(old) == 0 ? 404 : 503);
        }
        return;
    }
    resp_flash(req, "ok", N_("Customer deleted."));
    resp_redirect(req, "/customers");
}

/* ==== the duplicate check while typing ====================================================== */

/* GET /customers/check?name=&phone=&tax_id=&mobile=&id=: 200 JSON {duplicate: {…}|null,
 * similar: […]} — names, codes and links only of customers the caller may see (or pool ones);
 * otherwise just the owner. 404 when id is outside the caller's visibility. JSON comes from
 * PostgreSQL (json_build_object / json_agg). */
static void check_json(Request *req)
{
    long exclude = 0;
    const char *sid = customers_qparam(req, "id", 20);
    if (sid) {
        CustomerAccess acc;
        if (!customers_parse_id(sid, &exclude)) {
            resp_error(req, 404);
            return;
        }
        if (!access_or_answer(req, exclude, &acc, false))
            return;
    }
    Keys k = keys_of(req, customers_qparam(req, "name", 400), customers_qparam(req, "phone", 80),
                     customers_qparam(req, "tax_id", 60), customers_qparam(req, "mobile", 40));
    SqlBuf *q = sql_new(req->arena,
        "SELECT json_build_object('duplicate', (SELECT CASE WHEN d.visible OR d.pool THEN"
        "   json_build_object('id', d.id, 'name', d.name, 'code', d.code, 'owner', d.owner,"
        "                     'pool', d.pool, 'visible', d.visible, 'href', '/customers/' || d.id)"
        "   ELSE json_build_object('owner', d.owner, 'pool', false, 'visible', false) END"
        "  FROM (SELECT c.id, c.name, c.code, coalesce(nullif(u.display_name, ''), u.username, '') AS owner,"
        "               c.owner_id IS NULL AS pool, ");
    if (customers_visible(req, q) < 0) {
        resp_error(req, 503);
        return;
    }
    sql_add(q, " AS visible FROM customers c LEFT JOIN users u ON u.id = c.owner_id WHERE c.name_key <> ''"
               " AND c.name_key = ");
    sql_add(q, sql_param(q, k.name));
    sql_addp(q, " AND c.id <> %s::bigint) d),", req_id_text(req, exclude));
    sql_add(q, " 'similar', coalesce((SELECT json_agg(CASE WHEN s.is_visible OR s.is_pool THEN"
               "   json_build_object('id', s.id, 'name', s.name, 'code', s.code, 'owner', s.owner,"
               "                     'pool', s.is_pool, 'reasons', string_to_array(s.reasons, ','),"
               "                     'href', '/customers/' || s.id)"
               "   ELSE json_build_object('owner', s.owner, 'pool', false,"
               "                          'reasons', string_to_array(s.reasons, ',')) END) FROM (");
    if (similar_sql(req, q, k.name, k.phone, k.tax, k.mobile, exclude) < 0) {
        resp_error(req, 503);
        return;
    }
    sql_add(q, ") s), '[]'::json))");
    PGresult *r = sql_exec(q);
    if (!r || PQntuples(r) != 1) {
        resp_error(req, 503);
        return;
    }
    resp_header(req, "Cache-Control", "private, no-store");
    resp_json(req, 200, PQgetvalue(r, 0, 0));
}

/* ==== routes ================================================================================ */

static const Route routes[] = {
    {"GET", "/customers", list_page, "customers.view", 0},
    {"GET", "/customers/export", export_page, "customers.export", 0},
    {"GET", "/customers/check", check_json, "customers.view", 0},
    {"GET", "/customers/cities", cities_json, "customers.view", 0},
    {"POST", "/customers/searches", saved_create, "customers.view", 0},
    {"POST", "/customers/searches/{id}/delete", saved_delete, "customers.view", 0},
    {"GET", "/customers/new", new_form, "customers.create", 0},
    {"POST", "/customers/new", create, "customers.create", 0},
    {"GET", "/customers/{id}", show_page, "customers.view", 0},
    {"GET", "/customers/{id}/edit", edit_form, "customers.edit", 0},
    {"POST", "/customers/{id}/edit", update, "customers.edit", 0},
    {"POST", "/customers/{id}/archive", archive, "customers.edit", 0},
    {"POST", "/customers/{id}/unarchive", unarchive, "customers.edit", 0},
    {"GET", "/customers/{id}/delete", delete_form, "customers.delete", 0},
    {"POST", "/customers/{id}/delete", delete_submit, "customers.delete", 0},
    {NULL, NULL, NULL, NULL, 0},
};

static const NavItem nav[] = {
    {"/customers", N_("Customers"), "customers.view"},
    {NULL, NULL, NULL},
};

const Module customers_module = {"customers", routes, nav};
