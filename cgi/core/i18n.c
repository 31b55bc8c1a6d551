/* i18n.c — translation catalogues (GKeyFile, group [messages]: English=translation). */
#include "i18n.h"
#include "log.h"

#include <glib.h>
#include <string.h>

const char *const i18n_langs[I18N_NLANGS] = {"zh_CN", "en"};
static GHashTable *catalogues[I18N_NLANGS];

static int lang_index(const char *lang)
{
    for (int i = 0; i < I18N_NLANGS; i++)
        if (lang && strcmp(lang, i18n_langs[i]) == 0)
            return i;
    return -1;
}

void i18n_free(void)
{
    for (int i = 0; i < I18N_NLANGS; i++)
        if (catalogues[i]) {
            g_hash_table_destroy(catalogues[i]);
            catalogues[i] = NULL;
        }
}

static int load_file(GHashTable *cat, const char *path)
{
    GKeyFile *kf = g_key_file_new();
    GError *e = NULL;
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e)) {
        log_error("catalogue %s: %s", path, e->message);
        g_error_free(e);
        g_key_file_free(kf);
        return -1;
    }
    gsize n = 0;
    gchar **keys = g_key_file_get_keys(kf, "messages", &n, NULL);
    for (gsize k = 0; k < n; k++) {
        gchar *v = g_key_file_get_string(kf, "messages", keys[k], NULL);
        if (v && *v)
            g_hash_table_replace(cat, g_strdup(keys[k]), v);
        else
            g_free(v);
    }
    g_strfreev(keys);
    g_key_file_free(kf);
    return 0;
}

static int cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A language's catalogue is every .ini file in <dir>/<lang>/ (one per area of the
 * application), read in name order. */
int i18n_load(const char *dir)
{
    i18n_free();
    for (int i = 0; i < I18N_NLANGS; i++) {
        catalogues[i] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        g_autofree gchar *ldir = g_build_filename(dir, i18n_langs[i], NULL);
        GDir *d = g_dir_open(ldir, 0, NULL);
        if (!d) {
            log_error("no catalogue folder %s", ldir);
            return -1;
        }
        GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
        const char *e;
        while ((e = g_dir_read_name(d)))
            if (g_str_has_suffix(e, ".ini"))
                g_ptr_array_add(files, g_build_filename(ldir, e, NULL));
        g_dir_close(d);
        g_ptr_array_sort(files, cmp_names);
        int rc = 0;
        for (guint f = 0; f < files->len && rc == 0; f++)
            rc = load_file(catalogues[i], g_ptr_array_index(files, f));
        g_ptr_array_free(files, TRUE);
        if (rc < 0)
            return -1;
    }
    return 0;
}

const char *i18n_get(const char *lang, const char *msgid)
{
    int i = lang_index(lang);
    if (i < 0 || !catalogues[i] || !msgid)
        return msgid ? msgid : "";
    const char *t = g_hash_table_lookup(catalogues[i], msgid);
    return t ? t : msgid;
}

bool i18n_has(const char *lang, const char *msgid)
{
    int i = lang_index(lang);
    return i >= 0 && catalogues[i] && g_hash_table_contains(catalogues[i], msgid);
}

const char *i18n_supported(const char *lang)
{
    if (!lang)
        return NULL;
    int i = lang_index(lang);
    if (i >= 0)
        return i18n_langs[i];
    if (g_ascii_strncasecmp(lang, "zh", 2) == 0)
        return "zh_CN";
    if (g_ascii_strncasecmp(lang, "en", 2) == 0)
        return "en";
    return NULL;
}

/* Accept-Language: take the supported language with the highest q (ties: first listed). */
static const char *from_accept(const char *al)
{
    if (!al)
        return NULL;
    const char *best = NULL;
    int best_q = -1;
    gchar **parts = g_strsplit(al, ",", 32);
    for (int i = 0; parts[i]; i++) {
        gchar *p = g_strstrip(parts[i]);
        int q = 1000;
        gchar *semi = strchr(p, ';');
        if (semi) {
            *semi = '\0';
            const char *qs = strstr(semi + 1, "q=");
            if (qs) {
                /* q is 0..1 with up to 3 decimals: read it as an integer per mille. */
                const char *d = qs + 2;
                q = (*d == '1') ? 1000 : 0;
                if (*d == '0' || *d == '1') {
                    d++;
                    if (*d == '.') {
                        int scale = 100;
                        for (d++; *d >= '0' && *d <= '9' && scale > 0; d++, scale /= 10)
                            q += (*d - '0') * scale;
                    }
                }
            }
        }
        const char *l = i18n_supported(g_strstrip(p));
        if (l && q > best_q && q > 0) {
            best = l;
            best_q = q;
        }
    }
    g_strfreev(parts);
    return best;
}

const char *i18n_pick(const char *user_lang, const char *cookie_lang, const char *accept_language)
{
    const char *l = i18n_supported(user_lang);
    if (!l)
        l = i18n_supported(cookie_lang);
    if (!l)
        l = from_accept(accept_language);
    return l ? l : i18n_langs[0];
}
