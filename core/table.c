/* core/table.c — see table.h. */
#include "core/table.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

int table_init(table *t, size_t obj_size, int alloc_mode)
{
    t->top = sys_calloc(TABLE_TOP, sizeof *t->top);
    if (!t->top)
        return TROUPE_ENOMEM;
    t->obj_size = obj_size;
    t->alloc_mode = alloc_mode;
    t->next = 1;
    t->freed = NULL;
    t->nfreed = t->capfreed = 0;
    pthread_mutex_init(&t->lock, NULL);
    return 0;
}

static _Atomic(void *) *chunk_of(table *t, uint32_t idx)
{
    _Atomic(void *) *c = atomic_load_explicit(&t->top[idx >> TABLE_CHUNK_BITS], memory_order_relaxed);
    if (c)
        return c;
    c = sys_calloc(TABLE_CHUNK, sizeof *c);
    if (c)
        /* release: the zeroed chunk before its pointer (table_get). */
        atomic_store_explicit(&t->top[idx >> TABLE_CHUNK_BITS], c, memory_order_release);
    return c;
}

static int alloc_fresh(table *t, uint32_t *idx, void **obj)
{
    if (t->next > TABLE_MAX)
        return TROUPE_ENOMEM;
    _Atomic(void *) *c = chunk_of(t, t->next);
    if (!c)
        return TROUPE_ENOMEM;
    void *o = talloc_aligned(t->alloc_mode, t->obj_size);
    if (!o)
        return TROUPE_ENOMEM;
    memset(o, 0, t->obj_size);
    *idx = t->next++;
    *obj = o;
    /* Published later by the caller's own release (e.g. the tail word);
     * release here only makes the zeroed object visible to table_get. */
    atomic_store_explicit(&c[*idx & (TABLE_CHUNK - 1)], o, memory_order_release);
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
    for (uint32_t i = 1; i < t->next; i++) {
        void *o = table_get(t, i);
        if (o && fin)
            fin(o, ud);
        tfree_aligned(t->alloc_mode, o, t->obj_size);
    }
    for (uint32_t c = 0; c < TABLE_TOP; c++)
        free(atomic_load_explicit(&t->top[c], memory_order_relaxed));
    free(t->top);
    free(t->freed);
    pthread_mutex_destroy(&t->lock);
    t->top = NULL;
}
