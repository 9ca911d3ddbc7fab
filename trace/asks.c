/* trace/asks.c — an ask's CLIENT span covers the wait for its reply: it
 * opens at the send (hook_send, trace/context.c) and waits here, keyed by
 * the ask's id, until core reports the outcome (hooks.trace_reply, from
 * ask_finish or, for a plain thread's ask, after its wait: core/ask.h).
 *
 * A small table under a mutex: only traced asks come here. Bounded: when
 * it is full the oldest span is recorded as it stands (an ask whose
 * outcome core could not report — a timeout that beat its own send — ends
 * so rather than stay forever). */
#include <stdlib.h>
#include <string.h>

#include "core/ask.h"
#include "core/alloc.h"
#include "trace/trace.h"

#define PEND_MAX 256

int asks_pend_init(tracer *t)
{
    t->pend = sys_calloc(PEND_MAX, sizeof *t->pend);
    if (!t->pend)
        return TROUPE_ENOMEM;
    pthread_mutex_init(&t->pend_lock, NULL);
    return 0;
}

void asks_pend_destroy(tracer *t)
{
    if (!t->pend)
        return;
    pthread_mutex_destroy(&t->pend_lock);
    free(t->pend);
    t->pend = NULL;
}

/* Hold r, the CLIENT span of ask `id` (the asker's thread, before the
 * request leaves), and mark the ask's record so that core reports its
 * outcome. */
void asks_pend_open(troupe_system *sys, tracer *t, uint64_t id, const span_rec *r)
{
    ask_rec *rec = id ? ask_lookup(sys, id) : NULL;
    if (!rec) {
        span_push(t, r);
        return;
    }
    span_rec evicted;
    bool evict = false;
    pthread_mutex_lock(&t->pend_lock);
    if (t->npend == PEND_MAX) { /* the oldest goes out as it stands */
        evicted = t->pend[0].r;
        evicted.end_ns = trace_now_ns();
        memmove(t->pend, t->pend + 1, (PEND_MAX - 1) * sizeof *t->pend);
        t->npend--;
        evict = true;
    }
    t->pend[t->npend].id = id;
    t->pend[t->npend].r = *r;
    t->npend++;
    pthread_mutex_unlock(&t->pend_lock);
    /* relaxed: see the field; the request's send publishes it */
    atomic_store_explicit(&rec->traced, 1, memory_order_relaxed);
    if (evict)
        span_push(t, &evicted);
}

/* hooks.trace_reply: ask `id` has its outcome rc; its span ends now. */
void asks_hook_reply(troupe_system *sys, uint64_t id, int rc)
{
    tracer *t = sys->tr;
    if (!t || !t->pend)
        return;
    span_rec r;
    bool found = false;
    pthread_mutex_lock(&t->pend_lock);
    for (uint32_t i = 0; i < t->npend; i++)
        if (t->pend[i].id == id) {
            r = t->pend[i].r;
            memmove(t->pend + i, t->pend + i + 1, (t->npend - i - 1) * sizeof *t->pend);
            t->npend--;
            found = true;
            break;
        }
    pthread_mutex_unlock(&t->pend_lock);
    if (!found)
        return;
    r.end_ns = trace_now_ns();
    if (rc < 0) {
        r.outcome = OUT_FAILED;
        r.code = rc;
        memcpy(r.fail_kind, rc == TROUPE_ETIMEDOUT ? "timeout" : "error",
               rc == TROUPE_ETIMEDOUT ? 8 : 6);
    }
    span_push(t, &r);
}
