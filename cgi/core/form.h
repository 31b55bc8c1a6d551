/* form.h — field tables (kcgi-style): pure validators, kept input, per-field errors, rendering. */
#ifndef KEXIN_FORM_H
#define KEXIN_FORM_H

#include "request.h"
#include "view.h"

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
/* Pushes f_<name> (label, input with kept value, error) for every field, and
 * form_errors (count) into the view. */
void form_push(Form *f, View *v);

#endif
