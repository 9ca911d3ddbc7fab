/* trace/queue.c — the bounded queue of finished spans: many producers (any
 * thread that ends a span), one consumer (the exporter). Dmitry Vyukov's
 * bounded queue: a producer claims a cell with one CAS on tail, copies its
 * span in and publishes the cell's sequence; a full queue drops the span
 * and counts it — a worker never waits for the exporter. */
#include <string.h>

#include "trace/trace.h"

bool span_push(tracer *t, const span_rec *r)
{
    if (!t->cells) /* not enabled: nowhere to go */
        return false;
    /* relaxed: the CAS below decides; the cell's seq orders the data */
    uint64_t pos = atomic_load_explicit(&t->tail, memory_order_relaxed);
    for (;;) {
        span_cell *c = &t->cells[pos & t->mask];
        /* acquire: pairs with the consumer's release of the cell */
        uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        int64_t d = (int64_t)(seq - pos);
        if (d == 0) {
            /* relaxed: claiming the position; the data is published by
             * the release store of seq below */
            if (atomic_compare_exchange_weak_explicit(&t->tail, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed)) {
                c->r = *r;
                /* release: the span's bytes before the consumer sees it */
                atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
                return true;
            }
        } else if (d < 0) {
            /* relaxed: a counter */
            atomic_fetch_add_explicit(&t->dropped_queue, 1, memory_order_relaxed);
            return false;
        } else {
            pos = atomic_load_explicit(&t->tail, memory_order_relaxed);
        }
    }
}

bool span_pop(tracer *t, span_rec *r)
{
    /* relaxed: the exporter alone moves head */
    uint64_t pos = atomic_load_explicit(&t->head, memory_order_relaxed);
    span_cell *c = &t->cells[pos & t->mask];
    /* acquire: pairs with span_push's release of the cell */
    if (atomic_load_explicit(&c->seq, memory_order_acquire) != pos + 1)
        return false;
    *r = c->r;
    /* release: our read of the span before a producer reuses the cell */
    atomic_store_explicit(&c->seq, pos + t->mask + 1, memory_order_release);
    atomic_store_explicit(&t->head, pos + 1, memory_order_relaxed);
    return true;
}

uint64_t span_queued(tracer *t)
{
    /* relaxed: an estimate for the metrics and the exporter's size limit */
    uint64_t tl = atomic_load_explicit(&t->tail, memory_order_relaxed);
    uint64_t hd = atomic_load_explicit(&t->head, memory_order_relaxed);
    return tl > hd ? tl - hd : 0;
}
