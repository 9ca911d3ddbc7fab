/* core/runq.c — see runq.h. */
#include "core/runq.h"

void runq_init(runq *q)
{
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    for (uint32_t i = 0; i < RUNQ_SIZE; i++)
        atomic_init(&q->buf[i], NULL);
}

bool runq_push_owner(runq *q, struct actor *a)
{
    uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    /* acquire: a slot below head has been read by its popper (the
     * popper's CAS is acq_rel), so it can be overwritten. */
    uint32_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    /* poppers never pass the tail, which only the owner moves */
    TR_ASSERT(t - h <= RUNQ_SIZE);
    if (t - h >= RUNQ_SIZE)
        return false;
    /* relaxed: published by the release store of tail below. */
    atomic_store_explicit(&q->buf[t & (RUNQ_SIZE - 1)], a, memory_order_relaxed);
    /* release: pairs with the acquire loads of tail in runq_pop_mc. */
    atomic_store_explicit(&q->tail, t + 1, memory_order_release);
    return true;
}

struct actor *runq_pop_mc(runq *q)
{
    uint32_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    for (;;) {
        /* acquire: pairs with runq_push_owner's release of tail. */
        uint32_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
        if (h == t)
            return NULL;
        struct actor *a = atomic_load_explicit(&q->buf[h & (RUNQ_SIZE - 1)], memory_order_relaxed);
        /* acq_rel: claims slot h; release lets the owner reuse it. A
         * stale read of buf (slot overwritten after a lap) is discarded
         * because head moved and the CAS fails. */
        if (atomic_compare_exchange_weak_explicit(&q->head, &h, h + 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            return a;
    }
}
