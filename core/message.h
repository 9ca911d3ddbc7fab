/* core/message.h — how a message body (tmsg, base/msg.h) is built, viewed
 * and destroyed. */
#ifndef TROUPE_CORE_MESSAGE_H
#define TROUPE_CORE_MESSAGE_H

#include "base/msg.h"

/* Per-message context: the seam for what comes next (a trace context id,
 * or the node of a remote sender whose `sender` ref is not local). It is
 * one 64-bit word, and it has room already where messages live:
 *  - a mailbox slot (mailbox/mailbox.h, mb_slot) is one 64-byte cache line:
 *    seq (8), this body (48) and 8 spare bytes, `pad` — pinned by a static
 *    assertion there;
 *  - an envelope of the system lane (mailbox/lane.h: next + tmsg, 56 bytes)
 *    has 8 bytes to spare in its 64-byte allocation class;
 *  - a park block (mailbox/lane.h, pblock) is one sender's burst: one word
 *    per block.
 * Whether a message carries one is a flag bit of flags_size, the first of
 * MF_FREE (bit 27, say MF_CTX): a sender with a context writes the word
 * beside the body and sets the bit; one without writes neither, so the slot
 * is written exactly as today; and the consumer, which reads flags_size
 * already (tmsg_view, tmsg_destroy), reads the word only when the bit is
 * set and hands it to the handler in a field appended to troupe_msg (the
 * runtime fills that struct, handlers only read it, so appending keeps
 * compiled handlers working). Unused, it costs no store, no load and no
 * byte: tmsg stays 48 bytes and is copied as it is. Not implemented yet. */
#define MF_FREE 0xE8000000u /* flag bits 27, 29..31: unused, the context's bit among them */
_Static_assert(((MF_SIZE_MASK | MF_HEAP | MF_PTR | MF_ASK | MF_STAMP) & MF_FREE) == 0,
               "MF_FREE holds only unused flag bits");

struct troupe_system;

/* Build a message holding a copy of data[0..len). TROUPE_ENOMEM if the
 * heap copy fails. */
int tmsg_copy(struct troupe_system *sys, tmsg *m, uint32_t type, const void *data, size_t len);
/* Build a message carrying ptr + dtor. */
void tmsg_ptr(tmsg *m, uint32_t type, void *ptr, troupe_dtor dtor);
/* Free what the message owns (heap copy, or the user's dtor). */
void tmsg_destroy_slow(struct troupe_system *sys, tmsg *m);
static inline void tmsg_destroy(struct troupe_system *sys, tmsg *m)
{
    if (m->flags_size & (MF_HEAP | MF_PTR))
        tmsg_destroy_slow(sys, m);
}
/* The handler's view of m. */
void tmsg_view(const tmsg *m, troupe_msg *out);

#endif
