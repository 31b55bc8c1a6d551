/* settings.c — the Settings module: company profile, document numbers, the reference lists every
 * module picks from (tax rates, currencies, accounts, simple lookups, stages, couriers,
 * warehouses) and the read-only regions.
 *
 * One generic, descriptor-driven implementation serves every editable section: a constant
 * Section says which table, which fields (a FieldDef plus a FieldRule for what form.c cannot
 * check), which constant SQL and which list columns. The handlers never know which table they
 * serve; the few table-specific rules (one default tax rate, the base currency, patterns that
 * fit their reset period) are small hooks of their Section. */
#include "../core/audit.h"
#include "../core/auth.h"
#include "../core/config.h"
#include "../core/db.h"
#include "../core/form.h"
#include "../core/i18n.h"
#include "../core/listing.h"
#include "../core/money.h"
#include "../core/numbering.h"
#include "../core/response.h"
#include "../core/router.h"
#include "../core/sqlbuf.h"
#include "../core/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- descriptors ---------------------------------------------------------------------- */

typedef enum {
    R_PLAIN = 0, /* what the FieldDef validates is all */
    R_DECIMAL,   /* exact decimal: at most `scale` decimals as typed, within lo..hi */
    R_PERCENT,   /* typed as a percentage (at most `scale` decimals), stored as a fraction */
    R_REGEX,     /* must match `regex` (after upper-casing when `upper`) */
    R_TRACKING,  /* http(s):// address with a {number} placeholder */
    R_PATTERN,   /* a document number pattern (numbering_pattern_ok) */
} RuleKind;

typedef struct FieldRule {
    RuleKind kind;
    int scale;
    bool fixed;          /* R_DECIMAL: always show `scale` decimals (amounts), else trim zeros */
    const char *lo, *hi; /* inclusive bounds as decimal text; NULL = open */
    const char *range_msg;
    const char *regex;
    bool upper;
    const char *msg;          /* message when the rule fails */
    const char *unique;       /* SQL finding another row holding the value: $1 value, $2 key[, $3 kind] */
    const char *unique_msg;
    const char *choices_sql;  /* F_SELECT options read from the database: value, label */
    const char *empty_choice; /* msgid of the "none" option (stored as NULL); NULL = must choose */
    bool create_only;         /* part of the key: entered when creating, never updated */
} FieldRule;

typedef struct SField {
    FieldDef def;
    FieldRule rule;
} SField;

enum ColFlags {
    COL_NUM = 1 << 0,   /* right-aligned number */
    COL_MONEY = 1 << 1, /* amount: 2 decimals with thousands separators */
    COL_SMALL = 1 << 2, /* long text in a smaller font */
};

typedef struct ListCol {
    const char *label; /* msgid */
    unsigned flags;
    const Choice *choices; /* codes shown by their (translated) labels */
} ListCol;

#define MAX_COLS 6

typedef struct Default {
    const char *name, *value;
} Default;

typedef struct Section Section;
struct Section {
    const char *slug; /* /settings/<slug> */
    const char *title, *new_title, *edit_title, *hint; /* msgids */
    const char *table;       /* audit object_type */
    const char *kind;        /* lookups.kind: the last parameter of every statement */
    const char *key_param;   /* text-keyed rows: the query/form parameter carrying the key */
    const char *key_regex;
    const char *fixed_key;   /* a single-row section (the company profile) */
    const char *label_field; /* field naming the row in the audit log; NULL = the key */
    bool label_is_msgid;     /* the row's label column is an English msgid (document types) */
    const SField *fields;    /* ended by a NULL name */
    const char *fields_tpl;  /* template laying out the f_<name> fields */
    const Default *defaults; /* initial values of a new row, ended by NULL */
    /* list page (NULL cols = no generic list) */
    const ListCol *cols;     /* at most MAX_COLS, ended by a NULL label */
    const ListSort *sorts;   /* "order", then "c1"… in column order */
    const char *sql_list;    /* SELECT key, flag, active, sort, one column per ListCol */
    const char *sql_from;    /* FROM <table> x … WHERE true */
    const char *search;      /* constant expression matched by the quick search */
    const char *tiebreak;    /* unique column for stable paging */
    const char *flag_label;  /* badge next to the first column when flag is true */
    const char *sql_next_sort; /* [$1 kind]: the sort value proposed for a new row */
    /* one row */
    const char *sql_get;    /* $1 key[, $2 kind]: columns named like the fields, version, label */
    const char *sql_insert; /* $1…$n every field in order[, $n+1 kind] RETURNING the key */
    const char *sql_update; /* $1 key, $2 version, $3… fields except create_only[, last kind] */
    const char *sql_delete; /* $1 key[, $2 kind] */
    /* table-specific rules */
    void (*check)(Request *req, const Section *s, Form *f, const char *key, const PGresult *old);
    int (*before_write)(Request *req, const Section *s, Form *f, const char *key);
    const char *(*delete_guard)(const Section *s, const char *key, const PGresult *cur);
    int (*decorate)(Request *req, const Section *s, Form *f, View *v, const char *key);
};

static const Choice yes_no[] = {{"t", N_("Yes")}, {"f", N_("No")}, {NULL, NULL}};

#define SORT_FIELD                                                                             \
    {.def = {.name = "sort", .label = N_("Order"), .type = F_INT, .flags = F_REQUIRED,          \
             .max_len = 7, .min = 0, .max = 999999, .help = N_("Lower numbers come first.")}}
#define ACTIVE_FIELD                                                                           \
    {.def = {.name = "active", .label = N_("Active"), .type = F_CHECKBOX,                       \
             .help = N_("Inactive entries stay on existing records but can no longer be chosen.")}}
#define END_FIELD {.def = {.name = NULL}}

static const Default active_default[] = {{"active", "1"}, {NULL, NULL}};

/* ---- company profile ---- */

static const SField company_fields[] = {
    {.def = {.name = "name", .label = N_("Company name"), .type = F_TEXT, .flags = F_REQUIRED,
             .max_len = 100, .help = N_("The full registered name, printed on quotes and contracts.")}},
    {.def = {.name = "short_name", .label = N_("Short name"), .type = F_TEXT, .max_len = 40}},
    {.def = {.name = "tax_id", .label = N_("Tax ID"), .type = F_TEXT, .max_len = 20,
             .help = N_("Unified social credit code, 18 characters.")},
     .rule = {.kind = R_REGEX, .regex = "^[0-9A-Z]{15,20}$", .upper = true,
              .msg = N_("Use 15 to 20 letters and digits.")}},
    {.def = {.name = "address", .label = N_("Address"), .type = F_TEXT, .max_len = 200}},
    {.def = {.name = "phone", .label = N_("Phone"), .type = F_TEXT, .max_len = 40}},
    {.def = {.name = "fax", .label = N_("Fax"), .type = F_TEXT, .max_len = 40}},
    {.def = {.name = "email", .label = N_("E-mail"), .type = F_EMAIL, .max_len = 100}},
    {.def = {.name = "website", .label = N_("Website"), .type = F_TEXT, .max_len = 200}},
    {.def = {.name = "bank_name", .label = N_("Bank"), .type = F_TEXT, .max_len = 100,
             .help = N_("Bank of the main account, printed on quotes and contracts.")}},
    {.def = {.name = "bank_account", .label = N_("Bank account number"), .type = F_TEXT,
             .max_len = 40},
     .rule = {.kind = R_REGEX, .regex = "^[0-9][0-9 -]*$",
              .msg = N_("Use digits, spaces and hyphens only.")}},
    {.def = {.name = "quote_terms", .label = N_("Quote terms"), .type = F_TEXTAREA,
             .max_len = 4000, .help = N_("Printed at the end of every quote.")}},
    {.def = {.name = "contract_terms", .label = N_("Contract terms"), .type = F_TEXTAREA,
             .max_len = 8000, .help = N_("Printed on sales contracts.")}},
    END_FIELD,
};

/* ---- document numbers ---- */

static const Choice reset_choices[] = {
    {"daily", N_("Every day")},
    {"monthly", N_("Every month")},
    {"yearly", N_("Every year")},
    {"never", N_("Never (one running sequence)")},
    {NULL, NULL},
};

static const SField numbering_fields[] = {
    {.def = {.name = "prefix", .label = N_("Prefix"), .type = F_TEXT, .max_len = 8,
             .help = N_("Up to 8 letters, digits or hyphens.")},
     .rule = {.kind = R_REGEX, .regex = "^[A-Za-z0-9-]{0,8}$",
              .msg = N_("Use at most 8 letters, digits and hyphens.")}},
    {.def = {.name = "pattern", .label = N_("Pattern"), .type = F_TEXT, .flags = F_REQUIRED,
             .max_len = 60},
     .rule = {.kind = R_PATTERN,
              .msg = N_("Use only the tokens listed below, with exactly one run of # for the number.")}},
    {.def = {.name = "reset", .label = N_("Counter restarts"), .type = F_SELECT,
             .flags = F_REQUIRED, .choices = reset_choices}},
    END_FIELD,
};

/* ---- tax rates ---- */

static const SField tax_fields[] = {
    {.def = {.name = "name", .label = N_("Name"), .type = F_TEXT, .flags = F_REQUIRED,
             .max_len = 40, .help = N_("As printed on documents, e.g. 13%.")}},
    {.def = {.name = "rate", .label = N_("Rate (%)"), .type = F_TEXT, .flags = F_REQUIRED,
             .max_len = 12, .help = N_("A percentage, e.g. 13 or 6.5.")},
     .rule = {.kind = R_PERCENT, .scale = 2, .lo = "0", .hi = "99.99",
              .range_msg = N_("Enter a percentage from 0 to 99.99."),
              .unique = "SELECT 1 FROM tax_rates WHERE rate = $1::numeric AND id::text <> $2",
              .unique_msg = N_("This rate already exists.")}},
    {.def = {.name = "is_default", .label = N_("Default rate"), .type = F_CHECKBOX,
             .help = N_("Proposed on new document lines. "
                        "Setting it here removes it from the previous default.")}},
    SORT_FIELD,
    ACTIVE_FIELD,
    END_FIELD,
};
static const ListCol tax_cols[] = {{N_("Name"), 0, NULL}, {N_("Rate"), COL_NUM, NULL}, {NULL, 0, NULL}};
static const ListSort tax_sorts[] = {
    {"order", "x.sort"}, {"c1", "x.name"}, {"c2", "x.rate"}, {NULL, NULL}};

/* ---- currencies ---- */

static const SField currency_fields[] = {
    {.def = {.name = "code", .label = N_("Code"), .type = F_TEXT, .flags = F_REQUIRED,
             .max_len = 3, .help = N_("ISO 4217, three capital letters, e.g. USD.")},
     .rule = {.kind = R_REGEX, .regex = "^[A-Z]{3}$", .upper = true,
              .msg = N_("Use three letters, e.g. USD."),
              .unique = "SELECT 1 FROM currencies WHERE code = $1 AND code <> $2",
              .unique_msg = N_("This code is already in use."), .create_only = true}},
    {.def = {.name = "name", .label = N_("Name"), .type = F_TEXT, .flags = F_REQUIRED,
             .max_len = 40}},
    {.def = {.name = "symbol", .label = N_("Symbol"), .type = F_TEXT, .max_len = 8}},
    {.def = {.name = "rate_to_cny", .label = N_("Rate to CNY"), .type = F_TEXT,
             .flags = F_REQUIRED, .max_len = 24,
             .help = N_("How many CNY one unit of this currency is worth, up to 6 decimals.")},
     .rule = {.kind = R_DECIMAL, .scale = 6, .lo = "0.000001", .hi = "999999999999.999999",
              .range_msg = N_("Enter a rate greater than 0.")}},
    SORT_FIELD,
    ACTIVE_FIELD,
    END_FIELD,
};
static const ListCol currency_cols[] = {
    {N_("Code"), 0, NULL}, {N_("Name"), 0, NULL}, {N_("Symbol"), 0, NULL},
    {N_("Rate to CNY"), COL_NUM, NULL}, {NULL, 0, NULL}};
static const ListSort currency_sorts[] = {
    {"order", "x.sort"}, {"c1", "x.code"}, {"c2", "x.name"}, {"c3", "x.symbol"},
    {"c4", "x.rate_to_cny"}, {NULL, NULL}};

/* ---- bank and cash accounts ---- */

static const Choice account_kinds[] = {
    {"bank", N_("Bank account")}, {"cash", N_("Cash")}, {"wechat", N_("WeChat Pay")},
    {"alipay", N_("Alipay")}, {"other", N_("Other")}, {NULL, NULL}};

static const SField account_fields[] = {
    {.def = {.name = "name", .label = N_("Name"), .type = F_TEXT, .flags = F_REQUIRED,
             .max_len = 60, .help = N_("How the account is called in payments, e.g. ICBC basic account.")},
     .rule = {.unique = "SELECT 1 FROM bank_accounts WHERE name = $1 AND id::text <> $2",
              .unique_msg = N_("This name is already in use.")}},
    {.def = {.name = "kind", .label = N_("Type"), .type = F_SELECT, .flags = F_REQUIRED,
             .choices = account_kinds}},
    {.def = {.name = "currency", .label = N_("Currency"), .type = F_SELECT, .flags = F_REQUIRED},
     .rule = {.choices_sql = "SELECT code, code || ' ' || name FROM currencies"
                             " WHERE active OR code IN (SELECT currency FROM bank_accounts)"
                             " ORDER BY sort, code"}},
    {.def = {.name = "bank_name", .label = N_("Bank"), .type = F_TEXT, .max_len = 100}},
    {.def = {.name = "account_no", .label = N_("Account number"), .type = F_TEXT, .max_len = 40}},
    {.def = {.name = "opening_balance", .label = N_("Opening balance"), .type = F_TEXT,
             .flags = F_REQUIRED, .max_len = 26,
             .help = N_("Balance when Kexin started to record this account; may be negative.")},
     .rule = {.kind = R_DECIMAL, .scale = 2, .fixed = true, .lo = "-9999999999999999.99",
              .hi = "9999999999999999.99"}},
    SORT_FIELD,
    ACTIVE_FIELD,
    END_FIELD,
};
static const Default account_defaults[] = {
    {"active", "1"}, {"kind", "bank"}, {"currency", "CNY"}, {"opening_balance", "0.00"}, {NULL, NULL}};
static const ListCol account_cols[] = {
    {N_("Name"), 0, NULL}, {N_("Type"), 0, account_kinds}, {N_("Bank"), 0, NULL},
    {N_("Account number"), 0, NULL}, {N_("Currency"), 0, NULL},
    {N_("Opening balance"), COL_MONEY, NULL}, {NULL, 0, NULL}};
static const ListSort account_sorts[] = {
    {"order", "x.sort"}, {"c1", "x.name"}, {"c2", "x.kind"}, {"c3", "x.bank_name"},
    {"c4", "x.account_no"}, {"c5", "x.currency"}, {"c6", "x.opening_balance"}, {NULL, NULL}};

/* ---- simple lists (table lookups, one `kind` each) ---- */

static const SField lookup_fields[] = {
    {.def = {.name = "name", .label = N_("Name"), .type = F_TEXT, .flags = F_REQUIRED,
             .max_len = 40},
     .rule = {.unique = "SELECT 1 FROM lookups WHERE kind = $3 AND lower(name) = lower($1)"
                        " AND id::text <> $2",
              .unique_msg = N_("This name is already in use.")}},
    SORT_FIELD,
    ACTIVE_FIELD,
    END_FIELD,
};
static const ListCol lookup_cols[] = {{N_("Name"), 0, NULL}, {NULL, 0, NULL}};
static const ListSort lookup_sorts[] = {{"order", "x.sort"}, {"c1", "x.name"}, {NULL, NULL}};

/* ---- opportunity stages ---- */

static const Choice outcomes[] = {
    {"open", N_("Open")}, {"won", N_("Won")}, {"lost", N_("Lost")}, {NULL, NULL}};

static const SField stage_fields[] = {
    {.def = {.name = "name", .label = N_("Name"), .type = F_TEXT, .flags = F_REQUIRED,
             .max_len = 40},
     .rule = {.unique = "SELECT 1 FROM opportunity_stages WHERE name = $1 AND id::text <> $2",
              .unique_msg = N_("This name is already in use.")}},
    {.def = {.name = "probability", .label = N_("Win probability (%)"), .type = F_INT,
             .flags = F_REQUIRED, .max_len = 3, .min = 0, .max = 100,
             .help = N_("0 to 100; weights the sales forecast.")}},
    {.def = {.name = "outcome", .label = N_("Outcome"), .type = F_SELECT, .flags = F_REQUIRED,
             .choices = outcomes, .help = N_("Won and lost stages close the opportunity.")}},
    SORT_FIELD,
    ACTIVE_FIELD,
    END_FIELD,
};
static const Default stage_defaults[] = {
    {"active", "1"}, {"outcome", "open"}, {"probability", "50"}, {NULL, NULL}};
static const ListCol stage_cols[] = {
    {N_("Name"), 0, NULL}, {N_("Win probability"), COL_NUM, NULL}, {N_("Outcome"), 0, outcomes},
    {NULL, 0, NULL}};
static const ListSort stage_sorts[] = {
    {"order", "x.sort"}, {"c1", "x.name"}, {"c2", "x.probability"}, {"c3", "x.outcome"},
    {NULL, NULL}};

/* ---- couriers ---- */

static const SField courier_fields[] = {
    {.def = {.name = "name", .label = N_("Name"), .type = F_TEXT, .flags = F_REQUIRED,
             .max_len = 40},
     .rule = {.unique = "SELECT 1 FROM couriers WHERE name = $1 AND id::text <> $2",
              .unique_msg = N_("This name is already in use.")}},
    {.def = {.name = "code", .label = N_("Code"), .type = F_TEXT, .max_len = 16,
             .help = N_("Short code, e.g. SF.")}},
    {.def = {.name = "tracking_url", .label = N_("Tracking address"), .type = F_TEXT,
             .max_len = 300,
             .help = N_("Web address that shows a shipment; {number} stands for the tracking number.")},
     .rule = {.kind = R_TRACKING,
              .msg = N_("Start with http:// or https:// and put {number} where the tracking number goes.")}},
    SORT_FIELD,
    ACTIVE_FIELD,
    END_FIELD,
};
static const ListCol courier_cols[] = {
    {N_("Name"), 0, NULL}, {N_("Code"), 0, NULL}, {N_("Tracking address"), COL_SMALL, NULL},
    {NULL, 0, NULL}};
static const ListSort courier_sorts[] = {
    {"order", "x.sort"}, {"c1", "x.name"}, {"c2", "x.code"}, {"c3", "x.tracking_url"},
    {NULL, NULL}};

/* ---- warehouses ---- */

static const SField warehouse_fields[] = {
    {.def = {.name = "code", .label = N_("Code"), .type = F_TEXT, .flags = F_REQUIRED,
             .max_len = 16, .help = N_("Letters, digits and hyphens, e.g. WH01.")},
     .rule = {.kind = R_REGEX, .regex = "^[A-Za-z0-9-]{1,16}$",
              .msg = N_("Use at most 16 letters, digits and hyphens."),
              .unique = "SELECT 1 FROM warehouses WHERE code = $1 AND id::text <> $2",
              .unique_msg = N_("This code is already in use.")}},
    {.def = {.name = "name", .label = N_("Name"), .type = F_TEXT, .flags = F_REQUIRED,
             .max_len = 40},
     .rule = {.unique = "SELECT 1 FROM warehouses WHERE name = $1 AND id::text <> $2",
              .unique_msg = N_("This name is already in use.")}},
    {.def = {.name = "keeper_id", .label = N_("Keeper"), .type = F_SELECT},
     .rule = {.choices_sql = "SELECT id::text, coalesce(nullif(display_name, ''), username) FROM users"
                             " WHERE active OR id IN (SELECT keeper_id FROM warehouses)"
                             " ORDER BY 2, 1",
              .empty_choice = N_("(none)")}},
    {.def = {.name = "address", .label = N_("Address"), .type = F_TEXT, .max_len = 200}},
    {.def = {.name = "allow_negative", .label = N_("Allow negative stock"), .type = F_CHECKBOX,
             .help = N_("Lets stock-out go below zero when goods leave before their receipt is booked.")}},
    SORT_FIELD,
    ACTIVE_FIELD,
    END_FIELD,
};
static const ListCol warehouse_cols[] = {
    {N_("Code"), 0, NULL}, {N_("Name"), 0, NULL}, {N_("Keeper"), 0, NULL},
    {N_("Negative stock"), 0, yes_no}, {N_("Address"), COL_SMALL, NULL}, {NULL, 0, NULL}};
static const ListSort warehouse_sorts[] = {
    {"order", "x.sort"}, {"c1", "x.code"}, {"c2", "x.name"},
    {"c3", "coalesce(nullif(u.display_name, ''), u.username, '')"},
    {"c4", "x.allow_negative"}, {"c5", "x.address"}, {NULL, NULL}};

/* ---- table-specific rules ---- */

static const char *col_text(const PGresult *r, const char *name)
{
    int c = r ? PQfnumber(r, name) : -1;
    return c >= 0 && PQntuples(r) > 0 && !PQgetisnull(r, 0, c) ? PQgetvalue(r, 0, c) : "";
}

static int field_index(const Form *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->defs[i].name, name) == 0)
            return i;
    return -1;
}

/* Sets a field to a fixed value and forgets any complaint about what was typed. */
static void force_value(Form *f, const char *name, const char *value)
{
    int i = field_index(f, name);
    if (i < 0)
        return;
    if (f->errors[i]) {
        f->errors[i] = NULL;
        f->nerrors--;
    }
    f->values[i] = value;
}

/* Exactly one default rate, and it is active. */
static void tax_check(Request *req, const Section *s, Form *f, const char *key, const PGresult *old)
{
    (void)req, (void)s, (void)key;
    bool def = *form_get(f, "is_default") != '\0';
    if (!def && old && col_text(old, "is_default")[0] == 't')
        form_error(f, "is_default",
                   N_("There must be a default rate: make another rate the default instead."));
    if (def && !*form_get(f, "active"))
        form_error(f, "active", N_("The default rate must stay active."));
}

/* A new default takes the mark from the old one, in the same transaction (the partial unique
 * index allows one), with its own audit row. */
static int tax_before_write(Request *req, const Section *s, Form *f, const char *key)
{
    (void)s;
    if (!*form_get(f, "is_default"))
        return 0;
    /* Two people making different rates the default at once: the second waits here and then
     * sees the first one's default, instead of tripping over the unique index. */
    if (!db_exec0(req->arena, "LOCK TABLE tax_rates IN SHARE ROW EXCLUSIVE MODE"))
        return -1;
    PGresult *r = db_exec(req->arena,
                          "UPDATE tax_rates SET is_default = false, version = version + 1"
                          " WHERE is_default AND id::text <> $1 RETURNING id, name",
                          key ? key : "");
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        AuditDiff *d = audit_diff_new(req->arena);
        audit_diff(d, "is_default", "true", "false");
        if (audit_write(req, "settings", "update", "tax_rates", atol(PQgetvalue(r, i, 0)),
                        PQgetvalue(r, i, 1), d, "ok") < 0)
            return -1;
    }
    return 0;
}

static const char *tax_delete_guard(const Section *s, const char *key, const PGresult *cur)
{
    (void)s, (void)key;
    return col_text(cur, "is_default")[0] == 't'
               ? N_("The default tax rate cannot be deleted. Make another rate the default first.")
               : NULL;
}

/* The default rate offers no Delete button (the guard would refuse it anyway). */
static int tax_decorate(Request *req, const Section *s, Form *f, View *v, const char *key)
{
    (void)req, (void)s, (void)key;
    int i = field_index(f, "is_default");
    if (i >= 0 && *f->orig[i])
        view_set_int(v, "has_delete", 0);
    return 0;
}

static bool is_base_currency(const char *key)
{
    return key && strcmp(key, "CNY") == 0;
}

/* CNY is the base: its rate is 1 by definition and it stays active. */
static void currency_check(Request *req, const Section *s, Form *f, const char *key,
                           const PGresult *old)
{
    (void)req, (void)s, (void)old;
    if (!is_base_currency(key))
        return;
    force_value(f, "rate_to_cny", "1");
    if (!*form_get(f, "active"))
        form_error(f, "active", N_("The base currency cannot be deactivated."));
}

static const char *currency_delete_guard(const Section *s, const char *key, const PGresult *cur)
{
    (void)s, (void)cur;
    return is_base_currency(key) ? N_("The base currency CNY cannot be deleted.") : NULL;
}

static int currency_decorate(Request *req, const Section *s, Form *f, View *v, const char *key)
{
    (void)req, (void)s, (void)f;
    view_set_int(v, "is_base", is_base_currency(key));
    if (is_base_currency(key))
        view_set_int(v, "has_delete", 0);
    return 0;
}

/* A counter that restarts every day must have the day in the number, or numbers repeat. */
static void numbering_check(Request *req, const Section *s, Form *f, const char *key,
                            const PGresult *old)
{
    (void)req, (void)s, (void)key, (void)old;
    int pi = field_index(f, "pattern");
    if (pi < 0 || f->errors[pi] || f->errors[field_index(f, "reset")])
        return;
    const char *p = f->values[pi], *reset = form_get(f, "reset");
    bool y = strstr(p, "{yyyy}") || strstr(p, "{yy}"), m = strstr(p, "{mm}") != NULL,
         d = strstr(p, "{dd}") != NULL;
    if (strcmp(reset, "daily") == 0 && !(y && m && d))
        form_error(f, "pattern", N_("A counter restarting every day needs the year, {mm} and {dd} "
                                    "in the pattern, or numbers would repeat."));
    else if (strcmp(reset, "monthly") == 0 && !(y && m))
        form_error(f, "pattern", N_("A counter restarting every month needs the year and {mm} "
                                    "in the pattern, or numbers would repeat."));
    else if (strcmp(reset, "yearly") == 0 && !y)
        form_error(f, "pattern", N_("A counter restarting every year needs {yyyy} or {yy} "
                                    "in the pattern, or numbers would repeat."));
}

/* Today in the company's time zone, as YYYYMMDD; 0 when the database failed. */
static int company_today(Request *req)
{
    PGresult *r = db_exec(req->arena, "SELECT to_char(now() AT TIME ZONE $1, 'YYYYMMDD')",
                          cfg.timezone);
    return r && PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : 0;
}

/* The tokens a pattern may use, for the explanation under the form and the list. */
static void push_tokens(Request *req, View *v)
{
    static const char *const tokens[][2] = {
        {"{prefix}", N_("The prefix")},
        {"{yyyy}", N_("Year, four digits")},
        {"{yy}", N_("Year, two digits")},
        {"{mm}", N_("Month, two digits")},
        {"{dd}", N_("Day, two digits")},
        {"{####}", N_("The running number, zero-padded to the number of # signs "
                      "(it grows wider when needed)")},
    };
    GPtrArray *rows = g_ptr_array_new();
    for (size_t i = 0; i < G_N_ELEMENTS(tokens); i++) {
        const char **row = arena_alloc(req->arena, sizeof(char *) * 4);
        row[0] = tokens[i][0];
        row[1] = i18n_get(req->lang, tokens[i][1]);
        row[2] = i + 1 < G_N_ELEMENTS(tokens) ? " · " : "";
        g_ptr_array_add(rows, row);
    }
    view_set_table(v, "tokens", rows);
    g_ptr_array_free(rows, TRUE);
    view_set_columns(v, (const char *const[]){"token", "meaning", "sep", NULL});
}

/* The number the next document would get with the pattern as typed (or "" when invalid). */
static int numbering_decorate(Request *req, const Section *s, Form *f, View *v, const char *key)
{
    (void)s;
    push_tokens(req, v);
    int today = company_today(req);
    if (!today)
        return -1;
    int y = today / 10000, m = today / 100 % 100, d = today % 100;
    const char *reset = form_get(f, "reset");
    char buf[16];
    const char *period = numbering_period(*reset ? reset : "never", y, m, d, buf);
    PGresult *r = db_exec(req->arena,
                          "SELECT coalesce((SELECT last_value FROM doc_counters"
                          " WHERE doc_type = $1 AND period = $2), 0)",
                          key, period);
    if (!r)
        return -1;
    long last = atol(PQgetvalue(r, 0, 0));
    char *preview = numbering_format(form_get(f, "pattern"), form_get(f, "prefix"), y, m, d,
                                     last + 1);
    view_set(v, "preview", preview ? preview : "");
    g_free(preview);
    view_set(v, "counter", arena_printf(req->arena, "%ld", last));
    view_set(v, "today", arena_printf(req->arena, "%04d-%02d-%02d", y, m, d));
    return 0;
}

/* ---- the sections ---- */

#define LOOKUP_SECTION(slug_, kind_, title_, new_, edit_, hint_)                               \
    {.slug = slug_, .title = title_, .new_title = new_, .edit_title = edit_, .hint = hint_,     \
     .table = "lookups", .kind = kind_, .label_field = "name", .fields = lookup_fields,         \
     .fields_tpl = "settings/fields-lookup", .defaults = active_default, .cols = lookup_cols,   \
     .sorts = lookup_sorts,                                                                     \
     .sql_list = "SELECT x.id::text, false, x.active, x.sort, x.name",                          \
     .sql_from = "FROM lookups x WHERE true", .search = "x.name", .tiebreak = "x.id",           \
     .sql_next_sort = "SELECT coalesce(max(sort), 0) + 10 FROM lookups WHERE kind = $1",        \
     .sql_get = "SELECT name, sort, active, version, name AS label FROM lookups"                \
                " WHERE id = $1 AND kind = $2",                                                 \
     .sql_insert = "INSERT INTO lookups (name, sort, active, kind) VALUES ($1, $2, $3, $4)"     \
                   " RETURNING id",                                                             \
     .sql_update = "UPDATE lookups SET name = $3, sort = $4, active = $5,"                      \
                   " version = version + 1 WHERE id = $1 AND version = $2 AND kind = $6",       \
     .sql_delete = "DELETE FROM lookups WHERE id = $1 AND kind = $2"}

static const Section sections[] = {
    {.slug = "company", .title = N_("Company profile"), .edit_title = N_("Company profile"),
     .hint = N_("Printed on quotes, contracts and other documents."),
     .table = "company_profile", .fixed_key = "1", .label_field = "name",
     .fields = company_fields, .fields_tpl = "settings/fields-company",
     .sql_get = "SELECT name, short_name, tax_id, address, phone, fax, email, website, bank_name,"
                " bank_account, quote_terms, contract_terms, version, name AS label"
                " FROM company_profile WHERE id = $1",
     .sql_update = "UPDATE company_profile SET name = $3, short_name = $4, tax_id = $5,"
                   " address = $6, phone = $7, fax = $8, email = $9, website = $10,"
                   " bank_name = $11, bank_account = $12, quote_terms = $13, contract_terms = $14,"
                   " updated_at = now(), version = version + 1 WHERE id = $1 AND version = $2"},
    {.slug = "numbering", .title = N_("Document numbers"),
     .edit_title = N_("Edit document number"), .table = "doc_sequences", .key_param = "type",
     .key_regex = "^[a-z][a-z0-9_]{1,40}$", .label_is_msgid = true, .fields = numbering_fields,
     .fields_tpl = "settings/fields-numbering",
     .sql_get = "SELECT prefix, pattern, reset, version, name AS label FROM doc_sequences"
                " WHERE doc_type = $1",
     .sql_update = "UPDATE doc_sequences SET prefix = $3, pattern = $4, reset = $5,"
                   " updated_at = now(), version = version + 1"
                   " WHERE doc_type = $1 AND version = $2",
     .check = numbering_check, .decorate = numbering_decorate},
    {.slug = "tax-rates", .title = N_("Tax rates"), .new_title = N_("New tax rate"),
     .edit_title = N_("Edit tax rate"),
     .hint = N_("VAT rates offered on document lines; the default one is proposed first."),
     .table = "tax_rates", .label_field = "name", .fields = tax_fields,
     .fields_tpl = "settings/fields-tax-rates", .defaults = active_default, .cols = tax_cols,
     .sorts = tax_sorts,
     .sql_list = "SELECT x.id::text, x.is_default, x.active, x.sort, x.name,"
                 " trim_scale(x.rate * 100)::text || '%'",
     .sql_from = "FROM tax_rates x WHERE true", .search = "x.name", .tiebreak = "x.id",
     .flag_label = N_("Default"),
     .sql_next_sort = "SELECT coalesce(max(sort), 0) + 10 FROM tax_rates",
     .sql_get = "SELECT name, trim_scale(rate * 100)::text AS rate, is_default, sort, active,"
                " version, name AS label FROM tax_rates WHERE id = $1",
     .sql_insert = "INSERT INTO tax_rates (name, rate, is_default, sort, active)"
                   " VALUES ($1, $2, $3, $4, $5) RETURNING id",
     .sql_update = "UPDATE tax_rates SET name = $3, rate = $4, is_default = $5, sort = $6,"
                   " active = $7, version = version + 1 WHERE id = $1 AND version = $2",
     .sql_delete = "DELETE FROM tax_rates WHERE id = $1",
     .check = tax_check, .before_write = tax_before_write, .delete_guard = tax_delete_guard,
     .decorate = tax_decorate},
    {.slug = "currencies", .title = N_("Currencies"), .new_title = N_("New currency"),
     .edit_title = N_("Edit currency"),
     .hint = N_("Exchange rates convert foreign-currency amounts into CNY."),
     .table = "currencies", .key_param = "code", .key_regex = "^[A-Z]{3}$",
     .label_field = "code", .fields = currency_fields, .fields_tpl = "settings/fields-currencies",
     .defaults = active_default, .cols = currency_cols, .sorts = currency_sorts,
     .sql_list = "SELECT x.code, x.code = 'CNY', x.active, x.sort, x.code, x.name, x.symbol,"
                 " trim_scale(x.rate_to_cny)::text",
     .sql_from = "FROM currencies x WHERE true", .search = "x.code || ' ' || x.name",
     .tiebreak = "x.code", .flag_label = N_("Base currency"),
     .sql_next_sort = "SELECT coalesce(max(sort), 0) + 10 FROM currencies",
     .sql_get = "SELECT code, name, symbol, trim_scale(rate_to_cny)::text AS rate_to_cny, sort,"
                " active, version, code AS label FROM currencies WHERE code = $1",
     .sql_insert = "INSERT INTO currencies (code, name, symbol, rate_to_cny, sort, active)"
                   " VALUES ($1, $2, $3, $4, $5, $6) RETURNING code",
     .sql_update = "UPDATE currencies SET name = $3, symbol = $4, rate_to_cny = $5, sort = $6,"
                   " active = $7, updated_at = now(), version = version + 1"
                   " WHERE code = $1 AND version = $2",
     .sql_delete = "DELETE FROM currencies WHERE code = $1",
     .check = currency_check, .delete_guard = currency_delete_guard,
     .decorate = currency_decorate},
    {.slug = "bank-accounts", .title = N_("Bank and cash accounts"),
     .new_title = N_("New account"), .edit_title = N_("Edit account"),
     .hint = N_("Where money is received and paid: bank accounts, cash, WeChat Pay, Alipay."),
     .table = "bank_accounts", .label_field = "name", .fields = account_fields,
     .fields_tpl = "settings/fields-bank-accounts", .defaults = account_defaults,
     .cols = account_cols, .sorts = account_sorts,
     .sql_list = "SELECT x.id::text, false, x.active, x.sort, x.name, x.kind, x.bank_name,"
                 " x.account_no, x.currency, x.opening_balance::text",
     .sql_from = "FROM bank_accounts x WHERE true",
     .search = "x.name || ' ' || x.bank_name || ' ' || x.account_no", .tiebreak = "x.id",
     .sql_next_sort = "SELECT coalesce(max(sort), 0) + 10 FROM bank_accounts",
     .sql_get = "SELECT name, kind, currency, bank_name, account_no,"
                " opening_balance::text AS opening_balance, sort, active, version, name AS label"
                " FROM bank_accounts WHERE id = $1",
     .sql_insert = "INSERT INTO bank_accounts (name, kind, currency, bank_name, account_no,"
                   " opening_balance, sort, active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                   " RETURNING id",
     .sql_update = "UPDATE bank_accounts SET name = $3, kind = $4, currency = $5, bank_name = $6,"
                   " account_no = $7, opening_balance = $8, sort = $9, active = $10,"
                   " version = version + 1 WHERE id = $1 AND version = $2",
     .sql_delete = "DELETE FROM bank_accounts WHERE id = $1"},
    LOOKUP_SECTION("payment-methods", "payment_method", N_("Payment methods"),
                   N_("New payment method"), N_("Edit payment method"),
                   N_("How customers pay: offered when a payment is recorded.")),
    LOOKUP_SECTION("customer-categories", "customer_category", N_("Customer categories"),
                   N_("New customer category"), N_("Edit customer category"),
                   N_("What kind of business a customer is to you.")),
    LOOKUP_SECTION("customer-levels", "customer_level", N_("Customer levels"),
                   N_("New customer level"), N_("Edit customer level"),
                   N_("How important a customer is; lists can be filtered by it.")),
    LOOKUP_SECTION("customer-sources", "customer_source", N_("Customer sources"),
                   N_("New customer source"), N_("Edit customer source"),
                   N_("How a customer found you.")),
    LOOKUP_SECTION("industries", "industry", N_("Industries"), N_("New industry"),
                   N_("Edit industry"), N_("The customer's line of business.")),
    {.slug = "opportunity-stages", .title = N_("Opportunity stages"), .new_title = N_("New stage"),
     .edit_title = N_("Edit stage"),
     .hint = N_("The steps of a sale, in order; the probability weights the forecast."),
     .table = "opportunity_stages", .label_field = "name", .fields = stage_fields,
     .fields_tpl = "settings/fields-opportunity-stages", .defaults = stage_defaults,
     .cols = stage_cols, .sorts = stage_sorts,
     .sql_list = "SELECT x.id::text, false, x.active, x.sort, x.name, x.probability || '%',"
                 " x.outcome",
     .sql_from = "FROM opportunity_stages x WHERE true", .search = "x.name", .tiebreak = "x.id",
     .sql_next_sort = "SELECT coalesce(max(sort), 0) + 10 FROM opportunity_stages",
     .sql_get = "SELECT name, probability, outcome, sort, active, version, name AS label"
                " FROM opportunity_stages WHERE id = $1",
     .sql_insert = "INSERT INTO opportunity_stages (name, probability, outcome, sort, active)"
                   " VALUES ($1, $2, $3, $4, $5) RETURNING id",
     .sql_update = "UPDATE opportunity_stages SET name = $3, probability = $4, outcome = $5,"
                   " sort = $6, active = $7, version = version + 1"
                   " WHERE id = $1 AND version = $2",
     .sql_delete = "DELETE FROM opportunity_stages WHERE id = $1"},
    LOOKUP_SECTION("units", "unit", N_("Units of measure"), N_("New unit"), N_("Edit unit"),
                   N_("Units offered for products and document lines.")),
    {.slug = "warehouses", .title = N_("Warehouses"), .new_title = N_("New warehouse"),
     .edit_title = N_("Edit warehouse"),
     .hint = N_("Where stock is kept; every stock movement names its warehouse."),
     .table = "warehouses", .label_field = "name", .fields = warehouse_fields,
     .fields_tpl = "settings/fields-warehouses", .defaults = active_default,
     .cols = warehouse_cols, .sorts = warehouse_sorts,
     .sql_list = "SELECT x.id::text, false, x.active, x.sort, x.code, x.name,"
                 " coalesce(nullif(u.display_name, ''), u.username, ''),"
                 " CASE WHEN x.allow_negative THEN 't' ELSE 'f' END, x.address",
     .sql_from = "FROM warehouses x LEFT JOIN users u ON u.id = x.keeper_id WHERE true",
     .search = "x.code || ' ' || x.name || ' ' || x.address", .tiebreak = "x.id",
     .sql_next_sort = "SELECT coalesce(max(sort), 0) + 10 FROM warehouses",
     .sql_get = "SELECT code, name, coalesce(keeper_id::text, '') AS keeper_id, address,"
                " allow_negative, sort, active, version, name AS label"
                " FROM warehouses WHERE id = $1",
     .sql_insert = "INSERT INTO warehouses (code, name, keeper_id, address, allow_negative, sort,"
                   " active) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
     .sql_update = "UPDATE warehouses SET code = $3, name = $4, keeper_id = $5, address = $6,"
                   " allow_negative = $7, sort = $8, active = $9, version = version + 1"
                   " WHERE id = $1 AND version = $2",
     .sql_delete = "DELETE FROM warehouses WHERE id = $1"},
    {.slug = "couriers", .title = N_("Couriers"), .new_title = N_("New courier"),
     .edit_title = N_("Edit courier"),
     .hint = N_("Express companies for shipments; the tracking address links a number to its status."),
     .table = "couriers", .label_field = "name", .fields = courier_fields,
     .fields_tpl = "settings/fields-couriers", .defaults = active_default, .cols = courier_cols,
     .sorts = courier_sorts,
     .sql_list = "SELECT x.id::text, false, x.active, x.sort, x.name, x.code, x.tracking_url",
     .sql_from = "FROM couriers x WHERE true", .search = "x.name || ' ' || x.code",
     .tiebreak = "x.id",
     .sql_next_sort = "SELECT coalesce(max(sort), 0) + 10 FROM couriers",
     .sql_get = "SELECT name, code, tracking_url, sort, active, version, name AS label"
                " FROM couriers WHERE id = $1",
     .sql_insert = "INSERT INTO couriers (name, code, tracking_url, sort, active)"
                   " VALUES ($1, $2, $3, $4, $5) RETURNING id",
     .sql_update = "UPDATE couriers SET name = $3, code = $4, tracking_url = $5, sort = $6,"
                   " active = $7, version = version + 1 WHERE id = $1 AND version = $2",
     .sql_delete = "DELETE FROM couriers WHERE id = $1"},
    LOOKUP_SECTION("expense-types", "expense_type", N_("Expense types"), N_("New expense type"),
                   N_("Edit expense type"), N_("Categories of expense claims.")),
    {.slug = NULL},
};

/* The menu on the left of every settings page, grouped. */
static const struct {
    const char *group; /* msgid of the heading above this entry, or NULL */
    const char *slug;
    const char *label;
} side_menu[] = {
    {N_("Company"), "company", N_("Company profile")},
    {NULL, "numbering", N_("Document numbers")},
    {N_("Finance"), "tax-rates", N_("Tax rates")},
    {NULL, "currencies", N_("Currencies")},
    {NULL, "bank-accounts", N_("Bank and cash accounts")},
    {NULL, "payment-methods", N_("Payment methods")},
    {N_("Sales"), "customer-categories", N_("Customer categories")},
    {NULL, "customer-levels", N_("Customer levels")},
    {NULL, "customer-sources", N_("Customer sources")},
    {NULL, "industries", N_("Industries")},
    {NULL, "opportunity-stages", N_("Opportunity stages")},
    {NULL, "units", N_("Units of measure")},
    {N_("Operations"), "warehouses", N_("Warehouses")},
    {NULL, "couriers", N_("Couriers")},
    {NULL, "expense-types", N_("Expense types")},
    {N_("Reference"), "regions", N_("Regions")},
};

/* ---- helpers ------------------------------------------------------------------------------ */

typedef struct Params {
    const char *v[48];
    int n;
} Params;

static void p_add(Params *p, const char *v)
{
    g_assert(p->n < (int)G_N_ELEMENTS(p->v));
    p->v[p->n++] = v;
}

/* Whole-string match: without DOLLAR_ENDONLY, GRegex's $ also matches before a final newline. */
static bool matches(const char *regex, const char *s)
{
    return g_regex_match_simple(regex, s, G_REGEX_DOLLAR_ENDONLY, 0);
}

/* Outside its {tokens}, a number pattern may only hold characters that are safe in file names,
 * URLs and barcodes. */
static bool pattern_literals_ok(const char *p)
{
    for (; *p; p++) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close)
                return false;
            p = close;
        } else if (!g_ascii_isalnum(*p) && !strchr("-_/.", *p)) {
            return false;
        }
    }
    return true;
}

static const Section *section_from_path(Request *req)
{
    const char *p = req->path;
    if (strncmp(p, "/settings/", 10) != 0)
        return NULL;
    p += 10;
    size_t len = strcspn(p, "/");
    for (const Section *s = sections; s->slug; s++)
        if (strlen(s->slug) == len && strncmp(s->slug, p, len) == 0)
            return s;
    return NULL;
}

static const char *list_url(Request *req, const Section *s)
{
    return arena_printf(req->arena, "/settings/%s", s->slug);
}

static const char *edit_url(Request *req, const Section *s, const char *key)
{
    if (s->fixed_key)
        return list_url(req, s);
    if (s->key_param) {
        g_autofree gchar *k = g_uri_escape_string(key, NULL, FALSE);
        return arena_printf(req->arena, "/settings/%s/edit?%s=%s", s->slug, s->key_param, k);
    }
    return arena_printf(req->arena, "/settings/%s/%s/edit", s->slug, key);
}

/* The row key of this request: fixed, a validated text parameter, or the {id} capture.
 * NULL = no such row can exist (the caller answers 404). */
static const char *section_key(Request *req, const Section *s)
{
    if (s->fixed_key)
        return s->fixed_key;
    if (s->key_param) {
        const char *k = strcmp(req->method, "POST") == 0 ? req_form(req, s->key_param)
                                                          : req_query(req, s->key_param);
        return k && matches(s->key_regex, k) ? k : NULL;
    }
    return req->nargs > 0 ? req->args[0] : NULL;
}

static long audit_id(const Section *s, const char *key)
{
    return s->key_param || !key ? 0 : atol(key);
}

static int count_fields(const Section *s)
{
    int n = 0;
    while (s->fields[n].def.name)
        n++;
    return n;
}

/* The field table of a section for this request: a copy whose database-backed selects have
 * their options filled in. NULL when the database failed. */
static const FieldDef *fields_for(Request *req, const Section *s)
{
    int n = count_fields(s);
    FieldDef *defs = arena_alloc(req->arena, sizeof *defs * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        defs[i] = s->fields[i].def;
        const FieldRule *r = &s->fields[i].rule;
        if (!r->choices_sql)
            continue;
        PGresult *res = db_exec0(req->arena, r->choices_sql);
        if (!res)
            return NULL;
        int rows = PQntuples(res), k = 0;
        Choice *c = arena_alloc(req->arena, sizeof *c * (size_t)(rows + 2));
        if (r->empty_choice)
            c[k++] = (Choice){"", r->empty_choice};
        for (int j = 0; j < rows; j++)
            c[k++] = (Choice){PQgetvalue(res, j, 0), PQgetvalue(res, j, 1)};
        defs[i].choices = c;
    }
    return defs;
}

/* A field's value as stored: checkboxes as booleans, percentages as fractions, an empty
 * optional choice as NULL. */
static const char *to_db(Request *req, const SField *sf, const char *v)
{
    if (sf->def.type == F_CHECKBOX)
        return v && *v ? "true" : "false";
    if (!v || !*v)
        return sf->rule.empty_choice ? NULL : "";
    if (sf->rule.kind == R_PERCENT) {
        Money m, frac;
        char buf[MONEY_FORMAT_MAX];
        if (money_parse(v, sf->rule.scale, &m) != MONEY_OK ||
            money_div(m, money_from_int(100), sf->rule.scale + 2, &frac) != MONEY_OK ||
            money_format_buf(frac, sf->rule.scale + 2, FALSE, buf, sizeof buf) != MONEY_OK)
            return NULL;
        return arena_strdup(req->arena, buf);
    }
    return v;
}

/* A field's value in a result row, normalised like form_load does. */
static const char *row_value(const PGresult *r, const FieldDef *d)
{
    const char *v = col_text(r, d->name);
    if (d->type == F_CHECKBOX)
        return v[0] == 't' || v[0] == '1' ? "1" : "";
    return v;
}

/* The checks form.c cannot make: exact decimals, codes, addresses, patterns. Values that pass
 * are normalised (trailing zeros, upper case) so edits compare equal. */
static void apply_rules(Request *req, const Section *s, Form *f)
{
    Arena *a = req->arena;
    for (int i = 0; i < f->n; i++) {
        const FieldRule *r = &s->fields[i].rule;
        const char *name = f->defs[i].name;
        const char *v = f->values[i];
        if (f->errors[i] || !*v)
            continue;
        switch (r->kind) {
        case R_DECIMAL:
        case R_PERCENT: {
            Money m, lo, hi;
            int rc = money_parse(v, r->scale, &m);
            if (rc == MONEY_ERR_SCALE) {
                form_error_arg(f, name, N_("Use at most %s decimal places."),
                               arena_printf(a, "%d", r->scale));
                break;
            }
            if (rc == MONEY_ERR_SYNTAX || rc == MONEY_ERR_ARG) {
                form_error(f, name, N_("Enter a number, e.g. 12.5."));
                break;
            }
            if (rc != MONEY_OK || (r->lo && money_parse(r->lo, 8, &lo) == MONEY_OK && money_cmp(m, lo) < 0) ||
                (r->hi && money_parse(r->hi, 8, &hi) == MONEY_OK && money_cmp(m, hi) > 0)) {
                form_error(f, name, r->range_msg ? r->range_msg : N_("The number is out of range."));
                break;
            }
            char buf[MONEY_FORMAT_MAX];
            if (money_format_buf(m, r->fixed ? r->scale : money_decimals(m), FALSE, buf,
                                 sizeof buf) == MONEY_OK)
                f->values[i] = arena_strdup(a, buf);
            break;
        }
        case R_REGEX: {
            if (r->upper) {
                g_autofree gchar *up = g_ascii_strup(v, -1);
                f->values[i] = v = arena_strdup(a, up);
            }
            if (!matches(r->regex, v))
                form_error(f, name, r->msg);
            break;
        }
        case R_TRACKING: {
            bool ok = (g_str_has_prefix(v, "http://") || g_str_has_prefix(v, "https://")) &&
                      strstr(v, "{number}") && !strpbrk(v, " \t\r\n\"<>");
            if (!ok)
                form_error(f, name, r->msg);
            break;
        }
        case R_PATTERN:
            if (!numbering_pattern_ok(v))
                form_error(f, name, r->msg);
            else if (!pattern_literals_ok(v))
                form_error(f, name, N_("Between the tokens, use only letters, digits and - _ / ."));
            break;
        case R_PLAIN:
            break;
        }
    }
}

static Form *read_form(Request *req, const Section *s, const FieldDef *defs, const char *key,
                       const PGresult *old)
{
    Form *f = form_new(req, defs);
    form_read(f);
    apply_rules(req, s, f);
    if (s->check)
        s->check(req, s, f, key, old);
    return f;
}

static void push_side(Request *req, View *v, const char *slug)
{
    GPtrArray *rows = g_ptr_array_new();
    for (size_t i = 0; i < G_N_ELEMENTS(side_menu); i++) {
        const char **row = arena_alloc(req->arena, sizeof(char *) * 5);
        row[0] = side_menu[i].group ? i18n_get(req->lang, side_menu[i].group) : "";
        row[1] = arena_printf(req->arena, "/settings/%s", side_menu[i].slug);
        row[2] = i18n_get(req->lang, side_menu[i].label);
        row[3] = slug && strcmp(slug, side_menu[i].slug) == 0 ? "1" : "";
        g_ptr_array_add(rows, row);
    }
    view_set_table(v, "side", rows);
    g_ptr_array_free(rows, TRUE);
    view_set_columns(v, (const char *const[]){"side_group", "side_href", "side_label", "side_on", NULL});
}

/* Renders a section template inside the settings frame (menu on the left) and the layout. */
static void settings_render(Request *req, View *v, const char *slug, const char *tpl, int status)
{
    push_side(req, v, slug);
    char *body = view_render_bare(req, v, tpl);
    if (!body) {
        resp_error(req, 500);
        return;
    }
    view_set_trusted_html(v, "section_body", body);
    if (view_render(req, v, "settings/frame", status) < 0)
        resp_error(req, 500);
}

static void db_failed(Request *req)
{
    resp_error(req, db_lost() ? 503 : 500);
}

/* ---- the generic form ---------------------------------------------------------------------- */

static void render_form(Request *req, const Section *s, Form *f, const char *key,
                        const char *label, bool is_edit, bool stale, int status)
{
    View *v = view_new(req);
    const char *heading = i18n_get(req->lang, is_edit ? s->edit_title : s->new_title);
    view_set(v, "title", heading);
    view_set(v, "heading", heading);
    const char *sub = "";
    if (is_edit && label && !s->fixed_key)
        sub = s->label_is_msgid ? i18n_get(req->lang, label) : label;
    view_set(v, "subtitle", sub);
    view_set(v, "hint", s->fixed_key && s->hint ? i18n_get(req->lang, s->hint) : "");
    view_set(v, "list_url", list_url(req, s));
    const char *action;
    if (!is_edit)
        action = arena_printf(req->arena, "/settings/%s/new", s->slug);
    else if (s->fixed_key)
        action = list_url(req, s);
    else if (s->key_param)
        action = arena_printf(req->arena, "/settings/%s/edit", s->slug);
    else
        action = arena_printf(req->arena, "/settings/%s/%s/edit", s->slug, key);
    view_set(v, "action", action);
    const char *delete_url = "";
    if (is_edit && s->key_param)
        delete_url = arena_printf(req->arena, "/settings/%s/delete", s->slug);
    else if (is_edit && !s->fixed_key)
        delete_url = arena_printf(req->arena, "/settings/%s/%s/delete", s->slug, key);
    view_set(v, "delete_url", delete_url);
    view_set(v, "key", key ? key : "");
    view_set(v, "key_param", is_edit && s->key_param ? s->key_param : "");
    view_set_int(v, "is_edit", is_edit);
    view_set_int(v, "is_editor", auth_can(req, "settings.edit"));
    view_set_int(v, "is_stale", stale);
    view_set_int(v, "has_delete", is_edit && s->sql_delete != NULL);
    view_set_int(v, "has_list", !s->fixed_key);
    view_set_int(v, "is_base", 0);
    form_push(f, v);
    if (s->decorate && s->decorate(req, s, f, v, key) < 0) {
        db_failed(req);
        return;
    }
    char *fields = view_render_bare(req, v, s->fields_tpl);
    if (!fields) {
        resp_error(req, 500);
        return;
    }
    view_set_trusted_html(v, "fields", fields);
    settings_render(req, v, s->slug, "settings/form", status);
}

static PGresult *get_row(Request *req, const Section *s, const char *key, bool lock)
{
    Params p = {0};
    p_add(&p, key);
    if (s->kind)
        p_add(&p, s->kind);
    const char *sql = lock ? arena_printf(req->arena, "%s FOR UPDATE", s->sql_get) : s->sql_get;
    return db_execv(req->arena, sql, p.n, p.v);
}

/* After a unique violation: finds which field holds a value another row has. */
static void mark_duplicates(Request *req, const Section *s, Form *f, const char *key)
{
    int first = -1;
    bool found = false;
    for (int i = 0; i < f->n; i++) {
        const FieldRule *r = &s->fields[i].rule;
        if (!r->unique)
            continue;
        if (first < 0)
            first = i;
        Params p = {0};
        p_add(&p, to_db(req, &s->fields[i], f->values[i]));
        p_add(&p, key ? key : "");
        if (s->kind)
            p_add(&p, s->kind);
        PGresult *res = db_execv(req->arena, r->unique, p.n, p.v);
        if (res && PQntuples(res) > 0) {
            form_error(f, f->defs[i].name, r->unique_msg);
            found = true;
        }
    }
    if (!found) /* the other row is gone again (a race): still say why the save failed */
        form_error(f, f->defs[first >= 0 ? first : 0].name,
                   N_("Another entry already has this value."));
}

/* A failed INSERT/UPDATE inside the open transaction: rolls back and answers. Constraint
 * violations are the user's to fix (422 with the form); anything else is ours. */
static void write_failed(Request *req, const Section *s, Form *f, const char *key,
                         const char *label, bool is_edit)
{
    char state[6];
    g_strlcpy(state, db_sqlstate(), sizeof state);
    bool lost = db_lost();
    db_rollback(req->arena);
    if (strcmp(state, "23505") == 0) {
        mark_duplicates(req, s, f, key);
    } else if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0) {
        const char *first = s->label_field ? s->label_field : f->defs[0].name;
        form_error(f, first,
                   N_("The database did not accept these values. Check the fields and try again."));
    } else {
        resp_error(req, lost ? 503 : 500);
        return;
    }
    render_form(req, s, f, key, label, is_edit, false, 422);
}

/* ---- handlers ------------------------------------------------------------------------------ */

/* GET /settings: 303 to the company profile. */
static void settings_home(Request *req)
{
    resp_redirect(req, "/settings/company");
}

/* GET /settings/<section>: 200 the list with quick search, status filter, sorting and paging;
 * 404 for a section without a list. */
static void sec_list(Request *req)
{
    const Section *s = section_from_path(req);
    if (!s || !s->cols) {
        resp_error(req, 404);
        return;
    }
    Arena *a = req->arena;
    ListState *ls = list_begin(req, s->sorts, "order", false);
    SqlBuf *q = sql_new(a, s->sql_list);
    sql_add(q, " ");
    sql_add(q, s->sql_from);
    SqlBuf *cq = sql_new(a, "SELECT count(*) FROM (SELECT 1 ");
    sql_add(cq, s->sql_from);
    SqlBuf *both[] = {q, cq};

    const char *kw = req_query(req, "q");
    char *kwt = kw ? g_strstrip(arena_strdup(a, kw)) : NULL;
    if (kwt && g_utf8_strlen(kwt, -1) > 100)
        kwt[0] = '\0'; /* a search that long is no search; show everything */
    const char *state = req_query(req, "state");
    if (!state || (strcmp(state, "active") != 0 && strcmp(state, "inactive") != 0))
        state = "";
    for (int b = 0; b < 2; b++) {
        if (s->kind)
            sql_addp(both[b], " AND x.kind = %s", s->kind);
        if (kwt && *kwt) {
            GString *pat = g_string_new("%");
            for (const char *p = kwt; *p; p++) {
                if (*p == '%' || *p == '_' || *p == '\\')
                    g_string_append_c(pat, '\\');
                g_string_append_c(pat, *p);
            }
            g_string_append_c(pat, '%');
            sql_add(both[b], " AND (");
            sql_add(both[b], s->search);
            sql_addp(both[b], ") ILIKE %s", arena_strdup(a, pat->str));
            g_string_free(pat, TRUE);
        }
        if (*state)
            sql_add(both[b], strcmp(state, "active") == 0 ? " AND x.active" : " AND NOT x.active");
    }
    list_count_limit(ls, cq);
    sql_add(cq, ") c");
    list_order_limit(ls, q, s->tiebreak);
    PGresult *r = sql_exec(q);
    if (!r || list_count(ls, cq) < 0) {
        db_failed(req);
        return;
    }

    int ncols = 0;
    while (ncols < MAX_COLS && s->cols[ncols].label)
        ncols++;
    GPtrArray *rows = g_ptr_array_new();
    for (int i = 0; i < PQntuples(r); i++) {
        const char **cells = arena_alloc(a, sizeof(char *) * (4 + MAX_COLS + 1));
        cells[0] = edit_url(req, s, PQgetvalue(r, i, 0));
        cells[1] = PQgetvalue(r, i, 2)[0] == 't' ? "1" : "";
        cells[2] = PQgetvalue(r, i, 3);
        cells[3] = PQgetvalue(r, i, 1)[0] == 't' ? "1" : "";
        for (int c = 0; c < MAX_COLS; c++) {
            const char *val = c < ncols && 4 + c < PQnfields(r) && !PQgetisnull(r, i, 4 + c)
                                  ? PQgetvalue(r, i, 4 + c)
                                  : "";
            if (c < ncols && s->cols[c].choices) {
                for (const Choice *ch = s->cols[c].choices; ch->value; ch++)
                    if (strcmp(ch->value, val) == 0)
                        val = i18n_get(req->lang, ch->label);
            } else if (c < ncols && (s->cols[c].flags & COL_MONEY) && *val) {
                Money m;
                char buf[MONEY_FORMAT_MAX];
                if (money_parse(val, MONEY_SCALE, &m) == MONEY_OK &&
                    money_format_buf(m, MONEY_DP_AMOUNT, TRUE, buf, sizeof buf) == MONEY_OK)
                    val = arena_strdup(a, buf);
            }
            cells[4 + c] = val;
        }
        cells[4 + MAX_COLS] = NULL;
        g_ptr_array_add(rows, cells);
    }

    View *v = view_new(req);
    const char *title = i18n_get(req->lang, s->title);
    view_set(v, "title", title);
    view_set(v, "heading", title);
    view_set(v, "hint", s->hint ? i18n_get(req->lang, s->hint) : "");
    view_set(v, "list_url", list_url(req, s));
    view_set(v, "new_url", arena_printf(a, "/settings/%s/new", s->slug));
    view_set(v, "flag_label", s->flag_label ? i18n_get(req->lang, s->flag_label) : "");
    view_set(v, "q", kwt ? kwt : "");
    view_set(v, "state", state);
    view_set_int(v, "is_filtered", (kwt && *kwt) || *state);
    view_set_int(v, "is_editor", auth_can(req, "settings.edit"));
    view_set_int(v, "has_rows", ls->total > 0); /* a page past the end still shows the pager */
    view_set_int(v, "n_cols", ncols);
    for (int c = 0; c < MAX_COLS; c++) {
        bool on = c < ncols;
        unsigned fl = on ? s->cols[c].flags : 0;
        view_set(v, arena_printf(a, "h%d", c + 1), on ? i18n_get(req->lang, s->cols[c].label) : "");
        view_set(v, arena_printf(a, "kh%d", c + 1), fl & (COL_NUM | COL_MONEY) ? "num" : "");
        view_set(v, arena_printf(a, "k%d", c + 1),
                 fl & (COL_NUM | COL_MONEY) ? "num" : fl & COL_SMALL ? "muted small" : "");
        view_set(v, arena_printf(a, "sort_c%d", c + 1), "");
        view_set(v, arena_printf(a, "dir_c%d", c + 1), "");
    }
    list_push(ls, v);
    view_set_table(v, "rows", rows);
    g_ptr_array_free(rows, TRUE);
    view_set_columns(v, (const char *const[]){"edit", "on", "order", "flag", "v1", "v2", "v3",
                                              "v4", "v5", "v6", NULL});
    settings_render(req, v, s->slug, "settings/list", 200);
}

/* GET /settings/<section>/new: 200 an empty form with the section's defaults. */
static void sec_new_form(Request *req)
{
    const Section *s = section_from_path(req);
    if (!s || !s->sql_insert) {
        resp_error(req, 404);
        return;
    }
    const FieldDef *defs = fields_for(req, s);
    if (!defs) {
        db_failed(req);
        return;
    }
    Form *f = form_new(req, defs);
    for (const Default *d = s->defaults; d && d->name; d++)
        form_set(f, d->name, d->value);
    if (s->sql_next_sort) {
        PGresult *r = s->kind ? db_exec(req->arena, s->sql_next_sort, s->kind)
                              : db_exec0(req->arena, s->sql_next_sort);
        if (r && PQntuples(r) == 1)
            form_set(f, "sort", PQgetvalue(r, 0, 0));
    }
    render_form(req, s, f, NULL, NULL, false, false, 200);
}

/* POST /settings/<section>/new: 303 to the list; 422 with the input and a message per field
 * (duplicates included). */
static void sec_create(Request *req)
{
    const Section *s = section_from_path(req);
    if (!s || !s->sql_insert) {
        resp_error(req, 404);
        return;
    }
    const FieldDef *defs = fields_for(req, s);
    if (!defs) {
        db_failed(req);
        return;
    }
    Form *f = form_new(req, defs);
    form_read(f);
    apply_rules(req, s, f);
    const char *key = s->key_param ? form_get(f, s->key_param) : NULL;
    if (s->check)
        s->check(req, s, f, key, NULL);
    if (f->nerrors) {
        render_form(req, s, f, NULL, NULL, false, false, 422);
        return;
    }
    Params p = {0};
    AuditDiff *d = audit_diff_new(req->arena);
    for (int i = 0; i < f->n; i++) {
        const char *dbv = to_db(req, &s->fields[i], f->values[i]);
        p_add(&p, dbv);
        audit_diff(d, f->defs[i].name, NULL, dbv);
    }
    if (s->kind) {
        p_add(&p, s->kind);
        audit_diff(d, "kind", NULL, s->kind);
    }
    if (db_begin(req->arena) < 0) {
        db_failed(req);
        return;
    }
    if (s->before_write && s->before_write(req, s, f, NULL) < 0) {
        write_failed(req, s, f, NULL, NULL, false);
        return;
    }
    PGresult *r = db_execv(req->arena, s->sql_insert, p.n, p.v);
    if (!r || PQntuples(r) != 1) {
        write_failed(req, s, f, NULL, NULL, false);
        return;
    }
    const char *new_key = PQgetvalue(r, 0, 0);
    const char *label = s->label_field ? form_get(f, s->label_field) : new_key;
    if (audit_write(req, "settings", "create", s->table, audit_id(s, new_key), label, d, "ok") < 0 ||
        db_commit(req->arena) < 0) {
        db_rollback(req->arena);
        db_failed(req);
        return;
    }
    resp_flash(req, "ok", N_("Saved."));
    resp_redirect(req, list_url(req, s));
}

/* GET /settings/<section>/{id}/edit, /settings/<section>/edit?<key>=…, /settings/company:
 * 200 the form with the stored values; 404 when the row does not exist. */
static void sec_edit_form(Request *req)
{
    const Section *s = section_from_path(req);
    const char *key = s ? section_key(req, s) : NULL;
    if (!key) {
        resp_error(req, 404);
        return;
    }
    const FieldDef *defs = fields_for(req, s);
    PGresult *r = defs ? get_row(req, s, key, false) : NULL;
    if (!r) {
        db_failed(req);
        return;
    }
    if (PQntuples(r) != 1) {
        resp_error(req, 404);
        return;
    }
    Form *f = form_new(req, defs);
    form_load(f, r, 0);
    render_form(req, s, f, key, col_text(r, "label"), true, false, 200);
}

/* POST (same addresses as the edit form): 303 to the list after saving; 404 when the row is
 * gone; 409 when someone saved meanwhile (input kept, conflicts marked); 422 on bad input. */
static void sec_update(Request *req)
{
    const Section *s = section_from_path(req);
    const char *key = s ? section_key(req, s) : NULL;
    if (!key || !s->sql_update) {
        resp_error(req, 404);
        return;
    }
    const FieldDef *defs = fields_for(req, s);
    PGresult *old = defs ? get_row(req, s, key, false) : NULL;
    if (!old) {
        db_failed(req);
        return;
    }
    if (PQntuples(old) != 1) {
        resp_error(req, 404);
        return;
    }
    const char *label = col_text(old, "label");
    Form *f = read_form(req, s, defs, key, old);
    if (f->nerrors) {
        render_form(req, s, f, key, label, true, false, 422);
        return;
    }
    if (db_begin(req->arena) < 0) {
        db_failed(req);
        return;
    }
    PGresult *cur = get_row(req, s, key, true);
    if (!cur || PQntuples(cur) != 1) {
        db_rollback(req->arena);
        if (cur)
            resp_error(req, 404);
        else
            db_failed(req);
        return;
    }
    if (!f->version || strcmp(f->version, col_text(cur, "version")) != 0) {
        db_rollback(req->arena);
        form_stale(f, cur);
        render_form(req, s, f, key, label, true, true, 409);
        return;
    }
    Params p = {0};
    p_add(&p, key);
    p_add(&p, f->version);
    AuditDiff *d = audit_diff_new(req->arena);
    for (int i = 0; i < f->n; i++) {
        if (s->fields[i].rule.create_only)
            continue;
        const char *dbv = to_db(req, &s->fields[i], f->values[i]);
        p_add(&p, dbv);
        audit_diff(d, f->defs[i].name, to_db(req, &s->fields[i], row_value(cur, &f->defs[i])), dbv);
    }
    if (s->kind)
        p_add(&p, s->kind);
    if (audit_diff_count(d) == 0) {
        db_rollback(req->arena);
        resp_flash(req, "ok", N_("Nothing was changed."));
        resp_redirect(req, list_url(req, s));
        return;
    }
    if (s->before_write && s->before_write(req, s, f, key) < 0) {
        write_failed(req, s, f, key, label, true);
        return;
    }
    PGresult *r = db_execv(req->arena, s->sql_update, p.n, p.v);
    if (!r) {
        write_failed(req, s, f, key, label, true);
        return;
    }
    const char *new_label = s->label_field ? form_get(f, s->label_field) : key;
    if (strcmp(PQcmdTuples(r), "1") != 0 ||
        audit_write(req, "settings", "update", s->table, audit_id(s, key), new_label, d, "ok") < 0 ||
        db_commit(req->arena) < 0) {
        db_rollback(req->arena);
        db_failed(req);
        return;
    }
    resp_flash(req, "ok", N_("Saved."));
    resp_redirect(req, list_url(req, s));
}

/* POST /settings/<section>/{id}/delete, /settings/currencies/delete: 303 to the list; 303 back
 * to the form with an explanation when the row is still used (never cascades); 404. */
static void sec_delete(Request *req)
{
    const Section *s = section_from_path(req);
    const char *key = s ? section_key(req, s) : NULL;
    if (!key || !s->sql_delete) {
        resp_error(req, 404);
        return;
    }
    if (db_begin(req->arena) < 0) {
        db_failed(req);
        return;
    }
    PGresult *cur = get_row(req, s, key, true);
    if (!cur || PQntuples(cur) != 1) {
        db_rollback(req->arena);
        if (cur)
            resp_error(req, 404);
        else
            db_failed(req);
        return;
    }
    const char *why = s->delete_guard ? s->delete_guard(s, key, cur) : NULL;
    if (why) {
        db_rollback(req->arena);
        resp_flash(req, "error", why);
        resp_redirect(req, edit_url(req, s, key));
        return;
    }
    AuditDiff *d = audit_diff_new(req->arena);
    int n = count_fields(s);
    for (int i = 0; i < n; i++)
        audit_diff(d, s->fields[i].def.name,
                   to_db(req, &s->fields[i], row_value(cur, &s->fields[i].def)), NULL);
    if (s->kind)
        audit_diff(d, "kind", s->kind, NULL);
    Params p = {0};
    p_add(&p, key);
    if (s->kind)
        p_add(&p, s->kind);
    PGresult *r = db_execv(req->arena, s->sql_delete, p.n, p.v);
    if (!r) {
        bool in_use = strcmp(db_sqlstate(), "23503") == 0;
        db_rollback(req->arena);
        if (!in_use) {
            db_failed(req);
            return;
        }
        resp_flash(req, "error",
                   N_("This entry is still used by other records, so it cannot be deleted. "
                      "Untick Active instead: it then stays on those records but can no longer be chosen."));
        resp_redirect(req, edit_url(req, s, key));
        return;
    }
    const char *label = s->label_field ? col_text(cur, "label") : key;
    if (audit_write(req, "settings", "delete", s->table, audit_id(s, key), label, d, "ok") < 0 ||
        db_commit(req->arena) < 0) {
        db_rollback(req->arena);
        db_failed(req);
        return;
    }
    resp_flash(req, "ok", N_("Deleted."));
    resp_redirect(req, list_url(req, s));
}

/* GET /settings/numbering: 200 every document type with its pattern, reset and the number the
 * next document would get today. */
static void numbering_list(Request *req)
{
    Arena *a = req->arena;
    PGresult *r = db_exec(a,
        "SELECT s.doc_type, s.name, s.prefix, s.pattern, s.reset,"
        "       coalesce(c.last_value, 0), t.today"
        "  FROM doc_sequences s"
        " CROSS JOIN (SELECT to_char(now() AT TIME ZONE $1, 'YYYYMMDD') AS today) t"
        "  LEFT JOIN doc_counters c ON c.doc_type = s.doc_type"
        "   AND c.period = CASE s.reset WHEN 'daily' THEN t.today"
        "                  WHEN 'monthly' THEN left(t.today, 6)"
        "                  WHEN 'yearly' THEN left(t.today, 4) ELSE '-' END"
        " ORDER BY s.sort, s.doc_type",
        cfg.timezone);
    if (!r) {
        db_failed(req);
        return;
    }
    const Section *s = section_from_path(req);
    GPtrArray *rows = g_ptr_array_new();
    for (int i = 0; i < PQntuples(r); i++) {
        int today = atoi(PQgetvalue(r, i, 6));
        long last = atol(PQgetvalue(r, i, 5));
        char *next = numbering_format(PQgetvalue(r, i, 3), PQgetvalue(r, i, 2), today / 10000,
                                      today / 100 % 100, today % 100, last + 1);
        const char **row = arena_alloc(a, sizeof(char *) * 9);
        row[0] = edit_url(req, s, PQgetvalue(r, i, 0));
        row[1] = i18n_get(req->lang, PQgetvalue(r, i, 1));
        row[2] = PQgetvalue(r, i, 0);
        row[3] = PQgetvalue(r, i, 2);
        row[4] = PQgetvalue(r, i, 3);
        row[5] = PQgetvalue(r, i, 4);
        for (const Choice *c = reset_choices; c->value; c++)
            if (strcmp(c->value, row[5]) == 0)
                row[5] = i18n_get(req->lang, c->label);
        row[6] = arena_strdup(a, next ? next : "");
        row[7] = PQgetvalue(r, i, 5);
        g_free(next);
        g_ptr_array_add(rows, row);
    }
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Document numbers"));
    view_set_int(v, "is_editor", auth_can(req, "settings.edit"));
    view_set_table(v, "docs", rows);
    g_ptr_array_free(rows, TRUE);
    view_set_columns(v, (const char *const[]){"edit", "name", "type", "prefix", "pattern", "reset",
                                              "next", "last", NULL});
    push_tokens(req, v);
    settings_render(req, v, "numbering", "settings/numbering", 200);
}

/* GET /settings/regions: 200 the provinces with their number of cities; ?province=440000 lists
 * that province's cities (404 when it is not a province). */
static void regions(Request *req)
{
    Arena *a = req->arena;
    const char *prov = req_query(req, "province");
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Regions"));
    if (prov && *prov) {
        if (!matches("^[1-9][0-9]{5}$", prov)) {
            resp_error(req, 404);
            return;
        }
        PGresult *p = db_exec(a, "SELECT name, short_name, name_en FROM regions"
                                 " WHERE id = $1 AND level = 1", prov);
        PGresult *c = p ? db_exec(a, "SELECT id, name, short_name, name_en FROM regions"
                                     " WHERE parent_id = $1 ORDER BY sort, id", prov)
                        : NULL;
        if (!c) {
            db_failed(req);
            return;
        }
        if (PQntuples(p) != 1) {
            resp_error(req, 404);
            return;
        }
        view_set(v, "province", PQgetvalue(p, 0, 0));
        view_set(v, "province_en", PQgetvalue(p, 0, 2));
        view_set(v, "province_code", prov);
        view_set_int(v, "is_province", 1);
        view_set_int(v, "n_cities", PQntuples(c));
        view_set_rows(v, "cities", c);
        view_set_table(v, "provinces_a", NULL);
        view_set_table(v, "provinces_b", NULL);
    } else {
        PGresult *r = db_exec0(a,
            "SELECT p.id, p.name, p.short_name, p.name_en, count(c.id) AS cities"
            "  FROM regions p LEFT JOIN regions c ON c.parent_id = p.id"
            " WHERE p.level = 1 GROUP BY p.id ORDER BY p.sort, p.id");
        if (!r) {
            db_failed(req);
            return;
        }
        view_set(v, "province", "");
        view_set(v, "province_en", "");
        view_set(v, "province_code", "");
        view_set_int(v, "is_province", 0);
        view_set_int(v, "n_cities", 0);
        /* Two half-length tables side by side: 34 rows read better in two columns. */
        int n = PQntuples(r), nf = PQnfields(r), half = (n + 1) / 2;
        GPtrArray *halves[2] = {g_ptr_array_new(), g_ptr_array_new()};
        for (int i = 0; i < n; i++) {
            const char **row = arena_alloc(a, sizeof(char *) * (size_t)(nf + 1));
            for (int c = 0; c < nf; c++)
                row[c] = PQgetvalue(r, i, c);
            g_ptr_array_add(halves[i >= half], row);
        }
        view_set_table(v, "provinces_a", halves[0]);
        view_set_table(v, "provinces_b", halves[1]);
        g_ptr_array_free(halves[0], TRUE);
        g_ptr_array_free(halves[1], TRUE);
        view_set_columns(v, (const char *const[]){"id", "name", "short_name", "name_en", "cities", NULL});
        view_set_table(v, "cities", NULL);
    }
    settings_render(req, v, "regions", "settings/regions", 200);
}

/* Every list section answers the same six routes. */
#define SECTION_ROUTES(slug)                                                                   \
    {"GET", "/settings/" slug, sec_list, "settings.view", 0},                                  \
    {"GET", "/settings/" slug "/new", sec_new_form, "settings.view", 0},                       \
    {"POST", "/settings/" slug "/new", sec_create, "settings.edit", 0},                        \
    {"GET", "/settings/" slug "/{id}/edit", sec_edit_form, "settings.view", 0},                \
    {"POST", "/settings/" slug "/{id}/edit", sec_update, "settings.edit", 0},                  \
    {"POST", "/settings/" slug "/{id}/delete", sec_delete, "settings.edit", 0}

static const Route routes[] = {
    {"GET", "/settings", settings_home, "settings.view", 0},
    {"GET", "/settings/company", sec_edit_form, "settings.view", 0},
    {"POST", "/settings/company", sec_update, "settings.edit", 0},
    {"GET", "/settings/numbering", numbering_list, "settings.view", 0},
    {"GET", "/settings/numbering/edit", sec_edit_form, "settings.view", 0},
    {"POST", "/settings/numbering/edit", sec_update, "settings.edit", 0},
    {"GET", "/settings/regions", regions, "settings.view", 0},
    /* currencies are keyed by their code: ?code=USD on GET, a form field on POST */
    {"GET", "/settings/currencies", sec_list, "settings.view", 0},
    {"GET", "/settings/currencies/new", sec_new_form, "settings.view", 0},
    {"POST", "/settings/currencies/new", sec_create, "settings.edit", 0},
    {"GET", "/settings/currencies/edit", sec_edit_form, "settings.view", 0},
    {"POST", "/settings/currencies/edit", sec_update, "settings.edit", 0},
    {"POST", "/settings/currencies/delete", sec_delete, "settings.edit", 0},
    SECTION_ROUTES("tax-rates"),
    SECTION_ROUTES("bank-accounts"),
    SECTION_ROUTES("payment-methods"),
    SECTION_ROUTES("customer-categories"),
    SECTION_ROUTES("customer-levels"),
    SECTION_ROUTES("customer-sources"),
    SECTION_ROUTES("industries"),
    SECTION_ROUTES("opportunity-stages"),
    SECTION_ROUTES("units"),
    SECTION_ROUTES("warehouses"),
    SECTION_ROUTES("couriers"),
    SECTION_ROUTES("expense-types"),
    {NULL, NULL, NULL, NULL, 0},
};

static const NavItem nav[] = {
    {"/settings", N_("Settings"), "settings.view"},
    {NULL, NULL, NULL},
};

const Module settings_module = {"settings", routes, nav};
