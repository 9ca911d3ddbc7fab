/* group/keeper.c — the groups' life in a system, and their keeper: the
 * actor troupe.groups, watcher of every member's monitor, whose DOWNs
 * remove members that stopped for good from their groups. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "group/gp.h"
#include "troupe/actor.h"
#include "troupe/monitor.h"

/* The membership the monitor `mon` watches, removed (none: a leave came
 * first, which demonitored too late to stop this DOWN). */
static void member_down_locked(troupe_system *sys, groups *g, troupe_ref who, uint64_t mon)
{
    for (uint32_t b = 0; b < GROUP_BUCKETS; b++)
        for (group *p = atomic_load_explicit(&g->bucket[b], memory_order_relaxed); p;
             p = atomic_load_explicit(&p->next, memory_order_relaxed)) /* relaxed: under lock */
            for (uint32_t i = 0; i < p->n; i++)
                if (p->mem[i].mon == mon && p->mem[i].ref.id == who.id) {
                    (void)group_remove_locked(sys, p, i, true);
                    return; /* one monitor per membership */
                }
}

static int keeper_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    (void)state;
    if (msg->type != TROUPE_MSG_DOWN || msg->size != sizeof(troupe_down))
        return 0; /* nobody else is meant to write to it */
    troupe_down d;
    memcpy(&d, msg->data, sizeof d);
    troupe_system *sys = troupe_ctx_system(ctx);
    groups *g = groups_of(sys);
    pthread_mutex_lock(&g->lock);
    member_down_locked(sys, g, d.actor, d.monitor);
    pthread_mutex_unlock(&g->lock);
    return 0;
}

static const troupe_behaviour keeper_beh = {
    .name = "troupe.groups",
    .handle = keeper_handle,
};

int groups_create(troupe_system *sys)
{
    groups *g = sys_calloc(1, sizeof *g);
    if (!g)
        return TROUPE_ENOMEM;
    pthread_mutex_init(&g->lock, NULL);
    sys->grp = g;
    return 0;
}

int group_keeper_locked(troupe_system *sys, groups *g)
{
    /* made on the first join or monitor: a system that uses no group has
     * no keeper among its actors (nor in their counts) */
    if (g->keeper.id && troupe_alive(sys, g->keeper))
        return 0;
    int rc = troupe_spawn(sys, &keeper_beh, NULL, NULL, &g->keeper);
    return rc;
}

static void free_group(group *p)
{
    gsnap *s = atomic_load_explicit(&p->snap, memory_order_relaxed); /* relaxed: no reader left */
    free(s);
    free(p->mem);
    free(p->w);
    free(p);
}

void groups_destroy(troupe_system *sys)
{
    groups *g = groups_of(sys);
    if (!g)
        return;
    sys->grp = NULL;
    urcu_bp_barrier(); /* every deferred free of a snapshot has run */
    for (uint32_t b = 0; b < GROUP_BUCKETS; b++) {
        group *p = atomic_load_explicit(&g->bucket[b], memory_order_relaxed); /* relaxed: ours */
        while (p) {
            group *next = atomic_load_explicit(&p->next, memory_order_relaxed);
            free_group(p);
            p = next;
        }
    }
    pthread_mutex_destroy(&g->lock);
    free(g);
}
