/* registry/lookup.c — the registry's readers: lock-free, never blocking.
 * troupe_whereis tries the calling thread's cache first (cache.c); every
 * other search is one urcu-bp read-side section over cds_lfht (entry.h). */
#include <limits.h>

#include "registry/entry.h"

/* In a read-side section: the live ref registered as k, or NONE. */
static troupe_ref find_live(struct registry *r, const reg_key *k)
{
    reg_entry *e = reg_find(r, k);
    return e && reg_live_actor(e) ? e->ref : TROUPE_REF_NONE;
}

/* A miss in this thread's cache (cache.c): the table, then the cache. */
static troupe_ref find_and_cache(struct registry *r, const reg_key *k, uint64_t h)
{
    /* acquire: pairs with reg_stripe_bump's release; read before the
     * search, so a removal the search may miss moves the stripe past it */
    uint32_t gen = atomic_load_explicit(reg_stripe(r, h), memory_order_acquire);
    reg_read_lock();
    reg_entry *e = reg_find_hashed(r, k, h);
    actor *a = e ? reg_live_actor(e) : NULL;
    troupe_ref ref = a ? e->ref : TROUPE_REF_NONE;
    reg_read_unlock();
    if (a)
        reg_cache_put(r, k, h, gen, ref, a);
    return ref;
}

TROUPE_API int troupe_whereis(troupe_system *sys, const char *name, troupe_ref *out)
{
    if (!out)
        return TROUPE_EINVAL;
    *out = TROUPE_REF_NONE;
    reg_key k = {name, reg_name_len(name)};
    if (!sys || !sys->reg || k.n == 0)
        return TROUPE_EINVAL;
    uint64_t h = reg_hash(k.s, k.n);
    *out = reg_cache_get(sys->reg, &k, h);
    if (likely(!troupe_ref_is_none(*out)))
        return 0;
    *out = find_and_cache(sys->reg, &k, h);
    return troupe_ref_is_none(*out) ? TROUPE_ENOTFOUND : 0;
}

TROUPE_API int troupe_whereis_batch(troupe_system *sys, const char *const *names, size_t n,
                                    troupe_ref *out)
{
    if (!sys || !sys->reg || ((!names || !out) && n > 0) || n > INT_MAX)
        return TROUPE_EINVAL;
    int found = 0;
    reg_read_lock();
    for (size_t i = 0; i < n; i++) {
        reg_key k = {names[i], reg_name_len(names[i])};
        out[i] = k.n ? find_live(sys->reg, &k) : TROUPE_REF_NONE;
        found += !troupe_ref_is_none(out[i]);
    }
    reg_read_unlock();
    return found;
}

/* In a read-side section: fill *out from e if its actor is still live. */
static bool fill_info(const reg_entry *e, troupe_registry_entry *out)
{
    actor *a = reg_live_actor(e);
    if (!a)
        return false;
    const reg_cold *c = reg_cold_of(e);
    /* relaxed: the group was published to us with the entry (its beh is
     * constant); see reg_match_group */
    const troupe_behaviour *beh = atomic_load_explicit(&c->group->beh, memory_order_relaxed);
    /* relaxed: a counter the consumer bumps; a snapshot is all we promise */
    uint64_t handled = atomic_load_explicit(&a->mb.handled, memory_order_relaxed);
    *out = (troupe_registry_entry){
        .ref = e->ref,
        .beh = beh,
        .behaviour = beh->name,
        .registered_at_ns = c->at_ns,
        .handled = handled,
    };
    /* the slot may have been reused while we read: then the count is not
     * this actor's */
    return reg_live_actor(e) != NULL;
}

TROUPE_API int troupe_registry_info(troupe_system *sys, const char *name,
                                    troupe_registry_entry *out)
{
    if (!out)
        return TROUPE_EINVAL;
    memset(out, 0, sizeof *out);
    reg_key k = {name, reg_name_len(name)};
    if (!sys || !sys->reg || k.n == 0)
        return TROUPE_EINVAL;
    reg_read_lock();
    reg_entry *e = reg_find(sys->reg, &k);
    bool ok = e && fill_info(e, out);
    reg_read_unlock();
    if (!ok)
        memset(out, 0, sizeof *out);
    return ok ? 0 : TROUPE_ENOTFOUND;
}

/* In a read-side section: walk g's list (entry.h), counting the live
 * entries and writing the first `room` refs. */
static size_t walk_group(reg_group *g, troupe_ref *out, size_t room,
                         size_t *written)
{
    size_t all = 0;
    /* acquire: pairs with reg_group_add's / reg_group_remove's release
     * (each entry reached is fully written) */
    reg_link *l = atomic_load_explicit(&g->members.next, memory_order_acquire);
    while (l != &g->members) {
        const reg_entry *e = reg_entry_of_link(l);
        if (reg_live_actor(e)) {
            if (*written < room)
                out[(*written)++] = e->ref;
            all++;
        }
        /* acquire: as above */
        l = atomic_load_explicit(&l->next, memory_order_acquire);
    }
    return all;
}

TROUPE_API int troupe_registry_by_behaviour(troupe_system *sys, const troupe_behaviour *beh,
                                            troupe_ref *out, size_t cap, size_t *total)
{
    if (total)
        *total = 0;
    if (!sys || !sys->reg || !beh || (!out && cap > 0))
        return TROUPE_EINVAL;
    size_t room = cap < INT_MAX ? cap : INT_MAX, written = 0, all = 0;
    reg_read_lock();
    reg_group *g = reg_find_group(sys->reg, beh);
    if (g)
        all = walk_group(g, out, room, &written);
    reg_read_unlock();
    if (total)
        *total = all;
    return (int)written;
}

TROUPE_API size_t troupe_registry_size(troupe_system *sys)
{
    if (!sys || !sys->reg)
        return 0;
    /* relaxed: a statistic; exact once the writers are done */
    return (size_t)atomic_load_explicit(&sys->reg->names.count, memory_order_relaxed);
}
