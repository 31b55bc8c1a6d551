/* form.h — field tables (kcgi-style): pure validators, kept input, per-field errors, rendering. */
#ifndef KEXIN_FORM_H
#define KEXIN_FORM_H

#include "request.h"
#include "view.h"

#include <libpq-fe.h>

typedef enum {
    F_TEXT,
    F_PASSWORD,
    F_TEXTAREA,
    F_INT,
    F_DATE, /* YYYY-MM-DD */
    F_EMAIL,
    F_SELECT,
    F_CHECKBOX,
} FieldType;

enum FieldFlags {
    F_REQUIRED = 1 << 0,
    F_KEEP_SPACES = 1 << 1, /* passwords: never trimmed */
};

typedef struct Choice {
    const char *value;
    const char *label; /* English msgid */
} Choice;

typedef struct FieldDef {
    const char *name;
    const char *label; /* English msgid */
    FieldType type;
    unsigned flags;
    int max_len;       /* characters; 0 = 200 */
    long min, max;     /* F_INT bounds when min < max */
    const Choice *choices; /* F_SELECT, ended by {NULL, NULL} */
    const char *autocomplete;
    const char *help;  /* English msgid shown under the field */
} FieldDef;

typedef struct Form {
    Request *req;
    const FieldDef *defs; /* ended by {NULL} */
    int n;
    const char **values;  /* normalised input, or the defaults set by the handler */
    const char **errors;  /* English msgids, NULL = fine */
    const char **err_args; /* optional %s argument of an error message */
    const char **notes;   /* informational msgids (e.g. "updated meanwhile") */
    const char **orig;    /* values as loaded for editing (optimistic locking) */
    const char *version;  /* row version the edit started from; NULL = not an edit form */
    int nerrors;
} Form;

/* Pure validation of one raw value: returns an error msgid or NULL; *out gets the
 * normalised value (trimmed, or the canonical form), allocated in a. */
const char *field_validate(const FieldDef *f, const char *raw, Arena *a, const char **out);

Form *form_new(Request *req, const FieldDef *defs);
/* Reads and validates every field from the POSTed form. Returns true when all are valid. */
bool form_read(Form *f);
void form_set(Form *f, const char *name, const char *value);
const char *form_get(const Form *f, const char *name);
/* Marks a field invalid with a message (English msgid), e.g. after a database check. */
void form_error(Form *f, const char *name, const char *msgid);
/* Like form_error, with a %s in the message filled with arg (e.g. the current value). */
void form_error_arg(Form *f, const char *name, const char *msgid, const char *arg);
/* Pushes f_<name> (label, input with kept value, error) for every field, form_errors
 * (count), and form_hidden (trusted: the version and original values of an edit form). */
void form_push(Form *f, View *v);

/* Optimistic locking (every edit form).
 * form_load fills values and originals from row `row` of r (columns named like the fields)
 * and the version from its "version" column. The page then carries them as hidden fields,
 * and form_read reads them back. An UPDATE … WHERE id = $1 AND version = $2 that changes no
 * row means someone saved meanwhile: re-read the row and call form_stale, which keeps all
 * the user's input, adopts the other person's value where the user left a field untouched,
 * marks fields both changed with the value now stored, and moves the version forward so a
 * second save deliberately overwrites. Returns the number of conflicting fields. */
void form_load(Form *f, const PGresult *r, int row);
int form_stale(Form *f, const PGresult *current);

#endif
