/* contacts.c — contacts (联系人) of customers: add, edit and delete from the customer page, and
 * the global contact list with search, filters, sorting and Excel export. Every route checks the
 * parent customer first (customers_visible / customers_access in customers.c): outside the
 * caller's visibility → 404, visible but not theirs to change → 403. */
#include "customers.h"

#include "../core/audit.h"
#include "../core/auth.h"
#include "../core/config.h"
#include "../core/db.h"
#include "../core/i18n.h"
#include "../core/listing.h"
#include "../core/response.h"
#include "../core/router.h"
#include "../core/scope.h"
#include "../docs/xlsx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_CAP 200000
#define OWNER_OPTIONS_MAX 500

const FieldDef contact_fields[] = {
    {"name", N_("Full name"), F_TEXT, F_REQUIRED, 40, 0, 0, NULL, "off", NULL},
    {"title", N_("Job title"), F_TEXT, 0, 40, 0, 0, NULL, "off", NULL},
    {"department", N_("Department"), F_TEXT, 0, 40, 0, 0, NULL, "off", NULL},
    {"mobile", N_("Mobile"), F_TEXT, 0, 20, 0, 0, NULL, "off", NULL},
    {"phone", N_("Phone"), F_TEXT, 0, 40, 0, 0, NULL, "off", NULL},
    {"email", N_("E-mail"), F_EMAIL, 0, 120, 0, 0, NULL, "off", NULL},
    {"wechat", N_("WeChat"), F_TEXT, 0, 40, 0, 0, NULL, "off", NULL},
    {"birthday", N_("Birthday"), F_DATE, 0, 10, 0, 0, NULL, NULL, NULL},
    {"is_primary", N_("Primary contact"), F_CHECKBOX, 0, 0, 0, 0, NULL, NULL, NULL},
    {"remarks", N_("Remarks"), F_TEXTAREA, 0, 500, 0, 0, NULL, NULL, NULL},
    {NULL},
};

/* ==== SQL =================================================================================== */

/* The columns an edit starts from (named like the fields, plus version). */
static const char CONTACT_FORM_SQL[] =
    "SELECT name, title, department, mobile, phone, email, wechat,"
    "       coalesce(birthday::text, '') AS birthday, is_primary, remarks, version, customer_id"
    "  FROM contacts WHERE id = $1";

/* What the audit trail records of a contact (customer_id lets a customer's history find the rows
 * of contacts deleted since). */
/* The audited fields of a contact, as text (snapshots and the insert's answer). */
#define CONTACT_SNAPSHOT_COLUMNS                                                                   \
    "customer_id::text AS customer_id, name, title, department, mobile, phone, email, wechat,"    \
    " coalesce(birthday::text, '') AS birthday,"                                                  \
    " CASE WHEN is_primary THEN 'true' ELSE 'false' END AS is_primary, remarks"

static const char CONTACT_SNAPSHOT_SQL[] = "SELECT " CONTACT_SNAPSHOT_COLUMNS " FROM contacts WHERE id = $1";

/* Contacts from arrays, one element per contact ($1 customer_id, $2 name, $3 title, $4 department,
 * $5 mobile, $6 phone, $7 email, $8 wechat, $9 birthday, $10 is_primary, $11 remarks), inserted
 * in the arrays' order; answers their snapshots with the ids, in the same order. A customer's
 * primary contact: the last of its contacts here marked primary (the caller unset the others), or
 * else its first one here when it has none yet. */
static const char CONTACT_INSERT_SQL[] =
    "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],"
    "                                $6::text[], $7::text[], $8::text[], $9::text[], $10::boolean[],"
    "                                $11::text[])"
    "           WITH ORDINALITY AS u(customer_id, name, title, department, mobile, phone, email,"
    "                wechat, birthday, is_primary, remarks, ord)),"
    " p AS (SELECT u.*, CASE WHEN bool_or(u.is_primary) OVER w"
    "                   THEN u.ord = max(u.ord) FILTER (WHERE u.is_primary) OVER w"
    "                   ELSE u.ord = min(u.ord) OVER w AND NOT EXISTS (SELECT 1 FROM contacts t"
    "                        WHERE t.customer_id = u.customer_id AND t.is_primary) END AS primary_now"
    "       FROM u WINDOW w AS (PARTITION BY u.customer_id)),"
    " c AS (INSERT INTO contacts (customer_id, name, title, department, mobile, phone, email, wechat,"
    "         birthday, is_primary, remarks)"
    "       SELECT customer_id, name, title, department, mobile, phone, email, wechat,"
    "              NULLIF(birthday, '')::date, primary_now, remarks FROM p ORDER BY ord"
    "       RETURNING *)"
    " SELECT " CONTACT_SNAPSHOT_COLUMNS ", id FROM c ORDER BY id";

static const char CONTACT_UPDATE_SQL[] =
    "UPDATE contacts SET name = $3, title = $4, department = $5, mobile = $6, phone = $7, email = $8,"
    "  wechat = $9, birthday = NULLIF($10, '')::date, is_primary = $11::boolean, remarks = $12,"
    "  version = version + 1, updated_at = now()"
    " WHERE id = $1 AND version = $2::int";

/* One primary contact per customer: the new one takes the flag (the customer row is locked
 * first, so two people doing this at once wait for each other instead of colliding). */
static const char LOCK_CUSTOMER_SQL[] = "SELECT 1 FROM customers WHERE id = $1 FOR NO KEY UPDATE";
/* The customers of contacts about to be added, in one order for every writer (no deadlock). */
static const char LOCK_CUSTOMERS_SQL[] =
    "SELECT 1 FROM customers WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE";
static const char UNSET_PRIMARIES_SQL[] =
    "UPDATE contacts SET is_primary = false, version = version + 1, updated_at = now()"
    " WHERE customer_id = ANY($1::bigint[]) AND is_primary";
static const char UNSET_PRIMARY_SQL[] =
    "UPDATE contacts SET is_primary = false, version = version + 1, updated_at = now()"
    " WHERE customer_id = $1 AND is_primary AND id <> $2::bigint";

/* ==== helpers =============================================================================== */

static bool is_true(const char *v)
{
    return v && (v[0] == 't' || v[0] == '1');
}

static void keep_state(char state[6])
{
    g_strlcpy(state, db_sqlstate(), 6);
}

static void diff_rows(AuditDiff *d, const PGresult *old, const PGresult *now)
{
    const PGresult *shape = now && PQntuples(now) ? now : old;
    if (!shape)
        return;
    bool has_old = old && PQntuples(old) == 1, has_now = now && PQntuples(now) == 1;
    for (int c = 0; c < PQnfields(shape); c++)
        if (strcmp(PQfname(shape, c), "id") != 0) /* the row's own id is not a change */
            audit_diff(d, PQfname(shape, c), has_old ? db_val(old, 0, c) : "",
                       has_now ? db_val(now, 0, c) : "");
}

/* NFKC (full-width digits and dashes as typed with a Chinese IME become ASCII), trimmed, inner
 * runs of spaces made one. NULL for text that is not UTF-8. */
static char *normalise_number(Arena *a, const char *raw)
{
    gchar *n = g_utf8_normalize(raw, -1, G_NORMALIZE_NFKC);
    if (!n)
        return NULL;
    GString *s = g_string_new(NULL);
    for (const char *p = g_strstrip(n); *p; p++) {
        if (g_ascii_isspace(*p)) {
            if (s->len && s->str[s->len - 1] != ' ')
                g_string_append_c(s, ' ');
            continue;
        }
        g_string_append_c(s, *p);
    }
    char *out = arena_strdup(a, s->str);
    g_string_free(s, TRUE);
    g_free(n);
    return out;
}

/* The digits of s when it holds only digits and the separators people type; -1 otherwise. */
static int digits_of(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (g_ascii_isdigit(c)) {
            if (n + 1 >= cap)
                return -1;
            out[n++] = c;
        } else if (!strchr(" -()", c)) {
            return -1;
        }
    }
    out[n] = '\0';
    return (int)n;
}

static bool is_mobile_digits(const char *d)
{
    return strlen(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

/* Drops a leading country code 86 (written +86, 0086 or 86 before a mobile). */
static const char *without_country(const char *raw, const char *digits)
{
    const char *p = raw;
    while (*p == ' ')
        p++;
    if (*p == '+' && strncmp(digits, "86", 2) == 0)
        return digits + 2;
    if (strncmp(digits, "0086", 4) == 0)
        return digits + 4;
    if (strlen(digits) == 13 && strncmp(digits, "86", 2) == 0)
        return digits + 2;
    return digits;
}

const char *contacts_mobile_problem(Arena *a, const char *raw, const char **out)
{
    static const char msg[] = N_("Enter an 11-digit mobile number starting with 1, e.g. 13800138000.");
    char *s = raw ? normalise_number(a, raw) : NULL;
    char d[32];
    if (!s || digits_of(*s == '+' ? s + 1 : s, strlen(*s == '+' ? s + 1 : s), d, sizeof d) < 0)
        return msg;
    const char *m = without_country(s, d);
    if (!is_mobile_digits(m))
        return msg;
    *out = arena_strdup(a, m);
    return NULL;
}

const char *contacts_phone_problem(Arena *a, const char *raw, const char **out)
{
    static const char msg[] = N_("Enter a phone number such as 0571-88886666, 400-800-1234 or 13800138000.");
    char *s = raw ? normalise_number(a, raw) : NULL;
    if (!s)
        return msg;
    /* An extension after 转, ext, x or #: 1–6 digits. */
    size_t main_len = strlen(s);
    const char *markers[] = {"转", "ext.", "ext", "x", "X", "#", NULL};
    for (int i = 0; markers[i]; i++) {
        const char *m = strstr(s, markers[i]);
        if (!m)
            continue;
        const char *e = m + strlen(markers[i]);
        while (*e == ' ' || *e == '-')
            e++;
        size_t n = strspn(e, "0123456789");
        if (n < 1 || n > 6 || e[n])
            return msg;
        main_len = (size_t)(m - s);
        break;
    }
    bool plus = s[0] == '+';
    char d[40];
    int n = digits_of(s + plus, main_len - plus, d, sizeof d);
    if (n < 0)
        return msg;
    const char *m = without_country(s, d);
    size_t len = strlen(m);
    bool ok = is_mobile_digits(m) ||
              (m[0] == '0' && len >= 10 && len <= 12) ||            /* area code + number */
              (m[0] != '0' && m[0] != '1' && (len == 7 || len == 8)) || /* local number */
              ((!strncmp(m, "400", 3) || !strncmp(m, "800", 3)) && len == 10) ||
              (plus && m == d && len >= 6 && len <= 15);              /* another country */
    if (!ok)
        return msg;
    *out = s;
    return NULL;
}

int contacts_validate(Request *req, Form *f)
{
    Arena *a = req->arena;
    int i;
    const char *out;
    const char *mobile = form_get(f, "mobile"), *phone = form_get(f, "phone");
    for (i = 0; i < f->n && strcmp(f->defs[i].name, "mobile") != 0; i++)
        ;
    if (*mobile && !f->errors[i]) {
        const char *problem = contacts_mobile_problem(a, mobile, &out);
        if (problem)
            form_error(f, "mobile", problem);
        else
            form_set(f, "mobile", out);
    }
    for (i = 0; i < f->n && strcmp(f->defs[i].name, "phone") != 0; i++)
        ;
    if (*phone && !f->errors[i]) {
        const char *problem = contacts_phone_problem(a, phone, &out);
        if (problem)
            form_error(f, "phone", problem);
        else
            form_set(f, "phone", out);
    }
    const char *birthday = form_get(f, "birthday");
    if (*birthday && customers_valid_date(birthday)) {
        GDateTime *now = g_date_time_new_now_local();
        gchar *today = g_date_time_format(now, "%Y-%m-%d");
        if (strcmp(birthday, today) > 0)
            form_error(f, "birthday", N_("A birthday cannot be in the future."));
        g_free(today);
        g_date_time_unref(now);
    }
    return f->nerrors;
}

/* ==== operations ============================================================================ */

int contacts_insert_many(Request *req, Form **forms, const long *customer_ids, int n, long *ids)
{
    static const char *const fields[] = {NULL, "name", "title", "department", "mobile", "phone",
                                         "email", "wechat", "birthday", "is_primary", "remarks"};
    enum { NARRAYS = G_N_ELEMENTS(fields) };
    Arena *a = req->arena;
    if (n <= 0)
        return 0;
    bool own_tx = PQtransactionStatus(db_conn()) == PQTRANS_IDLE;
    if (own_tx && db_begin(a) < 0)
        return -1;
    const char *params[NARRAYS];
    const char **col = arena_alloc(a, sizeof(char *) * (size_t)n);
    const char **primaries = arena_alloc(a, sizeof(char *) * (size_t)n);
    int nprimary = 0;
    for (int k = 0; k < NARRAYS; k++) {
        for (int j = 0; j < n; j++) {
            if (k == 0)
                col[j] = req_id_text(req, customer_ids[j]);
            else if (strcmp(fields[k], "is_primary") == 0)
                col[j] = is_true(form_get(forms[j], "is_primary")) ? "true" : "false";
            else
                col[j] = form_get(forms[j], fields[k]);
            if (k == 0 && is_true(form_get(forms[j], "is_primary")))
                primaries[nprimary++] = col[j];
        }
        params[k] = sql_text_array(a, col, n);
    }
    PGresult *ins = NULL;
    bool ok = db_exec(a, LOCK_CUSTOMERS_SQL, params[0]) &&
              (!nprimary || db_exec(a, UNSET_PRIMARIES_SQL, sql_text_array(a, primaries, nprimary))) &&
              (ins = db_run(a, CONTACT_INSERT_SQL, NARRAYS, params, true)) && PQntuples(ins) == n;
    int namec = ok ? PQfnumber(ins, "name") : -1, idc = ok ? PQfnumber(ins, "id") : -1;
    for (int j = 0; ok && j < n; j++) {
        /* Rows in the arrays' order (ids are handed out as the rows are inserted). */
        ok = strcmp(PQgetvalue(ins, j, namec), form_get(forms[j], "name")) == 0;
        AuditDiff *d = audit_diff_new(a);
        for (int c = 0; ok && c < PQnfields(ins); c++)
            if (c != idc)
                audit_diff(d, PQfname(ins, c), "", db_val(ins, j, c));
        long id = atol(PQgetvalue(ins, j, idc));
        if (ids)
            ids[j] = id;
        ok = ok && audit_write(req, "contacts", "create", "contact", id, form_get(forms[j], "name"), d, "ok") == 0;
    }
    if (ok && own_tx)
        ok = db_commit(a) == 0;
    if (!ok) {
        if (own_tx)
            db_rollback(a);
        return -1;
    }
    return 0;
}

long contacts_insert(Request *req, Form *f, long customer_id)
{
    long id = -1;
    return contacts_insert_many(req, &f, &customer_id, 1, &id) < 0 ? -1 : id;
}

/* The contact's customer, checked: 404 when the contact does not exist or its customer is not
 * visible to the caller, 403 when it may not be changed by them. Returns the customer id or 0. */
static long contact_customer(Request *req, long contact_id, CustomerAccess *acc)
{
    PGresult *r = db_exec(req->arena, "SELECT customer_id FROM contacts WHERE id = $1", req_id_text(req, contact_id));
    if (!r) {
        resp_error(req, 503);
        return 0;
    }
    if (PQntuples(r) != 1) {
        resp_error(req, 404);
        return 0;
    }
    long cid = atol(PQgetvalue(r, 0, 0));
    if (customers_access(req, cid, acc) < 0) {
        resp_error(req, 503);
        return 0;
    }
    if (!acc->visible) {
        resp_error(req, 404);
        return 0;
    }
    if (!acc->can_write) {
        resp_error(req, 403);
        return 0;
    }
    return cid;
}

static const char *back_to(Request *req, long customer_id)
{
    return arena_printf(req->arena, "/customers/%ld#contacts", customer_id);
}

/* POST /customers/{id}/contacts: 303 to the customer's contacts; 422 with the customer page and
 * the add form as typed; 404 outside the caller's visibility; 403 when not theirs to change. */
static void add(Request *req)
{
    long cid = req_arg_id(req, 0);
    CustomerAccess acc;
    if (customers_access(req, cid, &acc) < 0) {
        resp_error(req, 503);
        return;
    }
    if (!acc.visible) {
        resp_error(req, 404);
        return;
    }
    if (!acc.can_write) {
        resp_error(req, 403);
        return;
    }
    Form *f = form_new(req, contact_fields);
    form_read(f);
    contacts_validate(req, f);
    if (f->nerrors) {
        customers_render_show(req, cid, f, 422);
        return;
    }
    if (contacts_insert(req, f, cid) < 0) {
        resp_error(req, 503);
        return;
    }
    resp_flash(req, "ok", N_("Contact added."));
    resp_redirect(req, back_to(req, cid));
}

static void render_form(Request *req, Form *f, long id, long cid, const char *customer, int status,
                        bool conflict)
{
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Edit contact"));
    form_push(f, v);
    view_set(v, "customer", customer);
    view_set(v, "action", arena_printf(req->arena, "/contacts/%ld/edit", id));
    view_set(v, "cancel", back_to(req, cid));
    view_set(v, "customer_href", arena_printf(req->arena, "/customers/%ld", cid));
    view_set_int(v, "has_conflict", conflict);
    view_render(req, v, "contacts/form", status);
}

/* GET /contacts/{id}/edit: 200 the form; 404 (no such contact, or its customer not visible);
 * 403 when the customer is not the caller's to change. */
static void edit_form(Request *req)
{
    long id = req_arg_id(req, 0);
    CustomerAccess acc;
    long cid = contact_customer(req, id, &acc);
    if (!cid)
        return;
    PGresult *r = db_exec(req->arena, CONTACT_FORM_SQL, req_id_text(req, id));
    if (!r || PQntuples(r) != 1) {
        resp_error(req, r ? 404 : 503);
        return;
    }
    Form *f = form_new(req, contact_fields);
    form_load(f, r, 0);
    render_form(req, f, id, cid, acc.name, 200, false);
}

/* POST /contacts/{id}/edit: 303 to the customer's contacts; 422 with input and messages; 409
 * when someone saved meanwhile; 404 / 403 as for the form; 400 for input not from the form. */
static void update(Request *req)
{
    long id = req_arg_id(req, 0);
    const char *sid = req_id_text(req, id);
    CustomerAccess acc;
    long cid = contact_customer(req, id, &acc);
    if (!cid)
        return;
    Form *f = form_new(req, contact_fields);
    form_read(f);
    if (!f->version) {
        resp_error(req, 400);
        return;
    }
    contacts_validate(req, f);
    if (f->nerrors) {
        render_form(req, f, id, cid, acc.name, 422, false);
        return;
    }
    Arena *a = req->arena;
    if (db_begin(a) < 0) {
        resp_error(req, 503);
        return;
    }
    const char *scid = req_id_text(req, cid);
    bool primary = is_true(form_get(f, "is_primary"));
    PGresult *old = NULL, *up = NULL, *now = NULL;
    bool ok = db_exec(a, LOCK_CUSTOMER_SQL, scid) && (old = db_exec(a, CONTACT_SNAPSHOT_SQL, sid)) &&
              (!primary || db_exec(a, UNSET_PRIMARY_SQL, scid, sid)) &&
              (up = db_exec(a, CONTACT_UPDATE_SQL, sid, f->version, form_get(f, "name"),
                            form_get(f, "title"), form_get(f, "department"), form_get(f, "mobile"),
                            form_get(f, "phone"), form_get(f, "email"), form_get(f, "wechat"),
                            form_get(f, "birthday"), primary ? "true" : "false", form_get(f, "remarks")));
    if (ok && atoi(PQcmdTuples(up)) == 0) {
        db_rollback(a);
        PGresult *cur = db_exec(a, CONTACT_FORM_SQL, sid);
        if (!cur || PQntuples(cur) != 1) {
            resp_error(req, cur ? 404 : 503);
            return;
        }
        form_stale(f, cur);
        render_form(req, f, id, cid, acc.name, 409, true);
        return;
    }
    AuditDiff *d = audit_diff_new(a);
    if (ok && (now = db_exec(a, CONTACT_SNAPSHOT_SQL, sid))) {
        diff_rows(d, old, now);
        ok = audit_write(req, "contacts", "update", "contact", id, form_get(f, "name"), d, "ok") == 0 &&
             db_commit(a) == 0;
    } else {
        ok = false;
    }
    if (!ok) {
        db_rollback(a);
        resp_error(req, 503);
        return;
    }
    resp_flash(req, "ok", audit_diff_count(d) ? N_("Contact saved.") : N_("No changes."));
    resp_redirect(req, back_to(req, cid));
}

/* POST /contacts/{id}/delete: 303 to the customer's contacts; 404; 403. */
static void delete_contact(Request *req)
{
    long id = req_arg_id(req, 0);
    const char *sid = req_id_text(req, id);
    CustomerAccess acc;
    long cid = contact_customer(req, id, &acc);
    if (!cid)
        return;
    Arena *a = req->arena;
    if (db_begin(a) < 0) {
        resp_error(req, 503);
        return;
    }
    char state[6] = "";
    PGresult *old = NULL;
    AuditDiff *d = audit_diff_new(a);
    bool ok = db_exec(a, LOCK_CUSTOMER_SQL, req_id_text(req, cid)) &&
              (old = db_exec(a, CONTACT_SNAPSHOT_SQL, sid)) && PQntuples(old) == 1 &&
              db_exec(a, "DELETE FROM contacts WHERE id = $1", sid);
    if (ok) {
        diff_rows(d, old, NULL);
        ok = audit_write(req, "contacts", "delete", "contact", id,
                         PQgetvalue(old, 0, PQfnumber(old, "name")), d, "ok") == 0 &&
             db_commit(a) == 0;
    }
    if (!ok) {
        keep_state(state);
        db_rollback(a);
        if (strcmp(state, "23503") == 0) {
            resp_flash(req, "error", N_("This contact cannot be deleted: other records refer to it."));
            resp_redirect(req, back_to(req, cid));
        } else {
            resp_error(req, old && PQntuples(old) == 0 ? 404 : 503);
        }
        return;
    }
    resp_flash(req, "ok", N_("Contact deleted."));
    resp_redirect(req, back_to(req, cid));
}

/* ==== the list ============================================================================== */

typedef struct Filters {
    const char *q, *owner, *month, *archived;
    bool primary;
    bool q_short, any;
} Filters;

static Filters *filters_read(Request *req)
{
    Filters *f = arena_alloc(req->arena, sizeof *f);
    f->q = customers_qparam(req, "q", 200);
    long id;
    const char *o = customers_qparam(req, "owner", 20);
    f->owner = o && customers_parse_id(o, &id) ? o : NULL;
    const char *m = customers_qparam(req, "month", 2);
    f->month = m && strspn(m, "0123456789") == strlen(m) && atoi(m) >= 1 && atoi(m) <= 12 ? m : NULL;
    const char *ar = customers_qparam(req, "archived", 8);
    f->archived = ar && (!strcmp(ar, "only") || !strcmp(ar, "all")) ? ar : NULL;
    f->primary = is_true(customers_qparam(req, "primary", 4));
    if (f->q) {
        bool pair = false;
        for (const char *p = f->q; *p && !pair;) {
            const char *n = g_utf8_next_char(p);
            pair = *n && !g_unichar_isspace(g_utf8_get_char(p)) && !g_unichar_isspace(g_utf8_get_char(n));
            p = n;
        }
        f->q_short = !pair;
    }
    f->any = f->q || f->owner || f->month || f->archived || f->primary;
    return f;
}

/* The FROM and WHERE of the page, its count and the export. Search: contacts by name and numbers
 * through their bigram index, contacts of customers whose name matches through the customers'
 * one, and e-mail addresses (no index: only when the query looks like part of one). */
static int filters_where(Request *req, const Filters *f, SqlBuf *q)
{
    sql_add(q, " FROM contacts ct JOIN customers c ON c.id = ct.customer_id"
               " LEFT JOIN users u ON u.id = c.owner_id WHERE ");
    if (customers_visible(req, q) < 0)
        return -1;
    if (f->q && !f->q_short) {
        const char *t = sql_param(q, f->q);
        const char *l = sql_param(q, sql_like_contains(req->arena, f->q));
        bool email = strchr(f->q, '@') != NULL;
        for (const char *p = f->q; *p && !email; p++)
            email = g_ascii_isalpha(*p);
        /* Two characters are one bigram: the index answer is exact, no substring check. */
        bool exact = g_utf8_strlen(f->q, -1) == 2;
        sql_add(q, arena_printf(req->arena,
            " AND ct.id IN (SELECT x.id FROM contacts x"
            "   WHERE kx_bigrams(x.name || E'\\n' || x.mobile || E'\\n' || x.phone) @> kx_bigrams(%s)%s"
            "  UNION SELECT x.id FROM customer_search ys JOIN customers y ON y.id = ys.customer_id"
            "   JOIN contacts x ON x.customer_id = y.id"
            "   WHERE ys.terms @> kx_bigrams(%s) AND y.name ILIKE %s%s)",
            t, exact ? "" : arena_printf(req->arena, " AND (x.name || E'\\n' || x.mobile || E'\\n' || x.phone) ILIKE %s", l),
            t, l, email ? arena_printf(req->arena, " UNION SELECT x.id FROM contacts x WHERE x.email ILIKE %s", l) : ""));
    }
    if (f->owner)
        sql_addp(q, " AND c.owner_id = %s::bigint", f->owner);
    if (f->primary)
        sql_add(q, " AND ct.is_primary");
    if (f->month)
        sql_addp(q, " AND extract(month FROM ct.birthday) = %s::int", f->month);
    if (!f->archived)
        sql_add(q, " AND NOT c.archived");
    else if (strcmp(f->archived, "only") == 0)
        sql_add(q, " AND c.archived");
    return 0;
}

/* "created" is the id (the primary key read backwards: newest first without a sort); birthdays
 * sort by month and day, so the next ones are easy to see. */
static const ListSort contact_sorts[] = {
    {"created", "ct.id", false},
    {"name", "ct.name", false},
    {"customer", "c.name", false},
    {"birthday", "to_char(ct.birthday, 'MM-DD')", true},
    {NULL, NULL, false},
};

static SqlBuf *build_select(Request *req, const Filters *f, const ListState *ls, bool page)
{
    SqlBuf *q = sql_new(req->arena,
        "SELECT ct.id, ct.name, ct.title, ct.department, ct.mobile, ct.phone, ct.email, ct.wechat,"
        " coalesce(to_char(ct.birthday, 'YYYY-MM-DD'), '') AS birthday,"
        " CASE WHEN ct.is_primary THEN '1' ELSE '' END AS is_primary, ct.remarks,"
        " c.id AS customer_id, c.name AS customer, c.code AS customer_code,"
        " coalesce(nullif(u.display_name, ''), u.username, '') AS owner,");
    sql_addp(q, " to_char(ct.created_at AT TIME ZONE %s::text, 'YYYY-MM-DD') AS created", cfg.timezone);
    if (page) {
        sql_add(q, ", ");
        sql_addp(q, "CASE WHEN ct.is_primary THEN %s ELSE '' END AS primary_text",
                 i18n_get(req->lang, N_("Primary")));
    } else {
        sql_addp(q, ", CASE WHEN ct.is_primary THEN %s ELSE '' END AS primary_text",
                 i18n_get(req->lang, N_("Yes")));
    }
    if (filters_where(req, f, q) < 0)
        return NULL;
    if (page) {
        list_order_limit(ls, q, "ct.id");
        return q;
    }
    const ListSort *s = &ls->sorts[ls->sort];
    const char *dir = ls->desc ? "DESC" : "ASC";
    sql_add(q, arena_printf(req->arena, " ORDER BY %s %s%s, ct.id %s LIMIT %d", s->sql, dir,
                            s->nullable ? " NULLS LAST" : "", dir, EXPORT_CAP));
    return q;
}

/* GET /contacts: 200 the contacts of the customers the caller may see (never of pool
 * customers), with search, filters, sorting and paging kept in the URL. */
static void list_page(Request *req)
{
    ListState *ls = list_begin(req, contact_sorts, "created", true);
    Filters *f = filters_read(req);
    SqlBuf *q = build_select(req, f, ls, true);
    SqlBuf *count = sql_new(req->arena, "SELECT count(*) FROM (SELECT 1");
    if (!q || filters_where(req, f, count) < 0) {
        resp_error(req, 503);
        return;
    }
    list_count_limit(ls, count);
    sql_add(count, ") t");
    SqlBuf *owners = sql_new(req->arena,
        "SELECT u.id::text AS o_value, CASE WHEN u.display_name <> '' AND u.display_name <> u.username"
        "  THEN u.display_name || ' (' || u.username || ')' ELSE u.username END AS o_label,"
        "  CASE WHEN u.id::text = ");
    sql_add(owners, sql_param(owners, f->owner ? f->owner : ""));
    sql_add(owners, " THEN '1' ELSE '' END AS o_selected FROM users u WHERE u.active AND ");
    if (scope_filter(req, owners, "u.id", NULL) < 0) {
        resp_error(req, 503);
        return;
    }
    sql_add(owners, arena_printf(req->arena, " ORDER BY lower(u.display_name), lower(u.username), u.id LIMIT %d",
                                 OWNER_OPTIONS_MAX));
    PGresult *rows = sql_exec(q), *orows = sql_exec(owners);
    if (!rows || !orows || list_count(ls, count) < 0) {
        resp_error(req, 503);
        return;
    }
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Contacts"));
    view_set(v, "v_q", f->q);
    view_set(v, "v_month", f->month);
    view_set(v, "v_archived", f->archived);
    view_set_int(v, "is_primary_only", f->primary);
    view_set_int(v, "is_q_short", f->q && f->q_short);
    view_set_int(v, "is_filtered", f->any);
    view_set_rows(v, "owners", orows);
    if (view_set_rows_html(v, "rows_html", rows, "contacts/list_row") < 0) {
        resp_error(req, 500);
        return;
    }
    view_set_int(v, "n_rows", PQntuples(rows));
    list_push(ls, v);
    view_set_int(v, "has_export", auth_can(req, "contacts.export"));
    const char *names[] = {"page"};
    const char *values[] = {NULL};
    view_set(v, "export_url", arena_printf(req->arena, "/contacts/export%s", list_query_with(req, names, values, 1)));
    view_render(req, v, "contacts/list", 200);
}

static const XlsxColumn export_columns[] = {
    {"name", N_("Full name"), XL_TEXT, 12},
    {"title", N_("Job title"), XL_TEXT, 14},
    {"department", N_("Department"), XL_TEXT, 14},
    {"mobile", N_("Mobile"), XL_TEXT, 14},
    {"phone", N_("Phone"), XL_TEXT, 16},
    {"email", N_("E-mail"), XL_TEXT, 24},
    {"wechat", N_("WeChat"), XL_TEXT, 14},
    {"birthday", N_("Birthday"), XL_DATE, 12},
    {"primary_text", N_("Primary contact"), XL_TEXT, 10},
    {"customer", N_("Customer"), XL_TEXT, 30},
    {"customer_code", N_("Customer code"), XL_TEXT, 12},
    {"owner", N_("Owner"), XL_TEXT, 12},
    {"remarks", N_("Remarks"), XL_TEXT, 30},
    {NULL, NULL, XL_TEXT, 0},
};

/* GET /contacts/export: 200 exactly the filtered contacts as .xlsx, with an audit row. */
static void export_page(Request *req)
{
    ListState *ls = list_begin(req, contact_sorts, "created", true);
    Filters *f = filters_read(req);
    xlsx_export_list(req, build_select(req, f, ls, false), "contacts", N_("Contacts"),
                     export_columns, "contacts", "contact");
}

static const Route routes[] = {
    {"GET", "/contacts", list_page, "contacts.view", 0},
    {"GET", "/contacts/export", export_page, "contacts.export", 0},
    {"POST", "/customers/{id}/contacts", add, "contacts.create", 0},
    {"GET", "/contacts/{id}/edit", edit_form, "contacts.edit", 0},
    {"POST", "/contacts/{id}/edit", update, "contacts.edit", 0},
    {"POST", "/contacts/{id}/delete", delete_contact, "contacts.delete", 0},
    {NULL, NULL, NULL, NULL, 0},
};

static const NavItem nav[] = {
    {"/contacts", N_("Contacts"), "contacts.view"},
    {NULL, NULL, NULL},
};

const Module contacts_module = {"contacts", routes, nav};
