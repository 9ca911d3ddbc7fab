/* mailbox/lane.c — tagged Treiber stack, see lane.h. */
#include "mailbox/lane.h"


static inline uint64_t lane_tag(uint32_t gen) { return lane_empty_word(gen); }

void lane_reset(lane *l, uint32_t gen)
{
    /* relaxed: the actor is not yet published; spawn's release store of
     * the tail word (mb_open) orders this before any push. */
    atomic_store_explicit(&l->w, lane_tag(gen), memory_order_relaxed);
}

int lane_push_mpsc(lane *l, uint32_t gen, lane_node *e)
{
    uint64_t tag = lane_tag(gen);
    /* relaxed: the CAS below validates the value. */
    uint64_t w = atomic_load_explicit(&l->w, memory_order_relaxed);
    for (;;) {
        uint64_t ptr = w & LANE_PTR_MASK;
        if ((w & ~LANE_PTR_MASK) != tag || ptr == LANE_CLOSED)
            return -1;
        e->next = (lane_node *)(uintptr_t)ptr;
        /* seq_cst: publishes the envelope (release, pairs with the acquire
         * exchange in lane_take) and is ordered before the kick of the tail
         * word, against the consumer's idle-then-recheck (mb_try_idle). */
        if (atomic_compare_exchange_weak_explicit(&l->w, &w, tag | (uint64_t)(uintptr_t)e,
                                                  memory_order_seq_cst, memory_order_relaxed))
            return 0;
    }
}

static lane_node *reverse(lane_node *e)
{
    lane_node *out = NULL;
    while (e) {
        lane_node *next = e->next;
        e->next = out;
        out = e;
        e = next;
    }
    return out;
}

lane_node *lane_take(lane *l, uint32_t gen)
{
    /* relaxed pre-check keeps the common empty case free of an RMW. */
    uint64_t w = atomic_load_explicit(&l->w, memory_order_relaxed);
    if ((w & LANE_PTR_MASK) == 0 || (w & LANE_PTR_MASK) == LANE_CLOSED)
        return NULL;
    /* acquire: pairs with the release of lane_push_mpsc's CAS. */
    w = atomic_exchange_explicit(&l->w, lane_tag(gen), memory_order_acquire);
    return reverse((lane_node *)(uintptr_t)(w & LANE_PTR_MASK));
}

lane_node *lane_close(lane *l)
{
    uint64_t w = atomic_load_explicit(&l->w, memory_order_relaxed);
    /* acq_rel: takes the pushes (acquire) and publishes the closed mark. */
    w = atomic_exchange_explicit(&l->w, (w & ~LANE_PTR_MASK) | LANE_CLOSED, memory_order_acq_rel);
    uint64_t ptr = w & LANE_PTR_MASK;
    if (ptr == LANE_CLOSED)
        return NULL;
    return reverse((lane_node *)(uintptr_t)ptr);
}

