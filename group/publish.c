/* group/publish.c — what reads a group and tells its watchers: publish, the
 * group monitors and their events, and the snapshots' deferred free. */
#include <stdlib.h>
#include <string.h>

#include "core/message.h"
#include "core/alloc.h"
#include "group/gp.h"

static void snap_free_rcu(struct rcu_head *h)
{
#if defined(TROUPE_TSAN)
    __tsan_acquire(GP_TSAN); /* see gp.h */
#endif
    free(caa_container_of(h, gsnap, rcu));
}

void gp_defer_free(struct rcu_head *h)
{
#if defined(TROUPE_TSAN)
    __tsan_release(GP_TSAN);
#endif
    urcu_bp_call_rcu(h, snap_free_rcu);
}

TROUPE_API int troupe_group_publish(troupe_system *sys, const char *name, uint32_t type,
                                    const void *data, size_t len, size_t *delivered)
{
    if (delivered)
        *delivered = 0;
    if (!sys || group_name_check(name) || (len && !data) || len > TROUPE_COPY_MAX ||
        type >= TROUPE_MSG_SYSTEM)
        return TROUPE_EINVAL;
    groups *g = groups_of(sys);
    group *grp = g ? group_find(g, name, group_hash(name)) : NULL;
    if (!grp)
        return 0;
    size_t ok = 0;
    int rc = 0;
    gp_read_lock();
    const gsnap *s = gp_snap(grp);
    if (s) /* the members' tells, their wake-ups batched (core/fanout.c) */
        rc = send_fanout(sys, s->refs, s->n, type, data, len, &ok);
    gp_read_unlock();
    if (delivered)
        *delivered = ok;
    return rc;
}

/* One event to one watcher, on its system lane (never dropped, never
 * blocks us: we hold the table's lock). */
static int send_event(troupe_system *sys, const group *grp, const gwatch *w, troupe_ref member,
                      uint32_t change)
{
    troupe_group_event ev = {.member = member, .monitor = w->id, .change = change};
    memcpy(ev.group, grp->name, sizeof ev.group);
    tmsg m;
    int rc = tmsg_copy(sys, &m, TROUPE_MSG_GROUP, &ev, sizeof ev);
    if (rc)
        return rc;
    m.sender = member.id;
    if ((rc = send_sys(sys, w->watcher, &m)))
        tmsg_destroy(sys, &m);
    return rc;
}

void group_notify_locked(troupe_system *sys, group *grp, troupe_ref member, uint32_t change)
{
    for (uint32_t i = 0; i < grp->nw;) {
        if (send_event(sys, grp, &grp->w[i], member, change) == TROUPE_ENOACTOR)
            grp->w[i] = grp->w[--grp->nw]; /* the watcher ended: so does its monitor */
        else
            i++;
    }
}

TROUPE_API int troupe_group_monitor(troupe_system *sys, const char *name, troupe_ref watcher,
                                    uint64_t *id)
{
    if (!sys || group_name_check(name) || !id || watcher.id == TROUPE_REF_NONE.id)
        return TROUPE_EINVAL;
    groups *g = groups_of(sys);
    if (!g)
        return TROUPE_ESHUTDOWN;
    if (!troupe_alive(sys, watcher))
        return TROUPE_ENOACTOR;
    pthread_mutex_lock(&g->lock);
    int rc = group_keeper_locked(sys, g);
    group *grp = rc ? NULL : group_find_or_make_locked(g, name, group_hash(name), &rc);
    if (grp && !(rc = tr_grow32((void **)&grp->w, &grp->wcap, grp->nw + 1, sizeof *grp->w, 4))) {
        *id = ++g->next_id;
        grp->w[grp->nw++] = (gwatch){*id, watcher};
    }
    pthread_mutex_unlock(&g->lock);
    return rc;
}

static bool drop_watch_locked(groups *g, uint64_t id)
{
    for (uint32_t b = 0; b < GROUP_BUCKETS; b++)
        for (group *p = atomic_load_explicit(&g->bucket[b], memory_order_relaxed); p;
             p = atomic_load_explicit(&p->next, memory_order_relaxed)) /* relaxed: under lock */
            for (uint32_t i = 0; i < p->nw; i++)
                if (p->w[i].id == id) {
                    memmove(&p->w[i], &p->w[i + 1], (p->nw - i - 1) * sizeof p->w[0]);
                    p->nw--;
                    return true;
                }
    return false;
}

TROUPE_API int troupe_group_demonitor(troupe_system *sys, uint64_t id)
{
    if (!sys || !id)
        return TROUPE_EINVAL;
    groups *g = groups_of(sys);
    if (!g)
        return TROUPE_ENOTFOUND;
    pthread_mutex_lock(&g->lock);
    bool found = drop_watch_locked(g, id);
    pthread_mutex_unlock(&g->lock);
    return found ? 0 : TROUPE_ENOTFOUND;
}
