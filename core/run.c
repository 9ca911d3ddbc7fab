/* core/run.c — one run of an actor on a worker, and how an actor ends.
 *
 * A run: serve the system lane (stop, replies, ask timeouts), move parked
 * BLOCK messages into the ring while it has room, then handle up to
 * `batch` user messages — serving the system lane again between two of
 * them whenever something was pushed there (one relaxed load and compare
 * per message), so that a stop ends the actor before the next one.
 * setjmp is taken once per run, not per message: troupe_panic longjmps
 * back here, the message being handled is destroyed and counted, the
 * failure is reported, and the actor ends.
 *
 * After the run the actor is, in this order of checks: finished (stop
 * requested or failed), suspended (muted by BLOCK: the receiver that takes
 * its last parked message reschedules it), idle (nothing queued: IDLE is
 * published in the tail word, then the lanes are re-checked), or requeued
 * at the back of the worker's run queue.
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ext.h"
#include "core/fault.h"
#include "core/probe.h"
#include "core/system.h"

#include "troupe_config.h" /* TROUPE_METRICS: meson option metrics */

/* The handling-latency histogram's bounds (ns; +Inf above the last),
 * recorded here and exported by observe/prom.c. */
const uint64_t obs_lat_bounds[LAT_BUCKETS - 1] = {
    1000, 4000, 16000, 64000, 256000, 1000000, 4000000, 16000000, 64000000, 256000000,
    1000000000};

static void count_handled(actor *a)
{
    /* relaxed load+store: the owner is the only writer; readers of stats
     * want a recent value, not an ordering. */
    atomic_store_explicit(&a->mb.handled,
                          atomic_load_explicit(&a->mb.handled, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static void report_failure(worker *w, actor *a, troupe_failure_kind kind, int code,
                           const char *reason)
{
    troupe_system *sys = w ? w->sys : NULL;
    troupe_failure f = {.actor = ref_make(sys, a->index, a->gen),
                        .behaviour = a->beh->name,
                        .kind = kind,
                        .code = code,
                        .msg_type = w && w->in_msg ? w->msg->type : 0,
                        .at_ns = troupe_clock_now(sys->clock)};
    snprintf(f.reason, sizeof f.reason, "%s", reason ? reason : "");
    atomic_fetch_add_explicit(&sys->failed, 1, memory_order_relaxed);
    if (sys->cfg.on_failure)
        sys->cfg.on_failure(&f, sys->cfg.on_failure_ud);
    sys->hooks.failed(sys, a, &f);
}

/* The handler failed (returned < 0, or panicked). */
static void fail_actor(worker *w, actor *a, troupe_failure_kind kind, int code, const char *reason)
{
    if (unlikely(troupei_tls.trace) && w->sys->hooks.trace_fail)
        w->sys->hooks.trace_fail(w->sys, a, kind); /* a panic skipped trace_end */
    send_flush(w); /* a panic skipped the handler's own flush */
    if (w->in_msg) /* ring messages were counted handled before dispatch */
        atomic_fetch_add_explicit(&a->mb.failed, 1, memory_order_relaxed);
    if (unlikely(a->flags & AF_PROBE) && w->in_msg) /* traced: its record says how */
        probe_failed(w, a, kind);
    report_failure(w, a, kind, code, reason);
    send_flush(w); /* the hook may have sent */
    if (w->in_msg) {
        ask_abandon(w->sys, w->msg, TROUPE_EFAILED); /* its asker hears now */
        tmsg_destroy(w->sys, w->msg);
        w->in_msg = false;
    }
    a->flags |= AF_FAILED;
    if (ext_supervised(a)) { /* its supervisor decides: restart or end */
        actor_stop_cb(w->sys, a, kind);
        w->sys->hooks.exited(w->sys, a, kind, code, reason);
        return;
    }
    actor_end(w->sys, a, kind, true, reason);
}

/* dispatch's end of a message that owns memory or carries a stamp. */
static __attribute__((noinline)) void msg_done_slow(worker *w, actor *a, tmsg *m)
{
    if (m->flags_size & MF_STAMP)
        probe_done(w, a, m);
    tmsg_destroy(w->sys, m);
}

/* Handle m (a copy in w->cur, or in place in its ring slot); returns the
 * handler's result. */
static inline __attribute__((always_inline)) int dispatch_plain(worker *w, actor *a, tmsg *m,
                                                                 bool inl)
{
    troupe_ctx *ctx = &w->ctx;
    troupe_msg view;
    ctx->msg = m;
    ctx->replied = false;
    ctx->nmuted = 0;
    ctx->muted_all = false;
    if (inl) { /* the payload is in the body (dispatch tested the flags) */
        view.type = m->type;
        view.sender.id = m->sender;
        view.corr = m->corr;
        view.ptr = NULL;
        view.size = m->flags_size & MF_SIZE_MASK;
        view.data = view.size ? m->u.inl : NULL;
    } else {
        tmsg_view(m, &view);
    }
    w->msg = m;
    w->in_msg = true;
    int rc = a->beh->handle(ctx, a->state, &view);
    if (unlikely(a->flags & AF_PBUF)) /* it persisted: submit (or drop) */
        w->sys->hooks.handled(w->sys, ctx, a, rc);
    send_flush(w);
    if (rc < 0)
        return rc; /* fail_actor destroys and counts the message */
    w->in_msg = false;
    ctx->msg = NULL;
    /* tmsg_destroy's test, with the stamp's bit in it (core/probe.h) */
    if (unlikely(m->flags_size & (MF_HEAP | MF_PTR | MF_STAMP)))
        msg_done_slow(w, a, m);
    return 0;
}

/* A message with a trace context (core/message.h): unboxed, handled
 * inside its CONSUMER/SERVER span (trace/). Out of line: the plain path
 * pays only dispatch's test of MF_TRACED. */
static __attribute__((noinline, cold)) int dispatch_traced(worker *w, actor *a, tmsg *m)
{
    tctx c;
    tmsg_unbox(w->sys, m, &c);
    w->sys->hooks.trace_begin(w->sys, a, m, &c);
    int rc = dispatch_plain(w, a, m, false);
    w->sys->hooks.trace_end(w->sys, a, rc, TROUPE_EXIT_ERROR);
    return rc;
}

/* One test of flags_size on the plain path: an inline payload (the common
 * case) is viewed in place; a heap or pointer payload, or a stamped one
 * (tmsg_view starts its timing: core/probe.h), goes through tmsg_view; a
 * traced one (core/message.h) through dispatch_traced. */
static inline __attribute__((always_inline)) int dispatch(worker *w, actor *a, tmsg *m)
{
    if (unlikely(m->flags_size & (MF_HEAP | MF_PTR | MF_TRACED | MF_STAMP))) {
        if (unlikely(m->flags_size & MF_TRACED))
            return dispatch_traced(w, a, m);
        return dispatch_plain(w, a, m, false);
    }
    return dispatch_plain(w, a, m, true);
}

#if TROUPE_METRICS
static void lat_record(worker *w, uint64_t ns)
{
    uint32_t i = 0;
    while (i < LAT_BUCKETS - 1 && ns > obs_lat_bounds[i])
        i++;
    /* relaxed RMW: counters; atomic adds because a plain thread that ran
     * an actor for its call folds its samples into worker 0's (core/call.c,
     * fold_latency). One run in LAT_SAMPLE: the adds cost the fast paths
     * nothing. */
    atomic_fetch_add_explicit(&w->lat_bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->lat_sum_ns, ns, memory_order_relaxed);
}
#endif

/* dispatch, timing the first message of one run in LAT_SAMPLE (the first
 * user message after LAT_SAMPLE runs) for the
 * handling-latency histogram (observe/ exports it): two clock reads per
 * message would cost the fast paths more than the metrics budget allows. */
static inline int dispatch_timed(worker *w, actor *a, tmsg *m)
{
#if TROUPE_METRICS
    if (unlikely(w->lat_tick == 0)) {
        w->lat_tick = LAT_SAMPLE; /* counted down by the runs */
        bool traced = a->flags & AF_PROBE; /* every message of a traced actor comes here */
        uint64_t t0 = mono_ns();
        if (traced)
            probe_trace_start(w, m, t0);
        int rc = dispatch(w, a, m);
        uint64_t t1 = mono_ns();
        lat_record(w, t1 - t0);
        if (traced && rc >= 0) /* a failure: fail_actor records it */
            probe_traced(w, a, t1);
        return rc;
    }
#endif
    return dispatch(w, a, m);
}

/* The next user message: in place in its slot, or copied out for
 * DROP_OLDEST mailboxes (where stealers move head; `copy`, decided once per
 * run: the policy is set at spawn). */
static int next_msg(worker *w, actor *a, bool copy, tmsg **m)
{
    if (likely(!copy))
        return mb_front(&a->mb, m);
    *m = &w->cur;
    return mb_pop(&a->mb, &w->cur);
}

/* A system-lane message of a type a feature registered (core/hooks.h):
 * true when one was, and served it (false from *ok: the actor failed). */
static bool serve_registered(worker *w, actor *a, bool *ok)
{
    uint32_t slot = w->cur.type - SYSMSG_FIRST;
    sysmsg_fn f = slot < SYSMSG_SLOTS ? w->sys->hooks.sysmsg[slot] : NULL;
    if (!f)
        return false;
    troupe_failure_kind kind = TROUPE_EXIT_ERROR;
    const char *reason = "";
    int rc = f(w, a, &kind, &reason);
    if (rc < 0)
        fail_actor(w, a, kind, rc, reason);
    *ok = rc >= 0;
    return true;
}

/* System lane. Returns false when the actor ended (stop or failure).
 * Core serves stop and kill; a type a feature registered goes to it (the
 * health monitor's ping, the journal's acks); any other goes to the
 * handler. Inlined where a run starts; called out of line between two
 * messages (serve_sys_between), so that the batch loop stays small. */
static inline __attribute__((always_inline)) bool serve_sys(worker *w, actor *a)
{
    mailbox *mb = &a->mb;
    if (!mb->sys_local && lane_maybe_nonempty(&mb->sys))
        mb->sys_local = (envelope *)lane_take(&mb->sys, a->gen);
    envelope *e;
    while ((e = mb->sys_local)) {
        mb->sys_local = e->next;
        w->cur = e->m;
        tfree(w->sys->alloc_mode, e, sizeof *e);
        bool ok;
        if (serve_registered(w, a, &ok)) {
            if (!ok)
                return false;
            continue;
        }
        bool kill = w->cur.type == SYSMSG_KILL;
        if (kill || (w->cur.type == SYSMSG_STOP && !(a->flags & AF_TRAP_STOP))) {
            a->flags |= AF_STOP_REQ | (kill ? AF_KILL : 0);
            a->stop_kind = kill ? TROUPE_EXIT_KILLED : STOP_KIND(w->cur.corr);
            return true;
        }
        if (w->cur.type == SYSMSG_STOP) { /* trapped: the handler decides */
            w->cur.type = TROUPE_MSG_STOP;
            w->cur.corr = STOP_KIND(w->cur.corr);
        }
        int rc = dispatch(w, a, &w->cur);
        if (rc < 0) {
            fail_actor(w, a, TROUPE_EXIT_ERROR, rc, troupe_strerror(rc));
            return false;
        }
    }
    return true;
}

static __attribute__((noinline)) bool serve_sys_between(worker *w, actor *a)
{
    return serve_sys(w, a);
}

/* true when the actor must wait for its parked messages to be taken.
 *
 * Suspension must not close a cycle: an actor that others are parked on
 * (its own park lane is not empty) keeps running — so that it moves their
 * messages in and releases them — but in PARK_ALL mode, where every BLOCK
 * send it makes parks, which keeps its own order. So does an actor with
 * system messages (a stop, a reply) waiting. A parker or a system-lane
 * sender that finds it suspended takes it back the same way
 * (mute_take_suspended). */
static bool suspend_for_mute(actor *a)
{
    uint64_t v = atomic_load_explicit(&a->mute, memory_order_acquire), mine;
    /* ours: read before letting go */
    bool incoming = a->mb.park_local != NULL || a->mb.sys_local != NULL;
    do {
        if (!(v & MUTE_COUNT))
            return false; /* released meanwhile */
        mine = MUTE_SUSPENDED | ((v + MUTE_EPOCH_ONE) & MUTE_EPOCH_MASK) | (v & MUTE_COUNT);
        /* seq_cst: against park()'s lane push then mute load (Dekker):
         * either we see its parked message below, or it sees SUSPENDED. */
    } while (!atomic_compare_exchange_weak_explicit(&a->mute, &v, mine, memory_order_seq_cst,
                                                    memory_order_relaxed));
    if (!incoming && !lane_nonempty(&a->mb.park) && !lane_nonempty(&a->mb.sys))
        return true;
    /* Others are parked on us, or a stop or a reply came: keep running. The epoch makes sure we only
     * undo our own suspension; if an unmute or a parker took the token
     * first, it scheduled us and we let go. */
    return !atomic_compare_exchange_strong_explicit(&a->mute, &mine, mine & ~MUTE_SUSPENDED,
                                                    memory_order_acq_rel, memory_order_relaxed);
}

/* Why a supervised actor stopped on a signal, for its restart record. An
 * ERROR stop only comes from troupe_actor_restart, a HEALTH one from the
 * health monitor (observe/). */
static const char *stop_reason(troupe_failure_kind why, bool cb)
{
    if (!cb)
        return "killed";
    if (why == TROUPE_EXIT_ERROR)
        return "restart requested";
    if (why == TROUPE_EXIT_HEALTH)
        return "health check failed";
    return "";
}

/* A stop was requested (or a kill): the end, or for a supervised actor
 * the hand-over to its supervisor. */
static void stop_actor(worker *w, actor *a)
{
    troupe_failure_kind why = (troupe_failure_kind)a->stop_kind;
    bool cb = !(a->flags & AF_KILL);
    if (!ext_supervised(a)) {
        actor_end(w->sys, a, why, cb, NULL);
        return;
    }
    if (cb)
        actor_stop_cb(w->sys, a, why);
    w->sys->hooks.exited(w->sys, a, why, 0, stop_reason(why, cb));
}

static void end_run(worker *w, actor *a, int last)
{
    if (a->flags & AF_STOP_REQ) {
        stop_actor(w, a);
        return;
    }
    if (unlikely(a->flags & AF_PWAIT)) { /* waiting for the journal */
        if (!w->sys->hooks.park(a))
            sched_requeue(w, a); /* its acks came meanwhile */
        return;
    }
    if (suspend_for_mute(a))
        return;
    mailbox *mb = &a->mb;
    /* owner state: read before letting go (after a successful idle CAS
     * another worker may own the actor) */
    bool sys_actor = a->flags & AF_SYSTEM;
    uint32_t gen = a->gen;
    if (last == MB_EMPTY && !mb->sys_local && !mb->park_local && mb_try_idle(mb, gen)) {
        /* seq_cst loads after the idle CAS: a lane push, or a shutdown that
         * could not allocate our stop signal (stop_all), either sees IDLE
         * and schedules us, or is seen here */
        if (!lane_nonempty(&mb->sys) && !lane_nonempty(&mb->park) &&
            (sys_actor ||
             atomic_load_explicit(&w->sys->state, memory_order_seq_cst) == SYS_RUNNING))
            return;
        if (!mb_try_unidle(mb, gen))
            return; /* a sender already rescheduled it */
    }
    sched_requeue(w, a);
}

#define RUN_ENDED (-1) /* run_batch: the actor ended (failed, or a stop) */

/* Up to a->batch user messages, the system lane served between two of them
 * when something was pushed there. Returns the mailbox's last answer
 * (MB_OK when the batch or a flag ended the loop), or RUN_ENDED. A function
 * of its own, apart from run_actor's setjmp: around a setjmp the compiler
 * keeps a function's variables in memory across every call, which the loop
 * would pay for at each message. troupe_panic unwinds through it to
 * run_actor, which finds the actor in w->ctx.a and the message in w->msg. */
static __attribute__((noinline)) int run_batch(worker *w, actor *a)
{
    int last = MB_EMPTY;
    uint64_t sys_empty = lane_empty_word(a->gen);
    bool copy = mb_policy(&a->mb) == TROUPE_OVERFLOW_DROP_OLDEST;
    for (uint32_t n = a->batch; n; n--) {
        tmsg *m;
        if ((last = next_msg(w, a, copy, &m)) != MB_OK)
            break;
        count_handled(a);
        int rc = dispatch_timed(w, a, m);
        if (rc < 0) {
            fail_actor(w, a, TROUPE_EXIT_ERROR, rc, troupe_strerror(rc));
            return RUN_ENDED;
        }
        if ((a->flags & (AF_STOP_REQ | AF_PWAIT)) ||
            (!(a->flags & AF_PARK_ALL) &&
             (atomic_load_explicit(&a->mute, memory_order_relaxed) & MUTE_COUNT)))
            break;
        /* The system lane goes first between two messages too: a stop
         * sent while a handler ran ends the actor before the next. */
        if (unlikely(lane_pushed(&a->mb.sys, sys_empty))) {
            if (!serve_sys_between(w, a))
                return RUN_ENDED;
            /* AF_FAULT: faults were just set; the next message is drawn
             * first (a new run) */
            if (a->flags & (AF_STOP_REQ | AF_PWAIT | AF_FAULT))
                break;
        }
    }
    return last;
}

/* Another worker's actor (core/pool.c: another pool's, or pinned
 * elsewhere; true: handed to its place, not run here), a supervised restart
 * (true: that was the run), a traced actor, or one with message faults
 * (one test for them all in run_actor: worker.run_mask). */
static __attribute__((noinline, cold)) bool run_special(worker *w, actor *a)
{
    if (!placed_here(w, a)) {
        sched_place(w->sys, a);
        return true;
    }
    if (a->flags & AF_REINIT) {
        w->sys->hooks.reinit(w->sys, a);
        return true;
    }
    if (a->flags & AF_FAULT)
        fault_run(w, a); /* drop or delay what heads the ring (core/fault.h) */
    if (a->flags & AF_PROBE)
        probe_run(w, a); /* traced: time every message of this run */
    return false;
}

void run_actor(worker *w, actor *a)
{
    if (unlikely(a->flags & w->run_mask) && run_special(w, a))
        return;
#if TROUPE_METRICS
    w->lat_tick -= w->lat_tick != 0; /* runs to the next sample (dispatch_timed) */
#endif
    w->ctx.sys = w->sys; /* the rest is set per message by dispatch */
    w->ctx.w = w;
    w->ctx.a = a;
    w->ctx.msg = NULL;
    w->in_msg = false;
    troupei_tls.ctx = &w->ctx;
    troupei_tls.panic_jb = &w->jb;
    if (TJMP_SET(w->jb)) {
        fail_actor(w, w->ctx.a, TROUPE_EXIT_PANIC, 0, troupei_tls.panic_reason);
        goto out;
    }
    if (unlikely(atomic_load_explicit(&w->sys->state, memory_order_relaxed) != SYS_RUNNING) &&
        !(a->flags & AF_SYSTEM)) { /* shutting down (see stop_all) */
        a->flags |= AF_STOP_REQ;
        a->stop_kind = TROUPE_EXIT_SHUTDOWN;
    }
    if (atomic_load_explicit(&a->mute, memory_order_relaxed) & MUTE_COUNT)
        a->flags |= AF_PARK_ALL;
    else
        a->flags &= (uint16_t)~AF_PARK_ALL;
    if (!serve_sys(w, a))
        goto out;
    int last = MB_EMPTY;
    if (!(a->flags & (AF_STOP_REQ | AF_PWAIT | AF_FHOLD))) {
        /* parked blocks waiting (core/park.c): a relaxed peek, so that the
         * common run pays two loads, not a call */
        if (unlikely(a->mb.park_local || lane_maybe_nonempty(&a->mb.park)))
            park_move_in(w->sys, a);
        if ((last = run_batch(w, a)) == RUN_ENDED)
            goto out;
    }
    end_run(w, a, last);
out:
    send_flush(w);
    /* relaxed: a hint (core/space.c); set only while a plain thread waits */
    if (unlikely(atomic_load_explicit(&a->mb.space_wait, memory_order_relaxed)))
        space_wake(w->sys, a);
    troupei_tls.ctx = NULL;
    troupei_tls.panic_jb = NULL;
}
