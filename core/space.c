/* core/space.c — BLOCK from a plain thread: wait for room, woken by the
 * consumer.
 *
 * A plain thread that finds a BLOCK mailbox full sleeps on the system's
 * space_seq futex. The receiver's worker, at the end of each run, wakes the
 * waiters once the ring is half free, so a sender waits once per half ring
 * rather than once per slot. The backoff this replaced (nanosleep from
 * 1 µs, which timer slack stretches to 50 µs or more) woke the sender for
 * every few slots; on 2 cores shared with 2 busy workers those wake-ups
 * left the workers spinning on mailboxes the sender had not refilled, and a
 * router over 2 members ran barely faster than one actor (issue 17).
 *
 * The wake is a hint, on purpose. The consumer reads the mailbox's
 * space_wait flag relaxed after its pops (release stores of head), with no
 * StoreLoad barrier between them: a fence at the end of every run would
 * cost every workload for this rare one. A waiter that raises the flag
 * just as the consumer's last run reads it clear is not woken; so a sender never sleeps more than
 * SPACE_NAP_NS at a time before it looks at the ring again, the longest
 * pause of the old backoff. A missed wake costs one nap, never progress.
 */
#include <limits.h>

#include "core/system.h"

#define SPACE_NAP_NS 1000000ull /* 1 ms: the longest sleep between two looks */

/* PUSH_FULL after a nap (look again), or why the wait is over. */
static int space_nap(troupe_system *sys, uint32_t seen, uint64_t deadline)
{
    if (atomic_load_explicit(&sys->state, memory_order_acquire) != SYS_RUNNING)
        return TROUPE_ESHUTDOWN;
    uint64_t now = mono_ns();
    if (now >= deadline)
        return TROUPE_ETIMEDOUT;
    uint64_t left = deadline - now;
    futex_wait_u32(&sys->space_seq, seen, left < SPACE_NAP_NS ? left : SPACE_NAP_NS);
    return PUSH_FULL;
}

int space_wait_blocking(troupe_system *sys, actor *a, uint32_t gen, tmsg *m)
{
    uint64_t deadline = deadline_add(mono_ns(), sys->cfg.block_timeout_ns);
    for (;;) {
        /* read before the flag is raised: a wake after this load changes
         * the word, so the futex wait below returns at once */
        uint32_t seen = atomic_load_explicit(&sys->space_seq, memory_order_acquire);
        /* seq_cst: raised before the next look at the ring (run_actor's
         * relaxed read is the other side; see the header) */
        atomic_store_explicit(&a->mb.space_wait, 1, memory_order_seq_cst);
        int rc = send_push_one(sys, a, gen, m);
        if (rc == PUSH_FULL)
            rc = space_nap(sys, seen, deadline);
        if (rc == TROUPE_ETIMEDOUT)
            atomic_fetch_add_explicit(&a->mb.rejected, 1, memory_order_relaxed);
        if (rc != PUSH_FULL)
            return rc;
    }
}

void space_wake(troupe_system *sys, actor *a)
{
    mailbox *mb = &a->mb;
    /* relaxed: a hint (the header); the waiter naps at most SPACE_NAP_NS */
    if (!atomic_load_explicit(&mb->space_wait, memory_order_relaxed))
        return;
    /* half free, or empty: an ended actor's ring is (mb_close) */
    if (mb_depth(mb) > mb_cap(mb) / 2)
        return;
    /* relaxed: a sender raising it again meanwhile read the word before
     * the bump below (on every machine we run on), so its wait returns at
     * once; at worst it naps (the header) */
    atomic_store_explicit(&mb->space_wait, 0, memory_order_relaxed);
    /* release: pairs with the waiter's acquire load of the word */
    atomic_fetch_add_explicit(&sys->space_seq, 1, memory_order_release);
    futex_wake_u32(&sys->space_seq, INT_MAX);
}
