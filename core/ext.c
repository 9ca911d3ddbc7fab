/* core/ext.c — an actor's rarely used part: allocation, monitors, and what
 * happens to them when the actor stops for good. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ext.h"
#include "core/fault.h"
#include "core/probe.h"
#include "troupe/monitor.h"

actor_ext *ext_get(troupe_system *sys, actor *a)
{
    (void)sys;
    actor_ext *x = ext_peek(a);
    if (likely(x))
        return x;
    actor_ext *fresh = sys_calloc(1, sizeof *fresh);
    if (!fresh)
        return NULL;
    pthread_mutex_init(&fresh->lock, NULL);
    /* acq_rel: release publishes the initialised ext (pairs with ext_peek's
     * acquire); acquire on failure reads the winner's. */
    if (atomic_compare_exchange_strong_explicit(&a->ext, &x, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    pthread_mutex_destroy(&fresh->lock);
    free(fresh);
    return x;
}

void ext_free(troupe_system *sys, actor *a)
{
    (void)sys;
    actor_ext *x = ext_peek(a);
    if (!x)
        return;
    pthread_mutex_destroy(&x->lock);
    probe_actor_free(atomic_load_explicit(&x->probe, memory_order_relaxed));
    fault_actor_free(atomic_load_explicit(&x->fault, memory_order_relaxed));
    free(x->mons);
    free(x);
    atomic_store_explicit(&a->ext, NULL, memory_order_relaxed);
}

bool ext_live_locked(const actor *a, const actor_ext *x, troupe_ref r)
{
    /* acquire: pairs with mb_open's release of the new generation */
    uint64_t t = atomic_load_explicit(&a->mb.tail, memory_order_acquire);
    uint32_t g = ref_gen(r);
    return g != 0 && tw_gen(t) == g && !(t & TW_CLOSED) && x->dead_gen != g;
}

static uint64_t next_monitor_id(void)
{
    static _Atomic uint64_t ids = 1;
    /* relaxed: only uniqueness matters */
    return atomic_fetch_add_explicit(&ids, 1, memory_order_relaxed);
}

static int send_down(troupe_system *sys, uint64_t watcher, troupe_ref who, uint64_t id,
                     troupe_failure_kind why, const char *reason)
{
    troupe_down d = {.actor = who, .monitor = id, .kind = why};
    snprintf(d.reason, sizeof d.reason, "%s", reason ? reason : "");
    tmsg m;
    int rc = tmsg_copy(sys, &m, TROUPE_MSG_DOWN, &d, sizeof d);
    if (rc)
        return rc;
    m.sender = who.id;
    /* the system lane: unbounded, never blocks the thread that reports */
    if ((rc = send_sys(sys, (troupe_ref){watcher}, &m)))
        tmsg_destroy(sys, &m);
    return rc;
}

static int add_monitor_locked(actor_ext *x, uint32_t gen, uint64_t watcher, uint64_t id)
{
    if (x->mon_gen != gen) { /* the list of an older incarnation was sent */
        x->nmons = 0;
        x->mon_gen = gen;
    }
    if (x->nmons == x->capmons &&
        tr_grow32((void **)&x->mons, &x->capmons, x->nmons + 1, sizeof *x->mons, 4))
        return TROUPE_ENOMEM;
    x->mons[x->nmons++] = (monitor){.watcher = watcher, .id = id};
    return 0;
}

int monitor_for_remote(troupe_system *sys, uint64_t watcher, troupe_ref target, uint64_t id)
{
    actor *a = actor_lookup(sys, target);
    actor_ext *x = a ? ext_get(sys, a) : NULL;
    if (a && !x)
        return TROUPE_ENOMEM;
    int rc = TROUPE_ENOACTOR;
    if (x) {
        pthread_mutex_lock(&x->lock);
        if (ext_live_locked(a, x, target))
            rc = add_monitor_locked(x, ref_gen(target), watcher, id);
        pthread_mutex_unlock(&x->lock);
    }
    if (rc == TROUPE_ENOACTOR)
        rc = send_down(sys, watcher, target, id, TROUPE_EXIT_NOPROC, "noproc");
    return rc;
}

TROUPE_API int troupe_monitor(troupe_system *sys, troupe_ref watcher, troupe_ref target,
                              uint64_t *out)
{
    if (!sys || !out || troupe_ref_is_none(watcher) || troupe_ref_is_none(target))
        return TROUPE_EINVAL;
    *out = 0;
    if (!troupe_alive(sys, watcher))
        return TROUPE_ENOACTOR;
    uint64_t id = next_monitor_id();
    actor *a = actor_lookup(sys, target);
    actor_ext *x = a ? ext_get(sys, a) : NULL;
    if (a && !x)
        return TROUPE_ENOMEM;
    int rc = TROUPE_ENOACTOR;
    if (!a && (rc = remote_monitor(sys, watcher, target, id)) == 0) {
        *out = id; /* another node's actor: its DOWN comes from there */
        return 0;
    }
    if (x) {
        pthread_mutex_lock(&x->lock);
        if (ext_live_locked(a, x, target))
            rc = add_monitor_locked(x, ref_gen(target), watcher.id, id);
        pthread_mutex_unlock(&x->lock);
    }
    if (rc == TROUPE_ENOACTOR) /* already gone: DOWN at once, as Erlang's noproc */
        rc = send_down(sys, watcher.id, target, id, TROUPE_EXIT_NOPROC, "noproc");
    if (rc == 0)
        *out = id;
    return rc;
}

TROUPE_API int troupe_demonitor(troupe_system *sys, troupe_ref target, uint64_t id)
{
    if (!sys || !id)
        return TROUPE_EINVAL;
    actor *a = actor_lookup(sys, target);
    actor_ext *x = a ? ext_peek(a) : NULL;
    int rc = TROUPE_ENOTFOUND;
    if (!a)
        return remote_demonitor(sys, target, id);
    if (!x)
        return rc;
    pthread_mutex_lock(&x->lock);
    if (x->mon_gen == ref_gen(target) && x->dead_gen != ref_gen(target))
        for (uint32_t i = 0; i < x->nmons; i++)
            if (x->mons[i].id == id) {
                x->mons[i] = x->mons[--x->nmons];
                rc = 0;
                break;
            }
    pthread_mutex_unlock(&x->lock);
    return rc;
}

void ext_on_finish(troupe_system *sys, actor *a, troupe_failure_kind why, const char *reason)
{
    actor_ext *x = ext_peek(a);
    if (!x)
        return;
    monitor *mons = NULL;
    uint32_t n = 0;
    pthread_mutex_lock(&x->lock);
    x->dead_gen = a->gen; /* from now on no monitor or name is added */
    if (x->mon_gen == a->gen && x->nmons) { /* take the list: no allocation */
        n = x->nmons;
        mons = x->mons;
        x->mons = NULL;
        x->capmons = 0;
    }
    x->nmons = 0;
    void *reg = x->reg;
    x->reg = NULL;
    /* relaxed: the supervisor reads it under its own lock, and checks the ref */
    atomic_store_explicit(&x->child, NULL, memory_order_relaxed);
    pthread_mutex_unlock(&x->lock);
    if (reg)
        sys->hooks.forget(sys, reg);
    troupe_ref self = ref_make(sys, a->index, a->gen);
    for (uint32_t i = 0; i < n; i++)
        send_down(sys, mons[i].watcher, self, mons[i].id, why, reason);
    free(mons);
}
