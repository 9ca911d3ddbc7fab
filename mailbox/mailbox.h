/* mailbox/mailbox.h — the bounded MPSC ring every actor receives through.
 *
 * One 64-bit tail word decides everything a sender needs, in one CAS:
 *
 *   bit 63 IDLE    the actor is not scheduled; the sender that clears it
 *                  schedules the actor (exactly one does)
 *   bit 62 CLOSED  the actor stopped; every send fails (ENOACTOR)
 *   bit 61 LOCK    a sender is installing the ring (first message)
 *   bits 39..60    the actor's generation (22 bits): a stale ref fails
 *   bits  0..38    the claim position (messages accepted, mod 2^39)
 *
 * A sender claims position p with that CAS, writes slot p & mask, then
 * publishes it by storing seq = p + 1 (release). The single consumer reads
 * slots in order and publishes its progress in `head`; a sender checks the
 * capacity against a cached copy of head and reloads it only near full.
 * The ring (next_pow2(capacity + 1) slots of 64 bytes: at least one more
 * than the capacity, ring.c says why) is allocated by the first sender,
 * under LOCK, so idle actors carry no ring. An actor that goes idle with
 * its mailbox empty past the first MB_JUMP_AT slots of a lap moves to the
 * next lap's start (mb_try_idle, under LOCK): it keeps using a few warm
 * slots rather than walking the whole ring.
 *
 * Producer-written and consumer-written fields are on separate cache lines.
 *
 * DROP_OLDEST mailboxes also have a pop lock, taken by their consumer
 * (mb_pop), by a sender that finds the ring full (mb_push_evict_mpmc: it
 * claims one slot over the capacity, then evicts the oldest before
 * unlocking) and, as a barrier, by mb_close.
 *
 * Contract: mb_push_mpsc / mb_kick_mpsc / mb_push_evict_mpmc from any
 * thread; mb_pop, mb_try_idle, mb_try_unidle, mb_close only by the thread
 * running the actor; mb_open only before the actor is visible.
 */
#ifndef TROUPE_MAILBOX_MAILBOX_H
#define TROUPE_MAILBOX_MAILBOX_H

#include "base/msg.h"
#include "mailbox/lane.h"

#define TW_IDLE (1ull << 63)
#define TW_CLOSED (1ull << 62)
#define TW_LOCK (1ull << 61)
#define TW_GEN_SHIFT 39
#define TW_GEN_BITS 22
#define TW_GEN_MASK (((1ull << TW_GEN_BITS) - 1) << TW_GEN_SHIFT)
#define TW_POS_MASK ((1ull << TW_GEN_SHIFT) - 1)
#define GEN_MASK ((1u << TW_GEN_BITS) - 1)

typedef struct mb_slot {
    _Atomic uint64_t seq;
    tmsg m;
    uint64_t pad; /* spare: where a per-message context goes (core/message.h) */
} mb_slot;
/* One cache line per slot, and its last 8 bytes free for the per-message
 * context: a change of tmsg or of the slot shows here first. */
_Static_assert(sizeof(mb_slot) == 64 && offsetof(mb_slot, pad) == 56,
               "a slot is seq, a 48-byte tmsg and 8 spare bytes: one cache line");

typedef struct mb_ring {
    uint32_t mask;
    /* A sender stamps the message it writes at a position p with
     * ((p + 1) & stamp) == 0 (mb_write; core/probe.h): MB_STAMP_EVERY - 1, or 0
     * while the receiver is traced. Its owner's stores, senders' relaxed
     * loads: a stale stride stamps a message more or less. */
    _Atomic uint32_t stamp;
    /* Added to p in that test: minus the positions skipped by lap jumps
     * (mb_try_idle), so that one message in MB_STAMP_EVERY is still
     * stamped. The consumer's store under LOCK, senders' relaxed loads
     * after their claim (which acquired the unlock). */
    _Atomic uint32_t skew;
    /* The quarter of the position space (pos >> MB_REGION_SHIFT) in which
     * every slot was last known written or cleared: the consumer's alone
     * (mb_try_idle), kept with the ring. */
    uint32_t region;
    uint32_t pad[12];
    mb_slot slots[];
} mb_ring;

typedef struct mailbox {
    /* --- line 0, written by senders (one CAS per send, or per batch) --- */
    alignas(CACHELINE) _Atomic uint64_t tail;
    _Atomic(mb_ring *) ring;
    _Atomic uint64_t head_cache; /* a recent head, refreshed when near full */
    lane sys;                    /* system lane */
    lane park;                   /* BLOCK-parked messages of muted senders */
    _Atomic uint32_t cap;        /* set by mb_open; atomic because a stale */
    _Atomic uint8_t policy;      /* sender may read it during a respawn */
    atomic_flag pop_lock;        /* DROP_OLDEST only: consumer vs stealers */
    /* a plain thread waits for room (core/space.c): set by the sender,
     * taken by the consumer that wakes it */
    _Atomic uint8_t space_wait;
    _Atomic uint64_t dropped, rejected; /* only when full */
    /* --- line 1, written by the consumer (head once per message) --- */
    alignas(CACHELINE) _Atomic uint64_t head;
    _Atomic uint64_t handled;
    _Atomic uint32_t failed;   /* a failure ends the actor: small */
    _Atomic uint32_t unparked; /* parked messages taken, mod 2^32 */
    _Atomic uint64_t holes;    /* first position + unused reserved slots skipped */
    envelope *sys_local;    /* taken from sys, not yet served */
    pblock *park_local;     /* taken from park, not yet moved in */
    _Atomic uint64_t redirected, parked; /* senders, only when full */
} mailbox;

_Static_assert(sizeof(mailbox) == 2 * CACHELINE, "mailbox is two cache lines");

/* The type of a reserved slot that was not used. */
#define MSG_HOLE (TROUPE_MSG_SYSTEM + 0x200u)

enum { MB_OK = 0, MB_FULL = 1, MB_GONE = 2, MB_NOMEM = 3, MB_EMPTY = 4, MB_BUSY = 5 };
#define MB_KEPT 6 /* mb_take_if: the message at head stays */

struct troupe_system;

/* relaxed: constant while this incarnation is open; a stale sender that
 * reads the next incarnation's value fails its generation check anyway. */
static inline uint32_t mb_cap(const mailbox *mb)
{
    return atomic_load_explicit(&mb->cap, memory_order_relaxed);
}
static inline uint8_t mb_policy(const mailbox *mb)
{
    return atomic_load_explicit(&mb->policy, memory_order_relaxed);
}

static inline uint64_t tw_make(uint32_t gen, uint64_t pos)
{
    return ((uint64_t)gen << TW_GEN_SHIFT) | (pos & TW_POS_MASK);
}
static inline uint32_t tw_gen(uint64_t t) { return (uint32_t)((t & TW_GEN_MASK) >> TW_GEN_SHIFT); }
static inline uint64_t pos_sub(uint64_t a, uint64_t b) { return (a - b) & TW_POS_MASK; }
/* The seq that publishes position pos: pos + 1 unmasked (1 .. 2^39), so
 * that 0 (a fresh or cleared slot) never reads as published. */
static inline uint64_t mb_seq(uint64_t pos) { return (pos & TW_POS_MASK) + 1; }
/* Lap jumps (mb_try_idle) skip slots, which then keep an old seq; the
 * ring's seqs are cleared once a quarter of the position space, so that no
 * kept seq is 2^39 positions old (it would read as published). */
#define MB_REGION_SHIFT (TW_GEN_SHIFT - 2)
/* An empty mailbox past this many slots of its lap jumps to the next lap
 * when it goes idle (mb_try_idle): 2 KB of slots in use, at most, for an
 * actor that drains what it gets; fewer would jump (a LOCK) more often. */
#define MB_JUMP_AT 32u

/* A new incarnation: empty, no ring; idle, or held (not idle: sends queue
 * without scheduling it) for a spawn that has yet to run init. */
void mb_open(mailbox *mb, uint32_t gen, uint32_t cap, uint8_t policy, bool idle);
/* Claim a slot and write m. MB_OK (with *schedule set when this send made
 * the actor runnable), MB_FULL, MB_GONE (stale/closed), MB_NOMEM. */
int mb_push_mpsc(struct troupe_system *sys, mailbox *mb, uint32_t gen, const tmsg *m,
                 bool *schedule);
/* Claim up to `want` consecutive slots with one CAS (fewer if the ring has
 * less room): *pos is the first, *got how many. The caller must write or
 * fill every one of them (mb_write, mb_fill_holes). MB_OK / MB_FULL /
 * MB_GONE / MB_NOMEM as mb_push_mpsc. */
int mb_reserve_mpsc(struct troupe_system *sys, mailbox *mb, uint32_t gen, uint32_t want,
                    uint64_t *pos, uint32_t *got, bool *schedule);
/* Write and publish a message in a reserved slot. */
void mb_write(mailbox *mb, uint64_t pos, const tmsg *m);
/* One message in MB_STAMP_EVERY is stamped (MF_STAMP, the send time in the
 * slot's pad: core/probe.h). */
#define MB_STAMP_EVERY 256u
/* The owner's: stamp every message (all) or one in MB_STAMP_EVERY. */
void mb_stamp_all(mailbox *mb, bool all);
/* Give back reserved slots [pos, end) if no one claimed after them: true
 * when the tail moved back (then nothing needs to be written). */
bool mb_unreserve(mailbox *mb, uint32_t gen, uint64_t pos, uint64_t end);
/* Publish reserved slots [pos, pos + n) as holes the consumer skips. */
void mb_fill_holes(mailbox *mb, uint64_t pos, uint64_t n);
/* Before mb_open: keep the slot's ring if it fits cap, else free it. */
void mb_fit_ring(struct troupe_system *sys, mailbox *mb, uint32_t cap);
/* At system destroy: free the slot's ring. */
void mb_free_ring(struct troupe_system *sys, mailbox *mb);
/* Clear IDLE after a lane push: true when the caller must schedule. */
bool mb_kick_mpsc(mailbox *mb, uint32_t gen);
/* DROP_OLDEST, when the ring is full: under the pop lock, claim a slot
 * for m (over the capacity by one) and write it, then take the oldest
 * queued message out (*did_evict, *evicted: the caller destroys it; none
 * when the ring had room after all). The incoming message always gets in;
 * waits only for the oldest's sender to finish writing it. MB_OK (with
 * *schedule as mb_push_mpsc), MB_GONE, or MB_FULL when the ring is not
 * installed yet (use mb_push_mpsc). */
int mb_push_evict_mpmc(mailbox *mb, uint32_t gen, const tmsg *m, bool *schedule, tmsg *evicted,
                       bool *did_evict);
/* Consumer: next message. MB_OK, MB_EMPTY, MB_BUSY (claimed, unwritten). */
int mb_pop(mailbox *mb, tmsg *out);
/* Consumer: take the message at head without copying it: *out points into
 * its slot, valid until the next mb_front/mb_pop. Holes are skipped.
 * MB_OK, MB_EMPTY, MB_BUSY. Not for DROP_OLDEST mailboxes, whose stealers
 * move head. */
int mb_front(mailbox *mb, tmsg **out);
/* Consumer, for fault injection (core/fault.c): the message at head
 * (holes skipped) and its position go to keep(); true leaves it in place
 * (MB_KEPT), false copies it into *out and takes it (MB_OK). MB_EMPTY,
 * MB_BUSY otherwise. Any policy: DROP_OLDEST's pop lock is taken. */
int mb_take_if(mailbox *mb, bool (*keep)(void *ud, uint64_t pos, const tmsg *m), void *ud,
               tmsg *out);
/* Consumer: publish IDLE if nothing is queued; true when now idle. */
bool mb_try_idle(mailbox *mb, uint32_t gen);
/* Consumer, after mb_try_idle: take the actor back (a lane got work).
 * true when the caller owns the actor again. */
bool mb_try_unidle(mailbox *mb, uint32_t gen);
/* Consumer: refuse all further sends, wait for claimed slots to be
 * written, hand every queued message to drop(). The ring stays for the
 * slot's next incarnation (mb_open goes on from the last position, so it
 * needs no zeroing). Returns the number dropped. */
uint64_t mb_close(struct troupe_system *sys, mailbox *mb, void (*drop)(void *ud, tmsg *m),
                  void *ud);
/* Messages in the ring now (approximate while senders run). */
uint32_t mb_depth(const mailbox *mb);
/* Parked now: parked minus taken (mod 2^32, both only grow). */
static inline uint32_t mb_parked_now(const mailbox *mb)
{
    return (uint32_t)atomic_load_explicit(&mb->parked, memory_order_relaxed) -
           atomic_load_explicit(&mb->unparked, memory_order_relaxed);
}
/* Accepted into the ring by this incarnation (the claim position). */
uint64_t mb_accepted(const mailbox *mb);

#endif
