/* dedup.c — company-name and phone normalisation for duplicate detection. */
#include "dedup.h"

#include <glib.h>
#include <stdbool.h>
#include <string.h>

/* Longest first, so 集团股份有限公司 is removed whole rather than leaving 集团. Matched at the
 * end of the (already case-folded, punctuation-free) key, repeatedly. */
static const char *const suffixes[] = {
    "集团股份有限公司", "股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "集团公司",
    "股份公司", "总公司", "集团", "公司",
    "coltd", "colimited", "limited", "ltd", "incorporated", "inc", "corporation", "corp",
    "company", "co", "gmbh", "llc", "plc",
    NULL,
};

static bool is_noise(gunichar c)
{
    return g_unichar_isspace(c) || g_unichar_ispunct(c) || c == 0x3000 ||
           g_unichar_type(c) == G_UNICODE_MATH_SYMBOL ||
           g_unichar_type(c) == G_UNICODE_CURRENCY_SYMBOL ||
           g_unichar_type(c) == G_UNICODE_MODIFIER_SYMBOL ||
           g_unichar_type(c) == G_UNICODE_OTHER_SYMBOL;
}

/* "华通（杭州）智能" → "杭州华通智能": a place written in brackets after the name means the same
 * company as the place written before it. Only short bracketed parts move (≤ 6 characters). */
static char *move_bracketed_place(const char *s)
{
    const char *open = strchr(s, '(');
    const char *close = open ? strchr(open, ')') : NULL;
    if (!open || !close || open == s)
        return g_strdup(s);
    glong inner = g_utf8_strlen(open + 1, close - open - 1);
    if (inner < 1 || inner > 6)
        return g_strdup(s);
    GString *out = g_string_new(NULL);
    g_string_append_len(out, open + 1, close - open - 1);
    g_string_append_len(out, s, open - s);
    g_string_append(out, close + 1);
    return g_string_free(out, FALSE);
}

char *dedup_name_key(const char *name)
{
    if (!name || !g_utf8_validate(name, -1, NULL))
        return NULL;
    /* NFKC turns full-width letters, digits and brackets into their ASCII forms. */
    g_autofree gchar *nfkc = g_utf8_normalize(name, -1, G_NORMALIZE_NFKC);
    if (!nfkc)
        return NULL;
    g_autofree gchar *folded = g_utf8_casefold(nfkc, -1);
    g_autofree gchar *moved = move_bracketed_place(folded);
    GString *key = g_string_new(NULL);
    for (const char *p = moved; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (!is_noise(c))
            g_string_append_unichar(key, c);
    }
    /* Strip legal-form suffixes, but never the whole name ("公司" alone stays). */
    bool again = true;
    while (again) {
        again = false;
        for (int i = 0; suffixes[i]; i++) {
            size_t n = strlen(suffixes[i]);
            if (key->len > n && strcmp(key->str + key->len - n, suffixes[i]) == 0) {
                g_string_truncate(key, key->len - n);
                again = true;
                break;
            }
        }
    }
    return g_string_free(key, FALSE);
}

char *dedup_phone_key(const char *phone)
{
    if (!phone)
        return g_strdup("");
    g_autofree gchar *nfkc = g_utf8_normalize(phone, -1, G_NORMALIZE_NFKC);
    GString *d = g_string_new(NULL);
    for (const char *p = nfkc ? nfkc : ""; *p; p++)
        if (*p >= '0' && *p <= '9')
            g_string_append_c(d, *p);
    const char *s = d->str;
    if (g_str_has_prefix(s, "0086") && d->len > 10)
        s += 4;
    else if (g_str_has_prefix(s, "86") && d->len == 13)
        s += 2;
    char *out = g_strdup(s);
    g_string_free(d, TRUE);
    return out;
}
