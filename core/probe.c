/* core/probe.c — sampled latency stamps and the trace buffer (see
 * core/probe.h for where the stamps come from and where they are met). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ext.h"
#include "core/probe.h"
#include "troupe/probe.h"

#include "troupe_config.h" /* TROUPE_METRICS: the trace times through run.c's sampled branch */

#define STAMP_MAX_NS (3600ull * 1000000000ull) /* a wait longer than this is a stale stamp */

/* What this thread is timing: the stamped message it dispatches
 * (probe_view .. probe_done) and the traced one (probe_trace_start ..). */
static TROUPE_TLS struct {
    const tmsg *m;
    uint64_t t0, wait;
} stamped;
static TROUPE_TLS struct {
    bool on;
    uint32_t type;
    uint64_t sender, t0, wait;
} traced;

/* ---- histograms ------------------------------------------------------------ */

void probe_hist_add(probe_hist *h, uint64_t ns)
{
    int i = ns <= 256 ? 0 : 64 - __builtin_clzll((ns - 1) >> 8);
    if (i > PROBE_BUCKETS - 1)
        i = PROBE_BUCKETS - 1;
    /* relaxed RMW: counters; readers want recent values, not an order */
    atomic_fetch_add_explicit(&h->b[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

uint64_t probe_hist_quantile(const probe_hist *h, double q, uint64_t *count)
{
    uint64_t b[PROBE_BUCKETS], total = 0;
    for (int i = 0; i < PROBE_BUCKETS; i++) /* relaxed: counters */
        total += b[i] = atomic_load_explicit(&h->b[i], memory_order_relaxed);
    if (count)
        *count = total;
    if (!total)
        return 0;
    uint64_t want = (uint64_t)(q * (double)total + 0.999999), seen = 0;
    for (int i = 0; i < PROBE_BUCKETS - 1; i++)
        if ((seen += b[i]) >= want)
            return probe_bound(i);
    return probe_bound(PROBE_BUCKETS - 2) * 2; /* above the last bound */
}

/* ---- the system's table ------------------------------------------------------- */

struct probe_tab *probe_tab_new(void) { return sys_calloc(1, sizeof(struct probe_tab)); }

void probe_tab_free(struct probe_tab *t) { free(t); }

/* The slot of b's type: its own, a free one it claims, or (table full) the
 * last one, which then stands for every later type. */
static probe_type *type_slot(struct probe_tab *t, const troupe_behaviour *b)
{
    size_t h = ((uintptr_t)b >> 4) % PROBE_TYPES;
    for (size_t k = 0; k < PROBE_TYPES; k++) {
        probe_type *p = &t->types[(h + k) % PROBE_TYPES];
        /* acquire: pairs with the claim's release (nothing else to see, but
         * keeps the pair obvious) */
        const troupe_behaviour *cur = atomic_load_explicit(&p->beh, memory_order_acquire);
        if (cur == b)
            return p;
        if (!cur && atomic_compare_exchange_strong_explicit(&p->beh, &cur, b, memory_order_acq_rel,
                                                             memory_order_acquire))
            return p;
        if (cur == b) /* claimed by another thread meanwhile */
            return p;
    }
    return &t->types[PROBE_TYPES - 1];
}

void probe_each_type(troupe_system *sys,
                     void (*fn)(void *ud, const char *type, const probe_hist *wait,
                                const probe_hist *handle),
                     void *ud)
{
    for (size_t i = 0; i < PROBE_TYPES; i++) {
        probe_type *p = &sys->probe->types[i];
        /* acquire: see type_slot */
        const troupe_behaviour *b = atomic_load_explicit(&p->beh, memory_order_acquire);
        if (b)
            fn(ud, b->name ? b->name : "", &p->wait, &p->handle);
    }
}

/* ---- an actor's block ------------------------------------------------------------ */

probe_actor *probe_actor_peek(const actor *a)
{
    actor_ext *x = ext_peek(a);
    /* acquire: pairs with pa_get's release CAS */
    return x ? atomic_load_explicit(&x->probe, memory_order_acquire) : NULL;
}

probe_actor *probe_actor_get(troupe_system *sys, actor *a)
{
    actor_ext *x = ext_get(sys, a);
    if (!x)
        return NULL;
    probe_actor *p = atomic_load_explicit(&x->probe, memory_order_acquire); /* see pa_peek */
    if (p)
        return p;
    probe_actor *fresh = sys_calloc(1, sizeof *fresh);
    if (!fresh)
        return NULL;
    pthread_mutex_init(&fresh->lock, NULL);
    /* acq_rel: release publishes the initialised block; acquire reads a
     * winner's */
    if (atomic_compare_exchange_strong_explicit(&x->probe, &p, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    pthread_mutex_destroy(&fresh->lock);
    free(fresh);
    return p;
}

void probe_actor_free(probe_actor *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->recs);
    free(p);
}

/* ---- stamps ------------------------------------------------------------------------ */

uint64_t probe_wait(const worker *w, const tmsg *m, uint64_t now)
{
    if (!(m->flags_size & MF_STAMP) || m == &w->cur) /* a copy left its slot's pad behind */
        return UINT64_MAX;
    const mb_slot *s = (const mb_slot *)(const void *)((const char *)m - offsetof(mb_slot, m));
    uint64_t at = s->pad;
    if (!at || at > now || now - at > STAMP_MAX_NS) /* a stale flag on a re-sent copy */
        return UINT64_MAX;
    return now - at;
}

void probe_view(const tmsg *m)
{
    troupe_ctx *c = troupei_tls.ctx;
    if (!c || !c->w || c->msg != m)
        return;
    uint64_t now = mono_ns();
    stamped.m = m;
    stamped.t0 = now;
    stamped.wait = probe_wait(c->w, m, now);
}

void probe_done(worker *w, actor *a, const tmsg *m)
{
    if (stamped.m != m)
        return;
    stamped.m = NULL;
    uint64_t handle = mono_ns() - stamped.t0;
    probe_type *t = type_slot(w->sys->probe, a->beh);
    probe_actor *p = probe_actor_get(w->sys, a);
    probe_hist_add(&t->handle, handle);
    if (p)
        probe_hist_add(&p->handle, handle);
    if (stamped.wait != UINT64_MAX) {
        probe_hist_add(&t->wait, stamped.wait);
        if (p)
            probe_hist_add(&p->wait, stamped.wait);
    }
}

/* ---- the trace: the owner's side ------------------------------------------------------ */

/* The trace is over (owner): stamp one message in MB_STAMP_EVERY again. */
static void trace_over(worker *w, actor *a)
{
    a->flags &= (uint16_t)~AF_PROBE;
    mb_stamp_all(&a->mb, false);
#if TROUPE_METRICS
    if (w->lat_tick == 0)
        w->lat_tick = LAT_SAMPLE;
#else
    (void)w;
#endif
}

int probe_serve(worker *w, actor *a, troupe_failure_kind *kind, const char **reason)
{
    (void)kind, (void)reason;
    probe_actor *p = probe_actor_peek(a);
    /* relaxed: a hint; the records are appended under the lock */
    if (!p || !atomic_load_explicit(&p->left, memory_order_relaxed))
        return 0; /* disarmed before we got here */
    a->flags |= AF_PROBE;
    mb_stamp_all(&a->mb, true); /* every message sent from now on carries its send time */
#if TROUPE_METRICS
    w->lat_tick = 0; /* time the next message (run.c, dispatch_timed) */
#else
    (void)w;
#endif
    return 0;
}

void probe_run(worker *w, actor *a)
{
    probe_actor *p = probe_actor_peek(a);
    /* relaxed: see probe_serve */
    if (!p || !atomic_load_explicit(&p->left, memory_order_relaxed)) {
        trace_over(w, a);
        return;
    }
    /* again each run: the ring may have come after probe_serve (senders
     * install it with the first message) */
    mb_stamp_all(&a->mb, true);
#if TROUPE_METRICS
    w->lat_tick = 0; /* every message of this run goes through dispatch_timed's timed branch */
#endif
}

void probe_trace_start(worker *w, const tmsg *m, uint64_t t0)
{
    traced.on = true;
    traced.type = m->type;
    traced.sender = m->sender;
    traced.t0 = t0;
    traced.wait = probe_wait(w, m, t0);
}

/* Append one record (owner); the last one ends the trace. */
static void trace_append(worker *w, actor *a, bool ok, troupe_failure_kind kind, uint64_t t1)
{
    probe_actor *p = probe_actor_peek(a);
    if (!traced.on || !p)
        return;
    traced.on = false;
    pthread_mutex_lock(&p->lock);
    uint32_t left = atomic_load_explicit(&p->left, memory_order_relaxed); /* under lock */
    if (left && p->n < p->cap) {
        p->recs[p->n++] = (troupe_trace_record){
            .type = traced.type,
            .ok = ok,
            .kind = kind,
            .sender = {traced.sender},
            .at_ns = traced.t0,
            .wait_ns = traced.wait == UINT64_MAX ? -1 : (int64_t)traced.wait,
            .handle_ns = t1 - traced.t0};
        atomic_store_explicit(&p->left, left - 1, memory_order_relaxed); /* under lock */
        if (left == 1) /* relaxed: a count of armed traces, checked under each actor's lock */
            atomic_fetch_sub_explicit(&w->sys->probe->armed, 1, memory_order_relaxed);
    }
    left = atomic_load_explicit(&p->left, memory_order_relaxed);
    pthread_mutex_unlock(&p->lock);
    if (!left) {
        trace_over(w, a);
        return;
    }
    /* and again here: the ring may have come during the run that served
     * the arming signal (no probe_run since) */
    mb_stamp_all(&a->mb, true);
#if TROUPE_METRICS
    w->lat_tick = 0; /* and the next message too */
#endif
}

void probe_traced(worker *w, actor *a, uint64_t t1)
{
    trace_append(w, a, true, TROUPE_EXIT_NORMAL, t1);
}

void probe_failed(worker *w, actor *a, troupe_failure_kind kind)
{
    trace_append(w, a, false, kind, mono_ns());
}
