/* core/call.c — troupe_ask from a plain thread without a thread hand-off.
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
 * Not on a plain thread's run: the stall watchdog watches the workers'
 * heartbeats, not this thread; a handler stalled here strands no other
 * actor (nothing waits in a run queue behind it: its sends go to the
 * workers), and a supervised actor with a health interval still misses its
 * pings and is stopped as on a worker (observe/health.c).
 */
#include <string.h>

#include "core/system.h"
#include "observe/obs.h"

#if TROUPE_METRICS
/* runs on this thread to the next timed one (dispatch_timed's sampling) */
static TROUPE_TLS uint32_t call_lat_tick;
#endif

/* The stand-in: only what a run touches (the run queue stays unused). */
static void caller_init(worker *pw, troupe_system *sys)
{
    pw->sys = sys;
    pw->caller = true;
    pw->index = 0; /* troupe_ctx_worker: a worker index, never out of range */
    pw->in_msg = false;
    pw->pb = NULL;
    memset(&pw->res, 0, sizeof pw->res);
    atomic_store_explicit(&pw->lifo, NULL, memory_order_relaxed); /* stand-in's own */
#if TROUPE_METRICS
    /* run_actor counts one down: 0 times the first message */
    bool sample = call_lat_tick == 0;
    call_lat_tick = sample ? LAT_SAMPLE : call_lat_tick - 1;
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
    if (pw->lat_tick != LAT_SAMPLE) /* dispatch_timed set it: a sample was taken */
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
 * a worker would. */
static void call_run(troupe_system *sys, actor *a)
{
    worker pw; /* on this stack: lives exactly as long as the run */
    caller_init(&pw, sys);
    run_actor(&pw, a);
    fold_latency(sys, &pw);
}

int call_send(troupe_system *sys, troupe_ref to, tmsg *m)
{
    /* relaxed: as send_msg, a hint; the claim's generation check decides */
    if (unlikely(atomic_load_explicit(&sys->state, memory_order_relaxed) != SYS_RUNNING))
        return TROUPE_ESHUTDOWN;
    actor *a = actor_lookup(sys, to);
    if (unlikely(!a))
        return TROUPE_ENOACTOR;
    m->sender = 0; /* a plain thread */
    bool sched;
    int rc = mb_push_mpsc(sys, &a->mb, ref_gen(to), m, &sched);
    if (unlikely(rc != MB_OK)) {
        if (rc == MB_FULL) /* the overflow policies, as any plain thread's send */
            return send_msg(sys, to, m);
        return rc == MB_GONE ? TROUPE_ENOACTOR : TROUPE_ENOMEM;
    }
    if (sched) /* we made it runnable: it is ours to run */
        call_run(sys, a);
    return 0;
}
