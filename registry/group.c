/* registry/group.c — a behaviour's group: the RCU list of the entries
 * registered with it (entry.h). Readers walk `next` pointers lock-free;
 * writers hold the group's mutex. A removed link keeps its `next`, so a
 * reader standing on it walks on; its memory waits for a grace period. */
#include "core/alloc.h"
#include "registry/entry.h"

static reg_group *group_new(const troupe_behaviour *beh)
{
    reg_group *g = sys_calloc(1, sizeof *g);
    if (!g)
        return NULL;
    pthread_mutex_init(&g->lock, NULL);
    g->members.prev = &g->members;
    /* relaxed: published with the group below */
    atomic_store_explicit(&g->members.next, &g->members, memory_order_relaxed);
    /* release: the mutex and the list before any reader's acquire of beh
     * (reg_match_group, group_acquire) */
    atomic_store_explicit(&g->beh, beh, memory_order_release);
    return g;
}

static void group_free(reg_group *g)
{
    pthread_mutex_destroy(&g->lock);
    free(g);
}

/* The group under a node add_unique returned (its failure path runs no
 * match on that node). */
static reg_group *group_acquire(struct cds_lfht_node *node)
{
    reg_group *g = caa_container_of(node, reg_group, node);
    /* acquire: pairs with group_new's release */
    (void)atomic_load_explicit(&g->beh, memory_order_acquire);
    return g;
}

reg_group *reg_group_get(struct registry *r, const troupe_behaviour *beh)
{
    reg_read_lock();
    reg_group *g = reg_find_group(r, beh);
    reg_read_unlock();
    if (g)
        return g;
    reg_group *fresh = group_new(beh);
    if (!fresh)
        return NULL;
    reg_read_lock();
    struct cds_lfht_node *got =
        cds_lfht_add_unique(r->groups.ht, reg_hash_beh(beh), reg_match_group, beh, &fresh->node);
    reg_read_unlock();
    if (got == &fresh->node) {
        /* seq_cst: see resize.c */
        atomic_fetch_add_explicit(&r->groups.count, 1, memory_order_seq_cst);
        reg_table_changed(&r->groups);
        return fresh;
    }
    group_free(fresh); /* another thread's won; ours was never seen */
    return group_acquire(got);
}

void reg_group_add(reg_cold *c)
{
    reg_group *g = c->group;
    pthread_mutex_lock(&g->lock);
    reg_link *head = &g->members;
    /* relaxed: the list's writers hold the lock */
    reg_link *first = atomic_load_explicit(&head->next, memory_order_relaxed);
    c->link.prev = head;
    /* relaxed: c is published by the release below */
    atomic_store_explicit(&c->link.next, first, memory_order_relaxed);
    first->prev = &c->link;
    /* release: c's entry (ref, name, cold part) before a reader's acquire
     * of head->next (walk_group in lookup.c) */
    atomic_store_explicit(&head->next, &c->link, memory_order_release);
    pthread_mutex_unlock(&g->lock);
}

void reg_group_remove(reg_cold *c)
{
    reg_group *g = c->group;
    pthread_mutex_lock(&g->lock);
    /* relaxed: only this writer (under the lock) changes c's links */
    reg_link *next = atomic_load_explicit(&c->link.next, memory_order_relaxed);
    /* release: readers that now skip c reach `next`, whose entry was
     * published to us under this lock; c keeps its own `next` */
    atomic_store_explicit(&c->link.prev->next, next, memory_order_release);
    next->prev = c->link.prev;
    pthread_mutex_unlock(&g->lock);
}

void reg_groups_destroy(struct registry *r, void (*retire)(struct registry *r, reg_cold *c))
{
    struct cds_lfht_iter it;
    reg_group *g, *gone = NULL;
    reg_read_lock();
    cds_lfht_for_each_entry(r->groups.ht, &it, g, node)
    {
        /* relaxed: no other thread runs any more (destroy) */
        reg_link *l = atomic_load_explicit(&g->members.next, memory_order_relaxed);
        while (l != &g->members) {
            reg_link *next = atomic_load_explicit(&l->next, memory_order_relaxed);
            retire(r, caa_container_of(l, reg_cold, link));
            l = next;
        }
        cds_lfht_del(r->groups.ht, &g->node);
        g->gone = gone; /* freed after the walk, which still reads the node */
        gone = g;
    }
    reg_read_unlock();
    /* no reader is left, and the retired entries' callbacks do not touch
     * their group: no grace period needed */
    while ((g = gone)) {
        gone = g->gone;
        group_free(g);
    }
}
