/* dedup.h — the normalised key of a company name for duplicate control (排重). */
#ifndef KEXIN_DEDUP_H
#define KEXIN_DEDUP_H

/* The comparison key of a company name: NFKC (full-width → half-width), case-folded, spaces
 * and punctuation removed, a short parenthesised place moved to the front ("华通（杭州）有限公司"
 * ≡ "杭州华通有限公司"), and legal-form suffixes dropped (股份有限公司, 有限责任公司, 有限公司,
 * 集团, 公司, Co., Ltd., Inc., …). Two names with the same key are the same customer.
 * Returns a g_malloc'd UTF-8 string ("" when nothing is left), NULL for invalid UTF-8. */
char *dedup_name_key(const char *name);
/* Digits only, without a leading +86/0086 country code: for "same phone" warnings. */
char *dedup_phone_key(const char *phone);

#endif
