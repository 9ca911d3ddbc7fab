/* core/ask.c — request/reply: the ask record's life (core/ask.h), asks
 * from handlers (troupe_ask_async), replies now or deferred, and asks
 * failed fast when the actor that has them ends.
 *
 * A plain thread's synchronous ask and call wait in core/ask_plain.c (the
 * completer here only flips the record's futex word, and wakes it only
 * when the asker announced its sleep). From a handler nothing blocks: the
 * reply, the timeout or the failure comes back as a message on the asker's
 * system lane. Calls (core/callq.c) keep the outcome in the record or hand
 * it to a callback.
 *
 * Failing fast: an ask the target drops unanswered — still queued when it
 * ends, or being handled when it fails (ask_abandon), or held for a
 * deferred reply when its incarnation ends (ask_on_exit) — completes at
 * once with TROUPE_ENOACTOR or TROUPE_EFAILED. The claim on the state word
 * makes that race-free against a reply or the timeout.
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ask.h"
#include "core/ext.h"
#include "core/timer.h"

static _Atomic uint64_t ask_serials; /* sys->ak->serial's source */

int asks_create(troupe_system *sys)
{
    sys->ak = sys_calloc(1, sizeof *sys->ak);
    if (!sys->ak)
        return TROUPE_ENOMEM;
    pthread_mutex_init(&sys->ak->qlock, NULL);
    /* relaxed: a unique number, ordered by nothing */
    sys->ak->serial = atomic_fetch_add_explicit(&ask_serials, 1, memory_order_relaxed) + 1;
    if (table_init(&sys->ak->recs, sizeof(ask_rec)))
        return TROUPE_ENOMEM;
    return 0;
}

/* A record's leftovers at destroy: a reply nobody took. */
static void fin_rec(void *obj, void *ud)
{
    ask_rec *r = obj;
    uint32_t s = st_state(atomic_load_explicit(&r->st, memory_order_relaxed));
    if (s == A_DONE && (r->mode == AM_CALLQ || r->mode == AM_SYNC))
        tmsg_destroy(ud, &r->reply);
}

/* The workers and the timer thread are stopped: no completer is running.
 * Calls still waiting complete with TROUPE_ESHUTDOWN (callbacks run here,
 * queues are told), except a plain thread's troupe_ask, which would wake
 * into freed memory (destroying a system under a blocked ask is the
 * application's error, as before). */
static void shutdown_waiting(troupe_system *sys)
{
    uint32_t high = table_high(&sys->ak->recs);
    for (uint32_t i = 1; i <= high; i++) {
        ask_rec *r = table_get(&sys->ak->recs, i);
        uint64_t st = r ? atomic_load_explicit(&r->st, memory_order_acquire) : 0;
        uint64_t id = ((uint64_t)st_gen(st) << 32) | i;
        if (st_state(st) == A_WAIT && r->mode != AM_SYNC && ask_claim(r, id))
            ask_finish(sys, r, id, TROUPE_ESHUTDOWN, NULL, true);
    }
}

void asks_destroy(troupe_system *sys)
{
    if (!sys->ak)
        return;
    if (sys->ak->recs.top) {
        shutdown_waiting(sys);
        callq_detach_all(sys);
        views_destroy(sys);
        table_destroy(&sys->ak->recs, fin_rec, sys);
    }
    pthread_mutex_destroy(&sys->ak->qlock);
    free(sys->ak);
    sys->ak = NULL;
}

/* Reset a record (fresh, reused or cached) to WAIT for `mode` under the
 * next generation of its index. */
void ask_init(ask_rec *r, uint32_t idx, uint8_t mode, uint64_t *id)
{
    uint32_t gen = st_gen(atomic_load_explicit(&r->st, memory_order_relaxed)) + 1;
    gen += gen == 0; /* never 0: an id of 0 means "no ask" */
    r->mode = mode;
    r->rc = 0;
    r->asker = TROUPE_REF_NONE;
    r->timer.id = 0;
    r->fn = NULL;
    r->ud = NULL;
    r->reply.flags_size = 0;
    /* relaxed, all: published by the release store of st below */
    atomic_store_explicit(&r->q, NULL, memory_order_relaxed);
    atomic_store_explicit(&r->holder, 0, memory_order_relaxed);
    atomic_store_explicit(&r->qf, 0, memory_order_relaxed);
    atomic_store_explicit(&r->fut, 0, memory_order_relaxed);
    atomic_store_explicit(&r->traced, 0, memory_order_relaxed);
    /* release: the fields above before anyone can match this generation. */
    atomic_store_explicit(&r->st, st_make(gen, A_WAIT), memory_order_release);
    *id = ((uint64_t)gen << 32) | idx;
}

int ask_new(troupe_system *sys, uint8_t mode, ask_rec **out, uint64_t *id)
{
    uint32_t idx;
    void *obj;
    if (table_alloc(&sys->ak->recs, &idx, &obj))
        return TROUPE_ENOMEM;
    *out = obj;
    ask_init(obj, idx, mode, id);
    return 0;
}

void ask_free(troupe_system *sys, ask_rec *r, uint64_t id)
{
    /* release: our last reads of the record before its reuse */
    atomic_store_explicit(&r->st, st_make((uint32_t)(id >> 32), A_FREE), memory_order_release);
    table_free(&sys->ak->recs, (uint32_t)id);
}

ask_rec *ask_lookup(troupe_system *sys, uint64_t id) { return table_get(&sys->ak->recs, (uint32_t)id); }

bool ask_claim(ask_rec *r, uint64_t id)
{
    uint64_t exp = st_make((uint32_t)(id >> 32), A_WAIT);
    /* acq_rel: the winner sees the asker's fields; the loser learns it is
     * late. */
    return r && atomic_compare_exchange_strong_explicit(&r->st, &exp,
                                                        st_make((uint32_t)(id >> 32), A_BUSY),
                                                        memory_order_acq_rel, memory_order_relaxed);
}

int ask_valid_payload(uint32_t type, const void *data, size_t len)
{
    if ((len && !data) || len > TROUPE_COPY_MAX || type >= TROUPE_MSG_SYSTEM)
        return TROUPE_EINVAL;
    return 0;
}

/* caller_runs: a plain thread's troupe_call, which may run the receiver
 * here (call_send). */
int ask_send(troupe_system *sys, troupe_ref to, uint32_t type, const void *data, size_t len,
             uint64_t id, bool caller_runs)
{
    tmsg m;
    int rc = tmsg_copy(sys, &m, type, data, len);
    if (rc)
        return rc;
    m.flags_size |= MF_ASK;
    m.corr = id;
    rc = caller_runs ? call_send(sys, to, &m) : send_msg(sys, to, &m);
    if (rc && rc != TROUPE_EFAILED) /* EFAILED: delivered, handled, failed */
        tmsg_destroy(sys, &m);
    return rc;
}

int ask_request(troupe_system *sys, troupe_ref to, uint32_t type, const void *data, size_t len,
                uint64_t id)
{
    return ask_send(sys, to, type, data, len, id, false);
}

static void ask_timeout_fn(troupe_system *sys, uint64_t id)
{
    ask_rec *r = ask_lookup(sys, id);
    if (ask_claim(r, id)) /* else the reply (or a failure) won */
        ask_finish(sys, r, id, TROUPE_ETIMEDOUT, NULL, true);
}

int ask_arm(troupe_system *sys, ask_rec *r, uint64_t id, uint64_t timeout_ns)
{
    /* saturating: a timeout that does not fit never comes (no timer) */
    uint64_t deadline = deadline_add(troupe_clock_now(sys->clock), timeout_ns);
    if (deadline == DEADLINE_NEVER)
        return 0;
    return timer_add_fn_at(sys, deadline, ask_timeout_fn, id, &r->timer);
}

/* AM_ACTOR: the outcome as a message to the asking actor. */
static void finish_actor(troupe_system *sys, ask_rec *r, uint64_t id, int rc, tmsg *reply)
{
    troupe_ref asker = r->asker;
    tmsg m;
    if (rc == 0) {
        m = *reply;
    } else {
        int32_t code = rc;
        m = (tmsg){.type = rc == TROUPE_ETIMEDOUT ? TROUPE_MSG_ASK_TIMEOUT : TROUPE_MSG_ASK_FAILED};
        if (rc != TROUPE_ETIMEDOUT) /* inline: no allocation, cannot fail */
            (void)tmsg_copy(sys, &m, TROUPE_MSG_ASK_FAILED, &code, sizeof code);
    }
    m.corr = id;
    ask_free(sys, r, id);
    if (send_sys(sys, asker, &m))
        tmsg_destroy(sys, &m); /* the asker is gone */
}

/* AM_CB: the callback, on this thread, then the record goes. */
static void finish_cb(troupe_system *sys, ask_rec *r, uint64_t id, int rc, tmsg *reply)
{
    troupe_msg v = {0};
    if (rc == 0)
        tmsg_view(reply, &v);
    troupe_call_fn fn = r->fn;
    void *ud = r->ud;
    ask_free(sys, r, id);
    fn(ud, rc, v.type, v.data, v.size);
    if (rc == 0)
        tmsg_destroy(sys, reply);
}

void ask_finish(troupe_system *sys, ask_rec *r, uint64_t id, int rc, tmsg *reply,
                bool from_timer)
{
    if (!from_timer && r->timer.id)
        troupe_timer_cancel(sys, r->timer);
    if (r->mode != AM_SYNC) /* a plain thread's ends when it has the outcome */
        ask_trace_end(sys, r, id, rc);
    if (r->mode == AM_ACTOR) {
        finish_actor(sys, r, id, rc, reply);
        return;
    }
    if (r->mode == AM_CB) {
        finish_cb(sys, r, id, rc, reply);
        return;
    }
    r->rc = rc;
    if (rc == 0)
        r->reply = *reply;
    if (r->mode == AM_CALLQ) {
        callq_done(r, id); /* DONE, woken and listed there */
        return;
    }
    atomic_store_explicit(&r->st, st_make((uint32_t)(id >> 32), A_DONE), memory_order_relaxed);
    /* release: the outcome before the flag (wait_reply's acquire). A wake
     * only when the asker announced its sleep (reply_sleep's CAS): an asker
     * that runs the handler itself, or still spins, costs no system call. */
    if (atomic_exchange_explicit(&r->fut, F_DONE, memory_order_release) == F_SLEEP)
        futex_wake_u32(&r->fut, 1);
}

/* ---- asks from handlers -------------------------------------------------- */

TROUPE_API int troupe_ask_async(troupe_ctx *ctx, troupe_ref to, uint32_t type, const void *data,
                                size_t len, uint64_t timeout_ns, uint64_t *ask_id)
{
    if (!ctx)
        return TROUPE_EINVAL;
    if (!ctx->a)
        return TROUPE_ESTATE;
    troupe_system *sys = ctx->sys;
    if (ask_valid_payload(type, data, len))
        return TROUPE_EINVAL;
    ask_rec *r;
    uint64_t id;
    int rc = ask_new(sys, AM_ACTOR, &r, &id);
    if (rc)
        return rc;
    r->asker = troupe_self(ctx);
    if ((rc = ask_arm(sys, r, id, timeout_ns))) {
        ask_free(sys, r, id);
        return rc;
    }
    if ((rc = ask_request(sys, to, type, data, len, id))) {
        if (ask_claim(r, id)) { /* else the timeout fired first and freed it */
            if (r->timer.id)
                troupe_timer_cancel(sys, r->timer);
            ask_trace_end(sys, r, id, rc); /* a traced send that failed */
            ask_free(sys, r, id);
        }
        return rc;
    }
    if (ask_id)
        *ask_id = id;
    return 0;
}

/* ---- replies ------------------------------------------------------------- */

/* Deliver a reply to ask `id`: 0, or TROUPE_ENOTFOUND when it no longer
 * waits (counted late, the payload dropped). */
static int reply_id(troupe_system *sys, uint64_t id, uint64_t sender, uint32_t type,
                    const void *data, size_t len)
{
    ask_rec *r = ask_lookup(sys, id);
    tmsg m;
    int rc = tmsg_copy(sys, &m, type, data, len);
    if (rc)
        return rc;
    if (!ask_claim(r, id)) {
        tmsg_destroy(sys, &m);
        atomic_fetch_add_explicit(&sys->late_replies, 1, memory_order_relaxed);
        return TROUPE_ENOTFOUND;
    }
    m.sender = sender;
    ask_finish(sys, r, id, 0, &m, false);
    return 0;
}

TROUPE_API int troupe_reply(troupe_ctx *ctx, uint32_t type, const void *data, size_t len)
{
    if (!ctx)
        return TROUPE_EINVAL;
    if (!ctx->msg || !(ctx->msg->flags_size & MF_ASK) || ctx->replied)
        return TROUPE_ESTATE;
    if (ask_valid_payload(type, data, len))
        return TROUPE_EINVAL;
    if (ctx->msg->corr == 0) { /* no one to answer (persistence's recovery) */
        ctx->replied = true;
        return 0;
    }
    int rc = reply_id(ctx->sys, ctx->msg->corr, troupe_self(ctx).id, type, data, len);
    if (rc != TROUPE_ENOMEM)
        ctx->replied = true;
    return rc == TROUPE_ENOTFOUND ? 0 : rc; /* late: dropped and counted */
}

int ask_hold(troupe_ctx *ctx)
{
    actor_ext *x = ext_get(ctx->sys, ctx->a);
    if (!x)
        return TROUPE_ENOMEM;
    x->holds_asks = true; /* the owner's: we run the actor */
    uint64_t id = ctx->msg->corr, self = troupe_self(ctx).id, none = 0;
    ask_rec *r = ask_lookup(ctx->sys, id);
    /* relaxed CAS: one holder per generation (ask_new reset it to 0); the
     * exit scan that reads it is ours, and validates with the claim */
    if (!r || !atomic_compare_exchange_strong_explicit(&r->holder, &none, self,
                                                       memory_order_relaxed, memory_order_relaxed))
        return 0;
    /* acquire: pairs with ask_new's release. The ask timed out and the
     * record went to another ask meanwhile: not ours to hold, undo. */
    if (atomic_load_explicit(&r->st, memory_order_acquire) != st_make((uint32_t)(id >> 32), A_WAIT))
        atomic_compare_exchange_strong_explicit(&r->holder, &self, 0, memory_order_relaxed,
                                                memory_order_relaxed);
    return 0;
}

TROUPE_API int troupe_reply_defer(troupe_ctx *ctx, troupe_reply_token *out)
{
    if (!ctx || !out)
        return TROUPE_EINVAL;
    out->id = 0;
    if (!ctx->a || !ctx->msg || !(ctx->msg->flags_size & MF_ASK) || ctx->replied ||
        ctx->msg->corr == 0)
        return TROUPE_ESTATE;
    int rc = ask_hold(ctx);
    if (rc)
        return rc;
    ctx->replied = true; /* the answer is the token's now */
    out->id = ctx->msg->corr;
    return 0;
}

TROUPE_API int troupe_reply_to(troupe_system *sys, troupe_reply_token token, uint32_t type,
                               const void *data, size_t len)
{
    if (!sys || !token.id || ask_valid_payload(type, data, len))
        return TROUPE_EINVAL;
    ask_rec *r = ask_lookup(sys, token.id);
    if (!r)
        return TROUPE_ENOTFOUND;
    /* relaxed: only the sender field of the reply; the claim decides */
    uint64_t holder = atomic_load_explicit(&r->holder, memory_order_relaxed);
    return reply_id(sys, token.id, holder, type, data, len);
}

/* ---- failing fast -------------------------------------------------------- */

void ask_abandon(troupe_system *sys, const tmsg *m, int code)
{
    if (!(m->flags_size & MF_ASK) || m->corr == 0)
        return;
    ask_rec *r = ask_lookup(sys, m->corr);
    if (ask_claim(r, m->corr)) /* else answered (or timed out) already */
        ask_finish(sys, r, m->corr, code, NULL, false);
}

/* The asks this incarnation holds (deferred replies) fail with it. A scan of
 * the table, paid only by an actor that held one: no list to allocate or
 * unlink on the reply path. */
static void fail_held(troupe_system *sys, uint64_t self, int code)
{
    uint32_t high = table_high(&sys->ak->recs);
    for (uint32_t i = 1; i <= high; i++) {
        ask_rec *r = table_get(&sys->ak->recs, i);
        if (!r)
            continue;
        /* acquire: pairs with ask_new's release (the holder reset) */
        uint64_t st = atomic_load_explicit(&r->st, memory_order_acquire);
        uint64_t id = ((uint64_t)st_gen(st) << 32) | i;
        if (st_state(st) == A_WAIT &&
            atomic_load_explicit(&r->holder, memory_order_relaxed) == self && ask_claim(r, id))
            ask_finish(sys, r, id, code, NULL, false);
    }
}

void ask_on_exit(troupe_system *sys, actor *a)
{
    actor_ext *x = ext_peek(a);
    if (!x)
        return;
    if (x->holds_asks) {
        x->holds_asks = false;
        fail_held(sys, ref_make(sys, a->index, a->gen).id,
                  (a->flags & AF_FAILED) ? TROUPE_EFAILED : TROUPE_ENOACTOR);
    }
    view_on_exit(sys, a);
}
