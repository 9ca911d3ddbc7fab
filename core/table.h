/* core/table.h — index -> object tables with type-stable memory.
 *
 * Actors, asks and timers are named by small values (index + generation)
 * rather than pointers. The object behind an index is allocated once and
 * never freed before the table is destroyed; a freed index is reused with a
 * new generation kept inside the object. So a stale handle always reads
 * valid memory, sees a generation that does not match, and fails cleanly —
 * the NNG idea, without reference counts on the hot path.
 *
 * The objects of a chunk (TABLE_CHUNK indexes) lie side by side in memory
 * mapped from the kernel (core/table.c: regions), so an object costs its
 * own size and nothing else — no allocator header, no pointer per slot —
 * and a fresh one is already zero. A table that grows big asks for huge
 * pages: a million actors are 100 page faults, not 50,000.
 *
 * Contract: table_get from any thread, lock-free (one acquire load);
 * table_alloc / table_free from any thread (a mutex: not on the send path).
 * An index in a mapped chunk at or past table_high reads as a zeroed
 * object (generation 0, which no handle carries).
 */
#ifndef TROUPE_CORE_TABLE_H
#define TROUPE_CORE_TABLE_H

#include <pthread.h>

#include "core/common.h"

#define TABLE_CHUNK_BITS 12
#define TABLE_CHUNK (1u << TABLE_CHUNK_BITS)
#define TABLE_TOP (1u << 14) /* up to 64 M objects per table */
#define TABLE_MAX (TABLE_TOP * TABLE_CHUNK - 1)

typedef struct table_region {
    void *base;
    size_t bytes;
} table_region;

typedef struct table {
    _Atomic(char *) *top; /* TABLE_TOP chunk bases: a chunk's objects */
    size_t obj_size;      /* rounded up to a cache line */
    pthread_mutex_t lock;
    uint32_t next;   /* next fresh index (index 0 is never used) */
    uint32_t *freed; /* stack of reusable indexes */
    uint32_t nfreed, capfreed;
    /* mapped memory, carved into chunks in order (core/table.c) */
    table_region *regions;
    uint32_t nregions, capregions;
    char *carve;         /* the next chunk's base in the last region */
    uint32_t carve_left; /* chunks left there */
} table;

int table_init(table *t, size_t obj_size);
/* Calls fin(obj) for every object ever allocated, then frees all. */
void table_destroy(table *t, void (*fin)(void *obj, void *ud), void *ud);
/* A fresh or reused index and its object (zeroed when fresh). */
int table_alloc(table *t, uint32_t *idx, void **obj);
/* Give the index back for reuse; the object stays allocated. */
void table_free(table *t, uint32_t idx);

static inline void *table_get(const table *t, uint32_t idx)
{
    if (unlikely(idx == 0 || idx > TABLE_MAX))
        return NULL;
    /* acquire: pairs with the release store of the chunk's base */
    char *chunk = atomic_load_explicit(&t->top[idx >> TABLE_CHUNK_BITS], memory_order_acquire);
    if (unlikely(!chunk))
        return NULL;
    return chunk + (size_t)(idx & (TABLE_CHUNK - 1)) * t->obj_size;
}

/* Highest index handed out so far (for iteration under quiescence). */
uint32_t table_high(table *t);

#endif
