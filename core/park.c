/* core/park.c — BLOCK from an actor: parking messages at a full receiver,
 * muting the sender, and moving parked messages in.
 *
 * A handler that finds a BLOCK receiver full must not block its worker. Its
 * message — and every later one it sends to that receiver in the same
 * handler, to keep their order — goes into a *park block* (up to PB_CAP
 * messages, allocated at the first, so that no memory comes back as
 * TROUPE_ENOMEM from that tell). At the end of the handler (send_flush) the
 * block is pushed on the receiver's park lane with one CAS, the sender's
 * mute count grows by its size, and the sender is suspended after its run
 * until the receiver has taken them all (unmute_sender reschedules it).
 *
 * The receiver moves a block into its ring with one claim (park_move_in),
 * once the ring has drained to half its capacity: refilling at the first
 * free slot would wake the muted senders into a full ring, and every
 * message would take this slower path (Pony, likewise, unmutes senders only
 * when the receiver is no longer overloaded).
 */
#include "core/alloc.h"
#include "core/system.h"

#define PB_CAP 64u

static size_t pblock_bytes(uint32_t cap) { return sizeof(pblock) + (size_t)cap * sizeof(tmsg); }

static pblock *pblock_new(troupe_system *sys, uint32_t cap, uint64_t muted)
{
    pblock *pb = talloc(sys->alloc_mode, pblock_bytes(cap));
    if (pb)
        *pb = (pblock){.muted = muted, .cap = cap};
    return pb;
}

static void pblock_free(troupe_system *sys, pblock *pb)
{
    tfree(sys->alloc_mode, pb, pblock_bytes(pb->cap));
}

bool mute_take_suspended(actor *a)
{
    /* seq_cst: after our seq_cst lane push (Dekker with suspend_for_mute). */
    uint64_t v = atomic_load_explicit(&a->mute, memory_order_seq_cst);
    while (v & MUTE_SUSPENDED)
        if (atomic_compare_exchange_weak_explicit(&a->mute, &v, v & ~MUTE_SUSPENDED,
                                                  memory_order_acq_rel, memory_order_relaxed))
            return true;
    return false;
}

/* Push a filled block; `self` (may be NULL) is the sender to mute. */
static int park_push(troupe_system *sys, actor *a, uint32_t gen, pblock *pb, actor *self)
{
    uint32_t n = pb->n;
    if (self) /* before the push: the receiver may unmute at once */
        atomic_fetch_add_explicit(&self->mute, n, memory_order_acq_rel);
    if (lane_push_mpsc(&a->mb.park, gen, (lane_node *)pb) < 0) {
        if (self)
            atomic_fetch_sub_explicit(&self->mute, n, memory_order_acq_rel);
        return TROUPE_ENOACTOR;
    }
    atomic_fetch_add_explicit(&a->mb.parked, n, memory_order_relaxed);
    /* an idle receiver is scheduled; a suspended one is taken back, else
     * two actors parked on each other would wait forever */
    if (mb_kick_mpsc(&a->mb, gen) || mute_take_suspended(a))
        sched_actor(sys, a);
    return 0;
}

void park_flush(worker *w)
{
    pblock *pb = w->pb;
    if (!pb)
        return;
    w->pb = NULL;
    troupe_system *sys = w->sys;
    if (park_push(sys, w->pb_a, w->pb_gen, pb, pb->muted ? w->ctx.a : NULL) == 0)
        return;
    /* the receiver stopped since: the messages are undeliverable */
    for (uint32_t i = 0; i < pb->n; i++)
        actor_drop_msg(sys, &pb->m[i]);
    pblock_free(sys, pb);
}

int park_msg(troupe_system *sys, actor *a, uint32_t gen, tmsg *m)
{
    troupe_ctx *c = troupei_tls.ctx;
    bool mine = c && c->sys == sys;
    actor *self = mine && c->a != a ? c->a : NULL; /* a self-send mutes no one */
    uint64_t muted = self ? ref_make(sys, self->index, self->gen).id : 0;
    worker *w = mine && c->w && c == &c->w->ctx ? c->w : NULL;
    if (!w) { /* the timer thread, an init or stop callback: a block of one, now */
        pblock *pb = pblock_new(sys, 1, muted);
        if (!pb)
            return TROUPE_ENOMEM;
        pb->m[pb->n++] = *m;
        int rc = park_push(sys, a, gen, pb, self);
        if (rc) /* the caller keeps the message */
            pblock_free(sys, pb);
        return rc;
    }
    if (w->pb && (w->pb_a != a || w->pb_gen != gen || w->pb->n == w->pb->cap))
        park_flush(w);
    if (!w->pb) {
        if (!(w->pb = pblock_new(sys, PB_CAP, muted)))
            return TROUPE_ENOMEM;
        w->pb_a = a;
        w->pb_gen = gen;
    }
    w->pb->m[w->pb->n++] = *m;
    if (self)
        note_muted(c, a);
    return 0;
}

void unmute_sender(troupe_system *sys, uint64_t sender, uint32_t n)
{
    troupe_ref r = {sender};
    actor *s = sender ? actor_lookup(sys, r) : NULL;
    if (!s)
        return;
    uint64_t t = atomic_load_explicit(&s->mb.tail, memory_order_acquire);
    if (tw_gen(t) != ref_gen(r) || (t & TW_CLOSED))
        return;
    uint64_t v = atomic_load_explicit(&s->mute, memory_order_relaxed), nv;
    bool take;
    do { /* the last release of a suspended sender takes its token */
        nv = v - n;
        take = (nv & MUTE_SUSPENDED) && !(nv & MUTE_COUNT);
        if (take)
            nv &= ~MUTE_SUSPENDED;
        /* acq_rel: pairs with suspend_for_mute's CASes. */
    } while (!atomic_compare_exchange_weak_explicit(&s->mute, &v, nv, memory_order_acq_rel,
                                                    memory_order_relaxed));
    if (take) /* it kept its run token while suspended */
        sched_actor_spread(sys, s);
}

/* Move one block's messages into the ring, as many as fit, with one claim.
 * true when the block is done. */
static bool move_block(troupe_system *sys, actor *a, pblock *pb)
{
    uint64_t pos;
    uint32_t got;
    bool sched;
    if (mb_reserve_mpsc(sys, &a->mb, a->gen, pb->n - pb->first, &pos, &got, &sched) != MB_OK)
        return false; /* full (or no memory): next run */
    for (uint32_t i = 0; i < got; i++)
        mb_write(&a->mb, (pos + i) & TW_POS_MASK, &pb->m[pb->first + i]);
    pb->first += got;
    atomic_fetch_add_explicit(&a->mb.unparked, got, memory_order_relaxed);
    unmute_sender(sys, pb->muted, got);
    return pb->first == pb->n;
}

void park_move_in(troupe_system *sys, actor *a)
{
    mailbox *mb = &a->mb;
    if (!mb->park_local && lane_maybe_nonempty(&mb->park))
        mb->park_local = (pblock *)lane_take(&mb->park, a->gen);
    if (!mb->park_local || mb_depth(mb) > mb_cap(mb) / 2)
        return;
    pblock *pb;
    while ((pb = mb->park_local) && move_block(sys, a, pb)) {
        mb->park_local = pb->next;
        pblock_free(sys, pb);
    }
}

/* The actor ends: its parked messages are destroyed, their senders
 * released. */
void park_drop(troupe_system *sys, actor *a)
{
    pblock *lists[2] = {(pblock *)lane_close(&a->mb.park), a->mb.park_local};
    a->mb.park_local = NULL;
    for (int l = 0; l < 2; l++) {
        pblock *pb = lists[l];
        while (pb) {
            pblock *next = pb->next;
            uint32_t left = pb->n - pb->first;
            for (uint32_t i = pb->first; i < pb->n; i++)
                actor_drop_msg(sys, &pb->m[i]);
            unmute_sender(sys, pb->muted, left);
            pblock_free(sys, pb);
            pb = next;
        }
    }
    /* none is queued any more (they count as destroyed) */
    atomic_store_explicit(&a->mb.unparked, (uint32_t)atomic_load(&a->mb.parked),
                          memory_order_relaxed);
}
