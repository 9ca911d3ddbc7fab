/* supervisor/child.c — the workers' side of supervision: handing an ended
 * child to its supervisor, and running its restart (init) when told.
 *
 * Neither takes the tree's lock. A worker that ends a supervised actor
 * fills the child's embedded record and pushes it (lock-free); from then on
 * the actor is the supervisor's. A restart comes back as AF_REINIT on a
 * scheduled actor: the worker runs init for it and for the children chained
 * after it (a group restart, in start order), then lets each one go.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "supervisor/sv.h"

static sv_child *child_of(const actor *a)
{
    actor_ext *x = ext_peek(a);
    /* relaxed: set before the actor was first let go (published by the
     * scheduling that brought it here) */
    return x ? atomic_load_explicit(&x->child, memory_order_relaxed) : NULL;
}

bool sv_supervised(actor *a) { return child_of(a) != NULL; }

void sv_hold(troupe_system *sys, actor *a)
{
    /* relaxed: only a position is wanted (what was accepted by now); the
     * messages before it are waited for at the drop if still unwritten.
     * Published to the re-init by the hand-over (the exit record's push,
     * or the supervisor's scheduling). */
    child_of(a)->held_at = atomic_load_explicit(&a->mb.tail, memory_order_relaxed) & TW_POS_MASK;
    actor_free_state(sys, a);
    a->flags = (uint16_t)((a->flags & (AF_LIVE | AF_TRAP_STOP)) | AF_HELD);
    a->stop_kind = 0;
}

void sv_child_exited(troupe_system *sys, actor *a, troupe_failure_kind kind, int code,
                     const char *reason)
{
    sv_child *c = child_of(a);
    sv_hold(sys, a);
    sv_rec *r = &c->rec;
    r->c = c;
    r->kind = kind;
    r->code = code;
    r->at_ns = troupe_clock_now(sys->clock);
    snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
    sv_push(sys->sv, r); /* the actor is the supervisor's from here */
}

/* The supervisor's stop and kill signals meant for an earlier incarnation
 * must not stop this one: drop them. A signal it sent after deciding this
 * restart carries the new restart count and stays (the supervisor may stop
 * a child between scheduling its re-init and the re-init). */
static bool old_stop(const tmsg *m, uint64_t epoch)
{
    return (m->type == SYSMSG_STOP || m->type == SYSMSG_KILL) && (m->corr & STOP_FROM_SV) &&
           (m->corr >> STOP_EPOCH_SHIFT) < epoch;
}

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

/* drop_pending: the user messages queued when it was held (at its failure,
 * or its stop in a group restart) go, destroyed and counted; those sent
 * since, during a backoff, stay for the new incarnation. */
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

static void reinit_one(troupe_system *sys, actor *a, sv_child *c)
{
    a->flags &= (uint16_t)~(AF_REINIT | AF_FAILED | AF_STOP_REQ | AF_KILL | AF_HELD);
    /* c->restarts was set before this re-init was scheduled and changes
     * only after this incarnation's exit: ours to read */
    drop_old_stops(sys, a, c->restarts);
    if (c->spec.drop_pending)
        drop_queued(sys, a, c->held_at);
    int rc = actor_alloc_state(sys, a);
    if (rc == 0 && (a->beh->init || a->beh->persist))
        rc = actor_run_init(sys, a, c->arg_copy ? c->arg_copy : c->spec.arg);
    if (rc) {
        /* a panic, or a recovery (persistence/recover.c), left its reason */
        bool why = rc == TROUPE_EFAILED || rc == TROUPE_EIO || rc == TROUPE_ECORRUPT;
        sv_child_exited(sys, a, TROUPE_EXIT_INIT, rc,
                        why ? troupei_tls.panic_reason : troupe_strerror(rc));
        return;
    }
    actor_release(sys, a);
}

void sv_reinit_run(troupe_system *sys, actor *a)
{
    while (a) {
        sv_child *c = child_of(a);
        /* read before the release: from then on the supervisor may chain
         * this child anew */
        sv_child *next = c->chain;
        reinit_one(sys, a, c);
        a = next ? next->a : NULL;
    }
}
