/* core/table.c — see table.h.
 *
 * Memory comes in regions mapped from the kernel, carved into chunks in
 * order. Regions double, from one chunk up to REGION_MAX_CHUNKS: a small
 * system maps one chunk (768 KB of address space for actors, of which it
 * touches only the pages its objects are on), a big one a few big regions.
 * Regions of HUGE_FROM bytes or more ask for transparent huge pages
 * (madvise; a hint, where THP is in `madvise` mode as on Debian): spawning
 * a million actors in 4 KB pages took 59,000 page faults, over half the
 * spawn time in a virtual machine (docs/PERFORMANCE.md, issue 18). Mapped
 * memory is zero, so a fresh object needs no clearing. */
#include "core/table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/alloc.h"

/* LeakSanitizer looks for pointers in the heap, globals, stacks and TLS,
 * not in memory mapped by hand: the regions are shown to it as roots, or
 * what only an object points at (an actor's ext, its probe) would read as
 * leaked while the system still runs (fuzz_http found it). */
#if defined(__SANITIZE_ADDRESS__)
#define TABLE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define TABLE_LSAN 1
#endif
#endif
#ifdef TABLE_LSAN
#include <sanitizer/lsan_interface.h>
#define lsan_root(p, n) __lsan_register_root_region(p, n)
#define lsan_unroot(p, n) __lsan_unregister_root_region(p, n)
#else
#define lsan_root(p, n) ((void)(p), (void)(n))
#define lsan_unroot(p, n) ((void)(p), (void)(n))
#endif

#define REGION_MAX_CHUNKS 32u
#define HUGE_FROM ((size_t)4 << 20)

int table_init(table *t, size_t obj_size)
{
    memset(t, 0, sizeof *t);
    t->top = sys_calloc(TABLE_TOP, sizeof *t->top);
    if (!t->top)
        return TROUPE_ENOMEM;
    t->obj_size = (obj_size + CACHELINE - 1) & ~(size_t)(CACHELINE - 1);
    t->next = 1;
    pthread_mutex_init(&t->lock, NULL);
    return 0;
}

/* Map the next region (twice the last one's chunks, up to the cap). */
static int map_region(table *t)
{
    uint32_t n = t->nregions ? 2 * (uint32_t)(t->regions[t->nregions - 1].bytes /
                                              (TABLE_CHUNK * t->obj_size))
                             : 1;
    n = n > REGION_MAX_CHUNKS ? REGION_MAX_CHUNKS : n;
    size_t bytes = (size_t)n * TABLE_CHUNK * t->obj_size;
    if (alloc_inject_fail() ||
        tr_grow32((void **)&t->regions, &t->capregions, t->nregions + 1, sizeof *t->regions, 8))
        return TROUPE_ENOMEM;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return TROUPE_ENOMEM;
    if (bytes >= HUGE_FROM)
        (void)madvise(p, bytes, MADV_HUGEPAGE); /* refused: 4 KB pages, as before */
    lsan_root(p, bytes);
    t->regions[t->nregions++] = (table_region){p, bytes};
    t->carve = p;
    t->carve_left = n;
    return 0;
}

/* The chunk of index idx, mapped when it is the first index there. */
static char *chunk_of(table *t, uint32_t idx)
{
    _Atomic(char *) *slot = &t->top[idx >> TABLE_CHUNK_BITS];
    /* relaxed: chunks are made under the lock, which we hold */
    char *c = atomic_load_explicit(slot, memory_order_relaxed);
    if (c)
        return c;
    if (!t->carve_left && map_region(t))
        return NULL;
    c = t->carve;
    t->carve += (size_t)TABLE_CHUNK * t->obj_size;
    t->carve_left--;
    /* release: pairs with table_get's acquire (the mapping is zero: the
     * callers publish what they write with their own release) */
    atomic_store_explicit(slot, c, memory_order_release);
    return c;
}

static int alloc_fresh(table *t, uint32_t *idx, void **obj)
{
    if (t->next > TABLE_MAX)
        return TROUPE_ENOMEM;
    /* each object counts as an allocation for the out-of-memory walks */
    char *c = alloc_inject_fail() ? NULL : chunk_of(t, t->next);
    if (!c)
        return TROUPE_ENOMEM;
    *idx = t->next++;
    *obj = c + (size_t)(*idx & (TABLE_CHUNK - 1)) * t->obj_size;
    return 0;
}

int table_alloc(table *t, uint32_t *idx, void **obj)
{
    pthread_mutex_lock(&t->lock);
    int rc = 0;
    if (t->nfreed) {
        *idx = t->freed[--t->nfreed];
        *obj = table_get(t, *idx);
    } else {
        rc = alloc_fresh(t, idx, obj);
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void table_free(table *t, uint32_t idx)
{
    pthread_mutex_lock(&t->lock);
    if (t->nfreed == t->capfreed &&
        tr_grow32((void **)&t->freed, &t->capfreed, t->nfreed + 1, sizeof *t->freed, 1024)) {
        pthread_mutex_unlock(&t->lock); /* the index is leaked for reuse, never the object */
        return;
    }
    t->freed[t->nfreed++] = idx;
    pthread_mutex_unlock(&t->lock);
}

uint32_t table_high(table *t)
{
    pthread_mutex_lock(&t->lock);
    uint32_t h = t->next - 1;
    pthread_mutex_unlock(&t->lock);
    return h;
}

void table_destroy(table *t, void (*fin)(void *obj, void *ud), void *ud)
{
    if (!t->top)
        return;
    for (uint32_t i = 1; fin && i < t->next; i++)
        fin(table_get(t, i), ud);
    for (uint32_t r = 0; r < t->nregions; r++) {
        lsan_unroot(t->regions[r].base, t->regions[r].bytes);
        munmap(t->regions[r].base, t->regions[r].bytes);
    }
    free(t->regions);
    free(t->top);
    free(t->freed);
    pthread_mutex_destroy(&t->lock);
    t->top = NULL;
}
