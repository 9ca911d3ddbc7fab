/* cluster/failover.c — the node's ownership thread (own.h). Every period
 * (the membership's renew_ms) it makes one pass:
 *
 * 1. fenced (the membership could not renew in time): every local cluster
 *    actor is stopped — others may own them by now — and nothing is
 *    claimed any more; the journal's guards refuse whatever was queued.
 *    Rejoined (a new incarnation, member_set_rejoin): the pass goes on as
 *    that incarnation, and claims again;
 * 2. its own actors: any whose row no longer names this incarnation and
 *    epoch is stopped (taken over, parked, migrated); any that ended or
 *    never started is started again — a failed start counts, and past the
 *    kind's limit the actor is parked (actors.c); a row naming this
 *    incarnation with no local entry is adopted;
 * 3. orphans — rows released, or whose owner's lease expired: for each of
 *    a kind registered here, rendezvous hashing over the live nodes (or the
 *    node a migration named, while it lives) picks a node; if it is this
 *    one, it claims the row (epoch compare-and-set: one node wins) and
 *    starts the actor, recovered from the journal.
 *
 * Every query runs against a deadline (pgq_run); a pass that cannot reach
 * the server does nothing and the next one tries again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/own.h"
#include "core/alloc.h"
#include "core/common.h"
#include "core/system.h" /* sys->hooks: the tracer's failover event */

#define NODES_MAX 64
#define ORPHANS_MAX 256

static void fence_all(own *o)
{
    while (o->n > 0)
        own_drop(o, &o->actors[o->n - 1]);
    o->fenced = true;
}

static bool row_is(const own_row *rows, int n, const own_actor *a)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(rows[i].pid, a->pid) && rows[i].epoch == a->epoch)
            return true;
    return false;
}

/* Step 2: downwards, as own_drop moves the last entry into the hole. */
static void check_mine(own *o)
{
    int cap = (int)o->n + 16;
    own_row *rows = sys_malloc((size_t)cap * sizeof *rows);
    int n = rows ? owner_mine(o, rows, cap) : TROUPE_ENOMEM;
    for (int i = 0; i < n; i++) /* before the loop below may park or drop some */
        rows[i].known = own_find(o, rows[i].pid) != NULL;
    for (size_t i = o->n; n >= 0 && i-- > 0;) {
        own_actor *a = &o->actors[i];
        if (!row_is(rows, n, a)) {
            own_drop(o, a);
            continue;
        }
        if (!troupe_ref_is_none(a->ref) && troupe_alive(o->sys, a->ref) != 1) {
            a->ref = TROUPE_REF_NONE; /* ended for good: start it again */
            o->st.owned--;
        }
        if (troupe_ref_is_none(a->ref))
            (void)own_start(o, a);
    }
    for (int i = 0; i < n; i++) { /* ours, yet in no table (a start that ran out of memory) */
        own_kind *k = rows[i].known ? NULL : own_find_kind(o, rows[i].kind);
        if (k)
            (void)own_adopt(o, k, rows[i].pid, rows[i].id, rows[i].epoch);
    }
    free(rows);
}

static bool in(char (*nodes)[TROUPE_CLUSTER_NAME_MAX + 1], int n, const char *node)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(nodes[i], node))
            return true;
    return false;
}

/* A takeover after the owner died: the tracer's event (core/hooks.h; a
 * system without trace/ has no hook). */
static void trace_failover(own *o, const own_row *r)
{
    const own_actor *a = own_find(o, r->pid);
    if (o->sys->hooks.trace_failover && a && !troupe_ref_is_none(a->ref))
        o->sys->hooks.trace_failover(o->sys, a->ref, r->kind, r->node);
}

/* Step 3 for one row. */
static void adopt(own *o, const own_row *r, char (*nodes)[TROUPE_CLUSTER_NAME_MAX + 1], int nn)
{
    own_kind *k = own_find_kind(o, r->kind);
    if (!k || own_find(o, r->pid))
        return;
    const char *to;
    if (r->state == TROUPE_OWNER_RELEASED && r->node[0] && in(nodes, nn, r->node))
        to = r->node; /* handed to a named node (migration) that lives */
    else
        to = nodes[owner_pick(nodes, nn, r->pid)];
    if (strcmp(to, o->node) != 0)
        return;
    uint64_t claims = o->st.claims;
    (void)own_take(o, k, r->pid, r->id, r->epoch, r->state);
    if (o->st.claims > claims && r->state == TROUPE_OWNER_ACTIVE)
        trace_failover(o, r);
}

static void claim_orphans(own *o)
{
    char (*nodes)[TROUPE_CLUSTER_NAME_MAX + 1] = sys_malloc(NODES_MAX * sizeof *nodes);
    own_row *rows = sys_malloc(ORPHANS_MAX * sizeof *rows);
    int nn = nodes && rows ? owner_live_nodes(o, nodes, NODES_MAX) : TROUPE_ENOMEM;
    int n = nn > 0 ? owner_orphans(o, rows, ORPHANS_MAX) : 0;
    for (int i = 0; i < n && in(nodes, nn, o->node); i++)
        adopt(o, &rows[i], nodes, nn);
    free(nodes);
    free(rows);
}

/* Step 1, and the way back: fenced, or an incarnation other than ours
 * (the membership fenced and rejoined between two passes), stops every
 * local actor; a node joined again under a new incarnation claims from
 * then on as that one — its old actors are orphans like any others. */
static void follow_membership(own *o)
{
    uint64_t inc = o->live_inc(o->ud);
    if (!o->fenced && (inc == 0 || inc != o->incarnation))
        fence_all(o);
    if (o->fenced && inc != 0 && inc != o->incarnation) {
        o->incarnation = inc;
        snprintf(o->inc, sizeof o->inc, "%llu", (unsigned long long)inc);
        o->fenced = false;
    }
}

void failover_pass(own *o)
{
    pthread_mutex_lock(&o->mu);
    if (o->joined)
        follow_membership(o);
    if (o->joined && !o->fenced) {
        check_mine(o);
        claim_orphans(o);
    }
    pthread_mutex_unlock(&o->mu);
}

static void wait_period(own *o)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t t = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec +
                 (uint64_t)o->period_ms * 1000000ull;
    ts = (struct timespec){.tv_sec = (time_t)(t / 1000000000ull),
                           .tv_nsec = (long)(t % 1000000000ull)};
    pthread_mutex_lock(&o->mu);
    while (!o->stop && pthread_cond_timedwait(&o->cv, &o->mu, &ts) == 0)
        ;
    pthread_mutex_unlock(&o->mu);
}

static void *owner_thread(void *arg)
{
    own *o = arg;
    for (;;) {
        wait_period(o);
        pthread_mutex_lock(&o->mu);
        bool stop = o->stop;
        pthread_mutex_unlock(&o->mu);
        if (stop)
            break;
        failover_pass(o);
    }
    return NULL;
}

int failover_start(own *o)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int e = pthread_cond_init(&o->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (e)
        return TROUPE_ESYS;
    o->stop = false;
    if (pthread_create(&o->thread, NULL, owner_thread, o)) {
        pthread_cond_destroy(&o->cv);
        return TROUPE_ESYS;
    }
    o->running = true;
    return 0;
}

void failover_stop(own *o)
{
    if (!o->running)
        return;
    pthread_mutex_lock(&o->mu);
    o->stop = true;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
    pthread_join(o->thread, NULL);
    pthread_cond_destroy(&o->cv);
    o->running = false;
}
