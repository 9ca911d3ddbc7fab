/* supervisor/stop.c — stopping a supervisor's children, one at a time in
 * reverse start order (shutdown, escalation, the stop half of a group
 * restart, as OTP does), each waited for, up to its shutdown timeout,
 * before the next is told.
 *
 * "Stopped" here means held: the actor has ended its incarnation and waits
 * for its supervisor, which then restarts it (group restart, a parent's
 * restart) or ends it for good (shutdown, removal). Every function runs on
 * the supervisor thread, or an API caller, with the tree's lock held.
 */
#include <string.h>

#include "supervisor/sv.h"

static int64_t shutdown_of(const sv_child *c)
{
    int64_t t = c->sup ? c->sup->spec.shutdown_ns : c->spec.shutdown_ns;
    return t > 0 ? t : TROUPE_SHUTDOWN_DEFAULT_NS;
}

static void signal_child(sv *s, sv_child *c, bool kill)
{
    tmsg m = {.type = kill ? SYSMSG_KILL : SYSMSG_STOP,
              .corr = TROUPE_EXIT_SHUTDOWN | STOP_FROM_SV | c->restarts << STOP_EPOCH_SHIFT};
    if (send_sys(s->sys, c->ref, &m) == TROUPE_ENOMEM && mb_kick_mpsc(&c->a->mb, ref_gen(c->ref)))
        sched_actor(s->sys, c->a); /* no memory for the signal: see stop_all */
}

static void start_sub_stop(sv *s, sv_node *n, bool for_parent);
static void mark_stopped(sv *s, sv_child *c);

/* In a group restart, an idle sibling (nothing queued, not running) is
 * stopped here and now, in its turn: claimed the way a sender that finds it
 * idle claims it, its stop callback run on this thread, then held. That
 * saves a round trip through a worker per sibling (one STOP signal, one
 * run, one exit record). Anything else gets the signal. */
static bool stop_idle_now(sv *s, sv_child *c)
{
    actor *a = c->a;
    if (c->spec.beh->flags & TROUPE_BEH_TRAP_STOP)
        return false; /* it wants the stop as a message */
    if (!mb_kick_mpsc(&a->mb, ref_gen(c->ref)))
        return false; /* running, queued or suspended: it gets the signal */
    if (!c->spec.brutal)
        actor_stop_cb(s->sys, a, TROUPE_EXIT_SHUTDOWN);
    sv_hold(s->sys, a);
    c->by_kind[TROUPE_EXIT_SHUTDOWN]++;
    c->last_kind = TROUPE_EXIT_SHUTDOWN;
    memcpy(c->last_reason, "group restart", sizeof "group restart");
    return true;
}

/* Tell one child to stop. It reports back through sv_child_stopped. */
void sv_stop_child(sv *s, sv_child *c)
{
    sv_node *n = c->parent;
    c->to_stop = false;
    if (c->state == CH_STOPPING)
        return; /* already on its way (its parent counts it) */
    n->stopping++;
    if (c->sup) {
        c->state = CH_STOPPING;
        start_sub_stop(s, c->sup, true);
        return;
    }
    if (c->state != CH_RUNNING) { /* held already (backoff, stopped) */
        sv_set_deadline(s, c, 0);
        c->lead = false;
        c->state = CH_STOPPING;
        mark_stopped(s, c); /* the caller's loop goes on to the next */
        return;
    }
    c->state = CH_STOPPING;
    if (n->state == SUP_RESTARTING && stop_idle_now(s, c)) {
        mark_stopped(s, c);
        return;
    }
    /* The timeout counts from the telling: the clock is read, and the kill
     * armed, before the signal can be seen (a clock read after it could
     * already be later than the child's view of when it was told). */
    sv_set_deadline(s, c, sv_after(sv_now(s), (uint64_t)shutdown_of(c)));
    signal_child(s, c, c->spec.brutal);
}

static uint32_t remaining(const sv_node *n)
{
    uint32_t r = 0;
    for (const sv_child *c = n->first; c; c = c->next)
        r += c->to_stop || c->state == CH_STOPPING;
    return r;
}

void sv_report(sv *s, sv_node *n, bool done)
{
    (void)s;
    if (!n->cb)
        return;
    troupe_shutdown_report r = {.sup = {n->id}, .stopped = n->stopped, .forced = n->forced,
                                .remaining = done ? 0 : remaining(n), .done = done};
    n->cb(&r, n->cb_ud);
}

/* Tell the next child to stop, in reverse start order, or end the phase
 * when none is left. One at a time: the loop stops while a child is
 * stopping; its stop calls back here. A child that stops at once (idle,
 * held already, a subtree of held children) is only marked, and the loop
 * goes on. The scan resumes at n->cursor, so a phase costs one pass over
 * the children however many are busy. Not reentrant per node. Ending the
 * phase is the last thing done: it may free n. Only the child being
 * stopped can be freed inside the loop: the cursor has moved past it. */
void sv_stop_next(sv *s, sv_node *n)
{
    if (n->busy)
        return;
    n->busy = true;
    for (sv_child *c = n->cursor; c && !n->stopping; c = n->cursor) {
        n->cursor = c->prev;
        if (c->to_stop)
            sv_stop_child(s, c);
    }
    n->busy = false;
    if (n->stopping == 0)
        sv_node_exited(s, n);
}

void sv_stop_all(sv *s, sv_node *n, sv_child *from)
{
    bool on = from == NULL;
    for (sv_child *c = n->first; c; c = c->next) {
        if (c == from) {
            on = true;
            continue;
        }
        if (on)
            c->to_stop = true;
    }
    n->cursor = n->last;
    n->stopped = n->forced = 0;
    sv_stop_next(s, n);
}

static void start_sub_stop(sv *s, sv_node *n, bool for_parent)
{
    n->state = SUP_SHUTTING;
    n->for_parent = for_parent;
    n->then_end = false;
    sv_stop_all(s, n, NULL);
}

/* A child we told to stop has stopped (or was given up on at its
 * timeout: then it is `forced` and its late exit is handled as a zombie). */
void sv_child_stopped(sv *s, sv_child *c)
{
    sv_node *n = c->parent;
    mark_stopped(s, c);
    sv_stop_next(s, n);
}

/* The bookkeeping of a stop; may end (free) c. */
static void mark_stopped(sv *s, sv_child *c)
{
    sv_node *n = c->parent;
    sv_set_deadline(s, c, 0);
    c->state = CH_STOPPED;
    n->stopping--;
    n->stopped += !c->forced;
    if (n->state == SUP_SHUTTING) /* reports are a shutdown's progress */
        sv_report(s, n, false);
    /* removed (terminate_child), or a shutdown: it ends for good now */
    if (c->remove || (n->state == SUP_SHUTTING && n->then_end))
        sv_child_end(s, c, TROUPE_EXIT_SHUTDOWN, c->remove ? "terminated" : "shutdown");
}

void sv_terminate(sv *s, sv_child *c)
{
    c->remove = true;
    if (c->state != CH_STOPPING)
        sv_stop_child(s, c);
}

void sv_shutdown_node(sv *s, sv_node *n, troupe_shutdown_cb cb, void *ud)
{
    n->cb = cb;
    n->cb_ud = ud;
    n->state = SUP_SHUTTING;
    n->then_end = true;
    n->for_parent = false;
    sv_stop_all(s, n, NULL);
}

/* A stopping child's shutdown timeout passed. */
static void stop_timed_out(sv *s, sv_child *c)
{
    sv_node *n = c->parent;
    signal_child(s, c, true);
    n->forced++;
    if (!(n->state == SUP_SHUTTING && n->then_end) && !c->remove)
        return; /* it may be restarted: that needs its real exit */
    /* a shutdown moves on; the kill ends the actor when it next runs */
    c->forced = true;
    sv_child_stopped(s, c);
}

void sv_on_deadline(sv *s, sv_child *c)
{
    if (c->state == CH_STOPPING) {
        stop_timed_out(s, c);
        return;
    }
    if (c->state != CH_BACKOFF)
        return;
    if (c->lead) { /* the group's delay is over: restart it in start order */
        c->lead = false;
        c->state = CH_STOPPED;
        if (c->parent->state == SUP_RESTARTING)
            return; /* another stop phase is on: its end restarts the group */
        sv_restart_group(s, c->parent);
        return;
    }
    sv_child *one = c;
    sv_restart_now(s, &one, 1);
}
