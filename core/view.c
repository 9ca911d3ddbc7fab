/* core/view.c — an actor's published view (troupe/async.h): an immutable
 * object that any thread reads without a message and without a lock.
 *
 * The actor's ext (core/ext.h) holds a pointer to the current view; a
 * publish swaps it (release: the object's contents before the pointer, what
 * rcu_assign_pointer does, in C11 so that TSan sees it) and hands the old
 * one to call_rcu; a reader loads it with acquire (rcu_dereference) inside
 * a urcu-bp read-side section. urcu-bp, as the registry: readers are any
 * application thread, registered at their first section without asking.
 * A view names the incarnation that published it (its ref): a reader with
 * another generation's ref finds nothing. At the end of an incarnation
 * (ask_on_exit) the view is retired the same way; the system's destroy
 * waits for every deferred free (rcu_barrier) so that nothing leaks.
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

typedef struct view {
    struct rcu_head rcu;
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
    if (v->free_fn)
        v->free_fn(v->data);
    free(v);
}

static void retire(view *v)
{
    if (!v)
        return;
#if defined(TROUPE_TSAN)
    __tsan_release(&view_tsan_gp);
#endif
    urcu_bp_call_rcu(&v->rcu, view_free_rcu);
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
    retire(atomic_exchange_explicit(&x->view, v, memory_order_acq_rel));
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
    if (x && atomic_load_explicit(&x->view, memory_order_relaxed))
        retire(atomic_exchange_explicit(&x->view, NULL, memory_order_acq_rel));
}

void views_destroy(troupe_system *sys)
{
    if (atomic_load_explicit(&sys->ak->views, memory_order_relaxed))
        urcu_bp_barrier(); /* every retired view freed before we return */
}
