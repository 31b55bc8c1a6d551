/* arena.h — per-request memory arena: everything a request allocates dies with it. */
#ifndef KEXIN_ARENA_H
#define KEXIN_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct Arena Arena;

/* Cleanup callback for non-memory resources (PGresult, GString, temp files). */
typedef void (*ArenaCleanup)(void *ptr);

Arena *arena_new(void);
/* Runs the registered cleanups (last registered first), then frees all memory. */
void arena_free(Arena *a);

/* Zeroed memory, aligned for any type; never returns NULL (aborts on OOM like GLib). */
void *arena_alloc(Arena *a, size_t n);
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(Arena *a, const char *fmt, va_list ap);

/* Registers fn(ptr) to run when the arena is freed; returns ptr for chaining. */
void *arena_defer(Arena *a, ArenaCleanup fn, void *ptr);

/* Bytes handed out so far (for tests and the access log). */
size_t arena_used(const Arena *a);

#endif
