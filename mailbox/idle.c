/* mailbox/idle.c — an empty mailbox going idle, with its lap jump, and
 * the counts readers take of positions a jump moves (see mailbox.h for
 * the protocol, ring.c for the claims and the consumer's reads). */
#include <sched.h>

#include "mailbox/mailbox.h"

/* Where an empty mailbox at h takes its next message: h, or (past the
 * first MB_JUMP_AT slots of its lap, mailbox.h) the start of the ring's
 * next lap, so that an actor that drains what it gets keeps reusing its first slots —
 * warm in the caches, their pages mapped — instead of walking all of them,
 * a cache line a message (a publish to a big group: docs/PERFORMANCE.md).
 * Not for DROP_OLDEST mailboxes, whose senders move head too. */
static uint64_t lap_start(mailbox *mb, uint64_t h)
{
    /* acquire: pairs with install_ring's release, for r->mask. A run that
     * took no message from the ring (a system-lane run) has no other edge
     * to the sender that installed it (TSan found this in
     * supervisor-shutdown: a plain thread's ask installed the ring, a
     * worker's monitor run went idle). */
    mb_ring *r = atomic_load_explicit(&mb->ring, memory_order_acquire);
    if (!r || (h & r->mask) < MB_JUMP_AT || mb_policy(mb) == TROUPE_OVERFLOW_DROP_OLDEST)
        return h;
    return ((h | r->mask) + 1) & TW_POS_MASK;
}

/* Under LOCK (no claim can come): a new quarter of the positions clears
 * every seq (MB_REGION_SHIFT says why), then the skipped positions are
 * counted as holes and out of the stamp's count. */
static void jump_locked(mailbox *mb, uint64_t h, uint64_t to)
{
    mb_ring *r = atomic_load_explicit(&mb->ring, memory_order_relaxed);
    uint32_t region = (uint32_t)(to >> MB_REGION_SHIFT);
    if (unlikely(r->region != region)) {
        for (uint32_t i = 0; i <= r->mask; i++) /* relaxed: published by the unlock */
            atomic_store_explicit(&r->slots[i].seq, 0, memory_order_relaxed);
        r->region = region;
    }
    uint64_t skip = pos_sub(to, h);
    /* relaxed: the next claims acquire the unlock (see mb_ring) */
    atomic_store_explicit(&r->skew, atomic_load_explicit(&r->skew, memory_order_relaxed) -
                                        (uint32_t)skip, memory_order_relaxed);
    /* release: mb_accepted reads holes then tail again (see there) */
    atomic_store_explicit(&mb->holes, atomic_load_explicit(&mb->holes, memory_order_relaxed) + skip,
                          memory_order_release);
    /* release, both: before the unlock; a sender reads them after
     * acquiring a tail word at or after it (mb_reserve_mpsc) */
    atomic_store_explicit(&mb->head, to, memory_order_release);
    atomic_store_explicit(&mb->head_cache, to, memory_order_release);
}

bool mb_try_idle(mailbox *mb, uint32_t gen)
{
    uint64_t h = atomic_load_explicit(&mb->head, memory_order_relaxed);
    uint64_t expect = tw_make(gen, h), to = lap_start(mb, h);
    /* seq_cst: release so the next run (on any worker) sees this one's
     * writes (pairs with the acquire of the sender's CAS), and ordered
     * before the lane re-check that follows (Dekker with mb_kick_mpsc). */
    if (likely(to == h))
        return atomic_compare_exchange_strong_explicit(&mb->tail, &expect, expect | TW_IDLE,
                                                       memory_order_seq_cst, memory_order_relaxed);
    /* acquire: as install_ring's LOCK (senders wait while it is set) */
    if (!atomic_compare_exchange_strong_explicit(&mb->tail, &expect, expect | TW_LOCK,
                                                 memory_order_acquire, memory_order_relaxed))
        return false; /* a sender claimed: not empty */
    jump_locked(mb, h, to);
    /* seq_cst: the unlock, idle at the new position; release and Dekker
     * as the CAS above (a seq_cst store before the lane's seq_cst loads) */
    atomic_store_explicit(&mb->tail, tw_make(gen, to) | TW_IDLE, memory_order_seq_cst);
    return true;
}

uint32_t mb_depth(const mailbox *mb)
{
    uint64_t t = atomic_load_explicit(&mb->tail, memory_order_relaxed);
    uint64_t h = atomic_load_explicit(&mb->head, memory_order_relaxed);
    uint64_t d = pos_sub(t & TW_POS_MASK, h);
    if (d > TW_POS_MASK / 2)
        return 0; /* head already past a lap jump that tail does not show yet */
    return d > mb_cap(mb) ? mb_cap(mb) : (uint32_t)d;
}

uint64_t mb_accepted(const mailbox *mb)
{
    /* holes began at this incarnation's first position (mb_open); a lap
     * jump moves both (mb_try_idle): read tail, holes, tail again, until
     * the two tails agree and no jump is under way */
    unsigned spins = 0;
    for (;;) {
        /* acquire/release pairs: holes' release store in jump_locked after
         * its LOCK, so that a new holes makes the second load see LOCK or
         * later */
        uint64_t t = atomic_load_explicit(&mb->tail, memory_order_acquire);
        uint64_t ho = atomic_load_explicit(&mb->holes, memory_order_acquire);
        if (!(t & TW_LOCK) && atomic_load_explicit(&mb->tail, memory_order_relaxed) == t)
            return pos_sub(t & TW_POS_MASK, ho & TW_POS_MASK);
        if (++spins < 64) /* a jump under way: spin a little, then yield */
            cpu_relax();
        else
            sched_yield();
    }
}
