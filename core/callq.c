/* core/callq.c — calls from plain threads and event loops that return at
 * once (troupe/async.h): by callback (troupe_ask_cb) or through a call
 * queue (troupe_ask_start and the troupe_call_* handles).
 *
 * A call is an ask record (core/ask.h) in mode AM_CB or AM_CALLQ; its
 * handle is the ask id. A queue's completed calls keep their outcome in the
 * record until released. With TROUPE_CALLQ_FD the completer also pushes the
 * record on the queue's completion stack (one CAS, an index link in the
 * record) and writes the eventfd when the stack was empty; the consumer
 * clears the fd and takes the whole stack with one exchange (no ABA: only
 * it pops), so a non-empty stack always has a write after the last clear.
 *
 * Lifetimes: `inflight` counts the calls whose completion may still touch
 * the queue (troupe_callq_destroy waits for it); `users` the API calls in
 * progress, with Q_GONE set by the system's destroy, which waits for them
 * and then frees the records: a queue outlives its system and answers
 * TROUPE_ESHUTDOWN from then on.
 */
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/ask.h"

#define Q_GONE 0x80000000u

struct troupe_callq {
    troupe_system *sys; /* not to be touched once users has Q_GONE */
    int fd;             /* eventfd (TROUPE_CALLQ_FD), else -1 */
    bool run_here;      /* TROUPE_CALLQ_RUN_HERE */
    _Atomic uint32_t users;    /* futex word: API calls in progress | Q_GONE */
    _Atomic uint32_t inflight; /* futex word: calls not yet completed */
    troupe_callq *prev, *next; /* the system's queues, under ak->qlock */
    pthread_mutex_t lock;      /* the consumer's side: local, releases */
    uint32_t local;            /* taken from the stack, in completion order */
    alignas(CACHELINE) _Atomic uint32_t done; /* completion stack: head index */
};

/* ---- lifetimes ----------------------------------------------------------- */

static int q_enter(troupe_callq *q)
{
    /* acquire: pairs with the detach's fetch_or (a GONE seen means the
     * system's records may be going: touch nothing) */
    if (atomic_fetch_add_explicit(&q->users, 1, memory_order_acquire) & Q_GONE) {
        atomic_fetch_sub_explicit(&q->users, 1, memory_order_release);
        return TROUPE_ESHUTDOWN;
    }
    return 0;
}

static int q_leave(troupe_callq *q, int rc)
{
    /* release: our record accesses before the detach's wait sees zero */
    if (atomic_fetch_sub_explicit(&q->users, 1, memory_order_release) == (Q_GONE | 1u))
        futex_wake_u32(&q->users, INT_MAX);
    return rc;
}

/* inflight's top bit: troupe_callq_destroy waits for the count to reach
 * zero. Only then does the last completion pay for a wake-up: without the
 * bit every call that emptied the queue made a futex system call (a fifth
 * of a TROUPE_CALLQ_RUN_HERE call's time, each call completing before the
 * next started). */
#define Q_WAITER 0x80000000u

static void inflight_put(troupe_callq *q)
{
    /* release: the completer's last touch of q before destroy frees it
     * (pairs with wait_inflight's acquire loads) */
    if (atomic_fetch_sub_explicit(&q->inflight, 1, memory_order_release) == (Q_WAITER | 1u))
        futex_wake_u32(&q->inflight, INT_MAX);
}

/* Wait for a futex word's bits under mask to reach zero. */
static void wait_zero(_Atomic uint32_t *w, uint32_t mask)
{
    uint32_t v;
    /* acquire: pairs with the release decrements */
    while ((v = atomic_load_explicit(w, memory_order_acquire)) & mask)
        futex_wait_u32(w, v, 0);
}

/* Wait for every completion still on its way (announced by Q_WAITER: a
 * completion that ends the count after the announcement wakes us, one that
 * ended it before is seen by the next load). */
static void wait_inflight(troupe_callq *q)
{
    uint32_t v;
    /* acquire: pairs with inflight_put's release decrement */
    while ((v = atomic_load_explicit(&q->inflight, memory_order_acquire)) & ~Q_WAITER) {
        /* relaxed: only the announcement; a failed CAS reloads */
        if (!(v & Q_WAITER) &&
            !atomic_compare_exchange_weak_explicit(&q->inflight, &v, v | Q_WAITER,
                                                   memory_order_relaxed, memory_order_relaxed))
            continue;
        futex_wait_u32(&q->inflight, v | Q_WAITER, 0);
    }
}

void callq_detach_all(troupe_system *sys)
{
    pthread_mutex_lock(&sys->ak->qlock);
    for (troupe_callq *q = sys->ak->qs; q; q = q->next) {
        /* acq_rel: new API calls see GONE; we see what earlier ones did */
        atomic_fetch_or_explicit(&q->users, Q_GONE, memory_order_acq_rel);
        wait_zero(&q->users, ~Q_GONE);
        if (q->fd >= 0) { /* a loop waiting on the fd learns it at once */
            uint64_t one = 1;
            (void)!write(q->fd, &one, sizeof one);
        }
    }
    sys->ak->qs = NULL;
    pthread_mutex_unlock(&sys->ak->qlock);
}

/* ---- completion ---------------------------------------------------------- */

static void list_push(troupe_callq *q, ask_rec *r, uint32_t idx)
{
    uint32_t head = atomic_load_explicit(&q->done, memory_order_relaxed);
    do
        r->next = head;
    /* release: the record (outcome, link) before the consumer's exchange */
    while (!atomic_compare_exchange_weak_explicit(&q->done, &head, idx, memory_order_release,
                                                  memory_order_relaxed));
    if (head == 0) {
        uint64_t one = 1;
        (void)!write(q->fd, &one, sizeof one);
    }
}

void callq_done(ask_rec *r, uint64_t id)
{
    troupe_callq *q = atomic_load_explicit(&r->q, memory_order_relaxed);
    bool list = q->fd >= 0;
    if (list) /* before DONE: a release from now on leaves it to the list */
        atomic_store_explicit(&r->qf, QF_LISTED, memory_order_relaxed);
    /* acq_rel: 2 = a waiter sleeps (call_wait's CAS) */
    uint32_t old = atomic_exchange_explicit(&r->fut, 1, memory_order_acq_rel);
    /* release: the outcome before DONE (poll, wait, result, release);
     * from here the owner may free an unlisted record */
    atomic_store_explicit(&r->st, st_make((uint32_t)(id >> 32), A_DONE), memory_order_release);
    if (old == 2) /* a spurious wake at worst, should the record be reused */
        futex_wake_u32(&r->fut, INT_MAX);
    if (list)
        list_push(q, r, (uint32_t)id);
    inflight_put(q);
}

/* ---- queues -------------------------------------------------------------- */

TROUPE_API int troupe_callq_create(troupe_system *sys, uint32_t flags, troupe_callq **out)
{
    if (!out)
        return TROUPE_EINVAL;
    *out = NULL;
    if (!sys || (flags & ~(TROUPE_CALLQ_FD | TROUPE_CALLQ_RUN_HERE)))
        return TROUPE_EINVAL;
    if (atomic_load_explicit(&sys->state, memory_order_acquire) == SYS_DOWN)
        return TROUPE_ESHUTDOWN;
    troupe_callq *q = sys_calloc(1, sizeof *q);
    if (!q)
        return TROUPE_ENOMEM;
    q->sys = sys;
    q->fd = -1;
    q->run_here = flags & TROUPE_CALLQ_RUN_HERE;
    if ((flags & TROUPE_CALLQ_FD) && (q->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        free(q);
        return TROUPE_ESYS;
    }
    pthread_mutex_init(&q->lock, NULL);
    pthread_mutex_lock(&sys->ak->qlock);
    q->next = sys->ak->qs;
    if (q->next)
        q->next->prev = q;
    sys->ak->qs = q;
    pthread_mutex_unlock(&sys->ak->qlock);
    *out = q;
    return 0;
}

TROUPE_API int troupe_callq_fd(const troupe_callq *q)
{
    if (!q)
        return TROUPE_EINVAL;
    return q->fd >= 0 ? q->fd : TROUPE_ENOTSUP;
}

/* The record of a live call of q (not released), its state word in *st. */
static ask_rec *call_get(troupe_callq *q, troupe_call_id c, uint64_t *st)
{
    ask_rec *r = c.id ? ask_lookup(q->sys, c.id) : NULL;
    if (!r)
        return NULL;
    /* acquire: pairs with ask_new's and callq_done's release stores */
    *st = atomic_load_explicit(&r->st, memory_order_acquire);
    uint32_t s = st_state(*st);
    if (st_gen(*st) != (uint32_t)(c.id >> 32) || s == A_FREE || r->mode != AM_CALLQ ||
        atomic_load_explicit(&r->q, memory_order_relaxed) != q ||
        (atomic_load_explicit(&r->qf, memory_order_relaxed) & QF_RELEASED))
        return NULL;
    return r;
}

/* A completed record goes: its reply, then the slot. */
static void rec_drop(troupe_system *sys, ask_rec *r, uint64_t id)
{
    if (r->rc == 0)
        tmsg_destroy(sys, &r->reply);
    ask_free(sys, r, id);
}

/* Under q->lock: release r (any state but FREE). */
static void release_locked(troupe_callq *q, ask_rec *r, uint64_t id)
{
    troupe_system *sys = q->sys;
    if (ask_claim(r, id)) { /* in flight: cancel it */
        if (r->timer.id)
            troupe_timer_cancel(sys, r->timer);
        ask_free(sys, r, id);
        inflight_put(q);
        return;
    }
    /* acquire: pairs with callq_done's release (a completer mid-way) */
    while (st_state(atomic_load_explicit(&r->st, memory_order_acquire)) != A_DONE)
        sched_yield();
    uint32_t qf = atomic_load_explicit(&r->qf, memory_order_relaxed);
    if (qf & QF_LISTED) /* the list still has it: its taker frees it */
        atomic_store_explicit(&r->qf, qf | QF_RELEASED, memory_order_relaxed);
    else
        rec_drop(sys, r, id);
}

TROUPE_API int troupe_call_release(troupe_callq *q, troupe_call_id call)
{
    if (!q)
        return TROUPE_EINVAL;
    int rc = q_enter(q);
    if (rc)
        return rc == TROUPE_ESHUTDOWN ? TROUPE_ENOTFOUND : rc;
    pthread_mutex_lock(&q->lock);
    uint64_t st;
    ask_rec *r = call_get(q, call, &st);
    if (r)
        release_locked(q, r, call.id);
    pthread_mutex_unlock(&q->lock);
    return q_leave(q, r ? 0 : TROUPE_ENOTFOUND);
}

/* Take the stack (after clearing the fd), reversed into completion order. */
static void take_stack(troupe_callq *q)
{
    uint64_t v;
    (void)!read(q->fd, &v, sizeof v); /* EAGAIN when nothing was signalled */
    /* acquire: pairs with list_push's release CAS */
    uint32_t head = atomic_exchange_explicit(&q->done, 0, memory_order_acquire), prev = 0;
    while (head) {
        ask_rec *r = ask_lookup(q->sys, head);
        uint32_t n = r->next;
        r->next = prev;
        prev = head;
        head = n;
    }
    q->local = prev;
}

TROUPE_API int troupe_callq_next(troupe_callq *q, troupe_call_id *out, void **ud)
{
    if (!q || !out)
        return TROUPE_EINVAL;
    out->id = 0;
    if (q->fd < 0)
        return TROUPE_ENOTSUP;
    int rc = q_enter(q);
    if (rc)
        return rc;
    pthread_mutex_lock(&q->lock);
    if (!q->local)
        take_stack(q);
    rc = TROUPE_EBUSY;
    while (q->local && rc) {
        uint32_t idx = q->local;
        ask_rec *r = ask_lookup(q->sys, idx);
        q->local = r->next;
        uint64_t id = ((uint64_t)st_gen(atomic_load_explicit(&r->st, memory_order_relaxed)) << 32) | idx;
        if (atomic_load_explicit(&r->qf, memory_order_relaxed) & QF_RELEASED) {
            atomic_store_explicit(&r->qf, 0, memory_order_relaxed);
            rec_drop(q->sys, r, id);
            continue;
        }
        atomic_store_explicit(&r->qf, 0, memory_order_relaxed); /* no longer listed */
        out->id = id;
        if (ud)
            *ud = r->ud;
        rc = 0;
    }
    pthread_mutex_unlock(&q->lock);
    return q_leave(q, rc);
}

/* ---- calls --------------------------------------------------------------- */

/* Arm, then send (run_here: a plain thread may run an idle target itself,
 * core/call.c); on a failed send the record goes back, unless its timeout
 * or its run completed it meanwhile (then that is its outcome: 0). */
static int start(troupe_system *sys, ask_rec *r, uint64_t id, troupe_ref to, uint32_t type,
                 const void *data, size_t len, uint64_t timeout_ns, bool run_here)
{
    run_here = run_here && !troupei_tls.ctx && !troupei_tls.w;
    int rc = ask_arm(sys, r, id, timeout_ns);
    if (rc == 0 && (rc = ask_send(sys, to, type, data, len, id, run_here)) == 0)
        return 0;
    if (!ask_claim(r, id))
        return 0;
    if (r->timer.id)
        troupe_timer_cancel(sys, r->timer);
    ask_trace_end(sys, r, id, rc); /* a traced send that failed: its span ends */
    ask_free(sys, r, id);
    return rc;
}

TROUPE_API int troupe_ask_cb(troupe_system *sys, troupe_ref to, uint32_t type, const void *data,
                             size_t len, uint64_t timeout_ns, troupe_call_fn fn, void *ud)
{
    if (!sys || !fn || ask_valid_payload(type, data, len))
        return TROUPE_EINVAL;
    ask_rec *r;
    uint64_t id;
    int rc = ask_new(sys, AM_CB, &r, &id);
    if (rc)
        return rc;
    r->fn = fn;
    r->ud = ud;
    return start(sys, r, id, to, type, data, len, timeout_ns, false);
}

TROUPE_API int troupe_ask_start(troupe_callq *q, troupe_ref to, uint32_t type, const void *data,
                                size_t len, uint64_t timeout_ns, void *ud, troupe_call_id *out)
{
    if (!q || !out)
        return TROUPE_EINVAL;
    out->id = 0;
    if (ask_valid_payload(type, data, len))
        return TROUPE_EINVAL;
    int rc = q_enter(q);
    if (rc)
        return rc;
    troupe_system *sys = q->sys;
    ask_rec *r;
    uint64_t id;
    if ((rc = ask_new(sys, AM_CALLQ, &r, &id)))
        return q_leave(q, rc);
    r->ud = ud;
    /* relaxed: published to completers by the request's send */
    atomic_store_explicit(&r->q, q, memory_order_relaxed);
    atomic_fetch_add_explicit(&q->inflight, 1, memory_order_relaxed);
    if ((rc = start(sys, r, id, to, type, data, len, timeout_ns, q->run_here))) {
        inflight_put(q);
        return q_leave(q, rc);
    }
    out->id = id;
    return q_leave(q, 0);
}

TROUPE_API int troupe_call_poll(troupe_callq *q, troupe_call_id call)
{
    if (!q)
        return TROUPE_EINVAL;
    int rc = q_enter(q);
    if (rc)
        return rc;
    uint64_t st;
    ask_rec *r = call_get(q, call, &st);
    rc = !r ? TROUPE_ENOTFOUND : st_state(st) == A_DONE ? 0 : TROUPE_EBUSY;
    return q_leave(q, rc);
}

/* Sleep on r->fut until DONE or the deadline: 0 or TROUPE_EBUSY. */
static int wait_done(ask_rec *r, uint64_t timeout_ns)
{
    uint64_t deadline = deadline_add(mono_ns(), timeout_ns);
    /* acquire: pairs with callq_done's release of DONE */
    while (st_state(atomic_load_explicit(&r->st, memory_order_acquire)) != A_DONE) {
        uint64_t now = mono_ns();
        if (now >= deadline && deadline != DEADLINE_NEVER)
            return TROUPE_EBUSY;
        uint32_t v = 0;
        /* relaxed: the futex rechecks; 2 tells the completer to wake us */
        if (!atomic_compare_exchange_strong_explicit(&r->fut, &v, 2, memory_order_relaxed,
                                                     memory_order_relaxed) && v == 1) {
            cpu_relax(); /* completed, DONE is being stored */
            continue;
        }
        futex_wait_u32(&r->fut, 2, deadline == DEADLINE_NEVER ? 0 : deadline - now);
    }
    return 0;
}

TROUPE_API int troupe_call_wait(troupe_callq *q, troupe_call_id call, uint64_t timeout_ns)
{
    if (!q)
        return TROUPE_EINVAL;
    if (troupei_tls.ctx || troupei_tls.w)
        return TROUPE_ESTATE; /* a worker never blocks */
    int rc = q_enter(q);
    if (rc)
        return rc;
    uint64_t st;
    ask_rec *r = call_get(q, call, &st);
    rc = r ? wait_done(r, timeout_ns) : TROUPE_ENOTFOUND;
    return q_leave(q, rc);
}

TROUPE_API int troupe_call_result(troupe_callq *q, troupe_call_id call, uint32_t *type, void *buf,
                                  size_t cap, size_t *len)
{
    if (!q || (cap && !buf))
        return TROUPE_EINVAL;
    int rc = q_enter(q);
    if (rc)
        return rc;
    uint64_t st;
    ask_rec *r = call_get(q, call, &st);
    if (!r)
        rc = TROUPE_ENOTFOUND;
    else if (st_state(st) != A_DONE)
        rc = TROUPE_EBUSY;
    else
        rc = r->rc ? r->rc : ask_copy_reply(&r->reply, type, buf, cap, len);
    return q_leave(q, rc);
}

/* ---- destroy ------------------------------------------------------------- */

/* Every record of q: in flight ones canceled (first pass), then, once no
 * completer is left, the completed ones freed. */
static void drop_all(troupe_callq *q, bool completed)
{
    troupe_system *sys = q->sys;
    uint32_t high = table_high(&sys->ak->recs);
    for (uint32_t i = 1; i <= high; i++) {
        ask_rec *r = table_get(&sys->ak->recs, i);
        if (!r || atomic_load_explicit(&r->q, memory_order_relaxed) != q)
            continue;
        uint64_t st = atomic_load_explicit(&r->st, memory_order_acquire);
        uint64_t id = ((uint64_t)st_gen(st) << 32) | i;
        if (!completed && st_state(st) == A_WAIT && ask_claim(r, id)) {
            if (r->timer.id)
                troupe_timer_cancel(sys, r->timer);
            ask_free(sys, r, id);
            inflight_put(q);
        } else if (completed && st_state(st) == A_DONE) {
            rec_drop(sys, r, id);
        }
    }
}

TROUPE_API void troupe_callq_destroy(troupe_callq *q)
{
    if (!q)
        return;
    if (q_enter(q) == 0) { /* the system is still there */
        troupe_system *sys = q->sys;
        pthread_mutex_lock(&sys->ak->qlock);
        if (q->prev)
            q->prev->next = q->next;
        else
            sys->ak->qs = q->next;
        if (q->next)
            q->next->prev = q->prev;
        pthread_mutex_unlock(&sys->ak->qlock);
        drop_all(q, false);
        wait_inflight(q); /* completers still on their way */
        drop_all(q, true);
        q_leave(q, 0);
    }
    if (q->fd >= 0)
        close(q->fd);
    pthread_mutex_destroy(&q->lock);
    free(q);
}
