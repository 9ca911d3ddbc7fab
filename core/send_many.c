/* core/send_many.c — troupe_tell_many: a burst to one receiver.
 *
 * The burst is known up front, so its slots are claimed together: one CAS
 * on the receiver's tail word claims up to MANY_CLAIM slots (fewer if the
 * ring has less room), the messages are written and published in order,
 * and the receiver is scheduled once, after its first chunk is published.
 * Whatever is off that plain path — a trace context or shutdown (the send
 * gate), another node's ref, a handler muted on the receiver, a full ring
 * (the overflow policy decides per message) — goes through send_msg one
 * message at a time, exactly as troupe_tell would, so that order and the
 * policies hold unchanged.
 */
#include <limits.h>

#include "core/message.h"
#include "core/system.h"

/* Slots per claim: the consumer waits for the unpublished ones of a claim
 * (MB_BUSY), so a claim stays short enough to be written quickly. */
#define MANY_CLAIM 128u

static int check_items(const troupe_batch_msg *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const troupe_batch_msg *b = &msgs[i];
        if ((b->len && !b->data) || b->len > TROUPE_COPY_MAX || b->type >= TROUPE_MSG_SYSTEM ||
            b->reserved)
            return TROUPE_EINVAL;
    }
    return 0;
}

/* One message as troupe_tell sends it (the slow path): 0 or its error. */
static int tell_one(troupe_system *sys, troupe_ref to, const troupe_batch_msg *b)
{
    tmsg m;
    int rc = tmsg_copy(sys, &m, b->type, b->data, b->len);
    if (rc)
        return rc;
    rc = send_msg(sys, to, &m);
    if (rc)
        tmsg_destroy(sys, &m);
    return rc;
}

/* Messages [from, n) one at a time; the count accepted in all, or the
 * first error when none was. */
static int tell_rest(troupe_system *sys, troupe_ref to, const troupe_batch_msg *msgs, size_t from,
                     size_t n)
{
    for (size_t i = from; i < n; i++) {
        int rc = tell_one(sys, to, &msgs[i]);
        if (rc)
            return i ? (int)i : rc;
    }
    return (int)n;
}

/* Could this thread's sends to `a` need parking (a handler muted on a
 * BLOCK receiver: send.c's deliver)? Then the slow path keeps the order. */
static bool may_park(const troupe_ctx *c, const actor *a)
{
    return c && c->a && c->a != a && mb_policy(&a->mb) == TROUPE_OVERFLOW_BLOCK &&
           ((c->a->flags & AF_PARK_ALL) || c->nmuted || c->muted_all);
}

/* Write the claimed slots [pos, pos + got) with msgs[0..got): the number
 * written; on ENOMEM the unwritten rest is given back or published as
 * holes, as send_flush does. */
static uint32_t write_claim(troupe_system *sys, actor *a, uint32_t gen, uint64_t pos, uint32_t got,
                            const troupe_batch_msg *msgs, uint64_t sender)
{
    for (uint32_t i = 0; i < got; i++) {
        tmsg m;
        if (unlikely(tmsg_copy(sys, &m, msgs[i].type, msgs[i].data, msgs[i].len))) {
            uint64_t at = (pos + i) & TW_POS_MASK, end = (pos + got) & TW_POS_MASK;
            if (!mb_unreserve(&a->mb, gen, at, end))
                mb_fill_holes(&a->mb, at, got - i);
            return i;
        }
        m.sender = sender;
        mb_write(&a->mb, (pos + i) & TW_POS_MASK, &m);
    }
    return got;
}

/* The plain path: claims of up to MANY_CLAIM slots until done, the ring
 * is full (the rest by tell_rest), or an error. */
static int tell_claimed(troupe_system *sys, troupe_ref to, actor *a, const troupe_batch_msg *msgs,
                        size_t n, uint64_t sender)
{
    uint32_t gen = ref_gen(to);
    size_t done = 0;
    while (done < n) {
        uint32_t want = n - done < MANY_CLAIM ? (uint32_t)(n - done) : MANY_CLAIM;
        uint64_t pos;
        uint32_t got;
        bool sched;
        int rc = mb_reserve_mpsc(sys, &a->mb, gen, want, &pos, &got, &sched);
        if (rc == MB_FULL)
            return tell_rest(sys, to, msgs, done, n);
        if (rc != MB_OK)
            return done ? (int)done : rc == MB_GONE ? TROUPE_ENOACTOR : TROUPE_ENOMEM;
        uint32_t w = write_claim(sys, a, gen, pos, got, msgs + done, sender);
        if (sched) /* after the writes: the run finds them published */
            sched_actor(sys, a);
        done += w;
        if (w < got)
            return done ? (int)done : TROUPE_ENOMEM;
    }
    return (int)n;
}

TROUPE_API int troupe_tell_many(troupe_system *sys, troupe_ref to, const troupe_batch_msg *msgs,
                                size_t n)
{
    if (unlikely(!sys || (n && !msgs) || n > INT_MAX))
        return TROUPE_EINVAL;
    int rc = check_items(msgs, n);
    if (rc || !n)
        return rc;
    troupe_ctx *c = troupei_tls.ctx;
    actor *a = actor_lookup(sys, to);
    /* relaxed: a hint (send_gate), as in send_msg */
    if (atomic_load_explicit(&sys->send_gate, memory_order_relaxed) || !a || may_park(c, a))
        return tell_rest(sys, to, msgs, 0, n);
    uint64_t sender = 0;
    if (c && c->a && c->sys == sys) {
        sender = ref_make(sys, c->a->index, c->a->gen).id;
        if (c->w && c == &c->w->ctx)
            send_flush(c->w); /* the handler's open reservation goes first */
    }
    return tell_claimed(sys, to, a, msgs, n, sender);
}
