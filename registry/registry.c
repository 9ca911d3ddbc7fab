/* registry/registry.c — the registry's life and its writers: register,
 * unregister, and forgetting the name of an actor that ended (see
 * entry.h for the tables and who frees an entry). */
#include "core/alloc.h"
#include "core/ext.h"
#include "registry/entry.h"
#include "registry/registry.h"

/* No CDS_LFHT_AUTO_RESIZE: the registry sizes its tables (resize.c). */
static int reg_table_init(reg_table *t)
{
    t->ht = cds_lfht_new_flavor(REG_MIN_BUCKETS, REG_MIN_BUCKETS, 0, 0, &urcu_bp_flavor, NULL);
    atomic_init(&t->size, REG_MIN_BUCKETS);
    return t->ht ? 0 : TROUPE_ENOMEM;
}

static void registry_free(struct registry *r)
{
    if (r->groups.ht)
        cds_lfht_destroy(r->groups.ht, NULL);
    if (r->names.ht)
        cds_lfht_destroy(r->names.ht, NULL);
    tfree_aligned(0, r, sizeof *r);
}

/* Registries ever created: each one's serial tags its names in the
 * threads' caches (cache.c). */
static _Atomic uint64_t registry_serials;

int registry_create(troupe_system *sys)
{
    struct registry *r = tcalloc_aligned(0, sizeof *r); /* its counters: own lines */
    if (!r)
        return TROUPE_ENOMEM;
    r->alloc_mode = sys->alloc_mode;
    /* relaxed: a unique number is all it needs to be */
    r->serial = (atomic_fetch_add_explicit(&registry_serials, 1, memory_order_relaxed) + 1) *
                REG_K2;
    if (reg_table_init(&r->names) || reg_table_init(&r->groups)) {
        registry_free(r);
        return TROUPE_ENOMEM;
    }
    /* Start liburcu-bp's call_rcu thread now, in the creating thread,
     * rather than in the first registry_forget on a worker. */
    (void)urcu_bp_get_default_call_rcu_data();
    sys->reg = r;
    /* core takes a spawned actor's name, and forgets it at its end, here */
    sys->hooks.name = troupe_register;
    sys->hooks.forget = registry_forget;
    return 0;
}

static size_t entry_size(uint32_t len)
{
    size_t hot = sizeof(reg_entry) + len + 1;
    return REG_COLD_SIZE + ((hot + CACHELINE - 1) & ~(size_t)(CACHELINE - 1));
}

static void entry_free(reg_entry *e)
{
    reg_cold *c = reg_cold_of(e);
    tfree_aligned(c->alloc_mode, c, c->size);
}

/* The call_rcu callback: a grace period has passed since the entry left
 * the name table and its group's list, so no reader can hold it any more. */
static void entry_free_rcu(struct rcu_head *head)
{
#if defined(TROUPE_TSAN)
    __tsan_acquire(REG_TSAN_GP); /* see reg_read_unlock */
#endif
    entry_free(reg_entry_of_cold(caa_container_of(head, reg_cold, rcu)));
}

/* Free c's entry after a grace period. Under TSan the hand-over to the
 * call_rcu thread is made visible as the read-side sections' is (see
 * reg_read_unlock): what this thread did to the entry comes before the
 * free. */
static void defer_free(reg_cold *c)
{
#if defined(TROUPE_TSAN)
    __tsan_release(REG_TSAN_GP);
#endif
    urcu_bp_call_rcu(&c->rcu, entry_free_rcu);
}

/* A new, unpublished entry. */
static reg_entry *entry_new(troupe_system *sys, const reg_key *k, actor *a, troupe_ref ref)
{
    size_t size = entry_size(k->n);
    reg_cold *c = talloc_aligned(sys->reg->alloc_mode, size);
    if (!c)
        return NULL;
    memset(c, 0, size);
    c->size = (uint32_t)size;
    c->alloc_mode = sys->reg->alloc_mode;
    c->at_ns = troupe_clock_now(sys->clock);
    reg_entry *e = reg_entry_of_cold(c);
    e->ref = ref;
    e->a = a;
    memcpy(e->name, k->s, k->n);
    e->name[k->n] = '\0';
    return e;
}

static void reg_publish(reg_entry *e, uint32_t len)
{
    /* release: the name, ref, actor and cold part before any reader's
     * acquire of len (reg_match_name, reg_entry_acquire) */
    atomic_store_explicit(&e->len, len, memory_order_release);
}

/* In a read-side section: unlink e's name node. The caller that succeeds
 * (one does) uncounts it, and says so. */
static bool unlink_name(struct registry *r, reg_entry *e)
{
    if (cds_lfht_del(r->names.ht, &e->node) != 0)
        return false;
    reg_stripe_bump(r, e); /* the caches' copies of this name go stale */
    /* seq_cst: see resize.c */
    atomic_fetch_sub_explicit(&r->names.count, 1, memory_order_seq_cst);
    return true;
}

/* The owner's removal (entry.h): out of the name table and the group,
 * freed after a grace period. Any thread; waits for nothing but the
 * group's lock, held by writers only and briefly. */
static void entry_retire(struct registry *r, reg_entry *e)
{
    reg_read_lock(); /* cds_lfht_del wants one */
    bool unlinked = unlink_name(r, e);
    reg_read_unlock();
    reg_group_remove(reg_cold_of(e));
    defer_free(reg_cold_of(e));
    if (unlinked)
        reg_table_changed(&r->names);
}

void registry_forget(troupe_system *sys, void *entry)
{
    if (sys->reg && entry)
        entry_retire(sys->reg, entry);
}

/* In a read-side section, x->lock held: add e under its name. An entry
 * already there whose actor has ended is unlinked (its owner frees it), so
 * that a name is free again as soon as its actor is gone. 0 or EEXIST. */
static int insert_name(troupe_system *sys, reg_entry *e, const reg_key *k)
{
    unsigned long hash = (unsigned long)reg_hash(k->s, k->n);
    struct registry *r = sys->reg;
    for (;;) {
        struct cds_lfht_node *got =
            cds_lfht_add_unique(r->names.ht, hash, reg_match_name, k, &e->node);
        if (got == &e->node)
            break;
        reg_entry *old = reg_entry_acquire(got);
        if (reg_live_actor(old))
            return TROUPE_EEXIST;
        unlink_name(r, old);
    }
    /* seq_cst: see resize.c */
    atomic_fetch_add_explicit(&r->names.count, 1, memory_order_seq_cst);
    return 0;
}

/* x->lock held: the registration protocol (core/ext.h). */
static int register_locked(troupe_system *sys, actor *a, actor_ext *x, reg_entry *e,
                           const reg_key *k)
{
    if (!ext_live_locked(a, x, e->ref))
        return TROUPE_ENOACTOR;
    if (x->reg)
        return TROUPE_EEXIST; /* one name per actor */
    /* live under x->lock: its end (ext_on_finish) waits for us, and the
     * slot cannot be reused before that, so a->beh is this actor's */
    reg_cold *c = reg_cold_of(e);
    if (!(c->group = reg_group_get(sys->reg, a->beh)))
        return TROUPE_ENOMEM;
    reg_publish(e, k->n);
    reg_read_lock();
    int rc = insert_name(sys, e, k);
    reg_read_unlock();
    if (rc)
        return rc;
    reg_group_add(c); /* before anyone can retire it (x->reg) */
    x->reg = e;
    reg_table_changed(&sys->reg->names);
    return 0;
}

TROUPE_API int troupe_register(troupe_system *sys, const char *name, troupe_ref ref)
{
    reg_key k = {name, reg_name_len(name)};
    if (!sys || !sys->reg || k.n == 0 || troupe_ref_is_none(ref))
        return TROUPE_EINVAL;
    actor *a = actor_lookup(sys, ref);
    if (!a)
        return TROUPE_ENOACTOR;
    actor_ext *x = ext_get(sys, a);
    reg_entry *e = x ? entry_new(sys, &k, a, ref) : NULL;
    if (!e)
        return TROUPE_ENOMEM;
    pthread_mutex_lock(&x->lock);
    int rc = register_locked(sys, a, x, e, &k);
    pthread_mutex_unlock(&x->lock);
    if (rc)
        entry_free(e); /* never reached a table: no grace period needed */
    return rc;
}

/* In a read-side section (which keeps e's memory, so that the identity
 * check below cannot be fooled by a reused address): take e from its
 * actor if it is still the actor's name. */
static bool take_from_actor(reg_entry *e)
{
    actor_ext *x = ext_peek(e->a);
    if (!x)
        return false;
    pthread_mutex_lock(&x->lock);
    bool mine = x->reg == e;
    if (mine)
        x->reg = NULL;
    pthread_mutex_unlock(&x->lock);
    return mine;
}

TROUPE_API int troupe_unregister(troupe_system *sys, const char *name)
{
    reg_key k = {name, reg_name_len(name)};
    if (!sys || !sys->reg || k.n == 0)
        return TROUPE_EINVAL;
    reg_read_lock();
    reg_entry *e = reg_find(sys->reg, &k);
    /* a name whose actor has ended does not exist (whereis agrees); its
     * end removes it */
    bool mine = e && reg_live_actor(e) && take_from_actor(e);
    reg_read_unlock();
    if (!mine)
        return TROUPE_ENOTFOUND;
    entry_retire(sys->reg, e); /* ours alone now: valid after the section */
    return 0;
}

/* Destroy's retire: no reader is left, so the group's list need not
 * change; the name node goes, the entry after the barrier below. */
static void retire_at_destroy(struct registry *r, reg_cold *c)
{
    unlink_name(r, reg_entry_of_cold(c));
    defer_free(c);
}

/* Destroy: no other call runs. Every entry not yet retired by its owner is
 * in its group's list (only the owner takes it out): retire those, wait for
 * every deferred free, drop the tables. */
void registry_destroy(troupe_system *sys)
{
    struct registry *r = sys->reg;
    if (!r)
        return;
    reg_groups_destroy(r, retire_at_destroy);
    /* every call_rcu so far has run (frees, resizes): no entry is left for
     * ASan to call a leak, and no callback runs after the registry is gone */
    urcu_bp_barrier();
#if defined(TROUPE_TSAN)
    __tsan_acquire(REG_TSAN_GP); /* the callbacks' release (resize_cb) */
#endif
    registry_free(r);
    sys->reg = NULL;
}
