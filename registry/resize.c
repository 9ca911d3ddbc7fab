/* registry/resize.c — keeping a table's load factor at most 1.
 *
 * Why not CDS_LFHT_AUTO_RESIZE: with accounting, cds_lfht grows a table
 * only when the item count reaches a power of two at least 8 times its
 * size, so a table of 100k names ran at 6 names per bucket, and a lookup
 * walked some four entries, each a cache miss once the registry outgrows
 * the cache. Without accounting it grows from chain lengths seen by adds,
 * which overshoots under a burst of registrations (32 M buckets for 1 M
 * names in a test). So the registry sizes its tables itself: the next
 * power of two at or above the count (load 0.5..1), shrinking once the
 * count falls below an eighth of the size.
 *
 * cds_lfht_resize blocks for grace periods, so no caller of the API runs
 * it: a writer that moves a table off target queues one resize on
 * liburcu-bp's call_rcu thread (a registered RCU thread, outside any
 * read-side section: what cds_lfht_resize asks for); at most one per
 * table is queued or running. Readers and writers go on meanwhile:
 * cds_lfht resizes under them.
 */
#include "registry/entry.h"

static unsigned long want_size(uint64_t count)
{
    unsigned long want = REG_MIN_BUCKETS;
    while (want < count)
        want <<= 1;
    return want;
}

static bool off_target(const reg_table *t)
{
    /* seq_cst: with the count's seq_cst updates and the `resizing`
     * exchange, a writer that found a resize running and left is seen by
     * that resize's re-check (resize_cb) — a Dekker pair */
    uint64_t count = atomic_load_explicit(&t->count, memory_order_seq_cst);
    /* relaxed: only this heuristic reads it; resize_cb alone writes it */
    unsigned long size = atomic_load_explicit(&t->size, memory_order_relaxed);
    return count > size || (size > REG_MIN_BUCKETS && count < size / 8);
}

static void resize_cb(struct rcu_head *head)
{
    reg_table *t = caa_container_of(head, reg_table, rcu);
    do {
        /* relaxed: a snapshot; the re-check below catches what follows */
        unsigned long want = want_size(atomic_load_explicit(&t->count, memory_order_relaxed));
        if (want != atomic_load_explicit(&t->size, memory_order_relaxed)) {
            cds_lfht_resize(t->ht, want);
            atomic_store_explicit(&t->size, want, memory_order_relaxed);
        }
        /* seq_cst: the other half of off_target's Dekker pair */
        atomic_store_explicit(&t->resizing, false, memory_order_seq_cst);
    } while (off_target(t) &&
             !atomic_exchange_explicit(&t->resizing, true, memory_order_seq_cst));
#if defined(TROUPE_TSAN)
    __tsan_release(REG_TSAN_GP); /* before registry_destroy frees t */
#endif
}

void reg_table_changed(reg_table *t)
{
    if (!off_target(t))
        return;
    /* seq_cst: see off_target; the winner queues the resize */
    if (atomic_exchange_explicit(&t->resizing, true, memory_order_seq_cst))
        return;
    urcu_bp_call_rcu(&t->rcu, resize_cb);
}
