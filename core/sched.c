/* core/sched.c — the workers: where runnable actors wait, who runs them,
 * stealing, spinning and parking.
 *
 * Where a runnable actor goes (sched_actor):
 *   - sent to by an actor: the sender's worker, in its LIFO slot — it runs
 *     right after the sender's run, on a warm cache (a request/response
 *     chain stays on one core); the slot's previous occupant moves to the
 *     worker's FIFO run queue, where idle workers may steal it;
 *   - sent to by a plain thread (or the timer thread): the injector.
 * A worker takes, in order: its LIFO slot (at most LIFO_STREAK times in a
 * row, for fairness), the injector every 61st time, its run queue, the
 * injector, then steals one actor from the nearest victim. With nothing to
 * do it spins for cfg.spin_ns, then parks on a futex: a parked worker costs
 * no CPU.
 *
 * Waking (the rule: while there is runnable work that no awake worker will
 * take, a parked worker is woken). Whoever makes work stealable wakes one
 * parked worker unless one is *searching*: spinning, or just back from park
 * (it searches first, past the limit on spinners). That skip hands the
 * duty to the searchers: a searcher that gives up parks, and parking
 * re-checks every queue; the last searcher that finds work wakes a parked
 * worker if work is still visible (Go's and Tokio's rule), which then
 * searches in its turn — one wake-up per runnable actor, in a chain. An
 * actor in a worker's LIFO slot is not stealable: it waits for that
 * worker (the stall watchdog reports it when the worker is stuck).
 */
#include <stdlib.h>

#include "core/system.h"
#include "core/topo.h"

#define LIFO_STREAK 32
#define INJECT_EVERY 61

TROUPE_TLS tls_state troupei_tls;

/* The LIFO slot, owner only. relaxed: no other thread takes it; the stall
 * watchdog only samples it. */
static inline actor *lifo_get(worker *w)
{
    return atomic_load_explicit(&w->lifo, memory_order_relaxed);
}

static inline void lifo_set(worker *w, actor *a)
{
    TR_ASSERT(w == troupei_tls.w);
    atomic_store_explicit(&w->lifo, a, memory_order_relaxed);
}

void pool_notify(pool *p);
static inline bool not_for_runq(worker *w, actor *a);

static void push_local(worker *w, actor *a)
{
    TR_ASSERT(w == troupei_tls.w); /* runq_push_owner: the owning worker only */
    if (not_for_runq(w, a) || !runq_push_owner(&w->q, a)) {
        sched_place(w->sys, a);
        return;
    }
    pool_notify(w->pool);
}

void pool_notify(pool *p)
{
    /* seq_cst fence: the push before it and the load of n_parked after it
     * against the parker's seq_cst increment then re-check (park()). */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&p->n_parked, memory_order_relaxed) == 0)
        goto none;
    /* a searcher takes the work or passes the duty on (search_end, park) */
    if (atomic_load_explicit(&p->n_spinning, memory_order_relaxed) > 0)
        return;
    /* acquire: a started worker's slot is set up (pool_maybe_grow) */
    uint32_t n = atomic_load_explicit(&p->nstarted, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++) {
        worker *w = &p->sys->workers[p->first + i];
        uint32_t one = 1;
        /* acq_rel: claims the wake-up so that exactly one waker counts it. */
        if (atomic_compare_exchange_strong_explicit(&w->parked, &one, 0, memory_order_acq_rel,
                                                    memory_order_relaxed)) {
            atomic_fetch_sub_explicit(&p->n_parked, 1, memory_order_relaxed);
            futex_wake_u32(&w->parked, 1);
            return;
        }
    }
none:
    if (unlikely(p->blocking)) /* nobody to wake: maybe one more worker */
        pool_maybe_grow(p);
}

void sched_notify(troupe_system *sys)
{
    for (uint32_t k = 0; k < sys->npools; k++)
        pool_notify(&sys->pools[k]);
}

/* An actor this worker may not keep in its run queue (another pool's, or
 * pinned: to its inbox even when pinned here, so that no thief takes it). */
static inline bool not_for_runq(worker *w, actor *a)
{
    return unlikely(a->flags & AF_PLACED) && (!placed_here(w, a) || sched_pinned(a));
}

void sched_inject(troupe_system *sys, actor *a)
{
    worker *w = troupei_tls.w;
    /* another pool's worker keeps its own pool's actors (a blocking pool's
     * in its run queue, where an idle worker can take them while this one
     * is held by its handler) */
    if (w && w->sys == sys && !w->caller && placed_here(w, a)) {
        if (!w->pool->blocking && !sched_pinned(a) && !lifo_get(w)) {
            lifo_set(w, a);
            return;
        }
        push_local(w, a);
        return;
    }
    sched_place(sys, a);
}

void sched_inject_list(troupe_system *sys, actor *head, actor *tail, uint32_t n)
{
    if (!n)
        return;
    bool placed = false;
    for (actor *a = head;; a = a->next) {
        placed |= (a->flags & AF_PLACED) != 0;
        if (a == tail)
            break;
    }
    if (placed && !sys->manual) { /* one by one, each to its place */
        for (actor *a = head, *next; a; a = next) {
            next = a == tail ? NULL : a->next;
            sched_place(sys, a);
        }
        return;
    }
    pool *p = &sys->pools[0];
    injq_push(&p->inj, head, tail, n);
    for (uint32_t i = 0; i < n && i < p->n; i++)
        pool_notify(p); /* one parked worker each, while there are some */
}


void sched_actor(troupe_system *sys, actor *a)
{
    worker *w = troupei_tls.w;
    if (w && troupei_tls.sys == sys) {
        actor *prev = lifo_get(w);
        lifo_set(w, a);
        if (unlikely(prev))
            push_local(w, prev);
        return;
    }
    sched_inject(sys, a);
}

/* A runnable actor that should not wait behind this worker's current work
 * (a sender released from BLOCK: it will produce, let an idle worker take
 * it): the run queue, where it can be stolen, and a wake-up. */
void sched_actor_spread(troupe_system *sys, actor *a)
{
    worker *w = troupei_tls.w;
    if (w && troupei_tls.sys == sys)
        push_local(w, a);
    else
        sched_inject(sys, a);
}

/* Requeue after a batch: behind the others, stealable. With nobody else
 * waiting here it just runs again next: no other worker is woken to steal
 * it (which would cost a wake-up and move it off its warm cache). A plain
 * thread that ran the actor for its ask hands it to the workers. */
void sched_requeue(worker *w, actor *a)
{
    if (unlikely(w->caller)) { /* a plain thread's run (core/call.c): no queue */
        sched_place(w->sys, a);
        return;
    }
    if (!lifo_get(w) && runq_empty(&w->q) &&
        !atomic_load_explicit(&w->pool->inj.len, memory_order_relaxed)) {
        lifo_set(w, a);
        return;
    }
    push_local(w, a);
}

/* Stealing stays within the pool: the victims are its workers (topo_plan). */
static actor *steal(worker *w)
{
    troupe_system *sys = w->sys;
    for (uint32_t i = 0; i < w->nvictims; i++) {
        actor *a = runq_pop_mc(&sys->workers[w->victims[i]].q);
        if (a) {
            atomic_fetch_add_explicit(&w->steals, 1, memory_order_relaxed);
            return a;
        }
    }
    return NULL;
}

static actor *find_work(worker *w)
{
    actor *a = lifo_get(w);
    if (a) {
        lifo_set(w, NULL);
        if (w->lifo_streak++ < LIFO_STREAK)
            return a;
        /* Fairness: after a streak, others waiting here go first. With
         * nobody waiting the chain keeps its core (no wake-ups for it). */
        if (runq_empty(&w->q) && !atomic_load_explicit(&w->pool->inj.len, memory_order_relaxed)) {
            w->lifo_streak = 0;
            return a;
        }
        push_local(w, a);
    }
    w->lifo_streak = 0;
    injq *inj = &w->pool->inj;
    if (++w->tick % INJECT_EVERY == 0 && (a = injq_pop(inj)))
        return a;
    /* relaxed: a hint, as injq.len's (the pinned: this worker's alone) */
    if (atomic_load_explicit(&w->pin.len, memory_order_relaxed) && (a = injq_pop(&w->pin)))
        return a;
    if ((a = runq_pop_mc(&w->q)))
        return a;
    if ((a = injq_pop(inj)))
        return a;
    return steal(w);
}

static bool work_visible(pool *p)
{
    if (atomic_load_explicit(&p->inj.len, memory_order_relaxed))
        return true;
    for (uint32_t i = p->first; i < p->first + p->n; i++)
        if (!runq_empty(&p->sys->workers[i].q))
            return true;
    return false;
}

/* Become a searcher: counted in n_spinning, which makes notifiers skip
 * their wake-up. A worker back from park must search (see park); an idle
 * one only while at most half the workers (at least one) search. */
static bool search_begin(pool *sys, bool woken)
{
    /* relaxed: a count; the skip it causes is made safe by search_end's
     * fence, not by this increment's order */
    if (woken) {
        atomic_fetch_add_explicit(&sys->n_spinning, 1, memory_order_relaxed);
        return true;
    }
    uint32_t s = atomic_load_explicit(&sys->n_spinning, memory_order_relaxed);
    do {
        if (s >= (atomic_load_explicit(&sys->nstarted, memory_order_relaxed) + 1) / 2)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&sys->n_spinning, &s, s + 1,
                                                    memory_order_relaxed, memory_order_relaxed));
    return true;
}

/* Stop searching. The last searcher that found work passes the duty on:
 * notifiers skipped their wake-up while it searched, and what they queued
 * may still wait, so a parked worker is woken for it. */
static void search_end(pool *sys, bool found)
{
    /* seq_cst RMW before the loads of work_visible, against sched_notify's
     * push, fence, load of n_spinning (store buffering, as park() does with
     * n_parked): either the notifier sees the count drop and wakes, or we
     * see its work below. */
    uint32_t was = atomic_fetch_sub_explicit(&sys->n_spinning, 1, memory_order_seq_cst);
    if (!found || was != 1)
        return; /* a quitter parks, and parking re-checks (park) */
    if (work_visible(sys))
        pool_notify(sys);
}

static actor *spin(worker *w, bool woken)
{
    pool *p = w->pool;
    if (!search_begin(p, woken))
        return NULL;
    actor *a = NULL;
    bool starved = adapt_starved(&w->ad); /* core/adapt.h: yield, shorter */
    uint64_t until = mono_ns() + (starved ? p->spin_ns / 8 : p->spin_ns);
    while (!atomic_load_explicit(&w->sys->stopping, memory_order_relaxed)) {
        if ((a = find_work(w)) || mono_ns() >= until)
            break;
        if (starved)
            sched_yield();
        else
            for (int i = 0; i < 32; i++)
                cpu_relax();
    }
    adapt_check(w);
    search_end(p, a != NULL);
    return a;
}

static void unpark_self(pool *p, worker *w)
{
    /* acq_rel: if a waker already claimed us it also decremented. */
    if (atomic_exchange_explicit(&w->parked, 0, memory_order_acq_rel) == 1)
        atomic_fetch_sub_explicit(&p->n_parked, 1, memory_order_relaxed);
}

/* Park until woken. The caller then searches: a waker relies on it, and a
 * re-check that finds work may have found what notifiers skipped for a
 * searcher that gave up meanwhile (more than one actor, maybe). */
static void park(worker *w)
{
    troupe_system *sys = w->sys;
    pool *p = w->pool;
    /* seq_cst: against pin_wake's seq_cst RMW of pin.len and CAS of parked */
    atomic_store_explicit(&w->parked, 1, memory_order_seq_cst);
    /* seq_cst: against pool_notify's fence (push, fence, load n_parked). */
    atomic_fetch_add_explicit(&p->n_parked, 1, memory_order_seq_cst);
    if (!work_visible(p) && !atomic_load_explicit(&w->pin.len, memory_order_seq_cst) &&
        !atomic_load_explicit(&sys->stopping, memory_order_seq_cst)) {
        atomic_fetch_add_explicit(&w->parks, 1, memory_order_relaxed);
        /* acquire: pairs with the waker's acq_rel CAS. */
        while (atomic_load_explicit(&w->parked, memory_order_acquire) == 1 &&
               !atomic_load_explicit(&sys->stopping, memory_order_acquire))
            futex_wait_u32(&w->parked, 1, 0);
    }
    unpark_self(p, w);
}

/* A blocking pool's worker about to run a handler that may block: if work
 * still waits and nobody idle will take it, one more worker. */
static void before_blocking_run(pool *p)
{
    if (work_visible(p) && !atomic_load_explicit(&p->n_parked, memory_order_relaxed) &&
        !atomic_load_explicit(&p->n_spinning, memory_order_relaxed))
        pool_maybe_grow(p);
}

void *sched_worker_main(void *arg)
{
    worker *w = arg;
    troupe_system *sys = w->sys;
    /* only the default pool's workers take any actor into their LIFO slot
     * (tls_state.sys; core/pool.c) */
    troupei_tls.sys = w->pool->index == 0 ? sys : NULL;
    troupei_tls.w = w;
    topo_bind_self(w);
    adapt_mark(w);
    bool woken = false; /* back from park: search before anything */
    while (!atomic_load_explicit(&sys->stopping, memory_order_acquire)) {
        actor *a = woken ? NULL : find_work(w);
        if (!a && !(a = spin(w, woken))) {
            park(w);
            adapt_mark(w); /* asleep is not starved */
            woken = true;
            continue;
        }
        woken = false;
        if (unlikely((atomic_fetch_add_explicit(&w->runs, 1, memory_order_relaxed) &
                      (ADAPT_RUNS - 1)) == ADAPT_RUNS - 1))
            adapt_check(w);
        /* relaxed: read by the stall watchdog only, as a sample */
        atomic_store_explicit(&w->running, ref_make(sys, a->index, a->gen).id, memory_order_relaxed);
        if (unlikely(w->pool->blocking))
            before_blocking_run(w->pool);
        run_actor(w, a);
        atomic_store_explicit(&w->running, 0, memory_order_relaxed);
    }
    troupei_tls.sys = NULL;
    troupei_tls.w = NULL;
    return NULL;
}

int sched_start(troupe_system *sys)
{
    if (sys->manual) /* test mode: the kit's thread runs the injector (runtime/testkit.c) */
        return 0;
    return pools_start(sys);
}

void sched_stop(troupe_system *sys)
{
    /* release: workers observe it with acquire and exit their loops. */
    atomic_store_explicit(&sys->stopping, true, memory_order_seq_cst);
    for (uint32_t k = 0; k < sys->npools; k++) { /* no worker is started from here on */
        pthread_mutex_lock(&sys->pools[k].grow_lock);
        pthread_mutex_unlock(&sys->pools[k].grow_lock);
    }
    for (uint32_t i = 0; i < sys->nworkers; i++) {
        worker *w = &sys->workers[i];
        atomic_store_explicit(&w->parked, 0, memory_order_release);
        futex_wake_u32(&w->parked, 1);
    }
    for (uint32_t i = 0; i < sys->nworkers; i++)
        if (sys->workers[i].started)
            pthread_join(sys->workers[i].thread, NULL);
}
