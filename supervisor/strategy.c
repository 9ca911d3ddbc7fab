/* supervisor/strategy.c — what the supervisor thread does with an exit:
 * restart (now, after a backoff, or as a group), end for good, or escalate.
 *
 * All of it runs with the tree's lock held. The decision for an unexpected
 * exit, in order:
 *   1. the restart type: TEMPORARY never restarts, TRANSIENT only after an
 *      abnormal exit — else the child ends for good;
 *   2. the child's policy: NEVER, or max_restarts since the last reset,
 *      escalates;
 *   3. the supervisor's intensity (restarts in a sliding period) escalates;
 *   4. the delay (ALWAYS 0, FIXED, EXPONENTIAL with jitter), then the
 *      strategy: ONE_FOR_ONE restarts the child alone; ONE_FOR_ALL and
 *      REST_FOR_ONE stop the siblings concerned, then restart the group in
 *      start order in one worker run (a chain of re-inits).
 * A child up for the stable period before it ended has its backoff reset.
 * An operator's restart (troupe_actor_restart) skips all four: the child
 * alone, at once, counted in the metrics as "operator" only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "supervisor/evlog.h"
#include "supervisor/sv.h"

/* One event of child c in the system's log (evlog.h): its child name, or
 * its supervisor's name for a supervisor child. */
static void log_child(sv *s, troupe_event_kind k, const sv_child *c, const char *detail)
{
    const char *name = c->sup ? c->sup->name : c->spec.name;
    evlog_add(s->sys, k, c->ref, name, c->a ? c->a->beh->name : NULL, detail);
}

static bool abnormal(troupe_failure_kind k)
{
    return k != TROUPE_EXIT_NORMAL && k != TROUPE_EXIT_SHUTDOWN;
}

static troupe_restart_policy policy_of(const sv *s, const sv_child *c)
{
    troupe_restart_policy p = c->spec.policy;
    if (c->sup) { /* a supervisor child restarts at once; intensity bounds it */
        memset(&p, 0, sizeof p);
        p.kind = TROUPE_RESTART_ALWAYS;
    } else if (p.kind == TROUPE_RESTART_DEFAULT) {
        p = s->sys->cfg.restart;
    }
    return p;
}

static double unit_rand(sv *s)
{
    /* xorshift64*: jitter needs spread, not quality */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (double)((s->rng * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

static uint64_t delay_of(sv *s, const sv_child *c, const troupe_restart_policy *p)
{
    if (p->kind == TROUPE_RESTART_FIXED_DELAY)
        return (uint64_t)p->delay_ns;
    if (p->kind != TROUPE_RESTART_EXPONENTIAL)
        return 0;
    double d = (double)p->initial_ns * pow(p->multiplier, (double)c->since_reset);
    if (d > (double)p->max_ns)
        d = (double)p->max_ns;
    if (p->jitter > 0)
        d *= 1.0 + p->jitter * (2.0 * unit_rand(s) - 1.0);
    return d > 0 ? (uint64_t)d : 0;
}

uint64_t sv_next_delay(sv *s, const sv_child *c)
{
    troupe_restart_policy p = policy_of(s, c);
    p.jitter = 0; /* the nominal figure; and no draw from the generator */
    return delay_of(s, c, &p);
}

/* The sliding window: true when one more restart now stays within it. */
static bool intensity_ok(sv_node *n, uint64_t now)
{
    uint32_t k = n->spec.intensity;
    if (k == 0)
        return false;
    uint64_t period = (uint64_t)n->spec.period_ns;
    if (n->rcount == k && now - n->rtimes[n->rhead] < period)
        return false; /* the oldest of the last k is inside the period */
    n->rtimes[n->rhead] = now;
    n->rhead = (n->rhead + 1) % k;
    if (n->rcount < k)
        n->rcount++;
    return true;
}

static void unlink_child(sv *s, sv_child *c)
{
    sv_set_deadline(s, c, 0);
    sv_unlink_child(c);
}

static void end_children(sv *s, sv_node *n, troupe_failure_kind why, const char *reason)
{
    while (n->last)
        sv_child_end(s, n->last, why, reason);
}

/* End a held child (or a subtree of held children) for good. A child that
 * was killed at its timeout but has not ended yet waits as a zombie. */
void sv_child_end(sv *s, sv_child *c, troupe_failure_kind why, const char *reason)
{
    char detail[TROUPE_REASON_MAX + 32];
    snprintf(detail, sizeof detail, "%s%s%s", troupe_failure_kind_name(why), reason ? ": " : "",
             reason ? reason : "");
    log_child(s, TROUPE_EVENT_STOP, c, detail);
    if (c->sup) {
        end_children(s, c->sup, why, reason);
        sv_node_free(s, c->sup);
        c->sup = NULL;
    }
    if (c->parent)
        unlink_child(s, c);
    if (c->a && c->forced) {
        c->next = s->zombies;
        if (s->zombies)
            s->zombies->prev = c;
        s->zombies = c;
        return;
    }
    if (c->a)
        actor_end(s->sys, c->a, why, false, reason);
    sv_child_free(c);
}

static void zombie_exited(sv *s, sv_child *c, const sv_rec *r)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->zombies = c->next;
    if (c->next)
        c->next->prev = c->prev;
    actor_end(s->sys, c->a, TROUPE_EXIT_KILLED, false, r->reason);
    sv_child_free(c);
}

/* How a restart counts toward the child's backoff and in the metrics. */
typedef enum restart_how {
    RS_FAILURE,  /* after its exit: one more since the reset */
    RS_FRESH,    /* its supervisor was restarted: a new start, no backoff */
    RS_OPERATOR, /* asked by an operator: the backoff is left as it was */
} restart_how;

static void chain_add(sv *s, sv_child *c, uint64_t now, sv_child ***tail, restart_how how)
{
    c->state = CH_RUNNING;
    c->group = false;
    c->lead = false;
    c->restarts++;
    if (how == RS_OPERATOR)
        s->restarts_operator++;
    else if ((unsigned)c->last_kind < TROUPE_EXIT_KINDS)
        s->restarts_by[c->last_kind]++;
    if (how != RS_OPERATOR)
        c->since_reset = how == RS_FRESH ? 0 : c->since_reset + 1;
    memmove(c->hist + 1, c->hist, sizeof c->hist - sizeof c->hist[0]);
    c->hist[0] = now;
    c->nhist += c->nhist < TROUPE_RESTART_HISTORY;
    c->started_at = now;
    char after[48];
    snprintf(after, sizeof after, "after %s", troupe_failure_kind_name(c->last_kind));
    log_child(s, TROUPE_EVENT_RESTART, c,
              how == RS_OPERATOR ? "asked by an operator"
              : how == RS_FRESH  ? "its supervisor restarted"
                                 : after);
    if (c->sup) { /* a restarted supervisor starts all its children again */
        sv_node *sub = c->sup;
        sub->state = SUP_RUNNING;
        sub->rcount = sub->rhead = 0;
        for (sv_child *x = sub->first; x; x = x->next)
            chain_add(s, x, now, tail, RS_FRESH);
        return;
    }
    c->chain = NULL;
    **tail = c;
    *tail = &c->chain;
}

/* Restart held children in this order: one worker re-inits them all. */
static void restart_list(sv *s, sv_child **list, uint32_t cnt, restart_how how)
{
    uint64_t now = sv_now(s);
    sv_child *head = NULL, **tail = &head;
    for (uint32_t i = 0; i < cnt; i++) {
        if (list[i]->parent)
            list[i]->parent->restarts++;
        chain_add(s, list[i], now, &tail, how);
    }
    if (!head)
        return;
    actor_reinit_schedule(s->sys, head->a); /* we own the held actor */
}

void sv_restart_now(sv *s, sv_child **list, uint32_t cnt)
{
    restart_list(s, list, cnt, RS_FAILURE);
}

void sv_restart_group(sv *s, sv_node *n)
{
    /* as in OTP, a temporary sibling stopped for the group is not restarted */
    for (sv_child *x = n->first, *next; x; x = next) {
        next = x->next;
        if (x->group && !x->sup && x->spec.restart == TROUPE_TEMPORARY)
            sv_child_end(s, x, TROUPE_EXIT_SHUTDOWN, "group restart");
    }
    uint32_t cnt = 0, i = 0;
    for (sv_child *x = n->first; x; x = x->next)
        cnt += x->group;
    sv_child **list = sys_malloc((cnt ? cnt : 1) * sizeof *list);
    if (!list) { /* no memory for the list: restart them one by one */
        for (sv_child *x = n->first; x; x = x->next)
            if (x->group)
                sv_restart_now(s, &x, 1);
        return;
    }
    for (sv_child *x = n->first; x; x = x->next)
        if (x->group)
            list[i++] = x;
    sv_restart_now(s, list, cnt);
    free(list);
}

/* The stop half of a group restart is done: restart, now or after the
 * failed child's delay. */
static void group_ready(sv *s, sv_node *n)
{
    n->state = SUP_RUNNING;
    uint64_t delay = n->group_delay;
    n->group_delay = 0;
    sv_child *lead = n->failed;
    n->failed = NULL;
    if (delay == 0 || !lead) {
        sv_restart_group(s, n);
        return;
    }
    lead->state = CH_BACKOFF;
    lead->lead = true;
    sv_set_deadline(s, lead, sv_after(sv_now(s), delay));
}

static void start_group(sv *s, sv_node *n, sv_child *c, uint64_t delay)
{
    n->state = SUP_RESTARTING;
    if (delay > n->group_delay)
        n->group_delay = delay;
    if (!n->failed)
        n->failed = c;
    c->group = true;
    c->state = CH_STOPPED;
    bool on = n->spec.strategy == TROUPE_ONE_FOR_ALL;
    for (sv_child *x = n->first; x; x = x->next) {
        if (x == c) {
            on = true;
            continue;
        }
        if (on && !x->group) {
            x->group = true;
            x->to_stop = x->state != CH_STOPPING;
        }
    }
    n->cursor = n->last; /* one at a time, youngest first, as OTP */
    sv_stop_next(s, n);
}

static void escalate(sv *s, sv_node *n, sv_child *c, const sv_rec *r, const char *why)
{
    if (n->state == SUP_ESCALATING || n->state == SUP_DOWN)
        return; /* one breach escalates once */
    n->escalations++;
    s->escalations_total++;
    n->why = (troupe_failure){.actor = c->ref, .behaviour = c->a ? c->a->beh->name : n->name,
                              .kind = r->kind, .code = r->code, .at_ns = r->at_ns};
    size_t k = (size_t)snprintf(n->why.reason, sizeof n->why.reason, "%s: ", why);
    memcpy(n->why.reason + k, r->reason, sizeof n->why.reason - k - 1);
    n->why.reason[sizeof n->why.reason - 1] = '\0';
    evlog_add(s->sys, TROUPE_EVENT_ESCALATION, c->ref, n->name, n->why.behaviour, n->why.reason);
    n->state = SUP_ESCALATING;
    c->state = CH_STOPPED;
    n->cb = NULL;
    sv_stop_all(s, n, NULL);
}

/* A child up for the stable period before it ended: its last restart
 * held, and its backoff starts over. */
static void note_stable(sv *s, sv_child *c, uint64_t now)
{
    if (now - c->started_at >= (uint64_t)s->sys->cfg.stable_ns) {
        c->stable += c->restarts > 0;
        c->since_reset = 0;
    }
}

/* The exit an operator's troupe_actor_restart caused: its stop signal is
 * the only one of kind ERROR, and core/run.c reports a signal's stop with
 * code 0 (a handler's error carries its negative code). */
static bool by_operator(sv_child *c, const sv_rec *r)
{
    return c->op_asked && r->kind == TROUPE_EXIT_ERROR && r->code == 0;
}

/* As OTP's terminate_child + restart_child: the child alone, at once,
 * whatever its restart type and policy, and neither its backoff nor its
 * supervisor's intensity counts it. */
static void operator_restart(sv *s, sv_node *n, sv_child *c, const sv_rec *r)
{
    c->op_asked = false;
    note_stable(s, c, r->at_ns);
    n->op_restarts++;
    restart_list(s, &c, 1, RS_OPERATOR);
}

/* troupe_actor_restart, lock held: 0 when c runs (it is marked and gets
 * the stop), 1 when it was waiting out a backoff and is restarted now (the
 * failure's restart, only sooner: it counts as before), TROUPE_EBUSY when
 * its supervisor is stopping or restarting it already. */
int sv_operator_restart(sv *s, sv_child *c)
{
    int ps = c->parent->state;
    if (c->to_stop || (ps != SUP_RUNNING && ps != SUP_RESTARTING))
        return TROUPE_EBUSY;
    if (c->state == CH_RUNNING) {
        c->op_asked = true;
        return 0;
    }
    if (c->state != CH_BACKOFF || c->lead)
        return TROUPE_EBUSY;
    sv_set_deadline(s, c, 0);
    sv_restart_now(s, &c, 1);
    return 1;
}

static void handle_failure(sv *s, sv_node *n, sv_child *c, const sv_rec *r)
{
    uint64_t now = r->at_ns;
    if (by_operator(c, r)) {
        operator_restart(s, n, c, r);
        return;
    }
    note_stable(s, c, now);
    bool restart = c->spec.restart == TROUPE_PERMANENT ||
                   (c->spec.restart == TROUPE_TRANSIENT && abnormal(r->kind));
    if (!restart) {
        sv_child_end(s, c, r->kind, r->reason);
        return;
    }
    troupe_restart_policy p = policy_of(s, c);
    if (p.kind == TROUPE_RESTART_NEVER || (p.max_restarts && c->since_reset >= p.max_restarts)) {
        escalate(s, n, c, r, "max restarts");
        return;
    }
    if (!intensity_ok(n, now)) {
        escalate(s, n, c, r, "intensity");
        return;
    }
    n->decisions++; /* as intensity counts: one per exit, a group is one */
    uint64_t delay = delay_of(s, c, &p);
    if (n->spec.strategy != TROUPE_ONE_FOR_ONE) {
        start_group(s, n, c, delay);
    } else if (delay == 0) {
        sv_restart_now(s, &c, 1);
    } else {
        c->state = CH_BACKOFF;
        sv_set_deadline(s, c, sv_after(now, delay));
    }
}

static void note_exit(sv_child *c, const sv_rec *r)
{
    if ((unsigned)r->kind < TROUPE_EXIT_KINDS)
        c->by_kind[r->kind]++;
    c->last_kind = r->kind;
    memcpy(c->last_reason, r->reason, sizeof c->last_reason);
}

void sv_on_exit(sv *s, sv_child *c, const sv_rec *r)
{
    note_exit(c, r);
    if (c->forced && !c->parent) {
        zombie_exited(s, c, r);
        return;
    }
    if (c->state == CH_STOPPING) {
        sv_child_stopped(s, c);
        return;
    }
    sv_node *n = c->parent;
    if (atomic_load_explicit(&s->sys->state, memory_order_acquire) != SYS_RUNNING ||
        n->state == SUP_DOWN) {
        sv_child_end(s, c, r->kind, r->reason);
        return;
    }
    /* Ended on its own while its siblings stop, or before its turn in a
     * group restart: as OTP, that exit is its stop, not a new failure. */
    if (n->state == SUP_SHUTTING || n->state == SUP_ESCALATING ||
        (n->state == SUP_RESTARTING && c->to_stop)) {
        c->state = CH_STOPPED; /* its turn in the stop phase marks it */
        return;
    }
    handle_failure(s, n, c, r);
}

static void escalation_done(sv *s, sv_node *n)
{
    if (n->self) { /* fail to the parent, which applies its own strategy */
        sv_rec r = {.c = n->self, .kind = TROUPE_EXIT_ESCALATED, .at_ns = sv_now(s)};
        snprintf(r.reason, sizeof r.reason, "%s", n->why.reason);
        n->state = SUP_SHUTTING; /* stopped, held; the parent decides */
        sv_on_exit(s, n->self, &r);
        return;
    }
    troupe_failure f = n->why;
    f.kind = TROUPE_EXIT_ESCALATED;
    end_children(s, n, TROUPE_EXIT_ESCALATED, f.reason);
    if (s->sys->cfg.on_escalation) { /* called by the thread, unlocked */
        n->state = SUP_RUNNING;
        s->esc = f;
        s->esc_pending = true;
        sv_kick(s);
        return;
    }
    n->state = SUP_DOWN;
    system_begin_shutdown(s->sys);
}

/* A stop phase of n is over (nothing left to stop, nothing stopping). */
void sv_node_exited(sv *s, sv_node *n)
{
    switch (n->state) {
    case SUP_RESTARTING:
        group_ready(s, n);
        break;
    case SUP_ESCALATING:
        escalation_done(s, n);
        break;
    case SUP_SHUTTING:
        if (n->for_parent) { /* its parent stopped it: report there */
            n->for_parent = false;
            sv_child_stopped(s, n->self);
            break;
        }
        if (!n->then_end)
            break;
        n->then_end = false;
        end_children(s, n, TROUPE_EXIT_SHUTDOWN, "shutdown");
        sv_report(s, n, true);
        if (n->self) {
            sv_child *self = n->self;
            n->self = NULL;
            self->sup = NULL;
            unlink_child(s, self);
            sv_child_free(self);
            sv_node_free(s, n);
        } else {
            n->state = SUP_RUNNING; /* the root stays, empty */
        }
        break;
    default:
        break;
    }
}
