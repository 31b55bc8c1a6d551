/* arena.c — bump allocator with a cleanup list, freed in one go after each request. */
#include "arena.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ARENA_CHUNK 16384
#define ARENA_ALIGN 16

typedef struct Chunk {
    struct Chunk *next;
    size_t size, used;
    max_align_t data[];
} Chunk;

typedef struct Deferred {
    struct Deferred *next;
    ArenaCleanup fn;
    void *ptr;
} Deferred;

struct Arena {
    Chunk *chunks;
    Deferred *deferred;
    size_t total;
};

static Chunk *chunk_new(size_t size)
{
    Chunk *c = g_malloc(sizeof(Chunk) + size);
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

Arena *arena_new(void)
{
    Arena *a = g_new0(Arena, 1);
    a->chunks = chunk_new(ARENA_CHUNK);
    return a;
}

void arena_free(Arena *a)
{
    if (!a)
        return;
    for (Deferred *d = a->deferred; d; d = d->next)
        d->fn(d->ptr);
    Chunk *c = a->chunks;
    while (c) {
        Chunk *n = c->next;
        g_free(c);
        c = n;
    }
    g_free(a);
}

void *arena_alloc(Arena *a, size_t n)
{
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN;
    Chunk *c = a->chunks;
    if (c->size - c->used < need) {
        /* Large blocks get their own chunk behind the current one so the current
         * chunk's free tail is not wasted. */
        if (need > ARENA_CHUNK / 4) {
            Chunk *big = chunk_new(need);
            big->used = need;
            big->next = c->next;
            c->next = big;
            a->total += need;
            memset(big->data, 0, need);
            return big->data;
        }
        c = chunk_new(ARENA_CHUNK);
        c->next = a->chunks;
        a->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += need;
    a->total += need;
    memset(p, 0, need);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(Arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_vprintf(Arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return arena_strdup(a, "");
    char *p = arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *arena_printf(Arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

void *arena_defer(Arena *a, ArenaCleanup fn, void *ptr)
{
    Deferred *d = arena_alloc(a, sizeof *d);
    d->fn = fn;
    d->ptr = ptr;
    d->next = a->deferred;
    a->deferred = d;
    return ptr;
}

size_t arena_used(const Arena *a)
{
    return a->total;
}
