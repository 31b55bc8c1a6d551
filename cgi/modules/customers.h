/* customers.h — what the customer-related files share (customers.c, contacts.c, the import and the
 * rights/pool code): the field tables, the one visibility rule, duplicate control, and the
 * create/update operations with their audit rows. Nothing here answers a request by itself. */
#ifndef KEXIN_CUSTOMERS_H
#define KEXIN_CUSTOMERS_H

#include "../core/form.h"
#include "../core/request.h"
#include "../core/sqlbuf.h"
#include "../core/view.h"

#include <libpq-fe.h>
#include <stdbool.h>

/* ---- customers ----------------------------------------------------------------------------- */

/* The customer form (names are the columns of `customers`; *_id fields hold ids as text):
 * name short_name code category_id level_id source_id industry_id status province_id city_id
 * address phone website tax_id bank_name bank_account owner_id credit_limit payment_terms
 * last_contact_on remarks. */
extern const FieldDef customer_fields[];
/* Status codes with their English labels (potential / active / dormant / lost). */
extern const Choice customer_statuses[];

/* Appends the visibility predicate for a customer row aliased `c`: its owner is in the caller's
 * data scope, or it is shared with the caller. Public-pool customers (owner NULL) are never
 * "visible": they appear only in the pool. Usable in WHERE and in a SELECT list (a boolean).
 * Every customer and contact query goes through it. Returns 0 or -1 (database). */
int customers_visible(Request *req, SqlBuf *q);

/* What the caller may do with one customer. */
typedef struct CustomerAccess {
    bool exists;
    bool pool;        /* in the public pool: a restricted card (no contact details), no changes */
    bool in_scope;    /* the owner is in the caller's data scope */
    bool shared;      /* shared with the caller (read, or read/write with share_write) */
    bool share_write;
    bool visible;     /* in_scope || shared */
    bool can_write;   /* in_scope || share_write: the row may be changed (contacts too) */
    bool writable;    /* can_write and the role has customers.edit */
    const char *name; /* for labels; NULL when the customer does not exist */
    const char *version;
} CustomerAccess;

/* Loads the caller's access to customer id. Returns 0 (out->exists tells whether it exists at
 * all — callers answer 404 unless out->visible, or out->pool where a pool card is allowed) or -1. */
int customers_access(Request *req, long id, CustomerAccess *out);

/* An existing customer with the same duplicate key. Only `visible` (or `pool`) customers may be
 * named or linked; for the others show nothing but `owner` (their owner's display name). */
typedef struct CustomerDup {
    long id;
    const char *name, *code, *owner;
    bool visible, pool;
} CustomerDup;

/* Looks for a customer whose name_key equals name_key (other than exclude_id). Returns 1 and
 * fills *out when there is one, 0 when not, -1 on a database failure. */
int customers_find_duplicate(Request *req, const char *name_key, long exclude_id, CustomerDup *out);

/* Validates a read form beyond its field table, normalising values in place: the name's
 * duplicate key (refused with "already exists, owned by X" / "in the public pool"; *dup, when not
 * NULL, receives the existing customer), the code's shape and uniqueness, lookups of the right
 * kind, the city inside the province (a city alone fills in its province), phone, website, tax
 * id, bank account, credit limit (≥ 0, 2 decimals), and the owner (active, in the caller's
 * scope, unless unchanged). exclude_id is the customer being edited (0 when creating).
 * Returns the number of invalid fields, or -1 on a database failure. */
int customers_validate(Request *req, Form *f, long exclude_id, CustomerDup *dup, unsigned flags);
/* customers_validate's flags: the caller has looked the name's duplicate key up already (an
 * import, in bulk) and knows no customer has it, so the name is not looked up again. */
#define CUSTOMER_NAME_FREE 1u

/* Near-duplicates of what the form holds (a similar name by trigram similarity > 0.5, the same
 * phone, tax id, or contact mobile), at most 10, the visible ones first. Rows: id, name, code,
 * owner, is_visible ("t"/"f"), is_pool, reasons (comma-joined: name, phone, tax_id, mobile). For
 * rows not visible (nor in the pool) only owner and reasons may be shown. mobile may be NULL.
 * Returns NULL on a database failure. */
PGresult *customers_similar(Request *req, const char *name, const char *phone, const char *tax_id,
                            const char *mobile, long exclude_id);

/* Inserts a validated form as a new customer owned by owner_id (0 = the public pool), with its
 * code (the next "customer" number when empty; numbers a hand-typed code already holds are
 * skipped) and the audit row — three statements. Runs in its own transaction, or inside the
 * caller's when one is open (an import's all-or-nothing commit). Returns the new id, or -1:
 * with a form error when the name or code was taken meanwhile (answer 422; a taken code leaves
 * the caller's transaction usable, a taken name aborts it), without one on a database failure
 * (the caller rolls its transaction back). */
long customers_insert(Request *req, Form *f, long owner_id);
/* customers_insert for n validated forms in one statement (an import writes 250 at a time), all
 * owned by owner_id; ids[i] receives forms[i]'s new id. Returns 0, or -1: forms whose typed code
 * is taken carry a form error, or none does (a database failure, a name taken meanwhile). */
int customers_insert_many(Request *req, Form **forms, int n, long owner_id, long *ids);
/* Writes the search rows of customers ids[0..n) at once (kx_customer_search_write), for a
 * transaction that has finished changing them: the deferred triggers then leave them alone. An
 * import calls it just before its commit. Returns 0 or -1. */
int customers_search_write(Request *req, const long *ids, int n);

/* Updates customer id from a validated edit form (form_load'ed, then form_read), in one
 * transaction with the audit row of the changed fields (*changes gets their number). An empty
 * owner_id keeps the owner. Returns 1 saved, 0 when the version is stale or the row is gone
 * (re-read it and form_stale, answer 409 or 404), -1 as for customers_insert. */
int customers_update(Request *req, Form *f, long id, int *changes);

/* Renders the customer's detail page (customers.c); contact_form, when not NULL, is the
 * add-contact form as typed after a failed add (shown open, with its messages). */
void customers_render_show(Request *req, long id, Form *contact_form, int status);

/* ---- contacts (contacts.c) ----------------------------------------------------------------- */

/* name title department mobile phone email wechat birthday is_primary remarks */
extern const FieldDef contact_fields[];

/* Pure checks shared with the import: a mobile number (11 digits starting with 1, an optional
 * +86 in front) or a phone number (landline with area code and extension, 400/800 numbers, or a
 * mobile). Return an English msgid, or NULL with *out set to the normalised number. */
const char *contacts_mobile_problem(Arena *a, const char *raw, const char **out);
const char *contacts_phone_problem(Arena *a, const char *raw, const char **out);

/* Validates a read contact form beyond its table (mobile, phone, birthday not in the future).
 * Returns the number of invalid fields. */
int contacts_validate(Request *req, Form *f);

/* Inserts a validated contact for customer_id with its audit row; a primary contact takes the
 * flag from the previous one in the same transaction. Own transaction, or the caller's when one
 * is open (as customers_insert). Returns the new id or -1. The caller checks the customer's
 * access first. */
long contacts_insert(Request *req, Form *f, long customer_id);
/* contacts_insert for n validated forms in one statement: forms[i] for customer_ids[i] (ids[i],
 * when ids is not NULL, receives its id); primaries as for one, in the forms' order. Returns 0 or
 * -1. */
int contacts_insert_many(Request *req, Form **forms, const long *customer_ids, int n, long *ids);

/* ---- shared rendering helpers ------------------------------------------------------------- */

/* Pushes f_<name> as a <select> of rows (value, label[, group value, group label]) with an
 * empty first choice, in the frame form.c draws (label, help, note, error). With four columns
 * the options are grouped in <optgroup>s, each option carrying data-parent="<group value>" for
 * the province → city filter of static/js/customers.js. */
void customers_push_select(Form *f, View *v, const char *name, const PGresult *rows,
                           const char *none_msgid);

/* A query parameter, trimmed; NULL when absent, empty or longer than max bytes. */
const char *customers_qparam(Request *req, const char *name, size_t max);
/* YYYY-MM-DD naming a real day. */
bool customers_valid_date(const char *s);
/* A positive id written in plain digits. */
bool customers_parse_id(const char *s, long *out);

#endif
