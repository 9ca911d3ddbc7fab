/* mailbox/ring.c — the bounded MPSC ring, see mailbox.h for the protocol. */
#include <sched.h>

#include "base/alloc.h"
#include "mailbox/mailbox.h"

static size_t ring_bytes(uint32_t n) { return sizeof(mb_ring) + (size_t)n * sizeof(mb_slot); }

/* More slots than the capacity (next_pow2(cap + 1)): the slot of the
 * message being handled in place stays out of the senders' reach. */
static mb_ring *ring_new(int mode, uint32_t cap, uint64_t pos)
{
    uint32_t n = next_pow2_u32(cap + 1);
    TR_ASSERT(n > cap && (n & (n - 1)) == 0); /* the mask, and the in-place slot */
    /* Zeroed: seq = 0 never equals a first-lap "published" value (i + 1),
     * and zeroed fresh pages are not touched, so a big ring that holds few
     * messages costs little resident memory. */
    mb_ring *r = tcalloc_aligned(mode, ring_bytes(n));
    if (!r)
        return NULL;
    r->mask = n - 1;
    r->region = (uint32_t)(pos >> MB_REGION_SHIFT); /* every seq is 0: clean */
    atomic_store_explicit(&r->stamp, MB_STAMP_EVERY - 1, memory_order_relaxed); /* not yet shared */
    return r;
}

/* Once per slot, not per send: out of line, so that the senders' claim
 * loop (which inlines install_ring) does not carry the call. */
__attribute__((noinline, cold)) static mb_ring *ring_new_for(struct troupe_system *sys, uint32_t cap, uint64_t pos)
{
    return ring_new(alloc_mode_of(sys), cap, pos);
}

void mb_free_ring(struct troupe_system *sys, mailbox *mb)
{
    /* relaxed: only the slot's owner (a spawn, or destroy) gets here; a
     * stale sender fails its generation check before reading the ring */
    mb_ring *r = atomic_load_explicit(&mb->ring, memory_order_relaxed);
    if (r) {
        atomic_store_explicit(&mb->ring, NULL, memory_order_relaxed);
        tfree_aligned(alloc_mode_of(sys), r, ring_bytes(r->mask + 1));
    }
}

void mb_fit_ring(struct troupe_system *sys, mailbox *mb, uint32_t cap)
{
    mb_ring *r = atomic_load_explicit(&mb->ring, memory_order_relaxed);
    if (r && r->mask + 1 != next_pow2_u32(cap + 1))
        mb_free_ring(sys, mb);
}

void mb_stamp_all(mailbox *mb, bool all)
{
    /* relaxed: the ring is the owner's to keep or free (a spawn, destroy) */
    mb_ring *r = atomic_load_explicit(&mb->ring, memory_order_relaxed);
    if (r) /* relaxed: a stride, see mb_ring */
        atomic_store_explicit(&r->stamp, all ? 0 : MB_STAMP_EVERY - 1, memory_order_relaxed);
}

void mb_open(mailbox *mb, uint32_t gen, uint32_t cap, uint8_t policy, bool idle)
{
    mb_stamp_all(mb, false); /* a trace of the last incarnation ends with it */
    /* Positions go on from where the last incarnation of this slot stopped,
     * so that a ring it leaves behind (mb_close keeps it) needs no zeroing:
     * every seq in it is at most that position, and the first one this
     * incarnation waits for is that position + 1. */
    uint64_t p0 = atomic_load_explicit(&mb->tail, memory_order_relaxed) & TW_POS_MASK;
    atomic_store_explicit(&mb->cap, cap, memory_order_relaxed);
    atomic_store_explicit(&mb->policy, policy, memory_order_relaxed);
    atomic_store_explicit(&mb->head, p0, memory_order_relaxed);
    atomic_store_explicit(&mb->head_cache, p0, memory_order_relaxed);
    atomic_store_explicit(&mb->handled, 0, memory_order_relaxed);
    /* holes starts at the first position: accepted = tail - holes counts
     * this incarnation's messages only (mb_accepted) */
    atomic_store_explicit(&mb->holes, p0, memory_order_relaxed);
    atomic_store_explicit(&mb->failed, 0, memory_order_relaxed);
    atomic_store_explicit(&mb->unparked, 0, memory_order_relaxed);
    atomic_store_explicit(&mb->dropped, 0, memory_order_relaxed);
    atomic_store_explicit(&mb->rejected, 0, memory_order_relaxed);
    atomic_store_explicit(&mb->redirected, 0, memory_order_relaxed);
    atomic_store_explicit(&mb->parked, 0, memory_order_relaxed);
    atomic_flag_clear_explicit(&mb->pop_lock, memory_order_relaxed);
    mb->sys_local = NULL;
    mb->park_local = NULL;
    lane_reset(&mb->sys, gen);
    lane_reset(&mb->park, gen);
    /* release: everything above is visible to whoever reads this
     * generation in the tail word (pairs with the senders' CAS/loads). */
    atomic_store_explicit(&mb->tail, tw_make(gen, p0) | (idle ? TW_IDLE : 0), memory_order_release);
}

/* Spin a little, then give the core away: the one we wait for (a lock
 * holder, a sender between its claim and its store, a consumer in a lap
 * jump) may be preempted. */
static void backoff(unsigned *spins)
{
    if (++*spins < 64)
        cpu_relax();
    else
        sched_yield();
}

/* The first send installs the ring while holding LOCK, so that a failed
 * allocation can return ENOMEM before any slot is claimed. Returns MB_OK to
 * retry the claim (with *t reloaded). */
static int install_ring(struct troupe_system *sys, mailbox *mb, uint64_t *t)
{
    /* acquire: pairs with the release unlock of an earlier installer. */
    if (!atomic_compare_exchange_strong_explicit(&mb->tail, t, *t | TW_LOCK,
                                                 memory_order_acquire, memory_order_relaxed))
        return MB_OK;
    int rc = MB_OK;
    if (!atomic_load_explicit(&mb->ring, memory_order_relaxed)) {
        mb_ring *r = ring_new_for(sys, mb_cap(mb), *t & TW_POS_MASK);
        if (r)
            /* release: slot init visible to senders/consumer (acquire). */
            atomic_store_explicit(&mb->ring, r, memory_order_release);
        else
            rc = MB_NOMEM;
    }
    /* release: unlock; nobody else changes the word while LOCK is set. */
    atomic_store_explicit(&mb->tail, *t, memory_order_release);
    return rc;
}

/* Room for how many more, 0 when full: the cached head first, the real
 * head when the cache says full. */
static uint64_t room(mailbox *mb, uint64_t pos)
{
    /* acquire: pairs with the release store of head_cache below. */
    uint64_t h = atomic_load_explicit(&mb->head_cache, memory_order_acquire);
    uint64_t used = pos_sub(pos, h), cap = mb_cap(mb);
    if (likely(used < cap))
        return cap - used;
    /* head ahead of pos: our tail word is older than a lap jump
     * (mb_try_idle); any answer but full will do, the claim's CAS fails */
    if (used > TW_POS_MASK / 2)
        return cap;
    /* acquire: pairs with the consumer's release of head (mb_pop): the
     * slots it has left are free to overwrite. */
    h = atomic_load_explicit(&mb->head, memory_order_acquire);
    atomic_store_explicit(&mb->head_cache, h, memory_order_release);
    used = pos_sub(pos, h);
    return used < cap ? cap - used : used > TW_POS_MASK / 2 ? cap : 0;
}

int mb_reserve_mpsc(struct troupe_system *sys, mailbox *mb, uint32_t gen, uint32_t want, uint64_t *pos,
                    uint32_t *got, bool *schedule)
{
    /* acquire, every load of tail here: pairs with mb_try_idle's release
     * of a lap jump (its head and head_cache stores come before), through
     * the claims' release sequence, so that room() sees that head */
    uint64_t t = atomic_load_explicit(&mb->tail, memory_order_acquire);
    unsigned spins = 0;
    for (;;) {
        if (unlikely(tw_gen(t) != gen || (t & TW_CLOSED)))
            return MB_GONE;
        if (unlikely(t & TW_LOCK)) {
            backoff(&spins);
            t = atomic_load_explicit(&mb->tail, memory_order_acquire);
            continue;
        }
        uint64_t p = t & TW_POS_MASK, free = room(mb, p);
        if (unlikely(!free))
            return MB_FULL;
        /* acquire: pairs with install_ring's release. */
        if (unlikely(!atomic_load_explicit(&mb->ring, memory_order_acquire))) {
            if (install_ring(sys, mb, &t) == MB_NOMEM)
                return MB_NOMEM;
            t = atomic_load_explicit(&mb->tail, memory_order_acquire);
            continue;
        }
        uint32_t n = free < want ? (uint32_t)free : want;
        /* acq_rel: acquire pairs with the consumer's release CAS that set
         * IDLE (so the run we schedule sees the last run's writes). Clearing
         * IDLE here is the scheduling decision. */
        if (atomic_compare_exchange_weak_explicit(&mb->tail, &t,
                                                  (t & TW_GEN_MASK) | ((p + n) & TW_POS_MASK),
                                                  memory_order_acq_rel, memory_order_acquire)) {
            *schedule = (t & TW_IDLE) != 0;
            *pos = p;
            *got = n;
            return MB_OK;
        }
    }
}

/* Stamp and publish the slot at pos: out of line and last, so that
 * mb_write keeps nothing live across the call (no registers to save on
 * every send). */
static __attribute__((noinline, cold)) void stamp_publish(mb_slot *s, uint64_t pos)
{
    s->pad = mono_ns();
    s->m.flags_size |= MF_STAMP;
    /* release: as mb_write's */
    atomic_store_explicit(&s->seq, mb_seq(pos), memory_order_release);
}

void mb_write(mailbox *mb, uint64_t pos, const tmsg *m)
{
    /* relaxed: the ring cannot change while we hold claimed slots (close
     * waits for them); our claim's CAS already acquired it. */
    mb_ring *r = atomic_load_explicit(&mb->ring, memory_order_relaxed);
    mb_slot *s = &r->slots[pos & r->mask];
    s->m = *m;
    /* relaxed: a stride, see mb_ring */
    /* pos + 1: the 256th message of a fresh slot, not its first (an actor
     * that gets a few messages gets no stamp, and allocates nothing for it) */
    uint32_t skew = atomic_load_explicit(&r->skew, memory_order_relaxed); /* see mb_ring */
    if (unlikely(((pos + 1 + skew) & atomic_load_explicit(&r->stamp, memory_order_relaxed)) == 0)) {
        stamp_publish(s, pos);
        return;
    }
    /* release: publishes the slot; pairs with the acquire in peek. */
    atomic_store_explicit(&s->seq, mb_seq(pos), memory_order_release);
}

bool mb_unreserve(mailbox *mb, uint32_t gen, uint64_t pos, uint64_t end)
{
    /* Expect exactly our end: no flags (the actor cannot be idle or closed
     * while we hold unwritten slots: try_idle needs tail == head, close
     * waits for them), and nobody claimed after us. */
    uint64_t t = tw_make(gen, end);
    /* relaxed: nothing was published in the slots we give back. */
    return atomic_compare_exchange_strong_explicit(&mb->tail, &t, tw_make(gen, pos),
                                                   memory_order_relaxed, memory_order_relaxed);
}

void mb_fill_holes(mailbox *mb, uint64_t pos, uint64_t n)
{
    tmsg hole = {.type = MSG_HOLE};
    for (uint64_t i = 0; i < n; i++)
        mb_write(mb, (pos + i) & TW_POS_MASK, &hole);
}

int mb_push_mpsc(struct troupe_system *sys, mailbox *mb, uint32_t gen, const tmsg *m, bool *schedule)
{
    uint64_t pos;
    uint32_t got;
    int rc = mb_reserve_mpsc(sys, mb, gen, 1, &pos, &got, schedule);
    if (likely(rc == MB_OK))
        mb_write(mb, pos, m);
    return rc;
}

bool mb_kick_mpsc(mailbox *mb, uint32_t gen)
{
    uint64_t t = atomic_load_explicit(&mb->tail, memory_order_relaxed);
    unsigned spins = 0;
    for (;;) {
        if (tw_gen(t) != gen || (t & TW_CLOSED) || !(t & TW_IDLE))
            return false;
        if (t & TW_LOCK) {
            backoff(&spins);
            t = atomic_load_explicit(&mb->tail, memory_order_relaxed);
            continue;
        }
        /* seq_cst: after the lane push (seq_cst), against the consumer's
         * seq_cst idle CAS then lane re-check: one of the two sees the
         * other. */
        if (atomic_compare_exchange_weak_explicit(&mb->tail, &t, t & ~TW_IDLE,
                                                  memory_order_seq_cst, memory_order_relaxed))
            return true;
    }
}

/* The slot at position h if its message is published: MB_OK with *out,
 * else MB_EMPTY (nothing claimed) or MB_BUSY (claimed, being written). */
static int published(mailbox *mb, uint64_t h, mb_slot **out)
{
    /* acquire: pairs with install_ring's release. */
    mb_ring *r = atomic_load_explicit(&mb->ring, memory_order_acquire);
    if (!r)
        return MB_EMPTY;
    mb_slot *s = &r->slots[h & r->mask];
    /* acquire: pairs with mb_write's release of seq. */
    /* h + 1: mb_seq(h), h being a position already (masked) */
    if (atomic_load_explicit(&s->seq, memory_order_acquire) != h + 1) {
        uint64_t t = atomic_load_explicit(&mb->tail, memory_order_acquire);
        return (t & TW_POS_MASK) == h ? MB_EMPTY : MB_BUSY;
    }
    /* The slots ahead were written on another core: ask for them now, so
     * that their transfers overlap this message's handling. */
    __builtin_prefetch(&r->slots[(h + 4) & r->mask], 0, 3);
    *out = s;
    return MB_OK;
}


static void pop_lock(mailbox *mb)
{
    /* acquire: pairs with pop_unlock's release (a spinlock that only
     * DROP_OLDEST mailboxes take: consumer, evicting senders, close). */
    unsigned spins = 0;
    while (atomic_flag_test_and_set_explicit(&mb->pop_lock, memory_order_acquire))
        backoff(&spins);
}

static void pop_unlock(mailbox *mb)
{
    atomic_flag_clear_explicit(&mb->pop_lock, memory_order_release);
}

int mb_front(mailbox *mb, tmsg **out)
{
    for (;;) {
        uint64_t h = atomic_load_explicit(&mb->head, memory_order_relaxed);
        mb_slot *s;
        int rc = published(mb, h, &s);
        if (rc != MB_OK)
            return rc;
        /* release: counts the slot as taken. Senders cannot reach it again
         * before we take the next one: the ring has more slots than the
         * capacity (ring_new), so position h + size is beyond the room that
         * head + 1 gives them. */
        atomic_store_explicit(&mb->head, (h + 1) & TW_POS_MASK, memory_order_release);
        if (likely(s->m.type != MSG_HOLE)) {
            *out = &s->m;
            return MB_OK;
        }
        atomic_store_explicit(&mb->holes, atomic_load_explicit(&mb->holes, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
}

/* Take the message at head as a copy (DROP_OLDEST paths, under the pop
 * lock: the copy is made before anyone can take the next slot). */
static int take(mailbox *mb, tmsg *out)
{
    tmsg *m;
    int rc = mb_front(mb, &m);
    if (rc == MB_OK)
        *out = *m;
    return rc;
}

int mb_pop(mailbox *mb, tmsg *out)
{
    if (likely(mb_policy(mb) != TROUPE_OVERFLOW_DROP_OLDEST))
        return take(mb, out);
    pop_lock(mb);
    int rc = take(mb, out);
    pop_unlock(mb);
    return rc;
}

/* mb_front's step without the take: the caller decides on the message
 * first. Holes are skipped (taken) as mb_front does. */
static int take_if(mailbox *mb, bool (*keep)(void *ud, uint64_t pos, const tmsg *m), void *ud,
                   tmsg *out)
{
    for (;;) {
        uint64_t h = atomic_load_explicit(&mb->head, memory_order_relaxed);
        mb_slot *s;
        int rc = published(mb, h, &s);
        if (rc != MB_OK)
            return rc;
        if (s->m.type != MSG_HOLE && keep(ud, h, &s->m))
            return MB_KEPT;
        bool hole = s->m.type == MSG_HOLE;
        if (!hole)
            *out = s->m; /* copied before the slot is given back */
        /* release: counts the slot as taken, as in mb_front */
        atomic_store_explicit(&mb->head, (h + 1) & TW_POS_MASK, memory_order_release);
        if (!hole)
            return MB_OK;
        atomic_store_explicit(&mb->holes, atomic_load_explicit(&mb->holes, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
}

int mb_take_if(mailbox *mb, bool (*keep)(void *ud, uint64_t pos, const tmsg *m), void *ud,
               tmsg *out)
{
    if (mb_policy(mb) != TROUPE_OVERFLOW_DROP_OLDEST)
        return take_if(mb, keep, ud, out);
    pop_lock(mb);
    int rc = take_if(mb, keep, ud, out);
    pop_unlock(mb);
    return rc;
}

/* Under the pop lock: claim one slot even when the ring holds `cap`
 * messages. Only the lock holder goes over, by one, and evicts before it
 * unlocks; the ring has at least cap + 1 slots (ring_new), and the consumer
 * of a DROP_OLDEST mailbox copies messages out (mb_pop), keeping no slot.
 * MB_OK, MB_GONE, or MB_FULL when there is no ring yet (the plain push
 * installs it). */
static int claim_over(mailbox *mb, uint32_t gen, uint64_t *pos, bool *schedule)
{
    uint64_t t = atomic_load_explicit(&mb->tail, memory_order_relaxed);
    for (;;) {
        if (tw_gen(t) != gen || (t & TW_CLOSED))
            return MB_GONE;
        /* acquire: pairs with install_ring's release. */
        if (!atomic_load_explicit(&mb->ring, memory_order_acquire))
            return MB_FULL;
        if (t & TW_LOCK) {
            cpu_relax();
            t = atomic_load_explicit(&mb->tail, memory_order_relaxed);
            continue;
        }
        uint64_t p = t & TW_POS_MASK;
        /* acq_rel: as mb_reserve_mpsc's claim (IDLE cleared = schedule).
         * head cannot move: we hold the pop lock. */
        if (atomic_compare_exchange_weak_explicit(&mb->tail, &t,
                                                  (t & TW_GEN_MASK) | ((p + 1) & TW_POS_MASK),
                                                  memory_order_acq_rel, memory_order_relaxed)) {
            *schedule = (t & TW_IDLE) != 0;
            *pos = p;
            return MB_OK;
        }
    }
}

/* Under the pop lock, until the ring up to `end` holds at most `cap`:
 * skip holes, and take the oldest message out (true, *out). A slot still
 * being written is waited for: it is older than ours, and its sender is
 * between its claim and its store. */
static bool evict_oldest(mailbox *mb, uint64_t end, tmsg *out)
{
    unsigned spins = 0;
    for (;;) {
        uint64_t h = atomic_load_explicit(&mb->head, memory_order_relaxed);
        if (pos_sub(end, h) <= mb_cap(mb))
            return false; /* a hole made the room */
        mb_slot *s;
        int rc = published(mb, h, &s);
        if (rc != MB_OK) {
            TR_ASSERT(rc == MB_BUSY); /* never EMPTY: ours is after it */
            backoff(&spins);
            continue;
        }
        bool hole = s->m.type == MSG_HOLE;
        if (!hole)
            *out = s->m;
        /* release: the slot is free again (pairs with room()'s acquire). */
        atomic_store_explicit(&mb->head, (h + 1) & TW_POS_MASK, memory_order_release);
        if (!hole)
            return true;
        atomic_store_explicit(&mb->holes, atomic_load_explicit(&mb->holes, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
}

int mb_push_evict_mpmc(mailbox *mb, uint32_t gen, const tmsg *m, bool *schedule, tmsg *evicted,
                       bool *did_evict)
{
    uint64_t pos;
    *did_evict = false;
    pop_lock(mb);
    int rc = claim_over(mb, gen, &pos, schedule);
    if (rc == MB_OK) {
        mb_write(mb, pos, m);
        *did_evict = evict_oldest(mb, (pos + 1) & TW_POS_MASK, evicted);
    }
    pop_unlock(mb);
    return rc;
}

bool mb_try_unidle(mailbox *mb, uint32_t gen) { return mb_kick_mpsc(mb, gen); }

static uint64_t close_word(mailbox *mb)
{
    uint64_t t = atomic_load_explicit(&mb->tail, memory_order_relaxed);
    for (;;) {
        if (t & TW_LOCK) {
            cpu_relax();
            t = atomic_load_explicit(&mb->tail, memory_order_relaxed);
            continue;
        }
        /* acq_rel: after this no claim succeeds; acquire pairs with the
         * claims before it. */
        if (atomic_compare_exchange_weak_explicit(&mb->tail, &t, t | TW_CLOSED,
                                                  memory_order_acq_rel, memory_order_relaxed))
            return t;
    }
}

uint64_t mb_close(struct troupe_system *sys, mailbox *mb, void (*drop)(void *ud, tmsg *m), void *ud)
{
    uint64_t end = close_word(mb) & TW_POS_MASK;
    if (mb_policy(mb) == TROUPE_OVERFLOW_DROP_OLDEST) {
        /* A barrier: an evicting sender that claimed before CLOSED is done
         * moving head once we get the lock; later ones see CLOSED. */
        pop_lock(mb);
        pop_unlock(mb);
    }
    uint64_t h = atomic_load_explicit(&mb->head, memory_order_relaxed);
    uint64_t n = 0;
    while (h != end) {
        mb_slot *s;
        int rc = published(mb, h, &s);
        if (rc != MB_OK) { /* a sender claimed the slot and is writing it */
            sched_yield();
            continue;
        }
        if (s->m.type != MSG_HOLE)
            drop(ud, &s->m);
        h = (h + 1) & TW_POS_MASK;
        atomic_store_explicit(&mb->head, h, memory_order_release);
        n++;
    }
    /* The ring stays with the slot for its next actor (mb_open): a spawn
     * that sends at once then costs no allocation, and no zeroing. */
    (void)sys;
    return n;
}
