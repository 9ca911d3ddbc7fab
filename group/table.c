/* group/table.c — the table of groups and their members (group/group.h):
 * names, the lock-free lookup, snapshots, join, leave, members. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "group/group.h"
#include "group/gp.h"

int group_name_check(const char *name)
{
    if (!name)
        return TROUPE_EINVAL;
    size_t n = strnlen(name, TROUPE_GROUP_NAME_MAX);
    return n == 0 || n >= TROUPE_GROUP_NAME_MAX ? TROUPE_EINVAL : 0;
}

uint32_t group_hash(const char *name)
{
    uint32_t h = 2166136261u; /* FNV-1a: names are short, a bucket's chain too */
    for (; *name; name++)
        h = (h ^ (uint8_t)*name) * 16777619u;
    return h;
}

group *group_find(groups *g, const char *name, uint32_t h)
{
    /* acquire: pairs with the release that published each group */
    group *p = atomic_load_explicit(&g->bucket[h % GROUP_BUCKETS], memory_order_acquire);
    for (; p; p = atomic_load_explicit(&p->next, memory_order_acquire))
        if (p->hash == h && strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

group *group_find_or_make_locked(groups *g, const char *name, uint32_t h, int *rc)
{
    group *p = group_find(g, name, h);
    if (p)
        return p;
    *rc = g->ngroups >= TROUPE_GROUP_MAX ? TROUPE_EFULL : TROUPE_ENOMEM;
    if (g->ngroups >= TROUPE_GROUP_MAX || !(p = sys_calloc(1, sizeof *p)))
        return NULL;
    strcpy(p->name, name); /* checked: shorter than the field */
    p->hash = h;
    _Atomic(group *) *head = &g->bucket[h % GROUP_BUCKETS];
    /* relaxed: the chain is ours to change (lock); the release below
     * publishes p with it */
    atomic_store_explicit(&p->next, atomic_load_explicit(head, memory_order_relaxed),
                          memory_order_relaxed);
    /* release: pairs with group_find's acquire */
    atomic_store_explicit(head, p, memory_order_release);
    g->ngroups++;
    return p;
}

int group_snap_locked(group *grp)
{
    gsnap *s = NULL;
    if (grp->n) {
        s = sys_calloc(1, sizeof *s + grp->n * sizeof s->refs[0]);
        if (!s)
            return TROUPE_ENOMEM;
        for (uint32_t i = 0; i < grp->n; i++)
            s->refs[i] = grp->mem[i].ref;
        s->n = grp->n;
    }
    /* acq_rel: release publishes s to readers (group_read_snap's
     * acquire); acquire orders the old one's reads before its free */
    gsnap *old = atomic_exchange_explicit(&grp->snap, s, memory_order_acq_rel);
    if (old)
        gp_defer_free(&old->rcu);
    return 0;
}

static int index_of(const group *grp, troupe_ref ref)
{
    for (uint32_t i = 0; i < grp->n; i++)
        if (grp->mem[i].ref.id == ref.id)
            return (int)i;
    return -1;
}

int group_remove_locked(troupe_system *sys, group *grp, uint32_t i, bool must)
{
    gmember gone = grp->mem[i];
    memmove(&grp->mem[i], &grp->mem[i + 1], (grp->n - i - 1) * sizeof grp->mem[0]);
    grp->n--;
    if (group_snap_locked(grp) < 0 && !must) { /* a leave: undone, ENOMEM */
        memmove(&grp->mem[i + 1], &grp->mem[i], (grp->n - i) * sizeof grp->mem[0]);
        grp->mem[i] = gone;
        grp->n++;
        return TROUPE_ENOMEM;
    }
    /* (must, no memory: readers keep the old snapshot, whose tells to the
     * ended member fail quietly, until the next change rebuilds it) */
    group_notify_locked(sys, grp, gone.ref, TROUPE_GROUP_LEFT);
    return 0;
}

static int grow(group *grp)
{
    if (grp->n < grp->cap)
        return 0;
    if (grp->cap >= TROUPE_GROUP_MEMBERS_MAX)
        return TROUPE_EFULL;
    return tr_grow32((void **)&grp->mem, &grp->cap, grp->n + 1, sizeof *grp->mem, 8);
}

static int join_locked(troupe_system *sys, groups *g, group *grp, troupe_ref member)
{
    if (index_of(grp, member) >= 0)
        return TROUPE_EEXIST;
    int rc = grow(grp);
    if (rc)
        return rc;
    uint64_t mon = 0;
    if ((rc = troupe_monitor(sys, g->keeper, member, &mon)))
        return rc == TROUPE_ENOACTOR ? TROUPE_ESHUTDOWN : rc; /* the keeper is gone */
    grp->mem[grp->n++] = (gmember){member, mon};
    if ((rc = group_snap_locked(grp))) {
        grp->n--;
        troupe_demonitor(sys, member, mon);
        return rc;
    }
    group_notify_locked(sys, grp, member, TROUPE_GROUP_JOINED);
    return 0;
}

TROUPE_API int troupe_group_join(troupe_system *sys, const char *name, troupe_ref member)
{
    if (!sys || group_name_check(name) || member.id == TROUPE_REF_NONE.id)
        return TROUPE_EINVAL;
    groups *g = groups_of(sys);
    if (!g)
        return TROUPE_ESHUTDOWN;
    if (!troupe_alive(sys, member))
        return TROUPE_ENOACTOR;
    uint32_t h = group_hash(name);
    pthread_mutex_lock(&g->lock);
    int rc = group_keeper_locked(sys, g);
    group *grp = rc ? NULL : group_find_or_make_locked(g, name, h, &rc);
    if (grp)
        rc = join_locked(sys, g, grp, member);
    pthread_mutex_unlock(&g->lock);
    return rc;
}

TROUPE_API int troupe_group_leave(troupe_system *sys, const char *name, troupe_ref member)
{
    if (!sys || group_name_check(name) || member.id == TROUPE_REF_NONE.id)
        return TROUPE_EINVAL;
    groups *g = groups_of(sys);
    if (!g)
        return TROUPE_ESHUTDOWN;
    int rc = TROUPE_ENOTFOUND;
    pthread_mutex_lock(&g->lock);
    group *grp = group_find(g, name, group_hash(name));
    int i = grp ? index_of(grp, member) : -1;
    if (i >= 0) {
        uint64_t mon = grp->mem[i].mon;
        if (!(rc = group_remove_locked(sys, grp, (uint32_t)i, false)))
            troupe_demonitor(sys, member, mon); /* already fired: no matter */
    }
    pthread_mutex_unlock(&g->lock);
    return rc;
}

TROUPE_API int troupe_group_members(troupe_system *sys, const char *name, troupe_ref *out,
                                    size_t cap, size_t *count)
{
    if (!sys || group_name_check(name) || !count || (cap && !out))
        return TROUPE_EINVAL;
    *count = 0;
    groups *g = groups_of(sys);
    group *grp = g ? group_find(g, name, group_hash(name)) : NULL;
    if (!grp)
        return 0;
    gp_read_lock();
    const gsnap *s = gp_snap(grp);
    size_t n = s ? s->n : 0;
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = s->refs[i];
    gp_read_unlock();
    *count = n;
    return 0;
}
