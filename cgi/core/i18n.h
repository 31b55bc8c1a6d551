/* i18n.h — English source strings, zh_CN/en catalogues loaded once, language choice per request. */
#ifndef KEXIN_I18N_H
#define KEXIN_I18N_H

#include <stdbool.h>

/* Marks a source string for the catalogue check without translating it here. */
#define N_(s) (s)

#define I18N_NLANGS 2
extern const char *const i18n_langs[I18N_NLANGS]; /* "zh_CN", "en"; [0] is the fallback */

/* Loads <dir>/<lang>.ini for every language. Returns 0 or -1. */
int i18n_load(const char *dir);
void i18n_free(void);
/* The translation of msgid in lang, or msgid itself when there is none. Never NULL. */
const char *i18n_get(const char *lang, const char *msgid);
bool i18n_has(const char *lang, const char *msgid);
/* A supported language code for a user setting, else Accept-Language, else zh_CN. */
const char *i18n_pick(const char *user_lang, const char *cookie_lang, const char *accept_language);
/* The canonical code if lang is supported, else NULL. */
const char *i18n_supported(const char *lang);

#endif
