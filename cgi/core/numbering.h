/* numbering.h — gapless document numbers from configurable patterns (QT202611270001). */
#ifndef KEXIN_NUMBERING_H
#define KEXIN_NUMBERING_H

#include "arena.h"

/* Pure: expands pattern for one number. Tokens: {prefix} {yyyy} {yy} {mm} {dd} and one
 * {#…#} run (the sequence, zero-padded to the number of #, wider when it outgrows them).
 * Returns a g_malloc'd string, or NULL when the pattern is invalid (no or two sequence
 * tokens, an unknown token, an unclosed brace). */
char *numbering_format(const char *pattern, const char *prefix, int year, int month, int day,
                       long value);
/* Whether a pattern is acceptable (for the settings form). */
int numbering_pattern_ok(const char *pattern);
/* The counter period for a reset policy and a date: daily "20261127", monthly "202611",
 * yearly "2026", never "-". Pure; returns a static string for "never" or writes into buf. */
const char *numbering_period(const char *reset, int year, int month, int day, char buf[16]);

/* Takes the next number of doc_type inside the caller's open transaction: the counter row
 * stays locked until that transaction ends, and a rollback returns the number. The date is
 * today in the company's time zone (cfg.timezone). Returns the number (arena) or NULL. */
char *numbering_next(Arena *a, const char *doc_type);
/* For a transaction that writes many documents of one type (an import): takes n numbers in one
 * step; numbering_next then hands them out without a statement each (the counter row collects a
 * new version per update inside a long transaction, so 10,000 single takes got slower and
 * slower). Call numbering_release before the commit: it gives the unused tail back, so no gap
 * is left. Both return 0 or -1. The reservation lapses with the transaction. */
int numbering_reserve(Arena *a, const char *doc_type, long n);
int numbering_release(Arena *a);

#endif
