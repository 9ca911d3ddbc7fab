/* core/view.c — an actor's published view (troupe/async.h): an immutable
 * object that any thread reads without a message and without a lock.
 *
 * The actor's ext (core/ext.h) holds a pointer to the current view; a
 * publish swaps it (release: the object's contents before the pointer, what
 * rcu_assign_pointer does, in C11 so that TSan sees it) and retires the old
 * one; a reader loads it with acquire (rcu_dereference) inside
 * a urcu-bp read-side section. urcu-bp, as the registry: readers are any
 * application thread, registered at their first section without asking.
 * A view names the incarnation that published it (its ref): a reader with
 * another generation's ref finds nothing. At the end of an incarnation
 * (ask_on_exit) the view is retired the same way; the system's destroy
 * waits for every deferred free (rcu_barrier) so that nothing leaks.
 *
 * Retired views go to call_rcu in batches of RETIRE_BATCH, one rcu_head
 * for the batch: each call_rcu costs a full fence (liburcu's check for a
 * sleeping call_rcu thread) and a queue exchange, which made a publish
 * after every write cost 3x the write itself (issue 13). A batch is safe:
 * each of its views was unlinked before the batch's call_rcu, so the grace
 * period that follows waits for every reader that could still see it. The
 * batch is the owner's (only the actor's own run publishes); the end of
 * the incarnation hands over what is left. At most RETIRE_BATCH - 1 old
 * views per actor wait for the next publish.
 *
 * Under TSan a read-side end releases, and the free callback acquires, one
 * address standing for the grace period (see registry/entry.h).
 */
#include <stdlib.h>
#include <urcu/urcu-bp.h>

#include "core/alloc.h"
#include "core/ask.h"
#include "core/ext.h"

#if defined(TROUPE_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

#define RETIRE_BATCH 32

typedef struct view {
    struct rcu_head rcu; /* the batch's, in its first view */
    struct view *next;   /* the next view of the same batch */
    uint64_t owner; /* the publishing incarnation's ref id */
    void *data;
    troupe_view_free_fn free_fn;
} view;

#if defined(TROUPE_TSAN)
static char view_tsan_gp;
#endif

static void view_free_rcu(struct rcu_head *head)
{
#if defined(TROUPE_TSAN)
    __tsan_acquire(&view_tsan_gp);
#endif
    view *v = caa_container_of(head, view, rcu);
    while (v) {
        view *next = v->next;
        if (v->free_fn)
            v->free_fn(v->data);
        free(v);
        v = next;
    }
}

/* Hand the owner's batch to RCU. */
static void retire_flush(actor_ext *x)
{
    if (!x->retired)
        return;
#if defined(TROUPE_TSAN)
    __tsan_release(&view_tsan_gp);
#endif
    urcu_bp_call_rcu(&x->retired->rcu, view_free_rcu);
    x->retired = NULL;
    x->nretired = 0;
}

/* v was just unlinked (no new reader can find it): into the batch. */
static void retire(actor_ext *x, view *v)
{
    if (!v)
        return;
    v->next = x->retired;
    x->retired = v;
    if (++x->nretired >= RETIRE_BATCH)
        retire_flush(x);
}

TROUPE_API int troupe_view_publish(troupe_ctx *ctx, void *data, troupe_view_free_fn free_fn)
{
    if (!ctx)
        return TROUPE_EINVAL;
    if (!ctx->a)
        return TROUPE_ESTATE;
    actor_ext *x = ext_get(ctx->sys, ctx->a);
    if (!x)
        return TROUPE_ENOMEM;
    view *v = NULL;
    if (data) {
        if (!(v = sys_malloc(sizeof *v)))
            return TROUPE_ENOMEM;
        v->owner = troupe_self(ctx).id;
        v->data = data;
        v->free_fn = free_fn;
    }
    /* relaxed: read at destroy, after the workers are joined */
    atomic_store_explicit(&ctx->sys->ak->views, true, memory_order_relaxed);
    /* acq_rel: release publishes v's contents before the pointer (pairs with
     * troupe_view_read's acquire); acquire takes the old one's to retire */
    retire(x, atomic_exchange_explicit(&x->view, v, memory_order_acq_rel));
    return 0;
}

TROUPE_API int troupe_view_read(troupe_system *sys, troupe_ref ref,
                                void (*fn)(const void *view, void *ud), void *ud)
{
    if (!sys || !fn)
        return TROUPE_EINVAL;
    actor *a = actor_lookup(sys, ref);
    actor_ext *x = a ? ext_peek(a) : NULL;
    if (!x)
        return TROUPE_ENOTFOUND;
    int rc = TROUPE_ENOTFOUND;
    urcu_bp_read_lock();
    /* acquire: pairs with the publish's release (rcu_dereference) */
    view *v = atomic_load_explicit(&x->view, memory_order_acquire);
    if (v && v->owner == ref.id) {
        fn(v->data, ud);
        rc = 0;
    }
#if defined(TROUPE_TSAN)
    __tsan_release(&view_tsan_gp);
#endif
    urcu_bp_read_unlock();
    return rc;
}

void view_on_exit(troupe_system *sys, actor *a)
{
    (void)sys;
    actor_ext *x = ext_peek(a);
    /* acq_rel: as a publish of "no view" */
    if (!x)
        return;
    if (atomic_load_explicit(&x->view, memory_order_relaxed))
        retire(x, atomic_exchange_explicit(&x->view, NULL, memory_order_acq_rel));
    retire_flush(x);
}

void views_destroy(troupe_system *sys)
{
    if (atomic_load_explicit(&sys->ak->views, memory_order_relaxed))
        urcu_bp_barrier(); /* every retired view freed before we return */
}
