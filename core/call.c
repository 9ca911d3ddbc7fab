/* core/call.c — troupe_call: a synchronous call from a plain thread
 * without a thread hand-off (include/troupe/message.h).
 *
 * The request goes into the receiver's ring like any send: one CAS on the
 * tail word, which also says whether this send made the receiver runnable
 * (it cleared IDLE). That is the scheduler's own claim: whoever clears IDLE
 * owns the actor until it is idle again, and no worker can run it in the
 * meantime. A worker's send hands the actor to a run queue; here the
 * calling thread keeps it and runs it at once on its own stack (run_actor,
 * with a stand-in worker), so the handler's reply is in the caller's ask
 * record when the send returns — no wake-up, no sleep.
 *
 * Everything a run guarantees holds because it is the same run: the system
 * lane first (a stop ends the actor before the request), one message at a
 * time, a failure (an error or troupe_panic: the run's setjmp is on this
 * thread) reported and supervised, persisted events submitted and the
 * reply deferred to their apply, the handler's sends flushed, a muted actor
 * suspended, at most `batch` messages. Requests of other callers that find
 * the actor busy queue behind ours and are served by this run (combining);
 * what is left after the batch, and a requeue, goes to the workers
 * (sched_requeue sees a stand-in and injects). Per-sender order holds: our
 * request is behind our earlier tells in the ring, and ran only after them.
 *
 * The stand-in worker lives on the calling thread's stack for the run
 * (about 2.7 KB; its run queue is never touched).
 *
 * Not on a plain thread's run: the stall watchdog watches the workers'
 * heartbeats, not this thread; a handler stalled here strands no other
 * actor (nothing waits in a run queue behind it: its sends go to the
 * workers), and a supervised actor with a health interval still misses its
 * pings and is stopped as on a worker (observe/health.c).
 */
#include <string.h>

#include "core/system.h"

/* one caller-run in CALL_LAT_EVERY on a thread is timed, as one worker run
 * in LAT_SAMPLE (observe/obs.h, not included: observe/ is above core/) */
#define CALL_LAT_EVERY 64u

#if TROUPE_METRICS
/* runs on this thread to the next timed one (dispatch_timed's sampling) */
static TROUPE_TLS uint32_t call_lat_tick;
#endif

/* The stand-in: only what a run touches (the run queue stays unused). */
static void caller_init(worker *pw, troupe_system *sys)
{
    pw->sys = sys;
    pw->caller = true;
    pw->pool = &sys->pools[0];
    pw->run_mask = AF_RUN_SPECIAL;
    pw->index = 0; /* troupe_ctx_worker: a worker index, never out of range */
    pw->in_msg = false;
    pw->pb = NULL;
    memset(&pw->res, 0, sizeof pw->res);
    atomic_store_explicit(&pw->lifo, NULL, memory_order_relaxed); /* stand-in's own */
#if TROUPE_METRICS
    /* run_actor counts one down: 0 times the first message */
    bool sample = call_lat_tick == 0;
    call_lat_tick = sample ? CALL_LAT_EVERY : call_lat_tick - 1;
    pw->lat_tick = sample ? 1 : 2;
    if (sample) {
        for (int k = 0; k < LAT_BUCKETS; k++)
            atomic_store_explicit(&pw->lat_bucket[k], 0, memory_order_relaxed);
        atomic_store_explicit(&pw->lat_sum_ns, 0, memory_order_relaxed);
    }
#endif
}

/* A timed handler's sample goes to worker 0's histogram (summed with the
 * others by observe/prom.c; obs_lat_record adds atomically, so two
 * threads may record there). */
static void fold_latency(troupe_system *sys, worker *pw)
{
#if TROUPE_METRICS
    /* a run that timed a message set lat_tick back up (dispatch_timed);
     * else it is 1 (not this run's turn) or 0 (its turn, nothing handled) */
    if (pw->lat_tick <= 1)
        return;
    worker *w0 = &sys->workers[0];
    for (int k = 0; k < LAT_BUCKETS; k++) {
        /* relaxed: counters (the stand-in is this thread's) */
        uint64_t n = atomic_load_explicit(&pw->lat_bucket[k], memory_order_relaxed);
        if (n)
            atomic_fetch_add_explicit(&w0->lat_bucket[k], n, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&w0->lat_sum_ns,
                              atomic_load_explicit(&pw->lat_sum_ns, memory_order_relaxed),
                              memory_order_relaxed);
#else
    (void)sys;
    (void)pw;
#endif
}

/* Run the actor this thread now owns (its send cleared IDLE): one run, as
 * a worker would. `mine` is our request's slot; returns TROUPE_EFAILED when
 * the run ended in a failure while handling it (the handler returned an
 * error or panicked: a failed run leaves ctx.msg at the message it was
 * handling, a run that ends well clears it), else 0. */
static int call_run(troupe_system *sys, actor *a, const tmsg *mine)
{
    worker pw; /* on this stack: lives exactly as long as the run */
    caller_init(&pw, sys);
    run_actor(&pw, a);
    fold_latency(sys, &pw);
    return pw.ctx.msg && pw.ctx.msg == mine ? TROUPE_EFAILED : 0;
}

/* Our request's slot (compared, never read: once handled it is the
 * senders' again); NULL for DROP_OLDEST mailboxes, whose runs copy messages
 * out of the ring. */
static const tmsg *slot_of(actor *a, uint64_t pos)
{
    if (mb_policy(&a->mb) == TROUPE_OVERFLOW_DROP_OLDEST)
        return NULL;
    /* relaxed: the ring cannot change while this incarnation holds our
     * message; our claim's CAS already acquired it */
    mb_ring *r = atomic_load_explicit(&a->mb.ring, memory_order_relaxed);
    return &r->slots[pos & r->mask].m;
}

/* call_send with a current trace context: as send_traced (core/send.c).
 * While this thread runs the receiver, the context is the message's. */
static __attribute__((noinline, cold)) int call_send_traced(troupe_system *sys, troupe_ref to,
                                                             tmsg *m)
{
    if (!(m->flags_size & MF_TRACED) && sys->hooks.trace_send && send_traceable(sys, to))
        sys->hooks.trace_send(sys, m);
    void *cur = troupei_tls.trace;
    troupei_tls.trace = NULL;
    int rc = call_send(sys, to, m);
    troupei_tls.trace = cur;
    if (rc && rc != TROUPE_EFAILED && (m->flags_size & MF_TRACED))
        tmsg_unbox(sys, m, NULL);
    return rc;
}

/* 0: sent (and, if we ran it, handled or deferred); TROUPE_EFAILED: we ran
 * it and it failed handling our request (ask_plain answers it); else the
 * send's error. */
int call_send(troupe_system *sys, troupe_ref to, tmsg *m)
{
    /* relaxed: as send_msg, a hint; the claim's generation check decides */
    if (unlikely(atomic_load_explicit(&sys->send_gate, memory_order_relaxed))) {
        if (atomic_load_explicit(&sys->state, memory_order_relaxed) != SYS_RUNNING)
            return TROUPE_ESHUTDOWN;
        if (troupei_tls.trace)
            return call_send_traced(sys, to, m);
    }
    actor *a = actor_lookup(sys, to);
    if (unlikely(!a)) /* not here: send_msg asks the cluster's port, if any */
        return send_msg(sys, to, m);
    m->sender = 0; /* a plain thread */
    bool sched;
    uint64_t pos;
    uint32_t got;
    int rc = mb_reserve_mpsc(sys, &a->mb, ref_gen(to), 1, &pos, &got, &sched);
    if (unlikely(rc != MB_OK)) {
        if (rc == MB_FULL) /* the overflow policies, as any plain thread's send */
            return send_msg(sys, to, m);
        return rc == MB_GONE ? TROUPE_ENOACTOR : TROUPE_ENOMEM;
    }
    const tmsg *mine = slot_of(a, pos);
    mb_write(&a->mb, pos, m);
    if (sched && (a->flags & AF_PLACED)) { /* a pool's or pinned: its workers run it */
        sched_place(sys, a);
        return 0;
    }
    if (sched) /* we made it runnable: it is ours to run */
        return call_run(sys, a, mine);
    return 0;
}

int call_send_remote(troupe_system *sys, troupe_ref to, tmsg *m)
{
    /* relaxed: as call_send */
    if (atomic_load_explicit(&sys->state, memory_order_relaxed) != SYS_RUNNING)
        return TROUPE_ESHUTDOWN;
    actor *a = actor_lookup(sys, to);
    if (!a)
        return TROUPE_ENOACTOR;
    bool sched;
    uint64_t pos;
    uint32_t got;
    int rc = mb_reserve_mpsc(sys, &a->mb, ref_gen(to), 1, &pos, &got, &sched);
    if (rc != MB_OK) /* full: the policies, without waiting */
        return rc == MB_FULL ? send_from_remote(sys, to, m)
                             : rc == MB_GONE ? TROUPE_ENOACTOR : TROUPE_ENOMEM;
    const tmsg *mine = slot_of(a, pos);
    mb_write(&a->mb, pos, m); /* m->sender: the remote asker, kept */
    if (sched && (a->flags & AF_PLACED)) { /* as call_send */
        sched_place(sys, a);
        return 0;
    }
    return sched ? call_run(sys, a, mine) : 0;
}

TROUPE_API int troupe_call(troupe_system *sys, troupe_ref to, uint32_t type, const void *data,
                           size_t len, uint64_t timeout_ns, uint32_t *reply_type, void *reply_buf,
                           size_t reply_cap, size_t *reply_len)
{
    return ask_plain(sys, to, type, data, len, timeout_ns, reply_type, reply_buf, reply_cap,
                     reply_len, true);
}
