/* group/gp.h — the grace periods of group snapshots (group/group.h): readers
 * in an urcu-bp read-side section, old snapshots freed by call_rcu.
 *
 * Under TSan: liburcu is not instrumented, so, as the registry does
 * (registry/entry.h), each section's end and each call_rcu release, and
 * the callbacks acquire, one address standing for "the grace period". */
#ifndef TROUPE_GROUP_GP_H
#define TROUPE_GROUP_GP_H

#include "group/group.h"

#if defined(TROUPE_TSAN)
#include <sanitizer/tsan_interface.h>
#define GP_TSAN ((void *)&urcu_bp_flavor)
#endif

static inline void gp_read_lock(void) { urcu_bp_read_lock(); }

static inline void gp_read_unlock(void)
{
#if defined(TROUPE_TSAN)
    __tsan_release(GP_TSAN);
#endif
    urcu_bp_read_unlock();
}

/* In a read-side section: grp's members now, or NULL (none). */
static inline const gsnap *gp_snap(group *grp)
{
    /* acquire: pairs with group_snap_locked's release */
    return atomic_load_explicit(&grp->snap, memory_order_acquire);
}

/* Free a snapshot once no reader can hold it. */
void gp_defer_free(struct rcu_head *h);

#endif /* TROUPE_GROUP_GP_H */
