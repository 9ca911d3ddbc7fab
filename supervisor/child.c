/* supervisor/child.c — the workers' side of supervision: handing an ended
 * child to its supervisor, and running its restart (init) when told.
 *
 * Neither takes the tree's lock. A worker that ends a supervised actor
 * fills the child's embedded record and pushes it (lock-free); from then on
 * the actor is the supervisor's. A restart comes back as AF_REINIT on a
 * scheduled actor: the worker runs init for it and for the children chained
 * after it (a group restart, in start order), then lets each one go. The
 * actor's own side of both (its state, flags, lanes and queued messages)
 * is core's: actor_hold and actor_reinit (core/actor.c).
 */
#include <stdio.h>
#include <string.h>

#include "supervisor/evlog.h"
#include "supervisor/sv.h"

static sv_child *child_of(const actor *a)
{
    actor_ext *x = ext_peek(a);
    /* relaxed: set before the actor was first let go (published by the
     * scheduling that brought it here) */
    return x ? atomic_load_explicit(&x->child, memory_order_relaxed) : NULL;
}

bool sv_supervised(actor *a) { return child_of(a) != NULL; }

void sv_hold(troupe_system *sys, actor *a) { child_of(a)->held_at = actor_hold(sys, a); }

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

/* A restart's recovery that failed is a failure of its own in the event
 * log (the restart event says only "after <kind>"): the operator reads
 * there that the journal refused the actor, and why. */
static void log_persistence_failure(troupe_system *sys, actor *a, sv_child *c, const char *why)
{
    char detail[TROUPE_REASON_MAX + 32];
    snprintf(detail, sizeof detail, "%s: %s", troupe_failure_kind_name(TROUPE_EXIT_PERSISTENCE),
             why);
    evlog_add(sys, TROUPE_EVENT_FAILURE, c->ref, c->spec.name, a->beh->name, detail);
}

static void reinit_one(troupe_system *sys, actor *a, sv_child *c)
{
    /* c->restarts was set before this re-init was scheduled and changes
     * only after this incarnation's exit: ours to read (the epoch its
     * supervisor's stops carry) */
    actor_reinit_spec r = {.arg = c->arg_copy ? c->arg_copy : c->spec.arg,
                           .epoch = c->restarts,
                           .drop_queued = c->spec.drop_pending,
                           .held_at = c->held_at};
    int rc = actor_reinit(sys, a, &r);
    if (rc) {
        /* a panic, or a recovery (persistence/recover.c), left its reason */
        bool why = rc == TROUPE_EFAILED || rc == TROUPE_EIO || rc == TROUPE_ECORRUPT;
        /* a persistent actor's EIO or ECORRUPT is its recovery's: the
         * journal failed it (a corrupt row, a journal gone backwards) */
        bool pers = a->beh->persist && (rc == TROUPE_EIO || rc == TROUPE_ECORRUPT);
        if (pers)
            log_persistence_failure(sys, a, c, troupei_tls.panic_reason);
        sv_child_exited(sys, a, pers ? TROUPE_EXIT_PERSISTENCE : TROUPE_EXIT_INIT, rc,
                        why ? troupei_tls.panic_reason : troupe_strerror(rc));
    }
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
