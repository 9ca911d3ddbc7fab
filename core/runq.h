/* core/runq.h — a worker's run queue: a bounded SPMC FIFO ring of
 * runnable actors.
 *
 * The owner pushes at the tail (plain release store); the owner and
 * thieves pop at the head with one CAS — FIFO for everyone, so an actor
 * that is requeued after its batch goes behind the others (fairness), and a
 * thief takes the oldest work. A full queue spills to the system injector.
 *
 * Contract: runq_push_owner only on the owning worker; runq_pop_mc from any
 * worker.
 */
#ifndef TROUPE_CORE_RUNQ_H
#define TROUPE_CORE_RUNQ_H

#include "core/common.h"

#define RUNQ_SIZE 256u

struct actor;

typedef struct runq {
    alignas(CACHELINE) _Atomic uint32_t head; /* consumers (CAS) */
    alignas(CACHELINE) _Atomic uint32_t tail; /* owner only */
    _Atomic(struct actor *) buf[RUNQ_SIZE];
} runq;

void runq_init(runq *q);
/* Queued now (a reader's estimate: relaxed loads of both ends). */
static inline uint32_t runq_length(runq *q)
{
    uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint32_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    return t - h <= RUNQ_SIZE ? t - h : 0;
}
/* false when full (the caller spills to the injector). */
bool runq_push_owner(runq *q, struct actor *a);
struct actor *runq_pop_mc(runq *q);
static inline bool runq_empty(runq *q)
{
    /* acquire: pairs with the owner's release of tail. */
    return atomic_load_explicit(&q->head, memory_order_acquire) ==
           atomic_load_explicit(&q->tail, memory_order_acquire);
}

#endif
