/* mailbox/lane.h — unbounded side lanes of a mailbox: the system lane
 * (stop, replies, ask timeouts) and the park lane (messages parked by
 * BLOCK from muted actor senders).
 *
 * A lane is a Treiber stack of envelopes (push: one CAS, MPSC) whose
 * consumer takes the whole stack with one exchange and reverses it into
 * FIFO order (the CAF inbox idea). The head word carries a 16-bit tag of the
 * actor's generation beside the pointer, so a push meant for a stopped
 * incarnation fails instead of reaching the next one; a closed lane holds
 * the pointer value 1 and refuses every push.
 *
 * Contract: lane_push_mpsc from any thread; take/close only by the thread
 * that runs the actor (single consumer); reset only while no one else can
 * see the actor (spawn).
 */
#ifndef TROUPE_MAILBOX_LANE_H
#define TROUPE_MAILBOX_LANE_H

#include "base/msg.h"

/* What a lane links: any struct whose first member is its next pointer
 * (the project builds with -fno-strict-aliasing). */
typedef struct lane_node {
    struct lane_node *next;
} lane_node;

/* System lane: one message. */
typedef struct envelope {
    struct envelope *next;
    tmsg m;
} envelope;

/* Park lane: a burst of one sender's messages (core/park.c). */
typedef struct pblock {
    struct pblock *next;
    uint64_t muted; /* the sender ref whose mute count holds n - first
                       (0: none, e.g. a self-send or the timer thread) */
    uint32_t n, first, cap, pad;
    tmsg m[];
} pblock;

#define LANE_PTR_MASK ((1ull << 48) - 1) /* the word's pointer bits */
#define LANE_CLOSED 1ull                  /* the pointer of a closed lane */

typedef struct lane {
    _Atomic uint64_t w;
} lane;

void lane_reset(lane *l, uint32_t gen);
/* 0, or -1 if the lane is closed or belongs to another generation. */
int lane_push_mpsc(lane *l, uint32_t gen, lane_node *e);
/* Take everything pushed so far, oldest first (NULL if empty). */
lane_node *lane_take(lane *l, uint32_t gen);
/* Close the lane and return what it still held, oldest first. */
lane_node *lane_close(lane *l);
/* seq_cst: the consumer's re-check after publishing IDLE (Dekker with
 * the pusher's seq_cst CAS then kick). Inline: two of them end every run
 * that goes idle. */
static inline bool lane_nonempty(const lane *l)
{
    uint64_t ptr = atomic_load_explicit(&l->w, memory_order_seq_cst) & LANE_PTR_MASK;
    return ptr != 0 && ptr != LANE_CLOSED;
}
/* The word of an open, empty lane of generation gen (pointer bits 0, the
 * generation's tag on top). */
static inline uint64_t lane_empty_word(uint32_t gen) { return ((uint64_t)(gen & 0xFFFFu)) << 48; }
/* The consumer's cheapest "was anything pushed?": one relaxed load and one
 * compare against lane_empty_word (a hint, like lane_maybe_nonempty; a
 * push that happens-before the call is always seen). */
static inline bool lane_pushed(const lane *l, uint64_t empty_word)
{
    return atomic_load_explicit(&l->w, memory_order_relaxed) != empty_word;
}
/* A cheap relaxed peek for the consumer's fast path (a hint only; the
 * ordering-sensitive re-check is lane_nonempty). */
static inline bool lane_maybe_nonempty(const lane *l)
{
    uint64_t ptr = atomic_load_explicit(&l->w, memory_order_relaxed) & ((1ull << 48) - 1);
    return ptr > 1;
}

#endif
