/* form.c — validates typed input against a field table and renders fields that keep input. */
#include "form.h"
#include "i18n.h"

#include <stdlib.h>
#include <string.h>

const char *field_validate(const FieldDef *f, const char *raw, Arena *a, const char **out)
{
    const char *v = raw ? raw : "";
    if (!(f->flags & F_KEEP_SPACES)) {
        char *t = arena_strdup(a, v);
        v = g_strstrip(t);
    }
    *out = v;
    if (!g_utf8_validate(v, -1, NULL))
        return N_("Invalid characters.");
    if (f->type == F_CHECKBOX) {
        *out = (*v && strcmp(v, "0") != 0) ? "1" : "";
        return NULL;
    }
    if (!*v)
        return (f->flags & F_REQUIRED) ? N_("This field is required.") : NULL;
    int max = f->max_len > 0 ? f->max_len : 200;
    if (g_utf8_strlen(v, -1) > max)
        return N_("This text is too long.");
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\r' && *p != '\t')
            return N_("Invalid characters.");
    switch (f->type) {
    case F_INT: {
        char *end = NULL;
        long n = strtol(v, &end, 10);
        if (!end || *end || strlen(v) > 18)
            return N_("Enter a whole number.");
        if (f->min < f->max && (n < f->min || n > f->max))
            return N_("The number is out of range.");
        *out = arena_printf(a, "%ld", n);
        return NULL;
    }
    case F_DATE: {
        int y, m, d;
        char tail;
        if (sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || strlen(v) != 10 ||
            !g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y))
            return N_("Enter a date as YYYY-MM-DD.");
        return NULL;
    }
    case F_EMAIL: {
        const char *at = strchr(v, '@');
        if (!at || at == v || !strchr(at, '.') || strchr(at + 1, '@') || strchr(v, ' '))
            return N_("Enter a valid e-mail address.");
        return NULL;
    }
    case F_SELECT:
        for (const Choice *c = f->choices; c && c->value; c++)
            if (strcmp(c->value, v) == 0)
                return NULL;
        return N_("Choose one of the options.");
    default:
        return NULL;
    }
}

static int index_of(const Form *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->defs[i].name, name) == 0)
            return i;
    return -1;
}

Form *form_new(Request *req, const FieldDef *defs)
{
    Form *f = arena_alloc(req->arena, sizeof *f);
    f->req = req;
    f->defs = defs;
    while (defs[f->n].name)
        f->n++;
    f->values = arena_alloc(req->arena, sizeof(char *) * (size_t)(f->n + 1));
    f->errors = arena_alloc(req->arena, sizeof(char *) * (size_t)(f->n + 1));
    f->err_args = arena_alloc(req->arena, sizeof(char *) * (size_t)(f->n + 1));
    f->notes = arena_alloc(req->arena, sizeof(char *) * (size_t)(f->n + 1));
    f->orig = arena_alloc(req->arena, sizeof(char *) * (size_t)(f->n + 1));
    for (int i = 0; i < f->n; i++)
        f->values[i] = f->orig[i] = "";
    return f;
}

bool form_read(Form *f)
{
    f->nerrors = 0;
    for (int i = 0; i < f->n; i++) {
        const char *out = "";
        f->errors[i] = field_validate(&f->defs[i], req_form(f->req, f->defs[i].name),
                                      f->req->arena, &out);
        f->values[i] = out;
        if (f->errors[i])
            f->nerrors++;
        const char *o = req_form(f->req, arena_printf(f->req->arena, "_o_%s", f->defs[i].name));
        f->orig[i] = o ? o : "";
    }
    const char *ver = req_form(f->req, "_version");
    f->version = ver && *ver && strspn(ver, "0123456789") == strlen(ver) ? ver : NULL;
    return f->nerrors == 0;
}

void form_set(Form *f, const char *name, const char *value)
{
    int i = index_of(f, name);
    if (i >= 0)
        f->values[i] = value ? value : "";
}

const char *form_get(const Form *f, const char *name)
{
    int i = index_of(f, name);
    return i >= 0 ? f->values[i] : NULL;
}

void form_error(Form *f, const char *name, const char *msgid)
{
    form_error_arg(f, name, msgid, NULL);
}

void form_error_arg(Form *f, const char *name, const char *msgid, const char *arg)
{
    int i = index_of(f, name);
    if (i < 0)
        return;
    if (!f->errors[i])
        f->nerrors++;
    f->errors[i] = msgid;
    f->err_args[i] = arg;
}

void form_load(Form *f, const PGresult *r, int row)
{
    for (int i = 0; i < f->n; i++) {
        int c = PQfnumber(r, f->defs[i].name);
        if (c < 0)
            continue;
        const char *v = PQgetisnull(r, row, c) ? "" : PQgetvalue(r, row, c);
        if (f->defs[i].type == F_CHECKBOX)
            v = (v[0] == 't' || v[0] == '1') ? "1" : "";
        f->values[i] = f->orig[i] = arena_strdup(f->req->arena, v);
    }
    int vc = PQfnumber(r, "version");
    if (vc >= 0)
        f->version = arena_strdup(f->req->arena, PQgetvalue(r, row, vc));
}

int form_stale(Form *f, const PGresult *current)
{
    Arena *a = f->req->arena;
    int conflicts = 0;
    for (int i = 0; i < f->n; i++) {
        int c = PQfnumber(current, f->defs[i].name);
        if (c < 0 || f->defs[i].type == F_PASSWORD)
            continue;
        const char *now = PQgetisnull(current, 0, c) ? "" : PQgetvalue(current, 0, c);
        if (f->defs[i].type == F_CHECKBOX)
            now = (now[0] == 't' || now[0] == '1') ? "1" : "";
        if (strcmp(now, f->orig[i]) == 0)
            continue; /* nobody else touched it */
        if (strcmp(f->values[i], f->orig[i]) == 0) {
            /* Only the other person changed it: take their value. */
            f->values[i] = arena_strdup(a, now);
            f->notes[i] = N_("Updated meanwhile by someone else; the new value is shown.");
        } else if (strcmp(f->values[i], now) != 0) {
            form_error_arg(f, f->defs[i].name,
                           N_("Someone else changed this meanwhile to “%s”. Your input is kept: save again to overwrite it."),
                           arena_strdup(a, now));
            conflicts++;
        }
        f->orig[i] = arena_strdup(a, now);
    }
    int vc = PQfnumber(current, "version");
    if (vc >= 0)
        f->version = arena_strdup(a, PQgetvalue(current, 0, vc));
    return conflicts;
}

static const char *input_type(FieldType t)
{
    switch (t) {
    case F_PASSWORD: return "password";
    case F_INT: return "number";
    case F_DATE: return "date";
    case F_EMAIL: return "email";
    case F_CHECKBOX: return "checkbox";
    default: return "text";
    }
}

/* Every dynamic part goes through view_escape; the markup around it is fixed. */
static char *render_field(Form *f, int i)
{
    Arena *a = f->req->arena;
    const FieldDef *d = &f->defs[i];
    const char *lang = f->req->lang;
    const char *id = arena_printf(a, "f-%s", d->name);
    const char *name = view_escape(a, d->name);
    const char *label = view_escape(a, i18n_get(lang, d->label));
    const char *value = view_escape(a, d->type == F_PASSWORD ? "" : f->values[i]);
    const char *err = f->errors[i];
    GString *h = g_string_new(NULL);
    g_string_append_printf(h, "<div class=\"field%s%s\">", err ? " has-error" : "",
                           d->type == F_CHECKBOX ? " field-check" : "");
    /* The required mark is drawn by CSS (label.required::after) so the label text stays clean. */
    const char *req_mark = (d->flags & F_REQUIRED) ? " class=\"required\"" : "";
    const char *describedby = err ? arena_printf(a, " aria-invalid=\"true\" aria-describedby=\"%s-err\"", id) : "";
    const char *required = (d->flags & F_REQUIRED) ? " required" : "";
    const char *ac = d->autocomplete ? arena_printf(a, " autocomplete=\"%s\"", view_escape(a, d->autocomplete)) : "";
    int max = d->max_len > 0 ? d->max_len : 200;
    if (d->type == F_CHECKBOX) {
        g_string_append_printf(h, "<label for=\"%s\"><input type=\"checkbox\" id=\"%s\" name=\"%s\" value=\"1\"%s%s> %s</label>",
                               id, id, name, *f->values[i] ? " checked" : "", describedby, label);
    } else {
        g_string_append_printf(h, "<label for=\"%s\"%s>%s</label>", id, req_mark, label);
        if (d->type == F_TEXTAREA) {
            g_string_append_printf(h, "<textarea id=\"%s\" name=\"%s\" rows=\"4\" maxlength=\"%d\"%s%s>%s</textarea>",
                                   id, name, max, required, describedby, value);
        } else if (d->type == F_SELECT) {
            g_string_append_printf(h, "<select id=\"%s\" name=\"%s\"%s%s>", id, name, required, describedby);
            for (const Choice *c = d->choices; c && c->value; c++)
                g_string_append_printf(h, "<option value=\"%s\"%s>%s</option>", view_escape(a, c->value),
                                       strcmp(c->value, f->values[i]) == 0 ? " selected" : "",
                                       view_escape(a, i18n_get(lang, c->label)));
            g_string_append(h, "</select>");
        } else {
            g_string_append_printf(h, "<input type=\"%s\" id=\"%s\" name=\"%s\" value=\"%s\" maxlength=\"%d\"%s%s%s>",
                                   input_type(d->type), id, name, value, max, required, ac, describedby);
        }
    }
    if (d->help)
        g_string_append_printf(h, "<p class=\"field-help\">%s</p>", view_escape(a, i18n_get(lang, d->help)));
    if (f->notes[i])
        g_string_append_printf(h, "<p class=\"field-note\">%s</p>",
                               view_escape(a, i18n_get(lang, f->notes[i])));
    if (err) {
        const char *msg = i18n_get(lang, err);
        /* Catalogue formats are trusted; the argument is data and gets escaped below. */
        char *text = f->err_args[i] ? g_strdup_printf(msg, f->err_args[i]) : g_strdup(msg);
        g_string_append_printf(h, "<p class=\"field-error\" id=\"%s-err\">%s</p>", id,
                               view_escape(a, text));
        g_free(text);
    }
    g_string_append(h, "</div>");
    char *out = arena_strdup(a, h->str);
    g_string_free(h, TRUE);
    return out;
}

void form_push(Form *f, View *v)
{
    for (int i = 0; i < f->n; i++)
        view_set_trusted_html(v, arena_printf(f->req->arena, "f_%s", f->defs[i].name),
                              render_field(f, i));
    view_set_int(v, "form_errors", f->nerrors);
    GString *h = g_string_new(NULL);
    if (f->version) {
        g_string_append_printf(h, "<input type=\"hidden\" name=\"_version\" value=\"%s\">",
                               view_escape(f->req->arena, f->version));
        for (int i = 0; i < f->n; i++)
            if (f->defs[i].type != F_PASSWORD)
                g_string_append_printf(h, "<input type=\"hidden\" name=\"_o_%s\" value=\"%s\">",
                                       view_escape(f->req->arena, f->defs[i].name),
                                       view_escape(f->req->arena, f->orig[i]));
    }
    view_set_trusted_html(v, "form_hidden", arena_strdup(f->req->arena, h->str));
    g_string_free(h, TRUE);
}
