/* base/alloc.c — libc or jemalloc-arena allocation, see alloc.h. */
#include "base/alloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "troupe_config.h"

static _Atomic long fail_countdown = -1;

void troupei_alloc_fail_after(long n) { atomic_store(&fail_countdown, n); }
long troupei_alloc_fail_remaining(void) { return atomic_load(&fail_countdown); }

bool alloc_inject_fail(void)
{
    /* relaxed: a test knob, off (< 0) in every real run */
    long v = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (likely(v < 0))
        return false;
    while (v > 0)
        if (atomic_compare_exchange_weak(&fail_countdown, &v, v - 1))
            return false;
    return v == 0;
}

void *sys_malloc(size_t size) { return alloc_inject_fail() ? NULL : malloc(size); }
void *sys_calloc(size_t n, size_t size) { return alloc_inject_fail() ? NULL : calloc(n, size); }
void *sys_realloc(void *p, size_t size) { return alloc_inject_fail() ? NULL : realloc(p, size); }

char *sys_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = sys_malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

/* The capacity after doubling from `first` until need fits, saturated at
 * max items; 0 when need itself is beyond max. */
static size_t grown_cap(size_t cap, size_t need, size_t first, size_t max)
{
    if (need > max)
        return 0;
    size_t c = cap ? cap : (first ? first : 1);
    while (c < need)
        c = c > max / 2 ? max : c * 2;
    return c > max ? max : c;
}

/* *p is read and written as bytes: callers pass the address of a typed
 * pointer (sv_node **, trow *, ...), which memcpy may access. */
static int grow_to(void **p, size_t *cap, size_t need, size_t elem, size_t first, size_t max)
{
    if (need <= *cap)
        return 0;
    size_t lim = elem ? SIZE_MAX / elem : SIZE_MAX;
    size_t c = grown_cap(*cap, need, first, max < lim ? max : lim);
    if (!c)
        return TROUPE_ENOMEM;
    void *old, *q;
    memcpy(&old, p, sizeof old);
    if (!(q = sys_realloc(old, c * elem)))
        return TROUPE_ENOMEM;
    memcpy(p, &q, sizeof q);
    *cap = c;
    return 0;
}

int tr_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
    return grow_to(p, cap, need, elem, first, SIZE_MAX);
}

int tr_grow32(void **p, uint32_t *cap, size_t need, size_t elem, size_t first)
{
    size_t c = *cap;
    int rc = grow_to(p, &c, need, elem, first, UINT32_MAX);
    *cap = (uint32_t)c;
    return rc;
}

#if TROUPE_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>

/* Linking Debian's libjemalloc replaces malloc itself, so "the libc
 * allocator" (mode 0, kept for comparison) must be asked for by name. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

#define MAX_ARENAS 64

static unsigned arenas[MAX_ARENAS];
static unsigned narenas;
static _Atomic unsigned next_arena;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static pthread_key_t tcache_key;

/* This thread's mallocx flags (arena + explicit tcache); 0 = not yet. */
static _Thread_local int tls_flags;

static void tcache_release(void *v)
{
    unsigned id = (unsigned)(uintptr_t)v - 1;
    mallctl("tcache.destroy", NULL, NULL, &id, sizeof id);
}

/* One arena per CPU: threads are spread over them, so that workers do not
 * contend on one arena's locks when their caches fill or flush. */
static void arena_init(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    n = n < 1 ? 1 : n > MAX_ARENAS ? MAX_ARENAS : n;
    for (long i = 0; i < n; i++) {
        size_t sz = sizeof arenas[0];
        if (mallctl("arenas.create", &arenas[narenas], &sz, NULL, 0) != 0)
            break;
        narenas++;
    }
    if (narenas && pthread_key_create(&tcache_key, tcache_release) != 0)
        narenas = 0;
}

static int thread_flags(void)
{
    pthread_once(&arena_once, arena_init);
    if (!narenas)
        return -1;
    unsigned a = arenas[atomic_fetch_add_explicit(&next_arena, 1, memory_order_relaxed) % narenas];
    unsigned id;
    size_t sz = sizeof id;
    if (mallctl("tcache.create", &id, &sz, NULL, 0) != 0)
        return MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    pthread_setspecific(tcache_key, (void *)(uintptr_t)(id + 1));
    return MALLOCX_ARENA(a) | MALLOCX_TCACHE(id);
}

static inline int arena_flags(void)
{
    if (unlikely(!tls_flags))
        tls_flags = thread_flags();
    return tls_flags;
}

int alloc_arena_available(void)
{
    pthread_once(&arena_once, arena_init);
    return narenas > 0;
}

void *talloc(int mode, size_t size)
{
    if (alloc_inject_fail())
        return NULL;
    return mode && arena_flags() > 0 ? mallocx(size, arena_flags()) : __libc_malloc(size);
}

void *tcalloc(int mode, size_t size)
{
    if (alloc_inject_fail())
        return NULL;
    if (mode && arena_flags() > 0)
        return mallocx(size, arena_flags() | MALLOCX_ZERO);
    return __libc_calloc(1, size);
}

void *talloc_aligned(int mode, size_t size)
{
    if (alloc_inject_fail())
        return NULL;
    if (mode && arena_flags() > 0)
        return mallocx(size, arena_flags() | MALLOCX_ALIGN(64));
    return __libc_memalign(64, size);
}

void *tcalloc_aligned(int mode, size_t size)
{
    if (alloc_inject_fail())
        return NULL;
    if (mode && arena_flags() > 0) /* fresh pages stay untouched: no RSS */
        return mallocx(size, arena_flags() | MALLOCX_ALIGN(64) | MALLOCX_ZERO);
    void *p = __libc_memalign(64, size);
    if (p)
        memset(p, 0, size);
    return p;
}

void tfree(int mode, void *p, size_t size)
{
    if (!p)
        return;
    if (mode && arena_flags() > 0)
        sdallocx(p, size, arena_flags());
    else
        __libc_free(p);
}

void tfree_aligned(int mode, void *p, size_t size)
{
    if (!p)
        return;
    if (mode && arena_flags() > 0)
        sdallocx(p, size, arena_flags() | MALLOCX_ALIGN(64));
    else
        __libc_free(p);
}

#else /* libc only (sanitizer builds: ASan must see every block) */

int alloc_arena_available(void) { return 0; }
void *talloc(int mode, size_t size)
{
    (void)mode;
    return alloc_inject_fail() ? NULL : malloc(size);
}
void *tcalloc(int mode, size_t size)
{
    (void)mode;
    return alloc_inject_fail() ? NULL : calloc(1, size);
}
void *talloc_aligned(int mode, size_t size)
{
    if (alloc_inject_fail())
        return NULL;
    (void)mode;
    return aligned_alloc(64, (size + 63) & ~(size_t)63);
}
void *tcalloc_aligned(int mode, size_t size)
{
    if (alloc_inject_fail())
        return NULL;
    void *p = talloc_aligned(mode, size);
    if (p)
        memset(p, 0, size);
    return p;
}
void tfree(int mode, void *p, size_t size) { (void)mode; (void)size; free(p); }
void tfree_aligned(int mode, void *p, size_t size) { (void)mode; (void)size; free(p); }

#endif
