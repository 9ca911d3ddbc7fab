/* group/router.c — routers over process groups (include/troupe/router.h):
 * each call picks a member from the group's snapshot (group/gp.h) and
 * sends to it directly. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "group/gp.h"
#include "troupe/actor.h"
#include "troupe/router.h"

#define ROUTE_TRIES 4 /* picks for one tell when members end meanwhile */

struct troupe_router {
    troupe_system *sys;
    troupe_route route;
    uint32_t hash;
    char name[TROUPE_GROUP_NAME_MAX];
    /* ROUND_ROBIN's turn and RANDOM's and SMALLEST's draws (relaxed:
     * counters, their order among callers does not matter) */
    _Atomic uint64_t turn;
    /* the group, once found: groups live as long as their system
     * (group/keeper.c frees them at its destroy). Release store by the
     * first pick that finds it, acquire loads by the next. */
    _Atomic(group *) grp;
};

/* splitmix64's finaliser: spreads a counter or a key over 64 bits */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t draw(troupe_router *r)
{
    /* relaxed: see turn */
    return mix(atomic_fetch_add_explicit(&r->turn, 0x9e3779b97f4a7c15ull, memory_order_relaxed));
}

static uint32_t depth_of(troupe_system *sys, troupe_ref ref)
{
    troupe_mailbox_stats st;
    return troupe_actor_stats(sys, ref, &st) == 0 ? st.depth : UINT32_MAX;
}

/* In a read-side section: the index in s of the member for key. */
static uint32_t choose(troupe_router *r, const gsnap *s, uint64_t key)
{
    uint32_t n = s->n;
    switch (r->route) {
    case TROUPE_ROUTE_ROUND_ROBIN: /* relaxed: see turn */
        /* 32 bits: a cheaper division; the turn wraps once in 2^32 */
        return (uint32_t)atomic_fetch_add_explicit(&r->turn, 1, memory_order_relaxed) % n;
    case TROUPE_ROUTE_HASH: {
        uint32_t best = 0;
        uint64_t top = 0;
        for (uint32_t i = 0; i < n; i++) { /* rendezvous: the highest weight wins */
            uint64_t w = mix(key ^ mix(s->refs[i].id));
            if (i == 0 || w > top)
                top = w, best = i;
        }
        return best;
    }
    case TROUPE_ROUTE_SMALLEST: {
        uint64_t d = draw(r);
        uint32_t a = (uint32_t)(d % n), b = (uint32_t)((d >> 32) % n);
        return depth_of(r->sys, s->refs[b]) < depth_of(r->sys, s->refs[a]) ? b : a;
    }
    default:
        return (uint32_t)(draw(r) % n);
    }
}

TROUPE_API int troupe_router_create(troupe_system *sys, const char *group, troupe_route route,
                                    troupe_router **out)
{
    if (!sys || !out || group_name_check(group) || route < TROUPE_ROUTE_ROUND_ROBIN ||
        route > TROUPE_ROUTE_BROADCAST)
        return TROUPE_EINVAL;
    troupe_router *r = sys_calloc(1, sizeof *r);
    if (!r)
        return TROUPE_ENOMEM;
    r->sys = sys;
    r->route = route;
    strcpy(r->name, group); /* checked: shorter than the field */
    r->hash = group_hash(group);
    *out = r;
    return 0;
}

TROUPE_API void troupe_router_destroy(troupe_router *r)
{
    free(r);
}

/* The group by name, kept for the next picks (see grp). */
static group *router_group(troupe_router *r)
{
    groups *g = groups_of(r->sys);
    group *grp = g ? group_find(g, r->name, r->hash) : NULL;
    if (grp) /* release: pairs with troupe_router_pick's acquire */
        atomic_store_explicit(&r->grp, grp, memory_order_release);
    return grp;
}

TROUPE_API int troupe_router_pick(troupe_router *r, uint64_t key, troupe_ref *out)
{
    if (!r || !out || r->route == TROUPE_ROUTE_BROADCAST)
        return TROUPE_EINVAL;
    group *grp = atomic_load_explicit(&r->grp, memory_order_acquire);
    if (!grp && !(grp = router_group(r)))
        return TROUPE_ENOTFOUND;
    int rc = TROUPE_ENOTFOUND;
    gp_read_lock();
    const gsnap *s = gp_snap(grp);
    if (s && s->n) {
        *out = s->refs[choose(r, s, key)];
        rc = 0;
    }
    gp_read_unlock();
    return rc;
}

TROUPE_API int troupe_router_tell(troupe_router *r, uint64_t key, uint32_t type, const void *data,
                                  size_t len)
{
    if (r && r->route == TROUPE_ROUTE_BROADCAST)
        return troupe_group_publish(r->sys, r->name, type, data, len, NULL);
    int rc = TROUPE_ENOTFOUND;
    for (int i = 0; i < ROUTE_TRIES; i++) {
        troupe_ref to;
        if ((rc = troupe_router_pick(r, key, &to)))
            return rc;
        /* an ended member: its DOWN has not removed it yet; another pick
         * (HASH picks it again until it is gone: its key's order) */
        if ((rc = troupe_tell(r->sys, to, type, data, len)) != TROUPE_ENOACTOR)
            return rc;
    }
    return rc;
}

TROUPE_API int troupe_router_ask(troupe_router *r, uint64_t key, uint32_t type, const void *data,
                                 size_t len, uint64_t timeout_ns, uint32_t *reply_type,
                                 void *reply_buf, size_t reply_cap, size_t *reply_len)
{
    troupe_ref to;
    int rc = troupe_router_pick(r, key, &to);
    if (rc)
        return rc;
    return troupe_ask(r->sys, to, type, data, len, timeout_ns, reply_type, reply_buf, reply_cap,
                      reply_len);
}
