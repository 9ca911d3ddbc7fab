/* core/actor.c — spawning, stopping, and the end of an actor's life. */
#include <string.h>

#include "core/alloc.h"
#include "core/ext.h"
#include "core/fault.h"
#include "core/system.h"

TROUPE_API void troupe_spawn_opts_defaults(troupe_spawn_opts *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->overflow = -1;
}

static int resolve_opts(troupe_system *sys, const troupe_spawn_opts *o, uint32_t *cap,
                        uint8_t *policy, uint32_t *batch, uint8_t home)
{
    uint32_t pool_batch = sys->pools[home].batch;
    *cap = o && o->capacity ? o->capacity : sys->cfg.mailbox_capacity;
    *batch = o && o->batch ? o->batch : pool_batch ? pool_batch : sys->cfg.batch;
    int p = o && o->overflow != -1 ? o->overflow : (int)sys->cfg.overflow;
    if (*cap > TROUPE_MAILBOX_MAX_CAPACITY || *batch > TROUPE_MAX_BATCH || p < 0 ||
        p > TROUPE_OVERFLOW_REDIRECT)
        return TROUPE_EINVAL;
    *policy = (uint8_t)p;
    return 0;
}

static uint32_t next_gen(uint32_t g)
{
    g = (g + 1) & GEN_MASK;
    return g ? g : 1;
}

int actor_alloc_state(troupe_system *sys, actor *a)
{
    size_t size = a->beh->state_size;
    if (size <= ACTOR_INLINE_STATE) {
        memset(a->inl_state, 0, sizeof a->inl_state);
        a->state = a->inl_state;
        return 0;
    }
    a->state = tcalloc(sys->alloc_mode, size);
    return a->state ? 0 : TROUPE_ENOMEM;
}

void actor_free_state(troupe_system *sys, actor *a)
{
    ask_on_exit(sys, a); /* the incarnation's held asks and view */
    if (a->state && a->state != (void *)a->inl_state)
        tfree(sys->alloc_mode, a->state, a->beh->state_size);
    a->state = NULL;
}

/* Run init with troupe_panic caught. The mailbox is open but held (not
 * idle), so messages init sends to itself wait until init is done. */
int actor_run_init(troupe_system *sys, actor *a, const void *arg)
{
    troupe_ctx ctx = {.sys = sys, .w = troupei_tls.w, .a = a};
    tls_state saved = troupei_tls;
    tjmp_buf jb;
    volatile int rc = TROUPE_EFAILED;
    troupei_tls.ctx = &ctx;
    troupei_tls.panic_jb = &jb;
    if (TJMP_SET(jb) == 0) {
        rc = a->beh->init ? a->beh->init(&ctx, a->state, arg) : 0;
        if (rc >= 0 && a->beh->persist) /* state as it was acknowledged */
            rc = sys->hooks.recover(sys, a, &ctx);
    }
    troupei_tls.ctx = saved.ctx;
    troupei_tls.panic_jb = saved.panic_jb;
    return rc < 0 ? rc : 0;
}

/* After init: let the actor go idle, or schedule what init queued. */
void actor_release(troupe_system *sys, actor *a)
{
    mailbox *mb = &a->mb;
    /* a restart keeps system messages in sys_local (drop_old_stops), and
     * parked blocks may wait in park_local: work the lanes do not show */
    if (!mb->sys_local && !mb->park_local && mb_try_idle(mb, a->gen)) {
        if (!lane_nonempty(&mb->sys) && !lane_nonempty(&mb->park))
            return;
        if (!mb_try_unidle(mb, a->gen))
            return; /* a sender scheduled it */
    }
    sched_actor(sys, a);
}

/* A supervised actor's exit, on the thread that ended it: free the state
 * and hold the actor (not idle, on no run queue, its mailbox open), so
 * that sends queue under its policy and nothing runs it until
 * actor_reinit or actor_end. The stop signals and the queued messages stay
 * for actor_reinit to sort. Returns the mailbox's claim position now. */
uint64_t actor_hold(troupe_system *sys, actor *a)
{
    /* relaxed: only a position is wanted (what was accepted by now); the
     * messages before it are waited for at the drop if still unwritten.
     * The caller publishes it to the re-init with the hand-over (the exit
     * record's push, or the supervisor's scheduling). */
    uint64_t at = atomic_load_explicit(&a->mb.tail, memory_order_relaxed) & TW_POS_MASK;
    actor_free_state(sys, a);
    if (a->flags & AF_FAULT)
        fault_hold(a); /* its own batch back */
    a->flags = (uint16_t)((a->flags & (AF_LIVE | AF_TRAP_STOP | AF_PLACED)) | AF_HELD);
    a->stop_kind = 0;
    return at;
}

/* The supervisor's stop and kill signals meant for an earlier incarnation
 * must not stop this one. A signal it sent after deciding this restart
 * carries the new epoch and stays (the supervisor may stop a child between
 * scheduling its re-init and the re-init). */
static bool old_stop(const tmsg *m, uint64_t epoch)
{
    return (m->type == SYSMSG_STOP || m->type == SYSMSG_KILL) && (m->corr & STOP_FROM_SV) &&
           (m->corr >> STOP_EPOCH_SHIFT) < epoch;
}

/* The system lane, taken whole into sys_local, less the old stops: the
 * rest is served by the new incarnation's first run. */
static void drop_old_stops(troupe_system *sys, actor *a, uint64_t epoch)
{
    mailbox *mb = &a->mb;
    envelope *keep = NULL, **tail = &keep;
    envelope *e = mb->sys_local;
    if (lane_maybe_nonempty(&mb->sys)) {
        envelope *more = (envelope *)lane_take(&mb->sys, a->gen);
        envelope **end = &e;
        while (*end)
            end = &(*end)->next;
        *end = more;
    }
    while (e) {
        envelope *next = e->next;
        if (old_stop(&e->m, epoch)) {
            tfree(sys->alloc_mode, e, sizeof *e);
        } else {
            e->next = NULL;
            *tail = e;
            tail = &e->next;
        }
        e = next;
    }
    mb->sys_local = keep;
}

/* The user messages accepted before position upto go, destroyed and
 * counted; those sent since (during a backoff) stay. */
static void drop_queued(troupe_system *sys, actor *a, uint64_t upto)
{
    mailbox *mb = &a->mb;
    tmsg m;
    for (;;) {
        /* acquire: pairs with the release store of head in mb_front, also
         * a DROP_OLDEST sender's that took the oldest away */
        uint64_t left = pos_sub(upto, atomic_load_explicit(&mb->head, memory_order_acquire));
        if (left == 0 || left > TW_POS_MASK / 2)
            return; /* reached (or passed by a DROP_OLDEST sender) */
        int rc = mb_pop(mb, &m);
        if (rc == MB_OK)
            actor_drop_msg(sys, &m);
        else if (rc == MB_EMPTY)
            return;
        else
            cpu_relax(); /* claimed, not yet written */
    }
}

void actor_reinit_schedule(troupe_system *sys, actor *a)
{
    /* the caller owns the held actor: the scheduling publishes the flag
     * (release) to the worker that runs it */
    a->flags |= AF_REINIT;
    sched_actor(sys, a);
}

int actor_reinit(troupe_system *sys, actor *a, const actor_reinit_spec *r)
{
    a->flags &= (uint16_t)~(AF_REINIT | AF_FAILED | AF_STOP_REQ | AF_KILL | AF_HELD);
    drop_old_stops(sys, a, r->epoch);
    if (r->drop_queued)
        drop_queued(sys, a, r->held_at);
    int rc = actor_alloc_state(sys, a);
    if (rc == 0 && (a->beh->init || a->beh->persist))
        rc = actor_run_init(sys, a, r->arg);
    if (rc == 0)
        actor_release(sys, a);
    return rc;
}

/* The slot's ext of an earlier incarnation is reused: clear what was its. */
static int reset_ext(troupe_system *sys, actor *a, const troupe_spawn_opts *o,
                     struct sv_child *child, uint32_t pin)
{
    uint64_t to = o ? o->redirect_to.id : 0;
    bool need = to || child || pin;
    actor_ext *x = need ? ext_get(sys, a) : ext_peek(a);
    if (!x)
        return need ? TROUPE_ENOMEM : 0;
    /* relaxed: published with the actor (mb_open's release) */
    atomic_store_explicit(&x->redirect, to, memory_order_relaxed);
    atomic_store_explicit(&x->child, child, memory_order_relaxed);
    atomic_store_explicit(&x->pin, pin, memory_order_relaxed);
    return 0;
}

/* Everything but letting the actor go: see spawn_held. */
static int spawn_core(troupe_system *sys, const troupe_behaviour *beh, const void *arg,
                      const troupe_spawn_opts *opts, struct sv_child *child, const char *name,
                      uint16_t flags, actor **out_a)
{
    uint32_t cap, batch, idx, pin;
    uint8_t policy, home;
    void *obj;
    int rc = pool_resolve(sys, opts, &home, &pin);
    if (rc || (rc = resolve_opts(sys, opts, &cap, &policy, &batch, home)))
        return rc;
    if (atomic_load_explicit(&sys->state, memory_order_acquire) != SYS_RUNNING)
        return TROUPE_ESHUTDOWN;
    if ((rc = table_alloc(&sys->actors, &idx, &obj)))
        return rc;
    actor *a = obj;
    /* relaxed atomic: observe/ reads it racily while walking the table
     * (published by mb_open's release below) */
    __atomic_store_n(&a->beh, beh, __ATOMIC_RELAXED);
    a->flags = flags | ((beh->flags & TROUPE_BEH_TRAP_STOP) ? AF_TRAP_STOP : 0) |
               (home || pin ? AF_PLACED : 0);
    a->home = home; /* before init: a child it spawns goes to its pool */
    if ((rc = actor_alloc_state(sys, a)) || (rc = reset_ext(sys, a, opts, child, pin)) ||
        (beh->persist && (rc = sys->hooks.attach(sys, a, opts)))) {
        actor_free_state(sys, a);
        table_free(&sys->actors, idx);
        return rc;
    }
    a->index = idx;
    a->gen = next_gen(a->gen);
    a->batch = batch;
    a->stop_kind = 0;
    atomic_store_explicit(&a->mute, 0, memory_order_relaxed);
    mb_fit_ring(sys, &a->mb, cap);
    /* held (not idle): sends during init queue without scheduling it */
    mb_open(&a->mb, a->gen, cap, policy, false);
    /* the name is the actor's before init runs, as in OTP: a taken one
     * fails the spawn before any callback, a failed init releases it */
    if (name && (rc = sys->hooks.name(sys, name, ref_make(sys, idx, a->gen)))) {
        actor_finish(sys, a, TROUPE_EXIT_INIT);
        return rc;
    }
    if ((beh->init || beh->persist) && (rc = actor_run_init(sys, a, arg)) != 0) {
        actor_finish(sys, a, TROUPE_EXIT_INIT);
        return rc;
    }
    if (!(flags & AF_SYSTEM)) {
        a->flags |= AF_LIVE;
        atomic_fetch_add_explicit(&sys->live, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&sys->spawned, 1, memory_order_relaxed);
    }
    *out_a = a;
    return 0;
}

int spawn_held(troupe_system *sys, const troupe_behaviour *beh, const void *arg,
               const troupe_spawn_opts *opts, struct sv_child *child, const char *name,
               troupe_ref *out)
{
    actor *a;
    int rc = spawn_core(sys, beh, arg, opts, child, name, 0, &a);
    if (rc == 0)
        *out = ref_make(sys, a->index, a->gen);
    return rc;
}

static int spawn_actor(troupe_system *sys, const troupe_behaviour *beh, const void *arg,
                       const troupe_spawn_opts *opts, troupe_ref *out, uint16_t flags)
{
    actor *a;
    int rc = spawn_core(sys, beh, arg, opts, NULL, NULL, flags, &a);
    if (rc)
        return rc;
    *out = ref_make(sys, a->index, a->gen);
    actor_release(sys, a);
    return 0;
}

TROUPE_API int troupe_spawn(troupe_system *sys, const troupe_behaviour *beh, const void *arg,
                            const troupe_spawn_opts *opts, troupe_ref *out)
{
    if (!out)
        return TROUPE_EINVAL;
    *out = TROUPE_REF_NONE;
    if (!sys || !beh || !beh->handle)
        return TROUPE_EINVAL;
    return spawn_actor(sys, beh, arg, opts, out, 0);
}

/* An undelivered message at stop or destroy. The runtime's own control
 * messages (stop signals) are not counted: the figure is about the user's. */
static void drop_counted(void *ud, tmsg *m)
{
    troupe_system *sys = ud;
    actor_drop_msg(sys, m);
}

void actor_drop_msg(troupe_system *sys, tmsg *m)
{
    ask_abandon(sys, m, TROUPE_ENOACTOR); /* an ask fails now, not at its timeout */
    tmsg_destroy(sys, m);
    if (m->type < SYSMSG_FIRST) /* the runtime's own signals are not messages */
        atomic_fetch_add_explicit(&sys->destroyed, 1, memory_order_relaxed);
}

/* Destroy the system lane's leftovers. */
static void drop_envelopes(troupe_system *sys, envelope *e)
{
    while (e) {
        envelope *next = e->next;
        drop_counted(sys, &e->m);
        tfree(sys->alloc_mode, e, sizeof *e);
        e = next;
    }
}

void actor_stop_cb(troupe_system *sys, actor *a, troupe_failure_kind why)
{
    if (!a->beh->stop || (a->flags & AF_HELD))
        return;
    troupe_ctx ctx = {.sys = sys, .w = troupei_tls.w, .a = a};
    tls_state saved = troupei_tls;
    tjmp_buf jb;
    troupei_tls.ctx = &ctx;
    troupei_tls.panic_jb = &jb;
    if (TJMP_SET(jb) == 0) /* a panic in stop ends the stop callback only */
        a->beh->stop(&ctx, a->state, why);
    troupei_tls.ctx = saved.ctx;
    troupei_tls.panic_jb = saved.panic_jb;
}

void actor_finish(troupe_system *sys, actor *a, troupe_failure_kind why)
{
    actor_end(sys, a, why, why != TROUPE_EXIT_INIT, NULL);
}

void actor_end(troupe_system *sys, actor *a, troupe_failure_kind why, bool stop_cb,
               const char *reason)
{
    if (stop_cb)
        actor_stop_cb(sys, a, why);
    drop_envelopes(sys, (envelope *)lane_close(&a->mb.sys));
    drop_envelopes(sys, a->mb.sys_local);
    a->mb.sys_local = NULL;
    park_drop(sys, a);
    mb_close(sys, &a->mb, drop_counted, sys);
    sys->hooks.fold(sys, a); /* its counters join its type's totals */
    actor_free_state(sys, a);
    ext_on_finish(sys, a, why, reason); /* DOWN, registry: after the close */
    sys->hooks.detach(a);
    uint16_t flags = a->flags;
    a->flags = 0;
    table_free(&sys->actors, a->index);
    if (!(flags & AF_LIVE))
        return; /* a runtime actor, or a spawn whose init failed */
    pthread_mutex_lock(&sys->live_lock);
    if (atomic_fetch_sub_explicit(&sys->live, 1, memory_order_acq_rel) == 1)
        pthread_cond_broadcast(&sys->live_cond);
    pthread_mutex_unlock(&sys->live_lock);
}

/* Live and of this generation (a hint: it may end right after). */
static bool ref_live(troupe_system *sys, troupe_ref r, actor **out)
{
    actor *a = actor_lookup(sys, r);
    if (!a)
        return false;
    uint64_t t = atomic_load_explicit(&a->mb.tail, memory_order_acquire);
    *out = a;
    return tw_gen(t) == ref_gen(r) && !(t & TW_CLOSED);
}

TROUPE_API int troupe_stop(troupe_system *sys, troupe_ref ref)
{
    if (!sys)
        return TROUPE_EINVAL;
    tmsg m = {.type = SYSMSG_STOP, .corr = TROUPE_EXIT_NORMAL};
    return send_sys(sys, ref, &m);
}

TROUPE_API int troupe_stop_self(troupe_ctx *ctx)
{
    if (!ctx || !ctx->a)
        return TROUPE_EINVAL;
    ctx->a->flags |= AF_STOP_REQ;
    ctx->a->stop_kind = TROUPE_EXIT_NORMAL;
    return 0;
}

TROUPE_API int troupe_alive(troupe_system *sys, troupe_ref ref)
{
    actor *a;
    return sys && ref_live(sys, ref, &a) ? 1 : 0;
}

TROUPE_API int troupe_actor_stats(troupe_system *sys, troupe_ref ref, troupe_mailbox_stats *out)
{
    actor *a;
    if (!sys || !out)
        return TROUPE_EINVAL;
    if (!ref_live(sys, ref, &a))
        return TROUPE_ENOACTOR;
    mailbox *mb = &a->mb;
    *out = (troupe_mailbox_stats){
        .accepted = mb_accepted(mb),
        .handled = atomic_load_explicit(&mb->handled, memory_order_relaxed),
        .dropped = atomic_load_explicit(&mb->dropped, memory_order_relaxed),
        .rejected = atomic_load_explicit(&mb->rejected, memory_order_relaxed),
        .redirected = atomic_load_explicit(&mb->redirected, memory_order_relaxed),
        .parked = atomic_load_explicit(&mb->parked, memory_order_relaxed),
        .failed = atomic_load_explicit(&mb->failed, memory_order_relaxed),
        .depth = mb_depth(mb) + mb_parked_now(mb),
        .capacity = mb_cap(mb),
    };
    /* the actor may have ended while we read: then the figures are not its */
    return ref_live(sys, ref, &a) ? 0 : TROUPE_ENOACTOR;
}

TROUPE_API troupe_ref troupe_self(const troupe_ctx *ctx)
{
    return ctx && ctx->a ? ref_make(ctx->sys, ctx->a->index, ctx->a->gen) : TROUPE_REF_NONE;
}

TROUPE_API troupe_system *troupe_ctx_system(const troupe_ctx *ctx) { return ctx ? ctx->sys : NULL; }

TROUPE_API uint32_t troupe_ctx_worker(const troupe_ctx *ctx)
{
    return ctx && ctx->w ? ctx->w->index : 0;
}

TROUPE_API troupe_ref troupe_current(void)
{
    troupe_ctx *c = troupei_tls.ctx;
    return c && c->a ? ref_make(c->sys, c->a->index, c->a->gen) : TROUPE_REF_NONE;
}

TROUPE_API int troupe_panic(const char *reason)
{
    if (!troupei_tls.panic_jb)
        return TROUPE_ESTATE;
    size_t n = reason ? strlen(reason) : 0;
    if (n >= sizeof troupei_tls.panic_reason)
        n = sizeof troupei_tls.panic_reason - 1;
    memcpy(troupei_tls.panic_reason, reason ? reason : "", n);
    troupei_tls.panic_reason[n] = '\0';
    TJMP_JUMP(*troupei_tls.panic_jb);
}

/* The dead-letter actor: counts what REDIRECT sends it; the runtime then
 * destroys each message as usual. An ask among them fails now with
 * TROUPE_ENOACTOR (no actor will answer it), not at its timeout. */
static int dead_letter_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    (void)state;
    (void)msg;
    atomic_fetch_add_explicit(&ctx->sys->dead_letters, 1, memory_order_relaxed);
    ask_abandon(ctx->sys, ctx->msg, TROUPE_ENOACTOR);
    return 0;
}

static const troupe_behaviour dead_letter_beh = {.name = "troupe.dead_letters",
                                                 .handle = dead_letter_handle};

int dead_letter_spawn(troupe_system *sys)
{
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.capacity = 65536;
    o.overflow = TROUPE_OVERFLOW_DROP_NEWEST;
    return spawn_actor(sys, &dead_letter_beh, NULL, &o, &sys->dead_letter, AF_SYSTEM);
}


bool dead_letter_beh_is(const troupe_behaviour *beh) { return beh == &dead_letter_beh; }

int spawn_system(troupe_system *sys, const troupe_behaviour *beh, troupe_ref *out)
{
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.capacity = 1024;
    o.overflow = TROUPE_OVERFLOW_DROP_NEWEST; /* ticks: a lost one is no loss */
    return spawn_actor(sys, beh, NULL, &o, out, AF_SYSTEM);
}
