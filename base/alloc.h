/* base/alloc.h — where actors and messages get their memory.
 *
 * Built with jemalloc, the runtime allocates from one dedicated arena
 * through a per-thread explicit tcache (mallocx/sdallocx): actor memory
 * stays apart from the application's heap, sized frees skip the size
 * lookup, and a message allocated on one worker and freed on another goes
 * through thread caches instead of a shared lock. troupe_config.use_arena=0
 * (or a sanitizer build, -Djemalloc=disabled) uses the libc allocator, so
 * the benefit can be measured (bench/spawn.c) and ASan sees every block.
 */
#ifndef TROUPE_BASE_ALLOC_H
#define TROUPE_BASE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "base/common.h"

/* The mode a system allocates with (its alloc_mode), defined by core
 * (core/system.c): mailbox/ frees and installs rings for the system it was
 * handed without seeing inside it. */
struct troupe_system;
int alloc_mode_of(const struct troupe_system *sys);

/* mode: 0 = libc, 1 = the troupe arena. NULL on failure. */
void *talloc(int mode, size_t size);
void *tcalloc(int mode, size_t size);
/* 64-byte aligned (rings); _calloc_ zeroed. */
void *talloc_aligned(int mode, size_t size);
void *tcalloc_aligned(int mode, size_t size);
/* size must be the size asked for. NULL is ignored. */
void tfree(int mode, void *p, size_t size);
void tfree_aligned(int mode, void *p, size_t size);
/* 1 when the arena is usable (jemalloc build and arena created). */
int alloc_arena_available(void);
/* The runtime's other allocations (tables, heaps, bookkeeping, every
 * feature folder): libc malloc, with the same fault injection, released
 * with free() -- so a block may be handed to a library that frees it
 * itself (libmicrohttpd's MHD_RESPMEM_MUST_FREE). sys_calloc checks n *
 * size for overflow; sys_strdup(NULL) is NULL. */
void *sys_malloc(size_t size);
void *sys_calloc(size_t n, size_t size);
void *sys_realloc(void *p, size_t size);
char *sys_strdup(const char *s);

/* The one growth step for arrays: makes *p (an array of *cap items of
 * elem bytes, from sys_*) hold at least need items, doubling from `first`
 * (saturating: never past what size_t, or for tr_grow32 a uint32_t count,
 * can hold). 0, or TROUPE_ENOMEM with *p and *cap unchanged. */
int tr_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first);
int tr_grow32(void **p, uint32_t *cap, size_t need, size_t elem, size_t first);

/* Fault injection, for the out-of-memory tests: after `n` more
 * allocations every allocation of the runtime fails (n < 0: off, the
 * default). troupei_alloc_fail_remaining() tells how many are left (< 0:
 * off). Not thread-exact: for tests only. */
void troupei_alloc_fail_after(long n);
long troupei_alloc_fail_remaining(void);
bool alloc_inject_fail(void);

#endif
