/* core/alloc.c — libc or jemalloc-arena allocation, see alloc.h. */
#include "core/alloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "troupe_config.h"

#if TROUPE_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>

static unsigned arena_index;
static int arena_ok;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static pthread_key_t tcache_key;

/* The per-thread tcache id + 1 (0 = none yet). */
static _Thread_local unsigned tls_tcache;

static void tcache_release(void *v)
{
    unsigned id = (unsigned)(uintptr_t)v - 1;
    mallctl("tcache.destroy", NULL, NULL, &id, sizeof id);
}

static void arena_init(void)
{
    size_t sz = sizeof arena_index;
    if (mallctl("arenas.create", &arena_index, &sz, NULL, 0) != 0)
        return;
    if (pthread_key_create(&tcache_key, tcache_release) != 0)
        return;
    arena_ok = 1;
}

static int arena_flags(void)
{
    pthread_once(&arena_once, arena_init);
    if (!arena_ok)
        return -1;
    if (!tls_tcache) {
        unsigned id;
        size_t sz = sizeof id;
        if (mallctl("tcache.create", &id, &sz, NULL, 0) != 0)
            return MALLOCX_ARENA(arena_index) | MALLOCX_TCACHE_NONE;
        tls_tcache = id + 1;
        pthread_setspecific(tcache_key, (void *)(uintptr_t)tls_tcache);
    }
    return MALLOCX_ARENA(arena_index) | MALLOCX_TCACHE(tls_tcache - 1);
}

int alloc_arena_available(void)
{
    pthread_once(&arena_once, arena_init);
    return arena_ok;
}

void *talloc(int mode, size_t size)
{
    int f = mode ? arena_flags() : -1;
    return f < 0 ? malloc(size) : mallocx(size, f);
}

void *tcalloc(int mode, size_t size)
{
    int f = mode ? arena_flags() : -1;
    return f < 0 ? calloc(1, size) : mallocx(size, f | MALLOCX_ZERO);
}

void *talloc_aligned(int mode, size_t size)
{
    int f = mode ? arena_flags() : -1;
    if (f < 0)
        return aligned_alloc(64, (size + 63) & ~(size_t)63);
    return mallocx(size, f | MALLOCX_ALIGN(64));
}

void tfree(int mode, void *p, size_t size)
{
    if (!p)
        return;
    int f = mode ? arena_flags() : -1;
    if (f < 0)
        free(p);
    else
        sdallocx(p, size, f);
}

void tfree_aligned(int mode, void *p, size_t size)
{
    if (!p)
        return;
    int f = mode ? arena_flags() : -1;
    if (f < 0)
        free(p);
    else
        sdallocx(p, size, f | MALLOCX_ALIGN(64));
}

#else /* libc only */

int alloc_arena_available(void) { return 0; }
void *talloc(int mode, size_t size) { (void)mode; return malloc(size); }
void *tcalloc(int mode, size_t size) { (void)mode; return calloc(1, size); }
void *talloc_aligned(int mode, size_t size)
{
    (void)mode;
    return aligned_alloc(64, (size + 63) & ~(size_t)63);
}
void tfree(int mode, void *p, size_t size) { (void)mode; (void)size; free(p); }
void tfree_aligned(int mode, void *p, size_t size) { (void)mode; (void)size; free(p); }

#endif
