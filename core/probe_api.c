/* core/probe_api.c — the public side of core/probe.h: an actor's latency,
 * and arming, reading and disarming its trace. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ext.h"
#include "core/probe.h"
#include "troupe/probe.h"

#include "troupe_config.h" /* TROUPE_METRICS */

/* The running incarnation of ref's actor, or NULL (stopped or stale). */
static actor *live_actor(troupe_system *sys, troupe_ref ref)
{
    actor *a = actor_lookup(sys, ref);
    /* acquire: the tail word publishes the incarnation (mb_open) */
    uint64_t t = a ? atomic_load_explicit(&a->mb.tail, memory_order_acquire) : 0;
    return a && tw_gen(t) == ref_gen(ref) && !(t & TW_CLOSED) ? a : NULL;
}

static uint64_t hist_avg(const probe_hist *h, uint64_t n)
{
    /* relaxed: a counter */
    return n ? atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / n : 0;
}

TROUPE_API int troupe_actor_latency_get(troupe_system *sys, troupe_ref ref, troupe_latency_info *out)
{
    if (!sys || !out)
        return TROUPE_EINVAL;
    memset(out, 0, sizeof *out);
    actor *a = live_actor(sys, ref);
    if (!a)
        return TROUPE_ENOACTOR;
    probe_actor *p = probe_actor_peek(a);
    if (!p)
        return 0;
    uint64_t nw, nh;
    out->wait_p50_ns = probe_hist_quantile(&p->wait, 0.50, &nw);
    out->wait_p99_ns = probe_hist_quantile(&p->wait, 0.99, NULL);
    out->wait_avg_ns = hist_avg(&p->wait, nw);
    out->handle_p50_ns = probe_hist_quantile(&p->handle, 0.50, &nh);
    out->handle_p99_ns = probe_hist_quantile(&p->handle, 0.99, NULL);
    out->handle_avg_ns = hist_avg(&p->handle, nh);
    out->samples = nh;
    return 0;
}

/* Take one of the TROUPE_TRACE_ACTORS armed places (p->lock held, p not
 * armed). */
static int take_place(troupe_system *sys)
{
    /* relaxed: a bounded count; each actor's armed state is under its lock */
    uint32_t k = atomic_load_explicit(&sys->probe->armed, memory_order_relaxed);
    do {
        if (k >= TROUPE_TRACE_ACTORS)
            return TROUPE_EBUSY;
    } while (!atomic_compare_exchange_weak_explicit(&sys->probe->armed, &k, k + 1,
                                                    memory_order_relaxed, memory_order_relaxed));
    return 0;
}

/* Disarm p (its lock held): give its place back. */
static void disarm_locked(troupe_system *sys, probe_actor *p)
{
    if (atomic_load_explicit(&p->left, memory_order_relaxed)) { /* under lock */
        atomic_store_explicit(&p->left, 0, memory_order_relaxed);
        atomic_fetch_sub_explicit(&sys->probe->armed, 1, memory_order_relaxed); /* see take_place */
    }
}

TROUPE_API int troupe_trace_arm(troupe_system *sys, troupe_ref ref, uint32_t count)
{
    if (!sys || count == 0 || count > TROUPE_TRACE_MAX)
        return TROUPE_EINVAL;
    if (!TROUPE_METRICS)
        return TROUPE_ENOTSUP;
    actor *a = live_actor(sys, ref);
    if (!a)
        return TROUPE_ENOACTOR;
    probe_actor *p = probe_actor_get(sys, a);
    troupe_trace_record *recs = p ? sys_calloc(count, sizeof *recs) : NULL;
    if (!recs)
        return TROUPE_ENOMEM;
    pthread_mutex_lock(&p->lock);
    /* relaxed: under lock */
    int rc = atomic_load_explicit(&p->left, memory_order_relaxed) ? 0 : take_place(sys);
    if (rc == 0) {
        free(p->recs);
        p->recs = recs;
        p->cap = count;
        p->n = 0;
        p->gen = ref_gen(ref);
        atomic_store_explicit(&p->left, count, memory_order_relaxed); /* under lock */
    }
    pthread_mutex_unlock(&p->lock);
    if (rc < 0) {
        free(recs);
        return rc;
    }
    /* The owner sets AF_PROBE when it serves this (its flags are its own). */
    tmsg m = {.type = SYSMSG_PROBE};
    rc = send_sys(sys, ref, &m);
    if (rc < 0) {
        pthread_mutex_lock(&p->lock);
        disarm_locked(sys, p);
        pthread_mutex_unlock(&p->lock);
    }
    return rc;
}

TROUPE_API int troupe_trace_read(troupe_system *sys, troupe_ref ref, troupe_trace_record *out,
                                 size_t cap, size_t *n, uint32_t *left)
{
    if (!sys || !n || (!out && cap))
        return TROUPE_EINVAL;
    *n = 0;
    if (left)
        *left = 0;
    actor *a = actor_lookup(sys, ref);
    if (!a)
        return TROUPE_ENOACTOR;
    probe_actor *p = probe_actor_peek(a);
    if (!p)
        return TROUPE_ENOTFOUND;
    pthread_mutex_lock(&p->lock);
    int rc = p->recs && p->gen == ref_gen(ref) ? 0 : TROUPE_ENOTFOUND;
    size_t k = p->n < cap ? p->n : cap;
    if (rc == 0 && k)
        memcpy(out, p->recs, k * sizeof *out);
    *n = rc == 0 ? p->n : 0;
    if (left) /* relaxed: under lock */
        *left = atomic_load_explicit(&p->left, memory_order_relaxed);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

TROUPE_API int troupe_trace_disarm(troupe_system *sys, troupe_ref ref)
{
    if (!sys)
        return TROUPE_EINVAL;
    actor *a = actor_lookup(sys, ref);
    if (!a)
        return TROUPE_ENOACTOR;
    probe_actor *p = probe_actor_peek(a);
    if (!p)
        return TROUPE_ENOTFOUND;
    pthread_mutex_lock(&p->lock);
    int rc = p->recs && p->gen == ref_gen(ref) ? 0 : TROUPE_ENOTFOUND;
    if (rc < 0) { /* another incarnation's trace is not this ref's to stop */
        pthread_mutex_unlock(&p->lock);
        return rc;
    }
    disarm_locked(sys, p); /* the owner's next run clears AF_PROBE (probe_run) */
    free(p->recs);
    p->recs = NULL;
    p->n = p->cap = 0;
    pthread_mutex_unlock(&p->lock);
    return rc;
}
