/* core/send.c — tell and the overflow policies.
 *
 * The fast path of a send is one CAS on the receiver's tail word that
 * claims a slot (or, from a handler, a reservation of several: the next
 * sends to the same receiver are plain stores), checks the receiver's
 * generation, and tells whether this send made the receiver runnable.
 * Everything else here runs only when the ring is full.
 */
#include "core/alloc.h"
#include "core/ext.h"
#include "core/system.h"

#define REDIRECT_DEPTH 4

int send_push_one(troupe_system *sys, actor *a, uint32_t gen, const tmsg *m)
{
    bool sched;
    int rc = mb_push_mpsc(sys, &a->mb, gen, m, &sched);
    if (likely(rc == MB_OK)) {
        if (sched)
            sched_actor(sys, a);
        return 0;
    }
    return rc == MB_FULL ? PUSH_FULL : rc == MB_GONE ? TROUPE_ENOACTOR : TROUPE_ENOMEM;
}

static inline uint64_t sender_ref(troupe_system *sys)
{
    troupe_ctx *c = troupei_tls.ctx;
    if (c && c->a && c->sys == sys)
        return ref_make(sys, c->a->index, c->a->gen).id;
    return 0;
}

static int deliver(troupe_system *sys, actor *a, uint32_t gen, tmsg *m, int depth);

/* Remember that the running handler parked a message at `a`: its later
 * sends to `a` must park too, or they would overtake the parked one. */
void note_muted(troupe_ctx *c, actor *a)
{
    for (uint8_t i = 0; i < c->nmuted; i++)
        if (c->muted_on[i] == a->index)
            return;
    if (c->nmuted < sizeof c->muted_on / sizeof c->muted_on[0])
        c->muted_on[c->nmuted++] = a->index;
    else
        c->muted_all = true;
}

static bool is_muted_on(const troupe_ctx *c, const actor *a)
{
    if (c->muted_all)
        return true;
    for (uint8_t i = 0; i < c->nmuted; i++)
        if (c->muted_on[i] == a->index)
            return true;
    return false;
}

/* DROP_OLDEST: the incoming message always gets in, and the oldest
 * queued one goes (mailbox.h: mb_push_evict_mpmc claims over the capacity
 * under the pop lock, so no other sender can take the room it makes). */
static int drop_oldest(troupe_system *sys, actor *a, uint32_t gen, tmsg *m)
{
    for (;;) {
        bool sched, evicted;
        tmsg old;
        int rc = mb_push_evict_mpmc(&a->mb, gen, m, &sched, &old, &evicted);
        if (evicted) {
            atomic_fetch_add_explicit(&a->mb.dropped, 1, memory_order_relaxed);
            ask_abandon(sys, &old, TROUPE_EFULL); /* its asker hears now */
            tmsg_destroy(sys, &old); /* outside the lock: a dtor may send */
        }
        if (rc == MB_OK) {
            if (sched)
                sched_actor(sys, a);
            return 0;
        }
        if (rc == MB_GONE)
            return TROUPE_ENOACTOR;
        /* no ring yet: the plain push installs it */
        if ((rc = send_push_one(sys, a, gen, m)) != PUSH_FULL)
            return rc;
    }
}

static int redirect(troupe_system *sys, actor *a, tmsg *m, int depth)
{
    atomic_fetch_add_explicit(&a->mb.redirected, 1, memory_order_relaxed);
    actor_ext *x = ext_peek(a);
    /* relaxed: a target of another incarnation fails its own checks */
    troupe_ref to = {x ? atomic_load_explicit(&x->redirect, memory_order_relaxed) : 0};
    if (troupe_ref_is_none(to))
        to = sys->dead_letter;
    actor *t = actor_lookup(sys, to);
    int rc = t ? deliver(sys, t, ref_gen(to), m, depth + 1) : TROUPE_ENOACTOR;
    if (rc == TROUPE_ENOACTOR && !troupe_ref_eq(to, sys->dead_letter)) {
        actor *d = actor_lookup(sys, sys->dead_letter);
        rc = d ? deliver(sys, d, ref_gen(sys->dead_letter), m, depth + 1) : rc;
    }
    return rc;
}

static int overflow(troupe_system *sys, actor *a, uint32_t gen, tmsg *m, int depth)
{
    troupe_ctx *c = troupei_tls.ctx;
    int policy = depth >= REDIRECT_DEPTH ? TROUPE_OVERFLOW_DROP_NEWEST : mb_policy(&a->mb);
    switch (policy) {
    case TROUPE_OVERFLOW_REJECT:
        atomic_fetch_add_explicit(&a->mb.rejected, 1, memory_order_relaxed);
        return TROUPE_EFULL;
    case TROUPE_OVERFLOW_DROP_OLDEST:
        return drop_oldest(sys, a, gen, m);
    case TROUPE_OVERFLOW_REDIRECT:
        return redirect(sys, a, m, depth);
    case TROUPE_OVERFLOW_BLOCK:
        if ((c && c->sys == sys && c->a) || troupei_tls.no_block)
            return park_msg(sys, a, gen, m);
        return space_wait_blocking(sys, a, gen, m);
    default: /* DROP_NEWEST: "sent", but an ask's asker hears now */
        atomic_fetch_add_explicit(&a->mb.dropped, 1, memory_order_relaxed);
        ask_abandon(sys, m, TROUPE_EFULL);
        tmsg_destroy(sys, m);
        return 0;
    }
}

#define RES_MAX_CHUNK 64u

void send_flush(worker *w)
{
    sendres *r = &w->res;
    if (unlikely(w->pb))
        park_flush(w);
    if (likely(!r->a))
        return;
    if (r->pos != r->end && !mb_unreserve(&r->a->mb, r->gen, r->pos, r->end))
        mb_fill_holes(&r->a->mb, r->pos, pos_sub(r->end, r->pos));
    if (r->sched)
        sched_actor(w->sys, r->a);
    r->hint_a = r->a;
    r->hint_n = r->sent;
    r->a = NULL;
    r->sched = false;
}

/* How many slots to claim next: as many as the last handler sent to this
 * receiver, if this one has not reached that yet (a steady burst claims
 * exactly what it uses); else 1, doubling while the handler keeps sending,
 * up to RES_MAX_CHUNK — a lone send claims one slot. */
static uint32_t next_chunk(const sendres *r, actor *a, bool same)
{
    uint32_t sent = same ? r->sent : 0;
    if (r->hint_a == a && sent < r->hint_n)
        return r->hint_n - sent < RES_MAX_CHUNK ? r->hint_n - sent : RES_MAX_CHUNK;
    if (!same)
        return 1;
    return r->chunk < RES_MAX_CHUNK ? r->chunk * 2 : RES_MAX_CHUNK;
}

/* From a handler: fill the open reservation, or claim a new one (one CAS
 * per claim); unused slots are given back, or published as holes, at the
 * end of the handler. */
static int deliver_batched(troupe_system *sys, worker *w, actor *a, uint32_t gen, tmsg *m,
                           int depth)
{
    sendres *r = &w->res;
    bool same = r->a == a && r->gen == gen;
    if (likely(same && r->pos != r->end)) {
        mb_write(&a->mb, r->pos, m);
        r->pos = (r->pos + 1) & TW_POS_MASK;
        r->sent++;
        return 0;
    }
    if (!same)
        send_flush(w);
    uint32_t want = next_chunk(r, a, same);
    uint64_t pos;
    uint32_t got;
    bool sched;
    int rc = mb_reserve_mpsc(sys, &a->mb, gen, want, &pos, &got, &sched);
    if (likely(rc == MB_OK)) {
        r->sched = (same && r->sched) || sched;
        r->sent = same ? r->sent + 1 : 1;
        r->a = a;
        r->gen = gen;
        r->chunk = want;
        r->pos = (pos + 1) & TW_POS_MASK;
        r->end = (pos + got) & TW_POS_MASK;
        mb_write(&a->mb, pos, m);
        return 0;
    }
    send_flush(w); /* earlier messages first, and a pending schedule */
    if (rc == MB_GONE)
        return TROUPE_ENOACTOR;
    if (rc == MB_NOMEM)
        return TROUPE_ENOMEM;
    return overflow(sys, a, gen, m, depth);
}

static int deliver(troupe_system *sys, actor *a, uint32_t gen, tmsg *m, int depth)
{
    troupe_ctx *c = troupei_tls.ctx;
    if (unlikely(c && c->a && mb_policy(&a->mb) == TROUPE_OVERFLOW_BLOCK && c->a != a &&
                 ((c->a->flags & AF_PARK_ALL) || ((c->nmuted || c->muted_all) && is_muted_on(c, a)))))
        return park_msg(sys, a, gen, m);
    if (c && c->w && c == &c->w->ctx && depth == 0)
        return deliver_batched(sys, c->w, a, gen, m, depth);
    int rc = send_push_one(sys, a, gen, m);
    return rc == PUSH_FULL ? overflow(sys, a, gen, m, depth) : rc;
}

/* actor_lookup failed: a ref of another node goes to the cluster's port,
 * if one is attached; anything else names nothing. Out of line, so that
 * the local path is unchanged (the gate). */
static __attribute__((noinline, cold)) int send_other(troupe_system *sys, troupe_ref to, tmsg *m)
{
    uint64_t tag = to.id & REF_TAG_MASK;
    if (tag == sys->ref_tag)
        return TROUPE_ENOACTOR;
    /* seq_cst: pairs with remote_detach's store of NULL, then its load of
     * remote_busy: either it sees us busy, or we see the port gone */
    atomic_fetch_add(&sys->remote_busy, 1);
    remote_port *p = atomic_load(&sys->remote);
    int rc = p ? p->send(p, sys, to, m) : TROUPE_ENOACTOR;
    /* release: our use of the port before detach's wait ends */
    atomic_fetch_sub_explicit(&sys->remote_busy, 1, memory_order_release);
    return rc;
}

/* The port's monitor calls, under the same busy count as send_other. */
static remote_port *port_enter(troupe_system *sys, troupe_ref to)
{
    if ((to.id & REF_TAG_MASK) == sys->ref_tag)
        return NULL;
    atomic_fetch_add(&sys->remote_busy, 1); /* seq_cst: see send_other */
    remote_port *p = atomic_load(&sys->remote);
    if (!p) /* release: see send_other */
        atomic_fetch_sub_explicit(&sys->remote_busy, 1, memory_order_release);
    return p;
}

static void port_leave(troupe_system *sys)
{
    atomic_fetch_sub_explicit(&sys->remote_busy, 1, memory_order_release); /* see send_other */
}

int remote_monitor(troupe_system *sys, troupe_ref watcher, troupe_ref target, uint64_t id)
{
    remote_port *p = port_enter(sys, target);
    if (!p)
        return TROUPE_ENOACTOR;
    int rc = p->monitor(p, sys, watcher, target, id);
    port_leave(sys);
    return rc;
}

int remote_demonitor(troupe_system *sys, troupe_ref target, uint64_t id)
{
    remote_port *p = port_enter(sys, target);
    if (!p)
        return TROUPE_ENOTFOUND;
    int rc = p->demonitor(p, sys, target, id);
    port_leave(sys);
    return rc;
}

void remote_attach(troupe_system *sys, remote_port *p)
{
    atomic_store(&sys->remote, p); /* seq_cst: see send_other */
}

void remote_detach(troupe_system *sys)
{
    atomic_store(&sys->remote, NULL); /* seq_cst: see send_other */
    /* acquire: pairs with send_other's release decrement */
    while (atomic_load_explicit(&sys->remote_busy, memory_order_acquire))
        cpu_relax();
}

int send_from_remote(troupe_system *sys, troupe_ref to, tmsg *m)
{
    /* relaxed: as send_msg, a hint */
    if (atomic_load_explicit(&sys->state, memory_order_relaxed) != SYS_RUNNING)
        return TROUPE_ESHUTDOWN;
    actor *a = actor_lookup(sys, to);
    if (!a)
        return TROUPE_ENOACTOR;
    int rc = send_push_one(sys, a, ref_gen(to), m);
    if (rc != PUSH_FULL)
        return rc;
    if (mb_policy(&a->mb) == TROUPE_OVERFLOW_BLOCK) { /* a network sender cannot wait */
        atomic_fetch_add_explicit(&a->mb.rejected, 1, memory_order_relaxed);
        return TROUPE_EFULL;
    }
    return overflow(sys, a, ref_gen(to), m, 0);
}

/* A local actor, or another node's through the cluster's port (its frame
 * carries the box's context as bytes: cluster/remote_trace.c). Cold: on
 * the traced path only. */
__attribute__((noinline, cold)) bool send_traceable(troupe_system *sys, troupe_ref to)
{
    if (actor_lookup(sys, to))
        return true;
    /* relaxed: a hint; send_other decides under its busy count */
    return (to.id & REF_TAG_MASK) != sys->ref_tag &&
           atomic_load_explicit(&sys->remote, memory_order_relaxed) != NULL;
}

/* Past the gate: the actor here, or the cluster's port. */
static inline int send_plain(troupe_system *sys, troupe_ref to, tmsg *m)
{
    actor *a = actor_lookup(sys, to);
    if (unlikely(!a)) {
        m->sender = sender_ref(sys);
        return send_other(sys, to, m);
    }
    m->sender = sender_ref(sys);
    return deliver(sys, a, ref_gen(to), m, 0);
}

/* A send with a current trace context (troupei_tls.trace): m gets its
 * span's context (core/message.h), or is sent untraced if the box cannot
 * be had; a failed send unboxes it again, for its caller keeps it. */
static __attribute__((noinline, cold)) int send_traced(troupe_system *sys, troupe_ref to, tmsg *m)
{
    if (!(m->flags_size & MF_TRACED) && sys->hooks.trace_send && send_traceable(sys, to))
        sys->hooks.trace_send(sys, m);
    void *cur = troupei_tls.trace;
    troupei_tls.trace = NULL; /* for what send_plain calls */
    int rc = send_plain(sys, to, m);
    troupei_tls.trace = cur;
    if (rc && (m->flags_size & MF_TRACED))
        tmsg_unbox(sys, m, NULL);
    return rc;
}

void send_gate_trace(troupe_system *sys)
{
    /* relaxed: load first so that the line is not written on every span;
     * the pusher's own sends see its store (same thread), other threads'
     * contexts are theirs to set the gate for */
    if (!(atomic_load_explicit(&sys->send_gate, memory_order_relaxed) & SEND_GATE_TRACE))
        atomic_fetch_or_explicit(&sys->send_gate, SEND_GATE_TRACE, memory_order_relaxed);
}

/* Shutting down, or a trace context may be current: off the plain path. */
static __attribute__((noinline, cold)) int send_gated(troupe_system *sys, troupe_ref to, tmsg *m)
{
    /* relaxed: as send_msg's */
    if (atomic_load_explicit(&sys->state, memory_order_relaxed) != SYS_RUNNING)
        return TROUPE_ESHUTDOWN;
    if (troupei_tls.trace)
        return send_traced(sys, to, m);
    return send_plain(sys, to, m);
}

int send_msg(troupe_system *sys, troupe_ref to, tmsg *m)
{
    /* relaxed: a hint (send_gate); the claim's generation check decides */
    if (unlikely(atomic_load_explicit(&sys->send_gate, memory_order_relaxed)))
        return send_gated(sys, to, m);
    return send_plain(sys, to, m);
}

int send_sys(troupe_system *sys, troupe_ref to, const tmsg *m)
{
    actor *a = actor_lookup(sys, to);
    if (!a) { /* another node's watcher: its DOWN goes through the port */
        tmsg c = *m; /* taken on success, as the envelope would */
        if (!c.sender)
            c.sender = sender_ref(sys);
        return send_other(sys, to, &c);
    }
    envelope *e = talloc(sys->alloc_mode, sizeof *e);
    if (!e)
        return TROUPE_ENOMEM;
    e->m = *m;
    if (!e->m.sender)
        e->m.sender = sender_ref(sys);
    if (lane_push_mpsc(&a->mb.sys, ref_gen(to), (lane_node *)e) < 0) {
        tfree(sys->alloc_mode, e, sizeof *e);
        return TROUPE_ENOACTOR;
    }
    /* a suspended (muted) actor is taken back too: a stop or a reply must
     * not wait for its parked messages; it runs in PARK_ALL mode */
    if (mb_kick_mpsc(&a->mb, ref_gen(to)) || mute_take_suspended(a))
        sched_actor(sys, a);
    return 0;
}

int send_sys_env(troupe_system *sys, troupe_ref to, envelope *e)
{
    actor *a = actor_lookup(sys, to);
    if (!a)
        return TROUPE_ENOACTOR;
    if (!e->m.sender)
        e->m.sender = sender_ref(sys);
    if (lane_push_mpsc(&a->mb.sys, ref_gen(to), (lane_node *)e) < 0)
        return TROUPE_ENOACTOR;
    if (mb_kick_mpsc(&a->mb, ref_gen(to)) || mute_take_suspended(a))
        sched_actor(sys, a);
    return 0;
}

TROUPE_API int troupe_tell(troupe_system *sys, troupe_ref to, uint32_t type, const void *data,
                           size_t len)
{
    if (unlikely(!sys || (len && !data) || len > TROUPE_COPY_MAX || type >= TROUPE_MSG_SYSTEM))
        return TROUPE_EINVAL;
    tmsg m;
    int rc = tmsg_copy(sys, &m, type, data, len);
    if (rc)
        return rc;
    rc = send_msg(sys, to, &m);
    if (rc)
        tmsg_destroy(sys, &m); /* our copy; the caller's data is untouched */
    return rc;
}

TROUPE_API int troupe_tell_ptr(troupe_system *sys, troupe_ref to, uint32_t type, void *ptr,
                               troupe_dtor dtor)
{
    if (!sys || type >= TROUPE_MSG_SYSTEM)
        return TROUPE_EINVAL;
    tmsg m;
    tmsg_ptr(&m, type, ptr, dtor);
    return send_msg(sys, to, &m); /* on error the caller keeps ptr */
}

TROUPE_API void *troupe_msg_take(troupe_ctx *ctx)
{
    if (!ctx || !ctx->msg || !(ctx->msg->flags_size & MF_PTR))
        return NULL;
    ctx->msg->flags_size &= ~MF_PTR;
    return ctx->msg->u.p.ptr;
}
