/* persistence/jfault.c — failed journal writes and syncs, injected
 * (troupe/fault.h): the one fault point is the journal writer's append,
 * above the backend vtable, so that every backend fails the same way. */
#include "core/common.h"
#include "persistence/jfault.h"
#include "troupe/fault.h"

/* Per kind: how many more succeed before every one fails (< 0: off). */
static _Atomic long countdown[2] = {-1, -1};

TROUPE_API int troupe_fault_journal(troupe_fault_io what, long after)
{
    if (what != TROUPE_FAULT_JOURNAL_WRITE && what != TROUPE_FAULT_JOURNAL_SYNC)
        return TROUPE_EINVAL;
    atomic_store(&countdown[what], after < 0 ? -1 : after);
    return 0;
}

/* true: this one fails (the count reached 0); else one fewer left. */
static bool hit(troupe_fault_io what)
{
    /* relaxed: a test knob, off (< 0) in every real run */
    long v = atomic_load_explicit(&countdown[what], memory_order_relaxed);
    if (likely(v < 0))
        return false;
    while (v > 0)
        if (atomic_compare_exchange_weak(&countdown[what], &v, v - 1))
            return false;
    return v == 0;
}

int jfault_write(const backend *b, char *err)
{
    if (!hit(TROUPE_FAULT_JOURNAL_WRITE))
        return 0;
    backend_errf(err, "%s: injected write failure (troupe_fault_journal)", b->ops->name);
    return TROUPE_EIO;
}

int jfault_sync(const backend *b, char *err)
{
    if (!hit(TROUPE_FAULT_JOURNAL_SYNC))
        return 0;
    backend_errf(err, "%s: injected sync failure (troupe_fault_journal): durability unknown",
                 b->ops->name);
    return TROUPE_EIO;
}
